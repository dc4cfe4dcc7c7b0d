/*
 * Worker threads: the softirq engine (do_softirq, net_rx_action), NAPI
 * scheduling, the RPS backlog (enqueue_to_backlog, process_backlog) and
 * cross-thread calls.  See softnet.h for the model.
 *
 * Context: each function says which thread may call it.  Locks: only
 * input_lock (RPS hand-off) and call_lock (control calls), both held for a
 * few instructions and never on the single-worker fast path.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/debug.h"
#include "core/dev.h"
#include "core/gro.h"
#include "core/netdev.h"
#include "core/sch_generic.h"
#include "core/softnet.h"
#include "core/sysctl.h"
#include "core/trace.h"

int nr_workers;
static struct softnet_data *workers[NS_MAX_WORKERS];
static _Thread_local struct softnet_data *this_sd;
static bool started;

/* epoll user data: either an irq or the IPI (NULL). */
#define EPOLL_TAG_IPI ((void *)0)

static int process_backlog(struct napi_struct *napi, int quota);

struct softnet_data *softnet_get(int cpu)
{
	if (cpu < 0 || cpu >= nr_workers)
		return NULL;
	return workers[cpu];
}

struct softnet_data *this_softnet(void)
{
	return this_sd;
}

int smp_processor_id(void)
{
	return this_sd ? this_sd->cpu : -1;
}

static void softnet_free_one(struct softnet_data *sd)
{
	if (!sd)
		return;
	if (sd->epfd >= 0)
		close(sd->epfd);
	if (sd->ipi_fd >= 0)
		close(sd->ipi_fd);
	pthread_mutex_destroy(&sd->input_lock);
	pthread_mutex_destroy(&sd->call_lock);
	drop_stats_unregister(&sd->drops);
	skb_pool_destroy(sd->pool);
	free(sd);
}

int softnet_init(int n)
{
	if (n < 1 || n > NS_MAX_WORKERS)
		return -EINVAL;
	for (int i = 0; i < n; i++) {
		struct softnet_data *sd = calloc(1, sizeof(*sd));
		struct epoll_event ev = { .events = EPOLLIN, .data.ptr = EPOLL_TAG_IPI };
		char name[32];

		if (!sd)
			goto fail;
		sd->cpu = i;
		sd->epfd = epoll_create1(EPOLL_CLOEXEC);
		sd->ipi_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		pthread_mutex_init(&sd->input_lock, NULL);
		pthread_mutex_init(&sd->call_lock, NULL);
		workers[i] = sd;
		if (sd->epfd < 0 || sd->ipi_fd < 0 ||
		    epoll_ctl(sd->epfd, EPOLL_CTL_ADD, sd->ipi_fd, &ev) < 0)
			goto fail;
		snprintf(name, sizeof(name), "worker%d", i);
		sd->pool = skb_pool_create(name, 0);
		if (!sd->pool)
			goto fail;
		skb_queue_head_init(&sd->input_pkt_queue);
		skb_queue_head_init(&sd->process_queue);
		sd->backlog.poll = process_backlog;
		sd->backlog.sd = sd;
		sd->backlog.weight = (int)sysctl_read(&sysctl_dev_weight);
		timer_base_init(&sd->timers, ns_jiffies());
		drop_stats_register(&sd->drops);
		atomic_init(&sd->stop, false);
		nr_workers = i + 1;
	}
	return 0;
fail:
	for (int i = 0; i < n; i++) {
		softnet_free_one(workers[i]);
		workers[i] = NULL;
	}
	nr_workers = 0;
	return -errno ? -errno : -ENOMEM;
}

int request_irq(struct ns_irq *irq, int cpu, int fd, irq_handler_fn handler,
		void *arg, const char *name)
{
	return request_irq_events(irq, cpu, fd, EPOLLIN | EPOLLET, handler, arg, name);
}

int irq_rearm(struct ns_irq *irq, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = irq };
	struct softnet_data *sd = irq->sd;

	if (!sd || irq->fd < 0)
		return -EINVAL;
	if (epoll_ctl(sd->epfd, EPOLL_CTL_MOD, irq->fd, &ev) < 0)
		return -errno;
	return 0;
}

