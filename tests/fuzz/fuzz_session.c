/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target for the agent's side of the protocol (guest-agent/
 * session.c): a real session over a socket:DIR channel, fed by a hostile
 * "dom0 client" that writes what the input says, with the agent's event
 * loop run after every step.
 *
 * Input: a script of steps, each an op byte and an argument byte A:
 *   op % 8 == 0  the client writes the next A bytes as they are
 *   op % 8 == 1  a valid XV HELLO, proto_min A >> 4, proto_max A & 15
 *   op % 8 == 2  an XV QUERY with id A, text number (next byte)
 *   op % 8 == 3  an XV CANCEL of id A
 *   op % 8 == 4  an XV PING with nonce A
 *   op % 8 == 5  a plain QUERY (v2 if A is odd, else v4), text number (next byte)
 *   op % 8 == 6  an XV ERROR with id A
 *   op % 8 == 7  the client hangs up and connects again (a new session)
 * The texts are a few queries worth telling apart: the version check, an
 * undefined command, a defined one whose program does not exist (the probe
 * path, without running anything), refused arguments, bad names, and a
 * probe that runs until it is cancelled (/bin/sleep; at most 2 at once).
 *
 * The harness decodes its own byte stream as the agent must, and so knows
 * what may come back.  Checked, for everything the agent sends:
 *   - every byte belongs to a frame that decodes;
 *   - only packets a server sends: v2/v4 RESPONSE, XV HELLO_ACK (once, after
 *     a HELLO), RESPONSE, ERROR, PONG;
 *   - plain answers come in the order of the plain queries, each in its
 *     query's version;
 *   - an XV RESPONSE or ERROR with an id answers an outstanding query, once
 *     (PROTOCOL.md 5.4 rule 4); a duplicate id or any other session
 *     violation is answered, if at all, with ERROR id 0 (rules 1, 3, 8);
 *   - a PONG echoes a PING sent after the hello exchange (rule 7);
 * and nothing leaks, whichever way a session ends.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../guest-agent/agent.h"
#include "chan.h"
#include "log.h"
#include "xvbuf.h"
#include "xverr.h"
#include "xvp.h"

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond))                                                                       \
			abort();                                                                   \
	} while (0)

#define FUZZ_DOMID 7
#define FUZZ_PATH "data/guest/probes/vchan"
#define MAX_STEPS 200
/* at most 15 frames a step (a raw write of 255 bytes): never full */
#define MAX_IDS 4096
#define MAX_PLAIN 4096

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const texts[] = {
    "_NRPE_CHECK", "", "nosuch", "fail", "fail!a", "bad name", "x!a!b", "slow",
};

/* What the client expects back, from what it sent in this session. */
struct model {
	struct xvbuf sent; /* the client's bytes not yet decoded by the model */
	int broken;	   /* the agent must end the session: stop modelling */
	int hello, acked;  /* HELLO sent (and accepted), HELLO_ACK received */
	uint32_t ids[MAX_IDS];
	int nids;
	uint16_t plain[MAX_PLAIN]; /* versions of the plain queries not answered */
	int nplain;
	uint32_t pings[MAX_IDS];
	int npings;
	/* A QUERY reused an id not yet answered.  Whether the agent still has
	 * it depends on timing (an answer made at once may be on its way), so
	 * from here on only what holds either way is checked. */
	int lenient;
	struct xvbuf got; /* the agent's bytes not yet a whole frame */
};

static struct agent a;
static char tmpdir[] = "/tmp/fuzz_session.XXXXXX";

void agent_listen(struct agent *ag)
{
	if (ag->session)
		return;
	ag->session = session_start(ag, agent_listen);
	CHECK(ag->session != NULL);
}

static void cleanup(void)
{
	rmdir(tmpdir);
}

static void setup_once(void)
{
	static const char cfg[] = "command[fail]=/nonexistent/fuzz-probe\n"
				  "command[slow]=/bin/sleep 10\n"
				  "max_concurrent=2\nmax_queue=2\ncommand_timeout=5\n";
	char text[CHAN_SPEC_TEXT_MAX + 32], err[CONFIG_ERR_MAX];
	extern char **environ;

	if (a.loop != NULL)
		return;
	log_init("fuzz_session", 0, 0, LOG_LVL_ERR);
	a.loop = ev_default_loop(EVFLAG_AUTO);
	CHECK(a.loop != NULL && mkdtemp(tmpdir) != NULL);
	atexit(cleanup);
	snprintf(text, sizeof text, "socket:%s", tmpdir);
	CHECK(chan_spec_parse(text, &a.spec) == 0);
	CHECK(config_parse_buffer("fuzz.cfg", cfg, sizeof cfg - 1, CONFIG_PARSE_NO_INCLUDES, &a.cfg,
				  err, sizeof err) == 0);
	CHECK(pool_init(&a.pool, a.loop, a.cfg->max_concurrent, a.cfg->max_queue) == 0);
	a.probe_env = probe_env_build(NULL, "fuzz", NULL, environ);
	CHECK(a.probe_env != NULL);
	a.domid = FUZZ_DOMID;
	a.transport = "socket";
}

