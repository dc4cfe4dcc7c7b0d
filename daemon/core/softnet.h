/*
 * Worker threads and their softnet_data: the mirror of the kernel's per-CPU
 * softirq machinery (irq handler -> napi_schedule -> NET_RX_SOFTIRQ ->
 * net_rx_action -> napi->poll) and of RPS (enqueue_to_backlog, IPI,
 * process_backlog).
 *
 * Each worker ("ns-softirq/N") sleeps in epoll_wait on its irq fds and its
 * IPI eventfd.  A readable fd runs the "hardirq" handler registered with
 * request_irq() on that worker; the handler masks its irq and calls
 * napi_schedule(), which puts the NAPI context on this worker's poll_list
 * and raises NET_RX_SOFTIRQ.  Before sleeping again the worker runs
 * do_softirq(): timers, then net_rx_action() within netdev_budget packets
 * and netdev_budget_usecs; leftover work counts a time_squeeze and keeps
 * the softirq pending, so the next loop does not sleep (the kernel would
 * wake ksoftirqd).  The irq context deliberately shares the worker thread:
 * a separate thread would cost a wake-up per batch for no gain on a TAP.
 *
 * Masking uses epoll's edge-triggered mode: "disable_irq" is a flag, not a
 * system call; a NAPI poll completes only after its driver saw the queue
 * empty, so the next arrival raises a new edge.
 *
 * Locks: input_pkt_queue has its own lock (as the kernel's rps_lock), taken
 * by a producer worker for a batch hand-off; the call queue has one too.
 * Everything else in softnet_data belongs to its worker alone.
 */
#ifndef NS_CORE_SOFTNET_H
#define NS_CORE_SOFTNET_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/counter.h"
#include "core/drop.h"
#include "core/skb.h"
#include "core/timer.h"

#define NS_MAX_WORKERS 64

/* Flows one NAPI context may hold for GRO (the kernel's MAX_GRO_SKBS). */
#define MAX_GRO_SKBS 8

struct napi_struct;
struct softnet_data;
struct Qdisc;

typedef int (*napi_poll_fn)(struct napi_struct *napi, int budget);
typedef void (*irq_handler_fn)(void *arg);
typedef void (*softnet_call_fn)(void *arg);

enum {
	NAPI_STATE_SCHED = 1u << 0, /* on a poll_list, or being polled */
};

struct napi_struct {
	struct napi_struct *poll_next;  /* poll_list linkage */
	napi_poll_fn poll;
	int weight;
	unsigned int state;             /* owner worker only */
	struct net_device *dev;         /* NULL for the backlog */
	struct softnet_data *sd;        /* the worker it is polled on */
	ns_counter_t polls;
	ns_counter_t packets;
	/* GRO (core/gro.c): held flows, oldest first; owner worker only. */
	struct sk_buff *gro_skbs[MAX_GRO_SKBS];
	unsigned int gro_count;
};

/* An event source standing in for a device interrupt line. */
struct ns_irq {
	int fd;
	irq_handler_fn handler;
	void *arg;
	bool enabled;                   /* owner worker only */
	struct softnet_data *sd;
	ns_counter_t count;             /* handler invocations, as /proc/interrupts */
	char name[32];
};

enum {
	NET_TX_SOFTIRQ = 1u << 0,
	NET_RX_SOFTIRQ = 1u << 1,
};

struct softnet_call {
	struct softnet_call *next;
	softnet_call_fn fn;
	void *arg;
};

struct softnet_data {
	int cpu;                        /* worker index */
	pthread_t thread;
	int epfd;
	int ipi_fd;                     /* eventfd: the IPI */
	unsigned int pending;           /* softirq bits, owner only */

	/* NAPI contexts with work, polled by net_rx_action (owner only). */
	struct napi_struct *poll_head;
	struct napi_struct *poll_tail;

	/* RPS backlog: other workers append under input_lock. */
	pthread_mutex_t input_lock;
	struct sk_buff_head input_pkt_queue;
	bool backlog_scheduled;         /* under input_lock */
	struct sk_buff_head process_queue; /* owner only */
	struct napi_struct backlog;

	/* Cross-thread calls (smp_call_function_single). */
	pthread_mutex_t call_lock;
	struct softnet_call *call_head, *call_tail;
	bool call_kicked;               /* under call_lock */
	struct softnet_call *defer_head; /* owner only: after the batch */

	_Atomic bool ipi_pending_rps;   /* a backlog IPI is pending */

	/* Qdiscs with frames to send (NET_TX_SOFTIRQ), owner only. */
	struct Qdisc *output_queue, *output_queue_tail;

