/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "invconf.h"

struct invconf {
	FILE *out;
	enum invconf_format format;
	char template_name[INVCONF_NAME_MAX + 1];
	char dom0[INVCONF_NAME_MAX + 1];
	/* names written so far: a second guest of the same name is skipped
	 * (both languages refuse duplicate host objects) */
	char (*names)[INVCONF_NAME_MAX + 1];
	size_t nnames, cap;
	size_t written;
};

int invconf_valid_name(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > INVCONF_NAME_MAX)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		int alnum =
		    (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
		if (!alnum && (i == 0 || (c != '.' && c != '_' && c != '-')))
			return 0;
	}
	return 1;
}

/* Appends LEN bytes to DST (of DSTSIZE, *O used); -1 if they do not fit
 * with the NUL. */
static int invconf_put(char *dst, size_t dstsize, size_t *o, const char *s, size_t len)
{
	if (len >= dstsize - *o)
		return -1;
	memcpy(dst + *o, s, len);
	*o += len;
	dst[*o] = '\0';
	return 0;
}

int invconf_nagios_value(char *dst, size_t dstsize, const char *src)
{
	size_t b = 0, e = strlen(src), o = 0;

	if (dstsize == 0)
		return -1;
	dst[0] = '\0';
	while (b < e && src[b] == ' ')
		b++;
	while (e > b && src[e - 1] == ' ')
		e--;
	for (size_t i = b; i < e; i++) {
		int r = src[i] == ';' ? invconf_put(dst, dstsize, &o, "\\;", 2)
				      : invconf_put(dst, dstsize, &o, src + i, 1);
		if (r < 0) {
			dst[0] = '\0';
			return -1;
		}
	}
	return (int)o;
}

int invconf_icinga2_string(char *dst, size_t dstsize, const char *src)
{
	size_t o = 0;

	if (dstsize == 0)
		return -1;
	dst[0] = '\0';
	for (const char *p = src; *p != '\0'; p++) {
		int r;
		if (*p == '"')
			r = invconf_put(dst, dstsize, &o, "\\\"", 2);
		else if (*p == '\\')
			r = invconf_put(dst, dstsize, &o, "\\\\", 2);
		else if (*p == '$')
			r = invconf_put(dst, dstsize, &o, "$$", 2);
		else
			r = invconf_put(dst, dstsize, &o, p, 1);
		if (r < 0) {
			dst[0] = '\0';
			return -1;
		}
	}
	return (int)o;
}

struct invconf *invconf_new(FILE *out, const struct invconf_opts *opts, char *err, size_t errlen)
{
	const char *tmpl =
	    opts->template_name != NULL ? opts->template_name : INVCONF_DEFAULT_TEMPLATE;
	struct invconf *c;

