/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * session.c - serve one dom0 client over one channel: the agent's adapter
 * of the protocol engine (proto/xvserve.h).
 *
 * Bytes from the channel go into the engine's rx; it decodes them and
 * queues the answers in its tx, which goes out here.  What a query means
 * is decided here: the command from the configuration, run by the probe
 * pool.  Any stream error ends the session once the engine's last words
 * are out: the stream cannot be resynchronised, so nothing is guessed.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "argv.h"
#include "log.h"
#include "xvbuf.h"
#include "xverr.h"
#include "xvp.h"
#include "xvserve.h"
#include "xvwire.h"

/* rx holds at most one maximal frame and the start of the next */
#define SESSION_RX_MAX (2 * XVP_MAX_FRAME)
/* answers waiting for a client that does not read; beyond: disconnect */
#define SESSION_TX_MAX (8u << 20)
/* stop taking requests while this much output is queued (back-pressure) */
#define SESSION_TX_HIGH (1u << 20)
#define SESSION_READ_CHUNK 65536
#define SESSION_SOFTWARE AGENT_NAME " " XV_VERSION
#define SESSION_VERSION_TEXT AGENT_NAME " v" XV_VERSION

/* the agent's part of each request (xvserve_req_data) */
struct request {
	struct session *s;
	struct xvserve_req *xrq;
	struct pool_req *job; /* while the pool has it */
	char name[ARGV_NAME_MAX + 1];
};

struct session {
	struct agent *a;
	session_ended_fn *ended;
	struct chan *ch;
	struct xvserve *e;
	ev_io io_w;
	ev_timer rx_w;	  /* a partly received request may take connection_timeout */
	ev_timer after_w; /* session_after from the loop, after a probe's end */
	int open;	  /* a client is connected */
	int closing;	  /* being torn down: finished requests are just dropped */
};

static void session_end(struct session *s, const char *why);
static void session_after(struct session *s);

static void session_after_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	session_after((struct session *)((char *)w - offsetof(struct session, after_w)));
}

static void request_probe_done(const struct probe_result *r, void *arg)
{
	struct request *rq = arg;
	struct session *s = rq->s;

	rq->job = NULL;
	if (s->closing)
		return; /* the engine is dropping rq */
	log_debug("command '%s' finished: state %d, %zu bytes, %.3f s", rq->name, r->state, r->len,
		  r->elapsed);
	/* ignored by the engine when the probe ends under a CANCEL */
	xvserve_answer(rq->xrq, r->state, r->output, r->len);
	/* From the event loop, not from here: a CANCEL ends its probe inside
	 * session_io (pool_cancel calls back at once), and session_after may
	 * end the session, which must not be freed under session_io. */
	if (!ev_is_active(&s->after_w)) {
		ev_timer_set(&s->after_w, 0., 0.);
		ev_timer_start(s->a->loop, &s->after_w);
	}
}

