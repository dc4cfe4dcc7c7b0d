/*
 * Unit tests for daemon/net/ipv4/ping.c: ICMP datagram ("ping") sockets
 * through the fake Ethernet device at 10.200.0.2/24 — who may create them
 * (net.ipv4.ping_group_range), the identifier as the socket's port (bind,
 * autobind, conflicts), echo replies matched by identifier and delivered
 * as datagrams, echo requests sent with the socket's identifier and a
 * computed checksum, and ICMP errors for our requests (pending error and
 * IP_RECVERR's error queue).
 *
 * No workers run: socket calls execute inline; fake_sock_send rings the
 * doorbell by calling its handler.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <linux/errqueue.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "core/drop.h"
#include "core/netdev.h"
#include "core/sysctl.h"
#include "net/ipv4/pmtu.h"
#include "net/ipv4/snmp.h"
#include "net/socket.h"
#include "net/wire/ether.h"
#include "net/wire/icmp.h"
#include "net/wire/ip.h"

#include "../fakes.h"

static const uint8_t peer_mac[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x01 };

#define OUR_IP htonl(FAKE_OUR_IP_HOST)
#define PEER_IP fake_ip(10, 200, 0, 1)

static const struct sock_cred user = { .uid = 1000, .gid = 100 };

static void set_sysctl(const char *name, const char *value)
{
	char err[128];

	assert_int_equal(sysctl_set(name, value, err, sizeof(err)), 0);
}

static uint64_t drops(enum skb_drop_reason r)
{
	return drop_stats_total(r);
}

static struct sockaddr_in sin4(uint32_t addr, uint16_t port)
{
	struct sockaddr_in s;

	memset(&s, 0, sizeof(s));
	s.sin_family = AF_INET;
	s.sin_addr.s_addr = addr;
	s.sin_port = htons(port);
	return s;
}

static int bind_ident(struct fake_sock *t, uint32_t addr, uint16_t ident)
{
	struct sockaddr_in s = sin4(addr, ident);

	return sock_bind(t->sk, &s, sizeof(s));
}

static uint16_t local_ident(struct fake_sock *t)
{
	struct sockaddr_in s;
	uint32_t len = sizeof(s);

	assert_int_equal(sock_getname(t->sk, &s, &len, false), 0);
	assert_int_equal(len, sizeof(s));
	assert_int_equal(s.sin_family, AF_INET);
	return ntohs(s.sin_port);
}

/* A ping socket for @user with the range opened to its group. */
static void ping_open(struct fake_sock *t)
{
	set_sysctl("net.ipv4.ping_group_range", "100 100");
	assert_int_equal(fake_sock_open(t, &user, AF_INET, SOCK_DGRAM, IPPROTO_ICMP), 0);
}

/* The peer sends an echo reply with @id/@seq and @plen payload bytes (0, 1, ...). */
static void peer_echo_reply(struct net_device *dev, uint16_t id, uint16_t seq, size_t plen)
{
	uint8_t icmp[ICMP_HLEN + 256], payload[256], frame[512];
	size_t n;

	for (size_t i = 0; i < plen; i++)
		payload[i] = (uint8_t)i;
	n = fb_icmp_echo(icmp, ICMP_ECHOREPLY, id, seq, payload, plen);
	n = fb_ip_frame(frame, fake_our_mac, peer_mac, PEER_IP, OUR_IP, IPPROTO_ICMP_NS, icmp, n);
	assert_int_equal(fake_rx(dev, frame, n), 0);
}

/* --- who may create one ---------------------------------------------------- */

