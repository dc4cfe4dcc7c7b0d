/*
 * The control socket: netstackd's end of proto/netstack.proto.
 *
 * A SOCK_SEQPACKET Unix socket carries one protobuf message per packet, so
 * there is no framing to parse and a read never splits a message.  The
 * listening socket and each connection are level-triggered read events on
 * the control thread's event_base; a request is decoded, answered in place
 * with a non-blocking send() and freed before the next one is read.  Replies
 * are small next to the socket buffer, so there is no output queue: a peer
 * that stops reading is disconnected rather than buffered for.
 *
 * Context: control thread only; no locks.  Handlers reached from here
 * (ctl_show) read worker state by their own modules' rules.  Bad input from
 * a peer closes that peer's connection and nothing else.
 *
 * A connection whose Hello says ROLE_CLIENT is a client process
 * (libnetstack.so) and gets a session (session.c), which answers its
 * socket requests; descriptors (the region's memfd, a socket's eventfds)
 * travel with the reply by SCM_RIGHTS.  Closing the connection ends the
 * session and closes the process's sockets.  ROLE_CTL connections
 * (netstackctl) show and read sysctls, routes and addresses; clients may
 * too.  Writing a sysctl or changing a route or an address needs a
 * ROLE_CTL connection from root or the daemon's own user.
 */
#include "config.h"

#include <errno.h>
#include <grp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/event.h>

#include "ctl/ctl.h"
#include "ipc/server.h"
#include "ipc/session.h"
#include "log.h"
#include "netstack.pb-c.h"
#include "proto/ipc.h"

#define IPC_MAX_CONNS 1024
#define IPC_LISTEN_BACKLOG 128
#define IPC_ACCEPT_BATCH 32         /* accepts per wake-up */
#define IPC_READ_BATCH 8            /* requests per connection per wake-up */
#define IPC_MAX_RX_FDS 253          /* the kernel's SCM_MAX_FD */
#define IPC_ACCEPT_PAUSE_MS 100     /* back-off when out of file descriptors */
#define IPC_PROGRAM_LEN SESSION_PROGRAM_LEN
#define IPC_MAX_TX_FDS (1 + NS_SHM_MAX_BELLS) /* most descriptors sent with one reply */

/* One peer.  Lives on its server's list from accept until ipc_conn_close. */
struct ipc_conn {
	LIST_ENTRY(ipc_conn) entry;
	struct ipc_server *srv;
	struct event *ev;
	int fd;
	unsigned long id;               /* for logs */
	pid_t pid;                      /* SO_PEERCRED at accept */
	uid_t uid;
	gid_t gid;
	bool hello;                     /* a valid Hello was received */
	Netstack__Role role;
	char program[IPC_PROGRAM_LEN];  /* from Hello, printable characters only */
	struct session *session;        /* ROLE_CLIENT after a successful Hello */
};

struct ipc_server {
	struct event_base *base;
	struct event *listen_ev;
	struct event *resume_ev;        /* re-enables accept after EMFILE */
	int fd;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	dev_t dev;                      /* identity of the socket file we bound, */
	ino_t ino;                      /* so that stop unlinks only our own */
	LIST_HEAD(, ipc_conn) conns;
	unsigned int nconns;
	unsigned long next_id;
	bool limit_logged;              /* "too many connections" said once */
	struct session_limits limits;   /* for every client session */
	/* Shared by all connections: one request is handled at a time. */
	uint8_t *rxbuf;                 /* NS_IPC_MAX_MSG bytes */
	uint8_t *txbuf;                 /* NS_IPC_MAX_MSG bytes */
	struct session_reply sreply;
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(IPC_MAX_RX_FDS * sizeof(int))];
	} cmsg;
};

static void __attribute__((format(printf, 3, 4)))
ipc_set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* --- sending --------------------------------------------------------------- */

/*
 * Send @reply on @c, with the @nfds descriptors @fds (they stay ours: the
 * kernel duplicates them into the peer).  A reply too large for the
 * protocol or for the socket buffer is replaced by an EMSGSIZE error
 * without descriptors, so the peer learns why.  Returns 0 or -errno; the
 * caller closes the connection on error.
 */
