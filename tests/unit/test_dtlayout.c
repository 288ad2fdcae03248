/* SPDX-License-Identifier: GPL-2.0-or-later */
/* dtlayout: key encodings and the tree built from a NIC table, within the
 * node budget and xenstored's per-node size. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <sys/socket.h>

#include "../../guest-agent/dtlayout.h"

static void key6(const char *text, const char *want)
{
	uint8_t a[16];
	char buf[DTLAYOUT_ADDR_KEY_SIZE];
	assert_int_equal(inet_pton(AF_INET6, text, a), 1);
	dtlayout_addr_key(AF_INET6, a, buf, sizeof buf);
	assert_string_equal(buf, want);
}

static void test_addr_key(void **state)
{
	uint8_t a4[4] = {192, 168, 1, 10};
	char buf[DTLAYOUT_ADDR_KEY_SIZE];

	dtlayout_addr_key(AF_INET, a4, buf, sizeof buf);
	assert_string_equal(buf, "192_168_1_10");
	key6("::", "__");
	key6("::1", "__1");
	key6("1::", "1__");
	key6("fe80::216:3eff:fe12:3456", "fe80__216_3eff_fe12_3456");
	/* RFC 5952: the first of two equal runs; a lone zero group stays */
	key6("2001:db8:0:0:1:0:0:1", "2001_db8__1_0_0_1");
	key6("2001:db8:0:1:1:1:1:1", "2001_db8_0_1_1_1_1_1");
	key6("2001:0:0:1:0:0:0:1", "2001_0_0_1__1");
	/* never the dotted form: the key must decode with '_' -> ':' */
	key6("::ffff:1.2.3.4", "__ffff_102_304");
	key6("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "ffff_ffff_ffff_ffff_ffff_ffff_ffff_ffff");
	assert_int_equal(strlen("ffff_ffff_ffff_ffff_ffff_ffff_ffff_ffff") + 1,
			 DTLAYOUT_ADDR_KEY_SIZE);
}

static void test_ifname_key_mac(void **state)
{
	char buf[DTLAYOUT_IFNAME_KEY_SIZE], mac[DTLAYOUT_MAC_SIZE];
	uint8_t hw[6] = {0x00, 0x16, 0x3e, 0xab, 0xcd, 0xef};

	dtlayout_ifname_key("eth0", buf, sizeof buf);
	assert_string_equal(buf, "eth0");
	dtlayout_ifname_key("eth0.100", buf, sizeof buf);
	assert_string_equal(buf, "eth0_2e100");
	dtlayout_ifname_key("br_lan", buf, sizeof buf);
	assert_string_equal(buf, "br_5flan");
	dtlayout_ifname_key("a@b-c", buf, sizeof buf);
	assert_string_equal(buf, "a_40b-c");
	/* 15 bytes that all need escaping still fit */
	dtlayout_ifname_key("...............", buf, sizeof buf);
	assert_int_equal(strlen(buf), 45);
	dtlayout_mac(hw, 6, mac, sizeof mac);
	assert_string_equal(mac, "00:16:3e:ab:cd:ef");
	dtlayout_mac(hw, 0, mac, sizeof mac);
	assert_string_equal(mac, "");
	assert_string_equal(dtlayout_operstate(6), "up");
	assert_string_equal(dtlayout_operstate(2), "down");
	assert_string_equal(dtlayout_operstate(99), "unknown");
}

/* ------------------------------------------------------------ builds */

struct fixture {
	struct nic_table t;
	struct osinfo os;
	struct xspub_tree tree;
	struct dtlayout_input in;
};

/* eth0 -> vif 0, eth1 -> vif 1, "ethdup" claims vif 0 too, others none */
static int fake_vif(void *ctx, const char *ifname)
{
	if (strcmp(ifname, "eth0") == 0 || strcmp(ifname, "ethdup") == 0)
		return 0;
	if (strcmp(ifname, "eth1") == 0)
		return 1;
	return -1;
}

