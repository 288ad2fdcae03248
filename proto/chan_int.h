/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * chan_int.h - internals shared by chan.c (the public entry points, argument
 * checks and the state machine) and the two transports, chan_vchan.c and
 * chan_socket.c.  Not for use outside proto/chan*.c.
 *
 * Each transport allocates its own struct with a struct chan as its first
 * member and gets back to it from the struct chan pointer.  chan.c has
 * checked every argument before a transport function is called.
 */
#ifndef XV_CHAN_INT_H
#define XV_CHAN_INT_H

#include "chan.h"

struct chan {
	enum chan_kind kind;
	int server;
	/* the furthest state seen so far: states never move backwards, even if
	 * a hostile peer rewrites the shared "live" flags */
	int state;
};

/* The path prefix of a domain's xenstore home, "/local/domain/<domid>/". */
#define CHAN_XS_HOME_FMT "/local/domain/%d/"

/* chan.c: path rules shared by both transports */
int chan_path_check(const char *path);
int chan_path_relative(int domid, const char *path, const char **rel);
int chan_path_absolute(int domid, const char *rel, char *buf, size_t size);

/* chan_vchan.c; abs_path = the client's /local/domain/<domid>/<path> */
struct chan *chan_vchan_server(const struct chan_spec *spec, int peer_domid, const char *path,
			       size_t read_min, size_t write_min, int *err);
struct chan *chan_vchan_client(const struct chan_spec *spec, int server_domid, const char *abs_path,
			       int *err);
int chan_vchan_fd(const struct chan *c);
int chan_vchan_wait(struct chan *c);
int chan_vchan_state(const struct chan *c);
ssize_t chan_vchan_read(struct chan *c, void *buf, size_t size);
ssize_t chan_vchan_write(struct chan *c, const void *buf, size_t size);
void chan_vchan_close(struct chan *c);

/* chan_socket.c; rel_path = the server's path relative to its home */
struct chan *chan_socket_server(const struct chan_spec *spec, int my_domid, const char *rel_path,
				int *err);
struct chan *chan_socket_client(const struct chan_spec *spec, int server_domid,
				const char *rel_path, int *err);
int chan_socket_fd(const struct chan *c);
int chan_socket_wait(struct chan *c);
int chan_socket_state(const struct chan *c);
ssize_t chan_socket_read(struct chan *c, void *buf, size_t size);
ssize_t chan_socket_write(struct chan *c, const void *buf, size_t size);
void chan_socket_close(struct chan *c);

#endif
