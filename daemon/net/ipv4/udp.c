/*
 * UDP (RFC 768), mirroring the kernel's net/ipv4/udp.c: udp_rcv ->
 * __udp4_lib_rcv -> __udp4_lib_lookup -> udp_queue_rcv_skb on receive,
 * udp_sendmsg for each record of a client's tx ring, udp_err for ICMP
 * errors, and the socket operations (bind, connect, options) of
 * SOCK_DGRAM sockets.  What UDP shares with ping and raw sockets (the
 * rings, getname, shutdown, the error queue) is in datagram.c.
 *
 * Context.  Receive and udp_err run on any worker; they find the socket
 * under sock_lookup_lock held for reading and keep it across the
 * delivery, so the socket cannot be released meanwhile.  The delivery
 * itself appends to the socket's rx ring under sk->rx_lock (several
 * workers may deliver to one socket).  Socket operations and transmit run
 * on the socket's owner; those that change what a lookup reads take
 * sock_lookup_lock for writing.
 *
 * AF_INET6 sockets are dual-stack sockets without IPv6: bound to :: or a
 * v4-mapped address, they carry IPv4 traffic only and present v4-mapped
 * addresses, as Linux does.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/random.h>

#include "core/checksum.h"
#include "core/debug.h"
#include "core/netdev.h"
#include "core/skb.h"
#include "core/trace.h"
#include "core/sysctl.h"
#include "net/ipv4/datagram.h"
#include "net/ipv4/devinet.h"
#include "net/ipv4/icmp.h"
#include "net/ipv4/ip.h"
#include "net/ipv4/pmtu.h"
#include "net/ipv4/protocol.h"
#include "net/ipv4/route.h"
#include "net/ipv4/snmp.h"
#include "net/ipv4/udp.h"
#include "net/socket.h"
#include "net/wire/icmp.h"
#include "net/wire/ip.h"
#include "net/wire/udp.h"

/* ---- the port hash (under sock_lookup_lock) ----------------------------------- */

#define UDP_HTABLE_SIZE 4096u

static struct sock *udp_hash[UDP_HTABLE_SIZE];

static struct sock **udp_hslot(uint16_t port_host)
{
	return &udp_hash[port_host & (UDP_HTABLE_SIZE - 1)];
}

static bool ipv4_is_multicast(uint32_t a)
{
	return (a & htonl(0xf0000000u)) == htonl(0xe0000000u);
}

static bool ipv4_is_broadcast_any(uint32_t a)
{
	if (a == htonl(INADDR_BROADCAST))
		return true;
	for (struct net_device *d = netdev_first(); d; d = d->next)
		if (inet_addr_is_broadcast(d, a))
			return true;
	return false;
}

/* Does @sk see IPv4 traffic (every AF_INET socket; AF_INET6 unless v6only)? */
static bool sk_has_v4(const struct sock *sk)
{
	return sk->family == AF_INET || !sk->v6only;
}

/* Is @sk bound to the IPv6 wildcard :: (an address space IPv4 sockets lack)? */
static bool sk_has_v6_any(const struct sock *sk)
{
	return sk->family == AF_INET6 && !sk->v4mapped_bind && sk->saddr == 0;
}

/* inet_rcv_saddr_equal with wildcards: could the two bindings receive the same datagram? */
static bool udp_addr_overlap(const struct sock *a, const struct sock *b)
{
	if (sk_has_v4(a) && sk_has_v4(b) && (!a->saddr || !b->saddr || a->saddr == b->saddr))
		return true;
	return sk_has_v6_any(a) && sk_has_v6_any(b);
}

/* udp_lib_lport_inuse: would binding @sk to @port conflict with a bound socket? */
static bool udp_lib_lport_inuse(const struct sock *sk, uint16_t port)
{
	for (struct sock *sk2 = *udp_hslot(port); sk2; sk2 = sk2->hash_next) {
		if (sk2 == sk || ntohs(sk2->sport) != port)
			continue;
		if (sk->reuseaddr && sk2->reuseaddr)
			continue;
		if (sk->bound_dev_if && sk2->bound_dev_if && sk->bound_dev_if != sk2->bound_dev_if)
			continue;
		if (!udp_addr_overlap(sk, sk2))
			continue;
		if (sk->reuseport && sk2->reuseport)
			continue;
		return true;
	}
	return false;
}

/*
 * udp_lib_get_port: give @sk local port @snum (host order), or an
 * ephemeral port from net.ipv4.ip_local_port_range when 0 (a random
 * start, then a linear probe), and hash it.  0 or -EADDRINUSE.  Lookup
 * lock held for writing.
 */
