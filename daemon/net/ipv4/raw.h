/*
 * Raw IPv4 sockets (the kernel's net/ipv4/raw.c): socket(AF_INET,
 * SOCK_RAW, protocol) for root.  Every incoming packet of the socket's
 * protocol is copied to it, IP header included, before the protocol's
 * own handler runs; ICMP sockets may filter by type (ICMP_FILTER).  Sent
 * data gets an IP header from the stack, or carries its own with
 * IP_HDRINCL (IPPROTO_RAW implies it), which the stack checks and
 * completes as raw_send_hdrinc does.
 */
#ifndef NS_NET_IPV4_RAW_H
#define NS_NET_IPV4_RAW_H

#include <stdbool.h>
#include <stdint.h>

struct sk_buff;
struct inet_protosw;

/* inetsw entry (SOCK_RAW, any protocol but 0), registered by sock_init(). */
extern const struct inet_protosw raw_protosw;

/*
 * raw_local_deliver: give every raw socket of @protocol that matches the
 * packet in @skb (data at the transport header, network header set) a
 * copy of the whole IP packet.  Does not consume the skb.  Returns true
 * (and sets IPSKB_RAW_DELIVERED) if at least one socket matched, which
 * spares the sender a protocol unreachable.  Worker context.
 */
bool raw_local_deliver(struct sk_buff *skb, uint8_t protocol);

/*
 * raw_icmp_error: an ICMP error quoting a packet of @protocol that we
 * sent (skb->data at the quoted transport header, network header = the
 * quoted IP header): the pending error (and with IP_RECVERR the error
 * queue) of each matching raw socket.  Does not consume the skb.
 */
void raw_icmp_error(struct sk_buff *skb, uint8_t protocol, uint8_t type, uint8_t code,
		    uint32_t info);

#endif
