/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * agentconn.c - the client side of the XV extension over one channel (see
 * agentconn.h for the contract and the rules it enforces).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agentconn.h"
#include "guests.h"
#include "xverr.h"
#include "xvp.h"
#include "xvsafe.h"

/* id = generation << AGENTCONN_SLOT_BITS | (slot + 1): never 0, and a slot
 * reused gets a new id, so a late answer for its previous request cannot be
 * taken for the current one */
#define AGENTCONN_SLOT_BITS 11
#define AGENTCONN_SLOT_MASK ((1u << AGENTCONN_SLOT_BITS) - 1)
#define AGENTCONN_GEN_MASK ((1u << (32 - AGENTCONN_SLOT_BITS)) - 1)

#if AGENTCONN_MAX_INFLIGHT >= (1 << AGENTCONN_SLOT_BITS)
#error "slot numbers must fit in AGENTCONN_SLOT_BITS"
#endif

#define AC_OF(ptr, field) ((struct agentconn *)((char *)(ptr)-offsetof(struct agentconn, field)))

static void agentconn_io_work(struct agentconn *ac);

static void agentconn_reset_slots(struct agentconn *ac)
{
	memset(ac->slots, 0, ac->nslots * sizeof *ac->slots);
	/* slot 0 on top: low slots are reused first */
	for (unsigned i = 0; i < ac->nslots; i++)
		ac->free_slots[i] = ac->nslots - 1 - i;
	ac->nfree = ac->nslots;
	ac->used = 0;
	ac->ncancelled = 0;
}

/* An empty buffer gives its storage back: a connection that once carried a
 * 64 KiB answer must not keep 64 KiB for as long as it lives (thousands of
 * idle guests). */
static void agentconn_release(struct xvbuf *b, size_t max)
{
	if (xvbuf_len(b) == 0) {
		xvbuf_free(b);
		xvbuf_init(b, max);
	}
}

void agentconn_close(struct agentconn *ac)
{
	if (ac->ch == NULL)
		return;
	ev_io_stop(ac->loop, &ac->io_w);
	ev_timer_stop(ac->loop, &ac->hello_w);
	ev_timer_stop(ac->loop, &ac->rxframe_w);
	ev_timer_stop(ac->loop, &ac->txstall_w);
	ev_timer_stop(ac->loop, &ac->cancel_w);
	ev_timer_stop(ac->loop, &ac->kick_w);
	chan_close(ac->ch);
	ac->ch = NULL;
	ac->ready = 0;
	ac->pongs = 0;
	ac->pending_end = 0;
	ac->resume = 0;
	xvbuf_reset(&ac->rx);
	xvbuf_reset(&ac->tx);
	agentconn_release(&ac->rx, ac->frame_max + AGENTCONN_READ_CHUNK);
	agentconn_release(&ac->tx, AGENTCONN_TX_MAX);
	agentconn_reset_slots(ac);
}

/* Ends the connection and tells the owner.  The caller returns right after:
 * the owner may have opened a new connection on ac in the meantime. */