static int udp_lib_get_port(struct sock *sk, uint16_t snum)
{
	struct sock **slot;

	if (snum == 0) {
		uint32_t lo = (uint32_t)sysctl_read(&sysctl_ip_local_port_lo);
		uint32_t hi = (uint32_t)sysctl_read(&sysctl_ip_local_port_hi);
		uint32_t n = hi >= lo ? hi - lo + 1 : 1;
		uint32_t start = 0, i;

		if (getrandom(&start, sizeof(start), GRND_NONBLOCK) != sizeof(start))
			start = (uint32_t)(sk->id * 2654435761u);
		for (i = 0; i < n; i++) {
			uint16_t port = (uint16_t)(lo + (start + i) % n);

			if (!udp_lib_lport_inuse(sk, port)) {
				snum = port;
				break;
			}
		}
		if (i == n)
			return -EADDRINUSE;
	} else if (udp_lib_lport_inuse(sk, snum)) {
		return -EADDRINUSE;
	}
	sk->sport = htons(snum);
	sk->bound = true;
	slot = udp_hslot(snum);
	sk_hash_link(slot, sk);
	return 0;
}

/* Take @sk off the hash and forget its port.  Lookup lock held for writing. */
static void udp_lib_unhash(struct sock *sk)
{
	sk_hash_unlink(udp_hslot(ntohs(sk->sport)), sk);
	sk->sport = 0;
	sk->bound = false;
}

/* inet_autobind: an ephemeral port for a socket that sends or connects unbound. */
static int udp_autobind(struct sock *sk)
{
	int err = 0;

	pthread_rwlock_wrlock(&sock_lookup_lock);
	if (!sk->sport)
		err = udp_lib_get_port(sk, 0) ? -EAGAIN : 0;
	pthread_rwlock_unlock(&sock_lookup_lock);
	if (!err)
		sock_state_set(sk, NS_SS_BOUND);
	return err;
}

/* ---- lookup (readers) --------------------------------------------------------- */

/*
 * compute_score: -1 if @sk cannot take a datagram from @saddr:@sport to
 * @daddr:@dport (host order port) arriving on @dif; otherwise higher for
 * more specific bindings.  A bound address outranks everything else, as
 * the kernel's two-pass lookup (exact address, then wildcard) does.
 */
static int compute_score(const struct sock *sk, uint32_t saddr, uint16_t sport,
			 uint32_t daddr, uint16_t hnum, int dif)
{
	int score;

	if (ntohs(sk->sport) != hnum || !sk_has_v4(sk))
		return -1;
	score = sk->family == AF_INET ? 2 : 1;
	if (sk->saddr) {
		if (sk->saddr != daddr)
			return -1;
		score += 16;
	}
	if (sk->daddr) {
		if (sk->daddr != saddr)
			return -1;
		score += 4;
	}
	if (sk->dport) {
		if (sk->dport != sport)
			return -1;
		score += 4;
	}
	if (sk->bound_dev_if) {
		if (sk->bound_dev_if != dif)
			return -1;
		score += 4;
	}
	return score;
}

/* The flow hash that picks a member of a SO_REUSEPORT group (udp_ehashfn). */
static uint32_t udp_ehashfn(uint32_t saddr, uint16_t sport, uint32_t daddr, uint16_t dport)
{
	uint32_t h = saddr * 0x9e3779b1u;

	h ^= daddr + 0x85ebca6bu * ((uint32_t)sport << 16 | dport);
	h ^= h >> 16;
	h *= 0x7feb352du;
	h ^= h >> 15;
	return h;
}

/*
 * __udp4_lib_lookup: the best socket for a datagram, or NULL.  An
 * unconnected SO_REUSEPORT winner is replaced by a member of its group
 * chosen by the flow hash, so one flow always reaches the same socket.
 * Lookup lock held for reading; ports network order.
 */
