/*
 * Unit tests for daemon/core/drop.c: reason names, per-thread tables,
 * the fallback table and the totals netstackctl drops shows.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <string.h>

#include "core/drop.h"

static void test_names(void **state)
{
	(void)state;
	assert_string_equal(skb_drop_reason_name(SKB_DROP_REASON_CONSUMED), "CONSUMED");
	assert_string_equal(skb_drop_reason_name(SKB_DROP_REASON_IP_CSUM), "IP_CSUM");
	assert_string_equal(skb_drop_reason_name(SKB_DROP_REASON_SHUTDOWN), "SHUTDOWN");
	assert_string_equal(skb_drop_reason_name(SKB_DROP_REASON_MAX), "INVALID");
	assert_string_equal(skb_drop_reason_name((enum skb_drop_reason)-1), "INVALID");
	assert_string_equal(skb_drop_reason_text(SKB_DROP_REASON_IP_CSUM),
			    "IPv4 header checksum wrong");
	assert_string_equal(skb_drop_reason_text(SKB_DROP_REASON_MAX), "invalid drop reason");
	/* Every reason has a distinct, non-empty name and an explanation. */
	for (int i = 0; i < SKB_DROP_REASON_MAX; i++) {
		assert_true(strlen(skb_drop_reason_name(i)) > 0);
		assert_true(strlen(skb_drop_reason_text(i)) > 0);
		for (int j = 0; j < i; j++)
			assert_string_not_equal(skb_drop_reason_name(i), skb_drop_reason_name(j));
	}
}

static void test_fallback_table(void **state)
{
	uint64_t before = drop_stats_total(SKB_DROP_REASON_OTHERHOST);

	(void)state;
	drop_stats_set_current(NULL);
	drop_count(SKB_DROP_REASON_OTHERHOST);
	drop_count(SKB_DROP_REASON_OTHERHOST);
	assert_int_equal(drop_stats_total(SKB_DROP_REASON_OTHERHOST), before + 2);
}

static void test_invalid_reason_counts_unspecified(void **state)
{
	uint64_t before = drop_stats_total(SKB_DROP_REASON_NOT_SPECIFIED);

	(void)state;
	drop_count(SKB_DROP_REASON_MAX);
	drop_count((enum skb_drop_reason)1000);
	assert_int_equal(drop_stats_total(SKB_DROP_REASON_NOT_SPECIFIED), before + 2);
	assert_int_equal(drop_stats_total(SKB_DROP_REASON_MAX), 0);
}

static void test_registered_table(void **state)
{
	static struct drop_stats table;
	uint64_t before = drop_stats_total(SKB_DROP_REASON_IP_FRAG);

	(void)state;
	memset(&table, 0, sizeof(table));
	drop_stats_register(&table);
	drop_stats_set_current(&table);
	drop_count(SKB_DROP_REASON_IP_FRAG);
	drop_count(SKB_DROP_REASON_IP_FRAG);
	drop_count(SKB_DROP_REASON_IP_FRAG);
	drop_stats_set_current(NULL);
	assert_int_equal(ns_counter_read(&table.count[SKB_DROP_REASON_IP_FRAG]), 3);
	assert_int_equal(drop_stats_total(SKB_DROP_REASON_IP_FRAG), before + 3);
	/* Unregistering keeps the counts (folded into the fallback). */
	drop_stats_unregister(&table);
	assert_int_equal(drop_stats_total(SKB_DROP_REASON_IP_FRAG), before + 3);
}

static void *count_on_thread(void *arg)
{
	(void)arg;
	for (int i = 0; i < 1000; i++)
		drop_count(SKB_DROP_REASON_ICMP_TYPE);
	return NULL;
}

/* Threads without a table of their own share the fallback safely. */
static void test_fallback_from_threads(void **state)
{
	uint64_t before = drop_stats_total(SKB_DROP_REASON_ICMP_TYPE);
	pthread_t t[4];

	(void)state;
	for (int i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&t[i], NULL, count_on_thread, NULL), 0);
	for (int i = 0; i < 4; i++)
		assert_int_equal(pthread_join(t[i], NULL), 0);
	assert_int_equal(drop_stats_total(SKB_DROP_REASON_ICMP_TYPE), before + 4000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_fallback_table),
		cmocka_unit_test(test_invalid_reason_counts_unspecified),
		cmocka_unit_test(test_registered_table),
		cmocka_unit_test(test_fallback_from_threads),
	};

	return cmocka_run_group_tests_name("core/drop", tests, NULL, NULL);
}
