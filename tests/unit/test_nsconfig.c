/*
 * Unit tests for daemon/nsconfig.c, the netstackd.conf parser: a valid
 * file loads with every value in place (the shipped etc/netstackd.conf
 * included), and every kind of mistake fails with a one-line error that
 * names the file and the line ("FILE:LINE: problem").
 *
 * Each case writes its text to a temporary file.  sysctl lines are applied
 * to the registry at once, so the suite registers the tables the daemon
 * registers (core_sysctl_init, gro_init, impair_init, inet_init) first.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/gro.h"
#include "core/sysctl.h"
#include "drivers/impair.h"
#include "log.h"
#include "net/ipv4/af_inet.h"
#include "nsconfig.h"

static char tmpdir[64];
static char path[128];

static int suite_setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/ns-nsconfig-XXXXXX");
	if (!mkdtemp(tmpdir))
		return -1;
	snprintf(path, sizeof(path), "%s/test.conf", tmpdir);
	core_sysctl_init();
	gro_init();
	impair_init();
	return inet_init();
}

static int suite_teardown(void **state)
{
	(void)state;
	inet_exit();
	unlink(path);
	return rmdir(tmpdir);
}

static int reset_sysctls(void **state)
{
	(void)state;
	sysctl_reset_defaults();
	return 0;
}

static void write_conf(const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

static int load(struct ns_config *cfg, const char *text, char *err, size_t errlen)
{
	write_conf(text);
	config_init(cfg);
	err[0] = '\0';
	return config_load(cfg, path, err, errlen);
}

/*
 * Loading @text fails, with an error that starts "PATH:LINE: " and
 * mentions @what.
 */
static void expect_error(const char *text, int line, const char *what)
{
	struct ns_config cfg;
	char err[512], where[160];

	if (load(&cfg, text, err, sizeof(err)) != -1)
		fail_msg("accepted, expected an error at line %d about '%s':\n%s", line, what, text);
	snprintf(where, sizeof(where), "%s:%d: ", path, line);
	if (strncmp(err, where, strlen(where)) != 0)
		fail_msg("expected an error at '%s', got '%s'", where, err);
	if (!strstr(err, what))
		fail_msg("expected '%s' in '%s'", what, err);
	assert_null(strchr(err, '\n'));
}

static const char valid_conf[] =
	"# a comment\n"
	"[daemon]\n"
	"workers = 4\n"
	"socket = /tmp/ns.sock   # trailing comment\n"
	"socket_group = netstack\n"
	"log_level = debug\n"
	"log_target = journal\n"
	"\n"
	"  ; another comment\n"
	"[interface ns0]\n"
	"type = tap\n"
	"address = 10.200.0.2/24\n"
	"gateway = 10.200.0.1\n"
	"host_address = 10.200.0.1/24\n"
	"mac = 02:00:00:00:00:02\n"
	"mtu = 9000\n"
	"queues = 4\n"
	"rps_cpus = 5\n"
	"irq_affinity = 3, 2,1,0\n"
	"weight = 32\n"
	"txqueuelen = 500\n"
	"[interface ns1]\n"
	"address=192.168.7.1/30\n"
	"\tmac\t=\t0a:1B:2c:3D:4e:5F\t\n"
	"rps_cpus = none\n"
	"[sysctl]\n"
	"net.core.netdev_budget = 600\n"
	"net.ipv4.icmp_echo_ignore_all = 1\n"
	"net.ipv4.neigh.default.retrans_time_ms = 500\n";

