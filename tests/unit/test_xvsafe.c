/* xvsafe_text: the one rule for untrusted text reaching a log, an answer
 * or the inventory (proto/xvsafe.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "xvsafe.h"

static void test_ascii(void **state)
{
	char out[64];
	int cut = -1;

	assert_int_equal(xvsafe_text(out, sizeof out, "plain text", 10, &cut), 10);
	assert_string_equal(out, "plain text");
	assert_int_equal(cut, 0);
	xvsafe_text(out, sizeof out, "a\x1b[31mred\x07\n", 11, NULL);
	assert_string_equal(out, "a\\x1B[31mred\\x07\\x0A");
	xvsafe_text(out, sizeof out, "back\\slash", 10, NULL);
	assert_string_equal(out, "back\\\\slash");
	xvsafe_text(out, sizeof out, "nul\0x\x7f", 6, NULL);
	assert_string_equal(out, "nul\\x00x\\x7F");
	assert_int_equal(xvsafe_text(out, sizeof out, "", 0, &cut), 0);
	assert_string_equal(out, "");
	assert_int_equal(cut, 0);
}

static void test_utf8(void **state)
{
	char out[64];

	/* valid UTF-8 stays, invalid bytes are escaped one by one */
	xvsafe_text(out, sizeof out, "caf\xc3\xa9 \xe6\x97\xa5 \xff\xc3", 12, NULL);
	assert_string_equal(out, "caf\xc3\xa9 \xe6\x97\xa5 \\xFF\\xC3");
	/* C1 CSI, RLO (Trojan Source), zero-width space, BOM, overlong '/' */
	xvsafe_text(out, sizeof out, "\xc2\x9b|\xe2\x80\xae|\xe2\x80\x8b|\xef\xbb\xbf|\xc0\xaf", 17,
		    NULL);
	assert_string_equal(out, "\\u{009B}|\\u{202E}|\\u{200B}|\\u{FEFF}|\\xC0\\xAF");
	/* a surrogate (ED A0 80) is not UTF-8 */
	xvsafe_text(out, sizeof out, "\xed\xa0\x80", 3, NULL);
	assert_string_equal(out, "\\xED\\xA0\\x80");
}

static void test_cut(void **state)
{
	char out[8];
	int cut = -1;

	/* fits exactly: not cut */
	assert_int_equal(xvsafe_text(out, sizeof out, "1234567", 7, &cut), 7);
	assert_string_equal(out, "1234567");
	assert_int_equal(cut, 0);
	assert_int_equal(xvsafe_text(out, sizeof out, "12345678", 8, &cut), 7);
	assert_string_equal(out, "1234...");
	assert_int_equal(cut, 1);
	/* an escape is never cut in half */
	xvsafe_text(out, sizeof out, "123\x01xxxx", 8, &cut);
	assert_string_equal(out, "123...");
	assert_int_equal(cut, 1);
	/* nor a character */
	xvsafe_text(out, sizeof out, "123\xe6\x97\xa5xxx", 9, &cut);
	assert_string_equal(out, "123...");
	/* the smallest buffer holds only the mark */
	assert_int_equal(xvsafe_text(out, XVSAFE_MIN_DST, "abcdef", 6, &cut), 3);
	assert_string_equal(out, "...");
	assert_int_equal(cut, 1);
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
