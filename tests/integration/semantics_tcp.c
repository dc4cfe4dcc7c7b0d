/*
 * TCP socket semantics, printed for diffing: the stream counterpart of
 * semantics.c.  test_semantics_tcp.sh runs it against the kernel's stack
 * and under LD_PRELOAD=libnetstack.so (NETSTACK_TCP=1) against netstackd;
 * the two outputs must be identical.  Every check prints one line (the
 * call, its return value, the errno name, and the relevant output), with
 * the run-specific parts replaced by symbols: the address under test is
 * LOCAL, the peer's is PEER, ephemeral ports are EPH.  Only what the
 * kernel guarantees is printed: byte counts that depend on buffer sizes
 * are reduced to yes/no.
 *
 * Usage: semantics_tcp LOCAL_ADDR PEER_ADDR BLACKHOLE_ADDR
 *   LOCAL_ADDR      address of the stack under test
 *   PEER_ADDR       address of a kernel peer, reachable from LOCAL_ADDR
 *   BLACKHOLE_ADDR  an address on LOCAL_ADDR's link that nobody answers
 *                   (ARP fails), so a connection attempt stays in SYN_SENT
 * The peer's sockets are made with raw system calls (syscall(2)), so they
 * stay kernel sockets even under LD_PRELOAD.  Every wait is bounded.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static struct in_addr local_ip, peer_ip, hole_ip;
static volatile sig_atomic_t sigpipes;

/* ---- output ----------------------------------------------------------------- */

static const char *ename(int e)
{
	const char *n = strerrorname_np(e);

	return n ? n : "?";
}

static const char *addr_str(const void *sa, socklen_t len)
{
	static char out[4][96];
	static int slot;
	char *buf = out[slot++ & 3], ab[INET_ADDRSTRLEN], pb[16];
	struct sockaddr_in sin;
	unsigned int port;
	const char *a;

	if (len < sizeof(sin)) {
		snprintf(buf, 96, "(len %u)", (unsigned int)len);
		return buf;
	}
	memcpy(&sin, sa, sizeof(sin));
	if (sin.sin_family != AF_INET) {
		snprintf(buf, 96, "(family %u)", (unsigned int)sin.sin_family);
		return buf;
	}
	if (sin.sin_addr.s_addr == local_ip.s_addr)
		a = "LOCAL";
	else if (sin.sin_addr.s_addr == peer_ip.s_addr)
		a = "PEER";
	else if (sin.sin_addr.s_addr == 0)
		a = "ANY";
	else
		a = inet_ntop(AF_INET, &sin.sin_addr, ab, sizeof(ab));
	port = ntohs(sin.sin_port);
	if (port > 41000 && port < 41100)
		snprintf(pb, sizeof(pb), "%u", port);
	else
		snprintf(pb, sizeof(pb), "%s", port == 0 ? "0" : "EPH");
	snprintf(buf, 96, "%s:%s", a, pb);
	return buf;
}

