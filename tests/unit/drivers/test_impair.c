/*
 * Unit tests for daemon/drivers/impair.c, the netem-like test impairment:
 * the fates drawn over many frames come out at the configured rates, a
 * corrupted frame differs in exactly one bit past its Ethernet and IP
 * headers, held frames leave after the delay (not before) in order,
 * "reorder" sends its share at once ahead of the delayed rest, the delay
 * queue is bounded, and every drop is counted with its reason.
 *
 * No workers run: each test owns a struct impair_cpu on a timer wheel of
 * its own, passes "now" explicitly and runs the wheel with run_timers().
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <string.h>

#include "core/drop.h"
#include "core/skb.h"
#include "core/timer.h"
#include "drivers/impair.h"

#include "../fakes.h"

#define T0 100000u              /* the fake clock's start, in jiffies */
#define FRAME_PAYLOAD 200u      /* UDP-ish bytes after the IP header */

static const uint8_t mac_a[6] = { 0x02, 0, 0, 0, 0, 1 };
static const uint8_t mac_b[6] = { 0x02, 0, 0, 0, 0, 2 };

static struct skb_pool *pool;
static struct timer_base base;
static struct impair_cpu pc;
static struct sk_buff_head out_now, out_later;

/* The outputs a driver would give: keep the frames for the test. */
static void keep_now(struct sk_buff *skb)
{
	__skb_queue_tail(&out_now, skb);
}

static void keep_later(struct sk_buff *skb)
{
	__skb_queue_tail(&out_later, skb);
}

static const struct impair_out keep_out = { .now = keep_now, .later = keep_later };

static int group_setup(void **state)
{
	(void)state;
	pool = skb_pool_create("unit", 0);
	if (!pool)
		return -1;
	skb_pool_set_current(pool);
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	skb_pool_set_current(NULL);
	skb_pool_destroy(pool);
	return 0;
}

static int setup(void **state)
{
	(void)state;
	timer_base_init(&base, T0);
	memset(&pc, 0, sizeof(pc));
	impair_cpu_init(&pc, &base, 0x1234567887654321ull);
	skb_queue_head_init(&out_now);
	skb_queue_head_init(&out_later);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	skb_queue_purge_reason(&out_now, SKB_DROP_REASON_CONSUMED);
	skb_queue_purge_reason(&out_later, SKB_DROP_REASON_CONSUMED);
	impair_cpu_flush(&pc, NULL, SKB_DROP_REASON_SHUTDOWN);
	assert_false(timer_pending(&pc.timer));
	assert_int_equal(skb_pool_in_use(pool), 0);
	return 0;
}

/* A tx-side frame (data at the Ethernet header): UDP-ish, numbered @id. */
static struct sk_buff *frame(uint32_t id)
{
	uint8_t buf[256], payload[FRAME_PAYLOAD];
	struct sk_buff *skb = alloc_skb(512);
	size_t n;

	assert_non_null(skb);
	for (size_t i = 0; i < sizeof(payload); i++)
		payload[i] = (uint8_t)(i * 13 + 7);
	memcpy(payload, &id, sizeof(id));
	n = fb_ip_frame(buf, mac_b, mac_a, fake_ip(10, 200, 0, 1), fake_ip(10, 200, 0, 2),
			17, payload, sizeof(payload));
	skb_reserve(skb, 64);
	assert_non_null(skb_put_data(skb, buf, (uint32_t)n));
	return skb;
}

static uint32_t frame_id(const struct sk_buff *skb)
{
	uint32_t id;

	memcpy(&id, skb->data + 14 + 20, sizeof(id));
	return id;
}

static struct impair_params params(void)
{
	struct impair_params p = { .limit = 10000 };

	return p;
}

/* --- fates ---------------------------------------------------------------- */

/* |got - want| within @tol. */
static void assert_near(uint64_t got, uint64_t want, uint64_t tol, const char *what)
{
	uint64_t d = got > want ? got - want : want - got;

	if (d > tol)
		fail_msg("%s: %llu, want %llu +- %llu", what, (unsigned long long)got,
			 (unsigned long long)want, (unsigned long long)tol);
}

