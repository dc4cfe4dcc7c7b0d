/*
 * Packet trace records: sampling, stages, references and the done stack.
 * See trace.h for the model.
 *
 * Context: the skb hooks on any thread that holds a traced skb (workers);
 * the collector's calls on its thread and the control thread, which
 * serialise on trace_slot_lock (never taken by a worker).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "core/clock.h"
#include "core/dev.h"
#include "core/netdev.h"
#include "core/softnet.h"
#include "core/trace.h"
#include "net/wire/ether.h"
#include "net/wire/ip.h"

_Atomic bool trace_on;
_Atomic uint32_t trace_watches;

static struct trace_record trace_table[TRACE_SLOTS];
static _Atomic(struct trace_sampler *) trace_cur;
static _Atomic(struct trace_record *) trace_done;
static _Thread_local uint64_t trace_tx_t_ns;

/* Slot states, under trace_slot_lock. */
enum {
	SLOT_FREE = 0,
	SLOT_RESERVED,      /* for the running trace (claimed or not) */
	SLOT_DONE,          /* the running trace's, finished and collected */
	SLOT_USED,          /* in flight after its trace ended */
};
static uint8_t slot_state[TRACE_SLOTS];
static bool sampler_running;
static uint32_t trace_gen;
static pthread_mutex_t trace_slot_lock = PTHREAD_MUTEX_INITIALIZER;

struct trace_record *trace_record_get(uint16_t slot)
{
	if (slot == 0 || slot > TRACE_SLOTS)
		return NULL;
	return &trace_table[slot - 1];
}

static uint16_t trace_slot_of(const struct trace_record *rec)
{
	return (uint16_t)(rec - trace_table + 1);
}

/* Append one stage; the atomic index gives each writer its own entry. */
static void rec_stage(struct trace_record *rec, unsigned int pkt, unsigned int stage,
		      uint32_t aux, uint64_t t_ns, int cpu)
{
	uint32_t i = atomic_fetch_add_explicit(&rec->nstages, 1, memory_order_relaxed);
	struct ns_trace_stage *st;

	if (i >= NS_TRACE_MAX_STAGES)
		return;         /* counted: nstages passes the array */
	st = &rec->st[i];
	st->t_ns = t_ns;
	st->aux = aux;
	st->id = (uint16_t)stage;
	st->pkt = (uint8_t)pkt;
	st->cpu = (int8_t)cpu;
}

static void rec_done_push(struct trace_record *rec)
{
	struct trace_record *old = atomic_load_explicit(&trace_done, memory_order_relaxed);

	do {
		rec->done_next = old;
	} while (!atomic_compare_exchange_weak_explicit(&trace_done, &old, rec,
							memory_order_release,
							memory_order_relaxed));
}

/* Drop one reference; the last one hands the record to the collector. */
static void rec_put(struct trace_record *rec)
{
	if (atomic_fetch_sub_explicit(&rec->refs, 1, memory_order_acq_rel) == 1)
		rec_done_push(rec);
}

void __skb_trace_stage(struct sk_buff *skb, unsigned int stage, uint32_t aux)
{
	struct trace_record *rec = trace_record_get(skb->trace);

	if (rec)
		rec_stage(rec, skb->trace_pkt, stage, aux, ns_now_ns(), smp_processor_id());
}

void __skb_trace_end(struct sk_buff *skb, enum skb_drop_reason reason)
{
	struct trace_record *rec = trace_record_get(skb->trace);

	skb->trace = 0;
	if (!rec)
		return;
	if (reason != SKB_DROP_REASON_CONSUMED) {
		rec_stage(rec, skb->trace_pkt, NS_TRACE_DROP, (uint32_t)reason, ns_now_ns(),
			  smp_processor_id());
		snprintf(rec->pkts[skb->trace_pkt].drop, sizeof(rec->pkts[0].drop), "%s",
			 skb_drop_reason_name(reason));
	}
	rec_put(rec);
}

