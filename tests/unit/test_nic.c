/* SPDX-License-Identifier: GPL-2.0-or-later */
/* nic: rtnetlink message parsing into the NIC table, vif ids from sysfs. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <net/if_arp.h>

#include "../../guest-agent/nic.h"

#define BUFSZ 4096

struct link_spec {
	uint16_t type;
	int family;
	int ifindex;
	unsigned flags;
	const char *name;   /* NULL: no IFLA_IFNAME */
	size_t name_len;    /* bytes of the attribute (0: strlen + 1) */
	const uint8_t *mac; /* NULL: no IFLA_ADDRESS */
	size_t mac_len;
	uint32_t mtu;
	int carrier; /* -1: no IFLA_CARRIER */
	uint8_t operstate;
};

static struct nlmsghdr *put_link(void *buf, const struct link_spec *s)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ifinfomsg *ifi;

	nlh->nlmsg_type = s->type;
	ifi = mnl_nlmsg_put_extra_header(nlh, sizeof *ifi);
	ifi->ifi_family = (unsigned char)s->family;
	ifi->ifi_index = s->ifindex;
	ifi->ifi_flags = s->flags;
	ifi->ifi_type = ARPHRD_ETHER;
	if (s->name != NULL)
		mnl_attr_put(nlh, IFLA_IFNAME, s->name_len ? s->name_len : strlen(s->name) + 1,
			     s->name);
	if (s->mac != NULL)
		mnl_attr_put(nlh, IFLA_ADDRESS, s->mac_len, s->mac);
	mnl_attr_put_u32(nlh, IFLA_MTU, s->mtu);
	mnl_attr_put_u8(nlh, IFLA_OPERSTATE, s->operstate);
	if (s->carrier >= 0)
		mnl_attr_put_u8(nlh, IFLA_CARRIER, (uint8_t)s->carrier);
	return nlh;
}

static struct nlmsghdr *put_addr(void *buf, uint16_t type, int family, int ifindex,
				 const char *text, unsigned prefix, int use_local)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ifaddrmsg *ifa;
	uint8_t a[16];

	nlh->nlmsg_type = type;
	ifa = mnl_nlmsg_put_extra_header(nlh, sizeof *ifa);
	ifa->ifa_family = (unsigned char)family;
	ifa->ifa_prefixlen = (unsigned char)prefix;
	ifa->ifa_index = (unsigned)ifindex;
	ifa->ifa_scope = RT_SCOPE_UNIVERSE;
	assert_int_equal(inet_pton(family, text, a), 1);
	mnl_attr_put(nlh, use_local ? IFA_LOCAL : IFA_ADDRESS, family == AF_INET ? 4 : 16, a);
	return nlh;
}

static const uint8_t mac1[6] = {0x00, 0x16, 0x3e, 0x01, 0x02, 0x03};

static struct link_spec eth0(void)
{
	struct link_spec s = {RTM_NEWLINK, AF_UNSPEC, 2, 0x1003, "eth0", 0, mac1, 6, 1500, 1, 6};
	return s;
}

static int apply(struct nic_table *t, struct nlmsghdr *nlh)
{
	return nic_table_apply(t, nlh, nlh->nlmsg_len);
}

static void test_link_lifecycle(void **state)
{
	uint32_t buf[BUFSZ / 4];
	struct nic_table t;
	struct link_spec s = eth0();
	const struct nic_link *l;

	nic_table_init(&t);
	assert_int_equal(apply(&t, put_link(buf, &s)), 1);
	l = nic_table_link(&t, 2);
	assert_non_null(l);
	assert_string_equal(l->name, "eth0");
	assert_int_equal(l->hwaddr_len, 6);
	assert_memory_equal(l->hwaddr, mac1, 6);
	assert_int_equal(l->mtu, 1500);
	assert_int_equal(l->carrier, 1);
	assert_int_equal(l->operstate, 6);
	/* the same again changes nothing */
	assert_int_equal(apply(&t, put_link(buf, &s)), 0);
	s.mtu = 9000;
	assert_int_equal(apply(&t, put_link(buf, &s)), 1);
	s.name = "lan0";
	assert_int_equal(apply(&t, put_link(buf, &s)), 1);
	assert_string_equal(nic_table_link(&t, 2)->name, "lan0");
	s.carrier = 0;
	assert_int_equal(apply(&t, put_link(buf, &s)), 1);
	assert_int_equal(nic_table_link(&t, 2)->carrier, 0);

	/* addresses, then the link goes and takes them along */
	assert_int_equal(apply(&t, put_addr(buf, RTM_NEWADDR, AF_INET, 2, "10.0.0.5", 24, 1)), 1);
	assert_int_equal(apply(&t, put_addr(buf, RTM_NEWADDR, AF_INET6, 2, "fe80::1", 64, 0)), 1);
	assert_int_equal(apply(&t, put_addr(buf, RTM_NEWADDR, AF_INET6, 2, "fe80::1", 64, 0)), 0);
	assert_int_equal(t.naddrs, 2);
	s.type = RTM_DELLINK;
	assert_int_equal(apply(&t, put_link(buf, &s)), 1);
	assert_null(nic_table_link(&t, 2));
	assert_int_equal(t.naddrs, 0);
	assert_int_equal(apply(&t, put_link(buf, &s)), 0); /* unknown: nothing */
	nic_table_free(&t);
}

