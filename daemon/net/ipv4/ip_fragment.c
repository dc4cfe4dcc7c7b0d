/*
 * IPv4 fragmentation and reassembly: ip_fragment / ip_do_fragment on
 * output (the kernel's ip_output.c) and ip_defrag on local delivery (the
 * kernel's net/ipv4/ip_fragment.c and inet_fragment.c).
 *
 * Reassembly.  Each worker owns a table of incomplete datagrams (struct
 * ipq) keyed by (saddr, daddr, id, protocol), so no lock is taken: RPS
 * hashes a fragment by its addresses and protocol only (skb_get_hash reads
 * no ports from any fragment, as the kernel's flow dissector), and the
 * kernel's tun picks a TAP queue the same way, so every fragment of one
 * datagram reaches the same worker.  Fragments are kept in a list sorted
 * by offset with no overlap; a fragment inside data already held is a
 * duplicate and ignored, one that overlaps it discards the whole datagram
 * (RFC 5722, as Linux does for IPv4 too).  A complete datagram is copied
 * into one linear skb (the largest size class holds 64 KiB).
 *
 * Bounds.  A queue lives at most net.ipv4.ipfrag_time seconds (a timer on
 * its worker's wheel; on expiry an ICMP time exceeded, code 1, goes back
 * if the first fragment had arrived, RFC 792).  The memory held by all
 * queues (skb truesize plus the queue header, summed over workers) stays
 * at or below net.ipv4.ipfrag_high_thresh: a fragment that would pass it
 * first makes its worker evict its least recently fed queues down to
 * ipfrag_low_thresh, and is refused if that is not enough.  (Since Linux
 * 4.17 the kernel only refuses and waits for timeouts; evicting as older
 * kernels did keeps a flood of never-completed fragments from blocking
 * real datagrams for ipfrag_time.)  No datagram grows past 65535 bytes.
 *
 * Context: workers; the table of threads that are not workers (tests,
 * the fuzzer) is the extra slot, with a timer base of its own.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "core/checksum.h"
#include "core/clock.h"
#include "core/netdev.h"
#include "core/skb.h"
#include "core/softnet.h"
#include "core/sysctl.h"
#include "core/timer.h"
#include "net/ipv4/icmp.h"
#include "net/ipv4/ip.h"
#include "net/ipv4/snmp.h"
#include "net/wire/icmp.h"
#include "net/wire/ip.h"

static _Atomic int64_t sysctl_ipfrag_time = 30;
static _Atomic int64_t sysctl_ipfrag_high_thresh = 4 << 20;
static _Atomic int64_t sysctl_ipfrag_low_thresh = 3 << 20;

static const struct ctl_table ipfrag_table[] = {
	{ "net.ipv4.ipfrag_time", &sysctl_ipfrag_time, 1, 86400, 30,
	  "seconds an incomplete datagram waits for its fragments" },
	{ "net.ipv4.ipfrag_high_thresh", &sysctl_ipfrag_high_thresh, 0, 1ll << 31, 4 << 20,
	  "bytes all reassembly queues may hold (0: refuse every fragment)" },
	{ "net.ipv4.ipfrag_low_thresh", &sysctl_ipfrag_low_thresh, 0, 1ll << 31, 3 << 20,
	  "bytes eviction brings reassembly memory down to once high_thresh is hit" },
	{ NULL, NULL, 0, 0, 0, NULL },
};

/* A queued fragment's place in its datagram (payload offsets), after IPCB. */
struct ipfrag_skb_cb {
	struct inet_skb_parm h;
	uint32_t offset;
	uint32_t end;
};

#define FRAG_CB(skb) ((struct ipfrag_skb_cb *)((skb)->cb))
_Static_assert(sizeof(struct ipfrag_skb_cb) <= sizeof(((struct sk_buff *)0)->cb),
	       "ipfrag cb too large");

#define IPQ_FIRST_IN 0x1
#define IPQ_LAST_IN 0x2

/*
 * One incomplete datagram.  Invariants: fragments is sorted by offset and
 * no two fragments overlap; meat is the sum of their lengths; len is the
 * datagram's payload length once IPQ_LAST_IN, else the highest end seen;
 * every fragment ends at or before len.  mem is what this queue adds to
 * ipfrag_mem.
 */
