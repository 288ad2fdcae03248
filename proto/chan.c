/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * chan.c - the public channel API: argument and path checks, dispatch to the
 * transport, and the one state machine both transports share.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "chan_int.h"
#include "xverr.h"

#define CHAN_SPEC_VCHAN "vchan"
#define CHAN_SPEC_SOCKET "socket:"

static int chan_domid_valid(int domid)
{
	return domid >= 0 && domid <= CHAN_DOMID_MAX;
}

static void chan_set_err(int *err, int code)
{
	if (err)
		*err = code;
}

int chan_spec_parse(const char *s, struct chan_spec *out)
{
	struct stat st;
	const char *dir;
	size_t len;

	if (!s || !out)
		return XV_EINVAL;
	memset(out, 0, sizeof *out);
	if (strcmp(s, CHAN_SPEC_VCHAN) == 0) {
		out->kind = CHAN_VCHAN;
		return 0;
	}
	if (strncmp(s, CHAN_SPEC_SOCKET, strlen(CHAN_SPEC_SOCKET)) != 0)
		return XV_ESPEC;
	dir = s + strlen(CHAN_SPEC_SOCKET);
	len = strlen(dir);
	if (len == 0 || len > CHAN_SOCKET_DIR_MAX)
		return XV_ESPEC;
	if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
		return XV_ESPEC;
	out->kind = CHAN_SOCKET;
	memcpy(out->dir, dir, len + 1);
	return 0;
}

int chan_spec_format(const struct chan_spec *spec, char *buf, size_t size)
{
	int n;

	if (!spec || !buf || size == 0)
		return XV_EINVAL;
	switch (spec->kind) {
	case CHAN_VCHAN:
		n = snprintf(buf, size, "%s", CHAN_SPEC_VCHAN);
		break;
	case CHAN_SOCKET:
		n = snprintf(buf, size, "%s%s", CHAN_SPEC_SOCKET, spec->dir);
		break;
	default:
		buf[0] = '\0';
		return XV_EINVAL;
	}
	if (n < 0)
		return XV_EINVAL;
	if ((size_t)n >= size)
		return XV_E2BIG;
	return n;
}

const char *chan_state_name(int state)
{
	switch (state) {
	case CHAN_WAITING:
		return "waiting";
	case CHAN_OPEN:
		return "open";
	case CHAN_CLOSED:
		return "closed";
	}
	return "invalid";
}

/* Xenstore's path alphabet, so that a path valid here is valid on Xen; it has
 * no '.', which keeps the socket file name mapping ('/' -> '.') one-to-one. */
static int chan_path_char(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
	       ch == '_' || ch == '-' || ch == '@';
}

/* A relative path: '/'-separated, non-empty parts of chan_path_char()s, at
 * most CHAN_XS_PATH_MAX characters.  0, XV_EINVAL or XV_E2BIG. */
int chan_path_check(const char *path)
{
	char prev = '/'; /* so that a leading '/' is an empty part */
	size_t n;

	for (n = 0; path[n] != '\0'; n++) {
		if (n >= CHAN_XS_PATH_MAX)
			return XV_E2BIG;
		if (path[n] == '/') {
			if (prev == '/')
				return XV_EINVAL;
		} else if (!chan_path_char(path[n])) {
			return XV_EINVAL;
		}
		prev = path[n];
	}
	if (n == 0 || prev == '/')
		return XV_EINVAL;
	return 0;
}

/* *rel = path relative to domid's home: path itself, or what follows
 * "/local/domain/<domid>/" in an absolute path.  0, XV_EINVAL or XV_E2BIG. */
int chan_path_relative(int domid, const char *path, const char **rel)
{
	char home[sizeof CHAN_XS_HOME_FMT + 16];
	int n;

	if (path[0] == '/') {
		n = snprintf(home, sizeof home, CHAN_XS_HOME_FMT, domid);
		if (n < 0 || (size_t)n >= sizeof home || strncmp(path, home, (size_t)n) != 0)
			return XV_EINVAL;
		path += n;
	}
	*rel = path;
	return chan_path_check(path);
}

/* buf = "/local/domain/<domid>/<rel>", which libxenvchan's client needs to
 * fit in CHAN_XS_PATH_MAX.  Returns its length, XV_E2BIG or XV_EINVAL. */
int chan_path_absolute(int domid, const char *rel, char *buf, size_t size)
{
	int n = snprintf(buf, size, CHAN_XS_HOME_FMT "%s", domid, rel);

	if (n < 0)
		return XV_EINVAL;
	if ((size_t)n >= size || n > CHAN_XS_PATH_MAX)
		return XV_E2BIG;
	return n;
}

static int chan_raw_state(const struct chan *c)
{
	return c->kind == CHAN_VCHAN ? chan_vchan_state(c) : chan_socket_state(c);
}

