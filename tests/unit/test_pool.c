/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * pool.c with real probes on the libev default loop: concurrency, the
 * bounded queue, FIFO order, cancellation, queue timeout, deep copy.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include <ev.h>

#include "../../common/log.h"
#include "../../guest-agent/pool.h"

#define TEST_CAP 65535
#define TEST_WATCHDOG 30.0
#define TEST_PATH_MAX 4096
#define TEST_REQS 16

static struct ev_loop *loop;
static char path_exit[TEST_PATH_MAX], path_sleep[TEST_PATH_MAX];

/* What the done callbacks saw, in order. */
struct log {
	int n;
	int order[TEST_REQS];
	int state[TEST_REQS];
	enum probe_how how[TEST_REQS];
	char text[TEST_REQS][256];
	double elapsed[TEST_REQS];
};

struct req {
	struct log *log;
	int id;
	struct pool *pool;	       /* for submits from inside done */
	const struct probe_spec *next; /* ... of this spec */
	struct req *next_req;
};

static void on_done(const struct probe_result *r, void *arg)
{
	struct req *q = arg;
	struct log *l = q->log;

	assert_true(l->n < TEST_REQS);
	l->order[l->n] = q->id;
	l->state[l->n] = r->state;
	l->how[l->n] = r->how;
	l->elapsed[l->n] = r->elapsed;
	snprintf(l->text[l->n], sizeof l->text[0], "%.*s", (int)r->len, r->output);
	l->n++;
	if (q->next)
		assert_int_equal(pool_submit(q->pool, q->next, on_done, q->next_req, NULL), 0);
}

static void on_watchdog(struct ev_loop *l, ev_timer *w, int revents)
{
	*(int *)w->data = 1;
}

static void run_until_count(const int *counter, int target, double max)
{
	ev_timer wd;
	int expired = 0;

	ev_timer_init(&wd, on_watchdog, max, 0.);
	wd.data = &expired;
	ev_timer_start(loop, &wd);
	while (*counter < target && !expired)
		ev_run(loop, EVRUN_ONCE);
	ev_timer_stop(loop, &wd);
	assert_false(expired);
}

/* A spec over caller-owned arrays (argv[0] a fixture path). */
struct spec_buf {
	char *argv[8];
	char *envp[2];
	char text[3][64];
	struct probe_spec spec;
};

static const struct probe_spec *spec_make(struct spec_buf *b, const char *name, char *prog,
					  const char *a1, const char *a2, double timeout)
{
	memset(b, 0, sizeof *b);
	snprintf(b->text[0], sizeof b->text[0], "%s", a1);
	snprintf(b->text[1], sizeof b->text[1], "%s", a2 ? a2 : "");
	snprintf(b->text[2], sizeof b->text[2], "PATH=/usr/bin:/bin");
	b->argv[0] = prog;
	b->argv[1] = b->text[0];
	b->argv[2] = a2 ? b->text[1] : NULL;
	b->envp[0] = b->text[2];
	b->spec.name = name;
	b->spec.argv = b->argv;
	b->spec.envp = b->envp;
	b->spec.timeout = timeout;
	b->spec.output_cap = TEST_CAP;
	return &b->spec;
}

static void test_parallel(void **state)
{
	struct spec_buf b;
	struct req q[10];
	struct log l = {0};
	struct pool pool;
	struct pool_stats st;
	double t0;

	assert_int_equal(pool_init(&pool, loop, 10, 0), 0);
	spec_make(&b, "sleep", path_sleep, "1", NULL, 10);
	t0 = ev_time();
	for (int i = 0; i < 10; i++) {
		q[i] = (struct req){.log = &l, .id = i};
		assert_int_equal(pool_submit(&pool, &b.spec, on_done, &q[i], NULL), 0);
	}
	pool_stats(&pool, &st);
	assert_int_equal(st.running, 10);
	assert_int_equal(st.queued, 0);
	run_until_count(&l.n, 10, TEST_WATCHDOG);
	assert_true(ev_time() - t0 < 1.8);
	for (int i = 0; i < 10; i++) {
		assert_int_equal(l.state[i], PROBE_STATE_OK);
		assert_string_equal(l.text[i], "OK - slept 1\n");
	}
	pool_stats(&pool, &st);
	assert_int_equal(st.running, 0);
	assert_int_equal(st.submitted, 10);
	pool_free(&pool);
}

