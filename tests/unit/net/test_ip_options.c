/*
 * Unit tests for daemon/net/ipv4/ip_options.c: ip_options_compile on
 * headers built byte by byte (every option the kernel checks, and the
 * parameter-problem pointer of each malformation), the receive path with
 * options (delivery, the drop and ICMP error for bad ones, the source
 * route policy), ip_options_fragment and ip_forward_options.
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
#include "net/ipv4/ip.h"
#include "net/ipv4/snmp.h"
#include "net/wire/ether.h"
#include "net/wire/icmp.h"
#include "net/wire/ip.h"

#include "../fakes.h"

static const uint8_t peer_mac[6] = { 0x02, 0x00, 0x00, 0x00, 0x01, 0x01 };

#define OUR_IP htonl(FAKE_OUR_IP_HOST)
#define PEER(n) fake_ip(10, 200, 0, (uint8_t)(60 + (n)))
#define IPH(f) ((f) + ETH_HLEN)

/* Address bytes of 10.200.0.2 (ours) and 10.200.0.99 (not ours). */
#define OURS 10, 200, 0, 2
#define OTHER 10, 200, 0, 99

static void set_sysctl(const char *name, const char *value)
{
	char err[128];

	assert_int_equal(sysctl_set(name, value, err, sizeof(err)), 0);
}

/* A header with @n bytes of options (padded with END to whole words). */
static uint8_t hdr[IP_MAX_HLEN];

static const uint8_t *with_opts(const uint8_t *opts, size_t n)
{
	size_t words = (n + 3) / 4;

	assert_true(n <= 40);
	memset(hdr, 0, sizeof(hdr));
	fb_ipv4(hdr, PEER(0), OUR_IP, IPPROTO_ICMP_NS, 0);
	hdr[0] = (uint8_t)(0x45 + words);
	memcpy(hdr + IP_MIN_HLEN, opts, n);
	return hdr;
}

static int compile(const uint8_t *opts, size_t n, struct ip_options *opt, unsigned int *pp)
{
	*pp = 0xdead;
	return ip_options_compile(opt, with_opts(opts, n), pp);
}

#define COMPILES(...)                                                                   \
	do {                                                                            \
		static const uint8_t o_[] = { __VA_ARGS__ };                            \
		assert_int_equal(compile(o_, sizeof(o_), &opt, &pp), 0);                \
	} while (0)

#define FAILS_AT(at, ...)                                                               \
	do {                                                                            \
		static const uint8_t o_[] = { __VA_ARGS__ };                            \
		assert_int_equal(compile(o_, sizeof(o_), &opt, &pp), -EINVAL);          \
		assert_int_equal(pp, (at));                                             \
	} while (0)