static int ipc_send_reply_fds(struct ipc_conn *c, const Netstack__Reply *reply,
			      const int *fds, unsigned int nfds)
{
	Netstack__Reply small = NETSTACK__REPLY__INIT;
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(IPC_MAX_TX_FDS * sizeof(int))];
	} cmsg;
	struct iovec iov;
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	char msg[96];
	size_t len;
	ssize_t n;

	len = netstack__reply__get_packed_size(reply);
	if (len > NS_IPC_MAX_MSG) {
		snprintf(msg, sizeof(msg), "reply of %zu bytes exceeds the %u-byte limit",
			 len, NS_IPC_MAX_MSG);
		ns_log(NS_LOG_WARNING, "ipc: conn %lu: %s", c->id, msg);
		small.seq = reply->seq;
		small.error = EMSGSIZE;
		small.error_message = msg;
		reply = &small;
		len = netstack__reply__get_packed_size(reply);
		nfds = 0;
	}
	netstack__reply__pack(reply, c->srv->txbuf);

	iov.iov_base = c->srv->txbuf;
	iov.iov_len = len;
	if (nfds) {
		struct cmsghdr *cm;

		if (nfds > IPC_MAX_TX_FDS)
			return -EINVAL;
		memset(&cmsg, 0, sizeof(cmsg));
		mh.msg_control = cmsg.buf;
		mh.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(nfds * sizeof(int));
		memcpy(CMSG_DATA(cm), fds, nfds * sizeof(int));
	}
	do
		n = sendmsg(c->fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	if (n < 0 && errno == EMSGSIZE && !reply->error) {
		snprintf(msg, sizeof(msg), "reply of %zu bytes exceeds the socket buffer",
			 len);
		ns_log(NS_LOG_WARNING, "ipc: conn %lu: %s", c->id, msg);
		small.seq = reply->seq;
		small.error = EMSGSIZE;
		small.error_message = msg;
		return ipc_send_reply_fds(c, &small, NULL, 0);
	}
	if (n < 0) {
		int err = errno;

		ns_log(NS_LOG_DEBUG, "ipc: conn %lu: send of %zu bytes: %s",
		       c->id, len, strerror(err));
		return -err;
	}
	return 0;
}

static int ipc_send_reply(struct ipc_conn *c, const Netstack__Reply *reply)
{
	return ipc_send_reply_fds(c, reply, NULL, 0);
}

static int __attribute__((format(printf, 4, 5)))
ipc_send_error(struct ipc_conn *c, uint64_t seq, int error, const char *fmt, ...)
{
	Netstack__Reply reply = NETSTACK__REPLY__INIT;
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	reply.seq = seq;
	reply.error = error;
	reply.error_message = msg;
	return ipc_send_reply(c, &reply);
}

/* --- requests -------------------------------------------------------------- */

static void ipc_copy_program(char *dst, const char *src)
{
	size_t i;

	for (i = 0; src && src[i] && i < IPC_PROGRAM_LEN - 1; i++)
		dst[i] = (src[i] >= 0x20 && src[i] < 0x7f) ? src[i] : '?';
	dst[i] = '\0';
}

static const char *ipc_role_name(Netstack__Role role)
{
	switch (role) {
	case NETSTACK__ROLE__ROLE_CTL:
		return "ctl";
	case NETSTACK__ROLE__ROLE_CLIENT:
		return "client";
	default:
		return "unspecified";
	}
}

/*
 * Hello from a client process: a session with its region (or its parent's,
 * after fork).  If no session can be made the peer hears why and may send
 * another Hello; the connection stays open.
 */
static int ipc_client_hello(struct ipc_conn *c, const Netstack__Request *req)
{
	struct session_peer peer = {
		.pid = c->pid, .uid = c->uid, .gid = c->gid, .program = c->program,
	};
	struct session_reply out;

	session_reply_init(&out, req->seq);
	c->session = session_hello(req->hello, &peer, &c->srv->limits, &out);
	if (!c->session) {
		ns_log(NS_LOG_DEBUG, "ipc: conn %lu (pid %d): client Hello refused: %s",
		       c->id, (int)c->pid, strerror(out.reply.error));
		return ipc_send_reply(c, &out.reply);
	}
	c->hello = true;
	c->role = NETSTACK__ROLE__ROLE_CLIENT;
	ns_log(NS_LOG_DEBUG, "ipc: conn %lu: %s (pid %d, uid %u) connected as client",
	       c->id, c->program[0] ? c->program : "?", (int)c->pid, (unsigned int)c->uid);
	out.body.hello.version = NETSTACK__PROTO_VERSION__PROTO_VERSION_CURRENT;
	out.body.hello.daemon_version = (char *)PACKAGE_VERSION;
	out.body.hello.pid = (uint32_t)getpid();
	return ipc_send_reply_fds(c, &out.reply, out.fds, out.nfds);
}

