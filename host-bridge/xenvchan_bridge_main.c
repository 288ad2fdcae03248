/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * xenvchan-bridge: relays Nagios/NRPE checks from dom0 to the agents in the
 * guests over one multiplexed vchan per guest (or a Unix socket in tests).
 * Local clients (check_xenvchan) use a Unix socket; check_nrpe can use the
 * optional NRPE TCP listener.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "bconfig.h"
#include "bridge.h"
#include "daemon.h"
#include "local.h"
#include "log.h"
#include "xverr.h"

#define EXIT_RUNTIME 1 /* could not start: xenstore, socket, pid file */
#define EXIT_CONFIG 2  /* bad configuration or usage */
#define SOCKET_DIR_MODE 0755

struct main_state {
	struct ev_loop *loop;
	struct bridge *b;
	struct local *local;
	struct listener *listener;	   /* NULL: never started */
	struct bridge_config *cfg;	   /* the running configuration */
	const char *config_path;	   /* NULL: the default path, or the built-in defaults */
	const char *channel, *socket_path; /* command-line overrides, or NULL */
	int verbose, daemonized;
	ev_signal term_w, int_w, hup_w, usr1_w;
};

static void usage(FILE *f)
{
	fprintf(
	    f, "Usage: " BRIDGE_NAME " [OPTION]...\n"
	       "Relay Nagios/NRPE checks from dom0 to the xenvchan-agent in each guest, over\n"
	       "one vchan per guest, for check_xenvchan (Unix socket) and check_nrpe (optional\n"
	       "NRPE listener).\n"
	       "\n"
	       "  -c, --config FILE    configuration (default " BCONFIG_DEFAULT_PATH "; when that\n"
	       "                       file does not exist, the built-in defaults)\n"
	       "  -f, --foreground     stay in the foreground and log to stderr (the default)\n"
	       "  -d, --daemon         detach from the terminal and log to syslog\n"
	       "  -p, --pid-file FILE  write the pid here (overrides pid_file=)\n"
	       "      --channel SPEC   vchan or socket:DIR (overrides channel=)\n"
	       "      --socket PATH    the local socket (overrides socket_path=)\n"
	       "  -n, --check-config   load the configuration, print problems, exit 0 or 2\n"
	       "  -v, --verbose        log at debug level\n"
	       "  -h, --help           show this help and exit\n"
	       "  -V, --version        show the version and exit\n"
	       "\n"
	       "Signals: SIGHUP reloads the configuration (a bad file keeps the running one;\n"
	       "checks under way are not lost; channel=, socket_path= and pid_file= need a\n"
	       "restart) and retries a lost xenstore connection at once; SIGTERM and SIGINT\n"
	       "stop the bridge (waiting checks are answered \"bridge shutting down\");\n"
	       "SIGUSR1 logs the statistics.\n"
	       "Exit status: 0 stopped normally, 1 could not start, 2 bad configuration or "
	       "usage.\n");
}

static void main_log_stats(struct bridge *b)
{
	struct bridge_stats st;

	bridge_get_stats(b, &st);
	log_info("stats: %u domains, %u agents connected; %llu requests, %llu answered by "
		 "agents, %llu timeouts, %llu busy, %llu lost, %llu protocol errors, %llu "
		 "agent sessions; xenstore %s, lost %u times",
		 st.guests, st.connected, st.requests, st.answered, st.timeouts, st.busy, st.lost,
		 st.protocol_errors, st.connects, st.xenstore_up ? "connected" : "reconnecting",
		 st.xenstore_losses);
}

/* The configuration file (or the built-in defaults when no -c was given
 * and the default file does not exist) with the command-line overrides.
 * 0, or -1 with err; *name says what was read. */
