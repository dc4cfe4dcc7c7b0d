/*
 * Socket semantics, printed for diffing: one program that test_semantics.sh
 * runs twice, once against the kernel's stack and once under LD_PRELOAD=
 * libnetstack.so against netstackd.  Every check prints one line (the call,
 * its return value, the errno name, and the relevant output), with the
 * run-specific parts replaced by symbols: the address under test is LOCAL,
 * the peer's is PEER, ephemeral ports are EPH.  The two outputs must be
 * identical.
 *
 * Usage: semantics LOCAL_ADDR PEER_ADDR
 *   LOCAL_ADDR  address of the stack under test (bind() there)
 *   PEER_ADDR   address of a kernel peer, reachable from LOCAL_ADDR
 * The peer's sockets are made with raw system calls (syscall(2)), so they
 * stay kernel sockets even under LD_PRELOAD.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static struct in_addr local_ip, peer_ip;
static int fixed_ports[] = { 40001, 40002, 40003, 40004, 40005, 40006, 40007, 40008, 40010,
			     0 };

/* ---- output ----------------------------------------------------------------- */

static const char *ename(int e)
{
	const char *n = strerrorname_np(e);

	return n ? n : "?";
}

static const char *port_str(unsigned int port, char *buf, size_t len)
{
	for (int i = 0; fixed_ports[i]; i++)
		if ((unsigned int)fixed_ports[i] == port) {
			snprintf(buf, len, "%u", port);
			return buf;
		}
	snprintf(buf, len, "%s", port == 0 ? "0" : port >= 1024 ? "EPH" : "LOW");
	return buf;
}

static const char *addr_str(const void *sa, socklen_t len)
{
	static char out[4][96];
	static int slot;
	char *buf = out[slot++ & 3], pb[16];
	sa_family_t fam;

	if (len < sizeof(fam)) {
		snprintf(buf, 96, "(len %u)", (unsigned int)len);
		return buf;
	}
	memcpy(&fam, sa, sizeof(fam));
	if (fam == AF_INET && len >= sizeof(struct sockaddr_in)) {
		struct sockaddr_in sin;
		const char *a;
		char ab[INET_ADDRSTRLEN];

		memcpy(&sin, sa, sizeof(sin));
		if (sin.sin_addr.s_addr == local_ip.s_addr)
			a = "LOCAL";
		else if (sin.sin_addr.s_addr == peer_ip.s_addr)
			a = "PEER";
		else if (sin.sin_addr.s_addr == 0)
			a = "ANY";
		else
			a = inet_ntop(AF_INET, &sin.sin_addr, ab, sizeof(ab));
		snprintf(buf, 96, "%s:%s", a, port_str(ntohs(sin.sin_port), pb, sizeof(pb)));
	} else if (fam == AF_INET6 && len >= sizeof(struct sockaddr_in6)) {
		struct sockaddr_in6 s6;
		char ab[INET6_ADDRSTRLEN];
		const char *a;

		memcpy(&s6, sa, sizeof(s6));
		if (IN6_IS_ADDR_V4MAPPED(&s6.sin6_addr)) {
			struct in_addr v4;

			memcpy(&v4, &s6.sin6_addr.s6_addr[12], 4);
			a = v4.s_addr == local_ip.s_addr ? "::ffff:LOCAL" :
			    v4.s_addr == peer_ip.s_addr ? "::ffff:PEER" :
			    inet_ntop(AF_INET6, &s6.sin6_addr, ab, sizeof(ab));
		} else {
			a = inet_ntop(AF_INET6, &s6.sin6_addr, ab, sizeof(ab));
		}
		snprintf(buf, 96, "[%s]:%s", a, port_str(ntohs(s6.sin6_port), pb, sizeof(pb)));
	} else {
		snprintf(buf, 96, "(family %u len %u)", (unsigned int)fam, (unsigned int)len);
	}
	return buf;
}

/* One line per check: name, return value, errno name (if it failed), detail. */
static void report(const char *what, long ret, int err, const char *fmt, ...)
{
	char detail[256] = "";

	if (fmt) {
		va_list ap;

		va_start(ap, fmt);
		vsnprintf(detail, sizeof(detail), fmt, ap);
		va_end(ap);
	}
	printf("%-44s = %ld%s%s%s%s\n", what, ret, ret < 0 ? " " : "", ret < 0 ? ename(err) : "",
	       *detail ? "  " : "", detail);
	fflush(stdout);
}

#define CHECK(what, call, ...) \
	do { \
		long _r; \
		errno = 0; \
		_r = (long)(call); \
		report(what, _r, errno, __VA_ARGS__); \
	} while (0)

/* ---- helpers ---------------------------------------------------------------- */

