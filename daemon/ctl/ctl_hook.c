/*
 * netstackctl hook: list, add, delete and flush the rules of the five
 * hook chains (daemon/net/netfilter/), the role iptables' setsockopt
 * interface plays for the kernel's ip_tables.
 *
 * Runs on the control thread for each HookRequest, after the IPC server
 * decided whether the peer may change rules.  Changes publish a new chain
 * and wait for the workers' grace period (netfilter.h).  Each HookRule is
 * the first member of a wrapper holding its strings, so one free()
 * releases both.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/ctl.h"
#include "log.h"
#include "net/netfilter/netfilter.h"

#define CTL_HOOK_RULE_LEN 256

struct ctl_hook_rule {
	Netstack__HookRule msg;         /* first: free(msg) frees the wrapper */
	char rule[CTL_HOOK_RULE_LEN];
};

static const char *const ctl_target_names[] = {
	[NF_TARGET_COUNT] = "COUNT", [NF_TARGET_ACCEPT] = "ACCEPT",
	[NF_TARGET_DROP] = "DROP", [NF_TARGET_REJECT] = "REJECT",
};

struct ctl_hook_list {
	Netstack__HookReply *reply;
	size_t cap;
	int err;
};

static void ctl_hook_add_rule(unsigned int hook, unsigned int pos, const struct nf_rule *r,
			      void *arg)
{
	struct ctl_hook_list *l = arg;
	struct ctl_hook_rule *w;

	if (l->err)
		return;
	if (l->reply->n_rules == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		Netstack__HookRule **grown = realloc(l->reply->rules, cap * sizeof(*grown));

		if (!grown) {
			l->err = -ENOMEM;
			return;
		}
		l->reply->rules = grown;
		l->cap = cap;
	}
	w = calloc(1, sizeof(*w));
	if (!w) {
		l->err = -ENOMEM;
		return;
	}
	netstack__hook_rule__init(&w->msg);
	nf_rule_format(r, w->rule, sizeof(w->rule));
	w->msg.hook = (char *)nf_hook_chain_name(hook);
	w->msg.kernel_hook = (char *)nf_hook_kernel_name(hook);
	w->msg.position = pos;
	w->msg.rule = w->rule;
	w->msg.target = (char *)ctl_target_names[r->target];
	nf_rule_counters(r, &w->msg.packets, &w->msg.bytes);
	l->reply->rules[l->reply->n_rules++] = &w->msg;
}

/* Resolve @name ("" allowed when @any) to a hook, NF_INET_NUMHOOKS for all. */
static int ctl_hook_resolve(const char *name, bool any, unsigned int *hook, char *err,
			    size_t errlen)
{
	int h;

	if (!name || !*name) {
		if (any) {
			*hook = NF_INET_NUMHOOKS;
			return 0;
		}
		snprintf(err, errlen, "hook: give a hook (PREROUTING, INPUT, FORWARD, OUTPUT, "
			 "POSTROUTING)");
		return -EINVAL;
	}
	h = nf_hook_by_name(name);
	if (h < 0) {
		snprintf(err, errlen, "hook: unknown hook '%s' (PREROUTING, INPUT, FORWARD, "
			 "OUTPUT, POSTROUTING)", name);
		return -EINVAL;
	}
	*hook = (unsigned int)h;
	return 0;
}

int ctl_hook(const Netstack__HookRequest *req, Netstack__HookReply *reply, char *err,
	     size_t errlen)
{
	struct ctl_hook_list l = { .reply = reply };
	struct nf_rule rule;
	unsigned int hook;
	char text[CTL_HOOK_RULE_LEN];
	int rc;

	netstack__hook_reply__init(reply);
	if (!req) {
		snprintf(err, errlen, "hook: empty request");
		return -EINVAL;
	}
	switch (req->op) {
	case NETSTACK__HOOK_OP__HOOK_OP_LIST:
		rc = ctl_hook_resolve(req->hook, true, &hook, err, errlen);
		if (rc)
			return rc;
		for (unsigned int h = 0; h < NF_INET_NUMHOOKS; h++)
			if (hook == NF_INET_NUMHOOKS || hook == h)
				nf_chain_walk(h, ctl_hook_add_rule, &l);
		if (l.err) {
			ctl_hook_free(reply);
			snprintf(err, errlen, "hook: out of memory");
			return l.err;
		}
		return 0;
	case NETSTACK__HOOK_OP__HOOK_OP_ADD:
		rc = ctl_hook_resolve(req->hook, false, &hook, err, errlen);
		if (rc)
			return rc;
		rc = nf_rule_parse(hook, (int)req->n_args, req->args, &rule, text, sizeof(text));
		if (rc) {
			snprintf(err, errlen, "hook add: %s", text);
			return rc;
		}
		rc = nf_register_rule(hook, req->position, &rule);
		if (rc == -EINVAL)
			snprintf(err, errlen, "hook add: position %u is past the end of %s",
				 req->position, nf_hook_chain_name(hook));
		else if (rc == -ENOSPC)
			snprintf(err, errlen, "hook add: %s is full (%d rules)",
				 nf_hook_chain_name(hook), NF_MAX_RULES);
		else if (rc)
			snprintf(err, errlen, "hook add: %s", strerror(-rc));
		if (!rc) {
			nf_rule_format(&rule, text, sizeof(text));
			ns_log(NS_LOG_INFO, "hook: %s rule %s: %s", nf_hook_chain_name(hook),
			       req->position ? "inserted" : "appended", text);
		}
		return rc;
	case NETSTACK__HOOK_OP__HOOK_OP_DEL:
		rc = ctl_hook_resolve(req->hook, false, &hook, err, errlen);
		if (rc)
			return rc;
		rc = nf_unregister_rule(hook, req->position);
		if (rc == -ENOENT)
			snprintf(err, errlen, "hook del: %s has no rule %u", nf_hook_chain_name(hook),
				 req->position);
		else if (rc)
			snprintf(err, errlen, "hook del: %s", strerror(-rc));
		else
			ns_log(NS_LOG_INFO, "hook: %s rule %u deleted", nf_hook_chain_name(hook),
			       req->position);
		return rc;
	case NETSTACK__HOOK_OP__HOOK_OP_FLUSH:
		rc = ctl_hook_resolve(req->hook, true, &hook, err, errlen);
		if (rc)
			return rc;
		nf_flush(hook);
		ns_log(NS_LOG_INFO, "hook: %s flushed",
		       hook == NF_INET_NUMHOOKS ? "every chain" : nf_hook_chain_name(hook));
		return 0;
	default:
		snprintf(err, errlen, "hook: unknown operation %d", (int)req->op);
		return -EINVAL;
	}
}

void ctl_hook_free(Netstack__HookReply *reply)
{
	for (size_t i = 0; i < reply->n_rules; i++)
		free(reply->rules[i]);
	free(reply->rules);
	netstack__hook_reply__init(reply);
}
