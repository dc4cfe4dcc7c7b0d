/*
 * A client process's shared-memory region (proto/shm.h): a sealed memfd
 * mapped in the daemon, its header, and the daemon-private page allocator
 * that places sockets' control blocks and rings in it.
 *
 * Control thread only; no locks.  The allocator's state lives in daemon
 * memory, never in the region, so a client that scribbles over its region
 * cannot corrupt it.
 */
#ifndef NS_DAEMON_IPC_REGION_H
#define NS_DAEMON_IPC_REGION_H

#include <stddef.h>
#include <stdint.h>

struct ns_region;

/* Limits on the configured region size (client_shm_mb). */
#define REGION_MIN_SIZE (1ull << 20)
#define REGION_MAX_SIZE (65536ull << 20)

/*
 * Create a region of @size bytes (a multiple of NS_SHM_PAGE, within
 * REGION_MIN_SIZE..REGION_MAX_SIZE): a memfd sealed against shrinking,
 * growing and further seals, mapped shared, its header written with
 * daemon_alive = 1.  The region starts with one reference.  Returns it, or
 * NULL with errno set and a one-line reason in @err.
 */
struct ns_region *region_create(uint64_t size, char *err, size_t errlen);

/* Take a reference (a forked child's session shares its parent's region). */
void region_get(struct ns_region *r);

/*
 * Drop a reference; the last one unmaps the region and closes its memfd.
 * Every allocation should have been freed by then.  NULL is a no-op.
 */
void region_put(struct ns_region *r);

struct sock_bells;

/*
 * Give the region its sockets' doorbells (net/sock_bell.h): @nr of them
 * (one per worker), their bitmaps allocated in the region.  They live as
 * long as the region.  0 or -errno.
 */
int region_add_bells(struct ns_region *r, unsigned int nr);

/* The doorbells, or NULL before region_add_bells(). */
struct sock_bells *region_bells(const struct ns_region *r);

/* The memfd, to pass to the client; the region keeps ownership. */
int region_fd(const struct ns_region *r);

/* The daemon's mapping and its size in bytes. */
void *region_base(const struct ns_region *r);
uint64_t region_size(const struct ns_region *r);

/* Bytes in use: the header page plus every allocated page. */
uint64_t region_used(const struct ns_region *r);

/*
 * Allocate @bytes (rounded up to whole pages) as one contiguous run and
 * zero it.  On success stores the run's offset from the region start in
 * *@off and returns 0; -ENOBUFS if no run is free, -EINVAL for 0 bytes.
 */
int region_alloc(struct ns_region *r, uint64_t bytes, uint64_t *off);

/*
 * Free a run that region_alloc() returned with the same @bytes.  Its
 * pages go back to the kernel (hole punching), so an idle client costs
 * little memory.
 */
void region_free(struct ns_region *r, uint64_t off, uint64_t bytes);

/*
 * Clear daemon_alive in every live region so that clients see the daemon
 * go away before their connections close.  Shutdown, control thread.
 */
void region_mark_all_dead(void);

#endif
