/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * spawn2 - the "two spawns" floor of `make bench`: the least any path that
 * runs a plugin through a relay process can cost.  It is spawned itself (the
 * relay: check_xenvchan, check_nrpe), spawns PROGRAM ARGS (the plugin, as
 * the agent or nrpe would), carries its output through a pipe as a relay
 * must, and exits with its status.  No protocol, no socket, no daemon.
 *
 *   spawn2 PROGRAM [ARG...]
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

int main(int argc, char **argv)
{
	posix_spawn_file_actions_t fa;
	char buf[65536];
	size_t got = 0;
	int p[2], status, rc;
	pid_t pid;

	if (argc < 2) {
		fputs("usage: spawn2 PROGRAM [ARG...]\n", stderr);
		return 3;
	}
	if (pipe2(p, O_CLOEXEC) != 0)
		return 3;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, p[1], 1);
	rc = posix_spawn(&pid, argv[1], &fa, NULL, argv + 1, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(p[1]);
	if (rc != 0) {
		printf("spawn2: %s: %s\n", argv[1], strerror(rc));
		return 3;
	}
	for (;;) {
		ssize_t r = read(p[0], buf + got, sizeof buf - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0 || (got += (size_t)r) == sizeof buf)
			break;
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return 3;
	if (write(1, buf, got) < 0)
		return 3;
	return WIFEXITED(status) && WEXITSTATUS(status) <= 3 ? WEXITSTATUS(status) : 3;
}
