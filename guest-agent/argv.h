/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * argv.h - command lines to argv arrays, without a shell, and NRPE queries.
 *
 * A command line from the configuration is split once, at load time, into
 * an argv template (argv_split).  For each request the template is filled
 * with the request's arguments (argv_expand), which yields the argv array
 * that is handed to posix_spawn.  Nothing here ever involves a shell: no
 * expansion of any kind happens, and an argument from a request is always
 * exactly one argv element, however many spaces or quotes it holds.
 *
 * Quoting rules of argv_split (docs/agent.cfg.md has the same, for users):
 *   - Spaces, tabs (and the other isspace() characters) separate words.
 *   - '...' keeps everything between the quotes literally.
 *   - "..." keeps everything literally, except that a backslash escapes
 *     '"' and '\' (and only those: "a\b" is the three bytes a \ b).
 *   - Outside quotes, a backslash makes the next character literal.
 *   - Quoted and unquoted parts next to each other form one word
 *     (-w"a b"c is the single word: -wa bc); '' or "" is an empty word.
 *   - An unterminated quote and a backslash at the end of the line are
 *     errors; the message names the column.
 *   - $ARGn$ (n = 1..ARGV_MAX_ARGS, written without leading zeros) is a
 *     placeholder for request argument n.  It is recognised everywhere,
 *     inside quotes too, because nrpe substitutes arguments before its
 *     shell sees the quotes: nrpe lines like -u '$ARG1$' keep working.
 *     A placeholder may be a whole word or part of one (-w$ARG1$).
 *     $ARG0$, $ARG17$, $ARG01$ and $ARG1 (no closing '$') are errors.
 *   - $$ is one literal '$' (nrpe's escape), in every context.  Outside
 *     quotes, \$ is a literal '$' as well.  Any other '$' is literal.
 *   - ; | & < > ( ) ` * ? [ ] ~ { } and $VAR have no meaning at all: they
 *     are ordinary characters.  Whoever wants a shell writes one out:
 *     /bin/sh -c '...' (and then owns its quoting).
 *   - The first word (the program) must not contain a placeholder.
 *
 * Functions that can fail return 0 on success and -1 on failure, writing a
 * one-line English reason (no trailing newline, no untrusted bytes copied
 * verbatim) into err[errlen] when err is not NULL.  Out of memory is a
 * failure with the reason "out of memory".
 */
#ifndef XV_ARGV_H
#define XV_ARGV_H

#include <regex.h>
#include <stddef.h>
#include <stdint.h>

/* $ARG1$..$ARG16$: nrpe's MAX_COMMAND_ARGUMENTS, and the most arguments a
 * request may carry. */
#define ARGV_MAX_ARGS 16
/* Most words in one split command line (program + its arguments). */
#define ARGV_MAX_WORDS 256
/* Longest command line argv_split accepts, in bytes. */
#define ARGV_MAX_LINE 8192
/* Most placeholders in one command line. */
#define ARGV_MAX_PLACEHOLDERS 64
/* Longest single argv element after expansion, including its NUL: Linux's
 * MAX_ARG_STRLEN, beyond which execve fails with E2BIG anyway. */
#define ARGV_WORD_MAX 131072
/* Longest command name in a request or a command[NAME] definition. */
#define ARGV_NAME_MAX 128
/* Longest query text (name!arg!...): an NRPE v4 buffer holds 65536 bytes
 * including the terminating NUL. */
#define ARGV_QUERY_MAX 65535
/* Allowlist patterns (see argv_allowlist_compile): the most elements their
 * repetitions may expand to, and the deepest nesting of groups. */
#define ARGV_ALLOWLIST_COST_MAX 5000
#define ARGV_ALLOWLIST_NEST_MAX 32
/* Repetitions applied to groups that hold repetitions: "(a+)*" is 2 deep. */
#define ARGV_ALLOWLIST_REP_NEST_MAX 3

/* Where argument `arg` (1..ARGV_MAX_ARGS) goes: into word `word`, before
 * byte `offset` of that word's literal text. */
struct argv_placeholder {
	size_t word;
	size_t offset;
	unsigned arg;
};

/* A split command line.  words[i] is the literal text of word i with its
 * placeholders taken out (words[nwords] is NULL); ph lists the placeholders
 * ordered by word, then offset.  Bit n-1 of args_used is set when $ARGn$
 * occurs somewhere.  Treat as read-only. */
struct argv_template {
	size_t nwords;
	char **words;
	size_t nph;
	struct argv_placeholder *ph;
	uint32_t args_used;
};

/* A parsed request: "name!arg1!arg2..." as check_nrpe encodes it.  name is
 * validated (argv_check_name).  args[i] is argument i+1 as a C string and
 * arglen[i] the number of bytes that arrived for it: when the two disagree
 * the argument held a NUL byte, which argv_expand refuses.  Since '!'
 * separates arguments, no argument can contain a '!': NRPE's encoding has
 * no escape for it. */
struct argv_query {
	char *name;
	size_t nargs;
	char *args[ARGV_MAX_ARGS];
	size_t arglen[ARGV_MAX_ARGS];
	char *buf; /* owns name and args */
};

/* How request arguments are judged.  allow_args is nrpe's dont_blame_nrpe:
 * when 0 a request carrying any argument (even an empty one, "cmd!") is
 * refused as a whole, as nrpe refuses it; a request without arguments runs
 * with every placeholder empty.  allowlist (from argv_allowlist_compile;
 * NULL = no pattern) must match each whole argument; max_len is the longest
 * argument in bytes. */
struct argv_policy {
	int allow_args;
	const regex_t *allowlist;
	size_t max_len;
};

/*
 * Splits `line` (a NUL-terminated command line of at most ARGV_MAX_LINE
 * bytes) by the rules above into a new template stored in *out.
 * column_base is added to the 0-based byte offset of a problem before it is
 * reported as a 1-based column, so that a caller holding the line inside a
 * longer text (a config line after "command[x]=") reports the column of
 * that text.  Fails on a syntax error, an empty line (no word), an empty
 * first word, too many words or placeholders, a placeholder in the first
 * word, or no memory;
 * *out is untouched on failure.
 */
int argv_split(const char *line, size_t column_base, struct argv_template **out, char *err,
	       size_t errlen);

/* A new template holding a's words followed by b's (a command_prefix
 * before a command line), in *out.  Fails only for lack of memory or when
 * the sum exceeds ARGV_MAX_WORDS or ARGV_MAX_PLACEHOLDERS. */
int argv_template_join(const struct argv_template *a, const struct argv_template *b,
		       struct argv_template **out, char *err, size_t errlen);

/* Frees a template (NULL is fine). */
void argv_template_free(struct argv_template *t);

/*
 * Builds the argv for one request: every $ARGn$ replaced by exactly
 * q->args[n-1] (the empty string when the request has fewer than n
 * arguments, as in nrpe), each word staying one element.  Every argument
 * the request carries is checked first, used by the template or not, in
 * this order: arguments allowed at all (policy->allow_args), no NUL byte,
 * no line break (\n or \r: CVE-2014-2913), at most policy->max_len bytes,
 * matches policy->allowlist.  A refusal names the argument by number
 * ("argument 2 refused: contains a line break") and never quotes it.
 * On success *out is a NULL-terminated array in one allocation: release it
 * with argv_free().  q may be NULL (no arguments).
 */
int argv_expand(const struct argv_template *t, const struct argv_query *q,
		const struct argv_policy *policy, char ***out, char *err, size_t errlen);

/* Frees an array from argv_expand (NULL is fine). */
void argv_free(char **argv);

/*
 * Parses a request text of len bytes (need not be NUL-terminated; it is the
 * query up to, not including, its terminator): the command name up to the
 * first '!', then up to ARGV_MAX_ARGS arguments separated by '!'.  Empty
 * arguments keep their position ("cmd!!x": argument 1 is empty, argument 2
 * is "x"; nrpe's strtok would shift "x" to $ARG1$).  Fails when len exceeds
 * ARGV_QUERY_MAX, the name is invalid (argv_check_name), there are more
 * than ARGV_MAX_ARGS arguments (nrpe drops the extra ones silently; we
 * refuse), or no memory.  On success release *q with argv_query_free().
 */
int argv_parse_query(const char *query, size_t len, struct argv_query *q, char *err, size_t errlen);

/* Frees what argv_parse_query stored in q and zeroes it (NULL is fine). */
void argv_query_free(struct argv_query *q);

/* Checks a command name of len bytes: 1..ARGV_NAME_MAX bytes from
 * [A-Za-z0-9_.-].  Returns 0 or -1 with a reason. */
int argv_check_name(const char *name, size_t len, char *err, size_t errlen);

/*
 * Compiles an allowlist pattern (POSIX extended regex) into re so that it
 * must match a whole argument: the pattern is compiled as ^(PATTERN)$, so
 * "[a-z]+" accepts "abc" but not "abc;x".  Patterns that glibc needs
 * seconds to hours or gigabytes to compile are refused before regcomp sees
 * them: adjacent repetition operators ("a++", undefined in POSIX anyway),
 * repetitions nested deeper than ARGV_ALLOWLIST_REP_NEST_MAX, groups nested
 * deeper than ARGV_ALLOWLIST_NEST_MAX, {m,n} (n > m) applied to something
 * that can match the empty string ("(x?){0,9}"), and repetitions that would
 * expand to more than ARGV_ALLOWLIST_COST_MAX elements ("(a{1,99}){1,99}").  On success free re
 * with regfree(); on failure re needs no freeing and err holds the reason (regerror's text for a
 * syntax error).
 */
int argv_allowlist_compile(regex_t *re, const char *pattern, char *err, size_t errlen);

#endif
