/*
 * Client sessions: the daemon's side of a client process (libnetstack.so).
 *
 * Runs on the control thread, called by the IPC server for each decoded
 * request; the socket layer calls made from here hop to the sockets'
 * owner workers themselves (net/socket.h).  No locks: sessions, their
 * tables and regions are only touched on this thread.
 *
 * A session is one ROLE_CLIENT connection, which the client library opens
 * once per process (SO_PEERCRED names it).  It holds a reference to the
 * process's region and one socket reference (sock_hold/sock_put) for each
 * socket the process holds, in a hash table keyed by the socket id; the
 * client names sockets only by those ids, so a process can reach no
 * socket it does not hold.  fork() shares: the child's session attaches
 * to its parent's with the parent's token, shares the region, and holds
 * its own references to the sockets it inherited.
 *
 * Where a socket lives in the region (control block, rings) is recorded
 * once per socket in a struct sess_sock shared by every session holding
 * it.  socket() and accept() place a socket the same way
 * (session_place); they differ only in where it comes from (sock_create,
 * or a listener's queue with sock_accept).  When the last holder lets go, the socket is closed (the last
 * sock_put) and only then are its pages freed, so no worker writes into
 * memory that was handed to another socket.
 *
 * Everything a client sends is untrusted: ids are looked up, lengths are
 * bounded, addresses are copied to aligned storage before the socket layer
 * parses them, and every failure is an errno in the reply.
 */
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/queue.h>
#include <sys/random.h>
#include <unistd.h>

#include "core/debug.h"
#include "ipc/region.h"
#include "ipc/session.h"
#include "log.h"
#include "core/softnet.h"
#include "net/sock_bell.h"
#include "net/socket.h"

#define SESSION_MIN_BUCKETS 16u
/* The largest ring the daemon places in a region (sanity bound). */
#define SESSION_RING_MAX (1u << 30)

/*
 * A socket's placement in a region, shared by every session that holds
 * the socket (all of them share that region).  holders counts those
 * sessions, each of which owns one socket reference.
 */
struct sess_sock {
	struct sock *sk;
	struct ns_region *region;       /* each holder holds a region reference */
	uint64_t id;
	uint64_t cb_off, rx_off, tx_off;
	uint32_t rx_size, tx_size;
	unsigned int holders;
};

/* One entry of a session's socket table (a chained hash by socket id). */
struct sess_ent {
	struct sess_ent *next;
	struct sess_sock *ss;
};

struct session {
	LIST_ENTRY(session) entry;
	pid_t pid;
	uid_t uid;
	gid_t gid;
	char program[SESSION_PROGRAM_LEN];
	uint64_t token;                 /* secret: lets a forked child attach */
	struct ns_region *region;       /* one reference */
	unsigned int max_sockets;
	struct sess_ent **buckets;      /* nbuckets, a power of two */
	unsigned int nbuckets;
	unsigned int nsocks;
};

static LIST_HEAD(, session) session_list = LIST_HEAD_INITIALIZER(session_list);
static unsigned int session_nr;

void session_reply_init(struct session_reply *out, uint64_t seq)
{
	netstack__reply__init(&out->reply);
	out->reply.seq = seq;
	out->nfds = 0;
	out->message[0] = '\0';
}

/* Fail the request with @err (positive) and a one-line explanation. */
static void __attribute__((format(printf, 3, 4)))
session_fail(struct session_reply *out, int err, const char *fmt, ...)
{
	va_list ap;

	out->reply.error = err;
	if (!fmt)
		return;
	va_start(ap, fmt);
	vsnprintf(out->message, sizeof(out->message), fmt, ap);
	va_end(ap);
	out->reply.error_message = out->message;
}

/* --- the socket table ----------------------------------------------------- */

static unsigned int session_hash(const struct session *s, uint64_t id)
{
	id ^= id >> 33;
	id *= 0xff51afd7ed558ccdull;
	id ^= id >> 33;
	return (unsigned int)id & (s->nbuckets - 1);
}

static struct sess_sock *session_lookup(const struct session *s, uint64_t id)
{
	struct sess_ent *e;

	for (e = s->buckets[session_hash(s, id)]; e; e = e->next)
		if (e->ss->id == id)
			return e->ss;
	return NULL;
}