static void report(const char *what, long ret, int err, const char *fmt, ...)
{
	char detail[256] = "";

	if (fmt) {
		va_list ap;

		va_start(ap, fmt);
		vsnprintf(detail, sizeof(detail), fmt, ap);
		va_end(ap);
	}
	printf("%-46s = %ld%s%s%s%s\n", what, ret, ret < 0 ? " " : "", ret < 0 ? ename(err) : "",
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

static const char *pollbits(short r)
{
	static char bufs[4][80];
	static int slot;
	char *b = bufs[slot++ & 3];

	snprintf(b, sizeof(bufs[0]), "%s%s%s%s%s%s", r & POLLIN ? "IN " : "",
		 r & POLLOUT ? "OUT " : "", r & POLLERR ? "ERR " : "", r & POLLHUP ? "HUP " : "",
		 r & POLLRDHUP ? "RDHUP " : "", r & POLLNVAL ? "NVAL " : "");
	return b;
}

/* Readiness right now (poll with timeout 0), as a string. */
static const char *ready_now(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN | POLLOUT | POLLRDHUP };

	if (poll(&p, 1, 0) < 0)
		return "poll failed";
	return pollbits(p.revents);
}

/* Wait (bounded) until poll reports one of @events on @fd; the revents. */
static short wait_for(int fd, short events, int ms)
{
	struct pollfd p = { .fd = fd, .events = events };

	if (poll(&p, 1, ms) <= 0)
		return 0;
	return p.revents;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static struct sockaddr_in sin_of(struct in_addr a, int port)
{
	struct sockaddr_in s = { .sin_family = AF_INET, .sin_port = htons(port), .sin_addr = a };

	return s;
}

static void on_sigpipe(int sig)
{
	(void)sig;
	sigpipes++;
}

/* ---- the peer: kernel sockets through raw system calls ------------------------ */

static int peer_socket(void)
{
	int fd = (int)syscall(SYS_socket, AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), on = 1;

	if (fd < 0) {
		perror("peer socket");
		exit(2);
	}
	syscall(SYS_setsockopt, fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	return fd;
}

static int peer_listen(int port)
{
	struct sockaddr_in a = sin_of(peer_ip, port);
	int fd = peer_socket();

	if (syscall(SYS_bind, fd, &a, sizeof(a)) < 0 || syscall(SYS_listen, fd, 8) < 0) {
		perror("peer listen");
		exit(2);
	}
	return fd;
}

/*
 * Connect to LOCAL:@port from PEER (blocking, the kernel's own timeout).
 * Bound first: in the kernel run the route would pick LOCAL as the source.
 */
static int peer_connect(int port)
{
	struct sockaddr_in a = sin_of(local_ip, port), me = sin_of(peer_ip, 0);
	int fd = peer_socket();

	if (syscall(SYS_bind, fd, &me, sizeof(me)) < 0 ||
	    syscall(SYS_connect, fd, &a, sizeof(a)) < 0) {
		perror("peer connect");
		exit(2);
	}
	return fd;
}

static int peer_accept(int lfd)
{
	int fd;

	if (!(wait_for(lfd, POLLIN, 3000) & POLLIN)) {
		fprintf(stderr, "peer accept: nothing within 3 s\n");
		exit(2);
	}
	fd = (int)syscall(SYS_accept4, lfd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0) {
		perror("peer accept");
		exit(2);
	}
	return fd;
}

/* Read exactly @len bytes (bounded by 3 s); the count read. */
static long peer_read_all(int fd, void *buf, size_t len)
{
	size_t got = 0;
	int64_t end = now_ms() + 3000;

	while (got < len && now_ms() < end) {
		long n;

		if (!(wait_for(fd, POLLIN, 500) & (POLLIN | POLLHUP | POLLERR)))
			continue;
		n = syscall(SYS_recvfrom, fd, (char *)buf + got, len - got, MSG_DONTWAIT, NULL, NULL);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	return (long)got;
}

/* Read until EOF or error (bounded); returns the count, *@last the final result. */
static long peer_drain(int fd, long *last, uint32_t *sum)
{
	char buf[65536];
	long total = 0, n = 0;
	int64_t end = now_ms() + 10000;

	while (now_ms() < end) {
		if (!(wait_for(fd, POLLIN, 1000) & (POLLIN | POLLHUP | POLLERR)))
			continue;
		n = syscall(SYS_recvfrom, fd, buf, sizeof(buf), MSG_DONTWAIT, NULL, NULL);
		if (n < 0 && errno == EAGAIN)
			continue;
		if (n <= 0)
			break;
		for (long i = 0; i < n; i++)
			*sum = *sum * 31 + (unsigned char)buf[i];
		total += n;
	}
	*last = n;
	return total;
}

static void peer_send(int fd, const void *buf, size_t len)
{
	if (syscall(SYS_sendto, fd, buf, len, MSG_NOSIGNAL, NULL, 0) != (long)len) {
		perror("peer send");
		exit(2);
	}
}

static void peer_rst_close(int fd)
{
	struct linger l = { 1, 0 };

	syscall(SYS_setsockopt, fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
	syscall(SYS_close, fd);
}

static void peer_close(int fd)
{
	syscall(SYS_close, fd);
}

/* ---- the checks ---------------------------------------------------------------- */

static void test_fresh(void)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char buf[8];
	int fd = socket(AF_INET, SOCK_STREAM, 0), v = -1, n = -1;
	socklen_t vl = sizeof(v);

	CHECK("getsockopt(SO_TYPE)", getsockopt(fd, SOL_SOCKET, SO_TYPE, &v, &vl), "%d", v);
	vl = sizeof(v);
	CHECK("getsockopt(SO_PROTOCOL)", getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &v, &vl), "%d", v);
	report("poll(fresh)", 0, 0, "%s", ready_now(fd));
	CHECK("getpeername(fresh)", getpeername(fd, (struct sockaddr *)&ss, &len), NULL);
	CHECK("recv(fresh)", recv(fd, buf, sizeof(buf), 0), NULL);
	CHECK("recv(fresh, MSG_DONTWAIT)", recv(fd, buf, sizeof(buf), MSG_DONTWAIT), NULL);
	CHECK("read(fresh)", read(fd, buf, sizeof(buf)), NULL);
	CHECK("read(fresh, 0 bytes)", read(fd, buf, 0), NULL);
	sigpipes = 0;
	CHECK("send(fresh)", send(fd, "a", 1, 0), "SIGPIPE %d", (int)sigpipes);
	sigpipes = 0;
	CHECK("send(fresh, MSG_NOSIGNAL)", send(fd, "a", 1, MSG_NOSIGNAL), "SIGPIPE %d",
	      (int)sigpipes);
	CHECK("ioctl(fresh, FIONREAD)", ioctl(fd, FIONREAD, &n), "%d", n);
	CHECK("ioctl(fresh, SIOCOUTQ)", ioctl(fd, SIOCOUTQ, &n), "%d", n);
	CHECK("accept(not listening)", accept(fd, NULL, NULL), NULL);
	CHECK("accept4(bad flags)", accept4(fd, NULL, NULL, 0x1), NULL);
	CHECK("shutdown(fresh, SHUT_WR)", shutdown(fd, SHUT_WR), NULL);
	close(fd);
}

/* A listener under test, the peer connects; data, half-close, readiness. */
static void test_listener(void)
{
	struct sockaddr_in a = sin_of(local_ip, 41001), from;
	struct sockaddr_storage ss;
	socklen_t fl = sizeof(from), len;
	struct timeval tv = { 0, 200000 };
	char buf[64];
	int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), on = 1, cfd, pfd, n, fl2;
	int64_t t0, dt;
	long r;

	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	CHECK("bind(LOCAL:41001)", bind(lfd, (struct sockaddr *)&a, sizeof(a)), NULL);
	CHECK("listen(8)", listen(lfd, 8), NULL);
	report("poll(listener, idle)", 0, 0, "%s", ready_now(lfd));
	fcntl(lfd, F_SETFL, O_NONBLOCK);
	CHECK("accept(O_NONBLOCK listener, empty)", accept(lfd, NULL, NULL), NULL);
	CHECK("accept4(O_NONBLOCK listener, SOCK_CLOEXEC)",
	      accept4(lfd, NULL, NULL, SOCK_CLOEXEC), NULL);
	fcntl(lfd, F_SETFL, 0);
	setsockopt(lfd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	t0 = now_ms();
	errno = 0;
	r = accept(lfd, NULL, NULL);
	dt = now_ms() - t0;
	report("accept(SO_RCVTIMEO 200ms, empty)", r, errno, "timed out in [150,1500] ms: %s",
	       dt >= 150 && dt <= 1500 ? "yes" : "no");
	CHECK("recv(listener)", recv(lfd, buf, sizeof(buf), MSG_DONTWAIT), NULL);
	sigpipes = 0;
	CHECK("send(listener)", send(lfd, "a", 1, 0), "SIGPIPE %d", (int)sigpipes);
	CHECK("ioctl(listener, FIONREAD)", ioctl(lfd, FIONREAD, &n), NULL);
	CHECK("connect(listener)", connect(lfd, (struct sockaddr *)&a, sizeof(a)), NULL);

	pfd = peer_connect(41001);
	report("poll(listener, connection queued)", 0, 0, "%s",
	       pollbits(wait_for(lfd, POLLIN, 2000)));
	memset(&from, 0, sizeof(from));
	cfd = accept4(lfd, (struct sockaddr *)&from, &fl, SOCK_NONBLOCK | SOCK_CLOEXEC);
	report("accept4(SOCK_NONBLOCK|SOCK_CLOEXEC)", cfd >= 0 ? 0 : -1, errno, "from %s len %u",
	       addr_str(&from, fl), fl);
	fl2 = fcntl(cfd, F_GETFL);
	report("accepted O_NONBLOCK, FD_CLOEXEC", 0, 0, "%d %d", !!(fl2 & O_NONBLOCK),
	       !!(fcntl(cfd, F_GETFD) & FD_CLOEXEC));
	report("poll(listener, drained)", 0, 0, "%s", ready_now(lfd));
	{
		/* sk_clone_lock(): the listener's timeout came along; then none. */
		struct timeval got = { 9, 9 }, none = { 0, 0 };
		socklen_t gl = sizeof(got);

		CHECK("getsockopt(accepted, SO_RCVTIMEO)", getsockopt(cfd, SOL_SOCKET, SO_RCVTIMEO,
								      &got, &gl), "%ld.%06ld",
		      (long)got.tv_sec, (long)got.tv_usec);
		setsockopt(cfd, SOL_SOCKET, SO_RCVTIMEO, &none, sizeof(none));
	}
	len = sizeof(ss);
	CHECK("getsockname(accepted)", getsockname(cfd, (struct sockaddr *)&ss, &len), "%s",
	      addr_str(&ss, len));
	len = sizeof(ss);
	CHECK("getpeername(accepted)", getpeername(cfd, (struct sockaddr *)&ss, &len), "%s",
	      addr_str(&ss, len));
	report("poll(accepted, idle)", 0, 0, "%s", ready_now(cfd));
	CHECK("recv(accepted, nonblocking, empty)", recv(cfd, buf, sizeof(buf), 0), NULL);

	/* Data from the peer: FIONREAD, MSG_PEEK, partial reads. */
	peer_send(pfd, "hello", 5);
	wait_for(cfd, POLLIN, 2000);
	report("poll(accepted, data)", 0, 0, "%s", ready_now(cfd));
	n = -1;
	CHECK("ioctl(FIONREAD)", ioctl(cfd, FIONREAD, &n), "%d", n);
	memset(buf, 0, sizeof(buf));
	CHECK("recv(MSG_PEEK, 3)", recv(cfd, buf, 3, MSG_PEEK), "'%s'", buf);
	memset(buf, 0, sizeof(buf));
	CHECK("recv(MSG_PEEK, 64)", recv(cfd, buf, sizeof(buf), MSG_PEEK), "'%s'", buf);
	memset(buf, 0, sizeof(buf));
	CHECK("recv(2)", recv(cfd, buf, 2, 0), "'%s'", buf);
	memset(buf, 0, sizeof(buf));
	fl = sizeof(from);
	from.sin_family = 0xff;
	CHECK("recvfrom(64, with address)", recvfrom(cfd, buf, sizeof(buf), 0,
						     (struct sockaddr *)&from, &fl),
	      "'%s' addrlen %u", buf, fl);
	CHECK("recv(0 bytes, empty)", recv(cfd, buf, 0, 0), NULL);

	/* MSG_TRUNC discards; readv gathers. */
	peer_send(pfd, "0123456789", 10);
	wait_for(cfd, POLLIN, 2000);
	CHECK("recv(NULL, 4, MSG_TRUNC)", recv(cfd, NULL, 4, MSG_TRUNC), NULL);
	{
		char x[3] = "", y[8] = "";
		struct iovec iov[2] = { { x, 2 }, { y, 7 } };

		CHECK("readv(2+7)", readv(cfd, iov, 2), "'%.2s' '%s'", x, y);
	}

	/* MSG_WAITALL collects two sends from the peer. */
	fcntl(cfd, F_SETFL, 0);
	if (fork() == 0) {
		usleep(100000);
		peer_send(pfd, "abcd", 4);
		usleep(100000);
		peer_send(pfd, "efgh", 4);
		_exit(0);
	}
	memset(buf, 0, sizeof(buf));
	CHECK("recv(8, MSG_WAITALL)", recv(cfd, buf, 8, MSG_WAITALL), "'%s'", buf);
	while (waitpid(-1, NULL, 0) > 0)
		;
	setsockopt(cfd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	peer_send(pfd, "xy", 2);
	t0 = now_ms();
	errno = 0;
	memset(buf, 0, sizeof(buf));
	r = recv(cfd, buf, 8, MSG_WAITALL);
	dt = now_ms() - t0;
	report("recv(8, MSG_WAITALL, 2 sent, RCVTIMEO)", r, errno, "'%s' after [150,1500] ms: %s",
	       buf, dt >= 150 && dt <= 1500 ? "yes" : "no");
	t0 = now_ms();
	errno = 0;
	r = recv(cfd, buf, 8, 0);
	dt = now_ms() - t0;
	report("recv(SO_RCVTIMEO 200ms, empty)", r, errno, "timed out in [150,1500] ms: %s",
	       dt >= 150 && dt <= 1500 ? "yes" : "no");

	/* To the peer: send, write, writev, MSG_MORE. */
	CHECK("send(accepted)", send(cfd, "ab", 2, 0), NULL);
	CHECK("write(accepted)", write(cfd, "cd", 2), NULL);
	{
		struct iovec iov[3] = { { (void *)"e", 1 }, { (void *)"", 0 }, { (void *)"fg", 2 } };

		CHECK("writev(1+0+2)", writev(cfd, iov, 3), NULL);
	}
	CHECK("send(MSG_MORE)", send(cfd, "hi", 2, MSG_MORE), NULL);
	CHECK("send(after MSG_MORE)", send(cfd, "j", 1, 0), NULL);
	memset(buf, 0, sizeof(buf));
	r = peer_read_all(pfd, buf, 10);
	report("peer read", r, 0, "'%s'", buf);
	{
		int64_t end = now_ms() + 3000;

		do {
			n = -1;
			ioctl(cfd, SIOCOUTQ, &n);
		} while (n != 0 && now_ms() < end && usleep(10000) == 0);
		report("ioctl(SIOCOUTQ) reaches 0 once acked", 0, 0, "%s", n == 0 ? "yes" : "no");
	}

	/* Half-close by the peer: EOF here, and we can still send. */
	syscall(SYS_shutdown, pfd, SHUT_WR);
	wait_for(cfd, POLLRDHUP, 2000);
	report("poll(peer sent FIN)", 0, 0, "%s", ready_now(cfd));
	CHECK("recv(after peer FIN)", recv(cfd, buf, sizeof(buf), 0), NULL);
	CHECK("recv(after peer FIN, again)", recv(cfd, buf, sizeof(buf), 0), NULL);
	CHECK("send(half-closed by peer)", send(cfd, "back", 4, 0), NULL);
	memset(buf, 0, sizeof(buf));
	r = peer_read_all(pfd, buf, 4);
	report("peer read", r, 0, "'%s'", buf);
	CHECK("shutdown(SHUT_WR)", shutdown(cfd, SHUT_WR), NULL);
	r = peer_read_all(pfd, buf, 1);
	report("peer read (EOF after our FIN)", r, 0, NULL);
	sigpipes = 0;
	CHECK("send(after SHUT_WR)", send(cfd, "x", 1, 0), "SIGPIPE %d", (int)sigpipes);
	wait_for(cfd, POLLHUP, 2000);
	report("poll(both shut)", 0, 0, "%s", ready_now(cfd));
	CHECK("shutdown(SHUT_RDWR, again)", shutdown(cfd, SHUT_RDWR), NULL);
	close(cfd);
	peer_close(pfd);

	/* A blocking accept is woken by a connection. */
	tv.tv_usec = 0;
	tv.tv_sec = 0;
	setsockopt(lfd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (fork() == 0) {
		usleep(150000);
		pfd = peer_connect(41001);
		usleep(300000);
		_exit(0);
	}
	t0 = now_ms();
	cfd = accept(lfd, NULL, NULL);
	report("accept(blocking, woken by connection)", cfd >= 0 ? 0 : -1, errno,
	       "after >=100ms: %s, O_NONBLOCK %d, FD_CLOEXEC %d", now_ms() - t0 >= 100 ? "yes" : "no",
	       !!(fcntl(cfd, F_GETFL) & O_NONBLOCK), !!(fcntl(cfd, F_GETFD) & FD_CLOEXEC));
	{
		int64_t end = now_ms() + 2000;

		/* The child's process exit closes its end: EOF. */
		while (now_ms() < end && !(wait_for(cfd, POLLIN, 100) & POLLIN))
			;
		CHECK("recv(peer process exited)", recv(cfd, buf, sizeof(buf), 0), NULL);
	}
	while (waitpid(-1, NULL, 0) > 0)
		;
	close(cfd);
	close(lfd);
}

/* A socket under test connects to the peer's listener. */
static void test_connect(void)
{
	struct sockaddr_in a = sin_of(peer_ip, 41002);
	struct sockaddr_storage ss;
	socklen_t len;
	char buf[64];
	int lfd = peer_listen(41002), fd = socket(AF_INET, SOCK_STREAM, 0), pfd, n;
	long r;

	CHECK("connect(PEER:41002)", connect(fd, (struct sockaddr *)&a, sizeof(a)), NULL);
	report("poll(connected)", 0, 0, "%s", ready_now(fd));
	CHECK("connect(again)", connect(fd, (struct sockaddr *)&a, sizeof(a)), NULL);
	/*
	 * Only the port: the source address is the route's, which in the
	 * kernel run (PEER is 127.0.0.1) is not LOCAL.
	 */
	len = sizeof(ss);
	CHECK("getsockname(connected without bind)", getsockname(fd, (struct sockaddr *)&ss,
								 &len), "port %s",
	      ((struct sockaddr_in *)&ss)->sin_port ? "EPH" : "0");
	len = sizeof(ss);
	CHECK("getpeername(connected)", getpeername(fd, (struct sockaddr *)&ss, &len), "%s",
	      addr_str(&ss, len));
	pfd = peer_accept(lfd);
	CHECK("send(connected)", send(fd, "ping", 4, 0), NULL);
	memset(buf, 0, sizeof(buf));
	r = peer_read_all(pfd, buf, 4);
	report("peer read", r, 0, "'%s'", buf);
	peer_send(pfd, "pong", 4);
	memset(buf, 0, sizeof(buf));
	wait_for(fd, POLLIN, 2000);
	CHECK("recv(connected)", recv(fd, buf, sizeof(buf), 0), "'%s'", buf);
	CHECK("recv(MSG_DONTWAIT, drained)", recv(fd, buf, sizeof(buf), MSG_DONTWAIT), NULL);
	CHECK("recv(MSG_OOB)", recv(fd, buf, sizeof(buf), MSG_OOB), NULL);

	/* Data, then a reset from the peer (SO_LINGER {1, 0}). */
	peer_send(pfd, "last", 4);
	usleep(50000);
	peer_rst_close(pfd);
	wait_for(fd, POLLERR, 2000);
	report("poll(data then RST)", 0, 0, "%s", ready_now(fd));
	memset(buf, 0, sizeof(buf));
	CHECK("recv(data before RST)", recv(fd, buf, sizeof(buf), 0), "'%s'", buf);
	CHECK("recv(after RST)", recv(fd, buf, sizeof(buf), 0), NULL);
	CHECK("recv(after RST, again)", recv(fd, buf, sizeof(buf), 0), NULL);
	report("poll(RST, error taken)", 0, 0, "%s", ready_now(fd));
	sigpipes = 0;
	CHECK("send(after RST)", send(fd, "x", 1, 0), "SIGPIPE %d", (int)sigpipes);
	sigpipes = 0;
	CHECK("send(after RST, MSG_NOSIGNAL)", send(fd, "x", 1, MSG_NOSIGNAL), "SIGPIPE %d",
	      (int)sigpipes);
	n = -1;
	CHECK("getsockopt(SO_ERROR)", getsockopt(fd, SOL_SOCKET, SO_ERROR, &n,
						 &(socklen_t){ sizeof(n) }), "%d", n);
	close(fd);

	/* The peer closes (FIN); our writes then meet its RST: EPIPE and SIGPIPE. */
	fd = socket(AF_INET, SOCK_STREAM, 0);
	connect(fd, (struct sockaddr *)&a, sizeof(a));
	pfd = peer_accept(lfd);
	peer_close(pfd);
	wait_for(fd, POLLRDHUP, 2000);
	CHECK("recv(peer closed)", recv(fd, buf, sizeof(buf), 0), NULL);
	sigpipes = 0;
	CHECK("send(peer closed, first)", send(fd, "x", 1, 0), "SIGPIPE %d", (int)sigpipes);
	wait_for(fd, POLLERR, 2000);
	report("poll(peer answered with RST)", 0, 0, "%s", ready_now(fd));
	sigpipes = 0;
	CHECK("send(after the RST)", send(fd, "x", 1, 0), "SIGPIPE %d", (int)sigpipes);
	sigpipes = 0;
	CHECK("write(after the RST)", write(fd, "x", 1), "SIGPIPE %d", (int)sigpipes);
	sigpipes = 0;
	CHECK("send(MSG_NOSIGNAL, after the RST)", send(fd, "x", 1, MSG_NOSIGNAL), "SIGPIPE %d",
	      (int)sigpipes);
	close(fd);

	/* Our RST: SO_LINGER {1, 0} on close resets the peer. */
	fd = socket(AF_INET, SOCK_STREAM, 0);
	connect(fd, (struct sockaddr *)&a, sizeof(a));
	pfd = peer_accept(lfd);
	{
		struct linger l = { 1, 0 };

		CHECK("setsockopt(SO_LINGER {1, 0})", setsockopt(fd, SOL_SOCKET, SO_LINGER, &l,
								 sizeof(l)), NULL);
	}
	close(fd);
	wait_for(pfd, POLLERR, 2000);
	r = syscall(SYS_recvfrom, pfd, buf, sizeof(buf), MSG_DONTWAIT, NULL, NULL);
	report("peer recv(after our RST)", r, errno, NULL);
	peer_close(pfd);

	/* shutdown(SHUT_RD): reads end at once. */
	fd = socket(AF_INET, SOCK_STREAM, 0);
	connect(fd, (struct sockaddr *)&a, sizeof(a));
	pfd = peer_accept(lfd);
	CHECK("shutdown(SHUT_RD)", shutdown(fd, SHUT_RD), NULL);
	CHECK("recv(after SHUT_RD)", recv(fd, buf, sizeof(buf), 0), NULL);
	report("poll(after SHUT_RD)", 0, 0, "%s", ready_now(fd));
	CHECK("send(after SHUT_RD)", send(fd, "ok", 2, 0), NULL);
	r = peer_read_all(pfd, buf, 2);
	report("peer read", r, 0, NULL);
	close(fd);
	peer_close(pfd);

	/* Refused. */
	fd = socket(AF_INET, SOCK_STREAM, 0);
	a.sin_port = htons(41009);
	CHECK("connect(closed port)", connect(fd, (struct sockaddr *)&a, sizeof(a)), NULL);
	report("poll(refused)", 0, 0, "%s", ready_now(fd));
	CHECK("recv(refused)", recv(fd, buf, sizeof(buf), 0), NULL);
	sigpipes = 0;
	CHECK("send(refused)", send(fd, "x", 1, 0), "SIGPIPE %d", (int)sigpipes);
	close(fd);
	peer_close(lfd);
}

static void test_nonblocking_connect(void)
{
	struct sockaddr_in a = sin_of(peer_ip, 41003), hole = sin_of(hole_ip, 41004);
	struct timeval tv = { 0, 200000 };
	char buf[8];
	int lfd = peer_listen(41003), fd, pfd, e;
	socklen_t el;
	int64_t t0, dt;
	long r;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	CHECK("connect(nonblocking)", connect(fd, (struct sockaddr *)&a, sizeof(a)), NULL);
	report("poll(POLLOUT) after nonblocking connect", 0, 0, "%s",
	       pollbits(wait_for(fd, POLLOUT, 2000)));
	e = -1;
	el = sizeof(e);
	CHECK("getsockopt(SO_ERROR)", getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &el), "%d", e);
	CHECK("connect(again, completed)", connect(fd, (struct sockaddr *)&a, sizeof(a)), NULL);
	CHECK("connect(third time)", connect(fd, (struct sockaddr *)&a, sizeof(a)), NULL);
	pfd = peer_accept(lfd);
	CHECK("send(after nonblocking connect)", send(fd, "nb", 2, 0), NULL);
	r = peer_read_all(pfd, buf, 2);
	report("peer read", r, 0, NULL);
	close(fd);
	peer_close(pfd);

	/* Refused, seen through poll and SO_ERROR. */
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	a.sin_port = htons(41009);
	CHECK("connect(nonblocking, closed port)", connect(fd, (struct sockaddr *)&a, sizeof(a)),
	      NULL);
	wait_for(fd, POLLOUT, 2000);
	report("poll(refused)", 0, 0, "%s", ready_now(fd));
	e = -1;
	el = sizeof(e);
	CHECK("getsockopt(SO_ERROR, refused)", getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &el),
	      "%s", e > 0 ? ename(e) : e == 0 ? "0" : "?");
	e = -1;
	CHECK("getsockopt(SO_ERROR, again)", getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &el), "%d",
	      e);
	report("poll(refused, error taken)", 0, 0, "%s", ready_now(fd));
	CHECK("connect(after refusal, error taken)", connect(fd, (struct sockaddr *)&a,
							   sizeof(a)), NULL);
	close(fd);

	/* Refused, error reported by the second connect(). */
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	connect(fd, (struct sockaddr *)&a, sizeof(a));
	wait_for(fd, POLLOUT, 2000);
	CHECK("connect(again after refusal)", connect(fd, (struct sockaddr *)&a, sizeof(a)), NULL);
	close(fd);

	/* Nobody answers: the attempt stays pending. */
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	CHECK("connect(nonblocking, no answer)", connect(fd, (struct sockaddr *)&hole,
							 sizeof(hole)), NULL);
	CHECK("connect(again, pending)", connect(fd, (struct sockaddr *)&hole, sizeof(hole)), NULL);
	report("poll(pending)", 0, 0, "%s", ready_now(fd));
	CHECK("recv(pending)", recv(fd, buf, sizeof(buf), 0), NULL);
	CHECK("send(pending)", send(fd, "x", 1, 0), NULL);
	close(fd);

	fd = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	t0 = now_ms();
	errno = 0;
	r = connect(fd, (struct sockaddr *)&hole, sizeof(hole));
	dt = now_ms() - t0;
	report("connect(SO_SNDTIMEO 200ms, no answer)", r, errno, "after [150,1500] ms: %s",
	       dt >= 150 && dt <= 1500 ? "yes" : "no");
	CHECK("connect(again, pending)", connect(fd, (struct sockaddr *)&hole, sizeof(hole)), NULL);
	close(fd);
	peer_close(lfd);
}

/* Readiness through epoll, edge-triggered, and RDHUP. */
static void test_epoll(void)
{
	struct sockaddr_in a = sin_of(local_ip, 41005);
	struct epoll_event ev, out[4];
	char buf[64];
	int lfd = socket(AF_INET, SOCK_STREAM, 0), on = 1, ep, cfd, pfd;

	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	bind(lfd, (struct sockaddr *)&a, sizeof(a));
	listen(lfd, 8);
	ep = epoll_create1(EPOLL_CLOEXEC);
	ev.events = EPOLLIN | EPOLLET;
	ev.data.u64 = 1;
	CHECK("epoll_ctl(ADD listener, EPOLLET)", epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev), NULL);
	CHECK("epoll_wait(listener idle)", epoll_wait(ep, out, 4, 50), NULL);
	pfd = peer_connect(41005);
	CHECK("epoll_wait(listener, connection)", epoll_wait(ep, out, 4, 2000), "data %llu",
	      (unsigned long long)out[0].data.u64);
	CHECK("epoll_wait(listener, ET again)", epoll_wait(ep, out, 4, 50), NULL);
	cfd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK);
	ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
	ev.data.u64 = 2;
	CHECK("epoll_ctl(ADD accepted, IN|OUT|RDHUP|ET)", epoll_ctl(ep, EPOLL_CTL_ADD, cfd, &ev),
	      NULL);
	CHECK("epoll_wait(accepted, writable)", epoll_wait(ep, out, 4, 1000), "events %s",
	      pollbits((short)out[0].events));
	{
		/* Nothing new for 200 ms: the wait sleeps, it does not spin. */
		struct rusage r0, r1;
		long cpu_ms;

		getrusage(RUSAGE_SELF, &r0);
		CHECK("epoll_wait(ET, nothing new)", epoll_wait(ep, out, 4, 200), NULL);
		getrusage(RUSAGE_SELF, &r1);
		cpu_ms = (r1.ru_utime.tv_sec - r0.ru_utime.tv_sec) * 1000 +
			 (r1.ru_utime.tv_usec - r0.ru_utime.tv_usec) / 1000 +
			 (r1.ru_stime.tv_sec - r0.ru_stime.tv_sec) * 1000 +
			 (r1.ru_stime.tv_usec - r0.ru_stime.tv_usec) / 1000;
		report("epoll_wait(ET, idle) used little CPU", 0, 0, "under 50 ms: %s",
		       cpu_ms < 50 ? "yes" : "no");
	}
	peer_send(pfd, "one", 3);
	CHECK("epoll_wait(ET, data)", epoll_wait(ep, out, 4, 2000), "events %s",
	      pollbits((short)out[0].events));
	CHECK("epoll_wait(ET, data not read)", epoll_wait(ep, out, 4, 50), NULL);
	peer_send(pfd, "two", 3);
	CHECK("epoll_wait(ET, more data)", epoll_wait(ep, out, 4, 2000), "events %s",
	      pollbits((short)out[0].events));
	memset(buf, 0, sizeof(buf));
	CHECK("recv(both)", recv(cfd, buf, sizeof(buf), 0), "'%s'", buf);
	syscall(SYS_shutdown, pfd, SHUT_WR);
	CHECK("epoll_wait(ET, peer FIN)", epoll_wait(ep, out, 4, 2000), "events %s",
	      pollbits((short)out[0].events));
	ev.events = EPOLLIN;
	ev.data.u64 = 2;
	CHECK("epoll_ctl(MOD accepted, IN)", epoll_ctl(ep, EPOLL_CTL_MOD, cfd, &ev), NULL);
	CHECK("epoll_wait(level, EOF)", epoll_wait(ep, out, 4, 1000), "events %s",
	      pollbits((short)out[0].events));
	close(ep);
	close(cfd);
	close(lfd);
	peer_close(pfd);
}

