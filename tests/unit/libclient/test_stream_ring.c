/*
 * Unit tests for libclient/stream_ring.c against a fake control block: the
 * client appends to tx and consumes rx as plain bytes, exactly as
 * proto/shm_ring.h lays them out (the daemon's side is played by the same
 * inline helpers), and readiness follows tcp_poll() for each state the
 * daemon can publish.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include "libclient/dgram_ring.h"
#include "libclient/stream_ring.h"

#define REGION_SIZE (64 * 1024)
#define RX_OFF 8192
#define TX_OFF 16384
#define RING_SIZE 1024

static unsigned char *region;
static struct ns_sock_shm *shm;
static struct ns_ring_view rx, tx;

static int setup(void **state)
{
	(void)state;
	region = aligned_alloc(4096, REGION_SIZE);
	if (!region)
		return -1;
	memset(region, 0, REGION_SIZE);
	shm = (struct ns_sock_shm *)region;
	if (!ns_ring_view_init(&rx, &shm->rx, region, REGION_SIZE, RX_OFF, RING_SIZE) ||
	    !ns_ring_view_init(&tx, &shm->tx, region, REGION_SIZE, TX_OFF, RING_SIZE))
		return -1;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	free(region);
	return 0;
}

/* The daemon's side: take @len bytes of tx as acknowledged (advance cons). */
static void daemon_ack(size_t len, char *out)
{
	uint64_t cons = ns_ring_load_cons(&tx);

	assert_true(ns_ring_load_prod(&tx) - cons >= len);
	if (out)
		ns_stream_get(&tx, cons, out, (uint32_t)len);
	ns_ring_publish_cons(&tx, cons + len);
}

/* The daemon's side: deliver @len in-order bytes into rx. */
static void daemon_deliver(const char *data, size_t len)
{
	uint64_t prod = ns_ring_load_prod(&rx);

	assert_true(prod - ns_ring_load_cons(&rx) + len <= RING_SIZE);
	ns_stream_put(&rx, prod, data, (uint32_t)len);
	ns_ring_publish_prod(&rx, prod + len);
}

static void test_tx_gather_partial_and_wrap(void **state)
{
	char a[] = "hello ", b[] = "world", big[RING_SIZE + 100], out[RING_SIZE];
	struct iovec iov[3] = { { a, 6 }, { NULL, 0 }, { b, 5 } };
	struct ns_iov_iter it;

	(void)state;
	ns_iov_iter_init(&it, iov, 3, 11);
	assert_int_equal(ns_stream_tx_put(&tx, &it, SIZE_MAX), 11);
	assert_int_equal(it.left, 0);
	assert_int_equal(ns_ring_load_prod(&tx), 11);
	daemon_ack(11, out);
	assert_memory_equal(out, "hello world", 11);

	/* Fill: only what fits goes in, the iterator remembers the rest. */
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (char)(i * 7);
	iov[0] = (struct iovec){ big, sizeof(big) };
	ns_iov_iter_init(&it, iov, 1, sizeof(big));
	assert_int_equal(ns_stream_tx_put(&tx, &it, 100), 100);        /* @max */
	assert_int_equal(ns_stream_tx_put(&tx, &it, SIZE_MAX), RING_SIZE - 100);
	assert_int_equal(ns_stream_tx_room(&tx), 0);
	assert_int_equal(ns_stream_tx_put(&tx, &it, SIZE_MAX), 0);
	assert_int_equal(it.left, 100);
	/* The first bytes are acknowledged; the rest wraps around the end. */
	daemon_ack(300, out);
	assert_memory_equal(out, big, 300);
	assert_int_equal(ns_stream_tx_put(&tx, &it, SIZE_MAX), 100);
	assert_int_equal(it.left, 0);
	assert_int_equal(ns_ring_load_prod(&tx), 11 + RING_SIZE + 100);
	daemon_ack(RING_SIZE - 200, out);
	assert_memory_equal(out, big + 300, RING_SIZE - 200);
	assert_int_equal(ns_stream_tx_room(&tx), RING_SIZE);
}

