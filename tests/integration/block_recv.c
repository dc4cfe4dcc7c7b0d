/*
 * block_recv: a client that holds a few UDP sockets and blocks in
 * recvfrom(), for test_kill.sh (run under LD_PRELOAD=libnetstack.so).
 *
 *   block_recv [-n NSOCK] [-c PEER_ADDR:PORT] BIND_ADDR PORT
 *
 * Opens NSOCK (default 1) UDP sockets bound to BIND_ADDR:PORT, PORT+1, ...;
 * with -c the last one is also connected to PEER_ADDR:PORT.  Prints
 * "pid N" and "blocking" (flushed), then calls recvfrom() on the first
 * socket.  When it returns, prints one line:
 *   "recvfrom: ok N at_ms=T elapsed_ms=E"      (a datagram arrived)
 *   "recvfrom: error ENAME at_ms=T elapsed_ms=E"
 * where T is CLOCK_REALTIME in milliseconds (comparable with `date +%s%N`)
 * and E the time spent in recvfrom; then exits 0.  Exit 2: bad usage or
 * a setup call failed.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_SOCKS 16

static long long now_ms(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int parse_addr(const char *a, int port, struct sockaddr_in *sin)
{
	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	sin->sin_port = htons((unsigned short)port);
	return inet_pton(AF_INET, a, &sin->sin_addr) == 1 && port > 0 && port < 65536 ? 0 : -1;
}

static void usage(void)
{
	fprintf(stderr, "usage: block_recv [-n NSOCK] [-c PEER_ADDR:PORT] BIND_ADDR PORT\n");
	exit(2);
}

int main(int argc, char **argv)
{
	struct sockaddr_in bind_sin, peer_sin, from;
	socklen_t fromlen = sizeof(from);
	const char *peer = NULL;
	int fds[MAX_SOCKS], nsock = 1, port, opt, i;
	long long t0, t1;
	char buf[2048];
	ssize_t r;
	int err;

	while ((opt = getopt(argc, argv, "n:c:")) != -1) {
		switch (opt) {
		case 'n':
			nsock = atoi(optarg);
			if (nsock < 1 || nsock > MAX_SOCKS)
				usage();
			break;
		case 'c':
			peer = optarg;
			break;
		default:
			usage();
		}
	}
	if (argc - optind != 2)
		usage();
	port = atoi(argv[optind + 1]);
	if (parse_addr(argv[optind], port, &bind_sin) < 0 || port + nsock > 65536)
		usage();
	if (peer) {
		char host[64];
		const char *colon = strrchr(peer, ':');

		if (!colon || (size_t)(colon - peer) >= sizeof(host))
			usage();
		memcpy(host, peer, (size_t)(colon - peer));
		host[colon - peer] = '\0';
		if (parse_addr(host, atoi(colon + 1), &peer_sin) < 0)
			usage();
	}

	for (i = 0; i < nsock; i++) {
		struct sockaddr_in sin = bind_sin;

		fds[i] = socket(AF_INET, SOCK_DGRAM, 0);
		if (fds[i] < 0) {
			perror("socket");
			return 2;
		}
		sin.sin_port = htons((unsigned short)(port + i));
		if (bind(fds[i], (struct sockaddr *)&sin, sizeof(sin)) < 0) {
			perror("bind");
			return 2;
		}
	}
	if (peer && connect(fds[nsock - 1], (struct sockaddr *)&peer_sin, sizeof(peer_sin)) < 0) {
		perror("connect");
		return 2;
	}

	printf("pid %d\nblocking\n", (int)getpid());
	fflush(stdout);

	t0 = now_ms(CLOCK_MONOTONIC);
	r = recvfrom(fds[0], buf, sizeof(buf), 0, (struct sockaddr *)&from, &fromlen);
	err = errno;
	t1 = now_ms(CLOCK_MONOTONIC);
	if (r >= 0)
		printf("recvfrom: ok %zd at_ms=%lld elapsed_ms=%lld\n", r, now_ms(CLOCK_REALTIME),
		       t1 - t0);
	else
		printf("recvfrom: error %s at_ms=%lld elapsed_ms=%lld\n",
		       strerrorname_np(err) ? strerrorname_np(err) : "unknown",
		       now_ms(CLOCK_REALTIME), t1 - t0);
	fflush(stdout);
	return 0;
}
