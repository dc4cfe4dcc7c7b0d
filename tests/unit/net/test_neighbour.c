/*
 * Unit tests for daemon/net/core/neighbour.c: neigh_output and
 * neigh_update, the NUD states they move an entry through, the queue of
 * packets waiting for resolution (unres_qlen) and the table limit
 * (gc_thresh3).  The periodic state machine needs a worker and is left to
 * the integration tests.  ARP is the solicit hook, on a fake device.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include "core/drop.h"
#include "core/netdev.h"
#include "core/skb.h"
#include "core/sysctl.h"
#include "net/core/neighbour.h"
#include "net/ipv4/ip.h"
#include "net/wire/arp.h"
#include "net/wire/ether.h"

#include "../fakes.h"

static const uint8_t mac_a[6] = { 0x02, 0x00, 0x00, 0x00, 0x03, 0x01 };
static const uint8_t mac_b[6] = { 0x02, 0x00, 0x00, 0x00, 0x03, 0x02 };

#define OUR_IP htonl(FAKE_OUR_IP_HOST)
#define PEER(n) fake_ip(10, 200, 0, (uint8_t)(10 + (n))) /* never our .2 */

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static struct net_device *the_dev;

/* An skb holding a 20-byte "IP packet" for the_dev whose first byte is @tag. */
static struct sk_buff *ip_packet(uint8_t tag, uint32_t headroom)
{
	struct sk_buff *skb = alloc_skb(headroom + 20);
	uint8_t *p;

	assert_non_null(skb);
	skb_reserve(skb, headroom);
	p = skb_put(skb, 20);
	if (!p) {
		fail();
		return skb;
	}
	memset(p, 0, 20);
	p[0] = tag;
	skb->dev = the_dev;        /* as ip_output sets it */
	skb->protocol = htons(ETH_P_IP);
	return skb;
}

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

static void set_sysctl(const char *name, const char *value)
{
	char err[128];

	assert_int_equal(sysctl_set(name, value, err, sizeof(err)), 0);
}

/* Pop a transmitted IP frame and check it goes to @mac; returns its tag. */
static uint8_t pop_ip_to(const uint8_t mac[6])
{
	uint8_t out[128];
	size_t n = fake_tx_pop_frame(out, sizeof(out));

	assert_int_equal(n, ETH_HLEN + 20);
	assert_memory_equal(out, mac, 6);
	assert_memory_equal(out + 6, fake_our_mac, 6);
	assert_int_equal(get16(out + 12), ETH_P_IP);
	return out[ETH_HLEN];
}

static void test_unresolved_queues_and_solicits_once(void **state)
{
	struct net_device *dev = *state;
	struct neigh_info ni;
	uint8_t out[64];

	assert_int_equal(neigh_output(ip_packet(1, NS_MAX_HEADER), dev, PEER(1)), 0);
	assert_int_equal(neigh_output(ip_packet(2, NS_MAX_HEADER), dev, PEER(1)), 0);
	/* One broadcast request, not one per packet. */
	assert_int_equal(fake_tx_count(), 1);
	fake_tx_pop_frame(out, sizeof(out));
	assert_int_equal(get16(out + 12), ETH_P_ARP);
	assert_int_equal(get16(out + ETH_HLEN + 6), ARPOP_REQUEST);
	assert_memory_equal(out + ETH_HLEN + 24, &(uint32_t){ PEER(1) }, 4);
	assert_true(find_neigh(PEER(1), &ni));
	assert_int_equal(ni.nud_state, NUD_INCOMPLETE);
	assert_int_equal(ni.queue_len, 2);
	assert_int_equal(ni.probes, 1);
	assert_int_equal(neigh_count(), 1);

	/* The confirmation sends both, oldest first. */
	neigh_update(dev, PEER(1), mac_a, false, true);
	assert_true(find_neigh(PEER(1), &ni));
	assert_int_equal(ni.nud_state, NUD_REACHABLE);
	assert_int_equal(ni.queue_len, 0);
	assert_int_equal(fake_tx_count(), 2);
	assert_int_equal(pop_ip_to(mac_a), 1);
	assert_int_equal(pop_ip_to(mac_a), 2);

	/* Resolved: straight out. */
	assert_int_equal(neigh_output(ip_packet(3, NS_MAX_HEADER), dev, PEER(1)), 0);
	assert_int_equal(fake_tx_count(), 1);
	assert_int_equal(pop_ip_to(mac_a), 3);
}

