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

/* What we ask the kernel to read ahead (FS_READAHEAD_KB, fs.h). */
#define FS_READAHEAD_MAX (FS_READAHEAD_KB * 1024)

/*
 * An open file: fi->fh points to one.  Three kinds:
 *  - a reader: bf is the backend's handle;
 *  - a stream writer (O_WRONLY with O_TRUNC, O_CREAT or O_APPEND on a
 *    backend without BCAP_PWRITE): bf streams sequential writes;
 *  - a spooled file (any other write, or a stream writer that saw a
 *    non-sequential write or ftruncate): sp holds a local copy that is
 *    uploaded on flush.  A stream writer turns into one on the spot.
 */
struct fs_file {
	/* Serialises I/O on this handle; taken before ctx->lock. */
	pthread_mutex_t io;
	struct backend_file *bf; /* NULL in spool mode */
	struct spool *sp; /* spool mode, or NULL */
	unsigned flags; /* BO_* given to ->open */
	int werr; /* the handle can no longer write: why (-errno) */
	mode_t mode; /* for a file created through this handle */
	/* Write handles only, all protected by ctx->lock: */
	char *path; /* updated by rename */
	off_t size; /* the file's size as this handle made it */
	bool written; /* a write went through this handle */
	bool unlinked; /* path was removed or replaced: no longer its name */
	/* an upload on this handle may hold a connection until it ends */
	bool uploading;
	unsigned refs; /* held by fs_writers_sync/fs_writer_rename */
	/* chmod/utimens while open: applied again after the last upload */
	bool pend_mode_set;
	mode_t pend_mode;
	bool pend_mtime_set;
	struct timespec pend_mtime;
	struct fs_file *next; /* ctx->writers */
	/* Readers: READs in a row the pipe could not hold (fs_read_buf). */
	atomic_uint pipe_misses;
};

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
