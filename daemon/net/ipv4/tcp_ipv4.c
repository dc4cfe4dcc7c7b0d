/*
 * TCP over IPv4: the receive entry (tcp_v4_rcv), the socket hashes
 * (established, listening, bound ports), active open (tcp_v4_connect with
 * inet_hash_connect's port choice), passive open (tcp_v4_conn_request,
 * SYN cookies), RSTs for segments nobody wants (tcp_v4_send_reset), and
 * RFC 6528 initial sequence numbers.
 *
 * Locks.  The three hashes live under sock_lookup_lock (socket.h): any
 * worker looks up under the read lock; inserting and removing take the
 * write lock.  A segment for a socket owned by another worker is handed
 * to that worker with softnet_call() and looked up again there.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "core/checksum.h"
#include "core/clock.h"
#include "core/debug.h"
#include "core/dev.h"
#include "core/netdev.h"
#include "core/siphash.h"
#include "core/softnet.h"
#include "core/sysctl.h"
#include "core/trace.h"
#include "net/ipv4/devinet.h"
#include "net/ipv4/icmp.h"
#include "net/ipv4/ip.h"
#include "net/ipv4/pmtu.h"
#include "net/ipv4/protocol.h"
#include "net/ipv4/route.h"
#include "net/ipv4/snmp.h"
#include "net/ipv4/tcp.h"
#include "net/wire/icmp.h"
#include "net/wire/ip.h"

#define TCP_EHASH_SIZE 65536u
#define TCP_LHASH_SIZE 1024u
#define TCP_BHASH_SIZE 65536u

static struct tcp_sock *tcp_ehash[TCP_EHASH_SIZE];
static struct tcp_sock *tcp_lhash[TCP_LHASH_SIZE];
static struct sock *tcp_bhash[TCP_BHASH_SIZE];   /* by local port, via sk->hash_next */

static siphash_key_t tcp_secret;       /* ISNs */
static siphash_key_t tcp_hash_secret;  /* hash buckets, port offsets */
static siphash_key_t syncookie_secret[2];
static _Atomic uint32_t port_perturb;

void tcp_v4_init(void)
{
	siphash_key_init(&tcp_secret);
	siphash_key_init(&tcp_hash_secret);
	siphash_key_init(&syncookie_secret[0]);
	siphash_key_init(&syncookie_secret[1]);
}

static uint32_t inet_ehashfn(uint32_t laddr, uint16_t lport, uint32_t faddr, uint16_t fport)
{
	uint32_t in[3] = { laddr, faddr, ((uint32_t)lport << 16) | fport };

	return (uint32_t)siphash(in, sizeof(in), &tcp_hash_secret);
}

/* RFC 6528: M + F(localip, localport, remoteip, remoteport, secretkey), M a 4 µs clock. */
uint32_t secure_tcp_seq(uint32_t saddr, uint32_t daddr, uint16_t sport, uint16_t dport)
{
	uint32_t in[3] = { saddr, daddr, ((uint32_t)sport << 16) | dport };

	return (uint32_t)siphash(in, sizeof(in), &tcp_secret) + (uint32_t)(ns_now_ns() >> 6);
}

/* ---- the hashes (sock_lookup_lock) ---- */

static struct tcp_sock **ehash_slot(uint32_t laddr, uint16_t lport, uint32_t faddr, uint16_t fport)
{
	return &tcp_ehash[inet_ehashfn(laddr, lport, faddr, fport) & (TCP_EHASH_SIZE - 1)];
}

void tcp_hash_established(struct tcp_sock *tp)
{
	struct sock *sk = tp->sk;
	struct tcp_sock **slot = ehash_slot(sk->saddr, sk->sport, sk->daddr, sk->dport);

	tp->ehash_next = *slot;
	*slot = tp;
	tp->ehashed = true;
}

void tcp_listen_hash(struct tcp_sock *tp)
{
	struct tcp_sock **slot = &tcp_lhash[ntohs(tp->sk->sport) & (TCP_LHASH_SIZE - 1)];

	tp->lhash_next = *slot;
	*slot = tp;
	tp->lhashed = true;
}

static void bhash_add(struct sock *sk)
{
	sk_hash_link(&tcp_bhash[ntohs(sk->sport)], sk);
	sk->bound = true;
}

/* Lookup lock held for writing. */
static void __tcp_unhash(struct tcp_sock *tp)
{
	struct sock *sk = tp->sk;

	if (tp->ehashed) {
		struct tcp_sock **pp = ehash_slot(sk->saddr, sk->sport, sk->daddr, sk->dport);

		for (; *pp; pp = &(*pp)->ehash_next)
			if (*pp == tp) {
				*pp = tp->ehash_next;
				break;
			}
		tp->ehashed = false;
	}
	if (tp->lhashed) {
		struct tcp_sock **pp = &tcp_lhash[ntohs(sk->sport) & (TCP_LHASH_SIZE - 1)];

		for (; *pp; pp = &(*pp)->lhash_next)
			if (*pp == tp) {
				*pp = tp->lhash_next;
				break;
			}
		tp->lhashed = false;
	}
	sk_hash_unlink(&tcp_bhash[ntohs(sk->sport)], sk);
}

/* Unhash under the held write lock; @port: also give the local port back. */
void tcp_unhash_locked(struct tcp_sock *tp, bool port)
{
	struct sock *sk = tp->sk;
	bool hashed = sk->hashed;

	if (!port)
		sk->hashed = false;     /* keep it on the bind hash */
	__tcp_unhash(tp);
	if (!port)
		sk->hashed = hashed;
}

