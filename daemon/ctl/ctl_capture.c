/*
 * netstackctl capture: parse the request's filter and start a capture
 * (daemon/net/packet/capture.h), whose stream descriptor the IPC server
 * passes back with the reply.
 *
 * Control thread, after the server checked the peer's privilege.
 */
#include <errno.h>
#include <stdio.h>

#include "ctl/ctl.h"
#include "net/packet/capture.h"

int ctl_capture(const Netstack__CaptureRequest *req, Netstack__CaptureReply *reply, int *fd,
		char *err, size_t errlen)
{
	struct capture_filter f;
	int rc;

	netstack__capture_reply__init(reply);
	rc = capture_filter_parse((int)req->n_filter, req->filter, &f, err, errlen);
	if (rc)
		return rc;
	rc = capture_start(req->dev, &f, req->snaplen, req->buffer_kb, fd, err, errlen);
	if (rc)
		return rc;
	reply->linktype = 1;
	reply->snaplen = req->snaplen && req->snaplen <= CAPTURE_MAX_SNAPLEN ? req->snaplen
									      : CAPTURE_MAX_SNAPLEN;
	return 0;
}
