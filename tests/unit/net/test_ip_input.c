/*
 * Unit tests for daemon/net/ipv4/ip_input.c (and the Ethernet receive step
 * in front of it): every rejection has its own drop reason and the MIB
 * counter the kernel would bump, and good datagrams reach their protocol.
 *
 * The stack is set up as the daemon does (inet_init, one Ethernet device
 * "fake0" at 10.200.0.2/24); frames go in through fake_rx() and come out
 * of the fake device's transmit list.  Counters are global, so each test
 * compares deltas; each test uses its own peer address.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <string.h>

#include "core/drop.h"
#include "core/netdev.h"
#include "net/ipv4/ip.h"
#include "net/ipv4/snmp.h"
#include "net/wire/ether.h"
#include "net/wire/icmp.h"
#include "net/wire/ip.h"

#include "../fakes.h"

static const uint8_t peer_mac[6] = { 0x02, 0x00, 0x00, 0x00, 0x01, 0x01 };
static const uint8_t other_mac[6] = { 0x02, 0x00, 0x00, 0x00, 0x09, 0x09 };
static const uint8_t bcast_mac[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

#define OUR_IP htonl(FAKE_OUR_IP_HOST)
#define PEER(n) fake_ip(10, 200, 0, (uint8_t)(10 + (n))) /* never our .2 */

/* Offsets in a frame built by fb_ip_frame. */
#define IPH(f) ((f) + ETH_HLEN)
#define L4(f) ((f) + ETH_HLEN + IP_MIN_HLEN)

/* Feed @frame and check it was dropped for @reason and nothing was sent. */
static void expect_drop(struct net_device *dev, const uint8_t *frame, size_t len,
			enum skb_drop_reason reason)
{
	uint64_t before = drop_stats_total(reason);

	fake_rx(dev, frame, len);
	assert_int_equal(drop_stats_total(reason), before + 1);
	assert_int_equal(fake_tx_count(), 0);
	assert_int_equal(fake_pool_in_use(), 0);
}

/* A valid echo request from @peer to @dst, to be spoilt by the tests. */
static size_t echo_frame(uint8_t *f, uint32_t peer, uint32_t dst)
{
	return fb_echo_frame(f, fake_our_mac, peer_mac, peer, dst, 0x4242, 1, 16);
}

static void test_valid_datagram_is_delivered(void **state)
{
	struct net_device *dev = *state;
	uint8_t f[128];
	size_t n = echo_frame(f, PEER(10), OUR_IP);
	uint64_t rcv = snmp_fold_ip(IPSTATS_MIB_INRECEIVES);
	uint64_t dlv = snmp_fold_ip(IPSTATS_MIB_INDELIVERS);
	uint64_t oct = snmp_fold_ip(IPSTATS_MIB_INOCTETS);
	uint64_t hdr = snmp_fold_ip(IPSTATS_MIB_INHDRERRORS);

	fake_learn_neigh(dev, PEER(10), peer_mac);
	assert_int_equal(fake_rx(dev, f, n), 0);
	assert_int_equal(snmp_fold_ip(IPSTATS_MIB_INRECEIVES), rcv + 1);
	assert_int_equal(snmp_fold_ip(IPSTATS_MIB_INDELIVERS), dlv + 1);
	assert_int_equal(snmp_fold_ip(IPSTATS_MIB_INOCTETS), oct + (n - ETH_HLEN));
	assert_int_equal(snmp_fold_ip(IPSTATS_MIB_INHDRERRORS), hdr);
	/* ICMP got it: an echo reply went out. */
	assert_int_equal(fake_tx_count(), 1);
}

static void test_truncated(void **state)
{
	struct net_device *dev = *state;
	uint8_t f[128];
	uint64_t hdr = snmp_fold_ip(IPSTATS_MIB_INHDRERRORS);
	uint64_t rcv = snmp_fold_ip(IPSTATS_MIB_INRECEIVES);

	echo_frame(f, PEER(11), OUR_IP);
	/* 19 bytes of IP header. */
	expect_drop(dev, f, ETH_HLEN + 19, SKB_DROP_REASON_IP_TRUNCATED);
	/* No IP bytes at all. */
	expect_drop(dev, f, ETH_HLEN, SKB_DROP_REASON_IP_TRUNCATED);
	assert_int_equal(snmp_fold_ip(IPSTATS_MIB_INHDRERRORS), hdr + 2);
	assert_int_equal(snmp_fold_ip(IPSTATS_MIB_INRECEIVES), rcv + 2);
}

