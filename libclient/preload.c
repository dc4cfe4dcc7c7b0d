/*
 * The interposed C library functions: the entry points an unmodified
 * program reaches when libnetstack.so is loaded with LD_PRELOAD (or linked).
 * Each decides whether the call is ours: socket() of AF_INET/AF_INET6
 * datagram and stream sockets, and any call on a descriptor in the fd
 * table.  Everything else (AF_UNIX, netlink, files, pipes, raw and ICMP
 * sockets) goes to the C library untouched, through the real function
 * pointers of real.h.  Client context, any application thread; the
 * functions here only translate -errno returns into errno.
 *
 * Only these symbols are exported (the library is built with
 * -fvisibility=hidden).  Descriptors the library owns internally (the
 * daemon connection, doorbells) look closed to the application: close()
 * and dup() of them fail with EBADF.
 *
 * exec(): the library's state does not survive it, so stack sockets do not
 * either; a stack fd left open across exec is a plain eventfd in the new
 * program (mark sockets SOCK_CLOEXEC, as most programs do).
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "epoll.h"
#include "fdtable.h"
#include "ipc.h"
#include "poll.h"
#include "real.h"
#include "sock.h"

#define NS_EXPORT __attribute__((visibility("default")))

extern void __chk_fail(void) __attribute__((noreturn));

/* Entry points that glibc's headers do not declare (fortify and old stat ABI). */
ssize_t __read_chk(int fd, void *buf, size_t len, size_t buflen);
ssize_t __recv_chk(int fd, void *buf, size_t len, size_t buflen, int flags);
ssize_t __recvfrom_chk(int fd, void *buf, size_t len, size_t buflen, int flags,
		       struct sockaddr *addr, socklen_t *alen);
int __fxstat(int ver, int fd, struct stat *st);
int __fxstat64(int ver, int fd, struct stat64 *st);
int __poll_chk(struct pollfd *fds, nfds_t nfds, int timeout, size_t fdslen);
int __ppoll_chk(struct pollfd *fds, nfds_t nfds, const struct timespec *ts,
		const sigset_t *sigmask, size_t fdslen);

/* -errno or a value: set errno and return -1, or return the value. */
static inline long ns_ret(long r)
{
	if (r < 0) {
		errno = (int)-r;
		return -1;
	}
	return r;
}

static void ns_atfork_prepare(void)
{
	ns_ipc_atfork_prepare();
	ns_fd_atfork_prepare();
}

static void ns_atfork_parent(void)
{
	ns_fd_atfork_parent();
	ns_ipc_atfork_parent();
}

static void ns_atfork_child(void)
{
	ns_fd_atfork_child();
	ns_ipc_atfork_child();
}

__attribute__((constructor)) static void ns_preload_init(void)
{
	ns_real_init();
	pthread_atfork(ns_atfork_prepare, ns_atfork_parent, ns_atfork_child);
}

/*
 * Whether SOCK_STREAM sockets are the stack's when NETSTACK_TCP is unset:
 * yes, netstackd serves TCP.  NETSTACK_TCP=0 leaves them to the kernel
 * (NETSTACK_TCP=1 claims them either way).
 */
#define NS_CLAIM_STREAM_DEFAULT true

static bool ns_claim_stream(void)
{
	static _Atomic int cached = -1;
	int v = atomic_load_explicit(&cached, memory_order_relaxed);

	if (v < 0) {
		const char *e = getenv("NETSTACK_TCP");

		v = e && *e ? strcmp(e, "0") != 0 : NS_CLAIM_STREAM_DEFAULT;
		atomic_store_explicit(&cached, v, memory_order_relaxed);
	}
	return v;
}

/*
 * The protocols the stack serves: UDP, ICMP ping sockets and raw sockets
 * of IPv4, and TCP once claimed (0 = default).  ICMPv6 ping and IPv6 raw
 * sockets stay with the kernel: the stack has no IPv6.
 */