static struct sockaddr_in sin_of(struct in_addr a, int port)
{
	struct sockaddr_in s = { .sin_family = AF_INET, .sin_port = htons(port), .sin_addr = a };

	return s;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The peer: kernel sockets through raw system calls. */
static int peer_socket(int port)
{
	struct sockaddr_in a = sin_of(peer_ip, port);
	struct timeval tv = { 2, 0 };
	int fd = (int)syscall(SYS_socket, AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < 0 || syscall(SYS_bind, fd, &a, sizeof(a)) < 0) {
		perror("peer socket");
		exit(2);
	}
	syscall(SYS_setsockopt, fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return fd;
}

static long peer_send(int pfd, int port, const void *buf, size_t len)
{
	struct sockaddr_in a = sin_of(local_ip, port);

	return syscall(SYS_sendto, pfd, buf, len, 0, &a, sizeof(a));
}

static long peer_recv(int pfd, void *buf, size_t len, struct sockaddr_in *from)
{
	socklen_t fl = sizeof(*from);

	return syscall(SYS_recvfrom, pfd, buf, len, 0, from, &fl);
}

static void peer_close(int pfd)
{
	syscall(SYS_close, pfd);
}

static const char *pollbits(short r)
{
	static char bufs[4][64];
	static int slot;
	char *b = bufs[slot++ & 3];

	snprintf(b, sizeof(bufs[0]), "%s%s%s%s%s", r & POLLIN ? "IN " : "", r & POLLOUT ? "OUT " : "",
		 r & POLLERR ? "ERR " : "", r & POLLHUP ? "HUP " : "", r & POLLNVAL ? "NVAL " : "");
	return b;
}

/* Wait (bounded) until fd is readable: data sent by the peer takes a moment. */
static void wait_readable(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	poll(&p, 1, 2000);
}

/* ---- the checks ---------------------------------------------------------------- */

static void test_socket_errors(void)
{
	int fd;

	CHECK("socket(INET, DGRAM, TCP)", socket(AF_INET, SOCK_DGRAM, IPPROTO_TCP), NULL);
	CHECK("socket(INET, DGRAM|0x8000000, 0)", socket(AF_INET, SOCK_DGRAM | 0x8000000, 0), NULL);
	fd = socket(AF_UNIX, SOCK_DGRAM, 0);
	report("socket(UNIX, DGRAM) passes through", fd >= 0 ? 0 : -1, errno, NULL);
	close(fd);
	CHECK("close(-1)", close(-1), NULL);
	CHECK("close(9999)", close(9999), NULL);
}

static void test_unbound(void)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	struct sockaddr_in dst = sin_of(peer_ip, 40009);
	char buf[70000] = "x";
	int fd = socket(AF_INET, SOCK_DGRAM, 0), type;
	socklen_t tl;

	CHECK("getsockname(fresh)", getsockname(fd, (struct sockaddr *)&ss, &len), "%s",
	      addr_str(&ss, len));
	len = sizeof(ss);
	CHECK("getpeername(fresh)", getpeername(fd, (struct sockaddr *)&ss, &len), NULL);
	CHECK("send(unconnected)", send(fd, "a", 1, 0), NULL);
	CHECK("write(unconnected)", write(fd, "a", 1), NULL);
	CHECK("sendto(addrlen 0)", sendto(fd, "a", 1, 0, (struct sockaddr *)&dst, 0), NULL);
	CHECK("sendto(addrlen 8)", sendto(fd, "a", 1, 0, (struct sockaddr *)&dst, 8), NULL);
	dst.sin_family = AF_INET6;
	CHECK("sendto(family INET6 on INET)", sendto(fd, "a", 1, 0, (struct sockaddr *)&dst,
						     sizeof(dst)), NULL);
	dst.sin_family = AF_INET;
	dst.sin_port = 0;
	CHECK("sendto(port 0)", sendto(fd, "a", 1, 0, (struct sockaddr *)&dst, sizeof(dst)), NULL);
	dst.sin_port = htons(40009);
	CHECK("sendto(65508 bytes)", sendto(fd, buf, 65508, 0, (struct sockaddr *)&dst,
					    sizeof(dst)), NULL);
	CHECK("sendto(70000 bytes)", sendto(fd, buf, 70000, 0, (struct sockaddr *)&dst,
					    sizeof(dst)), NULL);
	CHECK("listen(udp)", listen(fd, 5), NULL);
	CHECK("accept(udp)", accept(fd, NULL, NULL), NULL);
	CHECK("shutdown(unconnected, SHUT_RDWR)", shutdown(fd, SHUT_RDWR), NULL);
	CHECK("shutdown(how 7)", shutdown(fd, 7), NULL);
	tl = sizeof(type);
	CHECK("getsockopt(SO_TYPE)", getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl), "%d len %u",
	      type, tl);
	tl = sizeof(type);
	CHECK("getsockopt(SO_PROTOCOL)", getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &type, &tl),
	      "%d", type);
	tl = sizeof(type);
	CHECK("getsockopt(SO_DOMAIN)", getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &type, &tl), "%d", type);
	tl = sizeof(type);
	CHECK("getsockopt(SO_ERROR)", getsockopt(fd, SOL_SOCKET, SO_ERROR, &type, &tl), "%d", type);
	tl = sizeof(type);
	CHECK("setsockopt(SO_TYPE)", setsockopt(fd, SOL_SOCKET, SO_TYPE, &type, tl), NULL);
	CHECK("setsockopt(SO_RCVBUF, len 2)", setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &type, 2), NULL);
	close(fd);
	CHECK("send(closed fd)", send(fd, "a", 1, 0), NULL);
}