static void test_addresses(void **state)
{
	uint32_t buf[BUFSZ / 4];
	struct nic_table t;
	struct link_spec s = eth0();

	nic_table_init(&t);
	apply(&t, put_link(buf, &s));
	/* IPv4: IFA_LOCAL wins over IFA_ADDRESS (the peer on ptp links) */
	struct nlmsghdr *nlh = put_addr(buf, RTM_NEWADDR, AF_INET, 2, "10.0.0.5", 32, 1);
	uint8_t peer[4] = {10, 0, 0, 1};
	mnl_attr_put(nlh, IFA_ADDRESS, 4, peer);
	assert_int_equal(apply(&t, nlh), 1);
	assert_int_equal(t.addrs[0].addr[3], 5);
	/* same address, other prefix: another entry */
	assert_int_equal(apply(&t, put_addr(buf, RTM_NEWADDR, AF_INET, 2, "10.0.0.5", 24, 1)), 1);
	assert_int_equal(t.naddrs, 2);
	assert_int_equal(apply(&t, put_addr(buf, RTM_DELADDR, AF_INET, 2, "10.0.0.5", 32, 1)), 1);
	assert_int_equal(t.naddrs, 1);
	assert_int_equal(t.addrs[0].prefixlen, 24);
	assert_int_equal(apply(&t, put_addr(buf, RTM_DELADDR, AF_INET, 2, "10.0.0.9", 24, 1)), 0);
	/* IFA_FLAGS overrides the 8-bit field */
	nlh = put_addr(buf, RTM_NEWADDR, AF_INET6, 2, "2001:db8::5", 64, 0);
	mnl_attr_put_u32(nlh, IFA_FLAGS, IFA_F_DADFAILED | IFA_F_MANAGETEMPADDR);
	assert_int_equal(apply(&t, nlh), 1);
	assert_int_equal(t.addrs[1].flags, IFA_F_DADFAILED | IFA_F_MANAGETEMPADDR);
	nic_table_free(&t);
}

static void test_malformed(void **state)
{
	uint32_t buf[BUFSZ / 4];
	struct nic_table t;
	struct link_spec s = eth0();
	struct nlmsghdr *nlh;

	nic_table_init(&t);
	s.name = "..";
	assert_int_equal(apply(&t, put_link(buf, &s)), -1);
	s.name = "a/b";
	assert_int_equal(apply(&t, put_link(buf, &s)), -1);
	s.name = "0123456789abcdefX"; /* too long */
	assert_int_equal(apply(&t, put_link(buf, &s)), -1);
	s.name = "eth0";
	s.name_len = 4; /* not NUL-terminated */
	assert_int_equal(apply(&t, put_link(buf, &s)), -1);
	s = eth0();
	s.name = NULL; /* a new link without a name */
	assert_int_equal(apply(&t, put_link(buf, &s)), -1);
	s = eth0();
	s.mac_len = NIC_MAX_HWADDR + 1;
	uint8_t big[NIC_MAX_HWADDR + 1] = {0};
	s.mac = big;
	assert_int_equal(apply(&t, put_link(buf, &s)), -1);
	/* bridge port messages are not links */
	s = eth0();
	s.family = AF_BRIDGE;
	assert_int_equal(apply(&t, put_link(buf, &s)), 0);
	assert_int_equal(t.nlinks, 0);
	/* addresses: wrong length, prefix out of range, index 0 */
	nlh = put_addr(buf, RTM_NEWADDR, AF_INET, 2, "10.0.0.1", 33, 1);
	assert_int_equal(apply(&t, nlh), -1);
	nlh = put_addr(buf, RTM_NEWADDR, AF_INET, 0, "10.0.0.1", 8, 1);
	assert_int_equal(apply(&t, nlh), -1);
	nlh = put_addr(buf, RTM_NEWADDR, AF_INET, 2, "10.0.0.1", 8, 1);
	((struct ifaddrmsg *)mnl_nlmsg_get_payload(nlh))->ifa_family = AF_INET6;
	assert_int_equal(apply(&t, nlh), -1);
	/* truncated: nlmsg_len beyond the bytes given, or under the header */
	nlh = put_addr(buf, RTM_NEWADDR, AF_INET, 2, "10.0.0.1", 8, 1);
	assert_int_equal(nic_table_apply(&t, nlh, nlh->nlmsg_len - 1), -1);
	nlh->nlmsg_len = MNL_NLMSG_HDRLEN + 2;
	assert_int_equal(apply(&t, nlh), -1);
	/* an attribute whose length runs past the message is not read */
	nlh = put_addr(buf, RTM_NEWADDR, AF_INET, 2, "10.0.0.1", 8, 1);
	struct nlattr *a =
	    (struct nlattr *)((char *)nlh + MNL_NLMSG_HDRLEN + MNL_ALIGN(sizeof(struct ifaddrmsg)));
	a->nla_len = 200;
	assert_int_equal(apply(&t, nlh), -1);
	assert_int_equal(t.naddrs, 0);
	nic_table_free(&t);
}

