/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * forksrv.c - the probe fork server: the agent's side (start, messages,
 * death and replacement of the helper) and the helper itself.  Contracts
 * and the wire format in forksrv.h.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <ev.h>

#include "forksrv.h"
#include "log.h"

LIST_HEAD(forksrv_probes, probe);

struct forksrv_helper {
	LIST_ENTRY(forksrv_helper) link;
	struct forksrv *fs;
	pid_t pid; /* our own child: trusted */
	int sock;
	ev_io io_w;
	ev_child child_w;
	struct forksrv_probes probes;
	unsigned nprobes;
	int retired; /* no new probes; closed when the last one is released */
	int broken;  /* killed by us: why */
	char why[128];
	double started;
	uint32_t first_id; /* the first id sent to this helper */
};

#define helper_of(ptr, member)                                                                     \
	((struct forksrv_helper *)(void *)((char *)(ptr)-offsetof(struct forksrv_helper, member)))

static void put_u32(unsigned char *b, uint32_t v)
{
	memcpy(b, &v, sizeof v);
}

static uint32_t get_u32(const unsigned char *b)
{
	uint32_t v;

	memcpy(&v, b, sizeof v);
	return v;
}

/* ================================================================ helper */

struct helper_slot {
	uint32_t id;
	pid_t pid; /* 0: free */
	int reaped;
};

struct helper_state {
	int sock, devnull, sfd;
	struct helper_slot slots[FORKSRV_PROBES_MAX];
	/* one record, plus one byte to see a record that is too long */
	unsigned char buf[FORKSRV_MSG_MAX + 1];
	char *argv[FORKSRV_ARGS_MAX + 1];
	char *envp[FORKSRV_ARGS_MAX + 1];
};

__attribute__((noreturn)) static void helper_die(int status, const char *what)
{
	/* stderr is the agent's own stderr (or /dev/null as a daemon); the
	 * agent logs the exit status. */
	if (what) {
		char line[200];
		int n = snprintf(line, sizeof line, "xenvchan-agent probe helper: %s: %s\n", what,
				 strerror(errno));
		if (n > 0 && write(2, line, (size_t)n < sizeof line ? (size_t)n : sizeof line) < 0)
			n = 0;
	}
	_exit(status);
}

static void helper_reply(struct helper_state *h, uint32_t type, uint32_t id, int32_t a, int32_t b)
{
	unsigned char m[FORKSRV_REP_LEN];
	ssize_t n;

	put_u32(m, type);
	put_u32(m + 4, id);
	memcpy(m + 8, &a, 4);
	memcpy(m + 12, &b, 4);
	do
		n = send(h->sock, m, sizeof m, MSG_NOSIGNAL);
	while (n == -1 && errno == EINTR);
	if (n != (ssize_t)sizeof m)
		helper_die(0, NULL); /* the agent is gone */
}

static struct helper_slot *helper_find(struct helper_state *h, uint32_t id)
{
	for (size_t i = 0; i < FORKSRV_PROBES_MAX; i++)
		if (h->slots[i].pid != 0 && h->slots[i].id == id)
			return &h->slots[i];
	return NULL;
}

static void helper_killpg(pid_t pgid, int sig)
{
	/* pgid > 1: never kill(0) or kill(-1) */
	if (pgid > 1)
		(void)kill(-pgid, sig);
}

static void helper_kill_all(struct helper_state *h)
{
	for (size_t i = 0; i < FORKSRV_PROBES_MAX; i++)
		if (h->slots[i].pid != 0)
			helper_killpg(h->slots[i].pid, SIGKILL);
}

/* Splits n NUL-terminated strings off *pos..end into v (v[n] = NULL).
 * Returns 0, or -1 if the bytes run out first. */
