/*
 * The stream (TCP) socket calls on the client side: connect, accept, the
 * data path over the byte rings (send, recv and their relatives, sendfile)
 * and readiness, with the errors, flags and blocking rules of Linux's
 * __inet_stream_connect(), inet_csk_accept(), tcp_sendmsg_locked(),
 * tcp_recvmsg_locked() and tcp_poll().  The daemon runs the protocol and
 * publishes its progress in the control block (proto/shm.h); this file
 * only moves bytes and interprets that state.
 *
 * Client context, any thread.  Rings under the socket's client_lock,
 * which is never held while waiting or talking to the daemon (sendfile
 * holds it across the file read that fills the ring, a page-cache copy).
 *
 * Connection state.  The kernel keeps two: sk_state (the protocol's,
 * here the control block's bits and tcp_state) and sock->state (SS_*,
 * changed only by the socket calls), which is why a connect() after a
 * completed non-blocking connect() returns 0 once and EISCONN after.  The
 * second lives in ns_sock.sstate.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "ipc.h"
#include "real.h"
#include "sock.h"
#include "stream_ring.h"

/* The largest single read(2)/write(2) (the kernel's MAX_RW_COUNT). */
#define NS_MAX_RW_COUNT (0x7ffff000u)

static uint32_t ns_state(struct ns_sock *s)
{
	return atomic_load_explicit(&s->shm->state, memory_order_acquire);
}

static bool ns_stream_listening(struct ns_sock *s)
{
	return __atomic_load_n(&s->listening, __ATOMIC_ACQUIRE) ||
	       (ns_state(s) & NS_SS_LISTENING);
}

/* sk_state == TCP_CLOSE: never connected, failed, reset or over. */
static bool ns_stream_closed(struct ns_sock *s, uint32_t st)
{
	uint32_t tcp = atomic_load_explicit(&s->shm->tcp_state, memory_order_relaxed);

	if (st & NS_SS_DEAD)
		return true;
	return !(st & (NS_SS_CONNECTING | NS_SS_CONNECTED | NS_SS_LISTENING)) &&
	       (tcp == 0 || tcp == TCP_CLOSE);
}

/* The handshake is running (SYN_SENT / SYN_RECV). */
static bool ns_stream_connecting(struct ns_sock *s, uint32_t st)
{
	uint32_t tcp = atomic_load_explicit(&s->shm->tcp_state, memory_order_relaxed);

	if (st & (NS_SS_DEAD | NS_SS_CONNECTED))
		return false;
	return (st & NS_SS_CONNECTING) || tcp == TCP_SYN_SENT || tcp == TCP_SYN_RECV;
}

/* sock_error(): take the pending error (positive), once. */
static int ns_take_error(struct ns_sock *s)
{
	return atomic_exchange_explicit(&s->shm->so_error, 0, memory_order_seq_cst);
}

/* How long a blocking call may wait: deadline in ns (INT64_MAX forever), or -1 not at all. */
static int64_t ns_deadline(struct ns_sock *s, bool nonblock, bool rcv)
{
	int64_t t = __atomic_load_n(rcv ? &s->rcvtimeo_ns : &s->sndtimeo_ns, __ATOMIC_RELAXED);

	if (nonblock || t < 0)
		return -1;
	return t ? ns_now_ns() + t : INT64_MAX;
}

/*
 * Wait for @events until @deadline (see ns_deadline): 0 to re-check,
 * -EAGAIN when the time is up (or no waiting is allowed), -EINTR, ...
 */
static int ns_stream_wait(struct ns_sock *s, int fd, unsigned int events, int64_t deadline)
{
	int64_t left;

	if (deadline < 0)
		return -EAGAIN;
	if (deadline == INT64_MAX)
		return ns_sock_wait(s, fd, events, 0);
	left = deadline - ns_now_ns();
	if (left <= 0)
		return -EAGAIN;
	return ns_sock_wait(s, fd, events, left);
}

