/*
 * Packet trace sessions: filter, watches, the collector thread and the
 * stream to netstackctl.  See pkt_trace.h for the model.
 *
 * Context: start and exit on the control thread (trace_lock); the
 * collector thread; trace_sock_closing on workers.  watch_lock serialises
 * the resolution of "read by client" watches between the collector and a
 * closing socket's owner, so that the collector never reads a socket's
 * ring after its close went past.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/netdev.h"
#include "core/softnet.h"
#include "core/trace.h"
#include "log.h"
#include "net/packet/capture.h"
#include "net/packet/pkt_trace.h"
#include "proto/shm.h"
#include "proto/trace.h"

#define PKT_TRACE_PASS_MS 1         /* the collector's pass interval */
#define PKT_TRACE_GRACE_MS 200      /* after the end: records still in flight */

struct pkt_trace {
	struct trace_sampler sampler;
	struct capture_filter filter;
	int fd;                         /* our end of the stream */
	pthread_t thread;
	bool running;                   /* a thread exists (trace_lock) */
	_Atomic bool stop;              /* pkt_trace_exit asks the thread to end */
	_Atomic bool done;              /* the thread has finished */
	uint64_t sent;
};

static struct pkt_trace the_trace;
static pthread_mutex_t trace_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t watch_lock = PTHREAD_MUTEX_INITIALIZER;

static bool pkt_trace_match(const struct trace_sampler *s, const uint8_t *frame, uint32_t len)
{
	const struct pkt_trace *t = ns_container_of(s, struct pkt_trace, sampler);

	return capture_filter_match(&t->filter, frame, len);
}

/* ---- watches --------------------------------------------------------------- */

/*
 * One pass over the watches: stamp "read by client" where the ring's
 * consumer passed the record, or end the wait after its bound (@all:
 * now, the trace is over).  Under watch_lock.
 */
static void watch_pass(bool all)
{
	uint64_t now = ns_now_ns();

	if (!atomic_load_explicit(&trace_watches, memory_order_relaxed))
		return;
	for (uint16_t slot = 1; slot <= TRACE_SLOTS; slot++) {
		struct trace_record *rec = trace_record_get(slot);
		const struct ns_ring *ring;
		uint64_t cons;

		if (atomic_load_explicit(&rec->watch, memory_order_acquire) != TRACE_WATCH_ARMED)
			continue;
		/* Only the ring's indices: the socket's own fields are its owner's. */
		ring = rec->watch_ring;
		cons = ring ? atomic_load_explicit(&ring->cons, memory_order_acquire) : 0;
		if (ring && (int64_t)(cons - rec->watch_pos) >= 0)
			(void)trace_watch_resolve(rec, NS_TRACE_CLIENT_READ, now);
		else if (all || now - rec->watch_t_ns > PKT_TRACE_READ_WAIT_MS * 1000000ull)
			(void)trace_watch_resolve(rec, NS_TRACE_READ_TIMEOUT, now);
	}
}

/* The socket's close holds its shared memory mapped until it returns (pkt_trace.h). */
void trace_sock_closing(struct sock *sk)
{
	uint64_t now = ns_now_ns();

	pthread_mutex_lock(&watch_lock);
	for (uint16_t slot = 1; slot <= TRACE_SLOTS; slot++) {
		struct trace_record *rec = trace_record_get(slot);

		const struct ns_ring *ring;

		if (atomic_load_explicit(&rec->watch, memory_order_acquire) != TRACE_WATCH_ARMED ||
		    rec->watch_sock != sk)
			continue;
		/* Read between the last pass and the close: stamped now, late by less than a pass. */
		ring = rec->watch_ring;
		if (ring && (int64_t)(atomic_load_explicit(&ring->cons, memory_order_acquire) -
				      rec->watch_pos) >= 0)
			(void)trace_watch_resolve(rec, NS_TRACE_CLIENT_READ, now);
		else
			(void)trace_watch_resolve(rec, NS_TRACE_SOCK_CLOSED, now);
	}
	pthread_mutex_unlock(&watch_lock);
}

/* ---- the stream -------------------------------------------------------------- */