static void test_bind(void)
{
	struct sockaddr_in a = sin_of(local_ip, 40001), b;
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int fd = socket(AF_INET, SOCK_DGRAM, 0), fd2 = socket(AF_INET, SOCK_DGRAM, 0);

	CHECK("bind(short len)", bind(fd, (struct sockaddr *)&a, 8), NULL);
	a.sin_family = AF_INET6;
	CHECK("bind(family INET6 on INET)", bind(fd, (struct sockaddr *)&a, sizeof(a)), NULL);
	a.sin_family = AF_INET;
	b = sin_of(local_ip, 40001);
	inet_pton(AF_INET, "10.254.254.254", &b.sin_addr);
	CHECK("bind(non-local address)", bind(fd, (struct sockaddr *)&b, sizeof(b)), NULL);
	CHECK("bind(LOCAL:40001)", bind(fd, (struct sockaddr *)&a, sizeof(a)), NULL);
	CHECK("bind(again)", bind(fd, (struct sockaddr *)&a, sizeof(a)), NULL);
	CHECK("bind(other socket, same port)", bind(fd2, (struct sockaddr *)&a, sizeof(a)), NULL);
	CHECK("getsockname(bound)", getsockname(fd, (struct sockaddr *)&ss, &len), "%s",
	      addr_str(&ss, len));
	len = 4;
	CHECK("getsockname(len 4)", getsockname(fd, (struct sockaddr *)&ss, &len), "len %u", len);
	b = sin_of(local_ip, 0);
	CHECK("bind(fd2 LOCAL:0)", bind(fd2, (struct sockaddr *)&b, sizeof(b)), NULL);
	len = sizeof(ss);
	CHECK("getsockname(port 0 bound)", getsockname(fd2, (struct sockaddr *)&ss, &len), "%s",
	      addr_str(&ss, len));
	close(fd);
	close(fd2);
}

static void test_nonblock_and_timeout(void)
{
	struct sockaddr_in a = sin_of(local_ip, 40002);
	struct timeval tv = { 0, 200000 };
	socklen_t tl = sizeof(tv);
	char buf[16];
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0), on = 1, fl;
	int64_t t0, dt;
	long r;

	bind(fd, (struct sockaddr *)&a, sizeof(a));
	CHECK("recv(nonblocking, empty)", recv(fd, buf, sizeof(buf), 0), NULL);
	fl = fcntl(fd, F_GETFL);
	report("fcntl(F_GETFL) & O_NONBLOCK", fl & O_NONBLOCK ? 1 : 0, 0, NULL);
	CHECK("fcntl(F_SETFL, 0)", fcntl(fd, F_SETFL, 0), NULL);
	fl = fcntl(fd, F_GETFL);
	report("fcntl(F_GETFL) & O_NONBLOCK", fl & O_NONBLOCK ? 1 : 0, 0, "accmode %d",
	       fl & O_ACCMODE);
	CHECK("recv(MSG_DONTWAIT, empty)", recv(fd, buf, sizeof(buf), MSG_DONTWAIT), NULL);
	CHECK("ioctl(FIONBIO, 1)", ioctl(fd, FIONBIO, &on), NULL);
	CHECK("recvfrom(FIONBIO, empty)", recvfrom(fd, buf, sizeof(buf), 0, NULL, NULL), NULL);
	on = 0;
	ioctl(fd, FIONBIO, &on);
	CHECK("setsockopt(SO_RCVTIMEO 200ms)", setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv,
							  sizeof(tv)), NULL);
	memset(&tv, 0, sizeof(tv));
	CHECK("getsockopt(SO_RCVTIMEO)", getsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, &tl),
	      "%ld.%06ld", (long)tv.tv_sec, (long)tv.tv_usec);
	tv.tv_usec = 2000000;
	CHECK("setsockopt(SO_RCVTIMEO usec 2000000)", setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv,
								 sizeof(tv)), NULL);
	CHECK("setsockopt(SO_RCVTIMEO len 4)", setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, 4), NULL);
	t0 = now_ms();
	errno = 0;
	r = recv(fd, buf, sizeof(buf), 0);
	dt = now_ms() - t0;
	report("recv(SO_RCVTIMEO 200ms, empty)", r, errno, "timed out in [150,1500] ms: %s",
	       dt >= 150 && dt <= 1500 ? "yes" : "no");
	close(fd);
}

