/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * check_mem - Nagios plugin: memory available to new work, as the kernel
 * estimates it.
 *
 * Usage: check_mem -w LIMIT -c LIMIT [-t SECONDS]
 *
 * Available memory is MemAvailable from /proc/meminfo (Linux >= 3.14).
 * Older kernels lack it; then MemFree + Buffers + Cached is used (an
 * overestimate: not all cache can be dropped) and the output says
 * "estimated".  LIMIT is the least memory that should stay available:
 * CRITICAL when available < -c, else WARNING when available < -w, else OK.
 * LIMIT is a percentage of MemTotal ("10%", decimals allowed) or a size:
 * a number with an optional binary unit, B, K/KB/KiB, M/MB/MiB, G/GB/GiB,
 * T/TB/TiB (KB, MB... are read as 1024-based, as free(1) and check_disk
 * do); a plain number is MiB.  -c must not be above -w.
 *
 * Output (plugin guidelines): one status line with perfdata,
 *   MEM OK - 61% available (2.3 GiB of 3.8 GiB) | available=...B;W:;C:;0;TOTAL
 * used=...B;TOTAL-W;TOTAL-C;0;TOTAL "available" carries its thresholds as ranges ("W:" = alert
 * below W); "used" carries the same limits as plain upper bounds, for graphers that only read
 * numbers.  Exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN (bad arguments, unreadable meminfo,
 * timeout, and -h/--help and -V/--version, as monitoring-plugins 2.3 does).
 *
 * For tests only: the environment variable XV_MEMINFO names a file in
 * /proc/meminfo format to read instead.  (An environment variable, not an
 * option, so that remote arguments can never point it at another file.)
 *
 * Standalone: libc only, no project libraries.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "xvp.h"

#ifndef XV_VERSION
#define XV_VERSION "unknown"
#endif

#define CHECK_MEM_MEMINFO "/proc/meminfo"
#define CHECK_MEM_ENV "XV_MEMINFO"
#define CHECK_MEM_TIMEOUT_DEFAULT 10 /* s, the plugin guidelines' default */
#define CHECK_MEM_TIMEOUT_MAX 3600
#define CHECK_MEM_LINE_MAX 256
#define CHECK_MEM_BYTES_MAX 9.2e18L /* below 2^63: every size fits in uint64_t */
#define CHECK_MEM_ARG_MAX 64	    /* bytes of an argument quoted in a message */

#define CHECK_MEM_USAGE "Usage: check_mem -w LIMIT -c LIMIT [-t SECONDS]\n"

struct check_mem_limit {
	const char *text; /* as given, for messages */
	int percent;	  /* 1: value is a percentage of MemTotal */
	long double value;
};

struct check_mem_info {
	uint64_t total, available, free, buffers, cached;
	int has_total, has_available, has_free, has_buffers, has_cached;
};

static const char *const check_mem_state_names[] = XVP_RESULT_NAMES;

__attribute__((noreturn)) static void check_mem_on_alarm(int sig)
{
	static const char msg[] = "MEM UNKNOWN - check_mem timed out\n";
	ssize_t n = write(STDOUT_FILENO, msg, sizeof msg - 1);

	(void)n;
	_exit(XVP_RESULT_UNKNOWN);
}

static void check_mem_help(void)
{
	printf("check_mem v%s (xenvchan-nrpe)\n\n"
	       "Checks the memory available for new work (MemAvailable from /proc/meminfo;\n"
	       "on kernels without it, MemFree + Buffers + Cached, marked "
	       "\"estimated\").\n\n" CHECK_MEM_USAGE "\nOptions:\n"
	       " -h, --help\n    Print this help (exit 3)\n"
	       " -V, --version\n    Print the version (exit 3)\n"
	       " -w, --warning=LIMIT\n    WARNING when less than LIMIT is available\n"
	       " -c, --critical=LIMIT\n    CRITICAL when less than LIMIT is available\n"
	       " -t, --timeout=SECONDS\n    Give up after SECONDS (default %d)\n"
	       "\nLIMIT is a percentage of the total (\"10%%\") or a size with an optional\n"
	       "1024-based unit: B, K, KB, KiB, M, MB, MiB, G, GB, GiB, T, TB, TiB\n"
	       "(\"512M\", \"1.5G\"); a plain number is MiB.  -c must not exceed -w.\n"
	       "\nExample:\n check_mem -w 10%% -c 5%%\n"
	       "\nFor tests, the environment variable %s names a file to read instead\n"
	       "of %s.\n",
	       XV_VERSION, CHECK_MEM_TIMEOUT_DEFAULT, CHECK_MEM_ENV, CHECK_MEM_MEMINFO);
}

