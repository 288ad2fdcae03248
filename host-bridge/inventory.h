/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * inventory.h - dom0's reader of the guests' data trees (docs/DATA-TREE.md)
 * for xenvchan-inventory.
 *
 * Everything under /local/domain/<domid>/data/guest is written by the guest
 * and is hostile until proven otherwise.  It enters through one door,
 * inventory_parse(), which reads the untrusted values through a struct
 * inv_source (xenstore, or memory in tests and the fuzzer), bounds them,
 * checks each against its type in the spec and escapes every string into
 * safe text.  What comes out in struct inv_guest is trusted: numbers are
 * numbers, enumerations are known words, strings are valid UTF-8 with no
 * control, escape or bidirectional-override character in them and at most
 * INV_MAX_TEXT bytes; and the printers only print it.
 *
 * The reader implements layout major version INV_MAJOR and accepts any
 * minor and patch of it (unknown keys are ignored, as the semver rules of
 * DATA-TREE.md require).
 */
#ifndef XV_INVENTORY_H
#define XV_INVENTORY_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "xvdatatree.h"

#define INV_PROTOCOL XVDT_PROTOCOL
#define INV_MAJOR XVDT_MAJOR

#define INV_MAX_VALUE 512   /* bytes of an untrusted value looked at */
#define INV_MAX_TEXT 128    /* bytes of safe text kept (escapes included) */
#define INV_MAX_WORD 33	    /* an enumeration word: [a-z][a-z0-9-]{0,31} */
#define INV_MAX_NICS 64	    /* NICs read per guest */
#define INV_MAX_ADDRS 64    /* addresses read per NIC and family */
#define INV_MAX_LIST 1024   /* directory entries looked at per directory */
#define INV_MAX_READS 4096  /* xenstore reads per guest */
#define INV_MAX_WARNINGS 16 /* problems kept per guest (the rest counted) */
#define INV_MAX_GUESTS 4096 /* domains listed */

enum inv_status {
	INV_OK = 0,
	INV_NO_TREE,	  /* no data tree (no agent, or not started yet) */
	INV_FOREIGN,	  /* data/guest holds something else */
	INV_INCOMPATIBLE, /* a layout major version this reader does not know */
	INV_INVALID,	  /* protocol or version malformed */
	INV_UNREADABLE,	  /* xenstore refused or failed */
};

/* "ok", "no-tree", "foreign", "incompatible", "invalid", "unreadable" */
const char *inventory_status_name(enum inv_status st);

struct inv_addr {
	int family; /* AF_INET, AF_INET6 */
	uint8_t addr[16];
	unsigned prefix;
	char text[48]; /* inet_ntop */
};

struct inv_nic {
	int vif_id;		/* >= 0 for net/vif/<id>, -1 for net/other/<key> */
	char key[INV_MAX_TEXT]; /* the key under vif/ or other/ */
	char name[INV_MAX_TEXT];
	char mac[INV_MAX_TEXT];		    /* "" if absent or invalid */
	long mtu;			    /* -1 if absent or invalid */
	const char *link, *admin, *carrier; /* "up", "down" or NULL (absent/invalid) */
	/* an open enumeration (RFC 2863 today): any well-formed word is kept,
	 * a future one included; "" if absent or malformed */
	char operstate[INV_MAX_WORD];
	struct inv_addr *addrs[2]; /* [0] IPv4, [1] IPv6; at most INV_MAX_ADDRS each */
	size_t naddrs[2];
	unsigned long omitted[2]; /* the guest says it left these out */
	unsigned long dropped[2]; /* we did not read these (over INV_MAX_ADDRS) */
};

struct inv_guest {
	int domid;
	char name[INV_MAX_TEXT]; /* the domain's name (toolstack), "" if none */
	enum inv_status status;
	char reason[256]; /* why, when status != INV_OK (safe text) */

	char version[INV_MAX_TEXT]; /* layout version, e.g. "1.0.0" */
	unsigned vmajor, vminor, vpatch;

	char agent_name[INV_MAX_TEXT], agent_version[INV_MAX_TEXT];
	const char *agent_state; /* "running", "stopped" or NULL */

	char os_class[INV_MAX_TEXT], os_id[INV_MAX_TEXT], os_name[INV_MAX_TEXT];
	char os_version[INV_MAX_TEXT], os_version_id[INV_MAX_TEXT];
	char os_pretty_name[INV_MAX_TEXT], hostname[INV_MAX_TEXT];
	char kernel_name[INV_MAX_TEXT], kernel_release[INV_MAX_TEXT];
	char kernel_version[INV_MAX_TEXT], machine[INV_MAX_TEXT];

	struct inv_nic *nics; /* vifs by id, then the others by key */
	size_t nnics;
	unsigned long nics_omitted; /* the guest says it left these out */
	unsigned long nics_dropped; /* we did not read these */

	char warnings[INV_MAX_WARNINGS][160]; /* "path: problem" (safe text) */
	size_t nwarnings;
	unsigned long warnings_dropped;
};

/* Where untrusted values come from.  Paths are relative to the guest's
 * data tree root.  read: the value (malloc'd, NUL-terminated, *len set) or
 * NULL with errno (ENOENT: absent).  list: the child names (one malloc'd
 * block, as xs_directory returns) or NULL with errno. */
struct inv_source {
	char *(*read)(void *ctx, const char *path, unsigned *len);
	char **(*list)(void *ctx, const char *path, unsigned *num);
	void *ctx;
};

/* Validate the tree SRC offers into G (domid and name are left as the
 * caller set them; everything else is filled).  Never fails: problems
 * become G->status/G->reason or warnings.  Free with inventory_guest_free. */
void inventory_parse(struct inv_guest *g, const struct inv_source *src);
void inventory_guest_free(struct inv_guest *g);

struct xs_handle;
struct json_object;

/* Domids under /local/domain (malloc'd, sorted, at most INV_MAX_GUESTS);
 * 0, or -1 with errno. */
int inventory_domids(struct xs_handle *xs, int **domids, size_t *n);
/* Fill G for DOMID (G is initialised here): the domain's name and its
 * validated tree, read in one transaction (retried on conflict) so that it
 * is one consistent picture.  Free with inventory_guest_free. */
void inventory_read_guest(struct xs_handle *xs, int domid, struct inv_guest *g);

/* The table, for people: a header, then per guest one line and one line
 * per NIC (a guest that could not be shown gets its one line with the
 * reason). */
void inventory_print_table_header(FILE *out);
void inventory_print_table_guest(FILE *out, const struct inv_guest *g);
/* The JSON object of one guest (json-c; docs/DATA-TREE.md describes it);
 * NULL if out of memory. */
struct json_object *inventory_json_guest(const struct inv_guest *g);

#endif
