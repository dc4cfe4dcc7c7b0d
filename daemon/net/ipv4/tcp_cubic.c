/*
 * CUBIC congestion control (RFC 9438), the kernel's default: after a loss
 * the window follows W(t) = C (t - K)^3 + W_max, concave up to the last
 * maximum and convex beyond it, never slower than the Reno-friendly
 * estimate W_est.  beta_cubic 0.7, C 0.4, fast convergence on.  State
 * lives in tp->ca_priv.  Time in seconds as doubles: the arithmetic runs
 * once per ACK and clarity beats the kernel's fixed-point tricks here.
 */
#include <string.h>

#include "core/clock.h"
#include "net/ipv4/tcp.h"

#define CUBIC_BETA 0.7
#define CUBIC_C 0.4

struct cubic {
	double w_max;                   /* window before the last reduction (segments) */
	double w_last_max;
	double k;                       /* seconds to reach w_max again */
	double w_est;                   /* Reno-friendly window */
	uint64_t epoch_start_us;        /* start of this congestion-avoidance epoch; 0 = none */
	double cwnd_frac;               /* fractional growth carried between ACKs */
};

_Static_assert(sizeof(struct cubic) <= TCP_CA_PRIV_SIZE, "cubic state fits ca_priv");

static struct cubic *cubic_of(struct tcp_sock *tp)
{
	return (struct cubic *)tp->ca_priv;
}

/* Cube root by Newton's method (x >= 0). */
static double cbrt_pos(double x)
{
	double r = x > 1.0 ? x / 3.0 : 1.0;

	if (x <= 0.0)
		return 0.0;
	for (int i = 0; i < 60; i++) {
		double n = r - (r * r * r - x) / (3.0 * r * r);

		if (n == r)
			break;
		r = n;
	}
	return r;
}

static void cubic_init(struct tcp_sock *tp)
{
	memset(cubic_of(tp), 0, sizeof(struct cubic));
}

static void cubic_reset_epoch(struct cubic *c)
{
	c->epoch_start_us = 0;
}

static uint32_t cubic_ssthresh(struct tcp_sock *tp)
{
	struct cubic *c = cubic_of(tp);
	double cwnd = (double)tp->snd_cwnd;
	double ss;

	cubic_reset_epoch(c);
	/* RFC 9438 §4.7 fast convergence. */
	if (cwnd < c->w_last_max)
		c->w_max = cwnd * (1.0 + CUBIC_BETA) / 2.0;
	else
		c->w_max = cwnd;
	c->w_last_max = cwnd;
	ss = cwnd * CUBIC_BETA;
	return ss < 2.0 ? 2u : (uint32_t)ss;
}

static void cubic_cong_avoid(struct tcp_sock *tp, uint32_t ack, uint32_t acked)
{
	struct cubic *c = cubic_of(tp);
	uint64_t now = ns_now_us();
	double t, target, cwnd, rtt;

	(void)ack;
	if (tp->snd_cwnd < tp->snd_ssthresh) {
		acked = tcp_slow_start(tp, acked);
		if (!acked)
			return;
	}
	cwnd = (double)tp->snd_cwnd;
	if (!c->epoch_start_us) {
		c->epoch_start_us = now;
		if (c->w_max <= cwnd) {
			c->k = 0.0;
			c->w_max = cwnd;
		} else {
			c->k = cbrt_pos((c->w_max - cwnd) / CUBIC_C);
		}
		c->w_est = cwnd;
		c->cwnd_frac = 0.0;
	}
	rtt = tp->srtt_us ? (double)(tp->srtt_us >> 3) / 1e6 : 0.1;
	t = (double)(now - c->epoch_start_us) / 1e6 + rtt;
	target = CUBIC_C * (t - c->k) * (t - c->k) * (t - c->k) + c->w_max;
	/* §4.3 Reno-friendly region: alpha = 3 (1 - beta) / (1 + beta). */
	c->w_est += 3.0 * (1.0 - CUBIC_BETA) / (1.0 + CUBIC_BETA) * (double)acked / cwnd;
	if (c->w_est > target)
		target = c->w_est;
	if (target > 1.5 * cwnd)
		target = 1.5 * cwnd;    /* §4.4: at most half a window per RTT */
	if (target > cwnd) {
		c->cwnd_frac += (target - cwnd) / cwnd * (double)acked;
	} else {
		c->cwnd_frac += (double)acked / (100.0 * cwnd);  /* TCP-friendly crawl */
	}
	if (c->cwnd_frac >= 1.0) {
		uint32_t inc = (uint32_t)c->cwnd_frac;

		tp->snd_cwnd += inc;
		c->cwnd_frac -= inc;
	}
}

static void cubic_set_state(struct tcp_sock *tp, uint8_t new_state)
{
	if (new_state == TCP_CA_Loss) {
		cubic_reset_epoch(cubic_of(tp));
	}
}

static uint32_t cubic_undo_cwnd(struct tcp_sock *tp)
{
	return tcp_reno_undo_cwnd(tp);
}

struct tcp_congestion_ops cubictcp = {
	.name = "cubic",
	.init = cubic_init,
	.ssthresh = cubic_ssthresh,
	.cong_avoid = cubic_cong_avoid,
	.set_state = cubic_set_state,
	.undo_cwnd = cubic_undo_cwnd,
};
