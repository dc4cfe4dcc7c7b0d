/*
 * The timing wheel behind timer.h.  Worker context only; no locks.
 */
#include <stddef.h>

#include "core/clock.h"
#include "core/softnet.h"
#include "core/timer.h"

void timer_base_init(struct timer_base *base, uint64_t now)
{
	for (unsigned i = 0; i < TIMER_WHEEL_SLOTS; i++)
		base->slots[i] = NULL;
	base->clk = now;
	base->count = 0;
	base->running = NULL;
}

void timer_setup(struct timer_list *t, timer_fn fn)
{
	t->next = NULL;
	t->pprev = NULL;
	t->expires = 0;
	t->function = fn;
}

static void timer_unlink(struct timer_base *base, struct timer_list *t)
{
	*t->pprev = t->next;
	if (t->next)
		t->next->pprev = t->pprev;
	t->next = NULL;
	t->pprev = NULL;
	base->count--;
}

bool mod_timer_on(struct timer_base *base, struct timer_list *t, uint64_t expires)
{
	bool was_pending = timer_pending(t);
	struct timer_list **slot;

	if (was_pending)
		timer_unlink(base, t);
	/* An expiry already past goes into the slot processed next. */
	if (expires < base->clk)
		expires = base->clk;
	t->expires = expires;
	slot = &base->slots[expires % TIMER_WHEEL_SLOTS];
	t->next = *slot;
	if (*slot)
		(*slot)->pprev = &t->next;
	*slot = t;
	t->pprev = slot;
	base->count++;
	return was_pending;
}

bool mod_timer(struct timer_list *t, uint64_t expires)
{
	struct softnet_data *sd = this_softnet();

	if (!sd)
		return false;
	return mod_timer_on(&sd->timers, t, expires);
}

bool del_timer_on(struct timer_base *base, struct timer_list *t)
{
	if (!timer_pending(t))
		return false;
	timer_unlink(base, t);
	return true;
}

bool del_timer(struct timer_list *t)
{
	struct softnet_data *sd = this_softnet();

	if (!sd)
		return false;
	return del_timer_on(&sd->timers, t);
}

/* Fire the due timers of one slot. */
static unsigned int run_slot(struct timer_base *base, unsigned int idx, uint64_t now)
{
	struct timer_list *t, *next;
	unsigned int fired = 0;

restart:
	for (t = base->slots[idx]; t; t = next) {
		next = t->next;
		if (t->expires > now)
			continue;
		timer_unlink(base, t);
		base->running = t;
		t->function(t);
		base->running = NULL;
		fired++;
		/* The callback may have re-armed or deleted any timer here. */
		goto restart;
	}
	return fired;
}

unsigned int run_timers(struct timer_base *base, uint64_t now)
{
	unsigned int fired = 0;
	uint64_t steps;

	if (now < base->clk)
		return 0;
	steps = now - base->clk + 1;
	if (steps > TIMER_WHEEL_SLOTS)
		steps = TIMER_WHEEL_SLOTS;
	for (uint64_t i = 0; i < steps && base->count; i++)
		fired += run_slot(base, (unsigned int)((base->clk + i) % TIMER_WHEEL_SLOTS), now);
	base->clk = now + 1;
	return fired;
}

int64_t timer_next_timeout(const struct timer_base *base, uint64_t now)
{
	uint64_t best = UINT64_MAX;

	if (!base->count)
		return -1;
	for (unsigned int i = 0; i < TIMER_WHEEL_SLOTS; i++) {
		const struct timer_list *t = base->slots[(base->clk + i) % TIMER_WHEEL_SLOTS];

		for (; t; t = t->next)
			if (t->expires < best)
				best = t->expires;
		/* A hit in a slot at distance i is the earliest possible one
		 * only if it lies in this revolution. */
		if (best <= base->clk + i)
			break;
	}
	if (best <= now)
		return 0;
	return (int64_t)(best - now);
}
