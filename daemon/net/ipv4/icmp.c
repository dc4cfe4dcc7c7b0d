/*
 * ICMP receive and transmit.
 *
 * Context: workers.  icmp_rcv consumes its skb.  The rate limiter is a
 * token bucket per worker (each gets its share of icmp_msgs_per_sec), so
 * workers never share a counter.  Per-destination limiting
 * (net.ipv4.icmp_ratelimit) is kept as a knob and applied per worker to
 * the error types in net.ipv4.icmp_ratemask's default set.
 */
#include <arpa/inet.h>
#include <string.h>

#include "core/checksum.h"
#include "core/clock.h"
#include "core/netdev.h"
#include "core/skb.h"
#include "core/trace.h"
#include "core/softnet.h"
#include "core/sysctl.h"
#include "net/ipv4/devinet.h"
#include "net/ipv4/icmp.h"
#include "net/ipv4/ip.h"
#include "net/ipv4/ping.h"
#include "net/ipv4/protocol.h"
#include "net/ipv4/raw.h"
#include "net/ipv4/snmp.h"
#include "net/wire/icmp.h"
#include "net/wire/ip.h"

static _Atomic int64_t sysctl_icmp_echo_ignore_all = 0;
static _Atomic int64_t sysctl_icmp_echo_ignore_broadcasts = 1;
static _Atomic int64_t sysctl_icmp_ratelimit = 1000;
static _Atomic int64_t sysctl_icmp_msgs_per_sec = 1000;
static _Atomic int64_t sysctl_icmp_msgs_burst = 50;
static _Atomic int64_t sysctl_icmp_errors_use_inbound_ifaddr = 0;

static const struct ctl_table icmp_table[] = {
	{ "net.ipv4.icmp_echo_ignore_all", &sysctl_icmp_echo_ignore_all, 0, 1, 0,
	  "1: do not answer echo requests" },
	{ "net.ipv4.icmp_echo_ignore_broadcasts", &sysctl_icmp_echo_ignore_broadcasts, 0, 1, 1,
	  "1: do not answer echo requests sent to broadcast or multicast" },
	{ "net.ipv4.icmp_ratelimit", &sysctl_icmp_ratelimit, 0, 1000000, 1000,
	  "minimum milliseconds between ICMP errors to one destination (0: off)" },
	{ "net.ipv4.icmp_msgs_per_sec", &sysctl_icmp_msgs_per_sec, 0, 1000000, 1000,
	  "ICMP errors this host may send per second in total" },
	{ "net.ipv4.icmp_msgs_burst", &sysctl_icmp_msgs_burst, 1, 1000000, 50,
	  "burst allowed above icmp_msgs_per_sec" },
	{ "net.ipv4.icmp_errors_use_inbound_ifaddr", &sysctl_icmp_errors_use_inbound_ifaddr, 0, 1,
	  0, "1: ICMP errors about forwarded packets come from the inbound interface's address" },
	{ NULL, NULL, 0, 0, 0, NULL },
};

/* Per-worker token bucket (global limit) and a small per-destination cache. */
#define ICMP_PEER_SLOTS 64

struct icmp_limit {
	uint64_t last_us;
	uint64_t credit_milli;      /* tokens * 1000 */
	struct {
		uint32_t daddr;
		uint64_t last_ms;
		uint64_t tokens;        /* milliseconds of credit */
	} peers[ICMP_PEER_SLOTS];
};

static struct icmp_limit icmp_limits[NS_MAX_WORKERS + 1];

void icmp_init(void)
{
	sysctl_register(icmp_table);
}

static bool icmp_global_allow(struct icmp_limit *l)
{
	uint64_t rate = (uint64_t)sysctl_read(&sysctl_icmp_msgs_per_sec);
	uint64_t burst = (uint64_t)sysctl_read(&sysctl_icmp_msgs_burst) * 1000u;
	uint64_t now = ns_now_us();
	int workers = nr_workers > 0 ? nr_workers : 1;

	if (rate == 0)
		return true;
	/* Each worker refills at its share of the rate. */
	l->credit_milli += (now - l->last_us) * rate / (uint64_t)workers / 1000u;
	l->last_us = now;
	if (l->credit_milli > burst)
		l->credit_milli = burst;
	if (l->credit_milli < 1000)
		return false;
	l->credit_milli -= 1000;
	return true;
}

