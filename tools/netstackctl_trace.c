/*
 * netstackctl trace: the stages sampled packets pass inside netstackd,
 * one line per stage with the time since the packet's first stage and the
 * worker, or JSON (-j).
 *
 * The TraceRequest's reply brings a stream socket (proto/trace.h).  We
 * read one record per traced packet until the end record (netstackd ends
 * the trace after COUNT packets), or until SIGINT/SIGTERM, when we shut
 * down our writing side and read on until the end record.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "proto/trace.h"
#include "tools/netstackctl.h"

#define TRACE_END_WAIT_MS 5000

static const char *const stage_names[] = {
#define NS_TRACE_NAME(name, text) text,
	NS_TRACE_STAGES(NS_TRACE_NAME)
#undef NS_TRACE_NAME
};

static const char *stage_name(unsigned int id)
{
	return id < NS_TRACE_NSTAGE_IDS ? stage_names[id] : "?";
}

static const char *proto_name(uint8_t p)
{
	switch (p) {
	case 1: return "icmp";
	case 6: return "tcp";
	case 17: return "udp";
	default: return NULL;
	}
}

/* What the packet was, as one phrase ("10.0.0.1.5000 > 10.0.0.2.53 udp, 100 bytes"). */
static void pkt_describe(const struct ns_trace_pkt *p, char *out, size_t len)
{
	char s[INET_ADDRSTRLEN], d[INET_ADDRSTRLEN];
	const char *pn = proto_name(p->proto);

	if (!p->proto) {
		snprintf(out, len, "(not an IPv4 packet)");
		return;
	}
	inet_ntop(AF_INET, &p->saddr, s, sizeof(s));
	inet_ntop(AF_INET, &p->daddr, d, sizeof(d));
	if (p->proto == 6 || p->proto == 17)
		snprintf(out, len, "%s.%u > %s.%u %s, %u bytes", s, p->sport, d, p->dport, pn,
			 p->len);
	else if (p->proto == 1)
		snprintf(out, len, "%s > %s icmp type %u code %u%s, %u bytes", s, d, p->icmp_type,
			 p->icmp_code,
			 p->icmp_type == 8 ? " (echo request)" : p->icmp_type == 0 ? " (echo reply)"
			 : p->icmp_type == 3 ? " (unreachable)" : "", p->len);
	else
		snprintf(out, len, "%s > %s proto %u, %u bytes", s, d, p->proto, p->len);
}

static const char *dir_name(uint8_t dir)
{
	return dir == NS_TRACE_DIR_RX ? "received" : dir == NS_TRACE_DIR_TX ? "sent" : "reply";
}

/* The stage's detail after its name ("" if none). */
static void stage_detail(const struct ns_trace_rec *r, const struct ns_trace_stage *st,
			 char *out, size_t len)
{
	static const char *const routes[] = { "local", "broadcast", "multicast", "forward",
					      "drop" };

	out[0] = '\0';
	switch (st->id) {
	case NS_TRACE_ROUTE_INPUT:
		snprintf(out, len, "%s", st->aux < 5 ? routes[st->aux] : "?");
		break;
	case NS_TRACE_NEIGH_OUTPUT:
		snprintf(out, len, "%s", st->aux == NS_TRACE_NEIGH_QUEUED ? "queued for ARP"
									 : "resolved");
		break;
	case NS_TRACE_DROP:
		snprintf(out, len, "%s", st->pkt < r->npkts && r->pkts[st->pkt].drop[0]
					 ? r->pkts[st->pkt].drop : "?");
		break;
	case NS_TRACE_RPS:
		snprintf(out, len, "to cpu%u", st->aux);
		break;
	case NS_TRACE_NAPI_POLL:
	case NS_TRACE_IRQ:
	case NS_TRACE_DRIVER_XMIT:
	case NS_TRACE_DEV_QUEUE_XMIT:
		snprintf(out, len, "queue %u", st->aux);
		break;
	case NS_TRACE_PRE_ROUTING:
	case NS_TRACE_LOCAL_IN:
	case NS_TRACE_FORWARD:
	case NS_TRACE_LOCAL_OUT:
	case NS_TRACE_POST_ROUTING:
		if (st->aux)
			snprintf(out, len, "%u rule%s", st->aux, st->aux == 1 ? "" : "s");
		break;
	default:
		break;
	}
}

