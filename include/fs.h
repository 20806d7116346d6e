/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fs: the FUSE high-level operations, translated into calls on a struct
 * backend.  Knows nothing about FTP: every error is the backend's negative
 * errno passed straight through.
 *
 * Ownership: main.c owns the backend and the fs_ctx; it passes the ctx as
 * fuse_new()'s private_data, runs the loop, calls fuse_destroy() and only
 * then destroys the backend and calls fs_ctx_fini().  fs.c never destroys
 * the backend.
 *
 * Threads: the operations run on many FUSE threads at once.  The settings
 * below are written by main before the loop starts and only read after;
 * the table of open write handles is protected by ctx->lock.
 */
#ifndef FTPFS_FS_H
#define FTPFS_FS_H

/* Every file including <fuse.h> includes this header first. */
#ifndef FUSE_USE_VERSION
#define FUSE_USE_VERSION 31
#endif

#include <fuse.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <sys/types.h>
#include <time.h>

#include "backend.h"
#include "fahead.h"
#include "walk.h"

/*
 * Readahead in KiB: asked for at INIT (max_readahead) and, when main.c may
 * (root), set as the mount's read_ahead_kb; sequential READs come in this
 * size.  Not 1 MiB: a READ is spliced (fs.c) only if it fits, with its
 * header, a 1 MiB pipe of 256 slots, and a slot holds less than a page of
 * what a socket delivers (~3.8 KiB measured on loopback with vsftpd,
 * ProFTPD and pyftpdlib, which sendfile): 896 KiB takes ~236 slots.
 */
#define FS_READAHEAD_KB 896

struct fs_file;
struct fs_hide;

struct fs_ctx {
	struct backend *be; /* not owned */
	struct walk
	    *walk; /* listings ahead of tree walks (walk.h); not owned */
	struct fahead
	    *fahead; /* small files read ahead (fahead.h); not owned */

	/*
	 * Kernel attribute/entry/negative timeout in seconds, normally the
	 * cache timeout.  Not applied when the user set attr_timeout=,
	 * entry_timeout= or negative_timeout= himself (kernel_timeouts).
	 */
	double cache_timeout;
	bool kernel_timeouts;
	/* The user chose kernel_cache or [no]auto_cache: leave it alone. */
	bool kernel_cache_mode;

	uid_t uid; /* owner reported for every file */
	gid_t gid;
	bool remote_ids; /* idmap=none: the server's ids when known */
	/*
	 * -o strict_times: a directory time the server cannot set fails
	 * utimensat (ENOTSUP/EPERM).  Without it that is accepted with one
	 * log line, as rsync -a and tar x need (dir_times_logged).
	 */
	bool strict_times;
	/* -o timeout: each FUSE request's deadline (net_op_begin), ms */
	int op_timeout_ms;
	int dir_times_logged;
	mode_t umask; /* applied to permissions the listing lacks */
	time_t mount_time; /* mtime of entries without one */

	/* Local copies of files rewritten in place (spool.h); owned. */
	char *spool_dir;

	/*
	 * Reads of plain reader handles go from the backend through a pipe
	 * to the kernel (->read_pipe, FUSE_CAP_SPLICE_WRITE): decided in
	 * fs_init, before any read.  pipe_key holds each FUSE thread's pipe.
	 */
	bool splice_read;
	pthread_key_t pipe_key;

	/*
	 * Lock order: an append gate (fs_gate_enter, a wait, not a lock),
	 * then a handle's io, then ctx->lock; nothing is called into the
	 * backend with ctx->lock held.
	 */
	pthread_mutex_t lock;
	/*
	 * Serialises setting a mode or time on the server with re-applying
	 * those noted on open files (fs_apply_pending); taken before lock,
	 * never with a handle's io held.
	 */
	pthread_mutex_t attr_lock;
	pthread_cond_t unref; /* a handle's refs dropped, or a gate freed */
	struct fs_file *files; /* every open handle, protected by lock */
	/* names hidden by libfuse whose removal is pending (fs_files.c) */
	struct fs_hide *hides; /* protected by lock */
	/* taken off hides, their DELE on its way (protected by lock) */
	unsigned hides_busy;
	/* hides + hides_busy: read without the lock */
	atomic_uint hides_pending;
	/* removes them shortly after, unless claimed (fs_files.c) */
	pthread_t settler;
	bool settler_running; /* protected by lock */
	bool settler_stop; /* protected by lock */
	/* a hide was added or removed, or stop (with lock) */
	pthread_cond_t hide_cond;
};

/*
 * Defaults: no backend yet (set ->be before the loop starts), the calling
 * user's ids, umask 022, timeout 20 s, spool directory /var/tmp/ftpfs-UID.
 * 0 or -errno.
 */
int fs_ctx_init(struct fs_ctx *ctx);
/* All handles must be released (fuse_destroy() does that). */
void fs_ctx_fini(struct fs_ctx *ctx);

/* The operation table for fuse_new(); its private_data is a fs_ctx. */
const struct fuse_operations *fs_operations(void);

#endif
