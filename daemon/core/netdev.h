/*
 * The device model: struct net_device, its queues and its driver operations.
 *
 * Nothing above drivers/ knows what kind of device it talks to: a driver
 * fills struct net_device_ops, creates its RX queues with netif_napi_add()
 * and its "interrupts" with request_irq(), and the stack sends through
 * dev_queue_xmit().  A TAP is one driver; a vfio-bound NIC will be another.
 *
 * Devices are registered at start-up on the control thread before workers
 * run and are not removed while they run, so the device list may be read
 * from any thread without a lock.  Statistics are per worker (one writer
 * each, like the kernel's per-CPU dev->tstats) and summed on read.
 */
#ifndef NS_CORE_NETDEV_H
#define NS_CORE_NETDEV_H

#include <net/if.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/counter.h"
#include "core/sch_generic.h"
#include "core/softnet.h"

struct sk_buff;
struct net_device;

#define ETH_ALEN_NS 6
#define NETDEV_MAX_QUEUES 16

typedef enum {
	NETDEV_TX_OK = 0,   /* the driver consumed the skb */
	NETDEV_TX_BUSY = 1, /* queue full: the skb was not consumed */
} netdev_tx_t;

/* Totals as `ip -s link` shows them. */
struct rtnl_link_stats64_ns {
	uint64_t rx_packets, rx_bytes, rx_errors, rx_dropped;
	uint64_t rx_over_errors, rx_length_errors, rx_missed_errors, multicast;
	uint64_t tx_packets, tx_bytes, tx_errors, tx_dropped;
	uint64_t tx_carrier_errors, collisions;
};

/* One worker's share of a device's counters. */
struct pcpu_netstats {
	ns_counter_t rx_packets, rx_bytes, rx_errors, rx_dropped;
	ns_counter_t rx_length_errors, multicast;
	ns_counter_t tx_packets, tx_bytes, tx_errors, tx_dropped;
} __attribute__((aligned(64)));

struct net_device_ops {
	/* Bring the device up: queues ready, irqs requested.  0 or -errno. */
	int (*ndo_open)(struct net_device *dev);
	/* Stop receiving and release irqs.  Control context, workers stopped. */
	int (*ndo_stop)(struct net_device *dev);
	/*
	 * Transmit one frame (data starts at the link-layer header) on the queue
	 * skb->queue_mapping.  Returns NETDEV_TX_OK having consumed the skb, or
	 * NETDEV_TX_BUSY without consuming it.  Worker context.
	 */
	netdev_tx_t (*ndo_start_xmit)(struct sk_buff *skb, struct net_device *dev);
	/* Add driver-level counters (e.g. the kernel side of a TAP). Optional. */
	void (*ndo_get_stats64)(struct net_device *dev, struct rtnl_link_stats64_ns *st);
	/* Release driver memory.  Control context, after ndo_stop. */
	void (*ndo_uninit)(struct net_device *dev);
};

/* How the stack builds link-layer headers for this device (set by ether_setup). */
struct header_ops {
	/* Push a header for @proto (host order) to @daddr; 0 or -errno. */
	int (*create)(struct sk_buff *skb, struct net_device *dev, uint16_t proto,
		      const uint8_t *daddr, const uint8_t *saddr);
	/*
	 * Parse the link-layer header of a received frame (eth_type_trans):
	 * set skb->protocol and pkt_type, pull the header.  Returns
	 * SKB_DROP_REASON_CONSUMED (0) on success or the reason to drop.
	 */
	int (*type_trans)(struct sk_buff *skb, struct net_device *dev);
};

/*
 * A receive queue: a NAPI context plus the irq that schedules it.  The
 * counters (ethtool -S's rx_queue_N_*) have one writer: the worker the
 * irq is affine to.
 */
struct netdev_rx_queue {
	struct net_device *dev;
	unsigned int index;
	struct napi_struct napi;
	struct ns_irq irq;
	uint64_t rps_mask;          /* workers RPS may steer to (0: none) */
	ns_counter_t rx_packets, rx_bytes, rx_dropped;
	uint64_t trace_irq_ns;      /* last irq, stamped only while a trace runs */
};

/*
 * A transmit queue (the kernel's struct netdev_queue): its qdisc
 * (pfifo_fast, unused on IFF_NO_QUEUE devices), the driver's flow control
 * state and its "TX completion" irq (the driver's).  @irq_cpu is the worker
 * whose irq serves this queue (its XPS owner).  The counters have several
 * writers (shared atomics): frames and bytes the driver sent on this
 * queue, frames dropped on it (qdisc full, driver errors).
 */
struct netdev_queue {
	struct net_device *dev;
	unsigned int index;
	int irq_cpu;
	_Atomic unsigned int state; /* QUEUE_STATE_DRV_XOFF (sch_generic.c) */
	struct Qdisc qdisc;
	struct ns_irq tx_irq;
	ns_counter_t tx_packets, tx_bytes, tx_dropped;
};

