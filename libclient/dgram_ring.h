/*
 * The client's side of the datagram rings of proto/shm.h, on top of the
 * shared inline helpers of proto/shm_ring.h: produce one record into tx
 * from an iovec, consume (or peek) one record from rx into an iovec.
 * Pure memory operations: no locks, no system calls, no errno, so they can
 * be tested against a fake region.  The caller holds the socket's
 * client_lock (one producer and one consumer per ring at a time).
 */
#ifndef NS_LIBCLIENT_DGRAM_RING_H
#define NS_LIBCLIENT_DGRAM_RING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "proto/shm_ring.h"

/*
 * Make a ring view for the ring @r whose data is @size bytes at @off in a
 * region of @region_size bytes at @region.  Returns false (and leaves @v
 * alone) if the size is not a power of two of at least one record or the
 * data does not lie inside the region.
 */
bool ns_ring_view_init(struct ns_ring_view *v, struct ns_ring *r, void *region,
		       uint64_t region_size, uint64_t off, uint64_t size);

/* Bytes in use, or the ring size if the indices are corrupt. */
uint64_t ns_ring_used(const struct ns_ring_view *v);

/*
 * Append a record: header @hdr (its len is set here to @len) then @len
 * payload bytes gathered from @iov.  Publishes prod with release order.
 * 0, -EAGAIN if the ring lacks room now, -EMSGSIZE if it never could
 * hold such a record.
 */
int ns_dgram_tx_put(const struct ns_ring_view *tx, struct ns_dgram *hdr,
		    const struct iovec *iov, size_t iovcnt, uint32_t len);

/*
 * Take the next record: copy its header to *@hdr and up to the iovec's
 * capacity of its payload (*@copied bytes) into @iov.  Unless @peek, the
 * record is consumed (cons published with release order) even if the
 * payload did not fit, as a datagram socket does.  1 on success, 0 if the
 * ring is empty, -EIO if the ring is corrupt.
 */
int ns_dgram_rx_get(const struct ns_ring_view *rx, struct ns_dgram *hdr,
		    const struct iovec *iov, size_t iovcnt, bool peek, size_t *copied);

/* Payload length of the next record, 0 if empty, -EIO if corrupt. */
int64_t ns_dgram_rx_next_len(const struct ns_ring_view *rx);

#endif
