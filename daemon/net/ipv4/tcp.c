/*
 * TCP sockets (the kernel's tcp.c and inet_connection_sock.c): the
 * SOCK_STREAM operations (bind, listen, connect, accept, shutdown, close,
 * options including TCP_INFO), the doorbell handler, the per-socket
 * allocation and teardown, the net.ipv4.tcp_* sysctls and the Tcp/TcpExt
 * MIB names.  See tcp.h for the threading and data model.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/debug.h"
#include "core/netdev.h"
#include "core/sysctl.h"
#include "core/trace.h"
#include "net/ipv4/devinet.h"
#include "net/ipv4/ip.h"
#include "net/ipv4/pmtu.h"
#include "net/ipv4/protocol.h"
#include "net/ipv4/route.h"
#include "net/ipv4/snmp.h"
#include "net/ipv4/tcp.h"

/* ---- MIB ---- */

struct tcp_mib tcp_mibs[NS_MAX_WORKERS + 1];

const char *const tcp_mib_names[TCP_MIB_MAX] = {
#define MIB_NAME(n, s) s,
	TCP_MIB_LIST(MIB_NAME)
#undef MIB_NAME
};

const char *const tcpext_mib_names[LINUX_MIB_MAX] = {
#define MIB_NAME(n, s) s,
	TCPEXT_MIB_LIST(MIB_NAME)
#undef MIB_NAME
};

uint64_t snmp_fold_tcp(unsigned int idx)
{
	uint64_t s = 0;

	if (idx >= TCP_MIB_MAX)
		return 0;
	for (int i = 0; i <= NS_MAX_WORKERS; i++)
		s += ns_counter_read(&tcp_mibs[i].tcp[idx]);
	return s;
}

uint64_t snmp_fold_tcpext(unsigned int idx)
{
	uint64_t s = 0;

	if (idx >= LINUX_MIB_MAX)
		return 0;
	for (int i = 0; i <= NS_MAX_WORKERS; i++)
		s += ns_counter_read(&tcp_mibs[i].ext[idx]);
	return s;
}

/* ---- sysctls ---- */

_Atomic int64_t sysctl_tcp_syncookies = 1;
_Atomic int64_t sysctl_tcp_max_syn_backlog = 4096;
_Atomic int64_t sysctl_somaxconn = 4096;
_Atomic int64_t sysctl_tcp_fin_timeout = 60;
_Atomic int64_t sysctl_tcp_timewait_len = 60;
_Atomic int64_t sysctl_tcp_syn_retries = 6, sysctl_tcp_synack_retries = 5;
_Atomic int64_t sysctl_tcp_retries2 = 15;
_Atomic int64_t sysctl_tcp_keepalive_time = 7200, sysctl_tcp_keepalive_intvl = 75,
	sysctl_tcp_keepalive_probes = 9;
_Atomic int64_t sysctl_tcp_sack = 1, sysctl_tcp_timestamps = 1, sysctl_tcp_window_scaling = 1;
_Atomic int64_t sysctl_tcp_rmem_min = 4096, sysctl_tcp_rmem_def = 524288,
	sysctl_tcp_rmem_max = 6291456;
_Atomic int64_t sysctl_tcp_wmem_min = 4096, sysctl_tcp_wmem_def = 262144,
	sysctl_tcp_wmem_max = 4194304;
_Atomic int64_t sysctl_tcp_challenge_ack_limit = 1000;
_Atomic int64_t sysctl_tcp_rto_min_ms = 200;
_Atomic int64_t sysctl_tcp_reordering = 3, sysctl_tcp_max_reordering = 300;
_Atomic int64_t sysctl_tcp_delack_min_ms = 40;

/* Three integers "min default max", each 4096..64 MiB, non-decreasing. */
static int set_triple(_Atomic int64_t *v, const char *name, const char *value, char *err,
		      size_t errlen)
{
	long long a, b, c;
	char tail;

	if (sscanf(value, "%lld %lld %lld %c", &a, &b, &c, &tail) != 3) {
		snprintf(err, errlen, "%s: '%s' is not three integers", name, value);
		return -EINVAL;
	}
	if (a < 4096 || c > (64ll << 20) || a > b || b > c) {
		snprintf(err, errlen, "%s: '%s' must be min <= default <= max within [4096, %lld]",
			 name, value, 64ll << 20);
		return -ERANGE;
	}
	atomic_store(&v[0], a);
	atomic_store(&v[1], b);
	atomic_store(&v[2], c);
	return 0;
}

static _Atomic int64_t tcp_rmem[3] = { 4096, 524288, 6291456 };
static _Atomic int64_t tcp_wmem[3] = { 4096, 262144, 4194304 };

static int rmem_set(const char *value, char *err, size_t errlen)
{
	int rc = set_triple(tcp_rmem, "net.ipv4.tcp_rmem", value, err, errlen);

	if (!rc) {
		atomic_store(&sysctl_tcp_rmem_min, atomic_load(&tcp_rmem[0]));
		atomic_store(&sysctl_tcp_rmem_def, atomic_load(&tcp_rmem[1]));
		atomic_store(&sysctl_tcp_rmem_max, atomic_load(&tcp_rmem[2]));
	}
	return rc;
}

static void rmem_get(char *buf, size_t len)
{
	snprintf(buf, len, "%" PRId64 " %" PRId64 " %" PRId64, sysctl_read(&sysctl_tcp_rmem_min),
		 sysctl_read(&sysctl_tcp_rmem_def), sysctl_read(&sysctl_tcp_rmem_max));
}

static int wmem_set(const char *value, char *err, size_t errlen)
{
	int rc = set_triple(tcp_wmem, "net.ipv4.tcp_wmem", value, err, errlen);

	if (!rc) {
		atomic_store(&sysctl_tcp_wmem_min, atomic_load(&tcp_wmem[0]));
		atomic_store(&sysctl_tcp_wmem_def, atomic_load(&tcp_wmem[1]));
		atomic_store(&sysctl_tcp_wmem_max, atomic_load(&tcp_wmem[2]));
	}
	return rc;
}

static void wmem_get(char *buf, size_t len)
{
	snprintf(buf, len, "%" PRId64 " %" PRId64 " %" PRId64, sysctl_read(&sysctl_tcp_wmem_min),
		 sysctl_read(&sysctl_tcp_wmem_def), sysctl_read(&sysctl_tcp_wmem_max));
}

