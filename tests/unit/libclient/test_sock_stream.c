/*
 * Unit tests for libclient/sock_stream.c (and the waiting of wait.c)
 * against a fake control block: a thread plays the daemon the way
 * proto/shm.h says it behaves (delivers into rx, acknowledges tx, changes
 * the state bits, wakes the client through the notify eventfd with the
 * client_wait / notify_pending protocol), and the daemon requests
 * (connect, accept) are answered by fakes.  Checks the kernel's semantics
 * for blocking, partial and non-blocking transfers, errors, SIGPIPE,
 * EOF, the connect state machine and accept, and the doorbell rules
 * (need_kick, rx_kick, tx_more).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "libclient/dgram_ring.h"
#include "libclient/ipc.h"
#include "libclient/sock.h"
#include "libclient/stream_ring.h"

#define REGION_SIZE (256 * 1024)
#define CB_OFF 4096
#define RX_OFF 65536
#define TX_OFF 131072
#define RING_SIZE 4096
#define BELLS_OFF (200 * 1024)
#define SLOTS (REGION_SIZE / 4096)

static unsigned char *region;
static struct ns_session sess;
static struct ns_sock sk;
static struct ns_sock_shm *shm;
static int nfd;                         /* the socket's fd: its notify eventfd */
static volatile sig_atomic_t sigpipes;

/* ---- fakes for the rest of the library ---------------------------------------- */

bool ns_session_dead(struct ns_session *s)
{
	return __atomic_load_n(&s->dead, __ATOMIC_ACQUIRE) ||
	       !atomic_load(&s->region->daemon_alive);
}

void ns_session_kill(struct ns_session *s)
{
	__atomic_store_n(&s->dead, 1, __ATOMIC_RELEASE);
}

int ns_iov_len(const struct iovec *iov, size_t n, size_t *total)
{
	size_t t = 0;

	for (size_t i = 0; i < n; i++) {
		if (iov[i].iov_len && !iov[i].iov_base)
			return -EFAULT;
		t += iov[i].iov_len;
	}
	*total = t;
	return 0;
}

/* Connect / disconnect requests: what the fake daemon does with them. */
static int connect_reply;               /* -EINPROGRESS, 0, -ECONNREFUSED... */
static int n_connects, n_disconnects;

int ns_sock_addr_req(struct ns_sock *s, bool connect, const struct sockaddr *addr,
		     socklen_t len)
{
	assert_true(connect);
	if (addr->sa_family == AF_UNSPEC) {
		/* tcp_disconnect(): back to a fresh socket. */
		n_disconnects++;
		atomic_store(&s->shm->state, 0);
		atomic_store(&s->shm->tcp_state, TCP_CLOSE);
		return 0;
	}
	n_connects++;
	if (connect_reply == -EINPROGRESS) {
		atomic_store(&s->shm->state, NS_SS_BOUND | NS_SS_CONNECTING);
		atomic_store(&s->shm->tcp_state, TCP_SYN_SENT);
	}
	return connect_reply;
}

int ns_copy_addr_out(const void *kaddr, socklen_t klen, struct sockaddr *addr, socklen_t *len)
{
	socklen_t n = *len < klen ? *len : klen;

	memcpy(addr, kaddr, n);
	*len = klen;
	return 0;
}

/* Accept: the fake daemon's queue, and the sockets "adopted" from it. */
static int n_accept_calls;
static struct ns_sock *adopted;
static int adopted_flags;

int ns_ipc_call(struct ns_session *s, Netstack__Request *req, Netstack__Reply **reply,
		int *fds, unsigned int nfds)
{
	Netstack__Reply r = NETSTACK__REPLY__INIT;
	Netstack__AcceptReply ar = NETSTACK__ACCEPT_REPLY__INIT;
	struct sockaddr_in peer = { .sin_family = AF_INET, .sin_port = htons(40000),
				    .sin_addr.s_addr = htonl(0x0ac80001) };
	uint8_t buf[256];
	size_t len;

	(void)s;
	assert_int_equal(req->body_case, NETSTACK__REQUEST__BODY_ACCEPT);
	assert_int_equal(nfds, 1);
	n_accept_calls++;
	fds[0] = -1;
	r.seq = req->seq;
	if (!atomic_load(&shm->accept_q)) {
		r.error = EAGAIN;
	} else {
		atomic_fetch_sub(&shm->accept_q, 1);
		ar.sock_id = 77;
		ar.shm_offset = CB_OFF;
		ar.peer.data = (uint8_t *)&peer;
		ar.peer.len = sizeof(peer);
		r.body_case = NETSTACK__REPLY__BODY_ACCEPT;
		r.accept = &ar;
		fds[0] = eventfd(0, EFD_CLOEXEC);
	}
	len = netstack__reply__pack(&r, buf);
	*reply = netstack__reply__unpack(NULL, len, buf);
	return 0;
}