static int main_load(const struct main_state *m, struct bridge_config **out, const char **name,
		     char *err, size_t errlen)
{
	struct bridge_config *cfg = NULL;

	*out = NULL;
	if (m->config_path == NULL && access(BCONFIG_DEFAULT_PATH, F_OK) != 0) {
		cfg = bconfig_defaults();
		if (cfg == NULL) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		*name = "(built-in defaults)";
	} else {
		*name = m->config_path != NULL ? m->config_path : BCONFIG_DEFAULT_PATH;
		if (bconfig_load(*name, &cfg, err, errlen) < 0)
			return -1;
	}
	if ((m->channel != NULL && bconfig_set(cfg, "channel", m->channel, err, errlen) < 0) ||
	    (m->socket_path != NULL &&
	     bconfig_set(cfg, "socket_path", m->socket_path, err, errlen) < 0)) {
		bconfig_free(cfg);
		return -1;
	}
	*out = cfg;
	return 0;
}

static void main_bridge_opts(const struct bridge_config *cfg, struct bridge_opts *bo)
{
	bo->max_inflight = cfg->max_inflight_per_guest;
	bo->max_queue = cfg->max_queue_per_guest;
	bo->max_response = cfg->max_response;
	bo->request_timeout = cfg->request_timeout;
	bo->reconnect_min = cfg->reconnect_min;
	bo->reconnect_max = cfg->reconnect_max;
	bo->max_guests = cfg->max_guests;
}

static void main_local_opts(const struct bridge_config *cfg, struct local_opts *lo)
{
	lo->path = cfg->socket_path;
	lo->mode = cfg->socket_mode;
	lo->group = cfg->socket_gid;
	lo->uids = cfg->allowed_uids;
	lo->nuids = cfg->nallowed_uids;
	lo->gids = cfg->allowed_gids;
	lo->ngids = cfg->nallowed_gids;
	lo->timeout = cfg->socket_timeout;
	lo->max_clients = cfg->socket_max_clients;
}

static void main_listener_opts(const struct bridge_config *cfg, struct listener_opts *no)
{
	no->address = cfg->nrpe_address;
	no->port = (int)cfg->nrpe_port;
	no->tls = cfg->nrpe_tls;
	no->cert_file = cfg->nrpe_cert_file;
	no->key_file = cfg->nrpe_key_file;
	no->ca_file = cfg->nrpe_ca_file;
	no->require_client_cert = cfg->nrpe_require_client_cert;
	no->allow_anonymous = cfg->nrpe_allow_anonymous_tls;
	no->allowed_hosts = cfg->nrpe_allowed_hosts;
	no->timeout = cfg->nrpe_timeout;
	no->max_clients = cfg->nrpe_max_clients;
}

static int main_str_differ(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a != b;
	return strcmp(a, b) != 0;
}

/* A key that only a restart applies: the new configuration takes the
 * running value, and the log says so. */
static void main_keep_str(const char *key, char **running, char **loaded)
{
	char *t;

	if (!main_str_differ(*running, *loaded))
		return;
	log_warnx("reload: %s= changed: takes effect at the next restart; still %s", key,
		  *running != NULL ? *running : "(none)");
	t = *running;
	*running = *loaded;
	*loaded = t;
}

/* SIGHUP: the new configuration applies to everything that can change
 * while running; checks under way keep going.  A file that does not load
 * changes nothing. */
static void main_reload(struct main_state *m)
{
	struct bridge_config *cfg;
	struct bridge_opts bo = {0};
	struct local_opts lo = {0};
	struct listener_opts no = {0};
	const char *name;
	char err[BCONFIG_ERR_MAX];

	if (main_load(m, &cfg, &name, err, sizeof err) < 0) {
		log_warnx("reload failed, keeping the running configuration: %s", err);
		return;
	}
	main_keep_str("channel", &m->cfg->channel, &cfg->channel);
	main_keep_str("socket_path", &m->cfg->socket_path, &cfg->socket_path);
	main_keep_str("pid_file", &m->cfg->pid_file, &cfg->pid_file);
	main_bridge_opts(cfg, &bo);
	if (bridge_set_opts(m->b, &bo, err, sizeof err) < 0) {
		log_warnx("reload failed, keeping the running configuration: %s", err);
		bconfig_free(cfg);
		return;
	}
	main_local_opts(cfg, &lo);
	if (local_set_opts(m->local, &lo, err, sizeof err) < 0)
		log_warnx("reload: local socket: %s; its other settings are unchanged", err);
	if (m->daemonized && cfg->log_facility != m->cfg->log_facility) {
		closelog();
		log_init(BRIDGE_NAME, 1, cfg->log_facility, LOG_LVL_INFO);
	}
	log_set_level(m->verbose ? LOG_LVL_DEBUG : cfg->log_level);
	if (cfg->nrpe_listen) {
		main_listener_opts(cfg, &no);
		if (m->listener != NULL) {
			if (listener_reload(m->listener, &no, err, sizeof err) < 0)
				log_warnx("reload: NRPE listener: %s; %s", err,
					  m->cfg->nrpe_listen ? "it keeps its running settings"
							      : "it stays closed");
		} else {
			m->listener = listener_start(m->loop, m->b, &no, err, sizeof err);
			if (m->listener == NULL)
				log_warnx("reload: NRPE listener: %s; not listening", err);
		}
	} else {
		listener_close(m->listener);
	}
	bconfig_free(m->cfg);
	m->cfg = cfg;
	log_info("configuration reloaded from %s", name);
}

