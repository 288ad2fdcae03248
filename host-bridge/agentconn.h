/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * agentconn.h - the bridge's client side of the XV extension (PROTOCOL.md
 * section 5) over one channel to one guest agent: HELLO, tagged queries
 * answered out of order, CANCEL, PONG to the agent's PINGs, and the limits.
 *
 * What the agent sends is untrusted.  Every frame header is checked before
 * its body is read, and no frame may exceed the max_response we announced.
 * Anything the protocol does not allow ends the connection:
 *   - a frame that fails to decode (version, type, CRC, length, payload)
 *   - a packet a server never sends, or a second HELLO_ACK
 *   - an answer for an id that is not outstanding
 *   - no HELLO_ACK within AGENTCONN_HELLO_TIMEOUT
 *   - a frame begun and not finished within AGENTCONN_FRAME_TIMEOUT (a
 *     trickle), or our own bytes not taken within the same time
 *   - a cancelled request not answered within AGENTCONN_CANCEL_GRACE
 *   - a PING while XVP_XV_PONG_MAX PONGs wait unwritten (PROTOCOL.md 5.4
 *     rule 7): an agent that pings without reading its channel
 * The owner hears about it once, through ops->down, with a reason.
 *
 * Reads are bounded per wake-up (AGENTCONN_READ_BUDGET): a guest that
 * writes as fast as we read cannot hold the event loop, so it cannot delay
 * another guest's checks.
 *
 * Request timeouts are the owner's: it calls agentconn_cancel() and answers
 * its client itself.  A cancelled request stays outstanding (it holds its
 * slot and its id) until the agent answers it, as the protocol requires.
 *
 * Callbacks run from the event loop.  From inside them the owner may call
 * agentconn_query() and agentconn_cancel(), never agentconn_close(): the
 * connection is still being used by the caller.  agentconn_query() and
 * agentconn_cancel() never end the connection themselves: a write failure
 * is reported through ops->down from the loop, later.
 */
#ifndef XV_AGENTCONN_H
#define XV_AGENTCONN_H

#include <stddef.h>
#include <stdint.h>
#include <ev.h>

#include "chan.h"
#include "xvbuf.h"
#include "xvp.h"
#include "xvwire.h"

#define AGENTCONN_PATH XVWIRE_CHAN_PATH	   /* the agent's rendezvous */
#define AGENTCONN_HELLO_TIMEOUT 5.0	   /* seconds from connect to HELLO_ACK */
#define AGENTCONN_FRAME_TIMEOUT 5.0	   /* seconds for one frame, either way */
#define AGENTCONN_CANCEL_GRACE 10.0	   /* seconds for the answer to a CANCEL */
#define AGENTCONN_MAX_INFLIGHT 1024	   /* most slots one connection may have */
#define AGENTCONN_READ_BUDGET (256 * 1024) /* bytes read per wake-up */
#define AGENTCONN_READ_CHUNK 65536
/* our bytes not yet taken by the agent (queries, cancels, pongs); an agent
 * that lets more pile up does not read its channel and is dropped */
#define AGENTCONN_TX_MAX ((size_t)8 << 20)
#define AGENTCONN_SOFTWARE "xenvchan-bridge " XV_VERSION

enum agentconn_end {
	AGENTCONN_CLOSED = 1, /* the agent closed the channel (stop, restart) */
	AGENTCONN_PROTOCOL,   /* the agent broke the protocol or a time limit */
	AGENTCONN_LOCAL,      /* our side failed (memory, channel error) */
};

struct agentconn;

