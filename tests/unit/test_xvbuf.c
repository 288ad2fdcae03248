/* SPDX-License-Identifier: GPL-2.0-or-later */
/* xvbuf: the bounded buffer at every boundary (max, max + 1, zero length,
 * sizes that would overflow an addition, reads past the end, views,
 * compaction of a long-lived buffer). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "xverr.h"
#include "xvbuf.h"

static void test_init_limits(void **state)
{
	struct xvbuf b;

	assert_int_equal(xvbuf_init(&b, 0), XV_EINVAL);
	xvbuf_free(&b);
	assert_int_equal(xvbuf_init(&b, XVBUF_SIZE_MAX + 1), XV_EINVAL);
	xvbuf_free(&b);
	assert_int_equal(xvbuf_init(&b, XVBUF_SIZE_MAX), 0);
	assert_int_equal(xvbuf_len(&b), 0);
	assert_int_equal(xvbuf_avail(&b), XVBUF_SIZE_MAX);
	assert_int_equal(xvbuf_max(&b), XVBUF_SIZE_MAX);
	assert_null(xvbuf_ptr(&b));
	xvbuf_free(&b);
	xvbuf_free(&b); /* twice is fine */

	struct xvbuf z;
	memset(&z, 0, sizeof z);
	xvbuf_free(&z);
}

static void test_exactly_max(void **state)
{
	struct xvbuf b;
	uint8_t src[300];
	uint8_t *p;

	for (size_t i = 0; i < sizeof src; i++)
		src[i] = (uint8_t)i;
	assert_int_equal(xvbuf_init(&b, sizeof src), 0);
	assert_int_equal(xvbuf_put(&b, src, sizeof src), 0);
	assert_int_equal(xvbuf_len(&b), sizeof src);
	assert_int_equal(xvbuf_avail(&b), 0);
	assert_memory_equal(xvbuf_ptr(&b), src, sizeof src);
	assert_true(b.alloc <= sizeof src);
	/* max + 1: every append path refuses and nothing changes */
	assert_int_equal(xvbuf_put_u8(&b, 1), XV_ENOSPC);
	assert_int_equal(xvbuf_put_u16(&b, 1), XV_ENOSPC);
	assert_int_equal(xvbuf_put_u32(&b, 1), XV_ENOSPC);
	assert_int_equal(xvbuf_put_zero(&b, 1), XV_ENOSPC);
	p = (uint8_t *)&b;
	assert_int_equal(xvbuf_reserve(&b, 1, &p), XV_ENOSPC);
	assert_ptr_equal(p, (uint8_t *)&b);
	/* zero-length appends at max are fine */
	assert_int_equal(xvbuf_put(&b, NULL, 0), 0);
	assert_int_equal(xvbuf_put_zero(&b, 0), 0);
	assert_int_equal(xvbuf_reserve(&b, 0, &p), 0);
	assert_int_equal(xvbuf_len(&b), sizeof src);
	assert_memory_equal(xvbuf_ptr(&b), src, sizeof src);
	xvbuf_free(&b);
}

static void test_max_plus_one_at_once(void **state)
{
	struct xvbuf b;
	uint8_t src[17] = {0};

	assert_int_equal(xvbuf_init(&b, 16), 0);
	assert_int_equal(xvbuf_put(&b, src, 17), XV_ENOSPC);
	assert_int_equal(xvbuf_len(&b), 0);
	assert_int_equal(xvbuf_put(&b, src, 15), 0);
	assert_int_equal(xvbuf_put_u16(&b, 0xabcd), XV_ENOSPC); /* 17 > 16 */
	assert_int_equal(xvbuf_len(&b), 15);
	assert_int_equal(xvbuf_put_u8(&b, 0xab), 0);
	assert_int_equal(xvbuf_len(&b), 16);
	xvbuf_free(&b);
}

