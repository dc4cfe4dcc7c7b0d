/*
 * The neighbour cache (see neighbour.h for the model and the lock).
 *
 * States follow the kernel (RFC 4861's NUD applied to ARP, as Linux does):
 * INCOMPLETE while soliciting, REACHABLE after a confirmation, STALE when
 * the confirmation ages or the mapping was learned unsolicited, DELAY then
 * PROBE when a STALE entry is used, FAILED when solicitations go
 * unanswered.  Packets for an unresolved neighbour wait in its arp_queue
 * (bounded by unres_qlen, oldest dropped first).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "core/clock.h"
#include "core/debug.h"
#include "core/netdev.h"
#include "core/skb.h"
#include "core/softnet.h"
#include "core/sysctl.h"
#include "core/trace.h"
#include "core/timer.h"
#include "net/core/neighbour.h"
#include "net/wire/ether.h"

#define NEIGH_HASH_SIZE 256u
#define NEIGH_PERIOD_MS 100u
#define NEIGH_DELAY_PROBE_MS 5000u

struct neighbour {
	struct neighbour *next;
	struct net_device *dev;
	uint32_t ip;
	uint8_t ha[ETH_ALEN];
	uint8_t hh[ETH_HLEN];       /* prebuilt Ethernet header (hh cache) */
	uint8_t nud_state;
	uint32_t probes;
	uint64_t confirmed;         /* jiffies of the last confirmation */
	uint64_t updated;           /* jiffies of the last state change/probe */
	uint64_t used;
	uint64_t reachable_time;
	struct sk_buff_head arp_queue;
};

static _Atomic int64_t sysctl_base_reachable_ms = 30000;
static _Atomic int64_t sysctl_retrans_ms = 1000;
static _Atomic int64_t sysctl_mcast_solicit = 3;
static _Atomic int64_t sysctl_ucast_solicit = 3;
static _Atomic int64_t sysctl_unres_qlen = 101;
static _Atomic int64_t sysctl_gc_stale_time = 60;
static _Atomic int64_t sysctl_gc_thresh3 = 1024;

static const struct ctl_table neigh_table_sysctl[] = {
	{ "net.ipv4.neigh.default.base_reachable_time_ms", &sysctl_base_reachable_ms, 1000,
	  3600000, 30000, "a confirmed neighbour stays REACHABLE for a random 0.5..1.5 times this" },
	{ "net.ipv4.neigh.default.retrans_time_ms", &sysctl_retrans_ms, 100, 60000, 1000,
	  "milliseconds between ARP solicitations" },
	{ "net.ipv4.neigh.default.mcast_solicit", &sysctl_mcast_solicit, 1, 100, 3,
	  "broadcast solicitations before an INCOMPLETE entry FAILS" },
	{ "net.ipv4.neigh.default.ucast_solicit", &sysctl_ucast_solicit, 1, 100, 3,
	  "unicast probes before a PROBE entry FAILS" },
	{ "net.ipv4.neigh.default.unres_qlen", &sysctl_unres_qlen, 1, 100000, 101,
	  "packets queued per unresolved neighbour" },
	{ "net.ipv4.neigh.default.gc_stale_time", &sysctl_gc_stale_time, 1, 86400, 60,
	  "seconds an unused STALE or FAILED entry is kept" },
	{ "net.ipv4.neigh.default.gc_thresh3", &sysctl_gc_thresh3, 16, 1000000, 1024,
	  "maximum number of entries" },
	{ NULL, NULL, 0, 0, 0, NULL },
};

static struct neighbour *neigh_hash[NEIGH_HASH_SIZE];
static unsigned int neigh_entries;
static pthread_mutex_t neigh_lock = PTHREAD_MUTEX_INITIALIZER;
static neigh_solicit_fn neigh_solicit;
static struct timer_list neigh_timer;

void neigh_set_solicit(neigh_solicit_fn fn)
{
	neigh_solicit = fn;
}

int neigh_init(void)
{
	sysctl_register(neigh_table_sysctl);
	timer_setup(&neigh_timer, NULL);
	return 0;
}

const char *neigh_state_name(uint8_t s)
{
	switch (s) {
	case NUD_INCOMPLETE: return "INCOMPLETE";
	case NUD_REACHABLE: return "REACHABLE";
	case NUD_STALE: return "STALE";
	case NUD_DELAY: return "DELAY";
	case NUD_PROBE: return "PROBE";
	case NUD_FAILED: return "FAILED";
	case NUD_NOARP: return "NOARP";
	case NUD_PERMANENT: return "PERMANENT";
	default: return "NONE";
	}
}

