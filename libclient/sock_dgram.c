/*
 * The datagram data path (stream sockets go to sock_stream.c from the two
 * entry points here): sendmsg() produces one record into the tx ring,
 * recvmsg() consumes one from the rx ring, with the errors, flags and
 * control messages of Linux's udp_sendmsg()/udp_recvmsg(), and of
 * ping_v4_sendmsg()/raw_sendmsg() for ICMP ping and raw sockets (their
 * records carry the ICMP message, or the whole IP packet, instead of a
 * UDP payload).  Addresses and messages are checked here as the kernel
 * checks them, because the daemon consumes tx records later and cannot
 * fail the call.  recvmsg(MSG_ERRQUEUE) asks the daemon for an entry of
 * the error queue (IP_RECVERR).  Client context, any thread; rings under
 * the socket's client_lock, which is never held while waiting or talking
 * to the daemon.
 */
#include <errno.h>
#include <time.h>
#include <linux/errqueue.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/ip_icmp.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include "bypass.h"
#include "dgram_ring.h"
#include "ipc.h"
#include "real.h"
#include "sock.h"

/* Largest UDP payload: 65535 - IPv4 header - UDP header (ip_append_data). */
#define NS_UDP_MAX_PAYLOAD 65507u
/* Largest ICMP message or raw payload: 65535 - IPv4 header. */
#define NS_IP_MAX_PAYLOAD 65515u

static int64_t ns_timeo(struct ns_sock *s, bool rcv)
{
	return __atomic_load_n(rcv ? &s->rcvtimeo_ns : &s->sndtimeo_ns, __ATOMIC_RELAXED);
}

/*
 * Check the destination @name (@namelen bytes) of a send on @s and put it
 * into @hdr.  0 (hdr->addrlen 0 = the connected peer), or -errno exactly
 * as udp_sendmsg()/udpv6_sendmsg() would fail.
 */
static int ns_dgram_dest(struct ns_sock *s, const void *name, socklen_t namelen,
			 struct ns_dgram *hdr)
{
	sa_family_t fam;

	hdr->addrlen = 0;
	if (!name) {
		if (!__atomic_load_n(&s->connected, __ATOMIC_ACQUIRE) &&
		    !(atomic_load(&s->shm->state) & NS_SS_CONNECTED))
			return -EDESTADDRREQ;
		return 0;
	}
	if (namelen < sizeof(fam))
		return -EINVAL;
	memcpy(&fam, name, sizeof(fam));
	if (s->domain == AF_INET6) {
		struct sockaddr_in6 sin6;

		if (fam == AF_UNSPEC)
			return ns_dgram_dest(s, NULL, 0, hdr);
		if (fam == AF_INET)
			goto v4;
		if (fam != AF_INET6)
			return -EINVAL;
		if (namelen < 24)               /* SIN6_LEN_RFC2133 */
			return -EINVAL;
		memset(&sin6, 0, sizeof(sin6));
		memcpy(&sin6, name, namelen < sizeof(sin6) ? namelen : sizeof(sin6));
		if (sin6.sin6_port == 0)
			return -EINVAL;
		if (!IN6_IS_ADDR_V4MAPPED(&sin6.sin6_addr))
			return -ENETUNREACH;    /* IPv4 only: no IPv6 routes */
		if (__atomic_load_n(&s->opts, __ATOMIC_RELAXED) & NS_OPT_V6ONLY)
			return -ENETUNREACH;
		if (sin6.sin6_addr.s6_addr32[3] == htonl(INADDR_BROADCAST) &&
		    !(__atomic_load_n(&s->opts, __ATOMIC_RELAXED) & NS_OPT_BROADCAST))
			return -EACCES;
		memcpy(hdr->addr, &sin6, sizeof(sin6));
		hdr->addrlen = sizeof(sin6);
		return 0;
	}
	if (fam != AF_INET && fam != AF_UNSPEC)
		return -EAFNOSUPPORT;
v4:
	{
		struct sockaddr_in sin;

		if (namelen < sizeof(sin))
			return -EINVAL;
		memcpy(&sin, name, sizeof(sin));
		if (fam == AF_INET && s->domain == AF_INET6 &&
		    (__atomic_load_n(&s->opts, __ATOMIC_RELAXED) & NS_OPT_V6ONLY))
			return -ENETUNREACH;
		sin.sin_family = AF_INET;
		if (sin.sin_port == 0)
			return -EINVAL;
		if (sin.sin_addr.s_addr == htonl(INADDR_BROADCAST) &&
		    !(__atomic_load_n(&s->opts, __ATOMIC_RELAXED) & NS_OPT_BROADCAST))
			return -EACCES;
		memcpy(hdr->addr, &sin, sizeof(sin));
		hdr->addrlen = sizeof(sin);
		return 0;
	}
}

