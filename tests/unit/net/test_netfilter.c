/*
 * Unit tests for daemon/net/netfilter/: rule parsing and printing, rule
 * matching on crafted IPv4 packets, chain edits (order, positions,
 * counters kept across edits, the empty chain back to NULL), and the hook
 * points in the real receive and transmit path of a fake Ethernet device
 * at 10.200.0.2/24: DROP counted as NETFILTER_DROP, REJECT with ICMP port
 * unreachable and with a TCP reset, COUNT going on, LOCAL_OUT and
 * POST_ROUTING on our replies.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "core/drop.h"
#include "core/netdev.h"
#include "core/skb.h"
#include "core/sysctl.h"
#include "net/netfilter/netfilter.h"
#include "net/wire/ether.h"
#include "net/wire/icmp.h"
#include "net/wire/ip.h"
#include "net/wire/tcp.h"
#include "net/wire/udp.h"

#include "../fakes.h"

#define OUR_IP htonl(FAKE_OUR_IP_HOST)
#define PEER_IP fake_ip(10, 200, 0, 1)
#define IPH(f) ((f) + ETH_HLEN)
#define L4(f) ((f) + ETH_HLEN + IP_MIN_HLEN)

static const uint8_t peer_mac[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x01 };

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void set_sysctl(const char *name, const char *value)
{
	char err[128];

	assert_int_equal(sysctl_set(name, value, err, sizeof(err)), 0);
}

/* Parse @words (blank separated) for @hook into @r; the parser's result. */
static int parse(unsigned int hook, const char *words, struct nf_rule *r, char *err, size_t len)
{
	char buf[256], *argv[32], *save = NULL;
	int argc = 0;

	snprintf(buf, sizeof(buf), "%s", words);
	for (char *t = strtok_r(buf, " ", &save); t && argc < 32; t = strtok_r(NULL, " ", &save))
		argv[argc++] = t;
	return nf_rule_parse(hook, argc, argv, r, err, len);
}

static void add_rule(unsigned int hook, unsigned int pos, const char *words)
{
	struct nf_rule r;
	char err[128] = "";

	if (parse(hook, words, &r, err, sizeof(err)) != 0)
		fail_msg("rule '%s' refused: %s", words, err);
	assert_int_equal(nf_register_rule(hook, pos, &r), 0);
}

struct walk {
	unsigned int n;
	char text[8][128];
	uint64_t packets[8], bytes[8];
};

static void walk_fn(unsigned int hook, unsigned int pos, const struct nf_rule *r, void *arg)
{
	struct walk *w = arg;

	(void)hook;
	assert_int_equal(pos, w->n + 1);
	if (w->n < 8) {
		nf_rule_format(r, w->text[w->n], sizeof(w->text[0]));
		nf_rule_counters(r, &w->packets[w->n], &w->bytes[w->n]);
	}
	w->n++;
}

static struct walk walk(unsigned int hook)
{
	struct walk w;

	memset(&w, 0, sizeof(w));
	nf_chain_walk(hook, walk_fn, &w);
	return w;
}

/* A TCP segment (20-byte header, @plen payload bytes) with a valid checksum. */
static size_t tcp_frame(uint8_t *f, uint32_t saddr, uint32_t daddr, uint16_t sport,
			uint16_t dport, uint32_t seq, uint32_t ack, uint8_t flags, size_t plen)
{
	uint8_t seg[20 + 64], ph[12 + sizeof(seg)];
	struct tcphdr_ns *th = (struct tcphdr_ns *)seg;
	size_t seglen = 20 + plen;

	memset(seg, 0, sizeof(seg));
	th->source = htons(sport);
	th->dest = htons(dport);
	th->seq = htonl(seq);
	th->ack_seq = htonl(ack);
	th->doff_res = 5 << 4;
	th->flags = flags;
	th->window = htons(65535);
	for (size_t i = 0; i < plen; i++)
		seg[20 + i] = (uint8_t)i;
	memcpy(ph, &saddr, 4);
	memcpy(ph + 4, &daddr, 4);
	ph[8] = 0;
	ph[9] = IPPROTO_TCP_NS;
	ph[10] = (uint8_t)(seglen >> 8);
	ph[11] = (uint8_t)seglen;
	memcpy(ph + 12, seg, seglen);
	th->check = htons(fake_csum(ph, 12 + seglen));
	return fb_ip_frame(f, fake_our_mac, peer_mac, saddr, daddr, IPPROTO_TCP_NS, seg, seglen);
}

