/*
 * Packet trace (netstackctl trace): the per-packet record of every stage a
 * sampled packet passes, with a timestamp and the worker, as the kernel's
 * skb tracepoints and pwru show a packet's path.
 *
 * Sampling.  While no trace runs, trace_active() is one relaxed load of a
 * global flag at the places where a packet starts its journey: the driver's
 * receive (tap_napi_poll) and a socket's transmit (udp_sendmsg,
 * ping_v4_sendmsg, raw_sendmsg, tcp_transmit_skb).  There the packet is
 * matched against the trace's sampler (filter, device, count); a match
 * takes one of the records reserved for the trace and its slot number
 * goes into skb->trace.  Every stage after that costs one predictable
 * branch on skb->trace (skb_trace()).
 *
 * Records.  A record lives in a fixed table (slot 1..TRACE_SLOTS) and is
 * referenced by the skbs that carry its slot (a packet sent in response,
 * e.g. an echo reply, joins its cause's record as a new packet index:
 * skb_trace_continue) and by a pending "read by client" watch.  Stages
 * are appended by whichever thread holds a referencing skb: an atomic
 * index hands each writer its own entry.  When the last reference goes
 * (the skb is sent, queued to a socket and read, or dropped) the record
 * is pushed on a lock-free stack that the trace's collector pops; the
 * acquire/release pair on the reference count orders every stage before
 * the collector reads them.  Workers never wait.
 *
 * Context: the hooks on any thread (workers, mostly); the sampler and
 * the slot table are managed by the collector (net/packet/trace.c) on
 * its own thread and the control thread, under trace_slot_lock.
 */
#ifndef NS_CORE_TRACE_H
#define NS_CORE_TRACE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "../../proto/trace.h"
#include "core/debug.h"
#include "core/drop.h"
#include "core/skb.h"

struct ns_ring;

#define TRACE_SLOTS 512u        /* records in the table: also the largest COUNT */

/* Watch states (trace_record.watch). */
enum {
	TRACE_WATCH_NONE = 0,
	TRACE_WATCH_ARMED = 1,      /* waiting for the client to read past watch_pos */
	TRACE_WATCH_DONE = 2,
};

struct trace_record {
	_Atomic uint32_t refs;          /* skbs + an armed watch */
	_Atomic uint32_t nstages;       /* entries claimed (may pass the array) */
	_Atomic uint32_t npkts;         /* packet indices claimed */
	uint32_t gen;                   /* the trace it belongs to */
	uint32_t seq;                   /* 1, 2, ... within the trace */
	int ifindex;                    /* received on (0: sent, or unknown) */
	char ifname[16];
	struct trace_record *done_next; /* done stack linkage */
	struct ns_trace_pkt pkts[NS_TRACE_MAX_PKTS];
	struct ns_trace_stage st[NS_TRACE_MAX_STAGES];
	/* "Read by client": armed by the receive path, resolved by the collector. */
	_Atomic int watch;
	void *watch_sock;               /* struct sock, only compared */
	const struct ns_ring *watch_ring; /* its rx ring's indices (shared memory),
					   * mapped while ARMED */
	uint64_t watch_pos;             /* rx ring index past the record */
	uint8_t watch_pkt;              /* the packet queued */
	uint64_t watch_t_ns;
};

/*
 * The running trace's choice of packets.  @match sees the Ethernet frame
 * (or, for a socket's transmit, a synthetic one built from the flow).
 */
struct trace_sampler {
	bool (*match)(const struct trace_sampler *s, const uint8_t *frame, uint32_t len);
	int ifindex;                    /* 0: every device */
	uint32_t count;                 /* records reserved in slots[] */
	uint32_t gen;
	_Atomic uint32_t claimed;       /* may pass count: only the first count win */
	uint16_t slots[TRACE_SLOTS];
};

extern _Atomic bool trace_on;

/* Is a trace sampling packets?  One relaxed load: the cost when none runs. */
static inline bool trace_active(void)
{
	return ns_unlikely(atomic_load_explicit(&trace_on, memory_order_relaxed));
}

/* The record of slot @slot (1..TRACE_SLOTS). */
struct trace_record *trace_record_get(uint16_t slot);

void __skb_trace_stage(struct sk_buff *skb, unsigned int stage, uint32_t aux);
void __skb_trace_end(struct sk_buff *skb, enum skb_drop_reason reason);
void __skb_trace_continue(struct sk_buff *nskb, const struct sk_buff *cause,
			  unsigned int stage);

