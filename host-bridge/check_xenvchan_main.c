/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * check_xenvchan: the Nagios plugin.  Runs COMMAND in guest GUEST through
 * xenvchan-bridge (or, with --direct, over the guest's channel itself) and
 * prints the probe's output and exits with its state, as check_nrpe does
 * for an NRPE daemon.  Every failure of its own is one line on stdout and
 * UNKNOWN, except a time-out: CRITICAL by default, as check_nrpe (-u or
 * -t SECS:STATE change that).
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "agentconn.h"
#include "bridge.h"
#include "chan.h"
#include "guests.h"
#include "local.h"
#include "xvbuf.h"
#include "xverr.h"
#include "xvp.h"

#define PROG "check_xenvchan"
#define DEFAULT_TIMEOUT 10 /* seconds, the plugin guidelines' default */
#define TIMEOUT_MAX 86400
#define CONNECT_RETRY_NS 10000000L /* a full listen backlog: retry every 10 ms */
/* --direct: the agent listens again right after each client; a check that
 * comes in between waits for it, this long at most (and within -t) */
#define DIRECT_RELISTEN_WAIT 3.0

struct opts {
	const char *host;
	const char *command;
	char **args; /* -a ARG... : the rest of the command line */
	int nargs;
	const char *first_arg; /* -a's own argument */
	unsigned timeout;
	int timeout_state;
	const char *socket;
	int direct;
	const char *channel;
};

static const char usage_text[] =
    "Usage:\n" PROG " -H GUEST [-c COMMAND] [-a ARG...] [-t SECS[:STATE]] [-u]\n"
    "               [-s PATH | --direct [--channel SPEC]]\n";

static void print_usage(void)
{
	fputs(usage_text, stdout);
}

static void print_help(void)
{
	printf(PROG " v" XV_VERSION " (xenvchan-nrpe " XV_VERSION ")\n"
		    "\n"
		    "Run a Nagios check inside a Xen guest without a guest network: the command\n"
		    "is run by xenvchan-agent in the guest, reached through xenvchan-bridge in\n"
		    "dom0 over a vchan. The probe's output and state are passed through as\n"
		    "check_nrpe passes those of an NRPE daemon.\n"
		    "\n");
	print_usage();
	printf("\n"
	       "Options:\n"
	       " -h, --help\n"
	       "    Print this help and exit\n"
	       " -V, --version\n"
	       "    Print the version and exit\n"
	       " -H, --host=GUEST\n"
	       "    The guest: its domain name or its domid\n"
	       " -c, --command=COMMAND\n"
	       "    The command the agent should run (a command[] of its configuration);\n"
	       "    without -c the agent's version is asked (_NRPE_CHECK)\n"
	       " -a, --args=ARG...\n"
	       "    Arguments for the command (the agent needs dont_blame_nrpe=1). Every\n"
	       "    word after -a is one argument, so -a must come last\n"
	       " -t, --timeout=SECS[:STATE]\n"
	       "    Seconds to wait for the answer (default %d), and the state to return\n"
	       "    when it does not come: OK, WARNING, CRITICAL (the default) or UNKNOWN,\n"
	       "    or 0-3\n"
	       " -u, --unknown-timeout\n"
	       "    Return UNKNOWN instead of CRITICAL on a time-out\n"
	       " -s, --socket=PATH\n"
	       "    The bridge's socket (default " LOCAL_DEFAULT_PATH ")\n"
	       "     --direct\n"
	       "    Talk to the guest's agent over its channel, without the bridge (needs\n"
	       "    the rights of dom0 on xenstore and the channel, and the agent must not be\n"
	       "    serving the bridge at the same time)\n"
	       "     --channel=SPEC\n"
	       "    With --direct: vchan (the default) or socket:DIR\n"
	       "\n"
	       "Exit status: the probe's state (0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN; other\n"
	       "values become 3). Failures of the plugin, the bridge or the channel print\n"
	       "one line and return UNKNOWN; a time-out returns the state of -t/-u.\n"
	       "\n"
	       "Examples:\n"
	       " " PROG " -H web01 -c check_load\n"
	       " " PROG " -H 12 -c check_disk -a -w 20%% -c 10%% -p /\n",
	       DEFAULT_TIMEOUT);
}

static void die(int state, const char *fmt, ...) __attribute__((format(printf, 2, 3), noreturn));
static void die(int state, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
	exit(state);
}

static void usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs(PROG ": ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	print_usage();
	fflush(stdout);
	exit(XVP_RESULT_UNKNOWN);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int parse_state(const char *s)
{
	static const char *const names[] = XVP_RESULT_NAMES;

	for (int i = XVP_RESULT_OK; i <= XVP_RESULT_UNKNOWN; i++)
		if (strcasecmp(s, names[i]) == 0)
			return i;
	if (s[0] >= '0' && s[0] <= '3' && s[1] == '\0')
		return s[0] - '0';
	return -1;
}

/* -t SECS[:STATE] */
static void parse_timeout(struct opts *o, const char *arg)
{
	const char *colon = strchr(arg, ':');
	size_t n = colon ? (size_t)(colon - arg) : strlen(arg);
	unsigned long v = 0;

	if (n == 0 || n > 5)
		usage_error("timeout '%s': expected SECS[:STATE], SECS a positive integer", arg);
	for (size_t i = 0; i < n; i++) {
		if (arg[i] < '0' || arg[i] > '9')
			usage_error("timeout '%s': expected SECS[:STATE], SECS a positive integer",
				    arg);
		v = v * 10 + (unsigned long)(arg[i] - '0');
	}
	if (v == 0 || v > TIMEOUT_MAX)
		usage_error("timeout '%s': SECS must be 1 to %d", arg, TIMEOUT_MAX);
	o->timeout = (unsigned)v;
	if (colon != NULL) {
		int st = parse_state(colon + 1);
		if (st < 0)
			usage_error("timeout state '%s': expected OK, WARNING, CRITICAL, UNKNOWN "
				    "or 0-3",
				    colon + 1);
		o->timeout_state = st;
	}
}

static void parse_args(int argc, char **argv, struct opts *o)
{
	static const struct option longopts[] = {
	    {"host", required_argument, NULL, 'H'},
	    {"command", required_argument, NULL, 'c'},
	    {"args", required_argument, NULL, 'a'},
	    {"timeout", required_argument, NULL, 't'},
	    {"unknown-timeout", no_argument, NULL, 'u'},
	    {"socket", required_argument, NULL, 's'},
	    {"direct", no_argument, NULL, 'D'},
	    {"channel", required_argument, NULL, 'C'},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {NULL, 0, NULL, 0},
	};
	int c;

	o->timeout = DEFAULT_TIMEOUT;
	o->timeout_state = XVP_RESULT_CRITICAL;
	o->socket = LOCAL_DEFAULT_PATH;
	opterr = 0;
	/* '+': no reordering, so that everything after -a stays its argument */
	while ((c = getopt_long(argc, argv, "+:H:c:a:t:us:hV", longopts, NULL)) != -1) {
		switch (c) {
		case 'H':
			o->host = optarg;
			break;
		case 'c':
			o->command = optarg;
			break;
		case 'a':
			o->first_arg = optarg;
			o->args = argv + optind;
			o->nargs = argc - optind;
			return;
		case 't':
			parse_timeout(o, optarg);
			break;
		case 'u':
			o->timeout_state = XVP_RESULT_UNKNOWN;
			break;
		case 's':
			o->socket = optarg;
			break;
		case 'D':
			o->direct = 1;
			break;
		case 'C':
			o->channel = optarg;
			break;
		case 'h':
			print_help();
			exit(XVP_RESULT_UNKNOWN);
		case 'V':
			printf(PROG " v" XV_VERSION " (xenvchan-nrpe " XV_VERSION ")\n");
			exit(XVP_RESULT_UNKNOWN);
		case ':':
			usage_error("option '%s' needs a value", argv[optind - 1]);
		default:
			usage_error("unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		usage_error("unexpected argument '%s' (arguments for the command go after -a)",
			    argv[optind]);
	if (o->channel != NULL && !o->direct)
		usage_error("--channel goes with --direct (the bridge has its own channel= "
			    "setting)");
}

/* "GUEST/COMMAND[!ARG...]" into q (malloc'd); exits on a bad guest. */
static char *build_query(const struct opts *o, size_t *qlen)
{
	struct route r;
	char err[160];
	size_t len;
	char *q, *p;

	if (o->host == NULL)
		usage_error("no guest: -H GUEST is required");
	len = strlen(o->host) + 1 + (o->command ? strlen(o->command) : strlen("_NRPE_CHECK"));
	if (o->first_arg != NULL)
		len += 1 + strlen(o->first_arg);
	for (int i = 0; i < o->nargs; i++)
		len += 1 + strlen(o->args[i]);
	if (len > (size_t)xvp_max_text(XVP_V4, XVP_QUERY))
		die(XVP_RESULT_UNKNOWN, "XENVCHAN: the query is longer than %d bytes",
		    xvp_max_text(XVP_V4, XVP_QUERY));
	q = malloc(len + 1);
	if (q == NULL)
		die(XVP_RESULT_UNKNOWN, "XENVCHAN: out of memory");
	p = q + sprintf(q, "%s/%s", o->host, o->command ? o->command : "_NRPE_CHECK");
	if (o->first_arg != NULL)
		p += sprintf(p, "!%s", o->first_arg);
	for (int i = 0; i < o->nargs; i++)
		p += sprintf(p, "!%s", o->args[i]);
	*qlen = (size_t)(p - q);
	if (route_parse(q, *qlen, &r, err, sizeof err) < 0)
		die(XVP_RESULT_UNKNOWN, "XENVCHAN: bad guest '%.64s': %s", o->host, err);
	return q;
}

/* ---- a connection: the bridge's socket or the guest's channel ---------- */

struct conn {
	int fd;		  /* socket, or -1 */
	struct chan *ch;  /* channel, or NULL */
	const char *peer; /* "the bridge", "the agent" */
};

static int conn_pollfd(const struct conn *c)
{
	return c->ch ? chan_fd(c->ch) : c->fd;
}

/* Bytes written (>= 0) or -1 (peer gone or error). */
static ssize_t conn_write(struct conn *c, const uint8_t *p, size_t n)
{
	ssize_t w;

	if (c->ch != NULL) {
		w = chan_write(c->ch, p, n);
		return w < 0 ? -1 : w;
	}
	w = send(c->fd, p, n, MSG_DONTWAIT | MSG_NOSIGNAL);
	if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return 0;
	return w;
}

/* Bytes read (> 0), 0 (nothing now), -1 (closed or error). */
static ssize_t conn_read(struct conn *c, uint8_t *p, size_t n)
{
	ssize_t r;

	if (c->ch != NULL) {
		r = chan_read(c->ch, p, n);
		return r < 0 ? -1 : r;
	}
	r = recv(c->fd, p, n, MSG_DONTWAIT);
	if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return 0;
	return r == 0 ? -1 : r;
}

static void timed_out(const struct opts *o)
{
	die(o->timeout_state, BRIDGE_MSG_TIMEOUT, o->host, (double)o->timeout,
	    BRIDGE_PLURAL(o->timeout));
}

static void conn_bridge(struct conn *c, const struct opts *o, double deadline)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};

	if (strlen(o->socket) >= sizeof sa.sun_path)
		die(XVP_RESULT_UNKNOWN, "XENVCHAN: socket path longer than %zu bytes",
		    sizeof sa.sun_path - 1);
	strcpy(sa.sun_path, o->socket);
	c->peer = "the bridge";
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		die(XVP_RESULT_UNKNOWN, "XENVCHAN: socket: %s", strerror(errno));
	for (;;) {
		if (connect(c->fd, (struct sockaddr *)&sa, sizeof sa) == 0)
			return;
		if (errno == EAGAIN && now() < deadline) {
			/* the bridge's listen queue is full: it is alive */
			struct timespec ts = {0, CONNECT_RETRY_NS};
			nanosleep(&ts, NULL);
			continue;
		}
		if (errno == EAGAIN)
			timed_out(o);
		if (errno == ENOENT || errno == ECONNREFUSED)
			die(XVP_RESULT_UNKNOWN, "XENVCHAN: the bridge is not running (%s: %s)",
			    o->socket, strerror(errno));
		die(XVP_RESULT_UNKNOWN, "XENVCHAN: cannot connect to the bridge at %s: %s",
		    o->socket, strerror(errno));
	}
}

static void conn_direct(struct conn *c, const struct opts *o, const char *query, size_t qlen,
			double deadline)
{
	double give_up = now() + DIRECT_RELISTEN_WAIT;
	struct chan_spec spec;
	struct guest_advert adv;
	struct route r;
	struct xs_handle *xs;
	char err[256];
	int domid = -1, e = 0, rc;

	if (chan_spec_parse(o->channel ? o->channel : "vchan", &spec) < 0)
		usage_error("bad channel '%s': expected vchan or socket:DIR (an existing "
			    "directory)",
			    o->channel);
	route_parse(query, qlen, &r, err, sizeof err); /* checked by build_query */
	c->peer = "the agent";
	xs = xs_open(0);
	if (xs == NULL)
		die(XVP_RESULT_UNKNOWN, "XENVCHAN: cannot open xenstore: %s", strerror(errno));
	rc = guests_lookup(xs, &r, spec.kind, &domid, &adv, err, sizeof err);
	xs_close(xs);
	if (rc == -1)
		die(XVP_RESULT_UNKNOWN, "%s", err);
	if (rc < 0)
		die(XVP_RESULT_UNKNOWN, "XENVCHAN: %s", err);
	if (!adv.present)
		die(XVP_RESULT_UNKNOWN, BRIDGE_MSG_NO_AGENT, o->host);
	if (!adv.valid)
		die(XVP_RESULT_UNKNOWN, BRIDGE_MSG_BAD_ADVERT, o->host, adv.why);
	if (give_up > deadline)
		give_up = deadline;
	for (;;) {
		struct timespec ts = {0, CONNECT_RETRY_NS};

		c->ch = chan_client(&spec, domid, AGENTCONN_PATH, &e);
		if (c->ch != NULL || e != XV_ENOPEER || now() >= give_up)
			break;
		nanosleep(&ts, NULL);
	}
	if (c->ch == NULL) {
		if (e == XV_ENOPEER)
			die(XVP_RESULT_UNKNOWN,
			    "XENVCHAN: no agent is listening in guest '%s' (or it is serving "
			    "another client, such as the bridge)",
			    o->host);
		die(XVP_RESULT_UNKNOWN, "XENVCHAN: cannot open the channel to guest '%s': %s%s%s",
		    o->host, xv_strerror(e), e == XV_ESYS ? ": " : "",
		    e == XV_ESYS ? strerror(errno) : "");
	}
}

/* The answer's state, after printing it. */
static int print_answer(const struct opts *o, const struct xvp_msg *m)
{
	size_t len = m->text_len;
	int state = m->result >= XVP_RESULT_OK && m->result <= XVP_RESULT_UNKNOWN
			? m->result
			: XVP_RESULT_UNKNOWN;

	if (len == 0) {
		printf("XENVCHAN: No output returned from the guest.\n");
		return state;
	}
	/* as check_nrpe: one trailing newline is dropped, and one printed */
	if (m->text[len - 1] == '\n')
		len--;
	fwrite(m->text, 1, len, stdout);
	putchar('\n');
	/* the bridge's own time-out answer takes the -t state, as ours */
	if (state == XVP_RESULT_UNKNOWN && !strncmp(m->text, "XENVCHAN: guest '", 17) &&
	    strstr(m->text, "': " BRIDGE_TIMEOUT_MARKER " ") != NULL && !memchr(m->text, '\n', len))
		return o->timeout_state;
	return state;
}

int main(int argc, char **argv)
{
	struct opts o = {0};
	struct conn c = {.fd = -1};
	struct xvbuf tx, rx;
	struct xvp_msg q = {.version = XVP_V4, .type = XVP_QUERY};
	double deadline;
	char *query;
	size_t qlen;
	int state;

	parse_args(argc, argv, &o);
	query = build_query(&o, &qlen);
	deadline = now() + o.timeout;
	if (o.direct)
		conn_direct(&c, &o, query, qlen, deadline);
	else
		conn_bridge(&c, &o, deadline);

	if (xvbuf_init(&tx, 2 * XVP_MAX_FRAME) < 0 || xvbuf_init(&rx, 2 * XVP_MAX_FRAME) < 0)
		die(XVP_RESULT_UNKNOWN, "XENVCHAN: out of memory");
	/* the agent itself is asked COMMAND[!ARG...]; the bridge GUEST/... */
	q.text = o.direct ? query + strlen(o.host) + 1 : query;
	q.text_len = o.direct ? qlen - strlen(o.host) - 1 : qlen;
	if (xvp_encode(&tx, &q) < 0)
		die(XVP_RESULT_UNKNOWN, "XENVCHAN: cannot encode the query");

	for (;;) {
		struct pollfd pfd = {.fd = conn_pollfd(&c), .events = POLLIN};
		double left = deadline - now();
		struct xvp_msg m;
		int closed = 0, r;

		while (xvbuf_len(&tx) > 0) {
			ssize_t w = conn_write(&c, xvbuf_ptr(&tx), xvbuf_len(&tx));
			if (w < 0)
				break; /* what the peer said before going is read below */
			if (w == 0) {
				if (c.ch == NULL)
					pfd.events |= POLLOUT;
				break;
			}
			xvbuf_consume(&tx, (size_t)w);
		}
		for (;;) {
			uint8_t *p;
			size_t room = xvbuf_avail(&rx);
			ssize_t n;

			if (room == 0 || xvbuf_reserve(&rx, room, &p) < 0)
				break;
			n = conn_read(&c, p, room);
			xvbuf_trim(&rx, n > 0 ? room - (size_t)n : room);
			if (n == 0)
				break;
			if (n < 0) {
				closed = 1;
				break;
			}
		}
		r = xvp_decode(xvbuf_ptr(&rx), xvbuf_len(&rx), &m);
		if (r > 0) {
			if (m.version != XVP_V4 || m.type != XVP_RESPONSE)
				die(XVP_RESULT_UNKNOWN, "XENVCHAN: unexpected %s from %s",
				    xvp_kind_name(m.version, m.type), c.peer);
			state = print_answer(&o, &m);
			break;
		}
		if (r != XV_EAGAIN)
			die(XVP_RESULT_UNKNOWN,
			    "XENVCHAN: protocol error: bad answer from %s: %s (%s)", c.peer,
			    xv_strerror(r), m.why);
		if (closed)
			die(XVP_RESULT_UNKNOWN,
			    "XENVCHAN: %s closed the connection without answering", c.peer);
		if (left <= 0)
			timed_out(&o);
		if (poll(&pfd, 1, (int)(left * 1000) + 1) > 0 && c.ch != NULL)
			chan_wait(c.ch);
	}
	fflush(stdout);
	if (c.ch != NULL)
		chan_close(c.ch);
	if (c.fd >= 0)
		close(c.fd);
	xvbuf_free(&tx);
	xvbuf_free(&rx);
	free(query);
	return state;
}