static bool ns_socket_ours(int domain, int type, int protocol)
{
	int base = type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC);

	if (!ns_sock_is_stack(domain, type))
		return false;
	if (base == SOCK_RAW)
		return true;
	if (base == SOCK_DGRAM)
		return protocol == 0 || protocol == IPPROTO_UDP ||
		       (domain == AF_INET && protocol == IPPROTO_ICMP);
	return ns_claim_stream() && (protocol == 0 || protocol == IPPROTO_TCP);
}

NS_EXPORT int socket(int domain, int type, int protocol)
{
	if (!ns_socket_ours(domain, type, protocol))
		return REAL(socket)(domain, type, protocol);
	return (int)ns_ret(ns_sock_create(domain, type, protocol));
}

NS_EXPORT int bind(int fd, const struct sockaddr *addr, socklen_t len)
{
	struct ns_sock *s = ns_sock_get(fd);
	int r;

	if (!s)
		return REAL(bind)(fd, addr, len);
	r = ns_sock_bind(s, fd, addr, len);
	ns_sock_put(s);
	if (r == -NS_REDO_LIBC)
		return REAL(bind)(fd, addr, len);
	return (int)ns_ret(r);
}

NS_EXPORT int connect(int fd, const struct sockaddr *addr, socklen_t len)
{
	struct ns_sock *s = ns_sock_get(fd);
	int r;

	if (!s)
		return REAL(connect)(fd, addr, len);
	r = ns_sock_connect(s, fd, addr, len);
	ns_sock_put(s);
	if (r == -NS_REDO_LIBC)
		return REAL(connect)(fd, addr, len);
	return (int)ns_ret(r);
}

NS_EXPORT int listen(int fd, int backlog)
{
	struct ns_sock *s = ns_sock_get(fd);
	int r;

	if (!s)
		return REAL(listen)(fd, backlog);
	r = s->type == SOCK_DGRAM ? -EOPNOTSUPP : ns_sock_listen(s, backlog);
	ns_sock_put(s);
	return (int)ns_ret(r);
}

NS_EXPORT int accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags)
{
	struct ns_sock *s = ns_sock_get(fd);
	int r;

	if (!s)
		return REAL(accept4)(fd, addr, len, flags);
	if (s->type == SOCK_STREAM)
		r = ns_stream_accept(s, fd, addr, len, flags);
	else
		r = (flags & ~(SOCK_NONBLOCK | SOCK_CLOEXEC)) ? -EINVAL : -EOPNOTSUPP;
	ns_sock_put(s);
	return (int)ns_ret(r);
}

NS_EXPORT int accept(int fd, struct sockaddr *addr, socklen_t *len)
{
	if (!ns_fd_is_ours(fd))
		return REAL(accept)(fd, addr, len);
	return accept4(fd, addr, len, 0);
}

static int ns_getname(int fd, struct sockaddr *addr, socklen_t *len, bool peer)
{
	struct ns_sock *s = ns_sock_get(fd);
	int r;

	if (!s)
		return peer ? REAL(getpeername)(fd, addr, len) : REAL(getsockname)(fd, addr, len);
	r = ns_sock_getname(s, addr, len, peer);
	ns_sock_put(s);
	return (int)ns_ret(r);
}

NS_EXPORT int getsockname(int fd, struct sockaddr *addr, socklen_t *len)
{
	return ns_getname(fd, addr, len, false);
}

NS_EXPORT int getpeername(int fd, struct sockaddr *addr, socklen_t *len)
{
	return ns_getname(fd, addr, len, true);
}

NS_EXPORT int setsockopt(int fd, int level, int name, const void *val, socklen_t len)
{
	struct ns_sock *s = ns_sock_get(fd);
	int r;

	if (!s)
		return REAL(setsockopt)(fd, level, name, val, len);
	r = ns_sock_setsockopt(s, level, name, val, len);
	ns_sock_put(s);
	return (int)ns_ret(r);
}

NS_EXPORT int getsockopt(int fd, int level, int name, void *val, socklen_t *len)
{
	struct ns_sock *s = ns_sock_get(fd);
	int r;

	if (!s)
		return REAL(getsockopt)(fd, level, name, val, len);
	r = ns_sock_getsockopt(s, level, name, val, len);
	ns_sock_put(s);
	return (int)ns_ret(r);
}