void tcp_unhash(struct tcp_sock *tp)
{
	pthread_rwlock_wrlock(&sock_lookup_lock);
	__tcp_unhash(tp);
	pthread_rwlock_unlock(&sock_lookup_lock);
}

/* __inet_lookup_established: (local, remote) exact match.  Read lock held. */
static struct tcp_sock *tcp_lookup_established(uint32_t laddr, uint16_t lport, uint32_t faddr,
					       uint16_t fport)
{
	for (struct tcp_sock *tp = *ehash_slot(laddr, lport, faddr, fport); tp; tp = tp->ehash_next) {
		const struct sock *sk = tp->sk;

		if (sk->sport == lport && sk->dport == fport && sk->saddr == laddr &&
		    sk->daddr == faddr)
			return tp;
	}
	return NULL;
}

/* __inet_lookup_listener: exact address beats wildcard; SO_REUSEPORT groups by hash. */
static struct tcp_sock *tcp_lookup_listener(uint32_t laddr, uint16_t lport, int ifindex,
					    uint32_t hash)
{
	struct tcp_sock *best = NULL;
	int best_score = -1;
	unsigned int matches = 0;

	for (struct tcp_sock *tp = tcp_lhash[ntohs(lport) & (TCP_LHASH_SIZE - 1)]; tp;
	     tp = tp->lhash_next) {
		const struct sock *sk = tp->sk;
		int score = 1;

		if (sk->sport != lport)
			continue;
		if (sk->saddr) {
			if (sk->saddr != laddr)
				continue;
			score += 2;
		}
		if (sk->bound_dev_if) {
			if (sk->bound_dev_if != ifindex)
				continue;
			score += 2;
		}
		if (score > best_score) {
			best = tp;
			best_score = score;
			matches = 1;
		} else if (score == best_score && sk->reuseport && best->sk->reuseport) {
			/* Reservoir choice by the flow hash: one flow, one listener. */
			matches++;
			if (hash % matches == 0)
				best = tp;
		}
	}
	return best;
}

/* ---- binding ---- */

static bool addr_overlap(const struct sock *a, uint32_t addr)
{
	return !a->saddr || !addr || a->saddr == addr;
}

/*
 * inet_csk_bind_conflict: may @sk take local port @port with address @addr?
 * Lookup lock held.
 */
static bool tcp_bind_conflict(const struct sock *sk, uint32_t addr, uint16_t port)
{
	for (const struct sock *sk2 = tcp_bhash[ntohs(port)]; sk2; sk2 = sk2->hash_next) {
		const struct tcp_sock *tp2 = tcp_sk(sk2);

		if (sk2 == sk || !addr_overlap(sk2, addr))
			continue;
		if (sk->bound_dev_if && sk2->bound_dev_if && sk->bound_dev_if != sk2->bound_dev_if)
			continue;
		if (sk->reuseport && sk2->reuseport)
			continue;
		if (sk->reuseaddr && sk2->reuseaddr && tp2->state != TCP_LISTEN)
			continue;
		return true;
	}
	return false;
}

/*
 * inet_csk_get_port: bind @sk to @addr and port @snum (network order; 0 =
 * pick one).  Lookup lock held for writing.  0 or -EADDRINUSE.
 */
int tcp_v4_get_port(struct sock *sk, uint32_t addr, uint16_t snum)
{
	if (!snum) {
		int lo = (int)sysctl_read(&sysctl_ip_local_port_lo);
		int hi = (int)sysctl_read(&sysctl_ip_local_port_hi);
		uint32_t n = (uint32_t)(hi - lo + 1);
		uint32_t off = (uint32_t)siphash(&sk->id, sizeof(sk->id), &tcp_hash_secret);

		for (uint32_t i = 0; i < n; i++) {
			uint16_t port = htons((uint16_t)(lo + (int)((off + i) % n)));

			/* bind(0) wants a port nobody uses at all (no reuse games). */
			if (!tcp_bhash[ntohs(port)]) {
				snum = port;
				break;
			}
		}
		if (!snum)
			return -EADDRINUSE;
	} else if (tcp_bind_conflict(sk, addr, snum)) {
		return -EADDRINUSE;
	}
	sk->saddr = addr;
	sk->src = addr;
	sk->sport = snum;
	bhash_add(sk);
	return 0;
}

/*
 * __inet_hash_connect: an ephemeral port for (saddr, daddr, dport) whose
 * 4-tuple is unique and that no bind()/listen() owns.  Lookup lock held
 * for writing.
 */
static int tcp_hash_connect(struct sock *sk)
{
	int lo = (int)sysctl_read(&sysctl_ip_local_port_lo);
	int hi = (int)sysctl_read(&sysctl_ip_local_port_hi);
	uint32_t n = (uint32_t)(hi - lo + 1);
	uint32_t in[2] = { sk->daddr, sk->dport };
	uint32_t off = (uint32_t)siphash(in, sizeof(in), &tcp_hash_secret) +
		       atomic_fetch_add_explicit(&port_perturb, 2, memory_order_relaxed);

	for (uint32_t i = 0; i < n; i++) {
		uint16_t port = htons((uint16_t)(lo + (int)((off + i) % n)));
		bool usable = true;

		for (const struct sock *sk2 = tcp_bhash[ntohs(port)]; sk2; sk2 = sk2->hash_next)
			if (!(sk2->userlocks & SOCK_CONNECT_BIND)) {
				usable = false;
				break;
			}
		if (!usable || tcp_lookup_established(sk->saddr, port, sk->daddr, sk->dport))
			continue;
		sk->sport = port;
		sk->userlocks |= SOCK_CONNECT_BIND;
		bhash_add(sk);
		return 0;
	}
	return -EADDRNOTAVAIL;
}

