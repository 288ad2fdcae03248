/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * probe.c - run one probe: spawn without a shell, capture, time out, kill
 * the group, compose the result.  Contracts in probe.h.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <math.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <ev.h>

#include "forksrv.h"
#include "log.h"
#include "probe.h"
#include "xvsafe.h"

#define probe_of(ptr, member)                                                                      \
	((struct probe *)(void *)((char *)(ptr)-offsetof(struct probe, member)))

/* Descriptors prepared for the child: all >= 3 and close-on-exec, so the
 * dup2 onto 0, 1 and 2 can never clobber one of them. */
struct probe_fds {
	int devnull, out_r, out_w, err_r, err_w;
};

/* What the fork-path child reports when it cannot exec. */
enum probe_child_step {
	PROBE_STEP_EXEC = 0,
	PROBE_STEP_SETPGID,
	PROBE_STEP_SETGROUPS,
	PROBE_STEP_SETGID,
	PROBE_STEP_SETUID,
	PROBE_STEP_ROOT,
	PROBE_STEP_DUP2,
	PROBE_STEP_SIGMASK,
	PROBE_STEP_COUNT
};

static const char *const probe_step_names[PROBE_STEP_COUNT] = {
    [PROBE_STEP_EXEC] = "execve",	  [PROBE_STEP_SETPGID] = "setpgid",
    [PROBE_STEP_SETGROUPS] = "setgroups", [PROBE_STEP_SETGID] = "setgid",
    [PROBE_STEP_SETUID] = "setuid",	  [PROBE_STEP_ROOT] = "setuid(0)",
    [PROBE_STEP_DUP2] = "dup2",		  [PROBE_STEP_SIGMASK] = "sigprocmask",
};

struct probe_child_report {
	int step;
	int err;
};

static void probe_on_child(struct ev_loop *loop, ev_child *w, int revents);
static void probe_on_out(struct ev_loop *loop, ev_io *w, int revents);
static void probe_on_err(struct ev_loop *loop, ev_io *w, int revents);
static void probe_on_timer(struct ev_loop *loop, ev_timer *w, int revents);

int probe_spec_check(const struct probe_spec *s)
{
	if (s == NULL || s->argv == NULL || s->argv[0] == NULL || s->argv[0][0] != '/' ||
	    s->envp == NULL)
		return -EINVAL;
	if (!isfinite(s->timeout) || s->timeout <= 0 || s->timeout > PROBE_TIMEOUT_MAX)
		return -EINVAL;
	if (s->output_cap < PROBE_OUTPUT_CAP_MIN || s->output_cap > PROBE_OUTPUT_CAP_MAX)
		return -EINVAL;
	if (s->change_identity &&
	    ((s->ngroups > 0 && s->groups == NULL) || s->ngroups > PROBE_GROUPS_MAX))
		return -EINVAL;
	return 0;
}

int probe_busy(const struct probe *p)
{
	return p->phase != PROBE_IDLE;
}

/* ------------------------------------------------------------ spawning */

/* Moves fd to a number >= 3 (close-on-exec); returns the new fd or -1. */
static int probe_fd_high(int fd)
{
	int nfd, saved;

	if (fd < 0 || fd >= 3)
		return fd;
	nfd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	saved = errno;
	close(fd);
	errno = saved;
	return nfd;
}

static void probe_fds_close(struct probe_fds *f)
{
	int *all[] = {&f->devnull, &f->out_r, &f->out_w, &f->err_r, &f->err_w};

	for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
		if (*all[i] >= 0)
			close(*all[i]);
		*all[i] = -1;
	}
}

