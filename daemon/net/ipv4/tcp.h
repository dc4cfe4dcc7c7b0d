/*
 * TCP (RFC 9293 with RFC 7323, 2018, 6675, 6298, 5681, 6582, 5961, 6528),
 * structured as the kernel's net/ipv4/tcp*.c:
 *
 *   tcp_ipv4.c    tcp_v4_rcv, the established/listen/bind hashes, connect,
 *                 RST and SYN-cookie generation (tcp_v4_send_reset, cookie_v4_*)
 *   tcp_input.c   tcp_rcv_state_process, tcp_ack, SACK, RTT, data queueing
 *   tcp_output.c  tcp_write_xmit, tcp_transmit_skb, options, retransmits
 *   tcp_timer.c   retransmit/probe, delayed ACK, keepalive, SYN-ACK, TIME_WAIT
 *   tcp_cong.c    the pluggable congestion control (Reno) and tcp_cubic.c
 *   tcp.c         the socket operations, options, TCP_INFO, sysctls
 *
 * Threads.  A TCP socket belongs to its owner worker (sk->owner_cpu): every
 * state change, timer and transmit runs there.  A segment that arrives on
 * another worker is handed to the owner (tcp_v4_rcv -> softnet_call).
 * Listeners are the exception: any worker answers SYNs for them, reading
 * only what is fixed while listening, and children belong to the worker
 * that created them; the accept queue has its own lock.
 *
 * Data.  The client's tx ring is the send buffer and retransmit queue:
 * sequence number s (snd_una <= s < write_seq) lives at ring index
 * sk->tx_cons + (s - snd_una); tx.cons advances when data is acknowledged.
 * In-order received data goes straight into the rx ring, whose free space
 * is the receive window.  After close() the socket keeps a private copy of
 * its unsent data (an orphan, as the kernel's) and the rings go back to the
 * client's region.
 */
#ifndef NS_NET_IPV4_TCP_H
#define NS_NET_IPV4_TCP_H

#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/counter.h"
#include "core/skb.h"
#include "core/timer.h"
#include "net/socket.h"
#include "net/wire/tcp.h"

struct net_protocol;

/* Sequence-number arithmetic (RFC 1982 style). */
static inline bool before(uint32_t a, uint32_t b) { return (int32_t)(a - b) < 0; }
static inline bool after(uint32_t a, uint32_t b) { return before(b, a); }
static inline bool between(uint32_t s, uint32_t lo, uint32_t hi) { return hi - lo >= s - lo; }

/* The kernel's tcp_skb_cb, in skb->cb on receive. */
struct tcp_skb_cb {
	uint32_t seq;
	uint32_t end_seq;               /* seq + SYN + FIN + payload */
	uint32_t ack_seq;
	uint8_t tcp_flags;
	uint8_t has_ts : 1;
	uint8_t saw_sack : 1;
	uint8_t sack_perm : 1;
	uint8_t wscale_ok : 1;
	uint8_t snd_wscale;
	uint16_t mss;                   /* MSS option, 0 = none */
	uint16_t window;                /* raw window field (host order) */
	uint32_t rcv_tsval, rcv_tsecr;
	uint16_t sack_off;              /* offset of the SACK option from th */
	uint8_t nsacks;
	uint8_t doff;                   /* header bytes */
};

#define TCP_SKB_CB(skb) ((struct tcp_skb_cb *)((skb)->cb))
_Static_assert(sizeof(struct tcp_skb_cb) <= 48, "tcp_skb_cb fits skb->cb");

/* Congestion-avoidance states: enum tcp_ca_state of <netinet/tcp.h>. */

struct tcp_sock;

/* A congestion-control algorithm (the kernel's tcp_congestion_ops). */
struct tcp_congestion_ops {
	const char *name;
	void (*init)(struct tcp_sock *tp);
	/* Slow-start threshold after a loss. */
	uint32_t (*ssthresh)(struct tcp_sock *tp);
	/* Grow cwnd for @acked newly acknowledged segments. */
	void (*cong_avoid)(struct tcp_sock *tp, uint32_t ack, uint32_t acked);
	void (*set_state)(struct tcp_sock *tp, uint8_t new_state);
	/* cwnd to restore when a loss turns out spurious. */
	uint32_t (*undo_cwnd)(struct tcp_sock *tp);
	/* An RTT sample in microseconds for @acked segments. */
	void (*pkts_acked)(struct tcp_sock *tp, uint32_t acked, int64_t rtt_us);
	struct tcp_congestion_ops *next;
};