/*
 * netem delay 10ms loss 2% reorder 25% duplicate 1% corrupt 1% over 200000
 * frames: each rate within about five standard deviations.
 */
static void test_rates(void **state)
{
	struct impair_params p = params();
	struct impair_rng r;
	uint64_t n = 200000, loss = 0, dup = 0, corrupt = 0, reorder = 0, delay = 0;

	(void)state;
	p.delay_ms = 10;
	p.loss = 200;
	p.duplicate = 100;
	p.reorder = 2500;
	p.corrupt = 100;
	impair_rng_seed(&r, 42);
	for (uint64_t i = 0; i < n; i++) {
		unsigned int f = impair_decide(&r, &p, true);

		if (f & IMPAIR_F_LOSS) {
			/* A lost frame has no other fate. */
			assert_int_equal(f, IMPAIR_F_LOSS);
			loss++;
			continue;
		}
		dup += !!(f & IMPAIR_F_DUPLICATE);
		corrupt += !!(f & IMPAIR_F_CORRUPT);
		/* With a delay every surviving frame is either delayed or reordered. */
		assert_true(!!(f & IMPAIR_F_DELAY) != !!(f & IMPAIR_F_REORDER));
		reorder += !!(f & IMPAIR_F_REORDER);
		delay += !!(f & IMPAIR_F_DELAY);
	}
	/* Lost unless also duplicated (netem sends such a frame once). */
	assert_near(loss, n * 200 / 10000 * 99 / 100, 320, "loss");
	assert_near(dup, n * 100 / 10000 * 98 / 100, 230, "duplicate");
	assert_near(corrupt, (n - loss) / 100, 230, "corrupt");
	assert_near(reorder, (n - loss) / 4, 1000, "reorder");
	assert_int_equal(reorder + delay, n - loss);
}

/* 0 never happens, 10000 always; no delay means neither delay nor reorder. */
static void test_rate_bounds(void **state)
{
	struct impair_params p = params();
	struct impair_rng r;

	(void)state;
	impair_rng_seed(&r, 0);         /* 0 is replaced by a usable state */
	for (int i = 0; i < 10000; i++)
		assert_int_equal(impair_decide(&r, &p, true), 0);
	p.corrupt = 10000;
	p.duplicate = 10000;
	p.reorder = 10000;              /* no delay: nothing to reorder */
	for (int i = 0; i < 10000; i++)
		assert_int_equal(impair_decide(&r, &p, true),
				 IMPAIR_F_DUPLICATE | IMPAIR_F_CORRUPT);
	/* A copy is never duplicated again. */
	assert_int_equal(impair_decide(&r, &p, false), IMPAIR_F_CORRUPT);
	p.loss = 10000;
	p.duplicate = 0;
	for (int i = 0; i < 1000; i++)
		assert_int_equal(impair_decide(&r, &p, true), IMPAIR_F_LOSS);
	p.loss = 0;
	p.delay_ms = 5;
	p.reorder = 0;
	for (int i = 0; i < 1000; i++)
		assert_true(impair_decide(&r, &p, true) & IMPAIR_F_DELAY);
}

/* impair_rng_below is uniform enough: 10 buckets of 100000 draws each. */
static void test_rng_uniform(void **state)
{
	struct impair_rng r;
	uint64_t bucket[10] = { 0 };

	(void)state;
	impair_rng_seed(&r, 7);
	for (int i = 0; i < 1000000; i++) {
		uint32_t v = impair_rng_below(&r, 10);

		assert_true(v < 10);
		bucket[v]++;
	}
	for (int i = 0; i < 10; i++)
		assert_near(bucket[i], 100000, 1500, "bucket");
}

/* --- corruption ------------------------------------------------------------ */

/* Bits that differ between @a and @b; the first differing offset in *@at. */
static unsigned int bit_diff(const uint8_t *a, const uint8_t *b, size_t len, size_t *at)
{
	unsigned int bits = 0;

	for (size_t i = 0; i < len; i++) {
		if (a[i] != b[i] && bits == 0)
			*at = i;
		bits += (unsigned int)__builtin_popcount((unsigned)(a[i] ^ b[i]));
	}
	return bits;
}

