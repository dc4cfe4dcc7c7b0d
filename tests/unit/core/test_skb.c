/*
 * Unit tests for daemon/core/skb.c: the buffer invariants of skb.h
 * (reserve/put/push/pull/trim), sharing (clone, copy, cow), the pools
 * (size classes, byte limit, frees from other threads), the queues, and
 * non-linear skbs (a frag_list, as GRO builds them): copy_bits, checksum
 * across odd piece boundaries, linearize, trim, copy and clone.
 *
 * Every test allocates from a pool of its own and ends with the pool
 * empty (skb_pool_in_use() == 0); the pool is destroyed in the teardown so
 * ASan's leak checker sees every chunk returned.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <string.h>

#include "core/checksum.h"
#include "core/drop.h"
#include "core/skb.h"

static int pool_setup(void **state)
{
	struct skb_pool *p = skb_pool_create("test", 0);

	if (!p)
		return -1;
	skb_pool_set_current(p);
	*state = p;
	return 0;
}

static int pool_teardown(void **state)
{
	struct skb_pool *p = *state;
	uint64_t in_use = skb_pool_in_use(p);

	skb_pool_set_current(NULL);
	skb_pool_destroy(p);
	/* A leaked skb is a test failure, not only an ASan report. */
	return in_use == 0 ? 0 : -1;
}

/* head <= data <= tail <= end and len == tail - headroom. */
static void assert_skb_invariants(const struct sk_buff *skb)
{
	assert_true(skb->data >= skb->head);
	assert_true(skb_headroom(skb) <= skb->tail);
	assert_true(skb->tail <= skb->end);
	assert_int_equal(skb->len, skb->tail - skb_headroom(skb));
}

static void test_alloc_empty(void **state)
{
	struct skb_pool *p = *state;
	struct sk_buff *skb = alloc_skb(100);

	assert_non_null(skb);
	assert_int_equal(skb->len, 0);
	assert_ptr_equal(skb->data, skb->head);
	assert_true(skb_tailroom(skb) >= 100);
	assert_int_equal(skb_dataref(skb), 1);
	assert_int_equal(skb->mac_header, SKB_HDR_UNSET);
	assert_int_equal(skb->network_header, SKB_HDR_UNSET);
	assert_int_equal(skb->transport_header, SKB_HDR_UNSET);
	assert_int_equal(skb_pool_in_use(p), 2); /* a header and a data buffer */
	assert_skb_invariants(skb);
	/* A recycled header comes back with a clear control block. */
	memset(skb->cb, 0xa5, sizeof(skb->cb));
	consume_skb(skb);
	assert_int_equal(skb_pool_in_use(p), 0);
	skb = alloc_skb(100);
	assert_non_null(skb);
	for (size_t i = 0; i < sizeof(skb->cb); i++)
		assert_int_equal(skb->cb[i], 0);
	consume_skb(skb);
}

static void test_reserve_put_push_pull_trim(void **state)
{
	struct sk_buff *skb = alloc_skb(256);
	uint32_t room;
	unsigned char *p;

	(void)state;
	assert_non_null(skb);
	room = skb_tailroom(skb);
	skb_reserve(skb, 64);
	assert_int_equal(skb_headroom(skb), 64);
	assert_int_equal(skb_tailroom(skb), room - 64);
	assert_int_equal(skb->len, 0);
	assert_skb_invariants(skb);

	p = skb_put(skb, 10);
	assert_ptr_equal(p, skb->data);
	memset(p, 0xaa, 10);
	assert_int_equal(skb->len, 10);
	assert_int_equal(skb_tailroom(skb), room - 74);
	assert_skb_invariants(skb);

	p = skb_push(skb, 4);
	assert_ptr_equal(p, skb->data);
	assert_int_equal(skb_headroom(skb), 60);
	assert_int_equal(skb->len, 14);
	assert_skb_invariants(skb);

	p = skb_pull(skb, 4);
	assert_ptr_equal(p, skb->data);
	assert_int_equal(skb->data[0], 0xaa);
	assert_int_equal(skb->len, 10);
	assert_int_equal(skb_headroom(skb), 64);
	assert_skb_invariants(skb);

	skb_trim(skb, 3);
	assert_int_equal(skb->len, 3);
	assert_int_equal(skb_tailroom(skb), room - 67);
	assert_skb_invariants(skb);
	skb_trim(skb, 100); /* longer than len: no change */
	assert_int_equal(skb->len, 3);
	assert_true(skb_may_pull(skb, 3));
	assert_false(skb_may_pull(skb, 4));
	consume_skb(skb);
}