int ns_sock_adopt(struct ns_session *s, uint64_t id, uint64_t shm_off, int fd,
		  int domain, int type, int protocol, int flags, struct ns_sock **out)
{
	assert_int_equal(id, 77);
	assert_int_equal(shm_off, CB_OFF);
	assert_int_equal(type, SOCK_STREAM);
	adopted = calloc(1, sizeof(*adopted));
	adopted->file.refs = 1;                 /* the caller's reference, no release */
	adopted->sess = s;
	adopted->domain = domain;
	adopted->protocol = protocol;
	adopted_flags = flags;
	*out = adopted;
	return fd;
}

int ns_sock_close_fd(int fd)
{
	return close(fd) < 0 ? -errno : 0;
}

void ns_close_fds(int *fds, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

/* ---- the fake daemon -------------------------------------------------------------- */

/* sock_wake(): tell the client if it waits for @what. */
static void daemon_wake(uint32_t what)
{
	uint64_t one = 1;

	if (!(atomic_fetch_or(&shm->client_wait, 0) & what))
		return;
	if (atomic_exchange(&shm->notify_pending, 1))
		return;
	assert_int_equal(write(nfd, &one, sizeof(one)), sizeof(one));
}

static void daemon_deliver(const void *data, size_t len)
{
	uint64_t prod = ns_ring_load_prod(&sk.rx);

	assert_true(prod - ns_ring_load_cons(&sk.rx) + len <= RING_SIZE);
	ns_stream_put(&sk.rx, prod, data, (uint32_t)len);
	ns_ring_publish_prod(&sk.rx, prod + len);
	daemon_wake(NS_WAIT_RX);
}

/* The peer acknowledged up to @len bytes of tx: copy them to @out, advance cons. */
static size_t daemon_ack(void *out, size_t len)
{
	uint64_t cons = ns_ring_load_cons(&sk.tx), prod = ns_ring_load_prod(&sk.tx);

	if (len > prod - cons)
		len = (size_t)(prod - cons);
	if (out && len)
		ns_stream_get(&sk.tx, cons, out, (uint32_t)len);
	ns_ring_publish_cons(&sk.tx, cons + len);
	daemon_wake(NS_WAIT_TX);
	return len;
}

static void daemon_state(uint32_t st, uint32_t tcp, int err)
{
	if (err)
		atomic_store(&shm->so_error, err);
	atomic_store(&shm->tcp_state, tcp);
	atomic_store(&shm->state, st);
	daemon_wake(NS_WAIT_RX | NS_WAIT_TX);
}

/*
 * Doorbell writes since the last call.  Each must come with our slot
 * marked: take the marks as the daemon's scan does (rung first).
 */
static uint64_t doorbells(void)
{
	struct ns_shm_bell *b = ns_session_bell(&sess, 0);
	uint64_t v = 0;

	if (read(sess.bell_fd[0], &v, sizeof(v)) != sizeof(v))
		return 0;
	assert_int_equal(atomic_exchange(&b->rung, 0), 1);
	assert_int_equal(atomic_exchange(&b->words[0], 0), 1ull);   /* summary: word 0 */
	assert_int_equal(atomic_exchange(&b->words[ns_bell_sum_words(SLOTS)], 0),
			 1ull << (CB_OFF / 4096));
	return v;
}

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* A daemon action run by a thread after a delay. */
struct later {
	pthread_t th;
	int delay_ms;
	void (*fn)(void *);
	void *arg;
};

static void *later_main(void *p)
{
	struct later *l = p;

	sleep_ms(l->delay_ms);
	l->fn(l->arg);
	return NULL;
}

static void later(struct later *l, int delay_ms, void (*fn)(void *), void *arg)
{
	l->delay_ms = delay_ms;
	l->fn = fn;
	l->arg = arg;
	assert_int_equal(pthread_create(&l->th, NULL, later_main, l), 0);
}

static void later_join(struct later *l)
{
	pthread_join(l->th, NULL);
}

/* ---- setup ---------------------------------------------------------------------- */

static void on_sigpipe(int sig)
{
	(void)sig;
	sigpipes++;
}

static int setup(void **state)
{
	struct sigaction sa = { .sa_handler = on_sigpipe };

	(void)state;
	sigaction(SIGPIPE, &sa, NULL);
	region = aligned_alloc(4096, REGION_SIZE);
	if (!region)
		return -1;
	memset(region, 0, REGION_SIZE);
	memset(&sess, 0, sizeof(sess));
	sess.fd = -1;
	sess.region = (struct ns_shm_hdr *)region;
	sess.size = REGION_SIZE;
	atomic_store(&sess.region->daemon_alive, 1);
	shm = ns_shm_sock(region, CB_OFF);
	memset(&sk, 0, sizeof(sk));
	sk.sess = &sess;
	sk.type = SOCK_STREAM;
	sk.domain = AF_INET;
	sk.protocol = IPPROTO_TCP;
	sk.shm = shm;
	if (!ns_ring_view_init(&sk.rx, &shm->rx, region, REGION_SIZE, RX_OFF, RING_SIZE) ||
	    !ns_ring_view_init(&sk.tx, &shm->tx, region, REGION_SIZE, TX_OFF, RING_SIZE))
		return -1;
	sess.nbells = 1;
	sess.bell_fd[0] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	sess.bell_slots = SLOTS;
	sess.bell_stride = (uint32_t)ns_bell_size(SLOTS);
	sess.bells_off = BELLS_OFF;
	sk.bell = 0;
	sk.slot = CB_OFF / 4096;
	nfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	atomic_store(&shm->need_kick, 1);
	connect_reply = -EINPROGRESS;
	n_connects = n_disconnects = n_accept_calls = 0;
	sigpipes = 0;
	return sess.bell_fd[0] >= 0 && nfd >= 0 ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	close(sess.bell_fd[0]);
	close(nfd);
	free(region);
	return 0;
}

static void established(void)
{
	atomic_store(&shm->tcp_state, TCP_ESTABLISHED);
	atomic_store(&shm->state, NS_SS_BOUND | NS_SS_CONNECTED);
	sk.sstate = NS_SSTATE_CONNECTED;
}

static ssize_t do_send(const void *buf, size_t len, int flags)
{
	struct iovec iov = { (void *)buf, len };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };

	return ns_stream_sendmsg(&sk, nfd, &msg, flags);
}

