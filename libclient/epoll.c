/*
 * epoll over kernel and stack fds (see epoll.h).  Client context, any
 * thread.  Locks: the list of instances (ns_ep_list_lock), then an
 * ns_epoll's mutex; the instance's mutex is held while it looks at its
 * items and never across a sleep or a daemon request, and socket
 * references are dropped only after it is released.
 *
 * The application's epoll fd stays a kernel epoll; a stack fd in it is
 * its notify eventfd, registered with data.u64 = NS_EP_TAG | fd, so a
 * kernel event is recognisable as "this stack fd's eventfd fired".  The
 * library keeps the application's interest per stack fd (an item, in a
 * hash by fd) and reports from shared memory.
 *
 * Only items that may have something to report are looked at (the check
 * queue): new or modified ones, those whose eventfd fired, and
 * level-triggered ones that were ready at the last look.  An idle socket
 * costs nothing per epoll_wait, so a server with 10,000 connections pays
 * for the busy ones only.  That is sound because of the wake-up protocol
 * of shm.h: an item leaves the queue only after notify_pending was
 * cleared (before its state was read), so the daemon writes the eventfd
 * at the socket's next change, which queues the item again.
 *
 * Level-triggered items are registered level-triggered: their eventfd
 * stays readable while the socket is ready, which keeps the epoll fd
 * readable for a poller of the epoll fd itself (nested in poll(), another
 * epoll).  EPOLLET items are registered edge-triggered, so a ready item
 * with nothing new does not make epoll_wait spin (a writable idle TCP
 * connection with EPOLLOUT|EPOLLET, as nginx registers them).  An
 * EPOLLONESHOT item that fired is disabled in the kernel too.
 *
 * A closed stack fd disappears from the kernel epoll by itself; its item
 * is dropped by ns_epoll_forget(), which close() and dup2() call, because
 * an idle item is never looked at and would keep the socket open.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/queue.h>

#include "epoll.h"
#include "fdtable.h"
#include "real.h"
#include "sock.h"

#define NS_EP_TAG 0x4e53455000000000ull         /* "NSEP" in the high half */
#define NS_EP_TAG_MASK 0xffffffff00000000ull
#define NS_EP_MIN_BUCKETS 16u

struct ns_epoll_item {
	int fd;
	struct ns_sock *s;              /* a reference */
	uint32_t events;                /* the application's interest */
	epoll_data_t data;
	uint32_t last;                  /* EPOLLET: mask at the last report */
	uint64_t last_rx_prod, last_tx_cons;
	uint32_t last_accept_q;         /* listener: a new connection is a new edge */
	bool disabled;                  /* EPOLLONESHOT fired */
	bool queued;                    /* on the check queue */
	struct ns_epoll_item *hnext;    /* hash chain; the free list when dropped */
	TAILQ_ENTRY(ns_epoll_item) qe;
};

struct ns_epoll {
	struct ns_file file;
	pthread_mutex_t lock;
	struct ns_epoll_item **buckets; /* by fd; nbuckets is a power of two */
	size_t nbuckets, n;
	TAILQ_HEAD(, ns_epoll_item) checkq;
	size_t nqueued;
	LIST_ENTRY(ns_epoll) entry;     /* ns_ep_list */
};

/* Every instance, for ns_epoll_forget(); a plain mutex, reset after fork. */
static pthread_mutex_t ns_ep_list_lock = PTHREAD_MUTEX_INITIALIZER;
static LIST_HEAD(, ns_epoll) ns_ep_list = LIST_HEAD_INITIALIZER(ns_ep_list);

/* The kernel registration of stack fd @fd for an item with @events. */
static struct epoll_event ns_epoll_kev(int fd, uint32_t events)
{
	struct epoll_event kev;

	kev.events = EPOLLIN | (events & EPOLLET);
	kev.data.u64 = NS_EP_TAG | (uint32_t)fd;
	return kev;
}

/* ---- items: the hash and the check queue (under ep->lock) ------------------------ */

static size_t ns_epoll_hash(const struct ns_epoll *ep, int fd)
{
	return ((uint32_t)fd * 2654435761u) & (ep->nbuckets - 1);
}

static struct ns_epoll_item *ns_epoll_find(struct ns_epoll *ep, int fd)
{
	struct ns_epoll_item *it;

	for (it = ep->buckets[ns_epoll_hash(ep, fd)]; it; it = it->hnext)
		if (it->fd == fd)
			return it;
	return NULL;
}

