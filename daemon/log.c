/*
 * Logging.  Any thread; the level is an atomic read.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif
#ifdef HAVE_LIBSYSTEMD
#include <systemd/sd-journal.h>
#endif

#include "core/clock.h"
#include "log.h"

static _Atomic int log_level = NS_LOG_INFO;
static _Atomic int log_target = NS_LOG_TARGET_STDERR;

int ns_log_level_parse(const char *s)
{
	static const struct {
		const char *name;
		int level;
	} names[] = {
		{ "err", NS_LOG_ERR }, { "error", NS_LOG_ERR },
		{ "warning", NS_LOG_WARNING }, { "warn", NS_LOG_WARNING },
		{ "notice", NS_LOG_NOTICE }, { "info", NS_LOG_INFO },
		{ "debug", NS_LOG_DEBUG },
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(s, names[i].name) == 0)
			return names[i].level;
	return -1;
}

void ns_log_set_level(int level)
{
	atomic_store(&log_level, level);
}

int ns_log_get_level(void)
{
	return atomic_load(&log_level);
}

int ns_log_set_target(enum ns_log_target target)
{
#ifndef HAVE_LIBSYSTEMD
	if (target == NS_LOG_TARGET_JOURNAL)
		return -ENOTSUP;
#endif
	atomic_store(&log_target, (int)target);
	return 0;
}

void ns_log(int level, const char *fmt, ...)
{
	static const char *const prefix[] = {
		[NS_LOG_ERR] = "", [NS_LOG_WARNING] = "warning: ",
		[NS_LOG_NOTICE] = "", [NS_LOG_INFO] = "", [NS_LOG_DEBUG] = "debug: ",
	};
	char msg[1024];
	char line[1100];
	va_list ap;
	int n;

	if (level > atomic_load_explicit(&log_level, memory_order_relaxed))
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
#ifdef HAVE_LIBSYSTEMD
	if (atomic_load(&log_target) == NS_LOG_TARGET_JOURNAL) {
		sd_journal_print(level, "%s", msg);
		return;
	}
#endif
	if (level < NS_LOG_ERR)
		level = NS_LOG_ERR;
	if (level > NS_LOG_DEBUG)
		level = NS_LOG_DEBUG;
	/* Under systemd, stderr is the journal's stream: "<N>" sets the priority. */
	if (getenv("JOURNAL_STREAM"))
		n = snprintf(line, sizeof(line), "<%d>%s\n", level, msg);
	else
		n = snprintf(line, sizeof(line), "netstackd: %s%s\n", prefix[level], msg);
	if (n > 0) {
		ssize_t w = write(STDERR_FILENO, line,
				  (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
		(void)w;
	}
}

bool ns_ratelimit(struct ns_ratelimit *rs, unsigned int interval_ms, unsigned int burst)
{
	unsigned long long now = ns_jiffies();

	if (now - rs->begin_ms >= interval_ms) {
		rs->begin_ms = now;
		rs->printed = 0;
	}
	if (rs->printed >= burst)
		return false;
	rs->printed++;
	return true;
}

int ns_einval(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}
