/*
 * Unit tests for daemon/core/checksum.c (RFC 1071, RFC 1624).
 *
 * csum_partial() returns its sum in memory byte order, so results are
 * compared as the two bytes they would occupy in a header.  The reference
 * for random inputs is fake_csum() in tests/unit/fakes.c, a plain
 * big-endian word sum written independently of the code under test.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "core/checksum.h"

#include "../fakes.h"

/* RFC 1071 §3: the worked example. */
static const uint8_t rfc1071_bytes[] = { 0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7 };

/* A classic IPv4 header (UDP, 192.168.0.1 -> 192.168.0.199), checksum b861. */
static const uint8_t ipv4_hdr[20] = {
	0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
	0xb8, 0x61, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7,
};

/* The checksum as it would be stored, read back as big-endian. */
static uint16_t stored(uint16_t csum)
{
	uint8_t b[2];

	memcpy(b, &csum, 2);
	return (uint16_t)(b[0] << 8 | b[1]);
}

static void test_rfc1071_example(void **state)
{
	uint32_t sum;

	(void)state;
	sum = csum_partial(rfc1071_bytes, sizeof(rfc1071_bytes), 0);
	/* The folded one's-complement sum is ddf2; the checksum its complement. */
	assert_int_equal(stored((uint16_t)~csum_fold(sum)), 0xddf2);
	assert_int_equal(stored(csum_fold(sum)), 0x220d);
	assert_int_equal(stored(ip_compute_csum(rfc1071_bytes, sizeof(rfc1071_bytes))),
			 (uint16_t)~0xddf2);
}

static void test_empty_and_zero(void **state)
{
	static const uint8_t zeros[16];

	(void)state;
	assert_int_equal(csum_partial(zeros, 0, 0), 0);
	assert_int_equal(stored(ip_compute_csum(zeros, sizeof(zeros))), 0xffff);
	/* The incoming partial sum is carried through. */
	assert_int_equal(csum_partial(zeros, 0, 0x1234), 0x1234);
}

static void test_odd_lengths(void **state)
{
	static const uint8_t one[] = { 0xab };
	static const uint8_t three[] = { 0x12, 0x34, 0x56 };

	(void)state;
	/* A trailing byte is the high half of a zero-padded word. */
	assert_int_equal(stored(ip_compute_csum(one, 1)), (uint16_t)~0xab00);
	assert_int_equal(stored(ip_compute_csum(three, 3)), (uint16_t)~(0x1234 + 0x5600));
}

static void test_ipv4_header(void **state)
{
	uint8_t h[20];
	uint16_t c;

	(void)state;
	/* Verifying a header that includes its checksum gives 0. */
	assert_int_equal(ip_fast_csum(ipv4_hdr, 5), 0);
	memcpy(h, ipv4_hdr, sizeof(h));
	h[10] = h[11] = 0;
	c = ip_fast_csum(h, 5);
	assert_int_equal(stored(c), 0xb861);
	memcpy(h + 10, &c, 2);
	assert_memory_equal(h, ipv4_hdr, sizeof(h));
	/* Any single-bit error is caught. */
	for (int bit = 0; bit < 160; bit++) {
		memcpy(h, ipv4_hdr, sizeof(h));
		h[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		assert_int_not_equal(ip_fast_csum(h, 5), 0);
	}
}

/* Random lengths and alignments against the reference implementation. */
static void test_random_against_reference(void **state)
{
	uint8_t buf[1600];

	(void)state;
	srand(1071);
	for (int iter = 0; iter < 2000; iter++) {
		size_t off = (size_t)(rand() % 8);
		size_t len = (size_t)(rand() % 1500);

		for (size_t i = 0; i < len; i++)
			buf[off + i] = (uint8_t)rand();
		assert_int_equal(stored(ip_compute_csum(buf + off, len)), fake_csum(buf + off, len));
	}
	/* All-0xff data exercises the carries. */
	memset(buf, 0xff, sizeof(buf));
	for (size_t len = 0; len < 40; len++)
		assert_int_equal(stored(ip_compute_csum(buf, len)), fake_csum(buf, len));
}

/* Sums over even-length pieces chain into the sum of the whole. */
static void test_partial_chaining(void **state)
{
	uint8_t buf[256];
	uint32_t s;

	(void)state;
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 7 + 3);
	for (size_t cut = 0; cut <= sizeof(buf); cut += 2) {
		s = csum_partial(buf, cut, 0);
		s = csum_partial(buf + cut, sizeof(buf) - cut, s);
		assert_int_equal(csum_fold(s), ip_compute_csum(buf, sizeof(buf)));
	}
}

