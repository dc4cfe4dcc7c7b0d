/*
 * Unit tests for daemon/net/ipv4/route.c (the FIB) and the routes that
 * daemon/net/ipv4/devinet.c adds and removes with addresses: insert and
 * delete with the kernel's checks and errors, longest-prefix match over
 * two interfaces, metrics, the local table before main, and the route
 * types (unreachable, prohibit, blackhole) with the errno a local sender
 * gets.
 *
 * Two fake devices: fake0 10.200.0.2/24 (the shared fakes) and fake1
 * 10.200.1.2/24.  Each test removes the routes it added (flush_static).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include "core/netdev.h"
#include "net/ipv4/devinet.h"
#include "net/ipv4/route.h"

#include "../fakes.h"

static const uint8_t fake1_mac[6] = { 0x02, 0x00, 0x00, 0x00, 0x01, 0x02 };
static struct net_device *fake0, *fake1;

static uint32_t ip(const char *s)
{
	struct in_addr a;

	assert_int_equal(inet_pton(AF_INET, s, &a), 1);
	return a.s_addr;
}

static int group_setup(void **state)
{
	if (fake_stack_setup(state))
		return -1;
	fake0 = *state;
	fake1 = fake_netdev_create("fake1", fake1_mac, ip("10.200.1.2"), 24);
	return 0;
}

static int group_teardown(void **state)
{
	int rc = fake_stack_teardown(state);

	fake_netdev_destroy(fake1);
	return rc;
}

/* Remove every route that is not the kernel's (added by a test). */
static void flush_static(void)
{
	struct fib_route_info ri[64];
	unsigned int n = fib_dump(ri, 64);

	assert_true(n <= 64);
	for (unsigned int i = 0; i < n; i++) {
		struct fib_config c = {
			.dst = ri[i].dst, .dst_len = ri[i].dst_len, .table = ri[i].table,
			.type = ri[i].type, .match_type = true,
			.priority = ri[i].priority, .match_priority = true,
		};

		if (ri[i].protocol != RTPROT_KERNEL)
			assert_int_equal(fib_table_delete(&c, NULL, 0), 0);
	}
}

static int test_setup(void **state)
{
	flush_static();
	return fake_test_setup(state);
}

static int test_teardown(void **state)
{
	flush_static();
	return fake_test_teardown(state);
}

/* Add a route given in ip-route words' parts; returns fib_table_insert's result. */
static int add(const char *dst, unsigned int len, const char *gw, struct net_device *dev,
	       uint8_t type, uint32_t metric, char *err)
{
	struct fib_config c = {
		.dst = ip(dst), .dst_len = (uint8_t)len, .type = type,
		.gw = gw ? ip(gw) : 0, .dev = dev, .priority = metric,
	};

	return fib_table_insert(&c, err, err ? 128 : 0);
}

static void expect_route(const char *daddr, int err, enum rtn_type type,
			 struct net_device *dev, const char *nexthop, unsigned int prefixlen)
{
	struct fib_result res;

	assert_int_equal(fib_lookup(ip(daddr), &res), err);
	assert_int_equal(res.type, type);
	if (err)
		return;
	assert_ptr_equal(res.dev, dev);
	assert_int_equal(res.nexthop, ip(nexthop));
	assert_int_equal(res.prefixlen, prefixlen);
}

/* Every address brings local, broadcast and connected routes. */
static void test_address_routes(void **state)
{
	struct fib_result res;

	(void)state;
	expect_route("10.200.0.77", 0, RTN_UNICAST, fake0, "10.200.0.77", 24);
	assert_int_equal(fib_lookup(ip("10.200.0.77"), &res), 0);
	assert_int_equal(res.prefsrc, ip("10.200.0.2"));
	assert_int_equal(res.scope, RT_SCOPE_LINK);
	assert_false(res.has_gw);
	expect_route("10.200.1.77", 0, RTN_UNICAST, fake1, "10.200.1.77", 24);
	assert_int_equal(fib_lookup(ip("10.200.1.77"), &res), 0);
	assert_int_equal(res.prefsrc, ip("10.200.1.2"));

	/* Our own addresses: the local table, on the owning device. */
	expect_route("10.200.1.2", 0, RTN_LOCAL, fake1, "10.200.1.2", 32);
	assert_int_equal(fib_lookup(ip("10.200.1.2"), &res), 0);
	assert_int_equal(res.table, RT_TABLE_LOCAL);
	assert_int_equal(res.scope, RT_SCOPE_HOST);
	expect_route("10.200.0.2", 0, RTN_LOCAL, fake0, "10.200.0.2", 32);
	/* Subnet broadcasts of either interface. */
	expect_route("10.200.1.255", 0, RTN_BROADCAST, fake1, "10.200.1.255", 32);
	expect_route("10.200.0.255", 0, RTN_BROADCAST, fake0, "10.200.0.255", 32);
	/* Nothing else is reachable without more routes. */
	expect_route("192.0.2.1", -ENETUNREACH, RTN_UNREACHABLE, NULL, NULL, 0);
}

