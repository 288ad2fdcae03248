/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include <ev.h>
#include <xenstore.h>

#include "log.h"

#include "datatree.h"
#include "dtlayout.h"
#include "nic.h"
#include "osinfo.h"
#include "xspub.h"

/* The kernel signals a hostname change (sethostname, in any UTS
 * namespace) as POLLPRI|POLLERR on an open /proc/sys/kernel/hostname.
 * libev watches only readability, so an epoll set holding that file stands
 * in for it: the epoll fd turns readable exactly when the hostname
 * changes, and the agent sleeps otherwise. */
#define DATATREE_HOSTNAME_PROC "/proc/sys/kernel/hostname"

#define DATATREE_STRDUP_OPT(s) ((s) != NULL ? strdup(s) : NULL)

struct datatree {
	struct ev_loop *loop;
	struct xs_handle *xs;
	struct datatree_opts opts; /* strings owned (copied) */
	char *own_version, *own_os_release, *own_sysfs_net;

	struct nic_table nics;
	struct nic_netlink nl;
	struct xspub pub;
	struct xspub_tree want; /* the tree of the last build */
	const char *state;	/* XVDT_STATE_RUNNING or _STOPPED */
	int legacy_cleanup;	/* legacy keys of an earlier run to remove */
	size_t max_nodes;	/* budget in use (shrinks on a quota refusal) */
	char updated[64];	/* legacy data/updated as last published */

	int host_fd, host_epfd;
	ev_io nl_io;
	ev_io host_io;
	ev_timer coalesce; /* armed by an event, fires once */
	ev_timer retry;	   /* armed by a failed publish, fires once */
	double retry_delay;

	struct datatree_stats stats;
};

#define DATATREE_OF(w, member) ((struct datatree *)((char *)(w)-offsetof(struct datatree, member)))

void datatree_opts_default(struct datatree_opts *opts)
{
	memset(opts, 0, sizeof *opts);
	opts->publish_other_nics = 1;
	opts->include_loopback = 0;
	opts->legacy = 0;
	opts->max_nodes = DTLAYOUT_DEFAULT_MAX_NODES;
	opts->coalesce_ms = DATATREE_DEFAULT_COALESCE_MS;
}

static int datatree_vif_id(void *ctx, const char *ifname)
{
	const struct datatree *dt = ctx;
	return nic_vif_id(dt->opts.sysfs_net, ifname);
}

/* data/updated changes whenever a legacy key does, as xe-guest-utilities
 * does it: XAPI re-reads the guest metrics when it changes */
static int datatree_legacy_changed(const struct xspub_tree *a, const struct xspub_tree *b)
{
	size_t i = 0, j = 0;
	for (;;) {
		while (i < a->n &&
		       (strncmp(a->nodes[i].path, DTLAYOUT_ROOT "/", sizeof DTLAYOUT_ROOT) == 0 ||
			strcmp(a->nodes[i].path, "data/updated") == 0))
			i++;
		while (j < b->n &&
		       (strncmp(b->nodes[j].path, DTLAYOUT_ROOT "/", sizeof DTLAYOUT_ROOT) == 0 ||
			strcmp(b->nodes[j].path, "data/updated") == 0))
			j++;
		if (i == a->n || j == b->n)
			return i != a->n || j != b->n;
		if (strcmp(a->nodes[i].path, b->nodes[j].path) != 0 ||
		    strcmp(a->nodes[i].value ? a->nodes[i].value : "",
			   b->nodes[j].value ? b->nodes[j].value : "") != 0)
			return 1;
		i++;
		j++;
	}
}

/* Build the tree for the current state into DT->want. */
static int datatree_build(struct datatree *dt, struct dtlayout_result *res)
{
	struct osinfo os;
	struct xspub_tree prev;
	struct dtlayout_input in;
	int rc;

	if (osinfo_collect(&os, dt->opts.os_release) < 0)
		log_warn("datatree: uname");
	memset(&in, 0, sizeof in);
	in.os = &os;
	in.nics = &dt->nics;
	in.vif_id = datatree_vif_id;
	in.vif_ctx = dt;
	in.publish_other_nics = dt->opts.publish_other_nics;
	in.include_loopback = dt->opts.include_loopback;
	in.legacy = dt->opts.legacy;
	in.agent_version = dt->opts.agent_version;
	in.state = dt->state;
	in.max_nodes = dt->max_nodes;
	in.updated = dt->updated;

	xspub_tree_init(&prev, NULL);
	if (dt->opts.legacy && xspub_tree_copy(&prev, &dt->want) < 0)
		return -1;
	rc = dtlayout_build(&dt->want, &in, res);
	if (rc == 0 && dt->opts.legacy &&
	    (dt->updated[0] == '\0' || datatree_legacy_changed(&prev, &dt->want))) {
		time_t now = time(NULL);
		struct tm tm;
		/* the format xe-guest-utilities writes */
		if (localtime_r(&now, &tm) != NULL &&
		    strftime(dt->updated, sizeof dt->updated, "%a %b %e %H:%M:%S %Y", &tm) > 0)
			rc = xspub_tree_set(&dt->want, "data/updated", dt->updated, NULL);
	}
	xspub_tree_free(&prev);
	/* an earlier run published legacy keys that this one must not keep */
	if (rc == 0 && dt->legacy_cleanup)
		dt->want.scope = &dtlayout_scope_legacy;
	return rc;
}

