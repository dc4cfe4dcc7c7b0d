/*
 * Hook rules: parsing iptables-style words, printing them back, and
 * matching a packet (the kernel's ip_packet_match plus the tcp/udp
 * matches of xt_tcpudp).
 *
 * Context: parsing and printing on the control thread (netstackctl hook,
 * netstackd.conf); nf_rule_match on workers, reading only the rule and
 * the packet.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/skb.h"
#include "log.h"
#include "net/netfilter/netfilter.h"
#include "net/wire/icmp.h"
#include "net/wire/ip.h"
#include "net/wire/tcp.h"

static const char *const nf_chain_names[NF_INET_NUMHOOKS] = {
	"PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING",
};

static const char *const nf_kernel_names[NF_INET_NUMHOOKS] = {
	"PRE_ROUTING", "LOCAL_IN", "FORWARD", "LOCAL_OUT", "POST_ROUTING",
};

int nf_hook_by_name(const char *name)
{
	for (unsigned int i = 0; i < NF_INET_NUMHOOKS; i++)
		if (!strcasecmp(name, nf_chain_names[i]) || !strcasecmp(name, nf_kernel_names[i]))
			return (int)i;
	return -1;
}

const char *nf_hook_chain_name(unsigned int hook)
{
	return hook < NF_INET_NUMHOOKS ? nf_chain_names[hook] : "?";
}

const char *nf_hook_kernel_name(unsigned int hook)
{
	return hook < NF_INET_NUMHOOKS ? nf_kernel_names[hook] : "?";
}

static const struct {
	const char *name;
	uint8_t proto;
} nf_protos[] = {
	{ "all", 0 }, { "icmp", IPPROTO_ICMP_NS }, { "tcp", IPPROTO_TCP_NS },
	{ "udp", IPPROTO_UDP_NS },
};

static const struct {
	const char *name;
	uint8_t code;
} nf_reject_types[] = {
	{ "icmp-port-unreachable", ICMP_PORT_UNREACH },
	{ "icmp-net-unreachable", ICMP_NET_UNREACH },
	{ "icmp-host-unreachable", ICMP_HOST_UNREACH },
	{ "icmp-proto-unreachable", ICMP_PROT_UNREACH },
	{ "icmp-net-prohibited", ICMP_NET_ANO },
	{ "icmp-host-prohibited", ICMP_HOST_ANO },
	{ "icmp-admin-prohibited", ICMP_PKT_FILTERED },
	{ "tcp-reset", NF_REJECT_TCP_RESET },
};

static const struct {
	const char *name;
	uint8_t bits;
} nf_tcp_flag_names[] = {
	{ "FIN", TCPHDR_FIN }, { "SYN", TCPHDR_SYN }, { "RST", TCPHDR_RST },
	{ "PSH", TCPHDR_PSH }, { "ACK", TCPHDR_ACK }, { "URG", TCPHDR_URG },
	{ "ECE", TCPHDR_ECE }, { "CWR", TCPHDR_CWR },
};

static const char *const nf_target_names[] = {
	[NF_TARGET_COUNT] = "COUNT", [NF_TARGET_ACCEPT] = "ACCEPT",
	[NF_TARGET_DROP] = "DROP", [NF_TARGET_REJECT] = "REJECT",
};

/* "A.B.C.D" or "A.B.C.D/N", host bits cleared (iptables does the same). */
static int nf_parse_prefix(const char *w, uint32_t *addr, uint32_t *mask, uint8_t *len)
{
	char buf[INET_ADDRSTRLEN + 4];
	char *slash, *end;
	unsigned long n = 32;
	struct in_addr a;

	if (strlen(w) >= sizeof(buf))
		return -1;
	strcpy(buf, w);
	slash = strchr(buf, '/');
	if (slash) {
		*slash++ = '\0';
		errno = 0;
		n = strtoul(slash, &end, 10);
		if (errno || end == slash || *end || n > 32)
			return -1;
	}
	if (inet_pton(AF_INET, buf, &a) != 1)
		return -1;
	*mask = n ? htonl(~0u << (32 - n)) : 0;
	*addr = a.s_addr & *mask;
	*len = (uint8_t)n;
	return 0;
}

static int nf_parse_port(const char *s, const char *end, uint16_t *port)
{
	char *e;
	unsigned long v;

	if (s == end || *s == '-' || *s == '+')
		return -1;
	errno = 0;
	v = strtoul(s, &e, 10);
	if (errno || e != end || v > 65535)
		return -1;
	*port = (uint16_t)v;
	return 0;
}

