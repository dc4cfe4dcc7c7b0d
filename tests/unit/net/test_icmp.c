/*
 * Unit tests for daemon/net/ipv4/icmp.c: echo (RFC 792), the sysctls that
 * silence it, validation of received messages and the rate limit on
 * errors (RFC 1122 §3.2.2), through the whole receive and transmit path
 * of a fake Ethernet device at 10.200.0.2/24.
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
#include "core/sysctl.h"
#include "net/ipv4/snmp.h"
#include "net/wire/arp.h"
#include "net/wire/ether.h"
#include "net/wire/icmp.h"
#include "net/wire/ip.h"

#include "../fakes.h"

static const uint8_t bcast_mac[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

#define OUR_IP htonl(FAKE_OUR_IP_HOST)
#define PEER(n) fake_ip(10, 200, 0, (uint8_t)(10 + (n))) /* never our .2 */
#define IPH(f) ((f) + ETH_HLEN)
#define L4(f) ((f) + ETH_HLEN + IP_MIN_HLEN)

/*
 * A ping from 10.200.0.1 (02:00:00:00:00:01) to 10.200.0.2 as Linux
 * iputils sends it: DF set, TTL 64, id 0x1c46, seq 1, 56 data bytes (a
 * struct timeval then 0x10..0x37).
 */
static const uint8_t ping_peer_mac[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x01 };
#define PING_PEER_IP fake_ip(10, 200, 0, 1)
static const uint8_t ping_request[98] = {
	0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x02, 0x00,
	0x00, 0x00, 0x00, 0x01, 0x08, 0x00, 0x45, 0x00,
	0x00, 0x54, 0x4d, 0x2e, 0x40, 0x00, 0x40, 0x01,
	0xd7, 0xe8, 0x0a, 0xc8, 0x00, 0x01, 0x0a, 0xc8,
	0x00, 0x02, 0x08, 0x00, 0xc7, 0xfd, 0x1c, 0x46,
	0x00, 0x01, 0x8f, 0x2e, 0x7e, 0x67, 0x00, 0x00,
	0x00, 0x00, 0x3c, 0x52, 0x0b, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15,
	0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d,
	0x1e, 0x1f, 0x20, 0x21, 0x22, 0x23, 0x24, 0x25,
	0x26, 0x27, 0x28, 0x29, 0x2a, 0x2b, 0x2c, 0x2d,
	0x2e, 0x2f, 0x30, 0x31, 0x32, 0x33, 0x34, 0x35,
	0x36, 0x37,
};

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void set_sysctl(const char *name, const char *value)
{
	char err[128];

	assert_int_equal(sysctl_set(name, value, err, sizeof(err)), 0);
}

/*
 * Check that @rep (@replen bytes) is a well-formed echo reply to the echo
 * request @req (@reqlen bytes): Ethernet back to the sender, addresses
 * swapped, TTL 64, both checksums valid, same id, sequence and data.
 */
static void assert_echo_reply(const uint8_t *rep, size_t replen, const uint8_t *req,
			      size_t reqlen, uint32_t expect_src)
{
	size_t icmplen = reqlen - ETH_HLEN - IP_MIN_HLEN;

	assert_int_equal(replen, reqlen);
	assert_memory_equal(rep, req + 6, 6);            /* to the requester's MAC */
	assert_memory_equal(rep + 6, fake_our_mac, 6);
	assert_int_equal(get16(rep + 12), ETH_P_IP);
	assert_int_equal(IPH(rep)[0], 0x45);
	assert_int_equal(get16(IPH(rep) + 2), reqlen - ETH_HLEN);
	assert_int_equal(get16(IPH(rep) + 6) & 0x3fff, 0); /* not a fragment */
	assert_int_equal(IPH(rep)[8], 64);
	assert_int_equal(IPH(rep)[9], IPPROTO_ICMP_NS);
	assert_int_equal(fake_csum(IPH(rep), IP_MIN_HLEN), 0);
	assert_memory_equal(IPH(rep) + 12, &expect_src, 4);
	assert_memory_equal(IPH(rep) + 16, IPH(req) + 12, 4);
	assert_int_equal(L4(rep)[0], ICMP_ECHOREPLY);
	assert_int_equal(L4(rep)[1], 0);
	assert_int_equal(fake_csum(L4(rep), icmplen), 0);
	assert_memory_equal(L4(rep) + 4, L4(req) + 4, icmplen - 4); /* id, seq, data */
}

