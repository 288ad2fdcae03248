/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * xenvchan-agent: serves monitoring-plugins probes to dom0 over a vchan
 * (or a Unix socket for tests), without a network port, and publishes
 * the guest's data tree in xenstore.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "advert.h"
#include "agent.h"
#include "datatree.h"
#include "log.h"
#include "xverr.h"
#include "xvp.h"

extern char **environ;

#define EXIT_RUNTIME 1 /* could not start: xenstore, channel, pid file */
#define EXIT_CONFIG 2  /* bad configuration or usage */

static void usage(FILE *f)
{
	fprintf(
	    f,
	    "Usage: " AGENT_NAME " [OPTION]...\n"
	    "Serve Nagios/NRPE probes to dom0 over a vchan, without a network port,\n"
	    "and publish this guest's identity and NICs in xenstore.\n"
	    "\n"
	    "  -c, --config FILE    configuration (nrpe.cfg syntax; default " AGENT_DEFAULT_CONFIG
	    ")\n"
	    "  -f, --foreground     stay in the foreground and log to stderr (the default)\n"
	    "  -d, --daemon         detach from the terminal and log to syslog\n"
	    "  -p, --pid-file FILE  write the pid here (overrides pid_file=)\n"
	    "      --channel SPEC   vchan or socket:DIR (overrides channel=)\n"
	    "  -n, --check-config   load the configuration, print problems, exit 0 or 2\n"
	    "  -v, --verbose        log at debug level\n"
	    "  -h, --help           show this help and exit\n"
	    "  -V, --version        show the version and exit\n"
	    "\n"
	    "Signals: SIGHUP reloads the configuration (a bad file keeps the old one),\n"
	    "SIGTERM and SIGINT stop the agent.\n"
	    "Exit status: 0 stopped normally, 1 could not start, 2 bad configuration or usage.\n");
}

static void agent_log_notices(const struct agent_config *cfg)
{
	for (size_t i = 0; i < cfg->nnotices; i++)
		log_warnx("%s", cfg->notices[i]);
}

static void agent_ident(const struct agent *a, const struct agent_config *cfg,
			struct forksrv_ident *id)
{
	memset(id, 0, sizeof *id);
	id->change = a->change_identity;
	id->uid = cfg->probe_uid;
	id->gid = cfg->probe_gid;
	id->groups = cfg->probe_groups;
	id->ngroups = cfg->nprobe_groups;
}

/* Derived state that follows the configuration: probe environment,
 * identity (the probe helper: replaced if it changes), log level, pool
 * limits. */
static int agent_apply_config(struct agent *a, struct agent_config *cfg)
{
	struct forksrv_ident id;
	char **env = probe_env_build(NULL, XV_VERSION, (const char *const *)cfg->keep_env, environ);

	if (!env) {
		log_warn("cannot build the probe environment");
		return -1;
	}
	probe_env_free(a->probe_env);
	a->probe_env = env;
	a->change_identity = 0;
	if (geteuid() == 0) {
		a->change_identity = 1;
	} else if (cfg->probe_uid != geteuid()) {
		log_info("not running as root: probes run as this user (uid %d), not as '%s'",
			 (int)geteuid(), cfg->probe_user);
	}
	log_set_level(a->verbose ? LOG_LVL_DEBUG : cfg->log_level);
	agent_ident(a, cfg, &id);
	if (a->fs.loop != NULL && forksrv_set_ident(&a->fs, &id) < 0)
		return -1;
	return 0;
}

/* A xenstore call failed: xsconn checks whether the connection is gone. */
static void agent_xs_failed(int err, void *ctx)
{
	struct agent *a = ctx;

	xsconn_failed(&a->xc, err);
}

