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

/*
 * Fire the due timers of one slot.  The slot's list is detached first and
 * base->clk already points past it (as the kernel's __run_timers does), so
 * a callback that re-arms for "now" or the past lands in the next slot to
 * be processed, never in this one: it fires once per run, not in a loop.
 * Timers of a later revolution go back into the wheel.
 */
static unsigned int run_slot(struct timer_base *base, unsigned int idx, uint64_t now)
{
	struct timer_list *head = base->slots[idx];
	unsigned int fired = 0;
	struct timer_list *t;

	base->slots[idx] = NULL;
	if (head)
		head->pprev = &head;
	while ((t = head) != NULL) {
		timer_unlink(base, t);
		if (t->expires > now) {
			mod_timer_on(base, t, t->expires);
			continue;
		}
		base->running = t;
		t->function(t);
		base->running = NULL;
		fired++;
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
	if (!base->count || steps > TIMER_WHEEL_SLOTS) {
		/* Nothing pending, or a gap longer than a revolution: every
		 * slot is visited once, from the current position. */
		uint64_t start = base->clk;

		if (!base->count) {
			base->clk = now + 1;
			return 0;
		}
		base->clk = now + 1 - TIMER_WHEEL_SLOTS;
		if (base->clk < start)
			base->clk = start;
	}
	while (base->clk <= now) {
		unsigned int idx = (unsigned int)(base->clk % TIMER_WHEEL_SLOTS);

		base->clk++;
		fired += run_slot(base, idx, now);
	}
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
