/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

/* The logger is process-wide by nature (like syslog itself). */
#define LOG_PATH_MAX 4096

static struct {
	const char *ident;
	int use_syslog;
	enum log_level level;
	int fd; /* log file, or -1 */
	char path[LOG_PATH_MAX];
	unsigned long dropped;
} logger = {"xenvchan", 0, LOG_LVL_INFO, -1, "", 0};

int log_open_file(const char *path)
{
	int fd;

	if (strlen(path) >= sizeof logger.path) {
		errno = ENAMETOOLONG;
		return -1;
	}
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0640);
	if (fd < 0)
		return -1;
	if (logger.fd >= 0)
		close(logger.fd);
	logger.fd = fd;
	if (logger.path != path)
		strcpy(logger.path, path);
	return 0;
}

int log_reopen(void)
{
	char path[LOG_PATH_MAX];

	if (logger.fd < 0)
		return 0;
	strcpy(path, logger.path);
	return log_open_file(path);
}

unsigned long log_dropped(void)
{
	return logger.dropped;
}

void log_init(const char *ident, int use_syslog, int facility, enum log_level level)
{
	logger.ident = ident;
	logger.use_syslog = use_syslog;
	logger.level = level;
	if (use_syslog)
		openlog(ident, LOG_PID | LOG_NDELAY, facility);
}

void log_set_level(enum log_level level)
{
	logger.level = level;
}

enum log_level log_get_level(void)
{
	return logger.level;
}

int log_level_parse(const char *s)
{
	static const char *const names[] = {"err", "warn", "info", "debug"};
	for (int i = 0; i < 4; i++)
		if (strcmp(s, names[i]) == 0 || (s[0] == '0' + i && s[1] == '\0'))
			return i;
	if (strcmp(s, "error") == 0)
		return LOG_LVL_ERR;
	if (strcmp(s, "warning") == 0)
		return LOG_LVL_WARN;
	return -1;
}

static void log_vemit(enum log_level lvl, int with_errno, const char *fmt, va_list ap)
{
	static const int prio[] = {LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG};
	static const char *const tag[] = {"error", "warning", "info", "debug"};
	char msg[2048];
	int saved = errno;

	if (lvl > logger.level)
		return;
	vsnprintf(msg, sizeof msg, fmt, ap);
	if (with_errno) {
		size_t n = strlen(msg);
		snprintf(msg + n, sizeof msg - n, ": %s", strerror(saved));
	}
	if (logger.fd >= 0) {
		char line[sizeof msg + 96];
		char stamp[32];
		time_t now = time(NULL);
		struct tm tm;
		int n;

		strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", localtime_r(&now, &tm));
		n = snprintf(line, sizeof line, "%s %s[%ld]: %s: %s\n", stamp, logger.ident,
			     (long)getpid(), tag[lvl], msg);
		if (n < 0 || (size_t)n >= sizeof line)
			n = (int)sizeof line - 1, line[n - 1] = '\n';
		if (write(logger.fd, line, (size_t)n) != n)
			logger.dropped++;
	} else if (logger.use_syslog) {
		syslog(prio[lvl], "%s", msg);
	} else {
		fprintf(stderr, "%s[%s]: %s\n", logger.ident, tag[lvl], msg);
	}
	errno = saved;
}

#define LOG_FN(name, lvl, with_errno)                                                              \
	void name(const char *fmt, ...)                                                            \
	{                                                                                          \
		va_list ap;                                                                        \
		va_start(ap, fmt);                                                                 \
		log_vemit(lvl, with_errno, fmt, ap);                                               \
		va_end(ap);                                                                        \
	}
LOG_FN(log_warn, LOG_LVL_WARN, 1)
LOG_FN(log_warnx, LOG_LVL_WARN, 0)
LOG_FN(log_errx, LOG_LVL_ERR, 0)
LOG_FN(log_info, LOG_LVL_INFO, 0)
LOG_FN(log_debug, LOG_LVL_DEBUG, 0)

void fatal(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_vemit(LOG_LVL_ERR, 1, fmt, ap);
	va_end(ap);
	exit(1);
}

void fatalx(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_vemit(LOG_LVL_ERR, 0, fmt, ap);
	va_end(ap);
	exit(1);
}
