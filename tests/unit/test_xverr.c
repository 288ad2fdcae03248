/* SPDX-License-Identifier: GPL-2.0-or-later */
/* xv_strerror: every code has its own text, unknown codes a generic one. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "xverr.h"

static void test_distinct_texts(void **state)
{
	static const int codes[] = {XV_OK,	   XV_EAGAIN,  XV_ENOMEM,   XV_ENOSPC,	XV_ESHORT,
				    XV_EINVAL,	   XV_E2BIG,   XV_EVERSION, XV_EV3,	XV_ETYPE,
				    XV_ECRC,	   XV_ELENGTH, XV_EALIGN,   XV_ENOTERM, XV_EPAYLOAD,
				    XV_ENEGOTIATE, XV_ECLOSED, XV_ENOPEER,  XV_ESYS,	XV_EUNSUPP,
				    XV_ESPEC,	   XV_ESTATE};
	size_t n = sizeof codes / sizeof codes[0];
	for (size_t i = 0; i < n; i++) {
		assert_string_not_equal(xv_strerror(codes[i]), "unknown error");
		for (size_t j = i + 1; j < n; j++)
			assert_string_not_equal(xv_strerror(codes[i]), xv_strerror(codes[j]));
	}
}

static void test_unknown_code(void **state)
{
	assert_string_equal(xv_strerror(-9999), "unknown error");
	assert_string_equal(xv_strerror(7), "unknown error");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_distinct_texts),
	    cmocka_unit_test(test_unknown_code),
	};
	return cmocka_run_group_tests_name("xverr", tests, NULL, NULL);
}
