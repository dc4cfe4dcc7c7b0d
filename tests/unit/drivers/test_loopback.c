/*
 * Unit tests for daemon/drivers/loopback.c and the routes that use it:
 * lo carries 127/8 and the stack's own addresses (never the fake Ethernet
 * device), counts what it turns around, and 127/8 arriving on a real
 * device is a counted martian.  UDP, ping and raw sockets talk to
 * themselves through it.
 *
 * No workers run: netif_rx delivers at once on the test thread.
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
#include "drivers/loopback.h"
#include "net/ethernet/eth.h"
#include "net/ipv4/devinet.h"
#include "net/ipv4/route.h"
#include "net/socket.h"
#include "net/wire/ether.h"
#include "net/wire/icmp.h"
#include "net/wire/ip.h"

#include "../fakes.h"

static const uint8_t peer_mac[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x01 };

#define OUR_IP htonl(FAKE_OUR_IP_HOST)
#define PEER_IP fake_ip(10, 200, 0, 1)
#define LOCALHOST htonl(INADDR_LOOPBACK)

static struct net_device *lo;

static int setup(void **state)
{
	if (fake_stack_setup(state))
		return -1;
	lo = loopback_create();
	if (!lo)
		return -1;
	lo->header_ops = &eth_header_ops;
	if (inet_addr_add(lo, LOCALHOST, 8) || dev_open(lo))
		return -1;
	return 0;
}

static int teardown(void **state)
{
	int r = fake_stack_teardown(state);   /* inet_exit frees lo's addresses too */

	loopback_destroy(lo);
	return r;
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

static void udp_open_bound(struct fake_sock *t, uint32_t addr, uint16_t port)
{
	struct sockaddr_in s = sin4(addr, port);

	assert_int_equal(fake_sock_open(t, &sock_cred_root, AF_INET, SOCK_DGRAM, 0), 0);
	assert_int_equal(sock_bind(t->sk, &s, sizeof(s)), 0);
}

static void test_device_and_routes(void **state)
{
	struct fib_result res;

	(void)state;
	assert_ptr_equal(loopback_dev, lo);
	assert_string_equal(lo->name, "lo");
	assert_int_equal(lo->mtu, 65536);
	assert_true(atomic_load(&lo->flags) & NETDEV_IFF_LOOPBACK);
	/* All of 127/8 is local, through lo... */
	assert_int_equal(fib_lookup(fake_ip(127, 1, 2, 3), &res), 0);
	assert_int_equal(res.type, RTN_LOCAL);
	assert_ptr_equal(res.dev, lo);
	/* ... and so is our own address on the Ethernet device. */
	assert_int_equal(fib_lookup(OUR_IP, &res), 0);
	assert_int_equal(res.type, RTN_LOCAL);
	assert_ptr_equal(res.dev, lo);
	/* The rest of the subnet is not. */
	assert_int_equal(fib_lookup(PEER_IP, &res), 0);
	assert_int_equal(res.type, RTN_UNICAST);
	assert_ptr_not_equal(res.dev, lo);
}

/*
 * One datagram from an unbound socket to @to_addr:5000 (a socket bound to
 * @bind_addr) through lo; it comes from the route's source @from.
 */
static void udp_roundtrip(uint32_t to_addr, uint32_t bind_addr, uint32_t from)
{
	struct fake_sock rx, tx;
	struct sockaddr_in dst = sin4(to_addr, 5000), src;
	struct rtnl_link_stats64_ns st0, st1;
	struct ns_dgram h;
	uint8_t buf[2048], data[1400];

	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 7);
	udp_open_bound(&rx, bind_addr, 5000);
	assert_int_equal(fake_sock_open(&tx, &sock_cred_root, AF_INET, SOCK_DGRAM, 0), 0);
	dev_get_stats(lo, &st0);
	fake_sock_send(&tx, &dst, sizeof(dst), data, sizeof(data));
	assert_int_equal(fake_sock_error(&tx), 0);
	dev_get_stats(lo, &st1);
	/* Turned around by lo, not sent on the Ethernet device. */
	assert_int_equal(fake_tx_count(), 0);
	assert_int_equal(st1.tx_packets, st0.tx_packets + 1);
	assert_int_equal(st1.rx_packets, st0.rx_packets + 1);
	assert_int_equal(st1.rx_bytes - st0.rx_bytes, IP_MIN_HLEN + 8 + sizeof(data));
	assert_int_equal(fake_sock_recv(&rx, &h, buf, sizeof(buf)), 1);
	assert_int_equal(h.len, sizeof(data));
	assert_memory_equal(buf, data, sizeof(data));
	memcpy(&src, h.addr, sizeof(src));
	assert_int_equal(src.sin_addr.s_addr, from);
	assert_int_equal(h.ifindex, lo->ifindex);
	fake_sock_close(&rx);
	fake_sock_close(&tx);
}

