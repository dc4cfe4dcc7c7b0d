/*
 * The packet-type registry and netif_receive_skb: where a received frame,
 * its link-layer header already parsed by the driver (eth_type_trans), is
 * handed to the protocol that claims its ethertype.
 *
 * As in the kernel's __netif_receive_skb_core: taps on ptype_all see every
 * frame first (each gets a clone), then the handler registered for
 * skb->protocol (ptype_base) consumes it; a frame nobody claims is an
 * UNHANDLED_PROTO drop.  Registration happens at start-up on the control
 * thread, before workers run; taps may be attached at run time, so the tap
 * list is read with acquire loads and changed under a mutex.
 */
#ifndef NS_CORE_DEV_H
#define NS_CORE_DEV_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sk_buff;
struct net_device;
struct napi_struct;
struct packet_type;

/*
 * A protocol's receive function.  It consumes @skb (delivers or frees it
 * with a drop reason).  skb->data points at the network header.
 */
typedef int (*packet_rcv_fn)(struct sk_buff *skb, struct net_device *dev,
			     const struct packet_type *pt);

struct packet_type {
	uint16_t type;              /* ethertype, network order; 0 = all (tap) */
	const char *name;
	packet_rcv_fn func;
	struct packet_type *next;   /* registry linkage */
};

#define ETH_P_ALL_NS 0x0003

/* The taps (ptype_all): read with acquire loads, changed under ptype_lock. */
extern _Atomic(struct packet_type *) ptype_all;

/* Is any tap attached?  One load: the transmit fast path's only cost. */
static inline bool dev_nit_active(void)
{
	return atomic_load_explicit(&ptype_all, memory_order_relaxed) != NULL;
}

/*
 * dev_queue_xmit_nit: give every tap a clone of @skb (data at its
 * link-layer header, pkt_type PACKET_OUTGOING) as it goes to @dev's
 * driver.  Not for lo, whose frames the taps see received.  Worker
 * context (the clone comes from the calling thread's pool).
 */
void dev_queue_xmit_nit(struct sk_buff *skb, struct net_device *dev);

/* Register @pt: by ethertype, or as a tap if pt->type == htons(ETH_P_ALL). */
void dev_add_pack(struct packet_type *pt);
void dev_remove_pack(struct packet_type *pt);

/*
 * Deliver one received frame to the stack on the calling worker.
 * Consumes @skb.  Counts softnet processed.  Worker context.
 */
int __netif_receive_skb(struct sk_buff *skb);

/*
 * Driver entry after a NAPI poll read a frame: steers it with RPS to its
 * owner worker's backlog, or receives it here.  Consumes @skb.
 */
int netif_receive_skb(struct sk_buff *skb);

/*
 * netif_rx: a frame that did not come from a NAPI poll (the loopback
 * device hands back what the stack sent) goes to the calling worker's
 * backlog (enqueue_to_backlog) and is received later in its softirq, not
 * inside the transmit path.  On a thread that is no worker (unit tests)
 * it is received at once.  Consumes @skb; 0 or -ENOBUFS (backlog full, a
 * counted CPU_BACKLOG drop).
 */
int netif_rx(struct sk_buff *skb);

/* napi_gro_receive, the NAPI entry for drivers, is in core/gro.h. */

/* Flow hash of @skb (computed once and cached in skb->hash). */
uint32_t skb_get_hash(struct sk_buff *skb);

/* The same hash from a flow's addresses and ports (network order). */
uint32_t flow_hash_v4(uint32_t saddr, uint32_t daddr, uint16_t sport, uint16_t dport,
		      uint8_t protocol);

/*
 * RFS (the kernel's rps_sock_flow_table, sock_rps_record_flow): note that
 * the flow with hash @hash belongs to the calling worker, so that RPS
 * steers its next frames here instead of by the hash alone.  A socket's
 * owner calls it for the frames it processes; one relaxed load, a store
 * only when the entry changes.  No-op without RPS on any queue
 * (rps_needed), with net.core.rps_sock_flow_entries = 0 or on a thread
 * that is no worker.
 */
void rps_record_sock_flow(uint32_t hash);

/*
 * Some receive queue steers with RPS (the kernel's rps_needed static key):
 * set by drivers while they set up, before workers run.  Without it RFS
 * records nothing.
 */
extern bool rps_needed;

#endif
