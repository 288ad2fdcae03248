/* SPDX-License-Identifier: GPL-2.0-or-later */
/* xspub: the tree with its quota arithmetic, and the diff that turns one
 * tree into another with the fewest xenstore operations. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "../../guest-agent/xspub.h"

static const char *const roots[] = {"data/guest", "data/os_name", "attr/vif", NULL};
static const char *const excludes[] = {"data/guest/probes", NULL};
static const struct xspub_scope scope = {roots, excludes};

static void set(struct xspub_tree *t, const char *path, const char *value)
{
	assert_int_equal(xspub_tree_set(t, path, value, NULL), 0);
}

static void test_path_valid(void **state)
{
	assert_true(xspub_path_valid("data/guest/net/vif/0"));
	assert_true(xspub_path_valid("a-b_c@d"));
	assert_false(xspub_path_valid(""));
	assert_false(xspub_path_valid("/data"));
	assert_false(xspub_path_valid("data/"));
	assert_false(xspub_path_valid("data//x"));
	assert_false(xspub_path_valid("data/x.y"));
	assert_false(xspub_path_valid("data/x y"));
	char longp[XSPUB_MAX_PATH + 2];
	memset(longp, 'a', sizeof longp - 1);
	longp[sizeof longp - 1] = '\0';
	assert_false(xspub_path_valid(longp));
}

static void test_scope(void **state)
{
	assert_true(xspub_scope_contains(&scope, "data/guest"));
	assert_true(xspub_scope_contains(&scope, "data/guest/os/id"));
	assert_true(xspub_scope_contains(&scope, "data/os_name"));
	assert_false(xspub_scope_contains(&scope, "data/os_name2"));
	assert_false(xspub_scope_contains(&scope, "data/guestx"));
	assert_false(xspub_scope_contains(&scope, "data"));
	assert_false(xspub_scope_contains(&scope, "data/guest/probes"));
	assert_false(xspub_scope_contains(&scope, "data/guest/probes/vchan"));
	assert_true(xspub_scope_contains(&scope, "data/guest/probesx"));
}

static void test_tree_set(void **state)
{
	struct xspub_tree t;

	xspub_tree_init(&t, &scope);
	set(&t, "data/guest/net/vif/0/name", "eth0");
	/* the root and every directory in between */
	assert_int_equal(t.n, 5);
	assert_string_equal(xspub_tree_get(&t, "data/guest"), "");
	assert_string_equal(xspub_tree_get(&t, "data/guest/net/vif"), "");
	assert_string_equal(xspub_tree_get(&t, "data/guest/net/vif/0/name"), "eth0");
	set(&t, "data/guest/net/vif/0/mtu", "1500");
	set(&t, "data/guest/net/vif/0/name", "lan0");
	assert_int_equal(t.n, 6);
	/* sorted: a directory right before its subtree ('/' sorts first) */
	set(&t, "data/guest/net/vif-x", "1");
	set(&t, "data/guest/net/vif/1", "");
	for (size_t i = 1; i < t.n; i++)
		assert_true(strncmp(t.nodes[i - 1].path, t.nodes[i].path, 10) <= 0);
	assert_string_equal(t.nodes[t.n - 1].path, "data/guest/net/vif-x");
	/* child bytes: "0" and "1" under vif */
	for (size_t i = 0; i < t.n; i++)
		if (strcmp(t.nodes[i].path, "data/guest/net/vif") == 0)
			assert_int_equal(t.nodes[i].child_bytes, 4);
	/* outside the scope or in another writer's subtree */
	assert_int_equal(xspub_tree_set(&t, "data/other", "x", NULL), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(xspub_tree_set(&t, "data/guest/probes/x", "x", NULL), -1);
	assert_int_equal(xspub_tree_set(&t, "data/guest/a b", "x", NULL), -1);
	xspub_tree_free(&t);
}

