/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * url: parse the mount source.  Pure functions, no I/O.
 *
 *   ftp://[user[:password]@]host[:port][/path]
 *   ftps://...  (implicit TLS, port 990)   ftpes://... (explicit TLS, 21)
 *   sftp://...  (port 22; the path is absolute, "/~" = login directory)
 *   auto://...  (probed; port 0 unless given: each protocol's default;
 *               the path as in ftp://)
 *   [user@]host:[path]   sshfs/scp form, SFTP: the path is relative to
 *               the login directory unless it starts with '/' (->path is
 *               then "/~/path", or "/~" for an empty one); host may be
 *               "[v6]"; no port (h:2222 is the directory 2222), no
 *               password, no percent-decoding.
 *   host may be a name, IPv4, or "[v6]" (brackets removed in ->host).
 *   user, password and path are percent-decoded; a decoded user or path
 *   containing CR, LF or NUL is refused (-EINVAL).  An empty path is "/".
 *   The path is the remote directory to mount; it is interpreted relative
 *   to the login directory unless it starts with "//" in the URL (RFC 1738
 *   style: "ftp://h/%2Fsrv" or "ftp://h//srv" means absolute /srv).
 */
#ifndef FTPFS_URL_H
#define FTPFS_URL_H

#include <stdbool.h>
#include <stddef.h>

enum url_scheme {
	URL_FTP,
	URL_FTPS, /* implicit TLS */
	URL_FTPES, /* explicit TLS (AUTH TLS) */
	URL_SFTP,
	URL_AUTO, /* auto://: probed (probe.h), then one of the above */
};

struct url {
	enum url_scheme scheme;
	char *user; /* NULL when absent */
	char *password; /* NULL when absent */
	char *host; /* never NULL on success */
	unsigned port; /* the scheme's default when absent (auto://: 0) */
	char *path; /* decoded, starts with "/", no trailing '/' */
	bool path_absolute; /* "//" or "%2F" form: absolute on the server */
	bool port_given; /* the port was written (else the default) */
	bool sshfs_form; /* [user@]host:[path] */
};

/* 0 or -EINVAL (malformed, bad port, control bytes) / -ENOMEM. */
int url_parse(const char *s, size_t len, struct url *out);

/* Does s start like a URL ("scheme://")?  Else url_parse tries host:path. */
bool url_has_scheme(const char *s, size_t len);

/* Free the strings (the password is wiped first). NULL is accepted. */
void url_free(struct url *u);

const char *url_scheme_name(enum url_scheme s);

/*
 * Where the password sits inside the URL text s, so main can scrub it from
 * argv: sets *off and *n and returns true when there is one.
 */
bool url_password_span(const char *s, size_t len, size_t *off, size_t *n);

#endif
