/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * hostile-agent - a guest "agent" that breaks the protocol in one chosen
 * way, for tests/bats/hostile.bats (tests/tools/rogue-agent covers a few
 * other ways).  It listens where a real agent would (the channel server of
 * guest DOMID), serves the bridge's connection, misbehaves, then listens
 * again for the next connection.
 *
 *   hostile-agent -C SPEC -d DOMID -m MODE
 *
 * MODE (all but storm, ackclose, badproto and hellotwice answer the HELLO
 * with a valid HELLO_ACK first; "the first query" is the first QUERY of
 * the session):
 *   good        a correct agent: every query answered "OK - hostile-agent good"
 *   badcrc      the answer to the first query with a wrong CRC
 *   badversion  a packet of version 7
 *   v3          an NRPE v3 packet
 *   badtype     an extension packet of type 9
 *   neglen      a RESPONSE header announcing buffer_length -16
 *   hugelen     a RESPONSE header announcing buffer_length 2^31 - 1
 *   hdrsilence  the 16-byte header of the answer to the first query, then silence
 *   slowbyte    the answer to the first query, one byte a second
 *   unsolicited RESPONSEs for ids never asked, as fast as the channel takes them
 *   dupanswer   every query answered twice
 *   wrongid     every query answered with another id
 *   midclose    the first 10 bytes of the answer to the first query, then close
 *   storm       close every connection at once, without a byte
 *   ackclose    HELLO_ACK, then close at once
 *   badproto    HELLO_ACK choosing protocol version 9
 *   hellotwice  two HELLO_ACKs
 *   plainresp   an NRPE v4 RESPONSE inside the extension session
 *   errorzero   ERROR id 0 whose 60000-byte text is control characters and escapes
 *   pingflood   PINGs as fast as the channel takes them, never reading the PONGs
 *
 * Prints "listening" once the first server is up, then "session N" per
 * connection.  Runs until killed.
 */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "chan.h"
#include "xvbuf.h"
#include "xverr.h"
#include "xvp.h"

#define HA_PATH "data/guest/probes/vchan"
#define HA_GOOD_TEXT "OK - hostile-agent good"

