/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "xverr.h"

const char *xv_strerror(int err)
{
	switch (err) {
	case XV_OK:
		return "success";
	case XV_EAGAIN:
		return "incomplete input, more bytes needed";
	case XV_ENOMEM:
		return "out of memory";
	case XV_ENOSPC:
		return "buffer limit reached";
	case XV_ESHORT:
		return "not enough data in buffer";
	case XV_EINVAL:
		return "invalid argument";
	case XV_E2BIG:
		return "value too long";
	case XV_EVERSION:
		return "unsupported packet version";
	case XV_EV3:
		return "NRPE v3 packets are not supported";
	case XV_ETYPE:
		return "invalid packet type for its version";
	case XV_ECRC:
		return "CRC-32 mismatch";
	case XV_ELENGTH:
		return "buffer length out of bounds";
	case XV_EALIGN:
		return "alignment field not zero";
	case XV_ENOTERM:
		return "text not NUL-terminated";
	case XV_EPAYLOAD:
		return "malformed extension payload";
	case XV_ENEGOTIATE:
		return "no common protocol version";
	case XV_ECLOSED:
		return "channel closed by peer";
	case XV_ENOPEER:
		return "no server listening";
	case XV_ESYS:
		return "system call failed";
	case XV_EUNSUPP:
		return "channel kind not supported";
	case XV_ESPEC:
		return "malformed channel specification";
	case XV_ESTATE:
		return "operation invalid in channel state";
	}
	return "unknown error";
}