/* Double the buckets when the chains grow long; failure only costs speed. */
static void session_grow(struct session *s)
{
	unsigned int i, old_n = s->nbuckets;
	struct sess_ent **old = s->buckets;
	struct sess_ent **nb;

	if (s->nsocks < 2 * s->nbuckets)
		return;
	nb = calloc(2 * (size_t)old_n, sizeof(*nb));
	if (!nb)
		return;
	s->buckets = nb;
	s->nbuckets = 2 * old_n;
	for (i = 0; i < old_n; i++) {
		while (old[i]) {
			struct sess_ent *e = old[i];
			unsigned int h = session_hash(s, e->ss->id);

			old[i] = e->next;
			e->next = nb[h];
			nb[h] = e;
		}
	}
	free(old);
}

/* Put @ss in @s's table with the preallocated entry @e. */
static void session_insert(struct session *s, struct sess_ent *e, struct sess_sock *ss)
{
	unsigned int h = session_hash(s, ss->id);

	e->ss = ss;
	e->next = s->buckets[h];
	s->buckets[h] = e;
	s->nsocks++;
	session_grow(s);
}

/* Take @id out of @s's table; returns its placement or NULL. */
static struct sess_sock *session_remove(struct session *s, uint64_t id)
{
	struct sess_ent **pp, *e;
	struct sess_sock *ss;

	for (pp = &s->buckets[session_hash(s, id)]; (e = *pp); pp = &e->next) {
		if (e->ss->id != id)
			continue;
		*pp = e->next;
		ss = e->ss;
		free(e);
		s->nsocks--;
		return ss;
	}
	return NULL;
}

/*
 * One holder lets go of @ss.  The last one closes the socket and, once
 * the socket layer no longer uses them, frees its pages.
 */
static void sess_sock_release(struct sess_sock *ss)
{
	NS_ASSERT(ss->holders > 0);
	if (--ss->holders) {
		sock_put(ss->sk);
		return;
	}
	sock_put(ss->sk);
	region_free(ss->region, ss->tx_off, ss->tx_size);
	region_free(ss->region, ss->rx_off, ss->rx_size);
	region_free(ss->region, ss->cb_off, NS_SHM_PAGE);
	free(ss);
}

/* --- sessions ------------------------------------------------------------- */

static struct session *session_find_token(uint64_t token)
{
	struct session *s;

	LIST_FOREACH(s, &session_list, entry)
		if (s->token == token)
			return s;
	return NULL;
}

/* A random, non-zero token no live session has.  0 or -errno. */
static int session_new_token(uint64_t *token)
{
	int tries;

	for (tries = 0; tries < 8; tries++) {
		ssize_t n = getrandom(token, sizeof(*token), 0);

		if (n != (ssize_t)sizeof(*token))
			return n < 0 ? -errno : -EIO;
		if (*token && !session_find_token(*token))
			return 0;
	}
	return -EAGAIN;
}

static struct session *session_alloc(const struct session_peer *peer,
				     const struct session_limits *limits)
{
	struct session *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->buckets = calloc(SESSION_MIN_BUCKETS, sizeof(*s->buckets));
	if (!s->buckets) {
		free(s);
		return NULL;
	}
	s->nbuckets = SESSION_MIN_BUCKETS;
	s->pid = peer->pid;
	s->uid = peer->uid;
	s->gid = peer->gid;
	snprintf(s->program, sizeof(s->program), "%s", peer->program ? peer->program : "");
	s->max_sockets = limits->max_sockets;
	return s;
}

/*
 * The forked child @s takes a reference to each socket of @parent named in
 * @ids that @parent holds.  Unknown ids, duplicates and ids past the
 * socket limit are ignored: the child simply does not hold them.
 */
static void session_attach_socks(struct session *s, struct session *parent,
				 const uint64_t *ids, size_t n)
{
	size_t i;

	for (i = 0; i < n && s->nsocks < s->max_sockets; i++) {
		struct sess_sock *ss = session_lookup(parent, ids[i]);
		struct sess_ent *e;

		if (!ss || session_lookup(s, ids[i]))
			continue;
		e = calloc(1, sizeof(*e));
		if (!e)
			break;
		sock_hold(ss->sk);
		ss->holders++;
		session_insert(s, e, ss);
	}
}

struct session *session_hello(const Netstack__Hello *hello, const struct session_peer *peer,
			      const struct session_limits *limits,
			      struct session_reply *out)
{
	struct session *s, *parent = NULL;
	char why[160];
	int err;

