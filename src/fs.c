/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fs: FUSE operations -> backend calls (contract in include/fs.h). */
#include "fs.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fs_file.h"
#include "log.h"
#include "spool.h"

#define FS_BLKSIZE (128 * 1024) /* st_blksize: what cp/dd use per read */

int
fs_ctx_init(struct fs_ctx *ctx)
{
	int rc;

	memset(ctx, 0, sizeof(*ctx));
	ctx->cache_timeout = 20;
	ctx->uid = getuid();
	ctx->gid = getgid();
	ctx->umask = 022;
	ctx->mount_time = time(NULL);
	if (asprintf(&ctx->spool_dir, "/var/tmp/ftpfs-%u", (unsigned)ctx->uid) <
	    0)
		return -ENOMEM;
	rc = pthread_mutex_init(&ctx->lock, NULL);
	if (rc == 0)
		rc = pthread_cond_init(&ctx->unref, NULL);
	return -rc;
}

void
fs_ctx_fini(struct fs_ctx *ctx)
{
	fs_splice_fini(ctx);
	pthread_cond_destroy(&ctx->unref);
	pthread_mutex_destroy(&ctx->lock);
	free(ctx->spool_dir);
	ctx->spool_dir = NULL;
}

/* Is f a write handle on path (ctx->lock held)? */
static bool
fs_writer_is(const struct fs_file *f, const char *path)
{
	return !f->unlinked && strcmp(f->path, path) == 0;
}

/* path was removed or replaced: its write handles write to no name. */
static void
fs_writers_unlinked(struct fs_ctx *ctx, const char *path)
{
	struct fs_file *f;

	pthread_mutex_lock(&ctx->lock);
	for (f = ctx->writers; f != NULL; f = f->next)
		if (fs_writer_is(f, path))
			f->unlinked = true;
	pthread_mutex_unlock(&ctx->lock);
}

/*
 * Write handles are kept in a list so that stat() of a file being written
 * answers with the bytes written so far, and so that the stat libfuse does
 * right after create() finds the file even before the server lists it.
 */
static void
fs_writer_add(struct fs_ctx *ctx, struct fs_file *f)
{
	pthread_mutex_lock(&ctx->lock);
	f->next = ctx->writers;
	ctx->writers = f;
	pthread_mutex_unlock(&ctx->lock);
}

static void
fs_writer_remove(struct fs_ctx *ctx, struct fs_file *f)
{
	struct fs_file **pp;

	pthread_mutex_lock(&ctx->lock);
	for (pp = &ctx->writers; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == f) {
			*pp = f->next;
			break;
		}
	}
	while (f->refs > 0)
		pthread_cond_wait(&ctx->unref, &ctx->lock);
	pthread_mutex_unlock(&ctx->lock);
}

/*
 * chmod or utimens of a file that is open for writing: the upload at
 * close replaces the file (spool) or touches it last (stream), so the
 * attribute is applied again after it.  True when an upload of path is in
 * progress on a stream: then the attribute waits for its end instead of
 * being set now, as setting it needs a second connection, which a server
 * allowing one per user never gives while the upload holds the first
 * (touch, cp -p on such a server would hang).
 */
static bool
fs_writers_note(struct fs_ctx *ctx, const char *path, const mode_t *mode,
    const struct timespec *mtime)
{
	struct fs_file *f;
	bool deferred = false;

	pthread_mutex_lock(&ctx->lock);
	for (f = ctx->writers; f != NULL; f = f->next) {
		if (!fs_writer_is(f, path))
			continue;
		if (f->uploading)
			deferred = true;
		if (mode != NULL) {
			f->pend_mode = *mode;
			f->pend_mode_set = true;
		}
		if (mtime != NULL) {
			f->pend_mtime = *mtime;
			f->pend_mtime_set = true;
		}
	}
	pthread_mutex_unlock(&ctx->lock);
	return deferred;
}

/* f's upload (if any) is over, or starts (writes on a stream). */
static void
fs_set_uploading(struct fs_ctx *ctx, struct fs_file *f, bool on)
{
	pthread_mutex_lock(&ctx->lock);
	f->uploading = on;
	pthread_mutex_unlock(&ctx->lock);
}

/*
 * Apply chmod/utimens noted while f was open, after an upload that may
 * have undone them.  Each note is applied once: a stale one re-applied
 * later (at release, say) would race with, and undo, a chmod the
 * application makes after close() - rsync's final chmod of its temp file.
 */
