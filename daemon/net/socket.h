/*
 * The socket layer (the kernel's net/socket.c + af_inet.c inetsw): struct
 * sock, the (family, type, protocol) -> operations table, and the entry
 * points the IPC session layer calls for a client's socket requests.
 *
 * Threads.  A socket belongs to one worker, its owner (sk->owner_cpu).
 * The sock_* entry points below are called on the control thread; each
 * hops to the owner with softnet_call_wait() and runs the protocol's
 * operation there, so a socket's state is only ever changed by its owner.
 * The receive path may run on other workers (RPS spreads an unconnected
 * socket's senders); it only appends to the rx ring, under sk->rx_lock.
 *
 * Shared memory.  The session layer allocates the socket's control block
 * and rings in the client's region (proto/shm.h) and hands them over with
 * sock_attach(); from then on the socket's owner consumes its tx ring when
 * the doorbell rings, and any worker may produce into its rx ring.
 *
 * Lifetime.  A socket is referenced by every client session (process)
 * that holds it (fork shares sockets); sock_put() of the last reference
 * closes it: it is unhashed on its owner, leaves its doorbell slot, and
 * the memory is freed.
 */
#ifndef NS_NET_SOCKET_H
#define NS_NET_SOCKET_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "../../proto/shm.h"
#include "../../proto/shm_ring.h"
#include "core/softnet.h"

struct sock;
struct sk_buff;
struct sock_info;

/*
 * Who creates a socket (the kernel's current_cred()): the client's uid
 * and gid from SO_PEERCRED.  Raw sockets need uid 0 (CAP_NET_RAW), ping
 * sockets a gid inside net.ipv4.ping_group_range.
 */
struct sock_cred {
	uint32_t uid;
	uint32_t gid;
};

/* root: what sock_create() assumes (tests, sockets the daemon makes itself). */
extern const struct sock_cred sock_cred_root;

/* Operations of one (family, type) pair; every function runs on the owner. */
struct proto_ops {
	const char *name;               /* "udp", "icmp", "raw", later "tcp" */
	/* Largest tx record payload (0: NS_DGRAM_MAX, a UDP payload). */
	uint32_t max_dgram;
	int (*bind)(struct sock *sk, const struct sockaddr *addr, socklen_t len);
	int (*connect)(struct sock *sk, const struct sockaddr *addr, socklen_t len);
	int (*listen)(struct sock *sk, int backlog);
	int (*setsockopt)(struct sock *sk, int level, int name, const void *val, socklen_t len);
	/* On entry *len is the caller's buffer size; on return the bytes written. */
	int (*getsockopt)(struct sock *sk, int level, int name, void *val, socklen_t *len);
	int (*getname)(struct sock *sk, struct sockaddr_storage *addr, socklen_t *len, bool peer);
	int (*shutdown)(struct sock *sk, int how);
	/* The doorbell rang (or the worker polls): consume the tx ring. */
	void (*tx_ready)(struct sock *sk);
	/*
	 * Last reference gone.  Returns false when the protocol is done with
	 * @sk (unhashed; the socket layer frees it), true when it keeps the
	 * socket alive without its shared memory (a TCP connection closing
	 * in the background) and will call sock_destroy() itself.  While
	 * sock_shutting_down is set it must not keep it.
	 */
	bool (*release)(struct sock *sk);
	/* Control thread: sock_accept() (NULL: -EOPNOTSUPP). */
	int (*accept)(struct sock *sk, struct sock **child, uint32_t *rx_size, uint32_t *tx_size,
		      struct sockaddr_storage *peer, socklen_t *peerlen);
	/* Owner: sock_attach() gave the socket its shared memory. */
	void (*attached)(struct sock *sk);
	/* Control thread, sock_dump(): fill the protocol's part (state, ...). */
	void (*info)(struct sock *sk, struct sock_info *si);
	/* Owner, daemon shutdown: free a socket release() kept. */
	void (*destroy)(struct sock *sk);
	/*
	 * Control thread, sock_create() (the kernel's sk_prot->init): protocol
	 * state, ring sizes, and the protocol's own permission checks against
	 * @cred (ping_init_sock).  0 or -errno; optional.  The socket is not
	 * yet visible to anyone.
	 */
	int (*init)(struct sock *sk, const struct sock_cred *cred, uint32_t *rx_size,
		    uint32_t *tx_size);
};