/* Double the buckets when chains get long; failure only costs speed. */
static void ns_epoll_grow(struct ns_epoll *ep)
{
	size_t old_n = ep->nbuckets;
	struct ns_epoll_item **old = ep->buckets, **nb;

	if (ep->n < 2 * old_n)
		return;
	nb = calloc(2 * old_n, sizeof(*nb));
	if (!nb)
		return;
	ep->buckets = nb;
	ep->nbuckets = 2 * old_n;
	for (size_t i = 0; i < old_n; i++) {
		while (old[i]) {
			struct ns_epoll_item *it = old[i];
			size_t h = ns_epoll_hash(ep, it->fd);

			old[i] = it->hnext;
			it->hnext = nb[h];
			nb[h] = it;
		}
	}
	free(old);
}

static void ns_epoll_queue(struct ns_epoll *ep, struct ns_epoll_item *it)
{
	if (it->queued)
		return;
	TAILQ_INSERT_TAIL(&ep->checkq, it, qe);
	it->queued = true;
	ep->nqueued++;
}

static void ns_epoll_dequeue(struct ns_epoll *ep, struct ns_epoll_item *it)
{
	if (!it->queued)
		return;
	TAILQ_REMOVE(&ep->checkq, it, qe);
	it->queued = false;
	ep->nqueued--;
}

/*
 * Take @it out of @ep and push it on *@dead; the caller frees the dead
 * items (ns_epoll_free_dead) once ep->lock is released, because the last
 * socket reference may talk to the daemon.
 */
static void ns_epoll_unlink(struct ns_epoll *ep, struct ns_epoll_item *it,
			    struct ns_epoll_item **dead)
{
	struct ns_epoll_item **pp = &ep->buckets[ns_epoll_hash(ep, it->fd)];

	while (*pp != it)
		pp = &(*pp)->hnext;
	*pp = it->hnext;
	ns_epoll_dequeue(ep, it);
	ep->n--;
	it->hnext = *dead;
	*dead = it;
}

static void ns_epoll_free_dead(struct ns_epoll_item *dead)
{
	while (dead) {
		struct ns_epoll_item *next = dead->hnext;

		ns_sock_put(dead->s);
		free(dead);
		dead = next;
	}
}

/* Wake-ups the item needs from the daemon (client_wait is sticky). */
static void ns_epoll_want(struct ns_epoll_item *it)
{
	ns_sock_want(it->s, NS_WAIT_RX | ((it->events & EPOLLOUT) ? NS_WAIT_TX : 0));
}

/* ---- instances --------------------------------------------------------------------- */

static void ns_epoll_release(struct ns_file *f)
{
	struct ns_epoll *ep = (struct ns_epoll *)f;
	struct ns_epoll_item *dead = NULL;

	pthread_mutex_lock(&ns_ep_list_lock);
	LIST_REMOVE(ep, entry);
	pthread_mutex_unlock(&ns_ep_list_lock);
	for (size_t i = 0; i < ep->nbuckets; i++)
		while (ep->buckets[i])
			ns_epoll_unlink(ep, ep->buckets[i], &dead);
	ns_epoll_free_dead(dead);
	free(ep->buckets);
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
	ep->buckets = calloc(NS_EP_MIN_BUCKETS, sizeof(*ep->buckets));
	if (!ep->buckets) {
		free(ep);
		return NULL;
	}
	ep->nbuckets = NS_EP_MIN_BUCKETS;
	TAILQ_INIT(&ep->checkq);
	ns_file_init(&ep->file, NS_FILE_EPOLL, ns_epoll_release);
	pthread_mutex_init(&ep->lock, NULL);
	pthread_mutex_lock(&ns_ep_list_lock);
	LIST_INSERT_HEAD(&ns_ep_list, ep, entry);
	pthread_mutex_unlock(&ns_ep_list_lock);
	if (ns_fd_install(epfd, &ep->file) < 0) {
		ns_file_put(&ep->file);
		return NULL;
	}
	return ep;      /* the creation reference is the caller's */
}

void ns_epoll_forget(int fd, struct ns_sock *s)
{
	struct ns_epoll_item *dead = NULL;
	struct ns_epoll *ep;

	/* Most sockets never were in an epoll set: no lock for them. */
	if (!__atomic_load_n(&s->epolled, __ATOMIC_ACQUIRE))
		return;
	pthread_mutex_lock(&ns_ep_list_lock);
	LIST_FOREACH(ep, &ns_ep_list, entry) {
		struct ns_epoll_item *it;

		pthread_mutex_lock(&ep->lock);
		it = ns_epoll_find(ep, fd);
		if (it && it->s == s)
			ns_epoll_unlink(ep, it, &dead);
		pthread_mutex_unlock(&ep->lock);
	}
	pthread_mutex_unlock(&ns_ep_list_lock);
	ns_epoll_free_dead(dead);
}

