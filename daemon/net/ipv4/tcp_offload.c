/*
 * TCP's part of GRO and GSO over IPv4 (the kernel's tcp4_gro_receive,
 * tcp_gro_receive, tcp4_gro_complete and tcp_gso_segment).
 *
 * Merge rules, as the kernel's: a segment joins the held skb of its flow
 * (same addresses and ports) only if it carries just ACK (and PSH, which
 * ends the merge and stays on the merged header), the same ack_seq,
 * window and option bytes (timestamps included), starts exactly where
 * the held payload ends, carries 1..gso_size bytes (the first segment's
 * size; a shorter one is merged and ends the merge), and the whole stays
 * within GRO_MAX_SIZE.  FIN, SYN, RST, URG, CWR or any other difference
 * sends the held flow up and the segment after it; a pure ACK is never
 * held.  Each segment's checksum is verified before anything is merged
 * (RFC 9293 §3.1): a bad one sends the held flow up and then itself,
 * unmerged and unverified, for tcp_v4_rcv to count (TCP_CSUM).  A good
 * one is marked CHECKSUM_UNNECESSARY and its payload sum is kept, so the
 * merged packet gets a correct checksum without a second pass
 * (tcp4_gro_complete): taps, raw sockets and the forwarding path see a
 * valid TCP/IP packet.
 *
 * Context: the worker polling the NAPI context (GRO) or forwarding the
 * packet (GSO).  No state beyond the skbs.
 */
#include <arpa/inet.h>
#include <string.h>

#include "core/checksum.h"
#include "core/gro.h"
#include "core/skb.h"
#include "net/ipv4/ip.h"
#include "net/ipv4/offload.h"
#include "net/wire/ip.h"
#include "net/wire/tcp.h"

/* Flags that forbid holding or merging a segment. */
#define TCP_GRO_FLUSH_FLAGS (TCPHDR_FIN | TCPHDR_SYN | TCPHDR_RST | TCPHDR_URG | TCPHDR_CWR)

static uint32_t tcp_gro_pseudo(const struct iphdr *iph, uint32_t len, uint32_t sum)
{
	return csum_tcpudp_nofold(iph->saddr, iph->daddr, len, IPPROTO_TCP_NS, sum);
}

/* Payload bytes a held skb carries (its TCP header is at its transport header). */
static uint32_t tcp_gro_payload(const struct sk_buff *p, const struct tcphdr_ns *th2)
{
	uint32_t hdrs = (uint32_t)((const unsigned char *)th2 - p->data) + tcp_hdrlen_of(th2);

	return p->len - hdrs;
}

/* Would @th's segment of @len bytes continue held skb @p? */
static bool tcp_gro_can_merge(const struct sk_buff *p, const struct tcphdr_ns *th,
			      unsigned int thlen, uint32_t len)
{
	const struct napi_gro_cb *pc = NAPI_GRO_CB(p);
	const struct tcphdr_ns *th2 = (const struct tcphdr_ns *)skb_transport_header(p);
	uint32_t mss = skb_shinfo(p)->gso_size;

	if (pc->flush || !pc->id_match)
		return false;           /* IP: TTL, TOS, DF or the id sequence */
	if ((th->flags & TCP_GRO_FLUSH_FLAGS) || !(th->flags & TCPHDR_ACK) ||
	    ((th->flags ^ th2->flags) & ~TCPHDR_PSH))
		return false;
	if (th->doff_res != th2->doff_res || th->window != th2->window ||
	    th->ack_seq != th2->ack_seq)
		return false;
	if (memcmp(th + 1, th2 + 1, thlen - sizeof(*th)) != 0)
		return false;           /* options differ (a new timestamp, SACK blocks) */
	if (len == 0 || len > mss)
		return false;
	return ntohl(th->seq) == ntohl(th2->seq) + tcp_gro_payload(p, th2);
}

static struct sk_buff *tcp4_gro_receive(struct sk_buff *const *held, unsigned int n,
					struct sk_buff *skb)
{
	struct napi_gro_cb *cb = NAPI_GRO_CB(skb);
	const struct iphdr *iph = (const struct iphdr *)skb_network_header(skb);
	uint32_t off = cb->data_offset, len, hsum, psum;
	struct sk_buff *p = NULL;
	struct tcphdr_ns *th;
	unsigned int thlen;

	if (!skb_may_pull(skb, off + sizeof(*th)))
		goto flush;
	th = (struct tcphdr_ns *)(skb->data + off);
	thlen = tcp_hdrlen_of(th);
	if (thlen < sizeof(*th) || !skb_may_pull(skb, off + thlen))
		goto flush;
	len = skb->len - off - thlen;

	for (unsigned int i = 0; i < n; i++) {
		struct napi_gro_cb *pc = NAPI_GRO_CB(held[i]);
		const struct tcphdr_ns *th2;

		if (!pc->same_flow)
			continue;
		th2 = (const struct tcphdr_ns *)skb_transport_header(held[i]);
		if (th->source != th2->source || th->dest != th2->dest) {
			pc->same_flow = 0;
			continue;
		}
		p = held[i];
		break;
	}

	/* Verify this segment before it can become part of another. */
	hsum = csum_partial(th, thlen, 0);
	psum = csum_partial((const unsigned char *)th + thlen, len, 0);
	if (csum_fold(tcp_gro_pseudo(iph, thlen + len, csum_add(hsum, psum))) != 0) {
		cb->flush = 1;
		return p;               /* its flow first, then it, unmerged */
	}
	skb->ip_summed = CHECKSUM_UNNECESSARY;
	cb->csum = psum;

