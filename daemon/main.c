/*
 * netstackd: start-up, configuration, signals, sd_notify and shutdown.
 *
 * The main thread is the control thread: after start-up it runs the
 * libevent loop that serves the Unix socket (netstackctl, clients) and
 * handles signals.  Packet work happens on the worker threads started by
 * softnet_start().  Only this file exits the process.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <event2/event.h>
#include <event2/thread.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "config.h"
#include "nsconfig.h"
#include "core/gro.h"
#include "core/netdev.h"
#include "core/softnet.h"
#include "core/sysctl.h"
#include "ctl/ctl.h"
#include "drivers/impair.h"
#include "drivers/loopback.h"
#include "drivers/tap.h"
#include "ipc/region.h"
#include "ipc/server.h"
#include "ipc/session.h"
#include "log.h"
#include "net/core/neighbour.h"
#include "net/ethernet/eth.h"
#include "net/ipv4/af_inet.h"
#include "net/ipv4/arp.h"
#include "net/ipv4/devinet.h"
#include "net/ipv4/route.h"
#include "net/packet/capture.h"
#include "net/packet/pkt_trace.h"
#include "net/socket.h"
#include "notify.h"

#define EXIT_USAGE 2

enum {
	OPT_TAP = 256, OPT_ADDR, OPT_GW, OPT_HOST_ADDR, OPT_MAC, OPT_MTU, OPT_QUEUES,
	OPT_WORKERS, OPT_SOCKET, OPT_LOG_LEVEL, OPT_VERSION,
};

static const struct option long_options[] = {
	{ "config", required_argument, NULL, 'c' },
	{ "foreground", no_argument, NULL, 'f' },
	{ "check-config", no_argument, NULL, 't' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ "tap", required_argument, NULL, OPT_TAP },
	{ "addr", required_argument, NULL, OPT_ADDR },
	{ "gw", required_argument, NULL, OPT_GW },
	{ "host-addr", required_argument, NULL, OPT_HOST_ADDR },
	{ "mac", required_argument, NULL, OPT_MAC },
	{ "mtu", required_argument, NULL, OPT_MTU },
	{ "queues", required_argument, NULL, OPT_QUEUES },
	{ "workers", required_argument, NULL, OPT_WORKERS },
	{ "socket", required_argument, NULL, OPT_SOCKET },
	{ "log-level", required_argument, NULL, OPT_LOG_LEVEL },
	{ NULL, 0, NULL, 0 },
};

static void usage(FILE *out)
{
	fprintf(out,
"Usage: netstackd [OPTIONS]\n"
"A userspace TCP/IP stack on a TAP device.\n"
"\n"
"  -c, --config FILE      read FILE (default " NS_CONFIG_DEFAULT_FILE ",\n"
"                         read only when neither -c nor --tap is given)\n"
"  -f, --foreground       stay in the foreground (for systemd and tests)\n"
"  -t, --check-config     check the configuration and exit\n"
"      --tap NAME         use TAP device NAME (created if missing)\n"
"      --addr A.B.C.D/N   the stack's IPv4 address on that device\n"
"      --gw A.B.C.D       default gateway\n"
"      --host-addr A.B.C.D/N  address to give the TAP's kernel side\n"
"      --mac MAC          the stack's MAC address (default: random)\n"
"      --mtu N            MTU (default 1500)\n"
"      --queues N         TAP queues (IFF_MULTI_QUEUE when > 1)\n"
"      --workers N        worker threads ns-softirq/N (default 1)\n"
"      --socket PATH      control socket (default /run/netstackd/netstackd.sock)\n"
"      --log-level LEVEL  err, warning, info or debug\n"
"  -h, --help             show this help\n"
"      --version          show the version\n"
"\n"
"Options given on the command line override the configuration file.\n");
}

struct cli_iface {
	const char *tap, *addr, *gw, *host_addr, *mac, *mtu, *queues;
};

/* Apply --tap/--addr/... to the configuration.  0 or -1 with @err. */
static int apply_cli_iface(struct ns_config *cfg, const struct cli_iface *c,
			   char *err, size_t errlen)
{
	struct ns_iface_config *ifc;
	unsigned long v;

	if (!c->tap && !c->addr && !c->gw && !c->host_addr && !c->mac && !c->mtu && !c->queues)
		return 0;
	if (c->tap) {
		ifc = config_iface(cfg, c->tap);
		if (!ifc) {
			snprintf(err, errlen, "--tap %s: too many interfaces", c->tap);
			return -1;
		}
		if (strlen(c->tap) >= 16) {
			snprintf(err, errlen, "--tap %s: name longer than 15 characters", c->tap);
			return -1;
		}
	} else if (cfg->n_ifaces == 1) {
		ifc = &cfg->ifaces[0];
	} else {
		snprintf(err, errlen, "--addr/--gw/--mtu... need --tap NAME to say which interface");
		return -1;
	}
	if (c->addr) {
		/* The command line's address replaces those of the file. */
		struct ns_addr_config a = { .line = 0 };

		if (config_parse_prefix(c->addr, &a.addr, &a.prefixlen) < 0 || !a.addr) {
			snprintf(err, errlen, "--addr: bad address '%s' (expected A.B.C.D/N)", c->addr);
			return -1;
		}
		ifc->addrs[0] = a;
		ifc->n_addrs = 1;
	}
	if (c->gw && config_parse_ipv4(c->gw, &ifc->gateway) < 0) {
		snprintf(err, errlen, "--gw: bad address '%s'", c->gw);
		return -1;
	}
	if (c->host_addr && (config_parse_prefix(c->host_addr, &ifc->host_addr,
						 &ifc->host_prefixlen) < 0 || !ifc->host_addr)) {
		snprintf(err, errlen, "--host-addr: bad address '%s' (expected A.B.C.D/N)",
			 c->host_addr);
		return -1;
	}
	if (c->mac) {
		if (config_parse_mac(c->mac, ifc->mac) < 0) {
			snprintf(err, errlen, "--mac: bad MAC '%s'", c->mac);
			return -1;
		}
		ifc->has_mac = true;
	}
	if (c->mtu) {
		if (config_parse_uint(c->mtu, 68, 65535, &v) < 0) {
			snprintf(err, errlen, "--mtu: must be 68..65535, not '%s'", c->mtu);
			return -1;
		}
		ifc->mtu = (unsigned int)v;
	}
	if (c->queues) {
		if (config_parse_uint(c->queues, 1, 16, &v) < 0) {
			snprintf(err, errlen, "--queues: must be 1..16, not '%s'", c->queues);
			return -1;
		}
		ifc->queues = (unsigned int)v;
	}
	return 0;
}

