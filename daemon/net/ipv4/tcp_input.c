/*
 * TCP receive processing (the kernel's tcp_input.c): option parsing,
 * tcp_rcv_state_process with the RFC 9293 §3.10.7 checks and RFC 5961
 * protections, tcp_ack (window update, RTT, congestion control, SACK
 * scoreboard and RFC 6675 loss recovery, NewReno without SACK), and
 * tcp_data_queue (in-order data into the rx ring, the out-of-order queue,
 * FIN, delayed and quick ACKs).  Owner worker only.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/debug.h"
#include "core/sysctl.h"
#include "core/trace.h"
#include "net/ipv4/ip.h"
#include "net/ipv4/tcp.h"

/* ---- options ---- */

int tcp_parse_options(const struct tcphdr_ns *th, struct tcp_skb_cb *cb)
{
	const uint8_t *p = (const uint8_t *)(th + 1);
	unsigned int len = cb->doff - sizeof(*th);
	bool syn = th->flags & TCPHDR_SYN;

	while (len > 0) {
		uint8_t kind = *p, olen;

		if (kind == TCPOPT_EOL)
			break;
		if (kind == TCPOPT_NOP) {
			p++;
			len--;
			continue;
		}
		if (len < 2)
			return 0;               /* truncated: ignore the rest, as the kernel */
		olen = p[1];
		if (olen < 2 || olen > len)
			return 0;
		switch (kind) {
		case TCPOPT_MSS:
			if (olen == TCPOLEN_MSS && syn) {
				uint16_t mss = (uint16_t)((p[2] << 8) | p[3]);

				if (mss)
					cb->mss = mss;
			}
			break;
		case TCPOPT_WINDOW:
			if (olen == TCPOLEN_WINDOW && syn) {
				cb->wscale_ok = 1;
				cb->snd_wscale = p[2] > TCP_MAX_WSCALE ? TCP_MAX_WSCALE : p[2];
			}
			break;
		case TCPOPT_SACK_PERM:
			if (olen == TCPOLEN_SACK_PERM && syn)
				cb->sack_perm = 1;
			break;
		case TCPOPT_TIMESTAMP:
			if (olen == TCPOLEN_TIMESTAMP) {
				cb->has_ts = 1;
				cb->rcv_tsval = ((uint32_t)p[2] << 24) | ((uint32_t)p[3] << 16) |
						((uint32_t)p[4] << 8) | p[5];
				cb->rcv_tsecr = ((uint32_t)p[6] << 24) | ((uint32_t)p[7] << 16) |
						((uint32_t)p[8] << 8) | p[9];
			}
			break;
		case TCPOPT_SACK:
			if (olen >= TCPOLEN_SACK_BASE + TCPOLEN_SACK_PERBLOCK &&
			    (olen - TCPOLEN_SACK_BASE) % TCPOLEN_SACK_PERBLOCK == 0) {
				cb->saw_sack = 1;
				cb->sack_off = (uint16_t)(p - (const uint8_t *)th);
				cb->nsacks = (uint8_t)((olen - TCPOLEN_SACK_BASE) /
						       TCPOLEN_SACK_PERBLOCK);
			}
			break;
		default:
			break;
		}
		p += olen;
		len -= olen;
	}
	return 0;
}

static uint32_t get_be32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

/* ---- state ---- */

static void tcp_publish_bits(struct tcp_sock *tp, uint32_t set, uint32_t clear)
{
	struct sock *sk = tp->sk;

	if (!sk->shm)
		return;
	if (clear)
		sock_state_clear(sk, clear);
	if (set)
		sock_state_set(sk, set);
	atomic_store_explicit(&sk->shm->tcp_state, tp->state, memory_order_relaxed);
}

void tcp_publish_state(struct tcp_sock *tp)
{
	uint32_t set = 0, clear = 0;

	switch (tp->state) {
	case TCP_SYN_SENT:
	case TCP_SYN_RECV:
		set = NS_SS_CONNECTING;
		break;
	case TCP_ESTABLISHED:
	case TCP_FIN_WAIT1:
	case TCP_FIN_WAIT2:
	case TCP_CLOSING:
	case TCP_TIME_WAIT:
	case TCP_CLOSE_WAIT:
	case TCP_LAST_ACK:
		set = NS_SS_CONNECTED;
		clear = NS_SS_CONNECTING;
		break;
	case TCP_LISTEN:
		set = NS_SS_LISTENING;
		break;
	case TCP_CLOSE:
		clear = NS_SS_CONNECTING | NS_SS_LISTENING;
		break;
	default:
		break;
	}
	if (tp->fin_rcvd)
		set |= NS_SS_RCV_SHUTDOWN;
	tcp_publish_bits(tp, set, clear);
}

void tcp_set_state(struct tcp_sock *tp, int state)
{
	int old = tp->state;

	if (old == TCP_ESTABLISHED && state != TCP_ESTABLISHED)
		TCP_ADD_STATS(CURRESTAB, (uint64_t)-1);
	else if (state == TCP_ESTABLISHED && old != TCP_ESTABLISHED)
		TCP_INC_STATS(CURRESTAB);
	tp->state = (uint8_t)state;
	tcp_publish_state(tp);
	tcp_publish_info(tp);
	tcp_wake(tp, NS_WAIT_RX | NS_WAIT_TX);
}

/* tcp_done: the connection is over; free it unless a client still holds it. */
void tcp_done(struct tcp_sock *tp)
{
	struct sock *sk = tp->sk;
	bool syn_recv = tp->state == TCP_SYN_RECV && tp->listener_id;

	if (tp->state == TCP_SYN_SENT || tp->state == TCP_SYN_RECV)
		TCP_INC_STATS(ATTEMPTFAILS);
	tcp_set_state(tp, TCP_CLOSE);
	tcp_clear_xmit_timers(tp);
	tcp_unhash(tp);
	if (syn_recv)
		tcp_child_syn_gone(tp);
	/* DEAD is "shut down both ways" for the client; RCV_SHUTDOWN stays the
	 * peer's FIN (SOCK_DONE), so that recv() after a reset reports the
	 * error first, as tcp_recvmsg does. */
	tcp_publish_bits(tp, NS_SS_DEAD | NS_SS_SEND_SHUTDOWN, 0);
	tcp_wake(tp, NS_WAIT_RX | NS_WAIT_TX);
	if (tp->orphan ||
	    (tp->listener_id && !atomic_load(&tp->in_accept_q) && atomic_load(&sk->refs) == 0 &&
	     !sk->shm))
		tcp_destroy_sock(tp);
}

/* tcp_reset: the peer reset the connection (or we gave up): report @err. */
void tcp_reset(struct tcp_sock *tp, int err)
{
	if (tp->state == TCP_ESTABLISHED || tp->state == TCP_CLOSE_WAIT)
		TCP_INC_STATS(ESTABRESETS);
	/* The state first: a client woken by the error must see it whole. */
	tcp_publish_bits(tp, NS_SS_DEAD | NS_SS_SEND_SHUTDOWN, 0);
	if (tp->sk->shm && err)
		sock_set_error(tp->sk, err);
	tcp_done(tp);
}

/* ---- RTT (RFC 6298, the kernel's tcp_rtt_estimator) ---- */

void tcp_set_rto(struct tcp_sock *tp)
{
	uint32_t rto_us = (tp->srtt_us >> 3) + tp->rttvar_us;
	uint32_t min = (uint32_t)sysctl_read(&sysctl_tcp_rto_min_ms);
	uint32_t rto = rto_us / 1000u;

	if (rto < min)
		rto = min;
	if (rto > TCP_RTO_MAX)
		rto = TCP_RTO_MAX;
	tp->rto = rto;
}

