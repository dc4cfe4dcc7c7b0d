/*
 * Link impairment inside the driver: netem's loss, duplicate, corrupt,
 * delay and reorder, applied to frames between a TAP queue and the stack.
 * It stands in for `tc qdisc ... netem` on the kernel side of the TAP where
 * the kernel has no sch_netem; it is a test facility, off by default.
 *
 * Context: impair_skb runs on a worker, inside the driver's NAPI poll (rx)
 * or transmit (tx); held frames leave from the worker's timer, in
 * do_softirq before net_rx_action.  Everything but the counters belongs
 * to one worker and takes no lock; impair_flush_dev runs on the control
 * thread once the workers have stopped.
 *
 * Semantics follow the kernel's netem_enqueue (net/sched/sch_netem.c), in
 * its order of decisions, with rates in basis points:
 *  - duplicate: a private copy of the frame goes through the rest on its
 *    own (its own loss, corrupt and delay draws, never duplicated again);
 *  - loss: the frame is dropped, reason IMPAIR_LOSS; a frame drawn both
 *    duplicated and lost goes once, as netem's packet count makes it;
 *  - corrupt: one random bit is flipped.  netem flips a bit anywhere in
 *    the frame; here only past the Ethernet and IPv4 headers, within the
 *    IP total length.  A flip in the IP header would only test IP's header
 *    checksum, one in Ethernet padding or an ARP packet tests nothing
 *    (no checksum covers it; a flipped ARP address would merely poison a
 *    neighbour cache); past the IP header every flip reaches the
 *    TCP/UDP/ICMP checksum, which is what a lossy-link test wants to see
 *    working.  Frames that are not IPv4 are left intact;
 *  - delay: the frame is held delay_ms in a per-worker queue sorted by due
 *    time (netem's tfifo), released by a timer on the worker's wheel (1 ms
 *    slots, so the hold is delay_ms to delay_ms + 1 ms);
 *  - reorder: with a delay, that share of frames goes at once and the
 *    rest is delayed; tc's "reorder P" with its implied gap 1.  Without a
 *    delay there is nothing to overtake and reorder does nothing.
 * The queue of each worker and direction holds at most
 * net.netstack.impair.limit frames; beyond, the frame is dropped with
 * reason IMPAIR_OVERFLOW.  No jitter, rate, correlation or loss models.
 *
 * Device counters stay the driver's: an rx frame lost here was received
 * (rx_packets) and a tx frame lost here was never written (no tx_packets).
 */
#include <arpa/inet.h>
#include <stddef.h>
#include <string.h>
#include <sys/random.h>

#include "core/clock.h"
#include "core/netdev.h"
#include "core/softnet.h"
#include "drivers/impair.h"
#include "log.h"

#define IMPAIR_BP 10000u                /* basis points in 100% */
#define IMPAIR_ETH_HLEN 14u
#define IMPAIR_VLAN_HLEN 4u
#define IMPAIR_ETH_P_IP 0x0800u
#define IMPAIR_ETH_P_8021Q 0x8100u

_Atomic int64_t sysctl_impair_dir;
static _Atomic int64_t sysctl_impair_delay_ms;
static _Atomic int64_t sysctl_impair_loss;
static _Atomic int64_t sysctl_impair_duplicate;
static _Atomic int64_t sysctl_impair_reorder;
static _Atomic int64_t sysctl_impair_corrupt;
static _Atomic int64_t sysctl_impair_limit = 10000;

static const struct ctl_table impair_table[] = {
	{ "net.netstack.impair.dir", &sysctl_impair_dir, 0, 3, 0,
	  "test link impairment on TAP frames: 0 off, 1 received, 2 sent, 3 both" },
	{ "net.netstack.impair.delay_ms", &sysctl_impair_delay_ms, 0, 10000, 0,
	  "milliseconds an impaired frame is held (netem delay)" },
	{ "net.netstack.impair.loss", &sysctl_impair_loss, 0, IMPAIR_BP, 0,
	  "basis points of impaired frames dropped (netem loss; 200 = 2%)" },
	{ "net.netstack.impair.duplicate", &sysctl_impair_duplicate, 0, IMPAIR_BP, 0,
	  "basis points of impaired frames sent twice (netem duplicate)" },
	{ "net.netstack.impair.reorder", &sysctl_impair_reorder, 0, IMPAIR_BP, 0,
	  "basis points of frames sent at once while the rest wait delay_ms (netem reorder)" },
	{ "net.netstack.impair.corrupt", &sysctl_impair_corrupt, 0, IMPAIR_BP, 0,
	  "basis points of impaired frames with one bit flipped past the IP header" },
	{ "net.netstack.impair.limit", &sysctl_impair_limit, 1, 1000000, 10000,
	  "frames one worker holds per direction for the delay (netem limit)" },
	{ NULL, NULL, 0, 0, 0, NULL },
};

