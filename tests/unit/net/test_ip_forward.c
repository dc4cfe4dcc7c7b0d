/*
 * Unit tests for daemon/net/ipv4/ip_forward.c: a packet for another host
 * arriving on fake0 (10.200.0.2/24) leaves by fake1 (10.200.1.2/24) with
 * its TTL decremented and a valid header checksum, or is refused with the
 * ICMP error, MIB counter and drop reason the kernel would use; and
 * ip_decrease_ttl's incremental checksum (RFC 1624) equals a full
 * recomputation over random headers.
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
#include "core/drop.h"
#include "core/netdev.h"
#include "core/skb.h"
#include "core/sysctl.h"
#include "net/ipv4/ip.h"
#include "net/ipv4/route.h"
#include "net/ipv4/snmp.h"
#include "net/wire/arp.h"
#include "net/wire/ether.h"
#include "net/wire/icmp.h"
#include "net/wire/ip.h"

#include "../fakes.h"

static const uint8_t fake1_mac[6] = { 0x02, 0x00, 0x00, 0x00, 0x01, 0x02 };
static const uint8_t peer_a_mac[6] = { 0x02, 0x00, 0x00, 0x00, 0x0a, 0x0a };
static const uint8_t peer_b_mac[6] = { 0x02, 0x00, 0x00, 0x00, 0x0b, 0x0b };
static struct net_device *fake0, *fake1;

#define IPH(f) ((f) + ETH_HLEN)

static uint32_t ip(const char *s)
{
	struct in_addr a;

	assert_int_equal(inet_pton(AF_INET, s, &a), 1);
	return a.s_addr;
}

static void set_sysctl(const char *name, const char *value)
{
	char err[128];

	assert_int_equal(sysctl_set(name, value, err, sizeof(err)), 0);
}

/* Teach the stack that @addr is at @mac on @dev (an ARP request for @ours). */
static void learn(struct net_device *dev, uint32_t addr, const uint8_t mac[6], uint32_t ours)
{
	static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	static const uint8_t zero[6];
	uint8_t f[64];
	size_t n = fb_arp_frame(f, bcast, ARPOP_REQUEST, mac, addr, zero, ours);

	assert_int_equal(fake_rx(dev, f, n), 0);
	assert_int_equal(fake_tx_count(), 1);   /* the ARP reply */
	fake_tx_purge();
}

static int group_setup(void **state)
{
	if (fake_stack_setup(state))
		return -1;
	fake0 = *state;
	fake1 = fake_netdev_create("fake1", fake1_mac, ip("10.200.1.2"), 24);
	return 0;
}

static int group_teardown(void **state)
{
	int rc = fake_stack_teardown(state);

	fake_netdev_destroy(fake1);
	return rc;
}

static int test_setup(void **state)
{
	fake_test_setup(state);
	set_sysctl("net.ipv4.ip_forward", "1");
	set_sysctl("net.ipv4.icmp_ratelimit", "0");
	fake1->mtu = 1500;
	learn(fake0, ip("10.200.0.10"), peer_a_mac, ip("10.200.0.2"));
	learn(fake1, ip("10.200.1.20"), peer_b_mac, ip("10.200.1.2"));
	return 0;
}

/* A frame from peer A on fake0 to @daddr with @len bytes of protocol 253. */
static size_t from_a(uint8_t *f, const char *daddr, size_t len)
{
	static uint8_t payload[1600];

	for (size_t i = 0; i < len; i++)
		payload[i] = (uint8_t)i;
	return fb_ip_frame(f, fake_our_mac, peer_a_mac, ip("10.200.0.10"), ip(daddr), 253,
			   payload, len);
}

/*
 * Pop the one frame sent and check it is an ICMP error of @type/@code to
 * peer A on fake0 from 10.200.0.2 that quotes the packet's header.
 */
static void expect_icmp_to_a(uint8_t type, uint8_t code, const uint8_t *orig_iph,
			     uint32_t *rest)
{
	struct sk_buff *skb;
	const uint8_t *p, *icmp;

	assert_int_equal(fake_tx_count(), 1);
	skb = fake_tx_pop();
	assert_ptr_equal(skb->dev, fake0);
	p = skb->data;
	assert_memory_equal(p, peer_a_mac, 6);
	assert_int_equal(p[9 + ETH_HLEN], IPPROTO_ICMP_NS);
	assert_memory_equal(p + ETH_HLEN + 12, &(uint32_t){ ip("10.200.0.2") }, 4);
	assert_memory_equal(p + ETH_HLEN + 16, &(uint32_t){ ip("10.200.0.10") }, 4);
	icmp = p + ETH_HLEN + IP_MIN_HLEN;
	assert_int_equal(icmp[0], type);
	assert_int_equal(icmp[1], code);
	assert_int_equal(fake_csum(icmp, skb->len - ETH_HLEN - IP_MIN_HLEN), 0);
	/* The quoted header is the one received (TTL not yet decremented). */
	assert_memory_equal(icmp + ICMP_HLEN, orig_iph, IP_MIN_HLEN);
	if (rest)
		memcpy(rest, icmp + 4, 4);
	consume_skb(skb);
}

