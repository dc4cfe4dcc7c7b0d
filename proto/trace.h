/*
 * The packet trace stream: what netstackd writes on the descriptor it
 * passes with the reply to a TraceRequest (netstackctl trace), a
 * SOCK_STREAM Unix socket.  A sequence of records of one size: one
 * NS_TRACE_PACKET per sampled packet once its journey has ended (every
 * stage it passed, and the stages of the packets sent in response to it),
 * and one NS_TRACE_END last with the counts.  The reader ends the trace
 * early by shutting down its writing side.  Host byte order (both ends run
 * on one machine).  The stage list is an X-macro shared by both ends so
 * that the ids and names cannot drift apart.
 * Nothing here depends on daemon/ or libclient/.
 */
#ifndef NS_PROTO_TRACE_H
#define NS_PROTO_TRACE_H

#include <stdint.h>

/*
 * Stages, in pipeline order: receive, socket, transmit, the end.  Names
 * are the kernel functions (and hook points) they mirror.  Append only
 * inside a group's reserve: ids are part of the stream.
 */
#define NS_TRACE_STAGES(X)                                               \
	X(IRQ, "tap_irq_handler")                                        \
	X(NAPI_POLL, "napi_poll")                                        \
	X(GRO, "napi_gro_receive")                                       \
	X(RPS, "enqueue_to_backlog")                                     \
	X(BACKLOG, "process_backlog")                                    \
	X(NETIF_RECEIVE_SKB, "netif_receive_skb")                        \
	X(TAPS, "ptype_all")                                             \
	X(ARP_RCV, "arp_rcv")                                            \
	X(IP_RCV, "ip_rcv")                                              \
	X(PRE_ROUTING, "PRE_ROUTING")                                    \
	X(ROUTE_INPUT, "ip_route_input")                                 \
	X(IP_LOCAL_DELIVER, "ip_local_deliver")                          \
	X(LOCAL_IN, "LOCAL_IN")                                          \
	X(IP_FORWARD, "ip_forward")                                      \
	X(FORWARD, "FORWARD")                                            \
	X(RAW_RCV, "raw_local_deliver")                                  \
	X(UDP_RCV, "udp_rcv")                                            \
	X(TCP_V4_RCV, "tcp_v4_rcv")                                      \
	X(ICMP_RCV, "icmp_rcv")                                          \
	X(PING_RCV, "ping_rcv")                                          \
	X(SOCK_QUEUE, "socket queue")                                    \
	X(CLIENT_READ, "read by client")                                 \
	X(READ_TIMEOUT, "not read by client")                            \
	X(SOCK_CLOSED, "socket closed before read")                      \
	X(SOCK_WRITE, "socket write (doorbell)")                         \
	X(UDP_SENDMSG, "udp_sendmsg")                                    \
	X(PING_SENDMSG, "ping_v4_sendmsg")                               \
	X(RAW_SENDMSG, "raw_sendmsg")                                    \
	X(TCP_TRANSMIT_SKB, "tcp_transmit_skb")                          \
	X(ICMP_REPLY, "icmp_reply")                                      \
	X(ICMP_SEND, "icmp_send")                                        \
	X(TCP_SEND_RESET, "tcp_v4_send_reset")                           \
	X(IP_LOCAL_OUT, "ip_local_out")                                  \
	X(LOCAL_OUT, "LOCAL_OUT")                                        \
	X(IP_OUTPUT, "ip_output")                                        \
	X(POST_ROUTING, "POST_ROUTING")                                  \
	X(IP_FRAGMENT, "ip_fragment")                                    \
	X(NEIGH_OUTPUT, "neigh_output")                                  \
	X(DEV_QUEUE_XMIT, "dev_queue_xmit")                              \
	X(QDISC, "qdisc")                                                \
	X(DRIVER_XMIT, "driver xmit")                                    \
	X(DROP, "drop")

enum ns_trace_stage_id {
#define NS_TRACE_ENUM(name, text) NS_TRACE_##name,
	NS_TRACE_STAGES(NS_TRACE_ENUM)
#undef NS_TRACE_ENUM
	NS_TRACE_NSTAGE_IDS
};

/* ip_route_input's answer (aux of NS_TRACE_ROUTE_INPUT). */
enum {
	NS_TRACE_ROUTE_LOCAL = 0,
	NS_TRACE_ROUTE_BROADCAST = 1,
	NS_TRACE_ROUTE_MULTICAST = 2,
	NS_TRACE_ROUTE_FORWARD = 3,
	NS_TRACE_ROUTE_DROP = 4,
};

/* neigh_output's path (aux of NS_TRACE_NEIGH_OUTPUT). */
enum {
	NS_TRACE_NEIGH_RESOLVED = 0,
	NS_TRACE_NEIGH_QUEUED = 1,      /* waits for an ARP reply */
};

#define NS_TRACE_MAX_STAGES 48
#define NS_TRACE_MAX_PKTS 4
#define NS_TRACE_CPU_CLIENT (-2)    /* stamped by the trace collector for the client */

enum {
	NS_TRACE_PACKET = 1,
	NS_TRACE_END = 2,
};

enum {
	NS_TRACE_DIR_RX = 0,            /* sampled at the driver's receive */
	NS_TRACE_DIR_TX = 1,            /* sampled at a socket's transmit */
	NS_TRACE_DIR_REPLY = 2,         /* sent in response to another packet of the record */
};

/* One stage a packet passed. */
struct ns_trace_stage {
	uint64_t t_ns;              /* CLOCK_MONOTONIC */
	uint32_t aux;               /* stage-specific: route, queue, errno, ... */
	uint16_t id;                /* enum ns_trace_stage_id */
	uint8_t pkt;                /* index into ns_trace_rec.pkts */
	int8_t cpu;                 /* worker; -1 other thread; NS_TRACE_CPU_CLIENT */
};

_Static_assert(sizeof(struct ns_trace_stage) == 16, "trace stage");

/* What one packet of a record was (filled from its headers when known). */
struct ns_trace_pkt {
	uint8_t dir;                /* NS_TRACE_DIR_* */
	uint8_t parent;             /* for replies: the packet that caused it */
	uint8_t proto;              /* IP protocol, 0 unknown */
	uint8_t icmp_type;
	uint8_t icmp_code;
	uint8_t pad[3];
	uint16_t sport, dport;      /* host order */
	uint32_t saddr, daddr;      /* network order */
	uint32_t len;               /* IP total length (0 unknown) */
	char drop[40];              /* drop reason name, "" if not dropped */
};

struct ns_trace_rec {
	uint16_t type;              /* NS_TRACE_* */
	uint16_t nstages;
	uint8_t npkts;
	uint8_t truncated;          /* stages beyond NS_TRACE_MAX_STAGES were lost */
	uint16_t pad;
	uint32_t seq;               /* 1, 2, ...: order of sampling */
	uint32_t ifindex;
	char ifname[16];
	struct ns_trace_pkt pkts[NS_TRACE_MAX_PKTS];
	struct ns_trace_stage st[NS_TRACE_MAX_STAGES];
};

/*
 * NS_TRACE_END: the counts, at the start of a record of the same size
 * (every record on the stream is sizeof(struct ns_trace_rec) bytes).
 */
struct ns_trace_end {
	uint16_t type;              /* NS_TRACE_END */
	uint16_t pad[3];
	uint64_t sampled;           /* packets that matched and got a record */
	uint64_t finished;          /* records sent */
	uint64_t unfinished;        /* still in flight when the trace ended */
};

#endif
