/*
 * Unit tests for GRO: daemon/core/gro.c with the IPv4 and TCP offloads
 * (net/ipv4/ip_offload.c, tcp_offload.c).  Frames built here (checksums
 * by the fakes' reference code) go through napi_gro_receive on a NAPI
 * context of a worker's softnet_data; a packet type registered for IPv4
 * records what comes out of GRO, in order.  Each merge rule and each
 * reason to send a flow up has a test; merged packets are checked as a
 * peer would: IP total length and checksum, TCP checksum, payload bytes,
 * flags, gso_segs; and skb_gso_segment must give back the original wire
 * packets byte for byte.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <string.h>

#include "core/dev.h"
#include "core/gro.h"
#include "core/netdev.h"
#include "core/skb.h"
#include "core/softnet.h"
#include "core/sysctl.h"
#include "net/ethernet/eth.h"
#include "net/ipv4/offload.h"
#include "net/wire/ether.h"
#include "net/wire/ip.h"
#include "net/wire/tcp.h"

#include "../fakes.h"

#define MSS 1448u
#define MAXREC 128

static const uint8_t our_mac[6] = { 0x02, 0, 0, 0, 0, 0x02 };
static const uint8_t peer_mac[6] = { 0x02, 0, 0, 0, 0, 0x01 };

static struct net_device *dev;
static struct napi_struct napi;
static struct skb_pool *pool;
static struct sk_buff *rec[MAXREC];
static unsigned int nrec;

/* What GRO sends up: kept for the test, in order. */
static int rec_rcv(struct sk_buff *skb, struct net_device *d, const struct packet_type *pt)
{
	(void)d;
	(void)pt;
	assert_true(nrec < MAXREC);
	rec[nrec++] = skb;
	return 0;
}

static struct packet_type rec_pt = { .name = "rec", .func = rec_rcv };

/* ---- segments ----------------------------------------------------------------- */

struct segp {
	uint16_t sport;
	uint32_t seq, ack;
	uint8_t flags;
	uint16_t win;
	uint16_t id;
	uint8_t ttl, tos;
	bool df;
	uint32_t tsval;
	uint32_t len;
	uint8_t proto;
	bool bad_csum, ipopt, mf;
	uint32_t pad;                   /* link padding after the datagram */
};

static struct segp seg(uint32_t seq, uint32_t len)
{
	return (struct segp){ .sport = 40000, .seq = seq, .ack = 5000, .flags = TCPHDR_ACK,
			      .win = 1000, .id = (uint16_t)(100 + seq / MSS), .ttl = 64,
			      .df = true, .tsval = 77, .len = len, .proto = IPPROTO_TCP_NS };
}

/* Payload byte at sequence number @x: any merge mistake shows. */
static uint8_t pbyte(uint32_t x)
{
	return (uint8_t)(x * 7u + (x >> 8));
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)get16(p) << 16 | get16(p + 2);
}

static uint8_t csbuf[12 + 70000];

/* RFC 9293 §3.1 with the reference code: 0 for a correct segment. */
static uint16_t tcp_csum_ref(const uint8_t *ip, const uint8_t *seg, size_t len)
{
	memcpy(csbuf, ip + 12, 8);
	csbuf[8] = 0;
	csbuf[9] = IPPROTO_TCP_NS;
	put16(csbuf + 10, (uint16_t)len);
	memcpy(csbuf + 12, seg, len);
	return fake_csum(csbuf, 12 + len);
}

