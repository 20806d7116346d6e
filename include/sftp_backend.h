/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * sftp_backend: the SFTP instance of struct backend (issue 9).  SFTP v3
 * spoken by ftpfs itself (sftp_proto) over pooled SSH sessions
 * (sftp_conn), with OpenSSH's extensions where the server offers them.
 *
 * Capabilities: BCAP_PWRITE (writes in place at any offset, no spool),
 * BCAP_CHEAP_STAT (LSTAT is one round trip), BCAP_SYMLINK,
 * BCAP_CREATE_MODE (OPEN carries the mode of a file it creates).
 *
 * Open files keep a session parked between calls (pool_park_owner), with
 * READs in flight ahead of a sequential reader (a window that doubles
 * while the reader stays sequential) and WRITEs acknowledged behind a
 * writer (errors come back at the next write, flush or release).  When
 * the pool reclaims the session, the handle is closed and reopened at the
 * next call.
 */
#ifndef FTPFS_SFTP_BACKEND_H
#define FTPFS_SFTP_BACKEND_H

#include <stdbool.h>
#include <stddef.h>

#include "backend.h"
#include "sftp_conn.h"

struct sftp_config {
	struct sftp_conn_config conn; /* host, port, user, keys, host keys */
	/*
	 * Remote directory mounted: absolute ("/srv/x"), or relative to the
	 * login directory when it starts with "~" ("~", "~/x": the sshfs
	 * form user@host:x and sftp://host/~/x).
	 */
	const char *root;
	unsigned connections; /* pool size, >= 1 */
	int cmd_timeout_ms; /* each request's reply */
	int idle_timeout_ms; /* pooled session idle expiry */
};

/* Defaults (timeouts, window, pool size); strings stay NULL. */
void sftp_config_defaults(struct sftp_config *cfg);

/*
 * One SFTP-specific -o item into cfg (NULL: only check it): identity_file=
 * (IdentityFile=), known_hosts= (UserKnownHostsFile=),
 * StrictHostKeyChecking=yes|accept-new|no, ServerAliveInterval=N.
 * 1 when it is ours and well-formed, 0 when it is not an SFTP option,
 * -1 when malformed (msg says why).  Strings point into arg.
 */
int sftp_backend_opt(
    struct sftp_config *cfg, const char *arg, char *msg, size_t msglen);

struct url;

/*
 * The factory's entry (backend.c): cfg from u, opts and opts->extra (items
 * that are not SFTP options are skipped), then sftp_backend_new.  An
 * sftp:// path is absolute on the server; "/~" at its start means the
 * login directory (as curl and the SFTP URI draft have it).
 */
int sftp_backend_open(const struct url *u, const struct backend_opts *opts,
    struct backend **out, char *msg, size_t msglen);

/*
 * The factory's prepare step (backend.c), before credentials: read the ssh
 * client configuration (-o ssh_config=FILE among extra, "none" for no
 * file; default ~/.ssh/config, taken under $HOME) for u->host as typed,
 * and apply it as ssh does, the command line first: u->host becomes the
 * HostName (so the host key is looked up under the real name and port),
 * u->port the Port unless the URL has one, u->user the User unless the
 * URL has one; IdentityFile (expanded) are appended to extra as
 * identity_file= items, after those given; UserKnownHostsFile,
 * StrictHostKeyChecking, HostKeyAlias and ServerAliveInterval unless
 * extra has them.  Appended items are malloc'ed (the caller frees extra).
 * 0, or -errno with one line in msg (a malformed file, -ENOENT for a
 * missing ssh_config=FILE, -E2BIG when extra is full).
 */
int sftp_backend_prepare(struct url *u, char **extra, size_t *nextra,
    size_t max_extra, char *msg, size_t msglen);

/* The "SFTP options" section of --help. */
void sftp_backend_print_help(void);

/*
 * Create the backend and open the first session now, so that a mount
 * fails fast (errno and msg as sftp_conn_open; -ENOENT/-ENOTDIR/-EACCES
 * for the remote directory).  The strings in cfg are copied.
 */
int sftp_backend_new(const struct sftp_config *cfg, struct backend **out,
    char *msg, size_t msglen);

#endif