static void main_signal_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
	struct main_state *m = w->data;

	switch (w->signum) {
	case SIGUSR1:
		main_log_stats(m->b);
		return;
	case SIGHUP:
		if (log_reopen() < 0)
			log_warn("cannot reopen the log file");
		main_reload(m);
		bridge_retry_xenstore(m->b);
		return;
	default:
		log_info("signal %d: stopping", w->signum);
		ev_break(loop, EVBREAK_ALL);
	}
}

/* Creates the socket's directory (one level) if it is missing. */
static int main_socket_dir(const char *path)
{
	char dir[4096];
	const char *slash = strrchr(path, '/');
	struct stat st;

	if (slash == NULL || slash == path || (size_t)(slash - path) >= sizeof dir)
		return 0;
	memcpy(dir, path, (size_t)(slash - path));
	dir[slash - path] = '\0';
	if (stat(dir, &st) == 0)
		return 0;
	if (mkdir(dir, SOCKET_DIR_MODE) != 0 && errno != EEXIST) {
		log_warn("cannot create %s", dir);
		return -1;
	}
	return 0;
}

/* What the command line asks for. */
struct main_args {
	int daemonize, check_only;
	const char *pid_file;
};

/* Parses the command line into A and M (config path, channel, socket,
 * verbose).  Returns -1 to go on, else the exit status (help, version,
 * usage error). */