/* A whole frame for @s; returns its length. */
static size_t build(uint8_t *f, const struct segp *s)
{
	uint8_t *ip = f + ETH_HLEN, *th;
	size_t ihl = s->ipopt ? 24 : 20, thl = 32, tot = ihl + thl + s->len;

	memset(f, 0, ETH_HLEN + tot + s->pad);
	memcpy(f, our_mac, 6);
	memcpy(f + 6, peer_mac, 6);
	put16(f + 12, ETH_P_IP);
	ip[0] = (uint8_t)(0x40 | ihl / 4);
	ip[1] = s->tos;
	put16(ip + 2, (uint16_t)tot);
	put16(ip + 4, s->id);
	put16(ip + 6, (uint16_t)((s->df ? IP_DF : 0) | (s->mf ? IP_MF : 0)));
	ip[8] = s->ttl;
	ip[9] = s->proto;
	put32(ip + 12, 0x0ac80001u);
	put32(ip + 16, 0x0ac80002u);
	if (s->ipopt)
		ip[20] = IPOPT_NOOP, ip[21] = IPOPT_NOOP, ip[22] = IPOPT_NOOP, ip[23] = IPOPT_END;
	put16(ip + 10, fake_csum(ip, ihl));
	th = ip + ihl;
	put16(th, s->sport);
	put16(th + 2, 80);
	put32(th + 4, s->seq);
	put32(th + 8, s->ack);
	th[12] = (uint8_t)((thl / 4) << 4);
	th[13] = s->flags;
	put16(th + 14, s->win);
	th[20] = TCPOPT_NOP;
	th[21] = TCPOPT_NOP;
	th[22] = TCPOPT_TIMESTAMP;
	th[23] = TCPOLEN_TIMESTAMP;
	put32(th + 24, s->tsval);
	put32(th + 28, 1234);
	for (uint32_t i = 0; i < s->len; i++)
		th[thl + i] = pbyte(s->seq + i);
	put16(th + 16, tcp_csum_ref(ip, th, thl + s->len));
	if (s->bad_csum)
		th[thl] ^= 0x40;
	return ETH_HLEN + tot + s->pad;
}

static void feed(const struct segp *s)
{
	static uint8_t f[ETH_HLEN + 70000];
	size_t n = build(f, s);
	struct sk_buff *skb = netdev_alloc_skb(dev, (uint32_t)n);

	assert_non_null(skb);
	skb_put_data(skb, f, (uint32_t)n);
	assert_int_equal(eth_type_trans(skb, dev), 0);
	napi_gro_receive(&napi, skb);
}

/*
 * Check recorded packet @i as a peer would: it starts at @seq with @len
 * payload bytes, has TCP flags @flags and stands for @segs wire segments.
 */
static void check_pkt(unsigned int i, uint32_t seq, uint32_t len, uint8_t flags, unsigned int segs)
{
	static uint8_t buf[70000];
	struct sk_buff *skb;
	const uint8_t *ip, *th;
	size_t ihl, thl;

	assert_true(i < nrec);
	skb = rec[i];
	assert_int_equal(skb_copy_bits(skb, 0, buf, skb->len), 0);
	ip = buf;
	ihl = (size_t)(ip[0] & 15) * 4;
	assert_int_equal(get16(ip + 2), skb->len);
	assert_int_equal(fake_csum(ip, ihl), 0);
	th = ip + ihl;
	thl = (size_t)(th[12] >> 4) * 4;
	assert_int_equal(tcp_csum_ref(ip, th, skb->len - ihl), 0);
	assert_int_equal(get32(th + 4), seq);
	assert_int_equal(th[13], flags);
	assert_int_equal(skb->len - ihl - thl, len);
	for (uint32_t k = 0; k < len; k++)
		assert_int_equal(th[thl + k], pbyte(seq + k));
	assert_int_equal(skb_gso_segs(skb), segs);
	assert_int_equal(skb_is_gso(skb), segs > 1);
	assert_int_equal(skb_is_nonlinear(skb), segs > 1);
}

static uint64_t merged(void)
{
	return ns_counter_read(&napi.sd->gro_merged);
}

static uint64_t flushed(void)
{
	return ns_counter_read(&napi.sd->gro_flush);
}

/* ---- fixtures -------------------------------------------------------------------- */

