/*
 * Stack sockets: creation (socket(), and accept()'s new sockets through
 * ns_sock_adopt), close, dup, and the control calls that travel to the
 * daemon (bind, connect, listen, names, options, shutdown) or are
 * answered here (O_NONBLOCK, timeouts, SO_TYPE, FIONREAD, SIOCOUTQ).  Client context, any
 * thread.  Locks: the session's request lock (inside ns_ipc_call), a
 * socket's optlog_lock; never both at once.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <linux/sockios.h>
#include <time.h>
#include <unistd.h>

#include "bypass.h"
#include "dgram_ring.h"
#include "epoll.h"
#include "ipc.h"
#include "real.h"
#include "sock.h"
#include "stream_ring.h"


bool ns_sock_is_stack(int domain, int type)
{
	int base = type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC);

	/* Raw sockets of IPv4 only: raw IPv6 would need IPv6. */
	return ((domain == AF_INET || domain == AF_INET6) &&
		(base == SOCK_DGRAM || base == SOCK_STREAM)) ||
	       (domain == AF_INET && base == SOCK_RAW);
}

struct ns_sock *ns_sock_get(int fd)
{
	struct ns_file *f = ns_fd_get_kind(fd, NS_FILE_SOCK);

	return f ? ns_sock_of(f) : NULL;
}

/* The last reference: tell the daemon, free everything. */
static void ns_sock_release(struct ns_file *f)
{
	struct ns_sock *s = ns_sock_of(f);
	struct ns_sockopt_log *o, *next;

	if (s->sess && !ns_session_dead(s->sess)) {
		Netstack__Request req = NETSTACK__REQUEST__INIT;
		Netstack__CloseRequest cr = NETSTACK__CLOSE_REQUEST__INIT;

		cr.sock_id = s->id;
		req.body_case = NETSTACK__REQUEST__BODY_CLOSE;
		req.close = &cr;
		(void)ns_ipc_simple(s->sess, &req, NULL);
	}
	for (o = s->optlog; o; o = next) {
		next = o->next;
		free(o);
	}
	pthread_mutex_destroy(&s->optlog_lock);
	free(s);
}

/* Check the daemon's SocketReply against the region; fill @s's views. */
static int ns_sock_map(struct ns_sock *s, uint64_t off, int kind)
{
	struct ns_session *sess = s->sess;
	struct ns_sock_shm *shm;

	if (off % 64 || off > sess->size || sess->size - off < sizeof(struct ns_sock_shm))
		return -EPROTO;
	shm = ns_shm_sock(sess->region, off);
	if (shm->magic != NS_SOCK_MAGIC || shm->sock_id != s->id || (int)shm->kind != kind)
		return -EPROTO;
	/* The doorbell: the owner worker's, and our own control block's bit. */
	if (shm->bell >= sess->nbells || shm->slot != off / NS_SHM_PAGE ||
	    shm->slot >= sess->bell_slots)
		return -EPROTO;
	s->bell = shm->bell;
	s->slot = shm->slot;
	if (!ns_ring_view_init(&s->rx, &shm->rx, sess->region, sess->size, shm->rx_off,
			       shm->rx_size) ||
	    !ns_ring_view_init(&s->tx, &shm->tx, sess->region, sess->size, shm->tx_off,
			       shm->tx_size))
		return -EPROTO;
	s->shm = shm;
	s->max_dgram = shm->max_dgram && shm->max_dgram < NS_DGRAM_LEN_MAX ? shm->max_dgram :
		       NS_DGRAM_LEN_MAX;
	return 0;
}

void ns_close_fds(int *fds, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		if (fds[i] >= 0) {
			REAL(close)(fds[i]);
			fds[i] = -1;
		}
}

/* Drop socket @id on the daemon when this process cannot use it after all. */
static void ns_sock_close_id(struct ns_session *sess, uint64_t id)
{
	Netstack__Request req = NETSTACK__REQUEST__INIT;
	Netstack__CloseRequest cr = NETSTACK__CLOSE_REQUEST__INIT;

	cr.sock_id = id;
	req.body_case = NETSTACK__REQUEST__BODY_CLOSE;
	req.close = &cr;
	(void)ns_ipc_simple(sess, &req, NULL);
}

