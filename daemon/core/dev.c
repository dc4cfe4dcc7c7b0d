/*
 * netif_receive_skb and the packet-type registry (the kernel's
 * net/core/dev.c receive half).
 *
 * Context: receive functions run on workers.  The ethertype table is filled
 * before workers start and read without locks; the tap list (ptype_all)
 * may change at run time under ptype_lock and is read with acquire loads.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <string.h>

#include "core/debug.h"
#include "core/dev.h"
#include "core/netdev.h"
#include "core/skb.h"
#include "core/softnet.h"
#include "core/sysctl.h"
#include "core/trace.h"
#include "net/wire/ether.h"
#include "net/wire/ip.h"

#define PTYPE_HASH_SIZE 16

static struct packet_type *ptype_base[PTYPE_HASH_SIZE];
_Atomic(struct packet_type *) ptype_all;
static pthread_mutex_t ptype_lock = PTHREAD_MUTEX_INITIALIZER;
static uint32_t flow_hash_seed = 0x9e3779b9u;

static unsigned int ptype_head(uint16_t type)
{
	return ntohs(type) & (PTYPE_HASH_SIZE - 1);
}

void dev_add_pack(struct packet_type *pt)
{
	pthread_mutex_lock(&ptype_lock);
	if (pt->type == htons(ETH_P_ALL_NS)) {
		pt->next = atomic_load_explicit(&ptype_all, memory_order_relaxed);
		atomic_store_explicit(&ptype_all, pt, memory_order_release);
	} else {
		unsigned int h = ptype_head(pt->type);

		pt->next = ptype_base[h];
		ptype_base[h] = pt;
	}
	pthread_mutex_unlock(&ptype_lock);
}

void dev_remove_pack(struct packet_type *pt)
{
	struct packet_type **pp;

	pthread_mutex_lock(&ptype_lock);
	if (pt->type == htons(ETH_P_ALL_NS)) {
		struct packet_type *head = atomic_load(&ptype_all);

		if (head == pt) {
			atomic_store_explicit(&ptype_all, pt->next, memory_order_release);
		} else {
			for (struct packet_type *p = head; p; p = p->next)
				if (p->next == pt) {
					p->next = pt->next;
					break;
				}
		}
	} else {
		for (pp = &ptype_base[ptype_head(pt->type)]; *pp; pp = &(*pp)->next)
			if (*pp == pt) {
				*pp = pt->next;
				break;
			}
	}
	pthread_mutex_unlock(&ptype_lock);
}

/* Deliver clones to every tap (packet capture, netstackctl capture). */
static void deliver_taps(struct packet_type *pt, struct sk_buff *skb)
{
	for (; pt; pt = pt->next) {
		struct sk_buff *c = skb_clone(skb);

		if (c)
			pt->func(c, skb->dev, pt);
	}
}

void dev_queue_xmit_nit(struct sk_buff *skb, struct net_device *dev)
{
	struct packet_type *pt = atomic_load_explicit(&ptype_all, memory_order_acquire);

	/*
	 * lo hands every frame back to netif_rx, where the taps see it
	 * received: showing it sent as well would show each packet twice.
	 */
	if (atomic_load_explicit(&dev->flags, memory_order_relaxed) & NETDEV_IFF_LOOPBACK)
		return;
	for (; pt; pt = pt->next) {
		struct sk_buff *c = skb_clone(skb);

		if (!c)
			continue;
		/* The taps see the frame from its link-layer header. */
		skb_reset_mac_header(c);
		c->pkt_type = PACKET_OUTGOING;
		pt->func(c, dev, pt);
	}
}

int __netif_receive_skb(struct sk_buff *skb)
{
	struct softnet_data *sd = this_softnet();
	struct packet_type *taps;
	struct packet_type *pt;

	if (sd)
		ns_counter_inc(&sd->processed);
	skb_trace(skb, NS_TRACE_NETIF_RECEIVE_SKB, 0);
	skb_reset_network_header(skb);
	skb->transport_header = SKB_HDR_UNSET;

	taps = atomic_load_explicit(&ptype_all, memory_order_acquire);
	if (ns_unlikely(taps != NULL)) {
		skb_trace(skb, NS_TRACE_TAPS, 0);
		deliver_taps(taps, skb);
	}

	for (pt = ptype_base[ptype_head(skb->protocol)]; pt; pt = pt->next)
		if (pt->type == skb->protocol)
			return pt->func(skb, skb->dev, pt);

	kfree_skb_reason(skb, SKB_DROP_REASON_UNHANDLED_PROTO);
	return -1;
}

static inline uint32_t rol32(uint32_t w, unsigned int s)
{
	return (w << s) | (w >> (32 - s));
}

/* A small avalanche mix (the finaliser of MurmurHash3). */
static uint32_t hash_mix(uint32_t a, uint32_t b, uint32_t c)
{
	uint32_t h = flow_hash_seed ^ a;

	h = rol32(h * 0xcc9e2d51u, 15) * 0x1b873593u ^ b;
	h = rol32(h, 13) * 5 + 0xe6546b64u;
	h ^= c;
	h ^= h >> 16;
	h *= 0x85ebca6bu;
	h ^= h >> 13;
	h *= 0xc2b2ae35u;
	h ^= h >> 16;
	return h;
}

/*
 * The flow hash of an IPv4 flow: symmetric (both directions of a flow hash
 * the same), so that the worker that owns a connection also gets its
 * replies.  Addresses and ports in network order; ports 0 for protocols
 * without them.
 */
