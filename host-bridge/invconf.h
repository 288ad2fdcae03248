/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * invconf.h - monitoring configuration from the inventory: one Nagios 4 or
 * Icinga 2 host object per guest that xenvchan-inventory finds, for the
 * templates in contrib/nagios (xen-guest).
 *
 * Input is struct inv_guest, already validated by inventory_parse(): its
 * strings are safe text (printable, no control character, backslashes
 * doubled).  That is not enough for a configuration language, and every
 * value is escaped once more, for the language it goes into:
 *
 *   Nagios 4   one "name value" per line.  A ';' starts a comment unless
 *              written "\;" (Nagios reads "\;" as ';' and leaves other
 *              backslashes alone); leading and trailing blanks are dropped
 *              by Nagios, so they are dropped here too; an empty value is
 *              left out (Nagios rejects it).
 *   Icinga 2   "double-quoted strings": '"' and '\' are escaped; '$' is
 *              written "$$", because Icinga resolves macros inside the
 *              value of a custom variable when that variable is itself used
 *              in a macro ("$host.vars.os$" in a command or a notification
 *              would otherwise expand a "$host.vars.secret$" a guest wrote).
 *
 * Object names are not escaped but checked: a guest becomes a host object
 * only when its domain name (set by dom0's toolstack, not by the guest)
 * is INVCONF_NAME_MAX bytes at most of [A-Za-z0-9._-], starting with a
 * letter or digit: valid in both languages, in a shell word and in
 * check_xenvchan -H.  Guests that cannot be written are skipped with the
 * reason: dom0, no usable data tree, an invalid or duplicate name.
 */
#ifndef XV_INVCONF_H
#define XV_INVCONF_H

#include <stddef.h>
#include <stdio.h>

#include "inventory.h"

#define INVCONF_NAME_MAX 64  /* bytes of an object name (ROUTE_GUEST_MAX) */
#define INVCONF_MAX_ADDRS 32 /* addresses per family written per guest */
#define INVCONF_DEFAULT_TEMPLATE "xen-guest"
#define INVCONF_VALUE_MAX 1024 /* bytes of one escaped value */

enum invconf_format {
	INVCONF_NAGIOS,	 /* Nagios 4 "define host" objects */
	INVCONF_ICINGA2, /* Icinga 2 "object Host" objects */
};

struct invconf_opts {
	enum invconf_format format;
	/* the host template to use/import; NULL: INVCONF_DEFAULT_TEMPLATE
	 * (Nagios: xen-guest or xen-guest-nrpe) */
	const char *template_name;
	/* the guests' dom0, or NULL.  Nagios: _DOM0 (the address check_nrpe
	 * connects to, for xen-guest-nrpe).  Icinga 2: the Endpoint name of the
	 * dom0's Icinga agent: vars.xenvchan_dom0 and command_endpoint. */
	const char *dom0;
};

struct invconf;

/* 1 if S is a valid object name (see above), else 0. */
int invconf_valid_name(const char *s);

/* Escape safe text SRC as a Nagios object value (';' -> "\;", blanks at
 * both ends dropped) or as the inside of an Icinga 2 string ('"' -> "\"",
 * '\' -> "\\", '$' -> "$$") into DST.  Returns the length written, or -1
 * (DST holding "") if it does not fit in DSTSIZE. */
int invconf_nagios_value(char *dst, size_t dstsize, const char *src);
int invconf_icinga2_string(char *dst, size_t dstsize, const char *src);

/* Starts a configuration on OUT: checks OPTS (the template and dom0 must
 * be valid names) and writes a header comment.  NULL with a reason in ERR
 * on bad options or no memory. */
struct invconf *invconf_new(FILE *out, const struct invconf_opts *opts, char *err, size_t errlen);

/* Writes the host object of G.  Returns 1 if written, 0 if skipped: the
 * reason (safe text) in WHY, and a comment in the output with the domid
 * and the kind of problem only; dom0 is skipped without a word (WHY "",
 * no comment). */
int invconf_guest(struct invconf *c, const struct inv_guest *g, char *why, size_t whylen);

/* Writes the trailer and frees C.  Returns the number of hosts written.
 * Write errors are the caller's to detect (ferror(OUT)). */
size_t invconf_finish(struct invconf *c);

#endif
