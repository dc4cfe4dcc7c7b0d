/*
 * Stream rings, client side (see stream_ring.h).  Client context, under
 * the socket's client_lock for the ring operations; the readiness
 * function only reads.
 */
#include <errno.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <string.h>

#include "stream_ring.h"

void ns_iov_iter_init(struct ns_iov_iter *it, const struct iovec *iov, size_t n, size_t total)
{
	it->iov = iov;
	it->n = n;
	it->idx = 0;
	it->off = 0;
	it->left = total;
}

/* The next contiguous piece of @it, at most @max bytes (skips empty entries). */
static size_t ns_iov_iter_piece(struct ns_iov_iter *it, size_t max, unsigned char **p)
{
	size_t n;

	while (it->idx < it->n && it->off == it->iov[it->idx].iov_len) {
		it->idx++;
		it->off = 0;
	}
	if (it->idx == it->n || !it->left)
		return 0;
	n = it->iov[it->idx].iov_len - it->off;
	if (n > max)
		n = max;
	if (n > it->left)
		n = it->left;
	*p = (unsigned char *)it->iov[it->idx].iov_base + it->off;
	return n;
}

static void ns_iov_iter_advance(struct ns_iov_iter *it, size_t n)
{
	it->off += n;
	it->left -= n;
}

uint64_t ns_stream_tx_room(const struct ns_ring_view *tx)
{
	uint64_t prod = atomic_load_explicit(&tx->r->prod, memory_order_relaxed);
	uint64_t cons = ns_ring_load_cons(tx);

	return ns_ring_sane(tx, prod, cons) ? tx->size - (prod - cons) : 0;
}

size_t ns_stream_tx_put(const struct ns_ring_view *tx, struct ns_iov_iter *it, size_t max)
{
	uint64_t prod = atomic_load_explicit(&tx->r->prod, memory_order_relaxed);
	uint64_t room = ns_stream_tx_room(tx);
	size_t done = 0;

	if (max > room)
		max = (size_t)room;
	while (done < max) {
		unsigned char *p;
		size_t n = ns_iov_iter_piece(it, max - done, &p);

		if (!n)
			break;
		ns_stream_put(tx, prod + done, p, (uint32_t)n);
		ns_iov_iter_advance(it, n);
		done += n;
	}
	if (done)
		ns_ring_publish_prod(tx, prod + done);
	return done;
}

size_t ns_stream_tx_space(const struct ns_ring_view *tx, struct iovec seg[2], int *nseg,
			  size_t max)
{
	uint64_t prod = atomic_load_explicit(&tx->r->prod, memory_order_relaxed);
	uint64_t room = ns_stream_tx_room(tx);
	uint32_t pos = (uint32_t)(prod & (tx->size - 1));
	size_t first;

	if (max > room)
		max = (size_t)room;
	*nseg = 0;
	if (!max)
		return 0;
	first = tx->size - pos < max ? tx->size - pos : max;
	seg[0].iov_base = tx->data + pos;
	seg[0].iov_len = first;
	*nseg = 1;
	if (max > first) {
		seg[1].iov_base = tx->data;
		seg[1].iov_len = max - first;
		*nseg = 2;
	}
	return max;
}

void ns_stream_tx_commit(const struct ns_ring_view *tx, size_t n)
{
	uint64_t prod = atomic_load_explicit(&tx->r->prod, memory_order_relaxed);

	if (n)
		ns_ring_publish_prod(tx, prod + n);
}

int64_t ns_stream_rx_avail(const struct ns_ring_view *rx)
{
	uint64_t cons = atomic_load_explicit(&rx->r->cons, memory_order_relaxed);
	uint64_t prod = ns_ring_load_prod(rx);

	return ns_ring_sane(rx, prod, cons) ? (int64_t)(prod - cons) : -EIO;
}

ssize_t ns_stream_rx_get(const struct ns_ring_view *rx, struct ns_iov_iter *it, uint64_t skip,
			 unsigned int flags)
{
	uint64_t cons = atomic_load_explicit(&rx->r->cons, memory_order_relaxed);
	uint64_t prod = ns_ring_load_prod(rx);
	uint64_t avail;
	size_t want, done = 0;

	if (!ns_ring_sane(rx, prod, cons))
		return -EIO;
	avail = prod - cons;
	if (skip >= avail)
		return 0;
	avail -= skip;
	want = it->left < avail ? it->left : (size_t)avail;
	if (flags & NS_RX_DISCARD) {
		it->left -= want;
		done = want;
	} else {
		while (done < want) {
			unsigned char *p;
			size_t n = ns_iov_iter_piece(it, want - done, &p);

			if (!n)
				break;
			ns_stream_get(rx, cons + skip + done, p, (uint32_t)n);
			ns_iov_iter_advance(it, n);
			done += n;
		}
	}
	if (!(flags & NS_RX_PEEK) && done)
		ns_ring_publish_cons(rx, cons + skip + done);
	return (ssize_t)done;
}

bool ns_stream_writeable(const struct ns_ring_view *tx)
{
	uint64_t room = ns_stream_tx_room(tx);
	uint64_t used = tx->size - room;

	return room && room >= used / 2;
}

unsigned int ns_stream_poll_mask(struct ns_sock_shm *shm, const struct ns_ring_view *rx,
				 const struct ns_ring_view *tx, bool listening)
{
	uint32_t st = atomic_load_explicit(&shm->state, memory_order_seq_cst);
	uint32_t tcp = atomic_load_explicit(&shm->tcp_state, memory_order_relaxed);
	bool dead = st & NS_SS_DEAD;
	bool rcv_shut = dead || (st & NS_SS_RCV_SHUTDOWN);
	bool snd_shut = dead || (st & NS_SS_SEND_SHUTDOWN);
	bool connecting, closed;
	unsigned int mask = 0;

	if (!dead && (listening || (st & NS_SS_LISTENING) || tcp == TCP_LISTEN)) {
		/* inet_csk_listen_poll(): only "something to accept". */
		if (atomic_load_explicit(&shm->accept_q, memory_order_acquire))
			mask |= POLLIN | POLLRDNORM;
		return mask;
	}
	connecting = !dead && !(st & NS_SS_CONNECTED) &&
		     ((st & NS_SS_CONNECTING) || tcp == TCP_SYN_SENT || tcp == TCP_SYN_RECV);
	/* TCP_CLOSE: never connected, or over (a zeroed tcp_state is CLOSE too). */
	closed = dead || (!(st & (NS_SS_CONNECTING | NS_SS_CONNECTED)) &&
			  (tcp == 0 || tcp == TCP_CLOSE));
	if ((rcv_shut && snd_shut) || closed)
		mask |= POLLHUP;
	if (rcv_shut)
		mask |= POLLIN | POLLRDNORM | POLLRDHUP;
	if (!connecting) {
		/* A corrupt rx counts as readable: the reader then sees EIO. */
		if (ns_stream_rx_avail(rx) != 0)
			mask |= POLLIN | POLLRDNORM;
		if (snd_shut || ns_stream_writeable(tx))
			mask |= POLLOUT | POLLWRNORM;
	}
	if (atomic_load_explicit(&shm->so_error, memory_order_relaxed))
		mask |= POLLERR;
	return mask;
}