static int group_setup(void **state)
{
	(void)state;
	pool = skb_pool_create("gro", 0);
	if (!pool)
		return -1;
	skb_pool_set_current(pool);
	core_sysctl_init();
	gro_init();
	if (softnet_init(1) != 0)
		return -1;
	dev = alloc_netdev(0, "gro0");
	if (!dev)
		return -1;
	memcpy(dev->dev_addr, our_mac, 6);
	napi.dev = dev;
	napi.sd = softnet_get(0);
	rec_pt.type = htons(ETH_P_IP);
	dev_add_pack(&rec_pt);
	ipv4_offload_init();
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	ipv4_offload_exit();
	dev_remove_pack(&rec_pt);
	free_netdev(dev);
	softnet_destroy();
	skb_pool_set_current(NULL);
	skb_pool_destroy(pool);
	return 0;
}

static int test_setup(void **state)
{
	char err[64];

	(void)state;
	nrec = 0;
	return sysctl_set("net.netstack.gro", "1", err, sizeof(err));
}

static int test_teardown(void **state)
{
	(void)state;
	napi_gro_flush(&napi);
	for (unsigned int i = 0; i < nrec; i++)
		consume_skb(rec[i]);
	nrec = 0;
	/* Every skb, merged members included, went back. */
	return skb_pool_in_use(pool) == 0 ? 0 : -1;
}

/* ---- merging ----------------------------------------------------------------------- */

static void test_merge_in_order(void **state)
{
	uint64_t m0 = merged(), f0 = flushed();

	(void)state;
	for (uint32_t k = 0; k < 5; k++) {
		struct segp s = seg(1000 + k * MSS, MSS);

		feed(&s);
	}
	assert_int_equal(nrec, 0);              /* held until the poll ends */
	assert_int_equal(napi.gro_count, 1);
	napi_gro_flush(&napi);
	assert_int_equal(nrec, 1);
	check_pkt(0, 1000, 5 * MSS, TCPHDR_ACK, 5);
	assert_int_equal(rec[0]->ip_summed, CHECKSUM_UNNECESSARY);
	assert_int_equal(skb_shinfo(rec[0])->gso_size, MSS);
	assert_int_equal(skb_shinfo(rec[0])->gso_type, SKB_GSO_TCPV4);
	assert_int_equal(merged() - m0, 4);
	assert_int_equal(flushed() - f0, 1);
}

/* PSH is merged, ends the burst at once and stays on the merged header. */
static void test_psh_ends_merge(void **state)
{
	struct segp a = seg(1000, MSS), b = seg(1000 + MSS, MSS), c = seg(1000 + 2 * MSS, MSS);

	(void)state;
	b.flags |= TCPHDR_PSH;
	feed(&a);
	feed(&b);
	assert_int_equal(nrec, 1);
	check_pkt(0, 1000, 2 * MSS, TCPHDR_ACK | TCPHDR_PSH, 2);
	feed(&c);
	assert_int_equal(nrec, 1);              /* a new burst starts */
	napi_gro_flush(&napi);
	check_pkt(1, 1000 + 2 * MSS, MSS, TCPHDR_ACK, 1);
}

/* A shorter segment is merged and ends the burst; a longer one is not merged. */
static void test_segment_sizes(void **state)
{
	struct segp a = seg(1000, MSS), b = seg(1000 + MSS, 500);
	struct segp c = seg(5000, 1000), d = seg(6000, MSS);

	(void)state;
	feed(&a);
	feed(&b);
	assert_int_equal(nrec, 1);
	check_pkt(0, 1000, MSS + 500, TCPHDR_ACK, 2);
	feed(&c);
	feed(&d);                               /* > the first segment's size */
	assert_int_equal(nrec, 2);
	check_pkt(1, 5000, 1000, TCPHDR_ACK, 1);
	napi_gro_flush(&napi);
	check_pkt(2, 6000, MSS, TCPHDR_ACK, 1);
}

