/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * chan.h - the channel layer: one non-blocking byte stream between a guest
 * (server) and dom0 (client), over one of two transports chosen at run time
 * from a specification string:
 *
 *   "vchan"       libxenvchan (production).  The server allocates the grant
 *                 pages and the event channel and advertises them in its own
 *                 xenstore home under PATH; the client maps them.
 *   "socket:DIR"  a Unix stream socket in the existing directory DIR (tests,
 *                 the demo, machines without Xen).  The socket file of a
 *                 server is  DIR/<server-domid>-<PATH with '/' -> '.'>,
 *                 e.g. socket:/run/xv + domid 5 + "data/guest/probes/vchan"
 *                 -> /run/xv/5-data.guest.probes.vchan.
 *
 * Both kinds have the same semantics, so every program runs unchanged on
 * either:
 *
 * - A server serves exactly one client.  It starts CHAN_WAITING; once a
 *   client has connected it is CHAN_OPEN and no further client can connect
 *   (XV_ENOPEER).  When the session ends the caller closes the server, which
 *   removes its rendezvous (xenstore PATH, or the socket file), and creates a
 *   new one with chan_server() to accept the next client ("re-listen").
 * - Everything is non-blocking.  chan_fd() is ONE file descriptor, the same
 *   number for the channel's whole life, that the caller's event loop polls
 *   for readability only.  When it is readable the caller calls chan_wait()
 *   (which never blocks and consumes the notification), then reads until
 *   chan_read() returns 0 or XV_ECLOSED and retries any pending write.  A
 *   readable fd means "something may have changed" (a client arrived, data
 *   arrived, write space appeared, the peer left); spurious wake-ups happen
 *   and are harmless.  Notifications are edge-like: the caller only gets a
 *   new one for data it has not yet seen if its last chan_read() returned 0
 *   (or fewer bytes than asked), and for write space if its last
 *   chan_write() accepted fewer bytes than offered.
 * - CHAN_CLOSED means the peer has gone.  Bytes it sent before leaving stay
 *   readable; chan_read() returns them and then XV_ECLOSED.  States only
 *   move forward: WAITING -> OPEN -> CLOSED (a server may also go straight
 *   from WAITING to CLOSED; a client starts OPEN).
 *
 * What the channel does NOT notice (a caller concern):
 * - A peer DOMAIN that dies (destroyed, crashed) may not be signalled over a
 *   vchan: only a peer process that closes or crashes is.  Callers watch
 *   xenstore's @releaseDomain and close channels to vanished domains.
 *   Save/restore and migration change the guest's domid.
 * - Nothing here bounds how long a peer may stay silent: callers time out.
 *
 * Peer data is untrusted: libxenvchan clamps ring indices read from the
 * shared page, and this layer never interprets the bytes it moves.
 *
 * Every function returns 0 or a non-negative count on success and a
 * negative XV_* code from xverr.h on failure; XV_ESYS leaves errno set.
 * Nothing here logs, prints, exits or keeps global state.
 */
#ifndef XV_CHAN_H
#define XV_CHAN_H

#include <stddef.h>
#include <sys/types.h>

struct xentoollog_logger;

/*
 * Default ring size, each direction.  The largest protocol packet is an NRPE
 * v4 header (16 bytes) plus a 65536-byte buffer = 65552 bytes; libxenvchan
 * rings are powers of two, so 128 KiB is the smallest ring that holds a
 * whole maximum-size packet and lets a writer hand it over in one go.  Cost:
 * 32 granted pages each way per guest.
 */
#define CHAN_RING_DEFAULT (128 * 1024)
/* libxenvchan's largest ring (the grant refs must fit in the shared page). */
#define CHAN_RING_MAX (1024 * 1024)
/* Largest single chan_read()/chan_write() request; more is truncated to this
 * (no ring holds more, and it keeps the byte count inside an int). */
#define CHAN_IO_MAX CHAN_RING_MAX

/*
 * libxenvchan formats "<path>/event-channel" into a 64-byte buffer, on the
 * server with the relative PATH and on the client with the absolute
 * /local/domain/<domid>/PATH: both must stay within 63 - 14 = 49 characters,
 * or libxenvchan would silently use a truncated key.  For domid 1 that leaves
 * 33 characters for PATH, for a 5-digit domid 29 ("data/guest/probes/vchan"
 * is 23).  The socket kind applies the same limit so that a path that works
 * in tests works on Xen.
 */
#define CHAN_XS_PATH_MAX 49
/* Valid domain ids: 0 .. DOMID_FIRST_RESERVED - 1. */
#define CHAN_DOMID_MAX 0x7fef
/* Longest DIR in "socket:DIR": what fits in sockaddr_un.sun_path with NUL. */
#define CHAN_SOCKET_DIR_MAX 107
/* Buffer size that holds any formatted spec ("socket:" + DIR + NUL). */
#define CHAN_SPEC_TEXT_MAX (sizeof "socket:" + CHAN_SOCKET_DIR_MAX)

enum chan_kind {
	CHAN_VCHAN = 1,
	CHAN_SOCKET = 2,
};

enum chan_state {
	CHAN_WAITING = 1, /* server: no client yet */
	CHAN_OPEN = 2,
	CHAN_CLOSED = 3, /* peer gone; unread data may remain */
};

struct chan_spec {
	enum chan_kind kind;
	/* socket: the directory, as given (a relative DIR is resolved against
	 * the working directory at each chan_server()/chan_client() call) */
	char dir[CHAN_SOCKET_DIR_MAX + 1];
	/* vchan, optional: where libxen* report their errors.  NULL discards
	 * them (proto/ does not print).  Must outlive every channel made with
	 * this spec. */
	struct xentoollog_logger *xtl;
};

struct chan;

