/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * local.c, the bridge's local socket, against a client driven by hand over
 * the real Unix socket, with the bridge's core replaced by a stub (the
 * contract of bridge.h: "GUEST/slow" is never answered, anything else at
 * the next turn of the loop).  The local socket's end of what it and the
 * agent once did differently; PROTOCOL.md is the authority: a tagged
 * QUERY without memory is refused with ERROR and its id, and the
 * connection goes on (5.4 rule 4); a cancelled request is answered
 * UNKNOWN "cancelled" (rule 5).  test_session.c holds the agent's end.
 */
#define _GNU_SOURCE
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
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "../../common/log.h"
#include "../../host-bridge/bridge.h"
#include "../../host-bridge/local.h"
#include "xvbuf.h"
#include "xverr.h"
#include "xvp.h"

#define TEST_DEADLINE 20.0 /* seconds before a wait counts as a hang */

/* linked with -Wl,--wrap=calloc (Makefile): calloc_fail makes the next
 * calloc of the code under test fail, once */
void *__real_calloc(size_t n, size_t size);
void *__wrap_calloc(size_t n, size_t size);
static int calloc_fail;

void *__wrap_calloc(size_t n, size_t size)
{
	if (calloc_fail) {
		calloc_fail = 0;
		return NULL;
	}
	return __real_calloc(n, size);
}

/* ---- the stub core ---------------------------------------------------------- */

struct bridge_req {
	struct bridge_req *next;
	bridge_done_fn *done;
	void *arg;
	int slow;
};

static struct ev_loop *loop;
static struct bridge_req *reqs;
static ev_timer answer_w;

static void stub_answer_cb(struct ev_loop *l, ev_timer *w, int revents)
{
	struct bridge_req **pp = &reqs, *q;

	while ((q = *pp) != NULL) {
		if (q->slow) {
			pp = &q->next;
			continue;
		}
		*pp = q->next;
		q->done(0, "OK", 2, q->arg);
		free(q);
		pp = &reqs;
	}
}

int bridge_submit(struct bridge *b, const struct route *r, double timeout, bridge_done_fn *done,
		  void *arg, struct bridge_req **handle)
{
	struct bridge_req *q = __real_calloc(1, sizeof *q);

	if (q == NULL)
		return -ENOMEM;
	q->done = done;
	q->arg = arg;
	q->slow = r->query_len == 4 && !memcmp(r->query, "slow", 4);
	q->next = reqs;
	reqs = q;
	if (handle)
		*handle = q;
	if (!ev_is_active(&answer_w)) {
		ev_timer_set(&answer_w, 0., 0.);
		ev_timer_start(loop, &answer_w);
	}
	return 0;
}

void bridge_cancel(struct bridge_req *q)
{
	struct bridge_req **pp = &reqs;

	while (*pp != q)
		pp = &(*pp)->next;
	*pp = q->next;
	free(q);
}

/* ---- the client --------------------------------------------------------------- */

static struct local *lo;
static char tmpdir[64];
static char path[96];

struct client {
	int fd;
	struct xvbuf in;
	uint8_t frame[XVP_MAX_FRAME];
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void spin(void)
{
	for (int i = 0; i < 4; i++)
		ev_run(loop, EVRUN_NOWAIT);
}

static int group_setup(void **state)
{
	struct local_opts o = {.mode = 0600, .group = (gid_t)-1, .timeout = 30, .max_clients = 8};
	static int fake_bridge;
	char err[256];

	log_init("test_local", 0, 0, LOG_LVL_ERR);
	snprintf(tmpdir, sizeof tmpdir, "/tmp/test_local.XXXXXX");
	assert_non_null(mkdtemp(tmpdir));
	snprintf(path, sizeof path, "%s/bridge.sock", tmpdir);
	o.path = path;
	loop = ev_loop_new(EVFLAG_AUTO);
	assert_non_null(loop);
	ev_init(&answer_w, stub_answer_cb);
	lo = local_start(loop, (struct bridge *)&fake_bridge, &o, err, sizeof err);
	assert_non_null(lo);
	return 0;
}

static int group_teardown(void **state)
{
	local_stop(lo);
	ev_timer_stop(loop, &answer_w);
	ev_loop_destroy(loop);
	assert_int_equal(rmdir(tmpdir), 0);
	return 0;
}

static void client_open(struct client *c)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};

	memset(c, 0, sizeof *c);
	assert_int_equal(xvbuf_init(&c->in, 4 * XVP_MAX_FRAME), 0);
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(c->fd >= 0);
	assert_int_equal(connect(c->fd, (struct sockaddr *)&sa, sizeof sa), 0);
	spin();
}

static void client_close(struct client *c)
{
	close(c->fd);
	xvbuf_free(&c->in);
	spin();
}

