/*
 * IPv4 forwarding: the part of ip_route_input for packets that are not
 * ours (ip_route_input_slow's forwarding decision and ip_error), then
 * ip_forward -> (FORWARD hook) -> ip_forward_finish -> ip_output.
 *
 * Context: workers (softirq), called from ip_route_input with the FIB
 * answer for the destination.  Every function consumes its skb and counts
 * each refusal both in the MIB, as the kernel does, and as a drop reason.
 * No lock: the FIB lookup was lock-free and the sysctls are relaxed loads.
 *
 * ICMP redirects are off by default (net.ipv4.conf.all.send_redirects =
 * 0, where Linux has 1): netstackd mostly routes between TAP networks
 * whose hosts have a single way out, a redirect would only be right on a
 * shared segment with a better router on it, and one is an easy lever for
 * hijacking traffic; turn it on for that case.
 */
#include <arpa/inet.h>
#include <errno.h>

#include "core/checksum.h"
#include "core/gro.h"
#include "core/netdev.h"
#include "core/skb.h"
#include "core/sysctl.h"
#include "core/trace.h"
#include "net/ipv4/devinet.h"
#include "net/ipv4/icmp.h"
#include "net/ipv4/ip.h"
#include "net/ipv4/route.h"
#include "net/ipv4/snmp.h"
#include "net/netfilter/netfilter.h"
#include "net/wire/icmp.h"
#include "net/wire/ip.h"

/* net.ipv4.ip_forward and its other name net.ipv4.conf.all.forwarding. */
_Atomic int64_t sysctl_ip_forward = 0;
static _Atomic int64_t sysctl_send_redirects = 0;

static const struct ctl_table ip_forward_table[] = {
	{ "net.ipv4.ip_forward", &sysctl_ip_forward, 0, 1, 0,
	  "1: forward packets not addressed to us (act as a router)" },
	{ "net.ipv4.conf.all.forwarding", &sysctl_ip_forward, 0, 1, 0,
	  "the same knob as net.ipv4.ip_forward" },
	{ "net.ipv4.conf.all.send_redirects", &sysctl_send_redirects, 0, 1, 0,
	  "1: send ICMP redirects when a packet leaves by the interface it came in on" },
	{ NULL, NULL, 0, 0, 0, NULL },
};

void ip_forward_init(void)
{
	sysctl_register(ip_forward_table);
}

/* Options of type LSRR (131) or SSRR (137): the sender chose the path. */
static bool ip_has_source_route(const struct iphdr *iph)
{
	const uint8_t *opt = (const uint8_t *)(iph + 1);
	unsigned int len = iph_ihl(iph) * 4u - IP_MIN_HLEN;

	while (len > 0) {
		uint8_t type = opt[0];
		unsigned int olen;

		if (type == 0)          /* end of options */
			return false;
		if (type == 1) {        /* no-op */
			opt++;
			len--;
			continue;
		}
		if (len < 2 || opt[1] < 2 || opt[1] > len)
			return false;   /* malformed: not ours to judge here */
		if (type == 131 || type == 137)
			return true;
		olen = opt[1];
		opt += olen;
		len -= olen;
	}
	return false;
}

static int ip_forward_finish(struct sk_buff *skb, const struct fib_result *res)
{
	__IP_INC_STATS(FORWDATAGRAMS);
	IPCB(skb)->nexthop = res->nexthop;
	IPCB(skb)->rt_type = RTN_UNICAST;
	return ip_output(skb, res->dev);
}

