/*
 * Invariant checks.  NS_ASSERT is compiled into debug and test builds
 * (NETSTACK_DEBUG) and is a no-op otherwise; nothing on the data path aborts
 * in a release build.  NS_BUILD_BUG_ON locks layouts at compile time.
 */
#ifndef NS_CORE_DEBUG_H
#define NS_CORE_DEBUG_H

#include <assert.h>

#ifdef NETSTACK_DEBUG
#define NS_ASSERT(cond) assert(cond)
#else
#define NS_ASSERT(cond) ((void)0)
#endif

#define NS_BUILD_BUG_ON(cond, msg) _Static_assert(!(cond), msg)

#define NS_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define ns_container_of(ptr, type, member) \
	((type *)((char *)(ptr) - offsetof(type, member)))

#define ns_likely(x) __builtin_expect(!!(x), 1)
#define ns_unlikely(x) __builtin_expect(!!(x), 0)

#endif
