/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fs_write: opening files, and everything that changes their content
 * (write, truncate, flush, release).  How an open writes is decided by
 * write_plan_open() (write_plan.h); the handles are in the registry of
 * fs_files.c.  Contract in fs_file.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fs_file.h"
#include "log.h"
#include "spool.h"

/* A fresh answer from the server, past the cache (0 or -errno). */
static int
fs_stat_fresh(struct fs_ctx *ctx, const char *path, struct backend_attr *a)
{
	struct backend *be = ctx->be;

	memset(a, 0, sizeof(*a));
	if (be->ops->stat_now != NULL)
		return be->ops->stat_now(be, path, a);
	return be->ops->stat(be, path, a);
}

/*
 * A local copy is uploaded beside the file and renamed over it, which
 * only needs the directory to be writable: ask whether the file itself is
 * before changing it that way, as open(2) and truncate(2) would.
 */
static int
fs_may_write(struct fs_ctx *ctx, const char *path)
{
	struct backend *be = ctx->be;

	if (be->ops->access == NULL)
		return 0;
	return be->ops->access(be, path, W_OK);
}

/*
 * A spool of path's current content, which must not have changed on the
 * server when it is uploaded (spool_set_base): measured now, fresh.
 */
static int
fs_spool_fetching(
    struct fs_ctx *ctx, const char *path, mode_t mode, struct spool **out)
{
	struct backend_attr a;
	int rc;

	rc = fs_stat_fresh(ctx, path, &a);
	if (rc < 0)
		return rc;
	if ((a.valid & BA_MODE_TYPE) && S_ISDIR(a.mode))
		return -EISDIR;
	if (mode == 0 && (a.valid & BA_MODE_PERM))
		mode = S_IFREG | (a.mode & 07777); /* known, even 0000 */
	rc = spool_open(ctx->be, path, (a.valid & BA_SIZE) ? a.size : 0, mode,
	    ctx->spool_dir, out);
	if (rc == 0 && (a.valid & BA_SIZE))
		spool_set_base(
		    *out, a.size, (a.valid & BA_MTIME) != 0, a.mtime);
	return rc;
}

void
fs_file_detach_locked(struct fs_ctx *ctx, struct fs_file *f)
{
	struct backend *be = ctx->be;

	pthread_mutex_lock(&ctx->lock);
	f->gone = true;
	f->detached = true;
	f->uploading = false;
	f->pend_mode_set = false;
	f->pend_mtime_set = false;
	pthread_mutex_unlock(&ctx->lock);
	if (f->sp != NULL)
		spool_detach(f->sp);
	/*
	 * A reader's handle is used without f->io (fs_read): it stays until
	 * the release; fs_read sees f->detached and stops using it.
	 */
	if (f->bf != NULL && (f->flags & BO_WRITE)) {
		if (be->ops->abandon != NULL)
			be->ops->abandon(be, f->bf);
		else
			be->ops->release(be, f->bf);
		f->bf = NULL;
	}
	f->werr = 0; /* what it writes now goes nowhere, as on a local fs */
}

/*
 * f->sp and f->how change with both f->io and ctx->lock held, so the
 * handle's own thread reads them under f->io, everyone else under
 * ctx->lock (fs_files_spool_of shares a spool between handles).
 */
static void
fs_file_set_spool(
    struct fs_ctx *ctx, struct fs_file *f, struct spool *sp, enum write_how how)
{
	pthread_mutex_lock(&ctx->lock);
	f->sp = sp;
	f->how = how;
	pthread_mutex_unlock(&ctx->lock);
}

/*
 * Turn a stream writer into a spooled file: end the stream (the server
 * then holds every byte written so far, confirmed), and continue on a
 * local copy whose first f->size bytes are fetched back only if needed.
 * f->io held.
 */