/* An odd segment size: later payload sums are added at odd offsets (csum_block_add). */
static void test_odd_size_checksum(void **state)
{
	(void)state;
	for (uint32_t k = 0; k < 3; k++) {
		struct segp s = seg(1000 + k * 1001, 1001);

		s.id = (uint16_t)(100 + k);
		feed(&s);
	}
	napi_gro_flush(&napi);
	assert_int_equal(nrec, 1);
	check_pkt(0, 1000, 3 * 1001, TCPHDR_ACK, 3);
}

/* FIN, SYN, RST, URG, CWR: the held flow goes up, then the segment, alone. */
static void test_flags_flush(void **state)
{
	static const uint8_t fl[] = { TCPHDR_FIN, TCPHDR_SYN, TCPHDR_RST, TCPHDR_URG, TCPHDR_CWR };
	uint64_t m0 = merged();

	(void)state;
	for (unsigned int k = 0; k < sizeof(fl); k++) {
		uint32_t base = 100000u * (k + 1);
		struct segp a = seg(base, MSS), b = seg(base + MSS, MSS);

		b.flags |= fl[k];
		nrec = 0;
		feed(&a);
		feed(&b);
		napi_gro_flush(&napi);
		assert_int_equal(nrec, 2);
		check_pkt(0, base, MSS, TCPHDR_ACK, 1);
		check_pkt(1, base + MSS, MSS, (uint8_t)(TCPHDR_ACK | fl[k]), 1);
		consume_skb(rec[0]);
		consume_skb(rec[1]);
		nrec = 0;
	}
	assert_int_equal(merged(), m0);
}

/* A pure ACK is never held: it goes up at once. */
static void test_pure_ack_not_held(void **state)
{
	struct segp a = seg(1000, 0);

	(void)state;
	feed(&a);
	assert_int_equal(nrec, 1);
	assert_int_equal(napi.gro_count, 0);
	check_pkt(0, 1000, 0, TCPHDR_ACK, 1);
}

/* One difference each: the held segment and the new one go up unmerged. */
static void test_header_differences(void **state)
{
	uint64_t m0 = merged();

	(void)state;
	for (unsigned int k = 0; k < 8; k++) {
		struct segp a = seg(1000, MSS), b = seg(1000 + MSS, MSS);

		switch (k) {
		case 0: b.ack++; break;                 /* ack_seq */
		case 1: b.win++; break;                 /* window */
		case 2: b.tsval++; break;               /* option bytes */
		case 3: b.ttl--; break;                 /* IP TTL */
		case 4: b.tos = 4; break;               /* IP TOS */
		case 5: b.df = false; break;            /* IP DF */
		case 6: b.id += 5; break;               /* IP id jumps */
		default: b.seq += 1; break;             /* a gap in sequence */
		}
		feed(&a);
		feed(&b);
		napi_gro_flush(&napi);
		assert_int_equal(nrec, 2);
		check_pkt(0, 1000, MSS, TCPHDR_ACK, 1);
		assert_int_equal(skb_gso_segs(rec[1]), 1);
		consume_skb(rec[0]);
		consume_skb(rec[1]);
		nrec = 0;
	}
	assert_int_equal(merged(), m0);
}

