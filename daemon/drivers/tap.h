/*
 * The TAP driver: a Linux TAP device as a network card.  Each TAP queue fd
 * is one RX/TX queue; its readability is the queue's interrupt line.
 */
#ifndef NS_DRIVERS_TAP_H
#define NS_DRIVERS_TAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct net_device;

struct tap_params {
	const char *name;           /* TAP name; created if it does not exist */
	unsigned int mtu;
	unsigned int queues;        /* >1: IFF_MULTI_QUEUE */
	const uint8_t *mac;         /* the stack's MAC; NULL: random */
	uint32_t host_addr;         /* kernel-side address (network order), 0: none */
	unsigned int host_prefixlen;
	uint64_t rps_mask;          /* RPS workers for every queue */
	/* Worker + 1 serving queue q's irqs (0: dealt round-robin, below). */
	int irq_affinity[16];
	unsigned int weight;        /* NAPI weight per queue (0: net.core.dev_weight) */
	unsigned int txqueuelen;    /* qdisc limit per TX queue (0: 1000) */
};

/*
 * Open (or create) the TAP, configure its kernel side over netlink (MTU,
 * link up, optional address), and register a net_device for it with one
 * NAPI context, RX irq and TX completion irq per queue; a queue's irqs go
 * to the worker @p->irq_affinity names, else queues are dealt to the
 * workers round-robin across devices (the first TAP's queue q to worker
 * q, the next TAP's queues to the workers after those).  That worker also
 * sends on the queue (XPS).  Returns the device, or NULL with a one-line reason in
 * @err.  Control context, after softnet_init().
 */
struct net_device *tap_create(const struct tap_params *p, char *err, size_t errlen);

/* Close the queues and free the device.  Workers must be stopped. */
void tap_destroy(struct net_device *dev);

#endif
