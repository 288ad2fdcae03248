/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target for xenvchan-bridge's configuration parser
 * (bconfig_parse_buffer, the core of bconfig_load).  A parse either fails
 * with a "fuzz.cfg:..." reason (and frees everything), or yields a
 * configuration within the documented ranges (docs/bridge.cfg.md) whose
 * rules across keys hold; the same bytes always give the same verdict and
 * the same values; and every value read back through bconfig_set() (the
 * command-line overrides) is accepted again unchanged.
 */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "../../host-bridge/bconfig.h"
#include "chan.h"
#include "xvp.h"

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond))                                                                       \
			abort();                                                                   \
	} while (0)

/* Larger inputs only repeat lines; keeps each run fast. */
#define FUZZ_MAX_INPUT (64 * 1024)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int same_str(const char *a, const char *b)
{
	return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static void check_path(const char *p, size_t max)
{
	if (p == NULL)
		return;
	CHECK(p[0] == '/');
	CHECK(strlen(p) <= max);
}

static void check_seconds(double d, double min, double max)
{
	CHECK(d >= min - 1e-9 && d <= max);
}

static void check_config(const struct bridge_config *c)
{
	CHECK(c->channel != NULL);
	if (strcmp(c->channel, "vchan") != 0) {
		CHECK(strncmp(c->channel, "socket:/", 8) == 0);
		CHECK(strlen(c->channel) - 7 <= CHAN_SOCKET_DIR_MAX);
	}
	check_path(c->socket_path, 107);
	CHECK(c->socket_path != NULL);
	CHECK(c->socket_mode <= 0777);
	CHECK(c->nallowed_uids <= BCONFIG_LIST_MAX && c->nallowed_gids <= BCONFIG_LIST_MAX);
	CHECK(c->nallowed_uids == 0 || c->allowed_uids != NULL);
	CHECK(c->nallowed_gids == 0 || c->allowed_gids != NULL);
	for (size_t i = 0; i < c->nallowed_uids; i++)
		CHECK(c->allowed_uids[i] != (uid_t)-1);
	for (size_t i = 0; i < c->nallowed_gids; i++)
		CHECK(c->allowed_gids[i] != (gid_t)-1);
	check_seconds(c->socket_timeout, 0.1, 86400);
	CHECK(c->socket_max_clients >= 1 && c->socket_max_clients <= 65536);
	CHECK(c->max_inflight_per_guest >= 1 && c->max_inflight_per_guest <= 1024);
	CHECK(c->max_queue_per_guest <= 4096);
	CHECK(c->max_response >= 1024 && c->max_response <= XVP_MAX_BUFFER);
	check_seconds(c->request_timeout, 0.1, 86400);
	check_seconds(c->reconnect_min, 0.01, 3600);
	check_seconds(c->reconnect_max, 0.01, 3600);
	CHECK(c->reconnect_min <= c->reconnect_max);
	CHECK(c->max_guests >= 1 && c->max_guests <= CHAN_DOMID_MAX);
	CHECK(c->log_level >= LOG_LVL_ERR && c->log_level <= LOG_LVL_DEBUG);
	CHECK(c->log_facility == LOG_DAEMON || c->log_facility == LOG_USER ||
	      c->log_facility == LOG_AUTH || c->log_facility == LOG_AUTHPRIV ||
	      (c->log_facility >= LOG_LOCAL0 && c->log_facility <= LOG_LOCAL7));
	check_path(c->pid_file, (size_t)-1);
	CHECK(c->nrpe_listen == 0 || c->nrpe_listen == 1);
	CHECK(c->nrpe_address != NULL);
	{
		unsigned char buf[16];
		CHECK(inet_pton(AF_INET, c->nrpe_address, buf) == 1 ||
		      inet_pton(AF_INET6, c->nrpe_address, buf) == 1);
	}
	CHECK(c->nrpe_port >= 1 && c->nrpe_port <= 65535);
	CHECK(c->nrpe_tls == 0 || c->nrpe_tls == 1);
	check_path(c->nrpe_cert_file, (size_t)-1);
	check_path(c->nrpe_key_file, (size_t)-1);
	check_path(c->nrpe_ca_file, (size_t)-1);
	if (c->nrpe_allowed_hosts != NULL)
		for (const char *p = c->nrpe_allowed_hosts; *p; p++)
			CHECK(strchr("0123456789abcdefABCDEF.:/, ", *p) != NULL);
	check_seconds(c->nrpe_timeout, 0.1, 86400);
	CHECK(c->nrpe_max_clients >= 1 && c->nrpe_max_clients <= 65536);
	/* the rules across keys, for a listener that will start */
	if (c->nrpe_listen) {
		CHECK((c->nrpe_cert_file == NULL) == (c->nrpe_key_file == NULL));
		CHECK(!c->nrpe_tls || c->nrpe_cert_file != NULL || c->nrpe_allow_anonymous_tls);
		CHECK(!c->nrpe_require_client_cert ||
		      (c->nrpe_tls && c->nrpe_ca_file != NULL && !c->nrpe_allow_anonymous_tls));
		CHECK(!c->nrpe_allow_anonymous_tls || c->nrpe_tls);
	}
}

static void check_same(const struct bridge_config *a, const struct bridge_config *b)
{
	CHECK(same_str(a->channel, b->channel) && same_str(a->socket_path, b->socket_path));
	CHECK(a->socket_mode == b->socket_mode && a->socket_gid == b->socket_gid);
	CHECK(a->nallowed_uids == b->nallowed_uids && a->nallowed_gids == b->nallowed_gids);
	CHECK(a->nallowed_uids == 0 ||
	      memcmp(a->allowed_uids, b->allowed_uids, a->nallowed_uids * sizeof(uid_t)) == 0);
	CHECK(a->nallowed_gids == 0 ||
	      memcmp(a->allowed_gids, b->allowed_gids, a->nallowed_gids * sizeof(gid_t)) == 0);
	CHECK(a->socket_timeout == b->socket_timeout && a->request_timeout == b->request_timeout);
	CHECK(a->max_response == b->max_response && a->max_guests == b->max_guests);
	CHECK(same_str(a->pid_file, b->pid_file) && same_str(a->nrpe_address, b->nrpe_address));
	CHECK(same_str(a->nrpe_allowed_hosts, b->nrpe_allowed_hosts));
	CHECK(a->nrpe_listen == b->nrpe_listen && a->nrpe_tls == b->nrpe_tls);
}

/* A string value goes through bconfig_set as a command-line override
 * would: accepted, and stored unchanged. */
static void check_set(struct bridge_config *c, const char *key, char **field)
{
	char err[BCONFIG_ERR_MAX];
	char *v;

	if (*field == NULL)
		return;
	v = strdup(*field);
	CHECK(v != NULL);
	CHECK(bconfig_set(c, key, v, err, sizeof err) == 0);
	CHECK(strcmp(*field, v) == 0);
	free(v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bridge_config *a = NULL, *b = NULL;
	char ea[BCONFIG_ERR_MAX], eb[BCONFIG_ERR_MAX];
	int ra, rb;

	if (size > FUZZ_MAX_INPUT)
		size = FUZZ_MAX_INPUT;
	memset(ea, 0x55, sizeof ea);
	ra = bconfig_parse_buffer("fuzz.cfg", (const char *)data, size, &a, ea, sizeof ea);
	rb = bconfig_parse_buffer("fuzz.cfg", (const char *)data, size, &b, eb, sizeof eb);
	CHECK(ra == rb);
	if (ra < 0) {
		CHECK(ra == -1 && a == NULL && b == NULL);
		CHECK(strnlen(ea, sizeof ea) < sizeof ea);
		CHECK(strncmp(ea, "fuzz.cfg:", 9) == 0);
		CHECK(strcmp(ea, eb) == 0);
		return 0;
	}
	CHECK(ra == 0 && a != NULL && b != NULL);
	check_config(a);
	check_same(a, b);
	check_set(b, "channel", &b->channel);
	check_set(b, "socket_path", &b->socket_path);
	check_set(b, "pid_file", &b->pid_file);
	check_set(b, "nrpe_address", &b->nrpe_address);
	check_set(b, "nrpe_allowed_hosts", &b->nrpe_allowed_hosts);
	check_config(b);
	check_same(a, b);
	bconfig_free(a);
	bconfig_free(b);
	return 0;
}