/* RFC 1624: the incremental update equals a full recomputation (TTL decrement). */
static void test_csum_replace2_matches_recompute(void **state)
{
	uint8_t h[20];

	(void)state;
	srand(1624);
	for (int iter = 0; iter < 20000; iter++) {
		uint16_t check, old, new_, full;
		uint8_t ttl = (uint8_t)rand();

		for (int i = 0; i < 20; i++)
			h[i] = (uint8_t)rand();
		h[0] = 0x45;
		h[10] = h[11] = 0;
		check = ip_fast_csum(h, 5);
		memcpy(h + 10, &check, 2);

		memcpy(&old, h + 8, 2);             /* TTL and protocol */
		h[8] = ttl;
		memcpy(&new_, h + 8, 2);
		check = csum_replace2(check, old, new_);

		h[10] = h[11] = 0;
		full = ip_fast_csum(h, 5);
		assert_int_equal(check, full);
		memcpy(h + 10, &check, 2);
		assert_int_equal(ip_fast_csum(h, 5), 0);
	}
}

static void test_csum_replace2_no_change(void **state)
{
	uint16_t check;

	(void)state;
	memcpy(&check, ipv4_hdr + 10, 2);
	assert_int_equal(csum_replace2(check, 0x1140, 0x1140), check);
}

/* UDP over IPv4: pseudo-header + datagram, against the reference. */
static void test_csum_tcpudp_nofold(void **state)
{
	uint8_t udp[8 + 13] = { 0x30, 0x39, 0x00, 0x35, 0x00, 21, 0x00, 0x00,
				'h', 'e', 'l', 'l', 'o', ',', ' ', 'w', 'o', 'r', 'l', 'd', '!' };
	uint8_t pseudo[12 + sizeof(udp)];
	uint32_t saddr = fake_ip(192, 168, 0, 1), daddr = fake_ip(192, 168, 0, 199);
	uint16_t c;

	(void)state;
	memcpy(pseudo, &saddr, 4);
	memcpy(pseudo + 4, &daddr, 4);
	pseudo[8] = 0;
	pseudo[9] = 17;
	pseudo[10] = 0;
	pseudo[11] = sizeof(udp);
	memcpy(pseudo + 12, udp, sizeof(udp));

	c = csum_fold(csum_partial(udp, sizeof(udp),
				   csum_tcpudp_nofold(saddr, daddr, sizeof(udp), 17, 0)));
	assert_int_equal(stored(c), fake_csum(pseudo, sizeof(pseudo)));

	/* With the checksum in place, the receiver's sum verifies to 0. */
	memcpy(udp + 6, &c, 2);
	assert_int_equal(csum_fold(csum_partial(udp, sizeof(udp),
						csum_tcpudp_nofold(saddr, daddr, sizeof(udp), 17, 0))),
			 0);

	/* Random addresses, lengths and protocols. */
	srand(768);
	for (int iter = 0; iter < 500; iter++) {
		uint8_t pkt[12 + 600];
		uint32_t s = (uint32_t)rand() * 2654435761u, d = (uint32_t)rand() ^ 0xdeadbeefu;
		uint16_t len = (uint16_t)(rand() % 600);
		uint8_t proto = (uint8_t)rand();

		memcpy(pkt, &s, 4);
		memcpy(pkt + 4, &d, 4);
		pkt[8] = 0;
		pkt[9] = proto;
		pkt[10] = (uint8_t)(len >> 8);
		pkt[11] = (uint8_t)len;
		for (int i = 0; i < len; i++)
			pkt[12 + i] = (uint8_t)rand();
		c = csum_fold(csum_partial(pkt + 12, len, csum_tcpudp_nofold(s, d, len, proto, 0)));
		assert_int_equal(stored(c), fake_csum(pkt, 12u + len));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc1071_example),
		cmocka_unit_test(test_empty_and_zero),
		cmocka_unit_test(test_odd_lengths),
		cmocka_unit_test(test_ipv4_header),
		cmocka_unit_test(test_random_against_reference),
		cmocka_unit_test(test_partial_chaining),
		cmocka_unit_test(test_csum_replace2_matches_recompute),
		cmocka_unit_test(test_csum_replace2_no_change),
		cmocka_unit_test(test_csum_tcpudp_nofold),
	};

	return cmocka_run_group_tests_name("core/checksum", tests, NULL, NULL);
}
