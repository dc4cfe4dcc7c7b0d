/*
 * Test doubles and frame builders shared by the unit suites.
 *
 * The fake device is an Ethernet net_device whose ndo_start_xmit keeps
 * every transmitted frame on a list for the test to inspect (the test
 * frees them).  fake_rx() feeds a frame up the stack the way a driver's
 * NAPI poll does, on the calling thread (no workers run in unit tests, so
 * counters land in the "non-worker" slot).
 *
 * The frame builders write wire-format headers into a caller's buffer and
 * compute checksums with their own RFC 1071 reference code, independent of
 * daemon/core/checksum.c, so that a checksum bug in the stack cannot hide
 * behind the same bug in the fixtures.  Addresses are network order.
 */
#ifndef NS_TESTS_UNIT_FAKES_H
#define NS_TESTS_UNIT_FAKES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/shm_ring.h"

struct net_device;
struct sk_buff;
struct skb_pool;

/* --- the fake device ---------------------------------------------------- */

/*
 * Create, register, address and open a fake Ethernet device with @mac and
 * @addr/@prefixlen.  Aborts the test on failure.
 */
struct net_device *fake_netdev_create(const char *name, const uint8_t mac[6],
				      uint32_t addr, unsigned int prefixlen);

/* Unregister and free a device made by fake_netdev_create (after inet_exit). */
void fake_netdev_destroy(struct net_device *dev);

/*
 * Make ndo_start_xmit stop its queue and return NETDEV_TX_BUSY (true), or
 * keep frames (false: also wakes stopped queues, so that what waits in
 * their qdiscs is sent at once, as after a TX completion).
 */
void fake_tx_set_busy(bool busy);

/* Frames transmitted so far and not yet popped. */
unsigned int fake_tx_count(void);

/* Oldest transmitted frame (data at the Ethernet header), or NULL. */
struct sk_buff *fake_tx_pop(void);

/*
 * Pop the oldest kept frame, copy it (from the Ethernet header) into @buf
 * and free it.  Returns its length; fails the test if there is none or it
 * is longer than @cap.
 */
size_t fake_tx_pop_frame(uint8_t *buf, size_t cap);

/* Free every kept frame. */
void fake_tx_purge(void);

/*
 * Receive @len bytes of @frame on @dev: netdev_alloc_skb, type_trans and
 * __netif_receive_skb.  Returns the drop reason type_trans gave (the skb is
 * then freed with it) or 0 when the frame went up the stack.
 */
int fake_rx(struct net_device *dev, const void *frame, size_t len);

/* --- a whole stack, as the daemon sets it up ----------------------------- */

/* The fake device's addresses: 02:00:00:00:00:02, 10.200.0.2/24. */
extern const uint8_t fake_our_mac[6];
#define FAKE_OUR_IP_HOST 0x0ac80002u

/*
 * Group setup for net/ suites: an skb pool on this thread, the sysctls,
 * inet_init() and the fake device "fake0".  *state gets the device.
 */
int fake_stack_setup(void **state);
/* Group teardown: inet_exit(), the device and the pool go away. */
int fake_stack_teardown(void **state);

/* Per-test setup: default sysctls, empty neighbour table, no kept frames. */
int fake_test_setup(void **state);
/*
 * Per-test teardown: free kept frames and neighbours; fails the test if any
 * skb is still allocated from the pool.
 */
int fake_test_teardown(void **state);

/* Number of skbs currently allocated from the suite's pool. */
uint64_t fake_pool_in_use(void);

/*
 * Teach the stack that @ip is at @mac the way a peer would: an ARP request
 * from it for our address.  The ARP reply this causes is freed.
 */
void fake_learn_neigh(struct net_device *dev, uint32_t ip, const uint8_t mac[6]);

/* --- a socket with its shared memory, as the session layer sets it up ---- */

struct sock;
struct sock_cred;

struct fake_sock {
	struct sock *sk;
	unsigned char *mem;             /* control block page, rx ring, tx ring */
	struct ns_sock_shm *shm;
	struct ns_ring_view rx, tx;     /* the client's views */
	int nfd;                        /* the notify eventfd */
};

/*
 * sock_create_cred(@cred, ...) and, on success, sock_attach with a fresh
 * region.  Returns sock_create_cred's result (0 or -errno).  No workers
 * run: socket calls execute inline.
 */
int fake_sock_open(struct fake_sock *t, const struct sock_cred *cred, int domain, int type,
		   int protocol);
/* The last reference: the socket closes its eventfds; the region is freed. */
void fake_sock_close(struct fake_sock *t);
/* Client side: take one rx record (payload into @buf).  1, 0 (empty) or -1 (corrupt). */
int fake_sock_recv(struct fake_sock *t, struct ns_dgram *h, uint8_t *buf, size_t cap);
/*
 * Client side: produce one tx record to @addr (NULL, 0: the connected
 * peer), then ring the doorbell and run its handler as the owner would.
 */
void fake_sock_send(struct fake_sock *t, const void *addr, uint32_t addrlen, const void *data,
		    uint32_t len);
/* The pending error, taken (0 if none). */
int fake_sock_error(struct fake_sock *t);

/* --- frame builders ----------------------------------------------------- */

/* RFC 1071 checksum of @len bytes, as a host-order value to store with htons. */
uint16_t fake_csum(const void *data, size_t len);

/* Ethernet header; returns 14. */
size_t fb_eth(uint8_t *buf, const uint8_t dst[6], const uint8_t src[6], uint16_t proto);

/*
 * A 20-byte IPv4 header for @payload_len bytes of @proto, TTL 64, DF clear,
 * with a correct checksum.  Returns 20.
 */
size_t fb_ipv4(uint8_t *buf, uint32_t saddr, uint32_t daddr, uint8_t proto,
	       size_t payload_len);

/* Recompute the header checksum of the IPv4 header at @iph (after edits). */
void fb_ipv4_fix_csum(uint8_t *iph);

/* An ICMP echo (request or reply) with payload and checksum; returns its length. */
size_t fb_icmp_echo(uint8_t *buf, uint8_t type, uint16_t id, uint16_t seq,
		    const void *payload, size_t len);

/* An Ethernet/IPv4 ARP packet (28 bytes); returns 28. */
size_t fb_arp(uint8_t *buf, uint16_t op, const uint8_t sha[6], uint32_t sip,
	      const uint8_t tha[6], uint32_t tip);

/*
 * A whole frame: Ethernet + IPv4 + @l4 (@l4len bytes of protocol @proto).
 * Returns the frame length.
 */
size_t fb_ip_frame(uint8_t *buf, const uint8_t dst[6], const uint8_t src[6], uint32_t saddr,
		   uint32_t daddr, uint8_t proto, const void *l4, size_t l4len);

/* A whole echo-request frame with @plen bytes of payload (bytes 0, 1, 2, ...). */
size_t fb_echo_frame(uint8_t *buf, const uint8_t dst[6], const uint8_t src[6], uint32_t saddr,
		     uint32_t daddr, uint16_t id, uint16_t seq, size_t plen);

/* A whole ARP frame (Ethernet + ARP, not padded); returns 42. */
size_t fb_arp_frame(uint8_t *buf, const uint8_t dst[6], uint16_t op, const uint8_t sha[6],
		    uint32_t sip, const uint8_t tha[6], uint32_t tip);

/* Host-order dotted quad 10.200.0.x -> network order. */
uint32_t fake_ip(uint8_t a, uint8_t b, uint8_t c, uint8_t d);

#endif