static void test_data(void)
{
	struct sockaddr_in a = sin_of(local_ip, 40003), from;
	struct sockaddr_storage ss;
	socklen_t fl = sizeof(from), len;
	char buf[256], big[100], ctrl[256];
	struct iovec iov = { .iov_base = buf, .iov_len = 10 };
	struct msghdr msg = { .msg_name = &from, .msg_namelen = sizeof(from), .msg_iov = &iov,
			      .msg_iovlen = 1 };
	int fd = socket(AF_INET, SOCK_DGRAM, 0), pfd = peer_socket(40004), n = 0, on = 1;
	long r;

	bind(fd, (struct sockaddr *)&a, sizeof(a));
	peer_send(pfd, 40003, "hello", 5);
	wait_readable(fd);
	CHECK("ioctl(FIONREAD)", ioctl(fd, FIONREAD, &n), "%d", n);
	memset(buf, 0, sizeof(buf));
	CHECK("recvfrom(MSG_PEEK)", recvfrom(fd, buf, sizeof(buf), MSG_PEEK, (struct sockaddr *)&from,
					     &fl), "'%s' from %s", buf, addr_str(&from, fl));
	memset(buf, 0, sizeof(buf));
	fl = sizeof(from);
	CHECK("recvfrom", recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl),
	      "'%s' from %s len %u", buf, addr_str(&from, fl), fl);
	CHECK("recv(MSG_DONTWAIT, drained)", recv(fd, buf, sizeof(buf), MSG_DONTWAIT), NULL);

	/* Truncation. */
	memset(big, 'b', sizeof(big));
	peer_send(pfd, 40003, big, sizeof(big));
	wait_readable(fd);
	r = recvmsg(fd, &msg, 0);
	report("recvmsg(10-byte buffer, 100 sent)", r, errno, "flags %s namelen %u",
	       msg.msg_flags & MSG_TRUNC ? "MSG_TRUNC" : "0", msg.msg_namelen);
	peer_send(pfd, 40003, big, sizeof(big));
	wait_readable(fd);
	CHECK("recv(MSG_TRUNC, 10-byte buffer)", recv(fd, buf, 10, MSG_TRUNC), NULL);
	peer_send(pfd, 40003, big, sizeof(big));
	wait_readable(fd);
	fl = 4;
	CHECK("recvfrom(addrlen 4)", recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from,
					      &fl), "addrlen %u", fl);
	peer_send(pfd, 40003, "", 0);
	wait_readable(fd);
	peer_send(pfd, 40003, "keep", 4);
	wait_readable(fd);
	CHECK("read(0 bytes, datagram queued)", read(fd, buf, 0), NULL);
	CHECK("recv(the datagram is still there)", recv(fd, buf, sizeof(buf), 0), NULL);
	CHECK("recv(empty datagram)", recv(fd, buf, sizeof(buf), 0), NULL);

	/* IP_PKTINFO and IP_RECVTTL. */
	CHECK("setsockopt(IP_PKTINFO)", setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &on, sizeof(on)), NULL);
	CHECK("setsockopt(IP_RECVTTL)", setsockopt(fd, IPPROTO_IP, IP_RECVTTL, &on, sizeof(on)), NULL);
	peer_send(pfd, 40003, "pi", 2);
	wait_readable(fd);
	iov.iov_len = sizeof(buf);
	msg.msg_control = ctrl;
	msg.msg_controllen = sizeof(ctrl);
	msg.msg_namelen = sizeof(from);
	r = recvmsg(fd, &msg, 0);
	{
		char d[200] = "";
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
			char one[80] = "";

			if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
				struct in_pktinfo pi;
				struct sockaddr_in x = sin_of(local_ip, 0);

				memcpy(&pi, CMSG_DATA(c), sizeof(pi));
				x.sin_addr = pi.ipi_addr;
				snprintf(one, sizeof(one), "PKTINFO(ifindex>0 %d, addr %s) ",
					 pi.ipi_ifindex > 0, addr_str(&x, sizeof(x)));
			} else if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_TTL) {
				int ttl;

				memcpy(&ttl, CMSG_DATA(c), sizeof(ttl));
				snprintf(one, sizeof(one), "TTL(%d) ", ttl);
			} else {
				snprintf(one, sizeof(one), "cmsg(%d,%d) ", c->cmsg_level, c->cmsg_type);
			}
			strncat(d, one, sizeof(d) - strlen(d) - 1);
		}
		report("recvmsg(IP_PKTINFO, IP_RECVTTL)", r, errno, "%s", d);
	}

	/* connect, send, disconnect. */
	a = sin_of(peer_ip, 40004);
	CHECK("connect(PEER:40004)", connect(fd, (struct sockaddr *)&a, sizeof(a)), NULL);
	len = sizeof(ss);
	CHECK("getpeername(connected)", getpeername(fd, (struct sockaddr *)&ss, &len), "%s",
	      addr_str(&ss, len));
	CHECK("send(connected)", send(fd, "abc", 3, 0), NULL);
	memset(buf, 0, sizeof(buf));
	r = peer_recv(pfd, buf, sizeof(buf), &from);
	report("peer recv", r, errno, "'%s' from %s", buf, addr_str(&from, sizeof(from)));
	CHECK("write(connected)", write(fd, "defg", 4), NULL);
	r = peer_recv(pfd, buf, sizeof(buf), &from);
	report("peer recv", r, errno, NULL);
	a.sin_family = AF_UNSPEC;
	CHECK("connect(AF_UNSPEC)", connect(fd, (struct sockaddr *)&a, sizeof(a)), NULL);
	len = sizeof(ss);
	CHECK("getpeername(disconnected)", getpeername(fd, (struct sockaddr *)&ss, &len), NULL);
	len = sizeof(ss);
	CHECK("getsockname(disconnected)", getsockname(fd, (struct sockaddr *)&ss, &len), "%s",
	      addr_str(&ss, len));
	CHECK("send(disconnected)", send(fd, "a", 1, 0), NULL);

	/* sendmmsg / recvmmsg. */
	{
		struct mmsghdr mv[3];
		struct iovec io[3];
		char rb[3][16];
		struct sockaddr_in to = sin_of(peer_ip, 40004);

		memset(mv, 0, sizeof(mv));
		for (int i = 0; i < 3; i++) {
			io[i].iov_base = (void *)"mmsg";
			io[i].iov_len = 4;
			mv[i].msg_hdr.msg_iov = &io[i];
			mv[i].msg_hdr.msg_iovlen = 1;
			mv[i].msg_hdr.msg_name = &to;
			mv[i].msg_hdr.msg_namelen = sizeof(to);
		}
		CHECK("sendmmsg(3)", sendmmsg(fd, mv, 3, 0), NULL);
		for (int i = 0; i < 3; i++) {
			r = peer_recv(pfd, buf, sizeof(buf), &from);
			report("peer recv", r, errno, NULL);
		}
		for (int i = 0; i < 3; i++)
			peer_send(pfd, 40003, "xyz", 3);
		usleep(100000);
		memset(mv, 0, sizeof(mv));
		for (int i = 0; i < 3; i++) {
			io[i].iov_base = rb[i];
			io[i].iov_len = sizeof(rb[i]);
			mv[i].msg_hdr.msg_iov = &io[i];
			mv[i].msg_hdr.msg_iovlen = 1;
		}
		CHECK("recvmmsg(3, MSG_WAITFORONE)", recvmmsg(fd, mv, 3, MSG_WAITFORONE, NULL),
		      "len %u %u %u", mv[0].msg_len, mv[1].msg_len, mv[2].msg_len);
	}
	close(fd);
	peer_close(pfd);
}