/* ---- active open ---- */

int tcp_v4_connect(struct sock *sk, const struct sockaddr *uaddr, socklen_t len)
{
	struct tcp_sock *tp = tcp_sk(sk);
	struct fib_result res;
	uint32_t daddr;
	uint16_t dport;
	int err;

	if (sk->family == AF_INET6) {
		struct sockaddr_in6 sin6;

		if (len < 24)
			return -EINVAL;
		memset(&sin6, 0, sizeof(sin6));
		memcpy(&sin6, uaddr, len < sizeof(sin6) ? len : sizeof(sin6));
		if (sin6.sin6_family != AF_INET6)
			return -EAFNOSUPPORT;
		if (!IN6_IS_ADDR_V4MAPPED(&sin6.sin6_addr) || sk->v6only)
			return -ENETUNREACH;
		memcpy(&daddr, &sin6.sin6_addr.s6_addr[12], 4);
		dport = sin6.sin6_port;
	} else {
		struct sockaddr_in sin;

		if (len < sizeof(sin))
			return -EINVAL;
		memcpy(&sin, uaddr, sizeof(sin));
		if (sin.sin_family != AF_INET)
			return -EAFNOSUPPORT;
		daddr = sin.sin_addr.s_addr;
		dport = sin.sin_port;
	}
	switch (tp->state) {
	case TCP_CLOSE:
		break;
	case TCP_SYN_SENT:
	case TCP_SYN_RECV:
		return -EALREADY;
	case TCP_LISTEN:
		return -EINVAL;
	default:
		return -EISCONN;
	}
	if (!daddr)
		daddr = htonl(INADDR_LOOPBACK);
	if (fib_lookup(daddr, &res) < 0 || !res.dev) {
		__IP_INC_STATS(OUTNOROUTES);
		return -ENETUNREACH;
	}
	if (res.type == RTN_BROADCAST || res.type == RTN_MULTICAST)
		return -ENETUNREACH;

	pthread_rwlock_wrlock(&sock_lookup_lock);
	if (!sk->saddr) {
		sk->saddr = res.prefsrc;
		sk->src = res.prefsrc;
	}
	sk->daddr = daddr;
	sk->dport = dport;
	if (!sk->sport) {
		err = tcp_hash_connect(sk);
	} else if (tcp_lookup_established(sk->saddr, sk->sport, daddr, dport)) {
		err = -EADDRNOTAVAIL;
	} else {
		err = 0;
	}
	if (err) {
		sk->daddr = 0;
		sk->dport = 0;
		if (!(sk->userlocks & SOCK_BINDADDR_LOCK))
			sk->saddr = sk->src = 0;
		pthread_rwlock_unlock(&sock_lookup_lock);
		return err;
	}
	sk->connected = true;
	tp->state = TCP_SYN_SENT;
	tcp_hash_established(tp);
	pthread_rwlock_unlock(&sock_lookup_lock);
	/* RFS: the SYN-ACK and what follows are steered to this, the owner. */
	rps_record_sock_flow(flow_hash_v4(sk->daddr, sk->saddr, sk->dport, sk->sport, IPPROTO_TCP));

	tp->iss = secure_tcp_seq(sk->saddr, sk->daddr, sk->sport, sk->dport);
	tp->tsoffset = (uint32_t)siphash(&tp->iss, sizeof(tp->iss), &tcp_hash_secret);
	tcp_init_transfer(tp);          /* the MSS we announce follows the route to daddr */
	tcp_set_state(tp, TCP_SYN_SENT);
	TCP_INC_STATS(ACTIVEOPENS);
	err = tcp_send_syn(tp);
	if (err && err != -ENOBUFS) {
		tcp_set_state(tp, TCP_CLOSE);
		tcp_unhash(tp);
		pthread_rwlock_wrlock(&sock_lookup_lock);
		sk->connected = false;
		sk->daddr = 0;
		sk->dport = 0;
		pthread_rwlock_unlock(&sock_lookup_lock);
		return err;
	}
	return -EINPROGRESS;
}

/* ---- RST for segments nobody owns ---- */

/*
 * The RST answering segment @th of @iph in @skb (RFC 9293 §3.10.7.1):
 * never in answer to a RST; if the segment had an ACK, seq = its ack;
 * otherwise seq 0 and ack = @end_seq, its end.  Shared by
 * tcp_v4_send_reset and netfilter's REJECT --reject-with tcp-reset
 * (nf_send_reset), which counts no TCP MIB.  0 if it was sent.
 */
int tcp_v4_build_reset(const struct sk_buff *skb, const struct iphdr *iph,
		       const struct tcphdr_ns *th, uint32_t end_seq)
{
	struct tcphdr_ns *rth;
	struct sk_buff *nskb;
	uint32_t sum;

	if (th->flags & TCPHDR_RST)
		return -EINVAL;
	if (skb->pkt_type != PACKET_HOST)
		return -EINVAL;
	nskb = alloc_skb(NS_MAX_HEADER + sizeof(*rth));
	if (!nskb)
		return -ENOMEM;
	skb_reserve(nskb, NS_MAX_HEADER);
	rth = skb_put(nskb, sizeof(*rth));
	memset(rth, 0, sizeof(*rth));
	rth->source = th->dest;
	rth->dest = th->source;
	rth->doff_res = (sizeof(*rth) / 4) << 4;
	if (th->flags & TCPHDR_ACK) {
		rth->seq = th->ack_seq;
		rth->flags = TCPHDR_RST;
	} else {
		rth->ack_seq = htonl(end_seq);
		rth->flags = TCPHDR_RST | TCPHDR_ACK;
	}
	sum = csum_partial(rth, sizeof(*rth), 0);
	rth->check = csum_fold(csum_tcpudp_nofold(iph->daddr, iph->saddr, sizeof(*rth),
						  IPPROTO_TCP, sum));
	skb_reset_transport_header(nskb);
	skb_trace_continue(nskb, skb, NS_TRACE_TCP_SEND_RESET);
	IPCB(nskb)->flags = IPSKB_DF;
	(void)ip_build_and_send_pkt(nskb, iph->daddr, iph->saddr, IPPROTO_TCP, 0, 0);
	return 0;
}

