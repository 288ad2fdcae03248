/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * utf8.h - strict UTF-8 decoding for text that came from someone else
 * (a guest's os-release, a guest's xenstore values).
 */
#ifndef XV_UTF8_H
#define XV_UTF8_H

#include <stddef.h>

/* Decodes the character at s (avail bytes available, avail >= 1).  Accepts
 * only shortest-form encodings of scalar values: no overlongs, no UTF-16
 * surrogates, nothing above U+10FFFF, and never ASCII (a byte < 0x80 is
 * the caller's business).  Returns the sequence's length (2..4) and sets
 * *cp (if cp is not NULL), or 0 if s does not start such a sequence. */
size_t utf8_decode(const unsigned char *s, size_t avail, unsigned long *cp);

#endif
