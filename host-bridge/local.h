/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * local.h - the bridge's Unix socket for local clients (check_xenvchan).
 *
 * Framing is NRPE's: a v2 or v4 QUERY "GUEST/COMMAND[!arg...]" is answered
 * with a RESPONSE of the same version (several may be pipelined on one
 * connection; they are answered in order, as the agent does).  After a
 * HELLO a client may also use the XV extension (PROTOCOL.md section 5)
 * with the bridge as the server: tagged queries answered as they finish,
 * CANCEL, PING.  The protocol itself is the engine's (proto/xvserve.h), the
 * same as the agent's; this file is its adapter: the socket, who may use
 * it, and the route of each query to a guest.
 *
 * Who may talk to the bridge is decided twice: by the socket file's mode
 * and group (who can connect at all), then by the peer's credentials
 * (SO_PEERCRED, SO_PEERGROUPS): with an allowlist of uids and/or gids set,
 * only root, the bridge's own uid and the listed users and groups are
 * served.  Anyone else gets an UNKNOWN answer saying why to its first
 * query, then the connection closes.
 *
 * Limits: clients at once (max_clients), a complete query within timeout
 * while the client has nothing pending, LOCAL_PLAIN_MAX pipelined plain
 * queries and LOCAL_XV_MAX_INFLIGHT tagged ones per connection, and at
 * most LOCAL_TX_MAX bytes of answers waiting for a client that does not
 * read (it is dropped beyond).
 */
#ifndef XV_LOCAL_H
#define XV_LOCAL_H

#include <stddef.h>
#include <sys/types.h>
#include <ev.h>

#include "bridge.h"

#define LOCAL_DEFAULT_PATH "/run/xenvchan/bridge.sock"
#define LOCAL_XV_MAX_INFLIGHT 256 /* tagged requests per connection */
#define LOCAL_PLAIN_MAX 64	  /* pipelined plain requests per connection */
#define LOCAL_RX_MAX (2 * XVP_MAX_FRAME)
#define LOCAL_TX_MAX ((size_t)8 << 20)
#define LOCAL_TX_HIGH ((size_t)1 << 20) /* stop reading while this much waits */
#define LOCAL_ACCEPT_PER_WAKEUP 64
#define LOCAL_REFUSED_TIMEOUT 2.0 /* seconds a refused client has to ask */
/* refused clients (over max_clients) still get their answer, up to this
 * many more; beyond, a new connection is closed at once */
#define LOCAL_OVERFLOW 16
#define LOCAL_SOFTWARE BRIDGE_NAME " " XV_VERSION

struct local_opts {
	const char *path;  /* socket file; its directory must exist */
	unsigned mode;	   /* file mode, e.g. 0660 */
	gid_t group;	   /* group of the file; (gid_t)-1: leave it */
	const uid_t *uids; /* allowlist of peer uids ... */
	size_t nuids;
	const gid_t *gids; /* ... and of peer groups (primary or supplementary); */
	size_t ngids;	   /* both empty: whoever can open the file is served */
	double timeout;	   /* seconds to send a query */
	unsigned max_clients;
};

struct local;

/* Creates the socket (a stale one from a dead bridge is replaced; one that
 * a live bridge listens on is not) and starts accepting.  NULL and a
 * reason in err on failure. */
struct local *local_start(struct ev_loop *loop, struct bridge *b, const struct local_opts *opts,
			  char *err, size_t errlen);
/* Reload (SIGHUP): the socket file's mode and group, the allowlists (for
 * clients that connect from now on), timeout and max_clients from opts;
 * opts->path is ignored (the socket stays where it is).  0, or -1 with err
 * and nothing changed but, at worst, the file's group. */
int local_set_opts(struct local *l, const struct local_opts *opts, char *err, size_t errlen);
/* Answers what clients wait for with BRIDGE_MSG_SHUTDOWN (as far as they
 * read it at once), closes every connection, removes the socket file. */
void local_stop(struct local *l);

/* Peer check, exposed for tests: 1 if (uid, gid, groups) may use a bridge
 * running as euid with these allowlists, else 0 with the reason in why. */
int local_peer_allowed(const struct local_opts *o, uid_t euid, uid_t uid, gid_t gid,
		       const gid_t *groups, size_t ngroups, char *why, size_t whylen);

#endif
