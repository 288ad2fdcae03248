/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * xvsafe.c - untrusted text made safe, by the one rule in xvsafe.h.
 */
#include <stdio.h>
#include <string.h>

#include "utf8.h"
#include "xvsafe.h"

/* Characters that are valid but must not reach a terminal or a reader's
 * eyes unescaped: C1 controls (some terminals act on them), invisible
 * and bidirectional formatting (they make one name look like another, or
 * reorder the line: "Trojan Source"), separators that break lines, tags
 * and noncharacters. */
static int xvsafe_suspicious(unsigned long cp)
{
	return (cp >= 0x80 && cp <= 0x9f) || cp == 0xad || cp == 0x34f || cp == 0x61c ||
	       cp == 0x115f || cp == 0x1160 || cp == 0x180e || (cp >= 0x200b && cp <= 0x200f) ||
	       (cp >= 0x2028 && cp <= 0x202e) || (cp >= 0x2060 && cp <= 0x206f) || cp == 0x3164 ||
	       (cp >= 0xfe00 && cp <= 0xfe0f) || cp == 0xfeff || (cp >= 0xfff0 && cp <= 0xfffb) ||
	       (cp & 0xfffe) == 0xfffe || (cp >= 0xfdd0 && cp <= 0xfdef) ||
	       (cp >= 0xe0000 && cp <= 0xe0fff);
}

/* The escaped form of the character at S: sets *PIECE (pointing into S or
 * into ESC) and returns its length; *N is the number of source bytes. */
static size_t xvsafe_piece(const unsigned char *s, size_t avail, char esc[16], const char **piece,
			   size_t *n)
{
	unsigned long cp = 0;

	*n = 1;
	if (s[0] >= 0x20 && s[0] < 0x7f && s[0] != '\\') {
		*piece = (const char *)s;
		return 1;
	}
	if (s[0] == '\\') {
		*piece = "\\\\";
		return 2;
	}
	if (s[0] >= 0x80 && (*n = utf8_decode(s, avail, &cp)) > 0) {
		if (!xvsafe_suspicious(cp)) {
			*piece = (const char *)s;
			return *n;
		}
		*piece = esc;
		return (size_t)snprintf(esc, 16, "\\u{%04lX}", cp);
	}
	*n = 1;
	*piece = esc;
	return (size_t)snprintf(esc, 16, "\\x%02X", s[0]);
}

size_t xvsafe_text(char *dst, size_t dstsize, const void *untrusted, size_t len, int *cut)
{
	static const char dots[] = "...";
	const unsigned char *s = untrusted;
	size_t total = 0, o = 0, limit;
	char esc[16];
	const char *piece;
	size_t plen, n;

	if (cut != NULL)
		*cut = 0;
	if (dstsize < sizeof dots) { /* a broken contract: write what fits */
		if (dstsize > 0)
			dst[0] = '\0';
		return 0;
	}
	for (size_t i = 0; i < len; i += n)
		total += xvsafe_piece(s + i, len - i, esc, &piece, &n);
	/* all of it, or as much as leaves room for "..." and the NUL */
	limit = total < dstsize ? dstsize - 1 : dstsize - sizeof dots;
	for (size_t i = 0; i < len; i += n) {
		plen = xvsafe_piece(s + i, len - i, esc, &piece, &n);
		if (plen > limit - o)
			break;
		memcpy(dst + o, piece, plen);
		o += plen;
	}
	if (total >= dstsize) {
		memcpy(dst + o, dots, sizeof dots);
		if (cut != NULL)
			*cut = 1;
		return o + sizeof dots - 1;
	}
	dst[o] = '\0';
	return o;
}
