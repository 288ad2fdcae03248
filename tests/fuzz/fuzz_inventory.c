/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target for dom0's reader of guest data trees
 * (inventory_parse) and both printers.  The input is a guest's tree:
 * entries separated by NUL, each "path=value" (the value may hold any
 * byte but NUL; paths any byte but NUL and '=').  Checked: the result is
 * trusted text only (no control byte, valid JSON that parses back), every
 * number is within its range and the parse never reads more than its
 * bounds.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <json.h>

#include "../unit/inv_memsrc.h"

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond))                                                                       \
			abort();                                                                   \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_check_text(const char *s, size_t max)
{
	size_t n = strnlen(s, max);
	CHECK(n < max);
	for (size_t i = 0; i < n; i++)
		CHECK((unsigned char)s[i] >= 0x20 && s[i] != 0x7f);
}

static void fuzz_check_guest(const struct inv_guest *g)
{
	fuzz_check_text(g->reason, sizeof g->reason);
	fuzz_check_text(g->os_pretty_name, INV_MAX_TEXT);
	fuzz_check_text(g->hostname, INV_MAX_TEXT);
	fuzz_check_text(g->agent_version, INV_MAX_TEXT);
	CHECK(g->nnics <= INV_MAX_NICS);
	CHECK(g->nwarnings <= INV_MAX_WARNINGS);
	for (size_t i = 0; i < g->nwarnings; i++)
		fuzz_check_text(g->warnings[i], sizeof g->warnings[i]);
	for (size_t i = 0; i < g->nnics; i++) {
		const struct inv_nic *n = &g->nics[i];
		fuzz_check_text(n->name, INV_MAX_TEXT);
		fuzz_check_text(n->key, INV_MAX_TEXT);
		CHECK(n->vif_id >= -1 && n->vif_id <= 65535);
		CHECK(n->mtu >= -1 && n->mtu <= 1000000);
		for (int f = 0; f < 2; f++) {
			CHECK(n->naddrs[f] <= INV_MAX_ADDRS);
			for (size_t a = 0; a < n->naddrs[f]; a++)
				CHECK(n->addrs[f][a].prefix <= (f == 0 ? 32u : 128u));
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct memsrc m;
	struct inv_source src = memsrc_source(&m);
	struct inv_guest g;
	size_t i = 0;

	if (size > 64 * 1024)
		return 0;
	while (i < size && m.n < MEMSRC_MAX) {
		const uint8_t *end = memchr(data + i, 0, size - i);
		size_t len = end ? (size_t)(end - (data + i)) : size - i;
		const uint8_t *eq = memchr(data + i, '=', len);
		if (eq != NULL) {
			char path[256];
			size_t plen = (size_t)(eq - (data + i));
			if (plen < sizeof path) {
				memcpy(path, data + i, plen);
				path[plen] = '\0';
				memsrc_add(&m, path, (const char *)eq + 1, len - plen - 1);
			}
		}
		i += len + 1;
	}

	memset(&g, 0, sizeof g);
	g.domid = 7;
	strcpy(g.name, "fuzz");
	inventory_parse(&g, &src);
	fuzz_check_guest(&g);

	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (f != NULL) {
		inventory_print_table_guest(f, &g);
		fclose(f);
		for (size_t k = 0; k < len; k++)
			CHECK((unsigned char)buf[k] >= 0x20 || buf[k] == '\n');
		free(buf);
	}
	struct json_object *j = inventory_json_guest(&g);
	if (j != NULL) {
		const char *text = json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN);
		struct json_object *back = json_tokener_parse(text);
		CHECK(back != NULL);
		json_object_put(back);
		json_object_put(j);
	}
	inventory_guest_free(&g);
	memsrc_free(&m);
	return 0;
}
