/*
 * Datagram records in the shared rings, client side (see dgram_ring.h).
 * Client context, under the socket's client_lock.
 */
#include <errno.h>
#include <string.h>

#include "dgram_ring.h"

bool ns_ring_view_init(struct ns_ring_view *v, struct ns_ring *r, void *region,
		       uint64_t region_size, uint64_t off, uint64_t size)
{
	if (size < ns_dgram_record_size(0) * 2 || size > (1ull << 31) || (size & (size - 1)))
		return false;
	if (off > region_size || size > region_size - off || (off % NS_DGRAM_ALIGN))
		return false;
	v->r = r;
	v->data = (unsigned char *)region + off;
	v->size = (uint32_t)size;
	return true;
}

uint64_t ns_ring_used(const struct ns_ring_view *v)
{
	uint64_t cons = ns_ring_load_cons(v);
	uint64_t prod = ns_ring_load_prod(v);

	return ns_ring_sane(v, prod, cons) ? prod - cons : v->size;
}

int ns_dgram_tx_put(const struct ns_ring_view *tx, struct ns_dgram *hdr,
		    const struct iovec *iov, size_t iovcnt, uint32_t len)
{
	uint64_t prod = atomic_load_explicit(&tx->r->prod, memory_order_relaxed);
	uint64_t cons = ns_ring_load_cons(tx);
	unsigned char *p;
	uint64_t at;
	uint32_t left = len;

	if (ns_dgram_record_size(len) > tx->size)
		return -EMSGSIZE;
	if (!ns_ring_sane(tx, prod, cons))
		return -EAGAIN;         /* the daemon will reset us; nothing to write into */
	if (!ns_dgram_reserve(tx, prod, cons, len, &at))
		return -EAGAIN;
	hdr->len = len;
	p = tx->data + (at & (tx->size - 1));
	memcpy(p, hdr, sizeof(*hdr));
	p += sizeof(*hdr);
	for (size_t i = 0; i < iovcnt && left; i++) {
		size_t n = iov[i].iov_len < left ? iov[i].iov_len : left;

		if (n)
			memcpy(p, iov[i].iov_base, n);
		p += n;
		left -= (uint32_t)n;
	}
	ns_ring_publish_prod(tx, at + ns_dgram_record_size(len));
	return 0;
}

int ns_dgram_rx_get(const struct ns_ring_view *rx, struct ns_dgram *hdr,
		    const struct iovec *iov, size_t iovcnt, bool peek, size_t *copied)
{
	uint64_t cons = atomic_load_explicit(&rx->r->cons, memory_order_relaxed);
	uint64_t prod = ns_ring_load_prod(rx);
	const unsigned char *payload;
	uint32_t left;
	size_t done = 0;
	int r;

	r = ns_dgram_peek(rx, &cons, prod, hdr, &payload);
	if (r < 0)
		return -EIO;
	if (r == 0) {
		/* Skipped wrap markers are consumed too; nothing else. */
		if (!peek)
			ns_ring_publish_cons(rx, cons);
		return 0;
	}
	left = hdr->len;
	for (size_t i = 0; i < iovcnt && left; i++) {
		size_t n = iov[i].iov_len < left ? iov[i].iov_len : left;

		if (n)
			memcpy(iov[i].iov_base, payload + done, n);
		done += n;
		left -= (uint32_t)n;
	}
	*copied = done;
	if (!peek)
		ns_ring_publish_cons(rx, cons + ns_dgram_record_size(hdr->len));
	return 1;
}

int64_t ns_dgram_rx_next_len(const struct ns_ring_view *rx)
{
	uint64_t cons = atomic_load_explicit(&rx->r->cons, memory_order_relaxed);
	uint64_t prod = ns_ring_load_prod(rx);
	const unsigned char *payload;
	struct ns_dgram hdr;
	int r = ns_dgram_peek(rx, &cons, prod, &hdr, &payload);

	if (r < 0)
		return -EIO;
	return r ? (int64_t)hdr.len : 0;
}
