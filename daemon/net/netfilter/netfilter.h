/*
 * Hooks at the five netfilter points of the IPv4 path (the kernel's
 * NF_HOOK and a small ip_tables): PRE_ROUTING in ip_rcv, LOCAL_IN in
 * ip_local_deliver, FORWARD in ip_forward, LOCAL_OUT in __ip_local_out,
 * POST_ROUTING in ip_output.  Each point has an ordered chain of rules;
 * the first rule whose match holds and whose target is a verdict (ACCEPT,
 * DROP, REJECT) decides, COUNT rules only count and go on, and a packet
 * that reaches the end of the chain is accepted (every chain's policy is
 * ACCEPT).
 *
 * Context: nf_hook() runs on workers (and on the control thread when it
 * sends, as for gratuitous ARP, and in unit tests).  With an empty chain
 * it costs one acquire load and one predictable branch.  Chains are
 * immutable arrays of rule pointers, published with a release store by
 * the control thread; a replaced array (and a deleted rule) is freed after
 * every worker passed a quiescent point (synchronize_net).  Rule counters
 * are per worker, one writer each.
 */
#ifndef NS_NET_NETFILTER_NETFILTER_H
#define NS_NET_NETFILTER_NETFILTER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/counter.h"
#include "core/debug.h"
#include "core/netdev.h"
#include "core/softnet.h"
#include "core/trace.h"

struct sk_buff;

enum nf_inet_hooks {
	NF_INET_PRE_ROUTING,
	NF_INET_LOCAL_IN,
	NF_INET_FORWARD,
	NF_INET_LOCAL_OUT,
	NF_INET_POST_ROUTING,
	NF_INET_NUMHOOKS
};

enum nf_target {
	NF_TARGET_COUNT,            /* count and continue (a rule without -j) */
	NF_TARGET_ACCEPT,
	NF_TARGET_DROP,
	NF_TARGET_REJECT,
};

/* --reject-with: an ICMP destination unreachable code, or a TCP reset. */
#define NF_REJECT_TCP_RESET 0xffu

#define NF_MAX_RULES 1024           /* per chain */

struct nf_rule_counter {
	ns_counter_t packets;
	ns_counter_t bytes;
};

/*
 * One rule: every given selector must hold (an empty name, a zero
 * protocol, a /0 prefix, the full port range and a zero flag mask match
 * anything).  Addresses and masks are in network order, ports in host
 * order.  Port and flag selectors need a protocol (tcp or udp; flags tcp)
 * and never match a non-first fragment.  An interface name ending in '+'
 * matches every name with that prefix, as in iptables.
 */
struct nf_rule {
	char iif[IFNAMSIZ];
	char oif[IFNAMSIZ];
	uint8_t protocol;           /* IPPROTO_*, 0: any */
	uint8_t src_len, dst_len;
	uint32_t src, src_mask;
	uint32_t dst, dst_mask;
	uint16_t sport_min, sport_max;
	uint16_t dport_min, dport_max;
	uint8_t tcp_flg_mask;       /* TCPHDR_* bits examined */
	uint8_t tcp_flg_cmp;        /* ... and the value they must have */
	uint8_t target;             /* enum nf_target */
	uint8_t reject_with;        /* ICMP_*_UNREACH code or NF_REJECT_TCP_RESET */
	/* Per worker, [NS_MAX_WORKERS] for other threads (shared adds). */
	struct nf_rule_counter pcpu[NS_MAX_WORKERS + 1];
};

/* A published chain: immutable once stored in nf_hooks[]. */
struct nf_chain {
	unsigned int n;
	struct nf_rule *rules[];
};

extern _Atomic(struct nf_chain *) nf_hooks[NF_INET_NUMHOOKS];

/*
 * Run @skb (skb->data and the network header at its IPv4 header) through
 * the chain of @hook, @in / @out being the devices (NULL where the point
 * has none).  Returns 1 if the caller should go on, or -EPERM when a rule
 * dropped or rejected it: @skb is then freed with NETFILTER_DROP.
 */
