/* SPDX-License-Identifier: GPL-2.0-or-later */
/* tls: TLS client streams over OpenSSL (contract in include/tls.h). */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "log.h"
#include "tls.h"

/* TLS records are at most 16 KiB: read several per read(2) on bulk data. */
#define TLS_READ_BUFFER (64 * 1024)
/* How long an upload waits for the server's side of the TLS shutdown. */
#define TLS_DRAIN_MS 2000
/* Unused sessions kept per control connection. */
#define TLS_TICKETS 8

struct tls_ctx {
	SSL_CTX *ssl_ctx;
	char *host;
	bool host_is_ip; /* no SNI for an address */
	bool insecure;
	bool pinned;
	unsigned char pin[32]; /* SHA-256 of the pinned certificate */
	/*
	 * Set once a data connection's offered TLS 1.3 session was not
	 * resumed: new control connections then speak TLS 1.2, whose
	 * session a server lets any number of data connections resume.
	 * Read and set by several connections' threads.
	 */
	atomic_bool cap_tls12;
};

/*
 * The sessions (TLS 1.3 tickets) a control connection and its data
 * connections were given and have not used yet, oldest first.  A server
 * may accept each ticket once (stateful tickets: vsftpd with OpenSSL 3),
 * so each data connection takes the newest unused one.  vsftpd also
 * refuses the tickets its resumed data connections hand out; that is
 * noticed at the data connection's handshake (tls_resume_refused) and
 * answered with TLS 1.2 on the control connection (tls_ctx.cap_tls12).
 * Shared by the control stream and its data streams, freed with the
 * last; used by one thread at a time, as the streams are.
 */
struct tls_tickets {
	unsigned refs;
	size_t count;
	SSL_SESSION *sess[TLS_TICKETS];
};

struct tls_stream {
	struct net_stream base; /* first: a net_stream * is a tls_stream * */
	struct tls_ctx *ctx;
	SSL *ssl;
	bool control;
	bool handshaken;
	bool offered; /* a data stream that offered a session to resume */
	struct tls_tickets *tickets; /* shared with the control stream */
};

static const struct net_stream_ops tls_ops;

static struct tls_stream *
tls_of(struct net_stream *s)
{
	return s->ops == &tls_ops ? (struct tls_stream *)s : NULL;
}

static int
remaining(int64_t deadline)
{
	int64_t left;

	if (deadline < 0)
		return -1;
	left = deadline - net_now_ms();
	return left < 0 ? 0 : (int)left;
}

/* The first queued OpenSSL error as text (and the queue cleared). */
static const char *
ssl_err_text(char *buf, size_t len)
{
	unsigned long e = ERR_get_error();

	if (e == 0)
		snprintf(buf, len, "no detail");
	else
		ERR_error_string_n(e, buf, len);
	ERR_clear_error();
	return buf;
}

static int
hexval(int ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	ch = tolower(ch);
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	return -1;
}

/* "sha256:" + 64 hex digits, colons between bytes allowed. */
static bool
parse_fingerprint(const char *s, unsigned char out[32])
{
	size_t n = 0;
	int hi, lo;

	if (strncasecmp(s, "sha256:", 7) != 0)
		return false;
	s += 7;
	while (*s != '\0') {
		if (*s == ':') {
			s++;
			continue;
		}
		hi = hexval((unsigned char)s[0]);
		lo = hi < 0 ? -1 : hexval((unsigned char)s[1]);
		if (lo < 0 || n == 32)
			return false;
		out[n++] = (unsigned char)(hi << 4 | lo);
		s += 2;
	}
	return n == 32;
}

bool
tls_fingerprint_ok(const char *s)
{
	unsigned char d[32];

	return parse_fingerprint(s, d);
}

/* "sha256:<64 hex digits>" of cert into buf (TLS_FINGERPRINT_LEN). */
static bool
cert_fingerprint(X509 *cert, unsigned char d[32], char *buf, size_t len)
{
	unsigned int dl = 0;
	size_t i, off;

	if (cert == NULL || !X509_digest(cert, EVP_sha256(), d, &dl) ||
	    dl != 32) {
		snprintf(buf, len, "(unknown)");
		return false;
	}
	off = (size_t)snprintf(buf, len, "sha256:");
	for (i = 0; i < 32 && off + 3 <= len; i++)
		off += (size_t)snprintf(buf + off, len - off, "%02x", d[i]);
	return true;
}