static int cc_set(const char *value, char *err, size_t errlen)
{
	if (tcp_set_default_ca(value) < 0) {
		char names[128];

		tcp_ca_names(names, sizeof(names));
		snprintf(err, errlen, "net.ipv4.tcp_congestion_control: '%s' is not one of: %s",
			 value, names);
		return -ENOENT;
	}
	return 0;
}

static void cc_get(char *buf, size_t len)
{
	snprintf(buf, len, "%s", tcp_default_ca_name());
}

static const struct ctl_table tcp_table[] = {
	{ "net.ipv4.tcp_syncookies", &sysctl_tcp_syncookies, 0, 2, 1,
	  "answer SYNs with SYN cookies when a listener's SYN queue overflows (0 never)" },
	{ "net.ipv4.tcp_max_syn_backlog", &sysctl_tcp_max_syn_backlog, 8, 1 << 20, 4096,
	  "half-open connections a listener keeps before SYN cookies" },
	{ "net.core.somaxconn", &sysctl_somaxconn, 1, 1 << 20, 4096,
	  "largest listen() backlog" },
	{ "net.ipv4.tcp_fin_timeout", &sysctl_tcp_fin_timeout, 1, 3600, 60,
	  "seconds a closed socket waits in FIN_WAIT2 for the peer's FIN" },
	{ "net.ipv4.tcp_timewait_len", &sysctl_tcp_timewait_len, 1, 3600, 60,
	  "seconds in TIME_WAIT (2MSL; the kernel's fixed TCP_TIMEWAIT_LEN)" },
	{ "net.ipv4.tcp_syn_retries", &sysctl_tcp_syn_retries, 1, 127, 6,
	  "SYN retransmissions before connect() fails with ETIMEDOUT" },
	{ "net.ipv4.tcp_synack_retries", &sysctl_tcp_synack_retries, 1, 127, 5,
	  "SYN-ACK retransmissions before a half-open connection is dropped" },
	{ "net.ipv4.tcp_retries2", &sysctl_tcp_retries2, 1, 127, 15,
	  "retransmissions (or window probes) before an established connection times out" },
	{ "net.ipv4.tcp_keepalive_time", &sysctl_tcp_keepalive_time, 1, 32767, 7200,
	  "seconds of idleness before the first keepalive probe (SO_KEEPALIVE)" },
	{ "net.ipv4.tcp_keepalive_intvl", &sysctl_tcp_keepalive_intvl, 1, 32767, 75,
	  "seconds between keepalive probes" },
	{ "net.ipv4.tcp_keepalive_probes", &sysctl_tcp_keepalive_probes, 1, 127, 9,
	  "unanswered keepalive probes before the connection is dropped" },
	{ "net.ipv4.tcp_sack", &sysctl_tcp_sack, 0, 1, 1, "offer and accept SACK (RFC 2018)" },
	{ "net.ipv4.tcp_timestamps", &sysctl_tcp_timestamps, 0, 1, 1,
	  "offer and accept timestamps (RFC 7323)" },
	{ "net.ipv4.tcp_window_scaling", &sysctl_tcp_window_scaling, 0, 1, 1,
	  "offer and accept window scaling (RFC 7323)" },
	{ "net.ipv4.tcp_challenge_ack_limit", &sysctl_tcp_challenge_ack_limit, 1, 1 << 30, 1000,
	  "challenge ACKs (RFC 5961) per second per worker" },
	{ "net.ipv4.tcp_rto_min_ms", &sysctl_tcp_rto_min_ms, 1, 120000, 200,
	  "lowest retransmission timeout in ms (the kernel's TCP_RTO_MIN)" },
	{ "net.ipv4.tcp_reordering", &sysctl_tcp_reordering, 1, 300, 3,
	  "initial reordering degree of a path: duplicate ACKs or SACKed segments before a loss is presumed" },
	{ "net.ipv4.tcp_max_reordering", &sysctl_tcp_max_reordering, 1, 1024, 300,
	  "largest reordering degree a connection adapts to" },
	{ "net.ipv4.tcp_delack_min_ms", &sysctl_tcp_delack_min_ms, 1, 200, 40,
	  "delayed-ACK timeout in ms (the kernel's TCP_DELACK_MIN)" },
	{ "net.ipv4.tcp_rmem", NULL, 0, 0, 0,
	  "receive ring of a TCP socket: min default max bytes (the default sizes the ring)",
	  NULL, 0, rmem_set, rmem_get, "4096 524288 6291456" },
	{ "net.ipv4.tcp_wmem", NULL, 0, 0, 0,
	  "send ring of a TCP socket: min default max bytes (the default sizes the ring)",
	  NULL, 0, wmem_set, wmem_get, "4096 262144 4194304" },
	{ "net.ipv4.tcp_congestion_control", NULL, 0, 0, 0,
	  "congestion control of new sockets (see tcp_available_congestion_control)",
	  NULL, 0, cc_set, cc_get, "cubic" },
	{ "net.ipv4.tcp_available_congestion_control", NULL, 0, 0, 0,
	  "congestion control algorithms built in (read-only)", NULL, 0, NULL, tcp_ca_names,
	  NULL },
	{ NULL, NULL, 0, 0, 0, NULL, NULL, 0, NULL, NULL, NULL },
};

/* ---- allocation ---- */

uint32_t tcp_ring_size(int64_t bytes)
{
	uint32_t p = NS_SHM_PAGE;

	while ((int64_t)p < bytes && p < (1u << 26))
		p <<= 1;
	return p;
}

static uint8_t tcp_wscale_for(uint32_t space)
{
	uint8_t s = 0;

	while ((space >> s) > 65535u && s < TCP_MAX_WSCALE)
		s++;
	return s;
}

struct tcp_sock *tcp_sock_alloc(struct sock *sk)
{
	struct tcp_sock *tp = calloc(1, sizeof(*tp));

	if (!tp)
		return NULL;
	tp->sk = sk;
	sk->proto_priv = tp;
	tp->state = TCP_CLOSE;
	tp->rto = TCP_TIMEOUT_INIT;
	tp->snd_cwnd = TCP_INIT_CWND;
	tp->snd_ssthresh = TCP_INFINITE_SSTHRESH;
	tp->reordering = (uint32_t)sysctl_read(&sysctl_tcp_reordering);
	tp->mss_cache = TCP_MSS_DEFAULT;
	tp->advmss = TCP_MSS_DEFAULT;
	tp->tx_end = UINT64_MAX;
	tp->rcv_space = tcp_ring_size(sysctl_read(&sysctl_tcp_rmem_def));
	tp->sack_ok = sysctl_read(&sysctl_tcp_sack) != 0;
	tp->tstamp_ok = sysctl_read(&sysctl_tcp_timestamps) != 0;
	tp->wscale_ok = sysctl_read(&sysctl_tcp_window_scaling) != 0;
	tp->rcv_wscale = tp->wscale_ok ? tcp_wscale_for(tp->rcv_space) : 0;
	tp->ato = (uint32_t)sysctl_read(&sysctl_tcp_delack_min_ms);
	tp->quick = TCP_MAX_QUICKACKS;
	skb_queue_head_init(&tp->ofo_queue);
	skb_queue_head_init(&tp->pre_queue);
	pthread_mutex_init(&tp->accept_lock, NULL);
	tcp_init_xmit_timers(tp);
	return tp;
}