struct chan *chan_server(const struct chan_spec *spec, int my_domid, int peer_domid,
			 const char *path, size_t read_min, size_t write_min, int *err)
{
	char abs_path[CHAN_XS_PATH_MAX + 1];
	struct chan *c = NULL;
	int e = XV_EINVAL;

	if (!spec || !path || !chan_domid_valid(my_domid) || !chan_domid_valid(peer_domid))
		goto fail;
	if (read_min > CHAN_RING_MAX || write_min > CHAN_RING_MAX)
		goto fail;
	if (path[0] == '/')
		goto fail; /* a server always lives in its own home */
	if ((e = chan_path_check(path)) < 0)
		goto fail;
	/* the client will need the absolute form to fit as well */
	if ((e = chan_path_absolute(my_domid, path, abs_path, sizeof abs_path)) < 0)
		goto fail;
	read_min = read_min ? read_min : CHAN_RING_DEFAULT;
	write_min = write_min ? write_min : CHAN_RING_DEFAULT;

	e = XV_EINVAL;
	switch (spec->kind) {
	case CHAN_VCHAN:
		c = chan_vchan_server(spec, peer_domid, path, read_min, write_min, &e);
		break;
	case CHAN_SOCKET:
		c = chan_socket_server(spec, my_domid, path, &e);
		break;
	}
	if (!c)
		goto fail;
	c->kind = spec->kind;
	c->server = 1;
	c->state = CHAN_WAITING;
	chan_set_err(err, 0);
	return c;
fail:
	chan_set_err(err, e);
	return NULL;
}

struct chan *chan_client(const struct chan_spec *spec, int server_domid, const char *path, int *err)
{
	char abs_path[CHAN_XS_PATH_MAX + 1];
	const char *rel;
	struct chan *c = NULL;
	int e = XV_EINVAL;

	if (!spec || !path || !chan_domid_valid(server_domid))
		goto fail;
	if ((e = chan_path_relative(server_domid, path, &rel)) < 0)
		goto fail;
	if ((e = chan_path_absolute(server_domid, rel, abs_path, sizeof abs_path)) < 0)
		goto fail;

	e = XV_EINVAL;
	switch (spec->kind) {
	case CHAN_VCHAN:
		c = chan_vchan_client(spec, server_domid, abs_path, &e);
		break;
	case CHAN_SOCKET:
		c = chan_socket_client(spec, server_domid, rel, &e);
		break;
	}
	if (!c)
		goto fail;
	c->kind = spec->kind;
	c->server = 0;
	c->state = CHAN_OPEN;
	chan_set_err(err, 0);
	return c;
fail:
	chan_set_err(err, e);
	return NULL;
}

int chan_fd(const struct chan *c)
{
	if (!c)
		return XV_EINVAL;
	return c->kind == CHAN_VCHAN ? chan_vchan_fd(c) : chan_socket_fd(c);
}

int chan_state(const struct chan *c)
{
	int raw;

	if (!c)
		return XV_EINVAL;
	if (c->state == CHAN_CLOSED)
		return CHAN_CLOSED;
	raw = chan_raw_state(c);
	/* a peer that drops back to "waiting" after it was open has broken
	 * the protocol: treat it as gone rather than guess */
	if (c->state == CHAN_OPEN && raw == CHAN_WAITING)
		return CHAN_CLOSED;
	return raw;
}

/* Records the current state; returns it. */
static int chan_update(struct chan *c)
{
	c->state = chan_state(c);
	return c->state;
}

int chan_wait(struct chan *c)
{
	int r;
	if (!c)
		return XV_EINVAL;
	int saved;

	r = c->kind == CHAN_VCHAN ? chan_vchan_wait(c) : chan_socket_wait(c);
	saved = errno;
	chan_update(c);
	errno = saved; /* why chan_wait failed, not what the update did */
	return r;
}

ssize_t chan_read(struct chan *c, void *buf, size_t size)
{
	ssize_t r;
	int st;

	if (!c || !buf || size == 0)
		return XV_EINVAL;
	if (size > CHAN_IO_MAX)
		size = CHAN_IO_MAX;
	/* the state is taken before reading: a peer that closed after the read
	 * found nothing may have sent more first */
	st = chan_update(c);
	if (st == CHAN_WAITING)
		return XV_ESTATE;
	r = c->kind == CHAN_VCHAN ? chan_vchan_read(c, buf, size) : chan_socket_read(c, buf, size);
	if (r == 0 && st == CHAN_CLOSED)
		r = XV_ECLOSED;
	if (r == XV_ECLOSED)
		c->state = CHAN_CLOSED;
	return r;
}

ssize_t chan_write(struct chan *c, const void *buf, size_t size)
{
	ssize_t r;
	int st;

	if (!c || !buf || size == 0)
		return XV_EINVAL;
	if (size > CHAN_IO_MAX)
		size = CHAN_IO_MAX;
	st = chan_update(c);
	if (st == CHAN_WAITING)
		return XV_ESTATE;
	if (st == CHAN_CLOSED)
		return XV_ECLOSED;
	r = c->kind == CHAN_VCHAN ? chan_vchan_write(c, buf, size)
				  : chan_socket_write(c, buf, size);
	if (r == XV_ECLOSED)
		c->state = CHAN_CLOSED;
	return r;
}

void chan_close(struct chan *c)
{
	int saved = errno;

	if (!c)
		return;
	if (c->kind == CHAN_VCHAN)
		chan_vchan_close(c);
	else
		chan_socket_close(c);
	errno = saved;
}
