/*
 * TCP timers (the kernel's tcp_timer.c) on the owner worker's timer wheel:
 * three timer_lists per socket and no scan over sockets.
 *   retransmit_timer  RTO (RFC 6298 §5, exponential backoff, Karn) or the
 *                     zero-window probe (persist), by tp->pending
 *   delack_timer      delayed ACK; also the 200 ms cork limit
 *   keepalive_timer   keepalive probes, SYN-ACK retransmits of a child,
 *                     FIN_WAIT2 of an orphan and TIME_WAIT (2MSL)
 */
#include <errno.h>
#include <stddef.h>

#include "core/clock.h"
#include "core/sysctl.h"
#include "net/ipv4/tcp.h"

#define tp_of(t, field) ((struct tcp_sock *)((char *)(t) - offsetof(struct tcp_sock, field)))

void tcp_reset_xmit_timer(struct tcp_sock *tp, uint8_t what, uint32_t when_ms)
{
	if (when_ms > TCP_RTO_MAX)
		when_ms = TCP_RTO_MAX;
	tp->pending = what;
	mod_timer(&tp->retransmit_timer, ns_jiffies() + when_ms);
}

void tcp_clear_xmit_timer(struct tcp_sock *tp)
{
	tp->pending = 0;
	if (timer_pending(&tp->retransmit_timer))
		del_timer(&tp->retransmit_timer);
}

/* After an ACK: restart the RTO if data is outstanding, else stop it. */
/*
 * Arm a tail loss probe instead of the RTO (tcp_schedule_loss_probe, RFC
 * 8985 §7.2): in Open state with SACK and an RTT estimate, no probe
 * outstanding; PTO = 2 SRTT, at least 10 ms, with room for a delayed ACK
 * when a single segment is in flight, and only if it comes before the RTO.
 */
static bool tcp_schedule_loss_probe(struct tcp_sock *tp)
{
	uint32_t srtt_ms = (tp->srtt_us >> 3) / 1000u, pto;
	uint32_t mss = tcp_current_mss(tp);

	if (tp->state != TCP_ESTABLISHED || !tp->sack_ok || !tp->srtt_us ||
	    tp->ca_state != TCP_CA_Open || tp->tlp_high_seq || tp->orphan)
		return false;
	pto = 2 * srtt_ms;
	if (pto < 10)
		pto = 10;
	if (tp->snd_nxt - tp->snd_una <= mss) {
		uint32_t one = srtt_ms + srtt_ms / 2 + 200;     /* + TCP_DELACK_MAX */

		if (pto < one)
			pto = one;
	}
	if (pto >= tp->rto)
		return false;
	tcp_reset_xmit_timer(tp, ICSK_TIME_LOSS_PROBE, pto);
	return true;
}

void tcp_rearm_rto(struct tcp_sock *tp)
{
	if (tp->snd_una == tp->snd_nxt) {
		if (tp->pending == ICSK_TIME_RETRANS || tp->pending == ICSK_TIME_LOSS_PROBE)
			tcp_clear_xmit_timer(tp);
		return;
	}
	if (tcp_schedule_loss_probe(tp))
		return;
	tcp_reset_xmit_timer(tp, ICSK_TIME_RETRANS, tp->rto);
}

void tcp_reset_keepalive_timer(struct tcp_sock *tp, uint32_t when_ms)
{
	mod_timer(&tp->keepalive_timer, ns_jiffies() + when_ms);
}

void tcp_delete_keepalive_timer(struct tcp_sock *tp)
{
	if (timer_pending(&tp->keepalive_timer))
		del_timer(&tp->keepalive_timer);
}

uint32_t keepalive_time_when(const struct tcp_sock *tp)
{
	return (uint32_t)(tp->keepidle ? tp->keepidle : sysctl_read(&sysctl_tcp_keepalive_time)) *
	       1000u;
}

static uint32_t keepalive_intvl_when(const struct tcp_sock *tp)
{
	return (uint32_t)(tp->keepintvl ? tp->keepintvl
					: sysctl_read(&sysctl_tcp_keepalive_intvl)) * 1000u;
}

static uint32_t keepalive_probes(const struct tcp_sock *tp)
{
	return (uint32_t)(tp->keepcnt ? tp->keepcnt : sysctl_read(&sysctl_tcp_keepalive_probes));
}