/* "P", "P:Q", ":Q", "P:" as iptables takes them. */
static int nf_parse_ports(const char *w, uint16_t *min, uint16_t *max)
{
	const char *colon = strchr(w, ':');
	const char *end = w + strlen(w);

	if (!colon) {
		if (nf_parse_port(w, end, min))
			return -1;
		*max = *min;
		return 0;
	}
	*min = 0;
	*max = 65535;
	if (colon > w && nf_parse_port(w, colon, min))
		return -1;
	if (colon[1] && nf_parse_port(colon + 1, end, max))
		return -1;
	return *min <= *max ? 0 : -1;
}

/* "SYN,ACK", "ALL" or "NONE". */
static int nf_parse_tcp_flags(const char *w, uint8_t *bits)
{
	char buf[64], *save = NULL, *tok;

	if (strlen(w) >= sizeof(buf))
		return -1;
	strcpy(buf, w);
	*bits = 0;
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		size_t i;

		if (!strcasecmp(tok, "ALL")) {
			*bits = 0xff;
			continue;
		}
		if (!strcasecmp(tok, "NONE"))
			continue;
		for (i = 0; i < NS_ARRAY_SIZE(nf_tcp_flag_names); i++)
			if (!strcasecmp(tok, nf_tcp_flag_names[i].name))
				break;
		if (i == NS_ARRAY_SIZE(nf_tcp_flag_names))
			return -1;
		*bits |= nf_tcp_flag_names[i].bits;
	}
	return 0;
}

static int nf_parse_ifname(const char *w, char *dst)
{
	if (!*w || strlen(w) >= IFNAMSIZ || strchr(w, '/') || strchr(w, ' '))
		return -1;
	strcpy(dst, w);
	return 0;
}

