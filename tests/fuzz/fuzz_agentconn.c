/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target for agentconn, the bridge's client side of the XV
 * protocol, fed by a hostile "agent": a real socket:DIR channel whose server
 * end writes what the input says, while the bridge side sends queries and
 * cancels between the writes.
 *
 * Input: a script of steps, each an op byte and a length byte:
 *   op % 5 == 0  the agent writes the next LEN bytes
 *   op % 5 == 1  the bridge sends a query of LEN bytes of text
 *   op % 5 == 2  the bridge cancels its query number LEN
 *   op % 5 == 3  the agent writes a valid HELLO_ACK (max_inflight LEN)
 *   op % 5 == 4  the agent writes a valid RESPONSE for query number LEN
 * with the event loop run after every step.
 *
 * Checked: every answer is for a query that was sent, not cancelled and not
 * answered before; no answer and no query after the connection went down;
 * down comes at most once; the slots in use never exceed the limit.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../host-bridge/agentconn.h"
#include "chan.h"
#include "xvbuf.h"
#include "xverr.h"
#include "xvp.h"

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond))                                                                       \
			abort();                                                                   \
	} while (0)

#define NQ 64	   /* queries tracked per input */
#define INFLIGHT 4 /* the bridge's max_inflight in this harness */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct harness {
	struct agentconn ac;
	int downs;
	int sent[NQ];	   /* 1: sent and waiting */
	int cancelled[NQ]; /* 1: cancelled */
	uint32_t id[NQ];
	int nq;
};

static struct ev_loop *loop;
static struct chan_spec spec;
static char tmpdir[] = "/tmp/fuzz_agentconn.XXXXXX";

static void h_ready(struct agentconn *ac, void *owner)
{
}

static void h_answer(struct agentconn *ac, void *owner, void *ctx, int state, const char *text,
		     size_t len, int agent_error)
{
	struct harness *h = owner;
	int q = (int)(intptr_t)ctx;

	CHECK(h->downs == 0);
	CHECK(q >= 0 && q < h->nq);
	CHECK(h->sent[q] && !h->cancelled[q]);
	CHECK(state >= 0 && state <= 3);
	CHECK(text != NULL && text[len] == '\0');
	h->sent[q] = 0;
}

static void h_down(struct agentconn *ac, void *owner, enum agentconn_end why, const char *detail)
{
	struct harness *h = owner;

	CHECK(h->downs == 0);
	CHECK(detail != NULL && strlen(detail) < 256);
	h->downs++;
	CHECK(!agentconn_is_open(ac));
}

static const struct agentconn_ops h_ops = {h_ready, h_answer, h_down};

static void spin(void)
{
	for (int i = 0; i < 3; i++)
		ev_run(loop, EVRUN_NOWAIT);
}

static void agent_write(struct chan *srv, const void *p, size_t n)
{
	if (n > 0)
		chan_write(srv, p, n); /* what does not fit is dropped: hostile anyway */
	spin();
}

static void agent_frame(struct chan *srv, const struct xvp_msg *m)
{
	struct xvbuf b;

	xvbuf_init(&b, XVP_MAX_FRAME);
	if (xvp_encode(&b, m) > 0)
		agent_write(srv, xvbuf_ptr(&b), xvbuf_len(&b));
	xvbuf_free(&b);
}

static void cleanup(void)
{
	rmdir(tmpdir); /* every server removed its socket file when closed */
}

static void setup_once(void)
{
	char text[CHAN_SPEC_TEXT_MAX + 32];

	if (loop != NULL)
		return;
	loop = ev_loop_new(EVFLAG_AUTO);
	CHECK(loop != NULL && mkdtemp(tmpdir) != NULL);
	atexit(cleanup);
	snprintf(text, sizeof text, "socket:%s", tmpdir);
	CHECK(chan_spec_parse(text, &spec) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct agentconn_limits lim = {.max_inflight = INFLIGHT, .max_response = 4096};
	struct harness h;
	struct chan *srv;
	char buf[4096];
	int err = 0;
	size_t i = 0;

	setup_once();
	memset(&h, 0, sizeof h);
	srv = chan_server(&spec, 1, 0, AGENTCONN_PATH, 0, 0, &err);
	CHECK(srv != NULL);
	CHECK(agentconn_init(&h.ac, loop, 1, &lim, &h_ops, &h) == 0);
	CHECK(agentconn_open(&h.ac, &spec) == 0);
	for (int k = 0; k < 100 && chan_state(srv) == CHAN_WAITING; k++)
		chan_wait(srv);
	CHECK(chan_state(srv) == CHAN_OPEN);
	chan_read(srv, buf, sizeof buf); /* the HELLO */

	while (i + 2 <= size) {
		unsigned op = data[i] % 5, len = data[i + 1];
		i += 2;
		if (op == 0) {
			if (len > size - i)
				len = (unsigned)(size - i);
			agent_write(srv, data + i, len);
			i += len;
		} else if (op == 1 && h.nq < NQ) {
			char text[256];
			uint32_t id;
			int r;
			memset(text, 'q', len);
			r = agentconn_query(&h.ac, text, len, (void *)(intptr_t)h.nq, &id, NULL);
			if (r == 0) {
				CHECK(h.downs == 0 && id != 0);
				for (int q = 0; q < h.nq; q++)
					CHECK(!h.sent[q] || h.id[q] != id);
				h.sent[h.nq] = 1;
				h.id[h.nq] = id;
				h.nq++;
			}
			CHECK(h.ac.used <= INFLIGHT);
			spin();
		} else if (op == 2 && len < (unsigned)h.nq) {
			agentconn_cancel(&h.ac, h.id[len]);
			if (h.sent[len])
				h.cancelled[len] = 1;
			spin();
		} else if (op == 3) {
			struct xvp_msg m = {.version = XVP_XV,
					    .type = XVP_XV_HELLO_ACK,
					    .proto = 1,
					    .max_inflight = len ? len : 1,
					    .max_request = XVP_MAX_BUFFER,
					    .text = "fuzz",
					    .text_len = 4};
			agent_frame(srv, &m);
		} else if (op == 4 && len < (unsigned)h.nq) {
			struct xvp_msg m = {.version = XVP_XV,
					    .type = XVP_XV_RESPONSE,
					    .id = h.id[len],
					    .result = (int16_t)(len & 3),
					    .text = "OK",
					    .text_len = 2};
			agent_frame(srv, &m);
		}
		/* keep the agent's side of the stream drained */
		while (chan_read(srv, buf, sizeof buf) > 0)
			;
	}
	agentconn_free(&h.ac);
	chan_close(srv);
	spin();
	return 0;
}
