/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * bridge.c - the core of xenvchan-bridge: requests from the front ends,
 * one agent connection per guest (agentconn), per-guest queues and limits,
 * time limits, reconnection with back-off, and domains going away.
 *
 * Connections are made lazily, on a guest's first request, and kept.
 * Nagios checks every monitored guest within minutes, so after the first
 * round every guest that is checked has its connection; a guest nobody
 * checks costs nothing (no grant mapping, no fd, no timer), and a bridge
 * restart does not connect to a thousand guests at once.  The cost is the
 * connect and HELLO on the first check (about a millisecond).
 *
 * An idle guest costs no timer and no wake-up.  There is no keepalive:
 * an agent process that dies closes its end of the channel, a domain that
 * dies is reported by @releaseDomain, and an agent that hangs is found by
 * the request time limit and by the CANCEL that follows it (agentconn's
 * cancel grace), all without waking up while nothing is asked.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include "agentconn.h"
#include "bridge.h"
#include "guests.h"
#include "log.h"
#include "xverr.h"
#include "xvp.h"

/* A request that has waited this long for a connection that cannot be made
 * (nobody listens in the guest) is answered BRIDGE_MSG_NO_AGENT rather
 * than kept until its time limit: an agent that is restarting is back well
 * within it, one that is not running never will be. */
#define BRIDGE_CONNECT_GRACE 3.0
/* longest text of an answer the bridge makes itself */
#define BRIDGE_TEXT_MAX 512

enum breq_where {
	BREQ_NONE = 0,
	BREQ_DEFERRED,	/* answer known, delivered from the loop */
	BREQ_WAITING,	/* in its guest's queue */
	BREQ_SENT,	/* with the agent */
	BREQ_ANSWERING, /* on a list of answers being given right now */
};

TAILQ_HEAD(breq_list, bridge_req);

struct bridge_req {
	TAILQ_ENTRY(bridge_req) link;
	struct bridge *b;
	struct bguest *g;
	enum breq_where where;
	struct breq_list *on; /* the list req is on (where != BREQ_NONE) */
	uint32_t id;	      /* agentconn id while BREQ_SENT */
	ev_timer timer_w;
	double timeout;
	ev_tstamp since;
	bridge_done_fn *done;
	void *arg;
	char guest[ROUTE_GUEST_MAX + 1]; /* as the client named it */
	int state;			 /* BREQ_DEFERRED: the answer */
	char *text;
	size_t len;
	size_t qlen;
	char q[]; /* the query for the agent, NUL-terminated */
};

struct bguest {
	struct bridge *b;
	struct guest *rec;
	struct agentconn ac;
	struct breq_list waiting, sent;
	unsigned nwaiting, nsent;
	ev_timer retry_w;
	double backoff;	      /* seconds; 0 after a good answer */
	int fail_fast;	      /* backing off after a protocol error: refuse at once */
	int counted;	      /* counted in bridge.connected */
	char last_error[200]; /* the last protocol error (safe text) */
};

struct bridge {
	struct ev_loop *loop;
	struct bridge_opts opts;
	struct guests gs;
	struct breq_list deferred;
	ev_timer defer_w;
	struct bridge_stats st;
	unsigned connected;
	int freeing;
};

#define BRIDGE_OF(ptr, type, field) ((type *)((char *)(ptr)-offsetof(type, field)))

static void bguest_pump(struct bguest *g);

/* ------------------------------------------------------------ answers */

static void breq_free(struct bridge_req *req)
{
	free(req->text);
	free(req);
}

static void breq_unlink(struct bridge_req *req)
{
	if (req->where == BREQ_WAITING)
		req->g->nwaiting--;
	else if (req->where == BREQ_SENT)
		req->g->nsent--;
	if (req->on != NULL)
		TAILQ_REMOVE(req->on, req, link);
	req->on = NULL;
	req->where = BREQ_NONE;
	ev_timer_stop(req->b->loop, &req->timer_w);
}

static void breq_link(struct bridge_req *req, enum breq_where where, struct breq_list *on)
{
	req->where = where;
	req->on = on;
	TAILQ_INSERT_TAIL(on, req, link);
	if (where == BREQ_WAITING)
		req->g->nwaiting++;
	else if (where == BREQ_SENT)
		req->g->nsent++;
}

