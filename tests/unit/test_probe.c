/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * probe.c against real processes on the real libev default loop: states,
 * messages, truncation, timeouts, process groups, descriptors, environment,
 * stderr, zombies.  Fixture probes: tests/fixtures/probes/ (XV_TOP) and
 * tests/tools/probe-fds (XV_BUILD).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
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
#include "../../guest-agent/probe.h"

#define TEST_CAP 65535	   /* the agent's cap: one NRPE v4 packet */
#define TEST_WATCHDOG 40.0 /* s, longest any single probe may take here */
#define TEST_PATH_MAX 4096

static struct ev_loop *loop;
static char **default_env;

/* Test argv/envp arrays: string literals are const here (-Wwrite-strings)
 * while exec-style arrays are not.  ARGV() copies them into an arena that
 * each test's teardown frees. */
#define ARENA_MAX 64
static char **arena[ARENA_MAX];
static size_t arena_n;

static char **strv_new(const char *const *v)
{
	size_t n = 0;
	char **a;

	while (v[n])
		n++;
	a = calloc(n + 1, sizeof *a);
	assert_non_null(a);
	for (size_t i = 0; i < n; i++) {
		a[i] = strdup(v[i]);
		assert_non_null(a[i]);
	}
	return a;
}

static void strv_free(char **a)
{
	for (size_t i = 0; a && a[i]; i++)
		free(a[i]);
	free(a);
}

static char **arena_add(char **a)
{
	assert_true(arena_n < ARENA_MAX);
	arena[arena_n++] = a;
	return a;
}

static int arena_free(void **state)
{
	while (arena_n > 0)
		strv_free(arena[--arena_n]);
	return 0;
}

#define ARGV(...) arena_add(strv_new((const char *const[]){__VA_ARGS__, NULL}))

struct outcome {
	int calls;
	struct probe_result r;
	char *text;
};

static const char *fixture(const char *name)
{
	static char path[TEST_PATH_MAX];
	const char *top = getenv("XV_TOP");

	snprintf(path, sizeof path, "%s/tests/fixtures/probes/%s", top ? top : ".", name);
	return path;
}

static const char *tool(const char *name)
{
	static char path[TEST_PATH_MAX];
	const char *b = getenv("XV_BUILD");

	snprintf(path, sizeof path, "%s/tests/tools/%s", b ? b : "build", name);
	return path;
}

static void on_done(struct probe *p, const struct probe_result *r, void *arg)
{
	struct outcome *o = arg;

	o->calls++;
	o->r = *r;
	free(o->text);
	o->text = malloc(r->len + 1);
	assert_non_null(o->text);
	memcpy(o->text, r->output, r->len + 1);
	o->r.output = o->text;
	assert_false(probe_busy(p));
}

static void on_watchdog(struct ev_loop *l, ev_timer *w, int revents)
{
	*(int *)w->data = 1;
}

/* Runs the loop until *counter reaches target, at most max seconds. */
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

static void run_until(const int *flag, double max)
{
	run_until_count(flag, 1, max);
}

/* Runs the loop for secs (lets libev reap what was killed). */
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

static struct probe_spec spec_of(const char *name, char *const *argv, double timeout)
{
	struct probe_spec s;

	memset(&s, 0, sizeof s);
	s.name = name;
	s.argv = argv;
	s.envp = default_env;
	s.timeout = timeout;
	s.output_cap = TEST_CAP;
	return s;
}

static void run_spec(const struct probe_spec *s, struct outcome *o)
{
	struct probe p;

	memset(&p, 0, sizeof p);
	free(o->text);
	memset(o, 0, sizeof *o);
	assert_int_equal(probe_start(loop, &p, s, on_done, o), 0);
	/* never from inside probe_start, even for a spawn failure */
	assert_int_equal(o->calls, 0);
	assert_true(probe_busy(&p));
	run_until(&o->calls, TEST_WATCHDOG);
	assert_int_equal(o->calls, 1);
	assert_false(probe_busy(&p));
}

static void run_argv(const char *name, char *const *argv, double timeout, struct outcome *o)
{
	struct probe_spec s = spec_of(name, argv, timeout);

	run_spec(&s, o);
}

