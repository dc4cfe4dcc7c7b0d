/*
 * Packet buffers (struct sk_buff) and their per-worker pools.
 *
 * An skb is a header (this struct) that points into a data buffer:
 *
 *   head            data                 tail           end
 *    |  headroom     |   len bytes        |   tailroom    | shinfo |
 *
 * Invariants: head <= data <= head + tail <= head + end, and
 * len == tail - (data - head) + data_len.  The bytes between data and tail
 * are the linear part (skb_headlen); a non-linear skb (data_len > 0)
 * carries the rest of its bytes in skb_shinfo(skb)->frag_list, a chain of
 * linear skbs (linked by ->next) whose data..data+len follow each other in
 * order, as the kernel's frag_list does.  GRO builds such skbs (the first
 * segment keeps its headers in the linear part, each further segment's
 * payload is one frag_list member), and the same shape will carry TSO/GRO
 * super-frames from a virtio_net_hdr TAP: gso_size (payload bytes per
 * segment), gso_segs and gso_type in skb_shared_info describe how the skb
 * splits back into wire segments (skb_gso_segment).
 *
 * Every header a protocol parses lies in the linear part (skb_may_pull
 * checks against skb_headlen); a consumer that reads payload uses
 * skb_copy_bits / skb_checksum, walks the pieces (skb_walk_frags), or
 * calls skb_linearize first.  A data buffer may be shared by several
 * headers (skb_clone); its skb_shared_info.dataref counts them, the
 * frag_list belongs to the buffer (freed with its last reference), and a
 * cloned buffer must not be written (skb_cow_data first).
 *
 * Pools: every worker thread owns a pool (skb_pool_set_current); headers and
 * buffers come from its free lists with no lock and no malloc per packet.
 * A buffer freed by another thread (after an RPS hand-off) goes back to its
 * owner's lock-free "remote" stack, which the owner reclaims in one atomic
 * exchange when its local list runs dry.  Pools grow by whole chunks up to a
 * byte limit; past it, allocation fails and the caller counts a drop.
 *
 * Context: any thread that has a current pool; freeing works from any thread.
 */
#ifndef NS_CORE_SKB_H
#define NS_CORE_SKB_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "core/counter.h"
#include "core/drop.h"

struct net_device;
struct skb_pool;

/* Headroom reserved by drivers so that the stack can push headers. */
#define NET_SKB_PAD 128u

#define SKB_HDR_UNSET 0xffffu

/* skb->pkt_type, as in linux/if_packet.h. */
enum {
	PACKET_HOST = 0,
	PACKET_BROADCAST = 1,
	PACKET_MULTICAST = 2,
	PACKET_OTHERHOST = 3,
	PACKET_OUTGOING = 4,
	PACKET_LOOPBACK = 5,
};

/* skb->ip_summed */
enum {
	CHECKSUM_NONE = 0,        /* nothing verified: software must check */
	CHECKSUM_UNNECESSARY = 1, /* device or earlier stage verified it */
};

/* skb_shinfo(skb)->gso_type, as the kernel's SKB_GSO_* bits. */
enum {
	SKB_GSO_TCPV4 = 1u << 0,
	SKB_GSO_TCP_FIXEDID = 1u << 1,  /* the segments share one IP id (DF set) */
};

struct skb_shared_info {
	_Atomic uint32_t dataref;   /* headers pointing at this buffer */
	uint16_t gso_size;          /* payload bytes per segment of a super-frame */
	uint16_t gso_segs;          /* wire segments it stands for (0: not GSO) */
	uint16_t gso_type;          /* SKB_GSO_* */
	uint8_t size_class;
	struct skb_pool *pool;      /* owner of the buffer */
	struct sk_buff *frag_list;  /* the rest of the data (non-linear skb) */
};