static int
fs_to_spool(struct fs_ctx *ctx, struct fs_file *f)
{
	struct backend *be = ctx->be;
	struct spool *sp = NULL;
	char *path;
	int rc;

	rc = be->ops->release(be, f->bf);
	f->bf = NULL;
	fs_set_uploading(ctx, f, false);
	path = fs_file_path(ctx, f);
	if (rc == 0 && path == NULL)
		rc = -ENOMEM; /* detached ones never get here */
	if (rc == 0 && f->how == WH_APPEND)
		rc = fs_may_write(ctx, path); /* ours to rewrite? */
	if (rc == 0) {
		log_debug("%s: continuing on a local copy", path);
		if (f->how == WH_STREAM)
			fs_files_uploaded(ctx, f);
		/* the file's other handles may have a copy already */
		if (f->how != WH_APPEND)
			sp = fs_files_spool_of(ctx, path);
		if (sp == NULL)
			rc = fs_spool_fetching(ctx, path, f->mode, &sp);
	}
	free(path);
	if (rc < 0)
		f->werr = rc;
	else
		fs_file_set_spool(
		    ctx, f, sp, f->how == WH_STREAM ? WH_SPOOL : f->how);
	return rc;
}

/* f's writes reached the server: true if there were any since last time. */
static bool
fs_file_clean(struct fs_ctx *ctx, struct fs_file *f)
{
	bool was;

	pthread_mutex_lock(&ctx->lock);
	was = f->dirty;
	f->dirty = false;
	pthread_mutex_unlock(&ctx->lock);
	return was;
}

int
fs_file_flush(struct fs_ctx *ctx, struct fs_file *f)
{
	struct backend *be = ctx->be;
	int rc = 0;

	if (!(f->flags & BO_WRITE) || f->detached)
		return 0;
	if (f->werr < 0)
		return f->werr;
	if (f->sp != NULL && spool_dirty(f->sp) && fs_file_conflict(ctx, f))
		return spool_refuse(f->sp,
		    "another handle of this mount "
		    "uploaded it since it was opened");
	if (f->sp != NULL)
		rc = spool_flush(f->sp);
	else if (f->bf != NULL && be->ops->flush != NULL)
		rc = be->ops->flush(be, f->bf);
	if (rc == 0 && fs_file_clean(ctx, f))
		fs_files_uploaded(ctx, f);
	/* An append's turn at the gate ends with its confirmed upload. */
	if (f->how == WH_APPEND && rc <= 0) {
		if (f->sp != NULL) {
			int rc2 = spool_close(f->sp);

			fs_file_set_spool(ctx, f, NULL, WH_APPEND);
			if (rc == 0)
				rc = rc2;
		}
		fs_gate_leave(ctx, f);
	}
	if (rc < 0 && f->how == WH_APPEND)
		f->werr = rc;
	return rc;
}

/* O_* -> BO_* */
static unsigned
fs_open_flags(int oflags)
{
	unsigned flags = 0;

	switch (oflags & O_ACCMODE) {
	case O_RDONLY:
		flags = BO_READ;
		break;
	case O_WRONLY:
		flags = BO_WRITE;
		break;
	default:
		flags = BO_READ | BO_WRITE;
		break;
	}
	if (flags & BO_WRITE) {
		if (oflags & O_TRUNC)
			flags |= BO_TRUNC;
		if (oflags & O_APPEND)
			flags |= BO_APPEND;
		if (oflags & O_CREAT)
			flags |= BO_CREATE;
		if (oflags & O_EXCL)
			flags |= BO_EXCL;
	}
	return flags;
}

static void
fs_file_free(struct fs_file *f)
{
	fahead_put(fs_ctx()->fahead, f->ab);
	pthread_mutex_destroy(&f->io);
	free(f->path);
	free(f);
}

