/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * inv_memsrc.h - an in-memory struct inv_source for test_inventory.c and
 * fuzz_inventory.c: a list of path = value entries with xenstore's
 * semantics (a directory exists when something lies under it, reads as "",
 * and lists its direct children once each).
 */
#ifndef XV_INV_MEMSRC_H
#define XV_INV_MEMSRC_H

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../../host-bridge/inventory.h"

#define MEMSRC_MAX 512

struct memsrc_entry {
	char *path;
	char *value;
	size_t len;
};

struct memsrc {
	struct memsrc_entry e[MEMSRC_MAX];
	size_t n;
	const char *fail_path; /* reading this fails with EACCES */
};

static inline void memsrc_add(struct memsrc *m, const char *path, const char *value, size_t len)
{
	if (m->n == MEMSRC_MAX)
		return;
	m->e[m->n].path = strdup(path);
	m->e[m->n].value = malloc(len + 1);
	if (m->e[m->n].path == NULL || m->e[m->n].value == NULL)
		abort();
	memcpy(m->e[m->n].value, value, len);
	m->e[m->n].value[len] = '\0';
	m->e[m->n].len = len;
	m->n++;
}

static inline void memsrc_free(struct memsrc *m)
{
	for (size_t i = 0; i < m->n; i++) {
		free(m->e[i].path);
		free(m->e[i].value);
	}
	m->n = 0;
}

/* 1 if ENTRY is PATH or lies under it ("" is the root) */
static inline int memsrc_under(const char *entry, const char *path)
{
	size_t n = strlen(path);
	if (n == 0)
		return 1;
	return strncmp(entry, path, n) == 0 && (entry[n] == '\0' || entry[n] == '/');
}

static inline char *memsrc_read(void *ctx, const char *path, unsigned *len)
{
	struct memsrc *m = ctx;
	int dir = 0;

	if (m->fail_path != NULL && strcmp(path, m->fail_path) == 0) {
		errno = EACCES;
		return NULL;
	}
	for (size_t i = 0; i < m->n; i++) {
		if (strcmp(m->e[i].path, path) == 0) {
			char *v = malloc(m->e[i].len + 1);
			if (v == NULL)
				return NULL;
			memcpy(v, m->e[i].value, m->e[i].len + 1);
			*len = (unsigned)m->e[i].len;
			return v;
		}
		if (memsrc_under(m->e[i].path, path))
			dir = 1;
	}
	if (!dir) {
		errno = ENOENT;
		return NULL;
	}
	*len = 0;
	return strdup("");
}

static inline char **memsrc_list(void *ctx, const char *path, unsigned *num)
{
	struct memsrc *m = ctx;
	const char *names[MEMSRC_MAX];
	size_t lens[MEMSRC_MAX], n = 0, bytes = 0, plen = strlen(path);
	int exists = 0;

	for (size_t i = 0; i < m->n; i++) {
		const char *p = m->e[i].path;
		if (!memsrc_under(p, path))
			continue;
		exists = 1;
		const char *rest = plen ? p + plen : p;
		if (*rest == '/')
			rest++;
		if (*rest == '\0')
			continue;
		size_t l = strcspn(rest, "/");
		int dup = 0;
		for (size_t k = 0; k < n; k++)
			if (lens[k] == l && memcmp(names[k], rest, l) == 0)
				dup = 1;
		if (dup)
			continue;
		names[n] = rest;
		lens[n] = l;
		bytes += l + 1;
		n++;
	}
	if (!exists) {
		errno = ENOENT;
		return NULL;
	}
	char **out = malloc(n * sizeof(char *) + bytes + 1);
	if (out == NULL)
		return NULL;
	char *s = (char *)(out + n);
	for (size_t k = 0; k < n; k++) {
		memcpy(s, names[k], lens[k]);
		s[lens[k]] = '\0';
		out[k] = s;
		s += lens[k] + 1;
	}
	*num = (unsigned)n;
	return out;
}

static inline struct inv_source memsrc_source(struct memsrc *m)
{
	struct inv_source src = {memsrc_read, memsrc_list, m};
	return src;
}

#endif
