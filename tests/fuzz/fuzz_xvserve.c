/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target for the protocol engine itself (proto/xvserve.c), with
 * no socket and no loop: a fake adapter owns the requests, and the input
 * decides what the client sends, when the adapter answers and how much of
 * the output the client reads.  fuzz_session and fuzz_local drive the same
 * engine through its two real adapters.
 *
 * Input: a script of steps, each an op byte and an argument byte A:
 *   op % 8 == 0  the client sends the next A bytes as they are
 *   op % 8 == 1  an XV HELLO, proto 1..1, max_response 5 + A * 64
 *   op % 8 == 2  an XV QUERY with id A % 16 (0 included), text by the next byte
 *   op % 8 == 3  an XV CANCEL of id A % 16
 *   op % 8 == 4  an XV PING with nonce A
 *   op % 8 == 5  a plain QUERY (v2 if A is odd, else v4), text by the next byte
 *   op % 8 == 6  the adapter answers its A-th pending request (A * 300 bytes)
 *   op % 8 == 7  the client reads A * 64 bytes of output (0: all of it)
 * Queries "now" are answered inside submit; others wait for op 6 or a cancel.
 *
 * Checked: every byte of output belongs to a frame that decodes and that a
 * server sends; a tagged RESPONSE fits the HELLO's max_response; an id is
 * answered only while the client has it outstanding, once; the adapter
 * sees each request end exactly once (its answer or a cancel), none after
 * xvserve_free; nothing leaks.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xvbuf.h"
#include "xverr.h"
#include "xvp.h"
#include "xvserve.h"

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond))                                                                       \
			abort();                                                                   \
	} while (0)

#define MAX_PENDING 512
#define MAX_IDS 16

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const texts[] = {"now", "later", "", "_NRPE_CHECK", "x!y"};

struct fake {
	struct xvserve *e;
	struct xvserve_req *pending[MAX_PENDING];
	unsigned npending;
	unsigned long submitted, ended;
	uint32_t max_response; /* of the last HELLO sent, 0 before */
	int outstanding[MAX_IDS];
	struct xvbuf got;
	int freeing;
	int lenient; /* raw bytes sent: the model no longer knows the ids */
};

struct reqdata {
	unsigned slot;
};

static char big[256 * 300];

static void fake_drop(struct fake *f, struct xvserve_req *rq)
{
	struct reqdata *d = xvserve_req_data(rq);

	CHECK(d->slot < f->npending && f->pending[d->slot] == rq);
	f->npending--;
	f->pending[d->slot] = f->pending[f->npending];
	((struct reqdata *)xvserve_req_data(f->pending[d->slot]))->slot = d->slot;
	f->ended++;
}

static void fake_submit(void *ctx, struct xvserve_req *rq, const char *untrusted, size_t len)
{
	struct fake *f = ctx;
	struct reqdata *d = xvserve_req_data(rq);

	CHECK(!f->freeing);
	f->submitted++;
	if (len == 3 && !memcmp(untrusted, "now", 3)) {
		f->ended++;
		xvserve_answer(rq, 0, "OK now", 6);
		return;
	}
	if (f->npending == MAX_PENDING) {
		f->ended++;
		xvserve_answerf(rq, 3, "busy (%u)", f->npending);
		return;
	}
	d->slot = f->npending;
	f->pending[f->npending++] = rq;
}

static void fake_cancel(void *ctx, struct xvserve_req *rq)
{
	struct fake *f = ctx;

	fake_drop(f, rq);
	/* an answer from inside the cancel is ignored by the engine */
	xvserve_answer(rq, 0, "too late", 8);
}

static void fake_flush(void *ctx)
{
	(void)ctx; /* the client reads only when the script says so */
}

static void fake_log(void *ctx, enum xvserve_level level, const char *msg)
{
	CHECK(strlen(msg) < XVSERVE_LOG_MAX);
}

static const struct xvserve_ops fake_ops = {
    .submit = fake_submit, .cancel = fake_cancel, .flush = fake_flush, .log = fake_log};

static void client_send(struct fake *f, const struct xvp_msg *m)
{
	struct xvbuf b;

	CHECK(xvbuf_init(&b, XVP_MAX_FRAME) == 0);
	if (xvp_encode(&b, m) > 0 &&
	    xvbuf_put(xvserve_rx(f->e), xvbuf_ptr(&b), xvbuf_len(&b)) == 0) {
		if (m->version == XVP_XV && m->type == XVP_XV_HELLO && f->max_response == 0)
			f->max_response = m->max_response;
		if (m->version == XVP_XV && m->type == XVP_XV_QUERY && m->id < MAX_IDS)
			f->outstanding[m->id]++;
	}
	xvbuf_free(&b);
}

