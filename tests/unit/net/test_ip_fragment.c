/*
 * Unit tests for daemon/net/ipv4/ip_fragment.c: reassembly through the
 * whole receive path of the fake device (in order, out of order,
 * duplicates, overlaps, bad lengths, the timeout with its ICMP error, the
 * memory bounds) and fragmentation on output, both through the stack (an
 * echo reply larger than the MTU) and by calling ip_fragment directly
 * (offsets, MF, copied options, DF).
 *
 * The peer's datagrams are ICMP echo requests cut into fragments by the
 * test; a reassembled request is visible as an echo reply, which is
 * itself fragmented and reassembled again here, independently of the
 * stack, to compare bytes.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include "core/clock.h"
#include "core/dev.h"
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
#define PEER(n) fake_ip(10, 200, 0, (uint8_t)(40 + (n)))
#define IPH(f) ((f) + ETH_HLEN)
#define DGRAM_MAX 65536

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static uint64_t drops(enum skb_drop_reason r)
{
	return drop_stats_total(r);
}

static void set_sysctl(const char *name, const char *value)
{
	char err[128];

	assert_int_equal(sysctl_set(name, value, err, sizeof(err)), 0);
}

/* An echo request of @plen payload bytes (a pattern seeded by @seq) into @dg. */
static size_t echo_dgram(uint8_t *dg, size_t plen, uint16_t seq)
{
	static uint8_t payload[DGRAM_MAX];

	for (size_t i = 0; i < plen; i++)
		payload[i] = (uint8_t)(i * 7 + seq);
	return fb_icmp_echo(dg, ICMP_ECHO, 0x4242, seq, payload, plen);
}

/*
 * Send bytes [@off, @off + @len) of the IP payload @dg as a fragment of
 * datagram @id from @peer.  @mf: MF flag.  Returns fake_rx's result.
 */
static int send_frag(struct net_device *dev, uint32_t peer, uint16_t id, const uint8_t *dg,
		     size_t off, size_t len, bool mf)
{
	uint8_t f[ETH_HLEN + IP_MIN_HLEN + 1500];
	uint8_t *ip = IPH(f);

	assert_true(len <= 1480 && off % 8 == 0);
	fb_eth(f, fake_our_mac, peer_mac, ETH_P_IP);
	fb_ipv4(ip, peer, OUR_IP, IPPROTO_ICMP_NS, len);
	put16(ip + 4, id);
	put16(ip + 6, (uint16_t)((off >> 3) | (mf ? IP_MF : 0)));
	fb_ipv4_fix_csum(ip);
	memcpy(ip + IP_MIN_HLEN, dg + off, len);
	return fake_rx(dev, f, ETH_HLEN + IP_MIN_HLEN + len);
}

/* Send the whole datagram @dg in fragments of @step bytes, in the order of @order. */
static void send_all(struct net_device *dev, uint32_t peer, uint16_t id, const uint8_t *dg,
		     size_t dglen, size_t step, const unsigned int *order, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++) {
		size_t off = order[i] * step;
		size_t len = dglen - off < step ? dglen - off : step;

		assert_int_equal(send_frag(dev, peer, id, dg, off, len, off + len < dglen), 0);
	}
}

/*
 * Pop every transmitted frame, check each is a well-formed fragment (or
 * whole datagram) of one datagram no larger than the MTU, and reassemble
 * its IP payload into @out.  Returns the payload length; *@nfrags gets
 * the number of frames.
 */
static size_t collect_reply(struct net_device *dev, uint8_t *out, unsigned int *nfrags)
{
	static uint8_t frame[ETH_HLEN + 1600];
	size_t total = 0, seen = 0;
	bool last_seen = false;
	int id = -1;

	*nfrags = 0;
	while (fake_tx_count()) {
		size_t n = fake_tx_pop_frame(frame, sizeof(frame));
		const uint8_t *ip = IPH(frame);
		unsigned int ihl = (ip[0] & 15) * 4u;
		uint16_t fo = get16(ip + 6);
		size_t off = (size_t)(fo & IP_OFFSET) * 8, len = get16(ip + 2) - ihl;

		assert_int_equal(get16(frame + 12), ETH_P_IP);
		assert_true(get16(ip + 2) <= dev->mtu);
		assert_int_equal(n, ETH_HLEN + get16(ip + 2));
		assert_int_equal(fake_csum(ip, ihl), 0);
		assert_false(fo & IP_DF);
		if (id < 0)
			id = get16(ip + 4);
		assert_int_equal(get16(ip + 4), id);
		if (fo & IP_MF)
			assert_int_equal(len % 8, 0);
		else
			last_seen = true, total = off + len;
		assert_true(off + len <= DGRAM_MAX);
		memcpy(out + off, ip + ihl, len);
		seen += len;
		(*nfrags)++;
	}
	assert_true(last_seen);
	assert_int_equal(seen, total);
	return total;
}

