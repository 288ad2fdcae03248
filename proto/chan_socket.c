/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * chan_socket.c - the "socket:DIR" transport: a Unix stream socket with the
 * semantics of a vchan.
 *
 * The fd handed to the caller is an epoll instance that holds the listening
 * socket and, once the client is accepted, the connection; so it stays the
 * same number across accept.  The connection is registered edge-triggered,
 * which makes the epoll fd readable only when something changed, as a vchan
 * event channel is; EPOLLOUT is added only after a short write (the caller
 * then wants space) and removed when it has fired.
 *
 * One client per server: the listen backlog is 0, so a second connect gets
 * EAGAIN while the first waits to be accepted, and after accept the server
 * closes the listening socket and removes the file, so later ones get
 * ENOENT.  Who may connect at all is decided by DIR's permissions.
 */
#define _GNU_SOURCE /* accept4, POLLRDHUP */
#include <errno.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "chan_int.h"
#include "xverr.h"

#define CHAN_SOCKET_SUN_PATH_SIZE sizeof(((struct sockaddr_un *)0)->sun_path)
/* Linux lets backlog + 1 connections wait; 0 means exactly one. */
#define CHAN_SOCKET_BACKLOG 0
/* At most two fds are registered (listening socket, connection). */
#define CHAN_SOCKET_EVENTS 4
#define CHAN_SOCKET_CONN_EVENTS (EPOLLIN | EPOLLRDHUP | EPOLLET)

struct chan_socket {
	struct chan base; /* first: struct chan * <-> struct chan_socket * */
	int epfd;	  /* what chan_fd() returns */
	int lfd;	  /* listening socket: a server until it has its client */
	int cfd;	  /* the connection */
	int out_armed;	  /* EPOLLOUT registered for cfd */
	int peer_gone;	  /* EOF, EPIPE or ECONNRESET seen */
	/* the file this server bound, so that only it is ever removed */
	char name[CHAN_SOCKET_SUN_PATH_SIZE];
	dev_t dev;
	ino_t ino;
};

static struct chan_socket *chan_socket_of(struct chan *c)
{
	return (struct chan_socket *)((char *)c - offsetof(struct chan_socket, base));
}

static const struct chan_socket *chan_socket_of_const(const struct chan *c)
{
	return (const struct chan_socket *)((const char *)c - offsetof(struct chan_socket, base));
}

/* buf = DIR/<domid>-<rel with '/' -> '.'>; its length or XV_E2BIG. */
static int chan_socket_format(const char *dir, int domid, const char *rel, char *buf, size_t size)
{
	int n = snprintf(buf, size, "%s/%d-%s", dir, domid, rel);
	char *p;

	if (n < 0)
		return XV_EINVAL;
	if ((size_t)n >= size || (size_t)n >= CHAN_SOCKET_SUN_PATH_SIZE)
		return XV_E2BIG;
	for (p = buf + n - strlen(rel); *p != '\0'; p++)
		if (*p == '/')
			*p = '.';
	return n;
}

int chan_socket_name(const struct chan_spec *spec, int domid, const char *path, char *buf,
		     size_t size)
{
	const char *rel;
	int r;

	if (!spec || spec->kind != CHAN_SOCKET || !path || !buf || size == 0)
		return XV_EINVAL;
	if (domid < 0 || domid > CHAN_DOMID_MAX)
		return XV_EINVAL;
	if ((r = chan_path_relative(domid, path, &rel)) < 0)
		return r;
	return chan_socket_format(spec->dir, domid, rel, buf, size);
}

static struct chan_socket *chan_socket_alloc(void)
{
	struct chan_socket *s = calloc(1, sizeof *s);

	if (!s)
		return NULL;
	s->epfd = s->lfd = s->cfd = -1;
	return s;
}

/* Removes the socket file if it is still the one this server bound. */
static void chan_socket_unlink(struct chan_socket *s)
{
	struct stat st;

	if (s->name[0] == '\0')
		return;
	if (lstat(s->name, &st) == 0 && st.st_dev == s->dev && st.st_ino == s->ino)
		unlink(s->name);
	s->name[0] = '\0';
}

