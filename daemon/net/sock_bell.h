/*
 * Doorbells: how a client tells the daemon "look at this socket's rings".
 *
 * One set per client region: an eventfd per worker (in that worker's
 * epoll, as an irq line) and, in the region, a bitmap per worker whose
 * bits are sockets' slots (proto/shm.h, ns_bell_mark).  A socket's slot is
 * its control block's page index in the region.  The client marks the
 * slot and writes the eventfd of the socket's owner worker; the worker's
 * irq handler takes the marked bits and runs each socket's
 * sock_doorbell_handler().  So a socket costs one descriptor on each side
 * (its notify eventfd), not three, and 10,000 connections fit in the
 * descriptor limits a container gives.
 *
 * Trust: the bitmap is client memory.  The daemon maps a slot to a socket
 * only through its own table (struct sock_bells.slots), filled when a
 * socket is attached; bits without a socket of that worker are ignored.
 *
 * Threads: create and destroy on the control thread; bind, unbind, ring
 * and the handler on the socket's owner worker.  A slot's table entry is
 * written only by its socket's owner (owner id published last with
 * release order), and a worker reads an entry's socket only after reading
 * its own id as the owner, so no lock is needed.
 */
#ifndef NS_DAEMON_NET_SOCK_BELL_H
#define NS_DAEMON_NET_SOCK_BELL_H

#include <stddef.h>
#include <stdint.h>

struct sock;
struct sock_bells;

/* Region bytes the bitmaps of @nr doorbells over @slots slots need. */
uint64_t sock_bells_shm_size(uint32_t slots, unsigned int nr);

/*
 * Create the doorbells of a region mapped at @base: @nr eventfds (one per
 * worker; @nr is nr_workers, at least 1) registered on their workers (when
 * workers exist), bitmaps at @base + @off over @slots slots (zeroed by the
 * caller), and the region header's doorbell fields.  NULL with errno set.
 */
struct sock_bells *sock_bells_create(void *base, uint64_t off, uint32_t slots, unsigned int nr);

/* Stop and free them; every socket must be unbound.  NULL is a no-op. */
void sock_bells_destroy(struct sock_bells *b);

unsigned int sock_bells_count(const struct sock_bells *b);
/* Doorbell @i's eventfd, to pass to the client; the set keeps ownership. */
int sock_bells_fd(const struct sock_bells *b, unsigned int i);
uint32_t sock_bells_slots(const struct sock_bells *b);

/* On @sk's owner: @sk is the socket at @slot / no longer is. */
void sock_bells_bind(struct sock_bells *b, uint32_t slot, struct sock *sk);
void sock_bells_unbind(struct sock_bells *b, uint32_t slot, struct sock *sk);

/*
 * On @sk's owner: ring @sk's doorbell as the client would, so that its
 * handler runs again after the worker's other work (a tx budget ran out).
 */
void sock_bells_ring(struct sock *sk);

#endif
