/*
 * The transmit queueing discipline (the kernel's net/sched/sch_generic.c
 * and the transmit half of net/core/dev.c): one pfifo_fast qdisc per TX
 * queue, __dev_xmit_skb with the empty-queue bypass, the driver's queue
 * stop/wake (netif_tx_stop_queue, netif_tx_wake_queue), __netif_schedule
 * and net_tx_action (NET_TX_SOFTIRQ) for frames the driver could not take.
 *
 * pfifo_fast: three FIFO bands, the band chosen from the IPv4 TOS through
 * the kernel's prio2band map (band 0 first: TC_PRIO_INTERACTIVE; band 2
 * last: bulk); together at most dev->tx_queue_len frames (txqueuelen),
 * beyond that a frame is dropped (QDISC_DROP, counted as dropped and
 * overlimits).  A device with IFF_NO_QUEUE (lo) has none: noqueue.
 *
 * Locks: each qdisc has one mutex, the kernel's qdisc root lock and the
 * driver's HARD_TX_LOCK in one: it is held while frames are enqueued,
 * dequeued and handed to the driver, so one queue's driver calls are
 * serialised.  With XPS (netdev_pick_tx) every worker sends on its own
 * queue and the lock is uncontended; it is never taken while holding
 * another lock and never on the receive path.
 */
#ifndef NS_CORE_SCH_GENERIC_H
#define NS_CORE_SCH_GENERIC_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/counter.h"
#include "core/skb.h"

struct net_device;
struct netdev_queue;
struct softnet_data;

#define PFIFO_FAST_BANDS 3
#define TC_PRIO_MAX 15
/* The kernel's default txqueuelen (DEFAULT_TX_QUEUE_LEN). */
#define NETDEV_DEFAULT_TXQUEUELEN 1000u
#define NETDEV_MAX_TXQUEUELEN 1000000u

/* The kernel's sch_default_prio2band: TC priority -> band. */
extern const uint8_t sch_prio2band[TC_PRIO_MAX + 1];

/*
 * A qdisc instance.  Everything but the scheduling flag and the counters'
 * readers is under @lock.  Counters are written under @lock only (one
 * writer at a time, the lock orders them) and read with relaxed loads.
 */
struct Qdisc {
	pthread_mutex_t lock;
	struct sk_buff_head band[PFIFO_FAST_BANDS];
	ns_counter_t qlen;              /* frames in all bands */
	ns_counter_t backlog;           /* bytes in all bands */
	struct netdev_queue *dev_queue;
	_Atomic bool scheduled;         /* __QDISC_STATE_SCHED: on an output_queue */
	struct Qdisc *next_sched;       /* that worker's output_queue linkage */
	/* tc -s: gnet_stats_basic and gnet_stats_queue */
	ns_counter_t bytes, packets;    /* handed to the driver */
	ns_counter_t drops, overlimits, requeues;
};

/* The band pfifo_fast gives an IPv4 packet of TOS @tos (rt_tos2priority). */
unsigned int pfifo_fast_band(uint8_t tos);

/* Initialise / release @q for @txq (frames still queued are freed). */
void qdisc_init(struct Qdisc *q, struct netdev_queue *txq);
void qdisc_destroy(struct Qdisc *q);

/* Free every queued frame with @reason (dev_deactivate's qdisc_reset). */
void qdisc_reset(struct Qdisc *q, enum skb_drop_reason reason);

/*
 * __dev_xmit_skb: send @skb (its queue_mapping set) through @txq's qdisc.
 * An empty qdisc whose driver queue runs hands it to the driver at once
 * (TCQ_F_CAN_BYPASS); else it is queued by band and the qdisc runs.  A
 * frame the driver refuses (NETDEV_TX_BUSY) stays queued at the head.
 * Always consumes @skb.  Returns 0 (sent or queued) or -ENOBUFS (the
 * qdisc was full: a QDISC_DROP, as the kernel's NET_XMIT_DROP).  Any
 * thread.
 */
int qdisc_xmit(struct sk_buff *skb, struct net_device *dev, struct netdev_queue *txq);

/*
 * The driver's flow control.  netif_tx_stop_queue: the driver cannot take
 * more frames on @txq (call before returning NETDEV_TX_BUSY).
 * netif_tx_wake_queue: it can again (its "TX completion interrupt"): the
 * qdisc is scheduled on the calling worker, whose net_tx_action sends what
 * waits; a thread that is no worker runs the qdisc at once.
 */
void netif_tx_stop_queue(struct netdev_queue *txq);
void netif_tx_wake_queue(struct netdev_queue *txq);
bool netif_xmit_stopped(const struct netdev_queue *txq);

/*
 * NET_TX_SOFTIRQ on @sd: run every qdisc scheduled on this worker, at
 * most dev_tx_weight frames each per round (more left: it stays
 * scheduled).  Worker context.
 */
void net_tx_action(struct softnet_data *sd);

#endif
