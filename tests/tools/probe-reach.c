/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * probe-reach - a probe that tries to reach the processes above it: the
 * root agent (its pid read from the file given as argv[1]) and its own
 * parent, the probe helper.  For each it prints one line per attempt,
 *   "WHO kill OK|ERRNO", "WHO ptrace OK|ERRNO", "WHO mem OK|ERRNO"
 * (kill(pid, 0), PTRACE_ATTACH, opening /proc/PID/mem for reading: the
 * open alone decides), after a first line "OK - probe-reach"; exit 0.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *err_name(int e)
{
	const char *n = strerrorname_np(e);

	return n ? n : "E?";
}

static void reach(const char *who, pid_t pid)
{
	char path[64];
	int fd;

	printf("%s kill %s\n", who, kill(pid, 0) == 0 ? "OK" : err_name(errno));
	if (ptrace(PTRACE_ATTACH, pid, NULL, NULL) == 0) {
		printf("%s ptrace OK\n", who);
		(void)waitpid(pid, NULL, __WALL);
		(void)ptrace(PTRACE_DETACH, pid, NULL, NULL);
	} else {
		printf("%s ptrace %s\n", who, err_name(errno));
	}
	snprintf(path, sizeof path, "/proc/%d/mem", (int)pid);
	fd = open(path, O_RDONLY);
	printf("%s mem %s\n", who, fd >= 0 ? "OK" : err_name(errno));
	if (fd >= 0)
		close(fd);
}

int main(int argc, char **argv)
{
	FILE *f;
	int agent = 0;

	if (argc != 2 || (f = fopen(argv[1], "r")) == NULL || fscanf(f, "%d", &agent) != 1 ||
	    agent <= 1) {
		printf("UNKNOWN - usage: probe-reach AGENT-PID-FILE\n");
		return 3;
	}
	fclose(f);
	printf("OK - probe-reach\n");
	reach("agent", agent);
	reach("helper", getppid());
	return 0;
}