/* Returns 0, or an errno value with *step naming what failed. */
static int probe_fds_open(struct probe_fds *f, const char **step)
{
	int out[2], err[2];

	f->devnull = f->out_r = f->out_w = f->err_r = f->err_w = -1;
	*step = "/dev/null";
	f->devnull = probe_fd_high(open("/dev/null", O_RDONLY | O_CLOEXEC));
	if (f->devnull < 0)
		return errno;
	*step = "pipe";
	if (pipe2(out, O_CLOEXEC) == -1)
		return errno;
	f->out_r = probe_fd_high(out[0]);
	f->out_w = probe_fd_high(out[1]);
	if (f->out_r < 0 || f->out_w < 0)
		return errno;
	if (pipe2(err, O_CLOEXEC) == -1)
		return errno;
	f->err_r = probe_fd_high(err[0]);
	f->err_w = probe_fd_high(err[1]);
	if (f->err_r < 0 || f->err_w < 0)
		return errno;
	/* Only our ends are non-blocking: the probe gets ordinary pipes. */
	if (fcntl(f->out_r, F_SETFL, O_NONBLOCK) == -1 ||
	    fcntl(f->err_r, F_SETFL, O_NONBLOCK) == -1)
		return errno;
	*step = NULL;
	return 0;
}

int probe_spawn_fds(const char *path, char *const *argv, char *const *envp, int in, int out,
		    int err, pid_t *pid)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t none, all;
	int rc;

	sigemptyset(&none);
	/* Every signal to its default: the agent's handlers and ignored ones
	 * (SIGPIPE) must not leak into the plugin. */
	sigfillset(&all);
	if ((rc = posix_spawn_file_actions_init(&fa)) != 0)
		return rc;
	if ((rc = posix_spawnattr_init(&at)) != 0) {
		posix_spawn_file_actions_destroy(&fa);
		return rc;
	}
	if ((rc = posix_spawn_file_actions_adddup2(&fa, in, 0)) == 0 &&
	    (rc = posix_spawn_file_actions_adddup2(&fa, out, 1)) == 0 &&
	    (rc = posix_spawn_file_actions_adddup2(&fa, err, 2)) == 0 &&
	    (rc = posix_spawn_file_actions_addclosefrom_np(&fa, 3)) == 0 &&
	    (rc = posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
						    POSIX_SPAWN_SETSIGDEF)) == 0 &&
	    (rc = posix_spawnattr_setpgroup(&at, 0)) == 0 &&
	    (rc = posix_spawnattr_setsigmask(&at, &none)) == 0 &&
	    (rc = posix_spawnattr_setsigdefault(&at, &all)) == 0)
		rc = posix_spawn(pid, path, &fa, &at, argv, envp);
	posix_spawnattr_destroy(&at);
	posix_spawn_file_actions_destroy(&fa);
	return rc;
}

/* The common case.  Returns 0 or an errno value (the execve's own, or a
 * set-up failure, which glibc does not tell apart). */
static int probe_spawn_posix(const struct probe_spec *s, const struct probe_fds *f, pid_t *pid)
{
	return probe_spawn_fds(s->argv[0], s->argv, s->envp, f->devnull, f->out_w, f->err_w, pid);
}

/* The fork-path child: async-signal-safe calls only, never returns. */
__attribute__((noreturn)) static void
probe_child(const struct probe_spec *s, const struct probe_fds *f, int report, const sigset_t *none)
{
	struct probe_child_report rep = {PROBE_STEP_EXEC, 0};
	struct sigaction sa;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = SIG_DFL;
	/* Signals are still blocked (the parent blocked them all around
	 * fork), so no agent handler can run here before this. */
	for (int sig = 1; sig < NSIG; sig++)
		(void)sigaction(sig, &sa, NULL);
	if (setpgid(0, 0) == -1) {
		rep.step = PROBE_STEP_SETPGID;
		goto fail;
	}
	if (setgroups(s->ngroups, s->ngroups ? s->groups : NULL) == -1) {
		rep.step = PROBE_STEP_SETGROUPS;
		goto fail;
	}
	if (setresgid(s->gid, s->gid, s->gid) == -1) {
		rep.step = PROBE_STEP_SETGID;
		goto fail;
	}
	if (setresuid(s->uid, s->uid, s->uid) == -1) {
		rep.step = PROBE_STEP_SETUID;
		goto fail;
	}
	if (s->uid != 0 && setuid(0) != -1) {
		rep.step = PROBE_STEP_ROOT;
		errno = EPERM;
		goto fail;
	}
	if (dup2(f->devnull, 0) == -1 || dup2(f->out_w, 1) == -1 || dup2(f->err_w, 2) == -1) {
		rep.step = PROBE_STEP_DUP2;
		goto fail;
	}
	/* The report pipe goes to 3 (close-on-exec) and everything above it
	 * is closed; the other fds in f are no longer needed. */
	if (report != 3) {
		if (dup2(report, 3) == -1 || fcntl(3, F_SETFD, FD_CLOEXEC) == -1) {
			rep.step = PROBE_STEP_DUP2;
			goto fail;
		}
		report = 3;
	}
	closefrom(4);
	if (sigprocmask(SIG_SETMASK, none, NULL) == -1) {
		rep.step = PROBE_STEP_SIGMASK;
		goto fail;
	}
	execve(s->argv[0], s->argv, s->envp);
fail:
	rep.err = errno;
	ssize_t w = write(report, &rep, sizeof rep);
	(void)w;
	_exit(127);
}

