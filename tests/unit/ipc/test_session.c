/*
 * Unit tests for daemon/ipc/session.c over a fake socket layer: the fake
 * sock_* below count references and own the eventfds the way
 * net/socket.h says the real one does, so the tests can check that every
 * socket is closed exactly once, that the region pages come back, and that
 * a session reaches only its own sockets.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ipc/session.h"
#include "net/sock_bell.h"
#include "net/socket.h"

#define MB (1ull << 20)
#define FAKE_RING (64u * 1024u)

/* --- the fake socket layer ------------------------------------------------ */

static int fake_live;                   /* sockets not yet closed */
static uint64_t fake_next_id = 100;
static uint32_t fake_ring = FAKE_RING;

int sock_create_cred(const struct sock_cred *cred, int domain, int type, int protocol,
		     struct sock **out, uint32_t *rx_size, uint32_t *tx_size)
{
	struct sock *sk;

	assert_non_null(cred);

	if (domain != AF_INET && domain != AF_INET6)
		return -EAFNOSUPPORT;
	if (type != SOCK_DGRAM && type != SOCK_STREAM)
		return -ESOCKTNOSUPPORT;
	sk = calloc(1, sizeof(*sk));
	if (!sk)
		return -ENOMEM;
	sk->id = fake_next_id++;
	sk->family = domain;
	sk->type = type;
	sk->protocol = protocol;
	sk->refs = 1;
	sk->notify_fd = -1;
	*rx_size = *tx_size = fake_ring;
	*out = sk;
	fake_live++;
	return 0;
}

/* The doorbells' irq would call it; sockets here never get one. */
void sock_doorbell_handler(struct sock *sk)
{
	(void)sk;
	fail();
}

int sock_attach(struct sock *sk, struct ns_sock_shm *shm, uint64_t shm_off,
		unsigned char *rx_data, uint64_t rx_off, uint32_t rx_size,
		unsigned char *tx_data, uint64_t tx_off, uint32_t tx_size,
		int notify_fd, struct sock_bells *bells)
{
	uint32_t i;

	/* The caller zeroed it all. */
	for (i = 0; i < rx_size; i++)
		assert_int_equal(rx_data[i], 0);
	assert_int_equal(shm->magic, 0);
	assert_true((unsigned char *)shm + (rx_off - shm_off) == rx_data);
	assert_true((unsigned char *)shm + (tx_off - shm_off) == tx_data);
	assert_int_equal(tx_size, fake_ring);
	shm->magic = NS_SOCK_MAGIC;
	shm->sock_id = sk->id;
	sk->shm = shm;
	sk->notify_fd = notify_fd;
	assert_non_null(bells);
	assert_true(shm_off / NS_SHM_PAGE < sock_bells_slots(bells));
	memset(rx_data, 0xab, rx_size);         /* dirty, to test reuse zeroing */
	return 0;
}

int sock_bind(struct sock *sk, const void *addr, uint32_t len)
{
	const struct sockaddr_in *sin = addr;

	if (len < sizeof(*sin))
		return -EINVAL;
	if (sin->sin_family != AF_INET)
		return -EAFNOSUPPORT;
	sk->bound = true;
	sk->sport = sin->sin_port;
	return 0;
}

int sock_connect(struct sock *sk, const void *addr, uint32_t len)
{
	return len ? -ECONNREFUSED : 0;
}

/* Listening: sk->bound doubles as "listening"; fake_queue connections wait. */
static unsigned int fake_queue;
static uint32_t fake_child_ring;        /* 0: fake_ring */

int sock_listen(struct sock *sk, int backlog)
{
	if (sk->type != SOCK_STREAM)
		return -EOPNOTSUPP;
	sk->bound = true;
	return 0;
}

