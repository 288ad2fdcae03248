/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * xvp.c - NRPE v2/v4 and extension packet codec.  See xvp.h and
 * PROTOCOL.md.
 *
 * Every field of a received packet is read through an xvbuf view into an
 * untrusted_* variable, checked in xvp_check_header() or
 * xvp_decode_payload(), and only then stored in the caller's xvp_msg.
 */
#include <stdio.h>
#include <string.h>
#include <zlib.h>

#include "xverr.h"
#include "xvbuf.h"
#include "xvp.h"

/* header field offsets (wire order) */
#define XVP_OFF_VERSION 0
#define XVP_OFF_TYPE 2
#define XVP_OFF_RESULT 8
#define XVP_OFF_ALIGN 10
#define XVP_OFF_LENGTH 12
#define XVP_V2_OFF_PADDING (XVP_COMMON_SIZE + XVP_V2_BUFFER_SIZE)
#define XVP_V2_PADDING_SIZE (XVP_V2_PACKET_SIZE - XVP_V2_OFF_PADDING)

static int xvp_is_xv_type(uint16_t type)
{
	return type >= XVP_XV_HELLO && type <= XVP_XV_ERROR;
}

static int xvp_is_nrpe_type(uint16_t type)
{
	return type == XVP_QUERY || type == XVP_RESPONSE;
}

/* Smallest and largest buffer_length of each extension type; the payload
 * parser relies on these bounds. */
static void xvp_xv_buffer_bounds(uint16_t type, size_t *min, size_t *max)
{
	switch (type) {
	case XVP_XV_HELLO:
	case XVP_XV_HELLO_ACK:
		*min = XVP_XV_HELLO_SIZE + 1;
		*max = XVP_XV_HELLO_SIZE + XVP_XV_MAX_SOFTWARE + 1;
		return;
	case XVP_XV_CANCEL:
	case XVP_XV_PING:
	case XVP_XV_PONG:
		*min = XVP_XV_ID_SIZE;
		*max = XVP_XV_ID_SIZE;
		return;
	default: /* QUERY, RESPONSE, ERROR: id + text */
		*min = XVP_XV_ID_SIZE + 1;
		*max = XVP_MAX_BUFFER;
		return;
	}
}

static int xvp_xv_has_text(uint16_t type)
{
	return type != XVP_XV_CANCEL && type != XVP_XV_PING && type != XVP_XV_PONG;
}

static int xvp_xv_result_ok(uint16_t type, int result)
{
	if (type == XVP_XV_RESPONSE)
		return result >= XVP_RESULT_OK && result <= XVP_RESULT_UNKNOWN;
	return result == 0;
}

/*
 * Header validation shared by xvp_frame() and xvp_decode().  Each field is
 * checked as soon as its bytes are present, in wire order, so a byte
 * sequence gets the same verdict however a stream split it.
 */