static size_t udp_frame(uint8_t *f, uint32_t saddr, uint32_t daddr, uint16_t sport,
			uint16_t dport, size_t plen)
{
	uint8_t dgram[UDP_HLEN + 64];
	struct udphdr_ns *uh = (struct udphdr_ns *)dgram;

	memset(dgram, 0x5a, sizeof(dgram));
	uh->source = htons(sport);
	uh->dest = htons(dport);
	uh->len = htons((uint16_t)(UDP_HLEN + plen));
	uh->check = 0;
	return fb_ip_frame(f, fake_our_mac, peer_mac, saddr, daddr, IPPROTO_UDP_NS, dgram,
			   UDP_HLEN + plen);
}

/* An skb holding @len bytes of @frame, its network header at the IP header. */
static struct sk_buff *frame_skb(const uint8_t *frame, size_t len)
{
	struct sk_buff *skb = alloc_skb((uint32_t)len + 64);

	assert_non_null(skb);
	skb_reserve(skb, 32);
	skb_put_data(skb, frame, (uint32_t)len);
	skb_reset_mac_header(skb);
	skb_pull(skb, ETH_HLEN);
	skb_reset_network_header(skb);
	return skb;
}

static bool match(const char *words, unsigned int hook, const uint8_t *frame, size_t len,
		  const struct net_device *in, const struct net_device *out)
{
	struct nf_rule r;
	struct sk_buff *skb;
	char err[128] = "";
	bool m;

	if (parse(hook, words, &r, err, sizeof(err)) != 0)
		fail_msg("rule '%s' refused: %s", words, err);
	skb = frame_skb(frame, len);
	m = nf_rule_match(&r, skb, in, out);
	consume_skb(skb);
	return m;
}

/* ---- parsing and printing ------------------------------------------------ */

static void test_parse_format_round_trip(void **state)
{
	static const struct {
		unsigned int hook;
		const char *in, *out;
	} cases[] = {
		{ NF_INET_LOCAL_IN, "-p tcp --dport 8080 -j DROP", "-p tcp --dport 8080 -j DROP" },
		{ NF_INET_LOCAL_IN, "-j ACCEPT -p udp --sport 1000:2000",
		  "-p udp --sport 1000:2000 -j ACCEPT" },
		{ NF_INET_FORWARD, "-i nst+ -o lo -s 10.200.0.77/24 -d 10.1.2.3",
		  "-i nst+ -o lo -s 10.200.0.0/24 -d 10.1.2.3/32 -j COUNT" },
		{ NF_INET_LOCAL_IN, "-p tcp --syn -j REJECT --reject-with tcp-reset",
		  "-p tcp --tcp-flags FIN,SYN,RST,ACK SYN -j REJECT --reject-with tcp-reset" },
		{ NF_INET_LOCAL_OUT, "-p 47 -j REJECT --reject-with icmp-admin-prohibited",
		  "-p 47 -j REJECT --reject-with icmp-admin-prohibited" },
		{ NF_INET_LOCAL_IN, "-p tcp --tcp-flags ALL NONE --dport :1023",
		  "-p tcp --dport 0:1023 --tcp-flags ALL NONE -j COUNT" },
		{ NF_INET_PRE_ROUTING, "-p icmp -j count", "-p icmp -j COUNT" },
		{ NF_INET_LOCAL_IN, "-j REJECT --reject-with icmp-port-unreachable", "-j REJECT" },
		{ NF_INET_POST_ROUTING, "", "-j COUNT" },
	};
	struct nf_rule r;
	char err[128], out[256];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		err[0] = '\0';
		if (parse(cases[i].hook, cases[i].in, &r, err, sizeof(err)) != 0)
			fail_msg("'%s' refused: %s", cases[i].in, err);
		nf_rule_format(&r, out, sizeof(out));
		assert_string_equal(out, cases[i].out);
		/* The printed form parses to the same rule. */
		{
			struct nf_rule again;
			char out2[256];

			assert_int_equal(parse(cases[i].hook, out, &again, err, sizeof(err)), 0);
			nf_rule_format(&again, out2, sizeof(out2));
			assert_string_equal(out2, out);
		}
	}
}

