/*
 * ICMP datagram sockets, "ping sockets" (the kernel's net/ipv4/ping.c):
 * socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP) for unprivileged ping.  The
 * echo identifier is the socket's port; sending rewrites it and computes
 * the checksum; echo replies reach the socket that holds their identifier.
 */
#ifndef NS_NET_IPV4_PING_H
#define NS_NET_IPV4_PING_H

#include <stdatomic.h>
#include <stdint.h>

struct sk_buff;
struct inet_protosw;

/* inetsw entry (SOCK_DGRAM, IPPROTO_ICMP), registered by sock_init(). */
extern const struct inet_protosw ping_protosw;

/*
 * net.ipv4.ping_group_range: the groups allowed to create ping sockets.
 * "1 0" (the kernel's default) is empty: nobody, root included.
 */
extern _Atomic int64_t sysctl_ping_group_lo, sysctl_ping_group_hi;

/* Register the sysctls.  Control context, at start-up. */
void ping_init(void);

/*
 * ping_rcv: an echo reply (skb->data at the ICMP header, checksum
 * verified, network header set) for the ping socket holding its
 * identifier.  Consumes the skb.  Worker context.
 */
int ping_rcv(struct sk_buff *skb);

/*
 * ping_err: an ICMP error quoting an echo request we sent (skb->data at
 * the quoted ICMP header, network header = the quoted IP header): the
 * pending error and, with IP_RECVERR, the error queue of the socket that
 * sent it.  Does not consume the skb.  Worker context.
 */
void ping_err(struct sk_buff *skb, uint8_t type, uint8_t code, uint32_t info);

#endif
