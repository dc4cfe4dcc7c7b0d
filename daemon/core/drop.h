/*
 * Drop reasons: every place that frees a packet without delivering it names
 * why, as the kernel's kfree_skb_reason() does, and the reason is counted on
 * the calling worker's table.  netstackctl drops sums the tables.
 *
 * The list is an X-macro so that the enum, the names shown to users and the
 * explanations cannot drift apart.  Names follow the kernel's
 * SKB_DROP_REASON_* where one exists.  Append new reasons at the end of
 * their group; the numbers are not part of any wire format.
 */
#ifndef NS_CORE_DROP_H
#define NS_CORE_DROP_H

#include <stdint.h>

#include "core/counter.h"

#define SKB_DROP_REASONS(X)                                                        \
	X(CONSUMED, "not a drop: the packet was used")                             \
	X(NOT_SPECIFIED, "unspecified")                                            \
	X(NOMEM, "packet buffer pool exhausted")                                   \
	X(PKT_TOO_SMALL, "frame shorter than an Ethernet header")                  \
	X(PKT_TOO_BIG, "frame longer than the receive buffer, or DF packet over the MTU") \
	X(OTHERHOST, "frame addressed to another host's MAC")                      \
	X(UNHANDLED_PROTO, "no handler for the ethertype")                         \
	X(DEV_READY, "device is down")                                             \
	X(CPU_BACKLOG, "input_pkt_queue full (net.core.netdev_max_backlog)")       \
	X(ARP_TRUNCATED, "ARP packet shorter than its header")                     \
	X(ARP_BAD_HDR, "ARP hardware/protocol type or address length wrong")       \
	X(ARP_BAD_OP, "ARP operation not request or reply")                        \
	X(ARP_BAD_ADDR, "ARP sender address is broadcast, multicast or zero MAC")  \
	X(IP_TRUNCATED, "IPv4 packet shorter than a minimal header")               \
	X(IP_BAD_VERSION, "IPv4 version field is not 4")                           \
	X(IP_BAD_IHL, "IPv4 header length below 5 words or beyond the packet")     \
	X(IP_CSUM, "IPv4 header checksum wrong")                                   \
	X(IP_BAD_TOTLEN, "IPv4 total length larger than the frame or below IHL")   \
	X(IP_BAD_SRC, "IPv4 source is multicast, broadcast or loopback (martian)") \
	X(IP_NOT_LOCAL, "IPv4 destination not ours and forwarding is off")         \
	X(IP_FRAG, "IPv4 fragment with a bad offset or length (empty, past 65535 bytes or the datagram's end)") \
	X(DUP_FRAG, "IPv4 fragment already received (duplicate)")                 \
	X(FRAG_OVERLAP, "IPv4 fragments overlap (RFC 5722): the datagram is discarded") \
	X(FRAG_REASM_TIMEOUT, "IPv4 datagram not reassembled within net.ipv4.ipfrag_time") \
	X(FRAG_EVICTED, "incomplete IPv4 datagram evicted: reassembly memory over ipfrag_high_thresh") \
	X(FRAG_MEM_LIMIT, "IPv4 fragment refused: reassembly memory at net.ipv4.ipfrag_high_thresh") \
	X(IP_BAD_OPTIONS, "IPv4 options malformed (ICMP parameter problem sent)")   \
	X(IP_SOURCE_ROUTE, "source-routed IPv4 packet refused (net.ipv4.conf.all.accept_source_route)") \
	X(IP_NOPROTO, "no handler for the IP protocol")                            \
	X(IP_OUTNOROUTES, "no route to the destination")                           \
	X(IP_INNOROUTES, "no route to forward to (ICMP net unreachable sent)")     \
	X(IP_ROUTE_UNREACHABLE, "route is unreachable (ICMP host unreachable sent)") \
	X(IP_ROUTE_PROHIBIT, "route is prohibit (ICMP admin. prohibited sent)")    \
	X(IP_ROUTE_BLACKHOLE, "route is blackhole (dropped silently)")             \
	X(IP_FWD_TTL, "TTL expired in transit (ICMP time exceeded sent)")          \
	X(IP_FWD_FRAG_NEEDED, "DF set, larger than the next hop MTU (ICMP sent)")  \
	X(IP_FWD_SRR, "source-routed packet (LSRR/SSRR) not forwarded")            \
	X(IP_FWD_LINK_BCAST, "not forwarded: came in a link broadcast/multicast")  \
	X(IP_INVALID_DEST, "IPv4 destination is loopback on a non-loopback device (martian)") \
	X(NETFILTER_DROP, "dropped or rejected by a hook rule (netstackctl hook)") \
	X(ICMP_TRUNCATED, "ICMP message shorter than its header")                  \
	X(ICMP_CSUM, "ICMP checksum wrong")                                        \
	X(ICMP_TYPE, "ICMP type not handled")                                      \
	X(ICMP_RATELIMIT, "ICMP error suppressed by rate limit")                   \
	X(PING_NO_SOCKET, "echo reply whose identifier no ping or raw socket holds") \
	X(UDP_TRUNCATED, "UDP header truncated, or its length field bad")          \
	X(UDP_CSUM, "UDP checksum wrong")                                          \
	X(UDP_NO_SOCKET, "no UDP socket bound to the destination port")            \
	X(UDP_RCVBUF, "UDP socket receive buffer (SO_RCVBUF) or ring full")        \
	X(UDP_SOCK_DEAD, "UDP socket's shared memory corrupted by its client")     \
	X(UDP_SND_INVALID, "bad datagram record in a client's transmit ring")      \
	X(UDP_SND_ERROR, "UDP send refused before IP (EACCES, EPIPE, no port)")    \
	X(SOCK_RCVBUF, "ping or raw socket receive buffer (SO_RCVBUF) or ring full") \
	X(SOCK_DEAD, "ping or raw socket's shared memory corrupted by its client") \
	X(SOCK_SND_INVALID, "bad record in a ping or raw socket's transmit ring")  \
	X(SOCK_SND_ERROR, "ping or raw send refused before IP (EINVAL, EACCES, EPIPE)") \
	X(TCP_NOT_HOST, "TCP segment not addressed to this host (broadcast/multicast)") \
	X(TCP_TRUNCATED, "TCP segment shorter than its header")                    \
	X(TCP_BAD_DOFF, "TCP data offset below 5 words or beyond the segment")     \
	X(TCP_CSUM, "TCP checksum wrong")                                          \
	X(TCP_OPTIONS, "TCP options malformed")                                    \
	X(TCP_NO_SOCKET, "no TCP socket for the segment (answered with RST)")      \
	X(TCP_RESET, "TCP RST processed (or ignored as out of window)")            \
	X(TCP_FLAGS, "TCP flags invalid for the connection's state")               \
	X(TCP_LISTEN_OVERFLOW, "listener's accept or SYN queue full")              \
	X(TCP_ACK_UNSENT, "TCP ACK for data never sent, or unacceptable ACK")      \
	X(TCP_INVALID_SEQUENCE, "TCP segment outside the receive window")          \
	X(TCP_RFC7323_PAWS, "TCP timestamp older than the last (PAWS)")            \
	X(TCP_OLD_DATA, "TCP segment already received (duplicate)")                \
	X(TCP_OFO_DUP, "TCP out-of-order segment already queued")                  \
	X(TCP_OVERWINDOW, "TCP data beyond the receive window")                    \
	X(TCP_ZEROWINDOW, "TCP data while the receive window is zero")             \
	X(TCP_RCVBUF, "TCP receive ring full")                                     \
	X(TCP_CLOSED, "TCP segment for a closed or closing connection")            \
	X(NEIGH_FAILED, "neighbour resolution failed (no ARP reply)")              \
	X(NEIGH_QUEUEFULL, "too many packets waiting for ARP resolution")          \
	X(NEIGH_NOMEM, "neighbour table full")                                     \
	X(TX_ERROR, "device transmit failed")                                      \
	X(TX_HEADROOM, "no headroom to push a header")                             \
	X(SHUTDOWN, "discarded at shutdown")                                      \
	X(IMPAIR_LOSS, "lost by the test link impairment (net.netstack.impair.loss)") \
	X(IMPAIR_OVERFLOW, "test link impairment's delay queue full (net.netstack.impair.limit)") \
	X(QDISC_DROP, "transmit queue (qdisc) full: txqueuelen frames wait for the driver")

enum skb_drop_reason {
#define SKB_DROP_ENUM(name, text) SKB_DROP_REASON_##name,
	SKB_DROP_REASONS(SKB_DROP_ENUM)
#undef SKB_DROP_ENUM
	SKB_DROP_REASON_MAX
};

/* One table of counters per worker; one writer each. */
struct drop_stats {
	ns_counter_t count[SKB_DROP_REASON_MAX];
};

/* Kernel-style name ("IP_CSUM") and explanation of a reason. */
const char *skb_drop_reason_name(enum skb_drop_reason reason);
const char *skb_drop_reason_text(enum skb_drop_reason reason);

/*
 * Select the table that drops on the calling thread are counted in.  Threads
 * without one (start-up, tests) count in a shared fallback table.
 */
void drop_stats_set_current(struct drop_stats *stats);

/* Count one drop of @reason on the calling thread's table. */
void drop_count(enum skb_drop_reason reason);

/* Sum of all tables registered with drop_stats_register(), plus the fallback. */
void drop_stats_register(struct drop_stats *stats);
void drop_stats_unregister(struct drop_stats *stats);
uint64_t drop_stats_total(enum skb_drop_reason reason);

#endif