static void test_out_of_room_changes_nothing(void **state)
{
	struct sk_buff *skb = alloc_skb(128);
	struct sk_buff before;
	uint32_t tailroom;

	(void)state;
	assert_non_null(skb);
	skb_reserve(skb, 16);
	assert_non_null(skb_put(skb, 8));
	tailroom = skb_tailroom(skb);
	before = *skb;

	assert_null(skb_put(skb, tailroom + 1));
	assert_null(skb_push(skb, 17));
	assert_null(skb_pull(skb, 9));
	assert_null(skb_put_data(skb, "x", tailroom + 1));
	assert_ptr_equal(skb->data, before.data);
	assert_int_equal(skb->tail, before.tail);
	assert_int_equal(skb->len, before.len);
	assert_int_equal(skb->end, before.end);

	/* Exactly the room left is fine. */
	assert_non_null(skb_put(skb, tailroom));
	assert_int_equal(skb_tailroom(skb), 0);
	assert_non_null(skb_push(skb, 16));
	assert_int_equal(skb_headroom(skb), 0);
	assert_skb_invariants(skb);
	consume_skb(skb);
}

static void test_netdev_alloc_skb_headroom(void **state)
{
	struct sk_buff *skb = netdev_alloc_skb(NULL, 1514);

	(void)state;
	assert_non_null(skb);
	assert_int_equal(skb_headroom(skb), NET_SKB_PAD);
	assert_true(skb_tailroom(skb) >= 1514);
	assert_int_equal(skb->len, 0);
	consume_skb(skb);
}

static void test_header_offsets(void **state)
{
	struct sk_buff *skb = netdev_alloc_skb(NULL, 64);

	(void)state;
	assert_non_null(skb);
	assert_non_null(skb_put(skb, 64));
	skb_reset_mac_header(skb);
	skb_pull(skb, 14);
	skb_reset_network_header(skb);
	skb_set_transport_header(skb, 20);
	assert_ptr_equal(skb_mac_header(skb), skb->data - 14);
	assert_ptr_equal(skb_network_header(skb), skb->data);
	assert_ptr_equal(skb_transport_header(skb), skb->data + 20);
	assert_int_equal(skb_network_offset(skb), 0);
	consume_skb(skb);
}

static void test_clone_shares_data(void **state)
{
	struct skb_pool *p = *state;
	struct sk_buff *skb = alloc_skb(200);
	struct sk_buff *c;

	assert_non_null(skb);
	skb_reserve(skb, 32);
	skb_put_data(skb, "hello", 5);
	skb->cb[0] = 7;
	c = skb_clone(skb);
	assert_non_null(c);
	assert_ptr_not_equal(c, skb);
	assert_ptr_equal(c->head, skb->head);
	assert_ptr_equal(c->data, skb->data);
	assert_int_equal(c->len, 5);
	assert_int_equal(c->cb[0], 7);
	assert_int_equal(skb_dataref(skb), 2);
	assert_int_equal(skb_dataref(c), 2);
	assert_true(skb->cloned);
	assert_true(c->cloned);
	assert_null(c->next);
	assert_int_equal(skb_pool_in_use(p), 3); /* two headers, one buffer */

	/* The headers are independent even though the bytes are shared. */
	skb_pull(c, 2);
	assert_int_equal(skb->len, 5);
	assert_memory_equal(skb->data, "hello", 5);

	consume_skb(skb);
	assert_int_equal(skb_dataref(c), 1);
	assert_memory_equal(c->data, "llo", 3);
	consume_skb(c);
	assert_int_equal(skb_pool_in_use(p), 0);
}

