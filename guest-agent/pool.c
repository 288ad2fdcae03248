/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * pool.c - concurrency limit and bounded FIFO queue for probes.  Contracts
 * in pool.h.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ev.h>

#include "log.h"
#include "pool.h"

#define pool_req_of(ptr, member)                                                                   \
	((struct pool_req *)(void *)((char *)(ptr)-offsetof(struct pool_req, member)))

/*
 * One request, in one allocation: this struct, then the argv and envp
 * pointer arrays, the groups, and the strings they point to.
 */
struct pool_req {
	TAILQ_ENTRY(pool_req) link;
	struct pool *pool;
	struct probe probe;
	ev_timer wait_w; /* queue timeout */
	struct probe_spec spec;
	pool_done_fn *done;
	void *arg;
	int running;
	double submitted;
};

int pool_init(struct pool *pool, struct ev_loop *loop, unsigned max_running, unsigned max_queued)
{
	if (pool == NULL || loop == NULL || !ev_is_default_loop(loop) || max_running == 0 ||
	    max_running > POOL_RUNNING_MAX || max_queued > POOL_QUEUE_MAX)
		return -EINVAL;
	memset(pool, 0, sizeof *pool);
	pool->loop = loop;
	pool->max_running = max_running;
	pool->max_queued = max_queued;
	TAILQ_INIT(&pool->run_q);
	TAILQ_INIT(&pool->wait_q);
	return 0;
}

/* *total += n; returns -1 on overflow. */
static int pool_size_add(size_t *total, size_t n)
{
	if (n > SIZE_MAX - *total)
		return -1;
	*total += n;
	return 0;
}

/* Counts a NULL-terminated string array: entries and bytes of text. */
static int pool_strv_size(char *const *v, size_t *count, size_t *bytes)
{
	for (*count = 0; v[*count]; (*count)++)
		if (pool_size_add(bytes, strlen(v[*count]) + 1) == -1)
			return -1;
	return 0;
}

static char **pool_strv_copy(char **dst, char *const *v, size_t count, char **text)
{
	for (size_t i = 0; i < count; i++) {
		dst[i] = *text;
		*text = stpcpy(*text, v[i]) + 1;
	}
	dst[count] = NULL;
	return dst;
}

/* A deep copy of spec inside a new request, or NULL (errno ENOMEM). */
static struct pool_req *pool_req_new(const struct probe_spec *spec)
{
	const char *name = spec->name ? spec->name : spec->argv[0];
	size_t nargv, nenv, ngroups = spec->change_identity ? spec->ngroups : 0;
	size_t text = strlen(name) + 1, size = sizeof(struct pool_req);
	struct pool_req *req;
	char **argv, **envp, *t;
	gid_t *groups;

	if (pool_strv_size(spec->argv, &nargv, &text) == -1 ||
	    pool_strv_size(spec->envp, &nenv, &text) == -1 ||
	    pool_size_add(&size, (nargv + 1) * sizeof(char *)) == -1 ||
	    pool_size_add(&size, (nenv + 1) * sizeof(char *)) == -1 ||
	    pool_size_add(&size, ngroups * sizeof(gid_t)) == -1 ||
	    pool_size_add(&size, text) == -1) {
		errno = ENOMEM;
		return NULL;
	}
	req = calloc(1, size);
	if (req == NULL)
		return NULL;
	/* struct pool_req is pointer-aligned, so are the arrays after it. */
	argv = (char **)(void *)(req + 1);
	envp = argv + nargv + 1;
	groups = (gid_t *)(void *)(envp + nenv + 1);
	t = (char *)(groups + ngroups);
	req->spec = *spec;
	req->spec.argv = pool_strv_copy(argv, spec->argv, nargv, &t);
	req->spec.envp = pool_strv_copy(envp, spec->envp, nenv, &t);
	if (ngroups)
		memcpy(groups, spec->groups, ngroups * sizeof(gid_t));
	req->spec.groups = ngroups ? groups : NULL;
	req->spec.ngroups = ngroups;
	req->spec.name = t;
	strcpy(t, name);
	return req;
}

static void pool_on_probe_done(struct probe *p, const struct probe_result *r, void *arg);
static void pool_on_wait_timeout(struct ev_loop *loop, ev_timer *w, int revents);

static void pool_run(struct pool *pool, struct pool_req *req)
{
	int rc;

	TAILQ_INSERT_TAIL(&pool->run_q, req, link);
	pool->running++;
	req->running = 1;
	rc = probe_start(pool->loop, &req->probe, &req->spec, pool_on_probe_done, req);
	/* The spec was checked by pool_submit and the loop by pool_init. */
	if (rc != 0)
		fatalx("pool: probe_start refused a checked spec (%d)", rc);
}