/* Enter TIME_WAIT (or a timed close of an orphan's FIN_WAIT2). */
void tcp_time_wait(struct tcp_sock *tp, int state, uint32_t timeo_ms)
{
	if (!timeo_ms)
		timeo_ms = (uint32_t)sysctl_read(&sysctl_tcp_timewait_len) * 1000u;
	if (state == TCP_TIME_WAIT && tp->state != TCP_TIME_WAIT)
		NET_INC_STATS(TCPTIMEWAITS);
	tcp_set_state(tp, state);
	tcp_clear_xmit_timer(tp);
	if (timer_pending(&tp->delack_timer))
		del_timer(&tp->delack_timer);
	tcp_reset_keepalive_timer(tp, timeo_ms);
}

/* tcp_write_timeout: give up after too many retransmissions? */
static bool tcp_write_timeout(struct tcp_sock *tp)
{
	uint32_t limit;

	if (tp->state == TCP_SYN_SENT)
		limit = (uint32_t)(tp->syn_retries ? tp->syn_retries
						   : sysctl_read(&sysctl_tcp_syn_retries));
	else
		limit = (uint32_t)sysctl_read(&sysctl_tcp_retries2);
	if (tp->user_timeout && tp->retrans_stamp &&
	    ns_jiffies() - tp->retrans_stamp >= tp->user_timeout)
		goto timeout;
	if (tp->retransmits < limit)
		return false;
timeout:
	NET_INC_STATS(TCPABORTONTIMEOUT);
	tcp_reset(tp, tp->soft_err ? tp->soft_err : ETIMEDOUT);
	return true;
}

static void tcp_retransmit_timer(struct tcp_sock *tp)
{
	if (tp->snd_una == tp->snd_nxt)
		return;
	if (tcp_write_timeout(tp))
		return;
	NET_INC_STATS(TCPTIMEOUTS);
	if (tp->state != TCP_SYN_SENT && tp->state != TCP_SYN_RECV)
		tcp_enter_loss(tp);
	tp->retransmits++;
	tp->backoff++;
	tp->rto = tp->rto * 2 > TCP_RTO_MAX ? TCP_RTO_MAX : tp->rto * 2;
	if (tp->state == TCP_SYN_SENT) {
		(void)tcp_send_syn(tp);
		return;
	}
	if (tcp_retransmit_skb(tp, tp->snd_una, tcp_current_mss(tp)) == 0) {
		NET_INC_STATS(TCPSLOWSTARTRETRANS);
		tp->retran_hi = tp->snd_una + tcp_current_mss(tp);
		if (after(tp->retran_hi, tp->snd_nxt))
			tp->retran_hi = tp->snd_nxt;
	}
	tcp_reset_xmit_timer(tp, ICSK_TIME_RETRANS, tp->rto);
}

/*
 * The PTO fired (tcp_send_loss_probe): send the last segment again so
 * that its ACK (with SACK) reveals any loss at the tail, then the RTO.
 */
static void tcp_send_loss_probe(struct tcp_sock *tp)
{
	uint32_t mss = tcp_current_mss(tp);
	uint32_t len = tp->snd_nxt - tp->snd_una < mss ? tp->snd_nxt - tp->snd_una : mss;

	if (tp->snd_una == tp->snd_nxt)
		return;
	if (tp->ca_state == TCP_CA_Open) {
		tp->undo_valid = false;         /* the probe is no retransmission to undo */
		if (tcp_retransmit_skb(tp, tp->snd_nxt - len, len) == 0) {
			NET_INC_STATS(TCPLOSSPROBES);
			tp->tlp_high_seq = tp->snd_nxt;
			tp->tlp_dsacked = false;
			tp->tlp_tsval = tcp_time_stamp(tp);
		}
	}
	tcp_reset_xmit_timer(tp, ICSK_TIME_RETRANS, tp->rto);
}

static void tcp_probe_timer(struct tcp_sock *tp)
{
	if (tp->snd_una != tp->snd_nxt || !tcp_tx_has_unsent(tp)) {
		tp->probes_out = 0;
		return;
	}
	if (tp->probes_out >= (uint8_t)sysctl_read(&sysctl_tcp_retries2)) {
		NET_INC_STATS(TCPABORTONTIMEOUT);
		tcp_reset(tp, ETIMEDOUT);
		return;
	}
	tcp_send_probe0(tp);
	tp->probes_out++;
	tp->backoff++;
	if (tp->snd_una == tp->snd_nxt) {
		uint32_t when = tp->rto << (tp->backoff < 10 ? tp->backoff : 10);

		tcp_reset_xmit_timer(tp, ICSK_TIME_PROBE0, when);
	}
}

