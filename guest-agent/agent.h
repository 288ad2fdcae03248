/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * agent.h - xenvchan-agent's process state and the request service.
 *
 * One struct agent per process, passed around explicitly.  It owns the
 * loaded configuration (swapped whole on SIGHUP), the xenstore handle, the
 * probe pool and the current session: the one channel server that waits
 * for, then serves, one dom0 client at a time.
 */
#ifndef XV_AGENT_H
#define XV_AGENT_H

#include <ev.h>
#include <xenstore.h>

#include "chan.h"
#include "config.h"
#include "daemon.h"
#include "forksrv.h"
#include "pool.h"
#include "xsconn.h"

#define AGENT_NAME "xenvchan-agent"
/* XV_SYSCONFDIR: the Makefile's SYSCONFDIR (default /etc) */
#ifndef XV_SYSCONFDIR
#error "XV_SYSCONFDIR is not defined: build with the project's Makefile"
#endif
#define AGENT_DEFAULT_CONFIG XV_SYSCONFDIR "/xenvchan/agent.cfg"
/* dom0 runs the bridge: the only domain the vchan server accepts */
#define AGENT_PEER_DOMID 0
/* re-listen back-off after a failed chan_server() */
#define AGENT_RELISTEN_MIN 0.5
#define AGENT_RELISTEN_MAX 30.0

struct session;
struct datatree;

struct agent {
	struct ev_loop *loop;
	const char *config_path;
	const char *channel_override; /* --channel, wins over channel= */
	int verbose;		      /* -v: debug whatever log_level says */
	struct agent_config *cfg;
	struct chan_spec spec;
	const char *transport; /* "vchan" or "socket" */

	struct xsconn xc; /* xenstore, reopened when lost (xc.xs NULL meanwhile) */
	int domid;
	int no_domid; /* start-up: xenstore answered but had no domid */
	int chan_lost; /* the kernel said the channel was lost on a resume (EPIPE) */

	struct pool pool;
	char **probe_env;
	int change_identity; /* root: probes run as cfg->probe_uid */
	struct forksrv fs;   /* the probe helper: spawns every probe */

	struct session *session;
	ev_timer relisten_w;
	double relisten_delay;

	struct datatree *tree;

	ev_signal hup_w, term_w, int_w;
	struct pidfile pidfile;
	unsigned long long requests; /* taken since start (each answered once) */
};

/* Start listening for the next client (after start-up, a disconnect or a
 * domid change).  On failure it retries with back-off. */
void agent_listen(struct agent *a);

/* session.c: one channel server and the client it serves. */
/* Called once a session has ended (its client left or broke the protocol)
 * and a->session is freed and NULL: the caller listens again. */
typedef void session_ended_fn(struct agent *a);
/* Creates the server and starts waiting.  Returns NULL (logged) on failure. */
struct session *session_start(struct agent *a, session_ended_fn *ended);
/* Cancels everything in flight, closes the channel, frees s. */
void session_free(struct session *s);
/* Whether the guest kernel says s's channel was lost on a resume (a kernel
 * with the xen-evtchn fix of kernel/: EPIPE).  Consumes a pending
 * notification: only for a session about to be freed.  0 for NULL. */
int session_channel_lost(struct session *s);

#endif