static void agentconn_fail(struct agentconn *ac, enum agentconn_end why, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void agentconn_fail(struct agentconn *ac, enum agentconn_end why, const char *fmt, ...)
{
	char detail[200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof detail, fmt, ap);
	va_end(ap);
	agentconn_close(ac);
	ac->ops->down(ac, ac->owner, why, detail);
}

/* A failure found where the connection cannot be torn down (inside a call
 * from the owner): reported from the loop by kick_w. */
static void agentconn_defer_fail(struct agentconn *ac, enum agentconn_end why, const char *what)
{
	if (ac->pending_end == 0) {
		ac->pending_end = why;
		snprintf(ac->pending_why, sizeof ac->pending_why, "%s", what);
	}
	if (!ev_is_active(&ac->kick_w)) {
		ev_timer_set(&ac->kick_w, 0., 0.);
		ev_timer_start(ac->loop, &ac->kick_w);
	}
}

static void agentconn_flush(struct agentconn *ac)
{
	while (xvbuf_len(&ac->tx) > 0) {
		size_t n = xvbuf_len(&ac->tx);
		ssize_t w =
		    chan_write(ac->ch, xvbuf_ptr(&ac->tx), n > CHAN_IO_MAX ? CHAN_IO_MAX : n);

		if (w < 0) {
			agentconn_defer_fail(ac,
					     w == XV_ECLOSED ? AGENTCONN_CLOSED : AGENTCONN_LOCAL,
					     w == XV_ECLOSED ? "the agent closed the channel"
							     : "write to the channel failed");
			return;
		}
		if (w == 0)
			break; /* full: the channel notifies when there is space */
		xvbuf_consume(&ac->tx, (size_t)w);
	}
	/* started when our bytes begin to wait, not reset by partial progress:
	 * an agent reading one byte a second is as stuck as one that does not
	 * read at all */
	if (xvbuf_len(&ac->tx) == 0) {
		ac->pongs = 0;
		ev_timer_stop(ac->loop, &ac->txstall_w);
		agentconn_release(&ac->tx, AGENTCONN_TX_MAX);
	} else if (!ev_is_active(&ac->txstall_w)) {
		ev_timer_set(&ac->txstall_w, AGENTCONN_FRAME_TIMEOUT, 0.);
		ev_timer_start(ac->loop, &ac->txstall_w);
	}
}

/* Appends one frame for the agent.  0, or -1 (failure deferred). */
static int agentconn_send(struct agentconn *ac, const struct xvp_msg *m)
{
	int r = xvp_encode(&ac->tx, m);

	if (r == XV_ENOSPC) {
		agentconn_defer_fail(ac, AGENTCONN_PROTOCOL, "the agent does not read its channel");
		return -1;
	}
	if (r < 0) {
		agentconn_defer_fail(ac, AGENTCONN_LOCAL, xv_strerror(r));
		return -1;
	}
	return 0;
}

int agentconn_init(struct agentconn *ac, struct ev_loop *loop, int domid,
		   const struct agentconn_limits *lim, const struct agentconn_ops *ops, void *owner)
{
	memset(ac, 0, sizeof *ac);
	if (lim->max_inflight < 1 || lim->max_inflight > AGENTCONN_MAX_INFLIGHT ||
	    lim->max_response < XVP_XV_MIN_BUFFER_LIMIT || lim->max_response > XVP_MAX_BUFFER)
		return XV_EINVAL;
	ac->loop = loop;
	ac->ops = ops;
	ac->owner = owner;
	ac->domid = domid;
	ac->nslots = lim->max_inflight;
	ac->frame_max = XVP_HEADER_SIZE + lim->max_response;
	ac->slots = calloc(ac->nslots, sizeof *ac->slots);
	ac->free_slots = calloc(ac->nslots, sizeof *ac->free_slots);
	if (ac->slots == NULL || ac->free_slots == NULL ||
	    xvbuf_init(&ac->rx, ac->frame_max + AGENTCONN_READ_CHUNK) < 0 ||
	    xvbuf_init(&ac->tx, AGENTCONN_TX_MAX) < 0) {
		agentconn_free(ac);
		return XV_ENOMEM;
	}
	agentconn_reset_slots(ac);
	return 0;
}

void agentconn_free(struct agentconn *ac)
{
	if (ac->slots != NULL)
		agentconn_close(ac);
	free(ac->slots);
	free(ac->free_slots);
	ac->slots = NULL;
	ac->free_slots = NULL;
	xvbuf_free(&ac->rx);
	xvbuf_free(&ac->tx);
}

int agentconn_is_open(const struct agentconn *ac)
{
	return ac->ch != NULL;
}

int agentconn_is_ready(const struct agentconn *ac)
{
	return ac->ch != NULL && ac->ready;
}

unsigned agentconn_room(const struct agentconn *ac)
{
	if (!agentconn_is_ready(ac) || ac->used >= ac->inflight_max)
		return 0;
	return ac->inflight_max - ac->used;
}

static struct agentconn_slot *agentconn_slot(struct agentconn *ac, uint32_t id, unsigned *index)
{
	unsigned s = id & AGENTCONN_SLOT_MASK;

	if (s == 0 || s > ac->nslots || ac->slots[s - 1].id != id)
		return NULL;
	*index = s - 1;
	return &ac->slots[s - 1];
}

static void agentconn_slot_release(struct agentconn *ac, unsigned index)
{
	struct agentconn_slot *sl = &ac->slots[index];

	if (sl->ctx == NULL && ac->ncancelled > 0)
		ac->ncancelled--;
	memset(sl, 0, sizeof *sl);
	ac->free_slots[ac->nfree++] = index;
	ac->used--;
	if (ac->ncancelled == 0)
		ev_timer_stop(ac->loop, &ac->cancel_w);
}

/* An answer for id: 0, or -1 when the connection was failed. */
static int agentconn_answer(struct agentconn *ac, const struct xvp_msg *m, int *freed)
{
	struct agentconn_slot *sl;
	unsigned index;
	void *ctx;

	sl = agentconn_slot(ac, m->id, &index);
	if (sl == NULL) {
		agentconn_fail(ac, AGENTCONN_PROTOCOL,
			       "%s for request id %u, which is not outstanding",
			       xvp_kind_name(m->version, m->type), m->id);
		return -1;
	}
	ctx = sl->ctx;
	agentconn_slot_release(ac, index);
	*freed = 1;
	if (ctx == NULL)
		return 0; /* cancelled: nobody waits for it any more */
	if (m->type == XVP_XV_ERROR) {
		char safe[256];
		size_t n = xvsafe_text(safe, sizeof safe, m->text, m->text_len, NULL);
		ac->ops->answer(ac, ac->owner, ctx, XVP_RESULT_UNKNOWN, safe, n, 1);
	} else {
		ac->ops->answer(ac, ac->owner, ctx, m->result, m->text, m->text_len, 0);
	}
	return 0;
}

static int agentconn_message(struct agentconn *ac, const struct xvp_msg *m, int *freed)
{
	if (m->version != XVP_XV) {
		agentconn_fail(ac, AGENTCONN_PROTOCOL,
			       "plain NRPE packet (%s) in an extension session",
			       xvp_kind_name(m->version, m->type));
		return -1;
	}
	if (!ac->ready && m->type != XVP_XV_HELLO_ACK && m->type != XVP_XV_ERROR) {
		agentconn_fail(ac, AGENTCONN_PROTOCOL, "%s before HELLO_ACK",
			       xvp_kind_name(m->version, m->type));
		return -1;
	}
	switch (m->type) {
	case XVP_XV_HELLO_ACK:
		if (ac->ready) {
			agentconn_fail(ac, AGENTCONN_PROTOCOL, "second HELLO_ACK");
			return -1;
		}
		if (m->proto < XVP_PROTO_MIN || m->proto > XVP_PROTO_MAX) {
			agentconn_fail(ac, AGENTCONN_PROTOCOL,
				       "the agent chose protocol version %u, outside %d-%d",
				       m->proto, XVP_PROTO_MIN, XVP_PROTO_MAX);
			return -1;
		}
		ac->ready = 1;
		ac->proto = m->proto;
		ac->inflight_max = m->max_inflight < ac->nslots ? m->max_inflight : ac->nslots;
		ac->max_request = m->max_request;
		ev_timer_stop(ac->loop, &ac->hello_w);
		*freed = 1;
		return 0;
	case XVP_XV_RESPONSE:
		return agentconn_answer(ac, m, freed);
	case XVP_XV_ERROR:
		if (m->id == 0 || !ac->ready) {
			char safe[128];
			xvsafe_text(safe, sizeof safe, m->text, m->text_len, NULL);
			agentconn_fail(ac, AGENTCONN_PROTOCOL, "the agent ended the session: %s",
				       safe);
			return -1;
		}
		return agentconn_answer(ac, m, freed);
	case XVP_XV_PING: {
		struct xvp_msg pong = {.version = XVP_XV, .type = XVP_XV_PONG, .id = m->id};

		/* PONGs pile up while a read loop runs: the agent may well be
		 * reading, so what waits is offered to the channel before the
		 * agent is judged.  Only PONGs count: queries waiting in tx are
		 * ours, and the stall timer covers them. */
		if (ac->pongs >= XVP_XV_PONG_MAX)
			agentconn_flush(ac);
		if (ac->pending_end != 0)
			return 0; /* going down already (kick_w tells why) */
		if (ac->pongs >= XVP_XV_PONG_MAX) {
			agentconn_fail(ac, AGENTCONN_PROTOCOL,
				       "the agent sends PINGs but does not read the PONGs (%zu "
				       "bytes waiting)",
				       xvbuf_len(&ac->tx));
			return -1;
		}
		if (agentconn_send(ac, &pong) == 0)
			ac->pongs++;
		return 0;
	}
	case XVP_XV_PONG:
		agentconn_fail(ac, AGENTCONN_PROTOCOL, "PONG without a PING");
		return -1;
	default:
		agentconn_fail(ac, AGENTCONN_PROTOCOL, "%s, a packet only clients send",
			       xvp_kind_name(m->version, m->type));
		return -1;
	}
}

/* Handles every complete frame in rx.  0, or -1 when the connection was
 * failed. */
static int agentconn_parse(struct agentconn *ac, int *freed)
{
	int completed = 0;

	for (;;) {
		const uint8_t *untrusted = xvbuf_ptr(&ac->rx);
		size_t len = xvbuf_len(&ac->rx), need = 0;
		struct xvp_msg m;
		int r;

		if (len == 0)
			break;
		/* header first: its size is checked before the body is read */
		r = xvp_frame(untrusted, len, &need);
		if (r == XV_EAGAIN) {
			if (need > ac->frame_max) {
				agentconn_fail(ac, AGENTCONN_PROTOCOL,
					       "frame of %zu bytes announced, more than the "
					       "%zu accepted",
					       need, ac->frame_max);
				return -1;
			}
			break;
		}
		if (r > 0 && (size_t)r > ac->frame_max) {
			agentconn_fail(ac, AGENTCONN_PROTOCOL,
				       "frame of %d bytes, more than the %zu accepted", r,
				       ac->frame_max);
			return -1;
		}
		if (r > 0)
			r = xvp_decode(untrusted, len, &m);
		else
			xvp_decode(untrusted, len, &m); /* for m.why */
		if (r < 0) {
			agentconn_fail(ac, AGENTCONN_PROTOCOL, "bad packet: %s (%s)",
				       xv_strerror(r), m.why);
			return -1;
		}
		if (agentconn_message(ac, &m, freed) < 0)
			return -1;
		xvbuf_consume(&ac->rx, (size_t)r);
		completed++;
	}
	/* a frame begun must be finished in time: no trickling */
	if (xvbuf_len(&ac->rx) == 0) {
		ev_timer_stop(ac->loop, &ac->rxframe_w);
	} else if (completed > 0 || !ev_is_active(&ac->rxframe_w)) {
		ev_timer_stop(ac->loop, &ac->rxframe_w);
		ev_timer_set(&ac->rxframe_w, AGENTCONN_FRAME_TIMEOUT, 0.);
		ev_timer_start(ac->loop, &ac->rxframe_w);
	}
	return 0;
}

static void agentconn_io_work(struct agentconn *ac)
{
	size_t budget = AGENTCONN_READ_BUDGET;
	int closed = 0, freed = 0;

	for (;;) {
		size_t room = xvbuf_avail(&ac->rx);
		uint8_t *p;
		ssize_t n;

		if (budget == 0) {
			/* no chan_read() returned 0, so no new notification is
			 * armed: come back from the loop, after the others */
			ac->resume = 1;
			ev_timer_stop(ac->loop, &ac->kick_w);
			ev_timer_set(&ac->kick_w, 0., 0.);
			ev_timer_start(ac->loop, &ac->kick_w);
			break;
		}
		if (room > AGENTCONN_READ_CHUNK)
			room = AGENTCONN_READ_CHUNK;
		if (room > budget)
			room = budget;
		if (room == 0 || xvbuf_reserve(&ac->rx, room, &p) < 0) {
			agentconn_fail(ac, AGENTCONN_LOCAL, "receive buffer exhausted");
			return;
		}
		n = chan_read(ac->ch, p, room);
		xvbuf_trim(&ac->rx, n > 0 ? room - (size_t)n : room);
		if (n == 0)
			break;
		if (n < 0) {
			if (n != XV_ECLOSED) {
				agentconn_fail(ac, AGENTCONN_LOCAL,
					       "read from the channel failed: %s",
					       xv_strerror((int)n));
				return;
			}
			closed = 1;
			break;
		}
		budget -= (size_t)n;
		if (agentconn_parse(ac, &freed) < 0)
			return;
	}
	if (closed) {
		agentconn_fail(ac, AGENTCONN_CLOSED, "the agent closed the channel");
		return;
	}
	agentconn_release(&ac->rx, ac->frame_max + AGENTCONN_READ_CHUNK);
	agentconn_flush(ac);
	if (freed && ac->ready && ac->pending_end == 0)
		ac->ops->ready(ac, ac->owner);
}

static void agentconn_io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct agentconn *ac = AC_OF(w, io_w);

	if (chan_wait(ac->ch) < 0) {
		agentconn_fail(ac, AGENTCONN_LOCAL, "channel error: %s", strerror(errno));
		return;
	}
	agentconn_io_work(ac);
}

