/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * rogue-agent - a hostile "agent" for the bridge's tests: it listens where
 * a real agent would (the channel server of guest DOMID), takes the bridge's
 * connection and misbehaves in one way, then listens again for the next.
 *
 *   rogue-agent -C SPEC -d DOMID -m MODE
 *
 * MODE:
 *   garbage   answer the HELLO with bytes that are no packet at all
 *   hugelen   answer with a header announcing a 2 GiB buffer
 *   biglen    announce a 65536-byte RESPONSE (beyond a small max_response)
 *   trickle   send a valid HELLO_ACK, one byte a second
 *   silent    read everything, never answer
 *   badid     HELLO_ACK, then answer each query with an id never used
 *   pong      HELLO_ACK, then an unsolicited PONG
 *   flood     HELLO_ACK, then PINGs as fast as the channel takes them,
 *             never reading the PONGs
 * Prints "listening" once the first server is up and one line per
 * session.  Runs until killed.
 */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "chan.h"
#include "xvbuf.h"
#include "xverr.h"
#include "xvp.h"

#define PATH "data/guest/probes/vchan"
#define FLOOD_BATCH 64 /* PINGs per write in mode flood */

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Reads what is there into rx (at most its room); -1 when the peer left. */
static int drain(struct chan *ch, struct xvbuf *rx)
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

/* Writes all of p (polling); -1 when the peer left. */
static int put_all(struct chan *ch, const void *p, size_t n)
{
	const uint8_t *b = p;

	while (n > 0) {
		ssize_t w = chan_write(ch, b, n);
		if (w < 0)
			return -1;
		if (w == 0) {
			struct pollfd pfd = {.fd = chan_fd(ch), .events = POLLIN};
			poll(&pfd, 1, 100);
			chan_wait(ch);
			if (drain(ch, NULL) < 0)
				return -1;
			continue;
		}
		b += w;
		n -= (size_t)w;
	}
	return 0;
}

static void hello_ack(struct xvbuf *out)
{
	struct xvp_msg m = {.version = XVP_XV,
			    .type = XVP_XV_HELLO_ACK,
			    .proto = 1,
			    .max_inflight = 64,
			    .max_request = XVP_MAX_BUFFER,
			    .text = "rogue",
			    .text_len = 5};
	xvp_encode(out, &m);
}