/*
 * MSS from the route and the peer's option; congestion control at its
 * start.  We advertise what the device takes (the kernel's advmss) but
 * send no more than a path MTU learned from ICMP allows (tcp_sync_mss).
 */
void tcp_init_transfer(struct tcp_sock *tp)
{
	struct fib_result res;
	unsigned int mtu = 1500, pmtu = 0;
	uint32_t mss;

	if (fib_lookup(tp->sk->daddr, &res) == 0 && res.dev) {
		mtu = res.dev->mtu;
		pmtu = ip_dst_mtu(&res, tp->sk->daddr, NULL);
	}
	tp->advmss = tcp_mss_for_mtu(mtu);
	if (tp->user_mss && tp->user_mss < tp->advmss)
		tp->advmss = tp->user_mss;
	mss = tp->advmss;
	if (tp->rx_mss && tp->rx_mss < mss)
		mss = tp->rx_mss;
	else if (!tp->rx_mss && tp->state != TCP_CLOSE && mss > TCP_MSS_DEFAULT)
		mss = TCP_MSS_DEFAULT;          /* RFC 9293 §3.7.1: no option, 536 */
	if (pmtu && pmtu < mtu && tcp_mss_for_mtu(pmtu) < mss)
		mss = tcp_mss_for_mtu(pmtu);
	tp->mss_cache = tcp_mss_options(tp, mss);
	tp->snd_cwnd = TCP_INIT_CWND;
	tp->snd_ssthresh = TCP_INFINITE_SSTHRESH;
	tcp_init_congestion_control(tp);
}

bool tcp_sync_mss(struct tcp_sock *tp, uint32_t pmtu)
{
	uint16_t mss;

	if (pmtu < 68)
		return false;           /* no route, or no MTU at all (RFC 791's minimum) */
	mss = tcp_mss_options(tp, tcp_mss_for_mtu(pmtu));
	if (mss >= tp->mss_cache)
		return false;
	tp->mss_cache = mss;
	return true;
}

static void tcp_free_deferred(void *arg)
{
	struct tcp_sock *tp = arg;

	free(tp->orphan_tx);
	pthread_mutex_destroy(&tp->accept_lock);
	free(tp);
}

/* Free the protocol state (after the batch: callers may still read tp). */
static void tcp_release_resources(struct tcp_sock *tp)
{
	tcp_clear_xmit_timers(tp);
	if (tp->ehashed || tp->lhashed || tp->sk->hashed)
		tcp_unhash(tp);
	skb_queue_purge_reason(&tp->ofo_queue, SKB_DROP_REASON_TCP_CLOSED);
	skb_queue_purge_reason(&tp->pre_queue, SKB_DROP_REASON_TCP_CLOSED);
	tp->ofo_bytes = 0;
	tp->pre_bytes = 0;
	/* proto_priv keeps pointing here until both are freed: sock_dump may look. */
	if (softnet_defer(tcp_free_deferred, tp) != 0)
		NS_ASSERT(0);   /* leak rather than free early */
}

void tcp_destroy_sock(struct tcp_sock *tp)
{
	struct sock *sk = tp->sk;

	tcp_release_resources(tp);
	sock_destroy(sk);
}

void tcp_wake(struct tcp_sock *tp, uint32_t what)
{
	if (tp->sk->shm)
		sock_wake(tp->sk, what);
}

void tcp_publish_info(struct tcp_sock *tp)
{
	struct tcp_info_snap *s = &tp->snap;
	uint32_t mss = mss_or(tp);

#define SNAP(f, v) atomic_store_explicit(&s->f, (v), memory_order_relaxed)
	SNAP(state, tp->state);
	SNAP(cwnd, tp->snd_cwnd);
	SNAP(ssthresh, tp->snd_ssthresh);
	SNAP(rtt_us, tp->srtt_us >> 3);
	SNAP(rttvar_us, tp->rttvar_us >> 2);
	SNAP(rto_ms, tp->rto);
	SNAP(mss, mss);
	SNAP(retrans, tp->retransmits);
	SNAP(total_retrans, tp->total_retrans);
	SNAP(sacked, (tp->sacked_bytes + mss - 1) / mss);
	SNAP(unacked, (tp->snd_nxt - tp->snd_una + mss - 1) / mss);
	SNAP(lost, 0);
	SNAP(delivery_rate, tp->delivery_rate);
	SNAP(bytes_acked, tp->bytes_acked);
	SNAP(bytes_received, tp->bytes_received);
	SNAP(cong, tp->ca_ops ? tp->ca_ops->name : NULL);
#undef SNAP
}

static void tcp_close_listener(struct tcp_sock *lp);

/* ---- operations ---- */

static int tcp_init_sock(struct sock *sk, const struct sock_cred *cred, uint32_t *rx_size,
			 uint32_t *tx_size)
{
	(void)cred;
	struct tcp_sock *tp;

	sk->rcvbuf = (int)sysctl_read(&sysctl_tcp_rmem_def);
	sk->sndbuf = (int)sysctl_read(&sysctl_tcp_wmem_def);
	tp = tcp_sock_alloc(sk);
	if (!tp)
		return -ENOMEM;
	*rx_size = tcp_ring_size(sk->rcvbuf);
	*tx_size = tcp_ring_size(sk->sndbuf);
	tp->rcv_space = *rx_size;
	tp->rcv_wscale = tp->wscale_ok ? tcp_wscale_for(tp->rcv_space) : 0;
	return 0;
}