int ns_sock_adopt(struct ns_session *sess, uint64_t id, uint64_t shm_off, int fd,
		  int domain, int type, int protocol, int flags, struct ns_sock **out)
{
	struct ns_sock *s;
	int err;

	if (fd < 0) {
		/* Our descriptor table was full when the reply came (MSG_CTRUNC). */
		ns_sock_close_id(sess, id);
		return -EMFILE;
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		REAL(close)(fd);
		ns_sock_close_id(sess, id);
		return -ENOMEM;
	}
	ns_file_init(&s->file, NS_FILE_SOCK, ns_sock_release);
	pthread_mutex_init(&s->optlog_lock, NULL);
	s->sess = sess;
	s->id = id;
	s->domain = domain;
	s->type = type;
	s->protocol = protocol ? protocol : type == SOCK_DGRAM ? IPPROTO_UDP : IPPROTO_TCP;
	s->nonblock = !!(flags & SOCK_NONBLOCK);
	s->nfds = 1;
	/* inet_create: IPPROTO_RAW sockets always carry their own IP header. */
	if (type == SOCK_RAW && protocol == IPPROTO_RAW)
		s->opts |= NS_OPT_HDRINCL;
	err = ns_sock_map(s, shm_off, type == SOCK_STREAM ? NS_SOCK_STREAM : NS_SOCK_DGRAM);
	if (err) {
		ns_sock_put(s);         /* tells the daemon */
		REAL(close)(fd);
		return err;
	}

	/* The notify eventfd never blocks; O_NONBLOCK is ours to emulate. */
	REAL(fcntl)(fd, F_SETFL, O_RDWR | O_NONBLOCK);
	if (!(flags & SOCK_CLOEXEC))
		REAL(fcntl)(fd, F_SETFD, 0);
	err = ns_fd_install(fd, &s->file);
	if (!err && out) {
		ns_file_hold(&s->file); /* the caller's, against a racing close() */
		*out = s;
	}
	ns_sock_put(s);                 /* the slot holds it now */
	if (err) {
		REAL(close)(fd);
		return err;
	}
	return fd;
}

int ns_sock_create(int domain, int type, int protocol)
{
	Netstack__Request req = NETSTACK__REQUEST__INIT;
	Netstack__SocketRequest sr = NETSTACK__SOCKET_REQUEST__INIT;
	Netstack__Reply *reply = NULL;
	int flags = type & (SOCK_NONBLOCK | SOCK_CLOEXEC);
	int base = type & ~flags;
	struct ns_session *sess;
	uint64_t id, off;
	int fd = -1, err;

	sess = ns_session_get(&err);
	if (!sess)
		return -err;
	sr.domain = domain;
	sr.type = base;
	sr.protocol = protocol;
	req.body_case = NETSTACK__REQUEST__BODY_SOCKET;
	req.socket = &sr;
	err = ns_ipc_call(sess, &req, &reply, &fd, 1);
	if (err)
		return -ENETDOWN;
	if (reply->error) {
		err = reply->error > 0 && reply->error < 4096 ? -reply->error : -EPROTO;
		netstack__reply__free_unpacked(reply, NULL);
		ns_close_fds(&fd, 1);
		return err;
	}
	if (reply->body_case != NETSTACK__REPLY__BODY_SOCKET || !reply->socket) {
		netstack__reply__free_unpacked(reply, NULL);
		ns_close_fds(&fd, 1);
		return -EPROTO;
	}
	id = reply->socket->sock_id;
	off = reply->socket->shm_offset;
	netstack__reply__free_unpacked(reply, NULL);
	return ns_sock_adopt(sess, id, off, fd, domain, base, protocol, flags, NULL);
}

int ns_sock_close_fd(int fd)
{
	struct ns_file *f = ns_fd_get(fd);
	int r;

	if (!f)
		return REAL(close)(fd) < 0 ? -errno : 0;
	if (f->kind == NS_FILE_INTERNAL) {
		/* Ours, not the application's: it was never open as far as it knows. */
		ns_file_put(f);
		return -EBADF;
	}
	ns_file_put(f);
	f = ns_fd_remove(fd);
	if (f && f->kind == NS_FILE_SOCK) {
		__atomic_sub_fetch(&ns_sock_of(f)->nfds, 1, __ATOMIC_RELAXED);
		ns_epoll_forget(fd, ns_sock_of(f));
	}
	r = REAL(close)(fd);
	r = r < 0 ? -errno : 0;
	ns_file_put(f);
	return r;
}

