/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * chantest - exercises a channel end to end through the chan_* API only,
 * with a poll() loop on chan_fd() and nothing blocking, as a daemon would.
 *
 *   chantest server SPEC MYDOMID PEERDOMID PATH [SESSIONS]
 *   chantest client SPEC SERVERDOMID PATH
 *
 * SPEC is "vchan" or "socket:DIR".  Per session the client sends one line
 * "PING ...\n", the server answers "PONG <that line>", then the client sends
 * CHANTEST_BULK bytes of a pattern, the server echoes every byte back, the
 * client checks them and closes.  The server serves SESSIONS (default 1)
 * sessions one after the other, closing and re-creating itself in between
 * (re-listen), then exits.
 *
 * Readiness, so that a client knows when to connect: with vchan the server
 * writes "<PATH>-ready" in its xenstore home, "1" once listening for the
 * first session, "2" for the second, ..., and "done" when it has stopped
 * listening for good; with a socket it prints "READY <n> <socket file>" and
 * finally "DONE" on stdout.
 *
 * Every wait is bounded by CHANTEST_TIMEOUT seconds (env, default
 * CHANTEST_TIMEOUT_DEFAULT).  CHANTEST_HOLD=n (client): after a good echo,
 * print "HOLD n s" and keep the session open n more seconds (to show that a
 * second client is refused meanwhile).  Exit status: 0 success, 1 failure, 2 usage,
 * 3 (client) nobody listens (XV_ENOPEER).
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <xenstore.h>
#include <xentoollog.h>

#include "chan.h"
#include "xverr.h"

#define CHANTEST_BULK (1024 * 1024)
#define CHANTEST_TIMEOUT_DEFAULT 30
#define CHANTEST_TIMEOUT_MAX 3600
#define CHANTEST_SESSIONS_MAX 1000
#define CHANTEST_LINE_MAX 256
/* echo buffer; deliberately not a multiple of anything */
#define CHANTEST_IO_CHUNK 60001
#define CHANTEST_READY_SUFFIX "-ready"
#define CHANTEST_EXIT_FAIL 1
#define CHANTEST_EXIT_USAGE 2
#define CHANTEST_EXIT_NOPEER 3

struct chantest {
	const char *role; /* "server" or "client", for messages */
	int timeout_ms;
	int hold_s; /* client: keep the session open this long after the echo */
};

