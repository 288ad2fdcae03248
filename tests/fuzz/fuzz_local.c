/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target for the bridge's local socket front end (host-bridge/
 * local.c): what a local client (check_xenvchan, or any local user the
 * socket lets in) sends, over a real Unix socket, with the event loop run
 * after every step.  The core of the bridge is replaced by a stub (below:
 * bridge_submit and bridge_cancel, with the contract of bridge.h), so that
 * the front end's state machine is what is fuzzed.
 *
 * Input: a script of steps, each an op byte and an argument byte A:
 *   op % 8 == 0  the client writes the next A bytes as they are
 *   op % 8 == 1  a valid XV HELLO, proto_min A >> 4, proto_max A & 15
 *   op % 8 == 2  an XV QUERY with id A, text number (next byte)
 *   op % 8 == 3  an XV CANCEL of id A
 *   op % 8 == 4  an XV PING with nonce A
 *   op % 8 == 5  a plain QUERY (v2 if A is odd, else v4), text number (next byte)
 *   op % 8 == 6  an XV ERROR with id A
 *   op % 8 == 7  the client hangs up and connects again
 * The stub answers at the next turn of the loop, except "GUEST/slow", which
 * waits until it is cancelled; the guests "enomem" and "shutdown" make
 * bridge_submit fail as the real one can.
 *
 * Checked, for everything the front end sends (PROTOCOL.md 5.4 with the
 * bridge as the server): every byte belongs to a frame that decodes; only
 * server packets (v2/v4 RESPONSE, XV HELLO_ACK once after a HELLO, RESPONSE,
 * ERROR, PONG); plain answers in the order and version of the plain
 * queries; an XV answer only for an outstanding id, once; a reused id told
 * with ERROR id 0; a PONG only for a PING after the hello; the connection
 * closed only after a violation; every request the stub got is answered or
 * cancelled exactly once, and nothing leaks.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "../../host-bridge/bridge.h"
#include "../../host-bridge/local.h"
#include "log.h"
#include "xvbuf.h"
#include "xverr.h"
#include "xvp.h"

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond))                                                                       \
			abort();                                                                   \
	} while (0)

#define MAX_STEPS 200
#define MAX_IDS 4096
#define MAX_PLAIN 4096

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const texts[] = {
    "web01/ok", "_NRPE_CHECK", "",	   "web01/slow", "bad guest!/x",
    "123/x",	"web01/",      "enomem/x", "shutdown/x", "web01/_NRPE_CHECK",
};

/* ---- the stub core ----------------------------------------------------------- */

struct bridge_req {
	struct bridge_req *next, **prev;
	bridge_done_fn *done;
	void *arg;
	int state, slow;
	size_t len;
	char text[ROUTE_GUEST_MAX + 64];
};

static struct ev_loop *loop;
static struct bridge_req *reqs;
static ev_timer answer_w;
static unsigned long submitted, finished;

static void stub_unlink(struct bridge_req *q)
{
	*q->prev = q->next;
	if (q->next)
		q->next->prev = q->prev;
}

static void stub_answer_cb(struct ev_loop *l, ev_timer *w, int revents)
{
	struct bridge_req *q = reqs, *next;

	/* answers may submit (and so add) or cancel others: the list is
	 * looked at again from its head after each */
	for (; q != NULL; q = next) {
		next = q->next;
		if (q->slow)
			continue;
		stub_unlink(q);
		finished++;
		q->done(q->state, q->text, q->len, q->arg);
		free(q);
		/* a callback may have cancelled the next one: start over */
		next = reqs;
	}
}

int bridge_submit(struct bridge *b, const struct route *r, double timeout, bridge_done_fn *done,
		  void *arg, struct bridge_req **handle)
{
	struct bridge_req *q;

	CHECK(b != NULL && r != NULL && done != NULL);
	if (!strcmp(r->guest, "enomem"))
		return -ENOMEM;
	if (!strcmp(r->guest, "shutdown"))
		return -ESHUTDOWN;
	q = calloc(1, sizeof *q);
	if (q == NULL)
		return -ENOMEM;
	q->done = done;
	q->arg = arg;
	q->slow = r->query_len == 4 && !memcmp(r->query, "slow", 4);
	q->state = (int)(r->query_len % 4);
	snprintf(q->text, sizeof q->text, "%s/%.*s", r->guest,
		 (int)(r->query_len > 32 ? 32 : r->query_len), r->query ? r->query : "");
	q->len = strlen(q->text);
	q->next = reqs;
	q->prev = &reqs;
	if (reqs)
		reqs->prev = &q->next;
	reqs = q;
	submitted++;
	if (handle)
		*handle = q;
	if (!ev_is_active(&answer_w)) {
		ev_timer_set(&answer_w, 0., 0.);
		ev_timer_start(loop, &answer_w);
	}
	return 0;
}

void bridge_cancel(struct bridge_req *q)
{
	stub_unlink(q);
	finished++;
	free(q);
}

/* ---- the client's model -------------------------------------------------------- */

