/*
 * Unit tests for daemon/net/ipv4/arp.c (RFC 826, RFC 5227 probes): arp_rcv
 * validation, answers to requests for our address, and what ARP teaches
 * the neighbour cache.  A fake Ethernet device at 10.200.0.2/24.
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
#include "net/core/neighbour.h"
#include "net/ipv4/arp.h"
#include "net/ipv4/snmp.h"
#include "net/wire/arp.h"
#include "net/wire/ether.h"

#include "../fakes.h"

static const uint8_t bcast_mac[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
static const uint8_t zero_mac[6];
static const uint8_t peer_mac[6] = { 0x02, 0x00, 0x00, 0x00, 0x02, 0x01 };
static const uint8_t peer_mac2[6] = { 0x02, 0x00, 0x00, 0x00, 0x02, 0x02 };
static const uint8_t other_mac[6] = { 0x02, 0x00, 0x00, 0x00, 0x09, 0x09 };

#define OUR_IP htonl(FAKE_OUR_IP_HOST)
#define PEER(n) fake_ip(10, 200, 0, (uint8_t)(10 + (n))) /* never our .2 */
#define ARP(f) ((f) + ETH_HLEN)

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* The neighbour entry for @ip, or false if there is none. */
static bool find_neigh(uint32_t ip, struct neigh_info *out)
{
	struct neigh_info all[64];
	unsigned int n = neigh_dump(all, 64);

	for (unsigned int i = 0; i < n; i++) {
		if (all[i].ip == ip) {
			*out = all[i];
			return true;
		}
	}
	return false;
}

static void expect_drop(struct net_device *dev, const uint8_t *frame, size_t len,
			enum skb_drop_reason reason)
{
	uint64_t before = drop_stats_total(reason);

	assert_int_equal(fake_rx(dev, frame, len), 0);
	assert_int_equal(drop_stats_total(reason), before + 1);
	assert_int_equal(fake_tx_count(), 0);
	assert_int_equal(neigh_count(), 0);
}

static void test_request_for_us_is_answered(void **state)
{
	struct net_device *dev = *state;
	uint64_t inreq = snmp_fold_arp(ARP_MIB_INREQUESTS);
	uint64_t outrep = snmp_fold_arp(ARP_MIB_OUTREPLIES);
	struct neigh_info ni;
	uint8_t f[64], out[64];
	size_t n = fb_arp_frame(f, bcast_mac, ARPOP_REQUEST, peer_mac, PEER(1), zero_mac, OUR_IP);

	assert_int_equal(fake_rx(dev, f, n), 0);
	assert_int_equal(fake_tx_count(), 1);
	n = fake_tx_pop_frame(out, sizeof(out));
	assert_true(n >= ETH_HLEN + 28);
	assert_memory_equal(out, peer_mac, 6);
	assert_memory_equal(out + 6, fake_our_mac, 6);
	assert_int_equal(get16(out + 12), ETH_P_ARP);
	assert_int_equal(get16(ARP(out)), ARPHRD_ETHER);
	assert_int_equal(get16(ARP(out) + 2), ETH_P_IP);
	assert_int_equal(ARP(out)[4], 6);
	assert_int_equal(ARP(out)[5], 4);
	assert_int_equal(get16(ARP(out) + 6), ARPOP_REPLY);
	assert_memory_equal(ARP(out) + 8, fake_our_mac, 6);               /* sha */
	assert_memory_equal(ARP(out) + 14, &(uint32_t){ OUR_IP }, 4);     /* sip */
	assert_memory_equal(ARP(out) + 18, peer_mac, 6);                  /* tha */
	assert_memory_equal(ARP(out) + 24, &(uint32_t){ PEER(1) }, 4);    /* tip */
	assert_int_equal(snmp_fold_arp(ARP_MIB_INREQUESTS), inreq + 1);
	assert_int_equal(snmp_fold_arp(ARP_MIB_OUTREPLIES), outrep + 1);

	/* The requester is learned, unconfirmed. */
	assert_true(find_neigh(PEER(1), &ni));
	assert_int_equal(ni.nud_state, NUD_STALE);
	assert_true(ni.has_lladdr);
	assert_memory_equal(ni.lladdr, peer_mac, 6);
	assert_int_equal(ni.ifindex, dev->ifindex);
	assert_string_equal(neigh_state_name(ni.nud_state), "STALE");
}

