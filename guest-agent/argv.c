/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "argv.h"

static void argv_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void argv_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

void argv_template_free(struct argv_template *t)
{
	if (t == NULL)
		return;
	if (t->words != NULL)
		for (size_t i = 0; i < t->nwords; i++)
			free(t->words[i]);
	free(t->words);
	free(t->ph);
	free(t);
}

/* The split state: the word being built and what has been found so far. */
struct argv_splitter {
	struct argv_template *t;
	char *word; /* current word, at most strlen(line) + 1 bytes */
	size_t wlen;
	int in_word;
};

static int argv_is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

static int argv_push_word(struct argv_splitter *s, size_t col, char *err, size_t errlen)
{
	char *w;

	if (s->t->nwords >= ARGV_MAX_WORDS) {
		argv_err(err, errlen, "column %zu: more than %d words", col, ARGV_MAX_WORDS);
		return -1;
	}
	w = malloc(s->wlen + 1);
	if (w == NULL) {
		argv_err(err, errlen, "out of memory");
		return -1;
	}
	memcpy(w, s->word, s->wlen);
	w[s->wlen] = '\0';
	s->t->words[s->t->nwords++] = w;
	s->t->words[s->t->nwords] = NULL;
	s->wlen = 0;
	s->in_word = 0;
	return 0;
}

/*
 * At line[i] == '$': recognises $ARGn$ or $$.  Returns the number of bytes
 * consumed (0: an ordinary '$'), or -1 after writing an error.  *arg is set
 * for a placeholder, 0 for "$$".
 */
static int argv_dollar(const char *line, size_t i, size_t col, unsigned *arg, char *err,
		       size_t errlen)
{
	const char *p = line + i + 1;
	size_t ndig = 0;
	unsigned n = 0;

	*arg = 0;
	if (*p == '$')
		return 2;
	if (strncmp(p, "ARG", 3) != 0)
		return 0;
	p += 3;
	while (p[ndig] >= '0' && p[ndig] <= '9' && ndig < 3) {
		n = n * 10 + (unsigned)(p[ndig] - '0');
		ndig++;
	}
	if (ndig == 0)
		return 0; /* "$ARGUMENT": just text */
	if (p[ndig] >= '0' && p[ndig] <= '9') {
		argv_err(err, errlen,
			 "column %zu: placeholder number too long (use $ARG1$..$ARG%d$)", col,
			 ARGV_MAX_ARGS);
		return -1;
	}
	if (p[ndig] != '$') {
		argv_err(err, errlen, "column %zu: placeholder $ARG%.*s lacks its closing '$'", col,
			 (int)ndig, p);
		return -1;
	}
	if (p[0] == '0' || n < 1 || n > ARGV_MAX_ARGS) {
		argv_err(err, errlen,
			 "column %zu: $ARG%.*s$: placeholder number out of range 1..%d", col,
			 (int)ndig, p, ARGV_MAX_ARGS);
		return -1;
	}
	*arg = n;
	return (int)(4 + ndig + 1);
}

static int argv_add_placeholder(struct argv_splitter *s, unsigned arg, size_t col, char *err,
				size_t errlen)
{
	struct argv_template *t = s->t;

	if (t->nwords == 0) {
		argv_err(err, errlen,
			 "column %zu: $ARG%u$ in the program name: the program must be fixed", col,
			 arg);
		return -1;
	}
	if (t->nph >= ARGV_MAX_PLACEHOLDERS) {
		argv_err(err, errlen, "column %zu: more than %d placeholders", col,
			 ARGV_MAX_PLACEHOLDERS);
		return -1;
	}
	t->ph[t->nph].word = t->nwords;
	t->ph[t->nph].offset = s->wlen;
	t->ph[t->nph].arg = arg;
	t->nph++;
	t->args_used |= (uint32_t)1 << (arg - 1);
	s->in_word = 1;
	return 0;
}

/* The arrays were sized for the limits; configs hold hundreds of
 * templates, so give the unused room back. */
