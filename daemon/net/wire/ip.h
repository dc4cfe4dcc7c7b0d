/*
 * IPv4 on the wire (RFC 791).  Addresses and multi-byte fields are network
 * byte order.
 */
#ifndef NS_WIRE_IP_H
#define NS_WIRE_IP_H

#include <stdint.h>

#define IPVERSION 4
#define IP_MIN_HLEN 20
#define IP_MAX_HLEN 60
#define IP_MAXPACKET 65535

#define IP_CE 0x8000            /* frag_off: congestion (reserved) bit */
#define IP_DF 0x4000
#define IP_MF 0x2000
#define IP_OFFSET 0x1FFF

#define IPPROTO_ICMP_NS 1
#define IPPROTO_TCP_NS 6
#define IPPROTO_UDP_NS 17

struct iphdr {
	uint8_t ihl_version;        /* version << 4 | ihl (32-bit words) */
	uint8_t tos;
	uint16_t tot_len;
	uint16_t id;
	uint16_t frag_off;
	uint8_t ttl;
	uint8_t protocol;
	uint16_t check;
	uint32_t saddr;
	uint32_t daddr;
} __attribute__((packed));

_Static_assert(sizeof(struct iphdr) == IP_MIN_HLEN, "iphdr size");

static inline unsigned int iph_version(const struct iphdr *iph)
{
	return iph->ihl_version >> 4;
}

static inline unsigned int iph_ihl(const struct iphdr *iph)
{
	return iph->ihl_version & 0x0f;
}

/*
 * Options (RFC 791 §3.1, RFC 1108, RFC 2113): the type octet carries the
 * "copied" flag (the option goes into every fragment), a class and a
 * number.  Every option but END and NOOP is type, length, data.
 */
#define IPOPT_COPY 0x80
#define IPOPT_COPIED(o) ((o) & IPOPT_COPY)

#define IPOPT_END 0             /* end of the option list */
#define IPOPT_NOOP 1
#define IPOPT_RR 7              /* record route */
#define IPOPT_TIMESTAMP 68
#define IPOPT_SEC 130           /* RFC 1108 security */
#define IPOPT_LSRR 131          /* loose source and record route */
#define IPOPT_CIPSO 134         /* commercial IP security option */
#define IPOPT_SID 136           /* stream identifier */
#define IPOPT_SSRR 137          /* strict source and record route */
#define IPOPT_RA 148            /* router alert (RFC 2113) */

/* Timestamp option flags (low nibble of its fourth octet). */
#define IPOPT_TS_TSONLY 0
#define IPOPT_TS_TSANDADDR 1
#define IPOPT_TS_PRESPEC 3

#define IPOPT_MINOFF 4          /* smallest pointer of RR / SRR */

/* Port pair at the start of TCP and UDP headers, for flow hashing. */
struct l4_ports {
	uint16_t source;
	uint16_t dest;
} __attribute__((packed));

#endif
