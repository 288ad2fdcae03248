/* SPDX-License-Identifier: GPL-2.0-or-later */
/* argv_split quoting, argv_expand argument rules, argv_parse_query. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "../../guest-agent/argv.h"

/* A template as text: each word in [], each placeholder as {n}. */
static const char *render(const struct argv_template *t)
{
	static char out[1 << 16];
	size_t o = 0, k = 0;

	out[0] = '\0';
	for (size_t w = 0; w < t->nwords; w++) {
		const char *lit = t->words[w];
		size_t done = 0;
		o += (size_t)snprintf(out + o, sizeof out - o, "[");
		for (; k < t->nph && t->ph[k].word == w; k++) {
			o += (size_t)snprintf(out + o, sizeof out - o, "%.*s{%u}",
					      (int)(t->ph[k].offset - done), lit + done,
					      t->ph[k].arg);
			done = t->ph[k].offset;
		}
		o += (size_t)snprintf(out + o, sizeof out - o, "%s]", lit + done);
	}
	assert_null(t->words[t->nwords]);
	return out;
}

struct split_case {
	const char *line;
	const char *words; /* render() of the result, or NULL for an error */
	const char *err;
};

static const struct split_case split_cases[] = {
    /* words and whitespace */
    {"a b c", "[a][b][c]", NULL},
    {"  a   b  ", "[a][b]", NULL},
    {"a\tb\t\tc", "[a][b][c]", NULL},
    {"/bin/true", "[/bin/true]", NULL},
    /* single quotes: everything literal */
    {"a 'b c' d", "[a][b c][d]", NULL},
    {"a 'x\"y'", "[a][x\"y]", NULL},
    {"a 'x\\y'", "[a][x\\y]", NULL},
    {"a 'x\\'", "[a][x\\]", NULL},
    {"a ''", "[a][]", NULL},
    {"a '' b", "[a][][b]", NULL},
    /* double quotes: backslash escapes only " and \ */
    {"a \"b c\"", "[a][b c]", NULL},
    {"a \"x'y\"", "[a][x'y]", NULL},
    {"a \"x\\\"y\"", "[a][x\"y]", NULL},
    {"a \"x\\\\y\"", "[a][x\\y]", NULL},
    {"a \"x\\y\"", "[a][x\\y]", NULL},
    {"a \"x\\$y\"", "[a][x\\$y]", NULL},
    {"a \"\"", "[a][]", NULL},
    /* backslash outside quotes */
    {"a x\\ y", "[a][x y]", NULL},
    {"a \\'x\\'", "[a]['x']", NULL},
    {"a \\\"", "[a][\"]", NULL},
    {"a \\\\", "[a][\\]", NULL},
    {"a \\n", "[a][n]", NULL},
    /* the examples of docs/agent.cfg.md */
    {"a b c", "[a][b][c]", NULL},
    {"x 'a b $x \\ \"'", "[x][a b $x \\ \"]", NULL},
    {"x \"a b \\\" \\\\ \\x\"", "[x][a b \" \\ \\x]", NULL},
    {"x -w\"a b\"'c'", "[x][-wa bc]", NULL},
    {"/bin/sh -c 'ps -e | wc -l'", "[/bin/sh][-c][ps -e | wc -l]", NULL},
    /* adjacent parts form one word */
    {"a -w\"a b\"c", "[a][-wa bc]", NULL},
    {"a 'x'\"y\"z", "[a][xyz]", NULL},
    /* placeholders */
    {"cmd $ARG1$", "[cmd][{1}]", NULL},
    {"cmd -w $ARG1$ -c $ARG2$", "[cmd][-w][{1}][-c][{2}]", NULL},
    {"cmd -w$ARG1$ -c$ARG2$", "[cmd][-w{1}][-c{2}]", NULL},
    {"cmd $ARG1$x$ARG2$", "[cmd][{1}x{2}]", NULL},
    {"cmd $ARG1$$ARG2$", "[cmd][{1}{2}]", NULL},
    {"cmd '$ARG1$'", "[cmd][{1}]", NULL},
    {"cmd \"x $ARG1$ y\"", "[cmd][x {1} y]", NULL},
    {"cmd $ARG16$", "[cmd][{16}]", NULL},
    {"cmd $ARG9$ $ARG10$", "[cmd][{9}][{10}]", NULL},
    /* $$ and other dollars */
    {"cmd $$", "[cmd][$]", NULL},
    {"cmd '$$'", "[cmd][$]", NULL},
    {"cmd $$ARG1$", "[cmd][$ARG1$]", NULL},
    {"cmd \\$ARG1$", "[cmd][$ARG1$]", NULL},
    {"cmd $", "[cmd][$]", NULL},
    {"cmd a$", "[cmd][a$]", NULL},
    {"cmd $ARGUMENT$", "[cmd][$ARGUMENT$]", NULL},
    {"cmd $HOME ${X} $(id)", "[cmd][$HOME][${X}][$(id)]", NULL},
    /* no shell: metacharacters are text */
    {"cmd ; | & < > `id` * ? ~ [x]", "[cmd][;][|][&][<][>][`id`][*][?][~][[x]]", NULL},
    {"cmd a;b|c&&d>e", "[cmd][a;b|c&&d>e]", NULL},
    {"/bin/sh -c 'echo $HOME | wc -c'", "[/bin/sh][-c][echo $HOME | wc -c]", NULL},
    /* Debian's /etc/nagios/nrpe.cfg (nagios-nrpe-server 4.1.0) */
    {"/usr/lib/nagios/plugins/check_users -w 5 -c 10",
     "[/usr/lib/nagios/plugins/check_users][-w][5][-c][10]", NULL},
    {"/usr/lib/nagios/plugins/check_load -r -w .15,.10,.05 -c .30,.25,.20",
     "[/usr/lib/nagios/plugins/check_load][-r][-w][.15,.10,.05][-c][.30,.25,.20]", NULL},
    {"/usr/lib/nagios/plugins/check_disk -w 20% -c 10% -p /dev/hda1",
     "[/usr/lib/nagios/plugins/check_disk][-w][20%][-c][10%][-p][/dev/hda1]", NULL},
    {"/usr/lib/nagios/plugins/check_procs -w 5 -c 10 -s Z",
     "[/usr/lib/nagios/plugins/check_procs][-w][5][-c][10][-s][Z]", NULL},
    {"/usr/lib/nagios/plugins/check_netstat.pl -p $ARG1$ $ARG2$",
     "[/usr/lib/nagios/plugins/check_netstat.pl][-p][{1}][{2}]", NULL},
    {"sudo /usr/lib/nagios/plugins/check_init_service $ARG1$",
     "[sudo][/usr/lib/nagios/plugins/check_init_service][{1}]", NULL},
    {"/usr/lib/nagios/plugins/nagisk.pl -c channels ",
     "[/usr/lib/nagios/plugins/nagisk.pl][-c][channels]", NULL},
    /* errors */
    {"", NULL, "empty command line"},
    {"   \t ", NULL, "empty command line"},
    {"'' x", NULL, "the program name (first word) is empty"},
    {"\"\"", NULL, "the program name (first word) is empty"},
    {"cmd 'abc", NULL, "column 5: unterminated single quote"},
    {"cmd \"abc", NULL, "column 5: unterminated double quote"},
    {"cmd 'a' \"b", NULL, "column 9: unterminated double quote"},
    {"cmd \"a\\\"", NULL, "column 5: unterminated double quote"},
    {"cmd abc\\", NULL, "column 8: backslash at the end of the line escapes nothing"},
    {"$ARG1$ x", NULL, "column 1: $ARG1$ in the program name: the program must be fixed"},
    {"pre$ARG2$ x", NULL, "column 4: $ARG2$ in the program name: the program must be fixed"},
    {"cmd $ARG0$", NULL, "column 5: $ARG0$: placeholder number out of range 1..16"},
    {"cmd $ARG17$", NULL, "column 5: $ARG17$: placeholder number out of range 1..16"},
    {"cmd $ARG01$", NULL, "column 5: $ARG01$: placeholder number out of range 1..16"},
    {"cmd $ARG100$", NULL, "column 5: $ARG100$: placeholder number out of range 1..16"},
    {"cmd $ARG1000$", NULL, "column 5: placeholder number too long (use $ARG1$..$ARG16$)"},
    {"cmd x$ARG1", NULL, "column 6: placeholder $ARG1 lacks its closing '$'"},
    {"cmd '$ARG2 x'", NULL, "column 6: placeholder $ARG2 lacks its closing '$'"},
};

