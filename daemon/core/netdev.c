/*
 * Device registry, per-worker device statistics and dev_queue_xmit.
 *
 * Context: registration on the control thread before workers start;
 * dev_queue_xmit on workers; dev_get_stats anywhere.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/debug.h"
#include "core/dev.h"
#include "core/netdev.h"
#include "core/skb.h"
#include "core/trace.h"

static struct net_device *dev_base;
static int dev_next_ifindex = 1;

struct net_device *loopback_dev;

struct net_device *alloc_netdev(size_t priv_size, const char *name)
{
	struct net_device *dev = calloc(1, sizeof(*dev));

	if (!dev)
		return NULL;
	if (priv_size) {
		dev->priv = calloc(1, priv_size);
		if (!dev->priv) {
			free(dev);
			return NULL;
		}
	}
	/* One slot per worker plus one for threads that are not workers. */
	dev->pcpu_stats = calloc((size_t)NS_MAX_WORKERS + 1, sizeof(*dev->pcpu_stats));
	if (!dev->pcpu_stats) {
		free(dev->priv);
		free(dev);
		return NULL;
	}
	snprintf(dev->name, sizeof(dev->name), "%s", name);
	dev->mtu = 1500;
	dev->num_rx_queues = 1;
	dev->num_tx_queues = 1;
	for (unsigned int q = 0; q < NETDEV_MAX_QUEUES; q++) {
		dev->rx[q].dev = dev;
		dev->rx[q].index = q;
		dev->rx[q].irq.fd = -1;
		dev->tx[q].dev = dev;
		dev->tx[q].index = q;
		dev->tx[q].irq_cpu = -1;
		dev->tx[q].tx_irq.fd = -1;
		qdisc_init(&dev->tx[q].qdisc, &dev->tx[q]);
	}
	atomic_init(&dev->tx_queue_len, NETDEV_DEFAULT_TXQUEUELEN);
	for (unsigned int w = 0; w < NS_MAX_WORKERS; w++)
		dev->xps_queue[w] = 0xff;   /* none: worker % num_tx_queues */
	return dev;
}

void free_netdev(struct net_device *dev)
{
	if (!dev)
		return;
	for (unsigned int q = 0; q < NETDEV_MAX_QUEUES; q++)
		qdisc_destroy(&dev->tx[q].qdisc);
	free(dev->pcpu_stats);
	free(dev->priv);
	free(dev);
}

int register_netdev(struct net_device *dev)
{
	struct net_device **pp;

	if (dev_get_by_name(dev->name))
		return -EEXIST;
	dev->ifindex = dev_next_ifindex++;
	for (pp = &dev_base; *pp; pp = &(*pp)->next)
		;
	dev->next = NULL;
	*pp = dev;
	return 0;
}

void unregister_netdev(struct net_device *dev)
{
	if (dev == loopback_dev)
		loopback_dev = NULL;
	for (struct net_device **pp = &dev_base; *pp; pp = &(*pp)->next) {
		if (*pp == dev) {
			*pp = dev->next;
			dev->next = NULL;
			return;
		}
	}
}

struct net_device *netdev_first(void)
{
	return dev_base;
}

struct net_device *dev_get_by_index(int ifindex)
{
	for (struct net_device *d = dev_base; d; d = d->next)
		if (d->ifindex == ifindex)
			return d;
	return NULL;
}

struct net_device *dev_get_by_name(const char *name)
{
	for (struct net_device *d = dev_base; d; d = d->next)
		if (strcmp(d->name, name) == 0)
			return d;
	return NULL;
}

int dev_open(struct net_device *dev)
{
	int err = 0;

	if (dev->netdev_ops->ndo_open)
		err = dev->netdev_ops->ndo_open(dev);
	if (err == 0)
		atomic_fetch_or(&dev->flags, NETDEV_IFF_UP | NETDEV_IFF_RUNNING);
	return err;
}

void dev_close(struct net_device *dev)
{
	if (!netif_running(dev))
		return;
	atomic_fetch_and(&dev->flags, ~(unsigned int)(NETDEV_IFF_UP | NETDEV_IFF_RUNNING));
	if (dev->netdev_ops->ndo_stop)
		dev->netdev_ops->ndo_stop(dev);
	/* dev_deactivate: what waits in the qdiscs goes with the device. */
	for (unsigned int q = 0; q < NETDEV_MAX_QUEUES; q++)
		qdisc_reset(&dev->tx[q].qdisc, SKB_DROP_REASON_DEV_READY);
}