static void test_valid_file(void **state)
{
	struct ns_config cfg;
	const struct ns_iface_config *a, *b;
	char err[512];

	(void)state;
	if (load(&cfg, valid_conf, err, sizeof(err)) != 0)
		fail_msg("valid file rejected: %s", err);
	assert_int_equal(cfg.workers, 4);
	assert_string_equal(cfg.socket_path, "/tmp/ns.sock");
	assert_string_equal(cfg.socket_group, "netstack");
	assert_int_equal(cfg.log_level, NS_LOG_DEBUG);
	assert_int_equal(cfg.log_target, NS_LOG_TARGET_JOURNAL);
	assert_int_equal(cfg.n_ifaces, 2);

	a = &cfg.ifaces[0];
	assert_string_equal(a->name, "ns0");
	assert_string_equal(a->type, "tap");
	assert_int_equal(a->n_addrs, 1);
	assert_int_equal(a->addrs[0].addr, inet_addr("10.200.0.2"));
	assert_int_equal(a->addrs[0].prefixlen, 24);
	assert_int_equal(a->gateway, inet_addr("10.200.0.1"));
	assert_int_equal(a->host_addr, inet_addr("10.200.0.1"));
	assert_int_equal(a->host_prefixlen, 24);
	assert_true(a->has_mac);
	assert_memory_equal(a->mac, "\x02\x00\x00\x00\x00\x02", 6);
	assert_int_equal(a->mtu, 9000);
	assert_int_equal(a->queues, 4);
	assert_int_equal(a->rps_mask, 5);
	assert_true(a->rps_set);
	assert_int_equal(a->n_irq_affinity, 4);
	assert_int_equal(a->irq_affinity[0], 3);
	assert_int_equal(a->irq_affinity[1], 2);
	assert_int_equal(a->irq_affinity[3], 0);
	assert_int_equal(a->weight, 32);
	assert_int_equal(a->txqueuelen, 500);
	assert_string_equal(a->file, path);
	assert_int_equal(a->line, 10);

	b = &cfg.ifaces[1];
	assert_string_equal(b->name, "ns1");
	assert_int_equal(b->addrs[0].addr, inet_addr("192.168.7.1"));
	assert_int_equal(b->addrs[0].prefixlen, 30);
	assert_memory_equal(b->mac, "\x0a\x1b\x2c\x3d\x4e\x5f", 6);
	assert_int_equal(b->mtu, 1500);   /* defaults */
	assert_int_equal(b->queues, 1);
	assert_int_equal(b->rps_mask, 0);
	assert_int_equal(b->n_irq_affinity, 0);   /* round-robin */
	assert_int_equal(b->weight, 0);           /* net.core.dev_weight */
	assert_int_equal(b->txqueuelen, 0);       /* 1000 */
	assert_int_equal(b->line, 22);

	assert_int_equal(sysctl_read(sysctl_find("net.core.netdev_budget")->data), 600);
	assert_int_equal(sysctl_read(sysctl_find("net.ipv4.icmp_echo_ignore_all")->data), 1);
	assert_int_equal(
		sysctl_read(sysctl_find("net.ipv4.neigh.default.retrans_time_ms")->data), 500);
	assert_int_equal(config_validate(&cfg, err, sizeof(err)), 0);
}

static void test_defaults(void **state)
{
	struct ns_config cfg;
	char err[512];

	(void)state;
	assert_int_equal(load(&cfg, "", err, sizeof(err)), 0);
	assert_int_equal(cfg.workers, 1);
	assert_int_equal(cfg.n_ifaces, 0);
	assert_int_equal(cfg.log_level, NS_LOG_INFO);
	assert_true(cfg.socket_path[0] == '/');
	/* No interface: validation says so. */
	assert_int_equal(config_validate(&cfg, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "no interface"));
}

/* CRLF line endings load like LF ones. */
static void test_crlf(void **state)
{
	struct ns_config cfg;
	char err[512];

	(void)state;
	assert_int_equal(load(&cfg, "[daemon]\r\nworkers = 3\r\n[interface x0]\r\n"
				    "address = 10.0.0.1/8\r\n", err, sizeof(err)), 0);
	assert_int_equal(cfg.workers, 3);
	assert_int_equal(cfg.ifaces[0].addrs[0].addr, inet_addr("10.0.0.1"));
}

