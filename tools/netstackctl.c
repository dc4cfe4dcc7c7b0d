/*
 * netstackctl: show netstackd's state and read or set its sysctls.
 *
 * A short-lived client of the daemon's control socket (proto/netstack.proto,
 * one message per SOCK_SEQPACKET packet): connect, Hello, one ShowRequest
 * or SysctlRequest, and print the reply as text or, with -j, as JSON whose
 * shapes scripts and tests rely on.  Single-threaded.  Every failure is one line on stderr.
 * Exit status: 0 success, 1 netstackd unreachable or answered with an error,
 * 2 usage error.
 */
#include "config.h"

#include <errno.h>
#include <arpa/inet.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <json-c/json.h>

#include "netstack.pb-c.h"
#include "proto/ipc.h"
#include "tools/netstackctl.h"

#define CTL_TIMEOUT_SEC 5

struct ctl_object {
	const char *name;
	Netstack__ShowWhat what;
	const char *help;
	void (*print)(const Netstack__ShowReply *r, const struct ctl_opts *o);
	struct json_object *(*to_json)(const Netstack__ShowReply *r, const struct ctl_opts *o);
};

void ctl_err(const char *fmt, ...)
{
	va_list ap;

	fputs(PROG ": ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static int ctl_ndigits(uint64_t v)
{
	int n = 1;

	while (v >= 10) {
		v /= 10;
		n++;
	}
	return n;
}

/* --- link ------------------------------------------------------------------ */

/* One `ip -s link` block: a header row and a row of right-aligned numbers. */
static void ctl_print_stat_rows(const char *label, const char *const *hdr,
				const uint64_t *val, int n)
{
	int w[8], i;

	for (i = 0; i < n; i++) {
		w[i] = (int)strlen(hdr[i]);
		if (ctl_ndigits(val[i]) > w[i])
			w[i] = ctl_ndigits(val[i]);
	}
	if (w[0] < 6)
		w[0] = 6;
	printf("    %s", label);
	for (i = 0; i < n; i++)
		printf(" %*s", w[i], hdr[i]);
	printf("\n    %*s", (int)strlen(label), "");
	for (i = 0; i < n; i++)
		printf(" %*" PRIu64, w[i], val[i]);
	putchar('\n');
}

/* link -s: qdisc, txqueuelen and one row per queue pair (ethtool -S's view). */
static void ctl_print_link_queues(const Netstack__LinkInfo *l)
{
	printf("    qdisc %s txqueuelen %u\n", l->qdisc[0] ? l->qdisc : "?", l->txqueuelen);
	if (!l->n_queue_stats)
		return;
	printf("    %5s %4s %6s %18s %12s %10s %12s %18s %12s %10s\n", "queue", "cpu", "weight",
	       "rps_cpus", "rx_packets", "rx_dropped", "rx_irqs", "rx_bytes", "tx_packets",
	       "tx_dropped");
	for (size_t q = 0; q < l->n_queue_stats; q++) {
		const Netstack__LinkQueueStats *qs = l->queue_stats[q];
		char cpu[16], rps[20];

		snprintf(cpu, sizeof(cpu), "%d", qs->cpu);
		snprintf(rps, sizeof(rps), "%" PRIx64, qs->rps_mask);
		printf("    %5u %4s %6u %18s %12" PRIu64 " %10" PRIu64 " %12" PRIu64 " %18" PRIu64
		       " %12" PRIu64 " %10" PRIu64 "\n", qs->index, qs->cpu < 0 ? "-" : cpu,
		       qs->weight, rps, qs->rx_packets, qs->rx_dropped, qs->rx_irqs, qs->rx_bytes,
		       qs->tx_packets, qs->tx_dropped);
	}
}

static void ctl_print_link(const Netstack__ShowReply *r, const struct ctl_opts *o)
{
	static const char *const rx_hdr[] = {
		"bytes", "packets", "errors", "dropped", "overrun", "mcast",
	};
	static const char *const tx_hdr[] = {
		"bytes", "packets", "errors", "dropped", "carrier", "collsns",
	};
	Netstack__LinkStats zero = NETSTACK__LINK_STATS__INIT;
	size_t i, j;

	for (i = 0; i < r->n_links; i++) {
		const Netstack__LinkInfo *l = r->links[i];
		const Netstack__LinkStats *s = l->stats ? l->stats : &zero;
		uint64_t rx[] = {
			s->rx_bytes, s->rx_packets, s->rx_errors, s->rx_dropped,
			s->rx_over_errors, s->multicast,
		};
		uint64_t tx[] = {
			s->tx_bytes, s->tx_packets, s->tx_errors, s->tx_dropped,
			s->tx_carrier_errors, s->collisions,
		};

		bool loopback = !strcmp(l->kind, "loopback");

		printf("%d: %s: <%s%s> mtu %u", l->ifindex, l->name, loopback ? "LOOPBACK," : "",
		       l->up ? "UP" : "DOWN", l->mtu);
		if (l->kind[0])
			printf(" kind %s", l->kind);
		printf(" queues %u/%u\n", l->rx_queues, l->tx_queues);
		if (l->mac[0])
			printf("    link/%s %s\n", loopback ? "loopback" : "ether", l->mac);
		for (j = 0; j < l->n_addrs; j++) {
			const Netstack__LinkAddr *a = l->addrs[j];

			printf("    inet %s/%u", a->local, a->prefixlen);
			if (a->broadcast[0])
				printf(" brd %s", a->broadcast);
			putchar('\n');
		}
		ctl_print_stat_rows("RX:", rx_hdr, rx, 6);
		ctl_print_stat_rows("TX:", tx_hdr, tx, 6);
		if (o->stats)
			ctl_print_link_queues(l);
	}
}

void ctl_json_add_u64(struct json_object *obj, const char *key, uint64_t v)
{
	json_object_object_add(obj, key, json_object_new_uint64(v));
}

void ctl_json_add_str(struct json_object *obj, const char *key, const char *v)
{
	json_object_object_add(obj, key, json_object_new_string(v));
}

static struct json_object *ctl_json_link_queues(const Netstack__LinkInfo *l)
{
	struct json_object *arr = json_object_new_array();

	for (size_t q = 0; q < l->n_queue_stats; q++) {
		const Netstack__LinkQueueStats *qs = l->queue_stats[q];
		struct json_object *o = json_object_new_object();

		ctl_json_add_u64(o, "queue", qs->index);
		json_object_object_add(o, "cpu", json_object_new_int(qs->cpu));
		ctl_json_add_u64(o, "weight", qs->weight);
		ctl_json_add_u64(o, "rps_cpus", qs->rps_mask);
		ctl_json_add_u64(o, "rx_packets", qs->rx_packets);
		ctl_json_add_u64(o, "rx_bytes", qs->rx_bytes);
		ctl_json_add_u64(o, "rx_dropped", qs->rx_dropped);
		ctl_json_add_u64(o, "rx_irqs", qs->rx_irqs);
		ctl_json_add_u64(o, "tx_packets", qs->tx_packets);
		ctl_json_add_u64(o, "tx_bytes", qs->tx_bytes);
		ctl_json_add_u64(o, "tx_dropped", qs->tx_dropped);
		json_object_array_add(arr, o);
	}
	return arr;
}

static struct json_object *ctl_json_link(const Netstack__ShowReply *r,
					 const struct ctl_opts *opts)
{
	Netstack__LinkStats zero = NETSTACK__LINK_STATS__INIT;
	struct json_object *arr = json_object_new_array();
	size_t i, j;

	for (i = 0; i < r->n_links; i++) {
		const Netstack__LinkInfo *l = r->links[i];
		const Netstack__LinkStats *s = l->stats ? l->stats : &zero;
		struct json_object *o = json_object_new_object();
		struct json_object *addrs = json_object_new_array();
		struct json_object *st = json_object_new_object();
		struct json_object *rx = json_object_new_object();
		struct json_object *tx = json_object_new_object();

		json_object_object_add(o, "ifindex", json_object_new_int64(l->ifindex));
		ctl_json_add_str(o, "ifname", l->name);
		ctl_json_add_str(o, "kind", l->kind);
		ctl_json_add_str(o, "address", l->mac);
		ctl_json_add_u64(o, "mtu", l->mtu);
		ctl_json_add_str(o, "operstate", l->up ? "UP" : "DOWN");
		ctl_json_add_u64(o, "rx_queues", l->rx_queues);
		ctl_json_add_u64(o, "tx_queues", l->tx_queues);
		for (j = 0; j < l->n_addrs; j++) {
			const Netstack__LinkAddr *a = l->addrs[j];
			struct json_object *ao = json_object_new_object();

			ctl_json_add_str(ao, "local", a->local);
			ctl_json_add_u64(ao, "prefixlen", a->prefixlen);
			if (a->broadcast[0])
				ctl_json_add_str(ao, "broadcast", a->broadcast);
			json_object_array_add(addrs, ao);
		}
		json_object_object_add(o, "addr_info", addrs);

		ctl_json_add_u64(rx, "bytes", s->rx_bytes);
		ctl_json_add_u64(rx, "packets", s->rx_packets);
		ctl_json_add_u64(rx, "errors", s->rx_errors);
		ctl_json_add_u64(rx, "dropped", s->rx_dropped);
		ctl_json_add_u64(rx, "over_errors", s->rx_over_errors);
		ctl_json_add_u64(rx, "length_errors", s->rx_length_errors);
		ctl_json_add_u64(rx, "missed", s->rx_missed_errors);
		ctl_json_add_u64(rx, "multicast", s->multicast);
		ctl_json_add_u64(tx, "bytes", s->tx_bytes);
		ctl_json_add_u64(tx, "packets", s->tx_packets);
		ctl_json_add_u64(tx, "errors", s->tx_errors);
		ctl_json_add_u64(tx, "dropped", s->tx_dropped);
		ctl_json_add_u64(tx, "carrier_errors", s->tx_carrier_errors);
		ctl_json_add_u64(tx, "collisions", s->collisions);
		json_object_object_add(st, "rx", rx);
		json_object_object_add(st, "tx", tx);
		json_object_object_add(o, "stats64", st);
		ctl_json_add_str(o, "qdisc", l->qdisc);
		ctl_json_add_u64(o, "txqlen", l->txqueuelen);
		json_object_object_add(o, "queues", ctl_json_link_queues(l));
		json_object_array_add(arr, o);
	}
	return arr;
}

/* --- softnet --------------------------------------------------------------- */

#define CTL_SOFTNET_COLS 9

static void ctl_softnet_row(const Netstack__SoftnetInfo *s, uint64_t *v)
{
	v[0] = s->cpu;
	v[1] = s->processed;
	v[2] = s->dropped;
	v[3] = s->time_squeeze;
	v[4] = s->received_rps;
	v[5] = s->backlog_len;
	v[6] = s->gro_merged;
	v[7] = s->gro_flush;
	v[8] = s->ip_rcv;
}

static void ctl_print_softnet(const Netstack__ShowReply *r, const struct ctl_opts *o)
{
	static const char *const hdr[CTL_SOFTNET_COLS] = {
		"cpu", "processed", "dropped", "time_squeeze", "received_rps", "backlog",
		"gro_merged", "gro_flush", "ip_rcv",
	};
	uint64_t v[CTL_SOFTNET_COLS];
	int w[CTL_SOFTNET_COLS];
	size_t i;
	int c;

	for (c = 0; c < CTL_SOFTNET_COLS; c++)
		w[c] = (int)strlen(hdr[c]);
	for (i = 0; i < r->n_softnet; i++) {
		ctl_softnet_row(r->softnet[i], v);
		for (c = 0; c < CTL_SOFTNET_COLS; c++)
			if (ctl_ndigits(v[c]) > w[c])
				w[c] = ctl_ndigits(v[c]);
	}
	for (c = 0; c < CTL_SOFTNET_COLS; c++)
		printf("%s%*s", c ? " " : "", w[c], hdr[c]);
	putchar('\n');
	for (i = 0; i < r->n_softnet; i++) {
		ctl_softnet_row(r->softnet[i], v);
		for (c = 0; c < CTL_SOFTNET_COLS; c++)
			printf("%s%*" PRIu64, c ? " " : "", w[c], v[c]);
		putchar('\n');
	}
}

static struct json_object *ctl_json_softnet(const Netstack__ShowReply *r,
					 const struct ctl_opts *opts)
{
	struct json_object *arr = json_object_new_array();
	size_t i;

	for (i = 0; i < r->n_softnet; i++) {
		const Netstack__SoftnetInfo *s = r->softnet[i];
		struct json_object *o = json_object_new_object();

		ctl_json_add_u64(o, "cpu", s->cpu);
		ctl_json_add_u64(o, "processed", s->processed);
		ctl_json_add_u64(o, "dropped", s->dropped);
		ctl_json_add_u64(o, "time_squeeze", s->time_squeeze);
		ctl_json_add_u64(o, "received_rps", s->received_rps);
		ctl_json_add_u64(o, "backlog_len", s->backlog_len);
		ctl_json_add_u64(o, "ipi_sent", s->ipi_sent);
		ctl_json_add_u64(o, "loops", s->loops);
		ctl_json_add_u64(o, "gro_merged", s->gro_merged);
		ctl_json_add_u64(o, "gro_flush", s->gro_flush);
		ctl_json_add_u64(o, "ip_rcv", s->ip_rcv);
		json_object_array_add(arr, o);
	}
	return arr;
}

/* --- neigh ----------------------------------------------------------------- */

static void ctl_print_neigh(const Netstack__ShowReply *r, const struct ctl_opts *o)
{
	size_t i;

	for (i = 0; i < r->n_neigh; i++) {
		const Netstack__NeighInfo *n = r->neigh[i];

		printf("%s dev %s", n->dst, n->dev);
		if (n->lladdr[0])
			printf(" lladdr %s", n->lladdr);
		printf(" %s", n->state);
		if (!strcmp(n->state, "INCOMPLETE"))
			printf(" probes %u queue %u", n->probes, n->queue_len);
		putchar('\n');
	}
}

static struct json_object *ctl_json_neigh(const Netstack__ShowReply *r,
					 const struct ctl_opts *opts)
{
	struct json_object *arr = json_object_new_array();
	size_t i;

	for (i = 0; i < r->n_neigh; i++) {
		const Netstack__NeighInfo *n = r->neigh[i];
		struct json_object *o = json_object_new_object();

		ctl_json_add_str(o, "dst", n->dst);
		ctl_json_add_str(o, "dev", n->dev);
		if (n->lladdr[0])
			ctl_json_add_str(o, "lladdr", n->lladdr);
		ctl_json_add_str(o, "state", n->state);
		ctl_json_add_u64(o, "probes", n->probes);
		ctl_json_add_u64(o, "queue_len", n->queue_len);
		ctl_json_add_u64(o, "confirmed_ms_ago", n->confirmed_ms_ago);
		ctl_json_add_u64(o, "used_ms_ago", n->used_ms_ago);
		json_object_array_add(arr, o);
	}
	return arr;
}

/* --- stats ----------------------------------------------------------------- */

static void ctl_print_stats(const Netstack__ShowReply *r, const struct ctl_opts *o)
{
	const char *group = NULL;
	int nw = 0, vw = 0;
	size_t i;

	for (i = 0; i < r->n_counters; i++) {
		const Netstack__Counter *c = r->counters[i];

		if ((int)strlen(c->name) > nw)
			nw = (int)strlen(c->name);
		if (ctl_ndigits(c->value) > vw)
			vw = ctl_ndigits(c->value);
	}
	/* The daemon sends each group's counters together, groups in order. */
	for (i = 0; i < r->n_counters; i++) {
		const Netstack__Counter *c = r->counters[i];

		if (!group || strcmp(group, c->group)) {
			group = c->group;
			printf("%s:\n", group);
		}
		printf("  %-*s  %*" PRIu64 "\n", nw, c->name, vw, c->value);
	}
}

static struct json_object *ctl_json_stats(const Netstack__ShowReply *r,
					 const struct ctl_opts *opts)
{
	/* Always present, even when empty (IcmpMsg lists only types seen). */
	static const char *const groups[] = { "Ip", "Icmp", "IcmpMsg", "Arp" };
	struct json_object *root = json_object_new_object();
	struct json_object *g;
	size_t i;

	for (i = 0; i < sizeof(groups) / sizeof(groups[0]); i++)
		json_object_object_add(root, groups[i], json_object_new_object());
	for (i = 0; i < r->n_counters; i++) {
		const Netstack__Counter *c = r->counters[i];

		if (!json_object_object_get_ex(root, c->group, &g)) {
			g = json_object_new_object();
			json_object_object_add(root, c->group, g);
		}
		ctl_json_add_u64(g, c->name, c->value);
	}
	return root;
}

/* --- drops ----------------------------------------------------------------- */

struct ctl_drop {
	const Netstack__Counter *c;
	size_t order;               /* the daemon's order, to keep ties stable */
};

static int ctl_drop_cmp(const void *a, const void *b)
{
	const struct ctl_drop *x = a, *y = b;

	if (x->c->value != y->c->value)
		return x->c->value > y->c->value ? -1 : 1;
	return x->order < y->order ? -1 : x->order > y->order;
}

static void ctl_print_drops(const Netstack__ShowReply *r, const struct ctl_opts *o)
{
	struct ctl_drop *d;
	size_t i, n = 0;
	int nw = 0, vw = 0;

	d = calloc(r->n_counters ? r->n_counters : 1, sizeof(*d));
	if (!d) {
		ctl_err("out of memory");
		return;
	}
	for (i = 0; i < r->n_counters; i++) {
		const Netstack__Counter *c = r->counters[i];

		if (!c->value && !o->all)
			continue;
		d[n].c = c;
		d[n].order = i;
		n++;
		if ((int)strlen(c->name) > nw)
			nw = (int)strlen(c->name);
		if (ctl_ndigits(c->value) > vw)
			vw = ctl_ndigits(c->value);
	}
	if (!n)
		printf("no drops\n");
	qsort(d, n, sizeof(*d), ctl_drop_cmp);
	for (i = 0; i < n; i++)
		printf("%-*s  %*" PRIu64 "  %s\n", nw, d[i].c->name, vw,
		       d[i].c->value, d[i].c->help);
	free(d);
}

static struct json_object *ctl_json_drops(const Netstack__ShowReply *r,
					 const struct ctl_opts *opts)
{
	struct json_object *root = json_object_new_object();
	size_t i;

	for (i = 0; i < r->n_counters; i++)
		ctl_json_add_u64(root, r->counters[i]->name, r->counters[i]->value);
	return root;
}

/* --- ss: sockets ------------------------------------------------------------ */

/*
 * ss(8)'s selection: -u/-t pick protocols (neither: all); without -a only
 * sockets with a peer are shown, so unconnected UDP (UNCONN) and listening
 * (LISTEN) sockets need -a.
 */
static bool ctl_ss_match(const Netstack__SockInfo *s, const struct ctl_opts *o)
{
	bool udp = !strcmp(s->proto, "udp"), tcp = !strcmp(s->proto, "tcp");

	if ((o->udp || o->tcp) && !((o->udp && udp) || (o->tcp && tcp)))
		return false;
	if (o->listening)
		return !strcmp(s->state, "LISTEN") || (!tcp && !strcmp(s->state, "UNCONN"));
	if (!o->all && (!strcmp(s->state, "UNCONN") || !strcmp(s->state, "LISTEN")))
		return false;
	return true;
}

static int ctl_sock_cmp(const void *a, const void *b)
{
	const Netstack__SockInfo *x = *(const Netstack__SockInfo *const *)a;
	const Netstack__SockInfo *y = *(const Netstack__SockInfo *const *)b;

	return x->sock_id < y->sock_id ? -1 : x->sock_id > y->sock_id;
}

/* The sockets to show, sorted by id; *@n set.  NULL if out of memory. */
static const Netstack__SockInfo **ctl_ss_select(const Netstack__ShowReply *r,
						const struct ctl_opts *o, size_t *n)
{
	const Netstack__SockInfo **v = calloc(r->n_sockets ? r->n_sockets : 1, sizeof(*v));
	size_t i;

	*n = 0;
	if (!v)
		return NULL;
	for (i = 0; i < r->n_sockets; i++)
		if (ctl_ss_match(r->sockets[i], o))
			v[(*n)++] = r->sockets[i];
	qsort(v, *n, sizeof(*v), ctl_sock_cmp);
	return v;
}

/* "pids=(1,2)" into @buf of @size bytes. */
static void ctl_format_pids(char *buf, size_t size, const Netstack__SockInfo *s)
{
	size_t i, len;

	len = (size_t)snprintf(buf, size, "pids=(");
	for (i = 0; i < s->n_pids && len < size; i++)
		len += (size_t)snprintf(buf + len, size - len, "%s%u", i ? "," : "", s->pids[i]);
	if (len < size)
		snprintf(buf + len, size - len, ")");
}

/* "0,1" (or "-"): the workers that received for @s. */
static void ctl_format_cpus(char *buf, size_t size, const Netstack__SockInfo *s)
{
	size_t off = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < s->n_rx_cpus && off + 12 < size; i++)
		off += (size_t)snprintf(buf + off, size - off, "%s%u", i ? "," : "", s->rx_cpus[i]);
	if (!off)
		snprintf(buf, size, "-");
}

static int ctl_max(int a, int b)
{
	return a > b ? a : b;
}

/* Like `ss -uanp`: one line per socket. */
static void ctl_print_ss(const Netstack__ShowReply *r, const struct ctl_opts *o)
{
	bool netid = o->udp == o->tcp;          /* more than one protocol */
	int wl = (int)strlen("Local Address:Port"), wp = (int)strlen("Peer Address:Port");
	int wr = (int)strlen("Recv-Q"), ws = (int)strlen("Send-Q");
	const Netstack__SockInfo **v;
	char pids[256];
	size_t i, n;

	v = ctl_ss_select(r, o, &n);
	if (!v) {
		ctl_err("out of memory");
		return;
	}
	for (i = 0; i < n; i++) {
		wl = ctl_max(wl, (int)strlen(v[i]->local));
		wp = ctl_max(wp, (int)strlen(v[i]->peer));
		wr = ctl_max(wr, ctl_ndigits(v[i]->recv_q));
		ws = ctl_max(ws, ctl_ndigits(v[i]->send_q));
	}
	if (netid)
		printf("%-5s ", "Netid");
	printf("%-10s %*s %*s %-*s %-*s %s\n", "State", wr, "Recv-Q", ws, "Send-Q",
	       wl, "Local Address:Port", wp, "Peer Address:Port", "Process");
	for (i = 0; i < n; i++) {
		const Netstack__SockInfo *s = v[i];

		ctl_format_pids(pids, sizeof(pids), s);
		if (netid)
			printf("%-5s ", s->proto);
		printf("%-10s %*u %*u %-*s %-*s %s\n", s->state, wr, s->recv_q, ws, s->send_q,
		       wl, s->local, wp, s->peer, pids);
		if (o->info) {
			char cpus[200];

			ctl_format_cpus(cpus, sizeof(cpus), s);
			printf("\t owner_cpu:%d rx_cpus:%s\n", s->owner_cpu, cpus);
		}
		if (o->info && !strcmp(s->proto, "tcp") && strcmp(s->state, "LISTEN"))
			printf("\t %s rto:%u rtt:%u.%03u/%u.%03u mss:%u cwnd:%u ssthresh:%u "
			       "bytes_acked:%llu bytes_received:%llu unacked:%u sacked:%u "
			       "retrans:%u/%u delivery_rate:%llubps\n",
			       s->cong, s->rto_ms, s->rtt_us / 1000, s->rtt_us % 1000,
			       s->rttvar_us / 1000, s->rttvar_us % 1000, s->mss, s->cwnd,
			       s->ssthresh, (unsigned long long)s->bytes_acked,
			       (unsigned long long)s->bytes_received, s->unacked, s->sacked,
			       s->retrans, s->total_retrans,
			       (unsigned long long)s->delivery_rate * 8u);
	}
	free(v);
}

static struct json_object *ctl_json_ss(const Netstack__ShowReply *r, const struct ctl_opts *o)
{
	struct json_object *arr = json_object_new_array();
	const Netstack__SockInfo **v;
	size_t i, j, n;

	v = ctl_ss_select(r, o, &n);
	for (i = 0; v && i < n; i++) {
		const Netstack__SockInfo *s = v[i];
		struct json_object *obj = json_object_new_object();
		struct json_object *pids = json_object_new_array();

		ctl_json_add_u64(obj, "sock_id", s->sock_id);
		ctl_json_add_str(obj, "proto", s->proto);
		ctl_json_add_str(obj, "state", s->state);
		ctl_json_add_str(obj, "local", s->local);
		ctl_json_add_str(obj, "peer", s->peer);
		ctl_json_add_u64(obj, "recv_q", s->recv_q);
		ctl_json_add_u64(obj, "send_q", s->send_q);
		for (j = 0; j < s->n_pids; j++)
			json_object_array_add(pids, json_object_new_uint64(s->pids[j]));
		json_object_object_add(obj, "pids", pids);
		ctl_json_add_u64(obj, "drops", s->drops);
		json_object_object_add(obj, "owner_cpu", json_object_new_int(s->owner_cpu));
		{
			struct json_object *cpus = json_object_new_array();

			for (j = 0; j < s->n_rx_cpus; j++)
				json_object_array_add(cpus, json_object_new_uint64(s->rx_cpus[j]));
			json_object_object_add(obj, "rx_cpus", cpus);
		}
		if (!strcmp(s->proto, "tcp")) {
			ctl_json_add_str(obj, "cong", s->cong);
			ctl_json_add_u64(obj, "cwnd", s->cwnd);
			ctl_json_add_u64(obj, "ssthresh", s->ssthresh);
			ctl_json_add_u64(obj, "rtt_us", s->rtt_us);
			ctl_json_add_u64(obj, "rttvar_us", s->rttvar_us);
			ctl_json_add_u64(obj, "rto_ms", s->rto_ms);
			ctl_json_add_u64(obj, "mss", s->mss);
			ctl_json_add_u64(obj, "retrans", s->retrans);
			ctl_json_add_u64(obj, "total_retrans", s->total_retrans);
			ctl_json_add_u64(obj, "sacked", s->sacked);
			ctl_json_add_u64(obj, "unacked", s->unacked);
			ctl_json_add_u64(obj, "delivery_rate", s->delivery_rate);
			ctl_json_add_u64(obj, "bytes_acked", s->bytes_acked);
			ctl_json_add_u64(obj, "bytes_received", s->bytes_received);
		}
		json_object_array_add(arr, obj);
	}
	free(v);
	return arr;
}

/* --- clients ----------------------------------------------------------------- */

static void ctl_print_clients(const Netstack__ShowReply *r, const struct ctl_opts *o)
{
	size_t i;

	printf("%7s %6s %6s %7s %12s %12s  %s\n", "PID", "UID", "GID", "SOCKETS",
	       "SHM-USED", "SHM-SIZE", "PROGRAM");
	for (i = 0; i < r->n_clients; i++) {
		const Netstack__ClientInfo *c = r->clients[i];

		printf("%7u %6u %6u %7u %12" PRIu64 " %12" PRIu64 "  %s\n", c->pid, c->uid,
		       c->gid, c->sockets, c->shm_used, c->shm_size, c->program);
	}
}

static struct json_object *ctl_json_clients(const Netstack__ShowReply *r,
					    const struct ctl_opts *o)
{
	struct json_object *arr = json_object_new_array();
	size_t i;

	for (i = 0; i < r->n_clients; i++) {
		const Netstack__ClientInfo *c = r->clients[i];
		struct json_object *obj = json_object_new_object();

		ctl_json_add_u64(obj, "pid", c->pid);
		ctl_json_add_u64(obj, "uid", c->uid);
		ctl_json_add_u64(obj, "gid", c->gid);
		ctl_json_add_str(obj, "program", c->program);
		ctl_json_add_u64(obj, "sockets", c->sockets);
		ctl_json_add_u64(obj, "shm_size", c->shm_size);
		ctl_json_add_u64(obj, "shm_used", c->shm_used);
		json_object_array_add(arr, obj);
	}
	return arr;
}

/* --- objects and usage ----------------------------------------------------- */

static const struct ctl_object ctl_objects[] = {
	{ "link", NETSTACK__SHOW_WHAT__SHOW_LINK,
	  "interfaces: state, addresses, queues and packet counters",
	  ctl_print_link, ctl_json_link },
	{ "softnet", NETSTACK__SHOW_WHAT__SHOW_SOFTNET,
	  "per-worker packet processing counters (like /proc/net/softnet_stat)",
	  ctl_print_softnet, ctl_json_softnet },
	{ "neigh", NETSTACK__SHOW_WHAT__SHOW_NEIGH,
	  "the neighbour (ARP) cache",
	  ctl_print_neigh, ctl_json_neigh },
	{ "stats", NETSTACK__SHOW_WHAT__SHOW_STATS,
	  "SNMP counters: Ip, Icmp, IcmpMsg, Arp, Udp, Tcp, TcpExt (like nstat); FRAG reassembly gauges; Impair",
	  ctl_print_stats, ctl_json_stats },
	{ "drops", NETSTACK__SHOW_WHAT__SHOW_DROPS,
	  "dropped packets counted by reason, most frequent first",
	  ctl_print_drops, ctl_json_drops },
	{ "ss", NETSTACK__SHOW_WHAT__SHOW_SOCKETS,
	  "sockets, like ss(8): tcp, udp, icmp, raw; queues, addresses, processes",
	  ctl_print_ss, ctl_json_ss },
	{ "clients", NETSTACK__SHOW_WHAT__SHOW_CLIENTS,
	  "client processes: sockets held, shared memory used",
	  ctl_print_clients, ctl_json_clients },
};

#define CTL_NOBJECTS (sizeof(ctl_objects) / sizeof(ctl_objects[0]))

static const struct ctl_object *ctl_find_object(const char *name)
{
	size_t i;

	if (!strcmp(name, "neighbour") || !strcmp(name, "neighbor"))
		name = "neigh";
	for (i = 0; i < CTL_NOBJECTS; i++)
		if (!strcmp(ctl_objects[i].name, name))
			return &ctl_objects[i];
	return NULL;
}

static void ctl_usage(FILE *f)
{
	size_t i;

	fprintf(f, "Usage: " PROG " [OPTIONS] OBJECT\n"
		"       " PROG " [OPTIONS] sysctl NAME | -a | -w NAME=VALUE\n"
		"       " PROG " [OPTIONS] route [show|add|del ...]\n"
		"       " PROG " [OPTIONS] addr [show|add|del ...]\n"
		"       " PROG " [OPTIONS] hook [list|add|insert|del|flush ...]\n"
		"       " PROG " [OPTIONS] capture [-i IFACE] [-c COUNT] [-w FILE] [FILTER]\n"
		"       " PROG " [OPTIONS] link [-s] [-j] | link set DEV txqueuelen N\n"
		"       " PROG " [OPTIONS] qdisc [show] [dev DEV] [-j]\n"
		"       " PROG " [OPTIONS] trace [-i IFACE] [-c COUNT] [-j] [FILTER]\n"
		"Show the state of netstackd, the userspace TCP/IP stack, and read or set\n"
		"its run-time knobs.\n"
		"\n"
		"Objects:\n");
	for (i = 0; i < CTL_NOBJECTS; i++)
		fprintf(f, "  %-9s %s\n", ctl_objects[i].name, ctl_objects[i].help);
	fprintf(f, "  %-9s %s\n", "sysctl",
		"run-time knobs with the kernel's names, like sysctl(8)");
	fprintf(f, "  %-9s %s\n", "route",
		"routes, like ip route: show [table main|local|all], add ROUTE, del ROUTE");
	fprintf(f, "  %-9s %s\n", "addr",
		"addresses, like ip -br addr: show [dev NAME], add|del A.B.C.D/N dev NAME");
	fprintf(f, "  %-9s %s\n", "hook",
		"rule chains at the five netfilter points, like iptables (see HOOK)");
	fprintf(f, "  %-9s %s\n", "capture",
		"capture frames in both directions, like tcpdump (see CAPTURE)");
	fprintf(f, "  %-9s %s\n", "qdisc",
		"transmit queues' qdiscs with counters, like tc -s qdisc (see LINK)");
	fprintf(f, "  %-9s %s\n", "trace",
		"every stage sampled packets pass in the stack, with times (see TRACE)");
	fprintf(f, "\n"
		"ROUTE: [unicast|blackhole|unreachable|prohibit] PREFIX|default\n"
		"       [via GATEWAY] [dev NAME] [metric N] [src ADDRESS]\n"
		"  e.g. route add 10.200.9.0/24 via 10.200.1.1\n"
		"       route del default\n"
		"       route add unreachable 10.200.50.0/24\n"
		"Changing routes and addresses needs root or netstackd's user.  A new\n"
		"address brings its local, broadcast and connected routes and is\n"
		"announced with a gratuitous ARP; deleting it removes them.\n");
	fprintf(f, "\n"
		"HOOK: hook [list] [HOOK] [-j]       rules with packet/byte counters\n"
		"      hook add HOOK [--pos N] RULE  append (or insert before rule N)\n"
		"      hook insert HOOK [N] RULE     insert at N (default 1)\n"
		"      hook del HOOK N               delete rule N\n"
		"      hook flush [HOOK]             delete all rules (of HOOK)\n"
		"  HOOK: PREROUTING INPUT FORWARD OUTPUT POSTROUTING (or the kernel's\n"
		"        PRE_ROUTING LOCAL_IN FORWARD LOCAL_OUT POST_ROUTING), any case\n"
		"  RULE: [-i IF] [-o IF] [-p tcp|udp|icmp|N] [-s A.B.C.D[/N]] [-d A.B.C.D[/N]]\n"
		"        [--sport P[:P]] [--dport P[:P]] [--tcp-flags MASK COMP | --syn]\n"
		"        [-j ACCEPT|DROP|REJECT|COUNT] [--reject-with icmp-port-unreachable|\n"
		"        icmp-net-unreachable|icmp-host-unreachable|icmp-proto-unreachable|\n"
		"        icmp-net-prohibited|icmp-host-prohibited|icmp-admin-prohibited|tcp-reset]\n"
		"  The first matching ACCEPT, DROP or REJECT decides; COUNT (or no -j) only\n"
		"  counts; the end of a chain accepts.  REJECT only in INPUT, FORWARD, OUTPUT.\n"
		"  e.g. hook add input -p tcp --dport 8080 -j DROP\n"
		"       hook add input -p tcp --dport 8080 -j REJECT --reject-with tcp-reset\n"
		"Changing rules needs root or netstackd's user.\n");
	fprintf(f, "\n"
		"LINK: link [-s] [-j]    interfaces; -s (--stats) adds the qdisc, txqueuelen\n"
		"                        and per-queue counters: worker (cpu), NAPI weight,\n"
		"                        rps_cpus, rx/tx packets, bytes, drops, rx irqs\n"
		"      link set DEV txqueuelen N   each TX queue's qdisc limit (1..1000000;\n"
		"                        root or netstackd's user)\n"
		"      qdisc [show] [dev DEV] [-j]   pfifo_fast per TX queue (3 bands by TOS):\n"
		"                        sent bytes/packets, dropped, overlimits, requeues,\n"
		"                        backlog; lo is noqueue\n");
	fprintf(f, "\n"
		"CAPTURE: capture [-i IFACE] [-c COUNT] [-w FILE] [-B KiB] [-s SNAPLEN] [FILTER]\n"
		"  Frames received (at the taps of __netif_receive_skb) and sent (at\n"
		"  dev_queue_xmit) on IFACE (default: all), until COUNT frames or ^C.\n"
		"  -w FILE writes a pcap file (- for stdout), else one line per frame.\n"
		"  -B sets the buffer per worker (default 4096 KiB); frames that do not fit\n"
		"  are counted as dropped and reported at the end.  Needs root.\n"
		"  FILTER: PRIMITIVE [and PRIMITIVE]..., PRIMITIVE being tcp, udp, icmp,\n"
		"  arp, ip, host ADDR, src host ADDR, dst host ADDR, port N, src port N,\n"
		"  dst port N, each optionally preceded by 'not'.\n");
	fprintf(f, "\n"
		"TRACE: trace [-i IFACE] [-c COUNT] [-j] [FILTER]\n"
		"  The first COUNT (default 1, at most 512) packets that pass FILTER (as for\n"
		"  capture), received on IFACE (default: all) or sent by a socket, and every\n"
		"  stage each passed: irq, napi poll, netif_receive_skb, ip_rcv, the hooks,\n"
		"  the route, the protocol, the socket queue and the client's read; or from\n"
		"  the socket write down to the driver.  One line per stage with the time\n"
		"  since the packet's first stage and the worker; a dropped packet ends at\n"
		"  the drop with its reason; replies it caused (echo reply, ICMP error,\n"
		"  RST) follow as part of its trace.  \"read by client\" is seen by polling\n"
		"  the socket's ring about every millisecond (up to 2 s).  -j prints JSON.\n"
		"  One trace at a time (EBUSY).  Needs root.\n");
	fprintf(f, "\n"
		"Options:\n"
		"  -s, --socket PATH  netstackd's socket (default: $" NS_IPC_SOCKET_ENV
		", else\n"
		"                     " NS_IPC_DEFAULT_SOCKET ")\n"
		"  -j, --json         print JSON instead of text\n"
		"  -a, --all          drops: also list reasons that never occurred;\n"
		"                     ss: also unconnected (UNCONN) and listening sockets;\n"
		"                     sysctl: every knob, sorted by name\n"
		"  -w, --write        sysctl: set NAME to VALUE (root or netstackd's user)\n"
		"  -u, --udp          ss: UDP sockets (with -t: both; neither: all,\n"
		"                     ICMP ping and raw sockets too)\n"
		"  -t, --tcp          ss: TCP sockets\n"
		"  -l, --listening    ss: only listening (and unconnected UDP) sockets\n"
		"  -i, --info         ss: the owner worker and the workers that received for\n"
		"                     each socket (owner_cpu, rx_cpus), and TCP internals\n"
		"                     (cwnd, ssthresh, rtt/rttvar, rto, mss, retransmits,\n"
		"                     SACKed, delivery rate), like ss -ti\n"
		"  -n, --numeric      ss: accepted; names are never resolved\n"
		"  -p, --processes    ss: accepted; holding processes are always shown\n"
		"  -h, --help         print this help and exit\n"
		"      --version      print the version and exit\n"
		"\n"
		"Exit status: 0 success, 1 netstackd unreachable or failed, 2 usage error.\n");
}

int ctl_parse_u32(const char *w, uint32_t max, uint32_t *v)
{
	char *end;
	unsigned long n;

	errno = 0;
	n = strtoul(w, &end, 10);
	if (errno || end == w || *end || *w == '-' || n > max)
		return -1;
	*v = (uint32_t)n;
	return 0;
}

volatile sig_atomic_t ctl_interrupted;

static void ctl_on_interrupt(int sig)
{
	(void)sig;
	ctl_interrupted = 1;
}

void ctl_catch_interrupt(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = ctl_on_interrupt;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

int ctl_read_record(int fd, void *buf, size_t n, bool stop_on_signal, int end_wait_ms,
		    bool *timed_out)
{
	size_t got = 0;

	while (got < n) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t k;
		int r = poll(&p, 1, stop_on_signal ? 200 : end_wait_ms);

		if (r < 0 && errno == EINTR)
			r = 0;
		if (r == 0) {
			if (stop_on_signal && !ctl_interrupted)
				continue;
			if (!stop_on_signal) {
				if (timed_out)
					*timed_out = true;
				return -1;
			}
			if (got == 0)
				return -1;      /* interrupted between records */
			continue;               /* finish this record first */
		}
		k = read(fd, (uint8_t *)buf + got, n - got);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -1;
		if (k == 0)
			return got ? -1 : 0;
		got += (size_t)k;
	}
	return 1;
}

Netstack__Reply *ctl_call_stream(const struct ctl_opts *o, const Netstack__Request *req,
				 int body_case, const char *what, int *fd)
{
	Netstack__Reply *reply;
	int cfd = ctl_open(o);

	*fd = -1;
	if (cfd < 0)
		return NULL;
	reply = ctl_call_fd(cfd, req, fd);
	close(cfd);
	if (!reply)
		return NULL;
	if (ctl_reply_failed(reply))
		goto fail;
	if ((int)reply->body_case != body_case || *fd < 0) {
		ctl_err("unexpected answer to %s from netstackd", what);
		goto fail;
	}
	return reply;
fail:
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
	netstack__reply__free_unpacked(reply, NULL);
	return NULL;
}

int ctl_usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs(PROG ": ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\nTry '" PROG " --help' for more information.\n", stderr);
	return EXIT_USAGE;
}

