/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * daemon.h - start-up helpers shared by xenvchan-agent and xenvchan-bridge.
 */
#ifndef XV_DAEMON_H
#define XV_DAEMON_H

#include <stddef.h>

struct pidfile {
	int fd; /* open and locked while the daemon runs; -1 if none */
	char path[4096];
};

/* Create and lock PATH, write our pid.  Fails (returns -1, message in err)
 * when another live process holds the lock, so two daemons never share one
 * pid file.  A stale file from a dead process is taken over. */
int daemon_pidfile_open(struct pidfile *pf, const char *path, char *err, size_t errlen);
/* Rewrite the pid (after daemon_detach changed it). */
int daemon_pidfile_update(struct pidfile *pf);
/* Unlink and close; safe on a pidfile that was never opened. */
void daemon_pidfile_close(struct pidfile *pf);

/* Detach from the terminal: fork, setsid, fork, chdir("/"), umask 022,
 * stdin/stdout/stderr to /dev/null.  Returns 0 in the daemon, -1 on error
 * (errno set) in the original process; the parents exit(0). */
int daemon_detach(void);

#endif
