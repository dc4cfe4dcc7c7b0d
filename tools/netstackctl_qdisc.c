/*
 * netstackctl link and qdisc: interfaces with their per-queue counters,
 * the transmit queues' qdiscs in tc's words, and txqueuelen.
 *
 *   link [-s|--stats] [-j]              interfaces (-s: qdisc and queues)
 *   link set DEV txqueuelen N           as ip link set DEV txqueuelen N
 *   qdisc [show] [dev DEV] [-j]         as tc -s qdisc show [dev DEV]
 *
 * Every TX queue has a pfifo_fast qdisc (lo: noqueue); a device with
 * several queues shows an mq root with the sums, then each queue's
 * pfifo_fast as its child, as tc does.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tools/netstackctl.h"

/* The kernel's default priomap, as tc prints it. */
#define CTL_PRIOMAP "1 2 2 2 1 2 0 0 1 1 1 1 1 1 1 1"

/* Send a QdiscRequest; the reply (free it) or NULL (reported). */
static Netstack__Reply *ctl_qdisc_call(const char *dev, uint32_t txqueuelen,
				       const struct ctl_opts *o)
{
	Netstack__Request req = NETSTACK__REQUEST__INIT;
	Netstack__QdiscRequest qr = NETSTACK__QDISC_REQUEST__INIT;
	Netstack__Reply *reply;
	int fd;

	fd = ctl_open(o);
	if (fd < 0)
		return NULL;
	qr.dev = (char *)(dev ? dev : "");
	qr.set_txqueuelen = txqueuelen;
	req.seq = 2;
	req.body_case = NETSTACK__REQUEST__BODY_QDISC;
	req.qdisc = &qr;
	reply = ctl_call(fd, &req);
	close(fd);
	if (!reply)
		return NULL;
	if (ctl_reply_failed(reply)) {
		netstack__reply__free_unpacked(reply, NULL);
		return NULL;
	}
	if (reply->body_case != NETSTACK__REPLY__BODY_QDISC || !reply->qdisc) {
		ctl_err("unexpected answer to qdisc from netstackd");
		netstack__reply__free_unpacked(reply, NULL);
		return NULL;
	}
	return reply;
}

static void ctl_qdisc_stats(uint64_t bytes, uint64_t pkts, uint64_t drops, uint64_t over,
			    uint64_t requeues, uint64_t backlog, uint64_t qlen)
{
	printf(" Sent %" PRIu64 " bytes %" PRIu64 " pkt (dropped %" PRIu64 ", overlimits %" PRIu64
	       " requeues %" PRIu64 ")\n", bytes, pkts, drops, over, requeues);
	printf(" backlog %" PRIu64 "b %" PRIu64 "p requeues %" PRIu64 "\n", backlog, qlen, requeues);
}

static void ctl_print_qdiscs(const Netstack__QdiscReply *r)
{
	for (size_t i = 0; i < r->n_qdiscs; i++) {
		const Netstack__QdiscInfo *q = r->qdiscs[i];
		bool mq = q->tx_queues > 1;

		if (!strcmp(q->kind, "noqueue")) {
			printf("qdisc noqueue 0: dev %s root refcnt 2\n", q->dev);
			ctl_qdisc_stats(0, 0, 0, 0, 0, 0, 0);
			continue;
		}
		if (mq && q->queue == 0) {
			/* The mq root: the sums of the device's queues that follow. */
			uint64_t s[7] = { 0 };

			for (size_t j = i; j < r->n_qdiscs && !strcmp(r->qdiscs[j]->dev, q->dev); j++) {
				const Netstack__QdiscInfo *c = r->qdiscs[j];

				s[0] += c->bytes, s[1] += c->packets, s[2] += c->drops;
				s[3] += c->overlimits, s[4] += c->requeues, s[5] += c->backlog;
				s[6] += c->qlen;
			}
			printf("qdisc mq 0: dev %s root\n", q->dev);
			ctl_qdisc_stats(s[0], s[1], s[2], s[3], s[4], s[5], s[6]);
		}
		if (mq)
			printf("qdisc pfifo_fast 0: dev %s parent :%x bands 3 priomap " CTL_PRIOMAP
			       " limit %up%s\n", q->dev, q->queue + 1, q->limit,
			       q->stopped ? " (driver queue stopped)" : "");
		else
			printf("qdisc pfifo_fast 0: dev %s root refcnt 2 bands 3 priomap " CTL_PRIOMAP
			       " limit %up%s\n", q->dev, q->limit,
			       q->stopped ? " (driver queue stopped)" : "");
		ctl_qdisc_stats(q->bytes, q->packets, q->drops, q->overlimits, q->requeues,
				q->backlog, q->qlen);
	}
}