#define TCP_CA_PRIV_SIZE 96
#define TCP_SCOREBOARD 32           /* SACKed ranges the sender remembers */
#define TCP_NUM_SACKS 4             /* blocks we send */

struct tcp_sack_block {
	uint32_t start_seq, end_seq;
};

/* icsk_ack.pending bits */
enum {
	ICSK_ACK_SCHED = 1,
	ICSK_ACK_TIMER = 2,
	ICSK_ACK_NOW = 4,
};

/* Which event the retransmit timer stands for (icsk_pending). */
enum {
	ICSK_TIME_RETRANS = 1,
	ICSK_TIME_PROBE0 = 3,
	ICSK_TIME_LOSS_PROBE = 5,       /* tail loss probe (RFC 8985 §7) */
};

/* What netstackctl ss -ti shows, published by the owner for the control thread. */
struct tcp_info_snap {
	_Atomic uint32_t state, cwnd, ssthresh, rtt_us, rttvar_us, rto_ms, mss;
	_Atomic uint32_t retrans, total_retrans, sacked, unacked, lost;
	_Atomic uint64_t delivery_rate, bytes_acked, bytes_received;
	_Atomic(const char *) cong;
};

struct tcp_sock {
	struct sock *sk;
	struct tcp_info_snap snap;
	uint8_t state;                  /* TCP_ESTABLISHED... (netinet/tcp.h) */
	bool ehashed, lhashed, bhashed;
	struct tcp_sock *ehash_next;    /* established hash chain (lookup lock) */
	struct tcp_sock *lhash_next;    /* listening hash chain (lookup lock) */

	/* Send sequence space. */
	uint32_t iss;
	uint32_t snd_una, snd_nxt;
	uint32_t write_seq;             /* end of the data the client wrote */
	uint32_t snd_wnd, max_window;
	uint32_t snd_wl1;               /* seq of the segment that last updated snd_wnd */
	uint64_t tx_end;                /* ring index after shutdown(SHUT_WR); ~0 = open */

	/* Receive sequence space. */
	uint32_t irs;
	uint32_t rcv_nxt;
	uint32_t rcv_wup;               /* rcv_nxt at the last window update sent */
	uint32_t rcv_wnd;               /* window announced then (bytes) */
	uint32_t rcv_space;             /* the receive buffer (ring) size */

	/* Options negotiated. */
	uint16_t mss_cache;             /* effective send MSS (payload) */
	uint16_t advmss;                /* the MSS we announce */
	uint16_t rx_mss;                /* the peer's MSS option */
	uint16_t user_mss;              /* TCP_MAXSEG */
	uint8_t snd_wscale, rcv_wscale;
	bool wscale_ok, sack_ok, tstamp_ok;
	uint32_t ts_recent;
	uint64_t ts_recent_stamp;       /* jiffies */
	uint32_t tsoffset;

	/* RTT (RFC 6298), microseconds; srtt << 3 and mdev << 2 as the kernel. */
	uint32_t srtt_us, mdev_us, mdev_max_us, rttvar_us;
	uint32_t rtt_seq;               /* Karn timing of one segment without TS */
	uint64_t rtt_stamp_us;
	bool rtt_timing;
	uint32_t min_rtt_us;
	uint32_t rto;                   /* ms */