/* --- talking to the daemon ------------------------------------------------- */

/* Connect to @path with receive and send timeouts.  fd, or -1 (reported). */
static int ctl_connect(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct timeval tv = { CTL_TIMEOUT_SEC, 0 };
	const char *hint = "";
	int fd, e;

	if (strlen(path) >= sizeof(sun.sun_path)) {
		ctl_err("socket path too long: %s", path);
		return -1;
	}
	memcpy(sun.sun_path, path, strlen(path) + 1);

	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		ctl_err("socket: %s", strerror(errno));
		return -1;
	}
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		e = errno;
		if (e == ENOENT || e == ECONNREFUSED)
			hint = " (is netstackd running?)";
		else if (e == EACCES || e == EPERM)
			hint = " (are you in the socket's group?)";
		ctl_err("cannot connect to netstackd at %s: %s%s", path, strerror(e), hint);
		close(fd);
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	return fd;
}

/* Take a descriptor passed with @msg into *@fd_out; close any others. */
static void ctl_take_fds(struct msghdr *msg, int *fd_out)
{
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(msg); cm; cm = CMSG_NXTHDR(msg, cm)) {
		size_t n;

		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		n = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < n; i++) {
			int pfd;

			memcpy(&pfd, CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
			if (fd_out && *fd_out < 0)
				*fd_out = pfd;
			else
				close(pfd);
		}
	}
}