/* Send all of @buf; false if the reader is gone (or stuck while we stop). */
static bool trace_send(struct pkt_trace *t, const void *buf, size_t n)
{
	const uint8_t *p = buf;

	while (n) {
		ssize_t k = send(t->fd, p, n, MSG_NOSIGNAL);

		if (k > 0) {
			p += k;
			n -= (size_t)k;
			continue;
		}
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			struct pollfd pfd = { .fd = t->fd, .events = POLLOUT };

			if (atomic_load(&t->stop))
				return false;
			(void)poll(&pfd, 1, 100);
			continue;
		}
		return false;
	}
	return true;
}

/* A finished record as the stream carries it. */
static void trace_encode(const struct trace_record *rec, struct ns_trace_rec *out)
{
	uint32_t ns = atomic_load_explicit(&rec->nstages, memory_order_relaxed);
	uint32_t np = atomic_load_explicit(&rec->npkts, memory_order_relaxed);

	memset(out, 0, sizeof(*out));
	out->type = NS_TRACE_PACKET;
	out->truncated = ns > NS_TRACE_MAX_STAGES || np > NS_TRACE_MAX_PKTS;
	out->nstages = (uint16_t)(ns < NS_TRACE_MAX_STAGES ? ns : NS_TRACE_MAX_STAGES);
	out->npkts = (uint8_t)(np < NS_TRACE_MAX_PKTS ? np : NS_TRACE_MAX_PKTS);
	out->seq = rec->seq;
	out->ifindex = (uint32_t)rec->ifindex;
	memcpy(out->ifname, rec->ifname, sizeof(out->ifname));
	memcpy(out->pkts, rec->pkts, sizeof(out->pkts[0]) * out->npkts);
	memcpy(out->st, rec->st, sizeof(out->st[0]) * out->nstages);
}

/* Send (ours) or free (an earlier trace's) every finished record.  False: reader gone. */
static bool collect(struct pkt_trace *t, bool alive)
{
	struct trace_record *rec = trace_done_pop_all(), *next;
	struct ns_trace_rec out;

	for (; rec; rec = next) {
		next = rec->done_next;
		if (rec->gen == t->sampler.gen && alive) {
			trace_encode(rec, &out);
			alive = trace_send(t, &out, sizeof(out));
			t->sent += alive;
		}
		trace_record_free(rec);
	}
	return alive;
}

/* Has the reader shut its side down (or gone)? */
static bool reader_done(int fd, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN | POLLRDHUP };
	char buf[64];

	if (poll(&p, 1, timeout_ms) <= 0)
		return false;
	if (p.revents & (POLLHUP | POLLERR | POLLRDHUP))
		return true;
	return recv(fd, buf, sizeof(buf), MSG_DONTWAIT) == 0;
}

static void *trace_thread(void *arg)
{
	struct pkt_trace *t = arg;
	struct ns_trace_rec endrec;
	struct ns_trace_end end = { .type = NS_TRACE_END };
	uint64_t deadline;
	uint32_t claimed;
	bool alive = true;

	while (alive && !atomic_load(&t->stop) && t->sent < t->sampler.count) {
		pthread_mutex_lock(&watch_lock);
		watch_pass(false);
		pthread_mutex_unlock(&watch_lock);
		alive = collect(t, alive);
		if (alive && t->sent < t->sampler.count && reader_done(t->fd, PKT_TRACE_PASS_MS))
			break;
	}
	/* No new samples; then wait until no worker can be inside a sampling call. */
	trace_sampler_stop(&t->sampler);
	(void)synchronize_net();
	claimed = atomic_load(&t->sampler.claimed);
	if (claimed > t->sampler.count)
		claimed = t->sampler.count;
	/* Records still in flight get a short while to finish. */
	deadline = ns_now_ns() + PKT_TRACE_GRACE_MS * 1000000ull;
	for (;;) {
		pthread_mutex_lock(&watch_lock);
		watch_pass(true);
		pthread_mutex_unlock(&watch_lock);
		alive = collect(t, alive);
		if (t->sent >= claimed || !alive || ns_now_ns() > deadline)
			break;
		(void)poll(NULL, 0, PKT_TRACE_PASS_MS);
	}
	trace_sampler_release(&t->sampler);
	end.sampled = claimed;
	end.finished = t->sent;
	end.unfinished = claimed > t->sent ? claimed - t->sent : 0;
	if (alive) {
		memset(&endrec, 0, sizeof(endrec));
		memcpy(&endrec, &end, sizeof(end));
		(void)trace_send(t, &endrec, sizeof(endrec));
	}
	ns_log(NS_LOG_INFO, "trace: ended, %llu packets sampled, %llu sent",
	       (unsigned long long)end.sampled, (unsigned long long)end.finished);
	close(t->fd);
	t->fd = -1;
	atomic_store(&t->done, true);
	return NULL;
}