int sock_accept(struct sock *sk, struct sock **child, uint32_t *rx_size, uint32_t *tx_size,
		struct sockaddr_storage *peer, socklen_t *peerlen)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(40000),
				   .sin_addr.s_addr = htonl(0x0ac80001) };
	struct sock *c;

	if (!sk->bound || sk->type != SOCK_STREAM)
		return -EINVAL;
	if (!fake_queue)
		return -EAGAIN;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	fake_queue--;
	c->id = fake_next_id++;
	c->family = sk->family;
	c->type = SOCK_STREAM;
	c->refs = 1;
	c->notify_fd = -1;
	*rx_size = *tx_size = fake_child_ring ? fake_child_ring : fake_ring;
	assert_true(*peerlen >= sizeof(sin));
	memcpy(peer, &sin, sizeof(sin));
	*peerlen = sizeof(sin);
	*child = c;
	fake_live++;
	return 0;
}

int sock_recv_error(struct sock *sk, bool peek, struct sock_exterr **out)
{
	(void)sk;
	(void)peek;
	*out = NULL;
	return -EAGAIN;
}

int sock_setsockopt(struct sock *sk, int level, int name, const void *val, uint32_t len)
{
	int v;

	if (level != SOL_SOCKET || name != SO_RCVBUF)
		return -ENOPROTOOPT;
	if (len < sizeof(int))
		return -EINVAL;
	memcpy(&v, val, sizeof(v));
	sk->rcvbuf = 2 * v;
	return 0;
}

int sock_getsockopt(struct sock *sk, int level, int name, void *val, uint32_t *len)
{
	if (level == SOL_SOCKET && name == SO_RCVBUF) {
		int v = sk->rcvbuf;

		if (*len > sizeof(v))
			*len = sizeof(v);
		memcpy(val, &v, *len);
		return 0;
	}
	if (level == SOL_SOCKET && name == SO_BINDTODEVICE) {
		/* Fills the whole buffer it was given: checks the daemon's bound. */
		assert_true(*len <= SESSION_OPT_MAX);
		memset(val, 'x', *len);
		return 0;
	}
	return -ENOPROTOOPT;
}

int sock_getname(struct sock *sk, void *addr, uint32_t *len, bool peer)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = sk->sport };

	if (peer)
		return -ENOTCONN;
	memcpy(addr, &sin, sizeof(sin));
	*len = sizeof(sin);
	return 0;
}

int sock_shutdown(struct sock *sk, int how)
{
	return -ENOTCONN;
}

void sock_hold(struct sock *sk)
{
	sk->refs++;
}

void sock_put(struct sock *sk)
{
	assert_true(sk->refs > 0);
	if (--sk->refs)
		return;
	if (sk->notify_fd >= 0)
		close(sk->notify_fd);
	free(sk);
	fake_live--;
}

unsigned int sock_dump(struct sock_info *out, unsigned int max)
{
	return 0;
}

unsigned int sock_count(void)
{
	return 0;
}

/* --- helpers -------------------------------------------------------------- */

static const struct session_limits limits = { .shm_size = MB, .max_sockets = 8 };

static struct session *new_session(pid_t pid, uid_t uid, uint64_t token, const uint64_t *socks,
				   size_t nsocks, struct session_reply *out)
{
	Netstack__Hello hello = NETSTACK__HELLO__INIT;
	struct session_peer peer = { .pid = pid, .uid = uid, .gid = uid, .program = "test" };
	struct session *s;

	hello.version = 1;
	hello.role = NETSTACK__ROLE__ROLE_CLIENT;
	hello.attach_token = token;
	hello.attach_socks = (uint64_t *)socks;
	hello.n_attach_socks = nsocks;
	session_reply_init(out, 1);
	s = session_hello(&hello, &peer, &limits, out);
	if (s) {
		assert_int_equal(out->reply.error, 0);
		assert_int_equal(out->reply.body_case, NETSTACK__REPLY__BODY_HELLO);
		assert_int_not_equal(out->body.hello.token, 0);
		assert_int_equal(out->body.hello.shm_size, MB);
		assert_int_equal(out->body.hello.max_sockets, 8);
		/* The memfd and a doorbell per worker (one without workers). */
		assert_int_equal(out->nfds, token ? 0 : 2);
	}
	return s;
}