/* Probes that must change identity.  Returns 0, or an errno value with
 * *step naming the failed set-up step (NULL: the execve failed). */
static int probe_spawn_fork(const struct probe_spec *s, const struct probe_fds *f, pid_t *pidp,
			    const char **step)
{
	struct probe_child_report rep;
	sigset_t all, old, none;
	int rp[2], saved;
	ssize_t n;
	pid_t pid;

	*step = "pipe";
	if (pipe2(rp, O_CLOEXEC) == -1)
		return errno;
	rp[1] = probe_fd_high(rp[1]);
	if (rp[1] < 0) {
		saved = errno;
		close(rp[0]);
		return saved;
	}
	sigfillset(&all);
	sigemptyset(&none);
	/* Blocked across fork so that no agent signal handler (libev's
	 * SIGCHLD one) runs in the child before it resets them. */
	sigprocmask(SIG_SETMASK, &all, &old);
	pid = fork();
	if (pid == 0)
		probe_child(s, f, rp[1], &none);
	saved = errno;
	sigprocmask(SIG_SETMASK, &old, NULL);
	close(rp[1]);
	if (pid == -1) {
		close(rp[0]);
		*step = "fork";
		return saved;
	}
	/* EOF: the execve succeeded (the pipe was close-on-exec).  Writes
	 * this small to a pipe are atomic, so a report is all or nothing. */
	do
		n = read(rp[0], &rep, sizeof rep);
	while (n == -1 && errno == EINTR);
	close(rp[0]);
	if (n == 0) {
		*pidp = pid;
		*step = NULL;
		return 0;
	}
	/* The child is about to _exit: reap it now, before libev's handler
	 * can run. */
	while (waitpid(pid, NULL, 0) == -1 && errno == EINTR)
		;
	if (n != (ssize_t)sizeof rep || rep.step < 0 || rep.step >= PROBE_STEP_COUNT) {
		*step = "fork";
		return EIO;
	}
	*step = rep.step == PROBE_STEP_EXEC ? NULL : probe_step_names[rep.step];
	return rep.err ? rep.err : EPERM;
}

/* ------------------------------------------------------------ results */

static int probe_blank(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n')
			return 0;
	return 1;
}

/* A status line composed here: a message and the command name. */
#define PROBE_LINE_MAX (PROBE_NAME_MAX + 128)

/*
 * Writes into out (cap + 1 bytes) the output (body, blen bytes), then a
 * newline and the trailer if any, all within cap.  If that does not fit,
 * or the output was already cut, the body is shortened and the truncation
 * marker goes between body and trailer (with a cap too small even for
 * those, the marker and trailer alone, clipped).  Returns the length; sets
 * *truncated.
 */
