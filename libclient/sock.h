/*
 * A stack socket as this process sees it: the daemon's socket id, the
 * control block and rings in the session's region, its doorbell, and the
 * state the library keeps itself (O_NONBLOCK, timeouts, options that shape
 * recvmsg's control messages).  One struct ns_sock per socket, shared by
 * every descriptor dup'd from it (the fd table holds the references).
 *
 * The socket calls below return 0 / a count, or -errno, and never touch
 * errno; preload.c and native.c turn that into the C library convention.
 * @fd is the descriptor the application used (the notify eventfd or a
 * dup of it), which is what a blocked caller sleeps on.
 *
 * Threads and processes.  The rings are used under the control block's
 * client_lock (a process-shared futex lock) so that threads and forked
 * processes do not interleave records.  Control calls go through the
 * session's request lock.  Client context, any thread.
 */
#ifndef NS_LIBCLIENT_SOCK_H
#define NS_LIBCLIENT_SOCK_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "fdtable.h"
#include "proto/shm.h"
#include "proto/shm_ring.h"

struct ns_session;

/* ns_sock.opts: options the library acts on (mirrors of the daemon's). */
enum {
	NS_OPT_PKTINFO = 1u << 0,       /* IP_PKTINFO: in_pktinfo cmsg */
	NS_OPT_RECVTOS = 1u << 1,       /* IP_RECVTOS: IP_TOS cmsg */
	NS_OPT_RECVTTL = 1u << 2,       /* IP_RECVTTL: IP_TTL cmsg */
	NS_OPT_BROADCAST = 1u << 3,     /* SO_BROADCAST: may send to 255.255.255.255 */
	NS_OPT_V6ONLY = 1u << 4,        /* IPV6_V6ONLY */
	NS_OPT_HDRINCL = 1u << 5,       /* IP_HDRINCL (raw): the data is an IP packet */
	NS_OPT_TSTAMP = 1u << 6,        /* SO_TIMESTAMP*: a receive time cmsg */
	NS_OPT_TSTAMPNS = 1u << 7,      /* ... as a timespec (SO_TIMESTAMPNS) */
	NS_OPT_TSTAMP_NEW = 1u << 8,    /* ... with the _NEW cmsg type */
};

/* A setsockopt the application made, replayed on a kernel socket (bypass). */
struct ns_sockopt_log {
	struct ns_sockopt_log *next;
	int level, name;
	socklen_t len;
	unsigned char val[];
};

/*
 * ns_sock.sstate of a stream socket: the kernel's sock->state (SS_*),
 * which only the socket calls change (connect() after a completed
 * non-blocking connect() returns 0 once, EISCONN after; one after a
 * failure starts afresh).  The protocol's state is the control block's.
 */
enum {
	NS_SSTATE_UNCONNECTED = 0,
	NS_SSTATE_CONNECTING,
	NS_SSTATE_CONNECTED,
};

struct ns_sock {
	struct ns_file file;            /* first: the fd table's handle */
	struct ns_session *sess;
	uint64_t id;
	int domain, type, protocol;
	struct ns_sock_shm *shm;        /* control block in the region */
	struct ns_ring_view rx, tx;     /* our own views, validated at creation */
	uint32_t max_dgram;
	uint32_t bell, slot;            /* its doorbell and bit (validated) */

	/* Atomics (any thread): */
	int nonblock;                   /* O_NONBLOCK of the open file */
	int64_t rcvtimeo_ns, sndtimeo_ns;       /* 0 = wait forever */
	unsigned int opts;              /* NS_OPT_* */
	int bound;                      /* bind() or autobind done */
	int connected;                  /* connect() to a peer done */
	int used;                       /* talked to the daemon about addresses: no bypass */
	int nfds;                       /* descriptors referring to it */
	int sstate;                     /* stream: NS_SSTATE_* */
	int listening;                  /* stream: listen() succeeded */
	int epolled;                    /* was added to an epoll instance (sticky) */

	pthread_mutex_t optlog_lock;
	struct ns_sockopt_log *optlog;  /* for bypass; under optlog_lock */
};

static inline struct ns_sock *ns_sock_of(struct ns_file *f)
{
	return (struct ns_sock *)f;
}

/* The socket behind @fd with a reference (ns_sock_put), or NULL. */
struct ns_sock *ns_sock_get(int fd);
static inline void ns_sock_put(struct ns_sock *s)
{
	ns_file_put(&s->file);
}

/* True for the families and types the stack serves. */
bool ns_sock_is_stack(int domain, int type);

/*
 * socket(): ask the daemon for a socket and return its descriptor (the
 * notify eventfd) with O_NONBLOCK / FD_CLOEXEC as @type's flags say.
 */
int ns_sock_create(int domain, int type, int protocol);

/* close() of @fd: drop the slot; the last reference closes the socket. */
int ns_sock_close_fd(int fd);

/* dup/dup2/dup3/F_DUPFD of a stack fd (@newfd -1: lowest free, >= @min). */
int ns_sock_dup(int oldfd, int newfd, int flags, int min, int cmd);

int ns_sock_bind(struct ns_sock *s, int fd, const struct sockaddr *addr, socklen_t len);
int ns_sock_connect(struct ns_sock *s, int fd, const struct sockaddr *addr, socklen_t len);
int ns_sock_listen(struct ns_sock *s, int backlog);
int ns_sock_getname(struct ns_sock *s, struct sockaddr *addr, socklen_t *len, bool peer);
int ns_sock_setsockopt(struct ns_sock *s, int level, int name, const void *val, socklen_t len);
int ns_sock_getsockopt(struct ns_sock *s, int level, int name, void *val, socklen_t *len);
int ns_sock_shutdown(struct ns_sock *s, int how);
int ns_sock_fcntl(struct ns_sock *s, int fd, int cmd, long arg);
int ns_sock_ioctl(struct ns_sock *s, unsigned long req, void *arg);

