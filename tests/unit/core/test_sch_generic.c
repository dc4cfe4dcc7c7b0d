/*
 * Unit tests for daemon/core/sch_generic.c: pfifo_fast's band selection
 * by TOS (the kernel's ip_tos2prio and prio2band maps), the empty-queue
 * bypass, requeue and band order after the driver was busy, the
 * txqueuelen limit with QDISC_DROP, noqueue devices, reset on close, and
 * on real workers: XPS (each worker sends on its own queue) and
 * net_tx_action after a wake-up, a few frames per round (dev_tx_weight).
 *
 * The device is a small fake of this file: its xmit keeps frames on a
 * locked list (workers call it) or, while busy, stops its queue and
 * returns NETDEV_TX_BUSY as a driver with a full ring does.  The TAP never
 * refuses a write in practice (its socket buffer is released as soon as
 * the kernel takes a frame), so this fake is how the deferred path is
 * exercised.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <time.h>

#include "core/drop.h"
#include "core/netdev.h"
#include "core/sch_generic.h"
#include "core/skb.h"
#include "core/softnet.h"
#include "core/sysctl.h"

static pthread_mutex_t sent_lock = PTHREAD_MUTEX_INITIALIZER;
static struct sk_buff_head sent;        /* under sent_lock */
static _Atomic bool busy;
static _Atomic unsigned int xmit_calls;
static struct skb_pool *pool;

static netdev_tx_t fake_xmit(struct sk_buff *skb, struct net_device *dev)
{
	atomic_fetch_add(&xmit_calls, 1);
	if (atomic_load(&busy)) {
		netif_tx_stop_queue(&dev->tx[skb->queue_mapping]);
		return NETDEV_TX_BUSY;
	}
	pthread_mutex_lock(&sent_lock);
	__skb_queue_tail(&sent, skb);
	pthread_mutex_unlock(&sent_lock);
	return NETDEV_TX_OK;
}

static const struct net_device_ops fake_ops = {
	.ndo_start_xmit = fake_xmit,
};

static unsigned int sent_count(void)
{
	unsigned int n;

	pthread_mutex_lock(&sent_lock);
	n = skb_queue_len(&sent);
	pthread_mutex_unlock(&sent_lock);
	return n;
}

/* Pop the oldest sent frame's TOS byte and its queue; -1 if none. */
static int sent_pop_tos(unsigned int *queue)
{
	struct sk_buff *skb;
	int tos;

	pthread_mutex_lock(&sent_lock);
	skb = __skb_dequeue(&sent);
	pthread_mutex_unlock(&sent_lock);
	if (!skb)
		return -1;
	tos = skb->data[15];
	if (queue)
		*queue = skb->queue_mapping;
	consume_skb(skb);
	return tos;
}

static struct net_device *fake_dev(unsigned int queues)
{
	struct net_device *dev = alloc_netdev(0, "qfake0");

	assert_non_null(dev);
	dev->netdev_ops = &fake_ops;
	dev->hard_header_len = 14;
	dev->num_rx_queues = dev->num_tx_queues = queues;
	assert_int_equal(register_netdev(dev), 0);
	assert_int_equal(dev_open(dev), 0);
	return dev;
}

static void fake_dev_free(struct net_device *dev)
{
	dev_close(dev);
	unregister_netdev(dev);
	free_netdev(dev);
}

/* An Ethernet frame carrying an IPv4 header with @tos (or ARP: @ip false). */
static struct sk_buff *frame(struct net_device *dev, uint8_t tos, bool ip)
{
	struct sk_buff *skb = alloc_skb(128);
	uint8_t *d;

	assert_non_null(skb);
	d = skb_put(skb, 34);
	memset(d, 0, 34);
	d[12] = 0x08;
	d[13] = ip ? 0x00 : 0x06;
	d[14] = 0x45;
	d[15] = tos;
	skb->dev = dev;
	return skb;
}

static int group_setup(void **state)
{
	(void)state;
	core_sysctl_init();
	sysctl_reset_defaults();
	pool = skb_pool_create("sch", 0);
	if (!pool)
		return -1;
	skb_pool_set_current(pool);
	skb_queue_head_init(&sent);
	return 0;
}

static int group_teardown(void **state)
{
	uint64_t in_use = skb_pool_in_use(pool);

	(void)state;
	skb_pool_set_current(NULL);
	skb_pool_destroy(pool);
	return in_use == 0 ? 0 : -1;
}