/* socket(AF_INET, @type): the sock id, or 0 with *err set. */
static uint64_t new_socket_type(struct session *s, int type, int *err)
{
	Netstack__Request req = NETSTACK__REQUEST__INIT;
	Netstack__SocketRequest sr = NETSTACK__SOCKET_REQUEST__INIT;
	struct session_reply out;

	sr.domain = AF_INET;
	sr.type = type;
	req.seq = 5;
	req.body_case = NETSTACK__REQUEST__BODY_SOCKET;
	req.socket = &sr;
	session_reply_init(&out, req.seq);
	assert_true(session_request(s, &req, &out));
	*err = out.reply.error;
	if (out.reply.error)
		return 0;
	assert_int_equal(out.reply.body_case, NETSTACK__REPLY__BODY_SOCKET);
	assert_int_equal(out.nfds, 1);
	assert_true(out.fds[0] >= 0);
	assert_true(out.body.socket.shm_offset >= NS_SHM_PAGE);
	assert_int_equal(out.body.socket.shm_offset % NS_SHM_PAGE, 0);
	return out.body.socket.sock_id;
}

static uint64_t new_socket(struct session *s, int *err)
{
	return new_socket_type(s, SOCK_DGRAM, err);
}

static int do_listen(struct session *s, uint64_t id)
{
	Netstack__Request req = NETSTACK__REQUEST__INIT;
	Netstack__ListenRequest lr = NETSTACK__LISTEN_REQUEST__INIT;
	struct session_reply out;

	lr.sock_id = id;
	lr.backlog = 8;
	req.body_case = NETSTACK__REQUEST__BODY_LISTEN;
	req.listen = &lr;
	session_reply_init(&out, 0);
	assert_true(session_request(s, &req, &out));
	return out.reply.error;
}

/* accept() on listener @id: the new id, or 0 with *err set; fds closed. */
static uint64_t do_accept(struct session *s, uint64_t id, int *err)
{
	Netstack__Request req = NETSTACK__REQUEST__INIT;
	Netstack__AcceptRequest ar = NETSTACK__ACCEPT_REQUEST__INIT;
	struct sockaddr_in sin;
	struct session_reply out;

	ar.sock_id = id;
	req.seq = 9;
	req.body_case = NETSTACK__REQUEST__BODY_ACCEPT;
	req.accept = &ar;
	session_reply_init(&out, req.seq);
	assert_true(session_request(s, &req, &out));
	*err = out.reply.error;
	if (out.reply.error) {
		assert_int_equal(out.nfds, 0);
		return 0;
	}
	assert_int_equal(out.reply.body_case, NETSTACK__REPLY__BODY_ACCEPT);
	assert_int_equal(out.nfds, 1);
	assert_true(out.fds[0] >= 0);
	assert_true(out.body.accept.shm_offset >= NS_SHM_PAGE);
	assert_int_equal(out.body.accept.shm_offset % NS_SHM_PAGE, 0);
	assert_int_equal(out.body.accept.peer.len, sizeof(sin));
	memcpy(&sin, out.body.accept.peer.data, sizeof(sin));
	assert_int_equal(sin.sin_family, AF_INET);
	assert_int_equal(ntohs(sin.sin_port), 40000);
	assert_int_not_equal(out.body.accept.sock_id, id);
	return out.body.accept.sock_id;
}

static int do_close(struct session *s, uint64_t id)
{
	Netstack__Request req = NETSTACK__REQUEST__INIT;
	Netstack__CloseRequest cr = NETSTACK__CLOSE_REQUEST__INIT;
	struct session_reply out;

	cr.sock_id = id;
	req.body_case = NETSTACK__REQUEST__BODY_CLOSE;
	req.close = &cr;
	session_reply_init(&out, 0);
	assert_true(session_request(s, &req, &out));
	return out.reply.error;
}

/* A session's region with no socket: the header page and the doorbells. */
#define IDLE_USED (NS_SHM_PAGE + \
		   ((sock_bells_shm_size(MB / NS_SHM_PAGE, 1) + NS_SHM_PAGE - 1) & \
		    ~(uint64_t)(NS_SHM_PAGE - 1)))

static uint64_t client_used(pid_t pid)
{
	struct session_info info[8];
	unsigned int i, n = session_dump(info, 8);

	for (i = 0; i < n; i++)
		if (info[i].pid == pid)
			return info[i].shm_used;
	fail_msg("no session for pid %d", (int)pid);
	return 0;
}