static struct sock *__udp4_lib_lookup(uint32_t saddr, uint16_t sport, uint32_t daddr,
				      uint16_t dport, int dif)
{
	uint16_t hnum = ntohs(dport);
	struct sock *best = NULL;
	int best_score = -1;
	unsigned int n = 0, pick;

	for (struct sock *sk = *udp_hslot(hnum); sk; sk = sk->hash_next) {
		int score = compute_score(sk, saddr, sport, daddr, hnum, dif);

		if (score > best_score) {
			best = sk;
			best_score = score;
		}
	}
	if (!best || !best->reuseport || best->connected)
		return best;
	for (struct sock *sk = *udp_hslot(hnum); sk; sk = sk->hash_next)
		if (sk->reuseport && !sk->connected && sk->saddr == best->saddr &&
		    compute_score(sk, saddr, sport, daddr, hnum, dif) == best_score)
			n++;
	pick = udp_ehashfn(saddr, sport, daddr, dport) % n;
	for (struct sock *sk = *udp_hslot(hnum); sk; sk = sk->hash_next)
		if (sk->reuseport && !sk->connected && sk->saddr == best->saddr &&
		    compute_score(sk, saddr, sport, daddr, hnum, dif) == best_score && pick-- == 0)
			return sk;
	return best;
}

/* ---- receive ----------------------------------------------------------------- */

/*
 * __udp_enqueue_schedule_skb: append the datagram in @skb (data at the UDP
 * header) to @sk's rx ring as a record (sock_queue_rcv).  Does not consume
 * @skb; returns SKB_DROP_REASON_CONSUMED or the reason it was not queued
 * (already counted in the MIB).  Lookup lock held for reading.
 */
static enum skb_drop_reason __udp_queue_rcv_skb(struct sock *sk, struct sk_buff *skb)
{
	const struct iphdr *iph = (const struct iphdr *)skb_network_header(skb);
	const struct udphdr_ns *uh = (const struct udphdr_ns *)skb->data;
	struct ns_dgram hdr;
	uint64_t end;
	int err;

	dgram_rcv_info(sk, &hdr, skb, iph->saddr, uh->source, skb->len - UDP_HLEN);
	err = sock_queue_rcv_end(sk, &hdr, skb->data + UDP_HLEN, &end);
	if (err == -EPIPE) {
		__UDP_INC_STATS(INERRORS);
		/* No shared memory yet counts as a full buffer; a corrupt ring as dead. */
		return sk->shm ? SKB_DROP_REASON_UDP_SOCK_DEAD : SKB_DROP_REASON_UDP_RCVBUF;
	}
	if (err) {
		__UDP_INC_STATS(RCVBUFERRORS);
		__UDP_INC_STATS(INERRORS);
		return SKB_DROP_REASON_UDP_RCVBUF;
	}
	__UDP_INC_STATS(INDATAGRAMS);
	skb_trace_sock_queue(skb, sk, sk->rx.r, end);
	return SKB_DROP_REASON_CONSUMED;
}

/* udp_queue_rcv_skb: deliver to one socket.  Consumes the skb. */
static int udp_queue_rcv_skb(struct sock *sk, struct sk_buff *skb)
{
	enum skb_drop_reason reason = __udp_queue_rcv_skb(sk, skb);

	if (reason != SKB_DROP_REASON_CONSUMED) {
		kfree_skb_reason(skb, reason);
		return -1;
	}
	consume_skb(skb);
	return 0;
}

/* __udp_is_mcast_sock: may @sk take this broadcast or multicast datagram? */
static bool udp_is_mcast_sock(const struct sock *sk, uint16_t hnum, uint32_t rmt_addr,
			      uint16_t rmt_port, uint32_t loc_addr, int dif)
{
	if (ntohs(sk->sport) != hnum || !sk_has_v4(sk))
		return false;
	if (sk->daddr && sk->daddr != rmt_addr)
		return false;
	if (sk->dport && sk->dport != rmt_port)
		return false;
	if (sk->saddr && sk->saddr != loc_addr)
		return false;
	if (sk->bound_dev_if && sk->bound_dev_if != dif)
		return false;
	/* No group memberships yet: IP_MULTICAST_ALL's default (1) lets all through. */
	return true;
}

/*
 * __udp4_lib_mcast_deliver: every matching socket gets a copy (the
 * kernel clones the skb; we copy into each ring from the one buffer).
 * No socket at all is IgnoredMulti, and never an ICMP error.  Consumes
 * the skb.
 */
