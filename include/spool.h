/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * spool: a local copy of one remote file that is being changed in ways
 * its backend cannot stream (writes into the middle, truncate to a
 * non-zero size, any non-sequential pattern), for backends without
 * BCAP_PWRITE.  Backend-agnostic: it uses only struct backend.
 *
 *  - The copy is a sparse file in the spool directory; the remote content
 *    is fetched lazily in SPOOL_BLOCK blocks, only where a read or a
 *    partial-block write needs it, and in full only at upload time.
 *  - spool_flush() uploads the whole file under a temporary name in the
 *    same remote directory (".NAME.ftpfs-XXXXXX"), then renames it over
 *    NAME and restores the mode: the original stays intact until the new
 *    content is complete, and a failed upload never leaves a half-written
 *    file under the real name.  0 only when the server confirmed it all.
 *  - On a failed upload the local file is kept (spool_close does not
 *    delete it) and its path is logged, so the user can recover the data.
 *
 * A spool may be shared by the open handles of one file (spool_ref), as
 * a local file's content is shared by its descriptors; every call takes
 * the spool's own lock, so they may come from any thread.
 */
#ifndef FTPFS_SPOOL_H
#define FTPFS_SPOOL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "backend.h"

#define SPOOL_BLOCK (1u << 20)

struct spool;

/*
 * Begin spooling path, whose remote content is remote_size bytes long
 * (0: nothing to fetch).  mode: S_IFREG | the permissions to restore
 * after the upload (0000 included), or 0 to leave what the server picks.
 * dir: the spool directory, created 0700 if missing.  0 or -errno.
 */
/*
 * The spool directory exists (made 0700 if missing) and we may write in
 * it: 0 or -errno.  main checks it at mount time, so that a bad
 * -o spool_dir fails the mount instead of every later in-place write.
 */
int spool_dir_check(const char *dir);
int spool_open(struct backend *be, const char *path, uint64_t remote_size,
    mode_t mode, const char *dir, struct spool **out);

ssize_t spool_read(struct spool *s, char *buf, size_t size, off_t off);
ssize_t spool_write(struct spool *s, const char *buf, size_t size, off_t off);
int spool_truncate(struct spool *s, off_t size);
uint64_t spool_size(struct spool *s);
bool spool_dirty(struct spool *s);
/* The local file's path (for messages). */
const char *spool_local_path(const struct spool *s);

/* Upload when dirty. 0, or -EIO/-ENOSPC/... (the local copy is kept). */
int spool_flush(struct spool *s);

/* Another handle shares s; it calls spool_close() once too.  Returns s. */
struct spool *spool_ref(struct spool *s);

/*
 * Flush, then drop a reference; the last one frees.  Returns the flush
 * result.  The local file is removed unless an upload failed (then it
 * stays, and is logged).
 */
int spool_close(struct spool *s);

/* The path a rename moved the file to. */
int spool_rename(struct spool *s, const char *newpath);

/*
 * What the server's file looked like when the copy began (size, and
 * mtime when have_mtime).  Before its upload replaces the file,
 * spool_flush() asks the server again (bypassing any cache): a file
 * that changed meanwhile - another client wrote it - is not overwritten;
 * the flush fails with -EIO and the local copy is kept.  Without a base
 * no such check is made.  After each upload the base is what was
 * uploaded.
 */
void spool_set_base(
    struct spool *s, uint64_t size, bool have_mtime, struct timespec mtime);

/* We set the server file's mtime ourselves: that is no change by others. */
void spool_base_mtime(struct spool *s, struct timespec mtime);

/*
 * The file's name is gone (unlinked, or replaced by a rename, while
 * open): the copy stays readable and writable locally but is never
 * uploaded, and blocks never fetched read as an error (-EIO).
 */
void spool_detach(struct spool *s);

/*
 * Refuse to upload this copy from now on (why: for the log): flushes
 * fail with -EIO and the local file is kept for the user.
 */
int spool_refuse(struct spool *s, const char *why);

#endif
