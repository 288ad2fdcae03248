/* SPDX-License-Identifier: GPL-2.0-or-later */
/* xvsafe_text: the one rule for untrusted text reaching a log, an answer
 * or the inventory (proto/xvsafe.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "xvsafe.h"

struct xvsafe_case {
	const char *in;
	size_t len, dstsize;
	const char *want;
	int want_cut;
};

static void run_cases(const struct xvsafe_case *c, size_t n)
{
	char out[64];

	for (size_t i = 0; i < n; i++) {
		int cut = -1;
		size_t got = xvsafe_text(out, c[i].dstsize, c[i].in, c[i].len, &cut);

		assert_string_equal(out, c[i].want);
		assert_int_equal(got, strlen(c[i].want));
		assert_int_equal(cut, c[i].want_cut);
	}
}

static void test_ascii(void **state)
{
	static const struct xvsafe_case c[] = {
	    {"plain text", 10, 64, "plain text", 0},
	    {"a\x1b[31mred\x07\n", 11, 64, "a\\x1B[31mred\\x07\\x0A", 0},
	    {"back\\slash", 10, 64, "back\\\\slash", 0},
	    {"nul\0x\x7f", 6, 64, "nul\\x00x\\x7F", 0},
	    {"", 0, 64, "", 0},
	};
	run_cases(c, sizeof c / sizeof c[0]);
}

static void test_utf8(void **state)
{
	static const struct xvsafe_case c[] = {
	    /* valid UTF-8 stays, invalid bytes are escaped one by one */
	    {"caf\xc3\xa9 \xe6\x97\xa5 \xff\xc3", 12, 64, "caf\xc3\xa9 \xe6\x97\xa5 \\xFF\\xC3", 0},
	    /* C1 CSI, RLO (Trojan Source), zero-width space, BOM, overlong '/' */
	    {"\xc2\x9b|\xe2\x80\xae|\xe2\x80\x8b|\xef\xbb\xbf|\xc0\xaf", 17, 64,
	     "\\u{009B}|\\u{202E}|\\u{200B}|\\u{FEFF}|\\xC0\\xAF", 0},
	    /* a surrogate (ED A0 80) is not UTF-8 */
	    {"\xed\xa0\x80", 3, 64, "\\xED\\xA0\\x80", 0},
	};
	run_cases(c, sizeof c / sizeof c[0]);
}

static void test_cut(void **state)
{
	static const struct xvsafe_case c[] = {
	    {"1234567", 7, 8, "1234567", 0}, /* fits exactly: not cut */
	    {"12345678", 8, 8, "1234...", 1},
	    {"123\x01xxxx", 8, 8, "123...", 1},	       /* an escape is never cut in half */
	    {"123\xe6\x97\xa5xxx", 9, 8, "123...", 1}, /* nor a character */
	    {"abcdef", 6, XVSAFE_MIN_DST, "...", 1},   /* only the mark fits */
	};
	char out[8];

	run_cases(c, sizeof c / sizeof c[0]);
	/* a broken contract writes nothing past the buffer */
	out[1] = 'z';
	assert_int_equal(xvsafe_text(out, 2, "abcdef", 6, NULL), 0);
	assert_string_equal(out, "");
	assert_int_equal(out[1], 'z');
}

/* every byte value, one at a time: never a control character out, and the
 * output always fits */
static void test_every_byte(void **state)
{
	char out[16];

	for (int b = 0; b < 256; b++) {
		char in = (char)b;
		size_t n = xvsafe_text(out, sizeof out, &in, 1, NULL);

		assert_int_equal(n, strlen(out));
		for (size_t i = 0; i < n; i++)
			assert_true((unsigned char)out[i] >= 0x20 && (unsigned char)out[i] < 0x7f);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_ascii),
	    cmocka_unit_test(test_utf8),
	    cmocka_unit_test(test_cut),
	    cmocka_unit_test(test_every_byte),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