static void test_split_table(void **state)
{
	for (size_t i = 0; i < sizeof split_cases / sizeof split_cases[0]; i++) {
		const struct split_case *c = &split_cases[i];
		struct argv_template *t = NULL;
		char err[256] = "";
		int rc = argv_split(c->line, 0, &t, err, sizeof err);

		if (c->words != NULL) {
			if (rc != 0)
				fail_msg("<%s>: %s", c->line, err);
			if (strcmp(render(t), c->words) != 0)
				fail_msg("<%s>: got %s, want %s", c->line, render(t), c->words);
			argv_template_free(t);
		} else {
			if (rc != -1 || t != NULL)
				fail_msg("<%s>: accepted as %s", c->line, render(t));
			if (strcmp(err, c->err) != 0)
				fail_msg("<%s>: error '%s', want '%s'", c->line, err, c->err);
		}
	}
}

static void test_split_details(void **state)
{
	struct argv_template *t;
	char err[256];

	/* column_base shifts reported columns (a config line's value) */
	assert_int_equal(argv_split("x 'a", 10, &t, err, sizeof err), -1);
	assert_string_equal(err, "column 13: unterminated single quote");

	assert_int_equal(argv_split("cmd -w$ARG3$ $ARG1$ $ARG3$", 0, &t, err, sizeof err), 0);
	assert_int_equal(t->nwords, 4);
	assert_int_equal(t->nph, 3);
	assert_int_equal(t->args_used, (1u << 0) | (1u << 2));
	assert_int_equal(t->ph[0].word, 1);
	assert_int_equal(t->ph[0].offset, 2);
	assert_int_equal(t->ph[0].arg, 3);
	assert_string_equal(t->words[1], "-w");
	assert_string_equal(t->words[2], "");
	argv_template_free(t);

	/* err may be NULL */
	assert_int_equal(argv_split("'", 0, &t, NULL, 0), -1);
	argv_template_free(NULL);
}

