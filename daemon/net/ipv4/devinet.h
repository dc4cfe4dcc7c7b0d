/*
 * IPv4 addresses of interfaces (the kernel's in_device / in_ifaddr).
 *
 * Addresses are configured on the control thread before workers start and
 * later changed only through the control thread (netstackctl addr) while
 * workers run, with readers on workers: the list is published with
 * release stores; removal marks the entry dead, unlinks it and frees it
 * after every worker passed a quiescent point (softnet_call_wait).  Each
 * address brings its routes (the kernel's fib_add_ifaddr): local
 * (ADDR/32 in table local), broadcast (the subnet broadcast in local, for
 * prefixes shorter than /31) and connected (the prefix in main).
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
	struct in_ifaddr *dead_list; /* removed, grace period not waited for */
};

/* The device's IPv4 state, or NULL if it has none. */
static inline struct in_device *in_dev_get(const struct net_device *dev);

/*
 * Add @addr/@prefixlen (network order) to @dev, creating its in_device and
 * the address's routes.  0, -EEXIST (ours already, on any device),
 * -EINVAL (not a unicast address, prefix over 32) or -ENOMEM.  Control
 * context.
 */
int inet_addr_add(struct net_device *dev, uint32_t addr, unsigned int prefixlen);

/*
 * Remove @addr from @dev (@prefixlen must match unless it is -1) with its
 * routes and every route that used it as preferred source; routes of
 * another address in the same prefix on @dev are put back.  0 or
 * -EADDRNOTAVAIL.  Control context; waits for the workers' grace period.
 */
int inet_addr_del(struct net_device *dev, uint32_t addr, int prefixlen);

/* Release @dev's IPv4 state (shutdown). */
void inet_dev_destroy(struct net_device *dev);

/* True if @addr is one of @dev's addresses (NULL dev: any device's). */
bool inet_addr_is_local(const struct net_device *dev, uint32_t addr);

/* True if @addr is a subnet or limited broadcast address on @dev. */
bool inet_addr_is_broadcast(const struct net_device *dev, uint32_t addr);

/* True if @addr lies in the prefix of one of @dev's addresses. */
bool inet_addr_onlink(const struct net_device *dev, uint32_t addr);

/* The primary address of @dev to use as source towards @dst (0 if none). */
uint32_t inet_select_addr(const struct net_device *dev, uint32_t dst);

#include "core/netdev.h"

static inline struct in_device *in_dev_get(const struct net_device *dev)
{
	return (struct in_device *)dev->ip_ptr;
}

#endif