/* ---- daemonizing: the parent waits for the child's start-up verdict ------- */

static int status_fd = -1;

static int daemonize(void)
{
	int pfd[2];
	pid_t pid;
	char buf[600];
	ssize_t n;

	if (pipe2(pfd, O_CLOEXEC) < 0)
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid > 0) {
		int st;

		close(pfd[1]);
		n = read(pfd[0], buf, sizeof(buf) - 1);
		if (n > 0 && buf[0] == 'R')
			_exit(0);
		if (n > 1)
			fprintf(stderr, "netstackd: %.*s\n", (int)n - 1, buf + 1);
		waitpid(pid, &st, WNOHANG);
		_exit(1);
	}
	close(pfd[0]);
	setsid();
	status_fd = pfd[1];
	return 0;
}

static void report_status(char code, const char *msg);

/*
 * A start-up failure: one line, "netstackd: <where>: <problem>", on stderr
 * (or in the journal), or handed to the waiting parent when daemonized.
 */
static void startup_error(const char *msg)
{
	if (status_fd >= 0)
		report_status('E', msg);
	else
		ns_err("%s", msg);
}

static void report_status(char code, const char *msg)
{
	char buf[600];
	int n;

	if (status_fd < 0)
		return;
	n = snprintf(buf, sizeof(buf), "%c%s", code, msg ? msg : "");
	if (write(status_fd, buf, (size_t)n) < 0)
		(void)0;
	close(status_fd);
	status_fd = -1;
	if (code == 'R') {
		int fd = open("/dev/null", O_RDWR);

		if (fd >= 0) {
			dup2(fd, STDIN_FILENO);
			dup2(fd, STDOUT_FILENO);
			if (!getenv("JOURNAL_STREAM"))
				dup2(fd, STDERR_FILENO);
			if (fd > 2)
				close(fd);
		}
	}
}

/* ---- start-up and shutdown ---------------------------------------------- */

/*
 * Every stack socket costs a descriptor here (its notify eventfd), every
 * client a memfd and a doorbell eventfd per worker: take the whole
 * descriptor allowance (the hard limit), as servers do.  Returns the
 * limit now in force.
 */
static rlim_t raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return RLIM_INFINITY;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0) {
			ns_warn("cannot raise the descriptor limit: %s", strerror(errno));
			getrlimit(RLIMIT_NOFILE, &rl);
		}
	}
	return rl.rlim_cur;
}