static void argv_shrink(struct argv_template *t)
{
	char **w = realloc(t->words, (t->nwords + 1) * sizeof *t->words);
	struct argv_placeholder *ph = realloc(t->ph, (t->nph ? t->nph : 1) * sizeof *t->ph);

	if (w != NULL)
		t->words = w;
	if (ph != NULL)
		t->ph = ph;
}

int argv_split(const char *line, size_t column_base, struct argv_template **out, char *err,
	       size_t errlen)
{
	enum { OUT, PLAIN, SQUOTE, DQUOTE } st = OUT;
	struct argv_splitter s = {0};
	size_t len = strlen(line), i = 0, qcol = 0;
	int rc = -1;

	if (len > ARGV_MAX_LINE) {
		argv_err(err, errlen, "command line longer than %d bytes", ARGV_MAX_LINE);
		return -1;
	}
	s.t = calloc(1, sizeof *s.t);
	s.word = malloc(len + 1);
	if (s.t != NULL) {
		s.t->words = calloc(ARGV_MAX_WORDS + 1, sizeof *s.t->words);
		s.t->ph = calloc(ARGV_MAX_PLACEHOLDERS, sizeof *s.t->ph);
	}
	if (s.t == NULL || s.word == NULL || s.t->words == NULL || s.t->ph == NULL) {
		argv_err(err, errlen, "out of memory");
		goto done;
	}

	while (i < len) {
		char c = line[i];
		size_t col = column_base + i + 1;

		if (c == '$') {
			unsigned arg;
			int n = argv_dollar(line, i, col, &arg, err, errlen);
			if (n < 0)
				goto done;
			if (n > 0) {
				if (st == OUT)
					st = PLAIN;
				if (arg == 0) {
					s.word[s.wlen++] = '$';
					s.in_word = 1;
				} else if (argv_add_placeholder(&s, arg, col, err, errlen) < 0) {
					goto done;
				}
				i += (size_t)n;
				continue;
			}
		}
		switch (st) {
		case OUT:
			if (argv_is_space(c)) {
				i++;
				continue;
			}
			st = PLAIN;
			continue; /* same character, now inside a word */
		case PLAIN:
			if (argv_is_space(c)) {
				if (argv_push_word(&s, col, err, errlen) < 0)
					goto done;
				st = OUT;
			} else if (c == '\'') {
				st = SQUOTE;
				qcol = col;
				s.in_word = 1;
			} else if (c == '"') {
				st = DQUOTE;
				qcol = col;
				s.in_word = 1;
			} else if (c == '\\') {
				if (i + 1 >= len) {
					argv_err(
					    err, errlen,
					    "column %zu: backslash at the end of the line escapes "
					    "nothing",
					    col);
					goto done;
				}
				s.word[s.wlen++] = line[++i];
				s.in_word = 1;
			} else {
				s.word[s.wlen++] = c;
				s.in_word = 1;
			}
			i++;
			continue;
		case SQUOTE:
			if (c == '\'')
				st = PLAIN;
			else
				s.word[s.wlen++] = c;
			i++;
			continue;
		case DQUOTE:
			if (c == '"') {
				st = PLAIN;
			} else if (c == '\\' && (line[i + 1] == '"' || line[i + 1] == '\\')) {
				s.word[s.wlen++] = line[++i];
			} else {
				s.word[s.wlen++] = c;
			}
			i++;
			continue;
		}
	}
	if (st == SQUOTE || st == DQUOTE) {
		argv_err(err, errlen, "column %zu: unterminated %s quote", qcol,
			 st == SQUOTE ? "single" : "double");
		goto done;
	}
	if (s.in_word && argv_push_word(&s, column_base + len + 1, err, errlen) < 0)
		goto done;
	if (s.t->nwords == 0) {
		argv_err(err, errlen, "empty command line");
		goto done;
	}
	if (s.t->words[0][0] == '\0') {
		argv_err(err, errlen, "the program name (first word) is empty");
		goto done;
	}
	argv_shrink(s.t);
	*out = s.t;
	s.t = NULL;
	rc = 0;
done:
	free(s.word);
	argv_template_free(s.t);
	return rc;
}

int argv_template_join(const struct argv_template *a, const struct argv_template *b,
		       struct argv_template **out, char *err, size_t errlen)
{
	struct argv_template *t;
	size_t nw = a->nwords + b->nwords, np = a->nph + b->nph;

