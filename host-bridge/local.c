/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * local.c - the Unix socket front end (see local.h): an adapter of the
 * protocol engine (proto/xvserve.h) that reads and writes the socket and
 * routes each query to the bridge.
 */
#define _GNU_SOURCE /* struct ucred, SO_PEERCRED, accept4 */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "local.h"
#include "log.h"
#include "xvbuf.h"
#include "xverr.h"
#include "xvp.h"
#include "xvserve.h"

#ifndef SO_PEERGROUPS
#define SO_PEERGROUPS 59
#endif

#define LOCAL_GROUPS_MAX 256 /* supplementary groups of a peer looked at */
#define LOCAL_READ_CHUNK 65536
#define LOCAL_LISTEN_BACKLOG 128

/* the local socket's part of each request (xvserve_req_data) */
struct lreq {
	struct lclient *c;
	struct xvserve_req *xrq;
	struct bridge_req *h; /* while the bridge has it */
};

struct lclient {
	TAILQ_ENTRY(lclient) link;
	struct local *l;
	int fd;
	struct xvserve *e;
	ev_io io_w;
	ev_timer idle_w;
	ev_timer kick_w; /* a close decided inside a bridge callback */
	uid_t uid;
	gid_t gid;
	pid_t pid;
	int refused; /* the engine answers its first packet with why */
	int eof;     /* half-closed: nothing more to read, answers still go out */
};
TAILQ_HEAD(lclient_list, lclient);

struct local {
	struct ev_loop *loop;
	struct bridge *b;
	struct local_opts o;
	uid_t *uids;
	gid_t *gids;
	char *path;
	dev_t dev;
	ino_t ino;
	int fd;
	ev_io accept_w;
	unsigned nclients;
	struct lclient_list clients;
};

#define LC_OF(ptr, field) ((struct lclient *)((char *)(ptr)-offsetof(struct lclient, field)))

static void lclient_after(struct lclient *c);
static void lclient_close(struct lclient *c, const char *why);

/* ------------------------------------------------------------ peers */

int local_peer_allowed(const struct local_opts *o, uid_t euid, uid_t uid, gid_t gid,
		       const gid_t *groups, size_t ngroups, char *why, size_t whylen)
{
	if (o->nuids == 0 && o->ngids == 0)
		return 1; /* the file mode decides alone */
	if (uid == 0 || uid == euid)
		return 1;
	for (size_t i = 0; i < o->nuids; i++)
		if (o->uids[i] == uid)
			return 1;
	for (size_t i = 0; i < o->ngids; i++) {
		if (o->gids[i] == gid)
			return 1;
		for (size_t j = 0; j < ngroups; j++)
			if (o->gids[i] == groups[j])
				return 1;
	}
	snprintf(why, whylen,
		 "XENVCHAN: access denied: uid %u (gid %u) is not allowed to use the bridge "
		 "(allowed_uids/allowed_gids)",
		 (unsigned)uid, (unsigned)gid);
	return 0;
}

static void lclient_refuse(struct lclient *c, const char *why)
{
	c->refused = 1;
	xvserve_refuse(c->e, why);
}

static void lclient_check_peer(struct lclient *c)
{
	struct ucred cr;
	socklen_t len = sizeof cr;
	gid_t groups[LOCAL_GROUPS_MAX];
	socklen_t glen = sizeof groups;
	size_t ngroups = 0;
	char why[XVSERVE_REFUSED_MAX];

	if (getsockopt(c->fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) != 0) {
		snprintf(why, sizeof why,
			 "XENVCHAN: access denied: the bridge cannot tell who you are (%s)",
			 strerror(errno));
		lclient_refuse(c, why);
		return;
	}
	c->uid = cr.uid;
	c->gid = cr.gid;
	c->pid = cr.pid;
	/* a peer in more groups than we look at may be refused wrongly, never
	 * admitted wrongly */
	if (getsockopt(c->fd, SOL_SOCKET, SO_PEERGROUPS, groups, &glen) == 0)
		ngroups = glen / sizeof groups[0];
	if (!local_peer_allowed(&c->l->o, geteuid(), cr.uid, cr.gid, groups, ngroups, why,
				sizeof why)) {
		log_warnx("local client pid %d uid %u refused: not in allowed_uids/allowed_gids",
			  (int)cr.pid, (unsigned)cr.uid);
		lclient_refuse(c, why);
	}
}

