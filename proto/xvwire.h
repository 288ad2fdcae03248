/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * xvwire.h - the facts the agent writes and the bridge reads outside the
 * byte stream: the rendezvous advertisement in xenstore and the channel's
 * path, defined once for both ends (docs/DATA-TREE.md is the contract).
 *
 * Under the guest's own tree (relative paths, so they follow the domid
 * across save/restore and migration):
 *   data/guest/probes/protocol  = XVWIRE_PROTOCOL ("xenvchan-nrpe")
 *   data/guest/probes/versions  = "1"       extension versions spoken
 *   data/guest/probes/transport = "vchan" | "socket"
 *   data/guest/probes/vchan/{ring-ref,event-channel}   written by libxenvchan
 */
#ifndef XV_XVWIRE_H
#define XV_XVWIRE_H

#define XVWIRE_ADVERT_DIR "data/guest/probes"
#define XVWIRE_KEY_PROTOCOL "protocol"
#define XVWIRE_KEY_VERSIONS "versions"
#define XVWIRE_KEY_TRANSPORT "transport"
#define XVWIRE_PROTOCOL "xenvchan-nrpe"
#define XVWIRE_TRANSPORT_VCHAN "vchan"
#define XVWIRE_TRANSPORT_SOCKET "socket"
/* the channel's rendezvous, relative to the server's home; under 49
 * characters (libxenvchan formats it into 64 bytes with the domain) */
#define XVWIRE_CHAN_PATH XVWIRE_ADVERT_DIR "/vchan"

#endif
