/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * guests.c - domain discovery in xenstore and the validation of what
 * guests write there (see guests.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "guests.h"
#include "log.h"
#include "xsconn.h"
#include "xvp.h"
#include "xvsafe.h"

#define GUESTS_DOMAIN_ROOT "/local/domain"
#define GUESTS_TOKEN_INTRODUCE "@i"
#define GUESTS_TOKEN_RELEASE "@r"
/* "/local/domain/32751/data/guest/probes/transport" and the like */
#define GUESTS_PATH_MAX 96
/* "n32751" */
#define GUESTS_TOKEN_MAX 16

/* ------------------------------------------------------------ parsers */

int guests_parse_domid(const char *untrusted, size_t len)
{
	long v = 0;

	if (untrusted == NULL || len == 0 || len > 5)
		return -1;
	if (len > 1 && untrusted[0] == '0')
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (untrusted[i] < '0' || untrusted[i] > '9')
			return -1;
		v = v * 10 + (untrusted[i] - '0');
	}
	return v <= CHAN_DOMID_MAX ? (int)v : -1;
}

int guests_parse_name(const char *untrusted, size_t len, char *out)
{
	int digits = 1;

	out[0] = '\0';
	if (untrusted == NULL || len == 0 || len > ROUTE_GUEST_MAX)
		return -1;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)untrusted[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '.' || c == '-'))
			return -1;
		if (c < '0' || c > '9')
			digits = 0;
	}
	/* a query naming "123" means domid 123 (as xl does): such a name could
	 * never be asked for, and must not shadow a domid */
	if (digits)
		return -1;
	memcpy(out, untrusted, len);
	out[len] = '\0';
	return 0;
}

/* out->why = "KEY: BEFORE'<value as safe text>'AFTER" */
static void guests_why(struct guest_advert *out, const char *key, const char *before,
		       const char *untrusted, size_t len, const char *after)
{
	char safe[40];

	xvsafe_text(safe, sizeof safe, untrusted ? untrusted : "", untrusted ? len : 0, NULL);
	snprintf(out->why, sizeof out->why, "%s: %s'%s'%s", key, before, safe, after);
}

/* "N" or "N-M", decimal 1..65535 without leading zeros, N <= M. */
static int guests_parse_versions(const char *s, size_t len, unsigned *vmin, unsigned *vmax)
{
	unsigned v[2] = {0, 0};
	size_t i = 0;
	int k = 0;

	for (k = 0; k < 2; k++) {
		size_t start = i;
		while (i < len && s[i] >= '0' && s[i] <= '9') {
			if (i - start >= 5)
				return -1;
			v[k] = v[k] * 10 + (unsigned)(s[i] - '0');
			i++;
		}
		if (i == start || (s[start] == '0') || v[k] > 65535)
			return -1;
		if (i == len)
			break;
		if (s[i] != '-' || k == 1)
			return -1;
		i++;
	}
	if (i != len)
		return -1;
	*vmin = v[0];
	*vmax = k == 0 ? v[0] : v[1];
	return *vmin <= *vmax ? 0 : -1;
}

static int guests_value_is(const char *v, size_t len, const char *want)
{
	return len == strlen(want) && memcmp(v, want, len) == 0;
}

void guests_parse_advert(const struct guests_raw_advert *raw, enum chan_kind want,
			 struct guest_advert *out)
{
	static const char *const keys[] = {XVWIRE_KEY_PROTOCOL, XVWIRE_KEY_VERSIONS,
					   XVWIRE_KEY_TRANSPORT};
	const char *vals[3] = {raw->protocol, raw->versions, raw->transport};
	size_t lens[3] = {raw->protocol_len, raw->versions_len, raw->transport_len};
	enum chan_kind kind;

