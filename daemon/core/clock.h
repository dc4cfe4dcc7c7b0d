/*
 * Monotonic time for the stack.  Timers count in jiffies of one millisecond;
 * traces and budgets use microseconds.  Any thread may call these.
 */
#ifndef NS_CORE_CLOCK_H
#define NS_CORE_CLOCK_H

#include <stdint.h>
#include <time.h>

#define NS_HZ 1000u

static inline uint64_t ns_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static inline uint64_t ns_now_us(void)
{
	return ns_now_ns() / 1000u;
}

/* Milliseconds since an arbitrary epoch: the kernel's jiffies at HZ=1000. */
static inline uint64_t ns_jiffies(void)
{
	return ns_now_ns() / 1000000u;
}

static inline uint64_t ns_msecs_to_jiffies(uint64_t ms)
{
	return ms;
}

#endif
