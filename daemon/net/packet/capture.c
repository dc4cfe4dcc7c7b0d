/*
 * Packet capture: the tap (packet_rcv), the tcpdump-like filter, the
 * per-worker rings and the drain thread that streams records to
 * netstackctl.  See capture.h for the model.
 *
 * Context: packet_rcv on workers (ring producers; one producer per ring,
 * the shared "other threads" ring under its mutex); the drain thread is
 * the only consumer; start and exit on the control thread, which holds
 * cap_list_lock to walk the list of captures.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/debug.h"
#include "core/dev.h"
#include "core/netdev.h"
#include "core/skb.h"
#include "core/softnet.h"
#include "log.h"
#include "net/packet/capture.h"
#include "net/wire/ether.h"
#include "net/wire/ip.h"
#include "proto/capture.h"

#define CAPTURE_OUTBUF (256u * 1024u)
#define CAPTURE_IDLE_MS 2           /* the drain thread's sleep when all rings are empty */
#define CAPTURE_MIN_RING (128u * 1024u)

/* One producer's ring: free-running byte counters, records 8-aligned. */
struct cap_ring {
	_Alignas(64) _Atomic uint64_t head;     /* written by the producer */
	_Alignas(64) _Atomic uint64_t tail;     /* written by the drain thread */
	_Alignas(64) ns_counter_t captured;     /* producer (shared adds on the last ring) */
	ns_counter_t dropped;
	uint8_t *buf;
};

struct capture {
	struct packet_type pt;
	struct capture *next;           /* cap_list, under cap_list_lock */
	struct capture_filter filter;
	int ifindex;                    /* 0: every device */
	uint32_t snaplen;
	uint64_t ring_size;             /* a power of two */
	unsigned int nrings;            /* workers + 1 (other threads) */
	struct cap_ring *rings;
	pthread_mutex_t other_lock;     /* the last ring's producers */
	int fd;                         /* our end of the stream */
	pthread_t thread;
	_Atomic bool stop;              /* capture_exit asks the thread to end */
	_Atomic bool done;              /* the thread has finished */
};

static struct capture *cap_list;
static pthread_mutex_t cap_list_lock = PTHREAD_MUTEX_INITIALIZER;

/* ---- the filter ------------------------------------------------------------ */

int capture_filter_parse(int argc, char *const *argv, struct capture_filter *f, char *err,
			 size_t errlen)
{
	int i = 0;

	memset(f, 0, sizeof(*f));
	while (i < argc) {
		struct capture_term t = { 0 };
		const char *w;

		if (f->n > 0) {
			if (strcmp(argv[i], "and") && strcmp(argv[i], "&&"))
				return ns_einval(err, errlen, "filter: expected 'and' before '%s' "
						"(only 'and' combines)", argv[i]);
			if (++i == argc)
				return ns_einval(err, errlen, "filter: nothing after 'and'");
		}
		if (f->n == CAPTURE_MAX_TERMS)
			return ns_einval(err, errlen, "filter: too many terms");
		if (!strcmp(argv[i], "not") || !strcmp(argv[i], "!")) {
			t.negate = true;
			if (++i == argc)
				return ns_einval(err, errlen, "filter: nothing after 'not'");
		}
		w = argv[i++];
		if (!strcmp(w, "src") || !strcmp(w, "dst")) {
			t.dir = w[0] == 's' ? 1 : 2;
			if (i == argc)
				return ns_einval(err, errlen, "filter: '%s' needs host or port", w);
			w = argv[i++];
		}
		if (!strcmp(w, "host")) {
			struct in_addr a;

			if (i == argc || inet_pton(AF_INET, argv[i], &a) != 1)
				return ns_einval(err, errlen, "filter: host needs an address, not '%s'",
						i < argc ? argv[i] : "");
			t.kind = CAPTURE_HOST;
			t.value = a.s_addr;
			i++;
		} else if (!strcmp(w, "port")) {
			char *end;
			unsigned long p;

			if (i == argc)
				return ns_einval(err, errlen, "filter: port needs a number");
			errno = 0;
			p = strtoul(argv[i], &end, 10);
			if (errno || end == argv[i] || *end || p > 65535 || argv[i][0] == '-')
				return ns_einval(err, errlen, "filter: bad port '%s'", argv[i]);
			t.kind = CAPTURE_PORT;
			t.value = (uint32_t)p;
			i++;
		} else if (t.dir) {
			return ns_einval(err, errlen, "filter: expected host or port after src/dst, "
					"not '%s'", w);
		} else if (!strcmp(w, "tcp") || !strcmp(w, "udp") || !strcmp(w, "icmp") ||
			   !strcmp(w, "arp") || !strcmp(w, "ip")) {
			t.kind = CAPTURE_PROTO;
			t.value = !strcmp(w, "tcp") ? IPPROTO_TCP_NS
				  : !strcmp(w, "udp") ? IPPROTO_UDP_NS
				  : !strcmp(w, "icmp") ? IPPROTO_ICMP_NS
				  : !strcmp(w, "arp") ? CAPTURE_PROTO_ARP : CAPTURE_PROTO_IP;
		} else {
			return ns_einval(err, errlen, "filter: unknown word '%s' (tcp, udp, icmp, "
					"arp, ip, host, port, src, dst, not, and)", w);
		}
		f->t[f->n++] = t;
	}
	return 0;
}

