/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * xstool: a libxenstore client for tests, for what xenstore-utils cannot
 * do: print the exact errno of a failure, keep one connection (and one
 * transaction) open across several steps, run another program in the
 * middle, count how far a quota lets a loop go, wait for watch events with
 * a timeout, and send a raw over-long message.
 *
 *   xstool [--socket-only] OP [ARG...] [OP [ARG...]]...
 *
 * The ops run in order on one xs_open(0) connection (xs_open(
 * XS_OPEN_SOCKETONLY) with --socket-only), so XENSTORED_PATH decides which
 * socket (and so which domain) this is.  Each op prints one
 * line (or one line per item).  On the first failing op xstool prints
 * "OP: ERRNAME" and exits 1; "expect ERRNAME OP..." turns a failure with
 * exactly that errno into success, "fail OP..." any failure.
 *
 *   read PATH            value            write PATH VALUE       OK
 *   write-size PATH N    OK (N bytes 'x') mkdir PATH / rm PATH    OK
 *   ls PATH              names, one line  perms PATH             n0,r1
 *   chmod PATH P1,P2...  OK               exists PATH            OK
 *   begin                transaction id; later ops use it until commit/abort
 *   commit / abort       OK
 *   watch PATH TOKEN     OK               unwatch PATH TOKEN     OK
 *   events N MS          N lines "path token"; ETIMEDOUT if fewer in MS ms
 *   no-events MS         OK if no event arrives within MS ms
 *   fill PREFIX N        writes N nodes PREFIX/<i/100>/<i%100> outside any
 *                        transaction (so no directory outgrows the node
 *                        size quota), prints "created K" (leaves written),
 *                        fails with the first error
 *   tx-many N            starts N transactions, prints "started K"
 *   watch-many PATH N    adds N watches (tokens w0...), prints "added K"
 *   domain-path N        path             introduced N           T or F
 *   control CMD ARG      XS_CONTROL CMD (with ARG unless ARG is "-"),
 *                        prints the reply
 *   raw LEN              sends a READ with a LEN-byte payload on a fresh
 *                        socket: prints "closed" or "reply TYPE ID VALUE"
 *   rawmsg TYPE STRING   sends message TYPE (a number) with payload
 *                        STRING+NUL and request id 4660 on a fresh socket
 *   pipeline N PATH      sends N READs of PATH on a second socket without
 *                        reading the replies; "drain N" reads them later
 *   drain N              reads N replies of the pipeline socket
 *   pwatch PATH TOKEN    sends a WATCH on the pipeline socket, never read
 *   exec PROG ARG... ;   runs PROG, fails unless it exits 0
 *   sleep MS
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <xenstore.h>

#define XT_MAX_VALUE 4096
#define XT_MAX_PERMS 64
#define XT_RAW_TIMEOUT_MS 3000

struct xt {
	struct xs_handle *xsh;
	xs_transaction_t tx;
	int pipe_fd;		/* socket of "pipeline", or -1 */
};

static const struct {
	int num;
	const char *name;
} xt_extra_errnos[] = {
	{ EPIPE, "EPIPE" },
	{ EBADF, "EBADF" },
	{ ETIMEDOUT, "ETIMEDOUT" },
	{ ECONNRESET, "ECONNRESET" },
	{ ECONNREFUSED, "ECONNREFUSED" },
	{ ENOTCONN, "ENOTCONN" },
};

static const char *xt_errname(int err)
{
	static char buf[32];
	size_t i;

	for (i = 0; i < sizeof(xsd_errors) / sizeof(xsd_errors[0]); i++)
		if (xsd_errors[i].errnum == err)
			return xsd_errors[i].errstring;
	for (i = 0; i < sizeof(xt_extra_errnos) / sizeof(xt_extra_errnos[0]); i++)
		if (xt_extra_errnos[i].num == err)
			return xt_extra_errnos[i].name;
	snprintf(buf, sizeof(buf), "E%d", err);
	return buf;
}

static int xt_errno(void)
{
	return errno ? errno : EIO;
}

/* Strict non-negative decimal; -1 if invalid. */
static long xt_num(const char *s)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < 0 || v > INT_MAX)
		return -1;
	return v;
}

