/*
 * IPv4 addresses of interfaces (the kernel's in_device / in_ifaddr).
 *
 * Addresses are configured on the control thread before workers start and
 * later changed only through the control thread while workers run, with
 * readers on workers; the list is therefore published with release stores
 * and never freed while the daemon runs (removal marks an entry dead).
 */
#ifndef NS_NET_DEVINET_H
#define NS_NET_DEVINET_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

struct net_device;

struct in_ifaddr {
	struct in_ifaddr *ifa_next;
	uint32_t ifa_local;         /* network order */
	uint32_t ifa_mask;          /* network order */
	uint32_t ifa_broadcast;     /* network order */
	uint8_t ifa_prefixlen;
	_Atomic bool dead;
};

struct in_device {
	struct net_device *dev;
	_Atomic(struct in_ifaddr *) ifa_list;
};

/* The device's IPv4 state, or NULL if it has none. */
static inline struct in_device *in_dev_get(const struct net_device *dev);

/*
 * Add @addr/@prefixlen (network order) to @dev, creating its in_device and
 * the connected route.  0, -EEXIST or -ENOMEM.  Control context.
 */
int inet_addr_add(struct net_device *dev, uint32_t addr, unsigned int prefixlen);

/* Release @dev's IPv4 state (shutdown). */
void inet_dev_destroy(struct net_device *dev);

/* True if @addr is one of @dev's addresses (NULL dev: any device's). */
bool inet_addr_is_local(const struct net_device *dev, uint32_t addr);

/* True if @addr is a subnet or limited broadcast address on @dev. */
bool inet_addr_is_broadcast(const struct net_device *dev, uint32_t addr);

/* The primary address of @dev to use as source towards @dst (0 if none). */
uint32_t inet_select_addr(const struct net_device *dev, uint32_t dst);

#include "core/netdev.h"

static inline struct in_device *in_dev_get(const struct net_device *dev)
{
	return (struct in_device *)dev->ip_ptr;
}

#endif
