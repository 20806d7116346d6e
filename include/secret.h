/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * secret: strings that hold a password, a passphrase or an account are
 * overwritten before their memory goes back to the allocator, so that no
 * later allocation, core dump or swap page shows them.
 */
#ifndef FTPFS_SECRET_H
#define FTPFS_SECRET_H

/* Wipe s (up to its NUL) and free it.  NULL is accepted.  const only so
 * that configuration structs holding const char * can pass theirs. */
void secret_free(const char *s);

#endif