static size_t probe_assemble(char *out, size_t cap, const char *body, size_t blen, int cut,
			     const char *trailer, int *truncated)
{
	char tail[PROBE_LINE_MAX + 80];
	size_t tlen, keep, n;
	int sep = trailer && blen > 0 && body[blen - 1] != '\n';

	tlen = trailer ? strlen(trailer) : 0;
	if (!cut && blen <= cap && tlen + (size_t)sep <= cap - blen) {
		memcpy(out, body, blen);
		n = blen;
		if (sep)
			out[n++] = '\n';
		memcpy(out + n, trailer ? trailer : "", tlen);
		n += tlen;
		out[n] = '\0';
		*truncated = 0;
		return n;
	}
	n = (size_t)snprintf(tail, sizeof tail, PROBE_MSG_TRUNCATED "%s%s", cap,
			     trailer ? "\n" : "", trailer ? trailer : "");
	tlen = n < sizeof tail ? n : sizeof tail - 1;
	if (tlen > cap)
		tlen = cap;
	keep = cap - tlen < blen ? cap - tlen : blen;
	memcpy(out, body, keep);
	memcpy(out + keep, tail, tlen);
	out[keep + tlen] = '\0';
	*truncated = 1;
	return keep + tlen;
}

/* Fills r; the text goes into a new buffer (*text, cap + 1 bytes). */
static void probe_compose(struct probe *p, enum probe_how how, struct probe_result *r, char **text)
{
	char line[PROBE_LINE_MAX];
	const char *body = p->buf ? p->buf : "", *abbrev, *trailer = NULL;
	int st;

	r->how = how;
	r->state = PROBE_STATE_UNKNOWN;
	*text = malloc(p->cap + 1);
	if (*text == NULL) {
		r->output = "XENVCHAN: Out of memory composing the result";
		r->len = strlen(r->output);
		return;
	}
	r->output = *text;
	switch (how) {
	case PROBE_SPAWN_FAILED:
		r->detail = p->fail_err;
		snprintf(*text, p->cap + 1, "%s",
			 p->fail_msg ? p->fail_msg : "XENVCHAN: Out of memory");
		break;
	case PROBE_CANCELLED:
		snprintf(*text, p->cap + 1, PROBE_MSG_CANCELLED, p->name);
		break;
	case PROBE_LOST:
		snprintf(*text, p->cap + 1, PROBE_MSG_LOST, p->name, p->lost ? p->lost : "unknown");
		break;
	case PROBE_TIMEDOUT:
		r->detail = p->killed ? SIGKILL : SIGTERM;
		snprintf(*text, p->cap + 1, PROBE_MSG_TIMEOUT, p->name, p->timeout,
			 p->timeout == 1.0 ? "" : "s");
		break;
	case PROBE_SIGNALLED:
		r->detail = WTERMSIG(p->wstatus);
		abbrev = sigabbrev_np(r->detail);
		snprintf(line, sizeof line, "SIG%s", abbrev ? abbrev : "");
		snprintf(*text, p->cap + 1, PROBE_MSG_SIGNAL, p->name, r->detail,
			 abbrev ? line : "unknown");
		break;
	case PROBE_EXITED:
		st = WEXITSTATUS(p->wstatus);
		r->detail = st;
		if (!p->truncated && probe_blank(body, p->len)) {
			snprintf(*text, p->cap + 1, PROBE_MSG_NO_OUTPUT, p->name, st);
			break;
		}
		if (st <= PROBE_STATE_UNKNOWN) {
			r->state = st;
		} else {
			snprintf(line, sizeof line, PROBE_MSG_BAD_STATUS, p->name, st);
			trailer = line;
		}
		r->len = probe_assemble(*text, p->cap, body, p->len, p->truncated, trailer,
					&r->truncated);
		return;
	}
	r->len = strlen(*text);
}

/* ------------------------------------------------------------ running */

static void probe_signal_group(struct probe *p, int sig)
{
	/* Through the fork server: its helper (the probe user) signals the
	 * group; once the helper is gone there is nobody to ask. */
	if (p->srv_id != 0) {
		if (p->helper)
			forksrv_signal(p, sig);
		return;
	}
	/* pid > 1 always holds for a started probe; the check keeps a bug
	 * from turning this into kill(0) or kill(-1). */
	if (p->pid > 1 && kill(-p->pid, sig) == -1 && errno != ESRCH)
		log_warn("command '%s' (pid %d): kill group", p->name, (int)p->pid);
}

