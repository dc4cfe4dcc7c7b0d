/*
 * Packet buffer pools and the skb operations that need more than a line.
 *
 * Context: allocation on the thread that owns the pool (its current pool);
 * freeing from any thread.  No locks: a pool's local free lists are touched
 * only by its owner, and other threads return objects through a lock-free
 * stack that the owner empties with one atomic exchange (a single consumer
 * that takes the whole stack cannot suffer ABA).
 *
 * Memory comes in chunks of many objects; a chunk is never returned to the
 * system before the pool is destroyed, so steady state does no malloc.
 */
#include <errno.h>
#include <stdlib.h>

#include "core/checksum.h"
#include "core/debug.h"
#include "core/netdev.h"
#include "core/skb.h"
#include "core/trace.h"

/* Data buffer size classes, each including the skb_shared_info at the end. */
static const uint32_t skb_class_size[] = { 2048, 16384, 65536 + 1024 };
#define SKB_NCLASSES NS_ARRAY_SIZE(skb_class_size)
#define SKB_HEAD_CLASS SKB_NCLASSES /* free list index for headers */

struct skb_free_obj {
	struct skb_free_obj *next;
};

struct skb_chunk {
	struct skb_chunk *next;
};

struct skb_freelist {
	struct skb_free_obj *local;         /* owner only */
	_Atomic(struct skb_free_obj *) remote; /* other threads push here */
	uint32_t obj_size;
	uint32_t per_chunk;
};

struct skb_pool {
	char name[32];
	size_t max_bytes;
	struct skb_freelist lists[SKB_NCLASSES + 1];
	struct skb_chunk *chunks;
	ns_counter_t allocs;
	ns_counter_t frees;         /* by the owner */
	ns_counter_t remote_frees;  /* by other threads (shared add) */
	ns_counter_t alloc_failures;
	ns_counter_t nchunks;
	ns_counter_t bytes_reserved;
};

static _Thread_local struct skb_pool *current_pool;
static _Thread_local bool current_pool_set;

NS_BUILD_BUG_ON(sizeof(struct skb_shared_info) > 64, "shinfo grew");
NS_BUILD_BUG_ON(sizeof(struct sk_buff) > 256, "sk_buff grew past 4 cache lines");

struct skb_pool *skb_pool_create(const char *name, size_t max_bytes)
{
	struct skb_pool *pool = calloc(1, sizeof(*pool));

	if (!pool)
		return NULL;
	for (size_t i = 0; i + 1 < sizeof(pool->name) && name && name[i]; i++)
		pool->name[i] = name[i];
	pool->max_bytes = max_bytes ? max_bytes : (size_t)256 << 20;
	for (unsigned c = 0; c < SKB_NCLASSES; c++) {
		pool->lists[c].obj_size = skb_class_size[c];
		pool->lists[c].per_chunk = c == 0 ? 256 : (c == 1 ? 32 : 8);
	}
	pool->lists[SKB_HEAD_CLASS].obj_size =
		(uint32_t)((sizeof(struct sk_buff) + 63) & ~(size_t)63);
	pool->lists[SKB_HEAD_CLASS].per_chunk = 256;
	return pool;
}

void skb_pool_destroy(struct skb_pool *pool)
{
	struct skb_chunk *c, *next;

	if (!pool)
		return;
	for (c = pool->chunks; c; c = next) {
		next = c->next;
		free(c);
	}
	if (current_pool == pool)
		current_pool = NULL;
	free(pool);
}

void skb_pool_set_current(struct skb_pool *pool)
{
	current_pool = pool;
	current_pool_set = pool != NULL;
}

struct skb_pool *skb_pool_current(void)
{
	return current_pool;
}

void skb_pool_get_stats(const struct skb_pool *pool, struct skb_pool_stats *st)
{
	st->allocs = ns_counter_read(&pool->allocs);
	st->frees = ns_counter_read(&pool->frees);
	st->remote_frees = ns_counter_read(&pool->remote_frees);
	st->alloc_failures = ns_counter_read(&pool->alloc_failures);
	st->chunks = ns_counter_read(&pool->nchunks);
	st->bytes_reserved = ns_counter_read(&pool->bytes_reserved);
}

uint64_t skb_pool_in_use(const struct skb_pool *pool)
{
	struct skb_pool_stats st;

	skb_pool_get_stats(pool, &st);
	return st.allocs - st.frees - st.remote_frees;
}

