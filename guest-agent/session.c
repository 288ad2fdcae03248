/*
 * session.c - serve one dom0 client over one channel.
 *
 * Bytes from the channel go into rx; complete frames are decoded with
 * xvp_decode() and answered through tx.  The client may speak plain NRPE
 * (v2 or v4 QUERY, answered in arrival order with a RESPONSE of the same
 * version) and, after a HELLO, the multiplexing extension (tagged QUERY,
 * answered as each probe finishes, CANCEL, PING).  Any stream error
 * (bad CRC, bad length, a packet a client never sends) ends the session:
 * the stream cannot be resynchronised, so nothing is guessed.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include "agent.h"
#include "argv.h"
#include "log.h"
#include "xvbuf.h"
#include "xverr.h"
#include "xvp.h"

/* rx holds at most one maximal frame and the start of the next */
#define SESSION_RX_MAX (2 * XVP_MAX_FRAME)
/* answers waiting for a client that does not read; beyond: disconnect */
#define SESSION_TX_MAX (8u << 20)
/* stop taking requests while this much output is queued (back-pressure) */
#define SESSION_TX_HIGH (1u << 20)
#define SESSION_READ_CHUNK 65536
#define SESSION_SOFTWARE AGENT_NAME " " XV_VERSION
#define SESSION_VERSION_TEXT AGENT_NAME " v" XV_VERSION

struct request {
	TAILQ_ENTRY(request) link;
	struct session *s;
	uint16_t version; /* of the query, and so of the answer */
	uint32_t id;	  /* XV: the client's id */
	struct pool_req *job;
	int done; /* plain: answered, waiting for its turn */
	int16_t state;
	char *text;
	size_t len;
	char name[ARGV_NAME_MAX + 1];
};
TAILQ_HEAD(request_list, request);

struct session {
	struct agent *a;
	struct chan *ch;
	ev_io io_w;
	ev_timer rx_w;	  /* a partly received request may take connection_timeout */
	ev_timer after_w; /* session_after from the loop, after a probe's end */
	struct xvbuf rx, tx;
	int open;	       /* a client is connected */
	int mux;	       /* HELLO done */
	int speaks_xv;	       /* it sent an extension packet: it reads XV ERROR */
	int closing;	       /* being torn down: finished requests are just freed */
	int draining;	       /* send what is queued, then end (after an ERROR) */
	int gone;	       /* a write found the client gone: nothing more goes out */
	uint32_t max_response; /* HELLO: the largest response buffer the client takes */
	unsigned pongs;	       /* PONGs queued since tx was last empty */
	unsigned tagged;
	struct request_list plain, xv;
};

static void session_end(struct session *s, const char *why);
static void session_after(struct session *s);
static void session_flush(struct session *s);

static void session_encode(struct session *s, const struct xvp_msg *m)
{
	int r = xvp_encode(&s->tx, m);

	if (r < 0) {
		/* XV_ENOSPC: the client is not reading its answers */
		log_warnx("client: cannot queue %s: %s", xvp_kind_name(m->version, m->type),
			  xv_strerror(r));
		s->draining = 1;
		xvbuf_reset(&s->tx);
	}
}

/* The longest answer text a query of this version may get: the packet
 * kind's limit and, for tagged answers, the client's HELLO max_response
 * (whose buffer holds the id, the text and its NUL). */
static size_t session_text_max(const struct session *s, uint16_t version)
{
	int max = xvp_max_text(version, version == XVP_XV ? XVP_XV_RESPONSE : XVP_RESPONSE);
	size_t n = max > 0 ? (size_t)max : 0;

	if (version == XVP_XV && n > s->max_response - XVP_XV_ID_SIZE - 1)
		n = s->max_response - XVP_XV_ID_SIZE - 1;
	return n;
}

/* Sends one answer.  The text is cut at its first NUL (as nrpe's strlen
 * does) and at the longest text the packet kind carries. */
static void session_answer(struct session *s, const struct request *rq)
{
	struct xvp_msg m = {0};
	size_t max;
	size_t len = rq->len;
	const char *nul = memchr(rq->text, '\0', len);

	if (nul)
		len = (size_t)(nul - rq->text);
	m.version = rq->version;
	if (rq->version == XVP_XV) {
		m.type = XVP_XV_RESPONSE;
		m.id = rq->id;
	} else {
		m.type = XVP_RESPONSE;
	}
	m.result = rq->state;
	max = session_text_max(s, rq->version);
	if (len > max)
		len = max;
	m.text = rq->text;
	m.text_len = len;
	session_encode(s, &m);
	s->a->requests++;
}

