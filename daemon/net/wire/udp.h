/*
 * UDP on the wire (RFC 768).  Multi-byte fields are network byte order.
 */
#ifndef NS_WIRE_UDP_H
#define NS_WIRE_UDP_H

#include <stdint.h>

#define UDP_HLEN 8

struct udphdr_ns {
	uint16_t source;
	uint16_t dest;
	uint16_t len;               /* header and data, at least 8 */
	uint16_t check;             /* 0: none; a computed 0 is sent as 0xffff */
} __attribute__((packed));

_Static_assert(sizeof(struct udphdr_ns) == UDP_HLEN, "udphdr size");

#endif
