/*
 * Unit tests for daemon/net/packet/capture.c: the tcpdump-like filter
 * (parsing, every primitive, 'and', 'not', fragments, ARP), and a capture
 * on the fake device end to end: a received echo request and the echo
 * reply sent for it arrive on the stream as records (In, then Out) with
 * the frames' bytes; a frame the filter refuses does not; shutting down
 * the reader's side brings the end record with the counts.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/netdev.h"
#include "net/packet/capture.h"
#include "net/wire/ether.h"
#include "net/wire/ip.h"
#include "proto/capture.h"

#include "../fakes.h"

#define OUR_IP htonl(FAKE_OUR_IP_HOST)
#define PEER_IP fake_ip(10, 200, 0, 1)

static const uint8_t peer_mac[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x01 };

static int parse(const char *words, struct capture_filter *f, char *err, size_t len)
{
	char buf[256], *argv[32], *save = NULL;
	int argc = 0;

	snprintf(buf, sizeof(buf), "%s", words);
	for (char *t = strtok_r(buf, " ", &save); t && argc < 32; t = strtok_r(NULL, " ", &save))
		argv[argc++] = t;
	return capture_filter_parse(argc, argv, f, err, len);
}

static bool passes(const char *words, const uint8_t *frame, size_t len)
{
	struct capture_filter f;
	char err[128] = "";

	if (parse(words, &f, err, sizeof(err)))
		fail_msg("filter '%s' refused: %s", words, err);
	return capture_filter_match(&f, frame, (uint32_t)len);
}

static size_t udp_frame(uint8_t *f, uint32_t s, uint32_t d, uint16_t sport, uint16_t dport)
{
	uint8_t u[8 + 4] = { 0 };

	u[0] = (uint8_t)(sport >> 8);
	u[1] = (uint8_t)sport;
	u[2] = (uint8_t)(dport >> 8);
	u[3] = (uint8_t)dport;
	u[5] = sizeof(u);
	return fb_ip_frame(f, fake_our_mac, peer_mac, s, d, IPPROTO_UDP_NS, u, sizeof(u));
}

static void test_filter_parse(void **state)
{
	static const struct {
		const char *in, *why;
	} bad[] = {
		{ "tcp or udp", "expected 'and'" },
		{ "tcp and", "nothing after 'and'" },
		{ "not", "nothing after 'not'" },
		{ "host", "host needs an address" },
		{ "host 10.0.0", "host needs an address" },
		{ "port", "port needs a number" },
		{ "port 65536", "bad port" },
		{ "src tcp", "expected host or port" },
		{ "sctp", "unknown word 'sctp'" },
	};
	struct capture_filter f;
	char err[128];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		if (parse(bad[i].in, &f, err, sizeof(err)) != -EINVAL)
			fail_msg("'%s' accepted", bad[i].in);
		if (!strstr(err, bad[i].why))
			fail_msg("'%s': '%s' lacks '%s'", bad[i].in, err, bad[i].why);
	}
	assert_int_equal(parse("", &f, err, sizeof(err)), 0);
	assert_int_equal(f.n, 0);
	assert_int_equal(parse("not arp and src host 10.1.2.3 && dst port 53", &f, err, sizeof(err)),
			 0);
	assert_int_equal(f.n, 3);
	assert_true(f.t[0].negate);
	assert_int_equal(f.t[1].dir, 1);
	assert_int_equal(f.t[2].dir, 2);
	assert_int_equal(f.t[2].value, 53);
}

static void test_filter_match(void **state)
{
	uint8_t f[128], a[64];
	size_t n, an;

	(void)state;
	n = udp_frame(f, PEER_IP, OUR_IP, 5353, 53);
	assert_true(passes("", f, n));
	assert_true(passes("udp", f, n));
	assert_true(passes("ip", f, n));
	assert_false(passes("tcp", f, n));
	assert_false(passes("arp", f, n));
	assert_true(passes("host 10.200.0.1", f, n));
	assert_true(passes("src host 10.200.0.1 and dst host 10.200.0.2", f, n));
	assert_false(passes("dst host 10.200.0.1", f, n));
	assert_true(passes("port 53 and port 5353", f, n));
	assert_true(passes("udp and dst port 53 and not src port 53", f, n));
	assert_false(passes("src port 53", f, n));
	assert_false(passes("udp and not port 53", f, n));
	/* A non-first fragment has no ports. */
	f[ETH_HLEN + 7] = 0x20;
	fb_ipv4_fix_csum(f + ETH_HLEN);
	assert_false(passes("port 53", f, n));
	assert_true(passes("udp and host 10.200.0.2", f, n));
	/* Truncated: no ports, no addresses. */
	assert_false(passes("port 53", f, ETH_HLEN + IP_MIN_HLEN + 2));
	assert_false(passes("host 10.200.0.1", f, ETH_HLEN + 8));
	/* ARP: its addresses are hosts. */
	an = fb_arp_frame(a, fake_our_mac, 1, peer_mac, PEER_IP, fake_our_mac, OUR_IP);
	assert_true(passes("arp and src host 10.200.0.1 and dst host 10.200.0.2", a, an));
	assert_false(passes("ip", a, an));
	assert_false(passes("port 0", a, an));
}