void tcp_rtt_estimator(struct tcp_sock *tp, int64_t mrtt_us)
{
	long m = (long)mrtt_us;

	if (m <= 0)
		m = 1;
	if (!tp->min_rtt_us || (uint32_t)m < tp->min_rtt_us)
		tp->min_rtt_us = (uint32_t)m;
	if (tp->srtt_us) {
		m -= (long)(tp->srtt_us >> 3);
		tp->srtt_us = (uint32_t)((long)tp->srtt_us + m);
		if (m < 0)
			m = -m;
		m -= (long)(tp->mdev_us >> 2);
		tp->mdev_us = (uint32_t)((long)tp->mdev_us + m);
		tp->rttvar_us = tp->mdev_us;    /* RTTVAR = 3/4 RTTVAR + 1/4 |err|, ×4 */
	} else {
		tp->srtt_us = (uint32_t)m << 3;
		tp->mdev_us = (uint32_t)m << 1;
		tp->rttvar_us = tp->mdev_us;    /* RFC 6298: RTTVAR = R/2, ×4 = 2R */
	}
	tcp_set_rto(tp);
}

/* ---- the receive window ---- */

/* Free room for in-order data: ring space, or the pre-accept allowance. */
uint32_t tcp_rx_free(struct tcp_sock *tp)
{
	struct sock *sk = tp->sk;
	uint64_t cons;

	if (!sk->shm || !sk->rx.r)
		return tp->rcv_space > tp->pre_bytes ? tp->rcv_space - tp->pre_bytes : 0;
	cons = ns_ring_load_cons(&sk->rx);
	if (!ns_ring_sane(&sk->rx, tp->rx_prod, cons))
		return 0;
	return sk->rx.size - (uint32_t)(tp->rx_prod - cons);
}

/*
 * Copy @len bytes at @off of @skb's data into the rx ring at @at, piece by
 * piece: a GRO packet's payload is spread over its frag_list.
 */
static void tcp_rx_copy(struct sock *sk, uint64_t at, const struct sk_buff *skb, uint32_t off,
			uint32_t len)
{
	uint32_t headlen = skb_headlen(skb);
	const struct sk_buff *f;

	if (off < headlen) {
		uint32_t n = headlen - off < len ? headlen - off : len;

		ns_stream_put(&sk->rx, at, skb->data + off, n);
		at += n;
		len -= n;
		off = 0;
	} else {
		off -= headlen;
	}
	skb_walk_frags(skb, f) {
		uint32_t n;

		if (!len)
			break;
		if (off >= f->len) {
			off -= f->len;
			continue;
		}
		n = f->len - off < len ? f->len - off : len;
		ns_stream_put(&sk->rx, at, f->data + off, n);
		at += n;
		len -= n;
		off = 0;
	}
}

/* Copy @len bytes of in-order payload at @off of @skb to the client (ring or pre-queue). */
static uint32_t tcp_rx_put(struct tcp_sock *tp, struct sk_buff *skb, uint32_t off, uint32_t len)
{
	struct sock *sk = tp->sk;
	uint32_t room = tcp_rx_free(tp);

	if (len > room)
		len = room;
	if (!len)
		return 0;
	if (sk->shm && sk->rx.r) {
		tcp_rx_copy(sk, tp->rx_prod, skb, off, len);
		tp->rx_prod += len;
		ns_ring_publish_prod(&sk->rx, tp->rx_prod);
		/* Owner worker: the close that ends a watch runs here too, later. */
		if (skb)
			skb_trace_sock_queue(skb, sk, sk->rx.r, tp->rx_prod);
	} else {
		/* Before accept(): keep a copy of the bytes in a small skb. */
		struct sk_buff *c = alloc_skb(len);

		if (!c)
			return 0;
		if (skb_copy_bits(skb, off, skb_put(c, len), len)) {
			consume_skb(c);
			return 0;
		}
		__skb_queue_tail(&tp->pre_queue, c);
		tp->pre_bytes += len;
	}
	tp->bytes_received += len;
	return len;
}

/* accept() attached the rings: move what arrived before into rx. */
void tcp_rx_push_pre_queue(struct tcp_sock *tp)
{
	struct sk_buff *skb;

	while ((skb = __skb_dequeue(&tp->pre_queue))) {
		uint32_t room = tcp_rx_free(tp), n = skb->len < room ? skb->len : room;

		ns_stream_put(&tp->sk->rx, tp->rx_prod, skb->data, n);
		tp->rx_prod += n;
		consume_skb(skb);
	}
	tp->pre_bytes = 0;
	ns_ring_publish_prod(&tp->sk->rx, tp->rx_prod);
}

/* ---- ACK scheduling ---- */

static void tcp_enter_quickack_mode(struct tcp_sock *tp)
{
	tp->quick = TCP_MAX_QUICKACKS;
}

static void tcp_schedule_ack(struct tcp_sock *tp, bool now)
{
	tp->ack_pending |= ICSK_ACK_SCHED | (now ? ICSK_ACK_NOW : 0);
}

/* After processing a segment: send the ACK it earned, now or delayed. */
static void tcp_ack_snd_check(struct tcp_sock *tp)
{
	if (!(tp->ack_pending & ICSK_ACK_SCHED))
		return;
	if ((tp->ack_pending & ICSK_ACK_NOW) || tp->segs_unacked >= 2 || tp->quick ||
	    tp->quickack_opt || tp->ofo_queue.qlen) {
		if (tp->quick)
			tp->quick--;
		tcp_send_ack(tp);
		return;
	}
	tcp_send_delayed_ack(tp);
}

/* ---- SACK scoreboard (sender) ---- */

static void tcp_sacktag_insert(struct tcp_sock *tp, uint32_t start, uint32_t end)
{
	struct tcp_sack_block *b = tp->sacked;
	unsigned int n = tp->n_sacked, i, j;

	/* Merge with every overlapping or adjacent range, keep sorted. */
	for (i = 0; i < n;) {
		if (after(b[i].start_seq, end) || before(b[i].end_seq, start)) {
			i++;
			continue;
		}
		if (before(b[i].start_seq, start))
			start = b[i].start_seq;
		if (after(b[i].end_seq, end))
			end = b[i].end_seq;
		memmove(&b[i], &b[i + 1], (n - i - 1) * sizeof(*b));
		n--;
	}
	if (n == TCP_SCOREBOARD)
		n--;            /* forget the highest range: it will be re-SACKed */
	for (i = 0; i < n && before(b[i].start_seq, start); i++)
		;
	for (j = n; j > i; j--)
		b[j] = b[j - 1];
	b[i].start_seq = start;
	b[i].end_seq = end;
	tp->n_sacked = n + 1;
}

static void tcp_sacktag_recount(struct tcp_sock *tp)
{
	uint32_t s = 0;
	unsigned int i, k = 0;

	for (i = 0; i < tp->n_sacked; i++) {
		struct tcp_sack_block *b = &tp->sacked[i];

		if (!after(b->end_seq, tp->snd_una))
			continue;
		if (before(b->start_seq, tp->snd_una))
			b->start_seq = tp->snd_una;
		tp->sacked[k++] = *b;
		s += b->end_seq - b->start_seq;
	}
	tp->n_sacked = k;
	tp->sacked_bytes = s;
}

static uint32_t tcp_highest_sack(const struct tcp_sock *tp)
{
	return tp->n_sacked ? tp->sacked[tp->n_sacked - 1].end_seq : tp->snd_una;
}

static uint32_t tcp_hole_bytes(const struct tcp_sock *tp, uint32_t from, uint32_t to);