/*
 * Under valgrind, posix_spawn's clone(CLONE_VM | CLONE_VFORK) runs as a
 * plain fork, so a failed execve comes back as exit status 127 instead of
 * posix_spawn's return value.  Tests of the posix_spawn path's spawn
 * errors accept that there (the fork path reports them either way).
 */
static int under_valgrind(void)
{
	const char *p = getenv("LD_PRELOAD");

	return p && strstr(p, "vgpreload") != NULL;
}

static void assert_spawn_failed(const struct outcome *o, int err)
{
	if (under_valgrind()) {
		assert_int_equal(o->r.how, PROBE_EXITED);
		assert_int_equal(o->r.detail, 127);
		return;
	}
	assert_int_equal(o->r.how, PROBE_SPAWN_FAILED);
	assert_int_equal(o->r.detail, err);
}

static void outcome_free(struct outcome *o)
{
	free(o->text);
	o->text = NULL;
}

/* Polls until the process group is gone (its last zombie reaped). */
static void assert_group_gone(pid_t pgid)
{
	for (int i = 0; i < 200; i++) {
		if (kill(-pgid, 0) == -1 && errno == ESRCH)
			return;
		settle(0.01);
	}
	fail_msg("process group %d still exists", (int)pgid);
}

static void assert_exit(const char *status, const char *line, int state, const char *expect)
{
	char **argv = ARGV(fixture("exit.sh"), status, line);
	struct outcome o = {0};

	run_argv("exit", argv, 10, &o);
	assert_int_equal(o.r.how, PROBE_EXITED);
	assert_int_equal(o.r.detail, atoi(status));
	assert_int_equal(o.r.state, state);
	assert_string_equal(o.text, expect);
	assert_int_equal(o.r.len, strlen(expect));
	assert_false(o.r.truncated);
	assert_true(o.r.pid > 1);
	outcome_free(&o);
}

static void test_states(void **state)
{
	assert_exit("0", "OK - fine | a=1", PROBE_STATE_OK, "OK - fine | a=1\n");
	assert_exit("1", "WARNING - hm", PROBE_STATE_WARNING, "WARNING - hm\n");
	assert_exit("2", "CRITICAL - bad", PROBE_STATE_CRITICAL, "CRITICAL - bad\n");
	assert_exit("3", "UNKNOWN - eh", PROBE_STATE_UNKNOWN, "UNKNOWN - eh\n");
}

static void test_multiline(void **state)
{
	char **argv = ARGV(fixture("exit.sh"), "1", "DISK WARNING - / 91% | /=91%", "  long 1",
			   "long 2 | extra=3;4;5", "");
	struct outcome o = {0};

	run_argv("check_disk_root", argv, 10, &o);
	assert_int_equal(o.r.state, PROBE_STATE_WARNING);
	assert_string_equal(o.text,
			    "DISK WARNING - / 91% | /=91%\n  long 1\nlong 2 | extra=3;4;5\n\n");
	outcome_free(&o);
}

static void test_true_false_empty(void **state)
{
	char **t = ARGV("/bin/true"), **f = ARGV("/bin/false");
	char **blank = ARGV(fixture("exit.sh"), "0", " \t", "");
	struct outcome o = {0};

	run_argv("true", t, 10, &o);
	assert_int_equal(o.r.state, PROBE_STATE_UNKNOWN);
	assert_int_equal(o.r.how, PROBE_EXITED);
	assert_string_equal(o.text, "XENVCHAN: Command 'true' produced no output (exit status 0)");
	run_argv("false", f, 10, &o);
	assert_int_equal(o.r.state, PROBE_STATE_UNKNOWN);
	assert_int_equal(o.r.detail, 1);
	assert_string_equal(o.text, "XENVCHAN: Command 'false' produced no output (exit status 1)");
	run_argv("blank", blank, 10, &o);
	assert_string_equal(o.text, "XENVCHAN: Command 'blank' produced no output (exit status 0)");
	outcome_free(&o);
	/* no name: argv[0] stands in */
	run_argv(NULL, t, 10, &o);
	assert_string_equal(o.text,
			    "XENVCHAN: Command '/bin/true' produced no output (exit status 0)");
	outcome_free(&o);
}