static void
tickets_put(struct tls_tickets *t)
{
	size_t i;

	if (t == NULL || --t->refs > 0)
		return;
	for (i = 0; i < t->count; i++)
		SSL_SESSION_free(t->sess[i]);
	free(t);
}

/*
 * TLS 1.3 tickets, from the control connection or a data connection, are
 * kept for the next data connections.  A TLS 1.2 session is the control
 * connection's own (SSL_get0_session) and needs no keeping.
 */
static int
new_session_cb(SSL *ssl, SSL_SESSION *sess)
{
	struct tls_stream *ts = SSL_get_app_data(ssl);
	struct tls_tickets *t = ts ? ts->tickets : NULL;
	SSL_SESSION *copy;

	if (t == NULL || SSL_version(ssl) < TLS1_3_VERSION)
		return 0; /* not kept: OpenSSL frees it */
	/*
	 * A copy: the SSL keeps sess as its current session, and freeing an
	 * SSL that did not send close_notify (a data connection closed
	 * after EOF, or reset) marks its current session not resumable.
	 */
	copy = SSL_SESSION_dup(sess);
	if (copy == NULL)
		return 0;
	if (t->count == TLS_TICKETS) {
		SSL_SESSION_free(t->sess[0]);
		memmove(&t->sess[0], &t->sess[1],
		    (TLS_TICKETS - 1) * sizeof(t->sess[0]));
		t->count--;
	}
	t->sess[t->count++] = copy;
	return 0; /* sess itself stays OpenSSL's */
}