static int test_setup(void **state)
{
	(void)state;
	atomic_store(&busy, false);
	atomic_store(&xmit_calls, 0);
	return 0;
}

/* The kernel's maps: TOS -> TC priority -> band. */
static void test_band_by_tos(void **state)
{
	(void)state;
	assert_int_equal(pfifo_fast_band(0x00), 1);     /* best effort */
	assert_int_equal(pfifo_fast_band(0x10), 0);     /* IPTOS_LOWDELAY: interactive */
	assert_int_equal(pfifo_fast_band(0x08), 2);     /* IPTOS_THROUGHPUT: bulk */
	assert_int_equal(pfifo_fast_band(0x04), 1);     /* IPTOS_RELIABILITY */
	assert_int_equal(pfifo_fast_band(0x02), 1);     /* IPTOS_MINCOST */
	assert_int_equal(pfifo_fast_band(0x18), 1);     /* lowdelay|throughput: interactive bulk */
	assert_int_equal(pfifo_fast_band(0x12), 0);     /* the cost bit changes nothing */
	assert_int_equal(pfifo_fast_band(0x0a), 2);
	assert_int_equal(pfifo_fast_band(0xb8), 1);     /* DSCP EF: only the TOS bits count */
	assert_int_equal(pfifo_fast_band(0xf0), 0);
	/* Every TOS maps to a band; the precedence and ECN bits are ignored. */
	for (unsigned int tos = 0; tos < 256; tos++)
		assert_int_equal(pfifo_fast_band((uint8_t)tos), pfifo_fast_band((uint8_t)(tos & 0x1e)));
}

/* TCQ_F_CAN_BYPASS: an idle qdisc hands the frame straight to the driver. */
static void test_bypass(void **state)
{
	struct net_device *dev = fake_dev(1);
	struct Qdisc *q = &dev->tx[0].qdisc;

	(void)state;
	assert_int_equal(dev_queue_xmit(frame(dev, 0, true)), 0);
	assert_int_equal(sent_count(), 1);
	assert_int_equal(ns_counter_read(&q->qlen), 0);
	assert_int_equal(ns_counter_read(&q->packets), 1);
	assert_int_equal(ns_counter_read(&q->bytes), 34);
	assert_int_equal(ns_counter_read(&q->requeues), 0);
	assert_int_equal(sent_pop_tos(NULL), 0);
	fake_dev_free(dev);
}

/* A busy driver: the frame waits at the head; the wake-up sends by band. */
static void test_requeue_and_band_order(void **state)
{
	struct net_device *dev = fake_dev(1);
	struct netdev_queue *txq = &dev->tx[0];
	struct Qdisc *q = &txq->qdisc;

	(void)state;
	atomic_store(&busy, true);
	assert_int_equal(dev_queue_xmit(frame(dev, 0x04, true)), 0);   /* band 1, requeued */
	assert_true(netif_xmit_stopped(txq));
	assert_int_equal(ns_counter_read(&q->requeues), 1);
	assert_int_equal(dev_queue_xmit(frame(dev, 0x08, true)), 0);   /* band 2 */
	assert_int_equal(dev_queue_xmit(frame(dev, 0x00, false)), 0);  /* ARP: band 1 */
	assert_int_equal(dev_queue_xmit(frame(dev, 0x10, true)), 0);   /* band 0 */
	/* A stopped queue is not polled: the driver saw the first frame only. */
	assert_int_equal(atomic_load(&xmit_calls), 1);
	assert_int_equal(ns_counter_read(&q->qlen), 4);
	assert_int_equal(ns_counter_read(&q->backlog), 4 * 34);
	assert_int_equal(sent_count(), 0);

	atomic_store(&busy, false);
	netif_tx_wake_queue(txq);      /* no worker: the qdisc runs at once */
	assert_false(netif_xmit_stopped(txq));
	assert_int_equal(sent_count(), 4);
	assert_int_equal(sent_pop_tos(NULL), 0x10);
	assert_int_equal(sent_pop_tos(NULL), 0x04);
	assert_int_equal(sent_pop_tos(NULL), 0x00);
	assert_int_equal(sent_pop_tos(NULL), 0x08);
	assert_int_equal(ns_counter_read(&q->qlen), 0);
	assert_int_equal(ns_counter_read(&q->backlog), 0);
	assert_int_equal(ns_counter_read(&q->packets), 4);
	assert_int_equal(ns_counter_read(&q->drops), 0);
	fake_dev_free(dev);
}

