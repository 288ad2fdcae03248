/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The channel layer over its "socket:DIR" transport: spec parsing, path
 * rules, the one-client server and its re-listen, non-blocking streaming
 * through chan_fd() notifications, peer close, and no leaked descriptors.
 * Each test works in its own temporary directory and removes it.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <cmocka.h>

#include "chan.h"
#include "xverr.h"

#define TEST_DOMID 5
#define TEST_PEER 0
#define TEST_PATH "data/guest/probes/vchan"
#define TEST_NAME_SUFFIX "/5-data.guest.probes.vchan"
/* the longest any wait in these tests may take before it counts as a hang */
#define TEST_POLL_MS 5000
#define TEST_BULK (1024 * 1024)
/* odd sizes, so that reads and writes split packets at random places */
#define TEST_READ_CHUNK 7001
#define TEST_WRITE_CHUNK 300007 /* more than a socket buffer takes */

struct fixture {
	char dir[64];
	struct chan_spec spec;
	int fds_before;
};

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof *f);
	char spec[sizeof f->dir + 16];

	if (!f)
		return -1;
	snprintf(f->dir, sizeof f->dir, "/tmp/xv-chan-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(spec, sizeof spec, "socket:%s", f->dir);
	if (chan_spec_parse(spec, &f->spec) != 0)
		return -1;
	f->fds_before = count_fds();
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	struct dirent *e;
	char p[sizeof f->dir + 256];
	DIR *d = opendir(f->dir);

	while (d && (e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(p, sizeof p, "%s/%s", f->dir, e->d_name);
		unlink(p);
	}
	if (d)
		closedir(d);
	rmdir(f->dir);
	free(f);
	return 0;
}

static void assert_no_fd_leak(const struct fixture *f)
{
	assert_int_equal(count_fds(), f->fds_before);
}

static void sock_name(const struct fixture *f, char *buf, size_t size)
{
	snprintf(buf, size, "%s%s", f->dir, TEST_NAME_SUFFIX);
}

static int file_exists(const char *p)
{
	struct stat st;

	return lstat(p, &st) == 0;
}

static struct chan *server(const struct fixture *f)
{
	int err = 0;
	struct chan *c = chan_server(&f->spec, TEST_DOMID, TEST_PEER, TEST_PATH, 0, 0, &err);

	assert_int_equal(err, 0);
	assert_non_null(c);
	return c;
}

static struct chan *client(const struct fixture *f)
{
	int err = 0;
	struct chan *c = chan_client(&f->spec, TEST_DOMID, TEST_PATH, &err);

	assert_int_equal(err, 0);
	assert_non_null(c);
	return c;
}

/* 1 if chan_fd(c) becomes readable within TEST_POLL_MS, else 0 */
static int fd_ready(const struct chan *c, int ms)
{
	struct pollfd p = {.fd = chan_fd(c), .events = POLLIN};

	return poll(&p, 1, ms) == 1;
}

/* A server that has accepted a client: both ends open. */
static void connect_pair(const struct fixture *f, struct chan **srv, struct chan **cli)
{
	*srv = server(f);
	*cli = client(f);
	assert_true(fd_ready(*srv, TEST_POLL_MS));
	assert_int_equal(chan_wait(*srv), 0);
	assert_int_equal(chan_state(*srv), CHAN_OPEN);
	assert_int_equal(chan_state(*cli), CHAN_OPEN);
}

static void test_spec_parse(void **state)
{
	struct fixture *f = *state;
	struct chan_spec s;
	char text[CHAN_SPEC_TEXT_MAX], bad[CHAN_SOCKET_DIR_MAX + 32], file[sizeof f->dir + 8];
	FILE *fp;

	assert_int_equal(chan_spec_parse("vchan", &s), 0);
	assert_int_equal(s.kind, CHAN_VCHAN);
	assert_null(s.xtl);
	assert_int_equal(chan_spec_format(&s, text, sizeof text), 5);
	assert_string_equal(text, "vchan");

	snprintf(bad, sizeof bad, "socket:%s", f->dir);
	assert_int_equal(chan_spec_parse(bad, &s), 0);
	assert_int_equal(s.kind, CHAN_SOCKET);
	assert_string_equal(s.dir, f->dir);
	assert_int_equal(chan_spec_format(&s, text, sizeof text), (int)strlen(bad));
	assert_string_equal(text, bad);
	assert_int_equal(chan_spec_format(&s, text, 8), XV_E2BIG);
	assert_string_equal(text, "socket:");
	assert_int_equal(chan_spec_parse("socket:.", &s), 0);
	assert_string_equal(s.dir, ".");

	static const char *const malformed[] = {
	    "",	      "vchan:",	 "VCHAN",     "vchan ",	     " vchan",
	    "socket", "socket:", "sock:/tmp", "tcp:1.2.3.4", "socket:/nonexistent/xv-chan-test",
	};
	for (size_t i = 0; i < sizeof malformed / sizeof malformed[0]; i++)
		assert_int_equal(chan_spec_parse(malformed[i], &s), XV_ESPEC);

	/* DIR must be a directory */
	snprintf(file, sizeof file, "%s/file", f->dir);
	fp = fopen(file, "w");
	assert_non_null(fp);
	fclose(fp);
	snprintf(bad, sizeof bad, "socket:%s", file);
	assert_int_equal(chan_spec_parse(bad, &s), XV_ESPEC);
	unlink(file);

	/* DIR longer than sun_path allows, even though "/////..." exists */
	memcpy(bad, "socket:", 7);
	memset(bad + 7, '/', CHAN_SOCKET_DIR_MAX + 1);
	bad[7 + CHAN_SOCKET_DIR_MAX + 1] = '\0';
	assert_int_equal(chan_spec_parse(bad, &s), XV_ESPEC);
	bad[7 + CHAN_SOCKET_DIR_MAX] = '\0';
	assert_int_equal(chan_spec_parse(bad, &s), 0);

	assert_int_equal(chan_spec_parse(NULL, &s), XV_EINVAL);
	assert_int_equal(chan_spec_parse("vchan", NULL), XV_EINVAL);
	s.kind = 0;
	assert_int_equal(chan_spec_format(&s, text, sizeof text), XV_EINVAL);
	assert_string_equal(chan_state_name(CHAN_WAITING), "waiting");
	assert_string_equal(chan_state_name(CHAN_OPEN), "open");
	assert_string_equal(chan_state_name(CHAN_CLOSED), "closed");
	assert_string_equal(chan_state_name(0), "invalid");
}

static void test_path_rules(void **state)
{
	struct fixture *f = *state;
	char name[200], want[200];
	struct chan_spec vchan;
	int err = 0;

	sock_name(f, want, sizeof want);
	assert_int_equal(chan_socket_name(&f->spec, TEST_DOMID, TEST_PATH, name, sizeof name),
			 (int)strlen(want));
	assert_string_equal(name, want);
	/* the absolute form of the same path names the same file */
	assert_int_equal(
	    chan_socket_name(&f->spec, TEST_DOMID, "/local/domain/5/" TEST_PATH, name, sizeof name),
	    (int)strlen(want));
	assert_string_equal(name, want);
	assert_int_equal(
	    chan_socket_name(&f->spec, 6, "/local/domain/5/" TEST_PATH, name, sizeof name),
	    XV_EINVAL);
	assert_int_equal(chan_socket_name(&f->spec, TEST_DOMID, TEST_PATH, name, 10), XV_E2BIG);

	static const char *const bad_paths[] = {
	    "",
	    "/",
	    "data//x",
	    "data/",
	    "/data/x",
	    "data/a.b",
	    "data/a b",
	    "data/a\\b",
	    "/local/domain/5",
	    "/local/domain/5/",
	    "/local/domain/55/data",
	    "data/\xc3\xa9",
	};
	for (size_t i = 0; i < sizeof bad_paths / sizeof bad_paths[0]; i++) {
		assert_int_equal(
		    chan_socket_name(&f->spec, TEST_DOMID, bad_paths[i], name, sizeof name),
		    XV_EINVAL);
		assert_null(chan_client(&f->spec, TEST_DOMID, bad_paths[i], &err));
		assert_int_equal(err, XV_EINVAL);
		assert_null(chan_server(&f->spec, TEST_DOMID, 0, bad_paths[i], 0, 0, &err));
		assert_int_equal(err, XV_EINVAL);
	}
	/* a server always uses a path relative to its home */
	assert_null(chan_server(&f->spec, TEST_DOMID, 0, "/local/domain/5/" TEST_PATH, 0, 0, &err));
	assert_int_equal(err, XV_EINVAL);

	/* 49 characters absolute is the limit: "/local/domain/5/" is 16, so 33
	 * relative fit for domid 5, and only 29 for a 5-digit domid */
	const char *p33 = "data/aaaaaaaaaaaaaaaaaaaaaaaaaaaa";
	assert_int_equal(strlen(p33), 33);
	struct chan *c = chan_server(&f->spec, TEST_DOMID, 0, p33, 0, 0, &err);
	assert_non_null(c);
	chan_close(c);
	assert_null(chan_server(&f->spec, 12345, 0, p33, 0, 0, &err));
	assert_int_equal(err, XV_E2BIG);
	assert_null(chan_client(&f->spec, 12345, p33, &err));
	assert_int_equal(err, XV_E2BIG);
	assert_null(
	    chan_server(&f->spec, TEST_DOMID, 0, "data/aaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 0, 0, &err));
	assert_int_equal(err, XV_E2BIG);

	/* domids and ring sizes */
	static const int bad_domids[] = {-1, CHAN_DOMID_MAX + 1, 0x7ff0, 65535};
	for (size_t i = 0; i < sizeof bad_domids / sizeof bad_domids[0]; i++) {
		assert_null(chan_server(&f->spec, bad_domids[i], 0, TEST_PATH, 0, 0, &err));
		assert_int_equal(err, XV_EINVAL);
		assert_null(
		    chan_server(&f->spec, TEST_DOMID, bad_domids[i], TEST_PATH, 0, 0, &err));
		assert_int_equal(err, XV_EINVAL);
		assert_null(chan_client(&f->spec, bad_domids[i], TEST_PATH, &err));
		assert_int_equal(err, XV_EINVAL);
	}
	assert_null(chan_server(&f->spec, TEST_DOMID, 0, TEST_PATH, CHAN_RING_MAX + 1, 0, &err));
	assert_int_equal(err, XV_EINVAL);
	assert_null(chan_server(NULL, TEST_DOMID, 0, TEST_PATH, 0, 0, &err));
	assert_int_equal(err, XV_EINVAL);
	assert_null(chan_client(&f->spec, TEST_DOMID, NULL, NULL)); /* err may be NULL */
	assert_int_equal(chan_spec_parse("vchan", &vchan), 0);
	assert_int_equal(chan_socket_name(&vchan, TEST_DOMID, TEST_PATH, name, sizeof name),
			 XV_EINVAL);
	assert_no_fd_leak(f);
}

static void test_sun_path_limit(void **state)
{
	struct fixture *f = *state;
	char deep[CHAN_SOCKET_DIR_MAX + 1];
	struct chan_spec s;
	int err = 0;
	size_t n;

	/* an existing directory whose name leaves no room for the file name */
	n = (size_t)snprintf(deep, sizeof deep, "%s", f->dir);
	while (n + 2 < 100) {
		deep[n++] = '/';
		deep[n++] = '.';
	}
	deep[n] = '\0';
	char spec[sizeof deep + 8];
	snprintf(spec, sizeof spec, "socket:%s", deep);
	assert_int_equal(chan_spec_parse(spec, &s), 0);
	assert_null(chan_server(&s, TEST_DOMID, 0, TEST_PATH, 0, 0, &err));
	assert_int_equal(err, XV_E2BIG);
	assert_null(chan_client(&s, TEST_DOMID, TEST_PATH, &err));
	assert_int_equal(err, XV_E2BIG);
	assert_no_fd_leak(f);
}

static void test_connect_open(void **state)
{
	struct fixture *f = *state;
	char name[200], byte = 'x';
	struct chan *srv, *cli;
	int err = 0, fd;

	/* nobody listens yet */
	assert_null(chan_client(&f->spec, TEST_DOMID, TEST_PATH, &err));
	assert_int_equal(err, XV_ENOPEER);

	srv = server(f);
	fd = chan_fd(srv);
	assert_true(fd >= 0);
	assert_int_equal(chan_state(srv), CHAN_WAITING);
	sock_name(f, name, sizeof name);
	assert_true(file_exists(name));
	assert_int_equal(chan_read(srv, &byte, 1), XV_ESTATE);
	assert_int_equal(chan_write(srv, &byte, 1), XV_ESTATE);
	/* nothing pending: chan_wait returns at once */
	assert_false(fd_ready(srv, 0));
	assert_int_equal(chan_wait(srv), 0);
	assert_int_equal(chan_state(srv), CHAN_WAITING);

	/* another path, another domid: still nobody */
	assert_null(chan_client(&f->spec, TEST_DOMID, "data/other", &err));
	assert_int_equal(err, XV_ENOPEER);
	assert_null(chan_client(&f->spec, TEST_DOMID + 1, TEST_PATH, &err));
	assert_int_equal(err, XV_ENOPEER);

	cli = client(f);
	assert_int_equal(chan_state(cli), CHAN_OPEN);
	assert_int_equal(chan_read(cli, &byte, 1), 0);
	/* the client may write before the server has accepted */
	assert_int_equal(chan_write(cli, "hello", 5), 5);

	assert_true(fd_ready(srv, TEST_POLL_MS));
	assert_int_equal(chan_wait(srv), 0);
	assert_int_equal(chan_state(srv), CHAN_OPEN);
	assert_int_equal(chan_fd(srv), fd); /* stable across accept */
	assert_false(file_exists(name));    /* one client: no longer listening */

	char buf[16] = {0};
	assert_int_equal(chan_read(srv, buf, sizeof buf), 5);
	assert_string_equal(buf, "hello");
	assert_int_equal(chan_read(srv, buf, sizeof buf), 0);

	chan_close(cli);
	chan_close(srv);
	assert_no_fd_leak(f);
}

struct bulk_end {
	struct chan *c;
	unsigned char *out, *in;
	size_t sent, got;
	int partial_writes;
};

/* What an event loop does for an end whose fd was readable: write until a
 * write is short, read until a read returns 0. */
static void bulk_service(struct bulk_end *e)
{
	unsigned char chunk[TEST_READ_CHUNK];
	ssize_t r;

	while (e->sent < TEST_BULK) {
		size_t want = TEST_BULK - e->sent;
		if (want > TEST_WRITE_CHUNK)
			want = TEST_WRITE_CHUNK;
		r = chan_write(e->c, e->out + e->sent, want);
		assert_true(r >= 0);
		e->sent += (size_t)r;
		if ((size_t)r < want) {
			e->partial_writes++;
			break;
		}
	}
	while ((r = chan_read(e->c, chunk, sizeof chunk)) > 0) {
		assert_true(e->got + (size_t)r <= TEST_BULK);
		memcpy(e->in + e->got, chunk, (size_t)r);
		e->got += (size_t)r;
	}
	assert_int_equal(r, 0);
}

/* Moves TEST_BULK bytes each way at once, in odd-sized pieces, each end
 * acting only when its chan_fd() says so: a lost notification shows up as a
 * poll timeout. */
static void test_stream_both_ways(void **state)
{
	struct fixture *f = *state;
	struct bulk_end e[2];
	int wakeups = 0;

	memset(e, 0, sizeof e);
	connect_pair(f, &e[0].c, &e[1].c);
	for (int i = 0; i < 2; i++) {
		e[i].out = malloc(TEST_BULK);
		e[i].in = malloc(TEST_BULK);
		assert_non_null(e[i].out);
		assert_non_null(e[i].in);
		for (size_t k = 0; k < TEST_BULK; k++)
			e[i].out[k] = (unsigned char)(k * 7 + (k >> 11) + (size_t)i * 101);
	}
	bulk_service(&e[0]);
	bulk_service(&e[1]);
	while (e[0].got < TEST_BULK || e[1].got < TEST_BULK) {
		struct pollfd p[2] = {{.fd = chan_fd(e[0].c), .events = POLLIN},
				      {.fd = chan_fd(e[1].c), .events = POLLIN}};
		assert_true(poll(p, 2, TEST_POLL_MS) > 0); /* else: a lost wake-up */
		for (int i = 0; i < 2; i++) {
			if (!p[i].revents)
				continue;
			wakeups++;
			assert_int_equal(chan_wait(e[i].c), 0);
			bulk_service(&e[i]);
		}
	}
	assert_memory_equal(e[0].in, e[1].out, TEST_BULK);
	assert_memory_equal(e[1].in, e[0].out, TEST_BULK);
	/* 1 MiB does not fit in a socket buffer: the flow control ran */
	assert_true(e[0].partial_writes > 0 && e[1].partial_writes > 0);
	assert_true(wakeups > 2);
	for (int i = 0; i < 2; i++) {
		free(e[i].out);
		free(e[i].in);
		chan_close(e[i].c);
	}
	assert_no_fd_leak(f);
}

static void test_partial_read_write(void **state)
{
	struct fixture *f = *state;
	const size_t big = 4 * TEST_BULK;
	unsigned char *buf = calloc(1, big), small[10];
	struct chan *srv, *cli;
	ssize_t w, r;
	size_t drained = 0;

	assert_non_null(buf);
	connect_pair(f, &srv, &cli);
	/* more than the socket holds: accepted in part, then not at all */
	w = chan_write(cli, buf, big);
	assert_true(w > 0 && (size_t)w < big);
	assert_int_equal(chan_write(cli, buf, big), 0);
	/* more than CHAN_IO_MAX is cut to it, never an error */
	assert_true(chan_write(cli, buf, (size_t)CHAN_IO_MAX * 3) >= 0);

	/* nothing has been read: the client is not woken for space yet */
	assert_int_equal(chan_wait(cli), 0);
	assert_false(fd_ready(cli, 50));

	r = chan_read(srv, small, sizeof small);
	assert_int_equal(r, (ssize_t)sizeof small);
	drained += (size_t)r;
	while ((r = chan_read(srv, buf, big)) > 0)
		drained += (size_t)r;
	assert_int_equal(r, 0);
	assert_true(drained >= (size_t)w);

	/* the reader made room: the writer's fd reports it, once */
	assert_true(fd_ready(cli, TEST_POLL_MS));
	assert_int_equal(chan_wait(cli), 0);
	assert_false(fd_ready(cli, 0));
	assert_true(chan_write(cli, buf, 1000) == 1000);
	/* the server is woken for the new data */
	assert_true(fd_ready(srv, TEST_POLL_MS));
	assert_int_equal(chan_wait(srv), 0);
	assert_int_equal(chan_read(srv, buf, big), 1000);

	assert_int_equal(chan_read(srv, NULL, 1), XV_EINVAL);
	assert_int_equal(chan_read(srv, buf, 0), XV_EINVAL);
	assert_int_equal(chan_write(srv, buf, 0), XV_EINVAL);
	free(buf);
	chan_close(cli);
	chan_close(srv);
	assert_no_fd_leak(f);
}

/* The peer closes in the middle of a message: what it sent is still read,
 * then XV_ECLOSED; writing to it fails cleanly (no SIGPIPE). */
static void test_peer_close(void **state)
{
	struct fixture *f = *state;
	unsigned char msg[1000], buf[5000];
	struct chan *srv, *cli;
	size_t got = 0;
	ssize_t r;

	for (size_t i = 0; i < sizeof msg; i++)
		msg[i] = (unsigned char)i;
	connect_pair(f, &srv, &cli);
	/* the first 1000 bytes of a 5000-byte message, then the writer dies */
	assert_int_equal(chan_write(cli, msg, sizeof msg), (ssize_t)sizeof msg);
	chan_close(cli);

	assert_true(fd_ready(srv, TEST_POLL_MS));
	assert_int_equal(chan_wait(srv), 0);
	assert_int_equal(chan_state(srv), CHAN_CLOSED); /* with data still unread */
	while ((r = chan_read(srv, buf + got, 300)) > 0)
		got += (size_t)r;
	assert_int_equal(r, XV_ECLOSED);
	assert_int_equal(got, sizeof msg);
	assert_memory_equal(buf, msg, sizeof msg);
	assert_int_equal(chan_read(srv, buf, sizeof buf), XV_ECLOSED);
	assert_int_equal(chan_write(srv, msg, sizeof msg), XV_ECLOSED);
	assert_int_equal(chan_state(srv), CHAN_CLOSED);
	chan_close(srv);

	/* and the other way round: the server goes, the client notices */
	connect_pair(f, &srv, &cli);
	assert_int_equal(chan_write(srv, msg, 10), 10);
	chan_close(srv);
	assert_true(fd_ready(cli, TEST_POLL_MS));
	assert_int_equal(chan_wait(cli), 0);
	assert_int_equal(chan_state(cli), CHAN_CLOSED);
	assert_int_equal(chan_read(cli, buf, sizeof buf), 10);
	assert_int_equal(chan_read(cli, buf, sizeof buf), XV_ECLOSED);
	/* a write to a peer that is gone, possibly before it is seen as gone */
	for (int i = 0; i < 3; i++)
		assert_int_equal(chan_write(cli, msg, sizeof msg), XV_ECLOSED);
	chan_close(cli);
	assert_no_fd_leak(f);
}

/* One client per server, then close and re-listen for the next one. */
static void test_one_client_relisten(void **state)
{
	struct fixture *f = *state;
	struct chan *srv, *cli, *cli2;
	char buf[16] = {0};
	int err = 0;

	srv = server(f);
	cli = client(f);
	/* not accepted yet: the one waiting slot is taken */
	assert_null(chan_client(&f->spec, TEST_DOMID, TEST_PATH, &err));
	assert_int_equal(err, XV_ENOPEER);
	assert_true(fd_ready(srv, TEST_POLL_MS));
	assert_int_equal(chan_wait(srv), 0);
	assert_int_equal(chan_state(srv), CHAN_OPEN);
	/* accepted: nobody listens any more */
	assert_null(chan_client(&f->spec, TEST_DOMID, TEST_PATH, &err));
	assert_int_equal(err, XV_ENOPEER);
	assert_int_equal(chan_state(srv), CHAN_OPEN);
	assert_int_equal(chan_state(cli), CHAN_OPEN);

	chan_close(cli);
	chan_close(srv);

	/* re-listen: a new server on the same path takes a new client */
	srv = server(f);
	cli2 = client(f);
	assert_true(fd_ready(srv, TEST_POLL_MS));
	assert_int_equal(chan_wait(srv), 0);
	assert_int_equal(chan_write(cli2, "again", 5), 5);
	assert_true(fd_ready(srv, TEST_POLL_MS));
	assert_int_equal(chan_wait(srv), 0);
	assert_int_equal(chan_read(srv, buf, sizeof buf), 5);
	assert_string_equal(buf, "again");
	chan_close(cli2);
	chan_close(srv);

	/* many cycles: nothing accumulates */
	for (int i = 0; i < 50; i++) {
		connect_pair(f, &srv, &cli);
		chan_close(cli);
		chan_close(srv);
	}
	assert_no_fd_leak(f);
}

/* A socket file left by a dead server is replaced; any other file is not
 * touched; a server removes only its own file. */
static void test_socket_file(void **state)
{
	struct fixture *f = *state;
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct chan *a, *b;
	char name[sizeof sa.sun_path];
	int err = 0, fd;
	FILE *fp;

	sock_name(f, name, sizeof name);
	/* stale: bound, then its owner went away without removing it */
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", name);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
	close(fd);
	assert_null(chan_client(&f->spec, TEST_DOMID, TEST_PATH, &err));
	assert_int_equal(err, XV_ENOPEER); /* ECONNREFUSED */
	a = server(f);
	chan_close(a);
	assert_false(file_exists(name)); /* a waiting server's close removes it */

	/* not a socket: left alone */
	fp = fopen(name, "w");
	assert_non_null(fp);
	fclose(fp);
	errno = 0;
	assert_null(chan_server(&f->spec, TEST_DOMID, 0, TEST_PATH, 0, 0, &err));
	assert_int_equal(err, XV_ESYS);
	assert_int_equal(errno, EEXIST);
	assert_true(file_exists(name));
	unlink(name);

	/* a newer server took the name over: the older one's close keeps it */
	a = server(f);
	b = server(f);
	chan_close(a);
	assert_true(file_exists(name));
	chan_close(b);
	assert_false(file_exists(name));
	assert_no_fd_leak(f);
}

static void test_vchan_unsupported(void **state)
{
	struct fixture *f = *state;
	struct chan_spec s;
	int err = 0;

	if (access("/dev/xen/evtchn", F_OK) == 0)
		skip(); /* a Xen host: tests/xen covers vchan */
	assert_int_equal(chan_spec_parse("vchan", &s), 0);
	assert_null(chan_server(&s, TEST_DOMID, 0, TEST_PATH, 0, 0, &err));
	assert_int_equal(err, XV_EUNSUPP);
	assert_null(chan_client(&s, TEST_DOMID, TEST_PATH, &err));
	assert_int_equal(err, XV_EUNSUPP);
	/* path rules are checked before anything else, for either kind */
	assert_null(chan_client(&s, TEST_DOMID, "data//x", &err));
	assert_int_equal(err, XV_EINVAL);
	assert_no_fd_leak(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_spec_parse, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_path_rules, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_sun_path_limit, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_connect_open, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_stream_both_ways, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_partial_read_write, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_peer_close, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_one_client_relisten, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_socket_file, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_vchan_unsupported, setup, teardown),
	};
	return cmocka_run_group_tests_name("chan_socket", tests, NULL, NULL);
}
