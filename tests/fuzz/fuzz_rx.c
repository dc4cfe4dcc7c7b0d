/*
 * Fuzz entry point for the receive path: one Ethernet frame in, through
 * eth_type_trans and __netif_receive_skb into ARP, IPv4 (options,
 * reassembly: fragments stay queued across inputs), ICMP and every
 * protocol registered by inet_init, exactly as a frame read from the TAP.
 * Replies the stack sends go to a fake device that frees them.
 *
 * Built two ways: with libFuzzer (make fuzz, clang) and with a plain
 * driver (fuzz_driver.c) that replays seeds and deterministic mutations in
 * make check.  The stack must neither crash nor leak on any input.
 */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/dev.h"
#include "core/netdev.h"
#include "core/skb.h"
#include "core/sysctl.h"
#include "fuzz.h"
#include "net/core/neighbour.h"
#include "net/ethernet/eth.h"
#include "net/ipv4/af_inet.h"
#include "net/ipv4/devinet.h"
#include "net/ipv4/ip.h"
#include "net/ipv4/route.h"

const uint8_t fuzz_our_mac[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x02 };
const uint8_t fuzz_peer_mac[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x01 };

static struct net_device *fuzz_dev;
static struct skb_pool *fuzz_pool;
static unsigned long fuzz_tx;
static unsigned long fuzz_inputs;

static netdev_tx_t fuzz_xmit(struct sk_buff *skb, struct net_device *dev)
{
	(void)dev;
	fuzz_tx++;
	consume_skb(skb);
	return NETDEV_TX_OK;
}

static const struct net_device_ops fuzz_ops = {
	.ndo_start_xmit = fuzz_xmit,
};

static void fuzz_init(void)
{
	core_sysctl_init();
	inet_init();
	fuzz_pool = skb_pool_create("fuzz", 64u << 20);
	skb_pool_set_current(fuzz_pool);
	fuzz_dev = alloc_netdev(0, "fuzz0");
	fuzz_dev->netdev_ops = &fuzz_ops;
	ether_setup(fuzz_dev);
	memcpy(fuzz_dev->dev_addr, fuzz_our_mac, 6);
	register_netdev(fuzz_dev);
	inet_addr_add(fuzz_dev, htonl(FUZZ_OUR_IP), 24);
	fib_add_route(0, 0, htonl(FUZZ_PEER_IP), fuzz_dev, htonl(FUZZ_OUR_IP));
	/* Forwarding on, and a route of each refusing type, so that frames for
	 * other hosts go through ip_forward and its ICMP errors too. */
	{
		static const uint8_t types[] = { RTN_UNREACHABLE, RTN_PROHIBIT, RTN_BLACKHOLE };
		char err[128];

		sysctl_set("net.ipv4.ip_forward", "1", err, sizeof(err));
		for (unsigned int i = 0; i < sizeof(types); i++) {
			struct fib_config c = { .dst = htonl(0x0a5a0000u + (i << 8)), .dst_len = 24,
						.type = types[i] };

			fib_table_insert(&c, NULL, 0);
		}
	}
	dev_open(fuzz_dev);
	/* A resolved peer, so that replies reach the device. */
	neigh_update(fuzz_dev, htonl(FUZZ_PEER_IP), fuzz_peer_mac, true, true);
}

void fuzz_cleanup(void)
{
	if (!fuzz_dev)
		return;
	inet_exit();
	unregister_netdev(fuzz_dev);
	free_netdev(fuzz_dev);
	fuzz_dev = NULL;
	skb_pool_destroy(fuzz_pool);
}

unsigned long fuzz_frames_sent(void)
{
	return fuzz_tx;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sk_buff *skb;
	int reason;

	if (!fuzz_dev)
		fuzz_init();
	if (size > 9018)
		return 0;
	/*
	 * No worker runs timers here: expire incomplete datagrams now and
	 * then (their ICMP time exceeded included), as ipfrag_time would.
	 */
	if (++fuzz_inputs % 1000 == 0)
		ip_frag_run_timers(ns_jiffies() + 3600 * 1000);
	skb = netdev_alloc_skb(fuzz_dev, (uint32_t)size);
	if (!skb)
		return 0;
	skb_put_data(skb, data, (uint32_t)size);
	reason = fuzz_dev->header_ops->type_trans(skb, fuzz_dev);
	if (reason)
		kfree_skb_reason(skb, (enum skb_drop_reason)reason);
	else
		__netif_receive_skb(skb);
	return 0;
}