/* --- tests ---------------------------------------------------------------- */

static void test_socket_lifecycle(void **state)
{
	struct session_reply out;
	struct session *s;
	uint64_t id, id2;
	int err;

	(void)state;
	s = new_session(10, 1000, 0, NULL, 0, &out);
	assert_non_null(s);
	assert_int_equal(session_count(), 1);
	assert_int_equal(client_used(10), IDLE_USED);
	id = new_socket(s, &err);
	assert_int_not_equal(id, 0);
	assert_int_equal(fake_live, 1);
	assert_int_equal(client_used(10), IDLE_USED + NS_SHM_PAGE + 2 * FAKE_RING);
	/* The pages come back zeroed for the next socket. */
	assert_int_equal(do_close(s, id), 0);
	assert_int_equal(fake_live, 0);
	assert_int_equal(client_used(10), IDLE_USED);
	assert_int_equal(do_close(s, id), EBADF);
	id2 = new_socket(s, &err);
	assert_int_not_equal(id2, 0);
	id = new_socket(s, &err);
	assert_int_equal(fake_live, 2);
	/* The connection ends: every socket is closed. */
	session_destroy(s);
	assert_int_equal(fake_live, 0);
	assert_int_equal(session_count(), 0);
}

static void test_limits(void **state)
{
	struct session_reply out;
	struct session *s;
	unsigned int i;
	int err;

	(void)state;
	/* Small rings, so that the socket limit comes before the region's. */
	fake_ring = NS_SHM_PAGE;
	s = new_session(11, 1000, 0, NULL, 0, &out);
	assert_non_null(s);
	for (i = 0; i < 8; i++)
		assert_int_not_equal(new_socket(s, &err), 0);
	assert_int_equal(new_socket(s, &err), 0);
	assert_int_equal(err, EMFILE);
	session_destroy(s);

	/* Rings larger than the region: ENOBUFS, and nothing leaks. */
	fake_ring = 1u << 20;
	s = new_session(12, 1000, 0, NULL, 0, &out);
	assert_int_equal(new_socket(s, &err), 0);
	assert_int_equal(err, ENOBUFS);
	assert_non_null(out.reply.error_message);
	assert_int_equal(fake_live, 0);
	assert_int_equal(client_used(12), IDLE_USED);
	session_destroy(s);
	fake_ring = FAKE_RING;
}