/* The example shipped in etc/ is valid exactly as written. */
static void test_shipped_example(void **state)
{
	struct ns_config cfg;
	char err[512];

	(void)state;
	config_init(&cfg);
	if (config_load(&cfg, NS_TEST_SRCDIR "/etc/netstackd.conf", err, sizeof(err)) != 0)
		fail_msg("etc/netstackd.conf: %s", err);
	assert_int_equal(cfg.n_ifaces, 1);
	assert_string_equal(cfg.ifaces[0].name, "ns0");
	assert_int_equal(cfg.ifaces[0].addrs[0].addr, inet_addr("10.200.0.2"));
	assert_int_equal(config_validate(&cfg, err, sizeof(err)), 0);
}

static void test_missing_file(void **state)
{
	struct ns_config cfg;
	char err[512];

	(void)state;
	config_init(&cfg);
	assert_int_equal(config_load(&cfg, "/nonexistent/ns.conf", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "/nonexistent/ns.conf"));
}

static void test_unknown_key(void **state)
{
	(void)state;
	expect_error("[daemon]\nworkers = 2\n\n# x\nworkerz = 3\n", 5, "workerz");
	expect_error("[interface ns0]\naddress = 10.0.0.1/24\nspeed = 10G\n", 3, "speed");
}

static void test_unknown_section(void **state)
{
	(void)state;
	expect_error("[daemon]\nworkers = 2\n[deamon]\n", 3, "deamon");
	expect_error("# c\n[interface]\n", 2, "interface");
	expect_error("\n\n[daemon\n", 3, "section");
	expect_error("[daemon] x\n", 1, "section");
}

static void test_bad_interface_name(void **state)
{
	(void)state;
	expect_error("[interface this-name-is-too-long]\n", 1, "this-name-is-too-long");
	expect_error("\n[interface ns/0]\n", 2, "ns/0");
}

static void test_bad_address(void **state)
{
	static const char *const bad[] = {
		"10.0.0.1", "10.0.0.256/24", "10.0.0.1/33", "10.0.0.1/", "10.0.0.1/-1",
		"0.0.0.0/0", "ten/8", "10.0.0.1/24/1", "10.0.0/24", "",
	};
	char text[256];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), "[interface ns0]\ntype = tap\naddress = %s\n", bad[i]);
		expect_error(text, 3, "address");
	}
	expect_error("[interface ns0]\ngateway = 10.0.0\n", 2, "gateway");
	expect_error("[interface ns0]\nhost_address = 10.0.0.1\n", 2, "host_address");
}

static void test_bad_mac(void **state)
{
	static const char *const bad[] = {
		"01:00:5e:00:00:01",     /* multicast */
		"ff:ff:ff:ff:ff:ff",     /* broadcast */
		"00:00:00:00:00:00",     /* zero */
		"02:00:00:00:00",        /* short */
		"02:00:00:00:00:02:03",  /* long */
		"02:00:00:00:00:0g",
		"02-00-00-00-00-02",
		"02:00:00:00:00:02x",
		"",
		"-2:00:00:00:00:02",     /* sscanf's %x takes a sign: fe:00:... */
		"+2:00:00:00:00:02",
		"02: 0:00:00:00:02",
	};
	char text[256];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), "[interface ns0]\n\nmac = %s\n", bad[i]);
		expect_error(text, 3, "mac");
	}
}