static void test_exit7(void **state)
{
	assert_exit(
	    "7", "ERROR - odd", PROBE_STATE_UNKNOWN,
	    "ERROR - odd\nXENVCHAN: Command 'exit' exited with status 7 (not a plugin state "
	    "0-3)");
	assert_exit("255", NULL, PROBE_STATE_UNKNOWN,
		    "XENVCHAN: Command 'exit' produced no output (exit status 255)");
}

static void test_exit7_no_newline(void **state)
{
	char **argv = ARGV("/bin/sh", "-c", "printf 'no newline'; exit 4");
	struct outcome o = {0};

	run_argv("sh", argv, 10, &o);
	assert_int_equal(o.r.state, PROBE_STATE_UNKNOWN);
	assert_string_equal(o.text, "no newline\nXENVCHAN: Command 'sh' exited with status 4 "
				    "(not a plugin state 0-3)");
	outcome_free(&o);
}

static void test_missing_program(void **state)
{
	char **argv = ARGV("/nonexistent/check_foo", "-w", "1");
	struct outcome o = {0};

	run_argv("check_foo", argv, 10, &o);
	assert_spawn_failed(&o, ENOENT);
	if (under_valgrind()) {
		outcome_free(&o);
		return;
	}
	assert_int_equal(o.r.state, PROBE_STATE_UNKNOWN);
	assert_int_equal(o.r.pid, 0);
	assert_string_equal(o.text, "XENVCHAN: Command 'check_foo': /nonexistent/check_foo: No "
				    "such file or directory");
	outcome_free(&o);
}

static void test_not_executable(void **state)
{
	char **argv = ARGV(fixture("not-executable.sh"));
	char expect[TEST_PATH_MAX + 100];
	struct outcome o = {0};

	run_argv("check_nx", argv, 10, &o);
	assert_spawn_failed(&o, EACCES);
	if (under_valgrind()) {
		outcome_free(&o);
		return;
	}
	snprintf(expect, sizeof expect, "XENVCHAN: Command 'check_nx': %s: Permission denied",
		 argv[0]);
	assert_string_equal(o.text, expect);
	outcome_free(&o);
}

/* The body of big.sh: "0123456789abcde\n" repeated. */
static void assert_big_body(const char *s, size_t n)
{
	static const char line[] = "0123456789abcde\n";

	for (size_t i = 0; i < n; i++)
		if (s[i] != line[i % 16])
			fail_msg("byte %zu is %#x", i, (unsigned char)s[i]);
}

static void test_truncation(void **state)
{
	char **argv = ARGV(fixture("big.sh"), "70000");
	char marker[100];
	size_t mlen;
	struct outcome o = {0};

	mlen = (size_t)snprintf(marker, sizeof marker, PROBE_MSG_TRUNCATED, (size_t)TEST_CAP);
	assert_string_equal(marker, "\n[output truncated at 65535 bytes by xenvchan-agent]");
	run_argv("big", argv, 10, &o);
	assert_int_equal(o.r.how, PROBE_EXITED);
	assert_int_equal(o.r.state, PROBE_STATE_OK);
	assert_true(o.r.truncated);
	assert_int_equal(o.r.len, TEST_CAP);
	assert_int_equal(strlen(o.text), TEST_CAP);
	assert_memory_equal(o.text + TEST_CAP - mlen, marker, mlen);
	assert_big_body(o.text, TEST_CAP - mlen);
	outcome_free(&o);
}

static void test_cap_exact(void **state)
{
	char **argv = ARGV(fixture("big.sh"), "65535");
	char **over = ARGV(fixture("big.sh"), "65536");
	struct outcome o = {0};

	run_argv("big", argv, 10, &o);
	assert_false(o.r.truncated);
	assert_int_equal(o.r.len, TEST_CAP);
	assert_big_body(o.text, TEST_CAP);
	run_argv("big", over, 10, &o);
	assert_true(o.r.truncated);
	assert_int_equal(o.r.len, TEST_CAP);
	outcome_free(&o);
}

static void test_truncation_with_status(void **state)
{
	char **argv = ARGV(fixture("big.sh"), "200000", "9");
	const char *tail = "\n[output truncated at 65535 bytes by xenvchan-agent]\nXENVCHAN: "
			   "Command 'big' exited with status 9 (not a plugin state 0-3)";
	struct outcome o = {0};

	run_argv("big", argv, 10, &o);
	assert_int_equal(o.r.state, PROBE_STATE_UNKNOWN);
	assert_int_equal(o.r.detail, 9);
	assert_true(o.r.truncated);
	assert_int_equal(o.r.len, TEST_CAP);
	assert_string_equal(o.text + TEST_CAP - strlen(tail), tail);
	assert_big_body(o.text, TEST_CAP - strlen(tail));
	outcome_free(&o);
}

