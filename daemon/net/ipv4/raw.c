/*
 * Raw IPv4 sockets, mirroring the kernel's net/ipv4/raw.c.
 *
 * Receive.  ip_local_deliver_finish calls raw_local_deliver before the
 * protocol's handler: every raw socket of the packet's protocol whose
 * bound address, peer and device match (raw_v4_match), and for ICMP whose
 * ICMP_FILTER lets the type through, gets the whole packet, IP header
 * included, as one datagram from the packet's source (port 0).  The
 * packet itself goes on to the protocol (an echo request is still
 * answered, an echo reply still reaches a ping socket).
 *
 * Transmit.  Without IP_HDRINCL the data is the payload and the stack
 * builds the header with the socket's protocol.  With IP_HDRINCL (always
 * for IPPROTO_RAW) the data is a whole packet, sent to the address given
 * to sendto() as raw_send_hdrinc does: at most the device's MTU, at least
 * a header; a header length beyond the data is EINVAL; with a header
 * length of 5 words or more the stack fills in a zero source, a zero ID,
 * the total length and the checksum.  Nothing a client writes is parsed
 * beyond those checks, so a bad header cannot hurt the daemon; our own
 * receive path drops what it would not accept from the wire.
 *
 * Permission: only root gets a raw socket (sock_create's CAP_NET_RAW
 * check, EPERM).
 *
 * Context.  Receive and raw_icmp_error on any worker under
 * sock_lookup_lock held for reading (the protocol hash is under that
 * lock); socket operations and transmit on the owner worker.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#include "core/checksum.h"
#include "core/netdev.h"
#include "core/skb.h"
#include "core/trace.h"
#include "net/ipv4/datagram.h"
#include "net/ipv4/icmp.h"
#include "net/ipv4/ip.h"
#include "net/ipv4/pmtu.h"
#include "net/ipv4/raw.h"
#include "net/ipv4/route.h"
#include "net/ipv4/snmp.h"
#include "net/socket.h"
#include "net/wire/icmp.h"
#include "net/wire/ip.h"

/* The kernel's SOL_RAW level and its option (linux/icmp.h). */
#define SOL_RAW_NS 255
#define ICMP_FILTER_NS 1

/* ---- the protocol hash (under sock_lookup_lock) -------------------------------- */

#define RAW_HTABLE_SIZE 256u

static struct sock *raw_hash[RAW_HTABLE_SIZE];

static struct sock **raw_hashslot(int protocol)
{
	return &raw_hash[(unsigned int)protocol & (RAW_HTABLE_SIZE - 1)];
}

static void raw_hash_sk(struct sock *sk)
{
	struct sock **slot = raw_hashslot(sk->protocol);

	pthread_rwlock_wrlock(&sock_lookup_lock);
	sk->hash_next = *slot;
	*slot = sk;
	sk->hashed = true;
	pthread_rwlock_unlock(&sock_lookup_lock);
}

static bool raw_unhash_sk(struct sock *sk)
{
	struct sock **pp = raw_hashslot(sk->protocol);

	pthread_rwlock_wrlock(&sock_lookup_lock);
	if (sk->hashed) {
		while (*pp && *pp != sk)
			pp = &(*pp)->hash_next;
		if (*pp)
			*pp = sk->hash_next;
		sk->hash_next = NULL;
		sk->hashed = false;
	}
	sk->connected = false;
	pthread_rwlock_unlock(&sock_lookup_lock);
	return false;
}

/*
 * raw_v4_match: may @sk see a packet of @protocol from @raddr to @laddr
 * that arrived on @dif?  Sockets without shared memory yet do not exist
 * for their client.  Lookup lock held for reading.
 */
static bool raw_v4_match(const struct sock *sk, uint8_t protocol, uint32_t raddr,
			 uint32_t laddr, int dif)
{
	return sk->shm && sk->protocol == protocol &&
	       !(sk->daddr && sk->daddr != raddr) &&
	       !(sk->saddr && sk->saddr != laddr) &&
	       !(sk->bound_dev_if && sk->bound_dev_if != dif);
}

/* icmp_filter: true if @sk's ICMP_FILTER blocks this message (or it is too short). */
static bool icmp_filter(const struct sock *sk, const struct sk_buff *skb)
{
	uint8_t type;

	if (skb->len < ICMP_HLEN)
		return true;
	type = skb->data[0];
	if (type < 32)
		return (sk->icmp_filter >> type) & 1u;
	return false;   /* do not block unknown types */
}

