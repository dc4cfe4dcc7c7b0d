/*
 * Unit tests for daemon/core/trace.c, the packet trace records: sampling
 * (filter, device, count), stages, the end of a packet (consumed or
 * dropped with its reason), replies joining their cause's record,
 * "read by client" watches holding a record open, stage overflow, and
 * the slot bookkeeping across the end of a trace.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "proto/shm.h"
#include "core/netdev.h"
#include "core/skb.h"
#include "core/trace.h"

static struct trace_sampler sampler;
static unsigned int match_calls;
static bool match_answer = true;
static uint8_t last_proto;
static uint16_t last_dport;

/* The filter stand-in: counts calls and remembers what it saw. */
static bool fake_match(const struct trace_sampler *s, const uint8_t *frame, uint32_t len)
{
	(void)s;
	match_calls++;
	if (len >= 14 + 20 + 4) {
		last_proto = frame[14 + 9];
		last_dport = (uint16_t)(frame[14 + 20 + 2] << 8 | frame[14 + 20 + 3]);
	}
	return match_answer;
}

static int setup(void **state)
{
	struct skb_pool *p = skb_pool_create("test", 0);

	if (!p)
		return -1;
	skb_pool_set_current(p);
	*state = p;
	match_calls = 0;
	match_answer = true;
	memset(&sampler, 0, sizeof(sampler));
	sampler.match = fake_match;
	return 0;
}

/* End the trace, collect what finished: every slot must be free again. */
static int teardown(void **state)
{
	struct skb_pool *p = *state;
	struct trace_record *rec, *next;

	trace_sampler_stop(&sampler);
	trace_sampler_release(&sampler);
	for (rec = trace_done_pop_all(); rec; rec = next) {
		next = rec->done_next;
		trace_record_free(rec);
	}
	assert_int_equal(trace_records_in_use(), 0);
	assert_int_equal(skb_pool_in_use(p), 0);
	skb_pool_set_current(NULL);
	skb_pool_destroy(p);
	return 0;
}

/* A received frame: Ethernet + IPv4 + UDP to @dport, mac header set, data at IP. */
static struct sk_buff *rx_frame(uint16_t dport)
{
	struct sk_buff *skb = alloc_skb(256);
	uint8_t *f;

	assert_non_null(skb);
	skb_reserve(skb, 64);
	f = skb_put(skb, 14 + 20 + 8);
	memset(f, 0, 14 + 20 + 8);
	f[12] = 0x08;
	f[14] = 0x45;
	f[14 + 3] = 28;
	f[14 + 9] = 17;
	f[14 + 12] = 10;
	f[14 + 15] = 1;
	f[14 + 16] = 10;
	f[14 + 19] = 2;
	f[14 + 20 + 2] = (uint8_t)(dport >> 8);
	f[14 + 20 + 3] = (uint8_t)dport;
	skb_reset_mac_header(skb);
	skb_pull(skb, 14);
	return skb;
}

static uint32_t nstages(const struct trace_record *rec)
{
	return atomic_load(&rec->nstages);
}

static void start(uint32_t count)
{
	sampler.count = count;
	assert_int_equal(trace_sampler_start(&sampler), 0);
	assert_true(trace_active());
}

static void test_sample_count_and_filter(void **state)
{
	struct sk_buff *a, *b, *c;

	(void)state;
	start(2);
	assert_int_equal(sampler.count, 2);
	assert_int_equal(trace_records_in_use(), 2);
	/* The filter says no: not sampled, no record taken. */
	match_answer = false;
	a = rx_frame(53);
	trace_sample_rx(a, 0, 0);
	assert_int_equal(a->trace, 0);
	match_answer = true;
	trace_sample_rx(a, 1, 0);
	assert_int_not_equal(a->trace, 0);
	assert_int_equal(last_dport, 53);
	b = rx_frame(54);
	trace_sample_rx(b, 0, 0);
	c = rx_frame(55);
	trace_sample_rx(c, 0, 0);
	assert_int_not_equal(b->trace, 0);
	assert_int_not_equal(a->trace, b->trace);
	/* COUNT reached: the third packet is not sampled. */
	assert_int_equal(c->trace, 0);
	/* With an irq time: irq then napi poll; without: napi poll only. */
	assert_int_equal(nstages(trace_record_get(a->trace)), 2);
	assert_int_equal(trace_record_get(a->trace)->st[0].id, NS_TRACE_IRQ);
	assert_int_equal(trace_record_get(a->trace)->st[1].id, NS_TRACE_NAPI_POLL);
	assert_int_equal(nstages(trace_record_get(b->trace)), 1);
	assert_int_equal(trace_record_get(a->trace)->seq, 1);
	assert_int_equal(trace_record_get(b->trace)->seq, 2);
	assert_int_equal(trace_record_get(a->trace)->pkts[0].proto, 17);
	assert_int_equal(trace_record_get(a->trace)->pkts[0].dport, 53);
	consume_skb(a);
	consume_skb(b);
	consume_skb(c);
}