/* Start the spool of a WH_SPOOL open (and empty the file if asked). */
static int
fs_open_spool(struct fs_ctx *ctx, struct fs_file *f, const char *path,
    const struct write_plan *wp, bool exists)
{
	struct backend *be = ctx->be;
	struct timespec none = { 0, 0 };
	int rc;

	if (wp->check_writable) {
		rc = fs_may_write(ctx, path);
		if (rc < 0)
			return rc;
	}
	/*
	 * One copy per file in the mount, as a local file's content is one
	 * for all its descriptors: each sees the others' writes, and their
	 * uploads never overwrite each other.
	 */
	f->sp = fs_files_spool_of(ctx, path);
	if (f->sp != NULL) {
		rc = 0;
		if (wp->flags & BO_TRUNC)
			rc = spool_truncate(f->sp, 0);
		if (rc < 0) {
			spool_close(f->sp);
			f->sp = NULL;
		}
		return rc;
	}
	if (wp->spool_fetch)
		return fs_spool_fetching(ctx, path, f->mode, &f->sp);
	/* O_TRUNC/O_CREAT: the server shows an empty file at once. */
	if (wp->truncate_first && be->ops->truncate != NULL) {
		rc = be->ops->truncate(be, path, 0);
		if (rc < 0)
			return rc;
		if (!exists && be->ops->chmod != NULL && f->mode != 0)
			be->ops->chmod(be, path, f->mode & 07777);
	}
	rc = spool_open(be, path, 0, f->mode, ctx->spool_dir, &f->sp);
	if (rc == 0 && wp->truncate_first)
		spool_set_base(f->sp, 0, false, none);
	return rc;
}

/*
 * The kernel opens (FUSE open, not create) only a name it believes exists:
 * one it looked up or listed, maybe before another client removed it.
 * When the open finds the file gone on the server, that name is stale:
 * forget it and say ESTALE, and the kernel looks the name up again past
 * its own caches (LOOKUP_REVAL) and opens what it finds then, once:
 * nothing for cat (ENOENT), a new file for "> f" and dd of=f (their
 * O_CREAT), which would otherwise fail on a name it still holds.
 */
static int
fs_open_stale(struct fs_ctx *ctx, const char *path)
{
	struct backend *be = ctx->be;

	if (be->ops->invalidate != NULL)
		be->ops->invalidate(be, path);
	fahead_forget(ctx->fahead, path);
	log_debug("open %s: gone from the server since it was listed", path);
	return -ESTALE;
}

