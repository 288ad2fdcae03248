/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * xvserve.h - the server side of a connection (PROTOCOL.md sections 2, 3
 * and 5), written once for the agent (serving dom0 over the channel) and
 * the bridge's local socket (serving check_xenvchan).
 *
 * The engine owns the receive and send buffers, the parse loop, the HELLO
 * exchange and its limits, the PONG rule (XVP_XV_PONG_MAX), the table of
 * outstanding requests, the order of plain NRPE answers, CANCEL and the
 * drain after an ERROR.  It does no I/O, keeps no global and never logs by
 * itself: the front end (an adapter) reads into xvserve_rx(), calls
 * xvserve_parse(), writes out xvserve_tx() and reports what it wrote with
 * xvserve_wrote(); what a request means is the adapter's business, through
 * the callbacks of struct xvserve_ops.
 *
 * Answers follow the spec at both ends: a tagged answer fits the client's
 * HELLO max_response (5.4 rule 6), a cancelled request is answered UNKNOWN
 * "cancelled" (rule 5), a query the server has no memory for gets ERROR
 * with its id (rule 4), a stream or session error gets ERROR id 0 when the
 * client speaks the extension, then the connection drains and ends.
 */
#ifndef XV_XVSERVE_H
#define XV_XVSERVE_H

#include <stddef.h>
#include <stdint.h>

#include "xvbuf.h"

#define XVSERVE_MSG_CANCELLED "cancelled" /* PROTOCOL.md 5.4 rule 5 */
#define XVSERVE_MSG_NOMEM "out of memory"
#define XVSERVE_REFUSED_MAX 256 /* bytes of a refusal kept, NUL included */
#define XVSERVE_LOG_MAX 256	/* bytes of one log message, NUL included */

enum xvserve_level { XVSERVE_LOG_DEBUG, XVSERVE_LOG_INFO, XVSERVE_LOG_WARN };

struct xvserve;
struct xvserve_req;

struct xvserve_ops {
	/* A request to run, its query text untrusted and bounded by the
	 * frame.  The adapter answers it exactly once with xvserve_answer(),
	 * from here or later, unless cancel is called for it first. */
	void (*submit)(void *ctx, struct xvserve_req *rq, const char *untrusted, size_t len);
	/* Stops the work behind rq (CANCEL, shutdown, the end of the
	 * connection).  An answer given for rq from inside this call is
	 * ignored; none may be given after it. */
	void (*cancel)(void *ctx, struct xvserve_req *rq);
	/* Offers xvserve_tx() to the peer now (the PONG rule judges a client
	 * only on what it could not take).  May call xvserve_gone(). */
	void (*flush)(void *ctx);
	/* One message about this connection, without a trailing newline. */
	void (*log)(void *ctx, enum xvserve_level level, const char *msg);
};

struct xvserve_limits {
	uint32_t max_inflight; /* announced in HELLO_ACK (>= 1) */
	unsigned max_tagged;   /* tagged requests held; beyond: ERROR id; 0: no limit */
	unsigned max_plain;    /* pipelined plain queries; beyond: fail; 0: no limit */
	size_t rx_max, tx_max; /* buffer caps; rx_max >= XVP_MAX_FRAME */
	size_t tx_high;	       /* no parsing while this much output waits */
	const char *software;  /* HELLO_ACK text, at most XVP_XV_MAX_SOFTWARE bytes */
	size_t req_extra;      /* bytes of adapter data in each request */
};

/* A new connection, or NULL (out of memory, or limits out of range).
 * ops and ctx must outlive it; limits are copied. */
struct xvserve *xvserve_new(const struct xvserve_limits *lim, const struct xvserve_ops *ops,
			    void *ctx);
/* Cancels (ops->cancel) every request with work behind it, unanswered,
 * and frees everything.  NULL is ignored. */
void xvserve_free(struct xvserve *e);

/* The buffers: the adapter appends what it reads to rx and sends from tx. */
struct xvbuf *xvserve_rx(struct xvserve *e);
struct xvbuf *xvserve_tx(struct xvserve *e);
/* n bytes of tx went out (n <= xvbuf_len(tx)); consumes them. */
void xvserve_wrote(struct xvserve *e, size_t n);
/* The peer is gone (a failed write, a reset): nothing more goes out. */
void xvserve_gone(struct xvserve *e);

/* Handles every complete frame in rx while the connection takes requests
 * and less than tx_high waits to go out.  0, or -1 after a stream error
 * (already logged; the connection now drains). */
int xvserve_parse(struct xvserve *e);

/* The adapter should read: open, rx has room, output is not piling up. */
int xvserve_reading(const struct xvserve *e);
/* The connection must end now: the peer is gone, or it drained. */
int xvserve_finished(const struct xvserve *e);
/* Requests received and not yet answered. */
unsigned xvserve_pending(const struct xvserve *e);

/* Refuses this client: the first packet it sends gets why (a RESPONSE
 * UNKNOWN in its framing, or an ERROR id 0), then the connection drains. */
void xvserve_refuse(struct xvserve *e, const char *why);
/* Cancels and answers every request with work behind it (state, text),
 * e.g. when the server shuts down. */
void xvserve_shutdown(struct xvserve *e, int state, const char *text);

/* The answer to rq (state 0..3, else 3); the text is cut at its first NUL
 * and to what the request's packet kind and the client's max_response
 * carry.  rq is freed (or, plain, kept until its turn): do not use it
 * after. */
void xvserve_answer(struct xvserve_req *rq, int state, const char *text, size_t len);
void xvserve_answerf(struct xvserve_req *rq, int state, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The longest answer text rq may get. */
size_t xvserve_text_max(const struct xvserve_req *rq);
/* The adapter's req_extra bytes of rq (zeroed at first). */
void *xvserve_req_data(struct xvserve_req *rq);

#endif
