/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target for route_parse(), the parser of every client query the
 * bridge receives ("GUEST/COMMAND[!arg...]").  Checked: a parse either
 * fails with a printable one-line reason and a zeroed result, or yields a
 * guest of 1-64 characters of [A-Za-z0-9_.-] (or "" for the bridge's own
 * version check), a domid only for all-digit guests and within range, and
 * a query that lies inside the input right after the first '/'.  The same
 * input always gives the same result.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../host-bridge/bridge.h"

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond))                                                                       \
			abort();                                                                   \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int guest_char(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '.' || c == '-';
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data;
	struct route a, b;
	char ea[256], eb[256];
	int ra, rb;

	memset(ea, 0x55, sizeof ea);
	ra = route_parse(in, size, &a, ea, sizeof ea);
	rb = route_parse(in, size, &b, eb, sizeof eb);
	CHECK(ra == rb);
	CHECK(ra == 0 || ra == -1);
	if (ra < 0) {
		size_t n = strnlen(ea, sizeof ea);
		CHECK(n > 0 && n < sizeof ea);
		for (size_t i = 0; i < n; i++)
			CHECK(ea[i] >= 0x20 && ea[i] < 0x7f);
		CHECK(strcmp(ea, eb) == 0);
		CHECK(a.guest[0] == '\0' && a.domid == -1 && a.query == NULL && a.query_len == 0);
		return 0;
	}
	CHECK(memcmp(&a, &b, sizeof a) == 0);
	size_t glen = strnlen(a.guest, sizeof a.guest);
	CHECK(glen <= ROUTE_GUEST_MAX);
	CHECK(memchr(in, '\0', size) == NULL);
	if (glen == 0) {
		/* the bridge's own version check: no '/' at all */
		CHECK(a.version_check == 1 && a.domid == -1);
		CHECK(size == 0 || memchr(in, '/', size) == NULL);
		return 0;
	}
	int digits = 1;
	for (size_t i = 0; i < glen; i++) {
		CHECK(guest_char((unsigned char)a.guest[i]));
		if (a.guest[i] < '0' || a.guest[i] > '9')
			digits = 0;
	}
	CHECK(digits == (a.domid >= 0));
	CHECK(a.domid <= CHAN_DOMID_MAX);
	if (digits)
		CHECK(atoi(a.guest) == a.domid);
	/* GUEST is the input up to the first '/', the query all after it */
	CHECK(size > glen && in[glen] == '/' && memcmp(in, a.guest, glen) == 0);
	CHECK(a.query == in + glen + 1 && a.query_len == size - glen - 1);
	CHECK(a.query_len <= ROUTE_QUERY_MAX);
	CHECK(a.version_check ==
	      (a.query_len == 0 || (a.query_len == 11 && memcmp(a.query, "_NRPE_CHECK", 11) == 0)));
	return 0;
}
