/*
 * The IPv4 forwarding information base (the kernel's fib_table_insert,
 * fib_table_delete, fib_lookup with the local and main tables).
 *
 * Routes are changed on the control thread (start-up, interface addresses,
 * netstackctl route); lookups run on workers.  The routes live in one
 * array, replaced as a whole and published with a release store, so a
 * lookup takes no lock; a replaced array is freed after every worker has
 * passed a quiescent point (see fib_synchronize in route.c).
 *
 * Two tables, as in Linux: "local" (RT_TABLE_LOCAL: our addresses and
 * broadcast addresses, added and removed with the addresses) is consulted
 * first, then "main" (RT_TABLE_MAIN: connected prefixes, static routes, the
 * default route) by longest prefix, lowest metric first.
 */
#ifndef NS_NET_ROUTE_H
#define NS_NET_ROUTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct net_device;
struct sk_buff;

/* Route types with the kernel's values (linux/rtnetlink.h). */
enum rtn_type {
	RTN_UNSPEC = 0,
	RTN_UNICAST = 1,    /* a gateway or a directly connected network */
	RTN_LOCAL = 2,      /* one of our addresses */
	RTN_BROADCAST = 3,  /* a broadcast address: deliver locally */
	RTN_MULTICAST = 5,
	RTN_BLACKHOLE = 6,  /* drop silently (EINVAL to local senders) */
	RTN_UNREACHABLE = 7, /* ICMP host unreachable (EHOSTUNREACH) */
	RTN_PROHIBIT = 8,   /* ICMP administratively prohibited (EACCES) */
	RTN_MAX_NS = 9,
};

enum {
	RT_TABLE_MAIN = 254,
	RT_TABLE_LOCAL = 255,
};

/* Who installed a route (rtm_protocol), as `ip route` shows it. */
enum {
	RTPROT_KERNEL = 2,  /* with an address: connected, local, broadcast */
	RTPROT_BOOT = 3,    /* from the configuration file */
	RTPROT_STATIC = 4,  /* netstackctl route add */
};

enum {
	RT_SCOPE_UNIVERSE = 0,
	RT_SCOPE_LINK = 253,
	RT_SCOPE_HOST = 254,
};

/* A route to add or delete (the kernel's struct fib_config). */
struct fib_config {
	uint32_t dst;               /* network order; host bits must be 0 */
	uint8_t dst_len;
	uint8_t type;               /* enum rtn_type; 0 means RTN_UNICAST */
	uint8_t table;              /* 0 means RT_TABLE_MAIN */
	uint8_t protocol;           /* RTPROT_*; 0 means RTPROT_STATIC */
	uint8_t scope;              /* 0: derived from the type and gateway */
	uint32_t gw;                /* 0: directly connected (or not unicast) */
	uint32_t prefsrc;           /* 0: chosen per lookup from the device */
	uint32_t priority;          /* metric: lower wins between equal prefixes */
	struct net_device *dev;     /* NULL: the device that reaches gw */
	/* Delete: match only when set (0/NULL/false: any). */
	bool match_gw, match_type, match_priority;
};

/* One route as `netstackctl route` shows it. */
struct fib_route_info {
	uint32_t dst;
	uint8_t dst_len;
	uint8_t type;
	uint8_t table;
	uint8_t protocol;
	uint8_t scope;
	uint32_t gw;
	uint32_t prefsrc;
	uint32_t priority;
	int ifindex;                /* 0: no device (blackhole, ...) */
};

struct fib_result {
	enum rtn_type type;
	struct net_device *dev;
	uint32_t nexthop;           /* gateway, or the destination if connected */
	uint32_t prefsrc;           /* preferred source address */
	uint8_t prefixlen;
	uint8_t table;
	uint8_t scope;
	bool has_gw;                /* the route goes through a gateway */
};

/*
 * Add a route.  Checks it as the kernel does: a gateway must lie in a
 * connected prefix (of @cfg->dev when given) and must not be ours, a
 * preferred source must be ours, host bits of the prefix must be zero.
 * Returns 0, -EEXIST (same table, prefix and metric; routes the kernel
 * adds with an address may share a prefix across devices), -EINVAL,
 * -ENODEV or -ENOMEM, with a one-line reason in @err (may be NULL).
 * Control context.
 */
int fib_table_insert(const struct fib_config *cfg, char *err, size_t errlen);

/*
 * Delete the first route of @cfg->table with @cfg's prefix that also
 * matches the selectors given (gateway, type, metric when their match_*
 * flag is set; device when @cfg->dev is set).  0 or -ESRCH, with @err.
 * Control context.
 */
int fib_table_delete(const struct fib_config *cfg, char *err, size_t errlen);

/* Old interface: a unicast route in main (RTPROT_BOOT).  0 or -errno. */
int fib_add_route(uint32_t dst, unsigned int prefixlen, uint32_t gw,
		  struct net_device *dev, uint32_t prefsrc);

/*
 * Delete every route whose preferred source is @addr, which is no longer
 * ours (the kernel's fib_sync_down_addr).  Returns the number removed.
 * Control context.
 */
unsigned int fib_flush_prefsrc(uint32_t addr);

/*
 * Where a packet for @daddr goes: the local table, then the longest main
 * prefix.  Returns 0 (res->type is UNICAST, LOCAL, BROADCAST or
 * MULTICAST), or, with res->type set, the error a local sender gets:
 * -ENETUNREACH (no route), -EHOSTUNREACH (unreachable route), -EACCES
 * (prohibit), -EINVAL (blackhole).  Lock-free; any thread.
 */
int fib_lookup(uint32_t daddr, struct fib_result *res);

/*
 * Copy up to @max routes into @out, local table first, each table longest
 * prefix first.  Returns how many routes there are (may exceed @max).
 * Control context.
 */
unsigned int fib_dump(struct fib_route_info *out, unsigned int max);

/* Names as `ip route` prints them ("unicast", "kernel", "link", ...). */
const char *fib_type_name(unsigned int type);
const char *fib_protocol_name(unsigned int protocol);
const char *fib_scope_name(unsigned int scope);
/* Parse a type name; -1 if unknown. */
int fib_type_parse(const char *name);

/* Free all tables (shutdown, workers stopped). */
void fib_cleanup(void);

#endif