/* The reply to echo request @req (@len bytes): the same but type 0 and checksum. */
static void assert_echo_reply(const uint8_t *rep, size_t replen, const uint8_t *req, size_t len)
{
	assert_int_equal(replen, len);
	assert_int_equal(rep[0], ICMP_ECHOREPLY);
	assert_memory_equal(rep + 4, req + 4, len - 4);
	assert_int_equal(fake_csum(rep, replen), 0);
}

/* Room past 64 KiB for the fragments that pretend to lie there. */
static uint8_t dg[DGRAM_MAX + 2048], rep[DGRAM_MAX];

static void test_in_order(void **state)
{
	struct net_device *dev = *state;
	static const unsigned int order[] = { 0, 1, 2 };
	uint64_t reqds = snmp_fold_ip(IPSTATS_MIB_REASMREQDS);
	uint64_t oks = snmp_fold_ip(IPSTATS_MIB_REASMOKS);
	uint64_t fragoks = snmp_fold_ip(IPSTATS_MIB_FRAGOKS);
	uint64_t creates = snmp_fold_ip(IPSTATS_MIB_FRAGCREATES);
	uint64_t dlv = snmp_fold_ip(IPSTATS_MIB_INDELIVERS);
	size_t len = echo_dgram(dg, 3000, 1), rl;
	unsigned int nf;

	fake_learn_neigh(dev, PEER(1), peer_mac);
	send_all(dev, PEER(1), 7, dg, len, 1480, order, 3);
	assert_int_equal(snmp_fold_ip(IPSTATS_MIB_REASMREQDS), reqds + 3);
	assert_int_equal(snmp_fold_ip(IPSTATS_MIB_REASMOKS), oks + 1);
	assert_int_equal(snmp_fold_ip(IPSTATS_MIB_INDELIVERS), dlv + 1);
	assert_int_equal(ip_frag_queues(), 0);
	assert_int_equal(ip_frag_mem(), 0);
	/* The 3008-byte reply leaves in three fragments: 1480 + 1480 + 48. */
	rl = collect_reply(dev, rep, &nf);
	assert_int_equal(nf, 3);
	assert_echo_reply(rep, rl, dg, len);
	assert_int_equal(snmp_fold_ip(IPSTATS_MIB_FRAGOKS), fragoks + 1);
	assert_int_equal(snmp_fold_ip(IPSTATS_MIB_FRAGCREATES), creates + 3);
}

static void test_out_of_order(void **state)
{
	struct net_device *dev = *state;
	static const unsigned int reverse[] = { 4, 3, 2, 1, 0 };
	static const unsigned int shuffled[] = { 2, 0, 4, 1, 3 };
	size_t len = echo_dgram(dg, 6000, 2), rl;
	unsigned int nf;

	fake_learn_neigh(dev, PEER(2), peer_mac);
	send_all(dev, PEER(2), 8, dg, len, 1480, reverse, 5);
	rl = collect_reply(dev, rep, &nf);
	assert_echo_reply(rep, rl, dg, len);

	len = echo_dgram(dg, 6000, 3);
	send_all(dev, PEER(2), 9, dg, len, 1480, shuffled, 5);
	rl = collect_reply(dev, rep, &nf);
	assert_echo_reply(rep, rl, dg, len);
	assert_int_equal(ip_frag_queues(), 0);
}

