/*
 * The datagram socket machinery shared by UDP, ping and raw sockets: the
 * receive queue (the kernel's __sock_queue_rcv_skb, here a record in the
 * socket's shared-memory rx ring), the transmit loop over the tx ring,
 * connect/getname/shutdown of inet datagram sockets, and the error queue
 * that IP_RECVERR fills (ip_icmp_error of ip_sockglue.c).
 *
 * Context.  Receive and ip_icmp_error run on any worker with
 * sock_lookup_lock held for reading (the caller found the socket under
 * it); the rx ring's producer side and the error queue are under
 * sk->rx_lock, since several workers may deliver to one socket.  The
 * transmit loop and the socket operations run on the owner worker; those
 * that change what a lookup reads take sock_lookup_lock for writing.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/errqueue.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/clock.h"
#include "core/debug.h"
#include "core/netdev.h"
#include "core/skb.h"
#include "core/trace.h"
#include "net/ipv4/datagram.h"
#include "net/ipv4/icmp.h"
#include "net/ipv4/ip.h"
#include "net/ipv4/pmtu.h"
#include "net/ipv4/route.h"
#include "net/ipv4/snmp.h"
#include "net/sock_bell.h"
#include "net/socket.h"
#include "net/wire/icmp.h"
#include "net/wire/ip.h"

/* ---- receive ------------------------------------------------------------------ */

void sock_mark_dead(struct sock *sk)
{
	sock_state_set(sk, NS_SS_DEAD);
	sock_wake(sk, NS_WAIT_RX | NS_WAIT_TX);
}

/* CLOCK_REALTIME in microseconds, modulo 2^32 (ns_dgram.tstamp_us). */
static uint32_t dgram_tstamp_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint32_t)((uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u);
}

void dgram_rcv_info(const struct sock *sk, struct ns_dgram *hdr, const struct sk_buff *skb,
		    uint32_t saddr, uint16_t port, uint32_t len)
{
	const struct iphdr *iph = (const struct iphdr *)skb_network_header(skb);

	memset(hdr, 0, sizeof(*hdr));
	hdr->len = len;
	hdr->flags = NS_DGRAM_F_PKTINFO;
	if (IPCB(skb)->rt_type == RTN_BROADCAST || skb->pkt_type == PACKET_BROADCAST)
		hdr->flags |= NS_DGRAM_F_BCAST;
	hdr->ifindex = skb->dev ? (uint32_t)skb->dev->ifindex : 0;
	hdr->dst = iph->daddr;
	hdr->tos = iph->tos;
	hdr->ttl = iph->ttl;
	if (sk->timestamp) {
		/* The software receive stamp: when the stack queued it for the socket. */
		hdr->flags |= NS_DGRAM_F_TSTAMP;
		hdr->tstamp_us = dgram_tstamp_now();
	}
	if (sk->family == AF_INET6) {
		struct sockaddr_in6 sin6;

		memset(&sin6, 0, sizeof(sin6));
		sin6.sin6_family = AF_INET6;
		sin6.sin6_port = port;
		sin6.sin6_addr.s6_addr[10] = 0xff;
		sin6.sin6_addr.s6_addr[11] = 0xff;
		memcpy(&sin6.sin6_addr.s6_addr[12], &saddr, 4);
		memcpy(hdr->addr, &sin6, sizeof(sin6));
		hdr->addrlen = sizeof(sin6);
	} else {
		struct sockaddr_in sin;

		memset(&sin, 0, sizeof(sin));
		sin.sin_family = AF_INET;
		sin.sin_port = port;
		sin.sin_addr.s_addr = saddr;
		memcpy(hdr->addr, &sin, sizeof(sin));
		hdr->addrlen = sizeof(sin);
	}
}

int sock_queue_rcv(struct sock *sk, struct ns_dgram *hdr, const void *data)
{
	uint64_t end;

	return sock_queue_rcv_end(sk, hdr, data, &end);
}