static void
fs_apply_pending(struct fs_ctx *ctx, struct fs_file *f, const char *path)
{
	struct backend *be = ctx->be;
	struct timespec mtime;
	bool has_mode, has_mtime;
	mode_t mode;
	int rc;

	pthread_mutex_lock(&ctx->lock);
	has_mode = f->pend_mode_set;
	mode = f->pend_mode;
	has_mtime = f->pend_mtime_set;
	mtime = f->pend_mtime;
	f->pend_mode_set = false;
	f->pend_mtime_set = false;
	if (has_mode)
		f->mode = mode; /* what stat shows until the release */
	pthread_mutex_unlock(&ctx->lock);
	if (path == NULL)
		return; /* unlinked while open: nothing left to set */
	if (has_mode && be->ops->chmod != NULL &&
	    (rc = be->ops->chmod(be, path, mode)) < 0)
		log_warn("%s: chmod %o after the upload: %s", path,
		    (unsigned)mode, strerror(-rc));
	if (has_mtime && be->ops->set_mtime != NULL &&
	    (rc = be->ops->set_mtime(be, path, &mtime)) < 0)
		log_warn("%s: setting the time after the upload: %s", path,
		    strerror(-rc));
}

static int fs_file_flush(struct fs_ctx *ctx, struct fs_file *f);

/* Drop a reference taken (under ctx->lock) on a writer in the list. */
static void
fs_writer_unref(struct fs_ctx *ctx, struct fs_file *f)
{
	pthread_mutex_lock(&ctx->lock);
	f->refs--;
	pthread_cond_broadcast(&ctx->unref);
	pthread_mutex_unlock(&ctx->lock);
}

/*
 * Before a new reader opens path, push what its writers wrote so far to
 * the server, so the reader sees the new contents (a stream writer goes
 * on with APPE afterwards; a spool uploads).
 */
static void
fs_writers_sync(struct fs_ctx *ctx, const char *path)
{
	struct fs_file *found[16], *f;
	size_t n = 0, i;

	pthread_mutex_lock(&ctx->lock);
	for (f = ctx->writers; f != NULL && n < 16; f = f->next) {
		if (fs_writer_is(f, path) && f->written) {
			f->refs++;
			found[n++] = f;
		}
	}
	pthread_mutex_unlock(&ctx->lock);
	for (i = 0; i < n; i++) {
		f = found[i];
		pthread_mutex_lock(&f->io);
		if (fs_file_flush(ctx, f) < 0)
			log_warn("%s: could not push pending writes for a "
			         "reader",
			    path);
		pthread_mutex_unlock(&f->io);
		fs_writer_unref(ctx, f);
	}
}

/* What the write handles on a path will leave there. */
struct fs_wview {
	off_t size; /* written so far (the largest of them) */
	mode_t mode; /* a chmod meanwhile, else created (or found) with */
	bool uploading; /* one is uploading: the server knows less */
	bool mtime_set; /* a utimens meanwhile: mtime */
	struct timespec mtime;
};

/* The writers' view of path; false when no handle writes it. */
static bool
fs_writer_find(struct fs_ctx *ctx, const char *path, struct fs_wview *v)
{
	struct fs_file *f;
	bool found = false;

	memset(v, 0, sizeof(*v));
	pthread_mutex_lock(&ctx->lock);
	for (f = ctx->writers; f != NULL; f = f->next) {
		if (!fs_writer_is(f, path))
			continue;
		if (!found || f->size > v->size)
			v->size = f->size;
		v->mode = f->pend_mode_set ? f->pend_mode : f->mode;
		if (f->pend_mtime_set) {
			v->mtime_set = true;
			v->mtime = f->pend_mtime;
		}
		if (f->uploading)
			v->uploading = true;
		found = true;
	}
	pthread_mutex_unlock(&ctx->lock);
	return found;
}

static void
fs_writer_rename(struct fs_ctx *ctx, const char *from, const char *to)
{
	struct fs_file *found[16], *f;
	size_t n = 0, i;
	char *dup;

	if (strcmp(from, to) != 0)
		fs_writers_unlinked(ctx, to); /* replaced by from */
	pthread_mutex_lock(&ctx->lock);
	for (f = ctx->writers; f != NULL; f = f->next) {
		if (!fs_writer_is(f, from))
			continue;
		dup = strdup(to);
		if (dup == NULL)
			continue; /* stat of the new name merely lags */
		free(f->path);
		f->path = dup;
		if (n < 16) {
			f->refs++;
			found[n++] = f;
		}
	}
	pthread_mutex_unlock(&ctx->lock);
	/* A spool uploads under the file's name: follow the rename. */
	for (i = 0; i < n; i++) {
		f = found[i];
		pthread_mutex_lock(&f->io);
		if (f->sp != NULL && spool_rename(f->sp, to) < 0)
			log_warn("%s: spool keeps the old name", to);
		pthread_mutex_unlock(&f->io);
		fs_writer_unref(ctx, f);
	}
}

