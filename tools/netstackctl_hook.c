/*
 * netstackctl hook: the rule chains at netstackd's five netfilter points,
 * in iptables' words.
 *
 *   hook [list|show] [HOOK] [-j]      rules with packet and byte counters
 *   hook add HOOK [--pos N] RULE...   append (or insert before rule N)
 *   hook insert HOOK [N] RULE...      insert at N (default 1), as iptables -I
 *   hook del HOOK N                   delete rule N
 *   hook flush [HOOK]                 delete every rule (of HOOK)
 *
 * The rule words travel as they are; netstackd parses and checks them
 * (one parser for netstackctl and netstackd.conf) and answers errors in
 * one line.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tools/netstackctl.h"

static const char *const ctl_hook_chains[] = {
	"PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING",
};

static const char *const ctl_hook_kernel[] = {
	"PRE_ROUTING", "LOCAL_IN", "FORWARD", "LOCAL_OUT", "POST_ROUTING",
};

/* The chain name of @name in either naming, or NULL. */
static const char *ctl_hook_chain(const char *name)
{
	for (size_t i = 0; i < 5; i++)
		if (!strcasecmp(name, ctl_hook_chains[i]) || !strcasecmp(name, ctl_hook_kernel[i]))
			return ctl_hook_chains[i];
	return NULL;
}

static int ctl_hook_pos(const char *w, uint32_t *pos, bool zero_ok)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(w, &end, 10);
	if (errno || end == w || *end || *w == '-' || v > 1000000 || (!v && !zero_ok))
		return -1;
	*pos = (uint32_t)v;
	return 0;
}

/* Like iptables -L -v -n: one block per chain, empty chains too. */
static void ctl_print_hooks(const Netstack__HookReply *hr, const char *only)
{
	bool first = true;

	for (size_t c = 0; c < 5; c++) {
		if (only && strcmp(only, ctl_hook_chains[c]))
			continue;
		printf("%sChain %s (hook %s, policy ACCEPT)\n", first ? "" : "\n",
		       ctl_hook_chains[c], ctl_hook_kernel[c]);
		printf("%4s %10s %12s  %s\n", "num", "pkts", "bytes", "rule");
		first = false;
		for (size_t i = 0; i < hr->n_rules; i++) {
			const Netstack__HookRule *r = hr->rules[i];

			if (strcmp(r->hook, ctl_hook_chains[c]))
				continue;
			printf("%4u %10" PRIu64 " %12" PRIu64 "  %s\n", r->position, r->packets,
			       r->bytes, r->rule);
		}
	}
}

static struct json_object *ctl_json_hooks(const Netstack__HookReply *hr)
{
	struct json_object *arr = json_object_new_array();

	for (size_t i = 0; i < hr->n_rules; i++) {
		const Netstack__HookRule *r = hr->rules[i];
		struct json_object *o = json_object_new_object();

		ctl_json_add_str(o, "hook", r->hook);
		ctl_json_add_str(o, "kernel_hook", r->kernel_hook);
		ctl_json_add_u64(o, "num", r->position);
		ctl_json_add_str(o, "rule", r->rule);
		ctl_json_add_str(o, "target", r->target);
		ctl_json_add_u64(o, "packets", r->packets);
		ctl_json_add_u64(o, "bytes", r->bytes);
		json_object_array_add(arr, o);
	}
	return arr;
}