static void probe_err_flush(struct probe *p)
{
	if (p->errlen == 0 && !p->err_cut)
		return;
	if (p->errlogged < PROBE_STDERR_LOG_MAX) {
		/* a probe's bytes reach the log only through the one sanitiser */
		char safe[4 * PROBE_STDERR_LINE_MAX + XVSAFE_MIN_DST];

		xvsafe_text(safe, sizeof safe, p->errline, p->errlen, NULL);
		log_warnx("command '%s' (pid %d) stderr: %s%s", p->name, (int)p->pid, safe,
			  p->err_cut ? " [...]" : "");
		p->errlogged += p->errlen;
	} else if (!p->err_dropped) {
		log_warnx("command '%s' (pid %d): further stderr output not logged", p->name,
			  (int)p->pid);
		p->err_dropped = 1;
	}
	p->errlen = 0;
	p->err_cut = 0;
}

/* Reads stderr into lines for the log.  Returns 1 at EOF (or error). */
static int probe_read_err(struct probe *p)
{
	char chunk[4096];
	size_t budget = PROBE_READ_BUDGET;
	ssize_t n;

	while (budget > 0) {
		n = read(p->err_fd, chunk, sizeof chunk < budget ? sizeof chunk : budget);
		if (n == 0)
			return 1;
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				return 0;
			log_warn("command '%s' (pid %d): read stderr", p->name, (int)p->pid);
			return 1;
		}
		budget -= (size_t)n;
		for (ssize_t i = 0; i < n; i++) {
			unsigned char c = (unsigned char)chunk[i];
			if (c == '\n') {
				probe_err_flush(p);
				continue;
			}
			if (p->errlen >= sizeof p->errline - 1) {
				p->err_cut = 1;
				continue;
			}
			/* kept raw: probe_err_flush escapes it (proto/xvsafe.h) */
			p->errline[p->errlen++] = (char)c;
		}
	}
	return 0;
}

/* Reads stdout up to the cap, then discards.  Returns 1 at EOF (or error). */
static int probe_read_out(struct probe *p)
{
	char scratch[4096];
	size_t budget = PROBE_READ_BUDGET, room, nsize;
	ssize_t n;
	char *dst, *nbuf;

	while (budget > 0) {
		dst = scratch;
		room = sizeof scratch;
		if (!p->truncated && p->len < p->cap) {
			if (p->size - p->len <= 1) {
				/* Grow geometrically; the NUL slot is kept. */
				nsize = p->size ? p->size * 2 : 4096;
				if (nsize > p->cap + 1)
					nsize = p->cap + 1;
				nbuf = realloc(p->buf, nsize);
				if (nbuf == NULL) {
					log_warnx(
					    "command '%s': out of memory: output cut at %zu bytes",
					    p->name, p->len);
					p->truncated = 1;
				} else {
					p->buf = nbuf;
					p->size = nsize;
				}
			}
			if (!p->truncated) {
				dst = p->buf + p->len;
				room = p->size - 1 - p->len;
			}
		}
		if (room > budget)
			room = budget;
		n = read(p->out_fd, dst, room);
		if (n == 0)
			return 1;
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				return 0;
			log_warn("command '%s' (pid %d): read output", p->name, (int)p->pid);
			return 1;
		}
		budget -= (size_t)n;
		if (dst == scratch)
			p->truncated = 1;
		else
			p->len += (size_t)n;
	}
	return 0;
}

static void probe_close_out(struct probe *p)
{
	if (p->out_fd < 0)
		return;
	ev_io_stop(p->loop, &p->out_w);
	close(p->out_fd);
	p->out_fd = -1;
}

static void probe_close_err(struct probe *p)
{
	if (p->err_fd < 0)
		return;
	ev_io_stop(p->loop, &p->err_w);
	close(p->err_fd);
	p->err_fd = -1;
}

static int probe_out_done(const struct probe *p)
{
	return p->out_fd < 0 || p->truncated;
}