/* Install @f (from the slot of an old fd) at the new descriptor @fd. */
static void ns_fd_adopt(int fd, struct ns_file *f)
{
	if (f->kind == NS_FILE_SOCK)
		__atomic_add_fetch(&ns_sock_of(f)->nfds, 1, __ATOMIC_RELAXED);
	if (ns_fd_install(fd, f) < 0 && f->kind == NS_FILE_SOCK)
		__atomic_sub_fetch(&ns_sock_of(f)->nfds, 1, __ATOMIC_RELAXED);
}

static void ns_fd_drop(struct ns_file *old)
{
	if (!old)
		return;
	if (old->kind == NS_FILE_SOCK)
		__atomic_sub_fetch(&ns_sock_of(old)->nfds, 1, __ATOMIC_RELAXED);
	ns_file_put(old);
}

/*
 * dup (@cmd 0, @newfd -1), dup2 (@cmd 2), dup3 (@cmd 3, @flags) and
 * F_DUPFD/F_DUPFD_CLOEXEC (@cmd = that, @min) where @oldfd or @newfd may
 * be ours.  Returns the new fd or -errno.
 */
int ns_sock_dup(int oldfd, int newfd, int flags, int min, int cmd)
{
	struct ns_file *f = ns_fd_get(oldfd), *old = NULL, *victim;
	int r;

	if (f && f->kind == NS_FILE_INTERNAL) {
		ns_file_put(f);
		return -EBADF;
	}
	if (cmd == 2 || cmd == 3) {
		if (newfd == oldfd) {
			ns_file_put(f);
			if (cmd == 3)
				return -EINVAL;
			return REAL(fcntl)(oldfd, F_GETFD) < 0 ? -EBADF : newfd;
		}
		victim = ns_fd_get(newfd);
		if (victim) {
			enum ns_file_kind k = victim->kind;

			ns_file_put(victim);
			if (k == NS_FILE_INTERNAL) {
				ns_file_put(f);
				return -EBUSY;
			}
			/* dup2 onto a stack fd closes that reference first. */
			old = ns_fd_remove(newfd);
		}
		r = cmd == 2 ? REAL(dup2)(oldfd, newfd) : REAL(dup3)(oldfd, newfd, flags);
	} else if (cmd == 0) {
		r = REAL(dup)(oldfd);
	} else {
		r = REAL(fcntl)(oldfd, cmd, min);
	}
	if (r < 0) {
		r = -errno;
		if (old) {
			ns_fd_install(newfd, old);
			ns_file_put(old);
		}
		ns_file_put(f);
		return r;
	}
	if (f)
		ns_fd_adopt(r, f);
	if (old && old->kind == NS_FILE_SOCK)
		ns_epoll_forget(newfd, ns_sock_of(old));
	ns_fd_drop(old);
	ns_file_put(f);
	return r;
}

/* ---- requests ----------------------------------------------------------------- */

int ns_sock_addr_req(struct ns_sock *s, bool connect, const struct sockaddr *addr,
		     socklen_t len)
{
	Netstack__Request req = NETSTACK__REQUEST__INIT;
	Netstack__AddrRequest ar = NETSTACK__ADDR_REQUEST__INIT;

	ar.sock_id = s->id;
	ar.addr.data = (uint8_t *)addr;
	ar.addr.len = addr ? len : 0;
	if (connect) {
		req.body_case = NETSTACK__REQUEST__BODY_CONNECT;
		req.connect = &ar;
	} else {
		req.body_case = NETSTACK__REQUEST__BODY_BIND;
		req.bind = &ar;
	}
	return -ns_ipc_simple(s->sess, &req, NULL);
}

/* move_addr_to_kernel(): the kernel's checks before the protocol sees it. */
static int ns_check_user_addr(const struct sockaddr *addr, socklen_t len)
{
	if ((int)len < 0 || len > sizeof(struct sockaddr_storage))
		return -EINVAL;
	if (len && !addr)
		return -EFAULT;
	return 0;
}

