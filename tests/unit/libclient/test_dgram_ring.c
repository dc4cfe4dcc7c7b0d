/*
 * Unit tests for libclient/dgram_ring.c against a fake region: the client
 * produces tx records and consumes rx records exactly as proto/shm_ring.h
 * lays them out (the daemon's side is played by the same inline helpers).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "libclient/dgram_ring.h"

#define REGION_SIZE (64 * 1024)
#define RING_OFF 8192
#define RING_SIZE 1024

static unsigned char *region;
static struct ns_ring ring;

static int setup(void **state)
{
	(void)state;
	region = aligned_alloc(4096, REGION_SIZE);
	memset(region, 0, REGION_SIZE);
	memset(&ring, 0, sizeof(ring));
	return region ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	free(region);
	return 0;
}

static void test_view_validation(void **state)
{
	struct ns_ring_view v;

	(void)state;
	assert_true(ns_ring_view_init(&v, &ring, region, REGION_SIZE, RING_OFF, RING_SIZE));
	assert_false(ns_ring_view_init(&v, &ring, region, REGION_SIZE, RING_OFF, 1000));
	assert_false(ns_ring_view_init(&v, &ring, region, REGION_SIZE, REGION_SIZE - 512, RING_SIZE));
	assert_false(ns_ring_view_init(&v, &ring, region, REGION_SIZE, UINT64_MAX - 10, RING_SIZE));
	assert_false(ns_ring_view_init(&v, &ring, region, REGION_SIZE, RING_OFF + 3, RING_SIZE));
	assert_false(ns_ring_view_init(&v, &ring, region, REGION_SIZE, RING_OFF, 64));
}

/* The daemon's side: consume a tx record with the shared helper. */
static int daemon_take(const struct ns_ring_view *v, struct ns_dgram *hdr, char *out)
{
	uint64_t cons = ns_ring_load_cons(v);
	const unsigned char *p;
	int r = ns_dgram_peek(v, &cons, ns_ring_load_prod(v), hdr, &p);

	if (r == 1) {
		memcpy(out, p, hdr->len);
		ns_ring_publish_cons(v, cons + ns_dgram_record_size(hdr->len));
	}
	return r;
}

static void test_tx_gather_and_wrap(void **state)
{
	struct ns_ring_view v;
	struct ns_dgram hdr, got;
	char a[] = "hello ", b[] = "world", out[2048];
	struct iovec iov[2] = { { a, 6 }, { b, 5 } };
	int i;

	(void)state;
	assert_true(ns_ring_view_init(&v, &ring, region, REGION_SIZE, RING_OFF, RING_SIZE));
	memset(&hdr, 0, sizeof(hdr));
	hdr.addrlen = 16;
	assert_int_equal(ns_dgram_tx_put(&v, &hdr, iov, 2, 11), 0);
	assert_int_equal(ns_ring_used(&v), ns_dgram_record_size(11));
	assert_int_equal(daemon_take(&v, &got, out), 1);
	assert_int_equal(got.len, 11);
	assert_int_equal(got.addrlen, 16);
	assert_memory_equal(out, "hello world", 11);

	/* Many records of awkward sizes force wrap markers; order survives. */
	for (i = 0; i < 200; i++) {
		char msg[300];
		struct iovec one = { msg, (size_t)(i % 250) };

		memset(msg, 'a' + i % 26, sizeof(msg));
		memset(&hdr, 0, sizeof(hdr));
		assert_int_equal(ns_dgram_tx_put(&v, &hdr, &one, 1, (uint32_t)(i % 250)), 0);
		assert_int_equal(daemon_take(&v, &got, out), 1);
		assert_int_equal(got.len, (uint32_t)(i % 250));
		if (got.len)
			assert_int_equal(out[0], 'a' + i % 26);
	}
	assert_int_equal(ns_ring_used(&v), 0);
}

