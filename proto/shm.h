/*
 * The shared-memory contract between netstackd and libnetstack.so.
 *
 * Each client process gets one region: a sealed memfd (F_SEAL_SHRINK,
 * F_SEAL_GROW, F_SEAL_SEAL) of a fixed size, created by the daemon and
 * passed with SCM_RIGHTS in the HelloReply; both sides map it MAP_SHARED.
 * The region starts with struct ns_shm_hdr; every socket then owns a
 * control block (struct ns_sock_shm, one page) and two rings elsewhere in
 * the region at offsets the daemon chooses (given in SocketReply and in the
 * control block).  A forked child keeps the same mapping.
 *
 * Rings.  A ring is a power-of-two byte array with two free-running 64-bit
 * byte counters: prod (written only by the producer) and cons (written only
 * by the consumer); used = prod - cons, free = size - used.  The producer
 * writes data, then stores prod with release order; the consumer loads prod
 * with acquire order, reads, then stores cons with release order.  rx: the
 * daemon produces, the client consumes.  tx: the client produces, the
 * daemon consumes.
 *
 * Datagram rings hold records: a struct ns_dgram header followed by the
 * payload, the whole padded to NS_DGRAM_ALIGN.  A record never wraps: a
 * producer that lacks contiguous room before the end writes a header with
 * len == NS_DGRAM_WRAP (when at least a header fits; otherwise the tail is
 * skipped implicitly) and continues at offset 0; the consumer treats
 * either as "skip to the start".
 *
 * Stream rings (TCP) hold plain bytes that wrap around.  rx: in-order
 * payload the daemon received; its free space is the receive window.  tx:
 * bytes the application wrote; the daemon builds segments straight from
 * the ring and advances tx.cons only when the peer acknowledged them, so
 * the tx ring is the retransmit queue and its size the send buffer.
 * Stream state for the client: NS_SS_CONNECTING then NS_SS_CONNECTED;
 * NS_SS_RCV_SHUTDOWN when the peer's FIN arrived (EOF once rx is empty);
 * NS_SS_SEND_SHUTDOWN when writing is no longer possible (EPIPE); errors
 * (ECONNREFUSED, ECONNRESET, ETIMEDOUT) in so_error with NS_SS_DEAD.  A
 * listener counts accept()able connections in accept_q and wakes
 * NS_WAIT_RX waiters when it grows.
 *
 * Wake-ups (eventfds, passed with SCM_RIGHTS):
 *   - notify fd (one per socket, in SocketReply/AcceptReply): the socket's
 *     file descriptor in the application.  The daemon writes it when it
 *     changed the socket in a way the client asked to hear about
 *     (client_wait bits), and sets notify_pending first so that it writes
 *     at most once until the client drains the eventfd.
 *   - doorbells (one per daemon worker and region, in HelloReply after the
 *     memfd): the client rings the owner worker's doorbell (control block
 *     field bell) after producing into tx when need_kick is set (the
 *     daemon is not polling this ring), or after consuming from rx when
 *     rx_kick was set.  To say which socket, it first marks the socket's
 *     slot in that doorbell's bitmap in the region (ns_bell_mark below):
 *     the bit, then the summary bit over its word, then an exchange of
 *     rung to 1; only if rung was 0 does it write the eventfd.  The daemon,
 *     woken, drains the eventfd, exchanges rung to 0, then takes summary
 *     words and bit words with exchanges to 0 and serves every marked slot
 *     that it knows as a socket of its own.  So a socket costs one
 *     descriptor on each side, and kicks of many sockets share one write.
 * Both sides follow the same pattern to never lose a wake-up: publish
 * (store prod / set client_wait), then read the other side's flag with a
 * seq_cst read-modify-write on that same flag (two RMWs on one variable are
 * totally ordered, so one side always sees the other), then re-check.  The
 * client drains the notify eventfd in this order: read the eventfd, clear
 * notify_pending, re-check the socket and write the eventfd back if ready.
 *
 * Trust.  The daemon never trusts anything a client can write: it keeps its
 * own copy of every offset and size, reads only the indices and record
 * contents from the region, and validates them (cons <= prod, prod - cons
 * <= size, record lengths within the ring and the datagram limits).  A
 * client that corrupts its region only breaks its own sockets.
 *
 * Nothing here depends on daemon/ or libclient/.
 */
#ifndef NS_PROTO_SHM_H
#define NS_PROTO_SHM_H

#include <stdatomic.h>
#include <stdint.h>

#define NS_SHM_MAGIC 0x4e53484du       /* "NSHM" */
#define NS_SHM_LAYOUT_VERSION 3u
#define NS_SOCK_MAGIC 0x4e53534bu      /* "NSSK" */
#define NS_SHM_PAGE 4096u

