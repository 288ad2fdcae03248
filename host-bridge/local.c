/*
 * local.c - the Unix socket front end (see local.h).
 */
#define _GNU_SOURCE /* struct ucred, SO_PEERCRED, accept4 */
#include <errno.h>
#include <stdarg.h>
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

#ifndef SO_PEERGROUPS
#define SO_PEERGROUPS 59
#endif

#define LOCAL_GROUPS_MAX 256 /* supplementary groups of a peer looked at */
#define LOCAL_READ_CHUNK 65536
#define LOCAL_LISTEN_BACKLOG 128

struct lclient;

struct lreq {
	TAILQ_ENTRY(lreq) link;
	struct lclient *c;
	uint16_t version;     /* of the query, so of the answer */
	uint32_t id;	      /* XV */
	struct bridge_req *h; /* while the bridge has it */
	int done;	      /* plain: answered, waiting for its turn */
	int16_t state;
	char *text;
	size_t len;
};
TAILQ_HEAD(lreq_list, lreq);

struct lclient {
	TAILQ_ENTRY(lclient) link;
	struct local *l;
	int fd;
	ev_io io_w;
	ev_timer idle_w;
	ev_timer kick_w; /* a close decided inside a bridge callback */
	struct xvbuf rx, tx;
	uid_t uid;
	gid_t gid;
	pid_t pid;
	char refused[200]; /* "" if allowed; else the answer it gets */
	int mux;	   /* HELLO done */
	int speaks_xv;	   /* it sent an extension packet: it reads XV ERROR */
	unsigned pongs;	   /* PONGs queued since tx was last empty */
	int draining;	   /* send what is queued, then close */
	int dead;	   /* close at the next turn of the loop */
	unsigned nplain, ntagged;
	struct lreq_list plain, xv;
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
static void lclient_flush(struct lclient *c);

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

static void lclient_check_peer(struct lclient *c)
{
	struct ucred cr;
	socklen_t len = sizeof cr;
	gid_t groups[LOCAL_GROUPS_MAX];
	socklen_t glen = sizeof groups;
	size_t ngroups = 0;

	if (getsockopt(c->fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) != 0) {
		snprintf(c->refused, sizeof c->refused,
			 "XENVCHAN: access denied: the bridge cannot tell who you are (%s)",
			 strerror(errno));
		return;
	}
	c->uid = cr.uid;
	c->gid = cr.gid;
	c->pid = cr.pid;
	/* a peer in more groups than we look at may be refused wrongly, never
	 * admitted wrongly */
	if (getsockopt(c->fd, SOL_SOCKET, SO_PEERGROUPS, groups, &glen) == 0)
		ngroups = glen / sizeof groups[0];
	if (!local_peer_allowed(&c->l->o, geteuid(), cr.uid, cr.gid, groups, ngroups, c->refused,
				sizeof c->refused))
		log_warnx("local client pid %d uid %u refused: not in allowed_uids/allowed_gids",
			  (int)cr.pid, (unsigned)cr.uid);
	else
		c->refused[0] = '\0';
}

/* ------------------------------------------------------------ answers */

static void lclient_encode(struct lclient *c, const struct xvp_msg *m)
{
	int r = xvp_encode(&c->tx, m);

	if (r < 0) {
		/* XV_ENOSPC: the client does not read its answers */
		log_warnx("local client pid %d: cannot queue an answer: %s: closing", (int)c->pid,
			  xv_strerror(r));
		xvbuf_reset(&c->tx);
		c->dead = 1;
	}
}

/* One answer, in the framing of its query; the text is cut at a NUL (none
 * come from the bridge) and at what the packet kind carries. */
static void lclient_send_answer(struct lclient *c, uint16_t version, uint32_t id, int state,
				const char *text, size_t len)
{
	struct xvp_msg m = {.version = version, .id = id};
	const char *nul = len > 0 ? memchr(text, '\0', len) : NULL;
	int max;

	if (nul != NULL)
		len = (size_t)(nul - text);
	m.type = version == XVP_XV ? XVP_XV_RESPONSE : XVP_RESPONSE;
	m.result = (int16_t)(state >= 0 && state <= 3 ? state : 3);
	max = xvp_max_text(m.version, m.type);
	if (max >= 0 && len > (size_t)max)
		len = (size_t)max;
	m.text = text;
	m.text_len = len;
	lclient_encode(c, &m);
}

static void lreq_free(struct lreq *r)
{
	free(r->text);
	free(r);
}

/* Plain answers leave in arrival order. */
static void lclient_flush_plain(struct lclient *c)
{
	struct lreq *r;

	while ((r = TAILQ_FIRST(&c->plain)) != NULL && r->done) {
		TAILQ_REMOVE(&c->plain, r, link);
		c->nplain--;
		lclient_send_answer(c, r->version, 0, r->state, r->text ? r->text : "", r->len);
		lreq_free(r);
	}
}

/* r has its answer. */
static void lreq_complete(struct lreq *r, int state, const char *text, size_t len)
{
	struct lclient *c = r->c;

	r->h = NULL;
	if (r->version == XVP_XV) {
		TAILQ_REMOVE(&c->xv, r, link);
		c->ntagged--;
		lclient_send_answer(c, XVP_XV, r->id, state, text, len);
		lreq_free(r);
		return;
	}
	r->state = (int16_t)state;
	r->text = malloc(len + 1);
	if (r->text == NULL) {
		r->state = 3;
		r->len = 0;
	} else {
		memcpy(r->text, text, len);
		r->text[len] = '\0';
		r->len = len;
	}
	r->done = 1;
	lclient_flush_plain(c);
}

static void lreq_completef(struct lreq *r, int state, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void lreq_completef(struct lreq *r, int state, const char *fmt, ...)
{
	char text[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(text, sizeof text, fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	if ((size_t)n >= sizeof text)
		n = sizeof text - 1;
	lreq_complete(r, state, text, (size_t)n);
}

/* The bridge's answer (from the loop). */
static void lreq_done(int state, const char *text, size_t len, void *arg)
{
	struct lreq *r = arg;
	struct lclient *c = r->c;

	lreq_complete(r, state, text, len);
	lclient_after(c);
}

static struct lreq *lreq_new(struct lclient *c, uint16_t version, uint32_t id)
{
	struct lreq *r = calloc(1, sizeof *r);

	if (r == NULL)
		return NULL;
	r->c = c;
	r->version = version;
	r->id = id;
	if (version == XVP_XV) {
		TAILQ_INSERT_TAIL(&c->xv, r, link);
		c->ntagged++;
	} else {
		TAILQ_INSERT_TAIL(&c->plain, r, link);
		c->nplain++;
	}
	return r;
}

/* Routes and submits the query of r. */
static void lreq_submit(struct lreq *r, const char *untrusted, size_t len)
{
	struct route rt;
	char err[160];
	int rc;

	if (route_parse(untrusted, len, &rt, err, sizeof err) < 0) {
		lreq_completef(r, 3, BRIDGE_MSG_BAD_QUERY, err);
		return;
	}
	rc = bridge_submit(r->c->l->b, &rt, 0, lreq_done, r, &r->h);
	if (rc < 0) {
		r->h = NULL;
		if (rc == -ESHUTDOWN)
			lreq_completef(r, 3, "%s", BRIDGE_MSG_SHUTDOWN);
		else
			lreq_completef(r, 3, "XENVCHAN: bridge out of memory");
	}
}

/* ------------------------------------------------------------ requests */

/* Closes once the queued output is out, with an ERROR id 0 first to a
 * client that speaks the extension: after its HELLO, and also before it
 * when the packet at fault is an extension one (PROTOCOL.md 5.4 rule 1).
 * A plain NRPE client gets no packet it cannot read. */
static void lclient_fail(struct lclient *c, const char *why)
{
	log_warnx("local client pid %d: %s: closing", (int)c->pid, why);
	if (c->mux || c->speaks_xv) {
		struct xvp_msg m = {.version = XVP_XV, .type = XVP_XV_ERROR, .id = 0};
		m.text = why;
		m.text_len = strlen(why);
		lclient_encode(c, &m);
	}
	c->draining = 1;
}

static struct lreq *lclient_find(struct lclient *c, uint32_t id)
{
	struct lreq *r;

	TAILQ_FOREACH(r, &c->xv, link)
	{
		if (r->id == id)
			return r;
	}
	return NULL;
}

/* A refused peer: its first packet gets the reason in its own framing. */
static void lclient_refuse(struct lclient *c, const struct xvp_msg *m)
{
	if (m->version != XVP_XV && m->type == XVP_QUERY) {
		lclient_send_answer(c, m->version, 0, 3, c->refused, strlen(c->refused));
	} else if (m->version == XVP_XV) {
		struct xvp_msg e = {.version = XVP_XV, .type = XVP_XV_ERROR, .id = 0};
		e.text = c->refused;
		e.text_len = strlen(c->refused);
		lclient_encode(c, &e);
	}
	c->draining = 1;
}

static void lclient_hello(struct lclient *c, const struct xvp_msg *m)
{
	struct xvp_msg ack = {.version = XVP_XV, .type = XVP_XV_HELLO_ACK};
	int v;

	if (c->mux) {
		lclient_fail(c, "second HELLO");
		return;
	}
	v = xvp_negotiate(m->proto_min, m->proto_max, XVP_PROTO_MIN, XVP_PROTO_MAX);
	if (v < 0) {
		lclient_fail(c, "no common protocol version");
		return;
	}
	c->mux = 1;
	ack.proto = (uint16_t)v;
	ack.max_inflight = LOCAL_XV_MAX_INFLIGHT;
	ack.max_request = XVP_MAX_BUFFER;
	ack.text = LOCAL_SOFTWARE;
	ack.text_len = strlen(LOCAL_SOFTWARE);
	lclient_encode(c, &ack);
}

static void lclient_message(struct lclient *c, const struct xvp_msg *m)
{
	struct lreq *r;

	if (c->refused[0] != '\0') {
		lclient_refuse(c, m);
		return;
	}
	if (m->version != XVP_XV) {
		if (m->type != XVP_QUERY) {
			lclient_fail(c, "unexpected NRPE response packet");
			return;
		}
		if (c->nplain >= LOCAL_PLAIN_MAX) {
			lclient_fail(c, "too many pipelined queries");
			return;
		}
		r = lreq_new(c, m->version, 0);
		if (r == NULL) {
			lclient_fail(c, "bridge out of memory");
			return;
		}
		lreq_submit(r, m->text, m->text_len);
		return;
	}
	c->speaks_xv = 1;
	switch (m->type) {
	case XVP_XV_HELLO:
		lclient_hello(c, m);
		return;
	case XVP_XV_QUERY:
		if (!c->mux) {
			lclient_fail(c, "tagged QUERY before HELLO");
			return;
		}
		if (lclient_find(c, m->id) != NULL) {
			lclient_fail(c, "request id already in use");
			return;
		}
		if (c->ntagged >= LOCAL_XV_MAX_INFLIGHT) {
			static const char busy[] = "too many requests in flight";
			struct xvp_msg e = {.version = XVP_XV, .type = XVP_XV_ERROR, .id = m->id};
			e.text = busy;
			e.text_len = sizeof busy - 1;
			lclient_encode(c, &e);
			return;
		}
		r = lreq_new(c, XVP_XV, m->id);
		if (r == NULL) {
			lclient_fail(c, "bridge out of memory");
			return;
		}
		lreq_submit(r, m->text, m->text_len);
		return;
	case XVP_XV_CANCEL:
		if (!c->mux) {
			lclient_fail(c, "CANCEL before HELLO");
			return;
		}
		/* an id already answered: the answer and the CANCEL crossed */
		r = lclient_find(c, m->id);
		if (r != NULL && r->h != NULL) {
			bridge_cancel(r->h);
			lreq_completef(r, 3, "cancelled");
		}
		return;
	case XVP_XV_PING: {
		struct xvp_msg pong = {.version = XVP_XV, .type = XVP_XV_PONG, .id = m->id};
		if (!c->mux) {
			lclient_fail(c, "PING before HELLO");
			return;
		}
		/* the PONGs queued by this parse loop may only be waiting
		 * for it to end: they are offered to the socket before the
		 * client is judged */
		if (c->pongs >= XVP_XV_PONG_MAX) {
			lclient_flush(c);
			if (c->dead)
				return; /* gone: nothing more to tell it */
		}
		if (c->pongs >= XVP_XV_PONG_MAX) {
			char why[128];
			snprintf(why, sizeof why,
				 "the client sends PINGs but does not read the PONGs (%zu bytes "
				 "waiting)",
				 xvbuf_len(&c->tx));
			lclient_fail(c, why);
			return;
		}
		lclient_encode(c, &pong);
		c->pongs++;
		return;
	}
	case XVP_XV_ERROR:
		c->draining = 1; /* the client is closing */
		return;
	default:
		lclient_fail(c, "packet a client never sends");
		return;
	}
}

/* Handles every complete frame in rx while answers are not piling up.
 * -1: the stream is broken. */
static int lclient_parse(struct lclient *c)
{
	while (!c->draining && !c->dead && xvbuf_len(&c->tx) < LOCAL_TX_HIGH) {
		const uint8_t *untrusted = xvbuf_ptr(&c->rx);
		size_t len = xvbuf_len(&c->rx);
		struct xvp_msg m;
		int r;

		if (len == 0)
			break;
		r = xvp_frame(untrusted, len, NULL);
		if (r == XV_EAGAIN)
			break;
		r = xvp_decode(untrusted, len, &m);
		if (r < 0) {
			char why[160];
			snprintf(why, sizeof why, "bad packet: %s (%s)", xv_strerror(r), m.why);
			lclient_fail(c, why);
			return -1;
		}
		lclient_message(c, &m);
		xvbuf_consume(&c->rx, (size_t)r);
	}
	return 0;
}

/* ------------------------------------------------------------ I/O */

static unsigned lclient_pending(const struct lclient *c)
{
	return c->nplain + c->ntagged;
}

static void lclient_flush(struct lclient *c)
{
	while (xvbuf_len(&c->tx) > 0) {
		ssize_t w =
		    send(c->fd, xvbuf_ptr(&c->tx), xvbuf_len(&c->tx), MSG_DONTWAIT | MSG_NOSIGNAL);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				c->dead = 1; /* EPIPE, ECONNRESET: gone */
			break;
		}
		xvbuf_consume(&c->tx, (size_t)w);
	}
	if (xvbuf_len(&c->tx) == 0)
		c->pongs = 0;
}

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
	int reading, events;

	lclient_flush(c);
	if (!c->dead && !c->draining && xvbuf_len(&c->tx) < LOCAL_TX_HIGH && lclient_parse(c) < 0)
		lclient_flush(c);
	if (c->dead || (c->draining && xvbuf_len(&c->tx) == 0)) {
		lclient_kick(c);
		return;
	}
	reading = !c->draining && xvbuf_len(&c->tx) < LOCAL_TX_HIGH && xvbuf_avail(&c->rx) > 0;
	events = (reading ? EV_READ : 0) | (xvbuf_len(&c->tx) > 0 ? EV_WRITE : 0);
	if (events != (c->io_w.events & (EV_READ | EV_WRITE))) {
		ev_io_stop(loop, &c->io_w);
		ev_io_set(&c->io_w, c->fd, events);
		if (events != 0)
			ev_io_start(loop, &c->io_w);
	}
	/* the idle limit runs while the client owes us a query: nothing
	 * pending, or a partial frame */
	if (lclient_pending(c) == 0 || xvbuf_len(&c->rx) > 0) {
		if (!ev_is_active(&c->idle_w)) {
			ev_timer_set(&c->idle_w,
				     c->refused[0] ? LOCAL_REFUSED_TIMEOUT : c->l->o.timeout, 0.);
			ev_timer_start(loop, &c->idle_w);
		}
	} else {
		ev_timer_stop(loop, &c->idle_w);
	}
}

static void lclient_io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct lclient *c = LC_OF(w, io_w);

	if (revents & EV_READ) {
		size_t budget = LOCAL_RX_MAX;

		while (budget > 0 && !c->dead && xvbuf_avail(&c->rx) > 0) {
			size_t room = xvbuf_avail(&c->rx);
			uint8_t *p;
			ssize_t n;

			if (room > LOCAL_READ_CHUNK)
				room = LOCAL_READ_CHUNK;
			if (xvbuf_reserve(&c->rx, room, &p) < 0)
				break;
			n = recv(c->fd, p, room, MSG_DONTWAIT);
			xvbuf_trim(&c->rx, n > 0 ? room - (size_t)n : room);
			if (n > 0) {
				budget -= (size_t)n < budget ? (size_t)n : budget;
				if (lclient_parse(c) < 0)
					break;
				/* a partial frame: the idle limit measures it from
				 * its first byte */
				continue;
			}
			if (n == 0) {
				/* gone (NRPE clients never half-close): what it
				 * asked is cancelled, down to the probes */
				c->dead = 1;
			} else if (errno == EINTR) {
				continue;
			} else if (errno != EAGAIN && errno != EWOULDBLOCK) {
				c->dead = 1;
			}
			break;
		}
		if (c->dead && xvbuf_len(&c->rx) > 0 && !c->draining)
			log_debug("local client pid %d: hung up in the middle of a query",
				  (int)c->pid);
	}
	lclient_after(c);
}

static void lclient_idle_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct lclient *c = LC_OF(w, idle_w);