static void test_fixture_is_valid(void **state)
{
	(void)state;
	assert_int_equal(fake_csum(IPH(ping_request), IP_MIN_HLEN), 0);
	assert_int_equal(fake_csum(L4(ping_request), sizeof(ping_request) - 34), 0);
}

static void test_echo_reply_to_ping(void **state)
{
	struct net_device *dev = *state;
	uint64_t in_echos = snmp_fold_icmp(ICMP_MIB_INECHOS);
	uint64_t out_reps = snmp_fold_icmp(ICMP_MIB_OUTECHOREPS);
	uint64_t in_msgs = snmp_fold_icmp(ICMP_MIB_INMSGS);
	uint64_t out_msgs = snmp_fold_icmp(ICMP_MIB_OUTMSGS);
	uint64_t in8 = snmp_fold_icmp_type(0, ICMP_ECHO);
	uint64_t out0 = snmp_fold_icmp_type(1, ICMP_ECHOREPLY);
	uint64_t out_req = snmp_fold_ip(IPSTATS_MIB_OUTREQUESTS);
	uint8_t rep[256];
	size_t n;

	fake_learn_neigh(dev, PING_PEER_IP, ping_peer_mac);
	assert_int_equal(fake_rx(dev, ping_request, sizeof(ping_request)), 0);
	assert_int_equal(fake_tx_count(), 1);
	n = fake_tx_pop_frame(rep, sizeof(rep));
	assert_echo_reply(rep, n, ping_request, sizeof(ping_request), OUR_IP);
	assert_int_equal(get16(L4(rep) + 4), 0x1c46);
	assert_int_equal(get16(L4(rep) + 6), 1);
	assert_int_equal(snmp_fold_icmp(ICMP_MIB_INECHOS), in_echos + 1);
	assert_int_equal(snmp_fold_icmp(ICMP_MIB_OUTECHOREPS), out_reps + 1);
	assert_int_equal(snmp_fold_icmp(ICMP_MIB_INMSGS), in_msgs + 1);
	assert_int_equal(snmp_fold_icmp(ICMP_MIB_OUTMSGS), out_msgs + 1);
	assert_int_equal(snmp_fold_icmp_type(0, ICMP_ECHO), in8 + 1);
	assert_int_equal(snmp_fold_icmp_type(1, ICMP_ECHOREPLY), out0 + 1);
	assert_int_equal(snmp_fold_ip(IPSTATS_MIB_OUTREQUESTS), out_req + 1);
}

/* The TTL of replies follows net.ipv4.ip_default_ttl. */
static void test_echo_reply_ttl_sysctl(void **state)
{
	struct net_device *dev = *state;
	uint8_t rep[256];

	set_sysctl("net.ipv4.ip_default_ttl", "200");
	fake_learn_neigh(dev, PING_PEER_IP, ping_peer_mac);
	assert_int_equal(fake_rx(dev, ping_request, sizeof(ping_request)), 0);
	fake_tx_pop_frame(rep, sizeof(rep));
	assert_int_equal(IPH(rep)[8], 200);
	assert_int_equal(fake_csum(IPH(rep), IP_MIN_HLEN), 0);
}

