/*
 * advert.h - the agent's rendezvous advertisement in xenstore.
 *
 * Under the guest's own tree (relative paths, so they follow the domid
 * across save/restore and migration):
 *   data/guest/probes/protocol = "xenvchan-nrpe"
 *   data/guest/probes/versions = "1"        extension versions spoken
 *   data/guest/probes/transport = "vchan" | "socket"
 *   data/guest/probes/vchan/{ring-ref,event-channel}   written by libxenvchan
 * docs/DATA-TREE.md is the contract.
 */
#ifndef XV_ADVERT_H
#define XV_ADVERT_H

#include <xenstore.h>

#define ADVERT_DIR "data/guest/probes"
#define ADVERT_VCHAN_PATH ADVERT_DIR "/vchan"
#define ADVERT_PROTOCOL "xenvchan-nrpe"

/* Write protocol, versions and transport in one transaction (retried on
 * EAGAIN).  Returns 0, or -1 with errno set. */
int advert_publish(struct xs_handle *xs, const char *transport, const char *versions);
/* Remove the whole advertisement (agent stopping).  Returns 0 or -1. */
int advert_remove(struct xs_handle *xs);
/* Read the guest's own domid (relative key "domid").  Returns the domid,
 * or -1 with errno set. */
int advert_read_domid(struct xs_handle *xs);

#endif
