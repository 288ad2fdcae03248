/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * tls.c - OpenSSL server context and per-connection helpers for the NRPE
 * listener.  See tls.h for the modes and why they are what they are.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include "tls.h"

/* Anonymous suites for check_nrpe's default mode.  AES only (what
 * check_nrpe's "ALL:!MD5" list offers first); @SECLEVEL=0 because OpenSSL 3
 * drops every unauthenticated suite at any higher level. */
#define TLS_ANON_CIPHERS "ADH+AES:@STRENGTH:@SECLEVEL=0"

/* cipher suite list values that are signals, not suites (RFC 5746, 7507) */
#define TLS_SCSV_RENEGOTIATION 0x00ffu
#define TLS_SCSV_FALLBACK 0x5600u

struct tls_server {
	SSL_CTX *ctx;
	BIO_METHOD *bio_method;
	int has_cert;
	int verify_clients;  /* ca_file given: client certificates are checked */
	int require_client;  /* and one is required */
	int allow_anonymous; /* anonymous suites accepted */
};

/* ---- a socket BIO that never raises SIGPIPE -------------------------------- */

static int tls_bio_fd(BIO *b)
{
	return (int)(intptr_t)BIO_get_data(b);
}

static int tls_bio_write(BIO *b, const char *data, int len)
{
	ssize_t n;

	BIO_clear_retry_flags(b);
	if (len <= 0)
		return 0;
	n = send(tls_bio_fd(b), data, (size_t)len, MSG_NOSIGNAL);
	if (n < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			BIO_set_retry_write(b);
		return -1;
	}
	return (int)n;
}

static int tls_bio_read(BIO *b, char *buf, int len)
{
	ssize_t n;

	BIO_clear_retry_flags(b);
	if (len <= 0)
		return 0;
	n = recv(tls_bio_fd(b), buf, (size_t)len, 0);
	if (n < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			BIO_set_retry_read(b);
		return -1;
	}
	return (int)n;
}

static int tls_bio_puts(BIO *b, const char *s)
{
	return tls_bio_write(b, s, (int)strlen(s));
}

static long tls_bio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
	/* the socket has no buffer of its own: a flush is always complete;
	 * everything else (kTLS, peeking, dup) is not offered */
	return cmd == BIO_CTRL_FLUSH ? 1 : 0;
}

static BIO_METHOD *tls_bio_method_new(void)
{
	BIO_METHOD *m;
	int type = BIO_get_new_index();

	if (type == -1)
		return NULL;
	m = BIO_meth_new(type | BIO_TYPE_SOURCE_SINK | BIO_TYPE_DESCRIPTOR, "xenvchan socket");
	if (!m)
		return NULL;
	if (!BIO_meth_set_write(m, tls_bio_write) || !BIO_meth_set_read(m, tls_bio_read) ||
	    !BIO_meth_set_puts(m, tls_bio_puts) || !BIO_meth_set_ctrl(m, tls_bio_ctrl)) {
		BIO_meth_free(m);
		return NULL;
	}
	return m;
}

/* ---- context ---------------------------------------------------------------- */

/* The oldest error of OpenSSL's queue as text; the queue is emptied. */
static void tls_error_text(char *buf, size_t len, const char *fallback)
{
	unsigned long e = ERR_get_error();
	const char *reason;

	if (e == 0) {
		snprintf(buf, len, "%s", fallback);
	} else {
		reason = ERR_reason_error_string(e);
		if (reason)
			snprintf(buf, len, "%s", reason);
		else
			ERR_error_string_n(e, buf, len);
	}
	ERR_clear_error();
}

/* Accept any chain during the handshake: the verdict (kept by OpenSSL in
 * SSL_get_verify_result) is acted on by tls_client_refusal(), so a refused
 * client gets an NRPE answer with the reason instead of a handshake alert
 * that check_nrpe reports as "could not complete SSL handshake".  Nothing
 * is served to such a client. */
static int tls_verify_cb(int preverify_ok, X509_STORE_CTX *x)
{
	return 1;
}

/* With a certificate and allow_anonymous: a client that offers no suite
 * usable with the certificate (TLS 1.3 or certificate-authenticated TLS
 * 1.2) gets the anonymous suites and security level 0, on this connection
 * only. */