int sock_queue_rcv_end(struct sock *sk, struct ns_dgram *hdr, const void *data, uint64_t *end)
{
	struct ns_sock_shm *shm = sk->shm;
	uint64_t cons, at;

	if (!shm || (atomic_load_explicit(&shm->state, memory_order_relaxed) & NS_SS_DEAD))
		return -EPIPE;

	pthread_mutex_lock(&sk->rx_lock);
	cons = ns_ring_load_cons(&sk->rx);
	if (!ns_ring_sane(&sk->rx, sk->rx_prod, cons)) {
		pthread_mutex_unlock(&sk->rx_lock);
		sock_mark_dead(sk);
		return -EPIPE;
	}
	if (sk->rx_prod - cons > (uint64_t)sk->rcvbuf ||
	    !ns_dgram_reserve(&sk->rx, sk->rx_prod, cons, hdr->len, &at)) {
		pthread_mutex_unlock(&sk->rx_lock);
		atomic_fetch_add_explicit(&sk->rx_drops, 1, memory_order_relaxed);
		atomic_fetch_add_explicit(&shm->rx_dropped, 1, memory_order_relaxed);
		return -ENOBUFS;
	}
	ns_dgram_write(&sk->rx, at, hdr, data);
	sk->rx_prod = at + ns_dgram_record_size(hdr->len);
	*end = sk->rx_prod;
	ns_ring_publish_prod(&sk->rx, sk->rx_prod);
	pthread_mutex_unlock(&sk->rx_lock);

	atomic_fetch_add_explicit(&sk->rx_packets, 1, memory_order_relaxed);
	/* sk_data_ready */
	sock_wake(sk, NS_WAIT_RX);
	return 0;
}

/* ---- transmit ----------------------------------------------------------------- */

void dgram_tx_error(struct sock *sk, int err)
{
	bool report;

	atomic_fetch_add_explicit(&sk->tx_errors, 1, memory_order_relaxed);
	switch (err) {
	case -ENETUNREACH:
	case -EHOSTUNREACH:
	case -ENOBUFS:
	case -EAGAIN:
	case -ENOSPC:
		report = sk->connected || sk->recverr;
		break;
	default:
		report = true;
		break;
	}
	if (report)
		sock_set_error(sk, -err);
}

void dgram_tx_ready(struct sock *sk, const struct dgram_proto *proto)
{
	struct ns_sock_shm *shm = sk->shm;
	unsigned int budget = DGRAM_TX_BUDGET;

	if (!shm || sk->closing ||
	    (atomic_load_explicit(&shm->state, memory_order_relaxed) & NS_SS_DEAD))
		return;
	atomic_store_explicit(&shm->need_kick, 0, memory_order_relaxed);
	for (;;) {
		uint64_t prod = ns_ring_load_prod(&sk->tx);
		uint64_t start = sk->tx_cons;

		while (budget) {
			const unsigned char *payload;
			struct ns_dgram h;
			uint64_t c = sk->tx_cons;
			int r = ns_dgram_peek(&sk->tx, &c, prod, &h, &payload);

			if (r < 0) {
				drop_count(proto->snd_invalid);
				atomic_fetch_add_explicit(&sk->tx_errors, 1, memory_order_relaxed);
				sock_mark_dead(sk);
				return;
			}
			sk->tx_cons = c;
			if (r == 0)
				break;
			if (trace_active())
				trace_tx_doorbell(ns_now_ns());
			r = proto->sendmsg(sk, &h, payload);
			if (trace_active())
				trace_tx_doorbell(0);
			if (r)
				dgram_tx_error(sk, r);
			else
				atomic_fetch_add_explicit(&sk->tx_packets, 1, memory_order_relaxed);
			sk->tx_cons = c + ns_dgram_record_size(h.len);
			budget--;
		}
		if (sk->tx_cons != start) {
			ns_ring_publish_cons(&sk->tx, sk->tx_cons);
			sock_wake(sk, NS_WAIT_TX);
		}
		if (!budget) {
			/* need_kick stays 0: ringing our own doorbell brings us
			 * back after the worker's other work. */
			sock_bells_ring(sk);
			return;
		}
		/* An RMW, paired with the client's RMW read (see sock_wake). */
		atomic_exchange_explicit(&shm->need_kick, 1, memory_order_seq_cst);
		if (atomic_load_explicit(&shm->tx.prod, memory_order_seq_cst) == sk->tx_cons)
			return;
		atomic_store_explicit(&shm->need_kick, 0, memory_order_relaxed);
	}
}

