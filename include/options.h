/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * options: the values of ftpfs's own -o items, read by pure functions (no
 * FUSE, no output, no exit).  main.c keeps the fuse_opt table, calls these
 * from its callback and prints the messages; the backends' items are
 * checked by backend_opt_check().  Each takes one -o item as fuse_opt hands
 * it over: NUL-terminated, "key=value" or a bare word (fuse_opt has split
 * the -o list at commas).
 */
#ifndef FTPFS_OPTIONS_H
#define FTPFS_OPTIONS_H

#include <stdbool.h>

/*
 * "key=N" with N a whole number (decimal digits only, no sign or blank),
 * min <= N <= max (max at most UINT_MAX): 0 and *out, or -EINVAL with
 * *out untouched.
 */
int options_number(const char *arg, unsigned min, unsigned max, unsigned *out);

/*
 * Is arg an item for fstab, mount(8) or systemd, not for the filesystem
 * (_netdev, auto, noauto, nofail, user, nouser, users, owner, group,
 * defaults, x-*, X-*, comment=*)?  Those are accepted and ignored:
 * mount.fuse3 drops some of them, libmount keeps others away from
 * helpers, but an fstab line or a unit may still hand them over.
 */
bool options_fstab_only(const char *arg);

/*
 * A log_level= value: error (or err), warn (or warning), info, debug,
 * trace; exact, lower case.  0 and *level (an enum log_level), or -EINVAL.
 */
int options_log_level(const char *name, int *level);

/*
 * fuse_opt splits "-o protocol=sftp,ftpes,ftp" into "protocol=sftp",
 * "ftpes", "ftp": an item right after protocol= that is a bare protocol
 * name (sftp, ftpes, ftp, ftps; none is an option of its own) continues
 * its list.  *list (malloc'ed, not NULL) becomes "*list,arg": 0; 1 when
 * arg is no protocol name (*list untouched); -ENOMEM (*list untouched).
 */
int options_protocol_more(char **list, const char *arg);

/*
 * An idmap= item: "idmap=user" (*remote_ids false: files show as the
 * mounting user's) or "idmap=none" (true: the server's numbers).  0, or
 * -EINVAL for any other value.
 */
int options_idmap(const char *arg, bool *remote_ids);

#endif