	lclient_close(c, xvbuf_len(&c->rx) > 0 ? "query not completed in time" : "idle");
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
	struct lreq *r;

	if (why != NULL)
		log_debug("local client pid %d: %s", (int)c->pid, why);
	while ((r = TAILQ_FIRST(&c->plain)) != NULL) {
		TAILQ_REMOVE(&c->plain, r, link);
		if (r->h != NULL)
			bridge_cancel(r->h);
		lreq_free(r);
	}
	while ((r = TAILQ_FIRST(&c->xv)) != NULL) {
		TAILQ_REMOVE(&c->xv, r, link);
		if (r->h != NULL)
			bridge_cancel(r->h);
		lreq_free(r);
	}
	ev_io_stop(l->loop, &c->io_w);
	ev_timer_stop(l->loop, &c->idle_w);
	ev_timer_stop(l->loop, &c->kick_w);
	close(c->fd);
	xvbuf_free(&c->rx);
	xvbuf_free(&c->tx);
	TAILQ_REMOVE(&l->clients, c, link);
	l->nclients--;
	free(c);
}

static void local_accept_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct local *l = (struct local *)((char *)w - offsetof(struct local, accept_w));

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
		if (c == NULL || xvbuf_init(&c->rx, LOCAL_RX_MAX) < 0 ||
		    xvbuf_init(&c->tx, LOCAL_TX_MAX) < 0) {
			free(c);
			close(fd);
			continue;
		}
		c->l = l;
		c->fd = fd;
		TAILQ_INIT(&c->plain);
		TAILQ_INIT(&c->xv);
		TAILQ_INSERT_TAIL(&l->clients, c, link);
		l->nclients++;
		ev_io_init(&c->io_w, lclient_io_cb, fd, EV_READ);
		ev_init(&c->idle_w, lclient_idle_cb);
		ev_init(&c->kick_w, lclient_kick_cb);
		lclient_check_peer(c);
		if (c->refused[0] == '\0' && l->nclients > l->o.max_clients) {
			snprintf(c->refused, sizeof c->refused,
				 "XENVCHAN: bridge busy: more than %u local clients at once",
				 l->o.max_clients);
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
		struct lreq *r;

		/* completing one may free others (plain answers leave in
		 * order): look again from the head each time */
		for (;;) {
			TAILQ_FOREACH(r, &c->plain, link)
			{
				if (r->h != NULL)
					break;
			}
			if (r == NULL)
				TAILQ_FOREACH(r, &c->xv, link)
				{
					if (r->h != NULL)
						break;
				}
			if (r == NULL)
				break;
			bridge_cancel(r->h);
			lreq_completef(r, 3, "%s", BRIDGE_MSG_SHUTDOWN);
		}
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