/* Bulk: non-blocking partial writes, blocking writes, sendfile. */
static void test_bulk(void)
{
	struct sockaddr_in a = sin_of(peer_ip, 41006);
	static char chunk[65536];
	char path[] = "/tmp/semantics_tcp.XXXXXX";
	int lfd = peer_listen(41006), fd = socket(AF_INET, SOCK_STREAM, 0), pfd, tmp;
	uint32_t sum_sent = 0, sum_got = 0;
	long total = 0, r, last;
	off_t off;
	pid_t pid;
	int pp[2];

	for (size_t i = 0; i < sizeof(chunk); i++)
		chunk[i] = (char)(i * 7 + i / 251);
	connect(fd, (struct sockaddr *)&a, sizeof(a));
	pfd = peer_accept(lfd);

	/*
	 * Fill the send path until EAGAIN; every byte arrives once the peer
	 * reads.  A partial write or an EAGAIN does not mean full yet: data
	 * in flight may still be acknowledged and make room (which stack runs
	 * out first, its send buffer or the peer's window, differs), so the
	 * path counts as full once EAGAIN holds for three pauses of 50 ms.
	 */
	for (int i = 0, idle = 0; i < 2000; i++) {
		r = send(fd, chunk, sizeof(chunk), MSG_DONTWAIT);
		if (r < 0) {
			if (errno != EAGAIN || ++idle > 3)
				break;
			usleep(50000);
			continue;
		}
		idle = 0;
		for (long k = 0; k < r; k++)
			sum_sent = sum_sent * 31 + (unsigned char)chunk[k];
		total += r;
	}
	errno = 0;
	r = send(fd, chunk, sizeof(chunk), MSG_DONTWAIT);
	report("send(MSG_DONTWAIT) until full", r, errno, "more than 64 KiB accepted: %s",
	       total > 65536 ? "yes" : "no");
	report("poll(send path full)", 0, 0, "%s", ready_now(fd));

	/* A blocking write larger than the buffers completes as the peer reads. */
	if (pipe(pp) < 0)
		return;
	pid = fork();
	if (pid == 0) {
		uint32_t s = 0;

		r = peer_drain(pfd, &last, &s);
		if (write(pp[1], &r, sizeof(r)) < 0 || write(pp[1], &s, sizeof(s)) < 0)
			_exit(1);
		_exit(0);
	}
	{
		static char big[1 << 20];
		long w;

		for (size_t i = 0; i < sizeof(big); i++)
			big[i] = (char)(i * 13 + 5);
		errno = 0;
		w = send(fd, big, sizeof(big), 0);
		report("send(1 MiB, blocking)", w, errno, NULL);
		for (long k = 0; k < w; k++)
			sum_sent = sum_sent * 31 + (unsigned char)big[k];
		total += w > 0 ? w : 0;
	}

	/* sendfile from a file, with and without an offset. */
	tmp = mkstemp(path);
	unlink(path);
	for (int i = 0; i < 5; i++)
		if (write(tmp, chunk, sizeof(chunk)) != (ssize_t)sizeof(chunk))
			return;
	off = 1000;
	errno = 0;
	r = sendfile(fd, tmp, &off, 200000);
	report("sendfile(offset 1000, 200000 bytes)", r, errno, "offset now %lld",
	       (long long)off);
	for (long k = 0; k < r; k++)
		sum_sent = sum_sent * 31 + (unsigned char)chunk[(1000 + k) % sizeof(chunk)];
	total += r > 0 ? r : 0;
	lseek(tmp, 327000, SEEK_SET);
	errno = 0;
	r = sendfile(fd, tmp, NULL, 100000);
	report("sendfile(file position, to EOF)", r, errno, "position now %lld",
	       (long long)lseek(tmp, 0, SEEK_CUR));
	for (long k = 0; k < r; k++)
		sum_sent = sum_sent * 31 + (unsigned char)chunk[(327000 + k) % sizeof(chunk)];
	total += r > 0 ? r : 0;
	CHECK("sendfile(0 bytes)", sendfile(fd, tmp, NULL, 0), NULL);
	CHECK("sendfile(from a write-only fd)", sendfile(fd, pp[1], NULL, 10), NULL);
	close(tmp);
	CHECK("shutdown(SHUT_WR)", shutdown(fd, SHUT_WR), NULL);
	r = -1;
	if (read(pp[0], &r, sizeof(r)) != sizeof(r) || read(pp[0], &sum_got, sizeof(sum_got)) !=
	    sizeof(sum_got))
		r = -1;
	waitpid(pid, NULL, 0);
	report("peer received everything, in order", 0, 0, "%s",
	       r == total && sum_got == sum_sent ? "yes" : "no");
	close(pp[0]);
	close(pp[1]);
	close(fd);
	peer_close(pfd);
	peer_close(lfd);
}

int main(int argc, char **argv)
{
	struct sigaction sa;

	if (argc != 4 || inet_pton(AF_INET, argv[1], &local_ip) != 1 ||
	    inet_pton(AF_INET, argv[2], &peer_ip) != 1 ||
	    inet_pton(AF_INET, argv[3], &hole_ip) != 1) {
		fprintf(stderr, "usage: %s LOCAL_ADDR PEER_ADDR BLACKHOLE_ADDR\n", argv[0]);
		return 2;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sigpipe;
	sigaction(SIGPIPE, &sa, NULL);
	setvbuf(stdout, NULL, _IOLBF, 0);
	test_fresh();
	test_listener();
	test_connect();
	test_nonblocking_connect();
	test_epoll();
	test_bulk();
	return 0;
}
