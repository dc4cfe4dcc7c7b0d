/*
 * The C library's own functions, for the library's internal use.
 *
 * Every function libnetstack.so interposes is also called by the library
 * itself (closing an eventfd, polling, talking to the daemon).  Those calls
 * must reach the C library, not our own wrappers and not another
 * interposer loaded before us, so they go through the pointers here,
 * resolved with dlsym(RTLD_NEXT, ...).  Resolution is lazy and idempotent:
 * the first user of a pointer resolves it; racing threads store the same
 * value, so no lock is needed.  Any thread, any context (also inside
 * pthread_atfork handlers).
 */
#ifndef NS_LIBCLIENT_REAL_H
#define NS_LIBCLIENT_REAL_H

#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>

/* The table of real functions; members are named as the functions. */
struct ns_real {
	int (*socket)(int, int, int);
	int (*bind)(int, const struct sockaddr *, socklen_t);
	int (*connect)(int, const struct sockaddr *, socklen_t);
	int (*listen)(int, int);
	int (*accept)(int, struct sockaddr *, socklen_t *);
	int (*accept4)(int, struct sockaddr *, socklen_t *, int);
	int (*getsockname)(int, struct sockaddr *, socklen_t *);
	int (*getpeername)(int, struct sockaddr *, socklen_t *);
	int (*setsockopt)(int, int, int, const void *, socklen_t);
	int (*getsockopt)(int, int, int, void *, socklen_t *);
	ssize_t (*send)(int, const void *, size_t, int);
	ssize_t (*sendto)(int, const void *, size_t, int, const struct sockaddr *, socklen_t);
	ssize_t (*sendmsg)(int, const struct msghdr *, int);
	int (*sendmmsg)(int, struct mmsghdr *, unsigned int, int);
	ssize_t (*recv)(int, void *, size_t, int);
	ssize_t (*recvfrom)(int, void *, size_t, int, struct sockaddr *, socklen_t *);
	ssize_t (*recvmsg)(int, struct msghdr *, int);
	int (*recvmmsg)(int, struct mmsghdr *, unsigned int, int, struct timespec *);
	ssize_t (*read)(int, void *, size_t);
	ssize_t (*write)(int, const void *, size_t);
	ssize_t (*readv)(int, const struct iovec *, int);
	ssize_t (*writev)(int, const struct iovec *, int);
	ssize_t (*sendfile)(int, int, off_t *, size_t);
	int (*close)(int);
	int (*shutdown)(int, int);
	int (*fcntl)(int, int, ...);
	int (*ioctl)(int, unsigned long, ...);
	int (*dup)(int);
	int (*dup2)(int, int);
	int (*dup3)(int, int, int);
	int (*fstat)(int, struct stat *);
	int (*poll)(struct pollfd *, nfds_t, int);
	int (*ppoll)(struct pollfd *, nfds_t, const struct timespec *, const sigset_t *);
	int (*select)(int, fd_set *, fd_set *, fd_set *, struct timeval *);
	int (*pselect)(int, fd_set *, fd_set *, fd_set *, const struct timespec *,
		       const sigset_t *);
	int (*epoll_create)(int);
	int (*epoll_create1)(int);
	int (*epoll_ctl)(int, int, int, struct epoll_event *);
	int (*epoll_wait)(int, struct epoll_event *, int, int);
	int (*epoll_pwait)(int, struct epoll_event *, int, int, const sigset_t *);
};

extern struct ns_real ns_real_fns;

/* Resolve every pointer now (the constructor calls it; harmless to repeat). */
void ns_real_init(void);

/*
 * Resolve one symbol with dlsym(RTLD_NEXT).  Never returns NULL: a missing
 * libc symbol is a broken installation, reported on stderr before abort().
 */
void *ns_real_resolve(const char *name);

/* REAL(name): the real function @name, resolved on first use. */
#define REAL(name) \
	(__extension__({ \
		__typeof__(ns_real_fns.name) _p = \
			__atomic_load_n(&ns_real_fns.name, __ATOMIC_ACQUIRE); \
		if (__builtin_expect(!_p, 0)) { \
			_p = (__typeof__(_p))ns_real_resolve(#name); \
			__atomic_store_n(&ns_real_fns.name, _p, __ATOMIC_RELEASE); \
		} \
		_p; \
	}))

#endif
