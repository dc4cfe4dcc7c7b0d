/*
 * IPv4 internals shared by the files of net/ipv4 (the kernel's ip.h, not
 * the wire format: that is net/wire/ip.h).
 */
#ifndef NS_NET_IPV4_IP_H
#define NS_NET_IPV4_IP_H

#include <arpa/inet.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/checksum.h"
#include "core/skb.h"
#include "net/ipv4/route.h"
#include "net/wire/ip.h"

struct net_device;
struct packet_type;

/* Headroom to reserve in locally built packets for every header below L4. */
#define NS_MAX_HEADER 128u

/*
 * The options of a received header as ip_options_compile found them (the
 * kernel's struct ip_options): each option's offset from the start of the
 * IP header, 0 if absent, and what forwarding has to fill in.
 */
struct ip_options {
	uint32_t nexthop;           /* source route: the next hop (srr_is_hit) */
	uint8_t optlen;             /* bytes of options (ihl * 4 - 20) */
	uint8_t srr;                /* LSRR or SSRR */
	uint8_t rr;                 /* record route */
	uint8_t ts;                 /* timestamp */
	uint8_t router_alert;       /* router alert with value 0 */
	uint8_t cipso;
	uint8_t is_strictroute : 1, /* the source route is SSRR */
		srr_is_hit : 1,     /* a source route sends it on to nexthop */
		rr_needaddr : 1,    /* RR has room: a forwarder records itself */
		ts_needtime : 1,    /* TS has room for our time */
		ts_needaddr : 1,    /* ... and our address */
		ts_overflow : 1;    /* TS is full: a forwarder bumps its overflow */
};

/*
 * IP's control block in skb->cb (the kernel's IPCB).  ip_rcv clears it on
 * input; locally built packets get theirs from ip_local_out.
 */
struct inet_skb_parm {
	uint32_t nexthop;           /* output: next hop for the neighbour layer */
	uint8_t rt_type;            /* enum rtn_type of the route taken */
	uint8_t flags;              /* IPSKB_* */
	uint16_t frag_max_size;     /* input: largest fragment of a reassembled datagram */
	uint32_t mtu;               /* output: fragment to this size; 0: the device's MTU */
	struct ip_options opt;      /* input: parsed options (ihl > 5) */
};

#define IPCB(skb) ((struct inet_skb_parm *)((skb)->cb))

/* inet_skb_parm.flags on input (the control block is cleared by ip_rcv) */
#define IPSKB_RAW_DELIVERED 0x01    /* a raw socket took a copy */
#define IPSKB_FRAG_COMPLETE 0x08    /* reassembled by ip_defrag */
/* ... and on output (cleared by alloc_skb); the values may overlap */
#define IPSKB_DF 0x01               /* set DF in the header ip_build_and_send_pkt writes */

/* An output stage: consumes @skb, 0 or -errno. */
typedef int (*ip_output_fn)(struct sk_buff *skb, struct net_device *dev);

extern _Atomic int64_t sysctl_ip_default_ttl;
extern _Atomic int64_t sysctl_ip_forward;

/* packet_type handler for ETH_P_IP.  Consumes the skb.  Worker context. */
int ip_rcv(struct sk_buff *skb, struct net_device *dev, const struct packet_type *pt);

/* Deliver a packet addressed to us to its protocol.  Consumes the skb. */
int ip_local_deliver(struct sk_buff *skb);

/*
 * Prepend an IPv4 header to @skb (data at the transport header) and send
 * it to @daddr: route lookup, header with checksum and IP ID, then
 * ip_local_out.  @saddr 0 picks the route's preferred source.  @ttl 0 uses
 * net.ipv4.ip_default_ttl.  @pmtudisc is the sender's IP_MTU_DISCOVER
 * mode, with the kernel's meaning: DONT, WANT and DO fragment to the path
 * MTU (pmtu.h), PROBE, INTERFACE and OMIT to the device's; DF is set for
 * DO and PROBE, and for WANT when the datagram fits the path MTU and that
 * MTU is not locked.  Larger datagrams are fragmented (ip_fragment), or,
 * with DF, fail with -EMSGSIZE and FragFails (callers that must refuse
 * such a datagram, like UDP with IP_PMTUDISC_DO, check before).  Consumes
 * @skb.  0 or -errno (-ENETUNREACH, -EMSGSIZE, -ENOBUFS).  Worker context.
 */
int __ip_build_and_send_pkt(struct sk_buff *skb, uint32_t saddr, uint32_t daddr,
			    uint8_t protocol, uint8_t tos, uint8_t ttl, int pmtudisc);

/*
 * __ip_build_and_send_pkt in mode IP_PMTUDISC_DO if IPCB(skb)->flags has
 * IPSKB_DF (TCP: DF, and a segment over the path MTU fails with -EMSGSIZE
 * as the kernel's ip_queue_xmit), else IP_PMTUDISC_DONT (the kernel's ICMP
 * socket: fragmented, never DF).  alloc_skb clears the control block.
 */
int ip_build_and_send_pkt(struct sk_buff *skb, uint32_t saddr, uint32_t daddr,
			  uint8_t protocol, uint8_t tos, uint8_t ttl);

/*
 * The output stages: consume the skb; 0 or -errno.  ip_local_out sends a
 * packet whose header is complete (network header set, data at it) along
 * @res, fragmenting to the path MTU; ip_output sends to @dev, fragmenting
 * to IPCB(skb)->mtu or, if that is 0 (forwarded packets), the device MTU.
 */
int ip_local_out(struct sk_buff *skb, const struct fib_result *res);
int ip_output(struct sk_buff *skb, struct net_device *dev);

/* ---- fragmentation and reassembly (ip_fragment.c) ---------------------- */