/* Duplicates are dropped and ignored (RFC 5722 keeps the datagram). */
static void test_duplicates(void **state)
{
	struct net_device *dev = *state;
	uint64_t dup = drops(SKB_DROP_REASON_DUP_FRAG);
	uint64_t fails = snmp_fold_ip(IPSTATS_MIB_REASMFAILS);
	uint64_t overlaps = snmp_fold_ip(IPSTATS_MIB_REASMOVERLAPS);
	size_t len = echo_dgram(dg, 4000, 4), rl;
	unsigned int nf;

	fake_learn_neigh(dev, PEER(3), peer_mac);
	assert_int_equal(send_frag(dev, PEER(3), 10, dg, 0, 1480, true), 0);
	assert_int_equal(send_frag(dev, PEER(3), 10, dg, 1480, 1480, true), 0);
	/* The same fragment again, and a piece inside the run of both. */
	assert_int_equal(send_frag(dev, PEER(3), 10, dg, 0, 1480, true), 0);
	assert_int_equal(send_frag(dev, PEER(3), 10, dg, 1000, 1000, true), 0);
	assert_int_equal(drops(SKB_DROP_REASON_DUP_FRAG), dup + 2);
	assert_int_equal(fake_tx_count(), 0);
	assert_int_equal(send_frag(dev, PEER(3), 10, dg, 2960, len - 2960, false), 0);
	rl = collect_reply(dev, rep, &nf);
	assert_echo_reply(rep, rl, dg, len);
	assert_int_equal(snmp_fold_ip(IPSTATS_MIB_REASMFAILS), fails);
	assert_int_equal(snmp_fold_ip(IPSTATS_MIB_REASMOVERLAPS), overlaps);
}

/* An overlap discards the whole datagram, counted as ReasmOverlaps. */
static void test_overlap(void **state)
{
	struct net_device *dev = *state;
	uint64_t ov = drops(SKB_DROP_REASON_FRAG_OVERLAP);
	uint64_t fails = snmp_fold_ip(IPSTATS_MIB_REASMFAILS);
	uint64_t overlaps = snmp_fold_ip(IPSTATS_MIB_REASMOVERLAPS);
	size_t len = echo_dgram(dg, 4000, 5);

	fake_learn_neigh(dev, PEER(4), peer_mac);
	assert_int_equal(send_frag(dev, PEER(4), 11, dg, 0, 1480, true), 0);
	assert_int_equal(send_frag(dev, PEER(4), 11, dg, 2960, len - 2960, false), 0);
	/* Starts inside the first fragment and runs past it. */
	assert_int_equal(send_frag(dev, PEER(4), 11, dg, 1472, 1480, true), 0);
	assert_int_equal(snmp_fold_ip(IPSTATS_MIB_REASMOVERLAPS), overlaps + 1);
	assert_int_equal(snmp_fold_ip(IPSTATS_MIB_REASMFAILS), fails + 1);
	/* All three fragments are gone: the two queued and the offender. */
	assert_int_equal(drops(SKB_DROP_REASON_FRAG_OVERLAP), ov + 3);
	assert_int_equal(ip_frag_queues(), 0);
	assert_int_equal(ip_frag_mem(), 0);
	assert_int_equal(fake_pool_in_use(), 0);

	/* Covering a hole and a neighbour is an overlap too. */
	assert_int_equal(send_frag(dev, PEER(4), 12, dg, 1480, 1480, true), 0);
	assert_int_equal(send_frag(dev, PEER(4), 12, dg, 1000, 1000, true), 0);
	assert_int_equal(snmp_fold_ip(IPSTATS_MIB_REASMOVERLAPS), overlaps + 2);
	assert_int_equal(ip_frag_queues(), 0);
	assert_int_equal(fake_tx_count(), 0);
}

