/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * chan_vchan.c - the "vchan" transport: libxenvchan in non-blocking
 * streaming mode.
 *
 * Only libxenvchan_read/libxenvchan_write are used: recv/send are
 * all-or-nothing and fail for anything larger than the ring.  Both arm the
 * event-channel notification whenever they could not move everything that
 * was asked for, which is what lets the caller sleep on chan_fd().
 */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stddef.h>
#include <stdlib.h>
#include <unistd.h>

#include <libxenvchan.h>
#include <xentoollog.h>
#include <xenstore.h>

#include "chan_int.h"
#include "xverr.h"

/* Devices each side needs (Linux): the server shares pages, the client maps
 * them, both signal through an event channel. */
#define CHAN_VCHAN_DEV_EVTCHN "/dev/xen/evtchn"
#define CHAN_VCHAN_DEV_GNTALLOC "/dev/xen/gntalloc"
#define CHAN_VCHAN_DEV_GNTDEV "/dev/xen/gntdev"
#define CHAN_VCHAN_RING_REF "/ring-ref"

struct chan_vchan {
	struct chan base; /* first: struct chan * <-> struct chan_vchan * */
	struct libxenvchan *ctrl;
	int fd;
	/* used when the spec has no logger: libxen* would otherwise create
	 * their own, which prints to stderr */
	struct xentoollog_logger quiet;
};

static struct chan_vchan *chan_vchan_of(struct chan *c)
{
	return (struct chan_vchan *)((char *)c - offsetof(struct chan_vchan, base));
}

static const struct chan_vchan *chan_vchan_of_const(const struct chan *c)
{
	return (const struct chan_vchan *)((const char *)c - offsetof(struct chan_vchan, base));
}

static void chan_vchan_quiet_message(struct xentoollog_logger *logger, xentoollog_level level,
				     int errnoval, const char *context, const char *format,
				     va_list al)
{
}

static void chan_vchan_quiet_destroy(struct xentoollog_logger *logger)
{
}

/* XV_EUNSUPP (errno set) unless both device nodes exist. */
static int chan_vchan_devices(const char *gnt_dev)
{
	if (access(CHAN_VCHAN_DEV_EVTCHN, F_OK) != 0 || access(gnt_dev, F_OK) != 0)
		return XV_EUNSUPP;
	return 0;
}

static struct chan_vchan *chan_vchan_alloc(const struct chan_spec *spec,
					   struct xentoollog_logger **logger)
{
	struct chan_vchan *v = calloc(1, sizeof *v);

	if (!v)
		return NULL;
	v->quiet.vmessage = chan_vchan_quiet_message;
	v->quiet.progress = NULL;
	v->quiet.destroy = chan_vchan_quiet_destroy;
	*logger = spec->xtl ? spec->xtl : &v->quiet;
	return v;
}

static void chan_vchan_free(struct chan_vchan *v)
{
	int saved = errno;

	free(v);
	errno = saved;
}

struct chan *chan_vchan_server(const struct chan_spec *spec, int peer_domid, const char *path,
			       size_t read_min, size_t write_min, int *err)
{
	struct xentoollog_logger *logger;
	struct chan_vchan *v;

	if ((*err = chan_vchan_devices(CHAN_VCHAN_DEV_GNTALLOC)) < 0)
		return NULL;
	if (!(v = chan_vchan_alloc(spec, &logger))) {
		*err = XV_ENOMEM;
		return NULL;
	}
	v->ctrl = libxenvchan_server_init(logger, peer_domid, path, read_min, write_min);
	if (!v->ctrl) {
		*err = XV_ESYS;
		chan_vchan_free(v);
		return NULL;
	}
	/* not initialised by libxenvchan_server_init: without this a read or
	 * write could block the caller's whole event loop */
	v->ctrl->blocking = 0;
	v->fd = libxenvchan_fd_for_select(v->ctrl);
	return &v->base;
}

/* 0 if abs_path/ring-ref exists, XV_ENOPEER if not, XV_ESYS otherwise.  Lets
 * "nobody listens" be told apart from a failure to map what is there. */
