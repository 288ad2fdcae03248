/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * listener.c - the bridge's NRPE TCP listener, so that unmodified check_nrpe
 * clients reach guests: `check_nrpe -H dom0 -c web01/check_load`.
 *
 * It speaks real NRPE, one request per connection: a v2 or v4 QUERY in, a
 * RESPONSE of the same version out, then close.  Every connection walks
 * through these states, each bounded in time:
 *
 *   PEEK       (TLS only) first byte: a TLS ClientHello, or a plain NRPE
 *              packet from `check_nrpe -n`, which is answered in plain text
 *              with the reason it is refused
 *   HANDSHAKE  non-blocking SSL_accept                 } opts->timeout from
 *   READ       the query, decoded with xvp_frame/decode } accept
 *   WAIT       the bridge works on it; a client that resets cancels it
 *              (the bridge's request timeout bounds this state)
 *   WRITE      the answer                              opts->timeout
 *   LINGER     close_notify and FIN sent, what the client still sends is
 *              drained, so that closing never resets the connection under
 *              an answer the client has not read yet   LISTENER_LINGER
 *
 * Refusals (host not allowed, too many connections, bad packet, bad query,
 * client certificate) are answered as UNKNOWN with a "XENVCHAN: ..." reason
 * in the client's packet version.  Only bytes that cannot be answered at
 * all (not NRPE, a failed TLS handshake) are logged and closed.
 *
 * Decisions that differ from, or copy, nrpe on purpose:
 *  - v3 queries are closed without an answer, as nrpe >= 4 does:
 *    check_nrpe -3 then retries in v2 on a new connection and gets its
 *    answer (after printing one line about the failed read).  An answer in
 *    v2 or v4 would not help: check_nrpe accepts only the version it sent.
 *  - Refused hosts get a reason where nrpe closes silently (see
 *    listener_conn_new).
 *  - One trailing newline of the probe's output is dropped, as nrpe does,
 *    so that check_nrpe, which adds one, prints exactly the plugin output.
 *  - A client that half-closes its side (shutdown(SHUT_WR)) after its
 *    query still gets the answer, as from nrpe: the end of its stream is
 *    not the end of the client.  Only a reset, or a failed write of the
 *    answer, means gone; a reset cancels the request down to the probe.
 *    TCP cannot tell a client that closed entirely (a check_nrpe that timed
 *    out) from one that half-closed: its probe runs to its end, bounded by
 *    the probe's own timeout, and the answer then finds the client gone.
 */
#define _GNU_SOURCE /* accept4 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>

#include "allowed.h"
#include "bridge.h"
#include "log.h"
#include "tls.h"
#include "xvbuf.h"
#include "xverr.h"
#include "xvp.h"
#include "xvsafe.h"

#define LISTENER_DEFAULT_TIMEOUT 10.0	/* opts->timeout 0: check_nrpe's own default */
#define LISTENER_DEFAULT_MAX_CLIENTS 64 /* opts->max_clients 0 */
#define LISTENER_MAX_TIMEOUT 86400.0
#define LISTENER_MAX_CLIENTS_LIMIT 65536
/* Refusals need a handshake and a query before the answer can be framed:
 * that work is capped apart from max_clients; beyond the cap, connections
 * are closed at once. */
#define LISTENER_REFUSING_MAX 16
#define LISTENER_BACKLOG 128
#define LISTENER_ACCEPT_BATCH 32	 /* accepts per wake-up, to stay fair to the loop */
#define LISTENER_ACCEPT_PAUSE 0.5	 /* seconds without accepting when out of fds */
#define LISTENER_QUERY_MAX XVP_MAX_FRAME /* v4 allows a 65536-byte query buffer */
#define LISTENER_LINGER 2.0		 /* seconds to drain a connection being closed */
#define LISTENER_DRAIN_MAX 65536	 /* bytes discarded before closing anyway */
#define LISTENER_LOG_BURST 20		 /* per-connection warnings per second */
#define LISTENER_REASON_MAX 512
/* TLS set-ups replaced by reloads and still used by connections under way;
 * a reload beyond is refused (rather than freeing one in use) */
#define LISTENER_RETIRED_MAX 8

#define LISTENER_MSG_NOT_ALLOWED "XENVCHAN: host %s is not allowed"
#define LISTENER_MSG_TOO_MANY "XENVCHAN: too many connections (%u at once)"
#define LISTENER_MSG_BAD_PACKET "XENVCHAN: bad packet: %s"
#define LISTENER_MSG_TLS_ONLY "XENVCHAN: this listener speaks TLS only: call check_nrpe without -n"
#define LISTENER_MSG_SLOW "XENVCHAN: no complete query within %g seconds (%zu of %zu bytes)"
#define LISTENER_MSG_NOMEM "XENVCHAN: bridge out of memory"

#define container(ptr, type, member) ((type *)(void *)((char *)(ptr)-offsetof(type, member)))

enum conn_state {
	CONN_PEEK,
	CONN_HANDSHAKE,
	CONN_READ,
	CONN_WAIT,
	CONN_WRITE,
	CONN_LINGER,
};

struct conn {
	LIST_ENTRY(conn) link;
	struct listener *l;
	int fd;
	struct tls_server *tls; /* l->tls when it came (a reload may replace that) */
	SSL *ssl;
	int tls_up; /* handshake completed, no fatal TLS error: close_notify may be sent */
	enum conn_state state;
	ev_io io_w;
	ev_timer timer_w;
	int events;
	struct xvbuf rx, tx;
	uint16_t version;		  /* of the query (2 or 4) once known, 0 before */
	int refusing;			  /* counted in nrefusing, not nclients */
	char refuse[LISTENER_REASON_MAX]; /* non-empty: answered with this, never routed */
	struct bridge_req *req;
	size_t drained;
	char host[INET6_ADDRSTRLEN]; /* client address, IPv4-mapped shown as IPv4 */
	char peer[INET6_ADDRSTRLEN + 10];
};
LIST_HEAD(conn_list, conn);

struct listener {
	struct ev_loop *loop;
	struct bridge *bridge;
	struct tls_server *tls;
	int fd;
	ev_io accept_w;
	ev_timer pause_w;
	double timeout;
	unsigned max_clients;
	unsigned nclients, nrefusing;
	int stopping;		  /* listener_stop() runs: no lingering */
	struct listener_acl *acl; /* NULL: every host is allowed */
	size_t nacl;
	/* TLS contexts replaced by listener_reload() that connections under
	 * way still use: freed with the last of them */
	struct tls_server *retired[LISTENER_RETIRED_MAX];
	unsigned nretired;
	char *address; /* what fd is bound to, for listener_reload() */
	int port;
	struct conn_list conns;
	ev_tstamp log_window;
	unsigned log_count, log_suppressed;
	char name[INET6_ADDRSTRLEN + 10];
};

static void conn_close(struct conn *c);
static void conn_read(struct conn *c);
static void conn_write(struct conn *c);
static void conn_linger(struct conn *c);

/* ---- logging -------------------------------------------------------------- */

/* Per-connection warnings are what a flood produces: at most
 * LISTENER_LOG_BURST a second, then one line with the count left out. */
static int listener_log_ok(struct listener *l)
{
	ev_tstamp now = ev_now(l->loop);

	if (now - l->log_window >= 1.0) {
		if (l->log_suppressed)
			log_warnx("nrpe: %u more messages about connections suppressed",
				  l->log_suppressed);
		l->log_window = now;
		l->log_count = 0;
		l->log_suppressed = 0;
	}
	if (l->log_count < LISTENER_LOG_BURST) {
		l->log_count++;
		return 1;
	}
	l->log_suppressed++;
	return 0;
}

#define conn_warnx(c, fmt, ...)                                                                    \
	do {                                                                                       \
		if (listener_log_ok((c)->l))                                                       \
			log_warnx("nrpe: %s: " fmt, (c)->peer, __VA_ARGS__);                       \
	} while (0)

/* ---- allowed_hosts -------------------------------------------------------- */

/* addr (16 bytes) is in ::ffff:0:0/96 */
static int listener_acl_v4mapped(const uint8_t *addr)
{
	static const uint8_t prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

	return memcmp(addr, prefix, sizeof prefix) == 0;
}

static int listener_acl_parse_one(const char *s, struct listener_acl *a, char *err, size_t errlen)
{
	char addr[LISTENER_ACL_ENTRY_MAX + 1];
	const char *slash = strchr(s, '/');
	size_t alen = slash ? (size_t)(slash - s) : strlen(s);
	unsigned maxbits, bits;

	if (alen == 0 || alen >= sizeof addr) {
		snprintf(err, errlen, "allowed_hosts: '%s' is not an address or CIDR range", s);
		return -1;
	}
	memcpy(addr, s, alen);
	addr[alen] = '\0';
	memset(a, 0, sizeof *a);
	if (inet_pton(AF_INET, addr, a->addr) == 1) {
		a->family = AF_INET;
		maxbits = 32;
	} else if (inet_pton(AF_INET6, addr, a->addr) == 1) {
		a->family = AF_INET6;
		maxbits = 128;
	} else {
		snprintf(
		    err, errlen,
		    "allowed_hosts: '%s' is not a numeric IPv4 or IPv6 address (host names are "
		    "not resolved: a name could change under a security rule)",
		    addr);
		return -1;
	}
	bits = maxbits;
	if (slash) {
		const char *p = slash + 1;

		if (*p == '\0' || strlen(p) > 3) {
			snprintf(err, errlen, "allowed_hosts: bad prefix length in '%s'", s);
			return -1;
		}
		bits = 0;
		for (; *p; p++) {
			if (*p < '0' || *p > '9') {
				snprintf(err, errlen, "allowed_hosts: bad prefix length in '%s'",
					 s);
				return -1;
			}
			bits = bits * 10 + (unsigned)(*p - '0');
		}
		if (bits > maxbits) {
			snprintf(err, errlen, "allowed_hosts: prefix length in '%s' is above %u", s,
				 maxbits);
			return -1;
		}
	}
	/* clients in ::ffff:0:0/96 are matched as IPv4 (listener_client_name):
	 * an entry written in that range becomes the IPv4 entry it means */
	if (a->family == AF_INET6 && listener_acl_v4mapped(a->addr)) {
		if (bits < 96) {
			snprintf(err, errlen,
				 "allowed_hosts: '%s': an IPv4-mapped address takes a prefix of "
				 "96 or more (IPv4 clients are matched as IPv4: write the IPv4 "
				 "range)",
				 s);
			return -1;
		}
		memmove(a->addr, a->addr + 12, 4);
		memset(a->addr + 4, 0, 12);
		a->family = AF_INET;
		bits -= 96;
	}
	a->bits = bits;
	/* host bits beyond the prefix are ignored, as in a route */
	for (unsigned i = 0; i < 16; i++) {
		unsigned lo = i * 8;
		if (lo >= bits)
			a->addr[i] = 0;
		else if (bits - lo < 8)
			a->addr[i] &= (uint8_t)(0xff00u >> (bits - lo));
	}
	return 0;
}

int listener_acl_parse(const char *list, struct listener_acl **aclp, size_t *naclp, char *err,
		       size_t errlen)
{
	const char *p = list;
	struct listener_acl *acl;
	size_t nacl = 0;

	*aclp = NULL;
	*naclp = 0;
	acl = calloc(LISTENER_ACL_MAX, sizeof *acl);
	if (!acl) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (;;) {
		char entry[LISTENER_ACL_ENTRY_MAX + 1];
		const char *end = strchr(p, ',');
		size_t n = end ? (size_t)(end - p) : strlen(p);

		while (n > 0 && (*p == ' ' || *p == '\t')) {
			p++;
			n--;
		}
		while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
			n--;
		if (n == 0) {
			snprintf(err, errlen, "allowed_hosts: empty entry in '%s'", list);
			break;
		}
		if (n >= sizeof entry) {
			snprintf(err, errlen, "allowed_hosts: entry '%.*s...' is too long", 20, p);
			break;
		}
		if (nacl == LISTENER_ACL_MAX) {
			snprintf(err, errlen, "allowed_hosts: more than %d entries",
				 LISTENER_ACL_MAX);
			break;
		}
		memcpy(entry, p, n);
		entry[n] = '\0';
		if (listener_acl_parse_one(entry, &acl[nacl], err, errlen) < 0)
			break;
		nacl++;
		if (!end) {
			*aclp = acl;
			*naclp = nacl;
			return 0;
		}
		p = end + 1;
	}
	free(acl);
	return -1;
}

static int listener_prefix_match(const uint8_t *a, const uint8_t *b, unsigned bits)
{
	unsigned whole = bits / 8, rest = bits % 8;

	if (memcmp(a, b, whole) != 0)
		return 0;
	if (rest == 0)
		return 1;
	return ((a[whole] ^ b[whole]) & (uint8_t)(0xff00u >> rest)) == 0;
}

int listener_acl_allows(const struct listener_acl *acl, size_t nacl, int family,
			const uint8_t *addr)
{
	if (!acl)
		return 1;
	for (size_t i = 0; i < nacl; i++)
		if (acl[i].family == family &&
		    listener_prefix_match(acl[i].addr, addr, acl[i].bits))
			return 1;
	return 0;
}

/* ---- connections ---------------------------------------------------------- */

/* Watches fd for events (EV_READ or EV_WRITE), restarting the watcher only
 * when they change. */
static void conn_want(struct conn *c, int events)
{
	if (c->events == events && ev_is_active(&c->io_w))
		return;
	ev_io_stop(c->l->loop, &c->io_w);
	ev_io_set(&c->io_w, c->fd, events);
	ev_io_start(c->l->loop, &c->io_w);
	c->events = events;
}

static void conn_timer(struct conn *c, double seconds)
{
	ev_timer_stop(c->l->loop, &c->timer_w);
	ev_timer_set(&c->timer_w, seconds, 0.);
	ev_timer_start(c->l->loop, &c->timer_w);
}

/* Frees the retired TLS contexts that no connection uses any more. */
static void listener_tls_sweep(struct listener *l)
{
	for (unsigned i = 0; i < l->nretired;) {
		struct conn *c;

		LIST_FOREACH(c, &l->conns, link)
		if (c->tls == l->retired[i])
			break;
		if (c) {
			i++;
			continue;
		}
		tls_server_free(l->retired[i]);
		l->retired[i] = l->retired[--l->nretired];
	}
}

static void conn_close(struct conn *c)
{
	struct listener *l = c->l;
	int sweep = l->nretired > 0 && c->tls != NULL && c->tls != l->tls;

	if (c->req) {
		bridge_cancel(c->req);
		c->req = NULL;
	}
	ev_io_stop(l->loop, &c->io_w);
	ev_timer_stop(l->loop, &c->timer_w);
	SSL_free(c->ssl);
	close(c->fd);
	xvbuf_free(&c->rx);
	xvbuf_free(&c->tx);
	LIST_REMOVE(c, link);
	if (c->refusing)
		l->nrefusing--;
	else
		l->nclients--;
	free(c);
	if (sweep && !l->stopping)
		listener_tls_sweep(l);
}

enum { CONN_IO_AGAIN = 0, CONN_IO_EOF = -1, CONN_IO_ERROR = -2 };

/* The result of one SSL_read/SSL_write r, as conn_recv/conn_send return
 * it; arms the watcher for what TLS needs next. */
static ssize_t conn_tls_io(struct conn *c, int r, char *why, size_t whylen)
{
	switch (tls_io_result(c->ssl, r, why, whylen)) {
	case TLS_IO_OK:
		return r;
	case TLS_IO_WANT_READ:
		conn_want(c, EV_READ);
		return CONN_IO_AGAIN;
	case TLS_IO_WANT_WRITE:
		conn_want(c, EV_WRITE);
		return CONN_IO_AGAIN;
	case TLS_IO_EOF:
		c->tls_up = 0;
		return CONN_IO_EOF;
	default:
		c->tls_up = 0;
		return CONN_IO_ERROR;
	}
}

/* One read of up to len bytes from the client, through TLS if it is on.
 * Returns the count (> 0), CONN_IO_AGAIN (the watcher then waits for what
 * TLS needs), CONN_IO_EOF or CONN_IO_ERROR (reason in why). */
static ssize_t conn_recv(struct conn *c, void *buf, size_t len, char *why, size_t whylen)
{
	ssize_t n;

	if (c->ssl) {
		int r;

		ERR_clear_error();
		errno = 0;
		r = SSL_read(c->ssl, buf, len > INT32_MAX ? INT32_MAX : (int)len);
		return conn_tls_io(c, r, why, whylen);
	}
	n = recv(c->fd, buf, len, 0);
	if (n > 0)
		return n;
	if (n == 0)
		return CONN_IO_EOF;
	if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
		conn_want(c, EV_READ);
		return CONN_IO_AGAIN;
	}
	snprintf(why, whylen, "%s", strerror(errno));
	return CONN_IO_ERROR;
}