/* ---- data ------------------------------------------------------------------- */

NS_EXPORT ssize_t sendmsg(int fd, const struct msghdr *msg, int flags)
{
	struct ns_sock *s = ns_sock_get(fd);
	ssize_t r;

	if (!s)
		return REAL(sendmsg)(fd, msg, flags);
	r = ns_sock_sendmsg(s, fd, msg, flags);
	ns_sock_put(s);
	if (r == -NS_REDO_LIBC)
		return REAL(sendmsg)(fd, msg, flags);
	return ns_ret(r);
}

NS_EXPORT ssize_t sendto(int fd, const void *buf, size_t len, int flags,
			 const struct sockaddr *addr, socklen_t alen)
{
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct ns_sock *s = ns_sock_get(fd);
	ssize_t r;

	if (!s)
		return REAL(sendto)(fd, buf, len, flags, addr, alen);
	if (addr) {
		/* __sys_sendto passes a given address even with length 0. */
		if ((int)alen < 0 || alen > sizeof(struct sockaddr_storage))
			r = -EINVAL;
		else if (alen == 0)
			r = len > 0xffff ? -EMSGSIZE : -EINVAL;
		else
			r = 1;
		if (r < 0) {
			ns_sock_put(s);
			return ns_ret(r);
		}
		msg.msg_name = (void *)addr;
		msg.msg_namelen = alen;
	}
	r = ns_sock_sendmsg(s, fd, &msg, flags);
	ns_sock_put(s);
	if (r == -NS_REDO_LIBC)
		return REAL(sendto)(fd, buf, len, flags, addr, alen);
	return ns_ret(r);
}

NS_EXPORT ssize_t send(int fd, const void *buf, size_t len, int flags)
{
	if (!ns_fd_is_ours(fd))
		return REAL(send)(fd, buf, len, flags);
	return sendto(fd, buf, len, flags, NULL, 0);
}

NS_EXPORT int sendmmsg(int fd, struct mmsghdr *vec, unsigned int vlen, int flags)
{
	struct ns_sock *s = ns_sock_get(fd);
	unsigned int i;
	ssize_t r = 0;

	if (!s)
		return REAL(sendmmsg)(fd, vec, vlen, flags);
	if (vlen > 1024)                /* UIO_MAXIOV */
		vlen = 1024;
	for (i = 0; i < vlen; i++) {
		r = ns_sock_sendmsg(s, fd, &vec[i].msg_hdr, flags);
		if (r < 0)
			break;
		vec[i].msg_len = (unsigned int)r;
	}
	ns_sock_put(s);
	if (i > 0)
		return (int)i;
	if (r == -NS_REDO_LIBC)
		return REAL(sendmmsg)(fd, vec, vlen, flags);
	return (int)ns_ret(r);
}

NS_EXPORT ssize_t recvmsg(int fd, struct msghdr *msg, int flags)
{
	struct ns_sock *s = ns_sock_get(fd);
	ssize_t r;

	if (!s)
		return REAL(recvmsg)(fd, msg, flags);
	r = ns_sock_recvmsg(s, fd, msg, flags);
	ns_sock_put(s);
	return ns_ret(r);
}

NS_EXPORT ssize_t recvfrom(int fd, void *buf, size_t len, int flags, struct sockaddr *addr,
			   socklen_t *alen)
{
	struct iovec iov = { .iov_base = buf, .iov_len = len };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct ns_sock *s = ns_sock_get(fd);
	ssize_t r;

	if (!s)
		return REAL(recvfrom)(fd, buf, len, flags, addr, alen);
	if (addr) {
		if (!alen) {
			ns_sock_put(s);
			return ns_ret(-EFAULT);
		}
		if ((int)*alen < 0) {
			ns_sock_put(s);
			return ns_ret(-EINVAL);
		}
		msg.msg_name = addr;
		msg.msg_namelen = *alen;
	}
	r = ns_sock_recvmsg(s, fd, &msg, flags);
	ns_sock_put(s);
	if (r >= 0 && addr)
		*alen = msg.msg_namelen;
	return ns_ret(r);
}

