/*
 * Blocking and readiness for stack sockets: the client_lock futex, the
 * readiness of a socket computed from shared memory, and sleeping on the
 * notify eventfd with the wake-up protocol of proto/shm.h.  Client
 * context, any thread; takes no lock but client_lock.
 *
 * Sleeping.  A caller that must wait spins on the shared state for the
 * busy-poll window (NETSTACK_BUSY_POLL_US, default 50 µs; 0 disables),
 * then sets its client_wait bit with seq_cst order, re-checks, and sleeps
 * in poll() on the notify eventfd and on the session's connection, which
 * reports POLLHUP when the daemon dies, so no caller outlives the daemon by
 * more than a wake-up.  The eventfd is non-blocking at all times (the
 * application's O_NONBLOCK lives in struct ns_sock), so draining it never
 * blocks.
 *
 * The notify eventfd stays readable while the socket is readable: it is
 * only drained by someone who saw it readable and the socket not ready,
 * and the drainer reads it, then clears notify_pending, then re-checks
 * (writing it back if data arrived meanwhile).  That keeps kernel-side
 * pollers of the same fd (an epoll fd nested in poll(), a child process)
 * in step with the socket.
 */
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "dgram_ring.h"
#include "ipc.h"
#include "real.h"
#include "sock.h"

int64_t ns_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* ---- client_lock: a process-shared futex mutex (Drepper's "mutex 2") ------ */

static long ns_futex(_Atomic uint32_t *addr, int op, uint32_t val)
{
	return syscall(SYS_futex, addr, op, val, NULL, NULL, 0);
}

void ns_sock_lock(struct ns_sock *s)
{
	_Atomic uint32_t *l = &s->shm->client_lock;
	uint32_t c = 0;

	if (atomic_compare_exchange_strong_explicit(l, &c, 1, memory_order_acquire,
						    memory_order_relaxed))
		return;
	if (c != 2)
		c = atomic_exchange_explicit(l, 2, memory_order_acquire);
	while (c != 0) {
		/* Shared futex (no FUTEX_PRIVATE_FLAG): forked processes share it. */
		ns_futex(l, FUTEX_WAIT, 2);
		c = atomic_exchange_explicit(l, 2, memory_order_acquire);
	}
}

void ns_sock_unlock(struct ns_sock *s)
{
	_Atomic uint32_t *l = &s->shm->client_lock;

	if (atomic_exchange_explicit(l, 0, memory_order_release) == 2)
		ns_futex(l, FUTEX_WAKE, 1);
}

/* ---- readiness --------------------------------------------------------------- */

bool ns_sock_dead(struct ns_sock *s)
{
	return (atomic_load_explicit(&s->shm->state, memory_order_acquire) & NS_SS_DEAD) ||
	       ns_session_dead(s->sess);
}

/*
 * Stream sockets: tcp_poll() (sock_stream.c).  Datagram sockets: Linux
 * datagram_poll()/udp_poll(): readable with data or after SHUT_RD,
 * POLLERR with a pending error, POLLHUP when shut down both ways, writable
 * while less than half of the send buffer (here: the tx ring) is in use
 * (sock_writeable).  A dead socket is everything, so that callers look.
 */
unsigned int ns_sock_poll(struct ns_sock *s)
{
	uint32_t st;
	unsigned int mask = 0;
	uint64_t used;

	if (s->type == SOCK_STREAM)
		return ns_stream_poll(s);
	st = atomic_load_explicit(&s->shm->state, memory_order_seq_cst);
	if (ns_sock_dead(s))
		return POLLIN | POLLRDNORM | POLLOUT | POLLWRNORM | POLLERR | POLLHUP;
	/* datagram_poll: a pending error or a non-empty error queue. */
	if (atomic_load_explicit(&s->shm->so_error, memory_order_relaxed) ||
	    (st & NS_SS_ERRQUEUE))
		mask |= POLLERR;
	if ((st & NS_SS_RCV_SHUTDOWN) && (st & NS_SS_SEND_SHUTDOWN))
		mask |= POLLHUP;
	if (st & NS_SS_RCV_SHUTDOWN)
		mask |= POLLIN | POLLRDNORM | POLLRDHUP;
	if (ns_ring_load_prod(&s->rx) != ns_ring_load_cons(&s->rx) &&
	    ns_dgram_rx_next_len(&s->rx) >= 0) {
		/* Non-empty; wrap markers alone still count (Linux: a queued skb). */
		mask |= POLLIN | POLLRDNORM;
	}
	used = ns_ring_used(&s->tx);
	if (!(st & NS_SS_SEND_SHUTDOWN) && used <= s->tx.size / 2)
		mask |= POLLOUT | POLLWRNORM | POLLWRBAND;
	return mask;
}

void ns_sock_kick(struct ns_sock *s)
{
	/*
	 * shm.h: publish prod (release), then read the daemon's flag with a
	 * seq_cst read-modify-write.  The daemon sets need_kick with an
	 * exchange; two RMWs on one variable are totally ordered, so either we
	 * see its 1, or its exchange reads ours and then sees our prod.
	 */
	if (atomic_fetch_or_explicit(&s->shm->need_kick, 0, memory_order_seq_cst))
		ns_sock_ring(s);
}

void ns_sock_ring(struct ns_sock *s)
{
	struct ns_session *sess = s->sess;
	uint64_t one = 1;

	/* shm.h: mark our slot; write the eventfd only if nobody rang it since. */
	if (ns_bell_mark(ns_session_bell(sess, s->bell), sess->bell_slots, s->slot))
		(void)!REAL(write)(sess->bell_fd[s->bell], &one, sizeof(one));
}

void ns_sock_want(struct ns_sock *s, uint32_t wait_bits)
{
	/*
	 * Always a read-modify-write: the daemon reads client_wait with one
	 * too (sock_wake), so the two are ordered and one side sees the other.
	 */
	atomic_fetch_or_explicit(&s->shm->client_wait, wait_bits, memory_order_seq_cst);
}

/* Conditions the daemon wakes us for: what keeps the eventfd readable. */
static bool ns_sock_notify_worthy(struct ns_sock *s, unsigned int mask)
{
	uint32_t wait = atomic_load_explicit(&s->shm->client_wait, memory_order_relaxed);

	if (mask & (POLLIN | POLLERR | POLLHUP))
		return true;
	return (wait & NS_WAIT_TX) && (mask & POLLOUT);
}

static void ns_eventfd_signal(int fd)
{
	uint64_t one = 1;

	(void)!REAL(write)(fd, &one, sizeof(one));
}

unsigned int ns_sock_drain(struct ns_sock *s, int fd)
{
	uint64_t v;
	unsigned int mask;

	/*
	 * Read the eventfd first, then clear notify_pending, then re-check.
	 * The other order loses a wake-up: a daemon that set notify_pending
	 * and wrote between our clear and our read would have its write eaten
	 * by the read while notify_pending stays set, and it never writes
	 * again.  In this order such a write at worst leaves the eventfd
	 * readable once too often (a spurious wake-up, re-checked).
	 */
	(void)!REAL(read)(fd, &v, sizeof(v));
	atomic_exchange_explicit(&s->shm->notify_pending, 0, memory_order_seq_cst);
	mask = ns_sock_poll(s);
	if (ns_sock_notify_worthy(s, mask))
		ns_eventfd_signal(fd);
	return mask;
}

void ns_sock_resignal(struct ns_sock *s, int fd)
{
	/*
	 * notify_pending belongs to the daemon (it sets, we clear); writing the
	 * eventfd once more is harmless, losing a readable edge is not.
	 */
	if (ns_sock_notify_worthy(s, ns_sock_poll(s)))
		ns_eventfd_signal(fd);
}

/* ---- sleeping ------------------------------------------------------------------ */

static int64_t ns_busy_poll_ns(void)
{
	static int64_t cached = -1;
	int64_t v = __atomic_load_n(&cached, __ATOMIC_RELAXED);

	if (v < 0) {
		const char *e = getenv("NETSTACK_BUSY_POLL_US");
		char *end;
		long us = 50;

		if (e && *e) {
			us = strtol(e, &end, 10);
			if (*end || us < 0 || us > 1000000)
				us = 50;
		}
		v = (int64_t)us * 1000;
		__atomic_store_n(&cached, v, __ATOMIC_RELAXED);
	}
	return v;
}

static inline void ns_cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#endif
}

