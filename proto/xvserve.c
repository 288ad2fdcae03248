/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * xvserve.c - the server side of a connection (see xvserve.h).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include "xverr.h"
#include "xvp.h"
#include "xvsafe.h"
#include "xvserve.h"

struct xvserve_req {
	TAILQ_ENTRY(xvserve_req) link;
	struct xvserve *e;
	uint16_t version; /* of the query, and so of the answer */
	uint32_t id;	  /* XV: the client's id */
	int answered;	  /* plain: answered, waiting for its turn */
	int cancelling;	  /* inside ops->cancel: its answers are ignored */
	int16_t state;
	char *text; /* plain, answered out of turn: a copy */
	size_t len;
	_Alignas(max_align_t) unsigned char data[];
};
TAILQ_HEAD(xvserve_list, xvserve_req);

struct xvserve {
	struct xvserve_limits lim;
	const struct xvserve_ops *ops;
	void *ctx;
	struct xvbuf rx, tx;
	int mux;	       /* HELLO done */
	int speaks_xv;	       /* it sent an extension packet: it reads XV ERROR */
	int draining;	       /* send what is queued, then end */
	int gone;	       /* nothing more goes out */
	int closing;	       /* being freed: answers are ignored */
	uint32_t max_response; /* HELLO: the largest RESPONSE buffer it takes */
	unsigned pongs;	       /* PONGs queued since tx was last empty */
	unsigned nplain, ntagged;
	char refused[XVSERVE_REFUSED_MAX]; /* "" or the answer it gets */
	struct xvserve_list plain, xv;
};

