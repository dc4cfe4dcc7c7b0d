/*
 * Ring operations on the shared-memory layout of shm.h, shared by the
 * daemon and libnetstack.so so that both sides agree byte for byte.
 *
 * A struct ns_ring_view is each side's PRIVATE description of a ring (data
 * pointer and size it derived itself); only the indices live in shared
 * memory.  Consumers copy a record's header out of the ring before looking
 * at it, so a peer that rewrites the header concurrently cannot make the
 * reader see two different lengths (read once, validate, use).
 */
#ifndef NS_PROTO_SHM_RING_H
#define NS_PROTO_SHM_RING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "shm.h"

struct ns_ring_view {
	struct ns_ring *r;
	unsigned char *data;
	uint32_t size;                  /* power of two */
};

static inline uint64_t ns_ring_load_prod(const struct ns_ring_view *v)
{
	return atomic_load_explicit(&v->r->prod, memory_order_acquire);
}

static inline uint64_t ns_ring_load_cons(const struct ns_ring_view *v)
{
	return atomic_load_explicit(&v->r->cons, memory_order_acquire);
}

static inline void ns_ring_publish_prod(const struct ns_ring_view *v, uint64_t prod)
{
	atomic_store_explicit(&v->r->prod, prod, memory_order_release);
}

static inline void ns_ring_publish_cons(const struct ns_ring_view *v, uint64_t cons)
{
	atomic_store_explicit(&v->r->cons, cons, memory_order_release);
}

/* True if the indices are consistent for a ring of this size. */
static inline bool ns_ring_sane(const struct ns_ring_view *v, uint64_t prod, uint64_t cons)
{
	return prod >= cons && prod - cons <= v->size;
}

/*
 * Producer: make room for a datagram record of @len payload bytes starting
 * at @prod, given the consumer's @cons.  Writes a wrap marker if the record
 * does not fit before the end of the ring.  On success returns true and
 * sets *@at to the index where the record goes (then write it with
 * ns_dgram_write and publish @at + ns_dgram_record_size(len)).  Returns
 * false if the ring lacks room.
 */
static inline bool ns_dgram_reserve(const struct ns_ring_view *v, uint64_t prod,
				    uint64_t cons, uint32_t len, uint64_t *at)
{
	uint32_t rec = ns_dgram_record_size(len);
	uint32_t pos = (uint32_t)(prod & (v->size - 1));
	uint32_t tail = v->size - pos;
	uint64_t need = tail < rec ? (uint64_t)tail + rec : rec;

	if (rec > v->size || prod - cons + need > v->size)
		return false;
	if (tail < rec) {
		if (tail >= sizeof(struct ns_dgram)) {
			uint32_t wrap = NS_DGRAM_WRAP;

			memcpy(v->data + pos, &wrap, sizeof(wrap));
		}
		prod += tail;
	}
	*at = prod;
	return true;
}

/* Write a record (header copied from @hdr, hdr->len bytes of @payload) at @at. */
static inline void ns_dgram_write(const struct ns_ring_view *v, uint64_t at,
				  const struct ns_dgram *hdr, const void *payload)
{
	unsigned char *p = v->data + (at & (v->size - 1));

	memcpy(p, hdr, sizeof(*hdr));
	if (hdr->len)
		memcpy(p + sizeof(*hdr), payload, hdr->len);
}

/*
 * Consumer: find the next record at or after *@cons (skipping wrap
 * markers), copy its header into *@hdr and point *@payload at its data.
 * Returns 1 with *@cons set to the record's index, 0 if the ring is empty,
 * or -1 if the ring is corrupt (indices or a length out of bounds).  The
 * record is consumed by publishing *@cons + ns_dgram_record_size(hdr->len).
 */
static inline int ns_dgram_peek(const struct ns_ring_view *v, uint64_t *cons, uint64_t prod,
				struct ns_dgram *hdr, const unsigned char **payload)
{
	uint64_t c = *cons;

	if (!ns_ring_sane(v, prod, c))
		return -1;
	while (c != prod) {
		uint32_t pos = (uint32_t)(c & (v->size - 1));
		uint32_t tail = v->size - pos;
		uint32_t rec;

		if (tail < sizeof(struct ns_dgram)) {
			c += tail;
			continue;
		}
		memcpy(hdr, v->data + pos, sizeof(*hdr));
		if (hdr->len == NS_DGRAM_WRAP) {
			c += tail;
			continue;
		}
		if (hdr->len > NS_DGRAM_LEN_MAX)
			return -1;
		rec = ns_dgram_record_size(hdr->len);
		if (rec > tail || c + rec > prod)
			return -1;
		*cons = c;
		*payload = v->data + pos + sizeof(*hdr);
		return 1;
	}
	*cons = c;
	return 0;
}

/* Stream rings ----------------------------------------------------------- */

/* Copy @len bytes from @src into the ring at index @at (may wrap). */
static inline void ns_stream_put(const struct ns_ring_view *v, uint64_t at,
				 const void *src, uint32_t len)
{
	uint32_t pos = (uint32_t)(at & (v->size - 1));
	uint32_t first = v->size - pos < len ? v->size - pos : len;

	memcpy(v->data + pos, src, first);
	if (len > first)
		memcpy(v->data, (const unsigned char *)src + first, len - first);
}

/* Copy @len bytes out of the ring from index @at (may wrap) into @dst. */
static inline void ns_stream_get(const struct ns_ring_view *v, uint64_t at,
				 void *dst, uint32_t len)
{
	uint32_t pos = (uint32_t)(at & (v->size - 1));
	uint32_t first = v->size - pos < len ? v->size - pos : len;

	memcpy(dst, v->data + pos, first);
	if (len > first)
		memcpy((unsigned char *)dst + first, v->data, len - first);
}

#endif