static void test_huge_sizes(void **state)
{
	struct xvbuf b;
	uint8_t *p = NULL;
	uint8_t out[8];
	uint32_t u32;

	assert_int_equal(xvbuf_init(&b, 64), 0);
	assert_int_equal(xvbuf_put_zero(&b, 10), 0);
	assert_int_equal(xvbuf_put_zero(&b, SIZE_MAX), XV_ENOSPC);
	assert_int_equal(xvbuf_reserve(&b, SIZE_MAX, &p), XV_ENOSPC);
	assert_int_equal(xvbuf_reserve(&b, SIZE_MAX - 9, &p), XV_ENOSPC);
	assert_int_equal(xvbuf_put(&b, out, SIZE_MAX), XV_ENOSPC);
	/* off + n would wrap: must still be refused */
	assert_int_equal(xvbuf_peek(&b, 1, out, SIZE_MAX), XV_ESHORT);
	assert_int_equal(xvbuf_peek(&b, SIZE_MAX, out, 2), XV_ESHORT);
	assert_int_equal(xvbuf_peek(&b, SIZE_MAX - 1, out, 2), XV_ESHORT);
	assert_int_equal(xvbuf_peek_u32(&b, SIZE_MAX - 2, &u32), XV_ESHORT);
	assert_int_equal(xvbuf_consume(&b, SIZE_MAX), XV_ESHORT);
	assert_int_equal(xvbuf_get(&b, NULL, SIZE_MAX), XV_ESHORT);
	assert_int_equal(xvbuf_trim(&b, SIZE_MAX), XV_ESHORT);
	assert_int_equal(xvbuf_poke_u32(&b, SIZE_MAX - 1, 1), XV_ESHORT);
	assert_int_equal(xvbuf_poke_u32(&b, SIZE_MAX, 1), XV_ESHORT);
	assert_int_equal(xvbuf_len(&b), 10);
	xvbuf_free(&b);
}

static void test_integers_big_endian(void **state)
{
	struct xvbuf b;
	static const uint8_t want[] = {0x7f, 0x12, 0x34, 0xde, 0xad, 0xbe, 0xef, 0x00, 0x00};
	uint8_t u8;
	uint16_t u16;
	uint32_t u32;

	assert_int_equal(xvbuf_init(&b, 64), 0);
	assert_int_equal(xvbuf_put_u8(&b, 0x7f), 0);
	assert_int_equal(xvbuf_put_u16(&b, 0x1234), 0);
	assert_int_equal(xvbuf_put_u32(&b, 0xdeadbeef), 0);
	assert_int_equal(xvbuf_put_zero(&b, 2), 0);
	assert_int_equal(xvbuf_len(&b), sizeof want);
	assert_memory_equal(xvbuf_ptr(&b), want, sizeof want);

	assert_int_equal(xvbuf_peek_u8(&b, 0, &u8), 0);
	assert_int_equal(u8, 0x7f);
	assert_int_equal(xvbuf_peek_u16(&b, 1, &u16), 0);
	assert_int_equal(u16, 0x1234);
	assert_int_equal(xvbuf_peek_u32(&b, 3, &u32), 0);
	assert_int_equal(u32, 0xdeadbeef);
	assert_int_equal(xvbuf_peek_u16(&b, 7, &u16), 0); /* exactly the last 2 */
	assert_int_equal(u16, 0);
	u16 = 0x5555;
	assert_int_equal(xvbuf_peek_u16(&b, 8, &u16), XV_ESHORT);
	assert_int_equal(u16, 0x5555);
	assert_int_equal(xvbuf_len(&b), sizeof want); /* peeks consume nothing */

	assert_int_equal(xvbuf_get_u8(&b, &u8), 0);
	assert_int_equal(u8, 0x7f);
	assert_int_equal(xvbuf_get_u16(&b, &u16), 0);
	assert_int_equal(u16, 0x1234);
	assert_int_equal(xvbuf_get_u32(&b, &u32), 0);
	assert_int_equal(u32, 0xdeadbeef);
	assert_int_equal(xvbuf_len(&b), 2);
	/* past the end: nothing consumed, nothing written */
	u32 = 42;
	assert_int_equal(xvbuf_get_u32(&b, &u32), XV_ESHORT);
	assert_int_equal(u32, 42);
	assert_int_equal(xvbuf_len(&b), 2);
	assert_int_equal(xvbuf_get_u16(&b, &u16), 0);
	u8 = 9;
	assert_int_equal(xvbuf_get_u8(&b, &u8), XV_ESHORT);
	assert_int_equal(u8, 9);
	assert_int_equal(xvbuf_get_u16(&b, &u16), XV_ESHORT);
	assert_int_equal(xvbuf_len(&b), 0);
	xvbuf_free(&b);
}

