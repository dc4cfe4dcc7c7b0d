/*
 * udp_frag: large UDP datagrams and path MTU behaviour, for
 * test_ip_frag.sh.  Plain socket API only, so it runs against the kernel
 * or under LD_PRELOAD=libnetstack.so unchanged.  Payloads are a pattern
 * seeded by their size; every datagram is checked byte for byte.
 *
 *   udp_frag echo BIND_IP PORT COUNT IDLE_MS
 *       echo datagrams back to their sender until COUNT were echoed or
 *       none came for IDLE_MS; prints "echo SIZE ok|bad" for each;
 *       "ready" on stderr once bound.  Exit 0 if all were intact.
 *   udp_frag roundtrip DST_IP PORT SIZE TRIES
 *       send SIZE bytes and wait (2 s) for them to come back intact, at
 *       most TRIES times; prints "roundtrip SIZE ok after N" or fails.
 *   udp_frag emsgsize DST_IP PORT SIZE
 *       with IP_MTU_DISCOVER = IP_PMTUDISC_DO send SIZE bytes; prints
 *       "EMSGSIZE" if the send was refused so (from sendto, as the
 *       kernel does, or as the socket's pending error, as netstack
 *       reports an asynchronous send).  Exit 0 then.
 *   udp_frag pmtu DST_IP PORT LPORT SIZE WAIT_MS
 *       bind LPORT, connect, print "mtu N" (IP_MTU), send a small probe,
 *       "ready" on stderr; wait up to WAIT_MS for the socket's error
 *       (ICMP fragmentation needed: EMSGSIZE) and print "error NAME",
 *       print "mtu N" again, send SIZE bytes and print "sent SIZE".
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static unsigned char buf[65536], want[65536];

static int addr_of(const char *ip, const char *port, struct sockaddr_in *sin)
{
	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	sin->sin_port = htons((uint16_t)atoi(port));
	return inet_pton(AF_INET, ip, &sin->sin_addr) == 1 ? 0 : -1;
}

static void pattern(unsigned char *p, size_t size)
{
	for (size_t i = 0; i < size; i++)
		p[i] = (unsigned char)(i * 131 + size + (i >> 8));
}

static int udp_socket(void)
{
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	if (fd < 0) {
		perror("socket");
		exit(1);
	}
	return fd;
}

static int do_echo(char **argv)
{
	struct sockaddr_in me, from;
	unsigned long count = strtoul(argv[4], NULL, 10), done = 0;
	int idle = atoi(argv[5]), fd = udp_socket(), bad = 0;

	if (addr_of(argv[2], argv[3], &me) < 0)
		return 2;
	if (bind(fd, (struct sockaddr *)&me, sizeof(me)) < 0) {
		perror("bind");
		return 1;
	}
	fprintf(stderr, "ready\n");
	while (done < count) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		socklen_t fl = sizeof(from);
		ssize_t n;

		if (poll(&pfd, 1, idle) <= 0)
			break;
		n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl);
		if (n < 0) {
			perror("recvfrom");
			continue;
		}
		pattern(want, (size_t)n);
		/* A small probe is not a pattern; only big datagrams are checked. */
		if (n >= 1000 && memcmp(buf, want, (size_t)n) != 0)
			bad++;
		printf("echo %zd %s\n", n, n >= 1000 && memcmp(buf, want, (size_t)n) ? "bad" : "ok");
		fflush(stdout);
		if (sendto(fd, buf, (size_t)n, 0, (struct sockaddr *)&from, fl) != n)
			perror("sendto");
		done++;
	}
	close(fd);
	return bad ? 1 : 0;
}

