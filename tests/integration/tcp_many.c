/*
 * tcp_many: many concurrent TCP connections, for test_tcp_many.sh.
 *
 *   tcp_many server PORT           echo server (epoll, non-blocking); runs
 *                                  until killed
 *   tcp_many client ADDR PORT N    open N connections at once (non-blocking
 *                                  connect, epoll), then on each send a
 *                                  16-byte message naming the connection,
 *                                  read the echo back, compare, close.
 *                                  Prints "ok N" and exits 0 only if every
 *                                  connection was established, echoed
 *                                  correctly and closed.
 *
 * Bounded: the client gives up after 60 s.  Plain POSIX + epoll, so that
 * it runs unchanged against the kernel and under libnetstack.so.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MSG_LEN 16

struct conn {
	int fd;
	int state;              /* 0 connecting, 1 sent, 2 done */
	size_t got;
	char buf[MSG_LEN];
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static int server(int port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	struct epoll_event ev, evs[256];
	int one = 1, lfd, ep;

	raise_nofile();
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (lfd < 0 || setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(lfd, (struct sockaddr *)&sin, sizeof(sin)) < 0 || listen(lfd, 4096) < 0) {
		perror("tcp_many server");
		return 1;
	}
	ep = epoll_create1(0);
	ev.events = EPOLLIN;
	ev.data.fd = lfd;
	epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
	printf("listening\n");
	fflush(stdout);
	for (;;) {
		int n = epoll_wait(ep, evs, 256, -1);

		for (int i = 0; i < n; i++) {
			int fd = evs[i].data.fd;

			if (fd == lfd) {
				int c;

				while ((c = accept4(lfd, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
					ev.events = EPOLLIN;
					ev.data.fd = c;
					epoll_ctl(ep, EPOLL_CTL_ADD, c, &ev);
				}
				continue;
			}
			for (;;) {
				char b[4096];
				ssize_t r = read(fd, b, sizeof(b));

				if (r > 0) {
					if (write(fd, b, (size_t)r) != r) {
						close(fd);
						break;
					}
					continue;
				}
				if (r == 0 || errno != EAGAIN)
					close(fd);
				break;
			}
		}
	}
}

static int client(const char *addr, int port, int n)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	struct epoll_event ev, evs[512];
	struct conn *c = calloc((size_t)n, sizeof(*c));
	int ep = epoll_create1(0), done = 0, established = 0;
	double deadline = now_s() + 60.0;

	raise_nofile();
	if (!c || inet_pton(AF_INET, addr, &sin.sin_addr) != 1) {
		fprintf(stderr, "tcp_many: bad address or no memory\n");
		return 2;
	}
	for (int i = 0; i < n; i++) {
		c[i].fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
		if (c[i].fd < 0) {
			fprintf(stderr, "tcp_many: socket %d: %s\n", i, strerror(errno));
			return 1;
		}
		if (connect(c[i].fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 &&
		    errno != EINPROGRESS) {
			fprintf(stderr, "tcp_many: connect %d: %s\n", i, strerror(errno));
			return 1;
		}
		ev.events = EPOLLOUT;
		ev.data.u32 = (uint32_t)i;
		epoll_ctl(ep, EPOLL_CTL_ADD, c[i].fd, &ev);
	}
	while (done < n && now_s() < deadline) {
		int k = epoll_wait(ep, evs, 512, 1000);

		for (int j = 0; j < k; j++) {
			struct conn *x = &c[evs[j].data.u32];
			char want[MSG_LEN + 1];

			snprintf(want, sizeof(want), "conn-%010u", evs[j].data.u32);
			if (x->state == 0) {
				int err = 0;
				socklen_t l = sizeof(err);

				getsockopt(x->fd, SOL_SOCKET, SO_ERROR, &err, &l);
				if (err) {
					fprintf(stderr, "tcp_many: connect %u: %s\n", evs[j].data.u32,
						strerror(err));
					return 1;
				}
				established++;
				if (write(x->fd, want, MSG_LEN) != MSG_LEN) {
					fprintf(stderr, "tcp_many: write %u: %s\n", evs[j].data.u32,
						strerror(errno));
					return 1;
				}
				x->state = 1;
				ev.events = EPOLLIN;
				ev.data.u32 = evs[j].data.u32;
				epoll_ctl(ep, EPOLL_CTL_MOD, x->fd, &ev);
			} else if (x->state == 1) {
				ssize_t r = read(x->fd, x->buf + x->got, MSG_LEN - x->got);

				if (r < 0 && errno == EAGAIN)
					continue;
				if (r <= 0) {
					fprintf(stderr, "tcp_many: read %u: %s\n", evs[j].data.u32,
						r ? strerror(errno) : "EOF");
					return 1;
				}
				x->got += (size_t)r;
				if (x->got < MSG_LEN)
					continue;
				if (memcmp(x->buf, want, MSG_LEN) != 0) {
					fprintf(stderr, "tcp_many: conn %u: wrong echo\n",
						evs[j].data.u32);
					return 1;
				}
				epoll_ctl(ep, EPOLL_CTL_DEL, x->fd, NULL);
				close(x->fd);
				x->state = 2;
				done++;
			}
		}
	}
	if (done < n) {
		fprintf(stderr, "tcp_many: timed out: %d established, %d of %d done\n", established,
			done, n);
		return 1;
	}
	printf("ok %d\n", n);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "server") == 0)
		return server(atoi(argv[2]));
	if (argc == 5 && strcmp(argv[1], "client") == 0)
		return client(argv[2], atoi(argv[3]), atoi(argv[4]));
	fprintf(stderr, "usage: tcp_many server PORT | tcp_many client ADDR PORT N\n");
	return 2;
}