/* Takes the requests of `from` (which may be any list) onto `to` to be
 * answered one by one: a client called back may cancel the others, which
 * then leave `to` (bridge_cancel finds them through req->on). */
static void breq_take_all(struct breq_list *from, struct breq_list *to)
{
	struct bridge_req *req;

	while ((req = TAILQ_FIRST(from)) != NULL) {
		breq_unlink(req);
		breq_link(req, BREQ_ANSWERING, to);
	}
}

/* Gives the answer to the client now (req is unlinked) and frees req. */
static void breq_finish(struct bridge_req *req, int state, const char *text, size_t len)
{
	breq_unlink(req);
	req->done(state, text, len, req->arg);
	breq_free(req);
}

static void breq_answerf(struct bridge_req *req, int state, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void breq_answerf(struct bridge_req *req, int state, const char *fmt, ...)
{
	char text[BRIDGE_TEXT_MAX];
	va_list ap;
	size_t n;

	va_start(ap, fmt);
	n = xvp_vtext(text, sizeof text, fmt, ap);
	va_end(ap);
	breq_finish(req, state, text, n);
}

static void bridge_defer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct bridge *b = BRIDGE_OF(w, struct bridge, defer_w);
	struct breq_list now = TAILQ_HEAD_INITIALIZER(now);
	struct bridge_req *req;

	/* only what is there now: answers deferred by the callbacks below
	 * wait for the next turn of the loop */
	while ((req = TAILQ_FIRST(&b->deferred)) != NULL) {
		TAILQ_REMOVE(&b->deferred, req, link);
		req->where = BREQ_ANSWERING;
		req->on = &now;
		TAILQ_INSERT_TAIL(&now, req, link);
	}
	while ((req = TAILQ_FIRST(&now)) != NULL) {
		breq_unlink(req);
		req->done(req->state, req->text ? req->text : "", req->len, req->arg);
		breq_free(req);
	}
}

/* Answers req from the loop, later: for answers found where the client
 * must not be called (inside bridge_submit, inside guest removal). */