static void test_create_group_range(void **state)
{
	const struct sock_cred root = { 0, 0 }, g99 = { 1000, 99 }, g201 = { 1000, 201 };
	const struct ctl_table *t = sysctl_find("net.ipv4.ping_group_range");
	struct fake_sock s;
	char buf[64];

	(void)state;
	/* The kernel's default "1 0" is empty: nobody, and root is no exception. */
	assert_non_null(t);
	sysctl_format(t, buf, sizeof(buf));
	assert_string_equal(buf, "1 0");
	assert_int_equal(fake_sock_open(&s, &root, AF_INET, SOCK_DGRAM, IPPROTO_ICMP), -EACCES);
	assert_int_equal(fake_sock_open(&s, &user, AF_INET, SOCK_DGRAM, IPPROTO_ICMP), -EACCES);

	set_sysctl("net.ipv4.ping_group_range", "100 200");
	assert_int_equal(fake_sock_open(&s, &g99, AF_INET, SOCK_DGRAM, IPPROTO_ICMP), -EACCES);
	assert_int_equal(fake_sock_open(&s, &g201, AF_INET, SOCK_DGRAM, IPPROTO_ICMP), -EACCES);
	assert_int_equal(fake_sock_open(&s, &user, AF_INET, SOCK_DGRAM, IPPROTO_ICMP), 0);
	fake_sock_close(&s);
	/* ICMPv6 ping would be IPv6's. */
	assert_int_equal(fake_sock_open(&s, &user, AF_INET6, SOCK_DGRAM, IPPROTO_ICMP),
			 -EPROTONOSUPPORT);
	/* SOCK_DGRAM's default is still UDP. */
	assert_int_equal(fake_sock_open(&s, &user, AF_INET, SOCK_DGRAM, 0), 0);
	assert_string_equal(s.sk->ops->name, "udp");
	fake_sock_close(&s);

	/* A reversed range is stored as the empty "1 0", as the kernel does. */
	set_sysctl("net.ipv4.ping_group_range", "300 200");
	sysctl_format(t, buf, sizeof(buf));
	assert_string_equal(buf, "1 0");
}

/* --- the identifier --------------------------------------------------------- */

static void test_bind_ident(void **state)
{
	struct fake_sock a, b, c;
	int one = 1;
	uint16_t auto_id;

	(void)state;
	ping_open(&a);
	ping_open(&b);
	ping_open(&c);
	assert_int_equal(bind_ident(&a, 0, 0x1234), 0);
	assert_int_equal(local_ident(&a), 0x1234);
	assert_true(a.shm->state & NS_SS_BOUND);
	/* Bound once. */
	assert_int_equal(bind_ident(&a, 0, 0x1235), -EINVAL);
	/* Identifiers conflict like ports, whatever the addresses... */
	assert_int_equal(bind_ident(&b, OUR_IP, 0x1234), -EADDRINUSE);
	/* ... unless both sockets said SO_REUSEADDR. */
	assert_int_equal(sock_setsockopt(b.sk, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)), 0);
	assert_int_equal(bind_ident(&b, OUR_IP, 0x1234), -EADDRINUSE);
	assert_int_equal(sock_setsockopt(a.sk, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)), 0);
	assert_int_equal(bind_ident(&b, OUR_IP, 0x1234), 0);
	/* Only our addresses (and the wildcard). */
	assert_int_equal(bind_ident(&c, PEER_IP, 7), -EADDRNOTAVAIL);
	assert_int_equal(bind_ident(&c, fake_ip(10, 200, 0, 255), 7), -EADDRNOTAVAIL);
	/* Identifier 0: the next free one, never 0. */
	assert_int_equal(bind_ident(&c, 0, 0), 0);
	auto_id = local_ident(&c);
	assert_int_not_equal(auto_id, 0);
	assert_int_not_equal(auto_id, 0x1234);
	fake_sock_close(&a);
	fake_sock_close(&b);
	fake_sock_close(&c);
	/* Closed: the identifier is free again. */
	ping_open(&a);
	assert_int_equal(bind_ident(&a, 0, 0x1234), 0);
	fake_sock_close(&a);
}

/* --- receive -------------------------------------------------------------- */

