/*
 * poll(), ppoll(), select() and pselect() over sets that mix kernel fds
 * and stack fds.  Stack fds take their readiness from shared memory; the
 * kernel sleep watches their notify eventfds (POLLIN) and the daemon
 * connection.  Sets without stack fds go straight to the C library.
 * Client context, any thread.
 */
#ifndef NS_LIBCLIENT_POLL_H
#define NS_LIBCLIENT_POLL_H

#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <sys/select.h>
#include <time.h>

/*
 * ppoll() semantics with @timeout_ns (-1: forever) and @sigmask (may be
 * NULL).  Returns the count of ready entries, or -1 with errno set.
 */
int ns_poll(struct pollfd *fds, nfds_t nfds, int64_t timeout_ns, const sigset_t *sigmask);

/* pselect() semantics; @timeout updated with the time left when @update. */
int ns_select(int nfds, fd_set *rfds, fd_set *wfds, fd_set *efds, int64_t timeout_ns,
	      const sigset_t *sigmask, struct timeval *update);

/* True if any of the fds in @fds (or the sets) is a stack fd. */
int ns_poll_has_stack(const struct pollfd *fds, nfds_t nfds);
int ns_select_has_stack(int nfds, const fd_set *r, const fd_set *w, const fd_set *e);

#endif