static struct json_object *ctl_json_qdiscs(const Netstack__QdiscReply *r)
{
	struct json_object *arr = json_object_new_array();

	for (size_t i = 0; i < r->n_qdiscs; i++) {
		const Netstack__QdiscInfo *q = r->qdiscs[i];
		struct json_object *o = json_object_new_object();
		char parent[16];

		ctl_json_add_str(o, "kind", q->kind);
		ctl_json_add_str(o, "dev", q->dev);
		ctl_json_add_u64(o, "queue", q->queue);
		snprintf(parent, sizeof(parent), ":%x", q->queue + 1);
		ctl_json_add_str(o, "parent", q->tx_queues > 1 ? parent : "root");
		ctl_json_add_u64(o, "limit", q->limit);
		ctl_json_add_u64(o, "bytes", q->bytes);
		ctl_json_add_u64(o, "packets", q->packets);
		ctl_json_add_u64(o, "drops", q->drops);
		ctl_json_add_u64(o, "overlimits", q->overlimits);
		ctl_json_add_u64(o, "requeues", q->requeues);
		ctl_json_add_u64(o, "backlog", q->backlog);
		ctl_json_add_u64(o, "qlen", q->qlen);
		json_object_object_add(o, "stopped", json_object_new_boolean(q->stopped));
		json_object_array_add(arr, o);
	}
	return arr;
}

int ctl_run_qdisc(int argc, char **argv, const struct ctl_opts *opts)
{
	struct ctl_opts o = *opts;
	const char *dev = NULL;
	Netstack__Reply *reply;

	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "-j") || !strcmp(argv[i], "--json")) {
			o.json = true;
		} else if ((!strcmp(argv[i], "show") || !strcmp(argv[i], "list") ||
			    !strcmp(argv[i], "ls")) && i == 0) {
			continue;
		} else if (!strcmp(argv[i], "-s") || !strcmp(argv[i], "--stats")) {
			continue;       /* tc -s habit: counters are always shown */
		} else if (!strcmp(argv[i], "dev")) {
			if (++i >= argc)
				return ctl_usage_error("qdisc: 'dev' needs a value");
			dev = argv[i];
		} else {
			return ctl_usage_error("qdisc: unexpected '%s'", argv[i]);
		}
	}
	reply = ctl_qdisc_call(dev, 0, &o);
	if (!reply)
		return EXIT_FAIL;
	if (o.json)
		ctl_print_json(ctl_json_qdiscs(reply->qdisc));
	else
		ctl_print_qdiscs(reply->qdisc);
	netstack__reply__free_unpacked(reply, NULL);
	return 0;
}

int ctl_run_link(int argc, char **argv, const struct ctl_opts *opts)
{
	struct ctl_opts o = *opts;
	Netstack__Reply *reply;
	uint32_t v;

	if (argc >= 1 && !strcmp(argv[0], "set")) {
		if (argc != 4 || strcmp(argv[2], "txqueuelen"))
			return ctl_usage_error("link set: give DEV txqueuelen N");
		if (ctl_parse_u32(argv[3], 1000000, &v) || v < 1)
			return ctl_usage_error("link set: txqueuelen must be 1..1000000, not '%s'",
					       argv[3]);
		reply = ctl_qdisc_call(argv[1], v, &o);
		if (!reply)
			return EXIT_FAIL;
		netstack__reply__free_unpacked(reply, NULL);
		return 0;
	}
	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "-j") || !strcmp(argv[i], "--json"))
			o.json = true;
		else if (!strcmp(argv[i], "-s") || !strcmp(argv[i], "--stats") ||
			 !strcmp(argv[i], "-d") || !strcmp(argv[i], "--details"))
			o.stats = true;
		else if ((!strcmp(argv[i], "show") || !strcmp(argv[i], "list")) && i == 0)
			continue;
		else
			return ctl_usage_error("link: unexpected '%s' (-s, -j or set DEV txqueuelen N)",
					       argv[i]);
	}
	return ctl_run_show("link", &o);
}
