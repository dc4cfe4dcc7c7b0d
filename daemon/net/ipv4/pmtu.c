/*
 * Path MTU exceptions (see pmtu.h): a small set-associative table keyed by
 * destination address, the counterpart of the kernel's fnhe hash on a
 * next hop.  Each entry holds the learned MTU, whether it is locked at
 * net.ipv4.route.min_pmtu, and its expiry in jiffies.
 *
 * Context: any thread.  pmtu_lock guards the table; it is taken on output
 * only while at least one exception exists (pmtu_nr), and never while
 * calling out of this file.  The table is bounded (PMTU_SETS * PMTU_WAYS
 * entries); when a set is full the entry closest to expiry is replaced, so
 * a flood of ICMP errors can neither grow memory nor evict other sets.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <string.h>

#include "core/clock.h"
#include "core/netdev.h"
#include "core/sysctl.h"
#include "net/ipv4/pmtu.h"
#include "net/ipv4/route.h"

_Atomic int64_t sysctl_ip_rt_min_pmtu = 552;
_Atomic int64_t sysctl_ip_rt_mtu_expires = 600;

static const struct ctl_table pmtu_table[] = {
	{ "net.ipv4.route.min_pmtu", &sysctl_ip_rt_min_pmtu, 68, 65535, 552,
	  "smallest path MTU learned from ICMP; lower reports are clamped and lock it" },
	{ "net.ipv4.route.mtu_expires", &sysctl_ip_rt_mtu_expires, 1, 2147483, 600,
	  "seconds a learned path MTU is kept" },
	{ NULL, NULL, 0, 0, 0, NULL },
};

#define PMTU_SETS 256u
#define PMTU_WAYS 4u

struct pmtu_entry {
	uint32_t daddr;             /* 0: free */
	uint32_t mtu;
	bool locked;
	uint64_t expires;           /* jiffies */
};

static struct pmtu_entry pmtu_tab[PMTU_SETS][PMTU_WAYS];
static pthread_mutex_t pmtu_lock = PTHREAD_MUTEX_INITIALIZER;
static _Atomic unsigned int pmtu_nr;    /* used entries (under the lock; read relaxed) */

void pmtu_init(void)
{
	sysctl_register(pmtu_table);
}

static struct pmtu_entry *pmtu_set(uint32_t daddr)
{
	return pmtu_tab[(ntohl(daddr) * 2654435761u) >> 24];
}

static void pmtu_free(struct pmtu_entry *e)
{
	e->daddr = 0;
	atomic_store_explicit(&pmtu_nr, atomic_load_explicit(&pmtu_nr, memory_order_relaxed) - 1,
			      memory_order_relaxed);
}

/* The live exception for @daddr, freeing an expired one.  Under pmtu_lock. */
static struct pmtu_entry *pmtu_find(uint32_t daddr, uint64_t now)
{
	struct pmtu_entry *set = pmtu_set(daddr);

	for (unsigned int i = 0; i < PMTU_WAYS; i++) {
		if (set[i].daddr != daddr)
			continue;
		if (now >= set[i].expires) {
			pmtu_free(&set[i]);
			return NULL;
		}
		return &set[i];
	}
	return NULL;
}

uint32_t ip_dst_mtu(const struct fib_result *res, uint32_t daddr, bool *locked)
{
	uint32_t mtu = res->dev ? res->dev->mtu : 0;
	struct pmtu_entry *e;

	if (locked)
		*locked = false;
	if (!atomic_load_explicit(&pmtu_nr, memory_order_relaxed))
		return mtu;
	pthread_mutex_lock(&pmtu_lock);
	e = pmtu_find(daddr, ns_jiffies());
	if (e) {
		if (e->mtu < mtu)
			mtu = e->mtu;
		if (locked)
			*locked = e->locked;
	}
	pthread_mutex_unlock(&pmtu_lock);
	return mtu;
}

uint32_t ip_sk_dst_mtu(const struct fib_result *res, uint32_t daddr, int pmtudisc,
		       bool *locked)
{
	if (pmtudisc >= IP_PMTUDISC_PROBE) {
		if (locked)
			*locked = false;
		return res->dev ? res->dev->mtu : 0;
	}
	return ip_dst_mtu(res, daddr, locked);
}

uint32_t ip_rt_get_pmtu(uint32_t daddr)
{
	struct fib_result res;

	if (fib_lookup(daddr, &res) < 0 || !res.dev)
		return 0;
	return ip_dst_mtu(&res, daddr, NULL);
}

void ip_rt_update_pmtu(uint32_t daddr, uint32_t mtu)
{
	uint64_t expires = (uint64_t)sysctl_read(&sysctl_ip_rt_mtu_expires) * NS_HZ;
	uint32_t min_pmtu = (uint32_t)sysctl_read(&sysctl_ip_rt_min_pmtu);
	uint64_t now = ns_jiffies();
	struct pmtu_entry *e, *set, *victim;
	struct fib_result res;
	bool lock = false;
	uint32_t old;

	/* Traffic to ourselves goes through lo and meets no router: nothing to learn. */
	if (fib_lookup(daddr, &res) < 0 || !res.dev || res.type == RTN_LOCAL)
		return;
	pthread_mutex_lock(&pmtu_lock);
	e = pmtu_find(daddr, now);
	/* A locked path MTU stays until it expires (ip_mtu_locked). */
	if (e && e->locked)
		goto out;
	old = res.dev->mtu;
	if (e && e->mtu < old)
		old = e->mtu;
	if (old < mtu)
		goto out;               /* only ever lower it */
	if (mtu < min_pmtu) {
		lock = true;
		mtu = old < min_pmtu ? old : min_pmtu;
	}
	/* The same value again: refresh only when half its life is gone. */
	if (e && e->mtu == mtu && !lock && now + expires / 2 < e->expires)
		goto out;
	if (!e) {
		set = pmtu_set(daddr);
		victim = &set[0];
		for (unsigned int i = 0; i < PMTU_WAYS; i++) {
			if (!set[i].daddr || now >= set[i].expires) {
				victim = &set[i];
				break;
			}
			if (set[i].expires < victim->expires)
				victim = &set[i];
		}
		if (!victim->daddr)
			atomic_store_explicit(&pmtu_nr,
					      atomic_load_explicit(&pmtu_nr,
								   memory_order_relaxed) + 1,
					      memory_order_relaxed);
		e = victim;
		e->daddr = daddr;
	}
	e->mtu = mtu;
	e->locked = lock;
	e->expires = now + expires;
out:
	pthread_mutex_unlock(&pmtu_lock);
}

void ip_rt_pmtu_flush(void)
{
	pthread_mutex_lock(&pmtu_lock);
	memset(pmtu_tab, 0, sizeof(pmtu_tab));
	atomic_store_explicit(&pmtu_nr, 0, memory_order_relaxed);
	pthread_mutex_unlock(&pmtu_lock);
}

unsigned int ip_rt_pmtu_count(void)
{
	return atomic_load_explicit(&pmtu_nr, memory_order_relaxed);
}
