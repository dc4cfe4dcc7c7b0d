/*
 * Packet trace sessions (netstackctl trace): the sampler's filter, the
 * "read by client" watches and the collector thread that streams finished
 * records (proto/trace.h) to netstackctl.  The records and the hooks on
 * the data path are core/trace.h's.
 *
 * One trace runs at a time (-EBUSY otherwise).  It samples the first
 * COUNT packets that pass the capture filter (net/packet/capture.h) on
 * the chosen device: received frames at the driver, sent packets at the
 * socket's transmit.  The collector thread pops finished records from the
 * lock-free done stack every millisecond (workers never wait for it), and
 * resolves "read by client": a datagram queued to a socket's rx ring arms
 * a watch with the ring index just past its record; the collector reads
 * the ring's consumer index (which the client advances when it reads) at
 * each pass and stamps the stage when the index has passed the record.
 * The stamp is therefore late by up to one pass (about 1 ms, more on a
 * loaded machine); a datagram not read within PKT_TRACE_READ_WAIT_MS
 * ends with "not read by client"; when the socket closes, the watch ends
 * at once: "read by client" if the index passed the record by then, else
 * "socket closed before read".  TCP data is watched the same way on the
 * stream ring (the index past the segment's bytes).  The trace ends when all COUNT records were sent,
 * when the reader shuts its side down, or at daemon shutdown; records
 * still in flight then are counted as unfinished in the end record.
 *
 * Context: pkt_trace_start / pkt_trace_exit on the control thread;
 * trace_sock_closing on a socket's owner worker (takes the watch lock,
 * only while watches are armed); the collector on its own thread.
 */
#ifndef NS_NET_PACKET_PKT_TRACE_H
#define NS_NET_PACKET_PKT_TRACE_H

#include <stddef.h>
#include <stdint.h>

struct sock;

#define PKT_TRACE_DEFAULT_COUNT 1u
#define PKT_TRACE_READ_WAIT_MS 2000u

/*
 * Start a trace of @count packets (0: the default; at most TRACE_SLOTS)
 * on @ifname ("" or NULL: every device) that pass the filter words
 * @argv[0..@argc).  On success *@fd is the reader's end of the stream and
 * *@granted the records reserved.  0 or -errno (-EBUSY a trace runs,
 * -ENODEV, -EINVAL with the reason in @err, -ENOMEM).  Control thread.
 */
int pkt_trace_start(const char *ifname, int argc, char *const *argv, uint32_t count, int *fd,
		    uint32_t *granted, char *err, size_t errlen);

/* @sk is closing (owner worker): its armed watches end as "socket closed". */
void trace_sock_closing(struct sock *sk);

/* End the running trace (daemon shutdown) and join its thread.  Control thread. */
void pkt_trace_exit(void);

#endif
