/*
 * icmp_sock: raw and ICMP "ping" sockets exercised through the plain
 * socket API, so it runs against the kernel or under
 * LD_PRELOAD=libnetstack.so unchanged.  Each mode prints what it saw and
 * exits 0 only if the socket behaved as Linux's does.
 *
 *   icmp_sock raw DST COUNT   SOCK_RAW/IPPROTO_ICMP: COUNT echo requests
 *                             built here, replies received with their IP
 *                             header; getsockname shows the protocol as port
 *   icmp_sock hdrincl DST     the same with IP_HDRINCL: the request carries
 *                             our own IP header (source, ID, length and
 *                             checksum left 0 for the stack to fill); bad
 *                             headers are refused with EINVAL
 *   icmp_sock filter DST      ICMP_FILTER blocking echo replies: none
 *                             arrives; unblocked, the next one does
 *   icmp_sock ping DST IDENT  SOCK_DGRAM/IPPROTO_ICMP bound to IDENT: the
 *                             reply comes back without IP header, with
 *                             IDENT as identifier; non-echo messages are EINVAL
 *   icmp_sock perm            socket() of both kinds: prints the errno
 *                             names ("raw EPERM ping EACCES") or "ok"
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/ip_icmp.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* linux/icmp.h's, which does not mix with netinet/ip_icmp.h. */
#ifndef ICMP_FILTER
#define ICMP_FILTER 1
#endif

#define ID 0x5a5a
#define PAYLOAD 56

static uint16_t csum(const void *data, size_t len)
{
	const uint8_t *p = data;
	uint32_t s = 0;

	for (size_t i = 0; i + 1 < len; i += 2)
		s += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (len & 1)
		s += (uint32_t)p[len - 1] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return htons((uint16_t)~s);
}

/* An echo request with @id, @seq and a payload derived from @seq; its length. */
static size_t echo_request(uint8_t *buf, uint16_t id, uint16_t seq)
{
	struct icmphdr *h = (struct icmphdr *)buf;

	memset(h, 0, sizeof(*h));
	h->type = ICMP_ECHO;
	h->un.echo.id = htons(id);
	h->un.echo.sequence = htons(seq);
	for (size_t i = 0; i < PAYLOAD; i++)
		buf[sizeof(*h) + i] = (uint8_t)(seq + i);
	h->checksum = csum(buf, sizeof(*h) + PAYLOAD);
	return sizeof(*h) + PAYLOAD;
}

static int addr_of(const char *ip, struct sockaddr_in *sin)
{
	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	return inet_pton(AF_INET, ip, &sin->sin_addr) == 1 ? 0 : -1;
}

/*
 * Wait up to @ms for an echo reply with @id and @seq on @fd; @iphdr: the
 * data starts with an IP header (raw).  1 if it came intact, 0 on timeout,
 * -1 if something arrived malformed.
 */
static int await_reply(int fd, const struct sockaddr_in *dst, uint16_t id, uint16_t seq,
		       int ms, int iphdr)
{
	uint8_t buf[2048];

	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		struct sockaddr_in from;
		socklen_t flen = sizeof(from);
		const struct icmphdr *h;
		size_t off = 0;
		ssize_t n;

		if (poll(&p, 1, ms) <= 0)
			return 0;
		n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &flen);
		if (n < 0) {
			perror("recvfrom");
			return -1;
		}
		if (flen != sizeof(from) || from.sin_family != AF_INET || from.sin_port != 0) {
			fprintf(stderr, "bad source address (len %u family %d port %u)\n",
				(unsigned int)flen, from.sin_family, ntohs(from.sin_port));
			return -1;
		}
		if (iphdr) {
			const struct iphdr *ip = (const struct iphdr *)buf;

			if (n < (ssize_t)sizeof(*ip) || ip->version != 4 || ip->ihl < 5 ||
			    ip->protocol != IPPROTO_ICMP || ntohs(ip->tot_len) != n) {
				fprintf(stderr, "no valid IP header in front (%zd bytes)\n", n);
				return -1;
			}
			off = ip->ihl * 4u;
			if (ip->saddr != from.sin_addr.s_addr) {
				fprintf(stderr, "IP source differs from msg_name\n");
				return -1;
			}
		}
		if ((size_t)n < off + sizeof(*h))
			continue;
		h = (const struct icmphdr *)(buf + off);
		/* A raw socket to our own address also sees our requests. */
		if (h->type != ICMP_ECHOREPLY || from.sin_addr.s_addr != dst->sin_addr.s_addr)
			continue;
		if (ntohs(h->un.echo.id) != id || ntohs(h->un.echo.sequence) != seq)
			continue;
		if ((size_t)n != off + sizeof(*h) + PAYLOAD || csum(h, (size_t)n - off) != 0) {
			fprintf(stderr, "echo reply %u: bad length or checksum\n", seq);
			return -1;
		}
		for (size_t i = 0; i < PAYLOAD; i++)
			if (buf[off + sizeof(*h) + i] != (uint8_t)(seq + i)) {
				fprintf(stderr, "echo reply %u: payload differs\n", seq);
				return -1;
			}
		return 1;
	}
}