/* Once running: say how far the limit goes if one client could exhaust it. */
static void report_nofile(rlim_t limit, const struct ns_config *cfg)
{
	if (limit != RLIM_INFINITY && limit < (rlim_t)cfg->client_max_sockets + 64)
		ns_info("descriptor limit %llu: room for about %llu stack sockets in all, "
			"fewer than client_max_sockets %u (raise LimitNOFILE or ulimit -Hn); "
			"beyond it socket() fails with ENFILE",
			(unsigned long long)limit, (unsigned long long)limit - 64,
			cfg->client_max_sockets);
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct event_base *base = arg;

	(void)what;
	ns_info("caught %s, shutting down", sig == SIGTERM ? "SIGTERM" : "SIGINT");
	event_base_loopbreak(base);
}

static void announce_all(void *arg)
{
	(void)arg;
	for (struct net_device *d = netdev_first(); d; d = d->next)
		arp_announce(d);
}

static void barrier_fn(void *arg)
{
	(void)arg;
}

static int bring_up_iface(const struct ns_config *cfg, const struct ns_iface_config *ifc,
			  char *err, size_t errlen)
{
	struct tap_params p = {
		.name = ifc->name,
		.mtu = ifc->mtu,
		.queues = ifc->queues,
		.mac = ifc->has_mac ? ifc->mac : NULL,
		.host_addr = ifc->host_addr,
		.host_prefixlen = ifc->host_prefixlen,
		/*
		 * With fewer queues than workers, RPS spreads flows over all
		 * workers unless told otherwise; otherwise the extra workers
		 * would idle.  With a queue per worker, tun steers flows.
		 */
		.rps_mask = ifc->rps_set ? ifc->rps_mask
					 : ((unsigned int)cfg->workers > ifc->queues ? ~0ull : 0),
	};
	char where[300], why[512];
	struct net_device *dev;
	int rc;

	p.weight = ifc->weight;
	p.txqueuelen = ifc->txqueuelen;
	for (unsigned int q = 0; q < ifc->n_irq_affinity && q < 16; q++)
		p.irq_affinity[q] = (int)ifc->irq_affinity[q] + 1;
	if (ifc->file[0])
		snprintf(where, sizeof(where), "%s:%d: ", ifc->file, ifc->line);
	else
		where[0] = '\0';
	dev = tap_create(&p, why, sizeof(why));
	if (!dev) {
		snprintf(err, errlen, "%s%s", where, why);
		return -1;
	}
	ether_setup(dev);
	for (unsigned int i = 0; i < ifc->n_addrs; i++) {
		const struct ns_addr_config *a = &ifc->addrs[i];
		char at[300], ip[INET_ADDRSTRLEN];

		if (ifc->file[0] && a->line)
			snprintf(at, sizeof(at), "%s:%d: ", ifc->file, a->line);
		else
			snprintf(at, sizeof(at), "%s", where);
		rc = inet_addr_add(dev, a->addr, a->prefixlen);
		if (rc < 0) {
			inet_ntop(AF_INET, &a->addr, ip, sizeof(ip));
			snprintf(err, errlen, "%sinterface %s: cannot add address %s/%u: %s", at,
				 ifc->name, ip, a->prefixlen, strerror(-rc));
			return -1;
		}
	}
	if (ifc->gateway) {
		rc = fib_add_route(0, 0, ifc->gateway, dev, 0);
		if (rc < 0 && rc != -EEXIST) {
			snprintf(err, errlen, "%sinterface %s: cannot add default route: %s", where,
				 ifc->name, strerror(-rc));
			return -1;
		}
	}
	rc = dev_open(dev);
	if (rc < 0) {
		snprintf(err, errlen, "%sinterface %s: cannot open: %s", where, ifc->name,
			 strerror(-rc));
		return -1;
	}
	ns_info("%s: up, mtu %u, %u queue(s), mac %02x:%02x:%02x:%02x:%02x:%02x", dev->name,
		dev->mtu, dev->num_rx_queues, dev->dev_addr[0], dev->dev_addr[1],
		dev->dev_addr[2], dev->dev_addr[3], dev->dev_addr[4], dev->dev_addr[5]);
	return 0;
}

