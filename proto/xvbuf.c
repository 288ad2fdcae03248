/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * xvbuf.c - bounded byte buffer.  See xvbuf.h for the contracts.
 *
 * Invariants: off <= size <= alloc, size - off <= max.  Every size check is
 * a subtraction from a value already known to be in range, so no caller
 * size can make it wrap.
 */
#include <stdlib.h>
#include <string.h>

#include "xverr.h"
#include "xvbuf.h"

int xvbuf_init(struct xvbuf *b, size_t max)
{
	memset(b, 0, sizeof *b);
	if (max == 0 || max > XVBUF_SIZE_MAX)
		return XV_EINVAL;
	b->max = max;
	return 0;
}

void xvbuf_free(struct xvbuf *b)
{
	if (!b->readonly)
		free(b->d);
	memset(b, 0, sizeof *b);
}

void xvbuf_reset(struct xvbuf *b)
{
	if (b->readonly) {
		b->off = b->size;
		return;
	}
	b->off = 0;
	b->size = 0;
}

void xvbuf_view(struct xvbuf *b, const void *p, size_t len)
{
	memset(b, 0, sizeof *b);
	b->readonly = 1;
	if (p == NULL)
		return;
	b->cd = p;
	b->size = len;
	b->alloc = len;
	b->max = len;
}

size_t xvbuf_len(const struct xvbuf *b)
{
	return b->size - b->off;
}

const uint8_t *xvbuf_ptr(const struct xvbuf *b)
{
	/* NULL + 0 is undefined behaviour, so no offset on an empty buffer */
	if (b->cd == NULL)
		return NULL;
	return b->cd + b->off;
}

size_t xvbuf_avail(const struct xvbuf *b)
{
	if (b->readonly)
		return 0;
	return b->max - (b->size - b->off);
}

size_t xvbuf_max(const struct xvbuf *b)
{
	return b->max;
}

void xvbuf_compact(struct xvbuf *b)
{
	if (b->readonly || b->off == 0)
		return;
	if (b->size > b->off)
		memmove(b->d, b->d + b->off, b->size - b->off);
	b->size -= b->off;
	b->off = 0;
}

/* Make room to append n bytes at d + size: compact first if that is enough,
 * otherwise grow (doubling, capped at max). */
static int xvbuf_make_room(struct xvbuf *b, size_t n)
{
	size_t len, need, nalloc;
	uint8_t *nd;

	if (b->readonly)
		return XV_EINVAL;
	len = b->size - b->off;
	if (n > b->max - len)
		return XV_ENOSPC;
	if (n <= b->alloc - b->size)
		return 0;
	need = len + n; /* <= max: checked above */
	if (need <= b->alloc) {
		xvbuf_compact(b);
		return 0;
	}
	nalloc = b->alloc != 0 ? b->alloc : XVBUF_ALLOC_MIN;
	while (nalloc < need)
		nalloc = nalloc > b->max / 2 ? b->max : nalloc * 2;
	if (nalloc > b->max)
		nalloc = b->max;
	nd = realloc(b->d, nalloc);
	if (nd == NULL)
		return XV_ENOMEM;
	b->d = nd;
	b->cd = nd;
	b->alloc = nalloc;
	xvbuf_compact(b);
	return 0;
}

int xvbuf_reserve(struct xvbuf *b, size_t n, uint8_t **dpp)
{
	int r;

	if ((r = xvbuf_make_room(b, n)) < 0)
		return r;
	*dpp = b->d == NULL ? NULL : b->d + b->size;
	b->size += n;
	return 0;
}

int xvbuf_trim(struct xvbuf *b, size_t n)
{
	if (n > b->size - b->off)
		return XV_ESHORT;
	b->size -= n;
	return 0;
}

int xvbuf_put(struct xvbuf *b, const void *p, size_t n)
{
	uint8_t *dp;
	int r;

	if (p == NULL && n != 0)
		return XV_EINVAL;
	if ((r = xvbuf_reserve(b, n, &dp)) < 0)
		return r;
	if (n != 0)
		memcpy(dp, p, n);
	return 0;
}

int xvbuf_put_zero(struct xvbuf *b, size_t n)
{
	uint8_t *dp;
	int r;

	if ((r = xvbuf_reserve(b, n, &dp)) < 0)
		return r;
	if (n != 0)
		memset(dp, 0, n);
	return 0;
}

int xvbuf_put_u8(struct xvbuf *b, uint8_t v)
{
	return xvbuf_put(b, &v, 1);
}

int xvbuf_put_u16(struct xvbuf *b, uint16_t v)
{
	uint8_t be[2] = {(uint8_t)(v >> 8), (uint8_t)v};

	return xvbuf_put(b, be, sizeof be);
}

int xvbuf_put_u32(struct xvbuf *b, uint32_t v)
{
	uint8_t be[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};

	return xvbuf_put(b, be, sizeof be);
}

int xvbuf_poke_u32(struct xvbuf *b, size_t off, uint32_t v)
{
	uint8_t *p;

	if (b->readonly)
		return XV_EINVAL;
	if (off > b->size - b->off || 4 > b->size - b->off - off)
		return XV_ESHORT;
	p = b->d + b->off + off;
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
	return 0;
}

int xvbuf_peek(const struct xvbuf *b, size_t off, void *dst, size_t n)
{
	size_t len = b->size - b->off;

	if (off > len || n > len - off)
		return XV_ESHORT;
	if (n != 0)
		memcpy(dst, b->cd + b->off + off, n);
	return 0;
}

int xvbuf_peek_u8(const struct xvbuf *b, size_t off, uint8_t *v)
{
	return xvbuf_peek(b, off, v, 1);
}

int xvbuf_peek_u16(const struct xvbuf *b, size_t off, uint16_t *v)
{
	uint8_t be[2];
	int r;

	if ((r = xvbuf_peek(b, off, be, sizeof be)) < 0)
		return r;
	*v = (uint16_t)((unsigned)be[0] << 8 | be[1]);
	return 0;
}

int xvbuf_peek_u32(const struct xvbuf *b, size_t off, uint32_t *v)
{
	uint8_t be[4];
	int r;

	if ((r = xvbuf_peek(b, off, be, sizeof be)) < 0)
		return r;
	*v = (uint32_t)be[0] << 24 | (uint32_t)be[1] << 16 | (uint32_t)be[2] << 8 | be[3];
	return 0;
}

int xvbuf_consume(struct xvbuf *b, size_t n)
{
	if (n > b->size - b->off)
		return XV_ESHORT;
	b->off += n;
	/* an emptied owned buffer restarts at the front: no copy needed later */
	if (b->off == b->size && !b->readonly) {
		b->off = 0;
		b->size = 0;
	}
	return 0;
}

int xvbuf_get(struct xvbuf *b, void *dst, size_t n)
{
	int r;

	if (dst != NULL && (r = xvbuf_peek(b, 0, dst, n)) < 0)
		return r;
	return xvbuf_consume(b, n);
}

int xvbuf_get_u8(struct xvbuf *b, uint8_t *v)
{
	return xvbuf_get(b, v, 1);
}

int xvbuf_get_u16(struct xvbuf *b, uint16_t *v)
{
	uint16_t t;
	int r;

	if ((r = xvbuf_peek_u16(b, 0, &t)) < 0)
		return r;
	*v = t;
	return xvbuf_consume(b, 2);
}

int xvbuf_get_u32(struct xvbuf *b, uint32_t *v)
{
	uint32_t t;
	int r;

	if ((r = xvbuf_peek_u32(b, 0, &t)) < 0)
		return r;
	*v = t;
	return xvbuf_consume(b, 4);
}
