/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fs_file: what the FUSE layer's files share (fs.c: metadata, opens,
 * writes; fs_read.c: reads, spliced where it can).  Only src/fs*.c
 * include this.
 */
#ifndef FTPFS_FS_FILE_H
#define FTPFS_FS_FILE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "fs.h"
#include "write_plan.h"

/* What we ask the kernel to read ahead (FS_READAHEAD_KB, fs.h). */
#define FS_READAHEAD_MAX (FS_READAHEAD_KB * 1024)

/*
 * An open file: fi->fh points to one.  How it writes (f->how) is decided
 * at open by write_plan_open() (write_plan.h):
 *  - WH_READ: a reader; bf is the backend's handle;
 *  - WH_STREAM: bf streams sequential writes into a file that started
 *    empty (FTP STOR);
 *  - WH_APPEND: bf appends each write at the server's end (FTP APPE); the
 *    path's append gate serialises appenders within the mount; where the
 *    server refuses APPE, each turn at the gate appends through a spool;
 *  - WH_SPOOL: sp holds a local copy uploaded on flush; a stream turns
 *    into one on a non-sequential write or ftruncate;
 *  - WH_PWRITE: bf writes at any offset (SFTP).
 *
 * Every handle is in ctx->files (fs_files.c) under its current name, so
 * that renames, unlinks and libfuse's hiding of a file unlinked while
 * open reach it.
 */
struct fs_file {
	/* Serialises I/O on this handle; taken before ctx->lock. */
	pthread_mutex_t io;
	struct backend_file *bf; /* NULL in spool mode, or read from ab */
	struct fahead_buf
	    *ab; /* a reader's whole file, read ahead (fahead.h) */
	/* ab went stale (written through the mount): read here (f->io) */
	struct backend_file *rbf;
	/* ab's file grew: 1 the name still holds it (its start is ab's),
	   -1 another file is there now, 0 not checked yet (f->io) */
	int ab_grown;
	/*
	 * sp and how change with f->io and ctx->lock held: read them under
	 * either.  sp may be shared with the file's other handles.
	 */
	struct spool *sp; /* spool mode, or NULL */
	unsigned flags; /* BO_* given to ->open */
	enum write_how how;
	int werr; /* the handle can no longer write: why (-errno) */
	/* for a file created through this handle (or found); S_IFREG
	   marks it known, 0 is "unknown" (0000 is S_IFREG | 0) */
	mode_t mode;
	struct backend_attr attr; /* at open: what fstat says once hidden */
	/* Protected by ctx->lock: */
	char *path; /* the name; updated by rename and hiding */
	off_t size; /* the file's size as this handle made it */
	bool written; /* a write went through this handle */
	bool dirty; /* ... and is not on the server yet (flushed: false) */
	/*
	 * gone: the name no longer leads to this file on the server
	 * (unlinked, or replaced by a rename, while open); registry walks
	 * skip it.  detached (written with f->io held too, so the handle's
	 * own thread reads it under f->io): its I/O with the server is cut,
	 * nothing is sent, fetched or uploaded for it again
	 * (fs_file_detach_locked).
	 */
	bool gone;
	bool detached;
	bool ghost; /* path is libfuse's hidden name for it (no server file) */
	bool gate; /* holds its path's append gate */
	/* another handle uploaded path since our copy began (spool) */
	bool conflict;
	/* an upload on this handle may hold a connection until it ends */
	bool uploading;
	unsigned refs; /* held while a registry walk works on it */
	/* chmod/utimens while open: applied again after the last upload */
	bool pend_mode_set;
	mode_t pend_mode;
	bool pend_mtime_set;
	struct timespec pend_mtime;
	struct fs_file *next; /* ctx->files */
	/* Readers: READs in a row the pipe could not hold (fs_read_buf). */
	atomic_uint pipe_misses;
	/*
	 * Readers: where the file ends as far as this handle knows (its size
	 * at open, then what its reads found; -1: unknown): fs_read_saw.
	 */
	_Atomic int64_t known_end;
	/* Readers: the last READ that failed after a wait (fs_read_refail) */
	_Atomic int64_t fail_off;
	atomic_int fail_rc;
	_Atomic int64_t fail_ms;
};

/* What the write handles on a path will leave there. */
struct fs_wview {
	off_t size; /* written so far (the largest of them), if size_known */
	bool size_known; /* one has writes the server may not show yet */
	/* a chmod meanwhile, else created (or found) with; 0: unknown,
	   else S_IFREG | the permissions (0000 too) */
	mode_t mode;
	bool uploading; /* one is uploading: the server knows less */
	bool mtime_set; /* a utimens meanwhile: mtime */
	struct timespec mtime;
};

/* ---- fs_files.c: the registry of open handles (ctx->files) ----------- */

void fs_files_add(struct fs_ctx *ctx, struct fs_file *f);
/* f->detached / f->conflict, read under ctx->lock. */
bool fs_file_detached(struct fs_ctx *ctx, struct fs_file *f);
bool fs_file_conflict(struct fs_ctx *ctx, struct fs_file *f);
/* Take f out of the registry, waiting for walks that hold it. */
void fs_files_remove(struct fs_ctx *ctx, struct fs_file *f);
/* A copy of f's current name (NULL: out of memory), or NULL when it has
 * none on the server any more (detached). */
char *fs_file_path(struct fs_ctx *ctx, const struct fs_file *f);
/* The writers' view of path; false when no handle writes it. */
bool fs_writer_find(struct fs_ctx *ctx, const char *path, struct fs_wview *v);
/*
 * Note a chmod/utimens of path on its open write handles; true when an
 * upload of it is in progress (the attribute is then set at its end).
 */