static void test_split_limits(void **state)
{
	char *line = malloc(ARGV_MAX_LINE + 2);
	struct argv_template *t;
	char err[256];
	size_t n = 0;

	/* ARGV_MAX_WORDS words fit, one more does not */
	for (int i = 0; i < ARGV_MAX_WORDS; i++)
		n += (size_t)sprintf(line + n, "w ");
	assert_int_equal(argv_split(line, 0, &t, err, sizeof err), 0);
	assert_int_equal(t->nwords, ARGV_MAX_WORDS);
	argv_template_free(t);
	sprintf(line + n, "w");
	assert_int_equal(argv_split(line, 0, &t, err, sizeof err), -1);
	assert_string_equal(err, "column 514: more than 256 words");

	/* ARGV_MAX_PLACEHOLDERS placeholders fit, one more does not */
	n = (size_t)sprintf(line, "cmd ");
	for (int i = 0; i < ARGV_MAX_PLACEHOLDERS; i++)
		n += (size_t)sprintf(line + n, "$ARG1$");
	assert_int_equal(argv_split(line, 0, &t, err, sizeof err), 0);
	assert_int_equal(t->nph, ARGV_MAX_PLACEHOLDERS);
	argv_template_free(t);
	sprintf(line + n, "$ARG2$");
	assert_int_equal(argv_split(line, 0, &t, err, sizeof err), -1);
	assert_string_equal(err, "column 389: more than 64 placeholders");

	/* line length */
	memset(line, 'a', ARGV_MAX_LINE);
	line[ARGV_MAX_LINE] = '\0';
	assert_int_equal(argv_split(line, 0, &t, err, sizeof err), 0);
	argv_template_free(t);
	line[ARGV_MAX_LINE] = 'a';
	line[ARGV_MAX_LINE + 1] = '\0';
	assert_int_equal(argv_split(line, 0, &t, err, sizeof err), -1);
	assert_string_equal(err, "command line longer than 8192 bytes");
	free(line);
}