static int tls_hello_cb(SSL *ssl, int *al, void *arg)
{
	const unsigned char *ids;
	size_t n = SSL_client_hello_get0_ciphers(ssl, &ids);

	for (size_t i = 0; i + 1 < n; i += 2) {
		unsigned id = (unsigned)ids[i] << 8 | ids[i + 1];
		const SSL_CIPHER *c;

		/* signalling values, not suites (renegotiation info, fallback) */
		if (id == TLS_SCSV_RENEGOTIATION || id == TLS_SCSV_FALLBACK)
			continue;
		c = SSL_CIPHER_find(ssl, ids + i);
		if (c && SSL_CIPHER_get_auth_nid(c) != NID_auth_null)
			return SSL_CLIENT_HELLO_SUCCESS;
	}
	if (SSL_set_cipher_list(ssl, TLS_ANON_CIPHERS) != 1 ||
	    SSL_set_max_proto_version(ssl, TLS1_2_VERSION) != 1) {
		*al = SSL_AD_INTERNAL_ERROR;
		return SSL_CLIENT_HELLO_ERROR;
	}
	return SSL_CLIENT_HELLO_SUCCESS;
}

static int tls_load_cert(struct tls_server *t, const struct listener_opts *o, char *err,
			 size_t errlen)
{
	char why[256];

	if (SSL_CTX_use_certificate_chain_file(t->ctx, o->cert_file) != 1) {
		tls_error_text(why, sizeof why, "unreadable");
		snprintf(err, errlen, "cannot load the certificate '%s': %s", o->cert_file, why);
		return -1;
	}
	if (SSL_CTX_use_PrivateKey_file(t->ctx, o->key_file, SSL_FILETYPE_PEM) != 1) {
		tls_error_text(why, sizeof why, "unreadable");
		snprintf(err, errlen, "cannot load the private key '%s': %s", o->key_file, why);
		return -1;
	}
	if (SSL_CTX_check_private_key(t->ctx) != 1) {
		tls_error_text(why, sizeof why, "mismatch");
		snprintf(err, errlen, "the key '%s' does not match the certificate '%s': %s",
			 o->key_file, o->cert_file, why);
		return -1;
	}
	t->has_cert = 1;
	return 0;
}

static int tls_load_ca(struct tls_server *t, const struct listener_opts *o, char *err,
		       size_t errlen)
{
	STACK_OF(X509_NAME) * names;
	char why[256];

	if (SSL_CTX_load_verify_locations(t->ctx, o->ca_file, NULL) != 1) {
		tls_error_text(why, sizeof why, "unreadable");
		snprintf(err, errlen, "cannot load the CA file '%s': %s", o->ca_file, why);
		return -1;
	}
	/* the CA names sent with the request help clients pick a certificate */
	names = SSL_load_client_CA_file(o->ca_file);
	if (!names) {
		tls_error_text(why, sizeof why, "no certificate in it");
		snprintf(err, errlen, "cannot read CA names from '%s': %s", o->ca_file, why);
		return -1;
	}
	SSL_CTX_set_client_CA_list(t->ctx, names);
	SSL_CTX_set_verify(t->ctx, SSL_VERIFY_PEER, tls_verify_cb);
	t->verify_clients = 1;
	return 0;
}

