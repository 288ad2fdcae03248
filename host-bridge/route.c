/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * route.c - "GUEST/COMMAND[!arg...]" -> guest + query: the one parser of
 * client queries for every front end of the bridge (local socket, NRPE
 * listener) and for check_xenvchan's own -H check.
 */
#include <stdio.h>
#include <string.h>

#include "bridge.h"

#define ROUTE_NRPE_CHECK "_NRPE_CHECK"
/* digits in the largest domid (CHAN_DOMID_MAX = 32751) */
#define ROUTE_DOMID_DIGITS 5

static int route_fail(struct route *out, char *err, size_t errlen, const char *why)
{
	memset(out, 0, sizeof *out);
	out->domid = -1;
	if (err && errlen > 0)
		snprintf(err, errlen, "%s", why);
	return -1;
}

static int route_is_version_check(const char *q, size_t len)
{
	return len == 0 ||
	       (len == sizeof ROUTE_NRPE_CHECK - 1 && memcmp(q, ROUTE_NRPE_CHECK, len) == 0);
}

static int route_guest_char(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '.' || c == '-';
}

int route_parse(const char *untrusted, size_t len, struct route *out, char *err, size_t errlen)
{
	const char *slash;
	size_t glen, i;
	int digits = 1;

	memset(out, 0, sizeof *out);
	out->domid = -1;
	if (untrusted == NULL && len > 0)
		return route_fail(out, err, errlen, "no query");
	if (len > 0 && memchr(untrusted, '\0', len) != NULL)
		return route_fail(out, err, errlen, "the query contains a NUL byte");
	slash = len > 0 ? memchr(untrusted, '/', len) : NULL;
	if (slash == NULL) {
		if (route_is_version_check(untrusted, len)) {
			out->query = untrusted ? untrusted : "";
			out->query_len = len;
			out->version_check = 1;
			return 0;
		}
		return route_fail(out, err, errlen,
				  "expected GUEST/COMMAND[!arg...] (no '/' in the query)");
	}
	glen = (size_t)(slash - untrusted);
	if (glen == 0)
		return route_fail(out, err, errlen, "empty guest name before '/'");
	if (glen > ROUTE_GUEST_MAX)
		return route_fail(out, err, errlen, "guest name longer than 64 characters");
	for (i = 0; i < glen; i++) {
		unsigned char c = (unsigned char)untrusted[i];
		if (!route_guest_char(c))
			return route_fail(out, err, errlen,
					  "guest name has a character outside [A-Za-z0-9_.-]");
		if (c < '0' || c > '9')
			digits = 0;
	}
	if (len - glen - 1 > ROUTE_QUERY_MAX)
		return route_fail(out, err, errlen, "query longer than 65531 bytes");
	if (digits) {
		long v = 0;
		if (glen > ROUTE_DOMID_DIGITS)
			return route_fail(out, err, errlen, "domid out of range (0-32751)");
		for (i = 0; i < glen; i++)
			v = v * 10 + (untrusted[i] - '0');
		if (v > CHAN_DOMID_MAX)
			return route_fail(out, err, errlen, "domid out of range (0-32751)");
		out->domid = (int)v;
	}
	/* validated above: only [A-Za-z0-9_.-], safe to print and compare */
	memcpy(out->guest, untrusted, glen);
	out->guest[glen] = '\0';
	out->query = slash + 1;
	out->query_len = len - glen - 1;
	if (out->query_len > 0 && out->query[0] == '!')
		return route_fail(out, err, errlen, "empty command name before '!'");
	out->version_check = route_is_version_check(out->query, out->query_len);
	return 0;
}
