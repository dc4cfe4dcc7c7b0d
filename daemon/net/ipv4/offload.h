/*
 * IPv4 receive and segmentation offloads (the kernel's inet_offloads[],
 * inet_gro_receive in af_inet.c, tcp_offload.c): GRO for TCP over IPv4
 * and the split of a GRO packet back into wire segments when it is
 * forwarded.  ipv4_offload_init registers IPv4 with the core (ETH_P_IP,
 * core/gro.h) and TCP with IPv4, at start-up before workers run.
 */
#ifndef NS_NET_IPV4_OFFLOAD_H
#define NS_NET_IPV4_OFFLOAD_H

#include <stdint.h>

#include "core/gro.h"

struct sk_buff;

/* A transport protocol's offload callbacks; @thoff is its header's offset from skb->data. */
struct net_offload {
	gro_receive_fn gro_receive;
	int (*gro_complete)(struct sk_buff *skb, uint32_t thoff);
	/* Split @skb; the copies get their transport fields and checksums. */
	struct sk_buff *(*gso_segment)(struct sk_buff *skb, uint32_t thoff);
};

/* Register @prot for IP protocol @num.  0 or -EBUSY. */
int inet_add_offload(const struct net_offload *prot, uint8_t num);
void inet_del_offload(const struct net_offload *prot, uint8_t num);

/* TCP's (tcp_offload.c). */
extern const struct net_offload tcpv4_offload;

/* Register IPv4's and TCP's offloads / take them away.  Control context. */
void ipv4_offload_init(void);
void ipv4_offload_exit(void);

#endif