void __skb_trace_continue(struct sk_buff *nskb, const struct sk_buff *cause,
			  unsigned int stage)
{
	struct trace_record *rec = trace_record_get(cause->trace);
	uint32_t p;

	if (!rec || nskb->trace)
		return;
	p = atomic_fetch_add_explicit(&rec->npkts, 1, memory_order_relaxed);
	if (p >= NS_TRACE_MAX_PKTS)
		return;
	/* @cause holds a reference, so the count cannot reach zero here. */
	atomic_fetch_add_explicit(&rec->refs, 1, memory_order_relaxed);
	memset(&rec->pkts[p], 0, sizeof(rec->pkts[p]));
	rec->pkts[p].dir = NS_TRACE_DIR_REPLY;
	rec->pkts[p].parent = cause->trace_pkt;
	nskb->trace = cause->trace;
	nskb->trace_pkt = (uint8_t)p;
	rec_stage(rec, p, stage, 0, ns_now_ns(), smp_processor_id());
}

/* Fill @pkt's summary from an IPv4 header (and the L4 header if present). */
static void pkt_summary(struct ns_trace_pkt *pkt, const uint8_t *ip, uint32_t len)
{
	uint32_t ihl;

	if (len < IP_MIN_HLEN || (ip[0] >> 4) != 4)
		return;
	ihl = (ip[0] & 0x0fu) * 4u;
	pkt->proto = ip[9];
	memcpy(&pkt->saddr, ip + 12, 4);
	memcpy(&pkt->daddr, ip + 16, 4);
	pkt->len = (uint32_t)(ip[2] << 8 | ip[3]);
	if (ihl < IP_MIN_HLEN || len < ihl + 4 || ((ip[6] & 0x1fu) | ip[7]))
		return;
	if (pkt->proto == IPPROTO_TCP_NS || pkt->proto == IPPROTO_UDP_NS) {
		pkt->sport = (uint16_t)(ip[ihl] << 8 | ip[ihl + 1]);
		pkt->dport = (uint16_t)(ip[ihl + 2] << 8 | ip[ihl + 3]);
	} else if (pkt->proto == IPPROTO_ICMP_NS) {
		pkt->icmp_type = ip[ihl];
		pkt->icmp_code = ip[ihl + 1];
	}
}

void __skb_trace_ip_summary(struct sk_buff *skb, const void *iph, uint32_t len)
{
	struct trace_record *rec = trace_record_get(skb->trace);

	if (rec && !rec->pkts[skb->trace_pkt].proto)
		pkt_summary(&rec->pkts[skb->trace_pkt], iph, len);
}

void __skb_trace_sock_queue(struct sk_buff *skb, void *sk, const struct ns_ring *ring,
			    uint64_t pos)
{
	struct trace_record *rec = trace_record_get(skb->trace);
	int expect = TRACE_WATCH_NONE;

	if (!rec)
		return;
	rec_stage(rec, skb->trace_pkt, NS_TRACE_SOCK_QUEUE, (uint32_t)pos, ns_now_ns(),
		  smp_processor_id());
	/* Only the first socket is watched (a multicast reaches several). */
	if (!atomic_compare_exchange_strong_explicit(&rec->watch, &expect, -1,
						     memory_order_relaxed, memory_order_relaxed))
		return;
	rec->watch_sock = sk;
	rec->watch_ring = ring;
	rec->watch_pos = pos;
	rec->watch_pkt = skb->trace_pkt;
	rec->watch_t_ns = ns_now_ns();
	atomic_fetch_add_explicit(&rec->refs, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&trace_watches, 1, memory_order_relaxed);
	atomic_store_explicit(&rec->watch, TRACE_WATCH_ARMED, memory_order_release);
}

bool trace_watch_resolve(struct trace_record *rec, unsigned int stage, uint64_t t_ns)
{
	int expect = TRACE_WATCH_ARMED;

	if (!atomic_compare_exchange_strong_explicit(&rec->watch, &expect, TRACE_WATCH_DONE,
						     memory_order_acq_rel, memory_order_acquire))
		return false;
	rec_stage(rec, rec->watch_pkt, stage, 0, t_ns, NS_TRACE_CPU_CLIENT);
	atomic_fetch_sub_explicit(&trace_watches, 1, memory_order_relaxed);
	rec_put(rec);
	return true;
}