int request_irq_events(struct ns_irq *irq, int cpu, int fd, uint32_t events,
		       irq_handler_fn handler, void *arg, const char *name)
{
	struct softnet_data *sd = softnet_get(cpu);
	struct epoll_event ev = { .events = events, .data.ptr = irq };

	if (!sd)
		return -EINVAL;
	irq->fd = fd;
	irq->handler = handler;
	irq->arg = arg;
	irq->enabled = true;
	irq->sd = sd;
	snprintf(irq->name, sizeof(irq->name), "%s", name);
	if (epoll_ctl(sd->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
		return -errno;
	return 0;
}

void free_irq(struct ns_irq *irq)
{
	if (irq->sd && irq->fd >= 0)
		epoll_ctl(irq->sd->epfd, EPOLL_CTL_DEL, irq->fd, NULL);
	irq->sd = NULL;
}

/* ---- NAPI ---------------------------------------------------------------- */

static void poll_list_add(struct softnet_data *sd, struct napi_struct *napi)
{
	napi->poll_next = NULL;
	if (sd->poll_tail)
		sd->poll_tail->poll_next = napi;
	else
		sd->poll_head = napi;
	sd->poll_tail = napi;
}

static struct napi_struct *poll_list_pop(struct softnet_data *sd)
{
	struct napi_struct *napi = sd->poll_head;

	if (napi) {
		sd->poll_head = napi->poll_next;
		if (!sd->poll_head)
			sd->poll_tail = NULL;
		napi->poll_next = NULL;
	}
	return napi;
}

/* ____napi_schedule: on the NAPI's own worker. */
static void ____napi_schedule(struct softnet_data *sd, struct napi_struct *napi)
{
	poll_list_add(sd, napi);
	raise_softirq(sd, NET_RX_SOFTIRQ);
}

bool napi_schedule(struct napi_struct *napi)
{
	NS_ASSERT(napi->sd == this_sd);
	if (napi->state & NAPI_STATE_SCHED)
		return false;
	napi->state |= NAPI_STATE_SCHED;
	____napi_schedule(napi->sd, napi);
	return true;
}

bool napi_complete_done(struct napi_struct *napi, int work_done)
{
	(void)work_done;
	if (napi->gro_count)
		napi_gro_flush(napi);
	napi->state &= ~NAPI_STATE_SCHED;
	return true;
}

/* napi_poll: one NAPI context's turn inside net_rx_action. */
static int napi_poll(struct softnet_data *sd, struct napi_struct *napi)
{
	int weight = napi->weight;
	int work;

	work = napi->poll(napi, weight);
	/*
	 * Nothing stays held past its poll: the next poll may come only after
	 * other contexts' turns (the kernel flushes all but the young here).
	 */
	if (napi->gro_count)
		napi_gro_flush(napi);
	ns_counter_inc(&napi->polls);
	ns_counter_add(&napi->packets, (uint64_t)work);
	NS_ASSERT(work <= weight);
	/*
	 * A poll that used its whole weight has not completed: it stays
	 * scheduled and goes to the tail, so other contexts get a turn.
	 */
	if (work >= weight && (napi->state & NAPI_STATE_SCHED))
		poll_list_add(sd, napi);
	return work;
}

void net_rx_action(struct softnet_data *sd)
{
	uint64_t time_limit = ns_now_us() + (uint64_t)sysctl_read(&sysctl_netdev_budget_usecs);
	int budget = (int)sysctl_read(&sysctl_netdev_budget);

	sd->pending &= ~NET_RX_SOFTIRQ;
	for (;;) {
		struct napi_struct *napi;

		napi = poll_list_pop(sd);
		if (!napi)
			return;
		budget -= napi_poll(sd, napi);
		/*
		 * Out of budget or time with work left: count a squeeze and
		 * leave the softirq pending; the worker loop comes back
		 * without sleeping (where the kernel would wake ksoftirqd).
		 */
		if (ns_unlikely(budget <= 0 || ns_now_us() > time_limit)) {
			if (sd->poll_head) {
				ns_counter_inc(&sd->time_squeeze);
				raise_softirq(sd, NET_RX_SOFTIRQ);
			}
			return;
		}
	}
}

/* ---- RPS backlog --------------------------------------------------------- */

static void softnet_kick(struct softnet_data *sd)
{
	uint64_t one = 1;
	ssize_t r;

	r = write(sd->ipi_fd, &one, sizeof(one));
	(void)r; /* EAGAIN means the counter is saturated: already kicked */
}

int enqueue_to_backlog(struct sk_buff *skb, int cpu)
{
	struct softnet_data *sd = softnet_get(cpu);
	bool kick = false;

	if (!sd) {
		kfree_skb_reason(skb, SKB_DROP_REASON_NOT_SPECIFIED);
		return -EINVAL;
	}
	pthread_mutex_lock(&sd->input_lock);
	if (skb_queue_len(&sd->input_pkt_queue) >=
	    (uint32_t)sysctl_read(&sysctl_netdev_max_backlog)) {
		ns_counter_inc(&sd->dropped);
		pthread_mutex_unlock(&sd->input_lock);
		kfree_skb_reason(skb, SKB_DROP_REASON_CPU_BACKLOG);
		return -ENOBUFS;
	}
	__skb_queue_tail(&sd->input_pkt_queue, skb);
	if (!sd->backlog_scheduled) {
		/* First packet since the backlog went idle: needs an IPI. */
		sd->backlog_scheduled = true;
		kick = true;
	}
	pthread_mutex_unlock(&sd->input_lock);
	if (kick) {
		if (sd == this_sd) {
			napi_schedule(&sd->backlog);
		} else {
			atomic_store_explicit(&sd->ipi_pending_rps, true, memory_order_release);
			softnet_kick(sd);
			if (this_sd)
				ns_counter_inc(&this_sd->ipi_sent);
		}
	}
	return 0;
}

/* The backlog's NAPI poll: drain packets handed over by other workers. */
static int process_backlog(struct napi_struct *napi, int quota)
{
	struct softnet_data *sd = napi->sd;
	int work = 0;

	napi->weight = (int)sysctl_read(&sysctl_dev_weight);
	quota = napi->weight;
	for (;;) {
		struct sk_buff *skb;

		while ((skb = __skb_dequeue(&sd->process_queue)) != NULL) {
			skb_trace(skb, NS_TRACE_BACKLOG, 0);
			__netif_receive_skb(skb);
			if (++work >= quota)
				return work;
		}
		pthread_mutex_lock(&sd->input_lock);
		if (skb_queue_empty(&sd->input_pkt_queue)) {
			sd->backlog_scheduled = false;
			napi_complete_done(napi, work);
			pthread_mutex_unlock(&sd->input_lock);
			return work;
		}
		skb_queue_splice_tail_init(&sd->input_pkt_queue, &sd->process_queue);
		pthread_mutex_unlock(&sd->input_lock);
	}
}

/* ---- cross-thread calls --------------------------------------------------- */

int softnet_call(int cpu, softnet_call_fn fn, void *arg)
{
	struct softnet_data *sd = softnet_get(cpu);
	struct softnet_call *c;
	bool kick;

	if (!sd)
		return -EINVAL;
	c = malloc(sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->next = NULL;
	c->fn = fn;
	c->arg = arg;
	pthread_mutex_lock(&sd->call_lock);
	if (sd->call_tail)
		sd->call_tail->next = c;
	else
		sd->call_head = c;
	sd->call_tail = c;
	kick = !sd->call_kicked;
	sd->call_kicked = true;
	pthread_mutex_unlock(&sd->call_lock);
	if (kick)
		softnet_kick(sd);
	return 0;
}

struct call_wait {
	softnet_call_fn fn;
	void *arg;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool done;
};

static void call_wait_trampoline(void *arg)
{
	struct call_wait *w = arg;

	w->fn(w->arg);
	pthread_mutex_lock(&w->lock);
	w->done = true;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
}

int softnet_call_wait(int cpu, softnet_call_fn fn, void *arg)
{
	struct call_wait w = { .fn = fn, .arg = arg, .done = false };
	int err;

	if (this_sd && this_sd->cpu == cpu) {
		fn(arg);
		return 0;
	}
	if (!started) {
		/* Start-up, shutdown and unit tests: nobody else runs. */
		fn(arg);
		return 0;
	}
	pthread_mutex_init(&w.lock, NULL);
	pthread_cond_init(&w.cond, NULL);
	err = softnet_call(cpu, call_wait_trampoline, &w);
	if (err == 0) {
		pthread_mutex_lock(&w.lock);
		while (!w.done)
			pthread_cond_wait(&w.cond, &w.lock);
		pthread_mutex_unlock(&w.lock);
	}
	pthread_cond_destroy(&w.cond);
	pthread_mutex_destroy(&w.lock);
	return err;
}

static void synchronize_net_noop(void *arg)
{
	(void)arg;
}

bool synchronize_net(void)
{
	for (int i = 0; i < nr_workers; i++)
		if (softnet_call_wait(i, synchronize_net_noop, NULL) != 0)
			return false;
	return true;
}

int softnet_defer(softnet_call_fn fn, void *arg)
{
	struct softnet_data *sd = this_sd;
	struct softnet_call *c;

	if (!sd) {
		fn(arg);
		return 0;
	}
	c = malloc(sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->fn = fn;
	c->arg = arg;
	c->next = sd->defer_head;
	sd->defer_head = c;
	return 0;
}

static void run_deferred(struct softnet_data *sd)
{
	while (sd->defer_head) {
		struct softnet_call *c = sd->defer_head;

		sd->defer_head = c->next;
		c->fn(c->arg);
		free(c);
	}
}

static void run_calls(struct softnet_data *sd)
{
	struct softnet_call *c, *next;

	pthread_mutex_lock(&sd->call_lock);
	c = sd->call_head;
	sd->call_head = sd->call_tail = NULL;
	sd->call_kicked = false;
	pthread_mutex_unlock(&sd->call_lock);
	for (; c; c = next) {
		next = c->next;
		c->fn(c->arg);
		free(c);
	}
}

/* ---- the worker loop ------------------------------------------------------ */

/* The IPI handler: an eventfd kick from another thread. */
static void softnet_ipi(struct softnet_data *sd)
{
	uint64_t v;
	ssize_t r;

	r = read(sd->ipi_fd, &v, sizeof(v));
	(void)r;
	if (atomic_exchange_explicit(&sd->ipi_pending_rps, false, memory_order_acquire)) {
		/* net_rps_action: the backlog napi runs here, on its owner. */
		ns_counter_inc(&sd->received_rps);
		napi_schedule(&sd->backlog);
	}
	run_calls(sd);
}

/* The kernel's order: timers, then NET_TX_SOFTIRQ before NET_RX_SOFTIRQ. */
static void do_softirq(struct softnet_data *sd)
{
	run_timers(&sd->timers, ns_jiffies());
	if (sd->pending & NET_TX_SOFTIRQ)
		net_tx_action(sd);
	if (sd->pending & NET_RX_SOFTIRQ)
		net_rx_action(sd);
}

static void pin_to_cpu(int cpu)
{
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	cpu_set_t set;

	if (ncpu < 1)
		return;
	CPU_ZERO(&set);
	CPU_SET(cpu % ncpu, &set);
	pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

static void *softnet_thread(void *arg)
{
	struct softnet_data *sd = arg;
	struct epoll_event ev[64];
	char name[16];

	this_sd = sd;
	skb_pool_set_current(sd->pool);
	drop_stats_set_current(&sd->drops);
	snprintf(name, sizeof(name), "ns-softirq/%d", sd->cpu);
	pthread_setname_np(pthread_self(), name);
	pin_to_cpu(sd->cpu);
	run_calls(sd);

	while (!atomic_load_explicit(&sd->stop, memory_order_acquire)) {
		int64_t timeout = sd->pending ? 0 :
			timer_next_timeout(&sd->timers, ns_jiffies());
		int n;

		if (timeout > 1000)
			timeout = 1000;
		n = epoll_wait(sd->epfd, ev, (int)NS_ARRAY_SIZE(ev), (int)timeout);
		ns_counter_inc(&sd->loops);
		for (int i = 0; i < n; i++) {
			struct ns_irq *irq = ev[i].data.ptr;

			if (irq == EPOLL_TAG_IPI) {
				softnet_ipi(sd);
				continue;
			}
			/* The "hardirq": masked lines ignore the edge, their NAPI runs. */
			ns_counter_inc(&irq->count);
			if (irq->enabled)
				irq->handler(irq->arg);
		}
		do_softirq(sd);
		run_deferred(sd);
	}
	run_calls(sd);
	run_deferred(sd);
	return NULL;
}

int softnet_start(void)
{
	for (int i = 0; i < nr_workers; i++) {
		int err = pthread_create(&workers[i]->thread, NULL, softnet_thread, workers[i]);

		if (err) {
			for (int j = 0; j < i; j++) {
				atomic_store(&workers[j]->stop, true);
				softnet_kick(workers[j]);
				pthread_join(workers[j]->thread, NULL);
			}
			return -err;
		}
	}
	started = true;
	return 0;
}

void softnet_stop(void)
{
	if (!started)
		return;
	for (int i = 0; i < nr_workers; i++) {
		atomic_store_explicit(&workers[i]->stop, true, memory_order_release);
		softnet_kick(workers[i]);
	}
	for (int i = 0; i < nr_workers; i++)
		pthread_join(workers[i]->thread, NULL);
	started = false;
}

void softnet_destroy(void)
{
	for (int i = 0; i < nr_workers; i++) {
		struct softnet_data *sd = workers[i];

		/* Packets still queued are freed into their pools first. */
		skb_queue_purge_reason(&sd->input_pkt_queue, SKB_DROP_REASON_SHUTDOWN);
		skb_queue_purge_reason(&sd->process_queue, SKB_DROP_REASON_SHUTDOWN);
	}
	for (int i = 0; i < nr_workers; i++) {
		softnet_free_one(workers[i]);
		workers[i] = NULL;
	}
	nr_workers = 0;
}