static void test_bad_version(void **state)
{
	struct net_device *dev = *state;
	uint8_t f[128];
	size_t n = echo_frame(f, PEER(12), OUR_IP);
	uint64_t hdr = snmp_fold_ip(IPSTATS_MIB_INHDRERRORS);

	IPH(f)[0] = 0x65; /* IPv6 in an IPv4 frame */
	fb_ipv4_fix_csum(IPH(f));
	expect_drop(dev, f, n, SKB_DROP_REASON_IP_BAD_VERSION);
	IPH(f)[0] = 0x05;
	expect_drop(dev, f, n, SKB_DROP_REASON_IP_BAD_VERSION);
	assert_int_equal(snmp_fold_ip(IPSTATS_MIB_INHDRERRORS), hdr + 2);
}

static void test_bad_ihl(void **state)
{
	struct net_device *dev = *state;
	uint8_t f[128];
	size_t n = echo_frame(f, PEER(13), OUR_IP);
	uint64_t hdr = snmp_fold_ip(IPSTATS_MIB_INHDRERRORS);

	for (uint8_t ihl = 0; ihl < 5; ihl++) {
		IPH(f)[0] = (uint8_t)(0x40 | ihl);
		expect_drop(dev, f, n, SKB_DROP_REASON_IP_BAD_IHL);
	}
	/* A header that claims 60 bytes in a 44-byte packet. */
	IPH(f)[0] = 0x4f;
	expect_drop(dev, f, n, SKB_DROP_REASON_IP_BAD_IHL);
	assert_int_equal(snmp_fold_ip(IPSTATS_MIB_INHDRERRORS), hdr + 6);
}

static void test_bad_checksum(void **state)
{
	struct net_device *dev = *state;
	uint8_t f[128];
	size_t n = echo_frame(f, PEER(14), OUR_IP);
	uint64_t hdr = snmp_fold_ip(IPSTATS_MIB_INHDRERRORS);
	uint64_t cs = snmp_fold_ip(IPSTATS_MIB_INCSUMERRORS);
	uint64_t dlv = snmp_fold_ip(IPSTATS_MIB_INDELIVERS);

	IPH(f)[10] ^= 0x01;
	expect_drop(dev, f, n, SKB_DROP_REASON_IP_CSUM);
	IPH(f)[10] ^= 0x01;
	IPH(f)[8] = 63; /* TTL changed, checksum not updated */
	expect_drop(dev, f, n, SKB_DROP_REASON_IP_CSUM);
	assert_int_equal(snmp_fold_ip(IPSTATS_MIB_INCSUMERRORS), cs + 2);
	assert_int_equal(snmp_fold_ip(IPSTATS_MIB_INHDRERRORS), hdr + 2);
	assert_int_equal(snmp_fold_ip(IPSTATS_MIB_INDELIVERS), dlv);
}

static void test_total_length_beyond_frame(void **state)
{
	struct net_device *dev = *state;
	uint8_t f[128];
	size_t n = echo_frame(f, PEER(15), OUR_IP);
	uint64_t trunc = snmp_fold_ip(IPSTATS_MIB_INTRUNCATEDPKTS);

	/* The frame lost its last byte on the way. */
	expect_drop(dev, f, n - 1, SKB_DROP_REASON_IP_BAD_TOTLEN);
	/* A total length that is simply too big. */
	IPH(f)[2] = 0x05;
	IPH(f)[3] = 0xdc;
	fb_ipv4_fix_csum(IPH(f));
	expect_drop(dev, f, n, SKB_DROP_REASON_IP_BAD_TOTLEN);
	assert_int_equal(snmp_fold_ip(IPSTATS_MIB_INTRUNCATEDPKTS), trunc + 2);
}

static void test_total_length_below_header(void **state)
{
	struct net_device *dev = *state;
	uint8_t f[128];
	size_t n = echo_frame(f, PEER(16), OUR_IP);
	uint64_t hdr = snmp_fold_ip(IPSTATS_MIB_INHDRERRORS);

	IPH(f)[2] = 0;
	IPH(f)[3] = 19;
	fb_ipv4_fix_csum(IPH(f));
	expect_drop(dev, f, n, SKB_DROP_REASON_IP_BAD_TOTLEN);
	assert_int_equal(snmp_fold_ip(IPSTATS_MIB_INHDRERRORS), hdr + 1);
}