/* Writes m without running the loop. */
static void client_write(struct client *c, const struct xvp_msg *m)
{
	struct xvbuf b;

	assert_int_equal(xvbuf_init(&b, XVP_MAX_FRAME), 0);
	assert_true(xvp_encode(&b, m) > 0);
	assert_int_equal(send(c->fd, xvbuf_ptr(&b), xvbuf_len(&b), MSG_NOSIGNAL),
			 (ssize_t)xvbuf_len(&b));
	xvbuf_free(&b);
}

static void client_send(struct client *c, const struct xvp_msg *m)
{
	client_write(c, m);
	spin();
}

/* The next frame from the bridge: 1 with *m (valid until the next call),
 * 0 when it closed the connection. */
static int client_next(struct client *c, struct xvp_msg *m)
{
	double t0 = now();

	while (now() - t0 < TEST_DEADLINE) {
		uint8_t buf[65536];
		ssize_t n;
		int r = xvp_decode(xvbuf_ptr(&c->in), xvbuf_len(&c->in), m);

		if (r > 0) {
			memcpy(c->frame, xvbuf_ptr(&c->in), (size_t)r);
			assert_int_equal(xvp_decode(c->frame, (size_t)r, m), r);
			xvbuf_consume(&c->in, (size_t)r);
			return 1;
		}
		assert_int_equal(r, XV_EAGAIN);
		spin();
		n = recv(c->fd, buf, sizeof buf, MSG_DONTWAIT);
		if (n == 0)
			return 0;
		if (n < 0) {
			assert_true(errno == EAGAIN || errno == EWOULDBLOCK);
			continue;
		}
		assert_int_equal(xvbuf_put(&c->in, buf, (size_t)n), 0);
	}
	fail_msg("no frame and no close within %g s", TEST_DEADLINE);
	return 0;
}

static void hello(struct client *c)
{
	struct xvp_msg h = {.version = XVP_XV,
			    .type = XVP_XV_HELLO,
			    .proto_min = 1,
			    .proto_max = 1,
			    .max_inflight = 16,
			    .max_response = XVP_MAX_BUFFER,
			    .text = "test",
			    .text_len = 4};
	struct xvp_msg m;

	client_send(c, &h);
	assert_int_equal(client_next(c, &m), 1);
	assert_int_equal(m.type, XVP_XV_HELLO_ACK);
}

/* Rule 4: a tagged QUERY the bridge has no memory for is answered with an
 * ERROR that carries its id, and the connection goes on. */
static void test_query_nomem(void **state)
{
	struct xvp_msg q = {
	    .version = XVP_XV, .type = XVP_XV_QUERY, .id = 7, .text = "web01/x", .text_len = 7};
	struct xvp_msg ping = {.version = XVP_XV, .type = XVP_XV_PING, .id = 9};
	struct client c;
	struct xvp_msg m;

	client_open(&c);
	hello(&c);
	client_write(&c, &q);
	calloc_fail = 1; /* the next calloc: the request's */
	spin();
	calloc_fail = 0;
	assert_int_equal(client_next(&c, &m), 1);
	assert_int_equal(m.type, XVP_XV_ERROR);
	assert_int_equal(m.id, 7);
	assert_int_equal(m.text_len, sizeof "out of memory" - 1);
	assert_memory_equal(m.text, "out of memory", m.text_len);
	client_send(&c, &ping);
	assert_int_equal(client_next(&c, &m), 1);
	assert_int_equal(m.type, XVP_XV_PONG);
	assert_int_equal(m.id, 9);
	client_close(&c);
}

/* Rule 5: a cancelled request is answered UNKNOWN "cancelled", the same
 * text as from the agent; the stub's request is gone. */
static void test_cancel_answer(void **state)
{
	struct xvp_msg q = {
	    .version = XVP_XV, .type = XVP_XV_QUERY, .id = 5, .text = "web01/slow", .text_len = 10};
	struct xvp_msg cancel = {.version = XVP_XV, .type = XVP_XV_CANCEL, .id = 5};
	struct client c;
	struct xvp_msg m;

	client_open(&c);
	hello(&c);
	client_send(&c, &q);
	assert_non_null(reqs);
	client_send(&c, &cancel);
	assert_int_equal(client_next(&c, &m), 1);
	assert_int_equal(m.type, XVP_XV_RESPONSE);
	assert_int_equal(m.id, 5);
	assert_int_equal(m.result, 3);
	assert_int_equal(m.text_len, sizeof "cancelled" - 1);
	assert_memory_equal(m.text, "cancelled", m.text_len);
	assert_null(reqs);
	client_close(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_query_nomem),
	    cmocka_unit_test(test_cancel_answer),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