/* ------------------------------------------------------------ requests */

/* The bridge's answer (from the loop). */
static void lreq_done(int state, const char *text, size_t len, void *arg)
{
	struct lreq *r = arg;
	struct lclient *c = r->c;

	r->h = NULL;
	xvserve_answer(r->xrq, state, text, len);
	lclient_after(c);
}

/* Routes and submits a query (its text untrusted, bounded by the frame). */
static void lclient_submit(void *ctx, struct xvserve_req *xrq, const char *untrusted, size_t len)
{
	struct lclient *c = ctx;
	struct lreq *r = xvserve_req_data(xrq);
	struct route rt;
	char err[160];
	int rc;

	r->c = c;
	r->xrq = xrq;
	if (route_parse(untrusted, len, &rt, err, sizeof err) < 0) {
		xvserve_answerf(xrq, XVP_RESULT_UNKNOWN, BRIDGE_MSG_BAD_QUERY, err);
		return;
	}
	rc = bridge_submit(c->l->b, &rt, 0, lreq_done, r, &r->h);
	if (rc < 0) {
		r->h = NULL;
		if (rc == -ESHUTDOWN)
			xvserve_answerf(xrq, XVP_RESULT_UNKNOWN, "%s", BRIDGE_MSG_SHUTDOWN);
		else
			xvserve_answerf(xrq, XVP_RESULT_UNKNOWN, "XENVCHAN: bridge out of memory");
	}
}

static void lclient_cancel(void *ctx, struct xvserve_req *xrq)
{
	struct lreq *r = xvserve_req_data(xrq);

	if (r->h != NULL)
		bridge_cancel(r->h);
	r->h = NULL;
}

/* ------------------------------------------------------------ I/O */

static void lclient_flush(void *ctx)
{
	struct lclient *c = ctx;
	struct xvbuf *tx = xvserve_tx(c->e);

	while (xvbuf_len(tx) > 0) {
		ssize_t w = send(c->fd, xvbuf_ptr(tx), xvbuf_len(tx), MSG_DONTWAIT | MSG_NOSIGNAL);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				xvserve_gone(c->e); /* EPIPE, ECONNRESET: gone */
			break;
		}
		xvserve_wrote(c->e, (size_t)w);
	}
}

static void lclient_log(void *ctx, enum xvserve_level level, const char *msg)
{
	struct lclient *c = ctx;

	if (level == XVSERVE_LOG_WARN)
		log_warnx("local client pid %d: %s", (int)c->pid, msg);
	else
		log_debug("local client pid %d: %s", (int)c->pid, msg);
}

static const struct xvserve_ops lclient_ops = {
    .submit = lclient_submit,
    .cancel = lclient_cancel,
    .flush = lclient_flush,
    .log = lclient_log,
};

static void lclient_kick(struct lclient *c)
{
	if (!ev_is_active(&c->kick_w)) {
		ev_timer_set(&c->kick_w, 0., 0.);
		ev_timer_start(c->l->loop, &c->kick_w);
	}
}

/* After every event: flush, decide what to wait for, close when done.  A
 * close found here is carried out from the loop (kick_w): this may run
 * inside a bridge callback, where the client must stay. */