static void
fs_fill_stat(
    const struct fs_ctx *ctx, const struct backend_attr *a, struct stat *st)
{
	mode_t type = S_IFREG, perm;

	if (a->valid & BA_MODE_TYPE)
		type = a->mode & S_IFMT;
	if (a->valid & BA_MODE_PERM)
		perm = a->mode & 07777;
	else if (type == S_IFLNK)
		perm = 0777;
	else if (type == S_IFDIR)
		perm = 0777 & ~ctx->umask;
	else
		perm = 0666 & ~ctx->umask;

	memset(st, 0, sizeof(*st));
	st->st_mode = type | perm;
	if (a->valid & BA_NLINK)
		st->st_nlink = a->nlink;
	else
		st->st_nlink = type == S_IFDIR ? 2 : 1;
	st->st_uid = ctx->uid;
	st->st_gid = ctx->gid;
	if (ctx->remote_ids && (a->valid & BA_UID))
		st->st_uid = a->uid;
	if (ctx->remote_ids && (a->valid & BA_GID))
		st->st_gid = a->gid;
	if (a->valid & BA_SIZE)
		st->st_size =
		    a->size > (uint64_t)INT64_MAX ? INT64_MAX : (off_t)a->size;
	st->st_blksize = FS_BLKSIZE;
	st->st_blocks = (st->st_size + 511) / 512;
	if (a->valid & BA_MTIME)
		st->st_mtim = a->mtime;
	else
		st->st_mtim.tv_sec = ctx->mount_time;
	st->st_atim = st->st_mtim;
	st->st_ctim = st->st_mtim;
}

/*
 * Read sizes (libfuse 3.14, kernel 6.18, measured with dd bs=1M):
 *  - max_pages: libfuse answers FUSE_INIT with max_pages = max_write /
 *    page size, and max_write defaults to its receive buffer, 256 pages =
 *    1 MiB.  So one READ may carry 1 MiB; nothing to set.
 *  - max_read: a mount option (-o max_read=N) that can only lower that
 *    limit (and must then match conn->max_read); the default is unlimited.
 *  - readahead: buffered reads reach us as readahead requests, at most
 *    the bdi's read_ahead_kb.  At INIT the kernel sets it to min(current
 *    value, our max_readahead); the current value starts at 128 KiB and
 *    only root can raise it (sysfs).  A larger read(2) does not help: with
 *    the 128 KiB window dd bs=1M arrives as 128 KiB READs.
 *    So we ask for FS_READAHEAD_MAX here, and main.c raises read_ahead_kb
 *    to match before INIT is answered when it runs as root: then dd bs=1M
 *    arrives as 896 KiB READs (not 1 MiB: see FS_READAHEAD_KB).  Without
 *    root they are 128 KiB (an admin may raise read_ahead_kb later; our
 *    max_readahead no longer caps it then).
 *  - direct_io would pass the caller's read size through but loses the
 *    page cache, readahead and the overlap below; not used.
 * FUSE_CAP_ASYNC_READ lets the next readahead request run while the
 * previous one is being answered (2 in flight measured).  Reads then arrive
 * slightly out of order now and then (6 of 2048 per 256 MiB with a 128 KiB
 * window); the backend copes, so it stays on.
 */
static void *
fs_init(struct fuse_conn_info *conn, struct fuse_config *cfg)
{
	struct fs_ctx *ctx = fs_ctx();

	if (!ctx->kernel_timeouts) {
		cfg->attr_timeout = ctx->cache_timeout;
		cfg->entry_timeout = ctx->cache_timeout;
		cfg->negative_timeout = ctx->cache_timeout;
	}
	cfg->use_ino = 0;
	cfg->nullpath_ok = 0;
	/* An unlinked open file must not become a server-side .fuse_hidden */
	cfg->hard_remove = 1;
	/*
	 * Keep the page cache across opens while mtime and size stay the
	 * same: libfuse compares them at open() and clears keep_cache
	 * otherwise.  Remote files change behind our back; this is the
	 * cheapest check that catches it.
	 */
	if (!ctx->kernel_cache_mode)
		cfg->auto_cache = 1;

	if (conn->capable & FUSE_CAP_ASYNC_READ)
		conn->want |= FUSE_CAP_ASYNC_READ;
	if (conn->capable & FUSE_CAP_READDIRPLUS)
		conn->want |= FUSE_CAP_READDIRPLUS;
	/* No writeback cache: our writes must stay sequential streams. */
	conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;
	conn->time_gran = 1000000000; /* servers keep seconds at best */
	fs_splice_init(ctx, conn);
	conn->max_readahead = FS_READAHEAD_MAX;
	log_debug("max_write %u max_read %u max_readahead %u", conn->max_write,
	    conn->max_read, conn->max_readahead);
	return ctx;
}

