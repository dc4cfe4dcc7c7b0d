/*
 * Unit tests for libclient/fdtable.c: install, lookup with references,
 * removal, release on the last put, slot reuse, iteration.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>

#include "libclient/fdtable.h"

static int released;

static void count_release(struct ns_file *f)
{
	(void)f;
	released++;
}

static void test_install_get_remove(void **state)
{
	struct ns_file f, *g;

	(void)state;
	ns_fd_reset();
	released = 0;
	ns_file_init(&f, NS_FILE_SOCK, count_release);
	assert_false(ns_fd_is_ours(5));
	assert_null(ns_fd_get(5));
	assert_int_equal(ns_fd_install(5, &f), 0);
	ns_file_put(&f);                        /* the creator's reference */
	assert_int_equal(released, 0);
	assert_true(ns_fd_is_ours(5));
	assert_false(ns_fd_is_ours(6));
	g = ns_fd_get(5);
	assert_ptr_equal(g, &f);
	assert_null(ns_fd_get_kind(5, NS_FILE_EPOLL));
	assert_int_equal(ns_fd_count(), 1);
	/* A call in flight keeps it alive across the removal. */
	assert_ptr_equal(ns_fd_remove(5), &f);
	assert_false(ns_fd_is_ours(5));
	ns_file_put(&f);                        /* the slot's reference */
	assert_int_equal(released, 0);
	ns_file_put(g);
	assert_int_equal(released, 1);
	assert_null(ns_fd_remove(5));
	assert_int_equal(ns_fd_count(), 0);
}

static void test_dup_shares(void **state)
{
	struct ns_file f;

	(void)state;
	ns_fd_reset();
	released = 0;
	ns_file_init(&f, NS_FILE_SOCK, count_release);
	assert_int_equal(ns_fd_install(3, &f), 0);
	assert_int_equal(ns_fd_install(70000, &f), 0);  /* another chunk */
	ns_file_put(&f);
	ns_file_put(ns_fd_remove(3));
	assert_int_equal(released, 0);
	assert_true(ns_fd_is_ours(70000));
	ns_file_put(ns_fd_remove(70000));
	assert_int_equal(released, 1);
}

static void test_reuse_replaces(void **state)
{
	struct ns_file a, b;

	(void)state;
	ns_fd_reset();
	released = 0;
	ns_file_init(&a, NS_FILE_SOCK, count_release);
	ns_file_init(&b, NS_FILE_EPOLL, count_release);
	assert_int_equal(ns_fd_install(9, &a), 0);
	ns_file_put(&a);
	/* The kernel reused 9 behind our back: the old object goes. */
	assert_int_equal(ns_fd_install(9, &b), 0);
	ns_file_put(&b);
	assert_int_equal(released, 1);
	assert_int_equal(ns_fd_count(), 1);
	ns_file_put(ns_fd_remove(9));
	assert_int_equal(released, 2);
}

static void test_bad_fds(void **state)
{
	struct ns_file f;

	(void)state;
	ns_fd_reset();
	ns_file_init(&f, NS_FILE_SOCK, NULL);
	assert_int_equal(ns_fd_install(-1, &f), -EBADF);
	assert_int_equal(ns_fd_install(1 << 30, &f), -ENOMEM);
	assert_false(ns_fd_is_ours(-1));
	assert_null(ns_fd_get(1 << 30));
}

static int count_fn(int fd, struct ns_file *f, void *arg)
{
	(void)f;
	*(int *)arg += fd;
	return 0;
}

static void test_foreach(void **state)
{
	struct ns_file s, e;
	int sum = 0;

	(void)state;
	ns_fd_reset();
	ns_file_init(&s, NS_FILE_SOCK, NULL);
	ns_file_init(&e, NS_FILE_EPOLL, NULL);
	ns_fd_install(4, &s);
	ns_fd_install(10, &s);
	ns_fd_install(7, &e);
	ns_fd_foreach(NS_FILE_SOCK, count_fn, &sum);
	assert_int_equal(sum, 14);
	ns_fd_reset();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_install_get_remove),
		cmocka_unit_test(test_dup_shares),
		cmocka_unit_test(test_reuse_replaces),
		cmocka_unit_test(test_bad_fds),
		cmocka_unit_test(test_foreach),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