static void test_out_of_range_numbers(void **state)
{
	(void)state;
	expect_error("[interface ns0]\nmtu = 67\n", 2, "mtu");
	expect_error("[interface ns0]\nmtu = 65536\n", 2, "mtu");
	expect_error("[interface ns0]\nmtu = -1500\n", 2, "mtu");
	expect_error("[interface ns0]\nmtu = 1500 bytes\n", 2, "mtu");
	expect_error("[interface ns0]\nmtu = \n", 2, "mtu");
	expect_error("[daemon]\nworkers = 0\n", 2, "workers");
	expect_error("[daemon]\nworkers = 65\n", 2, "workers");
	expect_error("[daemon]\nworkers = 99999999999999999999999\n", 2, "workers");
	expect_error("[daemon]\nworkers = two\n", 2, "workers");
	expect_error("[interface ns0]\nqueues = 0\n", 2, "queues");
	expect_error("[interface ns0]\nqueues = 17\n", 2, "queues");
	expect_error("[interface ns0]\nrps_cpus = 0xzz\n", 2, "rps_cpus");
	expect_error("[interface ns0]\nirq_affinity = 0,x\n", 2, "irq_affinity");
	expect_error("[interface ns0]\nirq_affinity = 64\n", 2, "irq_affinity");
	expect_error("[interface ns0]\nirq_affinity = ,\n", 2, "irq_affinity");
	expect_error("[interface ns0]\nweight = 0\n", 2, "weight");
	expect_error("[interface ns0]\ntxqueuelen = 0\n", 2, "txqueuelen");
	expect_error("[interface ns0]\ntxqueuelen = 1000001\n", 2, "txqueuelen");
}

static void test_bounds_accepted(void **state)
{
	struct ns_config cfg;
	char err[512];

	(void)state;
	assert_int_equal(load(&cfg, "[daemon]\nworkers = 64\n[interface a]\nmtu = 68\nqueues = 16\n"
				    "[interface b]\nmtu = 65535\nqueues = 1\n", err, sizeof(err)), 0);
	assert_int_equal(cfg.workers, 64);
	assert_int_equal(cfg.ifaces[0].mtu, 68);
	assert_int_equal(cfg.ifaces[0].queues, 16);
	assert_int_equal(cfg.ifaces[1].mtu, 65535);
}

static void test_other_bad_values(void **state)
{
	(void)state;
	expect_error("[daemon]\nsocket = relative.sock\n", 2, "socket");
	expect_error("[daemon]\nlog_level = loud\n", 2, "log_level");
	expect_error("[daemon]\nlog_target = syslog\n", 2, "log_target");
	expect_error("[interface ns0]\ntype = tun\n", 2, "tun");
}

static void test_key_outside_section(void **state)
{
	(void)state;
	expect_error("# header\n\nworkers = 2\n[daemon]\n", 3, "workers");
}

static void test_not_key_value(void **state)
{
	(void)state;
	expect_error("[daemon]\nworkers 2\n", 2, "key = value");
}

static void test_bad_sysctl(void **state)
{
	(void)state;
	expect_error("[sysctl]\nnet.core.netdev_budget = 300\nnet.core.no_such = 1\n", 3,
		     "net.core.no_such");
	expect_error("[sysctl]\n\nnet.core.netdev_budget = lots\n", 3, "lots");
	expect_error("[sysctl]\nnet.ipv4.icmp_echo_ignore_all = 2\n", 2, "out of range");
	expect_error("[sysctl]\nnet.core.netdev_budget = 0\n", 2, "out of range");
	expect_error("[sysctl]\nnet.ipv4.ip_default_ttl =\n", 2, "net.ipv4.ip_default_ttl");
}

static void test_too_many_interfaces(void **state)
{
	char text[1024] = "";

	(void)state;
	for (int i = 0; i <= NS_CONFIG_MAX_IFACES; i++) {
		char line[64];

		snprintf(line, sizeof(line), "[interface ns%d]\naddress = 10.0.%d.1/24\n", i, i);
		strcat(text, line);
	}
	expect_error(text, 2 * NS_CONFIG_MAX_IFACES + 1, "too many");
}

static void test_line_too_long(void **state)
{
	char text[2100];

	(void)state;
	strcpy(text, "[daemon]\n# ");
	memset(text + strlen(text), 'x', 1500);
	text[11 + 1500] = '\0';
	strcat(text, "\n");
	expect_error(text, 2, "too long");
}

