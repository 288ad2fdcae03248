/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target for what the bridge parses out of a guest's xenstore
 * tree (guests.h): the domid of a /local/domain entry, the domain name, the
 * agent's advertisement (protocol, versions, transport), and the escaping
 * of all of it for logs and answers.
 *
 * Input: one flag byte (bit 0-2: protocol/versions/transport present, bit
 * 3: the bridge uses socket rather than vchan), then five fields, each a
 * length byte and that many bytes: domid, name, protocol, versions,
 * transport; what remains is escaped with xvsafe_text() (proto/xvsafe.h)
 * into a buffer whose size is the first remaining byte.
 *
 * Checked: a domid parses only from its own canonical decimal form and in
 * range; a name is accepted only as 1-64 characters of [A-Za-z0-9_.-] and
 * copied exactly; an advertisement is valid only when every key is right,
 * and its reason never holds a control character; escaped text is valid
 * UTF-8 without control characters, NUL-terminated within the buffer, and
 * when not cut unescapes back to the input.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../host-bridge/guests.h"
#include "utf8.h"
#include "xvp.h"
#include "xvsafe.h"

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond))                                                                       \
			abort();                                                                   \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int take(const uint8_t **p, size_t *left, const char **field, size_t *len)
{
	size_t n;

	if (*left < 1)
		return -1;
	n = **p;
	(*p)++;
	(*left)--;
	if (n > *left)
		n = *left;
	*field = (const char *)*p;
	*len = n;
	*p += n;
	*left -= n;
	return 0;
}

/* valid UTF-8, no C0 control, no DEL, NUL-terminated within cap */
static void check_printable(const char *s, size_t cap)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t n = strnlen(s, cap), k;

	CHECK(n < cap);
	for (size_t i = 0; i < n; i += k) {
		k = 1;
		if (u[i] >= 0x80)
			CHECK((k = utf8_decode(u + i, n - i, NULL)) > 0);
		else
			CHECK(u[i] >= 0x20 && u[i] < 0x7f);
	}
}

static int hexval(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* code point CP as UTF-8 into OUT; returns its length */
static size_t put_utf8(unsigned long cp, char *out)
{
	if (cp < 0x800) {
		out[0] = (char)(0xc0 | cp >> 6);
		out[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xe0 | cp >> 12);
		out[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		out[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | cp >> 18);
	out[1] = (char)(0x80 | (cp >> 12 & 0x3f));
	out[2] = (char)(0x80 | (cp >> 6 & 0x3f));
	out[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

static void check_safe_text(const char *in, size_t len, size_t dstsize)
{
	char out[512];
	char back[512];
	size_t n, o = 0;
	int cut;

	memset(out, 0x55, sizeof out);
	n = xvsafe_text(out, dstsize, in, len, &cut);
	CHECK(n < dstsize && out[n] == '\0' && strlen(out) == n);
	check_printable(out, dstsize);
	if (cut) {
		CHECK(n >= 3 && strcmp(out + n - 3, "...") == 0);
		return; /* nothing more to compare */
	}
	for (size_t i = 0; i < n; i++) {
		if (out[i] != '\\') {
			back[o++] = out[i];
			continue;
		}
		CHECK(i + 1 < n);
		if (out[i + 1] == '\\') {
			back[o++] = '\\';
			i++;
			continue;
		}
		if (out[i + 1] == 'u') {
			unsigned long cp = 0;
			size_t j = i + 3;
			CHECK(i + 2 < n && out[i + 2] == '{');
			for (; j < n && out[j] != '}'; j++) {
				CHECK(hexval(out[j]) >= 0 && j - i - 3 < 6);
				cp = cp * 16 + (unsigned long)hexval(out[j]);
			}
			CHECK(j < n && j - i - 3 >= 4 && cp >= 0x80 && cp <= 0x10ffff);
			o += put_utf8(cp, back + o);
			i = j;
			continue;
		}
		CHECK(out[i + 1] == 'x' && i + 3 < n);
		int hi = hexval(out[i + 2]), lo = hexval(out[i + 3]);
		CHECK(hi >= 0 && lo >= 0);
		back[o++] = (char)(hi * 16 + lo);
		i += 3;
	}
	CHECK(o == len && memcmp(back, in, len) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *p = data;
	size_t left = size, len[5];
	const char *f[5];
	unsigned flags;

	if (size < 1)
		return 0;
	flags = *p++;
	left--;
	for (int i = 0; i < 5; i++)
		if (take(&p, &left, &f[i], &len[i]) < 0)
			return 0;

	/* domid */
	int d = guests_parse_domid(f[0], len[0]);
	CHECK(d >= -1 && d <= CHAN_DOMID_MAX);
	if (d >= 0) {
		char canon[16];
		int n = snprintf(canon, sizeof canon, "%d", d);
		CHECK((size_t)n == len[0] && memcmp(canon, f[0], len[0]) == 0);
	}

	/* name */
	char name[ROUTE_GUEST_MAX + 1];
	memset(name, 0x55, sizeof name);
	if (guests_parse_name(f[1], len[1], name) == 0) {
		CHECK(len[1] >= 1 && len[1] <= ROUTE_GUEST_MAX);
		CHECK(strlen(name) == len[1] && memcmp(name, f[1], len[1]) == 0);
		/* a usable name is a usable route */
		char q[ROUTE_GUEST_MAX + 3];
		struct route r;
		char err[128];
		memcpy(q, name, len[1]);
		memcpy(q + len[1], "/x", 2);
		CHECK(route_parse(q, len[1] + 2, &r, err, sizeof err) == 0);
		CHECK(strcmp(r.guest, name) == 0);
	} else {
		CHECK(name[0] == '\0');
	}

	/* advertisement */
	struct guests_raw_advert raw = {0};
	struct guest_advert a;
	enum chan_kind want = (flags & 8) ? CHAN_SOCKET : CHAN_VCHAN;
	if (flags & 1) {
		raw.protocol = f[2];
		raw.protocol_len = len[2];
	}
	if (flags & 2) {
		raw.versions = f[3];
		raw.versions_len = len[3];
	}
	if (flags & 4) {
		raw.transport = f[4];
		raw.transport_len = len[4];
	}
	memset(&a, 0x55, sizeof a);
	guests_parse_advert(&raw, want, &a);
	check_printable(a.why, sizeof a.why);
	CHECK(a.present == ((flags & 1) != 0));
	if (a.valid) {
		CHECK(a.present && (flags & 7) == 7);
		CHECK(len[2] == strlen(XVWIRE_PROTOCOL) &&
		      memcmp(f[2], XVWIRE_PROTOCOL, len[2]) == 0);
		CHECK(a.vmin >= 1 && a.vmin <= a.vmax && a.vmax <= 65535);
		CHECK(a.vmin <= XVP_PROTO_MAX && a.vmax >= XVP_PROTO_MIN);
		CHECK(a.transport == want);
		CHECK(a.why[0] == '\0');
	} else {
		CHECK(a.why[0] != '\0');
	}

	/* escaping */
	if (left >= 1) {
		size_t dstsize = 4 + (size_t)(*p % 252);
		const char *rest = (const char *)p + 1;
		size_t rlen = left - 1;
		if (rlen > 120)
			rlen = 120;
		check_safe_text(rest, rlen, dstsize);
	}
	return 0;
}
