/*
 * Test doubles and frame builders (see fakes.h).  Test thread only.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>

#include "core/dev.h"
#include "core/netdev.h"
#include "core/skb.h"
#include "core/sysctl.h"
#include "net/core/neighbour.h"
#include "net/ethernet/eth.h"
#include "net/ipv4/af_inet.h"
#include "net/ipv4/devinet.h"
#include "net/ipv4/ip.h"
#include "net/ipv4/pmtu.h"
#include "net/socket.h"
#include "net/wire/arp.h"
#include "net/wire/ether.h"
#include "net/wire/icmp.h"
#include "net/wire/ip.h"

#include "fakes.h"

static struct sk_buff_head fake_txq;
static bool fake_busy;

/* A busy device stops the queue, as a driver must before NETDEV_TX_BUSY. */
static netdev_tx_t fake_start_xmit(struct sk_buff *skb, struct net_device *dev)
{
	if (fake_busy) {
		netif_tx_stop_queue(&dev->tx[skb->queue_mapping]);
		return NETDEV_TX_BUSY;
	}
	__skb_queue_tail(&fake_txq, skb);
	return NETDEV_TX_OK;
}

static const struct net_device_ops fake_ops = {
	.ndo_start_xmit = fake_start_xmit,
};

struct net_device *fake_netdev_create(const char *name, const uint8_t mac[6],
				      uint32_t addr, unsigned int prefixlen)
{
	struct net_device *dev = alloc_netdev(0, name);

	assert_non_null(dev);
	dev->netdev_ops = &fake_ops;
	ether_setup(dev);
	memcpy(dev->dev_addr, mac, ETH_ALEN);
	assert_int_equal(register_netdev(dev), 0);
	assert_int_equal(inet_addr_add(dev, addr, prefixlen), 0);
	assert_int_equal(dev_open(dev), 0);
	return dev;
}

void fake_netdev_destroy(struct net_device *dev)
{
	dev_close(dev);
	unregister_netdev(dev);
	free_netdev(dev);
}

void fake_tx_set_busy(bool busy)
{
	fake_busy = busy;
	if (busy)
		return;
	/* Room again: the "TX completion" wakes every stopped fake queue. */
	for (struct net_device *d = netdev_first(); d; d = d->next)
		for (unsigned int q = 0; d->netdev_ops == &fake_ops && q < d->num_tx_queues; q++)
			if (netif_xmit_stopped(&d->tx[q]))
				netif_tx_wake_queue(&d->tx[q]);
}

unsigned int fake_tx_count(void)
{
	return skb_queue_len(&fake_txq);
}

struct sk_buff *fake_tx_pop(void)
{
	return __skb_dequeue(&fake_txq);
}

size_t fake_tx_pop_frame(uint8_t *buf, size_t cap)
{
	struct sk_buff *skb = fake_tx_pop();
	size_t len;

	assert_non_null(skb);
	len = skb->len;
	if (len > cap)
		consume_skb(skb);
	assert_true(len <= cap);
	memcpy(buf, skb->data, len);
	consume_skb(skb);
	return len;
}

void fake_tx_purge(void)
{
	skb_queue_purge_reason(&fake_txq, SKB_DROP_REASON_CONSUMED);
}

int fake_rx(struct net_device *dev, const void *frame, size_t len)
{
	struct sk_buff *skb = netdev_alloc_skb(dev, (uint32_t)len);
	int reason;

	assert_non_null(skb);
	assert_non_null(skb_put_data(skb, frame, (uint32_t)len));
	reason = dev->header_ops->type_trans(skb, dev);
	if (reason) {
		kfree_skb_reason(skb, (enum skb_drop_reason)reason);
		return reason;
	}
	__netif_receive_skb(skb);
	return 0;
}

const uint8_t fake_our_mac[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x02 };

static struct skb_pool *fake_pool;

int fake_stack_setup(void **state)
{
	fake_pool = skb_pool_create("unit", 0);
	if (!fake_pool)
		return -1;
	skb_pool_set_current(fake_pool);
	skb_queue_head_init(&fake_txq);
	core_sysctl_init();
	if (inet_init() != 0)
		return -1;
	*state = fake_netdev_create("fake0", fake_our_mac, htonl(FAKE_OUR_IP_HOST), 24);
	return 0;
}