/* The data tree's options from the configuration. */
static void agent_tree_opts(struct agent *a, const struct agent_config *cfg,
			    struct datatree_opts *o)
{
	datatree_opts_default(o);
	o->publish_other_nics = cfg->publish_other_nics;
	o->include_loopback = cfg->publish_loopback;
	o->legacy = cfg->publish_legacy;
	o->max_nodes = cfg->publish_max_nodes;
	o->os_release = cfg->os_release_file;
	o->sysfs_net = cfg->sysfs_net_dir;
	o->agent_version = XV_VERSION;
	o->xs_failed = agent_xs_failed;
	o->xs_failed_ctx = a;
}

/* Publishing the data tree is best effort: an agent that cannot watch
 * its NICs still serves probes. */
static void agent_tree_start(struct agent *a)
{
	struct datatree_opts o;
	char err[256];

	agent_tree_opts(a, a->cfg, &o);
	a->tree = datatree_start(a->loop, a->xc.xs, &o, err, sizeof err);
	if (!a->tree)
		log_warnx("the data tree is not published: %s", err);
}

static int agent_tree_opts_differ(const struct agent_config *x, const struct agent_config *y)
{
	const char *xo = x->os_release_file ? x->os_release_file : "";
	const char *yo = y->os_release_file ? y->os_release_file : "";
	const char *xs = x->sysfs_net_dir ? x->sysfs_net_dir : "";
	const char *ys = y->sysfs_net_dir ? y->sysfs_net_dir : "";

	return x->publish_other_nics != y->publish_other_nics ||
	       x->publish_loopback != y->publish_loopback ||
	       x->publish_legacy != y->publish_legacy ||
	       x->publish_max_nodes != y->publish_max_nodes || strcmp(xo, yo) || strcmp(xs, ys);
}

static void agent_relisten_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct agent *a = (struct agent *)((char *)w - offsetof(struct agent, relisten_w));

	agent_listen(a);
}

void agent_listen(struct agent *a)
{
	if (a->session)
		return;
	a->session = session_start(a, agent_listen);
	if (a->session) {
		a->relisten_delay = 0;
		return;
	}
	/* back off: a broken channel must not spin the agent */
	a->relisten_delay = a->relisten_delay ? a->relisten_delay * 2 : AGENT_RELISTEN_MIN;
	if (a->relisten_delay > AGENT_RELISTEN_MAX)
		a->relisten_delay = AGENT_RELISTEN_MAX;
	log_warnx("retrying in %.1f s", a->relisten_delay);
	ev_timer_stop(a->loop, &a->relisten_w);
	ev_timer_set(&a->relisten_w, a->relisten_delay, 0.);
	ev_timer_start(a->loop, &a->relisten_w);
}

static void agent_advertise(struct agent *a)
{
	char versions[16];

	snprintf(versions, sizeof versions, "%d", XVP_PROTO_MAX);
	if (XVP_PROTO_MIN != XVP_PROTO_MAX)
		snprintf(versions, sizeof versions, "%d-%d", XVP_PROTO_MIN, XVP_PROTO_MAX);
	if (a->xc.xs == NULL)
		return; /* written when the connection is back */
	if (advert_publish(a->xc.xs, a->transport, versions) < 0) {
		int err = errno;
		log_warn("cannot write the advertisement under " XVWIRE_ADVERT_DIR);
		xsconn_failed(&a->xc, err);
	}
}

/* The guest's domid changed (save/restore, migration): the old grants
 * and the old tree are gone; start over under the new domid. */
