/*
 * Client sessions: one per ROLE_CLIENT connection, that is one per client
 * process.  A session owns (a reference to) the process's shared-memory
 * region and a table of the sockets the process holds, and turns socket
 * requests (proto/netstack.proto) into calls to the socket layer
 * (net/socket.h).
 *
 * The module does no I/O on the connection: the IPC server (server.c)
 * decodes a request, calls in here, and sends the reply and descriptors
 * this module prepared.  Control thread only; no locks.
 */
#ifndef NS_DAEMON_IPC_SESSION_H
#define NS_DAEMON_IPC_SESSION_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "netstack.pb-c.h"
#include "proto/shm.h"

struct session;

/* Per-client limits from netstackd.conf ([daemon] client_shm_mb, client_max_sockets). */
struct session_limits {
	uint64_t shm_size;              /* bytes in each region */
	unsigned int max_sockets;       /* sockets one process may hold (EMFILE) */
};

/* Used when the server is given no limits (nsconfig.h has the same). */
#define SESSION_DEFAULT_SHM_MB 8192u
#define SESSION_DEFAULT_MAX_SOCKETS 16384u
/* Largest getsockopt value returned (longer optlen is cut to this). */
#define SESSION_OPT_MAX 1024u
#define SESSION_PROGRAM_LEN 64
/* Largest error queue payload returned (an ICMP error quotes at most 576 bytes). */
#define SESSION_ERR_PAYLOAD_MAX 576u

/*
 * What to answer one request with: the Reply (seq, error, body pointing
 * into this struct) and the descriptors to pass with it by SCM_RIGHTS, in
 * order.  The descriptors stay owned by the daemon (the kernel duplicates
 * them into the peer).  Valid until the next call with the same struct.
 */
struct session_reply {
	Netstack__Reply reply;
	union {
		Netstack__HelloReply hello;
		Netstack__SocketReply socket;
		Netstack__GetsockoptReply getsockopt;
		Netstack__NameReply getname;
		Netstack__RecvErrReply recverr;
		Netstack__AcceptReply accept;
	} body;
	int fds[1 + NS_SHM_MAX_BELLS];
	unsigned int nfds;
	char message[160];
	union {
		struct sockaddr_storage ss;     /* names; accept's peer */
		unsigned char opt[SESSION_OPT_MAX];
		struct {
			struct sockaddr_storage addr, offender;
			unsigned char payload[SESSION_ERR_PAYLOAD_MAX];
		} err;
	} buf;
};

/* Reset @out to an empty success reply for request @seq. */
void session_reply_init(struct session_reply *out, uint64_t seq);

/* The peer of a connection, from SO_PEERCRED and its Hello. */
struct session_peer {
	pid_t pid;
	uid_t uid;
	gid_t gid;
	const char *program;            /* already sanitised */
};

/*
 * A Hello with role ROLE_CLIENT.  Without attach_token: a new process; it
 * gets a new region, whose memfd is put in @out->fds.  With attach_token:
 * a forked child; the token must name a live session of the same uid, whose
 * region the child shares (no descriptor is passed) and whose sockets
 * listed in attach_socks the child then also holds (ids the parent does
 * not hold are ignored).  Fills @out->body.hello's token, shm_size and
 * max_sockets (the caller adds the version fields) and points
 * @out->reply.hello at it.
 *
 * Returns the session, or NULL with the error in @out->reply (ESRCH:
 * unknown token; ENOMEM, EMFILE, ENFILE: the daemon is short of memory or
 * descriptors); the connection may then try another Hello.
 */
struct session *session_hello(const Netstack__Hello *hello, const struct session_peer *peer,
			      const struct session_limits *limits,
			      struct session_reply *out);

/* True for the request bodies session_request() answers (socket requests). */
bool session_is_socket_request(Netstack__Request__BodyCase body);

/*
 * Answer a socket request (socket, bind, connect, listen, setsockopt,
 * getsockopt, getname, shutdown, close, accept) of @s in @out.  Socket ids
 * name only this session's sockets; any other id is EBADF.  Errors are
 * positive errno values in @out->reply.error, as the kernel would return
 * them.  socket and accept pass two eventfds (notify, doorbell) in
 * @out->fds.  accept: EMFILE at max_sockets (the connection stays
 * queued), EAGAIN with nothing to accept, EINVAL if not listening,
 * ENOBUFS if the region is full (the connection is then lost).
 * Returns false if @req is not a socket request (@out untouched).
 */
bool session_request(struct session *s, const Netstack__Request *req,
		     struct session_reply *out);

/*
 * The connection ended (EOF, error, or the process died): drop every
 * socket the process held, as the kernel does at exit, and the region
 * reference.  NULL is a no-op.
 */
void session_destroy(struct session *s);

/* --- for netstackctl ------------------------------------------------------ */

struct session_info {
	pid_t pid;
	uid_t uid;
	gid_t gid;
	char program[SESSION_PROGRAM_LEN];
	unsigned int sockets;
	uint64_t shm_size;
	uint64_t shm_used;              /* of the (possibly shared) region */
};

unsigned int session_count(void);

/* Copy up to @max sessions into @out; returns how many. */
unsigned int session_dump(struct session_info *out, unsigned int max);

/* The pids of the sessions holding socket @sock_id (up to @max); how many. */
unsigned int session_sock_pids(uint64_t sock_id, uint32_t *pids, unsigned int max);

#endif
