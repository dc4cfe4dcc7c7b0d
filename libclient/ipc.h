/*
 * The connection to netstackd (proto/netstack.proto over the SOCK_SEQPACKET
 * socket of proto/ipc.h) and the shared-memory region it hands over.
 *
 * A session is one Hello: a connection, a token and a mapped region.  The
 * process has one current session, opened on first use (the first socket()
 * of a stack family).  If the daemon dies, the session is marked dead: its
 * sockets fail from then on, and the next socket() opens a new session
 * (the old region stays mapped, so late users of old sockets read stale but
 * valid memory instead of faulting).  Session objects are never freed.
 *
 * Requests are serialised per session by a mutex: one request is on the
 * wire at a time, and its reply (same seq) is read before the next is sent.
 *
 * fork(): the pthread_atfork handlers keep the mutex consistent, and the
 * child opens its own connection with Hello{attach_token, attach_socks} so
 * the daemon counts the child's references to the inherited sockets; the
 * region mapping is inherited.  Client context, any thread.
 */
#ifndef NS_LIBCLIENT_IPC_H
#define NS_LIBCLIENT_IPC_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "proto/netstack.pb-c.h"
#include "proto/shm.h"

struct ns_session {
	int fd;                         /* connection; -1 once closed */
	uint64_t token;
	struct ns_shm_hdr *region;      /* mapped MAP_SHARED, size bytes */
	uint64_t size;
	uint32_t max_sockets;
	/* Doorbells (proto/shm.h): eventfds and bitmaps, one per daemon worker. */
	unsigned int nbells;
	int bell_fd[NS_SHM_MAX_BELLS];
	uint32_t bell_slots, bell_stride;
	uint64_t bells_off;
	int dead;                       /* atomic: daemon gone or protocol broken */
	pthread_mutex_t lock;           /* one request at a time */
	uint64_t seq;                   /* under lock */
	unsigned char *buf;             /* NS_IPC_MAX_MSG bytes, under lock */
};

/*
 * The current session, connecting and saying Hello if there is none (or it
 * died).  NULL with *@err a positive errno if the daemon cannot be reached
 * (one line on stderr the first time; see ns_ipc_unreachable_errno).
 */
struct ns_session *ns_session_get(int *err);

/* Doorbell @i's bitmap (i < s->nbells, checked at Hello). */
static inline struct ns_shm_bell *ns_session_bell(struct ns_session *s, uint32_t i)
{
	return (struct ns_shm_bell *)((char *)s->region + s->bells_off +
				      (uint64_t)i * s->bell_stride);
}

/* True if @s can no longer be used (daemon gone, or told us it stopped). */
bool ns_session_dead(struct ns_session *s);

/* Mark @s dead (the connection broke or the daemon misbehaved). */
void ns_session_kill(struct ns_session *s);

/*
 * Send @req (its seq is set here) and read its reply into *@reply (free
 * with netstack__reply__free_unpacked).  Up to @nfds descriptors passed
 * with the reply are stored in @fds (unused slots -1; extra ones are
 * closed).  Returns 0 (check (*reply)->error), or a positive errno if the
 * transport failed: ECONNRESET when the daemon is gone (the session is then
 * dead).
 */
int ns_ipc_call(struct ns_session *s, Netstack__Request *req, Netstack__Reply **reply,
		int *fds, unsigned int nfds);

/*
 * Convenience: call and return the reply's error (positive errno) or the
 * transport error; on 0 *@reply is set (may be NULL if not wanted).
 */
int ns_ipc_simple(struct ns_session *s, Netstack__Request *req, Netstack__Reply **reply);

/* The path clients connect to: $NETSTACK_SOCKET or the default. */
const char *ns_ipc_path(void);

/* pthread_atfork handlers (registered by the library constructor). */
void ns_ipc_atfork_prepare(void);
void ns_ipc_atfork_parent(void);
void ns_ipc_atfork_child(void);

/* Write one line to stderr without stdio: "libnetstack: MSG\n". */
void ns_log_line(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