static void test_small_cap(void **state)
{
	char **argv = ARGV(fixture("big.sh"), "1000");
	char **bad = ARGV(fixture("big.sh"), "1000", "9");
	struct probe_spec s = spec_of("big", argv, 10);
	char name[PROBE_NAME_MAX + 50];
	struct outcome o = {0};

	s.output_cap = PROBE_OUTPUT_CAP_MIN;
	run_spec(&s, &o);
	assert_true(o.r.truncated);
	assert_int_equal(o.r.len, PROBE_OUTPUT_CAP_MIN);
	assert_non_null(strstr(o.text, "\n[output truncated at 256 bytes by xenvchan-agent]"));
	/* a long name and a status line: still within the cap */
	memset(name, 'n', sizeof name - 1);
	name[sizeof name - 1] = '\0';
	s.name = name;
	s.argv = bad;
	run_spec(&s, &o);
	assert_int_equal(o.r.state, PROBE_STATE_UNKNOWN);
	assert_true(o.r.truncated);
	assert_int_equal(o.r.len, PROBE_OUTPUT_CAP_MIN);
	assert_int_equal(strlen(o.text), PROBE_OUTPUT_CAP_MIN);
	assert_true(strncmp(o.text, "\n[output truncated", 18) == 0);
	outcome_free(&o);
}

static void test_timeout(void **state)
{
	char **argv = ARGV("/bin/sleep", "30");
	struct outcome o = {0};

	run_argv("sleepy", argv, 1, &o);
	assert_int_equal(o.r.how, PROBE_TIMEDOUT);
	assert_int_equal(o.r.detail, SIGTERM);
	assert_int_equal(o.r.state, PROBE_STATE_UNKNOWN);
	assert_string_equal(o.text, "XENVCHAN: Command 'sleepy' timed out after 1 second");
	assert_true(o.r.elapsed >= 0.95);
	assert_true(o.r.elapsed < 1.8);
	assert_group_gone(o.r.pid);
	run_argv("sleepy", argv, 0.5, &o);
	assert_string_equal(o.text, "XENVCHAN: Command 'sleepy' timed out after 0.5 seconds");
	assert_true(o.r.elapsed < 1.3);
	outcome_free(&o);
}

static void test_timeout_kills_group(void **state)
{
	char **argv = ARGV(fixture("grandchild.sh"), "wait");
	struct outcome o = {0};

	run_argv("gc", argv, 1, &o);
	assert_int_equal(o.r.how, PROBE_TIMEDOUT);
	assert_true(o.r.elapsed < 1.8);
	assert_group_gone(o.r.pid);
	outcome_free(&o);
}

static void test_ignores_sigterm(void **state)
{
	char **argv = ARGV(fixture("ignore-term.sh"));
	struct outcome o = {0};

	run_argv("stubborn", argv, 1, &o);
	assert_int_equal(o.r.how, PROBE_TIMEDOUT);
	assert_int_equal(o.r.detail, SIGKILL);
	assert_true(o.r.elapsed >= 1.0 + PROBE_TERM_GRACE - 0.05);
	assert_true(o.r.elapsed < 1.0 + PROBE_TERM_GRACE + 0.8);
	assert_group_gone(o.r.pid);
	outcome_free(&o);
}

static void test_grandchild_holds_stdout(void **state)
{
	char **argv = ARGV(fixture("grandchild.sh"));
	struct outcome o = {0};

	run_argv("gc", argv, 10, &o);
	assert_int_equal(o.r.how, PROBE_EXITED);
	assert_int_equal(o.r.state, PROBE_STATE_OK);
	assert_true(strncmp(o.text, "OK - started ", 13) == 0);
	assert_true(o.r.elapsed >= PROBE_EOF_GRACE - 0.05);
	assert_true(o.r.elapsed < PROBE_EOF_GRACE + 0.8);
	assert_group_gone(o.r.pid);
	outcome_free(&o);
}