static int
fs_getattr(const char *path, struct stat *st, struct fuse_file_info *fi)
{
	struct fs_ctx *ctx = fs_ctx();
	struct backend_attr a;
	struct fs_wview w;
	bool writing;
	int rc;

	memset(&a, 0, sizeof(a));
	writing = fs_writer_find(ctx, path, &w);
	/*
	 * While an upload runs, we know better than the server, which may
	 * also have no connection to spare for the question (a server that
	 * allows one per user): answer from the writer (size, mode and a
	 * time set meanwhile are filled in below).
	 */
	if (writing && w.uploading) {
		a.valid = BA_MODE_TYPE | BA_MTIME;
		a.mode = S_IFREG;
		clock_gettime(CLOCK_REALTIME, &a.mtime); /* being written */
		rc = 0;
	} else {
		rc = ctx->be->ops->stat(ctx->be, path, &a);
	}
	if (rc == -ENOENT && writing) {
		/* Created by us, not listed by the server yet. */
		a.valid = BA_MODE_TYPE | BA_MODE_PERM | BA_SIZE;
		a.mode = S_IFREG | (w.mode & 07777);
		rc = 0;
	} else if (rc < 0 && strcmp(path, "/") == 0) {
		/*
		 * The mount root was checked at mount time; some servers
		 * cannot describe the login directory itself.  Failing here
		 * would make the mount point unusable.
		 */
		log_debug(
		    "stat of the root: %s; using defaults", strerror(-rc));
		memset(&a, 0, sizeof(a));
		a.valid = BA_MODE_TYPE;
		a.mode = S_IFDIR;
		rc = 0;
	}
	if (rc < 0)
		return rc;
	fs_fill_stat(ctx, &a, st);
	/* The server's size lags behind a stream being written. */
	if (writing && S_ISREG(st->st_mode)) {
		st->st_size = w.size;
		st->st_blocks = (w.size + 511) / 512;
		/* The server's umask does not decide: the upload will. */
		if (w.mode != 0)
			st->st_mode = S_IFREG | (w.mode & 07777);
		if (w.mtime_set) {
			st->st_mtim = w.mtime;
			st->st_atim = w.mtime;
			st->st_ctim = w.mtime;
		}
	}
	return 0;
}

static int
fs_readlink(const char *path, char *buf, size_t size)
{
	struct backend *be = fs_be();

	if (be->ops->readlink == NULL)
		return -ENOSYS;
	return be->ops->readlink(be, path, buf, size);
}

/*
 * A directory listing taken at opendir() and served from there, so a
 * directory read in many READDIR requests costs one listing and is one
 * consistent snapshot.  rewinddir() (offset 0 again) takes a new one.
 */
struct fs_dir {
	struct backend_dirlist l;
	bool served; /* offset 0 was answered once already */
};

static int
fs_opendir(const char *path, struct fuse_file_info *fi)
{
	struct backend *be = fs_be();
	struct fs_dir *d;
	int rc;

	d = calloc(1, sizeof(*d));
	if (d == NULL)
		return -ENOMEM;
	rc = be->ops->list(be, path, &d->l);
	if (rc < 0) {
		backend_dirlist_free(&d->l);
		free(d);
		return rc;
	}
	fi->fh = (uint64_t)(uintptr_t)d;
	return 0;
}

/*
 * Offsets: 1 is ".", 2 is "..", 3 + i is entry i; each entry carries the
 * offset of the next.  Non-zero offsets matter: libfuse before 3.17 sends
 * READDIRPLUS attributes only in this mode (with offset 0 it tells the
 * kernel to ignore them, and ls -l costs a LOOKUP per entry).
 * Attributes go along only when the entry's type is known; otherwise a
 * later lookup asks instead of caching a guess in the kernel.
 * Known libfuse (<= 3.17) wart: an entry that does not fit the reply is
 * looked up anyway, leaving its node's lookup count one too high; the node
 * then stays in libfuse's table for the life of the mount.  Harmless.
 */
static int
fs_readdir(const char *path, void *buf, fuse_fill_dir_t filler, off_t off,
    struct fuse_file_info *fi, enum fuse_readdir_flags flags)
{
	struct fs_ctx *ctx = fs_ctx();
	struct fs_dir *d = (struct fs_dir *)(uintptr_t)fi->fh;
	struct backend_dirlist fresh = { 0 };
	struct stat st;
	size_t i;
	int rc;

	if (off == 0 && d->served) {
		rc = ctx->be->ops->list(ctx->be, path, &fresh);
		if (rc < 0) {
			backend_dirlist_free(&fresh);
			return rc;
		}
		backend_dirlist_free(&d->l);
		d->l = fresh;
	}
	if (off == 0)
		d->served = true;
	if (off < 1 && filler(buf, ".", NULL, 1, 0))
		return 0;
	if (off < 2 && filler(buf, "..", NULL, 2, 0))
		return 0;
	for (i = off > 3 ? (size_t)off - 3 : 0; i < d->l.count; i++) {
		const struct backend_dirent *e = &d->l.ents[i];
		off_t next = (off_t)i + 4;

		if (!(e->attr.valid & BA_MODE_TYPE)) {
			if (filler(buf, e->name, NULL, next, 0))
				break;
			continue;
		}
		fs_fill_stat(ctx, &e->attr, &st);
		/* What lstat(2) reports for a symlink: its target's length. */
		if (S_ISLNK(st.st_mode) && !(e->attr.valid & BA_SIZE) &&
		    e->link_target != NULL)
			st.st_size = (off_t)strlen(e->link_target);
		if (filler(buf, e->name, &st, next, FUSE_FILL_DIR_PLUS))
			break;
	}
	return 0;
}