/* One bit, past Ethernet + IP, inside the packet: tx (link header) and rx. */
static void test_corrupt_one_bit_past_headers(void **state)
{
	struct impair_rng r;
	uint8_t orig[512];
	bool seen_first = false, seen_last = false;

	(void)state;
	impair_rng_seed(&r, 99);
	for (int dir = IMPAIR_RX; dir <= IMPAIR_TX; dir++) {
		for (uint32_t i = 0; i < 4000; i++) {
			struct sk_buff *skb = frame(i);
			uint32_t len = skb->len;
			size_t at = 0;

			memcpy(orig, skb->data, len);
			if (dir == IMPAIR_RX) {
				/* As after eth_type_trans: data at the IP header. */
				skb->protocol = htons(0x0800);
				skb_pull(skb, 14);
			}
			assert_true(impair_corrupt(&r, skb, dir));
			if (dir == IMPAIR_RX)
				skb_push(skb, 14);
			assert_int_equal(skb->len, len);
			assert_int_equal(bit_diff(orig, skb->data, len, &at), 1);
			assert_true(at >= 14 + 20);
			assert_true(at < len);
			seen_first |= at == 14 + 20;
			seen_last |= at == len - 1;
			consume_skb(skb);
		}
	}
	/* The whole payload is in range, the UDP header included. */
	assert_true(seen_first);
	assert_true(seen_last);
}

/* Not IPv4, nothing past the IP header, padding: no bit to flip there. */
static void test_corrupt_leaves_alone(void **state)
{
	struct impair_rng r;
	uint8_t buf[128], orig[128];
	struct sk_buff *skb;
	size_t n, at = 0;

	(void)state;
	impair_rng_seed(&r, 5);
	/* ARP: no checksum to catch a flip, so never touched. */
	n = fb_arp_frame(buf, mac_b, 1, mac_a, fake_ip(10, 200, 0, 1), mac_b,
			 fake_ip(10, 200, 0, 2));
	skb = alloc_skb(256);
	skb_put_data(skb, buf, (uint32_t)n);
	for (int i = 0; i < 100; i++)
		assert_false(impair_corrupt(&r, skb, IMPAIR_TX));
	assert_memory_equal(skb->data, buf, n);
	consume_skb(skb);

	/* An IP header alone. */
	n = fb_ip_frame(buf, mac_b, mac_a, fake_ip(10, 200, 0, 1), fake_ip(10, 200, 0, 2),
			17, NULL, 0);
	skb = alloc_skb(256);
	skb_put_data(skb, buf, (uint32_t)n);
	assert_false(impair_corrupt(&r, skb, IMPAIR_TX));
	consume_skb(skb);

	/* 6 bytes of payload padded to the Ethernet minimum: the pad stays. */
	n = fb_ip_frame(buf, mac_b, mac_a, fake_ip(10, 200, 0, 1), fake_ip(10, 200, 0, 2),
			17, "abcdef", 6);
	memset(buf + n, 0, 60 - n);
	for (int i = 0; i < 200; i++) {
		skb = alloc_skb(256);
		skb_put_data(skb, buf, 60);
		memcpy(orig, buf, 60);
		assert_true(impair_corrupt(&r, skb, IMPAIR_TX));
		assert_int_equal(bit_diff(orig, skb->data, 60, &at), 1);
		assert_true(at >= 34 && at < 40);
		consume_skb(skb);
	}
}

/* A shared buffer (a clone kept for retransmission) is copied first. */
static void test_corrupt_clone(void **state)
{
	struct impair_rng r;
	struct sk_buff *skb = frame(1), *clone;
	uint8_t orig[512];
	uint32_t len = skb->len;
	size_t at = 0;

	(void)state;
	impair_rng_seed(&r, 3);
	memcpy(orig, skb->data, len);
	clone = skb_clone(skb);
	assert_non_null(clone);
	assert_true(impair_corrupt(&r, clone, IMPAIR_TX));
	assert_memory_equal(skb->data, orig, len);
	assert_int_equal(bit_diff(orig, clone->data, len, &at), 1);
	consume_skb(clone);
	consume_skb(skb);
}

