/*
 * The FIB: one array of routes, local table first, each table sorted
 * longest prefix first and then by metric, so that the first match is the
 * answer (the kernel's local rule before its main rule, and its
 * longest-prefix match within a table).
 *
 * Changes (control thread, under fib_lock) copy the array, change the
 * copy and publish it with a release store; lookups on workers load it
 * with acquire and take no lock.  The old array is freed once every
 * worker has run a no-op call (fib_synchronize, the kernel's
 * synchronize_net): a worker handles calls only between packets, so none
 * can still be reading it.  Results are copied out (fib_result), so no
 * pointer into an array outlives a lookup.  A linear scan is fine for the
 * tens of routes a netstackd has; the kernel's LC-trie is the model when
 * tables grow.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/netdev.h"
#include "core/softnet.h"
#include "net/ipv4/devinet.h"
#include "net/ipv4/route.h"

struct fib_entry {
	uint32_t dst;               /* network order, masked */
	uint32_t mask;
	uint32_t gw;                /* 0: directly connected / not unicast */
	uint32_t prefsrc;
	uint32_t priority;
	struct net_device *dev;     /* NULL for blackhole/unreachable/prohibit */
	uint8_t dst_len;
	uint8_t type;
	uint8_t table;
	uint8_t protocol;
	uint8_t scope;
};

struct fib_table {
	struct fib_table *retired_next;
	unsigned int n;
	struct fib_entry e[];
};

static _Atomic(struct fib_table *) fib_main;
/* Arrays whose grace period could not be waited for; freed at cleanup. */
static struct fib_table *fib_retired;
static pthread_mutex_t fib_lock = PTHREAD_MUTEX_INITIALIZER;

static uint32_t fib_mask(unsigned int len)
{
	return len ? htonl(~0u << (32 - len)) : 0;
}

static void fib_err(char *err, size_t errlen, const char *msg)
{
	if (err && errlen)
		snprintf(err, errlen, "%s", msg);
}

static void fib_grace_noop(void *arg)
{
	(void)arg;
}

/*
 * Wait until no worker can hold a pointer into an unpublished array.
 * Before the workers start (and in unit tests) softnet_call_wait runs the
 * call inline, which is right: nobody else reads.  False if a worker
 * could not be reached (out of memory): keep the array then.
 */
static bool fib_synchronize(void)
{
	for (int i = 0; i < nr_workers; i++)
		if (softnet_call_wait(i, fib_grace_noop, NULL) != 0)
			return false;
	return true;
}

/* Publish @nt in place of @old and release @old after a grace period. */
static void fib_replace(struct fib_table *old, struct fib_table *nt)
{
	atomic_store_explicit(&fib_main, nt, memory_order_release);
	if (!old)
		return;
	if (fib_synchronize()) {
		free(old);
		return;
	}
	old->retired_next = fib_retired;
	fib_retired = old;
}

static struct fib_table *fib_table_alloc(unsigned int n)
{
	struct fib_table *t = malloc(sizeof(*t) + sizeof(struct fib_entry) * (n ? n : 1));

	if (t) {
		t->retired_next = NULL;
		t->n = 0;
	}
	return t;
}

/* Sort key: local before main, longer prefix first, then lower metric. */
static bool fib_entry_before(const struct fib_entry *a, const struct fib_entry *b)
{
	if (a->table != b->table)
		return a->table == RT_TABLE_LOCAL;
	if (a->dst_len != b->dst_len)
		return a->dst_len > b->dst_len;
	return a->priority < b->priority;
}

static struct fib_table *fib_current(void)
{
	return atomic_load_explicit(&fib_main, memory_order_acquire);
}

/*
 * The connected (link-scope) route in main through which @gw is reached,
 * on @dev if given.  Caller holds fib_lock.
 */
static const struct fib_entry *fib_find_onlink(const struct fib_table *t, uint32_t gw,
					       const struct net_device *dev)
{
	for (unsigned int i = 0; t && i < t->n; i++) {
		const struct fib_entry *e = &t->e[i];

		if (e->table != RT_TABLE_MAIN || e->type != RTN_UNICAST || e->gw || !e->dev)
			continue;
		if ((gw & e->mask) != e->dst || (dev && e->dev != dev))
			continue;
		return e;
	}
	return NULL;
}