/* Longest prefix wins across interfaces, whatever the order of insertion. */
static void test_longest_prefix(void **state)
{
	(void)state;
	assert_int_equal(add("0.0.0.0", 0, "10.200.0.1", NULL, 0, 0, NULL), 0);
	assert_int_equal(add("10.9.8.0", 24, "10.200.1.1", fake1, 0, 0, NULL), 0);
	assert_int_equal(add("10.9.0.0", 16, "10.200.0.1", NULL, 0, 0, NULL), 0);
	assert_int_equal(add("10.9.8.128", 25, NULL, fake0, 0, 0, NULL), 0);
	assert_int_equal(add("10.9.8.7", 32, "10.200.0.9", NULL, 0, 0, NULL), 0);

	expect_route("10.9.8.7", 0, RTN_UNICAST, fake0, "10.200.0.9", 32);
	expect_route("10.9.8.6", 0, RTN_UNICAST, fake1, "10.200.1.1", 24);
	expect_route("10.9.8.200", 0, RTN_UNICAST, fake0, "10.9.8.200", 25);
	expect_route("10.9.1.1", 0, RTN_UNICAST, fake0, "10.200.0.1", 16);
	expect_route("8.8.8.8", 0, RTN_UNICAST, fake0, "10.200.0.1", 0);
	/* The connected /24 is still more specific than the default. */
	expect_route("10.200.1.9", 0, RTN_UNICAST, fake1, "10.200.1.9", 24);

	/* A gateway route's source is our address on the gateway's prefix. */
	{
		struct fib_result res;

		assert_int_equal(fib_lookup(ip("10.9.8.6"), &res), 0);
		assert_int_equal(res.prefsrc, ip("10.200.1.2"));
		assert_true(res.has_gw);
	}

	/* Deleting the /24 uncovers the /16; deleting the /16 the default. */
	{
		struct fib_config c = { .dst = ip("10.9.8.0"), .dst_len = 24 };

		assert_int_equal(fib_table_delete(&c, NULL, 0), 0);
		assert_int_equal(fib_table_delete(&c, NULL, 0), -ESRCH);
	}
	expect_route("10.9.8.6", 0, RTN_UNICAST, fake0, "10.200.0.1", 16);
	{
		struct fib_config c = { .dst = ip("10.9.0.0"), .dst_len = 16 };

		assert_int_equal(fib_table_delete(&c, NULL, 0), 0);
	}
	expect_route("10.9.8.6", 0, RTN_UNICAST, fake0, "10.200.0.1", 0);

	/* Limited broadcast and multicast follow the route, typed as such. */
	expect_route("255.255.255.255", 0, RTN_BROADCAST, fake0, "10.200.0.1", 0);
	expect_route("224.0.0.251", 0, RTN_MULTICAST, fake0, "10.200.0.1", 0);
}

/* Between routes to one prefix, the lowest metric wins. */
static void test_metric(void **state)
{
	struct fib_config c = { .dst = 0, .dst_len = 0, .priority = 5, .match_priority = true };

	(void)state;
	assert_int_equal(add("0.0.0.0", 0, "10.200.0.1", NULL, 0, 10, NULL), 0);
	assert_int_equal(add("0.0.0.0", 0, "10.200.1.1", NULL, 0, 5, NULL), 0);
	assert_int_equal(add("0.0.0.0", 0, "10.200.1.9", NULL, 0, 5, NULL), -EEXIST);
	expect_route("198.51.100.1", 0, RTN_UNICAST, fake1, "10.200.1.1", 0);
	assert_int_equal(fib_table_delete(&c, NULL, 0), 0);
	expect_route("198.51.100.1", 0, RTN_UNICAST, fake0, "10.200.0.1", 0);
}