static void lclient_after(struct lclient *c)
{
	struct ev_loop *loop = c->l->loop;
	struct xvbuf *tx = xvserve_tx(c->e);
	int events;

	lclient_flush(c);
	if (xvserve_parse(c->e) < 0)
		lclient_flush(c);
	if (xvserve_finished(c->e) ||
	    (c->eof && xvserve_pending(c->e) == 0 && xvbuf_len(tx) == 0)) {
		lclient_kick(c);
		return;
	}
	events =
	    (!c->eof && xvserve_reading(c->e) ? EV_READ : 0) | (xvbuf_len(tx) > 0 ? EV_WRITE : 0);
	if (events != (c->io_w.events & (EV_READ | EV_WRITE))) {
		ev_io_stop(loop, &c->io_w);
		ev_io_set(&c->io_w, c->fd, events);
		if (events != 0)
			ev_io_start(loop, &c->io_w);
	}
	/* the idle limit runs while the client owes us a query: nothing
	 * pending, or a partial frame */
	if (xvserve_pending(c->e) == 0 || xvbuf_len(xvserve_rx(c->e)) > 0) {
		if (!ev_is_active(&c->idle_w)) {
			ev_timer_set(&c->idle_w,
				     c->refused ? LOCAL_REFUSED_TIMEOUT : c->l->o.timeout, 0.);
			ev_timer_start(loop, &c->idle_w);
		}
	} else {
		ev_timer_stop(loop, &c->idle_w);
	}
}

static void lclient_io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct lclient *c = LC_OF(w, io_w);
	struct xvbuf *rx = xvserve_rx(c->e);

	if (revents & EV_READ) {
		size_t budget = LOCAL_RX_MAX;
		int dead = 0;

		while (budget > 0 && !c->eof && xvserve_reading(c->e)) {
			size_t room = xvbuf_avail(rx);
			uint8_t *p;
			ssize_t n;

			if (room > LOCAL_READ_CHUNK)
				room = LOCAL_READ_CHUNK;
			if (xvbuf_reserve(rx, room, &p) < 0)
				break;
			n = recv(c->fd, p, room, MSG_DONTWAIT);
			xvbuf_trim(rx, n > 0 ? room - (size_t)n : room);
			if (n > 0) {
				budget -= (size_t)n < budget ? (size_t)n : budget;
				if (xvserve_parse(c->e) < 0)
					break;
				/* a partial frame: the idle limit measures it from
				 * its first byte */
				continue;
			}
			if (n == 0) {
				/* the end of its stream: a client that closed
				 * (POLLHUP: a Unix socket tells) is gone, and what
				 * it asked is cancelled, down to the probes; one
				 * that half-closed (shutdown SHUT_WR) still gets
				 * its answers */
				struct pollfd pfd = {.fd = c->fd, .events = 0};
				if (poll(&pfd, 1, 0) == 1 && (pfd.revents & POLLHUP))
					dead = 1;
				else
					c->eof = 1;
			} else if (errno == EINTR) {
				continue;
			} else if (errno != EAGAIN && errno != EWOULDBLOCK) {
				dead = 1;
			}
			break;
		}
		if (dead) {
			if (xvbuf_len(rx) > 0)
				log_debug("local client pid %d: hung up in the middle of a query",
					  (int)c->pid);
			xvserve_gone(c->e);
		}
	}
	lclient_after(c);
}

static void lclient_idle_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct lclient *c = LC_OF(w, idle_w);

	lclient_close(c, xvbuf_len(xvserve_rx(c->e)) > 0 ? "query not completed in time" : "idle");
}

static void lclient_kick_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct lclient *c = LC_OF(w, kick_w);

	lclient_close(c, NULL);
}

/* Drops a client: its requests are cancelled in the bridge (and so at the
 * agents). */
static void lclient_close(struct lclient *c, const char *why)
{
	struct local *l = c->l;

	if (why != NULL)
		log_debug("local client pid %d: %s", (int)c->pid, why);
	xvserve_free(c->e);
	ev_io_stop(l->loop, &c->io_w);
	ev_timer_stop(l->loop, &c->idle_w);
	ev_timer_stop(l->loop, &c->kick_w);
	close(c->fd);
	TAILQ_REMOVE(&l->clients, c, link);
	l->nclients--;
	free(c);
}

