/*
 * IPv4 receive: ip_rcv -> ip_rcv_finish -> ip_route_input (and
 * ip_rcv_options for headers with options) -> ip_local_deliver (ip_defrag
 * for fragments) -> ip_local_deliver_finish -> inet_protos[proto].
 *
 * Context: workers (softirq), called from __netif_receive_skb for
 * ETH_P_IP.  Every function consumes its skb; each rejection is counted
 * both in the SNMP MIB (as the kernel counts it) and as a drop reason.
 * The netfilter hook points sit where the kernel's NF_HOOK calls are:
 * PRE_ROUTING at the end of ip_rcv (before routing), LOCAL_IN in
 * ip_local_deliver after reassembly.  Packets that are not ours continue
 * in ip_forward.c.
 */
#include <arpa/inet.h>
#include <string.h>

#include "core/checksum.h"
#include "core/dev.h"
#include "core/netdev.h"
#include "core/skb.h"
#include "core/trace.h"
#include "core/softnet.h"
#include "net/ipv4/devinet.h"
#include "net/ipv4/icmp.h"
#include "net/ipv4/ip.h"
#include "net/ipv4/protocol.h"
#include "net/ipv4/raw.h"
#include "net/ipv4/route.h"
#include "net/ipv4/snmp.h"
#include "net/netfilter/netfilter.h"
#include "net/wire/icmp.h"
#include "net/wire/ip.h"

static bool ipv4_is_multicast(uint32_t a)
{
	return (a & htonl(0xf0000000u)) == htonl(0xe0000000u);
}

static bool ipv4_is_loopback(uint32_t a)
{
	return (a & htonl(0xff000000u)) == htonl(0x7f000000u);
}

static bool ipv4_is_zeronet(uint32_t a)
{
	return (a & htonl(0xff000000u)) == 0;
}

static bool ipv4_is_lbcast(uint32_t a)
{
	return a == htonl(INADDR_BROADCAST);
}

/* Hand the payload to the transport protocol (ip_local_deliver_finish). */
static int ip_local_deliver_finish(struct sk_buff *skb)
{
	const struct iphdr *iph = (const struct iphdr *)skb_network_header(skb);
	const struct net_protocol *ipprot;
	uint8_t protocol = iph->protocol;
	bool raw;

	skb_pull(skb, iph_ihl(iph) * 4u);
	skb_reset_transport_header(skb);

	/* Raw sockets of the protocol get their copies first (raw_local_deliver). */
	raw = raw_local_deliver(skb, protocol);
	if (raw)
		skb_trace(skb, NS_TRACE_RAW_RCV, 0);
	ipprot = inet_proto_get(protocol);
	if (ipprot) {
		__IP_INC_STATS(INDELIVERS);
		return ipprot->handler(skb);
	}
	if (raw) {
		/* A raw socket took it: no protocol unreachable. */
		__IP_INC_STATS(INDELIVERS);
		consume_skb(skb);
		return 0;
	}
	/* RFC 1122 §3.2.2.1: protocol unreachable, but never for broadcasts. */
	if (IPCB(skb)->rt_type == RTN_LOCAL)
		icmp_send(skb, ICMP_DEST_UNREACH, ICMP_PROT_UNREACH, 0);
	__IP_INC_STATS(INUNKNOWNPROTOS);
	kfree_skb_reason(skb, SKB_DROP_REASON_IP_NOPROTO);
	return -1;
}

int ip_local_deliver(struct sk_buff *skb)
{
	const struct iphdr *iph = (const struct iphdr *)skb_network_header(skb);

	skb_trace(skb, NS_TRACE_IP_LOCAL_DELIVER, 0);
	/* Reassemble only what is for us (RFC 791: a forwarder never does). */
	if (iph->frag_off & htons(IP_MF | IP_OFFSET)) {
		if (ip_defrag(&skb))
			return 0;       /* kept for later, or dropped and counted */
	}
	if (nf_hook(NF_INET_LOCAL_IN, skb, skb->dev, NULL) != 1)
		return -1;
	return ip_local_deliver_finish(skb);
}

