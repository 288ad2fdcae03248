/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * nrpeclient - a misbehaving (or plain) NRPE client for the bridge's NRPE
 * listener tests: what check_nrpe cannot be made to do.  Plain TCP only.
 *
 *   nrpeclient [-a ADDR] -p PORT [-m v2|v4] [-n BYTES] [-b] [-s] [-x SECS [-r]]
 *              [-t SECS] [-X HEX] [QUERY]
 *
 *   -m      packet version of the query (default v4, padded as check_nrpe)
 *   -n      send only the first BYTES bytes of the packet, then wait
 *   -b      flip a bit of the CRC field (a corrupt packet)
 *   -X HEX  send these bytes instead of a query
 *   -s      half-close after sending (shutdown SHUT_WR), then read
 *   -x SECS hang up SECS seconds after sending, without reading
 *   -r      with -x: hang up with a reset (SO_LINGER 0) instead of a FIN
 *   -t SECS give up waiting for the answer after SECS (default 30)
 *
 * Prints the answer as "<version> <rc> <frame bytes> <text>" (one trailing
 * newline dropped, other newlines as "\n") and exits 0.  If the listener
 * closes without a decodable answer: "closed after N bytes" (and, if
 * something came, why it does not decode), exit 5.  Timeout: "timeout",
 * exit 4.  Usage or connection errors: exit 2.
 */
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "xvbuf.h"
#include "xverr.h"
#include "xvp.h"

static double nrpeclient_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int nrpeclient_connect(const char *addr, const char *port)
{
	struct addrinfo hints = {0}, *ai;
	int fd;

	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
	if (getaddrinfo(addr, port, &hints, &ai) != 0) {
		fprintf(stderr, "nrpeclient: bad address %s port %s\n", addr, port);
		return -1;
	}
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
		fprintf(stderr, "nrpeclient: connect %s port %s: %s\n", addr, port,
			strerror(errno));
		freeaddrinfo(ai);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	freeaddrinfo(ai);
	return fd;
}

static int nrpeclient_hex(const char *hex, struct xvbuf *out)
{
	for (size_t i = 0; hex[i] && hex[i + 1]; i += 2) {
		unsigned v;

		if (sscanf(hex + i, "%2x", &v) != 1)
			return -1;
		if (xvbuf_put_u8(out, (uint8_t)v) < 0)
			return -1;
	}
	return 0;
}

static void nrpeclient_print_text(const char *s, size_t n)
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

/* leave main with status r, freeing what it holds (ASan checks leaks) */
#define RC(r)                                                                                      \
	do {                                                                                       \
		rc = (r);                                                                          \
		goto out;                                                                          \
	} while (0)

int main(int argc, char **argv)
{
	const char *addr = "127.0.0.1", *port = NULL, *hex = NULL;
	double timeout = 30, hangup = -1, deadline;
	long nsend = -1;
	int c, corrupt = 0, halfclose = 0, reset = 0, fd = -1, rc = 0;
	uint16_t version = XVP_V4;
	struct xvbuf tx, rx;
	size_t sent = 0, len;

	while ((c = getopt(argc, argv, "a:p:m:n:bsrx:t:X:")) != -1) {
		switch (c) {
		case 'a':
			addr = optarg;
			break;
		case 'p':
			port = optarg;
			break;
		case 'm':
			version = strcmp(optarg, "v2") == 0 ? XVP_V2 : XVP_V4;
			break;
		case 'n':
			nsend = atol(optarg);
			break;
		case 'b':
			corrupt = 1;
			break;
		case 's':
			halfclose = 1;
			break;
		case 'r':
			reset = 1;
			break;
		case 'x':
			hangup = atof(optarg);
			break;
		case 't':
			timeout = atof(optarg);
			break;
		case 'X':
			hex = optarg;
			break;
		default:
			return 2;
		}
	}
	if (!port || (!hex && optind != argc - 1)) {
		fprintf(stderr, "usage: nrpeclient [-a ADDR] -p PORT [-m v2|v4] [-n BYTES] [-b] "
				"[-s] [-x SECS [-r]] [-t SECS] [-X HEX] [QUERY]\n");
		return 2;
	}
	if (xvbuf_init(&tx, XVP_MAX_FRAME) < 0 || xvbuf_init(&rx, XVP_MAX_FRAME + 1) < 0)
		return 2;
	if (hex) {
		if (nrpeclient_hex(hex, &tx) < 0) {
			fprintf(stderr, "nrpeclient: bad hex\n");
			RC(2);
		}
	} else {
		struct xvp_msg m = {.version = version, .type = XVP_QUERY};

		m.text = argv[optind];
		m.text_len = strlen(argv[optind]);
		if (xvp_encode(&tx, &m) < 0) {
			fprintf(stderr, "nrpeclient: cannot encode the query\n");
			RC(2);
		}
		if (corrupt) {
			uint32_t crc;

			xvbuf_peek_u32(&tx, XVP_CRC_OFFSET, &crc);
			xvbuf_poke_u32(&tx, XVP_CRC_OFFSET, crc ^ 1);
		}
	}
	len = xvbuf_len(&tx);
	if (nsend >= 0 && (size_t)nsend < len)
		len = (size_t)nsend;
	fd = nrpeclient_connect(addr, port);
	if (fd < 0)
		RC(2);
	while (sent < len) {
		ssize_t n = send(fd, xvbuf_ptr(&tx) + sent, len - sent, MSG_NOSIGNAL);

		if (n < 0) {
			printf("send failed: %s\n", strerror(errno));
			RC(5);
		}
		sent += (size_t)n;
	}
	if (halfclose && shutdown(fd, SHUT_WR) != 0) {
		printf("shutdown failed: %s\n", strerror(errno));
		RC(5);
	}
	if (hangup >= 0) {
		struct timespec ts = {(time_t)hangup,
				      (long)((hangup - (double)(time_t)hangup) * 1e9)};

		nanosleep(&ts, NULL);
		if (reset) {
			struct linger lg = {.l_onoff = 1, .l_linger = 0};
			setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
		}
		close(fd);
		fd = -1;
		printf("hung up\n");
		RC(0);
	}
	deadline = nrpeclient_now() + timeout;
	for (;;) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		double left = deadline - nrpeclient_now();
		size_t room = xvbuf_avail(&rx) < 65536 ? xvbuf_avail(&rx) : 65536;
		uint8_t *dst;
		ssize_t n;

		if (left <= 0) {
			printf("timeout\n");
			RC(4);
		}
		if (poll(&p, 1, (int)(left * 1000) + 1) == 0)
			continue;
		if (room == 0 || xvbuf_reserve(&rx, room, &dst) < 0) {
			printf("answer too long\n");
			RC(5);
		}
		n = recv(fd, dst, room, MSG_DONTWAIT);
		xvbuf_trim(&rx, n > 0 ? room - (size_t)n : room);
		if (n > 0)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		break; /* closed (or reset): decode what came */
	}
	if (xvbuf_len(&rx) > 0) {
		struct xvp_msg m;
		int r = xvp_decode(xvbuf_ptr(&rx), xvbuf_len(&rx), &m);

		if (r > 0) {
			printf("%u %d %d ", m.version, m.result, r);
			nrpeclient_print_text(m.text, m.text_len);
			RC(0);
		}
		printf("closed after %zu bytes: %s (%s)\n", xvbuf_len(&rx), xv_strerror(r), m.why);
		RC(5);
	}
	printf("closed after 0 bytes\n");
	RC(5);
out:
	if (fd >= 0)
		close(fd);
	xvbuf_free(&tx);
	xvbuf_free(&rx);
	return rc;
}
