/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * forksrv.h - the probe fork server: one unprivileged helper process that
 * spawns every probe, so the root agent never forks per probe.
 *
 * At forksrv_init (and whenever a helper must be replaced) the agent forks
 * once.  The child becomes the helper: its own session, every descriptor
 * closed but its end of a SOCK_SEQPACKET socketpair, every signal at its
 * default disposition, then (agent running as root) setgroups, setresgid,
 * setresuid to the probe user for good, checked (setuid(0) must fail),
 * then PR_SET_DUMPABLE 0.  From then on it
 * posix_spawns probes on request, reaps them and signals their process
 * groups.  An agent that is not root starts the helper as its own user.
 *
 * Why the helper, not the agent, signals the groups: the helper runs as
 * the probe user, so its messages are as trustworthy as a probe.  The
 * agent never uses a pid it reads from the helper for anything but log
 * lines and for asking the next helper (same uid) to kill a dead helper's
 * orphaned groups: a forged pid can never make root signal anything.  The
 * helper is not dumpable, so the probes (same uid) cannot ptrace it or
 * read its memory; the root agent is protected from them by its uid.
 *
 * Wire format (one message per SOCK_SEQPACKET record, host byte order:
 * both ends are the same binary; fields read with memcpy, never a cast):
 *   agent -> helper
 *     FORKSRV_SPAWN   u32 type, u32 id, u32 argc (1..FORKSRV_ARGS_MAX),
 *                     u32 envc (0..FORKSRV_ARGS_MAX), then argc + envc
 *                     NUL-terminated strings filling the record exactly;
 *                     exactly two descriptors (SCM_RIGHTS): the write ends of
 *                     the probe's stdout and stderr pipes.  argv[0] is an
 *                     absolute path.  Total <= FORKSRV_MSG_MAX.
 *     FORKSRV_SIGNAL  u32 type, u32 id, u32 sig (SIGTERM or SIGKILL): to the
 *                     probe's process group.
 *     FORKSRV_RELEASE u32 type, u32 id: SIGKILL to the group, forget the id.
 *     FORKSRV_KILLPG  u32 type, u32 pgid (> 1): SIGKILL to that group (the
 *                     orphans of a helper that died).
 *   helper -> agent, always 16 bytes: u32 type, u32 id, i32 a, i32 b
 *     FORKSRV_SPAWNED a = pid (= process group id)
 *     FORKSRV_FAILED  a = errno of posix_spawn (1..4095)
 *     FORKSRV_EXITED  a = pid, b = wait status (exited or signalled)
 * The helper exits (status FORKSRV_EXIT_PROTO) on anything else: wrong
 * length, unknown type, truncation, descriptors where none belong.  The
 * agent treats anything else from the helper as a broken helper: it is
 * killed and replaced.  The helper exits at EOF on its socket, killing
 * every group it still knows.
 *
 * If a helper dies, every probe it ran is answered UNKNOWN with
 * PROBE_MSG_LOST and the reason, and a new helper is started at once
 * (after FORKSRV_RESTART_MIN..MAX seconds if helpers keep dying young).
 * forksrv_set_ident with another identity retires the helper: new probes
 * go to a new helper, the old one ends when its last probe is released.
 */
#ifndef XV_FORKSRV_H
#define XV_FORKSRV_H

#include <stdint.h>
#include <sys/queue.h>
#include <sys/types.h>

#include <ev.h>

#include "probe.h"

enum forksrv_req {
	FORKSRV_SPAWN = 1,
	FORKSRV_SIGNAL = 2,
	FORKSRV_RELEASE = 3,
	FORKSRV_KILLPG = 4,
};

enum forksrv_rep {
	FORKSRV_SPAWNED = 1,
	FORKSRV_FAILED = 2,
	FORKSRV_EXITED = 3,
};

#define FORKSRV_MSG_MAX (128 * 1024) /* bytes of one SPAWN record */
#define FORKSRV_REP_LEN 16
#define FORKSRV_ARGS_MAX 4096	/* argc, and envc */
#define FORKSRV_PROBES_MAX 1024 /* probes one helper tracks (= POOL_RUNNING_MAX) */
#define FORKSRV_ORPHANS_MAX 1024
#define FORKSRV_READ_BUDGET 256 /* helper messages handled per wake-up */
#define FORKSRV_RESTART_MIN 0.5 /* s before restarting a helper that died young */
#define FORKSRV_RESTART_MAX 30.0
#define FORKSRV_YOUNG 2.0 /* s: a helper dying sooner counts as dying young */
#define FORKSRV_EXIT_PROTO 3
#define FORKSRV_EXIT_SETUP 4

/* Who the probes run as. */
struct forksrv_ident {
	int change; /* 1: become uid/gid/groups (the agent is root) */
	uid_t uid;
	gid_t gid;
	const gid_t *groups;
	size_t ngroups;
};

struct forksrv_helper; /* one helper process; private */
LIST_HEAD(forksrv_helpers, forksrv_helper);

struct forksrv {
	struct ev_loop *loop;
	struct forksrv_helper *cur;	/* NULL while restarting */
	struct forksrv_helpers helpers; /* cur and retired ones not yet reaped */
	int change;
	uid_t uid;
	gid_t gid;
	gid_t *groups;
	size_t ngroups;
	ev_timer restart_w;
	double restart_delay;
	uint32_t next_id;
	unsigned long long started, died;
	pid_t orphans[FORKSRV_ORPHANS_MAX];
	size_t norphans;
	int closing;
};

/* Starts the first helper.  loop: the default loop.  Returns 0, or -1
 * (logged). */
int forksrv_init(struct forksrv *fs, struct ev_loop *loop, const struct forksrv_ident *id);

/* A reload: a different identity retires the helper and starts another.
 * Returns 0, or -1 (logged; the old helper stays). */
int forksrv_set_ident(struct forksrv *fs, const struct forksrv_ident *id);

/* pid of the current helper, or 0. */
pid_t forksrv_pid(const struct forksrv *fs);

/* Closes every helper (each kills its groups at EOF).  Probes still in
 * flight must have been cancelled before. */
void forksrv_free(struct forksrv *fs);

/* For probe.c.  Sends the SPAWN of p (stdout and stderr write ends out_w,
 * err_w: the caller closes them afterwards).  Returns 0 (one of
 * probe_srv_spawned + probe_srv_exited, probe_srv_failed or probe_srv_lost
 * follows, from the loop) or an errno value. */
int forksrv_spawn(struct forksrv *fs, struct probe *p, const struct probe_spec *s, int out_w,
		  int err_w);
/* Asks p's helper to signal p's group (SIGTERM or SIGKILL). */
void forksrv_signal(struct probe *p, int sig);
/* p is done: SIGKILL to its group, and p leaves its helper. */
void forksrv_release(struct probe *p);

#endif