	if (hello->attach_token) {
		/*
		 * The token is a 64-bit secret the daemon gave the parent; on
		 * top of it the child must run as the same user, so a leaked
		 * token never opens another user's sockets.  The same error
		 * for both cases says nothing about other users' sessions.
		 */
		parent = session_find_token(hello->attach_token);
		if (!parent || parent->uid != peer->uid) {
			session_fail(out, ESRCH, "no session of this user with that token "
				     "(did the parent exit?)");
			return NULL;
		}
	}
	s = session_alloc(peer, limits);
	if (!s) {
		session_fail(out, ENOMEM, "out of memory");
		return NULL;
	}
	err = session_new_token(&s->token);
	if (err) {
		session_fail(out, -err, "cannot draw a session token: %s", strerror(-err));
		goto err_free;
	}
	if (parent) {
		s->region = parent->region;
		region_get(s->region);
		session_attach_socks(s, parent, hello->attach_socks, hello->n_attach_socks);
	} else {
		s->region = region_create(limits->shm_size, why, sizeof(why));
		if (!s->region) {
			err = errno;
			ns_log(NS_LOG_WARNING, "ipc: pid %d: cannot create a region: %s",
			       (int)peer->pid, why);
			session_fail(out, err, "cannot create the shared-memory region: %s", why);
			goto err_free;
		}
		err = region_add_bells(s->region, nr_workers > 0 ? (unsigned int)nr_workers : 1);
		if (err) {
			ns_log(NS_LOG_WARNING, "ipc: pid %d: cannot create the doorbells: %s",
			       (int)peer->pid, strerror(-err));
			session_fail(out, -err == EMFILE ? ENFILE : -err,
				     "cannot create the doorbells: %s", strerror(-err));
			region_put(s->region);
			goto err_free;
		}
		out->fds[0] = region_fd(s->region);
		out->nfds = 1;
		for (unsigned int i = 0; i < sock_bells_count(region_bells(s->region)); i++)
			out->fds[out->nfds++] = sock_bells_fd(region_bells(s->region), i);
	}

	netstack__hello_reply__init(&out->body.hello);
	out->body.hello.token = s->token;
	out->body.hello.shm_size = region_size(s->region);
	out->body.hello.max_sockets = s->max_sockets;
	out->reply.body_case = NETSTACK__REPLY__BODY_HELLO;
	out->reply.hello = &out->body.hello;

	LIST_INSERT_HEAD(&session_list, s, entry);
	session_nr++;
	ns_log(NS_LOG_DEBUG, "ipc: session for pid %d (%s)%s, %u socket(s) inherited",
	       (int)s->pid, s->program, parent ? " attached to its parent" : "", s->nsocks);
	return s;

err_free:
	free(s->buckets);
	free(s);
	return NULL;
}

void session_destroy(struct session *s)
{
	unsigned int i;

	if (!s)
		return;
	for (i = 0; i < s->nbuckets; i++) {
		while (s->buckets[i]) {
			struct sess_ent *e = s->buckets[i];

			s->buckets[i] = e->next;
			sess_sock_release(e->ss);
			free(e);
		}
	}
	ns_log(NS_LOG_DEBUG, "ipc: session of pid %d (%s) ended, %u socket(s) released",
	       (int)s->pid, s->program, s->nsocks);
	LIST_REMOVE(s, entry);
	session_nr--;
	region_put(s->region);
	free(s->buckets);
	free(s);
}

/* --- socket requests ------------------------------------------------------ */

static bool session_ring_size_ok(uint32_t size)
{
	return size && !(size & (size - 1)) && size <= SESSION_RING_MAX;
}

/* Free what session_socket() allocated in the region so far (0 = none). */
static void session_unplace(struct sess_sock *ss)
{
	if (ss->tx_off)
		region_free(ss->region, ss->tx_off, ss->tx_size);
	if (ss->rx_off)
		region_free(ss->region, ss->rx_off, ss->rx_size);
	if (ss->cb_off)
		region_free(ss->region, ss->cb_off, NS_SHM_PAGE);
}