/* Is @a one of our addresses or broadcasts (the local table)?  Under fib_lock. */
static bool fib_find_local(const struct fib_table *t, uint32_t a)
{
	for (unsigned int i = 0; t && i < t->n; i++)
		if (t->e[i].table == RT_TABLE_LOCAL && (a & t->e[i].mask) == t->e[i].dst)
			return true;
	return false;
}

static bool ipv4_bad_unicast(uint32_t a)
{
	uint32_t h = ntohl(a);

	return h == 0 || h == 0xffffffffu || (h & 0xf0000000u) == 0xe0000000u;
}

/* Check @cfg and fill the entry @ne.  0 or -errno with @err.  Under fib_lock. */
static int fib_config_check(const struct fib_table *t, const struct fib_config *cfg,
			    struct fib_entry *ne, char *err, size_t errlen)
{
	memset(ne, 0, sizeof(*ne));
	if (cfg->dst_len > 32) {
		fib_err(err, errlen, "Invalid prefix length");
		return -EINVAL;
	}
	ne->dst_len = cfg->dst_len;
	ne->mask = fib_mask(cfg->dst_len);
	if (cfg->dst & ~ne->mask) {
		fib_err(err, errlen, "Invalid prefix for given prefix length");
		return -EINVAL;
	}
	ne->dst = cfg->dst;
	ne->type = cfg->type ? cfg->type : RTN_UNICAST;
	ne->table = cfg->table ? cfg->table : RT_TABLE_MAIN;
	ne->protocol = cfg->protocol ? cfg->protocol : RTPROT_STATIC;
	ne->priority = cfg->priority;
	ne->gw = cfg->gw;
	ne->dev = cfg->dev;
	ne->prefsrc = cfg->prefsrc;
	if (ne->table != RT_TABLE_MAIN && ne->table != RT_TABLE_LOCAL) {
		fib_err(err, errlen, "only the main and local tables exist");
		return -EINVAL;
	}
	switch (ne->type) {
	case RTN_UNICAST:
		if (ne->gw) {
			const struct fib_entry *via;

			if (ipv4_bad_unicast(ne->gw) || fib_find_local(t, ne->gw)) {
				fib_err(err, errlen, "Nexthop has invalid gateway");
				return -EINVAL;
			}
			via = fib_find_onlink(t, ne->gw, ne->dev);
			if (!via) {
				fib_err(err, errlen, "Nexthop has invalid gateway");
				return -EINVAL;
			}
			ne->dev = via->dev;
			ne->scope = RT_SCOPE_UNIVERSE;
		} else {
			if (!ne->dev) {
				fib_err(err, errlen, "a unicast route needs 'via GATEWAY' or 'dev NAME'");
				return -ENODEV;
			}
			ne->scope = RT_SCOPE_LINK;
		}
		break;
	case RTN_LOCAL:
		if (!ne->dev || ne->gw) {
			fib_err(err, errlen, "a local route needs a device and no gateway");
			return -EINVAL;
		}
		ne->scope = RT_SCOPE_HOST;
		break;
	case RTN_BROADCAST:
		if (!ne->dev || ne->gw) {
			fib_err(err, errlen, "a broadcast route needs a device and no gateway");
			return -EINVAL;
		}
		ne->scope = RT_SCOPE_LINK;
		break;
	case RTN_BLACKHOLE:
	case RTN_UNREACHABLE:
	case RTN_PROHIBIT:
		if (ne->gw || ne->prefsrc) {
			fib_err(err, errlen, "blackhole, unreachable and prohibit routes take no gateway or source");
			return -EINVAL;
		}
		ne->dev = NULL;
		ne->scope = RT_SCOPE_UNIVERSE;
		break;
	default:
		fib_err(err, errlen, "unsupported route type");
		return -EINVAL;
	}
	if (cfg->scope)
		ne->scope = cfg->scope;
	if (ne->prefsrc && !inet_addr_is_local(NULL, ne->prefsrc)) {
		fib_err(err, errlen, "Invalid prefsrc address");
		return -EINVAL;
	}
	return 0;
}