struct ns_shm_hdr {
	uint32_t magic;
	uint32_t version;
	uint64_t size;                  /* bytes in the region */
	_Atomic uint32_t daemon_alive;  /* 0 once the daemon shut down */
	uint32_t nr_bells;              /* doorbells: one per daemon worker */
	uint64_t bells_off;             /* their bitmaps (struct ns_shm_bell) */
	uint32_t bell_stride;           /* bytes from one doorbell's to the next */
	uint32_t bell_slots;            /* bits in each bitmap: region pages */
	uint32_t reserved[5];
};

_Static_assert(sizeof(struct ns_shm_hdr) == 64, "ns_shm_hdr layout");

/* Most doorbells a region has (the daemon's most workers). */
#define NS_SHM_MAX_BELLS 64u

struct ns_ring {
	_Alignas(64) _Atomic uint64_t prod;
	_Alignas(64) _Atomic uint64_t cons;
};

/* ns_sock_shm.kind */
enum {
	NS_SOCK_DGRAM = 1,
	NS_SOCK_STREAM = 2,
};

/* ns_sock_shm.state bits (daemon writes) */
enum {
	NS_SS_BOUND = 1u << 0,
	NS_SS_CONNECTED = 1u << 1,
	NS_SS_LISTENING = 1u << 2,
	NS_SS_RCV_SHUTDOWN = 1u << 3,   /* no more data will arrive (EOF) */
	NS_SS_SEND_SHUTDOWN = 1u << 4,
	NS_SS_DEAD = 1u << 5,           /* closed or reset by the daemon */
	NS_SS_CONNECTING = 1u << 6,     /* stream: SYN sent, handshake not done */
	NS_SS_ERRQUEUE = 1u << 7,       /* datagram: the error queue (IP_RECVERR)
					 * is not empty; recvmsg(MSG_ERRQUEUE)
					 * fetches an entry with RecvErrRequest */
};

/* ns_sock_shm.client_wait bits (client writes) */
enum {
	NS_WAIT_RX = 1u << 0,           /* tell me when rx gets data, EOF or an error */
	NS_WAIT_TX = 1u << 1,           /* tell me when tx has room */
};

struct ns_sock_shm {
	/* Line 0: written by the daemon at creation, then read-only. */
	_Alignas(64) uint32_t magic;    /* NS_SOCK_MAGIC */
	uint32_t kind;                  /* NS_SOCK_DGRAM or NS_SOCK_STREAM */
	uint64_t sock_id;
	uint64_t rx_off;                /* ring data, offsets from the region start */
	uint32_t rx_size;               /* power of two */
	uint32_t tx_size;               /* power of two */
	uint64_t tx_off;
	uint32_t max_dgram;             /* largest payload accepted on tx */
	uint32_t bell;                  /* the doorbell to ring: owner worker */
	uint32_t slot;                  /* this socket's bit in its bitmap */

	/* Line 1: daemon writes while the socket lives. */
	_Alignas(64) _Atomic uint32_t state;   /* NS_SS_* */
	_Atomic int32_t so_error;       /* pending error (positive errno); the
					 * client takes it with an exchange to 0 */
	_Atomic uint32_t rx_dropped;    /* datagrams dropped: rx full or rcvbuf */
	_Atomic uint32_t rcvbuf;        /* current SO_RCVBUF limit (bytes of records) */
	_Atomic uint32_t sndbuf;        /* current SO_SNDBUF limit */
	_Atomic uint32_t accept_q;      /* stream listener: connections ready to accept() */
	_Atomic uint32_t tcp_state;     /* stream: TCP_ESTABLISHED... (netinet/tcp.h numbers) */

	/* Line 2: client writes, daemon reads. */
	_Alignas(64) _Atomic uint32_t client_wait;   /* NS_WAIT_* */
	_Atomic uint32_t tx_more;       /* stream: 1 while the writer sends with
					 * MSG_MORE (do not push a partial segment) */

	/* Line 3: both write (see the wake-up rules above). */
	_Alignas(64) _Atomic uint32_t need_kick;     /* daemon: ring the doorbell */
	_Atomic uint32_t notify_pending;             /* daemon set, client clears */
	/*
	 * Stream rx: the daemon sets rx_kick when it wants to hear that the
	 * client consumed from rx (its advertised window got small and a
	 * window update is due).  The client, after publishing rx.cons, takes
	 * it with an exchange to 0 and rings the doorbell if it was set; the
	 * daemon sets it with an exchange, then re-reads rx.cons.
	 */
	_Atomic uint32_t rx_kick;

	/* Line 4: client-private: a process-shared futex lock serialising the
	 * client's threads and forked processes on this socket's rings. */
	_Alignas(64) _Atomic uint32_t client_lock;

