/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * xverr.h - error codes shared by everything in proto/ (libxvproto).
 *
 * Every libxvproto function that can fail returns 0 (or a non-negative
 * count) on success and one of these negative codes on failure.  No proto/
 * function logs, exits or keeps global state; callers turn a code into a
 * message with xv_strerror().
 */
#ifndef XVERR_H
#define XVERR_H

enum xv_err {
	XV_OK = 0,

	/* generic */
	XV_EAGAIN = -1, /* incomplete input: more bytes are needed */
	XV_ENOMEM = -2, /* allocation failed */
	XV_ENOSPC = -3, /* a write would exceed a buffer's hard maximum */
	XV_ESHORT = -4, /* a read asked for more bytes than the buffer holds */
	XV_EINVAL = -5, /* invalid argument from the caller (a bug, not the peer) */
	XV_E2BIG = -6,	/* a value is too long for the field or packet it goes into */

	/* packet codec: each rejection of received bytes has its own code */
	XV_EVERSION = -20,   /* packet version is not 2, 4 or the extension version */
	XV_EV3 = -21,	     /* NRPE v3 packet (rejected, as nrpe >= 4.0 does) */
	XV_ETYPE = -22,	     /* packet type not defined for its version */
	XV_ECRC = -23,	     /* CRC-32 mismatch */
	XV_ELENGTH = -24,    /* buffer_length out of bounds for the packet kind */
	XV_EALIGN = -25,     /* v4/extension alignment field is not zero */
	XV_ENOTERM = -26,    /* text is not NUL-terminated inside the buffer */
	XV_EPAYLOAD = -27,   /* extension payload malformed (fields, lengths, values) */
	XV_ENEGOTIATE = -28, /* hello: no protocol version in common */

	/* channels */
	XV_ECLOSED = -40, /* the peer closed the channel (or it was never open) */
	XV_ENOPEER = -41, /* no server to connect to (absent, busy or gone) */
	XV_ESYS = -42,	  /* a system call failed; errno tells which */
	XV_EUNSUPP = -43, /* channel kind not available in this build/host */
	XV_ESPEC = -44,	  /* malformed channel specification string */
	XV_ESTATE = -45,  /* operation not valid in the channel's current state */
};

/* Static English text for an xv_err code (never NULL; unknown codes get a
 * generic text). */
const char *xv_strerror(int err);

#endif