static void add_link(struct nic_table *t, int ifindex, const char *name, unsigned flags,
		     unsigned short type)
{
	struct nic_link *l;
	if (t->links == NULL)
		t->links = calloc(NIC_MAX_LINKS, sizeof *t->links);
	assert_non_null(t->links);
	l = &t->links[t->nlinks++];
	memset(l, 0, sizeof *l);
	l->ifindex = ifindex;
	snprintf(l->name, sizeof l->name, "%s", name);
	l->hwaddr_len = 6;
	l->hwaddr[0] = 0x00;
	l->hwaddr[1] = 0x16;
	l->hwaddr[2] = 0x3e;
	l->hwaddr[5] = (uint8_t)ifindex;
	l->mtu = 1500;
	l->flags = flags;
	l->carrier = 1;
	l->operstate = 6;
	l->type = type;
}

static void add_addr(struct nic_table *t, int ifindex, int family, const char *text,
		     unsigned prefix, unsigned scope)
{
	struct nic_addr *a;
	if (t->addrs == NULL)
		t->addrs = calloc(NIC_MAX_ADDRS, sizeof *t->addrs);
	assert_non_null(t->addrs);
	a = &t->addrs[t->naddrs++];
	memset(a, 0, sizeof *a);
	a->ifindex = ifindex;
	a->family = family;
	assert_int_equal(inet_pton(family, text, a->addr), 1);
	a->prefixlen = (uint8_t)prefix;
	a->scope = (uint8_t)scope;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof *f);
	assert_non_null(f);
	nic_table_init(&f->t);
	strcpy(f->os.id, "testix");
	strcpy(f->os.name, "Testix");
	strcpy(f->os.version_id, "3.14");
	strcpy(f->os.pretty_name, "Testix 3.14");
	strcpy(f->os.kernel_name, "Linux");
	strcpy(f->os.kernel_release, "6.1.0-test");
	strcpy(f->os.kernel_version, "#1 SMP");
	strcpy(f->os.machine, "x86_64");
	strcpy(f->os.hostname, "web01");
	xspub_tree_init(&f->tree, NULL);
	f->in.os = &f->os;
	f->in.nics = &f->t;
	f->in.vif_id = fake_vif;
	f->in.publish_other_nics = 1;
	f->in.agent_version = "0.1.0";
	f->in.state = "running";
	add_link(&f->t, 1, "lo", IFF_UP | IFF_LOOPBACK, ARPHRD_LOOPBACK);
	add_addr(&f->t, 1, AF_INET, "127.0.0.1", 8, RT_SCOPE_HOST);
	add_link(&f->t, 2, "eth0", IFF_UP | 0x10000, ARPHRD_ETHER);
	add_addr(&f->t, 2, AF_INET, "10.0.0.5", 24, RT_SCOPE_UNIVERSE);
	add_addr(&f->t, 2, AF_INET6, "fe80::216:3eff:fe00:2", 64, RT_SCOPE_LINK);
	add_link(&f->t, 3, "docker0", 0, ARPHRD_ETHER);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	nic_table_free(&f->t);
	xspub_tree_free(&f->tree);
	free(f);
	return 0;
}

static const char *get(struct fixture *f, const char *path)
{
	return xspub_tree_get(&f->tree, path);
}

static void check_limits(const struct xspub_tree *t, size_t max_nodes)
{
	assert_true(t->n <= max_nodes);
	for (size_t i = 0; i < t->n; i++) {
		assert_true(xspub_path_valid(t->nodes[i].path));
		assert_true(strlen(t->nodes[i].value) + t->nodes[i].child_bytes <=
			    DTLAYOUT_MAX_NODE_BYTES);
	}
}

