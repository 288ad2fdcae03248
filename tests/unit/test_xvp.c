/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * xvp: the packet codec.  Known-answer packets captured from Debian's nrpe
 * and check_nrpe (tests/fixtures/nrpe/), round trips of every packet kind,
 * every rejection with its exact code, incremental framing over a byte
 * stream, and every hex example of proto/PROTOCOL.md.
 */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>
#include <cmocka.h>

#include "xverr.h"
#include "xvbuf.h"
#include "xvp.h"

#define TEST_MAX_FILE (1024 * 1024)
#define TEST_MAX_EXAMPLE (2 * XVP_MAX_FRAME)

/* ------------------------------------------------------------ helpers */

/* The source tree: $XV_TOP (set by tests/run-tests.sh), else the first
 * parent of this binary's directory that holds proto/PROTOCOL.md. */
static const char *test_top(void)
{
	static char top[PATH_MAX];
	char probe[PATH_MAX + 32];
	const char *env = getenv("XV_TOP");
	ssize_t n;
	char *slash;

	if (env != NULL && *env != '\0')
		return env;
	n = readlink("/proc/self/exe", top, sizeof top - 1);
	if (n <= 0)
		return ".";
	top[n] = '\0';
	while ((slash = strrchr(top, '/')) != NULL && slash != top) {
		*slash = '\0';
		snprintf(probe, sizeof probe, "%s/proto/PROTOCOL.md", top);
		if (access(probe, R_OK) == 0)
			return top;
	}
	return ".";
}

