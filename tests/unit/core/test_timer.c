/*
 * Unit tests for daemon/core/timer.c, the per-worker timing wheel, driven
 * by a fake clock: each test owns a struct timer_base and passes "now"
 * explicitly to run_timers() and timer_next_timeout().
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "core/debug.h"
#include "core/timer.h"

/* A timer that records when (by the fake clock) and in what order it fired. */
struct probe {
	struct timer_list t;
	int id;
	unsigned int fired;
	uint64_t fired_at;
	uint64_t rearm_delta;    /* re-arm this far from "now" while rearms > 0 */
	unsigned int rearms;
	bool rearm_abs;          /* rearm at rearm_delta (absolute) instead */
	struct timer_base *base;
};

static uint64_t fake_now;
static int order[64];
static unsigned int norder;

static void probe_fn(struct timer_list *t)
{
	struct probe *p = ns_container_of(t, struct probe, t);

	p->fired++;
	p->fired_at = fake_now;
	if (norder < NS_ARRAY_SIZE(order))
		order[norder++] = p->id;
	assert_ptr_equal(p->base->running, t);
	assert_false(timer_pending(t));
	if (p->rearms) {
		p->rearms--;
		mod_timer_on(p->base, t, p->rearm_abs ? p->rearm_delta : fake_now + p->rearm_delta);
	}
}

static void probe_init(struct probe *p, struct timer_base *b, int id)
{
	memset(p, 0, sizeof(*p));
	timer_setup(&p->t, probe_fn);
	p->id = id;
	p->base = b;
}

/* Advance the fake clock one jiffy at a time, as a worker that never sleeps late. */
static unsigned int run_until(struct timer_base *b, uint64_t until)
{
	unsigned int fired = 0;

	while (fake_now < until) {
		fake_now++;
		fired += run_timers(b, fake_now);
	}
	return fired;
}

static int reset(void **state)
{
	(void)state;
	fake_now = 0;
	norder = 0;
	return 0;
}

static void test_fires_at_expiry_in_order(void **state)
{
	struct timer_base b;
	struct probe p[3];

	(void)state;
	fake_now = 1000;
	timer_base_init(&b, fake_now);
	probe_init(&p[0], &b, 0);
	probe_init(&p[1], &b, 1);
	probe_init(&p[2], &b, 2);
	assert_false(mod_timer_on(&b, &p[0].t, 1030));
	assert_false(mod_timer_on(&b, &p[1].t, 1010));
	assert_false(mod_timer_on(&b, &p[2].t, 1020));
	assert_true(timer_pending(&p[0].t));
	assert_int_equal(b.count, 3);

	assert_int_equal(run_until(&b, 1009), 0);
	assert_int_equal(run_until(&b, 1010), 1);
	assert_int_equal(p[1].fired_at, 1010);
	assert_int_equal(run_until(&b, 1100), 2);
	assert_int_equal(p[2].fired_at, 1020);
	assert_int_equal(p[0].fired_at, 1030);
	assert_int_equal(norder, 3);
	assert_int_equal(order[0], 1);
	assert_int_equal(order[1], 2);
	assert_int_equal(order[2], 0);
	assert_int_equal(b.count, 0);
	assert_false(timer_pending(&p[0].t));
}

/* A worker that slept through several expiries fires them all, in order. */
static void test_late_run_fires_all_due(void **state)
{
	struct timer_base b;
	struct probe p[3];

	(void)state;
	timer_base_init(&b, 0);
	for (int i = 0; i < 3; i++) {
		probe_init(&p[i], &b, i);
		mod_timer_on(&b, &p[i].t, (uint64_t)(30 - 10 * i));
	}
	fake_now = 25;
	assert_int_equal(run_timers(&b, 25), 2);
	assert_int_equal(order[0], 2);
	assert_int_equal(order[1], 1);
	assert_int_equal(p[0].fired, 0);
	fake_now = 30;
	assert_int_equal(run_timers(&b, 30), 1);
	/* Running again at the same time fires nothing twice. */
	assert_int_equal(run_timers(&b, 30), 0);
	assert_int_equal(run_timers(&b, 10), 0); /* time never goes back */
}