static void test_bad_lengths(void **state)
{
	struct net_device *dev = *state;
	uint64_t bad = drops(SKB_DROP_REASON_IP_FRAG);
	uint64_t fails = snmp_fold_ip(IPSTATS_MIB_REASMFAILS);
	size_t len = echo_dgram(dg, 4000, 6);
	uint8_t f[ETH_HLEN + IP_MIN_HLEN + 64];

	fake_learn_neigh(dev, PEER(5), peer_mac);
	/* Past 65535 bytes: offset 65528 + 16 bytes. */
	assert_int_equal(send_frag(dev, PEER(5), 20, dg, 65528, 16, false), 0);
	assert_int_equal(drops(SKB_DROP_REASON_IP_FRAG), bad + 1);
	/* A last fragment ending before data already held. */
	assert_int_equal(send_frag(dev, PEER(5), 21, dg, 0, 800, true), 0);
	assert_int_equal(send_frag(dev, PEER(5), 21, dg, 400, 200, false), 0);
	assert_int_equal(drops(SKB_DROP_REASON_IP_FRAG), bad + 3);
	/* Two different ends. */
	assert_int_equal(send_frag(dev, PEER(5), 22, dg, 800, 100, false), 0);
	assert_int_equal(send_frag(dev, PEER(5), 22, dg, 1000, 100, false), 0);
	assert_int_equal(drops(SKB_DROP_REASON_IP_FRAG), bad + 5);
	/* Data beyond a known end. */
	assert_int_equal(send_frag(dev, PEER(5), 23, dg, 800, 100, false), 0);
	assert_int_equal(send_frag(dev, PEER(5), 23, dg, 896, 104, true), 0);
	assert_int_equal(drops(SKB_DROP_REASON_IP_FRAG), bad + 7);
	/* Fewer than 8 bytes with MF: nothing left once rounded down. */
	assert_int_equal(send_frag(dev, PEER(5), 24, dg, 16, 5, true), 0);
	assert_int_equal(drops(SKB_DROP_REASON_IP_FRAG), bad + 8);
	/* No payload at all. */
	fb_eth(f, fake_our_mac, peer_mac, ETH_P_IP);
	fb_ipv4(IPH(f), PEER(5), OUR_IP, IPPROTO_ICMP_NS, 0);
	put16(IPH(f) + 6, IP_MF | 2);
	fb_ipv4_fix_csum(IPH(f));
	assert_int_equal(fake_rx(dev, f, ETH_HLEN + IP_MIN_HLEN), 0);
	assert_int_equal(drops(SKB_DROP_REASON_IP_FRAG), bad + 9);
	assert_int_equal(snmp_fold_ip(IPSTATS_MIB_REASMFAILS), fails + 6);
	assert_int_equal(ip_frag_queues(), 0);
	assert_int_equal(fake_pool_in_use(), 0);
	(void)len;
}

/* A fragment of MF with a length not a multiple of 8 is cut to one. */
static void test_unaligned_mf_trimmed(void **state)
{
	struct net_device *dev = *state;
	size_t len = echo_dgram(dg, 1000, 7), rl;
	unsigned int nf;

	fake_learn_neigh(dev, PEER(6), peer_mac);
	assert_int_equal(send_frag(dev, PEER(6), 30, dg, 0, 509, true), 0);   /* keeps 504 */
	assert_int_equal(send_frag(dev, PEER(6), 30, dg, 504, len - 504, false), 0);
	rl = collect_reply(dev, rep, &nf);
	assert_echo_reply(rep, rl, dg, len);
}

/* The largest datagram: 65535 bytes in, a 45-fragment reply out. */
static void test_largest_datagram(void **state)
{
	struct net_device *dev = *state;
	size_t len = echo_dgram(dg, IP_MAXPACKET - IP_MIN_HLEN - ICMP_HLEN, 8), rl;
	unsigned int nf, n = 0;

	fake_learn_neigh(dev, PEER(7), peer_mac);
	for (size_t off = 0; off < len; off += 1480, n++) {
		size_t l = len - off < 1480 ? len - off : 1480;

		assert_int_equal(send_frag(dev, PEER(7), 31, dg, off, l, off + l < len), 0);
	}
	assert_int_equal(n, 45);
	rl = collect_reply(dev, rep, &nf);
	assert_int_equal(nf, 45);
	assert_echo_reply(rep, rl, dg, len);
}

