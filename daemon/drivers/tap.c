/*
 * The TAP driver.  A TAP queue fd is our NIC's descriptor ring: the kernel
 * writes frames into it and we read them (receive), we write frames and
 * the kernel receives them (transmit).  With IFF_MULTI_QUEUE every queue
 * is its own fd, polled by the worker its irq is affine to.
 *
 * Context: tap_create/tap_destroy on the control thread; tap_irq_handler,
 * tap_napi_poll and tap_xmit on workers.  A queue's fd is read only by
 * its irq's worker; any worker may write to any queue (a TAP write is one
 * atomic kernel call), but dev_queue_xmit picks the caller's own queue.
 * Only this file touches the fds and ioctls.
 *
 * With net.netstack.impair.dir set, frames pass through the test link
 * impairment (drivers/impair.c) between the queue and the stack; held
 * frames continue from the worker's timer.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/epoll.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/debug.h"
#include "core/dev.h"
#include "core/gro.h"
#include "core/netdev.h"
#include "core/skb.h"
#include "core/softnet.h"
#include "core/sysctl.h"
#include "core/trace.h"
#include "drivers/impair.h"
#include "drivers/tap.h"
#include "drivers/tap_nl.h"
#include "log.h"

#define TAP_VLAN_SLACK 4
#define ARPHRD_ETHER_TAP 1

struct tap_priv {
	int fds[NETDEV_MAX_QUEUES];
	int txfds[NETDEV_MAX_QUEUES]; /* dups of fds: the TX completion irqs */
	unsigned int nqueues;
	uint32_t rx_buf_len;        /* largest frame we accept */
	struct tap_nl *nl;
	char kname[IFNAMSIZ];       /* the kernel's name for the link */
};

/*
 * The worker for the next TAP's first queue: queues are dealt round-robin
 * over the workers across devices, so that two single-queue TAPs (a
 * router's two sides) are polled by two workers.  Control thread only.
 */
static unsigned int tap_first_cpu;

static struct tap_priv *tap_priv(struct net_device *dev)
{
	return dev->priv;
}

/* The "hardirq": mask the line and schedule the queue's NAPI context. */
static void tap_irq_handler(void *arg)
{
	struct netdev_rx_queue *rxq = arg;

	if (trace_active())
		rxq->trace_irq_ns = ns_now_ns();
	disable_irq_nosync(&rxq->irq);
	napi_schedule(&rxq->napi);
}

/*
 * NAPI poll: read up to @budget frames from the queue.  Completes (and
 * unmasks the irq) only after read() said the queue is empty, so the next
 * frame raises a new edge.
 */
/* Impaired rx frames continue here: at once inside the poll ... */
static void tap_rx_now(struct sk_buff *skb)
{
	napi_gro_receive(&skb->dev->rx[skb->queue_mapping].napi, skb);
}

/* ... or after the delay, from the timer, outside any NAPI poll. */
static void tap_rx_later(struct sk_buff *skb)
{
	netif_receive_skb(skb);
}

static const struct impair_out tap_rx_impair_out = {
	.now = tap_rx_now,
	.later = tap_rx_later,
};

