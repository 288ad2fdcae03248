/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * datatree-run - the data tree publisher alone, on a libev loop: a developer
 * tool to try guest-agent/datatree.c against a xenstored (XENSTORED_PATH:
 * the emulator) without the rest of the agent.
 *
 *   datatree-run [-L] [-O] [-l] [-m NODES] [-c MS] [-r OS_RELEASE] [-s SYSFS_NET]
 *                [-x] [-d] [-p PIDFILE]
 *
 * -L legacy keys, -O no net/other NICs, -l loopback too, -m node budget,
 * -c coalescing window, -r os-release file, -s sysfs class/net directory,
 * -x remove the tree on exit (else agent/state=stopped), -d debug log.
 * SIGTERM stops, SIGINT stops and removes the tree (as -x), SIGHUP
 * republishes, SIGUSR1 acts as a domid change.
 * Prints "ready" on stdout once the first publish is done.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ev.h>
#include <xenstore.h>

#include "log.h"

#include "../../guest-agent/datatree.h"

struct run {
	struct datatree *dt;
	int remove_tree;
	ev_signal sigterm, sigint, sighup, sigusr1;
};

static void run_stop_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
	struct run *r = w->data;
	if (w->signum == SIGINT)
		r->remove_tree = 1;
	ev_break(loop, EVBREAK_ALL);
}

static void run_hup_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
	struct run *r = w->data;
	if (datatree_republish(r->dt) < 0)
		log_warn("republish");
}

static void run_usr1_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
	struct run *r = w->data;
	datatree_domid_changed(r->dt);
}

int main(int argc, char **argv)
{
	struct datatree_opts opts;
	struct ev_loop *loop = ev_default_loop(EVFLAG_AUTO);
	struct xs_handle *xs;
	struct run r;
	char err[256];
	const char *pidfile = NULL;
	int c, debug = 0;

	memset(&r, 0, sizeof r);
	datatree_opts_default(&opts);
	while ((c = getopt(argc, argv, "LOlm:c:r:s:xdp:")) != -1) {
		switch (c) {
		case 'L':
			opts.legacy = 1;
			break;
		case 'O':
			opts.publish_other_nics = 0;
			break;
		case 'l':
			opts.include_loopback = 1;
			break;
		case 'm':
			opts.max_nodes = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'c':
			opts.coalesce_ms = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'r':
			opts.os_release = optarg;
			break;
		case 's':
			opts.sysfs_net = optarg;
			break;
		case 'x':
			r.remove_tree = 1;
			break;
		case 'd':
			debug = 1;
			break;
		case 'p':
			pidfile = optarg;
			break;
		default:
			fprintf(stderr, "usage: datatree-run [-LOlxd] [-m NODES] [-c MS] "
					"[-r OS_RELEASE] [-s SYSFS_NET] [-p PIDFILE]\n");
			return 2;
		}
	}
	log_init("datatree-run", 0, 0, debug ? LOG_LVL_DEBUG : LOG_LVL_INFO);
	if (loop == NULL)
		fatalx("no libev loop");
	xs = xs_open(0);
	if (xs == NULL)
		fatal("xs_open");
	r.dt = datatree_start(loop, xs, &opts, err, sizeof err);
	if (r.dt == NULL)
		fatalx("datatree_start: %s", err);
	if (pidfile != NULL) {
		FILE *f = fopen(pidfile, "w");
		if (f == NULL || fprintf(f, "%ld\n", (long)getpid()) < 0 || fclose(f) != 0)
			fatal("%s", pidfile);
	}
	printf("ready\n");
	fflush(stdout);

	ev_signal_init(&r.sigterm, run_stop_cb, SIGTERM);
	ev_signal_init(&r.sigint, run_stop_cb, SIGINT);
	ev_signal_init(&r.sighup, run_hup_cb, SIGHUP);
	ev_signal_init(&r.sigusr1, run_usr1_cb, SIGUSR1);
	r.sigterm.data = r.sigint.data = r.sighup.data = r.sigusr1.data = &r;
	ev_signal_start(loop, &r.sigterm);
	ev_signal_start(loop, &r.sigint);
	ev_signal_start(loop, &r.sighup);
	ev_signal_start(loop, &r.sigusr1);
	ev_run(loop, 0);

	struct datatree_stats st;
	datatree_get_stats(r.dt, &st);
	log_info("publishes %lu, failures %lu, events %lu, dumps %lu", st.publishes, st.failures,
		 st.events, st.dumps);
	datatree_stop(r.dt, r.remove_tree);
	xs_close(xs);
	if (pidfile != NULL)
		unlink(pidfile);
	return 0;
}