/*
 * ip_route_input: decide between local delivery and forwarding.  We
 * accept packets for any of our addresses on any interface (the weak host
 * model, as Linux does), broadcasts and multicasts; the FIB's local table
 * knows our addresses and subnet broadcasts.  Sets IPCB(skb)->rt_type and
 * returns 0 for local delivery, 1 for forwarding (*@res and *@err hold the
 * FIB's answer for ip_route_input_forward), or drops the packet and
 * returns -1.  Options are checked by the caller in between, as the
 * kernel's ip_rcv_finish_core does after routing.
 */
static int ip_route_input(struct sk_buff *skb, const struct iphdr *iph, struct fib_result *res,
			  int *err)
{
	struct net_device *dev = skb->dev;
	uint32_t daddr = iph->daddr;
	uint32_t saddr = iph->saddr;

	/*
	 * Looped back by our own output path, which routed it already (the
	 * kernel keeps that output route on the skb): deliver it here,
	 * whatever its addresses.
	 */
	if (dev && (atomic_load_explicit(&dev->flags, memory_order_relaxed) & NETDEV_IFF_LOOPBACK)) {
		if (ipv4_is_lbcast(daddr) || inet_addr_is_broadcast(dev, daddr)) {
			IPCB(skb)->rt_type = RTN_BROADCAST;
			__IP_INC_STATS(INBCASTPKTS);
		} else if (ipv4_is_multicast(daddr)) {
			IPCB(skb)->rt_type = RTN_MULTICAST;
		} else {
			IPCB(skb)->rt_type = RTN_LOCAL;
		}
		return 0;
	}
	/* Martian destination (ip_route_input_slow): 127/8 exists only on lo. */
	if (ipv4_is_loopback(daddr)) {
		__IP_INC_STATS(INADDRERRORS);
		kfree_skb_reason(skb, SKB_DROP_REASON_IP_INVALID_DEST);
		return -1;
	}
	if (ipv4_is_multicast(saddr) || ipv4_is_lbcast(saddr) || ipv4_is_loopback(saddr) ||
	    inet_addr_is_local(NULL, saddr)) {
		__IP_INC_STATS(INADDRERRORS);
		kfree_skb_reason(skb, SKB_DROP_REASON_IP_BAD_SRC);
		return -1;
	}
	if (ipv4_is_lbcast(daddr))
		goto brd_input;
	if (ipv4_is_multicast(daddr)) {
		IPCB(skb)->rt_type = RTN_MULTICAST;
		return 0;
	}
	/* A 0.0.0.0/8 destination is martian too: never ours, never forwarded. */
	if (ipv4_is_zeronet(daddr)) {
		__IP_INC_STATS(INADDRERRORS);
		kfree_skb_reason(skb, SKB_DROP_REASON_IP_NOT_LOCAL);
		return -1;
	}
	*err = fib_lookup(daddr, res);
	if (!*err && res->type == RTN_LOCAL) {
		IPCB(skb)->rt_type = RTN_LOCAL;
		return 0;
	}
	if (!*err && res->type == RTN_BROADCAST)
		goto brd_input;
	IPCB(skb)->rt_type = RTN_UNICAST;
	return 1;

brd_input:
	IPCB(skb)->rt_type = RTN_BROADCAST;
	__IP_INC_STATS(INBCASTPKTS);
	return 0;
}

/*
 * ip_rcv_finish: route, then (as the kernel's ip_rcv_finish_core) check
 * the options against the route, then deliver or forward.
 */