static void test_get_peek_bytes(void **state)
{
	struct xvbuf b;
	uint8_t out[8];

	assert_int_equal(xvbuf_init(&b, 32), 0);
	assert_int_equal(xvbuf_put(&b, "abcdef", 6), 0);
	assert_int_equal(xvbuf_peek(&b, 2, out, 4), 0);
	assert_memory_equal(out, "cdef", 4);
	assert_int_equal(xvbuf_peek(&b, 2, out, 5), XV_ESHORT);
	assert_int_equal(xvbuf_peek(&b, 6, out, 0), 0); /* empty read at the end */
	assert_int_equal(xvbuf_peek(&b, 7, out, 0), XV_ESHORT);
	assert_int_equal(xvbuf_get(&b, out, 2), 0);
	assert_memory_equal(out, "ab", 2);
	assert_int_equal(xvbuf_get(&b, NULL, 1), 0); /* skip */
	assert_int_equal(xvbuf_len(&b), 3);
	assert_memory_equal(xvbuf_ptr(&b), "def", 3);
	assert_int_equal(xvbuf_get(&b, out, 4), XV_ESHORT);
	assert_int_equal(xvbuf_len(&b), 3);
	assert_int_equal(xvbuf_get(&b, out, 0), 0);
	assert_int_equal(xvbuf_consume(&b, 4), XV_ESHORT);
	assert_int_equal(xvbuf_consume(&b, 3), 0);
	assert_int_equal(xvbuf_len(&b), 0);
	/* an emptied buffer restarts at the front */
	assert_int_equal(b.off, 0);
	assert_int_equal(xvbuf_consume(&b, 0), 0);
	assert_int_equal(xvbuf_consume(&b, 1), XV_ESHORT);
	xvbuf_free(&b);
}

static void test_view(void **state)
{
	static const uint8_t bytes[] = {0, 1, 2, 3, 4, 5, 6, 7};
	struct xvbuf v;
	uint8_t *p, u8;
	uint16_t u16;
	uint32_t u32;

	xvbuf_view(&v, bytes, sizeof bytes);
	assert_int_equal(xvbuf_len(&v), 8);
	assert_int_equal(xvbuf_avail(&v), 0);
	assert_ptr_equal(xvbuf_ptr(&v), bytes);
	assert_int_equal(xvbuf_put_u8(&v, 1), XV_EINVAL);
	assert_int_equal(xvbuf_put(&v, "x", 1), XV_EINVAL);
	assert_int_equal(xvbuf_put(&v, NULL, 0), XV_EINVAL);
	assert_int_equal(xvbuf_put_zero(&v, 0), XV_EINVAL);
	assert_int_equal(xvbuf_reserve(&v, 0, &p), XV_EINVAL);
	assert_int_equal(xvbuf_poke_u32(&v, 0, 1), XV_EINVAL);
	xvbuf_compact(&v); /* no-op */
	assert_int_equal(xvbuf_get_u32(&v, &u32), 0);
	assert_int_equal(u32, 0x00010203);
	assert_int_equal(xvbuf_trim(&v, 1), 0);
	assert_int_equal(xvbuf_len(&v), 3);
	assert_int_equal(xvbuf_peek_u16(&v, 1, &u16), 0);
	assert_int_equal(u16, 0x0506);
	assert_int_equal(xvbuf_get_u32(&v, &u32), XV_ESHORT);
	assert_int_equal(xvbuf_consume(&v, 3), 0);
	assert_int_equal(xvbuf_len(&v), 0);
	xvbuf_view(&v, bytes, sizeof bytes);
	xvbuf_reset(&v);
	assert_int_equal(xvbuf_len(&v), 0);
	xvbuf_free(&v); /* the caller's bytes are not freed */
	assert_int_equal(bytes[7], 7);

	xvbuf_view(&v, NULL, 5);
	assert_int_equal(xvbuf_len(&v), 0);
	assert_null(xvbuf_ptr(&v));
	assert_int_equal(xvbuf_get_u8(&v, &u8), XV_ESHORT);
	xvbuf_view(&v, bytes, 0);
	assert_int_equal(xvbuf_len(&v), 0);
	assert_int_equal(xvbuf_peek(&v, 0, NULL, 0), 0);
}

