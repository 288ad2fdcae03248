/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target for the packet codec.  The input is a byte stream of
 * frames back to back.  For each frame: xvp_frame() and xvp_decode() must
 * agree, a split stream must get the same verdict, and a decoded message
 * must survive encode -> decode unchanged (byte for byte for extension
 * packets, whose encoding is canonical).  Each frame is decoded twice: as
 * received, and with its CRC recomputed, so that the fuzzer reaches the
 * body checks behind the CRC.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "xverr.h"
#include "xvbuf.h"
#include "xvp.h"

/* Inputs beyond a few frames add nothing; keeps each run fast. */
#define FUZZ_MAX_INPUT (4 * XVP_MAX_FRAME)

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond))                                                                       \
			abort();                                                                   \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int fuzz_same_fields(const struct xvp_msg *a, const struct xvp_msg *b)
{
	return a->version == b->version && a->type == b->type && a->result == b->result &&
	       a->id == b->id && a->proto_min == b->proto_min && a->proto_max == b->proto_max &&
	       a->proto == b->proto && a->max_inflight == b->max_inflight &&
	       a->max_response == b->max_response && a->max_request == b->max_request &&
	       a->text_len == b->text_len &&
	       (a->text_len == 0 || memcmp(a->text, b->text, a->text_len) == 0);
}

static void fuzz_round_trip(const uint8_t *frame, size_t len, const struct xvp_msg *m)
{
	struct xvbuf out;
	struct xvp_msg again;
	int n;

	CHECK(m->why != NULL && m->why[0] == '\0');
	CHECK(m->text == NULL || m->text[m->text_len] == '\0');
	CHECK(m->text == NULL || memchr(m->text, 0, m->text_len) == NULL);
	CHECK(xvbuf_init(&out, XVP_MAX_FRAME) == 0);
	n = xvp_encode(&out, m);
	CHECK(n > 0 && (size_t)n == xvbuf_len(&out));
	CHECK(xvp_frame(xvbuf_ptr(&out), xvbuf_len(&out), NULL) == n);
	CHECK(xvp_decode(xvbuf_ptr(&out), xvbuf_len(&out), &again) == n);
	CHECK(fuzz_same_fields(m, &again));
	if (m->version == XVP_XV)
		CHECK((size_t)n == len && memcmp(xvbuf_ptr(&out), frame, len) == 0);
	if (m->version == XVP_V2)
		CHECK(n == XVP_V2_PACKET_SIZE);
	xvbuf_free(&out);
}

/* Decode one frame of n bytes (n from xvp_frame) and check the outcome. */
static void fuzz_one(const uint8_t *frame, size_t n, int crc_valid)
{
	struct xvp_msg m;
	int r;

	r = xvp_decode(frame, n, &m);
	CHECK(m.why != NULL);
	if (r < 0) {
		/* the header passed, so only body errors are possible */
		CHECK((r == XV_ECRC && !crc_valid) || r == XV_ENOTERM || r == XV_EPAYLOAD);
		CHECK(m.version == 0 && m.text == NULL);
		return;
	}
	CHECK((size_t)r == n);
	fuzz_round_trip(frame, n, &m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t copy[XVP_MAX_FRAME];
	size_t pos = 0, need, rest;
	struct xvp_msg m;
	int r, d;

	if (size > FUZZ_MAX_INPUT)
		return 0;
	while (pos < size) {
		rest = size - pos;
		need = 0;
		r = xvp_frame(data + pos, rest, &need);
		d = xvp_decode(data + pos, rest, &m);
		if (r == XV_EAGAIN) {
			CHECK(d == XV_EAGAIN);
			CHECK(need > rest && need <= XVP_MAX_FRAME);
			return 0;
		}
		if (r < 0) {
			CHECK(d == r);
			CHECK(r == XV_EVERSION || r == XV_EV3 || r == XV_ETYPE || r == XV_EALIGN ||
			      r == XV_ELENGTH || r == XV_EPAYLOAD);
			/* a split stream gets the same verdict */
			for (size_t cut = 0; cut < rest && cut < XVP_HEADER_SIZE; cut++) {
				int p = xvp_frame(data + pos, cut, NULL);
				CHECK(p == XV_EAGAIN || p == r);
			}
			return 0;
		}
		CHECK((size_t)r <= rest && (size_t)r == need);
		CHECK(xvp_frame(data + pos, (size_t)r - 1, NULL) == XV_EAGAIN);
		fuzz_one(data + pos, (size_t)r, 0);

		/* again with a valid CRC, to reach the body checks */
		memcpy(copy, data + pos, (size_t)r);
		memset(copy + XVP_CRC_OFFSET, 0, 4);
		uint32_t crc = (uint32_t)crc32(0L, copy, (uInt)r);
		copy[XVP_CRC_OFFSET] = (uint8_t)(crc >> 24);
		copy[XVP_CRC_OFFSET + 1] = (uint8_t)(crc >> 16);
		copy[XVP_CRC_OFFSET + 2] = (uint8_t)(crc >> 8);
		copy[XVP_CRC_OFFSET + 3] = (uint8_t)crc;
		fuzz_one(copy, (size_t)r, 1);
		pos += (size_t)r;
	}
	return 0;
}
