/*
 * poll/select for mixed kernel and stack fds (see poll.h).  Client
 * context, any thread; takes no locks of its own.
 *
 * One round: announce interest on every stack socket (client_wait, seq_cst),
 * compute stack readiness, then ask the kernel about everything at once,
 * with a zero timeout if a stack fd is ready already.  The kernel side
 * watches each stack fd's notify eventfd for POLLIN only (the eventfd is
 * always writable, so POLLOUT there would mean nothing).  After the kernel
 * returns, stack readiness is computed again from shared memory; a notify
 * eventfd that woke us for nothing is drained (the protocol of shm.h).
 * Rounds repeat until something is ready or the time is up.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "fdtable.h"
#include "ipc.h"
#include "poll.h"
#include "real.h"
#include "sock.h"

int ns_poll_has_stack(const struct pollfd *fds, nfds_t nfds)
{
	if (ns_fd_count() == 0 || !fds)
		return 0;
	for (nfds_t i = 0; i < nfds; i++)
		if (ns_fd_is_ours(fds[i].fd)) {
			struct ns_file *f = ns_fd_get(fds[i].fd);
			int sock = f && f->kind == NS_FILE_SOCK;

			ns_file_put(f);
			if (sock)
				return 1;
		}
	return 0;
}

int ns_select_has_stack(int nfds, const fd_set *r, const fd_set *w, const fd_set *e)
{
	if (ns_fd_count() == 0)
		return 0;
	for (int fd = 0; fd < nfds && fd < FD_SETSIZE; fd++) {
		if (!((r && FD_ISSET(fd, r)) || (w && FD_ISSET(fd, w)) || (e && FD_ISSET(fd, e))))
			continue;
		if (ns_fd_is_ours(fd)) {
			struct ns_file *f = ns_fd_get(fd);
			int sock = f && f->kind == NS_FILE_SOCK;

			ns_file_put(f);
			if (sock)
				return 1;
		}
	}
	return 0;
}

static struct timespec *ns_ts_from_ns(int64_t ns, struct timespec *ts)
{
	if (ns < 0)
		return NULL;
	ts->tv_sec = ns / 1000000000;
	ts->tv_nsec = ns % 1000000000;
	return ts;
}

/* Readiness of stack socket @s for the requested @events, as poll reports it. */
static short ns_stack_revents(struct ns_sock *s, short events)
{
	unsigned int m = ns_sock_poll(s);

	return (short)(m & ((unsigned int)events | POLLERR | POLLHUP));
}

int ns_poll(struct pollfd *fds, nfds_t nfds, int64_t timeout_ns, const sigset_t *sigmask)
{
	struct ns_sock **socks;
	struct pollfd *kfds;
	int64_t deadline = timeout_ns >= 0 ? ns_now_ns() + timeout_ns : -1;
	struct ns_session *sess = NULL;
	int ret = -1, e = 0;
	nfds_t nk;

	if (nfds > (nfds_t)INT_MAX / 2) {
		errno = EINVAL;
		return -1;
	}
	socks = calloc(nfds + 1, sizeof(*socks));
	kfds = calloc(nfds + 1, sizeof(*kfds));
	if (!socks || !kfds) {
		free(socks);
		free(kfds);
		errno = ENOMEM;
		return -1;
	}
	for (nfds_t i = 0; i < nfds; i++) {
		socks[i] = fds[i].fd >= 0 ? ns_sock_get(fds[i].fd) : NULL;
		if (socks[i] && !sess)
			sess = socks[i]->sess;
	}

	for (;;) {
		int64_t left = -1;
		struct timespec ts;
		int ready = 0, n;

		nk = nfds;
		for (nfds_t i = 0; i < nfds; i++) {
			kfds[i].fd = fds[i].fd;
			kfds[i].events = fds[i].events;
			kfds[i].revents = 0;
			if (!socks[i])
				continue;
			kfds[i].events = POLLIN;
			ns_sock_want(socks[i], NS_WAIT_RX |
				     ((fds[i].events & POLLOUT) ? NS_WAIT_TX : 0));
			if (ns_stack_revents(socks[i], fds[i].events))
				ready++;
		}
		if (sess && sess->fd >= 0) {
			kfds[nk].fd = sess->fd;         /* POLLHUP when the daemon dies */
			kfds[nk].events = 0;
			kfds[nk].revents = 0;
			nk++;
		}
		if (ready)
			left = 0;
		else if (deadline >= 0)
			left = deadline > ns_now_ns() ? deadline - ns_now_ns() : 0;
		n = REAL(ppoll)(kfds, nk, ns_ts_from_ns(left, &ts), sigmask);
		if (n < 0) {
			e = errno;
			break;
		}
		if (nk > nfds && (kfds[nfds].revents & (POLLHUP | POLLERR)))
			ns_session_kill(sess);
		ret = 0;
		for (nfds_t i = 0; i < nfds; i++) {
			if (!socks[i]) {
				fds[i].revents = kfds[i].revents;
			} else if (kfds[i].revents & POLLNVAL) {
				fds[i].revents = POLLNVAL;
			} else {
				fds[i].revents = ns_stack_revents(socks[i], fds[i].events);
				if (!fds[i].revents && (kfds[i].revents & POLLIN))
					fds[i].revents = (short)(ns_sock_drain(socks[i], fds[i].fd) &
						((unsigned int)fds[i].events | POLLERR | POLLHUP));
			}
			if (fds[i].revents)
				ret++;
		}
		if (ret > 0 || left == 0 || (deadline >= 0 && ns_now_ns() >= deadline))
			break;
	}
	for (nfds_t i = 0; i < nfds; i++) {
		if (!socks[i])
			continue;
		if (fds[i].events & POLLOUT)
			atomic_fetch_and(&socks[i]->shm->client_wait, ~(uint32_t)NS_WAIT_TX);
		ns_sock_put(socks[i]);
	}
	free(socks);
	free(kfds);
	if (ret < 0)
		errno = e;
	return ret;
}