static unsigned int neigh_hashfn(uint32_t ip, const struct net_device *dev)
{
	uint32_t h = (ntohl(ip) ^ (uint32_t)dev->ifindex) * 2654435761u;

	return h >> 24;
}

static uint64_t neigh_rand_reach_time(void)
{
	uint64_t base = (uint64_t)sysctl_read(&sysctl_base_reachable_ms);
	uint32_t r = 0;

	if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != sizeof(r))
		r = (uint32_t)ns_now_ns();
	return base / 2 + (base ? r % base : 0);
}

static struct neighbour *__neigh_lookup(const struct net_device *dev, uint32_t ip)
{
	for (struct neighbour *n = neigh_hash[neigh_hashfn(ip, dev)]; n; n = n->next)
		if (n->ip == ip && n->dev == dev)
			return n;
	return NULL;
}

static void neigh_fill_hh(struct neighbour *n)
{
	struct ethhdr *eth = (struct ethhdr *)n->hh;

	memcpy(eth->h_dest, n->ha, ETH_ALEN);
	memcpy(eth->h_source, n->dev->dev_addr, ETH_ALEN);
	eth->h_proto = htons(ETH_P_IP);
}

static void neigh_free(struct neighbour *n, enum skb_drop_reason reason)
{
	skb_queue_purge_reason(&n->arp_queue, reason);
	free(n);
}

/* Drop unused STALE/FAILED entries; with @force also the oldest others. */
static void neigh_gc(uint64_t now, bool force)
{
	uint64_t stale_ms = (uint64_t)sysctl_read(&sysctl_gc_stale_time) * 1000u;

	for (unsigned int h = 0; h < NEIGH_HASH_SIZE; h++) {
		struct neighbour **pp = &neigh_hash[h];

		while (*pp) {
			struct neighbour *n = *pp;
			bool idle = now - n->used > stale_ms;
			/* NOARP (loopback) entries cost nothing to recreate. */
			bool removable = (n->nud_state & (NUD_STALE | NUD_FAILED | NUD_NOARP)) &&
					 (idle || force);

			if (removable && skb_queue_empty(&n->arp_queue)) {
				*pp = n->next;
				neigh_entries--;
				neigh_free(n, SKB_DROP_REASON_NEIGH_FAILED);
				continue;
			}
			pp = &n->next;
		}
	}
}

static struct neighbour *neigh_create(struct net_device *dev, uint32_t ip, uint64_t now)
{
	struct neighbour *n;
	unsigned int h;

	if (neigh_entries >= (uint64_t)sysctl_read(&sysctl_gc_thresh3)) {
		neigh_gc(now, true);
		if (neigh_entries >= (uint64_t)sysctl_read(&sysctl_gc_thresh3))
			return NULL;
	}
	n = calloc(1, sizeof(*n));
	if (!n)
		return NULL;
	n->dev = dev;
	n->ip = ip;
	n->nud_state = NUD_NONE;
	n->updated = n->used = now;
	n->reachable_time = neigh_rand_reach_time();
	skb_queue_head_init(&n->arp_queue);
	/* arp_constructor: a loopback device resolves nothing; its frames carry its own address. */
	if (atomic_load_explicit(&dev->flags, memory_order_relaxed) & NETDEV_IFF_LOOPBACK) {
		n->nud_state = NUD_NOARP;
		memcpy(n->ha, dev->dev_addr, ETH_ALEN);
		neigh_fill_hh(n);
	}
	h = neigh_hashfn(ip, dev);
	n->next = neigh_hash[h];
	neigh_hash[h] = n;
	neigh_entries++;
	return n;
}

/* Send queued packets now that @n has an address.  Called without the lock. */
static void neigh_flush_queue(struct sk_buff_head *q, const uint8_t *hh)
{
	struct sk_buff *skb;

	while ((skb = __skb_dequeue(q)) != NULL) {
		unsigned char *p = skb_push(skb, ETH_HLEN);

		if (!p) {
			kfree_skb_reason(skb, SKB_DROP_REASON_TX_HEADROOM);
			continue;
		}
		memcpy(p, hh, ETH_HLEN);
		skb_reset_mac_header(skb);
		dev_queue_xmit(skb);
	}
}

