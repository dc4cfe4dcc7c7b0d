/*
 * epoll with stack fds.  The epoll fd is always a real kernel epoll; a stack
 * fd is registered there as its notify eventfd (same fd number) for EPOLLIN,
 * while the library keeps the application's interest (events, data) per
 * (epoll, fd) in a struct ns_epoll attached to the epoll fd in the fd table
 * (created when the first stack fd is added).  epoll_wait reports stack fds
 * from shared memory: level-triggered by default, EPOLLET as "new data or
 * room since the last report", EPOLLONESHOT until EPOLL_CTL_MOD.  Only
 * sockets that changed are looked at, so the cost of a wait does not grow
 * with idle sockets.  Client context, any thread; an ns_epoll's entries
 * are under its mutex.
 */
#ifndef NS_LIBCLIENT_EPOLL_H
#define NS_LIBCLIENT_EPOLL_H

#include <signal.h>
#include <sys/epoll.h>

struct ns_sock;

/* epoll_ctl() when @fd or @epfd is ours.  0 or -errno. */
int ns_epoll_ctl(int epfd, int op, int fd, struct epoll_event *ev);

/* epoll_pwait() on an epoll fd that has stack fds.  Count or -errno. */
int ns_epoll_wait(int epfd, struct epoll_event *events, int maxevents, int timeout,
		  const sigset_t *sigmask);

/*
 * Descriptor @fd of socket @s is being closed (close, dup2 over it, a
 * bypass move): drop it from every epoll instance, as the kernel drops a
 * closed file.  Call without the fd table lock held.
 */
void ns_epoll_forget(int fd, struct ns_sock *s);

/* fork(): the instance list's lock (taken before the fd table's). */
void ns_epoll_atfork_prepare(void);
void ns_epoll_atfork_parent(void);
void ns_epoll_atfork_child(void);

#endif