static void test_compile_valid(void **state)
{
	struct ip_options opt;
	unsigned int pp;

	(void)state;
	COMPILES(IPOPT_NOOP, IPOPT_NOOP, IPOPT_END, 0);
	assert_int_equal(opt.optlen, 4);
	assert_int_equal(opt.rr | opt.ts | opt.srr | opt.router_alert, 0);
	/* Garbage after END is not looked at. */
	COMPILES(IPOPT_END, 0xff, 0x01, 0x77);

	/* Record route with room for two addresses, and a full one. */
	COMPILES(IPOPT_RR, 11, 4, 0, 0, 0, 0, 0, 0, 0, 0, IPOPT_END);
	assert_int_equal(opt.rr, 20);
	assert_true(opt.rr_needaddr);
	COMPILES(IPOPT_RR, 7, 8, OTHER, IPOPT_END);
	assert_int_equal(opt.rr, 20);
	assert_false(opt.rr_needaddr);

	/* Timestamps: time only, address and time, prespecified. */
	COMPILES(IPOPT_TIMESTAMP, 12, 5, IPOPT_TS_TSONLY, 0, 0, 0, 0, 0, 0, 0, 0);
	assert_int_equal(opt.ts, 20);
	assert_true(opt.ts_needtime);
	assert_false(opt.ts_needaddr);
	COMPILES(IPOPT_TIMESTAMP, 12, 5, IPOPT_TS_TSANDADDR, 0, 0, 0, 0, 0, 0, 0, 0);
	assert_true(opt.ts_needtime && opt.ts_needaddr);
	COMPILES(IPOPT_TIMESTAMP, 12, 5, IPOPT_TS_PRESPEC, OURS, 0, 0, 0, 0);
	assert_true(opt.ts_needtime);
	COMPILES(IPOPT_TIMESTAMP, 12, 5, IPOPT_TS_PRESPEC, OTHER, 0, 0, 0, 0);
	assert_false(opt.ts_needtime);
	/* Full, overflow 14: one more overflow fits. */
	COMPILES(IPOPT_TIMESTAMP, 8, 9, 0xe0 | IPOPT_TS_TSONLY, 0, 0, 0, 0);
	assert_true(opt.ts_overflow);
	assert_false(opt.ts_needtime);

	/* Router alert (value 0 only), security and stream id are accepted. */
	COMPILES(IPOPT_RA, 4, 0, 0);
	assert_int_equal(opt.router_alert, 20);
	COMPILES(IPOPT_RA, 4, 0, 1);
	assert_int_equal(opt.router_alert, 0);
	COMPILES(IPOPT_SEC, 11, 0, 0, 0, 0, 0, 0, 0, 0, 0, IPOPT_END);
	COMPILES(IPOPT_SID, 4, 0x12, 0x34);
	COMPILES(0x9f, 4, 1, 2);    /* unknown: skipped */

	/* Source routes. */
	COMPILES(IPOPT_NOOP, IPOPT_LSRR, 7, 4, OTHER);
	assert_int_equal(opt.srr, 21);
	assert_false(opt.is_strictroute);
	COMPILES(IPOPT_NOOP, IPOPT_SSRR, 7, 4, OTHER);
	assert_true(opt.is_strictroute);

	/* A structurally sound CIPSO option. */
	COMPILES(IPOPT_CIPSO, 10, 0, 0, 0, 1, 1, 4, 0, 0, IPOPT_END, 0);
	assert_int_equal(opt.cipso, 20);

	/* All of them together. */
	COMPILES(IPOPT_RR, 7, 4, 0, 0, 0, 0, IPOPT_RA, 4, 0, 0, IPOPT_TIMESTAMP, 8, 5, 0, 0, 0,
		 0, 0, IPOPT_LSRR, 7, 4, OTHER);
	assert_int_equal(opt.rr, 20);
	assert_int_equal(opt.router_alert, 27);
	assert_int_equal(opt.ts, 31);
	assert_int_equal(opt.srr, 39);
}

static void test_compile_malformed(void **state)
{
	struct ip_options opt;
	unsigned int pp;

	(void)state;
	/* Lengths: below 2, past the header, one lone byte. */
	FAILS_AT(20, IPOPT_RR, 1, 4, 0);
	FAILS_AT(20, IPOPT_RR, 40, 4, 0);
	FAILS_AT(21, IPOPT_NOOP, IPOPT_SEC, 200, 0);
	FAILS_AT(23, IPOPT_NOOP, IPOPT_NOOP, IPOPT_NOOP, IPOPT_RR);
	/* Record route: pointer too small, room for less than an address, twice. */
	FAILS_AT(22, IPOPT_RR, 7, 3, 0, 0, 0, 0);
	FAILS_AT(22, IPOPT_RR, 9, 8, 0, 0, 0, 0, 0, 0);
	FAILS_AT(21, IPOPT_RR, 2);
	FAILS_AT(24, IPOPT_NOOP, IPOPT_RR, 3, 4, IPOPT_RR, 3, 4, 0);
	/* Timestamp: short, pointer below 5, no room for address and time, overflow wrap. */
	FAILS_AT(21, IPOPT_TIMESTAMP, 3, 5, 0);
	FAILS_AT(22, IPOPT_TIMESTAMP, 8, 4, 0, 0, 0, 0, 0);
	FAILS_AT(22, IPOPT_TIMESTAMP, 8, 5, IPOPT_TS_TSANDADDR, 0, 0, 0, 0);
	FAILS_AT(22, IPOPT_TIMESTAMP, 8, 5, IPOPT_TS_PRESPEC, 0, 0, 0, 0);
	FAILS_AT(23, IPOPT_TIMESTAMP, 8, 9, 0xf0, 0, 0, 0, 0);
	FAILS_AT(28, IPOPT_TIMESTAMP, 8, 9, 0, 0, 0, 0, 0, IPOPT_TIMESTAMP, 4, 5, 0);
	/* Router alert shorter than 4. */
	FAILS_AT(21, IPOPT_RA, 2, IPOPT_NOOP, IPOPT_NOOP);
	/* Source routes: short, pointer below 4, two of them. */
	FAILS_AT(21, IPOPT_LSRR, 2, IPOPT_NOOP, IPOPT_NOOP);
	FAILS_AT(22, IPOPT_SSRR, 7, 3, OTHER);
	FAILS_AT(27, IPOPT_LSRR, 7, 4, OTHER, IPOPT_SSRR, 7, 4, OTHER, 0, 0);
	/* CIPSO: short, DOI 0, a tag running past the option, twice. */
	FAILS_AT(21, IPOPT_CIPSO, 6, 0, 0, 0, 1);
	FAILS_AT(22, IPOPT_CIPSO, 8, 0, 0, 0, 0, 1, 2);
	FAILS_AT(27, IPOPT_CIPSO, 10, 0, 0, 0, 1, 1, 9, 0, 0, IPOPT_END, 0);
	FAILS_AT(28, IPOPT_CIPSO, 8, 0, 0, 0, 1, 1, 2, IPOPT_CIPSO, 8, 0, 0, 0, 1, 1, 2);
}

