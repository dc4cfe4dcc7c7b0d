/*
 * The daemon's control socket: a SOCK_SEQPACKET Unix socket speaking
 * proto/netstack.proto, one message per packet.
 *
 * Everything runs on the control thread's event_base; no function here may
 * be called from a worker.
 */
#ifndef NS_IPC_SERVER_H
#define NS_IPC_SERVER_H

#include <stddef.h>

struct event_base;
struct ipc_server;
struct session_limits;

/*
 * Listen on @path: create its directory if missing (mode 0755), replace a
 * stale socket left by a dead daemon (fail with EADDRINUSE if another one
 * answers), bind, chmod 0660 and, if @group is non-NULL and non-empty, chown
 * the socket to that group (a name, or a number).  Connections are served on
 * @base; client sessions get @limits (copied; NULL: the defaults of
 * session.h).  Returns the server, or NULL with errno set and a one-line
 * explanation in @err (@errlen bytes).  Control thread.
 */
struct ipc_server *ipc_server_start(struct event_base *base, const char *path,
				    const char *group, const struct session_limits *limits,
				    char *err, size_t errlen);

/*
 * Close every connection and the listening socket, remove the socket file
 * if it is still ours, and free @srv.  Closing a client's connection ends
 * its session and releases its sockets, so call this while the workers
 * still run.  NULL is a no-op.  Control thread.
 */
void ipc_server_stop(struct ipc_server *srv);

/* Connections currently open. */
unsigned int ipc_server_nclients(const struct ipc_server *srv);

#endif