static void test_parse_errors(void **state)
{
	static const struct {
		unsigned int hook;
		const char *in, *why;
	} cases[] = {
		{ NF_INET_LOCAL_IN, "--dport 80 -j DROP", "need -p tcp or -p udp" },
		{ NF_INET_LOCAL_IN, "-p icmp --dport 80", "need -p tcp or -p udp" },
		{ NF_INET_LOCAL_IN, "-p udp --syn", "TCP flags need -p tcp" },
		{ NF_INET_PRE_ROUTING, "-j REJECT", "REJECT is only for" },
		{ NF_INET_POST_ROUTING, "-j REJECT", "REJECT is only for" },
		{ NF_INET_LOCAL_IN, "-p udp -j REJECT --reject-with tcp-reset", "needs -p tcp" },
		{ NF_INET_LOCAL_IN, "-j DROP --reject-with tcp-reset", "is for -j REJECT" },
		{ NF_INET_LOCAL_OUT, "-i nst0", "-i cannot be used in OUTPUT" },
		{ NF_INET_LOCAL_IN, "-o nst0", "-o cannot be used in INPUT" },
		{ NF_INET_LOCAL_IN, "-s 10.0.0.0/33", "bad or repeated source" },
		{ NF_INET_LOCAL_IN, "-d 10.0.0", "bad or repeated destination" },
		{ NF_INET_LOCAL_IN, "-p tcp --dport 70000", "bad port" },
		{ NF_INET_LOCAL_IN, "-p tcp --dport 90:80", "bad port" },
		{ NF_INET_LOCAL_IN, "-p tcp --dport", "needs a value" },
		{ NF_INET_LOCAL_IN, "-p sctpx", "unknown protocol" },
		{ NF_INET_LOCAL_IN, "-j LOG", "unknown target" },
		{ NF_INET_LOCAL_IN, "-j DROP -j ACCEPT", "target given twice" },
		{ NF_INET_LOCAL_IN, "-p tcp --tcp-flags SYN", "--tcp-flags needs MASK COMP" },
		{ NF_INET_LOCAL_IN, "-p tcp --tcp-flags SYN,BOGUS SYN", "--tcp-flags needs" },
		{ NF_INET_LOCAL_IN, "-x", "needs a value" },
		{ NF_INET_LOCAL_IN, "--frobnicate yes", "unexpected '--frobnicate'" },
		{ NF_INET_LOCAL_IN, "-i averyveryverylongname", "bad or repeated interface" },
	};
	struct nf_rule r;
	char err[128];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		err[0] = '\0';
		if (parse(cases[i].hook, cases[i].in, &r, err, sizeof(err)) != -EINVAL)
			fail_msg("'%s' accepted", cases[i].in);
		if (!strstr(err, cases[i].why))
			fail_msg("'%s': error '%s' lacks '%s'", cases[i].in, err, cases[i].why);
	}
	assert_int_equal(nf_hook_by_name("input"), NF_INET_LOCAL_IN);
	assert_int_equal(nf_hook_by_name("LOCAL_OUT"), NF_INET_LOCAL_OUT);
	assert_int_equal(nf_hook_by_name("post_routing"), NF_INET_POST_ROUTING);
	assert_int_equal(nf_hook_by_name("mangle"), -1);
}

/* ---- matching ------------------------------------------------------------- */