int ns_select(int nfds, fd_set *rfds, fd_set *wfds, fd_set *efds, int64_t timeout_ns,
	      const sigset_t *sigmask, struct timeval *update)
{
	struct pollfd *pfds;
	int64_t start = ns_now_ns();
	int n = 0, r, count = 0;

	if (nfds < 0 || nfds > FD_SETSIZE) {
		errno = EINVAL;
		return -1;
	}
	pfds = calloc((size_t)nfds + 1, sizeof(*pfds));
	if (!pfds) {
		errno = ENOMEM;
		return -1;
	}
	for (int fd = 0; fd < nfds; fd++) {
		short ev = 0;

		if (rfds && FD_ISSET(fd, rfds))
			ev |= POLLIN | POLLRDNORM | POLLRDBAND;
		if (wfds && FD_ISSET(fd, wfds))
			ev |= POLLOUT | POLLWRNORM | POLLWRBAND;
		if (efds && FD_ISSET(fd, efds))
			ev |= POLLPRI;
		if (!ev)
			continue;
		pfds[n].fd = fd;
		pfds[n].events = ev;
		n++;
	}
	r = ns_poll(pfds, (nfds_t)n, timeout_ns, sigmask);
	if (r < 0) {
		free(pfds);
		return -1;
	}
	for (int i = 0; i < n; i++)
		if (pfds[i].revents & POLLNVAL) {
			free(pfds);
			errno = EBADF;
			return -1;
		}
	if (rfds)
		FD_ZERO(rfds);
	if (wfds)
		FD_ZERO(wfds);
	if (efds)
		FD_ZERO(efds);
	/* fs/select.c: POLLIN_SET, POLLOUT_SET, POLLEX_SET. */
	for (int i = 0; i < n; i++) {
		short ev = pfds[i].events, rev = pfds[i].revents;

		if ((ev & POLLIN) && (rev & (POLLIN | POLLRDNORM | POLLRDBAND | POLLHUP | POLLERR))) {
			FD_SET(pfds[i].fd, rfds);
			count++;
		}
		if ((ev & POLLOUT) && (rev & (POLLOUT | POLLWRNORM | POLLWRBAND | POLLERR))) {
			FD_SET(pfds[i].fd, wfds);
			count++;
		}
		if ((ev & POLLPRI) && (rev & POLLPRI)) {
			FD_SET(pfds[i].fd, efds);
			count++;
		}
	}
	free(pfds);
	if (update && timeout_ns >= 0) {
		int64_t left = timeout_ns - (ns_now_ns() - start);

		if (left < 0)
			left = 0;
		update->tv_sec = left / 1000000000;
		update->tv_usec = (left % 1000000000) / 1000;
	}
	return count;
}