int fib_table_insert(const struct fib_config *cfg, char *err, size_t errlen)
{
	struct fib_table *old, *nt;
	struct fib_entry ne;
	unsigned int i, pos;
	int rc;

	pthread_mutex_lock(&fib_lock);
	old = fib_current();
	rc = fib_config_check(old, cfg, &ne, err, errlen);
	if (rc)
		goto out;
	for (i = 0; old && i < old->n; i++) {
		const struct fib_entry *e = &old->e[i];

		if (e->table != ne.table || e->dst != ne.dst || e->dst_len != ne.dst_len ||
		    e->priority != ne.priority)
			continue;
		/*
		 * The kernel appends the routes it makes for addresses, so one
		 * prefix may be connected on two devices; anything else with
		 * the same key is a duplicate.
		 */
		if (ne.protocol == RTPROT_KERNEL && e->protocol == RTPROT_KERNEL && e->dev != ne.dev)
			continue;
		fib_err(err, errlen, "File exists");
		rc = -EEXIST;
		goto out;
	}
	nt = fib_table_alloc((old ? old->n : 0) + 1);
	if (!nt) {
		fib_err(err, errlen, "out of memory");
		rc = -ENOMEM;
		goto out;
	}
	pos = 0;
	while (old && pos < old->n && !fib_entry_before(&ne, &old->e[pos]))
		pos++;
	for (i = 0; i < pos; i++)
		nt->e[nt->n++] = old->e[i];
	nt->e[nt->n++] = ne;
	for (i = pos; old && i < old->n; i++)
		nt->e[nt->n++] = old->e[i];
	fib_replace(old, nt);
out:
	pthread_mutex_unlock(&fib_lock);
	return rc;
}

static bool fib_entry_matches(const struct fib_entry *e, const struct fib_config *cfg)
{
	uint8_t table = cfg->table ? cfg->table : RT_TABLE_MAIN;

	if (e->table != table || e->dst_len != cfg->dst_len ||
	    e->dst != (cfg->dst & fib_mask(cfg->dst_len)))
		return false;
	if (cfg->match_gw && e->gw != cfg->gw)
		return false;
	if (cfg->match_type && e->type != (cfg->type ? cfg->type : RTN_UNICAST))
		return false;
	if (cfg->match_priority && e->priority != cfg->priority)
		return false;
	if (cfg->dev && e->dev != cfg->dev)
		return false;
	return true;
}

/* A copy of @old without entry @skip.  NULL if out of memory. */
static struct fib_table *fib_table_without(const struct fib_table *old, unsigned int skip)
{
	struct fib_table *nt = fib_table_alloc(old->n - 1);

	if (!nt)
		return NULL;
	for (unsigned int i = 0; i < old->n; i++)
		if (i != skip)
			nt->e[nt->n++] = old->e[i];
	return nt;
}

int fib_table_delete(const struct fib_config *cfg, char *err, size_t errlen)
{
	struct fib_table *old, *nt;
	int rc = -ESRCH;

	if (cfg->dst_len > 32) {
		fib_err(err, errlen, "Invalid prefix length");
		return -EINVAL;
	}
	pthread_mutex_lock(&fib_lock);
	old = fib_current();
	for (unsigned int i = 0; old && i < old->n; i++) {
		if (!fib_entry_matches(&old->e[i], cfg))
			continue;
		nt = fib_table_without(old, i);
		if (!nt) {
			fib_err(err, errlen, "out of memory");
			rc = -ENOMEM;
			break;
		}
		fib_replace(old, nt);
		rc = 0;
		break;
	}
	if (rc == -ESRCH)
		fib_err(err, errlen, "No such process");
	pthread_mutex_unlock(&fib_lock);
	return rc;
}

unsigned int fib_flush_prefsrc(uint32_t addr)
{
	struct fib_table *old, *nt;
	unsigned int removed = 0;

	pthread_mutex_lock(&fib_lock);
	old = fib_current();
	if (!old)
		goto out;
	for (unsigned int i = 0; i < old->n; i++)
		if (old->e[i].prefsrc == addr)
			removed++;
	if (!removed)
		goto out;
	nt = fib_table_alloc(old->n - removed);
	if (!nt) {
		removed = 0;
		goto out;
	}
	for (unsigned int i = 0; i < old->n; i++)
		if (old->e[i].prefsrc != addr)
			nt->e[nt->n++] = old->e[i];
	fib_replace(old, nt);
out:
	pthread_mutex_unlock(&fib_lock);
	return removed;
}

int fib_add_route(uint32_t dst, unsigned int prefixlen, uint32_t gw,
		  struct net_device *dev, uint32_t prefsrc)
{
	struct fib_config cfg = {
		.dst = dst & fib_mask(prefixlen > 32 ? 0 : prefixlen),
		.dst_len = (uint8_t)(prefixlen > 32 ? 33 : prefixlen),
		.protocol = RTPROT_BOOT,
		.gw = gw,
		.dev = dev,
		.prefsrc = prefsrc,
	};