static void test_grandchild_timeout_wins(void **state)
{
	char **argv = ARGV(fixture("grandchild.sh"));
	struct outcome o = {0};

	/* The EOF grace never runs past the timeout: the script exits within
	 * milliseconds, the result comes at 0.8 s, not at exit + 1 s. */
	run_argv("gc", argv, 0.8, &o);
	assert_int_equal(o.r.how, PROBE_EXITED);
	assert_int_equal(o.r.state, PROBE_STATE_OK);
	assert_true(o.r.elapsed >= 0.75 && o.r.elapsed < PROBE_EOF_GRACE - 0.02);
	assert_group_gone(o.r.pid);
	outcome_free(&o);
}

static void test_closed_stdout(void **state)
{
	char **argv = ARGV(fixture("close-stdout.sh"));
	struct outcome o = {0};

	run_argv("closer", argv, 1, &o);
	assert_int_equal(o.r.how, PROBE_TIMEDOUT);
	assert_true(o.r.elapsed >= 0.95);
	assert_true(o.r.elapsed < 1.8);
	assert_group_gone(o.r.pid);
	outcome_free(&o);
}

static void test_signal(void **state)
{
	char **argv = ARGV(fixture("signal.sh"));
	struct outcome o = {0};

	run_argv("sig", argv, 10, &o);
	assert_int_equal(o.r.how, PROBE_SIGNALLED);
	assert_int_equal(o.r.detail, SIGUSR1);
	assert_int_equal(o.r.state, PROBE_STATE_UNKNOWN);
	assert_string_equal(o.text, "XENVCHAN: Command 'sig' killed by signal 10 (SIGUSR1)");
	outcome_free(&o);
}

static void test_fds(void **state)
{
	char **argv = ARGV(tool("probe-fds"));
	struct outcome o = {0};
	/* a descriptor the agent forgot to mark close-on-exec */
	int leak = open("/dev/null", O_RDONLY);

	assert_true(leak > 2);
	run_argv("fds", argv, 10, &o);
	assert_string_equal(o.text, "0 1 2\n");
	close(leak);
	outcome_free(&o);
}

/* With descriptors 0-2 closed in the agent, pipes land there: they must
 * still be wired right. */
static void test_fds_low(void **state)
{
	char **argv = ARGV(tool("probe-fds"));
	int saved[3];
	struct outcome o = {0};

	fflush(stdout);
	fflush(stderr);
	for (int i = 0; i < 3; i++) {
		saved[i] = fcntl(i, F_DUPFD_CLOEXEC, 3);
		assert_true(saved[i] >= 3);
		close(i);
	}
	run_argv("fds", argv, 10, &o);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(dup2(saved[i], i), i);
		close(saved[i]);
	}
	assert_string_equal(o.text, "0 1 2\n");
	outcome_free(&o);
}

static void test_env_exact(void **state)
{
	char **argv = ARGV("/usr/bin/env");
	char **env = ARGV("A=1", "B=two words", "LC_ALL=C");
	struct probe_spec s = spec_of("env", argv, 10);
	struct outcome o = {0};

	s.envp = env;
	run_spec(&s, &o);
	assert_string_equal(o.text, "A=1\nB=two words\nLC_ALL=C\n");
	outcome_free(&o);
}

static void test_env_build(void **state)
{
	const char *keep[] = {"HOME", "PATH", "XV_KEEP", "NOPE", "XV_KEEP", "LC_ALL", NULL};
	char **src = ARGV("HOME=/root", "XV_KEEPX=no", "XV_KEEP=yes", "PATH=/evil", "LC_ALL=de_DE");
	const char *bad[] = {"A=B", NULL}, *empty[] = {"", NULL};
	char **e;

	e = probe_env_build(NULL, "4.1.0", keep, src);
	assert_non_null(e);
	assert_string_equal(e[0], "PATH=" PROBE_ENV_DEFAULT_PATH);
	assert_string_equal(e[1], "LC_ALL=C");
	assert_string_equal(e[2], "NRPE_MULTILINESUPPORT=1");
	assert_string_equal(e[3], "NRPE_PROGRAMVERSION=4.1.0");
	assert_string_equal(e[4], "HOME=/root");
	assert_string_equal(e[5], "XV_KEEP=yes");
	assert_null(e[6]);
	probe_env_free(e);

	e = probe_env_build("/usr/bin", "x", NULL, NULL);
	assert_non_null(e);
	assert_string_equal(e[0], "PATH=/usr/bin");
	assert_null(e[4]);
	probe_env_free(e);

	errno = 0;
	assert_null(probe_env_build(NULL, "x", bad, src));
	assert_int_equal(errno, EINVAL);
	assert_null(probe_env_build(NULL, "x", empty, src));
	assert_null(probe_env_build(NULL, NULL, NULL, src));
}