/* With the neighbour unknown, the reply waits for ARP, then goes out. */
static void test_echo_reply_waits_for_arp(void **state)
{
	struct net_device *dev = *state;
	uint8_t f[256], rep[256], arp[64];
	size_t n = fb_echo_frame(f, fake_our_mac, ping_peer_mac, PEER(2), OUR_IP, 77, 5, 32);
	size_t m;

	assert_int_equal(fake_rx(dev, f, n), 0);
	/* Only a broadcast "who-has the peer? tell 10.200.0.2" so far. */
	assert_int_equal(fake_tx_count(), 1);
	m = fake_tx_pop_frame(arp, sizeof(arp));
	assert_int_equal(m, ETH_HLEN + 28);
	assert_memory_equal(arp, bcast_mac, 6);
	assert_int_equal(get16(arp + 12), ETH_P_ARP);
	assert_int_equal(get16(arp + ETH_HLEN + 6), ARPOP_REQUEST);
	assert_memory_equal(arp + ETH_HLEN + 8, fake_our_mac, 6);
	assert_memory_equal(arp + ETH_HLEN + 14, &(uint32_t){ OUR_IP }, 4);
	assert_memory_equal(arp + ETH_HLEN + 24, &(uint32_t){ PEER(2) }, 4);

	/* The peer answers; the queued echo reply leaves. */
	m = fb_arp_frame(arp, fake_our_mac, ARPOP_REPLY, ping_peer_mac, PEER(2), fake_our_mac,
			 OUR_IP);
	assert_int_equal(fake_rx(dev, arp, m), 0);
	assert_int_equal(fake_tx_count(), 1);
	m = fake_tx_pop_frame(rep, sizeof(rep));
	assert_echo_reply(rep, m, f, n, OUR_IP);
}

static void test_bad_icmp_checksum(void **state)
{
	struct net_device *dev = *state;
	uint64_t cs = snmp_fold_icmp(ICMP_MIB_INCSUMERRORS);
	uint64_t err = snmp_fold_icmp(ICMP_MIB_INERRORS);
	uint64_t echos = snmp_fold_icmp(ICMP_MIB_INECHOS);
	uint64_t drops = drop_stats_total(SKB_DROP_REASON_ICMP_CSUM);
	uint8_t f[128];

	fake_learn_neigh(dev, PING_PEER_IP, ping_peer_mac);
	memcpy(f, ping_request, sizeof(ping_request));
	f[sizeof(ping_request) - 1] ^= 0xff; /* a data byte, not the checksum */
	assert_int_equal(fake_rx(dev, f, sizeof(ping_request)), 0);
	assert_int_equal(drop_stats_total(SKB_DROP_REASON_ICMP_CSUM), drops + 1);
	assert_int_equal(snmp_fold_icmp(ICMP_MIB_INCSUMERRORS), cs + 1);
	assert_int_equal(snmp_fold_icmp(ICMP_MIB_INERRORS), err + 1);
	assert_int_equal(snmp_fold_icmp(ICMP_MIB_INECHOS), echos);
	assert_int_equal(fake_tx_count(), 0);
}

static void test_icmp_truncated(void **state)
{
	struct net_device *dev = *state;
	uint64_t err = snmp_fold_icmp(ICMP_MIB_INERRORS);
	uint64_t drops = drop_stats_total(SKB_DROP_REASON_ICMP_TRUNCATED);
	uint8_t f[64];

	fake_learn_neigh(dev, PEER(3), ping_peer_mac);
	for (size_t len = 0; len < ICMP_HLEN; len++) {
		size_t n = fb_ip_frame(f, fake_our_mac, ping_peer_mac, PEER(3), OUR_IP,
				       IPPROTO_ICMP_NS, "\x08\x00\xf7\xff\x00\x00\x00", len);

		assert_int_equal(fake_rx(dev, f, n), 0);
	}
	assert_int_equal(drop_stats_total(SKB_DROP_REASON_ICMP_TRUNCATED), drops + ICMP_HLEN);
	assert_int_equal(snmp_fold_icmp(ICMP_MIB_INERRORS), err + ICMP_HLEN);
	assert_int_equal(fake_tx_count(), 0);
}

