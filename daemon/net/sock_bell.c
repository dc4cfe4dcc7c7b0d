/*
 * Doorbells shared by a region's sockets (see sock_bell.h and proto/shm.h).
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "core/debug.h"
#include "log.h"
#include "core/softnet.h"
#include "net/sock_bell.h"
#include "net/socket.h"
#include "proto/shm.h"

_Static_assert(NS_MAX_WORKERS <= NS_SHM_MAX_BELLS, "a doorbell per worker");

/*
 * A slot's socket, if @owner (the owner worker's index + 1; 0: none, so
 * that the calloc'ed table stays untouched zero pages) says whose.
 */
struct bell_slot {
	_Atomic int owner;
	struct sock *sk;
};

/* One doorbell: worker @cpu's eventfd and its bitmap in the region. */
struct bell_line {
	struct ns_irq irq;
	struct sock_bells *set;
	struct ns_shm_bell *shm;
	int fd;
	int cpu;
	bool dead;                      /* owner: freed, ignore late events */
	uint32_t nsum_used;             /* owner: summary words that ever held a
					 * socket of this worker (the scan's end) */
};

struct sock_bells {
	uint32_t slots;
	unsigned int nr;
	_Atomic unsigned int lines_live;        /* lines not yet freed */
	struct bell_slot *table;                /* [slots] */
	struct bell_line line[];                /* [nr] */
};

uint64_t sock_bells_shm_size(uint32_t slots, unsigned int nr)
{
	return ns_bell_size(slots) * nr;
}

/* The irq handler on the line's worker: serve every marked socket of ours. */
static void bell_irq_handler(void *arg)
{
	struct bell_line *l = arg;
	struct sock_bells *b = l->set;
	uint32_t nsum = ns_bell_sum_words(b->slots), nbits = ns_bell_bit_words(b->slots);
	_Atomic uint64_t *sum = l->shm->words, *bits = l->shm->words + nsum;
	eventfd_t v;

	if (l->dead)
		return;
	/* Drain the count: with edge-triggered epoll the next write is a new edge. */
	(void)eventfd_read(l->fd, &v);
	/* From here on a new mark writes the eventfd again (shm.h). */
	atomic_exchange_explicit(&l->shm->rung, 0, memory_order_seq_cst);
	/* Summary words above the highest socket ever bound here match nothing. */
	for (uint32_t i = 0; i < l->nsum_used; i++) {
		uint64_t s;

		if (!atomic_load_explicit(&sum[i], memory_order_relaxed))
			continue;
		s = atomic_exchange_explicit(&sum[i], 0, memory_order_seq_cst);
		while (s) {
			uint32_t w = i * 64 + (uint32_t)__builtin_ctzll(s);
			uint64_t m;

			s &= s - 1;
			if (w >= nbits)
				continue;
			m = atomic_exchange_explicit(&bits[w], 0, memory_order_seq_cst);
			while (m) {
				uint32_t slot = w * 64 + (uint32_t)__builtin_ctzll(m);
				struct bell_slot *e;

				m &= m - 1;
				if (slot >= b->slots)
					continue;
				e = &b->table[slot];
				if (atomic_load_explicit(&e->owner, memory_order_acquire) != l->cpu + 1)
					continue;       /* closed meanwhile, or a stray bit */
				sock_doorbell_handler(e->sk);
			}
		}
	}
}

struct sock_bells *sock_bells_create(void *base, uint64_t off, uint32_t slots, unsigned int nr)
{
	struct ns_shm_hdr *hdr = base;
	struct sock_bells *b;
	char name[32];
	int err;

