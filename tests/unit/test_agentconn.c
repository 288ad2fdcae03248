/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * agentconn.c, the bridge's client side of the XV extension, against an
 * "agent" driven by hand on the server end of a socket:DIR channel: the
 * PING/PONG rule (PROTOCOL.md 5.4 rule 7).  An agent that floods PINGs and
 * never reads the PONGs is dropped with its reason as soon as
 * XVP_XV_PONG_MAX of them wait; one that reads is answered however fast
 * it pings; queries waiting for the agent do not count.
 * Each test works in its own temporary directory and removes it.
 */
#define _GNU_SOURCE
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "../../host-bridge/agentconn.h"
#include "chan.h"
#include "xvbuf.h"
#include "xverr.h"
#include "xvp.h"

#define TEST_DOMID 3
#define TEST_INFLIGHT 64
#define TEST_PING_SIZE (XVP_HEADER_SIZE + 4)
/* the longest a test may run before it counts as a hang, seconds */
#define TEST_DEADLINE 20.0

struct fixture {
	char dir[64];
	struct chan_spec spec;
	struct ev_loop *loop;
	struct agentconn ac;
	struct chan *srv; /* the agent's end */
	struct xvbuf in;  /* what the agent has read, not yet decoded */
	int readies, downs;
	enum agentconn_end why;
	char detail[256];
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void t_ready(struct agentconn *ac, void *owner)
{
	struct fixture *f = owner;

	f->readies++;
}

static void t_answer(struct agentconn *ac, void *owner, void *ctx, int state, const char *text,
		     size_t len, int agent_error)
{
	fail_msg("no answer expected");
}

static void t_down(struct agentconn *ac, void *owner, enum agentconn_end why, const char *detail)
{
	struct fixture *f = owner;

	f->downs++;
	f->why = why;
	snprintf(f->detail, sizeof f->detail, "%s", detail);
}

static const struct agentconn_ops t_ops = {t_ready, t_answer, t_down};

static void spin(struct fixture *f)
{
	for (int i = 0; i < 4; i++)
		ev_run(f->loop, EVRUN_NOWAIT);
}

/* Encodes m at the end of b. */
static void put_frame(struct xvbuf *b, const struct xvp_msg *m)
{
	assert_true(xvp_encode(b, m) > 0);
}

static void put_ping(struct xvbuf *b, uint32_t nonce)
{
	struct xvp_msg m = {.version = XVP_XV, .type = XVP_XV_PING, .id = nonce};

	put_frame(b, &m);
}

/* The agent writes what the channel takes of b (consumed), the bridge
 * runs. */
static void agent_write(struct fixture *f, struct xvbuf *b)
{
	if (xvbuf_len(b) > 0) {
		ssize_t w = chan_write(f->srv, xvbuf_ptr(b), xvbuf_len(b));

		assert_true(w >= 0);
		xvbuf_consume(b, (size_t)w);
	}
	chan_wait(f->srv);
	spin(f);
}

/* The agent reads what there is and decodes the next frame, if whole:
 * 1 with *m (valid until the next call), else 0. */
static int agent_next(struct fixture *f, struct xvp_msg *m)
{
	static uint8_t last[XVP_MAX_FRAME];
	uint8_t buf[65536];
	ssize_t n;
	int r;

	chan_wait(f->srv);
	while ((n = chan_read(f->srv, buf, sizeof buf)) > 0)
		assert_int_equal(xvbuf_put(&f->in, buf, (size_t)n), 0);
	r = xvp_decode(xvbuf_ptr(&f->in), xvbuf_len(&f->in), m);
	if (r == XV_EAGAIN)
		return 0;
	assert_true(r > 0);
	/* m points into the frame: keep a copy past the consume */
	memcpy(last, xvbuf_ptr(&f->in), (size_t)r);
	assert_int_equal(xvp_decode(last, (size_t)r, m), r);
	xvbuf_consume(&f->in, (size_t)r);
	return 1;
}

static int setup(void **state)
{
	struct agentconn_limits lim = {.max_inflight = TEST_INFLIGHT,
				       .max_response = XVP_MAX_BUFFER};
	struct xvp_msg ack = {.version = XVP_XV,
			      .type = XVP_XV_HELLO_ACK,
			      .proto = 1,
			      .max_inflight = TEST_INFLIGHT,
			      .max_request = XVP_MAX_BUFFER,
			      .text = "test",
			      .text_len = 4};
	struct fixture *f = calloc(1, sizeof *f);
	char text[CHAN_SPEC_TEXT_MAX + 32];
	struct xvbuf out;
	struct xvp_msg m;
	double t0 = now();
	int err = 0;

	assert_non_null(f);
	snprintf(f->dir, sizeof f->dir, "/tmp/test_agentconn.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(text, sizeof text, "socket:%s", f->dir);
	assert_int_equal(chan_spec_parse(text, &f->spec), 0);
	f->loop = ev_loop_new(EVFLAG_AUTO);
	assert_non_null(f->loop);
	assert_int_equal(xvbuf_init(&f->in, 4 * XVP_MAX_FRAME), 0);
	f->srv = chan_server(&f->spec, TEST_DOMID, 0, AGENTCONN_PATH, 0, 0, &err);
	assert_non_null(f->srv);
	assert_int_equal(agentconn_init(&f->ac, f->loop, TEST_DOMID, &lim, &t_ops, f), 0);
	assert_int_equal(agentconn_open(&f->ac, &f->spec), 0);
	while (chan_state(f->srv) == CHAN_WAITING && now() - t0 < TEST_DEADLINE) {
		struct pollfd p = {.fd = chan_fd(f->srv), .events = POLLIN};
		poll(&p, 1, 100);
		chan_wait(f->srv);
	}
	assert_int_equal(chan_state(f->srv), CHAN_OPEN);
	while (!agent_next(f, &m) && now() - t0 < TEST_DEADLINE)
		spin(f);
	assert_int_equal(m.type, XVP_XV_HELLO);
	assert_int_equal(xvbuf_init(&out, XVP_MAX_FRAME), 0);
	put_frame(&out, &ack);
	while (f->readies == 0 && now() - t0 < TEST_DEADLINE)
		agent_write(f, &out);
	xvbuf_free(&out);
	assert_true(agentconn_is_ready(&f->ac));
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	agentconn_free(&f->ac);
	chan_close(f->srv);
	ev_loop_destroy(f->loop);
	xvbuf_free(&f->in);
	assert_int_equal(rmdir(f->dir), 0);
	free(f);
	return 0;
}

/* The agent floods PINGs and reads nothing: dropped once the channel is
 * full and XVP_XV_PONG_MAX PONGs wait, with the reason; not after
 * megabytes of PONGs have piled up (AGENTCONN_TX_MAX). */
static void test_ping_flood_unread(void **state)
{
	struct fixture *f = *state;
	struct xvbuf out;
	double t0 = now();
	size_t waiting = 0;
	uint32_t nonce = 0;
	char tail[64];

	assert_int_equal(xvbuf_init(&out, 64 * TEST_PING_SIZE), 0);
	while (f->downs == 0 && now() - t0 < TEST_DEADLINE) {
		while (xvbuf_avail(&out) >= TEST_PING_SIZE)
			put_ping(&out, ++nonce);
		agent_write(f, &out);
	}
	xvbuf_free(&out);
	assert_int_equal(f->downs, 1);
	assert_int_equal(f->why, AGENTCONN_PROTOCOL);
	assert_int_equal(
	    sscanf(f->detail,
		   "the agent sends PINGs but does not read the PONGs (%zu bytes %63[^\n]",
		   &waiting, tail),
	    2);
	assert_string_equal(tail, "waiting)");
	/* at most the PONGs counted (the first may be partly written):
	 * nothing else was asked */
	assert_true(waiting > 0 && waiting <= XVP_XV_PONG_MAX * TEST_PING_SIZE);
	assert_false(agentconn_is_open(&f->ac));
}

/* An agent that reads its channel may ping fast: bursts of a thousand
 * PINGs in one write, read between the bursts, get every PONG, in order. */
static void test_ping_burst_read(void **state)
{
	struct fixture *f = *state;
	enum { BURST = 1000, BURSTS = 5 };
	struct xvbuf out;
	struct xvp_msg m;
	uint32_t nonce = 0, expect = 1;
	double t0 = now();

	assert_int_equal(xvbuf_init(&out, BURST * TEST_PING_SIZE), 0);
	for (int b = 0; b < BURSTS; b++) {
		for (int i = 0; i < BURST; i++)
			put_ping(&out, ++nonce);
		while (expect <= nonce && now() - t0 < TEST_DEADLINE) {
			agent_write(f, &out);
			while (agent_next(f, &m)) {
				assert_int_equal(m.type, XVP_XV_PONG);
				assert_int_equal(m.id, expect);
				expect++;
			}
		}
		assert_int_equal(f->downs, 0);
	}
	xvbuf_free(&out);
	assert_int_equal(expect, BURST * BURSTS + 1);
	assert_true(agentconn_is_ready(&f->ac));
}

/* Queries waiting for an agent that does not read (yet) are not PONGs: the
 * agent may still ping XVP_XV_PONG_MAX times; one PING more, with those
 * PONGs unread, breaks the rule. */
static void test_queries_do_not_count(void **state)
{
	struct fixture *f = *state;
	static char text[60000];
	struct xvbuf out;
	uint32_t id;

	memset(text, 'q', sizeof text);
	/* more than the channel takes: the rest waits in the bridge */
	for (int i = 0; i < TEST_INFLIGHT; i++)
		assert_int_equal(agentconn_query(&f->ac, text, sizeof text, f, &id, NULL), 0);
	spin(f);
	assert_true(xvbuf_len(&f->ac.tx) > XVP_XV_PONG_MAX * TEST_PING_SIZE);
	assert_int_equal(xvbuf_init(&out, XVP_MAX_FRAME), 0);
	for (uint32_t i = 1; i <= XVP_XV_PONG_MAX; i++)
		put_ping(&out, i);
	while (xvbuf_len(&out) > 0)
		agent_write(f, &out);
	assert_int_equal(f->downs, 0);
	assert_int_equal(f->ac.pongs, XVP_XV_PONG_MAX);
	put_ping(&out, 99);
	agent_write(f, &out);
	xvbuf_free(&out);
	assert_int_equal(f->downs, 1);
	assert_int_equal(f->why, AGENTCONN_PROTOCOL);
	assert_true(strncmp(f->detail, "the agent sends PINGs but does not read the PONGs (",
			    strlen("the agent sends PINGs but does not read the PONGs (")) == 0);
}

/* The count starts again whenever our bytes have all gone out: PONGs in
 * the channel, not read by the agent yet, are not held against it. */
static void test_pongs_count_from_empty(void **state)
{
	struct fixture *f = *state;
	struct xvbuf out;
	struct xvp_msg m;
	int got = 0;

	assert_int_equal(xvbuf_init(&out, XVP_MAX_FRAME), 0);
	for (int round = 0; round < 10; round++) {
		for (uint32_t i = 1; i <= XVP_XV_PONG_MAX; i++)
			put_ping(&out, i);
		while (xvbuf_len(&out) > 0)
			agent_write(f, &out);
		assert_int_equal(xvbuf_len(&f->ac.tx), 0);
		assert_int_equal(f->ac.pongs, 0);
	}
	while (agent_next(f, &m))
		got++;
	xvbuf_free(&out);
	assert_int_equal(got, 10 * XVP_XV_PONG_MAX);
	assert_int_equal(f->downs, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_ping_flood_unread, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_ping_burst_read, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_queries_do_not_count, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_pongs_count_from_empty, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
