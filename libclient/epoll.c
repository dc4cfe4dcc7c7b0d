/*
 * epoll over kernel and stack fds (see epoll.h).  Client context, any
 * thread.  Locks: an ns_epoll's mutex, held while scanning its entries and
 * never across a sleep or a daemon request.
 *
 * Kernel registrations of stack fds carry data.u64 = NS_EP_TAG | fd, so a
 * kernel event is recognisable as "this stack fd's eventfd fired".  Such a
 * wake-up makes the next scan look at shared memory; if the socket turns
 * out not ready, its eventfd is drained (shm.h protocol) so the
 * level-triggered kernel registration stops firing.
 *
 * An EPOLLET item is registered edge-triggered (tag NS_EP_TAG_ET): the
 * eventfd stays readable while the socket is ready (for level-triggered
 * observers), which a level-triggered registration would report over and
 * over although the item has nothing new, spinning epoll_wait (a writable
 * idle TCP connection with EPOLLOUT|EPOLLET, as nginx registers them).
 * Edge-triggered, the kernel reports each write of the eventfd once; the
 * wake-up then only clears notify_pending, so that the daemon writes (a
 * new edge) at the socket's next change.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>

#include "epoll.h"
#include "fdtable.h"
#include "real.h"
#include "sock.h"

#define NS_EP_TAG 0x4e53455000000000ull         /* "NSEP" in the high half */
#define NS_EP_TAG_ET 0x4e53455400000000ull      /* "NSET": an EPOLLET item */
#define NS_EP_TAG_MASK 0xffffffff00000000ull

/* The kernel registration of stack fd @fd for an item with @events. */
static struct epoll_event ns_epoll_kev(int fd, uint32_t events)
{
	struct epoll_event kev;

	kev.events = EPOLLIN | (events & EPOLLET);
	kev.data.u64 = ((events & EPOLLET) ? NS_EP_TAG_ET : NS_EP_TAG) | (uint32_t)fd;
	return kev;
}

struct ns_epoll_item {
	int fd;
	struct ns_sock *s;              /* a reference */
	uint32_t events;                /* the application's interest */
	epoll_data_t data;
	uint32_t last;                  /* EPOLLET: mask at the last report */
	uint64_t last_rx_prod, last_tx_cons;
	uint32_t last_accept_q;         /* listener: a new connection is a new edge */
	int disabled;                   /* EPOLLONESHOT fired */
};

struct ns_epoll {
	struct ns_file file;
	pthread_mutex_t lock;
	struct ns_epoll_item *items;
	size_t n, cap;
};

static void ns_epoll_release(struct ns_file *f)
{
	struct ns_epoll *ep = (struct ns_epoll *)f;

	for (size_t i = 0; i < ep->n; i++)
		ns_sock_put(ep->items[i].s);
	free(ep->items);
	pthread_mutex_destroy(&ep->lock);
	free(ep);
}

/* The ns_epoll of @epfd (a reference), creating it if @create. */
static struct ns_epoll *ns_epoll_get(int epfd, bool create)
{
	struct ns_file *f = ns_fd_get(epfd);
	struct ns_epoll *ep;

	if (f) {
		if (f->kind == NS_FILE_EPOLL)
			return (struct ns_epoll *)f;
		ns_file_put(f);
		return NULL;
	}
	if (!create)
		return NULL;
	ep = calloc(1, sizeof(*ep));
	if (!ep)
		return NULL;
	ns_file_init(&ep->file, NS_FILE_EPOLL, ns_epoll_release);
	pthread_mutex_init(&ep->lock, NULL);
	if (ns_fd_install(epfd, &ep->file) < 0) {
		ns_file_put(&ep->file);
		return NULL;
	}
	return ep;      /* the creation reference is the caller's */
}

static struct ns_epoll_item *ns_epoll_find(struct ns_epoll *ep, int fd)
{
	for (size_t i = 0; i < ep->n; i++)
		if (ep->items[i].fd == fd)
			return &ep->items[i];
	return NULL;
}

static void ns_epoll_drop(struct ns_epoll *ep, struct ns_epoll_item *it)
{
	ns_sock_put(it->s);
	*it = ep->items[--ep->n];
}

