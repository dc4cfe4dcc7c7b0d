/*
 * IPv4 internals shared by the files of net/ipv4 (the kernel's ip.h, not
 * the wire format: that is net/wire/ip.h).
 */
#ifndef NS_NET_IPV4_IP_H
#define NS_NET_IPV4_IP_H

#include <arpa/inet.h>
#include <stdatomic.h>
#include <stdint.h>

#include "core/checksum.h"
#include "core/skb.h"
#include "net/ipv4/route.h"
#include "net/wire/ip.h"

struct net_device;
struct packet_type;

/* Headroom to reserve in locally built packets for every header below L4. */
#define NS_MAX_HEADER 128u

/* IP's control block in skb->cb (the kernel's IPCB). */
struct inet_skb_parm {
	uint32_t nexthop;           /* output: next hop for the neighbour layer */
	uint8_t rt_type;            /* enum rtn_type of the route taken */
	uint8_t flags;              /* IPSKB_* */
};

/* IPCB flags */
#define IPSKB_RAW_DELIVERED 0x01    /* input: a raw socket took a copy */

#define IPCB(skb) ((struct inet_skb_parm *)((skb)->cb))

/* inet_skb_parm.flags on output */
#define IPSKB_DF 0x01               /* set DF in the header ip_build_and_send_pkt writes */

extern _Atomic int64_t sysctl_ip_default_ttl;
extern _Atomic int64_t sysctl_ip_forward;

/* packet_type handler for ETH_P_IP.  Consumes the skb.  Worker context. */
int ip_rcv(struct sk_buff *skb, struct net_device *dev, const struct packet_type *pt);

/* Deliver a packet addressed to us to its protocol.  Consumes the skb. */
int ip_local_deliver(struct sk_buff *skb);

/*
 * Prepend an IPv4 header to @skb (data at the transport header) and send
 * it to @daddr: route lookup, header with checksum and IP ID, then
 * ip_local_out.  @saddr 0 picks the route's preferred source.  @ttl 0 uses
 * net.ipv4.ip_default_ttl.  Consumes @skb.  0 or -errno (-ENETUNREACH,
 * -EMSGSIZE).  Worker context.
 */
int ip_build_and_send_pkt(struct sk_buff *skb, uint32_t saddr, uint32_t daddr,
			  uint8_t protocol, uint8_t tos, uint8_t ttl);

/* The output stages: consume the skb; 0 or -errno. */
int ip_local_out(struct sk_buff *skb, const struct fib_result *res);
int ip_output(struct sk_buff *skb, struct net_device *dev);

/* IP ID for a datagram from @saddr to @daddr (hashed per-destination counters). */
uint16_t ip_select_ident(uint32_t saddr, uint32_t daddr, uint8_t protocol);

void ip_init(void);

/* ---- forwarding (ip_forward.c) ---- */

/* Register net.ipv4.ip_forward and friends.  Control context. */
void ip_forward_init(void);

/*
 * ip_route_input's answer for a destination that is not ours: forward it
 * if net.ipv4.ip_forward is on and @res (with @err from fib_lookup) is a
 * unicast route; otherwise count the drop and send the ICMP error the
 * route calls for.  Consumes @skb.  Worker context.
 */
int ip_route_input_forward(struct sk_buff *skb, const struct fib_result *res, int err);

/*
 * Forward @skb (data at the IP header) along @res: TTL and MTU checks with
 * their ICMP errors, TTL decrement, then ip_output.  Consumes @skb.
 */
int ip_forward(struct sk_buff *skb, const struct fib_result *res);

/*
 * Decrement the TTL and patch the header checksum incrementally (RFC 1624
 * eqn. 3) instead of summing the header again.  Returns the new TTL.
 */
static inline uint8_t ip_decrease_ttl(struct iphdr *iph)
{
	/* TTL and protocol share one 16-bit word of the checksum. */
	uint16_t old = htons((uint16_t)(iph->ttl << 8 | iph->protocol));
	uint16_t new_ = htons((uint16_t)((iph->ttl - 1) << 8 | iph->protocol));

	iph->ttl--;
	iph->check = csum_replace2(iph->check, old, new_);
	return iph->ttl;
}

#endif