/*
 * Per destination, a token bucket as the kernel's inet_peer_xrlim_allow:
 * one message per icmp_ratelimit ms on average with bursts of up to
 * ICMP_PEER_BURST, so that a traceroute's three probes per hop each get
 * their answer.
 */
#define ICMP_PEER_BURST 6

static bool icmp_peer_allow(struct icmp_limit *l, uint32_t daddr)
{
	uint64_t gap = (uint64_t)sysctl_read(&sysctl_icmp_ratelimit);
	uint64_t now = ns_jiffies();
	unsigned int slot = (ntohl(daddr) * 2654435761u) >> 26;
	uint64_t tokens;

	if (gap == 0)
		return true;
	if (l->peers[slot].daddr != daddr) {
		/* A new (or evicted) peer starts with a full bucket. */
		l->peers[slot].daddr = daddr;
		l->peers[slot].tokens = ICMP_PEER_BURST * gap;
		l->peers[slot].last_ms = now;
	}
	tokens = l->peers[slot].tokens + (now - l->peers[slot].last_ms);
	if (tokens > ICMP_PEER_BURST * gap)
		tokens = ICMP_PEER_BURST * gap;
	l->peers[slot].last_ms = now;
	if (tokens < gap) {
		l->peers[slot].tokens = tokens;
		return false;
	}
	l->peers[slot].tokens = tokens - gap;
	return true;
}

static struct icmp_limit *this_icmp_limit(void)
{
	int cpu = smp_processor_id();

	return &icmp_limits[cpu < 0 ? NS_MAX_WORKERS : cpu];
}

void icmp_out_count(uint8_t type)
{
	__ICMP_INC_STATS(OUTMSGS);
	ns_counter_inc(&this_mib()->icmp_out_type[type]);
	if (type == ICMP_ECHO)
		__ICMP_INC_STATS(OUTECHOS);
}

/*
 * Build and send an ICMP message with @hdr followed by @len bytes of @data,
 * in response to @cause (whose trace it continues as @stage).
 */
static int icmp_push_reply(const struct sk_buff *cause, unsigned int stage,
			   const struct icmphdr *hdr, const void *data, uint32_t len,
			   uint32_t saddr, uint32_t daddr, uint8_t tos)
{
	struct sk_buff *skb = alloc_skb(NS_MAX_HEADER + ICMP_HLEN + len);
	struct icmphdr *icmph;

	if (!skb) {
		__ICMP_INC_STATS(OUTERRORS);
		drop_count(SKB_DROP_REASON_NOMEM);
		return -1;
	}
	skb_reserve(skb, NS_MAX_HEADER);
	icmph = skb_put(skb, ICMP_HLEN);
	*icmph = *hdr;
	skb_put_data(skb, data, len);
	icmph->checksum = 0;
	icmph->checksum = ip_compute_csum(skb->data, skb->len);
	skb_reset_transport_header(skb);
	skb_trace_continue(skb, cause, stage);
	icmp_out_count(hdr->type);
	return ip_build_and_send_pkt(skb, saddr, daddr, IPPROTO_ICMP_NS, tos, 0);
}

