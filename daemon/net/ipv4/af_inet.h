/*
 * IPv4 start-up: registration of the packet types and protocols of the
 * inet family (the kernel's inet_init).
 */
#ifndef NS_NET_AF_INET_H
#define NS_NET_AF_INET_H

/* Register ip_rcv, arp_rcv, icmp and the IPv4 sysctls.  Control context, once. */
int inet_init(void);

/* Release IPv4 state at shutdown (after workers stopped). */
void inet_exit(void);

#endif