/* What a term looks at, dissected once per frame. */
struct cap_flow {
	uint16_t ethertype;
	bool ip, arp, ports;
	uint8_t proto;
	uint32_t saddr, daddr;
	uint16_t sport, dport;
};

static void cap_dissect(const uint8_t *p, uint32_t len, struct cap_flow *fl)
{
	memset(fl, 0, sizeof(*fl));
	if (len < ETH_HLEN)
		return;
	fl->ethertype = (uint16_t)(p[12] << 8 | p[13]);
	p += ETH_HLEN;
	len -= ETH_HLEN;
	if (fl->ethertype == ETH_P_ARP && len >= 28) {
		fl->arp = true;
		memcpy(&fl->saddr, p + 14, 4);
		memcpy(&fl->daddr, p + 24, 4);
	} else if (fl->ethertype == ETH_P_IP && len >= IP_MIN_HLEN) {
		const struct iphdr *iph = (const struct iphdr *)p;
		uint32_t ihl = iph_ihl(iph) * 4u;

		fl->ip = true;
		fl->proto = iph->protocol;
		fl->saddr = iph->saddr;
		fl->daddr = iph->daddr;
		if ((fl->proto == IPPROTO_TCP_NS || fl->proto == IPPROTO_UDP_NS) &&
		    !(iph->frag_off & htons(IP_OFFSET)) && ihl >= IP_MIN_HLEN && len >= ihl + 4) {
			fl->ports = true;
			fl->sport = (uint16_t)(p[ihl] << 8 | p[ihl + 1]);
			fl->dport = (uint16_t)(p[ihl + 2] << 8 | p[ihl + 3]);
		}
	}
}

static bool cap_term(const struct capture_term *t, const struct cap_flow *fl)
{
	switch (t->kind) {
	case CAPTURE_PROTO:
		if (t->value == CAPTURE_PROTO_ARP)
			return fl->arp;
		if (t->value == CAPTURE_PROTO_IP)
			return fl->ip;
		return fl->ip && fl->proto == t->value;
	case CAPTURE_HOST:
		if (!fl->ip && !fl->arp)
			return false;
		return (t->dir != 2 && fl->saddr == t->value) || (t->dir != 1 && fl->daddr == t->value);
	case CAPTURE_PORT:
		if (!fl->ports)
			return false;
		return (t->dir != 2 && fl->sport == t->value) || (t->dir != 1 && fl->dport == t->value);
	default:
		return false;
	}
}

bool capture_filter_match(const struct capture_filter *f, const uint8_t *frame, uint32_t len)
{
	struct cap_flow fl;

	if (!f->n)
		return true;
	cap_dissect(frame, len, &fl);
	for (unsigned int i = 0; i < f->n; i++)
		if (cap_term(&f->t[i], &fl) == f->t[i].negate)
			return false;
	return true;
}

/* ---- the tap (producer side) ------------------------------------------------ */

static void ring_copy_in(struct cap_ring *r, uint64_t size, uint64_t pos, const void *src,
			 uint32_t n)
{
	uint64_t off = pos & (size - 1);
	uint64_t first = size - off < n ? size - off : n;

	memcpy(r->buf + off, src, first);
	if (first < n)
		memcpy(r->buf, (const uint8_t *)src + first, n - first);
}