static int do_roundtrip(char **argv)
{
	struct sockaddr_in dst;
	size_t size = strtoul(argv[4], NULL, 10);
	int tries = atoi(argv[5]), fd = udp_socket();

	if (addr_of(argv[2], argv[3], &dst) < 0 || size > 65507)
		return 2;
	pattern(want, size);
	for (int t = 1; t <= tries; t++) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		ssize_t n;

		if (sendto(fd, want, size, 0, (struct sockaddr *)&dst, sizeof(dst)) != (ssize_t)size) {
			perror("sendto");
			return 1;
		}
		if (poll(&pfd, 1, 2000) <= 0) {
			fprintf(stderr, "roundtrip %zu: no answer (try %d)\n", size, t);
			continue;
		}
		n = recv(fd, buf, sizeof(buf), 0);
		if (n != (ssize_t)size || memcmp(buf, want, size) != 0) {
			printf("roundtrip %zu: got %zd bytes, %s\n", size, n,
			       n == (ssize_t)size ? "corrupt" : "wrong size");
			return 1;
		}
		printf("roundtrip %zu ok after %d\n", size, t);
		return 0;
	}
	printf("roundtrip %zu: no answer after %d tries\n", size, tries);
	return 1;
}

/* The socket's pending error, waiting up to @ms for POLLERR. */
static int wait_error(int fd, int ms)
{
	struct pollfd pfd = { .fd = fd, .events = 0 };
	socklen_t len = sizeof(int);
	int err = 0;

	(void)poll(&pfd, 1, ms);
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		return errno;
	return err;
}

static int do_emsgsize(char **argv)
{
	struct sockaddr_in dst;
	size_t size = strtoul(argv[4], NULL, 10);
	int fd = udp_socket(), v = IP_PMTUDISC_DO, err;

	if (addr_of(argv[2], argv[3], &dst) < 0 || size > 65507)
		return 2;
	if (setsockopt(fd, IPPROTO_IP, IP_MTU_DISCOVER, &v, sizeof(v)) < 0) {
		perror("IP_MTU_DISCOVER");
		return 1;
	}
	pattern(want, size);
	if (sendto(fd, want, size, 0, (struct sockaddr *)&dst, sizeof(dst)) < 0)
		err = errno;
	else
		err = wait_error(fd, 2000);
	printf("%s\n", err == EMSGSIZE ? "EMSGSIZE" : err ? strerror(err) : "sent");
	return err == EMSGSIZE ? 0 : 1;
}

static int ip_mtu(int fd)
{
	socklen_t len = sizeof(int);
	int v = -1;

	if (getsockopt(fd, IPPROTO_IP, IP_MTU, &v, &len) < 0)
		return -errno;
	return v;
}

static int do_pmtu(char **argv)
{
	struct sockaddr_in dst, me;
	size_t size = strtoul(argv[5], NULL, 10);
	int wait_ms = atoi(argv[6]), fd = udp_socket(), err;

	if (addr_of(argv[2], argv[3], &dst) < 0 || addr_of("0.0.0.0", argv[4], &me) < 0 ||
	    size > 65507)
		return 2;
	if (bind(fd, (struct sockaddr *)&me, sizeof(me)) < 0 ||
	    connect(fd, (struct sockaddr *)&dst, sizeof(dst)) < 0) {
		perror("bind/connect");
		return 1;
	}
	printf("mtu %d\n", ip_mtu(fd));
	if (send(fd, "probe", 5, 0) != 5)
		perror("send probe");
	fflush(stdout);
	fprintf(stderr, "ready\n");
	err = wait_error(fd, wait_ms);
	printf("error %s\n", err == EMSGSIZE ? "EMSGSIZE" : err ? strerror(err) : "none");
	printf("mtu %d\n", ip_mtu(fd));
	pattern(want, size);
	if (send(fd, want, size, 0) != (ssize_t)size) {
		perror("send");
		return 1;
	}
	printf("sent %zu\n", size);
	/* Let the echo come back, so that nothing is left in flight. */
	{
		struct pollfd pfd = { .fd = fd, .events = POLLIN };

		for (int i = 0; i < 2 && poll(&pfd, 1, 1000) > 0; i++)
			(void)recv(fd, buf, sizeof(buf), 0);
	}
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 6 && strcmp(argv[1], "echo") == 0)
		return do_echo(argv);
	if (argc == 6 && strcmp(argv[1], "roundtrip") == 0)
		return do_roundtrip(argv);
	if (argc == 5 && strcmp(argv[1], "emsgsize") == 0)
		return do_emsgsize(argv);
	if (argc == 7 && strcmp(argv[1], "pmtu") == 0)
		return do_pmtu(argv);
	fprintf(stderr, "usage: udp_frag echo|roundtrip|emsgsize|pmtu ...\n");
	return 2;
}