/* Runs a query (its text untrusted, bounded by the frame). */
static void session_submit(void *ctx, struct xvserve_req *xrq, const char *untrusted_text,
			   size_t len)
{
	struct session *s = ctx;
	struct request *rq = xvserve_req_data(xrq);
	struct agent *a = s->a;
	const struct agent_config *cfg = a->cfg;
	struct argv_query q;
	const struct command *cmd;
	struct probe_spec spec = {0};
	char err[256];
	char **argv = NULL;
	size_t cap;
	int r;

	/* every request taken gets exactly one answer (or is cancelled) */
	a->requests++;
	rq->s = s;
	rq->xrq = xrq;
	if (len == 0 ||
	    (len == sizeof "_NRPE_CHECK" - 1 && !memcmp(untrusted_text, "_NRPE_CHECK", len))) {
		strcpy(rq->name, "_NRPE_CHECK");
		xvserve_answerf(xrq, 0, "%s", SESSION_VERSION_TEXT);
		return;
	}
	if (argv_parse_query(untrusted_text, len, &q, err, sizeof err) < 0) {
		log_info("refused request: %s", err);
		xvserve_answerf(xrq, XVP_RESULT_UNKNOWN, "XENVCHAN: Bad request: %s", err);
		return;
	}
	/* q.name passed argv_check_name: [A-Za-z0-9_.-], safe to print */
	snprintf(rq->name, sizeof rq->name, "%s", q.name);
	cmd = config_command(cfg, q.name);
	if (!cmd) {
		log_info("refused request: command '%s' not defined", q.name);
		xvserve_answerf(xrq, XVP_RESULT_UNKNOWN, "XENVCHAN: Command '%s' not defined", q.name);
		argv_query_free(&q);
		return;
	}
	if (argv_expand(cmd->argv, &q, &cfg->arg_policy, &argv, err, sizeof err) < 0) {
		log_info("refused request for '%s': %s", q.name, err);
		xvserve_answerf(xrq, XVP_RESULT_UNKNOWN, "XENVCHAN: Command '%s': %s", q.name, err);
		argv_query_free(&q);
		return;
	}
	argv_query_free(&q);

	cap = xvserve_text_max(xrq);
	spec.name = rq->name;
	spec.argv = argv;
	spec.envp = a->probe_env;
	spec.timeout = cfg->command_timeout;
	spec.output_cap = cfg->output_cap;
	if (spec.output_cap > cap)
		spec.output_cap = cap;
	if (spec.output_cap < PROBE_OUTPUT_CAP_MIN)
		spec.output_cap = PROBE_OUTPUT_CAP_MIN;
	/* the helper runs as the probe user: the identity is its own */
	spec.srv = &a->fs;
	r = pool_submit(&a->pool, &spec, request_probe_done, rq, &rq->job);
	argv_free(argv);
	if (r == -EAGAIN) {
		struct pool_stats st;
		pool_stats(&a->pool, &st);
		log_warnx("agent busy: refused '%s' (%u running, %u queued)", rq->name, st.running,
			  st.queued);
		xvserve_answerf(xrq, XVP_RESULT_UNKNOWN, "XENVCHAN: agent busy (%u probes running, %u queued)",
				st.running, st.queued);
	} else if (r < 0) {
		log_warnx("cannot run '%s': %s", rq->name, strerror(-r));
		xvserve_answerf(xrq, XVP_RESULT_UNKNOWN, "XENVCHAN: Command '%s' could not be started: %s", rq->name,
				strerror(-r));
	}
}

static void session_cancel(void *ctx, struct xvserve_req *xrq)
{
	struct request *rq = xvserve_req_data(xrq);

	if (rq->job != NULL)
		pool_cancel(rq->job); /* calls request_probe_done at once */
}

static void session_flush(void *ctx)
{
	struct session *s = ctx;
	struct xvbuf *tx = xvserve_tx(s->e);

	while (s->ch && xvbuf_len(tx) > 0) {
		size_t n = xvbuf_len(tx);
		ssize_t w = chan_write(s->ch, xvbuf_ptr(tx), n > CHAN_IO_MAX ? CHAN_IO_MAX : n);
		if (w <= 0) {
			if (w < 0 && w != XV_ECLOSED)
				log_warnx("client: write failed: %s", xv_strerror((int)w));
			/* no read may come to tell (reads stop while draining
			 * or while output piles up): end here, from
			 * session_after */
			if (w == XV_ECLOSED)
				xvserve_gone(s->e);
			break;
		}
		xvserve_wrote(s->e, (size_t)w);
	}
}

static void session_log(void *ctx, enum xvserve_level level, const char *msg)
{
	if (level == XVSERVE_LOG_WARN)
		log_warnx("client: %s", msg);
	else if (level == XVSERVE_LOG_INFO)
		log_info("%s", msg);
	else
		log_debug("client: %s", msg);
}

static const struct xvserve_ops session_ops = {
    .submit = session_submit,
    .cancel = session_cancel,
    .flush = session_flush,
    .log = session_log,
};

static void session_rx_timeout(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct session *s = (struct session *)((char *)w - offsetof(struct session, rx_w));

	session_end(s, "request not completed within connection_timeout");
}