int ctl_run_hook(int argc, char **argv, const struct ctl_opts *o)
{
	Netstack__Request req = NETSTACK__REQUEST__INIT;
	Netstack__HookRequest hreq = NETSTACK__HOOK_REQUEST__INIT;
	Netstack__Reply *reply;
	const char *cmd = argc > 0 ? argv[0] : "list", *chain = NULL;
	bool json = o->json;
	int fd, i = 1, ret = EXIT_FAIL;

	if (!strcmp(cmd, "list") || !strcmp(cmd, "show") || !strcmp(cmd, "ls") ||
	    !strcmp(cmd, "-j")) {
		if (!strcmp(cmd, "-j"))
			json = true;
		hreq.op = NETSTACK__HOOK_OP__HOOK_OP_LIST;
		for (; i < argc; i++) {
			if (!strcmp(argv[i], "-j") || !strcmp(argv[i], "--json")) {
				json = true;
			} else if (!chain) {
				chain = ctl_hook_chain(argv[i]);
				if (!chain)
					return ctl_usage_error("hook list: unknown hook '%s'", argv[i]);
			} else {
				return ctl_usage_error("hook list: unexpected '%s'", argv[i]);
			}
		}
		hreq.hook = (char *)(chain ? chain : "");
	} else if (!strcmp(cmd, "add") || !strcmp(cmd, "append") || !strcmp(cmd, "insert")) {
		if (argc < 2 || !(chain = ctl_hook_chain(argv[1])))
			return ctl_usage_error("hook %s: give a hook (PREROUTING, INPUT, FORWARD, "
					       "OUTPUT, POSTROUTING)", cmd);
		hreq.op = NETSTACK__HOOK_OP__HOOK_OP_ADD;
		hreq.hook = (char *)chain;
		i = 2;
		if (!strcmp(cmd, "insert")) {
			hreq.position = 1;
			if (i < argc && argv[i][0] != '-') {
				if (ctl_hook_pos(argv[i], &hreq.position, false))
					return ctl_usage_error("hook insert: bad position '%s'", argv[i]);
				i++;
			}
		} else if (i + 1 < argc && (!strcmp(argv[i], "--pos") ||
					    !strcmp(argv[i], "--position"))) {
			if (ctl_hook_pos(argv[i + 1], &hreq.position, false))
				return ctl_usage_error("hook add: bad position '%s'", argv[i + 1]);
			i += 2;
		}
		hreq.n_args = (size_t)(argc - i);
		hreq.args = argv + i;
	} else if (!strcmp(cmd, "del") || !strcmp(cmd, "delete")) {
		if (argc != 3 || !(chain = ctl_hook_chain(argv[1])) ||
		    ctl_hook_pos(argv[2], &hreq.position, false))
			return ctl_usage_error("hook del: give HOOK and a rule number "
					       "(see hook list)");
		hreq.op = NETSTACK__HOOK_OP__HOOK_OP_DEL;
		hreq.hook = (char *)chain;
	} else if (!strcmp(cmd, "flush")) {
		if (argc > 2 || (argc == 2 && !(chain = ctl_hook_chain(argv[1]))))
			return ctl_usage_error("hook flush: give no hook or one hook");
		hreq.op = NETSTACK__HOOK_OP__HOOK_OP_FLUSH;
		hreq.hook = (char *)(chain ? chain : "");
	} else {
		return ctl_usage_error("hook: unknown command '%s' (list, add, insert, del, flush)",
				       cmd);
	}

	fd = ctl_open(o);
	if (fd < 0)
		return EXIT_FAIL;
	req.seq = 2;
	req.body_case = NETSTACK__REQUEST__BODY_HOOK;
	req.hook = &hreq;
	reply = ctl_call(fd, &req);
	close(fd);
	if (!reply)
		return EXIT_FAIL;
	if (ctl_reply_failed(reply))
		goto out;
	if (reply->body_case != NETSTACK__REPLY__BODY_HOOK || !reply->hook) {
		ctl_err("unexpected answer to hook from netstackd");
		goto out;
	}
	if (hreq.op == NETSTACK__HOOK_OP__HOOK_OP_LIST) {
		if (json)
			ctl_print_json(ctl_json_hooks(reply->hook));
		else
			ctl_print_hooks(reply->hook, chain);
	}
	ret = 0;
out:
	netstack__reply__free_unpacked(reply, NULL);
	return ret;
}