static void test_timeout(void **state)
{
	struct net_device *dev = *state;
	uint64_t tmo = snmp_fold_ip(IPSTATS_MIB_REASMTIMEOUT);
	uint64_t fails = snmp_fold_ip(IPSTATS_MIB_REASMFAILS);
	uint64_t dr = drops(SKB_DROP_REASON_FRAG_REASM_TIMEOUT);
	uint64_t texc = snmp_fold_icmp(ICMP_MIB_OUTTIMEEXCDS);
	uint8_t frame[ETH_HLEN + 600];
	size_t len = echo_dgram(dg, 4000, 9), n;
	uint64_t now = ns_jiffies();
	const uint8_t *icmp;

	fake_learn_neigh(dev, PEER(8), peer_mac);
	fake_learn_neigh(dev, PEER(9), peer_mac);
	/* First fragment in: time exceeded, code 1, goes back. */
	assert_int_equal(send_frag(dev, PEER(8), 40, dg, 0, 1480, true), 0);
	assert_int_equal(send_frag(dev, PEER(8), 40, dg, 2960, len - 2960, false), 0);
	/* Without the first fragment: silently dropped (RFC 792). */
	assert_int_equal(send_frag(dev, PEER(9), 41, dg, 1480, 1480, true), 0);
	assert_int_equal(ip_frag_queues(), 2);
	assert_int_equal(ip_frag_run_timers(now + 29000), 0);
	assert_int_equal(ip_frag_queues(), 2);
	assert_int_equal(ip_frag_run_timers(now + 31000), 2);
	assert_int_equal(ip_frag_queues(), 0);
	assert_int_equal(ip_frag_mem(), 0);
	assert_int_equal(snmp_fold_ip(IPSTATS_MIB_REASMTIMEOUT), tmo + 2);
	assert_int_equal(snmp_fold_ip(IPSTATS_MIB_REASMFAILS), fails + 2);
	assert_int_equal(drops(SKB_DROP_REASON_FRAG_REASM_TIMEOUT), dr + 3);
	assert_int_equal(snmp_fold_icmp(ICMP_MIB_OUTTIMEEXCDS), texc + 1);
	assert_int_equal(fake_tx_count(), 1);
	n = fake_tx_pop_frame(frame, sizeof(frame));
	icmp = IPH(frame) + IP_MIN_HLEN;
	assert_memory_equal(IPH(frame) + 16, &(uint32_t){ PEER(8) }, 4);
	assert_int_equal(icmp[0], ICMP_TIME_EXCEEDED);
	assert_int_equal(icmp[1], ICMP_EXC_FRAGTIME);
	/* It quotes the first fragment's header: id 40, MF. */
	assert_int_equal(get16(icmp + ICMP_HLEN + 4), 40);
	assert_int_equal(get16(icmp + ICMP_HLEN + 6), IP_MF);
	assert_true(n <= ETH_HLEN + 576);
}

/* net.ipv4.ipfrag_time decides when. */
static void test_timeout_sysctl(void **state)
{
	struct net_device *dev = *state;
	uint64_t now = ns_jiffies();

	set_sysctl("net.ipv4.ipfrag_time", "2");
	assert_int_equal(send_frag(dev, PEER(10), 42, dg, 1480, 1480, true), 0);
	assert_int_equal(ip_frag_run_timers(now + 1000), 0);
	assert_int_equal(ip_frag_run_timers(now + 2100), 1);
	assert_int_equal(ip_frag_queues(), 0);
}

/*
 * Memory stays at or below ipfrag_high_thresh; the least recently fed
 * queues go first, so a datagram that keeps arriving survives a flood of
 * first fragments that never complete.
 */
static void test_memory_eviction(void **state)
{
	struct net_device *dev = *state;
	uint64_t ev = drops(SKB_DROP_REASON_FRAG_EVICTED);
	uint64_t fails = snmp_fold_ip(IPSTATS_MIB_REASMFAILS);
	size_t len = echo_dgram(dg, 2000, 10), rl, off = 1000;
	uint64_t maxmem = 0;
	unsigned int nf;

	fake_learn_neigh(dev, PEER(11), peer_mac);
	set_sysctl("net.ipv4.ipfrag_high_thresh", "200000");
	set_sysctl("net.ipv4.ipfrag_low_thresh", "100000");
	assert_int_equal(send_frag(dev, PEER(11), 1000, dg, 0, off, true), 0);
	for (uint16_t id = 1; id <= 300; id++) {
		assert_int_equal(send_frag(dev, PEER(12), id, dg, 0, 1480, true), 0);
		if (id % 20 == 0) {
			assert_int_equal(send_frag(dev, PEER(11), 1000, dg, off, 8, true), 0);
			off += 8;
		}
		if (ip_frag_mem() > maxmem)
			maxmem = ip_frag_mem();
	}
	assert_true(maxmem <= 200000);
	assert_true(maxmem > 100000);
	assert_true(drops(SKB_DROP_REASON_FRAG_EVICTED) > ev);
	/* Every evicted queue held one fragment and failed once. */
	assert_int_equal(snmp_fold_ip(IPSTATS_MIB_REASMFAILS) - fails,
			 drops(SKB_DROP_REASON_FRAG_EVICTED) - ev);
	assert_int_equal(send_frag(dev, PEER(11), 1000, dg, off, len - off, false), 0);
	rl = collect_reply(dev, rep, &nf);
	assert_echo_reply(rep, rl, dg, len);

	/* 0 refuses every fragment. */
	ip_frag_flush();
	set_sysctl("net.ipv4.ipfrag_high_thresh", "0");
	ev = drops(SKB_DROP_REASON_FRAG_MEM_LIMIT);
	assert_int_equal(send_frag(dev, PEER(11), 1001, dg, 0, 1480, true), 0);
	assert_int_equal(drops(SKB_DROP_REASON_FRAG_MEM_LIMIT), ev + 1);
	assert_int_equal(ip_frag_queues(), 0);
}