struct model {
	struct xvbuf sent, got;
	int broken, lenient;
	int hello, acked;
	uint32_t ids[MAX_IDS];
	int nids;
	uint16_t plain[MAX_PLAIN];
	int nplain;
	uint32_t pings[MAX_IDS];
	int npings;
};

static struct local *lo;
static char tmpdir[] = "/tmp/fuzz_local.XXXXXX";
static char path[128];

static void cleanup(void)
{
	local_stop(lo);
	rmdir(tmpdir);
}

static void setup_once(void)
{
	struct local_opts o = {.mode = 0600, .group = (gid_t)-1, .timeout = 30, .max_clients = 8};
	static int fake_bridge;
	char err[256];

	if (loop != NULL)
		return;
	log_init("fuzz_local", 0, 0, LOG_LVL_ERR);
	loop = ev_loop_new(EVFLAG_AUTO);
	CHECK(loop != NULL && mkdtemp(tmpdir) != NULL);
	snprintf(path, sizeof path, "%s/bridge.sock", tmpdir);
	o.path = path;
	ev_init(&answer_w, stub_answer_cb);
	lo = local_start(loop, (struct bridge *)&fake_bridge, &o, err, sizeof err);
	CHECK(lo != NULL);
	atexit(cleanup);
}

static void spin(void)
{
	for (int i = 0; i < 4; i++)
		ev_run(loop, EVRUN_NOWAIT);
}

static void model_reset(struct model *m)
{
	xvbuf_free(&m->sent);
	xvbuf_free(&m->got);
	memset(m, 0, sizeof *m);
	CHECK(xvbuf_init(&m->sent, 8 * XVP_MAX_FRAME) == 0);
	CHECK(xvbuf_init(&m->got, 8 * XVP_MAX_FRAME) == 0);
}

static int id_index(const struct model *m, uint32_t id)
{
	for (int i = 0; i < m->nids; i++)
		if (m->ids[i] == id)
			return i;
	return -1;
}

static void model_sent(struct model *m)
{
	while (!m->broken && xvbuf_len(&m->sent) > 0) {
		struct xvp_msg q;
		int r = xvp_decode(xvbuf_ptr(&m->sent), xvbuf_len(&m->sent), &q);

		if (r == XV_EAGAIN)
			return;
		if (r < 0) {
			m->broken = 1;
			return;
		}
		if (q.version != XVP_XV) {
			CHECK(m->nplain < MAX_PLAIN);
			if (q.type != XVP_QUERY) {
				m->broken = 1;
			} else {
				/* at LOCAL_PLAIN_MAX the front end refuses, but it
				 * counts what it has not answered yet, we what we
				 * have not read yet */
				if (m->nplain >= LOCAL_PLAIN_MAX)
					m->lenient = 1;
				m->plain[m->nplain++] = q.version;
			}
		} else if (q.type == XVP_XV_HELLO) {
			if (m->hello || xvp_negotiate(q.proto_min, q.proto_max, XVP_PROTO_MIN,
						      XVP_PROTO_MAX) < 0)
				m->broken = 1;
			m->hello = 1;
		} else if (!m->hello || q.type == XVP_XV_ERROR) {
			m->broken = 1;
		} else if (q.type == XVP_XV_QUERY) {
			CHECK(m->nids < MAX_IDS);
			if (id_index(m, q.id) >= 0) {
				m->broken = 1;
				m->lenient = 1;
			} else {
				m->ids[m->nids++] = q.id;
			}
		} else if (q.type == XVP_XV_PING) {
			if (m->npings < MAX_IDS)
				m->pings[m->npings++] = q.id;
		} else if (q.type != XVP_XV_CANCEL) {
			m->broken = 1;
		}
		xvbuf_consume(&m->sent, (size_t)r);
	}
}

static void model_got(struct model *m, const struct xvp_msg *r)
{
	static const char dup[] = "request id already in use";
	int i;

	if (r->version == XVP_XV && r->type == XVP_XV_ERROR && r->text_len == sizeof dup - 1 &&
	    memcmp(r->text, dup, sizeof dup - 1) == 0)
		CHECK(r->id == 0);
	if (m->lenient) {
		CHECK(r->version == XVP_XV
			  ? (r->type == XVP_XV_HELLO_ACK || r->type == XVP_XV_RESPONSE ||
			     r->type == XVP_XV_ERROR || r->type == XVP_XV_PONG)
			  : r->type == XVP_RESPONSE);
		return;
	}
	if (r->version != XVP_XV) {
		CHECK(r->type == XVP_RESPONSE);
		CHECK(r->result >= 0 && r->result <= 3);
		CHECK(m->nplain > 0 && m->plain[0] == r->version);
		memmove(m->plain, m->plain + 1, (size_t)(--m->nplain) * sizeof m->plain[0]);
		return;
	}
	switch (r->type) {
	case XVP_XV_HELLO_ACK:
		CHECK(m->hello && !m->acked);
		m->acked = 1;
		return;
	case XVP_XV_RESPONSE:
		CHECK(m->acked);
		i = id_index(m, r->id);
		CHECK(i >= 0);
		m->ids[i] = m->ids[--m->nids];
		return;
	case XVP_XV_ERROR:
		/* before the hello exchange only ERROR id 0, for an extension
		 * packet other than HELLO (rule 1) */
		CHECK(m->hello || (r->id == 0 && m->broken));
		if (r->id == 0) {
			m->broken = 1;
			return;
		}
		i = id_index(m, r->id);
		CHECK(i >= 0);
		m->ids[i] = m->ids[--m->nids];
		return;
	case XVP_XV_PONG:
		CHECK(m->acked);
		for (i = 0; i < m->npings; i++)
			if (m->pings[i] == r->id)
				break;
		CHECK(i < m->npings);
		m->pings[i] = m->pings[--m->npings];
		return;
	default:
		CHECK(0);
	}
}