static void test_reserve_trim(void **state)
{
	struct xvbuf b;
	uint8_t *p;

	assert_int_equal(xvbuf_init(&b, 1000), 0);
	assert_int_equal(xvbuf_put(&b, "hdr", 3), 0);
	assert_int_equal(xvbuf_reserve(&b, 100, &p), 0);
	assert_non_null(p);
	memcpy(p, "0123456789", 10); /* a short read(2) */
	assert_int_equal(xvbuf_trim(&b, 90), 0);
	assert_int_equal(xvbuf_len(&b), 13);
	assert_memory_equal(xvbuf_ptr(&b), "hdr0123456789", 13);
	assert_int_equal(xvbuf_avail(&b), 1000 - 13);
	assert_int_equal(xvbuf_trim(&b, 14), XV_ESHORT);
	assert_int_equal(xvbuf_trim(&b, 0), 0);
	assert_int_equal(xvbuf_reserve(&b, 987, &p), 0);
	assert_int_equal(xvbuf_avail(&b), 0);
	assert_int_equal(xvbuf_trim(&b, 987), 0);
	assert_int_equal(xvbuf_reserve(&b, 988, &p), XV_ENOSPC);
	assert_int_equal(xvbuf_trim(&b, 13), 0);
	assert_int_equal(xvbuf_len(&b), 0);
	xvbuf_free(&b);
}

static void test_poke(void **state)
{
	struct xvbuf b;
	static const uint8_t want[] = {9, 0xca, 0xfe, 0xba, 0xbe, 9};

	assert_int_equal(xvbuf_init(&b, 16), 0);
	assert_int_equal(xvbuf_put_u8(&b, 0xff), 0);
	assert_int_equal(xvbuf_put(&b, "\x09\0\0\0\0\x09", 6), 0);
	assert_int_equal(xvbuf_consume(&b, 1), 0); /* offsets are relative to unread data */
	assert_int_equal(xvbuf_poke_u32(&b, 1, 0xcafebabe), 0);
	assert_memory_equal(xvbuf_ptr(&b), want, sizeof want);
	assert_int_equal(xvbuf_poke_u32(&b, 2, 0), 0); /* exactly the last 4 */
	assert_int_equal(xvbuf_poke_u32(&b, 3, 0), XV_ESHORT);
	assert_int_equal(xvbuf_poke_u32(&b, 7, 0), XV_ESHORT);
	xvbuf_free(&b);
}