static void test_join(void **state)
{
	struct argv_template *a, *b, *j;
	char err[256];

	assert_int_equal(argv_split("/usr/bin/sudo -n", 0, &a, err, sizeof err), 0);
	assert_int_equal(argv_split("cmd -w$ARG1$ $ARG2$", 0, &b, err, sizeof err), 0);
	assert_int_equal(argv_template_join(a, b, &j, err, sizeof err), 0);
	assert_string_equal(render(j), "[/usr/bin/sudo][-n][cmd][-w{1}][{2}]");
	assert_int_equal(j->args_used, 3);
	argv_template_free(j);
	argv_template_free(a);
	argv_template_free(b);
}

/* ------------------------------------------------------------ queries */

static void test_parse_query(void **state)
{
	struct argv_query q;
	char err[256];

	assert_int_equal(argv_parse_query("check_load", 10, &q, err, sizeof err), 0);
	assert_string_equal(q.name, "check_load");
	assert_int_equal(q.nargs, 0);
	argv_query_free(&q);
	assert_null(q.buf);

	assert_int_equal(argv_parse_query("check_disk!20%!10%", 18, &q, err, sizeof err), 0);
	assert_string_equal(q.name, "check_disk");
	assert_int_equal(q.nargs, 2);
	assert_string_equal(q.args[0], "20%");
	assert_string_equal(q.args[1], "10%");
	assert_int_equal(q.arglen[1], 3);
	argv_query_free(&q);

	/* empty arguments keep their position */
	assert_int_equal(argv_parse_query("c!!x!", 5, &q, err, sizeof err), 0);
	assert_int_equal(q.nargs, 3);
	assert_string_equal(q.args[0], "");
	assert_string_equal(q.args[1], "x");
	assert_string_equal(q.args[2], "");
	argv_query_free(&q);

	/* not NUL-terminated: only len bytes count */
	assert_int_equal(argv_parse_query("abc!1XYZ", 5, &q, err, sizeof err), 0);
	assert_string_equal(q.name, "abc");
	assert_string_equal(q.args[0], "1");
	argv_query_free(&q);

	assert_int_equal(argv_parse_query("_NRPE_CHECK", 11, &q, err, sizeof err), 0);
	argv_query_free(&q);

	/* a NUL inside an argument is kept for argv_expand to refuse */
	assert_int_equal(argv_parse_query("c!a\0b", 5, &q, err, sizeof err), 0);
	assert_int_equal(q.arglen[0], 3);
	assert_string_equal(q.args[0], "a");
	argv_query_free(&q);
	argv_query_free(NULL);
}