static void agentconn_kick_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct agentconn *ac = AC_OF(w, kick_w);

	if (ac->pending_end != 0) {
		char why[sizeof ac->pending_why];
		enum agentconn_end e = ac->pending_end;

		memcpy(why, ac->pending_why, sizeof why);
		agentconn_fail(ac, e, "%s", why);
		return;
	}
	if (ac->resume) {
		ac->resume = 0;
		agentconn_io_work(ac);
	}
}

static void agentconn_hello_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct agentconn *ac = AC_OF(w, hello_w);

	agentconn_fail(ac, AGENTCONN_PROTOCOL, "no HELLO_ACK within %g seconds",
		       AGENTCONN_HELLO_TIMEOUT);
}

static void agentconn_rxframe_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct agentconn *ac = AC_OF(w, rxframe_w);
	size_t need = 0;

	xvp_frame(xvbuf_ptr(&ac->rx), xvbuf_len(&ac->rx), &need);
	agentconn_fail(ac, AGENTCONN_PROTOCOL,
		       "a frame was not completed within %g seconds (%zu of %zu bytes)",
		       AGENTCONN_FRAME_TIMEOUT, xvbuf_len(&ac->rx), need);
}

static void agentconn_txstall_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct agentconn *ac = AC_OF(w, txstall_w);

	agentconn_fail(ac, AGENTCONN_PROTOCOL,
		       "the agent did not read its channel for %g seconds (%zu bytes waiting)",
		       AGENTCONN_FRAME_TIMEOUT, xvbuf_len(&ac->tx));
}