static int xvp_check_header(const uint8_t *untrusted, size_t len, size_t *need, const char **why)
{
	struct xvbuf v;
	uint16_t untrusted_version, untrusted_type, untrusted_result, untrusted_align;
	uint32_t untrusted_length;
	size_t min, max;

	*need = XVP_HEADER_SIZE;
	*why = "incomplete";
	xvbuf_view(&v, untrusted, len);

	if (xvbuf_peek_u16(&v, XVP_OFF_VERSION, &untrusted_version) < 0)
		return XV_EAGAIN;
	switch (untrusted_version) {
	case XVP_V2:
		*need = XVP_V2_PACKET_SIZE;
		break;
	case XVP_V4:
	case XVP_XV:
		break;
	case XVP_V3:
		*why = "NRPE v3 packet";
		return XV_EV3;
	default:
		*why = "unknown packet version";
		return XV_EVERSION;
	}

	if (xvbuf_peek_u16(&v, XVP_OFF_TYPE, &untrusted_type) < 0)
		return XV_EAGAIN;
	if (untrusted_version == XVP_XV ? !xvp_is_xv_type(untrusted_type)
					: !xvp_is_nrpe_type(untrusted_type)) {
		*why = "unknown packet type for the version";
		return XV_ETYPE;
	}

	if (untrusted_version == XVP_V2) {
		if (len < XVP_V2_PACKET_SIZE)
			return XV_EAGAIN;
		*why = "";
		return XVP_V2_PACKET_SIZE;
	}

	if (untrusted_version == XVP_XV) {
		if (xvbuf_peek_u16(&v, XVP_OFF_RESULT, &untrusted_result) < 0)
			return XV_EAGAIN;
		if (!xvp_xv_result_ok(untrusted_type, (int16_t)untrusted_result)) {
			*why = untrusted_type == XVP_XV_RESPONSE
				   ? "extension RESPONSE result_code not 0..3"
				   : "extension result_code not 0";
			return XV_EPAYLOAD;
		}
	}

	if (xvbuf_peek_u16(&v, XVP_OFF_ALIGN, &untrusted_align) < 0)
		return XV_EAGAIN;
	if (untrusted_align != 0) {
		*why = "alignment field not 0";
		return XV_EALIGN;
	}

	if (xvbuf_peek_u32(&v, XVP_OFF_LENGTH, &untrusted_length) < 0)
		return XV_EAGAIN;
	if (untrusted_length > INT32_MAX) {
		*why = "buffer_length negative";
		return XV_ELENGTH;
	}
	if (untrusted_length > XVP_MAX_BUFFER) {
		*why = "buffer_length above 65536";
		return XV_ELENGTH;
	}
	if (untrusted_version == XVP_XV) {
		xvp_xv_buffer_bounds(untrusted_type, &min, &max);
		if (untrusted_length < min) {
			*why = "buffer_length too small for the extension payload";
			return XV_ELENGTH;
		}
		if (untrusted_length > max) {
			*why = "buffer_length too large for the extension payload";
			return XV_ELENGTH;
		}
	}

	*need = XVP_HEADER_SIZE + (size_t)untrusted_length;
	if (len < *need)
		return XV_EAGAIN;
	*why = "";
	return (int)*need;
}

int xvp_frame(const uint8_t *untrusted, size_t len, size_t *need)
{
	size_t n;
	const char *why;
	int r;

	r = xvp_check_header(untrusted, len, &n, &why);
	if (need != NULL)
		*need = n;
	return r;
}

/* CRC-32 of the frame with its crc field taken as zero. */
static uint32_t xvp_crc(const uint8_t *p, size_t len)
{
	static const uint8_t zero[4];
	uLong crc;

	crc = crc32(0L, p, XVP_CRC_OFFSET);
	crc = crc32(crc, zero, sizeof zero);
	crc = crc32(crc, p + XVP_CRC_OFFSET + sizeof zero,
		    (uInt)(len - XVP_CRC_OFFSET - sizeof zero));
	return (uint32_t)crc;
}

/* Extension text: the rest of the payload, NUL as its last byte and only
 * there. */
static int xvp_decode_xv_text(struct xvbuf *v, struct xvp_msg *t, const char **why)
{
	const uint8_t *untrusted_text = xvbuf_ptr(v);
	size_t n = xvbuf_len(v);

	/* the buffer bounds guarantee n >= 1 for every type with text */
	if (n == 0 || untrusted_text[n - 1] != 0) {
		*why = "extension text not NUL-terminated at the end of the buffer";
		return XV_ENOTERM;
	}
	if (memchr(untrusted_text, 0, n - 1) != NULL) {
		*why = "NUL inside extension text";
		return XV_EPAYLOAD;
	}
	t->text = (const char *)untrusted_text;
	t->text_len = n - 1;
	return 0;
}

static int xvp_buffer_limit_ok(uint32_t limit)
{
	return limit >= XVP_XV_MIN_BUFFER_LIMIT && limit <= XVP_MAX_BUFFER;
}