static ssize_t do_recv(void *buf, size_t len, int flags)
{
	struct iovec iov = { buf, len };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };

	return ns_stream_recvmsg(&sk, nfd, &msg, flags);
}

static int64_t ms_since(int64_t t0)
{
	return (ns_now_ns() - t0) / 1000000;
}

/* ---- send ---------------------------------------------------------------------- */

static void test_send_doorbell_and_more(void **state)
{
	char out[16];

	(void)state;
	established();
	/* need_kick set: the doorbell rings. */
	assert_int_equal(do_send("abc", 3, 0), 3);
	assert_int_equal(doorbells(), 1);
	assert_int_equal(atomic_load(&shm->tx_more), 0);
	/* The daemon is polling the ring (need_kick clear): no system call. */
	atomic_store(&shm->need_kick, 0);
	assert_int_equal(do_send("de", 2, MSG_MORE), 2);
	assert_int_equal(doorbells(), 0);
	assert_int_equal(atomic_load(&shm->tx_more), 1);
	assert_int_equal(do_send("f", 1, 0), 1);
	assert_int_equal(atomic_load(&shm->tx_more), 0);
	assert_int_equal(daemon_ack(out, sizeof(out)), 6);
	assert_memory_equal(out, "abcdef", 6);
	/* A zero-length send on a connected socket is 0. */
	assert_int_equal(do_send(NULL, 0, 0), 0);
}