static void test_buf_and_errors(void **state)
{
	uint32_t buf[BUFSZ / 4];
	uint8_t unaligned[BUFSZ + 1];
	struct nic_table t;
	struct link_spec s = eth0();
	struct nlmsghdr *nlh;
	size_t len;

	nic_table_init(&t);
	/* two messages in one datagram, then NLMSG_DONE */
	nlh = put_link(buf, &s);
	len = MNL_ALIGN(nlh->nlmsg_len);
	nlh = put_addr((char *)buf + len, RTM_NEWADDR, AF_INET, 2, "192.0.2.1", 24, 1);
	len += MNL_ALIGN(nlh->nlmsg_len);
	nlh = mnl_nlmsg_put_header((char *)buf + len);
	nlh->nlmsg_type = NLMSG_DONE;
	nlh->nlmsg_len = MNL_NLMSG_HDRLEN + 4;
	len += nlh->nlmsg_len;
	/* unaligned copy: the parser must cope */
	memcpy(unaligned + 1, buf, len);
	assert_int_equal(nic_table_apply_buf(&t, unaligned + 1, len), 2);
	assert_int_equal(t.nlinks, 1);
	assert_int_equal(t.naddrs, 1);

	/* NLMSG_ERROR with a code is an error; an ACK is not */
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = NLMSG_ERROR;
	struct nlmsgerr *e = mnl_nlmsg_put_extra_header(nlh, sizeof *e);
	e->error = -EPERM;
	assert_int_equal(nic_table_apply_buf(&t, buf, nlh->nlmsg_len), -1);
	assert_int_equal(errno, EPERM);
	e->error = 0;
	assert_int_equal(nic_table_apply_buf(&t, buf, nlh->nlmsg_len), 0);
	/* garbage length stops the walk */
	nlh->nlmsg_len = 0xffff;
	assert_int_equal(nic_table_apply_buf(&t, buf, 64), 0);
	nic_table_free(&t);
}

static void test_vif_id_parse(void **state)
{
	assert_int_equal(nic_vif_id_parse("device/vif/0\n", 13), 0);
	assert_int_equal(nic_vif_id_parse("device/vif/12", 13), 12);
	assert_int_equal(nic_vif_id_parse("device/vif/65535", 16), 65535);
	assert_int_equal(nic_vif_id_parse("device/vif/65536", 16), -1);
	assert_int_equal(nic_vif_id_parse("device/vif/", 11), -1);
	assert_int_equal(nic_vif_id_parse("device/vif/01", 13), -1);
	assert_int_equal(nic_vif_id_parse("device/vif/1a", 13), -1);
	assert_int_equal(nic_vif_id_parse("device/vbd/51712", 16), -1);
	assert_int_equal(nic_vif_id_parse("device/vif/-1", 13), -1);
	assert_int_equal(nic_vif_id_parse("device/vif/1\n\n", 14), -1);
}

static void test_vif_id_sysfs(void **state)
{
	char dir[] = "/tmp/test_nic.XXXXXX", path[256];
	FILE *f;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/eth1", dir);
	assert_int_equal(mkdir(path, 0755), 0);
	snprintf(path, sizeof path, "%s/eth1/device", dir);
	assert_int_equal(mkdir(path, 0755), 0);
	snprintf(path, sizeof path, "%s/eth1/device/nodename", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("device/vif/3\n", f);
	fclose(f);
	assert_int_equal(nic_vif_id(dir, "eth1"), 3);
	assert_int_equal(nic_vif_id(dir, "eth2"), -1);
	assert_int_equal(nic_vif_id(dir, ".."), -1);
	assert_int_equal(nic_vif_id(dir, "a/b"), -1);
	unlink(path);
	snprintf(path, sizeof path, "%s/eth1/device", dir);
	rmdir(path);
	snprintf(path, sizeof path, "%s/eth1", dir);
	rmdir(path);
	rmdir(dir);
}

static void test_dump(void **state)
{
	struct nic_table t;
	int lo = 0;

	nic_table_init(&t);
	assert_int_equal(nic_dump(&t), 0);
	assert_true(t.nlinks >= 1);
	for (size_t i = 0; i < t.nlinks; i++)
		if (strcmp(t.links[i].name, "lo") == 0)
			lo = 1;
	assert_true(lo);
	assert_int_equal(t.need_dump, 0);
	nic_table_free(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_link_lifecycle), cmocka_unit_test(test_addresses),
	    cmocka_unit_test(test_malformed),	   cmocka_unit_test(test_buf_and_errors),
	    cmocka_unit_test(test_vif_id_parse),   cmocka_unit_test(test_vif_id_sysfs),
	    cmocka_unit_test(test_dump),
	};
	return cmocka_run_group_tests_name("nic", tests, NULL, NULL);
}
