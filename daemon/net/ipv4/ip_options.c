/*
 * IPv4 options (RFC 791 §3.1; the kernel's net/ipv4/ip_options.c).
 *
 * Input: ip_rcv_options runs after the routing decision for every header
 * longer than 20 bytes.  ip_options_compile checks each option as the
 * kernel does on receive (lengths, pointers, duplicates, timestamp
 * overflow, CIPSO structure) and notes where it is in IPCB(skb)->opt; a
 * malformed option is an InHdrErrors drop answered with an ICMP parameter
 * problem pointing at the bad octet.  Options we do not know (security,
 * stream id, ...) are accepted, as the kernel accepts them on input.
 * Source routes are refused unless net.ipv4.conf.all.accept_source_route
 * (RFC 1122 §3.3.5 lets a host choose; Linux defaults to refusing).
 *
 * Unlike the kernel, input never writes into the header: the kernel
 * records our address and time in RR/TS options of packets it delivers
 * locally, which only raw sockets could see.  A forwarder does the
 * writing (ip_forward_options); fragmentation blanks the options that are
 * not copied into later fragments (ip_options_fragment).
 *
 * Context: workers.  No locks.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include <time.h>

#include "core/checksum.h"
#include "core/skb.h"
#include "core/sysctl.h"
#include "net/ipv4/devinet.h"
#include "net/ipv4/icmp.h"
#include "net/ipv4/ip.h"
#include "net/ipv4/route.h"
#include "net/ipv4/snmp.h"
#include "net/wire/icmp.h"
#include "net/wire/ip.h"

static _Atomic int64_t sysctl_accept_source_route = 0;

static const struct ctl_table ip_options_table[] = {
	{ "net.ipv4.conf.all.accept_source_route", &sysctl_accept_source_route, 0, 1, 0,
	  "1: accept packets with a source route option (LSRR, SSRR)" },
	{ NULL, NULL, 0, 0, 0, NULL },
};

void ip_options_init(void)
{
	sysctl_register(ip_options_table);
}

/*
 * A CIPSO option's structure (RFC draft, FIPS 188 tags): a DOI and tags
 * that fit.  Without NetLabel the kernel checks exactly this much.
 * Returns the offset of the bad octet within the option, or 0.
 */
static unsigned int cipso_v4_validate(const uint8_t *opt)
{
	unsigned int len = opt[1];
	unsigned int i;

	if (len < 8)
		return 1;
	if (opt[2] == 0 && opt[3] == 0 && opt[4] == 0 && opt[5] == 0)
		return 2;               /* DOI 0 is reserved */
	for (i = 6; i < len;) {
		unsigned int tag_len;

		if (i + 1 == len)
			return i;
		tag_len = opt[i + 1];
		if (tag_len == 0 || tag_len > len - i)
			return i + 1;
		i += tag_len;
	}
	return 0;
}