static void test_match_selectors(void **state)
{
	struct net_device *dev = *state;
	uint8_t f[256];
	size_t n = tcp_frame(f, PEER_IP, OUR_IP, 40000, 8080, 1000, 0, TCPHDR_SYN, 0);
	size_t u = 0;
	uint8_t uf[256];

	assert_true(match("", NF_INET_LOCAL_IN, f, n, dev, NULL));
	assert_true(match("-p tcp --dport 8080", NF_INET_LOCAL_IN, f, n, dev, NULL));
	assert_true(match("-p tcp --dport 8000:8100 --sport 40000", NF_INET_LOCAL_IN, f, n, dev,
			  NULL));
	assert_false(match("-p tcp --dport 8081", NF_INET_LOCAL_IN, f, n, dev, NULL));
	assert_false(match("-p tcp --sport 1:39999", NF_INET_LOCAL_IN, f, n, dev, NULL));
	assert_false(match("-p udp", NF_INET_LOCAL_IN, f, n, dev, NULL));
	assert_true(match("-s 10.200.0.0/24 -d 10.200.0.2", NF_INET_LOCAL_IN, f, n, dev, NULL));
	assert_false(match("-s 10.200.1.0/24", NF_INET_LOCAL_IN, f, n, dev, NULL));
	assert_false(match("-d 10.200.0.1", NF_INET_LOCAL_IN, f, n, dev, NULL));
	assert_true(match("-s 0.0.0.0/0", NF_INET_LOCAL_IN, f, n, dev, NULL));
	/* Interfaces: exact, '+' wildcard, none where the point has none. */
	assert_true(match("-i fake0", NF_INET_LOCAL_IN, f, n, dev, NULL));
	assert_true(match("-i fake+", NF_INET_LOCAL_IN, f, n, dev, NULL));
	assert_false(match("-i fake1", NF_INET_LOCAL_IN, f, n, dev, NULL));
	assert_false(match("-i nst+", NF_INET_LOCAL_IN, f, n, dev, NULL));
	assert_false(match("-i fake0", NF_INET_LOCAL_IN, f, n, NULL, NULL));
	assert_true(match("-o fake0", NF_INET_LOCAL_OUT, f, n, NULL, dev));
	/* TCP flags. */
	assert_true(match("-p tcp --syn", NF_INET_LOCAL_IN, f, n, dev, NULL));
	assert_true(match("-p tcp --tcp-flags SYN,ACK SYN", NF_INET_LOCAL_IN, f, n, dev, NULL));
	assert_false(match("-p tcp --tcp-flags SYN,ACK SYN,ACK", NF_INET_LOCAL_IN, f, n, dev,
			   NULL));
	n = tcp_frame(f, PEER_IP, OUR_IP, 40000, 8080, 1000, 5, TCPHDR_SYN | TCPHDR_ACK, 0);
	assert_false(match("-p tcp --syn", NF_INET_LOCAL_IN, f, n, dev, NULL));
	assert_true(match("-p tcp --tcp-flags SYN,ACK SYN,ACK", NF_INET_LOCAL_IN, f, n, dev,
			  NULL));
	/* UDP ports. */
	u = udp_frame(uf, PEER_IP, OUR_IP, 53, 5555, 10);
	assert_true(match("-p udp --dport 5555 --sport 53", NF_INET_LOCAL_IN, uf, u, dev, NULL));
	assert_false(match("-p tcp --dport 5555", NF_INET_LOCAL_IN, uf, u, dev, NULL));
	assert_true(match("-p 17", NF_INET_LOCAL_IN, uf, u, dev, NULL));
}

static void test_match_fragments_and_truncation(void **state)
{
	struct net_device *dev = *state;
	uint8_t f[256];
	size_t n = udp_frame(f, PEER_IP, OUR_IP, 53, 5555, 10);

	/* A non-first fragment has no ports: a port rule never matches it. */
	IPH(f)[6] = 0x00;
	IPH(f)[7] = 0x10;               /* offset 16 * 8 */
	fb_ipv4_fix_csum(IPH(f));
	assert_false(match("-p udp --dport 5555", NF_INET_LOCAL_IN, f, n, dev, NULL));
	assert_true(match("-p udp -s 10.200.0.1", NF_INET_LOCAL_IN, f, n, dev, NULL));
	/* A first fragment (MF, offset 0) still has its header. */
	IPH(f)[6] = 0x20;
	IPH(f)[7] = 0x00;
	fb_ipv4_fix_csum(IPH(f));
	assert_true(match("-p udp --dport 5555", NF_INET_LOCAL_IN, f, n, dev, NULL));
	/* Too short for the ports (or the TCP flags): no match, no read past the end. */
	assert_false(match("-p udp --dport 5555", NF_INET_LOCAL_IN, f, ETH_HLEN + IP_MIN_HLEN + 2,
			   dev, NULL));
	n = tcp_frame(f, PEER_IP, OUR_IP, 1, 2, 0, 0, TCPHDR_SYN, 0);
	assert_true(match("-p tcp --dport 2", NF_INET_LOCAL_IN, f, ETH_HLEN + IP_MIN_HLEN + 4,
			  dev, NULL));
	assert_false(match("-p tcp --syn", NF_INET_LOCAL_IN, f, ETH_HLEN + IP_MIN_HLEN + 12, dev,
			   NULL));
	assert_false(match("", NF_INET_LOCAL_IN, f, ETH_HLEN + 10, dev, NULL));
}

