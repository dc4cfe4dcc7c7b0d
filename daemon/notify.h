/*
 * sd_notify(3) for Type=notify services: READY=1, STOPPING=1, STATUS=...
 * Implemented directly on the documented datagram protocol so that the
 * daemon needs no libsystemd for it.  Control thread.
 */
#ifndef NS_NOTIFY_H
#define NS_NOTIFY_H

/*
 * Send @state to $NOTIFY_SOCKET.  Returns 1 if sent, 0 if NOTIFY_SOCKET is
 * unset, or -errno.
 */
int ns_sd_notify(const char *state);

#endif
