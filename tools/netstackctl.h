/*
 * What netstackctl's command files share (netstackctl.c: the connection,
 * show objects, sysctl, route, addr; netstackctl_hook.c: hook;
 * netstackctl_capture.c: capture).  Single-threaded program.
 */
#ifndef NS_TOOLS_NETSTACKCTL_H
#define NS_TOOLS_NETSTACKCTL_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include <json-c/json.h>

#include "netstack.pb-c.h"

#define PROG "netstackctl"

enum {
	EXIT_FAIL = 1,
	EXIT_USAGE = 2,
};

struct ctl_opts {
	const char *socket_path;
	bool json;
	bool all;
	bool udp;                   /* ss -u */
	bool tcp;                   /* ss -t */
	bool listening;             /* ss -l */
	bool info;                  /* ss -i */
	bool write;                 /* sysctl -w */
	bool stats;                 /* link -s: per-queue counters */
};

/* One line "netstackctl: ..." on stderr. */
void __attribute__((format(printf, 1, 2))) ctl_err(const char *fmt, ...);
/* Report a usage error with the --help hint; returns EXIT_USAGE. */
int __attribute__((format(printf, 1, 2))) ctl_usage_error(const char *fmt, ...);
/* Connect and exchange Hellos.  The fd, or -1 (reported). */
int ctl_open(const struct ctl_opts *o);
/*
 * Send @req and wait for its Reply (free with
 * netstack__reply__free_unpacked), or NULL (reported).  With @fd_out, a
 * descriptor passed with the reply is stored there (else -1).
 */
Netstack__Reply *ctl_call(int fd, const Netstack__Request *req);
Netstack__Reply *ctl_call_fd(int fd, const Netstack__Request *req, int *fd_out);
/* Report @reply's error, if any.  True if it is an error. */
bool ctl_reply_failed(const Netstack__Reply *reply);
/* Print and release @json. */
void ctl_print_json(struct json_object *json);
void ctl_json_add_u64(struct json_object *obj, const char *key, uint64_t v);
void ctl_json_add_str(struct json_object *obj, const char *key, const char *v);

/* netstackctl hook ... (argv after "hook").  Exit status. */
int ctl_run_hook(int argc, char **argv, const struct ctl_opts *o);
/* netstackctl capture ... (argv after "capture").  Exit status. */
int ctl_run_capture(int argc, char **argv, const struct ctl_opts *o);
/* netstackctl link ... / qdisc ... (argv after the word).  Exit status. */
int ctl_run_link(int argc, char **argv, const struct ctl_opts *o);
int ctl_run_qdisc(int argc, char **argv, const struct ctl_opts *o);
/* Run the show object @name (link, softnet, ...) as the plain command does. */
int ctl_run_show(const char *name, const struct ctl_opts *o);
int ctl_run_trace(int argc, char **argv, const struct ctl_opts *o);

/* A decimal number 0..@max (no sign, nothing after it).  0 or -1. */
int ctl_parse_u32(const char *w, uint32_t max, uint32_t *v);

/* Set by SIGINT/SIGTERM once ctl_catch_interrupt() ran (capture, trace). */
extern volatile sig_atomic_t ctl_interrupted;
void ctl_catch_interrupt(void);

/*
 * Read exactly @n bytes of a record stream.  With @stop_on_signal, wait
 * until data or ctl_interrupted (finishing a record already begun);
 * otherwise wait at most @end_wait_ms, then set *@timed_out.  1, 0 at end
 * of file, -1 on error, timeout or interruption.
 */
int ctl_read_record(int fd, void *buf, size_t n, bool stop_on_signal, int end_wait_ms,
		    bool *timed_out);

/*
 * Send @req on a new connection and expect a reply of @body_case with a
 * stream descriptor (capture, trace): the reply, *@fd set; or NULL after
 * saying why (errors of netstackd, an unexpected answer to @what).
 */
Netstack__Reply *ctl_call_stream(const struct ctl_opts *o, const Netstack__Request *req,
				 int body_case, const char *what, int *fd);

#endif
