/*
 * Configuration file parser.  The format is INI: "[daemon]",
 * "[interface NAME]", "[route]", "[sysctl]" sections of "key = value"
 * lines; '#' and ';' start comments.  Unknown sections or keys and bad values are errors,
 * never silently ignored.  Control context, at start-up.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nsconfig.h"
#include "core/softnet.h"
#include "core/sysctl.h"
#include "log.h"
#include "net/ipv4/route.h"
#include "proto/ipc.h"

void config_init(struct ns_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->workers = 1;
	snprintf(cfg->socket_path, sizeof(cfg->socket_path), "%s", NS_IPC_DEFAULT_SOCKET);
	cfg->log_level = NS_LOG_INFO;
	cfg->log_target = NS_LOG_TARGET_STDERR;
	cfg->client_shm_mb = NS_CONFIG_CLIENT_SHM_MB;
	cfg->client_max_sockets = NS_CONFIG_CLIENT_MAX_SOCKETS;
}

int config_parse_uint(const char *s, unsigned long min, unsigned long max, unsigned long *out)
{
	char *end;
	unsigned long v;

	if (!*s || !isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

int config_parse_ipv4(const char *s, uint32_t *addr)
{
	struct in_addr a;

	if (inet_pton(AF_INET, s, &a) != 1)
		return -1;
	*addr = a.s_addr;
	return 0;
}

int config_parse_prefix(const char *s, uint32_t *addr, unsigned int *prefixlen)
{
	char buf[64];
	char *slash;
	unsigned long len;

	if (strlen(s) >= sizeof(buf))
		return -1;
	strcpy(buf, s);
	slash = strchr(buf, '/');
	if (!slash)
		return -1;
	*slash = '\0';
	if (config_parse_ipv4(buf, addr) < 0 || config_parse_uint(slash + 1, 0, 32, &len) < 0)
		return -1;
	*prefixlen = (unsigned int)len;
	return 0;
}

int config_parse_mac(const char *s, uint8_t mac[6])
{
	/* Exactly six groups of one or two hex digits separated by ':'. */
	for (int i = 0; i < 6; i++) {
		unsigned int v = 0, n = 0;

		while (isxdigit((unsigned char)*s) && n < 2) {
			v = v * 16 + (unsigned int)(isdigit((unsigned char)*s) ? *s - '0'
							: (tolower((unsigned char)*s) - 'a' + 10));
			s++;
			n++;
		}
		if (n == 0)
			return -1;
		if (i < 5 && *s++ != ':')
			return -1;
		mac[i] = (uint8_t)v;
	}
	if (*s)
		return -1;
	/* A station address must be unicast and not all zero. */
	if ((mac[0] & 1) || !(mac[0] | mac[1] | mac[2] | mac[3] | mac[4] | mac[5]))
		return -1;
	return 0;
}

struct ns_iface_config *config_iface(struct ns_config *cfg, const char *name)
{
	struct ns_iface_config *ifc;

	for (unsigned int i = 0; i < cfg->n_ifaces; i++)
		if (strcmp(cfg->ifaces[i].name, name) == 0)
			return &cfg->ifaces[i];
	if (cfg->n_ifaces == NS_CONFIG_MAX_IFACES)
		return NULL;
	ifc = &cfg->ifaces[cfg->n_ifaces++];
	memset(ifc, 0, sizeof(*ifc));
	snprintf(ifc->name, sizeof(ifc->name), "%s", name);
	snprintf(ifc->type, sizeof(ifc->type), "tap");
	ifc->mtu = 1500;
	ifc->queues = 1;
	return ifc;
}

static char *trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

/* Strip a trailing comment that starts with '#' or ';' after whitespace. */
static void strip_comment(char *s)
{
	for (char *p = s; *p; p++) {
		if ((*p == '#' || *p == ';') && (p == s || isspace((unsigned char)p[-1]))) {
			*p = '\0';
			return;
		}
	}
}

static bool valid_ifname(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n >= 16)
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '-' && *s != '_' && *s != '.')
			return false;
	return true;
}

enum section { SEC_NONE, SEC_DAEMON, SEC_IFACE, SEC_ROUTE, SEC_SYSCTL };