void tcp_v4_send_reset(struct sock *sk, struct sk_buff *skb)
{
	(void)sk;
	if (tcp_v4_build_reset(skb, (const struct iphdr *)skb_network_header(skb),
			       (const struct tcphdr_ns *)skb_transport_header(skb),
			       TCP_SKB_CB(skb)->end_seq) == 0) {
		TCP_INC_STATS(OUTSEGS);
		TCP_INC_STATS(OUTRSTS);
	}
}

/* ---- SYN cookies (RFC 4987 §3.6) ---- */

/*
 * The cookie is our ISN: 5 bits of a 64-second counter, 2 bits of an MSS
 * table index and 25 bits of a keyed hash over the 4-tuple, the peer's ISN
 * and the counter.  Options other than MSS are not kept (no timestamp
 * encoding), so a cookie connection runs without SACK and window scaling.
 */
static const uint16_t msstab[] = { 536, 1300, 1440, 1460 };

static uint32_t cookie_hash(uint32_t saddr, uint32_t daddr, uint16_t sport, uint16_t dport,
			    uint32_t peer_isn, uint32_t count)
{
	uint32_t in[5] = { saddr, daddr, ((uint32_t)sport << 16) | dport, peer_isn, count };

	return (uint32_t)siphash(in, sizeof(in), &syncookie_secret[0]);
}

static uint32_t cookie_count(void)
{
	return (uint32_t)(ns_jiffies() / 64000u);
}

static uint32_t cookie_v4_init_sequence(uint32_t saddr, uint32_t daddr, uint16_t sport,
					uint16_t dport, uint32_t peer_isn, uint16_t *mss)
{
	uint32_t count = cookie_count();
	unsigned int idx = 0;

	for (unsigned int i = 0; i < sizeof(msstab) / sizeof(msstab[0]); i++)
		if (*mss >= msstab[i])
			idx = i;
	*mss = msstab[idx];
	return ((count & 31u) << 27) | ((uint32_t)idx << 25) |
	       (cookie_hash(saddr, daddr, sport, dport, peer_isn, count) & 0x1ffffffu);
}

/* The MSS the cookie in @ack - 1 encodes, or 0 if it is not one of ours (2 minutes). */
static uint16_t cookie_v4_check(uint32_t saddr, uint32_t daddr, uint16_t sport, uint16_t dport,
				uint32_t peer_isn, uint32_t cookie)
{
	uint32_t now = cookie_count();

	for (uint32_t age = 0; age < 2; age++) {
		uint32_t count = now - age;

		if (((cookie >> 27) & 31u) != (count & 31u))
			continue;
		if ((cookie & 0x1ffffffu) ==
		    (cookie_hash(saddr, daddr, sport, dport, peer_isn, count) & 0x1ffffffu))
			return msstab[(cookie >> 25) & 3u];
	}
	return 0;
}

/* ---- passive open ---- */

/* What a SYN needs from its listener, copied under the read lock. */
struct listen_tmpl {
	struct sock sk;                 /* options copied for sock_alloc_child */
	uint64_t id;
	int backlog;
	int syn_qlen;
	uint32_t accept_qlen;
	bool nodelay;
	uint16_t user_mss;
	int keepidle, keepintvl, keepcnt, linger2;
	const struct tcp_congestion_ops *ca_ops;
};

static void tmpl_from(struct listen_tmpl *t, const struct tcp_sock *lp)
{
	memcpy(&t->sk, lp->sk, sizeof(t->sk));
	t->id = lp->sk->id;
	t->backlog = lp->backlog;
	t->syn_qlen = atomic_load_explicit(&lp->syn_qlen, memory_order_relaxed);
	t->accept_qlen = atomic_load_explicit(&lp->accept_qlen, memory_order_relaxed);
	t->nodelay = lp->nodelay;
	t->user_mss = lp->user_mss;
	t->keepidle = lp->keepidle;
	t->keepintvl = lp->keepintvl;
	t->keepcnt = lp->keepcnt;
	t->linger2 = lp->linger2;
	t->ca_ops = lp->ca_ops;
}

/* The listener @id on @port, or NULL.  Lookup lock held. */
static struct tcp_sock *tcp_find_listener_id(uint16_t port, uint64_t id)
{
	for (struct tcp_sock *tp = tcp_lhash[ntohs(port) & (TCP_LHASH_SIZE - 1)]; tp;
	     tp = tp->lhash_next)
		if (tp->sk->id == id && tp->state == TCP_LISTEN)
			return tp;
	return NULL;
}

/*
 * Make the child for a SYN (or a valid cookie ACK): a socket owned by the
 * calling worker in SYN_RECV (or ESTABLISHED for a cookie), hashed.
 * Returns the child, or NULL (counted) if it could not be made.
 */