	/* Congestion control. */
	uint32_t snd_cwnd;              /* segments */
	uint32_t snd_cwnd_cnt;
	uint32_t snd_ssthresh;
	uint32_t prior_cwnd, prior_ssthresh;
	uint32_t high_seq;              /* snd_nxt when recovery started */
	/*
	 * Reordering and undo (the kernel's tp->reordering, undo_marker,
	 * undo_retrans): how many segments out of order the path has shown
	 * (the dupthresh, from net.ipv4.tcp_reordering up to
	 * tcp_max_reordering), and, for the current loss episode, whether its
	 * cwnd reduction may still be undone: by timestamps (Eifel, RFC 3522:
	 * an ACK echoes a TSval older than our first retransmission) or by
	 * D-SACKs for every retransmission (RFC 3708).
	 */
	uint32_t reordering;            /* segments */
	bool undo_valid;
	bool undo_ts_set;
	bool undo_had_retrans;          /* the episode retransmitted something */
	uint32_t undo_marker;           /* snd_una when the episode began */
	uint32_t undo_retrans;          /* retransmissions not shown spurious */
	uint32_t undo_tsval;            /* TSval of the episode's first retransmit */
	uint32_t tlp_high_seq;          /* snd_nxt when a loss probe went out; 0: none */
	bool tlp_dsacked;               /* the probe came back as a D-SACK */
	uint32_t tlp_tsval;             /* the probe's TSval */
	uint8_t ca_state;
	uint32_t dupacks;
	bool cwnd_limited;              /* the last write_xmit stopped at cwnd */
	bool ack_limited;               /* the last write_xmit stopped at cwnd or the
					 * peer's window: only an ACK lets more go */
	const struct tcp_congestion_ops *ca_ops;
	uint64_t ca_priv[TCP_CA_PRIV_SIZE / 8];

	/* SACK scoreboard (ranges above snd_una the peer holds). */
	struct tcp_sack_block sacked[TCP_SCOREBOARD];
	unsigned int n_sacked;
	uint32_t sacked_bytes;
	uint32_t retran_hi;             /* recovery: retransmitted up to here */
	uint32_t retrans_out;           /* bytes retransmitted in flight (estimate) */

	/* Receive queues. */
	struct sk_buff_head ofo_queue;  /* out-of-order, sorted by seq */
	uint32_t ofo_bytes;
	struct tcp_sack_block rcv_sacks[TCP_NUM_SACKS];
	unsigned int n_rcv_sacks;
	struct sk_buff_head pre_queue;  /* in-order data before accept() attached rings */
	uint32_t pre_bytes;
	uint64_t rx_prod;               /* owner's producer index in rx */
	bool fin_rcvd;                  /* the peer's FIN is in order */

	/* Delayed ACK. */
	uint8_t ack_pending;
	uint8_t quick;                  /* quick-ACK segments left */
	uint32_t ato;                   /* ms */
	uint32_t segs_unacked;          /* full segments since our last ACK */
	uint64_t lrcvtime;              /* jiffies of the last data received */

	/* Timers (owner's wheel). */
	struct timer_list retransmit_timer;
	struct timer_list delack_timer;
	struct timer_list keepalive_timer;      /* also SYN-ACK, FIN_WAIT2, TIME_WAIT */
	uint8_t pending;                /* ICSK_TIME_* of retransmit_timer */
	uint8_t retransmits;            /* consecutive RTOs */
	uint8_t backoff;
	uint8_t probes_out;             /* zero-window or keepalive probes unanswered */
	uint64_t retrans_stamp;         /* jiffies of the first unanswered retransmit */
	uint64_t lsndtime;              /* jiffies of the last data sent */
	uint64_t rcv_tstamp;            /* jiffies of the last ACK received */

	/* Close. */
	bool fin_pending;               /* shutdown(SHUT_WR) or close: FIN after the data */
	bool fin_sent;
	bool orphan;                    /* the client closed it */
	bool reset_pending;             /* abort with RST at the next chance */
	unsigned char *orphan_tx;       /* private copy of the tx ring */
	struct ns_ring orphan_ring;

	/* Options. */
	bool nodelay, cork, quickack_opt;
	bool force_push;                /* the cork timer ran out: send partial segments */
	uint64_t tx_seen;               /* tx.prod as last read */
	uint64_t rx_cons_seen;          /* rx.cons as last read (window updates) */
	int keepidle, keepintvl, keepcnt;       /* seconds, seconds, probes; 0 = sysctl */
	int linger2;                    /* TCP_LINGER2 seconds, 0 = sysctl */
	int syn_retries;                /* TCP_SYNCNT, 0 = sysctl */
	uint32_t user_timeout;          /* TCP_USER_TIMEOUT ms */
	int soft_err;                   /* last ICMP soft error (EHOSTUNREACH...) */