/* The first request: it must be a Hello of our version.  0, or -errno to close. */
static int ipc_handle_hello(struct ipc_conn *c, const Netstack__Request *req)
{
	Netstack__Reply reply = NETSTACK__REPLY__INIT;
	Netstack__HelloReply hello = NETSTACK__HELLO_REPLY__INIT;

	if (req->body_case != NETSTACK__REQUEST__BODY_HELLO || !req->hello) {
		ns_log(NS_LOG_DEBUG, "ipc: conn %lu: first message is not Hello", c->id);
		ipc_send_error(c, req->seq, EPROTO, "expected Hello as the first message");
		return -EPROTO;
	}
	if (req->hello->version != NETSTACK__PROTO_VERSION__PROTO_VERSION_CURRENT) {
		ns_log(NS_LOG_INFO, "ipc: conn %lu (pid %d): protocol version %u refused",
		       c->id, (int)c->pid, req->hello->version);
		ipc_send_error(c, req->seq, EPROTONOSUPPORT,
			       "protocol version %u not supported (netstackd speaks %d)",
			       req->hello->version,
			       NETSTACK__PROTO_VERSION__PROTO_VERSION_CURRENT);
		return -EPROTONOSUPPORT;
	}

	ipc_copy_program(c->program, req->hello->program);
	if (req->hello->role == NETSTACK__ROLE__ROLE_CLIENT)
		return ipc_client_hello(c, req);

	c->hello = true;
	c->role = req->hello->role;
	ns_log(NS_LOG_DEBUG, "ipc: conn %lu: %s (pid %d, uid %u) connected as %s",
	       c->id, c->program[0] ? c->program : "?", (int)c->pid,
	       (unsigned int)c->uid, ipc_role_name(c->role));

	hello.version = NETSTACK__PROTO_VERSION__PROTO_VERSION_CURRENT;
	hello.daemon_version = (char *)PACKAGE_VERSION;
	hello.pid = (uint32_t)getpid();
	reply.seq = req->seq;
	reply.body_case = NETSTACK__REPLY__BODY_HELLO;
	reply.hello = &hello;
	return ipc_send_reply(c, &reply);
}

static int ipc_handle_show(struct ipc_conn *c, const Netstack__Request *req)
{
	Netstack__Reply reply = NETSTACK__REPLY__INIT;
	Netstack__ShowRequest none = NETSTACK__SHOW_REQUEST__INIT;
	const Netstack__ShowRequest *rq = req->show ? req->show : &none;
	Netstack__ShowReply show;
	Netstack__ShowWhat what = rq->what;
	int err;

	err = ctl_show(rq, &show);
	if (err == -EINVAL)
		return ipc_send_error(c, req->seq, EINVAL, "unknown show object %d", (int)what);
	if (err)
		return ipc_send_error(c, req->seq, -err, "show: %s", strerror(-err));

	reply.seq = req->seq;
	reply.body_case = NETSTACK__REPLY__BODY_SHOW;
	reply.show = &show;
	err = ipc_send_reply(c, &reply);
	ctl_show_free(&show);
	return err;
}

/* May @c change sysctls?  Its SO_PEERCRED uid must be root or ours. */
static bool ipc_may_write_sysctl(const struct ipc_conn *c)
{
	return c->role == NETSTACK__ROLE__ROLE_CTL && (c->uid == 0 || c->uid == geteuid());
}

static int ipc_handle_sysctl(struct ipc_conn *c, const Netstack__Request *req)
{
	Netstack__Reply reply = NETSTACK__REPLY__INIT;
	Netstack__SysctlReply sysctl;
	char msg[256];
	int err;

	if (req->sysctl && req->sysctl->write && !ipc_may_write_sysctl(c))
		return ipc_send_error(c, req->seq, EPERM, "sysctl: writing needs root");
	err = ctl_sysctl(req->sysctl, &sysctl, msg, sizeof(msg));
	if (err)
		return ipc_send_error(c, req->seq, -err, "%s", msg);
	if (req->sysctl && req->sysctl->write)
		ns_log(NS_LOG_INFO, "ipc: conn %lu (pid %d, uid %u): sysctl %s = %s",
		       c->id, (int)c->pid, (unsigned int)c->uid, sysctl.entries[0]->name,
		       sysctl.entries[0]->value);

	reply.seq = req->seq;
	reply.body_case = NETSTACK__REPLY__BODY_SYSCTL;
	reply.sysctl = &sysctl;
	err = ipc_send_reply(c, &reply);
	ctl_sysctl_free(&sysctl);
	return err;
}

/* A one-line summary of a route or address change for the log. */
static void ipc_log_netconfig(const struct ipc_conn *c, const Netstack__Request *req)
{
	const char *op;

	if (req->body_case == NETSTACK__REQUEST__BODY_ROUTE) {
		const Netstack__Route *r = req->route->route;

		op = req->route->op == NETSTACK__NET_CONFIG_OP__NET_CONFIG_OP_ADD ? "add" : "del";
		ns_log(NS_LOG_INFO, "ipc: conn %lu (pid %d, uid %u): route %s %s %s/%u%s%s%s%s",
		       c->id, (int)c->pid, (unsigned int)c->uid, op,
		       r && r->type && *r->type ? r->type : "", r && r->dst ? r->dst : "",
		       r ? r->dst_len : 0, r && r->gateway && *r->gateway ? " via " : "",
		       r && r->gateway ? r->gateway : "", r && r->dev && *r->dev ? " dev " : "",
		       r && r->dev ? r->dev : "");
	} else {
		const Netstack__IfAddrRequest *a = req->ifaddr;

		op = a->op == NETSTACK__NET_CONFIG_OP__NET_CONFIG_OP_ADD ? "add" : "del";
		ns_log(NS_LOG_INFO, "ipc: conn %lu (pid %d, uid %u): addr %s %s/%u dev %s",
		       c->id, (int)c->pid, (unsigned int)c->uid, op, a->local ? a->local : "",
		       a->prefixlen, a->dev ? a->dev : "");
	}
}

