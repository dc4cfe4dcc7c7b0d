/*
 * The socket layer: inetsw (the (type, protocol) -> operations table of
 * the kernel's af_inet.c), socket creation with the kernel's validation,
 * the shared-memory hand-over (sock_attach), the entry points the IPC
 * session layer calls, wake-ups of the client, the socket list for
 * netstackctl, and the generic SOL_SOCKET / IPPROTO_IP / IPPROTO_IPV6
 * options (the kernel's sk_setsockopt and do_ip_setsockopt).
 *
 * Threads.  The sock_* entry points run on the control thread and hop to
 * the socket's owner worker with softnet_call_wait(); the protocol
 * operations therefore run on the owner, which alone writes a socket's
 * protocol state.  sock_wake() and sock_set_error() may run on any worker
 * (the receive path).  Locks: sock_list_lock (the list of all sockets:
 * creation, close, sock_dump) and sock_lookup_lock (see socket.h), taken
 * in that order; the doorbell slot is bound and unbound on the owner.
 *
 * Lifetime.  The last sock_put() unlinks the socket from the list, then
 * on its owner releases it (the protocol unhashes it under the lookup
 * lock, so no receive path can still hold it), unbinds its doorbell slot
 * and defers the freeing of the memory to the end of the owner's event
 * batch (softnet_defer): a doorbell scan may be running in that batch.
 */
#include <errno.h>
#include <limits.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "core/debug.h"
#include "core/netdev.h"
#include "core/softnet.h"
#include "core/sysctl.h"
#include "core/trace.h"
#include "net/ipv4/ip.h"
#include "net/ipv4/ping.h"
#include "net/ipv4/pmtu.h"
#include "net/ipv4/raw.h"
#include "net/ipv4/tcp.h"
#include "net/ipv4/udp.h"
#include "net/packet/pkt_trace.h"
#include "net/sock_bell.h"
#include "net/socket.h"

/* ---- sysctls ---------------------------------------------------------------- */

_Atomic int64_t sysctl_rmem_default = 212992;
_Atomic int64_t sysctl_rmem_max = 212992;
_Atomic int64_t sysctl_wmem_default = 212992;
_Atomic int64_t sysctl_wmem_max = 212992;
_Atomic int64_t sysctl_ip_local_port_lo = 32768;
_Atomic int64_t sysctl_ip_local_port_hi = 60999;

/*
 * rmem_default and wmem_default size the rings of every new socket, so
 * they are bounded well below the kernel's INT_MAX: a client's region
 * has to hold them.
 */
static const struct ctl_table sock_table[] = {
	{ "net.core.rmem_default", &sysctl_rmem_default, SOCK_MIN_RCVBUF, 8 << 20, 212992,
	  "default SO_RCVBUF of a new socket (its rx ring is twice this, a power of two)" },
	{ "net.core.rmem_max", &sysctl_rmem_max, SOCK_MIN_RCVBUF, INT_MAX / 2, 212992,
	  "largest SO_RCVBUF an application may set (the socket gets twice the value)" },
	{ "net.core.wmem_default", &sysctl_wmem_default, SOCK_MIN_SNDBUF, 8 << 20, 212992,
	  "default SO_SNDBUF of a new socket (its tx ring is at least this, a power of two)" },
	{ "net.core.wmem_max", &sysctl_wmem_max, SOCK_MIN_SNDBUF, INT_MAX / 2, 212992,
	  "largest SO_SNDBUF an application may set (the socket gets twice the value)" },
	{ "net.ipv4.ip_local_port_range", &sysctl_ip_local_port_lo, 1, 65535, 32768,
	  "first and last port handed out by autobind and bind to port 0",
	  &sysctl_ip_local_port_hi, 60999 },
	{ NULL, NULL, 0, 0, 0, NULL, NULL, 0 },
};

/* ---- inetsw ------------------------------------------------------------------ */

#define INETSW_MAX 8
/* The kernel's IPPROTO_MAX: protocol numbers at or above it are EINVAL. */
#define NS_IPPROTO_MAX 263
/* The kernel's SOCK_MAX (SOCK_PACKET + 1): larger types are EINVAL. */
#define NS_SOCK_MAX 11

static const struct inet_protosw *inetsw[INETSW_MAX];
static unsigned int n_inetsw;

int inet_register_protosw(const struct inet_protosw *p)
{
	for (unsigned int i = 0; i < n_inetsw; i++)
		if (inetsw[i]->type == p->type && inetsw[i]->protocol == p->protocol)
			return -EEXIST;
	if (n_inetsw >= INETSW_MAX)
		return -ENOSPC;
	inetsw[n_inetsw++] = p;
	return 0;
}

/*
 * inet_create's lookup: the first entry of @type whose protocol matches,
 * where protocol 0 takes the type's default and an entry of protocol
 * IPPROTO_IP (raw) takes any protocol but 0.  -ESOCKTNOSUPPORT when the
 * type has no entry, -EPROTONOSUPPORT when its entries do not match.
 */
