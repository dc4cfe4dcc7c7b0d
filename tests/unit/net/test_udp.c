/*
 * Unit tests for daemon/net/ipv4/udp.c and daemon/net/socket.c: socket
 * creation errors, bind/connect with the kernel's errno, receive into the
 * shared-memory rx ring (as the client library reads it), transmit from
 * the tx ring, ICMP errors both ways, receive-buffer limits, options, and
 * corrupt rings, through the fake Ethernet device at 10.200.0.2/24.
 *
 * No workers run: the socket layer's calls execute inline on the test
 * thread, and the tests ring the doorbell by calling its handler.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "core/drop.h"
#include "core/netdev.h"
#include "core/sysctl.h"
#include "net/ipv4/pmtu.h"
#include "net/ipv4/snmp.h"
#include "net/socket.h"
#include "net/wire/ether.h"
#include "net/wire/icmp.h"
#include "net/wire/ip.h"
#include "net/wire/udp.h"

#include "../fakes.h"

static const uint8_t peer_mac[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x01 };
static const uint8_t bcast_mac[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

#define OUR_IP htonl(FAKE_OUR_IP_HOST)
#define PEER_IP fake_ip(10, 200, 0, 1)
#define SUBNET_BCAST fake_ip(10, 200, 0, 255)

/* --- a socket with its region, as the session layer would set it up ------ */

struct tsock {
	struct sock *sk;
	unsigned char *mem;
	struct ns_sock_shm *shm;
	struct ns_ring_view rx, tx;     /* the client's views */
	int nfd;
};

static void tsock_open(struct tsock *t, int domain)
{
	uint32_t rx_size, tx_size;

	memset(t, 0, sizeof(*t));
	assert_int_equal(sock_create(domain, SOCK_DGRAM, 0, &t->sk, &rx_size, &tx_size), 0);
	t->mem = aligned_alloc(NS_SHM_PAGE, NS_SHM_PAGE + (size_t)rx_size + tx_size);
	assert_non_null(t->mem);
	memset(t->mem, 0, NS_SHM_PAGE + (size_t)rx_size + tx_size);
	t->shm = (struct ns_sock_shm *)t->mem;
	t->nfd = eventfd(0, EFD_NONBLOCK);
	assert_true(t->nfd >= 0);
	assert_int_equal(sock_attach(t->sk, t->shm, 0, t->mem + NS_SHM_PAGE, NS_SHM_PAGE, rx_size,
				     t->mem + NS_SHM_PAGE + rx_size, NS_SHM_PAGE + rx_size, tx_size,
				     t->nfd, NULL), 0);
	t->rx = (struct ns_ring_view){ &t->shm->rx, t->mem + NS_SHM_PAGE, rx_size };
	t->tx = (struct ns_ring_view){ &t->shm->tx, t->mem + NS_SHM_PAGE + rx_size, tx_size };
}