struct ipq {
	struct ipq *hnext;                  /* hash chain */
	struct ipq *lru_prev, *lru_next;    /* table LRU: least recently fed first */
	struct ipfrag_table *tbl;
	uint32_t saddr, daddr;
	uint16_t id;
	uint8_t protocol;
	uint8_t flags;                      /* IPQ_FIRST_IN | IPQ_LAST_IN */
	uint32_t len;
	uint32_t meat;
	uint32_t mem;
	uint16_t max_size;                  /* largest fragment, header included */
	uint16_t max_df_size;               /* ... of those with DF set */
	struct sk_buff *fragments, *fragments_tail;
	struct timer_list timer;
};

#define IPQ_HASH_SIZE 1024u

struct ipfrag_table {
	struct ipq *hash[IPQ_HASH_SIZE];
	struct ipq *lru_head, *lru_tail;
	struct ipq *free;                   /* recycled headers (hnext chain) */
	struct timer_base *timers;          /* set when the first queue is made */
};

static struct ipfrag_table ipfrag_tables[NS_MAX_WORKERS + 1];
static struct timer_base ipfrag_fallback_timers;
static _Atomic int64_t ipfrag_mem;
static _Atomic int64_t ipfrag_nqueues;
static uint32_t ipfrag_secret;

void ipfrag_init(void)
{
	if (getrandom(&ipfrag_secret, sizeof(ipfrag_secret), 0) != sizeof(ipfrag_secret))
		ipfrag_secret = 0x27d4eb2fu;
	timer_base_init(&ipfrag_fallback_timers, ns_jiffies());
	sysctl_register(ipfrag_table);
}

uint64_t ip_frag_mem(void)
{
	int64_t v = atomic_load_explicit(&ipfrag_mem, memory_order_relaxed);

	return v > 0 ? (uint64_t)v : 0;
}

uint64_t ip_frag_queues(void)
{
	int64_t v = atomic_load_explicit(&ipfrag_nqueues, memory_order_relaxed);

	return v > 0 ? (uint64_t)v : 0;
}

static struct ipfrag_table *ipfrag_this_table(void)
{
	struct softnet_data *sd = this_softnet();
	struct ipfrag_table *t;

	if (!sd) {
		t = &ipfrag_tables[NS_MAX_WORKERS];
		t->timers = &ipfrag_fallback_timers;
		return t;
	}
	t = &ipfrag_tables[sd->cpu];
	t->timers = &sd->timers;
	return t;
}

/* What an skb costs: its data buffer (size class) and its header. */
static uint32_t skb_truesize(const struct sk_buff *skb)
{
	return skb->end + (uint32_t)sizeof(struct skb_shared_info) + (uint32_t)sizeof(*skb);
}

static void ipfrag_mem_add(int64_t n)
{
	atomic_fetch_add_explicit(&ipfrag_mem, n, memory_order_relaxed);
}

static unsigned int ipqhashfn(uint32_t saddr, uint32_t daddr, uint16_t id, uint8_t prot)
{
	uint32_t h = ipfrag_secret ^ saddr;

	h = (h ^ (h >> 16)) * 0x85ebca6bu ^ daddr;
	h = (h ^ (h >> 13)) * 0xc2b2ae35u ^ ((uint32_t)id << 8 | prot);
	h = (h ^ (h >> 16)) * 0x85ebca6bu;
	h ^= h >> 13;
	return h & (IPQ_HASH_SIZE - 1);
}

static void ipq_lru_unlink(struct ipfrag_table *t, struct ipq *qp)
{
	if (qp->lru_prev)
		qp->lru_prev->lru_next = qp->lru_next;
	else
		t->lru_head = qp->lru_next;
	if (qp->lru_next)
		qp->lru_next->lru_prev = qp->lru_prev;
	else
		t->lru_tail = qp->lru_prev;
	qp->lru_prev = qp->lru_next = NULL;
}

static void ipq_lru_add_tail(struct ipfrag_table *t, struct ipq *qp)
{
	qp->lru_next = NULL;
	qp->lru_prev = t->lru_tail;
	if (t->lru_tail)
		t->lru_tail->lru_next = qp;
	else
		t->lru_head = qp;
	t->lru_tail = qp;
}

/*
 * ipq_kill: take @qp out of its table, stop its timer and free its
 * fragments with @reason (SKB_DROP_REASON_CONSUMED when reassembled).
 */
