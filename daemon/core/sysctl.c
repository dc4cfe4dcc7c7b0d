/*
 * The sysctl registry.  Control context for registration and writes; the
 * values themselves are read from any thread.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/debug.h"
#include "core/sysctl.h"

#define SYSCTL_MAX_TABLES 32

static const struct ctl_table *tables[SYSCTL_MAX_TABLES];
static unsigned int ntables;

_Atomic int64_t sysctl_netdev_max_backlog = 1000;
_Atomic int64_t sysctl_netdev_budget = 300;
_Atomic int64_t sysctl_netdev_budget_usecs = 2000;
_Atomic int64_t sysctl_dev_weight = 64;
_Atomic int64_t sysctl_dev_tx_weight = 64;
_Atomic int64_t sysctl_rps_sock_flow_entries = 32768;

static const struct ctl_table core_table[] = {
	{ "net.core.netdev_max_backlog", &sysctl_netdev_max_backlog, 1, 1 << 20, 1000,
	  "packets a worker's input_pkt_queue (RPS backlog) holds before dropping" },
	{ "net.core.netdev_budget", &sysctl_netdev_budget, 1, 1 << 20, 300,
	  "packets one net_rx_action round may process over all NAPI contexts" },
	{ "net.core.netdev_budget_usecs", &sysctl_netdev_budget_usecs, 1, 1000000, 2000,
	  "microseconds one net_rx_action round may run" },
	{ "net.core.dev_weight", &sysctl_dev_weight, 1, 1 << 16, 64,
	  "packets one NAPI poll may process (weight of each RX queue)" },
	{ "net.core.dev_tx_weight", &sysctl_dev_tx_weight, 1, 1 << 16, 64,
	  "frames one qdisc run may send before net_tx_action takes the rest" },
	{ "net.core.rps_sock_flow_entries", &sysctl_rps_sock_flow_entries, 0, 65536, 32768,
	  "RFS table size: RPS steers a flow to its socket's owner worker (0: off)" },
	{ NULL, NULL, 0, 0, 0, NULL },
};

void sysctl_register(const struct ctl_table *table)
{
	for (unsigned int i = 0; i < ntables; i++)
		if (tables[i] == table)
			return;
	NS_ASSERT(ntables < SYSCTL_MAX_TABLES);
	if (ntables < SYSCTL_MAX_TABLES)
		tables[ntables++] = table;
}

void core_sysctl_init(void)
{
	sysctl_register(core_table);
}

void sysctl_reset_defaults(void)
{
	for (const struct ctl_table *t = sysctl_next(NULL); t; t = sysctl_next(t)) {
		if (!t->data) {
			char err[128];

			if (t->set_str && t->def_str)
				(void)t->set_str(t->def_str, err, sizeof(err));
			continue;
		}
		atomic_store_explicit(t->data, t->def, memory_order_relaxed);
		if (t->data2)
			atomic_store_explicit(t->data2, t->def2, memory_order_relaxed);
	}
}

const struct ctl_table *sysctl_next(const struct ctl_table *prev)
{
	unsigned int ti = 0;
	const struct ctl_table *t;

	if (!prev) {
		for (ti = 0; ti < ntables; ti++)
			if (tables[ti]->procname)
				return tables[ti];
		return NULL;
	}
	for (ti = 0; ti < ntables; ti++) {
		const struct ctl_table *base = tables[ti];

		if (prev >= base) {
			const struct ctl_table *e = base;

			while (e->procname)
				e++;
			if (prev < e)
				break;
		}
	}
	if (ti == ntables)
		return NULL;
	t = prev + 1;
	if (t->procname)
		return t;
	for (ti++; ti < ntables; ti++)
		if (tables[ti]->procname)
			return tables[ti];
	return NULL;
}

const struct ctl_table *sysctl_find(const char *name)
{
	for (const struct ctl_table *t = sysctl_next(NULL); t; t = sysctl_next(t))
		if (strcmp(t->procname, name) == 0)
			return t;
	return NULL;
}

/* Parse one integer of @t from @value; sets *@next past it.  0 or -errno. */
static int sysctl_parse_one(const struct ctl_table *t, const char *value, const char **next,
			    int64_t *out, char *err, size_t errlen)
{
	const char *name = t->procname;
	char *end;
	long long v;

	errno = 0;
	v = strtoll(value, &end, 0);
	if (end == value) {
		snprintf(err, errlen, "%s: '%s' is not an integer", name, value);
		return -EINVAL;
	}
	if (errno == ERANGE || v < t->min || v > t->max) {
		snprintf(err, errlen, "%s: '%.*s' is out of range [%" PRId64 ", %" PRId64 "]",
			 name, (int)(end - value), value, t->min, t->max);
		return -ERANGE;
	}
	while (*end == ' ' || *end == '\t')
		end++;
	*next = end;
	*out = (int64_t)v;
	return 0;
}