static int chan_vchan_advertised(const char *abs_path)
{
	char key[CHAN_XS_PATH_MAX + sizeof CHAN_VCHAN_RING_REF];
	struct xs_handle *xs;
	unsigned int len;
	char *untrusted_val;
	int r = 0, saved;

	xs = xs_open(0);
	if (!xs)
		return XV_ESYS;
	snprintf(key, sizeof key, "%s%s", abs_path, CHAN_VCHAN_RING_REF);
	untrusted_val = xs_read(xs, XBT_NULL, key, &len);
	if (!untrusted_val)
		r = errno == ENOENT ? XV_ENOPEER : XV_ESYS;
	saved = errno;
	free(untrusted_val);
	xs_close(xs);
	errno = saved;
	return r;
}

struct chan *chan_vchan_client(const struct chan_spec *spec, int server_domid, const char *abs_path,
			       int *err)
{
	struct xentoollog_logger *logger;
	struct chan_vchan *v;

	if ((*err = chan_vchan_devices(CHAN_VCHAN_DEV_GNTDEV)) < 0)
		return NULL;
	if ((*err = chan_vchan_advertised(abs_path)) < 0)
		return NULL;
	if (!(v = chan_vchan_alloc(spec, &logger))) {
		*err = XV_ENOMEM;
		return NULL;
	}
	v->ctrl = libxenvchan_client_init(logger, server_domid, abs_path);
	if (!v->ctrl) {
		/* The keys were there a moment ago.  ENOENT: they are gone
		 * (the server closed); EINVAL/ESRCH: the event channel is no
		 * longer free (a client is already connected) or its domain
		 * or process is gone.  Anything else is a local failure. */
		*err =
		    (errno == ENOENT || errno == EINVAL || errno == ESRCH) ? XV_ENOPEER : XV_ESYS;
		chan_vchan_free(v);
		return NULL;
	}
	v->ctrl->blocking = 0;
	v->fd = libxenvchan_fd_for_select(v->ctrl);
	return &v->base;
}

int chan_vchan_fd(const struct chan *c)
{
	return chan_vchan_of_const(c)->fd;
}

int chan_vchan_wait(struct chan *c)
{
	struct chan_vchan *v = chan_vchan_of(c);
	struct pollfd p = {.fd = v->fd, .events = POLLIN};
	int n;

	/* libxenvchan_wait reads the event channel device, which blocks when
	 * nothing is pending: only call it when the fd is readable */
	do
		n = poll(&p, 1, 0);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return XV_ESYS;
	if (n == 0)
		return 0;
	if (libxenvchan_wait(v->ctrl) < 0)
		return errno == EINTR || errno == EAGAIN ? 0 : XV_ESYS;
	return 0;
}

int chan_vchan_state(const struct chan *c)
{
	const struct chan_vchan *v = chan_vchan_of_const(c);
	/* read from the shared page: any value is possible; only 0 (closed)
	 * and, for a server, 2 (no client yet) carry meaning */
	int untrusted_live = libxenvchan_is_open(v->ctrl);

	if (untrusted_live == 0)
		return CHAN_CLOSED;
	if (c->server && untrusted_live == 2)
		return CHAN_WAITING;
	return CHAN_OPEN;
}

ssize_t chan_vchan_read(struct chan *c, void *buf, size_t size)
{
	struct chan_vchan *v = chan_vchan_of(c);
	int r = libxenvchan_read(v->ctrl, buf, size);

	if (r >= 0)
		return r;
	/* -1: nothing left and the peer closed, or notifying the peer failed */
	return libxenvchan_is_open(v->ctrl) == 0 ? XV_ECLOSED : XV_ESYS;
}

ssize_t chan_vchan_write(struct chan *c, const void *buf, size_t size)
{
	struct chan_vchan *v = chan_vchan_of(c);
	int r = libxenvchan_write(v->ctrl, buf, size);

	if (r >= 0)
		return r;
	return libxenvchan_is_open(v->ctrl) == 0 ? XV_ECLOSED : XV_ESYS;
}

void chan_vchan_close(struct chan *c)
{
	struct chan_vchan *v = chan_vchan_of(c);

	/* a server's close also removes its xenstore path (Xen >= 4.17) */
	libxenvchan_close(v->ctrl);
	free(v);
}
