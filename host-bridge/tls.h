/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * tls.h - TLS for the bridge's NRPE listener (OpenSSL 3), kept apart from
 * the connection logic in listener.c.
 *
 * Modes, chosen from struct listener_opts (bridge.h) once at start:
 *   certificate      cert_file + key_file: TLS 1.2 or 1.3 at the system's
 *                    default security level.
 *   client certs     ca_file: the server asks for a client certificate and
 *                    verifies it against that CA.  The handshake itself
 *                    never fails on a missing or bad client certificate:
 *                    tls_client_refusal() says afterwards why the client is
 *                    refused, so that the listener can answer check_nrpe
 *                    with a reason instead of a bare handshake failure.
 *   anonymous        allow_anonymous: also accept anonymous (EC)DH cipher
 *                    suites, which is what check_nrpe uses when it has no
 *                    certificate.  They authenticate nobody (any host in
 *                    the path can sit in the middle), so this is off unless
 *                    asked for.  OpenSSL 3 refuses them above security
 *                    level 0, so level 0 is set only on connections that
 *                    offer nothing but anonymous suites; with a certificate,
 *                    every other client keeps the default level.  Without a
 *                    certificate, anonymous suites are all there is.
 * Anonymous suites never carry a client certificate, so allow_anonymous
 * together with require_client_cert is refused at start.
 *
 * All socket I/O goes through send()/recv() with MSG_NOSIGNAL: a client that
 * resets its connection must not raise SIGPIPE in the bridge, whatever the
 * process's signal disposition.
 */
#ifndef XV_TLS_H
#define XV_TLS_H

#include <stddef.h>
#include <openssl/ssl.h>

#include "bridge.h"

struct tls_server;

/* Outcome of one SSL_accept/SSL_read/SSL_write/SSL_shutdown call. */
enum tls_io {
	TLS_IO_OK,	   /* done (r > 0) */
	TLS_IO_WANT_READ,  /* call again when the socket is readable */
	TLS_IO_WANT_WRITE, /* call again when the socket is writable */
	TLS_IO_EOF,	   /* the peer closed (close_notify or plain EOF) */
	TLS_IO_ERROR,	   /* failed: reason in why */
};

/* Builds the server context for o (o->tls must be 1).  Returns NULL with a
 * one-line reason in err (unreadable or mismatched certificate and key,
 * contradictory options). */
struct tls_server *tls_server_new(const struct listener_opts *o, char *err, size_t errlen);
void tls_server_free(struct tls_server *t);

/* A new server-side SSL on the connected non-blocking socket fd (which
 * stays the caller's to close).  NULL if out of memory. */
SSL *tls_server_conn(struct tls_server *t, int fd);

/* Classifies the result r of an SSL_* I/O call on ssl.  Call ERR_clear_error()
 * before the SSL_* call.  For TLS_IO_ERROR a one-line reason is written to
 * why (from OpenSSL's error queue, which is then empty). */
enum tls_io tls_io_result(SSL *ssl, int r, char *why, size_t whylen);

/* After a completed handshake: NULL if the client may be served, else the
 * reason it is refused (written into buf), e.g. "a client certificate is
 * required" or "client certificate not accepted: certificate has expired". */
const char *tls_client_refusal(const struct tls_server *t, SSL *ssl, char *buf, size_t len);

/* "TLSv1.3 TLS_AES_256_GCM_SHA384" and the client's subject, for logs. */
void tls_describe(SSL *ssl, char *buf, size_t len);

#endif