/* netstackctl route / addr: show for anyone, changes as for sysctl writes. */
static int ipc_handle_netconfig(struct ipc_conn *c, const Netstack__Request *req)
{
	Netstack__Reply reply = NETSTACK__REPLY__INIT;
	Netstack__NetConfigReply nc;
	Netstack__NetConfigOp op;
	bool is_route = req->body_case == NETSTACK__REQUEST__BODY_ROUTE;
	char msg[256];
	int err;

	if (is_route ? !req->route : !req->ifaddr)
		return ipc_send_error(c, req->seq, EINVAL, "empty request");
	op = is_route ? req->route->op : req->ifaddr->op;
	if ((op == NETSTACK__NET_CONFIG_OP__NET_CONFIG_OP_ADD ||
	     op == NETSTACK__NET_CONFIG_OP__NET_CONFIG_OP_DEL) && !ipc_may_write_sysctl(c))
		return ipc_send_error(c, req->seq, EPERM, "%s: changes need root",
				      is_route ? "route" : "addr");
	err = is_route ? ctl_route(req->route, &nc, msg, sizeof(msg))
		       : ctl_ifaddr(req->ifaddr, &nc, msg, sizeof(msg));
	if (err)
		return ipc_send_error(c, req->seq, -err, "%s", msg);
	if (op != NETSTACK__NET_CONFIG_OP__NET_CONFIG_OP_SHOW)
		ipc_log_netconfig(c, req);
	reply.seq = req->seq;
	reply.body_case = NETSTACK__REPLY__BODY_NETCONFIG;
	reply.netconfig = &nc;
	err = ipc_send_reply(c, &reply);
	ctl_netconfig_free(&nc);
	return err;
}

/* netstackctl hook: list for anyone, changes as for sysctl writes. */
static int ipc_handle_hook(struct ipc_conn *c, const Netstack__Request *req)
{
	Netstack__Reply reply = NETSTACK__REPLY__INIT;
	Netstack__HookReply hr;
	char msg[256];
	int err;

	if (!req->hook)
		return ipc_send_error(c, req->seq, EINVAL, "empty request");
	if (req->hook->op != NETSTACK__HOOK_OP__HOOK_OP_LIST && !ipc_may_write_sysctl(c))
		return ipc_send_error(c, req->seq, EPERM, "hook: changes need root");
	err = ctl_hook(req->hook, &hr, msg, sizeof(msg));
	if (err)
		return ipc_send_error(c, req->seq, -err, "%s", msg);
	reply.seq = req->seq;
	reply.body_case = NETSTACK__REPLY__BODY_HOOK;
	reply.hook = &hr;
	err = ipc_send_reply(c, &reply);
	ctl_hook_free(&hr);
	return err;
}

/* netstackctl capture: root only; the stream's descriptor goes with the reply. */
static int ipc_handle_capture(struct ipc_conn *c, const Netstack__Request *req)
{
	Netstack__Reply reply = NETSTACK__REPLY__INIT;
	Netstack__CaptureReply cr;
	char msg[256];
	int err, fd = -1;

	if (!req->capture)
		return ipc_send_error(c, req->seq, EINVAL, "empty request");
	if (!ipc_may_write_sysctl(c))
		return ipc_send_error(c, req->seq, EPERM, "capture: needs root");
	err = ctl_capture(req->capture, &cr, &fd, msg, sizeof(msg));
	if (err)
		return ipc_send_error(c, req->seq, -err, "%s", msg);
	ns_log(NS_LOG_INFO, "ipc: conn %lu (pid %d, uid %u): capture started", c->id, (int)c->pid,
	       (unsigned int)c->uid);
	reply.seq = req->seq;
	reply.body_case = NETSTACK__REPLY__BODY_CAPTURE;
	reply.capture = &cr;
	err = ipc_send_reply_fds(c, &reply, &fd, 1);
	/* Without the reader's end the capture sees a hang-up and ends itself. */
	close(fd);
	return err;
}

