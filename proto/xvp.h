/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * xvp.h - the one packet codec of the project: NRPE v2 and v4 packets and
 * the xenvchan multiplexing extension ("XV" packets).  proto/PROTOCOL.md is
 * the wire specification; this header is its C face.
 *
 * Every packet starts with the same 10 bytes, big-endian:
 *   int16 version, int16 type, uint32 crc32, int16 result_code
 * v2:  + char buffer[1024] + 2 padding bytes        = always 1036 bytes
 * v4, XV: + int16 alignment (0) + int32 buffer_length + buffer
 *                                                   = 16 + buffer_length
 * CRC-32 is zlib's crc32() over the whole packet with the crc field zero.
 *
 * Extension packets (version XVP_XV) carry a binary payload in the buffer;
 * per type (all integers big-endian, "text" = bytes + one NUL that is the
 * last byte of the buffer, no other NUL):
 *   HELLO      u16 proto_min, u16 proto_max, u32 max_inflight,
 *              u32 max_response, text software id        (client -> server)
 *   HELLO_ACK  u16 proto, u16 reserved (0), u32 max_inflight,
 *              u32 max_request, text software id         (server -> client)
 *   QUERY      u32 id, text "COMMAND[!arg...]"
 *   RESPONSE   u32 id, text output; result_code 0..3
 *   CANCEL     u32 id                    (buffer_length exactly 4)
 *   PING/PONG  u32 nonce                 (buffer_length exactly 4)
 *   ERROR      u32 id (0: connection-level), text reason
 * result_code is 0 in every extension packet except RESPONSE.  Request ids
 * are never 0.
 *
 * Decoding is two-phase: xvp_frame() validates the header as soon as its
 * bytes arrive and says how long the frame is; xvp_decode() then checks
 * the CRC and the body.  No struct is ever laid over received bytes.
 */
#ifndef XVP_H
#define XVP_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "xvbuf.h"

/* packet versions (the int16 version field) */
#define XVP_V2 2
#define XVP_V3 3 /* recognised only to be rejected with XV_EV3 */
#define XVP_V4 4
#define XVP_XV 0x5856 /* "XV": the multiplexing extension */

/* NRPE packet types (v2, v4) */
#define XVP_QUERY 1
#define XVP_RESPONSE 2

/* extension packet types (version XVP_XV) */
#define XVP_XV_HELLO 1
#define XVP_XV_HELLO_ACK 2
#define XVP_XV_QUERY 3
#define XVP_XV_RESPONSE 4
#define XVP_XV_CANCEL 5
#define XVP_XV_PING 6
#define XVP_XV_PONG 7
#define XVP_XV_ERROR 8

/* sizes and limits */
#define XVP_COMMON_SIZE 10	/* version, type, crc32, result_code */
#define XVP_CRC_OFFSET 4	/* where the crc32 field lies */
#define XVP_V2_PACKET_SIZE 1036 /* every v2 packet */
#define XVP_V2_BUFFER_SIZE 1024 /* v2 buffer, at offset XVP_COMMON_SIZE */
#define XVP_V2_MAX_TEXT 1023	/* v2 text without its NUL */
#define XVP_HEADER_SIZE 16	/* v4 and extension header */
#define XVP_MAX_BUFFER 65536	/* largest buffer_length accepted or sent */
#define XVP_MAX_FRAME (XVP_HEADER_SIZE + XVP_MAX_BUFFER)
#define XVP_V4_QUERY_PAD 1020	/* v4 query buffer_length padded up to this */
#define XVP_XV_ID_SIZE 4	/* u32 id / nonce at the start of a payload */
#define XVP_XV_HELLO_SIZE 12	/* fixed fields of HELLO and HELLO_ACK */
#define XVP_XV_MAX_SOFTWARE 255 /* longest software id in HELLO/HELLO_ACK */
/* lowest max_request / max_response: an id and an empty text */
#define XVP_XV_MIN_BUFFER_LIMIT (XVP_XV_ID_SIZE + 1)
/* PONGs a receiver lets wait unsent (queued since its output was last all
 * sent); a PING beyond them is a session violation (PROTOCOL.md 5.4 rule 7) */
#define XVP_XV_PONG_MAX 16

/*
 * The four Nagios plugin states, named once for the whole project: the
 * result codes allowed in an extension RESPONSE and an NRPE answer, and the
 * exit status of every plugin and probe here.  XVP_RESULT_NAMES is an
 * initialiser for a table indexed by state (a header-only fact, so a probe
 * that links nothing can use it).
 */
#define XVP_RESULT_OK 0
#define XVP_RESULT_WARNING 1
#define XVP_RESULT_CRITICAL 2
#define XVP_RESULT_UNKNOWN 3
/* clang-format off */
#define XVP_RESULT_NAMES {"OK", "WARNING", "CRITICAL", "UNKNOWN"}
/* clang-format on */

/* extension protocol versions this code speaks (negotiated by HELLO) */
#define XVP_PROTO_MIN 1
#define XVP_PROTO_MAX 1

/*
 * One decoded (or to-be-encoded) packet.  Which fields mean something
 * depends on version and type; the others are 0 after decoding and ignored
 * by encoding.
 */