static void ipq_kill(struct ipq *qp, enum skb_drop_reason reason)
{
	struct ipfrag_table *t = qp->tbl;
	struct ipq **pp = &t->hash[ipqhashfn(qp->saddr, qp->daddr, qp->id, qp->protocol)];
	struct sk_buff *skb;

	for (; *pp; pp = &(*pp)->hnext)
		if (*pp == qp) {
			*pp = qp->hnext;
			break;
		}
	ipq_lru_unlink(t, qp);
	del_timer_on(t->timers, &qp->timer);
	while ((skb = qp->fragments) != NULL) {
		qp->fragments = skb->next;
		skb->next = NULL;
		kfree_skb_reason(skb, reason);
	}
	ipfrag_mem_add(-(int64_t)qp->mem);
	atomic_fetch_sub_explicit(&ipfrag_nqueues, 1, memory_order_relaxed);
	qp->hnext = t->free;
	t->free = qp;
}

/* ip_expire: the datagram did not complete within ipfrag_time. */
static void ip_expire(struct timer_list *tl)
{
	struct ipq *qp = (struct ipq *)((char *)tl - offsetof(struct ipq, timer));
	struct sk_buff *head = qp->fragments;

	__IP_INC_STATS(REASMFAILS);
	__IP_INC_STATS(REASMTIMEOUT);
	/*
	 * RFC 792: tell the source, but only if fragment zero arrived (it
	 * carries what the source needs to identify the datagram).  icmp_send
	 * checks that it was addressed to us and applies the rate limit.
	 */
	if ((qp->flags & IPQ_FIRST_IN) && head && FRAG_CB(head)->offset == 0)
		icmp_send(head, ICMP_TIME_EXCEEDED, ICMP_EXC_FRAGTIME, 0);
	ipq_kill(qp, SKB_DROP_REASON_FRAG_REASM_TIMEOUT);
}

/*
 * ip_evictor: free this worker's least recently fed queues until the
 * memory of all queues is at most @target.  Returns how many went.
 */
static unsigned int ip_evictor(struct ipfrag_table *t, int64_t target)
{
	unsigned int n = 0;

	while (t->lru_head && atomic_load_explicit(&ipfrag_mem, memory_order_relaxed) > target) {
		__IP_INC_STATS(REASMFAILS);
		ipq_kill(t->lru_head, SKB_DROP_REASON_FRAG_EVICTED);
		n++;
	}
	return n;
}

/* Find the queue of @iph's datagram, or make one.  NULL if out of memory. */
static struct ipq *ip_find(struct ipfrag_table *t, const struct iphdr *iph)
{
	unsigned int h = ipqhashfn(iph->saddr, iph->daddr, iph->id, iph->protocol);
	struct ipq *qp;

	for (qp = t->hash[h]; qp; qp = qp->hnext)
		if (qp->saddr == iph->saddr && qp->daddr == iph->daddr && qp->id == iph->id &&
		    qp->protocol == iph->protocol)
			return qp;
	qp = t->free;
	if (qp)
		t->free = qp->hnext;
	else
		qp = malloc(sizeof(*qp));
	if (!qp)
		return NULL;
	memset(qp, 0, sizeof(*qp));
	qp->tbl = t;
	qp->saddr = iph->saddr;
	qp->daddr = iph->daddr;
	qp->id = iph->id;
	qp->protocol = iph->protocol;
	qp->mem = (uint32_t)sizeof(*qp);
	ipfrag_mem_add(qp->mem);
	atomic_fetch_add_explicit(&ipfrag_nqueues, 1, memory_order_relaxed);
	timer_setup(&qp->timer, ip_expire);
	mod_timer_on(t->timers, &qp->timer,
		     ns_jiffies() + (uint64_t)sysctl_read(&sysctl_ipfrag_time) * NS_HZ);
	qp->hnext = t->hash[h];
	t->hash[h] = qp;
	ipq_lru_add_tail(t, qp);
	return qp;
}

enum { IPFRAG_OK, IPFRAG_DUP, IPFRAG_OVERLAP };

/*
 * Put @skb (payload [offset, end)) into @qp's sorted list.  A fragment
 * lying inside a run of contiguous data already held is a duplicate;
 * anything else that touches held data overlaps (RFC 5722).
 */