int ns_epoll_ctl(int epfd, int op, int fd, struct epoll_event *ev)
{
	struct ns_sock *s = ns_sock_get(fd);
	struct ns_epoll *ep;
	struct ns_epoll_item *it;
	struct epoll_event kev;
	int err = 0;

	if (!s)
		return REAL(epoll_ctl)(epfd, op, fd, ev) < 0 ? -errno : 0;
	if (op != EPOLL_CTL_DEL && !ev) {
		ns_sock_put(s);
		return -EFAULT;
	}
	ep = ns_epoll_get(epfd, op == EPOLL_CTL_ADD);
	if (!ep) {
		/* Not an epoll we know: let the kernel produce its error (EBADF, EINVAL, ENOENT). */
		kev.events = EPOLLIN;
		kev.data.u64 = NS_EP_TAG | (uint32_t)fd;
		err = REAL(epoll_ctl)(epfd, op, fd, &kev) < 0 ? -errno : -ENOENT;
		ns_sock_put(s);
		return err;
	}
	pthread_mutex_lock(&ep->lock);
	it = ns_epoll_find(ep, fd);
	if (it && it->s != s) {
		/* The fd number was closed and reused: the old registration is gone. */
		ns_epoll_drop(ep, it);
		it = NULL;
	}
	switch (op) {
	case EPOLL_CTL_ADD:
		if (it) {
			err = -EEXIST;
			break;
		}
		kev = ns_epoll_kev(fd, ev->events);
		if (REAL(epoll_ctl)(epfd, EPOLL_CTL_ADD, fd, &kev) < 0) {
			err = -errno;
			break;
		}
		if (ep->n == ep->cap) {
			size_t ncap = ep->cap ? ep->cap * 2 : 8;
			struct ns_epoll_item *ni = realloc(ep->items, ncap * sizeof(*ni));

			if (!ni) {
				REAL(epoll_ctl)(epfd, EPOLL_CTL_DEL, fd, &kev);
				err = -ENOMEM;
				break;
			}
			ep->items = ni;
			ep->cap = ncap;
		}
		it = &ep->items[ep->n++];
		memset(it, 0, sizeof(*it));
		it->fd = fd;
		it->s = s;
		ns_file_hold(&s->file);
		it->events = ev->events;
		it->data = ev->data;
		/* Keep the eventfd in step for nested pollers of this epoll fd. */
		ns_sock_want(s, NS_WAIT_RX);
		ns_sock_resignal(s, fd);
		break;
	case EPOLL_CTL_MOD:
		if (!it) {
			err = -ENOENT;
			break;
		}
		if ((ev->events ^ it->events) & EPOLLET) {
			kev = ns_epoll_kev(fd, ev->events);
			if (REAL(epoll_ctl)(epfd, EPOLL_CTL_MOD, fd, &kev) < 0) {
				err = -errno;
				break;
			}
		}
		it->events = ev->events;
		it->data = ev->data;
		it->disabled = 0;
		it->last = 0;
		break;
	case EPOLL_CTL_DEL:
		if (!it) {
			err = -ENOENT;
			break;
		}
		REAL(epoll_ctl)(epfd, EPOLL_CTL_DEL, fd, NULL);
		ns_epoll_drop(ep, it);
		break;
	default:
		err = -EINVAL;
	}
	pthread_mutex_unlock(&ep->lock);
	ns_file_put(&ep->file);
	ns_sock_put(s);
	return err;
}

/* Readiness of an item as epoll bits the application asked for (+ ERR/HUP). */
static uint32_t ns_epoll_item_mask(struct ns_epoll_item *it)
{
	uint32_t m = ns_sock_poll(it->s);        /* EPOLLx == POLLx on Linux */

	return m & (it->events | EPOLLERR | EPOLLHUP);
}