/* Read one record (and its data) from @fd within 2 s. */
static void read_rec(int fd, struct ns_capture_rec *rec, uint8_t *data, size_t cap)
{
	size_t got = 0, need = sizeof(*rec);
	uint8_t *dst = (uint8_t *)rec;

	for (int part = 0; part < 2; part++) {
		while (got < need) {
			struct pollfd p = { .fd = fd, .events = POLLIN };
			ssize_t k;

			assert_int_equal(poll(&p, 1, 2000), 1);
			k = read(fd, dst + got, need - got);
			assert_true(k > 0);
			got += (size_t)k;
		}
		if (part == 0) {
			need = NS_CAPTURE_ALIGN(rec->caplen);
			assert_true(need <= cap);
			dst = data;
			got = 0;
		}
	}
}

static void test_capture_both_directions(void **state)
{
	struct net_device *dev = *state;
	struct capture_filter filt;
	struct ns_capture_rec rec;
	struct ns_capture_end end;
	uint8_t f[256], u[128], data[512];
	char err[128];
	size_t n, un;
	int fd = -1;

	fake_learn_neigh(dev, PEER_IP, peer_mac);
	assert_int_equal(parse("icmp and host 10.200.0.1", &filt, err, sizeof(err)), 0);
	assert_int_equal(capture_start("nosuch", &filt, 0, 0, &fd, err, sizeof(err)), -ENODEV);
	assert_int_equal(capture_start("fake0", &filt, 0, 256, &fd, err, sizeof(err)), 0);
	assert_int_equal(capture_count(), 1);

	/* Refused by the filter, as is what it causes (ARP for 10.200.0.3). */
	un = udp_frame(u, fake_ip(10, 200, 0, 3), OUR_IP, 1, 9);
	assert_int_equal(fake_rx(dev, u, un), 0);
	fake_tx_purge();
	n = fb_echo_frame(f, fake_our_mac, peer_mac, PEER_IP, OUR_IP, 9, 1, 40);
	assert_int_equal(fake_rx(dev, f, n), 0);
	assert_int_equal(fake_tx_count(), 1);

	read_rec(fd, &rec, data, sizeof(data));
	assert_int_equal(rec.type, NS_CAPTURE_FRAME);
	assert_int_equal(rec.dir, NS_CAPTURE_IN);
	assert_int_equal(rec.len, n);
	assert_int_equal(rec.caplen, n);
	assert_string_equal(rec.ifname, "fake0");
	assert_int_equal(rec.ifindex, dev->ifindex);
	assert_memory_equal(data, f, n);
	assert_true(rec.tstamp_ns > 1000000000ull * 1600000000ull);

	read_rec(fd, &rec, data, sizeof(data));
	assert_int_equal(rec.type, NS_CAPTURE_FRAME);
	assert_int_equal(rec.dir, NS_CAPTURE_OUT);
	assert_int_equal(rec.len, n);
	{
		uint8_t sent[256];
		size_t sl = fake_tx_pop_frame(sent, sizeof(sent));

		assert_int_equal(sl, rec.caplen);
		assert_memory_equal(data, sent, sl);    /* the bytes the driver got */
	}

	/* The reader ends it: the end record counts the two frames. */
	assert_int_equal(shutdown(fd, SHUT_WR), 0);
	read_rec(fd, &rec, data, sizeof(data));
	assert_int_equal(rec.type, NS_CAPTURE_END);
	assert_int_equal(rec.caplen, sizeof(end));
	memcpy(&end, data, sizeof(end));
	assert_int_equal(end.captured, 2);
	assert_int_equal(end.dropped, 0);
	{
		char c;

		assert_int_equal(read(fd, &c, 1), 0);   /* then netstackd closes */
	}
	close(fd);
	capture_exit();
	assert_int_equal(capture_count(), 0);
	/* Detached: nothing more is copied (and nothing is left allocated). */
	assert_int_equal(fake_rx(dev, f, n), 0);
	fake_tx_purge();
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, fake_test_setup, fake_test_teardown)
	const struct CMUnitTest tests[] = {
		T(test_filter_parse),
		T(test_filter_match),
		T(test_capture_both_directions),
	};
#undef T

	return cmocka_run_group_tests_name("net/capture", tests, fake_stack_setup,
					   fake_stack_teardown);
}
