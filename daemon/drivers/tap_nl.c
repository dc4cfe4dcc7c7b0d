/*
 * rtnetlink through libnl-route for the TAP's kernel side.  Control
 * context; the socket is used by one thread at a time (start-up, then the
 * control thread answering netstackctl link).
 */
#include <errno.h>
#include <net/if.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>

#include "drivers/tap_nl.h"

struct tap_nl {
	struct nl_sock *sock;
};

struct tap_nl *tap_nl_open(char *err, size_t errlen)
{
	struct tap_nl *nl = calloc(1, sizeof(*nl));
	int rc;

	if (!nl) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	nl->sock = nl_socket_alloc();
	if (!nl->sock) {
		snprintf(err, errlen, "cannot allocate a netlink socket");
		goto free_nl;
	}
	rc = nl_connect(nl->sock, NETLINK_ROUTE);
	if (rc < 0) {
		snprintf(err, errlen, "cannot connect to rtnetlink: %s", nl_geterror(rc));
		goto free_sock;
	}
	return nl;
free_sock:
	nl_socket_free(nl->sock);
free_nl:
	free(nl);
	return NULL;
}

void tap_nl_close(struct tap_nl *nl)
{
	if (!nl)
		return;
	nl_socket_free(nl->sock);
	free(nl);
}

/* Packets the kernel may queue towards us on the TAP (its txqueuelen). */
#define TAP_NL_TXQLEN 4096u

int tap_nl_configure(struct tap_nl *nl, const char *ifname, unsigned int mtu,
		     uint32_t addr, unsigned int prefixlen, char *err, size_t errlen)
{
	struct rtnl_link *link = NULL, *change = NULL;
	struct rtnl_addr *ra = NULL;
	struct nl_addr *local = NULL;
	int rc, ret = -1;

	rc = rtnl_link_get_kernel(nl->sock, 0, ifname, &link);
	if (rc < 0) {
		snprintf(err, errlen, "cannot find link %s: %s", ifname, nl_geterror(rc));
		return -1;
	}
	change = rtnl_link_alloc();
	if (!change) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	rtnl_link_set_mtu(change, mtu);
	rtnl_link_set_flags(change, IFF_UP);
	/*
	 * The kernel side queues what it sends us in the tun device's queue
	 * (txqueuelen, 500 by default) until a worker reads it; a TCP burst
	 * larger than that is tail-dropped before we see it.  A deeper queue
	 * turns those drops into a little latency, like a NIC's RX ring.
	 */
	rtnl_link_set_txqlen(change, TAP_NL_TXQLEN);
	rc = rtnl_link_change(nl->sock, link, change, 0);
	if (rc < 0) {
		snprintf(err, errlen, "cannot set %s up with mtu %u: %s", ifname, mtu,
			 nl_geterror(rc));
		goto out;
	}
	if (addr) {
		ra = rtnl_addr_alloc();
		local = nl_addr_build(AF_INET, &addr, sizeof(addr));
		if (!ra || !local) {
			snprintf(err, errlen, "out of memory");
			goto out;
		}
		nl_addr_set_prefixlen(local, (int)prefixlen);
		rtnl_addr_set_ifindex(ra, rtnl_link_get_ifindex(link));
		rtnl_addr_set_local(ra, local);
		rc = rtnl_addr_add(nl->sock, ra, 0);
		if (rc < 0 && rc != -NLE_EXIST) {
			snprintf(err, errlen, "cannot add address to %s: %s", ifname,
				 nl_geterror(rc));
			goto out;
		}
	}
	ret = 0;
out:
	if (local)
		nl_addr_put(local);
	if (ra)
		rtnl_addr_put(ra);
	if (change)
		rtnl_link_put(change);
	rtnl_link_put(link);
	return ret;
}

int tap_nl_tx_dropped(struct tap_nl *nl, const char *ifname, uint64_t *out)
{
	struct rtnl_link *link = NULL;

	if (rtnl_link_get_kernel(nl->sock, 0, ifname, &link) < 0)
		return -1;
	*out = rtnl_link_get_stat(link, RTNL_LINK_TX_DROPPED);
	rtnl_link_put(link);
	return 0;
}