/* Whole file under the source tree; fails the test if unreadable. */
static uint8_t *load(const char *rel, size_t *len)
{
	char path[2 * PATH_MAX];
	FILE *f;
	uint8_t *p;

	snprintf(path, sizeof path, "%s/%s", test_top(), rel);
	f = fopen(path, "rb");
	if (f == NULL)
		fail_msg("cannot open %s (set XV_TOP to the source tree)", path);
	p = malloc(TEST_MAX_FILE);
	assert_non_null(p);
	*len = fread(p, 1, TEST_MAX_FILE, f);
	assert_true(feof(f));
	fclose(f);
	return p;
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* Recompute the crc32 field, so that a test reaches the check after it. */
static void fix_crc(uint8_t *p, size_t len)
{
	put32(p + XVP_CRC_OFFSET, 0);
	put32(p + XVP_CRC_OFFSET, (uint32_t)crc32(0L, p, (uInt)len));
}

/* Builds a v4-layout frame (v4 or XV) with any header values, body bytes
 * and a correct CRC into p; returns its size. */
static size_t raw16(uint8_t *p, uint16_t version, uint16_t type, uint16_t result, uint16_t align,
		    uint32_t blen, const void *body, size_t body_len)
{
	p[0] = (uint8_t)(version >> 8);
	p[1] = (uint8_t)version;
	p[2] = (uint8_t)(type >> 8);
	p[3] = (uint8_t)type;
	p[8] = (uint8_t)(result >> 8);
	p[9] = (uint8_t)result;
	p[10] = (uint8_t)(align >> 8);
	p[11] = (uint8_t)align;
	put32(p + 12, blen);
	if (body_len != 0)
		memcpy(p + XVP_HEADER_SIZE, body, body_len);
	fix_crc(p, XVP_HEADER_SIZE + body_len);
	return XVP_HEADER_SIZE + body_len;
}

/* An XV frame: id (or the 12 hello bytes given in body) then text + NUL. */
static size_t raw_xv(uint8_t *p, uint16_t type, uint16_t result, const void *body, size_t body_len)
{
	return raw16(p, XVP_XV, type, result, 0, (uint32_t)body_len, body, body_len);
}

static int msg_equal(const struct xvp_msg *a, const struct xvp_msg *b)
{
	return a->version == b->version && a->type == b->type && a->result == b->result &&
	       a->id == b->id && a->proto_min == b->proto_min && a->proto_max == b->proto_max &&
	       a->proto == b->proto && a->max_inflight == b->max_inflight &&
	       a->max_response == b->max_response && a->max_request == b->max_request &&
	       a->text_len == b->text_len &&
	       (a->text_len == 0 || memcmp(a->text, b->text, a->text_len) == 0);
}

/* Every prefix of a frame gets XV_EAGAIN (with a sane *need) or the same
 * verdict as the whole frame: a stream split cannot change the outcome. */
static void check_prefixes(const uint8_t *p, size_t len, int want)
{
	size_t need;
	int r;

	for (size_t i = 0; i < len; i++) {
		need = 0;
		r = xvp_frame(p, i, &need);
		if (r == XV_EAGAIN) {
			assert_true(need > i);
			if (want > 0)
				assert_true(need <= (size_t)want);
		} else {
			assert_int_equal(r, want);
		}
	}
}

/* Decoding fails with exactly err, and xvp_frame() agrees on header errors
 * (it accepts frames whose fault is in the CRC or body). */
static void expect_reject(const uint8_t *p, size_t len, int err)
{
	struct xvp_msg m;
	int fr, r;

	r = xvp_decode(p, len, &m);
	if (r != err)
		fail_msg("decode: got %d (%s: %s), want %d (%s)", r, xv_strerror(r),
			 m.why ? m.why : "", err, xv_strerror(err));
	assert_non_null(m.why);
	assert_string_not_equal(m.why, "");
	assert_int_equal(m.version, 0);
	assert_null(m.text);
	fr = xvp_frame(p, len, NULL);
	assert_true(fr == err || fr == (int)len);
	check_prefixes(p, len, fr);
}

/* Encode m, check the frame decodes to the same fields and re-encodes to
 * the same bytes; returns the frame size. */
static size_t round_trip(const struct xvp_msg *m, struct xvbuf *out)
{
	struct xvp_msg d;
	struct xvbuf again;
	size_t need;
	int n;

	xvbuf_reset(out);
	n = xvp_encode(out, m);
	if (n < 0)
		fail_msg("encode %s: %s", xvp_kind_name(m->version, m->type), xv_strerror(n));
	assert_int_equal((size_t)n, xvbuf_len(out));
	assert_int_equal(xvp_frame(xvbuf_ptr(out), (size_t)n, &need), n);
	assert_int_equal(need, (size_t)n);
	assert_int_equal(xvp_decode(xvbuf_ptr(out), (size_t)n, &d), n);
	assert_string_equal(d.why, "");
	if (!msg_equal(m, &d))
		fail_msg("round trip of %s changed the fields", xvp_kind_name(m->version, m->type));
	if (d.text != NULL)
		assert_int_equal(d.text[d.text_len], '\0');
	assert_int_equal(xvbuf_init(&again, XVP_MAX_FRAME), 0);
	assert_int_equal(xvp_encode(&again, &d), n);
	assert_memory_equal(xvbuf_ptr(&again), xvbuf_ptr(out), (size_t)n);
	xvbuf_free(&again);
	check_prefixes(xvbuf_ptr(out), (size_t)n, n);
	return (size_t)n;
}

static struct xvp_msg msg(uint16_t version, uint16_t type, int16_t result, const char *text)
{
	struct xvp_msg m;

	memset(&m, 0, sizeof m);
	m.version = version;
	m.type = type;
	m.result = result;
	m.text = text;
	m.text_len = text ? strlen(text) : 0;
	return m;
}

static struct xvp_msg xvmsg(uint16_t type, uint32_t id, const char *text)
{
	struct xvp_msg m = msg(XVP_XV, type, 0, text);

	m.id = id;
	return m;
}

static struct xvp_msg hello(void)
{
	struct xvp_msg m = msg(XVP_XV, XVP_XV_HELLO, 0, "xenvchan-bridge 0.1.0");

	m.proto_min = 1;
	m.proto_max = 1;
	m.max_inflight = 64;
	m.max_response = XVP_MAX_BUFFER;
	return m;
}

static struct xvp_msg hello_ack(void)
{
	struct xvp_msg m = msg(XVP_XV, XVP_XV_HELLO_ACK, 0, "xenvchan-agent 0.1.0");

	m.proto = 1;
	m.max_inflight = 16;
	m.max_request = 4096;
	return m;
}

/* ------------------------------------------------------------ fixtures */

struct fixture {
	const char *file;
	uint16_t version, type;
	int16_t result; /* -1: random (v2 query) */
	const char *text;
	/* bytes that differ between captures (besides the crc), as
	 * [from, to) ranges; {0, 0} ends the list */
	size_t random[3][2];
};

static const struct fixture fixtures[] = {
    {"v4-query.bin", XVP_V4, XVP_QUERY, 0, "kat", {{0, 0}}},
    {"v4-response.bin", XVP_V4, XVP_RESPONSE, 1, "WARNING: KAT warning text", {{0, 0}}},
    {"v4-nrpecheck-query.bin", XVP_V4, XVP_QUERY, 0, "_NRPE_CHECK", {{0, 0}}},
    {"v4-nrpecheck-response.bin", XVP_V4, XVP_RESPONSE, 0, "NRPE v4.1.0", {{0, 0}}},
    /* check_nrpe randomises result_code and the struct padding of a v2
     * query (strncpy zeroes the rest of the buffer) */
    {"v2-query.bin", XVP_V2, XVP_QUERY, -1, "kat", {{4, 10}, {1034, 1036}, {0, 0}}},
    /* nrpe randomises only the struct padding of a v2 response */
    {"v2-response.bin",
     XVP_V2,
     XVP_RESPONSE,
     1,
     "WARNING: KAT warning text",
     {{4, 8}, {1034, 1036}, {0, 0}}},
};

static void test_fixtures_decode(void **state)
{
	for (size_t i = 0; i < sizeof fixtures / sizeof fixtures[0]; i++) {
		const struct fixture *f = &fixtures[i];
		char rel[128];
		size_t len;
		struct xvp_msg m;
		uint8_t *p;

		snprintf(rel, sizeof rel, "tests/fixtures/nrpe/%s", f->file);
		p = load(rel, &len);
		assert_int_equal(xvp_frame(p, len, NULL), (int)len);
		assert_int_equal(xvp_decode(p, len, &m), (int)len);
		assert_int_equal(m.version, f->version);
		assert_int_equal(m.type, f->type);
		if (f->result >= 0)
			assert_int_equal(m.result, f->result);
		assert_int_equal(m.text_len, strlen(f->text));
		assert_string_equal(m.text, f->text);
		check_prefixes(p, len, (int)len);
		free(p);
	}
}

static void test_fixtures_encode(void **state)
{
	struct xvbuf out;

	assert_int_equal(xvbuf_init(&out, XVP_MAX_FRAME), 0);
	for (size_t i = 0; i < sizeof fixtures / sizeof fixtures[0]; i++) {
		const struct fixture *f = &fixtures[i];
		char rel[128];
		size_t len;
		struct xvp_msg m;
		uint8_t *p;
		const uint8_t *q;

		snprintf(rel, sizeof rel, "tests/fixtures/nrpe/%s", f->file);
		p = load(rel, &len);
		m = msg(f->version, f->type, f->result, f->text);
		if (f->result < 0)
			m.result = 0;
		xvbuf_reset(&out);
		assert_int_equal(xvp_encode(&out, &m), (int)len);
		q = xvbuf_ptr(&out);
		for (size_t b = 0; b < len; b++) {
			int random = 0;
			for (size_t k = 0; f->random[k][1] != 0; k++)
				random |= b >= f->random[k][0] && b < f->random[k][1];
			if (random)
				continue;
			if (p[b] != q[b])
				fail_msg("%s: byte %zu is %02x, encoder wrote %02x", f->file, b,
					 p[b], q[b]);
		}
		if (f->random[0][1] == 0) {
			/* fully deterministic: the CRC and length too */
			assert_memory_equal(p, q, len);
		} else {
			/* with the captured random bytes put back, the CRC matches */
			uint8_t copy[XVP_V2_PACKET_SIZE];
			memcpy(copy, q, len);
			for (size_t k = 0; f->random[k][1] != 0; k++)
				memcpy(copy + f->random[k][0], p + f->random[k][0],
				       f->random[k][1] - f->random[k][0]);
			fix_crc(copy, len);
			assert_memory_equal(copy, p, len);
		}
		free(p);
	}
	xvbuf_free(&out);
}

/* ------------------------------------------------------------ round trips */

static void test_round_trip_nrpe(void **state)
{
	struct xvbuf out;
	char big[XVP_MAX_BUFFER];

	assert_int_equal(xvbuf_init(&out, XVP_MAX_FRAME), 0);
	memset(big, 'x', sizeof big);
	big[sizeof big - 1] = '\0';

	struct xvp_msg m = msg(XVP_V2, XVP_QUERY, 0, "check_load");
	assert_int_equal(round_trip(&m, &out), XVP_V2_PACKET_SIZE);
	m = msg(XVP_V2, XVP_RESPONSE, 2, "CRITICAL - x|a=1");
	assert_int_equal(round_trip(&m, &out), XVP_V2_PACKET_SIZE);
	m = msg(XVP_V2, XVP_RESPONSE, -7, ""); /* any int16 result in plain NRPE */
	assert_int_equal(round_trip(&m, &out), XVP_V2_PACKET_SIZE);
	m = msg(XVP_V2, XVP_RESPONSE, 3, big);
	m.text_len = XVP_V2_MAX_TEXT;
	assert_int_equal(round_trip(&m, &out), XVP_V2_PACKET_SIZE);

	m = msg(XVP_V4, XVP_QUERY, 0, "kat");
	assert_int_equal(round_trip(&m, &out), XVP_HEADER_SIZE + XVP_V4_QUERY_PAD);
	m = msg(XVP_V4, XVP_QUERY, 0, "");
	assert_int_equal(round_trip(&m, &out), XVP_HEADER_SIZE + XVP_V4_QUERY_PAD);
	m = msg(XVP_V4, XVP_QUERY, 0, big);
	m.text_len = XVP_V4_QUERY_PAD - 1; /* exactly fills the padding */
	assert_int_equal(round_trip(&m, &out), XVP_HEADER_SIZE + XVP_V4_QUERY_PAD);
	m.text_len = XVP_V4_QUERY_PAD; /* one more: no padding, just longer */
	assert_int_equal(round_trip(&m, &out), XVP_HEADER_SIZE + XVP_V4_QUERY_PAD + 1);
	m = msg(XVP_V4, XVP_RESPONSE, 1, "WARNING");
	assert_int_equal(round_trip(&m, &out), XVP_HEADER_SIZE + 8);
	m = msg(XVP_V4, XVP_RESPONSE, 0, "");
	assert_int_equal(round_trip(&m, &out), XVP_HEADER_SIZE + 1);
	m = msg(XVP_V4, XVP_RESPONSE, 0, big);
	m.text_len = XVP_MAX_BUFFER - 1;
	assert_int_equal(round_trip(&m, &out), XVP_MAX_FRAME);
	m = msg(XVP_V4, XVP_QUERY, 0, big);
	m.text_len = XVP_MAX_BUFFER - 1;
	assert_int_equal(round_trip(&m, &out), XVP_MAX_FRAME);
	xvbuf_free(&out);
}

static void test_round_trip_xv(void **state)
{
	struct xvbuf out;
	char big[XVP_MAX_BUFFER];
	struct xvp_msg m;

	assert_int_equal(xvbuf_init(&out, XVP_MAX_FRAME), 0);
	memset(big, 'y', sizeof big);
	big[sizeof big - 1] = '\0';

	m = hello();
	assert_int_equal(round_trip(&m, &out), XVP_HEADER_SIZE + 12 + 22);
	m.proto_min = 1;
	m.proto_max = 65535;
	m.max_inflight = UINT32_MAX;
	m.max_response = XVP_XV_MIN_BUFFER_LIMIT;
	m.text = big;
	m.text_len = XVP_XV_MAX_SOFTWARE;
	round_trip(&m, &out);
	m.text_len = 0;
	assert_int_equal(round_trip(&m, &out), XVP_HEADER_SIZE + 13);

	m = hello_ack();
	round_trip(&m, &out);
	m.proto = 65535;
	m.max_request = XVP_MAX_BUFFER;
	round_trip(&m, &out);

	m = xvmsg(XVP_XV_QUERY, 1, "check_disk!-w!20%!-c!10%");
	round_trip(&m, &out);
	m = xvmsg(XVP_XV_QUERY, UINT32_MAX, "");
	assert_int_equal(round_trip(&m, &out), XVP_HEADER_SIZE + 5);
	m = xvmsg(XVP_XV_QUERY, 2, big);
	m.text_len = XVP_MAX_BUFFER - 5;
	assert_int_equal(round_trip(&m, &out), XVP_MAX_FRAME);

	for (int16_t r = 0; r <= 3; r++) {
		m = xvmsg(XVP_XV_RESPONSE, 77, "output\nlong output|perf=1");
		m.result = r;
		round_trip(&m, &out);
	}
	m = xvmsg(XVP_XV_RESPONSE, 3, big);
	m.text_len = XVP_MAX_BUFFER - 5;
	assert_int_equal(round_trip(&m, &out), XVP_MAX_FRAME);

	m = xvmsg(XVP_XV_CANCEL, 7, NULL);
	assert_int_equal(round_trip(&m, &out), XVP_HEADER_SIZE + 4);
	m = xvmsg(XVP_XV_PING, 0, NULL); /* a nonce may be 0 */
	assert_int_equal(round_trip(&m, &out), XVP_HEADER_SIZE + 4);
	m = xvmsg(XVP_XV_PONG, 0xffffffff, NULL);
	assert_int_equal(round_trip(&m, &out), XVP_HEADER_SIZE + 4);
	m = xvmsg(XVP_XV_ERROR, 0, "no common protocol version");
	round_trip(&m, &out);
	m = xvmsg(XVP_XV_ERROR, 9, "");
	round_trip(&m, &out);
	xvbuf_free(&out);
}

/* ------------------------------------------------------------ rejections */

static void test_reject_version(void **state)
{
	uint8_t p[64];
	static const uint16_t bad[] = {0, 1, 5, 0x5855, 0x5857, 0x0200, 0xffff};

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		size_t n = raw16(p, bad[i], 1, 0, 0, 4, "abc", 4);
		expect_reject(p, n, XV_EVERSION);
		assert_int_equal(xvp_frame(p, 2, NULL), XV_EVERSION); /* from 2 bytes */
	}
	size_t n = raw16(p, XVP_V3, XVP_QUERY, 0, 0, 4, "abc", 4);
	expect_reject(p, n, XV_EV3);
	assert_int_equal(xvp_frame(p, 2, NULL), XV_EV3);
	assert_int_equal(xvp_frame(p, 1, NULL), XV_EAGAIN);
}