/*
 * The path delivered @metric segments out of order (the kernel's
 * tcp_check_sack_reordering / tcp_update_reordering): losses are presumed
 * only beyond that many from now on.
 */
static void tcp_update_reordering(struct tcp_sock *tp, uint32_t metric, bool ts)
{
	uint32_t max = (uint32_t)sysctl_read(&sysctl_tcp_max_reordering);

	if (metric <= tp->reordering)
		return;
	tp->reordering = metric < max ? metric : max;
	NET_INC_STATS_IDX(ts ? LINUX_MIB_TCPTSREORDER : LINUX_MIB_TCPSACKREORDER);
}

/* Segments (rounded up) between @from and the highest SACKed sequence. */
static uint32_t tcp_reorder_degree(const struct tcp_sock *tp, uint32_t from, uint32_t high)
{
	uint32_t mss = mss_or(tp);

	return after(high, from) ? (high - from + mss - 1) / mss : 0;
}

/* Could the data at @seq have been retransmitted in this episode? */
static bool tcp_maybe_retransmitted(const struct tcp_sock *tp, uint32_t seq)
{
	return tp->ca_state >= TCP_CA_Recovery && before(seq, tp->retran_hi);
}

/*
 * An ACK's D-SACK (RFC 2883) reported a duplicate of [start, end): if it
 * lies in this episode's retransmissions, one of them was needless
 * (RFC 3708); once all were, the episode is undone (tcp_try_undo_dsack).
 */
static void tcp_dsack_seen(struct tcp_sock *tp, uint32_t start, uint32_t end)
{
	uint32_t mss = mss_or(tp), segs;

	NET_INC_STATS(TCPDSACKRECV);
	/* The loss probe was a duplicate: nothing at the tail was lost. */
	if (tp->tlp_high_seq && !after(end, tp->tlp_high_seq) &&
	    after(end, tp->tlp_high_seq - mss_or(tp)))
		tp->tlp_dsacked = true;
	if (!tp->undo_valid || before(start, tp->undo_marker) || !tp->undo_retrans)
		return;
	segs = (end - start + mss - 1) / mss;
	tp->undo_retrans = segs < tp->undo_retrans ? tp->undo_retrans - segs : 0;
}

static void tcp_sacktag_write_queue(struct tcp_sock *tp, const struct sk_buff *skb)
{
	const struct tcp_skb_cb *cb = TCP_SKB_CB(skb);
	const uint8_t *p = skb_transport_header(skb) + cb->sack_off + 2;
	uint32_t prior_high = tcp_highest_sack(tp), reord = 0;
	bool had_sacks = tp->n_sacked != 0;
	/* RFC 2883: a block below this segment's cumulative ACK is a D-SACK. */
	uint32_t una = after(cb->ack_seq, tp->snd_una) && !after(cb->ack_seq, tp->snd_nxt) ?
		       cb->ack_seq : tp->snd_una;

	for (unsigned int i = 0; i < cb->nsacks; i++, p += 8) {
		uint32_t start = get_be32(p), end = get_be32(p + 4);

		NET_INC_STATS(TCPSACKBLOCKS);
		if (!after(end, start))
			continue;
		if (!after(end, una)) {
			tcp_dsack_seen(tp, start, end);
			continue;
		}
		/* RFC 2883 §4: a first block inside the second is a D-SACK too. */
		if (i == 0 && cb->nsacks > 1) {
			uint32_t s2 = get_be32(p + 8), e2 = get_be32(p + 12);

			if (!before(start, s2) && !after(end, e2)) {
				tcp_dsack_seen(tp, start, end);
				continue;
			}
		}
		if (after(end, tp->snd_nxt) || before(start, tp->snd_una - tp->max_window))
			continue;       /* bogus */
		if (before(start, tp->snd_una))
			start = tp->snd_una;
		/*
		 * Newly SACKed data below what was SACKed before, never
		 * retransmitted: the original arrived late, out of order.
		 */
		if (had_sacks && before(start, prior_high) && !tcp_maybe_retransmitted(tp, start) &&
		    tcp_hole_bytes(tp, start, before(end, prior_high) ? end : prior_high)) {
			uint32_t d = tcp_reorder_degree(tp, start, prior_high) + 1;

			if (d > reord)
				reord = d;
		}
		tcp_sacktag_insert(tp, start, end);
	}
	tcp_sacktag_recount(tp);
	if (reord)
		tcp_update_reordering(tp, reord, false);
}

/* Bytes in [from, to) not covered by the scoreboard. */
static uint32_t tcp_hole_bytes(const struct tcp_sock *tp, uint32_t from, uint32_t to)
{
	uint32_t holes = 0, cur = from;

	if (!after(to, from))
		return 0;
	for (unsigned int i = 0; i < tp->n_sacked && before(cur, to); i++) {
		const struct tcp_sack_block *b = &tp->sacked[i];

		if (!after(b->end_seq, cur))
			continue;
		if (after(b->start_seq, cur))
			holes += (before(b->start_seq, to) ? b->start_seq : to) - cur;
		cur = b->end_seq;
	}
	if (before(cur, to))
		holes += to - cur;
	return holes;
}

/*
 * RFC 6675 IsLost with the path's reordering as DupThresh: a hole is lost
 * once reordering segments' worth above it are SACKed.  Returns the
 * sequence below which every un-SACKed byte is lost; at least the first
 * segment, which fast retransmit sends whatever the count.
 */
static uint32_t tcp_sack_lost_limit(const struct tcp_sock *tp)
{
	uint32_t need = tp->reordering * mss_or(tp), acc = 0;
	uint32_t first = tp->snd_una + mss_or(tp);

	if (after(first, tp->snd_nxt))
		first = tp->snd_nxt;
	for (unsigned int i = tp->n_sacked; i-- > 0;) {
		const struct tcp_sack_block *b = &tp->sacked[i];
		uint32_t len = b->end_seq - b->start_seq;

		if (acc + len >= need) {
			uint32_t lim = b->end_seq - (need - acc);

			return after(lim, first) ? lim : first;
		}
		acc += len;
	}
	return first;
}

/* The sequence past which nothing un-SACKed is presumed lost. */
static uint32_t tcp_lost_limit(const struct tcp_sock *tp)
{
	if (tp->ca_state == TCP_CA_Loss)
		return tp->high_seq;
	if (tp->ca_state == TCP_CA_Recovery)
		return tp->sack_ok ? tcp_sack_lost_limit(tp) : tp->snd_una + tp->mss_cache;
	return tp->snd_una;
}

/* RFC 6675 SetPipe in bytes: sent, not SACKed, not (lost and not yet retransmitted). */
static uint32_t tcp_pipe_bytes(const struct tcp_sock *tp)
{
	uint32_t out = tp->snd_nxt - tp->snd_una;
	uint32_t lim = tcp_lost_limit(tp);
	uint32_t from = after(tp->retran_hi, tp->snd_una) ? tp->retran_hi : tp->snd_una;
	uint32_t lost = tp->ca_state >= TCP_CA_Recovery ? tcp_hole_bytes(tp, from, lim) : 0;
	uint32_t gone = tp->sacked_bytes + lost;

	return out > gone ? out - gone : 0;
}

uint32_t tcp_packets_in_flight(const struct tcp_sock *tp)
{
	uint32_t mss = tp->mss_cache ? tp->mss_cache : TCP_MSS_DEFAULT;

	return (tcp_pipe_bytes(tp) + mss - 1) / mss;
}

/*
 * Retransmit lost data while the pipe has room: the holes below the lost
 * limit, from retran_hi on (RFC 6675 NextSeg rule 1; rule 2, new data, is
 * tcp_write_xmit's).
 */