	struct ns_ring rx;              /* daemon -> client */
	struct ns_ring tx;              /* client -> daemon */
};

_Static_assert(sizeof(struct ns_sock_shm) <= NS_SHM_PAGE, "control block fits a page");

/* Doorbells --------------------------------------------------------------- */

/*
 * One doorbell's bitmap in the region: rung, then ns_bell_sum_words()
 * summary words (bit j of word i: bit word i * 64 + j may be non-zero),
 * then ns_bell_bit_words() bit words (bit j of word i: slot i * 64 + j).
 * A socket's slot is its control block's offset / NS_SHM_PAGE.
 */
struct ns_shm_bell {
	_Alignas(64) _Atomic uint32_t rung;     /* 1: the eventfd was written and
						 * the daemon has not scanned yet */
	uint32_t reserved[15];
	_Atomic uint64_t words[];
};

static inline uint32_t ns_bell_bit_words(uint32_t slots)
{
	return (slots + 63) / 64;
}

static inline uint32_t ns_bell_sum_words(uint32_t slots)
{
	return (ns_bell_bit_words(slots) + 63) / 64;
}

/* Bytes one doorbell's bitmap takes, rounded to a cache line. */
static inline uint64_t ns_bell_size(uint32_t slots)
{
	uint64_t n = sizeof(struct ns_shm_bell) +
		     8ull * (ns_bell_sum_words(slots) + ns_bell_bit_words(slots));

	return (n + 63) & ~63ull;
}

/*
 * Mark @slot (< @slots) in @b.  Returns true if the caller must write the
 * doorbell's eventfd (nobody rang it since the daemon's last scan).
 */
static inline int ns_bell_mark(struct ns_shm_bell *b, uint32_t slots, uint32_t slot)
{
	_Atomic uint64_t *sum = b->words;
	_Atomic uint64_t *bits = b->words + ns_bell_sum_words(slots);
	uint32_t w = slot / 64;

	atomic_fetch_or_explicit(&bits[w], 1ull << (slot % 64), memory_order_seq_cst);
	atomic_fetch_or_explicit(&sum[w / 64], 1ull << (w % 64), memory_order_seq_cst);
	return atomic_exchange_explicit(&b->rung, 1, memory_order_seq_cst) == 0;
}

/* Datagram records ------------------------------------------------------- */

#define NS_DGRAM_ALIGN 8u
#define NS_DGRAM_WRAP 0xffffffffu       /* len value: skip to the ring start */
#define NS_DGRAM_MAX 65507u             /* largest UDP payload over IPv4 */
#define NS_DGRAM_LEN_MAX 65535u         /* largest record payload: a whole IPv4
					 * packet (raw sockets receive headers) */

/* ns_dgram.flags on rx */
enum {
	NS_DGRAM_F_PKTINFO = 1u << 0,   /* ifindex and dst are valid */
	NS_DGRAM_F_BCAST = 1u << 1,     /* arrived as link/IP broadcast */
	NS_DGRAM_F_TSTAMP = 1u << 2,    /* tstamp_us is valid (SO_TIMESTAMP) */
};

struct ns_dgram {
	uint32_t len;                   /* payload bytes, or NS_DGRAM_WRAP */
	uint32_t flags;                 /* rx: NS_DGRAM_F_*; tx: 0 */
	uint32_t addrlen;               /* bytes valid in addr (0: none/connected) */
	uint32_t ifindex;               /* rx: arrival interface */
	uint8_t addr[28];               /* rx: source; tx: destination; a raw
					 * struct sockaddr_in or sockaddr_in6 */
	uint32_t dst;                   /* rx: destination address (network order) */
	uint8_t tos;                    /* rx: received TOS; tx: 0 = socket's */
	uint8_t ttl;                    /* rx: received TTL; tx: 0 = socket's */
	uint16_t reserved;
	uint32_t tstamp_us;             /* rx with NS_DGRAM_F_TSTAMP: arrival time,
					 * CLOCK_REALTIME microseconds modulo 2^32
					 * (the reader adds the high bits of its
					 * own clock: exact for 71 minutes) */
};

_Static_assert(sizeof(struct ns_dgram) == 56, "ns_dgram layout");

/* Bytes a record with @len payload bytes takes in a ring. */
static inline uint32_t ns_dgram_record_size(uint32_t len)
{
	return (uint32_t)((sizeof(struct ns_dgram) + len + NS_DGRAM_ALIGN - 1) &
			  ~(NS_DGRAM_ALIGN - 1));
}

static inline struct ns_sock_shm *ns_shm_sock(void *region, uint64_t off)
{
	return (struct ns_sock_shm *)((char *)region + off);
}

#endif