Netstack__Reply *ctl_call(int fd, const Netstack__Request *req)
{
	return ctl_call_fd(fd, req, NULL);
}

/*
 * Send @req and wait for its Reply.  Returns the decoded reply (free with
 * netstack__reply__free_unpacked) or NULL after reporting why.
 */
Netstack__Reply *ctl_call_fd(int fd, const Netstack__Request *req, int *fd_out)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(4 * sizeof(int))];
	} cmsg;
	struct iovec iov;
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	Netstack__Reply *reply = NULL;
	size_t len = netstack__request__get_packed_size(req);
	uint8_t *buf;
	ssize_t n;

	buf = malloc(len > NS_IPC_MAX_MSG ? len : NS_IPC_MAX_MSG);
	if (!buf) {
		ctl_err("out of memory");
		return NULL;
	}
	netstack__request__pack(req, buf);
	do
		n = send(fd, buf, len, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		if (errno == EPIPE || errno == ECONNRESET)
			ctl_err("netstackd closed the connection");
		else
			ctl_err("cannot send to netstackd: %s", strerror(errno));
		goto out_free_buf;
	}

	iov.iov_base = buf;
	iov.iov_len = NS_IPC_MAX_MSG;
	if (fd_out)
		*fd_out = -1;
	do {
		msg.msg_control = cmsg.buf;
		msg.msg_controllen = sizeof(cmsg.buf);
		n = recvmsg(fd, &msg, MSG_CMSG_CLOEXEC);
	} while (n < 0 && errno == EINTR);
	if (n >= 0)
		ctl_take_fds(&msg, fd_out);
	if (n < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			ctl_err("no reply from netstackd within %d s", CTL_TIMEOUT_SEC);
		else if (errno == ECONNRESET)
			ctl_err("netstackd closed the connection");
		else
			ctl_err("cannot read from netstackd: %s", strerror(errno));
		goto out_free_buf;
	}
	if (n == 0) {
		ctl_err("netstackd closed the connection without replying");
		goto out_free_buf;
	}
	if (msg.msg_flags & MSG_TRUNC) {
		ctl_err("reply from netstackd larger than %u bytes", NS_IPC_MAX_MSG);
		goto out_free_buf;
	}
	reply = netstack__reply__unpack(NULL, (size_t)n, buf);
	if (!reply) {
		ctl_err("cannot decode the reply from netstackd");
		goto out_free_buf;
	}
	/* An error reply may precede the Hello exchange (seq 0: connection refused). */
	if (reply->seq != req->seq && !reply->error) {
		ctl_err("reply %" PRIu64 " does not match request %" PRIu64,
			reply->seq, req->seq);
		netstack__reply__free_unpacked(reply, NULL);
		reply = NULL;
	}