static void breq_deferf(struct bridge_req *req, int state, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void breq_deferf(struct bridge_req *req, int state, const char *fmt, ...)
{
	struct bridge *b = req->b;
	char text[BRIDGE_TEXT_MAX];
	va_list ap;
	int n;

	breq_unlink(req);
	va_start(ap, fmt);
	n = vsnprintf(text, sizeof text, fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	if ((size_t)n >= sizeof text)
		n = sizeof text - 1;
	free(req->text);
	req->text = strndup(text, (size_t)n);
	req->len = req->text ? (size_t)n : 0;
	req->state = state;
	breq_link(req, BREQ_DEFERRED, &b->deferred);
	if (!ev_is_active(&b->defer_w)) {
		ev_timer_set(&b->defer_w, 0., 0.);
		ev_timer_start(b->loop, &b->defer_w);
	}
}

/* ------------------------------------------------------------ guests */

static const char *bguest_label(const struct bguest *g)
{
	return g->rec->name[0] ? g->rec->name : "no name";
}

/* Why a request cannot reach the guest's agent, when no connection exists:
 * the last protocol error, an unusable advertisement, or no agent. */
static void breq_no_agent(struct bridge_req *req, int defer)
{
	struct bguest *g = req->g;
	const struct guest_advert *a = &g->rec->advert;

	if (g->fail_fast) {
		if (defer)
			breq_deferf(req, 3, BRIDGE_MSG_PROTOCOL, req->guest, g->last_error);
		else
			breq_answerf(req, XVP_RESULT_UNKNOWN, BRIDGE_MSG_PROTOCOL, req->guest,
				     g->last_error);
	} else if (a->present && !a->valid) {
		if (defer)
			breq_deferf(req, 3, BRIDGE_MSG_BAD_ADVERT, req->guest, a->why);
		else
			breq_answerf(req, XVP_RESULT_UNKNOWN, BRIDGE_MSG_BAD_ADVERT, req->guest,
				     a->why);
	} else {
		if (defer)
			breq_deferf(req, 3, BRIDGE_MSG_NO_AGENT, req->guest);
		else
			breq_answerf(req, XVP_RESULT_UNKNOWN, BRIDGE_MSG_NO_AGENT, req->guest);
	}
}

static void bguest_schedule_retry(struct bguest *g)
{
	const struct bridge_opts *o = &g->b->opts;

	g->backoff = g->backoff > 0 ? g->backoff * 2 : o->reconnect_min;
	if (g->backoff > o->reconnect_max)
		g->backoff = o->reconnect_max;
	ev_timer_stop(g->b->loop, &g->retry_w);
	ev_timer_set(&g->retry_w, g->backoff, 0.);
	ev_timer_start(g->b->loop, &g->retry_w);
}

static const struct agentconn_ops bguest_ops;

/* A reload may have changed the limits agreed in the HELLO: a connection
 * about to be made takes the current ones.  Called while no channel is
 * open (so no request is with the agent). */
static void bguest_follow_limits(struct bguest *g)
{
	const struct bridge_opts *o = &g->b->opts;
	struct agentconn_limits lim = {.max_inflight = o->max_inflight,
				       .max_response = o->max_response};
	struct agentconn_limits old = {.max_inflight = g->ac.nslots,
				       .max_response = g->ac.frame_max - XVP_HEADER_SIZE};

	if (old.max_inflight == lim.max_inflight && old.max_response == lim.max_response)
		return;
	agentconn_free(&g->ac);
	if (agentconn_init(&g->ac, g->b->loop, g->rec->domid, &lim, &bguest_ops, g) == 0)
		return;
	log_warnx("domain %d (%s): out of memory for the new limits: keeping the old ones",
		  g->rec->domid, bguest_label(g));
	if (agentconn_init(&g->ac, g->b->loop, g->rec->domid, &old, &bguest_ops, g) < 0)
		fatalx("out of memory");
}

static void bguest_connect(struct bguest *g)
{
	struct bridge *b = g->b;
	struct bridge_req *req, *next;
	ev_tstamp now = ev_now(b->loop);
	int r;

	bguest_follow_limits(g);
	r = agentconn_open(&g->ac, &b->opts.spec);

	if (r == 0) {
		log_debug("domain %d (%s): connecting to the agent", g->rec->domid,
			  bguest_label(g));
		return;
	}
	if (r == XV_ENOPEER)
		log_debug("domain %d (%s): no agent listens", g->rec->domid, bguest_label(g));
	else
		log_warnx("domain %d (%s): cannot connect to the agent: %s%s%s", g->rec->domid,
			  bguest_label(g), xv_strerror(r), r == XV_ESYS ? ": " : "",
			  r == XV_ESYS ? strerror(errno) : "");
	/* deferred: bguest_connect runs inside bridge_submit too */
	for (req = TAILQ_FIRST(&g->waiting); req != NULL; req = next) {
		next = TAILQ_NEXT(req, link);
		if (now - req->since >= BRIDGE_CONNECT_GRACE)
			breq_no_agent(req, 1);
	}
	bguest_schedule_retry(g);
}

static void bguest_retry_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct bguest *g = BRIDGE_OF(w, struct bguest, retry_w);

	g->fail_fast = 0;
	if (g->nwaiting > 0 && !agentconn_is_open(&g->ac))
		bguest_connect(g);
}

static void bguest_pump(struct bguest *g)
{
	struct bridge_req *req;

	if (agentconn_is_ready(&g->ac)) {
		while ((req = TAILQ_FIRST(&g->waiting)) != NULL && agentconn_room(&g->ac) > 0) {
			uint32_t id;
			size_t limit = 0;
			int r = agentconn_query(&g->ac, req->q, req->qlen, req, &id, &limit);

			if (r == XV_E2BIG) {
				char why[96];
				snprintf(why, sizeof why,
					 "the query is longer than the %zu bytes the agent accepts",
					 limit);
				breq_deferf(req, 3, BRIDGE_MSG_BAD_QUERY, why);
				continue;
			}
			if (r < 0)
				break; /* a failure is on its way (ops->down), or no memory */
			/* moved by hand: its timer keeps running */
			TAILQ_REMOVE(&g->waiting, req, link);
			g->nwaiting--;
			req->id = id;
			breq_link(req, BREQ_SENT, &g->sent);
		}
		return;
	}
	if (agentconn_is_open(&g->ac) || g->nwaiting == 0 || ev_is_active(&g->retry_w))
		return;
	bguest_connect(g);
}

/* agentconn callbacks */

static void bguest_ready(struct agentconn *ac, void *owner)
{
	struct bguest *g = owner;

	if (!g->counted) {
		g->counted = 1;
		g->b->connected++;
		g->b->st.connects++;
		log_info("domain %d (%s): agent connected (protocol %u, %u requests at once)",
			 g->rec->domid, bguest_label(g), ac->proto, ac->inflight_max);
	}
	bguest_pump(g);
}

static void bguest_answer(struct agentconn *ac, void *owner, void *ctx, int state, const char *text,
			  size_t len, int agent_error)
{
	struct bguest *g = owner;
	struct bridge_req *req = ctx;

	g->backoff = 0; /* a good exchange: the agent works */
	g->b->st.answered++;
	if (agent_error)
		breq_answerf(req, XVP_RESULT_UNKNOWN, BRIDGE_MSG_AGENT_ERROR, req->guest, text);
	else
		breq_finish(req, state, text, len);
}

static void bguest_down(struct agentconn *ac, void *owner, enum agentconn_end why,
			const char *detail)
{
	struct bguest *g = owner;
	struct bridge *b = g->b;
	struct breq_list lost = TAILQ_HEAD_INITIALIZER(lost);
	struct bridge_req *req;
	int protocol = why == AGENTCONN_PROTOCOL;

	if (g->counted) {
		g->counted = 0;
		b->connected--;
	}
	if (protocol) {
		b->st.protocol_errors++;
		log_warnx("domain %d (%s): protocol error: %s: disconnected", g->rec->domid,
			  bguest_label(g), detail);
		snprintf(g->last_error, sizeof g->last_error, "%s", detail);
		g->fail_fast = 1;
	} else if (why == AGENTCONN_CLOSED) {
		log_info("domain %d (%s): %s", g->rec->domid, bguest_label(g), detail);
	} else {
		log_warnx("domain %d (%s): %s: disconnected", g->rec->domid, bguest_label(g),
			  detail);
	}
	/* state first, answers last: a client called back may submit again,
	 * and then finds the back-off in place */
	bguest_schedule_retry(g);
	breq_take_all(&g->sent, &lost);
	/* after a protocol error the agent cannot be trusted: nothing waits */
	if (protocol)
		breq_take_all(&g->waiting, &lost);
	while ((req = TAILQ_FIRST(&lost)) != NULL) {
		if (protocol) {
			breq_answerf(req, XVP_RESULT_UNKNOWN, BRIDGE_MSG_PROTOCOL, req->guest,
				     detail);
		} else {
			b->st.lost++;
			breq_answerf(req, XVP_RESULT_UNKNOWN, BRIDGE_MSG_LOST, req->guest);
		}
	}
}

static const struct agentconn_ops bguest_ops = {
    .ready = bguest_ready,
    .answer = bguest_answer,
    .down = bguest_down,
};

static struct bguest *bguest_get(struct bridge *b, struct guest *rec)
{
	struct agentconn_limits lim = {.max_inflight = b->opts.max_inflight,
				       .max_response = b->opts.max_response};
	struct bguest *g = rec->user;

	if (g != NULL)
		return g;
	g = calloc(1, sizeof *g);
	if (g == NULL)
		return NULL;
	if (agentconn_init(&g->ac, b->loop, rec->domid, &lim, &bguest_ops, g) < 0) {
		free(g);
		return NULL;
	}
	g->b = b;
	g->rec = rec;
	TAILQ_INIT(&g->waiting);
	TAILQ_INIT(&g->sent);
	ev_init(&g->retry_w, bguest_retry_cb);
	rec->user = g;
	return g;
}

/* guests callbacks */

static void bridge_guest_removed(struct guest *rec, void *arg)
{
	struct bridge *b = arg;
	struct bguest *g = rec->user;
	struct bridge_req *req;

	if (g == NULL)
		return;
	rec->user = NULL;
	if (g->counted)
		b->connected--;
	ev_timer_stop(b->loop, &g->retry_w);
	/* the channel of a dead domain may never say so: close it now */
	agentconn_free(&g->ac);
	while ((req = TAILQ_FIRST(&g->sent)) != NULL || (req = TAILQ_FIRST(&g->waiting)) != NULL) {
		if (b->freeing) {
			breq_answerf(req, XVP_RESULT_UNKNOWN, "%s", BRIDGE_MSG_SHUTDOWN);
		} else {
			/* deferred: a client called back now could look the
			 * dying guest up again */
			b->st.lost++;
			breq_deferf(req, 3, BRIDGE_MSG_GONE, req->guest);
		}
	}
	free(g);
}

static void bridge_guest_advert(struct guest *rec, void *arg)
{
	struct bguest *g = rec->user;
	struct bridge_req *req, *next;

	if (g == NULL || agentconn_is_open(&g->ac))
		return;
	if (rec->advert.valid) {
		/* the agent (re)appeared: neither the checks waiting now nor the
		 * next one wait out the back-off.  Unless the last agent broke
		 * the protocol: the guest could flap its advertisement to be
		 * reconnected at will. */
		if (!g->fail_fast) {
			ev_timer_stop(g->b->loop, &g->retry_w);
			if (g->nwaiting > 0)
				bguest_connect(g);
		}
		return;
	}
	for (req = TAILQ_FIRST(&g->waiting); req != NULL; req = next) {
		next = TAILQ_NEXT(req, link);
		/* deferred: this runs inside bridge_submit too */
		if (ev_now(g->b->loop) - req->since >= BRIDGE_CONNECT_GRACE)
			breq_no_agent(req, 1);
	}
}

static const struct guests_ops bridge_guests_ops = {
    .removed = bridge_guest_removed,
    .advert = bridge_guest_advert,
};

/* ------------------------------------------------------------ requests */

static void breq_timeout_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct bridge_req *req = BRIDGE_OF(w, struct bridge_req, timer_w);
	struct bguest *g = req->g;

	if (req->where == BREQ_SENT) {
		/* the agent stops the probe; its answer, when it comes, frees
		 * the slot and is dropped */
		agentconn_cancel(&g->ac, req->id);
	} else if (req->where == BREQ_WAITING && !agentconn_is_open(&g->ac)) {
		breq_no_agent(req, 0);
		return;
	}
	req->b->st.timeouts++;
	breq_answerf(req, XVP_RESULT_UNKNOWN, BRIDGE_MSG_TIMEOUT, req->guest, req->timeout,
		     BRIDGE_PLURAL(req->timeout));
}