static void test_readiness(void)
{
	struct sockaddr_in a = sin_of(local_ip, 40005);
	int fd = socket(AF_INET, SOCK_DGRAM, 0), pfd = peer_socket(40006);
	int pp[2], efd = eventfd(0, EFD_CLOEXEC), ep, n;
	struct pollfd p[3];
	struct epoll_event ev, out[8];
	fd_set rs, ws;
	struct timeval tv = { 0, 0 };
	char buf[16];
	uint64_t one = 1;

	bind(fd, (struct sockaddr *)&a, sizeof(a));
	if (pipe(pp) < 0)
		return;
	p[0] = (struct pollfd){ .fd = pp[0], .events = POLLIN };
	p[1] = (struct pollfd){ .fd = efd, .events = POLLIN };
	p[2] = (struct pollfd){ .fd = fd, .events = POLLIN | POLLOUT };
	CHECK("poll(pipe, eventfd, udp) idle", poll(p, 3, 0), "pipe[%s] efd[%s] udp[%s]",
	      pollbits(p[0].revents), pollbits(p[1].revents), pollbits(p[2].revents));
	p[2].events = POLLIN;
	CHECK("poll(udp POLLIN) 100ms", poll(&p[2], 1, 100), "udp[%s]", pollbits(p[2].revents));
	if (write(pp[1], "p", 1) != 1 || write(efd, &one, sizeof(one)) != 8)
		return;
	peer_send(pfd, 40005, "r", 1);
	wait_readable(fd);
	CHECK("poll(pipe, eventfd, udp) all readable", poll(p, 3, 1000), "pipe[%s] efd[%s] udp[%s]",
	      pollbits(p[0].revents), pollbits(p[1].revents), pollbits(p[2].revents));

	FD_ZERO(&rs);
	FD_ZERO(&ws);
	FD_SET(pp[0], &rs);
	FD_SET(efd, &rs);
	FD_SET(fd, &rs);
	FD_SET(fd, &ws);
	n = fd > efd ? fd : efd;
	n = n > pp[0] ? n : pp[0];
	CHECK("select(pipe, eventfd, udp r+w)", select(n + 1, &rs, &ws, NULL, &tv), "r: pipe %d efd %d udp %d; w: udp %d",
	      FD_ISSET(pp[0], &rs), FD_ISSET(efd, &rs), FD_ISSET(fd, &rs), FD_ISSET(fd, &ws));

	ep = epoll_create1(EPOLL_CLOEXEC);
	ev.events = EPOLLIN;
	ev.data.u64 = 1;
	CHECK("epoll_ctl(ADD pipe)", epoll_ctl(ep, EPOLL_CTL_ADD, pp[0], &ev), NULL);
	ev.data.u64 = 2;
	CHECK("epoll_ctl(ADD eventfd)", epoll_ctl(ep, EPOLL_CTL_ADD, efd, &ev), NULL);
	ev.data.u64 = 3;
	CHECK("epoll_ctl(ADD udp)", epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev), NULL);
	CHECK("epoll_ctl(ADD udp again)", epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev), NULL);
	n = epoll_wait(ep, out, 8, 1000);
	{
		unsigned int seen = 0;

		for (int i = 0; i < n; i++)
			seen |= 1u << out[i].data.u64;
		report("epoll_wait(all readable)", n, errno, "pipe %d efd %d udp %d",
		       !!(seen & 2), !!(seen & 4), !!(seen & 8));
	}
	if (read(pp[0], buf, 1) != 1 || read(efd, &one, 8) != 8)
		return;
	CHECK("recv(udp)", recv(fd, buf, sizeof(buf), 0), NULL);
	CHECK("epoll_wait(all drained, 100ms)", epoll_wait(ep, out, 8, 100), NULL);

	/* Nested: the epoll fd in poll(). */
	p[0] = (struct pollfd){ .fd = ep, .events = POLLIN };
	CHECK("poll(epoll fd) idle", poll(p, 1, 50), "%s", pollbits(p[0].revents));
	peer_send(pfd, 40005, "s", 1);
	CHECK("poll(epoll fd) after datagram", poll(p, 1, 2000), "%s", pollbits(p[0].revents));
	CHECK("epoll_wait(udp readable)", epoll_wait(ep, out, 8, 1000), "data %llu",
	      (unsigned long long)out[0].data.u64);

	/* Edge-triggered and one-shot. */
	ev.events = EPOLLIN | EPOLLET;
	ev.data.u64 = 3;
	CHECK("epoll_ctl(MOD udp EPOLLET)", epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev), NULL);
	CHECK("epoll_wait(ET, first)", epoll_wait(ep, out, 8, 1000), NULL);
	CHECK("epoll_wait(ET, again)", epoll_wait(ep, out, 8, 100), NULL);
	peer_send(pfd, 40005, "t", 1);
	CHECK("epoll_wait(ET, new datagram)", epoll_wait(ep, out, 8, 2000), NULL);
	ev.events = EPOLLIN | EPOLLONESHOT;
	CHECK("epoll_ctl(MOD udp ONESHOT)", epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev), NULL);
	CHECK("epoll_wait(ONESHOT, first)", epoll_wait(ep, out, 8, 1000), NULL);
	CHECK("epoll_wait(ONESHOT, again)", epoll_wait(ep, out, 8, 100), NULL);
	ev.events = EPOLLOUT;
	CHECK("epoll_ctl(MOD udp EPOLLOUT)", epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev), NULL);
	CHECK("epoll_wait(EPOLLOUT)", epoll_wait(ep, out, 8, 1000), "events %s",
	      out[0].events == EPOLLOUT ? "OUT" : "other");
	{
		/*
		 * Edge-triggered and writable, after a send (the daemon's
		 * "room in tx" wake-up): an idle wait sleeps, it does not spin.
		 */
		struct sockaddr_in to = sin_of(peer_ip, 40006);
		struct rusage r0, r1;
		long cpu_ms;

		ev.events = EPOLLOUT | EPOLLET;
		epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev);
		sendto(fd, "w", 1, 0, (struct sockaddr *)&to, sizeof(to));
		epoll_wait(ep, out, 8, 100);
		epoll_wait(ep, out, 8, 50);
		getrusage(RUSAGE_SELF, &r0);
		epoll_wait(ep, out, 8, 300);
		getrusage(RUSAGE_SELF, &r1);
		cpu_ms = (r1.ru_utime.tv_sec - r0.ru_utime.tv_sec) * 1000 +
			 (r1.ru_utime.tv_usec - r0.ru_utime.tv_usec) / 1000 +
			 (r1.ru_stime.tv_sec - r0.ru_stime.tv_sec) * 1000 +
			 (r1.ru_stime.tv_usec - r0.ru_stime.tv_usec) / 1000;
		report("epoll_wait(EPOLLOUT|EPOLLET, idle 300ms) CPU", 0, 0, "under 50 ms: %s",
		       cpu_ms < 50 ? "yes" : "no");
	}
	CHECK("epoll_ctl(DEL udp)", epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL), NULL);
	CHECK("epoll_ctl(DEL udp again)", epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL), NULL);
	CHECK("epoll_wait(nothing left)", epoll_wait(ep, out, 8, 50), NULL);
	{
		/* Closing a socket that is in an epoll set frees it at once (its port). */
		struct sockaddr_in b = sin_of(local_ip, 40010);
		int s1 = socket(AF_INET, SOCK_DGRAM, 0), s2;

		bind(s1, (struct sockaddr *)&b, sizeof(b));
		ev.events = EPOLLIN;
		epoll_ctl(ep, EPOLL_CTL_ADD, s1, &ev);
		close(s1);
		s2 = socket(AF_INET, SOCK_DGRAM, 0);
		CHECK("bind(port of a closed socket in epoll)", bind(s2, (struct sockaddr *)&b,
								     sizeof(b)), NULL);
		close(s2);
	}
	close(ep);
	close(pp[0]);
	close(pp[1]);
	close(efd);
	close(fd);
	peer_close(pfd);
}

