/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * probe-env - a probe (Nagios plugin) that reports, from inside, what the
 * agent gave it: for tests/bats/hardening.bats.  Prints "OK - probe-env",
 * then one line each:
 *
 *   uid R E S          real, effective, saved uid
 *   gid R E S          the same for the gid
 *   groups G,G...      supplementary groups, sorted ("-" for none)
 *   setuid0 ERRNO      what setuid(0) did ("EPERM", or "succeeded")
 *   caps EFF PRM BND   CapEff, CapPrm, CapBnd of /proc/self/status
 *   nonewprivs N       NoNewPrivs
 *   pgrp own|other     whether it leads its own process group
 *   fd N TARGET        each open descriptor ("pipe", "socket", a path)
 *   env NAME=VALUE     each variable of its environment, sorted
 *
 * and exits 0.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "xvp.h"

extern char **environ;

static int pe_cmp_gid(const void *a, const void *b)
{
	gid_t x = *(const gid_t *)a, y = *(const gid_t *)b;

	return x < y ? -1 : x > y;
}

static int pe_cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void pe_status(const char *key, char *out, size_t outlen)
{
	char line[256];
	size_t klen = strlen(key);
	FILE *f = fopen("/proc/self/status", "r");

	snprintf(out, outlen, "?");
	if (f == NULL)
		return;
	while (fgets(line, sizeof line, f))
		if (strncmp(line, key, klen) == 0 && line[klen] == ':') {
			char *v = line + klen + 1;
			v += strspn(v, " \t");
			v[strcspn(v, "\n")] = '\0';
			snprintf(out, outlen, "%s", v);
			break;
		}
	fclose(f);
}

int main(void)
{
	uid_t ru, eu, su;
	gid_t rg, eg, sg, groups[256];
	int n, saved;
	char eff[64], prm[64], bnd[64], nnp[16];
	DIR *d;
	struct dirent *e;
	size_t nenv = 0;
	char **env;

	printf("OK - probe-env\n");
	getresuid(&ru, &eu, &su);
	getresgid(&rg, &eg, &sg);
	printf("uid %u %u %u\n", (unsigned)ru, (unsigned)eu, (unsigned)su);
	printf("gid %u %u %u\n", (unsigned)rg, (unsigned)eg, (unsigned)sg);
	n = getgroups(256, groups);
	qsort(groups, n > 0 ? (size_t)n : 0, sizeof groups[0], pe_cmp_gid);
	printf("groups ");
	for (int i = 0; i < n; i++)
		printf("%s%u", i ? "," : "", (unsigned)groups[i]);
	printf("%s\n", n <= 0 ? "-" : "");
	errno = 0;
	saved = setuid(0) == 0 ? 0 : errno;
	printf("setuid0 %s\n", saved == 0	? "succeeded"
			       : saved == EPERM ? "EPERM"
						: strerror(saved));
	pe_status("CapEff", eff, sizeof eff);
	pe_status("CapPrm", prm, sizeof prm);
	pe_status("CapBnd", bnd, sizeof bnd);
	pe_status("NoNewPrivs", nnp, sizeof nnp);
	printf("caps %s %s %s\n", eff, prm, bnd);
	printf("nonewprivs %s\n", nnp);
	printf("pgrp %s\n", getpgrp() == getpid() ? "own" : "other");
	d = opendir("/proc/self/fd");
	while (d != NULL && (e = readdir(d)) != NULL) {
		char path[300], target[300];
		ssize_t len;

		if (e->d_name[0] == '.' || atoi(e->d_name) == dirfd(d))
			continue;
		snprintf(path, sizeof path, "/proc/self/fd/%s", e->d_name);
		len = readlink(path, target, sizeof target - 1);
		target[len > 0 ? len : 0] = '\0';
		if (strncmp(target, "pipe:", 5) == 0)
			strcpy(target, "pipe");
		else if (strncmp(target, "socket:", 7) == 0)
			strcpy(target, "socket");
		printf("fd %s %s\n", e->d_name, target);
	}
	if (d != NULL)
		closedir(d);
	for (char **p = environ; *p; p++)
		nenv++;
	env = calloc(nenv + 1, sizeof *env);
	if (env == NULL)
		return XVP_RESULT_UNKNOWN;
	memcpy(env, environ, nenv * sizeof *env);
	qsort(env, nenv, sizeof *env, pe_cmp_str);
	for (size_t i = 0; i < nenv; i++)
		printf("env %s\n", env[i]);
	free(env);
	return 0;
}