/* As conn_recv, for writing. */
static ssize_t conn_send(struct conn *c, const void *buf, size_t len, char *why, size_t whylen)
{
	ssize_t n;

	if (c->ssl) {
		int r;

		ERR_clear_error();
		errno = 0;
		r = SSL_write(c->ssl, buf, len > INT32_MAX ? INT32_MAX : (int)len);
		return conn_tls_io(c, r, why, whylen);
	}
	n = send(c->fd, buf, len, MSG_NOSIGNAL);
	if (n >= 0)
		return n;
	if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
		conn_want(c, EV_WRITE);
		return CONN_IO_AGAIN;
	}
	if (errno == EPIPE || errno == ECONNRESET)
		return CONN_IO_EOF;
	snprintf(why, whylen, "%s", strerror(errno));
	return CONN_IO_ERROR;
}

/* Sends the answer (state, text of len bytes) in the query's version.  The
 * text ends at its first NUL and at the longest text the version carries:
 * 1023 bytes in v2, 65535 in v4, as nrpe cuts them. */
static void conn_answer(struct conn *c, int state, const char *text, size_t len)
{
	struct xvp_msg m = {0};
	const char *nul = memchr(text, '\0', len);
	int max, r;

	if (nul)
		len = (size_t)(nul - text);
	m.version = c->version;
	m.type = XVP_RESPONSE;
	m.result =
	    (int16_t)(state >= XVP_RESULT_OK && state <= XVP_RESULT_UNKNOWN ? state
									    : XVP_RESULT_UNKNOWN);
	max = xvp_max_text(m.version, m.type);
	if (max < 0) {
		/* no version known: nothing can frame an answer */
		conn_linger(c);
		return;
	}
	if (len > (size_t)max)
		len = (size_t)max;
	m.text = text;
	m.text_len = len;
	xvbuf_reset(&c->tx);
	r = xvp_encode(&c->tx, &m);
	if (r < 0) {
		log_warnx("nrpe: %s: cannot encode the answer: %s", c->peer, xv_strerror(r));
		conn_close(c);
		return;
	}
	c->state = CONN_WRITE;
	conn_timer(c, c->l->timeout);
	conn_write(c);
}