static void test_busy(void **state)
{
	struct spec_buf b;
	struct req q[6];
	struct log l = {0};
	struct pool pool;
	struct pool_stats st;

	assert_int_equal(pool_init(&pool, loop, 2, 3), 0);
	spec_make(&b, "sleep", path_sleep, "0.2", NULL, 10);
	for (int i = 0; i < 6; i++)
		q[i] = (struct req){.log = &l, .id = i};
	for (int i = 0; i < 5; i++)
		assert_int_equal(pool_submit(&pool, &b.spec, on_done, &q[i], NULL), 0);
	pool_stats(&pool, &st);
	assert_int_equal(st.running, 2);
	assert_int_equal(st.queued, 3);
	assert_int_equal(pool_submit(&pool, &b.spec, on_done, &q[5], NULL), -EAGAIN);
	pool_stats(&pool, &st);
	assert_int_equal(st.rejected, 1);
	assert_int_equal(st.submitted, 5);
	assert_int_equal(st.max_running, 2);
	assert_int_equal(st.max_queued, 3);
	run_until_count(&l.n, 5, TEST_WATCHDOG);
	assert_int_equal(l.n, 5);
	for (int i = 0; i < 5; i++)
		assert_int_equal(l.state[i], PROBE_STATE_OK);
	/* room again */
	assert_int_equal(pool_submit(&pool, &b.spec, on_done, &q[5], NULL), 0);
	run_until_count(&l.n, 6, TEST_WATCHDOG);
	pool_free(&pool);
}

static void test_fifo(void **state)
{
	struct spec_buf b[6];
	struct req q[6];
	struct log l = {0};
	struct pool pool;
	char text[32];

	assert_int_equal(pool_init(&pool, loop, 1, 5), 0);
	for (int i = 0; i < 6; i++) {
		q[i] = (struct req){.log = &l, .id = i};
		snprintf(text, sizeof text, "OK - %d", i);
		spec_make(&b[i], "fifo", path_exit, "0", text, 10);
		assert_int_equal(pool_submit(&pool, &b[i].spec, on_done, &q[i], NULL), 0);
	}
	run_until_count(&l.n, 6, TEST_WATCHDOG);
	for (int i = 0; i < 6; i++) {
		assert_int_equal(l.order[i], i);
		snprintf(text, sizeof text, "OK - %d\n", i);
		assert_string_equal(l.text[i], text);
	}
	pool_free(&pool);
}

/* A submit from inside done queues behind those already waiting. */
static void test_fifo_submit_from_done(void **state)
{
	struct spec_buf b[3];
	struct req q[3];
	struct log l = {0};
	struct pool pool;

	assert_int_equal(pool_init(&pool, loop, 1, 2), 0);
	for (int i = 0; i < 3; i++)
		q[i] = (struct req){.log = &l, .id = i, .pool = &pool};
	spec_make(&b[0], "a", path_exit, "0", "OK - a", 10);
	spec_make(&b[1], "b", path_exit, "0", "OK - b", 10);
	spec_make(&b[2], "c", path_exit, "0", "OK - c", 10);
	q[0].next = &b[2].spec;
	q[0].next_req = &q[2];
	assert_int_equal(pool_submit(&pool, &b[0].spec, on_done, &q[0], NULL), 0);
	assert_int_equal(pool_submit(&pool, &b[1].spec, on_done, &q[1], NULL), 0);
	run_until_count(&l.n, 3, TEST_WATCHDOG);
	assert_int_equal(l.order[0], 0);
	assert_int_equal(l.order[1], 1);
	assert_int_equal(l.order[2], 2);
	pool_free(&pool);
}

