/*
 * Run-time knobs with the kernel's names (net.core.netdev_budget, ...).
 *
 * Each knob is a 64-bit integer with a range, read on the data path with a
 * relaxed atomic load (a plain move) and written by the control thread
 * (config file at start-up, netstackctl sysctl at run time).  The table is
 * built at start-up from the modules' descriptors and never changes shape.
 */
#ifndef NS_CORE_SYSCTL_H
#define NS_CORE_SYSCTL_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

struct ctl_table {
	const char *procname;       /* "net.core.netdev_budget" */
	_Atomic int64_t *data;
	int64_t min, max;
	int64_t def;
	const char *help;
	/*
	 * A knob of two integers ("32768 60999", like ip_local_port_range):
	 * data holds the first, data2 the second; both within [min, max] and
	 * first <= second.  NULL for ordinary knobs.
	 */
	_Atomic int64_t *data2;
	int64_t def2;
	/*
	 * A knob whose value is text ("cubic", "4096 131072 6291456"): data
	 * is NULL and these do the work.  set_str validates and applies (0 or
	 * -errno with a message in @err); get_str formats; def_str is the
	 * default.  Control context.
	 */
	int (*set_str)(const char *value, char *err, size_t errlen);
	void (*get_str)(char *buf, size_t len);
	const char *def_str;
	unsigned int flags;         /* CTL_* */
};

/*
 * A pair whose first value may exceed the second: an empty range
 * (net.ipv4.ping_group_range "1 0").  A reversed write is stored as
 * "1 0", as the kernel normalises it.
 */
#define CTL_PAIR_EMPTY 1u

/* Register a module's table (NULL-procname terminated).  Control context. */
void sysctl_register(const struct ctl_table *table);

/* Reset every registered knob to its default. */
void sysctl_reset_defaults(void);

const struct ctl_table *sysctl_find(const char *name);

/*
 * Set @name from the string @value.  Returns 0, -ENOENT (unknown name) or
 * -ERANGE/-EINVAL (bad value); @err gets a one-line explanation.
 */
int sysctl_set(const char *name, const char *value, char *err, size_t errlen);

/* The knob's value as text ("300", "32768 60999") into @buf. */
void sysctl_format(const struct ctl_table *t, char *buf, size_t len);

/* Iterate over all knobs in registration order; NULL at the end. */
const struct ctl_table *sysctl_next(const struct ctl_table *prev);

static inline int64_t sysctl_read(const _Atomic int64_t *v)
{
	return atomic_load_explicit((_Atomic int64_t *)v, memory_order_relaxed);
}

/* Knobs owned by core/. */
extern _Atomic int64_t sysctl_netdev_max_backlog;
extern _Atomic int64_t sysctl_netdev_budget;
extern _Atomic int64_t sysctl_netdev_budget_usecs;
extern _Atomic int64_t sysctl_dev_weight;
extern _Atomic int64_t sysctl_dev_tx_weight;
extern _Atomic int64_t sysctl_rps_sock_flow_entries;

void core_sysctl_init(void);

#endif
