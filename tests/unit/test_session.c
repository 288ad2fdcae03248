/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * session.c, the agent's side of the protocol, against a client driven by
 * hand over a socket:DIR channel: the ERROR id 0 a client gets for an
 * extension packet before HELLO (PROTOCOL.md 5.4 rule 1), the silence a
 * plain NRPE client gets instead, and the PING/PONG rule (rule 7): a client
 * that floods PINGs without reading the PONGs is told why and dropped, and
 * the agent listens again even if that client then leaves without reading.
 * Where the agent and the bridge's local socket once differed, the spec's
 * answer: a tagged answer within the HELLO's max_response (rule 6), a
 * cancelled request answered "cancelled" (rule 5), a query without memory
 * refused with ERROR and its id (rule 4).
 */
#define _GNU_SOURCE
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

#include "../../common/log.h"
#include "../../guest-agent/agent.h"
#include "chan.h"
#include "xvbuf.h"
#include "xverr.h"
#include "xvp.h"

#define TEST_DOMID 9
#define TEST_PATH "data/guest/probes/vchan"
#define TEST_PING_SIZE (XVP_HEADER_SIZE + 4)
/* the longest any wait may take before it counts as a hang, seconds */
#define TEST_DEADLINE 20.0

static struct agent a;
static char tmpdir[64];

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

struct client {
	struct chan *ch;
	struct xvbuf in; /* read, not yet decoded */
	uint8_t frame[XVP_MAX_FRAME];
};

/* session.c calls this after each client (the agent's main passes its
 * own, which listens again with back-off) */
