/*
 * netstack.h: the native API of libnetstack.so.
 *
 * Programs normally use netstack without knowing it: loaded with
 * LD_PRELOAD=libnetstack.so, the library serves the BSD socket calls
 * (socket, bind, sendto, recvfrom, poll, epoll_wait, ...) of AF_INET and
 * AF_INET6 datagram sockets from netstackd.  A program that links with
 * -lnetstack gets the same interposition, and these functions besides:
 * explicit entry points that always use netstack, whatever else is
 * interposed, and a way to ask whether a descriptor belongs to it.
 *
 * Every function follows its BSD counterpart: same arguments, same return
 * value, -1 with errno on failure.  Descriptors from ns_socket() are real
 * file descriptors and work with the plain calls too (poll, close, dup...).
 *
 * Environment:
 *   NETSTACK_SOCKET        the daemon's socket (default
 *                          /run/netstackd/netstackd.sock)
 *   NETSTACK_BYPASS        addresses and ports that stay with the kernel,
 *                          e.g. "10.0.0.0/8,192.168.1.5:22,:53,ipv6"
 *   NETSTACK_BUSY_POLL_US  how long a blocking call spins before it
 *                          sleeps (default 50; 0 disables spinning)
 *
 * When netstackd cannot be reached, ns_socket() and socket() fail with
 * ENETDOWN (EACCES if its socket may not be opened) and the library
 * prints one line on stderr.  When netstackd dies, calls on its sockets
 * fail with ECONNRESET (receive), EPIPE (send) or ENOTCONN (names).
 */
#ifndef NETSTACK_H
#define NETSTACK_H

#include <stddef.h>
#include <sys/socket.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The library's version, "MAJOR.MINOR.PATCH". */
const char *ns_version(void);

/* 1 if @fd is a netstack socket in this process, else 0. */
int ns_is_netstack_fd(int fd);

/* socket(2) on netstack: AF_INET/AF_INET6, SOCK_DGRAM (SOCK_NONBLOCK, SOCK_CLOEXEC). */
int ns_socket(int domain, int type, int protocol);
int ns_bind(int fd, const struct sockaddr *addr, socklen_t len);
int ns_connect(int fd, const struct sockaddr *addr, socklen_t len);
int ns_getsockname(int fd, struct sockaddr *addr, socklen_t *len);
int ns_getpeername(int fd, struct sockaddr *addr, socklen_t *len);
int ns_setsockopt(int fd, int level, int name, const void *val, socklen_t len);
int ns_getsockopt(int fd, int level, int name, void *val, socklen_t *len);
ssize_t ns_sendto(int fd, const void *buf, size_t len, int flags,
		  const struct sockaddr *addr, socklen_t alen);
ssize_t ns_recvfrom(int fd, void *buf, size_t len, int flags,
		    struct sockaddr *addr, socklen_t *alen);
ssize_t ns_sendmsg(int fd, const struct msghdr *msg, int flags);
ssize_t ns_recvmsg(int fd, struct msghdr *msg, int flags);
int ns_shutdown(int fd, int how);
int ns_close(int fd);

#ifdef __cplusplus
}
#endif

#endif