static void test_send_nonblocking_partial(void **state)
{
	static char big[RING_SIZE * 2], out[RING_SIZE * 2];

	(void)state;
	established();
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (char)(i * 5 + 3);
	assert_int_equal(do_send(big, 1000, 0), 1000);
	/* Only what fits: a partial write, then EAGAIN. */
	assert_int_equal(do_send(big + 1000, sizeof(big), MSG_DONTWAIT), RING_SIZE - 1000);
	assert_int_equal(do_send(big, 1, MSG_DONTWAIT), -EAGAIN);
	sk.nonblock = 1;
	assert_int_equal(do_send(big, 1, 0), -EAGAIN);
	sk.nonblock = 0;
	assert_int_equal(ns_sock_poll(&sk) & POLLOUT, 0);
	assert_int_equal(daemon_ack(out, sizeof(out)), RING_SIZE);
	assert_memory_equal(out, big, RING_SIZE);
	assert_true(ns_sock_poll(&sk) & POLLOUT);
}

struct acker {
	char *out;
	size_t got, want;
};

/* The peer reads slowly: acknowledge in pieces until everything came. */
static void ack_all(void *p)
{
	struct acker *a = p;
	int64_t end = ns_now_ns() + 5000000000LL;

	while (a->got < a->want && ns_now_ns() < end) {
		size_t n = daemon_ack(a->out + a->got, 700);

		a->got += n;
		if (!n)
			sleep_ms(1);
	}
}

static void test_send_blocking_large(void **state)
{
	static char big[RING_SIZE * 5 + 123], out[sizeof(big)];
	struct acker a = { .out = out, .want = sizeof(big) };
	struct later l;

	(void)state;
	established();
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (char)(i * 11 + i / 97);
	later(&l, 20, ack_all, &a);
	assert_int_equal(do_send(big, sizeof(big), 0), sizeof(big));
	later_join(&l);
	assert_int_equal(a.got, sizeof(big));
	assert_memory_equal(out, big, sizeof(big));
}

static void test_send_timeout(void **state)
{
	static char big[RING_SIZE + 10];
	int64_t t0;

	(void)state;
	established();
	sk.sndtimeo_ns = 100 * 1000000LL;
	t0 = ns_now_ns();
	/* Partly sent when the time is up: the count. */
	assert_int_equal(do_send(big, sizeof(big), 0), RING_SIZE);
	assert_true(ms_since(t0) >= 90);
	t0 = ns_now_ns();
	assert_int_equal(do_send(big, 10, 0), -EAGAIN);
	assert_true(ms_since(t0) >= 90 && ms_since(t0) < 2000);
}

static void test_send_errors_sigpipe(void **state)
{
	(void)state;
	/* Never connected: EPIPE and SIGPIPE, or no signal with MSG_NOSIGNAL. */
	assert_int_equal(do_send("x", 1, 0), -EPIPE);
	assert_int_equal(sigpipes, 1);
	assert_int_equal(do_send("x", 1, MSG_NOSIGNAL), -EPIPE);
	assert_int_equal(sigpipes, 1);
	/* Reset: the pending error once (no signal), then EPIPE with one. */
	daemon_state(NS_SS_DEAD | NS_SS_RCV_SHUTDOWN | NS_SS_SEND_SHUTDOWN, TCP_CLOSE,
		     ECONNRESET);
	assert_int_equal(do_send("x", 1, 0), -ECONNRESET);
	assert_int_equal(sigpipes, 1);
	assert_int_equal(do_send("x", 1, 0), -EPIPE);
	assert_int_equal(sigpipes, 2);
	/* A reset in CLOSE_WAIT reports EPIPE, which signals. */
	daemon_state(NS_SS_DEAD, TCP_CLOSE, EPIPE);
	assert_int_equal(do_send("x", 1, 0), -EPIPE);
	assert_int_equal(sigpipes, 3);
	/* After shutdown(SHUT_WR). */
	established();
	atomic_fetch_or(&shm->state, NS_SS_SEND_SHUTDOWN);
	assert_int_equal(do_send("x", 1, MSG_NOSIGNAL), -EPIPE);
	/* MSG_OOB is not served. */
	established();
	assert_int_equal(do_send("x", 1, MSG_OOB), -EOPNOTSUPP);
}

static void reset_now(void *p)
{
	(void)p;
	daemon_state(NS_SS_DEAD, TCP_CLOSE, ECONNRESET);
}

static void test_send_blocked_then_reset(void **state)
{
	static char big[RING_SIZE + 100];
	struct later l;

	(void)state;
	established();
	/* Some of it went in before the reset: the count, no signal. */
	later(&l, 30, reset_now, NULL);
	assert_int_equal(do_send(big, sizeof(big), 0), RING_SIZE);
	later_join(&l);
	assert_int_equal(sigpipes, 0);
	assert_int_equal(do_send(big, 1, 0), -ECONNRESET);
}

