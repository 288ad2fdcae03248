/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * xendl.c - check_xenvchan only: libxenstore and libxenvchan, loaded with
 * dlopen() the first time one of their functions is called.
 *
 * check_xenvchan needs them only for --direct; through the bridge (every
 * check Nagios runs by default) it must not pay for mapping and relocating
 * the Xen libraries at each start.  So check_xenvchan does not link them:
 * it links this file, which defines the functions that the shared code it
 * links (guests.c, xsconn.c, proto/chan_vchan.c) calls, each one
 * forwarding to the real function found in the library by its soname.
 * The sonames are the ones the linker picks for -lxenstore and -lxenvchan
 * at build time (scripts/soname.sh, the Makefile's config.mk), so a build
 * on Xen 4.20 loads libxenvchan.so.4.20.
 *
 * The Makefile keeps this file out of libbridge.a: the daemons and the
 * tests link the real libraries.  A function the shared code starts to
 * call shows up as an undefined reference when check_xenvchan links: add
 * it below.
 *
 * When a library cannot be loaded, the function fails as the real one
 * fails (NULL, false, -1) with errno ELIBACC, so that xs_open() and
 * libxenvchan_client_init() report it where the caller already handles
 * their failure.
 */
#include <dlfcn.h>
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <libxenvchan.h>
#include <xenstore.h>
#include <xenstore_lib.h>

#if !defined(XV_XENSTORE_SONAME) || !defined(XV_XENVCHAN_SONAME)
#error "XV_XENSTORE_SONAME and XV_XENVCHAN_SONAME come from the Makefile (config.mk)"
#endif

struct xendl_lib {
	const char *soname;
	void *handle;
};

static struct xendl_lib xendl_xenstore = {XV_XENSTORE_SONAME, NULL};
static struct xendl_lib xendl_xenvchan = {XV_XENVCHAN_SONAME, NULL};

/* The address of name in lib (loaded now if need be), or NULL with errno
 * ELIBACC. */
static void *xendl_sym(struct xendl_lib *lib, const char *name)
{
	void *p;

	if (lib->handle == NULL)
		lib->handle = dlopen(lib->soname, RTLD_NOW | RTLD_LOCAL);
	p = lib->handle != NULL ? dlsym(lib->handle, name) : NULL;
	if (p == NULL)
		errno = ELIBACC;
	return p;
}

/* RET NAME PARAMS forwarded with ARGS to the function of LIB; FAIL is the
 * value returned when the library or the function cannot be had. */
#define XENDL_FN(lib, ret, name, params, args, fail)                                               \
	ret name params                                                                            \
	{                                                                                          \
		static ret(*fn) params;                                                            \
		if (fn == NULL)                                                                    \
			fn = (ret(*) params)xendl_sym(&(lib), #name);                              \
		if (fn == NULL)                                                                    \
			return fail;                                                               \
		return fn args;                                                                    \
	}
#define XENDL_VOID(lib, name, params, args)                                                        \
	void name params                                                                           \
	{                                                                                          \
		static void(*fn) params;                                                           \
		if (fn == NULL)                                                                    \
			fn = (void(*) params)xendl_sym(&(lib), #name);                             \
		if (fn != NULL)                                                                    \
			fn args;                                                                   \
	}

/* ---- libxenstore ---------------------------------------------------------- */

XENDL_FN(xendl_xenstore, struct xs_handle *, xs_open, (unsigned long flags), (flags), NULL)
XENDL_VOID(xendl_xenstore, xs_close, (struct xs_handle * h), (h))
XENDL_FN(xendl_xenstore, const char *, xs_daemon_socket, (void), (), NULL)
XENDL_FN(xendl_xenstore, char **, xs_directory,
	 (struct xs_handle * h, xs_transaction_t t, const char *path, unsigned int *num),
	 (h, t, path, num), NULL)
XENDL_FN(xendl_xenstore, void *, xs_read,
	 (struct xs_handle * h, xs_transaction_t t, const char *path, unsigned int *len),
	 (h, t, path, len), NULL)
XENDL_FN(xendl_xenstore, bool, xs_watch,
	 (struct xs_handle * h, const char *path, const char *token), (h, path, token), false)
XENDL_FN(xendl_xenstore, bool, xs_unwatch,
	 (struct xs_handle * h, const char *path, const char *token), (h, path, token), false)
XENDL_FN(xendl_xenstore, int, xs_fileno, (struct xs_handle * h), (h), -1)
XENDL_FN(xendl_xenstore, char **, xs_check_watch, (struct xs_handle * h), (h), NULL)
XENDL_FN(xendl_xenstore, xs_transaction_t, xs_transaction_start, (struct xs_handle * h), (h),
	 XBT_NULL)
XENDL_FN(xendl_xenstore, bool, xs_transaction_end,
	 (struct xs_handle * h, xs_transaction_t t, bool abort_it), (h, t, abort_it), false)
XENDL_FN(xendl_xenstore, char *, xs_get_domain_path, (struct xs_handle * h, unsigned int domid),
	 (h, domid), NULL)
XENDL_FN(xendl_xenstore, bool, xs_is_domain_introduced, (struct xs_handle * h, unsigned int domid),
	 (h, domid), false)

/* ---- libxenvchan ---------------------------------------------------------- */

XENDL_FN(xendl_xenvchan, struct libxenvchan *, libxenvchan_server_init,
	 (struct xentoollog_logger * logger, int domain, const char *xs_path, size_t read_min,
	  size_t write_min),
	 (logger, domain, xs_path, read_min, write_min), NULL)
XENDL_FN(xendl_xenvchan, struct libxenvchan *, libxenvchan_client_init,
	 (struct xentoollog_logger * logger, int domain, const char *xs_path),
	 (logger, domain, xs_path), NULL)
XENDL_VOID(xendl_xenvchan, libxenvchan_close, (struct libxenvchan * ctrl), (ctrl))
XENDL_FN(xendl_xenvchan, int, libxenvchan_read,
	 (struct libxenvchan * ctrl, void *data, size_t size), (ctrl, data, size), -1)
XENDL_FN(xendl_xenvchan, int, libxenvchan_write,
	 (struct libxenvchan * ctrl, const void *data, size_t size), (ctrl, data, size), -1)
XENDL_FN(xendl_xenvchan, int, libxenvchan_wait, (struct libxenvchan * ctrl), (ctrl), -1)
XENDL_FN(xendl_xenvchan, int, libxenvchan_fd_for_select, (struct libxenvchan * ctrl), (ctrl), -1)
XENDL_FN(xendl_xenvchan, int, libxenvchan_is_open, (struct libxenvchan * ctrl), (ctrl), 0)
