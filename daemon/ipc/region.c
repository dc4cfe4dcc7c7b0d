/*
 * Client regions: one sealed memfd per client process, mapped MAP_SHARED
 * by the daemon and by the client (proto/shm.h), and the page allocator
 * that carves sockets' control blocks and rings out of it.
 *
 * Runs on the control thread only (the IPC sessions create, allocate and
 * free); nothing here locks.  Workers reach the memory through the
 * pointers the socket layer was given, never through this module.
 *
 * The region's first page holds struct ns_shm_hdr.  Every other page is
 * tracked by one bit of a bitmap kept in daemon memory (set = allocated);
 * a request is served first-fit as one contiguous run.  The client can
 * write anything anywhere in its region, so nothing the allocator relies
 * on is kept there, and memory is zeroed when it is handed out, not when
 * it is given back.  Large runs are zeroed by punching a hole in the memfd
 * (the kernel drops the pages and later reads see zeros), which also gives
 * memory back on free; small ones with memset.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/queue.h>
#include <unistd.h>

#include "core/debug.h"
#include "ipc/region.h"
#include "log.h"
#include "net/sock_bell.h"
#include "proto/shm.h"

/* Runs of at least this many pages are zeroed by hole punching. */
#define REGION_PUNCH_PAGES 16u

/*
 * One region.  Invariants: size is a multiple of NS_SHM_PAGE; page 0 is the
 * header and never allocated; bit i of bitmap covers page i + 1; bits past
 * npages in the last word are set so that they never look free;
 * nallocated counts the set bits below npages; every page below
 * first_free is allocated (searches start there).
 */
struct ns_region {
	LIST_ENTRY(ns_region) entry;    /* on region_list while mapped */
	unsigned int refs;
	int fd;
	void *base;
	uint64_t size;
	size_t npages;                  /* allocatable pages (size / page - 1) */
	size_t nallocated;
	size_t first_free;              /* no free page below this index */
	uint64_t *bitmap;
	struct sock_bells *bells;       /* the sockets' doorbells, if added */
	uint64_t bells_off, bells_bytes;
};

static LIST_HEAD(, ns_region) region_list = LIST_HEAD_INITIALIZER(region_list);

static void __attribute__((format(printf, 3, 4)))
region_set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

struct ns_region *region_create(uint64_t size, char *err, size_t errlen)
{
	struct ns_shm_hdr *hdr;
	struct ns_region *r;
	size_t nwords;
	int e;

	if (size < REGION_MIN_SIZE || size > REGION_MAX_SIZE || size % NS_SHM_PAGE) {
		region_set_err(err, errlen, "region size %llu out of range",
			       (unsigned long long)size);
		errno = EINVAL;
		return NULL;
	}
	r = calloc(1, sizeof(*r));
	if (!r) {
		e = ENOMEM;
		region_set_err(err, errlen, "out of memory");
		goto err;
	}
	r->refs = 1;
	r->size = size;
	r->npages = (size_t)(size / NS_SHM_PAGE) - 1;
	nwords = (r->npages + 63) / 64;
	r->bitmap = calloc(nwords, sizeof(*r->bitmap));
	if (!r->bitmap) {
		e = ENOMEM;
		region_set_err(err, errlen, "out of memory");
		goto err_free_region;
	}
	if (r->npages % 64)
		r->bitmap[nwords - 1] = ~0ull << (r->npages % 64);