/* Bind a socket that is not yet bound to the wildcard address, port 0. */
int ns_sock_autobind(struct ns_sock *s);

/* A Bind (@connect false) or Connect request with @addr as given.  0 or -errno. */
int ns_sock_addr_req(struct ns_sock *s, bool connect, const struct sockaddr *addr,
		     socklen_t len);

/*
 * Turn a socket the daemon made (SocketReply or AcceptReply: @id, the
 * control block at @shm_off, @fd = its notify eventfd, which this takes
 * over) into a descriptor with @flags (SOCK_NONBLOCK, SOCK_CLOEXEC).  The
 * notify eventfd becomes the application's fd.
 * Returns it and, if @out, the socket with a reference for the caller
 * (ns_sock_put), or -errno after closing the socket on the daemon and the
 * fds (EMFILE if the descriptors did not arrive).
 */
int ns_sock_adopt(struct ns_session *sess, uint64_t id, uint64_t shm_off, int fd,
		  int domain, int type, int protocol, int flags, struct ns_sock **out);

/* Close the descriptors in @fds that are open (>= 0). */
void ns_close_fds(int *fds, unsigned int n);

/* Copy a sockaddr of @klen bytes out as move_addr_to_user() does. */
int ns_copy_addr_out(const void *kaddr, socklen_t klen, struct sockaddr *addr, socklen_t *len);

/*
 * Move socket @s at @fd to a kernel socket of the same kind if the bypass
 * policy says @addr stays with the kernel and the socket is still unused.
 * -NS_REDO_LIBC if @fd is now a kernel socket (the caller repeats the
 * call with libc), 0 if it stays on the stack, or another -errno.
 */
int ns_sock_maybe_bypass(struct ns_sock *s, int fd, const struct sockaddr *addr,
			 socklen_t len, bool local);

/*
 * Returned (negated) by socket calls when the socket just moved to the
 * kernel (bypass): the caller repeats the call with the C library.
 */
#define NS_REDO_LIBC 100000

/* Ids of the sockets of @sess this process holds (fork). */
void ns_sock_collect_ids(struct ns_session *sess, uint64_t **ids, size_t *n);

/* Data path (sock_dgram.c; stream sockets are passed on to sock_stream.c). */
ssize_t ns_sock_sendmsg(struct ns_sock *s, int fd, const struct msghdr *msg, int flags);
ssize_t ns_sock_recvmsg(struct ns_sock *s, int fd, struct msghdr *msg, int flags);

/* Sum of an iovec's lengths with the kernel's checks (EINVAL, EFAULT). */
int ns_iov_len(const struct iovec *iov, size_t n, size_t *total);

/*
 * Stream sockets (sock_stream.c): connect (after the address checks and
 * bypass), accept/accept4 on a listener, the data path, sendfile(2) from
 * @in_fd, and readiness (tcp_poll).
 */
int ns_stream_connect(struct ns_sock *s, int fd, const struct sockaddr *addr, socklen_t len);
int ns_stream_accept(struct ns_sock *s, int fd, struct sockaddr *addr, socklen_t *len,
		     int flags);
ssize_t ns_stream_sendmsg(struct ns_sock *s, int fd, const struct msghdr *msg, int flags);
ssize_t ns_stream_recvmsg(struct ns_sock *s, int fd, struct msghdr *msg, int flags);
ssize_t ns_stream_sendfile(struct ns_sock *s, int fd, int in_fd, off_t *offset, size_t count);
unsigned int ns_stream_poll(struct ns_sock *s);

/* Waiting (wait.c). */
void ns_sock_lock(struct ns_sock *s);
void ns_sock_unlock(struct ns_sock *s);
/* Mark @s in its doorbell's bitmap and ring the doorbell if nobody did. */
void ns_sock_ring(struct ns_sock *s);

/* After producing into tx: ring the doorbell if the daemon asked (need_kick). */
void ns_sock_kick(struct ns_sock *s);
/* Readiness as poll(2) bits (POLLIN, POLLOUT, POLLERR, POLLHUP, POLLRDHUP...). */
unsigned int ns_sock_poll(struct ns_sock *s);
/* Ask the daemon to signal the notify fd on RX and/or TX changes. */
void ns_sock_want(struct ns_sock *s, uint32_t wait_bits);
/*
 * Wake-up protocol of proto/shm.h: the notify fd @fd was seen readable.
 * Clear notify_pending, drain the eventfd, re-check, and write it back if
 * the socket turned out ready meanwhile.  Returns ns_sock_poll() after.
 */
unsigned int ns_sock_drain(struct ns_sock *s, int fd);
/* After a change we made, keep the notify fd readable while @s is readable. */
void ns_sock_resignal(struct ns_sock *s, int fd);
/*
 * Block until ns_sock_poll(@s) & @events, the daemon dies, the timeout
 * (ns, 0 = forever) expires (-EAGAIN) or a signal arrives (-EINTR).
 * Spins for the busy-poll window first.  0 when the caller should re-check.
 */
int ns_sock_wait(struct ns_sock *s, int fd, unsigned int events, int64_t timeout_ns);
/* True if @s can no longer work (daemon gone or socket reset). */
bool ns_sock_dead(struct ns_sock *s);

/* Monotonic clock in ns. */
int64_t ns_now_ns(void);

#endif