static void test_copy_is_independent(void **state)
{
	struct skb_pool *p = *state;
	struct sk_buff *skb = alloc_skb(300);
	struct sk_buff *c;

	assert_non_null(skb);
	skb_reserve(skb, 40);
	skb_put_data(skb, "abcdef", 6);
	skb_reset_network_header(skb);
	skb->protocol = 0x0008;
	memcpy(skb->cb, "control", 7);
	c = skb_copy(skb);
	assert_non_null(c);
	assert_ptr_not_equal(c->head, skb->head);
	assert_int_equal(skb_headroom(c), 40);
	assert_int_equal(c->len, 6);
	assert_int_equal(c->protocol, 0x0008);
	assert_int_equal(c->network_header, skb->network_header);
	assert_memory_equal(c->cb, "control", 7);
	assert_memory_equal(c->data, "abcdef", 6);
	assert_int_equal(skb_dataref(skb), 1);
	assert_int_equal(skb_dataref(c), 1);
	assert_false(c->cloned);
	assert_skb_invariants(c);

	c->data[0] = 'X';
	assert_int_equal(skb->data[0], 'a');
	assert_non_null(skb_put_data(c, "g", 1));
	assert_int_equal(skb->len, 6);
	consume_skb(skb);
	assert_memory_equal(c->data, "Xbcdefg", 7);
	consume_skb(c);
	assert_int_equal(skb_pool_in_use(p), 0);
}

static void test_cow_data_makes_clone_private(void **state)
{
	struct skb_pool *p = *state;
	struct sk_buff *skb = alloc_skb(200);
	struct sk_buff *c;

	assert_non_null(skb);
	skb_reserve(skb, 20);
	skb_put_data(skb, "shared", 6);
	c = skb_clone(skb);
	assert_non_null(c);

	assert_int_equal(skb_cow_data(c), 0);
	assert_ptr_not_equal(c->head, skb->head);
	assert_int_equal(skb_dataref(c), 1);
	assert_int_equal(skb_dataref(skb), 1);
	assert_false(c->cloned);
	assert_int_equal(skb_headroom(c), 20);
	assert_int_equal(c->len, 6);
	assert_memory_equal(c->data, "shared", 6);
	assert_skb_invariants(c);

	c->data[0] = 'S';
	assert_memory_equal(skb->data, "shared", 6);
	/* A private buffer is left alone. */
	assert_int_equal(skb_cow_data(skb), 0);
	assert_memory_equal(skb->data, "shared", 6);

	consume_skb(c);
	consume_skb(skb);
	assert_int_equal(skb_pool_in_use(p), 0);
}

static void test_size_classes(void **state)
{
	struct skb_pool *p = *state;
	struct skb_pool_stats st0, st1;
	struct sk_buff *small, *mid, *big;

	small = alloc_skb(1500);
	mid = alloc_skb(9000);
	big = alloc_skb(65536);
	assert_non_null(small);
	assert_non_null(mid);
	assert_non_null(big);
	assert_true(skb_tailroom(small) >= 1500);
	assert_true(skb_tailroom(mid) >= 9000);
	assert_true(skb_tailroom(big) >= 65536);
	/* The whole room is usable. */
	assert_non_null(skb_put(big, 65536));
	big->data[65535] = 1;

	skb_pool_get_stats(p, &st0);
	assert_null(alloc_skb(70000));
	assert_null(alloc_skb(UINT32_MAX - 8));
	skb_pool_get_stats(p, &st1);
	assert_int_equal(st1.alloc_failures, st0.alloc_failures + 2);
	assert_int_equal(st1.allocs, st0.allocs);

	consume_skb(small);
	consume_skb(mid);
	consume_skb(big);
	assert_int_equal(skb_pool_in_use(p), 0);
}

static void test_no_current_pool(void **state)
{
	struct skb_pool *p = *state;

	skb_pool_set_current(NULL);
	assert_null(skb_pool_current());
	assert_null(alloc_skb(64));
	skb_pool_set_current(p);
	assert_ptr_equal(skb_pool_current(), p);
}

