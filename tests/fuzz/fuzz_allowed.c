/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target for the NRPE listener's allowed_hosts rule
 * (listener_acl_parse and listener_acl_allows, host-bridge/allowed.h).
 *
 * Input: the allowed_hosts value up to the first NUL byte, then client
 * addresses, 17 bytes each (a family byte, bit 0: IPv6, and 16 address
 * bytes).
 *
 * Checked: a list is accepted only if it is made of the characters of
 * numeric addresses, prefixes, commas and blanks; an accepted list has 1 to
 * LISTENER_ACL_MAX entries, each with a known family, a prefix length in
 * range and no bit set beyond the prefix, and no IPv6 entry in the
 * IPv4-mapped range ::ffff:0:0/96 (those are stored as IPv4: clients there
 * are matched as IPv4); it prints back (inet_ntop/prefix)
 * to a list that parses to the same entries; every entry's own address is
 * allowed; the verdict for each client is the one of a bit-by-bit
 * reference match; a refused list leaves no allocation and a reason
 * starting with "allowed_hosts: ".
 */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "../../host-bridge/allowed.h"

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond))                                                                       \
			abort();                                                                   \
	} while (0)

/* Longer lists than this only repeat entries (256 entries of 64 chars). */
#define FUZZ_MAX_LIST (LISTENER_ACL_MAX * (LISTENER_ACL_ENTRY_MAX + 1) + 64)
#define FUZZ_MAX_CLIENTS 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int bit(const uint8_t *a, unsigned i)
{
	return (a[i / 8] >> (7 - i % 8)) & 1;
}

/* The reference: compare prefix bits one by one. */
static int ref_allows(const struct listener_acl *acl, size_t nacl, int family, const uint8_t *addr)
{
	for (size_t i = 0; i < nacl; i++) {
		unsigned b;

		if (acl[i].family != family)
			continue;
		for (b = 0; b < acl[i].bits; b++)
			if (bit(acl[i].addr, b) != bit(addr, b))
				break;
		if (b == acl[i].bits)
			return 1;
	}
	return 0;
}

static void check_entry(const struct listener_acl *e)
{
	static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	unsigned max = e->family == AF_INET ? 32 : 128;

	CHECK(e->family == AF_INET || e->family == AF_INET6);
	CHECK(e->bits <= max);
	CHECK(e->family == AF_INET || memcmp(e->addr, mapped, 12) != 0);
	for (unsigned b = e->bits; b < 128; b++)
		CHECK(bit(e->addr, b) == 0);
}

static void check_err(const char *err, size_t size)
{
	size_t n = strnlen(err, size);

	CHECK(n > 0 && n < size);
}

/* Prints acl back as a list and parses it again: the same entries. */
static void check_round_trip(const struct listener_acl *acl, size_t nacl)
{
	static char text[LISTENER_ACL_MAX * (INET6_ADDRSTRLEN + 5)];
	struct listener_acl *again = NULL;
	size_t o = 0, nagain = 0;
	char err[512];

	for (size_t i = 0; i < nacl; i++) {
		char a[INET6_ADDRSTRLEN];

		CHECK(inet_ntop(acl[i].family, acl[i].addr, a, sizeof a) != NULL);
		o += (size_t)snprintf(text + o, sizeof text - o, "%s%s/%u", i ? "," : "", a,
				      acl[i].bits);
		CHECK(o < sizeof text);
	}
	CHECK(listener_acl_parse(text, &again, &nagain, err, sizeof err) == 0);
	CHECK(nagain == nacl);
	CHECK(memcmp(again, acl, nacl * sizeof *acl) == 0);
	free(again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nul = memchr(data, 0, size);
	size_t llen = nul ? (size_t)(nul - data) : size;
	struct listener_acl *acl = (struct listener_acl *)0x1, *acl2 = NULL;
	size_t nacl = 99, nacl2 = 0;
	char err[512], err2[512];
	char *list;
	int r;

	if (llen > FUZZ_MAX_LIST)
		return 0;
	list = malloc(llen + 1);
	CHECK(list != NULL);
	memcpy(list, data, llen);
	list[llen] = '\0';
	memset(err, 0x55, sizeof err);
	r = listener_acl_parse(list, &acl, &nacl, err, sizeof err);
	CHECK(r == 0 || r == -1);
	/* the same text, the same verdict */
	CHECK(listener_acl_parse(list, &acl2, &nacl2, err2, sizeof err2) == r);
	if (r < 0) {
		CHECK(acl == NULL && nacl == 0);
		CHECK(acl2 == NULL);
		check_err(err, sizeof err);
		CHECK(strcmp(err, err2) == 0);
		CHECK(strncmp(err, "allowed_hosts: ", 15) == 0);
		free(list);
		return 0;
	}
	CHECK(acl != NULL && nacl >= 1 && nacl <= LISTENER_ACL_MAX);
	CHECK(nacl2 == nacl && memcmp(acl, acl2, nacl * sizeof *acl) == 0);
	free(acl2);
	/* an allowlist of characters: nothing but addresses, prefixes,
	 * commas and blanks gets through */
	for (size_t i = 0; i < llen; i++)
		CHECK(strchr("0123456789abcdefABCDEF.:/, \t", list[i]) != NULL);
	for (size_t i = 0; i < nacl; i++) {
		check_entry(&acl[i]);
		CHECK(listener_acl_allows(acl, nacl, acl[i].family, acl[i].addr) == 1);
	}
	check_round_trip(acl, nacl);

	/* the clients after the list */
	if (nul) {
		const uint8_t *p = nul + 1;
		size_t left = size - llen - 1;

		for (int k = 0; k < FUZZ_MAX_CLIENTS && left >= 17; k++, p += 17, left -= 17) {
			int family = (p[0] & 1) ? AF_INET6 : AF_INET;
			uint8_t addr[16] = {0};

			memcpy(addr, p + 1, family == AF_INET ? 4 : 16);
			CHECK(listener_acl_allows(acl, nacl, family, addr) ==
			      ref_allows(acl, nacl, family, addr));
			CHECK(listener_acl_allows(NULL, 0, family, addr) == 1);
		}
	}
	free(acl);
	free(list);
	return 0;
}