/* ---- receive ---------------------------------------------------------------------- */

static void test_recv_data_peek_trunc_kick(void **state)
{
	char buf[16];
	struct iovec iov = { NULL, 3 };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };

	(void)state;
	established();
	sk.nonblock = 1;
	assert_int_equal(do_recv(buf, sizeof(buf), 0), -EAGAIN);
	daemon_deliver("hello world", 11);
	memset(buf, 0, sizeof(buf));
	assert_int_equal(do_recv(buf, 5, MSG_PEEK), 5);
	assert_memory_equal(buf, "hello", 5);
	/* The daemon wants to hear when we consume (a window update is due). */
	atomic_store(&shm->rx_kick, 1);
	assert_int_equal(do_recv(buf, 6, 0), 6);
	assert_memory_equal(buf, "hello ", 6);
	assert_int_equal(atomic_load(&shm->rx_kick), 0);
	assert_int_equal(doorbells(), 1);
	assert_int_equal(do_recv(buf, 2, 0), 2);
	assert_int_equal(doorbells(), 0);
	/* MSG_TRUNC discards without a buffer. */
	assert_int_equal(ns_stream_recvmsg(&sk, nfd, &msg, MSG_TRUNC), 3);
	assert_int_equal(ns_stream_rx_avail(&sk.rx), 0);
	/* TCP reports no address, flags or control data. */
	daemon_deliver("z", 1);
	{
		struct sockaddr_in from;
		char ctl[64];

		iov = (struct iovec){ buf, sizeof(buf) };
		msg.msg_name = &from;
		msg.msg_namelen = sizeof(from);
		msg.msg_control = ctl;
		msg.msg_controllen = sizeof(ctl);
		msg.msg_flags = -1;
		assert_int_equal(ns_stream_recvmsg(&sk, nfd, &msg, 0), 1);
		assert_int_equal(msg.msg_namelen, 0);
		assert_int_equal(msg.msg_controllen, 0);
		assert_int_equal(msg.msg_flags, 0);
	}
	/* A zero-length read: 0 with data there, EAGAIN without. */
	daemon_deliver("q", 1);
	assert_int_equal(do_recv(buf, 0, 0), 0);
	assert_int_equal(do_recv(buf, 1, 0), 1);
	assert_int_equal(do_recv(buf, 0, 0), -EAGAIN);
	assert_int_equal(do_recv(buf, 1, MSG_OOB), -EINVAL);
	assert_int_equal(do_recv(buf, 1, MSG_ERRQUEUE), -EAGAIN);
}

struct parts {
	const char *a, *b;
};

static void deliver_two(void *p)
{
	struct parts *pt = p;

	daemon_deliver(pt->a, strlen(pt->a));
	sleep_ms(30);
	daemon_deliver(pt->b, strlen(pt->b));
}

static void test_recv_blocking_waitall(void **state)
{
	struct parts pt = { "abcd", "efgh" };
	struct later l;
	char buf[16];
	int64_t t0;

	(void)state;
	established();
	/* Woken by the first part; without MSG_WAITALL that is enough. */
	later(&l, 30, deliver_two, &pt);
	memset(buf, 0, sizeof(buf));
	assert_int_equal(do_recv(buf, sizeof(buf), 0), 4);
	later_join(&l);
	assert_int_equal(do_recv(buf + 4, sizeof(buf), 0), 4);
	assert_memory_equal(buf, "abcdefgh", 8);
	/* MSG_WAITALL waits for both parts. */
	later(&l, 30, deliver_two, &pt);
	memset(buf, 0, sizeof(buf));
	assert_int_equal(do_recv(buf, 8, MSG_WAITALL), 8);
	later_join(&l);
	assert_memory_equal(buf, "abcdefgh", 8);
	/* MSG_WAITALL with a timeout: what came. */
	sk.rcvtimeo_ns = 100 * 1000000LL;
	daemon_deliver("xy", 2);
	t0 = ns_now_ns();
	assert_int_equal(do_recv(buf, 8, MSG_WAITALL), 2);
	assert_true(ms_since(t0) >= 90);
	t0 = ns_now_ns();
	assert_int_equal(do_recv(buf, 8, 0), -EAGAIN);
	assert_true(ms_since(t0) >= 90 && ms_since(t0) < 2000);
}