static void test_reject_type(void **state)
{
	uint8_t p[XVP_V2_PACKET_SIZE];
	size_t n;

	n = raw16(p, XVP_V4, 0, 0, 0, 4, "abc", 4);
	expect_reject(p, n, XV_ETYPE);
	n = raw16(p, XVP_V4, 3, 0, 0, 4, "abc", 4);
	expect_reject(p, n, XV_ETYPE);
	assert_int_equal(xvp_frame(p, 4, NULL), XV_ETYPE);
	n = raw16(p, XVP_XV, 0, 0, 0, 4, "\0\0\0\1", 4);
	expect_reject(p, n, XV_ETYPE);
	n = raw16(p, XVP_XV, 9, 0, 0, 4, "\0\0\0\1", 4);
	expect_reject(p, n, XV_ETYPE);
	n = raw16(p, XVP_XV, 0x8001, 0, 0, 4, "\0\0\0\1", 4);
	expect_reject(p, n, XV_ETYPE);

	memset(p, 0, sizeof p);
	p[1] = XVP_V2;
	p[3] = 3;
	fix_crc(p, sizeof p);
	expect_reject(p, sizeof p, XV_ETYPE);
	assert_int_equal(xvp_frame(p, 4, NULL), XV_ETYPE);
}

static void test_reject_crc(void **state)
{
	struct xvbuf out;
	uint8_t p[XVP_V2_PACKET_SIZE];
	struct xvp_msg m;
	size_t n;

	assert_int_equal(xvbuf_init(&out, XVP_MAX_FRAME), 0);
	const struct xvp_msg kinds[] = {
	    msg(XVP_V2, XVP_QUERY, 0, "kat"),
	    msg(XVP_V4, XVP_RESPONSE, 1, "WARNING"),
	    xvmsg(XVP_XV_QUERY, 5, "check_users"),
	    xvmsg(XVP_XV_PING, 5, NULL),
	};
	for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
		xvbuf_reset(&out);
		n = (size_t)xvp_encode(&out, &kinds[k]);
		memcpy(p, xvbuf_ptr(&out), n);
		/* any single flipped bit anywhere is caught (header flips may
		 * be caught earlier by a header check) */
		for (size_t b = 0; b < n; b++) {
			p[b] ^= 0x10;
			int r = xvp_decode(p, n, &m);
			assert_true(r < 0);
			if (b >= XVP_HEADER_SIZE || (b >= 4 && b < 8))
				assert_int_equal(r, XV_ECRC);
			p[b] ^= 0x10;
		}
		assert_int_equal(xvp_decode(p, n, &m), (int)n);
		p[n - 1] ^= 1;
		expect_reject(p, n, XV_ECRC);
		assert_string_equal(m.why, "");
	}
	/* v2 padding and random result_code are covered by the CRC too */
	xvbuf_reset(&out);
	n = (size_t)xvp_encode(&out, &kinds[0]);
	memcpy(p, xvbuf_ptr(&out), n);
	p[1035] = 'K';
	expect_reject(p, n, XV_ECRC);
	xvbuf_free(&out);
}