static void agent_domid_check(struct agent *a)
{
	int id = a->xc.xs != NULL ? advert_read_domid(a->xc.xs) : -1;

	if (id < 0) {
		if (a->xc.xs != NULL) {
			int err = errno;
			log_warn("cannot read this guest's domid");
			xsconn_failed(&a->xc, err);
		}
		return;
	}
	if (id == a->domid)
		return;
	log_info("domid changed from %d to %d: listening again", a->domid, id);
	/* the kernel's word may come after the domid's watch: ask the channel
	 * (a vchan with a session that began under the old domid) */
	if (a->domid >= 0 && a->spec.kind == CHAN_VCHAN && a->session != NULL &&
	    !a->chan_lost && !session_channel_lost(a->session))
		/* the channel is closed below: on such a kernel that is a BUG
		 * that ends this process (systemd starts it again) */
		log_warnx("this guest moved, and its kernel did not say that the "
			  "old channel was lost: its xen-evtchn driver lacks the resume "
			  "fix, and closing the channel may end this process with a "
			  "kernel BUG; install xen-evtchn-fix-dkms (see kernel/README.md)");
	a->chan_lost = 0;
	a->domid = id;
	session_free(a->session);
	a->session = NULL;
	if (a->tree)
		datatree_domid_changed(a->tree);
	/* listen first: the bridge connects as soon as it sees the advert */
	agent_listen(a);
	agent_advertise(a);
}

/* xsconn: the watch pipe is readable */
static void agent_xs_events(struct xs_handle *xs, void *arg)
{
	struct agent *a = arg;
	char **vec;
	int domid_event = 0;

	while ((vec = xs_check_watch(xs))) {
		if (!strcmp(vec[XS_WATCH_TOKEN], "domid"))
			domid_event = 1;
		free(vec);
	}
	if (errno != EAGAIN && errno != EINTR)
		agent_xs_failed(errno, a);
	if (domid_event)
		agent_domid_check(a);
}

/* xsconn: connected, at start (again 0) or after a loss (again 1) */
static int agent_xs_up(struct xs_handle *xs, int again, void *arg)
{
	struct agent *a = arg;

	if (!again) {
		a->domid = advert_read_domid(xs);
		if (a->domid < 0) {
			log_warn("cannot read this guest's domid from xenstore");
			a->no_domid = 1;
			return -1;
		}
		if (!xs_watch(xs, "domid", "domid"))
			log_warn("cannot watch domid: a migration will not be noticed");
		return 0;
	}
	if (!xs_watch(xs, "domid", "domid"))
		return -1;
	/* a xenstored that came back may have lost everything we wrote:
	 * write it all again (the tree diffs against a fresh read) */
	if (a->tree)
		datatree_set_xs(a->tree, xs);
	agent_domid_check(a);
	agent_advertise(a);
	return 0;
}

/* xsconn: the connection is gone; probes are still served */
static void agent_xs_down(void *arg)
{
	struct agent *a = arg;

	if (a->tree)
		datatree_set_xs(a->tree, NULL);
}

static const struct xsconn_ops agent_xs_ops = {
    .up = agent_xs_up,
    .down = agent_xs_down,
    .events = agent_xs_events,
};

static void agent_reload(struct agent *a)
{
	struct agent_config *cfg = NULL;
	char err[CONFIG_ERR_MAX];

	if (config_load(a->config_path, &cfg, err, sizeof err) < 0) {
		log_warnx("reload failed, keeping the running configuration: %s", err);
		return;
	}
	if (strcmp(cfg->channel, a->cfg->channel) != 0)
		log_warnx("reload: channel= changed: takes effect at the next restart");
	if (cfg->max_concurrent != a->cfg->max_concurrent || cfg->max_queue != a->cfg->max_queue)
		pool_set_limits(&a->pool, cfg->max_concurrent, cfg->max_queue);
	agent_log_notices(cfg);
	if (agent_apply_config(a, cfg) < 0) {
		config_free(cfg);
		return;
	}
	/* in-flight probes hold copies of what they need (pool_submit) */
	if (agent_tree_opts_differ(a->cfg, cfg)) {
		config_free(a->cfg);
		a->cfg = cfg;
		/* the new run removes whatever the old options published and
		 * the new ones do not, so the tree never vanishes in between */
		datatree_stop(a->tree, 0);
		agent_tree_start(a);
	} else {
		config_free(a->cfg);
		a->cfg = cfg;
	}
	log_info("configuration reloaded: %zu commands", cfg->ncommands);
}