/* Echo to the subnet broadcast: ignored by default (smurf), answered if allowed. */
static void test_echo_to_broadcast(void **state)
{
	struct net_device *dev = *state;
	uint64_t echos = snmp_fold_icmp(ICMP_MIB_INECHOS);
	uint8_t f[128], rep[128];
	size_t n = fb_echo_frame(f, bcast_mac, ping_peer_mac, PEER(4), fake_ip(10, 200, 0, 255),
				 9, 9, 20);
	size_t m;

	fake_learn_neigh(dev, PEER(4), ping_peer_mac);
	assert_int_equal(fake_rx(dev, f, n), 0);
	assert_int_equal(fake_tx_count(), 0);
	assert_int_equal(snmp_fold_icmp(ICMP_MIB_INECHOS), echos + 1);

	set_sysctl("net.ipv4.icmp_echo_ignore_broadcasts", "0");
	assert_int_equal(fake_rx(dev, f, n), 0);
	assert_int_equal(fake_tx_count(), 1);
	m = fake_tx_pop_frame(rep, sizeof(rep));
	/* The reply comes from our own address, never from the broadcast one. */
	assert_echo_reply(rep, m, f, n, OUR_IP);
}

static void test_echo_ignore_all(void **state)
{
	struct net_device *dev = *state;
	uint64_t echos = snmp_fold_icmp(ICMP_MIB_INECHOS);
	uint64_t reps = snmp_fold_icmp(ICMP_MIB_OUTECHOREPS);

	fake_learn_neigh(dev, PING_PEER_IP, ping_peer_mac);
	set_sysctl("net.ipv4.icmp_echo_ignore_all", "1");
	assert_int_equal(fake_rx(dev, ping_request, sizeof(ping_request)), 0);
	assert_int_equal(fake_tx_count(), 0);
	assert_int_equal(snmp_fold_icmp(ICMP_MIB_INECHOS), echos + 1);
	assert_int_equal(snmp_fold_icmp(ICMP_MIB_OUTECHOREPS), reps);
	set_sysctl("net.ipv4.icmp_echo_ignore_all", "0");
	assert_int_equal(fake_rx(dev, ping_request, sizeof(ping_request)), 0);
	assert_int_equal(fake_tx_count(), 1);
}

static void test_echo_reply_received(void **state)
{
	struct net_device *dev = *state;
	uint64_t reps = snmp_fold_icmp(ICMP_MIB_INECHOREPS);
	uint8_t icmp[16], f[128];
	size_t n = fb_icmp_echo(icmp, ICMP_ECHOREPLY, 1, 2, "abcdefgh", 8);

	n = fb_ip_frame(f, fake_our_mac, ping_peer_mac, PEER(5), OUR_IP, IPPROTO_ICMP_NS, icmp, n);
	assert_int_equal(fake_rx(dev, f, n), 0);
	assert_int_equal(snmp_fold_icmp(ICMP_MIB_INECHOREPS), reps + 1);
	assert_int_equal(fake_tx_count(), 0);
}

/* RFC 1122 §3.2.2: unknown types are silently discarded. */
static void test_unknown_type(void **state)
{
	struct net_device *dev = *state;
	uint64_t drops = drop_stats_total(SKB_DROP_REASON_ICMP_TYPE);
	uint64_t in42 = snmp_fold_icmp_type(0, 42);
	uint8_t icmp[16], f[128];
	size_t n = fb_icmp_echo(icmp, 42, 1, 2, NULL, 0);

	n = fb_ip_frame(f, fake_our_mac, ping_peer_mac, PEER(6), OUR_IP, IPPROTO_ICMP_NS, icmp, n);
	assert_int_equal(fake_rx(dev, f, n), 0);
	assert_int_equal(drop_stats_total(SKB_DROP_REASON_ICMP_TYPE), drops + 1);
	assert_int_equal(snmp_fold_icmp_type(0, 42), in42 + 1);
	assert_int_equal(fake_tx_count(), 0);
}