int ip_forward(struct sk_buff *skb, const struct fib_result *res)
{
	struct iphdr *iph = (struct iphdr *)skb_network_header(skb);
	struct net_device *in_dev = skb->dev;
	enum skb_drop_reason reason;

	skb_trace(skb, NS_TRACE_IP_FORWARD, 0);
	/* A unicast destination in a link-layer broadcast is nobody's to route. */
	if (skb->pkt_type != PACKET_HOST) {
		reason = SKB_DROP_REASON_IP_FWD_LINK_BCAST;
		goto drop;
	}
	/*
	 * Source routing is refused (the kernel's accept_source_route = 0):
	 * it lets a sender steer packets around filters.
	 */
	if (iph_ihl(iph) > 5 && ip_has_source_route(iph)) {
		reason = SKB_DROP_REASON_IP_FWD_SRR;
		goto drop;
	}
	/* RFC 1812 §5.3.1: a router never forwards a packet whose TTL runs out. */
	if (iph->ttl <= 1) {
		__IP_INC_STATS(INHDRERRORS);
		icmp_send(skb, ICMP_TIME_EXCEEDED, ICMP_EXC_TTL, 0);
		reason = SKB_DROP_REASON_IP_FWD_TTL;
		goto drop;
	}
	/* RFC 1191: DF and too big -> tell the sender the next hop's MTU. */
	if (skb->len > res->dev->mtu && (iph->frag_off & htons(IP_DF))) {
		__IP_INC_STATS(FRAGFAILS);
		icmp_send(skb, ICMP_DEST_UNREACH, ICMP_FRAG_NEEDED, res->dev->mtu);
		reason = SKB_DROP_REASON_IP_FWD_FRAG_NEEDED;
		goto drop;
	}
	/* We are about to write the header: a capture tap may share the buffer. */
	if (skb_cow_data(skb)) {
		__IP_INC_STATS(OUTDISCARDS);
		reason = SKB_DROP_REASON_NOMEM;
		goto drop;
	}
	iph = (struct iphdr *)skb_network_header(skb);
	ip_decrease_ttl(iph);
	/*
	 * Leaving by the interface it came in on, from a sender on that link:
	 * tell it about the better first hop (RFC 1812 §5.2.7.2), if allowed.
	 */
	if (res->dev == in_dev && sysctl_read(&sysctl_send_redirects) &&
	    inet_addr_onlink(in_dev, iph->saddr) && inet_addr_onlink(in_dev, res->nexthop))
		icmp_send(skb, ICMP_REDIRECT, ICMP_REDIR_HOST, ntohl(res->nexthop));
	if (nf_hook(NF_INET_FORWARD, skb, in_dev, res->dev) != 1)
		return -1;
	return ip_forward_finish(skb, res);

drop:
	kfree_skb_reason(skb, reason);
	return -1;
}

/*
 * A GRO packet in transit leaves as the wire packets it was made of.  The
 * kernel forwards the merged packet and splits it at the device
 * (skb_gso_segment in validate_xmit_skb); splitting it here, before
 * ip_forward, keeps the TTL and MTU checks, ICMP errors, the FORWARD hook
 * and ForwDatagrams per wire packet, exactly as with GRO off.
 */
static int ip_forward_gso(struct sk_buff *skb, const struct fib_result *res)
{
	struct sk_buff *segs = skb_gso_segment(skb), *next;

	if (!segs) {
		__IP_INC_STATS(INDISCARDS);
		kfree_skb_reason(skb, SKB_DROP_REASON_NOMEM);
		return -1;
	}
	consume_skb(skb);
	for (; segs; segs = next) {
		next = segs->next;
		segs->next = NULL;
		(void)ip_forward(segs, res);
	}
	return 0;
}

/*
 * A packet for an address that is not ours and no broadcast of ours:
 * forward it when net.ipv4.ip_forward is on and the FIB has a unicast
 * route, else count it and, for route errors, answer with ICMP as the
 * kernel's ip_error does.
 */
int ip_route_input_forward(struct sk_buff *skb, const struct fib_result *res, int err)
{
	enum skb_drop_reason reason;
	uint8_t code;

	if (!sysctl_read(&sysctl_ip_forward)) {
		/* A host: not ours, so not accepted (RFC 1122 §3.2.1.3). */
		__IP_INC_STATS(INADDRERRORS);
		kfree_skb_reason(skb, SKB_DROP_REASON_IP_NOT_LOCAL);
		return -1;
	}
	IPCB(skb)->rt_type = (uint8_t)res->type;
	switch (err) {
	case 0:
		if (res->type == RTN_UNICAST && res->dev)
			return skb_is_gso(skb) ? ip_forward_gso(skb, res) : ip_forward(skb, res);
		/* A multicast destination without multicast routing. */
		__IP_INC_STATS(INADDRERRORS);
		kfree_skb_reason(skb, SKB_DROP_REASON_IP_NOT_LOCAL);
		return -1;
	case -ENETUNREACH:
		/* InNoRoutes as Linux; OutNoRoutes as RFC 4293 counts forwarding too. */
		__IP_INC_STATS(INNOROUTES);
		__IP_INC_STATS(OUTNOROUTES);
		code = ICMP_NET_UNREACH;
		reason = SKB_DROP_REASON_IP_INNOROUTES;
		break;
	case -EHOSTUNREACH:
		__IP_INC_STATS(OUTNOROUTES);
		code = ICMP_HOST_UNREACH;
		reason = SKB_DROP_REASON_IP_ROUTE_UNREACHABLE;
		break;
	case -EACCES:
		__IP_INC_STATS(OUTNOROUTES);
		code = ICMP_PKT_FILTERED;
		reason = SKB_DROP_REASON_IP_ROUTE_PROHIBIT;
		break;
	default:
		/* Blackhole: nothing is sent back. */
		__IP_INC_STATS(OUTNOROUTES);
		kfree_skb_reason(skb, SKB_DROP_REASON_IP_ROUTE_BLACKHOLE);
		return -1;
	}
	if (skb->pkt_type == PACKET_HOST)
		icmp_send(skb, ICMP_DEST_UNREACH, code, 0);
	kfree_skb_reason(skb, reason);
	return -1;
}