static void test_unres_qlen_drops_oldest(void **state)
{
	struct net_device *dev = *state;
	uint64_t full = drop_stats_total(SKB_DROP_REASON_NEIGH_QUEUEFULL);

	set_sysctl("net.ipv4.neigh.default.unres_qlen", "2");
	for (uint8_t tag = 1; tag <= 4; tag++)
		assert_int_equal(neigh_output(ip_packet(tag, NS_MAX_HEADER), dev, PEER(2)), 0);
	assert_int_equal(drop_stats_total(SKB_DROP_REASON_NEIGH_QUEUEFULL), full + 2);
	fake_tx_purge(); /* the ARP request */
	neigh_update(dev, PEER(2), mac_a, false, true);
	assert_int_equal(fake_tx_count(), 2);
	assert_int_equal(pop_ip_to(mac_a), 3);
	assert_int_equal(pop_ip_to(mac_a), 4);
}

static void test_update_without_create(void **state)
{
	struct net_device *dev = *state;
	struct neigh_info ni;

	neigh_update(dev, PEER(3), mac_a, false, false);
	neigh_update(dev, PEER(3), mac_a, false, true);
	assert_int_equal(neigh_count(), 0);
	neigh_update(dev, PEER(3), mac_a, true, false);
	assert_true(find_neigh(PEER(3), &ni));
	assert_int_equal(ni.nud_state, NUD_STALE);
	assert_memory_equal(ni.lladdr, mac_a, 6);
}

/* A STALE entry is used at once and moves to DELAY (it will be reconfirmed). */
static void test_stale_used_goes_delay(void **state)
{
	struct net_device *dev = *state;
	struct neigh_info ni;

	neigh_update(dev, PEER(4), mac_a, true, false);
	assert_int_equal(neigh_output(ip_packet(9, NS_MAX_HEADER), dev, PEER(4)), 0);
	assert_int_equal(fake_tx_count(), 1);
	assert_int_equal(pop_ip_to(mac_a), 9);
	assert_true(find_neigh(PEER(4), &ni));
	assert_int_equal(ni.nud_state, NUD_DELAY);
	/* A confirmation makes it REACHABLE again. */
	neigh_update(dev, PEER(4), mac_a, false, true);
	assert_true(find_neigh(PEER(4), &ni));
	assert_int_equal(ni.nud_state, NUD_REACHABLE);
}

static void test_unsolicited_update(void **state)
{
	struct net_device *dev = *state;
	struct neigh_info ni;

	neigh_update(dev, PEER(5), mac_a, true, true);
	/* Same address, unsolicited: a REACHABLE entry stays REACHABLE. */
	neigh_update(dev, PEER(5), mac_a, false, false);
	assert_true(find_neigh(PEER(5), &ni));
	assert_int_equal(ni.nud_state, NUD_REACHABLE);
	/* A new address, unsolicited: taken, but unconfirmed. */
	neigh_update(dev, PEER(5), mac_b, false, false);
	assert_true(find_neigh(PEER(5), &ni));
	assert_int_equal(ni.nud_state, NUD_STALE);
	assert_memory_equal(ni.lladdr, mac_b, 6);
	/* And the cached header follows. */
	assert_int_equal(neigh_output(ip_packet(5, NS_MAX_HEADER), dev, PEER(5)), 0);
	assert_int_equal(pop_ip_to(mac_b), 5);
}