static void test_cancel(void **state)
{
	struct spec_buf b[3];
	struct req q[3];
	struct pool_req *h[3];
	struct log l = {0};
	struct pool pool;
	struct pool_stats st;

	assert_int_equal(pool_init(&pool, loop, 1, 2), 0);
	spec_make(&b[0], "A", path_sleep, "30", NULL, 60);
	spec_make(&b[1], "B", path_sleep, "30", NULL, 60);
	spec_make(&b[2], "C", path_exit, "0", "OK - C", 10);
	for (int i = 0; i < 3; i++) {
		q[i] = (struct req){.log = &l, .id = i};
		assert_int_equal(pool_submit(&pool, &b[i].spec, on_done, &q[i], &h[i]), 0);
	}
	/* queued: done at once, nothing else moves */
	pool_cancel(h[1]);
	assert_int_equal(l.n, 1);
	assert_int_equal(l.order[0], 1);
	assert_int_equal(l.how[0], PROBE_CANCELLED);
	assert_int_equal(l.state[0], PROBE_STATE_UNKNOWN);
	assert_string_equal(l.text[0], "XENVCHAN: Command 'B' cancelled");
	pool_stats(&pool, &st);
	assert_int_equal(st.running, 1);
	assert_int_equal(st.queued, 1);
	/* running: done at once, and C takes the slot */
	pool_cancel(h[0]);
	assert_int_equal(l.n, 2);
	assert_int_equal(l.order[1], 0);
	assert_int_equal(l.how[1], PROBE_CANCELLED);
	assert_string_equal(l.text[1], "XENVCHAN: Command 'A' cancelled");
	pool_stats(&pool, &st);
	assert_int_equal(st.running, 1);
	assert_int_equal(st.queued, 0);
	run_until_count(&l.n, 3, TEST_WATCHDOG);
	assert_int_equal(l.order[2], 2);
	assert_string_equal(l.text[2], "OK - C\n");
	pool_free(&pool);
}

static void test_queue_timeout(void **state)
{
	struct spec_buf b[2];
	struct req q[2];
	struct log l = {0};
	struct pool pool;

	assert_int_equal(pool_init(&pool, loop, 1, 1), 0);
	spec_make(&b[0], "slow", path_sleep, "1", NULL, 5);
	spec_make(&b[1], "waiter", path_exit, "0", "OK", 0.3);
	for (int i = 0; i < 2; i++) {
		q[i] = (struct req){.log = &l, .id = i};
		assert_int_equal(pool_submit(&pool, &b[i].spec, on_done, &q[i], NULL), 0);
	}
	run_until_count(&l.n, 1, TEST_WATCHDOG);
	assert_int_equal(l.order[0], 1);
	assert_int_equal(l.how[0], PROBE_TIMEDOUT);
	assert_int_equal(l.state[0], PROBE_STATE_UNKNOWN);
	assert_string_equal(l.text[0], "XENVCHAN: Command 'waiter' timed out after 0.3 seconds "
				       "waiting for a free slot");
	assert_true(l.elapsed[0] >= 0.25 && l.elapsed[0] < 0.8);
	run_until_count(&l.n, 2, TEST_WATCHDOG);
	assert_int_equal(l.state[1], PROBE_STATE_OK);
	pool_free(&pool);
}

/* The spec is copied: the caller may reuse its memory at once. */
static void test_deep_copy(void **state)
{
	struct spec_buf b;
	struct req q[2];
	struct log l = {0};
	struct pool pool;
	char *name = strdup("copied");
	gid_t groups[1] = {0};

	assert_non_null(name);
	assert_int_equal(pool_init(&pool, loop, 1, 1), 0);
	q[0] = (struct req){.log = &l, .id = 0};
	q[1] = (struct req){.log = &l, .id = 1};
	spec_make(&b, "first", path_sleep, "0.2", "first", 10);
	assert_int_equal(pool_submit(&pool, &b.spec, on_done, &q[0], NULL), 0);
	spec_make(&b, name, path_exit, "0", "OK - queued", 10);
	b.spec.change_identity = geteuid() == 0;
	b.spec.uid = 0;
	b.spec.gid = 0;
	b.spec.groups = groups;
	b.spec.ngroups = 1;
	assert_int_equal(pool_submit(&pool, &b.spec, on_done, &q[1], NULL), 0);
	/* wipe everything the queued request was built from */
	memset(&b, 'x', sizeof b);
	memset(name, 'y', strlen(name));
	free(name);
	groups[0] = 12345;
	run_until_count(&l.n, 2, TEST_WATCHDOG);
	assert_string_equal(l.text[0], "OK - first\n");
	assert_string_equal(l.text[1], "OK - queued\n");
	pool_free(&pool);
}

