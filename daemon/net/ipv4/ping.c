/*
 * ICMP datagram ("ping") sockets, mirroring the kernel's net/ipv4/ping.c:
 * socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP) lets a user in
 * net.ipv4.ping_group_range send echo requests without a raw socket.
 *
 * The socket's "port" is the echo identifier: bind() or the autobind on
 * first send picks it (ping_get_port, a rover over 1..65535), getsockname
 * reports it, ping_v4_sendmsg writes it into every request (whatever the
 * application put there) and computes the ICMP checksum, and ping_rcv
 * hands an echo reply to the socket that holds its identifier, as one
 * datagram: the ICMP header and data, from the replying address.  ICMP
 * errors quoting one of our requests become the socket's pending error
 * and, with IP_RECVERR, an entry of its error queue (ping_err).
 *
 * Context.  ping_rcv and ping_err run on any worker and find the socket
 * under sock_lookup_lock held for reading (the identifier hash is under
 * that lock, as the UDP port hash).  Socket operations and transmit run
 * on the socket's owner worker; bind, connect, disconnect, options and
 * release take the lookup lock for writing.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#include "core/checksum.h"
#include "core/netdev.h"
#include "core/skb.h"
#include "core/trace.h"
#include "core/sysctl.h"
#include "net/ipv4/datagram.h"
#include "net/ipv4/icmp.h"
#include "net/ipv4/ip.h"
#include "net/ipv4/ping.h"
#include "net/ipv4/pmtu.h"
#include "net/ipv4/route.h"
#include "net/ipv4/snmp.h"
#include "net/socket.h"
#include "net/wire/icmp.h"
#include "net/wire/ip.h"

/* GID_T_MAX - 1: the largest group the kernel's sysctl accepts. */
#define PING_GID_MAX 4294967294LL

_Atomic int64_t sysctl_ping_group_lo = 1;
_Atomic int64_t sysctl_ping_group_hi = 0;

static const struct ctl_table ping_table[] = {
	{ .procname = "net.ipv4.ping_group_range", .data = &sysctl_ping_group_lo,
	  .min = 0, .max = PING_GID_MAX, .def = 1,
	  .help = "groups (first last) whose members may create ICMP ping sockets; "
		  "\"1 0\": nobody",
	  .data2 = &sysctl_ping_group_hi, .def2 = 0, .flags = CTL_PAIR_EMPTY },
	{ .procname = NULL },
};

void ping_init(void)
{
	sysctl_register(ping_table);
}

/* ---- the identifier hash (under sock_lookup_lock) ------------------------------ */

#define PING_HTABLE_SIZE 64u

static struct sock *ping_table_hash[PING_HTABLE_SIZE];
static uint16_t ping_port_rover;        /* lookup lock held for writing */

static struct sock **ping_hashslot(uint16_t ident)
{
	return &ping_table_hash[ident & (PING_HTABLE_SIZE - 1)];
}

static bool ping_ident_inuse(const struct sock *sk, uint16_t ident)
{
	for (const struct sock *sk2 = *ping_hashslot(ident); sk2; sk2 = sk2->hash_next)
		if (sk2 != sk && ntohs(sk2->sport) == ident &&
		    (!sk2->reuseaddr || !sk->reuseaddr))
			return true;
	return false;
}

/*
 * ping_get_port: give @sk identifier @ident (host order), or when 0 the
 * next free one after the rover (never 0), and hash it.  0 or
 * -EADDRINUSE.  Lookup lock held for writing.
 */
static int ping_get_port(struct sock *sk, uint16_t ident)
{
	struct sock **slot;

	if (ident == 0) {
		uint16_t result = (uint16_t)(ping_port_rover + 1);
		uint32_t i;

		for (i = 0; i < (1u << 16); i++, result++) {
			if (!result)
				result++;       /* avoid zero */
			if (!ping_ident_inuse(sk, result))
				break;
		}
		if (i == (1u << 16))
			return -EADDRINUSE;
		ping_port_rover = ident = result;
	} else if (ping_ident_inuse(sk, ident)) {
		return -EADDRINUSE;
	}
	sk->sport = htons(ident);
	sk->bound = true;
	slot = ping_hashslot(ident);
	sk_hash_link(slot, sk);
	return 0;
}