static void probe_finish(struct probe *p, enum probe_how how)
{
	struct probe_result r;
	probe_done_fn *done = p->done;
	void *arg = p->arg;
	char *text = NULL, *buf, *fail_msg;

	ev_timer_stop(p->loop, &p->timer_w);
	ev_child_stop(p->loop, &p->child_w);
	/* Whatever is left of the group goes now: probes must not leave
	 * processes behind.  Harmless if the group is already empty. */
	if (p->srv_id != 0) {
		if (p->helper)
			forksrv_release(p);
	} else if (p->pid > 0) {
		probe_signal_group(p, SIGKILL);
	}
	if (p->err_fd >= 0 && how != PROBE_CANCELLED)
		(void)probe_read_err(p);
	probe_err_flush(p);
	probe_close_err(p);
	probe_close_out(p);

	memset(&r, 0, sizeof r);
	probe_compose(p, how, &r, &text);
	r.pid = p->pid;
	r.elapsed = ev_time() - p->started;
	if (how == PROBE_EXITED)
		log_debug("command '%s' (pid %d) exited with status %d after %.3f s: state %d, %zu "
			  "bytes%s",
			  p->name, (int)p->pid, r.detail, r.elapsed, r.state, r.len,
			  r.truncated ? " (truncated)" : "");
	else if (how == PROBE_SIGNALLED)
		log_warnx("%s", r.output);

	/* Nothing of p is used after done: it may free or restart p. */
	buf = p->buf;
	fail_msg = p->fail_msg;
	p->buf = NULL;
	p->fail_msg = NULL;
	p->size = p->len = 0;
	free(p->path);
	free(p->lost);
	p->path = p->lost = NULL;
	p->srv_id = 0;
	p->phase = PROBE_IDLE;
	done(p, &r, arg);
	free(text);
	free(buf);
	free(fail_msg);
}

static void probe_exited(struct probe *p, int wstatus)
{
	struct ev_loop *loop = p->loop;
	double grace;

	p->wstatus = wstatus;
	if (p->phase == PROBE_TERMINATING) {
		probe_finish(p, PROBE_TIMEDOUT);
		return;
	}
	if (WIFSIGNALED(p->wstatus)) {
		probe_finish(p, PROBE_SIGNALLED);
		return;
	}
	if (probe_out_done(p)) {
		probe_finish(p, PROBE_EXITED);
		return;
	}
	/* Exited, but stdout is still open: most often EOF is already
	 * waiting; if a leftover process holds it, do not wait long. */
	grace = p->deadline - ev_now(loop);
	if (grace > PROBE_EOF_GRACE)
		grace = PROBE_EOF_GRACE;
	if (grace < 0)
		grace = 0;
	p->phase = PROBE_DRAINING;
	ev_timer_stop(loop, &p->timer_w);
	ev_timer_set(&p->timer_w, grace, 0.);
	ev_timer_start(loop, &p->timer_w);
}

static void probe_on_child(struct ev_loop *loop, ev_child *w, int revents)
{
	struct probe *p = probe_of(w, child_w);

	ev_child_stop(loop, w);
	probe_exited(p, w->rstatus);
}

void probe_srv_spawned(struct probe *p, pid_t pid)
{
	p->pid = pid;
	log_debug("command '%s' started by the probe helper: pid %d, %s", p->name, (int)pid,
		  p->path);
}

void probe_srv_exited(struct probe *p, int wstatus)
{
	if (p->phase == PROBE_IDLE || p->phase == PROBE_FAILED)
		return;
	probe_exited(p, wstatus);
}

void probe_srv_failed(struct probe *p, int err)
{
	if (asprintf(&p->fail_msg, PROBE_MSG_SPAWN, p->name, p->path, strerror(err)) < 0)
		p->fail_msg = NULL;
	else
		log_warnx("%s", p->fail_msg);
	p->fail_err = err;
	probe_finish(p, PROBE_SPAWN_FAILED);
}

void probe_srv_lost(struct probe *p, const char *reason)
{
	p->lost = strdup(reason);
	log_warnx("command '%s' (pid %d): the probe helper died: %s", p->name, (int)p->pid, reason);
	probe_finish(p, PROBE_LOST);
}

static void probe_on_out(struct ev_loop *loop, ev_io *w, int revents)
{
	struct probe *p = probe_of(w, out_w);

	if (probe_read_out(p))
		probe_close_out(p);
	if (p->phase == PROBE_DRAINING && probe_out_done(p))
		probe_finish(p, PROBE_EXITED);
}