static void test_dup_fork(void)
{
	struct sockaddr_in a = sin_of(local_ip, 40007), to;
	struct stat st;
	char buf[32];
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), pfd = peer_socket(40008);
	int d, d2, pp[2], fd2, status;
	pid_t pid;
	long r;

	bind(fd, (struct sockaddr *)&a, sizeof(a));
	CHECK("fstat(udp)", fstat(fd, &st), "S_ISSOCK %d", S_ISSOCK(st.st_mode));
	CHECK("fcntl(F_GETFD)", fcntl(fd, F_GETFD), NULL);
	d = dup(fd);
	report("dup(udp)", d >= 0 ? 0 : -1, errno, NULL);
	CHECK("fcntl(dup, F_GETFD)", fcntl(d, F_GETFD), NULL);
	close(fd);
	peer_send(pfd, 40007, "dup", 3);
	wait_readable(d);
	memset(buf, 0, sizeof(buf));
	CHECK("recv(dup after closing original)", recv(d, buf, sizeof(buf), 0), "'%s'", buf);
	d2 = fcntl(d, F_DUPFD_CLOEXEC, 100);
	report("fcntl(F_DUPFD_CLOEXEC, 100)", d2 >= 100 ? 0 : -1, errno, NULL);
	CHECK("fcntl(dup2, F_GETFD)", fcntl(d2, F_GETFD), NULL);
	if (pipe(pp) < 0)
		return;
	fd2 = socket(AF_INET, SOCK_DGRAM, 0);
	CHECK("dup2(pipe, udp fd)", dup2(pp[0], fd2) == fd2, NULL);
	CHECK("fstat(dup2'd fd)", fstat(fd2, &st), "S_ISFIFO %d", S_ISFIFO(st.st_mode));
	CHECK("getsockopt(dup2'd pipe, SO_TYPE)", getsockopt(fd2, SOL_SOCKET, SO_TYPE, buf,
		&(socklen_t){ 4 }), NULL);
	close(fd2);
	fd2 = dup2(d2, pp[1]);
	CHECK("dup2(udp, pipe fd)", fd2 == pp[1], NULL);
	CHECK("fstat(dup2'd udp)", fstat(pp[1], &st), "S_ISSOCK %d", S_ISSOCK(st.st_mode));
	close(d2);
	close(pp[0]);

	/*
	 * fork: the child sends on an inherited socket to the peer, which
	 * echoes it to the parent's socket.  (Not to LOCAL directly: that
	 * would test loopback delivery, not fork.)
	 */
	fd2 = socket(AF_INET, SOCK_DGRAM, 0);
	to = sin_of(local_ip, 0);
	bind(fd2, (struct sockaddr *)&to, sizeof(to));
	pid = fork();
	if (pid == 0) {
		to = sin_of(peer_ip, 40008);
		r = sendto(fd2, "child", 5, 0, (struct sockaddr *)&to, sizeof(to));
		_exit(r == 5 ? 0 : 1);
	}
	waitpid(pid, &status, 0);
	report("child sendto(inherited socket)", WIFEXITED(status) ? WEXITSTATUS(status) : -1, 0,
	       NULL);
	{
		struct sockaddr_in from, me;
		socklen_t ml = sizeof(me);

		memset(buf, 0, sizeof(buf));
		r = peer_recv(pfd, buf, sizeof(buf), &from);
		report("peer recv(child's datagram)", r, errno, "'%s' from %s", buf,
		       addr_str(&from, sizeof(from)));
		getsockname(fd2, (struct sockaddr *)&me, &ml);
		report("child's source port == inherited socket's", from.sin_port == me.sin_port,
		       0, NULL);
		peer_send(pfd, 40007, buf, 5);
		wait_readable(d);
		memset(buf, 0, sizeof(buf));
		CHECK("parent recv(echo of child's datagram)", recv(d, buf, sizeof(buf), 0), "'%s'",
		      buf);
	}

	/* A blocked recv is woken by a datagram from another process. */
	pid = fork();
	if (pid == 0) {
		int q = peer_socket(40009);

		usleep(150000);
		peer_send(q, 40007, "late", 4);
		_exit(0);
	}
	memset(buf, 0, sizeof(buf));
	{
		int64_t t0 = now_ms();

		errno = 0;
		r = recv(d, buf, sizeof(buf), 0);
		report("recv(blocking, woken by datagram)", r, errno, "'%s' after >=100ms: %s",
		       buf, now_ms() - t0 >= 100 ? "yes" : "no");
	}
	waitpid(pid, &status, 0);
	close(fd2);
	close(d);
	close(pp[1]);
	peer_close(pfd);
}