static int __udp4_lib_mcast_deliver(struct sk_buff *skb, const struct iphdr *iph,
				    const struct udphdr_ns *uh)
{
	uint16_t hnum = ntohs(uh->dest);
	int dif = skb->dev ? skb->dev->ifindex : 0;
	unsigned int matched = 0;

	pthread_rwlock_rdlock(&sock_lookup_lock);
	for (struct sock *sk = *udp_hslot(hnum); sk; sk = sk->hash_next) {
		enum skb_drop_reason reason;

		if (!udp_is_mcast_sock(sk, hnum, iph->saddr, uh->source, iph->daddr, dif))
			continue;
		matched++;
		sock_mark_rx_cpu(sk);
		reason = __udp_queue_rcv_skb(sk, skb);
		if (reason != SKB_DROP_REASON_CONSUMED)
			drop_count(reason);
	}
	pthread_rwlock_unlock(&sock_lookup_lock);
	if (!matched) {
		__UDP_INC_STATS(IGNOREDMULTI);
		kfree_skb_reason(skb, SKB_DROP_REASON_UDP_NO_SOCKET);
		return -1;
	}
	/* Each socket that could not take it counted its own drop above. */
	consume_skb(skb);
	return 0;
}

/* udp4_csum_verify: RFC 768 checksum over the pseudo-header, header and data. */
static bool udp4_csum_ok(const struct sk_buff *skb, const struct iphdr *iph, uint32_t ulen)
{
	uint32_t sum;

	if (skb->ip_summed == CHECKSUM_UNNECESSARY)
		return true;
	sum = csum_partial(skb->data, ulen, 0);
	sum = csum_tcpudp_nofold(iph->saddr, iph->daddr, ulen, IPPROTO_UDP_NS, sum);
	return csum_fold(sum) == 0;
}

/* __udp4_lib_rcv */
int udp_rcv(struct sk_buff *skb)
{
	const struct iphdr *iph = (const struct iphdr *)skb_network_header(skb);
	const struct udphdr_ns *uh;
	struct sock *sk;
	uint32_t ulen;
	int ret;

	skb_trace(skb, NS_TRACE_UDP_RCV, 0);
	if (!skb_may_pull(skb, UDP_HLEN))
		goto short_packet;
	uh = (const struct udphdr_ns *)skb->data;
	ulen = ntohs(uh->len);
	if (ulen < UDP_HLEN || ulen > skb->len)
		goto short_packet;
	/* Drop IP padding (and anything past the UDP length). */
	skb_trim(skb, ulen);
	if (uh->check && !udp4_csum_ok(skb, iph, ulen))
		goto csum_error;

	if (IPCB(skb)->rt_type == RTN_BROADCAST || IPCB(skb)->rt_type == RTN_MULTICAST)
		return __udp4_lib_mcast_deliver(skb, iph, uh);

	pthread_rwlock_rdlock(&sock_lookup_lock);
	sk = __udp4_lib_lookup(iph->saddr, uh->source, iph->daddr, uh->dest,
			       skb->dev ? skb->dev->ifindex : 0);
	if (sk) {
		sock_mark_rx_cpu(sk);
		ret = udp_queue_rcv_skb(sk, skb);
		pthread_rwlock_unlock(&sock_lookup_lock);
		return ret;
	}
	pthread_rwlock_unlock(&sock_lookup_lock);

	/* No socket: RFC 1122 §4.1.3.1, port unreachable (icmp_send skips broadcasts). */
	__UDP_INC_STATS(NOPORTS);
	icmp_send(skb, ICMP_DEST_UNREACH, ICMP_PORT_UNREACH, 0);
	kfree_skb_reason(skb, SKB_DROP_REASON_UDP_NO_SOCKET);
	return -1;

short_packet:
	__UDP_INC_STATS(INERRORS);
	kfree_skb_reason(skb, SKB_DROP_REASON_UDP_TRUNCATED);
	return -1;
csum_error:
	__UDP_INC_STATS(INCSUMERRORS);
	__UDP_INC_STATS(INERRORS);
	kfree_skb_reason(skb, SKB_DROP_REASON_UDP_CSUM);
	return -1;
}

/* ---- ICMP errors -------------------------------------------------------------- */

/*
 * __udp4_lib_err: an ICMP error quotes a datagram we sent (network header
 * = the quoted IP header, data at its UDP header).  Hard errors reach a
 * connected socket as its pending error; with IP_RECVERR every error
 * does, and also goes on the error queue with the quoted data.
 * "Fragmentation needed" (@info: the next-hop MTU) lowers the path MTU of
 * the datagram's destination (pmtu.h) and is EMSGSIZE, ignored by
 * IP_PMTUDISC_DONT sockets.
 */
