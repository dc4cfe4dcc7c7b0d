/*
 * Unit tests for daemon/net/ipv4/raw.c: raw sockets through the fake
 * Ethernet device at 10.200.0.2/24 — root only (EPERM), the protocol as
 * the port, copies of every matching packet with their IP header before
 * the protocol handler (which still runs), no protocol unreachable for a
 * protocol a raw socket took, ICMP_FILTER, bound and connected matching,
 * and transmit with a header built by the stack or given with IP_HDRINCL
 * (completed, or refused when it does not fit).
 *
 * No workers run: socket calls execute inline.
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

#include "core/drop.h"
#include "core/netdev.h"
#include "core/sysctl.h"
#include "net/ipv4/snmp.h"
#include "net/socket.h"
#include "net/wire/ether.h"
#include "net/wire/icmp.h"
#include "net/wire/ip.h"

#include "../fakes.h"

static const uint8_t peer_mac[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x01 };

#define OUR_IP htonl(FAKE_OUR_IP_HOST)
#define PEER_IP fake_ip(10, 200, 0, 1)
#define OTHER_IP fake_ip(10, 200, 0, 9)

/* linux/icmp.h's SOL_RAW option. */
#define SOL_RAW_T 255
#define ICMP_FILTER_T 1

static const struct sock_cred root = { 0, 0 };
static const struct sock_cred user = { 1000, 1000 };

static struct sockaddr_in sin4(uint32_t addr, uint16_t port)
{
	struct sockaddr_in s;

	memset(&s, 0, sizeof(s));
	s.sin_family = AF_INET;
	s.sin_addr.s_addr = addr;
	s.sin_port = htons(port);
	return s;
}

static void raw_open(struct fake_sock *t, int protocol)
{
	assert_int_equal(fake_sock_open(t, &root, AF_INET, SOCK_RAW, protocol), 0);
}

/* The peer sends @l4 (@len bytes of protocol @proto) from @saddr to us. */
static void peer_send(struct net_device *dev, uint32_t saddr, uint8_t proto, const void *l4,
		      size_t len)
{
	uint8_t frame[1600];
	size_t n = fb_ip_frame(frame, fake_our_mac, peer_mac, saddr, OUR_IP, proto, l4, len);

	assert_int_equal(fake_rx(dev, frame, n), 0);
}

static void peer_echo(struct net_device *dev, uint8_t type, uint16_t id)
{
	uint8_t icmp[ICMP_HLEN + 16], payload[16] = "raw socket test";
	size_t n = fb_icmp_echo(icmp, type, id, 1, payload, sizeof(payload));

	peer_send(dev, PEER_IP, IPPROTO_ICMP_NS, icmp, n);
}

/* --- creation ---------------------------------------------------------------- */

static void test_create(void **state)
{
	struct fake_sock t;
	struct sockaddr_in s;
	uint32_t len = sizeof(s);
	int v = -1;
	uint32_t vlen = sizeof(v);

	(void)state;
	/* CAP_NET_RAW: root's clients only. */
	assert_int_equal(fake_sock_open(&t, &user, AF_INET, SOCK_RAW, IPPROTO_ICMP), -EPERM);
	/* Protocol 0 is no protocol; no IPv6. */
	assert_int_equal(fake_sock_open(&t, &root, AF_INET, SOCK_RAW, 0), -EPROTONOSUPPORT);
	assert_int_equal(fake_sock_open(&t, &root, AF_INET6, SOCK_RAW, IPPROTO_ICMP),
			 -EPROTONOSUPPORT);
	assert_int_equal(fake_sock_open(&t, &root, AF_INET, SOCK_RAW, 263), -EINVAL);

	raw_open(&t, IPPROTO_ICMP);
	assert_string_equal(t.sk->ops->name, "raw");
	/* The protocol is the socket's port from the start. */
	assert_int_equal(sock_getname(t.sk, &s, &len, false), 0);
	assert_int_equal(ntohs(s.sin_port), IPPROTO_ICMP);
	assert_int_equal(sock_getsockopt(t.sk, IPPROTO_IP, IP_HDRINCL, &v, &vlen), 0);
	assert_int_equal(v, 0);
	/* Connected without a port: getpeername says not connected, as inet_getname. */
	s = sin4(PEER_IP, 0);
	assert_int_equal(sock_connect(t.sk, &s, sizeof(s)), 0);
	len = sizeof(s);
	assert_int_equal(sock_getname(t.sk, &s, &len, true), -ENOTCONN);
	fake_sock_close(&t);

	/* IPPROTO_RAW carries its own header. */
	raw_open(&t, IPPROTO_RAW);
	vlen = sizeof(v);
	assert_int_equal(sock_getsockopt(t.sk, IPPROTO_IP, IP_HDRINCL, &v, &vlen), 0);
	assert_int_equal(v, 1);
	/* ICMP_FILTER belongs to ICMP sockets. */
	v = 0;
	assert_int_equal(sock_setsockopt(t.sk, SOL_RAW_T, ICMP_FILTER_T, &v, sizeof(v)),
			 -EOPNOTSUPP);
	assert_int_equal(sock_setsockopt(t.sk, SOL_RAW_T, 2, &v, sizeof(v)), -ENOPROTOOPT);
	fake_sock_close(&t);
}

