/*
 * The capture stream: what netstackd writes on the descriptor it passes
 * with the reply to a CaptureRequest (netstackctl capture), a SOCK_STREAM
 * Unix socket.  A sequence of records, each a struct ns_capture_rec
 * followed by caplen bytes and padding to a multiple of 8: frames
 * (NS_CAPTURE_FRAME, the bytes from the Ethernet header), and one
 * NS_CAPTURE_END last, whose payload is a struct ns_capture_end.  The
 * reader ends the capture by shutting down its writing side (or closing);
 * netstackd then detaches, sends what it still holds and the end record,
 * and closes.  Host byte order (both ends run on one machine).
 * Nothing here depends on daemon/ or libclient/.
 */
#ifndef NS_PROTO_CAPTURE_H
#define NS_PROTO_CAPTURE_H

#include <stdint.h>

enum {
	NS_CAPTURE_FRAME = 1,
	NS_CAPTURE_END = 2,
};

enum {
	NS_CAPTURE_IN = 0,          /* received: seen by the taps of __netif_receive_skb */
	NS_CAPTURE_OUT = 1,         /* sent: seen at dev_queue_xmit */
};

struct ns_capture_rec {
	uint16_t type;              /* NS_CAPTURE_* */
	uint8_t dir;                /* NS_CAPTURE_IN / OUT */
	uint8_t pad;
	uint32_t ifindex;
	uint32_t caplen;            /* bytes that follow (before padding) */
	uint32_t len;               /* the frame's length on the wire */
	uint64_t tstamp_ns;         /* CLOCK_REALTIME */
	char ifname[16];
};

_Static_assert(sizeof(struct ns_capture_rec) == 40, "capture record header");

struct ns_capture_end {
	uint64_t captured;          /* frames that matched and were written */
	uint64_t dropped;           /* matched but lost: the buffer was full */
};

#define NS_CAPTURE_ALIGN(n) (((n) + 7u) & ~7u)

#endif
