/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * credfile: the text of a -o credentials=FILE file, in the format
 * mount.cifs users know: one "key=value" per line, keys username (or
 * user), password (or pass) and account (or acct; FTP's ACCT).  Blank
 * lines and lines whose first non-blank is '#' are skipped; blanks
 * before the key and between it and '=' are not part of it.  A password
 * is everything after the first '=' as written (blanks and '=' included,
 * a final CR dropped), so any password can be written down; a user or
 * account name loses the blanks around it.  Pure: creds.c reads
 * the file and checks who may read it.
 */
#ifndef FTPFS_CREDFILE_H
#define FTPFS_CREDFILE_H

#include <stddef.h>

struct credfile {
	char *user; /* NULL when the file has none */
	char *password; /* NULL when the file has none */
	char *account; /* NULL when the file has none */
};

/*
 * Parse text[0..len).  0 and *out filled; -EINVAL for a line without '=',
 * an unknown or repeated key, an empty key or a NUL byte, with that
 * line's number (from 1) in *line; -ENOMEM.  *out is empty after an
 * error.  No value is ever copied into a message by the caller: only
 * the line number and the key tell what is wrong.
 */
int credfile_parse(
    const char *text, size_t len, struct credfile *out, unsigned *line);

/* Wipe and free; c is zeroed.  NULL is accepted. */
void credfile_free(struct credfile *c);

#endif