void ns_epoll_atfork_prepare(void)
{
	pthread_mutex_lock(&ns_ep_list_lock);
}

void ns_epoll_atfork_parent(void)
{
	pthread_mutex_unlock(&ns_ep_list_lock);
}

void ns_epoll_atfork_child(void)
{
	pthread_mutex_init(&ns_ep_list_lock, NULL);
}

/* ---- epoll_ctl ------------------------------------------------------------------------ */

int ns_epoll_ctl(int epfd, int op, int fd, struct epoll_event *ev)
{
	struct ns_sock *s = ns_sock_get(fd);
	struct ns_epoll_item *it, *dead = NULL;
	struct ns_epoll *ep;
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
		kev = ns_epoll_kev(fd, 0);
		err = REAL(epoll_ctl)(epfd, op, fd, &kev) < 0 ? -errno : -ENOENT;
		ns_sock_put(s);
		return err;
	}
	pthread_mutex_lock(&ep->lock);
	it = ns_epoll_find(ep, fd);
	if (it && it->s != s) {
		/* The fd number was closed and reused: the old registration is gone. */
		ns_epoll_unlink(ep, it, &dead);
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
		it = calloc(1, sizeof(*it));
		if (!it) {
			REAL(epoll_ctl)(epfd, EPOLL_CTL_DEL, fd, &kev);
			err = -ENOMEM;
			break;
		}
		it->fd = fd;
		it->s = s;
		ns_file_hold(&s->file);
		__atomic_store_n(&s->epolled, 1, __ATOMIC_RELEASE);
		it->events = ev->events;
		it->data = ev->data;
		it->hnext = ep->buckets[ns_epoll_hash(ep, fd)];
		ep->buckets[ns_epoll_hash(ep, fd)] = it;
		ep->n++;
		ns_epoll_grow(ep);
		ns_epoll_queue(ep, it);
		ns_epoll_want(it);
		/* Keep the eventfd in step for nested pollers of this epoll fd. */
		ns_sock_resignal(s, fd);
		break;
	case EPOLL_CTL_MOD:
		if (!it) {
			err = -ENOENT;
			break;
		}
		if (((ev->events ^ it->events) & EPOLLET) || it->disabled) {
			kev = ns_epoll_kev(fd, ev->events);
			if (REAL(epoll_ctl)(epfd, EPOLL_CTL_MOD, fd, &kev) < 0) {
				err = -errno;
				break;
			}
		}
		it->events = ev->events;
		it->data = ev->data;
		it->disabled = false;
		it->last = 0;
		ns_epoll_queue(ep, it);
		ns_epoll_want(it);
		ns_sock_resignal(s, fd);
		break;
	case EPOLL_CTL_DEL:
		if (!it) {
			err = -ENOENT;
			break;
		}
		REAL(epoll_ctl)(epfd, EPOLL_CTL_DEL, fd, NULL);
		ns_epoll_unlink(ep, it, &dead);
		break;
	default:
		err = -EINVAL;
	}
	pthread_mutex_unlock(&ep->lock);
	ns_epoll_free_dead(dead);
	ns_file_put(&ep->file);
	ns_sock_put(s);
	return err;
}

/* ---- epoll_wait -------------------------------------------------------------------------- */

/* Readiness of an item as epoll bits the application asked for (+ ERR/HUP). */
static uint32_t ns_epoll_item_mask(struct ns_epoll_item *it)
{
	uint32_t m = ns_sock_poll(it->s);        /* EPOLLx == POLLx on Linux */

	return m & (it->events | EPOLLERR | EPOLLHUP);
}

/*
 * EPOLLET: report only what is new since the last report: bits that were
 * not there, data that arrived (rx.prod moved), a new connection
 * (accept_q grew), room that came back.
 */
static bool ns_epoll_fresh(struct ns_epoll_item *it, uint32_t m)
{
	uint64_t rxp = ns_ring_load_prod(&it->s->rx);
	uint64_t txc = ns_ring_load_cons(&it->s->tx);
	uint32_t aq = atomic_load_explicit(&it->s->shm->accept_q, memory_order_relaxed);
	uint32_t fresh = m & ~it->last;

	if ((m & EPOLLIN) && (rxp != it->last_rx_prod || aq > it->last_accept_q))
		fresh |= EPOLLIN;
	if ((m & EPOLLOUT) && txc != it->last_tx_cons && (it->last & EPOLLOUT) == 0)
		fresh |= EPOLLOUT;
	it->last = m;
	it->last_rx_prod = rxp;
	it->last_tx_cons = txc;
	it->last_accept_q = aq;
	return fresh != 0;
}

