/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The NRPE listener's allowed_hosts rule (host-bridge/allowed.h): parsing,
 * matching, and IPv4-mapped IPv6 entries, which are stored as the IPv4
 * entries they mean because IPv4 clients are matched as IPv4.
 */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <cmocka.h>

#include "../../host-bridge/allowed.h"

struct parsed {
	struct listener_acl *acl;
	size_t n;
	char err[512];
};

static void parse_ok(struct parsed *p, const char *list, size_t n)
{
	memset(p, 0, sizeof *p);
	if (listener_acl_parse(list, &p->acl, &p->n, p->err, sizeof p->err) != 0)
		fail_msg("'%s' refused: %s", list, p->err);
	assert_non_null(p->acl);
	assert_int_equal(p->n, n);
}

/* Refused, with a reason that contains want. */
static void parse_bad(const char *list, const char *want)
{
	struct listener_acl *acl = (struct listener_acl *)&acl;
	size_t n = 99;
	char err[512] = "";

	assert_int_equal(listener_acl_parse(list, &acl, &n, err, sizeof err), -1);
	assert_null(acl);
	assert_int_equal(n, 0);
	if (strstr(err, want) == NULL)
		fail_msg("'%s': reason '%s' lacks '%s'", list, err, want);
	assert_int_equal(strncmp(err, "allowed_hosts: ", 15), 0);
}

/* Entry i is family/text/bits. */
static void entry_is(const struct parsed *p, size_t i, int family, const char *text, unsigned bits)
{
	uint8_t want[16] = {0};

	assert_true(i < p->n);
	assert_int_equal(inet_pton(family, text, want), 1);
	assert_int_equal(p->acl[i].family, family);
	assert_int_equal(p->acl[i].bits, bits);
	assert_memory_equal(p->acl[i].addr, want, 16);
}

/* The verdict for a client family/text. */
static int allows(const struct parsed *p, int family, const char *text)
{
	uint8_t addr[16] = {0};

	assert_int_equal(inet_pton(family, text, addr), 1);
	return listener_acl_allows(p->acl, p->n, family, addr);
}

static void test_plain_entries(void **state)
{
	struct parsed p;

	parse_ok(&p, " 192.0.2.10 ,198.51.100.0/24,\t2001:db8::/32 ", 3);
	entry_is(&p, 0, AF_INET, "192.0.2.10", 32);
	entry_is(&p, 1, AF_INET, "198.51.100.0", 24);
	entry_is(&p, 2, AF_INET6, "2001:db8::", 32);
	assert_true(allows(&p, AF_INET, "192.0.2.10"));
	assert_false(allows(&p, AF_INET, "192.0.2.11"));
	assert_true(allows(&p, AF_INET, "198.51.100.200"));
	assert_true(allows(&p, AF_INET6, "2001:db8:1::5"));
	assert_false(allows(&p, AF_INET6, "2001:db9::5"));
	free(p.acl);
	/* no rule: everybody */
	assert_true(listener_acl_allows(NULL, 0, AF_INET, (const uint8_t *)"\1\2\3\4"));
}

/* ::ffff:a.b.c.d is the IPv4 entry a.b.c.d/32: it matches the IPv4 client
 * (as listener_client_name gives a mapped client) and no other. */
static void test_mapped_address(void **state)
{
	struct parsed p;

	parse_ok(&p, "::ffff:192.0.2.1", 1);
	entry_is(&p, 0, AF_INET, "192.0.2.1", 32);
	assert_true(allows(&p, AF_INET, "192.0.2.1"));
	assert_false(allows(&p, AF_INET, "192.0.2.2"));
	assert_false(allows(&p, AF_INET6, "::ffff:192.0.2.2"));
	free(p.acl);
	/* the same address in hex and upper case, and with /128 */
	parse_ok(&p, "::FFFF:c000:0201,::ffff:192.0.2.1/128", 2);
	entry_is(&p, 0, AF_INET, "192.0.2.1", 32);
	entry_is(&p, 1, AF_INET, "192.0.2.1", 32);
	free(p.acl);
}

/* A mapped range: prefix minus 96, host bits cleared. */
static void test_mapped_range(void **state)
{
	struct parsed p;

	parse_ok(&p, "::ffff:192.0.2.77/120, ::ffff:198.51.100.0/100", 2);
	entry_is(&p, 0, AF_INET, "192.0.2.0", 24);
	entry_is(&p, 1, AF_INET, "192.0.0.0", 4);
	assert_true(allows(&p, AF_INET, "192.0.2.200"));
	assert_true(allows(&p, AF_INET, "200.1.2.3"));
	assert_false(allows(&p, AF_INET, "10.0.2.1"));
	free(p.acl);
	/* the whole mapped range: every IPv4 client, no IPv6 one */
	parse_ok(&p, "::ffff:0:0/96", 1);
	entry_is(&p, 0, AF_INET, "0.0.0.0", 0);
	assert_true(allows(&p, AF_INET, "203.0.113.9"));
	assert_false(allows(&p, AF_INET6, "2001:db8::1"));
	free(p.acl);
}

/* A mapped entry with a prefix below 96 reaches beyond IPv4: refused. */
static void test_mapped_short_prefix(void **state)
{
	parse_bad("::ffff:192.0.2.0/95", "'::ffff:192.0.2.0/95': an IPv4-mapped address takes a "
					 "prefix of 96 or more");
	parse_bad("10.0.0.1,::ffff:0:0/64", "'::ffff:0:0/64'");
	parse_bad("::ffff:1.2.3.4/0", "IPv4-mapped");
	/* the prefix bound is still the one of IPv6 */
	parse_bad("::ffff:192.0.2.1/129", "above 128");
}

/* Other IPv6 ranges stay IPv6, even those that contain the mapped range:
 * they never match an IPv4 client. */
static void test_other_v6_stays_v6(void **state)
{
	struct parsed p;

	parse_ok(&p, "::/0,::1.2.3.4,::fffe:0:0/96", 3);
	entry_is(&p, 0, AF_INET6, "::", 0);
	entry_is(&p, 1, AF_INET6, "::1.2.3.4", 128);
	entry_is(&p, 2, AF_INET6, "::fffe:0:0", 96);
	assert_true(allows(&p, AF_INET6, "2001:db8::1"));
	assert_false(allows(&p, AF_INET, "192.0.2.1"));
	free(p.acl);
}

static void test_refused(void **state)
{
	parse_bad("", "empty entry");
	parse_bad("192.0.2.1,,192.0.2.2", "empty entry");
	parse_bad("localhost", "not a numeric IPv4 or IPv6 address");
	parse_bad("192.0.2.0/33", "above 32");
	parse_bad("192.0.2.0/", "bad prefix length");
	parse_bad("192.0.2.0/2a", "bad prefix length");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_plain_entries),     cmocka_unit_test(test_mapped_address),
	    cmocka_unit_test(test_mapped_range),      cmocka_unit_test(test_mapped_short_prefix),
	    cmocka_unit_test(test_other_v6_stays_v6), cmocka_unit_test(test_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