/* netstackctl qdisc: show for anyone, txqueuelen changes as for sysctl writes. */
static int ipc_handle_qdisc(struct ipc_conn *c, const Netstack__Request *req)
{
	Netstack__Reply reply = NETSTACK__REPLY__INIT;
	Netstack__QdiscReply qr;
	char msg[256];
	int err;

	if (!req->qdisc)
		return ipc_send_error(c, req->seq, EINVAL, "empty request");
	if (req->qdisc->set_txqueuelen && !ipc_may_write_sysctl(c))
		return ipc_send_error(c, req->seq, EPERM, "link set: changes need root");
	err = ctl_qdisc(req->qdisc, &qr, msg, sizeof(msg));
	if (err)
		return ipc_send_error(c, req->seq, -err, "%s", msg);
	reply.seq = req->seq;
	reply.body_case = NETSTACK__REPLY__BODY_QDISC;
	reply.qdisc = &qr;
	err = ipc_send_reply(c, &reply);
	ctl_qdisc_free(&qr);
	return err;
}

/* netstackctl trace: as capture, root only, the stream's descriptor with the reply. */
static int ipc_handle_trace(struct ipc_conn *c, const Netstack__Request *req)
{
	Netstack__Reply reply = NETSTACK__REPLY__INIT;
	Netstack__TraceReply tr;
	char msg[256];
	int err, fd = -1;

	if (!req->trace)
		return ipc_send_error(c, req->seq, EINVAL, "empty request");
	if (!ipc_may_write_sysctl(c))
		return ipc_send_error(c, req->seq, EPERM, "trace: needs root");
	err = ctl_trace(req->trace, &tr, &fd, msg, sizeof(msg));
	if (err)
		return ipc_send_error(c, req->seq, -err, "%s", msg);
	ns_log(NS_LOG_INFO, "ipc: conn %lu (pid %d, uid %u): trace started", c->id, (int)c->pid,
	       (unsigned int)c->uid);
	reply.seq = req->seq;
	reply.body_case = NETSTACK__REPLY__BODY_TRACE;
	reply.trace = &tr;
	err = ipc_send_reply_fds(c, &reply, &fd, 1);
	close(fd);
	return err;
}

/* Answer one decoded request.  0, or -errno if the connection must close. */
static int ipc_handle_request(struct ipc_conn *c, const Netstack__Request *req)
{
	struct session_reply *out = &c->srv->sreply;

	if (!c->hello)
		return ipc_handle_hello(c, req);

	switch (req->body_case) {
	case NETSTACK__REQUEST__BODY_SHOW:
		return ipc_handle_show(c, req);
	case NETSTACK__REQUEST__BODY_SYSCTL:
		return ipc_handle_sysctl(c, req);
	case NETSTACK__REQUEST__BODY_ROUTE:
	case NETSTACK__REQUEST__BODY_IFADDR:
		return ipc_handle_netconfig(c, req);
	case NETSTACK__REQUEST__BODY_HOOK:
		return ipc_handle_hook(c, req);
	case NETSTACK__REQUEST__BODY_CAPTURE:
		return ipc_handle_capture(c, req);
	case NETSTACK__REQUEST__BODY_QDISC:
		return ipc_handle_qdisc(c, req);
	case NETSTACK__REQUEST__BODY_TRACE:
		return ipc_handle_trace(c, req);
	case NETSTACK__REQUEST__BODY_HELLO:
		return ipc_send_error(c, req->seq, EPROTO, "Hello already received");
	default:
		if (!c->session)
			break;
		session_reply_init(out, req->seq);
		if (session_request(c->session, req, out))
			return ipc_send_reply_fds(c, &out->reply, out->fds, out->nfds);
		break;
	}
	if (session_is_socket_request(req->body_case))
		return ipc_send_error(c, req->seq, EOPNOTSUPP,
				      "socket requests need a client (ROLE_CLIENT) Hello");
	/* Includes bodies added to the protocol after this daemon. */
	return ipc_send_error(c, req->seq, EOPNOTSUPP,
			      "request not supported by netstackd %s", PACKAGE_VERSION);
}

/* --- connections ----------------------------------------------------------- */

static void ipc_conn_close(struct ipc_conn *c)
{
	struct ipc_server *srv = c->srv;

	ns_log(NS_LOG_DEBUG, "ipc: conn %lu closed", c->id);
	LIST_REMOVE(c, entry);
	session_destroy(c->session);
	event_free(c->ev);
	close(c->fd);
	free(c);
	srv->nconns--;
	if (srv->nconns < IPC_MAX_CONNS)
		srv->limit_logged = false;
}

/* Close every descriptor passed with @msg: the protocol carries none yet. */
static void ipc_close_passed_fds(struct msghdr *msg)
{
	struct cmsghdr *cm;

	for (cm = CMSG_FIRSTHDR(msg); cm; cm = CMSG_NXTHDR(msg, cm)) {
		size_t i, nfds;
		int fd;

		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS ||
		    cm->cmsg_len < CMSG_LEN(0))
			continue;
		nfds = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (i = 0; i < nfds; i++) {
			memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
			close(fd);
		}
	}
}

/*
 * Read and answer one request.  Returns 1 if one was handled, 0 if there is
 * nothing to read, -1 if the connection was closed (@c is freed).
 */