static int tls_set_options(struct tls_server *t, const struct listener_opts *o, char *err,
			   size_t errlen)
{
	char why[256];

	/* One request per connection: resumption and renegotiation would only
	 * add state (and ways around the client certificate check). */
	SSL_CTX_set_options(t->ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_TICKET |
					SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_COMPRESSION);
	SSL_CTX_set_session_cache_mode(t->ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_num_tickets(t->ctx, 0);
	SSL_CTX_set_mode(t->ctx,
			 SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	if (SSL_CTX_set_min_proto_version(t->ctx, TLS1_2_VERSION) != 1 ||
	    SSL_CTX_set_dh_auto(t->ctx, 1) != 1) {
		tls_error_text(why, sizeof why, "unsupported");
		snprintf(err, errlen, "cannot set up TLS: %s", why);
		return -1;
	}
	if (!t->has_cert) {
		/* anonymous only: TLS 1.3 has no anonymous suites */
		if (SSL_CTX_set_cipher_list(t->ctx, TLS_ANON_CIPHERS) != 1 ||
		    SSL_CTX_set_max_proto_version(t->ctx, TLS1_2_VERSION) != 1) {
			tls_error_text(why, sizeof why, "unsupported");
			snprintf(err, errlen, "cannot enable anonymous TLS: %s", why);
			return -1;
		}
	} else if (o->allow_anonymous) {
		SSL_CTX_set_client_hello_cb(t->ctx, tls_hello_cb, t);
	}
	return 0;
}

struct tls_server *tls_server_new(const struct listener_opts *o, char *err, size_t errlen)
{
	struct tls_server *t;
	int have_cert = o->cert_file && o->cert_file[0];
	int have_key = o->key_file && o->key_file[0];
	int have_ca = o->ca_file && o->ca_file[0];

	if (have_cert != have_key) {
		snprintf(err, errlen,
			 "TLS: a certificate needs its private key and the other way "
			 "round (give both cert_file and key_file)");
		return NULL;
	}
	if (!have_cert && !o->allow_anonymous) {
		snprintf(err, errlen,
			 "TLS needs a server certificate and key (or, unauthenticated, "
			 "allow_anonymous)");
		return NULL;
	}
	if (o->require_client_cert && !have_ca) {
		snprintf(err, errlen,
			 "require_client_cert needs ca_file, the CA that signs the "
			 "client certificates");
		return NULL;
	}
	if (o->require_client_cert && o->allow_anonymous) {
		snprintf(err, errlen,
			 "allow_anonymous contradicts require_client_cert: anonymous "
			 "TLS never carries a client certificate");
		return NULL;
	}
	if (have_ca && !have_cert) {
		snprintf(err, errlen,
			 "client certificates (ca_file) need a server certificate: "
			 "anonymous TLS cannot ask for one");
		return NULL;
	}
	t = calloc(1, sizeof *t);
	if (!t) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	t->require_client = o->require_client_cert;
	t->allow_anonymous = o->allow_anonymous;
	ERR_clear_error();
	t->ctx = SSL_CTX_new(TLS_server_method());
	t->bio_method = tls_bio_method_new();
	if (!t->ctx || !t->bio_method) {
		tls_error_text(err, errlen, "cannot create a TLS context");
		tls_server_free(t);
		return NULL;
	}
	if ((have_cert && tls_load_cert(t, o, err, errlen) < 0) ||
	    (have_ca && tls_load_ca(t, o, err, errlen) < 0) ||
	    tls_set_options(t, o, err, errlen) < 0) {
		tls_server_free(t);
		return NULL;
	}
	return t;
}

void tls_server_free(struct tls_server *t)
{
	if (!t)
		return;
	SSL_CTX_free(t->ctx);
	BIO_meth_free(t->bio_method);
	free(t);
}

SSL *tls_server_conn(struct tls_server *t, int fd)
{
	SSL *ssl = SSL_new(t->ctx);
	BIO *bio;

	if (!ssl)
		return NULL;
	bio = BIO_new(t->bio_method);
	if (!bio) {
		SSL_free(ssl);
		return NULL;
	}
	BIO_set_data(bio, (void *)(intptr_t)fd);
	BIO_set_init(bio, 1);
	SSL_set_bio(ssl, bio, bio); /* one reference, owned by ssl */
	SSL_set_accept_state(ssl);
	return ssl;
}

enum tls_io tls_io_result(SSL *ssl, int r, char *why, size_t whylen)
{
	int saved = errno;

	if (r > 0)
		return TLS_IO_OK;
	switch (SSL_get_error(ssl, r)) {
	case SSL_ERROR_WANT_READ:
		return TLS_IO_WANT_READ;
	case SSL_ERROR_WANT_WRITE:
		return TLS_IO_WANT_WRITE;
	case SSL_ERROR_ZERO_RETURN:
		return TLS_IO_EOF;
	case SSL_ERROR_SYSCALL:
		if (ERR_peek_error() == 0) {
			/* EOF (saved 0) or a socket error such as a reset */
			if (saved == 0)
				return TLS_IO_EOF;
			snprintf(why, whylen, "%s", strerror(saved));
			return TLS_IO_ERROR;
		}
		tls_error_text(why, whylen, "system error");
		return TLS_IO_ERROR;
	default:
		if (ERR_GET_REASON(ERR_peek_error()) == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
			ERR_clear_error();
			return TLS_IO_EOF;
		}
		tls_error_text(why, whylen, "TLS error");
		return TLS_IO_ERROR;
	}
}

const char *tls_client_refusal(const struct tls_server *t, SSL *ssl, char *buf, size_t len)
{
	X509 *peer;
	long v;

	if (!t->verify_clients)
		return NULL;
	peer = SSL_get1_peer_certificate(ssl);
	if (!peer) {
		if (!t->require_client)
			return NULL;
		snprintf(buf, len, "a client certificate is required (check_nrpe -C and -K)");
		return buf;
	}
	X509_free(peer);
	/* a certificate was presented: whether required or optional, it must
	 * verify against the CA */
	v = SSL_get_verify_result(ssl);
	if (v == X509_V_OK)
		return NULL;
	snprintf(buf, len, "client certificate not accepted: %s", X509_verify_cert_error_string(v));
	return buf;
}

void tls_describe(SSL *ssl, char *buf, size_t len)
{
	X509 *peer = SSL_get1_peer_certificate(ssl);
	char subject[256] = "no client certificate";

	if (peer) {
		X509_NAME_oneline(X509_get_subject_name(peer), subject, sizeof subject);
		X509_free(peer);
	}
	snprintf(buf, len, "%s %s, %s", SSL_get_version(ssl), SSL_get_cipher_name(ssl), subject);
}