static int inetsw_lookup(int type, int *protocol, const struct inet_protosw **out)
{
	const struct inet_protosw *wild = NULL;
	int err = -ESOCKTNOSUPPORT;

	for (unsigned int i = 0; i < n_inetsw; i++) {
		const struct inet_protosw *p = inetsw[i];

		if (p->type != type)
			continue;
		err = -EPROTONOSUPPORT;
		if (p->protocol == IPPROTO_IP) {
			/* The wildcard answers only when no specific entry does. */
			if (*protocol != IPPROTO_IP && !wild)
				wild = p;
			continue;
		}
		if (*protocol == p->protocol || *protocol == 0) {
			*protocol = p->protocol;
			*out = p;
			return 0;
		}
	}
	if (wild) {
		*out = wild;
		return 0;
	}
	/* Types the kernel serves that we do not yet: the protocol is what is missing. */
	if (err == -ESOCKTNOSUPPORT && (type == SOCK_STREAM || type == SOCK_RAW))
		err = -EPROTONOSUPPORT;
	return err;
}

/* ---- the socket list --------------------------------------------------------- */

pthread_rwlock_t sock_lookup_lock = PTHREAD_RWLOCK_WRITER_NONRECURSIVE_INITIALIZER_NP;

static pthread_mutex_t sock_list_lock = PTHREAD_MUTEX_INITIALIZER;
static struct sock *sock_list;
static unsigned int sock_list_len;
static _Atomic uint64_t sock_next_id;
static _Atomic unsigned int sock_next_owner;

static void sock_list_add(struct sock *sk)
{
	pthread_mutex_lock(&sock_list_lock);
	sk->list_prev = NULL;
	sk->list_next = sock_list;
	if (sock_list)
		sock_list->list_prev = sk;
	sock_list = sk;
	sock_list_len++;
	pthread_mutex_unlock(&sock_list_lock);
}

static void sock_list_del(struct sock *sk)
{
	pthread_mutex_lock(&sock_list_lock);
	if (sk->list_prev)
		sk->list_prev->list_next = sk->list_next;
	else
		sock_list = sk->list_next;
	if (sk->list_next)
		sk->list_next->list_prev = sk->list_prev;
	sk->list_prev = sk->list_next = NULL;
	sock_list_len--;
	pthread_mutex_unlock(&sock_list_lock);
}

/* ---- creation ---------------------------------------------------------------- */

static uint32_t roundup_pow2(uint64_t v)
{
	uint32_t p = NS_SHM_PAGE;

	while (p < v && p < (1u << 30))
		p <<= 1;
	return p;
}

const struct sock_cred sock_cred_root = { .uid = 0, .gid = 0 };

int sock_create(int domain, int type, int protocol, struct sock **out,
		uint32_t *rx_size, uint32_t *tx_size)
{
	return sock_create_cred(&sock_cred_root, domain, type, protocol, out, rx_size, tx_size);
}

int sock_create_cred(const struct sock_cred *cred, int domain, int type, int protocol,
		     struct sock **out, uint32_t *rx_size, uint32_t *tx_size)
{
	const struct inet_protosw *answer = NULL;
	/* Any record fits: a UDP payload on tx, a whole IPv4 packet on rx (raw). */
	uint32_t min_ring = ns_dgram_record_size(NS_DGRAM_LEN_MAX);
	struct sock *sk;
	int workers = nr_workers > 0 ? nr_workers : 1;
	int err;

	/* __sock_create, then inet_create / inet6_create, in the kernel's order. */
	if (domain < 0 || domain >= AF_MAX)
		return -EAFNOSUPPORT;
	if (type < 0 || type >= NS_SOCK_MAX)
		return -EINVAL;
	if (domain != AF_INET && domain != AF_INET6)
		return -EAFNOSUPPORT;
	if (protocol < 0 || protocol >= NS_IPPROTO_MAX)
		return -EINVAL;
	err = inetsw_lookup(type, &protocol, &answer);
	if (err)
		return err;
	/* inet_create: a raw socket needs CAP_NET_RAW, which only root's clients have here. */
	if (type == SOCK_RAW && cred->uid != 0)
		return -EPERM;

	sk = calloc(1, sizeof(*sk));
	if (!sk)
		return -ENOMEM;
	sk->id = atomic_fetch_add_explicit(&sock_next_id, 1, memory_order_relaxed) + 1;
	sk->family = domain;
	sk->type = type;
	sk->protocol = protocol;
	sk->ops = answer->ops;
	sk->owner_cpu = (int)(atomic_fetch_add_explicit(&sock_next_owner, 1, memory_order_relaxed) %
			      (unsigned int)workers);
	atomic_init(&sk->refs, 1);
	sk->ttl = -1;
	sk->pmtudisc = IP_PMTUDISC_WANT;
	sk->rcvbuf = (int)sysctl_read(&sysctl_rmem_default);
	sk->sndbuf = (int)sysctl_read(&sysctl_wmem_default);
	sk->notify_fd = -1;
	sk->bells = NULL;
	pthread_mutex_init(&sk->rx_lock, NULL);

	/* A doubled SO_RCVBUF of rmem_default fits; a largest datagram always fits. */
	*rx_size = roundup_pow2(2 * (uint64_t)sk->rcvbuf);
	if (*rx_size < min_ring)
		*rx_size = roundup_pow2(min_ring);
	*tx_size = roundup_pow2((uint64_t)sk->sndbuf);
	if (*tx_size < min_ring)
		*tx_size = roundup_pow2(min_ring);
	/* sk_prot->init: the protocol's own state and checks (ping_group_range). */
	if (sk->ops->init) {
		err = sk->ops->init(sk, cred, rx_size, tx_size);
		if (err) {
			pthread_mutex_destroy(&sk->rx_lock);
			free(sk);
			return err;
		}
	}
	sock_list_add(sk);
	*out = sk;
	return 0;
}