static int helper_strings(unsigned char **pos, const unsigned char *end, uint32_t n, char **v)
{
	for (uint32_t i = 0; i < n; i++) {
		unsigned char *nul = memchr(*pos, '\0', (size_t)(end - *pos));
		if (nul == NULL)
			return -1;
		v[i] = (char *)*pos;
		*pos = nul + 1;
	}
	v[n] = NULL;
	return 0;
}

static void helper_spawn(struct helper_state *h, size_t len, const int *fds)
{
	unsigned char *pos = h->buf + 16, *end = h->buf + len;
	uint32_t id, untrusted_argc, untrusted_envc, argc, envc;
	struct helper_slot *slot = NULL;
	pid_t pid;
	int rc;

	if (len < 16)
		helper_die(FORKSRV_EXIT_PROTO, NULL);
	id = get_u32(h->buf + 4);
	untrusted_argc = get_u32(h->buf + 8);
	untrusted_envc = get_u32(h->buf + 12);
	if (untrusted_argc < 1 || untrusted_argc > FORKSRV_ARGS_MAX ||
	    untrusted_envc > FORKSRV_ARGS_MAX)
		helper_die(FORKSRV_EXIT_PROTO, NULL);
	argc = untrusted_argc;
	envc = untrusted_envc;
	if (helper_strings(&pos, end, argc, h->argv) < 0 ||
	    helper_strings(&pos, end, envc, h->envp) < 0 || pos != end || h->argv[0][0] != '/' ||
	    helper_find(h, id) != NULL)
		helper_die(FORKSRV_EXIT_PROTO, NULL);
	for (size_t i = 0; i < FORKSRV_PROBES_MAX && !slot; i++)
		if (h->slots[i].pid == 0)
			slot = &h->slots[i];
	if (slot == NULL)
		rc = EAGAIN;
	else
		rc =
		    probe_spawn_fds(h->argv[0], h->argv, h->envp, h->devnull, fds[0], fds[1], &pid);
	close(fds[0]);
	close(fds[1]);
	if (rc != 0) {
		helper_reply(h, FORKSRV_FAILED, id, rc > 0 && rc < 4096 ? rc : EIO, 0);
		return;
	}
	slot->id = id;
	slot->pid = pid;
	slot->reaped = 0;
	helper_reply(h, FORKSRV_SPAWNED, id, pid, 0);
}

static void helper_request(struct helper_state *h)
{
	union {
		char buf[CMSG_SPACE(2 * sizeof(int))];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = {h->buf, sizeof h->buf};
	struct msghdr msg = {0};
	struct cmsghdr *c;
	struct helper_slot *slot;
	int fds[2], nfds = 0;
	uint32_t type, sig;
	ssize_t n;

	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = ctl.buf;
	msg.msg_controllen = sizeof ctl.buf;
	n = recvmsg(h->sock, &msg, MSG_CMSG_CLOEXEC);
	if (n == -1 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		/* EOF: the agent closed us, or is gone.  Nothing may outlive us. */
		helper_kill_all(h);
		helper_die(0, NULL);
	}
	for (c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
		size_t k;
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			helper_die(FORKSRV_EXIT_PROTO, NULL);
		k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < k; i++) {
			int fd;
			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
			if (nfds >= 2)
				helper_die(FORKSRV_EXIT_PROTO, NULL);
			fds[nfds++] = fd;
		}
	}
	if ((msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) || (size_t)n > FORKSRV_MSG_MAX || n < 8)
		helper_die(FORKSRV_EXIT_PROTO, NULL);
	type = get_u32(h->buf);
	if (type == FORKSRV_SPAWN) {
		if (nfds != 2 || fds[0] < 3 || fds[1] < 3)
			helper_die(FORKSRV_EXIT_PROTO, NULL);
		helper_spawn(h, (size_t)n, fds);
		return;
	}
	if (nfds != 0)
		helper_die(FORKSRV_EXIT_PROTO, NULL);
	switch (type) {
	case FORKSRV_SIGNAL:
		if (n != 12)
			helper_die(FORKSRV_EXIT_PROTO, NULL);
		sig = get_u32(h->buf + 8);
		if (sig != SIGTERM && sig != SIGKILL)
			helper_die(FORKSRV_EXIT_PROTO, NULL);
		if ((slot = helper_find(h, get_u32(h->buf + 4))) != NULL)
			helper_killpg(slot->pid, (int)sig);
		break;
	case FORKSRV_RELEASE:
		if (n != 8)
			helper_die(FORKSRV_EXIT_PROTO, NULL);
		if ((slot = helper_find(h, get_u32(h->buf + 4))) != NULL) {
			helper_killpg(slot->pid, SIGKILL);
			/* not reaped yet: waitpid will find no slot, fine */
			slot->pid = 0;
		}
		break;
	case FORKSRV_KILLPG:
		if (n != 8 || get_u32(h->buf + 4) > (uint32_t)INT32_MAX)
			helper_die(FORKSRV_EXIT_PROTO, NULL);
		helper_killpg((pid_t)get_u32(h->buf + 4), SIGKILL);
		break;
	default:
		helper_die(FORKSRV_EXIT_PROTO, NULL);
	}
}

