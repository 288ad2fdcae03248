/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * probe.h - run one probe (a Nagios plugin) for the agent, without a shell.
 *
 * A probe is one execution of an absolute path with an argv array and an
 * exact environment, in its own process group, stdin from /dev/null,
 * stdout captured up to a cap, stderr sent to the log, every other file
 * descriptor closed, every signal at its default disposition and unblocked.
 * It ends with exactly one call of the caller's done callback, from the
 * libev loop, carrying a Nagios state and the text to send back.
 *
 * Three ways to start the process, chosen per probe:
 *  - through the fork server (spec->srv != NULL, what the agent uses; see
 *    forksrv.h): the unprivileged helper posix_spawns the probe with the
 *    same set-up as below; the pipes go to it over a socketpair, its
 *    process group is signalled by the helper, the exit status comes back
 *    as a message.  A failed spawn is rule 1 (PROBE_MSG_SPAWN, or
 *    PROBE_MSG_SETUP with STEP "probe helper" when the request could not
 *    be sent); a helper that died answers rule 1b.
 *  - posix_spawn (spec->change_identity == 0): glibc implements it with
 *    clone(CLONE_VM|CLONE_VFORK), which is cheap, and reports a failed
 *    execve as its return value.  It cannot change uid, gid or groups.
 *  - fork + execve (spec->change_identity != 0): the agent runs as root
 *    and probes run as nrpe_user/nrpe_group.  The child sets the groups,
 *    gid and uid (checked, and checks that setuid(0) then fails), does the
 *    same descriptor, signal and process-group set-up, calls only
 *    async-signal-safe functions and reports a failure (step and errno)
 *    through a close-on-exec pipe before _exit(127), so both paths give the
 *    same messages.  probe_start() waits for that report (until the execve),
 *    as glibc's posix_spawn does.
 *
 * Requirements on the caller:
 *  - The loop is libev's default loop (ev_default_loop()): ev_child works
 *    only there.  libev's SIGCHLD handler reaps every child of the process,
 *    so an abandoned probe leaves no zombie as long as the loop runs.
 *  - Every descriptor the agent owns is close-on-exec (belt and braces: the
 *    child also closes everything above 2).
 *  - The agent is single-threaded (fork path).
 *
 * Process-group policy: when the result is delivered, the probe's whole
 * process group gets SIGKILL, so a probe cannot leave background processes
 * running.  Probes must not daemonise; a process that leaves the group
 * (setsid, setpgid) escapes this.  probe.c neither needs nor sets
 * PR_SET_CHILD_SUBREAPER: killed or escaped grandchildren are reparented
 * to init, which reaps them; if the agent does set it (the unit tests do,
 * to be independent of the machine's init), they become the agent's and
 * libev's SIGCHLD handler reaps them.  The group id is the probe's pid;
 * Linux does not reuse a pid while it still names a process group, so the
 * final SIGKILL can only miss, never hit a stranger, unless the group
 * emptied and the pid space wrapped around in between (at most
 * PROBE_EOF_GRACE).
 *
 * The fork path blocks the loop from fork to execve (the child's set-up:
 * well under a millisecond of work); posix_spawn does the same in glibc.
 *
 * Result rules, in order ("NAME" is spec->name, clipped to PROBE_NAME_MAX-1
 * bytes; every text is clipped to spec->output_cap):
 *  1. spawn failed (how PROBE_SPAWN_FAILED, detail errno), UNKNOWN:
 *       PROBE_MSG_SPAWN  "XENVCHAN: Command 'NAME': PATH: strerror"  (the
 *                        execve, or posix_spawn, failed; PATH = argv[0])
 *       PROBE_MSG_SETUP  "XENVCHAN: Command 'NAME': cannot start: STEP: strerror"
 *                        (STEP is one of: "/dev/null", "pipe", "fork",
 *                        "setpgid", "setgroups", "setgid", "setuid",
 *                        "dup2", "sigprocmask")
 *       PROBE_MSG_ROOT   "XENVCHAN: Command 'NAME': cannot start: setuid(0) still
 *                        works after dropping privileges" (detail EPERM)
 *  1b. the helper died with the probe in flight (how PROBE_LOST, detail 0),
 *     UNKNOWN, output discarded:
 *       PROBE_MSG_LOST "XENVCHAN: Command 'NAME': the probe helper died: REASON"
 *  2. cancelled by probe_cancel() (how PROBE_CANCELLED), UNKNOWN:
 *       PROBE_MSG_CANCELLED "XENVCHAN: Command 'NAME' cancelled"
 *  3. timeout (how PROBE_TIMEDOUT, detail SIGTERM or SIGKILL: what ended it),
 *     UNKNOWN, the probe's output discarded:
 *       PROBE_MSG_TIMEOUT "XENVCHAN: Command 'NAME' timed out after N seconds"
 *                         (N printed with %g; "1 second" for 1)
 *  4. killed by a signal (how PROBE_SIGNALLED, detail signal), UNKNOWN,
 *     output discarded:
 *       PROBE_MSG_SIGNAL "XENVCHAN: Command 'NAME' killed by signal N (SIGxxx)"
 *                        ("(unknown)" for a signal without a name)
 *  5. exited (how PROBE_EXITED, detail exit status), output empty or only
 *     blanks (space, tab, CR, LF), UNKNOWN whatever the status:
 *       PROBE_MSG_NO_OUTPUT "XENVCHAN: Command 'NAME' produced no output (exit status S)"
 *  6. exited with 0-3: that state, the output byte for byte (nothing
 *     stripped, not even the trailing newline; it may contain any byte,
 *     NUL included: len is authoritative).
 *  7. exited with S > 3: UNKNOWN, the output, a newline unless it ends
 *     with one, then
 *       PROBE_MSG_BAD_STATUS
 *         "XENVCHAN: Command 'NAME' exited with status S (not a plugin state 0-3)"
 *  Truncation (6 and 7): output beyond output_cap bytes is read and
 *  discarded (the probe never blocks on a full pipe) and the text becomes
 *  the first bytes of the output followed by
 *       PROBE_MSG_TRUNCATED "\n[output truncated at CAP bytes by xenvchan-agent]"
 *  (then, for 7, "\n" and the status line), exactly output_cap bytes in all
 *  (with a cap too small even for marker and status line, those alone,
 *  clipped); result->truncated is set.
 *
 * Timing: the result is delivered when the probe has exited and its stdout
 * reached EOF (or the cap), whichever comes last.  At the timeout the group
 * gets SIGTERM, then SIGKILL PROBE_TERM_GRACE seconds later if the probe is
 * still there, and the result is delivered then (without waiting for a
 * process stuck in the kernel).  If the probe exits while something else
 * (a grandchild) keeps stdout open, the agent waits at most PROBE_EOF_GRACE
 * seconds (never past the timeout) for EOF, then kills the group and
 * answers with the exit status and the output read so far.
 *
 * Logging: spawn failures, timeouts, signals and killed leftovers at
 * warning level; stderr lines at warning level as
 * "command 'NAME' (pid P) stderr: LINE" (control characters shown as '?',
 * lines cut at PROBE_STDERR_LINE_MAX, at most PROBE_STDERR_LOG_MAX bytes per
 * probe, then one "further stderr output not logged" line); starts and
 * normal ends at debug level.
 */
#ifndef XV_PROBE_H
#define XV_PROBE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>
#include <sys/types.h>

#include <ev.h>

#include "xvp.h"

/* Nagios plugin states. */
enum probe_state {
	PROBE_STATE_OK = XVP_RESULT_OK,
	PROBE_STATE_WARNING = XVP_RESULT_WARNING,
	PROBE_STATE_CRITICAL = XVP_RESULT_CRITICAL,
	PROBE_STATE_UNKNOWN = XVP_RESULT_UNKNOWN,
};

/* How a probe ended; what result->detail holds. */
enum probe_how {
	PROBE_EXITED = 0,   /* detail: exit status 0-255 */
	PROBE_SIGNALLED,    /* detail: the signal that killed it */
	PROBE_TIMEDOUT,	    /* detail: SIGTERM or SIGKILL, whichever ended it */
	PROBE_SPAWN_FAILED, /* detail: errno */
	PROBE_CANCELLED,    /* detail: 0 */
	PROBE_LOST,	    /* detail: 0; the fork server's helper died */
};

/* Limits. */
#define PROBE_TERM_GRACE 1.0	  /* s from SIGTERM to SIGKILL after a timeout */
#define PROBE_EOF_GRACE 1.0	  /* s to wait for stdout EOF after the probe exited */
#define PROBE_TIMEOUT_MAX 86400.0 /* s, largest accepted spec->timeout */
#define PROBE_OUTPUT_CAP_MIN 256  /* room for a status line (config.h allows 256 too) */
#define PROBE_OUTPUT_CAP_MAX (1024 * 1024)
#define PROBE_NAME_MAX 256	  /* bytes kept of spec->name, NUL included (names: <= 128) */
#define PROBE_STDERR_LINE_MAX 512 /* bytes of one stderr line logged */
#define PROBE_STDERR_LOG_MAX 4096 /* stderr bytes logged per probe */
#define PROBE_READ_BUDGET 65536	  /* bytes read per wake-up, so a flood cannot starve the loop */
#define PROBE_GROUPS_MAX 65536	  /* supplementary groups (Linux NGROUPS_MAX) */

/* The texts of the result rules above (printf formats). */
#define PROBE_MSG_SPAWN "XENVCHAN: Command '%s': %s: %s"
#define PROBE_MSG_SETUP "XENVCHAN: Command '%s': cannot start: %s: %s"
#define PROBE_MSG_ROOT                                                                             \
	"XENVCHAN: Command '%s': cannot start: setuid(0) still works after dropping privileges"
#define PROBE_MSG_LOST "XENVCHAN: Command '%s': the probe helper died: %s"
#define PROBE_MSG_CANCELLED "XENVCHAN: Command '%s' cancelled"
#define PROBE_MSG_TIMEOUT "XENVCHAN: Command '%s' timed out after %g second%s"
#define PROBE_MSG_SIGNAL "XENVCHAN: Command '%s' killed by signal %d (%s)"
#define PROBE_MSG_NO_OUTPUT "XENVCHAN: Command '%s' produced no output (exit status %d)"
#define PROBE_MSG_BAD_STATUS "XENVCHAN: Command '%s' exited with status %d (not a plugin state 0-3)"
#define PROBE_MSG_TRUNCATED "\n[output truncated at %zu bytes by xenvchan-agent]"

/* Environment of probes built by probe_env_build(). */
#define PROBE_ENV_DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

struct forksrv;
struct forksrv_helper;

/* What to run.  Read only during probe_start(): nothing is kept. */
struct probe_spec {
	struct forksrv *srv; /* non-NULL: spawned by the fork server (identity is its own) */
	const char *name;    /* command name, for messages; NULL: argv[0] */
	char *const *argv;   /* argv[0]: absolute path of the program; NULL-terminated */
	char *const *envp;   /* the probe's whole environment; NULL-terminated */
	double timeout;	     /* seconds, > 0 and <= PROBE_TIMEOUT_MAX */
	size_t output_cap;   /* bytes of result text, PROBE_OUTPUT_CAP_MIN..MAX */
	int change_identity; /* 1: fork path, become uid/gid/groups (needs root) */
	uid_t uid;	     /* with change_identity */
	gid_t gid;	     /* with change_identity */
	const gid_t *groups; /* with change_identity: supplementary groups */
	size_t ngroups;	     /* 0: none (setgroups(0, NULL)) */
};

struct probe_result {
	int state; /* enum probe_state */
	enum probe_how how;
	int detail;	    /* see enum probe_how */
	const char *output; /* len bytes then a NUL; valid only during done */
	size_t len;	    /* <= output_cap */
	int truncated;	    /* the output was cut at output_cap */
	pid_t pid;	    /* the probe's pid = process group id; 0 if none */
	double elapsed;	    /* seconds from probe_start() to the result */
};

struct probe;
typedef void probe_done_fn(struct probe *p, const struct probe_result *r, void *arg);

enum probe_phase {
	PROBE_IDLE = 0,	   /* never started, or done */
	PROBE_FAILED,	   /* spawn failed: the result goes out from the loop */
	PROBE_RUNNING,	   /* within its timeout */
	PROBE_DRAINING,	   /* exited; waiting up to PROBE_EOF_GRACE for stdout EOF */
	PROBE_TERMINATING, /* timed out; SIGTERM sent, SIGKILL at the end of the grace */
};

/* One probe.  Embed it anywhere; zero it before first use.  All fields are
 * private to probe.c. */
struct probe {
	struct ev_loop *loop;
	ev_child child_w;
	ev_io out_w;
	ev_io err_w;
	ev_timer timer_w;
	enum probe_phase phase;
	pid_t pid;
	int out_fd, err_fd;
	int wstatus;
	int truncated, killed, err_cut, err_dropped;
	int fail_err;
	char *fail_msg;
	char *buf; /* captured stdout, size bytes allocated */
	size_t len, size, cap;
	size_t errlen, errlogged;
	double timeout, deadline, started;
	probe_done_fn *done;
	void *arg;
	char name[PROBE_NAME_MAX];
	char errline[PROBE_STDERR_LINE_MAX];
	/* fork server: the helper running it, NULL once it is gone */
	struct forksrv_helper *helper;
	LIST_ENTRY(probe) srv_link;
	uint32_t srv_id;
	int srv_spawned; /* FORKSRV_SPAWNED received */
	int srv_exited;	 /* FORKSRV_EXITED received */
	char *path;	 /* argv[0], for PROBE_MSG_SPAWN */
	char *lost;	 /* PROBE_LOST: the reason */
};

/* Checks a spec against the rules in struct probe_spec.  Returns 0, or
 * -EINVAL. */
int probe_spec_check(const struct probe_spec *spec);

/* Starts a probe.  p must be zeroed or idle (its previous done called).
 * Returns 0: done(p, result, arg) will be called exactly once, from the
 * loop (never from inside probe_start), including when the program could
 * not be started.  Returns -EINVAL (bad spec, done NULL, loop not the
 * default loop) or -EBUSY (p is in use); done is then never called.
 * done may free or restart p: probe.c does not touch p after done. */
int probe_start(struct ev_loop *loop, struct probe *p, const struct probe_spec *spec,
		probe_done_fn *done, void *arg);

/* Abandons a probe (its client went away): SIGKILL to its process group,
 * descriptors closed, and done called before probe_cancel returns, with
 * how PROBE_CANCELLED (PROBE_MSG_CANCELLED), even if the program had
 * already finished but the result was not yet delivered.  A no-op on an
 * idle probe.  The killed process is reaped later by libev. */
void probe_cancel(struct probe *p);

/* 1 while a result is still to come (between probe_start and done). */
int probe_busy(const struct probe *p);

/* For forksrv.c: what the helper reported about p (untrusted values, only
 * logged and composed into the result).  Each may call done. */
void probe_srv_spawned(struct probe *p, pid_t pid);
void probe_srv_failed(struct probe *p, int err);
void probe_srv_exited(struct probe *p, int wstatus);
void probe_srv_lost(struct probe *p, const char *reason);

/* The posix_spawn set-up shared by the agent and the helper: in, out, err
 * (all >= 3) become 0, 1, 2, everything else is closed, the child gets its
 * own process group, an empty signal mask and every signal at its default.
 * Returns 0 or an errno value. */
int probe_spawn_fds(const char *path, char *const *argv, char *const *envp, int in, int out,
		    int err, pid_t *pid);

/* Builds a probe environment, exactly:
 *   PATH=<path, or PROBE_ENV_DEFAULT_PATH if NULL>
 *   LC_ALL=C
 *   NRPE_MULTILINESUPPORT=1
 *   NRPE_PROGRAMVERSION=<version>
 * then, in the order of keep (NULL-terminated names, may be NULL), NAME=value
 * for each name set in src (an environ-style array, e.g. environ; may be
 * NULL).  Names already present (the four above, or repeated) are skipped,
 * so the fixed variables cannot be overridden.  Returns one allocation to
 * release with probe_env_free(), or NULL with errno EINVAL (version NULL, a
 * name in keep empty or containing '=') or ENOMEM. */
char **probe_env_build(const char *path, const char *version, const char *const *keep,
		       char *const *src);
void probe_env_free(char **env);

#endif