	if (opts->format != INVCONF_NAGIOS && opts->format != INVCONF_ICINGA2) {
		snprintf(err, errlen, "unknown output format");
		return NULL;
	}
	if (!invconf_valid_name(tmpl)) {
		snprintf(err, errlen,
			 "template name: at most %d characters of A-Z a-z 0-9 . _ -, "
			 "starting with a letter or digit",
			 INVCONF_NAME_MAX);
		return NULL;
	}
	if (opts->dom0 != NULL && !invconf_valid_name(opts->dom0)) {
		snprintf(err, errlen,
			 "dom0 name: at most %d characters of A-Z a-z 0-9 . _ -, "
			 "starting with a letter or digit",
			 INVCONF_NAME_MAX);
		return NULL;
	}
	c = calloc(1, sizeof *c);
	if (c == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	c->out = out;
	c->format = opts->format;
	snprintf(c->template_name, sizeof c->template_name, "%s", tmpl);
	if (opts->dom0 != NULL)
		snprintf(c->dom0, sizeof c->dom0, "%s", opts->dom0);

	if (c->format == INVCONF_NAGIOS)
		fprintf(out,
			"# Nagios 4 host objects of the Xen guests, written by xenvchan-inventory\n"
			"# from what their agents publish in xenstore.  They use the template\n"
			"# %s (contrib/nagios/xenvchan-templates.cfg).  The custom variables\n"
			"# other than _DOMAIN, _DOMID and _DOM0 are the guest's own words: for\n"
			"# people and filters, never for command lines.\n",
			c->template_name);
	else
		fprintf(
		    out,
		    "// Icinga 2 Host objects of the Xen guests, written by xenvchan-inventory\n"
		    "// from what their agents publish in xenstore.  They import the template\n"
		    "// \"%s\" (contrib/nagios/icinga2/xenvchan-templates.conf).  vars.os and\n"
		    "// vars.guest_* are the guest's own words ('$' written \"$$\"): for people\n"
		    "// and filters, never for command lines.\n",
		    c->template_name);
	return c;
}

/* ------------------------------------------------------------ values */

/* "Linux" (the kernel's name), "Windows", or "" */
static const char *invconf_os(const struct inv_guest *g)
{
	if (g->kernel_name[0] != '\0')
		return g->kernel_name;
	if (strcmp(g->os_class, "windows") == 0)
		return "Windows";
	return "";
}

static const char *invconf_os_name(const struct inv_guest *g)
{
	return g->os_pretty_name[0] != '\0' ? g->os_pretty_name : g->os_name;
}

/* A link-local IPv6 address (fe80::/10) is no host address. */
static int invconf_link_local(const struct inv_addr *a)
{
	return a->family == AF_INET6 && a->addr[0] == 0xfe && (a->addr[1] & 0xc0) == 0x80;
}

/* The first address of family F (0 IPv4, 1 IPv6) fit for "address": NULL
 * if none. */
static const struct inv_addr *invconf_first_addr(const struct inv_guest *g, int f)
{
	for (size_t i = 0; i < g->nnics; i++)
		for (size_t a = 0; a < g->nics[i].naddrs[f]; a++)
			if (!invconf_link_local(&g->nics[i].addrs[f][a]))
				return &g->nics[i].addrs[f][a];
	return NULL;
}

/* The NIC's name for people: its name, else "vif<id>", else its key. */
static void invconf_nic_label(const struct inv_nic *n, char *dst, size_t dstsize)
{
	if (n->name[0] != '\0')
		snprintf(dst, dstsize, "%s", n->name);
	else if (n->vif_id >= 0)
		snprintf(dst, dstsize, "vif%d", n->vif_id);
	else
		snprintf(dst, dstsize, "%s", n->key);
}

/* ------------------------------------------------------------ Nagios */

static void invconf_nagios_var(struct invconf *c, const char *name, const char *safe)
{
	char v[INVCONF_VALUE_MAX];

	/* empty (Nagios refuses it) or too long: left out */
	if (invconf_nagios_value(v, sizeof v, safe) > 0)
		fprintf(c->out, "\t%-23s %s\n", name, v);
}

/* "a/24,b/16" of family F, as many as fit in DST and INVCONF_MAX_ADDRS. */
static void invconf_addr_list(const struct inv_guest *g, int f, char *dst, size_t dstsize)
{
	size_t o = 0, count = 0;

	dst[0] = '\0';
	for (size_t i = 0; i < g->nnics && count < INVCONF_MAX_ADDRS; i++) {
		const struct inv_nic *n = &g->nics[i];
		for (size_t a = 0; a < n->naddrs[f] && count < INVCONF_MAX_ADDRS; a++) {
			char one[64];
			int len = snprintf(one, sizeof one, "%s%s/%u", count ? "," : "",
					   n->addrs[f][a].text, n->addrs[f][a].prefix);
			if (len < 0 || invconf_put(dst, dstsize, &o, one, (size_t)len) < 0)
				return;
			count++;
		}
	}
}

static void invconf_nagios_guest(struct invconf *c, const struct inv_guest *g)
{
	char buf[INVCONF_VALUE_MAX / 2], num[24];
	const struct inv_addr *addr = invconf_first_addr(g, 0);
	size_t o = 0;

	if (addr == NULL)
		addr = invconf_first_addr(g, 1);
	fprintf(c->out, "\n# domid %d\ndefine host {\n", g->domid);
	fprintf(c->out, "\t%-23s %s\n", "use", c->template_name);
	fprintf(c->out, "\t%-23s %s\n", "host_name", g->name);
	if (addr != NULL)
		fprintf(c->out, "\t%-23s %s\n", "address", addr->text);
	fprintf(c->out, "\t%-23s %s\n", "_DOMAIN", g->name);
	snprintf(num, sizeof num, "%d", g->domid);
	fprintf(c->out, "\t%-23s %s\n", "_DOMID", num);
	if (c->dom0[0] != '\0')
		fprintf(c->out, "\t%-23s %s\n", "_DOM0", c->dom0);
	invconf_nagios_var(c, "_OS", invconf_os(g));
	invconf_nagios_var(c, "_OS_NAME", invconf_os_name(g));
	invconf_nagios_var(c, "_OS_ID", g->os_id);
	invconf_nagios_var(c, "_OS_VERSION", g->os_version_id);
	invconf_nagios_var(c, "_KERNEL", g->kernel_release);
	invconf_nagios_var(c, "_MACHINE", g->machine);
	invconf_nagios_var(c, "_GUEST_HOSTNAME", g->hostname);
	invconf_addr_list(g, 0, buf, sizeof buf);
	invconf_nagios_var(c, "_IPV4", buf);
	invconf_addr_list(g, 1, buf, sizeof buf);
	invconf_nagios_var(c, "_IPV6", buf);
	buf[0] = '\0';
	for (size_t i = 0; i < g->nnics; i++) {
		char label[INV_MAX_TEXT], one[2 * INV_MAX_TEXT + 4];
		int len;
		if (g->nics[i].mac[0] == '\0')
			continue;
		invconf_nic_label(&g->nics[i], label, sizeof label);
		len = snprintf(one, sizeof one, "%s%s=%s", o ? "," : "", label, g->nics[i].mac);
		if (len < 0 || invconf_put(buf, sizeof buf, &o, one, (size_t)len) < 0)
			break;
	}
	invconf_nagios_var(c, "_MACS", buf);
	fprintf(c->out, "}\n");
}

/* ------------------------------------------------------------ Icinga 2 */

/* "name = "value"" with INDENT tabs, or nothing when SAFE is empty. */
static void invconf_i2_var(struct invconf *c, int indent, const char *name, const char *safe)
{
	char v[INVCONF_VALUE_MAX];

	if (safe[0] == '\0' || invconf_icinga2_string(v, sizeof v, safe) < 0)
		return;
	fprintf(c->out, "%.*s%s = \"%s\"\n", indent, "\t\t\t\t", name, v);
}

/* [ "a/24", ... ]: the addresses of family F of NNICS NICs (at most
 * INVCONF_MAX_ADDRS), and a newline */
static void invconf_i2_addrs(struct invconf *c, const struct inv_nic *nics, size_t nnics, int f)
{
	size_t count = 0;

	fputc('[', c->out);
	for (size_t i = 0; i < nnics && count < INVCONF_MAX_ADDRS; i++)
		for (size_t a = 0; a < nics[i].naddrs[f] && count < INVCONF_MAX_ADDRS; a++, count++)
			fprintf(c->out, "%s\"%s/%u\"", count ? ", " : " ", nics[i].addrs[f][a].text,
				nics[i].addrs[f][a].prefix);
	fputs(count ? " ]\n" : "]\n", c->out);
}

static void invconf_icinga2_guest(struct invconf *c, const struct inv_guest *g)
{
	const struct inv_addr *a4 = invconf_first_addr(g, 0), *a6 = invconf_first_addr(g, 1);

	fprintf(c->out, "\n// domid %d\nobject Host \"%s\" {\n", g->domid, g->name);
	fprintf(c->out, "\timport \"%s\"\n", c->template_name);
	fprintf(c->out, "\tvars.xenvchan_guest = \"%s\"\n", g->name);
	fprintf(c->out, "\tvars.xenvchan_domid = %d\n", g->domid);
	if (c->dom0[0] != '\0') {
		fprintf(c->out, "\tvars.xenvchan_dom0 = \"%s\"\n", c->dom0);
		fprintf(c->out, "\tcommand_endpoint = vars.xenvchan_dom0\n");
	}
	if (a4 != NULL)
		fprintf(c->out, "\taddress = \"%s\"\n", a4->text);
	if (a6 != NULL)
		fprintf(c->out, "\taddress6 = \"%s\"\n", a6->text);
	invconf_i2_var(c, 1, "vars.os", invconf_os(g));
	invconf_i2_var(c, 1, "vars.guest_os_name", invconf_os_name(g));
	invconf_i2_var(c, 1, "vars.guest_os_id", g->os_id);
	invconf_i2_var(c, 1, "vars.guest_os_version", g->os_version_id);
	invconf_i2_var(c, 1, "vars.guest_kernel", g->kernel_release);
	invconf_i2_var(c, 1, "vars.guest_machine", g->machine);
	invconf_i2_var(c, 1, "vars.guest_hostname", g->hostname);
	fputs("\tvars.guest_ipv4 = ", c->out);
	invconf_i2_addrs(c, g->nics, g->nnics, 0);
	fputs("\tvars.guest_ipv6 = ", c->out);
	invconf_i2_addrs(c, g->nics, g->nnics, 1);
	fputs("\tvars.guest_nics = {\n", c->out);
	for (size_t i = 0; i < g->nnics; i++) {
		const struct inv_nic *n = &g->nics[i];
		char label[INV_MAX_TEXT], key[INVCONF_VALUE_MAX];
		invconf_nic_label(n, label, sizeof label);
		if (invconf_icinga2_string(key, sizeof key, label) <= 0)
			continue;
		fprintf(c->out, "\t\t\"%s\" = {\n", key);
		if (n->vif_id >= 0)
			fprintf(c->out, "\t\t\tvif = %d\n", n->vif_id);
		invconf_i2_var(c, 3, "mac", n->mac);
		if (n->mtu >= 0)
			fprintf(c->out, "\t\t\tmtu = %ld\n", n->mtu);
		if (n->link != NULL)
			fprintf(c->out, "\t\t\tlink = \"%s\"\n", n->link);
		if (n->operstate[0] != '\0')
			fprintf(c->out, "\t\t\toperstate = \"%s\"\n", n->operstate);
		fputs("\t\t\tipv4 = ", c->out);
		invconf_i2_addrs(c, n, 1, 0);
		fputs("\t\t\tipv6 = ", c->out);
		invconf_i2_addrs(c, n, 1, 1);
		fputs("\t\t}\n", c->out);
	}
	fputs("\t}\n}\n", c->out);
}

/* ------------------------------------------------------------ guests */

static int invconf_skip(struct invconf *c, const struct inv_guest *g, char *why, size_t whylen,
			const char *reason)
{
	snprintf(why, whylen, "%s", reason);
	fprintf(c->out, "\n%s domid %d: skipped (%s)\n", c->format == INVCONF_NAGIOS ? "#" : "//",
		g->domid, why);
	return 0;
}

int invconf_guest(struct invconf *c, const struct inv_guest *g, char *why, size_t whylen)
{
	if (g->domid == 0) {
		/* not a guest: no host object, and nothing to say */
		if (whylen > 0)
			why[0] = '\0';
		return 0;
	}
	if (g->status != INV_OK) {
		/* the why for the caller names the problem; the comment in the
		 * configuration only its kind */
		snprintf(why, whylen, "%s: %s", inventory_status_name(g->status), g->reason);
		fprintf(c->out, "\n%s domid %d: skipped (%s)\n",
			c->format == INVCONF_NAGIOS ? "#" : "//", g->domid,
			inventory_status_name(g->status));
		return 0;
	}
	if (!invconf_valid_name(g->name))
		return invconf_skip(c, g, why, whylen, "domain name not usable as an object name");
	for (size_t i = 0; i < c->nnames; i++)
		if (strcmp(c->names[i], g->name) == 0)
			return invconf_skip(c, g, why, whylen,
					    "another domain of the same name came first");
	if (c->nnames == c->cap) {
		size_t cap = c->cap ? 2 * c->cap : 64;
		void *p = reallocarray(c->names, cap, sizeof *c->names);
		if (p == NULL)
			return invconf_skip(c, g, why, whylen, "out of memory");
		c->names = p;
		c->cap = cap;
	}
	/* valid: at most INVCONF_NAME_MAX bytes */
	memcpy(c->names[c->nnames++], g->name, strlen(g->name) + 1);

	if (c->format == INVCONF_NAGIOS)
		invconf_nagios_guest(c, g);
	else
		invconf_icinga2_guest(c, g);
	c->written++;
	return 1;
}

size_t invconf_finish(struct invconf *c)
{
	size_t n;

	if (c == NULL)
		return 0;
	n = c->written;
	fprintf(c->out, "\n%s %zu host object%s\n", c->format == INVCONF_NAGIOS ? "#" : "//", n,
		n == 1 ? "" : "s");
	free(c->names);
	free(c);
	return n;
}
