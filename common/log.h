/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * log.h - logging for the daemons and tools (never used by proto/).
 *
 * Messages go to stderr (default) or syslog.  log_warn()/fatal() append
 * strerror(errno); the *x variants do not.  fatal*() log and exit(1): use
 * them only at start-up or for broken invariants, never for peer input.
 */
#ifndef XV_LOG_H
#define XV_LOG_H

#include <stdarg.h>

enum log_level { LOG_LVL_ERR = 0, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };

/* ident: program name; use_syslog: 0 = stderr, 1 = syslog (facility:
 * a LOG_* facility value from <syslog.h>); level: highest level shown. */
void log_init(const char *ident, int use_syslog, int facility, enum log_level level);
/* Log to the file at path instead (appended, created 0640).  One write(2)
 * per message, so lines from concurrent writers do not interleave; a
 * failing write (disk full) drops the message rather than stopping the
 * daemon.  Returns 0, or -1 with errno (the destination is then unchanged). */
int log_open_file(const char *path);
/* Reopen the log file (after logrotate moved it); no-op without one. */
int log_reopen(void);
/* Messages dropped because the log file could not be written. */
unsigned long log_dropped(void);
void log_set_level(enum log_level level);
enum log_level log_get_level(void);
/* Parse "err", "warn", "info", "debug" (or 0-3); returns -1 if unknown. */
int log_level_parse(const char *s);

void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_errx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