static int set_daemon_key(struct ns_config *cfg, const char *key, const char *val,
			  char *why, size_t whylen)
{
	unsigned long v;

	if (strcmp(key, "workers") == 0) {
		if (config_parse_uint(val, 1, NS_MAX_WORKERS, &v) < 0) {
			snprintf(why, whylen, "workers must be an integer from 1 to %d, not '%s'",
				 NS_MAX_WORKERS, val);
			return -1;
		}
		cfg->workers = (int)v;
	} else if (strcmp(key, "socket") == 0) {
		if (val[0] != '/' || strlen(val) >= sizeof(cfg->socket_path)) {
			snprintf(why, whylen, "socket must be an absolute path shorter than %zu bytes",
				 sizeof(cfg->socket_path));
			return -1;
		}
		snprintf(cfg->socket_path, sizeof(cfg->socket_path), "%s", val);
	} else if (strcmp(key, "socket_group") == 0) {
		if (strlen(val) >= sizeof(cfg->socket_group)) {
			snprintf(why, whylen, "socket_group is too long");
			return -1;
		}
		snprintf(cfg->socket_group, sizeof(cfg->socket_group), "%s", val);
	} else if (strcmp(key, "log_level") == 0) {
		int l = ns_log_level_parse(val);

		if (l < 0) {
			snprintf(why, whylen, "log_level must be err, warning, info or debug, not '%s'", val);
			return -1;
		}
		cfg->log_level = l;
	} else if (strcmp(key, "log_target") == 0) {
		if (strcmp(val, "stderr") == 0)
			cfg->log_target = NS_LOG_TARGET_STDERR;
		else if (strcmp(val, "journal") == 0)
			cfg->log_target = NS_LOG_TARGET_JOURNAL;
		else {
			snprintf(why, whylen, "log_target must be stderr or journal, not '%s'", val);
			return -1;
		}
	} else if (strcmp(key, "client_shm_mb") == 0) {
		if (config_parse_uint(val, 1, NS_CONFIG_CLIENT_SHM_MB_MAX, &v) < 0) {
			snprintf(why, whylen, "client_shm_mb must be an integer from 1 to %u, not '%s'",
				 NS_CONFIG_CLIENT_SHM_MB_MAX, val);
			return -1;
		}
		cfg->client_shm_mb = (unsigned int)v;
	} else if (strcmp(key, "client_max_sockets") == 0) {
		if (config_parse_uint(val, 1, NS_CONFIG_CLIENT_MAX_SOCKETS_LIMIT, &v) < 0) {
			snprintf(why, whylen,
				 "client_max_sockets must be an integer from 1 to %u, not '%s'",
				 NS_CONFIG_CLIENT_MAX_SOCKETS_LIMIT, val);
			return -1;
		}
		cfg->client_max_sockets = (unsigned int)v;
	} else {
		snprintf(why, whylen, "unknown key '%s' in [daemon]", key);
		return -1;
	}
	return 0;
}

/*
 * "address = A/N [A/N ...]": one or more addresses (separated by blanks or
 * commas), added after those already given; the key may repeat.
 */
static int add_iface_addrs(struct ns_iface_config *ifc, const char *val, int line,
			   char *why, size_t whylen)
{
	char buf[1024], *save = NULL, *tok;
	int n = 0;

	snprintf(buf, sizeof(buf), "%s", val);
	for (tok = strtok_r(buf, " \t,", &save); tok; tok = strtok_r(NULL, " \t,", &save)) {
		struct ns_addr_config a = { .line = line };

		if (config_parse_prefix(tok, &a.addr, &a.prefixlen) < 0 || !a.addr) {
			snprintf(why, whylen, "bad address '%s' (expected A.B.C.D/N)", tok);
			return -1;
		}
		for (unsigned int i = 0; i < ifc->n_addrs; i++) {
			if (ifc->addrs[i].addr == a.addr) {
				snprintf(why, whylen, "address %s given twice for %s", tok, ifc->name);
				return -1;
			}
		}
		if (ifc->n_addrs == NS_CONFIG_MAX_ADDRS) {
			snprintf(why, whylen, "too many addresses for %s (at most %d)", ifc->name,
				 NS_CONFIG_MAX_ADDRS);
			return -1;
		}
		ifc->addrs[ifc->n_addrs++] = a;
		n++;
	}
	if (!n) {
		snprintf(why, whylen, "address needs a value (A.B.C.D/N)");
		return -1;
	}
	return 0;
}