int ns_sock_wait(struct ns_sock *s, int fd, unsigned int events, int64_t timeout_ns)
{
	int64_t start = ns_now_ns();
	int64_t busy = ns_busy_poll_ns();
	int64_t deadline = timeout_ns > 0 ? start + timeout_ns : INT64_MAX;
	uint32_t bits = ((events & POLLOUT) ? NS_WAIT_TX : 0) |
			((events & POLLIN) || !(events & POLLOUT) ? NS_WAIT_RX : 0);
	struct pollfd pfd[2];
	int ret = 0;

	events |= POLLERR | POLLHUP;
	if (busy > 0) {
		int64_t stop = start + (timeout_ns > 0 && timeout_ns < busy ? timeout_ns : busy);

		do {
			if (ns_sock_poll(s) & events)
				return 0;
			ns_cpu_relax();
		} while (ns_now_ns() < stop);
	}
	ns_sock_want(s, bits);
	for (;;) {
		int64_t now;
		int ms, n;

		if (ns_sock_poll(s) & events)
			break;
		now = ns_now_ns();
		if (now >= deadline) {
			ret = -EAGAIN;
			break;
		}
		if (deadline == INT64_MAX)
			ms = -1;
		else if ((deadline - now) / 1000000 + 1 > INT_MAX)
			ms = INT_MAX;
		else
			ms = (int)((deadline - now + 999999) / 1000000);
		pfd[0].fd = fd;
		pfd[0].events = POLLIN;
		pfd[0].revents = 0;
		pfd[1].fd = s->sess->fd;        /* POLLHUP once the daemon is gone */
		pfd[1].events = 0;
		pfd[1].revents = 0;
		n = REAL(poll)(pfd, pfd[1].fd >= 0 ? 2 : 1, ms);
		if (n < 0) {
			ret = errno == EINTR ? -EINTR : -errno;
			break;
		}
		if (pfd[1].revents & (POLLHUP | POLLERR))
			ns_session_kill(s->sess);
		if (pfd[0].revents & POLLNVAL) {
			ret = -EBADF;           /* closed under us by another thread */
			break;
		}
		if ((pfd[0].revents & POLLIN) && !(ns_sock_poll(s) & events))
			ns_sock_drain(s, fd);
	}
	if (bits & NS_WAIT_TX)
		atomic_fetch_and_explicit(&s->shm->client_wait, ~(uint32_t)NS_WAIT_TX,
					  memory_order_relaxed);
	return ret;
}