/* The plain case: out of fake1, TTL - 1, checksum still right, MACs rewritten. */
static void test_forward(void **state)
{
	uint64_t fwd = snmp_fold_ip(IPSTATS_MIB_FORWDATAGRAMS);
	uint8_t f[256], out[256];
	size_t n = from_a(f, "10.200.1.20", 40), m;
	struct sk_buff *skb;

	(void)state;
	assert_int_equal(fake_rx(fake0, f, n), 0);
	assert_int_equal(fake_tx_count(), 1);
	skb = fake_tx_pop();
	assert_ptr_equal(skb->dev, fake1);
	m = skb->len;
	assert_int_equal(m, n);
	memcpy(out, skb->data, m);
	consume_skb(skb);
	assert_memory_equal(out, peer_b_mac, 6);
	assert_memory_equal(out + 6, fake1_mac, 6);
	assert_int_equal(IPH(out)[8], 63);
	assert_int_equal(fake_csum(IPH(out), IP_MIN_HLEN), 0);
	/* Only the TTL and the checksum changed. */
	IPH(out)[8] = 64;
	memcpy(IPH(out) + 10, IPH(f) + 10, 2);
	assert_memory_equal(IPH(out), IPH(f), n - ETH_HLEN);
	assert_int_equal(snmp_fold_ip(IPSTATS_MIB_FORWDATAGRAMS), fwd + 1);
}

/* ip_forward = 0: a host, not a router; counted, nothing sent. */
static void test_forwarding_off(void **state)
{
	uint64_t ae = snmp_fold_ip(IPSTATS_MIB_INADDRERRORS);
	uint64_t d = drop_stats_total(SKB_DROP_REASON_IP_NOT_LOCAL);
	uint8_t f[256];
	size_t n = from_a(f, "10.200.1.20", 40);

	(void)state;
	set_sysctl("net.ipv4.ip_forward", "0");
	assert_int_equal(fake_rx(fake0, f, n), 0);
	assert_int_equal(fake_tx_count(), 0);
	assert_int_equal(snmp_fold_ip(IPSTATS_MIB_INADDRERRORS), ae + 1);
	assert_int_equal(drop_stats_total(SKB_DROP_REASON_IP_NOT_LOCAL), d + 1);
	/* The other name of the same knob turns it back on. */
	set_sysctl("net.ipv4.conf.all.forwarding", "1");
	assert_int_equal(fake_rx(fake0, f, n), 0);
	assert_int_equal(fake_tx_count(), 1);
}

/* TTL 1 (and 0): time exceeded back to the sender, InHdrErrors. */
static void test_ttl_expired(void **state)
{
	uint64_t hdr = snmp_fold_ip(IPSTATS_MIB_INHDRERRORS);
	uint64_t te = snmp_fold_icmp(ICMP_MIB_OUTTIMEEXCDS);
	uint64_t d = drop_stats_total(SKB_DROP_REASON_IP_FWD_TTL);
	uint8_t f[256];
	size_t n;

	(void)state;
	for (uint8_t ttl = 0; ttl <= 1; ttl++) {
		n = from_a(f, "10.200.1.20", 40);
		IPH(f)[8] = ttl;
		fb_ipv4_fix_csum(IPH(f));
		assert_int_equal(fake_rx(fake0, f, n), 0);
		expect_icmp_to_a(ICMP_TIME_EXCEEDED, ICMP_EXC_TTL, IPH(f), NULL);
	}
	assert_int_equal(snmp_fold_ip(IPSTATS_MIB_INHDRERRORS), hdr + 2);
	assert_int_equal(snmp_fold_icmp(ICMP_MIB_OUTTIMEEXCDS), te + 2);
	assert_int_equal(drop_stats_total(SKB_DROP_REASON_IP_FWD_TTL), d + 2);
	/* TTL 2 still goes through, leaving with 1. */
	n = from_a(f, "10.200.1.20", 40);
	IPH(f)[8] = 2;
	fb_ipv4_fix_csum(IPH(f));
	assert_int_equal(fake_rx(fake0, f, n), 0);
	assert_int_equal(fake_tx_count(), 1);
}