static const char *const impair_stat_names[IMPAIR_NDIR][IMPAIR_STAT_MAX] = {
	[IMPAIR_RX] = {
#define IMPAIR_STAT_RX(name, text) "Rx" text,
		IMPAIR_STATS(IMPAIR_STAT_RX)
#undef IMPAIR_STAT_RX
	},
	[IMPAIR_TX] = {
#define IMPAIR_STAT_TX(name, text) "Tx" text,
		IMPAIR_STATS(IMPAIR_STAT_TX)
#undef IMPAIR_STAT_TX
	},
};

/* What a held frame carries in skb->cb while the driver still owns it. */
struct impair_cb {
	uint64_t due;                   /* jiffy it may continue */
	impair_out_fn out;
};

NS_BUILD_BUG_ON(sizeof(struct impair_cb) > sizeof(((struct sk_buff *)0)->cb),
		"impair_cb does not fit in skb->cb");

static struct impair_cpu impair_pcpu[NS_MAX_WORKERS];

static struct impair_cb *impair_cb(struct sk_buff *skb)
{
	return (struct impair_cb *)skb->cb;
}

void impair_init(void)
{
	sysctl_register(impair_table);
}

void impair_params_read(struct impair_params *p)
{
	p->delay_ms = (uint32_t)sysctl_read(&sysctl_impair_delay_ms);
	p->loss = (uint32_t)sysctl_read(&sysctl_impair_loss);
	p->duplicate = (uint32_t)sysctl_read(&sysctl_impair_duplicate);
	p->reorder = (uint32_t)sysctl_read(&sysctl_impair_reorder);
	p->corrupt = (uint32_t)sysctl_read(&sysctl_impair_corrupt);
	p->limit = (uint32_t)sysctl_read(&sysctl_impair_limit);
}

const char *impair_stat_name(enum impair_dir dir, enum impair_stat stat)
{
	if ((unsigned)dir >= IMPAIR_NDIR || (unsigned)stat >= IMPAIR_STAT_MAX)
		return "Invalid";
	return impair_stat_names[dir][stat];
}

uint64_t impair_stat_fold(enum impair_dir dir, enum impair_stat stat)
{
	uint64_t sum = 0;

	if ((unsigned)dir >= IMPAIR_NDIR || (unsigned)stat >= IMPAIR_STAT_MAX)
		return 0;
	for (unsigned int i = 0; i < NS_MAX_WORKERS; i++)
		sum += ns_counter_read(&impair_pcpu[i].stats[dir][stat]);
	return sum;
}

/* --- random fates ------------------------------------------------------- */

void impair_rng_seed(struct impair_rng *r, uint64_t seed)
{
	/* xorshift is stuck at 0; any other state runs the full period. */
	r->s = seed ? seed : 0x9e3779b97f4a7c15ull;
}

uint64_t impair_rng_next(struct impair_rng *r)
{
	uint64_t x = r->s;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	r->s = x;
	return x * 0x2545f4914f6cdd1dull;
}

uint32_t impair_rng_below(struct impair_rng *r, uint32_t n)
{
	/* The high half is the better half of xorshift64*; scale, no modulo. */
	return (uint32_t)(((impair_rng_next(r) >> 32) * (uint64_t)n) >> 32);
}

static bool impair_chance(struct impair_rng *r, uint32_t bp)
{
	return bp && impair_rng_below(r, IMPAIR_BP) < bp;
}

unsigned int impair_decide(struct impair_rng *r, const struct impair_params *p,
			   bool may_duplicate)
{
	unsigned int f = 0;

	if (may_duplicate && impair_chance(r, p->duplicate))
		f |= IMPAIR_F_DUPLICATE;
	if (impair_chance(r, p->loss)) {
		/* netem: count = 1 + dup - loss; 0 drops, 2 clones, 1 sends once. */
		if (f & IMPAIR_F_DUPLICATE)
			f &= ~IMPAIR_F_DUPLICATE;
		else
			return IMPAIR_F_LOSS;
	}
	if (impair_chance(r, p->corrupt))
		f |= IMPAIR_F_CORRUPT;
	if (p->delay_ms) {
		/* netem with gap 1: "reorder" percent go now, the rest wait. */
		if (impair_chance(r, p->reorder))
			f |= IMPAIR_F_REORDER;
		else
			f |= IMPAIR_F_DELAY;
	}
	return f;
}