static void fin_now(void *p)
{
	(void)p;
	daemon_state(NS_SS_BOUND | NS_SS_CONNECTED | NS_SS_RCV_SHUTDOWN, TCP_CLOSE_WAIT, 0);
}

static void test_recv_eof_reset_notconn(void **state)
{
	struct later l;
	char buf[8];

	(void)state;
	/* Never connected: ENOTCONN, blocking or not. */
	assert_int_equal(do_recv(buf, sizeof(buf), 0), -ENOTCONN);
	assert_int_equal(do_recv(buf, sizeof(buf), MSG_DONTWAIT), -ENOTCONN);
	/* Handshake running: EAGAIN when not blocking. */
	daemon_state(NS_SS_CONNECTING, TCP_SYN_SENT, 0);
	assert_int_equal(do_recv(buf, sizeof(buf), MSG_DONTWAIT), -EAGAIN);
	/* A blocked reader wakes up at the peer's FIN: EOF after the data. */
	established();
	daemon_deliver("d", 1);
	assert_int_equal(do_recv(buf, 1, 0), 1);
	later(&l, 30, fin_now, NULL);
	assert_int_equal(do_recv(buf, sizeof(buf), 0), 0);
	later_join(&l);
	assert_int_equal(do_recv(buf, sizeof(buf), 0), 0);
	assert_true(ns_sock_poll(&sk) & POLLRDHUP);
	/* Reset with data queued: the data, then ECONNRESET once, then EOF. */
	established();
	daemon_deliver("last", 4);
	daemon_state(NS_SS_DEAD, TCP_CLOSE, ECONNRESET);
	assert_int_equal(ns_sock_poll(&sk) & (POLLIN | POLLOUT | POLLERR | POLLHUP),
			 POLLIN | POLLOUT | POLLERR | POLLHUP);
	assert_int_equal(do_recv(buf, sizeof(buf), 0), 4);
	assert_int_equal(do_recv(buf, sizeof(buf), 0), -ECONNRESET);
	assert_int_equal(do_recv(buf, sizeof(buf), 0), 0);
	assert_int_equal(ns_sock_poll(&sk) & POLLERR, 0);
	/* A listener: ENOTCONN. */
	teardown(NULL);
	setup(NULL);
	sk.listening = 1;
	assert_int_equal(do_recv(buf, sizeof(buf), 0), -ENOTCONN);
	/* The daemon died: ECONNRESET (receive), EPIPE (send). */
	teardown(NULL);
	setup(NULL);
	established();
	ns_session_kill(&sess);
	assert_int_equal(do_recv(buf, sizeof(buf), 0), -ECONNRESET);
	assert_int_equal(do_send("x", 1, MSG_NOSIGNAL), -EPIPE);
}

/* ---- connect ------------------------------------------------------------------ */

static void established_now(void *p)
{
	(void)p;
	daemon_state(NS_SS_BOUND | NS_SS_CONNECTED, TCP_ESTABLISHED, 0);
}

static void refused_now(void *p)
{
	(void)p;
	daemon_state(NS_SS_DEAD | NS_SS_RCV_SHUTDOWN | NS_SS_SEND_SHUTDOWN, TCP_CLOSE,
		     ECONNREFUSED);
}