int nf_hook_slow(const struct nf_chain *chain, unsigned int hook, struct sk_buff *skb,
		 const struct net_device *in, const struct net_device *out);

/* The kernel's nf_hook(): one load and one branch while the chain is empty. */
static inline int nf_hook(unsigned int hook, struct sk_buff *skb, const struct net_device *in,
			  const struct net_device *out)
{
	static const uint8_t trace_stage[NF_INET_NUMHOOKS] = {
		NS_TRACE_PRE_ROUTING, NS_TRACE_LOCAL_IN, NS_TRACE_FORWARD,
		NS_TRACE_LOCAL_OUT, NS_TRACE_POST_ROUTING,
	};
	const struct nf_chain *chain = atomic_load_explicit(&nf_hooks[hook], memory_order_acquire);

	/* aux: the rules in the chain (0: the hook point passes at once). */
	skb_trace(skb, trace_stage[hook], chain ? chain->n : 0);
	if (ns_likely(chain == NULL))
		return 1;
	return nf_hook_slow(chain, hook, skb, in, out);
}

/* "input", "INPUT", "local_in", ... -> NF_INET_*, or -1. */
int nf_hook_by_name(const char *name);
/* The iptables chain name of @hook ("INPUT") and the kernel's ("LOCAL_IN"). */
const char *nf_hook_chain_name(unsigned int hook);
const char *nf_hook_kernel_name(unsigned int hook);

/*
 * Parse iptables-style words into @r (counters zeroed):
 *   [-i IF] [-o IF] [-p tcp|udp|icmp|all|N] [-s A.B.C.D[/N]] [-d A.B.C.D[/N]]
 *   [--sport P[:P]] [--dport P[:P]] [--tcp-flags MASK COMP | --syn]
 *   [-j ACCEPT|DROP|REJECT|COUNT] [--reject-with TYPE]
 * and check them against @hook (-i has no meaning on output hooks, -o
 * none on input hooks; REJECT only in INPUT, FORWARD and OUTPUT, as
 * iptables allows).  0, or -EINVAL with a one-line reason in @err.
 */
int nf_rule_parse(unsigned int hook, int argc, char *const *argv, struct nf_rule *r,
		  char *err, size_t errlen);

/* The rule as the words nf_rule_parse takes ("-p tcp --dport 80 -j DROP"). */
void nf_rule_format(const struct nf_rule *r, char *buf, size_t len);

/*
 * Does @r match the IPv4 packet at skb's network header?  A header too
 * short for a selector that needs it does not match.  Pure; any thread.
 */
bool nf_rule_match(const struct nf_rule *r, const struct sk_buff *skb,
		   const struct net_device *in, const struct net_device *out);

/* Sum of a rule's per-worker counters. */
void nf_rule_counters(const struct nf_rule *r, uint64_t *packets, uint64_t *bytes);

/*
 * Insert a copy of @r into @hook's chain at 1-based @pos (0: append, as
 * iptables -A; N: before the current rule N, as -I).  Returns 0, -EINVAL
 * (position past the end + 1), -ENOSPC (NF_MAX_RULES) or -ENOMEM.
 * Control thread; waits for the workers' grace period.
 */
int nf_register_rule(unsigned int hook, unsigned int pos, const struct nf_rule *r);

/* Delete rule @pos (1-based) of @hook.  0 or -ENOENT.  As above. */
int nf_unregister_rule(unsigned int hook, unsigned int pos);

/* Delete every rule of @hook (all hooks with NF_INET_NUMHOOKS). */
void nf_flush(unsigned int hook);

/*
 * Call @fn for every rule of @hook, in order, with its 1-based position.
 * Control thread (it alone changes chains, so the rules stay valid).
 */
void nf_chain_walk(unsigned int hook,
		   void (*fn)(unsigned int hook, unsigned int pos, const struct nf_rule *r,
			      void *arg),
		   void *arg);

/* Free every chain (shutdown, tests). */
void nf_exit(void);

#endif