static void conn_answerf(struct conn *c, int state, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void conn_answerf(struct conn *c, int state, const char *fmt, ...)
{
	char text[LISTENER_REASON_MAX];
	va_list ap;
	size_t n;

	va_start(ap, fmt);
	n = xvp_vtext(text, sizeof text, fmt, ap);
	va_end(ap);
	conn_answer(c, state, text, n);
}

static void conn_write(struct conn *c)
{
	char why[256];

	while (xvbuf_len(&c->tx) > 0) {
		ssize_t n = conn_send(c, xvbuf_ptr(&c->tx), xvbuf_len(&c->tx), why, sizeof why);

		if (n == CONN_IO_AGAIN)
			return;
		if (n < 0) {
			if (n == CONN_IO_ERROR)
				conn_warnx(c, "cannot send the answer: %s", why);
			else
				log_info("nrpe: %s: went away before reading its answer", c->peer);
			conn_close(c);
			return;
		}
		xvbuf_consume(&c->tx, (size_t)n);
	}
	conn_linger(c);
}

/* Reads and discards whatever the client still sends, until it closes, the
 * cap or the linger timer. */
static void conn_drain(struct conn *c)
{
	uint8_t scratch[4096];

	for (;;) {
		ssize_t n = recv(c->fd, scratch, sizeof scratch, 0);

		if (n > 0) {
			c->drained += (size_t)n;
			if (c->drained > LISTENER_DRAIN_MAX) {
				conn_close(c);
				return;
			}
			continue;
		}
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
			return;
		conn_close(c); /* EOF or error: done */
		return;
	}
}

static void conn_linger(struct conn *c)
{
	if (c->l->stopping) {
		conn_close(c);
		return;
	}
	c->state = CONN_LINGER;
	if (c->req) {
		bridge_cancel(c->req);
		c->req = NULL;
	}
	if (c->ssl && c->tls_up) {
		/* one attempt at close_notify; the answer is already out */
		ERR_clear_error();
		SSL_shutdown(c->ssl);
		ERR_clear_error();
	}
	shutdown(c->fd, SHUT_WR);
	c->drained = 0;
	conn_want(c, EV_READ);
	conn_timer(c, LISTENER_LINGER);
	conn_drain(c);
}

static void conn_done(int state, const char *text, size_t len, void *arg)
{
	struct conn *c = arg;

	c->req = NULL;
	log_debug("nrpe: %s: answered, state %d, %zu bytes", c->peer, state, len);
	/* nrpe drops one trailing newline of the plugin's output and
	 * check_nrpe prints the text with one: the same here, so that
	 * check_nrpe shows exactly what the plugin printed */
	if (len > 0 && text[len - 1] == '\n')
		len--;
	conn_answer(c, state, text, len);
}

/* A whole query of framelen bytes is in rx. */
static void conn_query(struct conn *c)
{
	struct listener *l = c->l;
	struct xvp_msg m;
	struct route r;
	char why[256], shown[80];
	int rc, n = xvp_decode(xvbuf_ptr(&c->rx), xvbuf_len(&c->rx), &m);

	ev_timer_stop(l->loop, &c->timer_w);
	if (n < 0) {
		conn_warnx(c, "bad packet: %s", m.why);
		conn_answerf(c, XVP_RESULT_UNKNOWN, LISTENER_MSG_BAD_PACKET, m.why);
		return;
	}
	if (m.type != XVP_QUERY) {
		conn_warnx(c, "bad packet: %s instead of a query",
			   xvp_kind_name(m.version, m.type));
		conn_answerf(c, XVP_RESULT_UNKNOWN, "XENVCHAN: bad packet: %s instead of a query",
			     xvp_kind_name(m.version, m.type));
		return;
	}
	if (c->refuse[0]) {
		conn_answer(c, XVP_RESULT_UNKNOWN, c->refuse, strlen(c->refuse));
		return;
	}
	xvsafe_text(shown, sizeof shown, m.text, m.text_len, NULL);
	if (route_parse(m.text, m.text_len, &r, why, sizeof why) < 0) {
		log_info("nrpe: %s: bad query '%s': %s", c->peer, shown, why);
		conn_answerf(c, XVP_RESULT_UNKNOWN, BRIDGE_MSG_BAD_QUERY, why);
		return;
	}
	/* everything goes through the bridge, the bridge's own version
	 * check (no "GUEST/") included: one place answers each kind */
	log_debug("nrpe: %s: v%u query '%s'", c->peer, c->version, shown);
	c->state = CONN_WAIT;
	/* watch for the client going away (check_nrpe's own timeout) */
	conn_want(c, EV_READ);
	rc = bridge_submit(l->bridge, &r, 0, conn_done, c, &c->req);
	if (rc < 0) {
		c->req = NULL;
		if (rc == -ESHUTDOWN) {
			conn_answer(c, XVP_RESULT_UNKNOWN, BRIDGE_MSG_SHUTDOWN,
				    strlen(BRIDGE_MSG_SHUTDOWN));
		} else {
			log_warnx("nrpe: %s: cannot submit the request: out of memory", c->peer);
			conn_answer(c, XVP_RESULT_UNKNOWN, LISTENER_MSG_NOMEM,
				    strlen(LISTENER_MSG_NOMEM));
		}
	}
}

/* The header in rx cannot be a query we answer (err from xvp_frame). */
static void conn_bad_header(struct conn *c, int err)
{
	struct xvp_msg m;

	(void)xvp_decode(xvbuf_ptr(&c->rx), xvbuf_len(&c->rx), &m);
	if (err == XV_EV3) {
		/* nrpe >= 4 refuses v3 by closing; check_nrpe -3 then retries
		 * with v2, which works */
		log_info("nrpe: %s: NRPE v3 query: closed so that the client retries with v2",
			 c->peer);
		conn_linger(c);
		return;
	}
	if (c->version == 0) {
		conn_warnx(c, "not an NRPE query (%s): closed", m.why);
		conn_linger(c);
		return;
	}
	conn_warnx(c, "bad packet: %s", m.why);
	conn_answerf(c, XVP_RESULT_UNKNOWN, LISTENER_MSG_BAD_PACKET, m.why);
}

static void conn_read(struct conn *c)
{
	char why[256];

	for (;;) {
		size_t need = 0, len = xvbuf_len(&c->rx);
		int r = xvp_frame(xvbuf_ptr(&c->rx), len, &need);
		uint8_t *dst;
		ssize_t n;

		if (c->version == 0 && len >= 2) {
			uint16_t v = 0;

			(void)xvbuf_peek_u16(&c->rx, 0, &v);
			if (v == XVP_V2 || v == XVP_V4) {
				c->version = v;
			} else if (v == XVP_XV) {
				conn_warnx(c, "%s",
					   "xenvchan extension packet on the NRPE port: closed");
				conn_linger(c);
				return;
			}
		}
		if (r > 0) {
			conn_query(c);
			return;
		}
		if (r != XV_EAGAIN) {
			conn_bad_header(c, r);
			return;
		}
		if (need <= len || need - len > xvbuf_avail(&c->rx)) {
			conn_bad_header(c, XV_ELENGTH); /* cannot happen: need <= XVP_MAX_FRAME */
			return;
		}
		/* read no further than the frame: the rest is the client's */
		if (xvbuf_reserve(&c->rx, need - len, &dst) < 0) {
			log_warnx("nrpe: %s: out of memory", c->peer);
			conn_close(c);
			return;
		}
		n = conn_recv(c, dst, need - len, why, sizeof why);
		xvbuf_trim(&c->rx, n > 0 ? need - len - (size_t)n : need - len);
		if (n == CONN_IO_AGAIN)
			return;
		if (n == CONN_IO_EOF) {
			if (len > 0)
				conn_warnx(c, "closed after %zu bytes of a query", len);
			else
				log_debug("nrpe: %s: closed without a query", c->peer);
			conn_close(c);
			return;
		}
		if (n < 0) {
			conn_warnx(c, "read failed: %s", why);
			conn_close(c);
			return;
		}
	}
}

/* WAIT: the query is with the bridge; anything readable now is the client
 * half-closing, resetting, or bytes beyond its one query (dropped).  The
 * end of its stream is not the end of the client: shutdown(SHUT_WR) after
 * the query is valid TCP and nrpe answers it, so the answer still goes out
 * and only a reset (here) or a failed write (conn_write) means gone. */
static void conn_watch(struct conn *c)
{
	char scratch[1024], why[256];

	for (;;) {
		ssize_t n = conn_recv(c, scratch, sizeof scratch, why, sizeof why);

		if (n == CONN_IO_AGAIN)
			return;
		if (n == CONN_IO_EOF) {
			log_debug("nrpe: %s: half-closed: waiting for its answer", c->peer);
			/* nothing more to read: no more read events */
			ev_io_stop(c->l->loop, &c->io_w);
			c->events = 0;
			return;
		}
		if (n > 0) {
			c->drained += (size_t)n;
			if (c->drained <= LISTENER_DRAIN_MAX)
				continue;
			conn_warnx(c, "sent more than %d bytes after its query: closed",
				   LISTENER_DRAIN_MAX);
		} else {
			log_info("nrpe: %s: went away before its answer: request cancelled (%s)",
				 c->peer, why);
		}
		conn_close(c);
		return;
	}
}

static void conn_handshake(struct conn *c)
{
	char why[256];
	const char *refusal;
	int r;

	ERR_clear_error();
	errno = 0;
	r = SSL_accept(c->ssl);
	switch (tls_io_result(c->ssl, r, why, sizeof why)) {
	case TLS_IO_OK:
		break;
	case TLS_IO_WANT_READ:
		conn_want(c, EV_READ);
		return;
	case TLS_IO_WANT_WRITE:
		conn_want(c, EV_WRITE);
		return;
	case TLS_IO_EOF:
		log_debug("nrpe: %s: closed during the TLS handshake", c->peer);
		conn_close(c);
		return;
	default:
		conn_warnx(c, "TLS handshake failed: %s", why);
		conn_close(c);
		return;
	}
	c->tls_up = 1;
	if (log_get_level() >= LOG_LVL_DEBUG) {
		tls_describe(c->ssl, why, sizeof why);
		log_debug("nrpe: %s: %s", c->peer, why);
	}
	if (!c->refuse[0]) {
		refusal = tls_client_refusal(c->tls, c->ssl, why, sizeof why);
		if (refusal) {
			conn_warnx(c, "refused: %s", refusal);
			snprintf(c->refuse, sizeof c->refuse, "XENVCHAN: %s", refusal);
		}
	}
	c->state = CONN_READ;
	conn_want(c, EV_READ);
	conn_read(c);
}

/* TLS listener, first byte: a TLS record starts with its content type
 * (22, handshake); an NRPE packet with the high byte of its version (0). */
static void conn_peek(struct conn *c)
{
	uint8_t b;
	ssize_t n = recv(c->fd, &b, 1, MSG_PEEK);

	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return;
	if (n <= 0) {
		log_debug("nrpe: %s: closed without a word", c->peer);
		conn_close(c);
		return;
	}
	if (b == 0) {
		/* plain NRPE (check_nrpe -n): say why, in plain text; nothing
		 * is routed over a connection without TLS */
		if (!c->refuse[0]) {
			conn_warnx(c, "refused: %s", "plain NRPE on the TLS listener");
			snprintf(c->refuse, sizeof c->refuse, "%s", LISTENER_MSG_TLS_ONLY);
		}
		c->state = CONN_READ;
		conn_read(c);
		return;
	}
	c->ssl = tls_server_conn(c->tls, c->fd);
	if (!c->ssl) {
		log_warnx("nrpe: %s: cannot set up TLS: out of memory", c->peer);
		conn_close(c);
		return;
	}
	c->state = CONN_HANDSHAKE;
	conn_handshake(c);
}

static void conn_io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct conn *c = container(w, struct conn, io_w);

	switch (c->state) {
	case CONN_PEEK:
		conn_peek(c);
		break;
	case CONN_HANDSHAKE:
		conn_handshake(c);
		break;
	case CONN_READ:
		conn_read(c);
		break;
	case CONN_WAIT:
		conn_watch(c);
		break;
	case CONN_WRITE:
		conn_write(c);
		break;
	case CONN_LINGER:
		conn_drain(c);
		break;
	}
}

