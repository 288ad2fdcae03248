/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * advert.h - the agent's rendezvous advertisement in xenstore; its paths
 * and values are the wire facts of proto/xvwire.h, which the bridge reads.
 */
#ifndef XV_ADVERT_H
#define XV_ADVERT_H

#include <xenstore.h>

#include "xvwire.h"

/* Write protocol, versions and transport in one transaction (retried on
 * EAGAIN).  Returns 0, or -1 with errno set. */
int advert_publish(struct xs_handle *xs, const char *transport, const char *versions);
/* Remove the whole advertisement (agent stopping).  Returns 0 or -1. */
int advert_remove(struct xs_handle *xs);
/* Read the guest's own domid (relative key "domid").  Returns the domid,
 * or -1 with errno set. */
int advert_read_domid(struct xs_handle *xs);

#endif