	/* Listener. */
	int backlog;
	_Atomic int syn_qlen;           /* children in SYN_RECV */
	pthread_mutex_t accept_lock;
	struct tcp_sock *accept_head, *accept_tail;
	_Atomic uint32_t accept_qlen;
	struct tcp_sock *accept_next;   /* child: accept queue linkage */
	uint64_t listener_id;           /* child: its listener's sock id */
	_Atomic bool in_accept_q;

	/* Statistics (TCP_INFO, ss -i). */
	uint32_t total_retrans;
	uint64_t bytes_acked, bytes_received, bytes_sent, bytes_retrans;
	uint64_t segs_in, segs_out, data_segs_in, data_segs_out;
	uint64_t delivered;
	uint64_t delivery_rate;         /* bytes per second, last estimate */
	uint64_t rate_stamp_us;
	uint64_t rate_delivered;
};

static inline uint32_t mss_or(const struct tcp_sock *tp)
{
	return tp->mss_cache ? tp->mss_cache : TCP_MSS_DEFAULT;
}

static inline struct tcp_sock *tcp_sk(const struct sock *sk)
{
	return (struct tcp_sock *)sk->proto_priv;
}

/* ---- MIB (Tcp: and TcpExt:) ---- */

#define TCP_MIB_LIST(X)                    \
	X(ACTIVEOPENS, "ActiveOpens")          \
	X(PASSIVEOPENS, "PassiveOpens")        \
	X(ATTEMPTFAILS, "AttemptFails")        \
	X(ESTABRESETS, "EstabResets")          \
	X(CURRESTAB, "CurrEstab")              \
	X(INSEGS, "InSegs")                    \
	X(OUTSEGS, "OutSegs")                  \
	X(RETRANSSEGS, "RetransSegs")          \
	X(INERRS, "InErrs")                    \
	X(OUTRSTS, "OutRsts")                  \
	X(INCSUMERRORS, "InCsumErrors")

#define TCPEXT_MIB_LIST(X)                         \
	X(SYNCOOKIESSENT, "SyncookiesSent")            \
	X(SYNCOOKIESRECV, "SyncookiesRecv")            \
	X(SYNCOOKIESFAILED, "SyncookiesFailed")        \
	X(LISTENOVERFLOWS, "ListenOverflows")          \
	X(LISTENDROPS, "ListenDrops")                  \
	X(PAWSESTABREJECTED, "PAWSEstab")              \
	X(DELAYEDACKS, "DelayedACKs")                  \
	X(TCPTIMEOUTS, "TCPTimeouts")                  \
	X(TCPFASTRETRANS, "TCPFastRetrans")            \
	X(TCPSLOWSTARTRETRANS, "TCPSlowStartRetrans")  \
	X(TCPLOSSPROBES, "TCPLossProbes")              \
	X(TCPSACKRECOVERY, "TCPSackRecovery")          \
	X(TCPRENORECOVERY, "TCPRenoRecovery")          \
	X(TCPSACKBLOCKS, "TCPSACKBlocksReceived")      \
	X(TCPOFOQUEUE, "TCPOFOQueue")                  \
	X(TCPOFODROP, "TCPOFODrop")                    \
	X(TCPOFOMERGE, "TCPOFOMerge")                  \
	X(TCPCHALLENGEACK, "TCPChallengeACK")          \
	X(TCPSYNCHALLENGE, "TCPSYNChallenge")          \
	X(TCPABORTONDATA, "TCPAbortOnData")            \
	X(TCPABORTONCLOSE, "TCPAbortOnClose")          \
	X(TCPABORTONTIMEOUT, "TCPAbortOnTimeout")      \
	X(TCPABORTONLINGER, "TCPAbortOnLinger")        \
	X(TCPKEEPALIVE, "TCPKeepAlive")                \
	X(TCPWINPROBE, "TCPWinProbe")                  \
	X(TCPDSACKRECV, "TCPDSACKRecv")                \
	X(TCPPUREACKS, "TCPPureAcks")                  \
	X(TCPHPACKS, "TCPHPAcks")                      \
	X(TCPRCVQDROP, "TCPRcvQDrop")                  \
	X(TCPZEROWINDOWDROP, "TCPZeroWindowDrop")      \
	X(TCPSPURIOUSRTOS, "TCPSpuriousRTOs")          \
	X(TCPSACKREORDER, "TCPSACKReorder")            \
	X(TCPTSREORDER, "TCPTSReorder")                \
	X(TCPFULLUNDO, "TCPFullUndo")                  \
	X(TCPPARTIALUNDO, "TCPPartialUndo")            \
	X(TCPDSACKUNDO, "TCPDSACKUndo")                \
	X(TCPLOSSUNDO, "TCPLossUndo")                  \
	X(TCPLOSSPROBERECOVERY, "TCPLossProbeRecovery") \
	X(TCPTIMEWAITS, "TW")                          \
	X(TCPACKSKIPPEDSEQ, "TCPACKSkippedSeq")        \
	X(TCPTOBACKLOG, "TCPBacklogHandoff")