out_free_buf:
	if (!reply && fd_out && *fd_out >= 0) {
		close(*fd_out);
		*fd_out = -1;
	}
	free(buf);
	return reply;
}

/* Report @reply's error, if any.  True if it is an error. */
bool ctl_reply_failed(const Netstack__Reply *reply)
{
	if (!reply->error)
		return false;
	if (reply->error_message && reply->error_message[0])
		ctl_err("%s", reply->error_message);
	else
		ctl_err("netstackd: %s", strerror(reply->error));
	return true;
}

void ctl_print_json(struct json_object *json)
{
	puts(json_object_to_json_string_ext(json, JSON_C_TO_STRING_PLAIN |
					    JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(json);
}

/* Connect and exchange Hellos.  The fd, or -1 (reported). */
int ctl_open(const struct ctl_opts *o)
{
	Netstack__Request req = NETSTACK__REQUEST__INIT;
	Netstack__Hello hello = NETSTACK__HELLO__INIT;
	Netstack__Reply *reply;
	int fd;

	fd = ctl_connect(o->socket_path);
	if (fd < 0)
		return -1;

	hello.version = NETSTACK__PROTO_VERSION__PROTO_VERSION_CURRENT;
	hello.role = NETSTACK__ROLE__ROLE_CTL;
	hello.program = (char *)PROG;
	req.seq = 1;
	req.body_case = NETSTACK__REQUEST__BODY_HELLO;
	req.hello = &hello;
	reply = ctl_call(fd, &req);
	if (!reply)
		goto out_close;
	if (ctl_reply_failed(reply))
		goto out_free_reply;
	if (reply->body_case != NETSTACK__REPLY__BODY_HELLO) {
		ctl_err("unexpected answer to Hello from netstackd");
		goto out_free_reply;
	}
	netstack__reply__free_unpacked(reply, NULL);
	return fd;

out_free_reply:
	netstack__reply__free_unpacked(reply, NULL);
out_close:
	close(fd);
	return -1;
}

/* One show request; the reply is printed.  Exit status. */
static int ctl_run(const struct ctl_object *obj, const struct ctl_opts *o)
{
	Netstack__Request req = NETSTACK__REQUEST__INIT;
	Netstack__ShowRequest show = NETSTACK__SHOW_REQUEST__INIT;
	Netstack__Reply *reply = NULL, **pages = NULL;
	Netstack__SockInfo **all = NULL, **saved_sockets = NULL;
	size_t n_pages = 0, n_all = 0, saved_n = 0;
	int fd, ret = EXIT_FAIL;

	fd = ctl_open(o);
	if (fd < 0)
		return EXIT_FAIL;
	show.what = obj->what;
	req.seq = 2;
	req.body_case = NETSTACK__REQUEST__BODY_SHOW;
	req.show = &show;
	reply = ctl_call(fd, &req);
	if (!reply)
		goto out_close;
	if (ctl_reply_failed(reply))
		goto out_free_reply;
	if (reply->body_case != NETSTACK__REPLY__BODY_SHOW || !reply->show) {
		ctl_err("unexpected answer to show %s from netstackd", obj->name);
		goto out_free_reply;
	}
	/*
	 * Sockets come in pages (an IPC message holds a few hundred): keep
	 * every page's reply alive and gather their sockets into one array
	 * that the first reply points at while printing.
	 */
	if (reply->show->more) {
		Netstack__ShowReply *r = reply->show;

		n_all = r->n_sockets;
		all = malloc((n_all ? n_all : 1) * sizeof(*all));
		if (!all)
			goto out_free_reply;
		memcpy(all, r->sockets, n_all * sizeof(*all));
		for (bool more = r->more; more && n_all;) {
			Netstack__Reply *next, **np;
			Netstack__SockInfo **grown;
			size_t k;

			show.after_id = all[n_all - 1]->sock_id;
			req.seq++;
			next = ctl_call(fd, &req);
			if (!next)
				goto out_free_reply;
			np = realloc(pages, (n_pages + 1) * sizeof(*pages));
			if (!np) {
				netstack__reply__free_unpacked(next, NULL);
				goto out_free_reply;
			}
			pages = np;
			pages[n_pages++] = next;
			if (ctl_reply_failed(next) || next->body_case != NETSTACK__REPLY__BODY_SHOW ||
			    !next->show)
				goto out_free_reply;
			k = next->show->n_sockets;
			grown = realloc(all, (n_all + k + 1) * sizeof(*all));
			if (!grown)
				goto out_free_reply;
			all = grown;
			memcpy(all + n_all, next->show->sockets, k * sizeof(*all));
			n_all += k;
			more = next->show->more && k;
		}
		saved_sockets = r->sockets;
		saved_n = r->n_sockets;
		r->sockets = all;
		r->n_sockets = n_all;
	}

	if (o->json)
		ctl_print_json(obj->to_json(reply->show, o));
	else
		obj->print(reply->show, o);
	ret = 0;

out_free_reply:
	if (saved_sockets) {
		/* Give the first reply its own array back before freeing it. */
		reply->show->sockets = saved_sockets;
		reply->show->n_sockets = saved_n;
	}
	netstack__reply__free_unpacked(reply, NULL);
	for (size_t i = 0; i < n_pages; i++)
		netstack__reply__free_unpacked(pages[i], NULL);
	free(pages);
	free(all);
out_close:
	close(fd);
	return ret;
}

int ctl_run_show(const char *name, const struct ctl_opts *o)
{
	const struct ctl_object *obj = ctl_find_object(name);

	return obj ? ctl_run(obj, o) : EXIT_USAGE;
}

/*
 * sysctl(8): read @arg (a name), every knob (-a) or, with -w, set @arg
 * (NAME=VALUE); print "NAME = VALUE" lines or a JSON object of strings.
 * Exit status.
 */
static int ctl_run_sysctl(const char *arg, const struct ctl_opts *o)
{
	Netstack__Request req = NETSTACK__REQUEST__INIT;
	Netstack__SysctlRequest sreq = NETSTACK__SYSCTL_REQUEST__INIT;
	Netstack__Reply *reply;
	struct json_object *json;
	char *name = NULL, *eq;
	int fd, ret = EXIT_FAIL;
	size_t i;

	if (arg) {
		name = strdup(arg);
		if (!name) {
			ctl_err("out of memory");
			return EXIT_FAIL;
		}
		eq = strchr(name, '=');
		if (eq) {
			*eq = '\0';
			sreq.value = eq + 1;
		}
		sreq.name = name;
		sreq.write = o->write;
	}
	sreq.all = o->all;

	fd = ctl_open(o);
	if (fd < 0)
		goto out_free_name;
	req.seq = 2;
	req.body_case = NETSTACK__REQUEST__BODY_SYSCTL;
	req.sysctl = &sreq;
	reply = ctl_call(fd, &req);
	if (!reply)
		goto out_close;
	if (ctl_reply_failed(reply))
		goto out_free_reply;
	if (reply->body_case != NETSTACK__REPLY__BODY_SYSCTL || !reply->sysctl) {
		ctl_err("unexpected answer to sysctl from netstackd");
		goto out_free_reply;
	}

	json = o->json ? json_object_new_object() : NULL;
	for (i = 0; i < reply->sysctl->n_entries; i++) {
		const Netstack__SysctlEntry *e = reply->sysctl->entries[i];

		if (json)
			ctl_json_add_str(json, e->name, e->value);
		else
			printf("%s = %s\n", e->name, e->value);
	}
	if (json)
		ctl_print_json(json);
	ret = 0;

out_free_reply:
	netstack__reply__free_unpacked(reply, NULL);
out_close:
	close(fd);
out_free_name:
	free(name);
	return ret;
}

/* --- route and addr ---------------------------------------------------------- */

/* Send @req (route or ifaddr) and return its NetConfigReply, or NULL (reported). */
static Netstack__Reply *ctl_netconfig_call(Netstack__Request *req, const struct ctl_opts *o,
					   const char *what)
{
	Netstack__Reply *reply;
	int fd;

	fd = ctl_open(o);
	if (fd < 0)
		return NULL;
	req->seq = 2;
	reply = ctl_call(fd, req);
	close(fd);
	if (!reply)
		return NULL;
	if (ctl_reply_failed(reply))
		goto fail;
	if (reply->body_case != NETSTACK__REPLY__BODY_NETCONFIG || !reply->netconfig) {
		ctl_err("unexpected answer to %s from netstackd", what);
		goto fail;
	}
	return reply;
fail:
	netstack__reply__free_unpacked(reply, NULL);
	return NULL;
}

/* "default", "A.B.C.D/N" or "A.B.C.D" (a host, /32).  0 or -1. */
static int ctl_parse_prefix(const char *w, char *dst, size_t dstlen, uint32_t *len)
{
	const char *slash = strchr(w, '/');
	char addr[INET_ADDRSTRLEN];
	struct in_addr a;
	char *end;
	unsigned long n;

	if (!strcmp(w, "default") || !strcmp(w, "all")) {
		snprintf(dst, dstlen, "0.0.0.0");
		*len = 0;
		return 0;
	}
	if (slash) {
		if ((size_t)(slash - w) >= sizeof(addr) || !slash[1])
			return -1;
		memcpy(addr, w, (size_t)(slash - w));
		addr[slash - w] = '\0';
		errno = 0;
		n = strtoul(slash + 1, &end, 10);
		if (errno || *end || n > 32 || slash[1] < '0' || slash[1] > '9')
			return -1;
		*len = (uint32_t)n;
	} else {
		if (strlen(w) >= sizeof(addr))
			return -1;
		snprintf(addr, sizeof(addr), "%s", w);
		*len = 32;
	}
	if (inet_pton(AF_INET, addr, &a) != 1)
		return -1;
	snprintf(dst, dstlen, "%s", addr);
	return 0;
}

/* The words of `ip route add|del`.  0 or EXIT_USAGE (reported). */
static int ctl_parse_route(int argc, char **argv, Netstack__Route *r, char *dst, char *gw,
			   char *src)
{
	static const char *const types[] = {
		"unicast", "local", "broadcast", "blackhole", "unreachable", "prohibit",
	};
	bool have_dst = false;
	int i = 0;
	size_t t;

	if (argc > 0) {
		for (t = 0; t < sizeof(types) / sizeof(types[0]); t++) {
			if (!strcmp(argv[0], types[t])) {
				r->type = (char *)types[t];
				i = 1;
				break;
			}
		}
	}
	for (; i < argc; i++) {
		const char *w = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		struct in_addr a;
		char *end;

		if (!strcmp(w, "via") || !strcmp(w, "dev") || !strcmp(w, "metric") ||
		    !strcmp(w, "priority") || !strcmp(w, "src") || !strcmp(w, "table")) {
			if (!v)
				return ctl_usage_error("route: '%s' needs a value", w);
			i++;
		}
		if (!strcmp(w, "via") || !strcmp(w, "src")) {
			if (inet_pton(AF_INET, v, &a) != 1)
				return ctl_usage_error("route: invalid address '%s' after %s", v, w);
			snprintf(w[0] == 'v' ? gw : src, INET_ADDRSTRLEN, "%s", v);
			if (w[0] == 'v')
				r->gateway = gw;
			else
				r->prefsrc = src;
		} else if (!strcmp(w, "dev")) {
			r->dev = (char *)v;
		} else if (!strcmp(w, "metric") || !strcmp(w, "priority")) {
			unsigned long m;

			errno = 0;
			m = strtoul(v, &end, 10);
			if (errno || *end || v[0] < '0' || v[0] > '9' || m > 0xffffffffUL)
				return ctl_usage_error("route: invalid metric '%s'", v);
			r->metric = (uint32_t)m;
			r->match_metric = true;
		} else if (!strcmp(w, "table")) {
			r->table = (char *)v;
		} else if (!have_dst) {
			if (ctl_parse_prefix(w, dst, INET_ADDRSTRLEN, &r->dst_len) < 0)
				return ctl_usage_error("route: invalid prefix '%s'", w);
			r->dst = dst;
			have_dst = true;
		} else {
			return ctl_usage_error("route: unexpected '%s'", w);
		}
	}
	if (!have_dst)
		return ctl_usage_error("route: give a prefix (A.B.C.D/N or default)");
	return 0;
}

/* 10.0.0.0/8, 10.0.0.1 (a /32) or default. */
static void ctl_route_dst(const Netstack__Route *r, char *buf, size_t len)
{
	if (r->dst_len == 0 && !strcmp(r->dst, "0.0.0.0"))
		snprintf(buf, len, "default");
	else if (r->dst_len == 32)
		snprintf(buf, len, "%s", r->dst);
	else
		snprintf(buf, len, "%s/%u", r->dst, r->dst_len);
}

static bool ctl_route_selected(const Netstack__Route *r, const char *table)
{
	return !strcmp(table, "all") || !strcmp(table, r->table);
}

/* Like `ip route show [table T]`. */
static void ctl_print_routes(const Netstack__NetConfigReply *nc, const char *table)
{
	char dst[INET_ADDRSTRLEN + 4];

	for (size_t i = 0; i < nc->n_routes; i++) {
		const Netstack__Route *r = nc->routes[i];

		if (!ctl_route_selected(r, table))
			continue;
		ctl_route_dst(r, dst, sizeof(dst));
		if (strcmp(r->type, "unicast"))
			printf("%s ", r->type);
		printf("%s", dst);
		if (r->gateway[0])
			printf(" via %s", r->gateway);
		if (r->dev[0])
			printf(" dev %s", r->dev);
		if (!strcmp(table, "all") && strcmp(r->table, "main"))
			printf(" table %s", r->table);
		printf(" proto %s", r->protocol);
		if (strcmp(r->scope, "global"))
			printf(" scope %s", r->scope);
		if (r->prefsrc[0])
			printf(" src %s", r->prefsrc);
		if (r->metric)
			printf(" metric %u", r->metric);
		putchar('\n');
	}
}

static struct json_object *ctl_json_routes(const Netstack__NetConfigReply *nc, const char *table)
{
	struct json_object *arr = json_object_new_array();
	char dst[INET_ADDRSTRLEN + 4];

	for (size_t i = 0; i < nc->n_routes; i++) {
		const Netstack__Route *r = nc->routes[i];
		struct json_object *o;

		if (!ctl_route_selected(r, table))
			continue;
		o = json_object_new_object();
		ctl_route_dst(r, dst, sizeof(dst));
		ctl_json_add_str(o, "type", r->type);
		ctl_json_add_str(o, "dst", dst);
		if (r->gateway[0])
			ctl_json_add_str(o, "gateway", r->gateway);
		if (r->dev[0])
			ctl_json_add_str(o, "dev", r->dev);
		ctl_json_add_str(o, "table", r->table);
		ctl_json_add_str(o, "protocol", r->protocol);
		ctl_json_add_str(o, "scope", r->scope);
		if (r->prefsrc[0])
			ctl_json_add_str(o, "prefsrc", r->prefsrc);
		ctl_json_add_u64(o, "metric", r->metric);
		json_object_array_add(arr, o);
	}
	return arr;
}

/*
 * netstackctl route [show [table main|local|all]] | add ROUTE | del ROUTE,
 * ROUTE being `ip route` words.  Exit status.
 */
static int ctl_run_route(int argc, char **argv, const struct ctl_opts *o)
{
	Netstack__Request req = NETSTACK__REQUEST__INIT;
	Netstack__RouteRequest rreq = NETSTACK__ROUTE_REQUEST__INIT;
	Netstack__Route route = NETSTACK__ROUTE__INIT;
	Netstack__Reply *reply;
	char dst[INET_ADDRSTRLEN], gw[INET_ADDRSTRLEN], src[INET_ADDRSTRLEN];
	const char *cmd = argc > 0 ? argv[0] : "show", *table = "main";
	int rc;

	if (!strcmp(cmd, "show") || !strcmp(cmd, "list") || !strcmp(cmd, "ls")) {
		if (argc == 3 && !strcmp(argv[1], "table") &&
		    (!strcmp(argv[2], "main") || !strcmp(argv[2], "local") || !strcmp(argv[2], "all")))
			table = argv[2];
		else if (argc > 1)
			return ctl_usage_error("route show: expected 'table main|local|all'");
		rreq.op = NETSTACK__NET_CONFIG_OP__NET_CONFIG_OP_SHOW;
	} else if (!strcmp(cmd, "add") || !strcmp(cmd, "del") || !strcmp(cmd, "delete")) {
		rreq.op = cmd[0] == 'a' ? NETSTACK__NET_CONFIG_OP__NET_CONFIG_OP_ADD
					: NETSTACK__NET_CONFIG_OP__NET_CONFIG_OP_DEL;
		rc = ctl_parse_route(argc - 1, argv + 1, &route, dst, gw, src);
		if (rc)
			return rc;
		rreq.route = &route;
	} else {
		return ctl_usage_error("route: unknown command '%s' (show, add or del)", cmd);
	}
	req.body_case = NETSTACK__REQUEST__BODY_ROUTE;
	req.route = &rreq;
	reply = ctl_netconfig_call(&req, o, "route");
	if (!reply)
		return EXIT_FAIL;
	if (rreq.op == NETSTACK__NET_CONFIG_OP__NET_CONFIG_OP_SHOW) {
		if (o->json)
			ctl_print_json(ctl_json_routes(reply->netconfig, table));
		else
			ctl_print_routes(reply->netconfig, table);
	}
	netstack__reply__free_unpacked(reply, NULL);
	return 0;
}

/* Like `ip -br addr`: one line per interface with its addresses. */
static void ctl_print_addrs(const Netstack__NetConfigReply *nc, const char *dev)
{
	for (size_t i = 0; i < nc->n_addrs; i++) {
		const Netstack__IfAddr *a = nc->addrs[i];

		if (dev && strcmp(dev, a->dev))
			continue;
		if (i == 0 || strcmp(nc->addrs[i - 1]->dev, a->dev)) {
			if (i && (!dev || !strcmp(dev, nc->addrs[i - 1]->dev)))
				putchar('\n');
			printf("%-16s %-14s", a->dev, a->up ? "UP" : "DOWN");
		}
		printf(" %s/%u", a->local, a->prefixlen);
	}
	for (size_t i = 0; i < nc->n_addrs; i++)
		if (!dev || !strcmp(dev, nc->addrs[i]->dev)) {
			putchar('\n');
			break;
		}
}

static struct json_object *ctl_json_addrs(const Netstack__NetConfigReply *nc, const char *dev)
{
	struct json_object *arr = json_object_new_array(), *cur = NULL, *ai = NULL;

	for (size_t i = 0; i < nc->n_addrs; i++) {
		const Netstack__IfAddr *a = nc->addrs[i];
		struct json_object *ao;

		if (dev && strcmp(dev, a->dev))
			continue;
		if (!cur || strcmp(nc->addrs[i - 1]->dev, a->dev)) {
			cur = json_object_new_object();
			json_object_object_add(cur, "ifindex", json_object_new_int(a->ifindex));
			ctl_json_add_str(cur, "ifname", a->dev);
			ctl_json_add_str(cur, "operstate", a->up ? "UP" : "DOWN");
			ai = json_object_new_array();
			json_object_object_add(cur, "addr_info", ai);
			json_object_array_add(arr, cur);
		}
		ao = json_object_new_object();
		ctl_json_add_str(ao, "family", "inet");
		ctl_json_add_str(ao, "local", a->local);
		ctl_json_add_u64(ao, "prefixlen", a->prefixlen);
		if (a->broadcast[0])
			ctl_json_add_str(ao, "broadcast", a->broadcast);
		json_object_array_add(ai, ao);
	}
	return arr;
}

/*
 * netstackctl addr [show [dev NAME]] | add A.B.C.D/N dev NAME |
 * del A.B.C.D[/N] dev NAME.  Exit status.
 */
static int ctl_run_addr(int argc, char **argv, const struct ctl_opts *o)
{
	Netstack__Request req = NETSTACK__REQUEST__INIT;
	Netstack__IfAddrRequest areq = NETSTACK__IF_ADDR_REQUEST__INIT;
	Netstack__Reply *reply;
	const char *cmd = argc > 0 ? argv[0] : "show", *dev = NULL;
	char local[INET_ADDRSTRLEN];
	bool have_addr = false;
	uint32_t len = 32;

	if (!strcmp(cmd, "show") || !strcmp(cmd, "list") || !strcmp(cmd, "ls")) {
		areq.op = NETSTACK__NET_CONFIG_OP__NET_CONFIG_OP_SHOW;
	} else if (!strcmp(cmd, "add") || !strcmp(cmd, "del") || !strcmp(cmd, "delete")) {
		areq.op = cmd[0] == 'a' ? NETSTACK__NET_CONFIG_OP__NET_CONFIG_OP_ADD
					: NETSTACK__NET_CONFIG_OP__NET_CONFIG_OP_DEL;
	} else {
		return ctl_usage_error("addr: unknown command '%s' (show, add or del)", cmd);
	}
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "dev")) {
			if (i + 1 >= argc)
				return ctl_usage_error("addr: 'dev' needs a value");
			dev = argv[++i];
		} else if (areq.op != NETSTACK__NET_CONFIG_OP__NET_CONFIG_OP_SHOW && !have_addr) {
			if (!strcmp(argv[i], "default") || !strcmp(argv[i], "all") ||
			    ctl_parse_prefix(argv[i], local, sizeof(local), &len) < 0)
				return ctl_usage_error("addr: invalid address '%s'", argv[i]);
			/* Without /N: /32 to add, any prefix to delete (as ip does). */
			areq.any_prefixlen = !strchr(argv[i], '/');
			have_addr = true;
		} else {
			return ctl_usage_error("addr: unexpected '%s'", argv[i]);
		}
	}
	if (areq.op != NETSTACK__NET_CONFIG_OP__NET_CONFIG_OP_SHOW) {
		if (!have_addr || !dev)
			return ctl_usage_error("addr %s: give A.B.C.D/N dev NAME", cmd);
		areq.local = local;
		areq.prefixlen = len;
		areq.dev = (char *)dev;
		if (areq.op == NETSTACK__NET_CONFIG_OP__NET_CONFIG_OP_ADD)
			areq.any_prefixlen = false;
	}
	req.body_case = NETSTACK__REQUEST__BODY_IFADDR;
	req.ifaddr = &areq;
	reply = ctl_netconfig_call(&req, o, "addr");
	if (!reply)
		return EXIT_FAIL;
	if (areq.op == NETSTACK__NET_CONFIG_OP__NET_CONFIG_OP_SHOW) {
		if (o->json)
			ctl_print_json(ctl_json_addrs(reply->netconfig, dev));
		else
			ctl_print_addrs(reply->netconfig, dev);
	}
	netstack__reply__free_unpacked(reply, NULL);
	return 0;
}