static void be16(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* One session with the mode's misbehaviour; returns when the peer leaves. */
static void serve(struct chan *ch, const char *mode)
{
	struct xvbuf rx, tx, flood;
	double next = now();
	size_t sent = 0, flood_off = 0;
	int acked = 0, pong_sent = 0;

	xvbuf_init(&rx, 4 * XVP_MAX_FRAME);
	xvbuf_init(&tx, 4 * XVP_MAX_FRAME);
	/* flood: FLOOD_BATCH PINGs per write, so that what the bridge meets
	 * is the PONGs piling up rather than the cost of tiny writes (the
	 * trickle modes cover those) */
	xvbuf_init(&flood, FLOOD_BATCH * (XVP_HEADER_SIZE + 4));
	for (uint32_t i = 1; i <= FLOOD_BATCH; i++) {
		struct xvp_msg p = {.version = XVP_XV, .type = XVP_XV_PING, .id = i};
		xvp_encode(&flood, &p);
	}
	if (!strcmp(mode, "garbage")) {
		static const char junk[] = "\x00\x09this is no NRPE packet at all \x01\x02\xff";
		xvbuf_put(&tx, junk, sizeof junk - 1);
	} else if (!strcmp(mode, "hugelen") || !strcmp(mode, "biglen")) {
		uint8_t h[XVP_HEADER_SIZE] = {0};
		be16(h, XVP_XV);
		be16(h + 2, XVP_XV_RESPONSE);
		be32(h + 12, !strcmp(mode, "hugelen") ? 0x7fffffffu : XVP_MAX_BUFFER);
		hello_ack(&tx);
		xvbuf_put(&tx, h, sizeof h);
	} else if (!strcmp(mode, "trickle") || !strcmp(mode, "badid") || !strcmp(mode, "pong") ||
		   !strcmp(mode, "flood")) {
		hello_ack(&tx);
	}
	for (;;) {
		struct pollfd pfd = {.fd = chan_fd(ch), .events = POLLIN};

		if (!strcmp(mode, "trickle")) {
			if (xvbuf_len(&tx) > 0 && now() >= next) {
				if (chan_write(ch, xvbuf_ptr(&tx), 1) < 0)
					break;
				xvbuf_consume(&tx, 1);
				sent++;
				next = now() + 1.0;
			}
		} else if (xvbuf_len(&tx) > 0) {
			if (put_all(ch, xvbuf_ptr(&tx), xvbuf_len(&tx)) < 0)
				break;
			xvbuf_reset(&tx);
			acked = 1;
		}
		if (!strcmp(mode, "pong") && acked && !pong_sent) {
			struct xvp_msg p = {.version = XVP_XV, .type = XVP_XV_PONG, .id = 42};
			xvp_encode(&tx, &p);
			pong_sent = 1;
			continue;
		}
		if (!strcmp(mode, "flood") && acked) {
			ssize_t w;

			if (flood_off == xvbuf_len(&flood))
				flood_off = 0;
			w = chan_write(ch, xvbuf_ptr(&flood) + flood_off,
				       xvbuf_len(&flood) - flood_off);
			if (w < 0)
				break;
			flood_off += (size_t)w;
			if (w > 0)
				continue; /* never read: the PONGs pile up */
		}
		poll(&pfd, 1, 50);
		chan_wait(ch);
		if (!strcmp(mode, "flood") && acked) {
			if (chan_state(ch) == CHAN_CLOSED)
				break;
			continue;
		}
		if (drain(ch, &rx) < 0)
			break;
		if (!strcmp(mode, "badid")) {
			/* answer every query with an id nobody asked for */
			for (;;) {
				struct xvp_msg m;
				int r = xvp_decode(xvbuf_ptr(&rx), xvbuf_len(&rx), &m);
				if (r <= 0)
					break;
				if (m.version == XVP_XV && m.type == XVP_XV_QUERY) {
					struct xvp_msg a = {.version = XVP_XV,
							    .type = XVP_XV_RESPONSE,
							    .id = m.id + 12345,
							    .text = "OK",
							    .text_len = 2};
					xvp_encode(&tx, &a);
				}
				xvbuf_consume(&rx, (size_t)r);
			}
		} else {
			xvbuf_reset(&rx);
		}
	}
	printf("session over (%s, %zu bytes trickled)\n", mode, sent);
	fflush(stdout);
	xvbuf_free(&rx);
	xvbuf_free(&tx);
	xvbuf_free(&flood);
}

int main(int argc, char **argv)
{
	const char *spec_text = NULL, *mode = NULL;
	struct chan_spec spec;
	int domid = -1, c, first = 1;

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
		fprintf(stderr, "usage: rogue-agent -C SPEC -d DOMID -m MODE\n");
		return 2;
	}
	for (;;) {
		int err = 0;
		struct chan *ch = chan_server(&spec, domid, 0, PATH, 0, 0, &err);

		if (ch == NULL) {
			fprintf(stderr, "rogue-agent: cannot listen: %s\n", xv_strerror(err));
			return 1;
		}
		if (first) {
			printf("listening\n");
			fflush(stdout);
			first = 0;
		}
		while (chan_state(ch) == CHAN_WAITING) {
			struct pollfd pfd = {.fd = chan_fd(ch), .events = POLLIN};
			poll(&pfd, 1, 1000);
			chan_wait(ch);
		}
		printf("client connected\n");
		fflush(stdout);
		serve(ch, mode);
		chan_close(ch);
	}
}
