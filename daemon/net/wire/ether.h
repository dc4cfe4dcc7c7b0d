/*
 * Ethernet II on the wire (IEEE 802.3, RFC 894).  Wire formats only: no
 * stack state lives here.  All multi-byte fields are network byte order.
 */
#ifndef NS_WIRE_ETHER_H
#define NS_WIRE_ETHER_H

#include <stdint.h>

#define ETH_ALEN 6
#define ETH_HLEN 14
#define ETH_ZLEN 60             /* minimum frame without FCS */
#define ETH_DATA_LEN 1500
#define ETH_FRAME_LEN 1514

#define ETH_P_IP 0x0800
#define ETH_P_ARP 0x0806
#define ETH_P_IPV6 0x86DD
#define ETH_P_8021Q 0x8100

struct ethhdr {
	uint8_t h_dest[ETH_ALEN];
	uint8_t h_source[ETH_ALEN];
	uint16_t h_proto;
} __attribute__((packed));

_Static_assert(sizeof(struct ethhdr) == ETH_HLEN, "ethhdr size");

static inline int is_multicast_ether_addr(const uint8_t *a)
{
	return a[0] & 1;
}

static inline int is_broadcast_ether_addr(const uint8_t *a)
{
	return (a[0] & a[1] & a[2] & a[3] & a[4] & a[5]) == 0xff;
}

static inline int is_zero_ether_addr(const uint8_t *a)
{
	return (a[0] | a[1] | a[2] | a[3] | a[4] | a[5]) == 0;
}

static inline int ether_addr_equal(const uint8_t *a, const uint8_t *b)
{
	for (int i = 0; i < ETH_ALEN; i++)
		if (a[i] != b[i])
			return 0;
	return 1;
}

#endif