static void local_accept_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct local *l = (struct local *)((char *)w - offsetof(struct local, accept_w));
	static const struct xvserve_limits lim = {
	    .max_inflight = LOCAL_XV_MAX_INFLIGHT,
	    .max_tagged = LOCAL_XV_MAX_INFLIGHT,
	    .max_plain = LOCAL_PLAIN_MAX,
	    .rx_max = LOCAL_RX_MAX,
	    .tx_max = LOCAL_TX_MAX,
	    .tx_high = LOCAL_TX_HIGH,
	    .software = LOCAL_SOFTWARE,
	    .req_extra = sizeof(struct lreq),
	};

	for (int i = 0; i < LOCAL_ACCEPT_PER_WAKEUP; i++) {
		int fd = accept4(l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct lclient *c;

		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE)
				log_warn("local socket: cannot accept");
			break;
		}
		if (l->nclients >= l->o.max_clients + LOCAL_OVERFLOW) {
			close(fd);
			continue;
		}
		c = calloc(1, sizeof *c);
		if (c == NULL || (c->e = xvserve_new(&lim, &lclient_ops, c)) == NULL) {
			free(c);
			close(fd);
			continue;
		}
		c->l = l;
		c->fd = fd;
		TAILQ_INSERT_TAIL(&l->clients, c, link);
		l->nclients++;
		ev_io_init(&c->io_w, lclient_io_cb, fd, EV_READ);
		ev_init(&c->idle_w, lclient_idle_cb);
		ev_init(&c->kick_w, lclient_kick_cb);
		lclient_check_peer(c);
		if (!c->refused && l->nclients > l->o.max_clients) {
			char why[XVSERVE_REFUSED_MAX];
			snprintf(why, sizeof why,
				 "XENVCHAN: bridge busy: more than %u local clients at once",
				 l->o.max_clients);
			lclient_refuse(c, why);
			log_warnx("local socket: more than %u clients: refusing pid %d",
				  l->o.max_clients, (int)c->pid);
		}
		ev_io_start(loop, &c->io_w);
		lclient_after(c);
	}
}

/* ------------------------------------------------------------ socket */

static int local_fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int local_fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

/* Removes a socket file nobody listens on; refuses one a live bridge
 * serves, and anything that is not a socket. */
static int local_clear_stale(const char *path, const struct sockaddr_un *sa, char *err,
			     size_t errlen)
{
	struct stat st;
	int fd, r;

	if (lstat(path, &st) != 0)
		return errno == ENOENT ? 0
				       : local_fail(err, errlen, "%s: %s", path, strerror(errno));
	if (!S_ISSOCK(st.st_mode))
		return local_fail(err, errlen, "%s exists and is not a socket", path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return local_fail(err, errlen, "socket: %s", strerror(errno));
	r = connect(fd, (const struct sockaddr *)sa, sizeof *sa);
	close(fd);
	if (r == 0)
		return local_fail(err, errlen, "another bridge is listening on %s", path);
	if (unlink(path) != 0 && errno != ENOENT)
		return local_fail(err, errlen, "cannot remove the stale %s: %s", path,
				  strerror(errno));
	return 0;
}

struct local *local_start(struct ev_loop *loop, struct bridge *b, const struct local_opts *opts,
			  char *err, size_t errlen)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct local *l;
	struct stat st;
	mode_t old;
	int r;

	if (opts->path == NULL || strlen(opts->path) >= sizeof sa.sun_path) {
		local_fail(err, errlen, "socket path longer than %zu bytes",
			   sizeof sa.sun_path - 1);
		return NULL;
	}
	strcpy(sa.sun_path, opts->path);
	l = calloc(1, sizeof *l);
	if (l == NULL) {
		local_fail(err, errlen, "out of memory");
		return NULL;
	}
	l->loop = loop;
	l->b = b;
	l->o = *opts;
	l->fd = -1;
	TAILQ_INIT(&l->clients);
	l->path = strdup(opts->path);
	l->uids = calloc(opts->nuids ? opts->nuids : 1, sizeof *l->uids);
	l->gids = calloc(opts->ngids ? opts->ngids : 1, sizeof *l->gids);
	if (l->path == NULL || l->uids == NULL || l->gids == NULL) {
		local_fail(err, errlen, "out of memory");
		goto fail;
	}
	if (opts->nuids)
		memcpy(l->uids, opts->uids, opts->nuids * sizeof *l->uids);
	if (opts->ngids)
		memcpy(l->gids, opts->gids, opts->ngids * sizeof *l->gids);
	l->o.path = l->path;
	l->o.uids = l->uids;
	l->o.gids = l->gids;
	if (local_clear_stale(l->path, &sa, err, errlen) < 0)
		goto fail;
	l->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (l->fd < 0) {
		local_fail(err, errlen, "socket: %s", strerror(errno));
		goto fail;
	}
	/* no moment with wider permissions than asked: create it closed,
	 * then open it up to the mode and group configured */
	old = umask(0177);
	r = bind(l->fd, (const struct sockaddr *)&sa, sizeof sa);
	umask(old);
	if (r != 0) {
		local_fail(err, errlen, "cannot bind %s: %s", l->path, strerror(errno));
		goto fail;
	}
	if (lstat(l->path, &st) == 0) {
		l->dev = st.st_dev;
		l->ino = st.st_ino;
	}
	if (opts->group != (gid_t)-1 && chown(l->path, (uid_t)-1, opts->group) != 0) {
		local_fail(err, errlen, "cannot set the group of %s: %s", l->path, strerror(errno));
		goto fail_unlink;
	}
	if (chmod(l->path, opts->mode & 07777) != 0) {
		local_fail(err, errlen, "cannot set the mode of %s: %s", l->path, strerror(errno));
		goto fail_unlink;
	}
	if (listen(l->fd, LOCAL_LISTEN_BACKLOG) != 0) {
		local_fail(err, errlen, "listen on %s: %s", l->path, strerror(errno));
		goto fail_unlink;
	}
	ev_io_init(&l->accept_w, local_accept_cb, l->fd, EV_READ);
	ev_io_start(loop, &l->accept_w);
	return l;
fail_unlink:
	unlink(l->path);
fail:
	if (l->fd >= 0)
		close(l->fd);
	free(l->path);
	free(l->uids);
	free(l->gids);
	free(l);
	return NULL;
}

