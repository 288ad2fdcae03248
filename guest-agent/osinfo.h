/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * osinfo.h - the guest's identity for the data tree: os-release(5), uname(2)
 * and the hostname.
 *
 * Every string in struct osinfo is NUL-terminated, at most OSINFO_MAX_VALUE
 * bytes, valid UTF-8 and free of control characters (a byte that is not is
 * replaced by '?'), so it can go into xenstore and into a terminal as is.
 * An empty string means "not known" and is not published.
 */
#ifndef XV_OSINFO_H
#define XV_OSINFO_H

#include <stddef.h>

/* bytes kept of one value (longer values are cut at a UTF-8 boundary) */
#define OSINFO_MAX_VALUE 255
/* bytes of os-release read; the real files are well under 1 KiB */
#define OSINFO_MAX_FILE 16384
/* os-release lines longer than this are skipped as malformed */
#define OSINFO_MAX_LINE 1024

/* os-release(5): /etc/os-release, falling back to /usr/lib/os-release */
#define OSINFO_OS_RELEASE "/etc/os-release"
#define OSINFO_OS_RELEASE_FALLBACK "/usr/lib/os-release"

struct osinfo {
	/* os-release */
	char id[OSINFO_MAX_VALUE + 1];		/* ID, e.g. "debian" */
	char name[OSINFO_MAX_VALUE + 1];	/* NAME, e.g. "Debian GNU/Linux" */
	char version[OSINFO_MAX_VALUE + 1];	/* VERSION, e.g. "12 (bookworm)" */
	char version_id[OSINFO_MAX_VALUE + 1];	/* VERSION_ID, e.g. "12" */
	char pretty_name[OSINFO_MAX_VALUE + 1]; /* PRETTY_NAME */
	/* uname(2) */
	char kernel_name[OSINFO_MAX_VALUE + 1];	   /* sysname, "Linux" */
	char kernel_release[OSINFO_MAX_VALUE + 1]; /* release, "6.1.0-18-amd64" */
	char kernel_version[OSINFO_MAX_VALUE + 1]; /* version, "#1 SMP ..." */
	char machine[OSINFO_MAX_VALUE + 1];	   /* machine, "x86_64" */
	char hostname[OSINFO_MAX_VALUE + 1];	   /* gethostname(2) */
};

/* Parse os-release text (BUF, LEN bytes, need not be NUL-terminated) into
 * the os-release fields of OI, which the caller has zeroed or filled
 * before: a key that is absent leaves its field alone.  Shell-style
 * quoting as os-release(5) allows: 'single', "double" with \" \\ \$ \`
 * escapes, or unquoted with backslash escapes.  Malformed lines, unknown
 * keys and lines over OSINFO_MAX_LINE are ignored.  Returns the number of
 * recognised keys that were set (0 .. 5).  Never fails. */
int osinfo_parse_os_release(struct osinfo *oi, const char *buf, size_t len);

/* Fill every field of OI: os-release from PATH (NULL: the standard two
 * paths, in order), uname(2), gethostname(2).  When no os-release file can
 * be read, the os-release(5) defaults apply (ID "linux", NAME and
 * PRETTY_NAME "Linux").  Returns 0; -1 only if uname() fails (errno set),
 * and OI is still filled as far as possible. */
int osinfo_collect(struct osinfo *oi, const char *path);

/* Copy at most DSTSIZE-1 bytes of SRC (SRCLEN bytes) into DST as valid
 * UTF-8 without control characters: every byte of an invalid sequence and
 * every C0/C1 control or DEL becomes '?', and the copy is cut at a
 * character boundary.  Always NUL-terminates (DSTSIZE >= 1).  Returns the
 * length written. */
size_t osinfo_sanitize(char *dst, size_t dstsize, const char *src, size_t srclen);

#endif
