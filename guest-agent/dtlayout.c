/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <net/if_arp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <linux/if_addr.h>
#include <linux/rtnetlink.h>

#include "dtlayout.h"

/* <linux/if.h>'s IFF_LOWER_UP (RFC 2863 "lower layer up": the carrier);
 * <net/if.h>, which nic.h needs, stops at IFF_DYNAMIC and the two headers
 * do not mix */
#define DTLAYOUT_IFF_LOWER_UP 0x10000

static const char *const dtlayout_roots[] = {DTLAYOUT_ROOT, NULL};
static const char *const dtlayout_roots_legacy[] = {
    DTLAYOUT_ROOT,	"data/os_name", "data/os_uname", "data/os_distro", "data/os_majorver",
    "data/os_minorver", "data/updated", "attr/PVAddons", "attr/vif",	   NULL};
static const char *const dtlayout_excludes[] = {DTLAYOUT_PROBES, NULL};

const struct xspub_scope dtlayout_scope = {dtlayout_roots, dtlayout_excludes};
const struct xspub_scope dtlayout_scope_legacy = {dtlayout_roots_legacy, dtlayout_excludes};

size_t dtlayout_addr_key(int family, const uint8_t *addr, char *buf, size_t size)
{
	int n;

	if (family == AF_INET) {
		n = snprintf(buf, size, "%u_%u_%u_%u", addr[0], addr[1], addr[2], addr[3]);
		return n < 0 ? 0 : (size_t)n;
	}
	uint16_t g[8];
	int best = -1, best_len = 0;
	for (int i = 0; i < 8; i++)
		g[i] = (uint16_t)(addr[2 * i] << 8 | addr[2 * i + 1]);
	/* RFC 5952 4.2: the longest run of >= 2 zero groups, the first on a tie */
	for (int i = 0; i < 8;) {
		int j = i;
		while (j < 8 && g[j] == 0)
			j++;
		if (j - i > best_len && j - i >= 2) {
			best = i;
			best_len = j - i;
		}
		i = j > i ? j : i + 1;
	}
	size_t o = 0;
	buf[0] = '\0';
	for (int i = 0; i < 8; i++) {
		if (i == best) {
			n = snprintf(buf + o, size - o, "__");
			i += best_len - 1;
		} else {
			int sep = i > 0 && i != best + best_len;
			n = snprintf(buf + o, size - o, "%s%x", sep ? "_" : "", g[i]);
		}
		if (n < 0 || (size_t)n >= size - o)
			return o;
		o += (size_t)n;
	}
	return o;
}

size_t dtlayout_ifname_key(const char *name, char *buf, size_t size)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;

	for (const unsigned char *p = (const unsigned char *)name; *p != '\0'; p++) {
		unsigned char c = *p;
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '-') {
			if (size - o < 2)
				break;
			buf[o++] = (char)c;
		} else {
			if (size - o < 4)
				break;
			buf[o++] = '_';
			buf[o++] = hex[c >> 4];
			buf[o++] = hex[c & 15];
		}
	}
	buf[o] = '\0';
	return o;
}

size_t dtlayout_mac(const uint8_t *hw, size_t len, char *buf, size_t size)
{
	size_t o = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < len; i++) {
		int n = snprintf(buf + o, size - o, "%s%02x", i ? ":" : "", hw[i]);
		if (n < 0 || (size_t)n >= size - o)
			break;
		o += (size_t)n;
	}
	return o;
}

const char *dtlayout_operstate(unsigned operstate)
{
	static const char *const names[] = {"unknown", "notpresent", "down", "lowerlayerdown",
					    "testing", "dormant",    "up"};
	return operstate < sizeof names / sizeof names[0] ? names[operstate] : "unknown";
}

/* ------------------------------------------------------------ builder */

struct dtlayout_nic {
	const struct nic_link *link;
	int vif;			  /* vif device id, -1 for net/other */
	char base[XSPUB_MAX_PATH + 1];	  /* data/guest/net/vif/0 ... */
	const struct nic_addr **addrs[2]; /* per family: [0] IPv4, [1] IPv6 */
	size_t naddrs[2], next[2], omitted[2];
};

