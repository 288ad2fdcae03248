/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * loadgen - drives checks through the bridge's local socket, measures their
 * latency and checks their answers: the soak driver (tests/soak/soak.sh,
 * tests/bats/soak.bats) and the latency probe of tests/bats/hostile.bats.
 *
 *   loadgen -s SOCKET [-n N | -d SECS] [-c CONC] [-r RATE] [-t SECS] [-x]
 *           [-k N,N...] [-p NAME=PID]... [-L FILE] [-H] [-q] [W*]QUERY[=RC[:TEXT]]...
 *
 *   -n N      checks in all (default 100)         -d SECS  run for SECS instead
 *   -c CONC   checks in flight at once (default 1)
 *   -r RATE   at most RATE checks a second (default: as fast as answered)
 *   -t SECS   a check not answered within SECS is an error (default 30)
 *   -x        XV extension on one connection (default: plain NRPE v4, one
 *             connection per check, as check_xenvchan does)
 *   -k LIST   checkpoints: when this many checks are answered, stop asking,
 *             let everything settle (0.3 s) and print, for every -p process,
 *             its resident memory (VmRSS, VmHWM, kB) and open descriptors;
 *             checkpoint 0 is taken before the first check
 *   -p N=PID  a process to measure at the checkpoints
 *   -L FILE   append every latency (ms, one per line) to FILE
 *   -H        print the answers by state and text (digits shown as N)
 *   -q        no per-query lines
 * SIGTERM or SIGINT end the run early, with the summary of what was answered.
 *
 * The queries are asked in turn, each W times (default 1) in every cycle of
 * the sum of the weights, spread out (smooth weighted round robin).
 * QUERY=RC expects that state, QUERY=RC:TEXT also that the text begins with
 * TEXT; other answers count as mismatched and the first five are printed.  Output:
 *   checkpoint N: NAME rss_kb R hwm_kb H fds F ...
 *   checks N answered A mismatched M errors E in S s (R/s)
 *   latency_ms p50 A p90 B p99 C max D
 *   query Q: rc0 a rc1 b rc2 c rc3 d mismatched m
 * Exit status 0 if every check was answered as expected, 1 if not, 2 for
 * usage errors.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "xvbuf.h"
#include "xverr.h"
#include "xvp.h"

#define LG_MAX_CONC 1024
#define LG_MAX_QUERIES 64
#define LG_MAX_PROCS 8
#define LG_MAX_CHECKPOINTS 16
#define LG_MAX_HIST 64
#define LG_HIST_TEXT 100

struct lg_query {
	const char *text;     /* GUEST/COMMAND */
	long weight, current; /* smooth weighted round robin */
	int want_rc;	      /* -1: any */
	const char *want_text;
	unsigned long rc[4], mismatched;
};

struct lg_slot {
	int fd; /* -1: free */
	struct lg_query *q;
	uint32_t id; /* XV */
	double started;
	struct xvbuf rx, tx;
};

struct lg_hist {
	int rc;
	char text[LG_HIST_TEXT + 1];
	unsigned long n;
};

static struct {
	const char *socket;
	unsigned long n;
	double duration, rate, timeout;
	unsigned conc;
	int xv, hist, quiet;
	struct lg_query q[LG_MAX_QUERIES];
	unsigned nq;
	struct {
		const char *name;
		int pid;
	} procs[LG_MAX_PROCS];
	unsigned nprocs;
	unsigned long checkpoints[LG_MAX_CHECKPOINTS];
	unsigned ncheckpoints, next_cp;
	FILE *lat_file;

	/* run state */
	struct lg_slot slots[LG_MAX_CONC];
	double *lat;
	unsigned long nlat, issued, answered, mismatched, errors, shown;
	struct lg_hist hist_tab[LG_MAX_HIST];
	unsigned nhist;
	int xv_fd;
	struct xvbuf xv_rx, xv_tx;
	uint32_t next_id;
} lg;

static volatile sig_atomic_t lg_stop;

static void lg_on_signal(int sig)
{
	lg_stop = 1;
}

static double lg_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void lg_usage(void)
{
	fprintf(stderr,
		"usage: loadgen -s SOCKET [-n N | -d SECS] [-c CONC] [-r RATE] [-t SECS] "
		"[-x] [-k N,N...] [-p NAME=PID]... [-L FILE] [-H] [-q] QUERY[=RC[:TEXT]]...\n");
	exit(2);
}

