/* SPDX-License-Identifier: GPL-2.0-or-later */
/* utf8_decode: the strict decoder both the agent and the inventory use on
 * guest-controlled text. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "utf8.h"

static size_t dec(const char *s, size_t n, unsigned long *cp)
{
	return utf8_decode((const unsigned char *)s, n, cp);
}

static void test_valid(void **state)
{
	unsigned long cp = 0;

	assert_int_equal(dec("\xc3\xa9", 2, &cp), 2); /* é */
	assert_int_equal(cp, 0xe9);
	assert_int_equal(dec("\xc2\x80", 2, &cp), 2); /* C1: decoded, callers decide */
	assert_int_equal(cp, 0x80);
	assert_int_equal(dec("\xe2\x82\xac", 3, &cp), 3); /* € */
	assert_int_equal(cp, 0x20ac);
	assert_int_equal(dec("\xef\xbf\xbd", 3, &cp), 3);
	assert_int_equal(cp, 0xfffd);
	assert_int_equal(dec("\xf0\x9f\x98\x80", 4, &cp), 4);
	assert_int_equal(cp, 0x1f600);
	assert_int_equal(dec("\xf4\x8f\xbf\xbf", 4, &cp), 4); /* U+10FFFF */
	assert_int_equal(cp, 0x10ffff);
	assert_int_equal(dec("\xc3\xa9", 2, NULL), 2);
}

static void test_invalid(void **state)
{
	unsigned long cp = 7;

	assert_int_equal(dec("a", 1, &cp), 0);		      /* ASCII is the caller's */
	assert_int_equal(dec("\x80", 1, &cp), 0);	      /* lone continuation */
	assert_int_equal(dec("\xc0\xaf", 2, &cp), 0);	      /* overlong '/' */
	assert_int_equal(dec("\xc1\xbf", 2, &cp), 0);	      /* overlong */
	assert_int_equal(dec("\xe0\x80\xaf", 3, &cp), 0);     /* overlong */
	assert_int_equal(dec("\xf0\x80\x80\xaf", 4, &cp), 0); /* overlong */
	assert_int_equal(dec("\xed\xa0\x80", 3, &cp), 0);     /* surrogate U+D800 */
	assert_int_equal(dec("\xf4\x90\x80\x80", 4, &cp), 0); /* U+110000 */
	assert_int_equal(dec("\xf5\x80\x80\x80", 4, &cp), 0);
	assert_int_equal(dec("\xff", 1, &cp), 0);
	assert_int_equal(dec("\xc3\x28", 2, &cp), 0); /* bad continuation */
	assert_int_equal(dec("\xe2\x82\x28", 3, &cp), 0);
	assert_int_equal(cp, 7); /* untouched on failure */
}

static void test_truncated(void **state)
{
	assert_int_equal(dec("\xc3\xa9", 1, NULL), 0);
	assert_int_equal(dec("\xe2\x82\xac", 2, NULL), 0);
	assert_int_equal(dec("\xf0\x9f\x98\x80", 3, NULL), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_valid),
	    cmocka_unit_test(test_invalid),
	    cmocka_unit_test(test_truncated),
	};
	return cmocka_run_group_tests_name("utf8", tests, NULL, NULL);
}