static struct tcp_sock *tcp_v4_syn_recv_sock(const struct listen_tmpl *t, struct sk_buff *skb,
					     bool cookie, uint32_t cookie_isn, uint16_t cookie_mss)
{
	const struct iphdr *iph = (const struct iphdr *)skb_network_header(skb);
	const struct tcphdr_ns *th = (const struct tcphdr_ns *)skb_transport_header(skb);
	const struct tcp_skb_cb *cb = TCP_SKB_CB(skb);
	int cpu = smp_processor_id();
	struct tcp_sock *tp, *lp;
	struct sock *sk;

	sk = sock_alloc_child(&t->sk, cpu < 0 ? 0 : cpu);
	if (!sk)
		return NULL;
	sock_mark_rx_cpu(sk);           /* the SYN (or cookie ACK) came in here */
	tp = tcp_sock_alloc(sk);
	if (!tp) {
		sock_destroy(sk);
		return NULL;
	}
	sk->saddr = iph->daddr;
	sk->src = iph->daddr;
	sk->sport = th->dest;
	sk->daddr = iph->saddr;
	sk->dport = th->source;
	sk->connected = true;
	sk->bound = true;
	tp->listener_id = t->id;
	tp->nodelay = t->nodelay;
	tp->user_mss = t->user_mss;
	tp->keepidle = t->keepidle;
	tp->keepintvl = t->keepintvl;
	tp->keepcnt = t->keepcnt;
	tp->linger2 = t->linger2;
	if (t->ca_ops)
		tp->ca_ops = t->ca_ops;

	/* A cookie ACK's seq is already their ISN + 1. */
	tp->irs = cookie ? cb->seq - 1 : cb->seq;
	tp->rcv_nxt = tp->irs + 1;
	tp->rcv_wup = tp->rcv_nxt;
	if (cookie) {
		tp->iss = cookie_isn;
		tp->rx_mss = cookie_mss;
		tp->snd_una = cookie_isn + 1;
		tp->snd_nxt = cookie_isn + 1;
		tp->wscale_ok = tp->sack_ok = tp->tstamp_ok = false;
		tp->snd_wscale = tp->rcv_wscale = 0;
	} else {
		tp->iss = secure_tcp_seq(sk->saddr, sk->daddr, sk->sport, sk->dport);
		tp->snd_una = tp->iss;
		tp->snd_nxt = tp->iss + 1;
		tp->rx_mss = cb->mss;
		tp->sack_ok = cb->sack_perm && sysctl_read(&sysctl_tcp_sack);
		tp->tstamp_ok = cb->has_ts && sysctl_read(&sysctl_tcp_timestamps);
		tp->wscale_ok = cb->wscale_ok && sysctl_read(&sysctl_tcp_window_scaling);
		tp->snd_wscale = tp->wscale_ok ? cb->snd_wscale : 0;
		if (!tp->wscale_ok)
			tp->rcv_wscale = 0;
		if (tp->tstamp_ok) {
			tp->ts_recent = cb->rcv_tsval;
			tp->ts_recent_stamp = ns_jiffies();
		}
	}
	tp->tsoffset = (uint32_t)siphash(&tp->iss, sizeof(tp->iss), &tcp_hash_secret);
	tp->snd_wl1 = cb->seq;
	tp->snd_wnd = cb->window;       /* a SYN's window is never scaled */
	tp->max_window = tp->snd_wnd;
	tp->write_seq = tp->iss + 1;

	pthread_rwlock_wrlock(&sock_lookup_lock);
	lp = tcp_find_listener_id(sk->sport, t->id);
	if (!lp || tcp_lookup_established(sk->saddr, sk->sport, sk->daddr, sk->dport)) {
		pthread_rwlock_unlock(&sock_lookup_lock);
		tcp_destroy_sock(tp);
		return NULL;
	}
	tcp_hash_established(tp);
	bhash_add(sk);
	if (!cookie)
		atomic_fetch_add_explicit(&lp->syn_qlen, 1, memory_order_relaxed);
	pthread_rwlock_unlock(&sock_lookup_lock);
	tcp_set_state(tp, cookie ? TCP_ESTABLISHED : TCP_SYN_RECV);
	return tp;
}

/*
 * Put established child @tp on its listener's accept queue and wake
 * accept().  False if the listener is gone or its queue is full (the
 * caller drops the ACK; the SYN-ACK timer retries, as the kernel).
 */
bool tcp_child_to_accept_queue(struct tcp_sock *tp, bool was_syn_recv)
{
	struct tcp_sock *lp;
	bool ok = false;

	pthread_rwlock_rdlock(&sock_lookup_lock);
	lp = tcp_find_listener_id(tp->sk->sport, tp->listener_id);
	if (lp) {
		pthread_mutex_lock(&lp->accept_lock);
		if (atomic_load_explicit(&lp->accept_qlen, memory_order_relaxed) >
		    (uint32_t)lp->backlog) {
			NET_INC_STATS(LISTENOVERFLOWS);
			NET_INC_STATS(LISTENDROPS);
		} else {
			tp->accept_next = NULL;
			if (lp->accept_tail)
				lp->accept_tail->accept_next = tp;
			else
				lp->accept_head = tp;
			lp->accept_tail = tp;
			atomic_store_explicit(&tp->sk->refs, 0, memory_order_relaxed);
			tp->in_accept_q = true;
			atomic_fetch_add_explicit(&lp->accept_qlen, 1, memory_order_relaxed);
			if (was_syn_recv)
				atomic_fetch_sub_explicit(&lp->syn_qlen, 1, memory_order_relaxed);
			ok = true;
		}
		pthread_mutex_unlock(&lp->accept_lock);
		if (ok) {
			if (lp->sk->shm)
				atomic_store_explicit(&lp->sk->shm->accept_q,
						      atomic_load_explicit(&lp->accept_qlen,
									   memory_order_relaxed),
						      memory_order_release);
			sock_wake(lp->sk, NS_WAIT_RX);
		}
	}
	pthread_rwlock_unlock(&sock_lookup_lock);
	return ok;
}

