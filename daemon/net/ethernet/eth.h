/*
 * Ethernet: the link layer of every device we have so far.
 */
#ifndef NS_NET_ETH_H
#define NS_NET_ETH_H

#include <stdint.h>

struct sk_buff;
struct net_device;
struct header_ops;

/* Ethernet's header operations (also the loopback device's, as in the kernel). */
extern const struct header_ops eth_header_ops;

/* Give @dev Ethernet's header operations, broadcast address and lengths. */
void ether_setup(struct net_device *dev);

/*
 * Parse a received frame's Ethernet header: set skb->protocol and
 * skb->pkt_type, remember the MAC header and pull it.  Returns
 * SKB_DROP_REASON_CONSUMED (0) or PKT_TOO_SMALL.  Worker context.
 */
int eth_type_trans(struct sk_buff *skb, struct net_device *dev);

/* Push an Ethernet header for @proto (host order).  0 or -ENOSPC. */
int eth_header(struct sk_buff *skb, struct net_device *dev, uint16_t proto,
	       const uint8_t *daddr, const uint8_t *saddr);

#endif