/* Starts queued requests, oldest first, while there are free slots. */
static void pool_dispatch(struct pool *pool)
{
	struct pool_req *req;

	while (!pool->closing && pool->running < pool->max_running &&
	       (req = TAILQ_FIRST(&pool->wait_q)) != NULL) {
		TAILQ_REMOVE(&pool->wait_q, req, link);
		pool->queued--;
		ev_timer_stop(pool->loop, &req->wait_w);
		pool_run(pool, req);
	}
}

/* Ends a request that never ran (cancelled or queue timeout): unqueue,
 * done, free. */
static void pool_end_queued(struct pool_req *req, enum probe_how how)
{
	struct pool *pool = req->pool;
	char text[PROBE_NAME_MAX + 160];
	struct probe_result r;
	double t = req->spec.timeout;

	TAILQ_REMOVE(&pool->wait_q, req, link);
	pool->queued--;
	ev_timer_stop(pool->loop, &req->wait_w);
	if (how == PROBE_TIMEDOUT)
		snprintf(text, sizeof text, POOL_MSG_QUEUE_TIMEOUT, req->spec.name, t,
			 t == 1.0 ? "" : "s");
	else
		snprintf(text, sizeof text, PROBE_MSG_CANCELLED, req->spec.name);
	memset(&r, 0, sizeof r);
	r.state = PROBE_STATE_UNKNOWN;
	r.how = how;
	r.output = text;
	r.len = strlen(text);
	r.elapsed = ev_time() - req->submitted;
	if (how == PROBE_TIMEDOUT)
		log_warnx("%s (%u running, %u queued)", text, pool->running, pool->queued);
	req->done(&r, req->arg);
	free(req);
}

static void pool_on_wait_timeout(struct ev_loop *loop, ev_timer *w, int revents)
{
	pool_end_queued(pool_req_of(w, wait_w), PROBE_TIMEDOUT);
}

static void pool_on_probe_done(struct probe *p, const struct probe_result *r, void *arg)
{
	struct pool_req *req = arg;
	struct pool *pool = req->pool;

	TAILQ_REMOVE(&pool->run_q, req, link);
	pool->running--;
	req->running = 0;
	/* Refill the slot before done runs, so that a submit from inside
	 * done cannot overtake the queue. */
	pool_dispatch(pool);
	req->done(r, req->arg);
	free(req);
}

int pool_submit(struct pool *pool, const struct probe_spec *spec, pool_done_fn *done, void *arg,
		struct pool_req **handle)
{
	struct pool_req *req;
	int now;

	if (pool == NULL || done == NULL || pool->closing || probe_spec_check(spec) != 0)
		return -EINVAL;
	now = pool->running < pool->max_running && TAILQ_EMPTY(&pool->wait_q);
	if (!now && pool->queued >= pool->max_queued) {
		pool->rejected++;
		return -EAGAIN;
	}
	req = pool_req_new(spec);
	if (req == NULL)
		return -ENOMEM;
	req->pool = pool;
	req->done = done;
	req->arg = arg;
	req->submitted = ev_time();
	pool->submitted++;
	if (handle)
		*handle = req;
	if (now) {
		pool_run(pool, req);
	} else {
		TAILQ_INSERT_TAIL(&pool->wait_q, req, link);
		pool->queued++;
		ev_timer_init(&req->wait_w, pool_on_wait_timeout, spec->timeout, 0.);
		ev_timer_start(pool->loop, &req->wait_w);
	}
	return 0;
}

void pool_cancel(struct pool_req *req)
{
	if (req->running)
		probe_cancel(&req->probe); /* calls pool_on_probe_done */
	else
		pool_end_queued(req, PROBE_CANCELLED);
}

int pool_set_limits(struct pool *pool, unsigned max_running, unsigned max_queued)
{
	if (max_running == 0 || max_running > POOL_RUNNING_MAX || max_queued > POOL_QUEUE_MAX)
		return -EINVAL;
	pool->max_running = max_running;
	pool->max_queued = max_queued;
	/* more slots: start waiting requests now.  Fewer: running probes
	 * finish, requests already queued keep their place. */
	pool_dispatch(pool);
	return 0;
}

void pool_stats(const struct pool *pool, struct pool_stats *st)
{
	st->running = pool->running;
	st->queued = pool->queued;
	st->max_running = pool->max_running;
	st->max_queued = pool->max_queued;
	st->submitted = pool->submitted;
	st->rejected = pool->rejected;
}

void pool_free(struct pool *pool)
{
	struct pool_req *req;

	pool->closing = 1;
	while ((req = TAILQ_FIRST(&pool->wait_q)) != NULL)
		pool_cancel(req);
	while ((req = TAILQ_FIRST(&pool->run_q)) != NULL)
		pool_cancel(req);
}