/* A SYN_RECV child died before completing: give its slot back. */
void tcp_child_syn_gone(struct tcp_sock *tp)
{
	struct tcp_sock *lp;

	pthread_rwlock_rdlock(&sock_lookup_lock);
	lp = tcp_find_listener_id(tp->sk->sport, tp->listener_id);
	if (lp)
		atomic_fetch_sub_explicit(&lp->syn_qlen, 1, memory_order_relaxed);
	pthread_rwlock_unlock(&sock_lookup_lock);
}

/* The listener's half of a segment (tcp_v4_do_rcv for TCP_LISTEN).  Read lock held on entry; released. */
static int tcp_v4_listen_rcv(struct tcp_sock *lp, struct sk_buff *skb)
{
	const struct iphdr *iph = (const struct iphdr *)skb_network_header(skb);
	const struct tcphdr_ns *th = (const struct tcphdr_ns *)skb_transport_header(skb);
	struct tcp_skb_cb *cb = TCP_SKB_CB(skb);
	struct listen_tmpl t;
	struct tcp_sock *child;
	int max_syn;

	tmpl_from(&t, lp);
	sock_mark_rx_cpu(lp->sk);
	pthread_rwlock_unlock(&sock_lookup_lock);

	if (cb->tcp_flags & TCPHDR_RST) {
		kfree_skb_reason(skb, SKB_DROP_REASON_TCP_RESET);
		return 0;
	}
	if (cb->tcp_flags & TCPHDR_ACK) {
		/* Third ACK of a cookie handshake, or garbage: RFC 9293 says RST. */
		uint16_t mss = 0;

		if (!(cb->tcp_flags & TCPHDR_SYN) && sysctl_read(&sysctl_tcp_syncookies))
			mss = cookie_v4_check(iph->saddr, iph->daddr, th->source, th->dest,
					      cb->seq - 1, cb->ack_seq - 1);
		if (!mss) {
			if (!(cb->tcp_flags & TCPHDR_SYN) && sysctl_read(&sysctl_tcp_syncookies))
				NET_INC_STATS(SYNCOOKIESFAILED);
			tcp_v4_send_reset(NULL, skb);
			kfree_skb_reason(skb, SKB_DROP_REASON_TCP_FLAGS);
			return 0;
		}
		NET_INC_STATS(SYNCOOKIESRECV);
		if (t.accept_qlen > (uint32_t)t.backlog) {
			NET_INC_STATS(LISTENOVERFLOWS);
			NET_INC_STATS(LISTENDROPS);
			kfree_skb_reason(skb, SKB_DROP_REASON_TCP_LISTEN_OVERFLOW);
			return 0;
		}
		child = tcp_v4_syn_recv_sock(&t, skb, true, cb->ack_seq - 1, mss);
		if (!child) {
			NET_INC_STATS(LISTENDROPS);
			kfree_skb_reason(skb, SKB_DROP_REASON_NOMEM);
			return 0;
		}
		tcp_init_transfer(child);
		TCP_INC_STATS(PASSIVEOPENS);
		if (!tcp_child_to_accept_queue(child, false)) {
			tcp_send_active_reset(child);
			tcp_done(child);
			kfree_skb_reason(skb, SKB_DROP_REASON_TCP_LISTEN_OVERFLOW);
			return 0;
		}
		/* The ACK may carry data: let the child take it. */
		return tcp_rcv_state_process(child, skb);
	}
	if (!(cb->tcp_flags & TCPHDR_SYN) || (cb->tcp_flags & TCPHDR_FIN)) {
		kfree_skb_reason(skb, SKB_DROP_REASON_TCP_FLAGS);
		return 0;
	}
	/* Accept queue full: drop the SYN (the peer retries), as the kernel. */
	if (t.accept_qlen > (uint32_t)t.backlog) {
		NET_INC_STATS(LISTENOVERFLOWS);
		NET_INC_STATS(LISTENDROPS);
		kfree_skb_reason(skb, SKB_DROP_REASON_TCP_LISTEN_OVERFLOW);
		return 0;
	}
	max_syn = t.backlog;
	if (max_syn > (int)sysctl_read(&sysctl_tcp_max_syn_backlog))
		max_syn = (int)sysctl_read(&sysctl_tcp_max_syn_backlog);
	if (max_syn < 8)
		max_syn = 8;
	if (t.syn_qlen >= max_syn) {
		uint16_t mss = cb->mss ? cb->mss : TCP_MSS_DEFAULT;
		struct tcp_sock tmp;
		struct sock tsk;
		uint32_t isn;

		if (!sysctl_read(&sysctl_tcp_syncookies)) {
			NET_INC_STATS(LISTENDROPS);
			kfree_skb_reason(skb, SKB_DROP_REASON_TCP_LISTEN_OVERFLOW);
			return 0;
		}
		/* Stateless SYN-ACK from a throw-away socket on the stack. */
		isn = cookie_v4_init_sequence(iph->saddr, iph->daddr, th->source, th->dest,
					      cb->seq, &mss);
		memset(&tsk, 0, sizeof(tsk));
		memset(&tmp, 0, sizeof(tmp));
		tsk.proto_priv = &tmp;
		tsk.saddr = tsk.src = iph->daddr;
		tsk.daddr = iph->saddr;
		tsk.sport = th->dest;
		tsk.dport = th->source;
		tsk.ttl = t.sk.ttl;
		tsk.tos = t.sk.tos;
		tmp.sk = &tsk;
		tmp.state = TCP_SYN_RECV;
		tmp.iss = isn;
		tmp.snd_una = isn;
		tmp.snd_nxt = isn + 1;
		tmp.rcv_nxt = cb->seq + 1;
		tmp.rx_mss = mss;
		tmp.advmss = mss;
		tmp.rcv_space = tcp_ring_size(sysctl_read(&sysctl_tcp_rmem_def));
		(void)tcp_send_synack(&tmp);
		NET_INC_STATS(SYNCOOKIESSENT);
		consume_skb(skb);
		return 0;
	}
	child = tcp_v4_syn_recv_sock(&t, skb, false, 0, 0);
	if (!child) {
		NET_INC_STATS(LISTENDROPS);
		kfree_skb_reason(skb, SKB_DROP_REASON_NOMEM);
		return 0;
	}
	tcp_init_transfer(child);
	(void)tcp_send_synack(child);
	tcp_reset_keepalive_timer(child, child->rto);   /* SYN-ACK retransmit */
	consume_skb(skb);
	return 0;
}