static void test_build_basic(void **state)
{
	struct fixture *f = *state;
	struct dtlayout_result res;

	assert_int_equal(dtlayout_build(&f->tree, &f->in, &res), 0);
	assert_string_equal(get(f, "data/guest/protocol"), "xen-guest-data");
	assert_string_equal(get(f, "data/guest/version"), DTLAYOUT_VERSION);
	assert_string_equal(get(f, "data/guest/agent/name"), "xenvchan-agent");
	assert_string_equal(get(f, "data/guest/agent/state"), "running");
	assert_string_equal(get(f, "data/guest/agent/legacy-keys"), "off");
	assert_string_equal(get(f, "data/guest/os/class"), "unix");
	assert_string_equal(get(f, "data/guest/os/hostname"), "web01");
	assert_null(get(f, "data/guest/os/version")); /* unknown: not published */
	assert_string_equal(get(f, "data/guest/os/unix/kernel-release"), "6.1.0-test");
	assert_string_equal(get(f, "data/guest/net/vif/0/name"), "eth0");
	assert_string_equal(get(f, "data/guest/net/vif/0/mac"), "00:16:3e:00:00:02");
	assert_string_equal(get(f, "data/guest/net/vif/0/link"), "up");
	assert_string_equal(get(f, "data/guest/net/vif/0/ipv4/10_0_0_5"), "24");
	assert_string_equal(get(f, "data/guest/net/vif/0/ipv6/fe80__216_3eff_fe00_2"), "64");
	assert_string_equal(get(f, "data/guest/net/other/docker0/link"), "down");
	assert_string_equal(get(f, "data/guest/net/other/docker0/admin"), "down");
	assert_string_equal(get(f, "data/guest/net/other/docker0/ipv4"), "");
	assert_null(get(f, "data/guest/net/other/lo"));
	assert_null(get(f, "data/os_name"));
	assert_null(get(f, "data/guest/net/omitted"));
	assert_int_equal(res.nics, 2);
	assert_int_equal(res.addrs, 2);
	assert_int_equal(res.nics_omitted + res.addrs_omitted, 0);
	assert_ptr_equal(f->tree.scope, &dtlayout_scope);
	check_limits(&f->tree, DTLAYOUT_DEFAULT_MAX_NODES);
}

static void test_build_options(void **state)
{
	struct fixture *f = *state;

	f->in.include_loopback = 1;
	assert_int_equal(dtlayout_build(&f->tree, &f->in, NULL), 0);
	assert_string_equal(get(f, "data/guest/net/other/lo/ipv4/127_0_0_1"), "8");
	f->in.publish_other_nics = 0;
	assert_int_equal(dtlayout_build(&f->tree, &f->in, NULL), 0);
	assert_null(get(f, "data/guest/net/other"));
	assert_null(get(f, "data/guest/net/other/lo"));
	assert_string_equal(get(f, "data/guest/net/vif/0/name"), "eth0");
	f->in.state = "stopped";
	assert_int_equal(dtlayout_build(&f->tree, &f->in, NULL), 0);
	assert_string_equal(get(f, "data/guest/agent/state"), "stopped");
}

static void test_build_duplicate_vif(void **state)
{
	struct fixture *f = *state;

	add_link(&f->t, 7, "ethdup", IFF_UP, ARPHRD_ETHER);
	assert_int_equal(dtlayout_build(&f->tree, &f->in, NULL), 0);
	/* the lower ifindex keeps vif 0; the other is listed as other */
	assert_string_equal(get(f, "data/guest/net/vif/0/name"), "eth0");
	assert_string_equal(get(f, "data/guest/net/other/ethdup/name"), "ethdup");
}

static void test_build_legacy(void **state)
{
	struct fixture *f = *state;

	f->in.legacy = 1;
	f->in.updated = "Mon Jan  1 00:00:00 2024";
	add_addr(&f->t, 2, AF_INET6, "2001:db8::5", 64, RT_SCOPE_UNIVERSE);
	assert_int_equal(dtlayout_build(&f->tree, &f->in, NULL), 0);
	assert_ptr_equal(f->tree.scope, &dtlayout_scope_legacy);
	assert_string_equal(get(f, "data/guest/agent/legacy-keys"), "on");
	assert_string_equal(get(f, "data/os_name"), "Testix 3.14");
	assert_string_equal(get(f, "data/os_uname"), "6.1.0-test");
	assert_string_equal(get(f, "data/os_distro"), "testix");
	assert_string_equal(get(f, "data/os_majorver"), "3");
	assert_string_equal(get(f, "data/os_minorver"), "14");
	assert_string_equal(get(f, "data/updated"), "Mon Jan  1 00:00:00 2024");
	assert_string_equal(get(f, "attr/PVAddons/MajorVersion"), "0");
	assert_string_equal(get(f, "attr/PVAddons/MinorVersion"), "1");
	assert_string_equal(get(f, "attr/PVAddons/Installed"), "1");
	assert_string_equal(get(f, "attr/vif/0/ipv4/0"), "10.0.0.5");
	/* global before link-local */
	assert_string_equal(get(f, "attr/vif/0/ipv6/0"), "2001:db8::5");
	assert_string_equal(get(f, "attr/vif/0/ipv6/1"), "fe80::216:3eff:fe00:2");
	assert_null(get(f, "attr/vif/3")); /* not a vif */
}

