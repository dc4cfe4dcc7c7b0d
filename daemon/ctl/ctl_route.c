/*
 * netstackctl route and addr: show, add and delete routes and interface
 * addresses at run time (the kernel's rtnetlink RTM_*ROUTE / RTM_*ADDR
 * handlers, inet_rtm_newroute and inet_rtm_newaddr).
 *
 * Runs on the control thread for each RouteRequest / IfAddrRequest the IPC
 * server receives, after the server has decided whether the peer may
 * change things.  Changes go through the FIB and devinet, which publish
 * new state to the workers without stopping them (route.h, devinet.h);
 * removing an address waits for the workers' grace period.  A new
 * address is announced with a gratuitous ARP from worker 0.
 *
 * Each message built here is the first member of a wrapper holding its
 * strings, so one free() releases both; static names are pointed to.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/netdev.h"
#include "core/softnet.h"
#include "ctl/ctl.h"
#include "log.h"
#include "net/ipv4/arp.h"
#include "net/ipv4/devinet.h"
#include "net/ipv4/route.h"
#include "net/ipv4/snmp.h"
#include "net/wire/arp.h"

struct ctl_route {
	Netstack__Route msg;            /* first: free(msg) frees the wrapper */
	char dst[INET_ADDRSTRLEN];
	char gateway[INET_ADDRSTRLEN];
	char prefsrc[INET_ADDRSTRLEN];
	char dev[IFNAMSIZ];
};

struct ctl_ifaddr {
	Netstack__IfAddr msg;           /* first */
	char dev[IFNAMSIZ];
	char local[INET_ADDRSTRLEN];
	char broadcast[INET_ADDRSTRLEN];
};

static void ctl_ip(char *buf, uint32_t addr)
{
	buf[0] = '\0';
	if (addr && !inet_ntop(AF_INET, &addr, buf, INET_ADDRSTRLEN))
		snprintf(buf, INET_ADDRSTRLEN, "?");
}

/* --- show ----------------------------------------------------------------- */

static Netstack__Route *ctl_route_new(const struct fib_route_info *ri)
{
	struct ctl_route *r = calloc(1, sizeof(*r));
	struct net_device *dev;

	if (!r)
		return NULL;
	netstack__route__init(&r->msg);
	if (!inet_ntop(AF_INET, &ri->dst, r->dst, sizeof(r->dst)))
		snprintf(r->dst, sizeof(r->dst), "?");
	ctl_ip(r->gateway, ri->gw);
	ctl_ip(r->prefsrc, ri->prefsrc);
	dev = ri->ifindex ? dev_get_by_index(ri->ifindex) : NULL;
	snprintf(r->dev, sizeof(r->dev), "%s", dev ? dev->name : "");
	r->msg.dst = r->dst;
	r->msg.dst_len = ri->dst_len;
	r->msg.type = (char *)fib_type_name(ri->type);
	r->msg.gateway = r->gateway;
	r->msg.dev = r->dev;
	r->msg.prefsrc = r->prefsrc;
	r->msg.metric = ri->priority;
	r->msg.table = (char *)(ri->table == RT_TABLE_LOCAL ? "local" : "main");
	r->msg.protocol = (char *)fib_protocol_name(ri->protocol);
	r->msg.scope = (char *)fib_scope_name(ri->scope);
	return &r->msg;
}

static int ctl_route_show(Netstack__NetConfigReply *reply)
{
	struct fib_route_info *ri = NULL;
	unsigned int n, max = 0;

	/* A route added between counting and copying is left for the next look. */
	n = fib_dump(NULL, 0);
	max = n;
	ri = calloc(max ? max : 1, sizeof(*ri));
	if (!ri)
		return -ENOMEM;
	n = fib_dump(ri, max);
	if (n > max)
		n = max;
	reply->routes = calloc(n ? n : 1, sizeof(*reply->routes));
	if (!reply->routes) {
		free(ri);
		return -ENOMEM;
	}
	for (unsigned int i = 0; i < n; i++) {
		reply->routes[i] = ctl_route_new(&ri[i]);
		if (!reply->routes[i]) {
			free(ri);
			return -ENOMEM;
		}
		reply->n_routes++;
	}
	free(ri);
	return 0;
}

