/*
 * The loopback device, mirroring the kernel's drivers/net/loopback.c.
 *
 * "lo" carries 127.0.0.0/8 and every packet the stack sends to one of its
 * own addresses (ip_route_output picks it for local destinations).  Its
 * transmit routine turns the frame around: the link-layer header (an
 * Ethernet header of zero addresses, as the kernel's lo) is parsed by the
 * device's header operations and the frame goes to netif_rx(), the
 * backlog of the worker that sent it.  So a packet to ourselves is
 * received in that worker's next softirq round, never inside the
 * transmit call: no recursion, no lock held across, and the backlog's
 * netdev_max_backlog bounds a flood (a counted CPU_BACKLOG drop).
 *
 * Counters: a frame handed back counts once as sent and once as received
 * (bytes without the link-layer header, as the kernel counts lo); one the
 * backlog refused counts as an rx drop.
 *
 * Context: loopback_create/destroy on the control thread; the transmit
 * routine on workers.  Only the device's per-worker counters are written.
 */
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/dev.h"
#include "core/netdev.h"
#include "core/skb.h"
#include "drivers/loopback.h"

#define LOOPBACK_MTU (64u * 1024u)  /* the kernel's 65536 since Linux 4.11 */
#define LOOPBACK_HLEN 14u           /* an Ethernet header */
#define LOOPBACK_ALEN 6u
#define ARPHRD_LOOPBACK_NS 772

static netdev_tx_t loopback_xmit(struct sk_buff *skb, struct net_device *dev)
{
	struct pcpu_netstats *st = dev_this_stats(dev);
	uint32_t len;
	int reason;

	reason = dev->header_ops->type_trans(skb, dev);
	if (reason != SKB_DROP_REASON_CONSUMED) {
		ns_counter_inc(&st->tx_dropped);
		kfree_skb_reason(skb, (enum skb_drop_reason)reason);
		return NETDEV_TX_OK;
	}
	skb->queue_mapping = 0;
	skb->tstamp_us = ns_now_us();
	len = skb->len;
	if (netif_rx(skb) < 0) {
		/* The backlog was full: enqueue_to_backlog freed and counted it. */
		ns_counter_inc(&st->rx_dropped);
		return NETDEV_TX_OK;
	}
	ns_counter_inc(&st->tx_packets);
	ns_counter_add(&st->tx_bytes, len);
	ns_counter_inc(&st->rx_packets);
	ns_counter_add(&st->rx_bytes, len);
	return NETDEV_TX_OK;
}

static const struct net_device_ops loopback_ops = {
	.ndo_start_xmit = loopback_xmit,
};

struct net_device *loopback_create(void)
{
	struct net_device *dev = alloc_netdev(0, "lo");

	if (!dev)
		return NULL;
	dev->kind = "loopback";
	dev->type = ARPHRD_LOOPBACK_NS;
	dev->mtu = LOOPBACK_MTU;
	dev->hard_header_len = LOOPBACK_HLEN;
	dev->addr_len = LOOPBACK_ALEN;
	memset(dev->dev_addr, 0, sizeof(dev->dev_addr));
	memset(dev->broadcast, 0, sizeof(dev->broadcast));
	dev->netdev_ops = &loopback_ops;
	dev->num_rx_queues = 1;
	dev->num_tx_queues = 1;
	atomic_store(&dev->flags, NETDEV_IFF_LOOPBACK);
	/* As the kernel's lo: noqueue (frames go straight to netif_rx). */
	dev->priv_flags |= NETDEV_IFF_NO_QUEUE;
	if (register_netdev(dev) < 0) {
		free_netdev(dev);
		return NULL;
	}
	loopback_dev = dev;
	return dev;
}

void loopback_destroy(struct net_device *dev)
{
	if (!dev)
		return;
	dev_close(dev);
	unregister_netdev(dev);
	free_netdev(dev);
}
