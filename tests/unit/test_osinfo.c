/* SPDX-License-Identifier: GPL-2.0-or-later */
/* osinfo: os-release(5) parsing, sanitising, and collecting with uname. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>
#include <cmocka.h>

#include "../../guest-agent/osinfo.h"

static int parse(struct osinfo *oi, const char *text)
{
	memset(oi, 0, sizeof *oi);
	return osinfo_parse_os_release(oi, text, strlen(text));
}

static void test_debian(void **state)
{
	struct osinfo oi;
	int n = parse(&oi, "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n"
			   "NAME=\"Debian GNU/Linux\"\n"
			   "VERSION_ID=\"12\"\n"
			   "VERSION=\"12 (bookworm)\"\n"
			   "VERSION_CODENAME=bookworm\n"
			   "ID=debian\n"
			   "HOME_URL=\"https://www.debian.org/\"\n");
	assert_int_equal(n, 5);
	assert_string_equal(oi.id, "debian");
	assert_string_equal(oi.name, "Debian GNU/Linux");
	assert_string_equal(oi.version, "12 (bookworm)");
	assert_string_equal(oi.version_id, "12");
	assert_string_equal(oi.pretty_name, "Debian GNU/Linux 12 (bookworm)");
}

static void test_quoting(void **state)
{
	struct osinfo oi;
	parse(&oi, "NAME='single \"kept\" \\n'\n"
		   "VERSION=\"a \\\"q\\\" \\$HOME \\\\ \\`x\\` \\n\"\n"
		   "ID=un\\ quoted\n"
		   "PRETTY_NAME=\"ends\" # comment\n");
	assert_string_equal(oi.name, "single \"kept\" \\n");
	/* in double quotes, a backslash before anything but $ ` " \ stays */
	assert_string_equal(oi.version, "a \"q\" $HOME \\ `x` \\n");
	assert_string_equal(oi.id, "un quoted");
	assert_string_equal(oi.pretty_name, "ends");
}

static void test_malformed_lines_ignored(void **state)
{
	struct osinfo oi;
	int n = parse(&oi, "ID=\"unterminated\n"
			   "NAME=\"a\"b\n"
			   "VERSION=two words\n"
			   "=novalue\n"
			   "VERSION_ID\n"
			   "lower=x\n"
			   "   # comment\n"
			   "\n"
			   "PRETTY_NAME=ok\n");
	assert_int_equal(n, 1);
	assert_string_equal(oi.id, "");
	assert_string_equal(oi.name, "");
	assert_string_equal(oi.version, "");
	assert_string_equal(oi.pretty_name, "ok");
}

static void test_crlf_whitespace_last_wins(void **state)
{
	struct osinfo oi;
	parse(&oi, "  ID=first\r\n\tID=second\r\nNAME=x");
	assert_string_equal(oi.id, "second");
	assert_string_equal(oi.name, "x"); /* no final newline */
}

static void test_long_line_skipped(void **state)
{
	size_t n = OSINFO_MAX_LINE + 100;
	char *text = malloc(n + 32);
	struct osinfo oi;

	assert_non_null(text);
	memcpy(text, "NAME=", 5);
	memset(text + 5, 'a', n - 5);
	strcpy(text + n, "\nID=after\n");
	memset(&oi, 0, sizeof oi);
	assert_int_equal(osinfo_parse_os_release(&oi, text, strlen(text)), 1);
	assert_string_equal(oi.name, "");
	assert_string_equal(oi.id, "after");
	free(text);
}

static void test_value_truncated_at_limit(void **state)
{
	char text[OSINFO_MAX_LINE];
	struct osinfo oi;

	/* 600 'x' then a 2-byte character: cut to OSINFO_MAX_VALUE bytes */
	strcpy(text, "NAME=\"");
	memset(text + 6, 'x', 600);
	strcpy(text + 606, "\"\n");
	parse(&oi, text);
	assert_int_equal(strlen(oi.name), OSINFO_MAX_VALUE);
}

static void test_sanitize(void **state)
{
	char out[32];

	assert_int_equal(osinfo_sanitize(out, sizeof out, "a\x1b[1mb", 6), 6);
	assert_string_equal(out, "a?[1mb");
	osinfo_sanitize(out, sizeof out, "caf\xc3\xa9 \xe2\x82\xac", 9);
	assert_string_equal(out, "caf\xc3\xa9 \xe2\x82\xac");
	/* invalid: lone continuation, overlong, surrogate, C1 control, DEL */
	osinfo_sanitize(out, sizeof out, "\x80|\xc0\xaf|\xed\xa0\x80|\xc2\x9b|\x7f", 13);
	assert_string_equal(out, "?|??|???|??|?");
	/* truncated sequence at the end */
	osinfo_sanitize(out, sizeof out, "ab\xe2\x82", 4);
	assert_string_equal(out, "ab??");
	/* cut at a character boundary */
	assert_int_equal(osinfo_sanitize(out, 5, "abc\xc3\xa9", 5), 3);
	assert_string_equal(out, "abc");
	/* embedded NUL is a control character too */
	osinfo_sanitize(out, sizeof out, "a\0b", 3);
	assert_string_equal(out, "a?b");
}

static void test_collect(void **state)
{
	char path[] = "/tmp/test_osinfo.XXXXXX";
	int fd = mkstemp(path);
	const char *text = "ID=testix\nNAME=\"Testix\"\nPRETTY_NAME=\"Testix 1\"\n";
	struct osinfo oi;
	struct utsname u;
	char host[256];

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	assert_int_equal(osinfo_collect(&oi, path), 0);
	unlink(path);
	assert_string_equal(oi.id, "testix");
	assert_string_equal(oi.pretty_name, "Testix 1");
	assert_string_equal(oi.version_id, "");
	assert_int_equal(uname(&u), 0);
	assert_string_equal(oi.kernel_name, u.sysname);
	assert_string_equal(oi.kernel_release, u.release);
	assert_string_equal(oi.machine, u.machine);
	assert_int_equal(gethostname(host, sizeof host), 0);
	assert_string_equal(oi.hostname, host);
}

static void test_collect_defaults(void **state)
{
	struct osinfo oi;

	assert_int_equal(osinfo_collect(&oi, "/nonexistent/os-release"), 0);
	assert_string_equal(oi.id, "linux");
	assert_string_equal(oi.name, "Linux");
	assert_string_equal(oi.pretty_name, "Linux");
	assert_string_equal(oi.version, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_debian),
	    cmocka_unit_test(test_quoting),
	    cmocka_unit_test(test_malformed_lines_ignored),
	    cmocka_unit_test(test_crlf_whitespace_last_wins),
	    cmocka_unit_test(test_long_line_skipped),
	    cmocka_unit_test(test_value_truncated_at_limit),
	    cmocka_unit_test(test_sanitize),
	    cmocka_unit_test(test_collect),
	    cmocka_unit_test(test_collect_defaults),
	};
	return cmocka_run_group_tests_name("osinfo", tests, NULL, NULL);
}