/* Free an skb on a thread that has no pool: it goes to the owner's remote list. */
static void *free_on_other_thread(void *arg)
{
	assert_null(skb_pool_current());
	consume_skb(arg);
	return NULL;
}

static void free_remotely(struct sk_buff *skb)
{
	pthread_t t;

	assert_int_equal(pthread_create(&t, NULL, free_on_other_thread, skb), 0);
	assert_int_equal(pthread_join(t, NULL), 0);
}

static void test_pool_limit_and_remote_free(void **state)
{
	struct skb_pool *own = *state;
	struct skb_pool *p = skb_pool_create("small", 600 * 1024);
	struct sk_buff *skbs[4096];
	struct skb_pool_stats st;
	unsigned int n = 0;
	unsigned char *head;
	struct sk_buff *again;

	assert_non_null(p);
	skb_pool_set_current(p);
	while (n < 4096 && (skbs[n] = alloc_skb(100)) != NULL)
		n++;
	/* The limit stops the pool well before 4096 buffers of 2 KiB. */
	assert_true(n > 0);
	assert_true(n < 4096);
	skb_pool_get_stats(p, &st);
	assert_int_equal(st.alloc_failures, 1);
	assert_true(st.bytes_reserved <= 600 * 1024);
	assert_int_equal(skb_pool_in_use(p), 2 * (uint64_t)n);
	assert_null(alloc_skb(100));

	/* A buffer freed by another thread is counted and reusable. */
	head = skbs[n - 1]->head;
	free_remotely(skbs[n - 1]);
	skb_pool_get_stats(p, &st);
	assert_int_equal(st.remote_frees, 2); /* header and data */
	assert_int_equal(skb_pool_in_use(p), 2 * (uint64_t)(n - 1));
	again = alloc_skb(100);
	assert_non_null(again);
	assert_ptr_equal(again->head, head);
	skbs[n - 1] = again;

	for (unsigned int i = 0; i < n; i++)
		consume_skb(skbs[i]);
	assert_int_equal(skb_pool_in_use(p), 0);
	skb_pool_set_current(own);
	skb_pool_destroy(p);
}

static void test_remote_free_of_clone(void **state)
{
	struct skb_pool *p = *state;
	struct sk_buff *skb = alloc_skb(100);
	struct sk_buff *c = skb_clone(skb);

	assert_non_null(c);
	free_remotely(c);
	assert_int_equal(skb_dataref(skb), 1);
	consume_skb(skb);
	assert_int_equal(skb_pool_in_use(p), 0);
}

static void test_queue_ops(void **state)
{
	struct sk_buff_head a, b;
	struct sk_buff *s[5];

	(void)state;
	skb_queue_head_init(&a);
	skb_queue_head_init(&b);
	assert_true(skb_queue_empty(&a));
	assert_null(__skb_dequeue(&a));
	for (int i = 0; i < 5; i++) {
		s[i] = alloc_skb(64);
		assert_non_null(s[i]);
	}
	__skb_queue_tail(&a, s[0]);
	__skb_queue_tail(&a, s[1]);
	__skb_queue_tail(&b, s[2]);
	__skb_queue_tail(&b, s[3]);
	__skb_queue_tail(&b, s[4]);
	assert_int_equal(skb_queue_len(&a), 2);
	assert_int_equal(skb_queue_len(&b), 3);

	/* FIFO order across a splice. */
	skb_queue_splice_tail_init(&b, &a);
	assert_true(skb_queue_empty(&b));
	assert_null(b.head);
	assert_null(b.tail);
	assert_int_equal(skb_queue_len(&a), 5);
	for (int i = 0; i < 5; i++) {
		struct sk_buff *x = __skb_dequeue(&a);

		assert_ptr_equal(x, s[i]);
		assert_null(x->next);
		assert_int_equal(skb_queue_len(&a), (uint32_t)(4 - i));
		consume_skb(x);
	}
	assert_null(a.head);
	assert_null(a.tail);

	/* Splicing into an empty queue and from an empty one. */
	s[0] = alloc_skb(64);
	__skb_queue_tail(&b, s[0]);
	skb_queue_splice_tail_init(&a, &b); /* nothing to move */
	assert_int_equal(skb_queue_len(&b), 1);
	skb_queue_splice_tail_init(&b, &a);
	assert_int_equal(skb_queue_len(&a), 1);
	assert_ptr_equal(a.head, s[0]);
	assert_ptr_equal(a.tail, s[0]);
	/* The queue still works after being emptied and refilled. */
	s[1] = alloc_skb(64);
	__skb_queue_tail(&a, s[1]);
	assert_ptr_equal(a.head->next, s[1]);
	skb_queue_purge_reason(&a, SKB_DROP_REASON_CONSUMED);
	assert_true(skb_queue_empty(&a));
}