static int xvp_decode_xv(const uint8_t *untrusted, size_t len, struct xvp_msg *t, const char **why)
{
	struct xvbuf v;
	uint16_t untrusted_a, untrusted_b;
	uint32_t untrusted_c, untrusted_d;

	/* sizes were checked by xvp_check_header(): the gets cannot fail */
	xvbuf_view(&v, untrusted + XVP_HEADER_SIZE, len - XVP_HEADER_SIZE);
	switch (t->type) {
	case XVP_XV_HELLO:
	case XVP_XV_HELLO_ACK:
		if (xvbuf_get_u16(&v, &untrusted_a) < 0 || xvbuf_get_u16(&v, &untrusted_b) < 0 ||
		    xvbuf_get_u32(&v, &untrusted_c) < 0 || xvbuf_get_u32(&v, &untrusted_d) < 0)
			return XV_ELENGTH;
		if (t->type == XVP_XV_HELLO) {
			if (untrusted_a == 0 || untrusted_a > untrusted_b) {
				*why = "HELLO protocol range empty or starting at 0";
				return XV_EPAYLOAD;
			}
			t->proto_min = untrusted_a;
			t->proto_max = untrusted_b;
		} else {
			if (untrusted_a == 0) {
				*why = "HELLO_ACK protocol 0";
				return XV_EPAYLOAD;
			}
			if (untrusted_b != 0) {
				*why = "HELLO_ACK reserved field not 0";
				return XV_EPAYLOAD;
			}
			t->proto = untrusted_a;
		}
		if (untrusted_c == 0) {
			*why = "hello max_inflight 0";
			return XV_EPAYLOAD;
		}
		if (!xvp_buffer_limit_ok(untrusted_d)) {
			*why = "hello buffer limit not in 5..65536";
			return XV_EPAYLOAD;
		}
		t->max_inflight = untrusted_c;
		if (t->type == XVP_XV_HELLO)
			t->max_response = untrusted_d;
		else
			t->max_request = untrusted_d;
		break;
	default:
		if (xvbuf_get_u32(&v, &untrusted_c) < 0)
			return XV_ELENGTH;
		if (untrusted_c == 0 && (t->type == XVP_XV_QUERY || t->type == XVP_XV_RESPONSE ||
					 t->type == XVP_XV_CANCEL)) {
			*why = "request id 0";
			return XV_EPAYLOAD;
		}
		t->id = untrusted_c;
		break;
	}
	if (!xvp_xv_has_text(t->type))
		return 0;
	return xvp_decode_xv_text(&v, t, why);
}

int xvp_decode(const uint8_t *untrusted, size_t len, struct xvp_msg *m)
{
	struct xvp_msg t;
	struct xvbuf v;
	const uint8_t *untrusted_buffer, *nul;
	const char *why;
	size_t need, buffer_len;
	uint16_t untrusted_version, untrusted_type, untrusted_result;
	uint32_t untrusted_crc;
	int total, r;

	memset(m, 0, sizeof *m);
	memset(&t, 0, sizeof t);
	total = xvp_check_header(untrusted, len, &need, &why);
	if (total < 0) {
		m->why = why;
		return total;
	}

	xvbuf_view(&v, untrusted, (size_t)total);
	if (xvbuf_peek_u32(&v, XVP_CRC_OFFSET, &untrusted_crc) < 0 ||
	    xvbuf_peek_u16(&v, XVP_OFF_VERSION, &untrusted_version) < 0 ||
	    xvbuf_peek_u16(&v, XVP_OFF_TYPE, &untrusted_type) < 0 ||
	    xvbuf_peek_u16(&v, XVP_OFF_RESULT, &untrusted_result) < 0) {
		m->why = "short frame";
		return XV_ELENGTH;
	}
	if (untrusted_crc != xvp_crc(untrusted, (size_t)total)) {
		m->why = "CRC-32 mismatch";
		return XV_ECRC;
	}
	/* the header check accepted these */
	t.version = untrusted_version;
	t.type = untrusted_type;
	t.result = (int16_t)untrusted_result;

	if (t.version == XVP_XV) {
		why = "";
		r = xvp_decode_xv(untrusted, (size_t)total, &t, &why);
		if (r < 0) {
			m->why = why;
			return r;
		}
	} else {
		if (t.version == XVP_V2) {
			untrusted_buffer = untrusted + XVP_COMMON_SIZE;
			buffer_len = XVP_V2_BUFFER_SIZE;
		} else {
			untrusted_buffer = untrusted + XVP_HEADER_SIZE;
			buffer_len = (size_t)total - XVP_HEADER_SIZE;
		}
		/* bytes after the NUL are padding (random from check_nrpe) */
		nul = buffer_len != 0 ? memchr(untrusted_buffer, 0, buffer_len) : NULL;
		if (nul == NULL) {
			m->why = "no NUL in the packet buffer";
			return XV_ENOTERM;
		}
		t.text = (const char *)untrusted_buffer;
		t.text_len = (size_t)(nul - untrusted_buffer);
	}
	t.why = "";
	*m = t;
	return total;
}