/* unreachable, prohibit, blackhole: the kernel's errno, and more specific routes win. */
static void test_route_types(void **state)
{
	(void)state;
	assert_int_equal(add("10.50.0.0", 16, NULL, NULL, RTN_UNREACHABLE, 0, NULL), 0);
	assert_int_equal(add("10.51.0.0", 16, NULL, NULL, RTN_PROHIBIT, 0, NULL), 0);
	assert_int_equal(add("10.52.0.0", 16, NULL, NULL, RTN_BLACKHOLE, 0, NULL), 0);
	assert_int_equal(add("10.50.7.0", 24, "10.200.1.1", NULL, 0, 0, NULL), 0);

	expect_route("10.50.1.1", -EHOSTUNREACH, RTN_UNREACHABLE, NULL, NULL, 0);
	expect_route("10.51.1.1", -EACCES, RTN_PROHIBIT, NULL, NULL, 0);
	expect_route("10.52.1.1", -EINVAL, RTN_BLACKHOLE, NULL, NULL, 0);
	expect_route("10.50.7.1", 0, RTN_UNICAST, fake1, "10.200.1.1", 24);
	expect_route("10.53.1.1", -ENETUNREACH, RTN_UNREACHABLE, NULL, NULL, 0);

	/* Deleting by type: a unicast selector does not match the unreachable. */
	{
		struct fib_config c = { .dst = ip("10.50.0.0"), .dst_len = 16,
					.type = RTN_UNICAST, .match_type = true };

		assert_int_equal(fib_table_delete(&c, NULL, 0), -ESRCH);
		c.type = RTN_UNREACHABLE;
		assert_int_equal(fib_table_delete(&c, NULL, 0), 0);
	}
	expect_route("10.50.1.1", -ENETUNREACH, RTN_UNREACHABLE, NULL, NULL, 0);
}

/* The checks of fib_table_insert, with ip's messages. */
static void test_insert_checks(void **state)
{
	char err[128];

	(void)state;
	/* A gateway must be on a connected prefix (of the device, if given). */
	assert_int_equal(add("10.60.0.0", 16, "10.77.0.1", NULL, 0, 0, err), -EINVAL);
	assert_string_equal(err, "Nexthop has invalid gateway");
	assert_int_equal(add("10.60.0.0", 16, "10.200.1.1", fake0, 0, 0, err), -EINVAL);
	assert_int_equal(add("10.60.0.0", 16, "10.200.1.2", NULL, 0, 0, err), -EINVAL);
	assert_int_equal(add("10.60.0.0", 16, "10.200.1.255", NULL, 0, 0, err), -EINVAL);
	assert_int_equal(add("10.60.0.0", 16, "10.200.1.254", NULL, 0, 0, err), 0);
	assert_int_equal(add("10.61.0.0", 16, "255.255.255.255", NULL, 0, 0, err), -EINVAL);
	/* Host bits, prefix length, missing next hop. */
	assert_int_equal(add("10.60.1.0", 16, "10.200.1.1", NULL, 0, 0, err), -EINVAL);
	assert_string_equal(err, "Invalid prefix for given prefix length");
	assert_int_equal(add("10.60.0.0", 33, "10.200.1.1", NULL, 0, 0, err), -EINVAL);
	assert_int_equal(add("10.62.0.0", 16, NULL, NULL, 0, 0, err), -ENODEV);
	/* Types that take no gateway; the same key twice. */
	assert_int_equal(add("10.63.0.0", 16, "10.200.1.1", NULL, RTN_BLACKHOLE, 0, err),
			 -EINVAL);
	assert_int_equal(add("10.60.0.0", 16, "10.200.0.1", NULL, 0, 0, err), -EEXIST);
	assert_string_equal(err, "File exists");
	/* A preferred source must be ours. */
	{
		struct fib_config c = { .dst = ip("10.64.0.0"), .dst_len = 16, .dev = fake1,
					.prefsrc = ip("10.200.1.3") };

		assert_int_equal(fib_table_insert(&c, err, sizeof(err)), -EINVAL);
		assert_string_equal(err, "Invalid prefsrc address");
		c.prefsrc = ip("10.200.0.2");
		assert_int_equal(fib_table_insert(&c, err, sizeof(err)), 0);
	}
	/* Delete with a gateway selector that does not match. */
	{
		struct fib_config c = { .dst = ip("10.60.0.0"), .dst_len = 16,
					.gw = ip("10.200.1.1"), .match_gw = true };

		assert_int_equal(fib_table_delete(&c, err, sizeof(err)), -ESRCH);
		assert_string_equal(err, "No such process");
		c.gw = ip("10.200.1.254");
		assert_int_equal(fib_table_delete(&c, err, sizeof(err)), 0);
	}
}