void icmp_send(struct sk_buff *skb_in, uint8_t type, uint8_t code, uint32_t info)
{
	const struct iphdr *iph = (const struct iphdr *)skb_network_header(skb_in);
	struct icmp_limit *lim = this_icmp_limit();
	struct icmphdr hdr;
	uint32_t room, saddr;
	unsigned int ihl;

	if (skb_in->network_header == SKB_HDR_UNSET)
		return;
	ihl = iph_ihl(iph) * 4u;
	/*
	 * RFC 1122 §3.2.2: never about broadcasts, multicasts or non-first
	 * fragments.  Packets we forward (or cannot) are unicast too.
	 */
	if (skb_in->pkt_type != PACKET_HOST || IPCB(skb_in)->rt_type == RTN_BROADCAST ||
	    IPCB(skb_in)->rt_type == RTN_MULTICAST)
		return;
	if (iph->frag_off & htons(IP_OFFSET))
		return;
	if ((iph->saddr & htonl(0xf0000000u)) == htonl(0xe0000000u) || iph->saddr == 0 ||
	    iph->saddr == htonl(INADDR_BROADCAST))
		return;
	/* Never an error about an ICMP error. */
	if (iph->protocol == IPPROTO_ICMP_NS) {
		const uint8_t *p = (const uint8_t *)iph + ihl;
		uint32_t avail = (uint32_t)(skb_tail_pointer(skb_in) - p);

		if (avail < 1)
			return;
		if (p[0] != ICMP_ECHO && p[0] != ICMP_ECHOREPLY && p[0] != ICMP_TIMESTAMP &&
		    p[0] != ICMP_TIMESTAMPREPLY)
			return;
	}
	if (!icmp_peer_allow(lim, iph->saddr)) {
		__ICMP_INC_STATS(OUTRATELIMITHOST);
		drop_count(SKB_DROP_REASON_ICMP_RATELIMIT);
		return;
	}
	if (!icmp_global_allow(lim)) {
		__ICMP_INC_STATS(OUTRATELIMITGLOBAL);
		drop_count(SKB_DROP_REASON_ICMP_RATELIMIT);
		return;
	}
	memset(&hdr, 0, sizeof(hdr));
	hdr.type = type;
	hdr.code = code;
	hdr.un.gateway = htonl(info);
	if (type == ICMP_DEST_UNREACH && code == ICMP_FRAG_NEEDED)
		hdr.un.frag.mtu = htons((uint16_t)info);
	/* Quote as much of the offending datagram as fits in 576 bytes (RFC 1812 §4.3.2.3). */
	room = (uint32_t)(skb_tail_pointer(skb_in) - (const unsigned char *)iph);
	if (room > 576 - IP_MIN_HLEN - ICMP_HLEN)
		room = 576 - IP_MIN_HLEN - ICMP_HLEN;
	/*
	 * From the address the packet was sent to when it was ours.  About a
	 * packet in transit: the route back's preferred source, or with
	 * icmp_errors_use_inbound_ifaddr the address of the interface it came
	 * in on (so traceroute shows that hop), as the kernel chooses.
	 */
	saddr = iph->daddr;
	if (!inet_addr_is_local(NULL, saddr))
		saddr = sysctl_read(&sysctl_icmp_errors_use_inbound_ifaddr)
				? inet_select_addr(skb_in->dev, iph->saddr) : 0;
	if (type == ICMP_DEST_UNREACH)
		__ICMP_INC_STATS(OUTDESTUNREACHS);
	else if (type == ICMP_TIME_EXCEEDED)
		__ICMP_INC_STATS(OUTTIMEEXCDS);
	icmp_push_reply(skb_in, NS_TRACE_ICMP_SEND, &hdr, iph, room, saddr, iph->saddr, (uint8_t)((iph->tos & 0x1e) | 0xc0));
}

/* Echo request -> echo reply with the same identifier, sequence and data. */
static int icmp_echo(struct sk_buff *skb)
{
	const struct iphdr *iph = (const struct iphdr *)skb_network_header(skb);
	const struct icmphdr *req = (const struct icmphdr *)skb->data;
	struct icmphdr hdr;
	uint32_t saddr;

	__ICMP_INC_STATS(INECHOS);
	if (sysctl_read(&sysctl_icmp_echo_ignore_all) ||
	    (IPCB(skb)->rt_type != RTN_LOCAL &&
	     sysctl_read(&sysctl_icmp_echo_ignore_broadcasts))) {
		consume_skb(skb);
		return 0;
	}
	hdr = *req;
	hdr.type = ICMP_ECHOREPLY;
	hdr.code = 0;
	saddr = IPCB(skb)->rt_type == RTN_LOCAL ? iph->daddr
						 : inet_select_addr(skb->dev, iph->saddr);
	__ICMP_INC_STATS(OUTECHOREPS);
	icmp_push_reply(skb, NS_TRACE_ICMP_REPLY, &hdr, skb->data + ICMP_HLEN, skb->len - ICMP_HLEN, saddr, iph->saddr,
			iph->tos);
	consume_skb(skb);
	return 0;
}

