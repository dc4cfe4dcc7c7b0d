/*
 * Pluggable congestion control (the kernel's tcp_cong.c): a registry of
 * algorithms by name, the default chosen with
 * net.ipv4.tcp_congestion_control, per-socket choice with TCP_CONGESTION,
 * and Reno (RFC 5681) as the built-in fallback.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "net/ipv4/tcp.h"

static struct tcp_congestion_ops *ca_list;
static _Atomic(const struct tcp_congestion_ops *) ca_default;

int tcp_register_congestion_control(struct tcp_congestion_ops *ca)
{
	if (!ca->ssthresh || !ca->cong_avoid || !ca->name)
		return -EINVAL;
	if (tcp_ca_find(ca->name))
		return -EEXIST;
	ca->next = ca_list;
	ca_list = ca;
	return 0;
}

const struct tcp_congestion_ops *tcp_ca_find(const char *name)
{
	for (const struct tcp_congestion_ops *ca = ca_list; ca; ca = ca->next)
		if (strcmp(ca->name, name) == 0)
			return ca;
	return NULL;
}

const char *tcp_default_ca_name(void)
{
	const struct tcp_congestion_ops *ca = atomic_load(&ca_default);

	return ca ? ca->name : "reno";
}

int tcp_set_default_ca(const char *name)
{
	const struct tcp_congestion_ops *ca = tcp_ca_find(name);

	if (!ca)
		return -ENOENT;
	atomic_store(&ca_default, ca);
	return 0;
}

void tcp_ca_names(char *buf, size_t len)
{
	size_t off = 0;

	if (len)
		buf[0] = '\0';
	for (const struct tcp_congestion_ops *ca = ca_list; ca && off < len; ca = ca->next)
		off += (size_t)snprintf(buf + off, len - off, "%s%s", off ? " " : "", ca->name);
}

void tcp_init_congestion_control(struct tcp_sock *tp)
{
	if (!tp->ca_ops) {
		tp->ca_ops = atomic_load(&ca_default);
		if (!tp->ca_ops)
			tp->ca_ops = &tcp_reno;
	}
	memset(tp->ca_priv, 0, sizeof(tp->ca_priv));
	if (tp->ca_ops->init)
		tp->ca_ops->init(tp);
}

int tcp_set_congestion_control(struct tcp_sock *tp, const char *name)
{
	const struct tcp_congestion_ops *ca = tcp_ca_find(name);

	if (!ca)
		return -ENOENT;
	tp->ca_ops = ca;
	memset(tp->ca_priv, 0, sizeof(tp->ca_priv));
	if (ca->init)
		ca->init(tp);
	return 0;
}

void tcp_set_ca_state(struct tcp_sock *tp, uint8_t ca_state)
{
	if (tp->ca_ops->set_state)
		tp->ca_ops->set_state(tp, ca_state);
	tp->ca_state = ca_state;
}

/* RFC 5681 §3.1 slow start: cwnd grows by the segments acked, up to ssthresh. */
uint32_t tcp_slow_start(struct tcp_sock *tp, uint32_t acked)
{
	uint32_t cwnd = tp->snd_cwnd + acked;

	if (cwnd > tp->snd_ssthresh)
		cwnd = tp->snd_ssthresh;
	acked -= cwnd - tp->snd_cwnd;
	tp->snd_cwnd = cwnd;
	return acked;
}

/* Congestion avoidance: one segment per @w segments acked. */
void tcp_cong_avoid_ai(struct tcp_sock *tp, uint32_t w, uint32_t acked)
{
	if (!w)
		w = 1;
	if (tp->snd_cwnd_cnt >= w) {
		tp->snd_cwnd_cnt = 0;
		tp->snd_cwnd++;
	}
	tp->snd_cwnd_cnt += acked;
	if (tp->snd_cwnd_cnt >= w) {
		uint32_t delta = tp->snd_cwnd_cnt / w;

		tp->snd_cwnd_cnt -= delta * w;
		tp->snd_cwnd += delta;
	}
}

void tcp_reno_cong_avoid(struct tcp_sock *tp, uint32_t ack, uint32_t acked)
{
	(void)ack;
	if (tp->snd_cwnd < tp->snd_ssthresh) {
		acked = tcp_slow_start(tp, acked);
		if (!acked)
			return;
	}
	tcp_cong_avoid_ai(tp, tp->snd_cwnd, acked);
}

/* RFC 5681 (4): ssthresh = max(FlightSize / 2, 2 * SMSS). */
uint32_t tcp_reno_ssthresh(struct tcp_sock *tp)
{
	return tp->snd_cwnd / 2 > 2 ? tp->snd_cwnd / 2 : 2;
}

uint32_t tcp_reno_undo_cwnd(struct tcp_sock *tp)
{
	return tp->snd_cwnd > tp->prior_cwnd ? tp->snd_cwnd : tp->prior_cwnd;
}

struct tcp_congestion_ops tcp_reno = {
	.name = "reno",
	.ssthresh = tcp_reno_ssthresh,
	.cong_avoid = tcp_reno_cong_avoid,
	.undo_cwnd = tcp_reno_undo_cwnd,
};
