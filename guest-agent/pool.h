/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * pool.h - run probes with a concurrency limit and a bounded FIFO queue.
 *
 * A request submitted to a pool starts at once if fewer than max_running
 * probes run and nobody is waiting; otherwise it waits in a FIFO queue of
 * at most max_queued requests; beyond that it is refused (-EAGAIN: the
 * caller answers "agent busy").  Each accepted request ends with exactly
 * one call of its done callback: the probe's own result (see probe.h), or
 *   - cancelled (pool_cancel, pool_free) while queued or running:
 *       how PROBE_CANCELLED, UNKNOWN, PROBE_MSG_CANCELLED
 *       "XENVCHAN: Command 'NAME' cancelled"
 *   - still queued when its own spec->timeout has passed:
 *       how PROBE_TIMEDOUT, detail 0, UNKNOWN, POOL_MSG_QUEUE_TIMEOUT
 *       "XENVCHAN: Command 'NAME' timed out after N seconds waiting for a free slot"
 *     (so a request is answered within about 2 x timeout + PROBE_TERM_GRACE).
 *
 * The spec is copied in full (argv, envp, groups, name) by pool_submit: the
 * caller's spec may go away as soon as pool_submit returns.  The loop must
 * be libev's default loop (probes use ev_child).
 */
#ifndef XV_POOL_H
#define XV_POOL_H

#include <sys/queue.h>

#include <ev.h>

#include "probe.h"

#define POOL_RUNNING_MAX 1024 /* largest accepted max_running */
#define POOL_QUEUE_MAX 65536  /* largest accepted max_queued */

#define POOL_MSG_QUEUE_TIMEOUT                                                                     \
	"XENVCHAN: Command '%s' timed out after %g second%s waiting for a free slot"

/* r and its text are valid only during the call. */
typedef void pool_done_fn(const struct probe_result *r, void *arg);

struct pool_req; /* one request; private to pool.c; the handle */
TAILQ_HEAD(pool_reqs, pool_req);

/* Fields private to pool.c; use pool_stats(). */
struct pool {
	struct ev_loop *loop;
	unsigned max_running, max_queued;
	unsigned running, queued;
	struct pool_reqs run_q, wait_q;
	unsigned long long submitted, rejected;
	int closing;
};

struct pool_stats {
	unsigned running, queued;	  /* now */
	unsigned max_running, max_queued; /* the limits */
	unsigned long long submitted;	  /* accepted since pool_init */
	unsigned long long rejected;	  /* refused with -EAGAIN since pool_init */
};

/* max_running 1..POOL_RUNNING_MAX, max_queued 0..POOL_QUEUE_MAX, loop the
 * default loop.  Returns 0 or -EINVAL. */
int pool_init(struct pool *pool, struct ev_loop *loop, unsigned max_running, unsigned max_queued);

/*
 * Submits one probe.  Returns 0 (started or queued: done will be called
 * exactly once, from the loop or from pool_cancel/pool_free, never from
 * inside pool_submit), -EAGAIN (queue full: refused, done never called),
 * -EINVAL (spec fails probe_spec_check(), done NULL, pool being freed) or
 * -ENOMEM.  *handle (if handle is not NULL) identifies the request for
 * pool_cancel() until done is called.
 */
int pool_submit(struct pool *pool, const struct probe_spec *spec, pool_done_fn *done, void *arg,
		struct pool_req **handle);

/* Cancels a queued or running request (its client went away): a running
 * probe's process group is killed.  done is called, with the cancelled
 * result, before pool_cancel returns; the handle is then invalid.  Must not
 * be called after the request's done has been called. */
void pool_cancel(struct pool_req *req);

/* Changes the limits (configuration reload).  Raising max_running starts
 * waiting requests at once; lowering a limit never cancels anything:
 * running probes finish and queued requests keep their place, and the new
 * limits apply to what is submitted next.  Returns 0 or -EINVAL (ranges as
 * pool_init). */
int pool_set_limits(struct pool *pool, unsigned max_running, unsigned max_queued);
void pool_stats(const struct pool *pool, struct pool_stats *st);

/* Cancels every queued then every running request (each done is called),
 * then releases the pool.  Not to be called from a done callback. */
void pool_free(struct pool *pool);

#endif