static void test_tx_space_commit(void **state)
{
	struct iovec seg[2];
	int nseg;
	char out[RING_SIZE];

	(void)state;
	/* prod at 1000: the free space wraps. */
	atomic_store(&shm->tx.prod, 1000);
	atomic_store(&shm->tx.cons, 1000);
	assert_int_equal(ns_stream_tx_space(&tx, seg, &nseg, 100), 100);
	assert_int_equal(nseg, 2);
	assert_ptr_equal(seg[0].iov_base, tx.data + 1000);
	assert_int_equal(seg[0].iov_len, 24);
	assert_ptr_equal(seg[1].iov_base, tx.data);
	assert_int_equal(seg[1].iov_len, 76);
	memset(seg[0].iov_base, 'x', 24);
	memset(seg[1].iov_base, 'y', 76);
	ns_stream_tx_commit(&tx, 100);
	assert_int_equal(ns_ring_load_prod(&tx), 1100);
	daemon_ack(100, out);
	assert_int_equal(out[23], 'x');
	assert_int_equal(out[24], 'y');
	/* Full: nothing to offer. */
	atomic_store(&shm->tx.prod, 1100 + RING_SIZE);
	assert_int_equal(ns_stream_tx_space(&tx, seg, &nseg, 100), 0);
	assert_int_equal(nseg, 0);
	/* Corrupt indices (cons past prod): no room, nothing written. */
	atomic_store(&shm->tx.cons, 5000);
	assert_int_equal(ns_stream_tx_room(&tx), 0);
	assert_int_equal(ns_stream_tx_space(&tx, seg, &nseg, 100), 0);
	atomic_store(&shm->tx.prod, 0);
	atomic_store(&shm->tx.cons, 0);
}

static void test_rx_peek_partial_discard(void **state)
{
	char buf[16], x[3], y[8];
	struct iovec iov = { buf, sizeof(buf) };
	struct iovec two[2] = { { x, 2 }, { y, 7 } };
	struct ns_iov_iter it;

	(void)state;
	assert_int_equal(ns_stream_rx_avail(&rx), 0);
	ns_iov_iter_init(&it, &iov, 1, sizeof(buf));
	assert_int_equal(ns_stream_rx_get(&rx, &it, 0, 0), 0);

	daemon_deliver("hello", 5);
	assert_int_equal(ns_stream_rx_avail(&rx), 5);
	/* MSG_PEEK of 3, then a peek that goes on after those 3. */
	memset(buf, 0, sizeof(buf));
	ns_iov_iter_init(&it, &iov, 1, 3);
	assert_int_equal(ns_stream_rx_get(&rx, &it, 0, NS_RX_PEEK), 3);
	assert_memory_equal(buf, "hel", 3);
	ns_iov_iter_init(&it, &iov, 1, sizeof(buf));
	assert_int_equal(ns_stream_rx_get(&rx, &it, 3, NS_RX_PEEK), 2);
	assert_memory_equal(buf, "lo", 2);
	assert_int_equal(ns_stream_rx_get(&rx, &it, 5, NS_RX_PEEK), 0);
	assert_int_equal(ns_stream_rx_avail(&rx), 5);
	/* Consume 2, then the rest scattered over an iovec. */
	ns_iov_iter_init(&it, &iov, 1, 2);
	assert_int_equal(ns_stream_rx_get(&rx, &it, 0, 0), 2);
	assert_memory_equal(buf, "he", 2);
	assert_int_equal(ns_ring_load_cons(&rx), 2);
	daemon_deliver("0123456789", 10);
	ns_iov_iter_init(&it, two, 2, 9);
	assert_int_equal(ns_stream_rx_get(&rx, &it, 0, 0), 9);
	assert_memory_equal(x, "ll", 2);
	assert_memory_equal(y, "o012345", 7);
	/* MSG_TRUNC: taken without copying (no buffer at all). */
	iov = (struct iovec){ NULL, 3 };
	ns_iov_iter_init(&it, &iov, 1, 3);
	assert_int_equal(ns_stream_rx_get(&rx, &it, 0, NS_RX_DISCARD), 3);
	assert_int_equal(ns_stream_rx_avail(&rx), 1);
	iov = (struct iovec){ buf, sizeof(buf) };
	ns_iov_iter_init(&it, &iov, 1, sizeof(buf));
	assert_int_equal(ns_stream_rx_get(&rx, &it, 0, 0), 1);
	assert_int_equal(buf[0], '9');

	/* Wrap-around delivery reads back in order. */
	{
		char big[RING_SIZE], out[RING_SIZE];
		struct iovec bv = { out, sizeof(out) };

		for (size_t i = 0; i < sizeof(big); i++)
			big[i] = (char)(i * 3 + 1);
		daemon_deliver(big, 700);
		ns_iov_iter_init(&it, &bv, 1, 600);
		assert_int_equal(ns_stream_rx_get(&rx, &it, 0, 0), 600);
		daemon_deliver(big + 700, 324);
		ns_iov_iter_init(&it, &bv, 1, sizeof(out));
		assert_int_equal(ns_stream_rx_get(&rx, &it, 0, 0), 424);
		assert_memory_equal(out, big + 600, 424);
	}

	/* A corrupt rx (prod too far ahead) is EIO, and nothing is consumed. */
	atomic_store(&shm->rx.prod, ns_ring_load_cons(&rx) + RING_SIZE + 1);
	assert_int_equal(ns_stream_rx_avail(&rx), -EIO);
	ns_iov_iter_init(&it, &iov, 1, sizeof(buf));
	assert_int_equal(ns_stream_rx_get(&rx, &it, 0, 0), -EIO);
}