static void udp_err(struct sk_buff *skb, uint8_t type, uint8_t code, uint32_t info)
{
	const struct iphdr *iph = (const struct iphdr *)skb_network_header(skb);
	const struct udphdr_ns *uh = (const struct udphdr_ns *)skb->data;
	bool harderr, pmtu;
	struct sock *sk;
	int err;

	err = icmp_err_errno(type, code, &harderr);
	if (!err)
		return;
	pthread_rwlock_rdlock(&sock_lookup_lock);
	sk = __udp4_lib_lookup(iph->daddr, uh->dest, iph->saddr, uh->source,
			       skb->dev ? skb->dev->ifindex : 0);
	/*
	 * Path MTU discovery (ipv4_sk_update_pmtu): a socket of ours sent
	 * the quoted datagram, so believe the MTU (@info) for its
	 * destination, whatever this socket's mode.
	 */
	pmtu = sk && type == ICMP_DEST_UNREACH && code == ICMP_FRAG_NEEDED;
	if (sk) {
		if (type == ICMP_DEST_UNREACH && code == ICMP_FRAG_NEEDED &&
		    sk->pmtudisc == IP_PMTUDISC_DONT)
			sk = NULL;
		else if (!sk->recverr && (!harderr || !sk->connected))
			sk = NULL;
	}
	if (sk) {
		if (sk->recverr)
			ip_icmp_error(sk, skb, UDP_HLEN, err, uh->dest, type, code, info);
		sock_set_error(sk, err);
	}
	pthread_rwlock_unlock(&sock_lookup_lock);
	if (pmtu)
		ip_rt_update_pmtu(iph->daddr, info);
}

const struct net_protocol udp_protocol = {
	.name = "udp",
	.handler = udp_rcv,
	.err_handler = udp_err,
};

/* ---- transmit ----------------------------------------------------------------- */

static bool ipv6_addr_v4mapped(const struct in6_addr *a)
{
	static const uint8_t prefix[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	return memcmp(a->s6_addr, prefix, sizeof(prefix)) == 0;
}

static bool ipv6_addr_any(const struct in6_addr *a)
{
	static const struct in6_addr any;

	return memcmp(a, &any, sizeof(any)) == 0;
}

/*
 * The destination of a tx record, validated as udp_sendmsg and
 * udpv6_sendmsg validate sendto()'s address.  0 or -errno.
 */
static int udp_tx_dest(const struct sock *sk, const struct ns_dgram *h, uint32_t *daddr,
		       uint16_t *dport)
{
	struct sockaddr_storage ss;
	sa_family_t family;

	if (h->addrlen > sizeof(h->addr))
		return -EINVAL;
	memset(&ss, 0, sizeof(ss));
	memcpy(&ss, h->addr, h->addrlen);
	family = ss.ss_family;
	if (h->addrlen && sk->family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&ss;

		if (h->addrlen < sizeof(sa_family_t))
			return -EINVAL;
		switch (family) {
		case AF_INET6:
			if (h->addrlen < 24)
				return -EINVAL;
			if (!ipv6_addr_v4mapped(&sin6->sin6_addr) || sk->v6only)
				return -ENETUNREACH;  /* no IPv6 routes */
			if (!sin6->sin6_port)
				return -EINVAL;
			memcpy(daddr, &sin6->sin6_addr.s6_addr[12], 4);
			*dport = sin6->sin6_port;
			return 0;
		case AF_INET:
			if (sk->v6only)
				return -ENETUNREACH;
			break;          /* as an AF_INET socket's sendto */
		case AF_UNSPEC:
			goto connected;
		default:
			return -EINVAL;
		}
	}
	if (h->addrlen) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)&ss;

		if (h->addrlen < sizeof(*sin))
			return -EINVAL;
		if (family != AF_INET && family != AF_UNSPEC)
			return -EAFNOSUPPORT;
		if (!sin->sin_port)
			return -EINVAL;
		*daddr = sin->sin_addr.s_addr;
		*dport = sin->sin_port;
		return 0;
	}
connected:
	if (!sk->connected)
		return -EDESTADDRREQ;
	*daddr = sk->daddr;
	*dport = sk->dport;
	return 0;
}

/*
 * udp_sendmsg for one record: route, build the UDP header with its
 * checksum and hand the datagram to ip_build_and_send_pkt.  Every failure
 * is counted once: here before an skb exists, by the IP layer after.
 * 0 or -errno.  Owner worker.
 */
