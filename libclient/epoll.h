/*
 * epoll with stack fds.  The epoll fd is always a real kernel epoll; a stack
 * fd is registered there as its notify eventfd (same fd number) for EPOLLIN,
 * while the library keeps the application's interest (events, data) per
 * (epoll, fd) in a struct ns_epoll attached to the epoll fd in the fd table
 * (created when the first stack fd is added).  epoll_wait reports stack fds
 * from shared memory: level-triggered by default, EPOLLET as "new data or
 * room since the last report", EPOLLONESHOT until EPOLL_CTL_MOD.
 * Client context, any thread; an ns_epoll's entries are under its mutex.
 */
#ifndef NS_LIBCLIENT_EPOLL_H
#define NS_LIBCLIENT_EPOLL_H

#include <signal.h>
#include <sys/epoll.h>

/* epoll_ctl() when @fd or @epfd is ours.  0 or -errno. */
int ns_epoll_ctl(int epfd, int op, int fd, struct epoll_event *ev);

/* epoll_pwait() on an epoll fd that has stack fds.  Count or -errno. */
int ns_epoll_wait(int epfd, struct epoll_event *events, int maxevents, int timeout,
		  const sigset_t *sigmask);

#endif
