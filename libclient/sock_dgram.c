/*
 * The datagram data path (stream sockets go to sock_stream.c from the two
 * entry points here): sendmsg() produces one record into the tx ring,
 * recvmsg() consumes one from the rx ring, with the errors, flags and
 * control messages of Linux's udp_sendmsg()/udp_recvmsg().  Addresses are
 * checked here as the kernel checks them, because the daemon consumes tx
 * records later and cannot fail the call.  Client context, any thread;
 * rings under the socket's client_lock, which is never held while waiting
 * or talking to the daemon.
 */
#include <errno.h>
#include <netinet/in.h>
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
	int err;

	if (s->type == SOCK_STREAM)
		return ns_stream_sendmsg(s, fd, msg, flags);
	if (!msg)
		return -EFAULT;
	if (flags & MSG_OOB)
		return -EOPNOTSUPP;
	err = ns_iov_len(msg->msg_iov, msg->msg_iovlen, &len);
	if (err)
		return err;
	if (len > 0xffff)
		return -EMSGSIZE;       /* udp_sendmsg checks this before the address */
	memset(&hdr, 0, sizeof(hdr));
	/* ___sys_sendmsg: a name with length 0 is no name. */
	err = ns_dgram_dest(s, msg->msg_namelen ? msg->msg_name : NULL, msg->msg_namelen, &hdr);
	if (err)
		return err;
	if (len > NS_UDP_MAX_PAYLOAD || len > s->max_dgram)
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

/* ip_cmsg_recv_offset(): IP_PKTINFO, then IP_TTL, then IP_TOS. */
static void ns_dgram_cmsgs(struct ns_sock *s, const struct ns_dgram *hdr, struct msghdr *msg)
{
	unsigned int opts = __atomic_load_n(&s->opts, __ATOMIC_RELAXED);
	size_t used = 0;

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

ssize_t ns_sock_recvmsg(struct ns_sock *s, int fd, struct msghdr *msg, int flags)
{
	struct ns_dgram hdr;
	size_t len, copied = 0;
	int err, r;

	if (s->type == SOCK_STREAM)
		return ns_stream_recvmsg(s, fd, msg, flags);
	if (!msg)
		return -EFAULT;
	if (flags & MSG_ERRQUEUE)
		return -EAGAIN;         /* no error queue (IP_RECVERR) yet */
	err = ns_iov_len(msg->msg_iov, msg->msg_iovlen, &len);
	if (err)
		return err;
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
