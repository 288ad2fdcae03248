/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * xsconn.c - a xenstore connection that comes back (see xsconn.h).
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <xenstore_lib.h>

#include "log.h"
#include "xsconn.h"

#define XSCONN_OF(w, member) ((struct xsconn *)((char *)(w)-offsetof(struct xsconn, member)))

/* 1 if err is an errno a dead libxenstore handle may report (EBADF,
 * EPIPE, ECONNRESET, ENOTCONN, EIO, and EINVAL: a reply lost with its
 * reader thread); whether it is dead takes a request to know. */
static int xsconn_errno_suspect(int err)
{
	switch (err) {
	case EBADF:
	case EPIPE:
	case ECONNRESET:
	case ENOTCONN:
	case EIO:
	case EINVAL:
		return 1;
	default:
		return 0;
	}
}

/* A second connection to the socket libxenstore uses, or -1 when it uses
 * a device (a guest's xenbus, which does not drop) or the socket is gone. */
static int xsconn_monitor_open(void)
{
	const char *path = xs_daemon_socket();
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct stat st;
	int fd;

	if (path == NULL || strlen(path) >= sizeof sa.sun_path || stat(path, &st) < 0 ||
	    !S_ISSOCK(st.st_mode))
		return -1;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static void xsconn_stop_watchers(struct xsconn *c)
{
	ev_io_stop(c->loop, &c->watch_w);
	ev_io_stop(c->loop, &c->mon_w);
	ev_timer_stop(c->loop, &c->check_w);
	if (c->mon_fd >= 0)
		close(c->mon_fd);
	c->mon_fd = -1;
}

static void xsconn_schedule_retry(struct xsconn *c)
{
	ev_timer_stop(c->loop, &c->retry_w);
	ev_timer_set(&c->retry_w, c->delay, 0.);
	ev_timer_start(c->loop, &c->retry_w);
	c->delay *= 2;
	if (c->delay > XSCONN_RETRY_MAX)
		c->delay = XSCONN_RETRY_MAX;
}

static void xsconn_lost(struct xsconn *c, const char *why)
{
	if (c->xs == NULL)
		return;
	log_warnx("xenstore connection lost (%s): reconnecting", why);
	c->stats.losses++;
	c->lost_at = ev_now(c->loop);
	c->ops->down(c->arg);
	xsconn_stop_watchers(c);
	xs_close(c->xs);
	c->xs = NULL;
	c->delay = XSCONN_RETRY_MIN;
	xsconn_schedule_retry(c);
}

static void xsconn_watch_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct xsconn *c = XSCONN_OF(w, watch_w);

	c->ops->events(c->xs, c->arg);
}

static void xsconn_mon_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct xsconn *c = XSCONN_OF(w, mon_w);
	char buf[256];
	ssize_t n;

	/* xenstored never writes to a connection that sent nothing: anything
	 * readable is the end, or something to throw away */
	n = recv(c->mon_fd, buf, sizeof buf, MSG_DONTWAIT);
	if (n > 0 || (n < 0 && (errno == EAGAIN || errno == EINTR)))
		return;
	xsconn_lost(c, n == 0 ? "xenstored closed the connection" : strerror(errno));
}

static void xsconn_check_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct xsconn *c = XSCONN_OF(w, check_w);
	char *p;

	if (c->xs == NULL)
		return;
	p = xs_get_domain_path(c->xs, 0);
	if (p != NULL) {
		free(p);
		return;
	}
	if (xsconn_errno_suspect(errno))
		xsconn_lost(c, strerror(errno));
}

/* Opens the handle and the monitor and calls up().  0, or -1 (errno). */
static int xsconn_connect(struct xsconn *c, int again)
{
	int fd, saved;

	/* dom0 may reach xenstored by its socket or by /dev/xen/xenbus,
	 * which libxenstore falls back to; while a socket xenstored is away
	 * requests on that device would wait for it in the kernel.  A daemon
	 * that had the socket waits until the socket accepts again. */
	c->mon_fd = xsconn_monitor_open();
	if (again && c->socket && c->mon_fd < 0)
		return -1;
	c->xs = xs_open(0);
	if (c->xs == NULL) {
		saved = errno;
		xsconn_stop_watchers(c);
		errno = saved;
		return -1;
	}
	fd = xs_fileno(c->xs);
	if (fd < 0) {
		saved = errno;
		goto fail;
	}
	if (!again)
		c->socket = c->mon_fd >= 0;
	ev_io_set(&c->watch_w, fd, EV_READ);
	ev_io_start(c->loop, &c->watch_w);
	if (c->mon_fd >= 0) {
		ev_io_set(&c->mon_w, c->mon_fd, EV_READ);
		ev_io_start(c->loop, &c->mon_w);
	}
	if (c->ops->up(c->xs, again, c->arg) == 0)
		return 0;
	saved = errno;
	if (again)
		c->ops->down(c->arg);
fail:
	xsconn_stop_watchers(c);
	xs_close(c->xs);
	c->xs = NULL;
	errno = saved;
	return -1;
}

static void xsconn_retry_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct xsconn *c = XSCONN_OF(w, retry_w);

	if (c->xs != NULL)
		return;
	if (xsconn_connect(c, 1) < 0) {
		c->stats.attempts++;
		log_debug("xenstore: reconnecting: %s; next attempt in %.2f s", strerror(errno),
			  c->delay);
		xsconn_schedule_retry(c);
		return;
	}
	c->stats.reconnects++;
	log_info("xenstore connection restored after %.1f s", ev_now(loop) - c->lost_at);
}

int xsconn_open(struct xsconn *c, struct ev_loop *loop, const struct xsconn_ops *ops, void *arg)
{
	memset(c, 0, sizeof *c);
	c->loop = loop;
	c->ops = ops;
	c->arg = arg;
	c->mon_fd = -1;
	c->delay = XSCONN_RETRY_MIN;
	ev_init(&c->watch_w, xsconn_watch_cb);
	ev_init(&c->mon_w, xsconn_mon_cb);
	ev_init(&c->retry_w, xsconn_retry_cb);
	ev_init(&c->check_w, xsconn_check_cb);
	return xsconn_connect(c, 0);
}

void xsconn_close(struct xsconn *c)
{
	if (c->loop == NULL)
		return;
	xsconn_stop_watchers(c);
	ev_timer_stop(c->loop, &c->retry_w);
	if (c->xs != NULL)
		xs_close(c->xs);
	c->xs = NULL;
}

void xsconn_failed(struct xsconn *c, int err)
{
	if (c->xs == NULL || !xsconn_errno_suspect(err) || ev_is_active(&c->check_w))
		return;
	ev_timer_set(&c->check_w, 0., 0.);
	ev_timer_start(c->loop, &c->check_w);
}

void xsconn_retry_now(struct xsconn *c)
{
	if (c->xs != NULL)
		return;
	c->delay = XSCONN_RETRY_MIN;
	ev_timer_stop(c->loop, &c->retry_w);
	ev_timer_set(&c->retry_w, 0., 0.);
	ev_timer_start(c->loop, &c->retry_w);
}