/* The [route] section, once every interface has its connected routes. */
static int add_config_routes(const struct ns_config *cfg, char *err, size_t errlen)
{
	for (unsigned int i = 0; i < cfg->n_routes; i++) {
		const struct ns_route_config *rt = &cfg->routes[i];
		struct fib_config fc = {
			.dst = rt->dst, .dst_len = (uint8_t)rt->dst_len, .type = (uint8_t)rt->type,
			.protocol = RTPROT_BOOT, .gw = rt->gw, .prefsrc = rt->prefsrc,
			.priority = rt->metric,
		};
		char why[160];
		int rc;

		if (rt->dev[0]) {
			fc.dev = dev_get_by_name(rt->dev);
			if (!fc.dev) {
				snprintf(err, errlen, "%s:%d: route: no interface called '%s'",
					 cfg->file, rt->line, rt->dev);
				return -1;
			}
		}
		rc = fib_table_insert(&fc, why, sizeof(why));
		if (rc < 0) {
			snprintf(err, errlen, "%s:%d: route: %s", cfg->file, rt->line, why);
			return -1;
		}
	}
	return 0;
}

/*
 * The loopback device, first (ifindex 1, as in the kernel), with
 * 127.0.0.1/8: the address inetdev_event gives a loopback device when it
 * comes up, and with it the local route for all of 127/8.
 */
static int bring_up_loopback(char *err, size_t errlen)
{
	struct net_device *lo = loopback_create();
	int rc;

	if (!lo) {
		snprintf(err, errlen, "cannot create the loopback device");
		return -1;
	}
	lo->header_ops = &eth_header_ops;
	rc = inet_addr_add(lo, htonl(INADDR_LOOPBACK), 8);
	if (rc == 0)
		rc = dev_open(lo);
	if (rc < 0) {
		snprintf(err, errlen, "lo: cannot bring up: %s", strerror(-rc));
		return -1;
	}
	return 0;
}

static void teardown_devices(void)
{
	struct net_device *d;

	for (d = netdev_first(); d; d = d->next)
		dev_close(d);
	inet_exit();
	while ((d = netdev_first()) != NULL) {
		if (d == loopback_dev)
			loopback_destroy(d);
		else
			tap_destroy(d);
	}
}