static void test_parse_query_errors(void **state)
{
	static const struct {
		const char *q;
		size_t len;
		const char *err;
	} cases[] = {
	    {"", 0, "empty command name"},
	    {"!x", 0, "empty command name"},
	    {"bad name", 0,
	     "command name: byte 4 (0x20) is not allowed (allowed: A-Z a-z 0-9 _ . -)"},
	    {"a/b", 0, "command name: byte 2 (0x2f) is not allowed (allowed: A-Z a-z 0-9 _ . -)"},
	    {"ab\0c", 4, "command name: byte 3 (0x00) is not allowed (allowed: A-Z a-z 0-9 _ . -)"},
	    {"x;id", 0, "command name: byte 2 (0x3b) is not allowed (allowed: A-Z a-z 0-9 _ . -)"},
	    {"c!1!2!3!4!5!6!7!8!9!10!11!12!13!14!15!16!17", 0, "more than 16 arguments"},
	};
	struct argv_query q;
	char err[256];

	/* len 0: strlen */
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		size_t len = cases[i].len ? cases[i].len : strlen(cases[i].q);
		assert_int_equal(argv_parse_query(cases[i].q, len, &q, err, sizeof err), -1);
		assert_string_equal(err, cases[i].err);
		assert_null(q.buf);
	}

	/* 16 arguments are fine */
	const char *q16 = "c!1!2!3!4!5!6!7!8!9!10!11!12!13!14!15!16";
	assert_int_equal(argv_parse_query(q16, strlen(q16), &q, err, sizeof err), 0);
	assert_int_equal(q.nargs, 16);
	assert_string_equal(q.args[15], "16");
	argv_query_free(&q);

	/* name length */
	char name[ARGV_NAME_MAX + 2];
	memset(name, 'n', sizeof name);
	assert_int_equal(argv_parse_query(name, ARGV_NAME_MAX, &q, err, sizeof err), 0);
	argv_query_free(&q);
	assert_int_equal(argv_parse_query(name, ARGV_NAME_MAX + 1, &q, err, sizeof err), -1);
	assert_string_equal(err, "command name longer than 128 bytes");

	/* query length */
	char *big = malloc(ARGV_QUERY_MAX + 1);
	memset(big, 'a', ARGV_QUERY_MAX + 1);
	big[1] = '!';
	assert_int_equal(argv_parse_query(big, ARGV_QUERY_MAX, &q, err, sizeof err), 0);
	argv_query_free(&q);
	assert_int_equal(argv_parse_query(big, ARGV_QUERY_MAX + 1, &q, err, sizeof err), -1);
	assert_string_equal(err, "query longer than 65535 bytes");
	free(big);
}

/* ------------------------------------------------------------ expansion */

struct fixture {
	regex_t re;
	struct argv_policy pol;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof *f);
	char err[256];

	if (f == NULL ||
	    argv_allowlist_compile(&f->re, "[A-Za-z0-9 ._,:/%@=+~-]*", err, sizeof err) < 0)
		return -1;
	f->pol.allow_args = 1;
	f->pol.allowlist = &f->re;
	f->pol.max_len = 256;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	regfree(&f->re);
	free(f);
	return 0;
}

/* Expands `line` for `query` (a C string); returns the argv joined with
 * '|', or "ERR:" and the reason. */
static const char *expand(const char *line, const char *query, const struct argv_policy *pol)
{
	static char out[1 << 18];
	struct argv_template *t;
	struct argv_query q;
	char err[256], **argv;
	size_t o = 0;

	if (argv_split(line, 0, &t, err, sizeof err) < 0)
		fail_msg("split <%s>: %s", line, err);
	if (argv_parse_query(query, strlen(query), &q, err, sizeof err) < 0)
		fail_msg("query <%s>: %s", query, err);
	if (argv_expand(t, &q, pol, &argv, err, sizeof err) < 0) {
		snprintf(out, sizeof out, "ERR:%s", err);
	} else {
		out[0] = '\0';
		for (size_t i = 0; argv[i] != NULL; i++)
			o += (size_t)snprintf(out + o, sizeof out - o, "%s%s", i ? "|" : "",
					      argv[i]);
		argv_free(argv);
	}
	argv_query_free(&q);
	argv_template_free(t);
	return out;
}