static int
fs_releasedir(const char *path, struct fuse_file_info *fi)
{
	struct fs_dir *d = (struct fs_dir *)(uintptr_t)fi->fh;

	backend_dirlist_free(&d->l);
	free(d);
	return 0;
}

static int
fs_mkdir(const char *path, mode_t mode)
{
	struct backend *be = fs_be();

	if (be->ops->mkdir == NULL)
		return -EROFS;
	return be->ops->mkdir(be, path, mode & 07777);
}

static int
fs_unlink(const char *path)
{
	struct backend *be = fs_be();
	int rc;

	if (be->ops->unlink == NULL)
		return -EROFS;
	rc = be->ops->unlink(be, path);
	if (rc == 0)
		fs_writers_unlinked(fs_ctx(), path);
	return rc;
}

static int
fs_rmdir(const char *path)
{
	struct backend *be = fs_be();

	if (be->ops->rmdir == NULL)
		return -EROFS;
	return be->ops->rmdir(be, path);
}

static int
fs_symlink(const char *target, const char *linkpath)
{
	struct backend *be = fs_be();

	if (be->ops->symlink == NULL)
		return -ENOSYS;
	return be->ops->symlink(be, target, linkpath);
}

/* link(2): EPERM where the backend cannot (as on filesystems without). */
static int
fs_link(const char *from, const char *to)
{
	struct backend *be = fs_be();

	if (be->ops->link == NULL)
		return -EPERM;
	return be->ops->link(be, from, to);
}

static int
fs_rename(const char *from, const char *to, unsigned int flags)
{
	struct fs_ctx *ctx = fs_ctx();
	int rc;

	/* FTP has no atomic exchange; anything else unknown is refused. */
	if (flags & ~(unsigned)RENAME_NOREPLACE)
		return -EINVAL;
	if (ctx->be->ops->rename == NULL)
		return -EROFS;
	rc = ctx->be->ops->rename(ctx->be, from, to, flags);
	if (rc == 0)
		fs_writer_rename(ctx, from, to);
	return rc;
}

static int
fs_chmod(const char *path, mode_t mode, struct fuse_file_info *fi)
{
	struct backend *be = fs_be();

	if (be->ops->chmod == NULL)
		return -ENOSYS;
	mode &= 07777;
	if (fs_writers_note(fs_ctx(), path, &mode, NULL))
		return 0; /* set when the upload ends */
	return be->ops->chmod(be, path, mode);
}

/*
 * Ownership cannot change on an FTP server, but "changing" it to what we
 * report already is a no-op, so cp -p and rsync -o as the mounting user
 * keep working.
 */