struct dtlayout_builder {
	struct xspub_tree *out;
	const struct dtlayout_input *in;
	struct xspub_limits lim;
	struct dtlayout_nic *nics;
	size_t nnics;
};

static int dtlayout_set(struct dtlayout_builder *b, const struct xspub_limits *lim, const char *val,
			const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int dtlayout_set(struct dtlayout_builder *b, const struct xspub_limits *lim, const char *val,
			const char *fmt, ...)
{
	char path[XSPUB_MAX_PATH + 1];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(path, sizeof path, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof path) {
		errno = EINVAL;
		return -1;
	}
	return xspub_tree_set(b->out, path, val, lim);
}

/* optional string keys are published only when known */
static int dtlayout_set_opt(struct dtlayout_builder *b, const char *path, const char *val)
{
	if (val == NULL || val[0] == '\0')
		return 0;
	return xspub_tree_set(b->out, path, val, &b->lim);
}

static int dtlayout_identity(struct dtlayout_builder *b)
{
	const struct osinfo *os = b->in->os;
	const struct dtlayout_input *in = b->in;
	struct {
		const char *path, *value;
	} keys[] = {
	    {DTLAYOUT_ROOT "/" XVDT_KEY_PROTOCOL, DTLAYOUT_PROTOCOL},
	    {DTLAYOUT_ROOT "/" XVDT_KEY_VERSION, DTLAYOUT_VERSION},
	    {DTLAYOUT_ROOT "/" XVDT_KEY_AGENT_NAME, DTLAYOUT_AGENT_NAME},
	    {DTLAYOUT_ROOT "/" XVDT_KEY_AGENT_VERSION, in->agent_version},
	    {DTLAYOUT_ROOT "/" XVDT_KEY_AGENT_STATE, in->state},
	    {DTLAYOUT_ROOT "/" XVDT_KEY_AGENT_LEGACY, in->legacy ? "on" : "off"},
	    {DTLAYOUT_ROOT "/" XVDT_KEY_OS_CLASS, "unix"},
	    {DTLAYOUT_ROOT "/" XVDT_KEY_OS_ID, os->id},
	    {DTLAYOUT_ROOT "/" XVDT_KEY_OS_NAME, os->name},
	    {DTLAYOUT_ROOT "/" XVDT_KEY_OS_VERSION, os->version},
	    {DTLAYOUT_ROOT "/" XVDT_KEY_OS_VERSION_ID, os->version_id},
	    {DTLAYOUT_ROOT "/" XVDT_KEY_OS_PRETTY_NAME, os->pretty_name},
	    {DTLAYOUT_ROOT "/" XVDT_KEY_OS_HOSTNAME, os->hostname},
	    {DTLAYOUT_ROOT "/" XVDT_KEY_OS_KERNEL_NAME, os->kernel_name},
	    {DTLAYOUT_ROOT "/" XVDT_KEY_OS_KERNEL_RELEASE, os->kernel_release},
	    {DTLAYOUT_ROOT "/" XVDT_KEY_OS_KERNEL_VERSION, os->kernel_version},
	    {DTLAYOUT_ROOT "/" XVDT_KEY_OS_MACHINE, os->machine},
	};
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
		if (dtlayout_set_opt(b, keys[i].path, keys[i].value) < 0)
			return -1;
	return 0;
}

static int dtlayout_cmp_nic(const void *pa, const void *pb)
{
	const struct dtlayout_nic *a = pa, *b = pb;
	if ((a->vif < 0) != (b->vif < 0))
		return a->vif < 0 ? 1 : -1;
	if (a->vif >= 0 && a->vif != b->vif)
		return a->vif < b->vif ? -1 : 1;
	if (a->vif < 0) {
		int c = strcmp(a->link->name, b->link->name);
		if (c != 0)
			return c;
	}
	return a->link->ifindex < b->link->ifindex ? -1 : a->link->ifindex > b->link->ifindex;
}

/* global before site before link-local (RT_SCOPE_* grows inwards), then by
 * address, then by prefix (so that duplicates sit together, shortest
 * prefix first) */
static int dtlayout_cmp_addr(const void *pa, const void *pb)
{
	const struct nic_addr *a = *(const struct nic_addr *const *)pa;
	const struct nic_addr *b = *(const struct nic_addr *const *)pb;
	int c;
	if (a->scope != b->scope)
		return a->scope < b->scope ? -1 : 1;
	c = memcmp(a->addr, b->addr, sizeof a->addr);
	if (c != 0)
		return c;
	return (a->prefixlen > b->prefixlen) - (a->prefixlen < b->prefixlen);
}

static int dtlayout_is_loopback(const struct nic_link *l)
{
	return l->type == ARPHRD_LOOPBACK || (l->flags & IFF_LOOPBACK);
}

/* Choose the NICs, their place and their addresses. */
static int dtlayout_collect(struct dtlayout_builder *b)
{
	const struct nic_table *t = b->in->nics;

	b->nics = calloc(t->nlinks ? t->nlinks : 1, sizeof *b->nics);
	if (b->nics == NULL)
		return -1;
	for (size_t i = 0; i < t->nlinks; i++) {
		const struct nic_link *l = &t->links[i];
		struct dtlayout_nic *n = &b->nics[b->nnics];
		n->link = l;
		n->vif = dtlayout_is_loopback(l) || b->in->vif_id == NULL
			     ? -1
			     : b->in->vif_id(b->in->vif_ctx, l->name);
		if (n->vif > NIC_MAX_VIF_ID)
			n->vif = -1;
		if (n->vif < 0 && (!b->in->publish_other_nics ||
				   (dtlayout_is_loopback(l) && !b->in->include_loopback)))
			continue;
		b->nnics++;
	}
	qsort(b->nics, b->nnics, sizeof *b->nics, dtlayout_cmp_nic);
	/* two links that claim one vif id: the first keeps it */
	for (size_t i = 1; i < b->nnics; i++)
		if (b->nics[i].vif >= 0 && b->nics[i].vif == b->nics[i - 1].vif)
			b->nics[i].vif = -1;
	if (!b->in->publish_other_nics) {
		size_t k = 0;
		for (size_t i = 0; i < b->nnics; i++)
			if (b->nics[i].vif >= 0)
				b->nics[k++] = b->nics[i];
		b->nnics = k;
	}
	qsort(b->nics, b->nnics, sizeof *b->nics, dtlayout_cmp_nic);

	for (size_t i = 0; i < b->nnics; i++) {
		struct dtlayout_nic *n = &b->nics[i];
		char key[DTLAYOUT_IFNAME_KEY_SIZE];
		if (n->vif >= 0) {
			snprintf(n->base, sizeof n->base, DTLAYOUT_ROOT "/" XVDT_KEY_NET_VIF "/%d",
				 n->vif);
		} else {
			dtlayout_ifname_key(n->link->name, key, sizeof key);
			snprintf(n->base, sizeof n->base,
				 DTLAYOUT_ROOT "/" XVDT_KEY_NET_OTHER "/%s", key);
		}
		for (int f = 0; f < 2; f++) {
			int family = f == 0 ? AF_INET : AF_INET6;
			size_t cnt = 0;
			for (size_t a = 0; a < t->naddrs; a++)
				if (t->addrs[a].ifindex == n->link->ifindex &&
				    t->addrs[a].family == family)
					cnt++;
			n->addrs[f] = calloc(cnt ? cnt : 1, sizeof *n->addrs[f]);
			if (n->addrs[f] == NULL)
				return -1;
			for (size_t a = 0; a < t->naddrs; a++) {
				const struct nic_addr *na = &t->addrs[a];
				if (na->ifindex != n->link->ifindex || na->family != family ||
				    (na->flags & IFA_F_DADFAILED))
					continue;
				n->addrs[f][n->naddrs[f]++] = na;
			}
			qsort(n->addrs[f], n->naddrs[f], sizeof *n->addrs[f], dtlayout_cmp_addr);
			/* one key per address: the shortest prefix wins */
			size_t k = 0;
			for (size_t a = 0; a < n->naddrs[f]; a++)
				if (k == 0 || memcmp(n->addrs[f][k - 1]->addr, n->addrs[f][a]->addr,
						     sizeof n->addrs[f][a]->addr) != 0)
					n->addrs[f][k++] = n->addrs[f][a];
			n->naddrs[f] = k;
		}
	}
	return 0;
}

static int dtlayout_nic_base(struct dtlayout_builder *b, struct dtlayout_nic *n,
			     const struct xspub_limits *lim)
{
	const struct nic_link *l = n->link;
	char mac[DTLAYOUT_MAC_SIZE], mtu[16];
	int admin = (l->flags & IFF_UP) != 0;
	/* IFF_LOWER_UP is the carrier as the driver reports it;
	 * IFLA_CARRIER says the same where the kernel sends it */
	int carrier = l->carrier >= 0 ? l->carrier : (l->flags & DTLAYOUT_IFF_LOWER_UP) != 0;

	dtlayout_mac(l->hwaddr, l->hwaddr_len, mac, sizeof mac);
	snprintf(mtu, sizeof mtu, "%u", l->mtu);
	if (dtlayout_set(b, lim, l->name, "%s/" XVDT_NIC_NAME, n->base) < 0 ||
	    (mac[0] != '\0' && dtlayout_set(b, lim, mac, "%s/" XVDT_NIC_MAC, n->base) < 0) ||
	    dtlayout_set(b, lim, mtu, "%s/" XVDT_NIC_MTU, n->base) < 0 ||
	    dtlayout_set(b, lim, admin && carrier ? XVDT_UP : XVDT_DOWN, "%s/" XVDT_NIC_LINK,
			 n->base) < 0 ||
	    dtlayout_set(b, lim, admin ? XVDT_UP : XVDT_DOWN, "%s/" XVDT_NIC_ADMIN, n->base) < 0 ||
	    dtlayout_set(b, lim, carrier ? XVDT_UP : XVDT_DOWN, "%s/" XVDT_NIC_CARRIER, n->base) <
		0 ||
	    dtlayout_set(b, lim, dtlayout_operstate(l->operstate), "%s/" XVDT_NIC_OPERSTATE,
			 n->base) < 0 ||
	    dtlayout_set(b, lim, "", "%s/" XVDT_NIC_IPV_FMT, n->base, 4) < 0 ||
	    dtlayout_set(b, lim, "", "%s/" XVDT_NIC_IPV_FMT, n->base, 6) < 0)
		return -1;
	return 0;
}

/* The legacy keys XAPI and Xen Orchestra read (xe-guest-utilities'). */
static int dtlayout_legacy(struct dtlayout_builder *b)
{
	const struct osinfo *os = b->in->os;
	char major[16] = "", minor[16] = "";
	const char *v = os->version_id;
	size_t i = 0, k = 0;
	unsigned ver[3] = {0, 0, 0};

	while (v[i] >= '0' && v[i] <= '9' && k + 1 < sizeof major)
		major[k++] = v[i++];
	major[k] = '\0';
	if (v[i] == '.') {
		i++;
		k = 0;
		while (v[i] >= '0' && v[i] <= '9' && k + 1 < sizeof minor)
			minor[k++] = v[i++];
		minor[k] = '\0';
	}
	sscanf(b->in->agent_version, "%u.%u.%u", &ver[0], &ver[1], &ver[2]);
	char vs[3][16];
	for (int j = 0; j < 3; j++)
		snprintf(vs[j], sizeof vs[j], "%u", ver[j]);

	if (dtlayout_set_opt(b, "data/os_name", os->pretty_name) < 0 ||
	    dtlayout_set_opt(b, "data/os_uname", os->kernel_release) < 0 ||
	    dtlayout_set_opt(b, "data/os_distro", os->id) < 0 ||
	    dtlayout_set_opt(b, "data/os_majorver", major) < 0 ||
	    dtlayout_set_opt(b, "data/os_minorver", minor) < 0 ||
	    xspub_tree_set(b->out, "data/updated", b->in->updated ? b->in->updated : "", &b->lim) <
		0 ||
	    xspub_tree_set(b->out, "attr/PVAddons/Installed", "1", &b->lim) < 0 ||
	    xspub_tree_set(b->out, "attr/PVAddons/MajorVersion", vs[0], &b->lim) < 0 ||
	    xspub_tree_set(b->out, "attr/PVAddons/MinorVersion", vs[1], &b->lim) < 0 ||
	    xspub_tree_set(b->out, "attr/PVAddons/MicroVersion", vs[2], &b->lim) < 0 ||
	    xspub_tree_set(b->out, "attr/PVAddons/BuildVersion", "0", &b->lim) < 0)
		return -1;
	return 0;
}

static void dtlayout_addr_text(const struct nic_addr *a, char *buf, size_t size)
{
	if (a->family == AF_INET) {
		snprintf(buf, size, "%u.%u.%u.%u", a->addr[0], a->addr[1], a->addr[2], a->addr[3]);
		return;
	}
	dtlayout_addr_key(AF_INET6, a->addr, buf, size);
	for (char *p = buf; *p; p++)
		if (*p == '_')
			*p = ':';
}

/* Is N in GROUP (0: vifs, 1: the others)? */
static int dtlayout_in_group(const struct dtlayout_nic *n, int group)
{
	return n->link != NULL && (group == 0) == (n->vif >= 0);
}

/* The NICs of GROUP in order (vifs by id, the others by name), each whole
 * or not at all, keeping room for the omission markers: one for
 * net/omitted (in *RESERVE from the start) and two per NIC placed. */
static int dtlayout_place_nics(struct dtlayout_builder *b, int group, size_t *reserve,
			       struct dtlayout_result *res)
{
	struct xspub_limits lim = b->lim;

	for (size_t i = 0; i < b->nnics; i++) {
		struct dtlayout_nic *n = &b->nics[i];
		if (!dtlayout_in_group(n, group))
			continue;
		lim.max_nodes =
		    b->lim.max_nodes > *reserve + 2 ? b->lim.max_nodes - *reserve - 2 : 0;
		if (dtlayout_nic_base(b, n, &lim) < 0) {
			if (errno != ENOSPC)
				return -1;
			xspub_tree_remove(b->out, n->base);
			n->link = NULL;
			res->nics_omitted++;
			continue;
		}
		*reserve += 2;
		res->nics++;
	}
	return 0;
}

/* The addresses of GROUP's NICs, round-robin over NICs and families, so
 * that one NIC with a thousand addresses does not starve the others. */
static int dtlayout_place_addrs(struct dtlayout_builder *b, int group, size_t reserve,
				struct dtlayout_result *res)
{
	struct xspub_limits lim = b->lim;

	lim.max_nodes = b->lim.max_nodes > reserve ? b->lim.max_nodes - reserve : 0;
	for (int more = 1; more;) {
		more = 0;
		for (size_t i = 0; i < b->nnics; i++) {
			struct dtlayout_nic *n = &b->nics[i];
			if (!dtlayout_in_group(n, group))
				continue;
			for (int f = 0; f < 2; f++) {
				if (n->next[f] >= n->naddrs[f])
					continue;
				const struct nic_addr *a = n->addrs[f][n->next[f]++];
				char key[DTLAYOUT_ADDR_KEY_SIZE], plen[8];
				more = 1;
				dtlayout_addr_key(a->family, a->addr, key, sizeof key);
				snprintf(plen, sizeof plen, "%u", a->prefixlen);
				if (dtlayout_set(b, &lim, plen, "%s/" XVDT_NIC_IPV_FMT "/%s",
						 n->base, f == 0 ? 4 : 6, key) < 0) {
					if (errno != ENOSPC)
						return -1;
					n->omitted[f]++;
					res->addrs_omitted++;
				} else {
					res->addrs++;
				}
			}
		}
	}
	return 0;
}

/* attr/vif/<id>/ipv4|ipv6/<n>: the first few addresses of each vif, as
 * text (what XAPI shows). */
static int dtlayout_legacy_addrs(struct dtlayout_builder *b, size_t reserve)
{
	struct xspub_limits lim = b->lim;

	lim.max_nodes = b->lim.max_nodes > reserve ? b->lim.max_nodes - reserve : 0;
	for (size_t i = 0; i < b->nnics; i++) {
		struct dtlayout_nic *n = &b->nics[i];
		if (!dtlayout_in_group(n, 0))
			continue;
		for (int f = 0; f < 2; f++) {
			size_t idx = 0;
			for (size_t a = 0; a < n->naddrs[f] && idx < DTLAYOUT_LEGACY_MAX_ADDRS;
			     a++) {
				char text[64];
				dtlayout_addr_text(n->addrs[f][a], text, sizeof text);
				if (dtlayout_set(b, &lim, text, "attr/vif/%d/ipv%d/%zu", n->vif,
						 f == 0 ? 4 : 6, idx) < 0) {
					if (errno != ENOSPC)
						return -1;
					break;
				}
				idx++;
			}
		}
	}
	return 0;
}

static void dtlayout_free(struct dtlayout_builder *b)
{
	for (size_t i = 0; i < b->nnics; i++)
		for (int f = 0; f < 2; f++)
			free(b->nics[i].addrs[f]);
	free(b->nics);
}

int dtlayout_build(struct xspub_tree *out, const struct dtlayout_input *in,
		   struct dtlayout_result *res)
{
	struct dtlayout_builder b = {out, in, {0, DTLAYOUT_MAX_NODE_BYTES}, NULL, 0};
	struct dtlayout_result dummy;
	int rc = -1;

	if (res == NULL)
		res = &dummy;
	memset(res, 0, sizeof *res);
	b.lim.max_nodes = in->max_nodes ? in->max_nodes : DTLAYOUT_DEFAULT_MAX_NODES;
	if (b.lim.max_nodes < DTLAYOUT_MIN_MAX_NODES)
		b.lim.max_nodes = DTLAYOUT_MIN_MAX_NODES;
	if (b.lim.max_nodes > DTLAYOUT_MAX_MAX_NODES)
		b.lim.max_nodes = DTLAYOUT_MAX_MAX_NODES;
	xspub_tree_clear(out);
	out->scope = in->legacy ? &dtlayout_scope_legacy : &dtlayout_scope;

	if (dtlayout_identity(&b) < 0 || (in->legacy && dtlayout_legacy(&b) < 0) ||
	    dtlayout_collect(&b) < 0)
		goto out;
	if (xspub_tree_set(out, DTLAYOUT_ROOT "/" XVDT_KEY_NET, "", &b.lim) < 0)
		goto out;

	/* the vifs first, whole, with their addresses (and their legacy
	 * keys); then the other NICs the same way with what is left */
	size_t reserve = 1;
	for (int group = 0; group < 2; group++) {
		if (dtlayout_place_nics(&b, group, &reserve, res) < 0 ||
		    dtlayout_place_addrs(&b, group, reserve, res) < 0)
			goto out;
		if (group == 0 && in->legacy && dtlayout_legacy_addrs(&b, reserve) < 0)
			goto out;
	}

	/* the markers, in the room kept for them */
	for (size_t i = 0; i < b.nnics; i++) {
		struct dtlayout_nic *n = &b.nics[i];
		char cnt[24];
		if (n->link == NULL)
			continue;
		for (int f = 0; f < 2; f++) {
			if (n->omitted[f] == 0)
				continue;
			snprintf(cnt, sizeof cnt, "%zu", n->omitted[f]);
			if (dtlayout_set(&b, &b.lim, cnt, "%s/" XVDT_NIC_IPV_OMITTED_FMT, n->base,
					 f == 0 ? 4 : 6) < 0 &&
			    errno != ENOSPC)
				goto out;
		}
	}
	if (res->nics_omitted > 0) {
		char cnt[24];
		snprintf(cnt, sizeof cnt, "%zu", res->nics_omitted);
		if (xspub_tree_set(out, DTLAYOUT_ROOT "/" XVDT_KEY_NET_OMITTED, cnt, &b.lim) < 0 &&
		    errno != ENOSPC)
			goto out;
	}
	rc = 0;
out:
	dtlayout_free(&b);
	return rc;
}
