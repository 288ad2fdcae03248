/* SPDX-License-Identifier: GPL-2.0-or-later */
/* inventory: dom0's validation of guest-written data trees, the escaping
 * of every guest string, and the two output formats. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <json.h>

#include "inv_memsrc.h"

static void put(struct memsrc *m, const char *path, const char *value)
{
	memsrc_add(m, path, value, strlen(value));
}

static void good_tree(struct memsrc *m)
{
	put(m, "protocol", "xen-guest-data");
	put(m, "version", "1.0.0");
	put(m, "agent/name", "xenvchan-agent");
	put(m, "agent/version", "0.1.0");
	put(m, "agent/state", "running");
	put(m, "os/class", "unix");
	put(m, "os/id", "debian");
	put(m, "os/name", "Debian GNU/Linux");
	put(m, "os/pretty-name", "Debian GNU/Linux 12 (bookworm)");
	put(m, "os/hostname", "web01");
	put(m, "os/unix/kernel-release", "6.1.0-18-amd64");
	put(m, "net/vif/0/name", "eth0");
	put(m, "net/vif/0/mac", "00:16:3e:00:00:01");
	put(m, "net/vif/0/mtu", "1500");
	put(m, "net/vif/0/link", "up");
	put(m, "net/vif/0/admin", "up");
	put(m, "net/vif/0/carrier", "up");
	put(m, "net/vif/0/operstate", "up");
	put(m, "net/vif/0/ipv4/10_0_0_5", "24");
	put(m, "net/vif/0/ipv6/fe80__216_3eff_fe00_1", "64");
	put(m, "net/vif/0/ipv6/2001_db8__5", "64");
	put(m, "net/other/br_5flan/name", "br_lan");
	put(m, "net/other/br_5flan/link", "down");
	put(m, "probes/protocol", "xenvchan-nrpe");
}

static void parse(struct inv_guest *g, struct memsrc *m)
{
	struct inv_source src = memsrc_source(m);
	memset(g, 0, sizeof *g);
	g->domid = 5;
	strcpy(g->name, "web01");
	inventory_parse(g, &src);
}

static void test_good(void **state)
{
	struct memsrc m = {0};
	struct inv_guest g;

	good_tree(&m);
	parse(&g, &m);
	assert_int_equal(g.status, INV_OK);
	assert_string_equal(g.version, "1.0.0");
	assert_string_equal(g.agent_state, "running");
	assert_string_equal(g.os_pretty_name, "Debian GNU/Linux 12 (bookworm)");
	assert_string_equal(g.kernel_release, "6.1.0-18-amd64");
	assert_string_equal(g.hostname, "web01");
	assert_int_equal(g.nnics, 2);
	assert_int_equal(g.nics[0].vif_id, 0);
	assert_string_equal(g.nics[0].name, "eth0");
	assert_string_equal(g.nics[0].mac, "00:16:3e:00:00:01");
	assert_int_equal(g.nics[0].mtu, 1500);
	assert_string_equal(g.nics[0].link, "up");
	assert_string_equal(g.nics[0].operstate, "up");
	assert_int_equal(g.nics[0].naddrs[0], 1);
	assert_string_equal(g.nics[0].addrs[0][0].text, "10.0.0.5");
	assert_int_equal(g.nics[0].addrs[0][0].prefix, 24);
	assert_int_equal(g.nics[0].naddrs[1], 2);
	assert_string_equal(g.nics[0].addrs[1][0].text, "2001:db8::5");
	assert_string_equal(g.nics[0].addrs[1][1].text, "fe80::216:3eff:fe00:1");
	assert_int_equal(g.nics[1].vif_id, -1);
	assert_string_equal(g.nics[1].key, "br_5flan");
	assert_string_equal(g.nics[1].name, "br_lan");
	assert_int_equal(g.nics[1].mtu, -1);
	assert_int_equal(g.nwarnings, 0);
	inventory_guest_free(&g);
	memsrc_free(&m);
}

static void test_status(void **state)
{
	struct memsrc m = {0};
	struct inv_guest g;

	/* nothing, or only the advert's probes: no tree */
	parse(&g, &m);
	assert_int_equal(g.status, INV_NO_TREE);
	put(&m, "probes/protocol", "xenvchan-nrpe");
	parse(&g, &m);
	assert_int_equal(g.status, INV_NO_TREE);
	memsrc_free(&m);

	put(&m, "protocol", "something-else\x1b]0;pwned\x07");
	put(&m, "version", "1.0.0");
	parse(&g, &m);
	assert_int_equal(g.status, INV_FOREIGN);
	assert_non_null(strstr(g.reason, "something-else\\x1B]0;pwned\\x07"));
	memsrc_free(&m);

	static const char *const bad_versions[] = {"1",	    "1.0",	     "1.0.0.0", "01.0.0",
						   "1.x.0", "-1.0.0",	     "1.0.0 ",	"",
						   "1..0",  "9999999999.0.0"};
	for (size_t i = 0; i < sizeof bad_versions / sizeof bad_versions[0]; i++) {
		put(&m, "protocol", "xen-guest-data");
		put(&m, "version", bad_versions[i]);
		parse(&g, &m);
		assert_int_equal(g.status, INV_INVALID);
		memsrc_free(&m);
	}
	put(&m, "protocol", "xen-guest-data");
	parse(&g, &m);
	assert_int_equal(g.status, INV_INVALID);
	memsrc_free(&m);

	put(&m, "protocol", "xen-guest-data");
	put(&m, "version", "2.0.0");
	put(&m, "os/name", "Future OS");
	parse(&g, &m);
	assert_int_equal(g.status, INV_INCOMPATIBLE);
	assert_string_equal(g.reason, "layout version 2.0.0; this reader understands 1.x");
	assert_string_equal(g.os_name, "");
	memsrc_free(&m);

	/* a newer minor is fine, unknown keys are ignored */
	put(&m, "protocol", "xen-guest-data");
	put(&m, "version", "1.7.3");
	put(&m, "os/name", "Linux");
	put(&m, "os/future-key", "x");
	put(&m, "net/vif/2/operstate", "hibernating"); /* an open enumeration grows */
	put(&m, "net/future-kind/x/name", "y");
	parse(&g, &m);
	assert_int_equal(g.status, INV_OK);
	assert_int_equal(g.vminor, 7);
	assert_string_equal(g.nics[0].operstate, "hibernating");
	assert_int_equal(g.nwarnings, 0);
	inventory_guest_free(&g);
	memsrc_free(&m);

	/* a read error is not "no tree" */
	good_tree(&m);
	m.fail_path = "os/hostname";
	parse(&g, &m);
	assert_int_equal(g.status, INV_UNREADABLE);
	assert_int_equal(g.nnics, 0);
	assert_non_null(strstr(g.reason, "Permission denied"));
	memsrc_free(&m);
}

