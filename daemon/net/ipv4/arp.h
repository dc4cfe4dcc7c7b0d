/*
 * ARP for IPv4 over Ethernet (RFC 826; announcements and probes, RFC 5227).
 */
#ifndef NS_NET_ARP_H
#define NS_NET_ARP_H

#include <stdint.h>

struct net_device;

/* Register the ETH_P_ARP packet type and the neighbour solicit hook. */
void arp_init(void);

/*
 * Send an ARP packet of @op on @dev.  @dest_hw NULL: broadcast.
 * @target_hw NULL: zero.  Addresses in network order.  0 or -errno.
 * Worker context.
 */
int arp_send(int op, struct net_device *dev, uint32_t dest_ip, uint32_t src_ip,
	     const uint8_t *dest_hw, const uint8_t *target_hw);

/* Announce @dev's addresses (gratuitous ARP, RFC 5227 §2.3).  Worker context. */
void arp_announce(struct net_device *dev);

#endif
