/*
 * Generic receive offload: the per-NAPI list of held flows, the merge of
 * one skb into another, and the hand-off to netif_receive_skb (the
 * kernel's dev_gro_receive, napi_gro_complete, napi_gro_flush,
 * skb_gro_receive).  See gro.h for the model.
 *
 * Context: the worker polling the NAPI context; no locks.  Counters go to
 * that worker's softnet_data (gro_merged, gro_flush).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <string.h>

#include "core/debug.h"
#include "core/dev.h"
#include "core/gro.h"
#include "core/netdev.h"
#include "core/softnet.h"
#include "core/sysctl.h"
#include "core/trace.h"

_Atomic int64_t sysctl_gro = 1;

static const struct ctl_table gro_table[] = {
	{ "net.netstack.gro", &sysctl_gro, 0, 1, 1,
	  "1: merge consecutive TCP segments of a flow before the stack (GRO); "
	  "0: every frame goes up alone" },
	{ NULL, NULL, 0, 0, 0, NULL },
};

static struct packet_offload *offload_base;
static pthread_mutex_t offload_lock = PTHREAD_MUTEX_INITIALIZER;

void gro_init(void)
{
	sysctl_register(gro_table);
}

void dev_add_offload(struct packet_offload *po)
{
	pthread_mutex_lock(&offload_lock);
	po->next = offload_base;
	offload_base = po;
	pthread_mutex_unlock(&offload_lock);
}

void dev_remove_offload(struct packet_offload *po)
{
	pthread_mutex_lock(&offload_lock);
	for (struct packet_offload **pp = &offload_base; *pp; pp = &(*pp)->next)
		if (*pp == po) {
			*pp = po->next;
			break;
		}
	pthread_mutex_unlock(&offload_lock);
}

static const struct packet_offload *gro_find_offload(uint16_t type)
{
	for (const struct packet_offload *po = offload_base; po; po = po->next)
		if (po->type == type)
			return po;
	return NULL;
}

int skb_gro_receive(struct sk_buff *p, struct sk_buff *skb)
{
	struct napi_gro_cb *pc = NAPI_GRO_CB(p);
	uint32_t off = NAPI_GRO_CB(skb)->data_offset;
	uint32_t len = skb->len - off;

	if (p->len + len > GRO_MAX_SIZE || skb_is_nonlinear(skb) || off > skb->len)
		return -E2BIG;
	skb_pull(skb, off);
	skb->next = NULL;
	if (pc->last)
		pc->last->next = skb;
	else
		skb_shinfo(p)->frag_list = skb;
	pc->last = skb;
	p->len += len;
	p->data_len += len;
	pc->count++;
	NAPI_GRO_CB(skb)->merged = 1;
	return 0;
}

/* napi_gro_complete: finish a held skb and send it up. */
static void napi_gro_complete(struct napi_struct *napi, struct sk_buff *skb)
{
	struct napi_gro_cb *cb = NAPI_GRO_CB(skb);

	if (napi->sd)
		ns_counter_inc(&napi->sd->gro_flush);
	if (cb->count > 1) {
		const struct packet_offload *po = gro_find_offload(skb->protocol);

		if (!po || !po->gro_complete || po->gro_complete(skb, 0) != 0) {
			/* Cannot happen for what a handler merged; never send it half-made. */
			kfree_skb_reason(skb, SKB_DROP_REASON_NOT_SPECIFIED);
			return;
		}
	} else {
		skb_shinfo(skb)->gso_size = 0;
	}
	/* The layers above own the control block from here on. */
	memset(skb->cb, 0, sizeof(skb->cb));
	(void)netif_receive_skb(skb);
}

/* Take entry @i off @napi's list, keeping the order of the others. */
static struct sk_buff *gro_list_del(struct napi_struct *napi, unsigned int i)
{
	struct sk_buff *skb = napi->gro_skbs[i];

	memmove(&napi->gro_skbs[i], &napi->gro_skbs[i + 1],
		(napi->gro_count - i - 1) * sizeof(napi->gro_skbs[0]));
	napi->gro_count--;
	return skb;
}

void napi_gro_flush(struct napi_struct *napi)
{
	while (napi->gro_count)
		napi_gro_complete(napi, gro_list_del(napi, 0));
}

/* Link-layer headers equal (the kernel's compare_ether_header), same device. */
static bool gro_same_link(const struct sk_buff *p, const struct sk_buff *skb)
{
	uint32_t plen, slen;

	if (p->dev != skb->dev)
		return false;
	if (p->mac_header == SKB_HDR_UNSET || skb->mac_header == SKB_HDR_UNSET)
		return p->mac_header == skb->mac_header;
	plen = (uint32_t)(p->data - skb_mac_header(p));
	slen = (uint32_t)(skb->data - skb_mac_header(skb));
	return plen == slen && memcmp(skb_mac_header(p), skb_mac_header(skb), plen) == 0;
}

int napi_gro_receive(struct napi_struct *napi, struct sk_buff *skb)
{
	const struct packet_offload *po;
	struct napi_gro_cb *cb = NAPI_GRO_CB(skb);
	struct sk_buff *pp;
	unsigned int i;

	skb_trace(skb, NS_TRACE_GRO, 0);
	if (!sysctl_read(&sysctl_gro) || skb_is_nonlinear(skb) || skb_is_gso(skb))
		goto normal;
	po = gro_find_offload(skb->protocol);
	if (!po || !po->gro_receive)
		goto normal;

	/* gro_list_prepare: which held flows this one may join. */
	for (i = 0; i < napi->gro_count; i++) {
		struct napi_gro_cb *pc = NAPI_GRO_CB(napi->gro_skbs[i]);

		pc->same_flow = gro_same_link(napi->gro_skbs[i], skb);
		pc->flush = 0;
		pc->id_match = 0;
	}
	memset(cb, 0, sizeof(*cb));
	pp = po->gro_receive(napi->gro_skbs, napi->gro_count, skb);
	if (pp) {
		for (i = 0; i < napi->gro_count; i++)
			if (napi->gro_skbs[i] == pp) {
				napi_gro_complete(napi, gro_list_del(napi, i));
				break;
			}
	}
	if (cb->merged) {
		if (napi->sd)
			ns_counter_inc(&napi->sd->gro_merged);
		return 0;
	}
	if (cb->flush)
		goto normal;
	/* A new flow: hold it, making room by sending the oldest up. */
	if (napi->gro_count >= MAX_GRO_SKBS)
		napi_gro_complete(napi, gro_list_del(napi, 0));
	cb->count = 1;
	cb->last = NULL;
	skb_shinfo(skb)->gso_size = (uint16_t)(skb->len - cb->data_offset);
	napi->gro_skbs[napi->gro_count++] = skb;
	return 0;

normal:
	(void)netif_receive_skb(skb);
	return 0;
}

struct sk_buff *skb_gso_segment(struct sk_buff *skb)
{
	const struct packet_offload *po = gro_find_offload(skb->protocol);

	if (!po || !po->gso_segment)
		return NULL;
	return po->gso_segment(skb);
}
