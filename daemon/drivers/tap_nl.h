/*
 * Kernel-side configuration of a TAP over rtnetlink (libnl-route): link
 * up, MTU, an address, and the kernel's own counters for the link.
 * Control context only (one netlink socket, not shared with workers).
 */
#ifndef NS_DRIVERS_TAP_NL_H
#define NS_DRIVERS_TAP_NL_H

#include <stddef.h>
#include <stdint.h>

struct tap_nl;

/* Connect to rtnetlink.  NULL with a reason in @err. */
struct tap_nl *tap_nl_open(char *err, size_t errlen);
void tap_nl_close(struct tap_nl *nl);

/*
 * Bring @ifname up with @mtu and, if @addr != 0, add @addr/@prefixlen
 * (network order) to it.  0 or -1 with a reason in @err.
 */
int tap_nl_configure(struct tap_nl *nl, const char *ifname, unsigned int mtu,
		     uint32_t addr, unsigned int prefixlen, char *err, size_t errlen);

/*
 * The kernel's tx_dropped for @ifname: frames the kernel could not queue
 * to us (our receive overruns).  0 or -1.
 */
int tap_nl_tx_dropped(struct tap_nl *nl, const char *ifname, uint64_t *out);

#endif
