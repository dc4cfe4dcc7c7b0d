/*
 * MIB names and folding across workers.  Any thread may read.
 */
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

uint64_t snmp_fold_ip(unsigned int idx)
{
	uint64_t s = 0;

	for (int i = 0; i <= NS_MAX_WORKERS; i++)
		s += ns_counter_read(&ipv4_mibs[i].ip[idx]);
	return s;
}

uint64_t snmp_fold_icmp(unsigned int idx)
{
	uint64_t s = 0;

	for (int i = 0; i <= NS_MAX_WORKERS; i++)
		s += ns_counter_read(&ipv4_mibs[i].icmp[idx]);
	return s;
}

uint64_t snmp_fold_arp(unsigned int idx)
{
	uint64_t s = 0;

	for (int i = 0; i <= NS_MAX_WORKERS; i++)
		s += ns_counter_read(&ipv4_mibs[i].arp[idx]);
	return s;
}

uint64_t snmp_fold_udp(unsigned int idx)
{
	uint64_t s = 0;

	for (int i = 0; i <= NS_MAX_WORKERS; i++)
		s += ns_counter_read(&ipv4_mibs[i].udp[idx]);
	return s;
}

uint64_t snmp_fold_icmp_type(int out, unsigned int type)
{
	uint64_t s = 0;

	for (int i = 0; i <= NS_MAX_WORKERS; i++)
		s += ns_counter_read(out ? &ipv4_mibs[i].icmp_out_type[type & 255]
					 : &ipv4_mibs[i].icmp_in_type[type & 255]);
	return s;
}