/*
 * Parses "vchan" or "socket:DIR" into *out (xtl = NULL).  DIR must be 1 to
 * CHAN_SOCKET_DIR_MAX characters and name an existing directory (checked
 * now, so that a wrong --channel fails at start-up).  Returns 0, or
 * XV_ESPEC (malformed, DIR too long, or DIR not an existing directory) and
 * leaves *out unspecified.  XV_EINVAL for NULL arguments.
 */
int chan_spec_parse(const char *s, struct chan_spec *out);

/*
 * Formats spec for logs into buf ("vchan", "socket:DIR").  Returns the
 * length written (without NUL), XV_E2BIG if buf is too small (buf then holds
 * a truncated, NUL-terminated text), XV_EINVAL for a bad spec or buffer.
 * CHAN_SPEC_TEXT_MAX bytes are always enough.
 */
int chan_spec_format(const struct chan_spec *spec, char *buf, size_t size);

/* Static name of an enum chan_state value ("waiting", "open", "closed"). */
const char *chan_state_name(int state);

/*
 * Creates a server (the guest side) for one client from peer_domid.
 *   my_domid    this domain's id: names the socket file; for vchan it only
 *               checks that the client's absolute path will fit.
 *   path        relative to this domain's xenstore home, e.g.
 *               "data/guest/probes/vchan": characters [A-Za-z0-9_@-] in
 *               '/'-separated non-empty parts, within CHAN_XS_PATH_MAX both
 *               as given and as /local/domain/<my_domid>/path.
 *   read_min, write_min   minimum ring sizes (bytes) this side reads from /
 *               writes to; 0 means CHAN_RING_DEFAULT.  vchan rounds up to a
 *               power of two >= 4096; socket ignores them.
 * vchan: writes path/ring-ref and path/event-channel (readable by
 * peer_domid).  socket: unlinks a stale socket file of the same name (never
 * a file of another type: XV_ESYS, errno EEXIST), binds and listens.
 * Returns the channel in CHAN_WAITING (*err = 0), or NULL and *err (if err
 * is not NULL) =
 *   XV_EINVAL  bad domid, path or size          XV_E2BIG  path/name too long
 *   XV_EUNSUPP vchan: no Xen devices here (/dev/xen/evtchn, gntalloc)
 *   XV_ENOMEM, XV_ESYS (errno set).
 */
struct chan *chan_server(const struct chan_spec *spec, int my_domid, int peer_domid,
			 const char *path, size_t read_min, size_t write_min, int *err);

/*
 * Connects to the server of domain server_domid (the dom0 side).  path is
 * either relative to the server's home ("data/guest/probes/vchan") or the
 * absolute form "/local/domain/<server_domid>/data/guest/probes/vchan";
 * any other absolute path is XV_EINVAL.  Never blocks.  Returns the channel
 * in CHAN_OPEN (*err = 0), or NULL and *err (if err is not NULL) =
 *   XV_ENOPEER  nobody listens there: no server, a server that is gone, or
 *               one that already has its client
 *   XV_EINVAL, XV_E2BIG, XV_EUNSUPP (vchan: no /dev/xen/evtchn, gntdev),
 *   XV_ENOMEM, XV_ESYS (errno set).
 * The connection is usable at once: bytes written before a socket server
 * has called chan_wait() wait in the socket until it has.
 */
struct chan *chan_client(const struct chan_spec *spec, int server_domid, const char *path,
			 int *err);

/* The descriptor to poll for readability (see the top of this file).  Owned
 * by the channel: do not read, close or change it. */
int chan_fd(const struct chan *c);

/*
 * Consumes the notification that made chan_fd() readable; never blocks (it
 * returns at once if nothing is pending).  A socket server accepts its client
 * here, then stops listening and removes its socket file.  Returns 0 or
 * XV_ESYS (errno set; the channel should then be closed).  errno EPIPE on a
 * vchan: the guest kernel dropped the channel's event channel on a resume
 * (this guest was saved and restored, or migrated; a kernel with the
 * xen-evtchn fix of kernel/ says so, an unfixed one says nothing).
 */
int chan_wait(struct chan *c);

/* CHAN_WAITING, CHAN_OPEN or CHAN_CLOSED, as of now. */
int chan_state(const struct chan *c);

/*
 * Reads up to size (1 .. CHAN_IO_MAX, more is truncated) bytes.  Returns
 * the count (> 0), 0 if nothing is available now (a notification is then
 * armed), XV_ECLOSED once the peer is gone and everything it sent has been
 * read, XV_ESTATE on a server still waiting for its client, XV_EINVAL,
 * XV_ESYS.
 */
ssize_t chan_read(struct chan *c, void *buf, size_t size);

/*
 * Writes up to size (1 .. CHAN_IO_MAX) bytes.  Returns the count accepted,
 * which may be smaller than size or 0 when the ring or socket buffer is full
 * (a notification for write space is then armed), XV_ECLOSED if the peer is
 * gone, XV_ESTATE on a waiting server, XV_EINVAL, XV_ESYS.  Never raises
 * SIGPIPE.
 */
ssize_t chan_write(struct chan *c, const void *buf, size_t size);

/*
 * Closes and frees c (NULL is a no-op).  The peer sees CHAN_CLOSED after
 * reading what was already sent.  A server removes its rendezvous (xenstore
 * path or socket file) if still there.
 */
void chan_close(struct chan *c);

/*
 * The socket file name a "socket:DIR" server for (domid, path) uses, into
 * buf.  path as for chan_client().  Returns its length, or XV_EINVAL,
 * XV_E2BIG (also when it would not fit in sun_path).
 */
int chan_socket_name(const struct chan_spec *spec, int domid, const char *path, char *buf,
		     size_t size);

#endif