static void request_free(struct request *rq)
{
	free(rq->text);
	free(rq);
}

/* Plain answers leave in arrival order: send every finished one at the
 * head of the queue. */
static void session_flush_plain(struct session *s)
{
	struct request *rq;

	while ((rq = TAILQ_FIRST(&s->plain)) && rq->done) {
		TAILQ_REMOVE(&s->plain, rq, link);
		if (rq->text)
			session_answer(s, rq);
		request_free(rq);
	}
}

/* A request has its answer (text copied). */
static void request_finish(struct request *rq, int state, const char *text, size_t len)
{
	struct session *s = rq->s;

	rq->job = NULL;
	if (s->closing) {
		/* the session is going away and unlinks rq itself */
		rq->done = 1;
		return;
	}
	rq->state = (int16_t)state;
	rq->len = len;
	rq->text = malloc(len + 1);
	if (rq->text) {
		memcpy(rq->text, text, len);
		rq->text[len] = '\0';
	} else {
		/* the answer is lost: a request without text is not sent, and
		 * the session ends once what is queued has gone out */
		rq->len = 0;
		s->draining = 1;
	}
	if (rq->version == XVP_XV) {
		TAILQ_REMOVE(&s->xv, rq, link);
		s->tagged--;
		if (rq->text)
			session_answer(s, rq);
		request_free(rq);
	} else {
		rq->done = 1;
		session_flush_plain(s);
	}
}

