/*
 * The IP protocol table (the kernel's inet_protos[] / inet_add_protocol):
 * ip_local_deliver hands a packet to the handler registered for its
 * protocol number.  Filled at start-up before workers run; read-only after.
 */
#ifndef NS_NET_PROTOCOL_H
#define NS_NET_PROTOCOL_H

#include <stdint.h>

struct sk_buff;

struct net_protocol {
	const char *name;
	/*
	 * Receive: skb->data at the transport header, network header set.
	 * Consumes the skb.  Returns 0 (or a negative value when dropped).
	 */
	int (*handler)(struct sk_buff *skb);
	/*
	 * An ICMP error about a packet we sent: @skb->data at the quoted
	 * transport header (network header = the quoted IP header).
	 * Does not consume @skb.
	 */
	void (*err_handler)(struct sk_buff *skb, uint8_t type, uint8_t code, uint32_t info);
};

/* Register @prot for IP protocol @num.  0 or -EBUSY. */
int inet_add_protocol(const struct net_protocol *prot, uint8_t num);
int inet_del_protocol(const struct net_protocol *prot, uint8_t num);

/* The handler for @num, or NULL. */
const struct net_protocol *inet_proto_get(uint8_t num);

#endif