static void test_hostile(void **state)
{
	struct memsrc m = {0};
	struct inv_guest g;
	char big[4000];

	put(&m, "protocol", "xen-guest-data");
	put(&m, "version", "1.0.0");
	memset(big, 'A', sizeof big);
	memsrc_add(&m, "os/pretty-name", big, sizeof big);
	memsrc_add(&m, "os/hostname", "evil\0host\r\n\x1b[2J", 15);
	put(&m, "os/name",
	    "\xe2\x80\xae"
	    "evil\xe2\x80\xac");
	put(&m, "agent/state", "hacked");
	put(&m, "net/vif/0/name", "eth0");
	put(&m, "net/vif/0/mtu", "15OO");
	put(&m, "net/vif/0/mac", "00:16:3e:zz:00:01");
	put(&m, "net/vif/0/link", "UP");
	put(&m, "net/vif/0/operstate", "Bad State!");
	put(&m, "net/vif/0/ipv4/10_0_0_1", "33");
	put(&m, "net/vif/0/ipv4/10_0_0_2", "8");
	put(&m, "net/vif/0/ipv4/not_an_address", "24");
	put(&m, "net/vif/0/ipv4/999_0_0_1", "24");
	put(&m, "net/vif/0/ipv6/fe80__1", "64");
	put(&m, "net/vif/0/ipv6-omitted", "12");
	put(&m, "net/vif/00/name", "leading zero");
	put(&m, "net/vif/70000/name", "too big");
	put(&m, "net/vif/x/name", "not a number");
	put(&m, "net/other/bad.key/name", "dot");
	put(&m, "net/omitted", "3");
	parse(&g, &m);
	assert_int_equal(g.status, INV_OK);
	assert_int_equal(strlen(g.os_pretty_name), INV_MAX_TEXT - 1);
	assert_string_equal(g.os_pretty_name + INV_MAX_TEXT - 4, "...");
	assert_string_equal(g.hostname, "evil\\x00host\\x0D\\x0A\\x1B[2J");
	assert_string_equal(g.os_name, "\\u{202E}evil\\u{202C}");
	assert_null(g.agent_state);
	assert_int_equal(g.nnics, 1);
	assert_int_equal(g.nics[0].mtu, -1);
	assert_string_equal(g.nics[0].mac, "");
	assert_null(g.nics[0].link);
	assert_string_equal(g.nics[0].operstate, "");
	assert_int_equal(g.nics[0].naddrs[0], 1);
	assert_string_equal(g.nics[0].addrs[0][0].text, "10.0.0.2");
	assert_int_equal(g.nics[0].naddrs[1], 1);
	assert_int_equal(g.nics[0].omitted[1], 12);
	assert_int_equal(g.nics_omitted, 3);
	assert_true(g.nwarnings >= 10);
	for (size_t i = 0; i < g.nwarnings; i++)
		for (const char *p = g.warnings[i]; *p; p++)
			assert_true((unsigned char)*p >= 0x20 && *p != 0x7f);

	/* both outputs hold only safe text */
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	assert_non_null(f);
	inventory_print_table_header(f);
	inventory_print_table_guest(f, &g);
	fclose(f);
	for (size_t i = 0; i < len; i++)
		assert_true((unsigned char)buf[i] >= 0x20 || buf[i] == '\n');
	free(buf);

	struct json_object *j = inventory_json_guest(&g);
	assert_non_null(j);
	const char *text = json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN);
	struct json_object *back = json_tokener_parse(text);
	assert_non_null(back);
	struct json_object *os, *host;
	assert_true(json_object_object_get_ex(back, "os", &os));
	assert_true(json_object_object_get_ex(os, "hostname", &host));
	assert_string_equal(json_object_get_string(host), "evil\\x00host\\x0D\\x0A\\x1B[2J");
	json_object_put(back);
	json_object_put(j);
	inventory_guest_free(&g);
	memsrc_free(&m);
}