/* An ICMP ping socket (SOCK_DGRAM, IPPROTO_ICMP) rather than UDP. */
static bool ns_is_ping(const struct ns_sock *s)
{
	return s->type == SOCK_DGRAM && s->protocol == IPPROTO_ICMP;
}

/*
 * The destination of a send on a ping or raw socket, as ping_v4_sendmsg()
 * and raw_sendmsg() check it: a whole sockaddr_in (no port needed);
 * a raw socket also takes AF_UNSPEC as AF_INET.
 */
static int ns_inet_dest(struct ns_sock *s, const void *name, socklen_t namelen,
			struct ns_dgram *hdr)
{
	struct sockaddr_in sin;

	hdr->addrlen = 0;
	if (!name) {
		if (!__atomic_load_n(&s->connected, __ATOMIC_ACQUIRE) &&
		    !(atomic_load(&s->shm->state) & NS_SS_CONNECTED))
			return -EDESTADDRREQ;
		return 0;
	}
	if (namelen < sizeof(sin))
		return -EINVAL;
	memcpy(&sin, name, sizeof(sin));
	if (sin.sin_family != AF_INET && (ns_is_ping(s) || sin.sin_family != AF_UNSPEC))
		return -EAFNOSUPPORT;
	if (sin.sin_addr.s_addr == htonl(INADDR_BROADCAST) &&
	    !(__atomic_load_n(&s->opts, __ATOMIC_RELAXED) & NS_OPT_BROADCAST))
		return -EACCES;
	sin.sin_family = AF_INET;
	memcpy(hdr->addr, &sin, sizeof(sin));
	hdr->addrlen = sizeof(sin);
	return 0;
}

/* Copy the first @len bytes of the message's data (it has at least that many). */
static void ns_iov_head(const struct iovec *iov, size_t n, void *buf, size_t len)
{
	unsigned char *p = buf;

	for (size_t i = 0; i < n && len; i++) {
		size_t k = iov[i].iov_len < len ? iov[i].iov_len : len;

		memcpy(p, iov[i].iov_base, k);
		p += k;
		len -= k;
	}
}

/*
 * What ping_common_sendmsg() and raw_send_hdrinc() check of the data
 * itself: an echo request of at least a header; a packet with IP_HDRINCL
 * of at least an IP header whose header length lies within it.  The MTU
 * limit of IP_HDRINCL is the daemon's to check (so_error EMSGSIZE).
 */
static int ns_inet_check_data(struct ns_sock *s, const struct msghdr *msg, size_t len)
{
	if (ns_is_ping(s)) {
		struct icmphdr icmph;

		if (len < sizeof(icmph))
			return -EINVAL;
		ns_iov_head(msg->msg_iov, msg->msg_iovlen, &icmph, sizeof(icmph));
		if (icmph.type != ICMP_ECHO || icmph.code != 0)
			return -EINVAL;
		return len > NS_IP_MAX_PAYLOAD ? -EMSGSIZE : 0;
	}
	if (__atomic_load_n(&s->opts, __ATOMIC_RELAXED) & NS_OPT_HDRINCL) {
		struct iphdr iph;

		if (len < sizeof(iph))
			return -EINVAL;
		ns_iov_head(msg->msg_iov, msg->msg_iovlen, &iph, sizeof(iph));
		if ((size_t)iph.ihl * 4 > len)
			return -EINVAL;
		return 0;
	}
	return len > NS_IP_MAX_PAYLOAD ? -EMSGSIZE : 0;
}

