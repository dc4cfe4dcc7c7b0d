/*
 * ARP: arp_rcv validates, arp_process answers requests for our addresses
 * and feeds the neighbour cache.
 *
 * Context: workers; arp_rcv consumes its skb.  No state of its own: the
 * mapping lives in the neighbour cache.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include "core/dev.h"
#include "core/netdev.h"
#include "core/skb.h"
#include "log.h"
#include "net/core/neighbour.h"
#include "net/ipv4/arp.h"
#include "net/ipv4/devinet.h"
#include "net/ipv4/ip.h"
#include "net/ipv4/snmp.h"
#include "net/wire/arp.h"
#include "net/wire/ether.h"

int arp_send(int op, struct net_device *dev, uint32_t dest_ip, uint32_t src_ip,
	     const uint8_t *dest_hw, const uint8_t *target_hw)
{
	static const uint8_t zero[ETH_ALEN];
	struct arp_eth_ipv4 *arp;
	struct sk_buff *skb;

	skb = alloc_skb(NS_MAX_HEADER + sizeof(*arp));
	if (!skb) {
		drop_count(SKB_DROP_REASON_NOMEM);
		return -ENOMEM;
	}
	skb_reserve(skb, NS_MAX_HEADER);
	arp = skb_put(skb, sizeof(*arp));
	arp->hdr.ar_hrd = htons(ARPHRD_ETHER);
	arp->hdr.ar_pro = htons(ETH_P_IP);
	arp->hdr.ar_hln = ETH_ALEN;
	arp->hdr.ar_pln = 4;
	arp->hdr.ar_op = htons((uint16_t)op);
	memcpy(arp->ar_sha, dev->dev_addr, ETH_ALEN);
	arp->ar_sip = src_ip;
	memcpy(arp->ar_tha, target_hw ? target_hw : zero, ETH_ALEN);
	arp->ar_tip = dest_ip;
	skb->dev = dev;
	skb->protocol = htons(ETH_P_ARP);
	if (dev->header_ops->create(skb, dev, ETH_P_ARP, dest_hw ? dest_hw : dev->broadcast,
				    NULL) < 0) {
		kfree_skb_reason(skb, SKB_DROP_REASON_TX_HEADROOM);
		return -ENOSPC;
	}
	if (op == ARPOP_REQUEST)
		__ARP_INC_STATS(OUTREQUESTS);
	else
		__ARP_INC_STATS(OUTREPLIES);
	return dev_queue_xmit(skb);
}

void arp_announce(struct net_device *dev)
{
	struct in_device *in_dev = in_dev_get(dev);

	/* A loopback device has no neighbours to tell (IFF_NOARP in the kernel). */
	if (!in_dev || (atomic_load(&dev->flags) & NETDEV_IFF_LOOPBACK))
		return;
	for (struct in_ifaddr *ifa = atomic_load(&in_dev->ifa_list); ifa; ifa = ifa->ifa_next) {
		if (atomic_load(&ifa->dead))
			continue;
		__ARP_INC_STATS(OUTGRATUITOUS);
		arp_send(ARPOP_REQUEST, dev, ifa->ifa_local, ifa->ifa_local, NULL, NULL);
	}
}

/* The neighbour layer's solicit hook: an ARP request for @ip. */
static void arp_solicit(struct net_device *dev, uint32_t ip, const uint8_t *unicast_hw)
{
	arp_send(ARPOP_REQUEST, dev, ip, inet_select_addr(dev, ip), unicast_hw, NULL);
}

static bool ipv4_bad_sender(uint32_t ip)
{
	uint32_t h = ntohl(ip);

	return (h & 0xf0000000u) == 0xe0000000u || (h & 0xff000000u) == 0x7f000000u ||
	       h == 0xffffffffu;
}

