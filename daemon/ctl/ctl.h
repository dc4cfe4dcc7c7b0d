/*
 * Answers to netstackctl's requests, built from daemon state.
 *
 * Called by the IPC server (ipc/server.c) on the control thread.  The
 * functions here read state owned by other modules by those modules' rules
 * (per-worker counters with relaxed loads, the neighbour table under its
 * lock) and never block on a worker.
 */
#ifndef NS_CTL_CTL_H
#define NS_CTL_CTL_H

#include "netstack.pb-c.h"

/*
 * Fill @reply with a snapshot of @what.  @reply is (re)initialised first,
 * so its previous contents are ignored, not freed.  Returns 0, -EINVAL for
 * an unknown @what or -ENOMEM; on error @reply is left empty.  Everything
 * allocated is released by ctl_show_free(), which must be called after a
 * successful return.  Control thread.
 */
int ctl_show(const Netstack__ShowRequest *rq, Netstack__ShowReply *reply);

/* Free what ctl_show() allocated in @reply and leave it empty. */
void ctl_show_free(Netstack__ShowReply *reply);

/*
 * Answer a SysctlRequest in @reply: every knob (all), one knob (name), or
 * set one (write, name=value) and answer with its new value.  Entries are
 * sorted by name.  The caller has checked that a write is permitted.
 * Returns 0, or -ENOENT (unknown name), -EINVAL/-ERANGE (bad value; the knob
 * is unchanged), -ENOMEM, with a one-line explanation in @err; on error
 * @reply is left empty.  Free with ctl_sysctl_free() after a successful
 * return.  Control thread.
 */
int ctl_sysctl(const Netstack__SysctlRequest *req, Netstack__SysctlReply *reply,
	       char *err, size_t errlen);

/* Free what ctl_sysctl() allocated in @reply and leave it empty. */
void ctl_sysctl_free(Netstack__SysctlReply *reply);

/*
 * Answer a RouteRequest (netstackctl route) or an IfAddrRequest
 * (netstackctl addr) in @reply: SHOW fills it; ADD and DEL change the FIB
 * or the interface's addresses and leave it empty.  The caller has checked
 * that a change is permitted.  Returns 0 or -errno (-EINVAL, -EEXIST,
 * -ESRCH, -ENODEV, -EADDRNOTAVAIL, -ENOMEM) with a one-line explanation in
 * @err, in `ip`'s words where it has some; on error @reply is left empty.
 * Free with ctl_netconfig_free() after a successful return.  Control
 * thread; deleting an address waits for the workers' grace period.
 */
int ctl_route(const Netstack__RouteRequest *req, Netstack__NetConfigReply *reply,
	      char *err, size_t errlen);
int ctl_ifaddr(const Netstack__IfAddrRequest *req, Netstack__NetConfigReply *reply,
	       char *err, size_t errlen);

/* Free what ctl_route() / ctl_ifaddr() allocated in @reply and leave it empty. */
void ctl_netconfig_free(Netstack__NetConfigReply *reply);

/*
 * Answer a HookRequest (netstackctl hook): LIST fills @reply with the
 * rules and their counters; ADD, DEL and FLUSH change a chain and leave it
 * empty.  The caller has checked that a change is permitted.  Returns 0
 * or -errno (-EINVAL bad hook or rule, -ENOENT no such rule, -ENOSPC,
 * -ENOMEM) with a one-line explanation in @err; on error @reply is left
 * empty.  Free with ctl_hook_free() after a successful return.  Control
 * thread; changes wait for the workers' grace period.
 */
int ctl_hook(const Netstack__HookRequest *req, Netstack__HookReply *reply, char *err,
	     size_t errlen);

/* Free what ctl_hook() allocated in @reply and leave it empty. */
void ctl_hook_free(Netstack__HookReply *reply);

/*
 * Start the capture @req asks for (netstackctl capture) and fill @reply.
 * On success *@fd is the stream's reader end, to be passed with the reply
 * and then closed by the caller.  The caller has checked the privilege.
 * 0 or -errno (-ENODEV, -EINVAL, -ENOMEM, ...) with a one-line reason in
 * @err.  Control thread.
 */
int ctl_capture(const Netstack__CaptureRequest *req, Netstack__CaptureReply *reply, int *fd,
		char *err, size_t errlen);

/*
 * Answer a QdiscRequest (netstackctl qdisc, link set DEV txqueuelen N):
 * set the device's txqueuelen if asked (the caller has checked the
 * privilege), then fill @reply with every TX queue's qdisc of the device
 * (or of all devices).  0 or -errno (-ENODEV, -EINVAL, -EOPNOTSUPP for a
 * noqueue device, -ENOMEM) with a one-line reason in @err; on error
 * @reply is left empty.  Free with ctl_qdisc_free().  Control thread.
 */
int ctl_qdisc(const Netstack__QdiscRequest *req, Netstack__QdiscReply *reply, char *err,
	      size_t errlen);
void ctl_qdisc_free(Netstack__QdiscReply *reply);

/*
 * Start the packet trace @req asks for (netstackctl trace) and fill
 * @reply; *@fd as for ctl_capture.  0 or -errno (-EBUSY, -ENODEV,
 * -EINVAL, -ENOMEM) with a reason in @err.  Control thread.
 */
int ctl_trace(const Netstack__TraceRequest *req, Netstack__TraceReply *reply, int *fd,
	      char *err, size_t errlen);

#endif