/* --- the path a frame takes ------------------------------------------------ */

static void test_off_passes_through(void **state)
{
	struct impair_params p = params();

	(void)state;
	for (uint32_t i = 0; i < 100; i++)
		impair_skb_on(&pc, &p, IMPAIR_RX, frame(i), &keep_out, T0);
	assert_int_equal(skb_queue_len(&out_now), 100);
	for (uint32_t i = 0; i < 100; i++) {
		struct sk_buff *skb = __skb_dequeue(&out_now);

		assert_int_equal(frame_id(skb), i);
		consume_skb(skb);
	}
	assert_false(timer_pending(&pc.timer));
}

/* Loss: dropped with reason IMPAIR_LOSS and counted per direction. */
static void test_loss_counted(void **state)
{
	struct impair_params p = params();
	uint64_t drops = drop_stats_total(SKB_DROP_REASON_IMPAIR_LOSS);

	(void)state;
	p.loss = 10000;
	for (uint32_t i = 0; i < 50; i++)
		impair_skb_on(&pc, &p, IMPAIR_TX, frame(i), &keep_out, T0);
	assert_int_equal(skb_queue_len(&out_now), 0);
	assert_int_equal(drop_stats_total(SKB_DROP_REASON_IMPAIR_LOSS), drops + 50);
	assert_int_equal(ns_counter_read(&pc.stats[IMPAIR_TX][IMPAIR_STAT_LOSS]), 50);
	assert_int_equal(ns_counter_read(&pc.stats[IMPAIR_RX][IMPAIR_STAT_LOSS]), 0);
}

/* Duplicate: two identical frames, the copy first (as netem's root requeue). */
static void test_duplicate(void **state)
{
	struct impair_params p = params();

	(void)state;
	p.duplicate = 10000;
	for (uint32_t i = 0; i < 20; i++)
		impair_skb_on(&pc, &p, IMPAIR_RX, frame(i), &keep_out, T0);
	assert_int_equal(skb_queue_len(&out_now), 40);
	for (uint32_t i = 0; i < 20; i++) {
		struct sk_buff *a = __skb_dequeue(&out_now), *b = __skb_dequeue(&out_now);

		assert_int_equal(frame_id(a), i);
		assert_int_equal(a->len, b->len);
		assert_memory_equal(a->data, b->data, a->len);
		/* Private copies, not clones. */
		assert_ptr_not_equal(a->head, b->head);
		consume_skb(a);
		consume_skb(b);
	}
	assert_int_equal(ns_counter_read(&pc.stats[IMPAIR_RX][IMPAIR_STAT_DUPLICATE]), 20);
}

/* Held frames leave once delay_ms has passed, not a jiffy before, in order. */
static void test_delay_releases_after_delay(void **state)
{
	struct impair_params p = params();

	(void)state;
	p.delay_ms = 10;
	for (uint32_t i = 0; i < 5; i++)
		impair_skb_on(&pc, &p, IMPAIR_RX, frame(i), &keep_out, T0);
	for (uint32_t i = 5; i < 8; i++)
		impair_skb_on(&pc, &p, IMPAIR_RX, frame(i), &keep_out, T0 + 4);
	assert_int_equal(skb_queue_len(&out_now), 0);
	assert_true(timer_pending(&pc.timer));
	assert_int_equal(timer_next_timeout(&base, T0), 10);

	run_timers(&base, T0 + 9);
	assert_int_equal(skb_queue_len(&out_later), 0);
	run_timers(&base, T0 + 10);
	assert_int_equal(skb_queue_len(&out_later), 5);
	run_timers(&base, T0 + 13);
	assert_int_equal(skb_queue_len(&out_later), 5);
	run_timers(&base, T0 + 14);
	assert_int_equal(skb_queue_len(&out_later), 8);
	assert_false(timer_pending(&pc.timer));
	for (uint32_t i = 0; i < 8; i++) {
		struct sk_buff *skb = __skb_dequeue(&out_later);

		assert_int_equal(frame_id(skb), i);
		/* The control block the frame carried while held is cleared. */
		for (size_t k = 0; k < sizeof(skb->cb); k++)
			assert_int_equal(skb->cb[k], 0);
		consume_skb(skb);
	}
	assert_int_equal(ns_counter_read(&pc.stats[IMPAIR_RX][IMPAIR_STAT_DELAYED]), 8);
}