/* inetsw: one entry per supported (type, protocol) of AF_INET/AF_INET6. */
struct inet_protosw {
	int type;                       /* SOCK_DGRAM, SOCK_STREAM, SOCK_RAW */
	int protocol;                   /* IPPROTO_UDP, IPPROTO_TCP; IPPROTO_IP
					 * (0): any protocol but 0 (raw) */
	const struct proto_ops *ops;
};

/* Register a protocol's entry at start-up.  0 or -EEXIST. */
int inet_register_protosw(const struct inet_protosw *p);

struct sock_bells;

struct sock {
	uint64_t id;                    /* unique for the daemon's lifetime */
	int family;                     /* AF_INET or AF_INET6 (v4-mapped only) */
	int type;
	int protocol;
	const struct proto_ops *ops;
	int owner_cpu;
	_Atomic int refs;               /* sessions holding it */

	/* Addresses, network order; 0 = wildcard / none.  Owner writes. */
	uint32_t saddr, daddr;          /* local (bound) and peer (connected) */
	uint16_t sport, dport;
	bool bound, connected, v6only;
	bool reuseaddr, reuseport, broadcast;
	bool pktinfo, recverr, recvtos, recvttl;
	bool timestamp;                 /* SO_TIMESTAMP(NS): stamp rx records */
	bool tsflags_ns, tsflags_new;   /* which one was set (getsockopt) */
	bool hdrincl;                   /* IP_HDRINCL (raw sockets) */
	bool retopts;                   /* IP_RETOPTS (stored only) */
	uint32_t icmp_filter;           /* ICMP_FILTER: types a raw ICMP socket skips */
	uint8_t tos;                    /* IP_TOS */
	int ttl;                        /* IP_TTL, -1 = net.ipv4.ip_default_ttl */
	int rcvbuf, sndbuf;             /* bytes, as the kernel reports them */
	int bound_dev_if;               /* SO_BINDTODEVICE ifindex, 0 = any */
	int shut;                       /* SHUT_RD/SHUT_WR bits done */

	/* Shared memory (set by sock_attach). */
	struct ns_sock_shm *shm;        /* control block in the client's region */
	struct ns_ring_view rx, tx;     /* daemon's private views */
	uint32_t max_dgram;
	int notify_fd;                  /* eventfd the client sleeps on */
	struct sock_bells *bells;       /* the region's doorbells (sock_bell.h) */
	uint32_t bell_slot;             /* our bit in the owner's doorbell */
	uint64_t tx_cons;               /* owner's private consumer index */

	/* Receive side, any worker: serialises rx ring producers. */
	pthread_mutex_t rx_lock;
	uint64_t rx_prod;               /* under rx_lock */
	_Atomic uint64_t rx_drops;      /* rcvbuf/ring full */
	_Atomic uint64_t rx_packets, tx_packets, tx_errors;
	/* Workers that received for it (ran tcp_v4_rcv / udp_rcv): bit per worker. */
	_Atomic uint64_t rx_cpus;
	/* The error queue (IP_RECVERR), under rx_lock. */
	struct sock_exterr *errq_head, *errq_tail;
	unsigned int errq_len;

	void *proto_priv;               /* protocol state (hash linkage, ...) */

