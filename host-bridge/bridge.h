/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * bridge.h - xenvchan-bridge (dom0): the contract between its parts.
 *
 *   core (bridge.c, guests, guest connections): finds guests in xenstore,
 *       keeps one multiplexed channel client per guest agent, and answers
 *       bridge_submit() requests.  Trusts nothing a guest writes or sends.
 *   route.c: "GUEST/COMMAND[!arg...]" -> guest + query (one parser for
 *       every front end, fuzzed).
 *   front ends: the local Unix socket (check_xenvchan) and the NRPE TCP
 *       listener (listener.c, check_nrpe) turn client packets into
 *       bridge_submit() calls and answers into packets.
 *
 * Every answer is a Nagios state and a text.  Answers made by the bridge
 * itself (not by a probe) are UNKNOWN with one of the BRIDGE_MSG_* texts,
 * so that the plugin and the tests can rely on them.
 */
#ifndef XV_BRIDGE_H
#define XV_BRIDGE_H

#include <stddef.h>
#include <ev.h>
#include <xenstore.h>

#include "chan.h"
#include "xvp.h"

#define BRIDGE_NAME "xenvchan-bridge"

/* Texts of the bridge's own answers (printf formats; GUEST is the name the
 * client used, already validated by route_parse). */
#define BRIDGE_MSG_BAD_QUERY "XENVCHAN: bad query: %s"
#define BRIDGE_MSG_NO_GUEST "XENVCHAN: guest '%s' not found"
#define BRIDGE_MSG_NO_AGENT "XENVCHAN: no agent is listening in guest '%s'"
#define BRIDGE_MSG_BUSY "XENVCHAN: guest '%s': too many requests waiting"
#define BRIDGE_MSG_TIMEOUT "XENVCHAN: guest '%s': no answer within %g second%s"
/* the plural "s" for BRIDGE_MSG_TIMEOUT's seconds */
#define BRIDGE_PLURAL(x) ((x) == 1 ? "" : "s")
#define BRIDGE_MSG_PROTOCOL "XENVCHAN: guest '%s': protocol error (%s): disconnected"
#define BRIDGE_MSG_GONE "XENVCHAN: guest '%s' went away"
#define BRIDGE_MSG_SHUTDOWN "XENVCHAN: bridge shutting down"
/* the channel closed while the request was with the agent (agent restart) */
#define BRIDGE_MSG_LOST "XENVCHAN: guest '%s': connection to the agent lost"
/* the guest's data/guest/probes keys are unusable; %s: which and why */
#define BRIDGE_MSG_BAD_ADVERT "XENVCHAN: guest '%s': unusable agent advertisement (%s)"
/* the agent refused the request at the protocol level (XV ERROR with its id) */
#define BRIDGE_MSG_AGENT_ERROR "XENVCHAN: guest '%s': agent refused the request: %s"
/* answer to "_NRPE_CHECK" (or an empty query) without a guest */
#define BRIDGE_VERSION_TEXT BRIDGE_NAME " v" XV_VERSION
/* Marker every timeout answer contains (check_xenvchan -t SECS:STATE maps
 * such answers to STATE). */
#define BRIDGE_TIMEOUT_MARKER "no answer within"

/* ---- route.c ------------------------------------------------------------ */

#define ROUTE_GUEST_MAX 64 /* longest guest name (xl: domain names) */

/* longest COMMAND[!arg...] part: what one XV QUERY to an agent carries */
#define ROUTE_QUERY_MAX (XVP_MAX_BUFFER - XVP_XV_ID_SIZE - 1)

struct route {
	char guest[ROUTE_GUEST_MAX + 1]; /* name or decimal domid; "" for the bridge */
	int domid;			 /* >= 0 when guest is a domid, else -1 */
	const char *query;		 /* "COMMAND[!arg...]", points into the input */
	size_t query_len;
	int version_check; /* the query is _NRPE_CHECK (or empty) */
};

/* Splits an untrusted "GUEST/COMMAND[!arg...]" of len bytes.  GUEST is
 * 1..ROUTE_GUEST_MAX characters of [A-Za-z0-9_.-]; all digits means a
 * domid (0..CHAN_DOMID_MAX).  The query part is passed on unchanged (the
 * agent validates commands and arguments); it holds no NUL and at most
 * ROUTE_QUERY_MAX bytes.  "GUEST/" and "GUEST/_NRPE_CHECK" ask the agent
 * for its version (version_check).  A query with no '/' at all is the
 * bridge's own "_NRPE_CHECK" (or empty: guest "", version_check 1) or an
 * error.  Returns 0 or -1 with a one-line reason in err (never quoting raw
 * bytes); *out is zeroed (domid -1) on error. */
int route_parse(const char *untrusted, size_t len, struct route *out, char *err, size_t errlen);

/* ---- the core ----------------------------------------------------------- */

