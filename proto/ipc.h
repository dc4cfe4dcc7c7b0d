/*
 * IPC constants shared by netstackd, libnetstack.so and netstackctl.
 * Nothing here depends on daemon/ or libclient/.
 */
#ifndef NS_PROTO_IPC_H
#define NS_PROTO_IPC_H

/* Default path of the daemon's SOCK_SEQPACKET Unix socket. */
#define NS_IPC_DEFAULT_SOCKET "/run/netstackd/netstackd.sock"

/* Environment variable that overrides the socket path for clients. */
#define NS_IPC_SOCKET_ENV "NETSTACK_SOCKET"

/* Largest message either side sends or accepts (bytes). */
#define NS_IPC_MAX_MSG (256u * 1024u)

#endif