/* Carve a new chunk of objects onto the local free list.  Owner only. */
static int skb_pool_grow(struct skb_pool *pool, struct skb_freelist *fl)
{
	size_t bytes = sizeof(struct skb_chunk) + 64 + (size_t)fl->obj_size * fl->per_chunk;
	struct skb_chunk *chunk;
	unsigned char *base;

	if (ns_counter_read(&pool->bytes_reserved) + bytes > pool->max_bytes)
		return -ENOMEM;
	chunk = malloc(bytes);
	if (!chunk)
		return -ENOMEM;
	chunk->next = pool->chunks;
	pool->chunks = chunk;
	base = (unsigned char *)(((uintptr_t)(chunk + 1) + 63) & ~(uintptr_t)63);
	for (uint32_t i = 0; i < fl->per_chunk; i++) {
		struct skb_free_obj *o = (struct skb_free_obj *)(base + (size_t)i * fl->obj_size);

		o->next = fl->local;
		fl->local = o;
	}
	ns_counter_inc(&pool->nchunks);
	ns_counter_add(&pool->bytes_reserved, bytes);
	return 0;
}

static void *skb_pool_get(struct skb_pool *pool, unsigned cls)
{
	struct skb_freelist *fl = &pool->lists[cls];
	struct skb_free_obj *o = fl->local;

	if (!o) {
		o = atomic_exchange_explicit(&fl->remote, NULL, memory_order_acquire);
		if (!o && skb_pool_grow(pool, fl) == 0)
			o = fl->local;
		if (!o) {
			ns_counter_inc(&pool->alloc_failures);
			return NULL;
		}
	}
	fl->local = o->next;
	ns_counter_inc(&pool->allocs);
	return o;
}

static void skb_pool_put(struct skb_pool *pool, unsigned cls, void *obj)
{
	struct skb_freelist *fl = &pool->lists[cls];
	struct skb_free_obj *o = obj;

	if (current_pool_set && current_pool == pool) {
		o->next = fl->local;
		fl->local = o;
		ns_counter_inc(&pool->frees);
		return;
	}
	o->next = atomic_load_explicit(&fl->remote, memory_order_relaxed);
	while (!atomic_compare_exchange_weak_explicit(&fl->remote, &o->next, o,
						      memory_order_release,
						      memory_order_relaxed))
		;
	ns_counter_add_shared(&pool->remote_frees, 1);
}

static struct sk_buff *skb_head_alloc(struct skb_pool *pool)
{
	struct sk_buff *skb = skb_pool_get(pool, SKB_HEAD_CLASS);

	if (!skb)
		return NULL;
	/* The control block too, as the kernel's __alloc_skb clears it. */
	memset(skb, 0, sizeof(*skb));
	skb->pool = pool;
	skb->mac_header = SKB_HDR_UNSET;
	skb->network_header = SKB_HDR_UNSET;
	skb->transport_header = SKB_HDR_UNSET;
	return skb;
}

struct sk_buff *alloc_skb(uint32_t size)
{
	struct skb_pool *pool = current_pool;
	struct skb_shared_info *sh;
	struct sk_buff *skb;
	unsigned char *data;
	unsigned cls;

	if (!pool)
		return NULL;
	for (cls = 0; cls < SKB_NCLASSES; cls++)
		if (size + sizeof(struct skb_shared_info) <= skb_class_size[cls])
			break;
	if (cls == SKB_NCLASSES) {
		ns_counter_inc(&pool->alloc_failures);
		return NULL;
	}
	skb = skb_head_alloc(pool);
	if (!skb)
		return NULL;
	data = skb_pool_get(pool, cls);
	if (!data) {
		skb_pool_put(pool, SKB_HEAD_CLASS, skb);
		return NULL;
	}
	skb->head = skb->data = data;
	skb->tail = 0;
	skb->end = skb_class_size[cls] - (uint32_t)sizeof(struct skb_shared_info);
	sh = skb_shinfo(skb);
	atomic_init(&sh->dataref, 1);
	sh->gso_size = sh->gso_segs = sh->gso_type = 0;
	sh->frag_list = NULL;
	sh->pool = pool;
	sh->size_class = (uint8_t)cls;
	return skb;
}

struct sk_buff *netdev_alloc_skb(struct net_device *dev, uint32_t len)
{
	struct sk_buff *skb = alloc_skb(len + NET_SKB_PAD);

	if (skb) {
		skb_reserve(skb, NET_SKB_PAD);
		skb->dev = dev;
	}
	return skb;
}

static void skb_free(struct sk_buff *skb);