void agent_listen(struct agent *ag)
{
	if (ag->session == NULL)
		ag->session = session_start(ag, agent_listen);
	assert_non_null(ag->session);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void spin(void)
{
	for (int i = 0; i < 4; i++)
		ev_run(a.loop, EVRUN_NOWAIT);
}

static int group_setup(void **state)
{
	static const char cfg[] = "command[x]=/nonexistent/test-probe\n"
				  "command[slow]=/bin/sleep 5\n";
	char text[CHAN_SPEC_TEXT_MAX + 32], err[CONFIG_ERR_MAX];
	extern char **environ;

	log_init("test_session", 0, 0, LOG_LVL_ERR);
	snprintf(tmpdir, sizeof tmpdir, "/tmp/test_session.XXXXXX");
	assert_non_null(mkdtemp(tmpdir));
	snprintf(text, sizeof text, "socket:%s", tmpdir);
	assert_int_equal(chan_spec_parse(text, &a.spec), 0);
	a.loop = ev_default_loop(EVFLAG_AUTO);
	assert_non_null(a.loop);
	assert_int_equal(config_parse_buffer("test.cfg", cfg, sizeof cfg - 1,
					     CONFIG_PARSE_NO_INCLUDES, &a.cfg, err, sizeof err),
			 0);
	assert_int_equal(pool_init(&a.pool, a.loop, a.cfg->max_concurrent, a.cfg->max_queue), 0);
	a.probe_env = probe_env_build(NULL, "test", NULL, environ);
	assert_non_null(a.probe_env);
	/* probes go through the fork server, as in the agent (this user) */
	assert_int_equal(forksrv_init(&a.fs, a.loop, &(struct forksrv_ident){0}), 0);
	a.domid = TEST_DOMID;
	a.transport = "socket";
	return 0;
}

static int group_teardown(void **state)
{
	session_free(a.session);
	a.session = NULL;
	spin();
	pool_free(&a.pool);
	forksrv_free(&a.fs);
	probe_env_free(a.probe_env);
	config_free(a.cfg);
	assert_int_equal(rmdir(tmpdir), 0);
	return 0;
}

static void client_open(struct client *c)
{
	double t0 = now();
	int err = 0;

	memset(c, 0, sizeof *c);
	assert_int_equal(xvbuf_init(&c->in, 4 * XVP_MAX_FRAME), 0);
	agent_listen(&a);
	while (c->ch == NULL && now() - t0 < TEST_DEADLINE) {
		c->ch = chan_client(&a.spec, TEST_DOMID, TEST_PATH, &err);
		spin();
	}
	assert_non_null(c->ch);
}

static void client_close(struct client *c)
{
	chan_close(c->ch);
	xvbuf_free(&c->in);
	spin();
}

static void client_send(struct client *c, const struct xvp_msg *m)
{
	struct xvbuf b;

	assert_int_equal(xvbuf_init(&b, XVP_MAX_FRAME), 0);
	assert_true(xvp_encode(&b, m) > 0);
	assert_int_equal(chan_write(c->ch, xvbuf_ptr(&b), xvbuf_len(&b)), (ssize_t)xvbuf_len(&b));
	xvbuf_free(&b);
	spin();
}

/* The next frame from the agent: 1 with *m (valid until the next call),
 * 0 when the agent closed the channel (with no partial frame left). */
static int client_next(struct client *c, struct xvp_msg *m)
{
	double t0 = now();

	while (now() - t0 < TEST_DEADLINE) {
		uint8_t buf[65536];
		ssize_t n;
		int r = xvp_decode(xvbuf_ptr(&c->in), xvbuf_len(&c->in), m);

		if (r > 0) {
			/* m points into the frame: keep a copy past the consume */
			memcpy(c->frame, xvbuf_ptr(&c->in), (size_t)r);
			assert_int_equal(xvp_decode(c->frame, (size_t)r, m), r);
			xvbuf_consume(&c->in, (size_t)r);
			return 1;
		}
		assert_int_equal(r, XV_EAGAIN);
		spin();
		chan_wait(c->ch);
		n = chan_read(c->ch, buf, sizeof buf);
		if (n < 0) {
			assert_int_equal(n, XV_ECLOSED);
			assert_int_equal(xvbuf_len(&c->in), 0);
			return 0;
		}
		assert_int_equal(xvbuf_put(&c->in, buf, (size_t)n), 0);
	}
	fail_msg("no frame and no close within %g s", TEST_DEADLINE);
	return 0;
}

static void expect_error0(struct client *c, const char *text)
{
	struct xvp_msg m;

	assert_int_equal(client_next(c, &m), 1);
	assert_int_equal(m.version, XVP_XV);
	assert_int_equal(m.type, XVP_XV_ERROR);
	assert_int_equal(m.id, 0);
	assert_int_equal(m.text_len, strlen(text));
	assert_memory_equal(m.text, text, m.text_len);
}

static void expect_closed(struct client *c)
{
	struct xvp_msg m;

	assert_int_equal(client_next(c, &m), 0);
}

static void hello(struct client *c, uint16_t lo, uint16_t hi)
{
	struct xvp_msg m = {.version = XVP_XV,
			    .type = XVP_XV_HELLO,
			    .proto_min = lo,
			    .proto_max = hi,
			    .max_inflight = 16,
			    .max_response = XVP_MAX_BUFFER,
			    .text = "test",
			    .text_len = 4};

	client_send(c, &m);
}

/* Rule 1: an extension packet other than HELLO before the hello exchange
 * gets ERROR id 0 with the reason, then the close. */
static void test_xv_before_hello(void **state)
{
	static const struct {
		uint16_t type;
		const char *why;
	} cases[] = {
	    {XVP_XV_QUERY, "tagged QUERY before HELLO"},
	    {XVP_XV_CANCEL, "CANCEL before HELLO"},
	    {XVP_XV_PING, "PING before HELLO"},
	    {XVP_XV_PONG, "packet a client never sends"},
	    {XVP_XV_HELLO_ACK, "packet a client never sends"},
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct xvp_msg m = {.version = XVP_XV, .type = cases[i].type, .id = 5};
		struct client c;

		if (m.type == XVP_XV_QUERY) {
			m.text = "x";
			m.text_len = 1;
		} else if (m.type == XVP_XV_HELLO_ACK) {
			m.proto = 1;
			m.max_inflight = 1;
			m.max_request = XVP_MAX_BUFFER;
			m.text = "t";
			m.text_len = 1;
		}
		client_open(&c);
		client_send(&c, &m);
		expect_error0(&c, cases[i].why);
		expect_closed(&c);
		client_close(&c);
	}
}

/* A HELLO with no version in common: ERROR id 0, then the close. */
static void test_no_common_version(void **state)
{
	struct client c;

	client_open(&c);
	hello(&c, XVP_PROTO_MAX + 1, XVP_PROTO_MAX + 2);
	expect_error0(&c, "no common protocol version");
	expect_closed(&c);
	client_close(&c);
}

/* A client that spoke only plain NRPE gets no extension packet: its
 * protocol error ends the session silently. */
static void test_plain_violation_silent(void **state)
{
	struct xvp_msg m = {.version = XVP_V4, .type = XVP_RESPONSE, .text = "OK", .text_len = 2};
	struct client c;

	client_open(&c);
	client_send(&c, &m);
	expect_closed(&c);
	client_close(&c);
}

/* PINGs written without reading until the agent stops taking them; the
 * nonces run from 1. */
static uint32_t flood(struct client *c)
{
	uint8_t buf[64 * TEST_PING_SIZE];
	size_t have = 0, off = 0;
	uint32_t nonce = 0;
	double t0 = now();
	int stuck = 0;

	/* the agent has stopped reading once a few rounds take nothing */
	while (stuck < 20 && now() - t0 < TEST_DEADLINE) {
		ssize_t w;

		if (off == have) {
			struct xvbuf b;

			assert_int_equal(xvbuf_init(&b, sizeof buf), 0);
			for (int i = 0; i < 64; i++) {
				struct xvp_msg m = {
				    .version = XVP_XV, .type = XVP_XV_PING, .id = ++nonce};
				assert_true(xvp_encode(&b, &m) > 0);
			}
			memcpy(buf, xvbuf_ptr(&b), xvbuf_len(&b));
			have = xvbuf_len(&b);
			off = 0;
			xvbuf_free(&b);
		}
		w = chan_write(c->ch, buf + off, have - off);
		assert_true(w >= 0);
		off += (size_t)w;
		stuck = w == 0 ? stuck + 1 : 0;
		spin();
	}
	assert_int_equal(stuck, 20);
	return nonce;
}

/* Rule 7: PINGs whose PONGs are never read: once the channel is full and
 * 16 PONGs wait, ERROR id 0 with the reason, then the close; every PONG
 * before it echoes its PING. */
static void test_ping_flood_unread(void **state)
{
	static const char why[] = "the client sends PINGs but does not read the PONGs (";
	struct client c;
	struct xvp_msg m;
	uint32_t expect = 1, sent;

	client_open(&c);
	hello(&c, 1, 1);
	sent = flood(&c);
	assert_int_equal(client_next(&c, &m), 1);
	assert_int_equal(m.type, XVP_XV_HELLO_ACK);
	while (client_next(&c, &m) == 1 && m.type == XVP_XV_PONG) {
		assert_int_equal(m.id, expect);
		expect++;
	}
	assert_true(expect > 16 && expect <= sent);
	assert_int_equal(m.type, XVP_XV_ERROR);
	assert_int_equal(m.id, 0);
	assert_true(m.text_len > sizeof why - 1);
	assert_memory_equal(m.text, why, sizeof why - 1);
	expect_closed(&c);
	client_close(&c);
}

/* The same flood, and the client leaves without reading the agent's last
 * words: the agent notices when it cannot write them, and listens again. */
static void test_ping_flood_then_leave(void **state)
{
	struct client c;
	struct xvp_msg m;
	double t0;

	client_open(&c);
	hello(&c, 1, 1);
	(void)flood(&c);
	client_close(&c);
	t0 = now();
	while (now() - t0 < 2.0)
		spin();
	/* the next client is served (client_open waits at most 2 s more) */
	memset(&c, 0, sizeof c);
	assert_int_equal(xvbuf_init(&c.in, 4 * XVP_MAX_FRAME), 0);
	t0 = now();
	while (c.ch == NULL && now() - t0 < 2.0) {
		int err = 0;
		c.ch = chan_client(&a.spec, TEST_DOMID, TEST_PATH, &err);
		spin();
	}
	assert_non_null(c.ch);
	hello(&c, 1, 1);
	assert_int_equal(client_next(&c, &m), 1);
	assert_int_equal(m.type, XVP_XV_HELLO_ACK);
	client_close(&c);
}

/* A CANCEL for a running probe, and the client gone in the same breath:
 * the probe's end is reported at once (pool_cancel calls back), the answer
 * finds the client gone, and the session ends -- from the event loop, not
 * under the read that brought the CANCEL (it was freed there: the agent
 * crashed, or ended the next client's session).  The next client is served. */
static void test_cancel_then_leave(void **state)
{
	struct xvp_msg q = {
	    .version = XVP_XV, .type = XVP_XV_QUERY, .id = 1, .text = "slow", .text_len = 4};
	struct xvp_msg cancel = {.version = XVP_XV, .type = XVP_XV_CANCEL, .id = 1};
	struct client c;
	struct xvp_msg m;
	struct xvbuf b;
	double t0;

	client_open(&c);
	hello(&c, 1, 1);
	assert_int_equal(client_next(&c, &m), 1);
	assert_int_equal(m.type, XVP_XV_HELLO_ACK);
	client_send(&c, &q);
	t0 = now();
	while (now() - t0 < 0.3)
		spin();
	assert_int_equal(xvbuf_init(&b, XVP_MAX_FRAME), 0);
	assert_true(xvp_encode(&b, &cancel) > 0);
	assert_int_equal(chan_write(c.ch, xvbuf_ptr(&b), xvbuf_len(&b)), (ssize_t)xvbuf_len(&b));
	xvbuf_free(&b);
	client_close(&c);
	t0 = now();
	while (now() - t0 < 0.5)
		spin();
	client_open(&c);
	hello(&c, 1, 1);
	assert_int_equal(client_next(&c, &m), 1);
	assert_int_equal(m.type, XVP_XV_HELLO_ACK);
	client_close(&c);
}

/* A client that reads may ping fast: bursts of a thousand PINGs in one
 * write, read between the bursts, get every PONG, in order. */
static void test_ping_burst_read(void **state)
{
	enum { BURST = 1000, BURSTS = 5 };
	struct client c;
	struct xvp_msg m;
	uint32_t nonce = 0;

	client_open(&c);
	hello(&c, 1, 1);
	assert_int_equal(client_next(&c, &m), 1);
	assert_int_equal(m.type, XVP_XV_HELLO_ACK);
	for (int b = 0; b < BURSTS; b++) {
		struct xvbuf out;

		assert_int_equal(xvbuf_init(&out, BURST * TEST_PING_SIZE), 0);
		for (int i = 0; i < BURST; i++) {
			struct xvp_msg p = {.version = XVP_XV, .type = XVP_XV_PING, .id = ++nonce};
			assert_true(xvp_encode(&out, &p) > 0);
		}
		while (xvbuf_len(&out) > 0) {
			ssize_t w = chan_write(c.ch, xvbuf_ptr(&out), xvbuf_len(&out));
			assert_true(w >= 0);
			xvbuf_consume(&out, (size_t)w);
			spin();
		}
		xvbuf_free(&out);
		for (uint32_t i = nonce - BURST + 1; i <= nonce; i++) {
			assert_int_equal(client_next(&c, &m), 1);
			assert_int_equal(m.type, XVP_XV_PONG);
			assert_int_equal(m.id, i);
		}
	}
	client_close(&c);
}

/* The HELLO's max_response bounds every tagged answer (rule 6): 20 bytes
 * of buffer hold the id, 15 bytes of text and the NUL. */
static void test_max_response(void **state)
{
	struct xvp_msg h = {.version = XVP_XV,
			    .type = XVP_XV_HELLO,
			    .proto_min = 1,
			    .proto_max = 1,
			    .max_inflight = 16,
			    .max_response = 20,
			    .text = "test",
			    .text_len = 4};
	struct xvp_msg q = {.version = XVP_XV,
			    .type = XVP_XV_QUERY,
			    .id = 3,
			    .text = "_NRPE_CHECK",
			    .text_len = 11};
	static const char version[] = AGENT_NAME " v" XV_VERSION;
	struct client c;
	struct xvp_msg m;

	client_open(&c);
	client_send(&c, &h);
	assert_int_equal(client_next(&c, &m), 1);
	assert_int_equal(m.type, XVP_XV_HELLO_ACK);
	client_send(&c, &q);
	assert_int_equal(client_next(&c, &m), 1);
	assert_int_equal(m.type, XVP_XV_RESPONSE);
	assert_int_equal(m.id, 3);
	assert_int_equal(m.text_len, 15);
	assert_memory_equal(m.text, version, 15);
	client_close(&c);
}

/* Rule 5: a cancelled request is answered UNKNOWN "cancelled", the same
 * text as from the bridge's local socket. */
static void test_cancel_answer(void **state)
{
	struct xvp_msg q = {
	    .version = XVP_XV, .type = XVP_XV_QUERY, .id = 5, .text = "slow", .text_len = 4};
	struct xvp_msg cancel = {.version = XVP_XV, .type = XVP_XV_CANCEL, .id = 5};
	struct client c;
	struct xvp_msg m;
	double t0;

	client_open(&c);
	hello(&c, 1, 1);
	assert_int_equal(client_next(&c, &m), 1);
	assert_int_equal(m.type, XVP_XV_HELLO_ACK);
	client_send(&c, &q);
	t0 = now();
	while (now() - t0 < 0.2)
		spin();
	client_send(&c, &cancel);
	assert_int_equal(client_next(&c, &m), 1);
	assert_int_equal(m.type, XVP_XV_RESPONSE);
	assert_int_equal(m.id, 5);
	assert_int_equal(m.result, 3);
	assert_int_equal(m.text_len, sizeof "cancelled" - 1);
	assert_memory_equal(m.text, "cancelled", m.text_len);
	client_close(&c);
}

/* Rule 4: a tagged QUERY the agent has no memory for is answered with an
 * ERROR that carries its id, and the connection goes on. */
static void test_query_nomem(void **state)
{
	struct xvp_msg q = {
	    .version = XVP_XV, .type = XVP_XV_QUERY, .id = 7, .text = "x", .text_len = 1};
	struct xvp_msg ping = {.version = XVP_XV, .type = XVP_XV_PING, .id = 9};
	struct client c;
	struct xvp_msg m;
	struct xvbuf b;

	client_open(&c);
	hello(&c, 1, 1);
	assert_int_equal(client_next(&c, &m), 1);
	assert_int_equal(m.type, XVP_XV_HELLO_ACK);
	assert_int_equal(xvbuf_init(&b, XVP_MAX_FRAME), 0);
	assert_true(xvp_encode(&b, &q) > 0);
	assert_int_equal(chan_write(c.ch, xvbuf_ptr(&b), xvbuf_len(&b)), (ssize_t)xvbuf_len(&b));
	xvbuf_free(&b);
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

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_xv_before_hello),	   cmocka_unit_test(test_no_common_version),
	    cmocka_unit_test(test_plain_violation_silent), cmocka_unit_test(test_ping_flood_unread),
	    cmocka_unit_test(test_ping_flood_then_leave),  cmocka_unit_test(test_ping_burst_read),
	    cmocka_unit_test(test_cancel_then_leave),	   cmocka_unit_test(test_max_response),
	    cmocka_unit_test(test_cancel_answer),	   cmocka_unit_test(test_query_nomem),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
