/*
 * Link impairment, a test facility with netem's semantics inside the
 * driver: loss, duplication, corruption, delay and reordering of the frames
 * a device receives (rx: kernel -> stack) or transmits (tx: stack ->
 * kernel), configured by the net.netstack.impair.* sysctls.  It exists so
 * that the lossy-link TCP scenario runs on kernels without sch_netem.
 *
 * The driver calls impair_skb() instead of handing a frame on when
 * impair_enabled() says so; with net.netstack.impair.dir = 0 (the default)
 * the only cost on the data path is that one relaxed load and branch.
 *
 * State is per worker (a PRNG, a delay queue per direction, a timer on the
 * worker's wheel, counters), touched only by its worker; the counters are
 * read from any thread.  impair_flush_dev() runs on the control thread
 * with the workers stopped.
 */
#ifndef NS_DRIVERS_IMPAIR_H
#define NS_DRIVERS_IMPAIR_H

#include <stdbool.h>
#include <stdint.h>

#include "core/counter.h"
#include "core/debug.h"
#include "core/skb.h"
#include "core/sysctl.h"
#include "core/timer.h"

struct net_device;

enum impair_dir {
	IMPAIR_RX = 0,      /* frames from the kernel to the stack */
	IMPAIR_TX = 1,      /* frames from the stack to the kernel */
	IMPAIR_NDIR
};

/* net.netstack.impair.dir: a mask of 1 << enum impair_dir (3: both). */
extern _Atomic int64_t sysctl_impair_dir;

/* Register the net.netstack.impair.* knobs.  Control context, at start-up. */
void impair_init(void);

/* Whether frames of @dir are impaired now: the only fast-path cost. */
static inline bool impair_enabled(enum impair_dir dir)
{
	return ns_unlikely(sysctl_read(&sysctl_impair_dir) & (1 << dir));
}

/* Where a frame goes when it may continue.  Consumes the skb. */
typedef void (*impair_out_fn)(struct sk_buff *skb);

struct impair_out {
	impair_out_fn now;      /* at once, inside the driver's own path */
	impair_out_fn later;    /* from the delay timer, outside it */
};

/*
 * Impair one frame of direction @dir and consume it: it is dropped
 * (reason IMPAIR_LOSS), passed to @out->now (perhaps with a bit flipped,
 * perhaps twice), or held delay_ms and passed to @out->later.  An rx
 * frame comes after eth_type_trans (data at the network header,
 * skb->protocol set), a tx frame with data at the link-layer header.
 * Worker context; on another thread the frame goes to @out->now as it is.
 */
void impair_skb(struct sk_buff *skb, enum impair_dir dir, const struct impair_out *out);

/*
 * Drop the held frames of @dev (reason DEV_READY) and stop the timers
 * that no longer have frames.  Control context, workers stopped, before
 * the device and the workers' timer bases go away.
 */
void impair_flush_dev(struct net_device *dev);

/* --- counters ------------------------------------------------------------- */

#define IMPAIR_STATS(X)                                                        \
	X(LOSS, "Loss")                 /* dropped, reason IMPAIR_LOSS */      \
	X(DUPLICATE, "Duplicate")       /* extra copies made */                \
	X(CORRUPT, "Corrupt")           /* one bit flipped past the IP header */ \
	X(DELAYED, "Delayed")           /* held delay_ms */                    \
	X(REORDER, "Reorder")           /* sent at once, past delayed ones */  \
	X(OVERFLOW, "Overflow")         /* delay queue full, IMPAIR_OVERFLOW */

enum impair_stat {
#define IMPAIR_STAT_ENUM(name, text) IMPAIR_STAT_##name,
	IMPAIR_STATS(IMPAIR_STAT_ENUM)
#undef IMPAIR_STAT_ENUM
	IMPAIR_STAT_MAX
};

/* "RxLoss", "TxCorrupt", ...: the names netstackctl stats shows. */
const char *impair_stat_name(enum impair_dir dir, enum impair_stat stat);

/* Sum over the workers.  Any thread. */
uint64_t impair_stat_fold(enum impair_dir dir, enum impair_stat stat);

/* --- the parts below are exposed for the unit tests ---------------------- */

/* xorshift64*: fast, per worker, good enough to pick fates. */
struct impair_rng {
	uint64_t s;             /* never 0 */
};

void impair_rng_seed(struct impair_rng *r, uint64_t seed);
uint64_t impair_rng_next(struct impair_rng *r);
/* Uniform in [0, n). */
uint32_t impair_rng_below(struct impair_rng *r, uint32_t n);

/* One snapshot of the knobs; rates in basis points (10000 = 100%). */
struct impair_params {
	uint32_t delay_ms;
	uint32_t loss;
	uint32_t duplicate;
	uint32_t reorder;
	uint32_t corrupt;
	uint32_t limit;         /* frames a delay queue holds */
};

void impair_params_read(struct impair_params *p);

/* A frame's fate (impair_decide). */
enum {
	IMPAIR_F_LOSS = 1u << 0,
	IMPAIR_F_DUPLICATE = 1u << 1,
	IMPAIR_F_CORRUPT = 1u << 2,
	IMPAIR_F_DELAY = 1u << 3,       /* hold delay_ms */
	IMPAIR_F_REORDER = 1u << 4,     /* a delay was due: send at once instead */
};

/*
 * Draw one frame's fate as netem_enqueue does: duplicate, then loss (a
 * frame both duplicated and lost goes once, netem's count arithmetic),
 * corrupt, then with a delay: reorder (at once) or delay.  A copy made by
 * duplication draws its own fate with @may_duplicate false.
 */
unsigned int impair_decide(struct impair_rng *r, const struct impair_params *p,
			   bool may_duplicate);

/*
 * Flip one random bit of @skb past its Ethernet and IPv4 headers, within
 * the IP total length (so IP accepts the packet and the TCP/UDP/ICMP
 * checksum catches it).  Frames that are not IPv4 or carry nothing past
 * the IP header are left alone.  @dir says where the data starts (see
 * impair_skb).  A shared buffer is copied first.  Returns true if a bit
 * was flipped.
 */
bool impair_corrupt(struct impair_rng *r, struct sk_buff *skb, enum impair_dir dir);

/* One worker's impairment state; only that worker touches it. */
struct impair_cpu {
	struct impair_rng rng;
	struct sk_buff_head q[IMPAIR_NDIR];     /* held frames by due time */
	struct timer_list timer;                /* armed for the earliest */
	struct timer_base *base;                /* the worker's wheel */
	bool ready;
	ns_counter_t stats[IMPAIR_NDIR][IMPAIR_STAT_MAX];
} __attribute__((aligned(64)));

void impair_cpu_init(struct impair_cpu *pc, struct timer_base *base, uint64_t seed);

/* impair_skb on @pc with the knobs @p at jiffy @now. */
void impair_skb_on(struct impair_cpu *pc, const struct impair_params *p, enum impair_dir dir,
		   struct sk_buff *skb, const struct impair_out *out, uint64_t now);

/* Release the held frames due at @now (what the timer does). */
void impair_release(struct impair_cpu *pc, uint64_t now);

/* Drop held frames (of @dev, or all if NULL) with @reason; disarm if empty. */
void impair_cpu_flush(struct impair_cpu *pc, struct net_device *dev,
		      enum skb_drop_reason reason);

#endif