unsigned int ns_stream_poll(struct ns_sock *s)
{
	if (ns_session_dead(s->sess))
		return POLLIN | POLLRDNORM | POLLOUT | POLLWRNORM | POLLERR | POLLHUP | POLLRDHUP;
	return ns_stream_poll_mask(s->shm, &s->rx, &s->tx,
				   __atomic_load_n(&s->listening, __ATOMIC_ACQUIRE));
}

/* ---- connect ------------------------------------------------------------------- */

/* Tell the daemon to drop a failed attempt (the kernel's sk_prot->disconnect). */
static void ns_stream_disconnect(struct ns_sock *s)
{
	struct sockaddr unspec = { .sa_family = AF_UNSPEC };

	(void)ns_sock_addr_req(s, true, &unspec, sizeof(unspec));
}

static void ns_stream_set_connected(struct ns_sock *s)
{
	int zero = 0;

	__atomic_store_n(&s->sstate, NS_SSTATE_CONNECTED, __ATOMIC_RELEASE);
	__atomic_store_n(&s->connected, 1, __ATOMIC_RELEASE);
	__atomic_compare_exchange_n(&s->bound, &zero, 2, false, __ATOMIC_RELEASE,
				    __ATOMIC_RELAXED);
}

int ns_stream_connect(struct ns_sock *s, int fd, const struct sockaddr *addr, socklen_t len)
{
	bool nonblock = __atomic_load_n(&s->nonblock, __ATOMIC_RELAXED);
	sa_family_t fam;
	int64_t deadline;
	uint32_t st;
	int err, w;

	if (len < sizeof(fam))
		return -EINVAL;
	memcpy(&fam, addr, sizeof(fam));
	if (fam == AF_UNSPEC) {
		/* Disconnect: the daemon aborts whatever there is (tcp_disconnect). */
		err = ns_sock_addr_req(s, true, addr, len);
		__atomic_store_n(&s->sstate, NS_SSTATE_UNCONNECTED, __ATOMIC_RELEASE);
		__atomic_store_n(&s->connected, 0, __ATOMIC_RELEASE);
		if (!err)
			__atomic_store_n(&s->listening, 0, __ATOMIC_RELEASE);
		return err;
	}
	switch (__atomic_load_n(&s->sstate, __ATOMIC_ACQUIRE)) {
	case NS_SSTATE_CONNECTED:
		return -EISCONN;
	case NS_SSTATE_CONNECTING:
		err = -EALREADY;
		break;
	default:
		if (ns_stream_listening(s))
			return -EISCONN;        /* sk_state is not TCP_CLOSE */
		err = ns_sock_addr_req(s, true, addr, len);
		if (err == 0) {
			/* The handshake completed within the request. */
			__atomic_store_n(&s->used, 1, __ATOMIC_RELEASE);
			ns_stream_set_connected(s);
			return 0;
		}
		if (err != -EINPROGRESS)
			return err;
		__atomic_store_n(&s->used, 1, __ATOMIC_RELEASE);
		__atomic_store_n(&s->sstate, NS_SSTATE_CONNECTING, __ATOMIC_RELEASE);
		/*
		 * Always legal, and what a caller expects: the kernel would
		 * report success only if the handshake beat this check.
		 */
		if (nonblock)
			return -EINPROGRESS;
		break;
	}

	/* inet_wait_for_connect(): SO_SNDTIMEO bounds a blocking connect. */
	deadline = ns_deadline(s, nonblock, false);
	for (;;) {
		st = ns_state(s);
		if (!ns_stream_connecting(s, st) || ns_session_dead(s->sess))
			break;
		w = ns_stream_wait(s, fd, POLLIN | POLLOUT, deadline);
		if (w == -EAGAIN)
			return err;             /* still in progress: EINPROGRESS / EALREADY */
		if (w)
			return w;
	}
	if (ns_session_dead(s->sess)) {
		__atomic_store_n(&s->sstate, NS_SSTATE_UNCONNECTED, __ATOMIC_RELEASE);
		return -ECONNRESET;
	}
	if (!(st & NS_SS_CONNECTED) || ns_stream_closed(s, st)) {
		/* Refused, reset or timed out: report it once, then start afresh. */
		int e = ns_take_error(s);

		__atomic_store_n(&s->sstate, NS_SSTATE_UNCONNECTED, __ATOMIC_RELEASE);
		ns_stream_disconnect(s);
		return e ? -e : -ECONNABORTED;
	}
	ns_stream_set_connected(s);
	return 0;
}

