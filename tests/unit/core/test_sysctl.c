/*
 * Unit tests for daemon/core/sysctl.c: the registry of run-time knobs.
 *
 * Registration is global and permanent, so every test registers what it
 * needs in its setup (registration is idempotent), and the test of an
 * empty first table runs in a child process with a registry of its own.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/sysctl.h"

static _Atomic int64_t test_knob_a = 5;
static _Atomic int64_t test_knob_b = -3;

static const struct ctl_table test_table[] = {
	{ "net.test.knob_a", &test_knob_a, 0, 10, 5, "a test knob" },
	{ "net.test.knob_b", &test_knob_b, -100, 100, -3, "a signed test knob" },
	{ NULL, NULL, 0, 0, 0, NULL },
};

static const struct ctl_table empty_table[] = {
	{ NULL, NULL, 0, 0, 0, NULL },
};

static const char *const core_names[] = {
	"net.core.netdev_max_backlog",
	"net.core.netdev_budget",
	"net.core.netdev_budget_usecs",
	"net.core.dev_weight",
	"net.core.dev_tx_weight",
	"net.core.rps_sock_flow_entries",
};

static int registry_setup(void **state)
{
	(void)state;
	core_sysctl_init();
	sysctl_register(test_table);
	sysctl_reset_defaults();
	return 0;
}

/*
 * Runs first, in a child, before this process registers anything: a
 * module whose table is empty must not hide the tables registered after it.
 */
static void test_empty_first_table(void **state)
{
	pid_t pid;
	int status;

	(void)state;
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		sysctl_register(empty_table);
		core_sysctl_init();
		_exit(sysctl_find("net.core.netdev_budget") && sysctl_next(NULL) ? 0 : 1);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

static void test_find(void **state)
{
	const struct ctl_table *t;

	(void)state;
	t = sysctl_find("net.core.netdev_budget");
	assert_non_null(t);
	assert_string_equal(t->procname, "net.core.netdev_budget");
	assert_ptr_equal(t->data, &sysctl_netdev_budget);
	assert_int_equal(t->def, 300);
	assert_non_null(t->help);
	t = sysctl_find("net.test.knob_b");
	assert_non_null(t);
	assert_ptr_equal(t->data, &test_knob_b);
	assert_null(sysctl_find("net.core.netdev_budge"));
	assert_null(sysctl_find("net.core.netdev_budget2"));
	assert_null(sysctl_find(""));
}

static void test_set_valid(void **state)
{
	char err[128] = "";

	(void)state;
	assert_int_equal(sysctl_set("net.core.netdev_budget", "600", err, sizeof(err)), 0);
	assert_int_equal(sysctl_read(&sysctl_netdev_budget), 600);
	/* The bounds are inclusive. */
	assert_int_equal(sysctl_set("net.test.knob_a", "0", err, sizeof(err)), 0);
	assert_int_equal(sysctl_read(&test_knob_a), 0);
	assert_int_equal(sysctl_set("net.test.knob_a", "10", err, sizeof(err)), 0);
	assert_int_equal(sysctl_read(&test_knob_a), 10);
	assert_int_equal(sysctl_set("net.test.knob_b", "-100", err, sizeof(err)), 0);
	assert_int_equal(sysctl_read(&test_knob_b), -100);
	/* Surrounding blanks are accepted. */
	assert_int_equal(sysctl_set("net.test.knob_a", " 7 ", err, sizeof(err)), 0);
	assert_int_equal(sysctl_read(&test_knob_a), 7);
	assert_int_equal(sysctl_set("net.core.dev_weight", "0x40", err, sizeof(err)), 0);
	assert_int_equal(sysctl_read(&sysctl_dev_weight), 64);
}

static void test_set_unknown(void **state)
{
	char err[128] = "";

	(void)state;
	assert_int_equal(sysctl_set("net.core.no_such_knob", "1", err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "net.core.no_such_knob"));
}

static void test_set_invalid(void **state)
{
	static const char *const bad[] = { "", " ", "abc", "12abc", "1.5", "-", "3 4", "0x" };
	char err[128];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		if (sysctl_set("net.test.knob_a", bad[i], err, sizeof(err)) != -EINVAL)
			fail_msg("value '%s' was not rejected with -EINVAL", bad[i]);
		assert_non_null(strstr(err, "net.test.knob_a"));
		/* A rejected value leaves the knob alone. */
		assert_int_equal(sysctl_read(&test_knob_a), 5);
	}
}

