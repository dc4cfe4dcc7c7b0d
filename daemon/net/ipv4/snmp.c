/*
 * MIB names and folding across workers.  Any thread may read.
 */
#include <stddef.h>

#include "net/ipv4/snmp.h"

struct ipv4_mib ipv4_mibs[NS_MAX_WORKERS + 1];

const char *const ipstats_mib_names[IPSTATS_MIB_MAX] = {
#define MIB_NAME(n, s) s,
	IPSTATS_MIB_LIST(MIB_NAME)
#undef MIB_NAME
};

const char *const icmp_mib_names[ICMP_MIB_MAX] = {
#define MIB_NAME(n, s) s,
	ICMP_MIB_LIST(MIB_NAME)
#undef MIB_NAME
};

const char *const arp_mib_names[ARP_MIB_MAX] = {
#define MIB_NAME(n, s) s,
	ARP_MIB_LIST(MIB_NAME)
#undef MIB_NAME
};

const char *const udp_mib_names[UDP_MIB_MAX] = {
#define MIB_NAME(n, s) s,
	UDP_MIB_LIST(MIB_NAME)
#undef MIB_NAME
};

/*
 * Sum one counter over every worker's copy: @off is the counter's offset
 * inside struct ipv4_mib (the same in every copy).
 */
static uint64_t snmp_fold(size_t off)
{
	uint64_t s = 0;

	for (int i = 0; i <= NS_MAX_WORKERS; i++)
		s += ns_counter_read((const ns_counter_t *)((const char *)&ipv4_mibs[i] + off));
	return s;
}

#define MIB_OFF(field, idx) (offsetof(struct ipv4_mib, field) + (idx) * sizeof(ns_counter_t))

uint64_t snmp_fold_ip(unsigned int idx)
{
	return idx < IPSTATS_MIB_MAX ? snmp_fold(MIB_OFF(ip, idx)) : 0;
}

uint64_t snmp_fold_icmp(unsigned int idx)
{
	return idx < ICMP_MIB_MAX ? snmp_fold(MIB_OFF(icmp, idx)) : 0;
}

uint64_t snmp_fold_arp(unsigned int idx)
{
	return idx < ARP_MIB_MAX ? snmp_fold(MIB_OFF(arp, idx)) : 0;
}

uint64_t snmp_fold_udp(unsigned int idx)
{
	return idx < UDP_MIB_MAX ? snmp_fold(MIB_OFF(udp, idx)) : 0;
}

uint64_t snmp_fold_icmp_type(int out, unsigned int type)
{
	return out ? snmp_fold(MIB_OFF(icmp_out_type, type & 255))
		   : snmp_fold(MIB_OFF(icmp_in_type, type & 255));
}