/* An echo request from @peer with options @opts, as a frame; returns its length. */
static size_t echo_with_opts(uint8_t *f, uint32_t peer, uint32_t dst, const uint8_t *opts,
			     size_t n)
{
	uint8_t plain[128];
	size_t len = fb_echo_frame(plain, fake_our_mac, peer_mac, peer, dst, 0x4242, 1, 16);
	size_t olen = (n + 3) / 4 * 4;

	memcpy(f, plain, ETH_HLEN + IP_MIN_HLEN);
	memset(IPH(f) + IP_MIN_HLEN, IPOPT_END, olen);
	memcpy(IPH(f) + IP_MIN_HLEN, opts, n);
	memcpy(IPH(f) + IP_MIN_HLEN + olen, plain + ETH_HLEN + IP_MIN_HLEN,
	       len - ETH_HLEN - IP_MIN_HLEN);
	IPH(f)[0] = (uint8_t)(0x45 + olen / 4);
	IPH(f)[3] = (uint8_t)(IPH(f)[3] + olen);
	fb_ipv4_fix_csum(IPH(f));
	return len + olen;
}

static void test_rcv_with_options_delivered(void **state)
{
	struct net_device *dev = *state;
	static const uint8_t rr[] = { IPOPT_RR, 11, 4, 0, 0, 0, 0, 0, 0, 0, 0 };
	static const uint8_t ts[] = { IPOPT_TIMESTAMP, 12, 5, IPOPT_TS_TSANDADDR,
				      0, 0, 0, 0, 0, 0, 0, 0, IPOPT_RA, 4, 0, 0 };
	uint64_t dlv = snmp_fold_ip(IPSTATS_MIB_INDELIVERS);
	uint8_t f[256], out[256];
	size_t n;

	fake_learn_neigh(dev, PEER(1), peer_mac);
	n = echo_with_opts(f, PEER(1), OUR_IP, rr, sizeof(rr));
	assert_int_equal(fake_rx(dev, f, n), 0);
	n = echo_with_opts(f, PEER(1), OUR_IP, ts, sizeof(ts));
	assert_int_equal(fake_rx(dev, f, n), 0);
	assert_int_equal(snmp_fold_ip(IPSTATS_MIB_INDELIVERS), dlv + 2);
	assert_int_equal(fake_tx_count(), 2);
	n = fake_tx_pop_frame(out, sizeof(out));
	assert_int_equal(IPH(out)[IP_MIN_HLEN], ICMP_ECHOREPLY);
	fake_tx_purge();
}