static void test_limits(void **state)
{
	struct xspub_tree t;
	struct xspub_limits lim = {4, 16};

	xspub_tree_init(&t, &scope);
	assert_int_equal(xspub_tree_set(&t, "data/guest/a/b", "x", &lim), 0); /* 3 nodes */
	assert_int_equal(xspub_tree_set(&t, "data/guest/c/d", "x", &lim), -1);
	assert_int_equal(errno, ENOSPC);
	assert_int_equal(t.n, 3); /* unchanged */
	assert_int_equal(xspub_tree_set(&t, "data/guest/c", "x", &lim), 0);
	assert_int_equal(xspub_tree_set(&t, "data/guest/e", "x", &lim), -1);
	/* node bytes: value + names of children */
	lim.max_nodes = 100;
	assert_int_equal(xspub_tree_set(&t, "data/guest/a/b", "0123456789abcdef", &lim), 0);
	assert_int_equal(xspub_tree_set(&t, "data/guest/a/b", "0123456789abcdefg", &lim), -1);
	assert_int_equal(xspub_tree_set(&t, "data/guest/a/0123456789ab", "", &lim), 0); /* 2+13 */
	assert_int_equal(xspub_tree_set(&t, "data/guest/a/c", "", &lim), -1);		/* 15+2 */
	assert_string_equal(xspub_tree_get(&t, "data/guest/a/b"), "0123456789abcdef");
	/* remove gives the bytes back */
	assert_int_equal(xspub_tree_remove(&t, "data/guest/a/0123456789ab"), 1);
	assert_int_equal(xspub_tree_set(&t, "data/guest/a/c", "", &lim), 0);
	assert_int_equal(xspub_tree_remove(&t, "data/guest/nothing"), 0);
	/* a value over the hard maximum */
	char big[XSPUB_MAX_VALUE + 2];
	memset(big, 'v', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	assert_int_equal(xspub_tree_set(&t, "data/guest/big", big, NULL), -1);
	assert_int_equal(errno, EINVAL);
	xspub_tree_free(&t);
}

static void test_remove_subtree(void **state)
{
	struct xspub_tree t;

	xspub_tree_init(&t, &scope);
	set(&t, "data/guest/net/vif/0/name", "eth0");
	set(&t, "data/guest/net/vif/0/ipv4/10_0_0_1", "24");
	set(&t, "data/guest/net/vif/1/name", "eth1");
	set(&t, "data/guest/net/vif-omitted", "1");
	assert_int_equal(xspub_tree_remove(&t, "data/guest/net/vif/0"), 1);
	assert_null(xspub_tree_get(&t, "data/guest/net/vif/0/ipv4/10_0_0_1"));
	assert_null(xspub_tree_get(&t, "data/guest/net/vif/0"));
	assert_string_equal(xspub_tree_get(&t, "data/guest/net/vif/1/name"), "eth1");
	assert_string_equal(xspub_tree_get(&t, "data/guest/net/vif-omitted"), "1");
	xspub_tree_free(&t);
}

/* the ops as "W path=value" / "R path" lines */
static void ops_text(const struct xspub_ops *ops, char *buf, size_t size)
{
	size_t o = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < ops->n; i++) {
		int n;
		if (ops->ops[i].kind == XSPUB_OP_RM)
			n = snprintf(buf + o, size - o, "R %s\n", ops->ops[i].path);
		else
			n = snprintf(buf + o, size - o, "W %s=%s\n", ops->ops[i].path,
				     ops->ops[i].value);
		assert_true(n > 0 && (size_t)n < size - o);
		o += (size_t)n;
	}
}