static int
fs_open_common(
    const char *path, unsigned flags, mode_t mode, struct fuse_file_info *fi)
{
	struct fs_ctx *ctx = fs_ctx();
	struct backend *be = ctx->be;
	struct write_plan_in in = { .flags = flags, .caps = be->caps };
	struct write_plan wp;
	struct backend_attr a;
	struct fs_wview wv;
	struct fs_file *f;
	int64_t known_size = -1;
	int rc;

	if (path == NULL)
		return -ESTALE;
	fs_hides_settle(ctx);
	if ((flags & BO_WRITE) && be->ops->write == NULL)
		return -EROFS;
	/* A new reader sees what open writers wrote so far (and its size). */
	if (!(flags & BO_WRITE))
		fs_writers_sync(ctx, path);
	memset(&a, 0, sizeof(a));
	if ((flags & BO_CREATE) && (flags & BO_TRUNC) && !(flags & BO_READ)) {
		/* Replaced whatever is there: no need to ask (cp, "> f"). */
		rc = -ENOENT;
	} else {
		rc = be->ops->stat(be, path, &a);
		/*
		 * A create that would not truncate must not take a file
		 * another client made for a missing one (a cached answer):
		 * the stream it starts would empty it.
		 */
		if (rc == -ENOENT && (flags & BO_CREATE) &&
		    (flags & BO_WRITE) && !(flags & BO_APPEND))
			rc = fs_stat_fresh(ctx, path, &a);
	}
	if (rc < 0 && rc != -ENOENT)
		return rc;
	if (rc == -ENOENT && !(flags & BO_CREATE))
		return fs_open_stale(ctx, path);
	in.exists = rc == 0;
	in.is_dir = in.exists && (a.valid & BA_MODE_TYPE) && S_ISDIR(a.mode);
	rc = write_plan_open(&in, &wp);
	if (rc < 0)
		return rc;
	if (in.exists && (a.valid & BA_SIZE) && !(wp.flags & BO_TRUNC))
		known_size = (int64_t)a.size;
	else if (!in.exists || (wp.flags & BO_TRUNC))
		known_size = 0;

	f = calloc(1, sizeof(*f));
	if (f == NULL)
		return -ENOMEM;
	pthread_mutex_init(&f->io, NULL);
	f->how = wp.how;
	f->flags = wp.flags;
	if (!in.exists)
		f->flags |= BO_NEW;
	/* S_IFREG marks a known mode: 0000 is one, 0 alone is "unknown". */
	if (in.exists)
		f->mode =
		    (a.valid & BA_MODE_PERM) ? S_IFREG | (a.mode & 07777) : 0;
	else
		f->mode = S_IFREG | (mode & 07777);
	f->attr = a;
	if (!in.exists || (wp.flags & BO_TRUNC)) {
		f->attr.valid |= BA_MODE_TYPE | BA_MODE_PERM | BA_SIZE;
		f->attr.mode = S_IFREG | f->mode;
		f->attr.size = 0;
	}
	f->path = strdup(path);
	if (f->path == NULL) {
		fs_file_free(f);
		return -ENOMEM;
	}
	if (known_size > 0)
		f->size = (off_t)known_size;
	atomic_init(&f->known_end, known_size);

	if (flags & BO_WRITE) {
		/* changes from now on (also to what readers hold) */
		fahead_written(ctx->fahead, path);
		fahead_forget(ctx->fahead, path);
	} else if (in.exists && !in.is_dir && !fs_writer_find(ctx, path, &wv)) {
		f->ab =
		    fahead_open(ctx->fahead, path, &a, fuse_get_context()->pid);
		if (f->ab == NULL && !(flags & BO_WRITE))
			f->ab = fahead_fetch_now(ctx->fahead, path, &a);
	}
	if (f->ab != NULL) {
		rc = 0; /* read ahead: no request at all */
	} else if (wp.how == WH_SPOOL) {
		rc = fs_open_spool(ctx, f, path, &wp, in.exists);
	} else {
		rc = be->ops->open(
		    be, path, f->flags, f->mode, known_size, &f->bf);
		if (rc == -ESPIPE && wp.how == WH_APPEND) {
			/*
			 * Appends through local copies, at each write; a
			 * missing file is made (empty) now, as open(2) would.
			 */
			f->bf = NULL;
			rc = 0;
			if (!in.exists &&
			    fs_stat_fresh(ctx, path, &a) == -ENOENT &&
			    be->ops->truncate != NULL)
				rc = be->ops->truncate(be, path, 0);
		}
		/*
		 * A file this stream creates gets its mode once the upload
		 * is done, like any chmod made while it is open (the backend
		 * cannot apply it sooner unless BCAP_CREATE_MODE).
		 */
		if (rc == 0 && (flags & BO_WRITE) && !in.exists &&
		    !(be->caps & BCAP_CREATE_MODE) && f->mode != 0) {
			f->pend_mode = f->mode & 07777;
			f->pend_mode_set = true;
		}
	}
	if (rc == -ENOENT && in.exists)
		rc = fs_open_stale(ctx, path);
	if (rc < 0) {
		fs_file_free(f);
		return rc;
	}
	/*
	 * Without a known size the kernel would clip reads at the i_size it
	 * has (0): read around the page cache until the backend says EOF.
	 */
	if ((flags & BO_READ) && known_size < 0)
		fi->direct_io = 1;
	/* Our own writes change the file: never trust its old pages. */
	if (flags & BO_WRITE) {
		fi->keep_cache = 0;
		f->uploading = wp.how == WH_STREAM; /* its STOR started */
	}
	fs_files_add(ctx, f);
	fi->fh = (uint64_t)(uintptr_t)f;
	return 0;
}

int
fs_open(const char *path, struct fuse_file_info *fi)
{
	return fs_open_common(path, fs_open_flags(fi->flags), 0644, fi);
}

int
fs_create(const char *path, mode_t mode, struct fuse_file_info *fi)
{
	return fs_open_common(
	    path, fs_open_flags(fi->flags) | BO_WRITE | BO_CREATE, mode, fi);
}

/*
 * An append's turn: where the server refuses APPE, a local copy of the
 * file as it is now, for this turn at the gate.  f->io held, gate held.
 */