static void test_kfree_skb_reason_counts(void **state)
{
	struct skb_pool *p = *state;
	uint64_t nomem0 = drop_stats_total(SKB_DROP_REASON_NOMEM);
	uint64_t consumed0 = drop_stats_total(SKB_DROP_REASON_CONSUMED);
	uint64_t shutdown0 = drop_stats_total(SKB_DROP_REASON_SHUTDOWN);
	struct sk_buff_head q;

	kfree_skb_reason(alloc_skb(10), SKB_DROP_REASON_NOMEM);
	kfree_skb_reason(alloc_skb(10), SKB_DROP_REASON_NOMEM);
	consume_skb(alloc_skb(10));
	kfree_skb_reason(alloc_skb(10), SKB_DROP_REASON_CONSUMED);
	kfree_skb_reason(NULL, SKB_DROP_REASON_NOMEM); /* no-op */
	consume_skb(NULL);
	assert_int_equal(drop_stats_total(SKB_DROP_REASON_NOMEM), nomem0 + 2);
	assert_int_equal(drop_stats_total(SKB_DROP_REASON_CONSUMED), consumed0);

	skb_queue_head_init(&q);
	for (int i = 0; i < 3; i++)
		__skb_queue_tail(&q, alloc_skb(10));
	skb_queue_purge_reason(&q, SKB_DROP_REASON_SHUTDOWN);
	assert_int_equal(drop_stats_total(SKB_DROP_REASON_SHUTDOWN), shutdown0 + 3);
	assert_int_equal(skb_pool_in_use(p), 0);
}

/* ---- non-linear skbs ------------------------------------------------------ */

/* Byte @i of the test pattern. */
static uint8_t pat(uint32_t i)
{
	return (uint8_t)(i * 31u + (i >> 7) + 5u);
}

/*
 * A non-linear skb of @nlens + 1 pieces: a linear part of @headlen bytes
 * (after 64 bytes of headroom) and frag_list members of lens[i] bytes;
 * the bytes follow pat() across all of them.
 */
static struct sk_buff *make_nonlinear(uint32_t headlen, const uint32_t *lens, unsigned int nlens)
{
	struct sk_buff *skb = alloc_skb(64 + headlen), **tailp;
	uint32_t at = 0;

	assert_non_null(skb);
	skb_reserve(skb, 64);
	for (uint32_t i = 0; i < headlen; i++)
		((uint8_t *)skb_put(skb, 1))[0] = pat(at++);
	tailp = &skb_shinfo(skb)->frag_list;
	for (unsigned int k = 0; k < nlens; k++) {
		struct sk_buff *f = alloc_skb(16 + lens[k]);

		assert_non_null(f);
		skb_reserve(f, 16);     /* members start after some (pulled) headers */
		for (uint32_t i = 0; i < lens[k]; i++)
			((uint8_t *)skb_put(f, 1))[0] = pat(at++);
		*tailp = f;
		tailp = &f->next;
		skb->len += lens[k];
		skb->data_len += lens[k];
	}
	return skb;
}

static const uint32_t frag_lens[] = { 333, 1, 700, 1448 };
#define FRAG_TOTAL (101u + 333u + 1u + 700u + 1448u)