NS_EXPORT ssize_t recv(int fd, void *buf, size_t len, int flags)
{
	if (!ns_fd_is_ours(fd))
		return REAL(recv)(fd, buf, len, flags);
	return recvfrom(fd, buf, len, flags, NULL, NULL);
}

NS_EXPORT int recvmmsg(int fd, struct mmsghdr *vec, unsigned int vlen, int flags,
		       struct timespec *timeout)
{
	struct ns_sock *s = ns_sock_get(fd);
	unsigned int i;
	ssize_t r = 0;

	if (!s)
		return REAL(recvmmsg)(fd, vec, vlen, flags, timeout);
	if (vlen > 1024)
		vlen = 1024;
	for (i = 0; i < vlen; i++) {
		int f = flags & ~MSG_WAITFORONE;

		if (i > 0 && (flags & MSG_WAITFORONE))
			f |= MSG_DONTWAIT;
		r = ns_sock_recvmsg(s, fd, &vec[i].msg_hdr, f);
		if (r < 0)
			break;
		vec[i].msg_len = (unsigned int)r;
	}
	ns_sock_put(s);
	if (i > 0)
		return (int)i;
	return (int)ns_ret(r);
}

NS_EXPORT ssize_t readv(int fd, const struct iovec *iov, int iovcnt)
{
	struct msghdr msg = { .msg_iov = (struct iovec *)iov };
	struct ns_sock *s = ns_sock_get(fd);
	ssize_t r;

	if (!s)
		return REAL(readv)(fd, iov, iovcnt);
	if (iovcnt < 0) {
		ns_sock_put(s);
		return ns_ret(-EINVAL);
	}
	msg.msg_iovlen = (size_t)iovcnt;
	r = ns_sock_recvmsg(s, fd, &msg, 0);
	ns_sock_put(s);
	return ns_ret(r);
}

NS_EXPORT ssize_t writev(int fd, const struct iovec *iov, int iovcnt)
{
	struct msghdr msg = { .msg_iov = (struct iovec *)iov };
	struct ns_sock *s = ns_sock_get(fd);
	ssize_t r;

	if (!s)
		return REAL(writev)(fd, iov, iovcnt);
	if (iovcnt < 0) {
		ns_sock_put(s);
		return ns_ret(-EINVAL);
	}
	msg.msg_iovlen = (size_t)iovcnt;
	r = ns_sock_sendmsg(s, fd, &msg, 0);
	ns_sock_put(s);
	return ns_ret(r);
}

NS_EXPORT ssize_t read(int fd, void *buf, size_t len)
{
	struct iovec iov = { .iov_base = buf, .iov_len = len };

	if (!ns_fd_is_ours(fd))
		return REAL(read)(fd, buf, len);
	return readv(fd, &iov, 1);
}

NS_EXPORT ssize_t write(int fd, const void *buf, size_t len)
{
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };

	if (!ns_fd_is_ours(fd))
		return REAL(write)(fd, buf, len);
	return writev(fd, &iov, 1);
}

/*
 * sendfile(2) to a stack socket: the file is read straight into its tx
 * ring.  Anything else (a kernel socket, a pipe, a file) is the C
 * library's; a stack socket as the input is refused by the kernel
 * (an eventfd has no pages to splice), as for any socket.
 */
NS_EXPORT ssize_t sendfile(int out_fd, int in_fd, off_t *offset, size_t count)
{
	struct ns_sock *s = ns_sock_get(out_fd);
	ssize_t r;

	if (!s)
		return REAL(sendfile)(out_fd, in_fd, offset, count);
	r = s->type == SOCK_STREAM ? ns_stream_sendfile(s, out_fd, in_fd, offset, count) : -EINVAL;
	ns_sock_put(s);
	return ns_ret(r);
}

/* On 64-bit, off64_t and off_t are the same. */
_Static_assert(sizeof(off64_t) == sizeof(off_t), "off64_t is off_t");

NS_EXPORT ssize_t sendfile64(int out_fd, int in_fd, off64_t *offset, size_t count)
{
	return sendfile(out_fd, in_fd, (off_t *)offset, count);
}