/* ---- chain edits ---------------------------------------------------------- */

static void test_chain_edits(void **state)
{
	struct nf_rule r;
	struct walk w;
	char err[64];

	(void)state;
	assert_null(atomic_load(&nf_hooks[NF_INET_FORWARD]));
	add_rule(NF_INET_FORWARD, 0, "-p tcp -j ACCEPT");
	add_rule(NF_INET_FORWARD, 0, "-p udp -j DROP");
	add_rule(NF_INET_FORWARD, 1, "-p icmp");
	add_rule(NF_INET_FORWARD, 3, "-p 47");
	w = walk(NF_INET_FORWARD);
	assert_int_equal(w.n, 4);
	assert_string_equal(w.text[0], "-p icmp -j COUNT");
	assert_string_equal(w.text[1], "-p tcp -j ACCEPT");
	assert_string_equal(w.text[2], "-p 47 -j COUNT");
	assert_string_equal(w.text[3], "-p udp -j DROP");
	/* Positions past the end + 1 are refused, as iptables -I refuses them. */
	assert_int_equal(parse(NF_INET_FORWARD, "", &r, err, sizeof(err)), 0);
	assert_int_equal(nf_register_rule(NF_INET_FORWARD, 6, &r), -EINVAL);
	assert_int_equal(nf_unregister_rule(NF_INET_FORWARD, 5), -ENOENT);
	assert_int_equal(nf_unregister_rule(NF_INET_FORWARD, 0), -ENOENT);
	assert_int_equal(nf_unregister_rule(NF_INET_LOCAL_IN, 1), -ENOENT);
	assert_int_equal(nf_unregister_rule(NF_INET_FORWARD, 3), 0);
	w = walk(NF_INET_FORWARD);
	assert_int_equal(w.n, 3);
	assert_string_equal(w.text[2], "-p udp -j DROP");
	/* Deleting every rule makes the hook empty again: the fast path. */
	for (int i = 0; i < 3; i++)
		assert_int_equal(nf_unregister_rule(NF_INET_FORWARD, 1), 0);
	assert_null(atomic_load(&nf_hooks[NF_INET_FORWARD]));
	add_rule(NF_INET_FORWARD, 0, "-p tcp");
	add_rule(NF_INET_LOCAL_IN, 0, "-p tcp");
	nf_flush(NF_INET_FORWARD);
	assert_null(atomic_load(&nf_hooks[NF_INET_FORWARD]));
	assert_non_null(atomic_load(&nf_hooks[NF_INET_LOCAL_IN]));
	nf_flush(NF_INET_NUMHOOKS);
	assert_null(atomic_load(&nf_hooks[NF_INET_LOCAL_IN]));
}

/* ---- the hooks in the stack --------------------------------------------- */

