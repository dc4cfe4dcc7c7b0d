/*
 * The hook chains: nf_hook_slow (the kernel's nf_hook_slow and
 * ipt_do_table in one), the REJECT target (nf_send_unreach,
 * nf_send_reset of net/ipv4/netfilter/nf_reject_ipv4.c) and chain edits.
 *
 * Context: nf_hook_slow on workers (any thread that sends); edits on the
 * control thread only, serialised by nf_lock.  A chain is an immutable
 * array of rule pointers: an edit builds a new array, publishes it with a
 * release store and frees the old array (and a deleted rule) after
 * synchronize_net(), so a worker that loaded the old pointer finishes its
 * packet with it.  Rules are shared between successive arrays, which keeps
 * their counters across edits.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/checksum.h"
#include "core/skb.h"
#include "net/ipv4/icmp.h"
#include "net/ipv4/ip.h"
#include "net/ipv4/tcp.h"
#include "net/netfilter/netfilter.h"
#include "net/wire/icmp.h"
#include "net/wire/ip.h"
#include "net/wire/tcp.h"

_Atomic(struct nf_chain *) nf_hooks[NF_INET_NUMHOOKS];

static pthread_mutex_t nf_lock = PTHREAD_MUTEX_INITIALIZER;
/* Memory whose grace period could not be waited for; freed at nf_exit. */
static void **nf_retired;
static size_t nf_nretired;

/*
 * nf_send_reset: answer a TCP segment with a RST as iptables' REJECT
 * --reject-with tcp-reset does (RFC 9293 §3.10.7.1 rules: seq = its ACK
 * if it had one, else seq 0 and ACK = the end of its sequence space).
 * Never for a RST, a non-first fragment or a truncated header.
 */
static void nf_send_reset(const struct sk_buff *skb)
{
	const struct iphdr *iph = (const struct iphdr *)skb_network_header(skb);
	const struct tcphdr_ns *th;
	uint32_t avail, ihl, thl, seglen;

	avail = (uint32_t)(skb_tail_pointer(skb) - (const unsigned char *)iph);
	ihl = iph_ihl(iph) * 4u;
	if (iph->frag_off & htons(IP_OFFSET) || avail < ihl + sizeof(*th))
		return;
	th = (const struct tcphdr_ns *)((const unsigned char *)iph + ihl);
	thl = tcp_hdrlen_of(th);
	if (thl < sizeof(*th) || ntohs(iph->tot_len) < ihl + thl)
		return;
	seglen = ntohs(iph->tot_len) - ihl - thl;
	seglen += !!(th->flags & TCPHDR_SYN) + !!(th->flags & TCPHDR_FIN);
	(void)tcp_v4_build_reset(skb, iph, th, ntohl(th->seq) + seglen);
}

static void nf_reject(const struct nf_rule *r, struct sk_buff *skb)
{
	if (r->reject_with == NF_REJECT_TCP_RESET)
		nf_send_reset(skb);
	else
		icmp_send(skb, ICMP_DEST_UNREACH, r->reject_with, 0);
}

int nf_hook_slow(const struct nf_chain *chain, unsigned int hook, struct sk_buff *skb,
		 const struct net_device *in, const struct net_device *out)
{
	int cpu = smp_processor_id();

	(void)hook;
	for (unsigned int i = 0; i < chain->n; i++) {
		struct nf_rule *r = chain->rules[i];

		if (!nf_rule_match(r, skb, in, out))
			continue;
		if (ns_likely(cpu >= 0)) {
			ns_counter_inc(&r->pcpu[cpu].packets);
			ns_counter_add(&r->pcpu[cpu].bytes, skb->len);
		} else {
			ns_counter_add_shared(&r->pcpu[NS_MAX_WORKERS].packets, 1);
			ns_counter_add_shared(&r->pcpu[NS_MAX_WORKERS].bytes, skb->len);
		}
		switch (r->target) {
		case NF_TARGET_COUNT:
			continue;
		case NF_TARGET_ACCEPT:
			return 1;
		case NF_TARGET_REJECT:
			nf_reject(r, skb);
			/* fall through */
		default:
			kfree_skb_reason(skb, SKB_DROP_REASON_NETFILTER_DROP);
			return -EPERM;
		}
	}
	return 1;
}

/* ---- edits (control thread) ------------------------------------------------ */

static struct nf_chain *nf_chain_alloc(unsigned int n)
{
	struct nf_chain *c = malloc(sizeof(*c) + sizeof(struct nf_rule *) * (n ? n : 1));

	if (c)
		c->n = n;
	return c;
}

/* Free @p after the grace period, or keep it for nf_exit if none could be had. */
static void nf_free_after_grace(void *p[], size_t n, bool synced)
{
	for (size_t i = 0; i < n; i++) {
		void **grown;

		if (!p[i])
			continue;
		if (synced) {
			free(p[i]);
			continue;
		}
		grown = realloc(nf_retired, (nf_nretired + 1) * sizeof(*grown));
		if (!grown)
			continue;       /* leak rather than free under a reader */
		nf_retired = grown;
		nf_retired[nf_nretired++] = p[i];
	}
}