int fake_stack_teardown(void **state)
{
	struct net_device *dev = *state;
	uint64_t in_use;

	fake_tx_purge();
	inet_exit();
	fake_netdev_destroy(dev);
	in_use = skb_pool_in_use(fake_pool);
	skb_pool_set_current(NULL);
	skb_pool_destroy(fake_pool);
	fake_pool = NULL;
	return in_use == 0 ? 0 : -1;
}

int fake_test_setup(void **state)
{
	(void)state;
	sysctl_reset_defaults();
	ip_frag_flush();
	ip_rt_pmtu_flush();
	neigh_cleanup();
	fake_tx_purge();
	fake_tx_set_busy(false);
	return 0;
}

int fake_test_teardown(void **state)
{
	(void)state;
	fake_tx_purge();
	ip_frag_flush();
	ip_rt_pmtu_flush();
	neigh_cleanup();
	sysctl_reset_defaults();
	return skb_pool_in_use(fake_pool) == 0 ? 0 : -1;
}

uint64_t fake_pool_in_use(void)
{
	return skb_pool_in_use(fake_pool);
}

void fake_learn_neigh(struct net_device *dev, uint32_t ip, const uint8_t mac[6])
{
	static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	static const uint8_t zero[6];
	uint8_t frame[64];
	unsigned int before = fake_tx_count();
	size_t n = fb_arp_frame(frame, bcast, ARPOP_REQUEST, mac, ip, zero,
				htonl(FAKE_OUR_IP_HOST));
	struct sk_buff *reply;

	assert_int_equal(fake_rx(dev, frame, n), 0);
	assert_int_equal(fake_tx_count(), before + 1);
	/* The reply is the newest frame; drop it and keep the others in order. */
	for (unsigned int i = 0; i < before; i++)
		__skb_queue_tail(&fake_txq, __skb_dequeue(&fake_txq));
	reply = __skb_dequeue(&fake_txq);
	consume_skb(reply);
}

int fake_sock_open(struct fake_sock *t, const struct sock_cred *cred, int domain, int type,
		   int protocol)
{
	uint32_t rx_size, tx_size;
	int err;

	memset(t, 0, sizeof(*t));
	t->nfd = -1;
	err = sock_create_cred(cred, domain, type, protocol, &t->sk, &rx_size, &tx_size);
	if (err)
		return err;
	t->mem = aligned_alloc(NS_SHM_PAGE, NS_SHM_PAGE + (size_t)rx_size + tx_size);
	assert_non_null(t->mem);
	memset(t->mem, 0, NS_SHM_PAGE + (size_t)rx_size + tx_size);
	t->shm = (struct ns_sock_shm *)t->mem;
	t->nfd = eventfd(0, EFD_NONBLOCK);
	assert_true(t->nfd >= 0);
	assert_int_equal(sock_attach(t->sk, t->shm, 0, t->mem + NS_SHM_PAGE, NS_SHM_PAGE, rx_size,
				     t->mem + NS_SHM_PAGE + rx_size, NS_SHM_PAGE + rx_size,
				     tx_size, t->nfd, NULL), 0);
	t->rx = (struct ns_ring_view){ &t->shm->rx, t->mem + NS_SHM_PAGE, rx_size };
	t->tx = (struct ns_ring_view){ &t->shm->tx, t->mem + NS_SHM_PAGE + rx_size, tx_size };
	return 0;
}

void fake_sock_close(struct fake_sock *t)
{
	if (t->sk)
		sock_put(t->sk);
	free(t->mem);
	memset(t, 0, sizeof(*t));
}

int fake_sock_recv(struct fake_sock *t, struct ns_dgram *h, uint8_t *buf, size_t cap)
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

void fake_sock_send(struct fake_sock *t, const void *addr, uint32_t addrlen, const void *data,
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
	sock_doorbell_handler(t->sk);
}

int fake_sock_error(struct fake_sock *t)
{
	return atomic_exchange(&t->shm->so_error, 0);
}