static void test_env_built_reaches_probe(void **state)
{
	const char *keep[] = {"XV_TEST_VAR", NULL};
	char **src = ARGV("XV_TEST_VAR=kept", "OTHER=dropped");
	char **argv = ARGV("/usr/bin/env");
	char **e = probe_env_build(NULL, "4.1.0", keep, src);
	struct probe_spec s = spec_of("env", argv, 10);
	struct outcome o = {0};

	s.envp = e;
	run_spec(&s, &o);
	assert_string_equal(o.text, "PATH=" PROBE_ENV_DEFAULT_PATH "\nLC_ALL=C\n"
				    "NRPE_MULTILINESUPPORT=1\nNRPE_PROGRAMVERSION=4.1.0\n"
				    "XV_TEST_VAR=kept\n");
	probe_env_free(e);
	outcome_free(&o);
}

/* Runs one probe with fd 2 (the log) sent to a file; returns the log. */
static char *run_logged(const char *name, char *const *argv, struct outcome *o)
{
	char path[] = "/tmp/test_probe.logXXXXXX";
	int fd = mkstemp(path), saved = dup(2);
	static char log[65536];
	ssize_t n;

	assert_true(fd >= 0 && saved >= 0);
	fflush(stderr);
	dup2(fd, 2);
	run_argv(name, argv, 10, o);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	n = pread(fd, log, sizeof log - 1, 0);
	assert_true(n >= 0);
	log[n] = '\0';
	close(fd);
	unlink(path);
	return log;
}

static void test_stderr_to_log(void **state)
{
	char **argv = ARGV(fixture("stderr.sh"));
	char expect[200];
	struct outcome o = {0};
	char *log = run_logged("err", argv, &o);

	assert_string_equal(o.text, "OK - stdout\n");
	snprintf(expect, sizeof expect, "command 'err' (pid %d) stderr: to stderr\n", (int)o.r.pid);
	assert_non_null(strstr(log, expect));
	snprintf(expect, sizeof expect, "command 'err' (pid %d) stderr: esc\\x1B[31m red\n",
		 (int)o.r.pid);
	assert_non_null(strstr(log, expect));
	outcome_free(&o);
}

static void test_stderr_bounded(void **state)
{
	char **argv = ARGV("/bin/sh", "-c",
			   "yes 0123456789abcdef0123456789abcdef >&2 & sleep 0.3; "
			   "kill $!; echo OK");
	struct outcome o = {0};
	char *log = run_logged("flood", argv, &o);
	size_t lines = 0;

	assert_string_equal(o.text, "OK\n");
	for (char *s = log; (s = strstr(s, "stderr: 0123")) != NULL; s++)
		lines++;
	/* 32 bytes a line are counted against PROBE_STDERR_LOG_MAX */
	assert_int_equal(lines, PROBE_STDERR_LOG_MAX / 32);
	assert_non_null(strstr(log, "command 'flood'"));
	assert_non_null(strstr(log, "further stderr output not logged"));
	outcome_free(&o);
}

static void test_cancel(void **state)
{
	char **argv = ARGV(fixture("grandchild.sh"), "wait");
	struct probe_spec s = spec_of("gc", argv, 30);
	struct outcome o = {0};
	struct probe p;
	pid_t pgid;

	memset(&p, 0, sizeof p);
	memset(&o, 0, sizeof o);
	assert_int_equal(probe_start(loop, &p, &s, on_done, &o), 0);
	settle(0.2);
	assert_int_equal(o.calls, 0);
	pgid = p.pid;
	assert_int_equal(kill(-pgid, 0), 0);
	probe_cancel(&p);
	assert_int_equal(o.calls, 1);
	assert_int_equal(o.r.how, PROBE_CANCELLED);
	assert_int_equal(o.r.state, PROBE_STATE_UNKNOWN);
	assert_string_equal(o.text, "XENVCHAN: Command 'gc' cancelled");
	probe_cancel(&p); /* idle: no-op */
	assert_int_equal(o.calls, 1);
	assert_group_gone(pgid);

	/* cancelling a spawn failure still waiting for the loop */
	s.argv = ARGV("/nonexistent/x");
	assert_int_equal(probe_start(loop, &p, &s, on_done, &o), 0);
	probe_cancel(&p);
	assert_int_equal(o.calls, 2);
	assert_int_equal(o.r.how, PROBE_CANCELLED);
	settle(0.05);
	assert_int_equal(o.calls, 2);
	outcome_free(&o);
}