/* A section repeated later continues the same interface. */
static void test_repeated_interface_section(void **state)
{
	struct ns_config cfg;
	char err[512];

	(void)state;
	assert_int_equal(load(&cfg, "[interface ns0]\naddress = 10.0.0.1/24\n[daemon]\n"
				    "workers = 2\n[interface ns0]\nmtu = 1400\n", err, sizeof(err)), 0);
	assert_int_equal(cfg.n_ifaces, 1);
	assert_int_equal(cfg.ifaces[0].addrs[0].addr, inet_addr("10.0.0.1"));
	assert_int_equal(cfg.ifaces[0].mtu, 1400);
}

static void test_validate(void **state)
{
	struct ns_config cfg;
	char err[512], where[160];

	(void)state;
	/* An interface without an address: the error points at its section. */
	assert_int_equal(load(&cfg, "[daemon]\nworkers = 2\n\n[interface ns0]\nmtu = 1400\n",
			      err, sizeof(err)), 0);
	assert_int_equal(config_validate(&cfg, err, sizeof(err)), -1);
	snprintf(where, sizeof(where), "%s:4: ", path);
	assert_int_equal(strncmp(err, where, strlen(where)), 0);
	assert_non_null(strstr(err, "no address"));

	/* More queues than workers. */
	assert_int_equal(load(&cfg, "[daemon]\nworkers = 2\n[interface ns0]\n"
				    "address = 10.0.0.1/24\nqueues = 3\n", err, sizeof(err)), 0);
	assert_int_equal(config_validate(&cfg, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "queues"));

	/* irq_affinity: one worker per queue, each an existing worker. */
	assert_int_equal(load(&cfg, "[daemon]\nworkers = 2\n[interface ns0]\n"
				    "address = 10.0.0.1/24\nqueues = 2\nirq_affinity = 1\n",
			      err, sizeof(err)), 0);
	assert_int_equal(config_validate(&cfg, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "irq_affinity names 1 workers for 2 queues"));
	assert_int_equal(load(&cfg, "[daemon]\nworkers = 2\n[interface ns0]\n"
				    "address = 10.0.0.1/24\nqueues = 2\nirq_affinity = 1,2\n",
			      err, sizeof(err)), 0);
	assert_int_equal(config_validate(&cfg, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "irq_affinity worker 2"));
	assert_int_equal(load(&cfg, "[daemon]\nworkers = 2\n[interface ns0]\n"
				    "address = 10.0.0.1/24\nqueues = 2\nirq_affinity = 1,1\n",
			      err, sizeof(err)), 0);
	assert_int_equal(config_validate(&cfg, err, sizeof(err)), 0);

	/* Two interfaces with one address. */
	assert_int_equal(load(&cfg, "[interface a]\naddress = 10.0.0.1/24\n"
				    "[interface b]\naddress = 10.0.0.1/16\n", err, sizeof(err)), 0);
	assert_int_equal(config_validate(&cfg, err, sizeof(err)), -1);
	/* The error names the line of the second address. */
	snprintf(where, sizeof(where), "%s:4: ", path);
	assert_int_equal(strncmp(err, where, strlen(where)), 0);
	assert_non_null(strstr(err, "already used"));
}

/* Several addresses per interface: repeated keys and lists. */
static void test_several_addresses(void **state)
{
	struct ns_config cfg;
	char err[512];
	const struct ns_iface_config *a;

	(void)state;
	assert_int_equal(load(&cfg, "[interface nsA]\naddress = 10.200.1.2/24\n"
				    "address = 10.200.5.2/24, 10.200.6.2/32 10.200.7.2/30\n",
			      err, sizeof(err)), 0);
	a = &cfg.ifaces[0];
	assert_int_equal(a->n_addrs, 4);
	assert_int_equal(a->addrs[0].addr, inet_addr("10.200.1.2"));
	assert_int_equal(a->addrs[0].line, 2);
	assert_int_equal(a->addrs[1].addr, inet_addr("10.200.5.2"));
	assert_int_equal(a->addrs[2].prefixlen, 32);
	assert_int_equal(a->addrs[3].addr, inet_addr("10.200.7.2"));
	assert_int_equal(a->addrs[3].line, 3);
	assert_int_equal(config_validate(&cfg, err, sizeof(err)), 0);

	expect_error("[interface a]\naddress = 10.0.0.1/24\naddress = 10.0.0.1/16\n", 3,
		     "twice");
	expect_error("[interface a]\naddress = 10.0.0.1/24, 10.0.0.x/24\n", 2, "10.0.0.x");
	expect_error("[interface a]\naddress = ,\n", 2, "address");
}