static void helper_reap(struct helper_state *h)
{
	struct signalfd_siginfo si;
	int st;
	pid_t pid;

	while (read(h->sfd, &si, sizeof si) == (ssize_t)sizeof si)
		;
	while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
		for (size_t i = 0; i < FORKSRV_PROBES_MAX; i++) {
			struct helper_slot *s = &h->slots[i];
			if (s->pid == pid && !s->reaped) {
				s->reaped = 1;
				helper_reply(h, FORKSRV_EXITED, s->id, pid, st);
				break;
			}
		}
	}
}

/* The helper: never returns.  Signals are all blocked on entry. */
__attribute__((noreturn)) static void helper_main(int sock, const struct forksrv *fs)
{
	static struct helper_state h;
	struct sigaction sa;
	struct pollfd pfd[2];
	sigset_t chld;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = SIG_DFL;
	for (int sig = 1; sig < NSIG; sig++)
		(void)sigaction(sig, &sa, NULL);
	/* Out of the agent's session and process group: a terminal's ^C or
	 * a signal to the agent's group must not reach the helper. */
	(void)setsid();
	/* Our socket to 3, then nothing else of the agent's stays open. */
	if (sock != 3) {
		if (dup2(sock, 3) == -1)
			helper_die(FORKSRV_EXIT_SETUP, "dup2");
		sock = 3;
	}
	(void)fcntl(3, F_SETFD, FD_CLOEXEC);
	closefrom(4);
	h.sock = sock;
	h.devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (h.devnull < 3)
		helper_die(FORKSRV_EXIT_SETUP, "/dev/null");
	if (fs->change) {
		if (setgroups(fs->ngroups, fs->ngroups ? fs->groups : NULL) == -1)
			helper_die(FORKSRV_EXIT_SETUP, "setgroups");
		if (setresgid(fs->gid, fs->gid, fs->gid) == -1)
			helper_die(FORKSRV_EXIT_SETUP, "setgid");
		if (setresuid(fs->uid, fs->uid, fs->uid) == -1)
			helper_die(FORKSRV_EXIT_SETUP, "setuid");
		if (fs->uid != 0 && setuid(0) != -1) {
			errno = EPERM;
			helper_die(FORKSRV_EXIT_SETUP, "setuid(0) still works after dropping");
		}
	}
	/* Probes share our uid: they must not ptrace us or read our memory
	 * (and through us, write to the agent).  Set after the uid change,
	 * which would reset both. */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == -1)
		helper_die(FORKSRV_EXIT_SETUP, "PR_SET_DUMPABLE");
	/* No PR_SET_PDEATHSIG: when the agent dies its end of the socket
	 * closes, and at that EOF the helper kills its probes' groups first. */
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	h.sfd = signalfd(-1, &chld, SFD_NONBLOCK | SFD_CLOEXEC);
	if (h.sfd == -1)
		helper_die(FORKSRV_EXIT_SETUP, "signalfd");
	/* SIGCHLD stays blocked (signalfd); posix_spawn gives each probe an
	 * empty mask and default dispositions. */
	pfd[0].fd = h.sock;
	pfd[0].events = POLLIN;
	pfd[1].fd = h.sfd;
	pfd[1].events = POLLIN;
	for (;;) {
		if (poll(pfd, 2, -1) == -1) {
			if (errno == EINTR)
				continue;
			helper_die(FORKSRV_EXIT_SETUP, "poll");
		}
		if (pfd[1].revents)
			helper_reap(&h);
		if (pfd[0].revents)
			helper_request(&h);
	}
}