static void test_invalid(void **state)
{
	char **argv = ARGV("/bin/sleep", "1"), **rel = ARGV("sleep", "1");
	struct probe_spec s = spec_of("x", argv, 5);
	struct ev_loop *other = ev_loop_new(0);
	struct outcome o = {0};
	struct probe p;

	memset(&p, 0, sizeof p);
	memset(&o, 0, sizeof o);
	s.argv = rel;
	assert_int_equal(probe_start(loop, &p, &s, on_done, &o), -EINVAL);
	s.argv = argv;
	s.output_cap = PROBE_OUTPUT_CAP_MIN - 1;
	assert_int_equal(probe_start(loop, &p, &s, on_done, &o), -EINVAL);
	s.output_cap = TEST_CAP;
	s.timeout = 0;
	assert_int_equal(probe_start(loop, &p, &s, on_done, &o), -EINVAL);
	s.timeout = 5;
	assert_int_equal(probe_start(loop, &p, &s, NULL, &o), -EINVAL);
	assert_int_equal(probe_start(other, &p, &s, on_done, &o), -EINVAL);
	assert_int_equal(probe_start(loop, &p, &s, on_done, &o), 0);
	assert_int_equal(probe_start(loop, &p, &s, on_done, &o), -EBUSY);
	probe_cancel(&p);
	assert_int_equal(o.calls, 1);
	ev_loop_destroy(other);
	outcome_free(&o);
}

/* done may start the same struct probe again. */
struct chain {
	struct probe p;
	struct probe_spec s;
	int runs;
};

static void on_chain(struct probe *p, const struct probe_result *r, void *arg)
{
	struct chain *c = arg;

	assert_int_equal(r->state, PROBE_STATE_OK);
	if (++c->runs < 3)
		assert_int_equal(probe_start(loop, p, &c->s, on_chain, c), 0);
}

static void test_restart_from_done(void **state)
{
	char **argv = ARGV(fixture("exit.sh"), "0", "OK");
	struct chain c;

	memset(&c, 0, sizeof c);
	c.s = spec_of("chain", argv, 5);
	assert_int_equal(probe_start(loop, &c.p, &c.s, on_chain, &c), 0);
	run_until_count(&c.runs, 3, TEST_WATCHDOG);
	assert_int_equal(c.runs, 3);
}

static void test_identity(void **state)
{
	char **id = ARGV("/usr/bin/id");
	char **fds = ARGV(tool("probe-fds"));
	char **missing = ARGV("/nonexistent/check_foo");
	static const gid_t groups[] = {65534, 4};
	struct probe_spec s = spec_of("id", id, 10);
	struct outcome o = {0};
	char expect[256];

	if (geteuid() != 0)
		skip();
	s.change_identity = 1;
	s.uid = 65534;
	s.gid = 65534;
	s.groups = groups;
	s.ngroups = 2;
	run_spec(&s, &o);
	assert_int_equal(o.r.state, PROBE_STATE_OK);
	assert_true(strncmp(o.text, "uid=65534(", 10) == 0);
	assert_non_null(strstr(o.text, " gid=65534("));
	assert_non_null(strstr(o.text, " groups=65534("));
	assert_non_null(strstr(o.text, ",4("));

	s.argv = fds;
	s.ngroups = 0;
	run_spec(&s, &o);
	assert_string_equal(o.text, "0 1 2\n");

	s.argv = missing;
	s.name = "check_foo";
	run_spec(&s, &o);
	assert_int_equal(o.r.how, PROBE_SPAWN_FAILED);
	assert_int_equal(o.r.detail, ENOENT);
	snprintf(expect, sizeof expect, PROBE_MSG_SPAWN, "check_foo", missing[0],
		 "No such file or directory");
	assert_string_equal(o.text, expect);
	outcome_free(&o);
}