/* ---- shared memory ----------------------------------------------------------- */

void sock_doorbell_handler(struct sock *sk)
{
	if (sk->closing)
		return;
	if (sk->ops->tx_ready)
		sk->ops->tx_ready(sk);
}

struct sock_attach_args {
	struct sock *sk;
	struct ns_sock_shm *shm;
	uint64_t shm_off;
	unsigned char *rx_data, *tx_data;
	uint64_t rx_off, tx_off;
	uint32_t rx_size, tx_size;
	int notify_fd;
	struct sock_bells *bells;
	int ret;
};

static bool ring_size_ok(uint32_t size)
{
	return size >= NS_SHM_PAGE && (size & (size - 1)) == 0;
}

static void sock_attach_on_owner(void *arg)
{
	struct sock_attach_args *a = arg;
	struct sock *sk = a->sk;
	struct ns_sock_shm *shm = a->shm;
	uint32_t max = sk->ops->max_dgram ? sk->ops->max_dgram : NS_DGRAM_MAX;

	if (ns_dgram_record_size(max) > a->tx_size)
		max = (a->tx_size - (uint32_t)sizeof(struct ns_dgram)) & ~(NS_DGRAM_ALIGN - 1);

	shm->magic = NS_SOCK_MAGIC;
	shm->kind = sk->type == SOCK_STREAM ? NS_SOCK_STREAM : NS_SOCK_DGRAM;
	shm->sock_id = sk->id;
	shm->rx_off = a->rx_off;
	shm->rx_size = a->rx_size;
	shm->tx_off = a->tx_off;
	shm->tx_size = a->tx_size;
	shm->max_dgram = max;
	shm->bell = (uint32_t)sk->owner_cpu;
	shm->slot = (uint32_t)(a->shm_off / NS_SHM_PAGE);
	atomic_store_explicit(&shm->state, 0, memory_order_relaxed);
	atomic_store_explicit(&shm->so_error, 0, memory_order_relaxed);
	atomic_store_explicit(&shm->rx_dropped, 0, memory_order_relaxed);
	atomic_store_explicit(&shm->rcvbuf, (uint32_t)sk->rcvbuf, memory_order_relaxed);
	atomic_store_explicit(&shm->sndbuf, (uint32_t)sk->sndbuf, memory_order_relaxed);
	atomic_store_explicit(&shm->client_wait, 0, memory_order_relaxed);
	/* Nobody polls the tx ring until the doorbell rings. */
	atomic_store_explicit(&shm->need_kick, 1, memory_order_relaxed);
	atomic_store_explicit(&shm->notify_pending, 0, memory_order_relaxed);
	atomic_store_explicit(&shm->rx.prod, 0, memory_order_relaxed);
	atomic_store_explicit(&shm->rx.cons, 0, memory_order_relaxed);
	atomic_store_explicit(&shm->tx.prod, 0, memory_order_relaxed);
	atomic_store_explicit(&shm->tx.cons, 0, memory_order_relaxed);

	sk->rx.r = &shm->rx;
	sk->rx.data = a->rx_data;
	sk->rx.size = a->rx_size;
	sk->tx.r = &shm->tx;
	sk->tx.data = a->tx_data;
	sk->tx.size = a->tx_size;
	sk->max_dgram = max;
	sk->tx_cons = 0;
	sk->notify_fd = a->notify_fd;
	sk->bells = a->bells;
	sk->bell_slot = shm->slot;
	sock_bells_bind(sk->bells, sk->bell_slot, sk);
	pthread_mutex_lock(&sk->rx_lock);
	sk->rx_prod = 0;
	pthread_mutex_unlock(&sk->rx_lock);
	/* Last: the receive path tests shm under the lookup lock. */
	pthread_rwlock_wrlock(&sock_lookup_lock);
	sk->shm = shm;
	pthread_rwlock_unlock(&sock_lookup_lock);
	if (sk->ops->attached)
		sk->ops->attached(sk);
	a->ret = 0;
}

int sock_attach(struct sock *sk, struct ns_sock_shm *shm, uint64_t shm_off,
		unsigned char *rx_data, uint64_t rx_off, uint32_t rx_size,
		unsigned char *tx_data, uint64_t tx_off, uint32_t tx_size,
		int notify_fd, struct sock_bells *bells)
{
	struct sock_attach_args a = {
		.sk = sk, .shm = shm, .shm_off = shm_off,
		.rx_data = rx_data, .rx_off = rx_off, .rx_size = rx_size,
		.tx_data = tx_data, .tx_off = tx_off, .tx_size = tx_size,
		.notify_fd = notify_fd, .bells = bells, .ret = -EINVAL,
	};
	int err;

	if (!shm || !rx_data || !tx_data || !ring_size_ok(rx_size) || !ring_size_ok(tx_size) ||
	    notify_fd < 0 || (shm_off % NS_SHM_PAGE) ||
	    (bells && shm_off / NS_SHM_PAGE >= sock_bells_slots(bells)))
		return -EINVAL;
	if (sk->shm)
		return -EBUSY;
	err = softnet_call_wait(sk->owner_cpu, sock_attach_on_owner, &a);
	return err ? err : a.ret;
}