int ns_iov_len(const struct iovec *iov, size_t n, size_t *total)
{
	size_t t = 0;

	if (n && !iov)
		return -EFAULT;
	if (n > 1024)                   /* UIO_MAXIOV */
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		if ((ssize_t)iov[i].iov_len < 0)
			return -EINVAL;
		if (iov[i].iov_len && !iov[i].iov_base)
			return -EFAULT;
		t += iov[i].iov_len;
		if ((ssize_t)t < 0)
			return -EINVAL;
	}
	*total = t;
	return 0;
}

static bool ns_nonblock(struct ns_sock *s, int flags)
{
	return (flags & MSG_DONTWAIT) || __atomic_load_n(&s->nonblock, __ATOMIC_RELAXED);
}

ssize_t ns_sock_sendmsg(struct ns_sock *s, int fd, const struct msghdr *msg, int flags)
{
	struct ns_dgram hdr;
	size_t len;
	bool inet;
	int err;

	if (s->type == SOCK_STREAM)
		return ns_stream_sendmsg(s, fd, msg, flags);
	if (s->type != SOCK_DGRAM && s->type != SOCK_RAW)
		return -EOPNOTSUPP;
	inet = ns_is_ping(s) || s->type == SOCK_RAW;
	if (!msg)
		return -EFAULT;
	err = ns_iov_len(msg->msg_iov, msg->msg_iovlen, &len);
	if (err)
		return err;
	/* udp_sendmsg, ping_v4_sendmsg, raw_sendmsg: the size first, then MSG_OOB. */
	if (len > 0xffff)
		return -EMSGSIZE;
	if (flags & MSG_OOB)
		return -EOPNOTSUPP;
	memset(&hdr, 0, sizeof(hdr));
	/* ___sys_sendmsg: a name with length 0 is no name. */
	if (inet)
		err = ns_inet_dest(s, msg->msg_namelen ? msg->msg_name : NULL,
				   msg->msg_namelen, &hdr);
	else
		err = ns_dgram_dest(s, msg->msg_namelen ? msg->msg_name : NULL,
				    msg->msg_namelen, &hdr);
	if (err)
		return err;
	if (inet)
		err = ns_inet_check_data(s, msg, len);
	else if (len > NS_UDP_MAX_PAYLOAD)
		err = -EMSGSIZE;
	if (err)
		return err;
	if (len > s->max_dgram)
		return -EMSGSIZE;
	if (hdr.addrlen) {
		err = ns_sock_maybe_bypass(s, fd, (struct sockaddr *)hdr.addr, hdr.addrlen, false);
		if (err)
			return err;     /* -NS_REDO_LIBC: a kernel socket now */
	}
	if (ns_sock_dead(s))
		return -EPIPE;
	/* The kernel binds an unbound socket before sending (inet_autobind). */
	err = ns_sock_autobind(s);
	if (err)
		return err == -ECONNRESET ? -EPIPE : err;

	for (;;) {
		err = atomic_exchange(&s->shm->so_error, 0);
		if (err)
			return -err;            /* sock_alloc_send_skb reports it */
		if (atomic_load(&s->shm->state) & NS_SS_SEND_SHUTDOWN)
			return -EPIPE;
		ns_sock_lock(s);
		err = ns_dgram_tx_put(&s->tx, &hdr, msg->msg_iov, msg->msg_iovlen, (uint32_t)len);
		ns_sock_unlock(s);
		if (err == 0)
			break;
		if (err != -EAGAIN)
			return err;
		if (ns_sock_dead(s))
			return -EPIPE;
		if (ns_nonblock(s, flags) || ns_timeo(s, false) < 0)
			return -EAGAIN;
		err = ns_sock_wait(s, fd, POLLOUT, ns_timeo(s, false));
		if (err)
			return err;
	}
	ns_sock_kick(s);
	return (ssize_t)len;
}

