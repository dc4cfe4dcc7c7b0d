/*
 * udp_echo: a UDP echo server and a windowed client that checks every
 * byte it gets back, for the loopback test.  Plain socket API only, so it
 * runs against the kernel or under LD_PRELOAD=libnetstack.so unchanged.
 *
 *   udp_echo server BIND_IP PORT
 *       echoes each datagram to its sender; writes "ready" on stderr once
 *       bound; stops on a 4-byte "quit" or after 10 s without traffic and
 *       prints "echoed N bytes B".
 *   udp_echo client DST_IP PORT COUNT SIZE WINDOW
 *       sends COUNT datagrams of SIZE bytes (a sequence number, then bytes
 *       derived from it), never more than WINDOW unanswered, and checks
 *       each echo's size and contents; gives up after 5 s without an
 *       answer.  Prints "sent S received R bad B bytes X"; exit status 0
 *       only if every datagram came back intact.  Sends "quit" at the end.
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

#define MAX_SIZE 65507

static int addr_of(const char *ip, const char *port, struct sockaddr_in *sin)
{
	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	sin->sin_port = htons((uint16_t)atoi(port));
	return inet_pton(AF_INET, ip, &sin->sin_addr) == 1 ? 0 : -1;
}

/* The contents of datagram @seq: its number, then a pattern seeded by it. */
static void fill(unsigned char *buf, size_t size, uint64_t seq)
{
	uint32_t x = (uint32_t)(seq * 2654435761u) | 1;

	memcpy(buf, &seq, sizeof(seq));
	for (size_t i = sizeof(seq); i < size; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		buf[i] = (unsigned char)x;
	}
}

static int do_server(char **argv)
{
	static unsigned char buf[MAX_SIZE + 1];
	struct sockaddr_in me;
	unsigned long echoed = 0, bytes = 0;
	int fd;

	if (addr_of(argv[2], argv[3], &me) < 0)
		return 2;
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&me, sizeof(me)) < 0) {
		perror("server socket/bind");
		return 1;
	}
	fprintf(stderr, "ready\n");
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		struct sockaddr_in from;
		socklen_t flen = sizeof(from);
		ssize_t n;

		if (poll(&p, 1, 10000) <= 0)
			break;
		n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &flen);
		if (n < 0) {
			perror("recvfrom");
			break;
		}
		if (n == 4 && memcmp(buf, "quit", 4) == 0)
			break;
		if (sendto(fd, buf, (size_t)n, 0, (struct sockaddr *)&from, flen) != n) {
			perror("sendto");
			break;
		}
		echoed++;
		bytes += (unsigned long)n;
	}
	close(fd);
	printf("echoed %lu bytes %lu\n", echoed, bytes);
	return 0;
}

static int do_client(char **argv)
{
	static unsigned char out[MAX_SIZE], in[MAX_SIZE + 1], want[MAX_SIZE];
	struct sockaddr_in dst;
	unsigned long count = strtoul(argv[4], NULL, 10);
	size_t size = strtoul(argv[5], NULL, 10);
	unsigned long window = strtoul(argv[6], NULL, 10);
	unsigned long sent = 0, received = 0, bad = 0, bytes = 0;
	int fd;

	if (addr_of(argv[2], argv[3], &dst) < 0 || size < 8 || size > MAX_SIZE || !window)
		return 2;
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&dst, sizeof(dst)) < 0) {
		perror("client socket/connect");
		return 1;
	}
	while (received + bad < count) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		uint64_t seq;
		ssize_t n;

		while (sent < count && sent - received - bad < window) {
			fill(out, size, sent);
			if (send(fd, out, size, 0) != (ssize_t)size) {
				perror("send");
				goto done;
			}
			sent++;
		}
		if (poll(&p, 1, 5000) <= 0) {
			fprintf(stderr, "no echo for 5 s\n");
			break;
		}
		n = recv(fd, in, sizeof(in), 0);
		if (n < 0) {
			perror("recv");
			break;
		}
		memcpy(&seq, in, sizeof(seq));
		if ((size_t)n != size || seq >= sent) {
			bad++;
			continue;
		}
		fill(want, size, seq);
		if (memcmp(in, want, size) != 0) {
			bad++;
			continue;
		}
		received++;
		bytes += (unsigned long)n;
	}
done:
	(void)send(fd, "quit", 4, 0);
	close(fd);
	printf("sent %lu received %lu bad %lu bytes %lu\n", sent, received, bad, bytes);
	return received == count && bad == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
	if (argc == 4 && strcmp(argv[1], "server") == 0)
		return do_server(argv);
	if (argc == 7 && strcmp(argv[1], "client") == 0)
		return do_client(argv);
	fprintf(stderr, "usage: udp_echo server BIND_IP PORT\n"
		"       udp_echo client DST_IP PORT COUNT SIZE WINDOW\n");
	return 2;
}