static void request_answerf(struct request *rq, int state, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void request_answerf(struct request *rq, int state, const char *fmt, ...)
{
	char text[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(text, sizeof text, fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	if ((size_t)n >= sizeof text)
		n = sizeof text - 1;
	request_finish(rq, state, text, (size_t)n);
}

static void session_after_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	session_after((struct session *)((char *)w - offsetof(struct session, after_w)));
}

static void request_probe_done(const struct probe_result *r, void *arg)
{
	struct request *rq = arg;
	struct session *s = rq->s;
	int closing = s->closing;

	log_debug("command '%s' finished: state %d, %zu bytes, %.3f s", rq->name, r->state, r->len,
		  r->elapsed);
	request_finish(rq, r->state, r->output, r->len);
	/* From the event loop, not from here: a CANCEL ends its probe inside
	 * session_io (pool_cancel calls back at once), and session_after may
	 * end the session, which must not be freed under session_io. */
	if (!closing && !ev_is_active(&s->after_w)) {
		ev_timer_set(&s->after_w, 0., 0.);
		ev_timer_start(s->a->loop, &s->after_w);
	}
}

/* Runs the query text of rq (validated, bounded by the frame). */
static void request_dispatch(struct request *rq, const char *untrusted_text, size_t len)
{
	struct session *s = rq->s;
	struct agent *a = s->a;
	const struct agent_config *cfg = a->cfg;
	struct argv_query q;
	const struct command *cmd;
	struct probe_spec spec = {0};
	char err[256];
	char **argv = NULL;
	size_t cap;
	int r;

	if (len == 0 ||
	    (len == sizeof "_NRPE_CHECK" - 1 && !memcmp(untrusted_text, "_NRPE_CHECK", len))) {
		strcpy(rq->name, "_NRPE_CHECK");
		request_answerf(rq, 0, "%s", SESSION_VERSION_TEXT);
		return;
	}
	if (argv_parse_query(untrusted_text, len, &q, err, sizeof err) < 0) {
		log_info("refused request: %s", err);
		request_answerf(rq, 3, "XENVCHAN: Bad request: %s", err);
		return;
	}
	/* q.name passed argv_check_name: [A-Za-z0-9_.-], safe to print */
	snprintf(rq->name, sizeof rq->name, "%s", q.name);
	cmd = config_command(cfg, q.name);
	if (!cmd) {
		log_info("refused request: command '%s' not defined", q.name);
		request_answerf(rq, 3, "XENVCHAN: Command '%s' not defined", q.name);
		argv_query_free(&q);
		return;
	}
	if (argv_expand(cmd->argv, &q, &cfg->arg_policy, &argv, err, sizeof err) < 0) {
		log_info("refused request for '%s': %s", q.name, err);
		request_answerf(rq, 3, "XENVCHAN: Command '%s': %s", q.name, err);
		argv_query_free(&q);
		return;
	}
	argv_query_free(&q);

	cap = session_text_max(s, rq->version);
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
		request_answerf(rq, 3, "XENVCHAN: agent busy (%u probes running, %u queued)",
				st.running, st.queued);
	} else if (r < 0) {
		log_warnx("cannot run '%s': %s", rq->name, strerror(-r));
		request_answerf(rq, 3, "XENVCHAN: Command '%s' could not be started: %s", rq->name,
				strerror(-r));
	}
}

static struct request *request_new(struct session *s, uint16_t version, uint32_t id)
{
	struct request *rq = calloc(1, sizeof *rq);

	if (!rq)
		return NULL;
	rq->s = s;
	rq->version = version;
	rq->id = id;
	if (version == XVP_XV) {
		TAILQ_INSERT_TAIL(&s->xv, rq, link);
		s->tagged++;
	} else {
		TAILQ_INSERT_TAIL(&s->plain, rq, link);
	}
	return rq;
}

static struct request *session_find(struct session *s, uint32_t id)
{
	struct request *rq;

	TAILQ_FOREACH(rq, &s->xv, link)
	if (rq->id == id)
		return rq;
	return NULL;
}

/* Ends the session after the queued output, with an ERROR packet first
 * when the client speaks the extension: after its HELLO, and also before
 * it when the packet at fault is an extension one (PROTOCOL.md 5.4 rule
 * 1).  A client that has sent only plain NRPE gets no packet it cannot
 * read. */
static void session_fail(struct session *s, uint32_t id, const char *why)
{
	log_warnx("client: %s: closing the connection", why);
	if (s->mux || s->speaks_xv) {
		struct xvp_msg m = {.version = XVP_XV, .type = XVP_XV_ERROR, .id = id};
		m.text = why;
		m.text_len = strlen(why);
		session_encode(s, &m);
	}
	s->draining = 1;
}

static void session_hello(struct session *s, const struct xvp_msg *m)
{
	const struct agent_config *cfg = s->a->cfg;
	struct xvp_msg ack = {.version = XVP_XV, .type = XVP_XV_HELLO_ACK};
	int v;

	if (s->mux) {
		session_fail(s, 0, "second HELLO");
		return;
	}
	v = xvp_negotiate(m->proto_min, m->proto_max, XVP_PROTO_MIN, XVP_PROTO_MAX);
	if (v < 0) {
		session_fail(s, 0, "no common protocol version");
		return;
	}
	/* xvp_decode guarantees max_response >= XVP_XV_MIN_BUFFER_LIMIT */
	s->max_response = m->max_response;
	ack.proto = (uint16_t)v;
	ack.max_inflight = cfg->max_concurrent + cfg->max_queue;
	ack.max_request = XVP_MAX_BUFFER;
	ack.text = SESSION_SOFTWARE;
	ack.text_len = strlen(SESSION_SOFTWARE);
	s->mux = 1;
	log_info("client speaks the extension, version %d (%.*s)", v,
		 (int)(m->text_len > 64 ? 64 : m->text_len), m->text);
	session_encode(s, &ack);
}

static void session_message(struct session *s, const struct xvp_msg *m)
{
	struct request *rq;

	if (m->version != XVP_XV) {
		if (m->type != XVP_QUERY) {
			session_fail(s, 0, "unexpected NRPE response packet from the client");
			return;
		}
		rq = request_new(s, m->version, 0);
		if (!rq) {
			session_fail(s, 0, "agent out of memory");
			return;
		}
		request_dispatch(rq, m->text, m->text_len);
		return;
	}
	s->speaks_xv = 1;
	switch (m->type) {
	case XVP_XV_HELLO:
		session_hello(s, m);
		return;
	case XVP_XV_QUERY:
		if (!s->mux) {
			session_fail(s, 0, "tagged QUERY before HELLO");
			return;
		}
		if (session_find(s, m->id)) {
			/* a session violation (PROTOCOL.md 5.4 rule 3): id 0, as
			 * ERROR with the id would be taken for the answer to the
			 * query that still holds it */
			session_fail(s, 0, "request id already in use");
			return;
		}
		rq = request_new(s, XVP_XV, m->id);
		if (!rq) {
			session_fail(s, m->id, "agent out of memory");
			return;
		}
		request_dispatch(rq, m->text, m->text_len);
		return;
	case XVP_XV_CANCEL:
		if (!s->mux) {
			session_fail(s, 0, "CANCEL before HELLO");
			return;
		}
		/* an id already answered: the answer crossed the CANCEL */
		rq = session_find(s, m->id);
		if (rq && rq->job)
			pool_cancel(rq->job);
		return;
	case XVP_XV_PING: {
		struct xvp_msg pong = {.version = XVP_XV, .type = XVP_XV_PONG, .id = m->id};
		if (!s->mux) {
			session_fail(s, 0, "PING before HELLO");
			return;
		}
		/* the PONGs queued by this parse loop may only be waiting
		 * for it to end: they are offered to the channel before the
		 * client is judged */
		if (s->pongs >= XVP_XV_PONG_MAX) {
			session_flush(s);
			if (s->gone)
				return; /* nothing more to tell it */
		}
		if (s->pongs >= XVP_XV_PONG_MAX) {
			char why[128];
			snprintf(why, sizeof why,
				 "the client sends PINGs but does not read the PONGs (%zu bytes "
				 "waiting)",
				 xvbuf_len(&s->tx));
			session_fail(s, 0, why);
			return;
		}
		session_encode(s, &pong);
		s->pongs++;
		return;
	}
	case XVP_XV_ERROR:
		log_warnx("client reported an error: %.*s",
			  (int)(m->text_len > 200 ? 200 : m->text_len), m->text);
		s->draining = 1;
		return;
	default:
		session_fail(s, 0, "packet a client never sends");
		return;
	}
}

/* Decode and handle every complete frame in rx (while output is not piling
 * up).  Returns -1 when the session must end now. */
static int session_parse(struct session *s)
{
	while (!s->draining && !s->gone && xvbuf_len(&s->tx) < SESSION_TX_HIGH) {
		const uint8_t *p = xvbuf_ptr(&s->rx);
		size_t len = xvbuf_len(&s->rx), need = 0;
		struct xvp_msg m;
		int r;

		if (len == 0)
			break;
		r = xvp_frame(p, len, &need);
		if (r == XV_EAGAIN)
			break;
		/* also for a bad header: xvp_decode gives the same error and
		 * always says in m.why which check failed */
		r = xvp_decode(p, len, &m);
		if (r < 0) {
			log_warnx("client sent a bad packet (%s: %s): closing the connection",
				  xv_strerror(r), m.why);
			return -1;
		}
		session_message(s, &m);
		xvbuf_consume(&s->rx, (size_t)r);
	}
	return 0;
}

static void session_flush(struct session *s)
{
	while (s->ch && xvbuf_len(&s->tx) > 0) {
		size_t n = xvbuf_len(&s->tx);
		ssize_t w = chan_write(s->ch, xvbuf_ptr(&s->tx), n > CHAN_IO_MAX ? CHAN_IO_MAX : n);
		if (w <= 0) {
			if (w < 0 && w != XV_ECLOSED)
				log_warnx("client: write failed: %s", xv_strerror((int)w));
			/* no read may come to tell (reads stop while draining
			 * or while output piles up): end here, from
			 * session_after */
			if (w == XV_ECLOSED) {
				s->gone = 1;
				xvbuf_reset(&s->tx);
			}
			break;
		}
		xvbuf_consume(&s->tx, (size_t)w);
	}
	if (xvbuf_len(&s->tx) == 0)
		s->pongs = 0;
}

static void session_rx_timeout(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct session *s = (struct session *)((char *)w - offsetof(struct session, rx_w));

	session_end(s, "request not completed within connection_timeout");
}

static void session_io(struct ev_loop *loop, ev_io *w, int revents)
{
	struct session *s = (struct session *)((char *)w - offsetof(struct session, io_w));
	int gone = 0;

	if (chan_wait(s->ch) < 0) {
		session_end(s, "channel error");
		return;
	}
	if (chan_state(s->ch) == CHAN_WAITING)
		return;
	if (!s->open) {
		s->open = 1;
		log_info("client connected");
	}
	for (;;) {
		uint8_t *p;
		size_t room = xvbuf_avail(&s->rx);
		ssize_t n;

		if (room == 0 || s->draining || s->gone || xvbuf_len(&s->tx) >= SESSION_TX_HIGH)
			break;
		if (room > SESSION_READ_CHUNK)
			room = SESSION_READ_CHUNK;
		if (xvbuf_reserve(&s->rx, room, &p) < 0)
			break;
		n = chan_read(s->ch, p, room);
		xvbuf_trim(&s->rx, n > 0 ? room - (size_t)n : room);
		if (n == 0)
			break;
		if (n < 0) {
			gone = 1;
			break;
		}
		if (session_parse(s) < 0) {
			session_end(s, "protocol error");
			return;
		}
	}
	if (session_parse(s) < 0) {
		session_end(s, "protocol error");
		return;
	}
	if (gone) {
		session_end(s, NULL);
		return;
	}
	if (xvbuf_len(&s->rx) > 0 && !ev_is_active(&s->rx_w)) {
		ev_timer_set(&s->rx_w, s->a->cfg->connection_timeout, 0.);
		ev_timer_start(loop, &s->rx_w);
	} else if (xvbuf_len(&s->rx) == 0 && ev_is_active(&s->rx_w)) {
		ev_timer_stop(loop, &s->rx_w);
	}
	session_after(s);
}

/* After every event: send what is queued; a session that failed ends once
 * its last words are out; requests held back by back-pressure resume when
 * the output has drained. */
static void session_after(struct session *s)
{
	size_t before;

	do {
		before = xvbuf_len(&s->rx);
		session_flush(s);
		if (s->gone) {
			session_end(s, NULL);
			return;
		}
		if (s->draining) {
			if (xvbuf_len(&s->tx) == 0)
				session_end(s, "protocol error");
			return;
		}
		if (xvbuf_len(&s->tx) >= SESSION_TX_HIGH)
			return;
		if (session_parse(s) < 0) {
			session_end(s, "protocol error");
			return;
		}
	} while (xvbuf_len(&s->rx) != before);
}

struct session *session_start(struct agent *a)
{
	struct session *s = calloc(1, sizeof *s);
	int err = 0;

	if (!s) {
		log_warnx("out of memory");
		return NULL;
	}
	s->a = a;
	TAILQ_INIT(&s->plain);
	TAILQ_INIT(&s->xv);
	if (xvbuf_init(&s->rx, SESSION_RX_MAX) < 0 || xvbuf_init(&s->tx, SESSION_TX_MAX) < 0) {
		free(s);
		return NULL;
	}
	s->ch = chan_server(&a->spec, a->domid, AGENT_PEER_DOMID, "data/guest/probes/vchan", 0, 0,
			    &err);
	if (!s->ch) {
		log_warnx("cannot listen on %s: %s%s%s", a->transport, xv_strerror(err),
			  err == XV_ESYS ? ": " : "", err == XV_ESYS ? strerror(errno) : "");
		xvbuf_free(&s->rx);
		xvbuf_free(&s->tx);
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

/* Cancel or drop every request; pool_cancel calls request_finish, which
 * only marks them while closing. */
static void session_drop_requests(struct session *s, struct request_list *l)
{
	struct request *rq;

	while ((rq = TAILQ_FIRST(l))) {
		TAILQ_REMOVE(l, rq, link);
		if (rq->job)
			pool_cancel(rq->job);
		request_free(rq);
	}
}

void session_free(struct session *s)
{
	if (!s)
		return;
	s->closing = 1;
	session_drop_requests(s, &s->plain);
	session_drop_requests(s, &s->xv);
	ev_io_stop(s->a->loop, &s->io_w);
	ev_timer_stop(s->a->loop, &s->rx_w);
	ev_timer_stop(s->a->loop, &s->after_w);
	chan_close(s->ch);
	s->ch = NULL;
	xvbuf_free(&s->rx);
	xvbuf_free(&s->tx);
	free(s);
}

/* The client is gone (or must go): free everything, listen again. */
static void session_end(struct session *s, const char *why)
{
	struct agent *a = s->a;

	if (why)
		log_info("client disconnected: %s", why);
	else
		log_info("client disconnected");
	if (a->session == s)
		a->session = NULL;
	session_free(s);
	agent_listen(a);
}