static int udp_sendmsg(struct sock *sk, const struct ns_dgram *h, const unsigned char *payload)
{
	enum skb_drop_reason reason = SKB_DROP_REASON_UDP_SND_ERROR;
	struct fib_result res;
	struct udphdr_ns *uh;
	struct sk_buff *skb;
	uint32_t daddr, saddr, ulen, sum;
	uint16_t dport;
	uint8_t tos, ttl;
	int err;

	if (sk->shut & SEND_SHUTDOWN) {
		err = -EPIPE;
		goto bad;
	}
	if (h->len > sk->max_dgram) {
		err = -EMSGSIZE;
		reason = SKB_DROP_REASON_UDP_SND_INVALID;
		goto bad;
	}
	err = udp_tx_dest(sk, h, &daddr, &dport);
	if (err) {
		if (err != -ENETUNREACH)
			reason = SKB_DROP_REASON_UDP_SND_INVALID;
		goto bad;
	}
	if (!sk->sport && udp_autobind(sk)) {
		err = -EAGAIN;
		goto bad;
	}
	if (!daddr)
		daddr = htonl(INADDR_LOOPBACK);
	err = fib_lookup(daddr, &res);
	if (err < 0 || !res.dev) {
		/* ENETUNREACH, or the route's EHOSTUNREACH / EACCES / EINVAL. */
		__IP_INC_STATS(OUTNOROUTES);
		if (err == 0)
			err = -ENETUNREACH;
		reason = SKB_DROP_REASON_IP_OUTNOROUTES;
		goto bad;
	}
	if ((res.type == RTN_BROADCAST || daddr == htonl(INADDR_BROADCAST)) && !sk->broadcast) {
		err = -EACCES;
		goto bad;
	}
	/* A local destination leaves through lo whatever the binding (ip_route_output). */
	if (sk->bound_dev_if && res.type != RTN_LOCAL && res.dev->ifindex != sk->bound_dev_if) {
		err = -ENETUNREACH;
		goto bad;
	}
	ulen = UDP_HLEN + h->len;
	/* IP_PMTUDISC_DO and up: no fragments (__ip_append_data). */
	err = dgram_check_mtu(sk, &res, daddr, IP_MIN_HLEN + ulen);
	if (err) {
		reason = SKB_DROP_REASON_PKT_TOO_BIG;
		goto bad;
	}
	saddr = sk->src ? sk->src : res.prefsrc;

	skb = alloc_skb(NS_MAX_HEADER + ulen);
	if (!skb) {
		__UDP_INC_STATS(SNDBUFERRORS);
		err = -ENOBUFS;
		reason = SKB_DROP_REASON_NOMEM;
		goto bad;
	}
	skb_reserve(skb, NS_MAX_HEADER);
	uh = skb_put(skb, UDP_HLEN);
	uh->source = sk->sport;
	uh->dest = dport;
	uh->len = htons((uint16_t)ulen);
	uh->check = 0;
	if (h->len)
		skb_put_data(skb, payload, h->len);
	skb_reset_transport_header(skb);
	sum = csum_tcpudp_nofold(saddr, daddr, ulen, IPPROTO_UDP_NS,
				 csum_partial(skb->data, ulen, 0));
	uh->check = csum_fold(sum);
	if (uh->check == 0)
		uh->check = 0xffff;   /* RFC 768: a computed 0 is sent as all ones */
	if (trace_active())
		trace_sample_tx(skb, NS_TRACE_UDP_SENDMSG, IPPROTO_UDP_NS, saddr, daddr,
				ntohs(sk->sport), ntohs(dport));

	tos = h->tos ? h->tos : sk->tos;
	ttl = h->ttl ? h->ttl : (uint8_t)(sk->ttl > 0 ? sk->ttl : 0);
	/* From here the IP layer owns the skb and counts its drops. */
	err = __ip_build_and_send_pkt(skb, saddr, daddr, IPPROTO_UDP_NS, tos, ttl, sk->pmtudisc);
	if (err == -ENOBUFS)
		__UDP_INC_STATS(SNDBUFERRORS);
	else if (!err)
		__UDP_INC_STATS(OUTDATAGRAMS);
	return err;

bad:
	drop_count(reason);
	return err;
}

static const struct dgram_proto udp_dgram = {
	.sendmsg = udp_sendmsg,
	.snd_invalid = SKB_DROP_REASON_UDP_SND_INVALID,
};

/* ops->tx_ready: the datagram loop with udp_sendmsg (see dgram_tx_ready). */
static void udp_tx_ready(struct sock *sk)
{
	dgram_tx_ready(sk, &udp_dgram);
}

/* ---- socket operations (owner) ------------------------------------------------ */

/*
 * Bind under the lookup lock: @addr (the receive address; 0 wildcard),
 * port @snum (host order, 0 ephemeral).  The kernel's __inet_bind tail.
 */
