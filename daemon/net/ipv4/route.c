/*
 * The FIB: a table of routes sorted longest prefix first, replaced whole
 * on change (copy, insert, publish) so that lookups on workers take no
 * lock.  Retired tables are kept until fib_cleanup() because a worker may
 * still be reading one; route changes are rare control operations.
 * A linear scan is fine for the handful of routes a TAP host has; the
 * kernel's LC-trie is the model when tables grow.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "core/netdev.h"
#include "net/ipv4/devinet.h"
#include "net/ipv4/route.h"

struct fib_entry {
	uint32_t dst;               /* network order, masked */
	uint32_t mask;
	uint32_t gw;                /* 0: directly connected */
	uint32_t prefsrc;
	struct net_device *dev;
	uint8_t prefixlen;
};

struct fib_table {
	struct fib_table *retired_next;
	unsigned int n;
	struct fib_entry e[];
};

static _Atomic(struct fib_table *) fib_main;
static struct fib_table *fib_retired;
static pthread_mutex_t fib_lock = PTHREAD_MUTEX_INITIALIZER;

int fib_add_route(uint32_t dst, unsigned int prefixlen, uint32_t gw,
		  struct net_device *dev, uint32_t prefsrc)
{
	struct fib_table *old, *nt;
	uint32_t mask;
	unsigned int i, pos;

	if (prefixlen > 32 || !dev)
		return -EINVAL;
	mask = prefixlen ? htonl(~0u << (32 - prefixlen)) : 0;
	dst &= mask;
	pthread_mutex_lock(&fib_lock);
	old = atomic_load(&fib_main);
	for (i = 0; old && i < old->n; i++) {
		if (old->e[i].dst == dst && old->e[i].prefixlen == prefixlen) {
			pthread_mutex_unlock(&fib_lock);
			return -EEXIST;
		}
	}
	nt = malloc(sizeof(*nt) + sizeof(struct fib_entry) * ((old ? old->n : 0) + 1));
	if (!nt) {
		pthread_mutex_unlock(&fib_lock);
		return -ENOMEM;
	}
	nt->retired_next = NULL;
	nt->n = 0;
	pos = 0;
	if (old)
		while (pos < old->n && old->e[pos].prefixlen >= prefixlen)
			pos++;
	for (i = 0; i < pos; i++)
		nt->e[nt->n++] = old->e[i];
	nt->e[nt->n++] = (struct fib_entry){ .dst = dst, .mask = mask, .gw = gw,
					     .prefsrc = prefsrc, .dev = dev,
					     .prefixlen = (uint8_t)prefixlen };
	for (i = pos; old && i < old->n; i++)
		nt->e[nt->n++] = old->e[i];
	atomic_store_explicit(&fib_main, nt, memory_order_release);
	if (old) {
		old->retired_next = fib_retired;
		fib_retired = old;
	}
	pthread_mutex_unlock(&fib_lock);
	return 0;
}

int fib_lookup(uint32_t daddr, struct fib_result *res)
{
	struct fib_table *t = atomic_load_explicit(&fib_main, memory_order_acquire);

	memset(res, 0, sizeof(*res));
	for (struct net_device *d = netdev_first(); d; d = d->next) {
		if (inet_addr_is_local(d, daddr)) {
			res->type = RTN_LOCAL;
			res->prefsrc = daddr;
			res->nexthop = daddr;
			res->prefixlen = 32;
			/* ip_route_output: a local destination leaves through lo. */
			res->dev = loopback_dev ? loopback_dev : d;
			return 0;
		}
	}
	for (unsigned int i = 0; t && i < t->n; i++) {
		const struct fib_entry *e = &t->e[i];

		if ((daddr & e->mask) != e->dst)
			continue;
		res->dev = e->dev;
		res->prefixlen = e->prefixlen;
		res->nexthop = e->gw ? e->gw : daddr;
		res->prefsrc = e->prefsrc ? e->prefsrc : inet_select_addr(e->dev, daddr);
		if (daddr == htonl(INADDR_BROADCAST) || inet_addr_is_broadcast(e->dev, daddr))
			res->type = RTN_BROADCAST;
		else if ((daddr & htonl(0xf0000000u)) == htonl(0xe0000000u))
			res->type = RTN_MULTICAST;
		else if (atomic_load_explicit(&e->dev->flags, memory_order_relaxed) &
			 NETDEV_IFF_LOOPBACK)
			/* fib_add_ifaddr makes a loopback prefix route local: all of 127/8 is us. */
			res->type = RTN_LOCAL;
		else
			res->type = RTN_UNICAST;
		return 0;
	}
	res->type = RTN_UNREACHABLE;
	return -ENETUNREACH;
}

void fib_cleanup(void)
{
	struct fib_table *t, *next;

	pthread_mutex_lock(&fib_lock);
	free(atomic_exchange(&fib_main, NULL));
	for (t = fib_retired; t; t = next) {
		next = t->retired_next;
		free(t);
	}
	fib_retired = NULL;
	pthread_mutex_unlock(&fib_lock);
}