static void test_mod_timer_rearms(void **state)
{
	struct timer_base b;
	struct probe p;

	(void)state;
	timer_base_init(&b, 0);
	probe_init(&p, &b, 0);
	assert_false(mod_timer_on(&b, &p.t, 50));
	assert_true(mod_timer_on(&b, &p.t, 80)); /* was pending: moved */
	assert_int_equal(b.count, 1);
	assert_int_equal(run_until(&b, 79), 0);
	assert_int_equal(run_until(&b, 80), 1);
	assert_int_equal(p.fired_at, 80);
	/* Moving it earlier works too. */
	assert_false(mod_timer_on(&b, &p.t, 200));
	assert_true(mod_timer_on(&b, &p.t, 90));
	assert_int_equal(run_until(&b, 100), 1);
	assert_int_equal(p.fired_at, 90);
}

static void test_del_timer(void **state)
{
	struct timer_base b;
	struct probe p[2];

	(void)state;
	timer_base_init(&b, 0);
	probe_init(&p[0], &b, 0);
	probe_init(&p[1], &b, 1);
	/* Two timers in one slot: deleting one keeps the other. */
	mod_timer_on(&b, &p[0].t, 10);
	mod_timer_on(&b, &p[1].t, 10);
	assert_true(del_timer_on(&b, &p[0].t));
	assert_false(timer_pending(&p[0].t));
	assert_false(del_timer_on(&b, &p[0].t));
	assert_int_equal(b.count, 1);
	assert_int_equal(run_until(&b, 20), 1);
	assert_int_equal(p[0].fired, 0);
	assert_int_equal(p[1].fired, 1);
	assert_int_equal(timer_next_timeout(&b, fake_now), -1);
	/* Deleting a timer that never was armed. */
	assert_false(del_timer_on(&b, &p[0].t));
}

static void test_rearm_inside_callback(void **state)
{
	struct timer_base b;
	struct probe p;

	(void)state;
	timer_base_init(&b, 0);
	probe_init(&p, &b, 0);
	p.rearm_delta = 100;
	p.rearms = 3;
	mod_timer_on(&b, &p.t, 100);
	assert_int_equal(run_until(&b, 99), 0);
	assert_int_equal(run_until(&b, 100), 1);
	assert_true(timer_pending(&p.t));
	assert_int_equal(run_until(&b, 199), 0);
	assert_int_equal(run_until(&b, 200), 1);
	assert_int_equal(run_until(&b, 1000), 2);
	assert_int_equal(p.fired, 4);
	assert_int_equal(p.fired_at, 400);
	assert_false(timer_pending(&p.t));
}

/* A callback that deletes another due timer of the same slot stops it firing. */
static struct probe *victim;

static void killer_fn(struct timer_list *t)
{
	(void)t;
	del_timer_on(victim->base, &victim->t);
}

static void test_callback_deletes_other(void **state)
{
	struct timer_base b;
	struct timer_list killer;
	struct probe p;

	(void)state;
	timer_base_init(&b, 0);
	probe_init(&p, &b, 0);
	victim = &p;
	timer_setup(&killer, killer_fn);
	mod_timer_on(&b, &p.t, 5);
	mod_timer_on(&b, &killer, 5); /* head of the slot: runs first */
	assert_int_equal(run_until(&b, 10), 1);
	assert_int_equal(p.fired, 0);
	assert_int_equal(b.count, 0);
}