int xvp_max_text(uint16_t version, uint16_t type)
{
	switch (version) {
	case XVP_V2:
		return xvp_is_nrpe_type(type) ? XVP_V2_MAX_TEXT : XV_EINVAL;
	case XVP_V4:
		return xvp_is_nrpe_type(type) ? XVP_MAX_BUFFER - 1 : XV_EINVAL;
	case XVP_XV:
		switch (type) {
		case XVP_XV_HELLO:
		case XVP_XV_HELLO_ACK:
			return XVP_XV_MAX_SOFTWARE;
		case XVP_XV_QUERY:
		case XVP_XV_RESPONSE:
		case XVP_XV_ERROR:
			return XVP_MAX_BUFFER - XVP_XV_ID_SIZE - 1;
		case XVP_XV_CANCEL:
		case XVP_XV_PING:
		case XVP_XV_PONG:
			return 0;
		}
		return XV_EINVAL;
	}
	return XV_EINVAL;
}

const char *xvp_kind_name(uint16_t version, uint16_t type)
{
	static const char *const v2[] = {"v2 QUERY", "v2 RESPONSE"};
	static const char *const v4[] = {"v4 QUERY", "v4 RESPONSE"};
	static const char *const xv[] = {"XV HELLO",  "XV HELLO_ACK", "XV QUERY", "XV RESPONSE",
					 "XV CANCEL", "XV PING",      "XV PONG",  "XV ERROR"};

	if (version == XVP_V2 && xvp_is_nrpe_type(type))
		return v2[type - XVP_QUERY];
	if (version == XVP_V4 && xvp_is_nrpe_type(type))
		return v4[type - XVP_QUERY];
	if (version == XVP_XV && xvp_is_xv_type(type))
		return xv[type - XVP_XV_HELLO];
	return "unknown";
}

int xvp_negotiate(unsigned peer_min, unsigned peer_max, unsigned our_min, unsigned our_max)
{
	unsigned hi, lo;

	if (peer_min == 0 || our_min == 0 || peer_min > peer_max || our_min > our_max)
		return XV_ENEGOTIATE;
	hi = peer_max < our_max ? peer_max : our_max;
	lo = peer_min > our_min ? peer_min : our_min;
	if (hi < lo || hi > INT32_MAX)
		return XV_ENEGOTIATE;
	return (int)hi;
}

/* The checks xvp_decode() applies to extension fields, for encoding. */
static int xvp_encode_check_xv(const struct xvp_msg *m)
{
	switch (m->type) {
	case XVP_XV_HELLO:
		if (m->proto_min == 0 || m->proto_min > m->proto_max || m->max_inflight == 0 ||
		    !xvp_buffer_limit_ok(m->max_response))
			return XV_EINVAL;
		return 0;
	case XVP_XV_HELLO_ACK:
		if (m->proto == 0 || m->max_inflight == 0 || !xvp_buffer_limit_ok(m->max_request))
			return XV_EINVAL;
		return 0;
	case XVP_XV_RESPONSE:
		if (!xvp_xv_result_ok(m->type, m->result))
			return XV_EINVAL;
		/* fall through */
	case XVP_XV_QUERY:
	case XVP_XV_CANCEL:
		return m->id == 0 ? XV_EINVAL : 0;
	}
	return 0;
}

/* Buffer length of the frame for *m (text already checked). */
static size_t xvp_encode_buffer_len(const struct xvp_msg *m)
{
	switch (m->version) {
	case XVP_V2:
		return XVP_V2_BUFFER_SIZE;
	case XVP_V4:
		if (m->type == XVP_QUERY && m->text_len < XVP_V4_QUERY_PAD)
			return XVP_V4_QUERY_PAD;
		return m->text_len + 1;
	}
	switch (m->type) {
	case XVP_XV_HELLO:
	case XVP_XV_HELLO_ACK:
		return XVP_XV_HELLO_SIZE + m->text_len + 1;
	case XVP_XV_CANCEL:
	case XVP_XV_PING:
	case XVP_XV_PONG:
		return XVP_XV_ID_SIZE;
	}
	return XVP_XV_ID_SIZE + m->text_len + 1;
}