/* ---- accept ---------------------------------------------------------------------- */

/*
 * Would two more descriptors fit?  The kernel fails accept() with EMFILE
 * before it takes a connection off the queue; the daemon has already
 * taken it once the reply is on its way, and descriptors that do not fit
 * are lost with it.  So look first (one: the socket's notify eventfd).
 */
static int ns_fds_available(int fd)
{
	int a = REAL(fcntl)(fd, F_DUPFD_CLOEXEC, 0);

	if (a < 0)
		return -errno;
	REAL(close)(a);
	return 0;
}

/* One Accept request: the new descriptor, or -errno (-EAGAIN: queue empty). */
static int ns_stream_accept_one(struct ns_sock *s, struct sockaddr *addr, socklen_t *len,
				int flags)
{
	Netstack__Request req = NETSTACK__REQUEST__INIT;
	Netstack__AcceptRequest ar = NETSTACK__ACCEPT_REQUEST__INIT;
	Netstack__Reply *reply = NULL;
	struct sockaddr_storage peer;
	socklen_t peerlen = 0;
	struct ns_sock *c;
	int nfd_in = -1, err, nfd;

	ar.sock_id = s->id;
	req.body_case = NETSTACK__REQUEST__BODY_ACCEPT;
	req.accept = &ar;
	err = ns_ipc_call(s->sess, &req, &reply, &nfd_in, 1);
	if (err)
		return -ECONNABORTED;   /* the daemon is gone */
	if (reply->error) {
		err = reply->error > 0 && reply->error < 4096 ? -reply->error : -EPROTO;
		netstack__reply__free_unpacked(reply, NULL);
		ns_close_fds(&nfd_in, 1);
		return err;
	}
	if (reply->body_case != NETSTACK__REPLY__BODY_ACCEPT || !reply->accept ||
	    reply->accept->peer.len > sizeof(peer)) {
		netstack__reply__free_unpacked(reply, NULL);
		ns_close_fds(&nfd_in, 1);
		return -EPROTO;
	}
	memset(&peer, 0, sizeof(peer));
	if (reply->accept->peer.len) {
		memcpy(&peer, reply->accept->peer.data, reply->accept->peer.len);
		peerlen = (socklen_t)reply->accept->peer.len;
	}
	nfd = ns_sock_adopt(s->sess, reply->accept->sock_id, reply->accept->shm_offset, nfd_in,
			    s->domain, SOCK_STREAM, s->protocol, flags, &c);
	netstack__reply__free_unpacked(reply, NULL);
	if (nfd < 0)
		return nfd;
	/* sk_clone_lock() copies the listener's socket: its timeouts and options too. */
	__atomic_store_n(&c->rcvtimeo_ns, __atomic_load_n(&s->rcvtimeo_ns, __ATOMIC_RELAXED),
			 __ATOMIC_RELAXED);
	__atomic_store_n(&c->sndtimeo_ns, __atomic_load_n(&s->sndtimeo_ns, __ATOMIC_RELAXED),
			 __ATOMIC_RELAXED);
	__atomic_store_n(&c->opts, __atomic_load_n(&s->opts, __ATOMIC_RELAXED), __ATOMIC_RELAXED);
	__atomic_store_n(&c->bound, 1, __ATOMIC_RELAXED);
	__atomic_store_n(&c->used, 1, __ATOMIC_RELAXED);
	ns_stream_set_connected(c);
	ns_sock_put(c);
	if (addr) {
		err = ns_copy_addr_out(&peer, peerlen, addr, len);
		if (err) {
			ns_sock_close_fd(nfd);
			return err;
		}
	}
	return nfd;
}