/* --- receive ----------------------------------------------------------------- */

static void test_rx_copies(void **state)
{
	struct net_device *dev = *state;
	struct fake_sock a, b, u;
	struct sockaddr_in from;
	struct ns_dgram h;
	uint8_t buf[2048];
	const struct iphdr *iph = (const struct iphdr *)buf;

	fake_learn_neigh(dev, PEER_IP, peer_mac);
	raw_open(&a, IPPROTO_ICMP);
	raw_open(&b, IPPROTO_ICMP);
	raw_open(&u, IPPROTO_UDP);

	/* An echo request: each ICMP socket gets it, header included... */
	peer_echo(dev, ICMP_ECHO, 0x77);
	for (int i = 0; i < 2; i++) {
		struct fake_sock *t = i ? &b : &a;

		assert_int_equal(fake_sock_recv(t, &h, buf, sizeof(buf)), 1);
		assert_int_equal(h.len, IP_MIN_HLEN + ICMP_HLEN + 16);
		assert_int_equal(iph_version(iph), 4);
		assert_int_equal(iph->protocol, IPPROTO_ICMP_NS);
		assert_int_equal(iph->saddr, PEER_IP);
		assert_int_equal(ntohs(iph->tot_len), h.len);
		assert_int_equal(buf[IP_MIN_HLEN], ICMP_ECHO);
		memcpy(&from, h.addr, sizeof(from));
		assert_int_equal(from.sin_addr.s_addr, PEER_IP);
		assert_int_equal(from.sin_port, 0);
		assert_int_equal(fake_sock_recv(t, &h, buf, sizeof(buf)), 0);
	}
	/* ... the UDP one does not, and the stack still answers the request. */
	assert_int_equal(fake_sock_recv(&u, &h, buf, sizeof(buf)), 0);
	assert_int_equal(fake_tx_count(), 1);
	fake_tx_purge();

	/* An echo reply nobody's ping socket waits for: the raw copy is its use. */
	{
		uint64_t nosock = drop_stats_total(SKB_DROP_REASON_PING_NO_SOCKET);

		peer_echo(dev, ICMP_ECHOREPLY, 0x78);
		assert_int_equal(drop_stats_total(SKB_DROP_REASON_PING_NO_SOCKET), nosock);
		assert_int_equal(fake_sock_recv(&a, &h, buf, sizeof(buf)), 1);
		assert_int_equal(buf[IP_MIN_HLEN], ICMP_ECHOREPLY);
	}
	fake_sock_close(&a);
	fake_sock_close(&b);
	fake_sock_close(&u);
}

/*
 * Fragments reach raw sockets as the whole datagram, once: ip_defrag runs
 * before raw_local_deliver, as in the kernel's ip_local_deliver.
 */