	memset(out, 0, sizeof *out);
	if (raw->protocol == NULL) {
		snprintf(out->why, sizeof out->why, "no advertisement");
		return;
	}
	out->present = 1;
	for (int i = 0; i < 3; i++) {
		if (vals[i] == NULL) {
			snprintf(out->why, sizeof out->why, "%s: missing", keys[i]);
			return;
		}
		if (lens[i] > GUESTS_VALUE_MAX) {
			snprintf(out->why, sizeof out->why, "%s: value of %zu bytes (at most %d)",
				 keys[i], lens[i], GUESTS_VALUE_MAX);
			return;
		}
	}
	if (!guests_value_is(raw->protocol, raw->protocol_len, XVWIRE_PROTOCOL)) {
		guests_why(out, "protocol", "", raw->protocol, raw->protocol_len,
			   " is not " XVWIRE_PROTOCOL);
		return;
	}
	if (guests_parse_versions(raw->versions, raw->versions_len, &out->vmin, &out->vmax) < 0) {
		guests_why(out, "versions", "", raw->versions, raw->versions_len,
			   " is not N or N-M");
		out->vmin = out->vmax = 0;
		return;
	}
	if (out->vmax < XVP_PROTO_MIN || out->vmin > XVP_PROTO_MAX) {
		guests_why(out, "versions", "no common protocol version (the agent speaks ",
			   raw->versions, raw->versions_len, ")");
		return;
	}
	if (guests_value_is(raw->transport, raw->transport_len, XVWIRE_TRANSPORT_VCHAN)) {
		kind = CHAN_VCHAN;
	} else if (guests_value_is(raw->transport, raw->transport_len, XVWIRE_TRANSPORT_SOCKET)) {
		kind = CHAN_SOCKET;
	} else {
		guests_why(out, "transport", "", raw->transport, raw->transport_len,
			   " is not vchan or socket");
		return;
	}
	out->transport = kind;
	if (kind != want) {
		snprintf(out->why, sizeof out->why,
			 "transport: the agent listens on %s, the bridge uses %s",
			 kind == CHAN_VCHAN ? "vchan" : "socket",
			 want == CHAN_VCHAN ? "vchan" : "socket");
		return;
	}
	out->valid = 1;
}

/* ------------------------------------------------------------ xenstore */

/* Reads of one advertisement retried when the agent changes it under us */
#define GUESTS_TX_ATTEMPTS 4

/* The value at path, or NULL (absent, or unreadable: errno). */
static char *guests_read(struct xs_handle *xs, xs_transaction_t t, const char *path, size_t *len)
{
	unsigned int n = 0;
	char *v = xs_read(xs, t, path, &n);

	*len = v ? n : 0;
	return v;
}

/* Reads the three keys and judges them into *out.  The agent writes and
 * removes them in one transaction; read one by one they may show half of
 * an advertisement going away (protocol there, versions gone), so a half
 * one is read again in a transaction before it is believed.  (Not every
 * read in one: two more round trips each time a guest rewrites its keys.)
 * Returns 0, or -1 with errno when xenstore could not say (*out is then
 * untouched: a failed read is not an agent gone). */
static int guests_read_advert(struct xs_handle *xs, int domid, enum chan_kind want,
			      struct guest_advert *out)
{
	static const char *const keys[] = {XVWIRE_KEY_PROTOCOL, XVWIRE_KEY_VERSIONS,
					   XVWIRE_KEY_TRANSPORT};
	char path[GUESTS_PATH_MAX];

	for (int attempt = 0; attempt <= GUESTS_TX_ATTEMPTS; attempt++) {
		struct guests_raw_advert raw = {0};
		char *untrusted[3] = {NULL, NULL, NULL};
		size_t lens[3] = {0, 0, 0};
		xs_transaction_t t = XBT_NULL;
		int saved = 0, half;

		if (attempt > 0 && (t = xs_transaction_start(xs)) == XBT_NULL)
			return -1;
		for (int i = 0; i < 3; i++) {
			snprintf(path, sizeof path,
				 GUESTS_DOMAIN_ROOT "/%d/" XVWIRE_ADVERT_DIR "/%s", domid, keys[i]);
			untrusted[i] = guests_read(xs, t, path, &lens[i]);
			if (untrusted[i] == NULL && errno != ENOENT) {
				saved = errno;
				break;
			}
			if (i == 0 && untrusted[0] == NULL)
				break;
		}
		if (t != XBT_NULL) {
			if (saved != 0)
				xs_transaction_end(xs, t, true);
			else if (!xs_transaction_end(xs, t, false))
				saved = errno;
		}
		half = untrusted[0] != NULL && (untrusted[1] == NULL || untrusted[2] == NULL);
		if (saved == 0 && (!half || t != XBT_NULL)) {
			raw.protocol = untrusted[0];
			raw.protocol_len = lens[0];
			raw.versions = untrusted[1];
			raw.versions_len = lens[1];
			raw.transport = untrusted[2];
			raw.transport_len = lens[2];
			/* the one place these values are judged */
			guests_parse_advert(&raw, want, out);
		}
		for (int i = 0; i < 3; i++)
			free(untrusted[i]);
		if (saved == 0 && (!half || t != XBT_NULL))
			return 0;
		if (saved != 0 && saved != EAGAIN) {
			errno = saved;
			return -1;
		}
	}
	errno = EAGAIN;
	return -1;
}