static int ipc_conn_read_one(struct ipc_conn *c)
{
	struct ipc_server *srv = c->srv;
	struct iovec iov = { .iov_base = srv->rxbuf, .iov_len = NS_IPC_MAX_MSG };
	struct msghdr msg = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = srv->cmsg.buf,
		.msg_controllen = sizeof(srv->cmsg.buf),
	};
	Netstack__Request *req;
	ssize_t n;
	int err;

	n = recvmsg(c->fd, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	if (n < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return 0;
		if (errno == EINTR)
			return 1;
		ns_log(NS_LOG_DEBUG, "ipc: conn %lu: recvmsg: %s", c->id, strerror(errno));
		goto out_close;
	}
	ipc_close_passed_fds(&msg);
	if (n == 0)
		goto out_close;         /* orderly shutdown by the peer */
	if (msg.msg_flags & MSG_TRUNC) {
		ns_log(NS_LOG_DEBUG, "ipc: conn %lu: message larger than %u bytes",
		       c->id, NS_IPC_MAX_MSG);
		ipc_send_error(c, 0, EMSGSIZE, "message larger than %u bytes",
			       NS_IPC_MAX_MSG);
		goto out_close;
	}

	req = netstack__request__unpack(NULL, (size_t)n, srv->rxbuf);
	if (!req) {
		ns_log(NS_LOG_DEBUG, "ipc: conn %lu: undecodable message of %zd bytes",
		       c->id, n);
		goto out_close;
	}
	err = ipc_handle_request(c, req);
	netstack__request__free_unpacked(req, NULL);
	if (err)
		goto out_close;
	return 1;

out_close:
	ipc_conn_close(c);
	return -1;
}

static void ipc_conn_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct ipc_conn *c = arg;
	int i;

	/* A bounded batch keeps one busy peer from starving the others. */
	for (i = 0; i < IPC_READ_BATCH; i++)
		if (ipc_conn_read_one(c) <= 0)
			return;
}

/* Adopt accepted socket @fd.  0 or -errno; on error @fd is closed. */
static int ipc_conn_new(struct ipc_server *srv, int fd)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	int sndbuf = 2 * NS_IPC_MAX_MSG;
	struct ipc_conn *c;
	int err;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) {
		err = -errno;
		ns_log(NS_LOG_DEBUG, "ipc: SO_PEERCRED: %s", strerror(errno));
		goto err_close_fd;
	}
	/*
	 * A SEQPACKET message must fit the sender's buffer whole.  Raising it
	 * past net.core.wmem_max needs CAP_NET_ADMIN; without it the kernel
	 * limit stands and an oversized reply fails as EMSGSIZE.
	 */
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sndbuf, sizeof(sndbuf)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));

	c = calloc(1, sizeof(*c));
	if (!c) {
		err = -ENOMEM;
		goto err_close_fd;
	}
	c->srv = srv;
	c->fd = fd;
	c->id = ++srv->next_id;
	c->pid = cred.pid;
	c->uid = cred.uid;
	c->gid = cred.gid;
	c->ev = event_new(srv->base, fd, EV_READ | EV_PERSIST, ipc_conn_read_cb, c);
	if (!c->ev) {
		err = -ENOMEM;
		goto err_free_conn;
	}
	if (event_add(c->ev, NULL) < 0) {
		err = -ENOMEM;
		goto err_free_event;
	}
	LIST_INSERT_HEAD(&srv->conns, c, entry);
	srv->nconns++;
	ns_log(NS_LOG_DEBUG, "ipc: conn %lu from pid %d uid %u gid %u", c->id,
	       (int)c->pid, (unsigned int)c->uid, (unsigned int)c->gid);
	return 0;

err_free_event:
	event_free(c->ev);
err_free_conn:
	free(c);
err_close_fd:
	close(fd);
	return err;
}

/* Over the connection limit: say why, best effort, and hang up. */
static void ipc_refuse(struct ipc_server *srv, int fd)
{
	Netstack__Reply reply = NETSTACK__REPLY__INIT;
	uint8_t buf[128];
	size_t len;

	if (!srv->limit_logged) {
		ns_log(NS_LOG_WARNING, "ipc: %u connections open, refusing more",
		       IPC_MAX_CONNS);
		srv->limit_logged = true;
	}
	reply.error = EUSERS;
	reply.error_message = (char *)"too many connections to netstackd";
	len = netstack__reply__get_packed_size(&reply);
	if (len <= sizeof(buf)) {
		netstack__reply__pack(&reply, buf);
		send(fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);
	}
	close(fd);
}

static void ipc_resume_cb(evutil_socket_t fd, short what, void *arg)
{
	struct ipc_server *srv = arg;

	if (event_add(srv->listen_ev, NULL) < 0)
		ns_log(NS_LOG_ERR, "ipc: cannot re-enable accepting connections");
}