static void test_expand(void **state)
{
	struct fixture *f = *state;
	const char *tmpl = "cmd -w $ARG1$ -c$ARG2$ \"x $ARG1$ y\"";

	assert_string_equal(expand(tmpl, "c!10!20", &f->pol), "cmd|-w|10|-c20|x 10 y");
	/* an argument with spaces stays one element */
	assert_string_equal(expand(tmpl, "c!a b!2", &f->pol), "cmd|-w|a b|-c2|x a b y");
	/* missing arguments are empty strings */
	assert_string_equal(expand(tmpl, "c!10", &f->pol), "cmd|-w|10|-c|x 10 y");
	assert_string_equal(expand(tmpl, "c", &f->pol), "cmd|-w||-c|x  y");
	/* empty arguments keep their position */
	assert_string_equal(expand(tmpl, "c!!5", &f->pol), "cmd|-w||-c5|x  y");
	/* extra arguments are checked but unused */
	assert_string_equal(expand(tmpl, "c!1!2!3", &f->pol), "cmd|-w|1|-c2|x 1 y");
	assert_string_equal(
	    expand("cmd $ARG16$", "c!1!2!3!4!5!6!7!8!9!10!11!12!13!14!15!16", &f->pol), "cmd|16");
	/* no placeholders: the literal words */
	assert_string_equal(expand("/bin/echo 'a b' c", "c", &f->pol), "/bin/echo|a b|c");
	/* what would be shell syntax is passed on untouched */
	assert_string_equal(expand("/bin/echo $HOME;id", "c", &f->pol), "/bin/echo|$HOME;id");

	/* NULL query = no arguments */
	struct argv_template *t;
	char err[256], **argv;
	assert_int_equal(argv_split("cmd $ARG1$", 0, &t, err, sizeof err), 0);
	assert_int_equal(argv_expand(t, NULL, &f->pol, &argv, err, sizeof err), 0);
	assert_string_equal(argv[0], "cmd");
	assert_string_equal(argv[1], "");
	assert_null(argv[2]);
	argv_free(argv);
	argv_template_free(t);
	argv_free(NULL);
}

static void test_expand_disabled(void **state)
{
	struct fixture *f = *state;
	struct argv_policy off = f->pol;
	const char *refusal =
	    "ERR:command arguments are disabled (dont_blame_nrpe=0): request refused";

	off.allow_args = 0;
	/* as nrpe: arguments sent while disabled refuse the request */
	assert_string_equal(expand("cmd $ARG1$", "c!x", &off), refusal);
	assert_string_equal(expand("cmd", "c!x", &off), refusal);
	assert_string_equal(expand("cmd $ARG1$", "c!", &off), refusal);
	/* no arguments: runs, placeholders empty */
	assert_string_equal(expand("cmd -w $ARG1$", "c", &off), "cmd|-w|");
}

static void test_expand_refusals(void **state)
{
	struct fixture *f = *state;
	struct argv_policy p = f->pol;
	const char *tmpl = "cmd $ARG1$";

	/* the allowlist */
	assert_string_equal(expand(tmpl, "c!ok!a;b", &p),
			    "ERR:argument 2 refused: does not match the allowlist (arg_allowlist)");
	assert_string_equal(expand(tmpl, "c!$(id)", &p),
			    "ERR:argument 1 refused: does not match the allowlist (arg_allowlist)");
	assert_string_equal(expand(tmpl, "c!`id`", &p),
			    "ERR:argument 1 refused: does not match the allowlist (arg_allowlist)");
	assert_string_equal(expand(tmpl, "c!a|b", &p),
			    "ERR:argument 1 refused: does not match the allowlist (arg_allowlist)");
	assert_string_equal(expand(tmpl, "c!@10:20!~:5!80%!/var/log!a=b,c+d", &p), "cmd|@10:20");

	/* length */
	p.max_len = 4;
	assert_string_equal(expand(tmpl, "c!1234", &p), "cmd|1234");
	assert_string_equal(expand(tmpl, "c!1!12345", &p),
			    "ERR:argument 2 refused: longer than 4 bytes (arg_max_length)");

	/* line breaks and NUL: refused even without an allowlist */
	p = f->pol;
	p.allowlist = NULL;
	assert_string_equal(expand(tmpl, "c!a;b|c", &p), "cmd|a;b|c");
	assert_string_equal(expand(tmpl, "c!a\nb", &p),
			    "ERR:argument 1 refused: contains a line break");
	assert_string_equal(expand(tmpl, "c!x!a\rb", &p),
			    "ERR:argument 2 refused: contains a line break");
	assert_string_equal(expand(tmpl, "c!x!\n", &p),
			    "ERR:argument 2 refused: contains a line break");

	struct argv_template *t;
	struct argv_query q;
	char err[256], **argv = NULL;
	assert_int_equal(argv_split(tmpl, 0, &t, err, sizeof err), 0);
	assert_int_equal(argv_parse_query("c!ok!a\0b", 8, &q, err, sizeof err), 0);
	assert_int_equal(argv_expand(t, &q, &p, &argv, err, sizeof err), -1);
	assert_string_equal(err, "argument 2 refused: contains a NUL byte");
	assert_null(argv);
	argv_query_free(&q);
	argv_template_free(t);
}