static void test_requests(void **state)
{
	Netstack__Request req = NETSTACK__REQUEST__INIT;
	Netstack__AddrRequest ar = NETSTACK__ADDR_REQUEST__INIT;
	Netstack__GetsockoptRequest gr = NETSTACK__GETSOCKOPT_REQUEST__INIT;
	Netstack__SetsockoptRequest sr = NETSTACK__SETSOCKOPT_REQUEST__INIT;
	Netstack__NameRequest nr = NETSTACK__NAME_REQUEST__INIT;
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(53) };
	unsigned char big[200] = { 0 };
	struct session_reply out;
	struct session *s;
	uint64_t id;
	int err, v = 1000;

	(void)state;
	s = new_session(13, 1000, 0, NULL, 0, &out);
	id = new_socket(s, &err);

	/* bind: raw bytes; longer than a sockaddr_storage is EINVAL. */
	ar.sock_id = id;
	ar.addr.data = (uint8_t *)&sin + 0;
	ar.addr.len = sizeof(sin);
	req.body_case = NETSTACK__REQUEST__BODY_BIND;
	req.bind = &ar;
	session_reply_init(&out, 0);
	session_request(s, &req, &out);
	assert_int_equal(out.reply.error, 0);
	ar.addr.data = big;
	ar.addr.len = sizeof(big);
	session_reply_init(&out, 0);
	session_request(s, &req, &out);
	assert_int_equal(out.reply.error, EINVAL);
	ar.sock_id = id + 1000;
	session_reply_init(&out, 0);
	session_request(s, &req, &out);
	assert_int_equal(out.reply.error, EBADF);

	/* setsockopt then getsockopt, truncated to optlen. */
	sr.sock_id = id;
	sr.level = SOL_SOCKET;
	sr.name = SO_RCVBUF;
	sr.value.data = (uint8_t *)&v;
	sr.value.len = sizeof(v);
	req.body_case = NETSTACK__REQUEST__BODY_SETSOCKOPT;
	req.setsockopt = &sr;
	session_reply_init(&out, 0);
	session_request(s, &req, &out);
	assert_int_equal(out.reply.error, 0);
	gr.sock_id = id;
	gr.level = SOL_SOCKET;
	gr.name = SO_RCVBUF;
	gr.optlen = 2;
	req.body_case = NETSTACK__REQUEST__BODY_GETSOCKOPT;
	req.getsockopt = &gr;
	session_reply_init(&out, 0);
	session_request(s, &req, &out);
	assert_int_equal(out.reply.error, 0);
	assert_int_equal(out.body.getsockopt.value.len, 2);
	gr.optlen = 64;
	session_reply_init(&out, 0);
	session_request(s, &req, &out);
	assert_int_equal(out.body.getsockopt.value.len, sizeof(int));
	memcpy(&v, out.body.getsockopt.value.data, sizeof(v));
	assert_int_equal(v, 2000);
	/* A huge optlen is cut to the daemon's buffer; a "negative" one is EINVAL. */
	gr.name = SO_BINDTODEVICE;
	gr.optlen = 1u << 30;
	session_reply_init(&out, 0);
	session_request(s, &req, &out);
	assert_int_equal(out.reply.error, 0);
	assert_int_equal(out.body.getsockopt.value.len, SESSION_OPT_MAX);
	gr.optlen = 0x80000000u;
	session_reply_init(&out, 0);
	session_request(s, &req, &out);
	assert_int_equal(out.reply.error, EINVAL);

	/* getname */
	nr.sock_id = id;
	req.body_case = NETSTACK__REQUEST__BODY_GETNAME;
	req.getname = &nr;
	session_reply_init(&out, 0);
	session_request(s, &req, &out);
	assert_int_equal(out.reply.error, 0);
	assert_int_equal(out.body.getname.addr.len, sizeof(sin));
	assert_memory_equal(out.body.getname.addr.data, &sin, sizeof(sin));
	nr.peer = true;
	session_reply_init(&out, 0);
	session_request(s, &req, &out);
	assert_int_equal(out.reply.error, ENOTCONN);

	/* Not a socket request: left to the server. */
	req.body_case = NETSTACK__REQUEST__BODY_SHOW;
	session_reply_init(&out, 0);
	assert_false(session_request(s, &req, &out));
	/* An empty body. */
	req.body_case = NETSTACK__REQUEST__BODY_LISTEN;
	req.listen = NULL;
	session_reply_init(&out, 0);
	assert_true(session_request(s, &req, &out));
	assert_int_equal(out.reply.error, EINVAL);
	session_destroy(s);
	assert_int_equal(fake_live, 0);
}

static void test_fork_attach(void **state)
{
	struct session_reply out;
	struct session *parent, *child, *other;
	uint64_t a, b, c, token, ids[4];
	uint32_t pids[4];
	int err;

	(void)state;
	parent = new_session(20, 1000, 0, NULL, 0, &out);
	token = out.body.hello.token;
	a = new_socket(parent, &err);
	b = new_socket(parent, &err);
	c = new_socket(parent, &err);

	/* Another user's process cannot attach, even with the token. */
	assert_null(new_session(30, 1001, token, NULL, 0, &out));
	assert_int_equal(out.reply.error, ESRCH);
	assert_null(new_session(30, 1000, token ^ 1, NULL, 0, &out));
	assert_int_equal(out.reply.error, ESRCH);

	/* The child holds a and b (not c, and not ids the parent lacks). */
	ids[0] = a;
	ids[1] = b;
	ids[2] = 999999;
	ids[3] = a;
	child = new_session(21, 1000, token, ids, 4, &out);
	assert_non_null(child);
	assert_int_not_equal(out.body.hello.token, token);
	assert_int_equal(session_sock_pids(a, pids, 4), 2);
	assert_int_equal(session_sock_pids(c, pids, 4), 1);
	assert_int_equal(pids[0], 20);
	assert_int_equal(do_close(child, c), EBADF);

	/* The parent exits: the sockets the child holds stay open. */
	session_destroy(parent);
	assert_int_equal(fake_live, 2);
	assert_int_equal(client_used(21), IDLE_USED + 2 * (NS_SHM_PAGE + 2 * FAKE_RING));
	/* A grandchild attaches to the child. */
	other = new_session(22, 1000, out.body.hello.token, &b, 1, &out);
	assert_non_null(other);
	assert_int_equal(do_close(child, a), 0);
	assert_int_equal(fake_live, 1);
	session_destroy(child);
	assert_int_equal(fake_live, 1);
	assert_int_equal(do_close(other, b), 0);
	assert_int_equal(fake_live, 0);
	assert_int_equal(client_used(22), IDLE_USED);
	session_destroy(other);
	assert_int_equal(session_count(), 0);
}

