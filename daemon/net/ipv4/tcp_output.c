/*
 * TCP output (the kernel's tcp_output.c): segments are built straight from
 * the client's tx ring (tcp_transmit_skb), tcp_write_xmit sends new data
 * within cwnd, the peer's window and Nagle/cork, retransmits re-read the
 * ring, and ACK/SYN/SYN-ACK/FIN/RST/window probes.  Owner worker only,
 * except SYN-cookie SYN-ACKs, which a listener's worker sends from a
 * throw-away socket on its stack.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include "core/checksum.h"
#include "core/clock.h"
#include "core/debug.h"
#include "core/sysctl.h"
#include "core/trace.h"
#include "net/ipv4/ip.h"
#include "net/ipv4/pmtu.h"
#include "net/ipv4/route.h"
#include "net/ipv4/tcp.h"
#include "net/wire/ip.h"

uint32_t tcp_time_stamp(const struct tcp_sock *tp)
{
	return (uint32_t)ns_jiffies() + tp->tsoffset;
}

uint16_t tcp_mss_for_mtu(unsigned int mtu)
{
	unsigned int mss = mtu > 40 ? mtu - 40 : TCP_MIN_MSS;

	if (mss < TCP_MIN_MSS)
		mss = TCP_MIN_MSS;
	return (uint16_t)(mss > 65495 ? 65495 : mss);
}

/* An MSS (payload bytes of a segment without options) less the options every segment carries. */
uint16_t tcp_mss_options(const struct tcp_sock *tp, uint32_t mss)
{
	if (tp->tstamp_ok)
		mss -= TCPOLEN_TSTAMP_ALIGNED;
	if (mss < TCP_MIN_MSS)
		mss = TCP_MIN_MSS;
	return (uint16_t)mss;
}

/* Payload bytes per segment, after the options every segment carries. */
uint32_t tcp_current_mss(struct tcp_sock *tp)
{
	uint32_t mss = mss_or(tp);

	if (tp->n_rcv_sacks && tp->sack_ok) {
		uint32_t sack = TCPOLEN_SACK_BASE + 2 + tp->n_rcv_sacks * TCPOLEN_SACK_PERBLOCK;

		if (mss > sack + TCP_MIN_MSS)
			mss -= sack;
	}
	return mss;
}

/* The window field for a segment we send now (tcp_select_window). */
uint16_t tcp_select_window(struct tcp_sock *tp)
{
	uint32_t free = tcp_rx_free(tp);
	uint32_t cur_edge = tp->rcv_wup + tp->rcv_wnd;
	uint32_t win;

	/* Never move the right edge left (RFC 9293 §3.8.6.2.2). */
	if (before(tp->rcv_nxt + free, cur_edge))
		free = cur_edge - tp->rcv_nxt;
	win = free >> tp->rcv_wscale;
	if (win > 65535u)
		win = 65535u;
	tp->rcv_wnd = win << tp->rcv_wscale;
	tp->rcv_wup = tp->rcv_nxt;
	if (tp->sk->shm && tp->rcv_wnd < tp->rcv_space / 2) {
		/* Ask the client to ring when it makes room (tcp_cleanup_rbuf). */
		atomic_exchange_explicit(&tp->sk->shm->rx_kick, 1, memory_order_seq_cst);
	}
	return (uint16_t)win;
}

