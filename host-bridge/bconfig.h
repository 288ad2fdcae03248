/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * bconfig.h - xenvchan-bridge's configuration file (SYSCONFDIR/xenvchan/bridge.cfg,
 * by default /etc/xenvchan/bridge.cfg).
 *
 * Syntax as the agent's: one key=value per line, whitespace around key and
 * value ignored, lines starting with '#' and blank lines skipped, the last
 * value of a key wins.  An unknown key, a bad value or a missing value fails
 * the whole load with "FILE:LINE: reason".  Users and groups are resolved
 * when the file is read.  Every key, its default and its range are in
 * docs/bridge.cfg.md.
 *
 * Adding a key: a field below, its default in bconfig_defaults(), a row in
 * bconfig_keys[] (bconfig.c), a section in docs/bridge.cfg.md.
 */
#ifndef XV_BCONFIG_H
#define XV_BCONFIG_H

#include <stddef.h>
#include <sys/types.h>

#include "log.h"

/* XV_SYSCONFDIR: the Makefile's SYSCONFDIR (default /etc) */
#ifndef XV_SYSCONFDIR
#error "XV_SYSCONFDIR is not defined: build with the project's Makefile"
#endif
#define BCONFIG_DEFAULT_PATH XV_SYSCONFDIR "/xenvchan/bridge.cfg"
#define BCONFIG_LINE_MAX 4096
#define BCONFIG_FILE_MAX (1 << 20)
#define BCONFIG_LIST_MAX 256 /* entries in allowed_uids / allowed_gids */
#define BCONFIG_ERR_MAX 1024

struct bridge_config {
	char *channel; /* "vchan" or "socket:DIR" */

	/* the local socket */
	char *socket_path;
	unsigned socket_mode;
	gid_t socket_gid; /* (gid_t)-1: not set */
	uid_t *allowed_uids;
	size_t nallowed_uids;
	gid_t *allowed_gids;
	size_t nallowed_gids;
	double socket_timeout;
	unsigned socket_max_clients;

	/* per guest */
	unsigned max_inflight_per_guest;
	unsigned max_queue_per_guest;
	unsigned max_response;
	double request_timeout;
	double reconnect_min, reconnect_max;
	unsigned max_guests;

	enum log_level log_level;
	int log_facility;
	char *pid_file; /* NULL: none */

	/* the NRPE TCP listener (struct listener_opts) */
	int nrpe_listen;
	char *nrpe_address;
	unsigned nrpe_port;
	int nrpe_tls;
	char *nrpe_cert_file, *nrpe_key_file, *nrpe_ca_file;
	int nrpe_require_client_cert;
	int nrpe_allow_anonymous_tls;
	char *nrpe_allowed_hosts; /* NULL: any */
	double nrpe_timeout;
	unsigned nrpe_max_clients;
};

/* Loads path into a new configuration.  0, or -1 with err = "FILE:LINE:
 * reason" (or "FILE: reason"). */
int bconfig_load(const char *path, struct bridge_config **out, char *err, size_t errlen);
/* The same from len bytes named `name` in messages. */
int bconfig_parse_buffer(const char *name, const char *buf, size_t len, struct bridge_config **out,
			 char *err, size_t errlen);
/* The defaults alone (no file). */
struct bridge_config *bconfig_defaults(void);
/* Sets one key as if read from a file (command-line overrides); the checks
 * across keys are run again.  0, or -1 with err = "KEY: reason". */
int bconfig_set(struct bridge_config *cfg, const char *key, const char *value, char *err,
		size_t errlen);
void bconfig_free(struct bridge_config *cfg);

#endif