/* DF and larger than fake1's MTU: fragmentation needed with the next-hop MTU. */
static void test_frag_needed(void **state)
{
	uint64_t ff = snmp_fold_ip(IPSTATS_MIB_FRAGFAILS);
	uint8_t f[1700];
	uint32_t rest;
	size_t n = from_a(f, "10.200.1.20", 1000);

	(void)state;
	fake1->mtu = 576;
	IPH(f)[6] |= 0x40;      /* DF */
	fb_ipv4_fix_csum(IPH(f));
	assert_int_equal(fake_rx(fake0, f, n), 0);
	expect_icmp_to_a(ICMP_DEST_UNREACH, ICMP_FRAG_NEEDED, IPH(f), &rest);
	assert_int_equal(ntohl(rest), 576);
	assert_int_equal(snmp_fold_ip(IPSTATS_MIB_FRAGFAILS), ff + 1);
	assert_int_equal(drop_stats_total(SKB_DROP_REASON_IP_FWD_FRAG_NEEDED) > 0, 1);
	/* Exactly the MTU fits. */
	n = from_a(f, "10.200.1.20", 576 - IP_MIN_HLEN);
	IPH(f)[6] |= 0x40;
	fb_ipv4_fix_csum(IPH(f));
	assert_int_equal(fake_rx(fake0, f, n), 0);
	assert_int_equal(fake_tx_count(), 1);
}

/* No route, and the route types: the ICMP error each calls for. */
static void test_route_errors(void **state)
{
	uint64_t inr = snmp_fold_ip(IPSTATS_MIB_INNOROUTES);
	uint64_t onr = snmp_fold_ip(IPSTATS_MIB_OUTNOROUTES);
	uint64_t bh = drop_stats_total(SKB_DROP_REASON_IP_ROUTE_BLACKHOLE);
	static const struct { const char *prefix; uint8_t type; } routes[] = {
		{ "10.91.0.0", RTN_UNREACHABLE },
		{ "10.92.0.0", RTN_PROHIBIT },
		{ "10.93.0.0", RTN_BLACKHOLE },
	};
	uint8_t f[256];
	size_t n;

	(void)state;
	for (unsigned int i = 0; i < 3; i++) {
		struct fib_config c = { .dst = ip(routes[i].prefix), .dst_len = 16,
					.type = routes[i].type };

		assert_int_equal(fib_table_insert(&c, NULL, 0), 0);
	}
	n = from_a(f, "10.90.0.1", 20);
	assert_int_equal(fake_rx(fake0, f, n), 0);
	expect_icmp_to_a(ICMP_DEST_UNREACH, ICMP_NET_UNREACH, IPH(f), NULL);
	assert_int_equal(snmp_fold_ip(IPSTATS_MIB_INNOROUTES), inr + 1);
	n = from_a(f, "10.91.0.1", 20);
	assert_int_equal(fake_rx(fake0, f, n), 0);
	expect_icmp_to_a(ICMP_DEST_UNREACH, ICMP_HOST_UNREACH, IPH(f), NULL);
	n = from_a(f, "10.92.0.1", 20);
	assert_int_equal(fake_rx(fake0, f, n), 0);
	expect_icmp_to_a(ICMP_DEST_UNREACH, ICMP_PKT_FILTERED, IPH(f), NULL);
	n = from_a(f, "10.93.0.1", 20);
	assert_int_equal(fake_rx(fake0, f, n), 0);
	assert_int_equal(fake_tx_count(), 0);
	assert_int_equal(drop_stats_total(SKB_DROP_REASON_IP_ROUTE_BLACKHOLE), bh + 1);
	assert_int_equal(snmp_fold_ip(IPSTATS_MIB_OUTNOROUTES), onr + 4);
	for (unsigned int i = 0; i < 3; i++) {
		struct fib_config c = { .dst = ip(routes[i].prefix), .dst_len = 16 };

		assert_int_equal(fib_table_delete(&c, NULL, 0), 0);
	}
}

