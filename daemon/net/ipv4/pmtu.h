/*
 * Path MTU (RFC 1191): what the network told us about the largest packet
 * that reaches a destination, kept per destination address like the
 * kernel's next-hop exceptions (struct fib_nh_exception) and forgotten
 * after net.ipv4.route.mtu_expires seconds.
 *
 * Learned only from ICMP "fragmentation needed" errors that quote a
 * packet a socket of ours sent (udp_err, ping_err, raw_icmp_error,
 * tcp_v4_err); used by __ip_build_and_send_pkt and ip_local_out to
 * fragment and to decide DF, and by transports (TCP's MSS) through
 * ip_rt_get_pmtu() and ip_dst_mtu().
 *
 * Any thread; the table has its own lock, taken only when some exception
 * exists (a relaxed counter says so), so output to destinations without
 * one pays one atomic load.
 */
#ifndef NS_NET_IPV4_PMTU_H
#define NS_NET_IPV4_PMTU_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

struct fib_result;

/* net.ipv4.route.min_pmtu (bytes) and net.ipv4.route.mtu_expires (seconds). */
extern _Atomic int64_t sysctl_ip_rt_min_pmtu;
extern _Atomic int64_t sysctl_ip_rt_mtu_expires;

/*
 * The path MTU to @daddr (network order): the route's device MTU, lowered
 * by a learned exception that has not expired.  0 if there is no route.
 * For TCP's MSS and IP_MTU.  Any thread.
 */
uint32_t ip_rt_get_pmtu(uint32_t daddr);

/*
 * The same for a route already looked up (@res for @daddr); *@locked
 * (may be NULL) says the value was clamped to net.ipv4.route.min_pmtu,
 * in which case senders stop setting DF (the kernel's ip_mtu_locked).
 */
uint32_t ip_dst_mtu(const struct fib_result *res, uint32_t daddr, bool *locked);

/*
 * The MTU a sender in IP_MTU_DISCOVER mode @pmtudisc fragments to (the
 * kernel's ip_skb_dst_mtu): the path MTU for DONT, WANT and DO, the
 * device's for PROBE, INTERFACE and OMIT.
 */
uint32_t ip_sk_dst_mtu(const struct fib_result *res, uint32_t daddr, int pmtudisc,
		       bool *locked);

/*
 * ip_rt_update_pmtu: an ICMP "fragmentation needed" says @mtu bytes is
 * the most that reaches @daddr (the kernel's __ip_rt_update_pmtu).  Only
 * ever lowers the path MTU; a value below net.ipv4.route.min_pmtu (also 0,
 * from old routers) sets min_pmtu and locks it; the exception expires after
 * net.ipv4.route.mtu_expires.  Any thread.
 */
void ip_rt_update_pmtu(uint32_t daddr, uint32_t mtu);

/* Forget every exception (tests, shutdown). */
void ip_rt_pmtu_flush(void);

/* Learned exceptions still in the table (expired ones included until reused). */
unsigned int ip_rt_pmtu_count(void);

/* Register the sysctls.  Control context. */
void pmtu_init(void);

#endif