static void test_not_local(void **state)
{
	struct net_device *dev = *state;
	uint8_t f[128];
	size_t n = echo_frame(f, PEER(17), fake_ip(10, 200, 0, 99));
	uint64_t addr = snmp_fold_ip(IPSTATS_MIB_INADDRERRORS);

	expect_drop(dev, f, n, SKB_DROP_REASON_IP_NOT_LOCAL);
	n = echo_frame(f, PEER(17), fake_ip(8, 8, 8, 8));
	expect_drop(dev, f, n, SKB_DROP_REASON_IP_NOT_LOCAL);
	assert_int_equal(snmp_fold_ip(IPSTATS_MIB_INADDRERRORS), addr + 2);
}

static void test_martian_source(void **state)
{
	struct net_device *dev = *state;
	static const uint8_t bad[][4] = {
		{ 127, 0, 0, 1 }, { 127, 1, 2, 3 }, { 224, 0, 0, 1 }, { 239, 255, 255, 250 },
		{ 255, 255, 255, 255 },
	};
	uint64_t addr = snmp_fold_ip(IPSTATS_MIB_INADDRERRORS);
	uint8_t f[128];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		size_t n = echo_frame(f, fake_ip(bad[i][0], bad[i][1], bad[i][2], bad[i][3]),
				      OUR_IP);

		expect_drop(dev, f, n, SKB_DROP_REASON_IP_BAD_SRC);
	}
	assert_int_equal(snmp_fold_ip(IPSTATS_MIB_INADDRERRORS), addr + 5);
}

/* Fragments go to reassembly (test_ip_fragment.c), not to their protocol. */
static void test_fragments_queued(void **state)
{
	struct net_device *dev = *state;
	uint64_t reqds = snmp_fold_ip(IPSTATS_MIB_REASMREQDS);
	uint64_t fails = snmp_fold_ip(IPSTATS_MIB_REASMFAILS);
	uint64_t dlv = snmp_fold_ip(IPSTATS_MIB_INDELIVERS);
	uint8_t f[128];
	size_t n;

	fake_learn_neigh(dev, PEER(18), peer_mac);
	/* One that would end past 65535 bytes is dropped at once. */
	n = echo_frame(f, PEER(18), OUR_IP);
	IPH(f)[6] = 0x1f;
	IPH(f)[7] = 0xff;
	fb_ipv4_fix_csum(IPH(f));
	expect_drop(dev, f, n, SKB_DROP_REASON_IP_FRAG);
	assert_int_equal(ip_frag_queues(), 0);
	/* A first fragment waits for the rest. */
	n = echo_frame(f, PEER(18), OUR_IP);
	IPH(f)[6] = IP_MF >> 8;
	fb_ipv4_fix_csum(IPH(f));
	assert_int_equal(fake_rx(dev, f, n), 0);
	assert_int_equal(fake_tx_count(), 0);
	assert_int_equal(ip_frag_queues(), 1);
	assert_int_equal(snmp_fold_ip(IPSTATS_MIB_INDELIVERS), dlv);
	assert_int_equal(snmp_fold_ip(IPSTATS_MIB_REASMREQDS), reqds + 2);
	assert_int_equal(snmp_fold_ip(IPSTATS_MIB_REASMFAILS), fails + 1);
	ip_frag_flush();

	/* DF alone is not a fragment. */
	n = echo_frame(f, PEER(18), OUR_IP);

	IPH(f)[6] = IP_DF >> 8;
	fb_ipv4_fix_csum(IPH(f));
	assert_int_equal(fake_rx(dev, f, n), 0);
	assert_int_equal(fake_tx_count(), 1);
}