/* ---- output: ip_fragment called directly ----------------------------------- */

static struct sk_buff_head outq;

static int capture_output(struct sk_buff *skb, struct net_device *dev)
{
	(void)dev;
	__skb_queue_tail(&outq, skb);
	return 0;
}

/* A datagram with options RA (copied), RR (not copied), NOOP and @plen bytes. */
static struct sk_buff *out_dgram(size_t plen, uint16_t frag_off)
{
	static const uint8_t opts[12] = { IPOPT_RA, 4, 0, 0, IPOPT_RR, 7, 4, 0, 0, 0, 0,
					  IPOPT_NOOP };
	struct sk_buff *skb = alloc_skb(NS_MAX_HEADER + 32 + (uint32_t)plen);
	uint8_t *ip;

	assert_non_null(skb);
	skb_reserve(skb, NS_MAX_HEADER);
	ip = skb_put(skb, 32 + (uint32_t)plen);
	fb_ipv4(ip, OUR_IP, PEER(20), IPPROTO_UDP_NS, plen);
	ip[0] = 0x48;
	put16(ip + 2, (uint16_t)(32 + plen));
	put16(ip + 6, frag_off);
	memcpy(ip + 20, opts, sizeof(opts));
	for (size_t i = 0; i < plen; i++)
		ip[32 + i] = (uint8_t)(i * 3);
	fb_ipv4_fix_csum(ip);
	skb_reset_network_header(skb);
	memset(skb->cb, 0, sizeof(skb->cb));
	return skb;
}

static void test_fragment_output(void **state)
{
	struct net_device *dev = *state;
	uint64_t creates = snmp_fold_ip(IPSTATS_MIB_FRAGCREATES);
	uint64_t oks = snmp_fold_ip(IPSTATS_MIB_FRAGOKS);
	struct sk_buff *skb = out_dgram(3000, 0);
	size_t expect_len[] = { 1464, 1464, 72 }, off = 0;
	static const uint8_t blank_rr[8] = { 1, 1, 1, 1, 1, 1, 1, 1 };

	skb_queue_head_init(&outq);
	assert_int_equal(ip_fragment(skb, dev, 1500, capture_output), 0);
	assert_int_equal(skb_queue_len(&outq), 3);
	for (unsigned int i = 0; i < 3; i++) {
		struct sk_buff *f = __skb_dequeue(&outq);
		const uint8_t *ip = f->data;

		assert_int_equal(f->len, 32 + expect_len[i]);
		assert_true(f->len <= 1500);
		assert_int_equal(ip[0], 0x48);
		assert_int_equal(get16(ip + 2), f->len);
		assert_int_equal(get16(ip + 6) & IP_OFFSET, off / 8);
		assert_int_equal(!!(get16(ip + 6) & IP_MF), i < 2);
		assert_int_equal(fake_csum(ip, 32), 0);
		assert_int_equal(get16(ip + 4), 0x1234);
		/* RA in every fragment; RR only in the first. */
		assert_int_equal(ip[20], IPOPT_RA);
		if (i == 0)
			assert_int_equal(ip[24], IPOPT_RR);
		else
			assert_memory_equal(ip + 24, blank_rr, 8);
		for (size_t k = 0; k < expect_len[i]; k++)
			assert_int_equal(ip[32 + k], (uint8_t)((off + k) * 3));
		off += expect_len[i];
		consume_skb(f);
	}
	assert_int_equal(snmp_fold_ip(IPSTATS_MIB_FRAGCREATES), creates + 3);
	assert_int_equal(snmp_fold_ip(IPSTATS_MIB_FRAGOKS), oks + 1);
	assert_int_equal(fake_pool_in_use(), 0);
}