static void test_build_budget(void **state)
{
	struct fixture *f = *state;
	struct dtlayout_result res;
	char text[64];

	/* 3000 addresses on eth0, 5 more NICs with 10 each */
	for (int i = 0; i < 3000; i++) {
		snprintf(text, sizeof text, "2001:db8::%x:%x", i / 256 + 1, i % 256 + 1);
		add_addr(&f->t, 2, AF_INET6, text, 64, RT_SCOPE_UNIVERSE);
	}
	for (int n = 0; n < 5; n++) {
		char name[16];
		snprintf(name, sizeof name, "veth%d", n);
		add_link(&f->t, 100 + n, name, IFF_UP, ARPHRD_ETHER);
		for (int i = 0; i < 10; i++) {
			snprintf(text, sizeof text, "10.%d.0.%d", n, i + 1);
			add_addr(&f->t, 100 + n, AF_INET, text, 24, RT_SCOPE_UNIVERSE);
		}
	}
	assert_int_equal(dtlayout_build(&f->tree, &f->in, &res), 0);
	check_limits(&f->tree, DTLAYOUT_DEFAULT_MAX_NODES);
	assert_true(res.addrs_omitted > 0);
	/* eth0's IPv6 list is cut by the node size, and says so */
	const char *om = get(f, "data/guest/net/vif/0/ipv6-omitted");
	assert_non_null(om);
	assert_true(atoi(om) > 2800 && atoi(om) < 2950);
	/* round-robin: eth0's thousands did not starve the others */
	assert_string_equal(get(f, "data/guest/net/other/veth4/ipv4/10_4_0_10"), "24");
	assert_string_equal(get(f, "data/guest/net/vif/0/ipv4/10_0_0_5"), "24");

	/* a small budget leaves NICs out, and says how many */
	f->in.max_nodes = DTLAYOUT_MIN_MAX_NODES;
	assert_int_equal(dtlayout_build(&f->tree, &f->in, &res), 0);
	check_limits(&f->tree, DTLAYOUT_MIN_MAX_NODES);
	assert_true(res.nics_omitted > 0);
	snprintf(text, sizeof text, "%zu", res.nics_omitted);
	assert_string_equal(get(f, "data/guest/net/omitted"), text);
	assert_string_equal(get(f, "data/guest/net/vif/0/name"), "eth0"); /* vifs first */
	/* below the minimum, the minimum */
	f->in.max_nodes = 10;
	assert_int_equal(dtlayout_build(&f->tree, &f->in, &res), 0);
	check_limits(&f->tree, DTLAYOUT_MIN_MAX_NODES);
}

static void test_build_odd_names(void **state)
{
	struct fixture *f = *state;

	add_link(&f->t, 9, "eth0.100", IFF_UP, ARPHRD_ETHER);
	add_link(&f->t, 10, "br_lan", IFF_UP, ARPHRD_ETHER);
	strcpy(f->os.pretty_name, "");
	assert_int_equal(dtlayout_build(&f->tree, &f->in, NULL), 0);
	assert_string_equal(get(f, "data/guest/net/other/eth0_2e100/name"), "eth0.100");
	assert_string_equal(get(f, "data/guest/net/other/br_5flan/name"), "br_lan");
	assert_null(get(f, "data/guest/os/pretty-name"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_addr_key),
	    cmocka_unit_test(test_ifname_key_mac),
	    cmocka_unit_test_setup_teardown(test_build_basic, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_build_options, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_build_duplicate_vif, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_build_legacy, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_build_budget, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_build_odd_names, setup, teardown),
	};
	return cmocka_run_group_tests_name("dtlayout", tests, NULL, NULL);
}
