/*
 * The neighbour cache (the kernel's net/core/neighbour.c, ARP flavour):
 * IPv4 next hop -> link-layer address, with the kernel's NUD states, a
 * prebuilt hardware header per entry (the hh cache) and a bounded queue of
 * packets that wait for resolution.
 *
 * Context and locking: the table is shared by all workers (a packet to a
 * neighbour may be sent from any of them) and protected by one mutex held
 * for a lookup or an update, never across a transmit.  The state machine
 * (retransmitting solicitations, REACHABLE -> STALE, garbage collection)
 * runs from a periodic timer on worker 0.  This is the one shared lock on
 * the transmit path; the kernel uses RCU here, and a per-worker read cache
 * is the planned replacement.
 */
#ifndef NS_NET_NEIGHBOUR_H
#define NS_NET_NEIGHBOUR_H

#include <stdbool.h>
#include <stdint.h>

struct sk_buff;
struct net_device;

/* NUD states, with the kernel's values (linux/neighbour.h). */
enum {
	NUD_INCOMPLETE = 0x01,
	NUD_REACHABLE = 0x02,
	NUD_STALE = 0x04,
	NUD_DELAY = 0x08,
	NUD_PROBE = 0x10,
	NUD_FAILED = 0x20,
	NUD_NOARP = 0x40,
	NUD_PERMANENT = 0x80,
	NUD_NONE = 0x00,
};

/* What netstackctl neigh shows for one entry. */
struct neigh_info {
	uint32_t ip;                /* network order */
	int ifindex;
	uint8_t lladdr[6];
	bool has_lladdr;
	uint8_t nud_state;
	uint32_t probes;
	uint64_t confirmed_ms_ago;
	uint64_t used_ms_ago;
	uint32_t queue_len;
};

/* Set up the table; registers its sysctls.  Control context. */
int neigh_init(void);
/* Start the periodic state-machine timer on worker 0. */
void neigh_start(void);
/* Free every entry and queued packet.  Workers must be stopped. */
void neigh_cleanup(void);

/*
 * Send @skb (data at the IP header) to next hop @nexthop on @dev: with a
 * valid entry the cached header is pushed and the frame goes to
 * dev_queue_xmit; otherwise the skb waits in the entry's queue and a
 * solicitation goes out.  Consumes @skb.  Returns 0 or -errno.  Worker.
 */
int neigh_output(struct sk_buff *skb, struct net_device *dev, uint32_t nexthop);

/*
 * Record that @ip is at @lladdr on @dev (from an ARP packet).  @create: add
 * an entry if none exists (the packet was addressed to us).  @solicited:
 * the mapping is confirmed (a reply to our request) -> REACHABLE;
 * otherwise STALE per RFC 826/kernel.  Packets waiting on the entry are
 * transmitted.  Worker context.
 */
void neigh_update(struct net_device *dev, uint32_t ip, const uint8_t *lladdr,
		  bool create, bool solicited);

/* Snapshot of up to @max entries into @out; returns the number written. */
unsigned int neigh_dump(struct neigh_info *out, unsigned int max);
unsigned int neigh_count(void);

const char *neigh_state_name(uint8_t nud_state);

/* How the table asks for an address (ARP request; @unicast_hw NULL: broadcast). */
typedef void (*neigh_solicit_fn)(struct net_device *dev, uint32_t ip,
				 const uint8_t *unicast_hw);
void neigh_set_solicit(neigh_solicit_fn fn);

#endif