/*
 * Give @sk its place in @s's region: a control block and rings of
 * ss->rx_size / ss->tx_size bytes (set by the caller from the socket
 * layer), a notify eventfd, attach it (sock_attach, which binds its slot
 * in the region's doorbells) and put it in @s's table with the
 * preallocated @ss and @e, which the table then owns together with the
 * caller's socket reference.  The eventfd goes into @out->fds for the
 * reply.  Shared by socket() and
 * accept(), which differ only in where the socket comes from.
 *
 * Returns 0, or -1 after failing @out (ENOBUFS: region full; ENFILE and
 * others: no eventfd; the attach error) with everything placed so far
 * undone; the caller then still owns @sk, @ss and @e.
 */
static int session_place(struct session *s, struct sock *sk, struct sess_sock *ss,
			 struct sess_ent *e, struct session_reply *out)
{
	unsigned char *base = region_base(s->region);
	int nfd, err;

	if (!session_ring_size_ok(ss->rx_size) || !session_ring_size_ok(ss->tx_size)) {
		ns_log(NS_LOG_ERR, "ipc: socket layer asked for rings of %u/%u bytes",
		       ss->rx_size, ss->tx_size);
		session_fail(out, EINVAL, "bad ring sizes %u/%u", ss->rx_size, ss->tx_size);
		return -1;
	}
	ss->sk = sk;
	ss->id = sk->id;
	ss->region = s->region;
	ss->cb_off = ss->rx_off = ss->tx_off = 0;
	if (region_alloc(s->region, NS_SHM_PAGE, &ss->cb_off) ||
	    region_alloc(s->region, ss->rx_size, &ss->rx_off) ||
	    region_alloc(s->region, ss->tx_size, &ss->tx_off)) {
		session_fail(out, ENOBUFS, "shared-memory region full (%llu of %llu bytes used)",
			     (unsigned long long)region_used(s->region),
			     (unsigned long long)region_size(s->region));
		goto err_unplace;
	}
	nfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (nfd < 0) {
		err = errno;
		goto err_eventfd;
	}
	err = sock_attach(sk, ns_shm_sock(base, ss->cb_off), ss->cb_off,
			  base + ss->rx_off, ss->rx_off, ss->rx_size,
			  base + ss->tx_off, ss->tx_off, ss->tx_size, nfd,
			  region_bells(s->region));
	if (err) {
		close(nfd);
		session_fail(out, -err, "cannot attach the socket: %s", strerror(-err));
		goto err_unplace;
	}
	ss->holders = 1;
	session_insert(s, e, ss);
	out->fds[0] = nfd;
	out->nfds = 1;
	return 0;

err_eventfd:
	/* The daemon's descriptor table is full: ENFILE, as for the system's. */
	ns_log(NS_LOG_WARNING, "ipc: pid %d: eventfd: %s", (int)s->pid, strerror(err));
	session_fail(out, err == EMFILE ? ENFILE : err, "netstackd: eventfd: %s", strerror(err));
err_unplace:
	session_unplace(ss);
	return -1;
}

static void session_socket(struct session *s, const Netstack__SocketRequest *rq,
			   struct session_reply *out)
{
	struct sock_cred cred;
	struct sess_sock *ss;
	struct sess_ent *e;
	struct sock *sk;
	int err;

	if (s->nsocks >= s->max_sockets) {
		session_fail(out, EMFILE, NULL);
		return;
	}
	/* Everything that can fail without side effects comes first. */
	ss = calloc(1, sizeof(*ss));
	e = calloc(1, sizeof(*e));
	if (!ss || !e) {
		session_fail(out, ENOMEM, NULL);
		goto err_free;
	}
	/* The kernel checks the caller's credentials: SO_PEERCRED's uid and gid. */
	cred.uid = s->uid;
	cred.gid = s->gid;
	err = sock_create_cred(&cred, rq->domain, rq->type, rq->protocol, &sk, &ss->rx_size,
			       &ss->tx_size);
	if (err) {
		session_fail(out, -err, NULL);
		goto err_free;
	}
	if (session_place(s, sk, ss, e, out))
		goto err_put;

	netstack__socket_reply__init(&out->body.socket);
	out->body.socket.sock_id = ss->id;
	out->body.socket.shm_offset = ss->cb_off;
	out->reply.body_case = NETSTACK__REPLY__BODY_SOCKET;
	out->reply.socket = &out->body.socket;
	return;

err_put:
	sock_put(sk);
err_free:
	free(e);
	free(ss);
}