/* Is @w the start of a prefix: "default" or a dotted quad with optional /N? */
static int parse_route_dst(const char *w, struct ns_route_config *rt, char *why, size_t whylen)
{
	uint32_t mask;

	if (strcmp(w, "default") == 0) {
		rt->dst = 0;
		rt->dst_len = 0;
		return 0;
	}
	if (strchr(w, '/')) {
		if (config_parse_prefix(w, &rt->dst, &rt->dst_len) < 0)
			goto bad;
	} else {
		if (config_parse_ipv4(w, &rt->dst) < 0)
			goto bad;
		rt->dst_len = 32;
	}
	mask = rt->dst_len ? htonl(~0u << (32 - rt->dst_len)) : 0;
	if (rt->dst & ~mask) {
		struct in_addr net = { .s_addr = rt->dst & mask };
		char a[INET_ADDRSTRLEN];

		inet_ntop(AF_INET, &net, a, sizeof(a));
		snprintf(why, whylen, "route prefix '%s' has host bits set (did you mean %s/%u?)",
			 w, a, rt->dst_len);
		return -1;
	}
	return 0;
bad:
	snprintf(why, whylen, "bad route prefix '%s' (expected A.B.C.D/N or default)", w);
	return -1;
}

int config_parse_route(const char *s, struct ns_route_config *rt, char *why, size_t whylen)
{
	char buf[512], *save = NULL, *w, *arg;
	bool have_dst = false, have_via = false, have_dev = false, have_metric = false,
	     have_src = false;
	unsigned long v;
	int type;

	memset(rt, 0, sizeof(*rt));
	rt->type = RTN_UNICAST;
	if (strlen(s) >= sizeof(buf)) {
		snprintf(why, whylen, "route is too long");
		return -1;
	}
	snprintf(buf, sizeof(buf), "%s", s);
	w = strtok_r(buf, " \t", &save);
	if (w && (type = fib_type_parse(w)) >= 0) {
		if (type != RTN_UNICAST && type != RTN_BLACKHOLE && type != RTN_UNREACHABLE &&
		    type != RTN_PROHIBIT) {
			snprintf(why, whylen, "route type '%s' cannot be configured "
				 "(unicast, blackhole, unreachable or prohibit)", w);
			return -1;
		}
		rt->type = type;
		w = strtok_r(NULL, " \t", &save);
	}
	for (; w; w = strtok_r(NULL, " \t", &save)) {
		bool *seen = NULL;

		if (strcmp(w, "via") == 0)
			seen = &have_via;
		else if (strcmp(w, "dev") == 0)
			seen = &have_dev;
		else if (strcmp(w, "metric") == 0 || strcmp(w, "priority") == 0)
			seen = &have_metric;
		else if (strcmp(w, "src") == 0)
			seen = &have_src;
		if (!seen) {
			if (have_dst) {
				snprintf(why, whylen, "unexpected '%s' in route "
					 "(expected via, dev, metric or src)", w);
				return -1;
			}
			if (parse_route_dst(w, rt, why, whylen) < 0)
				return -1;
			have_dst = true;
			continue;
		}
		if (*seen) {
			snprintf(why, whylen, "'%s' given twice in route", w);
			return -1;
		}
		*seen = true;
		arg = strtok_r(NULL, " \t", &save);
		if (!arg) {
			snprintf(why, whylen, "'%s' needs a value in route", w);
			return -1;
		}
		if (seen == &have_via) {
			if (config_parse_ipv4(arg, &rt->gw) < 0 || !rt->gw) {
				snprintf(why, whylen, "bad gateway '%s' in route", arg);
				return -1;
			}
		} else if (seen == &have_dev) {
			if (!valid_ifname(arg)) {
				snprintf(why, whylen, "bad device name '%s' in route", arg);
				return -1;
			}
			snprintf(rt->dev, sizeof(rt->dev), "%s", arg);
		} else if (seen == &have_metric) {
			if (config_parse_uint(arg, 0, 0xffffffffu, &v) < 0) {
				snprintf(why, whylen, "bad metric '%s' in route", arg);
				return -1;
			}
			rt->metric = (uint32_t)v;
		} else {
			if (config_parse_ipv4(arg, &rt->prefsrc) < 0 || !rt->prefsrc) {
				snprintf(why, whylen, "bad src address '%s' in route", arg);
				return -1;
			}
		}
	}
	if (!have_dst) {
		snprintf(why, whylen, "route needs a prefix (A.B.C.D/N or default)");
		return -1;
	}
	if (rt->type == RTN_UNICAST && !have_via && !have_dev) {
		snprintf(why, whylen, "route needs 'via GATEWAY' or 'dev NAME'");
		return -1;
	}
	if (rt->type != RTN_UNICAST && (have_via || have_dev || have_src)) {
		snprintf(why, whylen, "a %s route takes no via, dev or src", fib_type_name((unsigned)rt->type));
		return -1;
	}
	return 0;
}