static void ring_copy_out(const struct cap_ring *r, uint64_t size, uint64_t pos, void *dst,
			  uint32_t n)
{
	uint64_t off = pos & (size - 1);
	uint64_t first = size - off < n ? size - off : n;

	memcpy(dst, r->buf + off, first);
	if (first < n)
		memcpy((uint8_t *)dst + first, r->buf, n - first);
}

/* packet_rcv: copy a frame that passes the filter into this thread's ring. */
static int packet_rcv(struct sk_buff *skb, struct net_device *dev, const struct packet_type *pt)
{
	struct capture *c = ns_container_of(pt, struct capture, pt);
	struct ns_capture_rec rec;
	struct cap_ring *r;
	const uint8_t *frame;
	const struct sk_buff *f;
	uint32_t len, linear, caplen, need, pos;
	uint64_t head, tail;
	struct timespec ts;
	int cpu = smp_processor_id();
	bool other = cpu < 0 || (unsigned int)cpu >= c->nrings - 1;

	if (!dev || (c->ifindex && dev->ifindex != c->ifindex) || skb->mac_header == SKB_HDR_UNSET)
		goto out;
	frame = skb_mac_header(skb);
	/* A GRO packet: the headers are linear, the rest of its payload in the frag_list. */
	linear = (uint32_t)(skb_tail_pointer(skb) - frame);
	len = linear + skb->data_len;
	if (!capture_filter_match(&c->filter, frame, linear))
		goto out;
	caplen = len < c->snaplen ? len : c->snaplen;
	need = (uint32_t)sizeof(rec) + NS_CAPTURE_ALIGN(caplen);
	r = &c->rings[other ? c->nrings - 1 : (unsigned int)cpu];
	if (other)
		pthread_mutex_lock(&c->other_lock);
	head = atomic_load_explicit(&r->head, memory_order_relaxed);
	tail = atomic_load_explicit(&r->tail, memory_order_acquire);
	if (c->ring_size - (head - tail) < need) {
		/* The reader is behind: count it, never wait. */
		ns_counter_add_shared(&r->dropped, 1);
		goto unlock;
	}
	memset(&rec, 0, sizeof(rec));
	rec.type = NS_CAPTURE_FRAME;
	rec.dir = skb->pkt_type == PACKET_OUTGOING ? NS_CAPTURE_OUT : NS_CAPTURE_IN;
	rec.ifindex = (uint32_t)dev->ifindex;
	rec.caplen = caplen;
	rec.len = len;
	clock_gettime(CLOCK_REALTIME, &ts);
	rec.tstamp_ns = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
	snprintf(rec.ifname, sizeof(rec.ifname), "%s", dev->name);
	ring_copy_in(r, c->ring_size, head, &rec, sizeof(rec));
	pos = caplen < linear ? caplen : linear;
	ring_copy_in(r, c->ring_size, head + sizeof(rec), frame, pos);
	skb_walk_frags(skb, f) {
		uint32_t n = caplen - pos < f->len ? caplen - pos : f->len;

		if (!n)
			break;
		ring_copy_in(r, c->ring_size, head + sizeof(rec) + pos, f->data, n);
		pos += n;
	}
	atomic_store_explicit(&r->head, head + need, memory_order_release);
	ns_counter_add_shared(&r->captured, 1);
unlock:
	if (other)
		pthread_mutex_unlock(&c->other_lock);
out:
	consume_skb(skb);
	return 0;
}

/* ---- the drain thread (consumer side) --------------------------------------- */

/* Send all of @buf; false if the reader is gone (or too slow while stopping). */
static bool cap_send(struct capture *c, const uint8_t *buf, size_t n)
{
	while (n) {
		ssize_t k = send(c->fd, buf, n, MSG_NOSIGNAL);

		if (k > 0) {
			buf += k;
			n -= (size_t)k;
			continue;
		}
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			struct pollfd p = { .fd = c->fd, .events = POLLOUT };

			if (atomic_load(&c->stop))
				return false;
			(void)poll(&p, 1, 100);
			continue;
		}
		return false;
	}
	return true;
}

/*
 * Move whole records from the rings into @out (at most @cap bytes), oldest
 * first across the rings (a merge by timestamp, so that a flow whose two
 * directions run on two workers reads in order).  Bytes moved.
 */
