/*
 * pfifo_fast per TX queue, __dev_xmit_skb's bypass, requeue, queue
 * stop/wake and net_tx_action (see sch_generic.h for the model).
 *
 * Context: qdisc_xmit on any thread that sends (workers; the control
 * thread for a gratuitous ARP); net_tx_action on workers; the wake-up on
 * the worker that owns the queue's TX irq.  Lock: the qdisc's mutex, held
 * across the driver call and never together with another lock.
 */
#include <errno.h>
#include <stdlib.h>

#include "core/debug.h"
#include "core/netdev.h"
#include "core/sch_generic.h"
#include "core/softnet.h"
#include "core/sysctl.h"

/* __QUEUE_STATE_DRV_XOFF: the driver has no room on this queue. */
#define QUEUE_STATE_DRV_XOFF 1u

const uint8_t sch_prio2band[TC_PRIO_MAX + 1] = {
	1, 2, 2, 2, 1, 2, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1
};

/*
 * The kernel's ip_tos2prio (rt_tos2priority): the four TOS bits of RFC
 * 1349 to a TC priority.  0 besteffort, 2 bulk, 4 interactive bulk,
 * 6 interactive; the odd "minimise cost" bit changes nothing.
 */
static const uint8_t ip_tos2prio[16] = {
	0, 0, 0, 0, 2, 2, 2, 2, 6, 6, 6, 6, 4, 4, 4, 4
};

unsigned int pfifo_fast_band(uint8_t tos)
{
	return sch_prio2band[ip_tos2prio[(tos & 0x1e) >> 1] & TC_PRIO_MAX];
}

/* The TOS of an Ethernet frame carrying IPv4, else 0 (ARP: best effort). */
static uint8_t skb_frame_tos(const struct sk_buff *skb, const struct net_device *dev)
{
	unsigned int hl = dev->hard_header_len;

	if (hl < 2 || skb->len < hl + 2u)
		return 0;
	if (skb->data[hl - 2] != 0x08 || skb->data[hl - 1] != 0x00)
		return 0;
	return skb->data[hl + 1];
}

void qdisc_init(struct Qdisc *q, struct netdev_queue *txq)
{
	pthread_mutex_init(&q->lock, NULL);
	for (unsigned int b = 0; b < PFIFO_FAST_BANDS; b++)
		skb_queue_head_init(&q->band[b]);
	q->dev_queue = txq;
	atomic_init(&q->scheduled, false);
	q->next_sched = NULL;
}

void qdisc_reset(struct Qdisc *q, enum skb_drop_reason reason)
{
	struct sk_buff_head all;

	skb_queue_head_init(&all);
	pthread_mutex_lock(&q->lock);
	for (unsigned int b = 0; b < PFIFO_FAST_BANDS; b++)
		skb_queue_splice_tail_init(&q->band[b], &all);
	atomic_store_explicit(&q->qlen, 0, memory_order_relaxed);
	atomic_store_explicit(&q->backlog, 0, memory_order_relaxed);
	pthread_mutex_unlock(&q->lock);
	skb_queue_purge_reason(&all, reason);
}

void qdisc_destroy(struct Qdisc *q)
{
	qdisc_reset(q, SKB_DROP_REASON_DEV_READY);
	pthread_mutex_destroy(&q->lock);
}

bool netif_xmit_stopped(const struct netdev_queue *txq)
{
	return atomic_load_explicit(&((struct netdev_queue *)txq)->state, memory_order_acquire) &
	       QUEUE_STATE_DRV_XOFF;
}

void netif_tx_stop_queue(struct netdev_queue *txq)
{
	atomic_fetch_or_explicit(&txq->state, QUEUE_STATE_DRV_XOFF, memory_order_release);
}

/* ---- pfifo_fast (under q->lock) ------------------------------------------- */

static void qdisc_enqueue_tail(struct Qdisc *q, struct sk_buff *skb, unsigned int band)
{
	__skb_queue_tail(&q->band[band], skb);
	ns_counter_inc(&q->qlen);
	ns_counter_add(&q->backlog, skb->len);
}

/* dev_requeue_skb: a frame the driver refused goes back to the front. */
static void dev_requeue_skb(struct Qdisc *q, struct sk_buff *skb, unsigned int band)
{
	__skb_queue_head(&q->band[band], skb);
	ns_counter_inc(&q->qlen);
	ns_counter_add(&q->backlog, skb->len);
	ns_counter_inc(&q->requeues);
}

/* pfifo_fast_dequeue: the first frame of the best band; its band in *@band. */
static struct sk_buff *pfifo_fast_dequeue(struct Qdisc *q, unsigned int *band)
{
	for (unsigned int b = 0; b < PFIFO_FAST_BANDS; b++) {
		struct sk_buff *skb = __skb_dequeue(&q->band[b]);

		if (skb) {
			*band = b;
			atomic_store_explicit(&q->qlen, ns_counter_read(&q->qlen) - 1,
					      memory_order_relaxed);
			atomic_store_explicit(&q->backlog, ns_counter_read(&q->backlog) - skb->len,
					      memory_order_relaxed);
			return skb;
		}
	}
	return NULL;
}