/* Take the next record of the running trace, or NULL (none, or all taken). */
static struct trace_record *trace_claim(struct trace_sampler *s)
{
	struct trace_record *rec;
	uint32_t n;

	if (atomic_load_explicit(&s->claimed, memory_order_relaxed) >= s->count)
		return NULL;
	n = atomic_fetch_add_explicit(&s->claimed, 1, memory_order_relaxed);
	if (n >= s->count)
		return NULL;
	rec = trace_record_get(s->slots[n]);
	atomic_store_explicit(&rec->refs, 1, memory_order_relaxed);
	atomic_store_explicit(&rec->nstages, 0, memory_order_relaxed);
	atomic_store_explicit(&rec->npkts, 1, memory_order_relaxed);
	atomic_store_explicit(&rec->watch, TRACE_WATCH_NONE, memory_order_relaxed);
	rec->gen = s->gen;
	rec->seq = n + 1;
	rec->ifindex = 0;
	rec->ifname[0] = '\0';
	rec->done_next = NULL;
	rec->watch_sock = NULL;
	rec->watch_ring = NULL;
	memset(rec->pkts, 0, sizeof(rec->pkts));
	return rec;
}

void trace_sample_rx(struct sk_buff *skb, uint64_t irq_ns, unsigned int queue)
{
	struct trace_sampler *s = atomic_load_explicit(&trace_cur, memory_order_acquire);
	struct trace_record *rec;
	const uint8_t *frame;
	uint32_t len;
	uint64_t now;
	int cpu = smp_processor_id();

	if (!s || skb->trace || skb->mac_header == SKB_HDR_UNSET)
		return;
	if (s->ifindex && (!skb->dev || skb->dev->ifindex != s->ifindex))
		return;
	frame = skb_mac_header(skb);
	len = (uint32_t)(skb_tail_pointer(skb) - frame);
	if (!s->match(s, frame, len))
		return;
	rec = trace_claim(s);
	if (!rec)
		return;
	now = ns_now_ns();
	if (skb->dev) {
		rec->ifindex = skb->dev->ifindex;
		snprintf(rec->ifname, sizeof(rec->ifname), "%s", skb->dev->name);
	}
	rec->pkts[0].dir = NS_TRACE_DIR_RX;
	if (len >= ETH_HLEN && frame[12] == 0x08 && frame[13] == 0x00)
		pkt_summary(&rec->pkts[0], frame + ETH_HLEN, len - ETH_HLEN);
	skb->trace = trace_slot_of(rec);
	skb->trace_pkt = 0;
	if (irq_ns && irq_ns <= now)
		rec_stage(rec, 0, NS_TRACE_IRQ, queue, irq_ns, cpu);
	rec_stage(rec, 0, NS_TRACE_NAPI_POLL, queue, now, cpu);
}

void trace_tx_doorbell(uint64_t t_ns)
{
	trace_tx_t_ns = t_ns;
}