/* ---- the socket API: hop to the owner ---------------------------------------- */

struct sock_call {
	struct sock *sk;
	const void *addr;
	void *out;
	uint32_t len;
	socklen_t *olen;
	int level, name, arg;
	bool peer, connect;
	int ret;
};

static void sock_addr_fn(void *arg)
{
	struct sock_call *c = arg;
	const struct proto_ops *ops = c->sk->ops;

	if (c->connect)
		c->ret = ops->connect ? ops->connect(c->sk, c->addr, c->len) : -EOPNOTSUPP;
	else
		c->ret = ops->bind ? ops->bind(c->sk, c->addr, c->len) : -EOPNOTSUPP;
}

int sock_bind(struct sock *sk, const void *addr, uint32_t len)
{
	struct sock_call c = { .sk = sk, .addr = addr, .len = len };
	int err;

	if (!addr && len)
		return -EFAULT;
	err = softnet_call_wait(sk->owner_cpu, sock_addr_fn, &c);
	return err ? err : c.ret;
}

int sock_connect(struct sock *sk, const void *addr, uint32_t len)
{
	struct sock_call c = { .sk = sk, .addr = addr, .len = len, .connect = true };
	int err;

	if (!addr && len)
		return -EFAULT;
	err = softnet_call_wait(sk->owner_cpu, sock_addr_fn, &c);
	return err ? err : c.ret;
}

static void sock_listen_fn(void *arg)
{
	struct sock_call *c = arg;

	c->ret = c->sk->ops->listen ? c->sk->ops->listen(c->sk, c->arg) : -EOPNOTSUPP;
}

int sock_listen(struct sock *sk, int backlog)
{
	struct sock_call c = { .sk = sk, .arg = backlog };
	int err = softnet_call_wait(sk->owner_cpu, sock_listen_fn, &c);

	return err ? err : c.ret;
}

static void sock_setsockopt_fn(void *arg)
{
	struct sock_call *c = arg;

	c->ret = c->sk->ops->setsockopt ?
		 c->sk->ops->setsockopt(c->sk, c->level, c->name, c->addr, c->len) : -ENOPROTOOPT;
}

int sock_setsockopt(struct sock *sk, int level, int name, const void *val, uint32_t len)
{
	struct sock_call c = { .sk = sk, .level = level, .name = name, .addr = val, .len = len };
	int err;

	if (len > INT_MAX)
		return -EINVAL;
	if (!val && len)
		return -EFAULT;
	err = softnet_call_wait(sk->owner_cpu, sock_setsockopt_fn, &c);
	return err ? err : c.ret;
}

static void sock_getsockopt_fn(void *arg)
{
	struct sock_call *c = arg;

	c->ret = c->sk->ops->getsockopt ?
		 c->sk->ops->getsockopt(c->sk, c->level, c->name, c->out, c->olen) : -EOPNOTSUPP;
}

int sock_getsockopt(struct sock *sk, int level, int name, void *val, uint32_t *len)
{
	socklen_t l = *len;
	struct sock_call c = { .sk = sk, .level = level, .name = name, .out = val, .olen = &l };
	int err;

	if (*len > INT_MAX)
		return -EINVAL;
	err = softnet_call_wait(sk->owner_cpu, sock_getsockopt_fn, &c);
	if (err)
		return err;
	if (c.ret == 0)
		*len = l;
	return c.ret;
}

static void sock_getname_fn(void *arg)
{
	struct sock_call *c = arg;

	c->ret = c->sk->ops->getname ? c->sk->ops->getname(c->sk, c->out, c->olen, c->peer)
				     : -EOPNOTSUPP;
}

int sock_getname(struct sock *sk, void *addr, uint32_t *len, bool peer)
{
	struct sockaddr_storage ss;
	socklen_t l = sizeof(ss);
	struct sock_call c = { .sk = sk, .out = &ss, .olen = &l, .peer = peer };
	int err;

	memset(&ss, 0, sizeof(ss));
	err = softnet_call_wait(sk->owner_cpu, sock_getname_fn, &c);
	if (err)
		return err;
	if (c.ret)
		return c.ret;
	/* As getsockname(2): copy what fits, report the full length. */
	memcpy(addr, &ss, *len < l ? *len : l);
	*len = l;
	return 0;
}

static void sock_shutdown_fn(void *arg)
{
	struct sock_call *c = arg;

	c->ret = c->sk->ops->shutdown ? c->sk->ops->shutdown(c->sk, c->arg) : -EOPNOTSUPP;
}

int sock_shutdown(struct sock *sk, int how)
{
	struct sock_call c = { .sk = sk, .arg = how };
	int err = softnet_call_wait(sk->owner_cpu, sock_shutdown_fn, &c);

	return err ? err : c.ret;
}

/* ---- references and close ---------------------------------------------------- */

void sock_hold(struct sock *sk)
{
	atomic_fetch_add_explicit(&sk->refs, 1, memory_order_relaxed);
}

/* After the owner's batch: nothing can point at @sk any more. */
static void sock_free(void *arg)
{
	struct sock *sk = arg;

	if (sk->notify_fd >= 0)
		close(sk->notify_fd);
	while (sk->errq_head) {
		struct sock_exterr *e = sk->errq_head;

		sk->errq_head = e->next;
		free(e);
	}
	pthread_mutex_destroy(&sk->rx_lock);
	free(sk);
}