static int do_raw(const char *ip, int count)
{
	struct sockaddr_in dst, me;
	socklen_t len = sizeof(me);
	uint8_t pkt[256];
	int fd, got = 0;

	if (addr_of(ip, &dst) < 0)
		return 2;
	fd = socket(AF_INET, SOCK_RAW, IPPROTO_ICMP);
	if (fd < 0) {
		perror("socket(SOCK_RAW)");
		return 1;
	}
	if (getsockname(fd, (struct sockaddr *)&me, &len) < 0 || ntohs(me.sin_port) != IPPROTO_ICMP) {
		fprintf(stderr, "getsockname: port %u, expected the protocol 1\n", ntohs(me.sin_port));
		return 1;
	}
	for (int i = 0; i < count; i++) {
		size_t n = echo_request(pkt, ID, (uint16_t)i);

		if (sendto(fd, pkt, n, 0, (struct sockaddr *)&dst, sizeof(dst)) != (ssize_t)n) {
			perror("sendto");
			return 1;
		}
		if (await_reply(fd, &dst, ID, (uint16_t)i, 2000, 1) == 1)
			got++;
	}
	close(fd);
	printf("raw: %d of %d replies\n", got, count);
	return got == count ? 0 : 1;
}

static int expect_einval(int fd, const void *pkt, size_t len, const struct sockaddr_in *dst,
			 const char *what)
{
	if (sendto(fd, pkt, len, 0, (const struct sockaddr *)dst, sizeof(*dst)) >= 0 ||
	    errno != EINVAL) {
		fprintf(stderr, "%s: expected EINVAL, got %s\n", what, strerror(errno));
		return 1;
	}
	return 0;
}

static int do_hdrincl(const char *ip)
{
	struct sockaddr_in dst;
	uint8_t pkt[256];
	struct iphdr *iph = (struct iphdr *)pkt;
	int fd, on = 1, v = 0, bad = 0, r;
	socklen_t len = sizeof(v);
	size_t n;

	if (addr_of(ip, &dst) < 0)
		return 2;
	fd = socket(AF_INET, SOCK_RAW, IPPROTO_ICMP);
	if (fd < 0 || setsockopt(fd, IPPROTO_IP, IP_HDRINCL, &on, sizeof(on)) < 0) {
		perror("socket/IP_HDRINCL");
		return 1;
	}
	if (getsockopt(fd, IPPROTO_IP, IP_HDRINCL, &v, &len) < 0 || v != 1) {
		fprintf(stderr, "getsockopt(IP_HDRINCL) = %d\n", v);
		return 1;
	}
	/* Source, ID, total length and checksum zero: raw_send_hdrinc fills them. */
	memset(iph, 0, sizeof(*iph));
	iph->version = 4;
	iph->ihl = 5;
	iph->ttl = 64;
	iph->protocol = IPPROTO_ICMP;
	iph->daddr = dst.sin_addr.s_addr;
	n = sizeof(*iph) + echo_request(pkt + sizeof(*iph), ID + 1, 7);
	if (sendto(fd, pkt, n, 0, (struct sockaddr *)&dst, sizeof(dst)) != (ssize_t)n) {
		perror("sendto(IP_HDRINCL)");
		return 1;
	}
	r = await_reply(fd, &dst, ID + 1, 7, 2000, 1);
	printf("hdrincl: reply %s\n", r == 1 ? "received" : "missing");
	/* Shorter than an IP header, and a header length beyond the data. */
	bad |= expect_einval(fd, pkt, 10, &dst, "10-byte packet");
	iph->ihl = 15;
	bad |= expect_einval(fd, pkt, 40, &dst, "ihl 15 in 40 bytes");
	/* A header length below 5 is the kernel's "send as is": no error, no harm. */
	iph->ihl = 3;
	if (sendto(fd, pkt, n, 0, (struct sockaddr *)&dst, sizeof(dst)) != (ssize_t)n) {
		perror("sendto(ihl 3)");
		bad = 1;
	}
	close(fd);
	printf("hdrincl: bad headers %s\n", bad ? "accepted" : "refused");
	return r == 1 && !bad ? 0 : 1;
}