/* A destination unreachable too short to quote a header is an error. */
static void test_dest_unreach_truncated(void **state)
{
	struct net_device *dev = *state;
	uint64_t du = snmp_fold_icmp(ICMP_MIB_INDESTUNREACHS);
	uint64_t drops = drop_stats_total(SKB_DROP_REASON_ICMP_TRUNCATED);
	uint8_t icmp[64], f[128];
	size_t n;

	memset(icmp, 0, sizeof(icmp));
	icmp[0] = ICMP_DEST_UNREACH;
	icmp[1] = ICMP_PORT_UNREACH;
	icmp[2] = (uint8_t)(fake_csum(icmp, 16) >> 8);
	icmp[3] = (uint8_t)fake_csum(icmp, 16);
	n = fb_ip_frame(f, fake_our_mac, ping_peer_mac, PEER(7), OUR_IP, IPPROTO_ICMP_NS, icmp, 16);
	assert_int_equal(fake_rx(dev, f, n), 0);
	assert_int_equal(snmp_fold_icmp(ICMP_MIB_INDESTUNREACHS), du + 1);
	assert_int_equal(drop_stats_total(SKB_DROP_REASON_ICMP_TRUNCATED), drops + 1);

	/* A complete one (quoting an IPv4 header and 8 bytes) is consumed quietly. */
	memset(icmp, 0, sizeof(icmp));
	icmp[0] = ICMP_DEST_UNREACH;
	icmp[1] = ICMP_PORT_UNREACH;
	fb_ipv4(icmp + ICMP_HLEN, OUR_IP, PEER(7), IPPROTO_UDP_NS, 8);
	icmp[2] = (uint8_t)(fake_csum(icmp, 36) >> 8);
	icmp[3] = (uint8_t)fake_csum(icmp, 36);
	n = fb_ip_frame(f, fake_our_mac, ping_peer_mac, PEER(7), OUR_IP, IPPROTO_ICMP_NS, icmp, 36);
	assert_int_equal(fake_rx(dev, f, n), 0);
	assert_int_equal(drop_stats_total(SKB_DROP_REASON_ICMP_TRUNCATED), drops + 1);
	assert_int_equal(snmp_fold_icmp(ICMP_MIB_INDESTUNREACHS), du + 2);
	assert_int_equal(fake_tx_count(), 0);
}

/*
 * Errors to one destination are limited by net.ipv4.icmp_ratelimit: a
 * burst of 6 (as the kernel's XRLIM_BURST_FACTOR), then one per interval.
 */
static void test_error_rate_limit(void **state)
{
	struct net_device *dev = *state;
	uint64_t limited = snmp_fold_icmp(ICMP_MIB_OUTRATELIMITHOST);
	uint64_t drops = drop_stats_total(SKB_DROP_REASON_ICMP_RATELIMIT);
	uint8_t f[128];
	size_t n = fb_ip_frame(f, fake_our_mac, ping_peer_mac, PEER(8), OUR_IP, 253, "x", 1);

	fake_learn_neigh(dev, PEER(8), ping_peer_mac);
	for (int i = 0; i < 7; i++)
		assert_int_equal(fake_rx(dev, f, n), 0);
	assert_int_equal(fake_tx_count(), 6);
	assert_int_equal(snmp_fold_icmp(ICMP_MIB_OUTRATELIMITHOST), limited + 1);
	assert_int_equal(drop_stats_total(SKB_DROP_REASON_ICMP_RATELIMIT), drops + 1);

	/* Echo replies are not rate limited. */
	fake_tx_purge();
	for (int i = 0; i < 5; i++) {
		size_t m = fb_echo_frame(f, fake_our_mac, ping_peer_mac, PEER(8), OUR_IP, 1,
					 (uint16_t)i, 8);

		assert_int_equal(fake_rx(dev, f, m), 0);
	}
	assert_int_equal(fake_tx_count(), 5);

	/* 0 turns the per-destination limit off. */
	fake_tx_purge();
	set_sysctl("net.ipv4.icmp_ratelimit", "0");
	n = fb_ip_frame(f, fake_our_mac, ping_peer_mac, PEER(8), OUR_IP, 253, "x", 1);
	assert_int_equal(fake_rx(dev, f, n), 0);
	assert_int_equal(fake_rx(dev, f, n), 0);
	assert_int_equal(fake_tx_count(), 2);
}