int dgram_check_mtu(const struct sock *sk, const struct fib_result *res, uint32_t daddr,
		    uint32_t len)
{
	if (sk->pmtudisc < IP_PMTUDISC_DO || sk->pmtudisc == IP_PMTUDISC_OMIT)
		return 0;
	return len > ip_sk_dst_mtu(res, daddr, sk->pmtudisc, NULL) ? -EMSGSIZE : 0;
}

/* ---- socket operations (owner) ------------------------------------------------ */

bool inet_addr_type_local(uint32_t addr)
{
	struct fib_result res;

	return fib_lookup(addr, &res) == 0 && res.type == RTN_LOCAL;
}

int ip4_datagram_connect(struct sock *sk, const struct sockaddr *uaddr, socklen_t len)
{
	struct fib_result res;
	struct sockaddr_in sin;
	uint32_t daddr;
	int err;

	if (len < sizeof(sin))
		return -EINVAL;
	memcpy(&sin, uaddr, sizeof(sin));
	if (sin.sin_family != AF_INET)
		return -EAFNOSUPPORT;
	daddr = sin.sin_addr.s_addr;
	if (!daddr)
		daddr = htonl(INADDR_LOOPBACK);   /* connect to "any" means this host */
	err = fib_lookup(daddr, &res);
	if (err < 0) {
		/* ENETUNREACH, or the route's EHOSTUNREACH / EACCES / EINVAL. */
		__IP_INC_STATS(OUTNOROUTES);
		return err;
	}
	if ((res.type == RTN_BROADCAST || daddr == htonl(INADDR_BROADCAST)) && !sk->broadcast)
		return -EACCES;

	pthread_rwlock_wrlock(&sock_lookup_lock);
	if (!sk->src)
		sk->src = res.prefsrc;
	if (!sk->saddr)
		sk->saddr = res.prefsrc;
	sk->daddr = daddr;
	sk->dport = sin.sin_port;
	sk->connected = true;
	pthread_rwlock_unlock(&sock_lookup_lock);
	sock_state_set(sk, NS_SS_CONNECTED | NS_SS_BOUND);
	return 0;
}

int inet_getname(struct sock *sk, struct sockaddr_storage *ss, socklen_t *len, bool peer)
{
	uint32_t addr;
	uint16_t port;

	if (peer) {
		/* As inet_getname: no peer port is "not connected", raw and ping too. */
		if (!sk->connected || !sk->dport)
			return -ENOTCONN;
		addr = sk->daddr;
		port = sk->dport;
	} else {
		addr = sk->saddr ? sk->saddr : sk->src;
		port = sk->sport;
	}
	memset(ss, 0, sizeof(*ss));
	if (sk->family == AF_INET6) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = port;
		if (addr || (!peer && sk->v4mapped_bind) || peer) {
			sin6->sin6_addr.s6_addr[10] = 0xff;
			sin6->sin6_addr.s6_addr[11] = 0xff;
			memcpy(&sin6->sin6_addr.s6_addr[12], &addr, 4);
		}
		*len = sizeof(*sin6);
	} else {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;

		sin->sin_family = AF_INET;
		sin->sin_port = port;
		sin->sin_addr.s_addr = addr;
		*len = sizeof(*sin);
	}
	return 0;
}

int inet_dgram_shutdown(struct sock *sk, int how)
{
	int bits = how + 1;
	uint32_t state = 0;

	if (how < SHUT_RD || how > SHUT_RDWR)
		return -EINVAL;
	sk->shut |= bits;
	if (bits & RCV_SHUTDOWN)
		state |= NS_SS_RCV_SHUTDOWN;
	if (bits & SEND_SHUTDOWN)
		state |= NS_SS_SEND_SHUTDOWN;
	sock_state_set(sk, state);
	sock_wake(sk, NS_WAIT_RX | NS_WAIT_TX);
	return sk->connected ? 0 : -ENOTCONN;
}

/* ---- ICMP errors --------------------------------------------------------------- */