static void test_local_in_drop_udp_counts(void **state)
{
	struct net_device *dev = *state;
	uint8_t f[256];
	size_t n = udp_frame(f, PEER_IP, OUR_IP, 53, 5555, 10);
	uint64_t nf0 = drop_stats_total(SKB_DROP_REASON_NETFILTER_DROP);
	uint64_t noport0 = drop_stats_total(SKB_DROP_REASON_UDP_NO_SOCKET);
	struct walk w;

	fake_learn_neigh(dev, PEER_IP, peer_mac);
	set_sysctl("net.ipv4.icmp_ratelimit", "0");
	/* Without a rule: no socket, so an ICMP port unreachable goes back. */
	assert_int_equal(fake_rx(dev, f, n), 0);
	assert_int_equal(fake_tx_count(), 1);
	fake_tx_purge();
	assert_int_equal(drop_stats_total(SKB_DROP_REASON_UDP_NO_SOCKET), noport0 + 1);

	add_rule(NF_INET_LOCAL_IN, 0, "-p udp --dport 5554");   /* no match: 0 */
	add_rule(NF_INET_LOCAL_IN, 0, "-p udp --dport 5555");   /* COUNT, go on */
	add_rule(NF_INET_LOCAL_IN, 0, "-p udp --dport 5555 -j DROP");
	add_rule(NF_INET_LOCAL_IN, 0, "-p udp -j COUNT");       /* after DROP: never */
	for (int i = 0; i < 3; i++)
		assert_int_equal(fake_rx(dev, f, n), 0);
	assert_int_equal(fake_tx_count(), 0);           /* dropped before udp_rcv */
	assert_int_equal(drop_stats_total(SKB_DROP_REASON_NETFILTER_DROP), nf0 + 3);
	assert_int_equal(drop_stats_total(SKB_DROP_REASON_UDP_NO_SOCKET), noport0 + 1);
	w = walk(NF_INET_LOCAL_IN);
	assert_int_equal(w.n, 4);
	assert_int_equal(w.packets[0], 0);
	assert_int_equal(w.packets[1], 3);
	assert_int_equal(w.bytes[1], 3 * (IP_MIN_HLEN + UDP_HLEN + 10));
	assert_int_equal(w.packets[2], 3);
	assert_int_equal(w.bytes[2], 3 * (IP_MIN_HLEN + UDP_HLEN + 10));
	assert_int_equal(w.packets[3], 0);
	/* Inserting in front keeps the others' counters. */
	add_rule(NF_INET_LOCAL_IN, 1, "-p tcp");
	w = walk(NF_INET_LOCAL_IN);
	assert_int_equal(w.packets[3], 3);
	/* Deleting the DROP restores delivery (here: the port unreachable). */
	assert_int_equal(nf_unregister_rule(NF_INET_LOCAL_IN, 4), 0);
	assert_int_equal(fake_rx(dev, f, n), 0);
	assert_int_equal(fake_tx_count(), 1);
	fake_tx_purge();
	w = walk(NF_INET_LOCAL_IN);
	assert_int_equal(w.n, 4);
	assert_int_equal(w.packets[2], 4);      /* the COUNT rule went on counting */
	assert_int_equal(w.packets[3], 1);      /* and the last one now sees it */
	nf_flush(NF_INET_NUMHOOKS);
}

static void test_reject_tcp_reset(void **state)
{
	struct net_device *dev = *state;
	uint8_t f[256], out[256];
	size_t n, len;

	fake_learn_neigh(dev, PEER_IP, peer_mac);
	add_rule(NF_INET_LOCAL_IN, 0, "-p tcp --dport 8080 -j REJECT --reject-with tcp-reset");
	/* A SYN: RST|ACK with seq 0 and ack = its seq + 1. */
	n = tcp_frame(f, PEER_IP, OUR_IP, 40000, 8080, 1000, 0, TCPHDR_SYN, 0);
	assert_int_equal(fake_rx(dev, f, n), 0);
	assert_int_equal(fake_tx_count(), 1);
	len = fake_tx_pop_frame(out, sizeof(out));
	assert_int_equal(len, ETH_HLEN + IP_MIN_HLEN + 20);
	assert_memory_equal(out, peer_mac, 6);
	assert_int_equal(IPH(out)[9], IPPROTO_TCP_NS);
	assert_memory_equal(IPH(out) + 12, &(uint32_t){ OUR_IP }, 4);
	assert_memory_equal(IPH(out) + 16, &(uint32_t){ PEER_IP }, 4);
	assert_int_equal(get16(L4(out)), 8080);
	assert_int_equal(get16(L4(out) + 2), 40000);
	assert_int_equal(get32(L4(out) + 4), 0);
	assert_int_equal(get32(L4(out) + 8), 1001);
	assert_int_equal(L4(out)[13], TCPHDR_RST | TCPHDR_ACK);
	{
		/* The checksum over the pseudo header is valid. */
		uint8_t ph[12 + 20];

		memcpy(ph, IPH(out) + 12, 8);
		ph[8] = 0;
		ph[9] = IPPROTO_TCP_NS;
		ph[10] = 0;
		ph[11] = 20;
		memcpy(ph + 12, L4(out), 20);
		assert_int_equal(fake_csum(ph, sizeof(ph)), 0);
	}
	/* A segment with ACK and 10 bytes: RST with seq = its ack. */
	n = tcp_frame(f, PEER_IP, OUR_IP, 40000, 8080, 5000, 777, TCPHDR_ACK | TCPHDR_PSH, 10);
	assert_int_equal(fake_rx(dev, f, n), 0);
	len = fake_tx_pop_frame(out, sizeof(out));
	assert_int_equal(get32(L4(out) + 4), 777);
	assert_int_equal(L4(out)[13], TCPHDR_RST);
	/* Never a RST for a RST. */
	n = tcp_frame(f, PEER_IP, OUR_IP, 40000, 8080, 5000, 0, TCPHDR_RST, 0);
	assert_int_equal(fake_rx(dev, f, n), 0);
	assert_int_equal(fake_tx_count(), 0);
	(void)len;
	nf_flush(NF_INET_NUMHOOKS);
}