/* A unicast request (a kernel reconfirming us) is answered the same way. */
static void test_unicast_request_answered(void **state)
{
	struct net_device *dev = *state;
	uint8_t f[64], out[64];
	size_t n = fb_arp_frame(f, fake_our_mac, ARPOP_REQUEST, peer_mac, PEER(2), fake_our_mac,
				OUR_IP);

	assert_int_equal(fake_rx(dev, f, n), 0);
	assert_int_equal(fake_tx_count(), 1);
	fake_tx_pop_frame(out, sizeof(out));
	assert_int_equal(get16(ARP(out) + 6), ARPOP_REPLY);
	assert_memory_equal(out, peer_mac, 6);
}

static void test_request_for_other_address(void **state)
{
	struct net_device *dev = *state;
	uint64_t notforus = snmp_fold_arp(ARP_MIB_NOTFORUS);
	struct neigh_info ni;
	uint8_t f[64];
	size_t n = fb_arp_frame(f, bcast_mac, ARPOP_REQUEST, peer_mac, PEER(3), zero_mac, PEER(4));

	assert_int_equal(fake_rx(dev, f, n), 0);
	assert_int_equal(fake_tx_count(), 0);
	/* Overheard requests do not create entries. */
	assert_false(find_neigh(PEER(3), &ni));
	assert_int_equal(snmp_fold_arp(ARP_MIB_NOTFORUS), notforus + 1);
}

static void test_bad_header(void **state)
{
	struct net_device *dev = *state;
	uint8_t f[64];
	size_t n;

	/* hrd, pro, hln, pln in turn. */
	for (int field = 0; field < 4; field++) {
		n = fb_arp_frame(f, bcast_mac, ARPOP_REQUEST, peer_mac, PEER(5), zero_mac, OUR_IP);
		switch (field) {
		case 0: ARP(f)[1] = 6; break;           /* IEEE 802 */
		case 1: ARP(f)[2] = 0x86; ARP(f)[3] = 0xdd; break;
		case 2: ARP(f)[4] = 8; break;
		case 3: ARP(f)[5] = 16; break;
		}
		expect_drop(dev, f, n, SKB_DROP_REASON_ARP_BAD_HDR);
	}
}

static void test_truncated(void **state)
{
	struct net_device *dev = *state;
	uint8_t f[64];
	size_t n = fb_arp_frame(f, bcast_mac, ARPOP_REQUEST, peer_mac, PEER(6), zero_mac, OUR_IP);

	assert_int_equal(n, ETH_HLEN + 28);
	/* Shorter than the fixed header, then shorter than the addresses. */
	expect_drop(dev, f, ETH_HLEN, SKB_DROP_REASON_ARP_TRUNCATED);
	expect_drop(dev, f, ETH_HLEN + 7, SKB_DROP_REASON_ARP_TRUNCATED);
	expect_drop(dev, f, ETH_HLEN + 8, SKB_DROP_REASON_ARP_TRUNCATED);
	expect_drop(dev, f, ETH_HLEN + 27, SKB_DROP_REASON_ARP_TRUNCATED);
	/* Ethernet padding after a whole packet is fine. */
	memset(f + n, 0, ETH_ZLEN - n);
	assert_int_equal(fake_rx(dev, f, ETH_ZLEN), 0);
	assert_int_equal(fake_tx_count(), 1);
}

static void test_bad_op(void **state)
{
	struct net_device *dev = *state;
	uint8_t f[64];
	size_t n;

	n = fb_arp_frame(f, bcast_mac, 3, peer_mac, PEER(7), zero_mac, OUR_IP);
	expect_drop(dev, f, n, SKB_DROP_REASON_ARP_BAD_OP);
	n = fb_arp_frame(f, bcast_mac, 0, peer_mac, PEER(7), zero_mac, OUR_IP);
	expect_drop(dev, f, n, SKB_DROP_REASON_ARP_BAD_OP);
	n = fb_arp_frame(f, bcast_mac, 0x0100, peer_mac, PEER(7), zero_mac, OUR_IP);
	expect_drop(dev, f, n, SKB_DROP_REASON_ARP_BAD_OP);
}

