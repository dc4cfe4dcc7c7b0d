/*
 * ARP on the wire (RFC 826) for Ethernet and IPv4.
 */
#ifndef NS_WIRE_ARP_H
#define NS_WIRE_ARP_H

#include <stdint.h>

#include "net/wire/ether.h"

#define ARPHRD_ETHER 1
#define ARPOP_REQUEST 1
#define ARPOP_REPLY 2

/* The fixed part: lengths of the addresses that follow are ar_hln/ar_pln. */
struct arphdr {
	uint16_t ar_hrd;
	uint16_t ar_pro;
	uint8_t ar_hln;
	uint8_t ar_pln;
	uint16_t ar_op;
} __attribute__((packed));

/* The whole packet for Ethernet/IPv4 (hln 6, pln 4). */
struct arp_eth_ipv4 {
	struct arphdr hdr;
	uint8_t ar_sha[ETH_ALEN];
	uint32_t ar_sip;
	uint8_t ar_tha[ETH_ALEN];
	uint32_t ar_tip;
} __attribute__((packed));

_Static_assert(sizeof(struct arphdr) == 8, "arphdr size");
_Static_assert(sizeof(struct arp_eth_ipv4) == 28, "arp_eth_ipv4 size");

#endif
