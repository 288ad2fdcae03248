/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What the bridge accepts from a guest's xenstore tree (guests.h), and who
 * may use its local socket (local_peer_allowed). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "../../host-bridge/guests.h"
#include "../../host-bridge/local.h"

static void test_domid(void **state)
{
	assert_int_equal(guests_parse_domid("5", 1), 5);
	assert_int_equal(guests_parse_domid("0", 1), 0);
	assert_int_equal(guests_parse_domid("32751", 5), 32751);
	assert_int_equal(guests_parse_domid("32752", 5), -1);
	assert_int_equal(guests_parse_domid("05", 2), -1);
	assert_int_equal(guests_parse_domid("", 0), -1);
	assert_int_equal(guests_parse_domid("5a", 2), -1);
	assert_int_equal(guests_parse_domid("123456", 6), -1);
	assert_int_equal(guests_parse_domid("-1", 2), -1);
	assert_int_equal(guests_parse_domid("5\0", 2), -1);
}

static void test_name(void **state)
{
	char out[ROUTE_GUEST_MAX + 1];
	char long_name[ROUTE_GUEST_MAX + 1];

	assert_int_equal(guests_parse_name("web01", 5, out), 0);
	assert_string_equal(out, "web01");
	assert_int_equal(guests_parse_name("db-1.example_x", 14, out), 0);
	/* all digits would be taken for a domid */
	assert_int_equal(guests_parse_name("123", 3, out), -1);
	assert_string_equal(out, "");
	assert_int_equal(guests_parse_name("web 01", 6, out), -1);
	assert_int_equal(guests_parse_name("we\x1b[31m", 7, out), -1);
	assert_int_equal(guests_parse_name("web\0", 4, out), -1);
	assert_int_equal(guests_parse_name("", 0, out), -1);
	memset(long_name, 'a', sizeof long_name);
	assert_int_equal(guests_parse_name(long_name, ROUTE_GUEST_MAX, out), 0);
	assert_int_equal(guests_parse_name(long_name, ROUTE_GUEST_MAX + 1, out), -1);
}

static void advert(const char *p, const char *v, const char *t, enum chan_kind want,
		   struct guest_advert *out)
{
	struct guests_raw_advert raw = {
	    p, v, t, p ? strlen(p) : 0, v ? strlen(v) : 0, t ? strlen(t) : 0};
	guests_parse_advert(&raw, want, out);
}

static void test_advert(void **state)
{
	struct guest_advert a;

	advert("xenvchan-nrpe", "1", "socket", CHAN_SOCKET, &a);
	assert_true(a.present && a.valid);
	assert_int_equal(a.vmin, 1);
	assert_int_equal(a.vmax, 1);
	assert_string_equal(a.why, "");
	advert("xenvchan-nrpe", "1-3", "vchan", CHAN_VCHAN, &a);
	assert_true(a.valid);
	assert_int_equal(a.vmax, 3);

	advert(NULL, NULL, NULL, CHAN_VCHAN, &a);
	assert_false(a.present || a.valid);
	assert_string_equal(a.why, "no advertisement");
	advert("xenvchan-nrpe", NULL, "vchan", CHAN_VCHAN, &a);
	assert_true(a.present && !a.valid);
	assert_string_equal(a.why, "versions: missing");
	advert("nrpe", "1", "vchan", CHAN_VCHAN, &a);
	assert_string_equal(a.why, "protocol: 'nrpe' is not xenvchan-nrpe");
	advert("xenvchan-nrpe\x01", "1", "vchan", CHAN_VCHAN, &a);
	assert_string_equal(a.why, "protocol: 'xenvchan-nrpe\\x01' is not xenvchan-nrpe");
	advert("xenvchan-nrpe", "2-9", "vchan", CHAN_VCHAN, &a);
	assert_string_equal(a.why, "versions: no common protocol version (the agent speaks '2-9')");
	advert("xenvchan-nrpe", "3-1", "vchan", CHAN_VCHAN, &a);
	assert_string_equal(a.why, "versions: '3-1' is not N or N-M");
	advert("xenvchan-nrpe", "01", "vchan", CHAN_VCHAN, &a);
	assert_false(a.valid);
	advert("xenvchan-nrpe", "1-", "vchan", CHAN_VCHAN, &a);
	assert_false(a.valid);
	advert("xenvchan-nrpe", "1-2-3", "vchan", CHAN_VCHAN, &a);
	assert_false(a.valid);
	advert("xenvchan-nrpe", "99999999", "vchan", CHAN_VCHAN, &a);
	assert_false(a.valid);
	advert("xenvchan-nrpe", "1", "tcp", CHAN_VCHAN, &a);
	assert_string_equal(a.why, "transport: 'tcp' is not vchan or socket");
	advert("xenvchan-nrpe", "1", "vchan", CHAN_SOCKET, &a);
	assert_string_equal(a.why, "transport: the agent listens on vchan, the bridge uses socket");
}

static void test_advert_oversized(void **state)
{
	char big[GUESTS_VALUE_MAX + 2];
	struct guest_advert a;

	memset(big, 'x', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	advert(big, "1", "vchan", CHAN_VCHAN, &a);
	assert_false(a.valid);
	assert_string_equal(a.why, "protocol: value of 65 bytes (at most 64)");
}

static void test_peer_allowed(void **state)
{
	const uid_t uids[] = {1001};
	const gid_t gids[] = {2002};
	const gid_t groups[] = {5, 2002};
	struct local_opts none = {0};
	struct local_opts o = {.uids = uids, .nuids = 1, .gids = gids, .ngids = 1};
	char why[256] = "";

	/* no allowlist: the file mode decides */
	assert_int_equal(local_peer_allowed(&none, 0, 4242, 4242, NULL, 0, why, sizeof why), 1);
	assert_int_equal(local_peer_allowed(&o, 0, 0, 0, NULL, 0, why, sizeof why), 1);
	assert_int_equal(local_peer_allowed(&o, 999, 999, 999, NULL, 0, why, sizeof why), 1);
	assert_int_equal(local_peer_allowed(&o, 0, 1001, 1, NULL, 0, why, sizeof why), 1);
	assert_int_equal(local_peer_allowed(&o, 0, 77, 2002, NULL, 0, why, sizeof why), 1);
	assert_int_equal(local_peer_allowed(&o, 0, 77, 77, groups, 2, why, sizeof why), 1);
	assert_int_equal(local_peer_allowed(&o, 0, 77, 78, groups, 1, why, sizeof why), 0);
	assert_string_equal(why, "XENVCHAN: access denied: uid 77 (gid 78) is not allowed to use "
				 "the bridge (allowed_uids/allowed_gids)");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_domid),	 cmocka_unit_test(test_name),
	    cmocka_unit_test(test_advert),	 cmocka_unit_test(test_advert_oversized),
	    cmocka_unit_test(test_peer_allowed),
	};
	return cmocka_run_group_tests_name("guestvals", tests, NULL, NULL);
}