static void test_rx_matches_identifier(void **state)
{
	struct net_device *dev = *state;
	struct fake_sock a, b;
	struct ns_dgram h;
	struct sockaddr_in from;
	uint8_t buf[512];
	uint64_t nosock = drops(SKB_DROP_REASON_PING_NO_SOCKET);

	ping_open(&a);
	ping_open(&b);
	assert_int_equal(bind_ident(&a, 0, 0x1111), 0);
	assert_int_equal(bind_ident(&b, OUR_IP, 0x2222), 0);

	peer_echo_reply(dev, 0x2222, 9, 32);
	peer_echo_reply(dev, 0x1111, 5, 16);
	/* Nobody holds 0x3333: dropped with its reason. */
	peer_echo_reply(dev, 0x3333, 1, 8);
	assert_int_equal(drops(SKB_DROP_REASON_PING_NO_SOCKET), nosock + 1);

	/* a: the ICMP header and data, from the peer, port 0. */
	assert_int_equal(fake_sock_recv(&a, &h, buf, sizeof(buf)), 1);
	assert_int_equal(h.len, ICMP_HLEN + 16);
	assert_int_equal(buf[0], ICMP_ECHOREPLY);
	assert_int_equal(buf[4] << 8 | buf[5], 0x1111);
	assert_int_equal(buf[6] << 8 | buf[7], 5);
	assert_int_equal(fake_csum(buf, h.len), 0);
	assert_int_equal(buf[ICMP_HLEN + 15], 15);
	assert_int_equal(h.addrlen, sizeof(from));
	memcpy(&from, h.addr, sizeof(from));
	assert_int_equal(from.sin_family, AF_INET);
	assert_int_equal(from.sin_addr.s_addr, PEER_IP);
	assert_int_equal(from.sin_port, 0);
	assert_int_equal(h.dst, OUR_IP);
	assert_int_equal(h.ttl, 64);
	assert_int_equal(fake_sock_recv(&a, &h, buf, sizeof(buf)), 0);
	/* b, bound to our address, got only its own. */
	assert_int_equal(fake_sock_recv(&b, &h, buf, sizeof(buf)), 1);
	assert_int_equal(buf[4] << 8 | buf[5], 0x2222);
	assert_int_equal(h.len, ICMP_HLEN + 32);
	assert_int_equal(fake_sock_recv(&b, &h, buf, sizeof(buf)), 0);

	/* An echo request to us is still the stack's to answer, not a ping socket's. */
	fake_learn_neigh(dev, PEER_IP, peer_mac);
	{
		uint8_t frame[256];
		size_t n = fb_echo_frame(frame, fake_our_mac, peer_mac, PEER_IP, OUR_IP, 0x1111, 1, 8);

		assert_int_equal(fake_rx(dev, frame, n), 0);
	}
	assert_int_equal(fake_tx_count(), 1);
	assert_int_equal(fake_sock_recv(&a, &h, buf, sizeof(buf)), 0);
	fake_sock_close(&a);
	fake_sock_close(&b);
}

/* --- transmit ---------------------------------------------------------------- */

static void test_tx_rewrites_identifier(void **state)
{
	struct net_device *dev = *state;
	struct sockaddr_in dst = sin4(PEER_IP, 0);
	const struct iphdr *iph;
	uint8_t req[ICMP_HLEN + 20], frame[256];
	uint64_t out8 = 0, invalid = drops(SKB_DROP_REASON_SOCK_SND_ERROR);
	struct fake_sock a;
	size_t n;

	fake_learn_neigh(dev, PEER_IP, peer_mac);
	ping_open(&a);
	/* Unbound: the send autobinds (inet_autobind). */
	memset(req, 0xab, sizeof(req));
	req[0] = ICMP_ECHO;
	req[1] = 0;
	req[4] = 0xde;          /* whatever identifier the application wrote */
	req[5] = 0xad;
	req[6] = 0;
	req[7] = 42;
	for (int i = 0; i <= NS_MAX_WORKERS; i++)
		out8 += ns_counter_read(&ipv4_mibs[i].icmp_out_type[ICMP_ECHO]);
	fake_sock_send(&a, &dst, sizeof(dst), req, sizeof(req));
	assert_int_equal(fake_sock_error(&a), 0);
	assert_true(a.shm->state & NS_SS_BOUND);
	assert_int_equal(fake_tx_count(), 1);
	n = fake_tx_pop_frame(frame, sizeof(frame));
	assert_int_equal(n, ETH_HLEN + IP_MIN_HLEN + sizeof(req));
	iph = (const struct iphdr *)(frame + ETH_HLEN);
	assert_int_equal(iph->protocol, IPPROTO_ICMP_NS);
	assert_int_equal(iph->saddr, OUR_IP);
	assert_int_equal(iph->daddr, PEER_IP);
	/* The socket's identifier replaced the application's; the checksum is right. */
	assert_int_equal(frame[ETH_HLEN + IP_MIN_HLEN + 4] << 8 | frame[ETH_HLEN + IP_MIN_HLEN + 5],
			 local_ident(&a));
	assert_int_equal(frame[ETH_HLEN + IP_MIN_HLEN + 7], 42);
	assert_int_equal(fake_csum(frame + ETH_HLEN + IP_MIN_HLEN, sizeof(req)), 0);
	{
		uint64_t now = 0;

		for (int i = 0; i <= NS_MAX_WORKERS; i++)
			now += ns_counter_read(&ipv4_mibs[i].icmp_out_type[ICMP_ECHO]);
		assert_int_equal(now, out8 + 1);
	}

	/* Only echo requests: a timestamp request is EINVAL, nothing goes out. */
	req[0] = ICMP_TIMESTAMP;
	fake_sock_send(&a, &dst, sizeof(dst), req, sizeof(req));
	assert_int_equal(fake_sock_error(&a), EINVAL);
	assert_int_equal(fake_tx_count(), 0);
	assert_int_equal(drops(SKB_DROP_REASON_SOCK_SND_ERROR), invalid + 1);
	/* Shorter than an ICMP header. */
	req[0] = ICMP_ECHO;
	fake_sock_send(&a, &dst, sizeof(dst), req, 4);
	assert_int_equal(fake_sock_error(&a), EINVAL);
	/* No destination and not connected. */
	fake_sock_send(&a, NULL, 0, req, sizeof(req));
	assert_int_equal(fake_sock_error(&a), EDESTADDRREQ);
	assert_int_equal(fake_tx_count(), 0);
	fake_sock_close(&a);
}