/* Free a chain of skbs linked by ->next (a frag_list): they were consumed. */
static void kfree_skb_list(struct sk_buff *list)
{
	while (list) {
		struct sk_buff *next = list->next;

		skb_free(list);
		list = next;
	}
}

/* Drop one reference to the data buffer at @head; the last frees it and its frag_list. */
static void skb_release_buffer(unsigned char *head, uint32_t end)
{
	struct skb_shared_info *sh = (struct skb_shared_info *)(head + end);

	if (atomic_fetch_sub_explicit(&sh->dataref, 1, memory_order_acq_rel) == 1) {
		struct sk_buff *frags = sh->frag_list;

		sh->frag_list = NULL;
		skb_pool_put(sh->pool, sh->size_class, head);
		kfree_skb_list(frags);
	}
}

static void skb_release_data(struct sk_buff *skb)
{
	skb_release_buffer(skb->head, skb->end);
}

static void skb_free(struct sk_buff *skb)
{
	skb_release_data(skb);
	skb_pool_put(skb->pool, SKB_HEAD_CLASS, skb);
}

void consume_skb(struct sk_buff *skb)
{
	if (!skb)
		return;
	if (ns_unlikely(skb->trace))
		__skb_trace_end(skb, SKB_DROP_REASON_CONSUMED);
	skb_free(skb);
}

void kfree_skb_reason(struct sk_buff *skb, enum skb_drop_reason reason)
{
	if (!skb)
		return;
	if (reason != SKB_DROP_REASON_CONSUMED)
		drop_count(reason);
	/* A traced packet's journey ends here, with the reason as its last stage. */
	if (ns_unlikely(skb->trace))
		__skb_trace_end(skb, reason);
	skb_free(skb);
}

void skb_queue_purge_reason(struct sk_buff_head *list, enum skb_drop_reason reason)
{
	struct sk_buff *skb;

	while ((skb = __skb_dequeue(list)) != NULL)
		kfree_skb_reason(skb, reason);
}

uint32_t skb_dataref(const struct sk_buff *skb)
{
	return atomic_load_explicit(&skb_shinfo(skb)->dataref, memory_order_relaxed);
}

struct sk_buff *skb_clone(struct sk_buff *skb)
{
	struct skb_pool *pool = current_pool ? current_pool : skb->pool;
	struct sk_buff *n;

	if (!current_pool)
		return NULL;
	n = skb_head_alloc(pool);
	if (!n)
		return NULL;
	memcpy(n, skb, sizeof(*n));
	n->next = NULL;
	n->pool = pool;
	n->trace = 0;       /* a tap's or a queue's copy: not the traced packet */
	atomic_fetch_add_explicit(&skb_shinfo(skb)->dataref, 1, memory_order_relaxed);
	skb->cloned = 1;
	n->cloned = 1;
	return n;
}

void skb_copy_header(struct sk_buff *to, const struct sk_buff *from)
{
	to->dev = from->dev;
	to->protocol = from->protocol;
	to->pkt_type = from->pkt_type;
	to->ip_summed = from->ip_summed;
	to->queue_mapping = from->queue_mapping;
	to->tstamp_us = from->tstamp_us;
	to->hash = from->hash;
	to->l4_hash = from->l4_hash;
	memcpy(to->cb, from->cb, sizeof(to->cb));
}

struct sk_buff *skb_copy(const struct sk_buff *skb)
{
	uint32_t headroom = skb_headroom(skb);
	struct sk_buff *n;
	unsigned char *head;
	uint32_t end, tail;

	/* A non-linear skb's copy is linear: headroom, then every byte. */
	n = alloc_skb(skb->data_len ? headroom + skb->len : skb->end);
	if (!n)
		return NULL;
	head = n->head;
	end = n->end;
	tail = skb->tail;
	memcpy(head, skb->head, skb->tail);
	if (skb->data_len) {
		(void)skb_copy_bits(skb, skb_headlen(skb), head + skb->tail, skb->data_len);
		tail += skb->data_len;
	}
	{
		struct skb_pool *pool = n->pool;

		memcpy(n, skb, offsetof(struct sk_buff, pool));
		n->pool = pool;
	}
	memcpy(n->cb, skb->cb, sizeof(n->cb));
	n->next = NULL;
	n->head = head;
	n->end = end;
	n->tail = tail;
	n->data = head + headroom;
	n->data_len = 0;
	n->cloned = 0;
	n->trace = 0;
	skb_shinfo(n)->gso_size = skb_shinfo(skb)->gso_size;
	skb_shinfo(n)->gso_segs = skb_shinfo(skb)->gso_segs;
	skb_shinfo(n)->gso_type = skb_shinfo(skb)->gso_type;
	return n;
}