/* Addresses added and removed at run time take their routes with them. */
static void test_address_add_del(void **state)
{
	struct fib_result res;

	(void)state;
	assert_int_equal(inet_addr_add(fake1, ip("10.200.5.2"), 24), 0);
	expect_route("10.200.5.2", 0, RTN_LOCAL, fake1, "10.200.5.2", 32);
	expect_route("10.200.5.255", 0, RTN_BROADCAST, fake1, "10.200.5.255", 32);
	expect_route("10.200.5.9", 0, RTN_UNICAST, fake1, "10.200.5.9", 24);
	assert_int_equal(fib_lookup(ip("10.200.5.9"), &res), 0);
	assert_int_equal(res.prefsrc, ip("10.200.5.2"));
	assert_true(inet_addr_is_local(NULL, ip("10.200.5.2")));

	/* One owner per address; only unicast addresses. */
	assert_int_equal(inet_addr_add(fake0, ip("10.200.5.2"), 24), -EEXIST);
	assert_int_equal(inet_addr_add(fake0, ip("224.0.0.1"), 24), -EINVAL);
	assert_int_equal(inet_addr_add(fake0, ip("10.200.9.1"), 33), -EINVAL);

	/* A second address in the prefix keeps it connected when the first goes. */
	assert_int_equal(inet_addr_add(fake1, ip("10.200.5.3"), 24), 0);
	assert_int_equal(inet_addr_del(fake1, ip("10.200.5.2"), 16), -EADDRNOTAVAIL);
	assert_int_equal(inet_addr_del(fake0, ip("10.200.5.2"), 24), -EADDRNOTAVAIL);
	assert_int_equal(inet_addr_del(fake1, ip("10.200.5.2"), 24), 0);
	assert_false(inet_addr_is_local(NULL, ip("10.200.5.2")));
	expect_route("10.200.5.2", 0, RTN_UNICAST, fake1, "10.200.5.2", 24);
	assert_int_equal(fib_lookup(ip("10.200.5.9"), &res), 0);
	assert_int_equal(res.prefsrc, ip("10.200.5.3"));
	expect_route("10.200.5.255", 0, RTN_BROADCAST, fake1, "10.200.5.255", 32);

	/* The last one takes the prefix, and routes using it as source, along. */
	{
		struct fib_config c = { .dst = ip("10.70.0.0"), .dst_len = 16, .dev = fake1,
					.prefsrc = ip("10.200.5.3") };

		assert_int_equal(fib_table_insert(&c, NULL, 0), 0);
	}
	assert_int_equal(inet_addr_del(fake1, ip("10.200.5.3"), -1), 0);
	expect_route("10.200.5.9", -ENETUNREACH, RTN_UNREACHABLE, NULL, NULL, 0);
	expect_route("10.200.5.255", -ENETUNREACH, RTN_UNREACHABLE, NULL, NULL, 0);
	expect_route("10.70.0.1", -ENETUNREACH, RTN_UNREACHABLE, NULL, NULL, 0);
	/* The device's first address is untouched. */
	expect_route("10.200.1.2", 0, RTN_LOCAL, fake1, "10.200.1.2", 32);
	assert_int_equal(inet_select_addr(fake1, ip("10.200.1.9")), ip("10.200.1.2"));
}

/* The dump: local table first, then main, longest prefix first. */
static void test_dump_order(void **state)
{
	struct fib_route_info ri[64];
	unsigned int n;

	(void)state;
	assert_int_equal(add("0.0.0.0", 0, "10.200.0.1", NULL, 0, 0, NULL), 0);
	assert_int_equal(add("10.80.0.0", 16, NULL, NULL, RTN_PROHIBIT, 0, NULL), 0);
	n = fib_dump(ri, 64);
	assert_true(n >= 8);
	assert_int_equal(fib_dump(NULL, 0), n);
	for (unsigned int i = 1; i < n; i++) {
		if (ri[i - 1].table != ri[i].table) {
			assert_int_equal(ri[i - 1].table, RT_TABLE_LOCAL);
			assert_int_equal(ri[i].table, RT_TABLE_MAIN);
		} else {
			assert_true(ri[i - 1].dst_len >= ri[i].dst_len);
		}
	}
	assert_int_equal(ri[n - 1].dst_len, 0);
	assert_int_equal(ri[n - 1].protocol, RTPROT_STATIC);
	assert_int_equal(ri[n - 1].ifindex, fake0->ifindex);
	assert_string_equal(fib_type_name(RTN_PROHIBIT), "prohibit");
	assert_int_equal(fib_type_parse("blackhole"), RTN_BLACKHOLE);
	assert_int_equal(fib_type_parse("nonsense"), -1);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, test_setup, test_teardown)
	const struct CMUnitTest tests[] = {
		T(test_address_routes),
		T(test_longest_prefix),
		T(test_metric),
		T(test_route_types),
		T(test_insert_checks),
		T(test_address_add_del),
		T(test_dump_order),
	};
#undef T

	return cmocka_run_group_tests_name("net/route", tests, group_setup, group_teardown);
}