/* ---- start and end (control thread) ------------------------------------------ */

/* Join a finished (or, with @force, any) trace's thread.  Under trace_lock. */
static void trace_reap(bool force)
{
	struct pkt_trace *t = &the_trace;

	if (!t->running || (!force && !atomic_load(&t->done)))
		return;
	atomic_store(&t->stop, true);
	pthread_join(t->thread, NULL);
	t->running = false;
}

int pkt_trace_start(const char *ifname, int argc, char *const *argv, uint32_t count, int *fd,
		    uint32_t *granted, char *err, size_t errlen)
{
	struct pkt_trace *t = &the_trace;
	struct capture_filter f;
	struct net_device *dev = NULL;
	int sv[2], rc;

	if (ifname && *ifname) {
		dev = dev_get_by_name(ifname);
		if (!dev) {
			snprintf(err, errlen, "trace: no device '%s'", ifname);
			return -ENODEV;
		}
	}
	if (count == 0)
		count = PKT_TRACE_DEFAULT_COUNT;
	if (count > TRACE_SLOTS) {
		snprintf(err, errlen, "trace: at most %u packets at a time", TRACE_SLOTS);
		return -EINVAL;
	}
	rc = capture_filter_parse(argc, argv, &f, err, errlen);
	if (rc)
		return rc;
	pthread_mutex_lock(&trace_lock);
	trace_reap(false);
	if (t->running) {
		pthread_mutex_unlock(&trace_lock);
		snprintf(err, errlen, "trace: another trace is running");
		return -EBUSY;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		rc = -errno;
		pthread_mutex_unlock(&trace_lock);
		snprintf(err, errlen, "trace: socketpair: %s", strerror(errno));
		return rc;
	}
	if (fcntl(sv[0], F_SETFL, O_NONBLOCK) < 0) {
		rc = -errno;
		snprintf(err, errlen, "trace: fcntl: %s", strerror(errno));
		goto close_pair;
	}
	/* The previous trace's thread is joined: nothing else touches t now. */
	t->filter = f;
	t->sampler.match = pkt_trace_match;
	t->sampler.ifindex = dev ? dev->ifindex : 0;
	t->sampler.count = count;
	t->fd = sv[0];
	t->sent = 0;
	atomic_store(&t->stop, false);
	atomic_store(&t->done, false);
	rc = trace_sampler_start(&t->sampler);
	if (rc) {
		snprintf(err, errlen, rc == -EBUSY ? "trace: another trace is running"
						  : "trace: no free trace record (packets of an "
						    "earlier trace are still in flight)");
		goto close_pair;
	}
	rc = pthread_create(&t->thread, NULL, trace_thread, t);
	if (rc) {
		trace_sampler_stop(&t->sampler);
		(void)synchronize_net();
		trace_sampler_release(&t->sampler);
		snprintf(err, errlen, "trace: cannot start a thread: %s", strerror(rc));
		rc = -rc;
		goto close_pair;
	}
	t->running = true;
	pthread_mutex_unlock(&trace_lock);
	*fd = sv[1];
	*granted = t->sampler.count;
	ns_log(NS_LOG_INFO, "trace: started on %s, %u packets", dev ? dev->name : "every device",
	       t->sampler.count);
	return 0;

close_pair:
	t->fd = -1;
	pthread_mutex_unlock(&trace_lock);
	close(sv[0]);
	close(sv[1]);
	return rc;
}

void pkt_trace_exit(void)
{
	pthread_mutex_lock(&trace_lock);
	trace_reap(true);
	pthread_mutex_unlock(&trace_lock);
}
