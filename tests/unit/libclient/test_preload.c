/*
 * Unit tests for the interposed entry points of libnetstack.so without a
 * daemon: the test links the library, so its socket() and friends are the
 * library's.  Non-INET sockets and plain fds pass through to the C library;
 * an INET datagram socket fails fast with ENETDOWN when netstackd cannot be
 * reached.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "libclient/netstack.h"

static void test_passthrough(void **state)
{
	int sv[2], p[2], ep;
	char c;
	struct stat st;
	struct pollfd pf;
	struct epoll_event ev = { .events = EPOLLIN };

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(ns_is_netstack_fd(sv[0]), 0);
	assert_int_equal(write(sv[0], "x", 1), 1);
	pf.fd = sv[1];
	pf.events = POLLIN;
	assert_int_equal(poll(&pf, 1, 1000), 1);
	assert_int_equal(read(sv[1], &c, 1), 1);
	assert_int_equal(c, 'x');
	assert_int_equal(fstat(sv[0], &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(pipe(p), 0);
	assert_int_equal(dup2(p[0], sv[0]), sv[0]);
	ep = epoll_create1(0);
	assert_int_equal(epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev), 0);
	assert_int_equal(epoll_wait(ep, &ev, 1, 0), 0);
	assert_int_equal(close(ep), 0);
	assert_int_equal(close(sv[0]), 0);
	assert_int_equal(close(sv[1]), 0);
	assert_int_equal(close(p[0]), 0);
	assert_int_equal(close(p[1]), 0);
	assert_int_equal(close(-1), -1);
	assert_int_equal(errno, EBADF);
	assert_int_equal(fcntl(0, F_GETFD) >= 0, 1);
}

static void test_unreachable(void **state)
{
	struct timespec t0, t1;
	int fd;

	(void)state;
	setenv("NETSTACK_SOCKET", "/nonexistent/netstackd.sock", 1);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_int_equal(fd, -1);
	assert_int_equal(errno, ENETDOWN);
	assert_true(t1.tv_sec - t0.tv_sec < 2);
	assert_int_equal(ns_socket(AF_INET6, SOCK_DGRAM, 0), -1);
	assert_int_equal(errno, ENETDOWN);
	assert_int_equal(ns_socket(AF_UNIX, SOCK_DGRAM, 0), -1);
	assert_int_equal(errno, EAFNOSUPPORT);
	assert_int_equal(ns_sendto(0, "x", 1, 0, NULL, 0), -1);
	assert_int_equal(errno, ENOTSOCK);
	/* IPv4 ping and raw sockets are ours too. */
	assert_int_equal(socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP), -1);
	assert_int_equal(errno, ENETDOWN);
	assert_int_equal(socket(AF_INET, SOCK_RAW, IPPROTO_ICMP), -1);
	assert_int_equal(errno, ENETDOWN);
	/* Not ours: the kernel answers (and with its own errno). */
	fd = socket(AF_INET, SOCK_DGRAM, IPPROTO_TCP);
	assert_int_equal(fd, -1);
	assert_int_equal(errno, EPROTONOSUPPORT);
	/* ICMPv6 ping and IPv6 raw sockets need IPv6: the kernel's (success, EACCES or EPERM). */
	fd = socket(AF_INET6, SOCK_DGRAM, IPPROTO_ICMPV6);
	assert_true(fd >= 0 || errno != ENETDOWN);
	if (fd >= 0)
		close(fd);
	fd = socket(AF_INET6, SOCK_RAW, IPPROTO_ICMPV6);
	assert_true(fd >= 0 || errno != ENETDOWN);
	if (fd >= 0)
		close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_passthrough),
		cmocka_unit_test(test_unreachable),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