	if (p && tcp_gro_can_merge(p, th, thlen, len)) {
		struct napi_gro_cb *pc = NAPI_GRO_CB(p);
		struct tcphdr_ns *th2 = (struct tcphdr_ns *)skb_transport_header(p);
		uint32_t before = tcp_gro_payload(p, th2);
		uint32_t mss = skb_shinfo(p)->gso_size;
		uint8_t flags = th->flags;

		cb->data_offset = (uint16_t)(off + thlen);
		if (skb_gro_receive(p, skb) == 0) {
			pc->csum = csum_block_add(pc->csum, psum, before);
			pc->id_modes = pc->id_match;
			th2->flags |= flags & TCPHDR_PSH;
			/* A short segment or PSH ends the burst: send it up now. */
			return (len < mss || (flags & TCPHDR_PSH)) ? p : NULL;
		}
		cb->data_offset = (uint16_t)off;
	}
	/* Not merged: its flow's held skb goes up first; this one may start anew. */
	cb->data_offset = (uint16_t)(off + thlen);
	if (len == 0 || (th->flags & (TCP_GRO_FLUSH_FLAGS | TCPHDR_PSH)) ||
	    !(th->flags & TCPHDR_ACK))
		cb->flush = 1;
	return p;

flush:
	cb->flush = 1;
	return NULL;
}

/* The merged segment's checksum, from its header and the kept payload sum. */
static int tcp4_gro_complete(struct sk_buff *skb, uint32_t thoff)
{
	const struct iphdr *iph = (const struct iphdr *)skb_network_header(skb);
	struct tcphdr_ns *th = (struct tcphdr_ns *)(skb->data + thoff);
	struct napi_gro_cb *cb = NAPI_GRO_CB(skb);
	struct skb_shared_info *sh = skb_shinfo(skb);
	uint32_t sum;

	th->check = 0;
	sum = csum_add(csum_partial(th, tcp_hdrlen_of(th), 0), cb->csum);
	th->check = csum_fold(tcp_gro_pseudo(iph, skb->len - thoff, sum));
	skb->transport_header = (uint16_t)(skb->data - skb->head + thoff);
	sh->gso_segs = cb->count;
	sh->gso_type = SKB_GSO_TCPV4 | (cb->id_modes == GRO_ID_FIXED ? SKB_GSO_TCP_FIXEDID : 0);
	skb->ip_summed = CHECKSUM_UNNECESSARY;
	return 0;
}

/*
 * tcp_gso_segment: cut the payload into gso_size pieces, each a new linear
 * skb with a copy of the headers; sequence numbers advance, CWR stays on
 * the first segment only and PSH/FIN on the last, and each gets its own
 * checksum (the IP header is inet_gso_segment's).  NULL if memory ran out.
 */
static struct sk_buff *tcp4_gso_segment(struct sk_buff *skb, uint32_t thoff)
{
	const struct iphdr *iph = (const struct iphdr *)skb->data;
	const struct tcphdr_ns *th;
	struct sk_buff *head = NULL, **tailp = &head;
	uint32_t mss = skb_shinfo(skb)->gso_size, hdrlen, payload, seq;
	unsigned int thlen;

	if (!mss || !skb_may_pull(skb, thoff + sizeof(*th)))
		return NULL;
	th = (const struct tcphdr_ns *)(skb->data + thoff);
	thlen = tcp_hdrlen_of(th);
	hdrlen = thoff + thlen;
	if (thlen < sizeof(*th) || !skb_may_pull(skb, hdrlen))
		return NULL;
	payload = skb->len - hdrlen;
	seq = ntohl(th->seq);
	for (uint32_t done = 0; done < payload; done += mss) {
		uint32_t n = payload - done < mss ? payload - done : mss;
		struct sk_buff *s = alloc_skb(NS_MAX_HEADER + hdrlen + n);
		struct tcphdr_ns *t;

		if (!s)
			goto nomem;
		skb_reserve(s, NS_MAX_HEADER);
		skb_copy_header(s, skb);
		skb_put_data(s, skb->data, hdrlen);
		(void)skb_copy_bits(skb, hdrlen + done, skb_put(s, n), n);
		skb_reset_network_header(s);
		skb_set_transport_header(s, thoff);
		t = (struct tcphdr_ns *)(s->data + thoff);
		t->seq = htonl(seq + done);
		if (done)
			t->flags &= (uint8_t)~TCPHDR_CWR;
		if (done + n < payload)
			t->flags &= (uint8_t)~(TCPHDR_PSH | TCPHDR_FIN);
		t->check = 0;
		t->check = csum_fold(tcp_gro_pseudo(iph, thlen + n, csum_partial(t, thlen + n, 0)));
		*tailp = s;
		tailp = &s->next;
	}
	return head;

nomem:
	while (head) {
		struct sk_buff *next = head->next;

		consume_skb(head);     /* copies: the caller counts the drop */
		head = next;
	}
	return NULL;
}

const struct net_offload tcpv4_offload = {
	.gro_receive = tcp4_gro_receive,
	.gro_complete = tcp4_gro_complete,
	.gso_segment = tcp4_gso_segment,
};
