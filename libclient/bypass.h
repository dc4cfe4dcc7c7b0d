/*
 * The bypass policy: destinations and local addresses that stay with the
 * kernel's stack although the socket was created on netstack.
 *
 * NETSTACK_BYPASS is a comma- or space-separated list of rules:
 *   A.B.C.D          that IPv4 address
 *   A.B.C.D/N        that prefix
 *   A.B.C.D:P, A.B.C.D/N:P   that address or prefix, port P only
 *   :P               any address, port P
 *   ipv6             native (not v4-mapped) IPv6 addresses
 * Example: NETSTACK_BYPASS="10.0.0.0/8,192.168.1.5:22,:53".
 * v4-mapped IPv6 addresses are matched as the IPv4 address they carry.
 * Malformed rules are reported once on stderr and ignored.
 *
 * Where it applies (sock.c): a stack datagram socket that has not yet
 * talked to the daemon about addresses (not bound, connected or used to
 * send) and has one descriptor moves to a kernel socket when it is bound
 * to, connected to, or first sends to a matching address.  Pure functions
 * (the rules are parsed once); any thread.
 */
#ifndef NS_LIBCLIENT_BYPASS_H
#define NS_LIBCLIENT_BYPASS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct ns_bypass_rule {
	uint32_t addr;          /* host order */
	int prefixlen;          /* -1: any address */
	uint16_t port;          /* host order; 0: any port */
	bool ipv6;              /* matches native IPv6 addresses */
};

struct ns_bypass_policy {
	struct ns_bypass_rule *rules;
	size_t n;
};

/*
 * Parse @spec into @p (rules allocated with malloc; free with
 * ns_bypass_free).  Returns the number of malformed rules skipped; the
 * first one is copied to @bad (up to @badlen bytes) if @bad is not NULL.
 */
int ns_bypass_parse(const char *spec, struct ns_bypass_policy *p, char *bad, size_t badlen);
void ns_bypass_free(struct ns_bypass_policy *p);

/* True if the raw address @addr (@len bytes) matches a rule of @p. */
bool ns_bypass_match(const struct ns_bypass_policy *p, const struct sockaddr *addr,
		     socklen_t len);

/* The process's policy from NETSTACK_BYPASS (parsed on first use). */
const struct ns_bypass_policy *ns_bypass_policy(void);

#endif
