/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "osinfo.h"
#include "utf8.h"

/* Length of the UTF-8 sequence at S (AVAIL bytes available) if it is a
 * valid, shortest-form encoding of a scalar value that is not a C1
 * control, else 0. */
static size_t osinfo_utf8_len(const unsigned char *s, size_t avail)
{
	unsigned long cp;
	size_t n = utf8_decode(s, avail, &cp);

	if (n && cp <= 0x9f) /* U+0080..U+009F: C1 controls */
		return 0;
	return n;
}

size_t osinfo_sanitize(char *dst, size_t dstsize, const char *src, size_t srclen)
{
	const unsigned char *s = (const unsigned char *)src;
	size_t o = 0, i = 0;

	while (i < srclen) {
		size_t n = 1;
		if (s[i] >= 0x20 && s[i] < 0x7f) {
			if (dstsize - o < 2)
				break;
			dst[o++] = (char)s[i];
		} else if (s[i] >= 0x80 && (n = osinfo_utf8_len(s + i, srclen - i)) > 0) {
			if (dstsize - o < n + 1)
				break;
			memcpy(dst + o, s + i, n);
			o += n;
		} else {
			n = 1;
			if (dstsize - o < 2)
				break;
			dst[o++] = '?';
		}
		i += n;
	}
	dst[o] = '\0';
	return o;
}

struct osinfo_key {
	const char *name;
	size_t offset;
};

static const struct osinfo_key osinfo_keys[] = {
    {"ID", offsetof(struct osinfo, id)},
    {"NAME", offsetof(struct osinfo, name)},
    {"VERSION", offsetof(struct osinfo, version)},
    {"VERSION_ID", offsetof(struct osinfo, version_id)},
    {"PRETTY_NAME", offsetof(struct osinfo, pretty_name)},
};

/* Unquote the value of one assignment (V, N bytes, the rest of the line
 * after '=') into OUT (at most OUTSIZE-1 bytes, raw; sanitised later).
 * Returns the length, or -1 if the value is malformed (unterminated
 * quote, text after the closing quote). */
static int osinfo_unquote(const char *v, size_t n, char *out, size_t outsize)
{
	size_t i = 0, o = 0;
	char q = 0;

	if (n > 0 && (v[0] == '"' || v[0] == '\'')) {
		q = v[0];
		i = 1;
	}
	for (; i < n; i++) {
		char c = v[i];
		if (q == '\'' && c == '\'')
			break;
		if (q == '"' && c == '"')
			break;
		if (q == 0 && (c == ' ' || c == '\t'))
			break;
		if (q != '\'' && c == '\\' && i + 1 < n) {
			char e = v[i + 1];
			/* inside double quotes the shell keeps the backslash
			 * before anything but $ ` " \ */
			if (q == 0 || e == '$' || e == '`' || e == '"' || e == '\\') {
				c = e;
				i++;
			}
		}
		if (o + 1 < outsize)
			out[o++] = c;
	}
	if (q != 0) {
		if (i >= n)
			return -1; /* unterminated quote */
		i++;
	}
	/* only blanks or a comment may follow the value */
	for (; i < n; i++) {
		if (v[i] == '#')
			break;
		if (v[i] != ' ' && v[i] != '\t')
			return -1;
	}
	out[o] = '\0';
	return (int)o;
}

static int osinfo_parse_line(struct osinfo *oi, const char *line, size_t n)
{
	char raw[OSINFO_MAX_LINE + 1];
	size_t i = 0, klen;
	int vlen;

	while (i < n && (line[i] == ' ' || line[i] == '\t'))
		i++;
	if (i == n || line[i] == '#')
		return 0;
	const char *key = line + i;
	while (i < n && (line[i] == '_' || (line[i] >= 'A' && line[i] <= 'Z') ||
			 (line[i] >= 'a' && line[i] <= 'z') || (line[i] >= '0' && line[i] <= '9')))
		i++;
	klen = (size_t)(line + i - key);
	if (klen == 0 || i == n || line[i] != '=')
		return 0;
	i++;
	vlen = osinfo_unquote(line + i, n - i, raw, sizeof raw);
	if (vlen < 0)
		return 0;
	for (size_t k = 0; k < sizeof osinfo_keys / sizeof osinfo_keys[0]; k++) {
		if (strlen(osinfo_keys[k].name) == klen &&
		    memcmp(osinfo_keys[k].name, key, klen) == 0) {
			char *field = (char *)oi + osinfo_keys[k].offset;
			osinfo_sanitize(field, OSINFO_MAX_VALUE + 1, raw, (size_t)vlen);
			return 1;
		}
	}
	return 0;
}

int osinfo_parse_os_release(struct osinfo *oi, const char *buf, size_t len)
{
	size_t start = 0;
	int found = 0;

	while (start < len) {
		const char *nl = memchr(buf + start, '\n', len - start);
		size_t end = nl ? (size_t)(nl - buf) : len;
		size_t n = end - start;
		if (n > 0 && buf[start + n - 1] == '\r')
			n--;
		if (n <= OSINFO_MAX_LINE)
			found += osinfo_parse_line(oi, buf + start, n);
		start = end + 1;
	}
	return found;
}

/* Read at most OSINFO_MAX_FILE bytes of PATH.  Returns the length, -1 on
 * error (errno set). */
static ssize_t osinfo_read_file(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	size_t len = 0;

	if (fd < 0)
		return -1;
	while (len < size) {
		ssize_t r = read(fd, buf + len, size - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int saved = errno;
			close(fd);
			errno = saved;
			return -1;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	close(fd);
	return (ssize_t)len;
}

/* FIELD <- S, at most MAX bytes of it (S need not be terminated within) */
static void osinfo_set(char *field, const char *s, size_t max)
{
	osinfo_sanitize(field, OSINFO_MAX_VALUE + 1, s, strnlen(s, max));
}

int osinfo_collect(struct osinfo *oi, const char *path)
{
	char buf[OSINFO_MAX_FILE];
	static const char *const std_paths[] = {OSINFO_OS_RELEASE, OSINFO_OS_RELEASE_FALLBACK};
	struct utsname u;
	ssize_t len = -1;
	char host[OSINFO_MAX_VALUE + 1];

	memset(oi, 0, sizeof *oi);
	/* os-release(5) defaults, overridden by the file */
	osinfo_set(oi->id, "linux", sizeof "linux");
	osinfo_set(oi->name, "Linux", sizeof "Linux");
	osinfo_set(oi->pretty_name, "Linux", sizeof "Linux");
	if (path != NULL) {
		len = osinfo_read_file(path, buf, sizeof buf);
	} else {
		for (size_t i = 0; i < 2 && len < 0; i++)
			len = osinfo_read_file(std_paths[i], buf, sizeof buf);
	}
	if (len > 0)
		osinfo_parse_os_release(oi, buf, (size_t)len);

	if (gethostname(host, sizeof host) == 0) {
		host[sizeof host - 1] = '\0';
		osinfo_set(oi->hostname, host, sizeof host);
	}
	if (uname(&u) < 0)
		return -1;
	osinfo_set(oi->kernel_name, u.sysname, sizeof u.sysname);
	osinfo_set(oi->kernel_release, u.release, sizeof u.release);
	osinfo_set(oi->kernel_version, u.version, sizeof u.version);
	osinfo_set(oi->machine, u.machine, sizeof u.machine);
	return 0;
}
