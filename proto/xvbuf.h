/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * xvbuf.h - bounded byte buffer through which all wire bytes pass
 * (model: OpenSSH sshbuf).
 *
 * A struct xvbuf is one of
 *  - owned: storage allocated on demand, growing up to a hard maximum fixed
 *    by xvbuf_init().  Bytes are appended at the end and read (consumed)
 *    from the front.
 *  - a view: a read-only window over bytes the caller owns (xvbuf_view()).
 *    Reads and consumes work; every write fails with XV_EINVAL and nothing
 *    is ever freed.
 *
 * "Unread data" means the bytes appended and not yet consumed.  len, ptr,
 * peek and get all refer to it; peek offsets count from its first byte.
 * The maximum bounds the unread data, not the total ever appended: the
 * consumed prefix is reclaimed (compaction) whenever room is needed, so a
 * long-lived connection buffer never holds more than max bytes of storage.
 *
 * Functions returning int return 0 on success or a negative code from
 * xverr.h; on failure the buffer and every output argument are left
 * unchanged.  The codes:
 *   XV_ENOSPC  an append would take the unread data past max
 *   XV_ESHORT  a read, peek, consume or trim asks for more bytes than the
 *              unread data holds
 *   XV_EINVAL  a write to a view, or a caller bug (bad max, NULL data with
 *              a non-zero length)
 *   XV_ENOMEM  the storage could not be grown
 * Length checks never add caller sizes: a huge n fails cleanly.
 *
 * Pointers returned by xvbuf_ptr() and xvbuf_reserve() stay valid only until
 * the next call that appends, reserves, compacts, resets or frees.
 *
 * Not thread-safe: one buffer belongs to one thread at a time.
 */
#ifndef XVBUF_H
#define XVBUF_H

#include <stddef.h>
#include <stdint.h>

/* Largest max accepted by xvbuf_init(): a sanity bound against a caller
 * passing a computed size that went wrong, not a tuning knob. */
#define XVBUF_SIZE_MAX ((size_t)64 * 1024 * 1024)

/* First allocation of an owned buffer (or max, if smaller); growth then
 * doubles, capped at max. */
#define XVBUF_ALLOC_MIN ((size_t)256)

/* Treat as opaque; the fields are here so that buffers can be embedded. */
struct xvbuf {
	uint8_t *d;	   /* owned storage; NULL for a view or before first use */
	const uint8_t *cd; /* what reads use: d for owned, the caller's bytes for a view */
	size_t off;	   /* start of the unread data in cd */
	size_t size;	   /* end of the unread data in cd */
	size_t alloc;	   /* bytes allocated at d (view: the view's length) */
	size_t max;	   /* hard maximum of unread data */
	int readonly;	   /* 1 for a view */
};

/* Make b an empty owned buffer holding at most max bytes of unread data.
 * Allocates nothing yet.  Returns 0, or XV_EINVAL if max is 0 or larger
 * than XVBUF_SIZE_MAX (b is then zeroed, and safe to free). */
int xvbuf_init(struct xvbuf *b, size_t max);

/* Release the storage of an owned buffer and zero b.  Safe on a view, on a
 * zeroed struct and twice in a row.  The caller's bytes behind a view are
 * never touched. */
void xvbuf_free(struct xvbuf *b);

/* Discard all unread data.  An owned buffer keeps its storage and max; a
 * view becomes empty (it does not rewind). */
void xvbuf_reset(struct xvbuf *b);

/* Make b a read-only view of the len bytes at p (p may be NULL only if len
 * is 0; a NULL p gives an empty view).  The bytes must outlive b's use.
 * avail is always 0 for a view. */
void xvbuf_view(struct xvbuf *b, const void *p, size_t len);

/* Number of unread bytes. */
size_t xvbuf_len(const struct xvbuf *b);

/* Pointer to the first unread byte (NULL when nothing was ever stored; it
 * may be non-NULL with xvbuf_len() == 0). */
const uint8_t *xvbuf_ptr(const struct xvbuf *b);

/* Bytes that may still be appended before max is reached (0 for a view). */
size_t xvbuf_avail(const struct xvbuf *b);

/* The hard maximum given to xvbuf_init() (a view's length for a view). */
size_t xvbuf_max(const struct xvbuf *b);

/* Move the unread data to the start of the storage, reclaiming the consumed
 * prefix.  Appends do this by themselves when they need room; call it
 * directly only to control when the copy happens.  No-op on a view. */
void xvbuf_compact(struct xvbuf *b);

/* Append n bytes at the end and set *dpp to them, for a read(2)-style fill.
 * The bytes are uninitialised: the caller fills them, then gives back what
 * it did not fill with xvbuf_trim().  n == 0 succeeds and sets *dpp to a
 * valid (possibly NULL) pointer that must not be dereferenced.
 * Errors: XV_EINVAL (view), XV_ENOSPC (n > xvbuf_avail()), XV_ENOMEM. */
int xvbuf_reserve(struct xvbuf *b, size_t n, uint8_t **dpp);

/* Remove the last n unread bytes (the unfilled tail of a reservation).
 * Works on views too (it only shrinks the window).  XV_ESHORT if n is larger
 * than xvbuf_len(). */
int xvbuf_trim(struct xvbuf *b, size_t n);

/* Append n bytes copied from p (p may be NULL if n is 0).  Errors as for
 * xvbuf_reserve(). */
int xvbuf_put(struct xvbuf *b, const void *p, size_t n);

/* Append n zero bytes.  Errors as for xvbuf_reserve(). */
int xvbuf_put_zero(struct xvbuf *b, size_t n);

/* Append one integer, big-endian.  Errors as for xvbuf_reserve(). */
int xvbuf_put_u8(struct xvbuf *b, uint8_t v);
int xvbuf_put_u16(struct xvbuf *b, uint16_t v);
int xvbuf_put_u32(struct xvbuf *b, uint32_t v);

/* Overwrite 4 unread bytes at offset off with v, big-endian (used to fill
 * in a checksum after the data it covers).  XV_EINVAL on a view, XV_ESHORT
 * if the 4 bytes are not all inside the unread data. */
int xvbuf_poke_u32(struct xvbuf *b, size_t off, uint32_t v);

/* Copy n unread bytes starting at offset off to dst, without consuming.
 * XV_ESHORT unless off + n <= xvbuf_len(). */
int xvbuf_peek(const struct xvbuf *b, size_t off, void *dst, size_t n);

/* Read one big-endian integer at offset off, without consuming.  XV_ESHORT
 * if it does not lie wholly inside the unread data. */
int xvbuf_peek_u8(const struct xvbuf *b, size_t off, uint8_t *v);
int xvbuf_peek_u16(const struct xvbuf *b, size_t off, uint16_t *v);
int xvbuf_peek_u32(const struct xvbuf *b, size_t off, uint32_t *v);

/* Drop the first n unread bytes.  XV_ESHORT if n > xvbuf_len(). */
int xvbuf_consume(struct xvbuf *b, size_t n);

/* Copy the first n unread bytes to dst (dst may be NULL to just skip them)
 * and consume them.  XV_ESHORT if n > xvbuf_len(). */
int xvbuf_get(struct xvbuf *b, void *dst, size_t n);

/* Read and consume one big-endian integer.  XV_ESHORT if too few bytes. */
int xvbuf_get_u8(struct xvbuf *b, uint8_t *v);
int xvbuf_get_u16(struct xvbuf *b, uint16_t *v);
int xvbuf_get_u32(struct xvbuf *b, uint32_t *v);

#endif