static void tcp_write_timer(struct timer_list *t)
{
	tcp_write_timer_expire(tp_of(t, retransmit_timer));
}

void tcp_write_timer_expire(struct tcp_sock *tp)
{
	uint8_t what = tp->pending;

	tp->pending = 0;
	if (tp->state == TCP_CLOSE || tp->state == TCP_LISTEN)
		return;
	if (what == ICSK_TIME_PROBE0)
		tcp_probe_timer(tp);
	else if (what == ICSK_TIME_LOSS_PROBE)
		tcp_send_loss_probe(tp);
	else
		tcp_retransmit_timer(tp);
	if (tp->state != TCP_CLOSE)
		tcp_check_kick(tp);
}

static void tcp_delack_timer(struct timer_list *t)
{
	struct tcp_sock *tp = tp_of(t, delack_timer);

	if (tp->state == TCP_CLOSE || tp->state == TCP_LISTEN)
		return;
	if (tp->ack_pending & ICSK_ACK_SCHED) {
		tp->quick = 1;          /* a delayed ACK fired: the peer waits, ACK faster */
		tcp_send_ack(tp);
	}
	if (tcp_tx_has_unsent(tp)) {
		tp->force_push = true;  /* cork or MSG_MORE held data for 200 ms */
		tcp_push_pending(tp);
	}
}

static void tcp_keepalive_timer(struct timer_list *t)
{
	struct tcp_sock *tp = tp_of(t, keepalive_timer);
	uint64_t idle;

	switch (tp->state) {
	case TCP_TIME_WAIT:
	case TCP_FIN_WAIT2:
		/* 2MSL over, or an orphan's FIN_WAIT2 timed out. */
		tcp_done(tp);
		return;
	case TCP_SYN_RECV:
		/* Our SYN-ACK went unanswered. */
		if (tp->retransmits >= (uint8_t)sysctl_read(&sysctl_tcp_synack_retries)) {
			tcp_done(tp);
			return;
		}
		tp->retransmits++;
		tp->rto = tp->rto * 2 > TCP_RTO_MAX ? TCP_RTO_MAX : tp->rto * 2;
		TCP_INC_STATS(RETRANSSEGS);
		tp->total_retrans++;
		(void)tcp_send_synack(tp);
		tcp_reset_keepalive_timer(tp, tp->rto);
		return;
	case TCP_CLOSE:
	case TCP_LISTEN:
	case TCP_SYN_SENT:
		return;
	default:
		break;
	}
	if (!tp->sk->keepalive)
		return;
	if (tp->snd_una != tp->snd_nxt || tcp_tx_has_unsent(tp)) {
		/* Data outstanding: the retransmit timer watches the peer. */
		tcp_reset_keepalive_timer(tp, keepalive_time_when(tp));
		return;
	}
	idle = ns_jiffies() - (tp->rcv_tstamp > tp->lrcvtime ? tp->rcv_tstamp : tp->lrcvtime);
	if (idle >= keepalive_time_when(tp)) {
		if (tp->probes_out >= keepalive_probes(tp)) {
			NET_INC_STATS(TCPABORTONTIMEOUT);
			tcp_reset(tp, tp->soft_err ? tp->soft_err : ETIMEDOUT);
			return;
		}
		NET_INC_STATS(TCPKEEPALIVE);
		(void)tcp_write_wakeup(tp);
		tp->probes_out++;
		tcp_reset_keepalive_timer(tp, keepalive_intvl_when(tp));
		return;
	}
	tcp_reset_keepalive_timer(tp, keepalive_time_when(tp) - (uint32_t)idle);
}

void tcp_init_xmit_timers(struct tcp_sock *tp)
{
	timer_setup(&tp->retransmit_timer, tcp_write_timer);
	timer_setup(&tp->delack_timer, tcp_delack_timer);
	timer_setup(&tp->keepalive_timer, tcp_keepalive_timer);
}

void tcp_clear_xmit_timers(struct tcp_sock *tp)
{
	tcp_clear_xmit_timer(tp);
	if (timer_pending(&tp->delack_timer))
		del_timer(&tp->delack_timer);
	tcp_delete_keepalive_timer(tp);
}
