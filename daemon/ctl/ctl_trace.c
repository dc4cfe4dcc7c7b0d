/*
 * netstackctl trace: start a packet trace (daemon/net/packet/pkt_trace.h),
 * whose stream descriptor the IPC server passes back with the reply.
 *
 * Control thread, after the server checked the peer's privilege.
 */
#include <errno.h>
#include <stdio.h>

#include "ctl/ctl.h"
#include "net/packet/pkt_trace.h"

int ctl_trace(const Netstack__TraceRequest *req, Netstack__TraceReply *reply, int *fd,
	      char *err, size_t errlen)
{
	uint32_t granted = 0;
	int rc;

	netstack__trace_reply__init(reply);
	rc = pkt_trace_start(req->dev, (int)req->n_filter, req->filter, req->count, fd, &granted,
			     err, errlen);
	if (rc)
		return rc;
	reply->count = granted;
	reply->read_wait_ms = PKT_TRACE_READ_WAIT_MS;
	return 0;
}
