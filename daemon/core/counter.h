/*
 * Counters written by one thread and read by others.
 *
 * Every packet-path counter in netstackd has exactly one writer: the worker
 * that owns it (per-worker MIB, per-worker device stats, per-worker drop
 * reasons), as the kernel's per-CPU counters do.  The writer updates with a
 * relaxed load and store (plain moves on x86, no locked instruction); the
 * control thread reads with a relaxed load and sums across workers.  This is
 * race-free under the C11 model and therefore clean under ThreadSanitizer.
 */
#ifndef NS_CORE_COUNTER_H
#define NS_CORE_COUNTER_H

#include <stdatomic.h>
#include <stdint.h>

typedef _Atomic uint64_t ns_counter_t;

/* Add @n to a counter owned by the calling thread. */
static inline void ns_counter_add(ns_counter_t *c, uint64_t n)
{
	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + n,
			      memory_order_relaxed);
}

static inline void ns_counter_inc(ns_counter_t *c)
{
	ns_counter_add(c, 1);
}

/* Read a counter from any thread. */
static inline uint64_t ns_counter_read(const ns_counter_t *c)
{
	return atomic_load_explicit((ns_counter_t *)c, memory_order_relaxed);
}

/* Counters with several writers (rare: start-up, control thread). */
static inline void ns_counter_add_shared(ns_counter_t *c, uint64_t n)
{
	atomic_fetch_add_explicit(c, n, memory_order_relaxed);
}

#endif