void tcp_xmit_retransmit_queue(struct tcp_sock *tp)
{
	uint32_t lim = tcp_lost_limit(tp);
	uint32_t mss = tp->mss_cache;

	if (tp->ca_state < TCP_CA_Recovery)
		return;
	if (before(tp->retran_hi, tp->snd_una))
		tp->retran_hi = tp->snd_una;
	while (before(tp->retran_hi, lim) && tcp_packets_in_flight(tp) < tp->snd_cwnd) {
		uint32_t start = tp->retran_hi, end = lim;
		unsigned int i;

		/* Skip SACKed ranges to the next hole. */
		for (i = 0; i < tp->n_sacked; i++) {
			const struct tcp_sack_block *b = &tp->sacked[i];

			if (!after(b->end_seq, start))
				continue;
			if (!after(b->start_seq, start)) {
				start = b->end_seq;
				continue;
			}
			end = b->start_seq;
			break;
		}
		if (!before(start, lim)) {
			tp->retran_hi = lim;
			break;
		}
		if (after(end, lim))
			end = lim;
		if (end - start > mss)
			end = start + mss;
		if (tcp_retransmit_skb(tp, start, end - start) < 0)
			break;
		tp->retran_hi = end;
	}
}

/* ---- congestion state ---- */

/* A loss episode begins: its cwnd reduction may be undone (tcp_init_undo). */
static void tcp_init_undo(struct tcp_sock *tp)
{
	tp->tlp_high_seq = 0;
	tp->undo_valid = true;
	tp->undo_ts_set = false;
	tp->undo_had_retrans = false;
	tp->undo_marker = tp->snd_una;
	tp->undo_retrans = 0;
}

/* Was the ACK in @cb sent for the original of what we retransmitted (Eifel)? */
static bool tcp_packet_delayed(const struct tcp_sock *tp, const struct tcp_skb_cb *cb)
{
	return tp->undo_valid && tp->undo_ts_set && cb->has_ts && cb->rcv_tsecr &&
	       before(cb->rcv_tsecr, tp->undo_tsval);
}

/*
 * The episode's loss was not one: restore cwnd and ssthresh
 * (tcp_undo_cwnd_reduction) and go back to Open, or Disorder while SACKed
 * data remains.  The reordering that fooled us is remembered.
 */
static void tcp_undo_cwnd_reduction(struct tcp_sock *tp, unsigned int mib)
{
	uint32_t cwnd = tp->ca_ops->undo_cwnd ? tp->ca_ops->undo_cwnd(tp) : tp->prior_cwnd;

	if (cwnd > tp->snd_cwnd)
		tp->snd_cwnd = cwnd;
	if (tp->prior_ssthresh > tp->snd_ssthresh)
		tp->snd_ssthresh = tp->prior_ssthresh;
	tp->undo_valid = false;
	tp->dupacks = 0;
	tp->retran_hi = tp->snd_una;
	tcp_set_ca_state(tp, tp->sacked_bytes ? TCP_CA_Disorder : TCP_CA_Open);
	NET_INC_STATS_IDX(mib);
}

static void tcp_enter_recovery(struct tcp_sock *tp)
{
	tp->prior_ssthresh = tp->snd_ssthresh;
	tp->prior_cwnd = tp->snd_cwnd;
	tp->snd_ssthresh = tp->ca_ops->ssthresh(tp);
	tp->snd_cwnd = tp->snd_ssthresh;
	tp->snd_cwnd_cnt = 0;
	tp->high_seq = tp->snd_nxt;
	tp->retran_hi = tp->snd_una;
	tcp_init_undo(tp);
	tcp_set_ca_state(tp, TCP_CA_Recovery);
	if (tp->sack_ok)
		NET_INC_STATS(TCPSACKRECOVERY);
	else
		NET_INC_STATS(TCPRENORECOVERY);
	NET_INC_STATS(TCPFASTRETRANS);
}

/* RTO: everything not SACKed below snd_nxt is lost; slow start from 1. */
void tcp_enter_loss(struct tcp_sock *tp)
{
	if (tp->ca_state < TCP_CA_CWR || tp->ca_state == TCP_CA_Recovery) {
		tp->prior_ssthresh = tp->snd_ssthresh;
		tp->prior_cwnd = tp->snd_cwnd;
		tp->snd_ssthresh = tp->ca_ops->ssthresh(tp);
		tcp_init_undo(tp);
	} else if (tp->ca_state == TCP_CA_Loss) {
		tp->undo_valid = false;         /* a second RTO: no longer undoable */
	}
	tp->snd_cwnd = 1;
	tp->snd_cwnd_cnt = 0;
	tp->high_seq = tp->snd_nxt;
	tp->retran_hi = tp->snd_una;
	tp->dupacks = 0;
	tp->rtt_timing = false;
	tcp_set_ca_state(tp, TCP_CA_Loss);
}

/* Could new data go out now (tcp_may_send_now): unsent, and cwnd and window allow? */
static bool tcp_may_send_now(const struct tcp_sock *tp)
{
	return tcp_tx_has_unsent(tp) && tcp_packets_in_flight(tp) < tp->snd_cwnd &&
	       before(tp->snd_nxt, tp->snd_una + tp->snd_wnd);
}

static bool tcp_time_to_recover(const struct tcp_sock *tp)
{
	uint32_t mss = mss_or(tp);
	uint32_t out = (tp->snd_nxt - tp->snd_una + mss - 1) / mss;
	uint32_t base = (uint32_t)sysctl_read(&sysctl_tcp_reordering);
	uint32_t half = out / 2 > base ? out / 2 : base;

	/* DupThresh is the path's reordering degree (3 until it shows more). */
	if (tp->dupacks >= tp->reordering)
		return true;
	if (!tp->sack_ok)
		return false;
	/* RFC 6675 IsLost(snd_una): DupThresh segments' worth SACKed above it. */
	if (tp->sacked_bytes >= tp->reordering * mss)
		return true;
	/*
	 * A reordering degree as large as the flight would leave every loss
	 * to the RTO: with half the flight SACKed and nothing new to send, it
	 * is a loss (the kernel's old "Trick #4" of tcp_time_to_recover).  If
	 * it was reordering after all, the undo takes the reduction back.
	 */
	return out <= tp->reordering && tp->sacked_bytes >= half * mss &&
	       !tcp_may_send_now(tp);
}

/* ---- tcp_ack ---- */

static void tcp_ack_update_window(struct tcp_sock *tp, const struct tcp_skb_cb *cb, uint32_t ack)
{
	uint32_t nwin = (uint32_t)cb->window << tp->snd_wscale;

	if (after(ack, tp->snd_una) || after(cb->seq, tp->snd_wl1) ||
	    (cb->seq == tp->snd_wl1 && nwin > tp->snd_wnd)) {
		tp->snd_wl1 = cb->seq;
		tp->snd_wnd = nwin;
		if (nwin > tp->max_window)
			tp->max_window = nwin;
	}
}

static void tcp_update_rate(struct tcp_sock *tp, uint32_t acked_bytes)
{
	uint64_t now = ns_now_us();

	tp->delivered += acked_bytes;
	if (!tp->rate_stamp_us) {
		tp->rate_stamp_us = now;
		tp->rate_delivered = tp->delivered;
		return;
	}
	if (now - tp->rate_stamp_us >= 100000u || now - tp->rate_stamp_us >= 4u * (tp->srtt_us >> 3)) {
		uint64_t dt = now - tp->rate_stamp_us;

		if (dt)
			tp->delivery_rate = (tp->delivered - tp->rate_delivered) * 1000000u / dt;
		tp->rate_stamp_us = now;
		tp->rate_delivered = tp->delivered;
	}
}