static int tap_napi_poll(struct napi_struct *napi, int budget)
{
	struct net_device *dev = napi->dev;
	struct netdev_rx_queue *rxq = ns_container_of(napi, struct netdev_rx_queue, napi);
	struct tap_priv *tp = tap_priv(dev);
	struct pcpu_netstats *st = dev_this_stats(dev);
	int fd = tp->fds[rxq->index];
	int work = 0;

	while (work < budget) {
		struct sk_buff *skb;
		ssize_t n;
		int reason;

		skb = netdev_alloc_skb(dev, tp->rx_buf_len + 1);
		if (!skb) {
			/* Leave the frame in the queue; try again next round. */
			ns_counter_inc(&st->rx_dropped);
			ns_counter_inc(&rxq->rx_dropped);
			drop_count(SKB_DROP_REASON_NOMEM);
			return budget;
		}
		n = read(fd, skb->data, tp->rx_buf_len + 1);
		if (n <= 0) {
			int err = n < 0 ? errno : EIO;

			consume_skb(skb);
			if (err == EAGAIN || err == EWOULDBLOCK)
				break;
			if (err == EINTR)
				continue;
			ns_counter_inc(&st->rx_errors);
			break;
		}
		work++;
		skb_put(skb, (uint32_t)n);
		skb->queue_mapping = (uint16_t)rxq->index;
		skb->tstamp_us = ns_now_us();
		ns_counter_inc(&st->rx_packets);
		ns_counter_add(&st->rx_bytes, (uint64_t)n);
		ns_counter_inc(&rxq->rx_packets);
		ns_counter_add(&rxq->rx_bytes, (uint64_t)n);
		if ((uint32_t)n > tp->rx_buf_len) {
			ns_counter_inc(&rxq->rx_dropped);
			ns_counter_inc(&st->rx_length_errors);
			ns_counter_inc(&st->rx_errors);
			kfree_skb_reason(skb, SKB_DROP_REASON_PKT_TOO_BIG);
			continue;
		}
		reason = dev->header_ops->type_trans(skb, dev);
		if (reason != SKB_DROP_REASON_CONSUMED) {
			ns_counter_inc(&rxq->rx_dropped);
			ns_counter_inc(&st->rx_length_errors);
			ns_counter_inc(&st->rx_errors);
			kfree_skb_reason(skb, (enum skb_drop_reason)reason);
			continue;
		}
		if (skb->pkt_type == PACKET_MULTICAST || skb->pkt_type == PACKET_BROADCAST)
			ns_counter_inc(&st->multicast);
		if (trace_active())
			trace_sample_rx(skb, rxq->trace_irq_ns, rxq->index);
		if (impair_enabled(IMPAIR_RX))
			impair_skb(skb, IMPAIR_RX, &tap_rx_impair_out);
		else
			napi_gro_receive(napi, skb);
	}
	if (work < budget && napi_complete_done(napi, work))
		enable_irq(&rxq->irq);
	return work;
}

#define TAP_TX_IRQ_EVENTS (EPOLLOUT | EPOLLET | EPOLLONESHOT)

/*
 * Write one frame to the queue skb->queue_mapping; ndo_start_xmit's
 * contract.  A full queue (EAGAIN: the TAP's socket send buffer is
 * charged with frames the kernel has not processed yet) stops the queue
 * and arms its TX irq (EPOLLOUT, one shot) before saying busy, so that the
 * worker serving it sends what waits once the kernel made room, without
 * polling.
 */
static netdev_tx_t tap_xmit_frame(struct sk_buff *skb, struct net_device *dev)
{
	struct tap_priv *tp = tap_priv(dev);
	struct pcpu_netstats *st = dev_this_stats(dev);
	unsigned int q = skb->queue_mapping % tp->nqueues;
	struct netdev_queue *txq = &dev->tx[q];
	ssize_t n;

	skb_trace(skb, NS_TRACE_DRIVER_XMIT, skb->queue_mapping % tp->nqueues);
	do {
		n = write(tp->fds[q], skb->data, skb->len);
	} while (n < 0 && errno == EINTR);
	if (n < 0) {
		if ((errno == EAGAIN || errno == EWOULDBLOCK) && tp->txfds[q] >= 0) {
			netif_tx_stop_queue(txq);
			if (irq_rearm(&txq->tx_irq, TAP_TX_IRQ_EVENTS) == 0)
				return NETDEV_TX_BUSY;
			/* No way to hear about room: do not wait for it. */
			netif_tx_wake_queue(txq);
		}
		ns_counter_inc(&st->tx_errors);
		ns_counter_inc(&st->tx_dropped);
		ns_counter_add_shared(&txq->tx_dropped, 1);
		kfree_skb_reason(skb, SKB_DROP_REASON_TX_ERROR);
		return NETDEV_TX_OK;
	}
	ns_counter_inc(&st->tx_packets);
	ns_counter_add(&st->tx_bytes, skb->len);
	ns_counter_add_shared(&txq->tx_packets, 1);
	ns_counter_add_shared(&txq->tx_bytes, skb->len);
	consume_skb(skb);
	return NETDEV_TX_OK;
}

/* The TX completion irq: the queue fd is writable again. */
static void tap_tx_irq_handler(void *arg)
{
	struct netdev_queue *txq = arg;

	if (netif_xmit_stopped(txq))
		netif_tx_wake_queue(txq);
}