static void test_bad_sender(void **state)
{
	struct net_device *dev = *state;
	static const uint8_t mcast_mac[6] = { 0x01, 0x00, 0x5e, 0x00, 0x00, 0x01 };
	uint8_t f[64];
	size_t n;

	n = fb_arp_frame(f, bcast_mac, ARPOP_REQUEST, mcast_mac, PEER(8), zero_mac, OUR_IP);
	expect_drop(dev, f, n, SKB_DROP_REASON_ARP_BAD_ADDR);
	n = fb_arp_frame(f, bcast_mac, ARPOP_REQUEST, bcast_mac, PEER(8), zero_mac, OUR_IP);
	expect_drop(dev, f, n, SKB_DROP_REASON_ARP_BAD_ADDR);
	n = fb_arp_frame(f, bcast_mac, ARPOP_REQUEST, zero_mac, PEER(8), zero_mac, OUR_IP);
	expect_drop(dev, f, n, SKB_DROP_REASON_ARP_BAD_ADDR);
	/* Martian sender addresses. */
	n = fb_arp_frame(f, bcast_mac, ARPOP_REQUEST, peer_mac, fake_ip(127, 0, 0, 1), zero_mac,
			 OUR_IP);
	expect_drop(dev, f, n, SKB_DROP_REASON_ARP_BAD_ADDR);
	n = fb_arp_frame(f, bcast_mac, ARPOP_REQUEST, peer_mac, fake_ip(224, 0, 0, 5), zero_mac,
			 OUR_IP);
	expect_drop(dev, f, n, SKB_DROP_REASON_ARP_BAD_ADDR);
	n = fb_arp_frame(f, bcast_mac, ARPOP_REQUEST, peer_mac, fake_ip(255, 255, 255, 255),
			 zero_mac, OUR_IP);
	expect_drop(dev, f, n, SKB_DROP_REASON_ARP_BAD_ADDR);
}

static void test_other_host(void **state)
{
	struct net_device *dev = *state;
	uint8_t f[64];
	size_t n = fb_arp_frame(f, other_mac, ARPOP_REQUEST, peer_mac, PEER(9), zero_mac, OUR_IP);

	expect_drop(dev, f, n, SKB_DROP_REASON_OTHERHOST);
}

/* RFC 5227 probe (sender 0.0.0.0): answered, not learned. */
static void test_probe_answered_not_learned(void **state)
{
	struct net_device *dev = *state;
	uint8_t f[64], out[64];
	size_t n = fb_arp_frame(f, bcast_mac, ARPOP_REQUEST, peer_mac, 0, zero_mac, OUR_IP);

	assert_int_equal(fake_rx(dev, f, n), 0);
	assert_int_equal(fake_tx_count(), 1);
	fake_tx_pop_frame(out, sizeof(out));
	assert_int_equal(get16(ARP(out) + 6), ARPOP_REPLY);
	assert_memory_equal(ARP(out) + 8, fake_our_mac, 6);
	assert_memory_equal(ARP(out) + 14, &(uint32_t){ OUR_IP }, 4);
	assert_int_equal(neigh_count(), 0);
}

/* A reply to our own request confirms the neighbour and releases its queue. */
static void test_reply_resolves_pending(void **state)
{
	struct net_device *dev = *state;
	uint64_t inrep = snmp_fold_arp(ARP_MIB_INREPLIES);
	struct neigh_info ni;
	uint8_t f[128], out[128];
	size_t n = fb_echo_frame(f, fake_our_mac, peer_mac, PEER(10), OUR_IP, 3, 4, 8);

	/* An echo request from an unknown peer: its reply waits for ARP. */
	assert_int_equal(fake_rx(dev, f, n), 0);
	assert_int_equal(fake_tx_count(), 1);
	fake_tx_pop_frame(out, sizeof(out));
	assert_int_equal(get16(out + 12), ETH_P_ARP);
	assert_true(find_neigh(PEER(10), &ni));
	assert_int_equal(ni.nud_state, NUD_INCOMPLETE);
	assert_false(ni.has_lladdr);
	assert_int_equal(ni.queue_len, 1);

	n = fb_arp_frame(f, fake_our_mac, ARPOP_REPLY, peer_mac, PEER(10), fake_our_mac, OUR_IP);
	assert_int_equal(fake_rx(dev, f, n), 0);
	assert_int_equal(snmp_fold_arp(ARP_MIB_INREPLIES), inrep + 1);
	assert_true(find_neigh(PEER(10), &ni));
	assert_int_equal(ni.nud_state, NUD_REACHABLE);
	assert_memory_equal(ni.lladdr, peer_mac, 6);
	assert_int_equal(ni.queue_len, 0);
	assert_int_equal(fake_tx_count(), 1);
	fake_tx_pop_frame(out, sizeof(out));
	assert_memory_equal(out, peer_mac, 6);
	assert_int_equal(get16(out + 12), ETH_P_IP);
}