/* RFC 1122 §3.2.2.1: protocol unreachable for an unknown protocol. */
static void test_unknown_protocol(void **state)
{
	struct net_device *dev = *state;
	static const uint8_t payload[12] = "hello world";
	uint64_t unk = snmp_fold_ip(IPSTATS_MIB_INUNKNOWNPROTOS);
	uint64_t unreach = snmp_fold_icmp(ICMP_MIB_OUTDESTUNREACHS);
	uint64_t drops = drop_stats_total(SKB_DROP_REASON_IP_NOPROTO);
	uint8_t f[128], out[256];
	size_t n, m;

	fake_learn_neigh(dev, PEER(19), peer_mac);
	n = fb_ip_frame(f, fake_our_mac, peer_mac, PEER(19), OUR_IP, 253, payload,
			sizeof(payload));
	assert_int_equal(fake_rx(dev, f, n), 0);
	assert_int_equal(drop_stats_total(SKB_DROP_REASON_IP_NOPROTO), drops + 1);
	assert_int_equal(snmp_fold_ip(IPSTATS_MIB_INUNKNOWNPROTOS), unk + 1);
	assert_int_equal(snmp_fold_icmp(ICMP_MIB_OUTDESTUNREACHS), unreach + 1);

	assert_int_equal(fake_tx_count(), 1);
	m = fake_tx_pop_frame(out, sizeof(out));
	assert_memory_equal(out, peer_mac, 6);
	assert_memory_equal(out + 6, fake_our_mac, 6);
	assert_int_equal(out[12] << 8 | out[13], ETH_P_IP);
	assert_int_equal(fake_csum(IPH(out), IP_MIN_HLEN), 0);
	assert_int_equal(IPH(out)[9], IPPROTO_ICMP_NS);
	assert_memory_equal(IPH(out) + 12, &(uint32_t){ OUR_IP }, 4);
	assert_memory_equal(IPH(out) + 16, &(uint32_t){ PEER(19) }, 4);
	assert_int_equal(IPH(out)[2] << 8 | IPH(out)[3], m - ETH_HLEN);
	/* Type 3 code 2, and it quotes the offending datagram whole. */
	assert_int_equal(L4(out)[0], ICMP_DEST_UNREACH);
	assert_int_equal(L4(out)[1], ICMP_PROT_UNREACH);
	assert_int_equal(fake_csum(L4(out), m - ETH_HLEN - IP_MIN_HLEN), 0);
	assert_int_equal(m, ETH_HLEN + IP_MIN_HLEN + ICMP_HLEN + (n - ETH_HLEN));
	assert_memory_equal(L4(out) + ICMP_HLEN, IPH(f), n - ETH_HLEN);
}

/* No ICMP error about a broadcast (RFC 1122 §3.2.2). */
static void test_unknown_protocol_broadcast_no_error(void **state)
{
	struct net_device *dev = *state;
	uint64_t unk = snmp_fold_ip(IPSTATS_MIB_INUNKNOWNPROTOS);
	uint8_t f[128];
	size_t n;

	fake_learn_neigh(dev, PEER(20), peer_mac);
	n = fb_ip_frame(f, bcast_mac, peer_mac, PEER(20), fake_ip(10, 200, 0, 255), 253, "x", 1);
	expect_drop(dev, f, n, SKB_DROP_REASON_IP_NOPROTO);
	n = fb_ip_frame(f, bcast_mac, peer_mac, PEER(20), fake_ip(255, 255, 255, 255), 253, "x", 1);
	expect_drop(dev, f, n, SKB_DROP_REASON_IP_NOPROTO);
	assert_int_equal(snmp_fold_ip(IPSTATS_MIB_INUNKNOWNPROTOS), unk + 2);
}

static void test_ethernet_too_small(void **state)
{
	struct net_device *dev = *state;
	uint8_t f[128];

	echo_frame(f, PEER(21), OUR_IP);
	assert_int_equal(fake_rx(dev, f, 10), SKB_DROP_REASON_PKT_TOO_SMALL);
	assert_int_equal(fake_rx(dev, f, ETH_HLEN - 1), SKB_DROP_REASON_PKT_TOO_SMALL);
	assert_int_equal(fake_tx_count(), 0);
}

static void test_unhandled_ethertype(void **state)
{
	struct net_device *dev = *state;
	uint8_t f[128];
	size_t n = echo_frame(f, PEER(22), OUR_IP);
	uint64_t rcv = snmp_fold_ip(IPSTATS_MIB_INRECEIVES);

	f[12] = 0x88;
	f[13] = 0xb5;
	expect_drop(dev, f, n, SKB_DROP_REASON_UNHANDLED_PROTO);
	f[12] = 0x86;
	f[13] = 0xdd;
	expect_drop(dev, f, n, SKB_DROP_REASON_UNHANDLED_PROTO);
	assert_int_equal(snmp_fold_ip(IPSTATS_MIB_INRECEIVES), rcv);
}

static void test_other_host(void **state)
{
	struct net_device *dev = *state;
	uint8_t f[128];
	size_t n = fb_echo_frame(f, other_mac, peer_mac, PEER(23), OUR_IP, 1, 1, 8);
	uint64_t rcv = snmp_fold_ip(IPSTATS_MIB_INRECEIVES);

	fake_learn_neigh(dev, PEER(23), peer_mac);
	expect_drop(dev, f, n, SKB_DROP_REASON_OTHERHOST);
	assert_int_equal(snmp_fold_ip(IPSTATS_MIB_INRECEIVES), rcv);
}