	if (nw > ARGV_MAX_WORDS) {
		argv_err(err, errlen, "more than %d words with the command prefix", ARGV_MAX_WORDS);
		return -1;
	}
	if (np > ARGV_MAX_PLACEHOLDERS) {
		argv_err(err, errlen, "more than %d placeholders with the command prefix",
			 ARGV_MAX_PLACEHOLDERS);
		return -1;
	}
	t = calloc(1, sizeof *t);
	if (t == NULL)
		goto nomem;
	t->words = calloc(nw + 1, sizeof *t->words);
	t->ph = calloc(np ? np : 1, sizeof *t->ph);
	if (t->words == NULL || t->ph == NULL)
		goto nomem;
	for (size_t i = 0; i < nw; i++) {
		const char *w = i < a->nwords ? a->words[i] : b->words[i - a->nwords];
		t->words[i] = strdup(w);
		if (t->words[i] == NULL)
			goto nomem;
		t->nwords = i + 1;
	}
	for (size_t i = 0; i < a->nph; i++)
		t->ph[i] = a->ph[i];
	for (size_t i = 0; i < b->nph; i++) {
		t->ph[a->nph + i] = b->ph[i];
		t->ph[a->nph + i].word += a->nwords;
	}
	t->nph = np;
	t->args_used = a->args_used | b->args_used;
	*out = t;
	return 0;
nomem:
	argv_template_free(t);
	argv_err(err, errlen, "out of memory");
	return -1;
}

void argv_free(char **argv)
{
	free(argv);
}

/* Every check a request argument must pass, in the documented order. */
static int argv_check_arg(size_t n, const char *arg, size_t len, const struct argv_policy *p,
			  char *err, size_t errlen)
{
	if (strlen(arg) != len) {
		argv_err(err, errlen, "argument %zu refused: contains a NUL byte", n);
		return -1;
	}
	/* Line breaks are refused whatever the allowlist says: they are what
	 * CVE-2014-2913 smuggled past nrpe, and no probe argument needs one. */
	if (memchr(arg, '\n', len) != NULL || memchr(arg, '\r', len) != NULL) {
		argv_err(err, errlen, "argument %zu refused: contains a line break", n);
		return -1;
	}
	if (len > p->max_len) {
		argv_err(err, errlen,
			 "argument %zu refused: longer than %zu bytes (arg_max_length)", n,
			 p->max_len);
		return -1;
	}
	if (p->allowlist != NULL && regexec(p->allowlist, arg, 0, NULL, 0) != 0) {
		argv_err(err, errlen,
			 "argument %zu refused: does not match the allowlist (arg_allowlist)", n);
		return -1;
	}
	return 0;
}

int argv_expand(const struct argv_template *t, const struct argv_query *q,
		const struct argv_policy *policy, char ***out, char *err, size_t errlen)
{
	size_t nargs = q != NULL ? q->nargs : 0;
	size_t total = 0, k = 0;
	char **argv, *p;

	if (nargs > ARGV_MAX_ARGS) {
		argv_err(err, errlen, "more than %d arguments", ARGV_MAX_ARGS);
		return -1;
	}
	if (nargs > 0 && !policy->allow_args) {
		argv_err(err, errlen,
			 "command arguments are disabled (dont_blame_nrpe=0): request refused");
		return -1;
	}
	for (size_t i = 0; i < nargs; i++)
		if (argv_check_arg(i + 1, q->args[i], q->arglen[i], policy, err, errlen) < 0)
			return -1;

	/* Sizes first, each sum bounded, then one allocation. */
	for (size_t w = 0; w < t->nwords; w++) {
		size_t wl = strlen(t->words[w]);
		for (; k < t->nph && t->ph[k].word == w; k++) {
			unsigned a = t->ph[k].arg;
			if (a <= nargs)
				wl += q->arglen[a - 1];
			if (wl >= ARGV_WORD_MAX)
				break;
		}
		if (wl >= ARGV_WORD_MAX) {
			argv_err(err, errlen, "word %zu would be longer than %d bytes", w + 1,
				 ARGV_WORD_MAX - 1);
			return -1;
		}
		total += wl + 1;
	}
	argv = malloc((t->nwords + 1) * sizeof *argv + total);
	if (argv == NULL) {
		argv_err(err, errlen, "out of memory");
		return -1;
	}
	p = (char *)(argv + t->nwords + 1);
	k = 0;
	for (size_t w = 0; w < t->nwords; w++) {
		const char *lit = t->words[w];
		size_t done = 0, wl = strlen(lit);

		argv[w] = p;
		for (; k < t->nph && t->ph[k].word == w; k++) {
			const struct argv_placeholder *ph = &t->ph[k];
			memcpy(p, lit + done, ph->offset - done);
			p += ph->offset - done;
			done = ph->offset;
			if (ph->arg <= nargs) {
				memcpy(p, q->args[ph->arg - 1], q->arglen[ph->arg - 1]);
				p += q->arglen[ph->arg - 1];
			}
		}
		memcpy(p, lit + done, wl - done);
		p += wl - done;
		*p++ = '\0';
	}
	argv[t->nwords] = NULL;
	*out = argv;
	return 0;
}

