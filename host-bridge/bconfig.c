/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * bconfig.c - xenvchan-bridge's configuration file (see bconfig.h).
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "bconfig.h"
#include "chan.h"
#include "xvp.h"

struct bconfig_parser {
	struct bridge_config *cfg;
	const char *file;
	unsigned line;
	char *err;
	size_t errlen;
};

static int bconfig_fail(struct bconfig_parser *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int bconfig_fail(struct bconfig_parser *p, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (p->err == NULL || p->errlen == 0)
		return -1;
	if (p->file == NULL)
		n = 0;
	else if (p->line > 0)
		n = snprintf(p->err, p->errlen, "%s:%u: ", p->file, p->line);
	else
		n = snprintf(p->err, p->errlen, "%s: ", p->file);
	if (n < 0 || (size_t)n >= p->errlen)
		return -1;
	va_start(ap, fmt);
	vsnprintf(p->err + n, p->errlen - (size_t)n, fmt, ap);
	va_end(ap);
	return -1;
}

/* ------------------------------------------------------------ values */

/* Decimal digits only, at most 10. */
static int bconfig_uint(const char *s, unsigned long long *out)
{
	unsigned long long v = 0;
	size_t n;

	for (n = 0; s[n] != '\0'; n++) {
		if (s[n] < '0' || s[n] > '9' || n >= 10)
			return -1;
		v = v * 10 + (unsigned long long)(s[n] - '0');
	}
	if (n == 0)
		return -1;
	*out = v;
	return 0;
}

/* Seconds: digits, optionally '.' and 1-6 more digits. */
static int bconfig_seconds(const char *s, double *out)
{
	unsigned long long whole = 0, frac = 0, scale = 1;
	size_t i = 0, d = 0;

	for (; s[i] >= '0' && s[i] <= '9'; i++, d++) {
		if (d >= 9)
			return -1;
		whole = whole * 10 + (unsigned long long)(s[i] - '0');
	}
	if (d == 0)
		return -1;
	if (s[i] == '.') {
		size_t f = 0;
		for (i++; s[i] >= '0' && s[i] <= '9'; i++, f++) {
			if (f >= 6)
				return -1;
			frac = frac * 10 + (unsigned long long)(s[i] - '0');
			scale *= 10;
		}
		if (f == 0)
			return -1;
	}
	if (s[i] != '\0')
		return -1;
	*out = (double)whole + (double)frac / (double)scale;
	return 0;
}

static int bconfig_strdup(struct bconfig_parser *p, char **field, const char *value)
{
	char *s = strdup(value);

	if (s == NULL)
		return bconfig_fail(p, "out of memory");
	free(*field);
	*field = s;
	return 0;
}

static int bconfig_uid(const char *name, uid_t *out)
{
	unsigned long long v;
	struct passwd *pw;

	if (bconfig_uint(name, &v) == 0) {
		if (v >= (unsigned long long)(uid_t)-1)
			return -1;
		*out = (uid_t)v;
		return 0;
	}
	pw = getpwnam(name);
	if (pw == NULL)
		return -1;
	*out = pw->pw_uid;
	return 0;
}

static int bconfig_gid(const char *name, gid_t *out)
{
	unsigned long long v;
	struct group *gr;

	if (bconfig_uint(name, &v) == 0) {
		if (v >= (unsigned long long)(gid_t)-1)
			return -1;
		*out = (gid_t)v;
		return 0;
	}
	gr = getgrnam(name);
	if (gr == NULL)
		return -1;
	*out = gr->gr_gid;
	return 0;
}

static int bconfig_facility(const char *name)
{
	static const struct {
		const char *name;
		int facility;
	} tab[] = {
	    {"daemon", LOG_DAEMON},	{"user", LOG_USER},	{"auth", LOG_AUTH},
	    {"authpriv", LOG_AUTHPRIV}, {"local0", LOG_LOCAL0}, {"local1", LOG_LOCAL1},
	    {"local2", LOG_LOCAL2},	{"local3", LOG_LOCAL3}, {"local4", LOG_LOCAL4},
	    {"local5", LOG_LOCAL5},	{"local6", LOG_LOCAL6}, {"local7", LOG_LOCAL7},
	};

	for (size_t i = 0; i < sizeof tab / sizeof tab[0]; i++)
		if (strcmp(name, tab[i].name) == 0)
			return tab[i].facility;
	return -1;
}

/* ------------------------------------------------------------ keys */

enum bconfig_kind {
	BK_UINT,    /* unsigned, min..max */
	BK_BOOL,    /* int, 0 or 1 */
	BK_SECONDS, /* double, [min, max] seconds (min in thousandths) */
	BK_PATH,    /* char *, absolute path */
	BK_FUNC,
};

struct bconfig_key {
	const char *name;
	enum bconfig_kind kind;
	size_t off;
	unsigned long min, max;
	int (*fn)(struct bconfig_parser *p, const char *value);
};

static int bconfig_channel(struct bconfig_parser *p, const char *value)
{
	if (strcmp(value, "vchan") != 0 && (strncmp(value, "socket:", 7) != 0 || value[7] != '/'))
		return bconfig_fail(p, "channel: expected 'vchan' or 'socket:DIR' with DIR an "
				       "absolute path");
	if (strlen(value) - (value[0] == 's' ? 7 : 0) > CHAN_SOCKET_DIR_MAX)
		return bconfig_fail(p, "channel: directory longer than %d bytes",
				    CHAN_SOCKET_DIR_MAX);
	return bconfig_strdup(p, &p->cfg->channel, value);
}

static int bconfig_socket_path(struct bconfig_parser *p, const char *value)
{
	if (value[0] != '/')
		return bconfig_fail(p, "socket_path: '%.64s' is not an absolute path", value);
	/* sockaddr_un.sun_path holds 108 bytes with the NUL */
	if (strlen(value) > 107)
		return bconfig_fail(p, "socket_path: longer than 107 bytes");
	return bconfig_strdup(p, &p->cfg->socket_path, value);
}

static int bconfig_socket_mode(struct bconfig_parser *p, const char *value)
{
	unsigned v = 0;
	size_t i;

	for (i = 0; value[i] != '\0'; i++) {
		if (value[i] < '0' || value[i] > '7' || i >= 4)
			return bconfig_fail(p,
					    "socket_mode: '%.16s' is not an octal mode such as "
					    "0660",
					    value);
		v = v * 8 + (unsigned)(value[i] - '0');
	}
	if (v > 0777)
		return bconfig_fail(p, "socket_mode: %04o has bits beyond 0777", v);
	p->cfg->socket_mode = v;
	return 0;
}

static int bconfig_socket_group(struct bconfig_parser *p, const char *value)
{
	gid_t g;

	if (bconfig_gid(value, &g) < 0)
		return bconfig_fail(p, "socket_group: no group '%.64s'", value);
	p->cfg->socket_gid = g;
	return 0;
}

/* "name, 1001, ..." -> ids; users (uids) or groups. */
static int bconfig_idlist(struct bconfig_parser *p, const char *key, const char *value, int users,
			  void **out, size_t *nout)
{
	size_t size = users ? sizeof(uid_t) : sizeof(gid_t);
	char *copy = strdup(value), *save = NULL, *tok;
	unsigned char *ids = calloc(BCONFIG_LIST_MAX, size);
	size_t n = 0;

	if (copy == NULL || ids == NULL) {
		free(copy);
		free(ids);
		return bconfig_fail(p, "out of memory");
	}
	for (tok = strtok_r(copy, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
		char *e;
		int ok;

		while (isspace((unsigned char)*tok))
			tok++;
		e = tok + strlen(tok);
		while (e > tok && isspace((unsigned char)e[-1]))
			*--e = '\0';
		if (*tok == '\0')
			continue;
		if (n >= BCONFIG_LIST_MAX) {
			free(copy);
			free(ids);
			return bconfig_fail(p, "%s: more than %d entries", key, BCONFIG_LIST_MAX);
		}
		if (users) {
			uid_t u;
			ok = bconfig_uid(tok, &u) == 0;
			if (ok)
				memcpy(ids + n * size, &u, size);
		} else {
			gid_t g;
			ok = bconfig_gid(tok, &g) == 0;
			if (ok)
				memcpy(ids + n * size, &g, size);
		}
		if (!ok) {
			bconfig_fail(p, "%s: no %s '%.64s'", key, users ? "user" : "group", tok);
			free(copy);
			free(ids);
			return -1;
		}
		n++;
	}
	free(copy);
	free(*out);
	*out = ids;
	*nout = n;
	return 0;
}

static int bconfig_allowed_uids(struct bconfig_parser *p, const char *value)
{
	return bconfig_idlist(p, "allowed_uids", value, 1, (void **)&p->cfg->allowed_uids,
			      &p->cfg->nallowed_uids);
}

static int bconfig_allowed_gids(struct bconfig_parser *p, const char *value)
{
	return bconfig_idlist(p, "allowed_gids", value, 0, (void **)&p->cfg->allowed_gids,
			      &p->cfg->nallowed_gids);
}

static int bconfig_log_level(struct bconfig_parser *p, const char *value)
{
	int l = log_level_parse(value);

	if (l < 0)
		return bconfig_fail(p, "log_level: '%.64s' is not one of err, warn, info, debug",
				    value);
	p->cfg->log_level = (enum log_level)l;
	return 0;
}

static int bconfig_log_facility(struct bconfig_parser *p, const char *value)
{
	int f = bconfig_facility(value);

	if (f < 0)
		return bconfig_fail(p,
				    "log_facility: unknown facility '%.64s' (daemon, user, "
				    "auth, authpriv, local0..local7)",
				    value);
	p->cfg->log_facility = f;
	return 0;
}

static int bconfig_nrpe_address(struct bconfig_parser *p, const char *value)
{
	unsigned char buf[16];

	if (inet_pton(AF_INET, value, buf) != 1 && inet_pton(AF_INET6, value, buf) != 1)
		return bconfig_fail(p,
				    "nrpe_address: '%.64s' is not a numeric IPv4 or IPv6 "
				    "address",
				    value);
	return bconfig_strdup(p, &p->cfg->nrpe_address, value);
}

static int bconfig_nrpe_allowed_hosts(struct bconfig_parser *p, const char *value)
{
	for (const char *c = value; *c != '\0'; c++)
		if (!isxdigit((unsigned char)*c) && strchr(".:/, ", *c) == NULL)
			return bconfig_fail(p, "nrpe_allowed_hosts: expected a comma-separated "
					       "list of numeric addresses and CIDR ranges");
	return bconfig_strdup(p, &p->cfg->nrpe_allowed_hosts, value);
}

#define BOFF(field) offsetof(struct bridge_config, field)

static const struct bconfig_key bconfig_keys[] = {
    {"channel", BK_FUNC, 0, 0, 0, bconfig_channel},
    {"socket_path", BK_FUNC, 0, 0, 0, bconfig_socket_path},
    {"socket_mode", BK_FUNC, 0, 0, 0, bconfig_socket_mode},
    {"socket_group", BK_FUNC, 0, 0, 0, bconfig_socket_group},
    {"allowed_uids", BK_FUNC, 0, 0, 0, bconfig_allowed_uids},
    {"allowed_gids", BK_FUNC, 0, 0, 0, bconfig_allowed_gids},
    {"socket_timeout", BK_SECONDS, BOFF(socket_timeout), 100, 86400, NULL},
    {"socket_max_clients", BK_UINT, BOFF(socket_max_clients), 1, 65536, NULL},
    {"max_inflight_per_guest", BK_UINT, BOFF(max_inflight_per_guest), 1, 1024, NULL},
    {"max_queue_per_guest", BK_UINT, BOFF(max_queue_per_guest), 0, 4096, NULL},
    {"max_response", BK_UINT, BOFF(max_response), 1024, XVP_MAX_BUFFER, NULL},
    {"request_timeout", BK_SECONDS, BOFF(request_timeout), 100, 86400, NULL},
    {"reconnect_min", BK_SECONDS, BOFF(reconnect_min), 10, 3600, NULL},
    {"reconnect_max", BK_SECONDS, BOFF(reconnect_max), 10, 3600, NULL},
    {"max_guests", BK_UINT, BOFF(max_guests), 1, CHAN_DOMID_MAX, NULL},
    {"log_level", BK_FUNC, 0, 0, 0, bconfig_log_level},
    {"log_facility", BK_FUNC, 0, 0, 0, bconfig_log_facility},
    {"pid_file", BK_PATH, BOFF(pid_file), 0, 0, NULL},
    {"nrpe_listen", BK_BOOL, BOFF(nrpe_listen), 0, 1, NULL},
    {"nrpe_address", BK_FUNC, 0, 0, 0, bconfig_nrpe_address},
    {"nrpe_port", BK_UINT, BOFF(nrpe_port), 1, 65535, NULL},
    {"nrpe_tls", BK_BOOL, BOFF(nrpe_tls), 0, 1, NULL},
    {"nrpe_cert_file", BK_PATH, BOFF(nrpe_cert_file), 0, 0, NULL},
    {"nrpe_key_file", BK_PATH, BOFF(nrpe_key_file), 0, 0, NULL},
    {"nrpe_ca_file", BK_PATH, BOFF(nrpe_ca_file), 0, 0, NULL},
    {"nrpe_require_client_cert", BK_BOOL, BOFF(nrpe_require_client_cert), 0, 1, NULL},
    {"nrpe_allow_anonymous_tls", BK_BOOL, BOFF(nrpe_allow_anonymous_tls), 0, 1, NULL},
    {"nrpe_allowed_hosts", BK_FUNC, 0, 0, 0, bconfig_nrpe_allowed_hosts},
    {"nrpe_timeout", BK_SECONDS, BOFF(nrpe_timeout), 100, 86400, NULL},
    {"nrpe_max_clients", BK_UINT, BOFF(nrpe_max_clients), 1, 65536, NULL},
};

static int bconfig_apply(struct bconfig_parser *p, const char *key, const char *value)
{
	const struct bconfig_key *k = NULL;
	char *base = (char *)p->cfg;
	unsigned long long v;
	double d;

	for (size_t i = 0; i < sizeof bconfig_keys / sizeof bconfig_keys[0]; i++)
		if (strcmp(key, bconfig_keys[i].name) == 0)
			k = &bconfig_keys[i];
	if (k == NULL)
		return bconfig_fail(p, "unknown key '%.64s'", key);
	switch (k->kind) {
	case BK_FUNC:
		return k->fn(p, value);
	case BK_UINT:
		if (bconfig_uint(value, &v) < 0)
			return bconfig_fail(p, "%s: '%.64s' is not a number", k->name, value);
		if (v < k->min || v > k->max)
			return bconfig_fail(p, "%s: %llu is out of range %lu..%lu", k->name, v,
					    k->min, k->max);
		*(unsigned *)(base + k->off) = (unsigned)v;
		return 0;
	case BK_BOOL:
		if (strcmp(value, "0") != 0 && strcmp(value, "1") != 0)
			return bconfig_fail(p, "%s: '%.64s' is not 0 or 1", k->name, value);
		*(int *)(base + k->off) = value[0] == '1';
		return 0;
	case BK_SECONDS:
		if (bconfig_seconds(value, &d) < 0)
			return bconfig_fail(p, "%s: '%.64s' is not a number of seconds", k->name,
					    value);
		if (d * 1000 < (double)k->min - 1e-6 || d > (double)k->max)
			return bconfig_fail(p, "%s: %g is out of range %g..%lu seconds", k->name, d,
					    (double)k->min / 1000, k->max);
		*(double *)(base + k->off) = d;
		return 0;
	case BK_PATH:
		if (value[0] != '/')
			return bconfig_fail(p, "%s: '%.64s' is not an absolute path", k->name,
					    value);
		return bconfig_strdup(p, (char **)(base + k->off), value);
	}
	return -1;
}

/* Rules across keys, checked once everything is read. */
static int bconfig_check(struct bconfig_parser *p)
{
	const struct bridge_config *c = p->cfg;

	p->line = 0;
	if (c->reconnect_min > c->reconnect_max)
		return bconfig_fail(p, "reconnect_min (%g) is larger than reconnect_max (%g)",
				    c->reconnect_min, c->reconnect_max);
	if (!c->nrpe_listen)
		return 0;
	if ((c->nrpe_cert_file == NULL) != (c->nrpe_key_file == NULL))
		return bconfig_fail(p, "nrpe_cert_file and nrpe_key_file go together");
	if (c->nrpe_tls && c->nrpe_cert_file == NULL && !c->nrpe_allow_anonymous_tls)
		return bconfig_fail(p, "nrpe_tls=1 needs nrpe_cert_file and nrpe_key_file, or "
				       "nrpe_allow_anonymous_tls=1 (check_nrpe's default, "
				       "unauthenticated)");
	if (c->nrpe_require_client_cert && (!c->nrpe_tls || c->nrpe_ca_file == NULL))
		return bconfig_fail(p, "nrpe_require_client_cert=1 needs nrpe_tls=1 and "
				       "nrpe_ca_file");
	/* anonymous suites carry no client certificate */
	if (c->nrpe_require_client_cert && c->nrpe_allow_anonymous_tls)
		return bconfig_fail(p, "nrpe_require_client_cert=1 and "
				       "nrpe_allow_anonymous_tls=1 exclude each other");
	if (c->nrpe_allow_anonymous_tls && !c->nrpe_tls)
		return bconfig_fail(p, "nrpe_allow_anonymous_tls=1 needs nrpe_tls=1");
	return 0;
}

struct bridge_config *bconfig_defaults(void)
{
	struct bridge_config *c = calloc(1, sizeof *c);

	if (c == NULL)
		return NULL;
	c->channel = strdup("vchan");
	c->socket_path = strdup("/run/xenvchan/bridge.sock");
	c->nrpe_address = strdup("127.0.0.1");
	if (c->channel == NULL || c->socket_path == NULL || c->nrpe_address == NULL) {
		bconfig_free(c);
		return NULL;
	}
	c->socket_mode = 0660;
	c->socket_gid = (gid_t)-1;
	c->socket_timeout = 30;
	c->socket_max_clients = 256;
	c->max_inflight_per_guest = 16;
	c->max_queue_per_guest = 64;
	c->max_response = XVP_MAX_BUFFER;
	c->request_timeout = 60;
	c->reconnect_min = 0.2;
	c->reconnect_max = 30;
	c->max_guests = 4096;
	c->log_level = LOG_LVL_INFO;
	c->log_facility = LOG_DAEMON;
	c->nrpe_listen = 0;
	c->nrpe_port = 5666;
	c->nrpe_tls = 1;
	c->nrpe_timeout = 10;
	c->nrpe_max_clients = 64;
	return c;
}

void bconfig_free(struct bridge_config *c)
{
	if (c == NULL)
		return;
	free(c->channel);
	free(c->socket_path);
	free(c->allowed_uids);
	free(c->allowed_gids);
	free(c->pid_file);
	free(c->nrpe_address);
	free(c->nrpe_cert_file);
	free(c->nrpe_key_file);
	free(c->nrpe_ca_file);
	free(c->nrpe_allowed_hosts);
	free(c);
}

static int bconfig_line(struct bconfig_parser *p, char *line)
{
	size_t s = 0, e = strlen(line);
	char *eq, *key, *value;

	while (s < e && isspace((unsigned char)line[s]))
		s++;
	while (e > s && isspace((unsigned char)line[e - 1]))
		e--;
	line[e] = '\0';
	if (s == e || line[s] == '#')
		return 0;
	key = line + s;
	eq = strchr(key, '=');
	if (eq == NULL)
		return bconfig_fail(p, "expected key=value");
	value = eq + 1;
	while (eq > key && isspace((unsigned char)eq[-1]))
		eq--;
	*eq = '\0';
	if (*key == '\0')
		return bconfig_fail(p, "missing key before '='");
	while (isspace((unsigned char)*value))
		value++;
	if (*value == '\0')
		return bconfig_fail(p, "'%.64s' has no value", key);
	return bconfig_apply(p, key, value);
}

int bconfig_parse_buffer(const char *name, const char *buf, size_t len, struct bridge_config **out,
			 char *err, size_t errlen)
{
	struct bconfig_parser p = {.file = name, .err = err, .errlen = errlen};
	const char *pos = buf, *end = buf + len;
	char *line;

	p.cfg = bconfig_defaults();
	line = malloc(BCONFIG_LINE_MAX + 1);
	if (p.cfg == NULL || line == NULL) {
		free(line);
		bconfig_free(p.cfg);
		return bconfig_fail(&p, "out of memory");
	}
	while (pos < end) {
		const char *nl = memchr(pos, '\n', (size_t)(end - pos));
		size_t n = nl != NULL ? (size_t)(nl - pos) : (size_t)(end - pos);

		p.line++;
		if (n > BCONFIG_LINE_MAX) {
			bconfig_fail(&p, "line longer than %d bytes", BCONFIG_LINE_MAX);
			goto fail;
		}
		if (memchr(pos, '\0', n) != NULL) {
			bconfig_fail(&p, "NUL byte in line");
			goto fail;
		}
		memcpy(line, pos, n);
		line[n] = '\0';
		pos = nl != NULL ? nl + 1 : end;
		if (bconfig_line(&p, line) < 0)
			goto fail;
	}
	if (bconfig_check(&p) < 0)
		goto fail;
	free(line);
	*out = p.cfg;
	return 0;
fail:
	free(line);
	bconfig_free(p.cfg);
	return -1;
}

int bconfig_load(const char *path, struct bridge_config **out, char *err, size_t errlen)
{
	struct bconfig_parser p = {.file = path, .err = err, .errlen = errlen};
	char *buf;
	size_t len = 0;
	struct stat st;
	int fd, rc;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return bconfig_fail(&p, "cannot open: %s", strerror(errno));
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return bconfig_fail(&p, "not a regular file");
	}
	buf = malloc(BCONFIG_FILE_MAX + 1);
	if (buf == NULL) {
		close(fd);
		return bconfig_fail(&p, "out of memory");
	}
	while (len <= BCONFIG_FILE_MAX) {
		ssize_t n = read(fd, buf + len, BCONFIG_FILE_MAX + 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			free(buf);
			close(fd);
			return bconfig_fail(&p, "cannot read: %s", strerror(errno));
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	if (len > BCONFIG_FILE_MAX) {
		free(buf);
		return bconfig_fail(&p, "larger than %d bytes", BCONFIG_FILE_MAX);
	}
	rc = bconfig_parse_buffer(path, buf, len, out, err, errlen);
	free(buf);
	return rc;
}

int bconfig_set(struct bridge_config *cfg, const char *key, const char *value, char *err,
		size_t errlen)
{
	struct bconfig_parser p = {.cfg = cfg, .err = err, .errlen = errlen};

	if (bconfig_apply(&p, key, value) < 0)
		return -1;
	return bconfig_check(&p);
}