/* Returns false if the segment must be dropped (bad ACK). */
static bool tcp_ack(struct tcp_sock *tp, struct sk_buff *skb)
{
	struct tcp_skb_cb *cb = TCP_SKB_CB(skb);
	uint32_t ack = cb->ack_seq;
	uint32_t prior_una = tp->snd_una;
	uint32_t prior_wnd = tp->snd_wnd;
	uint32_t prior_high = tcp_highest_sack(tp);
	bool prior_sacked = tp->n_sacked != 0;
	uint32_t payload = skb->len - cb->doff;
	struct sock *sk = tp->sk;

	if (after(ack, tp->snd_nxt)) {
		/* RFC 5961 §5.2: an ACK for data never sent. */
		NET_INC_STATS(TCPACKSKIPPEDSEQ);
		tcp_send_ack(tp);
		return false;
	}
	if (before(ack, prior_una - tp->max_window)) {
		NET_INC_STATS(TCPCHALLENGEACK);
		tcp_send_ack(tp);
		return false;
	}
	tp->rcv_tstamp = ns_jiffies();
	if (tp->pending != ICSK_TIME_PROBE0)
		tp->probes_out = 0;     /* the peer answers: keepalive probes start over */
	tcp_ack_update_window(tp, cb, ack);
	if (tp->sack_ok && cb->saw_sack)
		tcp_sacktag_write_queue(tp, skb);

	if (after(ack, prior_una)) {
		uint32_t acked = ack - prior_una;
		uint32_t data_end = tp->write_seq;
		uint32_t data_acked = (after(ack, data_end) ? data_end : ack) - prior_una;
		uint32_t mss = tp->mss_cache ? tp->mss_cache : TCP_MSS_DEFAULT;
		uint32_t segs = (acked + mss - 1) / mss;
		int64_t rtt_us = -1;

		if (!after(data_end, prior_una))
			data_acked = 0;
		tp->snd_una = ack;
		if (data_acked && sk->tx.r) {
			sk->tx_cons += data_acked;
			ns_ring_publish_cons(&sk->tx, sk->tx_cons);
			tcp_wake(tp, NS_WAIT_TX);
		}
		tp->bytes_acked += acked;
		tcp_update_rate(tp, acked);
		if (tp->rtt_timing && after(ack, tp->rtt_seq)) {
			rtt_us = (int64_t)(ns_now_us() - tp->rtt_stamp_us);
			tp->rtt_timing = false;
			tcp_rtt_estimator(tp, rtt_us);
		}
		tp->retransmits = 0;
		tp->backoff = 0;
		tp->probes_out = 0;
		tp->retrans_stamp = 0;
		tp->soft_err = 0;
		if (tp->srtt_us)
			tcp_set_rto(tp);
		tcp_sacktag_recount(tp);
		if (tp->ca_ops->pkts_acked)
			tp->ca_ops->pkts_acked(tp, segs, rtt_us);

		/*
		 * The loss probe's episode (RFC 8985 §7.4, tcp_process_tlp_ack):
		 * the original arrived if the probe came back as a D-SACK or
		 * this ACK echoes a TSval older than the probe's; no loss.  An
		 * ACK beyond the probe without either means the probe repaired
		 * a real loss at the tail, which costs what a fast recovery
		 * would.  An ACK of exactly the probe waits for more evidence.
		 */
		if (tp->tlp_high_seq && !before(ack, tp->tlp_high_seq)) {
			if (tp->tlp_dsacked || (cb->has_ts && cb->rcv_tsecr &&
						before(cb->rcv_tsecr, tp->tlp_tsval))) {
				tp->tlp_high_seq = 0;
			} else if (after(ack, tp->tlp_high_seq)) {
				if (tp->ca_state == TCP_CA_Open) {
					tp->prior_ssthresh = tp->snd_ssthresh;
					tp->prior_cwnd = tp->snd_cwnd;
					tp->snd_ssthresh = tp->ca_ops->ssthresh(tp);
					tp->snd_cwnd = tp->snd_ssthresh;
					NET_INC_STATS(TCPLOSSPROBERECOVERY);
				}
				tp->tlp_high_seq = 0;
			}
		}
		if (tp->ca_state < TCP_CA_Recovery && prior_sacked) {
			/* A hole below SACKed data filled by the original: reordering. */
			tcp_update_reordering(tp, tcp_reorder_degree(tp, prior_una, prior_high) + 1,
					      false);
		} else if (tp->ca_state >= TCP_CA_Recovery && tcp_packet_delayed(tp, cb) &&
			   (tp->ca_state == TCP_CA_Loss || !before(ack, tp->high_seq) ||
			    !after(tp->retran_hi, ack))) {
			/*
			 * Eifel (RFC 3522): this ACK was sent for the originals,
			 * so the retransmissions were needless.  A partial ACK
			 * undoes only once no retransmission is outstanding.
			 */
			bool loss = tp->ca_state == TCP_CA_Loss;

			if (!loss)
				tcp_update_reordering(tp, tcp_reorder_degree(tp, prior_una, prior_high) + 1,
						      true);
			else
				NET_INC_STATS(TCPSPURIOUSRTOS);
			tcp_undo_cwnd_reduction(tp, loss ? LINUX_MIB_TCPLOSSUNDO :
						    !before(ack, tp->high_seq) ? LINUX_MIB_TCPFULLUNDO :
						    LINUX_MIB_TCPPARTIALUNDO);
		}

		switch (tp->ca_state) {
		case TCP_CA_Recovery:
			if (!before(ack, tp->high_seq)) {
				/* Full ACK: leave recovery at ssthresh (RFC 6582 §3.2 step 3). */
				tp->snd_cwnd = tp->snd_ssthresh;
				tcp_set_ca_state(tp, TCP_CA_Open);
				tp->dupacks = 0;
			} else if (!tp->sack_ok) {
				/* NewReno partial ACK: the next segment is lost too. */
				tp->retran_hi = ack;
				(void)tcp_retransmit_skb(tp, ack, mss);
				tp->retran_hi = ack + mss;
			}
			break;
		case TCP_CA_Loss:
			if (!before(ack, tp->high_seq)) {
				tcp_set_ca_state(tp, TCP_CA_Open);
				tp->dupacks = 0;
			}
			if (tp->snd_cwnd < tp->snd_ssthresh)
				tp->snd_cwnd += segs;   /* slow start while recovering */
			break;
		default:
			tp->dupacks = 0;
			if (tp->ca_state == TCP_CA_Disorder && !tp->sacked_bytes)
				tcp_set_ca_state(tp, TCP_CA_Open);
			/* Grow only a window the sender actually used (RFC 7661 spirit). */
			if (tp->cwnd_limited)
				tp->ca_ops->cong_avoid(tp, ack, segs);
			break;
		}
		if (tp->snd_cwnd < 1)
			tp->snd_cwnd = 1;
		tcp_rearm_rto(tp);
		if (tp->state == TCP_ESTABLISHED && !payload)
			NET_INC_STATS(TCPHPACKS);
	} else if (ack == prior_una && !payload && !(cb->tcp_flags & (TCPHDR_SYN | TCPHDR_FIN)) &&
		   tp->snd_wnd == prior_wnd && tp->snd_una != tp->snd_nxt) {
		/* RFC 5681 duplicate ACK. */
		tp->dupacks++;
		if (tp->ca_state == TCP_CA_Open)
			tcp_set_ca_state(tp, TCP_CA_Disorder);
	} else if (!payload) {
		NET_INC_STATS(TCPPUREACKS);
	}
	/* D-SACKs showed every retransmission of the episode needless (RFC 3708). */
	if (tp->undo_valid && tp->undo_had_retrans && !tp->undo_retrans && tp->ca_state != TCP_CA_Loss)
		tcp_undo_cwnd_reduction(tp, LINUX_MIB_TCPDSACKUNDO);

	if (tp->ca_state < TCP_CA_Recovery && tp->snd_una != tp->snd_nxt && tcp_time_to_recover(tp)) {
		tcp_enter_recovery(tp);
		/* Fast retransmit: the first hole now, whatever the pipe says. */
		(void)tcp_retransmit_skb(tp, tp->snd_una, mss_or(tp));
		tp->retran_hi = tp->snd_una + mss_or(tp);
		if (after(tp->retran_hi, tp->snd_nxt))
			tp->retran_hi = tp->snd_nxt;
		tcp_rearm_rto(tp);
	} else if (tp->ca_state == TCP_CA_Recovery && !tp->sack_ok && tp->dupacks > 3 &&
		   ack == prior_una) {
		tp->snd_cwnd++;         /* RFC 5681 §3.2 step 4: inflate per dupack */
	}
	if (tp->ca_state >= TCP_CA_Recovery)
		tcp_xmit_retransmit_queue(tp);
	if (tp->pending == ICSK_TIME_PROBE0 && tp->snd_wnd)
		tcp_clear_xmit_timer(tp);
	return true;
}