static int main_parse_args(int argc, char **argv, struct main_args *a, struct main_state *m)
{
	static const struct option opts[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"foreground", no_argument, NULL, 'f'},
	    {"daemon", no_argument, NULL, 'd'},
	    {"pid-file", required_argument, NULL, 'p'},
	    {"channel", required_argument, NULL, 'C'},
	    {"socket", required_argument, NULL, 'S'},
	    {"check-config", no_argument, NULL, 'n'},
	    {"verbose", no_argument, NULL, 'v'},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {NULL, 0, NULL, 0},
	};
	int c;

	while ((c = getopt_long(argc, argv, "c:fdp:nvhV", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			m->config_path = optarg;
			break;
		case 'f':
			a->daemonize = 0;
			break;
		case 'd':
			a->daemonize = 1;
			break;
		case 'p':
			a->pid_file = optarg;
			break;
		case 'C':
			m->channel = optarg;
			break;
		case 'S':
			m->socket_path = optarg;
			break;
		case 'n':
			a->check_only = 1;
			break;
		case 'v':
			m->verbose = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf(BRIDGE_NAME " " XV_VERSION "\n");
			return 0;
		default:
			usage(stderr);
			return EXIT_CONFIG;
		}
	}
	if (optind != argc) {
		fprintf(stderr, BRIDGE_NAME ": unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return EXIT_CONFIG;
	}
	return -1;
}

/* Starts the signal watchers of M's loop. */
static void main_signals(struct main_state *m)
{
	ev_signal_init(&m->term_w, main_signal_cb, SIGTERM);
	ev_signal_init(&m->int_w, main_signal_cb, SIGINT);
	ev_signal_init(&m->hup_w, main_signal_cb, SIGHUP);
	ev_signal_init(&m->usr1_w, main_signal_cb, SIGUSR1);
	m->term_w.data = m->int_w.data = m->hup_w.data = m->usr1_w.data = m;
	ev_signal_start(m->loop, &m->term_w);
	ev_signal_start(m->loop, &m->int_w);
	ev_signal_start(m->loop, &m->hup_w);
	ev_signal_start(m->loop, &m->usr1_w);
}

/* Runs the bridge on the loaded configuration M->cfg (channel spec in
 * BO->spec) until a signal stops it.  Returns the exit status. */
static int main_start(struct main_state *m, const struct main_args *a, struct bridge_opts *bo)
{
	const struct bridge_config *cfg = m->cfg;
	const char *pid_file = a->pid_file != NULL ? a->pid_file : cfg->pid_file;
	char err[BCONFIG_ERR_MAX];
	struct local_opts lo = {0};
	struct pidfile pf = {.fd = -1};
	struct bridge_stats st;
	int rc = 0;

	if (a->daemonize) {
		log_init(BRIDGE_NAME, 1, cfg->log_facility, LOG_LVL_INFO);
		if (daemon_detach() < 0)
			fatal("cannot detach");
		m->daemonized = 1;
	}
	log_set_level(m->verbose ? LOG_LVL_DEBUG : cfg->log_level);
	if (pid_file != NULL && daemon_pidfile_open(&pf, pid_file, err, sizeof err) < 0) {
		log_errx("%s", err);
		return EXIT_RUNTIME;
	}
	signal(SIGPIPE, SIG_IGN);
	m->loop = ev_default_loop(EVFLAG_AUTO);

	main_bridge_opts(cfg, bo);
	m->b = bridge_new(m->loop, bo, err, sizeof err);
	if (m->b == NULL) {
		log_errx("%s", err);
		rc = EXIT_RUNTIME;
		goto out;
	}

	main_local_opts(cfg, &lo);
	main_socket_dir(cfg->socket_path);
	m->local = local_start(m->loop, m->b, &lo, err, sizeof err);
	if (m->local == NULL) {
		log_errx("%s", err);
		rc = EXIT_RUNTIME;
		goto out_bridge;
	}

	if (cfg->nrpe_listen) {
		struct listener_opts no = {0};

		main_listener_opts(cfg, &no);
		m->listener = listener_start(m->loop, m->b, &no, err, sizeof err);
		if (m->listener == NULL) {
			log_errx("NRPE listener: %s", err);
			rc = EXIT_RUNTIME;
			goto out_local;
		}
	}

	main_signals(m);
	bridge_get_stats(m->b, &st);
	log_info("started: %u domains, channel %s, socket %s", st.guests, cfg->channel,
		 cfg->socket_path);
	ev_run(m->loop, 0);

	/* front ends first: their clients get "shutting down", and nothing
	 * new reaches the core while it answers the rest */
	listener_stop(m->listener);
	main_log_stats(m->b);
out_local:
	local_stop(m->local);
out_bridge:
	bridge_free(m->b);
out:
	daemon_pidfile_close(&pf);
	return rc;
}

int main(int argc, char **argv)
{
	const char *config_name = NULL;
	char err[BCONFIG_ERR_MAX];
	struct bridge_config *cfg = NULL;
	struct bridge_opts bo = {0};
	struct main_args a = {0};
	struct main_state m = {0};
	int rc;

	rc = main_parse_args(argc, argv, &a, &m);
	if (rc >= 0)
		return rc;

	log_init(BRIDGE_NAME, 0, LOG_DAEMON, m.verbose ? LOG_LVL_DEBUG : LOG_LVL_INFO);
	if (main_load(&m, &cfg, &config_name, err, sizeof err) < 0) {
		log_errx("%s", err);
		return EXIT_CONFIG;
	}
	m.cfg = cfg;
	if (chan_spec_parse(cfg->channel, &bo.spec) < 0) {
		log_errx("bad channel '%s': expected vchan or socket:DIR (an existing directory)",
			 cfg->channel);
		rc = EXIT_CONFIG;
	} else if (a.check_only) {
		printf("%s: OK\n", config_name);
		rc = 0;
	} else {
		rc = main_start(&m, &a, &bo);
	}
	bconfig_free(m.cfg);
	return rc;
}
