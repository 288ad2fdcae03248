/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "config.h"

/* A command definition while loading: seq orders redefinitions. */
struct config_def {
	struct command c;
	size_t seq;
};

/* Everything one load needs besides the result itself. */
struct config_parser {
	struct agent_config *cfg;
	unsigned flags;
	char *err;
	size_t errlen;

	const char *file; /* current position, for messages */
	unsigned line;
	const char *top; /* the file config_load was given */

	/* files and directories being read, outermost first: loop detection */
	struct {
		dev_t dev;
		ino_t ino;
	} open[CONFIG_INCLUDE_DEPTH_MAX + 1];
	size_t depth;

	struct config_def *defs;
	size_t ndefs, capdefs;
	size_t nsuppressed; /* notices beyond CONFIG_NOTICES_MAX */
	int finishing;	    /* set for the final count of suppressed notices */

	struct argv_template *prefix;
	/* where keys checked at the end were set (file NULL: not set) */
	const char *user_file, *group_file;
	unsigned user_line, group_line;
};

static void config_vfail(struct config_parser *p, const char *file, unsigned line, const char *fmt,
			 va_list ap) __attribute__((format(printf, 4, 0)));
static void config_fail(struct config_parser *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void config_fail_at(struct config_parser *p, const char *file, unsigned line,
			   const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void config_notice(struct config_parser *p, const char *file, unsigned line, const char *fmt,
			  ...) __attribute__((format(printf, 4, 5)));

static void config_vfail(struct config_parser *p, const char *file, unsigned line, const char *fmt,
			 va_list ap)
{
	int n;

	if (p->err == NULL || p->errlen == 0)
		return;
	if (line > 0)
		n = snprintf(p->err, p->errlen, "%s:%u: ", file, line);
	else
		n = snprintf(p->err, p->errlen, "%s: ", file);
	if (n >= 0 && (size_t)n < p->errlen)
		vsnprintf(p->err + n, p->errlen - (size_t)n, fmt, ap);
}

/* The first problem found ends the load: callers return -1 right after. */
static void config_fail(struct config_parser *p, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	config_vfail(p, p->file, p->line, fmt, ap);
	va_end(ap);
}

static void config_fail_at(struct config_parser *p, const char *file, unsigned line,
			   const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	config_vfail(p, file, line, fmt, ap);
	va_end(ap);
}

/* Notices cannot fail a load: without memory, or beyond the cap, they are
 * counted and summed up in one last notice. */
static void config_notice(struct config_parser *p, const char *file, unsigned line, const char *fmt,
			  ...)
{
	struct agent_config *cfg = p->cfg;
	char msg[512];
	char **n;
	int k;
	va_list ap;

	/* The last slot is kept for the count of those that did not fit. */
	if (cfg->nnotices >= CONFIG_NOTICES_MAX - (p->finishing ? 0 : 1)) {
		p->nsuppressed++;
		return;
	}
	if (line > 0)
		k = snprintf(msg, sizeof msg, "%s:%u: ", file, line);
	else
		k = snprintf(msg, sizeof msg, "%s: ", file);
	if (k < 0 || (size_t)k >= sizeof msg)
		k = 0;
	va_start(ap, fmt);
	vsnprintf(msg + k, sizeof msg - (size_t)k, fmt, ap);
	va_end(ap);
	n = realloc(cfg->notices, (cfg->nnotices + 1) * sizeof *n);
	if (n == NULL) {
		p->nsuppressed++;
		return;
	}
	cfg->notices = n;
	n[cfg->nnotices] = strdup(msg);
	if (n[cfg->nnotices] == NULL) {
		p->nsuppressed++;
		return;
	}
	cfg->nnotices++;
}

/* ------------------------------------------------------------ values */

/* Unsigned decimal, digits only, at most 10 of them. */
static int config_parse_uint(const char *s, unsigned long long *out)
{
	unsigned long long v = 0;
	size_t n = 0;

	for (; s[n] != '\0'; n++) {
		if (s[n] < '0' || s[n] > '9' || n >= 10)
			return -1;
		v = v * 10 + (unsigned long long)(s[n] - '0');
	}
	if (n == 0)
		return -1;
	*out = v;
	return 0;
}

static int config_set_string(struct config_parser *p, char **field, const char *value)
{
	char *s = strdup(value);

	if (s == NULL) {
		config_fail(p, "out of memory");
		return -1;
	}
	free(*field);
	*field = s;
	return 0;
}

int config_facility_parse(const char *name)
{
	static const struct {
		const char *name;
		int facility;
	} tab[] = {
	    {"kern", LOG_KERN},	    {"user", LOG_USER},		{"mail", LOG_MAIL},
	    {"daemon", LOG_DAEMON}, {"auth", LOG_AUTH},		{"syslog", LOG_SYSLOG},
	    {"lpr", LOG_LPR},	    {"news", LOG_NEWS},		{"uucp", LOG_UUCP},
	    {"cron", LOG_CRON},	    {"authpriv", LOG_AUTHPRIV}, {"ftp", LOG_FTP},
	    {"local0", LOG_LOCAL0}, {"local1", LOG_LOCAL1},	{"local2", LOG_LOCAL2},
	    {"local3", LOG_LOCAL3}, {"local4", LOG_LOCAL4},	{"local5", LOG_LOCAL5},
	    {"local6", LOG_LOCAL6}, {"local7", LOG_LOCAL7},
	};

	for (size_t i = 0; i < sizeof tab / sizeof tab[0]; i++)
		if (strcmp(name, tab[i].name) == 0)
			return tab[i].facility;
	return -1;
}

/* ------------------------------------------------------------ key table */

enum config_kind {
	CK_UINT,    /* unsigned field at off, min..max */
	CK_BOOL,    /* int field at off, "0" or "1" */
	CK_PATH,    /* char * field at off, an absolute path */
	CK_FUNC,    /* fn does it all */
	CK_IGNORED, /* nrpe key without meaning here: a notice (note, or the default text) */
};

struct config_key {
	const char *name;
	enum config_kind kind;
	size_t off;
	unsigned min, max;
	int (*fn)(struct config_parser *p, const struct config_key *k, const char *value,
		  size_t vcol);
	const char *note;
};

static int config_include(struct config_parser *p, const struct config_key *k, const char *value,
			  size_t vcol);
static int config_include_dir(struct config_parser *p, const struct config_key *k,
			      const char *value, size_t vcol);
static int config_nrpe_user(struct config_parser *p, const struct config_key *k, const char *value,
			    size_t vcol);
static int config_nrpe_group(struct config_parser *p, const struct config_key *k, const char *value,
			     size_t vcol);
static int config_command_prefix(struct config_parser *p, const struct config_key *k,
				 const char *value, size_t vcol);
static int config_keep_env_vars(struct config_parser *p, const struct config_key *k,
				const char *value, size_t vcol);
static int config_log_facility(struct config_parser *p, const struct config_key *k,
			       const char *value, size_t vcol);
static int config_log_level(struct config_parser *p, const struct config_key *k, const char *value,
			    size_t vcol);
static int config_max_commands(struct config_parser *p, const struct config_key *k,
			       const char *value, size_t vcol);
static int config_channel(struct config_parser *p, const struct config_key *k, const char *value,
			  size_t vcol);
static int config_arg_allowlist(struct config_parser *p, const struct config_key *k,
				const char *value, size_t vcol);

#define CFG_OFF(field) offsetof(struct agent_config, field)
#define NO_SHELL "nothing ever runs through a shell, ignored"

/* Every key the agent knows; command[NAME] is handled apart.  Order is
 * only for readers. */
static const struct config_key config_keys[] = {
    /* nrpe keys with the same meaning here */
    {"include", CK_FUNC, 0, 0, 0, config_include, NULL},
    {"include_file", CK_FUNC, 0, 0, 0, config_include, NULL},
    {"include_dir", CK_FUNC, 0, 0, 0, config_include_dir, NULL},
    {"command_timeout", CK_UINT, CFG_OFF(command_timeout), CONFIG_COMMAND_TIMEOUT_MIN,
     CONFIG_COMMAND_TIMEOUT_MAX, NULL, NULL},
    {"connection_timeout", CK_UINT, CFG_OFF(connection_timeout), CONFIG_CONNECTION_TIMEOUT_MIN,
     CONFIG_CONNECTION_TIMEOUT_MAX, NULL, NULL},
    {"dont_blame_nrpe", CK_BOOL, CFG_OFF(arg_policy.allow_args), 0, 1, NULL, NULL},
    {"nrpe_user", CK_FUNC, 0, 0, 0, config_nrpe_user, NULL},
    {"nrpe_group", CK_FUNC, 0, 0, 0, config_nrpe_group, NULL},
    {"command_prefix", CK_FUNC, 0, 0, 0, config_command_prefix, NULL},
    {"keep_env_vars", CK_FUNC, 0, 0, 0, config_keep_env_vars, NULL},
    {"debug", CK_BOOL, CFG_OFF(debug), 0, 1, NULL, NULL},
    {"log_facility", CK_FUNC, 0, 0, 0, config_log_facility, NULL},
    {"log_file", CK_PATH, CFG_OFF(log_file), 0, 0, NULL, NULL},
    {"disable_syslog", CK_BOOL, CFG_OFF(disable_syslog), 0, 1, NULL, NULL},
    {"pid_file", CK_PATH, CFG_OFF(pid_file), 0, 0, NULL, NULL},
    {"max_commands", CK_FUNC, 0, 0, 0, config_max_commands, NULL},
    /* our own keys */
    {"channel", CK_FUNC, 0, 0, 0, config_channel, NULL},
    {"max_concurrent", CK_UINT, CFG_OFF(max_concurrent), CONFIG_MAX_CONCURRENT_MIN,
     CONFIG_MAX_CONCURRENT_MAX, NULL, NULL},
    {"max_queue", CK_UINT, CFG_OFF(max_queue), CONFIG_MAX_QUEUE_MIN, CONFIG_MAX_QUEUE_MAX, NULL,
     NULL},
    {"output_cap", CK_UINT, CFG_OFF(output_cap), CONFIG_OUTPUT_CAP_MIN, CONFIG_OUTPUT_CAP_MAX, NULL,
     NULL},
    {"arg_allowlist", CK_FUNC, 0, 0, 0, config_arg_allowlist, NULL},
    {"arg_max_length", CK_UINT, CFG_OFF(arg_max_length), CONFIG_ARG_MAX_LENGTH_MIN,
     CONFIG_ARG_MAX_LENGTH_MAX, NULL, NULL},
    {"log_level", CK_FUNC, 0, 0, 0, config_log_level, NULL},
    {"publish_other_nics", CK_BOOL, CFG_OFF(publish_other_nics), 0, 1, NULL, NULL},
    {"publish_loopback", CK_BOOL, CFG_OFF(publish_loopback), 0, 1, NULL, NULL},
    {"publish_legacy", CK_BOOL, CFG_OFF(publish_legacy), 0, 1, NULL, NULL},
    {"publish_max_nodes", CK_UINT, CFG_OFF(publish_max_nodes), CONFIG_PUBLISH_MAX_NODES_MIN,
     CONFIG_PUBLISH_MAX_NODES_MAX, NULL, NULL},
    {"os_release_file", CK_PATH, CFG_OFF(os_release_file), 0, 0, NULL, NULL},
    {"sysfs_net_dir", CK_PATH, CFG_OFF(sysfs_net_dir), 0, 0, NULL, NULL},
    /* nrpe keys without meaning here: accepted, with a notice */
    {"server_port", CK_IGNORED, 0, 0, 0, NULL, NULL},
    {"server_address", CK_IGNORED, 0, 0, 0, NULL, NULL},
    {"allowed_hosts", CK_IGNORED, 0, 0, 0, NULL, NULL},
    {"listen_queue_size", CK_IGNORED, 0, 0, 0, NULL, NULL},
    {"ssl_version", CK_IGNORED, 0, 0, 0, NULL, NULL},
    {"ssl_use_adh", CK_IGNORED, 0, 0, 0, NULL, NULL},
    {"ssl_cipher_list", CK_IGNORED, 0, 0, 0, NULL, NULL},
    {"ssl_cert_file", CK_IGNORED, 0, 0, 0, NULL, NULL},
    {"ssl_cacert_file", CK_IGNORED, 0, 0, 0, NULL, NULL},
    {"ssl_privatekey_file", CK_IGNORED, 0, 0, 0, NULL, NULL},
    {"ssl_client_certs", CK_IGNORED, 0, 0, 0, NULL, NULL},
    {"ssl_logging", CK_IGNORED, 0, 0, 0, NULL, NULL},
    {"ssl_shutdown_timeout", CK_IGNORED, 0, 0, 0, NULL, NULL},
    {"allow_weak_random_seed", CK_IGNORED, 0, 0, 0, NULL, NULL},
    {"nasty_metachars", CK_IGNORED, 0, 0, 0, NULL,
     "arguments are checked against arg_allowlist instead, ignored"},
    {"allow_bash_command_substitution", CK_IGNORED, 0, 0, 0, NULL, NO_SHELL},
};

/* ------------------------------------------------------------ files */

static int config_parse_text(struct config_parser *p, const char *name, const char *buf,
			     size_t len);

/* Interns a file name: struct command and messages point at the copy. */
static const char *config_add_file(struct config_parser *p, const char *path)
{
	struct agent_config *cfg = p->cfg;
	char **f;

	if (cfg->nfiles >= CONFIG_FILES_MAX) {
		config_fail(p, "more than %d configuration files", CONFIG_FILES_MAX);
		return NULL;
	}
	f = realloc(cfg->files, (cfg->nfiles + 1) * sizeof *f);
	if (f == NULL) {
		config_fail(p, "out of memory");
		return NULL;
	}
	cfg->files = f;
	f[cfg->nfiles] = strdup(path);
	if (f[cfg->nfiles] == NULL) {
		config_fail(p, "out of memory");
		return NULL;
	}
	return f[cfg->nfiles++];
}

/* Records an open file or directory; refuses loops and deep nesting. */
static int config_push(struct config_parser *p, const struct stat *st, const char *path)
{
	for (size_t i = 0; i < p->depth; i++) {
		if (p->open[i].dev == st->st_dev && p->open[i].ino == st->st_ino) {
			config_fail(p, "include loop: '%s' is already being read", path);
			return -1;
		}
	}
	if (p->depth > CONFIG_INCLUDE_DEPTH_MAX) {
		config_fail(p, "includes nested deeper than %d levels", CONFIG_INCLUDE_DEPTH_MAX);
		return -1;
	}
	p->open[p->depth].dev = st->st_dev;
	p->open[p->depth].ino = st->st_ino;
	p->depth++;
	return 0;
}

/* A problem with a file itself is reported at the line that included it
 * ("main.cfg:3: cannot open 'x.cfg': ..."), or against the file for the
 * top-level one, which no line names (p->line == 0: "x.cfg: cannot open:
 * ..."). */
static void config_fail_file(struct config_parser *p, const char *path, const char *what,
			     int errnum)
{
	if (p->line == 0)
		config_fail(p, "%s: %s", what, strerror(errnum));
	else
		config_fail(p, "%s '%s': %s", what, path, strerror(errnum));
}

static int config_read_file(struct config_parser *p, const char *path)
{
	struct stat st;
	const char *name;
	char *buf = NULL;
	size_t len = 0;
	int fd, rc = -1;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		config_fail_file(p, path, "cannot open", errno);
		return -1;
	}
	if (fstat(fd, &st) < 0) {
		config_fail_file(p, path, "cannot stat", errno);
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		if (p->line == 0)
			config_fail(p, "not a regular file");
		else
			config_fail(p, "'%s' is not a regular file", path);
		goto out;
	}
	if (config_push(p, &st, path) < 0)
		goto out;
	buf = malloc(CONFIG_FILE_MAX + 1);
	if (buf == NULL) {
		config_fail(p, "out of memory");
		goto pop;
	}
	/* Read one byte past the limit to tell a full file from a longer one. */
	while (len <= CONFIG_FILE_MAX) {
		ssize_t n = read(fd, buf + len, CONFIG_FILE_MAX + 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			config_fail_file(p, path, "cannot read", errno);
			goto pop;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len > CONFIG_FILE_MAX) {
		if (p->line == 0)
			config_fail(p, "larger than %d bytes", CONFIG_FILE_MAX);
		else
			config_fail(p, "'%s' is larger than %d bytes", path, CONFIG_FILE_MAX);
		goto pop;
	}
	name = config_add_file(p, path);
	if (name == NULL)
		goto pop;
	/* A probe user able to rewrite the agent's configuration could make it
	 * run anything: say so, loudly but without refusing (containers and
	 * test trees have odd modes). */
	if (st.st_mode & S_IWOTH)
		config_notice(p, name, 0, "file is writable by everyone");
	rc = config_parse_text(p, name, buf, len);
pop:
	p->depth--;
out:
	free(buf);
	close(fd);
	return rc;
}

/* path := value, relative to the directory of the file being read. */
static int config_resolve(struct config_parser *p, const char *value, char *path, size_t size)
{
	const char *slash = strrchr(p->file, '/');
	int n;

	if (value[0] == '/' || slash == NULL)
		n = snprintf(path, size, "%s", value);
	else
		n = snprintf(path, size, "%.*s/%s", (int)(slash - p->file), p->file, value);
	if (n < 0 || (size_t)n >= size) {
		config_fail(p, "path longer than %zu bytes", size - 1);
		return -1;
	}
	return 0;
}

static int config_include(struct config_parser *p, const struct config_key *k, const char *value,
			  size_t vcol)
{
	char path[PATH_MAX];

	if (p->flags & CONFIG_PARSE_NO_INCLUDES) {
		config_fail(p, "'%s' is disabled here", k->name);
		return -1;
	}
	if (config_resolve(p, value, path, sizeof path) < 0)
		return -1;
	return config_read_file(p, path);
}

static int config_strcmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int config_has_cfg_suffix(const char *name)
{
	size_t n = strlen(name);

	return n > 4 && strcmp(name + n - 4, ".cfg") == 0;
}

/* Reads DIR as nrpe does: entries sorted by name, regular files named
 * *.cfg read, subdirectories read recursively at their place in the
 * order; in addition hidden entries (".*") are skipped, files and
 * directories alike.  Symbolic links are followed. */
static int config_read_dir(struct config_parser *p, const char *dir)
{
	char **names = NULL;
	size_t nnames = 0;
	struct dirent *de;
	struct stat st;
	DIR *d;
	int rc = -1, pushed = 0;

	d = opendir(dir);
	if (d == NULL) {
		config_fail(p, "cannot open directory '%s': %s", dir, strerror(errno));
		return -1;
	}
	if (fstat(dirfd(d), &st) < 0) {
		config_fail(p, "cannot stat '%s': %s", dir, strerror(errno));
		goto out;
	}
	if (config_push(p, &st, dir) < 0)
		goto out;
	pushed = 1;
	names = calloc(CONFIG_DIR_ENTRIES_MAX, sizeof *names);
	if (names == NULL) {
		config_fail(p, "out of memory");
		goto out;
	}
	errno = 0;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (nnames >= CONFIG_DIR_ENTRIES_MAX) {
			config_fail(p, "directory '%s' has more than %d entries", dir,
				    CONFIG_DIR_ENTRIES_MAX);
			goto out;
		}
		names[nnames] = strdup(de->d_name);
		if (names[nnames] == NULL) {
			config_fail(p, "out of memory");
			goto out;
		}
		nnames++;
	}
	if (errno != 0) {
		config_fail(p, "cannot read directory '%s': %s", dir, strerror(errno));
		goto out;
	}
	qsort(names, nnames, sizeof *names, config_strcmp);

	for (size_t i = 0; i < nnames; i++) {
		char path[PATH_MAX];
		int n = snprintf(path, sizeof path, "%s/%s", dir, names[i]);

		if (n < 0 || (size_t)n >= sizeof path) {
			config_fail(p, "path longer than %zu bytes", sizeof path - 1);
			goto out;
		}
		if (stat(path, &st) < 0) {
			config_fail(p, "cannot stat '%s': %s", path, strerror(errno));
			goto out;
		}
		if (S_ISDIR(st.st_mode)) {
			if (config_read_dir(p, path) < 0)
				goto out;
		} else if (S_ISREG(st.st_mode) && config_has_cfg_suffix(names[i])) {
			if (config_read_file(p, path) < 0)
				goto out;
		}
	}
	rc = 0;
out:
	if (pushed)
		p->depth--;
	if (names != NULL)
		for (size_t i = 0; i < nnames; i++)
			free(names[i]);
	free(names);
	closedir(d);
	return rc;
}

static int config_include_dir(struct config_parser *p, const struct config_key *k,
			      const char *value, size_t vcol)
{
	char path[PATH_MAX];
	size_t n;

	if (p->flags & CONFIG_PARSE_NO_INCLUDES) {
		config_fail(p, "'%s' is disabled here", k->name);
		return -1;
	}
	if (config_resolve(p, value, path, sizeof path) < 0)
		return -1;
	n = strlen(path);
	while (n > 1 && path[n - 1] == '/')
		path[--n] = '\0';
	return config_read_dir(p, path);
}

/* ------------------------------------------------------------ key handlers */

static int config_nrpe_user(struct config_parser *p, const struct config_key *k, const char *value,
			    size_t vcol)
{
	if (config_set_string(p, &p->cfg->probe_user, value) < 0)
		return -1;
	p->user_file = p->file;
	p->user_line = p->line;
	return 0;
}

static int config_nrpe_group(struct config_parser *p, const struct config_key *k, const char *value,
			     size_t vcol)
{
	if (config_set_string(p, &p->cfg->probe_group, value) < 0)
		return -1;
	p->group_file = p->file;
	p->group_line = p->line;
	return 0;
}

static int config_command_prefix(struct config_parser *p, const struct config_key *k,
				 const char *value, size_t vcol)
{
	struct argv_template *t;
	char why[256];

	if (argv_split(value, vcol, &t, why, sizeof why) < 0) {
		config_fail(p, "command_prefix: %s", why);
		return -1;
	}
	/* The prefix (sudo, a wrapper) is the most privileged part of the
	 * line: nothing a request sends may land in it. */
	if (t->nph > 0) {
		argv_template_free(t);
		config_fail(p, "command_prefix: $ARGn$ placeholders are not allowed here");
		return -1;
	}
	if (t->words[0][0] != '/') {
		config_fail(p, "command_prefix: program '%.64s' is not an absolute path",
			    t->words[0]);
		argv_template_free(t);
		return -1;
	}
	if (config_set_string(p, &p->cfg->command_prefix, value) < 0) {
		argv_template_free(t);
		return -1;
	}
	argv_template_free(p->prefix);
	p->prefix = t;
	return 0;
}

static void config_free_env(struct agent_config *cfg)
{
	for (size_t i = 0; i < cfg->nkeep_env; i++)
		free(cfg->keep_env[i]);
	free(cfg->keep_env);
	cfg->keep_env = NULL;
	cfg->nkeep_env = 0;
}

static int config_keep_env_vars(struct config_parser *p, const struct config_key *k,
				const char *value, size_t vcol)
{
	struct agent_config *cfg = p->cfg;
	const char *s = value;

	/* A later keep_env_vars replaces an earlier one, as in nrpe. */
	config_free_env(cfg);
	/* NULL-terminated, as environment helpers expect */
	cfg->keep_env = calloc(CONFIG_ENV_MAX + 1, sizeof *cfg->keep_env);
	if (cfg->keep_env == NULL) {
		config_fail(p, "out of memory");
		return -1;
	}
	for (size_t item = 1;; item++) {
		size_t len, b = 0;
		const char *comma = strchr(s, ',');

		len = comma != NULL ? (size_t)(comma - s) : strlen(s);
		while (b < len && isspace((unsigned char)s[b]))
			b++;
		while (len > b && isspace((unsigned char)s[len - 1]))
			len--;
		if (len == b) {
			config_fail(p, "keep_env_vars: name %zu is empty", item);
			return -1;
		}
		if (len - b > CONFIG_ENV_NAME_MAX) {
			config_fail(p, "keep_env_vars: name %zu is longer than %d bytes", item,
				    CONFIG_ENV_NAME_MAX);
			return -1;
		}
		for (size_t i = b; i < len; i++) {
			unsigned char c = (unsigned char)s[i];
			if (c == '_' || isalpha(c) || (i > b && isdigit(c)))
				continue;
			config_fail(p,
				    "keep_env_vars: '%.*s' is not a variable name "
				    "([A-Za-z_][A-Za-z0-9_]*)",
				    (int)(len - b), s + b);
			return -1;
		}
		int dup = 0;
		for (size_t i = 0; i < cfg->nkeep_env; i++)
			if (strlen(cfg->keep_env[i]) == len - b &&
			    memcmp(cfg->keep_env[i], s + b, len - b) == 0)
				dup = 1;
		if (!dup) {
			if (cfg->nkeep_env >= CONFIG_ENV_MAX) {
				config_fail(p, "keep_env_vars: more than %d names", CONFIG_ENV_MAX);
				return -1;
			}
			cfg->keep_env[cfg->nkeep_env] = strndup(s + b, len - b);
			if (cfg->keep_env[cfg->nkeep_env] == NULL) {
				config_fail(p, "out of memory");
				return -1;
			}
			cfg->nkeep_env++;
		}
		if (comma == NULL)
			break;
		s = comma + 1;
	}
	return 0;
}

static int config_log_facility(struct config_parser *p, const struct config_key *k,
			       const char *value, size_t vcol)
{
	int f = config_facility_parse(value);

	if (f < 0) {
		config_fail(p,
			    "log_facility: unknown facility '%.64s' (kern, user, mail, daemon, "
			    "auth, syslog, lpr, news, uucp, cron, authpriv, ftp, local0..local7)",
			    value);
		return -1;
	}
	p->cfg->log_facility = f;
	return 0;
}

static int config_log_level(struct config_parser *p, const struct config_key *k, const char *value,
			    size_t vcol)
{
	int l = log_level_parse(value);

	if (l < 0) {
		config_fail(p, "log_level: '%.64s' is not one of err, warn, info, debug", value);
		return -1;
	}
	p->cfg->log_level = (enum log_level)l;
	return 0;
}

static int config_max_commands(struct config_parser *p, const struct config_key *k,
			       const char *value, size_t vcol)
{
	unsigned long long v;
	unsigned m;

	if (config_parse_uint(value, &v) < 0) {
		config_fail(p, "max_commands: '%.64s' is not a number", value);
		return -1;
	}
	/* nrpe's 0 means no limit; the agent always has one. */
	m = v == 0 || v > CONFIG_MAX_CONCURRENT_MAX ? CONFIG_MAX_CONCURRENT_MAX : (unsigned)v;
	p->cfg->max_concurrent = m;
	config_notice(p, p->file, p->line,
		      "'max_commands' is nrpe's name for max_concurrent: max_concurrent=%u%s", m,
		      v == 0  ? " (nrpe's 0, no limit, becomes the agent's ceiling)"
		      : v > m ? " (the agent's ceiling)"
			      : "");
	return 0;
}

static int config_channel(struct config_parser *p, const struct config_key *k, const char *value,
			  size_t vcol)
{
	if (strcmp(value, "vchan") != 0 && (strncmp(value, "socket:", 7) != 0 || value[7] != '/')) {
		config_fail(p,
			    "channel: expected 'vchan' or 'socket:DIR' with DIR an absolute path");
		return -1;
	}
	return config_set_string(p, &p->cfg->channel, value);
}

static int config_arg_allowlist(struct config_parser *p, const struct config_key *k,
				const char *value, size_t vcol)
{
	regex_t re;
	char why[192];

	if (strlen(value) > CONFIG_ALLOWLIST_MAX) {
		config_fail(p, "arg_allowlist: longer than %d bytes", CONFIG_ALLOWLIST_MAX);
		return -1;
	}
	/* Compiled here to report a bad pattern at its line; the final one is
	 * compiled once more when the load completes. */
	if (argv_allowlist_compile(&re, value, why, sizeof why) < 0) {
		config_fail(p, "arg_allowlist: %s", why);
		return -1;
	}
	regfree(&re);
	return config_set_string(p, &p->cfg->arg_allowlist, value);
}

static int config_generic(struct config_parser *p, const struct config_key *k, const char *value)
{
	unsigned long long v;
	char *base = (char *)p->cfg;

	switch (k->kind) {
	case CK_UINT:
		if (config_parse_uint(value, &v) < 0) {
			config_fail(p, "%s: '%.64s' is not a number", k->name, value);
			return -1;
		}
		if (v < k->min || v > k->max) {
			config_fail(p, "%s: %llu is out of range %u..%u", k->name, v, k->min,
				    k->max);
			return -1;
		}
		*(unsigned *)(base + k->off) = (unsigned)v;
		return 0;
	case CK_BOOL:
		if (strcmp(value, "0") != 0 && strcmp(value, "1") != 0) {
			config_fail(p, "%s: '%.64s' is not 0 or 1", k->name, value);
			return -1;
		}
		*(int *)(base + k->off) = value[0] == '1';
		return 0;
	case CK_PATH:
		if (value[0] != '/') {
			config_fail(p, "%s: '%.64s' is not an absolute path", k->name, value);
			return -1;
		}
		return config_set_string(p, (char **)(base + k->off), value);
	case CK_IGNORED:
		if (k->note != NULL)
			config_notice(p, p->file, p->line, "'%s': %s", k->name, k->note);
		else
			config_notice(p, p->file, p->line,
				      "'%s' has no meaning over vchan, ignored", k->name);
		return 0;
	case CK_FUNC:
		break;
	}
	return -1;
}

/* ------------------------------------------------------------ lines */

static int config_command_def(struct config_parser *p, char *key, const char *value, size_t vcol)
{
	size_t klen = strlen(key);
	struct config_def *d;
	struct argv_template *t;
	char why[256];
	char *name;

	if (klen < 10 || key[klen - 1] != ']') {
		config_fail(p, "malformed key '%.64s': expected command[NAME]", key);
		return -1;
	}
	name = key + 8;
	key[klen - 1] = '\0';
	if (argv_check_name(name, strlen(name), why, sizeof why) < 0) {
		config_fail(p, "command[%.*s]: %s", ARGV_NAME_MAX, name, why);
		return -1;
	}
	if (p->ndefs >= CONFIG_COMMANDS_MAX) {
		config_fail(p, "more than %d command definitions", CONFIG_COMMANDS_MAX);
		return -1;
	}
	if (p->ndefs == p->capdefs) {
		size_t cap = p->capdefs ? p->capdefs * 2 : 64;
		d = realloc(p->defs, cap * sizeof *d);
		if (d == NULL) {
			config_fail(p, "out of memory");
			return -1;
		}
		p->defs = d;
		p->capdefs = cap;
	}
	if (argv_split(value, vcol, &t, why, sizeof why) < 0) {
		config_fail(p, "command[%s]: %s", name, why);
		return -1;
	}
	d = &p->defs[p->ndefs];
	memset(d, 0, sizeof *d);
	d->c.argv = t;
	d->c.name = strdup(name);
	d->c.line = strdup(value);
	d->c.file = p->file;
	d->c.lineno = p->line;
	d->seq = p->ndefs;
	p->ndefs++; /* owned by defs from here on, even half built */
	if (d->c.name == NULL || d->c.line == NULL) {
		config_fail(p, "out of memory");
		return -1;
	}
	return 0;
}

static int config_parse_line(struct config_parser *p, char *line)
{
	size_t s = 0, e = strlen(line);
	char *eq, *key, *value;
	const struct config_key *k = NULL;

	while (s < e && isspace((unsigned char)line[s]))
		s++;
	while (e > s && isspace((unsigned char)line[e - 1]))
		e--;
	line[e] = '\0';
	if (s == e || line[s] == '#')
		return 0;
	key = line + s;
	eq = strchr(key, '=');
	if (eq == NULL) {
		config_fail(p, "expected key=value");
		return -1;
	}
	value = eq + 1;
	while (eq > key && isspace((unsigned char)eq[-1]))
		eq--;
	*eq = '\0';
	if (*key == '\0') {
		config_fail(p, "missing key before '='");
		return -1;
	}
	while (isspace((unsigned char)*value))
		value++;
	if (*value == '\0') {
		config_fail(p, "'%.64s' has no value", key);
		return -1;
	}
	if (strncmp(key, "command[", 8) == 0)
		return config_command_def(p, key, value, (size_t)(value - line));

	for (size_t i = 0; i < sizeof config_keys / sizeof config_keys[0]; i++)
		if (strcmp(key, config_keys[i].name) == 0)
			k = &config_keys[i];
	/* nrpe only warns; a misspelt key in a security configuration must
	 * not pass unnoticed. */
	if (k == NULL) {
		config_fail(p, "unknown key '%.64s'", key);
		return -1;
	}
	if (k->kind == CK_FUNC)
		return k->fn(p, k, value, (size_t)(value - line));
	return config_generic(p, k, value);
}

static int config_parse_text(struct config_parser *p, const char *name, const char *buf, size_t len)
{
	const char *saved_file = p->file, *pos = buf, *end = buf + len;
	unsigned saved_line = p->line, lineno = 0;
	char *line = malloc(CONFIG_LINE_MAX + 1);
	int rc = -1;

	if (line == NULL) {
		config_fail(p, "out of memory");
		return -1;
	}
	p->file = name;
	while (pos < end) {
		const char *nl = memchr(pos, '\n', (size_t)(end - pos));
		size_t n = nl != NULL ? (size_t)(nl - pos) : (size_t)(end - pos);

		p->line = ++lineno;
		if (n > CONFIG_LINE_MAX) {
			config_fail(p, "line longer than %d bytes", CONFIG_LINE_MAX);
			goto out;
		}
		if (memchr(pos, '\0', n) != NULL) {
			config_fail(p, "NUL byte in line");
			goto out;
		}
		memcpy(line, pos, n);
		line[n] = '\0';
		pos = nl != NULL ? nl + 1 : end;
		if (config_parse_line(p, line) < 0)
			goto out;
	}
	rc = 0;
out:
	/* On failure the position stays at the problem for the caller. */
	if (rc == 0) {
		p->file = saved_file;
		p->line = saved_line;
	}
	free(line);
	return rc;
}

/* ------------------------------------------------------------ completion */

static int config_def_cmp(const void *a, const void *b)
{
	const struct config_def *x = a, *y = b;
	int c = strcmp(x->c.name, y->c.name);

	if (c != 0)
		return c;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static void config_free_command(struct command *c)
{
	free(c->name);
	free(c->line);
	argv_template_free(c->argv);
	memset(c, 0, sizeof *c);
}

/* Sorted, unique commands: a redefined command keeps its last definition
 * (nrpe adds each definition at the head of a list and looks up the
 * first match, so the last one read wins there too). */
static int config_finish_commands(struct config_parser *p)
{
	struct agent_config *cfg = p->cfg;
	size_t n = 0;

	if (p->ndefs > 0)
		qsort(p->defs, p->ndefs, sizeof *p->defs, config_def_cmp);
	cfg->commands = calloc(p->ndefs ? p->ndefs : 1, sizeof *cfg->commands);
	if (cfg->commands == NULL) {
		config_fail_at(p, p->top, 0, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < p->ndefs; i++) {
		struct config_def *d = &p->defs[i];
		if (i + 1 < p->ndefs && strcmp(d->c.name, p->defs[i + 1].c.name) == 0) {
			struct config_def *next = &p->defs[i + 1];
			config_notice(p, next->c.file, next->c.lineno,
				      "command '%s' redefined (previous definition at %s:%u): "
				      "the later definition wins, as in nrpe",
				      d->c.name, d->c.file, d->c.lineno);
			config_free_command(&d->c);
			continue;
		}
		cfg->commands[n++] = d->c;
		memset(&d->c, 0, sizeof d->c);
	}
	cfg->ncommands = n;

	/* Probes are spawned without a PATH search: the program must be named
	 * in full (with a prefix, its program is the one that runs). */
	for (size_t i = 0; p->prefix == NULL && i < n; i++) {
		const struct command *c = &cfg->commands[i];
		if (c->argv->words[0][0] != '/') {
			config_fail_at(p, c->file, c->lineno,
				       "command[%s]: program '%.64s' is not an absolute path",
				       c->name, c->argv->words[0]);
			return -1;
		}
	}
	if (p->prefix != NULL) {
		for (size_t i = 0; i < n; i++) {
			struct command *c = &cfg->commands[i];
			struct argv_template *t;
			char why[256];
			if (argv_template_join(p->prefix, c->argv, &t, why, sizeof why) < 0) {
				config_fail_at(p, c->file, c->lineno, "command[%s]: %s", c->name,
					       why);
				return -1;
			}
			argv_template_free(c->argv);
			c->argv = t;
		}
	}
	return 0;
}

/* All digits: a numeric id, as nrpe accepts for nrpe_user/nrpe_group. */
static int config_numeric_id(const char *s, unsigned long long *id)
{
	return config_parse_uint(s, id) == 0 && *id < (unsigned long long)UINT32_MAX ? 0 : -1;
}

static int config_finish_probe_user(struct config_parser *p)
{
	struct agent_config *cfg = p->cfg;
	const char *ufile = p->user_file ? p->user_file : p->top;
	unsigned uline = p->user_file ? p->user_line : 0;
	const char *gfile = p->group_file, *ukey = p->user_file ? "nrpe_user" : "default nrpe_user";
	unsigned gline = p->group_line;
	struct passwd *pw;
	char *pw_name = NULL;
	unsigned long long id;
	int rc = -1;

	if (cfg->probe_user == NULL &&
	    config_set_string(p, &cfg->probe_user, CONFIG_DEFAULT_PROBE_USER) < 0)
		return -1;
	if (config_numeric_id(cfg->probe_user, &id) == 0) {
		cfg->probe_uid = (uid_t)id;
		pw = getpwuid(cfg->probe_uid);
	} else {
		pw = getpwnam(cfg->probe_user);
		if (pw == NULL) {
			config_fail_at(p, ufile, uline, "%s: unknown user '%.64s'", ukey,
				       cfg->probe_user);
			return -1;
		}
		cfg->probe_uid = pw->pw_uid;
	}
	if (cfg->probe_uid == 0) {
		config_fail_at(p, ufile, uline, "%s: '%.64s' is root: probes never run as root",
			       ukey, cfg->probe_user);
		return -1;
	}
	if (pw != NULL) {
		pw_name = strdup(pw->pw_name);
		if (pw_name == NULL) {
			config_fail_at(p, ufile, uline, "out of memory");
			return -1;
		}
		cfg->probe_gid = pw->pw_gid;
	}

	if (cfg->probe_group != NULL) {
		if (config_numeric_id(cfg->probe_group, &id) == 0) {
			cfg->probe_gid = (gid_t)id;
		} else {
			struct group *gr = getgrnam(cfg->probe_group);
			if (gr == NULL) {
				config_fail_at(p, gfile, gline, "nrpe_group: unknown group '%.64s'",
					       cfg->probe_group);
				goto out;
			}
			cfg->probe_gid = gr->gr_gid;
		}
	} else if (pw == NULL) {
		config_fail_at(p, ufile, uline,
			       "%s: uid %s has no passwd entry: set nrpe_group as well", ukey,
			       cfg->probe_user);
		goto out;
	} else {
		gfile = ufile;
		gline = uline;
	}
	if (cfg->probe_gid == 0) {
		config_fail_at(p, gfile, gline,
			       "nrpe_group: group 0 (root): probes never run with group root");
		goto out;
	}

	/* The supplementary groups initgroups() would give (nrpe calls it). */
	if (pw_name != NULL) {
		int ng = 32;
		for (;;) {
			gid_t *g = realloc(cfg->probe_groups, (size_t)ng * sizeof *g);
			int want = ng;
			if (g == NULL) {
				config_fail_at(p, ufile, uline, "out of memory");
				goto out;
			}
			cfg->probe_groups = g;
			if (getgrouplist(pw_name, cfg->probe_gid, g, &want) >= 0) {
				cfg->nprobe_groups = (size_t)want;
				break;
			}
			if (want <= ng || want > NGROUPS_MAX + 1) {
				config_fail_at(p, ufile, uline,
					       "%s: cannot list the groups of '%s'", ukey, pw_name);
				goto out;
			}
			ng = want;
		}
	} else {
		cfg->probe_groups = malloc(sizeof *cfg->probe_groups);
		if (cfg->probe_groups == NULL) {
			config_fail_at(p, ufile, uline, "out of memory");
			goto out;
		}
		cfg->probe_groups[0] = cfg->probe_gid;
		cfg->nprobe_groups = 1;
	}
	rc = 0;
out:
	free(pw_name);
	return rc;
}

static int config_finish(struct config_parser *p)
{
	struct agent_config *cfg = p->cfg;
	char why[192];

	if (config_finish_commands(p) < 0)
		return -1;
	if (cfg->arg_allowlist == NULL &&
	    config_set_string(p, &cfg->arg_allowlist, CONFIG_DEFAULT_ARG_ALLOWLIST) < 0)
		return -1;
	if (argv_allowlist_compile(&cfg->arg_allowlist_re, cfg->arg_allowlist, why, sizeof why) <
	    0) {
		config_fail_at(p, p->top, 0, "arg_allowlist: %s", why);
		return -1;
	}
	cfg->allowlist_compiled = 1;
	cfg->arg_policy.allowlist = &cfg->arg_allowlist_re;
	cfg->arg_policy.max_len = cfg->arg_max_length;
	if (cfg->channel == NULL && config_set_string(p, &cfg->channel, CONFIG_DEFAULT_CHANNEL) < 0)
		return -1;
	if (cfg->debug)
		cfg->log_level = LOG_LVL_DEBUG;
	if (config_finish_probe_user(p) < 0)
		return -1;
	if (p->nsuppressed > 0) {
		size_t n = p->nsuppressed;
		p->finishing = 1;
		config_notice(p, p->top, 0, "%zu more notices not shown", n);
	}
	return 0;
}

/* ------------------------------------------------------------ public */

static void config_defaults(struct agent_config *cfg)
{
	cfg->command_timeout = CONFIG_DEFAULT_COMMAND_TIMEOUT;
	cfg->connection_timeout = CONFIG_DEFAULT_CONNECTION_TIMEOUT;
	cfg->max_concurrent = CONFIG_DEFAULT_MAX_CONCURRENT;
	cfg->max_queue = CONFIG_DEFAULT_MAX_QUEUE;
	cfg->output_cap = CONFIG_DEFAULT_OUTPUT_CAP;
	cfg->arg_max_length = CONFIG_DEFAULT_ARG_MAX_LENGTH;
	cfg->arg_policy.allow_args = 0;
	cfg->log_facility = LOG_DAEMON;
	cfg->log_level = LOG_LVL_INFO;
	cfg->publish_other_nics = 1;
	cfg->publish_max_nodes = CONFIG_DEFAULT_PUBLISH_MAX_NODES;
}

void config_free(struct agent_config *cfg)
{
	if (cfg == NULL)
		return;
	for (size_t i = 0; i < cfg->ncommands; i++)
		config_free_command(&cfg->commands[i]);
	free(cfg->commands);
	free(cfg->arg_allowlist);
	if (cfg->allowlist_compiled)
		regfree(&cfg->arg_allowlist_re);
	free(cfg->probe_user);
	free(cfg->probe_group);
	free(cfg->probe_groups);
	free(cfg->command_prefix);
	config_free_env(cfg);
	free(cfg->channel);
	free(cfg->pid_file);
	free(cfg->log_file);
	free(cfg->os_release_file);
	free(cfg->sysfs_net_dir);
	for (size_t i = 0; i < cfg->nnotices; i++)
		free(cfg->notices[i]);
	free(cfg->notices);
	for (size_t i = 0; i < cfg->nfiles; i++)
		free(cfg->files[i]);
	free(cfg->files);
	free(cfg);
}

static int config_run(struct config_parser *p, const char *top, const char *buf, size_t len)
{
	int rc;

	p->cfg = calloc(1, sizeof *p->cfg);
	if (p->cfg == NULL) {
		config_fail_at(p, top, 0, "out of memory");
		return -1;
	}
	config_defaults(p->cfg);
	p->top = top;
	p->file = top;
	p->line = 0;
	if (buf == NULL) {
		rc = config_read_file(p, top);
	} else {
		const char *name = config_add_file(p, top);
		rc = name != NULL ? config_parse_text(p, name, buf, len) : -1;
	}
	if (rc == 0)
		rc = config_finish(p);

	for (size_t i = 0; i < p->ndefs; i++)
		config_free_command(&p->defs[i].c);
	free(p->defs);
	argv_template_free(p->prefix);
	if (rc < 0) {
		config_free(p->cfg);
		p->cfg = NULL;
	}
	return rc;
}

int config_parse_buffer(const char *name, const char *buf, size_t len, unsigned flags,
			struct agent_config **out, char *err, size_t errlen)
{
	struct config_parser p = {.flags = flags, .err = err, .errlen = errlen};

	if (config_run(&p, name, buf, len) < 0)
		return -1;
	*out = p.cfg;
	return 0;
}

int config_load(const char *path, struct agent_config **out, char *err, size_t errlen)
{
	struct config_parser p = {.err = err, .errlen = errlen};

	if (config_run(&p, path, NULL, 0) < 0)
		return -1;
	*out = p.cfg;
	return 0;
}

static int config_command_key(const void *key, const void *elem)
{
	return strcmp(key, ((const struct command *)elem)->name);
}

const struct command *config_command(const struct agent_config *cfg, const char *name)
{
	if (cfg->ncommands == 0)
		return NULL;
	return bsearch(name, cfg->commands, cfg->ncommands, sizeof *cfg->commands,
		       config_command_key);
}