/* A worker that runs late releases everything due by then in one run. */
static void test_delay_late_run(void **state)
{
	struct impair_params p = params();

	(void)state;
	p.delay_ms = 3;
	for (uint32_t i = 0; i < 6; i++)
		impair_skb_on(&pc, &p, IMPAIR_TX, frame(i), &keep_out, T0 + i);
	run_timers(&base, T0 + 50);
	assert_int_equal(skb_queue_len(&out_later), 6);
	assert_false(timer_pending(&pc.timer));
}

/* After delay_ms is lowered, a later frame may leave before earlier ones. */
static void test_delay_lowered(void **state)
{
	struct impair_params p = params();
	struct sk_buff *skb;

	(void)state;
	p.delay_ms = 50;
	impair_skb_on(&pc, &p, IMPAIR_TX, frame(0), &keep_out, T0);
	impair_skb_on(&pc, &p, IMPAIR_TX, frame(1), &keep_out, T0);
	p.delay_ms = 10;
	impair_skb_on(&pc, &p, IMPAIR_TX, frame(2), &keep_out, T0 + 1);
	run_timers(&base, T0 + 11);
	assert_int_equal(skb_queue_len(&out_later), 1);
	skb = __skb_dequeue(&out_later);
	assert_int_equal(frame_id(skb), 2);
	consume_skb(skb);
	run_timers(&base, T0 + 50);
	assert_int_equal(skb_queue_len(&out_later), 2);
	assert_int_equal(frame_id(out_later.head), 0);
	assert_int_equal(frame_id(out_later.tail), 1);
}

/*
 * reorder 25% with a delay: a quarter go at once, in order, ahead of the
 * delayed rest, which keep their order among themselves.
 */
static void test_reorder(void **state)
{
	struct impair_params p = params();
	uint32_t n = 2000, last = 0, prev_now = 0, nnow;
	bool first = true;

	(void)state;
	p.delay_ms = 10;
	p.reorder = 2500;
	for (uint32_t i = 0; i < n; i++)
		impair_skb_on(&pc, &p, IMPAIR_RX, frame(i), &keep_out, T0);
	nnow = skb_queue_len(&out_now);
	assert_near(nnow, n / 4, 100, "sent at once");
	assert_int_equal(ns_counter_read(&pc.stats[IMPAIR_RX][IMPAIR_STAT_REORDER]), nnow);
	assert_int_equal(skb_queue_len(&out_later), 0);
	/* The frames sent at once overtook frames sent before them. */
	for (struct sk_buff *s = out_now.head; s; s = s->next) {
		uint32_t id = frame_id(s);

		assert_true(first || id > prev_now);
		prev_now = id;
		first = false;
	}
	assert_true(prev_now > nnow);
	run_timers(&base, T0 + 10);
	assert_int_equal(skb_queue_len(&out_later), n - nnow);
	first = true;
	for (struct sk_buff *s = out_later.head; s; s = s->next) {
		uint32_t id = frame_id(s);

		assert_true(first || id > last);
		last = id;
		first = false;
	}
}