static void test_no_headroom(void **state)
{
	struct net_device *dev = *state;
	uint64_t hr = drop_stats_total(SKB_DROP_REASON_TX_HEADROOM);

	neigh_update(dev, PEER(6), mac_a, true, true);
	assert_int_equal(neigh_output(ip_packet(1, 4), dev, PEER(6)), -ENOSPC);
	assert_int_equal(drop_stats_total(SKB_DROP_REASON_TX_HEADROOM), hr + 1);
	assert_int_equal(fake_tx_count(), 0);
}

/* gc_thresh3: when the table is full of unresolved entries, refuse. */
static void test_table_limit(void **state)
{
	struct net_device *dev = *state;
	uint64_t nomem = drop_stats_total(SKB_DROP_REASON_NEIGH_NOMEM);
	struct neigh_info ni;

	set_sysctl("net.ipv4.neigh.default.gc_thresh3", "16");
	for (int i = 0; i < 16; i++)
		assert_int_equal(neigh_output(ip_packet(1, NS_MAX_HEADER), dev, PEER(100 + i)), 0);
	assert_int_equal(neigh_count(), 16);
	assert_int_equal(neigh_output(ip_packet(1, NS_MAX_HEADER), dev, PEER(200)), -ENOBUFS);
	assert_int_equal(drop_stats_total(SKB_DROP_REASON_NEIGH_NOMEM), nomem + 1);
	assert_int_equal(neigh_count(), 16);

	/* Resolved, idle-able (STALE) entries are collected to make room. */
	for (int i = 0; i < 16; i++)
		neigh_update(dev, PEER(100 + i), mac_a, false, false);
	fake_tx_purge();
	assert_int_equal(neigh_output(ip_packet(1, NS_MAX_HEADER), dev, PEER(200)), 0);
	assert_true(find_neigh(PEER(200), &ni));
	assert_true(neigh_count() <= 16);
}

static void test_cleanup_frees_queued(void **state)
{
	struct net_device *dev = *state;
	uint64_t sd = drop_stats_total(SKB_DROP_REASON_SHUTDOWN);

	assert_int_equal(neigh_output(ip_packet(1, NS_MAX_HEADER), dev, PEER(7)), 0);
	assert_int_equal(neigh_output(ip_packet(2, NS_MAX_HEADER), dev, PEER(8)), 0);
	fake_tx_purge();
	neigh_cleanup();
	assert_int_equal(neigh_count(), 0);
	assert_int_equal(drop_stats_total(SKB_DROP_REASON_SHUTDOWN), sd + 2);
	assert_int_equal(fake_pool_in_use(), 0);
}

static void test_state_names(void **state)
{
	(void)state;
	assert_string_equal(neigh_state_name(NUD_INCOMPLETE), "INCOMPLETE");
	assert_string_equal(neigh_state_name(NUD_REACHABLE), "REACHABLE");
	assert_string_equal(neigh_state_name(NUD_STALE), "STALE");
	assert_string_equal(neigh_state_name(NUD_DELAY), "DELAY");
	assert_string_equal(neigh_state_name(NUD_PROBE), "PROBE");
	assert_string_equal(neigh_state_name(NUD_FAILED), "FAILED");
	assert_string_equal(neigh_state_name(NUD_NOARP), "NOARP");
	assert_string_equal(neigh_state_name(NUD_PERMANENT), "PERMANENT");
	assert_string_equal(neigh_state_name(NUD_NONE), "NONE");
}

static int neigh_group_setup(void **state)
{
	int err = fake_stack_setup(state);

	the_dev = *state;
	return err;
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, fake_test_setup, fake_test_teardown)
	const struct CMUnitTest tests[] = {
		T(test_unresolved_queues_and_solicits_once),
		T(test_unres_qlen_drops_oldest),
		T(test_update_without_create),
		T(test_stale_used_goes_delay),
		T(test_unsolicited_update),
		T(test_no_headroom),
		T(test_table_limit),
		T(test_cleanup_frees_queued),
		T(test_state_names),
	};
#undef T

	return cmocka_run_group_tests_name("net/neighbour", tests, neigh_group_setup,
					   fake_stack_teardown);
}
