/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * log: levelled logging to stderr (foreground) or syslog (daemon).
 *
 * LOG_LVL_TRACE shows every FTP command and reply (-d); callers redact
 * secrets before logging: ftp_conn never passes PASS/ACCT arguments here.
 * log_* functions are thread-safe (one write(2)/syslog(3) per message).
 */
#ifndef FTPFS_LOG_H
#define FTPFS_LOG_H

#include <stdbool.h>

enum log_level {
	LOG_LVL_ERR,
	LOG_LVL_WARN,
	LOG_LVL_INFO,
	LOG_LVL_DEBUG,
	LOG_LVL_TRACE,
};

/* Set the threshold and the sink. Call once from main before threads. */
void log_init(enum log_level level, bool use_syslog);

/* Switch to syslog after daemonizing. */
void log_use_syslog(bool on);

bool log_enabled(enum log_level level);

void log_msg(enum log_level level, const char *func, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define log_err(...) log_msg(LOG_LVL_ERR, __func__, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_LVL_WARN, __func__, __VA_ARGS__)
#define log_info(...) log_msg(LOG_LVL_INFO, __func__, __VA_ARGS__)
#define log_debug(...)                                                         \
	do {                                                                   \
		if (log_enabled(LOG_LVL_DEBUG))                                \
			log_msg(LOG_LVL_DEBUG, __func__, __VA_ARGS__);         \
	} while (0)
#define log_trace(...)                                                         \
	do {                                                                   \
		if (log_enabled(LOG_LVL_TRACE))                                \
			log_msg(LOG_LVL_TRACE, __func__, __VA_ARGS__);         \
	} while (0)

/*
 * Log only the first time *once is seen false (then set it).  For "switched
 * data mode" style messages that must appear once per mount.  The flag is
 * updated atomically.
 */
void log_once(int *once, enum log_level level, const char *func,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

#endif