int ns_sock_autobind(struct ns_sock *s)
{
	struct sockaddr_in6 any6 = { .sin6_family = AF_INET6 };
	struct sockaddr_in any4 = { .sin_family = AF_INET };
	int err;

	/* A raw socket is bound to its protocol from the start (no autobind). */
	if (s->type == SOCK_RAW || __atomic_load_n(&s->bound, __ATOMIC_ACQUIRE) ||
	    (atomic_load(&s->shm->state) & NS_SS_BOUND))
		return 0;
	if (s->domain == AF_INET6)
		err = ns_sock_addr_req(s, false, (struct sockaddr *)&any6, sizeof(any6));
	else
		err = ns_sock_addr_req(s, false, (struct sockaddr *)&any4, sizeof(any4));
	if (err == -EINVAL && (atomic_load(&s->shm->state) & NS_SS_BOUND))
		err = 0;                /* another thread won the race */
	if (!err) {
		/* 2: bound implicitly; a disconnect forgets it (__udp_disconnect). */
		int zero = 0;

		__atomic_compare_exchange_n(&s->bound, &zero, 2, false, __ATOMIC_RELEASE,
					    __ATOMIC_RELAXED);
		__atomic_store_n(&s->used, 1, __ATOMIC_RELEASE);
	}
	return err;
}

int ns_sock_bind(struct ns_sock *s, int fd, const struct sockaddr *addr, socklen_t len)
{
	int err = ns_check_user_addr(addr, len);

	if (err)
		return err;
	err = ns_sock_maybe_bypass(s, fd, addr, len, true);
	if (err)
		return err;             /* -NS_REDO_LIBC: now a kernel socket */
	err = ns_sock_addr_req(s, false, addr, len);
	if (!err) {
		__atomic_store_n(&s->bound, 1, __ATOMIC_RELEASE);
		__atomic_store_n(&s->used, 1, __ATOMIC_RELEASE);
	}
	return err;
}

int ns_sock_connect(struct ns_sock *s, int fd, const struct sockaddr *addr, socklen_t len)
{
	sa_family_t fam = AF_UNSPEC;
	int err = ns_check_user_addr(addr, len);

	if (err)
		return err;
	if (addr && len >= sizeof(fam))
		memcpy(&fam, addr, sizeof(fam));
	if (fam != AF_UNSPEC) {
		err = ns_sock_maybe_bypass(s, fd, addr, len, false);
		if (err)
			return err;
	}
	if (s->type == SOCK_STREAM)
		return ns_stream_connect(s, fd, addr, len);
	err = ns_sock_addr_req(s, true, addr, len);
	if (err)
		return err;
	if (fam == AF_UNSPEC && len >= sizeof(fam)) {
		int two = 2;

		__atomic_store_n(&s->connected, 0, __ATOMIC_RELEASE);
		__atomic_compare_exchange_n(&s->bound, &two, 0, false, __ATOMIC_RELEASE,
					    __ATOMIC_RELAXED);
	} else {
		int zero = 0;

		__atomic_store_n(&s->connected, 1, __ATOMIC_RELEASE);
		__atomic_compare_exchange_n(&s->bound, &zero, 2, false, __ATOMIC_RELEASE,
					    __ATOMIC_RELAXED);
		__atomic_store_n(&s->used, 1, __ATOMIC_RELEASE);
	}
	return 0;
}

int ns_sock_listen(struct ns_sock *s, int backlog)
{
	Netstack__Request req = NETSTACK__REQUEST__INIT;
	Netstack__ListenRequest lr = NETSTACK__LISTEN_REQUEST__INIT;

	int err;

	lr.sock_id = s->id;
	lr.backlog = backlog;
	req.body_case = NETSTACK__REQUEST__BODY_LISTEN;
	req.listen = &lr;
	err = -ns_ipc_simple(s->sess, &req, NULL);
	if (!err) {
		__atomic_store_n(&s->listening, 1, __ATOMIC_RELEASE);
		__atomic_store_n(&s->used, 1, __ATOMIC_RELEASE);
	}
	return err;
}

int ns_copy_addr_out(const void *kaddr, socklen_t klen, struct sockaddr *addr, socklen_t *len)
{
	socklen_t n;

	if (!len)
		return -EFAULT;
	if ((int)*len < 0)
		return -EINVAL;
	n = *len < klen ? *len : klen;
	if (n && !addr)
		return -EFAULT;
	if (n)
		memcpy(addr, kaddr, n);
	*len = klen;
	return 0;
}