_Atomic bool sock_shutting_down;

struct sock *sock_alloc_child(const struct sock *parent, int cpu)
{
	struct sock *sk = calloc(1, sizeof(*sk));

	if (!sk)
		return NULL;
	sk->id = atomic_fetch_add_explicit(&sock_next_id, 1, memory_order_relaxed) + 1;
	sk->family = parent->family;
	sk->type = parent->type;
	sk->protocol = parent->protocol;
	sk->ops = parent->ops;
	sk->owner_cpu = cpu;
	atomic_init(&sk->refs, 0);
	sk->v6only = parent->v6only;
	sk->reuseaddr = parent->reuseaddr;
	sk->reuseport = parent->reuseport;
	sk->tos = parent->tos;
	sk->ttl = parent->ttl;
	sk->rcvbuf = parent->rcvbuf;
	sk->sndbuf = parent->sndbuf;
	sk->bound_dev_if = parent->bound_dev_if;
	sk->pmtudisc = parent->pmtudisc;
	sk->keepalive = parent->keepalive;
	sk->linger_onoff = parent->linger_onoff;
	sk->linger_secs = parent->linger_secs;
	sk->v4mapped_bind = parent->v4mapped_bind;
	sk->notify_fd = -1;
	sk->bells = NULL;
	pthread_mutex_init(&sk->rx_lock, NULL);
	sock_list_add(sk);
	return sk;
}

void sock_destroy(struct sock *sk)
{
	sock_list_del(sk);
	/* On failure the socket leaks rather than risk a use after free. */
	(void)softnet_defer(sock_free, sk);
}

static void sock_close_on_owner(void *arg)
{
	struct sock *sk = arg;
	bool kept = false;

	/*
	 * What the client put in the tx ring before closing was sent as far
	 * as it knows (sendto returned success): send it now, as the kernel
	 * would have before close() returned.  Bounded: nobody produces any
	 * more, and each round consumes up to a budget of records.
	 */
	for (unsigned int round = 0; sk->shm && sk->ops->tx_ready && sk->type != SOCK_STREAM &&
				     round < 1024; round++) {
		uint32_t st = atomic_load_explicit(&sk->shm->state, memory_order_relaxed);

		if ((st & NS_SS_DEAD) ||
		    atomic_load_explicit(&sk->shm->tx.prod, memory_order_acquire) == sk->tx_cons)
			break;
		sk->ops->tx_ready(sk);
	}
	sk->closing = true;
	if (sk->ops->release)
		kept = sk->ops->release(sk);
	/* Unhashed: no receive path can arm a new trace watch on @sk now. */
	if (atomic_load_explicit(&trace_watches, memory_order_relaxed))
		trace_sock_closing(sk);
	sock_bells_unbind(sk->bells, sk->bell_slot, sk);
	sk->bells = NULL;
	/*
	 * Our copy of the notify eventfd goes now, not when the memory does: the
	 * client's epoll registrations of its copy (the same open file) last
	 * as long as any copy does, and a TCP socket may outlive its client
	 * by minutes.  release() unhashed the socket under the lookup lock,
	 * so no receive path can still be about to write them.
	 */
	if (sk->notify_fd >= 0) {
		close(sk->notify_fd);
		sk->notify_fd = -1;
	}
	if (kept)
		return;         /* the protocol calls sock_destroy() when done */
	sock_destroy(sk);
}

static void sock_close(struct sock *sk)
{
	/* The call could not be queued (no memory): leak, never free early. */
	(void)softnet_call_wait(sk->owner_cpu, sock_close_on_owner, sk);
}

void sock_put(struct sock *sk)
{
	if (atomic_fetch_sub_explicit(&sk->refs, 1, memory_order_acq_rel) != 1)
		return;
	sock_close(sk);
}

/* ---- wake-ups and errors ----------------------------------------------------- */

void sock_wake(struct sock *sk, uint32_t what)
{
	struct ns_sock_shm *shm = sk->shm;

	if (!shm || sk->notify_fd < 0)
		return;
	/*
	 * Dekker with the client: it sets client_wait (an RMW) then re-reads
	 * prod; we stored prod (release) and now read client_wait with an RMW
	 * too.  RMWs on one variable are totally ordered: either we see its
	 * bit, or its RMW reads ours (release/acquire) and then sees our prod.
	 */
	if (!(atomic_fetch_or_explicit(&shm->client_wait, 0, memory_order_seq_cst) & what))
		return;
	if (atomic_exchange_explicit(&shm->notify_pending, 1, memory_order_seq_cst))
		return;
	(void)eventfd_write(sk->notify_fd, 1);
}

void sock_set_error(struct sock *sk, int err)
{
	if (!sk->shm)
		return;
	atomic_store_explicit(&sk->shm->so_error, err, memory_order_seq_cst);
	sock_wake(sk, NS_WAIT_RX | NS_WAIT_TX);
}