bool impair_corrupt(struct impair_rng *r, struct sk_buff *skb, enum impair_dir dir)
{
	const uint8_t *d = skb->data;
	uint32_t len = skb->len, off = 0, ihl, end, pos;
	uint16_t proto;

	if (dir == IMPAIR_TX) {
		if (len < IMPAIR_ETH_HLEN)
			return false;
		proto = (uint16_t)(d[12] << 8 | d[13]);
		off = IMPAIR_ETH_HLEN;
		if (proto == IMPAIR_ETH_P_8021Q) {
			if (len < IMPAIR_ETH_HLEN + IMPAIR_VLAN_HLEN)
				return false;
			proto = (uint16_t)(d[16] << 8 | d[17]);
			off += IMPAIR_VLAN_HLEN;
		}
	} else {
		proto = ntohs(skb->protocol);
	}
	if (proto != IMPAIR_ETH_P_IP || len < off + 20 || (d[off] >> 4) != 4)
		return false;
	ihl = (d[off] & 0x0fu) * 4u;
	end = off + ((uint32_t)d[off + 2] << 8 | d[off + 3]);
	if (end > len)
		end = len;
	if (ihl < 20 || off + ihl >= end)
		return false;
	/* A tx frame may share its buffer (a clone kept for retransmission). */
	if (skb_cow_data(skb) < 0)
		return false;
	pos = off + ihl + impair_rng_below(r, end - off - ihl);
	skb->data[pos] ^= (uint8_t)(1u << impair_rng_below(r, 8));
	return true;
}

/* --- the delay queue ---------------------------------------------------- */

static void impair_timer(struct timer_list *t);

void impair_cpu_init(struct impair_cpu *pc, struct timer_base *base, uint64_t seed)
{
	impair_rng_seed(&pc->rng, seed);
	for (unsigned int d = 0; d < IMPAIR_NDIR; d++)
		skb_queue_head_init(&pc->q[d]);
	timer_setup(&pc->timer, impair_timer);
	pc->base = base;
	pc->ready = true;
}

/* Arm the timer for the earliest held frame, or disarm it. */
static void impair_arm(struct impair_cpu *pc)
{
	uint64_t due = UINT64_MAX;

	for (unsigned int d = 0; d < IMPAIR_NDIR; d++)
		if (pc->q[d].head && impair_cb(pc->q[d].head)->due < due)
			due = impair_cb(pc->q[d].head)->due;
	if (due == UINT64_MAX)
		del_timer_on(pc->base, &pc->timer);
	else if (!timer_pending(&pc->timer) || pc->timer.expires != due)
		mod_timer_on(pc->base, &pc->timer, due);
}

/* Insert @skb by due time, after frames due at the same time (stable). */
static void impair_queue_sorted(struct sk_buff_head *q, struct sk_buff *skb)
{
	uint64_t due = impair_cb(skb)->due;
	struct sk_buff *prev = NULL, *cur;

	if (!q->tail || impair_cb(q->tail)->due <= due) {
		__skb_queue_tail(q, skb);
		return;
	}
	/* Only after delay_ms was lowered: walk to the insertion point. */
	for (cur = q->head; cur && impair_cb(cur)->due <= due; cur = cur->next)
		prev = cur;
	skb->next = cur;
	if (prev)
		prev->next = skb;
	else
		q->head = skb;
	q->qlen++;
}

static void impair_hold(struct impair_cpu *pc, const struct impair_params *p,
			enum impair_dir dir, struct sk_buff *skb, const struct impair_out *out,
			uint64_t now)
{
	struct sk_buff_head *q = &pc->q[dir];
	struct impair_cb *cb = impair_cb(skb);

	if (skb_queue_len(q) >= p->limit) {
		ns_counter_inc(&pc->stats[dir][IMPAIR_STAT_OVERFLOW]);
		kfree_skb_reason(skb, SKB_DROP_REASON_IMPAIR_OVERFLOW);
		return;
	}
	cb->due = now + ns_msecs_to_jiffies(p->delay_ms);
	cb->out = out->later;
	impair_queue_sorted(q, skb);
	ns_counter_inc(&pc->stats[dir][IMPAIR_STAT_DELAYED]);
	if (!timer_pending(&pc->timer) || cb->due < pc->timer.expires)
		mod_timer_on(pc->base, &pc->timer, cb->due);
}