/*
 * ip_fragment: send @skb (data at its IP header) in fragments of at most
 * @mtu bytes through @output, as RFC 791 §3.2 describes: offsets in 8-byte
 * units, MF on all but the last, options without the copied flag only in
 * the first fragment, a checksum each.  A packet with DF set is not
 * fragmented: FragFails, an ICMP "fragmentation needed" where icmp_send
 * allows one, and -EMSGSIZE.  Counts FragOKs, FragCreates, FragFails.
 * Consumes @skb.  Worker context.
 */
int ip_fragment(struct sk_buff *skb, struct net_device *dev, uint32_t mtu,
		ip_output_fn output);

/*
 * ip_exceeds_mtu: true if @skb (data at its IP header) may not be sent
 * over @mtu as it is: longer than @mtu with DF set, or, for a datagram we
 * reassembled, one of its fragments was (frag_max_size).  A forwarder
 * answers such a packet with ICMP "fragmentation needed" (RFC 1191) and
 * drops it; anything else longer than @mtu ip_output fragments.
 */
bool ip_exceeds_mtu(const struct sk_buff *skb, uint32_t mtu);

/*
 * ip_defrag: queue the fragment *@pskb (network header set, data at it,
 * IPCB filled by input) for reassembly, keyed by (saddr, daddr, id,
 * protocol) in the calling worker's table.  Returns 0 with *@pskb replaced
 * by the whole datagram (one linear skb, data at its IP header, frag_off
 * 0) when this fragment completed it; otherwise the fragment is kept or
 * dropped with its reason and *@pskb is NULL: -EINPROGRESS (kept),
 * -EINVAL (bad, duplicate or overlapping), -ENOMEM (memory limits).
 * Worker context (or any one thread that owns no worker, as in tests).
 */
int ip_defrag(struct sk_buff **pskb);

/* Reassembly memory (truesize of queued fragments and queues) and queues, all workers. */
uint64_t ip_frag_mem(void);
uint64_t ip_frag_queues(void);

/*
 * Run the reassembly timers of the table used by threads that are not
 * workers (tests) as if the time were @now (jiffies).  Returns how many fired.
 */
unsigned int ip_frag_run_timers(uint64_t now);

/* Drop every incomplete datagram (tests, shutdown with workers stopped). */
void ip_frag_flush(void);

/* Register net.ipv4.ipfrag_*.  Control context, before workers start. */
void ipfrag_init(void);

/* ---- options (ip_options.c) ---------------------------------------------- */

/*
 * ip_options_compile: check the options of the received header @iph (ihl
 * > 5, the whole header present) as the kernel's __ip_options_compile does
 * on input and note them in @opt.  0, or -EINVAL with *@pp_off the offset
 * from @iph of the offending octet (the ICMP parameter problem pointer).
 * Reads the header only.
 */
int ip_options_compile(struct ip_options *opt, const uint8_t *iph, unsigned int *pp_off);

/*
 * ip_rcv_options: options of a received packet after the routing
 * decision (IPCB(skb)->rt_type set): compile them into IPCB(skb)->opt;
 * malformed options cost InHdrErrors and an ICMP parameter problem; a
 * source route is refused unless net.ipv4.conf.all.accept_source_route.
 * 0 to go on, or -1 with @skb consumed (dropped with its reason).
 */
int ip_rcv_options(struct sk_buff *skb);

/*
 * ip_options_fragment: replace every option of the IP header @iph whose
 * copied flag is clear by NOOPs (RFC 791: only copied options go into the
 * fragments after the first), keeping the header length.
 */
void ip_options_fragment(uint8_t *iph);

/*
 * ip_forward_options: a forwarder's duty to the options of @skb (data at
 * the IP header, IPCB(skb)->opt from ip_rcv_options, buffer writable):
 * record @spec_dst (our address on the way out) in record route and
 * timestamp options and in the source route if it names the next hop,
 * with the time in the timestamp, and fix the header checksum.
 */
void ip_forward_options(struct sk_buff *skb, uint32_t spec_dst);

/* Register net.ipv4.conf.all.accept_source_route.  Control context. */
void ip_options_init(void);

/* IP ID for a datagram from @saddr to @daddr (hashed per-destination counters). */
uint16_t ip_select_ident(uint32_t saddr, uint32_t daddr, uint8_t protocol);

void ip_init(void);

/* ---- forwarding (ip_forward.c) ---- */

/* Register net.ipv4.ip_forward and friends.  Control context. */
void ip_forward_init(void);

/*
 * ip_route_input's answer for a destination that is not ours: forward it
 * if net.ipv4.ip_forward is on and @res (with @err from fib_lookup) is a
 * unicast route; otherwise count the drop and send the ICMP error the
 * route calls for.  Consumes @skb.  Worker context.
 */
int ip_route_input_forward(struct sk_buff *skb, const struct fib_result *res, int err);

/*
 * Forward @skb (data at the IP header) along @res: TTL and MTU checks with
 * their ICMP errors, TTL decrement, then ip_output.  Consumes @skb.
 */
int ip_forward(struct sk_buff *skb, const struct fib_result *res);

/*
 * Decrement the TTL and patch the header checksum incrementally (RFC 1624
 * eqn. 3) instead of summing the header again.  Returns the new TTL.
 */
static inline uint8_t ip_decrease_ttl(struct iphdr *iph)
{
	/* TTL and protocol share one 16-bit word of the checksum. */
	uint16_t old = htons((uint16_t)(iph->ttl << 8 | iph->protocol));
	uint16_t new_ = htons((uint16_t)((iph->ttl - 1) << 8 | iph->protocol));

	iph->ttl--;
	iph->check = csum_replace2(iph->check, old, new_);
	return iph->ttl;
}

#endif