static size_t cap_drain(struct capture *c, uint8_t *out, size_t cap)
{
	uint64_t tails[NS_MAX_WORKERS + 1], heads[NS_MAX_WORKERS + 1];
	size_t used = 0;

	for (unsigned int i = 0; i < c->nrings; i++) {
		tails[i] = atomic_load_explicit(&c->rings[i].tail, memory_order_relaxed);
		heads[i] = atomic_load_explicit(&c->rings[i].head, memory_order_acquire);
	}
	for (;;) {
		struct ns_capture_rec rec, best_rec = { 0 };
		unsigned int best = c->nrings;
		uint32_t n;

		for (unsigned int i = 0; i < c->nrings; i++) {
			if (tails[i] == heads[i])
				continue;
			ring_copy_out(&c->rings[i], c->ring_size, tails[i], &rec, sizeof(rec));
			if (best == c->nrings || rec.tstamp_ns < best_rec.tstamp_ns) {
				best = i;
				best_rec = rec;
			}
		}
		if (best == c->nrings)
			break;
		n = (uint32_t)sizeof(best_rec) + NS_CAPTURE_ALIGN(best_rec.caplen);
		if (used + n > cap)
			break;
		ring_copy_out(&c->rings[best], c->ring_size, tails[best], out + used, n);
		used += n;
		tails[best] += n;
	}
	for (unsigned int i = 0; i < c->nrings; i++)
		atomic_store_explicit(&c->rings[i].tail, tails[i], memory_order_release);
	return used;
}

/* Has the reader shut its side down (or gone)? */
static bool cap_reader_done(struct capture *c, int timeout_ms)
{
	struct pollfd p = { .fd = c->fd, .events = POLLIN | POLLRDHUP };
	char buf[64];

	if (poll(&p, 1, timeout_ms) <= 0)
		return false;
	if (p.revents & (POLLHUP | POLLERR | POLLRDHUP))
		return true;
	/* Anything the reader writes is ignored; end of file ends the capture. */
	return recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT) == 0;
}

static void *capture_thread(void *arg)
{
	struct capture *c = arg;
	uint8_t *out = malloc(CAPTURE_OUTBUF);
	struct ns_capture_rec rec;
	struct ns_capture_end end = { 0 };
	uint8_t tail[sizeof(rec) + sizeof(end)];
	bool alive = out != NULL, quiet;
	size_t n;

	while (alive && !atomic_load(&c->stop)) {
		n = cap_drain(c, out, CAPTURE_OUTBUF);
		if (n) {
			alive = cap_send(c, out, n);
			continue;
		}
		if (cap_reader_done(c, CAPTURE_IDLE_MS))
			break;
	}
	/* Detach, then wait until no worker can still be inside packet_rcv. */
	dev_remove_pack(&c->pt);
	quiet = synchronize_net();
	while (alive && out && (n = cap_drain(c, out, CAPTURE_OUTBUF)) != 0)
		alive = cap_send(c, out, n);
	for (unsigned int i = 0; i < c->nrings; i++) {
		end.captured += ns_counter_read(&c->rings[i].captured);
		end.dropped += ns_counter_read(&c->rings[i].dropped);
	}
	if (alive) {
		memset(&rec, 0, sizeof(rec));
		rec.type = NS_CAPTURE_END;
		rec.caplen = sizeof(end);
		memcpy(tail, &rec, sizeof(rec));
		memcpy(tail + sizeof(rec), &end, sizeof(end));
		(void)cap_send(c, tail, sizeof(tail));
	}
	ns_log(NS_LOG_INFO, "capture: ended, %llu frames captured, %llu dropped",
	       (unsigned long long)end.captured, (unsigned long long)end.dropped);
	close(c->fd);
	c->fd = -1;
	free(out);
	/* Detached and drained: no producer is left, give the memory back now. */
	for (unsigned int i = 0; quiet && i < c->nrings; i++) {
		free(c->rings[i].buf);
		c->rings[i].buf = NULL;
	}
	atomic_store(&c->done, true);
	return NULL;
}

/* ---- start and end (control thread) ------------------------------------------ */

static void capture_free(struct capture *c)
{
	for (unsigned int i = 0; c->rings && i < c->nrings; i++)
		free(c->rings[i].buf);
	free(c->rings);
	pthread_mutex_destroy(&c->other_lock);
	if (c->fd >= 0)
		close(c->fd);
	free(c);
}