static void agentconn_cancel_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct agentconn *ac = AC_OF(w, cancel_w);
	ev_tstamp now = ev_now(loop), oldest = 0;
	uint32_t oldest_id = 0;

	for (unsigned i = 0; i < ac->nslots; i++) {
		const struct agentconn_slot *sl = &ac->slots[i];
		if (sl->id != 0 && sl->ctx == NULL &&
		    (oldest_id == 0 || sl->cancelled_at < oldest)) {
			oldest = sl->cancelled_at;
			oldest_id = sl->id;
		}
	}
	if (oldest_id == 0)
		return;
	/* a timer may fire a hair early against ev_now's resolution */
	if (now - oldest >= AGENTCONN_CANCEL_GRACE - 0.001) {
		agentconn_fail(ac, AGENTCONN_PROTOCOL,
			       "no answer to CANCEL of request %u within %g seconds", oldest_id,
			       AGENTCONN_CANCEL_GRACE);
		return;
	}
	ev_timer_set(&ac->cancel_w, oldest + AGENTCONN_CANCEL_GRACE - now, 0.);
	ev_timer_start(loop, &ac->cancel_w);
}

int agentconn_open(struct agentconn *ac, const struct chan_spec *spec)
{
	struct xvp_msg hello = {.version = XVP_XV,
				.type = XVP_XV_HELLO,
				.proto_min = XVP_PROTO_MIN,
				.proto_max = XVP_PROTO_MAX,
				.text = AGENTCONN_SOFTWARE,
				.text_len = sizeof AGENTCONN_SOFTWARE - 1};
	int err = 0;

	if (ac->ch != NULL)
		return XV_ESTATE;
	ac->ch = chan_client(spec, ac->domid, AGENTCONN_PATH, &err);
	if (ac->ch == NULL)
		return err ? err : XV_ENOPEER;
	ac->ready = 0;
	ac->pongs = 0;
	ac->pending_end = 0;
	ac->resume = 0;
	xvbuf_reset(&ac->rx);
	xvbuf_reset(&ac->tx);
	agentconn_reset_slots(ac);
	hello.max_inflight = ac->nslots;
	hello.max_response = (uint32_t)(ac->frame_max - XVP_HEADER_SIZE);
	ev_io_init(&ac->io_w, agentconn_io_cb, chan_fd(ac->ch), EV_READ);
	ev_init(&ac->hello_w, agentconn_hello_cb);
	ev_init(&ac->rxframe_w, agentconn_rxframe_cb);
	ev_init(&ac->txstall_w, agentconn_txstall_cb);
	ev_init(&ac->cancel_w, agentconn_cancel_cb);
	ev_init(&ac->kick_w, agentconn_kick_cb);
	ev_io_start(ac->loop, &ac->io_w);
	ev_timer_set(&ac->hello_w, AGENTCONN_HELLO_TIMEOUT, 0.);
	ev_timer_start(ac->loop, &ac->hello_w);
	if (agentconn_send(ac, &hello) == 0)
		agentconn_flush(ac);
	return 0;
}