static void test_one_trace_at_a_time(void **state)
{
	struct trace_sampler other = { .match = fake_match, .count = 1 };

	(void)state;
	start(1);
	assert_int_equal(trace_sampler_start(&other), -EBUSY);
}

static void test_device_filter(void **state)
{
	struct net_device dev;
	struct sk_buff *skb = rx_frame(1);

	(void)state;
	memset(&dev, 0, sizeof(dev));
	dev.ifindex = 3;
	snprintf(dev.name, sizeof(dev.name), "tap9");
	skb->dev = &dev;
	sampler.ifindex = 4;
	start(1);
	trace_sample_rx(skb, 0, 0);
	assert_int_equal(skb->trace, 0);
	assert_int_equal(match_calls, 0);
	trace_sampler_stop(&sampler);
	trace_sampler_release(&sampler);
	sampler.ifindex = 3;
	start(1);
	trace_sample_rx(skb, 0, 0);
	assert_int_not_equal(skb->trace, 0);
	assert_string_equal(trace_record_get(skb->trace)->ifname, "tap9");
	consume_skb(skb);
}

static void test_stages_and_consume(void **state)
{
	struct sk_buff *skb = rx_frame(7);
	struct trace_record *rec, *done;

	(void)state;
	start(1);
	trace_sample_rx(skb, 0, 0);
	rec = trace_record_get(skb->trace);
	skb_trace(skb, NS_TRACE_IP_RCV, 0);
	skb_trace(skb, NS_TRACE_ROUTE_INPUT, NS_TRACE_ROUTE_LOCAL);
	assert_int_equal(nstages(rec), 3);
	assert_int_equal(rec->st[1].id, NS_TRACE_IP_RCV);
	assert_int_equal(rec->st[2].aux, NS_TRACE_ROUTE_LOCAL);
	assert_true(rec->st[1].t_ns <= rec->st[2].t_ns);
	assert_null(trace_done_pop_all());
	consume_skb(skb);
	/* Consumed: no drop stage, and the record is finished. */
	done = trace_done_pop_all();
	assert_ptr_equal(done, rec);
	assert_null(done->done_next);
	assert_int_equal(nstages(rec), 3);
	assert_string_equal(rec->pkts[0].drop, "");
	trace_record_free(done);
}

static void test_drop_ends_with_reason(void **state)
{
	struct sk_buff *skb = rx_frame(7);
	struct trace_record *rec;

	(void)state;
	start(1);
	trace_sample_rx(skb, 0, 0);
	rec = trace_record_get(skb->trace);
	skb_trace(skb, NS_TRACE_UDP_RCV, 0);
	kfree_skb_reason(skb, SKB_DROP_REASON_UDP_NO_SOCKET);
	assert_ptr_equal(trace_done_pop_all(), rec);
	assert_int_equal(nstages(rec), 3);
	assert_int_equal(rec->st[2].id, NS_TRACE_DROP);
	assert_int_equal(rec->st[2].aux, SKB_DROP_REASON_UDP_NO_SOCKET);
	assert_string_equal(rec->pkts[0].drop, "UDP_NO_SOCKET");
	trace_record_free(rec);
}

static void test_reply_joins_record(void **state)
{
	struct sk_buff *skb = rx_frame(7), *reply = alloc_skb(128), *clone;
	struct trace_record *rec;

	(void)state;
	assert_non_null(reply);
	start(1);
	trace_sample_rx(skb, 0, 0);
	rec = trace_record_get(skb->trace);
	/* A tap's clone is not the traced packet. */
	clone = skb_clone(skb);
	assert_non_null(clone);
	assert_int_equal(clone->trace, 0);
	consume_skb(clone);
	skb_trace_continue(reply, skb, NS_TRACE_ICMP_SEND);
	assert_int_equal(reply->trace, skb->trace);
	assert_int_equal(reply->trace_pkt, 1);
	assert_int_equal(atomic_load(&rec->npkts), 2);
	assert_int_equal(rec->pkts[1].dir, NS_TRACE_DIR_REPLY);
	assert_int_equal(rec->pkts[1].parent, 0);
	/* The cause ends first; the record waits for the reply. */
	kfree_skb_reason(skb, SKB_DROP_REASON_UDP_NO_SOCKET);
	assert_null(trace_done_pop_all());
	skb_trace(reply, NS_TRACE_DRIVER_XMIT, 0);
	consume_skb(reply);
	assert_ptr_equal(trace_done_pop_all(), rec);
	/* napi_poll, icmp_send (pkt 1), drop (pkt 0), driver xmit (pkt 1). */
	assert_int_equal(nstages(rec), 4);
	assert_int_equal(rec->st[1].id, NS_TRACE_ICMP_SEND);
	assert_int_equal(rec->st[1].pkt, 1);
	assert_int_equal(rec->st[2].pkt, 0);
	assert_int_equal(rec->st[3].pkt, 1);
	trace_record_free(rec);
}