static int ipq_insert(struct ipq *qp, struct sk_buff *skb, uint32_t offset, uint32_t end)
{
	struct sk_buff *prev = NULL, *f;

	FRAG_CB(skb)->offset = offset;
	FRAG_CB(skb)->end = end;
	/* The common case, in order: after the last fragment. */
	if (qp->fragments_tail && FRAG_CB(qp->fragments_tail)->end <= offset) {
		prev = qp->fragments_tail;
		f = NULL;
	} else {
		for (f = qp->fragments; f; prev = f, f = f->next) {
			struct sk_buff *g;
			uint32_t run_end;

			if (FRAG_CB(f)->end <= offset)
				continue;
			if (end <= FRAG_CB(f)->offset)
				break;          /* fits the hole before f */
			if (offset < FRAG_CB(f)->offset)
				return IPFRAG_OVERLAP;
			run_end = FRAG_CB(f)->end;
			for (g = f->next; g && FRAG_CB(g)->offset == run_end; g = g->next)
				run_end = FRAG_CB(g)->end;
			return end <= run_end ? IPFRAG_DUP : IPFRAG_OVERLAP;
		}
	}
	skb->next = f;
	if (prev)
		prev->next = skb;
	else
		qp->fragments = skb;
	if (!f)
		qp->fragments_tail = skb;
	return IPFRAG_OK;
}

/*
 * ip_frag_reasm: @qp is complete; copy it into one linear skb with the
 * first fragment's header (options included).  0 with *@pskb the datagram,
 * or -errno with the queue killed.
 */
static int ip_frag_reasm(struct ipq *qp, struct sk_buff **pskb)
{
	struct sk_buff *head = qp->fragments, *nskb, *f;
	const uint8_t *hiph = skb_network_header(head);
	unsigned int ihl = (hiph[0] & 0x0f) * 4u;
	uint32_t len = ihl + qp->len;
	struct iphdr *iph;

	if (len > IP_MAXPACKET) {
		__IP_INC_STATS(REASMFAILS);
		ipq_kill(qp, SKB_DROP_REASON_IP_FRAG);
		return -E2BIG;
	}
	nskb = alloc_skb(NET_SKB_PAD + len);
	if (!nskb) {
		__IP_INC_STATS(REASMFAILS);
		ipq_kill(qp, SKB_DROP_REASON_NOMEM);
		return -ENOMEM;
	}
	skb_reserve(nskb, NET_SKB_PAD);
	skb_put_data(nskb, hiph, ihl);
	for (f = head; f; f = f->next)
		skb_put_data(nskb, f->data, f->len);
	nskb->dev = head->dev;
	nskb->protocol = head->protocol;
	nskb->pkt_type = head->pkt_type;
	nskb->queue_mapping = head->queue_mapping;
	nskb->tstamp_us = head->tstamp_us;
	nskb->ip_summed = CHECKSUM_NONE;
	memcpy(nskb->cb, head->cb, sizeof(struct inet_skb_parm));
	skb_reset_network_header(nskb);

	iph = (struct iphdr *)nskb->data;
	iph->tot_len = htons((uint16_t)len);
	/* All fragments had DF: so has the whole (the kernel's IPSKB_FRAG_PMTU). */
	iph->frag_off = qp->max_df_size == qp->max_size ? htons(IP_DF) : 0;
	iph->check = 0;
	iph->check = ip_fast_csum(iph, ihl / 4);
	IPCB(nskb)->flags |= IPSKB_FRAG_COMPLETE;
	IPCB(nskb)->frag_max_size = qp->max_df_size > qp->max_size ? qp->max_df_size
								   : qp->max_size;
	__IP_INC_STATS(REASMOKS);
	ipq_kill(qp, SKB_DROP_REASON_CONSUMED);
	*pskb = nskb;
	return 0;
}