/* _FORTIFY_SOURCE entry points (Debian builds programs with them). */
NS_EXPORT ssize_t __read_chk(int fd, void *buf, size_t len, size_t buflen)
{
	if (len > buflen)
		__chk_fail();
	return read(fd, buf, len);
}

NS_EXPORT ssize_t __recv_chk(int fd, void *buf, size_t len, size_t buflen, int flags)
{
	if (len > buflen)
		__chk_fail();
	return recv(fd, buf, len, flags);
}

NS_EXPORT ssize_t __recvfrom_chk(int fd, void *buf, size_t len, size_t buflen, int flags,
				 struct sockaddr *addr, socklen_t *alen)
{
	if (len > buflen)
		__chk_fail();
	return recvfrom(fd, buf, len, flags, addr, alen);
}

/* ---- descriptors ------------------------------------------------------------- */

NS_EXPORT int close(int fd)
{
	if (!ns_fd_is_ours(fd))
		return REAL(close)(fd);
	return (int)ns_ret(ns_sock_close_fd(fd));
}

NS_EXPORT int shutdown(int fd, int how)
{
	struct ns_sock *s = ns_sock_get(fd);
	int r;

	if (!s)
		return REAL(shutdown)(fd, how);
	r = ns_sock_shutdown(s, how);
	ns_sock_put(s);
	return (int)ns_ret(r);
}

NS_EXPORT int dup(int fd)
{
	if (!ns_fd_is_ours(fd))
		return REAL(dup)(fd);
	return (int)ns_ret(ns_sock_dup(fd, -1, 0, 0, 0));
}

NS_EXPORT int dup2(int oldfd, int newfd)
{
	if (!ns_fd_is_ours(oldfd) && !ns_fd_is_ours(newfd))
		return REAL(dup2)(oldfd, newfd);
	return (int)ns_ret(ns_sock_dup(oldfd, newfd, 0, 0, 2));
}

NS_EXPORT int dup3(int oldfd, int newfd, int flags)
{
	if (!ns_fd_is_ours(oldfd) && !ns_fd_is_ours(newfd))
		return REAL(dup3)(oldfd, newfd, flags);
	return (int)ns_ret(ns_sock_dup(oldfd, newfd, flags, 0, 3));
}

static int ns_fcntl(int fd, int cmd, long arg)
{
	struct ns_file *f;
	int r;

	if (!ns_fd_is_ours(fd))
		return REAL(fcntl)(fd, cmd, arg);
	if (cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC)
		return (int)ns_ret(ns_sock_dup(fd, -1, 0, (int)arg, cmd));
	f = ns_fd_get(fd);
	if (!f)
		return REAL(fcntl)(fd, cmd, arg);
	if (f->kind == NS_FILE_INTERNAL) {
		ns_file_put(f);
		return (int)ns_ret(-EBADF);
	}
	if (f->kind != NS_FILE_SOCK) {
		ns_file_put(f);
		return REAL(fcntl)(fd, cmd, arg);
	}
	r = ns_sock_fcntl(ns_sock_of(f), fd, cmd, arg);
	ns_file_put(f);
	return (int)ns_ret(r);
}

NS_EXPORT int fcntl(int fd, int cmd, ...)
{
	va_list ap;
	long arg;

	va_start(ap, cmd);
	arg = va_arg(ap, long);
	va_end(ap);
	return ns_fcntl(fd, cmd, arg);
}

NS_EXPORT int fcntl64(int fd, int cmd, ...)
{
	va_list ap;
	long arg;

	va_start(ap, cmd);
	arg = va_arg(ap, long);
	va_end(ap);
	return ns_fcntl(fd, cmd, arg);
}

NS_EXPORT int ioctl(int fd, unsigned long req, ...)
{
	struct ns_sock *s;
	va_list ap;
	void *arg;
	int r;

	va_start(ap, req);
	arg = va_arg(ap, void *);
	va_end(ap);
	s = ns_sock_get(fd);
	if (!s)
		return REAL(ioctl)(fd, req, arg);
	r = ns_sock_ioctl(s, req, arg);
	ns_sock_put(s);
	return (int)ns_ret(r);
}

