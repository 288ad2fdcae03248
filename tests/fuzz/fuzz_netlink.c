/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target for the rtnetlink parser (nic_table_apply_buf) and for
 * the data tree built from what it parsed (dtlayout_build).  Input: one
 * flags byte (bit 0 legacy keys, bit 1 loopback, bit 2 no net/other, bit 3
 * a small node budget, bits 4-7 where to split the rest in two
 * datagrams), then netlink messages.  Checked: the table keeps its
 * invariants (valid names, bounded addresses, known families, prefix
 * lengths in range) and the tree only holds valid xenstore paths within
 * the node budget and xenstored's node size.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "../../guest-agent/dtlayout.h"
#include "../../guest-agent/nic.h"
#include "../../guest-agent/xspub.h"

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond))                                                                       \
			abort();                                                                   \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* every third interface is a vif, numbered by its index */
static int fuzz_vif(void *ctx, const char *ifname)
{
	const struct nic_table *t = ctx;
	for (size_t i = 0; i < t->nlinks; i++)
		if (strcmp(t->links[i].name, ifname) == 0)
			return t->links[i].ifindex % 3 == 0 ? t->links[i].ifindex % 70000 : -1;
	return -1;
}

static void fuzz_check_table(const struct nic_table *t)
{
	CHECK(t->nlinks <= NIC_MAX_LINKS);
	CHECK(t->naddrs <= NIC_MAX_ADDRS);
	for (size_t i = 0; i < t->nlinks; i++) {
		const struct nic_link *l = &t->links[i];
		size_t n = strnlen(l->name, sizeof l->name);
		CHECK(n > 0 && n < sizeof l->name);
		CHECK(strchr(l->name, '/') == NULL);
		CHECK(l->hwaddr_len <= NIC_MAX_HWADDR);
		CHECK(l->ifindex > 0);
		CHECK(l->carrier >= -1 && l->carrier <= 1);
		for (size_t j = i + 1; j < t->nlinks; j++)
			CHECK(t->links[j].ifindex != l->ifindex);
	}
	for (size_t i = 0; i < t->naddrs; i++) {
		const struct nic_addr *a = &t->addrs[i];
		CHECK(a->family == AF_INET || a->family == AF_INET6);
		CHECK(a->prefixlen <= (a->family == AF_INET ? 32 : 128));
		CHECK(a->ifindex > 0);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct nic_table t;
	struct xspub_tree tree;
	struct osinfo os;
	struct dtlayout_input in;
	uint8_t flags;
	size_t split;

	if (size < 1 || size > 2 * NIC_RECV_BUFSIZE)
		return 0;
	flags = data[0];
	data++;
	size--;
	split = (size * (flags >> 4) / 16) & ~(size_t)3;

	nic_table_init(&t);
	(void)nic_table_apply_buf(&t, data, split);
	(void)nic_table_apply_buf(&t, data + split, size - split);
	fuzz_check_table(&t);

	memset(&os, 0, sizeof os);
	strcpy(os.id, "fuzz");
	strcpy(os.version_id, "1.2");
	memset(&in, 0, sizeof in);
	in.os = &os;
	in.nics = &t;
	in.vif_id = fuzz_vif;
	in.vif_ctx = &t;
	in.legacy = flags & 1;
	in.include_loopback = (flags >> 1) & 1;
	in.publish_other_nics = !((flags >> 2) & 1);
	in.max_nodes = (flags & 8) ? DTLAYOUT_MIN_MAX_NODES : 0;
	in.agent_version = "0.1.0";
	in.state = "running";
	xspub_tree_init(&tree, NULL);
	CHECK(dtlayout_build(&tree, &in, NULL) == 0);
	CHECK(tree.n <= (in.max_nodes ? in.max_nodes : DTLAYOUT_DEFAULT_MAX_NODES));
	for (size_t i = 0; i < tree.n; i++) {
		CHECK(xspub_path_valid(tree.nodes[i].path));
		CHECK(xspub_scope_contains(tree.scope, tree.nodes[i].path));
		CHECK(strlen(tree.nodes[i].value) + tree.nodes[i].child_bytes <=
		      DTLAYOUT_MAX_NODE_BYTES);
	}
	xspub_tree_free(&tree);
	nic_table_free(&t);
	return 0;
}