/* ip_frag_queue: add @skb to @qp (the kernel's ip_frag_queue). */
static int ip_frag_queue(struct ipq *qp, struct sk_buff *skb, struct sk_buff **pskb)
{
	const struct iphdr *iph = (const struct iphdr *)skb_network_header(skb);
	enum skb_drop_reason reason = SKB_DROP_REASON_IP_FRAG;
	unsigned int ihl = iph_ihl(iph) * 4u;
	uint16_t frag_off = ntohs(iph->frag_off);
	uint32_t offset = (uint32_t)(frag_off & IP_OFFSET) << 3;
	uint32_t end, truesize;
	uint16_t fragsize;
	int err = -EINVAL;

	/* ip_rcv trimmed the skb to tot_len; data is at the IP header. */
	if (skb->len <= ihl)
		goto discard_qp;
	end = offset + skb->len - ihl;
	if (ihl + end > IP_MAXPACKET)
		goto discard_qp;
	if (!(frag_off & IP_MF)) {
		/* The last fragment: nothing may lie beyond it, and only one end. */
		if (end < qp->len || ((qp->flags & IPQ_LAST_IN) && end != qp->len))
			goto discard_qp;
		qp->flags |= IPQ_LAST_IN;
		qp->len = end;
	} else {
		/* RFC 791: all but the last carry a multiple of 8 bytes. */
		end &= ~7u;
		if (end > qp->len) {
			if (qp->flags & IPQ_LAST_IN)
				goto discard_qp;
			qp->len = end;
		}
	}
	if (end == offset)
		goto discard_qp;

	fragsize = (uint16_t)skb->len;
	truesize = skb_truesize(skb);
	skb_pull(skb, ihl);
	skb_trim(skb, end - offset);
	switch (ipq_insert(qp, skb, offset, end)) {
	case IPFRAG_DUP:
		/* Ignored: the datagram may still complete. */
		kfree_skb_reason(skb, SKB_DROP_REASON_DUP_FRAG);
		return -EINVAL;
	case IPFRAG_OVERLAP:
		__IP_INC_STATS(REASMOVERLAPS);
		reason = SKB_DROP_REASON_FRAG_OVERLAP;
		goto discard_qp;
	}
	qp->meat += skb->len;
	qp->mem += truesize;
	ipfrag_mem_add(truesize);
	if (offset == 0)
		qp->flags |= IPQ_FIRST_IN;
	if (fragsize > qp->max_size)
		qp->max_size = fragsize;
	if ((frag_off & IP_DF) && fragsize > qp->max_df_size)
		qp->max_df_size = fragsize;
	ipq_lru_unlink(qp->tbl, qp);
	ipq_lru_add_tail(qp->tbl, qp);

	if (qp->flags == (IPQ_FIRST_IN | IPQ_LAST_IN) && qp->meat == qp->len)
		return ip_frag_reasm(qp, pskb);
	return -EINPROGRESS;

discard_qp:
	ipq_kill(qp, reason);
	__IP_INC_STATS(REASMFAILS);
	kfree_skb_reason(skb, reason);
	return err;
}

int ip_defrag(struct sk_buff **pskb)
{
	struct ipfrag_table *t = ipfrag_this_table();
	struct sk_buff *skb = *pskb;
	int64_t high = sysctl_read(&sysctl_ipfrag_high_thresh);
	int64_t low = sysctl_read(&sysctl_ipfrag_low_thresh);
	int64_t need = skb_truesize(skb) + (int64_t)sizeof(struct ipq);
	struct ipq *qp;

	*pskb = NULL;
	__IP_INC_STATS(REASMREQDS);
	if (atomic_load_explicit(&ipfrag_mem, memory_order_relaxed) + need > high) {
		ip_evictor(t, (low < high ? low : high) - need);
		if (atomic_load_explicit(&ipfrag_mem, memory_order_relaxed) + need > high) {
			__IP_INC_STATS(REASMFAILS);
			kfree_skb_reason(skb, SKB_DROP_REASON_FRAG_MEM_LIMIT);
			return -ENOMEM;
		}
	}
	qp = ip_find(t, (const struct iphdr *)skb_network_header(skb));
	if (!qp) {
		__IP_INC_STATS(REASMFAILS);
		kfree_skb_reason(skb, SKB_DROP_REASON_NOMEM);
		return -ENOMEM;
	}
	return ip_frag_queue(qp, skb, pskb);
}

unsigned int ip_frag_run_timers(uint64_t now)
{
	return run_timers(&ipfrag_fallback_timers, now);
}

void ip_frag_flush(void)
{
	for (unsigned int i = 0; i <= NS_MAX_WORKERS; i++) {
		struct ipfrag_table *t = &ipfrag_tables[i];
		struct ipq *qp;

		while (t->lru_head)
			ipq_kill(t->lru_head, SKB_DROP_REASON_SHUTDOWN);
		while ((qp = t->free) != NULL) {
			t->free = qp->hnext;
			free(qp);
		}
	}
	timer_base_init(&ipfrag_fallback_timers, ns_jiffies());
}

/* ---- output ---------------------------------------------------------------- */