/* Parse a bind() address for a TCP socket (IPv4 or v4-mapped). */
static int tcp_parse_bind(struct sock *sk, const struct sockaddr *uaddr, socklen_t len,
			  uint32_t *addr, uint16_t *port, bool *mapped)
{
	*mapped = false;
	if (sk->family == AF_INET6) {
		struct sockaddr_in6 sin6;

		if (len < 24)
			return -EINVAL;
		memset(&sin6, 0, sizeof(sin6));
		memcpy(&sin6, uaddr, len < sizeof(sin6) ? len : sizeof(sin6));
		if (sin6.sin6_family != AF_INET6)
			return -EAFNOSUPPORT;
		*port = sin6.sin6_port;
		if (IN6_IS_ADDR_V4MAPPED(&sin6.sin6_addr)) {
			if (sk->v6only)
				return -EINVAL;
			memcpy(addr, &sin6.sin6_addr.s6_addr[12], 4);
			*mapped = true;
		} else if (IN6_IS_ADDR_UNSPECIFIED(&sin6.sin6_addr)) {
			*addr = 0;
		} else {
			return -EADDRNOTAVAIL;
		}
		return 0;
	}
	{
		struct sockaddr_in sin;

		if (len < sizeof(sin))
			return -EINVAL;
		memcpy(&sin, uaddr, sizeof(sin));
		if (sin.sin_family != AF_INET &&
		    !(sin.sin_family == AF_UNSPEC && sin.sin_addr.s_addr == htonl(INADDR_ANY)))
			return -EAFNOSUPPORT;
		*addr = sin.sin_addr.s_addr;
		*port = sin.sin_port;
	}
	return 0;
}

static int tcp_bind(struct sock *sk, const struct sockaddr *uaddr, socklen_t len)
{
	struct tcp_sock *tp = tcp_sk(sk);
	uint32_t addr;
	uint16_t port;
	bool mapped;
	int err = tcp_parse_bind(sk, uaddr, len, &addr, &port, &mapped);

	if (err)
		return err;
	if (addr && !inet_addr_is_local(NULL, addr) &&
	    (addr & htonl(0xff000000u)) != htonl(0x7f000000u))
		return -EADDRNOTAVAIL;
	pthread_rwlock_wrlock(&sock_lookup_lock);
	if (tp->state != TCP_CLOSE || sk->sport)
		err = -EINVAL;
	else
		err = tcp_v4_get_port(sk, addr, port);
	if (!err) {
		sk->v4mapped_bind = mapped;
		if (addr)
			sk->userlocks |= SOCK_BINDADDR_LOCK;
		if (port)
			sk->userlocks |= SOCK_BINDPORT_LOCK;
	}
	pthread_rwlock_unlock(&sock_lookup_lock);
	if (!err)
		sock_state_set(sk, NS_SS_BOUND);
	return err;
}

static int tcp_listen(struct sock *sk, int backlog)
{
	struct tcp_sock *tp = tcp_sk(sk);
	int64_t max = sysctl_read(&sysctl_somaxconn);
	int err = 0;

	if ((unsigned int)backlog > (uint64_t)max)
		backlog = (int)max;
	pthread_rwlock_wrlock(&sock_lookup_lock);
	if (tp->state == TCP_LISTEN) {
		tp->backlog = backlog;
		pthread_rwlock_unlock(&sock_lookup_lock);
		return 0;
	}
	if (tp->state != TCP_CLOSE) {
		pthread_rwlock_unlock(&sock_lookup_lock);
		return -EINVAL;
	}
	if (!sk->sport)
		err = tcp_v4_get_port(sk, sk->saddr, 0);
	if (!err) {
		tp->backlog = backlog;
		tp->state = TCP_LISTEN;
		tcp_listen_hash(tp);
	}
	pthread_rwlock_unlock(&sock_lookup_lock);
	if (err)
		return err;
	tcp_set_state(tp, TCP_LISTEN);
	sock_state_set(sk, NS_SS_BOUND | NS_SS_LISTENING);
	return 0;
}

/*
 * tcp_disconnect (connect(AF_UNSPEC), and the client after a failed
 * blocking connect): abort whatever there is and return to a fresh CLOSE
 * socket that keeps only what bind() fixed.
 */
static int tcp_disconnect(struct tcp_sock *tp)
{
	struct sock *sk = tp->sk;
	int old = tp->state;

	if (old == TCP_LISTEN) {
		tcp_close_listener(tp);
	} else if (old != TCP_CLOSE && old != TCP_SYN_SENT) {
		tcp_send_active_reset(tp);
	}
	tcp_clear_xmit_timers(tp);
	if (tp->state != TCP_CLOSE)
		tcp_set_state(tp, TCP_CLOSE);
	pthread_rwlock_wrlock(&sock_lookup_lock);
	tcp_unhash_locked(tp, !(sk->userlocks & SOCK_BINDPORT_LOCK));
	sk->connected = false;
	sk->daddr = 0;
	sk->dport = 0;
	if (!(sk->userlocks & SOCK_BINDADDR_LOCK))
		sk->saddr = sk->src = 0;
	if (!(sk->userlocks & SOCK_BINDPORT_LOCK)) {
		sk->sport = 0;
		sk->bound = false;
		sk->userlocks &= (uint8_t)~SOCK_CONNECT_BIND;
	}
	pthread_rwlock_unlock(&sock_lookup_lock);
	skb_queue_purge_reason(&tp->ofo_queue, SKB_DROP_REASON_TCP_CLOSED);
	skb_queue_purge_reason(&tp->pre_queue, SKB_DROP_REASON_TCP_CLOSED);
	tp->ofo_bytes = tp->pre_bytes = 0;
	tp->n_rcv_sacks = tp->n_sacked = 0;
	tp->sacked_bytes = 0;
	/* Unsent data is discarded, as tcp_write_queue_purge. */
	if (sk->tx.r) {
		uint64_t prod = ns_ring_load_prod(&sk->tx);

		if (ns_ring_sane(&sk->tx, prod, sk->tx_cons)) {
			sk->tx_cons = prod;
			ns_ring_publish_cons(&sk->tx, prod);
		}
	}
	tp->tx_end = UINT64_MAX;
	tp->fin_pending = tp->fin_sent = tp->fin_rcvd = tp->reset_pending = false;
	tp->snd_una = tp->snd_nxt = tp->write_seq = 0;
	tp->retransmits = tp->backoff = tp->probes_out = 0;
	tp->rto = TCP_TIMEOUT_INIT;
	tp->srtt_us = tp->mdev_us = tp->rttvar_us = 0;
	tp->ca_state = TCP_CA_Open;
	tp->dupacks = 0;
	tp->rx_mss = 0;
	tp->irs = 0;
	tp->sack_ok = sysctl_read(&sysctl_tcp_sack) != 0;
	tp->tstamp_ok = sysctl_read(&sysctl_tcp_timestamps) != 0;
	tp->wscale_ok = sysctl_read(&sysctl_tcp_window_scaling) != 0;
	tp->rcv_wscale = tp->wscale_ok ? tcp_wscale_for(tp->rcv_space) : 0;
	tp->snd_wscale = 0;
	tp->ts_recent = 0;
	tp->ts_recent_stamp = 0;
	sk->shut = 0;
	if (sk->shm) {
		atomic_store_explicit(&sk->shm->so_error, 0, memory_order_relaxed);
		sock_state_clear(sk, NS_SS_DEAD | NS_SS_CONNECTED | NS_SS_CONNECTING |
				     NS_SS_LISTENING | NS_SS_RCV_SHUTDOWN | NS_SS_SEND_SHUTDOWN |
				     (sk->sport ? 0 : NS_SS_BOUND));
	}
	tcp_publish_state(tp);
	tcp_wake(tp, NS_WAIT_RX | NS_WAIT_TX);
	return 0;
}