static void test_watch_holds_record(void **state)
{
	struct sk_buff *skb = rx_frame(7);
	struct trace_record *rec;
	int sock_stand_in;
	struct ns_ring ring;

	(void)state;
	start(1);
	trace_sample_rx(skb, 0, 0);
	rec = trace_record_get(skb->trace);
	skb_trace_sock_queue(skb, &sock_stand_in, &ring, 4096);
	assert_int_equal(atomic_load(&rec->watch), TRACE_WATCH_ARMED);
	assert_ptr_equal(rec->watch_sock, &sock_stand_in);
	assert_ptr_equal(rec->watch_ring, &ring);
	assert_int_equal(rec->watch_pos, 4096);
	assert_int_equal(atomic_load(&trace_watches), 1);
	consume_skb(skb);
	/* Queued but not read: not finished. */
	assert_null(trace_done_pop_all());
	assert_true(trace_watch_resolve(rec, NS_TRACE_CLIENT_READ, rec->watch_t_ns + 1000));
	assert_false(trace_watch_resolve(rec, NS_TRACE_CLIENT_READ, rec->watch_t_ns + 2000));
	assert_int_equal(atomic_load(&trace_watches), 0);
	assert_ptr_equal(trace_done_pop_all(), rec);
	assert_int_equal(rec->st[nstages(rec) - 1].id, NS_TRACE_CLIENT_READ);
	assert_int_equal(rec->st[nstages(rec) - 1].cpu, NS_TRACE_CPU_CLIENT);
	assert_int_equal(rec->st[nstages(rec) - 2].id, NS_TRACE_SOCK_QUEUE);
	trace_record_free(rec);
}

static void test_stage_overflow(void **state)
{
	struct sk_buff *skb = rx_frame(7);
	struct trace_record *rec;

	(void)state;
	start(1);
	trace_sample_rx(skb, 0, 0);
	rec = trace_record_get(skb->trace);
	for (int i = 0; i < NS_TRACE_MAX_STAGES + 10; i++)
		skb_trace(skb, NS_TRACE_IP_RCV, (uint32_t)i);
	/* The count passes the array (truncated); entries were not overwritten. */
	assert_int_equal(nstages(rec), NS_TRACE_MAX_STAGES + 11);
	assert_int_equal(rec->st[NS_TRACE_MAX_STAGES - 1].aux, NS_TRACE_MAX_STAGES - 2);
	consume_skb(skb);
	trace_record_free(trace_done_pop_all());
}

static void test_tx_sample_sees_flow(void **state)
{
	struct sk_buff *skb = alloc_skb(128);
	struct trace_record *rec;

	(void)state;
	assert_non_null(skb);
	skb_put(skb, 8);
	start(1);
	trace_tx_doorbell(5);   /* a time in the past: the doorbell stage comes first */
	trace_sample_tx(skb, NS_TRACE_UDP_SENDMSG, 17, htonl(0x0a000001), htonl(0x0a000002),
			5000, 53);
	trace_tx_doorbell(0);
	assert_int_not_equal(skb->trace, 0);
	assert_int_equal(last_proto, 17);
	assert_int_equal(last_dport, 53);
	rec = trace_record_get(skb->trace);
	assert_int_equal(nstages(rec), 2);
	assert_int_equal(rec->st[0].id, NS_TRACE_SOCK_WRITE);
	assert_int_equal(rec->st[0].t_ns, 5);
	assert_int_equal(rec->st[1].id, NS_TRACE_UDP_SENDMSG);
	assert_int_equal(rec->pkts[0].dir, NS_TRACE_DIR_TX);
	assert_int_equal(rec->pkts[0].sport, 5000);
	consume_skb(skb);
	trace_record_free(trace_done_pop_all());
}

static void test_in_flight_after_end(void **state)
{
	struct sk_buff *a = rx_frame(1);
	struct trace_record *rec;

	(void)state;
	start(3);
	trace_sample_rx(a, 0, 0);
	rec = trace_record_get(a->trace);
	trace_sampler_stop(&sampler);
	assert_false(trace_active());
	trace_sampler_release(&sampler);
	/* Two unclaimed reservations are back; the one in flight is not. */
	assert_int_equal(trace_records_in_use(), 1);
	consume_skb(a);
	assert_ptr_equal(trace_done_pop_all(), rec);
	trace_record_free(rec);
	assert_int_equal(trace_records_in_use(), 0);
	/* The table is reusable: a full-size trace gets every slot. */
	start(TRACE_SLOTS);
	assert_int_equal(sampler.count, TRACE_SLOTS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_sample_count_and_filter, setup, teardown),
		cmocka_unit_test_setup_teardown(test_one_trace_at_a_time, setup, teardown),
		cmocka_unit_test_setup_teardown(test_device_filter, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stages_and_consume, setup, teardown),
		cmocka_unit_test_setup_teardown(test_drop_ends_with_reason, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reply_joins_record, setup, teardown),
		cmocka_unit_test_setup_teardown(test_watch_holds_record, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stage_overflow, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tx_sample_sees_flow, setup, teardown),
		cmocka_unit_test_setup_teardown(test_in_flight_after_end, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