enum {
	NETDEV_IFF_UP = 1u << 0,
	NETDEV_IFF_BROADCAST = 1u << 1,
	NETDEV_IFF_LOOPBACK = 1u << 3,
	NETDEV_IFF_RUNNING = 1u << 6,
	NETDEV_IFF_MULTICAST = 1u << 12,
};

/* dev->priv_flags */
enum {
	NETDEV_IFF_NO_QUEUE = 1u << 0, /* noqueue: no qdisc (lo) */
};

struct net_device {
	char name[IFNAMSIZ];
	int ifindex;                /* ours, starting at 1 */
	_Atomic unsigned int flags; /* NETDEV_IFF_* */
	uint32_t mtu;
	uint16_t type;              /* ARPHRD_* */
	uint16_t hard_header_len;
	uint8_t addr_len;
	uint8_t dev_addr[ETH_ALEN_NS];
	uint8_t broadcast[ETH_ALEN_NS];
	const char *kind;           /* driver name shown to users: "tap" */
	const struct net_device_ops *netdev_ops;
	const struct header_ops *header_ops;
	unsigned int num_rx_queues;
	unsigned int num_tx_queues;
	struct netdev_rx_queue rx[NETDEV_MAX_QUEUES];
	struct netdev_queue tx[NETDEV_MAX_QUEUES];
	unsigned int priv_flags;    /* NETDEV_IFF_NO_QUEUE */
	_Atomic uint32_t tx_queue_len; /* txqueuelen: each TX queue's qdisc limit */
	/* XPS (xps_cpus): the TX queue each worker sends on. */
	uint8_t xps_queue[NS_MAX_WORKERS];
	struct pcpu_netstats *pcpu_stats; /* nworkers + 1 (the last: other threads) */
	void *ip_ptr;               /* struct in_device, owned by net/ipv4 */
	void *priv;                 /* driver private state */
	struct net_device *next;
};

/*
 * Allocate a device with @priv_size bytes of driver state (dev->priv).
 * Returns NULL on allocation failure.  Control context.
 */
struct net_device *alloc_netdev(size_t priv_size, const char *name);
void free_netdev(struct net_device *dev);

/* Add @dev to the device list and give it an ifindex.  0 or -errno. */
int register_netdev(struct net_device *dev);
/* Remove @dev from the list (workers must be stopped). */
void unregister_netdev(struct net_device *dev);

/*
 * The loopback device "lo" (the kernel's net->loopback_dev): set by the
 * loopback driver when it registers, NULL without one (unit tests).
 * Local destinations leave through it.
 */
extern struct net_device *loopback_dev;

/* Lookup; no reference counting: devices live until shutdown. */
struct net_device *dev_get_by_index(int ifindex);
struct net_device *dev_get_by_name(const char *name);
struct net_device *netdev_first(void);

/* Open/stop through the driver; 0 or -errno. */
int dev_open(struct net_device *dev);
void dev_close(struct net_device *dev);

static inline bool netif_running(const struct net_device *dev)
{
	return atomic_load_explicit(&((struct net_device *)dev)->flags,
				    memory_order_relaxed) & NETDEV_IFF_UP;
}

/*
 * Queue @skb (data at the link-layer header) for transmission on @skb->dev:
 * the TX queue netdev_pick_tx chooses, through its qdisc (sch_generic.h)
 * unless the device is noqueue.  Always consumes the skb; a frame that
 * cannot be sent is a counted drop.  Returns 0 (sent or queued), -ENETDOWN
 * or -ENOBUFS (qdisc full: QDISC_DROP; the driver failed on noqueue).
 * Worker context (the control thread for a gratuitous ARP).
 */
int dev_queue_xmit(struct sk_buff *skb);

/*
 * The TX queue for the calling thread (netdev_pick_tx with XPS): the
 * queue whose irq is on this worker, so that a socket's packets leave on
 * the queue its owner polls and the TAP's flow steering sends the replies
 * back to it.  Threads that are no worker use queue 0.
 */
unsigned int netdev_pick_tx(const struct net_device *dev);

/*
 * Make @q's irq worker @cpu: it sends on @q (xps_queue) and serves its TX
 * irq.  Drivers call it while setting up queues.  Control context.
 */
void netif_set_xps_queue(struct net_device *dev, unsigned int q, int cpu);

/* Set txqueuelen (1..NETDEV_MAX_TXQUEUELEN); 0 or -EINVAL.  Any thread. */
int dev_set_tx_queue_len(struct net_device *dev, unsigned long len);

/* The calling thread's share of @dev's counters. */
struct pcpu_netstats *dev_this_stats(struct net_device *dev);

/* Sum the per-worker counters and the driver's own. */
void dev_get_stats(struct net_device *dev, struct rtnl_link_stats64_ns *st);

/* Initialise @dev's NAPI for RX queue @q with the driver's poll routine. */
void netif_napi_add(struct net_device *dev, unsigned int q, napi_poll_fn poll,
		    int weight, int worker);

#endif
