/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * xvquery - test client for xenvchan-agent: sends queries over a channel in
 * plain NRPE v2/v4 or the multiplexing extension and prints the answers.
 *
 *   xvquery [-C SPEC] [-d DOMID] [-m v2|v4|xv] [-t SECS] [-x SECS] QUERY...
 *
 * One query: prints the output and exits with its result code.  Several:
 * all are sent at once (pipelined for v2/v4), and each answer is printed
 * as it arrives, "<id> <rc> <output>", one line per answer (one trailing
 * newline dropped, as check_nrpe does; other newlines shown as "\n"); exit 0
 * when all arrived.  -x SECS: hang up
 * SECS after sending, without waiting (a client vanishing mid-check).
 * -R BYTES: the max_response announced in the HELLO (default 65536).
 * -r SECS: keep trying to connect that long while nobody listens (the agent
 * re-listens right after each client; default 3).
 * Exit 4 for a timeout, 5 for a connection or protocol failure.
 */
#include <errno.h>
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

#define MAXQ 4096

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void print_escaped(const char *s, size_t n)
{
	if (n > 0 && s[n - 1] == '\n')
		n--;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\n')
			fputs("\\n", stdout);
		else
			putchar(s[i]);
	}
	putchar('\n');
}

int main(int argc, char **argv)
{
	const char *spec_text = "vchan", *mode = "xv";
	int domid = -1, c, err = 0, nq, got = 0, single, rc = 0;
	double timeout = 30, hangup = -1, retry = 3, t0;
	uint32_t max_response = XVP_MAX_BUFFER;
	struct chan_spec spec;
	struct chan *ch;
	struct xvbuf tx, rx;
	uint16_t version;
	int answered[MAXQ] = {0};

	while ((c = getopt(argc, argv, "C:d:m:R:r:t:x:")) != -1) {
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
		case 't':
			timeout = atof(optarg);
			break;
		case 'x':
			hangup = atof(optarg);
			break;
		case 'r':
			retry = atof(optarg);
			break;
		case 'R':
			max_response = (uint32_t)strtoul(optarg, NULL, 10);
			break;
		default:
			return 2;
		}
	}
	nq = argc - optind;
	if (domid < 0 || nq < 1 || nq > MAXQ) {
		fprintf(stderr,
			"usage: xvquery -d DOMID [-C SPEC] [-m v2|v4|xv] [-t S] [-x S] QUERY...\n");
		return 2;
	}
	single = nq == 1;
	version = !strcmp(mode, "v2") ? XVP_V2 : !strcmp(mode, "v4") ? XVP_V4 : XVP_XV;
	if (chan_spec_parse(spec_text, &spec) < 0) {
		fprintf(stderr, "xvquery: bad channel %s\n", spec_text);
		return 2;
	}
	t0 = now();
	while (!(ch = chan_client(&spec, domid, "data/guest/probes/vchan", &err)) &&
	       err == XV_ENOPEER && now() - t0 < retry)
		usleep(20000);
	if (!ch) {
		fprintf(stderr, "xvquery: connect: %s\n", xv_strerror(err));
		return 5;
	}
	xvbuf_init(&tx, 64u << 20);
	xvbuf_init(&rx, 2 * XVP_MAX_FRAME);
	if (version == XVP_XV) {
		struct xvp_msg h = {.version = XVP_XV,
				    .type = XVP_XV_HELLO,
				    .proto_min = 1,
				    .proto_max = 1,
				    .max_inflight = MAXQ,
				    .max_response = max_response,
				    .text = "xvquery",
				    .text_len = 7};
		xvp_encode(&tx, &h);
	}
	for (int i = 0; i < nq; i++) {
		struct xvp_msg q = {.version = version,
				    .type = version == XVP_XV ? XVP_XV_QUERY : XVP_QUERY,
				    .id = (uint32_t)i + 1,
				    .text = argv[optind + i],
				    .text_len = strlen(argv[optind + i])};
		if (xvp_encode(&tx, &q) < 0) {
			fprintf(stderr, "xvquery: cannot encode query %d\n", i + 1);
			{
				rc = 2;
				goto out;
			}
		}
	}
	t0 = now();
	while (got < nq) {
		struct pollfd pfd = {.fd = chan_fd(ch), .events = POLLIN};
		double left = t0 + timeout - now();
		ssize_t n;

		if (hangup >= 0 && xvbuf_len(&tx) == 0) {
			if (now() - t0 >= hangup) {
				rc = 0;
				goto out;
			}
			left = t0 + hangup - now();
		}
		while (xvbuf_len(&tx) > 0) {
			size_t len = xvbuf_len(&tx);
			n = chan_write(ch, xvbuf_ptr(&tx), len > CHAN_IO_MAX ? CHAN_IO_MAX : len);
			if (n < 0) {
				fprintf(stderr, "xvquery: write: %s\n", xv_strerror((int)n));
				{
					rc = 5;
					goto out;
				}
			}
			if (n == 0)
				break;
			xvbuf_consume(&tx, (size_t)n);
		}
		for (;;) {
			uint8_t *p;
			size_t room = xvbuf_avail(&rx);
			if (room == 0)
				break;
			xvbuf_reserve(&rx, room, &p);
			n = chan_read(ch, p, room);
			xvbuf_trim(&rx, n > 0 ? room - (size_t)n : room);
			if (n == 0)
				break;
			if (n < 0) {
				fprintf(stderr,
					"xvquery: connection closed after %d of %d answers\n", got,
					nq);
				{
					rc = 5;
					goto out;
				}
			}
		}
		for (;;) {
			struct xvp_msg m;
			int r = xvp_decode(xvbuf_ptr(&rx), xvbuf_len(&rx), &m);
			int idx;
			if (r == XV_EAGAIN)
				break;
			if (r < 0) {
				fprintf(stderr, "xvquery: bad packet: %s (%s)\n", xv_strerror(r),
					m.why);
				{
					rc = 5;
					goto out;
				}
			}
			if (m.version == XVP_XV && m.type == XVP_XV_HELLO_ACK) {
				xvbuf_consume(&rx, (size_t)r);
				continue;
			}
			if (m.version == XVP_XV && m.type == XVP_XV_ERROR) {
				fprintf(stderr, "xvquery: agent error: %s\n", m.text);
				{
					rc = 5;
					goto out;
				}
			}
			if (m.version == XVP_XV)
				idx = (int)m.id - 1;
			else
				for (idx = 0; idx < nq && answered[idx]; idx++)
					;
			if (idx < 0 || idx >= nq || answered[idx]) {
				fprintf(stderr, "xvquery: answer for unknown request %d\n",
					idx + 1);
				{
					rc = 5;
					goto out;
				}
			}
			answered[idx] = 1;
			got++;
			if (single) {
				fwrite(m.text, 1, m.text_len, stdout);
				if (m.text_len == 0 || m.text[m.text_len - 1] != '\n')
					putchar('\n');
				rc = m.result >= 0 && m.result <= 3 ? m.result : 3;
			} else {
				printf("%d %d ", idx + 1, m.result);
				print_escaped(m.text, m.text_len);
			}
			xvbuf_consume(&rx, (size_t)r);
		}
		if (got == nq)
			break;
		if (left <= 0) {
			fprintf(stderr, "xvquery: timeout after %g s (%d of %d answers)\n", timeout,
				got, nq);
			{
				rc = 4;
				goto out;
			}
		}
		if (poll(&pfd, 1, (int)(left * 1000) + 1) > 0)
			chan_wait(ch);
	}
out:
	fflush(stdout);
	chan_close(ch);
	xvbuf_free(&tx);
	xvbuf_free(&rx);
	return rc;
}