/* 1: introduced, 0: not, -1: xenstore could not say (errno). */
static int guests_introduced(struct xs_handle *xs, int domid)
{
	errno = 0;
	if (xs_is_domain_introduced(xs, (unsigned)domid))
		return 1;
	return errno == 0 ? 0 : -1;
}

/* Reads the domain's name into out (kept when the node is gone or cannot
 * be read now).  0, or -1 with errno when xenstore failed. */
static int guests_read_name(struct xs_handle *xs, int domid, char *out)
{
	char path[GUESTS_PATH_MAX];
	char *untrusted;
	size_t len;

	snprintf(path, sizeof path, GUESTS_DOMAIN_ROOT "/%d/name", domid);
	untrusted = guests_read(xs, XBT_NULL, path, &len);
	if (untrusted == NULL) {
		/* ENOENT: gone with the rest of a dying domain's tree (before
		 * its @releaseDomain): keep the name it had, for the logs */
		if (errno == EACCES)
			out[0] = '\0';
		return errno == ENOENT || errno == EACCES ? 0 : -1;
	}
	if (guests_parse_name(untrusted, len, out) < 0) {
		char safe[96];
		xvsafe_text(safe, sizeof safe, untrusted, len, NULL);
		log_info("domain %d: name '%s' cannot be used in queries (only "
			 "[A-Za-z0-9_.-], at most %d, not all digits): reachable by its domid",
			 domid, safe, ROUTE_GUEST_MAX);
	}
	free(untrusted);
	return 0;
}

static void guests_watch_paths(int domid, char *name_path, char *adv_path, char *name_tok,
			       char *adv_tok)
{
	snprintf(name_path, GUESTS_PATH_MAX, GUESTS_DOMAIN_ROOT "/%d/name", domid);
	snprintf(adv_path, GUESTS_PATH_MAX, GUESTS_DOMAIN_ROOT "/%d/" XVWIRE_ADVERT_DIR, domid);
	snprintf(name_tok, GUESTS_TOKEN_MAX, "n%d", domid);
	snprintf(adv_tok, GUESTS_TOKEN_MAX, "a%d", domid);
}

static void guests_log_advert(const struct guest *g)
{
	if (g->advert.valid)
		log_info("domain %d (%s): agent advertised (versions %u-%u)", g->domid,
			 g->name[0] ? g->name : "no name", g->advert.vmin, g->advert.vmax);
	else if (g->advert.present)
		log_warnx("domain %d (%s): unusable agent advertisement: %s", g->domid,
			  g->name[0] ? g->name : "no name", g->advert.why);
	else
		log_debug("domain %d (%s): no agent advertisement", g->domid,
			  g->name[0] ? g->name : "no name");
}

/* A xenstore call failed: the connection may be gone (xsconn checks). */
static void guests_xs_failed(struct guests *gs, const char *what, int domid)
{
	int err = errno;

	if (domid > 0)
		log_warn("domain %d: %s", domid, what);
	else
		log_warn("%s", what);
	xsconn_failed(&gs->xc, err);
}

static void guests_advert_update(struct guest *g)
{
	struct guests *gs = g->gs;
	struct guest_advert a;

	if (gs->xc.xs == NULL)
		return; /* read again once reconnected */
	if (guests_read_advert(gs->xc.xs, g->domid, gs->kind, &a) < 0) {
		/* keep what we knew; try again at the next debounce */
		if (errno == EAGAIN) {
			g->advert_dirty = 1;
			return;
		}
		guests_xs_failed(gs, "cannot read the agent advertisement", g->domid);
		return;
	}
	if (a.present == g->advert.present && a.valid == g->advert.valid &&
	    a.vmin == g->advert.vmin && a.vmax == g->advert.vmax &&
	    a.transport == g->advert.transport && strcmp(a.why, g->advert.why) == 0)
		return;
	g->advert = a;
	guests_log_advert(g);
	if (gs->ops->advert)
		gs->ops->advert(g, gs->arg);
}

