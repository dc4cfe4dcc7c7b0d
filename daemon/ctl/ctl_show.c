/*
 * netstackctl show: snapshots of daemon state as protobuf messages.
 *
 * Runs on the control thread for each ShowRequest the IPC server receives.
 * It reads state owned by other modules without stopping the workers:
 * device, MIB and drop counters have one writer each and are summed with
 * relaxed loads (core/counter.h), so every counter is exact but the set is
 * not one instant.  The device list does not change while workers run and
 * address lists are published with release stores (net/ipv4/devinet.h).
 * Locks taken: each worker's input_lock for the length of its backlog, and
 * the neighbour table's lock inside neigh_dump() (and the socket layer's
 * inside sock_dump()).  Sockets and clients come from the socket layer's
 * snapshot and the IPC sessions' tables (which processes hold which
 * socket), both on this thread.
 *
 * Each message built here is the first member of a small wrapper that also
 * holds its strings, so a single free() releases a message and its text;
 * strings with program lifetime (state names) are pointed to, not copied.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/drop.h"
#include "core/netdev.h"
#include "core/softnet.h"
#include "ctl/ctl.h"
#include "drivers/impair.h"
#include "ipc/session.h"
#include "net/core/neighbour.h"
#include "net/ipv4/devinet.h"
#include "net/ipv4/ip.h"
#include "net/ipv4/snmp.h"
#include "net/ipv4/tcp.h"
#include "net/socket.h"

#define CTL_MAC_STRLEN sizeof("aa:bb:cc:dd:ee:ff")
/* Room for entries added between neigh_count() and neigh_dump(). */
#define CTL_NEIGH_SLACK 16
/* "[::ffff:255.255.255.255]:65535" */
#define CTL_SOCKADDR_STRLEN 48
/* Sockets per ss page: about 200 bytes each, well inside one message. */
#define CTL_SOCK_PAGE 512u

struct ctl_addr {
	Netstack__LinkAddr msg;         /* first: free(msg) frees the wrapper */
	char local[INET_ADDRSTRLEN];
	char broadcast[INET_ADDRSTRLEN];
};

struct ctl_link {
	Netstack__LinkInfo msg;         /* first; msg.stats points at stats */
	Netstack__LinkStats stats;
	Netstack__LinkQueueStats qs[NETDEV_MAX_QUEUES]; /* msg.queue_stats -> qsp */
	Netstack__LinkQueueStats *qsp[NETDEV_MAX_QUEUES];
	char name[IFNAMSIZ];
	char kind[32];
	char mac[CTL_MAC_STRLEN];
};

struct ctl_neigh {
	Netstack__NeighInfo msg;        /* first; msg.state is a static name */
	char dst[INET_ADDRSTRLEN];
	char dev[IFNAMSIZ];
	char lladdr[CTL_MAC_STRLEN];
};

struct ctl_sock {
	Netstack__SockInfo msg;         /* first; msg.state is a static name */
	char proto[8];
	char local[CTL_SOCKADDR_STRLEN];
	char peer[CTL_SOCKADDR_STRLEN];
	char cong[16];
	uint32_t rx_cpus[64];           /* msg.rx_cpus points here */
	uint32_t pids[];                /* msg.pids points here */
};

struct ctl_client {
	Netstack__ClientInfo msg;       /* first */
	char program[SESSION_PROGRAM_LEN];
};

struct ctl_counter {
	Netstack__Counter msg;          /* first; strings live in text[] */
	char text[];
};

/* Copy @src into @dst of @size bytes, truncating; @dst is always terminated. */
static void ctl_strcpy(char *dst, size_t size, const char *src)
{
	size_t len = src ? strlen(src) : 0;

	if (len >= size)
		len = size - 1;
	memcpy(dst, src ? src : "", len);
	dst[len] = '\0';
}