/* Never forwarded: link broadcasts, source routes, martian destinations. */
static void test_refused(void **state)
{
	static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	uint8_t f[256], opt[256];
	size_t n;

	(void)state;
	n = from_a(f, "10.200.1.20", 40);
	memcpy(f, bcast, 6);
	assert_int_equal(fake_rx(fake0, f, n), 0);
	assert_int_equal(fake_tx_count(), 0);
	assert_true(drop_stats_total(SKB_DROP_REASON_IP_FWD_LINK_BCAST) >= 1);

	/* A loose source route option (type 131) in a 24-byte header. */
	n = from_a(f, "10.200.1.20", 40);
	memcpy(opt, f, ETH_HLEN + IP_MIN_HLEN);
	opt[ETH_HLEN] = 0x46;
	opt[ETH_HLEN + 3] = (uint8_t)(IP_MIN_HLEN + 4 + 40);
	memcpy(opt + ETH_HLEN + IP_MIN_HLEN, "\x83\x03\x04\x00", 4);
	memcpy(opt + ETH_HLEN + IP_MIN_HLEN + 4, f + ETH_HLEN + IP_MIN_HLEN, 40);
	fb_ipv4_fix_csum(opt + ETH_HLEN);
	assert_int_equal(fake_rx(fake0, opt, n + 4), 0);
	assert_int_equal(fake_tx_count(), 0);
	/* Refused by the input options check (accept_source_route 0) or by ip_forward. */
	assert_true(drop_stats_total(SKB_DROP_REASON_IP_FWD_SRR) +
		    drop_stats_total(SKB_DROP_REASON_IP_SOURCE_ROUTE) >= 1);

	n = from_a(f, "127.0.0.1", 40);
	assert_int_equal(fake_rx(fake0, f, n), 0);
	n = from_a(f, "0.1.2.3", 40);
	assert_int_equal(fake_rx(fake0, f, n), 0);
	assert_int_equal(fake_tx_count(), 0);
}

/* Redirects only when asked for (send_redirects), about a better first hop. */
static void test_redirect(void **state)
{
	struct fib_config c = { .dst = ip("10.95.0.0"), .dst_len = 16, .gw = ip("10.200.0.1") };
	uint8_t f[256];
	size_t n = from_a(f, "10.95.0.1", 20);
	struct sk_buff *skb;
	uint32_t gw;

	(void)state;
	learn(fake0, ip("10.200.0.1"), peer_b_mac, ip("10.200.0.2"));
	assert_int_equal(fib_table_insert(&c, NULL, 0), 0);
	assert_int_equal(fake_rx(fake0, f, n), 0);
	assert_int_equal(fake_tx_count(), 1);   /* forwarded, no redirect */
	fake_tx_purge();
	set_sysctl("net.ipv4.conf.all.send_redirects", "1");
	assert_int_equal(fake_rx(fake0, f, n), 0);
	assert_int_equal(fake_tx_count(), 2);
	skb = fake_tx_pop();                    /* the redirect comes first */
	assert_int_equal(skb->data[ETH_HLEN + IP_MIN_HLEN], ICMP_REDIRECT);
	assert_int_equal(skb->data[ETH_HLEN + IP_MIN_HLEN + 1], ICMP_REDIR_HOST);
	memcpy(&gw, skb->data + ETH_HLEN + IP_MIN_HLEN + 4, 4);
	assert_int_equal(gw, ip("10.200.0.1"));
	consume_skb(skb);
	skb = fake_tx_pop();
	assert_memory_equal(skb->data, peer_b_mac, 6);
	consume_skb(skb);
	assert_int_equal(fib_table_delete(&c, NULL, 0), 0);
}

/* RFC 1624 eqn. 3 against a full recomputation over random headers. */
static void test_decrease_ttl_checksum(void **state)
{
	uint8_t h[IP_MAX_HLEN];

	(void)state;
	srandom(1624);
	for (int i = 0; i < 200000; i++) {
		struct iphdr *iph = (struct iphdr *)h;
		unsigned int ihl = 5 + (unsigned int)(random() % 11);
		uint16_t want;
		uint8_t ttl;

		for (unsigned int b = 0; b < sizeof(h); b++)
			h[b] = (uint8_t)random();
		/* Edge values often: TTL 1, all-ones and all-zero words. */
		if (i % 7 == 0)
			memset(h + 12, i % 14 ? 0xff : 0x00, 8);
		iph->ihl_version = (uint8_t)(0x40 | ihl);
		if (iph->ttl == 0 || i % 5 == 0)
			iph->ttl = (uint8_t)(1 + i % 3);
		iph->check = 0;
		iph->check = ip_fast_csum(iph, ihl);
		assert_int_equal(ip_fast_csum(iph, ihl), 0);

		ttl = iph->ttl;
		assert_int_equal(ip_decrease_ttl(iph), ttl - 1);
		want = iph->check;
		iph->check = 0;
		iph->check = ip_fast_csum(iph, ihl);
		if (want != iph->check)
			fail_msg("header %d: incremental 0x%04x, recomputed 0x%04x", i, want,
				 iph->check);
	}
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, test_setup, fake_test_teardown)
	const struct CMUnitTest tests[] = {
		T(test_forward),
		T(test_forwarding_off),
		T(test_ttl_expired),
		T(test_frag_needed),
		T(test_route_errors),
		T(test_refused),
		T(test_redirect),
		cmocka_unit_test(test_decrease_ttl_checksum),
	};
#undef T

	return cmocka_run_group_tests_name("net/ip_forward", tests, group_setup, group_teardown);
}