bool fs_writers_note(struct fs_ctx *ctx, const char *path, const mode_t *mode,
    const struct timespec *mtime);
void fs_set_uploading(struct fs_ctx *ctx, struct fs_file *f, bool on);
/* Apply what fs_writers_note kept for f, once, under its current name. */
void fs_apply_pending(struct fs_ctx *ctx, struct fs_file *f);
/* Push what path's writers wrote so far to the server (a reader opens). */
void fs_writers_sync(struct fs_ctx *ctx, const char *path);
/*
 * path was removed or replaced on the server: its handles are detached
 * (their transfers abandoned, their spools kept local).
 */
void fs_files_unlinked(struct fs_ctx *ctx, const char *path);
/* A rename on the server succeeded: handles of from follow it. */
void fs_files_renamed(struct fs_ctx *ctx, const char *from, const char *to);
/* This mount set path's mtime: its local copies are not out of date. */
void fs_files_mtime_set(
    struct fs_ctx *ctx, const char *path, const struct timespec *mtime);
/*
 * path was cut or extended to size on the server: the handles that write
 * in place (WH_PWRITE) answer fstat with it from now on (a local copy
 * keeps its own content, uploaded over the file at close).
 */
void fs_files_truncated(struct fs_ctx *ctx, const char *path, off_t size);
/* A new reference to the local copy path's handles share, or NULL. */
struct spool *fs_files_spool_of(struct fs_ctx *ctx, const char *path);
/* f uploaded its path: other local copies of it are now out of date. */
void fs_files_uploaded(struct fs_ctx *ctx, struct fs_file *f);
/*
 * The append gate of f's path: one appender at a time within the mount.
 * Entering makes the holder (another handle) finish its append first.
 */
void fs_gate_enter(struct fs_ctx *ctx, struct fs_file *f);
void fs_gate_leave(struct fs_ctx *ctx, struct fs_file *f);

/*
 * libfuse's hiding of a file unlinked (or renamed over) while open: it
 * renames the name to ".fuse_hiddenXXXX" and uses that name for the open
 * handles afterwards.  The hidden name never exists on the server,
 * except with BCAP_HANDLES (fs_hide_on_server).  Either way the old name
 * is gone on the server when the hiding returns.
 */
bool fs_is_hidden_name(const char *path);
/* rename(from, hidden): detach from's handles under the hidden name and
 * move from's file aside on the server (".NAME.ftpfs-gone-XXXXXX"), to be
 * removed unless a failed rename over from needs it back. */
int fs_hide(struct fs_ctx *ctx, const char *from, const char *hidden);
/* The same where the backend's handles outlive their names (BCAP_HANDLES):
 * the file moves to the hidden name on the server and the handles follow. */
int fs_hide_on_server(struct fs_ctx *ctx, const char *from, const char *hidden);
/* A rename onto path by this thread: the hide just made is its own (NULL:
 * none); pass it to fs_hide_claimed with the rename's result. */
struct fs_hide *fs_hide_claim(struct fs_ctx *ctx, const char *path);
/* The rename over h's name returned rc: on failure the old file returns. */
void fs_hide_claimed(struct fs_ctx *ctx, struct fs_hide *h, int rc);
/* Carry out the pending removals (every op starts with this). */
void fs_hides_settle(struct fs_ctx *ctx);
/* End the thread that settles them on its own (joined; idempotent). */
void fs_settler_stop(struct fs_ctx *ctx);
/* Attributes of a hidden name (its handle's); false: no such name. */
bool fs_hidden_attr(struct fs_ctx *ctx, const char *path, struct stat *st);
/* unlink(hidden): the last handle is gone; -ENOENT if not hidden. */
int fs_hidden_unlink(struct fs_ctx *ctx, const char *path);

/* fs.c */
void fs_fill_stat(
    const struct fs_ctx *ctx, const struct backend_attr *a, struct stat *st);

/* fs_write.c */
int fs_open(const char *path, struct fuse_file_info *fi);
int fs_create(const char *path, mode_t mode, struct fuse_file_info *fi);
int fs_write(const char *path, const char *buf, size_t size, off_t off,
    struct fuse_file_info *fi);
int fs_truncate(const char *path, off_t size, struct fuse_file_info *fi);
int fs_flush(const char *path, struct fuse_file_info *fi);
int fs_fsync(const char *path, int datasync, struct fuse_file_info *fi);
int fs_release(const char *path, struct fuse_file_info *fi);
/* The server must have every byte when this returns 0.  f->io held. */
int fs_file_flush(struct fs_ctx *ctx, struct fs_file *f);
/* The file's name is gone: stop talking to the server for it.  f->io held. */
void fs_file_detach_locked(struct fs_ctx *ctx, struct fs_file *f);

static inline struct fs_ctx *
fs_ctx(void)
{
	return fuse_get_context()->private_data;
}

static inline struct backend *
fs_be(void)
{
	return fs_ctx()->be;
}

static inline struct fs_file *
fs_file_of(const struct fuse_file_info *fi)
{
	return (struct fs_file *)(uintptr_t)fi->fh;
}

/* fs_read.c */
/* READ into buf: the backend's short reads looped over (a short reply
 * means EOF to FUSE). */
int fs_read(const char *path, char *buf, size_t size, off_t off,
    struct fuse_file_info *fi);
/* READ answered through the thread's pipe where it can (fs_splice_init). */
int fs_read_buf(const char *path, struct fuse_bufvec **bufp, size_t size,
    off_t off, struct fuse_file_info *fi);
/* At INIT: decide whether READs are spliced, and ask the kernel if so. */
void fs_splice_init(struct fs_ctx *ctx, struct fuse_conn_info *conn);
/* Free what fs_splice_init set up. */
void fs_splice_fini(struct fs_ctx *ctx);

#endif
