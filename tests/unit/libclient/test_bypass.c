/* Unit tests for libclient/bypass.c: NETSTACK_BYPASS rules and matching. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "libclient/bypass.h"

/* bypass.c logs through ipc.c; not linked here. */
void ns_log_line(const char *fmt, ...);
void ns_log_line(const char *fmt, ...)
{
	(void)fmt;
}

static bool match4(const struct ns_bypass_policy *p, const char *ip, int port)
{
	struct sockaddr_in s = { .sin_family = AF_INET, .sin_port = htons(port) };

	inet_pton(AF_INET, ip, &s.sin_addr);
	return ns_bypass_match(p, (struct sockaddr *)&s, sizeof(s));
}

static bool match6(const struct ns_bypass_policy *p, const char *ip, int port)
{
	struct sockaddr_in6 s = { .sin6_family = AF_INET6, .sin6_port = htons(port) };

	inet_pton(AF_INET6, ip, &s.sin6_addr);
	return ns_bypass_match(p, (struct sockaddr *)&s, sizeof(s));
}

static void test_rules(void **state)
{
	struct ns_bypass_policy p;
	char bad[64] = "";

	(void)state;
	assert_int_equal(ns_bypass_parse("10.0.0.0/8, 192.168.1.5:22,:53", &p, bad, sizeof(bad)), 0);
	assert_int_equal(p.n, 3);
	assert_true(match4(&p, "10.1.2.3", 9));
	assert_false(match4(&p, "11.1.2.3", 9));
	assert_true(match4(&p, "192.168.1.5", 22));
	assert_false(match4(&p, "192.168.1.5", 23));
	assert_true(match4(&p, "8.8.8.8", 53));
	assert_true(match6(&p, "::ffff:10.9.9.9", 1));
	assert_false(match6(&p, "2001:db8::1", 1));
	assert_true(match6(&p, "2001:db8::1", 53));
	ns_bypass_free(&p);
}

static void test_ipv6_and_host(void **state)
{
	struct ns_bypass_policy p;

	(void)state;
	assert_int_equal(ns_bypass_parse("ipv6 127.0.0.1 0.0.0.0/0:5353", &p, NULL, 0), 0);
	assert_true(match6(&p, "2001:db8::1", 1));
	assert_false(match6(&p, "::ffff:10.0.0.1", 1));
	assert_true(match4(&p, "127.0.0.1", 80));
	assert_false(match4(&p, "127.0.0.2", 80));
	assert_true(match4(&p, "1.2.3.4", 5353));
	ns_bypass_free(&p);
}

static void test_malformed(void **state)
{
	struct ns_bypass_policy p;
	char bad[64] = "";

	(void)state;
	assert_int_equal(ns_bypass_parse("10.0.0.0/33,:0,hello,:70000,1.2.3.4/8:", &p, bad,
					 sizeof(bad)), 5);
	assert_string_equal(bad, "10.0.0.0/33");
	assert_int_equal(p.n, 0);
	assert_false(match4(&p, "10.0.0.1", 1));
	ns_bypass_free(&p);
	assert_int_equal(ns_bypass_parse(NULL, &p, NULL, 0), 0);
	assert_int_equal(ns_bypass_parse("", &p, NULL, 0), 0);
	assert_false(ns_bypass_match(&p, NULL, 0));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rules),
		cmocka_unit_test(test_ipv6_and_host),
		cmocka_unit_test(test_malformed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