int bridge_submit(struct bridge *b, const struct route *r, double timeout, bridge_done_fn *done,
		  void *arg, struct bridge_req **handle)
{
	const char *q = r->query ? r->query : "";
	size_t qlen = r->query_len;
	struct bridge_req *req;
	struct guest *rec;
	struct bguest *g;

	if (b->freeing)
		return -ESHUTDOWN;
	if (r->version_check && r->guest[0] != '\0') {
		q = "_NRPE_CHECK";
		qlen = strlen(q);
	}
	if (qlen > ROUTE_QUERY_MAX)
		qlen = ROUTE_QUERY_MAX; /* route_parse refused it already */
	req = calloc(1, sizeof *req + qlen + 1);
	if (req == NULL)
		return -ENOMEM;
	req->b = b;
	req->done = done;
	req->arg = arg;
	req->timeout = timeout > 0 ? timeout : b->opts.request_timeout;
	req->since = ev_now(b->loop);
	snprintf(req->guest, sizeof req->guest, "%s", r->guest);
	memcpy(req->q, q, qlen);
	req->q[qlen] = '\0';
	req->qlen = qlen;
	ev_timer_init(&req->timer_w, breq_timeout_cb, req->timeout, 0.);
	if (handle != NULL)
		*handle = req;
	b->st.requests++;

	if (r->guest[0] == '\0') {
		if (r->version_check)
			breq_deferf(req, 0, "%s", BRIDGE_VERSION_TEXT);
		else
			breq_deferf(req, 3, BRIDGE_MSG_BAD_QUERY, "no guest");
		return 0;
	}
	rec = r->domid >= 0 ? guests_by_domid(&b->gs, r->domid) : guests_by_name(&b->gs, r->guest);
	if (rec == NULL) {
		/* a domain just created: its @introduceDomain may still be on
		 * its way (rate-limited, so unknown names cost little) */
		guests_rescan_soon(&b->gs);
		rec = r->domid >= 0 ? guests_by_domid(&b->gs, r->domid)
				    : guests_by_name(&b->gs, r->guest);
	}
	if (rec == NULL) {
		breq_deferf(req, 3, BRIDGE_MSG_NO_GUEST, req->guest);
		return 0;
	}
	g = bguest_get(b, rec);
	if (g == NULL) {
		if (handle != NULL)
			*handle = NULL;
		free(req);
		return -ENOMEM;
	}
	req->g = g;
	if (!agentconn_is_open(&g->ac) && !rec->advert.valid)
		guests_refresh_advert(rec); /* an agent that just started */
	if (!agentconn_is_open(&g->ac) &&
	    (g->fail_fast || (!rec->advert.valid && !ev_is_active(&g->retry_w)))) {
		breq_no_agent(req, 1);
		return 0;
	}
	if (g->nsent + g->nwaiting >= b->opts.max_inflight + b->opts.max_queue) {
		b->st.busy++;
		breq_deferf(req, 3, BRIDGE_MSG_BUSY, req->guest);
		return 0;
	}
	breq_link(req, BREQ_WAITING, &g->waiting);
	ev_timer_start(b->loop, &req->timer_w);
	bguest_pump(g);
	return 0;
}

