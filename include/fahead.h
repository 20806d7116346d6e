/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fahead: small files read ahead of a process that reads a directory's
 * files one after another (cat *, grep -r, cp -r, tar c, xargs cat).
 * Far from the server each small file costs round trips (FTP: EPSV, RETR
 * and the data connection; SFTP: OPEN, READ, CLOSE) that a reader waits
 * for one file at a time.  When a process opens the file that follows the
 * one it opened before in its directory (in the listing's order or by
 * name), the next small files are fetched whole in the background, on a
 * few worker threads with pooled connections, into memory; the process's
 * open of such a file is then served from memory without a request.
 *
 * What is served is what the server had: a buffer is used only while the
 * file's size and mtime (the cached stat at open) are those of the listing
 * it was fetched by, it is forgotten when the file is changed through the
 * mount (fahead_forget: open for writing, truncate, rename, unlink, ...),
 * and kept at most the cache's lifetime.
 *
 * Budget: files of at most FAHEAD_FILE_MAX bytes, FAHEAD_DEPTH files
 * ahead of each reader (twice as many at each file it goes on to, up to
 * FAHEAD_DEPTH_MAX), at most FAHEAD_MEM_MAX bytes held, `workers`
 * fetches at once (main.c: connections - 1), none of them on the last
 * idle connection (pool_background: a process never waits for a guess; a
 * fetch that finds none is queued again, or taken along by the pump).
 * The pump (where the backend reads many files at once: ->fetch_many) is
 * one more thread, on one connection that it may wait for as a process
 * would: it fetches what readers wait for at open (fahead_fetch_now),
 * with queued files along.  Nothing is read ahead unless a reader goes
 * from one file to the next.
 */
#ifndef FTPFS_FAHEAD_H
#define FTPFS_FAHEAD_H

#include <stdint.h>
#include <sys/types.h>

#include "backend.h"

#define FAHEAD_FILE_MAX (256 * 1024)
#define FAHEAD_DEPTH 8 /* ahead of a reader at first */
#define FAHEAD_DEPTH_MAX 32 /* ahead of one that kept going */
#define FAHEAD_MEM_MAX (32 * 1024 * 1024)
#define FAHEAD_WORKERS_MAX 7

struct fahead;
struct fahead_buf;

/*
 * Read-ahead over be (the cached backend) on `workers` threads (0: none,
 * *out NULL; every function accepts NULL), each fetch with the deadline
 * of a request (op_timeout_ms), buffers kept ttl_ms.  0 or -ENOMEM.
 */
int fahead_new(struct backend *be, unsigned workers, int op_timeout_ms,
    int ttl_ms, struct fahead **out);
/* Stop the workers and free everything (no buffer may be held). */
void fahead_free(struct fahead *a);
/* A process listed dir (opendir) with entries l: its files' order. */
void fahead_listed(
    struct fahead *a, const char *dir, const struct backend_dirlist *l);
/*
 * Process pid opens path for reading; attr is the file's stat now.  A
 * buffer with its whole content (held: fahead_put) when it was read ahead
 * and still matches attr, else NULL (a fetch under way is waited for).
 * Starts reads ahead when pid goes from one file to the next.
 */
struct fahead_buf *fahead_open(struct fahead *a, const char *path,
    const struct backend_attr *attr, pid_t pid);
/*
 * No buffer from fahead_open: where the backend reads small files whole
 * at once (->fetch_many: OPEN, READ and CLOSE sent as soon as each can
 * be, two round trips in all instead of three waited for one by one),
 * path (attr: its size now, at most FAHEAD_FILE_MAX) is read whole now
 * by the pump, with what other readers wait for.  The buffer (held:
 * fahead_put), or NULL: read it the usual way (no connection, a changed
 * file, the request's deadline or an interrupt).
 */
struct fahead_buf *fahead_fetch_now(
    struct fahead *a, const char *path, const struct backend_attr *attr);
/*
 * Bytes of b at off (0 past the end); -ESTALE once the file may have been
 * written through the mount since b was fetched (fahead_written): read it
 * from the server instead.
 */
ssize_t fahead_read(struct fahead *a, const struct fahead_buf *b, char *buf,
    size_t size, off_t off);
/* path's content may change through the mount (opened for writing,
 * truncated): the buffers held of it are stale from now on. */
void fahead_written(struct fahead *a, const char *path);
void fahead_put(struct fahead *a, struct fahead_buf *b);
/* path (and, if it is a directory, everything below) changed: forget. */
void fahead_forget(struct fahead *a, const char *path);

#endif