/*
 * Look at the queued items once each (at most until @max are reported)
 * and report the ready ones into @out; returns how many.  Level-triggered
 * items that are ready stay queued (at the tail, for fairness).
 */
static int ns_epoll_scan(struct ns_epoll *ep, int epfd, struct epoll_event *out, int max)
{
	struct ns_epoll_item *dead = NULL;
	size_t todo;
	int n = 0;

	pthread_mutex_lock(&ep->lock);
	for (todo = ep->nqueued; todo && n < max; todo--) {
		struct ns_epoll_item *it = TAILQ_FIRST(&ep->checkq);
		struct ns_sock *cur = ns_sock_get(it->fd);
		bool et = it->events & EPOLLET;
		uint32_t m;

		ns_epoll_dequeue(ep, it);
		if (cur != it->s) {
			/* Closed (and maybe reused): the kernel forgot it too. */
			if (cur)
				ns_sock_put(cur);
			ns_epoll_unlink(ep, it, &dead);
			continue;
		}
		ns_sock_put(cur);
		if (it->disabled)
			continue;
		ns_epoll_want(it);
		/*
		 * An EPOLLET item leaves the queue even when ready: clear
		 * notify_pending before looking, so that a change after the
		 * look writes the eventfd (a new edge).  A level-triggered one
		 * stays queued while ready and is drained when it is not.
		 */
		if (et)
			atomic_exchange_explicit(&it->s->shm->notify_pending, 0,
						 memory_order_seq_cst);
		m = ns_epoll_item_mask(it);
		if (!m) {
			it->last = 0;
			/* Level-triggered registration: stop the eventfd firing. */
			if (!et && !(ns_sock_poll(it->s) & (POLLIN | POLLERR | POLLHUP)))
				ns_sock_drain(it->s, it->fd);
			continue;
		}
		if (et && !ns_epoll_fresh(it, m))
			continue;
		out[n].events = m;
		out[n].data = it->data;
		n++;
		if (it->events & EPOLLONESHOT) {
			struct epoll_event off = { .events = 0, .data.u64 = NS_EP_TAG | (uint32_t)it->fd };

			it->disabled = true;
			REAL(epoll_ctl)(epfd, EPOLL_CTL_MOD, it->fd, &off);
		} else if (!et) {
			ns_epoll_queue(ep, it);
		}
	}
	pthread_mutex_unlock(&ep->lock);
	ns_epoll_free_dead(dead);
	return n;
}

/*
 * A kernel event that is a stack fd's eventfd: ours, or one the
 * application closed while another copy of its eventfd lives on (a forked
 * process keeps the registration alive).  Never hand our tag to the
 * application as its epoll_data.
 */
static bool ns_epoll_is_stack_event(const struct epoll_event *e)
{
	return (e->data.u64 & NS_EP_TAG_MASK) == NS_EP_TAG;
}

/*
 * Sort the @k kernel events: stack fds' queue their items for a look, the
 * application's own are appended to @out at *@n.  Returns the stack ones.
 */
static int ns_epoll_sort_events(struct ns_epoll *ep, const struct epoll_event *kev, int k,
				struct epoll_event *out, int *n)
{
	int stack = 0;

	pthread_mutex_lock(&ep->lock);
	for (int i = 0; i < k; i++) {
		struct ns_epoll_item *it;

		if (!ns_epoll_is_stack_event(&kev[i])) {
			out[(*n)++] = kev[i];
			continue;
		}
		stack++;
		it = ns_epoll_find(ep, (int)(uint32_t)kev[i].data.u64);
		if (it && !it->disabled)
			ns_epoll_queue(ep, it);
	}
	pthread_mutex_unlock(&ep->lock);
	return stack;
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
		int n = ns_epoll_scan(ep, epfd, events, maxevents);
		int ms, k, stack;

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
		stack = ns_epoll_sort_events(ep, kev, k, events, &n);
		if (n > 0) {
			ret = n;
			break;
		}
		/* Only stack wake-ups: look at them; stop when the time is up. */
		if (!stack && ms == 0) {
			ret = 0;
			break;
		}
		if (deadline >= 0 && ns_now_ns() >= deadline) {
			ret = ns_epoll_scan(ep, epfd, events, maxevents);
			break;
		}
	}
	free(kev);
	ns_file_put(&ep->file);
	return ret;
}