static long long xt_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void xt_print_value(const char *v, unsigned int len)
{
	fwrite(v, 1, len, stdout);
	putchar('\n');
}

static int xt_parse_perms(char *spec, struct xs_permissions *perms,
			  unsigned int *num)
{
	char *tok, *save = NULL, *end;
	long id;

	*num = 0;
	for (tok = strtok_r(spec, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		if (*num == XT_MAX_PERMS)
			return E2BIG;
		switch (tok[0]) {
		case 'n': perms[*num].perms = XS_PERM_NONE; break;
		case 'r': perms[*num].perms = XS_PERM_READ; break;
		case 'w': perms[*num].perms = XS_PERM_WRITE; break;
		case 'b': perms[*num].perms = XS_PERM_READ | XS_PERM_WRITE; break;
		default: return EINVAL;
		}
		errno = 0;
		id = strtol(tok + 1, &end, 10);
		if (errno || end == tok + 1 || *end || id < 0 || id > 0xffff)
			return EINVAL;
		perms[*num].id = (unsigned int)id;
		(*num)++;
	}
	return *num ? 0 : EINVAL;
}

static int xt_print_perms(const struct xs_permissions *perms, unsigned int num)
{
	unsigned int i;
	char c;

	for (i = 0; i < num; i++) {
		switch (perms[i].perms) {
		case XS_PERM_NONE: c = 'n'; break;
		case XS_PERM_READ: c = 'r'; break;
		case XS_PERM_WRITE: c = 'w'; break;
		case XS_PERM_READ | XS_PERM_WRITE: c = 'b'; break;
		default: return EINVAL;
		}
		printf("%s%c%u", i ? "," : "", c, perms[i].id);
	}
	putchar('\n');
	return 0;
}

/* Waits up to ms for one watch event; 0 and *ev set, or an errno. */
static int xt_next_event(struct xt *x, long long deadline, char ***ev)
{
	struct pollfd pfd = { .fd = xs_fileno(x->xsh), .events = POLLIN };
	long long left;

	for (;;) {
		*ev = xs_check_watch(x->xsh);
		if (*ev)
			return 0;
		if (errno != EAGAIN)
			return xt_errno();
		left = deadline - xt_now_ms();
		if (left <= 0)
			return ETIMEDOUT;
		if (poll(&pfd, 1, (int)left) < 0 && errno != EINTR)
			return xt_errno();
	}
}

static int xt_exec(char **argv)
{
	pid_t pid;
	int status;

	fflush(stdout);
	pid = fork();
	if (pid < 0)
		return xt_errno();
	if (pid == 0) {
		execvp(argv[0], argv);
		fprintf(stderr, "xstool: exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	if (waitpid(pid, &status, 0) < 0)
		return xt_errno();
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "xstool: %s failed (status %d)\n", argv[0], status);
		return ECHILD;
	}
	return 0;
}

/* Reads exactly n bytes: 0, 1 if the peer closed, or an errno. */
static int xt_read_full(int fd, void *buf, size_t n)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	size_t got = 0;
	ssize_t r;

	while (got < n) {
		if (poll(&pfd, 1, XT_RAW_TIMEOUT_MS) <= 0)
			return ETIMEDOUT;
		r = recv(fd, (char *)buf + got, n - got, 0);
		if (r == 0 || (r < 0 && errno == ECONNRESET))
			return 1;
		if (r < 0)
			return xt_errno();
		got += (size_t)r;
	}
	return 0;
}

static int xt_connect_raw(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	const char *path = getenv("XENSTORED_PATH");
	int fd, err;

	if (!path || strlen(path) >= sizeof(sa.sun_path)) {
		errno = EINVAL;
		return -1;
	}
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		err = errno;
		close(fd);
		errno = err;
		return -1;
	}
	return fd;
}

/* Reads one reply; 0, 1 if the peer closed, or an errno. */
static int xt_read_reply(int fd, struct xsd_sockmsg *rhdr, char *body)
{
	int err;

	err = xt_read_full(fd, rhdr, sizeof(*rhdr));
	if (err)
		return err;
	if (rhdr->len > XENSTORE_PAYLOAD_MAX)
		return EPROTO;
	err = xt_read_full(fd, body, rhdr->len);
	if (!err)
		body[rhdr->len] = '\0';
	return err;
}

