/*
 * netstackctl sysctl: read and write the run-time knobs (core/sysctl.h).
 *
 * Runs on the control thread for each SysctlRequest the IPC server
 * receives, after the server has decided whether the peer may write.  A
 * write goes through sysctl_set(), a relaxed atomic store that the data
 * path sees on its next read; no lock is taken.  Each entry is the first
 * member of a wrapper holding its value text, so one free() releases both;
 * names and help texts point into the registered tables (program lifetime).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/sysctl.h"
#include "ctl/ctl.h"

/* "-9223372036854775808 -9223372036854775808" */
#define CTL_SYSCTL_VALUE_LEN 48

struct ctl_sysctl_entry {
	Netstack__SysctlEntry msg;      /* first: free(msg) frees the wrapper */
	char value[CTL_SYSCTL_VALUE_LEN];
};

static Netstack__SysctlEntry *ctl_sysctl_entry(const struct ctl_table *t)
{
	struct ctl_sysctl_entry *e = calloc(1, sizeof(*e));

	if (!e)
		return NULL;
	netstack__sysctl_entry__init(&e->msg);
	sysctl_format(t, e->value, sizeof(e->value));
	e->msg.name = (char *)t->procname;
	e->msg.value = e->value;
	e->msg.help = (char *)(t->help ? t->help : "");
	e->msg.min = t->min;
	e->msg.max = t->max;
	return &e->msg;
}

static int ctl_sysctl_cmp(const void *a, const void *b)
{
	const Netstack__SysctlEntry *x = *(Netstack__SysctlEntry *const *)a;
	const Netstack__SysctlEntry *y = *(Netstack__SysctlEntry *const *)b;

	return strcmp(x->name, y->name);
}

/* Every knob into @reply, sorted by name.  0 or -ENOMEM. */
static int ctl_sysctl_all(Netstack__SysctlReply *reply)
{
	const struct ctl_table *t;
	size_t n = 0;

	for (t = sysctl_next(NULL); t; t = sysctl_next(t))
		n++;
	reply->entries = calloc(n ? n : 1, sizeof(*reply->entries));
	if (!reply->entries)
		return -ENOMEM;
	for (t = sysctl_next(NULL); t; t = sysctl_next(t)) {
		reply->entries[reply->n_entries] = ctl_sysctl_entry(t);
		if (!reply->entries[reply->n_entries])
			return -ENOMEM;
		reply->n_entries++;
	}
	qsort(reply->entries, reply->n_entries, sizeof(*reply->entries), ctl_sysctl_cmp);
	return 0;
}

int ctl_sysctl(const Netstack__SysctlRequest *req, Netstack__SysctlReply *reply,
	       char *err, size_t errlen)
{
	static const Netstack__SysctlRequest none = NETSTACK__SYSCTL_REQUEST__INIT;
	const struct ctl_table *t;
	const char *name;
	int ret;

	netstack__sysctl_reply__init(reply);
	if (!req)
		req = &none;
	name = req->name ? req->name : "";
	if (req->all && !req->write) {
		ret = ctl_sysctl_all(reply);
		goto out;
	}
	t = sysctl_find(name);
	if (!t) {
		snprintf(err, errlen, "sysctl: unknown key '%s'", name);
		return -ENOENT;
	}
	if (req->write) {
		ret = sysctl_set(name, req->value ? req->value : "", err, errlen);
		if (ret)
			return ret;
	}
	reply->entries = calloc(1, sizeof(*reply->entries));
	if (!reply->entries) {
		ret = -ENOMEM;
		goto out;
	}
	reply->entries[0] = ctl_sysctl_entry(t);
	ret = reply->entries[0] ? 0 : -ENOMEM;
	if (!ret)
		reply->n_entries = 1;
out:
	if (ret) {
		snprintf(err, errlen, "sysctl: %s", strerror(-ret));
		ctl_sysctl_free(reply);
	}
	return ret;
}

void ctl_sysctl_free(Netstack__SysctlReply *reply)
{
	for (size_t i = 0; i < reply->n_entries; i++)
		free(reply->entries[i]);
	free(reply->entries);
	netstack__sysctl_reply__init(reply);
}