static void datatree_schedule_retry(struct datatree *dt)
{
	if (ev_is_active(&dt->retry))
		return;
	ev_timer_set(&dt->retry, dt->retry_delay, 0.);
	ev_timer_start(dt->loop, &dt->retry);
	dt->retry_delay *= 2;
	if (dt->retry_delay > DATATREE_RETRY_MAX_S)
		dt->retry_delay = DATATREE_RETRY_MAX_S;
}

/* Publish the current state now.  Returns 0 or -1 (errno; retry armed). */
static int datatree_publish(struct datatree *dt)
{
	struct dtlayout_result res;
	struct xspub_stats st;
	int saved;

	if (ev_is_active(&dt->coalesce))
		ev_timer_stop(dt->loop, &dt->coalesce);
	if (dt->xs == NULL) {
		/* published again by datatree_set_xs() */
		errno = ENOTCONN;
		return -1;
	}
	if (dt->nics.need_dump) {
		dt->stats.dumps++;
		if (nic_dump(&dt->nics) < 0) {
			saved = errno;
			log_warn("datatree: rtnetlink dump");
			goto fail;
		}
	}
	for (;;) {
		if (datatree_build(dt, &res) < 0) {
			saved = errno;
			log_warn("datatree: building the tree");
			goto fail;
		}
		if (xspub_publish(&dt->pub, &dt->want, &st) == 0)
			break;
		saved = errno;
		/* xenstored refused a quota: the guest's other nodes leave us
		 * less than our budget; halve it and try again */
		if ((saved == ENOSPC || saved == E2BIG || saved == EDQUOT) &&
		    dt->max_nodes > DTLAYOUT_MIN_MAX_NODES) {
			dt->max_nodes /= 2;
			if (dt->max_nodes < DTLAYOUT_MIN_MAX_NODES)
				dt->max_nodes = DTLAYOUT_MIN_MAX_NODES;
			log_warnx("datatree: xenstore quota reached: publishing at most %zu nodes",
				  dt->max_nodes);
			xspub_invalidate(&dt->pub);
			continue;
		}
		errno = saved;
		log_warn("datatree: publishing to xenstore");
		if (dt->opts.xs_failed)
			dt->opts.xs_failed(saved, dt->opts.xs_failed_ctx);
		goto fail;
	}
	if (st.attempts > 0) {
		dt->stats.publishes++;
		log_debug("datatree: published %u writes, %u removals in %u attempt(s)%s",
			  st.writes, st.removes, st.attempts, st.readback ? " (read back)" : "");
	}
	if ((res.nics_omitted || res.addrs_omitted) &&
	    (res.nics_omitted != dt->stats.nics_omitted ||
	     res.addrs_omitted != dt->stats.addrs_omitted))
		log_warnx("datatree: over the node budget (%zu): %zu NIC(s) and %zu address(es) "
			  "left out",
			  dt->max_nodes, res.nics_omitted, res.addrs_omitted);
	dt->stats.nics_omitted = res.nics_omitted;
	dt->stats.addrs_omitted = res.addrs_omitted;
	if (dt->legacy_cleanup) {
		dt->legacy_cleanup = 0;
		dt->want.scope = dt->opts.legacy ? &dtlayout_scope_legacy : &dtlayout_scope;
	}
	dt->retry_delay = DATATREE_RETRY_MIN_S;
	if (ev_is_active(&dt->retry))
		ev_timer_stop(dt->loop, &dt->retry);
	return 0;
fail:
	dt->stats.failures++;
	xspub_invalidate(&dt->pub);
	datatree_schedule_retry(dt);
	errno = saved;
	return -1;
}

static void datatree_kick(struct datatree *dt)
{
	dt->stats.events++;
	if (!ev_is_active(&dt->coalesce)) {
		ev_timer_set(&dt->coalesce, dt->opts.coalesce_ms / 1000., 0.);
		ev_timer_start(dt->loop, &dt->coalesce);
	}
}