int agentconn_query(struct agentconn *ac, const char *text, size_t len, void *ctx, uint32_t *id,
		    size_t *limit)
{
	struct xvp_msg q = {.version = XVP_XV, .type = XVP_XV_QUERY, .text = text, .text_len = len};
	unsigned index;
	int r;

	if (agentconn_room(ac) == 0 || ac->nfree == 0 || ac->pending_end != 0)
		return XV_ESTATE;
	if (len > ac->max_request - XVP_XV_MIN_BUFFER_LIMIT) {
		if (limit != NULL)
			*limit = ac->max_request - XVP_XV_MIN_BUFFER_LIMIT;
		return XV_E2BIG;
	}
	index = ac->free_slots[ac->nfree - 1];
	ac->gen = (ac->gen + 1) & AGENTCONN_GEN_MASK;
	q.id = (ac->gen << AGENTCONN_SLOT_BITS) | (index + 1);
	r = xvp_encode(&ac->tx, &q);
	if (r == XV_ENOSPC) {
		agentconn_defer_fail(ac, AGENTCONN_PROTOCOL, "the agent does not read its channel");
		return XV_ESTATE;
	}
	if (r < 0)
		return r == XV_ENOMEM ? XV_ENOMEM : XV_EINVAL;
	ac->nfree--;
	ac->slots[index].id = q.id;
	ac->slots[index].ctx = ctx;
	ac->slots[index].cancelled_at = 0;
	ac->used++;
	*id = q.id;
	agentconn_flush(ac);
	return 0;
}

void agentconn_cancel(struct agentconn *ac, uint32_t id)
{
	struct xvp_msg c = {.version = XVP_XV, .type = XVP_XV_CANCEL, .id = id};
	struct agentconn_slot *sl;
	unsigned index;

	if (ac->ch == NULL || (sl = agentconn_slot(ac, id, &index)) == NULL || sl->ctx == NULL)
		return;
	sl->ctx = NULL;
	sl->cancelled_at = ev_now(ac->loop);
	ac->ncancelled++;
	if (!ev_is_active(&ac->cancel_w)) {
		ev_timer_set(&ac->cancel_w, AGENTCONN_CANCEL_GRACE, 0.);
		ev_timer_start(ac->loop, &ac->cancel_w);
	}
	if (agentconn_send(ac, &c) == 0)
		agentconn_flush(ac);
}