/* A gratuitous ARP from a known neighbour with a new MAC updates it. */
static void test_gratuitous_updates_known(void **state)
{
	struct net_device *dev = *state;
	uint64_t grat = snmp_fold_arp(ARP_MIB_INGRATUITOUS);
	struct neigh_info ni;
	uint8_t f[128], out[128];
	size_t n;

	fake_learn_neigh(dev, PEER(11), peer_mac);
	n = fb_arp_frame(f, bcast_mac, ARPOP_REQUEST, peer_mac2, PEER(11), zero_mac, PEER(11));
	assert_int_equal(fake_rx(dev, f, n), 0);
	assert_int_equal(fake_tx_count(), 0);
	assert_int_equal(snmp_fold_arp(ARP_MIB_INGRATUITOUS), grat + 1);
	assert_true(find_neigh(PEER(11), &ni));
	assert_memory_equal(ni.lladdr, peer_mac2, 6);
	assert_int_equal(ni.nud_state, NUD_STALE);

	/* Traffic to it now uses the new MAC. */
	n = fb_echo_frame(f, fake_our_mac, peer_mac2, PEER(11), OUR_IP, 1, 1, 8);
	assert_int_equal(fake_rx(dev, f, n), 0);
	assert_int_equal(fake_tx_count(), 1);
	fake_tx_pop_frame(out, sizeof(out));
	assert_memory_equal(out, peer_mac2, 6);

	/* A gratuitous reply (broadcast) works too. */
	n = fb_arp_frame(f, bcast_mac, ARPOP_REPLY, peer_mac, PEER(11), bcast_mac, PEER(11));
	assert_int_equal(fake_rx(dev, f, n), 0);
	assert_true(find_neigh(PEER(11), &ni));
	assert_memory_equal(ni.lladdr, peer_mac, 6);
}

/* A gratuitous ARP from a stranger does not fill the table. */
static void test_gratuitous_from_unknown_ignored(void **state)
{
	struct net_device *dev = *state;
	uint8_t f[64];
	size_t n = fb_arp_frame(f, bcast_mac, ARPOP_REQUEST, peer_mac, PEER(12), zero_mac, PEER(12));

	assert_int_equal(fake_rx(dev, f, n), 0);
	assert_int_equal(neigh_count(), 0);
	n = fb_arp_frame(f, bcast_mac, ARPOP_REPLY, peer_mac, PEER(12), bcast_mac, PEER(12));
	assert_int_equal(fake_rx(dev, f, n), 0);
	assert_int_equal(neigh_count(), 0);
	assert_int_equal(fake_tx_count(), 0);
}

/* arp_announce: a gratuitous request for each of our addresses. */
static void test_announce(void **state)
{
	struct net_device *dev = *state;
	uint64_t og = snmp_fold_arp(ARP_MIB_OUTGRATUITOUS);
	uint8_t out[64];

	arp_announce(dev);
	assert_int_equal(fake_tx_count(), 1);
	fake_tx_pop_frame(out, sizeof(out));
	assert_memory_equal(out, bcast_mac, 6);
	assert_int_equal(get16(ARP(out) + 6), ARPOP_REQUEST);
	assert_memory_equal(ARP(out) + 14, &(uint32_t){ OUR_IP }, 4);
	assert_memory_equal(ARP(out) + 24, &(uint32_t){ OUR_IP }, 4);
	assert_int_equal(snmp_fold_arp(ARP_MIB_OUTGRATUITOUS), og + 1);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, fake_test_setup, fake_test_teardown)
	const struct CMUnitTest tests[] = {
		T(test_request_for_us_is_answered),
		T(test_unicast_request_answered),
		T(test_request_for_other_address),
		T(test_bad_header),
		T(test_truncated),
		T(test_bad_op),
		T(test_bad_sender),
		T(test_other_host),
		T(test_probe_answered_not_learned),
		T(test_reply_resolves_pending),
		T(test_gratuitous_updates_known),
		T(test_gratuitous_from_unknown_ignored),
		T(test_announce),
	};
#undef T

	return cmocka_run_group_tests_name("net/arp", tests, fake_stack_setup,
					   fake_stack_teardown);
}