bool raw_local_deliver(struct sk_buff *skb, uint8_t protocol)
{
	const struct iphdr *iph = (const struct iphdr *)skb_network_header(skb);
	const unsigned char *nh = skb_network_header(skb);
	uint32_t len = (uint32_t)(skb->data - nh) + skb->len;
	int dif = skb->dev ? skb->dev->ifindex : 0;
	bool delivered = false;

	pthread_rwlock_rdlock(&sock_lookup_lock);
	for (struct sock *sk = *raw_hashslot(protocol); sk; sk = sk->hash_next) {
		struct ns_dgram hdr;
		int err;

		if (!raw_v4_match(sk, protocol, iph->saddr, iph->daddr, dif))
			continue;
		if (protocol == IPPROTO_ICMP_NS && icmp_filter(sk, skb))
			continue;
		/* A GRO packet reaches raw sockets whole, as in the kernel: one copy. */
		if (skb_is_nonlinear(skb)) {
			if (skb_linearize(skb)) {
				drop_count(SKB_DROP_REASON_NOMEM);
				break;
			}
			iph = (const struct iphdr *)skb_network_header(skb);
			nh = skb_network_header(skb);
		}
		delivered = true;
		/* raw_rcv: the packet from its network header on. */
		dgram_rcv_info(sk, &hdr, skb, iph->saddr, 0, len);
		err = sock_queue_rcv(sk, &hdr, nh);
		if (err)
			drop_count(err == -EPIPE ? SKB_DROP_REASON_SOCK_DEAD
						 : SKB_DROP_REASON_SOCK_RCVBUF);
	}
	pthread_rwlock_unlock(&sock_lookup_lock);
	if (delivered)
		IPCB(skb)->flags |= IPSKB_RAW_DELIVERED;
	return delivered;
}

void raw_icmp_error(struct sk_buff *skb, uint8_t protocol, uint8_t type, uint8_t code,
		    uint32_t info)
{
	const struct iphdr *iph = (const struct iphdr *)skb_network_header(skb);
	int dif = skb->dev ? skb->dev->ifindex : 0;
	bool harderr, pmtu = false;
	int err;

	err = icmp_err_errno(type, code, &harderr);
	if (!err)
		return;
	pthread_rwlock_rdlock(&sock_lookup_lock);
	for (struct sock *sk = *raw_hashslot(protocol); sk; sk = sk->hash_next) {
		bool hard = harderr;

		/* The quoted packet went from us (saddr) to the peer (daddr). */
		if (!raw_v4_match(sk, protocol, iph->daddr, iph->saddr, dif))
			continue;
		/* raw_err: our socket sent it, believe the next-hop MTU (ipv4_sk_update_pmtu). */
		if (type == ICMP_DEST_UNREACH && code == ICMP_FRAG_NEEDED)
			pmtu = true;
		/* raw_err: useless to an unconnected socket without IP_RECVERR. */
		if (!sk->recverr && !sk->connected)
			continue;
		if (type == ICMP_DEST_UNREACH && code == ICMP_FRAG_NEEDED)
			hard = sk->pmtudisc != IP_PMTUDISC_DONT;
		if (sk->recverr)
			ip_icmp_error(sk, skb, 0, err, 0, type, code, info);
		if (sk->recverr || hard)
			sock_set_error(sk, err);
	}
	pthread_rwlock_unlock(&sock_lookup_lock);
	if (pmtu)
		ip_rt_update_pmtu(iph->daddr, info);
}

/* ---- transmit ----------------------------------------------------------------- */

/* The destination of a tx record, as raw_sendmsg checks it (AF_UNSPEC counts as AF_INET). */
static int raw_tx_dest(const struct sock *sk, const struct ns_dgram *h, uint32_t *daddr)
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
	if (sin.sin_family != AF_INET && sin.sin_family != AF_UNSPEC)
		return -EAFNOSUPPORT;
	*daddr = sin.sin_addr.s_addr;
	return 0;
}

/*
 * raw_send_hdrinc: the client's packet, copied into @skb (data = network
 * header, len bytes), checked and completed.  0 or -EINVAL; the caller
 * frees the skb on error.
 */
static int raw_send_hdrinc(struct sk_buff *skb, uint32_t saddr, uint32_t daddr)
{
	struct iphdr *iph = (struct iphdr *)skb->data;
	uint32_t iphlen = iph_ihl(iph) * 4u;

	(void)daddr;
	/*
	 * The kernel does not rewrite the header, but makes sure the
	 * header length lies within the data; a short one goes out as given.
	 */
	if (iphlen > skb->len)
		return -EINVAL;
	skb_reset_network_header(skb);
	if (iphlen >= IP_MIN_HLEN) {
		if (!iph->saddr)
			iph->saddr = saddr;
		iph->check = 0;
		iph->tot_len = htons((uint16_t)skb->len);
		if (!iph->id)
			iph->id = htons(ip_select_ident(iph->saddr, iph->daddr, iph->protocol));
		iph->check = ip_fast_csum(iph, iph_ihl(iph));
		if (iph->protocol == IPPROTO_ICMP_NS && skb->len >= iphlen + ICMP_HLEN)
			icmp_out_count(skb->data[iphlen]);
	}
	return 0;
}