static void test_nonlinear_copy_bits(void **state)
{
	struct skb_pool *p = *state;
	struct sk_buff *skb = make_nonlinear(101, frag_lens, 4);
	uint8_t buf[FRAG_TOTAL + 8];

	assert_int_equal(skb->len, FRAG_TOTAL);
	assert_int_equal(skb_headlen(skb), 101);
	assert_true(skb_is_nonlinear(skb));
	/* Every window, also those starting and ending inside members. */
	for (uint32_t off = 0; off < FRAG_TOTAL; off += 37) {
		uint32_t len = FRAG_TOTAL - off < 900 ? FRAG_TOTAL - off : 900;

		memset(buf, 0, sizeof(buf));
		assert_int_equal(skb_copy_bits(skb, off, buf, len), 0);
		for (uint32_t i = 0; i < len; i++)
			assert_int_equal(buf[i], pat(off + i));
	}
	assert_int_equal(skb_copy_bits(skb, FRAG_TOTAL - 1, buf, 2), -EFAULT);
	/* Headers are read in place: only the linear part can be pulled. */
	assert_true(skb_may_pull(skb, 101));
	assert_false(skb_may_pull(skb, 102));
	assert_null(skb_pull(skb, 102));
	consume_skb(skb);
	assert_int_equal(skb_pool_in_use(p), 0);
}

static void test_nonlinear_checksum(void **state)
{
	struct skb_pool *p = *state;
	struct sk_buff *skb = make_nonlinear(101, frag_lens, 4);
	uint8_t flat[FRAG_TOTAL];

	assert_int_equal(skb_copy_bits(skb, 0, flat, FRAG_TOTAL), 0);
	/* Odd piece boundaries (101, 434, 435) must not change the sum. */
	for (uint32_t off = 0; off < 200; off += 7) {
		uint32_t len = FRAG_TOTAL - off - 3;

		assert_int_equal(csum_fold(skb_checksum(skb, off, len, 0)),
				 csum_fold(csum_partial(flat + off, len, 0)));
	}
	consume_skb(skb);
	assert_int_equal(skb_pool_in_use(p), 0);
}

static void test_nonlinear_linearize_and_copy(void **state)
{
	struct skb_pool *p = *state;
	struct sk_buff *skb = make_nonlinear(101, frag_lens, 4), *c;
	uint32_t headroom = skb_headroom(skb);

	skb_reset_network_header(skb);
	skb_set_transport_header(skb, 20);
	c = skb_copy(skb);
	assert_non_null(c);
	assert_false(skb_is_nonlinear(c));
	assert_int_equal(c->len, FRAG_TOTAL);
	assert_int_equal(skb_headroom(c), headroom);
	assert_skb_invariants(c);
	for (uint32_t i = 0; i < FRAG_TOTAL; i++)
		assert_int_equal(c->data[i], pat(i));
	consume_skb(c);

	assert_int_equal(skb_linearize(skb), 0);
	assert_false(skb_is_nonlinear(skb));
	assert_null(skb_shinfo(skb)->frag_list);
	assert_int_equal(skb->len, FRAG_TOTAL);
	assert_int_equal(skb_headroom(skb), headroom);
	assert_ptr_equal(skb_transport_header(skb), skb->data + 20);
	assert_skb_invariants(skb);
	for (uint32_t i = 0; i < FRAG_TOTAL; i++)
		assert_int_equal(skb->data[i], pat(i));
	consume_skb(skb);
	assert_int_equal(skb_pool_in_use(p), 0);
}