static void test_rx_reassembled(void **state)
{
	struct net_device *dev = *state;
	static uint8_t icmp[ICMP_HLEN + 2500], payload[2500], buf[4096];
	const struct iphdr *iph = (const struct iphdr *)buf;
	uint8_t f[ETH_HLEN + IP_MIN_HLEN + 1480];
	struct fake_sock a;
	struct ns_dgram h;
	size_t n, off;

	fake_learn_neigh(dev, PEER_IP, peer_mac);
	raw_open(&a, IPPROTO_ICMP);
	for (size_t i = 0; i < sizeof(payload); i++)
		payload[i] = (uint8_t)(i * 13);
	n = fb_icmp_echo(icmp, ICMP_ECHO, 0x99, 1, payload, sizeof(payload));
	for (off = 0; off < n; off += 1480) {
		size_t len = n - off < 1480 ? n - off : 1480;
		uint8_t *ip = f + ETH_HLEN;
		uint16_t fo = (uint16_t)((off >> 3) | (off + len < n ? IP_MF : 0));

		fb_eth(f, fake_our_mac, peer_mac, ETH_P_IP);
		fb_ipv4(ip, PEER_IP, OUR_IP, IPPROTO_ICMP_NS, len);
		ip[4] = 0x12;   /* id */
		ip[5] = 0x34;
		ip[6] = (uint8_t)(fo >> 8);
		ip[7] = (uint8_t)fo;
		fb_ipv4_fix_csum(ip);
		memcpy(ip + IP_MIN_HLEN, icmp + off, len);
		assert_int_equal(fake_rx(dev, f, ETH_HLEN + IP_MIN_HLEN + len), 0);
		if (off == 0)   /* nothing before the datagram is whole */
			assert_int_equal(fake_sock_recv(&a, &h, buf, sizeof(buf)), 0);
	}
	assert_int_equal(fake_sock_recv(&a, &h, buf, sizeof(buf)), 1);
	assert_int_equal(h.len, IP_MIN_HLEN + n);
	assert_int_equal(ntohs(iph->tot_len), IP_MIN_HLEN + n);
	assert_int_equal(iph->frag_off & htons(IP_MF | IP_OFFSET), 0);
	assert_memory_equal(buf + IP_MIN_HLEN, icmp, n);
	assert_int_equal(fake_sock_recv(&a, &h, buf, sizeof(buf)), 0);
	/* The stack answered the request too (in fragments). */
	assert_true(fake_tx_count() >= 2);
	fake_tx_purge();
	fake_sock_close(&a);
}

static void test_rx_unknown_protocol(void **state)
{
	struct net_device *dev = *state;
	uint8_t data[24] = "protocol ninety-nine";
	uint64_t noproto = drop_stats_total(SKB_DROP_REASON_IP_NOPROTO);
	struct fake_sock t;
	struct ns_dgram h;
	uint8_t buf[256];

	fake_learn_neigh(dev, PEER_IP, peer_mac);
	/* Without a raw socket: protocol unreachable, a counted drop. */
	peer_send(dev, PEER_IP, 99, data, sizeof(data));
	assert_int_equal(fake_tx_count(), 1);
	assert_int_equal(drop_stats_total(SKB_DROP_REASON_IP_NOPROTO), noproto + 1);
	fake_tx_purge();
	/* With one: delivered there, no ICMP, no drop. */
	raw_open(&t, 99);
	peer_send(dev, PEER_IP, 99, data, sizeof(data));
	assert_int_equal(fake_tx_count(), 0);
	assert_int_equal(drop_stats_total(SKB_DROP_REASON_IP_NOPROTO), noproto + 1);
	assert_int_equal(fake_sock_recv(&t, &h, buf, sizeof(buf)), 1);
	assert_int_equal(h.len, IP_MIN_HLEN + sizeof(data));
	assert_memory_equal(buf + IP_MIN_HLEN, data, sizeof(data));
	fake_sock_close(&t);
}

