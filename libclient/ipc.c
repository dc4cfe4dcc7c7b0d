/*
 * The connection to netstackd and the client's shared-memory region (see
 * ipc.h).  Client context, any thread.  Locks: ns_sess_lock guards which
 * session is current; each session's lock serialises its requests.  No
 * other lock is taken while holding either.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "fdtable.h"
#include "ipc.h"
#include "proto/ipc.h"
#include "real.h"
#include "sock.h"

static pthread_mutex_t ns_sess_lock = PTHREAD_MUTEX_INITIALIZER;
static struct ns_session *ns_sess_cur;
static int ns_unreach_logged;

/* Descriptors the application must not close: the connection of any session. */
static struct ns_file ns_internal_file = { .kind = NS_FILE_INTERNAL, .refs = 1 << 30 };

void ns_log_line(const char *fmt, ...)
{
	char line[512];
	va_list ap;
	int n;

	memcpy(line, "libnetstack: ", 13);
	va_start(ap, fmt);
	n = vsnprintf(line + 13, sizeof(line) - 14, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	n += 13;
	if (n > (int)sizeof(line) - 1)
		n = (int)sizeof(line) - 1;
	line[n++] = '\n';
	(void)!REAL(write)(2, line, (size_t)n);
}

const char *ns_ipc_path(void)
{
	const char *p = getenv(NS_IPC_SOCKET_ENV);

	return p && *p ? p : NS_IPC_DEFAULT_SOCKET;
}

bool ns_session_dead(struct ns_session *s)
{
	if (__atomic_load_n(&s->dead, __ATOMIC_ACQUIRE))
		return true;
	if (s->region && atomic_load_explicit(&s->region->daemon_alive,
					       memory_order_acquire) == 0) {
		__atomic_store_n(&s->dead, 1, __ATOMIC_RELEASE);
		return true;
	}
	return false;
}

void ns_session_kill(struct ns_session *s)
{
	__atomic_store_n(&s->dead, 1, __ATOMIC_RELEASE);
}

/* Connect to the daemon's socket.  The fd, or -errno. */
static int ns_ipc_connect(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd, e;

	if (strlen(path) >= sizeof(sun.sun_path))
		return -ENAMETOOLONG;
	memcpy(sun.sun_path, path, strlen(path) + 1);
	fd = REAL(socket)(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	while (REAL(connect)(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		if (errno == EINTR)
			continue;
		e = errno;
		REAL(close)(fd);
		return -e;
	}
	return fd;
}

/* Close fds passed in @msg's control data, except the first @keep stored in @fds. */
static void ns_ipc_take_fds(struct msghdr *msg, int *fds, unsigned int nfds)
{
	unsigned int got = 0;

	for (unsigned int i = 0; i < nfds; i++)
		fds[i] = -1;
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(msg); cm; cm = CMSG_NXTHDR(msg, cm)) {
		size_t n;

		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		n = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < n; i++) {
			int fd;

			memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
			if (got < nfds)
				fds[got++] = fd;
			else
				REAL(close)(fd);
		}
	}
}

/* One request/reply on @fd (session lock held or single-threaded). */
static int ns_ipc_xfer(struct ns_session *s, int fd, Netstack__Request *req, Netstack__Reply **reply,
		       int *fds, unsigned int nfds)
{
	union {
		char buf[CMSG_SPACE((1 + NS_SHM_MAX_BELLS) * sizeof(int))];
		struct cmsghdr align;
	} cmsg;
	struct iovec iov = { .iov_base = s->buf, .iov_len = NS_IPC_MAX_MSG };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	int dummy[1];
	size_t len;
	ssize_t n;

	if (!fds) {
		fds = dummy;
		nfds = 0;
	}
	len = netstack__request__get_packed_size(req);
	if (len > NS_IPC_MAX_MSG)
		return EMSGSIZE;
	netstack__request__pack(req, s->buf);
	do
		n = REAL(send)(fd, s->buf, len, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return ECONNRESET;

	for (;;) {
		msg.msg_control = cmsg.buf;
		msg.msg_controllen = sizeof(cmsg.buf);
		msg.msg_flags = 0;
		do
			n = REAL(recvmsg)(fd, &msg, MSG_CMSG_CLOEXEC);
		while (n < 0 && errno == EINTR);
		if (n <= 0)
			return ECONNRESET;
		ns_ipc_take_fds(&msg, fds, nfds);
		/*
		 * MSG_CTRUNC alone: descriptors were lost (our table was full);
		 * the message itself is whole, so the caller sees the missing
		 * fds (-1) and cleans up, and the session goes on.
		 */
		if (msg.msg_flags & MSG_TRUNC)
			goto bad_reply;
		*reply = netstack__reply__unpack(NULL, (size_t)n, s->buf);
		if (!*reply)
			goto bad_reply;
		if ((*reply)->seq == req->seq)
			return 0;
		/* seq 0 with an error: the daemon refused the connection. */
		if ((*reply)->seq == 0 && (*reply)->error)
			return 0;
		netstack__reply__free_unpacked(*reply, NULL);
		*reply = NULL;
		goto bad_reply;
	}

bad_reply:
	for (unsigned int i = 0; i < nfds; i++)
		if (fds[i] >= 0) {
			REAL(close)(fds[i]);
			fds[i] = -1;
		}
	return EPROTO;
}

int ns_ipc_call(struct ns_session *s, Netstack__Request *req, Netstack__Reply **reply,
		int *fds, unsigned int nfds)
{
	int err;

	*reply = NULL;
	for (unsigned int i = 0; i < nfds; i++)
		fds[i] = -1;
	if (ns_session_dead(s))
		return ECONNRESET;
	pthread_mutex_lock(&s->lock);
	req->seq = ++s->seq;
	err = s->fd >= 0 ? ns_ipc_xfer(s, s->fd, req, reply, fds, nfds) : ECONNRESET;
	pthread_mutex_unlock(&s->lock);
	if (err) {
		/* Replies can no longer be matched to requests: give up on it. */
		ns_session_kill(s);
		return ECONNRESET;
	}
	return 0;
}

int ns_ipc_simple(struct ns_session *s, Netstack__Request *req, Netstack__Reply **reply)
{
	Netstack__Reply *r;
	int err = ns_ipc_call(s, req, &r, NULL, 0);

	if (err)
		return err;
	err = r->error;
	if (err < 0 || err > 4095)
		err = EPROTO;
	if (reply && !err)
		*reply = r;
	else
		netstack__reply__free_unpacked(r, NULL);
	return err;
}

/*
 * Check the doorbells the region header describes against the @n
 * descriptors that came with the Hello reply, and take them over
 * (their slots in @fds become -1).  0 or -EPROTO.
 */
static int ns_ipc_take_bells(struct ns_session *s, int *fds, unsigned int n)
{
	const struct ns_shm_hdr *h = s->region;
	uint32_t nr = h->nr_bells, slots = h->bell_slots;
	uint64_t stride = h->bell_stride, off = h->bells_off;

	if (nr == 0 || nr > n || slots != s->size / NS_SHM_PAGE || stride != ns_bell_size(slots) ||
	    off % 64 || off > s->size || (s->size - off) / stride < nr)
		return -EPROTO;
	for (unsigned int i = 0; i < nr; i++)
		if (fds[i] < 0)
			return -EPROTO;
	for (unsigned int i = 0; i < nr; i++) {
		s->bell_fd[i] = fds[i];
		fds[i] = -1;
		ns_fd_install(s->bell_fd[i], &ns_internal_file);
	}
	s->nbells = nr;
	s->bell_slots = slots;
	s->bell_stride = (uint32_t)stride;
	s->bells_off = off;
	return 0;
}

/* Hello on @fd.  Fills @s (token, region if @attach_token is 0).  0 or -errno. */
static int ns_ipc_hello(struct ns_session *s, int fd, uint64_t attach_token,
			uint64_t *attach_socks, size_t n_attach, const char **why)
{
	Netstack__Request req = NETSTACK__REQUEST__INIT;
	Netstack__Hello hello = NETSTACK__HELLO__INIT;
	Netstack__Reply *reply = NULL;
	int fds[1 + NS_SHM_MAX_BELLS];
	struct stat st;
	void *region;
	int memfd = -1;
	int err;

	hello.version = NETSTACK__PROTO_VERSION__PROTO_VERSION_CURRENT;
	hello.role = NETSTACK__ROLE__ROLE_CLIENT;
	hello.program = program_invocation_short_name;
	hello.attach_token = attach_token;
	hello.attach_socks = attach_socks;
	hello.n_attach_socks = n_attach;
	req.body_case = NETSTACK__REQUEST__BODY_HELLO;
	req.hello = &hello;
	req.seq = 1;
	err = ns_ipc_xfer(s, fd, &req, &reply, fds, 1 + NS_SHM_MAX_BELLS);
	memfd = fds[0];
	if (err) {
		*why = err == EPROTO ? "malformed reply to Hello" : "connection closed during Hello";
		return -err;
	}
	if (reply->error || reply->body_case != NETSTACK__REPLY__BODY_HELLO || !reply->hello) {
		*why = reply->error_message && *reply->error_message ?
			"daemon refused the Hello" : "unexpected reply to Hello";
		err = reply->error > 0 ? -reply->error : -EPROTO;
		goto out_free;
	}
	s->token = reply->hello->token;
	s->max_sockets = reply->hello->max_sockets;
	if (attach_token) {
		err = 0;
		goto out_free;          /* the region is inherited */
	}
	err = -EPROTO;
	*why = "no usable shared-memory region in the Hello reply";
	if (memfd < 0 || reply->hello->shm_size < sizeof(struct ns_shm_hdr) ||
	    reply->hello->shm_size > (1ull << 40))
		goto out_free;
	if (REAL(fstat)(memfd, &st) < 0 || (uint64_t)st.st_size < reply->hello->shm_size)
		goto out_free;
	region = mmap(NULL, reply->hello->shm_size, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
	if (region == MAP_FAILED) {
		err = -errno;
		*why = "cannot map the shared-memory region";
		goto out_free;
	}
	s->region = region;
	s->size = reply->hello->shm_size;
	if (s->region->magic != NS_SHM_MAGIC || s->region->version != NS_SHM_LAYOUT_VERSION ||
	    s->region->size != s->size) {
		*why = "shared-memory region has the wrong magic, version or size";
		goto out_unmap;
	}
	if (ns_ipc_take_bells(s, fds + 1, NS_SHM_MAX_BELLS) < 0) {
		*why = "no usable doorbells in the Hello reply";
		goto out_unmap;
	}
	err = 0;
	goto out_free;

out_unmap:
	munmap(region, s->size);
	s->region = NULL;
out_free:
	ns_close_fds(fds, 1 + NS_SHM_MAX_BELLS);
	netstack__reply__free_unpacked(reply, NULL);
	return err;
}

/* Open a new session.  NULL with *@err (positive errno) and a reason. */
static struct ns_session *ns_session_open(int *err, const char **why)
{
	struct ns_session *s;
	int fd, e;

	fd = ns_ipc_connect(ns_ipc_path());
	if (fd < 0) {
		*err = -fd;
		*why = strerror(-fd);
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (s) {
		s->buf = malloc(NS_IPC_MAX_MSG);
		if (!s->buf) {
			free(s);
			s = NULL;
		}
	}
	if (!s) {
		REAL(close)(fd);
		*err = ENOMEM;
		*why = "out of memory";
		return NULL;
	}
	pthread_mutex_init(&s->lock, NULL);
	s->fd = fd;
	s->seq = 1;
	e = ns_ipc_hello(s, fd, 0, NULL, 0, why);
	if (e < 0) {
		REAL(close)(fd);
		free(s->buf);
		free(s);
		*err = -e;
		return NULL;
	}
	ns_fd_install(fd, &ns_internal_file);
	return s;
}

/*
 * socket() errno when the daemon cannot be reached: EACCES when we may not
 * connect to it (socket(2) documents EACCES for "permission to create a
 * socket of this type is denied"), otherwise ENETDOWN: the stack that
 * would serve the socket is down.  Never a hang: connect() on a Unix
 * socket fails at once when nobody listens.
 */
static int ns_ipc_unreachable_errno(int err)
{
	return err == EACCES || err == EPERM ? EACCES : ENETDOWN;
}

struct ns_session *ns_session_get(int *err)
{
	struct ns_session *s;
	const char *why = "";
	int e = 0;

	pthread_mutex_lock(&ns_sess_lock);
	s = ns_sess_cur;
	if (s && ns_session_dead(s))
		s = NULL;
	if (!s) {
		s = ns_session_open(&e, &why);
		if (s)
			ns_sess_cur = s;
	}
	pthread_mutex_unlock(&ns_sess_lock);
	if (!s) {
		if (!__atomic_exchange_n(&ns_unreach_logged, 1, __ATOMIC_RELAXED))
			ns_log_line("cannot reach netstackd at %s: %s", ns_ipc_path(), why);
		*err = ns_ipc_unreachable_errno(e);
	}
	return s;
}

/* ---- fork ----------------------------------------------------------------- */

void ns_ipc_atfork_prepare(void)
{
	pthread_mutex_lock(&ns_sess_lock);
	if (ns_sess_cur)
		pthread_mutex_lock(&ns_sess_cur->lock);
}

void ns_ipc_atfork_parent(void)
{
	if (ns_sess_cur)
		pthread_mutex_unlock(&ns_sess_cur->lock);
	pthread_mutex_unlock(&ns_sess_lock);
}

/*
 * In the child: the inherited connection is the parent's, so open our own.
 * If we hold stack sockets, attach to the parent's session so the daemon
 * counts our references; otherwise just forget the session (the next
 * socket() opens a new one).  Runs single-threaded, before fork() returns.
 */
void ns_ipc_atfork_child(void)
{
	struct ns_session *s = ns_sess_cur;
	uint64_t *ids = NULL;
	size_t n = 0;
	const char *why = "";
	int fd, e;

	/* Fresh locks for the only thread left (the prepare handler took them). */
	pthread_mutex_init(&ns_sess_lock, NULL);
	if (s)
		pthread_mutex_init(&s->lock, NULL);
	if (!s)
		return;
	if (s->fd >= 0) {
		ns_file_put(ns_fd_remove(s->fd));
		REAL(close)(s->fd);
		s->fd = -1;
	}
	if (ns_session_dead(s))
		return;
	ns_sock_collect_ids(s, &ids, &n);
	if (n == 0) {
		/* Nothing inherited: a fresh session on first use; no socket
		 * can ring the old doorbells, so their descriptors go. */
		for (unsigned int i = 0; i < s->nbells; i++) {
			ns_file_put(ns_fd_remove(s->bell_fd[i]));
			REAL(close)(s->bell_fd[i]);
		}
		s->nbells = 0;
		ns_session_kill(s);
		ns_sess_cur = NULL;
		free(ids);
		return;
	}
	fd = ns_ipc_connect(ns_ipc_path());
	if (fd < 0) {
		ns_log_line("fork: cannot reach netstackd at %s: %s", ns_ipc_path(), strerror(-fd));
		ns_session_kill(s);
		free(ids);
		return;
	}
	e = ns_ipc_hello(s, fd, s->token, ids, n, &why);
	free(ids);
	if (e < 0) {
		ns_log_line("fork: netstackd did not attach the child: %s", why);
		REAL(close)(fd);
		ns_session_kill(s);
		return;
	}
	s->fd = fd;
	s->seq = 1;
	ns_fd_install(fd, &ns_internal_file);
}