/*
 * An impaired frame that may go: a full queue drops it (this also runs
 * from the delay timer, past the qdisc, with nobody to retry).
 */
static void tap_tx_impaired(struct sk_buff *skb)
{
	struct net_device *dev = skb->dev;

	if (tap_xmit_frame(skb, dev) != NETDEV_TX_OK) {
		ns_counter_inc(&dev_this_stats(dev)->tx_dropped);
		kfree_skb_reason(skb, SKB_DROP_REASON_TX_ERROR);
	}
}

static const struct impair_out tap_tx_impair_out = {
	.now = tap_tx_impaired,
	.later = tap_tx_impaired,
};

static netdev_tx_t tap_xmit(struct sk_buff *skb, struct net_device *dev)
{
	if (impair_enabled(IMPAIR_TX)) {
		impair_skb(skb, IMPAIR_TX, &tap_tx_impair_out);
		return NETDEV_TX_OK;
	}
	return tap_xmit_frame(skb, dev);
}

static int tap_open(struct net_device *dev)
{
	return 0;
}

static int tap_stop(struct net_device *dev)
{
	for (unsigned int q = 0; q < dev->num_rx_queues; q++)
		free_irq(&dev->rx[q].irq);
	for (unsigned int q = 0; q < dev->num_tx_queues; q++)
		free_irq(&dev->tx[q].tx_irq);
	/* Frames still held for the delay would outlive the device. */
	impair_flush_dev(dev);
	return 0;
}

static void tap_get_stats64(struct net_device *dev, struct rtnl_link_stats64_ns *st)
{
	struct tap_priv *tp = tap_priv(dev);
	uint64_t dropped;

	/* Frames the kernel dropped because we did not read fast enough. */
	if (tp->nl && tap_nl_tx_dropped(tp->nl, tp->kname, &dropped) == 0)
		st->rx_over_errors += dropped;
}

static void tap_uninit(struct net_device *dev)
{
	struct tap_priv *tp = tap_priv(dev);

	for (unsigned int q = 0; q < tp->nqueues; q++) {
		if (tp->fds[q] >= 0)
			close(tp->fds[q]);
		if (tp->txfds[q] >= 0)
			close(tp->txfds[q]);
		tp->fds[q] = tp->txfds[q] = -1;
	}
	tap_nl_close(tp->nl);
}

static const struct net_device_ops tap_netdev_ops = {
	.ndo_open = tap_open,
	.ndo_stop = tap_stop,
	.ndo_start_xmit = tap_xmit,
	.ndo_get_stats64 = tap_get_stats64,
	.ndo_uninit = tap_uninit,
};

/* Open one queue of TAP @name; fd or -errno. */
static int tap_open_queue(const char *name, bool multi, char *kname)
{
	struct ifreq ifr;
	int fd, err;

	fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | (multi ? IFF_MULTI_QUEUE : 0);
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		err = -errno;
		close(fd);
		return err;
	}
	snprintf(kname, IFNAMSIZ, "%s", ifr.ifr_name);
	return fd;
}

static void random_mac(uint8_t mac[6])
{
	if (getrandom(mac, 6, 0) != 6) {
		uint64_t t = ns_now_ns();

		memcpy(mac, &t, 6);
	}
	mac[0] = (uint8_t)((mac[0] & 0xfe) | 0x02); /* unicast, locally administered */
}

struct net_device *tap_create(const struct tap_params *p, char *err, size_t errlen)
{
	struct net_device *dev;
	struct tap_priv *tp;
	char nlerr[256];
	int weight = p->weight ? (int)p->weight : (int)sysctl_read(&sysctl_dev_weight);