/* Take @sk off the hash and forget its identifier.  Lookup lock held for writing. */
static void ping_unhash(struct sock *sk)
{
	sk_hash_unlink(ping_hashslot(ntohs(sk->sport)), sk);
	sk->sport = 0;
	sk->bound = false;
}

/*
 * ping_lookup: the socket holding identifier @ident (network order) for
 * a packet to our address @daddr arriving on @dif.  The first match wins,
 * as in the kernel; the peer address is not compared.  Lookup lock held
 * for reading.
 */
static struct sock *ping_lookup(uint16_t ident, uint32_t daddr, int dif)
{
	for (struct sock *sk = *ping_hashslot(ntohs(ident)); sk; sk = sk->hash_next) {
		if (sk->sport != ident)
			continue;
		if (sk->saddr && sk->saddr != daddr)
			continue;
		if (sk->bound_dev_if && sk->bound_dev_if != dif)
			continue;
		return sk;
	}
	return NULL;
}

/* ---- receive ------------------------------------------------------------------ */

int ping_rcv(struct sk_buff *skb)
{
	const struct iphdr *iph = (const struct iphdr *)skb_network_header(skb);
	const struct icmphdr *icmph = (const struct icmphdr *)skb->data;
	struct ns_dgram hdr;
	struct sock *sk;
	uint64_t end;
	int err;

	skb_trace(skb, NS_TRACE_PING_RCV, 0);
	pthread_rwlock_rdlock(&sock_lookup_lock);
	sk = ping_lookup(icmph->un.echo.id, iph->daddr, skb->dev ? skb->dev->ifindex : 0);
	if (!sk) {
		pthread_rwlock_unlock(&sock_lookup_lock);
		/* A raw socket (ping run as root) may have taken its copy already. */
		if (IPCB(skb)->flags & IPSKB_RAW_DELIVERED) {
			consume_skb(skb);
			return 0;
		}
		kfree_skb_reason(skb, SKB_DROP_REASON_PING_NO_SOCKET);
		return -1;
	}
	/* ping_recvmsg: the ICMP header and data, from the replying address. */
	dgram_rcv_info(sk, &hdr, skb, iph->saddr, 0, skb->len);
	err = sock_queue_rcv_end(sk, &hdr, skb->data, &end);
	if (!err)
		skb_trace_sock_queue(skb, sk, sk->rx.r, end);
	pthread_rwlock_unlock(&sock_lookup_lock);
	if (err) {
		kfree_skb_reason(skb, err == -EPIPE ? SKB_DROP_REASON_SOCK_DEAD
						    : SKB_DROP_REASON_SOCK_RCVBUF);
		return -1;
	}
	consume_skb(skb);
	return 0;
}

void ping_err(struct sk_buff *skb, uint8_t type, uint8_t code, uint32_t info)
{
	const struct iphdr *iph = (const struct iphdr *)skb_network_header(skb);
	const struct icmphdr *icmph = (const struct icmphdr *)skb->data;
	bool harderr, pmtu;
	struct sock *sk;
	int err;

	err = icmp_err_errno(type, code, &harderr);
	if (!err)
		return;
	pthread_rwlock_rdlock(&sock_lookup_lock);
	/* The quoted request went from our address saddr: that is what the socket bound. */
	sk = ping_lookup(icmph->un.echo.id, iph->saddr, skb->dev ? skb->dev->ifindex : 0);
	/* Our socket sent it: believe the next-hop MTU (ipv4_sk_update_pmtu), as udp_err. */
	pmtu = sk && type == ICMP_DEST_UNREACH && code == ICMP_FRAG_NEEDED;
	if (sk && type == ICMP_DEST_UNREACH && code == ICMP_FRAG_NEEDED &&
	    sk->pmtudisc == IP_PMTUDISC_DONT)
		sk = NULL;
	if (sk) {
		/* RFC 1122 §4.1.3.3: pass ICMP errors to the application. */
		if (sk->recverr) {
			ip_icmp_error(sk, skb, 0, err, 0, type, code, info);
			sock_set_error(sk, err);
		} else if (harderr && sk->connected) {
			sock_set_error(sk, err);
		}
	}
	pthread_rwlock_unlock(&sock_lookup_lock);
	if (pmtu)
		ip_rt_update_pmtu(iph->daddr, info);
}