/* ================================================================ agent */

static void forksrv_on_io(struct ev_loop *loop, ev_io *w, int revents);
static void forksrv_on_child(struct ev_loop *loop, ev_child *w, int revents);
static int forksrv_start(struct forksrv *fs);

/* The agent's end of the socket is non-blocking: a wedged helper must not
 * block the agent. */
static int forksrv_send(struct forksrv_helper *h, void *m, size_t len, const int *fds, int nfds)
{
	union {
		char buf[CMSG_SPACE(2 * sizeof(int))];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = {m, len};
	struct msghdr msg = {0};
	struct cmsghdr *c;
	ssize_t n;

	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	if (nfds > 0) {
		memset(&ctl, 0, sizeof ctl);
		msg.msg_control = ctl.buf;
		msg.msg_controllen = CMSG_SPACE((size_t)nfds * sizeof(int));
		c = CMSG_FIRSTHDR(&msg);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN((size_t)nfds * sizeof(int));
		memcpy(CMSG_DATA(c), fds, (size_t)nfds * sizeof(int));
	}
	do
		n = sendmsg(h->sock, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
	while (n == -1 && errno == EINTR);
	if (n == -1)
		return errno;
	return n == (ssize_t)len ? 0 : EIO;
}

static void forksrv_orphan(struct forksrv *fs, pid_t untrusted_pid)
{
	if (untrusted_pid > 1 && fs->norphans < FORKSRV_ORPHANS_MAX)
		fs->orphans[fs->norphans++] = untrusted_pid;
}

/* The next helper kills the groups a dead one left (same uid: a forged
 * pid hurts nobody the probe user could not). */
static void forksrv_kill_orphans(struct forksrv *fs)
{
	unsigned char m[8];

	if (fs->cur == NULL)
		return;
	for (size_t i = 0; i < fs->norphans; i++) {
		put_u32(m, FORKSRV_KILLPG);
		put_u32(m + 4, (uint32_t)fs->orphans[i]);
		if (forksrv_send(fs->cur, m, sizeof m, NULL, 0) != 0)
			break;
	}
	fs->norphans = 0;
}

static void forksrv_helper_free(struct forksrv_helper *h)
{
	struct forksrv *fs = h->fs;

	ev_io_stop(fs->loop, &h->io_w);
	ev_child_stop(fs->loop, &h->child_w);
	if (h->sock >= 0)
		close(h->sock);
	if (fs->cur == h)
		fs->cur = NULL;
	LIST_REMOVE(h, link);
	free(h);
}

/* No more requests to h: its socket closes, it kills what it still knows
 * and exits; the ev_child frees h. */
static void forksrv_close(struct forksrv_helper *h)
{
	ev_io_stop(h->fs->loop, &h->io_w);
	if (h->sock >= 0)
		close(h->sock);
	h->sock = -1;
}

/* h is broken or gone: answer its probes, stop talking to it, make sure it
 * dies.  The ev_child (still active) reaps it and frees h. */
static void forksrv_lost(struct forksrv_helper *h, const char *reason)
{
	struct forksrv *fs = h->fs;
	struct probe *p;

	forksrv_close(h);
	if (ev_is_active(&h->child_w) && !ev_is_pending(&h->child_w))
		(void)kill(h->pid, SIGKILL); /* our unreaped child: the pid is ours */
	if (fs->cur == h)
		fs->cur = NULL;
	while ((p = LIST_FIRST(&h->probes)) != NULL) {
		LIST_REMOVE(p, srv_link);
		h->nprobes--;
		p->helper = NULL;
		if (p->srv_spawned && !p->srv_exited)
			forksrv_orphan(fs, p->pid);
		probe_srv_lost(p, reason);
	}
}

/* The first death restarts at once; helpers that keep dying young are
 * restarted after a growing delay, so a broken set-up cannot spin. */
static void forksrv_schedule_restart(struct forksrv *fs, double lived)
{
	if (fs->closing || fs->cur != NULL)
		return;
	if (lived >= FORKSRV_YOUNG)
		fs->restart_delay = 0;
	if (fs->restart_delay == 0) {
		fs->restart_delay = FORKSRV_RESTART_MIN;
		if (forksrv_start(fs) == 0)
			return;
	} else {
		fs->restart_delay *= 2;
		if (fs->restart_delay > FORKSRV_RESTART_MAX)
			fs->restart_delay = FORKSRV_RESTART_MAX;
	}
	log_warnx("probe helper: starting a new one in %.1f s", fs->restart_delay);
	ev_timer_stop(fs->loop, &fs->restart_w);
	ev_timer_set(&fs->restart_w, fs->restart_delay, 0.);
	ev_timer_start(fs->loop, &fs->restart_w);
}

static void forksrv_on_restart(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct forksrv *fs =
	    (struct forksrv *)(void *)((char *)w - offsetof(struct forksrv, restart_w));

	if (fs->cur == NULL && forksrv_start(fs) != 0)
		forksrv_schedule_restart(fs, 0);
}

static void forksrv_on_child(struct ev_loop *loop, ev_child *w, int revents)
{
	struct forksrv_helper *h = helper_of(w, child_w);
	struct forksrv *fs = h->fs;
	int st = w->rstatus, expected = h->retired;
	double lived = ev_now(loop) - h->started;
	char reason[200];

	ev_child_stop(loop, w);
	if (h->broken)
		snprintf(reason, sizeof reason, "%s", h->why);
	else if (WIFSIGNALED(st))
		snprintf(reason, sizeof reason, "pid %d killed by signal %d (SIG%s)", (int)h->pid,
			 WTERMSIG(st),
			 sigabbrev_np(WTERMSIG(st)) ? sigabbrev_np(WTERMSIG(st)) : "?");
	else
		snprintf(reason, sizeof reason, "pid %d exited with status %d", (int)h->pid,
			 WEXITSTATUS(st));
	if (expected)
		log_debug("probe helper %s", reason);
	else
		log_warnx("probe helper %s", reason);
	fs->died += !expected;
	forksrv_lost(h, reason);
	forksrv_helper_free(h);
	if (!expected)
		forksrv_schedule_restart(fs, lived);
}

static void forksrv_broken(struct forksrv_helper *h, const char *why)
{
	log_warnx("probe helper (pid %d): %s: killing it", (int)h->pid, why);
	h->broken = 1;
	snprintf(h->why, sizeof h->why, "pid %d: %s", (int)h->pid, why);
	forksrv_lost(h, h->why);
}

static struct probe *forksrv_find(struct forksrv_helper *h, uint32_t id)
{
	struct probe *p;

	LIST_FOREACH(p, &h->probes, srv_link)
	if (p->srv_id == id)
		return p;
	return NULL;
}

/* One message from the helper; 0, or -1 when h was declared broken. */
static int forksrv_reply(struct forksrv_helper *h, const unsigned char *m, size_t len)
{
	uint32_t type, id;
	int32_t untrusted_a, untrusted_b;
	struct probe *p;

	if (len != FORKSRV_REP_LEN) {
		forksrv_broken(h, "bad message length");
		return -1;
	}
	type = get_u32(m);
	id = get_u32(m + 4);
	memcpy(&untrusted_a, m + 8, 4);
	memcpy(&untrusted_b, m + 12, 4);
	p = forksrv_find(h, id);
	/* Each id gets SPAWNED then EXITED, or FAILED; anything else is a
	 * helper that lies, and its pids are not believed.  A probe released
	 * (ended, cancelled) while its news was on the way is no lie: the
	 * helper had not read the RELEASE yet.  Ids only grow. */
	if (p == NULL) {
		if (id != 0 && id <= h->fs->next_id && id >= h->first_id)
			return 0;
		forksrv_broken(h, "message for an unknown probe");
		return -1;
	}
	switch (type) {
	case FORKSRV_SPAWNED:
		if (p->srv_spawned || untrusted_a <= 1) {
			forksrv_broken(h, "bad SPAWNED message");
			return -1;
		}
		p->srv_spawned = 1;
		probe_srv_spawned(p, (pid_t)untrusted_a);
		return 0;
	case FORKSRV_FAILED:
		if (p->srv_spawned || untrusted_a <= 0 || untrusted_a >= 4096) {
			forksrv_broken(h, "bad FAILED message");
			return -1;
		}
		LIST_REMOVE(p, srv_link);
		h->nprobes--;
		p->helper = NULL;
		probe_srv_failed(p, untrusted_a);
		break;
	case FORKSRV_EXITED:
		if (!p->srv_spawned || p->srv_exited || untrusted_a != p->pid ||
		    !(WIFEXITED(untrusted_b) || WIFSIGNALED(untrusted_b))) {
			forksrv_broken(h, "bad EXITED message");
			return -1;
		}
		p->srv_exited = 1;
		probe_srv_exited(p, untrusted_b);
		break;
	default:
		forksrv_broken(h, "unknown message type");
		return -1;
	}
	if (h->retired && h->nprobes == 0)
		forksrv_close(h);
	return 0;
}

static void forksrv_on_io(struct ev_loop *loop, ev_io *w, int revents)
{
	struct forksrv_helper *h = helper_of(w, io_w);
	unsigned char m[FORKSRV_REP_LEN + 1];
	struct iovec iov = {m, sizeof m};
	struct msghdr msg;
	ssize_t n;

	for (int i = 0; i < FORKSRV_READ_BUDGET && h->sock >= 0; i++) {
		memset(&msg, 0, sizeof msg);
		msg.msg_iov = &iov;
		msg.msg_iovlen = 1;
		/* No control buffer: descriptors the helper might send are
		 * discarded by the kernel, and MSG_CTRUNC tells us. */
		n = recvmsg(h->sock, &msg, MSG_DONTWAIT);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN)
			return;
		if (n <= 0) {
			/* EOF: it is dying; the reason comes with its exit,
			 * and new probes go to a new helper meanwhile. */
			forksrv_close(h);
			if (h->fs->cur == h)
				h->fs->cur = NULL;
			if (ev_is_active(&h->child_w) && !ev_is_pending(&h->child_w))
				(void)kill(h->pid, SIGKILL);
			return;
		}
		if (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) {
			forksrv_broken(h, "bad message");
			return;
		}
		if (forksrv_reply(h, m, (size_t)n) < 0)
			return;
	}
}

static int forksrv_start(struct forksrv *fs)
{
	struct forksrv_helper *h;
	sigset_t all, old;
	int sv[2], saved;
	pid_t pid;

	h = calloc(1, sizeof *h);
	if (h == NULL) {
		log_warn("probe helper");
		return -1;
	}
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == -1) {
		log_warn("probe helper: socketpair");
		free(h);
		return -1;
	}
	/* Blocked across fork so that no agent handler runs in the child
	 * before it resets them. */
	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, &old);
	pid = fork();
	if (pid == 0) {
		close(sv[0]);
		free(h); /* the agent's record of this helper, not the helper's */
		helper_main(sv[1], fs);
	}
	saved = errno;
	sigprocmask(SIG_SETMASK, &old, NULL);
	close(sv[1]);
	if (pid == -1) {
		errno = saved;
		log_warn("probe helper: fork");
		close(sv[0]);
		free(h);
		return -1;
	}
	if (fcntl(sv[0], F_SETFL, O_NONBLOCK) == -1)
		log_warn("probe helper: O_NONBLOCK");
	h->fs = fs;
	h->pid = pid;
	h->sock = sv[0];
	h->started = ev_now(fs->loop);
	h->first_id = fs->next_id + 1;
	LIST_INIT(&h->probes);
	ev_io_init(&h->io_w, forksrv_on_io, h->sock, EV_READ);
	ev_io_start(fs->loop, &h->io_w);
	ev_child_init(&h->child_w, forksrv_on_child, pid, 0);
	ev_child_start(fs->loop, &h->child_w);
	fs->cur = h;
	LIST_INSERT_HEAD(&fs->helpers, h, link);
	fs->started++;
	if (fs->change)
		log_info("probe helper started: pid %d, uid %d, gid %d", (int)pid, (int)fs->uid,
			 (int)fs->gid);
	else
		log_info("probe helper started: pid %d, this user", (int)pid);
	forksrv_kill_orphans(fs);
	return 0;
}