/*
 * raw_sendmsg for one record.  0 or -errno; failures before the IP
 * layer are counted here (SOCK_SND_*), after it by the IP layer.  Owner.
 */
static int raw_sendmsg(struct sock *sk, const struct ns_dgram *h, const unsigned char *payload)
{
	enum skb_drop_reason reason = SKB_DROP_REASON_SOCK_SND_ERROR;
	bool hdrincl = sk->hdrincl;
	struct fib_result res;
	struct sk_buff *skb;
	uint32_t daddr, saddr;
	uint8_t tos, ttl;
	int err;

	if (sk->shut & SEND_SHUTDOWN) {
		err = -EPIPE;
		goto bad;
	}
	if (h->len > IP_MAXPACKET || h->len > sk->max_dgram) {
		err = -EMSGSIZE;
		reason = SKB_DROP_REASON_SOCK_SND_INVALID;
		goto bad;
	}
	err = raw_tx_dest(sk, h, &daddr);
	if (err)
		goto bad;
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
	saddr = sk->src ? sk->src : res.prefsrc;
	if (hdrincl ? h->len > res.dev->mtu : IP_MIN_HLEN + h->len > IP_MAXPACKET) {
		err = -EMSGSIZE;
		goto bad;
	}
	/* IP_PMTUDISC_DO and up: no fragments (__ip_append_data). */
	if (!hdrincl) {
		err = dgram_check_mtu(sk, &res, daddr, IP_MIN_HLEN + h->len);
		if (err) {
			reason = SKB_DROP_REASON_PKT_TOO_BIG;
			goto bad;
		}
	}
	if (hdrincl && h->len < IP_MIN_HLEN) {
		err = -EINVAL;
		goto bad;
	}

	skb = alloc_skb(NS_MAX_HEADER + h->len);
	if (!skb) {
		err = -ENOBUFS;
		reason = SKB_DROP_REASON_NOMEM;
		goto bad;
	}
	skb_reserve(skb, NS_MAX_HEADER);
	/* Copied once; everything below looks only at the copy. */
	skb_put_data(skb, payload, h->len);
	if (hdrincl) {
		err = raw_send_hdrinc(skb, saddr, daddr);
		if (err) {
			kfree_skb_reason(skb, SKB_DROP_REASON_SOCK_SND_INVALID);
			return err;
		}
		__IP_INC_STATS(OUTREQUESTS);
		return ip_local_out(skb, &res);
	}
	skb_reset_transport_header(skb);
	if (trace_active())
		trace_sample_tx(skb, NS_TRACE_RAW_SENDMSG, (uint8_t)sk->protocol, saddr, daddr, 0, 0);
	if (sk->protocol == IPPROTO_ICMP_NS && h->len >= ICMP_HLEN)
		icmp_out_count(skb->data[0]);
	tos = h->tos ? h->tos : sk->tos;
	ttl = h->ttl ? h->ttl : (uint8_t)(sk->ttl > 0 ? sk->ttl : 0);
	/* From here the IP layer owns the skb and counts its drops. */
	return __ip_build_and_send_pkt(skb, saddr, daddr, (uint8_t)sk->protocol, tos, ttl,
				       sk->pmtudisc);

bad:
	drop_count(reason);
	return err;
}

static const struct dgram_proto raw_dgram = {
	.sendmsg = raw_sendmsg,
	.snd_invalid = SKB_DROP_REASON_SOCK_SND_INVALID,
};

static void raw_tx_ready(struct sock *sk)
{
	dgram_tx_ready(sk, &raw_dgram);
}

/* ---- socket operations (owner) ------------------------------------------------ */

/*
 * inet_create's raw part and raw_sk_init: the socket is "bound" to its
 * protocol from the start (getsockname shows it as the port) and hashed,
 * IPPROTO_RAW implies IP_HDRINCL, and an ICMP socket filters nothing.
 */
static int raw_init(struct sock *sk, const struct sock_cred *cred, uint32_t *rx_size,
		    uint32_t *tx_size)
{
	(void)cred;
	(void)rx_size;
	(void)tx_size;
	if (sk->family != AF_INET)
		return -EPROTONOSUPPORT;        /* no IPv6 */
	sk->sport = htons((uint16_t)sk->protocol);
	sk->bound = true;
	sk->hdrincl = sk->protocol == IPPROTO_RAW;
	sk->icmp_filter = 0;
	raw_hash_sk(sk);
	return 0;
}

