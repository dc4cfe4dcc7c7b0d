/*
 * inet_protos[]: the IP protocol table.  Control context for changes
 * (start-up only); lock-free reads on workers.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stddef.h>

#include "net/ipv4/protocol.h"

static _Atomic(const struct net_protocol *) inet_protos[256];

int inet_add_protocol(const struct net_protocol *prot, uint8_t num)
{
	const struct net_protocol *expected = NULL;

	return atomic_compare_exchange_strong(&inet_protos[num], &expected, prot) ? 0 : -EBUSY;
}

int inet_del_protocol(const struct net_protocol *prot, uint8_t num)
{
	const struct net_protocol *expected = prot;

	return atomic_compare_exchange_strong(&inet_protos[num], &expected, NULL) ? 0 : -ENOENT;
}

const struct net_protocol *inet_proto_get(uint8_t num)
{
	return atomic_load_explicit(&inet_protos[num], memory_order_acquire);
}