static int lg_connect(void)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd;

	if (strlen(lg.socket) >= sizeof sa.sun_path)
		return -1;
	strcpy(sa.sun_path, lg.socket);
	for (int tries = 0; tries < 1000; tries++) {
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return -1;
		if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0) {
			fcntl(fd, F_SETFL, O_NONBLOCK);
			return fd;
		}
		close(fd);
		if (errno != EAGAIN)
			return -1;
		usleep(1000); /* a full backlog: the bridge is busy, try again */
	}
	return -1;
}

/* ---- measuring processes ---- */

static long lg_status_kb(int pid, const char *key)
{
	char path[64], line[256];
	size_t klen = strlen(key);
	long v = -1;
	FILE *f;

	snprintf(path, sizeof path, "/proc/%d/status", pid);
	f = fopen(path, "r");
	if (f == NULL)
		return -1;
	while (fgets(line, sizeof line, f))
		if (strncmp(line, key, klen) == 0 && line[klen] == ':') {
			v = strtol(line + klen + 1, NULL, 10);
			break;
		}
	fclose(f);
	return v;
}

static int lg_fds(int pid)
{
	char path[64];
	struct dirent *e;
	int n = 0;
	DIR *d;

	snprintf(path, sizeof path, "/proc/%d/fd", pid);
	d = opendir(path);
	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL)
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

static void lg_checkpoint(unsigned long at)
{
	printf("checkpoint %lu:", at);
	for (unsigned i = 0; i < lg.nprocs; i++)
		printf(" %s rss_kb %ld hwm_kb %ld fds %d", lg.procs[i].name,
		       lg_status_kb(lg.procs[i].pid, "VmRSS"),
		       lg_status_kb(lg.procs[i].pid, "VmHWM"), lg_fds(lg.procs[i].pid));
	printf("\n");
	fflush(stdout);
}

/* ---- answers ---- */

static void lg_hist_add(int rc, const char *text, size_t len)
{
	char t[LG_HIST_TEXT + 1];
	size_t o = 0;

	for (size_t i = 0; i < len && o < LG_HIST_TEXT; i++) {
		unsigned char c = (unsigned char)text[i];
		if (c == '\n')
			break;
		if (c >= '0' && c <= '9') {
			if (o > 0 && t[o - 1] == 'N')
				continue;
			c = 'N';
		} else if (c < 0x20 || c >= 0x7f) {
			c = '?';
		}
		t[o++] = (char)c;
	}
	t[o] = '\0';
	for (unsigned i = 0; i < lg.nhist; i++)
		if (lg.hist_tab[i].rc == rc && strcmp(lg.hist_tab[i].text, t) == 0) {
			lg.hist_tab[i].n++;
			return;
		}
	if (lg.nhist < LG_MAX_HIST) {
		lg.hist_tab[lg.nhist].rc = rc;
		memcpy(lg.hist_tab[lg.nhist].text, t, o + 1);
		lg.hist_tab[lg.nhist++].n = 1;
	}
}

static void lg_done(struct lg_query *q, double started, int rc, const char *text, size_t len)
{
	double ms = (lg_now() - started) * 1000;
	int bad = 0;

	lg.answered++;
	if (lg.nlat < lg.n || lg.duration > 0) {
		if (lg.duration > 0 && lg.nlat % 4096 == 0) {
			double *n = realloc(lg.lat, (lg.nlat + 4096) * sizeof *lg.lat);
			if (n == NULL) {
				perror("loadgen");
				exit(1);
			}
			lg.lat = n;
		}
		lg.lat[lg.nlat++] = ms;
	}
	if (lg.lat_file)
		fprintf(lg.lat_file, "%.3f\n", ms);
	if (rc < 0 || rc > 3)
		bad = 1;
	else
		q->rc[rc]++;
	if (q->want_rc >= 0 && rc != q->want_rc)
		bad = 1;
	if (q->want_text &&
	    (len < strlen(q->want_text) || memcmp(text, q->want_text, strlen(q->want_text)) != 0))
		bad = 1;
	if (bad) {
		q->mismatched++;
		lg.mismatched++;
		if (lg.shown++ < 5)
			printf("mismatch: %s: rc %d: %.*s\n", q->text, rc,
			       (int)(len > 300 ? 300 : len), text);
	}
	if (lg.hist)
		lg_hist_add(rc, text, len);
}