/* Check the arguments after "sysctl".  0, or EXIT_USAGE (reported). */
static int ctl_check_sysctl_args(int argc, char **argv, const struct ctl_opts *o)
{
	const char *arg = argc > 0 ? argv[0] : NULL;

	if (o->all && o->write)
		return ctl_usage_error("sysctl: -a and -w cannot be combined");
	if (o->all && arg)
		return ctl_usage_error("sysctl: unexpected argument '%s' with -a", arg);
	if (!o->all && !arg)
		return ctl_usage_error("sysctl: give NAME, -a or -w NAME=VALUE");
	if (argc > 1)
		return ctl_usage_error("unexpected argument '%s'", argv[1]);
	if (arg && o->write && !strchr(arg, '='))
		return ctl_usage_error("sysctl: -w needs NAME=VALUE, not '%s'", arg);
	if (arg && !o->write && strchr(arg, '='))
		return ctl_usage_error("sysctl: setting '%s' needs -w", arg);
	return 0;
}

/*
 * Commands with words of their own after the command word.  own_opts:
 * everything after the word is the command's (its own -j, -i, -c...);
 * otherwise the global options may follow it too.  no_ss_opts: -u, -t,
 * -l and -i mean nothing to it either.
 */
struct ctl_subcmd {
	const char *name, *alias, *alias2;
	int (*run)(int argc, char **argv, const struct ctl_opts *o);
	bool own_opts, no_ss_opts;
};