static int tcp_connect(struct sock *sk, const struct sockaddr *uaddr, socklen_t len)
{
	struct tcp_sock *tp = tcp_sk(sk);

	if (len >= sizeof(sa_family_t) && uaddr->sa_family == AF_UNSPEC)
		return tcp_disconnect(tp);
	return tcp_v4_connect(sk, uaddr, len);
}

static int tcp_accept(struct sock *sk, struct sock **child, uint32_t *rx_size, uint32_t *tx_size,
		      struct sockaddr_storage *peer, socklen_t *peerlen)
{
	struct tcp_sock *lp = tcp_sk(sk), *tp;
	struct sock *csk;
	uint32_t left;

	/* The listener is held by the caller's session: it cannot go away. */
	pthread_mutex_lock(&lp->accept_lock);
	if (lp->state != TCP_LISTEN) {
		pthread_mutex_unlock(&lp->accept_lock);
		return -EINVAL;
	}
	tp = lp->accept_head;
	if (!tp) {
		pthread_mutex_unlock(&lp->accept_lock);
		return -EAGAIN;
	}
	lp->accept_head = tp->accept_next;
	if (!lp->accept_head)
		lp->accept_tail = NULL;
	tp->accept_next = NULL;
	left = atomic_fetch_sub(&lp->accept_qlen, 1) - 1;
	csk = tp->sk;
	atomic_store(&csk->refs, 1);
	atomic_store(&tp->in_accept_q, false);
	pthread_mutex_unlock(&lp->accept_lock);
	if (sk->shm)
		atomic_store_explicit(&sk->shm->accept_q, left, memory_order_release);

	*child = csk;
	*rx_size = tcp_ring_size(csk->rcvbuf);
	*tx_size = tcp_ring_size(csk->sndbuf);
	memset(peer, 0, sizeof(*peer));
	/* Fixed since the child was made: safe to read here. */
	if (sk->family == AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)peer;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = csk->dport;
		s6->sin6_addr.s6_addr[10] = 0xff;
		s6->sin6_addr.s6_addr[11] = 0xff;
		memcpy(&s6->sin6_addr.s6_addr[12], &csk->daddr, 4);
		*peerlen = sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)peer;

		s4->sin_family = AF_INET;
		s4->sin_port = csk->dport;
		s4->sin_addr.s_addr = csk->daddr;
		*peerlen = sizeof(*s4);
	}
	return 0;
}

static void tcp_attached(struct sock *sk)
{
	struct tcp_sock *tp = tcp_sk(sk);

	if (!tp)
		return;
	if (sk->rx.size < tp->rcv_space)
		tp->rcv_space = sk->rx.size;
	tp->rx_prod = 0;
	if (tp->pre_queue.qlen)
		tcp_rx_push_pre_queue(tp);
	tcp_publish_state(tp);
	if (tp->state == TCP_CLOSE && tp->listener_id) {
		sock_set_error(sk, ECONNRESET);
		sock_state_set(sk, NS_SS_DEAD | NS_SS_RCV_SHUTDOWN | NS_SS_SEND_SHUTDOWN);
	}
	if (tp->state != TCP_CLOSE && tp->state != TCP_LISTEN)
		sock_state_set(sk, NS_SS_BOUND);
	tcp_wake(tp, NS_WAIT_RX | NS_WAIT_TX);
}

static void tcp_tx_ready(struct sock *sk)
{
	struct tcp_sock *tp = tcp_sk(sk);

	if (!tp || tp->state == TCP_CLOSE || tp->state == TCP_LISTEN)
		return;
	if (sk->rx.r) {
		uint64_t cons = ns_ring_load_cons(&sk->rx);

		/* A window update only when the client consumed something. */
		if (cons != tp->rx_cons_seen) {
			tp->rx_cons_seen = cons;
			tcp_rcv_space_check(tp);
		}
	}
	/* The doorbell's time, for a trace that samples what the client wrote. */
	if (trace_active())
		trace_tx_doorbell(ns_now_ns());
	tcp_push_pending(tp);
	if (trace_active())
		trace_tx_doorbell(0);
}

static int tcp_shutdown(struct sock *sk, int how)
{
	struct tcp_sock *tp = tcp_sk(sk);
	int bits = how + 1;

	if (how < SHUT_RD || how > SHUT_RDWR)
		return -EINVAL;
	switch (tp->state) {
	case TCP_CLOSE:
		return -ENOTCONN;
	case TCP_SYN_SENT:
		/* inet_shutdown: a connection not yet made is abandoned (disconnect). */
		sk->shut |= bits;
		if (bits & SEND_SHUTDOWN) {
			tcp_done(tp);
			return 0;
		}
		sock_state_set(sk, NS_SS_RCV_SHUTDOWN);
		tcp_wake(tp, NS_WAIT_RX | NS_WAIT_TX);
		return 0;
	case TCP_LISTEN:
		return (bits & RCV_SHUTDOWN) ? 0 : -ENOTCONN;
	default:
		break;
	}
	sk->shut |= bits;
	if (bits & RCV_SHUTDOWN)
		sock_state_set(sk, NS_SS_RCV_SHUTDOWN);
	if ((bits & SEND_SHUTDOWN) && !tp->fin_pending) {
		sock_state_set(sk, NS_SS_SEND_SHUTDOWN);
		if (tp->state == TCP_ESTABLISHED || tp->state == TCP_CLOSE_WAIT ||
		    tp->state == TCP_SYN_RECV) {
			/* What the client wrote before shutdown() still goes, then the FIN. */
			tcp_update_write_seq(tp);
			tp->tx_end = sk->tx_cons + (tp->write_seq - tp->snd_una);
			tcp_set_state(tp, tp->state == TCP_CLOSE_WAIT ? TCP_LAST_ACK : TCP_FIN_WAIT1);
			tcp_send_fin(tp);
		}
	}
	tcp_wake(tp, NS_WAIT_RX | NS_WAIT_TX);
	return 0;
}