/* Ethernet pads short frames to 60 bytes; IP must cut the padding off. */
static void test_ethernet_padding_trimmed(void **state)
{
	struct net_device *dev = *state;
	uint8_t f[ETH_ZLEN], out[128];
	size_t n, m;

	fake_learn_neigh(dev, PEER(24), peer_mac);
	n = fb_echo_frame(f, fake_our_mac, peer_mac, PEER(24), OUR_IP, 7, 9, 0);
	assert_int_equal(n, ETH_HLEN + 28);
	/* Non-zero padding would break the ICMP checksum if it were kept. */
	memset(f + n, 0xa5, ETH_ZLEN - n);
	assert_int_equal(fake_rx(dev, f, ETH_ZLEN), 0);
	assert_int_equal(fake_tx_count(), 1);
	m = fake_tx_pop_frame(out, sizeof(out));
	assert_int_equal(m, n);
	assert_int_equal(IPH(out)[2] << 8 | IPH(out)[3], 28);
	assert_int_equal(L4(out)[0], ICMP_ECHOREPLY);
}

/* RFC 1122 §3.2.1.7: a host must not drop a datagram for us with a low TTL. */
static void test_low_ttl_accepted(void **state)
{
	struct net_device *dev = *state;
	uint8_t f[128];
	size_t n;

	fake_learn_neigh(dev, PEER(25), peer_mac);
	for (uint8_t ttl = 0; ttl < 2; ttl++) {
		n = echo_frame(f, PEER(25), OUR_IP);
		IPH(f)[8] = ttl;
		fb_ipv4_fix_csum(IPH(f));
		assert_int_equal(fake_rx(dev, f, n), 0);
	}
	assert_int_equal(fake_tx_count(), 2);
}

/* A header with options (IHL 6) is accepted and the options are skipped. */
static void test_ip_options_skipped(void **state)
{
	struct net_device *dev = *state;
	uint8_t plain[128], f[128], out[128];
	size_t n = echo_frame(plain, PEER(26), OUR_IP), m;

	fake_learn_neigh(dev, PEER(26), peer_mac);
	/* Insert 4 bytes of NOP options after the fixed header. */
	memcpy(f, plain, ETH_HLEN + IP_MIN_HLEN);
	memset(f + ETH_HLEN + IP_MIN_HLEN, 1, 4);
	memcpy(f + ETH_HLEN + IP_MIN_HLEN + 4, L4(plain), n - ETH_HLEN - IP_MIN_HLEN);
	IPH(f)[0] = 0x46;
	IPH(f)[3] = (uint8_t)(IPH(f)[3] + 4);
	fb_ipv4_fix_csum(IPH(f));
	assert_int_equal(fake_rx(dev, f, n + 4), 0);
	assert_int_equal(fake_tx_count(), 1);
	m = fake_tx_pop_frame(out, sizeof(out));
	/* The reply is a plain 20-byte header with the same ICMP data. */
	assert_int_equal(m, n);
	assert_int_equal(IPH(out)[0], 0x45);
	assert_memory_equal(L4(out) + 4, L4(plain) + 4, n - ETH_HLEN - IP_MIN_HLEN - 4);
}

static void test_limited_broadcast_accepted(void **state)
{
	struct net_device *dev = *state;
	uint64_t bc = snmp_fold_ip(IPSTATS_MIB_INBCASTPKTS);
	uint64_t dlv = snmp_fold_ip(IPSTATS_MIB_INDELIVERS);
	uint8_t f[128];
	size_t n = fb_echo_frame(f, bcast_mac, peer_mac, PEER(27), fake_ip(255, 255, 255, 255),
				 1, 1, 8);

	assert_int_equal(fake_rx(dev, f, n), 0);
	assert_int_equal(snmp_fold_ip(IPSTATS_MIB_INBCASTPKTS), bc + 1);
	assert_int_equal(snmp_fold_ip(IPSTATS_MIB_INDELIVERS), dlv + 1);
	/* Echo to broadcast is ignored by default. */
	assert_int_equal(fake_tx_count(), 0);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, fake_test_setup, fake_test_teardown)
	const struct CMUnitTest tests[] = {
		T(test_valid_datagram_is_delivered),
		T(test_truncated),
		T(test_bad_version),
		T(test_bad_ihl),
		T(test_bad_checksum),
		T(test_total_length_beyond_frame),
		T(test_total_length_below_header),
		T(test_not_local),
		T(test_martian_source),
		T(test_fragments_queued),
		T(test_unknown_protocol),
		T(test_unknown_protocol_broadcast_no_error),
		T(test_ethernet_too_small),
		T(test_unhandled_ethertype),
		T(test_other_host),
		T(test_ethernet_padding_trimmed),
		T(test_low_ttl_accepted),
		T(test_ip_options_skipped),
		T(test_limited_broadcast_accepted),
	};
#undef T

	return cmocka_run_group_tests_name("net/ip_input", tests, fake_stack_setup,
					   fake_stack_teardown);
}