static void conn_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct conn *c = container(w, struct conn, timer_w);
	double t = c->l->timeout;
	size_t need = 0, len = xvbuf_len(&c->rx);

	switch (c->state) {
	case CONN_PEEK:
	case CONN_HANDSHAKE:
		conn_warnx(c, "no TLS handshake within %g seconds: closed", t);
		conn_close(c);
		break;
	case CONN_READ:
		if (c->version == 0) {
			conn_warnx(c, "no query within %g seconds: closed", t);
			conn_close(c);
			break;
		}
		(void)xvp_frame(xvbuf_ptr(&c->rx), len, &need);
		conn_warnx(c, "no complete query within %g seconds (%zu of %zu bytes)", t, len,
			   need);
		if (c->refuse[0])
			conn_answer(c, XVP_RESULT_UNKNOWN, c->refuse, strlen(c->refuse));
		else
			conn_answerf(c, XVP_RESULT_UNKNOWN, LISTENER_MSG_SLOW, t, len, need);
		break;
	case CONN_WRITE:
		conn_warnx(c, "did not read its answer within %g seconds: closed", t);
		conn_close(c);
		break;
	case CONN_WAIT: /* no timer: the bridge answers within its request timeout */
	case CONN_LINGER:
		conn_close(c);
		break;
	}
}