/* Join and free captures whose thread ended (all of them with @all).  Under cap_list_lock. */
static void capture_reap(bool all)
{
	struct capture **pp = &cap_list;

	while (*pp) {
		struct capture *c = *pp;

		if (!all && !atomic_load(&c->done)) {
			pp = &c->next;
			continue;
		}
		atomic_store(&c->stop, true);
		pthread_join(c->thread, NULL);
		*pp = c->next;
		capture_free(c);
	}
}

int capture_start(const char *ifname, const struct capture_filter *f, uint32_t snaplen,
		  uint32_t buffer_kb, int *fd, char *err, size_t errlen)
{
	struct capture *c;
	struct net_device *dev = NULL;
	uint64_t want, size = CAPTURE_MIN_RING;
	int sv[2], rc;

	if (ifname && *ifname) {
		dev = dev_get_by_name(ifname);
		if (!dev) {
			snprintf(err, errlen, "capture: no device '%s'", ifname);
			return -ENODEV;
		}
	}
	if (snaplen == 0 || snaplen > CAPTURE_MAX_SNAPLEN)
		snaplen = CAPTURE_MAX_SNAPLEN;
	if (buffer_kb == 0)
		buffer_kb = CAPTURE_DEFAULT_BUFFER_KB;
	if (buffer_kb > CAPTURE_MAX_BUFFER_KB) {
		snprintf(err, errlen, "capture: buffer over %u KiB", CAPTURE_MAX_BUFFER_KB);
		return -EINVAL;
	}
	want = (uint64_t)buffer_kb * 1024u;
	while (size < want)
		size <<= 1;
	c = calloc(1, sizeof(*c));
	if (!c)
		goto nomem;
	c->fd = -1;
	pthread_mutex_init(&c->other_lock, NULL);
	c->filter = *f;
	c->ifindex = dev ? dev->ifindex : 0;
	c->snaplen = snaplen;
	c->ring_size = size;
	c->nrings = (unsigned int)(nr_workers > 0 ? nr_workers : 0) + 1;
	c->rings = calloc(c->nrings, sizeof(*c->rings));
	if (!c->rings)
		goto free_c;
	for (unsigned int i = 0; i < c->nrings; i++) {
		c->rings[i].buf = malloc(size);
		if (!c->rings[i].buf)
			goto free_c;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		rc = -errno;
		snprintf(err, errlen, "capture: socketpair: %s", strerror(errno));
		capture_free(c);
		return rc;
	}
	/* The reader's end blocks as usual; ours does not (see cap_send). */
	if (fcntl(sv[0], F_SETFL, O_NONBLOCK) < 0) {
		rc = -errno;
		snprintf(err, errlen, "capture: fcntl: %s", strerror(errno));
		close(sv[0]);
		close(sv[1]);
		capture_free(c);
		return rc;
	}
	c->fd = sv[0];
	c->pt.type = htons(ETH_P_ALL_NS);
	c->pt.name = "capture";
	c->pt.func = packet_rcv;
	pthread_mutex_lock(&cap_list_lock);
	capture_reap(false);
	dev_add_pack(&c->pt);
	rc = pthread_create(&c->thread, NULL, capture_thread, c);
	if (rc) {
		pthread_mutex_unlock(&cap_list_lock);
		dev_remove_pack(&c->pt);
		(void)synchronize_net();
		close(sv[1]);
		capture_free(c);
		snprintf(err, errlen, "capture: cannot start a thread: %s", strerror(rc));
		return -rc;
	}
	c->next = cap_list;
	cap_list = c;
	pthread_mutex_unlock(&cap_list_lock);
	*fd = sv[1];
	ns_log(NS_LOG_INFO, "capture: started on %s, %llu KiB per worker",
	       dev ? dev->name : "every device", (unsigned long long)(size / 1024u));
	return 0;

free_c:
	capture_free(c);
nomem:
	snprintf(err, errlen, "capture: out of memory");
	return -ENOMEM;
}

unsigned int capture_count(void)
{
	unsigned int n = 0;

	pthread_mutex_lock(&cap_list_lock);
	for (struct capture *c = cap_list; c; c = c->next)
		n += !atomic_load(&c->done);
	pthread_mutex_unlock(&cap_list_lock);
	return n;
}

void capture_exit(void)
{
	pthread_mutex_lock(&cap_list_lock);
	capture_reap(true);
	pthread_mutex_unlock(&cap_list_lock);
}