static int set_route_key(struct ns_config *cfg, const char *key, const char *val, int line,
			 char *why, size_t whylen)
{
	struct ns_route_config rt;

	if (strcmp(key, "route") != 0) {
		snprintf(why, whylen, "unknown key '%s' in [route] (expected 'route = ...')", key);
		return -1;
	}
	if (config_parse_route(val, &rt, why, whylen) < 0)
		return -1;
	if (cfg->n_routes == NS_CONFIG_MAX_ROUTES) {
		snprintf(why, whylen, "too many routes (at most %d)", NS_CONFIG_MAX_ROUTES);
		return -1;
	}
	rt.line = line;
	cfg->routes[cfg->n_routes++] = rt;
	return 0;
}

static int set_iface_key(struct ns_iface_config *ifc, const char *key, const char *val,
			 int line, char *why, size_t whylen)
{
	unsigned long v;

	if (strcmp(key, "type") == 0) {
		if (strcmp(val, "tap") != 0) {
			snprintf(why, whylen, "interface type '%s' is not supported (only 'tap')", val);
			return -1;
		}
		snprintf(ifc->type, sizeof(ifc->type), "%s", val);
	} else if (strcmp(key, "address") == 0) {
		if (add_iface_addrs(ifc, val, line, why, whylen) < 0)
			return -1;
	} else if (strcmp(key, "gateway") == 0) {
		if (config_parse_ipv4(val, &ifc->gateway) < 0) {
			snprintf(why, whylen, "bad gateway address '%s'", val);
			return -1;
		}
	} else if (strcmp(key, "host_address") == 0) {
		if (config_parse_prefix(val, &ifc->host_addr, &ifc->host_prefixlen) < 0 ||
		    !ifc->host_addr) {
			snprintf(why, whylen, "bad host_address '%s' (expected A.B.C.D/N)", val);
			return -1;
		}
	} else if (strcmp(key, "mac") == 0) {
		if (config_parse_mac(val, ifc->mac) < 0) {
			snprintf(why, whylen, "bad mac '%s' (expected a unicast aa:bb:cc:dd:ee:ff)", val);
			return -1;
		}
		ifc->has_mac = true;
	} else if (strcmp(key, "mtu") == 0) {
		if (config_parse_uint(val, 68, 65535, &v) < 0) {
			snprintf(why, whylen, "mtu must be an integer from 68 to 65535, not '%s'", val);
			return -1;
		}
		ifc->mtu = (unsigned int)v;
	} else if (strcmp(key, "queues") == 0) {
		if (config_parse_uint(val, 1, 16, &v) < 0) {
			snprintf(why, whylen, "queues must be an integer from 1 to 16, not '%s'", val);
			return -1;
		}
		ifc->queues = (unsigned int)v;
	} else if (strcmp(key, "rps_cpus") == 0) {
		char *end;

		if (strcmp(val, "all") == 0) {
			ifc->rps_mask = ~0ull;
		} else if (strcmp(val, "none") == 0) {
			ifc->rps_mask = 0;
		} else {
			errno = 0;
			v = strtoul(val, &end, 16);
			if (errno || *end || !*val) {
				snprintf(why, whylen, "rps_cpus must be all, none or a hex mask, not '%s'", val);
				return -1;
			}
			ifc->rps_mask = (uint64_t)v;
		}
		ifc->rps_set = true;
	} else if (strcmp(key, "irq_affinity") == 0) {
		char list[256], *save = NULL, *tok;

		snprintf(list, sizeof(list), "%s", val);
		ifc->n_irq_affinity = 0;
		for (tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
			tok = trim(tok);
			if (ifc->n_irq_affinity == 16 || config_parse_uint(tok, 0, 63, &v) < 0) {
				snprintf(why, whylen, "irq_affinity must be a list of at most 16 "
					 "worker numbers (0..63) separated by commas, not '%s'", val);
				return -1;
			}
			ifc->irq_affinity[ifc->n_irq_affinity++] = (unsigned int)v;
		}
		if (!ifc->n_irq_affinity) {
			snprintf(why, whylen, "irq_affinity needs at least one worker number");
			return -1;
		}
	} else if (strcmp(key, "weight") == 0) {
		if (config_parse_uint(val, 1, 65536, &v) < 0) {
			snprintf(why, whylen, "weight must be an integer from 1 to 65536, not '%s'", val);
			return -1;
		}
		ifc->weight = (unsigned int)v;
	} else if (strcmp(key, "txqueuelen") == 0) {
		if (config_parse_uint(val, 1, 1000000, &v) < 0) {
			snprintf(why, whylen, "txqueuelen must be an integer from 1 to 1000000, not '%s'",
				 val);
			return -1;
		}
		ifc->txqueuelen = (unsigned int)v;
	} else {
		snprintf(why, whylen, "unknown key '%s' in [interface %s]", key, ifc->name);
		return -1;
	}
	return 0;
}