static int sysctl_set_pair(const struct ctl_table *t, const char *value, char *err, size_t errlen)
{
	const char *p = value;
	int64_t lo, hi;
	int rc;

	rc = sysctl_parse_one(t, p, &p, &lo, err, errlen);
	if (rc)
		return rc;
	rc = sysctl_parse_one(t, p, &p, &hi, err, errlen);
	if (rc == -EINVAL || (rc == 0 && *p)) {
		snprintf(err, errlen, "%s: '%s' is not two integers", t->procname, value);
		return -EINVAL;
	}
	if (rc)
		return rc;
	if (lo > hi && (t->flags & CTL_PAIR_EMPTY)) {
		lo = 1;
		hi = 0;
	} else if (lo > hi) {
		snprintf(err, errlen, "%s: %" PRId64 " is above %" PRId64, t->procname, lo, hi);
		return -EINVAL;
	}
	atomic_store_explicit(t->data, lo, memory_order_relaxed);
	atomic_store_explicit(t->data2, hi, memory_order_relaxed);
	return 0;
}

void sysctl_format(const struct ctl_table *t, char *buf, size_t len)
{
	if (!t->data) {
		if (t->get_str)
			t->get_str(buf, len);
		else if (len)
			buf[0] = '\0';
		return;
	}
	if (t->data2)
		snprintf(buf, len, "%" PRId64 " %" PRId64, sysctl_read(t->data), sysctl_read(t->data2));
	else
		snprintf(buf, len, "%" PRId64, sysctl_read(t->data));
}

int sysctl_set(const char *name, const char *value, char *err, size_t errlen)
{
	const struct ctl_table *t = sysctl_find(name);
	char *end;
	long long v;

	if (!t) {
		snprintf(err, errlen, "unknown sysctl '%s'", name);
		return -ENOENT;
	}
	if (!t->data) {
		if (!t->set_str) {
			snprintf(err, errlen, "%s is read-only", name);
			return -EPERM;
		}
		return t->set_str(value, err, errlen);
	}
	if (t->data2)
		return sysctl_set_pair(t, value, err, errlen);
	errno = 0;
	v = strtoll(value, &end, 0);
	if (end == value) {
		snprintf(err, errlen, "%s: '%s' is not an integer", name, value);
		return -EINVAL;
	}
	while (*end == ' ' || *end == '\t')
		end++;
	if (*end) {
		snprintf(err, errlen, "%s: '%s' is not an integer", name, value);
		return -EINVAL;
	}
	if (errno == ERANGE) {
		snprintf(err, errlen, "%s: '%s' is out of range [%" PRId64 ", %" PRId64 "]",
			 name, value, t->min, t->max);
		return -ERANGE;
	}
	if (v < t->min || v > t->max) {
		snprintf(err, errlen, "%s: %lld is out of range [%" PRId64 ", %" PRId64 "]",
			 name, v, t->min, t->max);
		return -ERANGE;
	}
	atomic_store_explicit(t->data, (int64_t)v, memory_order_relaxed);
	return 0;
}
