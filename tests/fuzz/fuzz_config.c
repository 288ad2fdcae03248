/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target for the configuration parser (config_parse_buffer, the
 * core of config_load, with includes switched off so that an input cannot
 * make the fuzzer walk the file system).  A load either fails with a
 * "fuzz.cfg:..." message or yields a configuration whose invariants hold:
 * values within their ranges, commands sorted and unique and found by
 * config_command(), templates well formed and expandable.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../guest-agent/config.h"

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond))                                                                       \
			abort();                                                                   \
	} while (0)

/* Larger inputs only repeat lines; keeps each run fast. */
#define FUZZ_MAX_INPUT (64 * 1024)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_check_template(const struct argv_template *t, const struct argv_policy *pol)
{
	static const char query[] = "x!1!a b!!4";
	struct argv_query q;
	char err[256], **argv;

	CHECK(t->nwords >= 1 && t->nwords <= ARGV_MAX_WORDS);
	CHECK(t->words[t->nwords] == NULL);
	CHECK(t->nph <= ARGV_MAX_PLACEHOLDERS);
	for (size_t i = 0; i < t->nph; i++) {
		const struct argv_placeholder *ph = &t->ph[i];
		CHECK(ph->word >= 1 && ph->word < t->nwords);
		CHECK(ph->offset <= strlen(t->words[ph->word]));
		CHECK(ph->arg >= 1 && ph->arg <= ARGV_MAX_ARGS);
		CHECK(t->args_used & (1u << (ph->arg - 1)));
		if (i > 0)
			CHECK(ph->word > t->ph[i - 1].word ||
			      (ph->word == t->ph[i - 1].word && ph->offset >= t->ph[i - 1].offset));
	}
	CHECK(argv_parse_query(query, sizeof query - 1, &q, err, sizeof err) == 0);
	if (argv_expand(t, &q, pol, &argv, err, sizeof err) == 0) {
		size_t n = 0;
		while (argv[n] != NULL)
			n++;
		CHECK(n == t->nwords);
		argv_free(argv);
	}
	argv_query_free(&q);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct agent_config *cfg = NULL;
	char err[CONFIG_ERR_MAX];

	if (size > FUZZ_MAX_INPUT)
		return 0;

	if (config_parse_buffer("fuzz.cfg", (const char *)data, size, CONFIG_PARSE_NO_INCLUDES,
				&cfg, err, sizeof err) < 0) {
		CHECK(cfg == NULL);
		CHECK(strncmp(err, "fuzz.cfg", 8) == 0);
		return 0;
	}
	CHECK(cfg->command_timeout >= CONFIG_COMMAND_TIMEOUT_MIN &&
	      cfg->command_timeout <= CONFIG_COMMAND_TIMEOUT_MAX);
	CHECK(cfg->max_concurrent >= CONFIG_MAX_CONCURRENT_MIN &&
	      cfg->max_concurrent <= CONFIG_MAX_CONCURRENT_MAX);
	CHECK(cfg->max_queue <= CONFIG_MAX_QUEUE_MAX);
	CHECK(cfg->output_cap >= CONFIG_OUTPUT_CAP_MIN && cfg->output_cap <= CONFIG_OUTPUT_CAP_MAX);
	CHECK(cfg->arg_policy.max_len == cfg->arg_max_length);
	CHECK(cfg->probe_uid != 0 && cfg->probe_gid != 0);
	CHECK(cfg->channel != NULL && cfg->arg_allowlist != NULL);
	CHECK(cfg->nnotices <= CONFIG_NOTICES_MAX);
	CHECK(cfg->nkeep_env <= CONFIG_ENV_MAX);

	struct argv_policy pol = cfg->arg_policy;
	pol.allow_args = 1;
	for (size_t i = 0; i < cfg->ncommands; i++) {
		const struct command *c = &cfg->commands[i];
		if (i > 0)
			CHECK(strcmp(cfg->commands[i - 1].name, c->name) < 0);
		CHECK(config_command(cfg, c->name) == c);
		CHECK(argv_check_name(c->name, strlen(c->name), NULL, 0) == 0);
		CHECK(c->argv->words[0][0] == '/');
		if (i < 64)
			fuzz_check_template(c->argv, &pol);
	}
	CHECK(config_command(cfg, "no such command!") == NULL);
	config_free(cfg);
	return 0;
}