static void datatree_nl_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct datatree *dt = DATATREE_OF(w, nl_io);
	int n = nic_netlink_drain(&dt->nl, &dt->nics);

	if (n < 0) {
		log_warn("datatree: rtnetlink");
		dt->nics.need_dump = 1;
		n = 1;
	}
	if (n > 0)
		datatree_kick(dt);
}

static void datatree_host_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct datatree *dt = DATATREE_OF(w, host_io);
	struct epoll_event ev;

	/* consume the notification; proc re-arms it per open file */
	(void)epoll_wait(dt->host_epfd, &ev, 1, 0);
	datatree_kick(dt);
}

static void datatree_coalesce_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	datatree_publish(DATATREE_OF(w, coalesce));
}

static void datatree_retry_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct datatree *dt = DATATREE_OF(w, retry);
	xspub_invalidate(&dt->pub);
	datatree_publish(dt);
}

static void datatree_host_watch(struct datatree *dt)
{
	struct epoll_event ev = {.events = EPOLLPRI};

	dt->host_fd = open(DATATREE_HOSTNAME_PROC, O_RDONLY | O_CLOEXEC);
	if (dt->host_fd < 0) {
		log_debug("datatree: %s: %s: hostname changes show at the next publish",
			  DATATREE_HOSTNAME_PROC, strerror(errno));
		return;
	}
	dt->host_epfd = epoll_create1(EPOLL_CLOEXEC);
	if (dt->host_epfd < 0 || epoll_ctl(dt->host_epfd, EPOLL_CTL_ADD, dt->host_fd, &ev) < 0) {
		log_debug("datatree: hostname watch: %s", strerror(errno));
		if (dt->host_epfd >= 0)
			close(dt->host_epfd);
		close(dt->host_fd);
		dt->host_fd = dt->host_epfd = -1;
		return;
	}
	ev_io_init(&dt->host_io, datatree_host_cb, dt->host_epfd, EV_READ);
	ev_io_start(dt->loop, &dt->host_io);
}

static void datatree_free(struct datatree *dt)
{
	if (ev_is_active(&dt->nl_io))
		ev_io_stop(dt->loop, &dt->nl_io);
	if (dt->host_epfd >= 0 && ev_is_active(&dt->host_io))
		ev_io_stop(dt->loop, &dt->host_io);
	if (ev_is_active(&dt->coalesce))
		ev_timer_stop(dt->loop, &dt->coalesce);
	if (ev_is_active(&dt->retry))
		ev_timer_stop(dt->loop, &dt->retry);
	if (dt->host_epfd >= 0)
		close(dt->host_epfd);
	if (dt->host_fd >= 0)
		close(dt->host_fd);
	nic_netlink_close(&dt->nl);
	nic_table_free(&dt->nics);
	xspub_tree_free(&dt->want);
	xspub_free(&dt->pub);
	free(dt->own_version);
	free(dt->own_os_release);
	free(dt->own_sysfs_net);
	free(dt);
}

