/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * dtlayout.h - the data tree layout (docs/DATA-TREE.md) as code: turns the
 * guest's identity and NIC table into the xspub tree the agent publishes,
 * within a node budget.  Pure: no I/O (the vif id look-up is a callback).
 *
 * Any change to what this file produces is a change of DATA-TREE.md and of
 * DTLAYOUT_VERSION, by the semver rules written there.
 */
#ifndef XV_DTLAYOUT_H
#define XV_DTLAYOUT_H

#include <stddef.h>
#include <stdint.h>

#include "nic.h"
#include "osinfo.h"
#include "xspub.h"
#include "xvdatatree.h"
#include "xvwire.h"

#define DTLAYOUT_PROTOCOL XVDT_PROTOCOL
#define DTLAYOUT_VERSION "1.0.0"
#define DTLAYOUT_ROOT XVDT_ROOT
#define DTLAYOUT_AGENT_NAME "xenvchan-agent"
#define DTLAYOUT_PROBES XVWIRE_ADVERT_DIR /* the advert code's, never touched here */

/* Nodes the agent may own in xenstore, data tree and legacy keys together.
 * xenstored's default quota is 1000 nodes per guest, shared with what the
 * toolstack, the frontends and other tools keep there. */
#define DTLAYOUT_DEFAULT_MAX_NODES 300
#define DTLAYOUT_MIN_MAX_NODES 64
/* a publish must stay well inside xenstored's 1024 nodes per transaction
 * (each node read back and written counts) and the 1000-node quota */
#define DTLAYOUT_MAX_MAX_NODES 600
/* value + names of the children of one node; xenstored allows 2048 bytes
 * including its own record header and the permissions */
#define DTLAYOUT_MAX_NODE_BYTES 1536
/* legacy attr/vif/<id>/ipv4|ipv6/<n>: XAPI shows a handful per vif */
#define DTLAYOUT_LEGACY_MAX_ADDRS 16

/* buffer sizes for the key encodings */
#define DTLAYOUT_ADDR_KEY_SIZE 40   /* 8 groups of 4 hex digits + 7 '_' + NUL */
#define DTLAYOUT_IFNAME_KEY_SIZE 48 /* 15 bytes, each at most "_xx" + NUL */
#define DTLAYOUT_MAC_SIZE (NIC_MAX_HWADDR * 3)

/* What is published; both end with NULL. */
extern const struct xspub_scope dtlayout_scope;	       /* data/guest minus probes/ */
extern const struct xspub_scope dtlayout_scope_legacy; /* the same + the legacy keys */

struct dtlayout_input {
	const struct osinfo *os;
	const struct nic_table *nics;
	/* the Xen vif device id of IFNAME, or -1 if it is not a vif */
	int (*vif_id)(void *ctx, const char *ifname);
	void *vif_ctx;
	int publish_other_nics; /* NICs no vif backs, under net/other/ */
	int include_loopback;	/* lo too (under net/other/) */
	int legacy;		/* XAPI / Xen Orchestra keys as well */
	const char *agent_version;
	const char *state;   /* "running" or "stopped" */
	size_t max_nodes;    /* 0: DTLAYOUT_DEFAULT_MAX_NODES; clamped to MIN..MAX_MAX */
	const char *updated; /* legacy data/updated value */
};

struct dtlayout_result {
	size_t nics;	      /* NICs published */
	size_t nics_omitted;  /* NICs left out for the budget */
	size_t addrs;	      /* addresses published (data tree) */
	size_t addrs_omitted; /* addresses left out for the budget */
};

/* Build the tree into OUT (cleared; its scope is set to the legacy scope
 * when IN->legacy, else the plain one).  Returns 0, or -1 with errno
 * (ENOSPC: not even the fixed keys fit in max_nodes; ENOMEM). */
int dtlayout_build(struct xspub_tree *out, const struct dtlayout_input *in,
		   struct dtlayout_result *res);

/* The address key: IPv4 "192_168_1_10"; IPv6 the RFC 5952 text (lower
 * case, longest run of two or more zero groups as "::", never the dotted
 * form) with every ':' as '_', e.g. "fe80__216_3eff_fe12_3456".  Returns
 * the length. */
size_t dtlayout_addr_key(int family, const uint8_t *addr, char *buf, size_t size);
/* The interface-name key under net/other/: [A-Za-z0-9-] kept, any other
 * byte as "_xx" (lower-case hex), e.g. "eth0.100" -> "eth0_2e100". */
size_t dtlayout_ifname_key(const char *name, char *buf, size_t size);
/* "00:16:3e:12:34:56": lower-case hex, ':'-separated ("" for none). */
size_t dtlayout_mac(const uint8_t *hw, size_t len, char *buf, size_t size);
/* RFC 2863 operstate name for IF_OPER_* ("unknown" for anything else). */
const char *dtlayout_operstate(unsigned operstate);

#endif