/* A fragment that is fragmented again keeps its offset, and MF on its last piece. */
static void test_refragment(void **state)
{
	struct net_device *dev = *state;
	struct sk_buff *skb = out_dgram(1600, IP_MF | 100);

	skb_queue_head_init(&outq);
	assert_int_equal(ip_fragment(skb, dev, 1000, capture_output), 0);
	assert_int_equal(skb_queue_len(&outq), 2);
	for (unsigned int i = 0; i < 2; i++) {
		struct sk_buff *f = __skb_dequeue(&outq);

		assert_int_equal(get16(f->data + 6), IP_MF | (100 + i * 121));
		consume_skb(f);
	}
}

static void test_df_not_fragmented(void **state)
{
	struct net_device *dev = *state;
	uint64_t fails = snmp_fold_ip(IPSTATS_MIB_FRAGFAILS);
	uint64_t big = drops(SKB_DROP_REASON_PKT_TOO_BIG);
	struct sk_buff *skb = out_dgram(3000, IP_DF);

	assert_true(ip_exceeds_mtu(skb, 1500));
	assert_false(ip_exceeds_mtu(skb, 3032));
	skb_queue_head_init(&outq);
	assert_int_equal(ip_fragment(skb, dev, 1500, capture_output), -EMSGSIZE);
	assert_int_equal(skb_queue_len(&outq), 0);
	assert_int_equal(snmp_fold_ip(IPSTATS_MIB_FRAGFAILS), fails + 1);
	assert_int_equal(drops(SKB_DROP_REASON_PKT_TOO_BIG), big + 1);
	/* Our own packet: no ICMP error to ourselves. */
	assert_int_equal(fake_tx_count(), 0);

	skb = out_dgram(3000, 0);
	assert_false(ip_exceeds_mtu(skb, 1500));
	consume_skb(skb);
}

/* An skb holding IPv4 header + 8 bytes (ports 1111 -> 2222) with @frag_off. */
static struct sk_buff *hash_skb(uint32_t saddr, uint16_t id, uint16_t frag_off)
{
	struct sk_buff *skb = alloc_skb(128);
	uint8_t *ip;

	assert_non_null(skb);
	ip = skb_put(skb, IP_MIN_HLEN + 8);
	fb_ipv4(ip, saddr, OUR_IP, IPPROTO_UDP_NS, 8);
	put16(ip + 4, id);
	put16(ip + 6, frag_off);
	put16(ip + 20, 1111);
	put16(ip + 22, 2222);
	skb->protocol = htons(ETH_P_IP);
	return skb;
}

/*
 * RPS: all fragments of a datagram hash alike (addresses and protocol,
 * never ports, not even the first fragment's), so they meet on one
 * worker's reassembly table.
 */
static void test_rps_hash_of_fragments(void **state)
{
	struct sk_buff *first = hash_skb(PEER(30), 1, IP_MF);
	struct sk_buff *middle = hash_skb(PEER(30), 1, IP_MF | 185);
	struct sk_buff *last = hash_skb(PEER(30), 1, 370);
	struct sk_buff *other_id = hash_skb(PEER(30), 2, IP_MF);
	struct sk_buff *whole = hash_skb(PEER(30), 3, 0);
	uint32_t h = skb_get_hash(first);

	(void)state;
	assert_int_equal(skb_get_hash(middle), h);
	assert_int_equal(skb_get_hash(last), h);
	assert_int_equal(skb_get_hash(other_id), h);
	/* A whole datagram's hash includes its ports. */
	put16(whole->data + 20, 1112);
	h = skb_get_hash(whole);
	whole->l4_hash = 0;
	put16(whole->data + 20, 1113);
	assert_int_not_equal(skb_get_hash(whole), h);
	consume_skb(first);
	consume_skb(middle);
	consume_skb(last);
	consume_skb(other_id);
	consume_skb(whole);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, fake_test_setup, fake_test_teardown)
	const struct CMUnitTest tests[] = {
		T(test_in_order),
		T(test_out_of_order),
		T(test_duplicates),
		T(test_overlap),
		T(test_bad_lengths),
		T(test_unaligned_mf_trimmed),
		T(test_largest_datagram),
		T(test_timeout),
		T(test_timeout_sysctl),
		T(test_memory_eviction),
		T(test_fragment_output),
		T(test_refragment),
		T(test_df_not_fragmented),
		T(test_rps_hash_of_fragments),
	};
#undef T

	return cmocka_run_group_tests_name("net/ip_fragment", tests, fake_stack_setup,
					   fake_stack_teardown);
}