/* Sends type + payload (len bytes) on a fresh socket, prints the outcome. */
static int xt_raw(uint32_t type, const char *payload, size_t len)
{
	struct xsd_sockmsg hdr = { .type = type, .req_id = 0x1234 };
	char reply[XENSTORE_PAYLOAD_MAX + 1];
	struct xsd_sockmsg rhdr;
	char *buf;
	ssize_t n;
	int fd, err;

	buf = malloc(sizeof(hdr) + len);
	if (!buf)
		return ENOMEM;
	hdr.len = (uint32_t)len;
	memcpy(buf, &hdr, sizeof(hdr));
	memcpy(buf + sizeof(hdr), payload, len);
	fd = xt_connect_raw();
	if (fd < 0) {
		free(buf);
		return xt_errno();
	}
	/* The daemon may drop us after the header: a failed send is fine. */
	n = send(fd, buf, sizeof(hdr) + len, MSG_NOSIGNAL);
	(void)n;
	err = xt_read_reply(fd, &rhdr, reply);
	if (err == 1) {
		printf("closed\n");
		err = 0;
	} else if (err == 0) {
		printf("reply %u %u %s\n", rhdr.type, rhdr.req_id, reply);
	}
	close(fd);
	free(buf);
	return err;
}

static int xt_pipe_open(struct xt *x)
{
	if (x->pipe_fd < 0) {
		x->pipe_fd = xt_connect_raw();
		if (x->pipe_fd < 0)
			return xt_errno();
	}
	return 0;
}

static int xt_pwatch(struct xt *x, const char *path, const char *token)
{
	struct xsd_sockmsg hdr = { .type = XS_WATCH };
	char buf[sizeof(hdr) + XENSTORE_PAYLOAD_MAX];
	size_t plen = strlen(path) + 1, tlen = strlen(token) + 1;
	int err;

	if (plen + tlen > XENSTORE_PAYLOAD_MAX)
		return E2BIG;
	if ((err = xt_pipe_open(x)))
		return err;
	hdr.len = (uint32_t)(plen + tlen);
	memcpy(buf, &hdr, sizeof(hdr));
	memcpy(buf + sizeof(hdr), path, plen);
	memcpy(buf + sizeof(hdr) + plen, token, tlen);
	if (send(x->pipe_fd, buf, sizeof(hdr) + plen + tlen, MSG_NOSIGNAL) < 0)
		return xt_errno();
	printf("OK\n");
	return 0;
}

static int xt_pipeline(struct xt *x, long n, const char *path)
{
	struct xsd_sockmsg hdr = { .type = XS_READ };
	char buf[sizeof(hdr) + XENSTORE_PAYLOAD_MAX];
	size_t plen = strlen(path) + 1;
	long i;
	int err;

	if (plen > XENSTORE_PAYLOAD_MAX)
		return E2BIG;
	if ((err = xt_pipe_open(x)))
		return err;
	hdr.len = (uint32_t)plen;
	for (i = 0; i < n; i++) {
		hdr.req_id = (uint32_t)i;
		memcpy(buf, &hdr, sizeof(hdr));
		memcpy(buf + sizeof(hdr), path, plen);
		if (send(x->pipe_fd, buf, sizeof(hdr) + plen, MSG_NOSIGNAL) < 0)
			return xt_errno();
	}
	printf("sent %ld\n", n);
	return 0;
}

static int xt_drain(struct xt *x, long n)
{
	char body[XENSTORE_PAYLOAD_MAX + 1];
	struct xsd_sockmsg rhdr;
	long i;
	int err = 0;

	if (x->pipe_fd < 0)
		return ENOTCONN;
	for (i = 0; i < n; i++) {
		err = xt_read_reply(x->pipe_fd, &rhdr, body);
		if (err == 1)
			err = ECONNRESET;
		if (err)
			break;
	}
	printf("replies %ld\n", i);
	return err;
}

/*
 * Runs the op at argv[0]; *used is set to the number of words it took.
 * Returns 0 or an errno value.
 */