int argv_check_name(const char *name, size_t len, char *err, size_t errlen)
{
	if (len == 0) {
		argv_err(err, errlen, "empty command name");
		return -1;
	}
	if (len > ARGV_NAME_MAX) {
		argv_err(err, errlen, "command name longer than %d bytes", ARGV_NAME_MAX);
		return -1;
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];
		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '_' || c == '.' || c == '-')
			continue;
		argv_err(
		    err, errlen,
		    "command name: byte %zu (0x%02x) is not allowed (allowed: A-Z a-z 0-9 _ . -)",
		    i + 1, c);
		return -1;
	}
	return 0;
}

int argv_parse_query(const char *query, size_t len, struct argv_query *q, char *err, size_t errlen)
{
	const char *end = query + len, *seg;
	size_t nbang = 0;
	char *buf;

	memset(q, 0, sizeof *q);
	if (len > ARGV_QUERY_MAX) {
		argv_err(err, errlen, "query longer than %d bytes", ARGV_QUERY_MAX);
		return -1;
	}
	for (const char *c = query; c < end; c++)
		if (*c == '!')
			nbang++;
	if (nbang > ARGV_MAX_ARGS) {
		argv_err(err, errlen, "more than %d arguments", ARGV_MAX_ARGS);
		return -1;
	}
	seg = memchr(query, '!', len);
	if (argv_check_name(query, seg != NULL ? (size_t)(seg - query) : len, err, errlen) < 0)
		return -1;

	buf = malloc(len + 1);
	if (buf == NULL) {
		argv_err(err, errlen, "out of memory");
		return -1;
	}
	memcpy(buf, query, len);
	buf[len] = '\0';
	q->buf = buf;
	q->name = buf;
	for (size_t i = 0, start = 0; i <= len; i++) {
		if (i < len && buf[i] != '!')
			continue;
		if (start > 0) {
			q->args[q->nargs] = buf + start;
			q->arglen[q->nargs] = i - start;
			q->nargs++;
		}
		buf[i] = '\0';
		start = i + 1;
	}
	return 0;
}

void argv_query_free(struct argv_query *q)
{
	if (q == NULL)
		return;
	free(q->buf);
	memset(q, 0, sizeof *q);
}

static size_t argv_sat_add(size_t a, size_t b)
{
	return a > SIZE_MAX - b ? SIZE_MAX : a + b;
}

static size_t argv_sat_mul(size_t a, size_t b)
{
	return b != 0 && a > SIZE_MAX / b ? SIZE_MAX : a * b;
}

/* The interval at *pp ('{'): {m}, {m,} or {m,n}.  *pp is left on its '}'
 * (on the NUL of an unterminated one, which regcomp reports).  Bounds are
 * clamped: regcomp refuses those above RE_DUP_MAX anyway.  *range is set
 * for {m,n} with n > m, the form that copies its operand as optional. */
