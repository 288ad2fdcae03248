/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xspub.h"

/* Order in which a directory comes right before its own subtree: '/'
 * sorts before every other path character. */
static int xspub_pathcmp(const char *a, const char *b)
{
	for (;; a++, b++) {
		unsigned char ca = (unsigned char)*a, cb = (unsigned char)*b;
		if (ca == cb) {
			if (ca == '\0')
				return 0;
			continue;
		}
		if (ca == '/')
			ca = 1;
		if (cb == '/')
			cb = 1;
		return ca < cb ? -1 : 1;
	}
}

/* 1 if PATH is PREFIX or lies under it */
static int xspub_under(const char *path, const char *prefix)
{
	size_t n = strlen(prefix);
	return strncmp(path, prefix, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

/* 1 if PATH lies strictly under PREFIX */
static int xspub_strictly_under(const char *path, const char *prefix)
{
	size_t n = strlen(prefix);
	return strncmp(path, prefix, n) == 0 && path[n] == '/';
}

int xspub_path_valid(const char *path)
{
	size_t n = strnlen(path, XSPUB_MAX_PATH + 1);

	if (n == 0 || n > XSPUB_MAX_PATH || path[0] == '/' || path[n - 1] == '/')
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = path[i];
		if (c == '/' && path[i + 1] == '/')
			return 0;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_' || c == '@' || c == '/'))
			return 0;
	}
	return 1;
}

static const char *xspub_root_of(const struct xspub_scope *scope, const char *path)
{
	const char *best = NULL;
	for (const char *const *r = scope->roots; *r != NULL; r++)
		if (xspub_under(path, *r) && (best == NULL || strlen(*r) > strlen(best)))
			best = *r;
	return best;
}

int xspub_scope_contains(const struct xspub_scope *scope, const char *path)
{
	if (xspub_root_of(scope, path) == NULL)
		return 0;
	if (scope->excludes != NULL)
		for (const char *const *e = scope->excludes; *e != NULL; e++)
			if (xspub_under(path, *e))
				return 0;
	return 1;
}

/* 1 if an exclude lies under PATH: PATH must then stay, whatever we own */
static int xspub_protects(const struct xspub_scope *scope, const char *path)
{
	if (scope->excludes != NULL)
		for (const char *const *e = scope->excludes; *e != NULL; e++)
			if (xspub_strictly_under(*e, path))
				return 1;
	return 0;
}

void xspub_tree_init(struct xspub_tree *t, const struct xspub_scope *scope)
{
	t->scope = scope;
	t->nodes = NULL;
	t->n = t->cap = 0;
}

void xspub_tree_clear(struct xspub_tree *t)
{
	for (size_t i = 0; i < t->n; i++) {
		free(t->nodes[i].path);
		free(t->nodes[i].value);
	}
	t->n = 0;
}

void xspub_tree_free(struct xspub_tree *t)
{
	xspub_tree_clear(t);
	free(t->nodes);
	t->nodes = NULL;
	t->cap = 0;
}

/* Index of PATH, or -(insertion point) - 1. */
static long xspub_find(const struct xspub_tree *t, const char *path)
{
	size_t lo = 0, hi = t->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = xspub_pathcmp(t->nodes[mid].path, path);
		if (c == 0)
			return (long)mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -(long)lo - 1;
}

const char *xspub_tree_get(const struct xspub_tree *t, const char *path)
{
	long i = xspub_find(t, path);
	return i >= 0 ? t->nodes[i].value : NULL;
}

static int xspub_reserve(struct xspub_tree *t, size_t extra)
{
	if (t->n + extra <= t->cap)
		return 0;
	size_t cap = t->cap ? t->cap * 2 : 64;
	while (cap < t->n + extra)
		cap *= 2;
	struct xspub_node *nn = realloc(t->nodes, cap * sizeof *nn);
	if (nn == NULL)
		return -1;
	t->nodes = nn;
	t->cap = cap;
	return 0;
}

/* Insert a node at its sorted place (it must be absent); takes PATH and
 * VALUE (either may be freed on failure). */
static int xspub_insert(struct xspub_tree *t, char *path, char *value)
{
	long i;
	size_t at;

	if (path == NULL) {
		free(value);
		errno = ENOMEM;
		return -1;
	}
	i = xspub_find(t, path);
	if (i >= 0 || xspub_reserve(t, 1) < 0) {
		free(path);
		free(value);
		errno = i >= 0 ? EEXIST : ENOMEM;
		return -1;
	}
	at = (size_t)(-i - 1);
	memmove(&t->nodes[at + 1], &t->nodes[at], (t->n - at) * sizeof t->nodes[0]);
	t->nodes[at].path = path;
	t->nodes[at].value = value;
	t->nodes[at].child_bytes = 0;
	t->n++;
	return 0;
}

/* The parent node of PATH in T, or NULL (not in the tree, or PATH is a
 * root with no parent of ours). */
static struct xspub_node *xspub_parent(const struct xspub_tree *t, const char *path)
{
	const char *slash = strrchr(path, '/');
	char buf[XSPUB_MAX_PATH + 1];
	long i;

	if (slash == NULL || (size_t)(slash - path) > XSPUB_MAX_PATH)
		return NULL;
	memcpy(buf, path, (size_t)(slash - path));
	buf[slash - path] = '\0';
	i = xspub_find(t, buf);
	return i >= 0 ? &t->nodes[i] : NULL;
}

static size_t xspub_basename_len(const char *path)
{
	const char *slash = strrchr(path, '/');
	return strlen(slash != NULL ? slash + 1 : path);
}

static int xspub_insert_counted(struct xspub_tree *t, const char *path, size_t len,
				const char *value)
{
	char *p = strndup(path, len);
	char *v = strdup(value);
	struct xspub_node *parent;

	if (p == NULL || v == NULL) {
		free(p);
		free(v);
		errno = ENOMEM;
		return -1;
	}
	if (xspub_insert(t, p, v) < 0)
		return -1;
	parent = xspub_parent(t, p);
	if (parent != NULL)
		parent->child_bytes += xspub_basename_len(p) + 1;
	return 0;
}

int xspub_tree_set(struct xspub_tree *t, const char *path, const char *value,
		   const struct xspub_limits *lim)
{
	size_t vlen = strnlen(value, XSPUB_MAX_VALUE + 1);
	size_t max_nodes = XSPUB_MAX_NODES, max_bytes = (size_t)-1;
	const char *root;
	long i;

	if (!xspub_path_valid(path) || vlen > XSPUB_MAX_VALUE ||
	    !xspub_scope_contains(t->scope, path) ||
	    (root = xspub_root_of(t->scope, path)) == NULL) {
		errno = EINVAL;
		return -1;
	}
	if (lim != NULL) {
		if (lim->max_nodes < max_nodes)
			max_nodes = lim->max_nodes;
		max_bytes = lim->max_node_bytes;
	}

	i = xspub_find(t, path);
	if (i >= 0) {
		struct xspub_node *nd = &t->nodes[i];
		char *v;
		if (vlen + nd->child_bytes > max_bytes) {
			errno = ENOSPC;
			return -1;
		}
		if ((v = strdup(value)) == NULL)
			return -1;
		free(nd->value);
		nd->value = v;
		return 0;
	}

	/* The missing nodes are PATH and its ancestors below the deepest
	 * one that exists, or down from the root when the root is missing
	 * too.  FIRST is the length of the topmost missing path. */
	size_t plen = strlen(path), rlen = strlen(root), first = plen, k = 1;
	const struct xspub_node *existing = NULL;
	char buf[XSPUB_MAX_PATH + 1];
	memcpy(buf, path, plen + 1);
	while (first > rlen) {
		size_t cut = first;
		while (buf[cut - 1] != '/')
			cut--;
		buf[cut - 1] = '\0';
		long a = xspub_find(t, buf);
		if (a >= 0) {
			existing = &t->nodes[a];
			break;
		}
		first = cut - 1;
		k++;
	}
	if (existing != NULL) {
		size_t add = first - (strlen(existing->path) + 1) + 1;
		size_t have =
		    (existing->value != NULL ? strlen(existing->value) : 0) + existing->child_bytes;
		if (have + add > max_bytes) {
			errno = ENOSPC;
			return -1;
		}
	}
	/* a new directory holds the name of its one child */
	if (t->n + k > max_nodes || vlen > max_bytes || plen - rlen > max_bytes) {
		errno = ENOSPC;
		return -1;
	}
	if (xspub_reserve(t, k) < 0)
		return -1;
	for (size_t end = first;;) {
		if (xspub_insert_counted(t, path, end, end == plen ? value : "") < 0)
			return -1; /* ENOMEM: a chain of empty directories is harmless */
		if (end == plen)
			break;
		end++;
		while (path[end] != '\0' && path[end] != '/')
			end++;
	}
	return 0;
}

int xspub_tree_remove(struct xspub_tree *t, const char *path)
{
	long i = xspub_find(t, path);
	size_t j;
	struct xspub_node *parent;

	if (i < 0)
		return 0;
	for (j = (size_t)i + 1; j < t->n && xspub_strictly_under(t->nodes[j].path, path); j++)
		;
	parent = xspub_parent(t, path);
	if (parent != NULL)
		parent->child_bytes -= xspub_basename_len(path) + 1;
	for (size_t k = (size_t)i; k < j; k++) {
		free(t->nodes[k].path);
		free(t->nodes[k].value);
	}
	memmove(&t->nodes[i], &t->nodes[j], (t->n - j) * sizeof t->nodes[0]);
	t->n -= j - (size_t)i;
	return 1;
}

int xspub_tree_copy(struct xspub_tree *dst, const struct xspub_tree *src)
{
	xspub_tree_clear(dst);
	dst->scope = src->scope;
	if (xspub_reserve(dst, src->n) < 0)
		return -1;
	for (size_t i = 0; i < src->n; i++) {
		struct xspub_node *d = &dst->nodes[i];
		d->path = strdup(src->nodes[i].path);
		d->value = src->nodes[i].value != NULL ? strdup(src->nodes[i].value) : NULL;
		d->child_bytes = src->nodes[i].child_bytes;
		if (d->path == NULL || (d->value == NULL && src->nodes[i].value != NULL)) {
			free(d->path);
			free(d->value);
			dst->n = i;
			xspub_tree_clear(dst);
			errno = ENOMEM;
			return -1;
		}
		dst->n = i + 1;
	}
	return 0;
}

/* ------------------------------------------------------------ diff */

static int xspub_ops_add(struct xspub_ops *ops, enum xspub_op_kind kind, const char *path,
			 const char *value)
{
	if (ops->n == ops->cap) {
		size_t cap = ops->cap ? ops->cap * 2 : 32;
		struct xspub_op *no = realloc(ops->ops, cap * sizeof *no);
		if (no == NULL)
			return -1;
		ops->ops = no;
		ops->cap = cap;
	}
	ops->ops[ops->n].kind = kind;
	ops->ops[ops->n].path = path;
	ops->ops[ops->n].value = value;
	ops->n++;
	return 0;
}

void xspub_ops_free(struct xspub_ops *ops)
{
	free(ops->ops);
	ops->ops = NULL;
	ops->n = ops->cap = 0;
}

/* PATH is in OLD and survives the removals so far (under RM_TOP) */
static int xspub_old_has(const struct xspub_tree *old, const char *path, const char *rm_top)
{
	return xspub_find(old, path) >= 0 && !(rm_top != NULL && xspub_under(path, rm_top));
}

int xspub_diff(const struct xspub_tree *old, const struct xspub_tree *want, struct xspub_ops *ops)
{
	struct xspub_ops writes = {0};
	const char *rm_top = NULL; /* the last subtree removed */
	size_t i = 0, j = 0;
	int rc = -1;

	ops->n = 0;
	while (i < old->n || j < want->n) {
		const struct xspub_node *o = i < old->n ? &old->nodes[i] : NULL;
		const struct xspub_node *w = j < want->n ? &want->nodes[j] : NULL;
		int c;

		/* outside the scope, or inside a subtree already removed */
		if (o != NULL && (!xspub_scope_contains(want->scope, o->path) ||
				  (rm_top != NULL && xspub_strictly_under(o->path, rm_top)))) {
			i++;
			continue;
		}
		if (o == NULL)
			c = 1;
		else if (w == NULL)
			c = -1;
		else
			c = xspub_pathcmp(o->path, w->path);

		if (c < 0 || (c == 0 && o->value == NULL)) {
			/* gone (or unknown): remove it, once per subtree, but
			 * never a directory that shelters another writer's
			 * nodes (its own children are removed one by one) */
			if (!xspub_protects(want->scope, o->path)) {
				if (xspub_ops_add(ops, XSPUB_OP_RM, o->path, NULL) < 0)
					goto out;
				rm_top = o->path;
			}
			i++;
			if (c < 0)
				continue;
			o = NULL; /* unknown content: rewrite W below */
			c = 1;
		}
		if (c == 0) {
			if (strcmp(o->value, w->value) != 0 &&
			    xspub_ops_add(&writes, XSPUB_OP_WRITE, w->path, w->value) < 0)
				goto out;
			i++;
			j++;
			continue;
		}
		/* new in WANT: an empty directory whose next node is a child
		 * of it gets created by that child's write */
		if (!(w->value[0] == '\0' && j + 1 < want->n &&
		      xspub_strictly_under(want->nodes[j + 1].path, w->path) &&
		      !xspub_old_has(old, want->nodes[j + 1].path, rm_top)) &&
		    xspub_ops_add(&writes, XSPUB_OP_WRITE, w->path, w->value) < 0)
			goto out;
		j++;
	}
	for (size_t k = 0; k < writes.n; k++)
		if (xspub_ops_add(ops, XSPUB_OP_WRITE, writes.ops[k].path, writes.ops[k].value) < 0)
			goto out;
	rc = 0;
out:
	xspub_ops_free(&writes);
	return rc;
}

/* ------------------------------------------------------------ xenstore */

struct xspub_reader {
	struct xs_handle *xs;
	xs_transaction_t th;
	const struct xspub_scope *scope;
	struct xspub_tree *out;
	size_t count;
};

/* Read PATH and its subtree.  Returns 0, 1 when the node does not exist,
 * -1 on error, -2 when XSPUB_MAX_READ_NODES was reached. */
static int xspub_read_node(struct xspub_reader *r, const char *path)
{
	unsigned len = 0, num = 0;
	char *value, **children;
	int rc = 0;

	if (++r->count > XSPUB_MAX_READ_NODES)
		return -2;
	value = xs_read(r->xs, r->th, path, &len);
	if (value == NULL)
		return errno == ENOENT ? 1 : -1;
	if (xspub_insert(r->out, strdup(path), value) < 0)
		return -1;
	children = xs_directory(r->xs, r->th, path, &num);
	if (children == NULL)
		return errno == ENOENT ? 0 : -1;
	for (unsigned c = 0; c < num && rc == 0; c++) {
		char child[XSPUB_MAX_PATH + 1];
		int n = snprintf(child, sizeof child, "%s/%s", path, children[c]);
		if (n < 0 || (size_t)n >= sizeof child || !xspub_path_valid(child)) {
			/* not a name we could have written: make it ours
			 * to remove by marking its parent unknown */
			long at = xspub_find(r->out, path);
			if (at >= 0) {
				free(r->out->nodes[at].value);
				r->out->nodes[at].value = NULL;
			}
			continue;
		}
		if (!xspub_scope_contains(r->scope, child))
			continue;
		int cr = xspub_read_node(r, child);
		if (cr == 1)
			continue; /* removed meanwhile; the commit will tell */
		if (cr < 0)
			rc = cr;
		else {
			struct xspub_node *p = xspub_parent(r->out, child);
			if (p != NULL)
				p->child_bytes += strlen(children[c]) + 1;
		}
	}
	free(children);
	return rc;
}

/* Too much to read: only the top of each subtree, marked unknown. */
static int xspub_read_tops(struct xspub_reader *r)
{
	xspub_tree_clear(r->out);
	for (const char *const *root = r->scope->roots; *root != NULL; root++) {
		unsigned num = 0;
		char **children;
		if (!xspub_protects(r->scope, *root)) {
			char *v = NULL;
			if (xspub_insert(r->out, strdup(*root), v) < 0 && errno != EEXIST)
				return -1;
			continue;
		}
		children = xs_directory(r->xs, r->th, *root, &num);
		if (children == NULL) {
			if (errno == ENOENT)
				continue;
			return -1;
		}
		if (xspub_insert(r->out, strdup(*root), strdup("")) < 0 && errno != EEXIST) {
			free(children);
			return -1;
		}
		for (unsigned c = 0; c < num; c++) {
			char child[XSPUB_MAX_PATH + 1];
			int n = snprintf(child, sizeof child, "%s/%s", *root, children[c]);
			if (n < 0 || (size_t)n >= sizeof child ||
			    !xspub_scope_contains(r->scope, child))
				continue;
			if (xspub_insert(r->out, strdup(child), NULL) < 0 && errno != EEXIST) {
				free(children);
				return -1;
			}
		}
		free(children);
	}
	return 0;
}

int xspub_read(struct xs_handle *xs, xs_transaction_t th, const struct xspub_scope *scope,
	       struct xspub_tree *out)
{
	struct xspub_reader r = {xs, th, scope, out, 0};

	xspub_tree_clear(out);
	out->scope = scope;
	for (const char *const *root = scope->roots; *root != NULL; root++) {
		int rc = xspub_read_node(&r, *root);
		if (rc == -2)
			return xspub_read_tops(&r);
		if (rc == -1)
			return -1;
	}
	return 0;
}

void xspub_init(struct xspub *p, struct xs_handle *xs)
{
	p->xs = xs;
	xspub_tree_init(&p->cache, NULL);
	p->cache_valid = 0;
}

void xspub_free(struct xspub *p)
{
	xspub_tree_free(&p->cache);
	p->cache_valid = 0;
}

void xspub_invalidate(struct xspub *p)
{
	p->cache_valid = 0;
}

static int xspub_apply(struct xspub *p, xs_transaction_t th, const struct xspub_ops *ops)
{
	for (size_t k = 0; k < ops->n; k++) {
		const struct xspub_op *op = &ops->ops[k];
		if (op->kind == XSPUB_OP_RM) {
			/* gone already is as good as removed */
			if (!xs_rm(p->xs, th, op->path) && errno != ENOENT)
				return -1;
		} else if (!xs_write(p->xs, th, op->path, op->value, (unsigned)strlen(op->value))) {
			return -1;
		}
	}
	return 0;
}

int xspub_publish(struct xspub *p, const struct xspub_tree *want, struct xspub_stats *st)
{
	struct xspub_stats dummy;
	struct xspub_tree cur;
	struct xspub_ops ops = {0};
	int rc = -1, saved = 0;

	if (st == NULL)
		st = &dummy;
	memset(st, 0, sizeof *st);
	xspub_tree_init(&cur, want->scope);

	while (st->attempts < XSPUB_MAX_ATTEMPTS) {
		xs_transaction_t th;

		/* the common case: diff against our last commit, and skip
		 * xenstore altogether when nothing changed */
		if (p->cache_valid) {
			if (xspub_diff(&p->cache, want, &ops) < 0)
				goto out;
			if (ops.n == 0) {
				rc = 0;
				goto out;
			}
		}
		st->attempts++;
		th = xs_transaction_start(p->xs);
		if (th == XBT_NULL)
			goto out;
		if (!p->cache_valid) {
			st->readback = 1;
			if (xspub_read(p->xs, th, want->scope, &cur) < 0 ||
			    xspub_diff(&cur, want, &ops) < 0) {
				saved = errno;
				xs_transaction_end(p->xs, th, true);
				errno = saved;
				goto out;
			}
		}
		if (xspub_apply(p, th, &ops) < 0) {
			saved = errno;
			xs_transaction_end(p->xs, th, true);
			p->cache_valid = 0;
			if (saved == EAGAIN)
				continue;
			errno = saved;
			goto out;
		}
		if (!xs_transaction_end(p->xs, th, false)) {
			saved = errno;
			/* someone else changed what we read or wrote: start
			 * again from what xenstore holds now */
			p->cache_valid = 0;
			if (saved == EAGAIN)
				continue;
			errno = saved;
			goto out;
		}
		st->writes = st->removes = 0;
		for (size_t k = 0; k < ops.n; k++) {
			if (ops.ops[k].kind == XSPUB_OP_RM)
				st->removes++;
			else
				st->writes++;
		}
		if (xspub_tree_copy(&p->cache, want) < 0) {
			p->cache_valid = 0;
			rc = 0; /* committed; only our memory of it is lost */
			goto out;
		}
		p->cache_valid = 1;
		rc = 0;
		goto out;
	}
	errno = EAGAIN;
out:
	saved = errno;
	xspub_tree_free(&cur);
	xspub_ops_free(&ops);
	errno = saved;
	return rc;
}