static void test_reject_length(void **state)
{
	static uint8_t p[XVP_MAX_FRAME + 16];
	static char body[XVP_MAX_BUFFER + 1];
	size_t need;

	memset(body, 'z', sizeof body);
	/* negative and too large buffer_length: refused from the header */
	raw16(p, XVP_V4, XVP_QUERY, 0, 0, 0xffffffff, NULL, 0);
	expect_reject(p, XVP_HEADER_SIZE, XV_ELENGTH);
	raw16(p, XVP_V4, XVP_QUERY, 0, 0, 0x80000000, NULL, 0);
	expect_reject(p, XVP_HEADER_SIZE, XV_ELENGTH);
	raw16(p, XVP_V4, XVP_RESPONSE, 0, 0, XVP_MAX_BUFFER + 1, NULL, 0);
	expect_reject(p, XVP_HEADER_SIZE, XV_ELENGTH);
	assert_int_equal(xvp_frame(p, XVP_HEADER_SIZE, &need), XV_ELENGTH);
	raw16(p, XVP_XV, XVP_XV_QUERY, 0, 0, XVP_MAX_BUFFER + 1, NULL, 0);
	expect_reject(p, XVP_HEADER_SIZE, XV_ELENGTH);

	/* exactly 65536 is accepted */
	body[XVP_MAX_BUFFER - 1] = '\0';
	size_t n = raw16(p, XVP_V4, XVP_RESPONSE, 0, 0, XVP_MAX_BUFFER, body, XVP_MAX_BUFFER);
	assert_int_equal(xvp_frame(p, XVP_HEADER_SIZE, &need), XV_EAGAIN);
	assert_int_equal(need, XVP_MAX_FRAME);
	struct xvp_msg m;
	assert_int_equal(xvp_decode(p, n, &m), XVP_MAX_FRAME);
	assert_int_equal(m.text_len, XVP_MAX_BUFFER - 1);
	body[XVP_MAX_BUFFER - 1] = 'z';

	/* extension payload bounds: too small, too large for the type */
	n = raw16(p, XVP_XV, XVP_XV_QUERY, 0, 0, 4, "\0\0\0\1", 4);
	expect_reject(p, n, XV_ELENGTH);
	n = raw16(p, XVP_XV, XVP_XV_RESPONSE, 0, 0, 0, NULL, 0);
	expect_reject(p, n, XV_ELENGTH);
	n = raw16(p, XVP_XV, XVP_XV_ERROR, 0, 0, 3, "\0\0\0", 3);
	expect_reject(p, n, XV_ELENGTH);
	n = raw16(p, XVP_XV, XVP_XV_CANCEL, 0, 0, 3, "\0\0\1", 3);
	expect_reject(p, n, XV_ELENGTH);
	n = raw16(p, XVP_XV, XVP_XV_CANCEL, 0, 0, 5, "\0\0\0\1\0", 5);
	expect_reject(p, n, XV_ELENGTH);
	n = raw16(p, XVP_XV, XVP_XV_PING, 0, 0, 0, NULL, 0);
	expect_reject(p, n, XV_ELENGTH);
	n = raw16(p, XVP_XV, XVP_XV_PONG, 0, 0, 8, "\0\0\0\1\0\0\0\0", 8);
	expect_reject(p, n, XV_ELENGTH);
	n = raw16(p, XVP_XV, XVP_XV_HELLO, 0, 0, 12, "\0\1\0\1\0\0\0\1\0\0\x10\0", 12);
	expect_reject(p, n, XV_ELENGTH);
	n = raw16(p, XVP_XV, XVP_XV_HELLO_ACK, 0, 0, 11, "\0\1\0\0\0\0\0\1\0\0\x10", 11);
	expect_reject(p, n, XV_ELENGTH);
	/* software id longer than XVP_XV_MAX_SOFTWARE */
	memcpy(body, "\0\1\0\1\0\0\0\1\0\0\x10\0", 12);
	body[12 + XVP_XV_MAX_SOFTWARE + 1] = '\0';
	n = raw16(p, XVP_XV, XVP_XV_HELLO, 0, 0, 12 + XVP_XV_MAX_SOFTWARE + 2, body,
		  12 + XVP_XV_MAX_SOFTWARE + 2);
	expect_reject(p, n, XV_ELENGTH);
	body[12 + XVP_XV_MAX_SOFTWARE] = '\0';
	n = raw16(p, XVP_XV, XVP_XV_HELLO, 0, 0, 12 + XVP_XV_MAX_SOFTWARE + 1, body,
		  12 + XVP_XV_MAX_SOFTWARE + 1);
	assert_int_equal(xvp_decode(p, n, &m), (int)n);
	assert_int_equal(m.text_len, XVP_XV_MAX_SOFTWARE);
}

static void test_reject_alignment(void **state)
{
	uint8_t p[64];
	size_t n;

	n = raw16(p, XVP_V4, XVP_QUERY, 0, 1, 4, "abc", 4);
	expect_reject(p, n, XV_EALIGN);
	n = raw16(p, XVP_V4, XVP_RESPONSE, 0, 0x8000, 4, "abc", 4);
	expect_reject(p, n, XV_EALIGN);
	assert_int_equal(xvp_frame(p, 12, NULL), XV_EALIGN);
	assert_int_equal(xvp_frame(p, 11, NULL), XV_EAGAIN);
	n = raw16(p, XVP_XV, XVP_XV_PING, 0, 0x0100, 4, "abcd", 4);
	expect_reject(p, n, XV_EALIGN);
	/* a bad alignment is reported before a bad buffer_length */
	raw16(p, XVP_V4, XVP_QUERY, 0, 1, 0xffffffff, NULL, 0);
	expect_reject(p, XVP_HEADER_SIZE, XV_EALIGN);
}

static void test_reject_unterminated(void **state)
{
	uint8_t p[XVP_V2_PACKET_SIZE];
	size_t n;

	n = raw16(p, XVP_V4, XVP_QUERY, 0, 0, 3, "abc", 3);
	expect_reject(p, n, XV_ENOTERM);
	n = raw16(p, XVP_V4, XVP_RESPONSE, 0, 0, 0, NULL, 0);
	expect_reject(p, n, XV_ENOTERM);
	/* v2: a full 1024-byte buffer with no NUL */
	memset(p, 'a', sizeof p);
	p[0] = 0;
	p[1] = XVP_V2;
	p[2] = 0;
	p[3] = XVP_RESPONSE;
	fix_crc(p, sizeof p);
	expect_reject(p, sizeof p, XV_ENOTERM);
	/* a NUL in the padding does not count */
	p[1034] = 0;
	p[1035] = 0;
	fix_crc(p, sizeof p);
	expect_reject(p, sizeof p, XV_ENOTERM);
	/* the last buffer byte does */
	p[1033] = 0;
	fix_crc(p, sizeof p);
	struct xvp_msg m;
	assert_int_equal(xvp_decode(p, sizeof p, &m), XVP_V2_PACKET_SIZE);
	assert_int_equal(m.text_len, XVP_V2_MAX_TEXT);

	/* v4: text ends at the first NUL, anything after it is padding */
	n = raw16(p, XVP_V4, XVP_QUERY, 0, 0, 8, "abc\0xyz!", 8);
	assert_int_equal(xvp_decode(p, n, &m), (int)n);
	assert_string_equal(m.text, "abc");

	/* extension text: the NUL must be the last byte, and the only one */
	n = raw_xv(p, XVP_XV_QUERY, 0, "\0\0\0\1abc", 7);
	expect_reject(p, n, XV_ENOTERM);
	n = raw_xv(p, XVP_XV_QUERY, 0, "\0\0\0\1ab\0c", 8);
	expect_reject(p, n, XV_ENOTERM);
	n = raw_xv(p, XVP_XV_QUERY, 0, "\0\0\0\1ab\0c\0", 9);
	expect_reject(p, n, XV_EPAYLOAD);
	n = raw_xv(p, XVP_XV_RESPONSE, 0, "\0\0\0\1\0\0", 6);
	expect_reject(p, n, XV_EPAYLOAD);
	n = raw_xv(p, XVP_XV_ERROR, 0, "\0\0\0\0oops", 8);
	expect_reject(p, n, XV_ENOTERM);
	n = raw_xv(p, XVP_XV_HELLO, 0, "\0\1\0\1\0\0\0\1\0\0\x10\0sw", 14);
	expect_reject(p, n, XV_ENOTERM);
	n = raw_xv(p, XVP_XV_HELLO_ACK, 0, "\0\1\0\0\0\0\0\1\0\0\x10\0s\0w\0", 16);
	expect_reject(p, n, XV_EPAYLOAD);
}

static void test_reject_xv_result(void **state)
{
	uint8_t p[64];
	size_t n;
	struct xvp_msg m;

	n = raw_xv(p, XVP_XV_RESPONSE, 4, "\0\0\0\1x\0", 6);
	expect_reject(p, n, XV_EPAYLOAD);
	assert_int_equal(xvp_frame(p, 10, NULL), XV_EPAYLOAD);
	assert_int_equal(xvp_frame(p, 9, NULL), XV_EAGAIN);
	n = raw_xv(p, XVP_XV_RESPONSE, 0xffff, "\0\0\0\1x\0", 6); /* -1 */
	expect_reject(p, n, XV_EPAYLOAD);
	n = raw_xv(p, XVP_XV_RESPONSE, 3, "\0\0\0\1x\0", 6);
	assert_int_equal(xvp_decode(p, n, &m), (int)n);
	assert_int_equal(m.result, 3);
	n = raw_xv(p, XVP_XV_QUERY, 1, "\0\0\0\1x\0", 6);
	expect_reject(p, n, XV_EPAYLOAD);
	n = raw_xv(p, XVP_XV_PING, 2, "\0\0\0\1", 4);
	expect_reject(p, n, XV_EPAYLOAD);
	n = raw_xv(p, XVP_XV_HELLO, 3, "\0\1\0\1\0\0\0\1\0\0\x10\0\0", 13);
	expect_reject(p, n, XV_EPAYLOAD);
}