void netif_napi_add(struct net_device *dev, unsigned int q, napi_poll_fn poll,
		    int weight, int worker)
{
	struct napi_struct *napi = &dev->rx[q].napi;

	napi->poll = poll;
	napi->weight = weight;
	napi->dev = dev;
	napi->sd = softnet_get(worker);
	napi->state = 0;
}

struct pcpu_netstats *dev_this_stats(struct net_device *dev)
{
	int cpu = smp_processor_id();

	return &dev->pcpu_stats[cpu < 0 ? NS_MAX_WORKERS : cpu];
}

void dev_get_stats(struct net_device *dev, struct rtnl_link_stats64_ns *st)
{
	memset(st, 0, sizeof(*st));
	for (int i = 0; i <= NS_MAX_WORKERS; i++) {
		const struct pcpu_netstats *p = &dev->pcpu_stats[i];

		st->rx_packets += ns_counter_read(&p->rx_packets);
		st->rx_bytes += ns_counter_read(&p->rx_bytes);
		st->rx_errors += ns_counter_read(&p->rx_errors);
		st->rx_dropped += ns_counter_read(&p->rx_dropped);
		st->rx_length_errors += ns_counter_read(&p->rx_length_errors);
		st->multicast += ns_counter_read(&p->multicast);
		st->tx_packets += ns_counter_read(&p->tx_packets);
		st->tx_bytes += ns_counter_read(&p->tx_bytes);
		st->tx_errors += ns_counter_read(&p->tx_errors);
		st->tx_dropped += ns_counter_read(&p->tx_dropped);
	}
	if (dev->netdev_ops && dev->netdev_ops->ndo_get_stats64)
		dev->netdev_ops->ndo_get_stats64(dev, st);
}

unsigned int netdev_pick_tx(const struct net_device *dev)
{
	int cpu = smp_processor_id();
	unsigned int q;

	if (cpu < 0)
		return 0;
	q = dev->xps_queue[cpu];
	if (q >= dev->num_tx_queues)
		q = (unsigned int)cpu % dev->num_tx_queues;
	return q;
}

void netif_set_xps_queue(struct net_device *dev, unsigned int q, int cpu)
{
	if (q >= NETDEV_MAX_QUEUES || cpu < 0 || cpu >= NS_MAX_WORKERS)
		return;
	dev->tx[q].irq_cpu = cpu;
	/* A worker with several queues sends on the first of them. */
	if (dev->xps_queue[cpu] == 0xff)
		dev->xps_queue[cpu] = (uint8_t)q;
}

int dev_set_tx_queue_len(struct net_device *dev, unsigned long len)
{
	if (len < 1 || len > NETDEV_MAX_TXQUEUELEN)
		return -EINVAL;
	atomic_store_explicit(&dev->tx_queue_len, (uint32_t)len, memory_order_relaxed);
	return 0;
}

int dev_queue_xmit(struct sk_buff *skb)
{
	struct net_device *dev = skb->dev;
	unsigned int q;

	if (ns_unlikely(!netif_running(dev))) {
		ns_counter_inc(&dev_this_stats(dev)->tx_dropped);
		kfree_skb_reason(skb, SKB_DROP_REASON_DEV_READY);
		return -ENETDOWN;
	}
	/*
	 * Drivers write skb->data..len in one piece (no scatter-gather): a
	 * non-linear skb is made linear first (validate_xmit_skb).
	 */
	if (ns_unlikely(skb_is_nonlinear(skb)) && skb_linearize(skb)) {
		ns_counter_inc(&dev_this_stats(dev)->tx_dropped);
		kfree_skb_reason(skb, SKB_DROP_REASON_NOMEM);
		return -ENOMEM;
	}
	q = netdev_pick_tx(dev);
	skb->queue_mapping = (uint16_t)q;
	skb_trace(skb, NS_TRACE_DEV_QUEUE_XMIT, skb->queue_mapping);
	/* Taps (packet capture) see what is sent, as in the kernel's xmit_one. */
	if (ns_unlikely(dev_nit_active()))
		dev_queue_xmit_nit(skb, dev);
	if (!(dev->priv_flags & NETDEV_IFF_NO_QUEUE)) {
		skb_trace(skb, NS_TRACE_QDISC, q);
		return qdisc_xmit(skb, dev, &dev->tx[q]);
	}
	/* noqueue (lo): the driver is the only queue, and it never fills. */
	if (dev->netdev_ops->ndo_start_xmit(skb, dev) != NETDEV_TX_OK) {
		ns_counter_inc(&dev_this_stats(dev)->tx_dropped);
		kfree_skb_reason(skb, SKB_DROP_REASON_TX_ERROR);
		return -ENOBUFS;
	}
	return 0;
}
