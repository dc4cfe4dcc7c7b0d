/*
 * IPv4's part of GRO and GSO (the kernel's inet_gro_receive,
 * inet_gro_complete and inet_gso_segment): which packets may be merged at
 * all, which held flows a packet belongs to as far as IP can tell, the
 * header of a merged packet, and the IP headers of the segments a merged
 * packet splits into when it is forwarded.
 *
 * A packet is a GRO candidate only with a plain 20-byte header (no
 * options), a valid header checksum, no fragmentation (neither MF nor an
 * offset, no CE/reserved bit) and a total length equal to what the frame
 * carries (no link padding); anything else goes up alone and ip_rcv
 * judges it.  Within a flow TTL, TOS and DF must stay the same and the IP
 * id must advance by one per segment, or stay fixed with DF set (RFC
 * 6864); which of the two the flow does is settled by its second segment.
 *
 * Context: the worker polling the NAPI context (GRO) or forwarding the
 * packet (GSO); the offload table is filled at start-up.
 */
#include <arpa/inet.h>
#include <errno.h>

#include "core/checksum.h"
#include "core/gro.h"
#include "core/skb.h"
#include "net/ipv4/offload.h"
#include "net/wire/ether.h"
#include "net/wire/ip.h"

static const struct net_offload *inet_offloads[256];

int inet_add_offload(const struct net_offload *prot, uint8_t num)
{
	if (inet_offloads[num])
		return -EBUSY;
	inet_offloads[num] = prot;
	return 0;
}

void inet_del_offload(const struct net_offload *prot, uint8_t num)
{
	if (inet_offloads[num] == prot)
		inet_offloads[num] = NULL;
}

static struct sk_buff *inet_gro_receive(struct sk_buff *const *held, unsigned int n,
					struct sk_buff *skb)
{
	struct napi_gro_cb *cb = NAPI_GRO_CB(skb);
	uint32_t off = cb->data_offset;
	const struct net_offload *ops;
	const struct iphdr *iph;

	if (!skb_may_pull(skb, off + IP_MIN_HLEN))
		goto flush;
	iph = (const struct iphdr *)(skb->data + off);
	ops = inet_offloads[iph->protocol];
	if (!ops || !ops->gro_receive)
		goto flush;
	if (iph->ihl_version != 0x45)
		goto flush;             /* options, or not IPv4 */
	if (ip_fast_csum(iph, 5) != 0)
		goto flush;
	if (iph->frag_off & ~htons(IP_DF))
		goto flush;             /* a fragment, or the CE/reserved bit */
	if (ntohs(iph->tot_len) != skb->len - off)
		goto flush;             /* link padding or a truncated packet */

	for (unsigned int i = 0; i < n; i++) {
		struct sk_buff *p = held[i];
		struct napi_gro_cb *pc = NAPI_GRO_CB(p);
		const struct iphdr *iph2;
		unsigned int match = 0;

		if (!pc->same_flow)
			continue;
		iph2 = (const struct iphdr *)skb_network_header(p);
		if (iph->protocol != iph2->protocol || iph->saddr != iph2->saddr ||
		    iph->daddr != iph2->daddr) {
			pc->same_flow = 0;
			continue;
		}
		/* All fields must match except length, id and checksum. */
		if (iph->ttl != iph2->ttl || iph->tos != iph2->tos ||
		    ((iph->frag_off ^ iph2->frag_off) & htons(IP_DF)))
			pc->flush = 1;
		if ((uint16_t)(ntohs(iph2->id) + pc->count) == ntohs(iph->id))
			match |= GRO_ID_INCR;
		if ((iph->frag_off & htons(IP_DF)) && iph->id == iph2->id)
			match |= GRO_ID_FIXED;
		/* The transport layer commits this if it merges (id_modes = id_match). */
		pc->id_match = (uint8_t)(match & pc->id_modes);
	}
	/* Should this skb be held, how its own flow's ids may go on. */
	cb->id_modes = GRO_ID_INCR | ((iph->frag_off & htons(IP_DF)) ? GRO_ID_FIXED : 0);
	skb->network_header = (uint16_t)(skb->data - skb->head + off);
	skb->transport_header = (uint16_t)(skb->network_header + IP_MIN_HLEN);
	cb->data_offset = (uint16_t)(off + IP_MIN_HLEN);
	return ops->gro_receive(held, n, skb);

flush:
	cb->flush = 1;
	return NULL;
}

/* The merged packet's header: its new total length and header checksum. */
static int inet_gro_complete(struct sk_buff *skb, uint32_t nhoff)
{
	struct iphdr *iph = (struct iphdr *)(skb->data + nhoff);
	const struct net_offload *ops = inet_offloads[iph->protocol];

	if (!ops || !ops->gro_complete || skb->len - nhoff > IP_MAXPACKET)
		return -EINVAL;
	iph->tot_len = htons((uint16_t)(skb->len - nhoff));
	iph->check = 0;
	iph->check = ip_fast_csum(iph, 5);
	skb->network_header = (uint16_t)(skb->data - skb->head + nhoff);
	return ops->gro_complete(skb, nhoff + IP_MIN_HLEN);
}

/*
 * inet_gso_segment: the transport layer cuts the payload and fixes its
 * headers; each segment's IP header gets its length, its id (first + k,
 * unless the flow kept a fixed id) and a new checksum.
 */
static struct sk_buff *inet_gso_segment(struct sk_buff *skb)
{
	const struct iphdr *iph;
	const struct net_offload *ops;
	struct sk_buff *segs;
	uint16_t id;
	bool fixed;

	if (!skb_may_pull(skb, IP_MIN_HLEN))
		return NULL;
	iph = (const struct iphdr *)skb->data;
	ops = inet_offloads[iph->protocol];
	if (iph->ihl_version != 0x45 || !ops || !ops->gso_segment)
		return NULL;
	id = ntohs(iph->id);
	fixed = skb_shinfo(skb)->gso_type & SKB_GSO_TCP_FIXEDID;
	segs = ops->gso_segment(skb, IP_MIN_HLEN);
	for (struct sk_buff *s = segs; s; s = s->next) {
		struct iphdr *ih = (struct iphdr *)s->data;

		ih->tot_len = htons((uint16_t)s->len);
		if (!fixed)
			ih->id = htons(id++);
		ih->check = 0;
		ih->check = ip_fast_csum(ih, 5);
	}
	return segs;
}

static struct packet_offload ip_packet_offload = {
	.gro_receive = inet_gro_receive,
	.gro_complete = inet_gro_complete,
	.gso_segment = inet_gso_segment,
};

void ipv4_offload_init(void)
{
	ip_packet_offload.type = htons(ETH_P_IP);
	(void)inet_add_offload(&tcpv4_offload, IPPROTO_TCP_NS);
	dev_add_offload(&ip_packet_offload);
}

void ipv4_offload_exit(void)
{
	dev_remove_offload(&ip_packet_offload);
	inet_del_offload(&tcpv4_offload, IPPROTO_TCP_NS);
}
