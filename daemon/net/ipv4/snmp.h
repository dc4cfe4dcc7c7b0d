/*
 * SNMP MIB counters for IPv4, ICMP and UDP with the kernel's names
 * (/proc/net/snmp: Ip:, Icmp:, Udp:; /proc/net/netstat: IpExt:).
 *
 * Each worker has its own copy (one writer each); readers sum.  The lists
 * are X-macros so that the enum and the names shown by netstackctl stats
 * cannot drift apart.  Later protocols (Tcp) add their own groups.
 */
#ifndef NS_NET_SNMP_H
#define NS_NET_SNMP_H

#include <stdint.h>

#include "core/counter.h"
#include "core/softnet.h"

#define IPSTATS_MIB_LIST(X)        \
	X(INRECEIVES, "InReceives")        \
	X(INHDRERRORS, "InHdrErrors")      \
	X(INADDRERRORS, "InAddrErrors")    \
	X(FORWDATAGRAMS, "ForwDatagrams")  \
	X(INUNKNOWNPROTOS, "InUnknownProtos") \
	X(INDISCARDS, "InDiscards")        \
	X(INDELIVERS, "InDelivers")        \
	X(OUTREQUESTS, "OutRequests")      \
	X(OUTDISCARDS, "OutDiscards")      \
	X(OUTNOROUTES, "OutNoRoutes")      \
	X(REASMTIMEOUT, "ReasmTimeout")    \
	X(REASMREQDS, "ReasmReqds")        \
	X(REASMOKS, "ReasmOKs")            \
	X(REASMFAILS, "ReasmFails")        \
	X(FRAGOKS, "FragOKs")              \
	X(FRAGFAILS, "FragFails")          \
	X(FRAGCREATES, "FragCreates")      \
	X(INNOROUTES, "InNoRoutes")        \
	X(INTRUNCATEDPKTS, "InTruncatedPkts") \
	X(INCSUMERRORS, "InCsumErrors")    \
	X(INOCTETS, "InOctets")            \
	X(OUTOCTETS, "OutOctets")          \
	X(INBCASTPKTS, "InBcastPkts")      \
	X(OUTBCASTPKTS, "OutBcastPkts")    \
	X(REASMOVERLAPS, "ReasmOverlaps")

#define ICMP_MIB_LIST(X)                   \
	X(INMSGS, "InMsgs")                    \
	X(INERRORS, "InErrors")                \
	X(INCSUMERRORS, "InCsumErrors")        \
	X(INDESTUNREACHS, "InDestUnreachs")    \
	X(INTIMEEXCDS, "InTimeExcds")          \
	X(INPARMPROBS, "InParmProbs")          \
	X(INREDIRECTS, "InRedirects")          \
	X(INECHOS, "InEchos")                  \
	X(INECHOREPS, "InEchoReps")            \
	X(INTIMESTAMPS, "InTimestamps")        \
	X(OUTMSGS, "OutMsgs")                  \
	X(OUTERRORS, "OutErrors")              \
	X(OUTRATELIMITGLOBAL, "OutRateLimitGlobal") \
	X(OUTRATELIMITHOST, "OutRateLimitHost") \
	X(OUTDESTUNREACHS, "OutDestUnreachs")  \
	X(OUTTIMEEXCDS, "OutTimeExcds")        \
	X(OUTECHOS, "OutEchos")                \
	X(OUTECHOREPS, "OutEchoReps")

#define ARP_MIB_LIST(X)                    \
	X(INREQUESTS, "InRequests")            \
	X(INREPLIES, "InReplies")              \
	X(INGRATUITOUS, "InGratuitous")        \
	X(OUTREQUESTS, "OutRequests")          \
	X(OUTREPLIES, "OutReplies")            \
	X(OUTGRATUITOUS, "OutGratuitous")      \
	X(NOTFORUS, "NotForUs")

/* Udp: as /proc/net/snmp (udp_rcv, udp_sendmsg). */
#define UDP_MIB_LIST(X)                    \
	X(INDATAGRAMS, "InDatagrams")          \
	X(NOPORTS, "NoPorts")                  \
	X(INERRORS, "InErrors")                \
	X(OUTDATAGRAMS, "OutDatagrams")        \
	X(RCVBUFERRORS, "RcvbufErrors")        \
	X(SNDBUFERRORS, "SndbufErrors")        \
	X(INCSUMERRORS, "InCsumErrors")        \
	X(IGNOREDMULTI, "IgnoredMulti")

enum {
#define MIB_ENUM(n, s) IPSTATS_MIB_##n,
	IPSTATS_MIB_LIST(MIB_ENUM)
#undef MIB_ENUM
	IPSTATS_MIB_MAX
};

enum {
#define MIB_ENUM(n, s) ICMP_MIB_##n,
	ICMP_MIB_LIST(MIB_ENUM)
#undef MIB_ENUM
	ICMP_MIB_MAX
};

enum {
#define MIB_ENUM(n, s) ARP_MIB_##n,
	ARP_MIB_LIST(MIB_ENUM)
#undef MIB_ENUM
	ARP_MIB_MAX
};

enum {
#define MIB_ENUM(n, s) UDP_MIB_##n,
	UDP_MIB_LIST(MIB_ENUM)
#undef MIB_ENUM
	UDP_MIB_MAX
};

struct ipv4_mib {
	ns_counter_t ip[IPSTATS_MIB_MAX];
	ns_counter_t icmp[ICMP_MIB_MAX];
	ns_counter_t icmp_in_type[256];   /* IcmpMsg: InTypeN */
	ns_counter_t icmp_out_type[256];  /* IcmpMsg: OutTypeN */
	ns_counter_t arp[ARP_MIB_MAX];
	ns_counter_t udp[UDP_MIB_MAX];
} __attribute__((aligned(64)));

/* Per worker, plus one slot for other threads (shared adds there). */
extern struct ipv4_mib ipv4_mibs[NS_MAX_WORKERS + 1];

static inline struct ipv4_mib *this_mib(void)
{
	int cpu = smp_processor_id();

	return &ipv4_mibs[cpu < 0 ? NS_MAX_WORKERS : cpu];
}

#define __IP_INC_STATS(f) ns_counter_inc(&this_mib()->ip[IPSTATS_MIB_##f])
#define __IP_ADD_STATS(f, n) ns_counter_add(&this_mib()->ip[IPSTATS_MIB_##f], (n))
#define __ICMP_INC_STATS(f) ns_counter_inc(&this_mib()->icmp[ICMP_MIB_##f])
#define __ARP_INC_STATS(f) ns_counter_inc(&this_mib()->arp[ARP_MIB_##f])
#define __UDP_INC_STATS(f) ns_counter_inc(&this_mib()->udp[UDP_MIB_##f])


/* Sum counter @idx of group "Ip"/"Icmp"/"Arp"/"Udp" over all workers. */
uint64_t snmp_fold_ip(unsigned int idx);
uint64_t snmp_fold_icmp(unsigned int idx);
uint64_t snmp_fold_arp(unsigned int idx);
uint64_t snmp_fold_udp(unsigned int idx);
uint64_t snmp_fold_icmp_type(int out, unsigned int type);

extern const char *const ipstats_mib_names[IPSTATS_MIB_MAX];
extern const char *const icmp_mib_names[ICMP_MIB_MAX];
extern const char *const arp_mib_names[ARP_MIB_MAX];
extern const char *const udp_mib_names[UDP_MIB_MAX];

#endif