static double ha_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void ha_be16(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void ha_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* Waits up to ms for the channel; -1 when the peer left. */
static int ha_wait(struct chan *ch, int ms)
{
	struct pollfd pfd = {.fd = chan_fd(ch), .events = POLLIN};

	poll(&pfd, 1, ms);
	if (chan_wait(ch) < 0)
		return -1;
	return chan_state(ch) == CHAN_CLOSED ? -1 : 0;
}

/* Reads what is there into rx (dropping what does not fit); -1 when the
 * peer left. */
static int ha_read(struct chan *ch, struct xvbuf *rx)
{
	for (;;) {
		uint8_t buf[65536];
		ssize_t n = chan_read(ch, buf, sizeof buf);

		if (n == 0)
			return 0;
		if (n < 0)
			return -1;
		if (rx != NULL && xvbuf_avail(rx) >= (size_t)n)
			xvbuf_put(rx, buf, (size_t)n);
	}
}

/* Writes all of p; -1 when the peer left. */
static int ha_write(struct chan *ch, const void *p, size_t n)
{
	const uint8_t *b = p;

	while (n > 0) {
		ssize_t w = chan_write(ch, b, n);

		if (w < 0)
			return -1;
		if (w == 0) {
			if (ha_wait(ch, 100) < 0 || ha_read(ch, NULL) < 0)
				return -1;
			continue;
		}
		b += w;
		n -= (size_t)w;
	}
	return 0;
}

static int ha_send(struct chan *ch, const struct xvp_msg *m)
{
	struct xvbuf b;
	int r;

	xvbuf_init(&b, XVP_MAX_FRAME);
	r = xvp_encode(&b, m);
	if (r > 0)
		r = ha_write(ch, xvbuf_ptr(&b), xvbuf_len(&b));
	else
		fprintf(stderr, "hostile-agent: cannot encode: %s\n", xv_strerror(r));
	xvbuf_free(&b);
	return r < 0 ? -1 : 0;
}

static int ha_ack(struct chan *ch, unsigned proto)
{
	struct xvp_msg m = {.version = XVP_XV,
			    .type = XVP_XV_HELLO_ACK,
			    .proto = (uint16_t)proto,
			    .max_inflight = 64,
			    .max_request = XVP_MAX_BUFFER,
			    .text = "hostile-agent",
			    .text_len = 13};
	return ha_send(ch, &m);
}

/* The answer to query id as bytes, in out (XVP_MAX_FRAME). */
static size_t ha_answer_bytes(uint32_t id, uint8_t *out)
{
	struct xvp_msg m = {.version = XVP_XV,
			    .type = XVP_XV_RESPONSE,
			    .id = id,
			    .text = HA_GOOD_TEXT,
			    .text_len = sizeof HA_GOOD_TEXT - 1};
	struct xvbuf b;
	size_t n;

	xvbuf_init(&b, XVP_MAX_FRAME);
	xvp_encode(&b, &m);
	n = xvbuf_len(&b);
	memcpy(out, xvbuf_ptr(&b), n);
	xvbuf_free(&b);
	return n;
}

/* A bare header: version, type, buffer_length (CRC over the header only,
 * which is wrong for a frame with a body, but never looked at: the header
 * is refused first). */
static int ha_header(struct chan *ch, unsigned version, unsigned type, uint32_t len)
{
	uint8_t h[XVP_HEADER_SIZE] = {0};

	ha_be16(h, version);
	ha_be16(h + 2, type);
	ha_be32(h + 12, len);
	ha_be32(h + 4, (uint32_t)crc32(0L, h, sizeof h));
	return ha_write(ch, h, sizeof h);
}

/* The next complete QUERY in rx: 1 and its id, 0 if none yet. */
static int ha_next_query(struct xvbuf *rx, uint32_t *id)
{
	for (;;) {
		struct xvp_msg m;
		int r = xvp_decode(xvbuf_ptr(rx), xvbuf_len(rx), &m);

		if (r <= 0)
			return 0;
		xvbuf_consume(rx, (size_t)r);
		if (m.version == XVP_XV && m.type == XVP_XV_QUERY) {
			*id = m.id;
			return 1;
		}
	}
}

/* The modes that act once, when the session starts.  Returns 1 when the
 * session is over (closed), 0 to go on with the query loop. */
static int ha_start(struct chan *ch, const char *mode)
{
	if (!strcmp(mode, "storm"))
		return 1;
	if (!strcmp(mode, "badproto")) {
		ha_ack(ch, 9);
		return 0;
	}
	if (ha_ack(ch, 1) < 0)
		return 1;
	if (!strcmp(mode, "ackclose"))
		return 1;
	if (!strcmp(mode, "hellotwice"))
		ha_ack(ch, 1);
	else if (!strcmp(mode, "badversion"))
		ha_header(ch, 7, 2, 20);
	else if (!strcmp(mode, "v3"))
		ha_header(ch, 3, 2, 20);
	else if (!strcmp(mode, "badtype"))
		ha_header(ch, XVP_XV, 9, 20);
	else if (!strcmp(mode, "neglen"))
		ha_header(ch, XVP_XV, XVP_XV_RESPONSE, 0xfffffff0u);
	else if (!strcmp(mode, "hugelen"))
		ha_header(ch, XVP_XV, XVP_XV_RESPONSE, 0x7fffffffu);
	else if (!strcmp(mode, "plainresp")) {
		struct xvp_msg m = {
		    .version = XVP_V4, .type = XVP_RESPONSE, .text = "OK - plain", .text_len = 10};
		ha_send(ch, &m);
	} else if (!strcmp(mode, "errorzero")) {
		static char text[60001];
		struct xvp_msg m = {.version = XVP_XV, .type = XVP_XV_ERROR, .id = 0};

		for (size_t i = 0; i < sizeof text - 1; i++)
			text[i] = (char)(i % 3 == 0 ? 0x1b : i % 3 == 1 ? '[' : 0x80 + i % 0x7f);
		m.text = text;
		m.text_len = sizeof text - 1;
		ha_send(ch, &m);
	}
	return 0;
}

/* One session; returns when the peer leaves or the mode closes. */
static void ha_serve(struct chan *ch, const char *mode)
{
	struct xvbuf rx;
	uint32_t id, fake = 0x40000000;
	int answered = 0;

	xvbuf_init(&rx, 4 * XVP_MAX_FRAME);
	if (ha_start(ch, mode))
		goto out;
	for (;;) {
		uint8_t frame[XVP_MAX_FRAME];
		size_t n;

		if (!strcmp(mode, "unsolicited") || !strcmp(mode, "pingflood")) {
			struct xvp_msg m = {.version = XVP_XV, .id = fake++};
			if (!strcmp(mode, "pingflood")) {
				m.type = XVP_XV_PING;
			} else {
				m.type = XVP_XV_RESPONSE;
				m.text = "unasked";
				m.text_len = 7;
			}
			/* never read: what the bridge sends back piles up */
			if (ha_send(ch, &m) < 0)
				break;
			continue;
		}
		if (ha_wait(ch, 200) < 0 && chan_state(ch) == CHAN_CLOSED && xvbuf_len(&rx) == 0)
			break;
		if (ha_read(ch, &rx) < 0)
			break;
		while (ha_next_query(&rx, &id)) {
			n = ha_answer_bytes(id, frame);
			if (!strcmp(mode, "good")) {
				if (ha_write(ch, frame, n) < 0)
					goto out;
			} else if (!strcmp(mode, "dupanswer")) {
				if (ha_write(ch, frame, n) < 0 || ha_write(ch, frame, n) < 0)
					goto out;
			} else if (!strcmp(mode, "wrongid")) {
				n = ha_answer_bytes(id ^ 0x5a5a5a5au, frame);
				if (ha_write(ch, frame, n) < 0)
					goto out;
			} else if (answered++ > 0) {
				continue; /* the other modes act on the first query only */
			} else if (!strcmp(mode, "badcrc")) {
				frame[5] ^= 0x01;
				if (ha_write(ch, frame, n) < 0)
					goto out;
			} else if (!strcmp(mode, "hdrsilence")) {
				if (ha_write(ch, frame, XVP_HEADER_SIZE) < 0)
					goto out;
			} else if (!strcmp(mode, "midclose")) {
				ha_write(ch, frame, 10);
				goto out;
			} else if (!strcmp(mode, "slowbyte")) {
				for (size_t i = 0; i < n; i++) {
					double until = ha_now() + 1.0;
					if (ha_write(ch, frame + i, 1) < 0)
						goto out;
					while (ha_now() < until)
						if (ha_wait(ch, 100) < 0 || ha_read(ch, NULL) < 0)
							goto out;
				}
			}
		}
	}
out:
	xvbuf_free(&rx);
}

int main(int argc, char **argv)
{
	const char *spec_text = NULL, *mode = NULL;
	struct chan_spec spec;
	int domid = -1, c, first = 1;
	unsigned long sessions = 0;

	while ((c = getopt(argc, argv, "C:d:m:")) != -1) {
		switch (c) {
		case 'C':
			spec_text = optarg;
			break;
		case 'd':
			domid = atoi(optarg);
			break;
		case 'm':
			mode = optarg;
			break;
		default:
			return 2;
		}
	}
	if (spec_text == NULL || domid < 1 || mode == NULL ||
	    chan_spec_parse(spec_text, &spec) < 0) {
		fprintf(stderr, "usage: hostile-agent -C SPEC -d DOMID -m MODE\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (;;) {
		int err = 0;
		struct chan *ch = chan_server(&spec, domid, 0, HA_PATH, 0, 0, &err);

		if (ch == NULL) {
			fprintf(stderr, "hostile-agent: cannot listen: %s\n", xv_strerror(err));
			return 1;
		}
		if (first) {
			printf("listening\n");
			first = 0;
		}
		while (chan_state(ch) == CHAN_WAITING)
			ha_wait(ch, 1000);
		printf("session %lu\n", ++sessions);
		if (chan_state(ch) == CHAN_OPEN) {
			/* the HELLO first, in every mode */
			struct xvbuf rx;
			xvbuf_init(&rx, 4 * XVP_MAX_FRAME);
			for (int i = 0;
			     i < 50 && xvp_frame(xvbuf_ptr(&rx), xvbuf_len(&rx), NULL) == XV_EAGAIN;
			     i++) {
				if (ha_read(ch, &rx) < 0)
					break;
				if (xvp_frame(xvbuf_ptr(&rx), xvbuf_len(&rx), NULL) == XV_EAGAIN)
					ha_wait(ch, 100);
			}
			xvbuf_free(&rx);
			ha_serve(ch, mode);
		}
		chan_close(ch);
	}
}