/* Scan stack items into @out (at most @max); returns how many were reported. */
static int ns_epoll_scan(struct ns_epoll *ep, struct epoll_event *out, int max)
{
	int n = 0;

	pthread_mutex_lock(&ep->lock);
	for (size_t i = 0; i < ep->n && n < max; i++) {
		struct ns_epoll_item *it = &ep->items[i];
		struct ns_sock *cur = ns_sock_get(it->fd);
		uint32_t m;

		if (cur != it->s) {
			/* Closed (and maybe reused): the kernel forgot it too. */
			if (cur)
				ns_sock_put(cur);
			ns_epoll_drop(ep, it);
			i--;
			continue;
		}
		ns_sock_put(cur);
		if (it->disabled)
			continue;
		if (it->events & EPOLLOUT)
			ns_sock_want(it->s, NS_WAIT_RX | NS_WAIT_TX);
		else
			ns_sock_want(it->s, NS_WAIT_RX);
		m = ns_epoll_item_mask(it);
		if (!m) {
			it->last = 0;
			continue;
		}
		if (it->events & EPOLLET) {
			uint64_t rxp = ns_ring_load_prod(&it->s->rx);
			uint64_t txc = ns_ring_load_cons(&it->s->tx);
			uint32_t aq = atomic_load_explicit(&it->s->shm->accept_q,
							   memory_order_relaxed);
			uint32_t fresh = m & ~it->last;

			if ((m & EPOLLIN) && (rxp != it->last_rx_prod || aq > it->last_accept_q))
				fresh |= EPOLLIN;
			it->last_accept_q = aq;
			if ((m & EPOLLOUT) && txc != it->last_tx_cons && (it->last & EPOLLOUT) == 0)
				fresh |= EPOLLOUT;
			it->last = m;
			it->last_rx_prod = rxp;
			it->last_tx_cons = txc;
			if (!fresh)
				continue;
		}
		out[n].events = m;
		out[n].data = it->data;
		n++;
		if (it->events & EPOLLONESHOT)
			it->disabled = 1;
	}
	pthread_mutex_unlock(&ep->lock);
	return n;
}

/*
 * A kernel event for stack fd @fd.  Level-triggered: drain its eventfd if
 * nothing is ready.  Edge-triggered: let the daemon signal the next change.
 */
static void ns_epoll_kick(int fd, bool et)
{
	struct ns_sock *s = ns_sock_get(fd);

	if (!s)
		return;
	if (et)
		atomic_exchange_explicit(&s->shm->notify_pending, 0, memory_order_seq_cst);
	else if (!(ns_sock_poll(s) & (POLLIN | POLLERR | POLLHUP)))
		ns_sock_drain(s, fd);
	ns_sock_put(s);
}

int ns_epoll_wait(int epfd, struct epoll_event *events, int maxevents, int timeout,
		  const sigset_t *sigmask)
{
	struct ns_epoll *ep = ns_epoll_get(epfd, false);
	int64_t deadline = timeout >= 0 ? ns_now_ns() + (int64_t)timeout * 1000000 : -1;
	struct epoll_event *kev;
	int ret = 0;

	if (!ep) {
		ret = REAL(epoll_pwait)(epfd, events, maxevents, timeout, sigmask);
		return ret < 0 ? -errno : ret;
	}
	if (maxevents <= 0 || maxevents > INT_MAX / (int)sizeof(*events)) {
		ns_file_put(&ep->file);
		return -EINVAL;
	}
	kev = malloc((size_t)maxevents * sizeof(*kev));
	if (!kev) {
		ns_file_put(&ep->file);
		return -ENOMEM;
	}
	for (;;) {
		int n = ns_epoll_scan(ep, events, maxevents);
		int ms, k;

		if (n >= maxevents) {
			ret = n;
			break;
		}
		if (n > 0) {
			ms = 0;
		} else if (deadline < 0) {
			ms = -1;
		} else {
			int64_t left = deadline - ns_now_ns();

			ms = left <= 0 ? 0 : (int)((left + 999999) / 1000000);
		}
		k = REAL(epoll_pwait)(epfd, kev, maxevents - n, ms, sigmask);
		if (k < 0) {
			ret = n > 0 ? n : -errno;
			break;
		}
		for (int i = 0; i < k; i++) {
			int sfd = (int)(uint32_t)kev[i].data.u64;
			uint64_t tag = kev[i].data.u64 & NS_EP_TAG_MASK;

			if ((tag == NS_EP_TAG || tag == NS_EP_TAG_ET) && ns_fd_is_ours(sfd)) {
				/*
				 * An edge is used up now, whatever the scan found:
				 * the next change must write the eventfd again.
				 */
				if (tag == NS_EP_TAG_ET)
					ns_epoll_kick(sfd, true);
				else if (n == 0)
					ns_epoll_kick(sfd, false);
				continue;
			}
			events[n++] = kev[i];
		}
		if (n > 0) {
			ret = n;
			break;
		}
		/* Only stack wake-ups: rescan; stop when the time is up. */
		if (k == 0 && ms == 0) {
			ret = 0;
			break;
		}
		if (deadline >= 0 && ns_now_ns() >= deadline) {
			ret = ns_epoll_scan(ep, events, maxevents);
			break;
		}
	}
	free(kev);
	ns_file_put(&ep->file);
	return ret;
}