int nf_rule_parse(unsigned int hook, int argc, char *const *argv, struct nf_rule *r,
		  char *err, size_t errlen)
{
	bool have_target = false, have_reject_with = false, have_proto = false;
	bool have_ports = false, have_flags = false;

	if (hook >= NF_INET_NUMHOOKS)
		return ns_einval(err, errlen, "unknown hook");
	memset(r, 0, sizeof(*r));
	r->sport_max = r->dport_max = 65535;
	r->target = NF_TARGET_COUNT;
	r->reject_with = ICMP_PORT_UNREACH;
	for (int i = 0; i < argc; i++) {
		const char *w = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(w, "--syn")) {
			if (have_flags)
				return ns_einval(err, errlen, "TCP flags given twice");
			r->tcp_flg_mask = TCPHDR_SYN | TCPHDR_RST | TCPHDR_ACK | TCPHDR_FIN;
			r->tcp_flg_cmp = TCPHDR_SYN;
			have_flags = true;
			continue;
		}
		if (!v)
			return ns_einval(err, errlen, "'%s' needs a value", w);
		if (!strcmp(w, "-i") || !strcmp(w, "--in-interface")) {
			if (hook == NF_INET_LOCAL_OUT || hook == NF_INET_POST_ROUTING)
				return ns_einval(err, errlen, "-i cannot be used in %s",
					       nf_chain_names[hook]);
			if (r->iif[0] || nf_parse_ifname(v, r->iif))
				return ns_einval(err, errlen, "bad or repeated interface '%s'", v);
		} else if (!strcmp(w, "-o") || !strcmp(w, "--out-interface")) {
			if (hook == NF_INET_PRE_ROUTING || hook == NF_INET_LOCAL_IN)
				return ns_einval(err, errlen, "-o cannot be used in %s",
					       nf_chain_names[hook]);
			if (r->oif[0] || nf_parse_ifname(v, r->oif))
				return ns_einval(err, errlen, "bad or repeated interface '%s'", v);
		} else if (!strcmp(w, "-p") || !strcmp(w, "--protocol")) {
			size_t k;
			char *end;
			unsigned long n;

			if (have_proto)
				return ns_einval(err, errlen, "protocol given twice");
			have_proto = true;
			for (k = 0; k < NS_ARRAY_SIZE(nf_protos); k++)
				if (!strcasecmp(v, nf_protos[k].name))
					break;
			if (k < NS_ARRAY_SIZE(nf_protos)) {
				r->protocol = nf_protos[k].proto;
			} else {
				errno = 0;
				n = strtoul(v, &end, 10);
				if (errno || end == v || *end || n > 255)
					return ns_einval(err, errlen, "unknown protocol '%s'", v);
				r->protocol = (uint8_t)n;
			}
		} else if (!strcmp(w, "-s") || !strcmp(w, "--source")) {
			if (r->src_len || nf_parse_prefix(v, &r->src, &r->src_mask, &r->src_len))
				return ns_einval(err, errlen, "bad or repeated source '%s'", v);
		} else if (!strcmp(w, "-d") || !strcmp(w, "--destination")) {
			if (r->dst_len || nf_parse_prefix(v, &r->dst, &r->dst_mask, &r->dst_len))
				return ns_einval(err, errlen, "bad or repeated destination '%s'", v);
		} else if (!strcmp(w, "--sport") || !strcmp(w, "--source-port")) {
			if (nf_parse_ports(v, &r->sport_min, &r->sport_max))
				return ns_einval(err, errlen, "bad port '%s'", v);
			have_ports = true;
		} else if (!strcmp(w, "--dport") || !strcmp(w, "--destination-port")) {
			if (nf_parse_ports(v, &r->dport_min, &r->dport_max))
				return ns_einval(err, errlen, "bad port '%s'", v);
			have_ports = true;
		} else if (!strcmp(w, "--tcp-flags")) {
			const char *comp = i + 2 < argc ? argv[i + 2] : NULL;

			if (have_flags)
				return ns_einval(err, errlen, "TCP flags given twice");
			if (!comp || nf_parse_tcp_flags(v, &r->tcp_flg_mask) ||
			    nf_parse_tcp_flags(comp, &r->tcp_flg_cmp))
				return ns_einval(err, errlen,
					       "--tcp-flags needs MASK COMP (e.g. SYN,ACK SYN)");
			r->tcp_flg_cmp &= r->tcp_flg_mask;
			have_flags = true;
			i++;
		} else if (!strcmp(w, "-j") || !strcmp(w, "--jump")) {
			size_t k;

			if (have_target)
				return ns_einval(err, errlen, "target given twice");
			for (k = 0; k < NS_ARRAY_SIZE(nf_target_names); k++)
				if (!strcasecmp(v, nf_target_names[k]))
					break;
			if (k == NS_ARRAY_SIZE(nf_target_names))
				return ns_einval(err, errlen,
					       "unknown target '%s' (ACCEPT, DROP, REJECT, COUNT)", v);
			r->target = (uint8_t)k;
			have_target = true;
		} else if (!strcmp(w, "--reject-with")) {
			size_t k;

			for (k = 0; k < NS_ARRAY_SIZE(nf_reject_types); k++)
				if (!strcasecmp(v, nf_reject_types[k].name))
					break;
			if (k == NS_ARRAY_SIZE(nf_reject_types))
				return ns_einval(err, errlen, "unknown reject type '%s'", v);
			r->reject_with = nf_reject_types[k].code;
			have_reject_with = true;
		} else {
			return ns_einval(err, errlen, "unexpected '%s'", w);
		}
		i++;
	}
	if (have_ports && r->protocol != IPPROTO_TCP_NS && r->protocol != IPPROTO_UDP_NS)
		return ns_einval(err, errlen, "--sport/--dport need -p tcp or -p udp");
	if (have_flags && r->protocol != IPPROTO_TCP_NS)
		return ns_einval(err, errlen, "TCP flags need -p tcp");
	if (have_reject_with && r->target != NF_TARGET_REJECT)
		return ns_einval(err, errlen, "--reject-with is for -j REJECT");
	if (r->target == NF_TARGET_REJECT) {
		if (hook != NF_INET_LOCAL_IN && hook != NF_INET_FORWARD && hook != NF_INET_LOCAL_OUT)
			return ns_einval(err, errlen, "REJECT is only for INPUT, FORWARD and OUTPUT");
		if (r->reject_with == NF_REJECT_TCP_RESET && r->protocol != IPPROTO_TCP_NS)
			return ns_einval(err, errlen, "--reject-with tcp-reset needs -p tcp");
	}
	return 0;
}

/* Append to @buf (always terminated; silently truncated). */
static void __attribute__((format(printf, 3, 4)))
nf_append(char *buf, size_t len, const char *fmt, ...)
{
	size_t used = strnlen(buf, len);
	va_list ap;

	if (used + 1 >= len)
		return;
	va_start(ap, fmt);
	vsnprintf(buf + used, len - used, fmt, ap);
	va_end(ap);
}

static void nf_format_flags(char *buf, size_t len, uint8_t bits)
{
	bool first = true;

	if (bits == 0xff) {
		nf_append(buf, len, "ALL");
		return;
	}
	if (!bits) {
		nf_append(buf, len, "NONE");
		return;
	}
	for (size_t i = 0; i < NS_ARRAY_SIZE(nf_tcp_flag_names); i++)
		if (bits & nf_tcp_flag_names[i].bits) {
			nf_append(buf, len, "%s%s", first ? "" : ",", nf_tcp_flag_names[i].name);
			first = false;
		}
}

static void nf_format_ports(char *buf, size_t len, const char *opt, uint16_t min, uint16_t max)
{
	if (min == 0 && max == 65535)
		return;
	if (min == max)
		nf_append(buf, len, " %s %u", opt, min);
	else
		nf_append(buf, len, " %s %u:%u", opt, min, max);
}