static int udp_bind_locked(struct sock *sk, uint32_t addr, uint16_t snum, bool mapped)
{
	int err;

	sk->saddr = addr;
	/* A broadcast or multicast binding receives there but sends from the device's address. */
	sk->src = (ipv4_is_multicast(addr) || ipv4_is_broadcast_any(addr)) ? 0 : addr;
	sk->v4mapped_bind = mapped;
	err = udp_lib_get_port(sk, snum);
	if (err) {
		sk->saddr = sk->src = 0;
		sk->v4mapped_bind = false;
		return err;
	}
	if (addr)
		sk->userlocks |= SOCK_BINDADDR_LOCK;
	if (snum)
		sk->userlocks |= SOCK_BINDPORT_LOCK;
	return 0;
}

/* inet_addr_type's verdict for bind: local (all of 127/8 too), broadcast, multicast or the wildcard. */
static bool udp_bind_addr_ok(uint32_t addr)
{
	return addr == htonl(INADDR_ANY) || inet_addr_type_local(addr) ||
	       ipv4_is_broadcast_any(addr) || ipv4_is_multicast(addr);
}

/* inet_bind */
static int udp_v4_bind(struct sock *sk, const struct sockaddr *uaddr, socklen_t len)
{
	struct sockaddr_in sin;
	int err;

	if (len < sizeof(sin))
		return -EINVAL;
	memcpy(&sin, uaddr, sizeof(sin));
	if (sin.sin_family != AF_INET &&
	    !(sin.sin_family == AF_UNSPEC && sin.sin_addr.s_addr == htonl(INADDR_ANY)))
		return -EAFNOSUPPORT;
	if (!udp_bind_addr_ok(sin.sin_addr.s_addr))
		return -EADDRNOTAVAIL;
	pthread_rwlock_wrlock(&sock_lookup_lock);
	if (sk->sport || sk->connected)
		err = -EINVAL;
	else
		err = udp_bind_locked(sk, sin.sin_addr.s_addr, ntohs(sin.sin_port), false);
	pthread_rwlock_unlock(&sock_lookup_lock);
	return err;
}

/* inet6_bind, for the addresses an IPv4-only stack can serve. */
static int udp_v6_bind(struct sock *sk, const struct sockaddr *uaddr, socklen_t len)
{
	struct sockaddr_in6 sin6;
	bool mapped, any;
	uint32_t v4 = 0;
	int err;

	if (len < 24)
		return -EINVAL;
	memset(&sin6, 0, sizeof(sin6));
	memcpy(&sin6, uaddr, len < sizeof(sin6) ? len : sizeof(sin6));
	if (sin6.sin6_family != AF_INET6)
		return -EAFNOSUPPORT;
	mapped = ipv6_addr_v4mapped(&sin6.sin6_addr);
	any = ipv6_addr_any(&sin6.sin6_addr);

	pthread_rwlock_wrlock(&sock_lookup_lock);
	if (sk->sport || sk->connected) {
		err = -EINVAL;
	} else if (mapped) {
		memcpy(&v4, &sin6.sin6_addr.s6_addr[12], 4);
		if (sk->v6only)
			err = -EINVAL;
		else if (!udp_bind_addr_ok(v4))
			err = -EADDRNOTAVAIL;
		else
			err = udp_bind_locked(sk, v4, ntohs(sin6.sin6_port), true);
	} else if (!any) {
		/* Link-local needs a scope; no IPv6 address is ours. */
		bool linklocal = sin6.sin6_addr.s6_addr[0] == 0xfe &&
				 (sin6.sin6_addr.s6_addr[1] & 0xc0) == 0x80;

		if (linklocal && !sin6.sin6_scope_id && !sk->bound_dev_if)
			err = -EINVAL;
		else
			err = -EADDRNOTAVAIL;
	} else {
		err = udp_bind_locked(sk, 0, ntohs(sin6.sin6_port), false);
	}
	pthread_rwlock_unlock(&sock_lookup_lock);
	return err;
}

static int udp_bind(struct sock *sk, const struct sockaddr *uaddr, socklen_t len)
{
	int err = sk->family == AF_INET6 ? udp_v6_bind(sk, uaddr, len) : udp_v4_bind(sk, uaddr, len);

	if (!err)
		sock_state_set(sk, NS_SS_BOUND);
	return err;
}