static void test_set_out_of_range(void **state)
{
	char err[128] = "";

	(void)state;
	assert_int_equal(sysctl_set("net.test.knob_a", "11", err, sizeof(err)), -ERANGE);
	assert_non_null(strstr(err, "out of range"));
	assert_int_equal(sysctl_set("net.test.knob_a", "-1", err, sizeof(err)), -ERANGE);
	assert_int_equal(sysctl_set("net.test.knob_b", "-101", err, sizeof(err)), -ERANGE);
	assert_int_equal(sysctl_set("net.core.netdev_budget", "0", err, sizeof(err)), -ERANGE);
	assert_int_equal(sysctl_read(&test_knob_a), 5);
	assert_int_equal(sysctl_read(&test_knob_b), -3);
	assert_int_equal(sysctl_read(&sysctl_netdev_budget), 300);
}

/* A number too large for 64 bits is rejected, not wrapped or clamped. */
static void test_set_overflow_rejected(void **state)
{
	char err[128] = "";

	(void)state;
	assert_true(sysctl_set("net.test.knob_a", "99999999999999999999", err, sizeof(err)) < 0);
	assert_true(sysctl_set("net.test.knob_b", "-99999999999999999999", err, sizeof(err)) < 0);
	assert_int_equal(sysctl_read(&test_knob_a), 5);
	assert_int_equal(sysctl_read(&test_knob_b), -3);
}

static void test_reset_defaults(void **state)
{
	char err[128];

	(void)state;
	assert_int_equal(sysctl_set("net.test.knob_a", "9", err, sizeof(err)), 0);
	assert_int_equal(sysctl_set("net.core.netdev_max_backlog", "5", err, sizeof(err)), 0);
	sysctl_reset_defaults();
	assert_int_equal(sysctl_read(&test_knob_a), 5);
	assert_int_equal(sysctl_read(&sysctl_netdev_max_backlog), 1000);
}

static void test_iteration_covers_every_name_once(void **state)
{
	const char *seen[32];
	unsigned int n = 0;

	(void)state;
	/* Registering a table again does not list it twice. */
	sysctl_register(test_table);
	core_sysctl_init();
	for (const struct ctl_table *t = sysctl_next(NULL); t; t = sysctl_next(t)) {
		assert_true(n < 32);
		assert_non_null(t->procname);
		for (unsigned int i = 0; i < n; i++)
			assert_string_not_equal(seen[i], t->procname);
		seen[n++] = t->procname;
	}
	assert_int_equal(n, 8);
	/* Registration order: core first, then the test table. */
	for (unsigned int i = 0; i < 6; i++)
		assert_string_equal(seen[i], core_names[i]);
	assert_string_equal(seen[6], "net.test.knob_a");
	assert_string_equal(seen[7], "net.test.knob_b");
	/* An empty table in the middle changes nothing. */
	sysctl_register(empty_table);
	n = 0;
	for (const struct ctl_table *t = sysctl_next(NULL); t; t = sysctl_next(t))
		n++;
	assert_int_equal(n, 8);
	/* Every default is within its range. */
	for (const struct ctl_table *t = sysctl_next(NULL); t; t = sysctl_next(t)) {
		assert_true(t->min <= t->def);
		assert_true(t->def <= t->max);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty_first_table),
		cmocka_unit_test_setup(test_find, registry_setup),
		cmocka_unit_test_setup(test_set_valid, registry_setup),
		cmocka_unit_test_setup(test_set_unknown, registry_setup),
		cmocka_unit_test_setup(test_set_invalid, registry_setup),
		cmocka_unit_test_setup(test_set_out_of_range, registry_setup),
		cmocka_unit_test_setup(test_set_overflow_rejected, registry_setup),
		cmocka_unit_test_setup(test_reset_defaults, registry_setup),
		cmocka_unit_test_setup(test_iteration_covers_every_name_once, registry_setup),
	};

	return cmocka_run_group_tests_name("core/sysctl", tests, NULL, NULL);
}