static void test_rx_filter_and_binding(void **state)
{
	struct net_device *dev = *state;
	struct fake_sock t;
	struct sockaddr_in s;
	struct ns_dgram h;
	uint8_t buf[256];
	uint32_t filter = 1u << ICMP_ECHO, got = 0;
	uint32_t len = sizeof(got);
	uint16_t two = 0;

	fake_learn_neigh(dev, PEER_IP, peer_mac);
	raw_open(&t, IPPROTO_ICMP);
	/* ICMP_FILTER: a set bit blocks that type. */
	assert_int_equal(sock_setsockopt(t.sk, SOL_RAW_T, ICMP_FILTER_T, &filter, sizeof(filter)), 0);
	assert_int_equal(sock_getsockopt(t.sk, SOL_RAW_T, ICMP_FILTER_T, &got, &len), 0);
	assert_int_equal(len, 4);
	assert_int_equal(got, filter);
	len = sizeof(two);
	assert_int_equal(sock_getsockopt(t.sk, SOL_RAW_T, ICMP_FILTER_T, &two, &len), 0);
	assert_int_equal(len, 2);
	peer_echo(dev, ICMP_ECHO, 1);
	assert_int_equal(fake_sock_recv(&t, &h, buf, sizeof(buf)), 0);
	peer_echo(dev, ICMP_ECHOREPLY, 1);
	assert_int_equal(fake_sock_recv(&t, &h, buf, sizeof(buf)), 1);
	filter = 0;
	assert_int_equal(sock_setsockopt(t.sk, SOL_RAW_T, ICMP_FILTER_T, &filter, sizeof(filter)), 0);

	/* Bound to our address: still ours.  Connected to another peer: not from PEER. */
	s = sin4(OUR_IP, 0);
	assert_int_equal(sock_bind(t.sk, &s, sizeof(s)), 0);
	peer_echo(dev, ICMP_ECHO, 2);
	assert_int_equal(fake_sock_recv(&t, &h, buf, sizeof(buf)), 1);
	s = sin4(OTHER_IP, 0);
	assert_int_equal(sock_connect(t.sk, &s, sizeof(s)), 0);
	peer_echo(dev, ICMP_ECHO, 3);
	assert_int_equal(fake_sock_recv(&t, &h, buf, sizeof(buf)), 0);
	/* Disconnected: it hears the world again. */
	s.sin_family = AF_UNSPEC;
	assert_int_equal(sock_connect(t.sk, &s, sizeof(s)), 0);
	peer_echo(dev, ICMP_ECHO, 4);
	assert_int_equal(fake_sock_recv(&t, &h, buf, sizeof(buf)), 1);
	/* Binding an address that is not ours. */
	s = sin4(PEER_IP, 0);
	assert_int_equal(sock_bind(t.sk, &s, sizeof(s)), -EADDRNOTAVAIL);
	fake_sock_close(&t);
}

/* --- transmit ---------------------------------------------------------------- */

static void test_tx_built_header(void **state)
{
	struct net_device *dev = *state;
	struct sockaddr_in dst = sin4(PEER_IP, 0);
	uint8_t icmp[ICMP_HLEN + 8], frame[256], payload[8] = "rawdata";
	const struct iphdr *iph = (const struct iphdr *)(frame + ETH_HLEN);
	struct fake_sock t;
	size_t n;

	fake_learn_neigh(dev, PEER_IP, peer_mac);
	raw_open(&t, IPPROTO_ICMP);
	n = fb_icmp_echo(icmp, ICMP_ECHO, 0x99, 7, payload, sizeof(payload));
	fake_sock_send(&t, &dst, sizeof(dst), icmp, (uint32_t)n);
	assert_int_equal(fake_sock_error(&t), 0);
	assert_int_equal(fake_tx_count(), 1);
	assert_int_equal(fake_tx_pop_frame(frame, sizeof(frame)), ETH_HLEN + IP_MIN_HLEN + n);
	assert_int_equal(iph->protocol, IPPROTO_ICMP_NS);
	assert_int_equal(iph->saddr, OUR_IP);
	assert_int_equal(iph->daddr, PEER_IP);
	assert_int_equal(fake_csum(iph, IP_MIN_HLEN), 0);
	/* The data as given: a raw socket computes no ICMP checksum, keeps the identifier. */
	assert_memory_equal(frame + ETH_HLEN + IP_MIN_HLEN, icmp, n);
	fake_sock_close(&t);
}