struct agentconn_ops {
	/* The hello exchange is done, or slots were freed: more queries fit. */
	void (*ready)(struct agentconn *ac, void *owner);
	/* The answer to the query submitted with ctx (not for cancelled
	 * ones).  state 0..3; text: len bytes followed by a NUL, valid during
	 * the call only.  agent_error: the agent refused the request with an
	 * XV ERROR (text is its reason, safe text), not a probe answer. */
	void (*answer)(struct agentconn *ac, void *owner, void *ctx, int state, const char *text,
		       size_t len, int agent_error);
	/* The connection is over and closed; every query not answered is
	 * dropped (no answer callback will come).  detail: one line, safe
	 * text.  The owner may agentconn_open() again, from here or later. */
	void (*down)(struct agentconn *ac, void *owner, enum agentconn_end why, const char *detail);
};

struct agentconn_limits {
	unsigned max_inflight; /* ours, 1..AGENTCONN_MAX_INFLIGHT */
	size_t max_response;   /* largest RESPONSE buffer_length we accept */
};

struct agentconn_slot {
	uint32_t id; /* 0: free */
	void *ctx;   /* NULL once cancelled */
	ev_tstamp cancelled_at;
};

struct agentconn {
	struct ev_loop *loop;
	const struct agentconn_ops *ops;
	void *owner;
	int domid;
	struct chan *ch; /* NULL when not connected */
	int ready;	 /* HELLO_ACK received */
	ev_io io_w;
	ev_timer hello_w, rxframe_w, txstall_w, cancel_w, kick_w;
	struct xvbuf rx, tx;
	size_t frame_max; /* 16 + max_response */
	unsigned pongs;	  /* PONGs queued since tx was last empty */

	/* negotiated */
	unsigned proto;
	unsigned inflight_max; /* min(ours, the agent's) */
	size_t max_request;    /* the agent's largest QUERY buffer_length */

	struct agentconn_slot *slots; /* limits.max_inflight of them */
	unsigned nslots, used, ncancelled;
	unsigned *free_slots; /* stack of free slot indices */
	unsigned nfree;
	uint32_t gen; /* id = gen << AGENTCONN_SLOT_BITS | (slot + 1) */

	/* failure found where it cannot be acted on (a write inside
	 * agentconn_query): reported by kick_w from the loop */
	enum agentconn_end pending_end;
	char pending_why[160];
	int resume; /* kick_w also continues reading (read budget used up) */
};

/* Prepares ac (no channel yet); nothing is allocated beyond the slots.
 * Returns 0 or XV_ENOMEM / XV_EINVAL. */
int agentconn_init(struct agentconn *ac, struct ev_loop *loop, int domid,
		   const struct agentconn_limits *lim, const struct agentconn_ops *ops,
		   void *owner);
/* Closes any channel (no callback) and frees what init allocated. */
void agentconn_free(struct agentconn *ac);

/* Connects to the agent of ac->domid over spec and sends HELLO.  Returns 0
 * (ops->ready comes after the HELLO_ACK, or ops->down), or the XV_* code of
 * chan_client (XV_ENOPEER: nobody listens) with no callback. */
int agentconn_open(struct agentconn *ac, const struct chan_spec *spec);
/* Closes the channel now, without callbacks; outstanding queries are
 * dropped.  Safe when not connected. */
void agentconn_close(struct agentconn *ac);

int agentconn_is_open(const struct agentconn *ac);
int agentconn_is_ready(const struct agentconn *ac);
/* Queries that can be sent now (0 unless ready). */
unsigned agentconn_room(const struct agentconn *ac);

/* Sends one query (text: len bytes, no NUL).  Returns 0 and its id in *id,
 * or XV_ESTATE (not ready or no room), XV_E2BIG (longer than the agent's
 * max_request; *limit = the longest text it takes, if limit is not NULL),
 * XV_ENOMEM. */
int agentconn_query(struct agentconn *ac, const char *text, size_t len, void *ctx, uint32_t *id,
		    size_t *limit);
/* Stops waiting for query id: sends CANCEL; its answer, when it comes, is
 * dropped.  Unknown or already cancelled ids are ignored. */
void agentconn_cancel(struct agentconn *ac, uint32_t id);

#endif
