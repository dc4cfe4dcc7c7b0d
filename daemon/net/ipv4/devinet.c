/*
 * Interface addresses and the routes that come with them.  Control context
 * for changes; lock-free reads on workers (entries are published with
 * release stores; a removed entry is marked dead, unlinked, and freed
 * only after a grace period in which every worker ran a no-op call).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>

#include "core/softnet.h"

#include "core/netdev.h"
#include "net/ipv4/devinet.h"
#include "net/ipv4/route.h"

static uint32_t inet_make_mask(unsigned int prefixlen)
{
	return prefixlen ? htonl(~0u << (32 - prefixlen)) : 0;
}

static void devinet_grace_noop(void *arg)
{
	(void)arg;
}

/* Every worker has passed a quiescent point (the kernel's synchronize_net). */
static bool devinet_synchronize(void)
{
	for (int i = 0; i < nr_workers; i++)
		if (softnet_call_wait(i, devinet_grace_noop, NULL) != 0)
			return false;
	return true;
}

/*
 * The routes of one address (the kernel's fib_add_ifaddr): local, subnet
 * broadcast, connected.  One already there (a second address in the same
 * prefix) is fine.  0 or -errno.
 */
static int fib_add_ifaddr(struct net_device *dev, const struct in_ifaddr *ifa)
{
	struct fib_config local = {
		.dst = ifa->ifa_local, .dst_len = 32, .type = RTN_LOCAL,
		.table = RT_TABLE_LOCAL, .protocol = RTPROT_KERNEL, .dev = dev,
		.prefsrc = ifa->ifa_local,
	};
	struct fib_config bcast = local, prefix = local;
	int err;

	err = fib_table_insert(&local, NULL, 0);
	if (err && err != -EEXIST)
		return err;
	if (ifa->ifa_broadcast) {
		bcast.dst = ifa->ifa_broadcast;
		bcast.type = RTN_BROADCAST;
		err = fib_table_insert(&bcast, NULL, 0);
		if (err && err != -EEXIST)
			return err;
	}
	if (ifa->ifa_prefixlen < 32) {
		prefix.dst = ifa->ifa_local & ifa->ifa_mask;
		prefix.dst_len = ifa->ifa_prefixlen;
		if (atomic_load_explicit(&dev->flags, memory_order_relaxed) & NETDEV_IFF_LOOPBACK) {
			/* On lo the whole prefix is us: local 127.0.0.0/8 in table local. */
			prefix.type = RTN_LOCAL;
		} else {
			prefix.type = RTN_UNICAST;
			prefix.table = RT_TABLE_MAIN;
		}
		err = fib_table_insert(&prefix, NULL, 0);
		if (err && err != -EEXIST)
			return err;
	}
	return 0;
}

static struct in_ifaddr *ifa_first(const struct net_device *dev);
static struct in_ifaddr *ifa_next(const struct in_ifaddr *ifa);

static bool ifa_live(const struct in_ifaddr *ifa)
{
	return !atomic_load_explicit(&((struct in_ifaddr *)ifa)->dead, memory_order_relaxed);
}

int inet_addr_add(struct net_device *dev, uint32_t addr, unsigned int prefixlen)
{
	struct in_device *in_dev = in_dev_get(dev);
	struct in_ifaddr *ifa, *last = NULL;
	uint32_t h = ntohl(addr);
	int err;

	if (prefixlen > 32 || h == 0 || h == 0xffffffffu || (h & 0xf0000000u) >= 0xe0000000u)
		return -EINVAL;
	/* One address, one owner: the local table has a single entry per address. */
	if (inet_addr_is_local(NULL, addr))
		return -EEXIST;
	if (!in_dev) {
		in_dev = calloc(1, sizeof(*in_dev));
		if (!in_dev)
			return -ENOMEM;
		in_dev->dev = dev;
		atomic_init(&in_dev->ifa_list, NULL);
		dev->ip_ptr = in_dev;
	}
	for (ifa = atomic_load(&in_dev->ifa_list); ifa; ifa = ifa->ifa_next)
		last = ifa;
	ifa = calloc(1, sizeof(*ifa));
	if (!ifa)
		return -ENOMEM;
	ifa->ifa_local = addr;
	ifa->ifa_prefixlen = (uint8_t)prefixlen;
	ifa->ifa_mask = inet_make_mask(prefixlen);
	ifa->ifa_broadcast = prefixlen < 31 ? (addr | ~ifa->ifa_mask) : 0;
	atomic_init(&ifa->dead, false);
	/* Publish: readers see a fully built entry. */
	if (last)
		atomic_store_explicit((_Atomic(struct in_ifaddr *) *)&last->ifa_next, ifa,
				      memory_order_release);
	else
		atomic_store_explicit(&in_dev->ifa_list, ifa, memory_order_release);
	err = fib_add_ifaddr(dev, ifa);
	if (err) {
		inet_addr_del(dev, addr, (int)prefixlen);
		return err;
	}
	return 0;
}

int inet_addr_del(struct net_device *dev, uint32_t addr, int prefixlen)
{
	struct in_device *in_dev = in_dev_get(dev);
	_Atomic(struct in_ifaddr *) *pp;
	struct in_ifaddr *ifa;

	if (!in_dev)
		return -EADDRNOTAVAIL;
	for (pp = &in_dev->ifa_list; (ifa = atomic_load(pp)) != NULL;
	     pp = (_Atomic(struct in_ifaddr *) *)&ifa->ifa_next) {
		if (ifa->ifa_local == addr && ifa_live(ifa) &&
		    (prefixlen < 0 || ifa->ifa_prefixlen == prefixlen))
			break;
	}
	if (!ifa)
		return -EADDRNOTAVAIL;
	/* Readers already on it see it dead; new readers do not find it. */
	atomic_store_explicit(&ifa->dead, true, memory_order_relaxed);
	atomic_store_explicit(pp, ifa->ifa_next, memory_order_release);
	fib_flush_prefsrc(addr);
	/* Another address in the same prefix keeps the prefix connected. */
	for (struct in_ifaddr *o = ifa_first(dev); o; o = ifa_next(o))
		if (ifa_live(o) && o->ifa_prefixlen == ifa->ifa_prefixlen &&
		    ((o->ifa_local ^ addr) & ifa->ifa_mask) == 0)
			fib_add_ifaddr(dev, o);
	if (devinet_synchronize()) {
		free(ifa);
	} else {
		/* A worker could not be reached: keep it until shutdown. */
		ifa->ifa_next = in_dev->dead_list;
		in_dev->dead_list = ifa;
	}
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
	for (ifa = in_dev->dead_list; ifa; ifa = next) {
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

bool inet_addr_onlink(const struct net_device *dev, uint32_t addr)
{
	for (struct in_ifaddr *ifa = ifa_first(dev); ifa; ifa = ifa_next(ifa))
		if (ifa_live(ifa) && ((ifa->ifa_local ^ addr) & ifa->ifa_mask) == 0)
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