/* The global token bucket: icmp_msgs_burst errors, then silence. */
static void test_error_burst_limit(void **state)
{
	struct net_device *dev = *state;
	uint8_t f[128];

	set_sysctl("net.ipv4.icmp_ratelimit", "0");
	set_sysctl("net.ipv4.icmp_msgs_per_sec", "1");
	set_sysctl("net.ipv4.icmp_msgs_burst", "3");
	fake_learn_neigh(dev, PEER(9), ping_peer_mac);
	for (int i = 0; i < 10; i++) {
		size_t n = fb_ip_frame(f, fake_our_mac, ping_peer_mac, PEER(9), OUR_IP, 253, "y", 1);

		assert_int_equal(fake_rx(dev, f, n), 0);
	}
	assert_true(fake_tx_count() >= 1);
	assert_true(fake_tx_count() <= 4);
}

/*
 * A reply to a down device is a counted drop, not a leak; one the driver
 * is too busy to take waits in the qdisc and leaves when it has room.
 */
static void test_reply_on_down_or_busy_device(void **state)
{
	struct net_device *dev = *state;
	uint64_t ready = drop_stats_total(SKB_DROP_REASON_DEV_READY);
	uint64_t txerr = drop_stats_total(SKB_DROP_REASON_TX_ERROR);
	struct rtnl_link_stats64_ns st0, st1;

	fake_learn_neigh(dev, PING_PEER_IP, ping_peer_mac);
	dev_get_stats(dev, &st0);
	dev_close(dev);
	assert_int_equal(fake_rx(dev, ping_request, sizeof(ping_request)), 0);
	assert_int_equal(dev_open(dev), 0);
	assert_int_equal(drop_stats_total(SKB_DROP_REASON_DEV_READY), ready + 1);

	fake_tx_set_busy(true);
	assert_int_equal(fake_rx(dev, ping_request, sizeof(ping_request)), 0);
	assert_int_equal(fake_tx_count(), 0);
	assert_int_equal(ns_counter_read(&dev->tx[0].qdisc.qlen), 1);
	fake_tx_set_busy(false);
	assert_int_equal(ns_counter_read(&dev->tx[0].qdisc.qlen), 0);
	assert_int_equal(fake_tx_count(), 1);
	fake_tx_purge();
	assert_int_equal(drop_stats_total(SKB_DROP_REASON_TX_ERROR), txerr);
	dev_get_stats(dev, &st1);
	assert_int_equal(st1.tx_dropped, st0.tx_dropped + 1);
	assert_int_equal(fake_pool_in_use(), 0);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, fake_test_setup, fake_test_teardown)
	const struct CMUnitTest tests[] = {
		T(test_fixture_is_valid),
		T(test_echo_reply_to_ping),
		T(test_echo_reply_ttl_sysctl),
		T(test_echo_reply_waits_for_arp),
		T(test_bad_icmp_checksum),
		T(test_icmp_truncated),
		T(test_echo_to_broadcast),
		T(test_echo_ignore_all),
		T(test_echo_reply_received),
		T(test_unknown_type),
		T(test_dest_unreach_truncated),
		T(test_error_rate_limit),
		T(test_error_burst_limit),
		T(test_reply_on_down_or_busy_device),
	};
#undef T

	return cmocka_run_group_tests_name("net/icmp", tests, fake_stack_setup,
					   fake_stack_teardown);
}