static void test_connect_blocking(void **state)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(80) };
	struct later l;
	int64_t t0;

	(void)state;
	later(&l, 30, established_now, NULL);
	assert_int_equal(ns_stream_connect(&sk, nfd, (struct sockaddr *)&a, sizeof(a)), 0);
	later_join(&l);
	assert_int_equal(sk.sstate, NS_SSTATE_CONNECTED);
	assert_int_equal(ns_stream_connect(&sk, nfd, (struct sockaddr *)&a, sizeof(a)), -EISCONN);
	assert_int_equal(n_connects, 1);

	/* Refused: the error, a disconnect, and the socket is fresh again. */
	teardown(NULL);
	setup(NULL);
	later(&l, 30, refused_now, NULL);
	assert_int_equal(ns_stream_connect(&sk, nfd, (struct sockaddr *)&a, sizeof(a)),
			 -ECONNREFUSED);
	later_join(&l);
	assert_int_equal(n_disconnects, 1);
	assert_int_equal(sk.sstate, NS_SSTATE_UNCONNECTED);
	assert_int_equal(ns_sock_poll(&sk) & (POLLIN | POLLOUT | POLLHUP), POLLOUT | POLLHUP);

	/* Nobody answers: SO_SNDTIMEO ends the wait with EINPROGRESS, then EALREADY. */
	teardown(NULL);
	setup(NULL);
	sk.sndtimeo_ns = 100 * 1000000LL;
	t0 = ns_now_ns();
	assert_int_equal(ns_stream_connect(&sk, nfd, (struct sockaddr *)&a, sizeof(a)),
			 -EINPROGRESS);
	assert_true(ms_since(t0) >= 90);
	assert_int_equal(ns_stream_connect(&sk, nfd, (struct sockaddr *)&a, sizeof(a)),
			 -EALREADY);
	assert_int_equal(n_connects, 1);
	/* The daemon refuses outright (EADDRNOTAVAIL, ENETUNREACH...). */
	teardown(NULL);
	setup(NULL);
	connect_reply = -ENETUNREACH;
	assert_int_equal(ns_stream_connect(&sk, nfd, (struct sockaddr *)&a, sizeof(a)),
			 -ENETUNREACH);
	assert_int_equal(sk.sstate, NS_SSTATE_UNCONNECTED);
	/* A listener is "connected" as far as connect() goes. */
	teardown(NULL);
	setup(NULL);
	sk.listening = 1;
	assert_int_equal(ns_stream_connect(&sk, nfd, (struct sockaddr *)&a, sizeof(a)), -EISCONN);
	assert_int_equal(ns_stream_connect(&sk, nfd, (struct sockaddr *)&a, 1), -EINVAL);
}

