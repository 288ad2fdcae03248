/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target for argv.c: argv_split, argv_template_join,
 * argv_parse_query and argv_expand.  Input: one flags byte, then a command
 * line up to the first newline, then a query (all remaining bytes, NULs
 * and newlines included).  Flags: bit 0 allows arguments, bit 1 applies
 * the default allowlist, bits 2-3 pick arg_max_length.  Checked: templates
 * are well formed; a parsed query has a valid name and at most 16
 * arguments; an expansion that succeeds has one element per word, each of
 * the expected length, and no refused argument ever reaches it.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../guest-agent/argv.h"

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond))                                                                       \
			abort();                                                                   \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_check_template(const struct argv_template *t)
{
	CHECK(t->nwords >= 1 && t->nwords <= ARGV_MAX_WORDS);
	CHECK(t->words[t->nwords] == NULL);
	CHECK(t->nph <= ARGV_MAX_PLACEHOLDERS);
	for (size_t i = 0; i < t->nph; i++) {
		CHECK(t->ph[i].word >= 1 && t->ph[i].word < t->nwords);
		CHECK(t->ph[i].offset <= strlen(t->words[t->ph[i].word]));
		CHECK(t->ph[i].arg >= 1 && t->ph[i].arg <= ARGV_MAX_ARGS);
	}
}

static void fuzz_expand(const struct argv_template *t, const struct argv_query *q,
			const struct argv_policy *pol)
{
	char err[256], **argv;
	size_t k = 0;

	if (argv_expand(t, q, pol, &argv, err, sizeof err) < 0) {
		CHECK(err[0] != '\0');
		return;
	}
	CHECK(q->nargs == 0 || pol->allow_args);
	for (size_t i = 0; i < q->nargs; i++) {
		CHECK(strlen(q->args[i]) == q->arglen[i]);
		CHECK(q->arglen[i] <= pol->max_len);
		CHECK(strpbrk(q->args[i], "\n\r") == NULL);
		CHECK(pol->allowlist == NULL ||
		      regexec(pol->allowlist, q->args[i], 0, NULL, 0) == 0);
	}
	for (size_t w = 0; w < t->nwords; w++) {
		size_t want = strlen(t->words[w]);
		for (; k < t->nph && t->ph[k].word == w; k++)
			if (t->ph[k].arg <= q->nargs)
				want += q->arglen[t->ph[k].arg - 1];
		CHECK(argv[w] != NULL && strlen(argv[w]) == want);
	}
	CHECK(argv[t->nwords] == NULL);
	argv_free(argv);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static regex_t re;
	static int have_re;
	static const size_t lens[] = {1, 8, 256, 4096};
	struct argv_template *t = NULL, *j = NULL;
	struct argv_query q;
	struct argv_policy pol;
	const uint8_t *nl;
	size_t linelen;
	char *line, err[256];
	int split_ok, query_ok;

	if (!have_re) {
		CHECK(argv_allowlist_compile(&re, "[A-Za-z0-9 ._,:/%@=+~-]*", err, sizeof err) ==
		      0);
		have_re = 1;
	}
	if (size < 1 || size > 2 * ARGV_QUERY_MAX)
		return 0;
	pol.allow_args = data[0] & 1;
	pol.allowlist = (data[0] & 2) ? &re : NULL;
	pol.max_len = lens[(data[0] >> 2) & 3];
	data++;
	size--;

	nl = memchr(data, '\n', size);
	linelen = nl != NULL ? (size_t)(nl - data) : size;
	line = malloc(linelen + 1);
	CHECK(line != NULL);
	memcpy(line, data, linelen);
	line[linelen] = '\0';

	split_ok = argv_split(line, 0, &t, err, sizeof err) == 0;
	if (split_ok) {
		fuzz_check_template(t);
		if (argv_template_join(t, t, &j, err, sizeof err) == 0) {
			fuzz_check_template(j);
			CHECK(j->nwords == 2 * t->nwords && j->nph == 2 * t->nph);
		} else {
			CHECK(2 * t->nwords > ARGV_MAX_WORDS || 2 * t->nph > ARGV_MAX_PLACEHOLDERS);
		}
	} else {
		CHECK(t == NULL && err[0] != '\0');
	}

	query_ok = 0;
	if (nl != NULL) {
		const char *qs = (const char *)nl + 1;
		size_t qlen = size - linelen - 1;
		query_ok = argv_parse_query(qs, qlen, &q, err, sizeof err) == 0;
		if (query_ok) {
			CHECK(q.nargs <= ARGV_MAX_ARGS);
			CHECK(argv_check_name(q.name, strlen(q.name), NULL, 0) == 0);
			CHECK(memchr(q.name, '!', strlen(q.name)) == NULL);
		}
	}
	if (split_ok) {
		if (query_ok) {
			fuzz_expand(t, &q, &pol);
			if (j != NULL)
				fuzz_expand(j, &q, &pol);
		}
		/* no arguments at all */
		char **argv;
		CHECK(argv_expand(t, NULL, &pol, &argv, err, sizeof err) == 0);
		argv_free(argv);
	}
	if (query_ok)
		argv_query_free(&q);
	argv_template_free(t);
	argv_template_free(j);
	free(line);
	return 0;
}