/* Append one control message; false (and MSG_CTRUNC) if it does not fit. */
static bool ns_put_cmsg(struct msghdr *msg, size_t *used, int level, int type,
			const void *data, size_t len)
{
	struct cmsghdr cm;
	size_t space = CMSG_SPACE(len);

	if (!msg->msg_control || msg->msg_controllen < *used + CMSG_LEN(len)) {
		msg->msg_flags |= MSG_CTRUNC;
		return false;
	}
	cm.cmsg_len = CMSG_LEN(len);
	cm.cmsg_level = level;
	cm.cmsg_type = type;
	memcpy((char *)msg->msg_control + *used, &cm, sizeof(cm));
	memcpy((char *)msg->msg_control + *used + CMSG_LEN(0), data, len);
	*used += space < msg->msg_controllen - *used ? space : msg->msg_controllen - *used;
	return true;
}

/*
 * The arrival time of a record (CLOCK_REALTIME microseconds modulo 2^32)
 * completed with the high bits of our own clock: it arrived less than
 * 71 minutes ago.
 */
static struct timespec ns_dgram_tstamp(uint32_t stamp_us)
{
	struct timespec now, ts;
	uint64_t now_us, at_us;

	clock_gettime(CLOCK_REALTIME, &now);
	now_us = (uint64_t)now.tv_sec * 1000000u + (uint64_t)now.tv_nsec / 1000u;
	at_us = now_us - (uint32_t)((uint32_t)now_us - stamp_us);
	ts.tv_sec = (time_t)(at_us / 1000000u);
	ts.tv_nsec = (long)(at_us % 1000000u) * 1000;
	return ts;
}

/* __sock_recv_timestamp(): SO_TIMESTAMP(NS)_OLD/_NEW as the application asked. */
static void ns_dgram_tstamp_cmsg(unsigned int opts, const struct ns_dgram *hdr,
				 struct msghdr *msg, size_t *used)
{
	struct timespec ts;

	if (!(opts & NS_OPT_TSTAMP) || !(hdr->flags & NS_DGRAM_F_TSTAMP))
		return;
	ts = ns_dgram_tstamp(hdr->tstamp_us);
	if (opts & NS_OPT_TSTAMPNS) {
		/* struct timespec and __kernel_timespec agree on 64-bit. */
		ns_put_cmsg(msg, used, SOL_SOCKET,
			    (opts & NS_OPT_TSTAMP_NEW) ? SO_TIMESTAMPNS_NEW : SO_TIMESTAMPNS_OLD,
			    &ts, sizeof(ts));
	} else {
		struct timeval tv = { .tv_sec = ts.tv_sec, .tv_usec = ts.tv_nsec / 1000 };

		ns_put_cmsg(msg, used, SOL_SOCKET,
			    (opts & NS_OPT_TSTAMP_NEW) ? SO_TIMESTAMP_NEW : SO_TIMESTAMP_OLD,
			    &tv, sizeof(tv));
	}
}

/* sock_recv_cmsgs() (timestamps), then ip_cmsg_recv_offset(): IP_PKTINFO, IP_TTL, IP_TOS. */
static void ns_dgram_cmsgs(struct ns_sock *s, const struct ns_dgram *hdr, struct msghdr *msg)
{
	unsigned int opts = __atomic_load_n(&s->opts, __ATOMIC_RELAXED);
	size_t used = 0;

	ns_dgram_tstamp_cmsg(opts, hdr, msg, &used);
	if ((opts & NS_OPT_PKTINFO) && (hdr->flags & NS_DGRAM_F_PKTINFO)) {
		struct in_pktinfo pi = {
			.ipi_ifindex = (int)hdr->ifindex,
			.ipi_spec_dst.s_addr = hdr->dst,
			.ipi_addr.s_addr = hdr->dst,
		};

		ns_put_cmsg(msg, &used, IPPROTO_IP, IP_PKTINFO, &pi, sizeof(pi));
	}
	if (opts & NS_OPT_RECVTTL) {
		int ttl = hdr->ttl;

		ns_put_cmsg(msg, &used, IPPROTO_IP, IP_TTL, &ttl, sizeof(ttl));
	}
	if (opts & NS_OPT_RECVTOS)
		ns_put_cmsg(msg, &used, IPPROTO_IP, IP_TOS, &hdr->tos, 1);
	msg->msg_controllen = used;
}