/* Publish @nc (NULL: empty) on @hook and free @old and @dead after a grace period. */
static void nf_replace(unsigned int hook, struct nf_chain *old, struct nf_chain *nc,
		       struct nf_rule *dead)
{
	void *p[2] = { old, dead };

	atomic_store_explicit(&nf_hooks[hook], nc, memory_order_release);
	if (old || dead)
		nf_free_after_grace(p, 2, synchronize_net());
}

int nf_register_rule(unsigned int hook, unsigned int pos, const struct nf_rule *r)
{
	struct nf_chain *old, *nc;
	struct nf_rule *copy;
	unsigned int n;

	if (hook >= NF_INET_NUMHOOKS)
		return -EINVAL;
	pthread_mutex_lock(&nf_lock);
	old = atomic_load_explicit(&nf_hooks[hook], memory_order_relaxed);
	n = old ? old->n : 0;
	if (pos > n + 1) {
		pthread_mutex_unlock(&nf_lock);
		return -EINVAL;
	}
	if (n >= NF_MAX_RULES) {
		pthread_mutex_unlock(&nf_lock);
		return -ENOSPC;
	}
	if (pos == 0)
		pos = n + 1;
	copy = malloc(sizeof(*copy));
	nc = nf_chain_alloc(n + 1);
	if (!copy || !nc) {
		pthread_mutex_unlock(&nf_lock);
		free(copy);
		free(nc);
		return -ENOMEM;
	}
	memcpy(copy, r, sizeof(*copy));
	memset(copy->pcpu, 0, sizeof(copy->pcpu));
	for (unsigned int i = 0, j = 0; i < n + 1; i++)
		nc->rules[i] = i == pos - 1 ? copy : old->rules[j++];
	nf_replace(hook, old, nc, NULL);
	pthread_mutex_unlock(&nf_lock);
	return 0;
}

int nf_unregister_rule(unsigned int hook, unsigned int pos)
{
	struct nf_chain *old, *nc = NULL;
	struct nf_rule *dead;

	if (hook >= NF_INET_NUMHOOKS)
		return -EINVAL;
	pthread_mutex_lock(&nf_lock);
	old = atomic_load_explicit(&nf_hooks[hook], memory_order_relaxed);
	if (!old || pos < 1 || pos > old->n) {
		pthread_mutex_unlock(&nf_lock);
		return -ENOENT;
	}
	dead = old->rules[pos - 1];
	if (old->n > 1) {
		nc = nf_chain_alloc(old->n - 1);
		if (!nc) {
			pthread_mutex_unlock(&nf_lock);
			return -ENOMEM;
		}
		for (unsigned int i = 0, j = 0; i < old->n; i++)
			if (i != pos - 1)
				nc->rules[j++] = old->rules[i];
	}
	/* The last rule gone: the hook is empty again (NULL, the fast path). */
	nf_replace(hook, old, nc, dead);
	pthread_mutex_unlock(&nf_lock);
	return 0;
}

void nf_flush(unsigned int hook)
{
	unsigned int first = hook < NF_INET_NUMHOOKS ? hook : 0;
	unsigned int last = hook < NF_INET_NUMHOOKS ? hook : NF_INET_NUMHOOKS - 1;

	pthread_mutex_lock(&nf_lock);
	for (unsigned int h = first; h <= last; h++) {
		struct nf_chain *old = atomic_load_explicit(&nf_hooks[h], memory_order_relaxed);
		bool synced;

		if (!old)
			continue;
		atomic_store_explicit(&nf_hooks[h], NULL, memory_order_release);
		synced = synchronize_net();
		nf_free_after_grace((void **)old->rules, old->n, synced);
		nf_free_after_grace((void **)&old, 1, synced);
	}
	pthread_mutex_unlock(&nf_lock);
}

void nf_chain_walk(unsigned int hook,
		   void (*fn)(unsigned int hook, unsigned int pos, const struct nf_rule *r,
			      void *arg),
		   void *arg)
{
	const struct nf_chain *c;

	if (hook >= NF_INET_NUMHOOKS)
		return;
	pthread_mutex_lock(&nf_lock);
	c = atomic_load_explicit(&nf_hooks[hook], memory_order_relaxed);
	for (unsigned int i = 0; c && i < c->n; i++)
		fn(hook, i + 1, c->rules[i], arg);
	pthread_mutex_unlock(&nf_lock);
}

void nf_exit(void)
{
	nf_flush(NF_INET_NUMHOOKS);
	pthread_mutex_lock(&nf_lock);
	for (size_t i = 0; i < nf_nretired; i++)
		free(nf_retired[i]);
	free(nf_retired);
	nf_retired = NULL;
	nf_nretired = 0;
	pthread_mutex_unlock(&nf_lock);
}