static void xvserve_log(struct xvserve *e, enum xvserve_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void xvserve_log(struct xvserve *e, enum xvserve_level level, const char *fmt, ...)
{
	char msg[XVSERVE_LOG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	e->ops->log(e->ctx, level, msg);
}

static void xvserve_encode(struct xvserve *e, const struct xvp_msg *m)
{
	int r;

	if (e->gone)
		return;
	r = xvp_encode(&e->tx, m);
	if (r < 0) {
		/* XV_ENOSPC: the client does not read its answers */
		xvserve_log(e, XVSERVE_LOG_WARN, "cannot queue %s: %s: closing the connection",
			    xvp_kind_name(m->version, m->type), xv_strerror(r));
		xvserve_gone(e);
	}
}

/* Ends the connection after the queued output, with an ERROR id 0 first
 * when the client speaks the extension: after its HELLO, and also before
 * it when the packet at fault is an extension one (PROTOCOL.md 5.4 rule
 * 1).  A client that has sent only plain NRPE gets no packet it cannot
 * read. */
static void xvserve_fail(struct xvserve *e, const char *why)
{
	xvserve_log(e, XVSERVE_LOG_WARN, "%s: closing the connection", why);
	if (e->mux || e->speaks_xv) {
		struct xvp_msg m = {.version = XVP_XV, .type = XVP_XV_ERROR, .id = 0};
		m.text = why;
		m.text_len = strlen(why);
		xvserve_encode(e, &m);
	}
	e->draining = 1;
}

/* An ERROR for one request (rule 4): the connection goes on. */
static void xvserve_refuse_id(struct xvserve *e, uint32_t id, const char *why)
{
	struct xvp_msg m = {.version = XVP_XV, .type = XVP_XV_ERROR, .id = id};

	m.text = why;
	m.text_len = strlen(why);
	xvserve_encode(e, &m);
}

static size_t xvserve_max_for(const struct xvserve *e, uint16_t version)
{
	int max = xvp_max_text(version, version == XVP_XV ? XVP_XV_RESPONSE : XVP_RESPONSE);
	size_t n = max > 0 ? (size_t)max : 0;

	/* the buffer of a tagged answer holds the id, the text and its NUL;
	 * xvp_decode guarantees max_response >= XVP_XV_MIN_BUFFER_LIMIT */
	if (version == XVP_XV && e->max_response > 0 && n > e->max_response - XVP_XV_ID_SIZE - 1)
		n = e->max_response - XVP_XV_ID_SIZE - 1;
	return n;
}

size_t xvserve_text_max(const struct xvserve_req *rq)
{
	return xvserve_max_for(rq->e, rq->version);
}

void *xvserve_req_data(struct xvserve_req *rq)
{
	return rq->data;
}

static void xvserve_send(struct xvserve *e, uint16_t version, uint32_t id, int state,
			 const char *text, size_t len)
{
	struct xvp_msg m = {.version = version, .id = id};
	const char *nul = len > 0 ? memchr(text, '\0', len) : NULL;
	size_t max = xvserve_max_for(e, version);

	if (nul != NULL)
		len = (size_t)(nul - text);
	if (len > max)
		len = max;
	m.type = version == XVP_XV ? XVP_XV_RESPONSE : XVP_RESPONSE;
	m.result = (int16_t)(state >= 0 && state <= 3 ? state : 3);
	m.text = text;
	m.text_len = len;
	xvserve_encode(e, &m);
}

static void xvserve_req_free(struct xvserve_req *rq)
{
	free(rq->text);
	free(rq);
}

/* Plain answers leave in arrival order: every answered one at the head. */
static void xvserve_flush_plain(struct xvserve *e)
{
	struct xvserve_req *rq;

	while ((rq = TAILQ_FIRST(&e->plain)) != NULL && rq->answered) {
		TAILQ_REMOVE(&e->plain, rq, link);
		e->nplain--;
		xvserve_send(e, rq->version, 0, rq->state,
			     rq->text != NULL ? rq->text : XVSERVE_MSG_NOMEM, rq->len);
		xvserve_req_free(rq);
	}
}

void xvserve_answer(struct xvserve_req *rq, int state, const char *text, size_t len)
{
	struct xvserve *e = rq->e;

	if (rq->cancelling || rq->answered || e->closing)
		return;
	if (rq->version == XVP_XV) {
		TAILQ_REMOVE(&e->xv, rq, link);
		e->ntagged--;
		xvserve_send(e, XVP_XV, rq->id, state, text, len);
		xvserve_req_free(rq);
		return;
	}
	rq->answered = 1;
	rq->state = (int16_t)state;
	if (rq == TAILQ_FIRST(&e->plain)) {
		TAILQ_REMOVE(&e->plain, rq, link);
		e->nplain--;
		xvserve_send(e, rq->version, 0, state, text, len);
		xvserve_req_free(rq);
	} else {
		/* its turn comes later: keep a copy, or say why there is none */
		rq->text = malloc(len + 1);
		if (rq->text != NULL) {
			memcpy(rq->text, text, len);
			rq->text[len] = '\0';
			rq->len = len;
		} else {
			rq->state = XVP_RESULT_UNKNOWN;
			rq->len = sizeof XVSERVE_MSG_NOMEM - 1;
		}
	}
	xvserve_flush_plain(e);
}

void xvserve_answerf(struct xvserve_req *rq, int state, const char *fmt, ...)
{
	char text[1024];
	va_list ap;
	size_t n;

	va_start(ap, fmt);
	n = xvp_vtext(text, sizeof text, fmt, ap);
	va_end(ap);
	xvserve_answer(rq, state, text, n);
}

static void xvserve_cancel(struct xvserve *e, struct xvserve_req *rq)
{
	rq->cancelling = 1;
	e->ops->cancel(e->ctx, rq);
	rq->cancelling = 0;
}

static struct xvserve_req *xvserve_req_new(struct xvserve *e, uint16_t version, uint32_t id)
{
	struct xvserve_req *rq = calloc(1, sizeof *rq + e->lim.req_extra);

	if (rq == NULL)
		return NULL;
	rq->e = e;
	rq->version = version;
	rq->id = id;
	if (version == XVP_XV) {
		TAILQ_INSERT_TAIL(&e->xv, rq, link);
		e->ntagged++;
	} else {
		TAILQ_INSERT_TAIL(&e->plain, rq, link);
		e->nplain++;
	}
	return rq;
}

static struct xvserve_req *xvserve_find(struct xvserve *e, uint32_t id)
{
	struct xvserve_req *rq;

	TAILQ_FOREACH(rq, &e->xv, link)
	{
		if (rq->id == id)
			return rq;
	}
	return NULL;
}

/* A refused client: its first packet gets the reason in its own framing. */
static void xvserve_refused(struct xvserve *e, const struct xvp_msg *m)
{
	if (m->version != XVP_XV && m->type == XVP_QUERY) {
		xvserve_send(e, m->version, 0, 3, e->refused, strlen(e->refused));
	} else if (m->version == XVP_XV) {
		struct xvp_msg r = {.version = XVP_XV, .type = XVP_XV_ERROR, .id = 0};
		r.text = e->refused;
		r.text_len = strlen(e->refused);
		xvserve_encode(e, &r);
	}
	e->draining = 1;
}

static void xvserve_hello(struct xvserve *e, const struct xvp_msg *m)
{
	struct xvp_msg ack = {.version = XVP_XV, .type = XVP_XV_HELLO_ACK};
	char safe[96]; /* the client's software id, as safe text */
	int v;

	if (e->mux) {
		xvserve_fail(e, "second HELLO");
		return;
	}
	v = xvp_negotiate(m->proto_min, m->proto_max, XVP_PROTO_MIN, XVP_PROTO_MAX);
	if (v < 0) {
		xvserve_fail(e, "no common protocol version");
		return;
	}
	e->max_response = m->max_response;
	e->mux = 1;
	ack.proto = (uint16_t)v;
	ack.max_inflight = e->lim.max_inflight;
	ack.max_request = XVP_MAX_BUFFER;
	ack.text = e->lim.software;
	ack.text_len = strlen(e->lim.software);
	xvsafe_text(safe, sizeof safe, m->text, m->text_len, NULL);
	xvserve_log(e, XVSERVE_LOG_INFO, "client speaks the extension, version %d (%s)", v, safe);
	xvserve_encode(e, &ack);
}

static void xvserve_submit(struct xvserve *e, struct xvserve_req *rq, const struct xvp_msg *m)
{
	e->ops->submit(e->ctx, rq, m->text, m->text_len);
}

static void xvserve_ping(struct xvserve *e, const struct xvp_msg *m)
{
	struct xvp_msg pong = {.version = XVP_XV, .type = XVP_XV_PONG, .id = m->id};

	/* the PONGs queued by this parse loop may only be waiting for it to
	 * end: they are offered to the peer before the client is judged */
	if (e->pongs >= XVP_XV_PONG_MAX) {
		e->ops->flush(e->ctx);
		if (e->gone)
			return; /* nothing more to tell it */
	}
	if (e->pongs >= XVP_XV_PONG_MAX) {
		char why[128];
		snprintf(why, sizeof why,
			 "the client sends PINGs but does not read the PONGs (%zu bytes waiting)",
			 xvbuf_len(&e->tx));
		xvserve_fail(e, why);
		return;
	}
	xvserve_encode(e, &pong);
	e->pongs++;
}

static void xvserve_message(struct xvserve *e, const struct xvp_msg *m)
{
	struct xvserve_req *rq;
	char safe[200]; /* the client's ERROR text, as safe text */

	if (e->refused[0] != '\0') {
		xvserve_refused(e, m);
		return;
	}
	if (m->version != XVP_XV) {
		if (m->type != XVP_QUERY) {
			xvserve_fail(e, "unexpected NRPE response packet from the client");
			return;
		}
		if (e->lim.max_plain > 0 && e->nplain >= e->lim.max_plain) {
			xvserve_fail(e, "too many pipelined queries");
			return;
		}
		rq = xvserve_req_new(e, m->version, 0);
		if (rq == NULL) {
			/* a plain client has no way to be told: it loses the
			 * connection, as NRPE's own daemon would drop it */
			xvserve_fail(e, XVSERVE_MSG_NOMEM);
			return;
		}
		xvserve_submit(e, rq, m);
		return;
	}
	e->speaks_xv = 1;
	switch (m->type) {
	case XVP_XV_HELLO:
		xvserve_hello(e, m);
		return;
	case XVP_XV_QUERY:
		if (!e->mux) {
			xvserve_fail(e, "tagged QUERY before HELLO");
			return;
		}
		if (xvserve_find(e, m->id) != NULL) {
			/* a session violation (rule 3): id 0, as ERROR with the
			 * id would be taken for the answer to the query that
			 * still holds it */
			xvserve_fail(e, "request id already in use");
			return;
		}
		if (e->lim.max_tagged > 0 && e->ntagged >= e->lim.max_tagged) {
			xvserve_refuse_id(e, m->id, "too many requests in flight");
			return;
		}
		rq = xvserve_req_new(e, XVP_XV, m->id);
		if (rq == NULL) {
			/* rule 4: every QUERY is answered, this one with an
			 * ERROR that carries its id */
			xvserve_refuse_id(e, m->id, XVSERVE_MSG_NOMEM);
			return;
		}
		xvserve_submit(e, rq, m);
		return;
	case XVP_XV_CANCEL:
		if (!e->mux) {
			xvserve_fail(e, "CANCEL before HELLO");
			return;
		}
		/* an id already answered: the answer crossed the CANCEL */
		rq = xvserve_find(e, m->id);
		if (rq != NULL) {
			xvserve_cancel(e, rq);
			xvserve_answer(rq, 3, XVSERVE_MSG_CANCELLED,
				       sizeof XVSERVE_MSG_CANCELLED - 1);
		}
		return;
	case XVP_XV_PING:
		if (!e->mux) {
			xvserve_fail(e, "PING before HELLO");
			return;
		}
		xvserve_ping(e, m);
		return;
	case XVP_XV_ERROR:
		xvsafe_text(safe, sizeof safe, m->text, m->text_len, NULL);
		xvserve_log(e, XVSERVE_LOG_WARN, "client reported an error: %s", safe);
		e->draining = 1;
		return;
	default:
		xvserve_fail(e, "packet a client never sends");
		return;
	}
}

int xvserve_parse(struct xvserve *e)
{
	while (!e->draining && !e->gone && xvbuf_len(&e->tx) < e->lim.tx_high) {
		const uint8_t *untrusted = xvbuf_ptr(&e->rx);
		size_t len = xvbuf_len(&e->rx);
		struct xvp_msg m;
		int r;

		if (len == 0)
			break;
		r = xvp_frame(untrusted, len, NULL);
		if (r == XV_EAGAIN)
			break;
		/* also for a bad header: xvp_decode gives the same error and
		 * always says in m.why which check failed */
		r = xvp_decode(untrusted, len, &m);
		if (r < 0) {
			char why[160];
			xvserve_log(e, XVSERVE_LOG_WARN, "client sent a bad packet (%s: %s)",
				    xv_strerror(r), m.why);
			snprintf(why, sizeof why, "bad packet: %s (%s)", xv_strerror(r), m.why);
			xvserve_fail(e, why);
			return -1;
		}
		xvserve_message(e, &m);
		xvbuf_consume(&e->rx, (size_t)r);
	}
	return 0;
}

struct xvbuf *xvserve_rx(struct xvserve *e)
{
	return &e->rx;
}

struct xvbuf *xvserve_tx(struct xvserve *e)
{
	return &e->tx;
}

void xvserve_wrote(struct xvserve *e, size_t n)
{
	xvbuf_consume(&e->tx, n);
	if (xvbuf_len(&e->tx) == 0)
		e->pongs = 0;
}

void xvserve_gone(struct xvserve *e)
{
	e->gone = 1;
	xvbuf_reset(&e->tx);
	e->pongs = 0;
}

int xvserve_reading(const struct xvserve *e)
{
	return !e->draining && !e->gone && xvbuf_len(&e->tx) < e->lim.tx_high &&
	       xvbuf_avail(&e->rx) > 0;
}

int xvserve_finished(const struct xvserve *e)
{
	return e->gone || (e->draining && xvbuf_len(&e->tx) == 0);
}

unsigned xvserve_pending(const struct xvserve *e)
{
	return e->nplain + e->ntagged;
}

void xvserve_refuse(struct xvserve *e, const char *why)
{
	snprintf(e->refused, sizeof e->refused, "%s", why);
}

/* The first request with work behind it, or NULL. */
static struct xvserve_req *xvserve_first_busy(struct xvserve *e)
{
	struct xvserve_req *rq;

	TAILQ_FOREACH(rq, &e->plain, link)
	{
		if (!rq->answered)
			return rq;
	}
	return TAILQ_FIRST(&e->xv);
}

void xvserve_shutdown(struct xvserve *e, int state, const char *text)
{
	struct xvserve_req *rq;

	/* answering one may free others (plain answers leave in order):
	 * look again from the head each time */
	while ((rq = xvserve_first_busy(e)) != NULL) {
		xvserve_cancel(e, rq);
		xvserve_answer(rq, state, text, strlen(text));
	}
}

struct xvserve *xvserve_new(const struct xvserve_limits *lim, const struct xvserve_ops *ops,
			    void *ctx)
{
	struct xvserve *e;

	if (lim->max_inflight == 0 || lim->rx_max < XVP_MAX_FRAME || lim->software == NULL ||
	    strlen(lim->software) > XVP_XV_MAX_SOFTWARE)
		return NULL;
	e = calloc(1, sizeof *e);
	if (e == NULL)
		return NULL;
	e->lim = *lim;
	e->ops = ops;
	e->ctx = ctx;
	TAILQ_INIT(&e->plain);
	TAILQ_INIT(&e->xv);
	if (xvbuf_init(&e->rx, lim->rx_max) < 0 || xvbuf_init(&e->tx, lim->tx_max) < 0) {
		xvbuf_free(&e->rx);
		free(e);
		return NULL;
	}
	return e;
}

static void xvserve_drop(struct xvserve *e, struct xvserve_list *l)
{
	struct xvserve_req *rq;

	while ((rq = TAILQ_FIRST(l)) != NULL) {
		TAILQ_REMOVE(l, rq, link);
		if (!rq->answered)
			xvserve_cancel(e, rq);
		xvserve_req_free(rq);
	}
}

void xvserve_free(struct xvserve *e)
{
	if (e == NULL)
		return;
	e->closing = 1;
	xvserve_drop(e, &e->plain);
	xvserve_drop(e, &e->xv);
	xvbuf_free(&e->rx);
	xvbuf_free(&e->tx);
	free(e);
}