static void test_nonlinear_trim(void **state)
{
	struct skb_pool *p = *state;
	const uint32_t cuts[] = { FRAG_TOTAL, FRAG_TOTAL - 1, 101 + 333 + 1, 101 + 200, 101, 50 };

	for (unsigned int k = 0; k < sizeof(cuts) / sizeof(cuts[0]); k++) {
		struct sk_buff *skb = make_nonlinear(101, frag_lens, 4);
		uint8_t buf[FRAG_TOTAL];

		assert_int_equal(pskb_trim(skb, cuts[k]), 0);
		assert_int_equal(skb->len, cuts[k]);
		assert_int_equal(skb_copy_bits(skb, 0, buf, cuts[k]), 0);
		for (uint32_t i = 0; i < cuts[k]; i++)
			assert_int_equal(buf[i], pat(i));
		assert_true(skb_headlen(skb) <= 101);
		consume_skb(skb);
		assert_int_equal(skb_pool_in_use(p), 0);
	}
	/* A shared one is made linear first: the clone keeps every byte. */
	{
		struct sk_buff *skb = make_nonlinear(101, frag_lens, 4);
		struct sk_buff *cl = skb_clone(skb);

		assert_non_null(cl);
		assert_int_equal(pskb_trim(skb, 300), 0);
		assert_int_equal(skb->len, 300);
		assert_false(skb_is_nonlinear(skb));
		assert_int_equal(cl->len, FRAG_TOTAL);
		assert_int_equal(cl->data_len, FRAG_TOTAL - 101);
		consume_skb(skb);
		consume_skb(cl);
		assert_int_equal(skb_pool_in_use(p), 0);
	}
}

/* Clones share the buffer and its frag_list; the last reference frees both. */
static void test_nonlinear_clone(void **state)
{
	struct skb_pool *p = *state;
	struct sk_buff *skb = make_nonlinear(101, frag_lens, 4);
	struct sk_buff *cl = skb_clone(skb);
	uint8_t buf[FRAG_TOTAL];

	assert_non_null(cl);
	consume_skb(skb);
	assert_int_equal(skb_pool_in_use(p), 1 + 1 + 4 * 2); /* clone, buffer, members */
	assert_int_equal(skb_copy_bits(cl, 0, buf, FRAG_TOTAL), 0);
	assert_int_equal(buf[FRAG_TOTAL - 1], pat(FRAG_TOTAL - 1));
	consume_skb(cl);
	assert_int_equal(skb_pool_in_use(p), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_alloc_empty, pool_setup, pool_teardown),
		cmocka_unit_test_setup_teardown(test_reserve_put_push_pull_trim, pool_setup, pool_teardown),
		cmocka_unit_test_setup_teardown(test_out_of_room_changes_nothing, pool_setup, pool_teardown),
		cmocka_unit_test_setup_teardown(test_netdev_alloc_skb_headroom, pool_setup, pool_teardown),
		cmocka_unit_test_setup_teardown(test_header_offsets, pool_setup, pool_teardown),
		cmocka_unit_test_setup_teardown(test_clone_shares_data, pool_setup, pool_teardown),
		cmocka_unit_test_setup_teardown(test_copy_is_independent, pool_setup, pool_teardown),
		cmocka_unit_test_setup_teardown(test_cow_data_makes_clone_private, pool_setup, pool_teardown),
		cmocka_unit_test_setup_teardown(test_size_classes, pool_setup, pool_teardown),
		cmocka_unit_test_setup_teardown(test_no_current_pool, pool_setup, pool_teardown),
		cmocka_unit_test_setup_teardown(test_pool_limit_and_remote_free, pool_setup, pool_teardown),
		cmocka_unit_test_setup_teardown(test_remote_free_of_clone, pool_setup, pool_teardown),
		cmocka_unit_test_setup_teardown(test_queue_ops, pool_setup, pool_teardown),
		cmocka_unit_test_setup_teardown(test_kfree_skb_reason_counts, pool_setup, pool_teardown),
		cmocka_unit_test_setup_teardown(test_nonlinear_copy_bits, pool_setup, pool_teardown),
		cmocka_unit_test_setup_teardown(test_nonlinear_checksum, pool_setup, pool_teardown),
		cmocka_unit_test_setup_teardown(test_nonlinear_linearize_and_copy, pool_setup,
						pool_teardown),
		cmocka_unit_test_setup_teardown(test_nonlinear_trim, pool_setup, pool_teardown),
		cmocka_unit_test_setup_teardown(test_nonlinear_clone, pool_setup, pool_teardown),
	};

	return cmocka_run_group_tests_name("core/skb", tests, NULL, NULL);
}