int ns_sock_getname(struct ns_sock *s, struct sockaddr *addr, socklen_t *len, bool peer)
{
	Netstack__Request req = NETSTACK__REQUEST__INIT;
	Netstack__NameRequest nr = NETSTACK__NAME_REQUEST__INIT;
	Netstack__Reply *reply = NULL;
	int err;

	if (!len)
		return -EFAULT;
	if ((int)*len < 0)
		return -EINVAL;
	nr.sock_id = s->id;
	nr.peer = peer;
	req.body_case = NETSTACK__REQUEST__BODY_GETNAME;
	req.getname = &nr;
	err = ns_ipc_simple(s->sess, &req, &reply);
	if (err)
		return err == ECONNRESET ? -ENOTCONN : -err;
	if (reply->body_case != NETSTACK__REPLY__BODY_GETNAME || !reply->getname ||
	    reply->getname->addr.len > sizeof(struct sockaddr_storage))
		err = -EPROTO;
	else
		err = ns_copy_addr_out(reply->getname->addr.data,
				       (socklen_t)reply->getname->addr.len, addr, len);
	netstack__reply__free_unpacked(reply, NULL);
	return err;
}

/* ---- options ------------------------------------------------------------------- */

static bool ns_is_timeo(int level, int name, bool *rcv)
{
	if (level != SOL_SOCKET)
		return false;
	switch (name) {
	case SO_RCVTIMEO_OLD:
	case SO_RCVTIMEO_NEW:
		*rcv = true;
		return true;
	case SO_SNDTIMEO_OLD:
	case SO_SNDTIMEO_NEW:
		*rcv = false;
		return true;
	}
	return false;
}

/* Remember an option for replay on a kernel socket (bypass). */
static void ns_optlog_add(struct ns_sock *s, int level, int name, const void *val,
			  socklen_t len)
{
	struct ns_sockopt_log *o;

	if (__atomic_load_n(&s->used, __ATOMIC_ACQUIRE) || len > 256)
		return;
	o = malloc(sizeof(*o) + len);
	if (!o)
		return;
	o->level = level;
	o->name = name;
	o->len = len;
	if (len)
		memcpy(o->val, val, len);
	pthread_mutex_lock(&s->optlog_lock);
	o->next = s->optlog;
	s->optlog = o;
	pthread_mutex_unlock(&s->optlog_lock);
}

/* The option's boolean value as ip_setsockopt reads it (int, or one byte). */
static int ns_opt_bool(const void *val, socklen_t len)
{
	int v = 0;

	if (len >= sizeof(int))
		memcpy(&v, val, sizeof(int));
	else if (len >= 1)
		v = *(const unsigned char *)val;
	return v != 0;
}

static unsigned int ns_opt_bit(int level, int name)
{
	if (level == SOL_SOCKET && name == SO_BROADCAST)
		return NS_OPT_BROADCAST;
	if (level == IPPROTO_IP && name == IP_PKTINFO)
		return NS_OPT_PKTINFO;
	if (level == IPPROTO_IP && name == IP_RECVTOS)
		return NS_OPT_RECVTOS;
	if (level == IPPROTO_IP && name == IP_RECVTTL)
		return NS_OPT_RECVTTL;
	if (level == IPPROTO_IPV6 && name == IPV6_V6ONLY)
		return NS_OPT_V6ONLY;
	if (level == IPPROTO_IP && name == IP_HDRINCL)
		return NS_OPT_HDRINCL;
	return 0;
}

/*
 * sock_set_timestamp: turning one SO_TIMESTAMP* on picks the control
 * message; turning any of them off stops stamping.
 */
static void ns_opt_timestamp(struct ns_sock *s, int name, bool on)
{
	unsigned int clear = NS_OPT_TSTAMP | NS_OPT_TSTAMPNS | NS_OPT_TSTAMP_NEW;
	unsigned int set = 0;

	if (on) {
		set = NS_OPT_TSTAMP;
		if (name == SO_TIMESTAMPNS_OLD || name == SO_TIMESTAMPNS_NEW)
			set |= NS_OPT_TSTAMPNS;
		if (name == SO_TIMESTAMP_NEW || name == SO_TIMESTAMPNS_NEW)
			set |= NS_OPT_TSTAMP_NEW;
	}
	__atomic_and_fetch(&s->opts, ~clear, __ATOMIC_RELAXED);
	__atomic_or_fetch(&s->opts, set, __ATOMIC_RELAXED);
}

static bool ns_is_timestamp(int level, int name)
{
	return level == SOL_SOCKET &&
	       (name == SO_TIMESTAMP_OLD || name == SO_TIMESTAMP_NEW ||
		name == SO_TIMESTAMPNS_OLD || name == SO_TIMESTAMPNS_NEW);
}