static void agent_signal_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
	struct agent *a = w->data;

	if (w->signum == SIGHUP) {
		if (log_reopen() < 0)
			log_warn("cannot reopen the log file");
		agent_reload(a);
		xsconn_retry_now(&a->xc);
		return;
	}
	log_info("signal %d: stopping", w->signum);
	ev_break(loop, EVBREAK_ALL);
}

/* What the command line asks for, beyond the agent's own fields. */
struct main_args {
	const char *pid_file;
	int daemonize, check_only;
};

/* The command line into a and args.  Returns -1 to go on, or the exit
 * status (0 for --help and --version). */
static int main_parse_args(int argc, char **argv, struct agent *a, struct main_args *args)
{
	static const struct option opts[] = {
	    {"config", required_argument, NULL, 'c'},  {"foreground", no_argument, NULL, 'f'},
	    {"daemon", no_argument, NULL, 'd'},	       {"pid-file", required_argument, NULL, 'p'},
	    {"channel", required_argument, NULL, 'C'}, {"check-config", no_argument, NULL, 'n'},
	    {"verbose", no_argument, NULL, 'v'},       {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},       {NULL, 0, NULL, 0},
	};
	int c;

	a->config_path = AGENT_DEFAULT_CONFIG;
	while ((c = getopt_long(argc, argv, "c:fdp:nvhV", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			a->config_path = optarg;
			break;
		case 'f':
			args->daemonize = 0;
			break;
		case 'd':
			args->daemonize = 1;
			break;
		case 'p':
			args->pid_file = optarg;
			break;
		case 'C':
			a->channel_override = optarg;
			break;
		case 'n':
			args->check_only = 1;
			break;
		case 'v':
			a->verbose = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf(AGENT_NAME " " XV_VERSION "\n");
			return 0;
		default:
			usage(stderr);
			return EXIT_CONFIG;
		}
	}
	if (optind != argc) {
		fprintf(stderr, AGENT_NAME ": unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return EXIT_CONFIG;
	}
	return -1;
}

/* The configuration file and the channel into a.  Returns 0, or the exit
 * status (a->cfg freed and NULL). */
static int main_load(struct agent *a)
{
	char errbuf[CONFIG_ERR_MAX];
	const char *channel;

	if (config_load(a->config_path, &a->cfg, errbuf, sizeof errbuf) < 0) {
		log_errx("%s", errbuf);
		return EXIT_CONFIG;
	}
	agent_log_notices(a->cfg);
	channel = a->channel_override ? a->channel_override : a->cfg->channel;
	if (chan_spec_parse(channel, &a->spec) < 0) {
		log_errx("bad channel '%s': expected vchan or socket:DIR (an existing directory)",
			 channel);
		config_free(a->cfg);
		a->cfg = NULL;
		return EXIT_CONFIG;
	}
	a->transport = a->spec.kind == CHAN_VCHAN ? XVWIRE_TRANSPORT_VCHAN : XVWIRE_TRANSPORT_SOCKET;
	return 0;
}

/* Where messages go (log_file if set; else stderr in the foreground, syslog
 * as a daemon, nothing with disable_syslog=1), detaching, the pid file.
 * Returns 0 or the exit status. */
static int main_daemon(struct agent *a, const struct main_args *args)
{
	char errbuf[CONFIG_ERR_MAX];
	const char *pid_file = args->pid_file ? args->pid_file : a->cfg->pid_file;

	if (a->cfg->log_file && log_open_file(a->cfg->log_file) < 0) {
		log_warn("cannot open log_file %s", a->cfg->log_file);
		return EXIT_RUNTIME;
	}
	if (args->daemonize) {
		if (!a->cfg->log_file && !a->cfg->disable_syslog)
			log_init(AGENT_NAME, 1, a->cfg->log_facility, LOG_LVL_INFO);
		if (daemon_detach() < 0)
			fatal("cannot detach");
	}
	if (pid_file && daemon_pidfile_open(&a->pidfile, pid_file, errbuf, sizeof errbuf) < 0) {
		log_errx("%s", errbuf);
		return EXIT_RUNTIME;
	}
	return 0;
}

/* Starts everything, serves until SIGTERM or SIGINT, stops.  Returns the
 * exit status. */
static int main_start(struct agent *a)
{
	struct forksrv_ident id;
	int rc = 0;

	a->loop = ev_default_loop(EVFLAG_AUTO);
	if (agent_apply_config(a, a->cfg) < 0 ||
	    pool_init(&a->pool, a->loop, a->cfg->max_concurrent, a->cfg->max_queue) < 0)
		return EXIT_RUNTIME;
	/* before the channel and xenstore are open: the helper is forked from
	 * an agent holding as little as possible */
	agent_ident(a, a->cfg, &id);
	if (forksrv_init(&a->fs, a->loop, &id) < 0) {
		pool_free(&a->pool);
		return EXIT_RUNTIME;
	}

	if (xsconn_open(&a->xc, a->loop, &agent_xs_ops, a) < 0) {
		if (!a->no_domid)
			log_warn("cannot connect to xenstore");
		rc = EXIT_RUNTIME;
		goto out;
	}
	agent_tree_start(a);
	ev_init(&a->relisten_w, agent_relisten_cb);
	/* listen first: the bridge connects as soon as it sees the advert */
	agent_listen(a);
	agent_advertise(a);

	ev_signal_init(&a->hup_w, agent_signal_cb, SIGHUP);
	ev_signal_init(&a->term_w, agent_signal_cb, SIGTERM);
	ev_signal_init(&a->int_w, agent_signal_cb, SIGINT);
	a->hup_w.data = a->term_w.data = a->int_w.data = a;
	ev_signal_start(a->loop, &a->hup_w);
	ev_signal_start(a->loop, &a->term_w);
	ev_signal_start(a->loop, &a->int_w);
	signal(SIGPIPE, SIG_IGN);

	log_info("started: domid %d, %s channel, %zu commands, probes as %s", a->domid,
		 a->transport, a->cfg->ncommands,
		 a->change_identity ? a->cfg->probe_user : "this user");
	ev_run(a->loop, 0);

	session_free(a->session);
	a->session = NULL;
	ev_timer_stop(a->loop, &a->relisten_w);
	if (a->xc.xs != NULL && advert_remove(a->xc.xs) < 0)
		log_warn("cannot remove the advertisement under " XVWIRE_ADVERT_DIR);
	datatree_stop(a->tree, 0);
	a->tree = NULL;
	log_info("stopped after %llu requests; xenstore connection lost %u times", a->requests,
		 a->xc.stats.losses);
out:
	xsconn_close(&a->xc);
	pool_free(&a->pool);
	forksrv_free(&a->fs);
	return rc;
}

int main(int argc, char **argv)
{
	struct agent a = {0};
	struct main_args args = {0};
	int rc;

	a.pidfile.fd = -1;
	rc = main_parse_args(argc, argv, &a, &args);
	if (rc >= 0)
		return rc;
	log_init(AGENT_NAME, 0, LOG_DAEMON, a.verbose ? LOG_LVL_DEBUG : LOG_LVL_INFO);
	rc = main_load(&a);
	if (rc != 0)
		return rc;
	if (args.check_only) {
		printf("%s: OK, %zu commands\n", a.config_path, a.cfg->ncommands);
		config_free(a.cfg);
		return 0;
	}
	rc = main_daemon(&a, &args);
	if (rc == 0)
		rc = main_start(&a);
	probe_env_free(a.probe_env);
	daemon_pidfile_close(&a.pidfile);
	config_free(a.cfg);
	return rc;
}
