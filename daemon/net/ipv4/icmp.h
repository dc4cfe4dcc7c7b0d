/*
 * ICMP (RFC 792, RFC 1122 §3.2.2): echo, errors in both directions.
 */
#ifndef NS_NET_ICMP_H
#define NS_NET_ICMP_H

#include <stdint.h>

struct sk_buff;
struct net_protocol;

extern const struct net_protocol icmp_protocol;

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