static void put_be16(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* Options for a segment with @flags: written to @p (if not NULL); returns their size. */
static unsigned int tcp_options(struct tcp_sock *tp, uint8_t flags, uint8_t *p)
{
	unsigned int n = 0;

	if (flags & TCPHDR_SYN) {
		bool synack = flags & TCPHDR_ACK;
		bool ts = synack ? tp->tstamp_ok : tp->tstamp_ok;
		bool sack = tp->sack_ok;
		bool ws = tp->wscale_ok;

		if (p) {
			p[0] = TCPOPT_MSS;
			p[1] = TCPOLEN_MSS;
			put_be16(p + 2, tp->advmss);
		}
		n += 4;
		if (ts) {
			if (p) {
				uint8_t *q = p + n;

				if (sack) {
					q[0] = TCPOPT_SACK_PERM;
					q[1] = TCPOLEN_SACK_PERM;
				} else {
					q[0] = TCPOPT_NOP;
					q[1] = TCPOPT_NOP;
				}
				q[2] = TCPOPT_TIMESTAMP;
				q[3] = TCPOLEN_TIMESTAMP;
				put_be32(q + 4, tcp_time_stamp(tp));
				put_be32(q + 8, synack ? tp->ts_recent : 0);
			}
			n += 12;
		} else if (sack) {
			if (p) {
				p[n] = TCPOPT_NOP;
				p[n + 1] = TCPOPT_NOP;
				p[n + 2] = TCPOPT_SACK_PERM;
				p[n + 3] = TCPOLEN_SACK_PERM;
			}
			n += 4;
		}
		if (ws) {
			if (p) {
				p[n] = TCPOPT_NOP;
				p[n + 1] = TCPOPT_WINDOW;
				p[n + 2] = TCPOLEN_WINDOW;
				p[n + 3] = tp->rcv_wscale;
			}
			n += 4;
		}
		return n;
	}
	if (tp->tstamp_ok) {
		if (p) {
			p[0] = TCPOPT_NOP;
			p[1] = TCPOPT_NOP;
			p[2] = TCPOPT_TIMESTAMP;
			p[3] = TCPOLEN_TIMESTAMP;
			put_be32(p + 4, tcp_time_stamp(tp));
			put_be32(p + 8, tp->ts_recent);
		}
		n += 12;
	}
	if (tp->sack_ok && tp->n_rcv_sacks && !(flags & TCPHDR_RST)) {
		unsigned int blocks = tp->n_rcv_sacks;
		unsigned int max = (TCP_MAX_OPTLEN - n - 4) / TCPOLEN_SACK_PERBLOCK;

		if (blocks > max)
			blocks = max;
		if (p) {
			uint8_t *q = p + n;

			q[0] = TCPOPT_NOP;
			q[1] = TCPOPT_NOP;
			q[2] = TCPOPT_SACK;
			q[3] = (uint8_t)(TCPOLEN_SACK_BASE + blocks * TCPOLEN_SACK_PERBLOCK);
			for (unsigned int i = 0; i < blocks; i++) {
				put_be32(q + 4 + i * 8, tp->rcv_sacks[i].start_seq);
				put_be32(q + 8 + i * 8, tp->rcv_sacks[i].end_seq);
			}
		}
		n += 4 + blocks * TCPOLEN_SACK_PERBLOCK;
	}
	return n;
}

/*
 * Build and send one segment: @len payload bytes from sequence @seq (read
 * from the tx ring), @flags.  The kernel's tcp_transmit_skb.  0 or -errno.
 */
int tcp_transmit_skb(struct tcp_sock *tp, uint32_t seq, uint32_t len, uint8_t flags)
{
	struct sock *sk = tp->sk;
	unsigned int optlen = tcp_options(tp, flags, NULL);
	unsigned int hlen = (unsigned int)sizeof(struct tcphdr_ns) + optlen;
	struct tcphdr_ns *th;
	struct sk_buff *skb;
	uint32_t sum;
	uint16_t win;
	int err;

	if (len && !sk->tx.r)
		return -EPIPE;
	skb = alloc_skb(NS_MAX_HEADER + hlen + len);
	if (!skb)
		return -ENOBUFS;
	skb_reserve(skb, NS_MAX_HEADER);
	th = skb_put(skb, hlen);
	memset(th, 0, sizeof(*th));
	th->source = sk->sport;
	th->dest = sk->dport;
	th->seq = htonl(seq);
	th->doff_res = (uint8_t)((hlen / 4) << 4);
	th->flags = flags;
	if (flags & TCPHDR_ACK)
		th->ack_seq = htonl(tp->rcv_nxt);
	if (flags & TCPHDR_SYN) {
		uint32_t free = tcp_rx_free(tp);

		win = (uint16_t)(free > 65535u ? 65535u : free);
		tp->rcv_wnd = win;
		tp->rcv_wup = tp->rcv_nxt;
	} else if (flags & TCPHDR_RST) {
		win = 0;
	} else {
		win = tcp_select_window(tp);
	}
	th->window = htons(win);
	tcp_options(tp, flags, (uint8_t *)(th + 1));
	if (len) {
		uint64_t idx = sk->tx_cons + (seq - tp->snd_una);

		ns_stream_get(&sk->tx, idx, skb_put(skb, len), len);
	}
	sum = csum_partial(th, skb->len, 0);
	th->check = csum_fold(csum_tcpudp_nofold(sk->src ? sk->src : sk->saddr, sk->daddr, skb->len,
						  IPPROTO_TCP, sum));
	skb_reset_transport_header(skb);
	if (trace_active())
		trace_sample_tx(skb, NS_TRACE_TCP_TRANSMIT_SKB, IPPROTO_TCP,
				sk->src ? sk->src : sk->saddr, sk->daddr, ntohs(sk->sport),
				ntohs(sk->dport));
	if (flags & TCPHDR_ACK) {
		tp->ack_pending = 0;
		tp->segs_unacked = 0;
		if (timer_pending(&tp->delack_timer))
			del_timer(&tp->delack_timer);
	}
	TCP_INC_STATS(OUTSEGS);
	if (flags & TCPHDR_RST)
		TCP_INC_STATS(OUTRSTS);
	tp->segs_out++;
	if (sk->pmtudisc != IP_PMTUDISC_DONT)
		IPCB(skb)->flags = IPSKB_DF;
	err = ip_build_and_send_pkt(skb, sk->src ? sk->src : sk->saddr, sk->daddr, IPPROTO_TCP,
				    sk->tos, sk->ttl < 0 ? 0 : (uint8_t)sk->ttl);
	/*
	 * DF over a path MTU that another socket learned (pmtu.c): the
	 * kernel's tcp_current_mss would have seen it before; shrink now so
	 * that the segment sent again fits.
	 */
	if (err == -EMSGSIZE)
		(void)tcp_sync_mss(tp, ip_rt_get_pmtu(sk->daddr));
	/* A neighbour still resolving queues the packet: that is a send. */
	return err == -EAGAIN ? 0 : err;
}

/* ---- what the client wrote ---- */

void tcp_update_write_seq(struct tcp_sock *tp)
{
	struct sock *sk = tp->sk;
	uint64_t prod;

	if (!sk->tx.r || tp->fin_sent || tp->state == TCP_SYN_SENT || tp->state == TCP_SYN_RECV ||
	    tp->state == TCP_CLOSE || tp->state == TCP_LISTEN)
		return;
	prod = ns_ring_load_prod(&sk->tx);
	if (!ns_ring_sane(&sk->tx, prod, sk->tx_cons)) {
		/* The client broke its ring: only its own connection suffers. */
		tp->reset_pending = true;
		return;
	}
	if (prod > tp->tx_end)
		prod = tp->tx_end;
	tp->tx_seen = prod;
	tp->write_seq = tp->snd_una + (uint32_t)(prod - sk->tx_cons);
	/* snd_una counts our FIN once acknowledged; data never lies past it. */
}

bool tcp_tx_has_unsent(const struct tcp_sock *tp)
{
	return before(tp->snd_nxt, tp->write_seq) || (tp->fin_pending && !tp->fin_sent);
}

static bool tcp_can_send_data(const struct tcp_sock *tp)
{
	switch (tp->state) {
	case TCP_ESTABLISHED:
	case TCP_CLOSE_WAIT:
	case TCP_FIN_WAIT1:
	case TCP_LAST_ACK:
	case TCP_CLOSING:
		return true;
	default:
		return false;
	}
}

static void tcp_start_rtt(struct tcp_sock *tp, uint32_t seq)
{
	if (!tp->rtt_timing) {
		tp->rtt_timing = true;
		tp->rtt_seq = seq;
		tp->rtt_stamp_us = ns_now_us();
	}
}

/*
 * tcp_write_xmit: send new data within cwnd, the peer's window and
 * Nagle/cork; then the FIN if one is due.  @push_one: at most one segment
 * (a window probe).
 */
void tcp_write_xmit(struct tcp_sock *tp, bool push_one)
{
	struct sock *sk = tp->sk;
	uint32_t mss;
	bool sent = false;
	int err = 0;

	if (!tcp_can_send_data(tp))
		return;
	tcp_update_write_seq(tp);
	if (tp->reset_pending)
		return;
	mss = tcp_current_mss(tp);
	tp->ack_limited = false;
	/* tcp_is_cwnd_limited: still true in slow start while half the window is used. */
	tp->cwnd_limited = tp->snd_cwnd < tp->snd_ssthresh &&
			   2 * tcp_packets_in_flight(tp) >= tp->snd_cwnd;
	while (before(tp->snd_nxt, tp->write_seq)) {
		uint32_t unsent = tp->write_seq - tp->snd_nxt;
		uint32_t wnd_end = tp->snd_una + tp->snd_wnd;
		uint32_t len = unsent < mss ? unsent : mss;
		uint8_t flags = TCPHDR_ACK;
		bool more;

		if (tcp_packets_in_flight(tp) >= tp->snd_cwnd) {
			tp->cwnd_limited = true;
			tp->ack_limited = true;
			break;
		}
		if (!before(tp->snd_nxt, wnd_end)) {
			tp->ack_limited = true;
			break;
		}
		if (len > wnd_end - tp->snd_nxt) {
			len = wnd_end - tp->snd_nxt;
			/* Sender SWS avoidance (RFC 9293 §3.8.6.2.1). */
			if (len < mss && len < tp->max_window / 2 && tp->snd_una != tp->snd_nxt) {
				tp->ack_limited = true;
				break;
			}
		}
		if (len < mss && len == unsent && !tp->force_push) {
			more = sk->shm && atomic_load_explicit(&sk->shm->tx_more, memory_order_relaxed);
			if (tp->cork || more) {
				/* Corked: wait for a full segment, at most the 200 ms cork timer. */
				if (!timer_pending(&tp->delack_timer))
					mod_timer(&tp->delack_timer, ns_jiffies() + TCP_DELACK_MAX);
				break;
			}
			/* Nagle (RFC 896): one small segment in flight at a time. */
			if (!tp->nodelay && tp->snd_una != tp->snd_nxt && !tp->fin_pending)
				break;
		}
		if (tp->fin_pending && tp->snd_nxt + len == tp->write_seq)
			flags |= TCPHDR_FIN;
		if (tp->snd_nxt + len == tp->write_seq)
			flags |= TCPHDR_PSH;
		err = tcp_transmit_skb(tp, tp->snd_nxt, len, flags);
		if (err == -EMSGSIZE && len > tcp_current_mss(tp)) {
			/* The path MTU fell under us (tcp_sync_mss): again, smaller. */
			mss = tcp_current_mss(tp);
			continue;
		}
		if (err < 0)
			break;
		tcp_start_rtt(tp, tp->snd_nxt);
		tp->snd_nxt += len;
		tp->bytes_sent += len;
		tp->data_segs_out++;
		if (flags & TCPHDR_FIN) {
			tp->snd_nxt++;
			tp->fin_sent = true;
		}
		tp->lsndtime = ns_jiffies();
		sent = true;
		/* The RTO, or a tail loss probe before it (tcp_rearm_rto). */
		if (!timer_pending(&tp->retransmit_timer) || tp->pending == ICSK_TIME_PROBE0)
			tcp_rearm_rto(tp);
		if (push_one)
			break;
	}
	tp->force_push = false;
	if (tp->fin_pending && !tp->fin_sent && tp->snd_nxt == tp->write_seq) {
		if (tcp_transmit_skb(tp, tp->snd_nxt, 0, TCPHDR_ACK | TCPHDR_FIN) == 0) {
			tp->snd_nxt++;
			tp->fin_sent = true;
			sent = true;
			if (!timer_pending(&tp->retransmit_timer) || tp->pending == ICSK_TIME_PROBE0)
				tcp_reset_xmit_timer(tp, ICSK_TIME_RETRANS, tp->rto);
		}
	}
	/*
	 * Zero window with nothing in flight: the persist timer probes it.
	 * So it does after a local drop (the qdisc full: -ENOBUFS) with
	 * nothing in flight, which no ACK would resume (tcp_check_probe_timer).
	 */
	if (!sent && tp->snd_una == tp->snd_nxt && before(tp->snd_nxt, tp->write_seq) &&
	    !timer_pending(&tp->retransmit_timer) &&
	    (err == -ENOBUFS || !before(tp->snd_nxt, tp->snd_una + tp->snd_wnd)))
		tcp_reset_xmit_timer(tp, ICSK_TIME_PROBE0, tp->rto);
}

/*
 * The doorbell protocol for the tx ring.  The client need not ring only
 * while new bytes could not go out before the next ACK anyway: data is in
 * flight and the last tcp_write_xmit stopped at cwnd or the peer's window,
 * so the ACK that opens them brings us back to the ring.  Otherwise (all
 * of the ring sent, or held back by Nagle or cork, which more bytes
 * lift) ask for the doorbell: the next ACK may be a delayed one, 40 ms or
 * more away, and the kernel's tcp_sendmsg would push those bytes at once.
 * Asking is an RMW paired with the client's, then one more look.
 */
void tcp_check_kick(struct tcp_sock *tp)
{
	struct ns_sock_shm *shm = tp->sk->shm;

	if (!shm || tp->orphan)
		return;
	for (int round = 0; round < 4; round++) {
		if (tp->snd_una != tp->snd_nxt && tp->state != TCP_SYN_SENT && tp->ack_limited) {
			atomic_store_explicit(&shm->need_kick, 0, memory_order_relaxed);
			return;
		}
		atomic_exchange_explicit(&shm->need_kick, 1, memory_order_seq_cst);
		if (atomic_load_explicit(&shm->tx.prod, memory_order_seq_cst) == tp->tx_seen ||
		    !tcp_can_send_data(tp))
			return;
		atomic_store_explicit(&shm->need_kick, 0, memory_order_relaxed);
		tcp_write_xmit(tp, false);
	}
}

void tcp_push_pending(struct tcp_sock *tp)
{
	tcp_write_xmit(tp, false);
	if (tp->reset_pending) {
		tcp_send_active_reset(tp);
		tcp_reset(tp, ECONNRESET);
		return;
	}
	tcp_check_kick(tp);
}

/*
 * The client consumed from rx: send a window update if the window could
 * double (the kernel's __tcp_cleanup_rbuf rule).
 */
void tcp_rcv_space_check(struct tcp_sock *tp)
{
	uint32_t now_wnd, free;

	if (tp->state == TCP_CLOSE || tp->state == TCP_LISTEN || tp->state == TCP_SYN_SENT ||
	    tp->fin_rcvd)
		return;
	now_wnd = tp->rcv_wup + tp->rcv_wnd - tp->rcv_nxt;
	if ((int32_t)now_wnd < 0)
		now_wnd = 0;
	if (now_wnd * 2 > tp->rcv_space)
		return;
	for (int round = 0; round < 2; round++) {
		free = tcp_rx_free(tp);
		if (free >= 2 * now_wnd && free - now_wnd >= mss_or(tp)) {
			tcp_send_ack(tp);
			return;
		}
		/*
		 * Not enough room yet: ask the client to ring again when it
		 * consumes more (it took the flag to ring this time), then look
		 * once more (the RMW pair of shm.h).
		 */
		if (!tp->sk->shm)
			return;
		atomic_exchange_explicit(&tp->sk->shm->rx_kick, 1, memory_order_seq_cst);
	}
}

/* ---- retransmission ---- */

int tcp_retransmit_skb(struct tcp_sock *tp, uint32_t seq, uint32_t max_len)
{
	uint32_t len, data = 0;
	uint8_t flags = TCPHDR_ACK;
	int err;

	if (tp->state == TCP_SYN_SENT)
		return tcp_send_syn(tp);
	if (tp->state == TCP_SYN_RECV && seq == tp->iss)
		return tcp_send_synack(tp);
	if (!before(seq, tp->snd_nxt) || before(seq, tp->snd_una))
		return -1;
	len = tp->snd_nxt - seq;
	if (len > max_len)
		len = max_len;
	if (before(seq, tp->write_seq)) {
		data = tp->write_seq - seq;
		if (data > len)
			data = len;
	}
	if (tp->fin_sent && seq + data == tp->write_seq && data < tp->snd_nxt - seq)
		flags |= TCPHDR_FIN;
	if (!data && !(flags & TCPHDR_FIN))
		return -1;
	if (data)
		flags |= TCPHDR_PSH;
	err = tcp_transmit_skb(tp, seq, data, flags);
	if (err < 0)
		return err;
	TCP_INC_STATS(RETRANSSEGS);
	tp->total_retrans++;
	tp->bytes_retrans += data;
	if (tp->rtt_timing && !before(tp->rtt_seq, seq))
		tp->rtt_timing = false;         /* Karn: no sample from retransmitted data */
	if (!tp->retrans_stamp)
		tp->retrans_stamp = ns_jiffies();
	if (tp->undo_valid) {
		tp->undo_retrans++;
		tp->undo_had_retrans = true;
		if (!tp->undo_ts_set && tp->tstamp_ok) {
			tp->undo_tsval = tcp_time_stamp(tp);
			tp->undo_ts_set = true;
		}
	}
	return 0;
}

/* ---- control segments ---- */

void tcp_send_ack(struct tcp_sock *tp)
{
	if (tp->state == TCP_CLOSE || tp->state == TCP_LISTEN || tp->state == TCP_SYN_SENT)
		return;
	(void)tcp_transmit_skb(tp, tp->snd_nxt, 0, TCPHDR_ACK);
}

void tcp_send_delayed_ack(struct tcp_sock *tp)
{
	uint32_t ato = tp->ato ? tp->ato : (uint32_t)sysctl_read(&sysctl_tcp_delack_min_ms);

	tp->ack_pending |= ICSK_ACK_TIMER;
	if (!timer_pending(&tp->delack_timer)) {
		NET_INC_STATS(DELAYEDACKS);
		mod_timer(&tp->delack_timer, ns_jiffies() + ato);
	}
}

void tcp_send_fin(struct tcp_sock *tp)
{
	tp->fin_pending = true;
	tcp_push_pending(tp);
}

void tcp_send_active_reset(struct tcp_sock *tp)
{
	if (tp->state == TCP_CLOSE || tp->state == TCP_LISTEN || tp->state == TCP_SYN_SENT)
		return;
	(void)tcp_transmit_skb(tp, tp->snd_nxt, 0, TCPHDR_RST | TCPHDR_ACK);
}

int tcp_send_syn(struct tcp_sock *tp)
{
	int err;

	tp->snd_una = tp->iss;
	tp->snd_nxt = tp->iss + 1;
	tp->write_seq = tp->iss + 1;
	err = tcp_transmit_skb(tp, tp->iss, 0, TCPHDR_SYN);
	if (!tp->retransmits)
		tcp_start_rtt(tp, tp->iss);
	else
		tp->rtt_timing = false;
	tcp_reset_xmit_timer(tp, ICSK_TIME_RETRANS, tp->rto);
	return err;
}

int tcp_send_synack(struct tcp_sock *tp)
{
	if (!tp->retransmits)
		tcp_start_rtt(tp, tp->iss);
	return tcp_transmit_skb(tp, tp->iss, 0, TCPHDR_SYN | TCPHDR_ACK);
}

/* tcp_write_wakeup: a window probe, with new data if the window allows. */
int tcp_write_wakeup(struct tcp_sock *tp)
{
	if (tp->state == TCP_CLOSE)
		return -1;
	tcp_update_write_seq(tp);
	if (before(tp->snd_nxt, tp->write_seq) &&
	    before(tp->snd_nxt, tp->snd_una + tp->snd_wnd)) {
		uint32_t before_nxt = tp->snd_nxt;

		tp->force_push = true;
		tcp_write_xmit(tp, true);
		if (tp->snd_nxt != before_nxt)
			return 0;
	}
	/* An old sequence number forces the peer to answer with its window. */
	return tcp_transmit_skb(tp, tp->snd_una - 1, 0, TCPHDR_ACK);
}

void tcp_send_probe0(struct tcp_sock *tp)
{
	NET_INC_STATS(TCPWINPROBE);
	(void)tcp_write_wakeup(tp);
}