/* txqueuelen bounds the queue; the excess is QDISC_DROP and -ENOBUFS. */
static void test_limit_and_drops(void **state)
{
	struct net_device *dev = fake_dev(1);
	struct netdev_queue *txq = &dev->tx[0];
	struct Qdisc *q = &txq->qdisc;
	uint64_t qdrops = drop_stats_total(SKB_DROP_REASON_QDISC_DROP);

	(void)state;
	assert_int_equal(atomic_load(&dev->tx_queue_len), NETDEV_DEFAULT_TXQUEUELEN);
	assert_int_equal(dev_set_tx_queue_len(dev, 0), -EINVAL);
	assert_int_equal(dev_set_tx_queue_len(dev, NETDEV_MAX_TXQUEUELEN + 1), -EINVAL);
	assert_int_equal(dev_set_tx_queue_len(dev, 5), 0);
	atomic_store(&busy, true);
	for (int i = 0; i < 5; i++)
		assert_int_equal(dev_queue_xmit(frame(dev, 0, true)), 0);
	for (int i = 0; i < 3; i++)
		assert_int_equal(dev_queue_xmit(frame(dev, 0x10, true)), -ENOBUFS);
	assert_int_equal(ns_counter_read(&q->qlen), 5);
	assert_int_equal(ns_counter_read(&q->drops), 3);
	assert_int_equal(ns_counter_read(&q->overlimits), 3);
	assert_int_equal(ns_counter_read(&txq->tx_dropped), 3);
	assert_int_equal(drop_stats_total(SKB_DROP_REASON_QDISC_DROP), qdrops + 3);

	/* Lowering the limit drops nothing queued; it bounds what comes next. */
	assert_int_equal(dev_set_tx_queue_len(dev, 2), 0);
	assert_int_equal(dev_queue_xmit(frame(dev, 0, true)), -ENOBUFS);
	assert_int_equal(ns_counter_read(&q->qlen), 5);
	atomic_store(&busy, false);
	netif_tx_wake_queue(txq);
	assert_int_equal(sent_count(), 5);
	while (sent_pop_tos(NULL) >= 0)
		;
	/* Room again: the next frame bypasses. */
	assert_int_equal(dev_queue_xmit(frame(dev, 0, true)), 0);
	assert_int_equal(sent_count(), 1);
	assert_int_equal(sent_pop_tos(NULL), 0);
	assert_int_equal(ns_counter_read(&q->drops), 4);
	fake_dev_free(dev);
}

/* Closing the device frees what waits (dev_deactivate); nothing leaks. */
static void test_close_resets(void **state)
{
	struct net_device *dev = fake_dev(1);
	uint64_t ready = drop_stats_total(SKB_DROP_REASON_DEV_READY);

	(void)state;
	atomic_store(&busy, true);
	for (int i = 0; i < 3; i++)
		assert_int_equal(dev_queue_xmit(frame(dev, 0, true)), 0);
	assert_int_equal(ns_counter_read(&dev->tx[0].qdisc.qlen), 3);
	dev_close(dev);
	assert_int_equal(ns_counter_read(&dev->tx[0].qdisc.qlen), 0);
	assert_int_equal(drop_stats_total(SKB_DROP_REASON_DEV_READY), ready + 3);
	/* A closed device refuses at once. */
	assert_int_equal(dev_queue_xmit(frame(dev, 0, true)), -ENETDOWN);
	unregister_netdev(dev);
	free_netdev(dev);
}

/* noqueue (lo): no qdisc; a busy driver's frame is a TX_ERROR drop. */
static void test_noqueue(void **state)
{
	struct net_device *dev = fake_dev(1);
	uint64_t txerr = drop_stats_total(SKB_DROP_REASON_TX_ERROR);

	(void)state;
	dev->priv_flags |= NETDEV_IFF_NO_QUEUE;
	assert_int_equal(dev_queue_xmit(frame(dev, 0, true)), 0);
	assert_int_equal(sent_pop_tos(NULL), 0);
	atomic_store(&busy, true);
	assert_int_equal(dev_queue_xmit(frame(dev, 0, true)), -ENOBUFS);
	assert_int_equal(drop_stats_total(SKB_DROP_REASON_TX_ERROR), txerr + 1);
	assert_int_equal(ns_counter_read(&dev->tx[0].qdisc.packets), 0);
	atomic_store(&busy, false);
	netif_tx_wake_queue(&dev->tx[0]);
	fake_dev_free(dev);
}