/* Names the client: host (IPv4-mapped IPv6 as IPv4) for answers, peer
 * (host and port) for logs; family/addr for allowed_hosts. */
static void listener_client_name(const struct sockaddr_storage *ss, struct conn *c, int *family,
				 uint8_t *addr)
{
	unsigned port = 0;

	*family = ss->ss_family;
	memset(addr, 0, 16);
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)(const void *)ss;

		memcpy(addr, &sin->sin_addr, 4);
		port = ntohs(sin->sin_port);
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)(const void *)ss;

		port = ntohs(sin6->sin6_port);
		if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
			*family = AF_INET;
			memcpy(addr, sin6->sin6_addr.s6_addr + 12, 4);
		} else {
			memcpy(addr, &sin6->sin6_addr, 16);
		}
	}
	if (!inet_ntop(*family, addr, c->host, sizeof c->host))
		snprintf(c->host, sizeof c->host, "?");
	if (*family == AF_INET6)
		snprintf(c->peer, sizeof c->peer, "[%s]:%u", c->host, port);
	else
		snprintf(c->peer, sizeof c->peer, "%s:%u", c->host, port);
}

static void listener_conn_new(struct listener *l, int fd, const struct sockaddr_storage *ss)
{
	struct conn *c = calloc(1, sizeof *c);
	uint8_t addr[16];
	int family, one = 1;

	if (!c) {
		log_warnx("nrpe: out of memory: connection closed");
		close(fd);
		return;
	}
	c->l = l;
	c->fd = fd;
	listener_client_name(ss, c, &family, addr);
	if (!listener_acl_allows(l->acl, l->nacl, family, addr)) {
		/* nrpe closes silently here; an answer saying why saves the
		 * admin a trip to the logs, and reveals nothing the client
		 * does not know (its own address) */
		snprintf(c->refuse, sizeof c->refuse, LISTENER_MSG_NOT_ALLOWED, c->host);
	} else if (l->nclients >= l->max_clients) {
		snprintf(c->refuse, sizeof c->refuse, LISTENER_MSG_TOO_MANY, l->max_clients);
	}
	if (c->refuse[0]) {
		if (l->nrefusing >= LISTENER_REFUSING_MAX) {
			if (listener_log_ok(l))
				log_warnx("nrpe: %s: %s; too many refusals under way: closed",
					  c->peer, c->refuse + strlen("XENVCHAN: "));
			close(fd);
			free(c);
			return;
		}
		if (listener_log_ok(l))
			log_warnx("nrpe: %s: refused: %s", c->peer,
				  c->refuse + strlen("XENVCHAN: "));
		c->refusing = 1;
		l->nrefusing++;
	} else {
		l->nclients++;
	}
	LIST_INSERT_HEAD(&l->conns, c, link);
	/* the answer goes out in one or a few writes: no Nagle delay */
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	(void)xvbuf_init(&c->rx, LISTENER_QUERY_MAX);
	(void)xvbuf_init(&c->tx, XVP_MAX_FRAME);
	ev_io_init(&c->io_w, conn_io_cb, fd, EV_READ);
	c->events = EV_READ;
	ev_io_start(l->loop, &c->io_w);
	ev_timer_init(&c->timer_w, conn_timer_cb, l->timeout, 0.);
	ev_timer_start(l->loop, &c->timer_w);
	c->tls = l->tls;
	c->state = c->tls ? CONN_PEEK : CONN_READ;
	log_debug("nrpe: %s: connected", c->peer);
}