/* An error about a datagram we sent: tell the transport protocol. */
static int icmp_unreach(struct sk_buff *skb)
{
	const struct icmphdr *icmph = (const struct icmphdr *)skb->data;
	const struct net_protocol *ipprot;
	const struct iphdr *inner;
	unsigned int ihl;

	if (!skb_may_pull(skb, ICMP_HLEN + IP_MIN_HLEN))
		goto bad;
	inner = (const struct iphdr *)(skb->data + ICMP_HLEN);
	ihl = iph_ihl(inner) * 4u;
	if (iph_version(inner) != IPVERSION || ihl < IP_MIN_HLEN ||
	    !skb_may_pull(skb, ICMP_HLEN + ihl + 8))
		goto bad;
	{
		const struct iphdr *outer = (const struct iphdr *)skb_network_header(skb);
		uint8_t type = icmph->type, code = icmph->code;
		uint32_t info = ntohl(icmph->un.gateway);
		uint8_t protocol = inner->protocol;

		/* RFC 1191: the next-hop MTU (0 from routers older than it). */
		if (type == ICMP_DEST_UNREACH && code == ICMP_FRAG_NEEDED)
			info = ntohs(icmph->un.frag.mtu);

		/* The error handlers see the quoted packet; remember the message's own source. */
		ICMPCB(skb)->saddr = outer->saddr;
		ICMPCB(skb)->ttl = outer->ttl;
		ICMPCB(skb)->tos = outer->tos;

		skb_pull(skb, ICMP_HLEN);
		skb_reset_network_header(skb);
		skb_pull(skb, ihl);
		skb_reset_transport_header(skb);
		/* icmp_socket_deliver: raw sockets of the quoted protocol, then the protocol. */
		raw_icmp_error(skb, protocol, type, code, info);
		ipprot = inet_proto_get(protocol);
		if (ipprot && ipprot->err_handler)
			ipprot->err_handler(skb, type, code, info);
	}
	consume_skb(skb);
	return 0;
bad:
	__ICMP_INC_STATS(INERRORS);
	kfree_skb_reason(skb, SKB_DROP_REASON_ICMP_TRUNCATED);
	return -1;
}

static int icmp_rcv(struct sk_buff *skb)
{
	const struct icmphdr *icmph;

	skb_trace(skb, NS_TRACE_ICMP_RCV, 0);
	__ICMP_INC_STATS(INMSGS);
	if (!skb_may_pull(skb, ICMP_HLEN)) {
		__ICMP_INC_STATS(INERRORS);
		kfree_skb_reason(skb, SKB_DROP_REASON_ICMP_TRUNCATED);
		return -1;
	}
	if (ip_compute_csum(skb->data, skb->len) != 0) {
		__ICMP_INC_STATS(INCSUMERRORS);
		__ICMP_INC_STATS(INERRORS);
		kfree_skb_reason(skb, SKB_DROP_REASON_ICMP_CSUM);
		return -1;
	}
	icmph = (const struct icmphdr *)skb->data;
	ns_counter_inc(&this_mib()->icmp_in_type[icmph->type]);
	switch (icmph->type) {
	case ICMP_ECHO:
		return icmp_echo(skb);
	case ICMP_ECHOREPLY:
		__ICMP_INC_STATS(INECHOREPS);
		return ping_rcv(skb);
	case ICMP_DEST_UNREACH:
		__ICMP_INC_STATS(INDESTUNREACHS);
		return icmp_unreach(skb);
	case ICMP_TIME_EXCEEDED:
		__ICMP_INC_STATS(INTIMEEXCDS);
		return icmp_unreach(skb);
	case ICMP_PARAMETERPROB:
		__ICMP_INC_STATS(INPARMPROBS);
		return icmp_unreach(skb);
	case ICMP_REDIRECT:
		/* Redirects are ignored (accept_redirects=0 for a host behind a TAP). */
		__ICMP_INC_STATS(INREDIRECTS);
		consume_skb(skb);
		return 0;
	case ICMP_TIMESTAMP:
		__ICMP_INC_STATS(INTIMESTAMPS);
		consume_skb(skb);
		return 0;
	default:
		/* RFC 1122 §3.2.2: unknown types are silently discarded (and counted). */
		kfree_skb_reason(skb, SKB_DROP_REASON_ICMP_TYPE);
		return 0;
	}
}

/*
 * icmp_err: an ICMP error quoting an ICMP message we sent.  Errors about
 * our echo requests go to the ping socket that sent them; those about our
 * own replies and errors concern nobody.
 */
static void icmp_err(struct sk_buff *skb, uint8_t type, uint8_t code, uint32_t info)
{
	const struct icmphdr *icmph;

	if (!skb_may_pull(skb, ICMP_HLEN))
		return;
	icmph = (const struct icmphdr *)skb->data;
	if (icmph->type == ICMP_ECHO)
		ping_err(skb, type, code, info);
}

const struct net_protocol icmp_protocol = {
	.name = "icmp",
	.handler = icmp_rcv,
	.err_handler = icmp_err,
};