static void spin(void)
{
	for (int i = 0; i < 4; i++)
		ev_run(a.loop, EVRUN_NOWAIT);
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

/* Decodes what the client sent as the agent does, frame by frame, and
 * updates the expectations (PROTOCOL.md 5.4). */
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
			if (q.type != XVP_QUERY)
				m->broken = 1;
			else
				m->plain[m->nplain++] = q.version;
		} else if (q.type == XVP_XV_HELLO) {
			if (m->hello || xvp_negotiate(q.proto_min, q.proto_max, XVP_PROTO_MIN,
						      XVP_PROTO_MAX) < 0)
				m->broken = 1;
			m->hello = 1;
		} else if (!m->hello || q.type == XVP_XV_ERROR) {
			/* anything before the hello; an ERROR: the client closes */
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
			m->broken = 1; /* a packet only servers send */
		}
		xvbuf_consume(&m->sent, (size_t)r);
	}
}

/* One frame from the agent. */
static void model_got(struct model *m, const struct xvp_msg *r)
{
	static const char dup[] = "request id already in use";
	int i;

	/* a reused id is a session violation, told with id 0 (rule 3): with
	 * the id, it would read as the answer to the first query */
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
		CHECK(m->nplain > 0 && m->plain[0] == r->version);
		memmove(m->plain, m->plain + 1, (size_t)(--m->nplain) * sizeof m->plain[0]);
		return;
	}
	switch (r->type) {
	case XVP_XV_HELLO_ACK:
		CHECK(m->hello && !m->acked);
		m->acked = 1;
		CHECK(r->proto >= XVP_PROTO_MIN && r->proto <= XVP_PROTO_MAX);
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
		CHECK(0); /* a packet only clients send */
	}
}

/* Reads and checks what the agent sent; 1 when it closed the channel. */
static int client_read(struct chan *cl, struct model *m)
{
	for (;;) {
		uint8_t *p;
		ssize_t n;

		if (xvbuf_avail(&m->got) < 65536 || xvbuf_reserve(&m->got, 65536, &p) < 0)
			CHECK(0); /* the harness reads between steps: this cannot pile up */
		n = chan_read(cl, p, 65536);
		xvbuf_trim(&m->got, n > 0 ? 65536 - (size_t)n : 65536);
		if (n == 0)
			break;
		if (n < 0) {
			CHECK(n == XV_ECLOSED);
			return 1;
		}
		for (;;) {
			struct xvp_msg r;
			int k = xvp_decode(xvbuf_ptr(&m->got), xvbuf_len(&m->got), &r);

			if (k == XV_EAGAIN)
				break;
			CHECK(k > 0); /* the agent only sends frames that decode */
			model_got(m, &r);
			xvbuf_consume(&m->got, (size_t)k);
		}
	}
	return 0;
}

static void client_send(struct chan *cl, struct model *m, const void *p, size_t n)
{
	const uint8_t *b = p;

	while (n > 0) {
		ssize_t w = chan_write(cl, b, n);

		if (w <= 0)
			break; /* full or closed: what does not fit is dropped */
		if (xvbuf_put(&m->sent, b, (size_t)w) < 0)
			m->broken = 1; /* beyond what the model follows */
		b += w;
		n -= (size_t)w;
	}
	model_sent(m);
}

static void client_frame(struct chan *cl, struct model *m, const struct xvp_msg *q)
{
	struct xvbuf b;

	xvbuf_init(&b, XVP_MAX_FRAME);
	if (xvp_encode(&b, q) > 0)
		client_send(cl, m, xvbuf_ptr(&b), xvbuf_len(&b));
	xvbuf_free(&b);
}

static struct chan *client_connect(void)
{
	struct chan *cl = NULL;
	int err = 0;

	agent_listen(&a);
	for (int i = 0; i < 3 && cl == NULL; i++) {
		cl = chan_client(&a.spec, FUZZ_DOMID, FUZZ_PATH, &err);
		spin();
	}
	CHECK(cl != NULL);
	return cl;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct model m = {0};
	struct chan *cl;
	size_t i = 0;
	int steps = 0;

	setup_once();
	model_reset(&m);
	cl = client_connect();
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
			client_send(cl, &m, data + i, arg);
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
			client_frame(cl, &m, &q);
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
			client_frame(cl, &m, &q);
			break;
		case 3:
			q.type = XVP_XV_CANCEL;
			client_frame(cl, &m, &q);
			break;
		case 4:
			q.type = XVP_XV_PING;
			client_frame(cl, &m, &q);
			break;
		case 6:
			q.type = XVP_XV_ERROR;
			q.text = "client error";
			q.text_len = 12;
			client_frame(cl, &m, &q);
			break;
		case 7:
			chan_close(cl);
			spin();
			model_reset(&m);
			cl = client_connect();
			break;
		}
		spin();
		if (client_read(cl, &m)) {
			/* the agent ended the session: only after a violation */
			CHECK(m.broken || m.lenient);
			chan_close(cl);
			spin();
			model_reset(&m);
			cl = client_connect();
		}
	}
	/* let probes that failed to start report, then read the last words */
	spin();
	(void)client_read(cl, &m);
	chan_close(cl);
	spin();
	session_free(a.session);
	a.session = NULL;
	spin();
	model_reset(&m);
	xvbuf_free(&m.sent);
	xvbuf_free(&m.got);
	return 0;
}