/* On the child's owner: a listener closed with the child still unaccepted. */
static void tcp_abort_child(void *arg)
{
	struct tcp_sock *tp = arg;

	atomic_store(&tp->in_accept_q, false);
	if (tp->state != TCP_CLOSE) {
		NET_INC_STATS(TCPABORTONCLOSE);
		tcp_send_active_reset(tp);
		tcp_done(tp);
	} else {
		tcp_destroy_sock(tp);
	}
}

static void tcp_close_listener(struct tcp_sock *lp)
{
	struct tcp_sock *tp;
	bool now = atomic_load(&sock_shutting_down);

	tcp_unhash(lp);
	pthread_mutex_lock(&lp->accept_lock);
	tp = lp->accept_head;
	lp->accept_head = lp->accept_tail = NULL;
	atomic_store(&lp->accept_qlen, 0);
	lp->state = TCP_CLOSE;
	pthread_mutex_unlock(&lp->accept_lock);
	while (tp) {
		struct tcp_sock *next = tp->accept_next;

		if (now || softnet_call(tp->sk->owner_cpu, tcp_abort_child, tp) != 0)
			tcp_abort_child(tp);
		tp = next;
	}
}

/* Give the rings back to the client's region: keep a private copy of unsent data. */
static bool tcp_orphan(struct tcp_sock *tp)
{
	struct sock *sk = tp->sk;
	uint32_t used = 0;

	tcp_update_write_seq(tp);
	if (sk->tx.r) {
		uint64_t end = tp->tx_end < tp->tx_seen ? tp->tx_end : tp->tx_seen;

		used = (uint32_t)(end - sk->tx_cons);
		if (used) {
			tp->orphan_tx = malloc(sk->tx.size);
			if (!tp->orphan_tx)
				return false;
			ns_stream_get(&sk->tx, sk->tx_cons, tp->orphan_tx, used);
		}
	}
	atomic_init(&tp->orphan_ring.prod, used);
	atomic_init(&tp->orphan_ring.cons, 0);
	pthread_rwlock_wrlock(&sock_lookup_lock);
	sk->shm = NULL;
	pthread_rwlock_unlock(&sock_lookup_lock);
	sk->rx.r = NULL;
	sk->rx.data = NULL;
	if (used) {
		sk->tx.r = &tp->orphan_ring;
		sk->tx.data = tp->orphan_tx;
	} else {
		sk->tx.r = NULL;
		sk->tx.data = NULL;
	}
	sk->tx_cons = 0;
	tp->tx_end = used;
	tp->tx_seen = used;
	tp->orphan = true;
	return true;
}

static bool tcp_release(struct sock *sk)
{
	struct tcp_sock *tp = tcp_sk(sk);
	bool unread;

	if (tp->state == TCP_LISTEN) {
		tcp_close_listener(tp);
		tcp_release_resources(tp);
		return false;
	}
	if (atomic_load(&sock_shutting_down) || tp->state == TCP_CLOSE ||
	    tp->state == TCP_SYN_SENT) {
		tcp_set_state(tp, TCP_CLOSE);
		tcp_release_resources(tp);
		return false;
	}
	/* tcp_close: unread data or SO_LINGER {1, 0} abort with RST (RFC 2525 §2.17). */
	unread = tp->pre_queue.qlen ||
		 (sk->shm && sk->rx.r && ns_ring_load_cons(&sk->rx) != tp->rx_prod);
	if (unread || (sk->linger_onoff && sk->linger_secs == 0)) {
		if (unread)
			NET_INC_STATS(TCPABORTONCLOSE);
		else
			NET_INC_STATS(TCPABORTONLINGER);
		tcp_send_active_reset(tp);
		tp->orphan = true;
		tcp_set_state(tp, TCP_CLOSE);
		tcp_release_resources(tp);
		return false;
	}
	if (!tcp_orphan(tp)) {
		tcp_send_active_reset(tp);
		tcp_set_state(tp, TCP_CLOSE);
		tcp_release_resources(tp);
		return false;
	}
	switch (tp->state) {
	case TCP_ESTABLISHED:
	case TCP_SYN_RECV:
		tcp_set_state(tp, TCP_FIN_WAIT1);
		tcp_send_fin(tp);
		break;
	case TCP_CLOSE_WAIT:
		tcp_set_state(tp, TCP_LAST_ACK);
		tcp_send_fin(tp);
		break;
	case TCP_FIN_WAIT2: {
		uint32_t t = tp->linger2 > 0 ? (uint32_t)tp->linger2 * 1000u :
			     (uint32_t)sysctl_read(&sysctl_tcp_fin_timeout) * 1000u;

		tcp_reset_keepalive_timer(tp, t);
		break;
	}
	default:
		/* FIN_WAIT1, CLOSING, LAST_ACK, TIME_WAIT: already on the way out. */
		tcp_push_pending(tp);
		break;
	}
	return true;
}

static void tcp_destroy(struct sock *sk)
{
	struct tcp_sock *tp = tcp_sk(sk);

	if (tp)
		tcp_destroy_sock(tp);
	else
		sock_destroy(sk);
}

/* ---- options ---- */

static int opt_int(const void *val, socklen_t len, int *out)
{
	if (len < sizeof(int))
		return -EINVAL;
	memcpy(out, val, sizeof(int));
	return 0;
}

static int put_int(void *val, socklen_t *len, int v)
{
	if (*len > sizeof(int))
		*len = sizeof(int);
	memcpy(val, &v, *len);
	return 0;
}