static void lg_error(struct lg_query *q, const char *why)
{
	lg.errors++;
	lg.answered++;
	if (q)
		q->mismatched++;
	if (lg.shown++ < 5)
		printf("error: %s: %s\n", q ? q->text : "-", why);
	if (lg.hist)
		lg_hist_add(-1, why, strlen(why));
}

/* Smooth weighted round robin: every query gets its weight added, the
 * largest is picked and pays back the total. */
static struct lg_query *lg_pick(void)
{
	struct lg_query *best = NULL;
	long total = 0;

	for (unsigned i = 0; i < lg.nq; i++) {
		lg.q[i].current += lg.q[i].weight;
		total += lg.q[i].weight;
		if (best == NULL || lg.q[i].current > best->current)
			best = &lg.q[i];
	}
	best->current -= total;
	return best;
}

static int lg_encode(struct xvbuf *out, uint16_t version, uint16_t type, uint32_t id,
		     const char *text)
{
	struct xvp_msg m = {.version = version, .type = type, .id = id};

	m.text = text;
	m.text_len = text ? strlen(text) : 0;
	if (type == XVP_XV_HELLO) {
		m.proto_min = XVP_PROTO_MIN;
		m.proto_max = XVP_PROTO_MAX;
		m.max_inflight = LG_MAX_CONC;
		m.max_response = XVP_MAX_BUFFER;
	}
	return xvp_encode(out, &m);
}

/* Sends what tx holds; -1 on error. */
static int lg_flush(int fd, struct xvbuf *tx)
{
	while (xvbuf_len(tx) > 0) {
		ssize_t w = send(fd, xvbuf_ptr(tx), xvbuf_len(tx), MSG_NOSIGNAL);
		if (w < 0)
			return (errno == EAGAIN || errno == EINTR) ? 0 : -1;
		xvbuf_consume(tx, (size_t)w);
	}
	return 0;
}

/* Reads into rx; 1 when the peer closed, -1 on error. */
static int lg_fill(int fd, struct xvbuf *rx)
{
	for (;;) {
		uint8_t *p;
		size_t room = xvbuf_avail(rx);
		ssize_t n;

		if (room == 0)
			return -1;
		if (room > 65536)
			room = 65536;
		if (xvbuf_reserve(rx, room, &p) < 0)
			return -1;
		n = recv(fd, p, room, 0);
		xvbuf_trim(rx, n > 0 ? room - (size_t)n : room);
		if (n == 0)
			return 1;
		if (n < 0)
			return (errno == EAGAIN || errno == EINTR) ? 0 : -1;
	}
}

/* ---- plain: one connection per check ---- */

static void lg_slot_free(struct lg_slot *s)
{
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
	xvbuf_free(&s->rx);
	xvbuf_free(&s->tx);
}

static void lg_plain_start(struct lg_slot *s)
{
	s->q = lg_pick();
	s->started = lg_now();
	lg.issued++;
	xvbuf_init(&s->rx, 2 * XVP_MAX_FRAME);
	xvbuf_init(&s->tx, XVP_MAX_FRAME);
	s->fd = lg_connect();
	if (s->fd < 0) {
		lg_error(s->q, "cannot connect to the bridge");
		lg_slot_free(s);
		return;
	}
	if (lg_encode(&s->tx, XVP_V4, XVP_QUERY, 0, s->q->text) < 0 ||
	    lg_flush(s->fd, &s->tx) < 0) {
		lg_error(s->q, "cannot send the query");
		lg_slot_free(s);
	}
}

static void lg_plain_io(struct lg_slot *s)
{
	struct xvp_msg m;
	int r, closed;

	if (lg_flush(s->fd, &s->tx) < 0) {
		lg_error(s->q, "send failed");
		lg_slot_free(s);
		return;
	}
	closed = lg_fill(s->fd, &s->rx);
	r = xvp_decode(xvbuf_ptr(&s->rx), xvbuf_len(&s->rx), &m);
	if (r > 0) {
		if (m.version != XVP_V4 || m.type != XVP_RESPONSE)
			lg_error(s->q, "not a v4 RESPONSE");
		else
			lg_done(s->q, s->started, m.result, m.text, m.text_len);
		lg_slot_free(s);
	} else if (r != XV_EAGAIN || closed) {
		lg_error(s->q, r != XV_EAGAIN ? "bad answer" : "closed without an answer");
		lg_slot_free(s);
	}
}