int config_load(struct ns_config *cfg, const char *path, char *err, size_t errlen)
{
	enum section sec = SEC_NONE;
	struct ns_iface_config *ifc = NULL;
	char line[1024];
	char why[512];
	int lineno = 0;
	FILE *f;

	snprintf(cfg->file, sizeof(cfg->file), "%s", path);
	f = fopen(path, "r");
	if (!f) {
		snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), f)) {
		char *s, *eq, *key, *val;

		lineno++;
		if (!strchr(line, '\n') && !feof(f)) {
			snprintf(err, errlen, "%s:%d: line too long", path, lineno);
			goto fail;
		}
		strip_comment(line);
		s = trim(line);
		if (!*s)
			continue;
		if (*s == '[') {
			char *close = strchr(s, ']');
			char *name;

			if (!close || close[1]) {
				snprintf(err, errlen, "%s:%d: malformed section header", path, lineno);
				goto fail;
			}
			*close = '\0';
			name = trim(s + 1);
			if (strcmp(name, "daemon") == 0) {
				sec = SEC_DAEMON;
			} else if (strcmp(name, "route") == 0) {
				sec = SEC_ROUTE;
			} else if (strcmp(name, "sysctl") == 0) {
				sec = SEC_SYSCTL;
			} else if (strncmp(name, "interface", 9) == 0 &&
				   isspace((unsigned char)name[9])) {
				char *ifname = trim(name + 9);

				if (!valid_ifname(ifname)) {
					snprintf(err, errlen, "%s:%d: bad interface name '%s'", path,
						 lineno, ifname);
					goto fail;
				}
				ifc = config_iface(cfg, ifname);
				if (!ifc) {
					snprintf(err, errlen, "%s:%d: too many interfaces (at most %d)",
						 path, lineno, NS_CONFIG_MAX_IFACES);
					goto fail;
				}
				snprintf(ifc->file, sizeof(ifc->file), "%s", path);
				ifc->line = lineno;
				sec = SEC_IFACE;
			} else {
				snprintf(err, errlen, "%s:%d: unknown section [%s]", path, lineno, name);
				goto fail;
			}
			continue;
		}
		eq = strchr(s, '=');
		if (!eq) {
			snprintf(err, errlen, "%s:%d: expected 'key = value'", path, lineno);
			goto fail;
		}
		*eq = '\0';
		key = trim(s);
		val = trim(eq + 1);
		why[0] = '\0';
		switch (sec) {
		case SEC_NONE:
			snprintf(err, errlen, "%s:%d: key '%s' outside of any section", path,
				 lineno, key);
			goto fail;
		case SEC_DAEMON:
			if (set_daemon_key(cfg, key, val, why, sizeof(why)) < 0)
				goto bad_value;
			break;
		case SEC_IFACE:
			if (set_iface_key(ifc, key, val, lineno, why, sizeof(why)) < 0)
				goto bad_value;
			break;
		case SEC_ROUTE:
			if (set_route_key(cfg, key, val, lineno, why, sizeof(why)) < 0)
				goto bad_value;
			break;
		case SEC_SYSCTL:
			if (sysctl_set(key, val, why, sizeof(why)) < 0)
				goto bad_value;
			break;
		}
		continue;
bad_value:
		snprintf(err, errlen, "%s:%d: %s", path, lineno, why);
		goto fail;
	}
	if (ferror(f)) {
		snprintf(err, errlen, "%s: read error: %s", path, strerror(errno));
		goto fail;
	}
	fclose(f);
	return 0;
fail:
	fclose(f);
	return -1;
}