static int xt_op(struct xt *x, int argc, char **argv, int *used);

static int xt_need(int argc, int n, int *used)
{
	*used = n + 1;
	return argc > n ? 0 : EINVAL;
}

static int xt_op(struct xt *x, int argc, char **argv, int *used)
{
	const char *op = argv[0];
	struct xs_permissions perms[XT_MAX_PERMS];
	char path[XT_MAX_VALUE];
	unsigned int len, num, i;
	long n, ms, k;
	char *v, **list;
	int err;

	*used = 1;
	if (!strcmp(op, "read")) {
		if ((err = xt_need(argc, 1, used)))
			return err;
		v = xs_read(x->xsh, x->tx, argv[1], &len);
		if (!v)
			return xt_errno();
		xt_print_value(v, len);
		free(v);
		return 0;
	}
	if (!strcmp(op, "exists")) {
		if ((err = xt_need(argc, 1, used)))
			return err;
		v = xs_read(x->xsh, x->tx, argv[1], &len);
		if (!v)
			return xt_errno();
		free(v);
		printf("OK\n");
		return 0;
	}
	if (!strcmp(op, "write")) {
		if ((err = xt_need(argc, 2, used)))
			return err;
		if (!xs_write(x->xsh, x->tx, argv[1], argv[2], strlen(argv[2])))
			return xt_errno();
		printf("OK\n");
		return 0;
	}
	if (!strcmp(op, "write-size")) {
		if ((err = xt_need(argc, 2, used)))
			return err;
		n = xt_num(argv[2]);
		if (n < 0 || n > XT_MAX_VALUE)
			return EINVAL;
		v = malloc((size_t)n + 1);
		if (!v)
			return ENOMEM;
		memset(v, 'x', (size_t)n);
		if (!xs_write(x->xsh, x->tx, argv[1], v, (unsigned int)n)) {
			err = xt_errno();
			free(v);
			return err;
		}
		free(v);
		printf("OK\n");
		return 0;
	}
	if (!strcmp(op, "mkdir") || !strcmp(op, "rm")) {
		if ((err = xt_need(argc, 1, used)))
			return err;
		if (!(op[0] == 'm' ? xs_mkdir(x->xsh, x->tx, argv[1])
				   : xs_rm(x->xsh, x->tx, argv[1])))
			return xt_errno();
		printf("OK\n");
		return 0;
	}
	if (!strcmp(op, "ls")) {
		if ((err = xt_need(argc, 1, used)))
			return err;
		list = xs_directory(x->xsh, x->tx, argv[1], &num);
		if (!list)
			return xt_errno();
		for (i = 0; i < num; i++)
			printf("%s\n", list[i]);
		free(list);
		return 0;
	}
	if (!strcmp(op, "perms")) {
		struct xs_permissions *p;

		if ((err = xt_need(argc, 1, used)))
			return err;
		p = xs_get_permissions(x->xsh, x->tx, argv[1], &num);
		if (!p)
			return xt_errno();
		err = xt_print_perms(p, num);
		free(p);
		return err;
	}
	if (!strcmp(op, "chmod")) {
		if ((err = xt_need(argc, 2, used)))
			return err;
		if (strlen(argv[2]) >= sizeof(path))
			return E2BIG;
		strcpy(path, argv[2]);
		if ((err = xt_parse_perms(path, perms, &num)))
			return err;
		if (!xs_set_permissions(x->xsh, x->tx, argv[1], perms, num))
			return xt_errno();
		printf("OK\n");
		return 0;
	}
	if (!strcmp(op, "begin")) {
		if (x->tx != XBT_NULL)
			return EBUSY;
		x->tx = xs_transaction_start(x->xsh);
		if (x->tx == XBT_NULL)
			return xt_errno();
		printf("%u\n", x->tx);
		return 0;
	}
	if (!strcmp(op, "commit") || !strcmp(op, "abort")) {
		xs_transaction_t t = x->tx;

		if (t == XBT_NULL)
			return ENOENT;
		x->tx = XBT_NULL;
		if (!xs_transaction_end(x->xsh, t, op[0] == 'a'))
			return xt_errno();
		printf("OK\n");
		return 0;
	}
	if (!strcmp(op, "watch") || !strcmp(op, "unwatch")) {
		if ((err = xt_need(argc, 2, used)))
			return err;
		if (!(op[0] == 'w' ? xs_watch(x->xsh, argv[1], argv[2])
				   : xs_unwatch(x->xsh, argv[1], argv[2])))
			return xt_errno();
		printf("OK\n");
		return 0;
	}
	if (!strcmp(op, "events")) {
		long long deadline;

		if ((err = xt_need(argc, 2, used)))
			return err;
		n = xt_num(argv[1]);
		ms = xt_num(argv[2]);
		if (n < 0 || ms < 0)
			return EINVAL;
		deadline = xt_now_ms() + ms;
		for (k = 0; k < n; k++) {
			if ((err = xt_next_event(x, deadline, &list)))
				return err;
			printf("%s %s\n", list[XS_WATCH_PATH], list[XS_WATCH_TOKEN]);
			free(list);
		}
		return 0;
	}
	if (!strcmp(op, "no-events")) {
		if ((err = xt_need(argc, 1, used)))
			return err;
		ms = xt_num(argv[1]);
		if (ms < 0)
			return EINVAL;
		err = xt_next_event(x, xt_now_ms() + ms, &list);
		if (err == ETIMEDOUT) {
			printf("OK\n");
			return 0;
		}
		if (!err) {
			printf("unexpected %s %s\n", list[XS_WATCH_PATH],
			       list[XS_WATCH_TOKEN]);
			free(list);
			return EEXIST;
		}
		return err;
	}
	if (!strcmp(op, "fill")) {
		if ((err = xt_need(argc, 2, used)))
			return err;
		n = xt_num(argv[2]);
		if (n < 0)
			return EINVAL;
		err = 0;
		for (k = 0; k < n; k++) {
			snprintf(path, sizeof(path), "%s/%ld/%ld", argv[1],
				 k / 100, k % 100);
			if (!xs_write(x->xsh, XBT_NULL, path, "x", 1)) {
				err = xt_errno();
				break;
			}
		}
		printf("created %ld\n", k);
		return err;
	}
	if (!strcmp(op, "tx-many")) {
		if ((err = xt_need(argc, 1, used)))
			return err;
		n = xt_num(argv[1]);
		if (n < 0)
			return EINVAL;
		err = 0;
		for (k = 0; k < n; k++)
			if (xs_transaction_start(x->xsh) == XBT_NULL) {
				err = xt_errno();
				break;
			}
		printf("started %ld\n", k);
		return err;
	}
	if (!strcmp(op, "watch-many")) {
		char token[32];

		if ((err = xt_need(argc, 2, used)))
			return err;
		n = xt_num(argv[2]);
		if (n < 0)
			return EINVAL;
		err = 0;
		for (k = 0; k < n; k++) {
			snprintf(token, sizeof(token), "w%ld", k);
			if (!xs_watch(x->xsh, argv[1], token)) {
				err = xt_errno();
				break;
			}
		}
		printf("added %ld\n", k);
		return err;
	}
	if (!strcmp(op, "domain-path")) {
		if ((err = xt_need(argc, 1, used)))
			return err;
		n = xt_num(argv[1]);
		if (n < 0)
			return EINVAL;
		v = xs_get_domain_path(x->xsh, (unsigned int)n);
		if (!v)
			return xt_errno();
		printf("%s\n", v);
		free(v);
		return 0;
	}
	if (!strcmp(op, "control")) {
		bool noarg;

		if ((err = xt_need(argc, 2, used)))
			return err;
		noarg = !strcmp(argv[2], "-");
		v = xs_control_command(x->xsh, argv[1], noarg ? NULL : argv[2],
				       noarg ? 0 : (unsigned int)strlen(argv[2]) + 1);
		if (!v)
			return xt_errno();
		printf("%s", v);
		free(v);
		return 0;
	}
	if (!strcmp(op, "introduced")) {
		if ((err = xt_need(argc, 1, used)))
			return err;
		n = xt_num(argv[1]);
		if (n < 0)
			return EINVAL;
		errno = 0;
		if (xs_is_domain_introduced(x->xsh, (unsigned int)n)) {
			printf("T\n");
			return 0;
		}
		if (errno)
			return errno;
		printf("F\n");
		return 0;
	}
	if (!strcmp(op, "raw")) {
		if ((err = xt_need(argc, 1, used)))
			return err;
		n = xt_num(argv[1]);
		if (n < 1 || n > 2 * XENSTORE_PAYLOAD_MAX)
			return EINVAL;
		v = malloc((size_t)n);
		if (!v)
			return ENOMEM;
		memset(v, 'a', (size_t)n);
		v[0] = '/';
		v[n - 1] = '\0';
		err = xt_raw(XS_READ, v, (size_t)n);
		free(v);
		return err;
	}
	if (!strcmp(op, "rawmsg")) {
		if ((err = xt_need(argc, 2, used)))
			return err;
		n = xt_num(argv[1]);
		if (n < 0)
			return EINVAL;
		return xt_raw((uint32_t)n, argv[2], strlen(argv[2]) + 1);
	}
	if (!strcmp(op, "pipeline")) {
		if ((err = xt_need(argc, 2, used)))
			return err;
		n = xt_num(argv[1]);
		if (n < 0)
			return EINVAL;
		return xt_pipeline(x, n, argv[2]);
	}
	if (!strcmp(op, "pwatch")) {
		if ((err = xt_need(argc, 2, used)))
			return err;
		return xt_pwatch(x, argv[1], argv[2]);
	}
	if (!strcmp(op, "drain")) {
		if ((err = xt_need(argc, 1, used)))
			return err;
		n = xt_num(argv[1]);
		if (n < 0)
			return EINVAL;
		return xt_drain(x, n);
	}
	if (!strcmp(op, "sleep")) {
		if ((err = xt_need(argc, 1, used)))
			return err;
		ms = xt_num(argv[1]);
		if (ms < 0)
			return EINVAL;
		poll(NULL, 0, (int)ms);
		return 0;
	}
	if (!strcmp(op, "exec")) {
		for (k = 1; k < argc && strcmp(argv[k], ";"); k++)
			;
		if (k == argc || k == 1)
			return EINVAL;
		*used = (int)k + 1;
		argv[k] = NULL;
		err = xt_exec(argv + 1);
		argv[k] = NULL;
		return err;
	}
	if (!strcmp(op, "expect") || !strcmp(op, "fail")) {
		bool any = op[0] == 'f';
		int skip = any ? 1 : 2;
		int inner;

		if (argc <= skip)
			return EINVAL;
		err = xt_op(x, argc - skip, argv + skip, &inner);
		*used = skip + inner;
		if (err && (any || !strcmp(xt_errname(err), argv[1]))) {
			printf("%s: %s (expected)\n", argv[skip], xt_errname(err));
			return 0;
		}
		if (!err) {
			printf("%s: unexpected success\n", argv[skip]);
			return EEXIST;
		}
		printf("%s: %s (expected %s)\n", argv[skip], xt_errname(err),
		       any ? "a failure" : argv[1]);
		return err;
	}
	fprintf(stderr, "xstool: unknown op %s\n", op);
	*used = argc;
	return EINVAL;
}

int main(int argc, char **argv)
{
	struct xt x = { .tx = XBT_NULL, .pipe_fd = -1 };
	unsigned long flags = 0;
	int i = 1, used, err;

	if (argc > 1 && !strcmp(argv[1], "--socket-only")) {
		flags = XS_OPEN_SOCKETONLY;
		i++;
	}
	if (argc <= i) {
		fprintf(stderr, "usage: xstool [--socket-only] OP [ARG...]... "
				"(see tests/tools/xstool.c)\n");
		return 2;
	}
	x.xsh = xs_open(flags);
	if (!x.xsh) {
		printf("open: %s\n", xt_errname(xt_errno()));
		return 1;
	}
	for (err = 0; i < argc && !err; i += used) {
		err = xt_op(&x, argc - i, argv + i, &used);
		if (err)
			printf("%s: %s\n", argv[i], xt_errname(err));
	}
	fflush(stdout);
	if (x.pipe_fd >= 0)
		close(x.pipe_fd);
	xs_close(x.xsh);
	return err ? 1 : 0;
}