/* ---- XV: one connection, tagged queries ---- */

static struct lg_slot *lg_xv_slot(uint32_t id)
{
	for (unsigned i = 0; i < lg.conc; i++)
		if (lg.slots[i].fd >= 0 && lg.slots[i].id == id)
			return &lg.slots[i];
	return NULL;
}

static void lg_xv_start(struct lg_slot *s)
{
	s->q = lg_pick();
	s->started = lg_now();
	s->id = ++lg.next_id ? lg.next_id : ++lg.next_id;
	s->fd = lg.xv_fd; /* marks the slot busy */
	lg.issued++;
	if (lg_encode(&lg.xv_tx, XVP_XV, XVP_XV_QUERY, s->id, s->q->text) < 0) {
		lg_error(s->q, "cannot encode the query");
		s->fd = -1;
	}
}

static void lg_xv_io(void)
{
	int closed;

	if (lg_flush(lg.xv_fd, &lg.xv_tx) < 0) {
		fprintf(stderr, "loadgen: send to the bridge failed\n");
		exit(1);
	}
	closed = lg_fill(lg.xv_fd, &lg.xv_rx);
	for (;;) {
		struct xvp_msg m;
		struct lg_slot *s;
		int r = xvp_decode(xvbuf_ptr(&lg.xv_rx), xvbuf_len(&lg.xv_rx), &m);

		if (r == XV_EAGAIN)
			break;
		if (r < 0 || m.version != XVP_XV) {
			fprintf(stderr, "loadgen: bad packet from the bridge\n");
			exit(1);
		}
		if (m.type == XVP_XV_RESPONSE || (m.type == XVP_XV_ERROR && m.id != 0)) {
			s = lg_xv_slot(m.id);
			if (s == NULL) {
				/* the answer to a check given up on (-t) */
				xvbuf_consume(&lg.xv_rx, (size_t)r);
				continue;
			}
			if (m.type == XVP_XV_ERROR)
				lg_error(s->q, m.text);
			else
				lg_done(s->q, s->started, m.result, m.text, m.text_len);
			s->fd = -1;
		} else if (m.type == XVP_XV_ERROR) {
			fprintf(stderr, "loadgen: the bridge ended the session: %s\n", m.text);
			exit(1);
		}
		xvbuf_consume(&lg.xv_rx, (size_t)r);
	}
	if (closed) {
		fprintf(stderr, "loadgen: the bridge closed the connection\n");
		exit(1);
	}
}

static void lg_xv_open(void)
{
	struct xvp_msg m;
	double until = lg_now() + lg.timeout;
	int r;

	xvbuf_init(&lg.xv_rx, 4 * XVP_MAX_FRAME);
	xvbuf_init(&lg.xv_tx, (size_t)LG_MAX_CONC * XVP_MAX_FRAME / 8);
	lg.xv_fd = lg_connect();
	if (lg.xv_fd < 0 || lg_encode(&lg.xv_tx, XVP_XV, XVP_XV_HELLO, 0, "loadgen") < 0) {
		fprintf(stderr, "loadgen: cannot connect to %s\n", lg.socket);
		exit(1);
	}
	for (;;) {
		struct pollfd p = {.fd = lg.xv_fd, .events = POLLIN};

		lg_flush(lg.xv_fd, &lg.xv_tx);
		poll(&p, 1, 100);
		if (lg_fill(lg.xv_fd, &lg.xv_rx) != 0 || lg_now() > until) {
			fprintf(stderr, "loadgen: no HELLO_ACK\n");
			exit(1);
		}
		r = xvp_decode(xvbuf_ptr(&lg.xv_rx), xvbuf_len(&lg.xv_rx), &m);
		if (r == XV_EAGAIN)
			continue;
		if (r < 0 || m.version != XVP_XV || m.type != XVP_XV_HELLO_ACK) {
			fprintf(stderr, "loadgen: no HELLO_ACK\n");
			exit(1);
		}
		if (m.max_inflight < lg.conc)
			lg.conc = m.max_inflight;
		xvbuf_consume(&lg.xv_rx, (size_t)r);
		return;
	}
}