/* Checks every complete frame the client has read. */
static void client_check(struct fake *f)
{
	for (;;) {
		struct xvp_msg m;
		int r = xvp_decode(xvbuf_ptr(&f->got), xvbuf_len(&f->got), &m);

		if (r == XV_EAGAIN)
			return;
		CHECK(r > 0);
		if (m.version == XVP_XV) {
			CHECK(m.type == XVP_XV_HELLO_ACK || m.type == XVP_XV_RESPONSE ||
			      m.type == XVP_XV_ERROR || m.type == XVP_XV_PONG);
			if (m.type == XVP_XV_RESPONSE && !f->lenient)
				CHECK((size_t)r - XVP_HEADER_SIZE <= f->max_response);
			if (!f->lenient &&
			    (m.type == XVP_XV_RESPONSE || (m.type == XVP_XV_ERROR && m.id != 0))) {
				CHECK(m.id < MAX_IDS && f->outstanding[m.id] > 0);
				f->outstanding[m.id]--;
			}
		} else {
			CHECK(m.type == XVP_RESPONSE);
		}
		xvbuf_consume(&f->got, (size_t)r);
	}
}

static void client_read(struct fake *f, size_t n)
{
	struct xvbuf *tx = xvserve_tx(f->e);

	if (n == 0 || n > xvbuf_len(tx))
		n = xvbuf_len(tx);
	CHECK(xvbuf_put(&f->got, xvbuf_ptr(tx), n) == 0);
	xvserve_wrote(f->e, n);
	client_check(f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct xvserve_limits lim = {
	    .max_inflight = 64,
	    .max_tagged = 8,
	    .max_plain = 8,
	    .rx_max = 2 * XVP_MAX_FRAME,
	    .tx_max = 1 << 20,
	    .tx_high = 1 << 16,
	    .software = "fuzz_xvserve",
	    .req_extra = sizeof(struct reqdata),
	};
	struct fake f;
	size_t i = 0;

	if (big[0] == 0)
		memset(big, 'b', sizeof big);
	memset(&f, 0, sizeof f);
	f.e = xvserve_new(&lim, &fake_ops, &f);
	CHECK(f.e != NULL);
	CHECK(xvbuf_init(&f.got, 1 << 21) == 0);
	while (i + 1 < size && !xvserve_finished(f.e)) {
		uint8_t op = data[i] % 8, a = data[i + 1];
		uint8_t t = i + 2 < size ? data[i + 2] : 0;
		struct xvp_msg m = {.version = XVP_XV};

		i += 2;
		switch (op) {
		case 0: {
			size_t n = a < size - i ? a : size - i;
			struct xvbuf *rx = xvserve_rx(f.e);
			if (n > xvbuf_avail(rx))
				n = xvbuf_avail(rx);
			CHECK(xvbuf_put(rx, data + i, n) == 0);
			i += n;
			f.lenient |= n > 0;
			break;
		}
		case 1:
			m.type = XVP_XV_HELLO;
			m.proto_min = m.proto_max = 1;
			m.max_inflight = 16;
			m.max_response = 5 + (uint32_t)a * 64;
			m.text = "fuzz";
			m.text_len = 4;
			client_send(&f, &m);
			break;
		case 2:
		case 5:
			if (op == 2) {
				m.type = XVP_XV_QUERY;
				m.id = a % MAX_IDS;
			} else {
				m.version = a & 1 ? XVP_V2 : XVP_V4;
				m.type = XVP_QUERY;
			}
			m.text = texts[t % 5];
			m.text_len = strlen(m.text);
			i++;
			client_send(&f, &m);
			break;
		case 3:
		case 4:
			m.type = op == 3 ? XVP_XV_CANCEL : XVP_XV_PING;
			m.id = op == 3 ? a % MAX_IDS : a;
			client_send(&f, &m);
			break;
		case 6:
			if (f.npending > 0) {
				struct xvserve_req *rq = f.pending[a % f.npending];
				fake_drop(&f, rq);
				xvserve_answer(rq, a % 5, big, (size_t)a * 300);
			}
			break;
		default:
			client_read(&f, (size_t)a * 64);
			break;
		}
		xvserve_parse(f.e);
		CHECK(f.submitted == f.ended + f.npending);
	}
	client_read(&f, 0);
	f.freeing = 1;
	xvserve_free(f.e);
	CHECK(f.npending == 0 && f.submitted == f.ended);
	xvbuf_free(&f.got);
	return 0;
}