static void test_tx_full_and_too_big(void **state)
{
	struct ns_ring_view v;
	struct ns_dgram hdr;
	char msg[400] = { 0 };
	struct iovec one = { msg, sizeof(msg) };
	int n = 0;

	(void)state;
	assert_true(ns_ring_view_init(&v, &ring, region, REGION_SIZE, RING_OFF, RING_SIZE));
	memset(&hdr, 0, sizeof(hdr));
	while (ns_dgram_tx_put(&v, &hdr, &one, 1, sizeof(msg)) == 0)
		n++;
	assert_int_equal(n, 2);
	assert_int_equal(ns_dgram_tx_put(&v, &hdr, &one, 1, sizeof(msg)), -EAGAIN);
	assert_int_equal(ns_dgram_tx_put(&v, &hdr, &one, 1, 2000), -EMSGSIZE);
}

/* The daemon's side: produce an rx record with the shared helpers. */
static void daemon_put(const struct ns_ring_view *v, const char *data, uint32_t len)
{
	struct ns_dgram hdr = { .len = len, .addrlen = 16 };
	uint64_t at = 0;

	assert_true(ns_dgram_reserve(v, ns_ring_load_prod(v), ns_ring_load_cons(v), len, &at));
	ns_dgram_write(v, at, &hdr, data);
	ns_ring_publish_prod(v, at + ns_dgram_record_size(len));
}

static void test_rx_peek_trunc_consume(void **state)
{
	struct ns_ring_view v;
	struct ns_dgram hdr;
	char buf[8];
	struct iovec iov = { buf, sizeof(buf) };
	size_t copied = 0;

	(void)state;
	assert_true(ns_ring_view_init(&v, &ring, region, REGION_SIZE, RING_OFF, RING_SIZE));
	assert_int_equal(ns_dgram_rx_get(&v, &hdr, &iov, 1, false, &copied), 0);
	assert_int_equal(ns_dgram_rx_next_len(&v), 0);
	daemon_put(&v, "0123456789abc", 13);
	daemon_put(&v, "xy", 2);
	assert_int_equal(ns_dgram_rx_next_len(&v), 13);
	/* Peek leaves it; a short buffer truncates but still consumes. */
	assert_int_equal(ns_dgram_rx_get(&v, &hdr, &iov, 1, true, &copied), 1);
	assert_int_equal(copied, 8);
	assert_int_equal(hdr.len, 13);
	assert_int_equal(ns_dgram_rx_next_len(&v), 13);
	assert_int_equal(ns_dgram_rx_get(&v, &hdr, &iov, 1, false, &copied), 1);
	assert_memory_equal(buf, "01234567", 8);
	assert_int_equal(ns_dgram_rx_next_len(&v), 2);
	assert_int_equal(ns_dgram_rx_get(&v, &hdr, &iov, 1, false, &copied), 1);
	assert_int_equal(copied, 2);
	assert_memory_equal(buf, "xy", 2);
	assert_int_equal(ns_dgram_rx_get(&v, &hdr, &iov, 1, false, &copied), 0);
}

static void test_rx_corrupt(void **state)
{
	struct ns_ring_view v;
	struct ns_dgram hdr, bad = { .len = 60000 };
	char buf[8];
	struct iovec iov = { buf, sizeof(buf) };
	size_t copied;

	(void)state;
	assert_true(ns_ring_view_init(&v, &ring, region, REGION_SIZE, RING_OFF, RING_SIZE));
	/* prod beyond cons + size: corrupt indices. */
	atomic_store(&ring.prod, RING_SIZE + 64);
	assert_int_equal(ns_dgram_rx_get(&v, &hdr, &iov, 1, false, &copied), -EIO);
	/* A length that does not fit the ring. */
	memcpy(region + RING_OFF, &bad, sizeof(bad));
	atomic_store(&ring.prod, 64);
	assert_int_equal(ns_dgram_rx_get(&v, &hdr, &iov, 1, false, &copied), -EIO);
	assert_int_equal(ns_dgram_rx_next_len(&v), -EIO);
	assert_int_equal(ns_ring_used(&v), 64);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_view_validation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tx_gather_and_wrap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tx_full_and_too_big, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rx_peek_trunc_consume, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rx_corrupt, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