static void test_expand_word_limit(void **state)
{
	struct fixture *f = *state;
	struct argv_policy p = {.allow_args = 1, .allowlist = NULL, .max_len = 4096};
	struct argv_template *t;
	struct argv_query q;
	char err[256], **argv;
	char line[64 * 6 + 16], *query;
	size_t n;

	(void)f;
	n = (size_t)sprintf(line, "cmd ");
	for (int i = 0; i < 32; i++)
		n += (size_t)sprintf(line + n, "$ARG1$");
	assert_int_equal(argv_split(line, 0, &t, err, sizeof err), 0);
	query = malloc(4096 + 3);
	memcpy(query, "c!", 2);
	memset(query + 2, 'x', 4096);
	/* 32 * 4095 bytes fit below ARGV_WORD_MAX, 32 * 4096 do not */
	assert_int_equal(argv_parse_query(query, 2 + 4095, &q, err, sizeof err), 0);
	assert_int_equal(argv_expand(t, &q, &p, &argv, err, sizeof err), 0);
	assert_int_equal(strlen(argv[1]), 32 * 4095);
	argv_free(argv);
	argv_query_free(&q);
	assert_int_equal(argv_parse_query(query, 2 + 4096, &q, err, sizeof err), 0);
	assert_int_equal(argv_expand(t, &q, &p, &argv, err, sizeof err), -1);
	assert_string_equal(err, "word 2 would be longer than 131071 bytes");
	argv_query_free(&q);
	argv_template_free(t);
	free(query);
}