	/*
	 * Socket layer and inet state (owner writes; fields a lookup reads
	 * change only under sock_lookup_lock held for writing).
	 */
	bool closing;                   /* owner: released; late events are ignored */
	bool v4mapped_bind;             /* AF_INET6 bound to ::ffff:a.b.c.d */
	uint8_t userlocks;              /* SOCK_BINDADDR_LOCK | SOCK_BINDPORT_LOCK */
	uint32_t src;                   /* transmit source (the kernel's inet_saddr);
					 * 0: the route's; saddr is the bound
					 * (receive) address, inet_rcv_saddr */
	int pmtudisc;                   /* IP_MTU_DISCOVER */
	bool keepalive;                 /* SO_KEEPALIVE (stored only) */
	int linger_onoff, linger_secs;  /* SO_LINGER (stored only) */
	struct sock *hash_next;         /* protocol port hash chain (lookup lock) */
	bool hashed;                    /* on the port hash (lookup lock) */
	struct sock *list_prev, *list_next;  /* all sockets (sock_list_lock) */
};

/*
 * A protocol's port hash chain (sk->hash_next, sk->hashed): link @sk at
 * the head of @slot, or unlink it.  Lookup lock held for writing.
 */
static inline void sk_hash_link(struct sock **slot, struct sock *sk)
{
	sk->hash_next = *slot;
	*slot = sk;
	sk->hashed = true;
}

static inline void sk_hash_unlink(struct sock **slot, struct sock *sk)
{
	if (!sk->hashed)
		return;
	while (*slot && *slot != sk)
		slot = &(*slot)->hash_next;
	if (*slot)
		*slot = sk->hash_next;
	sk->hash_next = NULL;
	sk->hashed = false;
}

/* sock.userlocks, as the kernel's sk_userlocks: what bind() fixed. */
#define SOCK_BINDADDR_LOCK 4
#define SOCK_BINDPORT_LOCK 8
#define SOCK_CONNECT_BIND 16     /* port chosen by connect() (inet_hash_connect) */

/* sock.shut, as the kernel's sk_shutdown. */
#define RCV_SHUTDOWN 1
#define SEND_SHUTDOWN 2

/* Smallest SO_RCVBUF / SO_SNDBUF, as the kernel reports them. */
#define SOCK_MIN_RCVBUF 2304
#define SOCK_MIN_SNDBUF 4608

/*
 * The socket lookup lock.  It protects the protocols' port hash tables
 * and every sock field a receive-side lookup reads (saddr, daddr, sport,
 * dport, bound, connected, v6only, reuseaddr, reuseport, bound_dev_if,
 * hash linkage).  Readers: lookups on any worker, held across the
 * delivery into the socket, so a socket found cannot be released before
 * the reader unlocks; sock_dump.  Writers: bind, connect, disconnect,
 * setsockopt and release, on the owner.  Writer-preferring; never taken
 * recursively.  The planned replacement is RCU-style hash chains.
 */
extern pthread_rwlock_t sock_lookup_lock;

/* net.core.rmem_default and friends (bytes). */
extern _Atomic int64_t sysctl_rmem_default, sysctl_rmem_max;
extern _Atomic int64_t sysctl_wmem_default, sysctl_wmem_max;
/* net.ipv4.ip_local_port_range: ephemeral ports for autobind. */
extern _Atomic int64_t sysctl_ip_local_port_lo, sysctl_ip_local_port_hi;

/*
 * Create a socket of (@domain, @type, @protocol) for a client with
 * credentials @cred, with the kernel's validation and errors:
 * -EAFNOSUPPORT, -ESOCKTNOSUPPORT, -EPROTONOSUPPORT, -EPERM (a raw socket
 * without root), -EACCES (a ping socket outside ping_group_range),
 * -ENOMEM.  @type carries no SOCK_* flags.  The socket has one reference
 * and no shared memory yet; *@rx_size and *@tx_size say how large its
 * rings should be (powers of two).  Control thread.
 */
int sock_create_cred(const struct sock_cred *cred, int domain, int type, int protocol,
		     struct sock **out, uint32_t *rx_size, uint32_t *tx_size);

