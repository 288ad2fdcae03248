/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * allowed.h - the NRPE listener's allowed_hosts rule (implemented in
 * listener.c), exposed for its fuzz target (tests/fuzz/fuzz_allowed.c).
 *
 * The value is a comma-separated list of numeric IPv4 or IPv6 addresses,
 * each optionally followed by /PREFIX (decimal, at most 32 or 128); blanks
 * (space, tab) around an entry are ignored.  Host names are refused: a name
 * could change under a security rule.  Host bits beyond the prefix are
 * ignored, as in a route.
 *
 * IPv4 clients are matched as IPv4, also when a dual-stack socket sees them
 * as IPv4-mapped IPv6 (::ffff:a.b.c.d).  So an entry written in that range
 * is stored as the IPv4 entry it means: ::ffff:192.0.2.1 as 192.0.2.1/32,
 * ::ffff:192.0.2.0/120 as 192.0.2.0/24 (prefix minus 96).  Such an entry
 * with a prefix below 96 is refused: it would reach beyond IPv4 into IPv6
 * space, and which of the two was meant cannot be told.  Any other IPv6
 * range, ::/0 included, matches IPv6 clients only, never IPv4 ones.
 */
#ifndef XV_ALLOWED_H
#define XV_ALLOWED_H

#include <stddef.h>
#include <stdint.h>

#define LISTENER_ACL_MAX 256	  /* entries in allowed_hosts */
#define LISTENER_ACL_ENTRY_MAX 64 /* characters of one entry */

struct listener_acl {
	int family;	  /* AF_INET or AF_INET6 (never in ::ffff:0:0/96) */
	uint8_t addr[16]; /* the first 4 bytes for AF_INET; bits beyond the prefix are 0 */
	unsigned bits;	  /* prefix length: 0..32 or 0..128 */
};

/* Parses the NUL-terminated list.  Returns 0 with *acl (an allocation to
 * free()) holding *nacl (1..LISTENER_ACL_MAX) entries, or -1 with a
 * one-line reason in err and *acl NULL, *nacl 0. */
int listener_acl_parse(const char *list, struct listener_acl **acl, size_t *nacl, char *err,
		       size_t errlen);

/* 1 if the client family/addr (AF_INET: 4 bytes, AF_INET6: 16; an
 * IPv4-mapped IPv6 client given as AF_INET) matches an entry, else 0.
 * acl NULL means no rule: every client is allowed. */
int listener_acl_allows(const struct listener_acl *acl, size_t nacl, int family,
			const uint8_t *addr);

#endif
