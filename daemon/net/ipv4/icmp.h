/*
 * ICMP (RFC 792, RFC 1122 §3.2.2): echo, errors in both directions.
 */
#ifndef NS_NET_ICMP_H
#define NS_NET_ICMP_H

#include <stdint.h>

#include "core/skb.h"
#include "net/ipv4/ip.h"

struct net_protocol;

extern const struct net_protocol icmp_protocol;

/*
 * What icmp_unreach tells the error handlers about the ICMP message
 * itself, in skb->cb after IP's part: by then the skb's network header is
 * the quoted IP header (ip_icmp_error reports the message's source as the
 * offender).
 */
struct icmp_skb_parm {
	uint32_t saddr;             /* the ICMP message's source */
	uint8_t ttl, tos;
};

#define ICMPCB(skb) ((struct icmp_skb_parm *)((skb)->cb + sizeof(struct inet_skb_parm)))

_Static_assert(sizeof(struct inet_skb_parm) + sizeof(struct icmp_skb_parm) <=
	       sizeof(((struct sk_buff *)0)->cb), "ICMPCB fits skb->cb");

/*
 * icmp_out_count: an ICMP message of @type leaves this host (OutMsgs,
 * IcmpMsg OutTypeN, OutEchos for echo requests).  Ping and raw sockets
 * count what they send.  Worker context.
 */
void icmp_out_count(uint8_t type);

/* Register the sysctls.  Control context. */
void icmp_init(void);

/*
 * Send an ICMP error of @type/@code about the received packet @skb_in
 * (its network header must be set) back to its source, unless the rules
 * of RFC 1122 §3.2.2 forbid it (an error about an error, a fragment other
 * than the first, a broadcast or multicast) or the rate limit
 * (net.ipv4.icmp_msgs_per_sec / icmp_msgs_burst) says no.  Does not
 * consume @skb_in.  Worker context.
 */
void icmp_send(struct sk_buff *skb_in, uint8_t type, uint8_t code, uint32_t info);

#endif
