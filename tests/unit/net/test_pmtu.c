/*
 * Unit tests for daemon/net/ipv4/pmtu.c: learning a path MTU only ever
 * lowers it, clamps and locks it at net.ipv4.route.min_pmtu, forgets it
 * after net.ipv4.route.mtu_expires, stays bounded, and decides the MTU
 * each IP_MTU_DISCOVER mode sends with.  Then through the stack: an echo
 * reply to a destination with a learned path MTU leaves in fragments of
 * that size.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <time.h>

#include "core/netdev.h"
#include "core/skb.h"
#include "core/sysctl.h"
#include "net/ipv4/ip.h"
#include "net/ipv4/pmtu.h"
#include "net/ipv4/route.h"
#include "net/wire/ether.h"
#include "net/wire/icmp.h"
#include "net/wire/ip.h"

#include "../fakes.h"

static const uint8_t peer_mac[6] = { 0x02, 0x00, 0x00, 0x00, 0x01, 0x01 };

#define PEER(n) fake_ip(10, 200, 0, (uint8_t)(80 + (n)))

static void set_sysctl(const char *name, const char *value)
{
	char err[128];

	assert_int_equal(sysctl_set(name, value, err, sizeof(err)), 0);
}

static void test_default_is_device_mtu(void **state)
{
	struct net_device *dev = *state;

	assert_int_equal(ip_rt_get_pmtu(PEER(1)), dev->mtu);
	/* No route, no MTU. */
	assert_int_equal(ip_rt_get_pmtu(fake_ip(192, 168, 99, 1)), 0);
	ip_rt_update_pmtu(fake_ip(192, 168, 99, 1), 1000);
	assert_int_equal(ip_rt_pmtu_count(), 0);
}

static void test_only_lowers(void **state)
{
	struct net_device *dev = *state;

	ip_rt_update_pmtu(PEER(2), 1400);
	assert_int_equal(ip_rt_get_pmtu(PEER(2)), 1400);
	ip_rt_update_pmtu(PEER(2), 1450);
	assert_int_equal(ip_rt_get_pmtu(PEER(2)), 1400);
	ip_rt_update_pmtu(PEER(2), 1300);
	assert_int_equal(ip_rt_get_pmtu(PEER(2)), 1300);
	ip_rt_update_pmtu(PEER(3), dev->mtu + 100);
	assert_int_equal(ip_rt_get_pmtu(PEER(3)), dev->mtu);
	/* Others are not affected; a report above the device MTU made no entry. */
	assert_int_equal(ip_rt_get_pmtu(PEER(4)), dev->mtu);
	assert_int_equal(ip_rt_pmtu_count(), 1);
}

static void test_min_pmtu_locks(void **state)
{
	struct fib_result res;
	bool locked;

	(void)state;
	assert_int_equal(fib_lookup(PEER(5), &res), 0);
	ip_rt_update_pmtu(PEER(5), 100);
	assert_int_equal(ip_dst_mtu(&res, PEER(5), &locked), 552);
	assert_true(locked);
	/* Locked: neither lowered nor raised until it expires. */
	ip_rt_update_pmtu(PEER(5), 400);
	ip_rt_update_pmtu(PEER(5), 1000);
	assert_int_equal(ip_rt_get_pmtu(PEER(5)), 552);
	/* 0, from a router that predates RFC 1191. */
	ip_rt_update_pmtu(PEER(6), 0);
	assert_int_equal(ip_rt_get_pmtu(PEER(6)), 552);
	set_sysctl("net.ipv4.route.min_pmtu", "1000");
	ip_rt_update_pmtu(PEER(7), 900);
	assert_int_equal(ip_dst_mtu(&res, PEER(7), &locked), 1000);
	assert_true(locked);
	ip_rt_update_pmtu(PEER(8), 1200);
	assert_int_equal(ip_dst_mtu(&res, PEER(8), &locked), 1200);
	assert_false(locked);
}

static void test_modes(void **state)
{
	struct net_device *dev = *state;
	struct fib_result res;

	assert_int_equal(fib_lookup(PEER(9), &res), 0);
	ip_rt_update_pmtu(PEER(9), 1000);
	assert_int_equal(ip_sk_dst_mtu(&res, PEER(9), IP_PMTUDISC_DONT, NULL), 1000);
	assert_int_equal(ip_sk_dst_mtu(&res, PEER(9), IP_PMTUDISC_WANT, NULL), 1000);
	assert_int_equal(ip_sk_dst_mtu(&res, PEER(9), IP_PMTUDISC_DO, NULL), 1000);
	assert_int_equal(ip_sk_dst_mtu(&res, PEER(9), IP_PMTUDISC_PROBE, NULL), dev->mtu);
	assert_int_equal(ip_sk_dst_mtu(&res, PEER(9), IP_PMTUDISC_INTERFACE, NULL), dev->mtu);
	assert_int_equal(ip_sk_dst_mtu(&res, PEER(9), IP_PMTUDISC_OMIT, NULL), dev->mtu);
}