void bridge_cancel(struct bridge_req *req)
{
	if (req->where == BREQ_SENT)
		agentconn_cancel(&req->g->ac, req->id);
	breq_unlink(req);
	breq_free(req);
}

/* ------------------------------------------------------------ life */

static int bridge_opts_valid(const struct bridge_opts *opts, char *err, size_t errlen)
{
	if (opts->max_inflight < 1 || opts->max_inflight > AGENTCONN_MAX_INFLIGHT ||
	    opts->max_response < XVP_XV_MIN_BUFFER_LIMIT || opts->max_response > XVP_MAX_BUFFER ||
	    !(opts->request_timeout > 0) || !(opts->reconnect_min > 0) ||
	    opts->reconnect_max < opts->reconnect_min) {
		snprintf(err, errlen, "invalid bridge options");
		return 0;
	}
	return 1;
}

struct bridge *bridge_new(struct ev_loop *loop, const struct bridge_opts *opts, char *err,
			  size_t errlen)
{
	struct bridge *b;

	if (!bridge_opts_valid(opts, err, errlen))
		return NULL;
	b = calloc(1, sizeof *b);
	if (b == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	b->loop = loop;
	b->opts = *opts;
	TAILQ_INIT(&b->deferred);
	ev_init(&b->defer_w, bridge_defer_cb);
	if (guests_init(&b->gs, loop, opts->spec.kind, opts->max_guests, &bridge_guests_ops, b, err,
			errlen) < 0) {
		free(b);
		return NULL;
	}
	return b;
}

int bridge_set_opts(struct bridge *b, const struct bridge_opts *opts, char *err, size_t errlen)
{
	struct chan_spec spec = b->opts.spec;

	if (!bridge_opts_valid(opts, err, errlen))
		return -1;
	b->opts = *opts;
	b->opts.spec = spec;
	b->gs.max_guests = opts->max_guests ? opts->max_guests : 1;
	return 0;
}

void bridge_free(struct bridge *b)
{
	if (b == NULL)
		return;
	b->freeing = 1;
	guests_free(&b->gs);
	/* answers already decided are given as they are */
	ev_timer_stop(b->loop, &b->defer_w);
	bridge_defer_cb(b->loop, &b->defer_w, 0);
	free(b);
}

void bridge_get_stats(const struct bridge *b, struct bridge_stats *st)
{
	*st = b->st;
	st->guests = b->gs.count;
	st->connected = b->connected;
	st->xenstore_up = b->gs.xc.xs != NULL;
	st->xenstore_losses = b->gs.xc.stats.losses;
}

void bridge_retry_xenstore(struct bridge *b)
{
	guests_retry_xenstore(&b->gs);
}
