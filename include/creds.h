/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * creds: decide the login user, password and account for a mount.
 *
 * User: the URL's, else the credentials file's (-o credentials=FILE),
 * else the netrc entry's login, else "anonymous".
 * Password, first that applies:
 *   1. the URL's password;
 *   2. the credentials file's;
 *   3. one line read from standard input (-o password_stdin);
 *   4. the netrc entry (only when -o netrc[=FILE] was given);
 *   5. a prompt on /dev/tty, echo off, when standard input is a terminal
 *      and the user is not anonymous;
 *   6. "ftpfs@" for anonymous; the empty password where password_optional
 *      (SFTP: keys first); otherwise an error (-ENOKEY) that says how to
 *      give one.
 * The account (ACCT): the credentials file's, else the netrc entry's.
 * A credentials file others may read or write is refused; a netrc file
 * with no entry for the host, or with a password and readable by others,
 * is used with a warning.
 *
 * Secrets are never logged; every copy made here is wiped before it is
 * freed.  Called from main before any thread exists.
 */
#ifndef FTPFS_CREDS_H
#define FTPFS_CREDS_H

#include <stdbool.h>
#include <stddef.h>

struct creds_request {
	const char *host;
	const char *url_user; /* NULL when the URL has none */
	const char *url_password; /* NULL when the URL has none */
	bool password_stdin;
	const char *netrc_path; /* NULL: netrc is not consulted */
	const char *credentials_path; /* NULL: no -o credentials= */
	/* a login may go without a password (SFTP keys): no error when
	   none can be found, the empty one is passed on */
	bool password_optional;
};

struct creds {
	char *user; /* never NULL after creds_resolve() */
	char *password; /* never NULL after creds_resolve() */
	char *account; /* NULL when none */
};

/*
 * Fill out (zeroed first).  0, or a negative errno and a one-line reason
 * in msg (no secrets in it): -ENOENT/-EACCES for an unreadable netrc file,
 * -EINVAL for a malformed one, -ENODATA for nothing on standard input,
 * -EMSGSIZE for a line too long, -EINTR for an interrupted prompt.
 */
int creds_resolve(const struct creds_request *req, struct creds *out, char *msg,
    size_t msglen);

/* Wipe and free; c is zeroed.  NULL is accepted. */
void creds_free(struct creds *c);

/* "anonymous" and "ftp", the names servers treat as anonymous logins. */
bool creds_is_anonymous(const char *user);

/*
 * Remove the password and its ':' from the URL text s in place
 * ("ftp://u:pw@h" becomes "ftp://u@h"; the bytes after it move left, the
 * freed tail becomes NULs), so that ps(1) and /proc/PID/cmdline stop
 * showing it.  Returns true when there was one.
 */
bool creds_scrub_url(char *s);

/* "$HOME/.netrc" (or the passwd entry's home), malloc'ed; NULL on error. */
char *creds_default_netrc(void);

#endif
