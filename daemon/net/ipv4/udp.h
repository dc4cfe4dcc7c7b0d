/*
 * UDP over IPv4 (RFC 768; the kernel's net/ipv4/udp.c): the receive
 * handler on inet_protos[IPPROTO_UDP], ICMP errors for our datagrams, and
 * the socket operations of SOCK_DGRAM sockets (AF_INET, and AF_INET6
 * sockets used with v4-mapped addresses).
 */
#ifndef NS_NET_IPV4_UDP_H
#define NS_NET_IPV4_UDP_H

#include <stdint.h>

#include "net/ipv4/datagram.h"

struct sk_buff;
struct net_protocol;
struct inet_protosw;

/* inet_add_protocol(&udp_protocol, IPPROTO_UDP) at start-up. */
extern const struct net_protocol udp_protocol;

/* inetsw entry (SOCK_DGRAM, IPPROTO_UDP), registered by sock_init(). */
extern const struct inet_protosw udp_protosw;

/*
 * Receive a UDP datagram (skb->data at the UDP header, network header
 * set): validate, look the socket up and append the datagram to its rx
 * ring.  Consumes the skb.  Worker context.
 */
int udp_rcv(struct sk_buff *skb);

/* Datagrams handled by udp_tx_ready() per call before it yields. */
#define UDP_TX_BUDGET DGRAM_TX_BUDGET

#endif