int
tls_ctx_new(const struct tls_config *cfg, struct tls_ctx **out, char *msg,
    size_t msglen)
{
	struct tls_ctx *ctx;
	struct in6_addr a6;
	char err[256];

	ctx = calloc(1, sizeof(*ctx));
	if (ctx == NULL)
		return -ENOMEM;
	ctx->host = strdup(cfg->host);
	if (ctx->host == NULL)
		goto nomem;
	ctx->host_is_ip = inet_pton(AF_INET, cfg->host, &a6) == 1 ||
	    inet_pton(AF_INET6, cfg->host, &a6) == 1;
	ctx->insecure = cfg->insecure;
	if (cfg->fingerprint != NULL) {
		if (!parse_fingerprint(cfg->fingerprint, ctx->pin)) {
			snprintf(msg, msglen,
			    "-o fingerprint=%s: expected sha256: and 64 "
			    "hexadecimal digits",
			    cfg->fingerprint);
			tls_ctx_free(ctx);
			return -EINVAL;
		}
		ctx->pinned = true;
	}
	ctx->ssl_ctx = SSL_CTX_new(TLS_client_method());
	if (ctx->ssl_ctx == NULL)
		goto nomem;
	SSL_CTX_set_min_proto_version(ctx->ssl_ctx, TLS1_2_VERSION);
	/*
	 * A server that closes a data connection without close_notify is
	 * an EOF, not an error: the transfer's final reply (on the
	 * authenticated control connection) says whether it was complete.
	 */
	SSL_CTX_set_options(ctx->ssl_ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
	SSL_CTX_set_mode(ctx->ssl_ctx, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	SSL_CTX_set_read_ahead(ctx->ssl_ctx, 1);
	SSL_CTX_set_default_read_buffer_len(ctx->ssl_ctx, TLS_READ_BUFFER);
	SSL_CTX_set_session_cache_mode(ctx->ssl_ctx,
	    SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
	SSL_CTX_sess_set_new_cb(ctx->ssl_ctx, new_session_cb);
	/*
	 * The chain and the name are checked after the handshake, before a
	 * byte of ours is sent over it (tls_handshake), so that a refusal
	 * can name its reason and the certificate's fingerprint.
	 */
	SSL_CTX_set_verify(ctx->ssl_ctx, SSL_VERIFY_NONE, NULL);
	if (cfg->cafile != NULL) {
		if (SSL_CTX_load_verify_locations(
		        ctx->ssl_ctx, cfg->cafile, NULL) != 1) {
			snprintf(msg, msglen, "-o cafile=%s: cannot load: %s",
			    cfg->cafile, ssl_err_text(err, sizeof(err)));
			tls_ctx_free(ctx);
			return -EINVAL;
		}
	} else if (SSL_CTX_set_default_verify_paths(ctx->ssl_ctx) != 1) {
		log_warn("cannot load the system's CA certificates: %s",
		    ssl_err_text(err, sizeof(err)));
	}
	*out = ctx;
	return 0;
nomem:
	tls_ctx_free(ctx);
	return -ENOMEM;
}

const char *
tls_lib_version(void)
{
#ifdef OPENSSL_VERSION_STRING /* 3.0: "3.0.17" */
	return OpenSSL_version(OPENSSL_VERSION_STRING);
#else
	return OpenSSL_version(OPENSSL_VERSION);
#endif
}

void
tls_ctx_free(struct tls_ctx *ctx)
{
	if (ctx == NULL)
		return;
	SSL_CTX_free(ctx->ssl_ctx);
	free(ctx->host);
	free(ctx);
}

int
tls_wrap(struct tls_ctx *ctx, struct net_stream **s, struct net_stream *control)
{
	struct tls_stream *ts, *cs = control ? tls_of(control) : NULL;
	SSL_SESSION *sess = NULL;
	int fd;

	if (tls_of(*s) != NULL || (control != NULL && cs == NULL))
		return -EINVAL;
	ts = calloc(1, sizeof(*ts));
	if (ts == NULL)
		return -ENOMEM;
	ts->ssl = SSL_new(ctx->ssl_ctx);
	if (ts->ssl == NULL) {
		free(ts);
		return -ENOMEM;
	}
	ts->ctx = ctx;
	ts->control = control == NULL;
	if (cs != NULL) {
		ts->tickets = cs->tickets;
	} else {
		ts->tickets = calloc(1, sizeof(*ts->tickets));
		if (ts->tickets == NULL) {
			SSL_free(ts->ssl);
			free(ts);
			return -ENOMEM;
		}
	}
	ts->tickets->refs++;
	SSL_set_app_data(ts->ssl, ts);
	SSL_set_connect_state(ts->ssl);
	if (cs == NULL && atomic_load(&ctx->cap_tls12))
		SSL_set_max_proto_version(ts->ssl, TLS1_2_VERSION);
	if (!ctx->host_is_ip)
		SSL_set_tlsext_host_name(ts->ssl, ctx->host);
	if (ctx->host_is_ip)
		X509_VERIFY_PARAM_set1_ip_asc(
		    SSL_get0_param(ts->ssl), ctx->host);
	else
		SSL_set1_host(ts->ssl, ctx->host);
	if (cs != NULL) {
		struct tls_tickets *t = cs->tickets;

		/* A session resumes only in its own version: no higher. */
		SSL_set_max_proto_version(ts->ssl, SSL_version(cs->ssl));

		/* The newest unused ticket, else the control's own session. */
		if (t->count > 0) {
			sess = t->sess[--t->count];
			SSL_set_session(ts->ssl, sess);
			SSL_SESSION_free(sess);
			ts->offered = true;
		} else if ((sess = SSL_get0_session(cs->ssl)) != NULL &&
		    (sess = SSL_SESSION_dup(sess)) != NULL) {
			/*
			 * A copy for this data connection: freeing it without
			 * close_notify marks its session not resumable, and
			 * the control's must stay resumable for the next.
			 */
			SSL_set_session(ts->ssl, sess);
			SSL_SESSION_free(sess);
			ts->offered = true;
		}
	}
	fd = (*s)->fd;
	if (SSL_set_fd(ts->ssl, fd) != 1) {
		tickets_put(ts->tickets);
		SSL_free(ts->ssl);
		free(ts);
		return -ENOMEM;
	}
	net_stream_release(*s);
	ts->base.ops = &tls_ops;
	ts->base.fd = fd;
	*s = &ts->base;
	return 0;
}

/* Why a certificate was refused, in the user's words. */
static const char *
verify_reason(long v)
{
	switch (v) {
	case X509_V_ERR_CERT_HAS_EXPIRED:
		return "the certificate has expired";
	case X509_V_ERR_CERT_NOT_YET_VALID:
		return "the certificate is not valid yet";
	case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
	case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
		return "the certificate is self-signed";
	case X509_V_ERR_HOSTNAME_MISMATCH:
	case X509_V_ERR_IP_ADDRESS_MISMATCH:
		return "wrong host name: the certificate is for another name";
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
	case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
		return "unknown CA: the issuer is not trusted";
	default:
		return X509_verify_cert_error_string(v);
	}
}

/* After a handshake: the pin, or the chain and the name. */
static int
check_peer(struct tls_stream *ts, char *msg, size_t msglen)
{
	struct tls_ctx *ctx = ts->ctx;
	X509 *cert = SSL_get0_peer_certificate(ts->ssl);
	char fp[TLS_FINGERPRINT_LEN + 16];
	unsigned char d[32];
	long v;

	if (ctx->insecure)
		return 0;
	if (!cert_fingerprint(cert, d, fp, sizeof(fp))) {
		snprintf(msg, msglen, "TLS: %s sent no certificate", ctx->host);
		return -EACCES;
	}
	if (ctx->pinned) {
		if (memcmp(d, ctx->pin, sizeof(d)) == 0)
			return 0;
		snprintf(msg, msglen,
		    "certificate of %s refused: its fingerprint %s is not "
		    "the pinned one",
		    ctx->host, fp);
		return -EACCES;
	}
	v = SSL_get_verify_result(ts->ssl);
	if (v == X509_V_OK)
		return 0;
	snprintf(msg, msglen,
	    "certificate of %s refused: %s (%s); if you trust it, "
	    "-o fingerprint=%s",
	    ctx->host, verify_reason(v), X509_verify_cert_error_string(v), fp);
	return -EACCES;
}

int
tls_handshake(struct net_stream *s, struct net_stream *watch, int timeout_ms,
    char *msg, size_t msglen)
{
	struct tls_stream *ts = tls_of(s);
	int64_t deadline = net_now_ms() + timeout_ms;
	char err[256];
	unsigned which;
	int r, e, rc;

	if (ts == NULL)
		return -EINVAL;
	while (!ts->handshaken) {
		if (watch != NULL && net_stream_readable_now(watch))
			return 1;
		ERR_clear_error();
		r = SSL_do_handshake(ts->ssl);
		if (r == 1) {
			ts->handshaken = true;
			break;
		}
		e = SSL_get_error(ts->ssl, r);
		if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
			rc = net_wait_pair(ts->base.fd,
			    e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT,
			    watch ? watch->fd : -1, POLLIN, remaining(deadline),
			    &which);
			if (rc == -ETIMEDOUT) {
				snprintf(msg, msglen,
				    "TLS handshake with %s timed out",
				    ts->ctx->host);
				return rc;
			}
			if (rc < 0)
				return rc;
			continue;
		}
		if (e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0) {
			snprintf(msg, msglen,
			    "TLS handshake with %s: connection closed",
			    ts->ctx->host);
			return -ECONNRESET;
		}
		snprintf(msg, msglen, "TLS handshake with %s failed: %s",
		    ts->ctx->host, ssl_err_text(err, sizeof(err)));
		return -EPROTO;
	}
	return check_peer(ts, msg, msglen);
}

const char *
tls_describe(struct net_stream *s, char *buf, size_t len)
{
	struct tls_stream *ts = tls_of(s);

	if (ts == NULL)
		snprintf(buf, len, "plain");
	else
		snprintf(buf, len, "%s %s%s", SSL_get_version(ts->ssl),
		    SSL_get_cipher_name(ts->ssl),
		    SSL_session_reused(ts->ssl) ? ", resumed" : "");
	return buf;
}

bool
tls_resume_refused(struct tls_ctx *ctx, struct net_stream *data)
{
	struct tls_stream *ts = tls_of(data);

	if (ts == NULL || !ts->handshaken || !ts->offered ||
	    SSL_session_reused(ts->ssl))
		return false;
	if (SSL_version(ts->ssl) < TLS1_3_VERSION)
		return false; /* a 1.2 session refused: nothing to change */
	return !atomic_exchange(&ctx->cap_tls12, true);
}

bool
tls_resumed(struct net_stream *s)
{
	struct tls_stream *ts = tls_of(s);

	return ts != NULL && SSL_session_reused(ts->ssl);
}

/* ---- the stream ops --------------------------------------------------- */

/*
 * Wait as OpenSSL asks after a WANT_READ/WANT_WRITE, or turn its error
 * into -errno (1: EOF).
 */
static int
tls_io_wait(struct tls_stream *ts, int r, int64_t deadline, const char *what)
{
	char err[256];
	int e = SSL_get_error(ts->ssl, r);

	switch (e) {
	case SSL_ERROR_WANT_READ:
		return net_wait(ts->base.fd, POLLIN, remaining(deadline));
	case SSL_ERROR_WANT_WRITE:
		return net_wait(ts->base.fd, POLLOUT, remaining(deadline));
	case SSL_ERROR_ZERO_RETURN:
		return 1;
	case SSL_ERROR_SYSCALL:
		if (ERR_peek_error() == 0)
			return errno != 0 ? -errno : -ECONNRESET;
		/* fall through */
	default:
		log_debug("TLS %s: %s", what, ssl_err_text(err, sizeof(err)));
		return -EPROTO;
	}
}

static ssize_t
tls_read(struct net_stream *s, void *buf, size_t n, int timeout_ms)
{
	struct tls_stream *ts = (struct tls_stream *)s;
	int64_t deadline = timeout_ms < 0 ? -1 : net_now_ms() + timeout_ms;
	size_t got;
	int r, rc;

	for (;;) {
		ERR_clear_error();
		errno = 0;
		r = SSL_read_ex(ts->ssl, buf, n, &got);
		if (r == 1) {
			net_op_progress();
			return (ssize_t)got;
		}
		rc = tls_io_wait(ts, r, deadline, "read");
		if (rc == 1)
			return 0;
		if (rc < 0)
			return rc;
	}
}

static int
tls_write(struct net_stream *s, const void *buf, size_t n, int timeout_ms)
{
	struct tls_stream *ts = (struct tls_stream *)s;
	int64_t deadline = timeout_ms < 0 ? -1 : net_now_ms() + timeout_ms;
	const char *p = buf;
	size_t done;
	int r, rc;

	while (n > 0) {
		ERR_clear_error();
		errno = 0;
		r = SSL_write_ex(ts->ssl, p, n, &done);
		if (r == 1) {
			p += done;
			n -= done;
			net_op_progress();
			continue;
		}
		rc = tls_io_wait(ts, r, deadline, "write");
		if (rc == 1)
			return -EPIPE;
		if (rc < 0)
			return rc;
	}
	return 0;
}

static size_t
tls_pending(struct net_stream *s)
{
	struct tls_stream *ts = (struct tls_stream *)s;
	int n = SSL_pending(ts->ssl);

	if (n > 0)
		return (size_t)n;
	return SSL_has_pending(ts->ssl) ? 1 : 0;
}

/*
 * close_notify (vsftpd wants it at the end of every upload), then FIN,
 * then read until the server closes too: a socket closed with unread
 * bytes (the TLS 1.3 tickets a server sends after the handshake, which an
 * upload never reads) sends RST, which may reach the server before it
 * has read our close_notify: vsftpd then answers 426.
 */
static int
tls_shutdown(struct net_stream *s, int timeout_ms)
{
	struct tls_stream *ts = (struct tls_stream *)s;
	int64_t deadline = timeout_ms < 0 ? -1 : net_now_ms() + timeout_ms;
	int r, rc;

	if (!ts->handshaken)
		return -ENOTCONN;
	for (;;) {
		ERR_clear_error();
		errno = 0;
		r = SSL_shutdown(ts->ssl);
		if (r >= 0)
			break; /* sent; the peer's answer is not awaited */
		rc = tls_io_wait(ts, r, deadline, "shutdown");
		if (rc == 1)
			break;
		if (rc < 0)
			return rc;
	}
	net_shutdown_write(ts->base.fd);
	if (deadline < 0 || deadline > net_now_ms() + TLS_DRAIN_MS)
		deadline = net_now_ms() + TLS_DRAIN_MS;
	for (;;) {
		char sink[4096];
		size_t got;

		ERR_clear_error();
		errno = 0;
		r = SSL_read_ex(ts->ssl, sink, sizeof(sink), &got);
		if (r == 1)
			continue;
		if (tls_io_wait(ts, r, deadline, "drain") != 0)
			break; /* EOF, close_notify, error or deadline */
	}
	return 0;
}

static void
tls_close(struct net_stream *s, bool reset)
{
	struct tls_stream *ts = (struct tls_stream *)s;

	if (!reset && ts->handshaken && ts->control &&
	    !(SSL_get_shutdown(ts->ssl) & SSL_SENT_SHUTDOWN))
		SSL_shutdown(ts->ssl); /* polite, never waited for */
	ERR_clear_error();
	SSL_free(ts->ssl);
	tickets_put(ts->tickets);
	if (reset)
		net_close_reset(ts->base.fd);
	else
		net_close(ts->base.fd);
	free(ts);
}

static const struct net_stream_ops tls_ops = {
	.name = "tls",
	.read = tls_read,
	.write = tls_write,
	.pending = tls_pending,
	.splice = NULL, /* the socket carries ciphertext */
	.shutdown = tls_shutdown,
	.close = tls_close,
};