	/* /proc/net/softnet_stat */
	ns_counter_t processed;
	ns_counter_t dropped;           /* backlog drops (written under input_lock) */
	ns_counter_t time_squeeze;
	ns_counter_t received_rps;
	ns_counter_t ipi_sent;          /* IPIs this worker sent */
	ns_counter_t loops;
	/* GRO: segments merged into another skb; held skbs sent up (core/gro.c). */
	ns_counter_t gro_merged;
	ns_counter_t gro_flush;
	/* ip_rcv calls on this worker (InReceives counts segments instead). */
	ns_counter_t ip_rcv;

	struct skb_pool *pool;
	struct drop_stats drops;
	struct timer_base timers;
	_Atomic bool stop;
};

/* Workers configured (valid after softnet_init). */
extern int nr_workers;

/*
 * Create @n workers' state (threads not started).  0 or -errno.
 * Control context.
 */
int softnet_init(int n);
/* Start the threads; each pins itself to CPU (index % online CPUs). */
int softnet_start(void);
/* Ask the workers to stop and join them; frees queued packets. */
void softnet_stop(void);
/* Free everything softnet_init made. */
void softnet_destroy(void);

struct softnet_data *softnet_get(int cpu);
/* The calling worker's softnet_data, or NULL on other threads. */
struct softnet_data *this_softnet(void);
/* The calling worker's index, or -1. */
int smp_processor_id(void);

/*
 * Register @fd as an irq line on worker @cpu: when it becomes readable and
 * the irq is enabled, @handler(@arg) runs on that worker.  0 or -errno.
 * Any thread, also while workers run (sockets' doorbells come and go);
 * @irq must stay valid until free_irq() and the deferred work after it.
 */
int request_irq(struct ns_irq *irq, int cpu, int fd, irq_handler_fn handler,
		void *arg, const char *name);
/*
 * request_irq for other events than "readable": @events is an epoll mask
 * (EPOLLOUT | EPOLLONESHOT for a transmit-completion line that is armed
 * with irq_rearm() when needed).  0 or -errno.  Any thread.
 */
int request_irq_events(struct ns_irq *irq, int cpu, int fd, uint32_t events,
		       irq_handler_fn handler, void *arg, const char *name);

/* Re-arm a one-shot irq with @events.  0 or -errno.  Any thread. */
int irq_rearm(struct ns_irq *irq, uint32_t events);

/*
 * Stop watching @irq's fd.  While workers run, call it on the irq's own
 * worker and free the memory holding @irq only from softnet_defer(): an
 * event for it may already sit in the worker's current batch.
 */
void free_irq(struct ns_irq *irq);

/* Mask/unmask: owner worker only. */
static inline void disable_irq_nosync(struct ns_irq *irq)
{
	irq->enabled = false;
}

static inline void enable_irq(struct ns_irq *irq)
{
	irq->enabled = true;
}

/* Mark softirq work pending on the calling worker. */
static inline void raise_softirq(struct softnet_data *sd, unsigned int nr)
{
	sd->pending |= nr;
}

/*
 * Schedule @napi for polling on its worker (call from that worker's irq
 * handler).  Returns false if it was already scheduled.
 */
bool napi_schedule(struct napi_struct *napi);

/*
 * Called by a poll routine that did less than its budget: send what GRO
 * holds up the stack and take the NAPI off the poll list.  Returns true if
 * the driver should re-enable its irq.
 */
bool napi_complete_done(struct napi_struct *napi, int work_done);

/* One round of NET_RX_SOFTIRQ on @sd. */
void net_rx_action(struct softnet_data *sd);

/*
 * Hand @skb to worker @cpu's input_pkt_queue (RPS).  Consumes the skb;
 * a full queue (net.core.netdev_max_backlog) is a CPU_BACKLOG drop.
 * Returns 0 or -ENOBUFS.  Worker context.
 */
int enqueue_to_backlog(struct sk_buff *skb, int cpu);

/*
 * Run @fn(@arg) on worker @cpu, asynchronously.  0 or -errno (-ENOMEM).
 * Any thread.  Calls queued before softnet_start() run when it starts.
 */
int softnet_call(int cpu, softnet_call_fn fn, void *arg);

/* Run @fn(@arg) on worker @cpu and wait for it to finish. */
int softnet_call_wait(int cpu, softnet_call_fn fn, void *arg);

/*
 * The kernel's synchronize_net(): return once every worker has run a
 * no-op call, so none can still hold a pointer it loaded before this
 * call (workers take calls only between packets).  Control thread, never
 * a worker.  False if a worker could not be reached (out of memory): the
 * caller must then keep the old memory.  Before the workers start it
 * returns at once.
 */
bool synchronize_net(void);

/*
 * Run @fn(@arg) on the calling worker after it finished its current batch
 * of events (the moment nothing can still point at memory freed by @fn,
 * like an RCU grace period for one thread).  0 or -ENOMEM.  Worker only;
 * elsewhere @fn runs at once.
 */
int softnet_defer(softnet_call_fn fn, void *arg);

#endif