static void test_rcv_malformed_param_problem(void **state)
{
	struct net_device *dev = *state;
	static const uint8_t bad[] = { IPOPT_NOOP, IPOPT_RR, 7, 3, 0, 0, 0, 0 };
	uint64_t hdr_err = snmp_fold_ip(IPSTATS_MIB_INHDRERRORS);
	uint64_t dr = drop_stats_total(SKB_DROP_REASON_IP_BAD_OPTIONS);
	uint64_t parm = snmp_fold_icmp_type(1, ICMP_PARAMETERPROB);
	uint8_t f[256], out[256];
	size_t n;

	fake_learn_neigh(dev, PEER(2), peer_mac);
	n = echo_with_opts(f, PEER(2), OUR_IP, bad, sizeof(bad));
	assert_int_equal(fake_rx(dev, f, n), 0);
	assert_int_equal(snmp_fold_ip(IPSTATS_MIB_INHDRERRORS), hdr_err + 1);
	assert_int_equal(drop_stats_total(SKB_DROP_REASON_IP_BAD_OPTIONS), dr + 1);
	assert_int_equal(snmp_fold_icmp_type(1, ICMP_PARAMETERPROB), parm + 1);
	assert_int_equal(fake_tx_count(), 1);
	n = fake_tx_pop_frame(out, sizeof(out));
	/* Parameter problem, code 0, pointing at RR's pointer (octet 23). */
	assert_int_equal(IPH(out)[IP_MIN_HLEN], ICMP_PARAMETERPROB);
	assert_int_equal(IPH(out)[IP_MIN_HLEN + 1], 0);
	assert_int_equal(IPH(out)[IP_MIN_HLEN + 4], 23);
	assert_int_equal(fake_csum(IPH(out) + IP_MIN_HLEN, n - ETH_HLEN - IP_MIN_HLEN), 0);
	assert_int_equal(fake_pool_in_use(), 0);
}

static void test_rcv_source_route_policy(void **state)
{
	struct net_device *dev = *state;
	static const uint8_t lsrr_done[] = { IPOPT_NOOP, IPOPT_LSRR, 7, 8, OTHER };
	static const uint8_t lsrr_next[] = { IPOPT_NOOP, IPOPT_LSRR, 7, 4, OTHER };
	static const uint8_t ssrr_via_us[] = { IPOPT_NOOP, IPOPT_SSRR, 7, 4, OURS };
	uint64_t dr = drop_stats_total(SKB_DROP_REASON_IP_SOURCE_ROUTE);
	uint64_t hdr_err = snmp_fold_ip(IPSTATS_MIB_INHDRERRORS);
	uint8_t f[256];
	size_t n;

	fake_learn_neigh(dev, PEER(3), peer_mac);
	/* accept_source_route 0 (the default): refused, no ICMP. */
	n = echo_with_opts(f, PEER(3), OUR_IP, lsrr_done, sizeof(lsrr_done));
	assert_int_equal(fake_rx(dev, f, n), 0);
	assert_int_equal(drop_stats_total(SKB_DROP_REASON_IP_SOURCE_ROUTE), dr + 1);
	assert_int_equal(fake_tx_count(), 0);

	set_sysctl("net.ipv4.conf.all.accept_source_route", "1");
	/* The route is used up: we are the final destination. */
	assert_int_equal(fake_rx(dev, f, n), 0);
	assert_int_equal(fake_tx_count(), 1);
	fake_tx_purge();
	/* A hop that is our own address is skipped. */
	n = echo_with_opts(f, PEER(3), OUR_IP, ssrr_via_us, sizeof(ssrr_via_us));
	assert_int_equal(fake_rx(dev, f, n), 0);
	assert_int_equal(fake_tx_count(), 1);
	fake_tx_purge();
	/* Another hop ahead: it would need forwarding. */
	n = echo_with_opts(f, PEER(3), OUR_IP, lsrr_next, sizeof(lsrr_next));
	assert_int_equal(fake_rx(dev, f, n), 0);
	assert_int_equal(drop_stats_total(SKB_DROP_REASON_IP_SOURCE_ROUTE), dr + 2);
	assert_int_equal(fake_tx_count(), 0);
	assert_int_equal(snmp_fold_ip(IPSTATS_MIB_INHDRERRORS), hdr_err);
}