/* --- ICMP errors ----------------------------------------------------------- */

/* The peer answers our echo request (ident, seq) with a host unreachable. */
static void peer_unreach(struct net_device *dev, uint16_t ident, uint16_t seq)
{
	uint8_t quoted[IP_MIN_HLEN + ICMP_HLEN + 8], icmp[ICMP_HLEN + sizeof(quoted)], frame[256];
	uint8_t payload[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	size_t n;

	fb_ipv4(quoted, OUR_IP, fake_ip(10, 200, 0, 77), IPPROTO_ICMP_NS, ICMP_HLEN + 8);
	fb_icmp_echo(quoted + IP_MIN_HLEN, ICMP_ECHO, ident, seq, payload, 8);
	memset(icmp, 0, ICMP_HLEN);
	icmp[0] = ICMP_DEST_UNREACH;
	icmp[1] = 1;    /* host unreachable */
	memcpy(icmp + ICMP_HLEN, quoted, sizeof(quoted));
	{
		uint16_t c = fake_csum(icmp, sizeof(icmp));

		icmp[2] = (uint8_t)(c >> 8);
		icmp[3] = (uint8_t)c;
	}
	n = fb_ip_frame(frame, fake_our_mac, peer_mac, PEER_IP, OUR_IP, IPPROTO_ICMP_NS, icmp,
			sizeof(icmp));
	assert_int_equal(fake_rx(dev, frame, n), 0);
}

static void test_icmp_error(void **state)
{
	struct net_device *dev = *state;
	struct sock_exterr *e;
	struct fake_sock a;
	int one = 1;

	ping_open(&a);
	assert_int_equal(bind_ident(&a, 0, 0x4444), 0);
	/* Unconnected, no IP_RECVERR: a soft error nobody hears about. */
	peer_unreach(dev, 0x4444, 1);
	assert_int_equal(fake_sock_error(&a), 0);
	assert_false(a.shm->state & NS_SS_ERRQUEUE);
	assert_int_equal(sock_recv_error(a.sk, false, &e), -EAGAIN);

	/* IP_RECVERR: the pending error and an error queue entry. */
	assert_int_equal(sock_setsockopt(a.sk, IPPROTO_IP, IP_RECVERR, &one, sizeof(one)), 0);
	peer_unreach(dev, 0x4444, 2);
	/* Not ours: another identifier. */
	peer_unreach(dev, 0x4445, 3);
	assert_int_equal(fake_sock_error(&a), EHOSTUNREACH);
	assert_true(a.shm->state & NS_SS_ERRQUEUE);
	assert_int_equal(sock_recv_error(a.sk, true, &e), 0);          /* peek */
	free(e);
	assert_int_equal(sock_recv_error(a.sk, false, &e), 0);
	assert_int_equal(e->ee_errno, EHOSTUNREACH);
	assert_int_equal(e->ee_origin, SO_EE_ORIGIN_ICMP);
	assert_int_equal(e->ee_type, ICMP_DEST_UNREACH);
	assert_int_equal(e->ee_code, 1);
	assert_int_equal(e->offender, PEER_IP);
	assert_int_equal(e->daddr, fake_ip(10, 200, 0, 77));
	assert_int_equal(e->port, 0);
	/* The payload is our request as quoted: its ICMP header first. */
	assert_int_equal(e->len, ICMP_HLEN + 8);
	assert_int_equal(e->data[0], ICMP_ECHO);
	assert_int_equal(e->data[4] << 8 | e->data[5], 0x4444);
	assert_int_equal(e->data[7], 2);
	free(e);
	assert_false(a.shm->state & NS_SS_ERRQUEUE);
	assert_int_equal(sock_recv_error(a.sk, false, &e), -EAGAIN);
	/* Entries still queued at close are freed with the socket. */
	peer_unreach(dev, 0x4444, 4);
	assert_true(a.shm->state & NS_SS_ERRQUEUE);
	fake_sock_close(&a);
}

/* --- path MTU ------------------------------------------------------------- */

/* The peer's router says our echo request (ident, seq) to the peer needs at most @mtu. */
static void peer_frag_needed(struct net_device *dev, uint16_t ident, uint16_t seq, uint16_t mtu)
{
	uint8_t quoted[IP_MIN_HLEN + ICMP_HLEN + 8], icmp[ICMP_HLEN + sizeof(quoted)], frame[256];
	uint8_t payload[8] = { 0 };
	uint16_t c;
	size_t n;

	fb_ipv4(quoted, OUR_IP, PEER_IP, IPPROTO_ICMP_NS, ICMP_HLEN + 8);
	fb_icmp_echo(quoted + IP_MIN_HLEN, ICMP_ECHO, ident, seq, payload, 8);
	memset(icmp, 0, ICMP_HLEN);
	icmp[0] = ICMP_DEST_UNREACH;
	icmp[1] = ICMP_FRAG_NEEDED;
	icmp[6] = (uint8_t)(mtu >> 8);
	icmp[7] = (uint8_t)mtu;
	memcpy(icmp + ICMP_HLEN, quoted, sizeof(quoted));
	c = fake_csum(icmp, sizeof(icmp));
	icmp[2] = (uint8_t)(c >> 8);
	icmp[3] = (uint8_t)c;
	n = fb_ip_frame(frame, fake_our_mac, peer_mac, PEER_IP, OUR_IP, IPPROTO_ICMP_NS, icmp,
			sizeof(icmp));
	assert_int_equal(fake_rx(dev, frame, n), 0);
}

/* Send an echo request of @len bytes to the peer; the frames that left, or -errno. */
static int ping_send_len(struct fake_sock *a, size_t len, bool *df)
{
	struct sockaddr_in dst = sin4(PEER_IP, 0);
	static uint8_t req[4000];
	uint8_t frame[1600];
	int err, frames = 0;

	memset(req, 0x5a, len);
	req[0] = ICMP_ECHO;
	req[1] = 0;
	fake_sock_send(a, &dst, sizeof(dst), req, len);
	err = fake_sock_error(a);
	if (err)
		return -err;
	*df = false;
	while (fake_tx_count()) {
		const struct iphdr *iph = (const struct iphdr *)(frame + ETH_HLEN);

		assert_true(fake_tx_pop_frame(frame, sizeof(frame)) > ETH_HLEN + IP_MIN_HLEN);
		*df |= (iph->frag_off & htons(IP_DF)) != 0;
		frames++;
	}
	return frames;
}

/*
 * IP_MTU_DISCOVER on ping sockets as on UDP ones: the default (WANT) sets
 * DF on what fits and fragments the rest; "fragmentation needed" quoting
 * our request lowers the destination's path MTU (ping_err); DO refuses an
 * echo over it with EMSGSIZE.
 */
static void test_pmtu(void **state)
{
	struct net_device *dev = *state;
	int val = IP_PMTUDISC_DO;
	struct fake_sock a;
	bool df;

	fake_learn_neigh(dev, PEER_IP, peer_mac);
	ping_open(&a);
	assert_int_equal(bind_ident(&a, 0, 0x5151), 0);
	assert_int_equal(ping_send_len(&a, 1000, &df), 1);
	assert_true(df);
	assert_int_equal(ping_send_len(&a, 3000, &df), 3);
	assert_false(df);

	peer_frag_needed(dev, 0x5151, 1, 1200);
	assert_int_equal(ip_rt_get_pmtu(PEER_IP), 1200);
	assert_int_equal(ping_send_len(&a, 1300, &df), 2);
	assert_false(df);
	assert_int_equal(sock_setsockopt(a.sk, IPPROTO_IP, IP_MTU_DISCOVER, &val, sizeof(val)), 0);
	assert_int_equal(ping_send_len(&a, 1300, &df), -EMSGSIZE);
	assert_int_equal(fake_tx_count(), 0);
	assert_int_equal(ping_send_len(&a, 1000, &df), 1);
	assert_true(df);
	fake_sock_close(&a);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, fake_test_setup, fake_test_teardown)
	const struct CMUnitTest tests[] = {
		T(test_create_group_range),
		T(test_bind_ident),
		T(test_rx_matches_identifier),
		T(test_tx_rewrites_identifier),
		T(test_icmp_error),
		T(test_pmtu),
	};
#undef T

	return cmocka_run_group_tests_name("net/ping", tests, fake_stack_setup,
					   fake_stack_teardown);
}