int ns_sock_setsockopt(struct ns_sock *s, int level, int name, const void *val, socklen_t len)
{
	Netstack__Request req = NETSTACK__REQUEST__INIT;
	Netstack__SetsockoptRequest so = NETSTACK__SETSOCKOPT_REQUEST__INIT;
	unsigned int bit;
	bool rcv;
	int err;

	if ((int)len < 0)
		return -EINVAL;
	if (len && !val)
		return -EFAULT;
	if (ns_is_timeo(level, name, &rcv)) {
		struct timeval tv;
		int64_t ns;

		/* sock_set_timeout(): old and new layouts agree on 64-bit. */
		if (len < sizeof(tv))
			return -EINVAL;
		memcpy(&tv, val, sizeof(tv));
		if (tv.tv_usec < 0 || tv.tv_usec >= 1000000)
			return -EDOM;
		if (tv.tv_sec < 0)
			ns = -1;                /* the kernel's 0 jiffies: do not wait */
		else if (tv.tv_sec == 0 && tv.tv_usec == 0)
			ns = 0;                 /* forever */
		else if (tv.tv_sec > INT64_MAX / 1000000000 - 1)
			ns = 0;
		else
			ns = (int64_t)tv.tv_sec * 1000000000 + (int64_t)tv.tv_usec * 1000;
		__atomic_store_n(rcv ? &s->rcvtimeo_ns : &s->sndtimeo_ns, ns, __ATOMIC_RELAXED);
		ns_optlog_add(s, level, name, val, len);
		return 0;
	}
	so.sock_id = s->id;
	so.level = level;
	so.name = name;
	so.value.data = (uint8_t *)val;
	so.value.len = val ? len : 0;
	req.body_case = NETSTACK__REQUEST__BODY_SETSOCKOPT;
	req.setsockopt = &so;
	err = ns_ipc_simple(s->sess, &req, NULL);
	if (err)
		return -err;
	if (ns_is_timestamp(level, name))
		ns_opt_timestamp(s, name, ns_opt_bool(val, len));
	bit = ns_opt_bit(level, name);
	if (bit) {
		if (ns_opt_bool(val, len))
			__atomic_or_fetch(&s->opts, bit, __ATOMIC_RELAXED);
		else
			__atomic_and_fetch(&s->opts, ~bit, __ATOMIC_RELAXED);
	}
	ns_optlog_add(s, level, name, val, len);
	return 0;
}

static int ns_put_int(int v, void *val, socklen_t *len)
{
	socklen_t n = *len < sizeof(int) ? *len : sizeof(int);

	memcpy(val, &v, n);
	*len = n;
	return 0;
}

int ns_sock_getsockopt(struct ns_sock *s, int level, int name, void *val, socklen_t *len)
{
	Netstack__Request req = NETSTACK__REQUEST__INIT;
	Netstack__GetsockoptRequest go = NETSTACK__GETSOCKOPT_REQUEST__INIT;
	Netstack__Reply *reply = NULL;
	bool rcv;
	int err;

	if (!len)
		return -EFAULT;
	if ((int)*len < 0)
		return -EINVAL;
	if (*len && !val)
		return -EFAULT;
	if (ns_is_timeo(level, name, &rcv)) {
		int64_t ns = __atomic_load_n(rcv ? &s->rcvtimeo_ns : &s->sndtimeo_ns,
					     __ATOMIC_RELAXED);
		struct timeval tv = { 0, 0 };
		socklen_t n;

		if (ns > 0) {
			tv.tv_sec = ns / 1000000000;
			tv.tv_usec = (ns % 1000000000) / 1000;
		}
		n = *len < sizeof(tv) ? *len : sizeof(tv);
		memcpy(val, &tv, n);
		*len = n;
		return 0;
	}
	if (level == SOL_SOCKET) {
		switch (name) {
		case SO_TYPE:
			return ns_put_int(s->type, val, len);
		case SO_DOMAIN:
			return ns_put_int(s->domain, val, len);
		case SO_PROTOCOL:
			return ns_put_int(s->protocol, val, len);
		case SO_ERROR:
			err = atomic_exchange(&s->shm->so_error, 0);
			if (err)
				return ns_put_int(err, val, len);
			break;          /* the daemon may hold one not yet published */
		}
	}
	go.sock_id = s->id;
	go.level = level;
	go.name = name;
	go.optlen = *len;
	req.body_case = NETSTACK__REQUEST__BODY_GETSOCKOPT;
	req.getsockopt = &go;
	err = ns_ipc_simple(s->sess, &req, &reply);
	if (err)
		return -err;
	if (reply->body_case != NETSTACK__REPLY__BODY_GETSOCKOPT || !reply->getsockopt) {
		err = -EPROTO;
	} else {
		socklen_t n = reply->getsockopt->value.len < *len ?
			      (socklen_t)reply->getsockopt->value.len : *len;

		if (n)
			memcpy(val, reply->getsockopt->value.data, n);
		*len = n;
		err = 0;
	}
	netstack__reply__free_unpacked(reply, NULL);
	return err;
}

