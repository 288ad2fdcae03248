/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <json.h>
#include <xenstore.h>

#include "inventory.h"
#include "xvsafe.h"

/* bytes of a path inside the tree (ours are short; keys are validated) */
#define INV_PATH 256
/* transactions tried per guest before its tree counts as unreadable */
#define INV_MAX_ATTEMPTS 5
/* table column widths (characters) */
#define INV_COL_GUEST 16
#define INV_COL_OS 32
#define INV_COL_KERNEL 24
#define INV_COL_HOST 20

const char *inventory_status_name(enum inv_status st)
{
	switch (st) {
	case INV_OK:
		return "ok";
	case INV_NO_TREE:
		return "no-tree";
	case INV_FOREIGN:
		return "foreign";
	case INV_INCOMPATIBLE:
		return "incompatible";
	case INV_INVALID:
		return "invalid";
	case INV_UNREADABLE:
		return "unreadable";
	}
	return "unknown";
}

/* ------------------------------------------------------------ parsing */

struct inv_parse {
	struct inv_guest *g;
	const struct inv_source *src;
	unsigned long reads;
	int failed; /* a read failed with something else than ENOENT */
	int fail_errno;
};

static void inv_warn(struct inv_parse *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void inv_warn(struct inv_parse *p, const char *fmt, ...)
{
	struct inv_guest *g = p->g;
	va_list ap;

	if (g->nwarnings == INV_MAX_WARNINGS) {
		g->warnings_dropped++;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(g->warnings[g->nwarnings++], sizeof g->warnings[0], fmt, ap);
	va_end(ap);
}

/* The raw value at PATH: 1 and its bytes in UNTRUSTED (at most
 * INV_MAX_VALUE of them, *LEN set, *CUT if there were more), 0 if absent,
 * -1 if unreadable.  The caller validates. */
static int inv_get(struct inv_parse *p, const char *path, char *untrusted, size_t *len, int *cut)
{
	unsigned n = 0;
	char *v;

	if (p->reads++ >= INV_MAX_READS) {
		p->failed = 1;
		p->fail_errno = E2BIG;
		return -1;
	}
	v = p->src->read(p->src->ctx, path, &n);
	if (v == NULL) {
		if (errno == ENOENT)
			return 0;
		if (!p->failed) {
			p->failed = 1;
			p->fail_errno = errno;
		}
		return -1;
	}
	*cut = n > INV_MAX_VALUE;
	*len = *cut ? INV_MAX_VALUE : n;
	memcpy(untrusted, v, *len);
	untrusted[*len] = '\0';
	free(v);
	return 1;
}

/* The child names of PATH (as xs_directory), or NULL: absent, unreadable
 * (noted) or over the read budget (noted). */
static char **inv_list(struct inv_parse *p, const char *path, unsigned *num)
{
	char **names;

	if (p->reads++ >= INV_MAX_READS) {
		p->failed = 1;
		p->fail_errno = E2BIG;
		return NULL;
	}
	names = p->src->list(p->src->ctx, path, num);
	if (names == NULL && errno != ENOENT && !p->failed) {
		p->failed = 1;
		p->fail_errno = errno;
	}
	return names;
}

/* A free-text value as safe text ("" when absent). */
static void inv_text(struct inv_parse *p, const char *path, char *dst)
{
	char untrusted[INV_MAX_VALUE + 1];
	size_t len;
	int cut = 0, cut_here;

	dst[0] = '\0';
	if (inv_get(p, path, untrusted, &len, &cut) <= 0)
		return;
	xvsafe_text(dst, INV_MAX_TEXT, untrusted, len, &cut_here);
	if (cut_here || cut)
		inv_warn(p, "%s: value too long, cut", path);
}

/* One word out of WORDS (NULL-terminated), or NULL when absent/invalid. */
static const char *inv_word(struct inv_parse *p, const char *path, const char *const *words)
{
	char untrusted[INV_MAX_VALUE + 1], safe[40];
	size_t len;
	int cut = 0;

	if (inv_get(p, path, untrusted, &len, &cut) <= 0)
		return NULL;
	for (const char *const *w = words; *w != NULL; w++)
		if (!cut && strlen(*w) == len && memcmp(*w, untrusted, len) == 0)
			return *w;
	xvsafe_text(safe, sizeof safe, untrusted, len, NULL);
	inv_warn(p, "%s: unexpected value \"%s\"", path, safe);
	return NULL;
}

/* A word of an open enumeration ([a-z][a-z0-9-]{0,31}: readers must take
 * words a newer writer adds) into DST (INV_MAX_WORD); "" when absent or
 * malformed (warned). */
static void inv_open_word(struct inv_parse *p, const char *path, char *dst)
{
	char untrusted[INV_MAX_VALUE + 1], safe[40];
	size_t len;
	int cut = 0, ok;

	dst[0] = '\0';
	if (inv_get(p, path, untrusted, &len, &cut) <= 0)
		return;
	ok = !cut && len > 0 && len < INV_MAX_WORD && untrusted[0] >= 'a' && untrusted[0] <= 'z';
	for (size_t i = 1; ok && i < len; i++)
		ok = (untrusted[i] >= 'a' && untrusted[i] <= 'z') ||
		     (untrusted[i] >= '0' && untrusted[i] <= '9') || untrusted[i] == '-';
	if (ok) {
		memcpy(dst, untrusted, len + 1);
		return;
	}
	xvsafe_text(safe, sizeof safe, untrusted, len, NULL);
	inv_warn(p, "%s: not a word: \"%s\"", path, safe);
}

/* A decimal number (no sign, no leading zero, at most 9 digits) in
 * UNTRUSTED; -1 if it is not one. */
static long inv_number(const char *untrusted, size_t len)
{
	long v = 0;

	if (len == 0 || len > 9 || (len > 1 && untrusted[0] == '0'))
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (untrusted[i] < '0' || untrusted[i] > '9')
			return -1;
		v = v * 10 + (untrusted[i] - '0');
	}
	return v;
}

/* A number in 0..MAX at PATH; -1 when absent or invalid (warned). */
static long inv_uint(struct inv_parse *p, const char *path, long max)
{
	char untrusted[INV_MAX_VALUE + 1], safe[40];
	size_t len;
	int cut = 0;
	long v;

	if (inv_get(p, path, untrusted, &len, &cut) <= 0)
		return -1;
	v = cut ? -1 : inv_number(untrusted, len);
	if (v < 0 || v > max) {
		xvsafe_text(safe, sizeof safe, untrusted, len, NULL);
		inv_warn(p, "%s: not a number in 0..%ld: \"%s\"", path, max, safe);
		return -1;
	}
	return v;
}

/* "1.2.3", each part a number; 0 if malformed. */
static int inv_semver(const char *untrusted, size_t len, unsigned v[3])
{
	size_t start = 0;
	int part = 0;

	for (size_t i = 0; i <= len; i++) {
		if (i < len && untrusted[i] != '.')
			continue;
		long n = inv_number(untrusted + start, i - start);
		if (n < 0 || part == 3)
			return 0;
		v[part++] = (unsigned)n;
		start = i + 1;
	}
	return part == 3;
}

static const char *const inv_updown[] = {XVDT_UP, XVDT_DOWN, NULL};
static const char *const inv_states[] = {XVDT_STATE_RUNNING, XVDT_STATE_STOPPED, NULL};

/* A MAC address: 1 to 32 bytes as lower-case hex pairs joined by ':' */
static int inv_mac_valid(const char *untrusted, size_t len)
{
	if (len < 2 || len > 32 * 3 - 1 || (len + 1) % 3 != 0)
		return 0;
	for (size_t i = 0; i < len; i++) {
		char c = untrusted[i];
		if (i % 3 == 2 ? c != ':' : !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
			return 0;
	}
	return 1;
}

/* A key under ipv4/ or ipv6/ back to an address; 0 if it is not one. */
static int inv_addr_key(int family, const char *untrusted, struct inv_addr *a)
{
	char text[64];
	size_t len = strnlen(untrusted, sizeof text);

	if (len == 0 || len >= sizeof text)
		return 0;
	for (size_t i = 0; i <= len; i++) {
		char c = untrusted[i];
		if (c == '_')
			c = family == AF_INET ? '.' : ':';
		else if (c != '\0' && !((c >= '0' && c <= '9') ||
					(family == AF_INET6 &&
					 ((c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))))
			return 0;
		text[i] = c;
	}
	memset(a, 0, sizeof *a);
	a->family = family;
	if (inet_pton(family, text, a->addr) != 1)
		return 0;
	inet_ntop(family, a->addr, a->text, sizeof a->text);
	return 1;
}

static int inv_cmp_addr(const void *pa, const void *pb)
{
	const struct inv_addr *a = pa, *b = pb;
	return memcmp(a->addr, b->addr, sizeof a->addr);
}

static void inv_nic_addrs(struct inv_parse *p, struct inv_nic *nic, const char *base, int f)
{
	int family = f == 0 ? AF_INET : AF_INET6;
	char dir[INV_PATH + 16], path[INV_PATH + 96];
	unsigned num = 0;
	char **untrusted_names;

	snprintf(dir, sizeof dir, "%s/" XVDT_NIC_IPV_FMT, base, f == 0 ? 4 : 6);
	untrusted_names = inv_list(p, dir, &num);
	if (untrusted_names == NULL)
		return;
	nic->addrs[f] = calloc(INV_MAX_ADDRS, sizeof *nic->addrs[f]);
	if (nic->addrs[f] == NULL) {
		free(untrusted_names);
		return;
	}
	for (unsigned i = 0; i < num && i < INV_MAX_LIST; i++) {
		struct inv_addr a;
		char safe[64];
		if (!inv_addr_key(family, untrusted_names[i], &a)) {
			xvsafe_text(safe, sizeof safe, untrusted_names[i],
				    strnlen(untrusted_names[i], INV_MAX_VALUE), NULL);
			inv_warn(p, "%s: \"%s\" is not an address key", dir, safe);
			continue;
		}
		if (nic->naddrs[f] == INV_MAX_ADDRS) {
			nic->dropped[f]++;
			continue;
		}
		/* the key was checked above: it is made of [0-9a-fA-F_] */
		snprintf(path, sizeof path, "%s/%s", dir, untrusted_names[i]);
		long prefix = inv_uint(p, path, family == AF_INET ? 32 : 128);
		if (prefix < 0)
			continue;
		a.prefix = (unsigned)prefix;
		nic->addrs[f][nic->naddrs[f]++] = a;
	}
	if (num > INV_MAX_LIST)
		nic->dropped[f] += num - INV_MAX_LIST;
	free(untrusted_names);
	qsort(nic->addrs[f], nic->naddrs[f], sizeof nic->addrs[f][0], inv_cmp_addr);
}

static void inv_nic(struct inv_parse *p, struct inv_nic *nic, const char *base)
{
	char untrusted[INV_MAX_VALUE + 1], path[INV_PATH + 32];
	size_t len;
	int cut = 0;

	snprintf(path, sizeof path, "%s/" XVDT_NIC_NAME, base);
	inv_text(p, path, nic->name);
	snprintf(path, sizeof path, "%s/" XVDT_NIC_MAC, base);
	if (inv_get(p, path, untrusted, &len, &cut) > 0) {
		if (!cut && inv_mac_valid(untrusted, len)) {
			memcpy(nic->mac, untrusted, len + 1);
		} else {
			char safe[40];
			xvsafe_text(safe, sizeof safe, untrusted, len, NULL);
			inv_warn(p, "%s: not a MAC address: \"%s\"", path, safe);
		}
	}
	snprintf(path, sizeof path, "%s/" XVDT_NIC_MTU, base);
	nic->mtu = inv_uint(p, path, 1000000);
	snprintf(path, sizeof path, "%s/" XVDT_NIC_LINK, base);
	nic->link = inv_word(p, path, inv_updown);
	snprintf(path, sizeof path, "%s/" XVDT_NIC_ADMIN, base);
	nic->admin = inv_word(p, path, inv_updown);
	snprintf(path, sizeof path, "%s/" XVDT_NIC_CARRIER, base);
	nic->carrier = inv_word(p, path, inv_updown);
	snprintf(path, sizeof path, "%s/" XVDT_NIC_OPERSTATE, base);
	inv_open_word(p, path, nic->operstate);
	for (int f = 0; f < 2; f++) {
		inv_nic_addrs(p, nic, base, f);
		snprintf(path, sizeof path, "%s/" XVDT_NIC_IPV_OMITTED_FMT, base, f == 0 ? 4 : 6);
		long om = inv_uint(p, path, 999999999);
		nic->omitted[f] = om > 0 ? (unsigned long)om : 0;
	}
}

static int inv_cmp_nic(const void *pa, const void *pb)
{
	const struct inv_nic *a = pa, *b = pb;
	if ((a->vif_id < 0) != (b->vif_id < 0))
		return a->vif_id < 0 ? 1 : -1;
	if (a->vif_id != b->vif_id)
		return a->vif_id < b->vif_id ? -1 : 1;
	return strcmp(a->key, b->key);
}

/* An other/ key: what dtlayout_ifname_key can produce ([A-Za-z0-9_-]). */
static int inv_other_key_valid(const char *untrusted)
{
	size_t len = strnlen(untrusted, 64);
	if (len == 0 || len >= 64)
		return 0;
	for (size_t i = 0; i < len; i++) {
		char c = untrusted[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_'))
			return 0;
	}
	return 1;
}

static void inv_nics(struct inv_parse *p)
{
	struct inv_guest *g = p->g;
	static const char *const kinds[] = {XVDT_KEY_NET_VIF, XVDT_KEY_NET_OTHER};

	g->nics = calloc(INV_MAX_NICS, sizeof *g->nics);
	if (g->nics == NULL) {
		inv_warn(p, "net: out of memory");
		return;
	}
	for (int k = 0; k < 2; k++) {
		unsigned num = 0;
		char **untrusted_names;
		untrusted_names = inv_list(p, kinds[k], &num);
		if (untrusted_names == NULL)
			continue;
		for (unsigned i = 0; i < num; i++) {
			const char *untrusted_key = untrusted_names[i];
			char safe[64], base[INV_PATH];
			long id = -1;
			if (k == 0)
				id = inv_number(untrusted_key, strnlen(untrusted_key, 16));
			if (k == 0 ? (id < 0 || id > 65535) : !inv_other_key_valid(untrusted_key)) {
				xvsafe_text(safe, sizeof safe, untrusted_key,
					    strnlen(untrusted_key, INV_MAX_VALUE), NULL);
				inv_warn(p, "%s: \"%s\" is not a valid key", kinds[k], safe);
				continue;
			}
			if (g->nnics == INV_MAX_NICS || i >= INV_MAX_LIST) {
				g->nics_dropped++;
				continue;
			}
			struct inv_nic *nic = &g->nics[g->nnics++];
			nic->vif_id = (int)id;
			/* validated above: [A-Za-z0-9_-], under 64 bytes */
			snprintf(nic->key, sizeof nic->key, "%s", untrusted_key);
			snprintf(base, sizeof base, "%s/%s", kinds[k], nic->key);
			inv_nic(p, nic, base);
		}
		free(untrusted_names);
	}
	qsort(g->nics, g->nnics, sizeof g->nics[0], inv_cmp_nic);
	long om = inv_uint(p, XVDT_KEY_NET_OMITTED, 999999999);
	g->nics_omitted = om > 0 ? (unsigned long)om : 0;
}

static void inv_reset(struct inv_guest *g)
{
	int domid = g->domid;
	char name[INV_MAX_TEXT];

	memcpy(name, g->name, sizeof name);
	inventory_guest_free(g);
	memset(g, 0, sizeof *g);
	g->domid = domid;
	memcpy(g->name, name, sizeof name);
}

void inventory_parse(struct inv_guest *g, const struct inv_source *src)
{
	struct inv_parse p = {g, src, 0, 0, 0};
	char untrusted_protocol[INV_MAX_VALUE + 1], untrusted_version[INV_MAX_VALUE + 1];
	char safe[64];
	size_t plen = 0, vlen = 0;
	int pcut = 0, vcut = 0, hp, hv;

	inv_reset(g);
	hp = inv_get(&p, XVDT_KEY_PROTOCOL, untrusted_protocol, &plen, &pcut);
	hv = inv_get(&p, XVDT_KEY_VERSION, untrusted_version, &vlen, &vcut);
	if (hp < 0 || hv < 0)
		goto unreadable;
	if (hp == 0 && hv == 0) {
		g->status = INV_NO_TREE;
		snprintf(g->reason, sizeof g->reason, "no data tree");
		return;
	}
	if (hp == 0 || pcut || plen != strlen(INV_PROTOCOL) ||
	    memcmp(untrusted_protocol, INV_PROTOCOL, plen) != 0) {
		g->status = INV_FOREIGN;
		if (hp == 0) {
			snprintf(g->reason, sizeof g->reason, "data tree without a protocol key");
		} else {
			xvsafe_text(safe, sizeof safe, untrusted_protocol, plen, NULL);
			snprintf(g->reason, sizeof g->reason,
				 "data tree of protocol \"%s\", not " INV_PROTOCOL, safe);
		}
		return;
	}
	unsigned v[3];
	if (hv == 0 || vcut || !inv_semver(untrusted_version, vlen, v)) {
		g->status = INV_INVALID;
		xvsafe_text(safe, sizeof safe, untrusted_version, hv ? vlen : 0, NULL);
		snprintf(g->reason, sizeof g->reason, "malformed layout version \"%s\"", safe);
		return;
	}
	/* validated: three numbers */
	g->vmajor = v[0];
	g->vminor = v[1];
	g->vpatch = v[2];
	snprintf(g->version, sizeof g->version, "%u.%u.%u", g->vmajor, g->vminor, g->vpatch);
	if (g->vmajor != INV_MAJOR) {
		g->status = INV_INCOMPATIBLE;
		snprintf(g->reason, sizeof g->reason,
			 "layout version %s; this reader understands %d.x", g->version, INV_MAJOR);
		return;
	}

	inv_text(&p, XVDT_KEY_AGENT_NAME, g->agent_name);
	inv_text(&p, XVDT_KEY_AGENT_VERSION, g->agent_version);
	g->agent_state = inv_word(&p, XVDT_KEY_AGENT_STATE, inv_states);
	inv_text(&p, XVDT_KEY_OS_CLASS, g->os_class);
	inv_text(&p, XVDT_KEY_OS_ID, g->os_id);
	inv_text(&p, XVDT_KEY_OS_NAME, g->os_name);
	inv_text(&p, XVDT_KEY_OS_VERSION, g->os_version);
	inv_text(&p, XVDT_KEY_OS_VERSION_ID, g->os_version_id);
	inv_text(&p, XVDT_KEY_OS_PRETTY_NAME, g->os_pretty_name);
	inv_text(&p, XVDT_KEY_OS_HOSTNAME, g->hostname);
	inv_text(&p, XVDT_KEY_OS_KERNEL_NAME, g->kernel_name);
	inv_text(&p, XVDT_KEY_OS_KERNEL_RELEASE, g->kernel_release);
	inv_text(&p, XVDT_KEY_OS_KERNEL_VERSION, g->kernel_version);
	inv_text(&p, XVDT_KEY_OS_MACHINE, g->machine);
	inv_nics(&p);
	if (p.failed)
		goto unreadable;
	return;

unreadable:
	inv_reset(g);
	g->status = INV_UNREADABLE;
	snprintf(g->reason, sizeof g->reason, "cannot read the data tree: %s",
		 p.fail_errno == E2BIG ? "too many keys" : strerror(p.fail_errno));
}

void inventory_guest_free(struct inv_guest *g)
{
	if (g->nics != NULL)
		for (size_t i = 0; i < g->nnics; i++)
			for (int f = 0; f < 2; f++)
				free(g->nics[i].addrs[f]);
	free(g->nics);
	g->nics = NULL;
	g->nnics = 0;
}

/* ------------------------------------------------------------ xenstore */

struct inv_xs {
	struct xs_handle *xs;
	xs_transaction_t th;
	char base[64]; /* /local/domain/<domid>/data/guest */
};

static int inv_xs_path(const struct inv_xs *x, const char *path, char *buf, size_t size)
{
	int n = snprintf(buf, size, "%s%s%s", x->base, path[0] ? "/" : "", path);
	if (n < 0 || (size_t)n >= size) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

static char *inv_xs_read(void *ctx, const char *path, unsigned *len)
{
	const struct inv_xs *x = ctx;
	char full[256];
	if (inv_xs_path(x, path, full, sizeof full) < 0)
		return NULL;
	return xs_read(x->xs, x->th, full, len);
}

static char **inv_xs_list(void *ctx, const char *path, unsigned *num)
{
	const struct inv_xs *x = ctx;
	char full[256];
	if (inv_xs_path(x, path, full, sizeof full) < 0)
		return NULL;
	return xs_directory(x->xs, x->th, full, num);
}

static int inv_cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;
	return (x > y) - (x < y);
}

int inventory_domids(struct xs_handle *xs, int **domids, size_t *n)
{
	unsigned num = 0;
	char **names = xs_directory(xs, XBT_NULL, "/local/domain", &num);
	int *ids;

	*domids = NULL;
	*n = 0;
	if (names == NULL)
		return -1;
	ids = calloc(num ? num : 1, sizeof *ids);
	if (ids == NULL) {
		free(names);
		return -1;
	}
	for (unsigned i = 0; i < num && *n < INV_MAX_GUESTS; i++) {
		long id = inv_number(names[i], strnlen(names[i], 16));
		if (id >= 0 && id < 0x7ff0)
			ids[(*n)++] = (int)id;
	}
	free(names);
	qsort(ids, *n, sizeof *ids, inv_cmp_int);
	*domids = ids;
	return 0;
}

void inventory_read_guest(struct xs_handle *xs, int domid, struct inv_guest *g)
{
	struct inv_xs x = {xs, XBT_NULL, ""};
	struct inv_source src = {inv_xs_read, inv_xs_list, &x};
	char path[64];
	unsigned len = 0;
	char *untrusted_name;

	memset(g, 0, sizeof *g);
	g->domid = domid;
	/* the name is the toolstack's (dom0-owned), but not worth trusting
	 * more than the rest */
	snprintf(path, sizeof path, "/local/domain/%d/name", domid);
	untrusted_name = xs_read(xs, XBT_NULL, path, &len);
	if (untrusted_name != NULL) {
		xvsafe_text(g->name, sizeof g->name, untrusted_name,
			    len > INV_MAX_VALUE ? INV_MAX_VALUE : len, NULL);
		free(untrusted_name);
	}
	snprintf(x.base, sizeof x.base, "/local/domain/%d/" XVDT_ROOT, domid);
	for (int attempt = 0; attempt < INV_MAX_ATTEMPTS; attempt++) {
		x.th = xs_transaction_start(xs);
		if (x.th == XBT_NULL)
			break;
		inventory_parse(g, &src);
		if (xs_transaction_end(xs, x.th, false))
			return;
		if (errno != EAGAIN)
			break;
	}
	int saved = errno;
	inv_reset(g);
	g->status = INV_UNREADABLE;
	snprintf(g->reason, sizeof g->reason, "cannot read the data tree: %s", strerror(saved));
}

/* ------------------------------------------------------------ table */

/* Print safe TEXT in a column of WIDTH characters (UTF-8 sequences count
 * as one), cut with '~' when longer. */
static void inv_col(FILE *out, const char *text, int width)
{
	const unsigned char *s = (const unsigned char *)text;
	int chars = 0;
	size_t i = 0, cut = 0;
	int total = 0;

	for (size_t k = 0; s[k]; k++)
		if ((s[k] & 0xc0) != 0x80)
			total++;
	while (s[i] && chars < (total > width ? width - 1 : width)) {
		i++;
		while ((s[i] & 0xc0) == 0x80)
			i++;
		chars++;
	}
	cut = i;
	fwrite(text, 1, cut, out);
	if (total > width) {
		fputc('~', out);
		chars++;
	}
	for (; chars < width; chars++)
		fputc(' ', out);
	fputc(' ', out);
}

void inventory_print_table_header(FILE *out)
{
	fprintf(out, "%5s ", "DOMID");
	inv_col(out, "GUEST", INV_COL_GUEST);
	inv_col(out, "OS", INV_COL_OS);
	inv_col(out, "KERNEL", INV_COL_KERNEL);
	inv_col(out, "HOSTNAME", INV_COL_HOST);
	fprintf(out, "AGENT\n");
}

static const char *inv_or(const char *s, const char *dflt)
{
	return s != NULL && s[0] != '\0' ? s : dflt;
}

void inventory_print_table_guest(FILE *out, const struct inv_guest *g)
{
	fprintf(out, "%5d ", g->domid);
	inv_col(out, inv_or(g->name, "-"), INV_COL_GUEST);
	if (g->status != INV_OK) {
		fprintf(out, "!! %s: %s\n", inventory_status_name(g->status), g->reason);
		return;
	}
	inv_col(out, inv_or(g->os_pretty_name, inv_or(g->os_name, "?")), INV_COL_OS);
	inv_col(out, inv_or(g->kernel_release, "?"), INV_COL_KERNEL);
	inv_col(out, inv_or(g->hostname, "?"), INV_COL_HOST);
	fprintf(out, "%s %s (%s), layout %s\n", inv_or(g->agent_name, "?"),
		inv_or(g->agent_version, "?"), inv_or(g->agent_state, "?"), g->version);
	for (size_t i = 0; i < g->nnics; i++) {
		const struct inv_nic *n = &g->nics[i];
		char where[80], mtu[24];
		if (n->vif_id >= 0)
			snprintf(where, sizeof where, "vif/%d", n->vif_id);
		else
			snprintf(where, sizeof where, "other");
		if (n->mtu >= 0)
			snprintf(mtu, sizeof mtu, "mtu %ld", n->mtu);
		else
			snprintf(mtu, sizeof mtu, "mtu ?");
		fprintf(out, "%5s   ", "");
		inv_col(out, where, 8);
		inv_col(out, inv_or(n->name, "?"), 15);
		inv_col(out, inv_or(n->mac, "-"), 17);
		inv_col(out, inv_or(n->link, "?"), 4);
		inv_col(out, mtu, 9);
		const char *sep = "";
		for (int f = 0; f < 2; f++) {
			for (size_t a = 0; a < n->naddrs[f]; a++) {
				fprintf(out, "%s%s/%u", sep, n->addrs[f][a].text,
					n->addrs[f][a].prefix);
				sep = " ";
			}
			if (n->omitted[f] + n->dropped[f] > 0) {
				fprintf(out, "%s(+%lu IPv%d not shown)", sep,
					n->omitted[f] + n->dropped[f], f == 0 ? 4 : 6);
				sep = " ";
			}
		}
		if (*sep == '\0')
			fprintf(out, "(no address)");
		fputc('\n', out);
	}
	if (g->nnics == 0)
		fprintf(out, "%5s   (no NIC)\n", "");
	if (g->nics_omitted + g->nics_dropped > 0)
		fprintf(out, "%5s   (+%lu NIC(s) not shown)\n", "",
			g->nics_omitted + g->nics_dropped);
	for (size_t w = 0; w < g->nwarnings; w++)
		fprintf(out, "%5s   warning: %s\n", "", g->warnings[w]);
	if (g->warnings_dropped > 0)
		fprintf(out, "%5s   warning: %lu more\n", "", g->warnings_dropped);
}

/* ------------------------------------------------------------ JSON */

/* Add KEY = safe text S, or nothing when S is empty. */
static void inv_json_str(struct json_object *o, const char *key, const char *s)
{
	if (s != NULL && s[0] != '\0')
		json_object_object_add(o, key, json_object_new_string(s));
}

static struct json_object *inv_json_nic(const struct inv_nic *n)
{
	struct json_object *o = json_object_new_object();

	if (o == NULL)
		return NULL;
	json_object_object_add(o, "kind", json_object_new_string(n->vif_id >= 0 ? "vif" : "other"));
	if (n->vif_id >= 0)
		json_object_object_add(o, "vif_id", json_object_new_int(n->vif_id));
	json_object_object_add(o, "key", json_object_new_string(n->key));
	inv_json_str(o, "name", n->name);
	inv_json_str(o, "mac", n->mac);
	if (n->mtu >= 0)
		json_object_object_add(o, "mtu", json_object_new_int64(n->mtu));
	inv_json_str(o, "link", n->link);
	inv_json_str(o, "admin", n->admin);
	inv_json_str(o, "carrier", n->carrier);
	inv_json_str(o, "operstate", n->operstate);
	for (int f = 0; f < 2; f++) {
		struct json_object *arr = json_object_new_array();
		for (size_t a = 0; arr != NULL && a < n->naddrs[f]; a++) {
			struct json_object *ao = json_object_new_object();
			if (ao == NULL)
				continue;
			json_object_object_add(ao, "address",
					       json_object_new_string(n->addrs[f][a].text));
			json_object_object_add(ao, "prefix",
					       json_object_new_int((int)n->addrs[f][a].prefix));
			json_object_array_add(arr, ao);
		}
		json_object_object_add(o, f == 0 ? "ipv4" : "ipv6", arr);
		json_object_object_add(
		    o, f == 0 ? "ipv4_not_shown" : "ipv6_not_shown",
		    json_object_new_int64((int64_t)(n->omitted[f] + n->dropped[f])));
	}
	return o;
}

struct json_object *inventory_json_guest(const struct inv_guest *g)
{
	struct json_object *o = json_object_new_object();

	if (o == NULL)
		return NULL;
	json_object_object_add(o, "domid", json_object_new_int(g->domid));
	json_object_object_add(o, "name", json_object_new_string(g->name));
	json_object_object_add(o, "status",
			       json_object_new_string(inventory_status_name(g->status)));
	if (g->status != INV_OK) {
		json_object_object_add(o, "error", json_object_new_string(g->reason));
		return o;
	}
	json_object_object_add(o, "layout_version", json_object_new_string(g->version));

	struct json_object *agent = json_object_new_object();
	inv_json_str(agent, "name", g->agent_name);
	inv_json_str(agent, "version", g->agent_version);
	inv_json_str(agent, "state", g->agent_state);
	json_object_object_add(o, "agent", agent);

	struct json_object *os = json_object_new_object();
	inv_json_str(os, "class", g->os_class);
	inv_json_str(os, "id", g->os_id);
	inv_json_str(os, "name", g->os_name);
	inv_json_str(os, "version", g->os_version);
	inv_json_str(os, "version_id", g->os_version_id);
	inv_json_str(os, "pretty_name", g->os_pretty_name);
	inv_json_str(os, "hostname", g->hostname);
	struct json_object *unx = json_object_new_object();
	inv_json_str(unx, "kernel_name", g->kernel_name);
	inv_json_str(unx, "kernel_release", g->kernel_release);
	inv_json_str(unx, "kernel_version", g->kernel_version);
	inv_json_str(unx, "machine", g->machine);
	json_object_object_add(os, "unix", unx);
	json_object_object_add(o, "os", os);

	struct json_object *nics = json_object_new_array();
	for (size_t i = 0; nics != NULL && i < g->nnics; i++) {
		struct json_object *n = inv_json_nic(&g->nics[i]);
		if (n != NULL)
			json_object_array_add(nics, n);
	}
	json_object_object_add(o, "nics", nics);
	json_object_object_add(o, "nics_not_shown",
			       json_object_new_int64((int64_t)(g->nics_omitted + g->nics_dropped)));
	struct json_object *w = json_object_new_array();
	for (size_t i = 0; w != NULL && i < g->nwarnings; i++)
		json_object_array_add(w, json_object_new_string(g->warnings[i]));
	json_object_object_add(o, "warnings", w);
	return o;
}