static int
fs_append_spool(struct fs_ctx *ctx, struct fs_file *f)
{
	char *path = fs_file_path(ctx, f);
	struct backend_attr a;
	struct timespec none = { 0, 0 };
	struct spool *sp = NULL;
	int rc;

	if (path == NULL)
		return -ENOMEM;
	rc = fs_stat_fresh(ctx, path, &a);
	if (rc == -ENOENT) {
		rc = spool_open(ctx->be, path, 0, f->mode, ctx->spool_dir, &sp);
		if (rc == 0)
			spool_set_base(sp, 0, false, none);
	} else if (rc == 0) {
		rc = fs_may_write(ctx, path);
		if (rc == 0)
			rc = fs_spool_fetching(ctx, path, f->mode, &sp);
	}
	free(path);
	if (rc == 0)
		fs_file_set_spool(ctx, f, sp, WH_APPEND);
	return rc;
}

/* One write on a stream, an append or a spool; f->io held. */
static ssize_t
fs_write_locked(struct fs_ctx *ctx, struct fs_file *f, const char *buf,
    size_t size, off_t off)
{
	struct backend *be = ctx->be;
	ssize_t n;
	int rc;

	if (f->werr < 0)
		return f->werr;
	if (f->detached && f->sp == NULL)
		return (ssize_t)size; /* a write-only file with no name */
	if (f->how == WH_APPEND && f->sp == NULL && f->bf == NULL) {
		rc = fs_append_spool(ctx, f);
		if (rc < 0)
			return rc;
	}
	if (f->sp == NULL) {
		n = be->ops->write(be, f->bf, buf, size, off);
		if (n != -ESPIPE || (be->caps & BCAP_PWRITE))
			return n;
		rc = fs_to_spool(ctx, f);
		if (rc < 0)
			return rc;
	}
	if (f->how == WH_APPEND) /* O_APPEND: always at the end */
		off = (off_t)spool_size(f->sp);
	return spool_write(f->sp, buf, size, off);
}

/* Take f's path's append gate with f->io held (f->io returned held). */
static void
fs_gate_lock(struct fs_ctx *ctx, struct fs_file *f)
{
	bool held;

	for (;;) {
		fs_gate_enter(ctx, f);
		pthread_mutex_lock(&f->io);
		pthread_mutex_lock(&ctx->lock);
		held = f->gate || f->detached;
		pthread_mutex_unlock(&ctx->lock);
		if (held)
			return;
		pthread_mutex_unlock(&f->io); /* handed over meanwhile */
	}
}

int
fs_write(const char *path, const char *buf, size_t size, off_t off,
    struct fuse_file_info *fi)
{
	struct fs_ctx *ctx = fs_ctx();
	struct fs_file *f = fs_file_of(fi);
	size_t done = 0;
	ssize_t n;

	if (!(f->flags & BO_WRITE))
		return -EBADF;
	fs_hides_settle(ctx);
	if (size > INT_MAX)
		size = INT_MAX;
	if (f->how == WH_APPEND)
		fs_gate_lock(ctx, f);
	else
		pthread_mutex_lock(&f->io);
	/* A write on a stream (re)starts its upload: see fs_writers_note. */
	if (f->sp == NULL && f->bf != NULL)
		fs_set_uploading(ctx, f, true);
	while (done < size) {
		n = fs_write_locked(
		    ctx, f, buf + done, size - done, off + (off_t)done);
		if (n < 0) {
			if (done > 0)
				break;
			pthread_mutex_unlock(&f->io);
			return (int)n;
		}
		if (n == 0)
			break;
		done += (size_t)n;
	}
	pthread_mutex_lock(&ctx->lock);
	if (f->how == WH_APPEND)
		f->size += (off_t)done;
	else if (f->sp != NULL)
		f->size = (off_t)spool_size(f->sp);
	else if (off + (off_t)done > f->size)
		f->size = off + (off_t)done;
	if (done > 0)
		f->written = f->dirty = true;
	pthread_mutex_unlock(&ctx->lock);
	pthread_mutex_unlock(&f->io);
	return done > 0 || size == 0 ? (int)done : -EIO;
}

