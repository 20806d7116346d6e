/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * netrc: find credentials for a host in ~/.netrc text (the format of
 * ftp(1) and curl): tokens machine, default, login, password, account,
 * macdef (skipped to the next blank line), separated by any whitespace,
 * double-quoted tokens with backslash escapes as curl accepts them.
 * The first "machine" entry matching host (and login, when the caller
 * already has a user) wins; "default" is used only if no machine matched.
 */
#ifndef FTPFS_NETRC_H
#define FTPFS_NETRC_H

#include <stddef.h>

struct netrc_entry {
	char *login; /* NULL when the entry has none */
	char *password; /* NULL when the entry has none */
	char *account; /* NULL when the entry has none */
};

/*
 * Search text[0..len) for host (and user when not NULL).
 * 0 and *out filled; -ENOENT no entry; -EINVAL malformed; -ENOMEM.
 */
int netrc_lookup(const char *text, size_t len, const char *host,
    const char *user, struct netrc_entry *out);

/* Read path (at most 1 MiB) and look up; -errno from open/read too. */
int netrc_lookup_file(const char *path, const char *host, const char *user,
    struct netrc_entry *out);

/* Free (wiping the password). NULL is accepted. */
void netrc_entry_free(struct netrc_entry *e);

#endif