static void test_expires(void **state)
{
	struct net_device *dev = *state;
	struct timespec ts = { 1, 100 * 1000 * 1000 };

	set_sysctl("net.ipv4.route.mtu_expires", "1");
	ip_rt_update_pmtu(PEER(10), 1000);
	assert_int_equal(ip_rt_get_pmtu(PEER(10)), 1000);
	nanosleep(&ts, NULL);
	assert_int_equal(ip_rt_get_pmtu(PEER(10)), dev->mtu);
	assert_int_equal(ip_rt_pmtu_count(), 0);
}

/* Thousands of destinations: the table keeps a bounded number, the newest among them. */
static void test_bounded(void **state)
{
	struct net_device *dev = *state;
	uint32_t last = 0;

	/* A default route, so that every address has a path. */
	assert_int_equal(fib_add_route(0, 0, fake_ip(10, 200, 0, 1), dev,
				       htonl(FAKE_OUR_IP_HOST)), 0);
	for (uint32_t i = 0; i < 5000; i++) {
		last = htonl(0x0b000001u + (i << 8));
		ip_rt_update_pmtu(last, 1000 + (i % 200));
	}
	assert_true(ip_rt_pmtu_count() <= 1024);
	assert_true(ip_rt_pmtu_count() >= 256);
	assert_int_equal(ip_rt_get_pmtu(last), 1000 + 4999 % 200);
}

/* An echo reply (IP_PMTUDISC_DONT, as the kernel's ICMP socket) obeys the path MTU. */
static void test_echo_reply_fragmented_to_pmtu(void **state)
{
	struct net_device *dev = *state;
	static uint8_t f[ETH_HLEN + 1500], out[ETH_HLEN + 1500];
	size_t n = fb_echo_frame(f, fake_our_mac, peer_mac, PEER(11), htonl(FAKE_OUR_IP_HOST),
				 1, 1, 1200);
	unsigned int frames = 0;

	fake_learn_neigh(dev, PEER(11), peer_mac);
	ip_rt_update_pmtu(PEER(11), 700);
	assert_int_equal(fake_rx(dev, f, n), 0);
	while (fake_tx_count()) {
		size_t m = fake_tx_pop_frame(out, sizeof(out));
		const uint8_t *ip = out + ETH_HLEN;

		assert_true(m - ETH_HLEN <= 700);
		assert_int_equal(ip[6] & (IP_DF >> 8), 0);
		frames++;
	}
	assert_int_equal(frames, 2);
}

/* A UDP-less payload of @len bytes for ip_build_and_send_pkt, with IPCB flags @flags. */
static struct sk_buff *l4_skb(uint32_t len, uint8_t flags)
{
	struct sk_buff *skb = alloc_skb(NS_MAX_HEADER + len);

	assert_non_null(skb);
	skb_reserve(skb, NS_MAX_HEADER);
	memset(skb_put(skb, len), 0x33, len);
	IPCB(skb)->flags = flags;
	return skb;
}

/*
 * ip_build_and_send_pkt: IPSKB_DF (TCP) means IP_PMTUDISC_DO, DF on and
 * no fragmenting; without it (ICMP) fragments to the path MTU, never DF.
 */
static void test_ipskb_df(void **state)
{
	struct net_device *dev = *state;
	static uint8_t out[ETH_HLEN + 1500];
	uint32_t peer = PEER(12);

	fake_learn_neigh(dev, peer, peer_mac);
	ip_rt_update_pmtu(peer, 1200);
	assert_int_equal(ip_build_and_send_pkt(l4_skb(1000, IPSKB_DF), 0, peer, 253, 0, 0), 0);
	assert_int_equal(fake_tx_pop_frame(out, sizeof(out)), ETH_HLEN + 1020);
	assert_int_equal(out[ETH_HLEN + 6], IP_DF >> 8);
	assert_int_equal(ip_build_and_send_pkt(l4_skb(1400, IPSKB_DF), 0, peer, 253, 0, 0),
			 -EMSGSIZE);
	assert_int_equal(fake_tx_count(), 0);
	assert_int_equal(ip_build_and_send_pkt(l4_skb(1400, 0), 0, peer, 253, 0, 0), 0);
	assert_int_equal(fake_tx_count(), 2);
	assert_true(fake_tx_pop_frame(out, sizeof(out)) <= ETH_HLEN + 1200);
	assert_int_equal(out[ETH_HLEN + 6] & (IP_DF >> 8), 0);
	fake_tx_purge();
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, fake_test_setup, fake_test_teardown)
	const struct CMUnitTest tests[] = {
		T(test_default_is_device_mtu),
		T(test_only_lowers),
		T(test_min_pmtu_locks),
		T(test_modes),
		T(test_expires),
		T(test_bounded),
		T(test_echo_reply_fragmented_to_pmtu),
		T(test_ipskb_df),
	};
#undef T

	return cmocka_run_group_tests_name("net/pmtu", tests, fake_stack_setup,
					   fake_stack_teardown);
}