static void guests_debounce_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct guest *g = (struct guest *)((char *)w - offsetof(struct guest, debounce_w));

	if (!g->advert_dirty)
		return;
	g->advert_dirty = 0;
	ev_timer_set(&g->debounce_w, GUESTS_ADVERT_DEBOUNCE, 0.);
	ev_timer_start(loop, &g->debounce_w);
	guests_advert_update(g);
}

/* An event under the guest's advertisement: read it now unless it was read
 * less than GUESTS_ADVERT_DEBOUNCE ago, else once that has passed. */
static void guests_advert_event(struct guest *g)
{
	if (ev_is_active(&g->debounce_w)) {
		g->advert_dirty = 1;
		return;
	}
	ev_timer_set(&g->debounce_w, GUESTS_ADVERT_DEBOUNCE, 0.);
	ev_timer_start(g->gs->loop, &g->debounce_w);
	guests_advert_update(g);
}

void guests_refresh_advert(struct guest *g)
{
	/* the event of a change just made may still be on its way: read now
	 * (a client asked; the guest cannot make this happen) */
	g->advert_dirty = 0;
	guests_advert_update(g);
}

/* Watches the guest's name and advertisement.  The watches fire once when
 * set: the advertisement is read again then (debounced), which also covers
 * a change between a read and the watch. */
static void guests_watch_guest(struct guests *gs, struct guest *g)
{
	char np[GUESTS_PATH_MAX], ap[GUESTS_PATH_MAX], nt[GUESTS_TOKEN_MAX], at[GUESTS_TOKEN_MAX];

	guests_watch_paths(g->domid, np, ap, nt, at);
	if (!xs_watch(gs->xc.xs, np, nt) || !xs_watch(gs->xc.xs, ap, at))
		guests_xs_failed(gs, "cannot watch its name and advertisement", g->domid);
}

static void guests_add(struct guests *gs, int domid)
{
	struct guest *g;

	if (gs->count >= gs->max_guests) {
		if (!gs->full_warned)
			log_warnx("more than %u domains (max_guests): domain %d and later ones "
				  "are not served",
				  gs->max_guests, domid);
		gs->full_warned = 1;
		return;
	}
	g = calloc(1, sizeof *g);
	if (g == NULL) {
		log_warnx("out of memory: domain %d not served", domid);
		return;
	}
	g->gs = gs;
	g->domid = domid;
	ev_init(&g->debounce_w, guests_debounce_cb);
	if (guests_read_name(gs->xc.xs, domid, g->name) < 0)
		guests_xs_failed(gs, "cannot read its name", domid);
	guests_watch_guest(gs, g);
	if (guests_read_advert(gs->xc.xs, domid, gs->kind, &g->advert) < 0) {
		snprintf(g->advert.why, sizeof g->advert.why, "not read yet");
		g->advert_dirty = 1;
		if (errno != EAGAIN)
			guests_xs_failed(gs, "cannot read the agent advertisement", domid);
	}
	TAILQ_INSERT_TAIL(&gs->list, g, link);
	gs->by_domid[domid] = g;
	gs->count++;
	log_info("domain %d (%s) found", domid, g->name[0] ? g->name : "no name");
	guests_log_advert(g);
	ev_timer_set(&g->debounce_w, GUESTS_ADVERT_DEBOUNCE, 0.);
	ev_timer_start(gs->loop, &g->debounce_w);
}

static void guests_remove(struct guests *gs, struct guest *g)
{
	if (gs->xc.xs != NULL) {
		char np[GUESTS_PATH_MAX], ap[GUESTS_PATH_MAX], nt[GUESTS_TOKEN_MAX],
		    at[GUESTS_TOKEN_MAX];
		guests_watch_paths(g->domid, np, ap, nt, at);
		xs_unwatch(gs->xc.xs, np, nt);
		xs_unwatch(gs->xc.xs, ap, at);
	}
	if (gs->ops->removed)
		gs->ops->removed(g, gs->arg);
	ev_timer_stop(gs->loop, &g->debounce_w);
	TAILQ_REMOVE(&gs->list, g, link);
	gs->by_domid[g->domid] = NULL;
	gs->count--;
	free(g);
}