static void test_reject_xv_fields(void **state)
{
	uint8_t p[64];
	size_t n;
	struct xvp_msg m;

	/* request id 0 */
	n = raw_xv(p, XVP_XV_QUERY, 0, "\0\0\0\0x\0", 6);
	expect_reject(p, n, XV_EPAYLOAD);
	n = raw_xv(p, XVP_XV_RESPONSE, 0, "\0\0\0\0x\0", 6);
	expect_reject(p, n, XV_EPAYLOAD);
	n = raw_xv(p, XVP_XV_CANCEL, 0, "\0\0\0\0", 4);
	expect_reject(p, n, XV_EPAYLOAD);
	n = raw_xv(p, XVP_XV_ERROR, 0, "\0\0\0\0x\0", 6); /* connection-level: fine */
	assert_int_equal(xvp_decode(p, n, &m), (int)n);
	assert_int_equal(m.id, 0);

	/* HELLO: proto range, max_inflight, max_response */
	n = raw_xv(p, XVP_XV_HELLO, 0, "\0\0\0\1\0\0\0\1\0\0\x10\0\0", 13);
	expect_reject(p, n, XV_EPAYLOAD);
	n = raw_xv(p, XVP_XV_HELLO, 0, "\0\2\0\1\0\0\0\1\0\0\x10\0\0", 13);
	expect_reject(p, n, XV_EPAYLOAD);
	n = raw_xv(p, XVP_XV_HELLO, 0, "\0\1\0\1\0\0\0\0\0\0\x10\0\0", 13);
	expect_reject(p, n, XV_EPAYLOAD);
	n = raw_xv(p, XVP_XV_HELLO, 0, "\0\1\0\1\0\0\0\1\0\0\0\4\0", 13);
	expect_reject(p, n, XV_EPAYLOAD);
	n = raw_xv(p, XVP_XV_HELLO, 0, "\0\1\0\1\0\0\0\1\0\0\0\5\0", 13);
	assert_int_equal(xvp_decode(p, n, &m), (int)n);
	assert_int_equal(m.max_response, 5);
	n = raw_xv(p, XVP_XV_HELLO, 0, "\0\1\0\1\0\0\0\1\0\1\0\1\0", 13);
	expect_reject(p, n, XV_EPAYLOAD);
	n = raw_xv(p, XVP_XV_HELLO, 0, "\0\1\0\1\0\0\0\1\xff\xff\xff\xff\0", 13);
	expect_reject(p, n, XV_EPAYLOAD);
	n = raw_xv(p, XVP_XV_HELLO, 0, "\0\3\0\7\0\0\0\1\0\1\0\0\0", 13);
	assert_int_equal(xvp_decode(p, n, &m), (int)n);
	assert_int_equal(m.proto_min, 3);
	assert_int_equal(m.proto_max, 7);
	assert_int_equal(m.max_response, XVP_MAX_BUFFER);

	/* HELLO_ACK: proto 0, reserved, max_inflight, max_request */
	n = raw_xv(p, XVP_XV_HELLO_ACK, 0, "\0\0\0\0\0\0\0\1\0\0\x10\0\0", 13);
	expect_reject(p, n, XV_EPAYLOAD);
	n = raw_xv(p, XVP_XV_HELLO_ACK, 0, "\0\1\0\1\0\0\0\1\0\0\x10\0\0", 13);
	expect_reject(p, n, XV_EPAYLOAD);
	n = raw_xv(p, XVP_XV_HELLO_ACK, 0, "\0\1\0\0\0\0\0\0\0\0\x10\0\0", 13);
	expect_reject(p, n, XV_EPAYLOAD);
	n = raw_xv(p, XVP_XV_HELLO_ACK, 0, "\0\1\0\0\0\0\0\1\0\0\0\0\0", 13);
	expect_reject(p, n, XV_EPAYLOAD);
	n = raw_xv(p, XVP_XV_HELLO_ACK, 0, "\0\1\0\0\0\0\0\1\0\0\x10\0\0", 13);
	assert_int_equal(xvp_decode(p, n, &m), (int)n);
	assert_int_equal(m.proto, 1);
	assert_int_equal(m.max_request, 4096);
	assert_int_equal(m.text_len, 0);
}

/* Header errors come in wire order, so a frame with several faults gets the
 * same code whole or split. */
static void test_reject_order(void **state)
{
	uint8_t p[64];
	size_t n;

	n = raw16(p, XVP_XV, 9, 7, 1, 0xffffffff, NULL, 0);
	expect_reject(p, n, XV_ETYPE);
	n = raw16(p, XVP_XV, XVP_XV_RESPONSE, 7, 1, 0xffffffff, NULL, 0);
	expect_reject(p, n, XV_EPAYLOAD);
	n = raw16(p, XVP_XV, XVP_XV_RESPONSE, 0, 0, 3, "\0\0\1", 3);
	p[17] = 1; /* bad CRC, but the length is refused first */
	expect_reject(p, n, XV_ELENGTH);
}

/* ------------------------------------------------------------ framing */

static void test_frame_need(void **state)
{
	uint8_t p[XVP_V2_PACKET_SIZE];
	size_t need = 0;

	memset(p, 0, sizeof p);
	assert_int_equal(xvp_frame(p, 0, &need), XV_EAGAIN);
	assert_int_equal(need, XVP_HEADER_SIZE);
	assert_int_equal(xvp_frame(NULL, 0, NULL), XV_EAGAIN);
	p[1] = XVP_V2;
	assert_int_equal(xvp_frame(p, 2, &need), XV_EAGAIN);
	assert_int_equal(need, XVP_V2_PACKET_SIZE);
	p[3] = XVP_QUERY;
	assert_int_equal(xvp_frame(p, 1035, &need), XV_EAGAIN);
	assert_int_equal(need, XVP_V2_PACKET_SIZE);
	assert_int_equal(xvp_frame(p, 1036, &need), XVP_V2_PACKET_SIZE);
	assert_int_equal(xvp_frame(p, 1036 + 10, &need), XVP_V2_PACKET_SIZE);

	raw16(p, XVP_V4, XVP_RESPONSE, 0, 0, 300, NULL, 0);
	assert_int_equal(xvp_frame(p, 15, &need), XV_EAGAIN);
	assert_int_equal(need, XVP_HEADER_SIZE);
	assert_int_equal(xvp_frame(p, 16, &need), XV_EAGAIN);
	assert_int_equal(need, 316);
	assert_int_equal(xvp_frame(p, 315, &need), XV_EAGAIN);
	assert_int_equal(xvp_frame(p, 316, &need), 316);
	struct xvp_msg m;
	assert_int_equal(xvp_decode(p, 315, &m), XV_EAGAIN);
}

/* Feed a stream of frames through a bounded connection buffer in chunks
 * of the given sizes (0 = random); every frame comes out whole, in order. */