struct bridge_opts {
	struct chan_spec spec;		     /* how agents are reached (vchan, socket:DIR) */
	unsigned max_inflight;		     /* per guest, sent to the agent at once (16) */
	unsigned max_queue;		     /* per guest, waiting beyond that (64) */
	size_t max_response;		     /* bytes of an answer accepted (65536) */
	double request_timeout;		     /* seconds a request may take, default 60 */
	double reconnect_min, reconnect_max; /* agent reconnect back-off (0.2, 30) */
	unsigned max_guests;		     /* domains tracked (4096) */
};

struct bridge;
struct bridge_req;

/* state: 0..3; text: len bytes (and a NUL), valid only during the call. */
typedef void bridge_done_fn(int state, const char *text, size_t len, void *arg);

/* Creates the core on the loop, connects to xenstore (dom0) and starts
 * watching domains.  NULL and a reason in err on failure.  A xenstore
 * connection lost later is reopened with back-off. */
struct bridge *bridge_new(struct ev_loop *loop, const struct bridge_opts *opts, char *err,
			  size_t errlen);
/* New options on reload (SIGHUP); spec stays as it is (a channel change
 * needs a restart).  Requests already submitted keep their timeout; new
 * ones, queue limits, back-off and max_guests (for domains found from now
 * on) follow at once; max_inflight and max_response are agreed with an
 * agent in the HELLO, so each guest takes them at its next connection.
 * 0, or -1 with err (nothing changed). */
int bridge_set_opts(struct bridge *b, const struct bridge_opts *opts, char *err, size_t errlen);
/* If the xenstore connection is lost, try to reopen it now (SIGHUP). */
void bridge_retry_xenstore(struct bridge *b);
/* Answers everything pending with BRIDGE_MSG_SHUTDOWN, closes all guest
 * channels, frees. */
void bridge_free(struct bridge *b);

/* Submits one request for guest r->guest (r->guest "" with version_check:
 * the bridge answers its own BRIDGE_VERSION_TEXT).  timeout 0 = opts
 * default.
 * done is called exactly once, from the loop (never inside bridge_submit),
 * unless bridge_cancel() comes first.  Returns 0, or -ENOMEM, or
 * -ESHUTDOWN while bridge_free() runs (done never called).  *handle (if not
 * NULL) is valid until done or cancel.  A guest holds at most
 * max_inflight + max_queue requests (up to max_inflight with its agent, the
 * rest waiting); beyond, the answer is BRIDGE_MSG_BUSY. */
int bridge_submit(struct bridge *b, const struct route *r, double timeout, bridge_done_fn *done,
		  void *arg, struct bridge_req **handle);
/* The client went away: done will not be called; a request already sent
 * to the agent is cancelled there (XV CANCEL). */
void bridge_cancel(struct bridge_req *req);

struct bridge_stats {
	unsigned guests, connected; /* domains tracked, agents connected now */
	unsigned long long requests, answered, timeouts, protocol_errors;
	unsigned long long busy;     /* refused with BRIDGE_MSG_BUSY */
	unsigned long long lost;     /* answered BRIDGE_MSG_LOST or _GONE */
	unsigned long long connects; /* agent sessions opened (hello done) */
	int xenstore_up;	     /* the xenstore connection works now */
	unsigned xenstore_losses;    /* xenstore connections lost */
};
void bridge_get_stats(const struct bridge *b, struct bridge_stats *st);

/* ---- listener.c: NRPE over TCP, for unmodified check_nrpe --------------- */

struct listener_opts {
	const char *address;		  /* numeric IPv4/IPv6 address to bind, e.g. "127.0.0.1" */
	int port;			  /* e.g. 5666 */
	int tls;			  /* 0: plain NRPE (check_nrpe -n); 1: TLS */
	const char *cert_file, *key_file; /* server certificate (PEM) */
	const char *ca_file;		  /* CA for client certificates, or NULL */
	int require_client_cert;	  /* 1: refuse clients without a valid one */
	int allow_anonymous;		  /* 1: also offer ADH ciphers (check_nrpe's default) */
	const char *allowed_hosts;	  /* comma list of addresses/CIDRs, NULL = any */
	double timeout;			  /* seconds a client may take to send a query */
	unsigned max_clients;		  /* connections at once */
};

struct listener;
struct listener *listener_start(struct ev_loop *loop, struct bridge *b,
				const struct listener_opts *opts, char *err, size_t errlen);
/* Answers waiting clients with BRIDGE_MSG_SHUTDOWN, closes everything,
 * frees. */
void listener_stop(struct listener *l);
/* Applies opts (SIGHUP) to a running listener: a new address or port is
 * bound first, and only then the old socket closed; TLS is set up afresh
 * from the files (renewed certificates); connections under way finish with
 * what they started with.  A closed listener (listener_close) listens
 * again.  0, or -1 with err: then nothing changed. */
int listener_reload(struct listener *l, const struct listener_opts *opts, char *err, size_t errlen);
/* Stops accepting (nrpe_listen=0 on reload); connections under way are
 * answered as usual.  listener_reload() opens it again. */
void listener_close(struct listener *l);

#endif