/* Expiries beyond one revolution of the wheel fire on time, not a lap early. */
static void test_beyond_one_revolution(void **state)
{
	struct timer_base b;
	struct probe p[3];

	(void)state;
	timer_base_init(&b, 0);
	probe_init(&p[0], &b, 0);
	probe_init(&p[1], &b, 1);
	probe_init(&p[2], &b, 2);
	mod_timer_on(&b, &p[0].t, TIMER_WHEEL_SLOTS + 5);      /* same slot as 5 */
	mod_timer_on(&b, &p[1].t, 3 * TIMER_WHEEL_SLOTS + 7);
	mod_timer_on(&b, &p[2].t, 5);
	assert_int_equal(run_until(&b, 5), 1);
	assert_int_equal(p[2].fired, 1);
	assert_int_equal(run_until(&b, TIMER_WHEEL_SLOTS + 4), 0);
	assert_int_equal(run_until(&b, TIMER_WHEEL_SLOTS + 5), 1);
	assert_int_equal(p[0].fired_at, TIMER_WHEEL_SLOTS + 5);
	assert_int_equal(run_until(&b, 3 * TIMER_WHEEL_SLOTS + 6), 0);
	assert_int_equal(run_until(&b, 3 * TIMER_WHEEL_SLOTS + 7), 1);
	assert_int_equal(p[1].fired_at, 3 * TIMER_WHEEL_SLOTS + 7);
}

/* The same with a worker that wakes rarely (big jumps of the clock). */
static void test_beyond_one_revolution_big_steps(void **state)
{
	struct timer_base b;
	struct probe p;

	(void)state;
	timer_base_init(&b, 0);
	probe_init(&p, &b, 0);
	mod_timer_on(&b, &p.t, 5000);
	fake_now = 1500;
	assert_int_equal(run_timers(&b, 1500), 0);
	fake_now = 4999;
	assert_int_equal(run_timers(&b, 4999), 0);
	assert_int_equal(timer_next_timeout(&b, 4999), 1);
	fake_now = 7000;
	assert_int_equal(run_timers(&b, 7000), 1);
	assert_int_equal(p.fired, 1);
}

static void test_past_expiry_fires_on_next_run(void **state)
{
	struct timer_base b;
	struct probe p;

	(void)state;
	fake_now = 500;
	timer_base_init(&b, 500);
	run_timers(&b, 500);
	probe_init(&p, &b, 0);
	mod_timer_on(&b, &p.t, 100);
	assert_true(timer_pending(&p.t));
	/* Jiffy 500 has been run already, so the earliest run is at 501. */
	assert_true(timer_next_timeout(&b, 500) <= 1);
	fake_now = 501;
	assert_int_equal(run_timers(&b, 501), 1);
	assert_int_equal(p.fired, 1);
	/* Expiry 0 on a fresh base too. */
	mod_timer_on(&b, &p.t, 0);
	fake_now = 502;
	assert_int_equal(run_timers(&b, 502), 1);
}

/*
 * A callback that re-arms its timer in the past (or for "now") asks to run
 * again on the next run, as the header promises for any past expiry: it
 * must neither spin inside this run nor wait for the wheel to come round.
 */
static void test_rearm_in_past_from_callback(void **state)
{
	struct timer_base b;
	struct probe p;

	(void)state;
	timer_base_init(&b, 0);
	probe_init(&p, &b, 0);
	p.rearm_abs = true;
	p.rearm_delta = 0;     /* re-arm at jiffy 0: long past */
	p.rearms = 1;
	mod_timer_on(&b, &p.t, 100);
	fake_now = 100;
	assert_int_equal(run_timers(&b, 100), 1);
	assert_true(timer_pending(&p.t));
	/* Jiffy 100 has been processed: the earliest slot left is 101. */
	assert_int_equal(timer_next_timeout(&b, 100), 1);
	fake_now = 101;
	assert_int_equal(run_timers(&b, 101), 1);
	assert_int_equal(p.fired, 2);
	assert_int_equal(p.fired_at, 101);
}

static void test_rearm_now_from_callback(void **state)
{
	struct timer_base b;
	struct probe p;

	(void)state;
	timer_base_init(&b, 0);
	probe_init(&p, &b, 0);
	p.rearm_delta = 0;     /* re-arm for "now" */
	p.rearms = 5;          /* bounded so that a bug cannot hang the suite */
	mod_timer_on(&b, &p.t, 50);
	fake_now = 50;
	assert_int_equal(run_timers(&b, 50), 1);
	assert_int_equal(p.fired, 1);
	fake_now = 51;
	assert_int_equal(run_timers(&b, 51), 1);
	assert_int_equal(p.fired, 2);
}