static void test_accept(void **state)
{
	struct session_reply out;
	struct session *s, *child;
	uint64_t l, u, c, c2, token;
	int err;

	(void)state;
	s = new_session(40, 1000, 0, NULL, 0, &out);
	token = out.body.hello.token;
	l = new_socket_type(s, SOCK_STREAM, &err);
	u = new_socket(s, &err);
	assert_int_not_equal(l, 0);

	/* Unknown id, not listening, nothing queued. */
	assert_int_equal(do_accept(s, l + 1000, &err), 0);
	assert_int_equal(err, EBADF);
	assert_int_equal(do_accept(s, l, &err), 0);
	assert_int_equal(err, EINVAL);
	assert_int_equal(do_listen(s, u), EOPNOTSUPP);
	assert_int_equal(do_listen(s, l), 0);
	assert_int_equal(do_accept(s, l, &err), 0);
	assert_int_equal(err, EAGAIN);

	/* A connection becomes a socket of the session, placed like socket()'s. */
	fake_queue = 1;
	c = do_accept(s, l, &err);
	assert_int_not_equal(c, 0);
	assert_int_equal(fake_queue, 0);
	assert_int_equal(fake_live, 3);
	assert_int_equal(client_used(40), IDLE_USED + 3 * (NS_SHM_PAGE + 2 * FAKE_RING));
	/* A forked child can inherit it, and accept on the inherited listener. */
	child = new_session(41, 1000, token, (uint64_t[]){ l, c }, 2, &out);
	assert_non_null(child);
	fake_queue = 1;
	c2 = do_accept(child, l, &err);
	assert_int_not_equal(c2, 0);
	assert_int_equal(do_close(s, c2), EBADF);
	session_destroy(child);
	assert_int_equal(fake_live, 3);
	assert_int_equal(do_close(s, c), 0);
	assert_int_equal(fake_live, 2);

	/* Region full: the connection was taken and is released, nothing leaks. */
	fake_queue = 1;
	fake_child_ring = 1u << 20;
	assert_int_equal(do_accept(s, l, &err), 0);
	assert_int_equal(err, ENOBUFS);
	assert_int_equal(fake_queue, 0);
	assert_int_equal(fake_live, 2);
	assert_int_equal(client_used(40), IDLE_USED + 2 * (NS_SHM_PAGE + 2 * FAKE_RING));
	fake_child_ring = 0;
	session_destroy(s);
	assert_int_equal(fake_live, 0);

	/* At the socket limit: EMFILE, and the connection stays queued. */
	fake_ring = NS_SHM_PAGE;
	s = new_session(42, 1000, 0, NULL, 0, &out);
	l = new_socket_type(s, SOCK_STREAM, &err);
	assert_int_equal(do_listen(s, l), 0);
	fake_queue = 8;
	for (int i = 0; i < 7; i++)
		assert_int_not_equal(do_accept(s, l, &err), 0);
	assert_int_equal(do_accept(s, l, &err), 0);
	assert_int_equal(err, EMFILE);
	assert_int_equal(fake_queue, 1);
	session_destroy(s);
	assert_int_equal(fake_live, 0);
	assert_int_equal(session_count(), 0);
	fake_ring = FAKE_RING;
	fake_queue = 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_socket_lifecycle),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_requests),
		cmocka_unit_test(test_fork_attach),
		cmocka_unit_test(test_accept),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