/* ftruncate(2) on an open write handle. */
static int
fs_truncate_open(struct fs_ctx *ctx, struct fs_file *f, off_t size)
{
	struct backend *be = ctx->be;
	char *path;
	int rc;

	pthread_mutex_lock(&f->io);
	rc = f->werr;
	if (rc < 0)
		goto out;
	if (fs_file_detached(ctx, f)) {
		/* No name on the server: only what this handle holds changes
		 * (its local copy, if any; what fstat says). */
	} else if (f->sp == NULL && f->how == WH_PWRITE &&
	    be->ops->truncate != NULL) {
		/* Writes still in flight land first, then the cut. */
		if (f->bf != NULL && be->ops->ftruncate != NULL) {
			rc = be->ops->ftruncate(be, f->bf, size);
		} else {
			if (f->bf != NULL && be->ops->flush != NULL)
				rc = be->ops->flush(be, f->bf);
			path = fs_file_path(ctx, f);
			if (rc >= 0)
				rc = path != NULL
				    ? be->ops->truncate(be, path, size)
				    : -ENOMEM;
			free(path);
		}
	} else if (f->sp == NULL) {
		pthread_mutex_lock(&ctx->lock);
		if (size == f->size && f->how != WH_APPEND)
			rc = 1; /* nothing to do (often 0 after O_TRUNC) */
		pthread_mutex_unlock(&ctx->lock);
		if (rc == 0)
			rc = fs_to_spool(ctx, f);
	}
	if (rc == 0 && f->sp != NULL)
		rc = spool_truncate(f->sp, size);
	if (rc >= 0) {
		pthread_mutex_lock(&ctx->lock);
		f->size = size;
		f->written = f->dirty = true;
		pthread_mutex_unlock(&ctx->lock);
		rc = 0;
	}
out:
	pthread_mutex_unlock(&f->io);
	return rc;
}

static int fs_truncate_path(struct fs_ctx *ctx, const char *path, off_t size);

/*
 * ftruncate(2) of an O_APPEND handle: what it appended goes to the server
 * first, then the file is cut there like a closed one; its later writes
 * append to the new end.
 */
static int
fs_truncate_append(struct fs_ctx *ctx, struct fs_file *f, off_t size)
{
	char *path;
	int rc;

	pthread_mutex_lock(&f->io);
	rc = f->werr;
	if (rc == 0 && !f->detached)
		rc = fs_file_flush(ctx, f);
	pthread_mutex_unlock(&f->io);
	if (rc < 0 || fs_file_detached(ctx, f))
		return rc < 0 ? rc : 0;
	path = fs_file_path(ctx, f);
	if (path == NULL)
		return -ENOMEM;
	rc = fs_truncate_path(ctx, path, size);
	free(path);
	if (rc == 0) {
		pthread_mutex_lock(&ctx->lock);
		f->size = size;
		pthread_mutex_unlock(&ctx->lock);
	}
	return rc;
}

int
fs_truncate(const char *path, off_t size, struct fuse_file_info *fi)
{
	struct fs_ctx *ctx = fs_ctx();
	struct fs_file *f;

	if (size < 0)
		return -EINVAL;
	fs_hides_settle(ctx);
	if (fi != NULL && (f = fs_file_of(fi)) != NULL && (f->flags & BO_WRITE))
		return f->how == WH_APPEND ? fs_truncate_append(ctx, f, size)
		                           : fs_truncate_open(ctx, f, size);
	if (path == NULL)
		return -ESTALE;
	return fs_truncate_path(ctx, path, size);
}

/* truncate(2) of a closed file (or on behalf of an append handle). */
static int
fs_truncate_path(struct fs_ctx *ctx, const char *path, off_t size)
{
	struct backend *be = ctx->be;
	struct spool *sp = NULL;
	int rc;

	if (be->ops->truncate == NULL)
		return -EROFS;
	rc = be->ops->truncate(be, path, size);
	if (rc == -ENOTSUP && !(be->caps & BCAP_PWRITE)) {
		/* Only emptying is native: copy, cut or extend, upload. */
		rc = fs_may_write(ctx, path);
		if (rc == 0)
			rc = fs_spool_fetching(ctx, path, 0, &sp);
		if (rc < 0)
			return rc;
		rc = spool_truncate(sp, size);
		if (rc < 0) {
			spool_close(sp);
			return rc;
		}
		rc = spool_close(sp);
	}
	if (rc == 0)
		fs_files_truncated(ctx, path, size);
	return rc;
}