/* icmp_err_convert[]: errno and whether it is "hard" (reported without IP_RECVERR). */
static const struct {
	int err;
	bool fatal;
} icmp_err_convert[] = {
	{ ENETUNREACH, false },  /* ICMP_NET_UNREACH */
	{ EHOSTUNREACH, false }, /* ICMP_HOST_UNREACH */
	{ ENOPROTOOPT, true },   /* ICMP_PROT_UNREACH */
	{ ECONNREFUSED, true },  /* ICMP_PORT_UNREACH */
	{ EMSGSIZE, false },     /* ICMP_FRAG_NEEDED */
	{ EOPNOTSUPP, false },   /* ICMP_SR_FAILED */
	{ ENETUNREACH, true },   /* ICMP_NET_UNKNOWN */
	{ EHOSTDOWN, true },     /* ICMP_HOST_UNKNOWN */
	{ ENONET, true },        /* ICMP_HOST_ISOLATED */
	{ ENETUNREACH, true },   /* ICMP_NET_ANO */
	{ EHOSTUNREACH, true },  /* ICMP_HOST_ANO */
	{ ENETUNREACH, false },  /* ICMP_NET_UNR_TOS */
	{ EHOSTUNREACH, false }, /* ICMP_HOST_UNR_TOS */
	{ EHOSTUNREACH, true },  /* ICMP_PKT_FILTERED */
	{ EHOSTUNREACH, true },  /* ICMP_PREC_VIOLATION */
	{ EHOSTUNREACH, true },  /* ICMP_PREC_CUTOFF */
};

int icmp_err_errno(uint8_t type, uint8_t code, bool *harderr)
{
	*harderr = false;
	switch (type) {
	case ICMP_TIME_EXCEEDED:
		return EHOSTUNREACH;
	case ICMP_PARAMETERPROB:
		*harderr = true;
		return EPROTO;
	case ICMP_DEST_UNREACH:
		if (code == ICMP_FRAG_NEEDED) {
			*harderr = true;
			return EMSGSIZE;
		}
		if (code < NS_ARRAY_SIZE(icmp_err_convert)) {
			*harderr = icmp_err_convert[code].fatal;
			return icmp_err_convert[code].err;
		}
		return EHOSTUNREACH;
	default:
		return 0;
	}
}

void ip_icmp_error(struct sock *sk, const struct sk_buff *skb, uint32_t payload_off, int err,
		   uint16_t port, uint8_t type, uint8_t code, uint32_t info)
{
	const struct iphdr *iph = (const struct iphdr *)skb_network_header(skb);
	struct sock_exterr *e, *old = NULL;
	uint32_t len = skb->len > payload_off ? skb->len - payload_off : 0;

	if (!sk->shm)
		return;
	if (len > 576)
		len = 576;      /* an ICMP error quotes at most that much anyway */
	e = malloc(sizeof(*e) + len);
	if (!e)
		return;         /* the pending error still tells the application */
	memset(e, 0, sizeof(*e));
	e->ee_errno = err;
	e->ee_origin = SO_EE_ORIGIN_ICMP;
	e->ee_type = type;
	e->ee_code = code;
	e->ee_info = info;
	e->offender = ICMPCB(skb)->saddr;
	e->ttl = ICMPCB(skb)->ttl;
	e->tos = ICMPCB(skb)->tos;
	e->daddr = iph->daddr;
	e->port = port;
	e->len = (uint16_t)len;
	if (len)
		memcpy(e->data, skb->data + payload_off, len);

	pthread_mutex_lock(&sk->rx_lock);
	if (sk->errq_len >= SOCK_ERRQ_MAX) {
		/* sk_rmem full: the oldest entry goes, as the kernel would refuse the newest. */
		old = sk->errq_head;
		sk->errq_head = old->next;
		if (!sk->errq_head)
			sk->errq_tail = NULL;
		sk->errq_len--;
	}
	if (sk->errq_tail)
		sk->errq_tail->next = e;
	else
		sk->errq_head = e;
	sk->errq_tail = e;
	sk->errq_len++;
	/* Under rx_lock, so that it cannot pass sock_recv_error clearing it. */
	sock_state_set(sk, NS_SS_ERRQUEUE);
	pthread_mutex_unlock(&sk->rx_lock);
	free(old);
}