/* IP ids: fixed with DF merges (FIXEDID), fixed without DF does not; a flow keeps its pattern. */
static void test_ip_id_patterns(void **state)
{
	struct segp s;

	(void)state;
	for (uint32_t k = 0; k < 3; k++) {
		s = seg(1000 + k * MSS, MSS);
		s.id = 7;
		feed(&s);
	}
	napi_gro_flush(&napi);
	assert_int_equal(nrec, 1);
	check_pkt(0, 1000, 3 * MSS, TCPHDR_ACK, 3);
	assert_int_equal(skb_shinfo(rec[0])->gso_type, SKB_GSO_TCPV4 | SKB_GSO_TCP_FIXEDID);

	for (uint32_t k = 0; k < 2; k++) {
		s = seg(9000 + k * MSS, MSS);
		s.id = 9;
		s.df = false;
		feed(&s);
	}
	napi_gro_flush(&napi);
	assert_int_equal(nrec, 3);
	assert_int_equal(skb_gso_segs(rec[1]), 1);

	/* Incrementing, then fixed: the third segment does not fit the flow. */
	for (uint32_t k = 0; k < 3; k++) {
		s = seg(20000 + k * MSS, MSS);
		s.id = (uint16_t)(50 + (k ? 1 : 0));
		feed(&s);
	}
	napi_gro_flush(&napi);
	assert_int_equal(nrec, 5);
	check_pkt(3, 20000, 2 * MSS, TCPHDR_ACK, 2);
	check_pkt(4, 20000 + 2 * MSS, MSS, TCPHDR_ACK, 1);
}

/* Not candidates: IP options, a fragment, link padding, not TCP. */
static void test_not_candidates(void **state)
{
	(void)state;
	for (unsigned int k = 0; k < 4; k++) {
		struct segp s = seg(1000, MSS);

		switch (k) {
		case 0: s.ipopt = true; break;
		case 1: s.mf = true; break;
		case 2: s.pad = 6; break;
		default: s.proto = IPPROTO_UDP_NS; break;
		}
		feed(&s);
		assert_int_equal(nrec, k + 1);          /* up at once */
		assert_int_equal(napi.gro_count, 0);
		assert_int_equal(rec[k]->ip_summed, CHECKSUM_NONE);
	}
}

/* A bad checksum: the held flow goes up first, then the segment unmerged and unverified. */
static void test_bad_checksum(void **state)
{
	struct segp a = seg(1000, MSS), b = seg(1000 + MSS, MSS), c = seg(1000, MSS);
	uint64_t m0 = merged();

	(void)state;
	b.bad_csum = true;
	feed(&a);
	feed(&b);
	assert_int_equal(nrec, 2);
	check_pkt(0, 1000, MSS, TCPHDR_ACK, 1);
	assert_int_equal(rec[0]->ip_summed, CHECKSUM_UNNECESSARY);
	assert_int_equal(rec[1]->ip_summed, CHECKSUM_NONE);
	assert_int_equal(skb_gso_segs(rec[1]), 1);
	assert_int_equal(merged(), m0);
	/* A bad first segment is not held either. */
	c.bad_csum = true;
	feed(&c);
	assert_int_equal(nrec, 3);
	assert_int_equal(napi.gro_count, 0);
}

/* No merged packet grows past 65535 bytes of IP. */
static void test_max_size(void **state)
{
	uint32_t segs = 0, bytes = 0;

	(void)state;
	for (uint32_t k = 0; k < 50; k++) {
		struct segp s = seg(1000 + k * MSS, MSS);

		feed(&s);
	}
	napi_gro_flush(&napi);
	assert_int_equal(nrec, 2);
	check_pkt(0, 1000, 45 * MSS, TCPHDR_ACK, 45);  /* 52 + 45 * 1448 = 65212 */
	check_pkt(1, 1000 + 45 * MSS, 5 * MSS, TCPHDR_ACK, 5);
	for (unsigned int i = 0; i < nrec; i++) {
		assert_true(rec[i]->len <= 65535);
		segs += skb_gso_segs(rec[i]);
		bytes += rec[i]->len - 52;
	}
	assert_int_equal(segs, 50);
	assert_int_equal(bytes, 50 * MSS);
}