	if (p->queues < 1 || p->queues > NETDEV_MAX_QUEUES) {
		snprintf(err, errlen, "queues must be 1..%d", NETDEV_MAX_QUEUES);
		return NULL;
	}
	dev = alloc_netdev(sizeof(struct tap_priv), p->name);
	if (!dev) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	tp = tap_priv(dev);
	for (unsigned int q = 0; q < NETDEV_MAX_QUEUES; q++)
		tp->fds[q] = tp->txfds[q] = -1;
	for (unsigned int q = 0; q < p->queues; q++) {
		int fd = tap_open_queue(p->name, p->queues > 1, tp->kname);

		if (fd < 0) {
			if (fd == -EPERM || fd == -EACCES)
				snprintf(err, errlen, "cannot open TAP %s: %s (netstackd needs "
					 "CAP_NET_ADMIN and access to /dev/net/tun)",
					 p->name, strerror(-fd));
			else if (fd == -ENOENT || fd == -ENODEV)
				snprintf(err, errlen, "cannot open TAP %s: /dev/net/tun: %s "
					 "(is the tun module loaded?)", p->name, strerror(-fd));
			else
				snprintf(err, errlen, "cannot open TAP %s: %s", p->name,
					 strerror(-fd));
			goto free_dev;
		}
		tp->fds[q] = fd;
		tp->nqueues = q + 1;
		tp->txfds[q] = fcntl(fd, F_DUPFD_CLOEXEC, 0);
		if (tp->txfds[q] < 0) {
			snprintf(err, errlen, "TAP %s: %s", p->name, strerror(errno));
			goto free_dev;
		}
	}
	tp->nl = tap_nl_open(nlerr, sizeof(nlerr));
	if (!tp->nl) {
		snprintf(err, errlen, "TAP %s: %s", p->name, nlerr);
		goto free_dev;
	}
	if (tap_nl_configure(tp->nl, tp->kname, p->mtu, p->host_addr, p->host_prefixlen,
			     nlerr, sizeof(nlerr)) < 0) {
		snprintf(err, errlen, "TAP %s: %s", p->name, nlerr);
		goto free_dev;
	}

	dev->kind = "tap";
	dev->type = ARPHRD_ETHER_TAP;
	dev->mtu = p->mtu;
	dev->netdev_ops = &tap_netdev_ops;
	dev->num_rx_queues = p->queues;
	dev->num_tx_queues = p->queues;
	if (p->txqueuelen)
		(void)dev_set_tx_queue_len(dev, p->txqueuelen);
	if (p->mac)
		memcpy(dev->dev_addr, p->mac, 6);
	else
		random_mac(dev->dev_addr);
	tp->rx_buf_len = p->mtu + 14 + TAP_VLAN_SLACK;

	for (unsigned int q = 0; q < p->queues; q++) {
		struct netdev_rx_queue *rxq = &dev->rx[q];
		int cpu = p->irq_affinity[q] > 0 ? p->irq_affinity[q] - 1
			  : (int)((tap_first_cpu + q) % (unsigned int)nr_workers);
		char name[32];
		int rc;

		if (cpu >= nr_workers) {
			snprintf(err, errlen, "TAP %s: irq_affinity of queue %u is worker %d, "
				 "but there are %d workers", p->name, q, cpu, nr_workers);
			tap_stop(dev);
			goto free_dev;
		}
		netif_napi_add(dev, q, tap_napi_poll, weight, cpu);
		netif_set_xps_queue(dev, q, cpu);
		rxq->rps_mask = p->rps_mask;
		if (p->rps_mask)
			rps_needed = true;
		snprintf(name, sizeof(name), "%s-rx-%u", p->name, q);
		rc = request_irq(&rxq->irq, cpu, tp->fds[q], tap_irq_handler, rxq, name);
		if (rc == 0) {
			snprintf(name, sizeof(name), "%s-tx-%u", p->name, q);
			rc = request_irq_events(&dev->tx[q].tx_irq, cpu, tp->txfds[q],
						TAP_TX_IRQ_EVENTS, tap_tx_irq_handler,
						&dev->tx[q], name);
		}
		if (rc < 0) {
			snprintf(err, errlen, "TAP %s: cannot watch queue %u: %s", p->name, q,
				 strerror(-rc));
			tap_stop(dev);
			goto free_dev;
		}
	}
	if (register_netdev(dev) < 0) {
		snprintf(err, errlen, "TAP %s: a device of that name exists", p->name);
		tap_stop(dev);
		goto free_dev;
	}
	tap_first_cpu = (tap_first_cpu + p->queues) % (unsigned int)nr_workers;
	return dev;

free_dev:
	tap_uninit(dev);
	free_netdev(dev);
	return NULL;
}

void tap_destroy(struct net_device *dev)
{
	if (!dev)
		return;
	dev_close(dev);
	unregister_netdev(dev);
	tap_uninit(dev);
	free_netdev(dev);
}