void nf_rule_format(const struct nf_rule *r, char *buf, size_t len)
{
	char a[INET_ADDRSTRLEN];

	if (!len)
		return;
	buf[0] = '\0';
	if (r->iif[0])
		nf_append(buf, len, " -i %s", r->iif);
	if (r->oif[0])
		nf_append(buf, len, " -o %s", r->oif);
	if (r->protocol) {
		const char *name = NULL;

		for (size_t k = 1; k < NS_ARRAY_SIZE(nf_protos); k++)
			if (nf_protos[k].proto == r->protocol)
				name = nf_protos[k].name;
		if (name)
			nf_append(buf, len, " -p %s", name);
		else
			nf_append(buf, len, " -p %u", r->protocol);
	}
	if (r->src_len)
		nf_append(buf, len, " -s %s/%u", inet_ntop(AF_INET, &r->src, a, sizeof(a)),
			  r->src_len);
	if (r->dst_len)
		nf_append(buf, len, " -d %s/%u", inet_ntop(AF_INET, &r->dst, a, sizeof(a)),
			  r->dst_len);
	nf_format_ports(buf, len, "--sport", r->sport_min, r->sport_max);
	nf_format_ports(buf, len, "--dport", r->dport_min, r->dport_max);
	if (r->tcp_flg_mask) {
		nf_append(buf, len, " --tcp-flags ");
		nf_format_flags(buf, len, r->tcp_flg_mask);
		nf_append(buf, len, " ");
		nf_format_flags(buf, len, r->tcp_flg_cmp);
	}
	nf_append(buf, len, " -j %s", nf_target_names[r->target]);
	if (r->target == NF_TARGET_REJECT && r->reject_with != ICMP_PORT_UNREACH)
		for (size_t k = 0; k < NS_ARRAY_SIZE(nf_reject_types); k++)
			if (nf_reject_types[k].code == r->reject_with)
				nf_append(buf, len, " --reject-with %s", nf_reject_types[k].name);
	/* Drop the leading blank. */
	memmove(buf, buf + 1, strlen(buf));
}

/* iptables' interface match: exact, or a prefix when the rule ends in '+'. */
static bool nf_ifname_match(const char *want, const struct net_device *dev)
{
	size_t n;

	if (!want[0])
		return true;
	if (!dev)
		return false;
	n = strlen(want);
	if (want[n - 1] == '+')
		return strncmp(want, dev->name, n - 1) == 0;
	return strcmp(want, dev->name) == 0;
}

bool nf_rule_match(const struct nf_rule *r, const struct sk_buff *skb,
		   const struct net_device *in, const struct net_device *out)
{
	const struct iphdr *iph;
	const unsigned char *l4;
	uint32_t avail, ihl;
	bool need_l4 = r->sport_min || r->sport_max != 65535 || r->dport_min ||
		       r->dport_max != 65535 || r->tcp_flg_mask;

	if (skb->network_header == SKB_HDR_UNSET)
		return false;
	iph = (const struct iphdr *)skb_network_header(skb);
	avail = (uint32_t)(skb_tail_pointer(skb) - (const unsigned char *)iph);
	if (avail < sizeof(*iph))
		return false;
	if ((iph->saddr & r->src_mask) != r->src || (iph->daddr & r->dst_mask) != r->dst)
		return false;
	if (r->protocol && iph->protocol != r->protocol)
		return false;
	if (!nf_ifname_match(r->iif, in) || !nf_ifname_match(r->oif, out))
		return false;
	if (!need_l4)
		return true;
	/* Ports and flags live in the first fragment only (xt_tcpudp). */
	if (iph->frag_off & htons(IP_OFFSET))
		return false;
	ihl = iph_ihl(iph) * 4u;
	if (ihl < IP_MIN_HLEN || avail < ihl + (r->tcp_flg_mask ? sizeof(struct tcphdr_ns) : 4u))
		return false;
	l4 = (const unsigned char *)iph + ihl;
	{
		uint16_t sport = (uint16_t)(l4[0] << 8 | l4[1]);
		uint16_t dport = (uint16_t)(l4[2] << 8 | l4[3]);

		if (sport < r->sport_min || sport > r->sport_max ||
		    dport < r->dport_min || dport > r->dport_max)
			return false;
	}
	if (r->tcp_flg_mask) {
		const struct tcphdr_ns *th = (const struct tcphdr_ns *)l4;

		if ((th->flags & r->tcp_flg_mask) != r->tcp_flg_cmp)
			return false;
	}
	return true;
}

void nf_rule_counters(const struct nf_rule *r, uint64_t *packets, uint64_t *bytes)
{
	*packets = *bytes = 0;
	for (unsigned int i = 0; i <= NS_MAX_WORKERS; i++) {
		*packets += ns_counter_read(&r->pcpu[i].packets);
		*bytes += ns_counter_read(&r->pcpu[i].bytes);
	}
}