/* sock_create_cred() as root (sock_cred_root). */
int sock_create(int domain, int type, int protocol, struct sock **out,
		uint32_t *rx_size, uint32_t *tx_size);

/*
 * Give @sk its control block (at @shm_off in its region) and rings
 * (already zeroed by the caller, inside a region the daemon has mapped),
 * the notify eventfd (the daemon keeps this fd; the client gets its own
 * duplicate), and bind its doorbell slot (@shm_off / NS_SHM_PAGE) in the
 * region's @bells on the owner worker (NULL in unit tests, which call
 * sock_doorbell_handler themselves).  Initialises the control block.
 * 0 or -errno.  Control thread.
 */
int sock_attach(struct sock *sk, struct ns_sock_shm *shm, uint64_t shm_off,
		unsigned char *rx_data, uint64_t rx_off, uint32_t rx_size,
		unsigned char *tx_data, uint64_t tx_off, uint32_t tx_size,
		int notify_fd, struct sock_bells *bells);

/* The socket API on behalf of a client; each returns 0 or -errno.  Control thread. */
int sock_bind(struct sock *sk, const void *addr, uint32_t len);
int sock_connect(struct sock *sk, const void *addr, uint32_t len);
int sock_listen(struct sock *sk, int backlog);
int sock_setsockopt(struct sock *sk, int level, int name, const void *val, uint32_t len);
int sock_getsockopt(struct sock *sk, int level, int name, void *val, uint32_t *len);
int sock_getname(struct sock *sk, void *addr, uint32_t *len, bool peer);
int sock_shutdown(struct sock *sk, int how);

/*
 * accept(): take the oldest established connection off listener @sk.  On
 * success *@child holds one reference (the caller's), *@rx_size and *@tx_size
 * say how large its rings should be, and *@peer and *@peerlen hold the peer's
 * address in the listener's family (sockaddr_in, or v4-mapped
 * sockaddr_in6).  The caller then places and attaches the child like a
 * new socket (sock_attach), which hands it its queued data.  0, -EAGAIN
 * (queue empty), -EINVAL (not listening).  Control thread.
 */
int sock_accept(struct sock *sk, struct sock **child, uint32_t *rx_size, uint32_t *tx_size,
		struct sockaddr_storage *peer, socklen_t *peerlen);

/*
 * A protocol's own socket (a TCP child made by a listener): a copy of
 * @parent's options, no references, no shared memory, owned by worker
 * @cpu and on the socket list.  NULL if out of memory.  Any worker.
 */
struct sock *sock_alloc_child(const struct sock *parent, int cpu);

/*
 * Free @sk after its owner's batch: for sockets release() kept, and for
 * children that never reached a session.  Owner worker.
 */
void sock_destroy(struct sock *sk);

/* Set while the daemon shuts down (sock_exit): protocols keep nothing. */
extern _Atomic bool sock_shutting_down;

/* References from sessions.  sock_put() of the last one closes the socket. */
void sock_hold(struct sock *sk);
void sock_put(struct sock *sk);

/*
 * Wake the client if it waits for @what (NS_WAIT_RX/NS_WAIT_TX): set
 * notify_pending and write the notify eventfd once.  Any worker.
 */
void sock_wake(struct sock *sk, uint32_t what);

/* Publish a pending error (ECONNREFUSED, ...) and wake the reader.  Owner. */
void sock_set_error(struct sock *sk, int err);

/* One entry of a socket's error queue, as recvmsg(MSG_ERRQUEUE) returns it. */
struct sock_exterr {
	struct sock_exterr *next;
	int32_t ee_errno;
	uint8_t ee_origin;              /* SO_EE_ORIGIN_ICMP */
	uint8_t ee_type, ee_code;
	uint8_t ttl, tos;               /* of the ICMP message (IP_RECVTTL/IP_RECVTOS) */
	uint32_t ee_info;
	uint32_t offender;              /* the ICMP message's source, network order */
	uint32_t daddr;                 /* the quoted destination, network order */
	uint16_t port;                  /* the quoted destination port, network order */
	uint16_t len;                   /* bytes in data */
	unsigned char data[];           /* the quoted transport header and data */
};