int local_set_opts(struct local *l, const struct local_opts *opts, char *err, size_t errlen)
{
	uid_t *uids = calloc(opts->nuids ? opts->nuids : 1, sizeof *uids);
	gid_t *gids = calloc(opts->ngids ? opts->ngids : 1, sizeof *gids);

	if (uids == NULL || gids == NULL) {
		free(uids);
		free(gids);
		local_fail(err, errlen, "out of memory");
		return -1;
	}
	if (opts->group != (gid_t)-1 && chown(l->path, (uid_t)-1, opts->group) != 0) {
		local_fail(err, errlen, "cannot set the group of %s: %s", l->path, strerror(errno));
		goto fail;
	}
	if (chmod(l->path, opts->mode & 07777) != 0) {
		local_fail(err, errlen, "cannot set the mode of %s: %s", l->path, strerror(errno));
		goto fail;
	}
	if (opts->nuids)
		memcpy(uids, opts->uids, opts->nuids * sizeof *uids);
	if (opts->ngids)
		memcpy(gids, opts->gids, opts->ngids * sizeof *gids);
	free(l->uids);
	free(l->gids);
	l->uids = uids;
	l->gids = gids;
	l->o.uids = uids;
	l->o.nuids = opts->nuids;
	l->o.gids = gids;
	l->o.ngids = opts->ngids;
	l->o.mode = opts->mode;
	l->o.group = opts->group;
	l->o.timeout = opts->timeout;
	l->o.max_clients = opts->max_clients;
	return 0;
fail:
	free(uids);
	free(gids);
	return -1;
}

void local_stop(struct local *l)
{
	struct lclient *c;
	struct stat st;

	if (l == NULL)
		return;
	ev_io_stop(l->loop, &l->accept_w);
	while ((c = TAILQ_FIRST(&l->clients)) != NULL) {
		xvserve_shutdown(c->e, 3, BRIDGE_MSG_SHUTDOWN);
		lclient_flush(c); /* best effort: whatever the socket takes now */
		lclient_close(c, NULL);
	}
	close(l->fd);
	/* only the file we made: a newer bridge may have replaced it */
	if (lstat(l->path, &st) == 0 && st.st_dev == l->dev && st.st_ino == l->ino)
		unlink(l->path);
	free(l->path);
	free(l->uids);
	free(l->gids);
	free(l);
}
