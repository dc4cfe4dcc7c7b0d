/*
 * Internet checksum.  The sum is computed over 16-bit words in network
 * byte order by reading the bytes in memory order on a little-endian host
 * and relying on the byte-order independence of the one's-complement sum
 * (RFC 1071 §2(B)).
 */
#include <arpa/inet.h>
#include <string.h>

#include "core/checksum.h"

uint32_t csum_partial(const void *data, size_t len, uint32_t sum)
{
	const unsigned char *p = data;
	uint64_t acc = sum;

	while (len >= 8) {
		uint64_t w;

		memcpy(&w, p, 8);
		acc += w & 0xffffffffu;
		acc += w >> 32;
		p += 8;
		len -= 8;
	}
	while (len >= 2) {
		uint16_t w;

		memcpy(&w, p, 2);
		acc += w;
		p += 2;
		len -= 2;
	}
	if (len) {
		uint16_t w = 0;

		memcpy(&w, p, 1);
		acc += w;
	}
	while (acc >> 32)
		acc = (acc & 0xffffffffu) + (acc >> 32);
	return (uint32_t)acc;
}

uint16_t csum_replace2(uint16_t check, uint16_t old, uint16_t new_)
{
	/* HC' = ~(~HC + ~m + m') */
	uint32_t sum = (uint16_t)~check;

	sum += (uint16_t)~old;
	sum += new_;
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

uint32_t csum_tcpudp_nofold(uint32_t saddr, uint32_t daddr, uint32_t len,
			    uint8_t proto, uint32_t sum)
{
	uint64_t acc = sum;

	acc += (saddr & 0xffff) + (saddr >> 16);
	acc += (daddr & 0xffff) + (daddr >> 16);
	acc += htons((uint16_t)proto);
	acc += htons((uint16_t)len);
	while (acc >> 32)
		acc = (acc & 0xffffffffu) + (acc >> 32);
	return (uint32_t)acc;
}
