/*
 * netstackd's configuration: the file (etc/netstackd.conf, INI style) and
 * the command-line overrides.  Control context, at start-up.
 *
 * Every error names where it comes from ("FILE:LINE: problem" or
 * "--option: problem") in one line.
 */
#ifndef NS_NSCONFIG_H
#define NS_NSCONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NS_CONFIG_MAX_IFACES 8
#define NS_CONFIG_MAX_ADDRS 16      /* per interface */
#define NS_CONFIG_MAX_ROUTES 64
#define NS_CONFIG_DEFAULT_FILE NS_SYSCONFDIR "/netstack/netstackd.conf"
/* [daemon] client_shm_mb and client_max_sockets: defaults and maxima. */
#define NS_CONFIG_CLIENT_SHM_MB 8192u
#define NS_CONFIG_CLIENT_SHM_MB_MAX 65536u
#define NS_CONFIG_CLIENT_MAX_SOCKETS 16384u
#define NS_CONFIG_CLIENT_MAX_SOCKETS_LIMIT 65536u

/* One "address = A.B.C.D/N" of an interface. */
struct ns_addr_config {
	uint32_t addr;              /* network order */
	unsigned int prefixlen;
	int line;                   /* where it was given; 0: command line */
};

/*
 * One "route = ..." line of [route], in `ip route` words:
 *   [unicast|blackhole|unreachable|prohibit] PREFIX|default
 *   [via GATEWAY] [dev NAME] [metric N] [src ADDRESS]
 */
struct ns_route_config {
	uint32_t dst;               /* network order */
	unsigned int dst_len;
	int type;                   /* enum rtn_type (net/ipv4/route.h) */
	uint32_t gw;                /* 0: none */
	char dev[16];               /* "": chosen by the gateway */
	uint32_t metric;
	uint32_t prefsrc;           /* 0: none */
	int line;
};

struct ns_iface_config {
	char name[16];
	char type[8];               /* "tap" */
	/* The first address is the primary one (source for new traffic). */
	struct ns_addr_config addrs[NS_CONFIG_MAX_ADDRS];
	unsigned int n_addrs;
	uint32_t gateway;
	uint32_t host_addr;
	unsigned int host_prefixlen;
	uint8_t mac[6];
	bool has_mac;
	unsigned int mtu;
	unsigned int queues;
	uint64_t rps_mask;
	bool rps_set;               /* rps_cpus given explicitly */
	/* irq_affinity: queue i's irqs on worker irq_affinity[i] (n given). */
	unsigned int irq_affinity[16];
	unsigned int n_irq_affinity;
	unsigned int weight;        /* NAPI weight per queue; 0: net.core.dev_weight */
	unsigned int txqueuelen;    /* qdisc limit per TX queue; 0: 1000 */
	char file[256];             /* where it was defined */
	int line;
};

struct ns_config {
	int workers;
	char socket_path[108];
	char socket_group[64];
	int log_level;
	int log_target;             /* enum ns_log_target */
	unsigned int client_shm_mb; /* each client process's region, MiB */
	unsigned int client_max_sockets;
	unsigned int n_ifaces;
	struct ns_iface_config ifaces[NS_CONFIG_MAX_IFACES];
	unsigned int n_routes;
	struct ns_route_config routes[NS_CONFIG_MAX_ROUTES];
	char file[256];             /* the file read, for route errors */
};

/* Defaults (one worker, default socket, level info). */
void config_init(struct ns_config *cfg);

/*
 * Read @path into @cfg.  sysctl lines are applied to the registry at once
 * (so register every module's table first).  Returns 0 or -1 with a
 * "FILE:LINE: problem" message in @err.
 */
int config_load(struct ns_config *cfg, const char *path, char *err, size_t errlen);

/* Parse helpers shared with the command line; 0 or -1. */
int config_parse_prefix(const char *s, uint32_t *addr, unsigned int *prefixlen);
int config_parse_ipv4(const char *s, uint32_t *addr);
int config_parse_mac(const char *s, uint8_t mac[6]);
int config_parse_uint(const char *s, unsigned long min, unsigned long max, unsigned long *out);

/* Find or add the interface @name; NULL if the table is full. */
struct ns_iface_config *config_iface(struct ns_config *cfg, const char *name);

/*
 * Parse the words of a route ("10.0.0.0/8 via 10.200.0.1 dev ns0") into
 * @rt.  0, or -1 with the problem in @why.
 */
int config_parse_route(const char *s, struct ns_route_config *rt, char *why, size_t whylen);

/*
 * Final checks (an interface has an address, addresses are unique, a
 * route's dev names an interface); 0 or -1 with @err.
 */
int config_validate(const struct ns_config *cfg, char *err, size_t errlen);

#endif
