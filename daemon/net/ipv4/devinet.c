/*
 * Interface addresses.  Control context for changes; lock-free reads on
 * workers (entries are published with release stores and only marked dead,
 * never freed, while workers run).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>

#include "core/netdev.h"
#include "net/ipv4/devinet.h"
#include "net/ipv4/route.h"

static uint32_t inet_make_mask(unsigned int prefixlen)
{
	return prefixlen ? htonl(~0u << (32 - prefixlen)) : 0;
}

int inet_addr_add(struct net_device *dev, uint32_t addr, unsigned int prefixlen)
{
	struct in_device *in_dev = in_dev_get(dev);
	struct in_ifaddr *ifa, *last = NULL;
	int err;

	if (prefixlen > 32)
		return -EINVAL;
	if (!in_dev) {
		in_dev = calloc(1, sizeof(*in_dev));
		if (!in_dev)
			return -ENOMEM;
		in_dev->dev = dev;
		atomic_init(&in_dev->ifa_list, NULL);
		dev->ip_ptr = in_dev;
	}
	for (ifa = atomic_load(&in_dev->ifa_list); ifa; ifa = ifa->ifa_next) {
		if (ifa->ifa_local == addr && !atomic_load(&ifa->dead))
			return -EEXIST;
		last = ifa;
	}
	ifa = calloc(1, sizeof(*ifa));
	if (!ifa)
		return -ENOMEM;
	ifa->ifa_local = addr;
	ifa->ifa_prefixlen = (uint8_t)prefixlen;
	ifa->ifa_mask = inet_make_mask(prefixlen);
	ifa->ifa_broadcast = prefixlen < 31 ? (addr | ~ifa->ifa_mask) : 0;
	atomic_init(&ifa->dead, false);
	err = fib_add_route(addr & ifa->ifa_mask, prefixlen, 0, dev, addr);
	if (err && err != -EEXIST) {
		free(ifa);
		return err;
	}
	/* Publish: readers see a fully built entry. */
	if (last)
		atomic_store_explicit((_Atomic(struct in_ifaddr *) *)&last->ifa_next, ifa,
				      memory_order_release);
	else
		atomic_store_explicit(&in_dev->ifa_list, ifa, memory_order_release);
	return 0;
}

void inet_dev_destroy(struct net_device *dev)
{
	struct in_device *in_dev = in_dev_get(dev);
	struct in_ifaddr *ifa, *next;

	if (!in_dev)
		return;
	for (ifa = atomic_load(&in_dev->ifa_list); ifa; ifa = next) {
		next = ifa->ifa_next;
		free(ifa);
	}
	free(in_dev);
	dev->ip_ptr = NULL;
}

static struct in_ifaddr *ifa_first(const struct net_device *dev)
{
	struct in_device *in_dev = in_dev_get(dev);

	return in_dev ? atomic_load_explicit(&in_dev->ifa_list, memory_order_acquire) : NULL;
}

static struct in_ifaddr *ifa_next(const struct in_ifaddr *ifa)
{
	return atomic_load_explicit((_Atomic(struct in_ifaddr *) *)&ifa->ifa_next,
				    memory_order_acquire);
}

static bool dev_has_local(const struct net_device *dev, uint32_t addr)
{
	for (struct in_ifaddr *ifa = ifa_first(dev); ifa; ifa = ifa_next(ifa))
		if (ifa->ifa_local == addr && !atomic_load_explicit(&ifa->dead, memory_order_relaxed))
			return true;
	return false;
}

bool inet_addr_is_local(const struct net_device *dev, uint32_t addr)
{
	if (dev)
		return dev_has_local(dev, addr);
	for (struct net_device *d = netdev_first(); d; d = d->next)
		if (dev_has_local(d, addr))
			return true;
	return false;
}

bool inet_addr_is_broadcast(const struct net_device *dev, uint32_t addr)
{
	if (addr == htonl(INADDR_BROADCAST))
		return true;
	for (struct in_ifaddr *ifa = ifa_first(dev); ifa; ifa = ifa_next(ifa))
		if (ifa->ifa_broadcast && ifa->ifa_broadcast == addr &&
		    !atomic_load_explicit(&ifa->dead, memory_order_relaxed))
			return true;
	return false;
}

uint32_t inet_select_addr(const struct net_device *dev, uint32_t dst)
{
	uint32_t first = 0;

	for (struct in_ifaddr *ifa = ifa_first(dev); ifa; ifa = ifa_next(ifa)) {
		if (atomic_load_explicit(&ifa->dead, memory_order_relaxed))
			continue;
		if (!first)
			first = ifa->ifa_local;
		if (((ifa->ifa_local ^ dst) & ifa->ifa_mask) == 0)
			return ifa->ifa_local;
	}
	return first;
}