/* The last reference: the socket closes its eventfds itself. */
static void tsock_close(struct tsock *t)
{
	sock_put(t->sk);
	free(t->mem);
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

static struct sockaddr_in6 sin6_mapped(uint32_t addr, uint16_t port)
{
	struct sockaddr_in6 s;

	memset(&s, 0, sizeof(s));
	s.sin6_family = AF_INET6;
	s.sin6_port = htons(port);
	s.sin6_addr.s6_addr[10] = 0xff;
	s.sin6_addr.s6_addr[11] = 0xff;
	memcpy(&s.sin6_addr.s6_addr[12], &addr, 4);
	return s;
}

static int bind4(struct tsock *t, uint32_t addr, uint16_t port)
{
	struct sockaddr_in s = sin4(addr, port);

	return sock_bind(t->sk, &s, sizeof(s));
}

static int connect4(struct tsock *t, uint32_t addr, uint16_t port)
{
	struct sockaddr_in s = sin4(addr, port);

	return sock_connect(t->sk, &s, sizeof(s));
}

static int set_int(struct tsock *t, int level, int name, int v)
{
	return sock_setsockopt(t->sk, level, name, &v, sizeof(v));
}

static int get_int(struct tsock *t, int level, int name)
{
	int v = -12345;
	uint32_t len = sizeof(v);

	assert_int_equal(sock_getsockopt(t->sk, level, name, &v, &len), 0);
	assert_int_equal(len, sizeof(v));
	return v;
}

static struct sockaddr_in local_name(struct tsock *t)
{
	struct sockaddr_in s;
	uint32_t len = sizeof(s);

	memset(&s, 0xee, sizeof(s));
	assert_int_equal(sock_getname(t->sk, &s, &len, false), 0);
	assert_int_equal(len, sizeof(s));
	assert_int_equal(s.sin_family, AF_INET);
	return s;
}

static void set_sysctl(const char *name, const char *value)
{
	char err[128];

	assert_int_equal(sysctl_set(name, value, err, sizeof(err)), 0);
}

/* Client side: take one record from rx.  1, 0 (empty) or -1 (corrupt). */
static int client_recv(struct tsock *t, struct ns_dgram *h, uint8_t *buf, size_t cap)
{
	uint64_t cons = ns_ring_load_cons(&t->rx);
	uint64_t prod = ns_ring_load_prod(&t->rx);
	const unsigned char *p;
	int r = ns_dgram_peek(&t->rx, &cons, prod, h, &p);

	if (r != 1)
		return r;
	assert_true(h->len <= cap);
	memcpy(buf, p, h->len);
	ns_ring_publish_cons(&t->rx, cons + ns_dgram_record_size(h->len));
	return 1;
}

/* Client side: produce one record into tx (@addr may be NULL: connected). */
static void client_send(struct tsock *t, const void *addr, uint32_t addrlen, const void *data,
			uint32_t len)
{
	uint64_t prod = ns_ring_load_prod(&t->tx);
	uint64_t cons = ns_ring_load_cons(&t->tx);
	struct ns_dgram h;
	uint64_t at = 0;

	memset(&h, 0, sizeof(h));
	h.len = len;
	h.addrlen = addrlen;
	if (addrlen)
		memcpy(h.addr, addr, addrlen);
	assert_true(ns_dgram_reserve(&t->tx, prod, cons, len, &at));
	ns_dgram_write(&t->tx, at, &h, data);
	ns_ring_publish_prod(&t->tx, at + ns_dgram_record_size(len));
}

/* Ring the doorbell as the client would, and run its handler as the owner would. */
static void doorbell(struct tsock *t)
{
	sock_doorbell_handler(t->sk);
}

/* --- frames --------------------------------------------------------------- */

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* RFC 768 checksum with the fakes' own RFC 1071 code: pseudo-header + UDP. */
static uint16_t udp_csum_ref(uint32_t saddr, uint32_t daddr, const uint8_t *udp, size_t len)
{
	static uint8_t buf[12 + 65536];

	assert_true(len <= 65536);
	memcpy(buf, &saddr, 4);
	memcpy(buf + 4, &daddr, 4);
	buf[8] = 0;
	buf[9] = IPPROTO_UDP_NS;
	put16(buf + 10, (uint16_t)len);
	memcpy(buf + 12, udp, len);
	return fake_csum(buf, 12 + len);
}

/* A UDP datagram with a correct checksum; returns its length. */
static size_t fb_udp(uint8_t *buf, uint32_t saddr, uint32_t daddr, uint16_t sport,
		     uint16_t dport, const void *payload, size_t len)
{
	uint16_t c;

	put16(buf, sport);
	put16(buf + 2, dport);
	put16(buf + 4, (uint16_t)(UDP_HLEN + len));
	put16(buf + 6, 0);
	if (len)
		memcpy(buf + UDP_HLEN, payload, len);
	c = udp_csum_ref(saddr, daddr, buf, UDP_HLEN + len);
	put16(buf + 6, c ? c : 0xffff);
	return UDP_HLEN + len;
}

static size_t fb_udp_frame(uint8_t *frame, const uint8_t dmac[6], uint32_t saddr,
			   uint32_t daddr, uint16_t sport, uint16_t dport, const void *payload,
			   size_t len)
{
	uint8_t udp[UDP_HLEN + 1500];
	size_t n = fb_udp(udp, saddr, daddr, sport, dport, payload, len);

	return fb_ip_frame(frame, dmac, peer_mac, saddr, daddr, IPPROTO_UDP_NS, udp, n);
}

/* The peer sends @len bytes of @payload from 10.200.0.1:@sport to us:@dport. */
static void peer_send(struct net_device *dev, uint16_t sport, uint16_t dport, const void *payload,
		      size_t len)
{
	uint8_t frame[1600];
	size_t n = fb_udp_frame(frame, fake_our_mac, PEER_IP, OUR_IP, sport, dport, payload, len);

	assert_int_equal(fake_rx(dev, frame, n), 0);
}

static uint64_t drops(enum skb_drop_reason r)
{
	return drop_stats_total(r);
}

/* --- creation ------------------------------------------------------------- */

static void test_create_errors(void **state)
{
	struct sock *sk;
	uint32_t rx, tx;

	(void)state;
	assert_int_equal(sock_create(AF_UNIX, SOCK_DGRAM, 0, &sk, &rx, &tx), -EAFNOSUPPORT);
	assert_int_equal(sock_create(12345, SOCK_DGRAM, 0, &sk, &rx, &tx), -EAFNOSUPPORT);
	assert_int_equal(sock_create(-1, SOCK_DGRAM, 0, &sk, &rx, &tx), -EAFNOSUPPORT);
	assert_int_equal(sock_create(AF_INET, 99, 0, &sk, &rx, &tx), -EINVAL);
	assert_int_equal(sock_create(AF_INET, SOCK_DGRAM, -1, &sk, &rx, &tx), -EINVAL);
	assert_int_equal(sock_create(AF_INET, SOCK_RAW, 0, &sk, &rx, &tx), -EPROTONOSUPPORT);
	assert_int_equal(sock_create(AF_INET, SOCK_STREAM, IPPROTO_UDP, &sk, &rx, &tx),
			 -EPROTONOSUPPORT);
	assert_int_equal(sock_create(AF_INET, SOCK_SEQPACKET, 0, &sk, &rx, &tx), -ESOCKTNOSUPPORT);
	assert_int_equal(sock_create(AF_INET, 0, 0, &sk, &rx, &tx), -ESOCKTNOSUPPORT);
	assert_int_equal(sock_create(AF_INET, SOCK_DGRAM, IPPROTO_TCP, &sk, &rx, &tx),
			 -EPROTONOSUPPORT);
	assert_int_equal(sock_create(AF_INET6, SOCK_DGRAM, 255, &sk, &rx, &tx), -EPROTONOSUPPORT);

	assert_int_equal(sock_create(AF_INET, SOCK_DGRAM, IPPROTO_UDP, &sk, &rx, &tx), 0);
	assert_int_equal(sk->protocol, IPPROTO_UDP);
	/* rx: a power of two holding a doubled rmem_default; tx: at least wmem_default. */
	assert_int_equal(rx & (rx - 1), 0);
	assert_int_equal(tx & (tx - 1), 0);
	assert_true(rx >= 2 * 212992u);
	assert_true(tx >= 212992u);
	assert_int_equal(sock_count(), 1);
	sock_put(sk);
	assert_int_equal(sock_count(), 0);
}

static void test_attach_fills_control_block(void **state)
{
	struct tsock t;

	(void)state;
	tsock_open(&t, AF_INET);
	assert_int_equal(t.shm->magic, NS_SOCK_MAGIC);
	assert_int_equal(t.shm->kind, NS_SOCK_DGRAM);
	assert_int_equal(t.shm->sock_id, t.sk->id);
	assert_int_equal(t.shm->rx_off, NS_SHM_PAGE);
	assert_int_equal(t.shm->max_dgram, NS_DGRAM_MAX);
	assert_int_equal(t.shm->rcvbuf, 212992);
	assert_int_equal(t.shm->need_kick, 1);
	assert_int_equal(t.shm->state, 0);
	tsock_close(&t);
}

/* --- bind and connect ----------------------------------------------------- */

static void test_bind_errors(void **state)
{
	struct tsock a, b;
	struct sockaddr_in s;

	(void)state;
	tsock_open(&a, AF_INET);
	s = sin4(0, 5000);
	assert_int_equal(sock_bind(a.sk, &s, sizeof(s) - 1), -EINVAL);
	s.sin_family = AF_INET6;
	assert_int_equal(sock_bind(a.sk, &s, sizeof(s)), -EAFNOSUPPORT);
	s = sin4(OUR_IP, 5000);
	s.sin_family = AF_UNSPEC;
	assert_int_equal(sock_bind(a.sk, &s, sizeof(s)), -EAFNOSUPPORT);
	assert_int_equal(bind4(&a, fake_ip(10, 9, 9, 9), 5000), -EADDRNOTAVAIL);
	assert_int_equal(bind4(&a, fake_ip(10, 200, 0, 0), 5000), -EADDRNOTAVAIL);
	s = sin4(0, 5000);
	s.sin_family = AF_UNSPEC;   /* AF_UNSPEC with INADDR_ANY is accepted */
	assert_int_equal(sock_bind(a.sk, &s, sizeof(s)), 0);
	assert_int_equal(a.shm->state & NS_SS_BOUND, NS_SS_BOUND);
	assert_int_equal(bind4(&a, 0, 5001), -EINVAL);   /* already bound */

	tsock_open(&b, AF_INET);
	assert_int_equal(bind4(&b, OUR_IP, 5000), -EADDRINUSE);
	assert_int_equal(bind4(&b, SUBNET_BCAST, 5001), 0);   /* broadcast may be bound */
	assert_int_equal(local_name(&b).sin_addr.s_addr, SUBNET_BCAST);
	tsock_close(&b);
	tsock_close(&a);
}

static void test_bind_reuse(void **state)
{
	struct tsock a, b, c;

	(void)state;
	tsock_open(&a, AF_INET);
	tsock_open(&b, AF_INET);
	tsock_open(&c, AF_INET);
	/* SO_REUSEADDR on both sides shares a port. */
	assert_int_equal(set_int(&a, SOL_SOCKET, SO_REUSEADDR, 1), 0);
	assert_int_equal(set_int(&b, SOL_SOCKET, SO_REUSEADDR, 1), 0);
	assert_int_equal(get_int(&a, SOL_SOCKET, SO_REUSEADDR), 1);
	assert_int_equal(bind4(&a, 0, 6000), 0);
	assert_int_equal(bind4(&b, 0, 6000), 0);
	/* ... and one side alone does not. */
	assert_int_equal(bind4(&c, OUR_IP, 6000), -EADDRINUSE);
	tsock_close(&c);
	tsock_close(&b);
	tsock_close(&a);

	tsock_open(&a, AF_INET);
	tsock_open(&b, AF_INET);
	assert_int_equal(set_int(&a, SOL_SOCKET, SO_REUSEADDR, 1), 0);
	assert_int_equal(set_int(&b, SOL_SOCKET, SO_REUSEPORT, 1), 0);
	assert_int_equal(bind4(&a, 0, 6001), 0);
	assert_int_equal(bind4(&b, 0, 6001), -EADDRINUSE);
	tsock_close(&b);
	tsock_close(&a);
}

static void test_bind_ephemeral(void **state)
{
	struct tsock a, b, c;
	uint16_t pa, pb;

	(void)state;
	tsock_open(&a, AF_INET);
	assert_int_equal(bind4(&a, 0, 0), 0);
	pa = ntohs(local_name(&a).sin_port);
	assert_true(pa >= 32768 && pa <= 60999);
	tsock_close(&a);

	set_sysctl("net.ipv4.ip_local_port_range", "40000 40001");
	tsock_open(&a, AF_INET);
	tsock_open(&b, AF_INET);
	tsock_open(&c, AF_INET);
	assert_int_equal(bind4(&a, 0, 0), 0);
	assert_int_equal(bind4(&b, OUR_IP, 0), 0);
	pa = ntohs(local_name(&a).sin_port);
	pb = ntohs(local_name(&b).sin_port);
	assert_true(pa >= 40000 && pa <= 40001);
	assert_true(pb >= 40000 && pb <= 40001);
	assert_int_not_equal(pa, pb);
	assert_int_equal(bind4(&c, 0, 0), -EADDRINUSE);
	tsock_close(&c);
	tsock_close(&b);
	tsock_close(&a);
}

static void test_connect(void **state)
{
	struct tsock t;
	struct sockaddr_in s;
	uint32_t len = sizeof(s);
	uint16_t port;

	(void)state;
	tsock_open(&t, AF_INET);
	assert_int_equal(connect4(&t, fake_ip(192, 168, 99, 1), 53), -ENETUNREACH);
	assert_int_equal(sock_getname(t.sk, &s, &len, true), -ENOTCONN);
	assert_int_equal(connect4(&t, SUBNET_BCAST, 53), -EACCES);
	assert_int_equal(connect4(&t, PEER_IP, 53), 0);
	s = local_name(&t);
	assert_int_equal(s.sin_addr.s_addr, OUR_IP);   /* the route's source */
	port = ntohs(s.sin_port);
	assert_true(port >= 32768 && port <= 60999);   /* autobound */
	len = sizeof(s);
	assert_int_equal(sock_getname(t.sk, &s, &len, true), 0);
	assert_int_equal(s.sin_addr.s_addr, PEER_IP);
	assert_int_equal(ntohs(s.sin_port), 53);
	assert_int_equal(t.shm->state & (NS_SS_CONNECTED | NS_SS_BOUND),
			 NS_SS_CONNECTED | NS_SS_BOUND);

	/* AF_UNSPEC: the peer goes, and so does the port autobind chose. */
	memset(&s, 0, sizeof(s));
	s.sin_family = AF_UNSPEC;
	assert_int_equal(sock_connect(t.sk, &s, 1), -EINVAL);
	assert_int_equal(sock_connect(t.sk, &s, sizeof(s)), 0);
	len = sizeof(s);
	assert_int_equal(sock_getname(t.sk, &s, &len, true), -ENOTCONN);
	s = local_name(&t);
	assert_int_equal(s.sin_addr.s_addr, 0);
	assert_int_equal(s.sin_port, 0);
	assert_int_equal(t.shm->state & (NS_SS_CONNECTED | NS_SS_BOUND), 0);
	tsock_close(&t);

	/* A port fixed by bind() survives the disconnect; the address reverts. */
	tsock_open(&t, AF_INET);
	assert_int_equal(bind4(&t, 0, 7000), 0);
	assert_int_equal(connect4(&t, PEER_IP, 53), 0);
	assert_int_equal(local_name(&t).sin_addr.s_addr, OUR_IP);
	assert_int_equal(sock_connect(t.sk, NULL, 0), -EINVAL);
	memset(&s, 0, sizeof(s));
	s.sin_family = AF_UNSPEC;
	assert_int_equal(sock_connect(t.sk, &s, sizeof(sa_family_t)), 0);
	s = local_name(&t);
	assert_int_equal(s.sin_addr.s_addr, 0);
	assert_int_equal(ntohs(s.sin_port), 7000);
	assert_int_equal(t.shm->state & (NS_SS_CONNECTED | NS_SS_BOUND), NS_SS_BOUND);
	/* SO_BROADCAST allows the subnet broadcast as a peer. */
	assert_int_equal(set_int(&t, SOL_SOCKET, SO_BROADCAST, 1), 0);
	assert_int_equal(connect4(&t, SUBNET_BCAST, 53), 0);
	tsock_close(&t);
}

static void test_ipv6_socket(void **state)
{
	struct tsock t;
	struct sockaddr_in6 s6, name;
	struct sockaddr_in s;
	uint32_t len;

	(void)state;
	tsock_open(&t, AF_INET6);
	memset(&s6, 0, sizeof(s6));
	s6.sin6_family = AF_INET6;
	s6.sin6_port = htons(8000);
	assert_int_equal(sock_bind(t.sk, &s6, 23), -EINVAL);
	s = sin4(0, 8000);
	assert_int_equal(sock_bind(t.sk, &s, sizeof(s)), -EINVAL);   /* shorter than sin6 */
	s6 = sin6_mapped(fake_ip(10, 1, 1, 1), 8000);
	assert_int_equal(sock_bind(t.sk, &s6, sizeof(s6)), -EADDRNOTAVAIL);
	memset(&s6.sin6_addr, 0, sizeof(s6.sin6_addr));
	s6.sin6_addr.s6_addr[0] = 0x20;
	s6.sin6_addr.s6_addr[1] = 0x01;
	assert_int_equal(sock_bind(t.sk, &s6, sizeof(s6)), -EADDRNOTAVAIL);
	/* v6only forbids v4-mapped bindings. */
	assert_int_equal(set_int(&t, IPPROTO_IPV6, IPV6_V6ONLY, 1), 0);
	s6 = sin6_mapped(OUR_IP, 8000);
	assert_int_equal(sock_bind(t.sk, &s6, sizeof(s6)), -EINVAL);
	assert_int_equal(set_int(&t, IPPROTO_IPV6, IPV6_V6ONLY, 0), 0);
	assert_int_equal(sock_bind(t.sk, &s6, sizeof(s6)), 0);
	assert_int_equal(set_int(&t, IPPROTO_IPV6, IPV6_V6ONLY, 1), -EINVAL);   /* after bind */
	len = sizeof(name);
	assert_int_equal(sock_getname(t.sk, &name, &len, false), 0);
	assert_int_equal(len, sizeof(name));
	assert_int_equal(name.sin6_family, AF_INET6);
	assert_memory_equal(&name.sin6_addr, &s6.sin6_addr, 16);
	assert_int_equal(ntohs(name.sin6_port), 8000);
	assert_int_equal(get_int(&t, SOL_SOCKET, SO_DOMAIN), AF_INET6);

	/* connect takes a v4-mapped peer, and a plain sockaddr_in too. */
	s6 = sin6_mapped(PEER_IP, 53);
	assert_int_equal(sock_connect(t.sk, &s6, sizeof(s6)), 0);
	len = sizeof(name);
	assert_int_equal(sock_getname(t.sk, &name, &len, true), 0);
	assert_memory_equal(&name.sin6_addr, &s6.sin6_addr, 16);
	s = sin4(PEER_IP, 54);
	assert_int_equal(sock_connect(t.sk, &s, sizeof(s)), 0);
	tsock_close(&t);
}

/* --- receive -------------------------------------------------------------- */

static void test_rx_delivers(void **state)
{
	struct net_device *dev = *state;
	uint64_t in = snmp_fold_udp(UDP_MIB_INDATAGRAMS);
	struct tsock t;
	struct ns_dgram h;
	struct sockaddr_in from;
	uint8_t buf[64];
	eventfd_t ev = 0;

	tsock_open(&t, AF_INET);
	assert_int_equal(bind4(&t, 0, 5353), 0);
	atomic_store(&t.shm->client_wait, NS_WAIT_RX);
	peer_send(dev, 4000, 5353, "hello", 5);

	assert_int_equal(client_recv(&t, &h, buf, sizeof(buf)), 1);
	assert_int_equal(h.len, 5);
	assert_memory_equal(buf, "hello", 5);
	assert_int_equal(h.addrlen, sizeof(from));
	memcpy(&from, h.addr, sizeof(from));
	assert_int_equal(from.sin_family, AF_INET);
	assert_int_equal(from.sin_addr.s_addr, PEER_IP);
	assert_int_equal(ntohs(from.sin_port), 4000);
	assert_true(h.flags & NS_DGRAM_F_PKTINFO);
	assert_false(h.flags & NS_DGRAM_F_BCAST);
	assert_int_equal(h.ifindex, dev->ifindex);
	assert_int_equal(h.dst, OUR_IP);
	assert_int_equal(h.ttl, 64);
	assert_int_equal(snmp_fold_udp(UDP_MIB_INDATAGRAMS), in + 1);
	/* The client asked to be woken: one write, and notify_pending set. */
	assert_int_equal(eventfd_read(t.nfd, &ev), 0);
	assert_int_equal(ev, 1);
	assert_int_equal(t.shm->notify_pending, 1);
	/* Already pending: no second write. */
	peer_send(dev, 4000, 5353, "again", 5);
	assert_int_equal(eventfd_read(t.nfd, &ev), -1);
	assert_int_equal(client_recv(&t, &h, buf, sizeof(buf)), 1);
	assert_memory_equal(buf, "again", 5);
	assert_int_equal(client_recv(&t, &h, buf, sizeof(buf)), 0);

	/* An empty datagram is a datagram. */
	peer_send(dev, 4000, 5353, NULL, 0);
	assert_int_equal(client_recv(&t, &h, buf, sizeof(buf)), 1);
	assert_int_equal(h.len, 0);
	tsock_close(&t);
}

static void test_rx_v6_socket(void **state)
{
	struct net_device *dev = *state;
	struct tsock t, v6only;
	struct ns_dgram h;
	struct sockaddr_in6 from, any;
	uint8_t buf[64];
	uint64_t noports;

	tsock_open(&t, AF_INET6);
	memset(&any, 0, sizeof(any));
	any.sin6_family = AF_INET6;
	any.sin6_port = htons(5354);
	assert_int_equal(sock_bind(t.sk, &any, sizeof(any)), 0);
	peer_send(dev, 4001, 5354, "v4", 2);
	assert_int_equal(client_recv(&t, &h, buf, sizeof(buf)), 1);
	assert_int_equal(h.addrlen, sizeof(from));
	memcpy(&from, h.addr, sizeof(from));
	assert_int_equal(from.sin6_family, AF_INET6);
	assert_int_equal(ntohs(from.sin6_port), 4001);
	assert_int_equal(from.sin6_addr.s6_addr[11], 0xff);
	assert_memory_equal(&from.sin6_addr.s6_addr[12], &(uint32_t){ PEER_IP }, 4);
	tsock_close(&t);

	/* A v6only socket hears no IPv4. */
	set_sysctl("net.ipv4.icmp_ratelimit", "0");
	fake_learn_neigh(dev, PEER_IP, peer_mac);
	tsock_open(&v6only, AF_INET6);
	assert_int_equal(set_int(&v6only, IPPROTO_IPV6, IPV6_V6ONLY, 1), 0);
	assert_int_equal(sock_bind(v6only.sk, &any, sizeof(any)), 0);
	noports = snmp_fold_udp(UDP_MIB_NOPORTS);
	peer_send(dev, 4001, 5354, "v4", 2);
	assert_int_equal(client_recv(&v6only, &h, buf, sizeof(buf)), 0);
	assert_int_equal(snmp_fold_udp(UDP_MIB_NOPORTS), noports + 1);
	fake_tx_purge();
	tsock_close(&v6only);
}

static void test_rx_no_socket_port_unreachable(void **state)
{
	struct net_device *dev = *state;
	uint64_t noports = snmp_fold_udp(UDP_MIB_NOPORTS);
	uint64_t nosock = drops(SKB_DROP_REASON_UDP_NO_SOCKET);
	uint8_t frame[256];
	size_t n;

	set_sysctl("net.ipv4.icmp_ratelimit", "0");
	fake_learn_neigh(dev, PEER_IP, peer_mac);
	peer_send(dev, 4002, 9, "closed", 6);
	assert_int_equal(snmp_fold_udp(UDP_MIB_NOPORTS), noports + 1);
	assert_int_equal(drops(SKB_DROP_REASON_UDP_NO_SOCKET), nosock + 1);
	assert_int_equal(fake_tx_count(), 1);
	n = fake_tx_pop_frame(frame, sizeof(frame));
	assert_true(n >= ETH_HLEN + IP_MIN_HLEN + ICMP_HLEN + IP_MIN_HLEN + UDP_HLEN);
	assert_int_equal(frame[ETH_HLEN + 9], IPPROTO_ICMP_NS);
	assert_int_equal(frame[ETH_HLEN + IP_MIN_HLEN], ICMP_DEST_UNREACH);
	assert_int_equal(frame[ETH_HLEN + IP_MIN_HLEN + 1], ICMP_PORT_UNREACH);
	/* It quotes our datagram: destination port 9. */
	assert_int_equal(get16(frame + ETH_HLEN + IP_MIN_HLEN + ICMP_HLEN + IP_MIN_HLEN + 2), 9);
}

static void test_rx_bad_checksum_and_length(void **state)
{
	struct net_device *dev = *state;
	uint64_t csum = snmp_fold_udp(UDP_MIB_INCSUMERRORS);
	uint64_t inerr = snmp_fold_udp(UDP_MIB_INERRORS);
	uint64_t dcsum = drops(SKB_DROP_REASON_UDP_CSUM);
	uint64_t dtrunc = drops(SKB_DROP_REASON_UDP_TRUNCATED);
	struct tsock t;
	struct ns_dgram h;
	uint8_t frame[256], buf[64];
	size_t n;
	uint8_t *udp = frame + ETH_HLEN + IP_MIN_HLEN;

	tsock_open(&t, AF_INET);
	assert_int_equal(bind4(&t, 0, 5355), 0);

	n = fb_udp_frame(frame, fake_our_mac, PEER_IP, OUR_IP, 4003, 5355, "data", 4);
	udp[UDP_HLEN] ^= 0x01;   /* payload changed after the checksum */
	assert_int_equal(fake_rx(dev, frame, n), 0);
	assert_int_equal(snmp_fold_udp(UDP_MIB_INCSUMERRORS), csum + 1);
	assert_int_equal(snmp_fold_udp(UDP_MIB_INERRORS), inerr + 1);
	assert_int_equal(drops(SKB_DROP_REASON_UDP_CSUM), dcsum + 1);
	assert_int_equal(client_recv(&t, &h, buf, sizeof(buf)), 0);

	/* Checksum 0 means "none" and is accepted. */
	put16(udp + 6, 0);
	assert_int_equal(fake_rx(dev, frame, n), 0);
	assert_int_equal(client_recv(&t, &h, buf, sizeof(buf)), 1);
	assert_int_equal(h.len, 4);

	/* Length field beyond the packet, and below the header. */
	put16(udp + 4, 13);
	assert_int_equal(fake_rx(dev, frame, n), 0);
	put16(udp + 4, 7);
	assert_int_equal(fake_rx(dev, frame, n), 0);
	assert_int_equal(drops(SKB_DROP_REASON_UDP_TRUNCATED), dtrunc + 2);
	assert_int_equal(snmp_fold_udp(UDP_MIB_INERRORS), inerr + 3);

	/* A length below the IP payload trims the datagram. */
	put16(udp + 4, UDP_HLEN + 2);
	put16(udp + 6, 0);
	assert_int_equal(fake_rx(dev, frame, n), 0);
	assert_int_equal(client_recv(&t, &h, buf, sizeof(buf)), 1);
	assert_int_equal(h.len, 2);
	assert_memory_equal(buf, "ea", 2);   /* the byte flipped above */
	tsock_close(&t);
}

static void test_rx_rcvbuf_overflow(void **state)
{
	struct net_device *dev = *state;
	uint64_t rcvbuferr = snmp_fold_udp(UDP_MIB_RCVBUFERRORS);
	uint64_t dr = drops(SKB_DROP_REASON_UDP_RCVBUF);
	struct tsock t;
	struct ns_dgram h;
	uint8_t payload[1000], buf[1000];
	int got = 0;

	memset(payload, 0x5a, sizeof(payload));
	tsock_open(&t, AF_INET);
	assert_int_equal(bind4(&t, 0, 5356), 0);
	assert_int_equal(set_int(&t, SOL_SOCKET, SO_RCVBUF, 0), 0);
	assert_int_equal(get_int(&t, SOL_SOCKET, SO_RCVBUF), SOCK_MIN_RCVBUF);
	assert_int_equal(t.shm->rcvbuf, SOCK_MIN_RCVBUF);
	/* 1056-byte records; admitted while what is queued does not exceed 2304. */
	for (int i = 0; i < 4; i++)
		peer_send(dev, 4004, 5356, payload, sizeof(payload));
	while (client_recv(&t, &h, buf, sizeof(buf)) == 1)
		got++;
	assert_int_equal(got, 3);
	assert_int_equal(snmp_fold_udp(UDP_MIB_RCVBUFERRORS), rcvbuferr + 1);
	assert_int_equal(drops(SKB_DROP_REASON_UDP_RCVBUF), dr + 1);
	assert_int_equal(t.shm->rx_dropped, 1);
	assert_int_equal(atomic_load(&t.sk->rx_drops), 1);
	/* Consumed: room again. */
	peer_send(dev, 4004, 5356, payload, sizeof(payload));
	assert_int_equal(client_recv(&t, &h, buf, sizeof(buf)), 1);

	/* SO_RCVBUF is doubled and clamped to rmem_max. */
	assert_int_equal(set_int(&t, SOL_SOCKET, SO_RCVBUF, 10000), 0);
	assert_int_equal(get_int(&t, SOL_SOCKET, SO_RCVBUF), 20000);
	assert_int_equal(set_int(&t, SOL_SOCKET, SO_RCVBUF, -5), 0);
	assert_int_equal(get_int(&t, SOL_SOCKET, SO_RCVBUF), 2 * 212992);
	tsock_close(&t);
}

static void test_rx_corrupt_cons_kills_socket(void **state)
{
	struct net_device *dev = *state;
	struct tsock t;

	tsock_open(&t, AF_INET);
	assert_int_equal(bind4(&t, 0, 5357), 0);
	atomic_store(&t.shm->rx.cons, 12345);   /* beyond prod */
	peer_send(dev, 4005, 5357, "x", 1);
	assert_true(t.shm->state & NS_SS_DEAD);
	peer_send(dev, 4005, 5357, "x", 1);
	assert_int_equal(drops(SKB_DROP_REASON_UDP_SOCK_DEAD) >= 2, 1);
	tsock_close(&t);
}

static void test_rx_broadcast_to_all(void **state)
{
	struct net_device *dev = *state;
	uint64_t ignored = snmp_fold_udp(UDP_MIB_IGNOREDMULTI);
	struct tsock a, b;
	struct ns_dgram h;
	uint8_t frame[256], buf[64];
	size_t n;

	tsock_open(&a, AF_INET);
	tsock_open(&b, AF_INET);
	assert_int_equal(set_int(&a, SOL_SOCKET, SO_REUSEADDR, 1), 0);
	assert_int_equal(set_int(&b, SOL_SOCKET, SO_REUSEADDR, 1), 0);
	assert_int_equal(bind4(&a, 0, 5358), 0);
	assert_int_equal(bind4(&b, 0, 5358), 0);
	n = fb_udp_frame(frame, bcast_mac, PEER_IP, SUBNET_BCAST, 4006, 5358, "all", 3);
	assert_int_equal(fake_rx(dev, frame, n), 0);
	assert_int_equal(client_recv(&a, &h, buf, sizeof(buf)), 1);
	assert_true(h.flags & NS_DGRAM_F_BCAST);
	assert_int_equal(h.dst, SUBNET_BCAST);
	assert_int_equal(client_recv(&b, &h, buf, sizeof(buf)), 1);
	assert_memory_equal(buf, "all", 3);

	/* Nobody on the port: IgnoredMulti, and no ICMP error. */
	n = fb_udp_frame(frame, bcast_mac, PEER_IP, SUBNET_BCAST, 4006, 5359, "none", 4);
	assert_int_equal(fake_rx(dev, frame, n), 0);
	assert_int_equal(snmp_fold_udp(UDP_MIB_IGNOREDMULTI), ignored + 1);
	assert_int_equal(fake_tx_count(), 0);
	tsock_close(&b);
	tsock_close(&a);
}

static void test_rx_lookup_prefers_specific(void **state)
{
	struct net_device *dev = *state;
	struct tsock wild, spec, conn;
	struct ns_dgram h;
	uint8_t buf[64];

	tsock_open(&wild, AF_INET);
	tsock_open(&spec, AF_INET);
	tsock_open(&conn, AF_INET);
	assert_int_equal(set_int(&wild, SOL_SOCKET, SO_REUSEADDR, 1), 0);
	assert_int_equal(set_int(&spec, SOL_SOCKET, SO_REUSEADDR, 1), 0);
	assert_int_equal(set_int(&conn, SOL_SOCKET, SO_REUSEADDR, 1), 0);
	assert_int_equal(bind4(&wild, 0, 5360), 0);
	assert_int_equal(bind4(&conn, 0, 5360), 0);
	assert_int_equal(connect4(&conn, PEER_IP, 4100), 0);
	/* The connected socket takes its peer's datagrams. */
	peer_send(dev, 4100, 5360, "c", 1);
	assert_int_equal(client_recv(&conn, &h, buf, sizeof(buf)), 1);
	assert_int_equal(client_recv(&wild, &h, buf, sizeof(buf)), 0);
	/* Other peers go to the wildcard socket. */
	peer_send(dev, 4101, 5360, "w", 1);
	assert_int_equal(client_recv(&wild, &h, buf, sizeof(buf)), 1);
	assert_int_equal(client_recv(&conn, &h, buf, sizeof(buf)), 0);
	/*
	 * A bound address outranks the wildcard; the connected socket took
	 * our address as its own when it connected, so it still wins for its
	 * peer (as with the kernel's exact-address pass).
	 */
	assert_int_equal(bind4(&spec, OUR_IP, 5360), 0);
	peer_send(dev, 4101, 5360, "s", 1);
	assert_int_equal(client_recv(&spec, &h, buf, sizeof(buf)), 1);
	assert_int_equal(client_recv(&wild, &h, buf, sizeof(buf)), 0);
	peer_send(dev, 4100, 5360, "c", 1);
	assert_int_equal(client_recv(&conn, &h, buf, sizeof(buf)), 1);
	tsock_close(&conn);
	tsock_close(&spec);
	tsock_close(&wild);
}

static void test_rx_reuseport_group(void **state)
{
	struct net_device *dev = *state;
	struct tsock a, b;
	struct ns_dgram h;
	uint8_t buf[64];
	int na = 0, nb = 0;

	tsock_open(&a, AF_INET);
	tsock_open(&b, AF_INET);
	assert_int_equal(set_int(&a, SOL_SOCKET, SO_REUSEPORT, 1), 0);
	assert_int_equal(set_int(&b, SOL_SOCKET, SO_REUSEPORT, 1), 0);
	assert_int_equal(bind4(&a, 0, 5361), 0);
	assert_int_equal(bind4(&b, 0, 5361), 0);
	/* One flow always reaches the same member; many flows reach both. */
	for (uint16_t sport = 20000; sport < 20064; sport++) {
		int first;

		peer_send(dev, sport, 5361, "f", 1);
		first = client_recv(&a, &h, buf, sizeof(buf)) == 1;
		if (!first)
			assert_int_equal(client_recv(&b, &h, buf, sizeof(buf)), 1);
		peer_send(dev, sport, 5361, "f", 1);
		if (first) {
			assert_int_equal(client_recv(&a, &h, buf, sizeof(buf)), 1);
			na++;
		} else {
			assert_int_equal(client_recv(&b, &h, buf, sizeof(buf)), 1);
			nb++;
		}
	}
	assert_true(na > 0 && nb > 0);
	tsock_close(&b);
	tsock_close(&a);
}

/* --- transmit ------------------------------------------------------------- */

/* Check a transmitted frame: UDP from us:@sport to the peer:@dport with @payload. */
static void assert_udp_frame(const uint8_t *f, size_t n, uint16_t sport, uint16_t dport,
			     const void *payload, size_t len, uint8_t ttl)
{
	const uint8_t *ip = f + ETH_HLEN;
	const uint8_t *udp = ip + IP_MIN_HLEN;
	uint32_t saddr, daddr;

	assert_int_equal(n, ETH_HLEN + IP_MIN_HLEN + UDP_HLEN + len);
	assert_memory_equal(f, peer_mac, 6);
	assert_int_equal(get16(f + 12), ETH_P_IP);
	assert_int_equal(ip[9], IPPROTO_UDP_NS);
	assert_int_equal(ip[8], ttl);
	assert_int_equal(fake_csum(ip, IP_MIN_HLEN), 0);
	memcpy(&saddr, ip + 12, 4);
	memcpy(&daddr, ip + 16, 4);
	assert_int_equal(saddr, OUR_IP);
	assert_int_equal(daddr, PEER_IP);
	assert_int_equal(get16(udp), sport);
	assert_int_equal(get16(udp + 2), dport);
	assert_int_equal(get16(udp + 4), UDP_HLEN + len);
	assert_int_not_equal(get16(udp + 6), 0);
	assert_int_equal(udp_csum_ref(saddr, daddr, udp, UDP_HLEN + len), 0);
	assert_memory_equal(udp + UDP_HLEN, payload, len);
}

static void test_tx_sendto_and_connected(void **state)
{
	struct net_device *dev = *state;
	uint64_t out = snmp_fold_udp(UDP_MIB_OUTDATAGRAMS);
	struct sockaddr_in to = sin4(PEER_IP, 53);
	struct tsock t;
	uint8_t frame[256];
	uint16_t sport;
	eventfd_t ev;
	size_t n;

	fake_learn_neigh(dev, PEER_IP, peer_mac);
	tsock_open(&t, AF_INET);
	atomic_store(&t.shm->client_wait, NS_WAIT_TX);
	client_send(&t, &to, sizeof(to), "query", 5);
	doorbell(&t);
	/* sendto on an unbound socket autobinds it. */
	sport = ntohs(local_name(&t).sin_port);
	assert_true(sport >= 32768 && sport <= 60999);
	assert_int_equal(fake_tx_count(), 1);
	n = fake_tx_pop_frame(frame, sizeof(frame));
	assert_udp_frame(frame, n, sport, 53, "query", 5, 64);
	assert_int_equal(snmp_fold_udp(UDP_MIB_OUTDATAGRAMS), out + 1);
	/* Consumed, the client woken for room, and the doorbell wanted again. */
	assert_int_equal(ns_ring_load_cons(&t.tx), ns_ring_load_prod(&t.tx));
	assert_int_equal(eventfd_read(t.nfd, &ev), 0);
	assert_int_equal(t.shm->need_kick, 1);

	/* Connected, with IP_TTL and an odd length. */
	assert_int_equal(connect4(&t, PEER_IP, 54), 0);
	assert_int_equal(set_int(&t, IPPROTO_IP, IP_TTL, 7), 0);
	client_send(&t, NULL, 0, "abc", 3);
	client_send(&t, NULL, 0, "defg", 4);
	doorbell(&t);
	assert_int_equal(fake_tx_count(), 2);
	n = fake_tx_pop_frame(frame, sizeof(frame));
	assert_udp_frame(frame, n, sport, 54, "abc", 3, 7);
	n = fake_tx_pop_frame(frame, sizeof(frame));
	assert_udp_frame(frame, n, sport, 54, "defg", 4, 7);
	assert_int_equal(snmp_fold_udp(UDP_MIB_OUTDATAGRAMS), out + 3);
	tsock_close(&t);
}

static void test_tx_errors(void **state)
{
	struct net_device *dev = *state;
	struct sockaddr_in to;
	uint64_t invalid = drops(SKB_DROP_REASON_UDP_SND_INVALID);
	uint64_t fragfails = snmp_fold_ip(IPSTATS_MIB_FRAGFAILS);
	uint8_t big[1500], frame[1600];
	struct tsock t;
	int err;

	memset(big, 1, sizeof(big));
	fake_learn_neigh(dev, PEER_IP, peer_mac);
	tsock_open(&t, AF_INET);

	/* No address on an unconnected socket. */
	client_send(&t, NULL, 0, "x", 1);
	doorbell(&t);
	assert_int_equal(get_int(&t, SOL_SOCKET, SO_ERROR), EDESTADDRREQ);
	assert_int_equal(t.shm->so_error, 0);   /* SO_ERROR read and cleared it */
	assert_int_equal(drops(SKB_DROP_REASON_UDP_SND_INVALID), invalid + 1);

	/* Broadcast without SO_BROADCAST. */
	to = sin4(SUBNET_BCAST, 53);
	client_send(&t, &to, sizeof(to), "x", 1);
	doorbell(&t);
	assert_int_equal(atomic_exchange(&t.shm->so_error, 0), EACCES);

	/* Port 0, a short address, a foreign family. */
	to = sin4(PEER_IP, 0);
	client_send(&t, &to, sizeof(to), "x", 1);
	doorbell(&t);
	assert_int_equal(atomic_exchange(&t.shm->so_error, 0), EINVAL);
	to = sin4(PEER_IP, 53);
	client_send(&t, &to, sizeof(to) - 1, "x", 1);
	doorbell(&t);
	assert_int_equal(atomic_exchange(&t.shm->so_error, 0), EINVAL);
	to.sin_family = AF_INET6;
	client_send(&t, &to, sizeof(to), "x", 1);
	doorbell(&t);
	assert_int_equal(atomic_exchange(&t.shm->so_error, 0), EAFNOSUPPORT);

	/* Larger than the MTU: the default (IP_PMTUDISC_WANT) fragments it. */
	to = sin4(PEER_IP, 53);
	client_send(&t, &to, sizeof(to), big, (uint32_t)(dev->mtu - IP_MIN_HLEN - UDP_HLEN + 1));
	doorbell(&t);
	assert_int_equal(t.shm->so_error, 0);
	assert_int_equal(fake_tx_count(), 2);
	fake_tx_purge();
	/* IP_PMTUDISC_DO refuses it (__ip_append_data): EMSGSIZE, not a FragFail. */
	assert_int_equal(set_int(&t, IPPROTO_IP, IP_MTU_DISCOVER, IP_PMTUDISC_DO), 0);
	client_send(&t, &to, sizeof(to), big, (uint32_t)(dev->mtu - IP_MIN_HLEN - UDP_HLEN + 1));
	doorbell(&t);
	assert_int_equal(atomic_exchange(&t.shm->so_error, 0), EMSGSIZE);
	assert_int_equal(snmp_fold_ip(IPSTATS_MIB_FRAGFAILS), fragfails);
	assert_int_equal(fake_tx_count(), 0);
	/* Exactly the MTU goes out, with DF. */
	client_send(&t, &to, sizeof(to), big, (uint32_t)(dev->mtu - IP_MIN_HLEN - UDP_HLEN));
	doorbell(&t);
	assert_int_equal(t.shm->so_error, 0);
	assert_int_equal(fake_tx_count(), 1);
	assert_int_equal(fake_tx_pop_frame(frame, sizeof(frame)), ETH_HLEN + dev->mtu);
	assert_int_equal(frame[ETH_HLEN + 6], IP_DF >> 8);
	assert_int_equal(set_int(&t, IPPROTO_IP, IP_MTU_DISCOVER, IP_PMTUDISC_WANT), 0);

	/* No route: reported only to a connected socket; nothing else stuck. */
	to = sin4(fake_ip(192, 168, 99, 1), 53);
	client_send(&t, &to, sizeof(to), "x", 1);
	doorbell(&t);
	err = atomic_load(&t.shm->so_error);
	assert_int_equal(err, 0);
	assert_int_equal(ns_ring_load_cons(&t.tx), ns_ring_load_prod(&t.tx));
	assert_int_equal(atomic_load(&t.sk->tx_errors), 7);
	assert_false(t.shm->state & NS_SS_DEAD);
	tsock_close(&t);
}

static void test_tx_corrupt_ring(void **state)
{
	uint64_t invalid = drops(SKB_DROP_REASON_UDP_SND_INVALID);
	struct tsock t;
	struct ns_dgram h;

	(void)state;
	/* A producer index beyond what the ring can hold. */
	tsock_open(&t, AF_INET);
	atomic_store(&t.shm->tx.prod, (uint64_t)t.tx.size + 8);
	doorbell(&t);
	assert_true(t.shm->state & NS_SS_DEAD);
	assert_int_equal(drops(SKB_DROP_REASON_UDP_SND_INVALID), invalid + 1);
	doorbell(&t);   /* dead: ignored */
	assert_int_equal(drops(SKB_DROP_REASON_UDP_SND_INVALID), invalid + 1);
	tsock_close(&t);

	/* A record longer than any datagram. */
	tsock_open(&t, AF_INET);
	memset(&h, 0, sizeof(h));
	h.len = NS_DGRAM_MAX + 1;
	memcpy(t.tx.data, &h, sizeof(h));
	atomic_store(&t.shm->tx.prod, 64);
	doorbell(&t);
	assert_true(t.shm->state & NS_SS_DEAD);
	tsock_close(&t);

	/* A record running past the producer index. */
	tsock_open(&t, AF_INET);
	h.len = 100;
	memcpy(t.tx.data, &h, sizeof(h));
	atomic_store(&t.shm->tx.prod, 64);
	doorbell(&t);
	assert_true(t.shm->state & NS_SS_DEAD);
	tsock_close(&t);
}

/* --- ICMP errors ----------------------------------------------------------- */

/* An ICMP error from the peer quoting a datagram us:@sport -> peer:@dport. */
static void peer_icmp_error(struct net_device *dev, uint8_t type, uint8_t code, uint16_t sport,
			    uint16_t dport)
{
	uint8_t icmp[ICMP_HLEN + IP_MIN_HLEN + UDP_HLEN];
	uint8_t frame[256];
	size_t n;

	memset(icmp, 0, sizeof(icmp));
	icmp[0] = type;
	icmp[1] = code;
	fb_ipv4(icmp + ICMP_HLEN, OUR_IP, PEER_IP, IPPROTO_UDP_NS, UDP_HLEN);
	put16(icmp + ICMP_HLEN + IP_MIN_HLEN, sport);
	put16(icmp + ICMP_HLEN + IP_MIN_HLEN + 2, dport);
	put16(icmp + ICMP_HLEN + IP_MIN_HLEN + 4, UDP_HLEN);
	put16(icmp + 2, fake_csum(icmp, sizeof(icmp)));
	n = fb_ip_frame(frame, fake_our_mac, peer_mac, PEER_IP, OUR_IP, IPPROTO_ICMP_NS, icmp,
			sizeof(icmp));
	assert_int_equal(fake_rx(dev, frame, n), 0);
}

static void test_icmp_errors(void **state)
{
	struct net_device *dev = *state;
	struct tsock conn, unconn;
	uint16_t port;
	eventfd_t ev;

	tsock_open(&conn, AF_INET);
	tsock_open(&unconn, AF_INET);
	assert_int_equal(connect4(&conn, PEER_IP, 53), 0);
	port = ntohs(local_name(&conn).sin_port);
	atomic_store(&conn.shm->client_wait, NS_WAIT_RX);

	/* Port unreachable is a hard error: the connected socket gets ECONNREFUSED. */
	peer_icmp_error(dev, ICMP_DEST_UNREACH, ICMP_PORT_UNREACH, port, 53);
	assert_int_equal(conn.shm->so_error, ECONNREFUSED);
	assert_int_equal(eventfd_read(conn.nfd, &ev), 0);
	assert_int_equal(get_int(&conn, SOL_SOCKET, SO_ERROR), ECONNREFUSED);
	assert_int_equal(get_int(&conn, SOL_SOCKET, SO_ERROR), 0);

	/* Host unreachable is soft: reported only with IP_RECVERR. */
	peer_icmp_error(dev, ICMP_DEST_UNREACH, ICMP_HOST_UNREACH, port, 53);
	assert_int_equal(conn.shm->so_error, 0);
	assert_int_equal(set_int(&conn, IPPROTO_IP, IP_RECVERR, 1), 0);
	peer_icmp_error(dev, ICMP_DEST_UNREACH, ICMP_HOST_UNREACH, port, 53);
	assert_int_equal(conn.shm->so_error, EHOSTUNREACH);
	atomic_store(&conn.shm->so_error, 0);
	peer_icmp_error(dev, ICMP_DEST_UNREACH, ICMP_FRAG_NEEDED, port, 53);
	assert_int_equal(conn.shm->so_error, EMSGSIZE);

	/* An unconnected socket hears nothing without IP_RECVERR. */
	assert_int_equal(bind4(&unconn, 0, 5362), 0);
	peer_icmp_error(dev, ICMP_DEST_UNREACH, ICMP_PORT_UNREACH, 5362, 53);
	assert_int_equal(unconn.shm->so_error, 0);
	tsock_close(&unconn);
	tsock_close(&conn);
}

/* A datagram sent to us in fragments reaches the socket as one record. */
static void test_rx_fragmented(void **state)
{
	struct net_device *dev = *state;
	static uint8_t payload[4000], udp[UDP_HLEN + 4000], buf[4000];
	uint8_t frame[ETH_HLEN + IP_MIN_HLEN + 1480];
	struct ns_dgram h;
	struct tsock t;
	size_t ulen, off;

	for (size_t i = 0; i < sizeof(payload); i++)
		payload[i] = (uint8_t)(i * 13);
	tsock_open(&t, AF_INET);
	assert_int_equal(bind4(&t, 0, 5400), 0);
	ulen = fb_udp(udp, PEER_IP, OUR_IP, 777, 5400, payload, sizeof(payload));
	for (off = 0; off < ulen; off += 1480) {
		size_t len = ulen - off < 1480 ? ulen - off : 1480;
		uint8_t *ip = frame + ETH_HLEN;

		fb_eth(frame, fake_our_mac, peer_mac, ETH_P_IP);
		fb_ipv4(ip, PEER_IP, OUR_IP, IPPROTO_UDP_NS, len);
		put16(ip + 4, 0x77);
		put16(ip + 6, (uint16_t)(off / 8 | (off + len < ulen ? IP_MF : 0)));
		fb_ipv4_fix_csum(ip);
		memcpy(ip + IP_MIN_HLEN, udp + off, len);
		assert_int_equal(fake_rx(dev, frame, ETH_HLEN + IP_MIN_HLEN + len), 0);
		if (off + len < ulen)
			assert_int_equal(client_recv(&t, &h, buf, sizeof(buf)), 0);
	}
	assert_int_equal(client_recv(&t, &h, buf, sizeof(buf)), 1);
	assert_int_equal(h.len, sizeof(payload));
	assert_memory_equal(buf, payload, sizeof(payload));
	tsock_close(&t);
}

/* "Fragmentation needed" quoting datagram @sport -> @dport with next-hop MTU @mtu. */
static void peer_frag_needed(struct net_device *dev, uint16_t sport, uint16_t dport, uint16_t mtu)
{
	uint8_t icmp[ICMP_HLEN + IP_MIN_HLEN + UDP_HLEN];
	uint8_t frame[256];
	size_t n;

	memset(icmp, 0, sizeof(icmp));
	icmp[0] = ICMP_DEST_UNREACH;
	icmp[1] = ICMP_FRAG_NEEDED;
	put16(icmp + 6, mtu);
	fb_ipv4(icmp + ICMP_HLEN, OUR_IP, PEER_IP, IPPROTO_UDP_NS, 1400);
	put16(icmp + ICMP_HLEN + 6, IP_DF);
	fb_ipv4_fix_csum(icmp + ICMP_HLEN);
	put16(icmp + ICMP_HLEN + IP_MIN_HLEN, sport);
	put16(icmp + ICMP_HLEN + IP_MIN_HLEN + 2, dport);
	put16(icmp + ICMP_HLEN + IP_MIN_HLEN + 4, 1400);
	put16(icmp + 2, fake_csum(icmp, sizeof(icmp)));
	n = fb_ip_frame(frame, fake_our_mac, peer_mac, PEER_IP, OUR_IP, IPPROTO_ICMP_NS, icmp,
			sizeof(icmp));
	assert_int_equal(fake_rx(dev, frame, n), 0);
}

/* Pop one sent frame: its IP length and whether DF was set. */
static size_t pop_ip(bool *df)
{
	uint8_t frame[1600];
	size_t n = fake_tx_pop_frame(frame, sizeof(frame));

	*df = (get16(frame + ETH_HLEN + 6) & IP_DF) != 0;
	assert_int_equal(get16(frame + ETH_HLEN + 2), n - ETH_HLEN);
	return n - ETH_HLEN;
}

/* RFC 1191 with the kernel's IP_MTU_DISCOVER modes, and IP_MTU. */
static void test_pmtu_discovery(void **state)
{
	struct net_device *dev = *state;
	struct sockaddr_in to = sin4(PEER_IP, 53);
	struct tsock want, other;
	static uint8_t big[1400];
	uint32_t len = sizeof(int);
	uint16_t port;
	bool df;
	int v;

	fake_learn_neigh(dev, PEER_IP, peer_mac);
	tsock_open(&want, AF_INET);
	tsock_open(&other, AF_INET);
	assert_int_equal(connect4(&want, PEER_IP, 53), 0);
	port = ntohs(local_name(&want).sin_port);
	assert_int_equal(get_int(&want, IPPROTO_IP, IP_MTU_DISCOVER), IP_PMTUDISC_WANT);
	assert_int_equal(get_int(&want, IPPROTO_IP, IP_MTU), (int)dev->mtu);
	assert_int_equal(sock_getsockopt(other.sk, IPPROTO_IP, IP_MTU, &v, &len), -ENOTCONN);

	/* About a port no socket of ours uses: not believed. */
	peer_frag_needed(dev, (uint16_t)(port ^ 0x5555), 53, 1000);
	assert_int_equal(ip_rt_get_pmtu(PEER_IP), dev->mtu);
	/* About ours: the path MTU drops and the connected socket hears EMSGSIZE. */
	peer_frag_needed(dev, port, 53, 1000);
	assert_int_equal(ip_rt_get_pmtu(PEER_IP), 1000);
	assert_int_equal(get_int(&want, IPPROTO_IP, IP_MTU), 1000);
	assert_int_equal(atomic_exchange(&want.shm->so_error, 0), EMSGSIZE);

	/* WANT: over the path MTU it is fragmented to it, without DF... */
	client_send(&want, NULL, 0, big, 1200);
	doorbell(&want);
	assert_int_equal(fake_tx_count(), 2);
	assert_int_equal(pop_ip(&df), 996);
	assert_false(df);
	assert_int_equal(pop_ip(&df), IP_MIN_HLEN + UDP_HLEN + 1200 - 976);
	assert_false(df);
	/* ... and what fits goes whole, with DF. */
	client_send(&want, NULL, 0, big, 900);
	doorbell(&want);
	assert_int_equal(pop_ip(&df), IP_MIN_HLEN + UDP_HLEN + 900);
	assert_true(df);

	/* DO: refused with EMSGSIZE. */
	assert_int_equal(set_int(&other, IPPROTO_IP, IP_MTU_DISCOVER, IP_PMTUDISC_DO), 0);
	client_send(&other, &to, sizeof(to), big, 1200);
	doorbell(&other);
	assert_int_equal(atomic_exchange(&other.shm->so_error, 0), EMSGSIZE);
	assert_int_equal(fake_tx_count(), 0);
	/* PROBE: the device MTU, with DF. */
	assert_int_equal(set_int(&other, IPPROTO_IP, IP_MTU_DISCOVER, IP_PMTUDISC_PROBE), 0);
	client_send(&other, &to, sizeof(to), big, 1200);
	doorbell(&other);
	assert_int_equal(pop_ip(&df), IP_MIN_HLEN + UDP_HLEN + 1200);
	assert_true(df);
	/* DONT: fragments to the path MTU, never DF. */
	assert_int_equal(set_int(&other, IPPROTO_IP, IP_MTU_DISCOVER, IP_PMTUDISC_DONT), 0);
	client_send(&other, &to, sizeof(to), big, 900);
	doorbell(&other);
	assert_int_equal(pop_ip(&df), IP_MIN_HLEN + UDP_HLEN + 900);
	assert_false(df);
	assert_int_equal(other.shm->so_error, 0);
	tsock_close(&other);
	tsock_close(&want);
}

/* --- options and shutdown --------------------------------------------------- */

static void test_sockopts(void **state)
{
	struct net_device *dev = *state;
	struct tsock t;
	unsigned char c;
	char name[IFNAMSIZ];
	uint32_t len;
	int v;

	tsock_open(&t, AF_INET);
	assert_int_equal(get_int(&t, SOL_SOCKET, SO_TYPE), SOCK_DGRAM);
	assert_int_equal(get_int(&t, SOL_SOCKET, SO_DOMAIN), AF_INET);
	assert_int_equal(get_int(&t, SOL_SOCKET, SO_PROTOCOL), IPPROTO_UDP);
	assert_int_equal(get_int(&t, SOL_SOCKET, SO_RCVBUF), 212992);
	assert_int_equal(get_int(&t, IPPROTO_IP, IP_TTL), 64);
	assert_int_equal(set_int(&t, SOL_SOCKET, SO_TYPE, 1), -ENOPROTOOPT);
	assert_int_equal(set_int(&t, SOL_SOCKET, 9999, 1), -ENOPROTOOPT);
	assert_int_equal(set_int(&t, IPPROTO_IP, 9999, 1), -ENOPROTOOPT);
	assert_int_equal(set_int(&t, IPPROTO_IP, IP_MULTICAST_TTL, 1), -ENOPROTOOPT);
	assert_int_equal(set_int(&t, IPPROTO_IPV6, IPV6_V6ONLY, 1), -ENOPROTOOPT);
	assert_int_equal(set_int(&t, 12345, 1, 1), -ENOPROTOOPT);
	v = 1;
	assert_int_equal(sock_setsockopt(t.sk, SOL_SOCKET, SO_REUSEADDR, &v, 2), -EINVAL);
	/* IP_TTL: 1..255, -1 resets; a one-byte value is accepted. */
	assert_int_equal(set_int(&t, IPPROTO_IP, IP_TTL, 0), -EINVAL);
	assert_int_equal(set_int(&t, IPPROTO_IP, IP_TTL, 256), -EINVAL);
	assert_int_equal(set_int(&t, IPPROTO_IP, IP_TTL, 200), 0);
	assert_int_equal(get_int(&t, IPPROTO_IP, IP_TTL), 200);
	c = 33;
	assert_int_equal(sock_setsockopt(t.sk, IPPROTO_IP, IP_TTL, &c, 1), 0);
	assert_int_equal(sock_setsockopt(t.sk, IPPROTO_IP, IP_TTL, &c, 0), -EINVAL);
	assert_int_equal(get_int(&t, IPPROTO_IP, IP_TTL), 33);
	assert_int_equal(set_int(&t, IPPROTO_IP, IP_TTL, -1), 0);
	assert_int_equal(get_int(&t, IPPROTO_IP, IP_TTL), 64);
	/* Short getsockopt buffers: IP gives one byte, SOL_SOCKET a prefix. */
	len = 2;
	c = 0;
	assert_int_equal(sock_getsockopt(t.sk, IPPROTO_IP, IP_TTL, &c, &len), 0);
	assert_int_equal(len, 1);
	assert_int_equal(c, 64);
	len = 0;
	assert_int_equal(sock_getsockopt(t.sk, SOL_SOCKET, SO_TYPE, &v, &len), 0);
	assert_int_equal(len, 0);
	len = sizeof(v);
	assert_int_equal(sock_getsockopt(t.sk, 12345, 1, &v, &len), -EOPNOTSUPP);
	assert_int_equal(sock_getsockopt(t.sk, IPPROTO_IPV6, IPV6_V6ONLY, &v, &len), -EOPNOTSUPP);
	/* IP_TOS keeps the low byte. */
	assert_int_equal(set_int(&t, IPPROTO_IP, IP_TOS, 0x1b8), 0);
	assert_int_equal(get_int(&t, IPPROTO_IP, IP_TOS), 0xb8);
	/* SO_BINDTODEVICE by name; "" clears; unknown names are ENODEV. */
	assert_int_equal(sock_setsockopt(t.sk, SOL_SOCKET, SO_BINDTODEVICE, "nope0", 6), -ENODEV);
	assert_int_equal(sock_setsockopt(t.sk, SOL_SOCKET, SO_BINDTODEVICE, dev->name,
					 (uint32_t)strlen(dev->name)), 0);
	assert_int_equal(t.sk->bound_dev_if, dev->ifindex);
	len = sizeof(name);
	assert_int_equal(sock_getsockopt(t.sk, SOL_SOCKET, SO_BINDTODEVICE, name, &len), 0);
	assert_string_equal(name, dev->name);
	assert_int_equal(len, strlen(dev->name) + 1);
	assert_int_equal(sock_setsockopt(t.sk, SOL_SOCKET, SO_BINDTODEVICE, "", 0), 0);
	len = sizeof(name);
	assert_int_equal(sock_getsockopt(t.sk, SOL_SOCKET, SO_BINDTODEVICE, name, &len), 0);
	assert_int_equal(len, 0);
	/* UDP has no listen(). */
	assert_int_equal(sock_listen(t.sk, 5), -EOPNOTSUPP);
	tsock_close(&t);
}

static void test_shutdown(void **state)
{
	struct tsock t;
	eventfd_t ev;

	(void)state;
	tsock_open(&t, AF_INET);
	atomic_store(&t.shm->client_wait, NS_WAIT_RX);
	assert_int_equal(sock_shutdown(t.sk, 3), -EINVAL);
	assert_int_equal(sock_shutdown(t.sk, -1), -EINVAL);
	/* Unconnected: ENOTCONN, but the reader is told all the same. */
	assert_int_equal(sock_shutdown(t.sk, SHUT_RD), -ENOTCONN);
	assert_true(t.shm->state & NS_SS_RCV_SHUTDOWN);
	assert_int_equal(eventfd_read(t.nfd, &ev), 0);
	assert_int_equal(connect4(&t, PEER_IP, 53), 0);
	assert_int_equal(sock_shutdown(t.sk, SHUT_WR), 0);
	assert_true(t.shm->state & NS_SS_SEND_SHUTDOWN);
	/* A send after SHUT_WR is EPIPE. */
	client_send(&t, NULL, 0, "x", 1);
	doorbell(&t);
	assert_int_equal(t.shm->so_error, EPIPE);
	tsock_close(&t);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, fake_test_setup, fake_test_teardown)
	const struct CMUnitTest tests[] = {
		T(test_create_errors),
		T(test_attach_fills_control_block),
		T(test_bind_errors),
		T(test_bind_reuse),
		T(test_bind_ephemeral),
		T(test_connect),
		T(test_ipv6_socket),
		T(test_rx_delivers),
		T(test_rx_v6_socket),
		T(test_rx_no_socket_port_unreachable),
		T(test_rx_bad_checksum_and_length),
		T(test_rx_rcvbuf_overflow),
		T(test_rx_corrupt_cons_kills_socket),
		T(test_rx_broadcast_to_all),
		T(test_rx_lookup_prefers_specific),
		T(test_rx_reuseport_group),
		T(test_tx_sendto_and_connected),
		T(test_tx_errors),
		T(test_tx_corrupt_ring),
		T(test_icmp_errors),
		T(test_rx_fragmented),
		T(test_pmtu_discovery),
		T(test_sockopts),
		T(test_shutdown),
	};
#undef T

	return cmocka_run_group_tests_name("net/udp", tests, fake_stack_setup,
					   fake_stack_teardown);
}