/*
 * ip_recv_error: take (or with @peek only copy) the oldest entry of @sk's
 * error queue; the caller frees it with free().  0, -EAGAIN (empty) or
 * -ENOMEM.  Clears NS_SS_ERRQUEUE when the queue empties.  Control thread
 * (the queue is under rx_lock; no hop to the owner).
 */
int sock_recv_error(struct sock *sk, bool peek, struct sock_exterr **out);

/* Iterate over live sockets for netstackctl ss (control thread; a snapshot). */
struct sock_info {
	uint64_t id;
	const char *proto;
	const char *state;              /* NULL: UNCONN/ESTAB from connected */
	/* TCP (ss -ti); zero for others. */
	uint32_t cwnd, ssthresh, rtt_us, rttvar_us, rto_ms, mss;
	uint32_t retrans, total_retrans, sacked, unacked, lost;
	uint64_t delivery_rate, bytes_acked, bytes_received;
	uint32_t backlog, max_backlog;
	char cong[16];
	int family;
	uint32_t saddr, daddr;
	uint16_t sport, dport;
	bool bound, connected;
	uint32_t recv_q, send_q;
	uint64_t drops;
	int owner_cpu;
	uint64_t rx_cpus;               /* workers that received for it */
};
unsigned int sock_dump(struct sock_info *out, unsigned int max);

/*
 * Note that the calling worker received a packet for @sk (the per-socket
 * attribution netstackctl ss shows as rx_cpus).  One relaxed load per
 * packet; the shared write happens once per worker.  Any thread.
 */
static inline void sock_mark_rx_cpu(struct sock *sk)
{
	int cpu = smp_processor_id();
	uint64_t bit;

	if (cpu < 0 || cpu >= 64)
		return;
	bit = 1ull << cpu;
	if (!(atomic_load_explicit(&sk->rx_cpus, memory_order_relaxed) & bit))
		atomic_fetch_or_explicit(&sk->rx_cpus, bit, memory_order_relaxed);
}
unsigned int sock_count(void);

/*
 * The client rang @sk's doorbell (owner worker): let the protocol consume
 * the tx ring.  Called by the doorbell irq (sock_bell.c); tests call it
 * directly.
 */
void sock_doorbell_handler(struct sock *sk);

/*
 * Generic option handling for protocols' setsockopt/getsockopt, with the
 * kernel's semantics and errors: SOL_SOCKET (the kernel's sk_setsockopt),
 * IPPROTO_IP (do_ip_setsockopt) and IPPROTO_IPV6 on AF_INET6 sockets.
 * Owner worker, with sock_lookup_lock held for writing (set only).
 */
int sk_setsockopt(struct sock *sk, int name, const void *val, socklen_t len);
int sk_getsockopt(struct sock *sk, int name, void *val, socklen_t *len);
int do_ip_setsockopt(struct sock *sk, int level, int name, const void *val, socklen_t len);
int do_ip_getsockopt(struct sock *sk, int level, int name, void *val, socklen_t *len);

/*
 * inet_getname for IPv4 and v4-mapped AF_INET6 sockets: the bound (or
 * connected) address, or the peer's (-ENOTCONN without one).  Owner.
 */
int inet_getname(struct sock *sk, struct sockaddr_storage *ss, socklen_t *len, bool peer);

/* OR/clear NS_SS_* bits in the control block (no-op before sock_attach).  Any worker. */
void sock_state_set(struct sock *sk, uint32_t bits);
void sock_state_clear(struct sock *sk, uint32_t bits);

/* Start-up: register inetsw entries and sysctls (net.core.rmem_default...). */
int sock_init(void);
/* Shutdown: close every remaining socket (workers stopped). */
void sock_exit(void);

#endif