static void test_compaction(void **state)
{
	struct xvbuf b;
	uint8_t out[8];

	assert_int_equal(xvbuf_init(&b, 8), 0);
	assert_int_equal(xvbuf_put(&b, "abcdefgh", 8), 0);
	assert_int_equal(xvbuf_consume(&b, 5), 0);
	assert_int_equal(xvbuf_avail(&b), 5);
	/* needs the consumed prefix back: compaction, not growth */
	assert_int_equal(xvbuf_put(&b, "12345", 5), 0);
	assert_int_equal(b.alloc, 8);
	assert_int_equal(xvbuf_len(&b), 8);
	assert_memory_equal(xvbuf_ptr(&b), "fgh12345", 8);
	assert_int_equal(xvbuf_put_u8(&b, 0), XV_ENOSPC);
	assert_int_equal(xvbuf_get(&b, out, 8), 0);
	assert_memory_equal(out, "fgh12345", 8);

	/* explicit compaction */
	assert_int_equal(xvbuf_put(&b, "xyz", 3), 0);
	assert_int_equal(xvbuf_consume(&b, 1), 0);
	xvbuf_compact(&b);
	assert_int_equal(b.off, 0);
	assert_memory_equal(xvbuf_ptr(&b), "yz", 2);
	xvbuf_free(&b);
}

static void test_long_lived_stays_bounded(void **state)
{
	struct xvbuf b;
	uint8_t chunk[37], out[37];
	size_t pending = 0;
	uint32_t seed = 12345;

	assert_int_equal(xvbuf_init(&b, 100), 0);
	for (int i = 0; i < 20000; i++) {
		seed = seed * 1103515245u + 12345u;
		size_t n = (seed >> 16) % sizeof chunk;
		for (size_t j = 0; j < n; j++)
			chunk[j] = (uint8_t)(i + j);
		int r = xvbuf_put(&b, chunk, n);
		if (r == 0) {
			pending += n;
		} else {
			assert_int_equal(r, XV_ENOSPC);
			assert_true(n > xvbuf_avail(&b));
		}
		size_t take = ((seed >> 8) % sizeof out);
		if (take > pending)
			take = pending;
		assert_int_equal(xvbuf_get(&b, out, take), 0);
		pending -= take;
		assert_int_equal(xvbuf_len(&b), pending);
		assert_true(b.alloc <= 100);
	}
	xvbuf_free(&b);
}

static void test_growth_keeps_data(void **state)
{
	struct xvbuf b;
	uint8_t v;

	assert_int_equal(xvbuf_init(&b, 5000), 0);
	for (int i = 0; i < 5000; i++)
		assert_int_equal(xvbuf_put_u8(&b, (uint8_t)(i * 7)), 0);
	assert_int_equal(b.alloc, 5000);
	assert_int_equal(xvbuf_put_u8(&b, 0), XV_ENOSPC);
	for (int i = 0; i < 5000; i++) {
		assert_int_equal(xvbuf_get_u8(&b, &v), 0);
		assert_int_equal(v, (uint8_t)(i * 7));
	}
	xvbuf_free(&b);
}

static void test_reset(void **state)
{
	struct xvbuf b;
	uint8_t *storage;

	assert_int_equal(xvbuf_init(&b, 64), 0);
	assert_int_equal(xvbuf_put(&b, "abc", 3), 0);
	storage = b.d;
	xvbuf_reset(&b);
	assert_int_equal(xvbuf_len(&b), 0);
	assert_int_equal(xvbuf_avail(&b), 64);
	assert_ptr_equal(b.d, storage);
	assert_int_equal(xvbuf_put(&b, "de", 2), 0);
	assert_memory_equal(xvbuf_ptr(&b), "de", 2);
	xvbuf_free(&b);
	assert_null(b.d);
	assert_int_equal(xvbuf_len(&b), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_init_limits),
	    cmocka_unit_test(test_exactly_max),
	    cmocka_unit_test(test_max_plus_one_at_once),
	    cmocka_unit_test(test_huge_sizes),
	    cmocka_unit_test(test_integers_big_endian),
	    cmocka_unit_test(test_get_peek_bytes),
	    cmocka_unit_test(test_view),
	    cmocka_unit_test(test_reserve_trim),
	    cmocka_unit_test(test_poke),
	    cmocka_unit_test(test_compaction),
	    cmocka_unit_test(test_long_lived_stays_bounded),
	    cmocka_unit_test(test_growth_keeps_data),
	    cmocka_unit_test(test_reset),
	};
	return cmocka_run_group_tests_name("xvbuf", tests, NULL, NULL);
}