/* Reads and checks what came back; 1 when the front end closed. */
static int client_read(int fd, struct model *m)
{
	for (;;) {
		uint8_t *p;
		ssize_t n;

		CHECK(xvbuf_avail(&m->got) >= 65536 && xvbuf_reserve(&m->got, 65536, &p) == 0);
		n = recv(fd, p, 65536, MSG_DONTWAIT);
		xvbuf_trim(&m->got, n > 0 ? 65536 - (size_t)n : 65536);
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
				break;
			return 1; /* ECONNRESET: closed with our bytes unread */
		}
		if (n == 0)
			return 1;
		for (;;) {
			struct xvp_msg r;
			int k = xvp_decode(xvbuf_ptr(&m->got), xvbuf_len(&m->got), &r);

			if (k == XV_EAGAIN)
				break;
			CHECK(k > 0);
			model_got(m, &r);
			xvbuf_consume(&m->got, (size_t)k);
		}
	}
	return 0;
}

static void client_send(int fd, struct model *m, const void *p, size_t n)
{
	const uint8_t *b = p;

	while (n > 0) {
		ssize_t w = send(fd, b, n, MSG_DONTWAIT | MSG_NOSIGNAL);

		if (w <= 0)
			break;
		if (xvbuf_put(&m->sent, b, (size_t)w) < 0)
			m->lenient = 1;
		b += w;
		n -= (size_t)w;
	}
	model_sent(m);
}

static void client_frame(int fd, struct model *m, const struct xvp_msg *q)
{
	struct xvbuf b;

	xvbuf_init(&b, XVP_MAX_FRAME);
	if (xvp_encode(&b, q) > 0)
		client_send(fd, m, xvbuf_ptr(&b), xvbuf_len(&b));
	xvbuf_free(&b);
}

static int client_connect(void)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	CHECK(fd >= 0);
	strcpy(sa.sun_path, path);
	CHECK(connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0);
	spin();
	return fd;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct model m = {0};
	size_t i = 0;
	int steps = 0, fd;

	setup_once();
	model_reset(&m);
	fd = client_connect();
	while (i + 2 <= size && steps++ < MAX_STEPS) {
		unsigned op = data[i] % 8, arg = data[i + 1];
		const char *text =
		    i + 2 < size ? texts[data[i + 2] % (sizeof texts / sizeof texts[0])] : texts[0];
		struct xvp_msg q = {.version = XVP_XV, .id = arg};

		i += 2;
		switch (op) {
		case 0:
			if (arg > size - i)
				arg = (unsigned)(size - i);
			client_send(fd, &m, data + i, arg);
			i += arg;
			break;
		case 1:
			q.type = XVP_XV_HELLO;
			q.proto_min = (uint16_t)(arg >> 4);
			q.proto_max = (uint16_t)(arg & 15);
			q.max_inflight = 16;
			q.max_response = XVP_MAX_BUFFER;
			q.text = "fuzz";
			q.text_len = 4;
			client_frame(fd, &m, &q);
			break;
		case 2:
		case 5:
			if (i < size)
				i++;
			if (op == 5) {
				q.version = (arg & 1) ? XVP_V2 : XVP_V4;
				q.type = XVP_QUERY;
			} else {
				q.type = XVP_XV_QUERY;
			}
			q.text = text;
			q.text_len = strlen(text);
			client_frame(fd, &m, &q);
			break;
		case 3:
			q.type = XVP_XV_CANCEL;
			client_frame(fd, &m, &q);
			break;
		case 4:
			q.type = XVP_XV_PING;
			client_frame(fd, &m, &q);
			break;
		case 6:
			q.type = XVP_XV_ERROR;
			q.text = "client error";
			q.text_len = 12;
			client_frame(fd, &m, &q);
			break;
		case 7:
			close(fd);
			spin();
			model_reset(&m);
			fd = client_connect();
			break;
		}
		spin();
		if (client_read(fd, &m)) {
			/* the front end closed: only after a violation */
			CHECK(m.broken || m.lenient);
			close(fd);
			spin();
			model_reset(&m);
			fd = client_connect();
		}
	}
	spin();
	(void)client_read(fd, &m);
	close(fd);
	spin();
	spin();
	/* every request the front end made was answered or cancelled */
	CHECK(reqs == NULL && submitted == finished);
	xvbuf_free(&m.sent);
	xvbuf_free(&m.got);
	return 0;
}