static void argv_interval(const char **pp, size_t *min, size_t *max, int *range)
{
	const char *p = *pp + 1;
	size_t v[2] = {0, 0};
	int part = 0, digits[2] = {0, 0};

	for (; *p != '\0' && *p != '}'; p++) {
		if (*p == ',' && part == 0) {
			part = 1;
		} else if (*p >= '0' && *p <= '9') {
			if (v[part] < 1000000)
				v[part] = v[part] * 10 + (size_t)(*p - '0');
			digits[part] = 1;
		}
	}
	*min = v[0];
	*max = part == 1 && digits[1] ? v[1] : v[0];
	*range = part == 1 && digits[1] && v[1] > v[0];
	*pp = p;
}

/*
 * Refuses ERE patterns that regcomp would take very long or very much
 * memory to compile: the agent compiles the allowlist again on every
 * SIGHUP, inside the running daemon.  glibc copies a subexpression once for
 * '+' and n times for {m,n}, and computes epsilon closures over all those
 * copies; measured on glibc 2.36, "a+++++++++*++++++++" takes 8 s,
 * "((((((((((a)+)*)+)*)+)*)+)*)+)*" minutes, "(x?){0,400}" 4 s.  Hence:
 *   - adjacent repetition operators ("a++", "a*{2}") are refused: POSIX
 *     leaves their meaning undefined anyway;
 *   - repetitions nest at most ARGV_ALLOWLIST_REP_NEST_MAX deep ("(a+)*"
 *     is 2 deep), groups at most ARGV_ALLOWLIST_NEST_MAX;
 *   - {m,n} with n > m is refused on an operand that can match the empty
 *     string ("(x?){0,9}": write "x{0,9}");
 *   - an upper estimate of the expression's size after the copies (atoms,
 *     bracket expressions and escaped characters count 1) must stay within
 *     ARGV_ALLOWLIST_COST_MAX.
 * Syntax errors are left for regcomp to report.
 */