enum {
#define MIB_ENUM(n, s) TCP_MIB_##n,
	TCP_MIB_LIST(MIB_ENUM)
#undef MIB_ENUM
	TCP_MIB_MAX
};

enum {
#define MIB_ENUM(n, s) LINUX_MIB_##n,
	TCPEXT_MIB_LIST(MIB_ENUM)
#undef MIB_ENUM
	LINUX_MIB_MAX
};

struct tcp_mib {
	ns_counter_t tcp[TCP_MIB_MAX];
	ns_counter_t ext[LINUX_MIB_MAX];
} __attribute__((aligned(64)));

extern struct tcp_mib tcp_mibs[NS_MAX_WORKERS + 1];
extern const char *const tcp_mib_names[TCP_MIB_MAX];
extern const char *const tcpext_mib_names[LINUX_MIB_MAX];

static inline struct tcp_mib *this_tcp_mib(void)
{
	int cpu = smp_processor_id();

	return &tcp_mibs[cpu < 0 ? NS_MAX_WORKERS : cpu];
}

#define TCP_INC_STATS(f) ns_counter_inc(&this_tcp_mib()->tcp[TCP_MIB_##f])
#define TCP_ADD_STATS(f, n) ns_counter_add(&this_tcp_mib()->tcp[TCP_MIB_##f], (n))
#define NET_INC_STATS(f) ns_counter_inc(&this_tcp_mib()->ext[LINUX_MIB_##f])
#define NET_INC_STATS_IDX(i) ns_counter_inc(&this_tcp_mib()->ext[(i)])
#define NET_ADD_STATS(f, n) ns_counter_add(&this_tcp_mib()->ext[LINUX_MIB_##f], (n))

uint64_t snmp_fold_tcp(unsigned int idx);
uint64_t snmp_fold_tcpext(unsigned int idx);

/* ---- sysctls (net.ipv4.tcp_*) ---- */

extern _Atomic int64_t sysctl_tcp_syncookies;
extern _Atomic int64_t sysctl_tcp_max_syn_backlog;
extern _Atomic int64_t sysctl_somaxconn;
extern _Atomic int64_t sysctl_tcp_fin_timeout;
extern _Atomic int64_t sysctl_tcp_timewait_len;
extern _Atomic int64_t sysctl_tcp_syn_retries, sysctl_tcp_synack_retries;
extern _Atomic int64_t sysctl_tcp_retries2;
extern _Atomic int64_t sysctl_tcp_keepalive_time, sysctl_tcp_keepalive_intvl,
	sysctl_tcp_keepalive_probes;
