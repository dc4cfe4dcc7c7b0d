/*
 * Ethernet receive parsing (eth_type_trans) and header construction.
 * Worker context; no state.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include "core/netdev.h"
#include "core/skb.h"
#include "net/ethernet/eth.h"
#include "net/wire/ether.h"

int eth_type_trans(struct sk_buff *skb, struct net_device *dev)
{
	const struct ethhdr *eth;

	if (!skb_may_pull(skb, ETH_HLEN))
		return SKB_DROP_REASON_PKT_TOO_SMALL;
	skb->dev = dev;
	skb_reset_mac_header(skb);
	eth = (const struct ethhdr *)skb->data;
	if (is_multicast_ether_addr(eth->h_dest))
		skb->pkt_type = is_broadcast_ether_addr(eth->h_dest) ? PACKET_BROADCAST
								      : PACKET_MULTICAST;
	else if (!ether_addr_equal(eth->h_dest, dev->dev_addr))
		skb->pkt_type = PACKET_OTHERHOST;
	else
		skb->pkt_type = PACKET_HOST;
	skb->protocol = eth->h_proto;
	skb_pull(skb, ETH_HLEN);
	return SKB_DROP_REASON_CONSUMED;
}

int eth_header(struct sk_buff *skb, struct net_device *dev, uint16_t proto,
	       const uint8_t *daddr, const uint8_t *saddr)
{
	struct ethhdr *eth = skb_push(skb, ETH_HLEN);

	if (!eth)
		return -ENOSPC;
	memcpy(eth->h_dest, daddr, ETH_ALEN);
	memcpy(eth->h_source, saddr ? saddr : dev->dev_addr, ETH_ALEN);
	eth->h_proto = htons(proto);
	skb_reset_mac_header(skb);
	return 0;
}

const struct header_ops eth_header_ops = {
	.create = eth_header,
	.type_trans = eth_type_trans,
};

void ether_setup(struct net_device *dev)
{
	dev->header_ops = &eth_header_ops;
	dev->hard_header_len = ETH_HLEN;
	dev->addr_len = ETH_ALEN;
	memset(dev->broadcast, 0xff, ETH_ALEN);
	atomic_fetch_or(&dev->flags, NETDEV_IFF_BROADCAST | NETDEV_IFF_MULTICAST);
}
