/*
 * The bypass policy (see bypass.h): parsing NETSTACK_BYPASS and matching
 * addresses against it.  Client context, any thread; the process policy is
 * built once under a pthread_once.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "bypass.h"

/* Parse one rule of @len bytes at @s.  True on success. */
static bool ns_bypass_parse_rule(const char *s, size_t len, struct ns_bypass_rule *r)
{
	char buf[64], *colon, *slash, *end;
	struct in_addr a;
	long v;

	if (len == 0 || len >= sizeof(buf))
		return false;
	memcpy(buf, s, len);
	buf[len] = '\0';
	memset(r, 0, sizeof(*r));
	r->prefixlen = -1;
	if (strcasecmp(buf, "ipv6") == 0) {
		r->ipv6 = true;
		return true;
	}
	colon = strchr(buf, ':');
	if (colon) {
		*colon = '\0';
		errno = 0;
		v = strtol(colon + 1, &end, 10);
		if (colon[1] == '\0' || *end || errno || v < 1 || v > 65535)
			return false;
		r->port = (uint16_t)v;
	}
	if (buf[0] == '\0')
		return colon != NULL;   /* ":P" */
	slash = strchr(buf, '/');
	if (slash) {
		*slash = '\0';
		errno = 0;
		v = strtol(slash + 1, &end, 10);
		if (slash[1] == '\0' || *end || errno || v < 0 || v > 32)
			return false;
		r->prefixlen = (int)v;
	} else {
		r->prefixlen = 32;
	}
	if (inet_pton(AF_INET, buf, &a) != 1)
		return false;
	r->addr = ntohl(a.s_addr);
	if (r->prefixlen < 32)
		r->addr &= r->prefixlen ? ~0u << (32 - r->prefixlen) : 0;
	return true;
}

int ns_bypass_parse(const char *spec, struct ns_bypass_policy *p, char *bad, size_t badlen)
{
	size_t cap = 0;
	int nbad = 0;

	p->rules = NULL;
	p->n = 0;
	if (!spec)
		return 0;
	while (*spec) {
		struct ns_bypass_rule r;
		size_t len;

		while (*spec == ',' || isspace((unsigned char)*spec))
			spec++;
		len = strcspn(spec, ", \t\n");
		if (len == 0)
			break;
		if (ns_bypass_parse_rule(spec, len, &r)) {
			if (p->n == cap) {
				size_t ncap = cap ? cap * 2 : 8;
				struct ns_bypass_rule *nr = realloc(p->rules, ncap * sizeof(*nr));

				if (!nr)
					return nbad + 1;
				p->rules = nr;
				cap = ncap;
			}
			p->rules[p->n++] = r;
		} else {
			if (nbad++ == 0 && bad && badlen) {
				size_t n = len < badlen - 1 ? len : badlen - 1;

				memcpy(bad, spec, n);
				bad[n] = '\0';
			}
		}
		spec += len;
	}
	return nbad;
}

void ns_bypass_free(struct ns_bypass_policy *p)
{
	free(p->rules);
	p->rules = NULL;
	p->n = 0;
}

bool ns_bypass_match(const struct ns_bypass_policy *p, const struct sockaddr *addr,
		     socklen_t len)
{
	uint32_t a = 0;
	uint16_t port = 0;
	bool v6 = false;
	sa_family_t fam;

	if (!p || p->n == 0 || !addr || len < sizeof(sa_family_t))
		return false;
	memcpy(&fam, addr, sizeof(fam));
	if (fam == AF_INET && len >= sizeof(struct sockaddr_in)) {
		struct sockaddr_in sin;

		memcpy(&sin, addr, sizeof(sin));
		a = ntohl(sin.sin_addr.s_addr);
		port = ntohs(sin.sin_port);
	} else if (fam == AF_INET6 && len >= sizeof(struct sockaddr_in6)) {
		struct sockaddr_in6 sin6;

		memcpy(&sin6, addr, sizeof(sin6));
		port = ntohs(sin6.sin6_port);
		if (IN6_IS_ADDR_V4MAPPED(&sin6.sin6_addr)) {
			memcpy(&a, &sin6.sin6_addr.s6_addr[12], 4);
			a = ntohl(a);
		} else {
			v6 = true;
		}
	} else {
		return false;
	}
	for (size_t i = 0; i < p->n; i++) {
		const struct ns_bypass_rule *r = &p->rules[i];

		if (r->ipv6) {
			if (v6)
				return true;
			continue;
		}
		if (r->port && r->port != port)
			continue;
		if (r->prefixlen >= 0) {
			uint32_t m = r->prefixlen ? ~0u << (32 - r->prefixlen) : 0;

			if (v6 || (a & m) != r->addr)
				continue;
		}
		return true;
	}
	return false;
}

static struct ns_bypass_policy ns_bypass_proc;
static pthread_once_t ns_bypass_once = PTHREAD_ONCE_INIT;
static char ns_bypass_bad[64];
static int ns_bypass_nbad;

static void ns_bypass_load(void)
{
	ns_bypass_nbad = ns_bypass_parse(getenv("NETSTACK_BYPASS"), &ns_bypass_proc,
					 ns_bypass_bad, sizeof(ns_bypass_bad));
}

/* Defined in ipc.c; declared here to keep bypass.c free of the IPC header. */
void ns_log_line(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

const struct ns_bypass_policy *ns_bypass_policy(void)
{
	pthread_once(&ns_bypass_once, ns_bypass_load);
	if (__atomic_exchange_n(&ns_bypass_nbad, 0, __ATOMIC_RELAXED))
		ns_log_line("NETSTACK_BYPASS: ignoring malformed rule '%s'", ns_bypass_bad);
	return &ns_bypass_proc;
}