/* Carry out the fate @f of one frame. */
static void impair_one(struct impair_cpu *pc, const struct impair_params *p,
		       enum impair_dir dir, struct sk_buff *skb, const struct impair_out *out,
		       uint64_t now, unsigned int f)
{
	if (f & IMPAIR_F_LOSS) {
		ns_counter_inc(&pc->stats[dir][IMPAIR_STAT_LOSS]);
		kfree_skb_reason(skb, SKB_DROP_REASON_IMPAIR_LOSS);
		return;
	}
	if ((f & IMPAIR_F_CORRUPT) && impair_corrupt(&pc->rng, skb, dir))
		ns_counter_inc(&pc->stats[dir][IMPAIR_STAT_CORRUPT]);
	if (f & IMPAIR_F_DELAY) {
		impair_hold(pc, p, dir, skb, out, now);
		return;
	}
	if (f & IMPAIR_F_REORDER)
		ns_counter_inc(&pc->stats[dir][IMPAIR_STAT_REORDER]);
	out->now(skb);
}

void impair_skb_on(struct impair_cpu *pc, const struct impair_params *p, enum impair_dir dir,
		   struct sk_buff *skb, const struct impair_out *out, uint64_t now)
{
	unsigned int f = impair_decide(&pc->rng, p, true);

	if (f & IMPAIR_F_DUPLICATE) {
		/* A copy, not a clone: either may have a bit flipped on its own. */
		struct sk_buff *copy = skb_copy(skb);

		if (copy) {
			ns_counter_inc(&pc->stats[dir][IMPAIR_STAT_DUPLICATE]);
			impair_one(pc, p, dir, copy, out, now, impair_decide(&pc->rng, p, false));
		}
	}
	impair_one(pc, p, dir, skb, out, now, f);
}

void impair_release(struct impair_cpu *pc, uint64_t now)
{
	for (unsigned int d = 0; d < IMPAIR_NDIR; d++) {
		struct sk_buff *skb;

		/*
		 * Re-read the head each time: a released rx frame may make the
		 * stack transmit, and that frame may be held on the tx queue.
		 */
		while ((skb = pc->q[d].head) != NULL && impair_cb(skb)->due <= now) {
			impair_out_fn out = impair_cb(skb)->out;

			__skb_dequeue(&pc->q[d]);
			memset(skb->cb, 0, sizeof(skb->cb));
			out(skb);
		}
	}
	impair_arm(pc);
}

static void impair_timer(struct timer_list *t)
{
	struct impair_cpu *pc = ns_container_of(t, struct impair_cpu, timer);

	/*
	 * The timer was armed for the earliest frame; a late run fires each
	 * following jiffy's slot in the same run_timers, so its own expiry is
	 * "now" for the frames.
	 */
	impair_release(pc, t->expires);
}

void impair_cpu_flush(struct impair_cpu *pc, struct net_device *dev,
		      enum skb_drop_reason reason)
{
	if (!pc->ready)
		return;
	for (unsigned int d = 0; d < IMPAIR_NDIR; d++) {
		struct sk_buff_head keep;
		struct sk_buff *skb;

		skb_queue_head_init(&keep);
		while ((skb = __skb_dequeue(&pc->q[d])) != NULL) {
			if (!dev || skb->dev == dev)
				kfree_skb_reason(skb, reason);
			else
				__skb_queue_tail(&keep, skb);
		}
		skb_queue_splice_tail_init(&keep, &pc->q[d]);
	}
	impair_arm(pc);
	/* Nothing held: the next use starts afresh on whatever wheel then runs. */
	if (!pc->q[IMPAIR_RX].qlen && !pc->q[IMPAIR_TX].qlen)
		pc->ready = false;
}

void impair_flush_dev(struct net_device *dev)
{
	for (unsigned int i = 0; i < NS_MAX_WORKERS; i++)
		impair_cpu_flush(&impair_pcpu[i], dev, SKB_DROP_REASON_DEV_READY);
}

/* --- the driver's entry ------------------------------------------------- */

static struct impair_cpu *impair_this_cpu(void)
{
	struct softnet_data *sd = this_softnet();
	struct impair_cpu *pc;
	uint64_t seed;

	if (!sd)
		return NULL;
	pc = &impair_pcpu[sd->cpu];
	if (ns_unlikely(!pc->ready)) {
		if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) != (ssize_t)sizeof(seed))
			seed = ns_now_ns() ^ ((uint64_t)sd->cpu << 48);
		impair_cpu_init(pc, &sd->timers, seed);
	}
	return pc;
}

void impair_skb(struct sk_buff *skb, enum impair_dir dir, const struct impair_out *out)
{
	struct impair_cpu *pc = impair_this_cpu();
	struct impair_params p;

	if (!pc) {
		out->now(skb);
		return;
	}
	impair_params_read(&p);
	impair_skb_on(pc, &p, dir, skb, out, ns_jiffies());
}