static void chan_socket_free(struct chan_socket *s)
{
	int saved = errno;

	if (s->lfd >= 0) {
		close(s->lfd);
		chan_socket_unlink(s);
	}
	if (s->cfd >= 0)
		close(s->cfd);
	if (s->epfd >= 0)
		close(s->epfd);
	free(s);
	errno = saved;
}

static int chan_socket_add(struct chan_socket *s, int fd, uint32_t events)
{
	struct epoll_event ev = {.events = events, .data.fd = fd};

	return epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &ev);
}

static int chan_socket_addr(struct sockaddr_un *sa, const char *name)
{
	memset(sa, 0, sizeof *sa);
	sa->sun_family = AF_UNIX;
	if (strlen(name) >= sizeof sa->sun_path)
		return XV_E2BIG;
	strcpy(sa->sun_path, name);
	return 0;
}

struct chan *chan_socket_server(const struct chan_spec *spec, int my_domid, const char *rel_path,
				int *err)
{
	struct sockaddr_un sa;
	struct chan_socket *s;
	struct stat st;

	if (!(s = chan_socket_alloc())) {
		*err = XV_ENOMEM;
		return NULL;
	}
	*err = chan_socket_format(spec->dir, my_domid, rel_path, s->name, sizeof s->name);
	if (*err >= 0)
		*err = chan_socket_addr(&sa, s->name);
	if (*err < 0)
		goto fail_noname;
	*err = XV_ESYS;
	/* a socket left by a server that died is stale (a live server would
	 * be the same agent twice: the newer one wins, as with vchan, whose
	 * xenstore keys it overwrites); anything else is not ours to delete */
	if (lstat(s->name, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			errno = EEXIST;
			goto fail_noname;
		}
		if (unlink(s->name) != 0 && errno != ENOENT)
			goto fail_noname;
	}
	s->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->lfd < 0)
		goto fail_noname;
	if (bind(s->lfd, (const struct sockaddr *)&sa, sizeof sa) != 0)
		goto fail_noname;
	if (lstat(s->name, &st) != 0)
		goto fail_noname;
	s->dev = st.st_dev;
	s->ino = st.st_ino;
	if (listen(s->lfd, CHAN_SOCKET_BACKLOG) != 0)
		goto fail;
	s->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (s->epfd < 0 || chan_socket_add(s, s->lfd, EPOLLIN | EPOLLET) != 0)
		goto fail;
	*err = 0;
	return &s->base;
fail_noname:
	s->name[0] = '\0'; /* nothing of ours to remove */
fail:
	chan_socket_free(s);
	return NULL;
}

struct chan *chan_socket_client(const struct chan_spec *spec, int server_domid,
				const char *rel_path, int *err)
{
	struct sockaddr_un sa;
	struct chan_socket *s;
	int r;

	if (!(s = chan_socket_alloc())) {
		*err = XV_ENOMEM;
		return NULL;
	}
	/* the client's name field stays empty: it never removes the file */
	if ((*err = chan_socket_format(spec->dir, server_domid, rel_path, sa.sun_path,
				       sizeof sa.sun_path)) < 0)
		goto fail;
	sa.sun_family = AF_UNIX;
	*err = XV_ESYS;
	s->cfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->cfd < 0)
		goto fail;
	do
		r = connect(s->cfd, (const struct sockaddr *)&sa, sizeof sa);
	while (r != 0 && errno == EINTR);
	if (r != 0 && errno != EISCONN) {
		/* ENOENT: no server (or it has its client); ECONNREFUSED: a
		 * stale file; EAGAIN: a client is already waiting */
		if (errno == ENOENT || errno == ECONNREFUSED || errno == EAGAIN)
			*err = XV_ENOPEER;
		goto fail;
	}
	s->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (s->epfd < 0 || chan_socket_add(s, s->cfd, CHAN_SOCKET_CONN_EVENTS) != 0)
		goto fail;
	*err = 0;
	return &s->base;
fail:
	chan_socket_free(s);
	return NULL;
}

int chan_socket_fd(const struct chan *c)
{
	return chan_socket_of_const(c)->epfd;
}