static void feed_stream(const uint8_t *stream, size_t len, const struct xvp_msg *want, size_t nwant,
			size_t chunk, uint32_t seed)
{
	struct xvbuf in;
	size_t pos = 0, got = 0, need;
	struct xvp_msg m;

	assert_int_equal(xvbuf_init(&in, XVP_MAX_FRAME), 0);
	while (pos < len) {
		size_t n = chunk;
		uint8_t *dp;
		if (n == 0) {
			seed = seed * 1103515245u + 12345u;
			n = 1 + (seed >> 8) % 2000;
		}
		if (n > len - pos)
			n = len - pos;
		if (n > xvbuf_avail(&in))
			n = xvbuf_avail(&in);
		assert_int_equal(xvbuf_reserve(&in, n, &dp), 0);
		memcpy(dp, stream + pos, n);
		pos += n;
		for (;;) {
			int r = xvp_frame(xvbuf_ptr(&in), xvbuf_len(&in), &need);
			if (r == XV_EAGAIN) {
				assert_true(need > xvbuf_len(&in));
				assert_true(need <= XVP_MAX_FRAME);
				break;
			}
			assert_true(r > 0);
			assert_int_equal(xvp_decode(xvbuf_ptr(&in), xvbuf_len(&in), &m), r);
			assert_true(got < nwant);
			assert_true(msg_equal(&m, &want[got]));
			got++;
			assert_int_equal(xvbuf_consume(&in, (size_t)r), 0);
		}
	}
	assert_int_equal(got, nwant);
	assert_int_equal(xvbuf_len(&in), 0);
	xvbuf_free(&in);
}

static void test_stream_splits(void **state)
{
	static char big[40000];
	struct xvbuf out;
	struct xvp_msg ms[12];
	size_t n = 0;

	memset(big, 'q', sizeof big - 1);
	ms[n++] = hello();
	ms[n++] = msg(XVP_V4, XVP_QUERY, 0, "check_load");
	ms[n++] = xvmsg(XVP_XV_QUERY, 1, "check_disk!-w!20%!-c!10%");
	ms[n++] = msg(XVP_V2, XVP_QUERY, 0, "_NRPE_CHECK");
	ms[n++] = xvmsg(XVP_XV_CANCEL, 1, NULL);
	ms[n++] = xvmsg(XVP_XV_PING, 42, NULL);
	ms[n++] = hello_ack();
	ms[n++] = xvmsg(XVP_XV_RESPONSE, 1, big);
	ms[n - 1].result = 3;
	ms[n++] = msg(XVP_V4, XVP_RESPONSE, 1, big);
	ms[n++] = xvmsg(XVP_XV_PONG, 42, NULL);
	ms[n++] = msg(XVP_V2, XVP_RESPONSE, 0, "NRPE v4.1.0");
	ms[n++] = xvmsg(XVP_XV_ERROR, 0, "bye");

	assert_int_equal(xvbuf_init(&out, 200000), 0);
	for (size_t i = 0; i < n; i++)
		assert_true(xvp_encode(&out, &ms[i]) > 0);
	feed_stream(xvbuf_ptr(&out), xvbuf_len(&out), ms, n, 1, 0);
	feed_stream(xvbuf_ptr(&out), xvbuf_len(&out), ms, n, 7, 0);
	feed_stream(xvbuf_ptr(&out), xvbuf_len(&out), ms, n, XVP_HEADER_SIZE, 0);
	for (uint32_t seed = 1; seed <= 20; seed++)
		feed_stream(xvbuf_ptr(&out), xvbuf_len(&out), ms, n, 0, seed);
	xvbuf_free(&out);
}

static void test_back_to_back(void **state)
{
	struct xvbuf out;
	struct xvp_msg a = msg(XVP_V4, XVP_RESPONSE, 2, "CRIT"), b = xvmsg(XVP_XV_PONG, 9, NULL);
	struct xvp_msg m;
	int n1, n2;

	assert_int_equal(xvbuf_init(&out, 1024), 0);
	n1 = xvp_encode(&out, &a);
	n2 = xvp_encode(&out, &b);
	assert_int_equal(n1, XVP_HEADER_SIZE + 5);
	assert_int_equal(n2, XVP_HEADER_SIZE + 4);
	assert_int_equal(xvbuf_len(&out), (size_t)(n1 + n2));
	/* the first decode stops at its own frame */
	assert_int_equal(xvp_frame(xvbuf_ptr(&out), xvbuf_len(&out), NULL), n1);
	assert_int_equal(xvp_decode(xvbuf_ptr(&out), xvbuf_len(&out), &m), n1);
	assert_true(msg_equal(&m, &a));
	assert_int_equal(xvbuf_consume(&out, (size_t)n1), 0);
	assert_int_equal(xvp_decode(xvbuf_ptr(&out), xvbuf_len(&out), &m), n2);
	assert_true(msg_equal(&m, &b));
	xvbuf_free(&out);
}

/* ------------------------------------------------------------ encoder */

static void test_encode_limits(void **state)
{
	static char big[XVP_MAX_BUFFER + 2];
	struct xvbuf out;
	struct xvp_msg m;
	static const uint16_t kinds[][2] = {
	    {XVP_V2, XVP_QUERY},    {XVP_V2, XVP_RESPONSE},    {XVP_V4, XVP_QUERY},
	    {XVP_V4, XVP_RESPONSE}, {XVP_XV, XVP_XV_HELLO},    {XVP_XV, XVP_XV_HELLO_ACK},
	    {XVP_XV, XVP_XV_QUERY}, {XVP_XV, XVP_XV_RESPONSE}, {XVP_XV, XVP_XV_CANCEL},
	    {XVP_XV, XVP_XV_PING},  {XVP_XV, XVP_XV_PONG},     {XVP_XV, XVP_XV_ERROR},
	};

	memset(big, 'b', sizeof big);
	assert_int_equal(xvbuf_init(&out, XVP_MAX_FRAME), 0);
	for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
		int max = xvp_max_text(kinds[k][0], kinds[k][1]);
		assert_true(max >= 0);
		if (kinds[k][1] == XVP_XV_HELLO && kinds[k][0] == XVP_XV)
			m = hello();
		else if (kinds[k][1] == XVP_XV_HELLO_ACK && kinds[k][0] == XVP_XV)
			m = hello_ack();
		else
			m = xvmsg(kinds[k][1], 1, NULL);
		m.version = kinds[k][0];
		m.text = big;
		m.text_len = (size_t)max;
		xvbuf_reset(&out);
		int n = xvp_encode(&out, &m);
		assert_true(n > 0);
		assert_true((size_t)n <= XVP_MAX_FRAME);
		m.text_len = (size_t)max + 1;
		xvbuf_put_u8(&out, 0xee);
		size_t before = xvbuf_len(&out);
		assert_int_equal(xvp_encode(&out, &m), XV_E2BIG);
		assert_int_equal(xvbuf_len(&out), before);
	}
	assert_int_equal(xvp_max_text(XVP_V2, XVP_QUERY), XVP_V2_MAX_TEXT);
	assert_int_equal(xvp_max_text(XVP_V4, XVP_RESPONSE), XVP_MAX_BUFFER - 1);
	assert_int_equal(xvp_max_text(XVP_XV, XVP_XV_RESPONSE), XVP_MAX_BUFFER - 5);
	assert_int_equal(xvp_max_text(XVP_XV, XVP_XV_HELLO), XVP_XV_MAX_SOFTWARE);
	assert_int_equal(xvp_max_text(XVP_XV, XVP_XV_PING), 0);
	assert_int_equal(xvp_max_text(XVP_V3, XVP_QUERY), XV_EINVAL);
	assert_int_equal(xvp_max_text(XVP_V4, 3), XV_EINVAL);
	assert_int_equal(xvp_max_text(XVP_XV, 9), XV_EINVAL);
	assert_int_equal(xvp_max_text(XVP_XV, 0), XV_EINVAL);
	xvbuf_free(&out);
}