static int forksrv_ident_set(struct forksrv *fs, const struct forksrv_ident *id)
{
	gid_t *g = NULL;

	if (id->change && id->ngroups > 0) {
		if (id->ngroups > PROBE_GROUPS_MAX || id->groups == NULL)
			return -1;
		g = malloc(id->ngroups * sizeof *g);
		if (g == NULL)
			return -1;
		memcpy(g, id->groups, id->ngroups * sizeof *g);
	}
	free(fs->groups);
	fs->change = id->change;
	fs->uid = id->uid;
	fs->gid = id->gid;
	fs->groups = g;
	fs->ngroups = id->change ? id->ngroups : 0;
	return 0;
}

int forksrv_init(struct forksrv *fs, struct ev_loop *loop, const struct forksrv_ident *id)
{
	memset(fs, 0, sizeof *fs);
	fs->loop = loop;
	LIST_INIT(&fs->helpers);
	ev_init(&fs->restart_w, forksrv_on_restart);
	if (forksrv_ident_set(fs, id) < 0) {
		log_warnx("probe helper: bad identity");
		return -1;
	}
	return forksrv_start(fs);
}

static int forksrv_ident_same(const struct forksrv *fs, const struct forksrv_ident *id)
{
	if (fs->change != id->change)
		return 0;
	if (!id->change)
		return 1;
	return fs->uid == id->uid && fs->gid == id->gid && fs->ngroups == id->ngroups &&
	       (id->ngroups == 0 ||
		memcmp(fs->groups, id->groups, id->ngroups * sizeof(gid_t)) == 0);
}

