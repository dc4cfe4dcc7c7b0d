/*
 * Packet capture (netstackctl capture): a tap on ptype_all, the role the
 * kernel's af_packet (packet_rcv, the tpacket ring) plays for tcpdump.
 *
 * Each capture registers a packet_type tap.  Its func (packet_rcv) runs
 * on the worker that received or sent the frame (__netif_receive_skb's
 * taps, dev_queue_xmit_nit), filters it and copies it into that worker's
 * own bounded ring (single producer, single consumer; threads that are no
 * worker share one more ring under a mutex).  A frame that does not fit
 * is counted as dropped, never waited for.  One thread per capture drains
 * the rings and writes the records (proto/capture.h) to a Unix stream
 * socket whose other end netstackctl holds; it ends the capture when the
 * reader shuts its side down, detaches the tap, waits for a grace period,
 * sends the rest and an end record with the counts, and closes.
 *
 * Context: capture_start / capture_exit on the control thread; packet_rcv
 * on workers; the drain thread alone reads the rings.
 */
#ifndef NS_NET_PACKET_CAPTURE_H
#define NS_NET_PACKET_CAPTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CAPTURE_MAX_TERMS 8
#define CAPTURE_DEFAULT_BUFFER_KB 4096u
#define CAPTURE_MAX_BUFFER_KB (256u * 1024u)
#define CAPTURE_MAX_SNAPLEN 65535u

enum capture_term_kind {
	CAPTURE_PROTO,              /* value: IPPROTO_* with ethertype IP, or ARP */
	CAPTURE_HOST,               /* value: address; dir: 0 either, 1 src, 2 dst */
	CAPTURE_PORT,               /* value: TCP/UDP port; dir as for HOST */
};

#define CAPTURE_PROTO_ARP 0x100u
#define CAPTURE_PROTO_IP 0x200u

struct capture_term {
	uint8_t kind;               /* enum capture_term_kind */
	uint8_t dir;                /* 0 either, 1 src, 2 dst */
	bool negate;
	uint32_t value;             /* address in network order, port or protocol */
};

/* A conjunction of terms (tcpdump's "A and B and not C"); empty: everything. */
struct capture_filter {
	unsigned int n;
	struct capture_term t[CAPTURE_MAX_TERMS];
};

/*
 * Parse tcpdump-like words: PRIMITIVE [and PRIMITIVE]..., a primitive
 * being [not] tcp | udp | icmp | arp | ip | [src|dst] host A.B.C.D |
 * [src|dst] port N.  0 or -EINVAL with a reason in @err.
 */
int capture_filter_parse(int argc, char *const *argv, struct capture_filter *f, char *err,
			 size_t errlen);

/* Does the Ethernet frame @frame (@len bytes) pass @f?  Pure. */
bool capture_filter_match(const struct capture_filter *f, const uint8_t *frame, uint32_t len);

/*
 * Start a capture of frames on @ifname ("" or NULL: every device) that
 * pass @f, at most @snaplen bytes of each (0: CAPTURE_MAX_SNAPLEN), with a
 * ring of @buffer_kb KiB per worker (0: the default).  On success *@fd is
 * the reader's end of the stream (the caller passes it on and closes it).
 * 0, or -errno (-ENODEV no such device, -EINVAL, -ENOMEM, -EMFILE) with a
 * reason in @err.  Control thread.
 */
int capture_start(const char *ifname, const struct capture_filter *f, uint32_t snaplen,
		  uint32_t buffer_kb, int *fd, char *err, size_t errlen);

/* Captures running now (for tests and logs). */
unsigned int capture_count(void);

/*
 * End every capture (daemon shutdown): each sends its end record and its
 * thread is joined.  Control thread.
 */
void capture_exit(void);

#endif