/* [route]: ip-route words, each mistake reported at its line. */
static void test_routes(void **state)
{
	struct ns_config cfg;
	char err[512];
	const struct ns_route_config *r;

	(void)state;
	assert_int_equal(load(&cfg, "[interface nsA]\naddress = 10.200.1.2/24\n"
				    "[interface nsB]\naddress = 10.200.2.2/24\n"
				    "[route]\n"
				    "route = 10.200.9.0/24 via 10.200.1.1 dev nsA\n"
				    "route = default via 10.200.2.1 metric 100\n"
				    "route = 10.200.3.7 dev nsB src 10.200.2.2\n"
				    "route = unreachable 10.200.50.0/24\n"
				    "route = blackhole 10.200.51.0/24\n"
				    "route = prohibit 10.200.52.0/24 metric 5\n",
			      err, sizeof(err)), 0);
	assert_int_equal(config_validate(&cfg, err, sizeof(err)), 0);
	assert_int_equal(cfg.n_routes, 6);
	r = &cfg.routes[0];
	assert_int_equal(r->dst, inet_addr("10.200.9.0"));
	assert_int_equal(r->dst_len, 24);
	assert_int_equal(r->gw, inet_addr("10.200.1.1"));
	assert_string_equal(r->dev, "nsA");
	assert_int_equal(r->type, 1);           /* RTN_UNICAST */
	assert_int_equal(r->line, 6);
	r = &cfg.routes[1];
	assert_int_equal(r->dst_len, 0);
	assert_int_equal(r->metric, 100);
	assert_string_equal(r->dev, "");
	r = &cfg.routes[2];
	assert_int_equal(r->dst_len, 32);
	assert_int_equal(r->prefsrc, inet_addr("10.200.2.2"));
	assert_int_equal(cfg.routes[3].type, 7); /* RTN_UNREACHABLE */
	assert_int_equal(cfg.routes[4].type, 6); /* RTN_BLACKHOLE */
	assert_int_equal(cfg.routes[5].type, 8); /* RTN_PROHIBIT */
	assert_int_equal(cfg.routes[5].metric, 5);

	expect_error("[route]\nroute = 10.0.0.1/8 dev a\n", 2, "host bits");
	expect_error("[route]\nroute = 10.0.0.0/33 dev a\n", 2, "10.0.0.0/33");
	expect_error("[route]\nroute = 10.0.0.0/8\n", 2, "via");
	expect_error("[route]\nroute = 10.0.0.0/8 via\n", 2, "needs a value");
	expect_error("[route]\nroute = 10.0.0.0/8 via 10.1.1.1 via 10.1.1.2\n", 2, "twice");
	expect_error("[route]\nroute = 10.0.0.0/8 via 10.1.1.1 mtu 1400\n", 2, "mtu");
	expect_error("[route]\nroute = local 10.0.0.0/8 dev a\n", 2, "local");
	expect_error("[route]\nroute = unreachable 10.0.0.0/8 via 10.1.1.1\n", 2, "no via");
	expect_error("[route]\nroute = 10.0.0.0/8 dev a metric x\n", 2, "metric");
	expect_error("[route]\nvia = 10.0.0.1\n", 2, "unknown key");
	expect_error("[route]\nroute =\n", 2, "prefix");

	/* A route's device must be configured (checked with the whole file). */
	assert_int_equal(load(&cfg, "[interface a]\naddress = 10.0.0.1/24\n[route]\n"
				    "route = 10.9.0.0/16 via 10.0.0.9 dev b\n", err, sizeof(err)), 0);
	assert_int_equal(config_validate(&cfg, err, sizeof(err)), -1);
	assert_non_null(strstr(err, ":4: route: no interface called 'b'"));

	/* A gateway on no configured prefix (of the dev, if given), or ours. */
	assert_int_equal(load(&cfg, "[interface a]\naddress = 10.0.0.1/24\n"
				    "[interface b]\naddress = 10.1.0.1/24\n[route]\n"
				    "route = 10.9.0.0/16 via 10.0.0.9\n"
				    "route = 10.8.0.0/16 via 10.1.0.9 dev b\n"
				    "route = 10.7.0.0/16 via 10.2.0.9\n", err, sizeof(err)), 0);
	assert_int_equal(config_validate(&cfg, err, sizeof(err)), -1);
	assert_non_null(strstr(err, ":8: route: Nexthop has invalid gateway"));
	assert_int_equal(load(&cfg, "[interface a]\naddress = 10.0.0.1/24\n"
				    "[interface b]\naddress = 10.1.0.1/24\n[route]\n"
				    "route = 10.9.0.0/16 via 10.1.0.9 dev a\n", err, sizeof(err)), 0);
	assert_int_equal(config_validate(&cfg, err, sizeof(err)), -1);
	assert_int_equal(load(&cfg, "[interface a]\naddress = 10.0.0.1/24\n[route]\n"
				    "route = 10.9.0.0/16 via 10.0.0.1\n", err, sizeof(err)), 0);
	assert_int_equal(config_validate(&cfg, err, sizeof(err)), -1);
}