struct sk_buff {
	struct sk_buff *next;       /* list linkage while queued */
	struct net_device *dev;     /* device received on / to send on */
	unsigned char *head;
	unsigned char *data;
	uint32_t tail;              /* offset of the end of data from head */
	uint32_t end;               /* offset of the shared info from head */
	uint32_t len;               /* all bytes: linear part + data_len */
	uint32_t data_len;          /* bytes in the frag_list (0: linear) */
	uint32_t hash;              /* flow hash, valid if l4_hash */
	uint16_t protocol;          /* ethertype, network byte order */
	uint16_t mac_header;        /* offsets from head, SKB_HDR_UNSET */
	uint16_t network_header;
	uint16_t transport_header;
	uint16_t queue_mapping;     /* RX/TX queue index */
	uint8_t pkt_type;
	uint8_t ip_summed;
	uint8_t l4_hash : 1;
	uint8_t cloned : 1;
	uint8_t trace_pkt;          /* packet index in the trace record */
	uint16_t trace;             /* packet trace slot (core/trace.h), 0: none;
				     * clones and copies do not inherit it */
	uint64_t tstamp_us;         /* arrival time at the driver */
	struct skb_pool *pool;      /* owner of this header */
	/* Control block: private to the layer that currently holds the skb;
	 * zero when alloc_skb hands the skb out. */
	_Alignas(8) unsigned char cb[48];
};

/* A FIFO of skbs.  Not locked: its owner serialises access. */
struct sk_buff_head {
	struct sk_buff *head;
	struct sk_buff *tail;
	uint32_t qlen;
};

struct skb_pool_stats {
	uint64_t allocs;
	uint64_t frees;
	uint64_t remote_frees;
	uint64_t alloc_failures;
	uint64_t chunks;
	uint64_t bytes_reserved;
};

/*
 * Create a pool that may reserve up to @max_bytes of memory (0: 256 MiB).
 * Returns NULL on allocation failure.  Control context.
 */
struct skb_pool *skb_pool_create(const char *name, size_t max_bytes);

/* Free a pool.  Every skb allocated from it must have been freed. */
void skb_pool_destroy(struct skb_pool *pool);

/* Make @pool the calling thread's allocation pool (NULL to clear). */
void skb_pool_set_current(struct skb_pool *pool);
struct skb_pool *skb_pool_current(void);

/* Snapshot of a pool's counters (approximate while the owner runs). */
void skb_pool_get_stats(const struct skb_pool *pool, struct skb_pool_stats *st);

/* Headers and buffers currently handed out by @pool. */
uint64_t skb_pool_in_use(const struct skb_pool *pool);

/*
 * Allocate an skb with room for @size bytes (headroom + data + tailroom)
 * from the calling thread's pool.  data == head, len == 0.  Returns NULL if
 * the thread has no pool, the size is over the largest class (64 KiB) or the
 * pool is at its limit.
 */
struct sk_buff *alloc_skb(uint32_t size);

/* alloc_skb with NET_SKB_PAD headroom reserved, for drivers. */
struct sk_buff *netdev_alloc_skb(struct net_device *dev, uint32_t len);

/* Free an skb that was handled normally (not a drop). */
void consume_skb(struct sk_buff *skb);

/*
 * Free an skb that is being dropped and count @reason on the calling
 * worker's drop table.  Every drop point in the stack calls this.
 */
void kfree_skb_reason(struct sk_buff *skb, enum skb_drop_reason reason);

/*
 * A new header sharing @skb's data buffer (read-only for both).  Returns
 * NULL on pool exhaustion.
 */
struct sk_buff *skb_clone(struct sk_buff *skb);

/*
 * Copy @from's metadata to @to (the kernel's __copy_skb_header): device,
 * protocol, packet type, queue, timestamp, flow hash, checksum state and
 * the control block.  Not the data, the header offsets or the GSO fields.
 */
void skb_copy_header(struct sk_buff *to, const struct sk_buff *from);

/*
 * A private, writable copy of header and data.  NULL on failure.  The
 * copy of a non-linear skb is linear.
 */
struct sk_buff *skb_copy(const struct sk_buff *skb);

/*
 * Make @skb's data private (copy if cloned) so it may be written.
 * Returns 0 or -ENOMEM (the skb is then unchanged).
 */