extern _Atomic int64_t sysctl_tcp_sack, sysctl_tcp_timestamps, sysctl_tcp_window_scaling;
extern _Atomic int64_t sysctl_tcp_rmem_min, sysctl_tcp_rmem_def, sysctl_tcp_rmem_max;
extern _Atomic int64_t sysctl_tcp_wmem_min, sysctl_tcp_wmem_def, sysctl_tcp_wmem_max;
extern _Atomic int64_t sysctl_tcp_challenge_ack_limit;
extern _Atomic int64_t sysctl_tcp_rto_min_ms;
extern _Atomic int64_t sysctl_tcp_reordering, sysctl_tcp_max_reordering;
extern _Atomic int64_t sysctl_tcp_delack_min_ms;

/* ---- constants (ms) ---- */
#define TCP_RTO_MAX 120000u
#define TCP_TIMEOUT_INIT 1000u
#define TCP_DELACK_MAX 200u
#define TCP_RESOURCE_PROBE_INTERVAL 500u
#define TCP_INIT_CWND 10u
#undef TCP_MSS_DEFAULT
#define TCP_MSS_DEFAULT 536u           /* RFC 9293 §3.7.1 without an MSS option */
#define TCP_MIN_MSS 88u
#define TCP_INFINITE_SSTHRESH 0x7fffffffu
#define TCP_PAWS_24DAYS (60u * 60u * 24u * 24u)
#define TCP_MAX_QUICKACKS 16u

/* ---- tcp_ipv4.c ---- */
extern const struct net_protocol tcp_protocol;
int tcp_v4_rcv(struct sk_buff *skb);
int tcp_v4_connect(struct sock *sk, const struct sockaddr *uaddr, socklen_t len);
int tcp_v4_get_port(struct sock *sk, uint32_t addr, uint16_t snum);
void tcp_hash_established(struct tcp_sock *tp);        /* lookup lock held for writing */
void tcp_unhash(struct tcp_sock *tp);                  /* takes the lookup lock */
void tcp_unhash_locked(struct tcp_sock *tp, bool port);  /* lookup lock held for writing */
void tcp_listen_hash(struct tcp_sock *tp);             /* lookup lock held for writing */
void tcp_v4_send_reset(struct sock *sk, struct sk_buff *skb);
struct iphdr;
int tcp_v4_build_reset(const struct sk_buff *skb, const struct iphdr *iph,
		       const struct tcphdr_ns *th, uint32_t end_seq);
uint32_t secure_tcp_seq(uint32_t saddr, uint32_t daddr, uint16_t sport, uint16_t dport);
void tcp_v4_init(void);
bool tcp_child_to_accept_queue(struct tcp_sock *tp, bool was_syn_recv);
void tcp_child_syn_gone(struct tcp_sock *tp);

/* ---- tcp_input.c ---- */
int tcp_rcv_state_process(struct tcp_sock *tp, struct sk_buff *skb);
int tcp_parse_options(const struct tcphdr_ns *th, struct tcp_skb_cb *cb);
void tcp_init_transfer(struct tcp_sock *tp);
/*
 * tcp_sync_mss: the path MTU to the peer is @pmtu (pmtu.h): from now on
 * every segment, headers and options included, fits it.  Only lowers
 * mss_cache; true if it did.  Owner worker.
 */
bool tcp_sync_mss(struct tcp_sock *tp, uint32_t pmtu);
void tcp_set_state(struct tcp_sock *tp, int state);
void tcp_done(struct tcp_sock *tp);
void tcp_reset(struct tcp_sock *tp, int err);
void tcp_rtt_estimator(struct tcp_sock *tp, int64_t mrtt_us);
void tcp_set_rto(struct tcp_sock *tp);
void tcp_rx_push_pre_queue(struct tcp_sock *tp);
void tcp_enter_loss(struct tcp_sock *tp);
uint32_t tcp_rx_free(struct tcp_sock *tp);