static void test_inet6(void)
{
	struct sockaddr_in6 s6 = { .sin6_family = AF_INET6, .sin6_port = htons(40008) };
	struct sockaddr_in6 any = { .sin6_family = AF_INET6 };
	int fd = socket(AF_INET6, SOCK_DGRAM, 0), pfd = peer_socket(40008);
	struct sockaddr_in from;
	char buf[16];
	long r;

	s6.sin6_addr.s6_addr[10] = 0xff;
	s6.sin6_addr.s6_addr[11] = 0xff;
	memcpy(&s6.sin6_addr.s6_addr[12], &peer_ip, 4);
	CHECK("socket(INET6, DGRAM)", fd >= 0, NULL);
	CHECK("bind(INET6 ::, port 0)", bind(fd, (struct sockaddr *)&any, sizeof(any)), NULL);
	CHECK("sendto(INET6 v4-mapped PEER)", sendto(fd, "six", 3, 0, (struct sockaddr *)&s6,
						     sizeof(s6)), NULL);
	memset(buf, 0, sizeof(buf));
	r = peer_recv(pfd, buf, sizeof(buf), &from);
	report("peer recv (from INET6 socket)", r, errno, "'%s'", buf);
	peer_send(pfd, ntohs(((struct sockaddr_in6 *)&any)->sin6_port), "x", 0);
	inet_pton(AF_INET6, "2001:db8::1", &s6.sin6_addr);
	CHECK("sendto(INET6 native 2001:db8::1)", sendto(fd, "six", 3, 0, (struct sockaddr *)&s6,
							 sizeof(s6)), NULL);
	CHECK("sendto(INET6 short len 20)", sendto(fd, "six", 3, 0, (struct sockaddr *)&s6, 20),
	      NULL);
	close(fd);
	fd = socket(AF_INET6, SOCK_DGRAM, 0);
	CHECK("bind(INET6 native 2001:db8::1)", bind(fd, (struct sockaddr *)&s6, sizeof(s6)), NULL);
	close(fd);
	peer_close(pfd);
}

int main(int argc, char **argv)
{
	if (argc != 3 || inet_pton(AF_INET, argv[1], &local_ip) != 1 ||
	    inet_pton(AF_INET, argv[2], &peer_ip) != 1) {
		fprintf(stderr, "usage: %s LOCAL_ADDR PEER_ADDR\n", argv[0]);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	setvbuf(stdout, NULL, _IOLBF, 0);
	test_socket_errors();
	test_unbound();
	test_bind();
	test_nonblock_and_timeout();
	test_data();
	test_readiness();
	test_dup_fork();
	test_inet6();
	return 0;
}