/* The record's source as the application's socket family shows it. */
static void ns_dgram_source(struct ns_sock *s, const struct ns_dgram *hdr, struct msghdr *msg)
{
	struct sockaddr_in6 sin6;
	struct sockaddr_in sin;
	const void *src = hdr->addr;
	socklen_t klen = hdr->addrlen;

	if (klen > sizeof(hdr->addr))
		klen = sizeof(hdr->addr);
	if (s->domain == AF_INET6 && klen >= sizeof(sin) &&
	    ((const struct sockaddr *)hdr->addr)->sa_family == AF_INET) {
		/* An IPv6 socket sees IPv4 peers as v4-mapped addresses. */
		memcpy(&sin, hdr->addr, sizeof(sin));
		memset(&sin6, 0, sizeof(sin6));
		sin6.sin6_family = AF_INET6;
		sin6.sin6_port = sin.sin_port;
		sin6.sin6_addr.s6_addr[10] = 0xff;
		sin6.sin6_addr.s6_addr[11] = 0xff;
		memcpy(&sin6.sin6_addr.s6_addr[12], &sin.sin_addr, 4);
		src = &sin6;
		klen = sizeof(sin6);
	}
	if (msg->msg_name) {
		socklen_t n = msg->msg_namelen < klen ? msg->msg_namelen : klen;

		if ((int)msg->msg_namelen >= 0 && n)
			memcpy(msg->msg_name, src, n);
		msg->msg_namelen = klen;
	} else {
		msg->msg_namelen = 0;
	}
}

/* Scatter @len bytes of @data over the message's iovec; the bytes copied. */
static size_t ns_iov_put(const struct msghdr *msg, const void *data, size_t len)
{
	const unsigned char *p = data;
	size_t done = 0;

	for (size_t i = 0; i < msg->msg_iovlen && done < len; i++) {
		size_t k = msg->msg_iov[i].iov_len < len - done ? msg->msg_iov[i].iov_len
								 : len - done;

		memcpy(msg->msg_iov[i].iov_base, p + done, k);
		done += k;
	}
	return done;
}

/*
 * ip_recv_error(): the oldest entry of the error queue, from the daemon
 * (recvmsg(MSG_ERRQUEUE) is rare: after an error was reported).  Never
 * blocks: -EAGAIN when the queue is empty.  The data is what the ICMP
 * error quoted of our packet, msg_name where that packet went, and the
 * IP_RECVERR control message a struct sock_extended_err with the ICMP
 * message's sender as the offender (after IP_TTL and IP_TOS of the ICMP
 * message if asked for).
 */