static void test_tx_hdrincl(void **state)
{
	struct net_device *dev = *state;
	struct sockaddr_in dst = sin4(PEER_IP, 0);
	uint8_t pkt[64], frame[256], payload[8] = "hdrincl";
	const uint32_t plen = IP_MIN_HLEN + ICMP_HLEN + 8;
	struct iphdr *ip = (struct iphdr *)pkt;
	const struct iphdr *iph = (const struct iphdr *)(frame + ETH_HLEN);
	uint64_t invalid = drop_stats_total(SKB_DROP_REASON_SOCK_SND_INVALID);
	struct fake_sock t;
	int one = 1;
	uint8_t big[1600];

	fake_learn_neigh(dev, PEER_IP, peer_mac);
	raw_open(&t, IPPROTO_ICMP);
	assert_int_equal(sock_setsockopt(t.sk, IPPROTO_IP, IP_HDRINCL, &one, sizeof(one)), 0);
	/* Source, ID, total length and checksum 0: the stack fills them in. */
	memset(pkt, 0, sizeof(pkt));
	ip->ihl_version = 0x45;
	ip->ttl = 9;
	ip->protocol = IPPROTO_ICMP_NS;
	ip->daddr = PEER_IP;
	fb_icmp_echo(pkt + IP_MIN_HLEN, ICMP_ECHO, 0x55, 1, payload, sizeof(payload));
	fake_sock_send(&t, &dst, sizeof(dst), pkt, plen);
	assert_int_equal(fake_sock_error(&t), 0);
	assert_int_equal(fake_tx_pop_frame(frame, sizeof(frame)), ETH_HLEN + plen);
	assert_int_equal(iph->saddr, OUR_IP);
	assert_int_equal(ntohs(iph->tot_len), plen);
	assert_int_not_equal(iph->id, 0);
	assert_int_equal(iph->ttl, 9);
	assert_int_equal(fake_csum(iph, IP_MIN_HLEN), 0);
	assert_memory_equal(frame + ETH_HLEN + IP_MIN_HLEN, pkt + IP_MIN_HLEN, ICMP_HLEN + 8);

	/* A header length beyond the data: EINVAL, nothing sent. */
	ip->ihl_version = 0x4f;
	fake_sock_send(&t, &dst, sizeof(dst), pkt, 40);
	assert_int_equal(fake_sock_error(&t), EINVAL);
	assert_int_equal(drop_stats_total(SKB_DROP_REASON_SOCK_SND_INVALID), invalid + 1);
	/* Shorter than a header. */
	fake_sock_send(&t, &dst, sizeof(dst), pkt, 12);
	assert_int_equal(fake_sock_error(&t), EINVAL);
	/* Over the MTU: no fragmenting our own header. */
	memset(big, 0, sizeof(big));
	memcpy(big, pkt, IP_MIN_HLEN);
	big[0] = 0x45;
	fake_sock_send(&t, &dst, sizeof(dst), big, 1501);
	assert_int_equal(fake_sock_error(&t), EMSGSIZE);
	assert_int_equal(fake_tx_count(), 0);
	/* A header length below 5 goes out as given (the kernel's rule). */
	pkt[0] = 0x43;
	fake_sock_send(&t, &dst, sizeof(dst), pkt, plen);
	assert_int_equal(fake_sock_error(&t), 0);
	assert_int_equal(fake_tx_pop_frame(frame, sizeof(frame)), ETH_HLEN + plen);
	assert_memory_equal(frame + ETH_HLEN, pkt, plen);
	fake_sock_close(&t);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, fake_test_setup, fake_test_teardown)
	const struct CMUnitTest tests[] = {
		T(test_create),
		T(test_rx_copies),
		T(test_rx_reassembled),
		T(test_rx_unknown_protocol),
		T(test_rx_filter_and_binding),
		T(test_tx_built_header),
		T(test_tx_hdrincl),
	};
#undef T

	return cmocka_run_group_tests_name("net/raw", tests, fake_stack_setup,
					   fake_stack_teardown);
}