/* A deliberately plain RFC 1071 sum: big-endian 16-bit words, carries folded. */
uint16_t fake_csum(const void *data, size_t len)
{
	const uint8_t *p = data;
	uint32_t sum = 0;

	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

size_t fb_eth(uint8_t *buf, const uint8_t dst[6], const uint8_t src[6], uint16_t proto)
{
	memcpy(buf, dst, 6);
	memcpy(buf + 6, src, 6);
	put16(buf + 12, proto);
	return ETH_HLEN;
}

void fb_ipv4_fix_csum(uint8_t *iph)
{
	size_t ihl = (size_t)(iph[0] & 0x0f) * 4;

	put16(iph + 10, 0);
	put16(iph + 10, fake_csum(iph, ihl));
}

size_t fb_ipv4(uint8_t *buf, uint32_t saddr, uint32_t daddr, uint8_t proto,
	       size_t payload_len)
{
	memset(buf, 0, IP_MIN_HLEN);
	buf[0] = 0x45;
	put16(buf + 2, (uint16_t)(IP_MIN_HLEN + payload_len));
	put16(buf + 4, 0x1234);
	buf[8] = 64;
	buf[9] = proto;
	memcpy(buf + 12, &saddr, 4);
	memcpy(buf + 16, &daddr, 4);
	fb_ipv4_fix_csum(buf);
	return IP_MIN_HLEN;
}

size_t fb_icmp_echo(uint8_t *buf, uint8_t type, uint16_t id, uint16_t seq,
		    const void *payload, size_t len)
{
	buf[0] = type;
	buf[1] = 0;
	put16(buf + 2, 0);
	put16(buf + 4, id);
	put16(buf + 6, seq);
	if (len)
		memcpy(buf + ICMP_HLEN, payload, len);
	put16(buf + 2, fake_csum(buf, ICMP_HLEN + len));
	return ICMP_HLEN + len;
}

size_t fb_arp(uint8_t *buf, uint16_t op, const uint8_t sha[6], uint32_t sip,
	      const uint8_t tha[6], uint32_t tip)
{
	put16(buf, ARPHRD_ETHER);
	put16(buf + 2, ETH_P_IP);
	buf[4] = 6;
	buf[5] = 4;
	put16(buf + 6, op);
	memcpy(buf + 8, sha, 6);
	memcpy(buf + 14, &sip, 4);
	memcpy(buf + 18, tha, 6);
	memcpy(buf + 24, &tip, 4);
	return sizeof(struct arp_eth_ipv4);
}

size_t fb_ip_frame(uint8_t *buf, const uint8_t dst[6], const uint8_t src[6], uint32_t saddr,
		   uint32_t daddr, uint8_t proto, const void *l4, size_t l4len)
{
	size_t n = fb_eth(buf, dst, src, ETH_P_IP);

	n += fb_ipv4(buf + n, saddr, daddr, proto, l4len);
	if (l4len)
		memcpy(buf + n, l4, l4len);
	return n + l4len;
}

size_t fb_echo_frame(uint8_t *buf, const uint8_t dst[6], const uint8_t src[6], uint32_t saddr,
		     uint32_t daddr, uint16_t id, uint16_t seq, size_t plen)
{
	uint8_t icmp[ICMP_HLEN + 1500];
	uint8_t payload[1500];
	size_t n;

	assert_true(plen <= sizeof(payload));
	for (size_t i = 0; i < plen; i++)
		payload[i] = (uint8_t)i;
	n = fb_icmp_echo(icmp, ICMP_ECHO, id, seq, payload, plen);
	return fb_ip_frame(buf, dst, src, saddr, daddr, IPPROTO_ICMP_NS, icmp, n);
}

size_t fb_arp_frame(uint8_t *buf, const uint8_t dst[6], uint16_t op, const uint8_t sha[6],
		    uint32_t sip, const uint8_t tha[6], uint32_t tip)
{
	size_t n = fb_eth(buf, dst, sha, ETH_P_ARP);

	return n + fb_arp(buf + n, op, sha, sip, tha, tip);
}

uint32_t fake_ip(uint8_t a, uint8_t b, uint8_t c, uint8_t d)
{
	return htonl((uint32_t)a << 24 | (uint32_t)b << 16 | (uint32_t)c << 8 | d);
}