int skb_cow_data(struct sk_buff *skb);

/* Data buffer reference count (1 unless cloned). */
uint32_t skb_dataref(const struct sk_buff *skb);

static inline struct skb_shared_info *skb_shinfo(const struct sk_buff *skb)
{
	return (struct skb_shared_info *)(skb->head + skb->end);
}

/* Bytes in the linear part (from data to tail). */
static inline uint32_t skb_headlen(const struct sk_buff *skb)
{
	return skb->len - skb->data_len;
}

static inline bool skb_is_nonlinear(const struct sk_buff *skb)
{
	return skb->data_len != 0;
}

/* A super-frame standing for several wire segments (GRO or TSO). */
static inline bool skb_is_gso(const struct sk_buff *skb)
{
	return skb_shinfo(skb)->gso_size != 0;
}

/* Segments @skb counts for in the MIBs (InSegs, InReceives): at least 1. */
static inline uint32_t skb_gso_segs(const struct sk_buff *skb)
{
	uint16_t n = skb_shinfo(skb)->gso_segs;

	return n ? n : 1;
}

/* Iterate over the frag_list members of @skb (each one linear). */
#define skb_walk_frags(skb, iter) \
	for ((iter) = skb_shinfo(skb)->frag_list; (iter); (iter) = (iter)->next)

/*
 * Copy @len bytes from @offset (counted from skb->data, across the
 * frag_list) to @to.  Returns 0, or -EFAULT if the range is beyond the
 * skb (nothing is then guaranteed about @to).
 */
int skb_copy_bits(const struct sk_buff *skb, uint32_t offset, void *to, uint32_t len);

/*
 * One's-complement sum (csum_partial) of @len bytes from @offset, across
 * the frag_list, added to @sum.  The range must lie inside the skb.
 */
uint32_t skb_checksum(const struct sk_buff *skb, uint32_t offset, uint32_t len, uint32_t sum);

/*
 * Make @skb linear: copy all its bytes (with its headroom) into one new
 * buffer from the large class and release the old buffer and frag_list.
 * Header offsets keep their meaning.  Returns 0 (also for a linear skb)
 * or -ENOMEM (the skb is then unchanged).
 */
int skb_linearize(struct sk_buff *skb);

/*
 * Cut @skb to @len bytes, linear or not (a shared non-linear skb is made
 * linear first).  Returns 0 or -ENOMEM (unchanged).
 */
int pskb_trim(struct sk_buff *skb, uint32_t len);

static inline uint32_t skb_headroom(const struct sk_buff *skb)
{
	return (uint32_t)(skb->data - skb->head);
}

static inline uint32_t skb_tailroom(const struct sk_buff *skb)
{
	return skb->end - skb->tail;
}

static inline unsigned char *skb_tail_pointer(const struct sk_buff *skb)
{
	return skb->head + skb->tail;
}

/* Move data and tail forward to make @len bytes of headroom.  Empty skb only. */
static inline void skb_reserve(struct sk_buff *skb, uint32_t len)
{
	skb->data += len;
	skb->tail += len;
}

/*
 * Extend the data at the tail by @len bytes and return a pointer to them,
 * or NULL (and no change) if the tailroom is too small.
 */
static inline void *skb_put(struct sk_buff *skb, uint32_t len)
{
	unsigned char *p;

	if (len > skb_tailroom(skb))
		return NULL;
	p = skb_tail_pointer(skb);
	skb->tail += len;
	skb->len += len;
	return p;
}

static inline void *skb_put_data(struct sk_buff *skb, const void *src, uint32_t len)
{
	void *p = skb_put(skb, len);

	if (p)
		memcpy(p, src, len);
	return p;
}

/* Extend the data at the head; NULL (no change) if the headroom is short. */
static inline void *skb_push(struct sk_buff *skb, uint32_t len)
{
	if (len > skb_headroom(skb))
		return NULL;
	skb->data -= len;
	skb->len += len;
	return skb->data;
}