int ip_options_compile(struct ip_options *opt, const uint8_t *iph, unsigned int *pp_off)
{
	unsigned int hlen = (iph[0] & 0x0f) * 4u;
	const uint8_t *optptr = iph + IP_MIN_HLEN;
	const uint8_t *pp = NULL;
	int l = (int)hlen - IP_MIN_HLEN;

	memset(opt, 0, sizeof(*opt));
	opt->optlen = (uint8_t)(l > 0 ? l : 0);
	while (l > 0) {
		unsigned int optlen;

		if (*optptr == IPOPT_END)
			break;
		if (*optptr == IPOPT_NOOP) {
			l--;
			optptr++;
			continue;
		}
		if (l < 2) {
			pp = optptr;
			goto error;
		}
		optlen = optptr[1];
		if (optlen < 2 || optlen > (unsigned int)l) {
			pp = optptr;
			goto error;
		}
		switch (*optptr) {
		case IPOPT_SSRR:
		case IPOPT_LSRR:
			if (optlen < 3) {
				pp = optptr + 1;
				goto error;
			}
			if (optptr[2] < IPOPT_MINOFF) {
				pp = optptr + 2;
				goto error;
			}
			/* RFC 1812 §5.2.4.1: at most one source route. */
			if (opt->srr) {
				pp = optptr;
				goto error;
			}
			opt->is_strictroute = *optptr == IPOPT_SSRR;
			opt->srr = (uint8_t)(optptr - iph);
			break;
		case IPOPT_RR:
			if (opt->rr) {
				pp = optptr;
				goto error;
			}
			if (optlen < 3) {
				pp = optptr + 1;
				goto error;
			}
			if (optptr[2] < IPOPT_MINOFF) {
				pp = optptr + 2;
				goto error;
			}
			if (optptr[2] <= optlen) {
				/* Room for one more address, which must fit whole. */
				if (optptr[2] + 3u > optlen) {
					pp = optptr + 2;
					goto error;
				}
				opt->rr_needaddr = 1;
			}
			opt->rr = (uint8_t)(optptr - iph);
			break;
		case IPOPT_TIMESTAMP:
			if (opt->ts) {
				pp = optptr;
				goto error;
			}
			if (optlen < 4) {
				pp = optptr + 1;
				goto error;
			}
			if (optptr[2] < 5) {
				pp = optptr + 2;
				goto error;
			}
			if (optptr[2] <= optlen) {
				if (optptr[2] + 3u > optlen) {
					pp = optptr + 2;
					goto error;
				}
				switch (optptr[3] & 0x0f) {
				case IPOPT_TS_TSONLY:
					opt->ts_needtime = 1;
					break;
				case IPOPT_TS_TSANDADDR:
					if (optptr[2] + 7u > optlen) {
						pp = optptr + 2;
						goto error;
					}
					opt->ts_needaddr = 1;
					opt->ts_needtime = 1;
					break;
				case IPOPT_TS_PRESPEC: {
					uint32_t addr;

					if (optptr[2] + 7u > optlen) {
						pp = optptr + 2;
						goto error;
					}
					/* Only the host named next stamps it. */
					memcpy(&addr, &optptr[optptr[2] - 1], 4);
					if (inet_addr_is_local(NULL, addr))
						opt->ts_needtime = 1;
					break;
				}
				default:
					/* Unknown flags are accepted on input, as the kernel does. */
					break;
				}
			} else if ((optptr[3] & 0x0f) != IPOPT_TS_PRESPEC) {
				/* Full: the overflow counter must not wrap. */
				if ((optptr[3] >> 4) == 15) {
					pp = optptr + 3;
					goto error;
				}
				opt->ts_overflow = 1;
			}
			opt->ts = (uint8_t)(optptr - iph);
			break;
		case IPOPT_RA:
			if (optlen < 4) {
				pp = optptr + 1;
				goto error;
			}
			if (optptr[2] == 0 && optptr[3] == 0)
				opt->router_alert = (uint8_t)(optptr - iph);
			break;
		case IPOPT_CIPSO: {
			unsigned int bad;

			if (opt->cipso) {
				pp = optptr;
				goto error;
			}
			bad = cipso_v4_validate(optptr);
			if (bad) {
				pp = optptr + bad;
				goto error;
			}
			opt->cipso = (uint8_t)(optptr - iph);
			break;
		}
		case IPOPT_SEC:
		case IPOPT_SID:
		default:
			break;
		}
		l -= (int)optlen;
		optptr += optlen;
	}
	return 0;

error:
	*pp_off = (unsigned int)(pp - iph);
	return -EINVAL;
}

/*
 * ip_options_rcv_srr: a source-routed packet addressed to us.  Skip the
 * hops that are our own addresses; if a hop remains, the packet goes on
 * to it (srr_is_hit, opt->nexthop), which needs forwarding.  0 to deliver
 * here, 1 to forward, -1 (ICMP sent where due) to drop.
 */
static int ip_options_rcv_srr(struct sk_buff *skb)
{
	struct ip_options *opt = &IPCB(skb)->opt;
	const uint8_t *optptr = skb_network_header(skb) + opt->srr;
	unsigned int srrptr, srrspace = optptr[1];

	if (skb->pkt_type != PACKET_HOST || IPCB(skb)->rt_type != RTN_LOCAL)
		return -1;
	for (srrptr = optptr[2]; srrptr <= srrspace; srrptr += 4) {
		uint32_t nexthop;

		if (srrptr + 3 > srrspace) {
			icmp_send(skb, ICMP_PARAMETERPROB, 0, (uint32_t)(opt->srr + 2) << 24);
			return -1;
		}
		memcpy(&nexthop, &optptr[srrptr - 1], 4);
		if (!inet_addr_is_local(NULL, nexthop)) {
			opt->srr_is_hit = 1;
			opt->nexthop = nexthop;
			return 1;
		}
	}
	return 0;
}