static void test_udp_over_lo(void **state)
{
	(void)state;
	udp_roundtrip(LOCALHOST, 0, LOCALHOST);
	udp_roundtrip(LOCALHOST, LOCALHOST, LOCALHOST);
	/* Any address of 127/8 may be bound and reached; the source is lo's 127.0.0.1. */
	udp_roundtrip(fake_ip(127, 0, 0, 5), fake_ip(127, 0, 0, 5), LOCALHOST);
	/* Our own address goes through lo too, and is its own source. */
	udp_roundtrip(OUR_IP, OUR_IP, OUR_IP);
}

static void test_ping_and_raw_over_lo(void **state)
{
	const struct sock_cred cred = { 0, 0 };
	struct sockaddr_in dst = sin4(LOCALHOST, 0);
	struct fake_sock p, r;
	struct ns_dgram h;
	uint8_t req[ICMP_HLEN + 4] = { ICMP_ECHO, 0, 0, 0, 0, 0, 0, 1, 'p', 'i', 'n', 'g' };
	uint8_t buf[256];
	char err[64];

	(void)state;
	assert_int_equal(sysctl_set("net.ipv4.ping_group_range", "0 0", err, sizeof(err)), 0);
	assert_int_equal(fake_sock_open(&p, &cred, AF_INET, SOCK_DGRAM, IPPROTO_ICMP), 0);
	assert_int_equal(fake_sock_open(&r, &cred, AF_INET, SOCK_RAW, IPPROTO_ICMP), 0);
	/* Request -> lo -> our echo reply -> lo -> the ping socket. */
	fake_sock_send(&p, &dst, sizeof(dst), req, sizeof(req));
	assert_int_equal(fake_sock_error(&p), 0);
	assert_int_equal(fake_sock_recv(&p, &h, buf, sizeof(buf)), 1);
	assert_int_equal(h.len, sizeof(req));
	assert_int_equal(buf[0], ICMP_ECHOREPLY);
	assert_memory_equal(buf + ICMP_HLEN, "ping", 4);
	/* The raw socket saw both, with their headers. */
	assert_int_equal(fake_sock_recv(&r, &h, buf, sizeof(buf)), 1);
	assert_int_equal(buf[IP_MIN_HLEN], ICMP_ECHO);
	assert_int_equal(fake_sock_recv(&r, &h, buf, sizeof(buf)), 1);
	assert_int_equal(buf[IP_MIN_HLEN], ICMP_ECHOREPLY);
	assert_int_equal(fake_tx_count(), 0);
	fake_sock_close(&p);
	fake_sock_close(&r);
}

static void test_martians(void **state)
{
	struct net_device *dev = *state;
	uint64_t dest = drop_stats_total(SKB_DROP_REASON_IP_INVALID_DEST);
	uint64_t src = drop_stats_total(SKB_DROP_REASON_IP_BAD_SRC);
	struct fake_sock rx, tx;
	struct sockaddr_in peer = sin4(PEER_IP, 6000);
	uint8_t udp[16] = { 0x17, 0x70, 0x13, 0x88, 0, 16, 0, 0, 'm', 'a', 'r', 't', 'i', 'a', 'n', '!' };
	uint8_t frame[128], buf[64];
	struct ns_dgram h;
	size_t n;

	/* 127.0.0.1 from the wire is nobody's, even with a socket there. */
	udp_open_bound(&rx, 0, 5000);
	n = fb_ip_frame(frame, fake_our_mac, peer_mac, PEER_IP, LOCALHOST, IPPROTO_UDP_NS, udp,
			sizeof(udp));
	assert_int_equal(fake_rx(dev, frame, n), 0);
	assert_int_equal(drop_stats_total(SKB_DROP_REASON_IP_INVALID_DEST), dest + 1);
	n = fb_ip_frame(frame, fake_our_mac, peer_mac, LOCALHOST, OUR_IP, IPPROTO_UDP_NS, udp,
			sizeof(udp));
	assert_int_equal(fake_rx(dev, frame, n), 0);
	assert_int_equal(drop_stats_total(SKB_DROP_REASON_IP_BAD_SRC), src + 1);
	assert_int_equal(fake_sock_recv(&rx, &h, buf, sizeof(buf)), 0);
	fake_sock_close(&rx);

	/* And a loopback source never leaves through a real device. */
	udp_open_bound(&tx, LOCALHOST, 0);
	fake_learn_neigh(dev, PEER_IP, peer_mac);
	fake_sock_send(&tx, &peer, sizeof(peer), "x", 1);
	assert_int_equal(fake_sock_error(&tx), EINVAL);
	assert_int_equal(fake_tx_count(), 0);
	fake_sock_close(&tx);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, fake_test_setup, fake_test_teardown)
	const struct CMUnitTest tests[] = {
		T(test_device_and_routes),
		T(test_udp_over_lo),
		T(test_ping_and_raw_over_lo),
		T(test_martians),
	};
#undef T

	return cmocka_run_group_tests_name("drivers/loopback", tests, setup, teardown);
}