/*
 * Does @gw lie in the prefix of an address of interface @dev (NULL: of
 * any interface), and is it none of those addresses?  The FIB's own check,
 * done early so that `netstackd -t` catches it.
 */
static bool gateway_onlink(const struct ns_config *cfg, uint32_t gw, const char *dev)
{
	bool onlink = false;

	for (unsigned int i = 0; i < cfg->n_ifaces; i++) {
		const struct ns_iface_config *ifc = &cfg->ifaces[i];

		for (unsigned int k = 0; k < ifc->n_addrs; k++) {
			const struct ns_addr_config *a = &ifc->addrs[k];
			uint32_t mask = a->prefixlen ? htonl(~0u << (32 - a->prefixlen)) : 0;

			if (a->addr == gw)
				return false;
			if ((!dev || strcmp(dev, ifc->name) == 0) && ((a->addr ^ gw) & mask) == 0)
				onlink = true;
		}
	}
	return onlink;
}

int config_validate(const struct ns_config *cfg, char *err, size_t errlen)
{
	if (cfg->n_ifaces == 0) {
		snprintf(err, errlen, "no interface configured (use --tap NAME --addr A.B.C.D/N "
			 "or an [interface NAME] section)");
		return -1;
	}
	for (unsigned int i = 0; i < cfg->n_ifaces; i++) {
		const struct ns_iface_config *ifc = &cfg->ifaces[i];
		char where[300];

		if (ifc->file[0])
			snprintf(where, sizeof(where), "%s:%d: ", ifc->file, ifc->line);
		else
			snprintf(where, sizeof(where), "--tap %s: ", ifc->name);
		if (!ifc->n_addrs) {
			snprintf(err, errlen, "%sinterface %s has no address", where, ifc->name);
			return -1;
		}
		if (ifc->queues > 1 && ifc->queues > (unsigned int)cfg->workers) {
			snprintf(err, errlen, "%sinterface %s has %u queues but only %d workers",
				 where, ifc->name, ifc->queues, cfg->workers);
			return -1;
		}
		if (ifc->n_irq_affinity && ifc->n_irq_affinity != ifc->queues) {
			snprintf(err, errlen, "%sinterface %s: irq_affinity names %u workers for "
				 "%u queues", where, ifc->name, ifc->n_irq_affinity, ifc->queues);
			return -1;
		}
		for (unsigned int k = 0; k < ifc->n_irq_affinity; k++) {
			if (ifc->irq_affinity[k] >= (unsigned int)cfg->workers) {
				snprintf(err, errlen, "%sinterface %s: irq_affinity worker %u, but "
					 "workers = %d", where, ifc->name, ifc->irq_affinity[k],
					 cfg->workers);
				return -1;
			}
		}
		for (unsigned int k = 0; k < ifc->n_addrs; k++) {
			const struct ns_addr_config *a = &ifc->addrs[k];

			if (ifc->file[0] && a->line)
				snprintf(where, sizeof(where), "%s:%d: ", ifc->file, a->line);
			for (unsigned int j = 0; j < i; j++) {
				const struct ns_iface_config *o = &cfg->ifaces[j];

				for (unsigned int m = 0; m < o->n_addrs; m++) {
					if (o->addrs[m].addr == a->addr) {
						snprintf(err, errlen, "%sinterface %s: address already "
							 "used by %s", where, ifc->name, o->name);
						return -1;
					}
				}
			}
		}
	}
	for (unsigned int r = 0; r < cfg->n_routes; r++) {
		const struct ns_route_config *rt = &cfg->routes[r];
		bool found = !rt->dev[0];

		for (unsigned int i = 0; i < cfg->n_ifaces && !found; i++)
			found = strcmp(cfg->ifaces[i].name, rt->dev) == 0;
		if (!found) {
			snprintf(err, errlen, "%s:%d: route: no interface called '%s'", cfg->file,
				 rt->line, rt->dev);
			return -1;
		}
		if (rt->gw && !gateway_onlink(cfg, rt->gw, rt->dev[0] ? rt->dev : NULL)) {
			char a[INET_ADDRSTRLEN];

			inet_ntop(AF_INET, &rt->gw, a, sizeof(a));
			snprintf(err, errlen, "%s:%d: route: Nexthop has invalid gateway (%s is in "
				 "no prefix of %s)", cfg->file, rt->line, a,
				 rt->dev[0] ? rt->dev : "any interface");
			return -1;
		}
	}
	return 0;
}