int ip_rcv_options(struct sk_buff *skb)
{
	const uint8_t *iph = skb_network_header(skb);
	struct ip_options *opt = &IPCB(skb)->opt;
	unsigned int pp_off = 0;

	if (ip_options_compile(opt, iph, &pp_off)) {
		__IP_INC_STATS(INHDRERRORS);
		icmp_send(skb, ICMP_PARAMETERPROB, 0, (uint32_t)pp_off << 24);
		kfree_skb_reason(skb, SKB_DROP_REASON_IP_BAD_OPTIONS);
		return -1;
	}
	if (opt->srr) {
		/*
		 * The kernel refuses silently (no MIB counter), with a martian
		 * log line; here the drop reason says it.  A route to go on
		 * along would need forwarding, which refuses it likewise until
		 * it exists (ip_forward then takes srr_is_hit packets).
		 */
		if (!sysctl_read(&sysctl_accept_source_route) || ip_options_rcv_srr(skb) != 0) {
			kfree_skb_reason(skb, SKB_DROP_REASON_IP_SOURCE_ROUTE);
			return -1;
		}
	}
	return 0;
}

void ip_options_fragment(uint8_t *iph)
{
	uint8_t *optptr = iph + IP_MIN_HLEN;
	int l = (int)((iph[0] & 0x0f) * 4u) - IP_MIN_HLEN;

	while (l > 0) {
		unsigned int optlen;

		if (*optptr == IPOPT_END)
			return;
		if (*optptr == IPOPT_NOOP) {
			l--;
			optptr++;
			continue;
		}
		optlen = l >= 2 ? optptr[1] : 0;
		if (optlen < 2 || optlen > (unsigned int)l) {
			/* Never sent by us; blank the rest rather than copy garbage. */
			memset(optptr, IPOPT_NOOP, (size_t)l);
			return;
		}
		if (!IPOPT_COPIED(*optptr))
			memset(optptr, IPOPT_NOOP, optlen);
		l -= (int)optlen;
		optptr += optlen;
	}
}

/* Milliseconds since midnight UT, network order (RFC 791 timestamp). */
static uint32_t inet_current_timestamp(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return htonl((uint32_t)((ts.tv_sec % 86400) * 1000 + ts.tv_nsec / 1000000));
}

void ip_forward_options(struct sk_buff *skb, uint32_t spec_dst)
{
	struct ip_options *opt = &IPCB(skb)->opt;
	uint8_t *raw = skb_network_header(skb);
	struct iphdr *iph = (struct iphdr *)raw;
	bool changed = false;
	uint8_t *optptr;

	if (opt->rr_needaddr) {
		optptr = raw + opt->rr;
		memcpy(&optptr[optptr[2] - 1], &spec_dst, 4);
		optptr[2] = (uint8_t)(optptr[2] + 4);
		changed = true;
	}
	if (opt->srr_is_hit) {
		unsigned int srrptr, srrspace;

		/* Replace the hop we go to by our address and move past it. */
		optptr = raw + opt->srr;
		srrspace = optptr[1];
		for (srrptr = optptr[2]; srrptr + 3 <= srrspace; srrptr += 4)
			if (memcmp(&opt->nexthop, &optptr[srrptr - 1], 4) == 0)
				break;
		if (srrptr + 3 <= srrspace) {
			iph->daddr = opt->nexthop;
			memcpy(&optptr[srrptr - 1], &spec_dst, 4);
			optptr[2] = (uint8_t)(srrptr + 4);
			changed = true;
		}
	}
	if (opt->ts_needtime) {
		uint32_t now = inet_current_timestamp();

		optptr = raw + opt->ts;
		switch (optptr[3] & 0x0f) {
		case IPOPT_TS_TSONLY:
			memcpy(&optptr[optptr[2] - 1], &now, 4);
			optptr[2] = (uint8_t)(optptr[2] + 4);
			break;
		case IPOPT_TS_TSANDADDR:
			memcpy(&optptr[optptr[2] - 1], &spec_dst, 4);
			memcpy(&optptr[optptr[2] + 3], &now, 4);
			optptr[2] = (uint8_t)(optptr[2] + 8);
			break;
		case IPOPT_TS_PRESPEC:
			memcpy(&optptr[optptr[2] + 3], &now, 4);
			optptr[2] = (uint8_t)(optptr[2] + 8);
			break;
		}
		changed = true;
	} else if (opt->ts_overflow) {
		optptr = raw + opt->ts;
		optptr[3] = (uint8_t)((optptr[3] & 0x0f) | (((optptr[3] >> 4) + 1) << 4));
		changed = true;
	}
	if (changed) {
		iph->check = 0;
		iph->check = ip_fast_csum(iph, iph_ihl(iph));
	}
}