int ns_stream_accept(struct ns_sock *s, int fd, struct sockaddr *addr, socklen_t *len,
		     int flags)
{
	bool nonblock = __atomic_load_n(&s->nonblock, __ATOMIC_RELAXED);
	int64_t deadline = ns_deadline(s, nonblock, true);
	int err;

	if (flags & ~(SOCK_NONBLOCK | SOCK_CLOEXEC))
		return -EINVAL;
	/*
	 * The kernel checks the address length only after taking the
	 * connection (and then loses it); checking first keeps it queued.
	 */
	if (addr && !len)
		return -EFAULT;
	if (len && (int)*len < 0)
		return -EINVAL;
	err = ns_fds_available(fd);
	if (err)
		return err;
	for (;;) {
		/* Nothing queued on a known listener: no need to ask. */
		if (!ns_stream_listening(s) || ns_session_dead(s->sess) ||
		    atomic_load_explicit(&s->shm->accept_q, memory_order_acquire) ||
		    (ns_state(s) & NS_SS_DEAD)) {
			err = ns_stream_accept_one(s, addr, len, flags);
			if (err != -EAGAIN)
				return err;
		}
		err = ns_stream_wait(s, fd, POLLIN, deadline);
		if (err)
			return err;             /* -EAGAIN: non-blocking or timed out */
	}
}

/* ---- send -------------------------------------------------------------------------- */

/* The send path's error (sk_stream_error): a pending error wins over EPIPE; EPIPE signals. */
static int ns_stream_send_error(struct ns_sock *s, int err, int flags)
{
	if (err == -EPIPE) {
		int e = ns_take_error(s);

		if (e)
			err = -e;
	}
	if (err == -EPIPE && !(flags & MSG_NOSIGNAL))
		raise(SIGPIPE);
	return err;
}

/*
 * May we send now (tcp_sendmsg_locked's entry checks)?  0 yes
 * (ESTABLISHED or CLOSE_WAIT with nothing pending), 1 the handshake is
 * still running, -EPIPE otherwise (the caller turns it into the pending
 * error, if any).
 */
static int ns_stream_send_check(struct ns_sock *s)
{
	uint32_t st = ns_state(s);

	if (ns_session_dead(s->sess))
		return -EPIPE;
	if ((st & NS_SS_CONNECTED) && !(st & (NS_SS_DEAD | NS_SS_SEND_SHUTDOWN)))
		return atomic_load_explicit(&s->shm->so_error, memory_order_relaxed) ? -EPIPE : 0;
	if (ns_stream_connecting(s, st))
		return atomic_load_explicit(&s->shm->so_error, memory_order_relaxed) ? -EPIPE : 1;
	return -EPIPE;
}

/* Wait until sending is possible (sk_stream_wait_connect).  0 or -errno. */
static int ns_stream_wait_connect(struct ns_sock *s, int fd, int64_t deadline, int flags)
{
	for (;;) {
		int err = ns_stream_send_check(s);

		if (err <= 0)
			return err < 0 ? ns_stream_send_error(s, err, flags) : 0;
		err = ns_stream_wait(s, fd, POLLOUT, deadline);
		if (err)
			return err;
	}
}

/* After a partial or complete send: ring the doorbell if the daemon wants it. */
static void ns_stream_push(struct ns_sock *s)
{
	ns_sock_kick(s);
}