/* ---- the run ---- */

static unsigned lg_inflight(void)
{
	unsigned n = 0;

	for (unsigned i = 0; i < lg.conc; i++)
		n += lg.slots[i].fd >= 0;
	return n;
}

static int lg_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double lg_pct(double p)
{
	size_t i;

	if (lg.nlat == 0)
		return 0;
	/* the nearest-rank percentile: the ceil(p * n)-th smallest */
	i = (size_t)(p * (double)lg.nlat);
	if ((double)i < p * (double)lg.nlat)
		i++;
	i = i > 0 ? i - 1 : 0;
	if (i >= lg.nlat)
		i = lg.nlat - 1;
	return lg.lat[i];
}

static int lg_more(double start)
{
	if (lg.duration > 0)
		return lg_now() - start < lg.duration;
	return lg.issued < lg.n;
}

static void lg_run(void)
{
	double start = lg_now();

	for (unsigned i = 0; i < lg.conc; i++)
		lg.slots[i].fd = -1;
	if (lg.xv)
		lg_xv_open();
	if (lg.ncheckpoints > 0 && lg.checkpoints[0] == 0) {
		lg_checkpoint(0);
		lg.next_cp = 1;
	}
	while (!lg_stop) {
		struct pollfd pfd[LG_MAX_CONC];
		unsigned long cp = lg.next_cp < lg.ncheckpoints ? lg.checkpoints[lg.next_cp] : 0;
		int hold = cp > 0 && lg.issued >= cp; /* quiesce for the checkpoint */
		unsigned np = 0;
		double now = lg_now();
		int wait_ms = 100;

		if (hold && lg_inflight() == 0) {
			usleep(300000);
			lg_checkpoint(cp);
			lg.next_cp++;
			continue;
		}
		/* start checks while there is room, time and allowance */
		for (unsigned i = 0; !hold && i < lg.conc && lg_more(start); i++) {
			struct lg_slot *s = &lg.slots[i];

			if (s->fd >= 0)
				continue;
			if (lg.rate > 0 && lg.issued >= 1 + (now - start) * lg.rate) {
				wait_ms = 1 + (int)(1000.0 / lg.rate);
				break;
			}
			if (lg.xv)
				lg_xv_start(s);
			else
				lg_plain_start(s);
			if (cp > 0 && lg.issued >= cp)
				break;
		}
		if (lg_inflight() == 0 && !lg_more(start) && !hold)
			break;
		/* time limits */
		for (unsigned i = 0; i < lg.conc; i++) {
			struct lg_slot *s = &lg.slots[i];
			if (s->fd >= 0 && now - s->started > lg.timeout) {
				lg_error(s->q, "no answer within the client's time limit");
				if (lg.xv)
					s->fd = -1;
				else
					lg_slot_free(s);
			}
		}
		if (lg.xv) {
			pfd[np].fd = lg.xv_fd;
			pfd[np].events = POLLIN | (xvbuf_len(&lg.xv_tx) ? POLLOUT : 0);
			np++;
		} else {
			for (unsigned i = 0; i < lg.conc; i++)
				if (lg.slots[i].fd >= 0) {
					pfd[np].fd = lg.slots[i].fd;
					pfd[np].events = POLLIN;
					if (xvbuf_len(&lg.slots[i].tx))
						pfd[np].events |= POLLOUT;
					np++;
				}
		}
		if (np == 0) {
			if (lg_more(start) || hold)
				usleep((useconds_t)wait_ms * 1000);
			continue;
		}
		if (poll(pfd, np, wait_ms) <= 0)
			continue;
		if (lg.xv) {
			lg_xv_io();
		} else {
			for (unsigned i = 0, k = 0; i < lg.conc; i++) {
				struct lg_slot *s = &lg.slots[i];
				if (s->fd < 0)
					continue;
				while (k < np && pfd[k].fd != s->fd)
					k++;
				if (k < np && pfd[k].revents)
					lg_plain_io(s);
			}
		}
	}
	{
		double el = lg_now() - start;
		printf("checks %lu answered %lu mismatched %lu errors %lu in %.1f s (%.0f/s)\n",
		       lg.issued, lg.answered, lg.mismatched, lg.errors, el,
		       el > 0 ? (double)lg.answered / el : 0);
	}
	qsort(lg.lat, lg.nlat, sizeof *lg.lat, lg_cmp);
	printf("latency_ms p50 %.2f p90 %.2f p99 %.2f max %.2f\n", lg_pct(0.5), lg_pct(0.9),
	       lg_pct(0.99), lg.nlat ? lg.lat[lg.nlat - 1] : 0);
	if (!lg.quiet)
		for (unsigned i = 0; i < lg.nq; i++)
			printf("query %s: rc0 %lu rc1 %lu rc2 %lu rc3 %lu mismatched %lu\n",
			       lg.q[i].text, lg.q[i].rc[0], lg.q[i].rc[1], lg.q[i].rc[2],
			       lg.q[i].rc[3], lg.q[i].mismatched);
	for (unsigned i = 0; lg.hist && i < lg.nhist; i++)
		printf("answer rc %d x%lu: %s\n", lg.hist_tab[i].rc, lg.hist_tab[i].n,
		       lg.hist_tab[i].text);
}