static const struct ctl_subcmd ctl_subcmds[] = {
	{ "hook", NULL, NULL, ctl_run_hook, true, true },
	{ "capture", NULL, NULL, ctl_run_capture, true, true },
	{ "trace", NULL, NULL, ctl_run_trace, true, true },
	{ "link", NULL, NULL, ctl_run_link, true, true },
	{ "qdisc", NULL, NULL, ctl_run_qdisc, true, true },
	{ "route", "r", NULL, ctl_run_route, false, false },
	{ "addr", "address", "a", ctl_run_addr, false, false },
	{ NULL, NULL, NULL, NULL, false, false },
};

static const struct ctl_subcmd *ctl_find_subcmd(const char *word)
{
	for (const struct ctl_subcmd *c = ctl_subcmds; c->name; c++)
		if (!strcmp(word, c->name) || (c->alias && !strcmp(word, c->alias)) ||
		    (c->alias2 && !strcmp(word, c->alias2)))
			return c;
	return NULL;
}

/* The socket: -s, else $NETSTACK_SOCKET, else the default. */
static void ctl_default_socket(struct ctl_opts *o)
{
	if (!o->socket_path || !*o->socket_path)
		o->socket_path = getenv(NS_IPC_SOCKET_ENV);
	if (!o->socket_path || !*o->socket_path)
		o->socket_path = NS_IPC_DEFAULT_SOCKET;
}