	if (!nr || nr > NS_SHM_MAX_BELLS || !slots) {
		errno = EINVAL;
		return NULL;
	}
	b = calloc(1, sizeof(*b) + nr * sizeof(b->line[0]));
	if (!b)
		return NULL;
	/* Large and mostly untouched: calloc maps zero pages lazily. */
	b->table = calloc(slots, sizeof(b->table[0]));
	if (!b->table) {
		free(b);
		errno = ENOMEM;
		return NULL;
	}
	b->slots = slots;
	b->nr = nr;
	for (unsigned int i = 0; i < nr; i++) {
		struct bell_line *l = &b->line[i];

		l->set = b;
		l->cpu = (int)i;
		l->shm = (struct ns_shm_bell *)((char *)base + off + i * ns_bell_size(slots));
		l->irq.fd = -1;
		l->fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (l->fd < 0)
			goto err;
		atomic_fetch_add_explicit(&b->lines_live, 1, memory_order_relaxed);
		/* Unit tests run without workers: they call the handlers themselves. */
		if (softnet_get((int)i)) {
			snprintf(name, sizeof(name), "doorbell%u", i);
			err = request_irq(&l->irq, (int)i, l->fd, bell_irq_handler, l, name);
			if (err) {
				l->irq.sd = NULL;
				errno = -err;
				goto err;
			}
		}
	}
	hdr->nr_bells = nr;
	hdr->bells_off = off;
	hdr->bell_stride = (uint32_t)ns_bell_size(slots);
	hdr->bell_slots = slots;
	return b;

err:
	err = errno;
	sock_bells_destroy(b);
	errno = err;
	return NULL;
}

static void bell_line_put(void *arg)
{
	struct bell_line *l = arg;
	struct sock_bells *b = l->set;

	if (l->fd >= 0) {
		close(l->fd);
		l->fd = -1;
	}
	if (atomic_fetch_sub_explicit(&b->lines_live, 1, memory_order_acq_rel) == 1) {
		free(b->table);
		free(b);
	}
}

/* On the line's worker: stop the irq; free after the batch it may sit in. */
static void bell_line_free_on_owner(void *arg)
{
	struct bell_line *l = arg;

	l->dead = true;
	if (l->irq.sd) {
		disable_irq_nosync(&l->irq);
		free_irq(&l->irq);
	}
	if (softnet_defer(bell_line_put, l))
		ns_warn("doorbell: out of memory, a doorbell line leaks");
}

void sock_bells_destroy(struct sock_bells *b)
{
	unsigned int nr, i;

	if (!b)
		return;
	nr = b->nr;
	/* Lines that never got an eventfd count for nothing: drop them first. */
	for (i = 0; i < nr && b->line[i].fd >= 0; i++)
		;
	if (i == 0) {
		free(b->table);
		free(b);
		return;
	}
	b->nr = i;
	nr = i;
	for (i = 0; i < nr; i++) {
		struct bell_line *l = &b->line[i];

		/* The last line's put frees @b: nothing of it is read after that. */
		if (l->irq.sd)
			(void)softnet_call_wait(l->cpu, bell_line_free_on_owner, l);
		else
			bell_line_free_on_owner(l);
	}
}

unsigned int sock_bells_count(const struct sock_bells *b)
{
	return b->nr;
}

int sock_bells_fd(const struct sock_bells *b, unsigned int i)
{
	return i < b->nr ? b->line[i].fd : -1;
}

uint32_t sock_bells_slots(const struct sock_bells *b)
{
	return b->slots;
}

void sock_bells_bind(struct sock_bells *b, uint32_t slot, struct sock *sk)
{
	struct bell_slot *e;

	if (!b || slot >= b->slots)
		return;
	e = &b->table[slot];
	e->sk = sk;
	atomic_store_explicit(&e->owner, sk->owner_cpu + 1, memory_order_release);
	/* Bits above the highest socket ever bound here match nothing: not scanned. */
	if (sk->owner_cpu >= 0 && (unsigned int)sk->owner_cpu < b->nr &&
	    slot / (64 * 64) + 1 > b->line[sk->owner_cpu].nsum_used)
		b->line[sk->owner_cpu].nsum_used = slot / (64 * 64) + 1;
}

void sock_bells_unbind(struct sock_bells *b, uint32_t slot, struct sock *sk)
{
	struct bell_slot *e;

	if (!b || slot >= b->slots)
		return;
	e = &b->table[slot];
	if (e->sk != sk)
		return;
	atomic_store_explicit(&e->owner, 0, memory_order_release);
	e->sk = NULL;
}

void sock_bells_ring(struct sock *sk)
{
	struct sock_bells *b = sk->bells;
	struct bell_line *l;

	if (!b || sk->owner_cpu < 0 || (unsigned int)sk->owner_cpu >= b->nr ||
	    sk->bell_slot >= b->slots)
		return;
	l = &b->line[sk->owner_cpu];
	if (ns_bell_mark(l->shm, b->slots, sk->bell_slot))
		(void)eventfd_write(l->fd, 1);
}