static int ns_fstat_fix(int fd, struct stat *st, int r)
{
	if (r == 0 && ns_fd_is_ours(fd)) {
		struct ns_sock *s = ns_sock_get(fd);

		if (s) {
			st->st_mode = S_IFSOCK | 0777;
			st->st_size = 0;
			ns_sock_put(s);
		}
	}
	return r;
}

NS_EXPORT int fstat(int fd, struct stat *st)
{
	return ns_fstat_fix(fd, st, REAL(fstat)(fd, st));
}

/* On 64-bit, struct stat64 and struct stat have the same layout. */
_Static_assert(sizeof(struct stat64) == sizeof(struct stat), "stat64 is stat");

NS_EXPORT int fstat64(int fd, struct stat64 *st)
{
	return ns_fstat_fix(fd, (struct stat *)st, REAL(fstat)(fd, (struct stat *)st));
}

NS_EXPORT int __fxstat(int ver, int fd, struct stat *st)
{
	static int (*real)(int, int, struct stat *);

	if (!real)
		real = (int (*)(int, int, struct stat *))ns_real_resolve("__fxstat");
	return ns_fstat_fix(fd, st, real(ver, fd, st));
}

NS_EXPORT int __fxstat64(int ver, int fd, struct stat64 *st)
{
	static int (*real)(int, int, struct stat64 *);

	if (!real)
		real = (int (*)(int, int, struct stat64 *))ns_real_resolve("__fxstat64");
	return ns_fstat_fix(fd, (struct stat *)st, real(ver, fd, st));
}

/* ---- readiness ----------------------------------------------------------------- */

/*
 * glibc declares poll()'s array write-only (access attribute); it is
 * read-write (events in, revents out), so reading it is no bug.
 */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

NS_EXPORT int poll(struct pollfd *fds, nfds_t nfds, int timeout)
{
	if (!ns_poll_has_stack(fds, nfds))
		return REAL(poll)(fds, nfds, timeout);
	return ns_poll(fds, nfds, timeout < 0 ? -1 : (int64_t)timeout * 1000000, NULL);
}

NS_EXPORT int __poll_chk(struct pollfd *fds, nfds_t nfds, int timeout, size_t fdslen)
{
	if (fdslen / sizeof(struct pollfd) < nfds)
		__chk_fail();
	return poll(fds, nfds, timeout);
}

NS_EXPORT int ppoll(struct pollfd *fds, nfds_t nfds, const struct timespec *ts,
		    const sigset_t *sigmask)
{
	if (!ns_poll_has_stack(fds, nfds))
		return REAL(ppoll)(fds, nfds, ts, sigmask);
	if (ts && (ts->tv_sec < 0 || ts->tv_nsec < 0 || ts->tv_nsec >= 1000000000)) {
		errno = EINVAL;
		return -1;
	}
	return ns_poll(fds, nfds, ts ? (int64_t)ts->tv_sec * 1000000000 + ts->tv_nsec : -1,
		       sigmask);
}

NS_EXPORT int __ppoll_chk(struct pollfd *fds, nfds_t nfds, const struct timespec *ts,
			  const sigset_t *sigmask, size_t fdslen)
{
	if (fdslen / sizeof(struct pollfd) < nfds)
		__chk_fail();
	return ppoll(fds, nfds, ts, sigmask);
}

#pragma GCC diagnostic pop

NS_EXPORT int select(int nfds, fd_set *r, fd_set *w, fd_set *e, struct timeval *tv)
{
	if (!ns_select_has_stack(nfds, r, w, e))
		return REAL(select)(nfds, r, w, e, tv);
	if (tv && (tv->tv_sec < 0 || tv->tv_usec < 0)) {
		errno = EINVAL;
		return -1;
	}
	return ns_select(nfds, r, w, e,
			 tv ? (int64_t)tv->tv_sec * 1000000000 + (int64_t)tv->tv_usec * 1000 : -1,
			 NULL, tv);
}

