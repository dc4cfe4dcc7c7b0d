/*
 * netstackctl qdisc and netstackctl link set DEV txqueuelen N: the
 * transmit queues' qdiscs with their counters (as `tc -s qdisc show`),
 * and the one qdisc parameter that can change at run time, txqueuelen
 * (as `ip link set DEV txqueuelen N`).
 *
 * Runs on the control thread for each QdiscRequest, after the IPC server
 * decided whether the peer may change a device.  Counters are read with
 * relaxed loads (sch_generic.h); txqueuelen is a relaxed store that the
 * next enqueue sees.  Each QdiscInfo is the first member of a wrapper
 * holding its device name, so one free() releases both.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/netdev.h"
#include "core/sch_generic.h"
#include "ctl/ctl.h"
#include "log.h"

struct ctl_qdisc {
	Netstack__QdiscInfo msg;        /* first: free(msg) frees the wrapper */
	char dev[IFNAMSIZ];
};

static Netstack__QdiscInfo *ctl_qdisc_info(const struct net_device *dev, unsigned int q)
{
	struct ctl_qdisc *c = calloc(1, sizeof(*c));
	const struct netdev_queue *txq = &dev->tx[q];
	const struct Qdisc *qd = &txq->qdisc;

	if (!c)
		return NULL;
	netstack__qdisc_info__init(&c->msg);
	snprintf(c->dev, sizeof(c->dev), "%s", dev->name);
	c->msg.dev = c->dev;
	c->msg.queue = q;
	c->msg.tx_queues = dev->num_tx_queues;
	if (dev->priv_flags & NETDEV_IFF_NO_QUEUE) {
		c->msg.kind = (char *)"noqueue";
		return &c->msg;
	}
	c->msg.kind = (char *)"pfifo_fast";
	c->msg.limit = atomic_load_explicit(&((struct net_device *)dev)->tx_queue_len,
					    memory_order_relaxed);
	c->msg.bytes = ns_counter_read(&qd->bytes);
	c->msg.packets = ns_counter_read(&qd->packets);
	c->msg.drops = ns_counter_read(&qd->drops);
	c->msg.overlimits = ns_counter_read(&qd->overlimits);
	c->msg.requeues = ns_counter_read(&qd->requeues);
	c->msg.qlen = ns_counter_read(&qd->qlen);
	c->msg.backlog = ns_counter_read(&qd->backlog);
	c->msg.stopped = netif_xmit_stopped(txq);
	return &c->msg;
}

int ctl_qdisc(const Netstack__QdiscRequest *req, Netstack__QdiscReply *reply, char *err,
	      size_t errlen)
{
	const char *name = req->dev ? req->dev : "";
	struct net_device *dev, *only = NULL;
	size_t n = 0;

	netstack__qdisc_reply__init(reply);
	if (name[0]) {
		only = dev_get_by_name(name);
		if (!only) {
			snprintf(err, errlen, "Cannot find device \"%s\"", name);
			return -ENODEV;
		}
	}
	if (req->set_txqueuelen) {
		if (!only) {
			snprintf(err, errlen, "txqueuelen: give a device");
			return -EINVAL;
		}
		if (only->priv_flags & NETDEV_IFF_NO_QUEUE) {
			snprintf(err, errlen, "%s is noqueue: it has no transmit queue to size",
				 only->name);
			return -EOPNOTSUPP;
		}
		if (dev_set_tx_queue_len(only, req->set_txqueuelen) < 0) {
			snprintf(err, errlen, "txqueuelen must be 1..%u, not %u",
				 NETDEV_MAX_TXQUEUELEN, req->set_txqueuelen);
			return -EINVAL;
		}
		ns_log(NS_LOG_INFO, "link %s: txqueuelen %u", only->name, req->set_txqueuelen);
	}
	for (dev = netdev_first(); dev; dev = dev->next)
		if (!only || dev == only)
			n += dev->num_tx_queues;
	reply->qdiscs = calloc(n ? n : 1, sizeof(*reply->qdiscs));
	if (!reply->qdiscs)
		goto nomem;
	for (dev = netdev_first(); dev; dev = dev->next) {
		if (only && dev != only)
			continue;
		for (unsigned int q = 0; q < dev->num_tx_queues && reply->n_qdiscs < n; q++) {
			reply->qdiscs[reply->n_qdiscs] = ctl_qdisc_info(dev, q);
			if (!reply->qdiscs[reply->n_qdiscs])
				goto nomem;
			reply->n_qdiscs++;
		}
	}
	return 0;
nomem:
	ctl_qdisc_free(reply);
	snprintf(err, errlen, "out of memory");
	return -ENOMEM;
}

void ctl_qdisc_free(Netstack__QdiscReply *reply)
{
	for (size_t i = 0; i < reply->n_qdiscs; i++)
		free(reply->qdiscs[i]);
	free(reply->qdiscs);
	netstack__qdisc_reply__init(reply);
}