static int do_tcp_setsockopt(struct tcp_sock *tp, int name, const void *val, socklen_t len)
{
	struct sock *sk = tp->sk;
	int v = 0, err;

	if (name == TCP_CONGESTION) {
		char buf[16];
		size_t n = len < sizeof(buf) - 1 ? len : sizeof(buf) - 1;

		memcpy(buf, val, n);
		buf[n] = '\0';
		return tcp_set_congestion_control(tp, buf);
	}
	err = opt_int(val, len, &v);
	if (err)
		return err;
	switch (name) {
	case TCP_NODELAY:
		tp->nodelay = v != 0;
		if (tp->nodelay)
			tcp_push_pending(tp);
		return 0;
	case TCP_CORK:
		tp->cork = v != 0;
		if (!tp->cork) {
			tp->force_push = true;
			tcp_push_pending(tp);
		}
		return 0;
	case TCP_MAXSEG:
		if (v && (v < TCP_MIN_MSS || v > 65535))
			return -EINVAL;
		tp->user_mss = (uint16_t)v;
		return 0;
	case TCP_KEEPIDLE:
		if (v < 1 || v > 32767)
			return -EINVAL;
		tp->keepidle = v;
		if (sk->keepalive && tp->state == TCP_ESTABLISHED)
			tcp_reset_keepalive_timer(tp, keepalive_time_when(tp));
		return 0;
	case TCP_KEEPINTVL:
		if (v < 1 || v > 32767)
			return -EINVAL;
		tp->keepintvl = v;
		return 0;
	case TCP_KEEPCNT:
		if (v < 1 || v > 127)
			return -EINVAL;
		tp->keepcnt = v;
		return 0;
	case TCP_SYNCNT:
		if (v < 1 || v > 127)
			return -EINVAL;
		tp->syn_retries = v;
		return 0;
	case TCP_LINGER2:
		tp->linger2 = v < 0 ? -1 : v;
		return 0;
	case TCP_QUICKACK:
		tp->quickack_opt = v != 0;
		if (v && (tp->ack_pending & ICSK_ACK_SCHED))
			tcp_send_ack(tp);
		return 0;
	case TCP_USER_TIMEOUT:
		if (v < 0)
			return -EINVAL;
		tp->user_timeout = (uint32_t)v;
		return 0;
	case TCP_DEFER_ACCEPT:
	case TCP_WINDOW_CLAMP:
	case TCP_NOTSENT_LOWAT:
		return 0;               /* accepted, no effect (documented) */
	default:
		return -ENOPROTOOPT;
	}
}

static int tcp_setsockopt(struct sock *sk, int level, int name, const void *val, socklen_t len)
{
	struct tcp_sock *tp = tcp_sk(sk);
	bool keep = sk->keepalive;
	int err;

	pthread_rwlock_wrlock(&sock_lookup_lock);
	if (level == SOL_SOCKET)
		err = sk_setsockopt(sk, name, val, len);
	else if (level == IPPROTO_TCP)
		err = 0;
	else
		err = do_ip_setsockopt(sk, level, name, val, len);
	pthread_rwlock_unlock(&sock_lookup_lock);
	if (level == IPPROTO_TCP)
		return do_tcp_setsockopt(tp, name, val, len);
	if (!err && level == SOL_SOCKET && name == SO_KEEPALIVE && sk->keepalive != keep) {
		if (sk->keepalive && tp->state == TCP_ESTABLISHED)
			tcp_reset_keepalive_timer(tp, keepalive_time_when(tp));
		else if (!sk->keepalive)
			tcp_delete_keepalive_timer(tp);
	}
	return err;
}

static void tcp_get_info(struct tcp_sock *tp, struct tcp_info *info)
{
	uint64_t now = ns_jiffies();
	uint32_t mss = mss_or(tp);

	memset(info, 0, sizeof(*info));
	info->tcpi_state = tp->state;
	info->tcpi_ca_state = tp->ca_state;
	info->tcpi_retransmits = tp->retransmits;
	info->tcpi_probes = tp->probes_out;
	info->tcpi_backoff = tp->backoff;
	if (tp->tstamp_ok)
		info->tcpi_options |= TCPI_OPT_TIMESTAMPS;
	if (tp->sack_ok)
		info->tcpi_options |= TCPI_OPT_SACK;
	if (tp->wscale_ok) {
		info->tcpi_options |= TCPI_OPT_WSCALE;
		info->tcpi_snd_wscale = tp->snd_wscale & 15;
		info->tcpi_rcv_wscale = tp->rcv_wscale & 15;
	}
	info->tcpi_rto = tp->rto * 1000u;
	info->tcpi_ato = tp->ato * 1000u;
	info->tcpi_snd_mss = mss;
	info->tcpi_rcv_mss = tp->rx_mss ? tp->rx_mss : TCP_MSS_DEFAULT;
	info->tcpi_unacked = (tp->snd_nxt - tp->snd_una + mss - 1) / mss;
	info->tcpi_sacked = (tp->sacked_bytes + mss - 1) / mss;
	info->tcpi_retrans = tp->ca_state >= TCP_CA_Recovery ? 1 : 0;
	info->tcpi_last_data_sent = tp->lsndtime ? (uint32_t)(now - tp->lsndtime) : 0;
	info->tcpi_last_data_recv = tp->lrcvtime ? (uint32_t)(now - tp->lrcvtime) : 0;
	info->tcpi_last_ack_recv = tp->rcv_tstamp ? (uint32_t)(now - tp->rcv_tstamp) : 0;
	info->tcpi_pmtu = (uint32_t)tp->advmss + 40u;
	info->tcpi_rcv_ssthresh = tp->rcv_space;
	info->tcpi_rtt = tp->srtt_us >> 3;
	info->tcpi_rttvar = tp->rttvar_us >> 2;
	info->tcpi_snd_ssthresh = tp->snd_ssthresh;
	info->tcpi_snd_cwnd = tp->snd_cwnd;
	info->tcpi_advmss = tp->advmss;
	info->tcpi_reordering = tp->reordering;
	info->tcpi_rcv_space = tp->rcv_space;
	info->tcpi_total_retrans = tp->total_retrans;
}