static void test_encode_invalid(void **state)
{
	struct xvbuf out;
	struct xvp_msg m;

	assert_int_equal(xvbuf_init(&out, XVP_MAX_FRAME), 0);
	assert_int_equal(xvbuf_put(&out, "keep", 4), 0);
#define EXPECT_EINVAL()                                                                            \
	do {                                                                                       \
		assert_int_equal(xvp_encode(&out, &m), XV_EINVAL);                                 \
		assert_int_equal(xvbuf_len(&out), 4);                                              \
	} while (0)
	m = msg(XVP_V3, XVP_QUERY, 0, "x");
	EXPECT_EINVAL();
	m = msg(XVP_V4, 0, 0, "x");
	EXPECT_EINVAL();
	m = msg(XVP_XV, 9, 0, "x");
	EXPECT_EINVAL();
	m = msg(XVP_V4, XVP_QUERY, 0, NULL);
	m.text_len = 1;
	EXPECT_EINVAL();
	m = msg(XVP_V4, XVP_QUERY, 0, "a\0b");
	m.text_len = 3;
	EXPECT_EINVAL();
	m = xvmsg(XVP_XV_QUERY, 0, "x");
	EXPECT_EINVAL();
	m = xvmsg(XVP_XV_CANCEL, 0, NULL);
	EXPECT_EINVAL();
	m = xvmsg(XVP_XV_RESPONSE, 0, "x");
	EXPECT_EINVAL();
	m = xvmsg(XVP_XV_RESPONSE, 1, "x");
	m.result = 4;
	EXPECT_EINVAL();
	m.result = -1;
	EXPECT_EINVAL();
	m = hello();
	m.proto_min = 0;
	EXPECT_EINVAL();
	m = hello();
	m.proto_min = 2;
	EXPECT_EINVAL();
	m = hello();
	m.max_inflight = 0;
	EXPECT_EINVAL();
	m = hello();
	m.max_response = XVP_XV_MIN_BUFFER_LIMIT - 1;
	EXPECT_EINVAL();
	m = hello();
	m.max_response = XVP_MAX_BUFFER + 1;
	EXPECT_EINVAL();
	m = hello_ack();
	m.proto = 0;
	EXPECT_EINVAL();
	m = hello_ack();
	m.max_request = 0;
	EXPECT_EINVAL();
	m = hello_ack();
	m.max_inflight = 0;
	EXPECT_EINVAL();
#undef EXPECT_EINVAL

	/* result in XV packets other than RESPONSE is not sent */
	struct xvp_msg d;
	m = xvmsg(XVP_XV_QUERY, 3, "x");
	m.result = 2;
	xvbuf_reset(&out);
	int n = xvp_encode(&out, &m);
	assert_true(n > 0);
	assert_int_equal(xvp_decode(xvbuf_ptr(&out), (size_t)n, &d), n);
	assert_int_equal(d.result, 0);
	xvbuf_free(&out);
}

static void test_encode_nospace(void **state)
{
	struct xvbuf out;
	struct xvp_msg m = msg(XVP_V2, XVP_QUERY, 0, "x"), v4 = msg(XVP_V4, XVP_RESPONSE, 0, "ab");
	uint8_t bytes[4] = {1, 2, 3, 4};

	assert_int_equal(xvbuf_init(&out, XVP_V2_PACKET_SIZE + 2), 0);
	assert_int_equal(xvbuf_put_u16(&out, 0xabcd), 0);
	assert_int_equal(xvp_encode(&out, &m), XVP_V2_PACKET_SIZE); /* exactly max */
	assert_int_equal(xvbuf_avail(&out), 0);
	assert_int_equal(xvbuf_consume(&out, 2), 0);
	assert_int_equal(xvp_encode(&out, &v4), XV_ENOSPC);
	assert_int_equal(xvbuf_len(&out), XVP_V2_PACKET_SIZE);
	xvbuf_free(&out);

	assert_int_equal(xvbuf_init(&out, 18), 0);
	assert_int_equal(xvp_encode(&out, &v4), XV_ENOSPC); /* needs 19 */
	assert_int_equal(xvbuf_len(&out), 0);
	xvbuf_free(&out);

	struct xvbuf view;
	xvbuf_view(&view, bytes, sizeof bytes);
	assert_int_equal(xvp_encode(&view, &v4), XV_ENOSPC);
	assert_int_equal(xvbuf_len(&view), 4);
}

/* ------------------------------------------------------------ helpers */

static void test_kind_names(void **state)
{
	assert_string_equal(xvp_kind_name(XVP_V2, XVP_QUERY), "v2 QUERY");
	assert_string_equal(xvp_kind_name(XVP_V4, XVP_RESPONSE), "v4 RESPONSE");
	assert_string_equal(xvp_kind_name(XVP_XV, XVP_XV_HELLO), "XV HELLO");
	assert_string_equal(xvp_kind_name(XVP_XV, XVP_XV_HELLO_ACK), "XV HELLO_ACK");
	assert_string_equal(xvp_kind_name(XVP_XV, XVP_XV_ERROR), "XV ERROR");
	assert_string_equal(xvp_kind_name(XVP_XV, 0), "unknown");
	assert_string_equal(xvp_kind_name(XVP_XV, 9), "unknown");
	assert_string_equal(xvp_kind_name(XVP_V3, XVP_QUERY), "unknown");
	assert_string_equal(xvp_kind_name(XVP_V4, 0), "unknown");
}

static void test_negotiate(void **state)
{
	assert_int_equal(xvp_negotiate(1, 1, XVP_PROTO_MIN, XVP_PROTO_MAX), 1);
	assert_int_equal(xvp_negotiate(1, 5, 1, 3), 3);
	assert_int_equal(xvp_negotiate(2, 5, 1, 9), 5);
	assert_int_equal(xvp_negotiate(3, 3, 1, 3), 3);
	assert_int_equal(xvp_negotiate(4, 5, 1, 3), XV_ENEGOTIATE);
	assert_int_equal(xvp_negotiate(1, 2, 3, 3), XV_ENEGOTIATE);
	assert_int_equal(xvp_negotiate(2, 1, 1, 3), XV_ENEGOTIATE);
	assert_int_equal(xvp_negotiate(1, 3, 3, 2), XV_ENEGOTIATE);
	assert_int_equal(xvp_negotiate(0, 0, 0, 1), XV_ENEGOTIATE);
	assert_int_equal(xvp_negotiate(0, 3, 1, 3), XV_ENEGOTIATE);
	assert_int_equal(xvp_negotiate(1, 65535, 1, 65535), 65535);
	assert_int_equal(xvp_negotiate(1, UINT_MAX, 1, UINT_MAX), XV_ENEGOTIATE);
}

/* ------------------------------------------------------------ PROTOCOL.md */

struct example {
	char name[64];
	struct xvp_msg m;
	char text[512];
	uint8_t *bytes;
	size_t len;
};

/* "key=value" pairs of a ```hex fence line; value may be "quoted" with \\,
 * \" and \n escapes.  Unknown keys fail the test. */
