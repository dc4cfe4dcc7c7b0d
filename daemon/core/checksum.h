/*
 * The Internet checksum (RFC 1071) and its incremental update (RFC 1624).
 * Pure functions; any context.
 */
#ifndef NS_CORE_CHECKSUM_H
#define NS_CORE_CHECKSUM_H

#include <stddef.h>
#include <stdint.h>

/*
 * One's-complement sum of @len bytes at @data folded into 32 bits, added to
 * @sum.  Use csum_fold() to finish.
 */
uint32_t csum_partial(const void *data, size_t len, uint32_t sum);

/* Fold a 32-bit partial sum to 16 bits and complement it. */
static inline uint16_t csum_fold(uint32_t sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* Add two partial sums (one's-complement addition with end-around carry). */
static inline uint32_t csum_add(uint32_t a, uint32_t b)
{
	uint32_t r = a + b;

	return r + (r < a);
}

/*
 * Add @sum2, the partial sum of a block that starts @offset bytes into the
 * data summed by @sum: a block at an odd offset has its bytes in the other
 * halves of the 16-bit words, so its folded sum is byte-swapped first.
 */
static inline uint32_t csum_block_add(uint32_t sum, uint32_t sum2, uint32_t offset)
{
	if (offset & 1) {
		sum2 = (sum2 & 0xffff) + (sum2 >> 16);
		sum2 = (sum2 & 0xffff) + (sum2 >> 16);
		sum2 = ((sum2 & 0xff) << 8) | (sum2 >> 8);
	}
	return csum_add(sum, sum2);
}

/* Checksum of @len bytes; 0 when verifying a block that includes its checksum. */
static inline uint16_t ip_compute_csum(const void *data, size_t len)
{
	return csum_fold(csum_partial(data, len, 0));
}

/* Checksum of an IPv4 header of @ihl 32-bit words. */
static inline uint16_t ip_fast_csum(const void *iph, unsigned int ihl)
{
	return ip_compute_csum(iph, (size_t)ihl * 4);
}

/*
 * Update checksum @check (network order, as stored) when a 16-bit field
 * changes from @old to @new (both network order).  RFC 1624 eqn. 3.
 */
uint16_t csum_replace2(uint16_t check, uint16_t old, uint16_t new_);

/*
 * Pseudo-header sum for TCP/UDP over IPv4 (addresses network order,
 * @len host order) added to @sum.
 */
uint32_t csum_tcpudp_nofold(uint32_t saddr, uint32_t daddr, uint32_t len,
			    uint8_t proto, uint32_t sum);

#endif
