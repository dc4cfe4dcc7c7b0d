/*
 * The native API of netstack.h: thin wrappers over the same socket code
 * the interposed calls use, but failing with EBADF (ENOTSOCK for kernel
 * fds) instead of passing descriptors that are not netstack's to the C
 * library.  Client context, any thread.
 */
#include <errno.h>

#include "config.h"
#include "fdtable.h"
#include "netstack.h"
#include "sock.h"

#define NS_EXPORT __attribute__((visibility("default")))

static long ns_nret(long r)
{
	if (r < 0) {
		errno = r == -NS_REDO_LIBC ? EOPNOTSUPP : (int)-r;
		return -1;
	}
	return r;
}

/* The socket behind @fd, or NULL with errno ENOTSOCK. */
static struct ns_sock *ns_native_sock(int fd)
{
	struct ns_sock *s = ns_sock_get(fd);

	if (!s)
		errno = fd < 0 ? EBADF : ENOTSOCK;
	return s;
}

NS_EXPORT const char *ns_version(void)
{
	return PACKAGE_VERSION;
}

NS_EXPORT int ns_is_netstack_fd(int fd)
{
	struct ns_sock *s = ns_sock_get(fd);

	if (!s)
		return 0;
	ns_sock_put(s);
	return 1;
}

NS_EXPORT int ns_socket(int domain, int type, int protocol)
{
	if (!ns_sock_is_stack(domain, type)) {
		errno = EAFNOSUPPORT;
		return -1;
	}
	return (int)ns_nret(ns_sock_create(domain, type, protocol));
}

#define NS_NATIVE(call) \
	do { \
		struct ns_sock *s = ns_native_sock(fd); \
		long r; \
		if (!s) \
			return -1; \
		r = (call); \
		ns_sock_put(s); \
		return ns_nret(r); \
	} while (0)

NS_EXPORT int ns_bind(int fd, const struct sockaddr *addr, socklen_t len)
{
	NS_NATIVE(ns_sock_bind(s, fd, addr, len));
}

NS_EXPORT int ns_connect(int fd, const struct sockaddr *addr, socklen_t len)
{
	NS_NATIVE(ns_sock_connect(s, fd, addr, len));
}

NS_EXPORT int ns_getsockname(int fd, struct sockaddr *addr, socklen_t *len)
{
	NS_NATIVE(ns_sock_getname(s, addr, len, false));
}

NS_EXPORT int ns_getpeername(int fd, struct sockaddr *addr, socklen_t *len)
{
	NS_NATIVE(ns_sock_getname(s, addr, len, true));
}

NS_EXPORT int ns_setsockopt(int fd, int level, int name, const void *val, socklen_t len)
{
	NS_NATIVE(ns_sock_setsockopt(s, level, name, val, len));
}

NS_EXPORT int ns_getsockopt(int fd, int level, int name, void *val, socklen_t *len)
{
	NS_NATIVE(ns_sock_getsockopt(s, level, name, val, len));
}

NS_EXPORT ssize_t ns_sendmsg(int fd, const struct msghdr *msg, int flags)
{
	NS_NATIVE(ns_sock_sendmsg(s, fd, msg, flags));
}

NS_EXPORT ssize_t ns_recvmsg(int fd, struct msghdr *msg, int flags)
{
	NS_NATIVE(ns_sock_recvmsg(s, fd, msg, flags));
}

NS_EXPORT ssize_t ns_sendto(int fd, const void *buf, size_t len, int flags,
			    const struct sockaddr *addr, socklen_t alen)
{
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
			      .msg_name = (void *)addr, .msg_namelen = addr ? alen : 0 };

	if (addr && alen == 0) {
		errno = EINVAL;
		return -1;
	}
	return ns_sendmsg(fd, &msg, flags);
}

NS_EXPORT ssize_t ns_recvfrom(int fd, void *buf, size_t len, int flags,
			      struct sockaddr *addr, socklen_t *alen)
{
	struct iovec iov = { .iov_base = buf, .iov_len = len };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t r;

	if (addr) {
		if (!alen) {
			errno = EFAULT;
			return -1;
		}
		msg.msg_name = addr;
		msg.msg_namelen = *alen;
	}
	r = ns_recvmsg(fd, &msg, flags);
	if (r >= 0 && addr)
		*alen = msg.msg_namelen;
	return r;
}

NS_EXPORT int ns_shutdown(int fd, int how)
{
	NS_NATIVE(ns_sock_shutdown(s, how));
}

NS_EXPORT int ns_close(int fd)
{
	struct ns_sock *s = ns_native_sock(fd);

	if (!s)
		return -1;
	ns_sock_put(s);
	return (int)ns_nret(ns_sock_close_fd(fd));
}