static void test_options_fragment(void **state)
{
	static const uint8_t opts[] = {
		IPOPT_RR, 7, 4, 0, 0, 0, 0,                     /* not copied */
		IPOPT_NOOP,
		IPOPT_LSRR, 7, 4, OTHER,                        /* copied */
		IPOPT_TIMESTAMP, 8, 5, 0, 0, 0, 0, 0,           /* not copied */
		IPOPT_SEC, 4, 0, 0,                             /* copied */
		IPOPT_END, 7, 7, 7,                             /* after END: left alone */
	};
	uint8_t h[IP_MAX_HLEN];

	(void)state;
	memcpy(h, with_opts(opts, sizeof(opts)), sizeof(h));
	ip_options_fragment(h);
	for (unsigned int i = 20; i < 28; i++)
		assert_int_equal(h[i], IPOPT_NOOP);
	assert_memory_equal(h + 28, opts + 8, 7);
	for (unsigned int i = 35; i < 43; i++)
		assert_int_equal(h[i], IPOPT_NOOP);
	assert_memory_equal(h + 43, opts + 23, 8);
}

/* A received packet with @opts, ready for ip_forward_options. */
static struct sk_buff *fwd_skb(const uint8_t *opts, size_t n)
{
	struct sk_buff *skb = alloc_skb(256);
	const uint8_t *h = with_opts(opts, n);
	unsigned int hl = (h[0] & 15) * 4u, pp;

	assert_non_null(skb);
	skb_put_data(skb, h, hl);
	skb_reset_network_header(skb);
	memset(skb->cb, 0, sizeof(skb->cb));
	assert_int_equal(ip_options_compile(&IPCB(skb)->opt, skb->data, &pp), 0);
	return skb;
}

static void test_forward_options(void **state)
{
	static const uint8_t rr[] = { IPOPT_RR, 11, 4, 0, 0, 0, 0, 0, 0, 0, 0, IPOPT_END };
	static const uint8_t tsaddr[] = { IPOPT_TIMESTAMP, 12, 5, IPOPT_TS_TSANDADDR,
					  0, 0, 0, 0, 0, 0, 0, 0 };
	static const uint8_t tsfull[] = { IPOPT_TIMESTAMP, 8, 9, 0x30, 1, 2, 3, 4 };
	static const uint8_t lsrr[] = { IPOPT_NOOP, IPOPT_LSRR, 11, 4, OTHER, 10, 200, 0, 98 };
	uint32_t us = fake_ip(10, 200, 1, 2), other = fake_ip(10, 200, 0, 99);
	struct sk_buff *skb;
	uint8_t *ip;

	(void)state;
	skb = fwd_skb(rr, sizeof(rr));
	ip = skb->data;
	ip_forward_options(skb, us);
	assert_int_equal(ip[22], 8);
	assert_memory_equal(ip + 23, &us, 4);
	assert_int_equal(fake_csum(ip, 32), 0);
	consume_skb(skb);

	skb = fwd_skb(tsaddr, sizeof(tsaddr));
	ip = skb->data;
	ip_forward_options(skb, us);
	assert_int_equal(ip[22], 13);
	assert_memory_equal(ip + 24, &us, 4);
	assert_int_equal(fake_csum(ip, 32), 0);
	consume_skb(skb);

	/* Full: the overflow count goes from 3 to 4. */
	skb = fwd_skb(tsfull, sizeof(tsfull));
	ip = skb->data;
	ip_forward_options(skb, us);
	assert_int_equal(ip[23], 0x40);
	assert_int_equal(fake_csum(ip, 28), 0);
	consume_skb(skb);

	/* Source route towards .99: daddr becomes .99, the hop records us. */
	skb = fwd_skb(lsrr, sizeof(lsrr));
	ip = skb->data;
	IPCB(skb)->opt.srr_is_hit = 1;
	IPCB(skb)->opt.nexthop = other;
	ip_forward_options(skb, us);
	assert_memory_equal(ip + 16, &other, 4);
	assert_int_equal(ip[23], 8);
	assert_memory_equal(ip + 24, &us, 4);
	assert_int_equal(fake_csum(ip, 32), 0);
	consume_skb(skb);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, fake_test_setup, fake_test_teardown)
	const struct CMUnitTest tests[] = {
		T(test_compile_valid),
		T(test_compile_malformed),
		T(test_rcv_with_options_delivered),
		T(test_rcv_malformed_param_problem),
		T(test_rcv_source_route_policy),
		T(test_options_fragment),
		T(test_forward_options),
	};
#undef T

	return cmocka_run_group_tests_name("net/ip_options", tests, fake_stack_setup,
					   fake_stack_teardown);
}