/* ---- incoming data ---- */

/* Rebuild the SACK blocks we send from the out-of-order queue (RFC 2018 §4). */
static void tcp_build_rcv_sacks(struct tcp_sock *tp, uint32_t recent_seq)
{
	struct tcp_sack_block all[64];
	unsigned int n = 0, first = 0;
	struct sk_buff *skb;

	for (skb = tp->ofo_queue.head; skb; skb = skb->next) {
		const struct tcp_skb_cb *c = TCP_SKB_CB(skb);

		if (n && !after(c->seq, all[n - 1].end_seq)) {
			if (after(c->end_seq, all[n - 1].end_seq))
				all[n - 1].end_seq = c->end_seq;
		} else if (n < 64) {
			all[n].start_seq = c->seq;
			all[n].end_seq = c->end_seq;
			n++;
		}
	}
	/* The block holding the most recent segment goes first. */
	for (unsigned int i = 0; i < n; i++)
		if (!before(recent_seq, all[i].start_seq) && before(recent_seq, all[i].end_seq))
			first = i;
	tp->n_rcv_sacks = 0;
	if (!n)
		return;
	tp->rcv_sacks[tp->n_rcv_sacks++] = all[first];
	for (unsigned int i = n; i-- > 0 && tp->n_rcv_sacks < TCP_NUM_SACKS;)
		if (i != first)
			tp->rcv_sacks[tp->n_rcv_sacks++] = all[i];
}

static void tcp_fin(struct tcp_sock *tp)
{
	tp->rcv_nxt++;
	tp->fin_rcvd = true;
	tcp_schedule_ack(tp, true);
	switch (tp->state) {
	case TCP_SYN_RECV:
	case TCP_ESTABLISHED:
		tcp_set_state(tp, TCP_CLOSE_WAIT);
		break;
	case TCP_FIN_WAIT1:
		/* Simultaneous close; our FIN is not acknowledged yet. */
		tcp_set_state(tp, TCP_CLOSING);
		break;
	case TCP_FIN_WAIT2:
		tcp_send_ack(tp);
		tp->ack_pending = 0;
		tcp_time_wait(tp, TCP_TIME_WAIT, 0);
		return;
	default:
		break;
	}
	tcp_publish_state(tp);
	tcp_wake(tp, NS_WAIT_RX);
}

/* Queue a segment beyond rcv_nxt, sorted and without full duplicates. */
static void tcp_data_queue_ofo(struct tcp_sock *tp, struct sk_buff *skb)
{
	struct tcp_skb_cb *cb = TCP_SKB_CB(skb);
	struct sk_buff *prev = NULL, *cur;

	NET_INC_STATS(TCPOFOQUEUE);
	tcp_enter_quickack_mode(tp);
	for (cur = tp->ofo_queue.head; cur; prev = cur, cur = cur->next) {
		struct tcp_skb_cb *c = TCP_SKB_CB(cur);

		if (!before(cb->seq, c->seq) && !after(cb->end_seq, c->end_seq)) {
			NET_INC_STATS(TCPOFOMERGE);
			kfree_skb_reason(skb, SKB_DROP_REASON_TCP_OFO_DUP);
			tcp_build_rcv_sacks(tp, cb->seq);
			return;
		}
		if (before(cb->seq, c->seq))
			break;
	}
	skb->next = cur;
	if (prev)
		prev->next = skb;
	else
		tp->ofo_queue.head = skb;
	if (!cur)
		tp->ofo_queue.tail = skb;
	tp->ofo_queue.qlen++;
	tp->ofo_bytes += skb->len;
	tcp_build_rcv_sacks(tp, cb->seq);
}

/* Move now-in-order segments from the out-of-order queue. */
static void tcp_ofo_queue(struct tcp_sock *tp)
{
	struct sk_buff *skb;

	while ((skb = tp->ofo_queue.head)) {
		struct tcp_skb_cb *c = TCP_SKB_CB(skb);
		uint32_t off, len;

		if (after(c->seq, tp->rcv_nxt))
			break;
		tp->ofo_queue.head = skb->next;
		if (!tp->ofo_queue.head)
			tp->ofo_queue.tail = NULL;
		tp->ofo_queue.qlen--;
		tp->ofo_bytes -= skb->len;
		skb->next = NULL;
		if (after(c->end_seq, tp->rcv_nxt)) {
			bool fin = c->tcp_flags & TCPHDR_FIN;

			off = tp->rcv_nxt - c->seq;
			len = skb->len - c->doff;
			if (off < len) {
				uint32_t n = tcp_rx_put(tp, skb, c->doff + off, len - off);

				tp->rcv_nxt += n;
				if (n < len - off) {
					kfree_skb_reason(skb, SKB_DROP_REASON_TCP_RCVBUF);
					continue;
				}
			}
			if (fin && tp->rcv_nxt == c->end_seq - 1)
				tcp_fin(tp);
		}
		consume_skb(skb);
	}
	if (!tp->ofo_queue.head)
		tp->n_rcv_sacks = 0;
	else
		tcp_build_rcv_sacks(tp, TCP_SKB_CB(tp->ofo_queue.head)->seq);
}