/* The delay queue holds at most limit frames; the rest are counted drops. */
static void test_limit(void **state)
{
	struct impair_params p = params();
	uint64_t drops = drop_stats_total(SKB_DROP_REASON_IMPAIR_OVERFLOW);

	(void)state;
	p.delay_ms = 10;
	p.limit = 4;
	for (uint32_t i = 0; i < 7; i++)
		impair_skb_on(&pc, &p, IMPAIR_TX, frame(i), &keep_out, T0);
	/* The other direction has its own queue. */
	impair_skb_on(&pc, &p, IMPAIR_RX, frame(7), &keep_out, T0);
	assert_int_equal(drop_stats_total(SKB_DROP_REASON_IMPAIR_OVERFLOW), drops + 3);
	assert_int_equal(ns_counter_read(&pc.stats[IMPAIR_TX][IMPAIR_STAT_OVERFLOW]), 3);
	run_timers(&base, T0 + 10);
	assert_int_equal(skb_queue_len(&out_later), 5);
	/* The first four tx frames were kept, the later ones dropped. */
	assert_int_equal(frame_id(out_later.tail), 3);
}

/*
 * A released rx frame that makes the stack answer: the answer is held on
 * the tx queue from inside the timer and leaves delay_ms later.
 */
static struct impair_params nested_p;

static void answer_later(struct sk_buff *skb)
{
	uint32_t id = frame_id(skb);

	__skb_queue_tail(&out_later, skb);
	if (id < 1000)
		impair_skb_on(&pc, &nested_p, IMPAIR_TX, frame(id + 1000), &keep_out,
			      pc.timer.expires);
}

static void test_nested_hold(void **state)
{
	static const struct impair_out answering = { .now = keep_now, .later = answer_later };

	(void)state;
	nested_p = params();
	nested_p.delay_ms = 10;
	impair_skb_on(&pc, &nested_p, IMPAIR_RX, frame(1), &answering, T0);
	run_timers(&base, T0 + 10);
	assert_int_equal(skb_queue_len(&out_later), 1);
	assert_true(timer_pending(&pc.timer));
	run_timers(&base, T0 + 19);
	assert_int_equal(skb_queue_len(&out_later), 1);
	run_timers(&base, T0 + 20);
	assert_int_equal(skb_queue_len(&out_later), 2);
	assert_int_equal(frame_id(out_later.tail), 1001);
}

/* Flushing a device drops its held frames only; the timer follows. */
static void test_flush_dev(void **state)
{
	struct impair_params p = params();
	static char dummy;
	struct net_device *dev_a = (struct net_device *)(void *)&dummy; /* only compared */
	struct sk_buff *skb;

	(void)state;
	p.delay_ms = 10;
	skb = frame(0);
	skb->dev = dev_a;
	impair_skb_on(&pc, &p, IMPAIR_TX, skb, &keep_out, T0);
	impair_skb_on(&pc, &p, IMPAIR_RX, frame(1), &keep_out, T0);
	impair_cpu_flush(&pc, dev_a, SKB_DROP_REASON_DEV_READY);
	assert_int_equal(skb_queue_len(&pc.q[IMPAIR_TX]), 0);
	assert_int_equal(skb_queue_len(&pc.q[IMPAIR_RX]), 1);
	assert_true(timer_pending(&pc.timer));
	impair_cpu_flush(&pc, NULL, SKB_DROP_REASON_SHUTDOWN);
	assert_false(timer_pending(&pc.timer));
	assert_false(pc.ready);
}

static void test_stat_names(void **state)
{
	(void)state;
	assert_string_equal(impair_stat_name(IMPAIR_RX, IMPAIR_STAT_LOSS), "RxLoss");
	assert_string_equal(impair_stat_name(IMPAIR_TX, IMPAIR_STAT_OVERFLOW), "TxOverflow");
	assert_string_equal(skb_drop_reason_name(SKB_DROP_REASON_IMPAIR_LOSS), "IMPAIR_LOSS");
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_rates),
		T(test_rate_bounds),
		T(test_rng_uniform),
		T(test_corrupt_one_bit_past_headers),
		T(test_corrupt_leaves_alone),
		T(test_corrupt_clone),
		T(test_off_passes_through),
		T(test_loss_counted),
		T(test_duplicate),
		T(test_delay_releases_after_delay),
		T(test_delay_late_run),
		T(test_delay_lowered),
		T(test_reorder),
		T(test_limit),
		T(test_nested_hold),
		T(test_flush_dev),
		T(test_stat_names),
	};
#undef T
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