static int tcp_getsockopt(struct sock *sk, int level, int name, void *val, socklen_t *len)
{
	struct tcp_sock *tp = tcp_sk(sk);

	if (level == SOL_SOCKET) {
		if (name == SO_ACCEPTCONN)
			return put_int(val, len, tp->state == TCP_LISTEN);
		if (name == SO_PROTOCOL)
			return put_int(val, len, IPPROTO_TCP);
		return sk_getsockopt(sk, name, val, len);
	}
	if (level != IPPROTO_TCP)
		return do_ip_getsockopt(sk, level, name, val, len);
	switch (name) {
	case TCP_NODELAY:
		return put_int(val, len, tp->nodelay);
	case TCP_CORK:
		return put_int(val, len, tp->cork);
	case TCP_MAXSEG:
		return put_int(val, len, tp->state == TCP_CLOSE || tp->state == TCP_LISTEN ?
				       (tp->user_mss ? tp->user_mss : TCP_MSS_DEFAULT) :
				       (int)mss_or(tp));
	case TCP_KEEPIDLE:
		return put_int(val, len, (int)(keepalive_time_when(tp) / 1000u));
	case TCP_KEEPINTVL:
		return put_int(val, len, tp->keepintvl ? tp->keepintvl :
				       (int)sysctl_read(&sysctl_tcp_keepalive_intvl));
	case TCP_KEEPCNT:
		return put_int(val, len, tp->keepcnt ? tp->keepcnt :
				       (int)sysctl_read(&sysctl_tcp_keepalive_probes));
	case TCP_SYNCNT:
		return put_int(val, len, tp->syn_retries ? tp->syn_retries :
				       (int)sysctl_read(&sysctl_tcp_syn_retries));
	case TCP_LINGER2:
		return put_int(val, len, tp->linger2 ? tp->linger2 :
				       (int)sysctl_read(&sysctl_tcp_fin_timeout));
	case TCP_QUICKACK:
		return put_int(val, len, tp->quickack_opt);
	case TCP_USER_TIMEOUT:
		return put_int(val, len, (int)tp->user_timeout);
	case TCP_CONGESTION: {
		char buf[16] = { 0 };

		snprintf(buf, sizeof(buf), "%s", tp->ca_ops ? tp->ca_ops->name : tcp_default_ca_name());
		if (*len > sizeof(buf))
			*len = sizeof(buf);
		memcpy(val, buf, *len);
		return 0;
	}
	case TCP_INFO: {
		struct tcp_info info;

		tcp_get_info(tp, &info);
		if (*len > sizeof(info))
			*len = sizeof(info);
		memcpy(val, &info, *len);
		return 0;
	}
	default:
		return -ENOPROTOOPT;
	}
}

static int tcp_getname(struct sock *sk, struct sockaddr_storage *ss, socklen_t *len, bool peer)
{
	struct tcp_sock *tp = tcp_sk(sk);

	if (peer && (tp->state == TCP_CLOSE || tp->state == TCP_LISTEN ||
		     tp->state == TCP_SYN_SENT))
		return -ENOTCONN;
	return inet_getname(sk, ss, len, peer);
}

/* ss -t: states with the kernel's (ss's) names. */
const char *tcp_state_name(int state)
{
	static const char *const names[] = {
		[TCP_ESTABLISHED] = "ESTAB", [TCP_SYN_SENT] = "SYN-SENT",
		[TCP_SYN_RECV] = "SYN-RECV", [TCP_FIN_WAIT1] = "FIN-WAIT-1",
		[TCP_FIN_WAIT2] = "FIN-WAIT-2", [TCP_TIME_WAIT] = "TIME-WAIT",
		[TCP_CLOSE] = "UNCONN", [TCP_CLOSE_WAIT] = "CLOSE-WAIT",
		[TCP_LAST_ACK] = "LAST-ACK", [TCP_LISTEN] = "LISTEN",
		[TCP_CLOSING] = "CLOSING",
	};

	return state >= 0 && state < (int)(sizeof(names) / sizeof(names[0])) && names[state] ?
	       names[state] : "UNKNOWN";
}

/* sock_dump (control thread): a racy but memory-safe snapshot of plain words. */
static void tcp_info_dump(struct sock *sk, struct sock_info *si)
{
	const struct tcp_sock *tp = tcp_sk(sk);
	const struct tcp_info_snap *s;

	if (!tp)
		return;
	s = &tp->snap;
	si->state = tcp_state_name((int)atomic_load_explicit(&s->state, memory_order_relaxed));
	si->cwnd = atomic_load_explicit(&s->cwnd, memory_order_relaxed);
	si->ssthresh = atomic_load_explicit(&s->ssthresh, memory_order_relaxed);
	si->rtt_us = atomic_load_explicit(&s->rtt_us, memory_order_relaxed);
	si->rttvar_us = atomic_load_explicit(&s->rttvar_us, memory_order_relaxed);
	si->rto_ms = atomic_load_explicit(&s->rto_ms, memory_order_relaxed);
	si->mss = atomic_load_explicit(&s->mss, memory_order_relaxed);
	si->retrans = atomic_load_explicit(&s->retrans, memory_order_relaxed);
	si->total_retrans = atomic_load_explicit(&s->total_retrans, memory_order_relaxed);
	si->sacked = atomic_load_explicit(&s->sacked, memory_order_relaxed);
	si->unacked = atomic_load_explicit(&s->unacked, memory_order_relaxed);
	si->lost = atomic_load_explicit(&s->lost, memory_order_relaxed);
	si->delivery_rate = atomic_load_explicit(&s->delivery_rate, memory_order_relaxed);
	si->bytes_acked = atomic_load_explicit(&s->bytes_acked, memory_order_relaxed);
	si->bytes_received = atomic_load_explicit(&s->bytes_received, memory_order_relaxed);
	si->backlog = atomic_load_explicit(&tp->accept_qlen, memory_order_relaxed);
	si->max_backlog = (uint32_t)tp->backlog;       /* written under the lookup lock */
	{
		const char *cong = atomic_load_explicit(&s->cong, memory_order_relaxed);

		snprintf(si->cong, sizeof(si->cong), "%s", cong ? cong : "");
	}
	if (si->state && strcmp(si->state, "LISTEN") == 0) {
		si->recv_q = si->backlog;
		si->send_q = si->max_backlog;
	}
}

const struct proto_ops tcp_ops = {
	.name = "tcp",
	.init = tcp_init_sock,
	.bind = tcp_bind,
	.connect = tcp_connect,
	.listen = tcp_listen,
	.accept = tcp_accept,
	.setsockopt = tcp_setsockopt,
	.getsockopt = tcp_getsockopt,
	.getname = tcp_getname,
	.shutdown = tcp_shutdown,
	.tx_ready = tcp_tx_ready,
	.release = tcp_release,
	.attached = tcp_attached,
	.info = tcp_info_dump,
	.destroy = tcp_destroy,
};

const struct inet_protosw tcp_protosw = {
	.type = SOCK_STREAM,
	.protocol = IPPROTO_TCP,
	.ops = &tcp_ops,
};

int tcp_init(void)
{
	sysctl_register(tcp_table);
	tcp_v4_init();
	(void)tcp_register_congestion_control(&tcp_reno);
	(void)tcp_register_congestion_control(&cubictcp);
	(void)tcp_set_default_ca("cubic");
	return inet_add_protocol(&tcp_protocol, IPPROTO_TCP);
}