static void test_allowlist_compile(void **state)
{
	regex_t re;
	char err[256];

	/* anchored: the whole argument must match */
	assert_int_equal(argv_allowlist_compile(&re, "[a-z]+", err, sizeof err), 0);
	assert_int_equal(regexec(&re, "abc", 0, NULL, 0), 0);
	assert_int_not_equal(regexec(&re, "abc;x", 0, NULL, 0), 0);
	assert_int_not_equal(regexec(&re, "", 0, NULL, 0), 0);
	regfree(&re);
	/* alternation applies to the whole pattern */
	assert_int_equal(argv_allowlist_compile(&re, "a|b", err, sizeof err), 0);
	assert_int_equal(regexec(&re, "b", 0, NULL, 0), 0);
	assert_int_not_equal(regexec(&re, "ab", 0, NULL, 0), 0);
	regfree(&re);
	/* explicit anchors still work */
	assert_int_equal(argv_allowlist_compile(&re, "^[0-9]*$", err, sizeof err), 0);
	assert_int_equal(regexec(&re, "42", 0, NULL, 0), 0);
	assert_int_not_equal(regexec(&re, "4a", 0, NULL, 0), 0);
	regfree(&re);

	assert_int_equal(argv_allowlist_compile(&re, "(", err, sizeof err), -1);
	assert_true(strncmp(err, "invalid regular expression: ", 28) == 0);
	assert_int_equal(argv_allowlist_compile(&re, "a{2,1}", err, sizeof err), -1);

	/* what glibc would need minutes or gigabytes for is refused up front */
	static const struct {
		const char *pattern, *err;
	} heavy[] = {
	    {"a++",
	     "byte 3: adjacent repetition operators (undefined in POSIX regular expressions)"},
	    {"a+++++++++*++++++++",
	     "byte 3: adjacent repetition operators (undefined in POSIX regular expressions)"},
	    {"[a-z]*{2}",
	     "byte 7: adjacent repetition operators (undefined in POSIX regular expressions)"},
	    {"((((a)+)*)+)*", "byte 13: repetitions nested deeper than 3"},
	    {"((((((((((a)+)*)+)*)+)*)+)*)+)*", "byte 19: repetitions nested deeper than 3"},
	    {"(x?){0,400}", "byte 5: {m,n} of something that can match the empty string (write "
			    "x{0,9}, not (x?){0,9})"},
	    {"((x+)*){1,200}", "byte 8: {m,n} of something that can match the empty string "
			       "(write x{0,9}, not (x?){0,9})"},
	    {"(a|b?){1,9}", "byte 7: {m,n} of something that can match the empty string (write "
			    "x{0,9}, not (x?){0,9})"},
	    {"(a{1,999}){1,999}",
	     "pattern too complex: its repetitions expand to more than 5000 elements"},
	    {"((((a{1,99}){1,99}",
	     "pattern too complex: its repetitions expand to more than 5000 elements"},
	    {"a{0,9999}", "pattern too complex: its repetitions expand to more than 5000 elements"},
	    {"((((((((((((((((((((((((((((((((((a))))))))))))))))))))))))))))))))))",
	     "byte 33: groups nested deeper than 32"},
	};
	for (size_t i = 0; i < sizeof heavy / sizeof heavy[0]; i++) {
		if (argv_allowlist_compile(&re, heavy[i].pattern, err, sizeof err) != -1)
			fail_msg("%s: accepted", heavy[i].pattern);
		if (strcmp(err, heavy[i].err) != 0)
			fail_msg("%s:\n  error '%s'\n  want  '%s'", heavy[i].pattern, err,
				 heavy[i].err);
	}
	static const char *const fine[] = {
	    "[A-Za-z0-9 ._,:/%@=+~-]*",
	    "[a-z]{1,100}",
	    "(ab|cd){1,200}",
	    "x{1000}",
	    "(x?){400}",
	    "(a*)+",
	    "((a+)*b)+",
	    "[]{}()+*]+",
	    "[[:alpha:]]{1,64}",
	    "\\{1,2}|\\(",
	    "(((a)))+",
	    "([a-z0-9-]{1,63}\\.){0,10}[a-z]{2,63}",
	    "(a*)(a*)(a*)(a*)(a*)(a*)(a*)(a*)(a*)(a*)(a*)(a*)(a*)(a*)(a*)(a*)",
	    "-?[0-9]+(\\.[0-9]+)?(:-?[0-9]+(\\.[0-9]+)?)?%?",
	};
	for (size_t i = 0; i < sizeof fine / sizeof fine[0]; i++) {
		if (argv_allowlist_compile(&re, fine[i], err, sizeof err) != 0)
			fail_msg("%s: %s", fine[i], err);
		regfree(&re);
	}
	assert_int_equal(argv_allowlist_compile(&re, "[]{}()+*]+", err, sizeof err), 0);
	assert_int_equal(regexec(&re, "}{+", 0, NULL, 0), 0);
	regfree(&re);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_split_table),
	    cmocka_unit_test(test_split_details),
	    cmocka_unit_test(test_split_limits),
	    cmocka_unit_test(test_join),
	    cmocka_unit_test(test_parse_query),
	    cmocka_unit_test(test_parse_query_errors),
	    cmocka_unit_test_setup_teardown(test_expand, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_expand_disabled, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_expand_refusals, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_expand_word_limit, setup, teardown),
	    cmocka_unit_test(test_allowlist_compile),
	};
	return cmocka_run_group_tests_name("argv", tests, NULL, NULL);
}
