/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * xvbench - the measuring tool of `make bench` (tests/bench/bench.sh).
 *
 *   xvbench lat  -s SPEC -r ROUNDS [-w WARMUP] -o CSV
 *       Latency, interleaved: every round runs each method of SPEC once, in
 *       a new random order, one at a time; the time of one run is from just
 *       before posix_spawn() to waitpid() returning (the plugin's output read
 *       to EOF in between, as Nagios does).  Each run's exit status and
 *       first output line are checked against SPEC: a wrong answer is an
 *       error, not a sample.  CSV: method,round,us,ok
 *
 *   xvbench tput -s SPEC -c CLIENTS -t SECONDS [-k CYCLES] -o CSV
 *       Throughput: CLIENTS threads each run the method in a loop (spawn,
 *       wait, spawn ...) for SECONDS; the methods take turns in blocks
 *       (CYCLES rounds of blocks, a new random order each round), so that
 *       a change in the machine's load falls on all of them.  Appends to CSV:
 *       method,clients,cycle,done,errors,seconds,rate,p50_us,p99_us
 *
 *   xvbench load -S SOCKET -g FMT -n GUESTS -r RATE -t SECONDS -o CSV
 *       Open-loop load on the bridge's local socket: RATE checks a second
 *       (started on schedule whatever the answers do), each on its own
 *       connection as check_xenvchan makes it, plain NRPE v4; the query of
 *       check i is FMT with i % GUESTS (printf %d), e.g. "g%d/dummy".  Each
 *       answer must be rc 0.  CSV: seq,guest,start_ms,us,rc
 *       Prints "sent N answered N errors N p50 X p99 Y max Z" (ms).
 *
 * SPEC: one method per line, tab-separated: NAME, expected exit status,
 * expected first line of output (empty: not checked), then the program and
 * its arguments.  Lines starting with '#' are comments.
 *
 * Exit status: 0, or 1 if any run failed its check (all runs still done;
 * the failures are printed on stderr and flagged in the CSV), 2 usage.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

extern char **environ;

#define MAX_METHODS 32
#define MAX_ARGS 64
#define OUT_KEEP 4096

struct method {
	char *name;
	int rc;
	char *expect; /* "" = not checked */
	char *argv[MAX_ARGS + 1];
};

static struct method methods[MAX_METHODS];
static int nmethods;

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("xvbench: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(2);
}

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static void load_spec(const char *path)
{
	FILE *f = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;

	if (f == NULL)
		die("%s: %s", path, strerror(errno));
	while ((n = getline(&line, &cap, f)) >= 0) {
		struct method *m;
		char *tok, *rest;
		int field = 0, na = 0;

		if (n > 0 && line[n - 1] == '\n')
			line[--n] = '\0';
		if (n == 0 || line[0] == '#')
			continue;
		if (nmethods == MAX_METHODS)
			die("%s: more than %d methods", path, MAX_METHODS);
		m = &methods[nmethods];
		/* strsep keeps empty fields (the expected text may be empty) */
		rest = strdup(line);
		if (rest == NULL)
			die("out of memory");
		while ((tok = strsep(&rest, "\t")) != NULL) {
			if (field == 0)
				m->name = tok;
			else if (field == 1)
				m->rc = atoi(tok);
			else if (field == 2)
				m->expect = tok;
			else if (na < MAX_ARGS)
				m->argv[na++] = tok;
			else
				die("%s: too many arguments for %s", path, m->name);
			field++;
		}
		if (na == 0)
			die("%s: no program for method '%s'", path, m->name ? m->name : "?");
		m->argv[na] = NULL;
		nmethods++;
	}
	free(line);
	fclose(f);
	if (nmethods == 0)
		die("%s: no methods", path);
}