static int
fs_chown(const char *path, uid_t uid, gid_t gid, struct fuse_file_info *fi)
{
	struct fs_ctx *ctx = fs_ctx();

	if (uid != (uid_t)-1 && uid != ctx->uid)
		return -EPERM;
	if (gid != (gid_t)-1 && gid != ctx->gid)
		return -EPERM;
	return 0;
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

/* Spool path's current content into a fresh spool (closed-file ops). */
static int
fs_spool_path(struct fs_ctx *ctx, const char *path, struct spool **out)
{
	struct backend_attr a;
	int rc;

	memset(&a, 0, sizeof(a));
	rc = ctx->be->ops->stat(ctx->be, path, &a);
	if (rc < 0)
		return rc;
	if ((a.valid & BA_MODE_TYPE) && S_ISDIR(a.mode))
		return -EISDIR;
	rc = fs_may_write(ctx, path);
	if (rc < 0)
		return rc;
	return spool_open(ctx->be, path, (a.valid & BA_SIZE) ? a.size : 0,
	    (a.valid & BA_MODE_PERM) ? a.mode & 07777 : 0, ctx->spool_dir, out);
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
	off_t size;
	int rc;

	rc = be->ops->release(be, f->bf);
	f->bf = NULL;
	fs_set_uploading(ctx, f, false);
	/* An append the server refused by configuration: ours to rewrite? */
	if (rc == 0 && (f->flags & BO_APPEND))
		rc = fs_may_write(ctx, f->path);
	if (rc < 0) {
		f->werr = rc;
		return rc;
	}
	pthread_mutex_lock(&ctx->lock);
	size = f->size;
	pthread_mutex_unlock(&ctx->lock);
	log_debug(
	    "%s: non-sequential write; continuing on a local copy", f->path);
	return spool_open(
	    be, f->path, (uint64_t)size, f->mode, ctx->spool_dir, &f->sp);
}

static int
fs_truncate(const char *path, off_t size, struct fuse_file_info *fi)
{
	struct fs_ctx *ctx = fs_ctx();
	struct backend *be = ctx->be;
	struct spool *sp = NULL;
	struct fs_file *f;
	int rc;

	if (size < 0)
		return -EINVAL;
	if (fi != NULL && (f = fs_file_of(fi)) != NULL &&
	    (f->flags & BO_WRITE)) {
		pthread_mutex_lock(&f->io);
		rc = f->werr;
		if (rc < 0) {
			pthread_mutex_unlock(&f->io);
			return rc;
		}
		if (f->sp == NULL && (be->caps & BCAP_PWRITE) &&
		    be->ops->truncate != NULL) {
			/* Writes still in flight land first, then the cut. */
			rc = be->ops->flush != NULL ? be->ops->flush(be, f->bf)
			                            : 0;
			if (rc >= 0)
				rc = be->ops->truncate(be, path, size);
		} else if (f->sp == NULL) {
			pthread_mutex_lock(&ctx->lock);
			if (size == f->size)
				rc = 1; /* nothing to do (often 0 after O_TRUNC)
				         */
			pthread_mutex_unlock(&ctx->lock);
			if (rc == 0)
				rc = fs_to_spool(ctx, f);
		}
		if (rc == 0 && f->sp != NULL)
			rc = spool_truncate(f->sp, size);
		if (rc >= 0) {
			pthread_mutex_lock(&ctx->lock);
			f->size = size;
			f->written = true;
			pthread_mutex_unlock(&ctx->lock);
			rc = 0;
		}
		pthread_mutex_unlock(&f->io);
		return rc;
	}
	if (be->ops->truncate == NULL)
		return -EROFS;
	rc = be->ops->truncate(be, path, size);
	if (rc != -ENOTSUP || (be->caps & BCAP_PWRITE))
		return rc;
	/* Only emptying is native: copy, cut or extend, upload. */
	rc = fs_spool_path(ctx, path, &sp);
	if (rc < 0)
		return rc;
	rc = spool_truncate(sp, size);
	if (rc < 0) {
		spool_close(sp);
		return rc;
	}
	return spool_close(sp);
}

static int
fs_utimens(
    const char *path, const struct timespec tv[2], struct fuse_file_info *fi)
{
	struct backend *be = fs_be();
	struct timespec mtime;

	/* Only the mtime exists on the server; atime is dropped. */
	if (tv == NULL) {
		mtime.tv_nsec = UTIME_NOW;
	} else {
		mtime = tv[1];
	}
	if (mtime.tv_nsec == UTIME_OMIT)
		return 0;
	if (be->ops->set_mtime == NULL) {
		/*
		 * Plain touch(1) (both times "now") right after creating or
		 * writing a file: the server already stamped it with its
		 * clock, so there is nothing left to do.  An explicit time
		 * cannot be honoured.
		 */
		if (mtime.tv_nsec == UTIME_NOW)
			return 0;
		return -ENOSYS;
	}
	if (mtime.tv_nsec == UTIME_NOW)
		clock_gettime(CLOCK_REALTIME, &mtime);
	if (fs_writers_note(fs_ctx(), path, NULL, &mtime))
		return 0; /* set when the upload ends */
	return be->ops->set_mtime(be, path, &mtime);
}

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
	pthread_mutex_destroy(&f->io);
	free(f->path);
	free(f);
}