static void probe_on_err(struct ev_loop *loop, ev_io *w, int revents)
{
	struct probe *p = probe_of(w, err_w);

	if (probe_read_err(p)) {
		probe_err_flush(p);
		probe_close_err(p);
	}
}

static void probe_on_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct probe *p = probe_of(w, timer_w);

	switch (p->phase) {
	case PROBE_FAILED:
		probe_finish(p, PROBE_SPAWN_FAILED);
		break;
	case PROBE_RUNNING:
		log_warnx(
		    "command '%s' (pid %d) timed out after %g s: SIGTERM to its process group",
		    p->name, (int)p->pid, p->timeout);
		probe_signal_group(p, SIGTERM);
		p->phase = PROBE_TERMINATING;
		ev_timer_set(w, PROBE_TERM_GRACE, 0.);
		ev_timer_start(loop, w);
		break;
	case PROBE_TERMINATING:
		log_warnx("command '%s' (pid %d) still running %g s after SIGTERM: SIGKILL",
			  p->name, (int)p->pid, PROBE_TERM_GRACE);
		p->killed = 1;
		probe_finish(p, PROBE_TIMEDOUT);
		break;
	case PROBE_DRAINING:
		log_warnx("command '%s' (pid %d) exited but its output was still open: killing "
			  "leftover processes",
			  p->name, (int)p->pid);
		probe_signal_group(p, SIGKILL);
		if (p->out_fd >= 0)
			(void)probe_read_out(p);
		probe_finish(p, PROBE_EXITED);
		break;
	case PROBE_IDLE:
		break;
	}
}

int probe_start(struct ev_loop *loop, struct probe *p, const struct probe_spec *s,
		probe_done_fn *done, void *arg)
{
	struct probe_fds f;
	const char *step = NULL, *name;
	pid_t pid = 0;
	int rc, n;

	if (loop == NULL || done == NULL || !ev_is_default_loop(loop) || probe_spec_check(s) != 0)
		return -EINVAL;
	if (p->phase != PROBE_IDLE)
		return -EBUSY;
	memset(p, 0, sizeof *p);
	p->loop = loop;
	p->out_fd = p->err_fd = -1;
	p->cap = s->output_cap;
	p->timeout = s->timeout;
	p->done = done;
	p->arg = arg;
	p->started = ev_time();
	p->deadline = ev_now(loop) + s->timeout;
	name = s->name ? s->name : s->argv[0];
	snprintf(p->name, sizeof p->name, "%s", name);
	ev_init(&p->timer_w, probe_on_timer);

	rc = probe_fds_open(&f, &step);
	if (rc == 0 && s->srv) {
		p->path = strdup(s->argv[0]);
		rc = p->path ? forksrv_spawn(s->srv, p, s, f.out_w, f.err_w) : ENOMEM;
		if (rc != 0)
			step = "probe helper";
	} else if (rc == 0) {
		if (s->change_identity)
			rc = probe_spawn_fork(s, &f, &pid, &step);
		else
			rc = probe_spawn_posix(s, &f, &pid);
	}
	if (rc != 0) {
		probe_fds_close(&f);
		if (step && strcmp(step, probe_step_names[PROBE_STEP_ROOT]) == 0)
			n = asprintf(&p->fail_msg, PROBE_MSG_ROOT, p->name);
		else if (step)
			n = asprintf(&p->fail_msg, PROBE_MSG_SETUP, p->name, step, strerror(rc));
		else
			n = asprintf(&p->fail_msg, PROBE_MSG_SPAWN, p->name, s->argv[0],
				     strerror(rc));
		if (n < 0)
			p->fail_msg = NULL;
		else
			log_warnx("%s", p->fail_msg);
		p->fail_err = rc;
		p->phase = PROBE_FAILED;
		/* Delivered from the loop, never from inside probe_start. */
		ev_timer_set(&p->timer_w, 0., 0.);
		ev_timer_start(loop, &p->timer_w);
		return 0;
	}
	close(f.devnull);
	close(f.out_w);
	close(f.err_w);
	p->pid = pid;
	p->out_fd = f.out_r;
	p->err_fd = f.err_r;
	p->phase = PROBE_RUNNING;
	/* Through the fork server the exit comes as a message. */
	if (!s->srv) {
		ev_child_init(&p->child_w, probe_on_child, pid, 0);
		ev_child_start(loop, &p->child_w);
	}
	ev_io_init(&p->out_w, probe_on_out, p->out_fd, EV_READ);
	ev_io_start(loop, &p->out_w);
	ev_io_init(&p->err_w, probe_on_err, p->err_fd, EV_READ);
	ev_io_start(loop, &p->err_w);
	ev_timer_set(&p->timer_w, s->timeout, 0.);
	ev_timer_start(loop, &p->timer_w);
	if (!s->srv)
		log_debug("command '%s' started: pid %d, %s", p->name, (int)pid, s->argv[0]);
	return 0;
}