/* Put @n's (private) buffer into @skb, dropping @skb's old buffer reference; frees @n's header. */
static void skb_take_buffer(struct sk_buff *skb, struct sk_buff *n)
{
	unsigned char *old_head = skb->head;
	uint32_t old_end = skb->end;

	skb->head = n->head;
	skb->data = n->data;
	skb->tail = n->tail;
	skb->end = n->end;
	skb->data_len = n->data_len;
	skb->cloned = 0;
	skb_release_buffer(old_head, old_end);
	/* n's header goes back; its buffer now belongs to skb. */
	skb_pool_put(n->pool, SKB_HEAD_CLASS, n);
}

int skb_cow_data(struct sk_buff *skb)
{
	struct sk_buff *n;

	if (skb_dataref(skb) == 1) {
		skb->cloned = 0;
		return 0;
	}
	n = skb_copy(skb);
	if (!n)
		return -ENOMEM;
	skb_take_buffer(skb, n);
	return 0;
}

int skb_linearize(struct sk_buff *skb)
{
	struct sk_buff *n;

	if (!skb->data_len)
		return 0;
	n = skb_copy(skb);
	if (!n)
		return -ENOMEM;
	skb_take_buffer(skb, n);
	return 0;
}

int pskb_trim(struct sk_buff *skb, uint32_t len)
{
	struct skb_shared_info *sh = skb_shinfo(skb);
	struct sk_buff **pp, *f;
	uint32_t left;

	if (len >= skb->len)
		return 0;
	if (!skb->data_len) {
		skb_trim(skb, len);
		return 0;
	}
	/* The frag_list belongs to the buffer: a shared one is not ours to cut. */
	if (skb_dataref(skb) > 1 && skb_linearize(skb))
		return -ENOMEM;
	if (!skb->data_len) {
		skb_trim(skb, len);
		return 0;
	}
	if (len <= skb_headlen(skb)) {
		skb->tail -= skb_headlen(skb) - len;
		left = 0;
		skb->len = len;
		skb->data_len = 0;
	} else {
		left = len - skb_headlen(skb);
		skb->data_len = left;
		skb->len = len;
	}
	/* Keep @left bytes of the frag_list; free the members past them. */
	pp = &sh->frag_list;
	while ((f = *pp) != NULL && left) {
		if (f->len >= left) {
			skb_trim(f, left);
			left = 0;
		} else {
			left -= f->len;
		}
		pp = &f->next;
	}
	f = *pp;
	*pp = NULL;
	kfree_skb_list(f);
	return 0;
}

int skb_copy_bits(const struct sk_buff *skb, uint32_t offset, void *to, uint32_t len)
{
	uint32_t headlen = skb_headlen(skb);
	unsigned char *out = to;
	const struct sk_buff *f;

	if ((uint64_t)offset + len > skb->len)
		return -EFAULT;
	if (offset < headlen) {
		uint32_t n = headlen - offset < len ? headlen - offset : len;

		memcpy(out, skb->data + offset, n);
		out += n;
		len -= n;
		offset = 0;
	} else {
		offset -= headlen;
	}
	skb_walk_frags(skb, f) {
		uint32_t n;

		if (!len)
			break;
		if (offset >= f->len) {
			offset -= f->len;
			continue;
		}
		n = f->len - offset < len ? f->len - offset : len;
		memcpy(out, f->data + offset, n);
		out += n;
		len -= n;
		offset = 0;
	}
	return len ? -EFAULT : 0;
}

uint32_t skb_checksum(const struct sk_buff *skb, uint32_t offset, uint32_t len, uint32_t sum)
{
	uint32_t headlen = skb_headlen(skb), pos = 0;
	const struct sk_buff *f;

	if (offset < headlen) {
		uint32_t n = headlen - offset < len ? headlen - offset : len;

		sum = csum_partial(skb->data + offset, n, sum);
		pos = n;
		len -= n;
		offset = 0;
	} else {
		offset -= headlen;
	}
	skb_walk_frags(skb, f) {
		uint32_t n;

		if (!len)
			break;
		if (offset >= f->len) {
			offset -= f->len;
			continue;
		}
		n = f->len - offset < len ? f->len - offset : len;
		sum = csum_block_add(sum, csum_partial(f->data + offset, n, 0), pos);
		pos += n;
		len -= n;
		offset = 0;
	}
	return sum;
}
