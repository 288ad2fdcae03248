/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * probe-fds: a test probe that prints the file descriptors it was started
 * with, in ascending order on one line ("0 1 2"), and exits 0.  The
 * descriptor it uses to read /proc/self/fd is left out.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>

#include "xvp.h"

#define PROBE_FDS_MAX 1024

static int probe_fds_cmp(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;
	return (x > y) - (x < y);
}

int main(void)
{
	int fds[PROBE_FDS_MAX];
	size_t n = 0;
	struct dirent *e;
	DIR *d = opendir("/proc/self/fd");

	if (d == NULL) {
		printf("UNKNOWN - /proc/self/fd: cannot open\n");
		return XVP_RESULT_UNKNOWN;
	}
	while ((e = readdir(d)) != NULL && n < PROBE_FDS_MAX) {
		if (e->d_name[0] == '.')
			continue;
		int fd = atoi(e->d_name);
		if (fd != dirfd(d))
			fds[n++] = fd;
	}
	closedir(d);
	qsort(fds, n, sizeof fds[0], probe_fds_cmp);
	for (size_t i = 0; i < n; i++)
		printf("%s%d", i ? " " : "", fds[i]);
	printf("\n");
	return 0;
}