/* Remove @len bytes from the head; NULL (no change) if len > skb_headlen. */
static inline void *skb_pull(struct sk_buff *skb, uint32_t len)
{
	if (len > skb_headlen(skb))
		return NULL;
	skb->data += len;
	skb->len -= len;
	return skb->data;
}

/* Cut the data of a linear skb to @len bytes (no-op if already shorter). */
static inline void skb_trim(struct sk_buff *skb, uint32_t len)
{
	if (len < skb->len && !skb->data_len) {
		skb->tail -= skb->len - len;
		skb->len = len;
	}
}

/*
 * True if at least @len bytes of data are present in the linear part,
 * where headers are read in place.  (The kernel's pskb_may_pull would
 * pull them in from the frags; our non-linear skbs always carry their
 * headers linear, so a short linear part means a bad packet.)
 */
static inline bool skb_may_pull(const struct sk_buff *skb, uint32_t len)
{
	return len <= skb_headlen(skb);
}

static inline void skb_reset_mac_header(struct sk_buff *skb)
{
	skb->mac_header = (uint16_t)(skb->data - skb->head);
}

static inline void skb_reset_network_header(struct sk_buff *skb)
{
	skb->network_header = (uint16_t)(skb->data - skb->head);
}

static inline void skb_reset_transport_header(struct sk_buff *skb)
{
	skb->transport_header = (uint16_t)(skb->data - skb->head);
}

static inline void skb_set_transport_header(struct sk_buff *skb, uint32_t off)
{
	skb->transport_header = (uint16_t)(skb->data - skb->head + off);
}

static inline unsigned char *skb_mac_header(const struct sk_buff *skb)
{
	return skb->head + skb->mac_header;
}

static inline unsigned char *skb_network_header(const struct sk_buff *skb)
{
	return skb->head + skb->network_header;
}

static inline unsigned char *skb_transport_header(const struct sk_buff *skb)
{
	return skb->head + skb->transport_header;
}

static inline uint32_t skb_network_offset(const struct sk_buff *skb)
{
	return (uint32_t)(skb_network_header(skb) - skb->data);
}

/* --- queues ------------------------------------------------------------- */

static inline void skb_queue_head_init(struct sk_buff_head *list)
{
	list->head = list->tail = NULL;
	list->qlen = 0;
}

static inline uint32_t skb_queue_len(const struct sk_buff_head *list)
{
	return list->qlen;
}

static inline bool skb_queue_empty(const struct sk_buff_head *list)
{
	return list->qlen == 0;
}

static inline void __skb_queue_tail(struct sk_buff_head *list, struct sk_buff *skb)
{
	skb->next = NULL;
	if (list->tail)
		list->tail->next = skb;
	else
		list->head = skb;
	list->tail = skb;
	list->qlen++;
}

/* Put @skb at the front of @list (a requeued frame goes out first). */
static inline void __skb_queue_head(struct sk_buff_head *list, struct sk_buff *skb)
{
	skb->next = list->head;
	list->head = skb;
	if (!list->tail)
		list->tail = skb;
	list->qlen++;
}

static inline struct sk_buff *__skb_dequeue(struct sk_buff_head *list)
{
	struct sk_buff *skb = list->head;

	if (!skb)
		return NULL;
	list->head = skb->next;
	if (!list->head)
		list->tail = NULL;
	list->qlen--;
	skb->next = NULL;
	return skb;
}

/* Move all of @list to the tail of @head; @list becomes empty. */
static inline void skb_queue_splice_tail_init(struct sk_buff_head *list,
					      struct sk_buff_head *head)
{
	if (!list->qlen)
		return;
	if (head->tail)
		head->tail->next = list->head;
	else
		head->head = list->head;
	head->tail = list->tail;
	head->qlen += list->qlen;
	skb_queue_head_init(list);
}

/* Free every skb on @list with @reason (SKB_CONSUMED: not a drop). */
void skb_queue_purge_reason(struct sk_buff_head *list, enum skb_drop_reason reason);

#endif