int neigh_output(struct sk_buff *skb, struct net_device *dev, uint32_t nexthop)
{
	uint64_t now = ns_jiffies();
	uint8_t hh[ETH_HLEN];
	struct neighbour *n;
	bool solicit = false;
	struct sk_buff *old = NULL;

	skb->dev = dev;
	pthread_mutex_lock(&neigh_lock);
	n = __neigh_lookup(dev, nexthop);
	if (!n) {
		n = neigh_create(dev, nexthop, now);
		if (!n) {
			pthread_mutex_unlock(&neigh_lock);
			kfree_skb_reason(skb, SKB_DROP_REASON_NEIGH_NOMEM);
			return -ENOBUFS;
		}
	}
	n->used = now;
	if (n->nud_state & (NUD_REACHABLE | NUD_STALE | NUD_DELAY | NUD_PROBE | NUD_PERMANENT |
			    NUD_NOARP)) {
		if (n->nud_state == NUD_STALE) {
			/* Used while stale: wait a while for a confirmation, then probe. */
			n->nud_state = NUD_DELAY;
			n->updated = now;
		}
		memcpy(hh, n->hh, ETH_HLEN);
		pthread_mutex_unlock(&neigh_lock);
		skb_trace(skb, NS_TRACE_NEIGH_OUTPUT, NS_TRACE_NEIGH_RESOLVED);
		{
			unsigned char *p = skb_push(skb, ETH_HLEN);

			if (!p) {
				kfree_skb_reason(skb, SKB_DROP_REASON_TX_HEADROOM);
				return -ENOSPC;
			}
			memcpy(p, hh, ETH_HLEN);
			skb_reset_mac_header(skb);
		}
		return dev_queue_xmit(skb);
	}
	/* NONE, INCOMPLETE or FAILED: queue and (re)start resolution. */
	if (n->nud_state != NUD_INCOMPLETE) {
		n->nud_state = NUD_INCOMPLETE;
		n->probes = 0;
		n->updated = now;
		solicit = true;
	}
	if (skb_queue_len(&n->arp_queue) >= (uint32_t)sysctl_read(&sysctl_unres_qlen))
		old = __skb_dequeue(&n->arp_queue);
	skb_trace(skb, NS_TRACE_NEIGH_OUTPUT, NS_TRACE_NEIGH_QUEUED);
	__skb_queue_tail(&n->arp_queue, skb);
	if (solicit)
		n->probes++;
	pthread_mutex_unlock(&neigh_lock);
	if (old)
		kfree_skb_reason(old, SKB_DROP_REASON_NEIGH_QUEUEFULL);
	if (solicit && neigh_solicit)
		neigh_solicit(dev, nexthop, NULL);
	return 0;
}

void neigh_update(struct net_device *dev, uint32_t ip, const uint8_t *lladdr,
		  bool create, bool solicited)
{
	uint64_t now = ns_jiffies();
	struct sk_buff_head q;
	uint8_t hh[ETH_HLEN];
	struct neighbour *n;
	bool changed;

	skb_queue_head_init(&q);
	pthread_mutex_lock(&neigh_lock);
	n = __neigh_lookup(dev, ip);
	if (!n) {
		if (!create) {
			pthread_mutex_unlock(&neigh_lock);
			return;
		}
		n = neigh_create(dev, ip, now);
		if (!n) {
			pthread_mutex_unlock(&neigh_lock);
			return;
		}
	}
	if (n->nud_state & (NUD_PERMANENT | NUD_NOARP)) {
		pthread_mutex_unlock(&neigh_lock);
		return;
	}
	changed = memcmp(n->ha, lladdr, ETH_ALEN) != 0;
	if (changed || !(n->nud_state & (NUD_REACHABLE | NUD_STALE | NUD_DELAY | NUD_PROBE))) {
		memcpy(n->ha, lladdr, ETH_ALEN);
		neigh_fill_hh(n);
	}
	if (solicited) {
		n->nud_state = NUD_REACHABLE;
		n->confirmed = now;
		n->reachable_time = neigh_rand_reach_time();
	} else if (changed || !(n->nud_state & (NUD_REACHABLE | NUD_STALE | NUD_DELAY |
						 NUD_PROBE))) {
		n->nud_state = NUD_STALE;
	}
	n->updated = now;
	n->probes = 0;
	skb_queue_splice_tail_init(&n->arp_queue, &q);
	memcpy(hh, n->hh, ETH_HLEN);
	pthread_mutex_unlock(&neigh_lock);
	neigh_flush_queue(&q, hh);
}