/* Data and FIN of an acceptable segment (tcp_data_queue).  Consumes @skb. */
static void tcp_data_queue(struct tcp_sock *tp, struct sk_buff *skb)
{
	struct tcp_skb_cb *cb = TCP_SKB_CB(skb);
	uint32_t len = skb->len - cb->doff;
	bool fin = cb->tcp_flags & TCPHDR_FIN;
	uint32_t seq = cb->seq;

	if (!len && !fin) {
		consume_skb(skb);
		return;
	}
	if (!after(cb->end_seq, tp->rcv_nxt)) {
		/* A duplicate: ACK at once so that the sender learns (RFC 9293). */
		tcp_enter_quickack_mode(tp);
		tcp_schedule_ack(tp, true);
		kfree_skb_reason(skb, SKB_DROP_REASON_TCP_OLD_DATA);
		return;
	}
	if (tp->fin_rcvd) {
		/* Nothing can follow their FIN. */
		kfree_skb_reason(skb, SKB_DROP_REASON_TCP_CLOSED);
		return;
	}
	if (tp->orphan && len && after(cb->end_seq - (fin ? 1 : 0), tp->rcv_nxt)) {
		/* New data after close(): nobody will read it (RFC 9293 §3.10.7.4, tcp_rcv_state_process). */
		NET_INC_STATS(TCPABORTONDATA);
		tcp_send_active_reset(tp);
		tcp_done(tp);
		kfree_skb_reason(skb, SKB_DROP_REASON_TCP_CLOSED);
		return;
	}
	if (!after(seq, tp->rcv_nxt)) {
		uint32_t off = tp->rcv_nxt - seq;
		uint32_t n = 0;

		if (off < len) {
			if (!tcp_rx_free(tp)) {
				NET_INC_STATS(TCPZEROWINDOWDROP);
				tcp_schedule_ack(tp, true);
				kfree_skb_reason(skb, SKB_DROP_REASON_TCP_ZEROWINDOW);
				return;
			}
			n = tcp_rx_put(tp, skb, cb->doff + off, len - off);
			tp->rcv_nxt += n;
			tp->data_segs_in += skb_gso_segs(skb);
			if (n < len - off) {
				NET_INC_STATS(TCPRCVQDROP);
				tcp_schedule_ack(tp, true);
				kfree_skb_reason(skb, SKB_DROP_REASON_TCP_RCVBUF);
				tcp_wake(tp, NS_WAIT_RX);
				return;
			}
		}
		/*
		 * A GRO packet counts as the full segments it was made of, so it
		 * is ACKed at once, as the kernel's __tcp_ack_snd_check does
		 * for more than one full frame received.
		 */
		if (skb_is_gso(skb))
			tp->segs_unacked += skb_gso_segs(skb);
		else if (len >= tp->advmss / 2 || len >= 536)
			tp->segs_unacked++;
		tp->lrcvtime = ns_jiffies();
		tcp_schedule_ack(tp, false);
		if (fin)
			tcp_fin(tp);
		if (tp->ofo_queue.head) {
			tcp_ofo_queue(tp);
			tcp_schedule_ack(tp, true);     /* a hole filled: tell the sender now */
		}
		consume_skb(skb);
		tcp_wake(tp, NS_WAIT_RX);
		return;
	}
	/* Beyond rcv_nxt: out of order, if inside the window. */
	if (!before(seq, tp->rcv_nxt + tp->rcv_wnd + (1u << tp->rcv_wscale))) {
		NET_INC_STATS(TCPOFODROP);
		tcp_schedule_ack(tp, true);
		kfree_skb_reason(skb, SKB_DROP_REASON_TCP_OVERWINDOW);
		return;
	}
	tcp_data_queue_ofo(tp, skb);
	tcp_schedule_ack(tp, true);
}

/* ---- RFC 5961 challenge ACKs, rate limited per worker ---- */

static _Thread_local uint64_t challenge_stamp;
static _Thread_local uint32_t challenge_count;

static void tcp_send_challenge_ack(struct tcp_sock *tp)
{
	uint64_t now = ns_jiffies() / 1000u;

	if (now != challenge_stamp) {
		challenge_stamp = now;
		challenge_count = 0;
	}
	if (++challenge_count > (uint32_t)sysctl_read(&sysctl_tcp_challenge_ack_limit))
		return;
	NET_INC_STATS(TCPCHALLENGEACK);
	tcp_send_ack(tp);
}

/* RFC 7323 §5.3 PAWS: a segment with an older timestamp is a stale duplicate. */
static bool tcp_paws_discard(const struct tcp_sock *tp, const struct tcp_skb_cb *cb)
{
	if (!tp->tstamp_ok || !cb->has_ts || !tp->ts_recent_stamp)
		return false;
	if ((int32_t)(cb->rcv_tsval - tp->ts_recent) >= 0)
		return false;
	if (ns_jiffies() - tp->ts_recent_stamp > (uint64_t)TCP_PAWS_24DAYS * 1000u)
		return false;
	return !(cb->tcp_flags & TCPHDR_RST);
}

/* tcp_sequence: does the segment overlap the receive window? */
static bool tcp_sequence(const struct tcp_sock *tp, const struct tcp_skb_cb *cb)
{
	uint32_t win = tp->rcv_wnd;

	/* Window already consumed; in sequence space, which wraps at 2^32. */
	if (before(tp->rcv_wup + win, tp->rcv_nxt))
		win = 0;
	return !before(cb->end_seq, tp->rcv_wup) &&
	       !after(cb->seq, tp->rcv_nxt + (tp->rcv_wup + win - tp->rcv_nxt));
}

/* ---- SYN_SENT (RFC 9293 §3.10.7.3) ---- */

static int tcp_rcv_synsent_state_process(struct tcp_sock *tp, struct sk_buff *skb)
{
	struct tcp_skb_cb *cb = TCP_SKB_CB(skb);
	uint8_t fl = cb->tcp_flags;

	if (fl & TCPHDR_ACK) {
		if (!after(cb->ack_seq, tp->iss) || after(cb->ack_seq, tp->snd_nxt)) {
			if (!(fl & TCPHDR_RST))
				tcp_v4_send_reset(tp->sk, skb);
			kfree_skb_reason(skb, SKB_DROP_REASON_TCP_ACK_UNSENT);
			return 0;
		}
		if (fl & TCPHDR_RST) {
			tcp_reset(tp, ECONNREFUSED);
			kfree_skb_reason(skb, SKB_DROP_REASON_TCP_RESET);
			return 0;
		}
	}
	if (fl & TCPHDR_RST) {
		kfree_skb_reason(skb, SKB_DROP_REASON_TCP_RESET);
		return 0;
	}
	if (!(fl & TCPHDR_SYN)) {
		kfree_skb_reason(skb, SKB_DROP_REASON_TCP_FLAGS);
		return 0;
	}
	tp->irs = cb->seq;
	tp->rcv_nxt = cb->seq + 1;
	tp->rcv_wup = tp->rcv_nxt;
	tp->rx_mss = cb->mss;
	tp->sack_ok = tp->sack_ok && cb->sack_perm;
	tp->tstamp_ok = tp->tstamp_ok && cb->has_ts;
	tp->wscale_ok = tp->wscale_ok && cb->wscale_ok;
	if (tp->wscale_ok) {
		tp->snd_wscale = cb->snd_wscale;
	} else {
		tp->snd_wscale = 0;
		tp->rcv_wscale = 0;
	}
	if (tp->tstamp_ok) {
		tp->ts_recent = cb->rcv_tsval;
		tp->ts_recent_stamp = ns_jiffies();
	}
	tp->snd_wl1 = cb->seq;
	tp->snd_wnd = cb->window;
	tp->max_window = tp->snd_wnd;
	tcp_init_transfer(tp);
	if (fl & TCPHDR_ACK) {
		if (tp->rtt_timing) {
			tcp_rtt_estimator(tp, (int64_t)(ns_now_us() - tp->rtt_stamp_us));
			tp->rtt_timing = false;
		}
		tp->snd_una = cb->ack_seq;
		tp->write_seq = tp->snd_una;
		tp->retransmits = 0;
		tp->backoff = 0;
		tcp_clear_xmit_timer(tp);
		tcp_set_state(tp, TCP_ESTABLISHED);
		if (tp->sk->keepalive)
			tcp_reset_keepalive_timer(tp, keepalive_time_when(tp));
		tcp_send_ack(tp);
		tcp_push_pending(tp);
		consume_skb(skb);
		return 0;
	}
	/* Simultaneous open (RFC 9293 §3.5 figure 7). */
	tcp_set_state(tp, TCP_SYN_RECV);
	(void)tcp_send_synack(tp);
	consume_skb(skb);
	return 0;
}

/* ---- the state machine ---- */

static bool tcp_our_fin_acked(const struct tcp_sock *tp)
{
	return tp->fin_sent && tp->snd_una == tp->write_seq + 1;
}