__attribute__((noreturn)) static void check_mem_usage(const char *what, const char *arg)
{
	if (arg)
		printf("MEM UNKNOWN - %s '%.*s'\n", what, CHECK_MEM_ARG_MAX, arg);
	else
		printf("MEM UNKNOWN - %s\n", what);
	fputs(CHECK_MEM_USAGE, stdout);
	exit(XVP_RESULT_UNKNOWN);
}

/* Returns 0 and fills *l, or -1. */
static int check_mem_parse_limit(const char *s, struct check_mem_limit *l)
{
	static const struct {
		const char *name;
		long double factor;
	} units[] = {
	    {"", 1024.0L * 1024},
	    {"B", 1},
	    {"K", 1024.0L},
	    {"KB", 1024.0L},
	    {"KiB", 1024.0L},
	    {"M", 1024.0L * 1024},
	    {"MB", 1024.0L * 1024},
	    {"MiB", 1024.0L * 1024},
	    {"G", 1024.0L * 1024 * 1024},
	    {"GB", 1024.0L * 1024 * 1024},
	    {"GiB", 1024.0L * 1024 * 1024},
	    {"T", 1024.0L * 1024 * 1024 * 1024},
	    {"TB", 1024.0L * 1024 * 1024 * 1024},
	    {"TiB", 1024.0L * 1024 * 1024 * 1024},
	};
	char *end;
	long double v;

	l->text = s;
	/* digits first: no sign, no blanks, no "inf", "nan" or hex */
	if (!((s[0] >= '0' && s[0] <= '9') || (s[0] == '.' && s[1] >= '0' && s[1] <= '9')))
		return -1;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		return -1;
	errno = 0;
	v = strtold(s, &end);
	if (errno != 0 || end == s)
		return -1;
	if (strcmp(end, "%") == 0) {
		if (v > 100)
			return -1;
		l->percent = 1;
		l->value = v;
		return 0;
	}
	for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
		if (strcasecmp(end, units[i].name) != 0)
			continue;
		if (v > CHECK_MEM_BYTES_MAX / units[i].factor)
			return -1;
		l->percent = 0;
		l->value = v * units[i].factor;
		return 0;
	}
	return -1;
}

/* The limit in bytes, rounded up: "below 10%" must not pass at 9.99%. */
static uint64_t check_mem_limit_bytes(const struct check_mem_limit *l, uint64_t total)
{
	long double v = l->percent ? (long double)total * l->value / 100 : l->value;
	uint64_t b = (uint64_t)v;

	if ((long double)b < v)
		b++;
	return b;
}

/* "Key:   123 kB" -> bytes.  Returns 0, or -1 if the line is not that. */
static int check_mem_parse_line(const char *line, const char *key, uint64_t *bytes)
{
	size_t klen = strlen(key);
	unsigned long long kib;
	const char *p;
	char *end;

	if (strncmp(line, key, klen) != 0 || line[klen] != ':')
		return -1;
	p = line + klen + 1;
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p < '0' || *p > '9')
		return -1;
	errno = 0;
	kib = strtoull(p, &end, 10);
	if (errno != 0 || kib > UINT64_MAX / 1024)
		return -1;
	while (*end == ' ' || *end == '\t')
		end++;
	if (strncmp(end, "kB", 2) != 0)
		return -1;
	*bytes = (uint64_t)kib * 1024;
	return 0;
}

/* Returns 0, or -1 with a message in err. */
static int check_mem_read(const char *path, struct check_mem_info *m, char *err, size_t errsize)
{
	const struct {
		const char *key;
		uint64_t *value;
		int *has;
	} keys[] = {
	    {"MemTotal", &m->total, &m->has_total},
	    {"MemAvailable", &m->available, &m->has_available},
	    {"MemFree", &m->free, &m->has_free},
	    {"Buffers", &m->buffers, &m->has_buffers},
	    {"Cached", &m->cached, &m->has_cached},
	};
	char line[CHECK_MEM_LINE_MAX];
	FILE *f;

	memset(m, 0, sizeof *m);
	f = fopen(path, "re");
	if (f == NULL) {
		snprintf(err, errsize, "%s: %s", path, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof line, f) != NULL) {
		for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
			if (!*keys[i].has &&
			    check_mem_parse_line(line, keys[i].key, keys[i].value) == 0)
				*keys[i].has = 1;
	}
	if (ferror(f)) {
		snprintf(err, errsize, "%s: %s", path, strerror(errno));
		fclose(f);
		return -1;
	}
	fclose(f);
	if (!m->has_total || m->total == 0) {
		snprintf(err, errsize, "%s: no valid MemTotal line", path);
		return -1;
	}
	if (!m->has_available) {
		if (!m->has_free || !m->has_buffers || !m->has_cached) {
			snprintf(err, errsize,
				 "%s: neither MemAvailable nor MemFree, Buffers and Cached", path);
			return -1;
		}
		/* Each is at most UINT64_MAX / 1024: the sum cannot wrap. */
		m->available = m->free + m->buffers + m->cached;
	}
	if (m->available > m->total)
		m->available = m->total;
	return 0;
}