static int argv_regex_check(const char *pat, char *err, size_t errlen)
{
	/* per open group: size of the finished alternatives and of the current
	 * one, deepest repetition nesting inside, whether a finished
	 * alternative / everything of the current one can match "" */
	struct {
		size_t alts, cur;
		unsigned h;
		int alts_null, cur_null;
	} st[ARGV_ALLOWLIST_NEST_MAX + 1];
	/* the last atom or group: size, repetition nesting, can match "",
	 * and whether its alternative could match "" before it */
	size_t depth = 0, last = 0, cost;
	unsigned last_h = 0;
	int last_null = 0, prev_null = 1, after_rep = 0;

	memset(&st[0], 0, sizeof st[0]);
	st[0].cur_null = 1;
	for (const char *p = pat; *p != '\0'; p++) {
		size_t col = (size_t)(p - pat) + 1, min = 0, max = 0;
		int range = 0;

		if (*p == '*' || *p == '+' || *p == '?' || *p == '{') {
			if (after_rep) {
				argv_err(
				    err, errlen,
				    "byte %zu: adjacent repetition operators (undefined in POSIX "
				    "regular expressions)",
				    col);
				return -1;
			}
			if (last_h >= ARGV_ALLOWLIST_REP_NEST_MAX) {
				argv_err(err, errlen, "byte %zu: repetitions nested deeper than %d",
					 col, ARGV_ALLOWLIST_REP_NEST_MAX);
				return -1;
			}
			if (*p == '{') {
				argv_interval(&p, &min, &max, &range);
				if (*p == '\0')
					break; /* unterminated: regcomp's error to report */
				if (range && last_null) {
					argv_err(err, errlen,
						 "byte %zu: {m,n} of something that can match the "
						 "empty string (write x{0,9}, not (x?){0,9})",
						 col);
					return -1;
				}
				/* max copies besides the original */
				st[depth].cur =
				    argv_sat_add(st[depth].cur, argv_sat_mul(last, max));
				last = argv_sat_mul(last, argv_sat_add(max, 1));
				last_null = last_null || min == 0;
			} else if (*p == '+') {
				st[depth].cur = argv_sat_add(st[depth].cur, argv_sat_add(last, 1));
				last = argv_sat_add(argv_sat_mul(last, 2), 1);
			} else {
				st[depth].cur = argv_sat_add(st[depth].cur, 1);
				last = argv_sat_add(last, 1);
				last_null = 1;
			}
			last_h++;
			if (last_h > st[depth].h)
				st[depth].h = last_h;
			st[depth].cur_null = prev_null && last_null;
			after_rep = 1;
			continue;
		}
		after_rep = 0;
		switch (*p) {
		case '(':
			if (depth >= ARGV_ALLOWLIST_NEST_MAX) {
				argv_err(err, errlen, "byte %zu: groups nested deeper than %d", col,
					 ARGV_ALLOWLIST_NEST_MAX);
				return -1;
			}
			depth++;
			memset(&st[depth], 0, sizeof st[depth]);
			st[depth].cur_null = 1;
			last = 0;
			last_h = 0;
			last_null = 0;
			continue;
		case ')':
			if (depth == 0)
				break; /* an ordinary character to regcomp, or its error */
			last = argv_sat_add(argv_sat_add(st[depth].alts, st[depth].cur), 1);
			last_h = st[depth].h;
			last_null = st[depth].alts_null || st[depth].cur_null;
			depth--;
			st[depth].cur = argv_sat_add(st[depth].cur, last);
			if (last_h > st[depth].h)
				st[depth].h = last_h;
			prev_null = st[depth].cur_null;
			st[depth].cur_null = prev_null && last_null;
			continue;
		case '|':
			st[depth].alts = argv_sat_add(st[depth].alts, st[depth].cur);
			st[depth].alts_null = st[depth].alts_null || st[depth].cur_null;
			st[depth].cur = 0;
			st[depth].cur_null = 1;
			last = 0;
			last_h = 0;
			last_null = 0;
			continue;
		case '[':
			/* skip to the closing ']': a ']' first (after '^') is literal,
			 * [:class:], [=e=] and [.c.] hold their own brackets */
			p++;
			if (*p == '^')
				p++;
			if (*p == ']')
				p++;
			while (*p != '\0' && *p != ']') {
				if (*p == '[' && (p[1] == ':' || p[1] == '=' || p[1] == '.')) {
					const char *close = strchr(p + 2, ']');
					if (close == NULL)
						break;
					p = close;
				}
				p++;
			}
			if (*p == '\0')
				goto end;
			break;
		case '\\':
			if (p[1] != '\0')
				p++;
			break;
		default:
			break;
		}
		/* an atom: '^' and '$' match "" but cannot be repeated usefully */
		last = 1;
		last_h = 0;
		last_null = *p == '^' || *p == '$';
		prev_null = st[depth].cur_null;
		st[depth].cur_null = prev_null && last_null;
		st[depth].cur = argv_sat_add(st[depth].cur, 1);
	}
end:
	/* regcomp copies while it parses: unclosed groups cost all the same */
	while (depth > 0) {
		st[depth - 1].cur =
		    argv_sat_add(st[depth - 1].cur, argv_sat_add(st[depth].alts, st[depth].cur));
		depth--;
	}
	cost = argv_sat_add(st[0].alts, st[0].cur);
	if (cost > ARGV_ALLOWLIST_COST_MAX) {
		argv_err(err, errlen,
			 "pattern too complex: its repetitions expand to more than %d elements",
			 ARGV_ALLOWLIST_COST_MAX);
		return -1;
	}
	return 0;
}

int argv_allowlist_compile(regex_t *re, const char *pattern, char *err, size_t errlen)
{
	size_t n = strlen(pattern) + sizeof "^()$";
	char *anchored = malloc(n);
	int rc;

	if (argv_regex_check(pattern, err, errlen) < 0) {
		free(anchored);
		return -1;
	}
	if (anchored == NULL) {
		argv_err(err, errlen, "out of memory");
		return -1;
	}
	snprintf(anchored, n, "^(%s)$", pattern);
	rc = regcomp(re, anchored, REG_EXTENDED | REG_NOSUB);
	free(anchored);
	if (rc != 0) {
		char msg[128];
		regerror(rc, re, msg, sizeof msg);
		argv_err(err, errlen, "invalid regular expression: %s", msg);
		return -1;
	}
	return 0;
}