static uint64_t rec_t0(const struct ns_trace_rec *r)
{
	uint64_t t0 = UINT64_MAX;

	for (unsigned int i = 0; i < r->nstages; i++)
		if (r->st[i].t_ns < t0)
			t0 = r->st[i].t_ns;
	return t0;
}

static void print_cpu(char *buf, size_t len, int cpu)
{
	if (cpu == NS_TRACE_CPU_CLIENT)
		snprintf(buf, len, "client");
	else if (cpu < 0)
		snprintf(buf, len, "ctl");
	else
		snprintf(buf, len, "cpu%d", cpu);
}

static void trace_print(const struct ns_trace_rec *r)
{
	uint64_t t0 = rec_t0(r);
	char desc[160], detail[64], cpu[16];

	for (unsigned int p = 0; p < r->npkts; p++) {
		pkt_describe(&r->pkts[p], desc, sizeof(desc));
		if (p == 0)
			printf("trace %u: %s%s%s %s\n", r->seq, dir_name(r->pkts[0].dir),
			       r->ifname[0] ? " on " : "", r->ifname, desc);
		else
			printf("  -> in response (to packet %u): %s\n", r->pkts[p].parent, desc);
		for (unsigned int i = 0; i < r->nstages; i++) {
			const struct ns_trace_stage *st = &r->st[i];

			if (st->pkt != p)
				continue;
			stage_detail(r, st, detail, sizeof(detail));
			print_cpu(cpu, sizeof(cpu), st->cpu);
			printf("  + %6" PRIu64 " \xc2\xb5s  %-6s %s%s%s\n", (st->t_ns - t0) / 1000u, cpu,
			       stage_name(st->id), detail[0] ? ": " : "", detail);
		}
	}
	if (r->truncated)
		printf("  (more stages than a record holds: the rest were not kept)\n");
}

static struct json_object *trace_json(const struct ns_trace_rec *r)
{
	struct json_object *o = json_object_new_object(), *pkts = json_object_new_array();
	struct json_object *stages = json_object_new_array();
	uint64_t t0 = rec_t0(r);
	char s[INET_ADDRSTRLEN], d[INET_ADDRSTRLEN], detail[64], cpu[16];

	ctl_json_add_u64(o, "seq", r->seq);
	ctl_json_add_str(o, "dev", r->ifname);
	json_object_object_add(o, "truncated", json_object_new_boolean(r->truncated));
	for (unsigned int p = 0; p < r->npkts; p++) {
		const struct ns_trace_pkt *k = &r->pkts[p];
		struct json_object *jp = json_object_new_object();

		ctl_json_add_u64(jp, "index", p);
		ctl_json_add_str(jp, "dir", dir_name(k->dir));
		if (p)
			ctl_json_add_u64(jp, "parent", k->parent);
		if (k->proto) {
			inet_ntop(AF_INET, &k->saddr, s, sizeof(s));
			inet_ntop(AF_INET, &k->daddr, d, sizeof(d));
			ctl_json_add_u64(jp, "proto", k->proto);
			ctl_json_add_str(jp, "src", s);
			ctl_json_add_str(jp, "dst", d);
			if (k->proto == 6 || k->proto == 17) {
				ctl_json_add_u64(jp, "sport", k->sport);
				ctl_json_add_u64(jp, "dport", k->dport);
			} else if (k->proto == 1) {
				ctl_json_add_u64(jp, "icmp_type", k->icmp_type);
				ctl_json_add_u64(jp, "icmp_code", k->icmp_code);
			}
			ctl_json_add_u64(jp, "len", k->len);
		}
		if (k->drop[0])
			ctl_json_add_str(jp, "drop", k->drop);
		json_object_array_add(pkts, jp);
	}
	/* Stages grouped by packet, as the text shows them. */
	for (unsigned int p = 0; p < r->npkts; p++) {
		for (unsigned int i = 0; i < r->nstages; i++) {
			const struct ns_trace_stage *st = &r->st[i];
			struct json_object *js;

			if (st->pkt != p)
				continue;
			js = json_object_new_object();
			stage_detail(r, st, detail, sizeof(detail));
			print_cpu(cpu, sizeof(cpu), st->cpu);
			ctl_json_add_u64(js, "pkt", st->pkt);
			ctl_json_add_str(js, "stage", stage_name(st->id));
			ctl_json_add_u64(js, "us", (st->t_ns - t0) / 1000u);
			ctl_json_add_u64(js, "ns", st->t_ns - t0);
			ctl_json_add_str(js, "cpu", cpu);
			if (detail[0])
				ctl_json_add_str(js, "detail", detail);
			json_object_array_add(stages, js);
		}
	}
	json_object_object_add(o, "packets", pkts);
	json_object_object_add(o, "stages", stages);
	return o;
}