int ns_sock_shutdown(struct ns_sock *s, int how)
{
	Netstack__Request req = NETSTACK__REQUEST__INIT;
	Netstack__ShutdownRequest sr = NETSTACK__SHUTDOWN_REQUEST__INIT;

	int err;

	sr.sock_id = s->id;
	sr.how = how;
	req.body_case = NETSTACK__REQUEST__BODY_SHUTDOWN;
	req.shutdown = &sr;
	err = -ns_ipc_simple(s->sess, &req, NULL);
	if (s->type == SOCK_STREAM && (err == 0 || err == -ENOTCONN) &&
	    (how == SHUT_RD || how == SHUT_RDWR)) {
		/*
		 * inet_shutdown(): a listener shut for reading stops
		 * listening; an attempt in progress is abandoned.
		 */
		uint32_t st = atomic_load(&s->shm->state);

		__atomic_store_n(&s->listening, 0, __ATOMIC_RELEASE);
		if (__atomic_load_n(&s->sstate, __ATOMIC_ACQUIRE) == NS_SSTATE_CONNECTING &&
		    !(st & NS_SS_CONNECTED))
			__atomic_store_n(&s->sstate, NS_SSTATE_UNCONNECTED, __ATOMIC_RELEASE);
	}
	return err;
}

int ns_sock_fcntl(struct ns_sock *s, int fd, int cmd, long arg)
{
	int r;

	switch (cmd) {
	case F_GETFL:
		r = REAL(fcntl)(fd, F_GETFL);
		if (r < 0)
			return -errno;
		r &= ~O_NONBLOCK;
		return __atomic_load_n(&s->nonblock, __ATOMIC_RELAXED) ? r | O_NONBLOCK : r;
	case F_SETFL:
		r = REAL(fcntl)(fd, F_SETFL, (int)arg | O_NONBLOCK);
		if (r < 0)
			return -errno;
		__atomic_store_n(&s->nonblock, !!(arg & O_NONBLOCK), __ATOMIC_RELAXED);
		return 0;
	}
	r = REAL(fcntl)(fd, cmd, arg);
	return r < 0 ? -errno : r;
}

