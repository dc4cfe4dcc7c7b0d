/*
 * udp_blast: send or receive numbered UDP datagrams and count them, for
 * the reconciliation test (every datagram is received or counted as a
 * drop somewhere).  Uses only the plain socket API, so it runs against the
 * kernel or under LD_PRELOAD=libnetstack.so unchanged.
 *
 *   udp_blast send DST_IP PORT COUNT SIZE
 *       prints "sent N errors E" (E: sendto failures, by errno, also listed)
 *   udp_blast recv BIND_IP PORT COUNT IDLE_MS [RCVBUF]
 *       receives until COUNT datagrams arrived or none came for IDLE_MS;
 *       prints "received N bad B" (B: wrong size or sequence out of range)
 *       and writes "ready" on stderr once bound.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int addr_of(const char *ip, const char *port, struct sockaddr_in *sin)
{
	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	sin->sin_port = htons((uint16_t)atoi(port));
	return inet_pton(AF_INET, ip, &sin->sin_addr) == 1 ? 0 : -1;
}

static int do_send(char **argv)
{
	struct sockaddr_in dst;
	unsigned long count = strtoul(argv[4], NULL, 10);
	size_t size = strtoul(argv[5], NULL, 10);
	unsigned long sent = 0, errors = 0, by_errno[256] = { 0 };
	char buf[65536];
	int fd;

	if (addr_of(argv[2], argv[3], &dst) < 0 || size < 8 || size > sizeof(buf))
		return 2;
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0) {
		perror("socket");
		return 1;
	}
	memset(buf, 0x5a, size);
	for (unsigned long i = 0; i < count; i++) {
		uint64_t seq = i;

		memcpy(buf, &seq, sizeof(seq));
		if (sendto(fd, buf, size, 0, (struct sockaddr *)&dst, sizeof(dst)) == (ssize_t)size) {
			sent++;
		} else {
			errors++;
			by_errno[errno & 255]++;
		}
	}
	close(fd);
	printf("sent %lu errors %lu\n", sent, errors);
	for (int e = 0; e < 256; e++)
		if (by_errno[e])
			printf("errno %s %lu\n", strerror(e), by_errno[e]);
	return 0;
}

static int do_recv(int argc, char **argv)
{
	struct sockaddr_in me;
	unsigned long count = strtoul(argv[4], NULL, 10);
	int idle_ms = atoi(argv[5]);
	unsigned long received = 0, bad = 0;
	char buf[65536];
	int fd;

	if (addr_of(argv[2], argv[3], &me) < 0)
		return 2;
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0) {
		perror("socket");
		return 1;
	}
	if (argc > 6) {
		int rcvbuf = atoi(argv[6]);

		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	}
	if (bind(fd, (struct sockaddr *)&me, sizeof(me)) < 0) {
		perror("bind");
		return 1;
	}
	fprintf(stderr, "ready\n");
	while (received < count) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t n;
		uint64_t seq;

		if (poll(&p, 1, idle_ms) <= 0)
			break;
		n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			perror("recv");
			break;
		}
		received++;
		memcpy(&seq, buf, sizeof(seq));
		if (n < 8 || seq >= count)
			bad++;
	}
	close(fd);
	printf("received %lu bad %lu\n", received, bad);
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc >= 6 && strcmp(argv[1], "send") == 0)
		return do_send(argv);
	if (argc >= 6 && strcmp(argv[1], "recv") == 0)
		return do_recv(argc, argv);
	fprintf(stderr, "usage: udp_blast send DST PORT COUNT SIZE | recv BIND PORT COUNT IDLE_MS [RCVBUF]\n");
	return 2;
}