ssize_t ns_stream_sendmsg(struct ns_sock *s, int fd, const struct msghdr *msg, int flags)
{
	bool nonblock = (flags & MSG_DONTWAIT) || __atomic_load_n(&s->nonblock, __ATOMIC_RELAXED);
	int64_t deadline = ns_deadline(s, nonblock, false);
	struct ns_iov_iter it;
	size_t len, copied = 0;
	int err;

	if (!msg)
		return -EFAULT;
	if (flags & MSG_OOB)
		return -EOPNOTSUPP;     /* no urgent data */
	err = ns_iov_len(msg->msg_iov, msg->msg_iovlen, &len);
	if (err)
		return err;
	err = ns_stream_wait_connect(s, fd, deadline, flags);
	if (err)
		return err;
	ns_iov_iter_init(&it, msg->msg_iov, msg->msg_iovlen, len);
	/* Before prod moves: the daemon must not push a partial segment of a MSG_MORE send. */
	atomic_store_explicit(&s->shm->tx_more, (flags & MSG_MORE) ? 1 : 0, memory_order_relaxed);
	for (;;) {
		ns_sock_lock(s);
		copied += ns_stream_tx_put(&s->tx, &it, SIZE_MAX);
		ns_sock_unlock(s);
		if (!it.left)
			break;
		/* Full: push what is there (tcp_push without MSG_MORE), wait for room. */
		if (flags & MSG_MORE)
			atomic_store_explicit(&s->shm->tx_more, 0, memory_order_relaxed);
		ns_stream_push(s);
		err = ns_stream_wait(s, fd, POLLOUT, deadline);
		if (err)
			break;
		err = ns_stream_send_check(s);
		if (err) {
			err = err > 0 ? -EAGAIN : err;
			break;
		}
		if (flags & MSG_MORE)
			atomic_store_explicit(&s->shm->tx_more, 1, memory_order_relaxed);
	}
	ns_stream_push(s);
	if (copied)
		return (ssize_t)copied;
	return len ? ns_stream_send_error(s, err, flags) : 0;
}

ssize_t ns_stream_sendfile(struct ns_sock *s, int fd, int in_fd, off_t *offset, size_t count)
{
	bool nonblock = __atomic_load_n(&s->nonblock, __ATOMIC_RELAXED);
	int64_t deadline = ns_deadline(s, nonblock, false);
	off_t pos = 0;
	size_t done = 0;
	int err = 0;

	if (offset) {
		pos = *offset;
		if (pos < 0)
			return -EINVAL;
	}
	/* do_sendfile(): the input must be open for reading (EBADF). */
	{
		int fl = REAL(fcntl)(in_fd, F_GETFL);

		if (fl < 0 || (fl & O_ACCMODE) == O_WRONLY || ns_fd_is_ours(in_fd))
			return fl < 0 || (fl & O_ACCMODE) == O_WRONLY ? -EBADF : -EINVAL;
	}
	if (count > NS_MAX_RW_COUNT)
		count = NS_MAX_RW_COUNT;
	if (!count)
		return 0;
	err = ns_stream_wait_connect(s, fd, deadline, 0);
	if (err)
		return err;
	atomic_store_explicit(&s->shm->tx_more, 0, memory_order_relaxed);
	while (done < count) {
		struct iovec seg[2];
		int nseg;
		ssize_t n;

		/*
		 * Read the file straight into the ring's free space, under
		 * client_lock so that no other writer interleaves; the read is
		 * a page-cache copy (sendfile's input is a regular file).
		 */
		ns_sock_lock(s);
		if (ns_stream_tx_space(&s->tx, seg, &nseg, count - done) == 0) {
			ns_sock_unlock(s);
			ns_stream_push(s);
			err = ns_stream_wait(s, fd, POLLOUT, deadline);
			if (err)
				break;
			err = ns_stream_send_check(s);
			if (err) {
				err = err > 0 ? -EAGAIN : err;
				break;
			}
			continue;
		}
		do {
			n = offset ? preadv(in_fd, seg, nseg, pos) : REAL(readv)(in_fd, seg, nseg);
		} while (n < 0 && errno == EINTR);
		err = n < 0 ? -errno : 0;
		if (n > 0)
			ns_stream_tx_commit(&s->tx, (size_t)n);
		ns_sock_unlock(s);
		if (n <= 0)
			break;                  /* end of file, or a read error */
		done += (size_t)n;
		pos += n;
		ns_stream_push(s);
	}
	ns_stream_push(s);
	if (offset)
		*offset = pos;
	if (done)
		return (ssize_t)done;
	return err ? ns_stream_send_error(s, err, 0) : 0;
}

/* ---- receive ------------------------------------------------------------------------ */

/* ns_iov_len() for buffers that are not accessed: only the counts are checked. */
static int ns_iov_len_unused(const struct iovec *iov, size_t n, size_t *total)
{
	size_t t = 0;

	if (n && !iov)
		return -EFAULT;
	if (n > 1024)                   /* UIO_MAXIOV */
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		t += iov[i].iov_len;
		if ((ssize_t)iov[i].iov_len < 0 || (ssize_t)t < 0)
			return -EINVAL;
	}
	*total = t;
	return 0;
}