static void check_mem_human(char *buf, size_t size, uint64_t bytes)
{
	static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
	long double v = (long double)bytes;
	size_t u = 0;

	while (v >= 1024 && u < sizeof units / sizeof units[0] - 1) {
		v /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(buf, size, "%llu B", (unsigned long long)bytes);
	else
		snprintf(buf, size, "%.1Lf %s", v, units[u]);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"help", no_argument, NULL, 'h'},	       {"version", no_argument, NULL, 'V'},
	    {"warning", required_argument, NULL, 'w'}, {"critical", required_argument, NULL, 'c'},
	    {"timeout", required_argument, NULL, 't'}, {NULL, 0, NULL, 0},
	};
	struct check_mem_limit warn = {0}, crit = {0};
	struct check_mem_info m;
	int have_w = 0, have_c = 0, opt, state;
	long timeout = CHECK_MEM_TIMEOUT_DEFAULT;
	uint64_t wb, cb, used;
	char err[512], avail_h[32], total_h[32], *end;
	const char *path = getenv(CHECK_MEM_ENV);
	unsigned pct;

	opterr = 0; /* our own messages, on stdout where Nagios looks */
	while ((opt = getopt_long(argc, argv, ":hVw:c:t:", longopts, NULL)) != -1) {
		switch (opt) {
		case 'h':
			check_mem_help();
			return XVP_RESULT_UNKNOWN;
		case 'V':
			printf("check_mem v%s (xenvchan-nrpe)\n", XV_VERSION);
			return XVP_RESULT_UNKNOWN;
		case 'w':
			if (check_mem_parse_limit(optarg, &warn) == -1)
				check_mem_usage("invalid warning threshold", optarg);
			have_w = 1;
			break;
		case 'c':
			if (check_mem_parse_limit(optarg, &crit) == -1)
				check_mem_usage("invalid critical threshold", optarg);
			have_c = 1;
			break;
		case 't':
			errno = 0;
			timeout = strtol(optarg, &end, 10);
			if (errno || end == optarg || *end || timeout < 1 ||
			    timeout > CHECK_MEM_TIMEOUT_MAX)
				check_mem_usage("invalid timeout", optarg);
			break;
		case ':':
			check_mem_usage("missing value for option", argv[optind - 1]);
		default:
			check_mem_usage("unknown option", argv[optind - 1]);
		}
	}
	if (optind < argc)
		check_mem_usage("unexpected argument", argv[optind]);
	if (!have_w || !have_c)
		check_mem_usage("both -w and -c are required", NULL);
	if (warn.percent == crit.percent && crit.value > warn.value)
		check_mem_usage("critical threshold must not be above warning threshold",
				crit.text);

	signal(SIGALRM, check_mem_on_alarm);
	alarm((unsigned)timeout);

	if (path == NULL || *path == '\0')
		path = CHECK_MEM_MEMINFO;
	if (check_mem_read(path, &m, err, sizeof err) == -1) {
		printf("MEM UNKNOWN - %s\n", err);
		return XVP_RESULT_UNKNOWN;
	}
	wb = check_mem_limit_bytes(&warn, m.total);
	cb = check_mem_limit_bytes(&crit, m.total);
	if (cb > wb) {
		/* mixed units: only comparable now */
		printf(
		    "MEM UNKNOWN - critical threshold '%.*s' is above warning threshold '%.*s'\n",
		    CHECK_MEM_ARG_MAX, crit.text, CHECK_MEM_ARG_MAX, warn.text);
		return XVP_RESULT_UNKNOWN;
	}
	if (m.available < cb)
		state = XVP_RESULT_CRITICAL;
	else if (m.available < wb)
		state = XVP_RESULT_WARNING;
	else
		state = XVP_RESULT_OK;
	/* floor: never print "10%" for an alert below 10% */
	pct = (unsigned)((long double)m.available * 100 / (long double)m.total);
	used = m.total - m.available;
	check_mem_human(avail_h, sizeof avail_h, m.available);
	check_mem_human(total_h, sizeof total_h, m.total);
	printf("MEM %s - %u%% available (%s of %s%s) | available=%lluB;%llu:;%llu:;0;%llu "
	       "used=%lluB;%llu;%llu;0;%llu\n",
	       check_mem_state_names[state], pct, avail_h, total_h,
	       m.has_available ? "" : ", estimated", (unsigned long long)m.available,
	       (unsigned long long)wb, (unsigned long long)cb, (unsigned long long)m.total,
	       (unsigned long long)used, (unsigned long long)(wb < m.total ? m.total - wb : 0),
	       (unsigned long long)(cb < m.total ? m.total - cb : 0), (unsigned long long)m.total);
	return state;
}