static int
fs_open_common(
    const char *path, unsigned flags, mode_t mode, struct fuse_file_info *fi)
{
	struct fs_ctx *ctx = fs_ctx();
	struct backend *be = ctx->be;
	struct backend_attr a;
	struct fs_file *f;
	int64_t known_size = -1;
	mode_t keep_mode = 0;
	bool exists = false, spool = false;
	int rc;

	if ((flags & BO_WRITE) && be->ops->write == NULL)
		return -EROFS;
	/* A new reader sees what open writers wrote so far (and its size). */
	if (!(flags & BO_WRITE))
		fs_writers_sync(ctx, path);
	if (!(flags & BO_CREATE) || !(flags & BO_TRUNC)) {
		memset(&a, 0, sizeof(a));
		rc = be->ops->stat(be, path, &a);
		if (rc == 0 && (a.valid & BA_MODE_TYPE) && S_ISDIR(a.mode))
			return -EISDIR;
		if (rc == 0 && (a.valid & BA_SIZE) && !(flags & BO_TRUNC))
			known_size = (int64_t)a.size;
		if (rc == 0 && (a.valid & BA_MODE_PERM))
			keep_mode = a.mode & 07777;
		if (rc < 0 && !(rc == -ENOENT && (flags & BO_CREATE)))
			return rc;
		exists = rc == 0;
		if (!exists)
			known_size = 0;
	} else {
		known_size = 0;
	}
	/*
	 * Without random-access writes, only a write-only open that starts
	 * from empty (or appends) can stream; everything else is spooled.
	 */
	if ((flags & BO_WRITE) && !(be->caps & BCAP_PWRITE)) {
		bool fresh = (flags & BO_TRUNC) || !exists;

		spool = (flags & BO_READ) || (!fresh && !(flags & BO_APPEND)) ||
		    ((flags & BO_APPEND) && known_size < 0);
	}
	if (spool && (flags & BO_APPEND) == 0 && (flags & BO_CREATE) && !exists)
		flags |= BO_TRUNC;
	if (spool && exists && !(flags & BO_TRUNC)) {
		rc = fs_may_write(ctx, path);
		if (rc < 0)
			return rc;
	}
	/* O_APPEND|O_CREAT of a new file: a stream that creates it now. */
	if ((flags & BO_WRITE) && !spool && (flags & BO_APPEND) && !exists) {
		flags &= ~(unsigned)BO_APPEND;
		flags |= BO_TRUNC;
	}
	/* A stream always starts from empty; random-access writes do not. */
	if ((flags & BO_WRITE) && !spool && !(flags & BO_APPEND) &&
	    !(be->caps & BCAP_PWRITE))
		flags |= BO_TRUNC;

	f = calloc(1, sizeof(*f));
	if (f == NULL)
		return -ENOMEM;
	pthread_mutex_init(&f->io, NULL);
	f->flags = flags;
	f->mode = exists && keep_mode ? keep_mode : mode & 07777;
	if (flags & BO_WRITE) {
		f->path = strdup(path);
		if (f->path == NULL) {
			fs_file_free(f);
			return -ENOMEM;
		}
		if (known_size > 0 && !(flags & BO_TRUNC))
			f->size = (off_t)known_size;
	}
	if (spool) {
		/* O_TRUNC/O_CREAT: the server shows an empty file at once. */
		if ((flags & BO_TRUNC) && be->ops->truncate != NULL) {
			rc = be->ops->truncate(be, path, 0);
			if (rc == 0 && !exists && be->ops->chmod != NULL &&
			    f->mode != 0)
				be->ops->chmod(be, path, f->mode);
			if (rc < 0) {
				fs_file_free(f);
				return rc;
			}
			known_size = 0;
		}
		rc = spool_open(be, path,
		    (flags & BO_TRUNC) ? 0 : (uint64_t)known_size,
		    exists ? keep_mode : f->mode, ctx->spool_dir, &f->sp);
	} else {
		rc =
		    be->ops->open(be, path, flags, f->mode, known_size, &f->bf);
		/*
		 * A file this stream creates gets its mode once the upload
		 * is done, like any chmod made while it is open (the backend
		 * cannot apply it sooner unless BCAP_CREATE_MODE).
		 */
		if (rc == 0 && (flags & BO_WRITE) && !exists &&
		    !(be->caps & BCAP_CREATE_MODE) && f->mode != 0) {
			f->pend_mode = f->mode;
			f->pend_mode_set = true;
		}
	}
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
	if (flags & BO_WRITE)
		fi->keep_cache = 0;
	if (flags & BO_WRITE) {
		f->uploading = !spool; /* a stream's STOR starts at open */
		fs_writer_add(ctx, f);
	}
	fi->fh = (uint64_t)(uintptr_t)f;
	return 0;
}

static int
fs_open(const char *path, struct fuse_file_info *fi)
{
	return fs_open_common(path, fs_open_flags(fi->flags), 0644, fi);
}

static int
fs_create(const char *path, mode_t mode, struct fuse_file_info *fi)
{
	/* O_TRUNC too: a created file starts empty even if it existed. */
	return fs_open_common(path,
	    fs_open_flags(fi->flags) | BO_WRITE | BO_CREATE | BO_TRUNC, mode,
	    fi);
}

/* One write on a stream or a spool; f->io held. */
static ssize_t
fs_write_locked(struct fs_ctx *ctx, struct fs_file *f, const char *buf,
    size_t size, off_t off)
{
	struct backend *be = ctx->be;
	ssize_t n;
	int rc;

	if (f->werr < 0)
		return f->werr;
	if (f->sp == NULL) {
		n = be->ops->write(be, f->bf, buf, size, off);
		if (n != -ESPIPE || (be->caps & BCAP_PWRITE))
			return n;
		rc = fs_to_spool(ctx, f);
		if (rc < 0)
			return rc;
	}
	if (f->flags & BO_APPEND) /* O_APPEND: always at the end */
		off = (off_t)spool_size(f->sp);
	return spool_write(f->sp, buf, size, off);
}