void trace_sample_tx(struct sk_buff *skb, unsigned int stage, uint8_t proto, uint32_t saddr,
		     uint32_t daddr, uint16_t sport, uint16_t dport)
{
	struct trace_sampler *s = atomic_load_explicit(&trace_cur, memory_order_acquire);
	uint8_t f[ETH_HLEN + IP_MIN_HLEN + 8];
	uint8_t *ip = f + ETH_HLEN, *l4 = ip + IP_MIN_HLEN;
	struct trace_record *rec;
	uint64_t now;
	int cpu = smp_processor_id();

	if (!s || skb->trace)
		return;
	/* The filter sees the flow as a frame would carry it. */
	memset(f, 0, sizeof(f));
	f[12] = 0x08;
	ip[0] = 0x45;
	ip[2] = (uint8_t)((IP_MIN_HLEN + skb->len) >> 8);
	ip[3] = (uint8_t)(IP_MIN_HLEN + skb->len);
	ip[9] = proto;
	memcpy(ip + 12, &saddr, 4);
	memcpy(ip + 16, &daddr, 4);
	l4[0] = (uint8_t)(sport >> 8);
	l4[1] = (uint8_t)sport;
	l4[2] = (uint8_t)(dport >> 8);
	l4[3] = (uint8_t)dport;
	if (proto == IPPROTO_ICMP_NS && skb->len >= 2)
		memcpy(l4, skb->data, 2);
	if (!s->match(s, f, sizeof(f)))
		return;
	rec = trace_claim(s);
	if (!rec)
		return;
	now = ns_now_ns();
	rec->pkts[0].dir = NS_TRACE_DIR_TX;
	pkt_summary(&rec->pkts[0], ip, sizeof(f) - ETH_HLEN);
	skb->trace = trace_slot_of(rec);
	skb->trace_pkt = 0;
	if (trace_tx_t_ns && trace_tx_t_ns <= now)
		rec_stage(rec, 0, NS_TRACE_SOCK_WRITE, 0, trace_tx_t_ns, cpu);
	rec_stage(rec, 0, stage, 0, now, cpu);
}

/* ---- the collector's side ---------------------------------------------------- */

int trace_sampler_start(struct trace_sampler *s)
{
	uint32_t n = 0;

	pthread_mutex_lock(&trace_slot_lock);
	if (sampler_running) {
		pthread_mutex_unlock(&trace_slot_lock);
		return -EBUSY;
	}
	for (uint32_t i = 0; i < TRACE_SLOTS && n < s->count; i++) {
		if (slot_state[i] != SLOT_FREE)
			continue;
		slot_state[i] = SLOT_RESERVED;
		s->slots[n++] = (uint16_t)(i + 1);
	}
	if (n == 0) {
		pthread_mutex_unlock(&trace_slot_lock);
		return -ENOMEM;
	}
	s->count = n;
	s->gen = ++trace_gen;
	atomic_store_explicit(&s->claimed, 0, memory_order_relaxed);
	sampler_running = true;
	pthread_mutex_unlock(&trace_slot_lock);
	atomic_store_explicit(&trace_cur, s, memory_order_release);
	atomic_store_explicit(&trace_on, true, memory_order_release);
	return 0;
}

void trace_sampler_stop(struct trace_sampler *s)
{
	(void)s;
	atomic_store_explicit(&trace_on, false, memory_order_relaxed);
	atomic_store_explicit(&trace_cur, NULL, memory_order_release);
}

void trace_sampler_release(struct trace_sampler *s)
{
	uint32_t claimed = atomic_load_explicit(&s->claimed, memory_order_acquire);

	if (claimed > s->count)
		claimed = s->count;
	pthread_mutex_lock(&trace_slot_lock);
	for (uint32_t i = 0; i < s->count; i++) {
		uint8_t *st = &slot_state[s->slots[i] - 1];

		*st = i < claimed && *st == SLOT_RESERVED ? SLOT_USED : SLOT_FREE;
	}
	sampler_running = false;
	pthread_mutex_unlock(&trace_slot_lock);
}

struct trace_record *trace_done_pop_all(void)
{
	return atomic_exchange_explicit(&trace_done, NULL, memory_order_acquire);
}

void trace_record_free(struct trace_record *rec)
{
	pthread_mutex_lock(&trace_slot_lock);
	/* The running trace's slots stay its own until release() settles them. */
	if (sampler_running && rec->gen == trace_gen)
		slot_state[trace_slot_of(rec) - 1] = SLOT_DONE;
	else
		slot_state[trace_slot_of(rec) - 1] = SLOT_FREE;
	pthread_mutex_unlock(&trace_slot_lock);
}

unsigned int trace_records_in_use(void)
{
	unsigned int n = 0;

	pthread_mutex_lock(&trace_slot_lock);
	for (uint32_t i = 0; i < TRACE_SLOTS; i++)
		n += slot_state[i] != SLOT_FREE;
	pthread_mutex_unlock(&trace_slot_lock);
	return n;
}
