/* SPDX-License-Identifier: GPL-2.0-or-later */
/* log: levelled logging (contract in include/log.h). */
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static _Atomic int log_threshold = LOG_LVL_WARN;
static _Atomic bool log_syslog;

static const char *const level_names[] = {
	[LOG_LVL_ERR] = "error",
	[LOG_LVL_WARN] = "warning",
	[LOG_LVL_INFO] = "info",
	[LOG_LVL_DEBUG] = "debug",
	[LOG_LVL_TRACE] = "trace",
};

static const int level_prio[] = {
	[LOG_LVL_ERR] = LOG_ERR,
	[LOG_LVL_WARN] = LOG_WARNING,
	[LOG_LVL_INFO] = LOG_INFO,
	[LOG_LVL_DEBUG] = LOG_DEBUG,
	[LOG_LVL_TRACE] = LOG_DEBUG,
};

void
log_init(enum log_level level, bool use_syslog)
{
	log_threshold = level;
	log_use_syslog(use_syslog);
}

void
log_use_syslog(bool on)
{
	if (on && !log_syslog)
		openlog("ftpfs", LOG_PID, LOG_DAEMON);
	log_syslog = on;
}

bool
log_enabled(enum log_level level)
{
	return (int)level <= log_threshold;
}

static void log_vmsg(enum log_level level, const char *func, const char *fmt,
    va_list ap) __attribute__((format(printf, 3, 0)));

static void
log_vmsg(enum log_level level, const char *func, const char *fmt, va_list ap)
{
	char msg[2048];
	char line[2300];
	struct timespec ts;
	struct tm tm;
	int n;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (log_syslog) {
		syslog(level_prio[level], "%s: %s", func, msg);
		return;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = snprintf(line, sizeof(line),
	    "ftpfs %02d:%02d:%02d.%03ld %s: %s: %s\n", tm.tm_hour, tm.tm_min,
	    tm.tm_sec, ts.tv_nsec / 1000000, level_names[level], func, msg);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line)) {
		n = sizeof(line) - 1;
		line[n - 1] = '\n';
	}
	/* One write(2) per message keeps lines from threads unmixed. */
	if (write(STDERR_FILENO, line, (size_t)n) < 0)
		return;
}

void
log_msg(enum log_level level, const char *func, const char *fmt, ...)
{
	va_list ap;

	if (!log_enabled(level))
		return;
	va_start(ap, fmt);
	log_vmsg(level, func, fmt, ap);
	va_end(ap);
}

void
log_once(
    int *once, enum log_level level, const char *func, const char *fmt, ...)
{
	va_list ap;

	if (__atomic_exchange_n(once, 1, __ATOMIC_SEQ_CST))
		return;
	if (!log_enabled(level))
		return;
	va_start(ap, fmt);
	log_vmsg(level, func, fmt, ap);
	va_end(ap);
}
