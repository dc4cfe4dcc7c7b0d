/*
 * The IPv4 forwarding information base: routes with longest-prefix match
 * (the kernel's fib_lookup / ip_route_input / ip_route_output).
 *
 * Routes are added on the control thread; lookups run on workers.  The
 * table is a small array kept sorted by prefix length (longest first),
 * replaced as a whole and published with a release store, so lookups take
 * no lock; an old table is freed only at shutdown.
 */
#ifndef NS_NET_ROUTE_H
#define NS_NET_ROUTE_H

#include <stdint.h>

struct net_device;
struct sk_buff;

enum rtn_type {
	RTN_UNSPEC = 0,
	RTN_UNICAST = 1,    /* a gateway or a directly connected host */
	RTN_LOCAL = 2,      /* one of our addresses */
	RTN_BROADCAST = 3,
	RTN_MULTICAST = 5,
	RTN_UNREACHABLE = 7,
};

struct fib_result {
	enum rtn_type type;
	struct net_device *dev;
	uint32_t nexthop;           /* gateway, or the destination if connected */
	uint32_t prefsrc;           /* preferred source address */
	uint8_t prefixlen;
};

/*
 * Add a route to @dst/@prefixlen via @gw (0: directly connected) out of
 * @dev.  0, -EEXIST, -EINVAL or -ENOMEM.  Control context.
 */
int fib_add_route(uint32_t dst, unsigned int prefixlen, uint32_t gw,
		  struct net_device *dev, uint32_t prefsrc);

/* Where to send a packet for @daddr.  0 or -ENETUNREACH.  Any thread. */
int fib_lookup(uint32_t daddr, struct fib_result *res);

/* Free all tables (shutdown). */
void fib_cleanup(void);

#endif
