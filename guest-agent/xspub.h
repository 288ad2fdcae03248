/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * xspub.h - a diffing, transactional xenstore publisher.
 *
 * The caller describes the content it wants under a set of subtrees it owns
 * (a struct xspub_scope) as a struct xspub_tree of path -> value nodes, and
 * xspub_publish() makes xenstore match it in one transaction: it writes the
 * nodes that are new or changed, removes the ones that are gone, and
 * retries from a fresh read of xenstore when the transaction conflicts
 * (EAGAIN).  Between publishes it diffs against what it committed last, so
 * a publish with nothing new costs no xenstore request at all.
 *
 * Paths are xenstore paths relative to the domain's home
 * (/local/domain/<domid>), so they stay right across save/restore and
 * migration.  A tree also enforces the quota arithmetic of xenstored: a
 * node budget and a per-node size (value + names of the children).
 */
#ifndef XV_XSPUB_H
#define XV_XSPUB_H

#include <stddef.h>
#include <xenstore.h>

#define XSPUB_MAX_PATH 256   /* bytes of one path (xenstore allows 2048) */
#define XSPUB_MAX_VALUE 1024 /* bytes of one value (xenstore allows ~4000) */
#define XSPUB_MAX_NODES 4096 /* hard cap on the nodes of one tree */
#define XSPUB_MAX_ATTEMPTS 8 /* transactions tried per publish */
/* nodes read back from xenstore per publish: over DTLAYOUT_MAX_MAX_NODES,
 * under xenstored's 1024 nodes per transaction */
#define XSPUB_MAX_READ_NODES 700

/* The subtrees the publisher owns: every node at or under a root, except
 * what lies at or under an exclude (another writer's).  A root that has
 * an exclude under it is never removed itself.  Both lists end with NULL. */
struct xspub_scope {
	const char *const *roots;
	const char *const *excludes;
};

struct xspub_limits {
	size_t max_nodes;      /* nodes in the tree, roots and directories included */
	size_t max_node_bytes; /* strlen(value) + sum of (strlen(child name) + 1) */
};

struct xspub_node {
	char *path;
	char *value;	    /* NULL only in a read-back tree: content unknown */
	size_t child_bytes; /* sum of (strlen(child name) + 1) over the children */
};

/* Nodes sorted so that a directory comes right before its subtree. */
struct xspub_tree {
	const struct xspub_scope *scope;
	struct xspub_node *nodes;
	size_t n, cap;
};

/* True if PATH is in SCOPE (at or under a root, not under an exclude). */
int xspub_scope_contains(const struct xspub_scope *scope, const char *path);

/* Path syntax of xenstore ([A-Za-z0-9_@/-], no empty component, no leading
 * or trailing '/') and at most XSPUB_MAX_PATH bytes. */
int xspub_path_valid(const char *path);

void xspub_tree_init(struct xspub_tree *t, const struct xspub_scope *scope);
void xspub_tree_free(struct xspub_tree *t);
/* Remove every node (keeps the scope and the allocation). */
void xspub_tree_clear(struct xspub_tree *t);
/* DST becomes a deep copy of SRC (scope included).  0 or -1 (ENOMEM; DST
 * is then empty). */
int xspub_tree_copy(struct xspub_tree *dst, const struct xspub_tree *src);

/* Set PATH to VALUE, adding the missing directories between PATH and its
 * root (value "").  With LIM non-NULL, the change is made only if the tree
 * stays within LIM.  Returns 0, or -1 with errno: EINVAL (PATH invalid or
 * outside the scope, VALUE longer than XSPUB_MAX_VALUE), ENOSPC (over LIM
 * or XSPUB_MAX_NODES; the tree is unchanged), ENOMEM. */
int xspub_tree_set(struct xspub_tree *t, const char *path, const char *value,
		   const struct xspub_limits *lim);
/* The value at PATH, or NULL. */
const char *xspub_tree_get(const struct xspub_tree *t, const char *path);
/* Remove PATH and its subtree; 1 if something was removed, 0 if not. */
int xspub_tree_remove(struct xspub_tree *t, const char *path);

enum xspub_op_kind { XSPUB_OP_WRITE, XSPUB_OP_RM };
struct xspub_op {
	enum xspub_op_kind kind;
	const char *path;  /* points into one of the two trees */
	const char *value; /* WRITE only */
};
struct xspub_ops {
	struct xspub_op *ops;
	size_t n, cap;
};

/* The operations that turn OLD into WANT within WANT's scope (nodes of OLD
 * outside it are left alone): every RM first (a subtree once, at its top),
 * then every WRITE parent-first; a new directory is not written when a new
 * child will create it.  OPS is reset first.  0 or -1 (ENOMEM). */
int xspub_diff(const struct xspub_tree *old, const struct xspub_tree *want, struct xspub_ops *ops);
void xspub_ops_free(struct xspub_ops *ops);

/* Read the content of SCOPE from xenstore (in transaction TH) into OUT
 * (cleared first; OUT's scope becomes SCOPE).  Beyond XSPUB_MAX_READ_NODES
 * nodes, OUT holds the top of each subtree with value NULL (content
 * unknown: the diff removes and rewrites it).  0 or -1 (errno). */
int xspub_read(struct xs_handle *xs, xs_transaction_t th, const struct xspub_scope *scope,
	       struct xspub_tree *out);

struct xspub_stats {
	unsigned writes;   /* nodes written by the committed transaction */
	unsigned removes;  /* subtrees removed by it */
	unsigned attempts; /* transactions started (0: nothing to do) */
	unsigned readback; /* 1 if xenstore was read back to diff against */
};

struct xspub {
	struct xs_handle *xs;
	struct xspub_tree cache; /* what the last commit left in xenstore */
	int cache_valid;
};

void xspub_init(struct xspub *p, struct xs_handle *xs);
void xspub_free(struct xspub *p);
/* Diff against a fresh read of xenstore next time (after a restore, a
 * migration, or anything else that may have changed the tree under us). */
void xspub_invalidate(struct xspub *p);
/* Make xenstore match WANT within WANT's scope, in one transaction, retried
 * on conflict up to XSPUB_MAX_ATTEMPTS times.  ST (may be NULL) tells what
 * was done.  Returns 0, or -1 with errno (EAGAIN: still conflicting after
 * every attempt; ENOSPC/E2BIG/EDQUOT: xenstored refused a quota; EACCES;
 * another error from libxenstore). */
int xspub_publish(struct xspub *p, const struct xspub_tree *want, struct xspub_stats *st);

#endif