uint32_t flow_hash_v4(uint32_t saddr, uint32_t daddr, uint16_t sport, uint16_t dport,
		      uint8_t protocol)
{
	uint32_t a = saddr, b = daddr, ports;

	/* Order the endpoints so that both directions agree. */
	if (a > b || (a == b && sport > dport)) {
		a = daddr;
		b = saddr;
		ports = ((uint32_t)dport << 16) | sport;
	} else {
		ports = ((uint32_t)sport << 16) | dport;
	}
	return hash_mix(a, b, ports ^ protocol);
}

/*
 * The flow dissector, reduced to what RPS needs: flow_hash_v4 over
 * addresses, protocol and (TCP, UDP, not for fragments) ports.
 * skb->data points at the network header.
 */
uint32_t skb_get_hash(struct sk_buff *skb)
{
	const struct iphdr *iph;
	struct l4_ports p = { 0, 0 };
	unsigned int ihl;

	if (skb->l4_hash)
		return skb->hash;
	if (skb->protocol != htons(ETH_P_IP) || !skb_may_pull(skb, sizeof(*iph))) {
		skb->hash = hash_mix(skb->protocol, 0, 0);
		skb->l4_hash = 1;
		return skb->hash;
	}
	iph = (const struct iphdr *)skb->data;
	ihl = iph_ihl(iph) * 4u;
	if ((iph->protocol == IPPROTO_TCP_NS || iph->protocol == IPPROTO_UDP_NS) &&
	    !(iph->frag_off & htons(IP_MF | IP_OFFSET)) && ihl >= IP_MIN_HLEN &&
	    skb_may_pull(skb, ihl + sizeof(struct l4_ports)))
		memcpy(&p, skb->data + ihl, sizeof(p));
	skb->hash = flow_hash_v4(iph->saddr, iph->daddr, p.source, p.dest, iph->protocol);
	skb->l4_hash = 1;
	return skb->hash;
}

/*
 * RFS: entries are the flow hash's upper bits with the owner worker in
 * the low RPS_CPU_BITS (the kernel's rps_cpu_mask), indexed by the hash's
 * low bits; the sysctl's value, rounded down to a power of two, is the
 * part of the table in use.
 */
#define RPS_SOCK_FLOW_MAX 65536u
#define RPS_CPU_MASK 63u
static _Atomic uint32_t rps_sock_flow_table[RPS_SOCK_FLOW_MAX];

bool rps_needed;

/* Table index mask: the entries rounded down to a power of two, minus 1. */
static uint32_t rps_sock_flow_mask(uint64_t n)
{
	return n ? (uint32_t)((1ull << (63 - __builtin_clzll(n))) - 1) : 0;
}

void rps_record_sock_flow(uint32_t hash)
{
	int cpu = smp_processor_id();
	uint64_t n;
	uint32_t val;
	_Atomic uint32_t *e;

	if (!rps_needed || cpu < 0)
		return;
	n = (uint64_t)sysctl_read(&sysctl_rps_sock_flow_entries);
	if (!n)
		return;
	val = (hash & ~RPS_CPU_MASK) | (uint32_t)cpu;
	e = &rps_sock_flow_table[hash & rps_sock_flow_mask(n)];
	if (atomic_load_explicit(e, memory_order_relaxed) != val)
		atomic_store_explicit(e, val, memory_order_relaxed);
}

/* The worker RFS recorded for @hash, or -1. */
static int rps_sock_flow_cpu(uint32_t hash)
{
	uint64_t n = (uint64_t)sysctl_read(&sysctl_rps_sock_flow_entries);
	uint32_t e;

	if (!n)
		return -1;
	e = atomic_load_explicit(&rps_sock_flow_table[hash & rps_sock_flow_mask(n)],
				 memory_order_relaxed);
	if (e == 0 || ((e ^ hash) & ~RPS_CPU_MASK))
		return -1;
	return (int)(e & RPS_CPU_MASK) < nr_workers ? (int)(e & RPS_CPU_MASK) : -1;
}

/*
 * get_rps_cpu: the worker RFS recorded for the flow (its socket's owner),
 * else the flow hash mapped onto the queue's RPS mask.
 */
static int get_rps_cpu(const struct netdev_rx_queue *rxq, struct sk_buff *skb)
{
	uint64_t mask = rxq->rps_mask;
	unsigned int n;
	uint32_t hash;
	int rfs;

	if (nr_workers < 64)
		mask &= (1ull << nr_workers) - 1;
	n = (unsigned int)__builtin_popcountll(mask);
	unsigned int k;

	if (n == 0)
		return -1;
	hash = skb_get_hash(skb);
	rfs = rps_sock_flow_cpu(hash);
	if (rfs >= 0)
		return rfs;
	k = (unsigned int)(((uint64_t)hash * n) >> 32);
	for (int cpu = 0; cpu < 64; cpu++) {
		if (!(mask & (1ull << cpu)))
			continue;
		if (k-- == 0)
			return cpu;
	}
	return -1;
}

int netif_receive_skb(struct sk_buff *skb)
{
	struct net_device *dev = skb->dev;
	int cpu;

	if (dev && skb->queue_mapping < dev->num_rx_queues && nr_workers > 1) {
		cpu = get_rps_cpu(&dev->rx[skb->queue_mapping], skb);
		if (cpu >= 0 && cpu != smp_processor_id()) {
			skb_trace(skb, NS_TRACE_RPS, (uint32_t)cpu);
			return enqueue_to_backlog(skb, cpu);
		}
	}
	return __netif_receive_skb(skb);
}

int netif_rx(struct sk_buff *skb)
{
	int cpu = smp_processor_id();

	if (cpu < 0) {
		/* Delivered (or dropped with its reason) by the stack: the device did its part. */
		(void)__netif_receive_skb(skb);
		return 0;
	}
	return enqueue_to_backlog(skb, cpu);
}