int sock_recv_error(struct sock *sk, bool peek, struct sock_exterr **out)
{
	struct sock_exterr *e, *copy = NULL;
	int err = 0;

	pthread_mutex_lock(&sk->rx_lock);
	e = sk->errq_head;
	if (!e) {
		err = -EAGAIN;
	} else if (peek) {
		copy = malloc(sizeof(*e) + e->len);
		if (copy) {
			memcpy(copy, e, sizeof(*e) + e->len);
			copy->next = NULL;
		} else {
			err = -ENOMEM;
		}
	} else {
		sk->errq_head = e->next;
		if (!sk->errq_head)
			sk->errq_tail = NULL;
		sk->errq_len--;
		e->next = NULL;
		copy = e;
	}
	if (!sk->errq_head)
		sock_state_clear(sk, NS_SS_ERRQUEUE);
	pthread_mutex_unlock(&sk->rx_lock);
	*out = copy;
	return err;
}

void sock_state_set(struct sock *sk, uint32_t bits)
{
	if (sk->shm)
		atomic_fetch_or_explicit(&sk->shm->state, bits, memory_order_seq_cst);
}

void sock_state_clear(struct sock *sk, uint32_t bits)
{
	if (sk->shm)
		atomic_fetch_and_explicit(&sk->shm->state, ~bits, memory_order_seq_cst);
}

/* ---- generic options --------------------------------------------------------- */

static int opt_int(const void *val, socklen_t len, int *out)
{
	if (len < sizeof(int))
		return -EINVAL;
	memcpy(out, val, sizeof(int));
	return 0;
}

/* Copy an int result as the kernel does: at most sizeof(int) bytes. */
static int put_int(void *val, socklen_t *len, int v)
{
	socklen_t n = *len < sizeof(int) ? *len : (socklen_t)sizeof(int);

	memcpy(val, &v, n);
	*len = n;
	return 0;
}

static int sock_setbindtodevice(struct sock *sk, const void *val, socklen_t len)
{
	char name[IFNAMSIZ];
	int index = 0;

	if (len > IFNAMSIZ - 1)
		len = IFNAMSIZ - 1;
	memset(name, 0, sizeof(name));
	if (len)
		memcpy(name, val, len);
	if (name[0]) {
		struct net_device *dev = dev_get_by_name(name);

		if (!dev)
			return -ENODEV;
		index = dev->ifindex;
	}
	sk->bound_dev_if = index;
	return 0;
}

int sk_setsockopt(struct sock *sk, int name, const void *val, socklen_t len)
{
	struct linger ling;
	int v, err;

	if (name == SO_BINDTODEVICE)
		return sock_setbindtodevice(sk, val, len);
	err = opt_int(val, len, &v);
	if (err)
		return err;
	switch (name) {
	case SO_REUSEADDR:
		sk->reuseaddr = v != 0;
		return 0;
	case SO_REUSEPORT:
		sk->reuseport = v != 0;
		return 0;
	case SO_BROADCAST:
		sk->broadcast = v != 0;
		return 0;
	case SO_KEEPALIVE:
		sk->keepalive = v != 0;
		return 0;
	case SO_RCVBUF: {
		/* Treated as a hint: clamp (unsigned, as the kernel) and double. */
		uint32_t u = (uint32_t)v;
		uint32_t max = (uint32_t)sysctl_read(&sysctl_rmem_max);

		if (u > max)
			u = max;
		if (u > INT_MAX / 2)
			u = INT_MAX / 2;
		v = (int)u * 2 < SOCK_MIN_RCVBUF ? SOCK_MIN_RCVBUF : (int)u * 2;
		pthread_mutex_lock(&sk->rx_lock);
		sk->rcvbuf = v;
		pthread_mutex_unlock(&sk->rx_lock);
		if (sk->shm)
			atomic_store_explicit(&sk->shm->rcvbuf, (uint32_t)v, memory_order_relaxed);
		return 0;
	}
	case SO_SNDBUF: {
		uint32_t u = (uint32_t)v;
		uint32_t max = (uint32_t)sysctl_read(&sysctl_wmem_max);

		if (u > max)
			u = max;
		if (u > INT_MAX / 2)
			u = INT_MAX / 2;
		v = (int)u * 2 < SOCK_MIN_SNDBUF ? SOCK_MIN_SNDBUF : (int)u * 2;
		sk->sndbuf = v;
		if (sk->shm)
			atomic_store_explicit(&sk->shm->sndbuf, (uint32_t)v, memory_order_relaxed);
		return 0;
	}
	case SO_LINGER:
		if (len < sizeof(ling))
			return -EINVAL;
		memcpy(&ling, val, sizeof(ling));
		sk->linger_onoff = ling.l_onoff != 0;
		sk->linger_secs = ling.l_linger;
		return 0;
	case SO_TIMESTAMP_OLD:
	case SO_TIMESTAMP_NEW:
	case SO_TIMESTAMPNS_OLD:
	case SO_TIMESTAMPNS_NEW:
		/*
		 * sock_set_timestamp: receive records carry their arrival time;
		 * the library picks the control message (timeval or timespec).
		 * Turning any of them off turns stamping off.
		 */
		sk->timestamp = v != 0;
		sk->tsflags_ns = v && (name == SO_TIMESTAMPNS_OLD || name == SO_TIMESTAMPNS_NEW);
		sk->tsflags_new = v && (name == SO_TIMESTAMP_NEW || name == SO_TIMESTAMPNS_NEW);
		return 0;
	default:
		return -ENOPROTOOPT;
	}
}