/* __udp_disconnect: forget the peer; keep what bind() fixed. */
static int udp_disconnect(struct sock *sk)
{
	pthread_rwlock_wrlock(&sock_lookup_lock);
	sk->connected = false;
	sk->daddr = 0;
	sk->dport = 0;
	sk->bound_dev_if = 0;
	if (!(sk->userlocks & SOCK_BINDADDR_LOCK)) {
		sk->saddr = 0;
		sk->src = 0;
	}
	if (!(sk->userlocks & SOCK_BINDPORT_LOCK))
		udp_lib_unhash(sk);
	pthread_rwlock_unlock(&sock_lookup_lock);
	sock_state_clear(sk, NS_SS_CONNECTED | (sk->sport ? 0 : NS_SS_BOUND));
	return 0;
}

/* __ip6_datagram_connect, for v4-mapped peers. */
static int ip6_datagram_connect(struct sock *sk, const struct sockaddr *uaddr, socklen_t len)
{
	struct sockaddr_in6 sin6;
	struct sockaddr_in sin;

	if (uaddr->sa_family == AF_INET) {
		if (sk->v6only)
			return -EAFNOSUPPORT;
		return ip4_datagram_connect(sk, uaddr, len);
	}
	if (len < 24)
		return -EINVAL;
	memset(&sin6, 0, sizeof(sin6));
	memcpy(&sin6, uaddr, len < sizeof(sin6) ? len : sizeof(sin6));
	if (sin6.sin6_family != AF_INET6)
		return -EAFNOSUPPORT;
	if (ipv6_addr_any(&sin6.sin6_addr)) {
		if (!sk->v4mapped_bind)
			return -ENETUNREACH;  /* ::1, and no IPv6 */
		sin6.sin6_addr.s6_addr[10] = 0xff;
		sin6.sin6_addr.s6_addr[11] = 0xff;
		sin6.sin6_addr.s6_addr[12] = 127;
		sin6.sin6_addr.s6_addr[15] = 1;
	}
	if (!ipv6_addr_v4mapped(&sin6.sin6_addr) || sk->v6only)
		return -ENETUNREACH;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = sin6.sin6_port;
	memcpy(&sin.sin_addr, &sin6.sin6_addr.s6_addr[12], 4);
	return ip4_datagram_connect(sk, (const struct sockaddr *)&sin, sizeof(sin));
}

/*
 * inet_dgram_connect: an address of family AF_UNSPEC (at least its two
 * family bytes) disconnects; a shorter one, even empty, is EINVAL.
 */
static int udp_connect(struct sock *sk, const struct sockaddr *uaddr, socklen_t len)
{
	if (len < sizeof(sa_family_t))
		return -EINVAL;
	if (uaddr->sa_family == AF_UNSPEC)
		return udp_disconnect(sk);
	if (!sk->sport && udp_autobind(sk))
		return -EAGAIN;
	if (sk->family == AF_INET6)
		return ip6_datagram_connect(sk, uaddr, len);
	return ip4_datagram_connect(sk, uaddr, len);
}

static int udp_setsockopt(struct sock *sk, int level, int name, const void *val, socklen_t len)
{
	int err;

	if (level == IPPROTO_UDP)
		return -ENOPROTOOPT;   /* UDP_CORK, UDP_SEGMENT, ...: not built */
	pthread_rwlock_wrlock(&sock_lookup_lock);
	if (level == SOL_SOCKET)
		err = sk_setsockopt(sk, name, val, len);
	else
		err = do_ip_setsockopt(sk, level, name, val, len);
	pthread_rwlock_unlock(&sock_lookup_lock);
	return err;
}

static int udp_getsockopt(struct sock *sk, int level, int name, void *val, socklen_t *len)
{
	if (level == SOL_SOCKET)
		return sk_getsockopt(sk, name, val, len);
	if (level == IPPROTO_UDP)
		return -ENOPROTOOPT;
	return do_ip_getsockopt(sk, level, name, val, len);
}

static bool udp_release(struct sock *sk)
{
	pthread_rwlock_wrlock(&sock_lookup_lock);
	udp_lib_unhash(sk);
	sk->connected = false;
	pthread_rwlock_unlock(&sock_lookup_lock);
	return false;
}

static const struct proto_ops udp_ops = {
	.name = "udp",
	.bind = udp_bind,
	.connect = udp_connect,
	.listen = NULL,                 /* EOPNOTSUPP, as sock_no_listen */
	.setsockopt = udp_setsockopt,
	.getsockopt = udp_getsockopt,
	.getname = inet_getname,
	.shutdown = inet_dgram_shutdown,
	.tx_ready = udp_tx_ready,
	.release = udp_release,
};

const struct inet_protosw udp_protosw = {
	.type = SOCK_DGRAM,
	.protocol = IPPROTO_UDP,
	.ops = &udp_ops,
};