/* raw_bind: any local, broadcast or multicast address; the family is not checked. */
static int raw_bind(struct sock *sk, const struct sockaddr *uaddr, socklen_t len)
{
	struct sockaddr_in sin;
	struct fib_result res;
	uint32_t addr;
	bool bcast_mcast;

	if (len < sizeof(sin) || sk->connected)
		return -EINVAL;
	memcpy(&sin, uaddr, sizeof(sin));
	addr = sin.sin_addr.s_addr;
	bcast_mcast = addr == htonl(INADDR_BROADCAST) ||
		      (addr & htonl(0xf0000000u)) == htonl(0xe0000000u) ||
		      (fib_lookup(addr, &res) == 0 && res.type == RTN_BROADCAST);
	if (addr != htonl(INADDR_ANY) && !bcast_mcast && !inet_addr_type_local(addr))
		return -EADDRNOTAVAIL;
	pthread_rwlock_wrlock(&sock_lookup_lock);
	sk->saddr = addr;
	sk->src = bcast_mcast ? 0 : addr;  /* send from the device's address */
	pthread_rwlock_unlock(&sock_lookup_lock);
	return 0;
}

/*
 * inet_dgram_connect for raw sockets.  Disconnecting forgets the peer
 * only: the kernel's __udp_disconnect would also unhash the socket, which
 * then never receives again; we keep it receiving.
 */
static int raw_connect(struct sock *sk, const struct sockaddr *uaddr, socklen_t len)
{
	if (len < sizeof(sa_family_t))
		return -EINVAL;
	if (uaddr->sa_family == AF_UNSPEC) {
		pthread_rwlock_wrlock(&sock_lookup_lock);
		sk->connected = false;
		sk->daddr = 0;
		sk->dport = 0;
		if (!(sk->userlocks & SOCK_BINDADDR_LOCK))
			sk->saddr = sk->src = 0;
		pthread_rwlock_unlock(&sock_lookup_lock);
		sock_state_clear(sk, NS_SS_CONNECTED);
		return 0;
	}
	return ip4_datagram_connect(sk, uaddr, len);
}

static int raw_setsockopt(struct sock *sk, int level, int name, const void *val, socklen_t len)
{
	int err;

	if (level == SOL_RAW_NS) {
		uint32_t filter;

		if (name != ICMP_FILTER_NS)
			return -ENOPROTOOPT;
		if (sk->protocol != IPPROTO_ICMP)
			return -EOPNOTSUPP;
		/* raw_seticmpfilter: up to 4 bytes; a shorter value changes the low bytes. */
		pthread_rwlock_wrlock(&sock_lookup_lock);   /* receive reads it */
		filter = sk->icmp_filter;
		memcpy(&filter, val, len < sizeof(filter) ? len : sizeof(filter));
		sk->icmp_filter = filter;
		pthread_rwlock_unlock(&sock_lookup_lock);
		return 0;
	}
	if (level == IPPROTO_IP && name == IP_HDRINCL) {
		int v = 0;

		if (len >= sizeof(int))
			memcpy(&v, val, sizeof(int));
		else if (len >= 1)
			v = *(const unsigned char *)val;
		sk->hdrincl = v != 0;
		return 0;
	}
	pthread_rwlock_wrlock(&sock_lookup_lock);
	if (level == SOL_SOCKET)
		err = sk_setsockopt(sk, name, val, len);
	else
		err = do_ip_setsockopt(sk, level, name, val, len);
	pthread_rwlock_unlock(&sock_lookup_lock);
	return err;
}

static int raw_getsockopt(struct sock *sk, int level, int name, void *val, socklen_t *len)
{
	if (level == SOL_RAW_NS) {
		socklen_t n = *len < sizeof(sk->icmp_filter) ? *len
							      : (socklen_t)sizeof(sk->icmp_filter);

		if (name != ICMP_FILTER_NS)
			return -ENOPROTOOPT;
		if (sk->protocol != IPPROTO_ICMP)
			return -EOPNOTSUPP;
		memcpy(val, &sk->icmp_filter, n);
		*len = n;
		return 0;
	}
	if (level == SOL_SOCKET)
		return sk_getsockopt(sk, name, val, len);
	return do_ip_getsockopt(sk, level, name, val, len);
}

static const struct proto_ops raw_ops = {
	.name = "raw",
	.init = raw_init,
	/* With IP_HDRINCL a record is a whole IPv4 packet. */
	.max_dgram = IP_MAXPACKET,
	.bind = raw_bind,
	.connect = raw_connect,
	.listen = NULL,                 /* EOPNOTSUPP */
	.setsockopt = raw_setsockopt,
	.getsockopt = raw_getsockopt,
	.getname = inet_getname,
	.shutdown = inet_dgram_shutdown,
	.tx_ready = raw_tx_ready,
	.release = raw_unhash_sk,
};

/* IPPROTO_IP (0) is the wildcard: any protocol but 0. */
const struct inet_protosw raw_protosw = {
	.type = SOCK_RAW,
	.protocol = IPPROTO_IP,
	.ops = &raw_ops,
};