static void test_writeable(void **state)
{
	(void)state;
	assert_true(ns_stream_writeable(&tx));
	atomic_store(&shm->tx.prod, 682);             /* free 342 >= 682 / 2 */
	assert_true(ns_stream_writeable(&tx));
	atomic_store(&shm->tx.prod, 700);             /* free 324 < 350 */
	assert_false(ns_stream_writeable(&tx));
	atomic_store(&shm->tx.prod, RING_SIZE);
	assert_false(ns_stream_writeable(&tx));
	atomic_store(&shm->tx.prod, 0);
}

static unsigned int mask(bool listening)
{
	return ns_stream_poll_mask(shm, &rx, &tx, listening) &
	       (POLLIN | POLLOUT | POLLERR | POLLHUP | POLLRDHUP);
}

static void set_state(uint32_t st, uint32_t tcp)
{
	atomic_store(&shm->state, st);
	atomic_store(&shm->tcp_state, tcp);
}

static void test_poll_mask(void **state)
{
	(void)state;
	/* Fresh (TCP_CLOSE, or a zeroed tcp_state): writable and hung up, as Linux. */
	set_state(0, 0);
	assert_int_equal(mask(false), POLLOUT | POLLHUP);
	set_state(0, TCP_CLOSE);
	assert_int_equal(mask(false), POLLOUT | POLLHUP);
	/* Listening: only the accept queue counts. */
	set_state(NS_SS_BOUND | NS_SS_LISTENING, TCP_LISTEN);
	assert_int_equal(mask(false), 0);
	atomic_store(&shm->accept_q, 2);
	assert_int_equal(mask(false), POLLIN);
	set_state(NS_SS_BOUND, 0);              /* the client's flag alone */
	assert_int_equal(mask(true), POLLIN);
	atomic_store(&shm->accept_q, 0);
	/* The handshake: nothing yet, not even with a tcp_state only. */
	set_state(NS_SS_CONNECTING, TCP_SYN_SENT);
	assert_int_equal(mask(false), 0);
	set_state(0, TCP_SYN_SENT);
	assert_int_equal(mask(false), 0);
	/* Established. */
	set_state(NS_SS_BOUND | NS_SS_CONNECTED, TCP_ESTABLISHED);
	assert_int_equal(mask(false), POLLOUT);
	daemon_deliver("x", 1);
	assert_int_equal(mask(false), POLLIN | POLLOUT);
	/* tx two thirds full: no longer writable. */
	atomic_store(&shm->tx.prod, 700);
	assert_int_equal(mask(false), POLLIN);
	atomic_store(&shm->tx.prod, 0);
	/* The peer's FIN. */
	set_state(NS_SS_CONNECTED | NS_SS_RCV_SHUTDOWN, TCP_CLOSE_WAIT);
	assert_int_equal(mask(false), POLLIN | POLLOUT | POLLRDHUP);
	/* Both ways shut. */
	set_state(NS_SS_CONNECTED | NS_SS_RCV_SHUTDOWN | NS_SS_SEND_SHUTDOWN, TCP_LAST_ACK);
	assert_int_equal(mask(false), POLLIN | POLLOUT | POLLRDHUP | POLLHUP);
	/* Our SHUT_WR with tx full still polls writable (the write fails). */
	set_state(NS_SS_CONNECTED | NS_SS_SEND_SHUTDOWN, TCP_FIN_WAIT1);
	atomic_store(&shm->tx.prod, RING_SIZE);
	assert_int_equal(mask(false), POLLIN | POLLOUT);
	atomic_store(&shm->tx.prod, 0);
	/* Reset, refused, timed out: dead, an error until it is taken. */
	set_state(NS_SS_DEAD, TCP_CLOSE);
	atomic_store(&shm->so_error, ECONNREFUSED);
	assert_int_equal(mask(false), POLLIN | POLLOUT | POLLERR | POLLHUP | POLLRDHUP);
	atomic_store(&shm->so_error, 0);
	assert_int_equal(mask(false), POLLIN | POLLOUT | POLLHUP | POLLRDHUP);
	/* Dead overrides a stale listening flag. */
	assert_int_equal(mask(true), POLLIN | POLLOUT | POLLHUP | POLLRDHUP);
	set_state(0, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_tx_gather_partial_and_wrap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tx_space_commit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rx_peek_partial_discard, setup, teardown),
		cmocka_unit_test_setup_teardown(test_writeable, setup, teardown),
		cmocka_unit_test_setup_teardown(test_poll_mask, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