/* The state machine, every NEIGH_PERIOD_MS on worker 0. */
static void neigh_periodic(struct timer_list *t)
{
	uint64_t now = ns_jiffies();
	uint64_t retrans = (uint64_t)sysctl_read(&sysctl_retrans_ms);
	struct {
		struct net_device *dev;
		uint32_t ip;
		uint8_t ha[ETH_ALEN];
		bool unicast;
	} probes[64];
	unsigned int nprobes = 0;
	struct sk_buff_head failed;

	skb_queue_head_init(&failed);
	pthread_mutex_lock(&neigh_lock);
	for (unsigned int h = 0; h < NEIGH_HASH_SIZE; h++) {
		for (struct neighbour *n = neigh_hash[h]; n; n = n->next) {
			switch (n->nud_state) {
			case NUD_REACHABLE:
				if (now - n->confirmed > n->reachable_time) {
					n->nud_state = NUD_STALE;
					n->updated = now;
				}
				break;
			case NUD_DELAY:
				if (n->confirmed && now - n->confirmed <= n->reachable_time) {
					n->nud_state = NUD_REACHABLE;
				} else if (now - n->updated >= NEIGH_DELAY_PROBE_MS) {
					n->nud_state = NUD_PROBE;
					n->probes = 0;
					n->updated = now - retrans;
				}
				break;
			case NUD_INCOMPLETE:
			case NUD_PROBE: {
				bool unicast = n->nud_state == NUD_PROBE;
				uint64_t limit = (uint64_t)sysctl_read(unicast ? &sysctl_ucast_solicit
									       : &sysctl_mcast_solicit);

				if (now - n->updated < retrans)
					break;
				if (n->probes >= limit) {
					n->nud_state = NUD_FAILED;
					n->updated = now;
					skb_queue_splice_tail_init(&n->arp_queue, &failed);
					break;
				}
				n->probes++;
				n->updated = now;
				if (nprobes < NS_ARRAY_SIZE(probes)) {
					probes[nprobes].dev = n->dev;
					probes[nprobes].ip = n->ip;
					memcpy(probes[nprobes].ha, n->ha, ETH_ALEN);
					probes[nprobes].unicast = unicast;
					nprobes++;
				}
				break;
			}
			default:
				break;
			}
		}
	}
	neigh_gc(now, false);
	pthread_mutex_unlock(&neigh_lock);

	skb_queue_purge_reason(&failed, SKB_DROP_REASON_NEIGH_FAILED);
	for (unsigned int i = 0; i < nprobes && neigh_solicit; i++)
		neigh_solicit(probes[i].dev, probes[i].ip, probes[i].unicast ? probes[i].ha : NULL);
	mod_timer(t, now + NEIGH_PERIOD_MS);
}

static void neigh_start_on_worker(void *arg)
{
	(void)arg;
	neigh_timer.function = neigh_periodic;
	mod_timer(&neigh_timer, ns_jiffies() + NEIGH_PERIOD_MS);
}

void neigh_start(void)
{
	softnet_call(0, neigh_start_on_worker, NULL);
}

void neigh_cleanup(void)
{
	pthread_mutex_lock(&neigh_lock);
	for (unsigned int h = 0; h < NEIGH_HASH_SIZE; h++) {
		struct neighbour *n, *next;

		for (n = neigh_hash[h]; n; n = next) {
			next = n->next;
			neigh_free(n, SKB_DROP_REASON_SHUTDOWN);
		}
		neigh_hash[h] = NULL;
	}
	neigh_entries = 0;
	pthread_mutex_unlock(&neigh_lock);
}

unsigned int neigh_count(void)
{
	unsigned int n;

	pthread_mutex_lock(&neigh_lock);
	n = neigh_entries;
	pthread_mutex_unlock(&neigh_lock);
	return n;
}

unsigned int neigh_dump(struct neigh_info *out, unsigned int max)
{
	uint64_t now = ns_jiffies();
	unsigned int k = 0;

	pthread_mutex_lock(&neigh_lock);
	for (unsigned int h = 0; h < NEIGH_HASH_SIZE && k < max; h++) {
		for (struct neighbour *n = neigh_hash[h]; n && k < max; n = n->next) {
			struct neigh_info *ni = &out[k++];

			memset(ni, 0, sizeof(*ni));
			ni->ip = n->ip;
			ni->ifindex = n->dev->ifindex;
			ni->has_lladdr = n->nud_state & (NUD_REACHABLE | NUD_STALE | NUD_DELAY |
							 NUD_PROBE | NUD_PERMANENT);
			memcpy(ni->lladdr, n->ha, ETH_ALEN);
			ni->nud_state = n->nud_state;
			ni->probes = n->probes;
			ni->confirmed_ms_ago = n->confirmed ? now - n->confirmed : 0;
			ni->used_ms_ago = now - n->used;
			ni->queue_len = skb_queue_len(&n->arp_queue);
		}
	}
	pthread_mutex_unlock(&neigh_lock);
	return k;
}