/*
 * sch_direct_xmit: hand @skb to the driver.  True if it took it; false if
 * it was busy, in which case the frame is requeued.  A driver returns
 * NETDEV_TX_BUSY only after netif_tx_stop_queue(), having arranged to
 * call netif_tx_wake_queue() when it has room (stopping here instead
 * could undo a wake-up that came in between).  Under q->lock.
 */
static bool sch_direct_xmit(struct Qdisc *q, struct sk_buff *skb, unsigned int band)
{
	struct net_device *dev = q->dev_queue->dev;
	uint32_t len = skb->len;

	if (dev->netdev_ops->ndo_start_xmit(skb, dev) == NETDEV_TX_OK) {
		ns_counter_inc(&q->packets);
		ns_counter_add(&q->bytes, len);
		return true;
	}
	dev_requeue_skb(q, skb, band);
	return false;
}

/* Append @q to the calling worker's output_queue and raise NET_TX_SOFTIRQ. */
static void __netif_schedule_on(struct softnet_data *sd, struct Qdisc *q)
{
	if (atomic_exchange_explicit(&q->scheduled, true, memory_order_acq_rel))
		return;
	q->next_sched = NULL;
	if (sd->output_queue_tail)
		sd->output_queue_tail->next_sched = q;
	else
		sd->output_queue = q;
	sd->output_queue_tail = q;
	raise_softirq(sd, NET_TX_SOFTIRQ);
}

/*
 * qdisc_run / __qdisc_run: send queued frames while the driver takes them,
 * at most @quota (negative: no limit; threads that are no worker have no
 * softirq to come back in).  Left-over work schedules the qdisc on this
 * worker.  Under q->lock.
 */
static void qdisc_run_locked(struct Qdisc *q, int quota)
{
	struct softnet_data *sd = this_softnet();

	while (ns_counter_read(&q->qlen) && !netif_xmit_stopped(q->dev_queue)) {
		struct sk_buff *skb;
		unsigned int band;

		if (quota == 0 && sd) {
			__netif_schedule_on(sd, q);
			return;
		}
		if (quota > 0)
			quota--;
		skb = pfifo_fast_dequeue(q, &band);
		if (!skb || !sch_direct_xmit(q, skb, band))
			return;
	}
}

static int qdisc_quota(void)
{
	return this_softnet() ? (int)sysctl_read(&sysctl_dev_tx_weight) : -1;
}

int qdisc_xmit(struct sk_buff *skb, struct net_device *dev, struct netdev_queue *txq)
{
	struct Qdisc *q = &txq->qdisc;
	unsigned int band = pfifo_fast_band(skb_frame_tos(skb, dev));
	uint32_t limit = atomic_load_explicit(&dev->tx_queue_len, memory_order_relaxed);

	pthread_mutex_lock(&q->lock);
	if (ns_counter_read(&q->qlen) == 0 && !netif_xmit_stopped(txq)) {
		/* TCQ_F_CAN_BYPASS: nothing waits, so nothing to reorder. */
		(void)sch_direct_xmit(q, skb, band);
		pthread_mutex_unlock(&q->lock);
		return 0;
	}
	if (ns_counter_read(&q->qlen) >= limit) {
		/* qdisc_drop: over txqueuelen, as pfifo_fast_enqueue. */
		ns_counter_inc(&q->drops);
		ns_counter_inc(&q->overlimits);
		pthread_mutex_unlock(&q->lock);
		ns_counter_add_shared(&txq->tx_dropped, 1);
		kfree_skb_reason(skb, SKB_DROP_REASON_QDISC_DROP);
		return -ENOBUFS;
	}
	qdisc_enqueue_tail(q, skb, band);
	qdisc_run_locked(q, qdisc_quota());
	pthread_mutex_unlock(&q->lock);
	return 0;
}

/* __netif_schedule: send what waits in @q soon, on this worker. */
static void __netif_schedule(struct Qdisc *q)
{
	struct softnet_data *sd = this_softnet();

	if (!sd) {
		pthread_mutex_lock(&q->lock);
		qdisc_run_locked(q, -1);
		pthread_mutex_unlock(&q->lock);
		return;
	}
	__netif_schedule_on(sd, q);
}

void netif_tx_wake_queue(struct netdev_queue *txq)
{
	atomic_fetch_and_explicit(&txq->state, ~QUEUE_STATE_DRV_XOFF, memory_order_acq_rel);
	__netif_schedule(&txq->qdisc);
}

void net_tx_action(struct softnet_data *sd)
{
	struct Qdisc *head = sd->output_queue;
	int quota = (int)sysctl_read(&sysctl_dev_tx_weight);

	sd->pending &= ~NET_TX_SOFTIRQ;
	sd->output_queue = sd->output_queue_tail = NULL;
	while (head) {
		struct Qdisc *q = head;

		head = q->next_sched;
		q->next_sched = NULL;
		/* Cleared before the run, so a wake-up during it schedules again. */
		atomic_store_explicit(&q->scheduled, false, memory_order_release);
		pthread_mutex_lock(&q->lock);
		qdisc_run_locked(q, quota);
		pthread_mutex_unlock(&q->lock);
	}
}