/* Flows merge separately; the ninth flow pushes the oldest out. */
static void test_flows(void **state)
{
	(void)state;
	for (uint32_t k = 0; k < 3; k++)
		for (uint16_t f = 0; f < 2; f++) {
			struct segp s = seg(1000 + k * MSS, MSS);

			s.sport = (uint16_t)(41000 + f);
			feed(&s);
		}
	napi_gro_flush(&napi);
	assert_int_equal(nrec, 2);
	check_pkt(0, 1000, 3 * MSS, TCPHDR_ACK, 3);
	check_pkt(1, 1000, 3 * MSS, TCPHDR_ACK, 3);
	assert_int_equal(get16(rec[0]->data + 20), 41000);

	for (uint16_t f = 0; f < MAX_GRO_SKBS + 1; f++) {
		struct segp s = seg(1000, MSS);

		s.sport = (uint16_t)(42000 + f);
		feed(&s);
	}
	assert_int_equal(nrec, 3);
	assert_int_equal(get16(rec[2]->data + 20), 42000);
	assert_int_equal(napi.gro_count, MAX_GRO_SKBS);
}

static void test_gro_off(void **state)
{
	char err[64];
	uint64_t m0 = merged();

	(void)state;
	assert_int_equal(sysctl_set("net.netstack.gro", "0", err, sizeof(err)), 0);
	for (uint32_t k = 0; k < 3; k++) {
		struct segp s = seg(1000 + k * MSS, MSS);

		feed(&s);
		assert_int_equal(nrec, k + 1);
	}
	assert_int_equal(merged(), m0);
}

/* skb_gso_segment gives back the wire packets that were merged, byte for byte. */
static void test_gso_segment_roundtrip(void **state)
{
	static uint8_t orig[4][ETH_HLEN + 1600];
	size_t olen[4];
	struct sk_buff *segs, *s;
	unsigned int k = 0;

	(void)state;
	for (uint32_t i = 0; i < 4; i++) {
		struct segp p = seg(1000 + i * MSS, i == 3 ? 700 : MSS);

		if (i == 3)
			p.flags |= TCPHDR_PSH;
		olen[i] = build(orig[i], &p);
		feed(&p);
	}
	assert_int_equal(nrec, 1);
	check_pkt(0, 1000, 3 * MSS + 700, TCPHDR_ACK | TCPHDR_PSH, 4);
	segs = skb_gso_segment(rec[0]);
	assert_non_null(segs);
	for (s = segs; s; s = s->next, k++) {
		assert_true(k < 4);
		assert_false(skb_is_nonlinear(s));
		assert_int_equal(s->len, olen[k] - ETH_HLEN);
		assert_memory_equal(s->data, orig[k] + ETH_HLEN, s->len);
	}
	assert_int_equal(k, 4);
	while (segs) {
		s = segs->next;
		consume_skb(segs);
		segs = s;
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_merge_in_order, test_setup, test_teardown),
		cmocka_unit_test_setup_teardown(test_psh_ends_merge, test_setup, test_teardown),
		cmocka_unit_test_setup_teardown(test_segment_sizes, test_setup, test_teardown),
		cmocka_unit_test_setup_teardown(test_odd_size_checksum, test_setup, test_teardown),
		cmocka_unit_test_setup_teardown(test_flags_flush, test_setup, test_teardown),
		cmocka_unit_test_setup_teardown(test_pure_ack_not_held, test_setup, test_teardown),
		cmocka_unit_test_setup_teardown(test_header_differences, test_setup, test_teardown),
		cmocka_unit_test_setup_teardown(test_ip_id_patterns, test_setup, test_teardown),
		cmocka_unit_test_setup_teardown(test_not_candidates, test_setup, test_teardown),
		cmocka_unit_test_setup_teardown(test_bad_checksum, test_setup, test_teardown),
		cmocka_unit_test_setup_teardown(test_max_size, test_setup, test_teardown),
		cmocka_unit_test_setup_teardown(test_flows, test_setup, test_teardown),
		cmocka_unit_test_setup_teardown(test_gro_off, test_setup, test_teardown),
		cmocka_unit_test_setup_teardown(test_gso_segment_roundtrip, test_setup, test_teardown),
	};

	return cmocka_run_group_tests_name("net/gro", tests, group_setup, group_teardown);
}
