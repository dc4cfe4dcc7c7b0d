/*
 * IPv4 transmit: ip_build_and_send_pkt -> ip_local_out -> ip_output ->
 * ip_finish_output (ip_fragment when over the MTU) -> ip_finish_output2 ->
 * neigh_output -> dev_queue_xmit, with the LOCAL_OUT hook in
 * __ip_local_out and POST_ROUTING in ip_output (forwarded packets too).
 * A hook's DROP or REJECT returns -EPERM to the sender, as the kernel's.
 *
 * Context: workers.  Every function consumes its skb.  IP IDs come from
 * hashed per-destination counters (the kernel's ip_idents) so that they
 * neither leak a global packet count nor repeat quickly for one peer.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <sys/random.h>

#include "core/checksum.h"
#include "core/netdev.h"
#include "core/skb.h"
#include "core/sysctl.h"
#include "core/trace.h"
#include "net/core/neighbour.h"
#include "net/ipv4/devinet.h"
#include "net/ipv4/ip.h"
#include "net/ipv4/pmtu.h"
#include "net/ipv4/route.h"
#include "net/ipv4/snmp.h"
#include "net/netfilter/netfilter.h"
#include "net/wire/ether.h"
#include "net/wire/ip.h"

_Atomic int64_t sysctl_ip_default_ttl = 64;

static const struct ctl_table ip_table[] = {
	{ "net.ipv4.ip_default_ttl", &sysctl_ip_default_ttl, 1, 255, 64,
	  "TTL of datagrams this host originates" },
	{ NULL, NULL, 0, 0, 0, NULL },
};

#define IP_IDENTS_SZ 2048u
static _Atomic uint32_t ip_idents[IP_IDENTS_SZ];
static uint32_t ip_idents_secret;

void ip_init(void)
{
	if (getrandom(&ip_idents_secret, sizeof(ip_idents_secret), 0) != sizeof(ip_idents_secret))
		ip_idents_secret = 0x5bd1e995u;
	for (unsigned int i = 0; i < IP_IDENTS_SZ; i++) {
		uint32_t r = 0;

		if (getrandom(&r, sizeof(r), 0) != sizeof(r))
			r = i * 2654435761u;
		atomic_init(&ip_idents[i], r);
	}
	sysctl_register(ip_table);
}

uint16_t ip_select_ident(uint32_t saddr, uint32_t daddr, uint8_t protocol)
{
	uint32_t h = (daddr ^ ip_idents_secret) * 0x9e3779b1u;

	h ^= (saddr + protocol) * 0x85ebca6bu;
	h ^= h >> 15;
	return (uint16_t)atomic_fetch_add_explicit(&ip_idents[h % IP_IDENTS_SZ], 1,
						   memory_order_relaxed);
}

static int ip_finish_output2(struct sk_buff *skb, struct net_device *dev)
{
	const struct iphdr *iph = (const struct iphdr *)skb->data;

	__IP_ADD_STATS(OUTOCTETS, skb->len);
	if (IPCB(skb)->rt_type == RTN_BROADCAST) {
		__IP_INC_STATS(OUTBCASTPKTS);
		if (dev->header_ops->create(skb, dev, ETH_P_IP, dev->broadcast, NULL) < 0) {
			__IP_INC_STATS(OUTDISCARDS);
			kfree_skb_reason(skb, SKB_DROP_REASON_TX_HEADROOM);
			return -ENOSPC;
		}
		return dev_queue_xmit(skb);
	}
	(void)iph;
	return neigh_output(skb, dev, IPCB(skb)->nexthop);
}

/*
 * The size to fragment to (the kernel's ip_skb_dst_mtu): what the sender
 * chose in IPCB(skb)->mtu (the path MTU, or the device's for
 * IP_PMTUDISC_PROBE and up), never above the device MTU; the device MTU
 * for packets that carry no choice (forwarded ones).
 */
static uint32_t ip_skb_dst_mtu(const struct sk_buff *skb, const struct net_device *dev)
{
	uint32_t mtu = IPCB(skb)->mtu;

	return mtu && mtu < dev->mtu ? mtu : dev->mtu;
}

static int ip_finish_output(struct sk_buff *skb, struct net_device *dev)
{
	uint32_t mtu = ip_skb_dst_mtu(skb, dev);

	if (skb->len > mtu) {
		/* The fragments are new buffers: the trace of this packet ends here. */
		skb_trace(skb, NS_TRACE_IP_FRAGMENT, mtu);
		return ip_fragment(skb, dev, mtu, ip_finish_output2);
	}
	return ip_finish_output2(skb, dev);
}

int ip_output(struct sk_buff *skb, struct net_device *dev)
{
	int err;

	skb->dev = dev;
	skb->protocol = htons(ETH_P_IP);
	skb_trace(skb, NS_TRACE_IP_OUTPUT, (uint32_t)dev->ifindex);
	err = nf_hook(NF_INET_POST_ROUTING, skb, NULL, dev);
	if (err != 1)
		return err;
	return ip_finish_output(skb, dev);
}