int ctl_run_trace(int argc, char **argv, const struct ctl_opts *o)
{
	Netstack__Request req = NETSTACK__REQUEST__INIT;
	Netstack__TraceRequest treq = NETSTACK__TRACE_REQUEST__INIT;
	Netstack__Reply *reply;
	struct ns_trace_rec *rec = NULL;
	struct ns_trace_end end = { 0 };
	struct json_object *jtraces = NULL;
	bool json = o->json, have_end = false, shut = false;
	uint64_t seen = 0;
	int i, fd = -1, ret = EXIT_FAIL;

	for (i = 0; i < argc && argv[i][0] == '-' && argv[i][1]; i++) {
		const char *opt = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(opt, "--")) {
			i++;
			break;
		}
		if (!strcmp(opt, "-j") || !strcmp(opt, "--json")) {
			json = true;
			continue;
		}
		if (!v)
			return ctl_usage_error("trace: '%s' needs a value", opt);
		if (!strcmp(opt, "-i")) {
			treq.dev = (char *)(strcmp(v, "any") ? v : "");
		} else if (!strcmp(opt, "-c")) {
			if (ctl_parse_u32(v, 512, &treq.count) || !treq.count)
				return ctl_usage_error("trace: -c takes 1..512, not '%s'", v);
		} else {
			return ctl_usage_error("trace: unknown option '%s'", opt);
		}
		i++;
	}
	treq.n_filter = (size_t)(argc - i);
	treq.filter = argv + i;

	req.seq = 2;
	req.body_case = NETSTACK__REQUEST__BODY_TRACE;
	req.trace = &treq;
	reply = ctl_call_stream(o, &req, NETSTACK__REPLY__BODY_TRACE, "trace", &fd);
	if (!reply)
		return EXIT_FAIL;
	rec = malloc(sizeof(*rec));
	if (!rec) {
		ctl_err("out of memory");
		goto out_reply;
	}
	if (json)
		jtraces = json_object_new_array();
	ctl_catch_interrupt();
	fprintf(stderr, PROG ": tracing %u packet%s on %s\n", reply->trace->count,
		reply->trace->count == 1 ? "" : "s",
		treq.dev && *treq.dev ? treq.dev : "every device");

	for (;;) {
		int r;

		if (!shut && ctl_interrupted) {
			/* Tell netstackd to stop; its end record follows what it holds. */
			shutdown(fd, SHUT_WR);
			shut = true;
		}
		r = ctl_read_record(fd, rec, sizeof(*rec), !shut, TRACE_END_WAIT_MS, NULL);
		if (r < 0 && !shut && ctl_interrupted)
			continue;
		if (r <= 0)
			break;
		if (rec->type == NS_TRACE_END) {
			memcpy(&end, rec, sizeof(end));
			have_end = true;
			break;
		}
		if (rec->type != NS_TRACE_PACKET || rec->nstages > NS_TRACE_MAX_STAGES ||
		    rec->npkts > NS_TRACE_MAX_PKTS) {
			ctl_err("corrupt trace stream");
			break;
		}
		seen++;
		if (json) {
			json_object_array_add(jtraces, trace_json(rec));
		} else {
			trace_print(rec);
			fflush(stdout);
		}
	}
	if (json) {
		struct json_object *top = json_object_new_object();

		json_object_object_add(top, "traces", jtraces);
		jtraces = NULL;
		ctl_json_add_u64(top, "sampled", end.sampled);
		ctl_json_add_u64(top, "finished", end.finished);
		ctl_json_add_u64(top, "unfinished", end.unfinished);
		ctl_print_json(top);
	}
	if (!have_end) {
		ctl_err("netstackd ended the trace without an end record");
		goto out_reply;
	}
	fprintf(stderr, "%" PRIu64 " packets traced, %" PRIu64 " still in flight at the end\n",
		seen, end.unfinished);
	ret = 0;
out_reply:
	if (jtraces)
		json_object_put(jtraces);
	free(rec);
	if (fd >= 0)
		close(fd);
	netstack__reply__free_unpacked(reply, NULL);
	return ret;
}