/* A command's exit status, unless its output could not be written. */
static int ctl_finish(int ret)
{
	if (fflush(stdout) != 0 || ferror(stdout)) {
		ctl_err("cannot write output: %s", strerror(errno));
		return EXIT_FAIL;
	}
	return ret;
}

int main(int argc, char **argv)
{
	enum { OPT_VERSION = 256 };
	static const struct option longopts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ "all", no_argument, NULL, 'a' },
		{ "udp", no_argument, NULL, 'u' },
		{ "tcp", no_argument, NULL, 't' },
		{ "listening", no_argument, NULL, 'l' },
		{ "info", no_argument, NULL, 'i' },
		{ "numeric", no_argument, NULL, 'n' },
		{ "processes", no_argument, NULL, 'p' },
		{ "write", no_argument, NULL, 'w' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, OPT_VERSION },
		{ NULL, 0, NULL, 0 },
	};
	struct ctl_opts o = { 0 };
	const struct ctl_subcmd *sub;
	const struct ctl_object *obj;
	int c, ret, gargc = argc;

	/*
	 * hook, capture, trace, link and qdisc take options of their own (-p,
	 * -j, -i, -c, -w, -s): global options are those before the word.
	 */
	for (int k = 1; k < argc; k++) {
		if (!strcmp(argv[k], "-s") || !strcmp(argv[k], "--socket")) {
			k++;
			continue;
		}
		if (argv[k][0] == '-')
			continue;
		sub = ctl_find_subcmd(argv[k]);
		if (sub && sub->own_opts)
			gargc = k + 1;
		break;
	}
	opterr = 0;
	while ((c = getopt_long(gargc, argv, ":s:jautlinpwh", longopts, NULL)) != -1) {
		switch (c) {
		case 's':
			o.socket_path = optarg;
			break;
		case 'j':
			o.json = true;
			break;
		case 'a':
			o.all = true;
			break;
		case 'u':
			o.udp = true;
			break;
		case 't':
			o.tcp = true;
			break;
		case 'l':
			o.listening = true;
			break;
		case 'i':
			o.info = true;
			break;
		case 'w':
			o.write = true;
			break;
		case 'n':
		case 'p':
			break;
		case 'h':
			ctl_usage(stdout);
			return 0;
		case OPT_VERSION:
			printf(PROG " %s\n", PACKAGE_VERSION);
			return 0;
		case ':':
			return ctl_usage_error("option '%s' needs an argument",
					       argv[optind - 1]);
		default:
			if (optopt)
				return ctl_usage_error("unknown option '-%c'", optopt);
			return ctl_usage_error("unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind >= argc)
		return ctl_usage_error("no object given");
	sub = ctl_find_subcmd(argv[optind]);
	if (sub) {
		if (o.write || o.all || (sub->no_ss_opts && (o.udp || o.tcp || o.listening || o.info)))
			return ctl_usage_error("options %s are not for %s",
					       sub->no_ss_opts ? "-w, -a, -u, -t, -l, -i" : "-w and -a",
					       argv[optind]);
		ctl_default_socket(&o);
		return ctl_finish(sub->run(argc - optind - 1, argv + optind + 1, &o));
	}
	if (!strcmp(argv[optind], "sysctl")) {
		obj = NULL;
		ret = ctl_check_sysctl_args(argc - optind - 1, argv + optind + 1, &o);
		if (ret)
			return ret;
	} else {
		if (optind + 1 < argc)
			return ctl_usage_error("unexpected argument '%s'", argv[optind + 1]);
		if (o.write)
			return ctl_usage_error("option '-w' is for sysctl");
		obj = ctl_find_object(argv[optind]);
		if (!obj)
			return ctl_usage_error("unknown object '%s'", argv[optind]);
	}

	ctl_default_socket(&o);
	if (obj)
		ret = ctl_run(obj, &o);
	else
		ret = ctl_run_sysctl(optind + 1 < argc ? argv[optind + 1] : NULL, &o);
	return ctl_finish(ret);
}