static void session_io(struct ev_loop *loop, ev_io *w, int revents)
{
	struct session *s = (struct session *)((char *)w - offsetof(struct session, io_w));
	struct xvbuf *rx = xvserve_rx(s->e);
	int gone = 0;

	if (chan_wait(s->ch) < 0) {
		if (errno == EPIPE) {
			/* xen-evtchn with the fix of kernel/: this guest moved */
			s->a->chan_lost = 1;
			session_end(s, "channel lost on a resume (this guest was saved and "
				       "restored, or migrated)");
			return;
		}
		session_end(s, "channel error");
		return;
	}
	if (chan_state(s->ch) == CHAN_WAITING)
		return;
	if (!s->open) {
		s->open = 1;
		log_info("client connected");
	}
	while (xvserve_reading(s->e)) {
		uint8_t *p;
		size_t room = xvbuf_avail(rx);
		ssize_t n;

		if (room > SESSION_READ_CHUNK)
			room = SESSION_READ_CHUNK;
		if (xvbuf_reserve(rx, room, &p) < 0)
			break;
		n = chan_read(s->ch, p, room);
		xvbuf_trim(rx, n > 0 ? room - (size_t)n : room);
		if (n == 0)
			break;
		if (n < 0) {
			gone = 1;
			break;
		}
		xvserve_parse(s->e);
	}
	xvserve_parse(s->e);
	if (gone) {
		session_end(s, NULL);
		return;
	}
	if (xvbuf_len(rx) > 0 && !ev_is_active(&s->rx_w)) {
		ev_timer_set(&s->rx_w, s->a->cfg->connection_timeout, 0.);
		ev_timer_start(loop, &s->rx_w);
	} else if (xvbuf_len(rx) == 0 && ev_is_active(&s->rx_w)) {
		ev_timer_stop(loop, &s->rx_w);
	}
	session_after(s);
}

/* After every event: send what is queued; a session that failed ends once
 * its last words are out; requests held back by back-pressure resume when
 * the output has drained. */
static void session_after(struct session *s)
{
	struct xvbuf *rx = xvserve_rx(s->e);
	size_t before;

	do {
		before = xvbuf_len(rx);
		session_flush(s);
		if (xvserve_finished(s->e)) {
			session_end(s, NULL);
			return;
		}
		/* a no-op while draining or while output piles up */
		xvserve_parse(s->e);
	} while (xvbuf_len(rx) != before);
}

struct session *session_start(struct agent *a, session_ended_fn *ended)
{
	const struct agent_config *cfg = a->cfg;
	struct xvserve_limits lim = {
	    .max_inflight = cfg->max_concurrent + cfg->max_queue,
	    .rx_max = SESSION_RX_MAX,
	    .tx_max = SESSION_TX_MAX,
	    .tx_high = SESSION_TX_HIGH,
	    .software = SESSION_SOFTWARE,
	    .req_extra = sizeof(struct request),
	};
	struct session *s = calloc(1, sizeof *s);
	int err = 0;

	if (!s) {
		log_warnx("out of memory");
		return NULL;
	}
	s->a = a;
	s->ended = ended;
	s->e = xvserve_new(&lim, &session_ops, s);
	if (!s->e) {
		log_warnx("out of memory");
		free(s);
		return NULL;
	}
	s->ch = chan_server(&a->spec, a->domid, AGENT_PEER_DOMID, XVWIRE_CHAN_PATH, 0, 0, &err);
	if (!s->ch) {
		log_warnx("cannot listen on %s: %s%s%s", a->transport, xv_strerror(err),
			  err == XV_ESYS ? ": " : "", err == XV_ESYS ? strerror(errno) : "");
		xvserve_free(s->e);
		free(s);
		return NULL;
	}
	ev_io_init(&s->io_w, session_io, chan_fd(s->ch), EV_READ);
	ev_io_start(a->loop, &s->io_w);
	ev_init(&s->rx_w, session_rx_timeout);
	ev_init(&s->after_w, session_after_cb);
	log_debug("listening for dom%d on %s", AGENT_PEER_DOMID, a->transport);
	return s;
}

int session_channel_lost(struct session *s)
{
	return s != NULL && chan_wait(s->ch) < 0 && errno == EPIPE;
}

void session_free(struct session *s)
{
	if (!s)
		return;
	/* the engine cancels what runs; pool_cancel calls back at once */
	s->closing = 1;
	xvserve_free(s->e);
	ev_io_stop(s->a->loop, &s->io_w);
	ev_timer_stop(s->a->loop, &s->rx_w);
	ev_timer_stop(s->a->loop, &s->after_w);
	chan_close(s->ch);
	s->ch = NULL;
	free(s);
}

/* The client is gone (or must go): free everything, then tell the agent
 * (which listens again). */
static void session_end(struct session *s, const char *why)
{
	struct agent *a = s->a;
	session_ended_fn *ended = s->ended;

	if (why)
		log_info("client disconnected: %s", why);
	else
		log_info("client disconnected");
	if (a->session == s)
		a->session = NULL;
	session_free(s);
	ended(a);
}