/* ---- on workers ----------------------------------------------------------- */

struct worker_send {
	struct net_device *dev;
	unsigned int n;
	uint8_t tos;
	unsigned int picked;
	int rc;
};

static void worker_send_fn(void *arg)
{
	struct worker_send *w = arg;

	w->picked = netdev_pick_tx(w->dev);
	w->rc = 0;
	for (unsigned int i = 0; i < w->n; i++) {
		int rc = dev_queue_xmit(frame(w->dev, w->tos, true));

		if (rc)
			w->rc = rc;
	}
}

static void worker_wake_fn(void *arg)
{
	netif_tx_wake_queue(arg);
}

static bool wait_sent(unsigned int n)
{
	for (int i = 0; i < 2000 && sent_count() < n; i++) {
		struct timespec ts = { 0, 1000000 };

		nanosleep(&ts, NULL);
	}
	return sent_count() == n;
}

/*
 * XPS: queue q's irq on worker 1 - q, so each worker sends on that queue.
 * A busy queue is woken by its worker's "TX completion": net_tx_action
 * then sends what waits, dev_tx_weight frames per softirq round.
 */
static void test_workers_xps_and_net_tx_action(void **state)
{
	struct net_device *dev;
	struct worker_send w = { 0 };
	unsigned int queue;

	(void)state;
	skb_pool_set_current(NULL);
	assert_int_equal(softnet_init(2), 0);
	dev = fake_dev(2);
	netif_set_xps_queue(dev, 0, 1);
	netif_set_xps_queue(dev, 1, 0);
	assert_int_equal(softnet_start(), 0);

	w.dev = dev;
	w.n = 1;
	assert_int_equal(softnet_call_wait(0, worker_send_fn, &w), 0);
	assert_int_equal(w.picked, 1);
	assert_int_equal(w.rc, 0);
	assert_true(wait_sent(1));
	assert_int_equal(sent_pop_tos(&queue), 0);
	assert_int_equal(queue, 1);
	assert_int_equal(softnet_call_wait(1, worker_send_fn, &w), 0);
	assert_int_equal(w.picked, 0);
	assert_true(wait_sent(1));
	assert_int_equal(sent_pop_tos(&queue), 0);
	assert_int_equal(queue, 0);

	/* Worker 1 sends 20 frames while its queue (0) refuses them. */
	atomic_store(&busy, true);
	{
		char err[128];

		assert_int_equal(sysctl_set("net.core.dev_tx_weight", "3", err, sizeof(err)), 0);
	}
	w.n = 20;
	w.tos = 0x10;
	assert_int_equal(softnet_call_wait(1, worker_send_fn, &w), 0);
	assert_int_equal(w.rc, 0);
	assert_true(netif_xmit_stopped(&dev->tx[0]));
	assert_int_equal(ns_counter_read(&dev->tx[0].qdisc.qlen), 20);
	assert_int_equal(sent_count(), 0);
	atomic_store(&busy, false);
	/* The wake-up comes from the queue's irq worker, as the TAP's EPOLLOUT. */
	assert_int_equal(softnet_call(1, worker_wake_fn, &dev->tx[0]), 0);
	assert_true(wait_sent(20));
	assert_int_equal(ns_counter_read(&dev->tx[0].qdisc.qlen), 0);
	assert_int_equal(ns_counter_read(&dev->tx[0].qdisc.requeues), 1);
	for (int i = 0; i < 20; i++) {
		assert_int_equal(sent_pop_tos(&queue), 0x10);
		assert_int_equal(queue, 0);
	}
	sysctl_reset_defaults();

	softnet_stop();
	fake_dev_free(dev);
	softnet_destroy();
	skb_pool_set_current(pool);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_band_by_tos, test_setup),
		cmocka_unit_test_setup(test_bypass, test_setup),
		cmocka_unit_test_setup(test_requeue_and_band_order, test_setup),
		cmocka_unit_test_setup(test_limit_and_drops, test_setup),
		cmocka_unit_test_setup(test_close_resets, test_setup),
		cmocka_unit_test_setup(test_noqueue, test_setup),
		cmocka_unit_test_setup(test_workers_xps_and_net_tx_action, test_setup),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