static void test_next_timeout(void **state)
{
	struct timer_base b;
	struct probe p[3];

	(void)state;
	timer_base_init(&b, 100);
	assert_int_equal(timer_next_timeout(&b, 100), -1);
	probe_init(&p[0], &b, 0);
	probe_init(&p[1], &b, 1);
	probe_init(&p[2], &b, 2);
	mod_timer_on(&b, &p[0].t, 150);
	assert_int_equal(timer_next_timeout(&b, 100), 50);
	assert_int_equal(timer_next_timeout(&b, 120), 30);
	assert_int_equal(timer_next_timeout(&b, 150), 0);
	assert_int_equal(timer_next_timeout(&b, 170), 0);
	/* A later timer in an earlier slot (beyond a revolution) is not the next one. */
	mod_timer_on(&b, &p[1].t, 100 + TIMER_WHEEL_SLOTS + 10);
	assert_int_equal(timer_next_timeout(&b, 100), 50);
	del_timer_on(&b, &p[0].t);
	assert_int_equal(timer_next_timeout(&b, 100), TIMER_WHEEL_SLOTS + 10);
	/* Far in the future. */
	del_timer_on(&b, &p[1].t);
	mod_timer_on(&b, &p[2].t, 100 + 5 * TIMER_WHEEL_SLOTS);
	assert_int_equal(timer_next_timeout(&b, 100), 5 * TIMER_WHEEL_SLOTS);
	mod_timer_on(&b, &p[0].t, 101);
	assert_int_equal(timer_next_timeout(&b, 100), 1);
	del_timer_on(&b, &p[0].t);
	del_timer_on(&b, &p[2].t);
	assert_int_equal(timer_next_timeout(&b, 100), -1);
}

/* Many timers with random expiries: each fires exactly once, never early. */
static void test_many_random(void **state)
{
	static struct probe p[500];
	struct timer_base b;
	uint64_t expires[500];

	(void)state;
	timer_base_init(&b, 0);
	srand(42);
	for (int i = 0; i < 500; i++) {
		probe_init(&p[i], &b, i);
		expires[i] = 1 + (uint64_t)(rand() % 5000);
		mod_timer_on(&b, &p[i].t, expires[i]);
	}
	/* Re-arm a third of them. */
	for (int i = 0; i < 500; i += 3) {
		expires[i] = 1 + (uint64_t)(rand() % 5000);
		assert_true(mod_timer_on(&b, &p[i].t, expires[i]));
	}
	assert_int_equal(b.count, 500);
	assert_int_equal(run_until(&b, 5001), 500);
	for (int i = 0; i < 500; i++) {
		assert_int_equal(p[i].fired, 1);
		assert_int_equal(p[i].fired_at, expires[i]);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_fires_at_expiry_in_order, reset),
		cmocka_unit_test_setup(test_late_run_fires_all_due, reset),
		cmocka_unit_test_setup(test_mod_timer_rearms, reset),
		cmocka_unit_test_setup(test_del_timer, reset),
		cmocka_unit_test_setup(test_rearm_inside_callback, reset),
		cmocka_unit_test_setup(test_callback_deletes_other, reset),
		cmocka_unit_test_setup(test_beyond_one_revolution, reset),
		cmocka_unit_test_setup(test_beyond_one_revolution_big_steps, reset),
		cmocka_unit_test_setup(test_past_expiry_fires_on_next_run, reset),
		cmocka_unit_test_setup(test_rearm_in_past_from_callback, reset),
		cmocka_unit_test_setup(test_rearm_now_from_callback, reset),
		cmocka_unit_test_setup(test_next_timeout, reset),
		cmocka_unit_test_setup(test_many_random, reset),
	};

	return cmocka_run_group_tests_name("core/timer", tests, NULL, NULL);
}