/* The fork path, run as nobody, cannot become nobody again with groups. */
static void test_identity_failure(void **state)
{
	char **argv = ARGV("/bin/sh", "-c", "exit 0");
	struct probe_spec s = spec_of("priv", argv, 10);
	static const gid_t groups[] = {0};
	struct outcome o = {0};
	pid_t pid;
	int status;

	if (geteuid() != 0)
		skip();
	/* in a child that dropped root, so the set-up steps fail */
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct probe p;

		ev_loop_fork(loop);
		if (setgroups(0, NULL) != 0 || setgid(65534) != 0 || setuid(65534) != 0)
			_exit(10);
		memset(&p, 0, sizeof p);
		memset(&o, 0, sizeof o);
		s.change_identity = 1;
		s.uid = 0;
		s.gid = 0;
		s.groups = groups;
		s.ngroups = 1;
		if (probe_start(loop, &p, &s, on_done, &o) != 0)
			_exit(11);
		while (!o.calls)
			ev_run(loop, EVRUN_ONCE);
		if (o.r.how != PROBE_SPAWN_FAILED || o.r.detail != EPERM ||
		    strcmp(o.text,
			   "XENVCHAN: Command 'priv': cannot start: setgroups: Operation not "
			   "permitted") != 0)
			_exit(12);
		_exit(0);
	}
	while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
		;
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	assert_non_null(d);
	while (readdir(d) != NULL)
		n++;
	closedir(d);
	return n;
}

static void test_fd_count_flat(void **state)
{
	char **argv = ARGV(fixture("exit.sh"), "0", "OK");
	char **missing = ARGV("/nonexistent/x");
	struct outcome o = {0};
	int before = count_fds();

	for (int i = 0; i < 200; i++) {
		run_argv("loop", i % 10 == 9 ? missing : argv, 10, &o);
		if (i % 10 == 9)
			assert_spawn_failed(&o, ENOENT);
		else
			assert_int_equal(o.r.how, PROBE_EXITED);
	}
	outcome_free(&o);
	assert_int_equal(count_fds(), before);
}

/* Last: every probe above has been reaped. */
static void test_no_zombies(void **state)
{
	settle(0.3);
	errno = 0;
	assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
	assert_int_equal(errno, ECHILD);
}

#define T(f) cmocka_unit_test_teardown(f, arena_free)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_states),
	    T(test_multiline),
	    T(test_true_false_empty),
	    T(test_exit7),
	    T(test_exit7_no_newline),
	    T(test_missing_program),
	    T(test_not_executable),
	    T(test_truncation),
	    T(test_cap_exact),
	    T(test_truncation_with_status),
	    T(test_small_cap),
	    T(test_timeout),
	    T(test_timeout_kills_group),
	    T(test_ignores_sigterm),
	    T(test_grandchild_holds_stdout),
	    T(test_grandchild_timeout_wins),
	    T(test_closed_stdout),
	    T(test_signal),
	    T(test_fds),
	    T(test_fds_low),
	    T(test_env_exact),
	    T(test_env_build),
	    T(test_env_built_reaches_probe),
	    T(test_stderr_to_log),
	    T(test_stderr_bounded),
	    T(test_cancel),
	    T(test_invalid),
	    T(test_restart_from_done),
	    T(test_identity),
	    T(test_identity_failure),
	    T(test_fd_count_flat),
	    T(test_no_zombies),
	};

	static const char *const env[] = {"PATH=/usr/bin:/bin", "LC_ALL=C", NULL};
	int rc;

	default_env = strv_new(env);
	/* As the agent may do: orphaned grandchildren become ours, and
	 * libev's SIGCHLD handler reaps them (without this, how fast they
	 * vanish depends on this machine's init). */
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) == -1)
		perror("prctl");
	loop = ev_default_loop(0);
	log_init("test_probe", 0, 0, LOG_LVL_DEBUG);
	/* The agent ignores SIGPIPE; probes must not inherit that. */
	signal(SIGPIPE, SIG_IGN);
	rc = cmocka_run_group_tests_name("probe", tests, NULL, NULL);
	strv_free(default_env);
	return rc;
}