/* Record that @skb passed @stage (with a stage-specific @aux). */
static inline void skb_trace(struct sk_buff *skb, unsigned int stage, uint32_t aux)
{
	if (ns_unlikely(skb->trace))
		__skb_trace_stage(skb, stage, aux);
}

/*
 * @nskb is sent in response to @cause (echo reply, ICMP error, RST): it
 * joins @cause's record as a new packet whose first stage is @stage.
 */
static inline void skb_trace_continue(struct sk_buff *nskb, const struct sk_buff *cause,
				      unsigned int stage)
{
	if (ns_unlikely(cause->trace))
		__skb_trace_continue(nskb, cause, stage);
}

/*
 * Receive: sample @skb (a frame from the driver, mac header set) for the
 * running trace.  @irq_ns is when the queue's irq handler ran (0 unknown),
 * @queue the rx queue.  Call only when trace_active().
 */
void trace_sample_rx(struct sk_buff *skb, uint64_t irq_ns, unsigned int queue);

/*
 * Transmit: sample @skb leaving a socket, whose flow is @proto, @saddr,
 * @daddr (network order) and @sport, @dport (host order); its first
 * stages are the doorbell's (trace_tx_doorbell) and @stage.  Call only
 * when trace_active().
 */
void trace_sample_tx(struct sk_buff *skb, unsigned int stage, uint8_t proto, uint32_t saddr,
		     uint32_t daddr, uint16_t sport, uint16_t dport);

/*
 * The doorbell handler took a client's record: remember the time for
 * trace_sample_tx on this thread; 0 forgets it.
 */
void trace_tx_doorbell(uint64_t t_ns);

/* Fill packet @skb's summary (proto, addresses, ports) from its IP header at @iph. */
void __skb_trace_ip_summary(struct sk_buff *skb, const void *iph, uint32_t len);

static inline void skb_trace_ip_summary(struct sk_buff *skb, const void *iph, uint32_t len)
{
	if (ns_unlikely(skb->trace))
		__skb_trace_ip_summary(skb, iph, len);
}

/*
 * The socket queue: @skb's data was appended to socket @sk's rx ring
 * @ring, ending at index @pos.  Arms the record's "read by client" watch
 * (the first socket only).  The caller guarantees that @sk's close
 * (trace_sock_closing) comes after this call.
 */
void __skb_trace_sock_queue(struct sk_buff *skb, void *sk, const struct ns_ring *ring,
			    uint64_t pos);

static inline void skb_trace_sock_queue(struct sk_buff *skb, void *sk,
					const struct ns_ring *ring, uint64_t pos)
{
	if (ns_unlikely(skb->trace))
		__skb_trace_sock_queue(skb, sk, ring, pos);
}

/* ---- the collector's side ---------------------------------------------------- */

/* Armed watches now (one relaxed load: sock close checks it). */
extern _Atomic uint32_t trace_watches;

/*
 * Resolve @rec's armed watch with @stage (CLIENT_READ, READ_TIMEOUT,
 * SOCK_CLOSED) at @t_ns and drop its reference.  The caller serialises
 * resolutions (the collector's watch lock).  True if it was armed.
 */
bool trace_watch_resolve(struct trace_record *rec, unsigned int stage, uint64_t t_ns);

/*
 * Start sampling with @s (filled by the caller: match, ifindex, count):
 * reserves up to s->count free records (fewer if the table is short,
 * s->count then says how many).  -EBUSY if a trace runs, -ENOMEM if no
 * record is free.  Control thread.
 */
int trace_sampler_start(struct trace_sampler *s);

/*
 * Stop sampling.  The caller then waits for a grace period
 * (synchronize_net: no worker is inside a sampling call any more) and
 * calls trace_sampler_release, which gives back the records no packet
 * took and those already collected; records still in flight are freed
 * when a later trace_done_pop_all finds them.
 */
void trace_sampler_stop(struct trace_sampler *s);
void trace_sampler_release(struct trace_sampler *s);

/* Pop every finished record (a list through done_next, oldest last). */
struct trace_record *trace_done_pop_all(void);

/* Give a finished record's slot back.  Collector. */
void trace_record_free(struct trace_record *rec);

/* Records in use (reserved or in flight): for tests. */
unsigned int trace_records_in_use(void);

#endif