static int do_filter(const char *ip)
{
	struct sockaddr_in dst;
	uint32_t filter = 1u << ICMP_ECHOREPLY, got = 0;
	socklen_t len = sizeof(got);
	uint8_t pkt[256];
	int fd, r1, r2;
	size_t n;

	if (addr_of(ip, &dst) < 0)
		return 2;
	fd = socket(AF_INET, SOCK_RAW, IPPROTO_ICMP);
	if (fd < 0 || setsockopt(fd, SOL_RAW, ICMP_FILTER, &filter, sizeof(filter)) < 0) {
		perror("socket/ICMP_FILTER");
		return 1;
	}
	if (getsockopt(fd, SOL_RAW, ICMP_FILTER, &got, &len) < 0 || got != filter) {
		fprintf(stderr, "getsockopt(ICMP_FILTER) = %#x\n", got);
		return 1;
	}
	n = echo_request(pkt, ID + 2, 1);
	if (sendto(fd, pkt, n, 0, (struct sockaddr *)&dst, sizeof(dst)) != (ssize_t)n)
		return 1;
	r1 = await_reply(fd, &dst, ID + 2, 1, 1000, 1);
	filter = 0;
	if (setsockopt(fd, SOL_RAW, ICMP_FILTER, &filter, sizeof(filter)) < 0)
		return 1;
	n = echo_request(pkt, ID + 2, 2);
	if (sendto(fd, pkt, n, 0, (struct sockaddr *)&dst, sizeof(dst)) != (ssize_t)n)
		return 1;
	r2 = await_reply(fd, &dst, ID + 2, 2, 2000, 1);
	close(fd);
	printf("filter: blocked reply %s, unblocked reply %s\n", r1 ? "arrived" : "filtered",
	       r2 == 1 ? "received" : "missing");
	return r1 == 0 && r2 == 1 ? 0 : 1;
}

static int do_ping(const char *ip, int ident)
{
	struct sockaddr_in dst, me = { .sin_family = AF_INET };
	socklen_t len = sizeof(me);
	uint8_t pkt[256];
	int fd, r, bad = 0;
	size_t n;

	if (addr_of(ip, &dst) < 0)
		return 2;
	fd = socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP);
	if (fd < 0) {
		perror("socket(SOCK_DGRAM, IPPROTO_ICMP)");
		return 1;
	}
	me.sin_port = htons((uint16_t)ident);
	if (bind(fd, (struct sockaddr *)&me, sizeof(me)) < 0) {
		perror("bind");
		return 1;
	}
	if (getsockname(fd, (struct sockaddr *)&me, &len) < 0 || ntohs(me.sin_port) != ident) {
		fprintf(stderr, "getsockname: identifier %u, expected %d\n", ntohs(me.sin_port), ident);
		return 1;
	}
	/* The identifier we write does not matter: the stack puts the socket's. */
	n = echo_request(pkt, 0, 3);
	if (sendto(fd, pkt, n, 0, (struct sockaddr *)&dst, sizeof(dst)) != (ssize_t)n) {
		perror("sendto");
		return 1;
	}
	r = await_reply(fd, &dst, (uint16_t)ident, 3, 2000, 0);
	/* Only echo requests of at least a header go out. */
	pkt[0] = ICMP_TIMESTAMP;
	bad |= expect_einval(fd, pkt, n, &dst, "timestamp request");
	pkt[0] = ICMP_ECHO;
	bad |= expect_einval(fd, pkt, 4, &dst, "4-byte message");
	close(fd);
	printf("ping: reply %s, identifier %d, bad messages %s\n", r == 1 ? "received" : "missing",
	       ident, bad ? "accepted" : "refused");
	return r == 1 && !bad ? 0 : 1;
}

static const char *err_name(int e)
{
	switch (e) {
	case EPERM: return "EPERM";
	case EACCES: return "EACCES";
	case EPROTONOSUPPORT: return "EPROTONOSUPPORT";
	default: return strerror(e);
	}
}

static int do_perm(void)
{
	int r = socket(AF_INET, SOCK_RAW, IPPROTO_ICMP), re = errno;
	int p = socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP), pe = errno;

	printf("raw %s ping %s\n", r >= 0 ? "ok" : err_name(re), p >= 0 ? "ok" : err_name(pe));
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 4 && strcmp(argv[1], "raw") == 0)
		return do_raw(argv[2], atoi(argv[3]));
	if (argc == 3 && strcmp(argv[1], "hdrincl") == 0)
		return do_hdrincl(argv[2]);
	if (argc == 3 && strcmp(argv[1], "filter") == 0)
		return do_filter(argv[2]);
	if (argc == 4 && strcmp(argv[1], "ping") == 0)
		return do_ping(argv[2], atoi(argv[3]));
	if (argc == 2 && strcmp(argv[1], "perm") == 0)
		return do_perm();
	fprintf(stderr, "usage: icmp_sock raw DST COUNT | hdrincl DST | filter DST | "
		"ping DST IDENT | perm\n");
	return 2;
}
