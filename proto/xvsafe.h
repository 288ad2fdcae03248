/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * xvsafe.h - the one way untrusted text (a guest's or a client's bytes) is
 * made safe before it reaches a log line, an answer or the inventory.
 *
 * The rule, the same everywhere:
 *  - printable ASCII (0x20-0x7e) as it is, except '\' which becomes "\\";
 *  - valid UTF-8 (shortest form, no surrogates, <= U+10FFFF) as it is,
 *    except characters that act on a terminal or deceive a reader: C1
 *    controls, invisible and bidirectional formatting, line and paragraph
 *    separators, variation selectors, the BOM, tags and noncharacters;
 *    those become "\u{XXXX}" (upper-case hex, at least four digits);
 *  - every other byte (C0 controls, DEL, bytes of invalid UTF-8) becomes
 *    "\xNN" (upper-case hex);
 *  - when the escaped text does not fit, it is cut at a whole character or
 *    escape and "..." is appended.
 * So the output is always valid UTF-8 with no control character, and the
 * original bytes can be read back from it.  A second, language-specific
 * layer (host-bridge/invconf.c for Nagios/Icinga objects) may follow.
 */
#ifndef XV_XVSAFE_H
#define XV_XVSAFE_H

#include <stddef.h>

/* The smallest DSTSIZE that can hold "..." and the NUL. */
#define XVSAFE_MIN_DST 4

/* Writes UNTRUSTED (LEN bytes, NUL bytes included) into DST (DSTSIZE >=
 * XVSAFE_MIN_DST) by the rule above; DST is always NUL-terminated.  Sets
 * *CUT (if CUT is not NULL) to 1 if the text was cut, else 0.  Returns
 * strlen(DST). */
size_t xvsafe_text(char *dst, size_t dstsize, const void *untrusted, size_t len, int *cut);

#endif