/* One run of m: microseconds, or -1 when the answer is wrong (then *why). */
static double run_once(const struct method *m, int capture, char *why, size_t whylen)
{
	posix_spawn_file_actions_t fa;
	char out[OUT_KEEP + 1];
	size_t got = 0;
	int p[2] = {-1, -1}, status, rc;
	double t0, t1;
	pid_t pid;

	posix_spawn_file_actions_init(&fa);
	if (capture) {
		if (pipe2(p, O_CLOEXEC) != 0)
			die("pipe: %s", strerror(errno));
		posix_spawn_file_actions_adddup2(&fa, p[1], 1);
		posix_spawn_file_actions_adddup2(&fa, p[1], 2);
	} else {
		posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
		posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	}
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	t0 = now_us();
	rc = posix_spawn(&pid, m->argv[0], &fa, NULL, m->argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (rc != 0) {
		snprintf(why, whylen, "spawn %s: %s", m->argv[0], strerror(rc));
		if (capture) {
			close(p[0]);
			close(p[1]);
		}
		return -1;
	}
	if (capture) {
		close(p[1]);
		for (;;) {
			char sink[4096];
			ssize_t r = read(p[0], got < OUT_KEEP ? out + got : sink,
					 got < OUT_KEEP ? OUT_KEEP - got : sizeof sink);
			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0)
				break;
			if (got < OUT_KEEP)
				got += (size_t)r;
		}
		close(p[0]);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			die("waitpid: %s", strerror(errno));
	t1 = now_us();
	out[got] = '\0';
	if (!WIFEXITED(status) || WEXITSTATUS(status) != m->rc) {
		snprintf(why, whylen, "%s: exit %d (wanted %d): %.200s", m->name,
			 WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status), m->rc,
			 out);
		return -1;
	}
	if (capture && m->expect[0] != '\0') {
		char *nl = strchr(out, '\n');
		if (nl)
			*nl = '\0';
		if (strcmp(out, m->expect) != 0) {
			snprintf(why, whylen, "%s: output '%.200s' (wanted '%s')", m->name, out,
				 m->expect);
			return -1;
		}
	}
	return t1 - t0;
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static unsigned rnd(unsigned n)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (unsigned)(rng_state % n);
}
static void shuffle(int *a, int n)
{
	for (int i = n - 1; i > 0; i--) {
		int j = (int)rnd((unsigned)i + 1), t = a[i];
		a[i] = a[j];
		a[j] = t;
	}
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* the q-quantile of n sorted values (nearest rank) */
static double quantile(const double *v, size_t n, double q)
{
	size_t i;

	if (n == 0)
		return 0;
	i = (size_t)(q * (double)n + 0.999999);
	if (i < 1)
		i = 1;
	if (i > n)
		i = n;
	return v[i - 1];
}

/* ------------------------------------------------------------------ lat */

static int cmd_lat(const char *out, int rounds, int warmup)
{
	FILE *csv = fopen(out, "w");
	int order[MAX_METHODS], fails = 0;
	char why[512];

	if (csv == NULL)
		die("%s: %s", out, strerror(errno));
	fprintf(csv, "method,round,us,ok\n");
	for (int i = 0; i < nmethods; i++)
		order[i] = i;
	for (int r = -warmup; r < rounds; r++) {
		shuffle(order, nmethods);
		for (int k = 0; k < nmethods; k++) {
			const struct method *m = &methods[order[k]];
			double us = run_once(m, 1, why, sizeof why);

			if (us < 0) {
				fails++;
				if (fails <= 20)
					fprintf(stderr, "xvbench: round %d: %s\n", r, why);
				if (r >= 0)
					fprintf(csv, "%s,%d,,0\n", m->name, r);
				continue;
			}
			if (r >= 0)
				fprintf(csv, "%s,%d,%.1f,1\n", m->name, r, us);
		}
	}
	fclose(csv);
	return fails ? 1 : 0;
}

/* ------------------------------------------------------------------ tput */

struct worker {
	pthread_t th;
	const struct method *m;
	double deadline;
	double *lat;
	size_t n, cap;
	unsigned errors;
	double last_end;
	char why[512];
};

static pthread_barrier_t start_barrier;
static double tput_t0;

static void *worker_main(void *arg)
{
	struct worker *w = arg;

	pthread_barrier_wait(&start_barrier);
	while (now_us() < w->deadline) {
		double us = run_once(w->m, 1, w->why, sizeof w->why);
		if (us < 0) {
			w->errors++;
			continue;
		}
		if (w->n == w->cap) {
			w->cap = w->cap ? 2 * w->cap : 1024;
			w->lat = realloc(w->lat, w->cap * sizeof *w->lat);
			if (w->lat == NULL)
				die("out of memory");
		}
		w->lat[w->n++] = us;
	}
	w->last_end = now_us();
	return NULL;
}

static int cmd_tput(const char *out, int clients, double seconds, int cycles)
{
	FILE *csv;
	int order[MAX_METHODS], fails = 0;
	int header;

	csv = fopen(out, "a");
	if (csv == NULL)
		die("%s: %s", out, strerror(errno));
	header = ftell(csv) == 0;
	if (header)
		fprintf(csv, "method,clients,cycle,done,errors,seconds,rate,p50_us,p99_us\n");
	for (int i = 0; i < nmethods; i++)
		order[i] = i;
	for (int c = 0; c < cycles; c++) {
		shuffle(order, nmethods);
		for (int k = 0; k < nmethods; k++) {
			const struct method *m = &methods[order[k]];
			struct worker *ws = calloc((size_t)clients, sizeof *ws);
			size_t total = 0, j = 0;
			unsigned errors = 0;
			double end = 0, *all;

			if (ws == NULL)
				die("out of memory");
			pthread_barrier_init(&start_barrier, NULL, (unsigned)clients + 1);
			tput_t0 = now_us();
			for (int i = 0; i < clients; i++) {
				ws[i].m = m;
				ws[i].deadline = tput_t0 + seconds * 1e6;
				if (pthread_create(&ws[i].th, NULL, worker_main, &ws[i]) != 0)
					die("pthread_create failed");
			}
			tput_t0 = now_us();
			for (int i = 0; i < clients; i++)
				ws[i].deadline = tput_t0 + seconds * 1e6;
			pthread_barrier_wait(&start_barrier);
			for (int i = 0; i < clients; i++) {
				pthread_join(ws[i].th, NULL);
				total += ws[i].n;
				errors += ws[i].errors;
				if (ws[i].last_end > end)
					end = ws[i].last_end;
				if (ws[i].errors && fails < 20) {
					fprintf(stderr, "xvbench: %s x%d: %u errors, e.g. %s\n", m->name,
						clients, ws[i].errors, ws[i].why);
					fails++;
				}
			}
			pthread_barrier_destroy(&start_barrier);
			all = malloc((total ? total : 1) * sizeof *all);
			if (all == NULL)
				die("out of memory");
			for (int i = 0; i < clients; i++) {
				memcpy(all + j, ws[i].lat, ws[i].n * sizeof *all);
				j += ws[i].n;
				free(ws[i].lat);
			}
			qsort(all, total, sizeof *all, cmp_double);
			double secs = (end - tput_t0) / 1e6;
			fprintf(csv, "%s,%d,%d,%zu,%u,%.3f,%.1f,%.1f,%.1f\n", m->name, clients, c,
				total, errors, secs, (double)total / secs, quantile(all, total, 0.5),
				quantile(all, total, 0.99));
			fflush(csv);
			free(all);
			free(ws);
			if (errors)
				fails++;
		}
	}
	fclose(csv);
	return fails ? 1 : 0;
}

/* ------------------------------------------------------------------ load */

struct lconn {
	int fd;
	int guest;
	long seq;
	double t0;
	size_t sent, got;
	uint8_t rx[16 + 65536];
};

static size_t v4_query(uint8_t *pkt, const char *text)
{
	/* NRPE v4 query, padded to a 1020-byte buffer as check_nrpe and
	 * check_xenvchan send it */
	size_t len = strlen(text) + 1, blen = len < 1020 ? 1020 : len;
	uint32_t crc;

	memset(pkt, 0, 16 + blen);
	pkt[1] = 4; /* version */
	pkt[3] = 1; /* query */
	pkt[12] = (uint8_t)(blen >> 24);
	pkt[13] = (uint8_t)(blen >> 16);
	pkt[14] = (uint8_t)(blen >> 8);
	pkt[15] = (uint8_t)blen;
	memcpy(pkt + 16, text, len);
	crc = (uint32_t)crc32(0L, pkt, (uInt)(16 + blen));
	pkt[4] = (uint8_t)(crc >> 24);
	pkt[5] = (uint8_t)(crc >> 16);
	pkt[6] = (uint8_t)(crc >> 8);
	pkt[7] = (uint8_t)crc;
	return 16 + blen;
}

static int cmd_load(const char *out, const char *sock, const char *fmt, int guests, double rate,
		    double seconds)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	long total = (long)(rate * seconds), next = 0, answered = 0, errors = 0;
	struct lconn **conns = NULL;
	struct pollfd *pfds = NULL;
	size_t nconns = 0, cap = 0;
	uint8_t (*queries)[16 + 1100];
	size_t *qlens;
	double t0, *lat;
	const char *pct;
	FILE *csv;

	if (strlen(sock) >= sizeof sa.sun_path)
		die("socket path too long");
	strcpy(sa.sun_path, sock);
	csv = fopen(out, "w");
	if (csv == NULL)
		die("%s: %s", out, strerror(errno));
	fprintf(csv, "seq,guest,start_ms,us,rc\n");
	queries = malloc((size_t)guests * sizeof *queries);
	qlens = malloc((size_t)guests * sizeof *qlens);
	lat = malloc((size_t)(total ? total : 1) * sizeof *lat);
	if (queries == NULL || qlens == NULL || lat == NULL)
		die("out of memory");
	pct = strstr(fmt, "%d");
	if (pct == NULL || strlen(fmt) > 200)
		die("-g: a query with one %%d, e.g. g%%d/check_dummy");
	for (int g = 0; g < guests; g++) {
		char text[256];
		snprintf(text, sizeof text, "%.*s%d%s", (int)(pct - fmt), fmt, g, pct + 2);
		qlens[g] = v4_query(queries[g], text);
	}
	signal(SIGPIPE, SIG_IGN);
	t0 = now_us();
	while (next < total || nconns > 0) {
		double now = now_us();
		int timeout;

		/* start every check whose time has come */
		while (next < total && t0 + (double)next * 1e6 / rate <= now) {
			struct lconn *c = calloc(1, sizeof *c);
			if (c == NULL)
				die("out of memory");
			c->seq = next;
			c->guest = (int)(next % guests);
			c->t0 = now_us();
			c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
			if (c->fd < 0)
				die("socket: %s", strerror(errno));
			while (connect(c->fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
				if (errno != EAGAIN)
					die("connect %s: %s", sock, strerror(errno));
				usleep(1000); /* backlog full: as check_xenvchan, retry */
			}
			if (nconns == cap) {
				cap = cap ? 2 * cap : 256;
				conns = realloc(conns, cap * sizeof *conns);
				pfds = realloc(pfds, cap * sizeof *pfds);
				if (conns == NULL || pfds == NULL)
					die("out of memory");
			}
			conns[nconns++] = c;
			next++;
		}
		for (size_t i = 0; i < nconns; i++) {
			struct lconn *c = conns[i];
			pfds[i].fd = c->fd;
			pfds[i].events = c->sent < qlens[c->guest] ? POLLOUT | POLLIN : POLLIN;
			pfds[i].revents = 0;
		}
		if (next < total) {
			double due = t0 + (double)next * 1e6 / rate - now_us();
			timeout = due <= 0 ? 0 : (int)(due / 1000) + 1;
		} else {
			timeout = 1000;
		}
		if (poll(pfds, nconns, timeout) < 0 && errno != EINTR)
			die("poll: %s", strerror(errno));
		for (size_t i = 0; i < nconns;) {
			struct lconn *c = conns[i];
			int done = 0, rc = -1;

			if (pfds[i].revents & POLLOUT && c->sent < qlens[c->guest]) {
				ssize_t w = send(c->fd, queries[c->guest] + c->sent,
						 qlens[c->guest] - c->sent, MSG_NOSIGNAL);
				if (w > 0)
					c->sent += (size_t)w;
				else if (w < 0 && errno != EAGAIN)
					done = 1;
			}
			if (!done && pfds[i].revents & (POLLIN | POLLHUP | POLLERR)) {
				ssize_t r = recv(c->fd, c->rx + c->got, sizeof c->rx - c->got, 0);
				if (r > 0)
					c->got += (size_t)r;
				else if (r == 0 || errno != EAGAIN)
					done = 1;
				if (c->got >= 16) {
					size_t blen = (size_t)c->rx[12] << 24 | (size_t)c->rx[13] << 16 |
						      (size_t)c->rx[14] << 8 | c->rx[15];
					if (blen > 65536)
						done = 1;
					else if (c->got >= 16 + blen) {
						rc = (int16_t)(c->rx[8] << 8 | c->rx[9]);
						done = 2;
					}
				}
			}
			if (!done && now_us() - c->t0 > 30e6)
				done = 1; /* no answer in 30 s */
			if (!done) {
				i++;
				continue;
			}
			double us = now_us() - c->t0;
			fprintf(csv, "%ld,%d,%.3f,%.1f,%d\n", c->seq, c->guest, (c->t0 - t0) / 1000,
				us, rc);
			if (done == 2 && rc == 0) {
				lat[answered++] = us;
			} else {
				errors++;
				if (errors <= 10)
					fprintf(stderr, "xvbench: check %ld (guest %d): %s %.100s\n",
						c->seq, c->guest, done == 2 ? "rc" : "no answer",
						c->got > 16 ? (char *)c->rx + 16 : "");
			}
			close(c->fd);
			free(c);
			conns[i] = conns[--nconns];
			pfds[i] = pfds[nconns];
		}
	}
	fclose(csv);
	qsort(lat, (size_t)answered, sizeof *lat, cmp_double);
	printf("sent %ld answered %ld errors %ld seconds %.2f p50 %.3f p99 %.3f max %.3f\n", total,
	       answered, errors, (now_us() - t0) / 1e6, quantile(lat, (size_t)answered, 0.5) / 1000,
	       quantile(lat, (size_t)answered, 0.99) / 1000,
	       answered ? lat[answered - 1] / 1000 : 0.0);
	free(lat);
	free(queries);
	free(qlens);
	free(conns);
	free(pfds);
	return errors ? 1 : 0;
}

/* ------------------------------------------------------------------ main */

static void usage(void)
{
	fputs("usage: xvbench lat -s SPEC -r ROUNDS [-w WARMUP] -o CSV\n"
	      "       xvbench tput -s SPEC -c CLIENTS -t SECONDS [-k CYCLES] -o CSV\n"
	      "       xvbench load -S SOCKET -g FMT -n GUESTS -r RATE -t SECONDS -o CSV\n",
	      stderr);
	exit(2);
}

int main(int argc, char **argv)
{
	const char *mode, *spec = NULL, *out = NULL, *sock = NULL, *fmt = NULL;
	int rounds = 100, warmup = 10, clients = 1, cycles = 3, guests = 1, c;
	double seconds = 2, rate = 100;

	if (argc < 2)
		usage();
	mode = argv[1];
	optind = 2;
	while ((c = getopt(argc, argv, "s:r:w:o:c:t:k:S:g:n:")) != -1) {
		switch (c) {
		case 's': spec = optarg; break;
		case 'r': rounds = atoi(optarg); rate = atof(optarg); break;
		case 'w': warmup = atoi(optarg); break;
		case 'o': out = optarg; break;
		case 'c': clients = atoi(optarg); break;
		case 't': seconds = atof(optarg); break;
		case 'k': cycles = atoi(optarg); break;
		case 'S': sock = optarg; break;
		case 'g': fmt = optarg; break;
		case 'n': guests = atoi(optarg); break;
		default: usage();
		}
	}
	if (out == NULL)
		usage();
	if (getenv("XVBENCH_SEED"))
		rng_state = strtoull(getenv("XVBENCH_SEED"), NULL, 0) | 1;
	if (strcmp(mode, "lat") == 0 || strcmp(mode, "tput") == 0) {
		if (spec == NULL)
			usage();
		load_spec(spec);
		if (mode[0] == 'l')
			return cmd_lat(out, rounds, warmup);
		if (clients < 1 || seconds <= 0 || cycles < 1)
			usage();
		return cmd_tput(out, clients, seconds, cycles);
	}
	if (strcmp(mode, "load") == 0) {
		if (sock == NULL || fmt == NULL || guests < 1 || rate <= 0 || seconds <= 0)
			usage();
		return cmd_load(out, sock, fmt, guests, rate, seconds);
	}
	usage();
	return 2;
}