static struct sock *session_sock(struct session *s, uint64_t id, struct session_reply *out);

/*
 * accept(): the listener's oldest established connection becomes a socket
 * of @s, placed like a new one.  The limits come in the kernel's order:
 * at the socket limit (EMFILE) the connection stays queued, as accept(2)
 * fails before it takes one; a full region (ENOBUFS) is only known once
 * the connection is off the queue (its ring sizes come with it), so it is
 * released, which resets it.
 */
static void session_accept(struct session *s, const Netstack__AcceptRequest *rq,
			   struct session_reply *out)
{
	static struct ns_ratelimit lost_rs;
	struct sock *lsk = session_sock(s, rq->sock_id, out);
	socklen_t peerlen = sizeof(out->buf.ss);
	struct sess_sock *ss;
	struct sess_ent *e;
	struct sock *sk;
	int err;

	if (!lsk)
		return;
	if (s->nsocks >= s->max_sockets) {
		session_fail(out, EMFILE, NULL);
		return;
	}
	ss = calloc(1, sizeof(*ss));
	e = calloc(1, sizeof(*e));
	if (!ss || !e) {
		session_fail(out, ENOMEM, NULL);
		goto err_free;
	}
	memset(&out->buf.ss, 0, sizeof(out->buf.ss));
	err = sock_accept(lsk, &sk, &ss->rx_size, &ss->tx_size, &out->buf.ss, &peerlen);
	if (err) {
		session_fail(out, -err, NULL);
		goto err_free;
	}
	if (session_place(s, sk, ss, e, out)) {
		if (ns_ratelimit(&lost_rs, 5000, 5))
			ns_log(NS_LOG_WARNING, "ipc: pid %d: accepted connection dropped: %s",
			       (int)s->pid, out->reply.error_message ? out->reply.error_message :
			       strerror(out->reply.error));
		goto err_put;
	}

	netstack__accept_reply__init(&out->body.accept);
	out->body.accept.sock_id = ss->id;
	out->body.accept.shm_offset = ss->cb_off;
	out->body.accept.peer.data = (uint8_t *)&out->buf.ss;
	out->body.accept.peer.len = peerlen < sizeof(out->buf.ss) ? peerlen : sizeof(out->buf.ss);
	out->reply.body_case = NETSTACK__REPLY__BODY_ACCEPT;
	out->reply.accept = &out->body.accept;
	return;

err_put:
	sock_put(sk);
err_free:
	free(e);
	free(ss);
}

/* The socket @id of @s, or NULL after failing the request with EBADF. */
static struct sock *session_sock(struct session *s, uint64_t id, struct session_reply *out)
{
	struct sess_sock *ss = session_lookup(s, id);

	if (!ss) {
		session_fail(out, EBADF, NULL);
		return NULL;
	}
	return ss->sk;
}

/* Copy a client's raw sockaddr to aligned storage; false (EINVAL) if too long. */
static bool session_copy_addr(const ProtobufCBinaryData *addr, struct session_reply *out)
{
	if (addr->len > sizeof(out->buf.ss)) {
		session_fail(out, EINVAL, NULL);
		return false;
	}
	if (addr->len)
		memcpy(&out->buf.ss, addr->data, addr->len);
	return true;
}

static void session_addr(struct session *s, const Netstack__AddrRequest *rq, bool connect,
			 struct session_reply *out)
{
	struct sock *sk = session_sock(s, rq->sock_id, out);
	int err;

	if (!sk || !session_copy_addr(&rq->addr, out))
		return;
	if (connect)
		err = sock_connect(sk, &out->buf.ss, (uint32_t)rq->addr.len);
	else
		err = sock_bind(sk, &out->buf.ss, (uint32_t)rq->addr.len);
	if (err)
		session_fail(out, -err, NULL);
}

static void session_setsockopt(struct session *s, const Netstack__SetsockoptRequest *rq,
			       struct session_reply *out)
{
	struct sock *sk = session_sock(s, rq->sock_id, out);
	size_t len = rq->value.len;
	void *val = out->buf.opt;
	int err;

	if (!sk)
		return;
	/* Aligned storage: the socket layer may read the value as an int. */
	if (len > sizeof(out->buf.opt)) {
		val = malloc(len);
		if (!val) {
			session_fail(out, ENOMEM, NULL);
			return;
		}
	}
	if (len)
		memcpy(val, rq->value.data, len);
	err = sock_setsockopt(sk, rq->level, rq->name, val, (uint32_t)len);
	if (err)
		session_fail(out, -err, NULL);
	if (val != out->buf.opt)
		free(val);
}