/* ---- transmit ----------------------------------------------------------------- */

/* The destination of a tx record, checked as ping_v4_sendmsg checks it. */
static int ping_tx_dest(const struct sock *sk, const struct ns_dgram *h, uint32_t *daddr)
{
	struct sockaddr_in sin;

	if (h->addrlen > sizeof(h->addr))
		return -EINVAL;
	if (!h->addrlen) {
		if (!sk->connected)
			return -EDESTADDRREQ;
		*daddr = sk->daddr;
		return 0;
	}
	if (h->addrlen < sizeof(sin))
		return -EINVAL;
	memcpy(&sin, h->addr, sizeof(sin));
	if (sin.sin_family != AF_INET)
		return -EAFNOSUPPORT;
	*daddr = sin.sin_addr.s_addr;   /* no remote port */
	return 0;
}

/*
 * ping_v4_sendmsg for one record: an echo request (type 8, code 0, at
 * least a header) whose identifier becomes the socket's and whose
 * checksum we compute.  0 or -errno.  Owner worker.
 */
static int ping_v4_sendmsg(struct sock *sk, const struct ns_dgram *h, const unsigned char *payload)
{
	enum skb_drop_reason reason = SKB_DROP_REASON_SOCK_SND_ERROR;
	struct fib_result res;
	struct icmphdr *icmph;
	struct sk_buff *skb;
	uint32_t daddr, saddr;
	uint8_t tos, ttl;
	int err;

	if (sk->shut & SEND_SHUTDOWN) {
		err = -EPIPE;
		goto bad;
	}
	/* ping_common_sendmsg: an IPv4 datagram of at most 64 KiB, a whole echo request. */
	if (h->len > IP_MAXPACKET - IP_MIN_HLEN || h->len > sk->max_dgram) {
		err = -EMSGSIZE;
		reason = SKB_DROP_REASON_SOCK_SND_INVALID;
		goto bad;
	}
	if (h->len < ICMP_HLEN) {
		err = -EINVAL;
		goto bad;
	}
	err = ping_tx_dest(sk, h, &daddr);
	if (err)
		goto bad;
	if (!sk->sport) {
		/* inet_autobind: the library binds first; a raced send still gets an identifier. */
		pthread_rwlock_wrlock(&sock_lookup_lock);
		err = sk->sport ? 0 : ping_get_port(sk, 0);
		pthread_rwlock_unlock(&sock_lookup_lock);
		if (err) {
			err = -EAGAIN;
			goto bad;
		}
		sock_state_set(sk, NS_SS_BOUND);
	}
	if (!daddr)
		daddr = htonl(INADDR_LOOPBACK);
	if (fib_lookup(daddr, &res) < 0 || !res.dev) {
		__IP_INC_STATS(OUTNOROUTES);
		err = -ENETUNREACH;
		reason = SKB_DROP_REASON_IP_OUTNOROUTES;
		goto bad;
	}
	if ((res.type == RTN_BROADCAST || daddr == htonl(INADDR_BROADCAST)) && !sk->broadcast) {
		err = -EACCES;
		goto bad;
	}
	if (sk->bound_dev_if && res.type != RTN_LOCAL && res.dev->ifindex != sk->bound_dev_if) {
		err = -ENETUNREACH;
		goto bad;
	}
	/* IP_PMTUDISC_DO and up: no fragments (__ip_append_data). */
	err = dgram_check_mtu(sk, &res, daddr, IP_MIN_HLEN + h->len);
	if (err) {
		reason = SKB_DROP_REASON_PKT_TOO_BIG;
		goto bad;
	}
	saddr = sk->src ? sk->src : res.prefsrc;

	skb = alloc_skb(NS_MAX_HEADER + h->len);
	if (!skb) {
		err = -ENOBUFS;
		reason = SKB_DROP_REASON_NOMEM;
		goto bad;
	}
	skb_reserve(skb, NS_MAX_HEADER);
	icmph = skb_put(skb, h->len);
	/* Copy, then check the copy: the client may still be writing the ring. */
	memcpy(icmph, payload, h->len);
	if (icmph->type != ICMP_ECHO || icmph->code != 0) {
		__ICMP_INC_STATS(OUTERRORS);
		kfree_skb_reason(skb, SKB_DROP_REASON_SOCK_SND_ERROR);
		return -EINVAL;
	}
	icmph->un.echo.id = sk->sport;
	icmph->checksum = 0;
	icmph->checksum = ip_compute_csum(icmph, h->len);
	skb_reset_transport_header(skb);
	if (trace_active())
		trace_sample_tx(skb, NS_TRACE_PING_SENDMSG, IPPROTO_ICMP_NS, saddr, daddr, 0, 0);

	tos = h->tos ? h->tos : sk->tos;
	ttl = h->ttl ? h->ttl : (uint8_t)(sk->ttl > 0 ? sk->ttl : 0);
	icmp_out_count(ICMP_ECHO);
	/* From here the IP layer owns the skb and counts its drops. */
	err = __ip_build_and_send_pkt(skb, saddr, daddr, IPPROTO_ICMP_NS, tos, ttl, sk->pmtudisc);
	if (err)
		__ICMP_INC_STATS(OUTERRORS);
	return err;

bad:
	__ICMP_INC_STATS(OUTERRORS);
	drop_count(reason);
	return err;
}