	r->fd = memfd_create("netstack-client", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (r->fd < 0) {
		e = errno;
		region_set_err(err, errlen, "memfd_create: %s", strerror(e));
		goto err_free_bitmap;
	}
	if (ftruncate(r->fd, (off_t)size) < 0) {
		e = errno;
		region_set_err(err, errlen, "ftruncate to %llu bytes: %s",
			       (unsigned long long)size, strerror(e));
		goto err_close_fd;
	}
	/* The client can neither resize the file under us nor lift the seals. */
	if (fcntl(r->fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0) {
		e = errno;
		region_set_err(err, errlen, "sealing the region: %s", strerror(e));
		goto err_close_fd;
	}
	r->base = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE,
		       r->fd, 0);
	if (r->base == MAP_FAILED) {
		e = errno;
		region_set_err(err, errlen, "mmap of %llu bytes: %s",
			       (unsigned long long)size, strerror(e));
		goto err_close_fd;
	}

	hdr = r->base;
	hdr->magic = NS_SHM_MAGIC;
	hdr->version = NS_SHM_LAYOUT_VERSION;
	hdr->size = size;
	atomic_store_explicit(&hdr->daemon_alive, 1, memory_order_release);
	LIST_INSERT_HEAD(&region_list, r, entry);
	return r;

err_close_fd:
	close(r->fd);
err_free_bitmap:
	free(r->bitmap);
err_free_region:
	free(r);
err:
	errno = e;
	return NULL;
}

void region_get(struct ns_region *r)
{
	r->refs++;
}

void region_put(struct ns_region *r)
{
	if (!r)
		return;
	NS_ASSERT(r->refs > 0);
	if (--r->refs)
		return;
	if (r->bells) {
		sock_bells_destroy(r->bells);
		region_free(r, r->bells_off, r->bells_bytes);
	}
	if (r->nallocated)
		ns_log(NS_LOG_WARNING, "ipc: region freed with %zu pages still allocated",
		       r->nallocated);
	LIST_REMOVE(r, entry);
	munmap(r->base, r->size);
	close(r->fd);
	free(r->bitmap);
	free(r);
}

int region_add_bells(struct ns_region *r, unsigned int nr)
{
	uint32_t slots = (uint32_t)(r->size / NS_SHM_PAGE);
	uint64_t bytes = sock_bells_shm_size(slots, nr), off;
	int err;

	if (r->bells)
		return -EBUSY;
	err = region_alloc(r, bytes, &off);
	if (err)
		return err;
	r->bells = sock_bells_create(r->base, off, slots, nr);
	if (!r->bells) {
		err = -errno;
		region_free(r, off, bytes);
		return err;
	}
	r->bells_off = off;
	r->bells_bytes = bytes;
	return 0;
}

struct sock_bells *region_bells(const struct ns_region *r)
{
	return r->bells;
}

int region_fd(const struct ns_region *r)
{
	return r->fd;
}

void *region_base(const struct ns_region *r)
{
	return r->base;
}

uint64_t region_size(const struct ns_region *r)
{
	return r->size;
}

uint64_t region_used(const struct ns_region *r)
{
	return ((uint64_t)r->nallocated + 1) * NS_SHM_PAGE;
}

/* --- the bitmap ------------------------------------------------------------ */

static bool region_page_used(const struct ns_region *r, size_t i)
{
	return r->bitmap[i / 64] & (1ull << (i % 64));
}

static void region_mark(struct ns_region *r, size_t first, size_t n, bool used)
{
	size_t i;

	for (i = first; i < first + n; i++) {
		NS_ASSERT(region_page_used(r, i) != used);
		if (used)
			r->bitmap[i / 64] |= 1ull << (i % 64);
		else
			r->bitmap[i / 64] &= ~(1ull << (i % 64));
	}
}

/*
 * First fit: the lowest index of @n free pages in a row, or -1.  The
 * search starts at the word of first_free, skips whole words when full
 * and takes them at once when empty, so a scan costs at most about
 * npages / 64 steps, and a region filled from the front (thousands of
 * connections accepted in a row) costs a few steps per allocation.
 */
static long region_find_run(const struct ns_region *r, size_t n)
{
	size_t i = r->first_free & ~(size_t)63, start = 0, run = 0;

	while (i < r->npages) {
		uint64_t w = r->bitmap[i / 64];

		if (i % 64 == 0 && w == ~0ull) {
			run = 0;
			i += 64;
			continue;
		}
		if (i % 64 == 0 && w == 0 && i + 64 <= r->npages) {
			if (!run)
				start = i;
			run += 64;
			if (run >= n)
				return (long)start;
			i += 64;
			continue;
		}
		if (region_page_used(r, i)) {
			run = 0;
		} else {
			if (!run)
				start = i;
			if (++run == n)
				return (long)start;
		}
		i++;
	}
	return -1;
}

/* Zero [off, off + len): drop the pages if the run is large, else memset. */
static void region_zero(struct ns_region *r, uint64_t off, uint64_t len)
{
	if (len >= (uint64_t)REGION_PUNCH_PAGES * NS_SHM_PAGE &&
	    fallocate(r->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
		      (off_t)off, (off_t)len) == 0)
		return;
	memset((char *)r->base + off, 0, len);
}

int region_alloc(struct ns_region *r, uint64_t bytes, uint64_t *off)
{
	uint64_t npages;
	long first;

	if (!bytes)
		return -EINVAL;
	npages = (bytes + NS_SHM_PAGE - 1) / NS_SHM_PAGE;
	if (npages > r->npages - r->nallocated)
		return -ENOBUFS;
	first = region_find_run(r, (size_t)npages);
	if (first < 0)
		return -ENOBUFS;
	region_mark(r, (size_t)first, (size_t)npages, true);
	r->nallocated += (size_t)npages;
	if ((size_t)first == r->first_free) {
		size_t i = r->first_free + (size_t)npages;

		while (i < r->npages && region_page_used(r, i))
			i = (i % 64 == 0 && r->bitmap[i / 64] == ~0ull) ? i + 64 : i + 1;
		r->first_free = i < r->npages ? i : r->npages;
	}
	*off = ((uint64_t)first + 1) * NS_SHM_PAGE;
	region_zero(r, *off, npages * NS_SHM_PAGE);
	return 0;
}

void region_free(struct ns_region *r, uint64_t off, uint64_t bytes)
{
	uint64_t npages = (bytes + NS_SHM_PAGE - 1) / NS_SHM_PAGE;
	uint64_t first;

	if (!bytes)
		return;
	if (off % NS_SHM_PAGE || off < NS_SHM_PAGE || off / NS_SHM_PAGE - 1 + npages > r->npages) {
		ns_log(NS_LOG_ERR, "ipc: region_free of a run outside the region (off %llu)",
		       (unsigned long long)off);
		NS_ASSERT(0);
		return;
	}
	first = off / NS_SHM_PAGE - 1;
	region_mark(r, (size_t)first, (size_t)npages, false);
	r->nallocated -= (size_t)npages;
	if ((size_t)first < r->first_free)
		r->first_free = (size_t)first;
	/* Best effort: the memory goes back to the kernel now. */
	if (npages >= REGION_PUNCH_PAGES)
		fallocate(r->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
			  (off_t)off, (off_t)(npages * NS_SHM_PAGE));
}

void region_mark_all_dead(void)
{
	struct ns_region *r;

	LIST_FOREACH(r, &region_list, entry) {
		struct ns_shm_hdr *hdr = r->base;

		atomic_store_explicit(&hdr->daemon_alive, 0, memory_order_seq_cst);
	}
}