/* @introduceDomain (and start-up): add the introduced domains we lack. */
static void guests_rescan(struct guests *gs)
{
	unsigned int num = 0;
	char **dir;

	if (gs->xc.xs == NULL)
		return;
	gs->last_rescan = ev_now(gs->loop);
	dir = xs_directory(gs->xc.xs, XBT_NULL, GUESTS_DOMAIN_ROOT, &num);
	if (dir == NULL) {
		if (errno != ENOENT)
			guests_xs_failed(gs, "cannot list " GUESTS_DOMAIN_ROOT, 0);
		return;
	}
	for (unsigned int i = 0; i < num; i++) {
		int domid = guests_parse_domid(dir[i], strlen(dir[i]));
		int in;

		/* dom0 runs the bridge; it has no agent to reach */
		if (domid <= 0 || gs->by_domid[domid] != NULL)
			continue;
		in = guests_introduced(gs->xc.xs, domid);
		if (in < 0) {
			guests_xs_failed(gs, "cannot ask xenstored about a domain", domid);
			break;
		}
		if (in)
			guests_add(gs, domid);
	}
	free(dir);
}

void guests_rescan_soon(struct guests *gs)
{
	ev_tstamp now = ev_now(gs->loop);

	if (now - gs->last_rescan < GUESTS_RESCAN_INTERVAL)
		return;
	guests_rescan(gs);
}

/* @releaseDomain: drop the domains xenstored no longer knows. */
static void guests_released(struct guests *gs)
{
	struct guest *g, *next;

	if (gs->xc.xs == NULL)
		return;
	for (g = TAILQ_FIRST(&gs->list); g != NULL; g = next) {
		int in;

		next = TAILQ_NEXT(g, link);
		in = guests_introduced(gs->xc.xs, g->domid);
		if (in < 0) {
			/* not knowing is not gone */
			guests_xs_failed(gs, "cannot ask xenstored about a domain", g->domid);
			return;
		}
		if (in)
			continue;
		log_info("domain %d (%s) went away", g->domid, g->name[0] ? g->name : "no name");
		guests_remove(gs, g);
	}
}

/* xsconn: the watch pipe is readable */
static void guests_xs_events(struct xs_handle *xs, void *arg)
{
	struct guests *gs = arg;
	int rescan = 0, release = 0;

	/* Events left over keep libxenstore's pipe readable, so the loop
	 * comes back for them after serving everything else. */
	for (int n = 0; n < GUESTS_EVENTS_PER_WAKEUP; n++) {
		char **vec = xs_check_watch(xs);
		const char *tok;
		struct guest *g;
		int domid;

		if (vec == NULL) {
			if (errno != EAGAIN && errno != EINTR)
				guests_xs_failed(gs, "xenstore watch", 0);
			break;
		}
		tok = vec[XS_WATCH_TOKEN];
		if (strcmp(tok, GUESTS_TOKEN_INTRODUCE) == 0) {
			rescan = 1;
		} else if (strcmp(tok, GUESTS_TOKEN_RELEASE) == 0) {
			release = 1;
		} else if ((tok[0] == 'n' || tok[0] == 'a') &&
			   (domid = guests_parse_domid(tok + 1, strlen(tok + 1))) > 0 &&
			   (g = gs->by_domid[domid]) != NULL) {
			if (tok[0] == 'n') {
				char old[ROUTE_GUEST_MAX + 1];
				memcpy(old, g->name, sizeof old);
				if (guests_read_name(xs, domid, g->name) < 0)
					guests_xs_failed(gs, "cannot read its name", domid);
				if (strcmp(old, g->name) != 0)
					log_info("domain %d: name '%s' -> '%s'", domid, old,
						 g->name);
			} else {
				guests_advert_event(g);
			}
		}
		free(vec);
	}
	if (release)
		guests_released(gs);
	if (rescan)
		guests_rescan(gs);
}

/* xsconn: connected (again) */
static int guests_xs_up(struct xs_handle *xs, int again, void *arg)
{
	struct guests *gs = arg;
	struct guest *g;

	if (!xs_watch(xs, "@introduceDomain", GUESTS_TOKEN_INTRODUCE) ||
	    !xs_watch(xs, "@releaseDomain", GUESTS_TOKEN_RELEASE))
		return -1;
	if (!again)
		return 0;
	/* what happened while we were away: domains gone, domains new, and
	 * every advertisement read again (the watches fire once when set) */
	TAILQ_FOREACH(g, &gs->list, link)
	{
		guests_watch_guest(gs, g);
		g->advert_dirty = 1;
	}
	guests_released(gs);
	guests_rescan(gs);
	log_info("xenstore: %u domains after reconnecting", gs->count);
	return 0;
}