int main(int argc, char **argv)
{
	int c;

	lg.n = 100;
	lg.conc = 1;
	lg.timeout = 30;
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGTERM, lg_on_signal);
	signal(SIGINT, lg_on_signal);
	signal(SIGPIPE, SIG_IGN);
	while ((c = getopt(argc, argv, "s:n:d:c:r:t:xk:p:L:Hq")) != -1) {
		switch (c) {
		case 's':
			lg.socket = optarg;
			break;
		case 'n':
			lg.n = strtoul(optarg, NULL, 10);
			break;
		case 'd':
			lg.duration = strtod(optarg, NULL);
			break;
		case 'c':
			lg.conc = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'r':
			lg.rate = strtod(optarg, NULL);
			break;
		case 't':
			lg.timeout = strtod(optarg, NULL);
			break;
		case 'x':
			lg.xv = 1;
			break;
		case 'k':
			for (char *p = optarg; *p && lg.ncheckpoints < LG_MAX_CHECKPOINTS;) {
				lg.checkpoints[lg.ncheckpoints++] = strtoul(p, &p, 10);
				if (*p == ',')
					p++;
				else
					break;
			}
			break;
		case 'p': {
			char *eq = strchr(optarg, '=');
			if (eq == NULL || lg.nprocs == LG_MAX_PROCS)
				lg_usage();
			*eq = '\0';
			lg.procs[lg.nprocs].name = optarg;
			lg.procs[lg.nprocs++].pid = atoi(eq + 1);
			break;
		}
		case 'L':
			lg.lat_file = fopen(optarg, "a");
			if (lg.lat_file == NULL) {
				perror(optarg);
				return 2;
			}
			break;
		case 'H':
			lg.hist = 1;
			break;
		case 'q':
			lg.quiet = 1;
			break;
		default:
			lg_usage();
		}
	}
	if (lg.socket == NULL || optind == argc || lg.conc < 1 || lg.conc > LG_MAX_CONC ||
	    !(lg.timeout > 0))
		lg_usage();
	for (; optind < argc && lg.nq < LG_MAX_QUERIES; optind++) {
		struct lg_query *q = &lg.q[lg.nq++];
		char *eq = strchr(argv[optind], '=');
		/* (QUERY is GUEST/COMMAND[!arg...]: no '=' in it) */

		q->text = argv[optind];
		q->weight = 1;
		{
			char *star = strchr(q->text, '*');
			char *slash = strchr(q->text, '/');
			if (star != NULL && (slash == NULL || star < slash)) {
				q->weight = strtol(q->text, NULL, 10);
				if (q->weight < 1 || q->weight > 1000000)
					lg_usage();
				q->text = star + 1;
			}
		}
		q->want_rc = -1;
		if (eq != NULL) {
			char *colon;
			*eq = '\0';
			q->want_rc = (int)strtol(eq + 1, &colon, 10);
			if (*colon == ':')
				q->want_text = colon + 1;
		}
	}
	lg.lat = calloc(lg.duration > 0 ? 4096 : (lg.n ? lg.n : 1), sizeof *lg.lat);
	if (lg.lat == NULL)
		return 1;
	lg_run();
	if (lg.lat_file)
		fclose(lg.lat_file);
	free(lg.lat);
	return lg.mismatched || lg.errors ? 1 : 0;
}