struct datatree *datatree_start(struct ev_loop *loop, struct xs_handle *xs,
				const struct datatree_opts *opts, char *err, size_t errlen)
{
	struct datatree *dt = calloc(1, sizeof *dt);

	if (dt == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	dt->loop = loop;
	dt->xs = xs;
	dt->host_fd = dt->host_epfd = -1;
	dt->opts = *opts;
	dt->own_version = strdup(opts->agent_version ? opts->agent_version : XV_VERSION);
	dt->own_os_release = DATATREE_STRDUP_OPT(opts->os_release);
	dt->own_sysfs_net = DATATREE_STRDUP_OPT(opts->sysfs_net);
	if (dt->own_version == NULL || (opts->os_release && !dt->own_os_release) ||
	    (opts->sysfs_net && !dt->own_sysfs_net)) {
		snprintf(err, errlen, "out of memory");
		datatree_free(dt);
		return NULL;
	}
	dt->opts.agent_version = dt->own_version;
	dt->opts.os_release = dt->own_os_release;
	dt->opts.sysfs_net = dt->own_sysfs_net;
	if (dt->opts.coalesce_ms == 0)
		dt->opts.coalesce_ms = DATATREE_DEFAULT_COALESCE_MS;
	if (dt->opts.coalesce_ms > DATATREE_MAX_COALESCE_MS)
		dt->opts.coalesce_ms = DATATREE_MAX_COALESCE_MS;
	dt->max_nodes = dt->opts.max_nodes ? dt->opts.max_nodes : DTLAYOUT_DEFAULT_MAX_NODES;
	if (dt->max_nodes < DTLAYOUT_MIN_MAX_NODES)
		dt->max_nodes = DTLAYOUT_MIN_MAX_NODES;
	if (dt->max_nodes > DTLAYOUT_MAX_MAX_NODES)
		dt->max_nodes = DTLAYOUT_MAX_MAX_NODES;
	dt->state = XVDT_STATE_RUNNING;
	dt->retry_delay = DATATREE_RETRY_MIN_S;
	nic_table_init(&dt->nics);
	xspub_init(&dt->pub, xs);
	xspub_tree_init(&dt->want, &dtlayout_scope);
	ev_init(&dt->coalesce, datatree_coalesce_cb);
	ev_init(&dt->retry, datatree_retry_cb);

	/* subscribe before the dump, so that no change falls between them */
	if (nic_netlink_open(&dt->nl) < 0) {
		snprintf(err, errlen, "rtnetlink socket: %s", strerror(errno));
		datatree_free(dt);
		return NULL;
	}
	dt->stats.dumps++;
	if (nic_dump(&dt->nics) < 0) {
		snprintf(err, errlen, "rtnetlink dump: %s", strerror(errno));
		datatree_free(dt);
		return NULL;
	}
	ev_io_init(&dt->nl_io, datatree_nl_cb, nic_netlink_fd(&dt->nl), EV_READ);
	ev_io_start(loop, &dt->nl_io);
	datatree_host_watch(dt);

	if (!dt->opts.legacy && xs != NULL) {
		char *v = xs_read(xs, XBT_NULL, DTLAYOUT_ROOT "/" XVDT_KEY_AGENT_LEGACY, NULL);
		dt->legacy_cleanup = v != NULL && strcmp(v, "on") == 0;
		free(v);
	}
	if (datatree_publish(dt) == 0)
		log_info("datatree: published under ~/" DTLAYOUT_ROOT);
	return dt;
}

void datatree_set_xs(struct datatree *dt, struct xs_handle *xs)
{
	dt->xs = xs;
	dt->pub.xs = xs;
	xspub_invalidate(&dt->pub);
	if (xs == NULL) {
		if (ev_is_active(&dt->retry))
			ev_timer_stop(dt->loop, &dt->retry);
		dt->retry_delay = DATATREE_RETRY_MIN_S;
		return;
	}
	if (datatree_republish(dt) == 0)
		log_info("datatree: published again under ~/" DTLAYOUT_ROOT);
}

void datatree_domid_changed(struct datatree *dt)
{
	xspub_invalidate(&dt->pub);
	(void)datatree_publish(dt);
}

int datatree_republish(struct datatree *dt)
{
	dt->nics.need_dump = 1;
	xspub_invalidate(&dt->pub);
	return datatree_publish(dt);
}

/* data/guest itself goes only if nothing (the advert's probes/) is left */
static void datatree_rm_root_if_empty(struct datatree *dt)
{
	for (int attempt = 0; attempt < XSPUB_MAX_ATTEMPTS; attempt++) {
		unsigned num = 0;
		xs_transaction_t th = xs_transaction_start(dt->xs);
		if (th == XBT_NULL)
			return;
		char **c = xs_directory(dt->xs, th, DTLAYOUT_ROOT, &num);
		if (c == NULL || num > 0) {
			free(c);
			xs_transaction_end(dt->xs, th, true);
			return;
		}
		free(c);
		if (!xs_rm(dt->xs, th, DTLAYOUT_ROOT) && errno != ENOENT) {
			xs_transaction_end(dt->xs, th, true);
			return;
		}
		if (xs_transaction_end(dt->xs, th, false) || errno != EAGAIN)
			return;
	}
}

void datatree_stop(struct datatree *dt, int remove_tree)
{
	if (dt == NULL)
		return;
	if (ev_is_active(&dt->coalesce))
		ev_timer_stop(dt->loop, &dt->coalesce);
	if (ev_is_active(&dt->retry))
		ev_timer_stop(dt->loop, &dt->retry);
	if (dt->xs == NULL) {
		/* the connection is lost: nothing can be written */
	} else if (remove_tree) {
		struct xspub_tree empty;
		int legacy = dt->opts.legacy || dt->legacy_cleanup;
		xspub_tree_init(&empty, legacy ? &dtlayout_scope_legacy : &dtlayout_scope);
		if (xspub_publish(&dt->pub, &empty, NULL) < 0)
			log_warn("datatree: removing the data tree");
		else
			datatree_rm_root_if_empty(dt);
		xspub_tree_free(&empty);
	} else {
		struct dtlayout_result res;
		dt->state = XVDT_STATE_STOPPED;
		if (datatree_build(dt, &res) < 0 || xspub_publish(&dt->pub, &dt->want, NULL) < 0)
			log_warn("datatree: writing agent/state");
	}
	datatree_free(dt);
}

void datatree_get_stats(const struct datatree *dt, struct datatree_stats *st)
{
	*st = dt->stats;
	st->max_nodes = (unsigned)dt->max_nodes;
}