static int ip_rcv_finish(struct sk_buff *skb)
{
	const struct iphdr *iph = (const struct iphdr *)skb_network_header(skb);
	struct fib_result res;
	int err = 0, r;

	memset(&res, 0, sizeof(res));
	r = ip_route_input(skb, iph, &res, &err);
	if (r < 0)
		return -1;      /* the drop names the reason */
	if (ns_unlikely(skb->trace)) {
		uint8_t t = IPCB(skb)->rt_type;

		__skb_trace_stage(skb, NS_TRACE_ROUTE_INPUT,
				  r == 1 ? NS_TRACE_ROUTE_FORWARD
				  : t == RTN_BROADCAST ? NS_TRACE_ROUTE_BROADCAST
				  : t == RTN_MULTICAST ? NS_TRACE_ROUTE_MULTICAST
				  : NS_TRACE_ROUTE_LOCAL);
	}
	if (iph_ihl(iph) > 5 && ip_rcv_options(skb))
		return -1;
	if (r == 1)
		return ip_route_input_forward(skb, &res, err);
	return ip_local_deliver(skb);
}

/*
 * ip_rcv_core: validate the header (RFC 1122 §3.2.1.1-3.2.1.8).  A TTL of
 * 0 or 1 on a packet for us is accepted: RFC 1122 §3.2.1.7 says a host
 * MUST NOT discard a datagram just because its TTL is below 2; TTL is
 * checked when forwarding (ip_forward).
 */
int ip_rcv(struct sk_buff *skb, struct net_device *dev, const struct packet_type *pt)
{
	struct softnet_data *sd = this_softnet();
	const struct iphdr *iph;
	unsigned int ihl, len;
	enum skb_drop_reason reason;

	(void)pt;
	skb_trace(skb, NS_TRACE_IP_RCV, 0);
	if (sd)
		ns_counter_inc(&sd->ip_rcv);
	if (skb->pkt_type == PACKET_OTHERHOST) {
		kfree_skb_reason(skb, SKB_DROP_REASON_OTHERHOST);
		return -1;
	}
	/* A GRO packet counts as the datagrams it was made of, as in the kernel. */
	__IP_ADD_STATS(INRECEIVES, skb_gso_segs(skb));
	__IP_ADD_STATS(INOCTETS, skb->len);

	if (!skb_may_pull(skb, sizeof(struct iphdr))) {
		reason = SKB_DROP_REASON_IP_TRUNCATED;
		goto inhdr_error;
	}
	iph = (const struct iphdr *)skb->data;
	if (iph_version(iph) != IPVERSION) {
		reason = SKB_DROP_REASON_IP_BAD_VERSION;
		goto inhdr_error;
	}
	ihl = iph_ihl(iph);
	if (ihl < 5 || !skb_may_pull(skb, ihl * 4u)) {
		reason = SKB_DROP_REASON_IP_BAD_IHL;
		goto inhdr_error;
	}
	if (ip_fast_csum(iph, ihl) != 0) {
		__IP_INC_STATS(INCSUMERRORS);
		reason = SKB_DROP_REASON_IP_CSUM;
		goto inhdr_error;
	}
	len = ntohs(iph->tot_len);
	if (skb->len < len) {
		__IP_INC_STATS(INTRUNCATEDPKTS);
		kfree_skb_reason(skb, SKB_DROP_REASON_IP_BAD_TOTLEN);
		return -1;
	}
	if (len < ihl * 4u) {
		reason = SKB_DROP_REASON_IP_BAD_TOTLEN;
		goto inhdr_error;
	}
	/* Remove Ethernet padding beyond the datagram. */
	if (pskb_trim(skb, len)) {
		__IP_INC_STATS(INDISCARDS);
		kfree_skb_reason(skb, SKB_DROP_REASON_NOMEM);
		return -1;
	}
	skb_reset_network_header(skb);
	/* IP's control block starts empty (ip_rcv_core); a looped-back skb still holds output's. */
	memset(IPCB(skb), 0, sizeof(*IPCB(skb)));
	if (nf_hook(NF_INET_PRE_ROUTING, skb, dev, NULL) != 1)
		return -1;
	return ip_rcv_finish(skb);

inhdr_error:
	__IP_INC_STATS(INHDRERRORS);
	kfree_skb_reason(skb, reason);
	return -1;
}