	if (!dev)
		return -EINVAL;
	return fib_table_insert(&cfg, NULL, 0);
}

/* The error a local sender gets for a route of @type (the kernel's fib_props). */
static int fib_type_error(unsigned int type)
{
	switch (type) {
	case RTN_BLACKHOLE: return -EINVAL;
	case RTN_UNREACHABLE: return -EHOSTUNREACH;
	case RTN_PROHIBIT: return -EACCES;
	default: return 0;
	}
}

int fib_lookup(uint32_t daddr, struct fib_result *res)
{
	struct fib_table *t = fib_current();

	memset(res, 0, sizeof(*res));
	for (unsigned int i = 0; t && i < t->n; i++) {
		const struct fib_entry *e = &t->e[i];

		if ((daddr & e->mask) != e->dst)
			continue;
		res->type = (enum rtn_type)e->type;
		res->dev = e->dev;
		res->prefixlen = e->dst_len;
		res->table = e->table;
		res->scope = e->scope;
		if (e->type == RTN_BLACKHOLE || e->type == RTN_UNREACHABLE ||
		    e->type == RTN_PROHIBIT)
			return fib_type_error(e->type);
		res->has_gw = e->gw != 0;
		res->nexthop = e->gw ? e->gw : daddr;
		if (e->prefsrc)
			res->prefsrc = e->prefsrc;
		else if (e->type == RTN_LOCAL)
			res->prefsrc = daddr;
		else
			res->prefsrc = inet_select_addr(e->dev, res->nexthop);
		/* ip_route_output: a local destination leaves through lo. */
		if (e->type == RTN_LOCAL && loopback_dev)
			res->dev = loopback_dev;
		if (e->type == RTN_UNICAST) {
			/* Limited broadcast and multicast follow the route's device. */
			if (daddr == htonl(INADDR_BROADCAST))
				res->type = RTN_BROADCAST;
			else if ((daddr & htonl(0xf0000000u)) == htonl(0xe0000000u))
				res->type = RTN_MULTICAST;
		}
		return 0;
	}
	res->type = RTN_UNREACHABLE;
	return -ENETUNREACH;
}

unsigned int fib_dump(struct fib_route_info *out, unsigned int max)
{
	struct fib_table *t;
	unsigned int n;

	pthread_mutex_lock(&fib_lock);
	t = fib_current();
	n = t ? t->n : 0;
	for (unsigned int i = 0; i < n && i < max; i++) {
		const struct fib_entry *e = &t->e[i];

		out[i] = (struct fib_route_info){
			.dst = e->dst, .dst_len = e->dst_len, .type = e->type,
			.table = e->table, .protocol = e->protocol, .scope = e->scope,
			.gw = e->gw, .prefsrc = e->prefsrc, .priority = e->priority,
			.ifindex = e->dev ? e->dev->ifindex : 0,
		};
	}
	pthread_mutex_unlock(&fib_lock);
	return n;
}

static const char *const fib_type_names[RTN_MAX_NS] = {
	[RTN_UNSPEC] = "none",
	[RTN_UNICAST] = "unicast",
	[RTN_LOCAL] = "local",
	[RTN_BROADCAST] = "broadcast",
	[4] = "anycast",
	[RTN_MULTICAST] = "multicast",
	[RTN_BLACKHOLE] = "blackhole",
	[RTN_UNREACHABLE] = "unreachable",
	[RTN_PROHIBIT] = "prohibit",
};

const char *fib_type_name(unsigned int type)
{
	return type < RTN_MAX_NS && fib_type_names[type] ? fib_type_names[type] : "unknown";
}

int fib_type_parse(const char *name)
{
	for (unsigned int i = 0; i < RTN_MAX_NS; i++)
		if (fib_type_names[i] && strcmp(fib_type_names[i], name) == 0)
			return (int)i;
	return -1;
}

const char *fib_protocol_name(unsigned int protocol)
{
	switch (protocol) {
	case RTPROT_KERNEL: return "kernel";
	case RTPROT_BOOT: return "boot";
	case RTPROT_STATIC: return "static";
	default: return "unspec";
	}
}

const char *fib_scope_name(unsigned int scope)
{
	switch (scope) {
	case RT_SCOPE_UNIVERSE: return "global";
	case RT_SCOPE_LINK: return "link";
	case RT_SCOPE_HOST: return "host";
	default: return "unknown";
	}
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