/* close(2) reports this. */
int
fs_flush(const char *path, struct fuse_file_info *fi)
{
	struct fs_ctx *ctx = fs_ctx();
	struct fs_file *f = fs_file_of(fi);
	int rc;

	fs_hides_settle(ctx);
	if (!(f->flags & BO_WRITE))
		return 0;
	pthread_mutex_lock(&f->io);
	rc = fs_file_flush(ctx, f);
	if (rc == 0)
		fs_set_uploading(ctx, f, false);
	pthread_mutex_unlock(&f->io);
	/*
	 * close(2) returns before FUSE's release arrives: what was set on
	 * the open file must be back on the server by now, not later - once
	 * the upload is done (1: a STOR that has carried nothing stays open
	 * until the release, which applies them after it).
	 */
	if (rc == 0)
		fs_apply_pending(ctx, f);
	return rc > 0 ? 0 : rc;
}

/*
 * What close(2) does, then, where the backend can, the server's own fsync
 * of the file (FTP has none: its confirmed upload is all there is).
 */
int
fs_fsync(const char *path, int datasync, struct fuse_file_info *fi)
{
	struct fs_ctx *ctx = fs_ctx();
	struct backend *be = ctx->be;
	struct fs_file *f = fs_file_of(fi);
	int rc;

	rc = fs_flush(path, fi);
	if (rc == 0 && !(f->flags & BO_WRITE)) {
		/* As on a local disk, fsync of any descriptor pushes what
		   the file's writers wrote (their own close reports their
		   errors). */
		char *p = fs_file_path(ctx, f);

		if (p != NULL) {
			fs_writers_sync(ctx, p);
			free(p);
		}
		return 0;
	}
	if (rc < 0 || be->ops->fsync == NULL)
		return rc;
	pthread_mutex_lock(&f->io);
	if (!f->detached && f->sp == NULL && f->bf != NULL)
		rc = be->ops->fsync(be, f->bf);
	pthread_mutex_unlock(&f->io);
	return rc;
}

int
fs_release(const char *path, struct fuse_file_info *fi)
{
	struct fs_ctx *ctx = fs_ctx();
	struct fs_file *f = fs_file_of(fi);
	struct spool *sp;
	int rc = 0;

	/*
	 * A writer stays in the registry until its last upload is done and
	 * what was noted meanwhile is re-applied: a chmod arriving during
	 * the release is then noted (and re-applied here) or comes after it.
	 */
	pthread_mutex_lock(&f->io);
	sp = f->sp;
	if (sp != NULL)
		fs_file_set_spool(ctx, f, NULL, f->how); /* no longer shared */
	if ((f->flags & BO_WRITE) && sp != NULL && spool_dirty(sp) &&
	    fs_file_conflict(ctx, f))
		rc = spool_refuse(sp,
		    "another handle of this mount "
		    "uploaded it since it was opened");
	if (sp != NULL) {
		int rc2 = spool_close(sp);

		if (rc == 0)
			rc = rc2;
	} else if (f->bf != NULL) {
		rc = ctx->be->ops->release(ctx->be, f->bf);
	}
	if (f->rbf != NULL) /* a read-only handle: nothing to confirm */
		(void)ctx->be->ops->release(ctx->be, f->rbf);
	f->rbf = NULL;
	if (rc == 0 && (f->flags & BO_WRITE) && !f->detached &&
	    fs_file_clean(ctx, f))
		fs_files_uploaded(ctx, f);
	f->bf = NULL; /* a writers_sync waiting for f->io finds nothing */
	if (f->flags & BO_WRITE)
		fs_set_uploading(ctx, f, false);
	pthread_mutex_unlock(&f->io);
	if (rc < 0)
		log_warn("%s: closing: %s", path != NULL ? path : "(unlinked)",
		    strerror(-rc));
	if (rc == 0 && (f->flags & BO_WRITE))
		fs_apply_pending(ctx, f);
	fs_files_remove(ctx, f);
	fs_file_free(f);
	return rc;
}