struct xvp_msg {
	uint16_t version; /* XVP_V2, XVP_V4 or XVP_XV */
	uint16_t type;	  /* XVP_QUERY/XVP_RESPONSE, or XVP_XV_* for XVP_XV */
	/* result_code: any value in v2/v4 (random in v2 queries from
	 * check_nrpe), 0..3 in XV RESPONSE, 0 in other XV packets */
	int16_t result;
	/* XV QUERY, RESPONSE, CANCEL, ERROR: request id; PING, PONG: nonce */
	uint32_t id;
	uint16_t proto_min;    /* XV HELLO */
	uint16_t proto_max;    /* XV HELLO */
	uint16_t proto;	       /* XV HELLO_ACK: the chosen version */
	uint32_t max_inflight; /* XV HELLO, HELLO_ACK */
	uint32_t max_response; /* XV HELLO: largest response buffer_length */
	uint32_t max_request;  /* XV HELLO_ACK: largest query buffer_length */
	/* Text without its NUL.  After decoding it points into the frame (a
	 * NUL follows it there, so it is also a C string) and lives as long
	 * as the frame's bytes.  For encoding, text_len bytes are read and
	 * must not contain a NUL; text may be NULL if text_len is 0. */
	const char *text;
	size_t text_len;
	/* Set by xvp_decode(): "" on success, else which check failed (a
	 * static string for logs).  Never NULL after a call. */
	const char *why;
};

/*
 * Find the frame at the start of the len bytes at untrusted (a stream
 * buffer: len may be short of, equal to or beyond the frame).  Validates
 * each header field as soon as its bytes are present, in wire order:
 * version, type, (XV: result_code), alignment, buffer_length bounds for the
 * version and type.  The result for a given byte sequence is therefore the
 * same however it was split.  The CRC and the body are not looked at.
 * Returns
 *   > 0        the total size of the frame, all of it present (len >= it)
 *   XV_EAGAIN  incomplete: *need is the total number of bytes the frame is
 *              known to need so far (16 until the length is known, then the
 *              whole frame; 1036 for v2 as soon as the version is in); a
 *              caller with a tighter limit than XVP_MAX_FRAME can compare
 *              *need with it before reading on
 *   < 0        the header is invalid: XV_EVERSION, XV_EV3, XV_ETYPE,
 *              XV_EPAYLOAD (XV result_code), XV_EALIGN, XV_ELENGTH.
 * need may be NULL.  xvp_decode() on the same bytes gives the same error
 * and says in m->why which check failed.
 */
int xvp_frame(const uint8_t *untrusted, size_t len, size_t *need);

/*
 * Decode the frame at the start of the len bytes at untrusted (bytes after
 * it are ignored) into *m.  Runs xvp_frame(), then checks the CRC, the
 * text termination and, for extension packets, the payload size and values.
 * m->text points into untrusted.
 * Returns the frame size (> 0) on success.  On failure returns one of
 *   XV_EAGAIN   the frame is not complete yet
 *   the header errors of xvp_frame() (XV_ELENGTH includes an extension
 *               buffer_length outside the bounds of its type)
 *   XV_ECRC     CRC-32 mismatch
 *   XV_ENOTERM  v2/v4: no NUL in the buffer; XV: last buffer byte not NUL
 *   XV_EPAYLOAD XV: a NUL inside the text, request id 0, hello fields out
 *               of range, reserved field not 0
 * and *m is zeroed except m->why.
 */
int xvp_decode(const uint8_t *untrusted, size_t len, struct xvp_msg *m);

/*
 * Append one frame for *m to out (fields that do not belong to the packet
 * kind are ignored, and so is result in extension packets other than
 * RESPONSE, which are sent with 0).  v2: 1036 bytes,
 * unused buffer bytes and padding zero.  v4 RESPONSE: buffer_length =
 * text_len + 1.  v4 QUERY: buffer_length = max(text_len + 1,
 * XVP_V4_QUERY_PAD), zero padding, as check_nrpe does.  XV: exact payload.
 * Returns the number of bytes appended (> 0), or
 *   XV_E2BIG    text_len > xvp_max_text(version, type)
 *   XV_EINVAL   anything xvp_decode() would reject: unknown version/type,
 *               NUL inside the text, NULL text with text_len > 0, XV fields
 *               out of range (see xvp_decode)
 *   XV_ENOSPC, XV_ENOMEM from out
 * On failure out is unchanged.
 */
int xvp_encode(struct xvbuf *out, const struct xvp_msg *m);

/* Longest text (without NUL) that xvp_encode() accepts for the packet kind;
 * 0 for extension kinds without text (CANCEL, PING, PONG).  XV_EINVAL for an
 * unknown version/type.  Callers truncate output to this. */
int xvp_max_text(uint16_t version, uint16_t type);

/* Static name of a packet kind for logs: "v2 QUERY", "v4 RESPONSE",
 * "XV HELLO", ...; "unknown" for anything else. */
const char *xvp_kind_name(uint16_t version, uint16_t type);

/* Hello negotiation: the highest version inside both [peer_min, peer_max]
 * and [our_min, our_max] (> 0), or XV_ENEGOTIATE if the ranges do not meet
 * or either is empty (min > max) or starts at 0. */
int xvp_negotiate(unsigned peer_min, unsigned peer_max, unsigned our_min, unsigned our_max);

/* An answer's text: vsnprintf into DST (SIZE > 0), cut to fit.  Returns
 * its length (at most SIZE - 1; 0 if formatting failed, DST then ""). */
size_t xvp_vtext(char *dst, size_t size, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

#endif