/* ---- accepting ------------------------------------------------------------ */

static void listener_pause_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct listener *l = container(w, struct listener, pause_w);

	ev_io_start(loop, &l->accept_w);
}

static void listener_accept_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct listener *l = container(w, struct listener, accept_w);

	for (int i = 0; i < LISTENER_ACCEPT_BATCH; i++) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof ss;
		int fd = accept4(l->fd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd >= 0) {
			listener_conn_new(l, fd, &ss);
			continue;
		}
		switch (errno) {
		case EAGAIN:
#if EWOULDBLOCK != EAGAIN
		case EWOULDBLOCK:
#endif
			return;
		case EINTR:
		case ECONNABORTED:
		case EPROTO:
			continue;
		case EMFILE:
		case ENFILE:
		case ENOBUFS:
		case ENOMEM:
			/* the pending connection stays in the backlog: stop
			 * looking at it for a while instead of spinning */
			if (listener_log_ok(l))
				log_warn("nrpe: accept on %s: pausing %g s", l->name,
					 LISTENER_ACCEPT_PAUSE);
			ev_io_stop(loop, &l->accept_w);
			ev_timer_set(&l->pause_w, LISTENER_ACCEPT_PAUSE, 0.);
			ev_timer_start(loop, &l->pause_w);
			return;
		default:
			if (listener_log_ok(l))
				log_warn("nrpe: accept on %s", l->name);
			return;
		}
	}
}

