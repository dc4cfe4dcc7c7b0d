/*
 * inet_init: IP's sysctls (ip_init, ipfrag_init, ip_options_init,
 * pmtu_init), the ethertype handlers (dev_add_pack), the IP protocol
 * handlers (inet_add_protocol: ICMP, UDP, TCP) and the socket layer
 * (sock_init: inetsw for UDP, ping and raw sockets, socket sysctls) and
 * the receive offloads (ipv4_offload_init: GRO for TCP) of IPv4,
 * registered once at start-up on the control thread, before any worker
 * runs.
 */
#include <arpa/inet.h>

#include "core/dev.h"
#include "core/netdev.h"
#include "net/core/neighbour.h"
#include "net/ipv4/af_inet.h"
#include "net/ipv4/arp.h"
#include "net/ipv4/devinet.h"
#include "net/ipv4/icmp.h"
#include "net/ipv4/ip.h"
#include "net/ipv4/offload.h"
#include "net/ipv4/ping.h"
#include "net/ipv4/pmtu.h"
#include "net/ipv4/protocol.h"
#include "net/ipv4/route.h"
#include "net/ipv4/tcp.h"
#include "net/ipv4/udp.h"
#include "net/netfilter/netfilter.h"
#include "net/socket.h"
#include "net/wire/ether.h"
#include "net/wire/ip.h"

static struct packet_type ip_packet_type = {
	.name = "ip",
	.func = ip_rcv,
};

int inet_init(void)
{
	int err;

	ip_init();
	ip_forward_init();
	ipfrag_init();
	ip_options_init();
	pmtu_init();
	icmp_init();
	ping_init();
	err = neigh_init();
	if (err)
		return err;
	arp_init();
	err = inet_add_protocol(&icmp_protocol, IPPROTO_ICMP_NS);
	if (err)
		return err;
	err = inet_add_protocol(&udp_protocol, IPPROTO_UDP_NS);
	if (err)
		return err;
	err = tcp_init();
	if (err)
		return err;
	err = sock_init();
	if (err)
		return err;
	ip_packet_type.type = htons(ETH_P_IP);
	dev_add_pack(&ip_packet_type);
	ipv4_offload_init();
	return 0;
}

void inet_exit(void)
{
	nf_exit();
	ip_frag_flush();
	ip_rt_pmtu_flush();
	neigh_cleanup();
	for (struct net_device *d = netdev_first(); d; d = d->next)
		inet_dev_destroy(d);
	fib_cleanup();
	dev_remove_pack(&ip_packet_type);
	ipv4_offload_exit();
	inet_del_protocol(&icmp_protocol, IPPROTO_ICMP_NS);
	inet_del_protocol(&udp_protocol, IPPROTO_UDP_NS);
	inet_del_protocol(&tcp_protocol, IPPROTO_TCP);
}
