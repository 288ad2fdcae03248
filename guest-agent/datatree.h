/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * datatree.h - the agent's xenstore data tree (docs/DATA-TREE.md): the
 * guest's identity and NICs under ~/data/guest, kept true to the guest.
 *
 * datatree_start() publishes everything once, then follows rtnetlink link
 * and address notifications and hostname changes: a burst of events is
 * coalesced for opts.coalesce_ms, then published as one transaction that
 * writes only what changed and removes what disappeared.  Nothing runs
 * while nothing changes: no periodic timer (a retry timer exists only
 * after a failed publish).
 *
 * The agent owns the xs_handle and the ev loop.  Every xenstore call made
 * here is synchronous and short.  Everything under data/guest/ is owned by
 * this module except data/guest/probes/ (the advert code's), which it never
 * writes nor removes.
 */
#ifndef XV_DATATREE_H
#define XV_DATATREE_H

#include <stddef.h>

struct ev_loop;
struct xs_handle;
struct datatree;

/* coalescing window: events within it make one publish */
#define DATATREE_DEFAULT_COALESCE_MS 100
#define DATATREE_MAX_COALESCE_MS 500 /* keeps a change visible within 1 s */
/* back-off after a failed publish: doubles from MIN to MAX (seconds) */
#define DATATREE_RETRY_MIN_S 1.0
#define DATATREE_RETRY_MAX_S 60.0

struct datatree_opts {
	int publish_other_nics;	   /* config publish_other_nics (1): NICs no vif backs */
	int include_loopback;	   /* config publish_loopback (0): lo among them */
	int legacy;		   /* config publish_legacy (0): XAPI / XO keys too */
	const char *agent_version; /* NULL: this build's version */
	unsigned max_nodes;	   /* config publish_max_nodes (0: 300), 64..600 */
	unsigned coalesce_ms;	   /* 0: DATATREE_DEFAULT_COALESCE_MS; capped at MAX */
	const char *os_release;	   /* config os_release_file (NULL: os-release(5) paths) */
	const char *sysfs_net;	   /* config sysfs_net_dir (NULL: /sys/class/net) */
	/* told when a publish failed in xenstore (errno value), so that the
	 * owner of the connection can check it (xsconn_failed); may be NULL */
	void (*xs_failed)(int err, void *ctx);
	void *xs_failed_ctx;
};

/* The defaults above. */
void datatree_opts_default(struct datatree_opts *opts);

/* Dump links and addresses, publish the whole tree with agent/state
 * "running" (removing any stale key a previous run left), open the
 * rtnetlink socket and start watching.  OPTS is copied.  Returns NULL with
 * a message in ERR only when the NIC watch cannot be set up; a failing
 * first publish is logged and retried with back-off instead, so that a
 * xenstore hiccup does not keep the agent from serving probes. */
struct datatree *datatree_start(struct ev_loop *loop, struct xs_handle *xs,
				const struct datatree_opts *opts, char *err, size_t errlen);

/* The domain id changed (save/restore, migration): xenstore holds a new,
 * empty home for us.  Forget what was published and publish all of it
 * again now. */
void datatree_domid_changed(struct datatree *dt);

/* The xenstore connection changed: NULL while it is lost (nothing is
 * published then, and no retry runs); a new handle after a reconnection,
 * and the whole tree is published again at once, diffing against a fresh
 * read of xenstore (the old xenstored may have lost it all). */
void datatree_set_xs(struct datatree *dt, struct xs_handle *xs);

/* Re-read everything (a fresh rtnetlink dump, os-release, uname,
 * hostname) and make xenstore match it, diffing against a fresh read of
 * xenstore.  Returns 0, or -1 with errno (a retry is scheduled). */
int datatree_republish(struct datatree *dt);

/* Stop watching.  REMOVE_TREE 0: write agent/state "stopped" and leave the
 * last known data; 1: remove every key this module owns (data/guest
 * except probes/, data/guest itself if nothing is left in it, and the
 * legacy keys).  Frees DT.  Safe with DT NULL. */
void datatree_stop(struct datatree *dt, int remove_tree);

/* Counters for the agent's status output and for tests. */
struct datatree_stats {
	unsigned long publishes;     /* transactions committed */
	unsigned long failures;	     /* publishes that failed */
	unsigned long events;	     /* rtnetlink/hostname wake-ups */
	unsigned long dumps;	     /* rtnetlink dumps */
	unsigned long nics_omitted;  /* in the last build */
	unsigned long addrs_omitted; /* in the last build */
	unsigned max_nodes;	     /* the node budget in use */
};
void datatree_get_stats(const struct datatree *dt, struct datatree_stats *st);

#endif