static int ctl_ifaddr_show(Netstack__NetConfigReply *reply)
{
	size_t n = 0;

	for (struct net_device *d = netdev_first(); d; d = d->next) {
		struct in_device *in_dev = in_dev_get(d);

		for (struct in_ifaddr *ifa = in_dev ? atomic_load(&in_dev->ifa_list) : NULL; ifa;
		     ifa = ifa->ifa_next)
			n++;
	}
	reply->addrs = calloc(n ? n : 1, sizeof(*reply->addrs));
	if (!reply->addrs)
		return -ENOMEM;
	for (struct net_device *d = netdev_first(); d; d = d->next) {
		struct in_device *in_dev = in_dev_get(d);

		for (struct in_ifaddr *ifa = in_dev ? atomic_load(&in_dev->ifa_list) : NULL;
		     ifa && reply->n_addrs < n; ifa = ifa->ifa_next) {
			struct ctl_ifaddr *a;

			if (atomic_load(&ifa->dead))
				continue;
			a = calloc(1, sizeof(*a));
			if (!a)
				return -ENOMEM;
			netstack__if_addr__init(&a->msg);
			snprintf(a->dev, sizeof(a->dev), "%s", d->name);
			ctl_ip(a->local, ifa->ifa_local);
			ctl_ip(a->broadcast, ifa->ifa_broadcast);
			a->msg.dev = a->dev;
			a->msg.ifindex = d->ifindex;
			a->msg.up = netif_running(d);
			a->msg.local = a->local;
			a->msg.prefixlen = ifa->ifa_prefixlen;
			a->msg.broadcast = a->broadcast;
			reply->addrs[reply->n_addrs++] = &a->msg;
		}
	}
	return 0;
}

/* --- changes ---------------------------------------------------------------- */

/* Parse an optional dotted quad ("" -> 0).  0 or -EINVAL. */
static int ctl_parse_ip(const char *s, uint32_t *out, const char *what, char *err, size_t errlen)
{
	struct in_addr a;

	*out = 0;
	if (!s || !*s)
		return 0;
	if (inet_pton(AF_INET, s, &a) != 1) {
		snprintf(err, errlen, "%s: invalid address '%s'", what, s);
		return -EINVAL;
	}
	*out = a.s_addr;
	return 0;
}

static int ctl_find_dev(const char *name, struct net_device **dev, char *err, size_t errlen)
{
	*dev = NULL;
	if (!name || !*name)
		return 0;
	*dev = dev_get_by_name(name);
	if (!*dev) {
		snprintf(err, errlen, "Cannot find device \"%s\"", name);
		return -ENODEV;
	}
	return 0;
}

/* A Route message into a fib_config.  0 or -errno with @err. */
static int ctl_route_config(const Netstack__Route *r, struct fib_config *fc, char *err,
			    size_t errlen)
{
	int type, rc;

	memset(fc, 0, sizeof(*fc));
	if (!r) {
		snprintf(err, errlen, "route: nothing given");
		return -EINVAL;
	}
	if (r->dst_len > 32) {
		snprintf(err, errlen, "route: prefix length %u is over 32", r->dst_len);
		return -EINVAL;
	}
	rc = ctl_parse_ip(r->dst, &fc->dst, "route", err, errlen);
	if (!rc)
		rc = ctl_parse_ip(r->gateway, &fc->gw, "via", err, errlen);
	if (!rc)
		rc = ctl_parse_ip(r->prefsrc, &fc->prefsrc, "src", err, errlen);
	if (!rc)
		rc = ctl_find_dev(r->dev, &fc->dev, err, errlen);
	if (rc)
		return rc;
	fc->dst_len = (uint8_t)r->dst_len;
	type = r->type && *r->type ? fib_type_parse(r->type) : RTN_UNICAST;
	if (type < 0) {
		snprintf(err, errlen, "route: unknown type '%s'", r->type);
		return -EINVAL;
	}
	fc->type = (uint8_t)type;
	if (!r->table || !*r->table || !strcmp(r->table, "main")) {
		fc->table = RT_TABLE_MAIN;
	} else if (!strcmp(r->table, "local")) {
		fc->table = RT_TABLE_LOCAL;
	} else {
		snprintf(err, errlen, "route: unknown table '%s'", r->table);
		return -EINVAL;
	}
	fc->priority = r->metric;
	fc->protocol = RTPROT_STATIC;
	fc->match_gw = fc->gw != 0;
	fc->match_type = r->type && *r->type;
	fc->match_priority = r->match_metric;
	return 0;
}

static int ctl_route_change(const Netstack__RouteRequest *req, char *err, size_t errlen)
{
	struct fib_config fc;
	char why[160];
	int rc;

	rc = ctl_route_config(req->route, &fc, err, errlen);
	if (rc)
		return rc;
	if (req->op == NETSTACK__NET_CONFIG_OP__NET_CONFIG_OP_ADD) {
		if (fc.table != RT_TABLE_MAIN || fc.type == RTN_LOCAL || fc.type == RTN_BROADCAST) {
			snprintf(err, errlen, "route: only unicast, blackhole, unreachable and "
				 "prohibit routes in table main can be added");
			return -EINVAL;
		}
		rc = fib_table_insert(&fc, why, sizeof(why));
	} else {
		rc = fib_table_delete(&fc, why, sizeof(why));
	}
	if (rc)
		snprintf(err, errlen, "%s", why);
	return rc;
}

