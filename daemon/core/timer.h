/*
 * Per-worker timers: a hashed timing wheel with one-millisecond slots, the
 * counterpart of the kernel's timer_list on a per-CPU timer base.
 *
 * A timer belongs to the worker that armed it: only that worker may modify,
 * delete or run it, so there are no locks.  Arming, re-arming and deleting
 * are O(1); running costs one slot per elapsed millisecond plus the timers
 * that are due.  A timer whose expiry lies beyond one revolution of the
 * wheel stays in its slot and is skipped until its time comes.
 */
#ifndef NS_CORE_TIMER_H
#define NS_CORE_TIMER_H

#include <stdbool.h>
#include <stdint.h>

#define TIMER_WHEEL_SLOTS 1024u

struct timer_list;
typedef void (*timer_fn)(struct timer_list *t);

struct timer_list {
	struct timer_list *next;
	struct timer_list **pprev;      /* NULL when not pending */
	uint64_t expires;               /* jiffies (ms) */
	timer_fn function;
};

struct timer_base {
	struct timer_list *slots[TIMER_WHEEL_SLOTS];
	uint64_t clk;                   /* next jiffy to process */
	uint32_t count;                 /* pending timers */
	struct timer_list *running;     /* timer whose function runs now */
};

void timer_base_init(struct timer_base *base, uint64_t now);

/* Prepare @t; it is not pending until mod_timer(). */
void timer_setup(struct timer_list *t, timer_fn fn);

/*
 * (Re)arm @t on @base to fire at @expires (jiffies); an expiry in the past
 * fires on the next run.  Returns true if it was pending before.
 */
bool mod_timer_on(struct timer_base *base, struct timer_list *t, uint64_t expires);

/* mod_timer_on() on the calling worker's base. */
bool mod_timer(struct timer_list *t, uint64_t expires);

/* Disarm @t; returns true if it was pending. */
bool del_timer_on(struct timer_base *base, struct timer_list *t);
bool del_timer(struct timer_list *t);

static inline bool timer_pending(const struct timer_list *t)
{
	return t->pprev != NULL;
}

/* Fire every timer on @base that is due at @now.  Returns how many fired. */
unsigned int run_timers(struct timer_base *base, uint64_t now);

/*
 * Milliseconds until the next timer may be due (0 if one is overdue), or -1
 * if none is pending.  For the worker's sleep.
 */
int64_t timer_next_timeout(const struct timer_base *base, uint64_t now);

#endif
