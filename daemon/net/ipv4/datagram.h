/*
 * What the datagram sockets of IPv4 share: UDP, ICMP "ping" sockets and
 * raw sockets (the kernel's net/core/sock.c sock_queue_rcv_skb,
 * net/ipv4/datagram.c ip4_datagram_connect, inet_getname and
 * inet_shutdown of af_inet.c, and the error queue of ip_sockglue.c).
 *
 * Each protocol keeps its own lookup and its own sendmsg; this module
 * moves records between the shared-memory rings and the protocols:
 * sock_queue_rcv() appends a received datagram to a socket's rx ring
 * (any worker, lookup lock held for reading, the ring under sk->rx_lock),
 * dgram_tx_ready() feeds the records of the tx ring to the protocol's
 * sendmsg (owner worker), and ip_icmp_error() queues an ICMP error for
 * IP_RECVERR (any worker, under sk->rx_lock).
 */
#ifndef NS_NET_IPV4_DATAGRAM_H
#define NS_NET_IPV4_DATAGRAM_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "core/drop.h"

struct fib_result;
struct sk_buff;
struct sock;
struct ns_dgram;

/* Records handled by dgram_tx_ready() per call before it yields. */
#define DGRAM_TX_BUDGET 256u

/* Error queue entries a socket keeps before it drops the oldest (sk_rmem bound). */
#define SOCK_ERRQ_MAX 64u

/* How a protocol's datagrams go out and what its drops are called. */
struct dgram_proto {
	/*
	 * Send one tx record (header @h, h->len bytes at @payload, both
	 * already copied out of the ring).  0 or -errno; a failure before an
	 * skb exists is counted by the protocol.  Owner worker.
	 */
	int (*sendmsg)(struct sock *sk, const struct ns_dgram *h, const unsigned char *payload);
	enum skb_drop_reason snd_invalid;  /* a corrupt tx ring */
};

/*
 * __sock_queue_rcv_skb: append a datagram (header @hdr, whose len says how
 * many bytes of @data follow) to @sk's rx ring, and wake a reader.  As the
 * kernel, a datagram is admitted while the bytes already queued do not
 * exceed SO_RCVBUF.  Returns 0, -ENOBUFS (SO_RCVBUF or the ring full:
 * counted in the socket's drops and its control block), or -EPIPE (no
 * shared memory yet, or the client corrupted the ring: the socket is then
 * dead).  Does not touch any skb.  Any worker; lookup lock held for
 * reading so that @sk cannot be released meanwhile.
 */
int sock_queue_rcv(struct sock *sk, struct ns_dgram *hdr, const void *data);

/* sock_queue_rcv that also gives the rx ring index just past the record in *@end. */
int sock_queue_rcv_end(struct sock *sk, struct ns_dgram *hdr, const void *data, uint64_t *end);

/*
 * Fill the receive information of @hdr from @skb (network header set):
 * source address @saddr:@port as @sk's family shows it (sockaddr_in, or a
 * v4-mapped sockaddr_in6), arrival interface, destination, TOS, TTL,
 * broadcast flag and, if the socket asked for it, the arrival time.
 * Sets hdr->len to @len.
 */
void dgram_rcv_info(const struct sock *sk, struct ns_dgram *hdr, const struct sk_buff *skb,
		    uint32_t saddr, uint16_t port, uint32_t len);

/* The client broke one of its rings: the socket is dead, for it only.  Any worker. */
void sock_mark_dead(struct sock *sk);

/*
 * ops->tx_ready of a datagram socket: send the records of the tx ring
 * with @proto->sendmsg, at most DGRAM_TX_BUDGET per call, publish the
 * consumer index and wake a writer waiting for room; then the need_kick
 * protocol of proto/shm.h.  A corrupt ring marks the socket dead.  Owner.
 */
void dgram_tx_ready(struct sock *sk, const struct dgram_proto *proto);

/*
 * A send failed after sendto() returned: make it the socket's pending
 * error if Linux would have reported it (errors of the application's own
 * making always; network conditions only to a connected socket or one
 * with IP_RECVERR).  Owner worker.
 */
void dgram_tx_error(struct sock *sk, int err);

/*
 * The MTU check of __ip_append_data: a socket that may not fragment
 * (IP_PMTUDISC_DO, PROBE, INTERFACE) refuses an IP datagram of @len bytes
 * (header included) over its MTU towards @daddr along @res (the path MTU
 * for DO, the device's for the others) with -EMSGSIZE; the other modes
 * are fragmented by IP.  0 if the datagram may go.  Owner worker.
 */
int dgram_check_mtu(const struct sock *sk, const struct fib_result *res, uint32_t daddr,
		    uint32_t len);

/*
 * __ip4_datagram_connect: route to the peer, take the route's source
 * address if unbound, remember peer and port.  -EINVAL (short address),
 * -EAFNOSUPPORT, -ENETUNREACH, -EACCES (broadcast without SO_BROADCAST).
 * Owner worker.
 */
int ip4_datagram_connect(struct sock *sk, const struct sockaddr *uaddr, socklen_t len);

/*
 * __udp_disconnect as ping and raw sockets use it (connect to AF_UNSPEC):
 * forget the peer, keep what bind() fixed.  Owner worker.
 */
void ip4_datagram_disconnect(struct sock *sk);

/*
 * inet_shutdown of a datagram socket: an unconnected one answers ENOTCONN
 * but is shut down all the same (so that a blocked reader wakes up).
 */
int inet_dgram_shutdown(struct sock *sk, int how);

/*
 * inet_addr_type(@addr) == RTN_LOCAL: one of our addresses or inside a
 * local route (all of 127/8).  What bind() accepts besides the wildcard.
 */
bool inet_addr_type_local(uint32_t addr);

/*
 * The errno an ICMP error of @type/@code means for a socket, and whether
 * it is "hard" (reported to a connected socket even without IP_RECVERR):
 * the kernel's icmp_err_convert[].  0 if the message is not an error a
 * socket hears about.
 */
int icmp_err_errno(uint8_t type, uint8_t code, bool *harderr);

/*
 * ip_icmp_error: queue the ICMP error about our packet in @skb (network
 * header = the quoted IP header, data at its transport header; ICMPCB
 * holds the ICMP message's own source and TTL) on @sk's error queue for
 * recvmsg(MSG_ERRQUEUE): errno @err, ICMP @type/@code/@info, the quoted
 * destination port @port (network order, 0 if none) and as the payload
 * what the packet quotes from @payload_off bytes past the transport
 * header on (UDP: its data; ping and raw: the whole ICMP or transport
 * header and data).  Any worker; lookup lock held for reading.
 */
void ip_icmp_error(struct sock *sk, const struct sk_buff *skb, uint32_t payload_off, int err,
		   uint16_t port, uint8_t type, uint8_t code, uint32_t info);

#endif