static ssize_t ns_sock_recv_error(struct ns_sock *s, struct msghdr *msg, int flags)
{
	Netstack__Request req = NETSTACK__REQUEST__INIT;
	Netstack__RecvErrRequest rr = NETSTACK__RECV_ERR_REQUEST__INIT;
	Netstack__Reply *reply = NULL;
	const Netstack__RecvErrReply *e;
	struct {
		struct sock_extended_err ee;
		struct sockaddr_in offender;
	} errhdr;
	unsigned int opts = __atomic_load_n(&s->opts, __ATOMIC_RELAXED);
	size_t copied, used = 0;
	int err;

	if (!(atomic_load(&s->shm->state) & NS_SS_ERRQUEUE))
		return -EAGAIN;
	rr.sock_id = s->id;
	rr.peek = (flags & MSG_PEEK) != 0;
	req.body_case = NETSTACK__REQUEST__BODY_RECVERR;
	req.recverr = &rr;
	err = ns_ipc_simple(s->sess, &req, &reply);
	if (err)
		return err == ECONNRESET ? -EAGAIN : -err;
	e = reply->recverr;
	if (reply->body_case != NETSTACK__REPLY__BODY_RECVERR || !e ||
	    e->offender.len > sizeof(errhdr.offender) || e->addr.len > sizeof(struct sockaddr_storage)) {
		netstack__reply__free_unpacked(reply, NULL);
		return -EPROTO;
	}
	msg->msg_flags = MSG_ERRQUEUE;
	copied = ns_iov_put(msg, e->payload.data, e->payload.len);
	if (copied < e->payload.len)
		msg->msg_flags |= MSG_TRUNC;
	if (msg->msg_name) {
		socklen_t n = msg->msg_namelen < e->addr.len ? msg->msg_namelen
							      : (socklen_t)e->addr.len;

		if ((int)msg->msg_namelen >= 0 && n)
			memcpy(msg->msg_name, e->addr.data, n);
		msg->msg_namelen = (socklen_t)e->addr.len;
	}
	if (opts & NS_OPT_RECVTTL) {
		int ttl = (int)e->ttl;

		ns_put_cmsg(msg, &used, IPPROTO_IP, IP_TTL, &ttl, sizeof(ttl));
	}
	if (opts & NS_OPT_RECVTOS) {
		uint8_t tos = (uint8_t)e->tos;

		ns_put_cmsg(msg, &used, IPPROTO_IP, IP_TOS, &tos, 1);
	}
	memset(&errhdr, 0, sizeof(errhdr));
	errhdr.ee.ee_errno = (uint32_t)e->ee_errno;
	errhdr.ee.ee_origin = (uint8_t)e->ee_origin;
	errhdr.ee.ee_type = (uint8_t)e->ee_type;
	errhdr.ee.ee_code = (uint8_t)e->ee_code;
	errhdr.ee.ee_info = e->ee_info;
	memcpy(&errhdr.offender, e->offender.data, e->offender.len);
	ns_put_cmsg(msg, &used, IPPROTO_IP, IP_RECVERR, &errhdr, sizeof(errhdr));
	msg->msg_controllen = used;
	netstack__reply__free_unpacked(reply, NULL);
	return (ssize_t)copied;
}

ssize_t ns_sock_recvmsg(struct ns_sock *s, int fd, struct msghdr *msg, int flags)
{
	struct ns_dgram hdr;
	size_t len, copied = 0;
	int err, r;

	if (s->type == SOCK_STREAM)
		return ns_stream_recvmsg(s, fd, msg, flags);
	if (s->type != SOCK_DGRAM && s->type != SOCK_RAW)
		return -EOPNOTSUPP;
	if (!msg)
		return -EFAULT;
	err = ns_iov_len(msg->msg_iov, msg->msg_iovlen, &len);
	if (err)
		return err;
	if (flags & MSG_ERRQUEUE)
		return ns_sock_recv_error(s, msg, flags);
	for (;;) {
		err = atomic_exchange(&s->shm->so_error, 0);
		if (err)
			return -err;    /* __skb_recv_udp: sock_error() comes first */
		ns_sock_lock(s);
		r = ns_dgram_rx_get(&s->rx, &hdr, msg->msg_iov, msg->msg_iovlen,
				    flags & MSG_PEEK, &copied);
		ns_sock_unlock(s);
		if (r > 0)
			break;
		if (r < 0)
			return -EIO;
		if (ns_sock_dead(s))
			return -ECONNRESET;
		if (ns_nonblock(s, flags) || ns_timeo(s, true) < 0)
			return -EAGAIN;
		if (atomic_load(&s->shm->state) & NS_SS_RCV_SHUTDOWN)
			return 0;       /* blocking read after SHUT_RD: EOF */
		err = ns_sock_wait(s, fd, POLLIN, ns_timeo(s, true));
		if (err)
			return err;
	}
	msg->msg_flags = 0;
	if (copied < hdr.len)
		msg->msg_flags |= MSG_TRUNC;
	ns_dgram_source(s, &hdr, msg);
	if (msg->msg_control)
		ns_dgram_cmsgs(s, &hdr, msg);
	else
		msg->msg_controllen = 0;
	return (flags & MSG_TRUNC) ? (ssize_t)hdr.len : (ssize_t)copied;
}
