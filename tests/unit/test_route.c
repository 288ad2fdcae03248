/* SPDX-License-Identifier: GPL-2.0-or-later */
/* route_parse: "GUEST/COMMAND[!arg...]" from untrusted clients. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "../../host-bridge/bridge.h"

static int parse(const char *s, struct route *r, char *err, size_t errlen)
{
	return route_parse(s, strlen(s), r, err, errlen);
}

static void test_name_and_command(void **state)
{
	struct route r;
	char err[128] = "";

	assert_int_equal(parse("web01/check_load", &r, err, sizeof err), 0);
	assert_string_equal(r.guest, "web01");
	assert_int_equal(r.domid, -1);
	assert_int_equal(r.query_len, strlen("check_load"));
	assert_memory_equal(r.query, "check_load", r.query_len);
	assert_int_equal(r.version_check, 0);
}

static void test_arguments_pass_unchanged(void **state)
{
	const char *q = "db-1.example/check_disk!-w!20%!-c!10%!/var lib";
	struct route r;
	char err[128];

	assert_int_equal(parse(q, &r, err, sizeof err), 0);
	assert_string_equal(r.guest, "db-1.example");
	assert_int_equal(r.query_len, strlen(q) - strlen("db-1.example/"));
	assert_memory_equal(r.query, "check_disk!-w!20%!-c!10%!/var lib", r.query_len);
	/* only the first '/' splits */
	assert_int_equal(parse("g/check_x!/a/b", &r, err, sizeof err), 0);
	assert_string_equal(r.guest, "g");
	assert_memory_equal(r.query, "check_x!/a/b", r.query_len);
}

static void test_domid(void **state)
{
	struct route r;
	char err[128];

	assert_int_equal(parse("5/x", &r, err, sizeof err), 0);
	assert_int_equal(r.domid, 5);
	assert_string_equal(r.guest, "5");
	assert_int_equal(parse("32751/x", &r, err, sizeof err), 0);
	assert_int_equal(r.domid, 32751);
	assert_int_equal(parse("0/x", &r, err, sizeof err), 0);
	assert_int_equal(r.domid, 0);
	assert_int_equal(parse("00012/x", &r, err, sizeof err), 0);
	assert_int_equal(r.domid, 12);
	assert_int_equal(parse("32752/x", &r, err, sizeof err), -1);
	assert_string_equal(err, "domid out of range (0-32751)");
	assert_int_equal(parse("123456/x", &r, err, sizeof err), -1);
	assert_int_equal(r.domid, -1);
	/* digits and letters: a name */
	assert_int_equal(parse("5a/x", &r, err, sizeof err), 0);
	assert_int_equal(r.domid, -1);
}

static void test_version_check(void **state)
{
	struct route r;
	char err[128];

	assert_int_equal(parse("_NRPE_CHECK", &r, err, sizeof err), 0);
	assert_int_equal(r.version_check, 1);
	assert_string_equal(r.guest, "");
	assert_int_equal(parse("", &r, err, sizeof err), 0);
	assert_int_equal(r.version_check, 1);
	assert_string_equal(r.guest, "");
	assert_int_equal(route_parse(NULL, 0, &r, err, sizeof err), 0);
	assert_int_equal(r.version_check, 1);
	assert_int_equal(parse("web01/", &r, err, sizeof err), 0);
	assert_int_equal(r.version_check, 1);
	assert_string_equal(r.guest, "web01");
	assert_int_equal(parse("web01/_NRPE_CHECK", &r, err, sizeof err), 0);
	assert_int_equal(r.version_check, 1);
	assert_int_equal(parse("web01/_NRPE_CHECKX", &r, err, sizeof err), 0);
	assert_int_equal(r.version_check, 0);
}

static void test_errors_say_why_without_quoting(void **state)
{
	static const struct {
		const char *in, *why;
	} cases[] = {
	    {"check_load", "expected GUEST/COMMAND[!arg...] (no '/' in the query)"},
	    {"/check_load", "empty guest name before '/'"},
	    {"web 01/x", "guest name has a character outside [A-Za-z0-9_.-]"},
	    {"we$(id)/x", "guest name has a character outside [A-Za-z0-9_.-]"},
	    {"w\x1b[31m/x", "guest name has a character outside [A-Za-z0-9_.-]"},
	    {"web01/!arg", "empty command name before '!'"},
	};
	struct route r;
	char err[128];

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		strcpy(err, "unset");
		assert_int_equal(parse(cases[i].in, &r, err, sizeof err), -1);
		assert_string_equal(err, cases[i].why);
		assert_int_equal(r.domid, -1);
		assert_string_equal(r.guest, "");
		assert_null(r.query);
	}
}

static void test_nul_byte(void **state)
{
	struct route r;
	char err[128];

	assert_int_equal(route_parse("web01/x\0y", 9, &r, err, sizeof err), -1);
	assert_string_equal(err, "the query contains a NUL byte");
	assert_int_equal(route_parse("web01\0/x", 8, &r, err, sizeof err), -1);
}

static void test_lengths(void **state)
{
	char name[ROUTE_GUEST_MAX + 8];
	struct route r;
	char err[128];
	char *big;
	size_t n;

	memset(name, 'a', ROUTE_GUEST_MAX);
	strcpy(name + ROUTE_GUEST_MAX, "/x");
	assert_int_equal(parse(name, &r, err, sizeof err), 0);
	assert_int_equal(strlen(r.guest), ROUTE_GUEST_MAX);
	memset(name, 'a', ROUTE_GUEST_MAX + 1);
	strcpy(name + ROUTE_GUEST_MAX + 1, "/x");
	assert_int_equal(parse(name, &r, err, sizeof err), -1);
	assert_string_equal(err, "guest name longer than 64 characters");

	n = 2 + ROUTE_QUERY_MAX;
	big = malloc(n + 2);
	assert_non_null(big);
	memcpy(big, "g/", 2);
	memset(big + 2, 'q', ROUTE_QUERY_MAX);
	assert_int_equal(route_parse(big, n, &r, err, sizeof err), 0);
	assert_int_equal(r.query_len, ROUTE_QUERY_MAX);
	big[n] = 'q';
	assert_int_equal(route_parse(big, n + 1, &r, err, sizeof err), -1);
	assert_string_equal(err, "query longer than 65531 bytes");
	free(big);
}

static void test_small_error_buffer(void **state)
{
	struct route r;
	char err[8];

	assert_int_equal(parse("/x", &r, err, sizeof err), -1);
	assert_int_equal(strlen(err), sizeof err - 1);
	assert_int_equal(parse("/x", &r, NULL, 0), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_name_and_command),
	    cmocka_unit_test(test_arguments_pass_unchanged),
	    cmocka_unit_test(test_domid),
	    cmocka_unit_test(test_version_check),
	    cmocka_unit_test(test_errors_say_why_without_quoting),
	    cmocka_unit_test(test_nul_byte),
	    cmocka_unit_test(test_lengths),
	    cmocka_unit_test(test_small_error_buffer),
	};
	return cmocka_run_group_tests_name("route", tests, NULL, NULL);
}