NS_EXPORT int pselect(int nfds, fd_set *r, fd_set *w, fd_set *e, const struct timespec *ts,
		      const sigset_t *sigmask)
{
	if (!ns_select_has_stack(nfds, r, w, e))
		return REAL(pselect)(nfds, r, w, e, ts, sigmask);
	if (ts && (ts->tv_sec < 0 || ts->tv_nsec < 0 || ts->tv_nsec >= 1000000000)) {
		errno = EINVAL;
		return -1;
	}
	return ns_select(nfds, r, w, e, ts ? (int64_t)ts->tv_sec * 1000000000 + ts->tv_nsec : -1,
			 sigmask, NULL);
}

NS_EXPORT int epoll_ctl(int epfd, int op, int fd, struct epoll_event *ev)
{
	if (!ns_fd_is_ours(fd) && !ns_fd_is_ours(epfd))
		return REAL(epoll_ctl)(epfd, op, fd, ev);
	return (int)ns_ret(ns_epoll_ctl(epfd, op, fd, ev));
}

NS_EXPORT int epoll_wait(int epfd, struct epoll_event *events, int maxevents, int timeout)
{
	if (!ns_fd_is_ours(epfd))
		return REAL(epoll_wait)(epfd, events, maxevents, timeout);
	return (int)ns_ret(ns_epoll_wait(epfd, events, maxevents, timeout, NULL));
}

NS_EXPORT int epoll_pwait(int epfd, struct epoll_event *events, int maxevents, int timeout,
			  const sigset_t *sigmask)
{
	if (!ns_fd_is_ours(epfd))
		return REAL(epoll_pwait)(epfd, events, maxevents, timeout, sigmask);
	return (int)ns_ret(ns_epoll_wait(epfd, events, maxevents, timeout, sigmask));
}

/*
 * syscall(2): some libraries (libuv: sendmmsg, recvmmsg) call the kernel
 * directly instead of the C library's wrappers, which would bypass us and
 * hit the socket's eventfd (ENOTSOCK).  The socket calls on descriptors we
 * own are routed to the interposed functions above; everything else goes
 * to the real syscall() with the six argument registers it always takes.
 * Reading six arguments when the caller passed fewer reads past the
 * caller's outgoing arguments on the stack (harmless, as glibc's own
 * syscall does the same in registers), which AddressSanitizer reports as
 * a stack-buffer-underflow: not instrumented here.
 */
NS_EXPORT __attribute__((no_sanitize("address"))) long syscall(long nr, ...)
{
	static long (*_Atomic real_syscall)(long, ...);
	long (*next)(long, ...);
	long a[6];
	va_list ap;

	va_start(ap, nr);
	for (int i = 0; i < 6; i++)
		a[i] = va_arg(ap, long);
	va_end(ap);
	if (ns_fd_is_ours((int)a[0])) {
		switch (nr) {
		case SYS_sendmmsg:
			return sendmmsg((int)a[0], (struct mmsghdr *)a[1], (unsigned int)a[2],
					(int)a[3]);
		case SYS_recvmmsg:
			return recvmmsg((int)a[0], (struct mmsghdr *)a[1], (unsigned int)a[2],
					(int)a[3], (struct timespec *)a[4]);
		case SYS_sendmsg:
			return sendmsg((int)a[0], (const struct msghdr *)a[1], (int)a[2]);
		case SYS_recvmsg:
			return recvmsg((int)a[0], (struct msghdr *)a[1], (int)a[2]);
		case SYS_sendto:
			return sendto((int)a[0], (const void *)a[1], (size_t)a[2], (int)a[3],
				      (const struct sockaddr *)a[4], (socklen_t)a[5]);
		case SYS_recvfrom:
			return recvfrom((int)a[0], (void *)a[1], (size_t)a[2], (int)a[3],
					(struct sockaddr *)a[4], (socklen_t *)a[5]);
		default:
			break;
		}
	}
	next = atomic_load_explicit(&real_syscall, memory_order_acquire);
	if (!next) {
		next = (long (*)(long, ...))dlsym(RTLD_NEXT, "syscall");
		atomic_store_explicit(&real_syscall, next, memory_order_release);
	}
	return next(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
}