static const struct dgram_proto ping_dgram = {
	.sendmsg = ping_v4_sendmsg,
	.snd_invalid = SKB_DROP_REASON_SOCK_SND_INVALID,
};

static void ping_tx_ready(struct sock *sk)
{
	dgram_tx_ready(sk, &ping_dgram);
}

/* ---- socket operations (owner) ------------------------------------------------ */

/* ping_init_sock: only IPv4, and only for members of ping_group_range. */
static int ping_init_sock(struct sock *sk, const struct sock_cred *cred, uint32_t *rx_size,
			  uint32_t *tx_size)
{
	int64_t lo = sysctl_read(&sysctl_ping_group_lo);
	int64_t hi = sysctl_read(&sysctl_ping_group_hi);

	(void)rx_size;
	(void)tx_size;
	if (sk->family != AF_INET)
		return -EPROTONOSUPPORT;        /* ICMPv6 ping is IPv6's */
	/*
	 * The kernel checks the caller's effective and supplementary groups;
	 * SO_PEERCRED gives us the effective gid.  Root gets no exception.
	 */
	if ((int64_t)cred->gid < lo || (int64_t)cred->gid > hi)
		return -EACCES;
	return 0;
}

/* ping_check_bind_addr + ping_bind */
static int ping_bind(struct sock *sk, const struct sockaddr *uaddr, socklen_t len)
{
	struct sockaddr_in sin;
	uint32_t addr;
	uint16_t ident;
	int err;

	if (len < sizeof(sin))
		return -EINVAL;
	memcpy(&sin, uaddr, sizeof(sin));
	if (sin.sin_family != AF_INET &&
	    !(sin.sin_family == AF_UNSPEC && sin.sin_addr.s_addr == htonl(INADDR_ANY)))
		return -EAFNOSUPPORT;
	addr = sin.sin_addr.s_addr;
	if (addr != htonl(INADDR_ANY) && !inet_addr_type_local(addr))
		return -EADDRNOTAVAIL;  /* also broadcast and multicast addresses */
	ident = ntohs(sin.sin_port);

	pthread_rwlock_wrlock(&sock_lookup_lock);
	if (sk->sport) {
		err = -EINVAL;
		goto out;
	}
	sk->saddr = sk->src = addr;
	err = ping_get_port(sk, ident);
	if (err) {
		sk->saddr = sk->src = 0;
		goto out;
	}
	if (addr)
		sk->userlocks |= SOCK_BINDADDR_LOCK;
	if (ident)
		sk->userlocks |= SOCK_BINDPORT_LOCK;
	sk->daddr = 0;
	sk->dport = 0;
out:
	pthread_rwlock_unlock(&sock_lookup_lock);
	if (!err)
		sock_state_set(sk, NS_SS_BOUND);
	return err;
}