/* ---- receive ---- */

static int tcp_v4_rcv_owner(struct sk_buff *skb, bool handed);

static void tcp_v4_rcv_remote(void *arg)
{
	(void)tcp_v4_rcv_owner(arg, true);
}

/* Checksum over the pseudo-header and the segment. */
static bool tcp_v4_csum_ok(const struct sk_buff *skb, const struct iphdr *iph)
{
	uint32_t sum;

	if (skb->ip_summed == CHECKSUM_UNNECESSARY)
		return true;
	sum = skb_checksum(skb, 0, skb->len, 0);
	return csum_fold(csum_tcpudp_nofold(iph->saddr, iph->daddr, skb->len, IPPROTO_TCP,
					    sum)) == 0;
}

int tcp_v4_rcv(struct sk_buff *skb)
{
	const struct iphdr *iph = (const struct iphdr *)skb_network_header(skb);
	const struct tcphdr_ns *th;
	struct tcp_skb_cb *cb = TCP_SKB_CB(skb);
	unsigned int doff;

	skb_trace(skb, NS_TRACE_TCP_V4_RCV, 0);
	if (skb->pkt_type != PACKET_HOST) {
		kfree_skb_reason(skb, SKB_DROP_REASON_TCP_NOT_HOST);
		return -1;
	}
	if (!skb_may_pull(skb, sizeof(struct tcphdr_ns))) {
		TCP_INC_STATS(INERRS);
		kfree_skb_reason(skb, SKB_DROP_REASON_TCP_TRUNCATED);
		return -1;
	}
	th = (const struct tcphdr_ns *)skb->data;
	doff = tcp_hdrlen_of(th);
	if (doff < sizeof(*th) || !skb_may_pull(skb, doff)) {
		TCP_INC_STATS(INERRS);
		kfree_skb_reason(skb, SKB_DROP_REASON_TCP_BAD_DOFF);
		return -1;
	}
	if (!tcp_v4_csum_ok(skb, iph)) {
		TCP_INC_STATS(INCSUMERRORS);
		TCP_INC_STATS(INERRS);
		kfree_skb_reason(skb, SKB_DROP_REASON_TCP_CSUM);
		return -1;
	}
	skb->ip_summed = CHECKSUM_UNNECESSARY;
	skb_reset_transport_header(skb);
	/* A GRO packet counts as its segments (the kernel adds gso_segs). */
	TCP_ADD_STATS(INSEGS, skb_gso_segs(skb));

	memset(cb, 0, sizeof(*cb));
	cb->seq = ntohl(th->seq);
	cb->ack_seq = ntohl(th->ack_seq);
	cb->tcp_flags = th->flags;
	cb->window = ntohs(th->window);
	cb->doff = (uint8_t)doff;
	cb->end_seq = cb->seq + (skb->len - doff) + !!(th->flags & TCPHDR_SYN) +
		      !!(th->flags & TCPHDR_FIN);
	if (tcp_parse_options(th, cb) < 0) {
		TCP_INC_STATS(INERRS);
		kfree_skb_reason(skb, SKB_DROP_REASON_TCP_OPTIONS);
		return -1;
	}
	return tcp_v4_rcv_owner(skb, false);
}

/*
 * Find the socket for @skb (transport header parsed into its cb) and
 * process it on the socket's owner.  @handed: we are the owner a
 * non-owner handed the segment to.
 */