bool ip_exceeds_mtu(const struct sk_buff *skb, uint32_t mtu)
{
	const struct iphdr *iph = (const struct iphdr *)skb->data;

	if (skb->len <= mtu)
		return false;
	if (!(iph->frag_off & htons(IP_DF)))
		return false;
	return true;
}

/*
 * ip_do_fragment: cut @skb into fragments of at most @mtu bytes, each a
 * new linear skb with its own header, and hand them to @output in order
 * (the kernel's slow path; there is no frag list to reuse).
 */
static int ip_do_fragment(struct sk_buff *skb, struct net_device *dev, uint32_t mtu,
			  ip_output_fn output)
{
	const struct iphdr *iph = (const struct iphdr *)skb->data;
	unsigned int hlen = iph_ihl(iph) * 4u;
	uint8_t hdr[IP_MAX_HLEN];
	uint32_t left, ptr, offset, room;
	bool first = true, not_last_frag;
	int err;

	if (hlen < IP_MIN_HLEN || skb->len <= hlen || mtu < hlen + 8) {
		__IP_INC_STATS(FRAGFAILS);
		kfree_skb_reason(skb, SKB_DROP_REASON_PKT_TOO_BIG);
		return -EMSGSIZE;
	}
	room = (mtu - hlen) & ~7u;
	memcpy(hdr, iph, hlen);
	left = skb->len - hlen;
	ptr = hlen;
	/* A fragment being fragmented again keeps its place and its MF. */
	offset = (uint32_t)(ntohs(iph->frag_off) & IP_OFFSET) << 3;
	not_last_frag = (iph->frag_off & htons(IP_MF)) != 0;

	while (left > 0) {
		uint32_t len = left > room ? room : left;
		struct sk_buff *skb2 = alloc_skb(NS_MAX_HEADER + hlen + len);
		struct iphdr *iph2;

		if (!skb2) {
			__IP_INC_STATS(FRAGFAILS);
			kfree_skb_reason(skb, SKB_DROP_REASON_NOMEM);
			return -ENOBUFS;
		}
		skb_reserve(skb2, NS_MAX_HEADER);
		/* The first fragment carries every option, the others the copied ones. */
		skb_put_data(skb2, first ? (const uint8_t *)iph : hdr, hlen);
		skb_put_data(skb2, skb->data + ptr, len);
		skb2->dev = skb->dev;
		skb2->protocol = skb->protocol;
		skb2->pkt_type = skb->pkt_type;
		skb2->hash = skb->hash;
		skb2->l4_hash = skb->l4_hash;
		memcpy(skb2->cb, skb->cb, sizeof(struct inet_skb_parm));
		skb_reset_network_header(skb2);

		iph2 = (struct iphdr *)skb2->data;
		iph2->frag_off = htons((uint16_t)(offset >> 3));
		if (left > len || not_last_frag)
			iph2->frag_off |= htons(IP_MF);
		iph2->tot_len = htons((uint16_t)(hlen + len));
		iph2->check = 0;
		iph2->check = ip_fast_csum(iph2, hlen / 4);
		if (first && hlen > IP_MIN_HLEN)
			ip_options_fragment(hdr);
		first = false;
		left -= len;
		ptr += len;
		offset += len;

		__IP_INC_STATS(FRAGCREATES);
		err = output(skb2, dev);
		if (err) {
			/*
			 * The layer below counted the fragment it dropped; the
			 * rest of the datagram is not sent.
			 */
			__IP_INC_STATS(FRAGFAILS);
			consume_skb(skb);
			return err;
		}
	}
	__IP_INC_STATS(FRAGOKS);
	consume_skb(skb);
	return 0;
}

int ip_fragment(struct sk_buff *skb, struct net_device *dev, uint32_t mtu,
		ip_output_fn output)
{
	const struct iphdr *iph = (const struct iphdr *)skb->data;

	if (!(iph->frag_off & htons(IP_DF)))
		return ip_do_fragment(skb, dev, mtu, output);
	/*
	 * DF: the sender asked us not to.  icmp_send decides whether this
	 * packet deserves an answer (it does not for our own packets: the
	 * sender learns EMSGSIZE directly).
	 */
	__IP_INC_STATS(FRAGFAILS);
	icmp_send(skb, ICMP_DEST_UNREACH, ICMP_FRAG_NEEDED, mtu);
	kfree_skb_reason(skb, SKB_DROP_REASON_PKT_TOO_BIG);
	return -EMSGSIZE;
}