int ctl_route(const Netstack__RouteRequest *req, Netstack__NetConfigReply *reply,
	      char *err, size_t errlen)
{
	int rc;

	netstack__net_config_reply__init(reply);
	if (!req) {
		snprintf(err, errlen, "route: empty request");
		return -EINVAL;
	}
	switch (req->op) {
	case NETSTACK__NET_CONFIG_OP__NET_CONFIG_OP_SHOW:
		rc = ctl_route_show(reply);
		break;
	case NETSTACK__NET_CONFIG_OP__NET_CONFIG_OP_ADD:
	case NETSTACK__NET_CONFIG_OP__NET_CONFIG_OP_DEL:
		return ctl_route_change(req, err, errlen);
	default:
		snprintf(err, errlen, "route: unknown operation %d", (int)req->op);
		return -EINVAL;
	}
	if (rc) {
		snprintf(err, errlen, "route: %s", strerror(-rc));
		ctl_netconfig_free(reply);
	}
	return rc;
}

struct ctl_garp {
	struct net_device *dev;
	uint32_t addr;
};

/* On worker 0: the gratuitous ARP for a new address (RFC 5227 §2.3). */
static void ctl_garp_fn(void *arg)
{
	struct ctl_garp *g = arg;

	if (inet_addr_is_local(g->dev, g->addr)) {
		__ARP_INC_STATS(OUTGRATUITOUS);
		arp_send(ARPOP_REQUEST, g->dev, g->addr, g->addr, NULL, NULL);
	}
	free(g);
}

static int ctl_ifaddr_change(const Netstack__IfAddrRequest *req, char *err, size_t errlen)
{
	struct net_device *dev;
	uint32_t addr;
	int rc;

	rc = ctl_parse_ip(req->local, &addr, "addr", err, errlen);
	if (rc)
		return rc;
	if (!addr) {
		snprintf(err, errlen, "addr: an address is needed");
		return -EINVAL;
	}
	if (!req->dev || !*req->dev) {
		snprintf(err, errlen, "addr: 'dev NAME' is needed");
		return -EINVAL;
	}
	rc = ctl_find_dev(req->dev, &dev, err, errlen);
	if (rc)
		return rc;
	if (req->prefixlen > 32) {
		snprintf(err, errlen, "addr: prefix length %u is over 32", req->prefixlen);
		return -EINVAL;
	}
	if (req->op == NETSTACK__NET_CONFIG_OP__NET_CONFIG_OP_DEL) {
		rc = inet_addr_del(dev, addr, req->any_prefixlen ? -1 : (int)req->prefixlen);
		if (rc)
			snprintf(err, errlen, "Cannot assign requested address (not on %s)",
				 dev->name);
		return rc;
	}
	rc = inet_addr_add(dev, addr, req->prefixlen);
	if (rc == -EEXIST)
		snprintf(err, errlen, "File exists (the address is already ours)");
	else if (rc == -EINVAL)
		snprintf(err, errlen, "Invalid address: not a unicast address");
	else if (rc)
		snprintf(err, errlen, "addr: %s", strerror(-rc));
	if (!rc) {
		struct ctl_garp *g = malloc(sizeof(*g));

		if (g) {
			g->dev = dev;
			g->addr = addr;
			if (softnet_call(0, ctl_garp_fn, g) != 0)
				free(g);
		}
	}
	return rc;
}

int ctl_ifaddr(const Netstack__IfAddrRequest *req, Netstack__NetConfigReply *reply,
	       char *err, size_t errlen)
{
	int rc;

	netstack__net_config_reply__init(reply);
	if (!req) {
		snprintf(err, errlen, "addr: empty request");
		return -EINVAL;
	}
	switch (req->op) {
	case NETSTACK__NET_CONFIG_OP__NET_CONFIG_OP_SHOW:
		rc = ctl_ifaddr_show(reply);
		break;
	case NETSTACK__NET_CONFIG_OP__NET_CONFIG_OP_ADD:
	case NETSTACK__NET_CONFIG_OP__NET_CONFIG_OP_DEL:
		return ctl_ifaddr_change(req, err, errlen);
	default:
		snprintf(err, errlen, "addr: unknown operation %d", (int)req->op);
		return -EINVAL;
	}
	if (rc) {
		snprintf(err, errlen, "addr: %s", strerror(-rc));
		ctl_netconfig_free(reply);
	}
	return rc;
}

void ctl_netconfig_free(Netstack__NetConfigReply *reply)
{
	for (size_t i = 0; i < reply->n_routes; i++)
		free(reply->routes[i]);
	free(reply->routes);
	for (size_t i = 0; i < reply->n_addrs; i++)
		free(reply->addrs[i]);
	free(reply->addrs);
	netstack__net_config_reply__init(reply);
}