int forksrv_set_ident(struct forksrv *fs, const struct forksrv_ident *id)
{
	struct forksrv_helper *old = fs->cur;

	if (forksrv_ident_same(fs, id))
		return 0;
	if (forksrv_ident_set(fs, id) < 0) {
		log_warnx("probe helper: bad identity");
		return -1;
	}
	fs->cur = NULL;
	if (old) {
		old->retired = 1;
		if (old->nprobes == 0)
			forksrv_close(old);
	}
	log_info("probe identity changed: replacing the probe helper");
	if (forksrv_start(fs) != 0)
		forksrv_schedule_restart(fs, 0);
	return 0;
}

pid_t forksrv_pid(const struct forksrv *fs)
{
	return fs->cur ? fs->cur->pid : 0;
}

void forksrv_free(struct forksrv *fs)
{
	fs->closing = 1;
	ev_timer_stop(fs->loop, &fs->restart_w);
	/* each helper exits at EOF; libev reaps it if the loop runs on,
	 * init otherwise */
	while (!LIST_EMPTY(&fs->helpers))
		forksrv_helper_free(LIST_FIRST(&fs->helpers));
	fs->cur = NULL;
	free(fs->groups);
	fs->groups = NULL;
}

int forksrv_spawn(struct forksrv *fs, struct probe *p, const struct probe_spec *s, int out_w,
		  int err_w)
{
	struct forksrv_helper *h;
	size_t argc = 0, envc = 0, len = 16, l;
	unsigned char *m, *pos;
	int fds[2] = {out_w, err_w}, rc;

	if (fs->loop == NULL)
		return EINVAL; /* never initialised */
	if (fs->cur == NULL && !fs->closing)
		(void)forksrv_start(fs);
	h = fs->cur;
	if (h == NULL)
		return EAGAIN;
	if (h->nprobes >= FORKSRV_PROBES_MAX)
		return EAGAIN;
	for (; s->argv[argc]; argc++) {
		l = strlen(s->argv[argc]) + 1;
		if (l > FORKSRV_MSG_MAX - len)
			return E2BIG;
		len += l;
	}
	for (; s->envp[envc]; envc++) {
		l = strlen(s->envp[envc]) + 1;
		if (l > FORKSRV_MSG_MAX - len)
			return E2BIG;
		len += l;
	}
	if (argc > FORKSRV_ARGS_MAX || envc > FORKSRV_ARGS_MAX)
		return E2BIG;
	m = malloc(len);
	if (m == NULL)
		return ENOMEM;
	if (++fs->next_id == 0)
		fs->next_id = 1;
	put_u32(m, FORKSRV_SPAWN);
	put_u32(m + 4, fs->next_id);
	put_u32(m + 8, (uint32_t)argc);
	put_u32(m + 12, (uint32_t)envc);
	pos = m + 16;
	for (size_t i = 0; i < argc; i++)
		pos = (unsigned char *)stpcpy((char *)pos, s->argv[i]) + 1;
	for (size_t i = 0; i < envc; i++)
		pos = (unsigned char *)stpcpy((char *)pos, s->envp[i]) + 1;
	rc = forksrv_send(h, m, len, fds, 2);
	free(m);
	if (rc != 0) {
		errno = rc;
		log_warn("probe helper (pid %d): cannot send a request", (int)h->pid);
		return rc;
	}
	p->helper = h;
	p->srv_id = fs->next_id;
	LIST_INSERT_HEAD(&h->probes, p, srv_link);
	h->nprobes++;
	return 0;
}

void forksrv_signal(struct probe *p, int sig)
{
	struct forksrv_helper *h = p->helper;
	unsigned char m[12];

	if (h == NULL || h->sock < 0)
		return;
	put_u32(m, FORKSRV_SIGNAL);
	put_u32(m + 4, p->srv_id);
	put_u32(m + 8, (uint32_t)sig);
	if (forksrv_send(h, m, sizeof m, NULL, 0) != 0)
		log_warn("probe helper (pid %d): cannot send a signal request", (int)h->pid);
}

void forksrv_release(struct probe *p)
{
	struct forksrv_helper *h = p->helper;
	unsigned char m[8];

	if (h == NULL)
		return;
	LIST_REMOVE(p, srv_link);
	h->nprobes--;
	p->helper = NULL;
	if (h->sock < 0)
		return;
	put_u32(m, FORKSRV_RELEASE);
	put_u32(m + 4, p->srv_id);
	if (forksrv_send(h, m, sizeof m, NULL, 0) != 0)
		log_warn("probe helper (pid %d): cannot send a release request", (int)h->pid);
	if (h->retired && h->nprobes == 0)
		forksrv_close(h);
}