/* ---- tcp_output.c ---- */
int tcp_transmit_skb(struct tcp_sock *tp, uint32_t seq, uint32_t len, uint8_t flags);
void tcp_write_xmit(struct tcp_sock *tp, bool push_one);
void tcp_push_pending(struct tcp_sock *tp);
void tcp_check_kick(struct tcp_sock *tp);
void tcp_rcv_space_check(struct tcp_sock *tp);
void tcp_send_ack(struct tcp_sock *tp);
void tcp_send_delayed_ack(struct tcp_sock *tp);
void tcp_send_fin(struct tcp_sock *tp);
void tcp_send_active_reset(struct tcp_sock *tp);
int tcp_send_syn(struct tcp_sock *tp);
int tcp_send_synack(struct tcp_sock *tp);
int tcp_retransmit_skb(struct tcp_sock *tp, uint32_t seq, uint32_t max_len);
void tcp_xmit_retransmit_queue(struct tcp_sock *tp);
void tcp_send_probe0(struct tcp_sock *tp);
int tcp_write_wakeup(struct tcp_sock *tp);
uint32_t tcp_current_mss(struct tcp_sock *tp);
uint16_t tcp_select_window(struct tcp_sock *tp);
void tcp_update_write_seq(struct tcp_sock *tp);
uint32_t tcp_packets_in_flight(const struct tcp_sock *tp);
bool tcp_tx_has_unsent(const struct tcp_sock *tp);
uint16_t tcp_mss_for_mtu(unsigned int mtu);
uint16_t tcp_mss_options(const struct tcp_sock *tp, uint32_t mss);
uint32_t tcp_time_stamp(const struct tcp_sock *tp);

/* ---- tcp_timer.c ---- */
void tcp_init_xmit_timers(struct tcp_sock *tp);
void tcp_clear_xmit_timers(struct tcp_sock *tp);
void tcp_reset_xmit_timer(struct tcp_sock *tp, uint8_t what, uint32_t when_ms);
void tcp_clear_xmit_timer(struct tcp_sock *tp);
void tcp_rearm_rto(struct tcp_sock *tp);
/* The retransmit timer's handler (RTO, zero-window probe or loss probe,
 * as tp->pending says); the timer calls it, unit tests too. */
void tcp_write_timer_expire(struct tcp_sock *tp);
void tcp_time_wait(struct tcp_sock *tp, int state, uint32_t timeo_ms);
void tcp_reset_keepalive_timer(struct tcp_sock *tp, uint32_t when_ms);
void tcp_delete_keepalive_timer(struct tcp_sock *tp);
uint32_t keepalive_time_when(const struct tcp_sock *tp);

/* ---- tcp_cong.c / tcp_cubic.c ---- */
extern struct tcp_congestion_ops tcp_reno;
extern struct tcp_congestion_ops cubictcp;
int tcp_register_congestion_control(struct tcp_congestion_ops *ca);
const struct tcp_congestion_ops *tcp_ca_find(const char *name);
int tcp_set_congestion_control(struct tcp_sock *tp, const char *name);
void tcp_init_congestion_control(struct tcp_sock *tp);
void tcp_set_ca_state(struct tcp_sock *tp, uint8_t ca_state);
void tcp_reno_cong_avoid(struct tcp_sock *tp, uint32_t ack, uint32_t acked);
uint32_t tcp_reno_ssthresh(struct tcp_sock *tp);
uint32_t tcp_reno_undo_cwnd(struct tcp_sock *tp);
uint32_t tcp_slow_start(struct tcp_sock *tp, uint32_t acked);
void tcp_cong_avoid_ai(struct tcp_sock *tp, uint32_t w, uint32_t acked);
const char *tcp_default_ca_name(void);
int tcp_set_default_ca(const char *name);
void tcp_ca_names(char *buf, size_t len);

/* ---- tcp.c ---- */
extern const struct proto_ops tcp_ops;
int tcp_init(void);
struct tcp_sock *tcp_sock_alloc(struct sock *sk);
struct sock *tcp_create_child(struct tcp_sock *listener_copy, uint32_t saddr, uint16_t sport,
			      uint32_t daddr, uint16_t dport, int cpu);
void tcp_wake(struct tcp_sock *tp, uint32_t what);
void tcp_publish_state(struct tcp_sock *tp);
void tcp_publish_info(struct tcp_sock *tp);
extern const struct inet_protosw tcp_protosw;
const char *tcp_state_name(int state);
uint32_t tcp_ring_size(int64_t bytes);
void tcp_destroy_sock(struct tcp_sock *tp);

#endif