static int
fs_write(const char *path, const char *buf, size_t size, off_t off,
    struct fuse_file_info *fi)
{
	struct fs_ctx *ctx = fs_ctx();
	struct fs_file *f = fs_file_of(fi);
	size_t done = 0;
	ssize_t n;

	if (!(f->flags & BO_WRITE))
		return -EBADF;
	if (size > INT_MAX)
		size = INT_MAX;
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
	if (f->sp != NULL)
		f->size = (off_t)spool_size(f->sp);
	else if (off + (off_t)done > f->size)
		f->size = off + (off_t)done;
	if (done > 0)
		f->written = true;
	pthread_mutex_unlock(&ctx->lock);
	pthread_mutex_unlock(&f->io);
	return done > 0 || size == 0 ? (int)done : -EIO;
}

/* The server must have every byte when this returns 0.  f->io held. */
static int
fs_file_flush(struct fs_ctx *ctx, struct fs_file *f)
{
	struct backend *be = ctx->be;

	if (!(f->flags & BO_WRITE))
		return 0;
	if (f->werr < 0)
		return f->werr;
	if (f->sp != NULL)
		return spool_flush(f->sp);
	if (f->bf == NULL || be->ops->flush == NULL)
		return 0;
	return be->ops->flush(be, f->bf);
}

/* close(2) reports this. */
static int
fs_flush(const char *path, struct fuse_file_info *fi)
{
	struct fs_ctx *ctx = fs_ctx();
	struct fs_file *f = fs_file_of(fi);
	int rc;

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
		fs_apply_pending(ctx, f, path);
	return rc > 0 ? 0 : rc;
}

static int
fs_fsync(const char *path, int datasync, struct fuse_file_info *fi)
{
	return fs_flush(path, fi);
}

static int
fs_release(const char *path, struct fuse_file_info *fi)
{
	struct fs_ctx *ctx = fs_ctx();
	struct fs_file *f = fs_file_of(fi);
	int rc = 0;

	/*
	 * A writer stays in the list until its last upload is done and what
	 * was noted meanwhile is re-applied: a chmod arriving during the
	 * release is then noted (and re-applied here) or comes after it.
	 */
	pthread_mutex_lock(&f->io);
	if (f->sp != NULL)
		rc = spool_close(f->sp);
	else if (f->bf != NULL)
		rc = ctx->be->ops->release(ctx->be, f->bf);
	f->sp = NULL;
	f->bf = NULL; /* a writers_sync waiting for f->io finds nothing */
	if (f->flags & BO_WRITE)
		fs_set_uploading(ctx, f, false);
	pthread_mutex_unlock(&f->io);
	if (rc < 0)
		log_warn("%s: closing: %s", path, strerror(-rc));
	if (rc == 0 && (f->flags & BO_WRITE))
		fs_apply_pending(ctx, f, path);
	if (f->flags & BO_WRITE)
		fs_writer_remove(ctx, f);
	fs_file_free(f);
	return rc;
}

/* For servers that cannot tell: big and empty, so df and cp are happy. */
static void
fs_statfs_default(struct statvfs *st)
{
	memset(st, 0, sizeof(*st));
	st->f_bsize = 4096;
	st->f_frsize = 4096;
	st->f_blocks = (fsblkcnt_t)1 << 30; /* 4 TiB */
	st->f_bfree = st->f_blocks;
	st->f_bavail = st->f_blocks;
	st->f_files = 1000000;
	st->f_ffree = st->f_files;
	st->f_favail = st->f_files;
	st->f_namemax = 255;
}

static int
fs_statfs(const char *path, struct statvfs *st)
{
	struct backend *be = fs_be();
	int rc = -ENOSYS;

	if (be->ops->statfs != NULL)
		rc = be->ops->statfs(be, path, st);
	if (rc == -ENOSYS) {
		fs_statfs_default(st);
		rc = 0;
	}
	return rc;
}

static const struct fuse_operations fs_ops = {
	.init = fs_init,
	.getattr = fs_getattr,
	.readlink = fs_readlink,
	.opendir = fs_opendir,
	.readdir = fs_readdir,
	.releasedir = fs_releasedir,
	.mkdir = fs_mkdir,
	.unlink = fs_unlink,
	.rmdir = fs_rmdir,
	.symlink = fs_symlink,
	.link = fs_link,
	.rename = fs_rename,
	.chmod = fs_chmod,
	.chown = fs_chown,
	.truncate = fs_truncate,
	.utimens = fs_utimens,
	.open = fs_open,
	.create = fs_create,
	.read = fs_read,
	.read_buf = fs_read_buf,
	.write = fs_write,
	.flush = fs_flush,
	.fsync = fs_fsync,
	.release = fs_release,
	.statfs = fs_statfs,
};

const struct fuse_operations *
fs_operations(void)
{
	return &fs_ops;
}