static void test_connect_nonblocking(void **state)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(80) };
	struct sockaddr unspec = { .sa_family = AF_UNSPEC };

	(void)state;
	sk.nonblock = 1;
	assert_int_equal(ns_stream_connect(&sk, nfd, (struct sockaddr *)&a, sizeof(a)),
			 -EINPROGRESS);
	assert_int_equal(ns_sock_poll(&sk) & (POLLIN | POLLOUT | POLLHUP), 0);
	assert_int_equal(ns_stream_connect(&sk, nfd, (struct sockaddr *)&a, sizeof(a)),
			 -EALREADY);
	/* Sending waits for the handshake: EAGAIN when not blocking. */
	assert_int_equal(do_send("x", 1, 0), -EAGAIN);
	established_now(NULL);
	assert_true(ns_sock_poll(&sk) & POLLOUT);
	/* The first connect() after completion reports success, later ones EISCONN. */
	assert_int_equal(ns_stream_connect(&sk, nfd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(ns_stream_connect(&sk, nfd, (struct sockaddr *)&a, sizeof(a)), -EISCONN);
	assert_int_equal(n_connects, 1);
	/* AF_UNSPEC disconnects. */
	assert_int_equal(ns_stream_connect(&sk, nfd, &unspec, sizeof(unspec)), 0);
	assert_int_equal(sk.sstate, NS_SSTATE_UNCONNECTED);

	/* Refused; the error taken by SO_ERROR: the next connect() says ECONNABORTED. */
	teardown(NULL);
	setup(NULL);
	sk.nonblock = 1;
	assert_int_equal(ns_stream_connect(&sk, nfd, (struct sockaddr *)&a, sizeof(a)),
			 -EINPROGRESS);
	refused_now(NULL);
	assert_int_equal(ns_sock_poll(&sk) & (POLLIN | POLLOUT | POLLERR | POLLHUP),
			 POLLIN | POLLOUT | POLLERR | POLLHUP);
	assert_int_equal(atomic_exchange(&shm->so_error, 0), ECONNREFUSED);
	assert_int_equal(ns_stream_connect(&sk, nfd, (struct sockaddr *)&a, sizeof(a)),
			 -ECONNABORTED);
	assert_int_equal(n_disconnects, 1);
	/* ... and the one after that starts a new attempt. */
	assert_int_equal(ns_stream_connect(&sk, nfd, (struct sockaddr *)&a, sizeof(a)),
			 -EINPROGRESS);
	assert_int_equal(n_connects, 2);
}

/* ---- accept ------------------------------------------------------------------- */

static void queue_one(void *p)
{
	(void)p;
	atomic_fetch_add(&shm->accept_q, 1);
	daemon_wake(NS_WAIT_RX);
}

static void test_accept(void **state)
{
	struct sockaddr_in from;
	socklen_t fl = sizeof(from);
	struct later l;
	int fd;

	(void)state;
	sk.listening = 1;
	atomic_store(&shm->state, NS_SS_BOUND | NS_SS_LISTENING);
	atomic_store(&shm->tcp_state, TCP_LISTEN);
	assert_int_equal(ns_stream_accept(&sk, nfd, NULL, NULL, 0x1), -EINVAL);
	/* Nothing queued: EAGAIN without asking the daemon. */
	sk.nonblock = 1;
	assert_int_equal(ns_stream_accept(&sk, nfd, NULL, NULL, 0), -EAGAIN);
	assert_int_equal(n_accept_calls, 0);
	assert_int_equal(ns_sock_poll(&sk), 0);
	/* Queued: readable, and accept takes it, with the peer's address. */
	queue_one(NULL);
	assert_int_equal(ns_sock_poll(&sk) & POLLIN, POLLIN);
	sk.rcvtimeo_ns = 5 * 1000000000LL;
	fd = ns_stream_accept(&sk, nfd, (struct sockaddr *)&from, &fl,
			      SOCK_NONBLOCK | SOCK_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(n_accept_calls, 1);
	assert_int_equal(fl, sizeof(from));
	assert_int_equal(ntohs(from.sin_port), 40000);
	assert_int_equal(adopted_flags, SOCK_NONBLOCK | SOCK_CLOEXEC);
	/* The new socket is connected and inherits the listener's timeouts. */
	assert_int_equal(adopted->sstate, NS_SSTATE_CONNECTED);
	assert_int_equal(adopted->rcvtimeo_ns, 5 * 1000000000LL);
	free(adopted);
	close(fd);
	/* A blocking accept is woken by a new connection. */
	sk.nonblock = 0;
	sk.rcvtimeo_ns = 0;
	later(&l, 30, queue_one, NULL);
	fd = ns_stream_accept(&sk, nfd, NULL, NULL, 0);
	later_join(&l);
	assert_true(fd >= 0);
	free(adopted);
	close(fd);
	/* And times out with SO_RCVTIMEO. */
	sk.rcvtimeo_ns = 50 * 1000000LL;
	assert_int_equal(ns_stream_accept(&sk, nfd, NULL, NULL, 0), -EAGAIN);
	/* A bad address length is refused before anything is taken. */
	fl = (socklen_t)-1;
	assert_int_equal(ns_stream_accept(&sk, nfd, (struct sockaddr *)&from, &fl, 0), -EINVAL);
}

/* ---- readiness through the wake-up protocol ---------------------------------------- */

static void test_wait_wakeups(void **state)
{
	struct later l;
	uint64_t v;

	(void)state;
	established();
	/* A blocked POLLIN waiter sets NS_WAIT_RX and is woken through the eventfd. */
	later(&l, 30, fin_now, NULL);
	assert_int_equal(ns_sock_wait(&sk, nfd, POLLIN, 2000 * 1000000LL), 0);
	later_join(&l);
	assert_true(atomic_load(&shm->client_wait) & NS_WAIT_RX);
	/* The eventfd stays readable while the socket is (for kernel-side pollers). */
	assert_int_equal(read(nfd, &v, sizeof(v)), sizeof(v));
	atomic_store(&shm->notify_pending, 1);
	ns_sock_drain(&sk, nfd);
	assert_int_equal(atomic_load(&shm->notify_pending), 0);
	assert_int_equal(read(nfd, &v, sizeof(v)), sizeof(v));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_send_doorbell_and_more, setup, teardown),
		cmocka_unit_test_setup_teardown(test_send_nonblocking_partial, setup, teardown),
		cmocka_unit_test_setup_teardown(test_send_blocking_large, setup, teardown),
		cmocka_unit_test_setup_teardown(test_send_timeout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_send_errors_sigpipe, setup, teardown),
		cmocka_unit_test_setup_teardown(test_send_blocked_then_reset, setup, teardown),
		cmocka_unit_test_setup_teardown(test_recv_data_peek_trunc_kick, setup, teardown),
		cmocka_unit_test_setup_teardown(test_recv_blocking_waitall, setup, teardown),
		cmocka_unit_test_setup_teardown(test_recv_eof_reset_notconn, setup, teardown),
		cmocka_unit_test_setup_teardown(test_connect_blocking, setup, teardown),
		cmocka_unit_test_setup_teardown(test_connect_nonblocking, setup, teardown),
		cmocka_unit_test_setup_teardown(test_accept, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wait_wakeups, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