static int arp_process(struct sk_buff *skb, struct net_device *dev)
{
	const struct arp_eth_ipv4 *arp = (const struct arp_eth_ipv4 *)skb->data;
	uint16_t op = ntohs(arp->hdr.ar_op);
	uint32_t sip = arp->ar_sip, tip = arp->ar_tip;
	uint8_t sha[ETH_ALEN];
	bool for_us;

	memcpy(sha, arp->ar_sha, ETH_ALEN);
	if (is_multicast_ether_addr(sha) || is_zero_ether_addr(sha) || ipv4_bad_sender(sip) ||
	    ipv4_bad_sender(tip)) {
		kfree_skb_reason(skb, SKB_DROP_REASON_ARP_BAD_ADDR);
		return -1;
	}
	if (op == ARPOP_REQUEST)
		__ARP_INC_STATS(INREQUESTS);
	else
		__ARP_INC_STATS(INREPLIES);
	if (sip == tip)
		__ARP_INC_STATS(INGRATUITOUS);

	if (sip && inet_addr_is_local(dev, sip) && !ether_addr_equal(sha, dev->dev_addr)) {
		static struct ns_ratelimit rl;

		if (ns_ratelimit(&rl, 5000, 1)) {
			char a[INET_ADDRSTRLEN];

			inet_ntop(AF_INET, &sip, a, sizeof(a));
			ns_warn("%s: address conflict: %s is also claimed by "
				"%02x:%02x:%02x:%02x:%02x:%02x", dev->name, a, sha[0], sha[1],
				sha[2], sha[3], sha[4], sha[5]);
		}
	}

	for_us = inet_addr_is_local(dev, tip);
	if (op == ARPOP_REQUEST && for_us) {
		/* A probe (sender 0.0.0.0, RFC 5227) is answered but not learned. */
		if (sip)
			neigh_update(dev, sip, sha, true, false);
		arp_send(ARPOP_REPLY, dev, sip, tip, sha, sha);
	} else if (sip) {
		/*
		 * A reply to us confirms the mapping; anything else only
		 * refreshes an entry we already have (gratuitous ARP).
		 */
		bool solicited = op == ARPOP_REPLY && for_us && skb->pkt_type == PACKET_HOST;

		neigh_update(dev, sip, sha, false, solicited);
		if (!for_us)
			__ARP_INC_STATS(NOTFORUS);
	}
	consume_skb(skb);
	return 0;
}

static int arp_rcv(struct sk_buff *skb, struct net_device *dev, const struct packet_type *pt)
{
	const struct arphdr *arp;

	(void)pt;
	if (skb->pkt_type == PACKET_OTHERHOST) {
		kfree_skb_reason(skb, SKB_DROP_REASON_OTHERHOST);
		return -1;
	}
	if (!skb_may_pull(skb, sizeof(struct arphdr))) {
		kfree_skb_reason(skb, SKB_DROP_REASON_ARP_TRUNCATED);
		return -1;
	}
	arp = (const struct arphdr *)skb->data;
	if (arp->ar_hrd != htons(ARPHRD_ETHER) || arp->ar_pro != htons(ETH_P_IP) ||
	    arp->ar_hln != ETH_ALEN || arp->ar_pln != 4) {
		kfree_skb_reason(skb, SKB_DROP_REASON_ARP_BAD_HDR);
		return -1;
	}
	if (!skb_may_pull(skb, sizeof(struct arp_eth_ipv4))) {
		kfree_skb_reason(skb, SKB_DROP_REASON_ARP_TRUNCATED);
		return -1;
	}
	if (arp->ar_op != htons(ARPOP_REQUEST) && arp->ar_op != htons(ARPOP_REPLY)) {
		kfree_skb_reason(skb, SKB_DROP_REASON_ARP_BAD_OP);
		return -1;
	}
	return arp_process(skb, dev);
}

static struct packet_type arp_packet_type = {
	.name = "arp",
	.func = arp_rcv,
};

void arp_init(void)
{
	arp_packet_type.type = htons(ETH_P_ARP);
	dev_add_pack(&arp_packet_type);
	neigh_set_solicit(arp_solicit);
}
