/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon.h"

int daemon_pidfile_open(struct pidfile *pf, const char *path, char *err, size_t errlen)
{
	pf->fd = -1;
	if (strlen(path) >= sizeof pf->path) {
		snprintf(err, errlen, "pid file path too long");
		return -1;
	}
	strcpy(pf->path, path);
	pf->fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (pf->fd < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (flock(pf->fd, LOCK_EX | LOCK_NB) < 0) {
		char buf[32] = "";
		ssize_t n = pread(pf->fd, buf, sizeof buf - 1, 0);
		buf[n > 0 ? n : 0] = '\0';
		buf[strcspn(buf, "\n")] = '\0';
		snprintf(err, errlen, "%s: already running (pid %s)", path, buf[0] ? buf : "?");
		close(pf->fd);
		pf->fd = -1;
		return -1;
	}
	if (daemon_pidfile_update(pf) < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		daemon_pidfile_close(pf);
		return -1;
	}
	return 0;
}

int daemon_pidfile_update(struct pidfile *pf)
{
	char buf[32];
	int n = snprintf(buf, sizeof buf, "%ld\n", (long)getpid());

	if (pf->fd < 0)
		return 0;
	if (ftruncate(pf->fd, 0) < 0 || pwrite(pf->fd, buf, (size_t)n, 0) != n)
		return -1;
	return 0;
}

void daemon_pidfile_close(struct pidfile *pf)
{
	if (pf->fd < 0)
		return;
	unlink(pf->path);
	close(pf->fd);
	pf->fd = -1;
}

int daemon_detach(void)
{
	pid_t pid;
	int fd;

	pid = fork();
	if (pid < 0)
		return -1;
	if (pid > 0)
		exit(0);
	if (setsid() < 0)
		return -1;
	/* second fork: the daemon is not a session leader and can never
	 * acquire a controlling terminal again */
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid > 0)
		exit(0);
	if (chdir("/") < 0)
		return -1;
	umask(022);
	fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (dup2(fd, 0) < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
		return -1;
	if (fd > 2)
		close(fd);
	return 0;
}
