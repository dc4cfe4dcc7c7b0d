/*
 * The loopback device "lo" (the kernel's drivers/net/loopback.c): what
 * the stack sends to it comes straight back in through netif_rx().
 */
#ifndef NS_DRIVERS_LOOPBACK_H
#define NS_DRIVERS_LOOPBACK_H

struct net_device;

/*
 * Create and register "lo": MTU 65536, IFF_LOOPBACK, an all-zero
 * hardware address, and become loopback_dev.  The caller gives it its
 * header operations (Ethernet's, as the kernel's lo) and its address,
 * then opens it.  Returns the device or NULL (out of memory, or a device
 * of that name exists).  Control context, before workers start.
 */
struct net_device *loopback_create(void);

/* Unregister and free it.  Workers must be stopped. */
void loopback_destroy(struct net_device *dev);

#endif