static void test_parse_helpers(void **state)
{
	unsigned long v;
	uint32_t a;
	unsigned int len;
	uint8_t mac[6];

	(void)state;
	assert_int_equal(config_parse_uint("42", 0, 100, &v), 0);
	assert_int_equal(v, 42);
	assert_int_equal(config_parse_uint("+42", 0, 100, &v), -1);
	assert_int_equal(config_parse_uint(" 42", 0, 100, &v), -1);
	assert_int_equal(config_parse_uint("101", 0, 100, &v), -1);
	assert_int_equal(config_parse_prefix("192.0.2.1/32", &a, &len), 0);
	assert_int_equal(a, inet_addr("192.0.2.1"));
	assert_int_equal(len, 32);
	assert_int_equal(config_parse_prefix("192.0.2.1", &a, &len), -1);
	assert_int_equal(config_parse_ipv4("192.0.2.300", &a), -1);
	assert_int_equal(config_parse_mac("02:ab:cd:ef:01:23", mac), 0);
	assert_memory_equal(mac, "\x02\xab\xcd\xef\x01\x23", 6);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup(fn, reset_sysctls)
	const struct CMUnitTest tests[] = {
		T(test_valid_file),
		T(test_defaults),
		T(test_crlf),
		T(test_shipped_example),
		T(test_missing_file),
		T(test_unknown_key),
		T(test_unknown_section),
		T(test_bad_interface_name),
		T(test_bad_address),
		T(test_bad_mac),
		T(test_out_of_range_numbers),
		T(test_bounds_accepted),
		T(test_other_bad_values),
		T(test_key_outside_section),
		T(test_not_key_value),
		T(test_bad_sysctl),
		T(test_too_many_interfaces),
		T(test_line_too_long),
		T(test_repeated_interface_section),
		T(test_validate),
		T(test_several_addresses),
		T(test_routes),
		T(test_parse_helpers),
	};
#undef T

	return cmocka_run_group_tests_name("nsconfig", tests, suite_setup, suite_teardown);
}