static int tcp_v4_rcv_owner(struct sk_buff *skb, bool handed)
{
	const struct iphdr *iph = (const struct iphdr *)skb_network_header(skb);
	const struct tcphdr_ns *th = (const struct tcphdr_ns *)skb_transport_header(skb);
	struct tcp_sock *tp, *lp;
	int cpu = smp_processor_id();

lookup:
	pthread_rwlock_rdlock(&sock_lookup_lock);
	tp = tcp_lookup_established(iph->daddr, th->dest, iph->saddr, th->source);
	if (tp) {
		int owner = tp->sk->owner_cpu;

		if (!handed)
			sock_mark_rx_cpu(tp->sk);
		pthread_rwlock_unlock(&sock_lookup_lock);
		if (owner != cpu && cpu >= 0 && !handed && softnet_get(owner)) {
			NET_INC_STATS(TCPTOBACKLOG);
			if (softnet_call(owner, tcp_v4_rcv_remote, skb) != 0)
				kfree_skb_reason(skb, SKB_DROP_REASON_NOMEM);
			return 0;
		}
		if (owner != cpu && cpu >= 0 && handed) {
			/* Ownership cannot move; a second hand-off would loop. */
			kfree_skb_reason(skb, SKB_DROP_REASON_TCP_NO_SOCKET);
			return 0;
		}
		/* RFS: RPS sends this flow's next frames to the owner (here). */
		if (skb->l4_hash)
			rps_record_sock_flow(skb->hash);
		if (tp->state == TCP_TIME_WAIT && (TCP_SKB_CB(skb)->tcp_flags & TCPHDR_SYN) &&
		    !(TCP_SKB_CB(skb)->tcp_flags & (TCPHDR_ACK | TCPHDR_RST)) &&
		    after(TCP_SKB_CB(skb)->seq, tp->rcv_nxt)) {
			/* RFC 9293 §3.10.7.4 / tcp_timewait_state_process: a new incarnation. */
			tcp_done(tp);
			goto lookup;
		}
		return tcp_rcv_state_process(tp, skb);
	}
	lp = tcp_lookup_listener(iph->daddr, th->dest, skb->dev ? skb->dev->ifindex : 0,
				 skb->l4_hash ? skb->hash : 0);
	if (lp)
		return tcp_v4_listen_rcv(lp, skb);      /* unlocks */
	pthread_rwlock_unlock(&sock_lookup_lock);
	tcp_v4_send_reset(NULL, skb);
	kfree_skb_reason(skb, SKB_DROP_REASON_TCP_NO_SOCKET);
	return 0;
}

/* ---- ICMP errors (tcp_v4_err) ---- */

/* An ICMP error about one of our segments, as the owner needs it. */
struct tcp_icmp_err {
	uint32_t saddr, daddr;          /* our address, the peer's */
	uint16_t sport, dport;
	uint32_t seq;
	uint8_t type, code;
	uint32_t info;
};

static void tcp_v4_err_owner(const struct tcp_icmp_err *e)
{
	struct tcp_sock *tp;
	int err = 0;

	pthread_rwlock_rdlock(&sock_lookup_lock);
	tp = tcp_lookup_established(e->saddr, e->sport, e->daddr, e->dport);
	pthread_rwlock_unlock(&sock_lookup_lock);
	/* Only the owner runs this, and only the owner frees tp. */
	if (!tp || !between(e->seq, tp->snd_una, tp->snd_nxt))
		return;
	switch (e->type) {
	case ICMP_DEST_UNREACH:
		if (e->code == ICMP_FRAG_NEEDED) {
			/*
			 * Path MTU discovery (RFC 1191, tcp_v4_mtu_reduced): the
			 * destination's path MTU learns @info (pmtu.c, shared with
			 * every socket: below min_pmtu it is clamped and locked),
			 * then what no longer fits is resent at the new size.
			 */
			ip_rt_update_pmtu(e->daddr, e->info);
			if (tp->sk->pmtudisc != IP_PMTUDISC_DONT &&
			    tcp_sync_mss(tp, ip_rt_get_pmtu(e->daddr)))
				tcp_retransmit_skb(tp, tp->snd_una, tp->mss_cache);
			return;
		}
		err = e->code == ICMP_PORT_UNREACH ? ECONNREFUSED :
		      e->code == ICMP_PROT_UNREACH ? ENOPROTOOPT :
		      e->code == ICMP_NET_UNREACH ? ENETUNREACH : EHOSTUNREACH;
		break;
	case ICMP_TIME_EXCEEDED:
		err = EHOSTUNREACH;
		break;
	default:
		return;
	}
	if (tp->state == TCP_SYN_SENT && (err == ECONNREFUSED || tp->retransmits)) {
		/* A hard error during connect (RFC 1122 §4.2.3.9 makes most soft;
		 * Linux aborts on them once a retransmit failed). */
		tcp_reset(tp, err);
		return;
	}
	tp->soft_err = err;
}

static void tcp_v4_err_remote(void *arg)
{
	tcp_v4_err_owner(arg);
	free(arg);
}

static void tcp_v4_err(struct sk_buff *skb, uint8_t type, uint8_t code, uint32_t info)
{
	const struct iphdr *iph = (const struct iphdr *)skb_network_header(skb);
	const struct tcphdr_ns *th = (const struct tcphdr_ns *)skb->data;
	struct tcp_icmp_err e, *copy;
	struct tcp_sock *tp;
	int owner, cpu = smp_processor_id();

	if (skb->len < 8)
		return;
	e.saddr = iph->saddr;
	e.daddr = iph->daddr;
	e.sport = th->source;
	e.dport = th->dest;
	e.seq = ntohl(th->seq);
	e.type = type;
	e.code = code;
	e.info = info;
	pthread_rwlock_rdlock(&sock_lookup_lock);
	tp = tcp_lookup_established(e.saddr, e.sport, e.daddr, e.dport);
	owner = tp ? tp->sk->owner_cpu : -1;
	pthread_rwlock_unlock(&sock_lookup_lock);
	if (!tp)
		return;
	if (cpu < 0 || owner == cpu || !softnet_get(owner)) {
		tcp_v4_err_owner(&e);
		return;
	}
	/* RPS hashed the ICMP message by its outer addresses: hand it to the owner. */
	copy = malloc(sizeof(*copy));
	if (!copy)
		return;
	*copy = e;
	if (softnet_call(owner, tcp_v4_err_remote, copy) != 0)
		free(copy);
}

const struct net_protocol tcp_protocol = {
	.name = "tcp",
	.handler = tcp_v4_rcv,
	.err_handler = tcp_v4_err,
};