static double chantest_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void chantest_say(const struct chantest *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void chantest_say(const struct chantest *t, const char *fmt, ...)
{
	va_list ap;

	printf("chantest: %s: ", t->role);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

static int chantest_fail(const struct chantest *t, const char *what, int err)
{
	if (err == XV_ESYS)
		chantest_say(t, "FAIL: %s: %s (%s)", what, xv_strerror(err), strerror(errno));
	else
		chantest_say(t, "FAIL: %s: %s", what, xv_strerror(err));
	return CHANTEST_EXIT_FAIL;
}

/* libxen* diagnostics (vchan only) go to stderr */
static void chantest_xtl_message(struct xentoollog_logger *logger, xentoollog_level level,
				 int errnoval, const char *context, const char *format, va_list al)
{
	if (level < XTL_WARN)
		return;
	fprintf(stderr, "chantest: libxen %s: ", context ? context : "");
	vfprintf(stderr, format, al);
	if (errnoval >= 0)
		fprintf(stderr, ": %s", strerror(errnoval));
	fputc('\n', stderr);
}

static void chantest_xtl_destroy(struct xentoollog_logger *logger)
{
}

/* Waits for chan_fd() to become readable, then consumes the notification.
 * 0, or non-zero after reporting a timeout or an error. */
static int chantest_wait(const struct chantest *t, struct chan *c, const char *what)
{
	struct pollfd p = {.fd = chan_fd(c), .events = POLLIN};
	int n, r;

	do
		n = poll(&p, 1, t->timeout_ms);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return chantest_fail(t, what, XV_ESYS);
	if (n == 0) {
		chantest_say(t, "FAIL: %s: timed out after %d s (state %s)", what,
			     t->timeout_ms / 1000, chan_state_name(chan_state(c)));
		return CHANTEST_EXIT_FAIL;
	}
	if ((r = chan_wait(c)) < 0)
		return chantest_fail(t, what, r);
	return 0;
}

/* Writes all of buf, sleeping on the channel when it is full. */
static int chantest_write_all(const struct chantest *t, struct chan *c, const void *buf, size_t len,
			      const char *what)
{
	const unsigned char *p = buf;
	ssize_t w;

	while (len > 0) {
		w = chan_write(c, p, len);
		if (w < 0)
			return chantest_fail(t, what, (int)w);
		p += w;
		len -= (size_t)w;
		if (len > 0 && chantest_wait(t, c, what) != 0)
			return CHANTEST_EXIT_FAIL;
	}
	return 0;
}

/* Reads one '\n'-terminated line (at most CHANTEST_LINE_MAX - 1 bytes) a
 * byte at a time, so that nothing after it is consumed. */
static int chantest_read_line(const struct chantest *t, struct chan *c, char *line,
			      const char *what)
{
	size_t n = 0;
	ssize_t r;

	while (n + 1 < CHANTEST_LINE_MAX) {
		r = chan_read(c, line + n, 1);
		if (r < 0)
			return chantest_fail(t, what, (int)r);
		if (r == 0) {
			if (chantest_wait(t, c, what) != 0)
				return CHANTEST_EXIT_FAIL;
			continue;
		}
		if (line[n++] == '\n') {
			line[n] = '\0';
			return 0;
		}
	}
	chantest_say(t, "FAIL: %s: no newline in %d bytes", what, CHANTEST_LINE_MAX);
	return CHANTEST_EXIT_FAIL;
}

/* vchan: PATH-ready = value in this domain's xenstore home */
static int chantest_ready_key(const struct chantest *t, const char *path, const char *value)
{
	char key[CHAN_XS_PATH_MAX + sizeof CHANTEST_READY_SUFFIX];
	struct xs_handle *xs = xs_open(0);
	int ok;

	if (!xs) {
		chantest_say(t, "FAIL: xs_open: %s", strerror(errno));
		return CHANTEST_EXIT_FAIL;
	}
	snprintf(key, sizeof key, "%s%s", path, CHANTEST_READY_SUFFIX);
	ok = xs_write(xs, XBT_NULL, key, value, (unsigned int)strlen(value));
	if (!ok)
		chantest_say(t, "FAIL: xs_write %s: %s", key, strerror(errno));
	xs_close(xs);
	return ok ? 0 : CHANTEST_EXIT_FAIL;
}

/* Serves one session on a listening server: PING line, then echo to EOF. */
static int chantest_serve(const struct chantest *t, struct chan *c, int session)
{
	static unsigned char pend[CHANTEST_LINE_MAX + 8 + CHANTEST_IO_CHUNK];
	size_t pend_off = 0, pend_len = 0, echoed = 0, n;
	char line[CHANTEST_LINE_MAX];
	double t0;
	ssize_t r;
	int rc;

	while (chan_state(c) == CHAN_WAITING)
		if ((rc = chantest_wait(t, c, "waiting for a client")) != 0)
			return rc;
	chantest_say(t, "session %d: client connected", session);
	if ((rc = chantest_read_line(t, c, line, "reading the PING line")) != 0)
		return rc;
	if (strncmp(line, "PING", 4) != 0) {
		chantest_say(t, "FAIL: expected a PING line, got %zu bytes", strlen(line));
		return CHANTEST_EXIT_FAIL;
	}
	n = (size_t)snprintf((char *)pend, sizeof pend, "PONG %s", line);
	pend_len = n;
	chantest_say(t, "session %d: got %.*s", session, (int)strlen(line) - 1, line);

	/* echo: never read more while a previous chunk is unsent, so memory
	 * stays bounded and a slow peer slows us down instead */
	t0 = chantest_now();
	for (;;) {
		int progress = 0;

		while (pend_len > 0) {
			r = chan_write(c, pend + pend_off, pend_len);
			if (r < 0)
				return chantest_fail(t, "echo write", (int)r);
			if (r == 0)
				break;
			pend_off += (size_t)r;
			pend_len -= (size_t)r;
			progress = 1;
		}
		if (pend_len == 0) {
			pend_off = 0;
			r = chan_read(c, pend, CHANTEST_IO_CHUNK);
			if (r == XV_ECLOSED)
				break;
			if (r < 0)
				return chantest_fail(t, "echo read", (int)r);
			pend_len = (size_t)r;
			echoed += (size_t)r;
			progress |= r > 0;
		}
		if (!progress && (rc = chantest_wait(t, c, "echo")) != 0)
			return rc;
	}
	chantest_say(t, "session %d: echoed %zu bytes in %.3f s, client closed", session, echoed,
		     chantest_now() - t0);
	return 0;
}

static int chantest_server(const struct chantest *t, const struct chan_spec *spec, int my_domid,
			   int peer_domid, const char *path, int sessions)
{
	char value[16], name[CHAN_SPEC_TEXT_MAX + CHAN_XS_PATH_MAX + 16];
	struct chan *c;
	int err = 0, rc, i;

	for (i = 1; i <= sessions; i++) {
		c = chan_server(spec, my_domid, peer_domid, path, 0, 0, &err);
		if (!c)
			return chantest_fail(t, "chan_server", err);
		if (spec->kind == CHAN_VCHAN) {
			snprintf(value, sizeof value, "%d", i);
			if ((rc = chantest_ready_key(t, path, value)) != 0) {
				chan_close(c);
				return rc;
			}
			chantest_say(t, "READY %d %s%s=%s (listening for dom%d)", i, path,
				     CHANTEST_READY_SUFFIX, value, peer_domid);
		} else {
			if (chan_socket_name(spec, my_domid, path, name, sizeof name) < 0)
				snprintf(name, sizeof name, "?");
			chantest_say(t, "READY %d %s", i, name);
		}
		rc = chantest_serve(t, c, i);
		chan_close(c);
		if (rc != 0)
			return rc;
	}
	if (spec->kind == CHAN_VCHAN && (rc = chantest_ready_key(t, path, "done")) != 0)
		return rc;
	chantest_say(t, "DONE %d session(s)", sessions);
	return 0;
}

static int chantest_client(const struct chantest *t, const struct chan_spec *spec, int server_domid,
			   const char *path)
{
	static unsigned char out[CHANTEST_BULK], in[CHANTEST_BULK];
	char ping[CHANTEST_LINE_MAX], want[CHANTEST_LINE_MAX + 8], line[CHANTEST_LINE_MAX];
	size_t sent = 0, got = 0, i;
	struct chan *c;
	double t0;
	ssize_t r;
	int err = 0, rc;

	t0 = chantest_now();
	c = chan_client(spec, server_domid, path, &err);
	if (!c) {
		if (err == XV_ENOPEER) {
			chantest_say(t,
				     "NOPEER: no server to connect to at %s of domain %d "
				     "(none, gone, or busy with another client)",
				     path, server_domid);
			return CHANTEST_EXIT_NOPEER;
		}
		return chantest_fail(t, "chan_client", err);
	}
	snprintf(ping, sizeof ping, "PING from chantest pid %ld\n", (long)getpid());
	snprintf(want, sizeof want, "PONG %s", ping);
	if ((rc = chantest_write_all(t, c, ping, strlen(ping), "sending PING")) != 0 ||
	    (rc = chantest_read_line(t, c, line, "reading PONG")) != 0)
		goto out;
	if (strcmp(line, want) != 0) {
		chantest_say(t, "FAIL: bad PONG line: %.*s", (int)strlen(line) - 1, line);
		rc = CHANTEST_EXIT_FAIL;
		goto out;
	}
	chantest_say(t, "PONG ok in %.3f s", chantest_now() - t0);

	for (i = 0; i < CHANTEST_BULK; i++)
		out[i] = (unsigned char)(i * 7 + (i >> 11));
	t0 = chantest_now();
	/* send and receive interleaved: the echo comes back while we send,
	 * and neither ring may fill up for good */
	while (got < CHANTEST_BULK) {
		int progress = 0;

		if (sent < CHANTEST_BULK) {
			r = chan_write(c, out + sent, CHANTEST_BULK - sent);
			if (r < 0) {
				rc = chantest_fail(t, "bulk write", (int)r);
				goto out;
			}
			sent += (size_t)r;
			progress |= r > 0;
		}
		while (got < CHANTEST_BULK &&
		       (r = chan_read(c, in + got, CHANTEST_BULK - got)) != 0) {
			if (r < 0) {
				rc = chantest_fail(t, "bulk read", (int)r);
				goto out;
			}
			got += (size_t)r;
			progress = 1;
		}
		if (!progress && (rc = chantest_wait(t, c, "bulk echo")) != 0)
			goto out;
	}
	if (memcmp(in, out, CHANTEST_BULK) != 0) {
		for (i = 0; in[i] == out[i]; i++)
			;
		chantest_say(t, "FAIL: echo differs from byte %zu on", i);
		rc = CHANTEST_EXIT_FAIL;
		goto out;
	}
	chantest_say(t, "ECHO ok: %d bytes in %.3f s", CHANTEST_BULK, chantest_now() - t0);
	if (t->hold_s > 0) {
		chantest_say(t, "HOLD %d s", t->hold_s);
		poll(NULL, 0, t->hold_s * 1000);
		if (chan_state(c) != CHAN_OPEN) {
			chantest_say(t, "FAIL: the server left while we held the session");
			rc = CHANTEST_EXIT_FAIL;
			goto out;
		}
	}
	rc = 0;
out:
	chan_close(c);
	return rc;
}

static int chantest_int(const char *s, int min, int max, int *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
		return -1;
	*out = (int)v;
	return 0;
}

static int chantest_usage(void)
{
	fprintf(stderr,
		"usage: chantest server SPEC MYDOMID PEERDOMID PATH [SESSIONS]\n"
		"       chantest client SPEC SERVERDOMID PATH\n"
		"SPEC: vchan | socket:DIR;  env CHANTEST_TIMEOUT=seconds (default %d),\n"
		"CHANTEST_HOLD=seconds (client: stay connected after the echo)\n",
		CHANTEST_TIMEOUT_DEFAULT);
	return CHANTEST_EXIT_USAGE;
}

int main(int argc, char **argv)
{
	struct xentoollog_logger xtl = {.vmessage = chantest_xtl_message,
					.destroy = chantest_xtl_destroy};
	struct chantest t = {.role = "chantest"};
	const char *env = getenv("CHANTEST_TIMEOUT"), *hold = getenv("CHANTEST_HOLD");
	int timeout_s = CHANTEST_TIMEOUT_DEFAULT, my_domid, peer_domid, sessions = 1, r;
	struct chan_spec spec;

	if (argc < 2)
		return chantest_usage();
	if (env && chantest_int(env, 1, CHANTEST_TIMEOUT_MAX, &timeout_s) != 0)
		return chantest_usage();
	t.timeout_ms = timeout_s * 1000;
	if (hold && chantest_int(hold, 0, CHANTEST_TIMEOUT_MAX, &t.hold_s) != 0)
		return chantest_usage();
	t.role = strcmp(argv[1], "server") == 0 ? "server" : "client";
	if (argc >= 3 && (r = chan_spec_parse(argv[2], &spec)) != 0) {
		fprintf(stderr, "chantest: bad SPEC '%s': %s\n", argv[2], xv_strerror(r));
		return CHANTEST_EXIT_USAGE;
	}
	spec.xtl = &xtl;
	if (strcmp(argv[1], "server") == 0 && (argc == 6 || argc == 7)) {
		if (chantest_int(argv[3], 0, INT_MAX, &my_domid) != 0 ||
		    chantest_int(argv[4], 0, INT_MAX, &peer_domid) != 0 ||
		    (argc == 7 && chantest_int(argv[6], 1, CHANTEST_SESSIONS_MAX, &sessions) != 0))
			return chantest_usage();
		return chantest_server(&t, &spec, my_domid, peer_domid, argv[5], sessions);
	}
	if (strcmp(argv[1], "client") == 0 && argc == 5) {
		if (chantest_int(argv[3], 0, INT_MAX, &peer_domid) != 0)
			return chantest_usage();
		return chantest_client(&t, &spec, peer_domid, argv[4]);
	}
	return chantest_usage();
}