static int __ip_local_out(struct sk_buff *skb, const struct fib_result *res, uint32_t mtu)
{
	int err;

	IPCB(skb)->nexthop = res->nexthop;
	IPCB(skb)->rt_type = (uint8_t)res->type;
	IPCB(skb)->flags = 0;
	IPCB(skb)->frag_max_size = 0;
	IPCB(skb)->mtu = mtu;
	if (ns_unlikely(skb->trace)) {
		__skb_trace_ip_summary(skb, skb->data, skb->len);
		__skb_trace_stage(skb, NS_TRACE_IP_LOCAL_OUT, 0);
	}
	err = nf_hook(NF_INET_LOCAL_OUT, skb, NULL, res->dev);
	if (err != 1)
		return err;
	return ip_output(skb, res->dev);
}

int ip_local_out(struct sk_buff *skb, const struct fib_result *res)
{
	const struct iphdr *iph = (const struct iphdr *)skb->data;

	return __ip_local_out(skb, res, ip_dst_mtu(res, iph->daddr, NULL));
}

int ip_build_and_send_pkt(struct sk_buff *skb, uint32_t saddr, uint32_t daddr,
			  uint8_t protocol, uint8_t tos, uint8_t ttl)
{
	int pmtudisc = (IPCB(skb)->flags & IPSKB_DF) ? IP_PMTUDISC_DO : IP_PMTUDISC_DONT;

	return __ip_build_and_send_pkt(skb, saddr, daddr, protocol, tos, ttl, pmtudisc);
}

int __ip_build_and_send_pkt(struct sk_buff *skb, uint32_t saddr, uint32_t daddr,
			    uint8_t protocol, uint8_t tos, uint8_t ttl, int pmtudisc)
{
	struct fib_result res;
	struct iphdr *iph;
	uint32_t mtu;
	bool locked, df;
	int err;

	__IP_INC_STATS(OUTREQUESTS);
	err = fib_lookup(daddr, &res);
	if (err < 0 || !res.dev ||
	    (res.type == RTN_LOCAL &&
	     !(atomic_load_explicit(&res.dev->flags, memory_order_relaxed) & NETDEV_IFF_LOOPBACK))) {
		/*
		 * No route, or an unreachable / prohibit / blackhole route
		 * (the kernel's errors for each), or a local destination
		 * without a loopback device to carry it (unit tests).
		 */
		__IP_INC_STATS(OUTNOROUTES);
		kfree_skb_reason(skb, SKB_DROP_REASON_IP_OUTNOROUTES);
		return err < 0 ? err : -ENETUNREACH;
	}
	if (!saddr)
		saddr = res.prefsrc;
	/* ip_route_output: a loopback source never leaves through a real device. */
	if ((saddr & htonl(0xff000000u)) == htonl(0x7f000000u) &&
	    !(atomic_load_explicit(&res.dev->flags, memory_order_relaxed) & NETDEV_IFF_LOOPBACK)) {
		__IP_INC_STATS(OUTNOROUTES);
		kfree_skb_reason(skb, SKB_DROP_REASON_IP_OUTNOROUTES);
		return -EINVAL;
	}
	iph = skb_push(skb, sizeof(*iph));
	if (!iph) {
		__IP_INC_STATS(OUTDISCARDS);
		kfree_skb_reason(skb, SKB_DROP_REASON_TX_HEADROOM);
		return -ENOSPC;
	}
	skb_reset_network_header(skb);
	iph->ihl_version = (IPVERSION << 4) | 5;
	iph->tos = tos;
	iph->tot_len = htons((uint16_t)skb->len);
	/*
	 * DF as __ip_make_skb sets it: always for DO and PROBE; for WANT only
	 * if the datagram fits the path MTU unfragmented and that MTU is not
	 * locked at min_pmtu (ip_dont_fragment); never for DONT, INTERFACE
	 * and OMIT.
	 */
	mtu = ip_sk_dst_mtu(&res, daddr, pmtudisc, &locked);
	df = pmtudisc == IP_PMTUDISC_DO || pmtudisc == IP_PMTUDISC_PROBE ||
	     (pmtudisc == IP_PMTUDISC_WANT && skb->len <= mtu && !locked);
	iph->frag_off = df ? htons(IP_DF) : 0;
	iph->id = htons(ip_select_ident(saddr, daddr, protocol));
	iph->ttl = ttl ? ttl : (uint8_t)sysctl_read(&sysctl_ip_default_ttl);
	iph->protocol = protocol;
	iph->saddr = saddr;
	iph->daddr = daddr;
	iph->check = 0;
	iph->check = ip_fast_csum(iph, 5);
	return __ip_local_out(skb, &res, mtu);
}