/* __udp_disconnect, which the kernel's ping sockets use too. */
static int ping_disconnect(struct sock *sk)
{
	pthread_rwlock_wrlock(&sock_lookup_lock);
	sk->connected = false;
	sk->daddr = 0;
	sk->dport = 0;
	sk->bound_dev_if = 0;
	if (!(sk->userlocks & SOCK_BINDADDR_LOCK))
		sk->saddr = sk->src = 0;
	if (!(sk->userlocks & SOCK_BINDPORT_LOCK))
		ping_unhash(sk);
	pthread_rwlock_unlock(&sock_lookup_lock);
	sock_state_clear(sk, NS_SS_CONNECTED | (sk->sport ? 0 : NS_SS_BOUND));
	return 0;
}

/* inet_dgram_connect: autobind, then ip4_datagram_connect. */
static int ping_connect(struct sock *sk, const struct sockaddr *uaddr, socklen_t len)
{
	int err = 0;

	if (len < sizeof(sa_family_t))
		return -EINVAL;
	if (uaddr->sa_family == AF_UNSPEC)
		return ping_disconnect(sk);
	pthread_rwlock_wrlock(&sock_lookup_lock);
	if (!sk->sport)
		err = ping_get_port(sk, 0) ? -EAGAIN : 0;
	pthread_rwlock_unlock(&sock_lookup_lock);
	if (err)
		return err;
	sock_state_set(sk, NS_SS_BOUND);
	return ip4_datagram_connect(sk, uaddr, len);
}

static int ping_setsockopt(struct sock *sk, int level, int name, const void *val, socklen_t len)
{
	int err;

	pthread_rwlock_wrlock(&sock_lookup_lock);
	if (level == SOL_SOCKET)
		err = sk_setsockopt(sk, name, val, len);
	else
		err = do_ip_setsockopt(sk, level, name, val, len);
	pthread_rwlock_unlock(&sock_lookup_lock);
	return err;
}

static int ping_getsockopt(struct sock *sk, int level, int name, void *val, socklen_t *len)
{
	if (level == SOL_SOCKET)
		return sk_getsockopt(sk, name, val, len);
	return do_ip_getsockopt(sk, level, name, val, len);
}

static bool ping_release(struct sock *sk)
{
	pthread_rwlock_wrlock(&sock_lookup_lock);
	ping_unhash(sk);
	sk->connected = false;
	pthread_rwlock_unlock(&sock_lookup_lock);
	return false;
}

static const struct proto_ops ping_ops = {
	.name = "icmp",
	.init = ping_init_sock,
	/* An echo request fills an IPv4 datagram: 65535 minus the IP header. */
	.max_dgram = IP_MAXPACKET - IP_MIN_HLEN,
	.bind = ping_bind,
	.connect = ping_connect,
	.listen = NULL,                 /* EOPNOTSUPP */
	.setsockopt = ping_setsockopt,
	.getsockopt = ping_getsockopt,
	.getname = inet_getname,
	.shutdown = inet_dgram_shutdown,
	.tx_ready = ping_tx_ready,
	.release = ping_release,
};

const struct inet_protosw ping_protosw = {
	.type = SOCK_DGRAM,
	.protocol = IPPROTO_ICMP,
	.ops = &ping_ops,
};