int sk_getsockopt(struct sock *sk, int name, void *val, socklen_t *len)
{
	switch (name) {
	case SO_TYPE:
		return put_int(val, len, sk->type);
	case SO_DOMAIN:
		return put_int(val, len, sk->family);
	case SO_PROTOCOL:
		return put_int(val, len, sk->protocol);
	case SO_ERROR: {
		int err = sk->shm ? atomic_exchange_explicit(&sk->shm->so_error, 0,
							     memory_order_seq_cst) : 0;

		return put_int(val, len, err);
	}
	case SO_REUSEADDR:
		return put_int(val, len, sk->reuseaddr);
	case SO_REUSEPORT:
		return put_int(val, len, sk->reuseport);
	case SO_BROADCAST:
		return put_int(val, len, sk->broadcast);
	case SO_KEEPALIVE:
		return put_int(val, len, sk->keepalive);
	case SO_ACCEPTCONN:
		return put_int(val, len, 0);
	case SO_TIMESTAMP_OLD:
		return put_int(val, len, sk->timestamp && !sk->tsflags_ns && !sk->tsflags_new);
	case SO_TIMESTAMP_NEW:
		return put_int(val, len, sk->timestamp && !sk->tsflags_ns && sk->tsflags_new);
	case SO_TIMESTAMPNS_OLD:
		return put_int(val, len, sk->timestamp && sk->tsflags_ns && !sk->tsflags_new);
	case SO_TIMESTAMPNS_NEW:
		return put_int(val, len, sk->timestamp && sk->tsflags_ns && sk->tsflags_new);
	case SO_RCVBUF:
		return put_int(val, len, sk->rcvbuf);
	case SO_SNDBUF:
		return put_int(val, len, sk->sndbuf);
	case SO_LINGER: {
		struct linger ling = { .l_onoff = sk->linger_onoff, .l_linger = sk->linger_secs };
		socklen_t n = *len < sizeof(ling) ? *len : (socklen_t)sizeof(ling);

		memcpy(val, &ling, n);
		*len = n;
		return 0;
	}
	case SO_BINDTODEVICE: {
		struct net_device *dev;
		size_t n;

		if (!sk->bound_dev_if) {
			*len = 0;
			return 0;
		}
		if (*len < IFNAMSIZ)
			return -EINVAL;
		dev = dev_get_by_index(sk->bound_dev_if);
		if (!dev)
			return -ENODEV;
		n = strnlen(dev->name, IFNAMSIZ - 1);
		memcpy(val, dev->name, n);
		((char *)val)[n] = '\0';
		*len = (socklen_t)(n + 1);
		return 0;
	}
	default:
		return -ENOPROTOOPT;
	}
}

/* IP-level int options take an int, or a single byte when shorter. */
static int ip_opt_val(const void *val, socklen_t len)
{
	int v = 0;

	if (len >= sizeof(int))
		memcpy(&v, val, sizeof(int));
	else if (len >= 1)
		v = *(const unsigned char *)val;
	return v;
}

static int do_ipv6_setsockopt(struct sock *sk, int name, const void *val, socklen_t len)
{
	int v;

	switch (name) {
	case IPV6_V6ONLY:
		if (len < sizeof(int))
			return -EINVAL;
		memcpy(&v, val, sizeof(v));
		if (sk->sport)
			return -EINVAL;
		sk->v6only = v != 0;
		return 0;
	default:
		return -ENOPROTOOPT;
	}
}

int do_ip_setsockopt(struct sock *sk, int level, int name, const void *val, socklen_t len)
{
	int v;

	if (level == IPPROTO_IPV6) {
		if (sk->family != AF_INET6)
			return -ENOPROTOOPT;
		return do_ipv6_setsockopt(sk, name, val, len);
	}
	if (level != IPPROTO_IP)
		return -ENOPROTOOPT;
	v = ip_opt_val(val, len);
	switch (name) {
	case IP_TOS:
		sk->tos = (uint8_t)v;
		return 0;
	case IP_TTL:
		if (len < 1)
			return -EINVAL;
		if (v != -1 && (v < 1 || v > 255))
			return -EINVAL;
		sk->ttl = v;
		return 0;
	case IP_PKTINFO:
		sk->pktinfo = v != 0;
		return 0;
	case IP_RECVERR:
		sk->recverr = v != 0;
		return 0;
	case IP_RECVTOS:
		sk->recvtos = v != 0;
		return 0;
	case IP_RECVTTL:
		sk->recvttl = v != 0;
		return 0;
	case IP_RETOPTS:
		/* Stored: we never deliver IP options, so there is nothing to return. */
		sk->retopts = v != 0;
		return 0;
	case IP_MTU_DISCOVER:
		if (v < IP_PMTUDISC_DONT || v > IP_PMTUDISC_OMIT)
			return -EINVAL;
		sk->pmtudisc = v;
		return 0;
	default:
		/* IP_MULTICAST_*, IP_ADD_MEMBERSHIP, ...: not built yet. */
		return -ENOPROTOOPT;
	}
}