/* xsconn: the connection is gone.  What we know stays (agent connections
 * need no xenstore); nothing reads xenstore until it is back. */
static void guests_xs_down(void *arg)
{
	(void)arg;
}

static const struct xsconn_ops guests_xs_ops = {
    .up = guests_xs_up,
    .down = guests_xs_down,
    .events = guests_xs_events,
};

int guests_init(struct guests *gs, struct ev_loop *loop, enum chan_kind kind, unsigned max_guests,
		const struct guests_ops *ops, void *arg, char *err, size_t errlen)
{
	memset(gs, 0, sizeof *gs);
	gs->loop = loop;
	gs->kind = kind;
	gs->max_guests = max_guests ? max_guests : 1;
	gs->ops = ops;
	gs->arg = arg;
	TAILQ_INIT(&gs->list);
	gs->by_domid = calloc(CHAN_DOMID_MAX + 1, sizeof *gs->by_domid);
	if (gs->by_domid == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (xsconn_open(&gs->xc, loop, &guests_xs_ops, gs) < 0) {
		snprintf(err, errlen,
			 "cannot connect to xenstore and watch @introduceDomain/@releaseDomain: %s",
			 strerror(errno));
		free(gs->by_domid);
		gs->by_domid = NULL;
		return -1;
	}
	guests_rescan(gs);
	return 0;
}

void guests_free(struct guests *gs)
{
	struct guest *g;

	if (gs->by_domid == NULL)
		return;
	while ((g = TAILQ_FIRST(&gs->list)) != NULL)
		guests_remove(gs, g);
	if (gs->xc.xs != NULL) {
		xs_unwatch(gs->xc.xs, "@introduceDomain", GUESTS_TOKEN_INTRODUCE);
		xs_unwatch(gs->xc.xs, "@releaseDomain", GUESTS_TOKEN_RELEASE);
	}
	xsconn_close(&gs->xc);
	free(gs->by_domid);
	gs->by_domid = NULL;
}

void guests_retry_xenstore(struct guests *gs)
{
	xsconn_retry_now(&gs->xc);
}

struct guest *guests_by_domid(const struct guests *gs, int domid)
{
	if (domid < 0 || domid > CHAN_DOMID_MAX)
		return NULL;
	return gs->by_domid[domid];
}

struct guest *guests_by_name(const struct guests *gs, const char *name)
{
	struct guest *g, *best = NULL;

	if (name[0] == '\0')
		return NULL;
	TAILQ_FOREACH(g, &gs->list, link)
	{
		if (strcmp(g->name, name) != 0)
			continue;
		if (best == NULL || (g->advert.valid && !best->advert.valid) ||
		    (g->advert.valid == best->advert.valid && g->domid > best->domid))
			best = g;
	}
	return best;
}

/* ------------------------------------------------------------ one-shot */

int guests_lookup(struct xs_handle *xs, const struct route *r, enum chan_kind want, int *domid,
		  struct guest_advert *adv, char *err, size_t errlen)
{
	int found = -1;

	if (r->domid >= 0) {
		if (r->domid > 0 && xs_is_domain_introduced(xs, (unsigned)r->domid))
			found = r->domid;
	} else {
		unsigned int num = 0;
		char **dir = xs_directory(xs, XBT_NULL, GUESTS_DOMAIN_ROOT, &num);

		if (dir == NULL) {
			snprintf(err, errlen, "cannot list " GUESTS_DOMAIN_ROOT " in xenstore: %s",
				 strerror(errno));
			return -2;
		}
		for (unsigned int i = 0; i < num; i++) {
			char name[ROUTE_GUEST_MAX + 1] = "";
			int id = guests_parse_domid(dir[i], strlen(dir[i]));

			if (id <= 0)
				continue;
			if (guests_read_name(xs, id, name) < 0) {
				snprintf(err, errlen, "cannot read the name of domain %d: %s", id,
					 strerror(errno));
				free(dir);
				return -2;
			}
			if (strcmp(name, r->guest) == 0 && id > found)
				found = id;
		}
		free(dir);
	}
	if (found < 0) {
		snprintf(err, errlen, BRIDGE_MSG_NO_GUEST, r->guest);
		return -1;
	}
	*domid = found;
	if (guests_read_advert(xs, found, want, adv) < 0) {
		snprintf(err, errlen, "cannot read the agent advertisement of domain %d: %s", found,
			 strerror(errno));
		return -2;
	}
	return 0;
}