static void test_reject_icmp(void **state)
{
	struct net_device *dev = *state;
	uint8_t f[256], out[256];
	size_t n, len;
	uint64_t nf0 = drop_stats_total(SKB_DROP_REASON_NETFILTER_DROP);

	fake_learn_neigh(dev, PEER_IP, peer_mac);
	set_sysctl("net.ipv4.icmp_ratelimit", "0");
	add_rule(NF_INET_LOCAL_IN, 0, "-p tcp --dport 8080 -j REJECT");
	add_rule(NF_INET_LOCAL_IN, 0, "-p udp -j REJECT --reject-with icmp-host-prohibited");
	n = tcp_frame(f, PEER_IP, OUR_IP, 40000, 8080, 1000, 0, TCPHDR_SYN, 0);
	assert_int_equal(fake_rx(dev, f, n), 0);
	len = fake_tx_pop_frame(out, sizeof(out));
	assert_true(len >= ETH_HLEN + IP_MIN_HLEN + 8 + IP_MIN_HLEN + 8);
	assert_int_equal(IPH(out)[9], IPPROTO_ICMP_NS);
	assert_int_equal(L4(out)[0], ICMP_DEST_UNREACH);
	assert_int_equal(L4(out)[1], ICMP_PORT_UNREACH);
	/* It quotes the refused segment's IP header. */
	assert_memory_equal(L4(out) + 8, IPH(f), IP_MIN_HLEN);
	n = udp_frame(f, PEER_IP, OUR_IP, 53, 9, 4);
	assert_int_equal(fake_rx(dev, f, n), 0);
	len = fake_tx_pop_frame(out, sizeof(out));
	assert_int_equal(L4(out)[1], ICMP_HOST_ANO);
	assert_int_equal(drop_stats_total(SKB_DROP_REASON_NETFILTER_DROP), nf0 + 2);
	nf_flush(NF_INET_NUMHOOKS);
}

static void test_output_hooks(void **state)
{
	struct net_device *dev = *state;
	uint8_t f[256];
	size_t n;
	struct walk pre, post, out;

	fake_learn_neigh(dev, PEER_IP, peer_mac);
	add_rule(NF_INET_PRE_ROUTING, 0, "-i fake0 -p icmp");
	add_rule(NF_INET_POST_ROUTING, 0, "-o fake0 -p icmp -d 10.200.0.1");
	n = fb_echo_frame(f, fake_our_mac, peer_mac, PEER_IP, OUR_IP, 7, 1, 32);
	assert_int_equal(fake_rx(dev, f, n), 0);
	assert_int_equal(fake_tx_count(), 1);           /* the echo reply */
	fake_tx_purge();
	/* LOCAL_OUT DROP: the reply is dropped before POST_ROUTING. */
	add_rule(NF_INET_LOCAL_OUT, 0, "-o fake0 -p icmp -j DROP");
	assert_int_equal(fake_rx(dev, f, n), 0);
	assert_int_equal(fake_tx_count(), 0);
	pre = walk(NF_INET_PRE_ROUTING);
	post = walk(NF_INET_POST_ROUTING);
	out = walk(NF_INET_LOCAL_OUT);
	assert_int_equal(pre.packets[0], 2);
	assert_int_equal(pre.bytes[0], 2 * (n - ETH_HLEN));
	assert_int_equal(post.packets[0], 1);
	assert_int_equal(out.packets[0], 1);
	nf_flush(NF_INET_NUMHOOKS);
	assert_int_equal(fake_rx(dev, f, n), 0);
	assert_int_equal(fake_tx_count(), 1);
	fake_tx_purge();
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, fake_test_setup, fake_test_teardown)
	const struct CMUnitTest tests[] = {
		T(test_parse_format_round_trip),
		T(test_parse_errors),
		T(test_match_selectors),
		T(test_match_fragments_and_truncation),
		T(test_chain_edits),
		T(test_local_in_drop_udp_counts),
		T(test_reject_tcp_reset),
		T(test_reject_icmp),
		T(test_output_hooks),
	};
#undef T

	return cmocka_run_group_tests_name("net/netfilter", tests, fake_stack_setup,
					   fake_stack_teardown);
}