/* Takes the one client, then stops listening.  The file goes first: a
 * second client connecting between the accept and the close would be
 * queued on a socket about to close, and reset without an answer; without
 * the file it gets ENOENT and tries again, as when a client is served. */
static int chan_socket_accept(struct chan_socket *s)
{
	int fd;

	chan_socket_unlink(s);
	fd = accept4(s->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0) {
		/* nothing to take after all (the client gave up): with the
		 * file gone nobody can come, so the owner listens anew */
		if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK ||
		    errno == ECONNABORTED)
			return XV_ECLOSED;
		return XV_ESYS;
	}
	epoll_ctl(s->epfd, EPOLL_CTL_DEL, s->lfd, NULL);
	close(s->lfd);
	s->lfd = -1;
	s->cfd = fd;
	if (chan_socket_add(s, s->cfd, CHAN_SOCKET_CONN_EVENTS) != 0)
		return XV_ESYS;
	return 0;
}

static int chan_socket_arm_out(struct chan_socket *s, int on)
{
	struct epoll_event ev = {.events = CHAN_SOCKET_CONN_EVENTS | (on ? EPOLLOUT : 0),
				 .data.fd = s->cfd};

	if (epoll_ctl(s->epfd, EPOLL_CTL_MOD, s->cfd, &ev) != 0)
		return XV_ESYS;
	s->out_armed = on;
	return 0;
}

int chan_socket_wait(struct chan *c)
{
	struct chan_socket *s = chan_socket_of(c);
	struct epoll_event ev[CHAN_SOCKET_EVENTS];
	int n, i, r = 0;

	n = epoll_wait(s->epfd, ev, CHAN_SOCKET_EVENTS, 0);
	if (n < 0)
		return errno == EINTR ? 0 : XV_ESYS;
	for (i = 0; i < n && r == 0; i++) {
		if (s->lfd >= 0 && ev[i].data.fd == s->lfd)
			r = chan_socket_accept(s);
		else if (s->cfd >= 0 && ev[i].data.fd == s->cfd && (ev[i].events & EPOLLOUT) &&
			 s->out_armed)
			r = chan_socket_arm_out(s, 0);
	}
	return r;
}

int chan_socket_state(const struct chan *c)
{
	const struct chan_socket *s = chan_socket_of_const(c);
	struct pollfd p;

	if (s->lfd >= 0)
		return CHAN_WAITING;
	if (s->peer_gone || s->cfd < 0)
		return CHAN_CLOSED;
	p.fd = s->cfd;
	p.events = POLLRDHUP;
	p.revents = 0;
	if (poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR)))
		return CHAN_CLOSED;
	return CHAN_OPEN;
}

ssize_t chan_socket_read(struct chan *c, void *buf, size_t size)
{
	struct chan_socket *s = chan_socket_of(c);
	ssize_t n;

	for (;;) {
		n = recv(s->cfd, buf, size, MSG_DONTWAIT);
		if (n > 0)
			return n;
		if (n == 0)
			break;
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return 0;
		if (errno == ECONNRESET || errno == EPIPE)
			break;
		return XV_ESYS;
	}
	s->peer_gone = 1;
	return XV_ECLOSED;
}

ssize_t chan_socket_write(struct chan *c, const void *buf, size_t size)
{
	struct chan_socket *s = chan_socket_of(c);
	ssize_t n;

	for (;;) {
		n = send(s->cfd, buf, size, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n >= 0 || errno != EINTR)
			break;
	}
	if (n < 0 && (errno == EPIPE || errno == ECONNRESET)) {
		s->peer_gone = 1;
		return XV_ECLOSED;
	}
	if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
		return XV_ESYS;
	if (n < 0)
		n = 0;
	if ((size_t)n < size && !s->out_armed) {
		/* if arming fails after a partial write, report the bytes;
		 * the next (then empty) write retries and reports the error */
		if (chan_socket_arm_out(s, 1) < 0 && n == 0)
			return XV_ESYS;
	}
	return n;
}

void chan_socket_close(struct chan *c)
{
	chan_socket_free(chan_socket_of(c));
}