int do_ip_getsockopt(struct sock *sk, int level, int name, void *val, socklen_t *len)
{
	int v;

	if (level == IPPROTO_IPV6) {
		if (sk->family != AF_INET6)
			return -EOPNOTSUPP;
		if (name != IPV6_V6ONLY)
			return -ENOPROTOOPT;
		return put_int(val, len, sk->v6only);
	}
	if (level != IPPROTO_IP)
		return sk->family == AF_INET6 ? -ENOPROTOOPT : -EOPNOTSUPP;
	switch (name) {
	case IP_TOS:
		v = sk->tos;
		break;
	case IP_TTL:
		v = sk->ttl < 0 ? (int)sysctl_read(&sysctl_ip_default_ttl) : sk->ttl;
		break;
	case IP_PKTINFO:
		v = sk->pktinfo;
		break;
	case IP_RECVERR:
		v = sk->recverr;
		break;
	case IP_RECVTOS:
		v = sk->recvtos;
		break;
	case IP_RECVTTL:
		v = sk->recvttl;
		break;
	case IP_RETOPTS:
		v = sk->retopts;
		break;
	case IP_HDRINCL:
		v = sk->hdrincl;
		break;
	case IP_MTU_DISCOVER:
		v = sk->pmtudisc;
		break;
	case IP_MTU:
		/* The path MTU to the connected peer (the kernel's dst_mtu of sk_dst_cache). */
		v = sk->connected ? (int)ip_rt_get_pmtu(sk->daddr) : 0;
		if (!v)
			return -ENOTCONN;
		break;
	default:
		return -ENOPROTOOPT;
	}
	/* do_ip_getsockopt: a short buffer gets one byte if the value fits. */
	if (*len < sizeof(int) && *len > 0 && v >= 0 && v <= 255) {
		*(unsigned char *)val = (unsigned char)v;
		*len = 1;
		return 0;
	}
	return put_int(val, len, v);
}

/* ---- netstackctl ------------------------------------------------------------- */

static uint32_t ring_used(const struct ns_ring_view *v)
{
	uint64_t prod, cons;

	if (!v->r)
		return 0;
	prod = ns_ring_load_prod(v);
	cons = ns_ring_load_cons(v);
	return ns_ring_sane(v, prod, cons) ? (uint32_t)(prod - cons) : 0;
}

unsigned int sock_dump(struct sock_info *out, unsigned int max)
{
	unsigned int n = 0;

	pthread_mutex_lock(&sock_list_lock);
	pthread_rwlock_rdlock(&sock_lookup_lock);
	for (struct sock *sk = sock_list; sk && n < max; sk = sk->list_next) {
		struct sock_info *si = &out[n++];

		memset(si, 0, sizeof(*si));
		si->id = sk->id;
		si->proto = sk->ops->name;
		si->family = sk->family;
		si->saddr = sk->saddr;
		si->daddr = sk->daddr;
		si->sport = sk->sport;
		si->dport = sk->dport;
		si->bound = sk->bound;
		si->connected = sk->connected;
		if (sk->shm) {
			si->recv_q = ring_used(&sk->rx);
			si->send_q = ring_used(&sk->tx);
		}
		si->drops = atomic_load_explicit(&sk->rx_drops, memory_order_relaxed);
		si->owner_cpu = sk->owner_cpu;
		si->rx_cpus = atomic_load_explicit(&sk->rx_cpus, memory_order_relaxed);
		if (sk->ops->info)
			sk->ops->info(sk, si);
	}
	pthread_rwlock_unlock(&sock_lookup_lock);
	pthread_mutex_unlock(&sock_list_lock);
	return n;
}

unsigned int sock_count(void)
{
	unsigned int n;

	pthread_mutex_lock(&sock_list_lock);
	n = sock_list_len;
	pthread_mutex_unlock(&sock_list_lock);
	return n;
}

/* ---- start-up and shutdown --------------------------------------------------- */

int sock_init(void)
{
	int err;

	sysctl_register(sock_table);
	/* UDP first: it is SOCK_DGRAM's default protocol. */
	err = inet_register_protosw(&udp_protosw);
	if (err && err != -EEXIST)
		return err;
	err = inet_register_protosw(&tcp_protosw);
	if (err && err != -EEXIST)
		return err;
	err = inet_register_protosw(&ping_protosw);
	if (err && err != -EEXIST)
		return err;
	err = inet_register_protosw(&raw_protosw);
	if (err && err != -EEXIST)
		return err;
	return 0;
}

static void sock_destroy_on_owner(void *arg)
{
	struct sock *sk = arg;

	sk->ops->destroy(sk);
}

void sock_exit(void)
{
	atomic_store(&sock_shutting_down, true);
	for (;;) {
		struct sock *sk;

		pthread_mutex_lock(&sock_list_lock);
		sk = sock_list;
		pthread_mutex_unlock(&sock_list_lock);
		if (!sk)
			break;
		atomic_store_explicit(&sk->refs, 0, memory_order_relaxed);
		if (sk->closing || !sk->ops->release) {
			/* Kept by its protocol after close, or never held by a client. */
			if (sk->ops->destroy)
				(void)softnet_call_wait(sk->owner_cpu, sock_destroy_on_owner, sk);
			else
				(void)softnet_call_wait(sk->owner_cpu, sock_close_on_owner, sk);
		} else {
			sock_close(sk);
		}
	}
}

int sock_accept(struct sock *sk, struct sock **child, uint32_t *rx_size, uint32_t *tx_size,
		struct sockaddr_storage *peer, socklen_t *peerlen)
{
	if (!sk->ops->accept)
		return -EOPNOTSUPP;
	return sk->ops->accept(sk, child, rx_size, tx_size, peer, peerlen);
}