static void ipc_accept_cb(evutil_socket_t lfd, short what, void *arg)
{
	struct ipc_server *srv = arg;
	struct timeval pause = { 0, IPC_ACCEPT_PAUSE_MS * 1000 };
	int i, fd;

	for (i = 0; i < IPC_ACCEPT_BATCH; i++) {
		fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0 && (errno == EINTR || errno == ECONNABORTED))
			continue;
		if (fd < 0 && errno == EAGAIN)
			return;
		if (fd < 0 && (errno == EMFILE || errno == ENFILE ||
			       errno == ENOBUFS || errno == ENOMEM)) {
			/*
			 * The connection stays queued and the level-triggered
			 * event would spin: stop accepting for a moment.
			 */
			ns_log(NS_LOG_WARNING, "ipc: accept: %s; pausing for %d ms",
			       strerror(errno), IPC_ACCEPT_PAUSE_MS);
			event_del(srv->listen_ev);
			evtimer_add(srv->resume_ev, &pause);
			return;
		}
		if (fd < 0) {
			ns_log(NS_LOG_ERR, "ipc: accept: %s", strerror(errno));
			return;
		}
		if (srv->nconns >= IPC_MAX_CONNS) {
			ipc_refuse(srv, fd);
			continue;
		}
		ipc_conn_new(srv, fd);
	}
}

/* --- the listening socket -------------------------------------------------- */

/* mkdir -p for the directory part of @path; new directories get 0755. */
static int ipc_make_dirs(const char *path, char *err, size_t errlen)
{
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
	struct stat st;
	char *p, *slash, saved;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return 0;           /* the current directory or / */
	*slash = '\0';

	for (p = dir + 1; ; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		saved = *p;
		*p = '\0';
		if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
			int e = errno;

			ipc_set_err(err, errlen, "cannot create directory %s: %s",
				    dir, strerror(e));
			return -e;
		}
		*p = saved;
		if (!saved)
			break;
	}
	if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
		ipc_set_err(err, errlen, "%s is not a directory", dir);
		return -ENOTDIR;
	}
	return 0;
}

/*
 * Remove a socket file at @path left by a daemon that died, after checking
 * that nothing answers on it.  0 if @path is free now, else -errno.
 */
static int ipc_remove_stale(const char *path, const struct sockaddr_un *sun,
			    char *err, size_t errlen)
{
	struct stat st;
	int fd, ret, e;

	if (lstat(path, &st) < 0) {
		if (errno == ENOENT)
			return 0;
		e = errno;
		ipc_set_err(err, errlen, "cannot stat %s: %s", path, strerror(e));
		return -e;
	}
	if (!S_ISSOCK(st.st_mode)) {
		ipc_set_err(err, errlen, "%s exists and is not a socket", path);
		return -EEXIST;
	}

	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		e = errno;
		ipc_set_err(err, errlen, "socket: %s", strerror(e));
		return -e;
	}
	ret = connect(fd, (const struct sockaddr *)sun, sizeof(*sun));
	e = ret < 0 ? errno : 0;
	close(fd);

	if (ret == 0 || e == EAGAIN) {
		ipc_set_err(err, errlen, "another netstackd is already listening on %s",
			    path);
		return -EADDRINUSE;
	}
	if (e != ECONNREFUSED) {
		ipc_set_err(err, errlen, "cannot check existing socket %s: %s",
			    path, strerror(e));
		return -e;
	}
	ns_log(NS_LOG_INFO, "ipc: removing stale socket %s", path);
	if (unlink(path) < 0 && errno != ENOENT) {
		e = errno;
		ipc_set_err(err, errlen, "cannot remove stale socket %s: %s",
			    path, strerror(e));
		return -e;
	}
	return 0;
}

/* Resolve @group, a name or a number.  0, or -ENOENT if unknown. */
static int ipc_lookup_group(const char *group, gid_t *gid)
{
	struct group grp, *res = NULL;
	size_t size = 1024;
	char *buf = NULL, *end;
	unsigned long num;
	int ret;

	for (;;) {
		char *nbuf = realloc(buf, size);

		if (!nbuf) {
			free(buf);
			return -ENOMEM;
		}
		buf = nbuf;
		ret = getgrnam_r(group, &grp, buf, size, &res);
		if (ret != ERANGE || size >= (1u << 20))
			break;
		size *= 2;
	}
	if (res)
		*gid = res->gr_gid;
	free(buf);
	if (res)
		return 0;

	errno = 0;
	num = strtoul(group, &end, 10);
	if (group[0] >= '0' && group[0] <= '9' && !*end && !errno &&
	    num <= (gid_t)-2) {
		*gid = (gid_t)num;
		return 0;
	}
	return ret > 0 ? -ret : -ENOENT;
}

