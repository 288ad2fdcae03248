/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * xsconn.h - a xenstore connection that comes back: the one owner of a
 * daemon's libxenstore handle (agent and bridge alike).
 *
 * libxenstore does not reconnect.  When xenstored goes away (a restart, a
 * crash, a socket xenstored in a test) the handle is dead for good: its
 * reader thread closes the socket, every call fails with EBADF, and its
 * watch pipe never turns readable again, so a daemon waiting for watch
 * events would wait forever without knowing.
 *
 * xsconn notices the loss and reopens:
 *
 *   - without polling: when the handle is a socket (dom0's xenstored, the
 *     test emulator), a second, idle connection to the same socket turns
 *     readable when xenstored closes it (xenstored never writes to a
 *     connection that sent nothing).  A guest's /dev/xen/xenbus does not
 *     drop, so there is nothing to watch there;
 *   - from its owner: a call that failed with an errno that may mean a dead
 *     connection is reported with xsconn_failed(), which checks with one
 *     cheap request (GET_DOMAIN_PATH) whether the handle still works.
 *
 * Once lost, the owner's down() forgets the handle (it is closed after
 * down() returns), and xsconn retries xs_open() with back-off from
 * XSCONN_RETRY_MIN to XSCONN_RETRY_MAX seconds.  On success the owner's
 * up() sets its watches again and reads what it missed.  Everything is
 * deferred to the event loop: no owner callback runs inside a call the
 * owner is making.
 */
#ifndef XV_XSCONN_H
#define XV_XSCONN_H

#include <ev.h>
#include <xenstore.h>

#define XSCONN_RETRY_MIN 0.25 /* seconds to the first reopen attempt */
#define XSCONN_RETRY_MAX 15.0 /* the back-off stops doubling here */

struct xsconn_ops {
	/* The connection is up: at xsconn_open() (again 0) and after each
	 * reconnection (again 1).  Set the watches, read and write what is
	 * needed.  Return 0, or -1 when the new connection failed already
	 * (it is dropped and retried). */
	int (*up)(struct xs_handle *xs, int again, void *arg);
	/* The connection was lost: stop using the handle now (it is closed
	 * after this returns).  Not called by xsconn_close(). */
	void (*down)(void *arg);
	/* The watch pipe is readable: drain xs_check_watch(). */
	void (*events)(struct xs_handle *xs, void *arg);
};

struct xsconn_stats {
	unsigned losses;     /* connections lost */
	unsigned reconnects; /* connections reopened */
	unsigned attempts;   /* failed reopen attempts, in all */
};

struct xsconn {
	struct ev_loop *loop;
	struct xs_handle *xs; /* NULL while the connection is lost */
	const struct xsconn_ops *ops;
	void *arg;
	int mon_fd;	   /* the idle monitor connection, or -1 */
	int socket;	   /* the first connection was a socket */
	ev_io watch_w;	   /* libxenstore's watch pipe */
	ev_io mon_w;	   /* mon_fd: readable means closed */
	ev_timer retry_w;  /* reopen attempt */
	ev_timer check_w;  /* deferred liveness check (xsconn_failed) */
	double delay;	   /* the next back-off */
	ev_tstamp lost_at; /* when the current loss was noticed */
	struct xsconn_stats stats;
};

/* Opens the connection and calls ops->up(xs, 0, arg).  Returns 0, or -1
 * with errno (nothing to close: a daemon cannot start without xenstore). */
int xsconn_open(struct xsconn *c, struct ev_loop *loop, const struct xsconn_ops *ops, void *arg);
/* Closes the handle (if any) and stops every watcher; ops->down is not
 * called.  Safe on a connection that failed to open. */
void xsconn_close(struct xsconn *c);

/* A xenstore call on c->xs failed with err (an errno value).  If err may
 * mean a dead connection, checks it from the event loop soon and, if it is
 * dead, drops it and starts reconnecting.  Other errors (ENOENT, EACCES,
 * EAGAIN, quotas...) are ignored.  Never calls ops from inside. */
void xsconn_failed(struct xsconn *c, int err);
/* While lost: try to reopen now and restart the back-off (SIGHUP). */
void xsconn_retry_now(struct xsconn *c);

#endif