static void test_table_and_json(void **state)
{
	struct memsrc m = {0};
	struct inv_guest g;
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	good_tree(&m);
	parse(&g, &m);
	f = open_memstream(&buf, &len);
	assert_non_null(f);
	inventory_print_table_guest(f, &g);
	fclose(f);
	assert_non_null(strstr(buf, "    5 web01 "));
	assert_non_null(strstr(buf, "Debian GNU/Linux 12 (bookworm)"));
	assert_non_null(strstr(buf, "vif/0    eth0"));
	assert_non_null(strstr(buf, "10.0.0.5/24 2001:db8::5/64 fe80::216:3eff:fe00:1/64"));
	assert_non_null(strstr(buf, "other    br_lan"));
	free(buf);

	struct json_object *j = inventory_json_guest(&g), *nics, *nic, *v;
	assert_non_null(j);
	assert_true(json_object_object_get_ex(j, "status", &v));
	assert_string_equal(json_object_get_string(v), "ok");
	assert_true(json_object_object_get_ex(j, "nics", &nics));
	assert_int_equal(json_object_array_length(nics), 2);
	nic = json_object_array_get_idx(nics, 0);
	assert_true(json_object_object_get_ex(nic, "mtu", &v));
	assert_int_equal(json_object_get_int(v), 1500);
	assert_true(json_object_object_get_ex(nic, "vif_id", &v));
	assert_int_equal(json_object_get_int(v), 0);
	json_object_put(j);
	inventory_guest_free(&g);
	memsrc_free(&m);

	/* a guest that cannot be shown: one line, one object */
	put(&m, "protocol", "xen-guest-data");
	put(&m, "version", "3.1.4");
	parse(&g, &m);
	buf = NULL;
	f = open_memstream(&buf, &len);
	inventory_print_table_guest(f, &g);
	fclose(f);
	assert_string_equal(buf,
			    "    5 web01            !! incompatible: layout version 3.1.4; this "
			    "reader understands 1.x\n");
	free(buf);
	j = inventory_json_guest(&g);
	assert_true(json_object_object_get_ex(j, "status", &v));
	assert_string_equal(json_object_get_string(v), "incompatible");
	assert_false(json_object_object_get_ex(j, "nics", &v));
	json_object_put(j);
	inventory_guest_free(&g);
	memsrc_free(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_good),
	    cmocka_unit_test(test_status),
	    cmocka_unit_test(test_hostile),
	    cmocka_unit_test(test_table_and_json),
	};
	return cmocka_run_group_tests_name("inventory", tests, NULL, NULL);
}
