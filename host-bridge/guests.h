/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * guests.h - the bridge's view of the domains in xenstore: which exist,
 * their names, and whether an agent advertises itself in them.
 *
 * Discovery is event driven, without polling:
 *   @introduceDomain  a domain appeared: list /local/domain for new domids
 *   @releaseDomain    a domain went away: ask xenstored which of ours are
 *                     still introduced (xs_is_domain_introduced; the tree of
 *                     a dying domain may linger, and its death is not always
 *                     signalled over its vchan)
 *   per domain, /local/domain/<domid>/name and .../data/guest/probes: a
 *   rename, and the agent's advertisement coming, changing or going.
 *   (Not /local/domain itself: that watch fires for every write in every
 *   guest's tree, NIC and OS data included, and so would let any guest
 *   wake the bridge at will.)
 * Advertisement events are debounced per guest (GUESTS_ADVERT_DEBOUNCE), so a
 * guest rewriting its keys in a loop costs at most a few reads a second.
 *
 * Everything read from a guest's tree is untrusted.  It enters through the
 * guests_parse_*() functions below (pure, fuzzed by tests/fuzz/fuzz_guestvals)
 * and comes out as checked values; what is logged of it goes through
 * xvsafe_text() (proto/xvsafe.h).
 */
#ifndef XV_GUESTS_H
#define XV_GUESTS_H

#include <stddef.h>
#include <sys/queue.h>
#include <ev.h>
#include <xenstore.h>

#include "bridge.h"
#include "chan.h"
#include "xsconn.h"
#include "xvwire.h"

/* longest advertisement value looked at; the real ones are < 16 bytes */
#define GUESTS_VALUE_MAX 64
/* reads of one guest's advertisement at most this often (seconds) */
#define GUESTS_ADVERT_DEBOUNCE 0.2
/* xenstore watch events handled per wake-up before yielding to the loop */
#define GUESTS_EVENTS_PER_WAKEUP 256
/* unknown guests asked for trigger a rescan at most this often (seconds) */
#define GUESTS_RESCAN_INTERVAL 1.0
/* a reason text (safe text) */
#define GUESTS_WHY_MAX 160

/* A guest's advertisement (data/guest/probes/{protocol,versions,transport})
 * after validation. */
struct guest_advert {
	int present;		  /* the protocol key exists */
	int valid;		  /* present and usable by this bridge */
	unsigned vmin, vmax;	  /* extension versions the agent speaks */
	enum chan_kind transport; /* what it listens on */
	char why[GUESTS_WHY_MAX]; /* when !valid: which key and why (safe text) */
};

struct guests;

struct guest {
	struct guests *gs;
	int domid;
	/* routable name ([A-Za-z0-9_.-], 1..64), "" if none or unusable */
	char name[ROUTE_GUEST_MAX + 1];
	struct guest_advert advert;
	void *user; /* the bridge's per-guest state, NULL until it needs one */

	ev_timer debounce_w;
	int advert_dirty; /* an event came during the debounce interval */
	TAILQ_ENTRY(guest) link;
};
TAILQ_HEAD(guest_list, guest);

struct guests_ops {
	/* The domain is gone (or the bridge stops): g->user must be released;
	 * g is freed right after the call. */
	void (*removed)(struct guest *g, void *arg);
	/* g->advert changed (re-read after an event). */
	void (*advert)(struct guest *g, void *arg);
};

struct guests {
	struct ev_loop *loop;
	struct xsconn xc;    /* the xenstore connection (reopened when lost) */
	enum chan_kind kind; /* the bridge's channel kind, to check transport */
	unsigned max_guests;
	unsigned count;
	int full_warned;
	ev_tstamp last_rescan;
	struct guest_list list;
	struct guest **by_domid; /* CHAN_DOMID_MAX + 1 slots */
	const struct guests_ops *ops;
	void *arg;
};

/* Connects to xenstore (dom0), watches @introduceDomain and @releaseDomain
 * and reads the domains there now.  Returns 0, or -1 with a reason in err.
 * A connection lost later is reopened with back-off (common/xsconn.h); in
 * between, what is known stays and agent connections go on. */
int guests_init(struct guests *gs, struct ev_loop *loop, enum chan_kind kind, unsigned max_guests,
		const struct guests_ops *ops, void *arg, char *err, size_t errlen);
/* Calls ops->removed for every guest, removes the watches, frees. */
void guests_free(struct guests *gs);
/* While the xenstore connection is lost: try again now (SIGHUP). */
void guests_retry_xenstore(struct guests *gs);

/* Reads g's advertisement now: a client asks for a guest whose agent may
 * have just started, and the watch event for it may still be on its way.
 * Driven by client requests only, never by the guest. */
void guests_refresh_advert(struct guest *g);
/* Looks for new domains now (a client asked for one not known yet), at
 * most once per GUESTS_RESCAN_INTERVAL. */
void guests_rescan_soon(struct guests *gs);

struct guest *guests_by_domid(const struct guests *gs, int domid);
/* The guest with that name; with several (a migration in progress), the
 * one with a valid advertisement, else the newest domid. */
struct guest *guests_by_name(const struct guests *gs, const char *name);

/* ---- parsers of guest-supplied values (pure, no xenstore) ---------------- */

/* A domid as xenstore names it ("/local/domain/<domid>", our own watch
 * tokens): 1-5 decimal digits, no leading zero, at most CHAN_DOMID_MAX.
 * Returns the domid or -1. */
int guests_parse_domid(const char *untrusted, size_t len);

/* A domain name (/local/domain/<domid>/name) into out (ROUTE_GUEST_MAX + 1
 * bytes): 1..ROUTE_GUEST_MAX characters of [A-Za-z0-9_.-], not all digits
 * (route_parse takes those for a domid): the names a query can use.
 * Returns 0, or -1 with out = "" (the domain can then only be reached by
 * its domid). */
int guests_parse_name(const char *untrusted, size_t len, char *out);

/* The three advertisement values as read (value NULL: key absent). */
struct guests_raw_advert {
	const char *protocol, *versions, *transport;
	size_t protocol_len, versions_len, transport_len;
};

/* Validates an advertisement for a bridge using channel kind `want`. */
void guests_parse_advert(const struct guests_raw_advert *raw, enum chan_kind want,
			 struct guest_advert *out);

/* ---- one-shot lookup (check_xenvchan --direct) --------------------------- */

/* Resolves r->guest (name or domid) on xs: *domid and *adv (validated for
 * channel kind `want`).  Returns 0, -1 if no such domain (err says so), -2
 * if xenstore failed (err says why). */
int guests_lookup(struct xs_handle *xs, const struct route *r, enum chan_kind want, int *domid,
		  struct guest_advert *adv, char *err, size_t errlen);

#endif