struct ipc_server *ipc_server_start(struct event_base *base, const char *path,
				    const char *group, const struct session_limits *limits,
				    char *err, size_t errlen)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct ipc_server *srv;
	struct stat st;
	gid_t gid = 0;
	int ret;

	if (!path || !*path || strlen(path) >= sizeof(sun.sun_path)) {
		ipc_set_err(err, errlen, "socket path %s", path && *path ?
			    "too long" : "empty");
		errno = path && *path ? ENAMETOOLONG : EINVAL;
		return NULL;
	}
	memcpy(sun.sun_path, path, strlen(path) + 1);

	if (group && *group) {
		ret = ipc_lookup_group(group, &gid);
		if (ret) {
			ipc_set_err(err, errlen, "socket group %s: %s", group,
				    ret == -ENOENT ? "no such group" : strerror(-ret));
			errno = -ret;
			return NULL;
		}
	}

	srv = calloc(1, sizeof(*srv));
	if (!srv) {
		ipc_set_err(err, errlen, "out of memory");
		errno = ENOMEM;
		return NULL;
	}
	srv->base = base;
	srv->fd = -1;
	if (limits) {
		srv->limits = *limits;
	} else {
		srv->limits.shm_size = (uint64_t)SESSION_DEFAULT_SHM_MB << 20;
		srv->limits.max_sockets = SESSION_DEFAULT_MAX_SOCKETS;
	}
	LIST_INIT(&srv->conns);
	snprintf(srv->path, sizeof(srv->path), "%s", path);
	srv->rxbuf = malloc(NS_IPC_MAX_MSG);
	srv->txbuf = malloc(NS_IPC_MAX_MSG);
	if (!srv->rxbuf || !srv->txbuf) {
		ipc_set_err(err, errlen, "out of memory");
		ret = -ENOMEM;
		goto err_free_srv;
	}

	ret = ipc_make_dirs(path, err, errlen);
	if (ret)
		goto err_free_srv;
	ret = ipc_remove_stale(path, &sun, err, errlen);
	if (ret)
		goto err_free_srv;

	srv->fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (srv->fd < 0) {
		ret = -errno;
		ipc_set_err(err, errlen, "socket: %s", strerror(errno));
		goto err_free_srv;
	}
	if (bind(srv->fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		ret = -errno;
		ipc_set_err(err, errlen, "cannot bind %s: %s", path, strerror(errno));
		goto err_close_fd;
	}
	/* Nobody can connect before listen(), so no client sees the wider mode. */
	if (lstat(path, &st) < 0) {
		ret = -errno;
		ipc_set_err(err, errlen, "cannot stat %s: %s", path, strerror(errno));
		goto err_unlink;
	}
	srv->dev = st.st_dev;
	srv->ino = st.st_ino;
	if (chmod(path, 0660) < 0) {
		ret = -errno;
		ipc_set_err(err, errlen, "cannot chmod %s: %s", path, strerror(errno));
		goto err_unlink;
	}
	if (group && *group && chown(path, (uid_t)-1, gid) < 0) {
		ret = -errno;
		ipc_set_err(err, errlen, "cannot give %s to group %s: %s", path,
			    group, strerror(errno));
		goto err_unlink;
	}
	if (listen(srv->fd, IPC_LISTEN_BACKLOG) < 0) {
		ret = -errno;
		ipc_set_err(err, errlen, "cannot listen on %s: %s", path, strerror(errno));
		goto err_unlink;
	}

	srv->listen_ev = event_new(base, srv->fd, EV_READ | EV_PERSIST, ipc_accept_cb, srv);
	srv->resume_ev = evtimer_new(base, ipc_resume_cb, srv);
	if (!srv->listen_ev || !srv->resume_ev || event_add(srv->listen_ev, NULL) < 0) {
		ret = -ENOMEM;
		ipc_set_err(err, errlen, "cannot register %s with the event loop", path);
		goto err_free_events;
	}
	ns_log(NS_LOG_INFO, "ipc: listening on %s", path);
	return srv;

err_free_events:
	if (srv->resume_ev)
		event_free(srv->resume_ev);
	if (srv->listen_ev)
		event_free(srv->listen_ev);
err_unlink:
	unlink(path);
err_close_fd:
	close(srv->fd);
err_free_srv:
	free(srv->txbuf);
	free(srv->rxbuf);
	free(srv);
	errno = -ret;
	return NULL;
}

void ipc_server_stop(struct ipc_server *srv)
{
	struct stat st;

	if (!srv)
		return;
	while (!LIST_EMPTY(&srv->conns))
		ipc_conn_close(LIST_FIRST(&srv->conns));
	event_free(srv->resume_ev);
	event_free(srv->listen_ev);
	close(srv->fd);
	/* A second daemon may have replaced the file: leave that one alone. */
	if (lstat(srv->path, &st) == 0 && st.st_dev == srv->dev && st.st_ino == srv->ino)
		unlink(srv->path);
	free(srv->txbuf);
	free(srv->rxbuf);
	free(srv);
}

unsigned int ipc_server_nclients(const struct ipc_server *srv)
{
	return srv ? srv->nconns : 0;
}