static void test_spawn_failure(void **state)
{
	char prog[] = "/nonexistent/check_x";
	struct spec_buf b;
	struct req q = {0};
	struct log l = {0};
	struct pool pool;

	q.log = &l;
	assert_int_equal(pool_init(&pool, loop, 1, 0), 0);
	spec_make(&b, "check_x", prog, "-w", NULL, 10);
	assert_int_equal(pool_submit(&pool, &b.spec, on_done, &q, NULL), 0);
	assert_int_equal(l.n, 0);
	run_until_count(&l.n, 1, TEST_WATCHDOG);
	/* valgrind runs posix_spawn's vfork-like clone as a fork: exit 127 */
	if (getenv("LD_PRELOAD") && strstr(getenv("LD_PRELOAD"), "vgpreload")) {
		assert_int_equal(l.how[0], PROBE_EXITED);
		pool_free(&pool);
		return;
	}
	assert_int_equal(l.how[0], PROBE_SPAWN_FAILED);
	assert_string_equal(l.text[0], "XENVCHAN: Command 'check_x': /nonexistent/check_x: No "
				       "such file or directory");
	pool_free(&pool);
}

static void test_free_cancels_all(void **state)
{
	struct spec_buf b;
	struct req q[4];
	struct log l = {0};
	struct pool pool;

	assert_int_equal(pool_init(&pool, loop, 2, 2), 0);
	spec_make(&b, "long", path_sleep, "30", NULL, 60);
	for (int i = 0; i < 4; i++) {
		q[i] = (struct req){.log = &l, .id = i};
		assert_int_equal(pool_submit(&pool, &b.spec, on_done, &q[i], NULL), 0);
	}
	pool_free(&pool);
	assert_int_equal(l.n, 4);
	/* queued first, then running; none started after the free began */
	assert_int_equal(l.order[0], 2);
	assert_int_equal(l.order[1], 3);
	for (int i = 0; i < 4; i++)
		assert_int_equal(l.how[i], PROBE_CANCELLED);
}

static void test_invalid(void **state)
{
	struct ev_loop *other = ev_loop_new(0);
	char rel[] = "sleep";
	struct spec_buf b;
	struct req q = {0};
	struct pool pool;

	assert_int_equal(pool_init(&pool, loop, 0, 1), -EINVAL);
	assert_int_equal(pool_init(&pool, loop, POOL_RUNNING_MAX + 1, 1), -EINVAL);
	assert_int_equal(pool_init(&pool, loop, 1, POOL_QUEUE_MAX + 1), -EINVAL);
	assert_int_equal(pool_init(&pool, other, 1, 1), -EINVAL);
	assert_int_equal(pool_init(&pool, loop, 1, 1), 0);
	spec_make(&b, "rel", rel, "1", NULL, 10);
	assert_int_equal(pool_submit(&pool, &b.spec, on_done, &q, NULL), -EINVAL);
	spec_make(&b, "ok", path_sleep, "1", NULL, 10);
	assert_int_equal(pool_submit(&pool, &b.spec, NULL, &q, NULL), -EINVAL);
	pool_free(&pool);
	ev_loop_destroy(other);
}

static void settle(double secs)
{
	int expired = 0;
	ev_timer wd;

	ev_timer_init(&wd, on_watchdog, secs, 0.);
	wd.data = &expired;
	ev_timer_start(loop, &wd);
	while (!expired)
		ev_run(loop, EVRUN_ONCE);
}

static void test_no_zombies(void **state)
{
	settle(0.3);
	errno = 0;
	assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
	assert_int_equal(errno, ECHILD);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parallel),
	    cmocka_unit_test(test_busy),
	    cmocka_unit_test(test_fifo),
	    cmocka_unit_test(test_fifo_submit_from_done),
	    cmocka_unit_test(test_cancel),
	    cmocka_unit_test(test_queue_timeout),
	    cmocka_unit_test(test_deep_copy),
	    cmocka_unit_test(test_spawn_failure),
	    cmocka_unit_test(test_free_cancels_all),
	    cmocka_unit_test(test_invalid),
	    cmocka_unit_test(test_no_zombies),
	};
	const char *top = getenv("XV_TOP");

	snprintf(path_exit, sizeof path_exit, "%s/tests/fixtures/probes/exit.sh", top ? top : ".");
	snprintf(path_sleep, sizeof path_sleep, "%s/tests/fixtures/probes/sleep.sh",
		 top ? top : ".");
	/* orphans of killed probes are reaped by libev (see test_probe.c) */
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) == -1)
		perror("prctl");
	loop = ev_default_loop(0);
	log_init("test_pool", 0, 0, LOG_LVL_DEBUG);
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests_name("pool", tests, NULL, NULL);
}