static void session_getsockopt(struct session *s, const Netstack__GetsockoptRequest *rq,
			       struct session_reply *out)
{
	struct sock *sk = session_sock(s, rq->sock_id, out);
	uint32_t len;
	int err;

	if (!sk)
		return;
	/* The kernel reads optlen as an int: a "negative" one is EINVAL. */
	if (rq->optlen > INT_MAX) {
		session_fail(out, EINVAL, NULL);
		return;
	}
	len = rq->optlen < sizeof(out->buf.opt) ? rq->optlen : (uint32_t)sizeof(out->buf.opt);
	err = sock_getsockopt(sk, rq->level, rq->name, out->buf.opt, &len);
	if (err) {
		session_fail(out, -err, NULL);
		return;
	}
	if (len > rq->optlen)
		len = rq->optlen;
	if (len > sizeof(out->buf.opt))
		len = sizeof(out->buf.opt);
	netstack__getsockopt_reply__init(&out->body.getsockopt);
	out->body.getsockopt.value.data = out->buf.opt;
	out->body.getsockopt.value.len = len;
	out->reply.body_case = NETSTACK__REPLY__BODY_GETSOCKOPT;
	out->reply.getsockopt = &out->body.getsockopt;
}

static void session_getname(struct session *s, const Netstack__NameRequest *rq,
			    struct session_reply *out)
{
	struct sock *sk = session_sock(s, rq->sock_id, out);
	uint32_t len = sizeof(out->buf.ss);
	int err;

	if (!sk)
		return;
	memset(&out->buf.ss, 0, sizeof(out->buf.ss));
	err = sock_getname(sk, &out->buf.ss, &len, rq->peer);
	if (err) {
		session_fail(out, -err, NULL);
		return;
	}
	if (len > sizeof(out->buf.ss))
		len = sizeof(out->buf.ss);
	netstack__name_reply__init(&out->body.getname);
	out->body.getname.addr.data = (uint8_t *)&out->buf.ss;
	out->body.getname.addr.len = len;
	out->reply.body_case = NETSTACK__REPLY__BODY_GETNAME;
	out->reply.getname = &out->body.getname;
}

/* A sockaddr of @sk's family for @addr:@port (v4-mapped for AF_INET6); its length. */
static uint32_t session_sockaddr(const struct sock *sk, struct sockaddr_storage *ss,
				 uint32_t addr, uint16_t port)
{
	memset(ss, 0, sizeof(*ss));
	if (sk->family == AF_INET6) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = port;
		sin6->sin6_addr.s6_addr[10] = 0xff;
		sin6->sin6_addr.s6_addr[11] = 0xff;
		memcpy(&sin6->sin6_addr.s6_addr[12], &addr, 4);
		return sizeof(*sin6);
	} else {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;

		sin->sin_family = AF_INET;
		sin->sin_port = port;
		sin->sin_addr.s_addr = addr;
		return sizeof(*sin);
	}
}

/* recvmsg(MSG_ERRQUEUE): ip_recv_error's data, the client builds the message. */
static void session_recverr(struct session *s, const Netstack__RecvErrRequest *rq,
			    struct session_reply *out)
{
	struct sock *sk = session_sock(s, rq->sock_id, out);
	Netstack__RecvErrReply *r = &out->body.recverr;
	struct sockaddr_in *off = (struct sockaddr_in *)&out->buf.err.offender;
	struct sock_exterr *e;
	uint32_t len;
	int err;

	if (!sk)
		return;
	err = sock_recv_error(sk, rq->peek, &e);
	if (err) {
		session_fail(out, -err, NULL);
		return;
	}
	netstack__recv_err_reply__init(r);
	r->ee_errno = e->ee_errno;
	r->ee_origin = e->ee_origin;
	r->ee_type = e->ee_type;
	r->ee_code = e->ee_code;
	r->ee_info = e->ee_info;
	r->ttl = e->ttl;
	r->tos = e->tos;
	memset(off, 0, sizeof(out->buf.err.offender));
	off->sin_family = AF_INET;
	off->sin_addr.s_addr = e->offender;
	r->offender.data = (uint8_t *)off;
	r->offender.len = sizeof(*off);
	r->addr.len = session_sockaddr(sk, &out->buf.err.addr, e->daddr, e->port);
	r->addr.data = (uint8_t *)&out->buf.err.addr;
	len = e->len < SESSION_ERR_PAYLOAD_MAX ? e->len : SESSION_ERR_PAYLOAD_MAX;
	memcpy(out->buf.err.payload, e->data, len);
	r->payload.data = out->buf.err.payload;
	r->payload.len = len;
	free(e);
	out->reply.body_case = NETSTACK__REPLY__BODY_RECVERR;
	out->reply.recverr = r;
}

