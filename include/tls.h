/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * tls: TLS client streams (OpenSSL), one more implementation of struct
 * net_stream.  The only module that includes OpenSSL.
 *
 * One tls_ctx per mount: trust settings and the session cache.  A control
 * stream remembers the latest session the server gave it (TLS 1.3 tickets
 * arrive after the handshake, whenever the stream next reads); a data
 * stream started with that control stream resumes it, as vsftpd
 * (require_ssl_reuse), ProFTPD and FileZilla Server demand.
 *
 * Certificates are verified against the system store (or cafile) and the
 * host name (SNI on every connection), unless a SHA-256 fingerprint is
 * pinned (then only that certificate is accepted, whoever signed it) or
 * verification is switched off.  TLS 1.2 is the minimum.
 */
#ifndef FTPFS_TLS_H
#define FTPFS_TLS_H

#include <stdbool.h>
#include <stddef.h>

#include "net.h"

/* "sha256:" + 32 bytes as hex with colons, NUL */
#define TLS_FINGERPRINT_LEN (7 + 32 * 3)

struct tls_config {
	const char *host; /* the URL's host: SNI and the name check */
	const char *cafile; /* trust anchors (PEM); NULL: the system store */
	const char *fingerprint; /* "sha256:HEX" pin, NULL when none */
	bool insecure; /* verify nothing */
};

struct tls_ctx;

/* -EINVAL (bad cafile or pin, msg says why) or -ENOMEM. */
int tls_ctx_new(const struct tls_config *cfg, struct tls_ctx **out, char *msg,
    size_t msglen);
/* NULL is accepted; streams made from ctx must be closed first. */
void tls_ctx_free(struct tls_ctx *ctx);
/* The version of the OpenSSL we run with ("3.0.17"). */
const char *tls_lib_version(void);

/* Is s a valid -o fingerprint value ("sha256:" + 64 hex digits)? */
bool tls_fingerprint_ok(const char *s);

/*
 * Replace the plain stream *s by a TLS client stream on the same socket;
 * the handshake happens in tls_handshake() (or the first read or write).
 * control == NULL: *s becomes a control stream, whose sessions are kept;
 * otherwise a data stream that resumes control's latest session.
 * 0, or -ENOMEM with *s left as it was.
 */
int tls_wrap(
    struct tls_ctx *ctx, struct net_stream **s, struct net_stream *control);

/*
 * Run the handshake of a stream made by tls_wrap() within timeout_ms.
 * 0 when done (certificate checked); 1 when watch (may be NULL) became
 * readable first: read it, then call again to go on.  -ETIMEDOUT,
 * -ECONNRESET, -EPROTO (no TLS, or a protocol failure) or -EACCES (the
 * certificate is refused); msg says why, with the certificate's SHA-256
 * fingerprint for -EACCES.
 */
int tls_handshake(struct net_stream *s, struct net_stream *watch,
    int timeout_ms, char *msg, size_t msglen);

/* Protocol and cipher of a finished handshake, for the log. */
const char *tls_describe(struct net_stream *s, char *buf, size_t len);

/*
 * After the handshake of a data stream: did the server refuse to resume
 * the TLS 1.3 session it was offered, for the first time in this mount?
 * Then control connections made from now on speak TLS 1.2 (whose session
 * any number of data connections may resume), and the caller should get
 * a new control connection and try the transfer again: a server that
 * requires session reuse (vsftpd require_ssl_reuse) will refuse this one.
 * Seen on vsftpd with OpenSSL 3, whose TLS 1.3 tickets are single-use
 * and whose data connections' tickets are not accepted later.
 */
bool tls_resume_refused(struct tls_ctx *ctx, struct net_stream *data);

/* Did the handshake of s resume a session? */
bool tls_resumed(struct net_stream *s);

#endif
