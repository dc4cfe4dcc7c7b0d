/*
 * The TCP header and options on the wire (RFC 9293, 7323, 2018).
 */
#ifndef NS_WIRE_TCP_H
#define NS_WIRE_TCP_H

#include <stdint.h>

struct tcphdr_ns {
	uint16_t source;
	uint16_t dest;
	uint32_t seq;
	uint32_t ack_seq;
	uint8_t doff_res;               /* data offset in words << 4 */
	uint8_t flags;                  /* TCPHDR_* */
	uint16_t window;
	uint16_t check;
	uint16_t urg_ptr;
} __attribute__((packed));

_Static_assert(sizeof(struct tcphdr_ns) == 20, "tcp header");

#define TCPHDR_FIN 0x01
#define TCPHDR_SYN 0x02
#define TCPHDR_RST 0x04
#define TCPHDR_PSH 0x08
#define TCPHDR_ACK 0x10
#define TCPHDR_URG 0x20
#define TCPHDR_ECE 0x40
#define TCPHDR_CWR 0x80

static inline unsigned int tcp_hdrlen_of(const struct tcphdr_ns *th)
{
	return (unsigned int)(th->doff_res >> 4) * 4u;
}

/* Option kinds. */
#define TCPOPT_EOL 0
#define TCPOPT_NOP 1
#define TCPOPT_MSS 2
#define TCPOPT_WINDOW 3
#define TCPOPT_SACK_PERM 4
#define TCPOPT_SACK 5
#define TCPOPT_TIMESTAMP 8

#define TCPOLEN_MSS 4
#define TCPOLEN_WINDOW 3
#define TCPOLEN_SACK_PERM 2
#define TCPOLEN_TIMESTAMP 10
#define TCPOLEN_TSTAMP_ALIGNED 12
#define TCPOLEN_SACK_BASE 2
#define TCPOLEN_SACK_PERBLOCK 8

#define TCP_MAX_WSCALE 14
#define TCP_MAX_OPTLEN 40

#endif