/* Binds and listens on o's address and port: 0 with *fdp and name set, or
 * -1 with err (*fdp untouched). */
static int listener_bind(const struct listener_opts *o, int *fdp, char *name, size_t namelen,
			 char *err, size_t errlen)
{
	struct addrinfo hints = {0}, *ai = NULL;
	char port[8];
	int one = 1, r, fd;

	if (!o->address || !o->address[0]) {
		snprintf(err, errlen, "no address to listen on");
		return -1;
	}
	if (o->port < 1 || o->port > 65535) {
		snprintf(err, errlen, "port %d is not in 1..65535", o->port);
		return -1;
	}
	snprintf(port, sizeof port, "%d", o->port);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE;
	r = getaddrinfo(o->address, port, &hints, &ai);
	if (r != 0 || !ai) {
		snprintf(err, errlen, "address '%s' is not a numeric IPv4 or IPv6 address",
			 o->address);
		if (ai)
			freeaddrinfo(ai);
		return -1;
	}
	if (ai->ai_family == AF_INET6)
		snprintf(name, namelen, "[%s]:%d", o->address, o->port);
	else
		snprintf(name, namelen, "%s:%d", o->address, o->port);
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "cannot create a socket for %s: %s", name, strerror(errno));
		freeaddrinfo(ai);
		return -1;
	}
	/* a restarted bridge must not wait for old connections in TIME_WAIT */
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
	    bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, LISTENER_BACKLOG) < 0) {
		snprintf(err, errlen, "cannot listen on %s: %s", name, strerror(errno));
		freeaddrinfo(ai);
		close(fd);
		return -1;
	}
	freeaddrinfo(ai);
	*fdp = fd;
	return 0;
}

/* The settings of opts apart from the socket, checked and made: 0, or -1
 * with err and nothing to free. */
static int listener_prepare(const struct listener_opts *opts, double *timeout,
			    unsigned *max_clients, struct listener_acl **acl, size_t *nacl,
			    struct tls_server **tls, char *err, size_t errlen)
{
	*timeout = opts->timeout == 0 ? LISTENER_DEFAULT_TIMEOUT : opts->timeout;
	*max_clients = opts->max_clients == 0 ? LISTENER_DEFAULT_MAX_CLIENTS : opts->max_clients;
	*acl = NULL;
	*nacl = 0;
	*tls = NULL;
	if (!(*timeout > 0 && *timeout <= LISTENER_MAX_TIMEOUT)) {
		snprintf(err, errlen, "timeout %g is not in (0, %g] seconds", opts->timeout,
			 LISTENER_MAX_TIMEOUT);
		return -1;
	}
	if (*max_clients > LISTENER_MAX_CLIENTS_LIMIT) {
		snprintf(err, errlen, "max_clients %u is above %u", *max_clients,
			 LISTENER_MAX_CLIENTS_LIMIT);
		return -1;
	}
	if (!opts->tls && (opts->allow_anonymous || opts->require_client_cert)) {
		snprintf(err, errlen, "%s needs TLS",
			 opts->allow_anonymous ? "allow_anonymous" : "require_client_cert");
		return -1;
	}
	if (opts->allowed_hosts &&
	    listener_acl_parse(opts->allowed_hosts, acl, nacl, err, errlen) < 0)
		return -1;
	if (opts->tls) {
		*tls = tls_server_new(opts, err, errlen);
		if (!*tls) {
			free(*acl);
			*acl = NULL;
			return -1;
		}
	}
	return 0;
}

