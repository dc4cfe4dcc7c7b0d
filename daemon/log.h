/*
 * Logging with levels, to stderr (with "<N>" priority prefixes when stderr
 * is the journal's stream) or to journald directly.  Any thread; each call
 * writes one line with a single write so lines from threads do not mix.
 */
#ifndef NS_LOG_H
#define NS_LOG_H

#include <stdbool.h>
#include <stddef.h>

/* syslog priorities */
enum {
	NS_LOG_ERR = 3,
	NS_LOG_WARNING = 4,
	NS_LOG_NOTICE = 5,
	NS_LOG_INFO = 6,
	NS_LOG_DEBUG = 7,
};

enum ns_log_target {
	NS_LOG_TARGET_STDERR,
	NS_LOG_TARGET_JOURNAL,
};

/* Parse "err", "warning", "info", "debug"; -1 if unknown. */
int ns_log_level_parse(const char *s);

void ns_log_set_level(int level);
int ns_log_get_level(void);
/* Returns -ENOTSUP for the journal when built without libsystemd. */
int ns_log_set_target(enum ns_log_target target);

void ns_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define ns_err(...) ns_log(NS_LOG_ERR, __VA_ARGS__)
#define ns_warn(...) ns_log(NS_LOG_WARNING, __VA_ARGS__)
#define ns_info(...) ns_log(NS_LOG_INFO, __VA_ARGS__)
#define ns_dbg(...) ns_log(NS_LOG_DEBUG, __VA_ARGS__)

/*
 * Rate-limited logging for the data path: at most @burst lines per
 * @interval_ms per call site.
 */
struct ns_ratelimit {
	unsigned long long begin_ms;
	unsigned int printed;
};

bool ns_ratelimit(struct ns_ratelimit *rs, unsigned int interval_ms, unsigned int burst);

/*
 * For parsers of requests and rules: put a one-line reason in @err (when
 * @err is not NULL) and return -EINVAL.
 */
int __attribute__((format(printf, 3, 4)))
ns_einval(char *err, size_t errlen, const char *fmt, ...);

#endif
