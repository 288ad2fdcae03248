/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "advert.h"

#define ADVERT_TX_RETRIES 16

int advert_publish(struct xs_handle *xs, const char *transport, const char *versions)
{
	const struct {
		const char *key, *val;
	} kv[] = {
	    {XVWIRE_ADVERT_DIR "/" XVWIRE_KEY_PROTOCOL, XVWIRE_PROTOCOL},
	    {XVWIRE_ADVERT_DIR "/" XVWIRE_KEY_VERSIONS, versions},
	    {XVWIRE_ADVERT_DIR "/" XVWIRE_KEY_TRANSPORT, transport},
	};

	for (int attempt = 0; attempt < ADVERT_TX_RETRIES; attempt++) {
		xs_transaction_t t = xs_transaction_start(xs);
		int ok = 1;

		if (t == XBT_NULL)
			return -1;
		for (size_t i = 0; ok && i < sizeof kv / sizeof kv[0]; i++)
			ok = xs_write(xs, t, kv[i].key, kv[i].val, strlen(kv[i].val));
		if (!ok) {
			int saved = errno;
			xs_transaction_end(xs, t, 1);
			errno = saved;
			return -1;
		}
		if (xs_transaction_end(xs, t, 0))
			return 0;
		if (errno != EAGAIN)
			return -1;
	}
	errno = EAGAIN;
	return -1;
}

int advert_remove(struct xs_handle *xs)
{
	if (!xs_rm(xs, XBT_NULL, XVWIRE_ADVERT_DIR) && errno != ENOENT)
		return -1;
	return 0;
}

int advert_read_domid(struct xs_handle *xs)
{
	unsigned int len = 0;
	char *v = xs_read(xs, XBT_NULL, "domid", &len);
	char *end;
	long id;

	if (!v)
		return -1;
	errno = 0;
	id = strtol(v, &end, 10);
	if (errno || end == v || *end != '\0' || id < 0 || id > 0x7FEF) {
		free(v);
		errno = EINVAL;
		return -1;
	}
	free(v);
	return (int)id;
}