static void listener_log_started(const struct listener *l, const struct listener_opts *opts,
				 const char *what)
{
	log_info("nrpe: %s %s (%s%s%s), %u clients at once, %g s to send a query", what, l->name,
		 !l->tls				 ? "plain NRPE, check_nrpe -n"
		 : opts->cert_file && opts->cert_file[0] ? "TLS"
							 : "anonymous TLS only",
		 l->tls && opts->require_client_cert ? ", client certificate required" : "",
		 l->tls && opts->allow_anonymous && opts->cert_file && opts->cert_file[0]
		     ? ", anonymous TLS allowed"
		     : "",
		 l->max_clients, l->timeout);
}

struct listener *listener_start(struct ev_loop *loop, struct bridge *b,
				const struct listener_opts *opts, char *err, size_t errlen)
{
	struct listener *l = calloc(1, sizeof *l);

	if (!l) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	l->loop = loop;
	l->bridge = b;
	l->fd = -1;
	LIST_INIT(&l->conns);
	ev_timer_init(&l->pause_w, listener_pause_cb, LISTENER_ACCEPT_PAUSE, 0.);
	if (listener_prepare(opts, &l->timeout, &l->max_clients, &l->acl, &l->nacl, &l->tls, err,
			     errlen) < 0 ||
	    listener_bind(opts, &l->fd, l->name, sizeof l->name, err, errlen) < 0)
		goto fail;
	l->port = opts->port;
	l->address = strdup(opts->address);
	if (!l->address) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	ev_io_init(&l->accept_w, listener_accept_cb, l->fd, EV_READ);
	ev_io_start(loop, &l->accept_w);
	listener_log_started(l, opts, "listening on");
	return l;
fail:
	listener_stop(l);
	return NULL;
}

/* Closes the listening socket (ev watcher included); connections stay. */
static void listener_unbind(struct listener *l)
{
	if (l->fd < 0)
		return;
	ev_io_stop(l->loop, &l->accept_w);
	ev_timer_stop(l->loop, &l->pause_w);
	close(l->fd);
	l->fd = -1;
	free(l->address);
	l->address = NULL;
	l->port = 0;
}

int listener_reload(struct listener *l, const struct listener_opts *opts, char *err, size_t errlen)
{
	struct listener_acl *acl;
	struct tls_server *tls;
	size_t nacl;
	double timeout;
	unsigned max_clients;
	int fd = -1;
	char name[sizeof l->name], *address = NULL;

	if (listener_prepare(opts, &timeout, &max_clients, &acl, &nacl, &tls, err, errlen) < 0)
		return -1;
	if (l->tls && l->nretired >= LISTENER_RETIRED_MAX) {
		listener_tls_sweep(l);
		if (l->nretired >= LISTENER_RETIRED_MAX) {
			snprintf(err, errlen, "%u earlier TLS set-ups still in use by connections",
				 l->nretired);
			goto fail;
		}
	}
	if (l->fd < 0 || l->port != opts->port || strcmp(l->address, opts->address) != 0) {
		/* the new socket first: if it cannot be had, the old one stays */
		if (listener_bind(opts, &fd, name, sizeof name, err, errlen) < 0)
			goto fail;
		address = strdup(opts->address);
		if (!address) {
			snprintf(err, errlen, "out of memory");
			goto fail;
		}
	}
	if (l->tls) {
		l->retired[l->nretired++] = l->tls;
		listener_tls_sweep(l);
	}
	l->tls = tls;
	free(l->acl);
	l->acl = acl;
	l->nacl = nacl;
	l->timeout = timeout;
	l->max_clients = max_clients;
	if (fd >= 0) {
		listener_unbind(l);
		l->fd = fd;
		l->address = address;
		l->port = opts->port;
		memcpy(l->name, name, sizeof name);
		ev_io_init(&l->accept_w, listener_accept_cb, l->fd, EV_READ);
		ev_io_start(l->loop, &l->accept_w);
		listener_log_started(l, opts, "now listening on");
	} else {
		listener_log_started(l, opts, "still listening on");
	}
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	free(address);
	tls_server_free(tls);
	free(acl);
	return -1;
}

void listener_close(struct listener *l)
{
	if (!l || l->fd < 0)
		return;
	log_info("nrpe: no longer listening on %s; %u connections under way finish", l->name,
		 l->nclients + l->nrefusing);
	listener_unbind(l);
}

void listener_stop(struct listener *l)
{
	struct conn *c;

	if (!l)
		return;
	l->stopping = 1;
	while ((c = LIST_FIRST(&l->conns))) {
		if (c->req) {
			/* as the local socket does: a waiting client hears why,
			 * as far as its socket takes the answer at once (the
			 * answer may close c; if not, the next turn does) */
			bridge_cancel(c->req);
			c->req = NULL;
			conn_answer(c, XVP_RESULT_UNKNOWN, BRIDGE_MSG_SHUTDOWN,
				    strlen(BRIDGE_MSG_SHUTDOWN));
			continue;
		}
		conn_close(c);
	}
	listener_unbind(l);
	tls_server_free(l->tls);
	for (unsigned i = 0; i < l->nretired; i++)
		tls_server_free(l->retired[i]);
	free(l->acl);
	free(l);
}