int tcp_rcv_state_process(struct tcp_sock *tp, struct sk_buff *skb)
{
	struct tcp_skb_cb *cb = TCP_SKB_CB(skb);
	uint8_t fl = cb->tcp_flags;

	tp->segs_in++;
	switch (tp->state) {
	case TCP_CLOSE:
		tcp_v4_send_reset(tp->sk, skb);
		kfree_skb_reason(skb, SKB_DROP_REASON_TCP_CLOSED);
		return 0;
	case TCP_LISTEN:
		kfree_skb_reason(skb, SKB_DROP_REASON_TCP_FLAGS);
		return 0;
	case TCP_SYN_SENT:
		return tcp_rcv_synsent_state_process(tp, skb);
	default:
		break;
	}

	/* 1. PAWS and the sequence number. */
	if (tcp_paws_discard(tp, cb)) {
		NET_INC_STATS(PAWSESTABREJECTED);
		tcp_send_ack(tp);
		kfree_skb_reason(skb, SKB_DROP_REASON_TCP_RFC7323_PAWS);
		return 0;
	}
	if (!tcp_sequence(tp, cb)) {
		if (!(fl & TCPHDR_RST)) {
			if (fl & TCPHDR_SYN)
				goto syn_challenge;
			tcp_send_ack(tp);
		}
		kfree_skb_reason(skb, SKB_DROP_REASON_TCP_INVALID_SEQUENCE);
		return 0;
	}

	/* 2. RST (RFC 5961 §3.2). */
	if (fl & TCPHDR_RST) {
		if (cb->seq == tp->rcv_nxt) {
			int err = tp->state == TCP_SYN_RECV ? ECONNREFUSED :
				  tp->state == TCP_CLOSE_WAIT ? EPIPE : ECONNRESET;

			if (tp->state == TCP_TIME_WAIT || tp->state == TCP_LAST_ACK ||
			    tp->state == TCP_CLOSING)
				err = 0;
			tcp_reset(tp, err);
		} else {
			tcp_send_challenge_ack(tp);
		}
		kfree_skb_reason(skb, SKB_DROP_REASON_TCP_RESET);
		return 0;
	}

	/* 3. Timestamps: remember the peer's for echo and PAWS. */
	if (tp->tstamp_ok && cb->has_ts && !after(cb->seq, tp->rcv_wup) &&
	    (int32_t)(cb->rcv_tsval - tp->ts_recent) >= 0) {
		tp->ts_recent = cb->rcv_tsval;
		tp->ts_recent_stamp = ns_jiffies();
	}

	/* 4. SYN in a synchronised state (RFC 5961 §4). */
	if ((fl & TCPHDR_SYN) && tp->state == TCP_SYN_RECV && (fl & TCPHDR_ACK) &&
	    cb->seq == tp->irs && cb->ack_seq == tp->snd_nxt) {
		/* Crossed SYNs (simultaneous open): their SYN-ACK acknowledges ours. */
		fl &= (uint8_t)~TCPHDR_SYN;
	}
	if (fl & TCPHDR_SYN) {
		if (tp->state == TCP_SYN_RECV && cb->seq == tp->irs) {
			(void)tcp_send_synack(tp);       /* their SYN again: our SYN-ACK was lost */
			kfree_skb_reason(skb, SKB_DROP_REASON_TCP_OLD_DATA);
			return 0;
		}
syn_challenge:
		NET_INC_STATS(TCPSYNCHALLENGE);
		tcp_send_challenge_ack(tp);
		kfree_skb_reason(skb, SKB_DROP_REASON_TCP_FLAGS);
		return 0;
	}

	/* 5. ACK. */
	if (!(fl & TCPHDR_ACK)) {
		kfree_skb_reason(skb, SKB_DROP_REASON_TCP_FLAGS);
		return 0;
	}
	if (tp->state == TCP_SYN_RECV) {
		if (!after(cb->ack_seq, tp->snd_una) || after(cb->ack_seq, tp->snd_nxt)) {
			tcp_v4_send_reset(tp->sk, skb);
			kfree_skb_reason(skb, SKB_DROP_REASON_TCP_ACK_UNSENT);
			return 0;
		}
		if (tp->listener_id && !tp->in_accept_q && atomic_load(&tp->sk->refs) == 0 &&
		    !tp->sk->shm) {
			if (!tcp_child_to_accept_queue(tp, true)) {
				/* Accept queue full: as if the ACK was lost; the SYN-ACK timer retries. */
				kfree_skb_reason(skb, SKB_DROP_REASON_TCP_LISTEN_OVERFLOW);
				return 0;
			}
			TCP_INC_STATS(PASSIVEOPENS);
		}
		if (tp->rtt_timing) {
			tcp_rtt_estimator(tp, (int64_t)(ns_now_us() - tp->rtt_stamp_us));
			tp->rtt_timing = false;
		}
		tp->snd_una = cb->ack_seq;
		tp->write_seq = tp->snd_una;
		tp->snd_wnd = (uint32_t)cb->window << tp->snd_wscale;
		tp->snd_wl1 = cb->seq;
		tp->retransmits = 0;
		tp->backoff = 0;
		tcp_delete_keepalive_timer(tp);
		tcp_clear_xmit_timer(tp);
		tcp_set_state(tp, TCP_ESTABLISHED);
		if (tp->sk->keepalive)
			tcp_reset_keepalive_timer(tp, keepalive_time_when(tp));
	}
	if (!tcp_ack(tp, skb)) {
		kfree_skb_reason(skb, SKB_DROP_REASON_TCP_ACK_UNSENT);
		return 0;
	}
	switch (tp->state) {
	case TCP_FIN_WAIT1:
		if (tcp_our_fin_acked(tp)) {
			tcp_set_state(tp, TCP_FIN_WAIT2);
			if (tp->orphan) {
				uint32_t t = tp->linger2 > 0 ? (uint32_t)tp->linger2 * 1000u :
					     (uint32_t)sysctl_read(&sysctl_tcp_fin_timeout) * 1000u;

				tcp_reset_keepalive_timer(tp, t);
			}
		}
		break;
	case TCP_CLOSING:
		if (tcp_our_fin_acked(tp)) {
			tcp_time_wait(tp, TCP_TIME_WAIT, 0);
			kfree_skb_reason(skb, SKB_DROP_REASON_TCP_CLOSED);
			return 0;
		}
		break;
	case TCP_LAST_ACK:
		if (tcp_our_fin_acked(tp)) {
			tcp_done(tp);
			consume_skb(skb);
			return 0;
		}
		break;
	case TCP_TIME_WAIT:
		/* A retransmitted FIN: ACK it and restart the 2MSL timer. */
		if (fl & TCPHDR_FIN) {
			tcp_send_ack(tp);
			tcp_time_wait(tp, TCP_TIME_WAIT, 0);
		}
		kfree_skb_reason(skb, SKB_DROP_REASON_TCP_CLOSED);
		return 0;
	default:
		break;
	}

	/* 6. Data and FIN. */
	switch (tp->state) {
	case TCP_ESTABLISHED:
	case TCP_FIN_WAIT1:
	case TCP_FIN_WAIT2:
		if (skb->len > cb->doff || (fl & TCPHDR_FIN)) {
			tcp_data_queue(tp, skb);
			break;
		}
		consume_skb(skb);
		break;
	default:
		consume_skb(skb);
		break;
	}
	if (tp->state == TCP_CLOSE)
		return 0;       /* tcp_done ran (tp lives until the batch ends) */
	tcp_push_pending(tp);
	tcp_ack_snd_check(tp);
	tcp_publish_info(tp);
	return 0;
}