/* Interface ioctls (SIOCGIFxxx) work on any socket: ask a kernel one. */
static int ns_sock_dev_ioctl(unsigned long req, void *arg)
{
	int k = REAL(socket)(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int r;

	if (k < 0)
		return -errno;
	r = REAL(ioctl)(k, req, arg);
	r = r < 0 ? -errno : r;
	REAL(close)(k);
	return r;
}

int ns_sock_ioctl(struct ns_sock *s, unsigned long req, void *arg)
{
	int64_t n;
	int v;

	switch (req) {
	case FIONBIO:
		if (!arg)
			return -EFAULT;
		memcpy(&v, arg, sizeof(v));
		__atomic_store_n(&s->nonblock, v != 0, __ATOMIC_RELAXED);
		return 0;
	case FIONREAD:          /* SIOCINQ: the next datagram's payload size */
		if (!arg)
			return -EFAULT;
		if (s->type == SOCK_STREAM) {
			/* tcp_ioctl(): bytes readable; a listener has none (EINVAL). */
			if (__atomic_load_n(&s->listening, __ATOMIC_ACQUIRE) ||
			    (atomic_load(&s->shm->state) & NS_SS_LISTENING))
				return -EINVAL;
			n = ns_stream_rx_avail(&s->rx);
			v = n < 0 ? 0 : n > INT32_MAX ? INT32_MAX : (int)n;
			memcpy(arg, &v, sizeof(v));
			return 0;
		}
		ns_sock_lock(s);
		n = ns_dgram_rx_next_len(&s->rx);
		ns_sock_unlock(s);
		v = n < 0 ? 0 : (int)n;
		memcpy(arg, &v, sizeof(v));
		return 0;
	case SIOCOUTQ:          /* stream: sent but not acknowledged, and unsent */
		if (!arg)
			return -EFAULT;
		if (s->type == SOCK_STREAM && (__atomic_load_n(&s->listening, __ATOMIC_ACQUIRE) ||
					       (atomic_load(&s->shm->state) & NS_SS_LISTENING)))
			return -EINVAL;
		v = (int)ns_ring_used(&s->tx);
		memcpy(arg, &v, sizeof(v));
		return 0;
	}
	if (req == SIOCATMARK && s->type == SOCK_STREAM) {
		/* No urgent data is ever queued: never at the mark. */
		if (!arg)
			return -EFAULT;
		v = 0;
		memcpy(arg, &v, sizeof(v));
		return 0;
	}
	if (req >= 0x8900 && req <= 0x89ff && req != SIOCATMARK)
		return ns_sock_dev_ioctl(req, arg);
	return -ENOTTY;
}

/* ---- bypass ------------------------------------------------------------------------ */

int ns_sock_maybe_bypass(struct ns_sock *s, int fd, const struct sockaddr *addr,
			 socklen_t len, bool local)
{
	const struct ns_bypass_policy *p = ns_bypass_policy();
	struct ns_sockopt_log *o;
	struct ns_file *f;
	size_t n = 0;
	int k, cloexec, err;

	(void)local;
	if (!p->n || !addr || __atomic_load_n(&s->used, __ATOMIC_ACQUIRE) ||
	    __atomic_load_n(&s->nfds, __ATOMIC_RELAXED) != 1 || !ns_bypass_match(p, addr, len))
		return 0;
	k = REAL(socket)(s->domain, s->type | SOCK_CLOEXEC |
			 (__atomic_load_n(&s->nonblock, __ATOMIC_RELAXED) ? SOCK_NONBLOCK : 0),
			 s->protocol);
	if (k < 0)
		return -errno;
	/* Replay the options in the order they were set (the log is newest first). */
	pthread_mutex_lock(&s->optlog_lock);
	for (o = s->optlog; o; o = o->next)
		n++;
	for (size_t i = n; i > 0; i--) {
		size_t j = 1;

		for (o = s->optlog; j < i; o = o->next)
			j++;
		(void)REAL(setsockopt)(k, o->level, o->name, o->val, o->len);
	}
	pthread_mutex_unlock(&s->optlog_lock);
	cloexec = REAL(fcntl)(fd, F_GETFD);
	f = ns_fd_remove(fd);
	if (REAL(dup3)(k, fd, cloexec > 0 && (cloexec & FD_CLOEXEC) ? O_CLOEXEC : 0) < 0) {
		err = -errno;
		if (f)
			ns_fd_install(fd, f);
		ns_file_put(f);
		REAL(close)(k);
		return err;
	}
	REAL(close)(k);
	if (f) {
		__atomic_sub_fetch(&ns_sock_of(f)->nfds, 1, __ATOMIC_RELAXED);
		ns_epoll_forget(fd, ns_sock_of(f));
	}
	ns_file_put(f);                 /* the last reference closes the stack socket */
	return -NS_REDO_LIBC;
}

struct ns_collect {
	struct ns_session *sess;
	uint64_t *ids;
	size_t n, cap;
};

static int ns_collect_one(int fd, struct ns_file *f, void *arg)
{
	struct ns_collect *c = arg;
	struct ns_sock *s = ns_sock_of(f);

	(void)fd;
	if (s->sess != c->sess)
		return 0;
	for (size_t i = 0; i < c->n; i++)
		if (c->ids[i] == s->id)
			return 0;
	if (c->n == c->cap) {
		size_t ncap = c->cap ? c->cap * 2 : 16;
		uint64_t *n = realloc(c->ids, ncap * sizeof(*n));

		if (!n)
			return 0;
		c->ids = n;
		c->cap = ncap;
	}
	c->ids[c->n++] = s->id;
	return 0;
}

void ns_sock_collect_ids(struct ns_session *sess, uint64_t **ids, size_t *n)
{
	struct ns_collect c = { .sess = sess };

	ns_fd_foreach(NS_FILE_SOCK, ns_collect_one, &c);
	*ids = c.ids;
	*n = c.n;
}