static void session_close(struct session *s, uint64_t id, struct session_reply *out)
{
	struct sess_sock *ss = session_remove(s, id);

	if (!ss) {
		session_fail(out, EBADF, NULL);
		return;
	}
	sess_sock_release(ss);
}

bool session_is_socket_request(Netstack__Request__BodyCase body)
{
	return (body >= NETSTACK__REQUEST__BODY_SOCKET && body <= NETSTACK__REQUEST__BODY_CLOSE) ||
	       body == NETSTACK__REQUEST__BODY_ACCEPT || body == NETSTACK__REQUEST__BODY_RECVERR;
}

bool session_request(struct session *s, const Netstack__Request *req,
		     struct session_reply *out)
{
	struct sock *sk;
	int err;

	/* The socket requests' bodies all share one union pointer. */
	if (session_is_socket_request(req->body_case) && !req->socket) {
		session_fail(out, EINVAL, "empty request body");
		return true;
	}
	switch (req->body_case) {
	case NETSTACK__REQUEST__BODY_SOCKET:
		session_socket(s, req->socket, out);
		break;
	case NETSTACK__REQUEST__BODY_BIND:
		session_addr(s, req->bind, false, out);
		break;
	case NETSTACK__REQUEST__BODY_CONNECT:
		session_addr(s, req->connect, true, out);
		break;
	case NETSTACK__REQUEST__BODY_LISTEN:
		sk = session_sock(s, req->listen->sock_id, out);
		if (sk && (err = sock_listen(sk, req->listen->backlog)))
			session_fail(out, -err, NULL);
		break;
	case NETSTACK__REQUEST__BODY_SETSOCKOPT:
		session_setsockopt(s, req->setsockopt, out);
		break;
	case NETSTACK__REQUEST__BODY_GETSOCKOPT:
		session_getsockopt(s, req->getsockopt, out);
		break;
	case NETSTACK__REQUEST__BODY_GETNAME:
		session_getname(s, req->getname, out);
		break;
	case NETSTACK__REQUEST__BODY_SHUTDOWN:
		sk = session_sock(s, req->shutdown->sock_id, out);
		if (sk && (err = sock_shutdown(sk, req->shutdown->how)))
			session_fail(out, -err, NULL);
		break;
	case NETSTACK__REQUEST__BODY_CLOSE:
		session_close(s, req->close->sock_id, out);
		break;
	case NETSTACK__REQUEST__BODY_RECVERR:
		session_recverr(s, req->recverr, out);
		break;
	case NETSTACK__REQUEST__BODY_ACCEPT:
		session_accept(s, req->accept, out);
		break;
	default:
		return false;
	}
	return true;
}

/* --- netstackctl ---------------------------------------------------------- */

unsigned int session_count(void)
{
	return session_nr;
}

unsigned int session_dump(struct session_info *out, unsigned int max)
{
	struct session *s;
	unsigned int n = 0;

	LIST_FOREACH(s, &session_list, entry) {
		struct session_info *si;

		if (n == max)
			break;
		si = &out[n++];
		si->pid = s->pid;
		si->uid = s->uid;
		si->gid = s->gid;
		memcpy(si->program, s->program, sizeof(si->program));
		si->sockets = s->nsocks;
		si->shm_size = region_size(s->region);
		si->shm_used = region_used(s->region);
	}
	return n;
}

unsigned int session_sock_pids(uint64_t sock_id, uint32_t *pids, unsigned int max)
{
	struct session *s;
	unsigned int n = 0;

	LIST_FOREACH(s, &session_list, entry) {
		if (n == max)
			break;
		if (session_lookup(s, sock_id))
			pids[n++] = (uint32_t)s->pid;
	}
	return n;
}