/* We consumed from rx: if the daemon asked (window update due), ring. */
static void ns_stream_consumed(struct ns_sock *s)
{
	if (atomic_exchange_explicit(&s->shm->rx_kick, 0, memory_order_seq_cst))
		ns_sock_ring(s);
}

ssize_t ns_stream_recvmsg(struct ns_sock *s, int fd, struct msghdr *msg, int flags)
{
	bool nonblock = (flags & MSG_DONTWAIT) || __atomic_load_n(&s->nonblock, __ATOMIC_RELAXED);
	int64_t deadline = ns_deadline(s, nonblock, true);
	unsigned int rflags = ((flags & MSG_PEEK) ? NS_RX_PEEK : 0) |
			      ((flags & MSG_TRUNC) ? NS_RX_DISCARD : 0);
	struct ns_iov_iter it;
	bool expired = deadline < 0;
	size_t len, target;
	ssize_t copied = 0;
	int err;

	if (!msg)
		return -EFAULT;
	if (flags & MSG_ERRQUEUE)
		return -EAGAIN;         /* no error queue */
	if (ns_stream_listening(s))
		return -ENOTCONN;
	if (flags & MSG_OOB)
		return -EINVAL;         /* no urgent data pending, ever */
	/* With MSG_TRUNC nothing is copied, so the buffers are never looked at. */
	err = (flags & MSG_TRUNC) ? ns_iov_len_unused(msg->msg_iov, msg->msg_iovlen, &len) :
				    ns_iov_len(msg->msg_iov, msg->msg_iovlen, &len);
	if (err)
		return err;
	if (len > NS_MAX_RW_COUNT)
		len = NS_MAX_RW_COUNT;
	msg->msg_namelen = 0;           /* TCP never reports an address */
	msg->msg_controllen = 0;
	msg->msg_flags = 0;
	if (!len && ns_stream_rx_avail(&s->rx) > 0)
		return 0;
	target = (flags & MSG_WAITALL) && len ? len : 1;
	ns_iov_iter_init(&it, msg->msg_iov, msg->msg_iovlen, len);

	/* tcp_recvmsg_locked(): data first, then EOF or errors, then waiting. */
	do {
		uint32_t st;
		ssize_t n;

		ns_sock_lock(s);
		n = ns_stream_rx_get(&s->rx, &it, (flags & MSG_PEEK) ? (uint64_t)copied : 0, rflags);
		ns_sock_unlock(s);
		if (n < 0) {
			if (!copied)
				copied = -EIO;
			break;
		}
		if (n > 0 && !(flags & MSG_PEEK))
			ns_stream_consumed(s);
		copied += n;
		if ((size_t)copied >= target)
			break;
		st = ns_state(s);
		if (copied) {
			if (expired || atomic_load(&s->shm->so_error) || ns_stream_closed(s, st) ||
			    (st & NS_SS_RCV_SHUTDOWN))
				break;
		} else {
			if (ns_session_dead(s->sess)) {
				copied = -ECONNRESET;
				break;
			}
			if (st & NS_SS_RCV_SHUTDOWN)
				break;          /* the peer's FIN (SOCK_DONE): EOF */
			err = ns_take_error(s);
			if (err) {
				copied = -err;
				break;
			}
			if (st & NS_SS_DEAD)
				break;          /* reset: shut down both ways, EOF */
			if (ns_stream_closed(s, st)) {
				copied = -ENOTCONN;     /* never connected */
				break;
			}
			if (expired) {
				copied = -EAGAIN;
				break;
			}
		}
		err = ns_stream_wait(s, fd, POLLIN, deadline);
		if (err == -EAGAIN) {
			expired = true;         /* one more look, then EAGAIN or what we have */
			continue;
		}
		if (err) {
			if (!copied)
				copied = err;
			break;
		}
	} while ((size_t)copied < len);
	return copied;
}