static int xvp_encode_body(struct xvbuf *out, const struct xvp_msg *m, size_t buffer_len)
{
	int r = 0;
	int has_text = 1;
	size_t used;

	if (m->version == XVP_XV) {
		switch (m->type) {
		case XVP_XV_HELLO:
			if ((r = xvbuf_put_u16(out, m->proto_min)) < 0 ||
			    (r = xvbuf_put_u16(out, m->proto_max)) < 0 ||
			    (r = xvbuf_put_u32(out, m->max_inflight)) < 0 ||
			    (r = xvbuf_put_u32(out, m->max_response)) < 0)
				return r;
			break;
		case XVP_XV_HELLO_ACK:
			if ((r = xvbuf_put_u16(out, m->proto)) < 0 ||
			    (r = xvbuf_put_u16(out, 0)) < 0 ||
			    (r = xvbuf_put_u32(out, m->max_inflight)) < 0 ||
			    (r = xvbuf_put_u32(out, m->max_request)) < 0)
				return r;
			break;
		default:
			if ((r = xvbuf_put_u32(out, m->id)) < 0)
				return r;
			has_text = xvp_xv_has_text(m->type);
			break;
		}
	}
	if (!has_text)
		return 0;
	if ((r = xvbuf_put(out, m->text, m->text_len)) < 0 || (r = xvbuf_put_u8(out, 0)) < 0)
		return r;
	if (m->version == XVP_XV)
		return 0;
	/* v2/v4: zero the rest of the buffer (v4 query padding) */
	used = m->text_len + 1;
	if ((r = xvbuf_put_zero(out, buffer_len - used)) < 0)
		return r;
	if (m->version == XVP_V2)
		r = xvbuf_put_zero(out, XVP_V2_PADDING_SIZE);
	return r;
}

int xvp_encode(struct xvbuf *out, const struct xvp_msg *m)
{
	size_t start, buffer_len, total;
	int16_t result;
	int max, r;

	max = xvp_max_text(m->version, m->type);
	if (max < 0)
		return XV_EINVAL;
	if (m->text == NULL && m->text_len != 0)
		return XV_EINVAL;
	if (m->text_len > (size_t)max)
		return XV_E2BIG;
	if (m->text_len != 0 && memchr(m->text, 0, m->text_len) != NULL)
		return XV_EINVAL;
	result = m->result;
	if (m->version == XVP_XV) {
		if ((r = xvp_encode_check_xv(m)) < 0)
			return r;
		if (m->type != XVP_XV_RESPONSE)
			result = 0;
	}

	buffer_len = xvp_encode_buffer_len(m);
	total = m->version == XVP_V2 ? XVP_V2_PACKET_SIZE : XVP_HEADER_SIZE + buffer_len;
	/* checked up front so that only an allocation failure can leave a
	 * partial frame to remove */
	if (total > xvbuf_avail(out))
		return XV_ENOSPC;

	start = xvbuf_len(out);
	if ((r = xvbuf_put_u16(out, m->version)) < 0 || (r = xvbuf_put_u16(out, m->type)) < 0 ||
	    (r = xvbuf_put_u32(out, 0)) < 0 || (r = xvbuf_put_u16(out, (uint16_t)result)) < 0)
		goto fail;
	if (m->version != XVP_V2) {
		if ((r = xvbuf_put_u16(out, 0)) < 0 ||
		    (r = xvbuf_put_u32(out, (uint32_t)buffer_len)) < 0)
			goto fail;
	}
	if ((r = xvp_encode_body(out, m, buffer_len)) < 0)
		goto fail;
	if (xvbuf_len(out) - start != total) {
		r = XV_EINVAL; /* broken size computation: never send it */
		goto fail;
	}
	r = xvbuf_poke_u32(out, start + XVP_CRC_OFFSET, xvp_crc(xvbuf_ptr(out) + start, total));
	if (r < 0)
		goto fail;
	return (int)total;
fail:
	xvbuf_trim(out, xvbuf_len(out) - start);
	return r;
}

size_t xvp_vtext(char *dst, size_t size, const char *fmt, va_list ap)
{
	int n = vsnprintf(dst, size, fmt, ap);

	if (n < 0) {
		dst[0] = '\0';
		return 0;
	}
	return (size_t)n >= size ? size - 1 : (size_t)n;
}