static void parse_fence(const char *line, struct example *ex)
{
	const char *p = line;

	memset(&ex->m, 0, sizeof ex->m);
	ex->name[0] = '\0';
	for (;;) {
		char key[32], val[512];
		size_t k = 0, v = 0;
		while (*p == ' ')
			p++;
		if (*p == '\0' || *p == '\n')
			break;
		while (*p != '=' && *p != '\0' && *p != '\n' && k < sizeof key - 1)
			key[k++] = *p++;
		key[k] = '\0';
		if (*p++ != '=')
			fail_msg("PROTOCOL.md: bad fence attribute near '%s'", key);
		if (*p == '"') {
			p++;
			while (*p != '"') {
				if (*p == '\0' || *p == '\n' || v >= sizeof val - 1)
					fail_msg("PROTOCOL.md: unterminated quote in %s", key);
				if (*p == '\\') {
					p++;
					val[v++] = *p == 'n' ? '\n' : *p;
					p++;
				} else {
					val[v++] = *p++;
				}
			}
			p++;
		} else {
			while (*p != ' ' && *p != '\0' && *p != '\n' && v < sizeof val - 1)
				val[v++] = *p++;
		}
		val[v] = '\0';
		unsigned long n = strtoul(val, NULL, 0);
		if (strcmp(key, "name") == 0) {
			if (v >= sizeof ex->name)
				fail_msg("PROTOCOL.md: example name too long");
			memcpy(ex->name, val, v + 1);
		} else if (strcmp(key, "text") == 0) {
			memcpy(ex->text, val, v + 1);
			ex->m.text = ex->text;
			ex->m.text_len = v;
		} else if (strcmp(key, "version") == 0)
			ex->m.version = (uint16_t)n;
		else if (strcmp(key, "type") == 0)
			ex->m.type = (uint16_t)n;
		else if (strcmp(key, "result") == 0)
			ex->m.result = (int16_t)strtol(val, NULL, 0);
		else if (strcmp(key, "id") == 0)
			ex->m.id = (uint32_t)n;
		else if (strcmp(key, "proto_min") == 0)
			ex->m.proto_min = (uint16_t)n;
		else if (strcmp(key, "proto_max") == 0)
			ex->m.proto_max = (uint16_t)n;
		else if (strcmp(key, "proto") == 0)
			ex->m.proto = (uint16_t)n;
		else if (strcmp(key, "max_inflight") == 0)
			ex->m.max_inflight = (uint32_t)n;
		else if (strcmp(key, "max_response") == 0)
			ex->m.max_response = (uint32_t)n;
		else if (strcmp(key, "max_request") == 0)
			ex->m.max_request = (uint32_t)n;
		else
			fail_msg("PROTOCOL.md: unknown fence attribute '%s'", key);
	}
	if (ex->name[0] == '\0')
		fail_msg("PROTOCOL.md: hex block without name=");
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* One body line of a hex block: groups of hex digit pairs, "XX*N" for N
 * copies of byte XX, "#" starts a comment. */
static void parse_hex_line(const char *line, struct example *ex)
{
	const char *p = line;

	while (*p != '\0' && *p != '\n' && *p != '#') {
		if (*p == ' ' || *p == '\t') {
			p++;
			continue;
		}
		int hi = hexval(p[0]), lo = hexval(p[1]);
		if (hi < 0 || lo < 0)
			fail_msg("PROTOCOL.md %s: bad hex near '%.10s'", ex->name, p);
		uint8_t byte = (uint8_t)(hi << 4 | lo);
		p += 2;
		size_t count = 1;
		if (*p == '*') {
			char *end;
			count = strtoul(p + 1, &end, 10);
			if (end == p + 1 || count > TEST_MAX_EXAMPLE)
				fail_msg("PROTOCOL.md %s: bad repeat count", ex->name);
			p = end;
		}
		if (count > TEST_MAX_EXAMPLE - ex->len)
			fail_msg("PROTOCOL.md %s: example too long", ex->name);
		memset(ex->bytes + ex->len, byte, count);
		ex->len += count;
	}
}

static void check_example(struct example *ex)
{
	struct xvp_msg d;
	struct xvbuf out;
	int n;

	n = xvp_decode(ex->bytes, ex->len, &d);
	if (n != (int)ex->len)
		fail_msg("PROTOCOL.md %s: decode gives %d (%s: %s) for %zu bytes", ex->name, n,
			 xv_strerror(n), d.why, ex->len);
	if (!msg_equal(&d, &ex->m))
		fail_msg("PROTOCOL.md %s: decoded fields differ from the documented ones",
			 ex->name);
	assert_int_equal(xvbuf_init(&out, XVP_MAX_FRAME), 0);
	n = xvp_encode(&out, &ex->m);
	if (n != (int)ex->len)
		fail_msg("PROTOCOL.md %s: encode gives %d, documented %zu bytes", ex->name, n,
			 ex->len);
	for (size_t i = 0; i < ex->len; i++)
		if (xvbuf_ptr(&out)[i] != ex->bytes[i])
			fail_msg("PROTOCOL.md %s: byte %zu documented %02x, encoder writes %02x",
				 ex->name, i, ex->bytes[i], xvbuf_ptr(&out)[i]);
	xvbuf_free(&out);
}

static void test_protocol_md_examples(void **state)
{
	static const char *const required[] = {
	    "v4-query",	   "v4-response", "v2-response", "xv-hello", "xv-hello-ack", "xv-query",
	    "xv-response", "xv-cancel",	  "xv-ping",	 "xv-pong",  "xv-error",
	};
	char seen[32][64];
	size_t nseen = 0, len;
	uint8_t *doc = load("proto/PROTOCOL.md", &len);
	char *text = malloc(len + 1);
	struct example ex;
	char *line, *save = NULL;
	int in_block = 0;

	assert_non_null(text);
	memcpy(text, doc, len);
	text[len] = '\0';
	free(doc);
	ex.bytes = malloc(TEST_MAX_EXAMPLE);
	assert_non_null(ex.bytes);
	for (line = strtok_r(text, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
		if (!in_block) {
			if (strncmp(line, "```hex", 6) == 0) {
				parse_fence(line + 6, &ex);
				ex.len = 0;
				in_block = 1;
			}
			continue;
		}
		if (strncmp(line, "```", 3) == 0) {
			check_example(&ex);
			for (size_t i = 0; i < nseen; i++)
				if (strcmp(seen[i], ex.name) == 0)
					fail_msg("PROTOCOL.md: two examples named %s", ex.name);
			assert_true(nseen < sizeof seen / sizeof seen[0]);
			snprintf(seen[nseen++], sizeof seen[0], "%s", ex.name);
			in_block = 0;
			continue;
		}
		parse_hex_line(line, &ex);
	}
	assert_false(in_block);
	for (size_t r = 0; r < sizeof required / sizeof required[0]; r++) {
		size_t i;
		for (i = 0; i < nseen; i++)
			if (strcmp(seen[i], required[r]) == 0)
				break;
		if (i == nseen)
			fail_msg("PROTOCOL.md: no hex example named %s", required[r]);
	}
	free(ex.bytes);
	free(text);
}

static size_t vtext(char *dst, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static size_t vtext(char *dst, size_t size, const char *fmt, ...)
{
	va_list ap;
	size_t n;

	va_start(ap, fmt);
	n = xvp_vtext(dst, size, fmt, ap);
	va_end(ap);
	return n;
}

/* an answer's text is cut to the buffer and its length is what was kept */
static void test_vtext(void **state)
{
	char b[8];

	(void)state;
	assert_int_equal(vtext(b, sizeof b, "%s %d", "ab", 12), 5);
	assert_string_equal(b, "ab 12");
	assert_int_equal(vtext(b, sizeof b, "%s", "1234567"), 7);
	assert_string_equal(b, "1234567");
	assert_int_equal(vtext(b, sizeof b, "%s!", "1234567"), 7);
	assert_string_equal(b, "1234567");
	assert_int_equal(vtext(b, 1, "%s", "x"), 0);
	assert_string_equal(b, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_fixtures_decode),  cmocka_unit_test(test_fixtures_encode),
	    cmocka_unit_test(test_round_trip_nrpe),  cmocka_unit_test(test_round_trip_xv),
	    cmocka_unit_test(test_reject_version),   cmocka_unit_test(test_reject_type),
	    cmocka_unit_test(test_reject_crc),	     cmocka_unit_test(test_reject_length),
	    cmocka_unit_test(test_reject_alignment), cmocka_unit_test(test_reject_unterminated),
	    cmocka_unit_test(test_reject_xv_result), cmocka_unit_test(test_reject_xv_fields),
	    cmocka_unit_test(test_reject_order),     cmocka_unit_test(test_frame_need),
	    cmocka_unit_test(test_stream_splits),    cmocka_unit_test(test_back_to_back),
	    cmocka_unit_test(test_encode_limits),    cmocka_unit_test(test_encode_invalid),
	    cmocka_unit_test(test_encode_nospace),   cmocka_unit_test(test_kind_names),
	    cmocka_unit_test(test_negotiate), cmocka_unit_test(test_vtext),	     cmocka_unit_test(test_protocol_md_examples),
	};
	return cmocka_run_group_tests_name("xvp", tests, NULL, NULL);
}
