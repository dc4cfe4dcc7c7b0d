/*
 * The fd table (see fdtable.h).  Client context, any thread.  Locks: the
 * table's rwlock; nothing is called with it held except ns_fd_foreach's
 * callback.
 *
 * Layout: a two-level array, NS_FD_CHUNK slots per chunk, chunks allocated
 * on first use and never freed, so a reader that loaded a chunk pointer can
 * always dereference it.  Slots are atomic pointers: a lock-free load tells
 * "not ours" (the common case for kernel fds); the read lock protects only
 * the reference increment against a concurrent remove-and-release.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>

#include "fdtable.h"

#define NS_FD_CHUNK_SHIFT 12
#define NS_FD_CHUNK (1u << NS_FD_CHUNK_SHIFT)
#define NS_FD_NCHUNKS 1024u     /* 4M descriptors: beyond any RLIMIT_NOFILE in use */

struct ns_fd_chunk {
	_Atomic(struct ns_file *) slot[NS_FD_CHUNK];
};

static _Atomic(struct ns_fd_chunk *) ns_fd_chunks[NS_FD_NCHUNKS];
/*
 * The table's reader-writer lock, on one atomic word: > 0 readers, -1 a
 * writer.  Not a pthread_rwlock because a forked child must be able to
 * reset it (glibc's rwlock remembers the writer's TID, which the child
 * lacks, and sanitizers keep tracking a pthread lock across fork).
 */
static atomic_int ns_fd_lock;

static void ns_fd_rdlock(void)
{
	for (;;) {
		int v = atomic_load_explicit(&ns_fd_lock, memory_order_relaxed);

		if (v >= 0 && atomic_compare_exchange_weak_explicit(&ns_fd_lock, &v, v + 1,
								    memory_order_acquire,
								    memory_order_relaxed))
			return;
		sched_yield();
	}
}

static void ns_fd_rdunlock(void)
{
	atomic_fetch_sub_explicit(&ns_fd_lock, 1, memory_order_release);
}

static void ns_fd_wrlock(void)
{
	for (;;) {
		int v = 0;

		if (atomic_compare_exchange_weak_explicit(&ns_fd_lock, &v, -1,
							  memory_order_acquire,
							  memory_order_relaxed))
			return;
		sched_yield();
	}
}

static void ns_fd_wrunlock(void)
{
	atomic_store_explicit(&ns_fd_lock, 0, memory_order_release);
}
static atomic_uint ns_fd_used;

void ns_file_init(struct ns_file *f, enum ns_file_kind kind,
		  void (*release)(struct ns_file *f))
{
	f->kind = kind;
	f->release = release;
	__atomic_store_n(&f->refs, 1, __ATOMIC_RELAXED);
}

void ns_file_hold(struct ns_file *f)
{
	__atomic_add_fetch(&f->refs, 1, __ATOMIC_RELAXED);
}

void ns_file_put(struct ns_file *f)
{
	if (!f)
		return;
	if (__atomic_sub_fetch(&f->refs, 1, __ATOMIC_ACQ_REL) == 0 && f->release)
		f->release(f);
}

/* The slot of @fd, allocating its chunk if @create; NULL if none. */
static _Atomic(struct ns_file *) *ns_fd_slot(int fd, bool create)
{
	unsigned int c, i;
	struct ns_fd_chunk *chunk, *expected = NULL;

	if (fd < 0)
		return NULL;
	c = (unsigned int)fd >> NS_FD_CHUNK_SHIFT;
	i = (unsigned int)fd & (NS_FD_CHUNK - 1);
	if (c >= NS_FD_NCHUNKS)
		return NULL;
	chunk = atomic_load_explicit(&ns_fd_chunks[c], memory_order_acquire);
	if (!chunk) {
		if (!create)
			return NULL;
		chunk = calloc(1, sizeof(*chunk));
		if (!chunk)
			return NULL;
		if (!atomic_compare_exchange_strong(&ns_fd_chunks[c], &expected, chunk)) {
			free(chunk);
			chunk = expected;
		}
	}
	return &chunk->slot[i];
}

int ns_fd_install(int fd, struct ns_file *f)
{
	_Atomic(struct ns_file *) *slot;
	struct ns_file *old;

	if (fd < 0)
		return -EBADF;
	slot = ns_fd_slot(fd, true);
	if (!slot)
		return -ENOMEM;
	ns_file_hold(f);
	ns_fd_wrlock();
	old = atomic_exchange(slot, f);
	if (!old)
		atomic_fetch_add(&ns_fd_used, 1);
	ns_fd_wrunlock();
	ns_file_put(old);
	return 0;
}

bool ns_fd_is_ours(int fd)
{
	_Atomic(struct ns_file *) *slot;

	if (atomic_load_explicit(&ns_fd_used, memory_order_relaxed) == 0)
		return false;
	slot = ns_fd_slot(fd, false);
	return slot && atomic_load_explicit(slot, memory_order_relaxed) != NULL;
}

struct ns_file *ns_fd_get(int fd)
{
	_Atomic(struct ns_file *) *slot;
	struct ns_file *f;

	if (!ns_fd_is_ours(fd))
		return NULL;
	slot = ns_fd_slot(fd, false);
	ns_fd_rdlock();
	f = atomic_load_explicit(slot, memory_order_acquire);
	if (f)
		ns_file_hold(f);
	ns_fd_rdunlock();
	return f;
}

struct ns_file *ns_fd_get_kind(int fd, enum ns_file_kind kind)
{
	struct ns_file *f = ns_fd_get(fd);

	if (f && f->kind != kind) {
		ns_file_put(f);
		return NULL;
	}
	return f;
}

struct ns_file *ns_fd_remove(int fd)
{
	_Atomic(struct ns_file *) *slot = ns_fd_slot(fd, false);
	struct ns_file *f;

	if (!slot)
		return NULL;
	ns_fd_wrlock();
	f = atomic_exchange(slot, NULL);
	if (f)
		atomic_fetch_sub(&ns_fd_used, 1);
	ns_fd_wrunlock();
	return f;
}

int ns_fd_foreach(enum ns_file_kind kind, int (*fn)(int fd, struct ns_file *f, void *arg),
		  void *arg)
{
	int ret = 0;

	ns_fd_rdlock();
	for (unsigned int c = 0; c < NS_FD_NCHUNKS && !ret; c++) {
		struct ns_fd_chunk *chunk = atomic_load(&ns_fd_chunks[c]);

		if (!chunk)
			continue;
		for (unsigned int i = 0; i < NS_FD_CHUNK && !ret; i++) {
			struct ns_file *f = atomic_load(&chunk->slot[i]);

			if (f && f->kind == kind)
				ret = fn((int)((c << NS_FD_CHUNK_SHIFT) | i), f, arg);
		}
	}
	ns_fd_rdunlock();
	return ret;
}

unsigned int ns_fd_count(void)
{
	return atomic_load(&ns_fd_used);
}

void ns_fd_atfork_prepare(void)
{
	ns_fd_wrlock();
}

void ns_fd_atfork_parent(void)
{
	ns_fd_wrunlock();
}

void ns_fd_atfork_child(void)
{
	/* The only thread left: release the prepare handler's write lock. */
	atomic_store_explicit(&ns_fd_lock, 0, memory_order_release);
}

void ns_fd_reset(void)
{
	for (unsigned int c = 0; c < NS_FD_NCHUNKS; c++) {
		struct ns_fd_chunk *chunk = atomic_exchange(&ns_fd_chunks[c], NULL);

		free(chunk);
	}
	atomic_store(&ns_fd_used, 0);
}