int main(int argc, char **argv)
{
	struct cli_iface cli = { 0 };
	const char *config_file = NULL;
	const char *opt_workers = NULL, *opt_socket = NULL, *opt_log = NULL;
	bool foreground = false, check_only = false;
	struct ns_config cfg;
	struct event_base *base = NULL;
	struct event *ev_term = NULL, *ev_int = NULL;
	struct ipc_server *srv = NULL;
	struct session_limits limits;
	rlim_t nofile;
	char err[1024];
	int c, status = 1;

	while ((c = getopt_long(argc, argv, "c:fth", long_options, NULL)) != -1) {
		switch (c) {
		case 'c': config_file = optarg; break;
		case 'f': foreground = true; break;
		case 't': check_only = true; break;
		case 'h': usage(stdout); return 0;
		case OPT_VERSION: printf("netstackd %s\n", PACKAGE_VERSION); return 0;
		case OPT_TAP: cli.tap = optarg; break;
		case OPT_ADDR: cli.addr = optarg; break;
		case OPT_GW: cli.gw = optarg; break;
		case OPT_HOST_ADDR: cli.host_addr = optarg; break;
		case OPT_MAC: cli.mac = optarg; break;
		case OPT_MTU: cli.mtu = optarg; break;
		case OPT_QUEUES: cli.queues = optarg; break;
		case OPT_WORKERS: opt_workers = optarg; break;
		case OPT_SOCKET: opt_socket = optarg; break;
		case OPT_LOG_LEVEL: opt_log = optarg; break;
		default: usage(stderr); return EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "netstackd: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return EXIT_USAGE;
	}

	/* Every module registers its knobs before the file may set them. */
	core_sysctl_init();
	gro_init();
	impair_init();
	if (inet_init() < 0) {
		fprintf(stderr, "netstackd: cannot initialise IPv4\n");
		return 1;
	}
	config_init(&cfg);
	if (!config_file && !cli.tap)
		config_file = NS_CONFIG_DEFAULT_FILE;
	if (config_file && config_load(&cfg, config_file, err, sizeof(err)) < 0) {
		fprintf(stderr, "netstackd: %s\n", err);
		return EXIT_USAGE;
	}
	if (apply_cli_iface(&cfg, &cli, err, sizeof(err)) < 0) {
		fprintf(stderr, "netstackd: %s\n", err);
		return EXIT_USAGE;
	}
	if (opt_workers) {
		unsigned long v;

		if (config_parse_uint(opt_workers, 1, NS_MAX_WORKERS, &v) < 0) {
			fprintf(stderr, "netstackd: --workers: must be 1..%d, not '%s'\n",
				NS_MAX_WORKERS, opt_workers);
			return EXIT_USAGE;
		}
		cfg.workers = (int)v;
	}
	if (opt_socket) {
		if (opt_socket[0] != '/' || strlen(opt_socket) >= sizeof(cfg.socket_path)) {
			fprintf(stderr, "netstackd: --socket: must be an absolute path shorter than %zu bytes\n",
				sizeof(cfg.socket_path));
			return EXIT_USAGE;
		}
		snprintf(cfg.socket_path, sizeof(cfg.socket_path), "%s", opt_socket);
	}
	if (opt_log) {
		int l = ns_log_level_parse(opt_log);

		if (l < 0) {
			fprintf(stderr, "netstackd: --log-level: must be err, warning, info or debug\n");
			return EXIT_USAGE;
		}
		cfg.log_level = l;
	}
	if (config_validate(&cfg, err, sizeof(err)) < 0) {
		fprintf(stderr, "netstackd: %s\n", err);
		return EXIT_USAGE;
	}
	if (check_only) {
		printf("netstackd: configuration ok\n");
		return 0;
	}
	ns_log_set_level(cfg.log_level);
	if (ns_log_set_target((enum ns_log_target)cfg.log_target) < 0) {
		fprintf(stderr, "netstackd: log_target journal needs a build with libsystemd\n");
		return EXIT_USAGE;
	}
	if (!foreground && daemonize() < 0) {
		fprintf(stderr, "netstackd: cannot daemonize: %s\n", strerror(errno));
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	nofile = raise_nofile();

	if (softnet_init(cfg.workers) < 0) {
		snprintf(err, sizeof(err), "cannot create %d workers: %s", cfg.workers,
			 strerror(errno));
		goto fail;
	}
	if (bring_up_loopback(err, sizeof(err)) < 0)
		goto fail_devices;
	for (unsigned int i = 0; i < cfg.n_ifaces; i++)
		if (bring_up_iface(&cfg, &cfg.ifaces[i], err, sizeof(err)) < 0)
			goto fail_devices;
	if (add_config_routes(&cfg, err, sizeof(err)) < 0)
		goto fail_devices;

	base = event_base_new();
	if (!base) {
		snprintf(err, sizeof(err), "cannot create the event loop");
		goto fail_devices;
	}
	ev_term = evsignal_new(base, SIGTERM, on_signal, base);
	ev_int = evsignal_new(base, SIGINT, on_signal, base);
	if (!ev_term || !ev_int || evsignal_add(ev_term, NULL) < 0 ||
	    evsignal_add(ev_int, NULL) < 0) {
		snprintf(err, sizeof(err), "cannot install signal handlers");
		goto fail_base;
	}
	limits.shm_size = (uint64_t)cfg.client_shm_mb << 20;
	limits.max_sockets = cfg.client_max_sockets;
	srv = ipc_server_start(base, cfg.socket_path,
			       cfg.socket_group[0] ? cfg.socket_group : NULL, &limits,
			       err, sizeof(err));
	if (!srv)
		goto fail_base;

	if (softnet_start() < 0) {
		snprintf(err, sizeof(err), "cannot start worker threads");
		goto fail_srv;
	}
	neigh_start();
	softnet_call(0, announce_all, NULL);
	/* Every worker has entered its loop: the stack answers from here on. */
	for (int i = 0; i < cfg.workers; i++)
		softnet_call_wait(i, barrier_fn, NULL);

	report_nofile(nofile, &cfg);
	ns_info("ready: %u interface(s), %d worker(s), control socket %s", cfg.n_ifaces,
		cfg.workers, cfg.socket_path);
	report_status('R', NULL);
	ns_sd_notify("READY=1\nSTATUS=Processing packets");

	event_base_dispatch(base);

	ns_sd_notify("STOPPING=1\nSTATUS=Shutting down");
	status = 0;
	/*
	 * Clients see the daemon go before their connections close; their
	 * sockets are released while the workers still run.
	 */
	region_mark_all_dead();
	ipc_server_stop(srv);
	srv = NULL;
	/* Captures end (with their end records) while the workers still run. */
	capture_exit();
	pkt_trace_exit();
	softnet_stop();
fail_srv:
	ipc_server_stop(srv);
fail_base:
	if (ev_term)
		event_free(ev_term);
	if (ev_int)
		event_free(ev_int);
	event_base_free(base);
fail_devices:
	softnet_stop();
	sock_exit();
	teardown_devices();
	softnet_destroy();
	libevent_global_shutdown();
	if (status != 0) {
		startup_error(err);
	} else {
		ns_info("stopped");
	}
	return status;
fail:
	startup_error(err);
	return 1;
}