void probe_cancel(struct probe *p)
{
	if (p->phase == PROBE_IDLE)
		return;
	log_debug("command '%s' (pid %d) cancelled", p->name, (int)p->pid);
	probe_finish(p, PROBE_CANCELLED);
}

/* ------------------------------------------------------------ environment */

static const char *const probe_env_fixed[] = {"PATH", "LC_ALL", "NRPE_MULTILINESUPPORT",
					      "NRPE_PROGRAMVERSION"};
#define PROBE_ENV_NFIXED (sizeof probe_env_fixed / sizeof probe_env_fixed[0])

/* The src entry that keep[i] selects, or NULL (not set, a fixed name, or
 * a repeat).  Both passes of probe_env_build use it, so they agree. */
static const char *probe_env_pick(const char *const *keep, size_t i, char *const *src)
{
	size_t nlen = strlen(keep[i]);

	for (size_t j = 0; j < PROBE_ENV_NFIXED; j++)
		if (strcmp(keep[i], probe_env_fixed[j]) == 0)
			return NULL;
	for (size_t j = 0; j < i; j++)
		if (strcmp(keep[i], keep[j]) == 0)
			return NULL;
	for (size_t j = 0; src && src[j]; j++)
		if (strncmp(src[j], keep[i], nlen) == 0 && src[j][nlen] == '=')
			return src[j];
	return NULL;
}

char **probe_env_build(const char *path, const char *version, const char *const *keep,
		       char *const *src)
{
	const char *values[PROBE_ENV_NFIXED];
	const char *e;
	size_t nkeep = 0, n = PROBE_ENV_NFIXED, size = 0, off;
	char **env, *s;

	if (version == NULL) {
		errno = EINVAL;
		return NULL;
	}
	values[0] = path ? path : PROBE_ENV_DEFAULT_PATH;
	values[1] = "C";
	values[2] = "1";
	values[3] = version;
	for (size_t i = 0; keep && keep[i]; i++) {
		if (keep[i][0] == '\0' || strchr(keep[i], '=') != NULL) {
			errno = EINVAL;
			return NULL;
		}
		nkeep++;
	}
	for (size_t i = 0; i < PROBE_ENV_NFIXED; i++)
		size += strlen(probe_env_fixed[i]) + 1 + strlen(values[i]) + 1;
	for (size_t i = 0; i < nkeep; i++)
		if ((e = probe_env_pick(keep, i, src)) != NULL) {
			size += strlen(e) + 1;
			n++;
		}
	off = (n + 1) * sizeof(char *);
	env = malloc(off + size);
	if (env == NULL)
		return NULL;
	s = (char *)env + off;
	n = 0;
	for (size_t i = 0; i < PROBE_ENV_NFIXED; i++) {
		env[n++] = s;
		s += sprintf(s, "%s=%s", probe_env_fixed[i], values[i]) + 1;
	}
	for (size_t i = 0; i < nkeep; i++)
		if ((e = probe_env_pick(keep, i, src)) != NULL) {
			env[n++] = s;
			s = stpcpy(s, e) + 1;
		}
	env[n] = NULL;
	return env;
}

void probe_env_free(char **env)
{
	free(env);
}
