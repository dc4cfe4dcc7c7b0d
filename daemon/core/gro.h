/*
 * Generic receive offload (the kernel's net/core/gro.c): a NAPI poll hands
 * each frame to napi_gro_receive(), which merges consecutive in-order TCP
 * segments of one flow into one non-linear skb before netif_receive_skb,
 * so that the stack above runs once per burst instead of once per frame.
 *
 * The core knows no protocol: handlers register by ethertype
 * (dev_add_offload; IPv4 in net/ipv4/ip_offload.c, which dispatches on the
 * IP protocol to TCP in net/ipv4/tcp_offload.c).  A NAPI context holds at
 * most MAX_GRO_SKBS flows (napi->gro_skbs, oldest first); a full list
 * sends its oldest flow up.  Everything held goes up at the end of each
 * NAPI poll (napi_gro_flush, also from napi_complete_done), and a flow
 * goes up as soon as a segment cannot be merged into it.  The merged skb
 * keeps the first segment's headers, linear, with the rest of the payload
 * in its frag_list; gso_size, gso_segs and gso_type say how it splits
 * back (skb_gso_segment, used when such a packet is forwarded).
 *
 * net.netstack.gro = 0 turns merging off (every frame goes straight to
 * netif_receive_skb, as with `ethtool -K dev gro off`).
 *
 * Context: the worker that polls the NAPI context; no locks.  Offload
 * handlers are registered at start-up before workers run.
 */
#ifndef NS_CORE_GRO_H
#define NS_CORE_GRO_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/skb.h"

struct napi_struct;

/* The largest merged packet, from its network header (an IPv4 total length). */
#define GRO_MAX_SIZE 65535u

/* How an IPv4 flow's ids may advance (napi_gro_cb.id_modes). */
enum {
	GRO_ID_INCR = 1u << 0,          /* id of segment k is first id + k */
	GRO_ID_FIXED = 1u << 1,         /* all the same, with DF (RFC 6864 atomic) */
};

/*
 * skb->cb while GRO owns the skb (NAPI_GRO_CB).  "Held" fields describe a
 * flow's skb on the list; the others the new skb being offered.
 */
struct napi_gro_cb {
	struct sk_buff *last;           /* held: last frag_list member, NULL if none */
	uint32_t csum;                  /* L4 payload partial sum (held: all merged) */
	uint16_t data_offset;           /* new: bytes of headers parsed so far */
	uint16_t count;                 /* held: segments in it (>= 1) */
	uint8_t same_flow;              /* held: may belong to the new skb's flow */
	uint8_t flush;                  /* held: L3 fields differ; new: never hold */
	uint8_t merged;                 /* new: it was merged into a held skb */
	uint8_t id_modes;               /* held: GRO_ID_* still possible */
	uint8_t id_match;               /* held: GRO_ID_* the new skb's id fits */
};

_Static_assert(sizeof(struct napi_gro_cb) <= sizeof(((struct sk_buff *)0)->cb),
	       "napi_gro_cb must fit skb->cb");

#define NAPI_GRO_CB(skb) ((struct napi_gro_cb *)(void *)(skb)->cb)

/*
 * An offload handler's receive step.  @held are the @n skbs on the list;
 * the handler parses @skb from NAPI_GRO_CB(skb)->data_offset, may merge it
 * into one of them (skb_gro_receive) and returns the held skb that must go
 * up now (or NULL).  It sets NAPI_GRO_CB(skb)->flush when @skb must not be
 * held.
 */
typedef struct sk_buff *(*gro_receive_fn)(struct sk_buff *const *held, unsigned int n,
					  struct sk_buff *skb);
/* Finish a merged skb (lengths, checksums) whose header is at @nhoff.  0 or -errno. */
typedef int (*gro_complete_fn)(struct sk_buff *skb, uint32_t nhoff);
/* Split a super-frame (data at its network header) into a list of wire packets. */
typedef struct sk_buff *(*gso_segment_fn)(struct sk_buff *skb);

struct packet_offload {
	uint16_t type;                  /* ethertype, network order */
	gro_receive_fn gro_receive;
	gro_complete_fn gro_complete;
	gso_segment_fn gso_segment;
	struct packet_offload *next;
};

/* net.netstack.gro: 1 merges, 0 passes every frame straight up. */
extern _Atomic int64_t sysctl_gro;

/* Register @po at start-up (control thread, before workers run). */
void dev_add_offload(struct packet_offload *po);
void dev_remove_offload(struct packet_offload *po);

/* Register net.netstack.gro.  Control context, at start-up. */
void gro_init(void);

/*
 * NAPI entry for drivers: offer @skb (data at its network header, after
 * type_trans) to GRO; it is merged, held, or passed to netif_receive_skb.
 * Consumes @skb.  Worker context, inside @napi's poll.  Returns 0.
 */
int napi_gro_receive(struct napi_struct *napi, struct sk_buff *skb);

/* Send everything @napi holds up the stack, oldest first.  Worker context. */
void napi_gro_flush(struct napi_struct *napi);

/*
 * Merge @skb (linear; its payload starts NAPI_GRO_CB(skb)->data_offset
 * bytes into its data) at the end of held skb @p.  Returns 0 (@skb now
 * belongs to @p's frag_list) or -E2BIG (@p would exceed GRO_MAX_SIZE;
 * nothing changed).
 */
int skb_gro_receive(struct sk_buff *p, struct sk_buff *skb);

/*
 * skb_gso_segment: split super-frame @skb (data at its network header) into
 * its wire packets, linked by ->next, each linear with its own headers and
 * checksums.  @skb is left to the caller.  NULL if no handler can split it
 * or memory ran out.
 */
struct sk_buff *skb_gso_segment(struct sk_buff *skb);

#endif
