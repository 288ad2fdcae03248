/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target for the os-release(5) parser (osinfo_parse_os_release)
 * and the sanitiser behind it.  Checked: every field stays NUL-terminated
 * within OSINFO_MAX_VALUE bytes, holds no control character and is valid
 * UTF-8 (what goes into xenstore must be), and parsing the same input
 * twice gives the same result.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../guest-agent/osinfo.h"

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond))                                                                       \
			abort();                                                                   \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_check_field(const char *f)
{
	size_t len = strnlen(f, OSINFO_MAX_VALUE + 1);
	CHECK(len <= OSINFO_MAX_VALUE);
	char copy[OSINFO_MAX_VALUE + 1];
	/* sanitising a sanitised value changes nothing */
	CHECK(osinfo_sanitize(copy, sizeof copy, f, len) == len);
	CHECK(memcmp(copy, f, len + 1) == 0);
	for (size_t i = 0; i < len; i++)
		CHECK((unsigned char)f[i] >= 0x20 && f[i] != 0x7f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct osinfo a, b;
	int na, nb;

	if (size > OSINFO_MAX_FILE)
		size = OSINFO_MAX_FILE;
	memset(&a, 0, sizeof a);
	memset(&b, 0, sizeof b);
	na = osinfo_parse_os_release(&a, (const char *)data, size);
	nb = osinfo_parse_os_release(&b, (const char *)data, size);
	CHECK(na == nb && na >= 0);
	CHECK(memcmp(&a, &b, sizeof a) == 0);
	fuzz_check_field(a.id);
	fuzz_check_field(a.name);
	fuzz_check_field(a.version);
	fuzz_check_field(a.version_id);
	fuzz_check_field(a.pretty_name);

	/* the sanitiser alone, on the raw bytes */
	char out[OSINFO_MAX_VALUE + 1];
	size_t n = osinfo_sanitize(out, sizeof out, (const char *)data, size);
	CHECK(n == strlen(out));
	fuzz_check_field(out);
	return 0;
}
