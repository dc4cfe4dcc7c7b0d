/*
 * The client's side of the stream (TCP) rings of proto/shm.h: plain bytes
 * that wrap around, on top of ns_stream_put/ns_stream_get of
 * proto/shm_ring.h.  tx: the client appends what the application writes;
 * the daemon sends from the ring and moves tx.cons only when the peer
 * acknowledged the bytes.  rx: the daemon appends in-order payload; the
 * client consumes it.  Also the readiness of a stream socket as tcp_poll()
 * computes it, from a snapshot of the control block.
 *
 * Pure memory operations: no locks, no system calls, no errno, so they can
 * be tested against a fake control block.  The caller holds the socket's
 * client_lock around the ring operations (one producer and one consumer
 * per ring at a time).
 */
#ifndef NS_LIBCLIENT_STREAM_RING_H
#define NS_LIBCLIENT_STREAM_RING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "proto/shm_ring.h"

/*
 * A cursor into the caller's iovec: how far a send or receive got.  A
 * blocking call moves through the iovec across several ring operations
 * (between them it waits), so the position lives here.
 */
struct ns_iov_iter {
	const struct iovec *iov;
	size_t n;                       /* entries */
	size_t idx, off;                /* current entry, offset in it */
	size_t left;                    /* bytes not yet done */
};

/* Start at the beginning of @iov (@n entries, @total bytes in all). */
void ns_iov_iter_init(struct ns_iov_iter *it, const struct iovec *iov, size_t n, size_t total);

/* Bytes free in tx; 0 if the indices are corrupt (the daemon resets us). */
uint64_t ns_stream_tx_room(const struct ns_ring_view *tx);

/*
 * Append up to @max bytes of @it (as many as fit) to tx and publish prod
 * with release order.  Returns the bytes appended, 0 if tx is full.
 */
size_t ns_stream_tx_put(const struct ns_ring_view *tx, struct ns_iov_iter *it, size_t max);

/*
 * tx's free space, at most @max bytes, as one or two segments (it may
 * wrap) for a writer that fills the ring itself (sendfile reads a file
 * straight into it).  Returns the bytes described; *@nseg gets 0, 1 or 2.
 * Then ns_stream_tx_commit() publishes what was actually written.
 */
size_t ns_stream_tx_space(const struct ns_ring_view *tx, struct iovec seg[2], int *nseg,
			  size_t max);
void ns_stream_tx_commit(const struct ns_ring_view *tx, size_t n);

/* Bytes waiting in rx, or -EIO if the indices are corrupt. */
int64_t ns_stream_rx_avail(const struct ns_ring_view *rx);

/* ns_stream_rx_get() flags. */
enum {
	NS_RX_PEEK = 1u << 0,           /* MSG_PEEK: leave the bytes in rx */
	NS_RX_DISCARD = 1u << 1,        /* MSG_TRUNC: take the bytes without copying */
};

/*
 * Take up to @it->left bytes from rx, starting @skip bytes past cons (a
 * MSG_PEEK that waited goes on where it got), into @it (not with
 * NS_RX_DISCARD).  Unless NS_RX_PEEK, the bytes are consumed: cons is
 * published with release order.  Returns the bytes taken (0: nothing
 * there), or -EIO if the ring is corrupt.
 */
ssize_t ns_stream_rx_get(const struct ns_ring_view *rx, struct ns_iov_iter *it, uint64_t skip,
			 unsigned int flags);

/*
 * sk_stream_is_writeable(): room for more while the free space is at least
 * half of what is queued (at most two thirds of the ring in use).
 */
bool ns_stream_writeable(const struct ns_ring_view *tx);

/*
 * tcp_poll() from the control block: POLLIN/POLLOUT/POLLERR/POLLHUP/
 * POLLRDHUP (with their RDNORM/WRNORM twins).  @listening: the client
 * knows the socket listens (the daemon's bits may lag).  A listener is
 * readable while accept_q is non-zero and nothing else.  Otherwise: HUP
 * when closed (never connected, failed, reset) or shut down both ways;
 * IN and RDHUP after the peer's FIN; no data readiness while the
 * handshake runs; OUT while writeable or once writing is shut down; ERR
 * while an error is pending.  NS_SS_DEAD (reset, refused, timed out)
 * counts as shut down both ways.
 */
unsigned int ns_stream_poll_mask(struct ns_sock_shm *shm, const struct ns_ring_view *rx,
				 const struct ns_ring_view *tx, bool listening);

#endif