static void ctl_format_mac(char *buf, const uint8_t *mac)
{
	snprintf(buf, CTL_MAC_STRLEN, "%02x:%02x:%02x:%02x:%02x:%02x",
		 mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
}

/* @addr in network order as a dotted quad. */
static void ctl_format_ip(char *buf, uint32_t addr)
{
	if (!inet_ntop(AF_INET, &addr, buf, INET_ADDRSTRLEN))
		ctl_strcpy(buf, INET_ADDRSTRLEN, "?");
}

/* --- link ---------------------------------------------------------------- */

static struct in_ifaddr *ctl_ifa_first(struct in_device *in_dev)
{
	return atomic_load_explicit(&in_dev->ifa_list, memory_order_acquire);
}

static bool ctl_ifa_live(struct in_ifaddr *ifa)
{
	return !atomic_load_explicit(&ifa->dead, memory_order_relaxed);
}

/* Attach @dev's live IPv4 addresses to @link.  0 or -ENOMEM. */
static int ctl_link_addrs(Netstack__LinkInfo *link, const struct net_device *dev)
{
	struct in_device *in_dev = in_dev_get(dev);
	struct in_ifaddr *ifa;
	size_t n = 0;

	if (!in_dev)
		return 0;
	for (ifa = ctl_ifa_first(in_dev); ifa; ifa = ifa->ifa_next)
		if (ctl_ifa_live(ifa))
			n++;
	if (!n)
		return 0;
	link->addrs = calloc(n, sizeof(*link->addrs));
	if (!link->addrs)
		return -ENOMEM;

	/* An address added since counting is left for the next snapshot. */
	for (ifa = ctl_ifa_first(in_dev); ifa && link->n_addrs < n; ifa = ifa->ifa_next) {
		struct ctl_addr *a;

		if (!ctl_ifa_live(ifa))
			continue;
		a = calloc(1, sizeof(*a));
		if (!a)
			return -ENOMEM;
		netstack__link_addr__init(&a->msg);
		ctl_format_ip(a->local, ifa->ifa_local);
		a->broadcast[0] = '\0';
		if (ifa->ifa_broadcast)
			ctl_format_ip(a->broadcast, ifa->ifa_broadcast);
		a->msg.local = a->local;
		a->msg.broadcast = a->broadcast;
		a->msg.prefixlen = ifa->ifa_prefixlen;
		link->addrs[link->n_addrs++] = &a->msg;
	}
	return 0;
}

/* Per-queue counters (ethtool -S's view) and the transmit side's setup. */
static void ctl_link_queues(struct ctl_link *l, const struct net_device *dev)
{
	unsigned int n = dev->num_rx_queues > dev->num_tx_queues ? dev->num_rx_queues
								   : dev->num_tx_queues;

	if (n > NETDEV_MAX_QUEUES)
		n = NETDEV_MAX_QUEUES;
	for (unsigned int q = 0; q < n; q++) {
		Netstack__LinkQueueStats *qs = &l->qs[q];
		const struct netdev_rx_queue *rxq = &dev->rx[q];
		const struct netdev_queue *txq = &dev->tx[q];

		netstack__link_queue_stats__init(qs);
		qs->index = q;
		qs->cpu = rxq->napi.sd ? rxq->napi.sd->cpu : -1;
		qs->rx_packets = ns_counter_read(&rxq->rx_packets);
		qs->rx_bytes = ns_counter_read(&rxq->rx_bytes);
		qs->rx_dropped = ns_counter_read(&rxq->rx_dropped);
		qs->rx_irqs = ns_counter_read(&rxq->irq.count);
		qs->weight = rxq->napi.poll ? (uint32_t)rxq->napi.weight : 0;
		qs->rps_mask = rxq->rps_mask;
		qs->tx_packets = ns_counter_read(&txq->tx_packets);
		qs->tx_bytes = ns_counter_read(&txq->tx_bytes);
		qs->tx_dropped = ns_counter_read(&txq->tx_dropped);
		l->qsp[q] = qs;
	}
	l->msg.n_queue_stats = n;
	l->msg.queue_stats = l->qsp;
	l->msg.txqueuelen = atomic_load_explicit(&((struct net_device *)dev)->tx_queue_len,
						 memory_order_relaxed);
	l->msg.qdisc = (char *)((dev->priv_flags & NETDEV_IFF_NO_QUEUE) ? "noqueue" : "pfifo_fast");
}

static struct ctl_link *ctl_link_new(struct net_device *dev)
{
	struct rtnl_link_stats64_ns st = { 0 };
	struct ctl_link *l = calloc(1, sizeof(*l));

	if (!l)
		return NULL;
	netstack__link_info__init(&l->msg);
	netstack__link_stats__init(&l->stats);

	ctl_strcpy(l->name, sizeof(l->name), dev->name);
	ctl_strcpy(l->kind, sizeof(l->kind), dev->kind);
	if (dev->addr_len >= ETH_ALEN_NS)
		ctl_format_mac(l->mac, dev->dev_addr);
	l->msg.name = l->name;
	l->msg.kind = l->kind;
	l->msg.mac = l->mac;
	l->msg.ifindex = dev->ifindex;
	l->msg.mtu = dev->mtu;
	l->msg.up = netif_running(dev);
	l->msg.rx_queues = dev->num_rx_queues;
	l->msg.tx_queues = dev->num_tx_queues;

	dev_get_stats(dev, &st);
	l->stats.rx_packets = st.rx_packets;
	l->stats.rx_bytes = st.rx_bytes;
	l->stats.rx_errors = st.rx_errors;
	l->stats.rx_dropped = st.rx_dropped;
	l->stats.rx_over_errors = st.rx_over_errors;
	l->stats.rx_length_errors = st.rx_length_errors;
	l->stats.rx_missed_errors = st.rx_missed_errors;
	l->stats.multicast = st.multicast;
	l->stats.tx_packets = st.tx_packets;
	l->stats.tx_bytes = st.tx_bytes;
	l->stats.tx_errors = st.tx_errors;
	l->stats.tx_dropped = st.tx_dropped;
	l->stats.tx_carrier_errors = st.tx_carrier_errors;
	l->stats.collisions = st.collisions;
	l->msg.stats = &l->stats;
	ctl_link_queues(l, dev);
	return l;
}

static int ctl_show_link(Netstack__ShowReply *reply)
{
	struct net_device *dev;
	size_t n = 0;
	int err;

	for (dev = netdev_first(); dev; dev = dev->next)
		n++;
	if (!n)
		return 0;
	reply->links = calloc(n, sizeof(*reply->links));
	if (!reply->links)
		return -ENOMEM;

	for (dev = netdev_first(); dev && reply->n_links < n; dev = dev->next) {
		struct ctl_link *l = ctl_link_new(dev);

		if (!l)
			return -ENOMEM;
		reply->links[reply->n_links++] = &l->msg;
		err = ctl_link_addrs(&l->msg, dev);
		if (err)
			return err;
	}
	return 0;
}

/* --- softnet ------------------------------------------------------------- */

static int ctl_show_softnet(Netstack__ShowReply *reply)
{
	int cpu;

	if (nr_workers <= 0)
		return 0;
	reply->softnet = calloc(nr_workers, sizeof(*reply->softnet));
	if (!reply->softnet)
		return -ENOMEM;

	for (cpu = 0; cpu < nr_workers; cpu++) {
		struct softnet_data *sd = softnet_get(cpu);
		Netstack__SoftnetInfo *s;

		if (!sd)
			continue;
		s = calloc(1, sizeof(*s));
		if (!s)
			return -ENOMEM;
		netstack__softnet_info__init(s);
		s->cpu = cpu;
		s->processed = ns_counter_read(&sd->processed);
		s->dropped = ns_counter_read(&sd->dropped);
		s->time_squeeze = ns_counter_read(&sd->time_squeeze);
		s->received_rps = ns_counter_read(&sd->received_rps);
		s->ipi_sent = ns_counter_read(&sd->ipi_sent);
		s->loops = ns_counter_read(&sd->loops);
		s->gro_merged = ns_counter_read(&sd->gro_merged);
		s->gro_flush = ns_counter_read(&sd->gro_flush);
		s->ip_rcv = ns_counter_read(&sd->ip_rcv);
		pthread_mutex_lock(&sd->input_lock);
		s->backlog_len = skb_queue_len(&sd->input_pkt_queue);
		pthread_mutex_unlock(&sd->input_lock);
		reply->softnet[reply->n_softnet++] = s;
	}
	return 0;
}

/* --- neigh --------------------------------------------------------------- */

static struct ctl_neigh *ctl_neigh_new(const struct neigh_info *ni)
{
	struct ctl_neigh *n = calloc(1, sizeof(*n));
	struct net_device *dev;

	if (!n)
		return NULL;
	netstack__neigh_info__init(&n->msg);
	ctl_format_ip(n->dst, ni->ip);
	dev = dev_get_by_index(ni->ifindex);
	if (dev)
		ctl_strcpy(n->dev, sizeof(n->dev), dev->name);
	else
		snprintf(n->dev, sizeof(n->dev), "if%d", ni->ifindex);
	if (ni->has_lladdr)
		ctl_format_mac(n->lladdr, ni->lladdr);
	n->msg.dst = n->dst;
	n->msg.dev = n->dev;
	n->msg.lladdr = n->lladdr;
	n->msg.state = (char *)neigh_state_name(ni->nud_state);
	n->msg.probes = ni->probes;
	n->msg.confirmed_ms_ago = ni->confirmed_ms_ago;
	n->msg.used_ms_ago = ni->used_ms_ago;
	n->msg.queue_len = ni->queue_len;
	return n;
}

static int ctl_show_neigh(Netstack__ShowReply *reply)
{
	unsigned int max = neigh_count() + CTL_NEIGH_SLACK;
	struct neigh_info *info;
	unsigned int i, n;
	int err = 0;

	info = calloc(max, sizeof(*info));
	if (!info)
		return -ENOMEM;
	n = neigh_dump(info, max);
	if (!n)
		goto out_free_info;

	reply->neigh = calloc(n, sizeof(*reply->neigh));
	if (!reply->neigh) {
		err = -ENOMEM;
		goto out_free_info;
	}
	for (i = 0; i < n; i++) {
		struct ctl_neigh *ne = ctl_neigh_new(&info[i]);

		if (!ne) {
			err = -ENOMEM;
			goto out_free_info;
		}
		reply->neigh[reply->n_neigh++] = &ne->msg;
	}

out_free_info:
	free(info);
	return err;
}

/* --- counters: stats and drops -------------------------------------------- */

/* Append one Counter; @reply->counters has room (sized by the caller). */
static int ctl_counter_add(Netstack__ShowReply *reply, const char *group,
			   const char *name, uint64_t value, const char *help)
{
	size_t glen = strlen(group) + 1;
	size_t nlen = strlen(name) + 1;
	size_t hlen = strlen(help) + 1;
	struct ctl_counter *c = malloc(sizeof(*c) + glen + nlen + hlen);

	if (!c)
		return -ENOMEM;
	netstack__counter__init(&c->msg);
	c->msg.group = memcpy(c->text, group, glen);
	c->msg.name = memcpy(c->text + glen, name, nlen);
	c->msg.help = memcpy(c->text + glen + nlen, help, hlen);
	c->msg.value = value;
	reply->counters[reply->n_counters++] = &c->msg;
	return 0;
}

static int ctl_show_stats(Netstack__ShowReply *reply)
{
	size_t max = IPSTATS_MIB_MAX + ICMP_MIB_MAX + 2 * 256 + ARP_MIB_MAX + UDP_MIB_MAX +
		     TCP_MIB_MAX + LINUX_MIB_MAX + 2 + IMPAIR_NDIR * IMPAIR_STAT_MAX;
	char name[sizeof("OutType255")];
	unsigned int i;
	int out, err;

	reply->counters = calloc(max, sizeof(*reply->counters));
	if (!reply->counters)
		return -ENOMEM;

	for (i = 0; i < IPSTATS_MIB_MAX; i++) {
		err = ctl_counter_add(reply, "Ip", ipstats_mib_names[i], snmp_fold_ip(i), "");
		if (err)
			return err;
	}
	for (i = 0; i < ICMP_MIB_MAX; i++) {
		err = ctl_counter_add(reply, "Icmp", icmp_mib_names[i], snmp_fold_icmp(i), "");
		if (err)
			return err;
	}
	/* As the kernel's IcmpMsg: only types seen, all In types then all Out. */
	for (out = 0; out <= 1; out++) {
		for (i = 0; i < 256; i++) {
			uint64_t v = snmp_fold_icmp_type(out, i);

			if (!v)
				continue;
			snprintf(name, sizeof(name), "%sType%u", out ? "Out" : "In", i);
			err = ctl_counter_add(reply, "IcmpMsg", name, v, "");
			if (err)
				return err;
		}
	}
	for (i = 0; i < ARP_MIB_MAX; i++) {
		err = ctl_counter_add(reply, "Arp", arp_mib_names[i], snmp_fold_arp(i), "");
		if (err)
			return err;
	}
	for (i = 0; i < UDP_MIB_MAX; i++) {
		err = ctl_counter_add(reply, "Udp", udp_mib_names[i], snmp_fold_udp(i), "");
		if (err)
			return err;
	}
	for (i = 0; i < TCP_MIB_MAX; i++) {
		uint64_t v = snmp_fold_tcp(i);

		/* CurrEstab is a gauge kept as per-worker deltas: the sum is the count. */
		err = ctl_counter_add(reply, "Tcp", tcp_mib_names[i], v, "");
		if (err)
			return err;
	}
	for (i = 0; i < LINUX_MIB_MAX; i++) {
		err = ctl_counter_add(reply, "TcpExt", tcpext_mib_names[i], snmp_fold_tcpext(i), "");
		if (err)
			return err;
	}
	/* Gauges, as /proc/net/sockstat's "FRAG: inuse N memory M". */
	err = ctl_counter_add(reply, "FRAG", "inuse", ip_frag_queues(), "");
	if (!err)
		err = ctl_counter_add(reply, "FRAG", "memory", ip_frag_mem(), "");
	if (err)
		return err;
	/* The test link impairment (net.netstack.impair.*), rx then tx. */
	for (int d = 0; d < IMPAIR_NDIR; d++) {
		for (i = 0; i < IMPAIR_STAT_MAX; i++) {
			err = ctl_counter_add(reply, "Impair", impair_stat_name(d, i),
					      impair_stat_fold(d, i), "");
			if (err)
				return err;
		}
	}
	return 0;
}

static int ctl_show_drops(Netstack__ShowReply *reply)
{
	int r, err;

	reply->counters = calloc(SKB_DROP_REASON_MAX, sizeof(*reply->counters));
	if (!reply->counters)
		return -ENOMEM;

	/* Every reason, zeros included; CONSUMED is not a drop. */
	for (r = SKB_DROP_REASON_CONSUMED + 1; r < SKB_DROP_REASON_MAX; r++) {
		err = ctl_counter_add(reply, "Drop", skb_drop_reason_name(r),
				      drop_stats_total(r), skb_drop_reason_text(r));
		if (err)
			return err;
	}
	return 0;
}

/* --- sockets and clients ---------------------------------------------------- */

/*
 * "addr:port" as ss(8) prints it: "*" for the wildcard address and port,
 * IPv6 sockets (v4-mapped only) in brackets.  @addr, @port network order.
 */
static void ctl_format_sockaddr(char *buf, int family, uint32_t addr, uint16_t port)
{
	char ip[INET_ADDRSTRLEN], portstr[8];

	if (port)
		snprintf(portstr, sizeof(portstr), "%u", ntohs(port));
	else
		snprintf(portstr, sizeof(portstr), "*");
	if (!addr) {
		snprintf(buf, CTL_SOCKADDR_STRLEN, "*:%s", portstr);
		return;
	}
	ctl_format_ip(ip, addr);
	if (family == AF_INET6)
		snprintf(buf, CTL_SOCKADDR_STRLEN, "[::ffff:%s]:%s", ip, portstr);
	else
		snprintf(buf, CTL_SOCKADDR_STRLEN, "%s:%s", ip, portstr);
}

static struct ctl_sock *ctl_sock_new(const struct sock_info *si, unsigned int max_pids)
{
	struct ctl_sock *cs = calloc(1, sizeof(*cs) + max_pids * sizeof(cs->pids[0]));

	if (!cs)
		return NULL;
	netstack__sock_info__init(&cs->msg);
	cs->msg.sock_id = si->id;
	ctl_strcpy(cs->proto, sizeof(cs->proto), si->proto);
	cs->msg.proto = cs->proto;
	/* A connected datagram socket is ESTAB in ss(8); TCP has its own states. */
	cs->msg.state = (char *)(si->state ? si->state : si->connected ? "ESTAB" : "UNCONN");
	cs->msg.cwnd = si->cwnd;
	cs->msg.ssthresh = si->ssthresh;
	cs->msg.rtt_us = si->rtt_us;
	cs->msg.rttvar_us = si->rttvar_us;
	cs->msg.rto_ms = si->rto_ms;
	cs->msg.mss = si->mss;
	cs->msg.retrans = si->retrans;
	cs->msg.total_retrans = si->total_retrans;
	cs->msg.sacked = si->sacked;
	cs->msg.unacked = si->unacked;
	cs->msg.delivery_rate = si->delivery_rate;
	cs->msg.bytes_acked = si->bytes_acked;
	cs->msg.bytes_received = si->bytes_received;
	ctl_strcpy(cs->cong, sizeof(cs->cong), si->cong);
	cs->msg.cong = cs->cong;
	ctl_format_sockaddr(cs->local, si->family, si->bound ? si->saddr : 0,
			    si->bound ? si->sport : 0);
	if (si->connected)
		ctl_format_sockaddr(cs->peer, si->family, si->daddr, si->dport);
	else
		ctl_strcpy(cs->peer, sizeof(cs->peer), "*:*");
	cs->msg.local = cs->local;
	cs->msg.peer = cs->peer;
	cs->msg.recv_q = si->recv_q;
	cs->msg.send_q = si->send_q;
	cs->msg.drops = si->drops;
	cs->msg.owner_cpu = si->owner_cpu;
	for (unsigned int cpu = 0; cpu < 64; cpu++)
		if (si->rx_cpus & (1ull << cpu))
			cs->rx_cpus[cs->msg.n_rx_cpus++] = cpu;
	cs->msg.rx_cpus = cs->rx_cpus;
	cs->msg.family = si->family;
	cs->msg.pids = cs->pids;
	cs->msg.n_pids = session_sock_pids(si->id, cs->pids, max_pids);
	return cs;
}

static int ctl_sock_info_cmp(const void *a, const void *b)
{
	const struct sock_info *x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id;
}

/*
 * A page of sockets, sorted by id, after @after_id: a reply must fit one
 * IPC message (NS_IPC_MAX_MSG), and 10,000 sockets do not.
 */
static int ctl_show_sockets(Netstack__ShowReply *reply, uint64_t after_id, uint32_t max_items)
{
	unsigned int max = sock_count() + CTL_NEIGH_SLACK;
	unsigned int max_pids = session_count() ? session_count() : 1;
	struct sock_info *info;
	unsigned int i, n, first, count;
	int err = 0;

	if (!max_items || max_items > CTL_SOCK_PAGE)
		max_items = CTL_SOCK_PAGE;
	info = calloc(max, sizeof(*info));
	if (!info)
		return -ENOMEM;
	n = sock_dump(info, max);
	if (!n)
		goto out_free_info;
	qsort(info, n, sizeof(*info), ctl_sock_info_cmp);
	for (first = 0; first < n && info[first].id <= after_id; first++)
		;
	count = n - first < max_items ? n - first : max_items;
	reply->more = first + count < n;
	if (!count)
		goto out_free_info;
	reply->sockets = calloc(count, sizeof(*reply->sockets));
	if (!reply->sockets) {
		err = -ENOMEM;
		goto out_free_info;
	}
	for (i = first; i < first + count; i++) {
		struct ctl_sock *cs = ctl_sock_new(&info[i], max_pids);

		if (!cs) {
			err = -ENOMEM;
			goto out_free_info;
		}
		reply->sockets[reply->n_sockets++] = &cs->msg;
	}

out_free_info:
	free(info);
	return err;
}

static int ctl_show_clients(Netstack__ShowReply *reply)
{
	unsigned int i, n = session_count();
	struct session_info *info;
	int err = 0;

	if (!n)
		return 0;
	info = calloc(n, sizeof(*info));
	if (!info)
		return -ENOMEM;
	n = session_dump(info, n);
	reply->clients = calloc(n ? n : 1, sizeof(*reply->clients));
	if (!reply->clients) {
		err = -ENOMEM;
		goto out_free_info;
	}
	for (i = 0; i < n; i++) {
		struct ctl_client *cc = calloc(1, sizeof(*cc));

		if (!cc) {
			err = -ENOMEM;
			goto out_free_info;
		}
		netstack__client_info__init(&cc->msg);
		ctl_strcpy(cc->program, sizeof(cc->program), info[i].program);
		cc->msg.program = cc->program;
		cc->msg.pid = (uint32_t)info[i].pid;
		cc->msg.uid = (uint32_t)info[i].uid;
		cc->msg.gid = (uint32_t)info[i].gid;
		cc->msg.sockets = info[i].sockets;
		cc->msg.shm_size = info[i].shm_size;
		cc->msg.shm_used = info[i].shm_used;
		/* token stays 0: it is a capability, not for display. */
		reply->clients[reply->n_clients++] = &cc->msg;
	}

out_free_info:
	free(info);
	return err;
}

/* --- entry points ---------------------------------------------------------- */

int ctl_show(const Netstack__ShowRequest *rq, Netstack__ShowReply *reply)
{
	int err;

	netstack__show_reply__init(reply);
	switch (rq->what) {
	case NETSTACK__SHOW_WHAT__SHOW_LINK:
		err = ctl_show_link(reply);
		break;
	case NETSTACK__SHOW_WHAT__SHOW_SOFTNET:
		err = ctl_show_softnet(reply);
		break;
	case NETSTACK__SHOW_WHAT__SHOW_NEIGH:
		err = ctl_show_neigh(reply);
		break;
	case NETSTACK__SHOW_WHAT__SHOW_STATS:
		err = ctl_show_stats(reply);
		break;
	case NETSTACK__SHOW_WHAT__SHOW_DROPS:
		err = ctl_show_drops(reply);
		break;
	case NETSTACK__SHOW_WHAT__SHOW_SOCKETS:
		err = ctl_show_sockets(reply, rq->after_id, rq->max_items);
		break;
	case NETSTACK__SHOW_WHAT__SHOW_CLIENTS:
		err = ctl_show_clients(reply);
		break;
	default:
		return -EINVAL;
	}
	if (err)
		ctl_show_free(reply);
	return err;
}

/* Free each message of an array (the first member of its wrapper), then the array. */
#define CTL_FREE_ARRAY(arr, n)					\
	do {							\
		size_t i_;					\
								\
		for (i_ = 0; i_ < (n); i_++)			\
			free((arr)[i_]);			\
		free(arr);					\
	} while (0)

void ctl_show_free(Netstack__ShowReply *reply)
{
	size_t i;

	for (i = 0; i < reply->n_links; i++)
		CTL_FREE_ARRAY(reply->links[i]->addrs, reply->links[i]->n_addrs);
	CTL_FREE_ARRAY(reply->links, reply->n_links);
	CTL_FREE_ARRAY(reply->softnet, reply->n_softnet);
	CTL_FREE_ARRAY(reply->neigh, reply->n_neigh);
	CTL_FREE_ARRAY(reply->counters, reply->n_counters);
	CTL_FREE_ARRAY(reply->sockets, reply->n_sockets);
	CTL_FREE_ARRAY(reply->clients, reply->n_clients);
	netstack__show_reply__init(reply);
}