static void test_diff(void **state)
{
	struct xspub_tree old, want;
	struct xspub_ops ops = {0};
	char text[2048];

	xspub_tree_init(&old, &scope);
	xspub_tree_init(&want, &scope);
	/* from nothing: leaves only, the directories come with them */
	set(&want, "data/guest/version", "1.0.0");
	set(&want, "data/guest/net/vif/0/name", "eth0");
	set(&want, "data/guest/net/vif/0/ipv4", "");
	assert_int_equal(xspub_diff(&old, &want, &ops), 0);
	ops_text(&ops, text, sizeof text);
	assert_string_equal(text, "W data/guest/net/vif/0/ipv4=\n"
				  "W data/guest/net/vif/0/name=eth0\n"
				  "W data/guest/version=1.0.0\n");
	/* nothing changed: nothing to do */
	assert_int_equal(xspub_tree_copy(&old, &want), 0);
	assert_int_equal(xspub_diff(&old, &want, &ops), 0);
	assert_int_equal(ops.n, 0);
	/* a change, an addition, a removal of a whole subtree */
	set(&old, "data/guest/net/vif/1/name", "eth1");
	set(&old, "data/guest/net/vif/1/ipv4/10_0_0_1", "24");
	set(&want, "data/guest/net/vif/0/name", "lan0");
	set(&want, "data/guest/net/vif/0/ipv4/10_0_0_2", "8");
	assert_int_equal(xspub_diff(&old, &want, &ops), 0);
	ops_text(&ops, text, sizeof text);
	assert_string_equal(text, "R data/guest/net/vif/1\n"
				  "W data/guest/net/vif/0/ipv4/10_0_0_2=8\n"
				  "W data/guest/net/vif/0/name=lan0\n");
	xspub_ops_free(&ops);
	xspub_tree_free(&old);
	xspub_tree_free(&want);
}

static void test_diff_scope_and_probes(void **state)
{
	static const char *const narrow_roots[] = {"data/guest", NULL};
	static const struct xspub_scope narrow = {narrow_roots, excludes};
	struct xspub_tree old, want;
	struct xspub_ops ops = {0};
	char text[2048];

	/* a read-back tree never holds the probes (out of scope); even so a
	 * root that shelters them must not be removed */
	xspub_tree_init(&old, &scope);
	xspub_tree_init(&want, &narrow);
	set(&old, "data/guest/os/id", "debian");
	set(&old, "data/os_name", "Debian");
	set(&old, "attr/vif/0/ipv4/0", "10.0.0.1");
	assert_int_equal(xspub_diff(&old, &want, &ops), 0);
	ops_text(&ops, text, sizeof text);
	/* legacy keys are outside WANT's scope: left alone */
	assert_string_equal(text, "R data/guest/os\n");
	/* with the wide scope they go too */
	want.scope = &scope;
	assert_int_equal(xspub_diff(&old, &want, &ops), 0);
	ops_text(&ops, text, sizeof text);
	assert_string_equal(text, "R attr/vif\nR data/guest/os\nR data/os_name\n");
	xspub_ops_free(&ops);
	xspub_tree_free(&old);
	xspub_tree_free(&want);
}

static void test_diff_unknown(void **state)
{
	struct xspub_tree old, want, copy;
	struct xspub_ops ops = {0};
	char text[2048];

	/* a read-back node with value NULL (too much to read): removed and
	 * rewritten, whatever it held */
	xspub_tree_init(&old, &scope);
	xspub_tree_init(&want, &scope);
	xspub_tree_init(&copy, NULL);
	set(&old, "data/guest/net/x", "");
	set(&old, "data/guest/net/x/y", "same");
	for (size_t i = 0; i < old.n; i++)
		if (strcmp(old.nodes[i].path, "data/guest/net") == 0) {
			free(old.nodes[i].value);
			old.nodes[i].value = NULL;
		}
	set(&want, "data/guest/net/x/y", "same");
	assert_int_equal(xspub_diff(&old, &want, &ops), 0);
	ops_text(&ops, text, sizeof text);
	assert_string_equal(text, "R data/guest/net\nW data/guest/net/x/y=same\n");
	/* copies keep unknown values unknown */
	assert_int_equal(xspub_tree_copy(&copy, &old), 0);
	assert_int_equal(copy.n, old.n);
	assert_ptr_equal(copy.scope, &scope);
	xspub_ops_free(&ops);
	xspub_tree_free(&old);
	xspub_tree_free(&want);
	xspub_tree_free(&copy);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_path_valid),
	    cmocka_unit_test(test_scope),
	    cmocka_unit_test(test_tree_set),
	    cmocka_unit_test(test_limits),
	    cmocka_unit_test(test_remove_subtree),
	    cmocka_unit_test(test_diff),
	    cmocka_unit_test(test_diff_scope_and_probes),
	    cmocka_unit_test(test_diff_unknown),
	};
	return cmocka_run_group_tests_name("xspub", tests, NULL, NULL);
}
