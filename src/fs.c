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
#include "net.h"
#include "spool.h"

#define FS_BLKSIZE (128 * 1024) /* st_blksize: what cp/dd use per read */

int
fs_ctx_init(struct fs_ctx *ctx)
{
	pthread_condattr_t ca;
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
		rc = pthread_mutex_init(&ctx->attr_lock, NULL);
	if (rc == 0)
		rc = pthread_cond_init(&ctx->unref, NULL);
	if (rc == 0)
		rc = pthread_condattr_init(&ca);
	/* hide_cond's waits have CLOCK_MONOTONIC deadlines (fs_files.c) */
	if (rc == 0) {
		rc = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		if (rc == 0)
			rc = pthread_cond_init(&ctx->hide_cond, &ca);
		pthread_condattr_destroy(&ca);
	}
	return -rc;
}

void
fs_ctx_fini(struct fs_ctx *ctx)
{
	fs_splice_fini(ctx);
	fs_settler_stop(ctx);
	pthread_cond_destroy(&ctx->hide_cond);
	pthread_cond_destroy(&ctx->unref);
	pthread_mutex_destroy(&ctx->attr_lock);
	pthread_mutex_destroy(&ctx->lock);
	free(ctx->spool_dir);
	ctx->spool_dir = NULL;
}

void
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
	st->st_atim = (a->valid & BA_ATIME) ? a->atime : st->st_mtim;
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

	/*
	 * Names stay in the kernel's cache for cache_timeout; attributes do
	 * not (attr_timeout 0): every stat asks us, and our cache answers
	 * (a few microseconds).  The kernel then asks again before reading
	 * past the size it has, which is how a reader of a file that grew on
	 * the server gets all of it (fs_read_saw); with its own copy of the
	 * attributes it would cut every read at the old size until it
	 * expired.
	 */
	if (!ctx->kernel_timeouts) {
		cfg->attr_timeout = 0;
		cfg->entry_timeout = ctx->cache_timeout;
		cfg->negative_timeout = ctx->cache_timeout;
	}
	cfg->use_ino = 0;
	cfg->nullpath_ok = 0;
	/*
	 * A file unlinked (or renamed over) while open: libfuse renames it
	 * to a ".fuse_hidden" name, which keeps fstat(2) working on it (with
	 * hard_remove it could only answer ESTALE).  That rename reaches
	 * the server only where handles outlive names (BCAP_HANDLES,
	 * fs_hide_on_server); elsewhere fs_hide() keeps the name local.
	 */
	cfg->hard_remove = 0;
	/* a signal to the caller interrupts its request: main_intr_signal */
	cfg->intr = 1;
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

/*
 * A name libfuse gave a file unlinked while open, kept only here
 * (fs_hide): never asked of the server.  With BCAP_HANDLES the hidden
 * name exists on the server (fs_hide_on_server) and is an ordinary name.
 */
static bool
fs_hidden_here(const struct fs_ctx *ctx, const char *path)
{
	return !(ctx->be->caps & BCAP_HANDLES) && fs_is_hidden_name(path);
}

static int
fs_getattr(const char *path, struct stat *st, struct fuse_file_info *fi)
{
	struct fs_ctx *ctx = fs_ctx();
	struct backend_attr a;
	struct fs_wview w;
	bool writing;
	int rc;

	/* fstat of a handle whose name is gone (NULL when libfuse lost it) */
	if (path == NULL && fi != NULL && fi->fh != 0) {
		struct fs_file *f = fs_file_of(fi);

		a = f->attr;
		a.valid |= BA_MODE_TYPE;
		fs_fill_stat(ctx, &a, st);
		st->st_nlink = 0;
		return 0;
	}
	if (path == NULL)
		return -ESTALE;
	fs_hides_settle(ctx);
	if (fs_hidden_here(ctx, path))
		return fs_hidden_attr(ctx, path, st) ? 0 : -ENOENT;
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
		if (w.size_known) {
			st->st_size = w.size;
			st->st_blocks = (w.size + 511) / 512;
		}
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

	if (path == NULL)
		return -ESTALE;
	if (fs_hidden_here(fs_ctx(), path))
		return -EINVAL; /* a hidden name is a regular file */
	fs_hides_settle(fs_ctx());
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

	if (path == NULL)
		return -ESTALE;
	fs_hides_settle(fs_ctx());
	d = calloc(1, sizeof(*d));
	if (d == NULL)
		return -ENOMEM;
	walk_opening(fs_ctx()->walk, path);
	rc = be->ops->list(be, path, &d->l);
	if (rc < 0) {
		backend_dirlist_free(&d->l);
		free(d);
		return rc;
	}
	walk_listed(fs_ctx()->walk, path, &d->l);
	fahead_listed(fs_ctx()->fahead, path, &d->l);
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

	if (path == NULL)
		return -ESTALE;
	fs_hides_settle(fs_ctx());
	if (be->ops->mkdir == NULL)
		return -EROFS;
	return be->ops->mkdir(be, path, mode & 07777);
}

static int
fs_unlink(const char *path)
{
	struct fs_ctx *ctx = fs_ctx();
	struct backend *be = ctx->be;
	int rc;

	if (path == NULL)
		return -ESTALE;
	/* The last handle of a file unlinked while open is gone. */
	if (fs_hidden_here(ctx, path))
		return fs_hidden_unlink(ctx, path);
	fs_hides_settle(ctx);
	if (be->ops->unlink == NULL)
		return -EROFS;
	rc = be->ops->unlink(be, path);
	if (rc == 0)
		fs_files_unlinked(ctx, path);
	return rc;
}

static int
fs_rmdir(const char *path)
{
	struct backend *be = fs_be();

	if (path == NULL)
		return -ESTALE;
	fs_hides_settle(fs_ctx());
	if (be->ops->rmdir == NULL)
		return -EROFS;
	return be->ops->rmdir(be, path);
}

static int
fs_symlink(const char *target, const char *linkpath)
{
	struct backend *be = fs_be();

	if (linkpath == NULL)
		return -ESTALE;
	fs_hides_settle(fs_ctx());
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
	struct fs_hide *h;
	int rc;

	/* FTP has no atomic exchange; anything else unknown is refused. */
	if (flags & ~(unsigned)RENAME_NOREPLACE)
		return -EINVAL;
	if (from == NULL || to == NULL)
		return -ESTALE;
	if (ctx->be->ops->rename == NULL)
		return -EROFS;
	/* libfuse hides a file unlinked or replaced while it is open. */
	if (fs_is_hidden_name(to) && !fs_is_hidden_name(from))
		return (ctx->be->caps & BCAP_HANDLES)
		    ? fs_hide_on_server(ctx, from, to)
		    : fs_hide(ctx, from, to);
	if (fs_hidden_here(ctx, from))
		return -EBUSY; /* a hidden name has no server file to move */
	/* Replacing a file just hidden: on failure it takes its name back. */
	h = fs_hide_claim(ctx, to);
	fs_hides_settle(ctx);
	rc = ctx->be->ops->rename(ctx->be, from, to, flags);
	if (rc == 0)
		fs_files_renamed(ctx, from, to);
	if (h != NULL)
		fs_hide_claimed(ctx, h, rc);
	return rc;
}

/*
 * fchmod of a file whose name is gone: only its handle shows the mode
 * (fstat), as nothing on the server is that file any more.
 */
static int
fs_chmod_nameless(struct fs_ctx *ctx, const char *path, mode_t mode,
    struct fuse_file_info *fi)
{
	struct fs_file *f;
	bool found = false;

	pthread_mutex_lock(&ctx->lock);
	for (f = ctx->files; f != NULL; f = f->next) {
		if ((fi != NULL && fi->fh == (uint64_t)(uintptr_t)f) ||
		    (path != NULL && f->ghost && f->path != NULL &&
		        strcmp(f->path, path) == 0)) {
			f->mode = S_IFREG | mode; /* known, even 0000 */
			f->attr.mode = (f->attr.mode & S_IFMT) | mode;
			f->attr.valid |= BA_MODE_PERM;
			found = true;
		}
	}
	pthread_mutex_unlock(&ctx->lock);
	return found ? 0 : -ESTALE;
}

static int
fs_chmod(const char *path, mode_t mode, struct fuse_file_info *fi)
{
	struct fs_ctx *ctx = fs_ctx();
	struct backend *be = ctx->be;
	int rc;

	if (path == NULL || fs_hidden_here(ctx, path))
		return fs_chmod_nameless(ctx, path, mode & 07777, fi);
	fs_hides_settle(ctx);
	if (be->ops->chmod == NULL)
		return -ENOSYS;
	mode &= 07777;
	pthread_mutex_lock(&ctx->attr_lock); /* see fs_apply_pending */
	if (fs_writers_note(ctx, path, &mode, NULL))
		rc = 0; /* set when the upload ends */
	else
		rc = be->ops->chmod(be, path, mode);
	pthread_mutex_unlock(&ctx->attr_lock);
	return rc;
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

/* UTIME_NOW made a time; UTIME_OMIT is the caller's to handle. */
static struct timespec
fs_time_of(struct timespec t)
{
	if (t.tv_nsec == UTIME_NOW)
		clock_gettime(CLOCK_REALTIME, &t);
	return t;
}

/*
 * A directory time the server cannot set (vsftpd's MDTM and pyftpdlib's
 * MFMT take files only): rsync -a and tar x would report every directory
 * (exit 23 and 2) and rsync would then skip the directory's chmod, leaving
 * it 0700.  Like other network filesystems, accept it with one log line
 * unless -o strict_times asks for the error.
 */
static int
fs_dir_time_refused(struct fs_ctx *ctx, const char *path, int rc)
{
	struct backend_attr a;

	/* EPERM is "cannot" only from FTP's MDTM/MFMT family (a backend
	   without ->set_times); from SFTP's SETSTAT it is a real refusal */
	if (ctx->strict_times ||
	    (rc != -ENOTSUP && rc != -ENOSYS &&
	        !(rc == -EPERM && ctx->be->ops->set_times == NULL)))
		return rc;
	memset(&a, 0, sizeof(a));
	if (ctx->be->ops->stat(ctx->be, path, &a) < 0 ||
	    !(a.valid & BA_MODE_TYPE) || !S_ISDIR(a.mode))
		return rc;
	log_once(&ctx->dir_times_logged, LOG_LVL_WARN, __func__,
	    "the server cannot set directory times (%s: %s): accepted and "
	    "ignored from now on (-o strict_times reports it)",
	    path, strerror(-rc));
	return 0;
}

static int
fs_utimens(
    const char *path, const struct timespec tv[2], struct fuse_file_info *fi)
{
	struct backend *be = fs_be();
	struct timespec atime, mtime;
	bool with_atime;
	int rc;

	if (tv == NULL) {
		atime.tv_nsec = mtime.tv_nsec = UTIME_NOW;
	} else {
		atime = tv[0];
		mtime = tv[1];
	}
	/* Where the backend keeps no atime (FTP), only the mtime counts. */
	with_atime = be->ops->set_times != NULL && atime.tv_nsec != UTIME_OMIT;
	if (mtime.tv_nsec == UTIME_OMIT && !with_atime)
		return 0;
	if (path == NULL || fs_hidden_here(fs_ctx(), path))
		return 0; /* no server file to stamp: futimens is a no-op */
	fs_hides_settle(fs_ctx());
	if (be->ops->set_mtime == NULL && !with_atime) {
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
	pthread_mutex_lock(&fs_ctx()->attr_lock); /* see fs_apply_pending */
	if (mtime.tv_nsec != UTIME_OMIT) {
		mtime = fs_time_of(mtime);
		if (fs_writers_note(fs_ctx(), path, NULL, &mtime)) {
			/* the mtime is set when the upload ends; the atime
			   is not kept for it */
			pthread_mutex_unlock(&fs_ctx()->attr_lock);
			return 0;
		}
	}
	if (with_atime) {
		atime = fs_time_of(atime);
		rc = be->ops->set_times(be, path, &atime,
		    mtime.tv_nsec == UTIME_OMIT ? NULL : &mtime);
	} else {
		rc = be->ops->set_mtime(be, path, &mtime);
	}
	if (rc == 0 && mtime.tv_nsec != UTIME_OMIT)
		fs_files_mtime_set(fs_ctx(), path, &mtime);
	pthread_mutex_unlock(&fs_ctx()->attr_lock);
	if (rc < 0)
		rc = fs_dir_time_refused(fs_ctx(), path, rc);
	(void)fi;
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

	if (path == NULL || fs_hidden_here(fs_ctx(), path))
		path = "/";
	if (be->ops->statfs != NULL)
		rc = be->ops->statfs(be, path, st);
	if (rc == -ENOSYS) {
		fs_statfs_default(st);
		rc = 0;
	}
	return rc;
}

/* Unmount: removals still pending are done while the backend lives. */
static void
fs_destroy(void *private_data)
{
	fs_settler_stop(private_data);
	fs_hides_settle(private_data);
}

/*
 * The kernel remembers an ENOSYS from create, open, flush and fsync as
 * "not implemented" for the rest of the mount (it then falls back to
 * mknod, or skips the call: an fsync that never flushes again).  These
 * operations are implemented; a server's 500/502 behind one (ftp_errno's
 * ENOSYS) is an I/O error of this call, never that.
 */
static int fs_kernel_rc(int rc, const char *op, const char *path);

/*
 * Every FUSE request runs under one deadline (-o timeout, net_op_begin):
 * against a frozen server it fails with EIO within it, whatever steps it
 * takes; fs_op_end() also turns what the kernel must not see into EIO.
 */
static void
fs_op_begin(void)
{
	/* fuse_interrupted: libfuse's -o intr sends the worker SIGUSR1 when
	   the kernel says the caller was interrupted (main.c sets it) */
	net_op_begin(fs_ctx()->op_timeout_ms, fuse_interrupted);
}

static int
fs_op_end(int rc, const char *op, const char *path)
{
	net_op_end();
	return fs_kernel_rc(rc, op, path);
}

static int
fs_kernel_rc(int rc, const char *op, const char *path)
{
	switch (rc) {
	case -ENOSYS:
		log_debug("%s %s: the server does not implement what it "
		          "needs (EIO)",
		    op, path != NULL ? path : "(unlinked)");
		return -EIO;
	/*
	 * How the connection failed is for the log, not for a program
	 * reading a file: "Connection refused" or "Transport endpoint is
	 * not connected" from read(2) would look like a dead mount.
	 */
	case -ECONNREFUSED:
	case -ECONNRESET:
	case -ECONNABORTED:
	case -ETIMEDOUT:
	case -EPROTO:
	case -EHOSTUNREACH:
	case -ENETUNREACH:
	case -ENETDOWN:
	case -EPIPE:
	case -ENOTCONN:
	case -EADDRNOTAVAIL:
	case -EREMOTEIO:
	case -EUSERS:
	case -ESHUTDOWN:
		log_debug("%s %s: %s (EIO)", op,
		    path != NULL ? path : "(unlinked)", strerror(-rc));
		return -EIO;
	default:
		return rc;
	}
}

static int
fs_getattr_op(const char *path, struct stat *st, struct fuse_file_info *fi)
{
	const char *name = path != NULL ? strrchr(path, '/') : NULL;

	fs_op_begin();
	/*
	 * statfs says names are at most NAME_MAX bytes; the kernel lets FUSE
	 * look up longer ones (up to 1024).  Every way to make a name looks
	 * it up first, so open(O_CREAT), mkdir, rename, link and symlink to
	 * such a name fail here too, with the errno a local filesystem
	 * gives, not what each server makes of it (EINVAL, EACCES, ENOENT).
	 */
	if (name != NULL && strlen(name + 1) > NAME_MAX)
		return fs_op_end(-ENAMETOOLONG, "stat", path);
	return fs_op_end(fs_getattr(path, st, fi), "stat", path);
}

static int
fs_readlink_op(const char *path, char *buf, size_t size)
{
	fs_op_begin();
	return fs_op_end(fs_readlink(path, buf, size), "readlink", path);
}

static int
fs_opendir_op(const char *path, struct fuse_file_info *fi)
{
	fs_op_begin();
	return fs_op_end(fs_opendir(path, fi), "opendir", path);
}

static int
fs_readdir_op(const char *path, void *buf, fuse_fill_dir_t filler, off_t off,
    struct fuse_file_info *fi, enum fuse_readdir_flags flags)
{
	fs_op_begin();
	return fs_op_end(
	    fs_readdir(path, buf, filler, off, fi, flags), "readdir", path);
}

/*
 * A read that finds its file gone on the server (FTP opens for reading
 * without asking it: RETR is the first word about the file) says so to
 * the cache too, so that the next stat or listing asks the server, and ls
 * stops showing what cat cannot read.
 */
static int
fs_read_end(int rc, const char *path)
{
	struct backend *be = fs_ctx()->be;

	if (rc == -ENOENT && path != NULL && be->ops->invalidate != NULL)
		be->ops->invalidate(be, path);
	return fs_op_end(rc, "read", path);
}

static int
fs_read_op(const char *path, char *buf, size_t size, off_t off,
    struct fuse_file_info *fi)
{
	fs_op_begin();
	return fs_read_end(fs_read(path, buf, size, off, fi), path);
}

static int
fs_read_buf_op(const char *path, struct fuse_bufvec **bufp, size_t size,
    off_t off, struct fuse_file_info *fi)
{
	fs_op_begin();
	return fs_read_end(fs_read_buf(path, bufp, size, off, fi), path);
}

/*
 * What was read ahead of path (fahead.h) is forgotten after every change
 * made through the mount, whether it worked or not: a fetch that ran
 * meanwhile may have seen a part of it.
 */
static int
fs_changed(int rc, const char *path)
{
	if (path != NULL)
		fahead_forget(fs_ctx()->fahead, path);
	return rc;
}

static int
fs_link_op(const char *from, const char *to)
{
	fs_op_begin();
	return fs_op_end(fs_changed(fs_link(from, to), to), "link", from);
}

/* The rest: ENOSYS would only read "Function not implemented". */
static int
fs_mkdir_op(const char *path, mode_t mode)
{
	fs_op_begin();
	return fs_op_end(fs_mkdir(path, mode), "mkdir", path);
}

static int
fs_unlink_op(const char *path)
{
	fs_op_begin();
	return fs_op_end(fs_changed(fs_unlink(path), path), "unlink", path);
}

static int
fs_rmdir_op(const char *path)
{
	fs_op_begin();
	return fs_op_end(fs_changed(fs_rmdir(path), path), "rmdir", path);
}

static int
fs_rename_op(const char *from, const char *to, unsigned int flags)
{
	int rc;

	fs_op_begin();
	rc = fs_changed(fs_changed(fs_rename(from, to, flags), from), to);
	return fs_op_end(rc, "rename", from);
}

static int
fs_chmod_op(const char *path, mode_t mode, struct fuse_file_info *fi)
{
	fs_op_begin();
	return fs_op_end(fs_chmod(path, mode, fi), "chmod", path);
}

static int
fs_truncate_op(const char *path, off_t size, struct fuse_file_info *fi)
{
	fs_op_begin();
	if (path != NULL)
		fahead_written(fs_ctx()->fahead, path);
	return fs_op_end(
	    fs_changed(fs_truncate(path, size, fi), path), "truncate", path);
}

static int
fs_write_op(const char *path, const char *buf, size_t size, off_t off,
    struct fuse_file_info *fi)
{
	fs_op_begin();
	return fs_op_end(fs_write(path, buf, size, off, fi), "write", path);
}

/* A filesystem without symlinks or settable times answers EPERM (POSIX;
   the FTP backend says ENOTSUP for a server without SITE SYMLINK). */
static int
fs_symlink_op(const char *target, const char *linkpath)
{
	int rc;

	fs_op_begin();
	rc = fs_changed(fs_symlink(target, linkpath), linkpath);
	if (rc == -ENOSYS || rc == -ENOTSUP)
		rc = -EPERM;
	return fs_op_end(rc, "symlink", linkpath);
}

/*
 * mknod(2).  Neither protocol makes FIFOs, sockets or device nodes: EPERM,
 * mknod(2)'s answer for a type the filesystem cannot hold (libfuse's
 * default, ENOSYS, is no errno mknod(2) has).  A regular file (mknod with
 * S_IFREG; the kernel itself uses create) is made empty, as by
 * open(O_CREAT | O_EXCL) and close.
 */
static int
fs_mknod_op(const char *path, mode_t mode, dev_t rdev)
{
	struct fuse_file_info fi = { .flags = O_WRONLY | O_CREAT | O_EXCL };
	int rc, rc2;

	(void)rdev;
	fs_op_begin();
	if (!S_ISREG(mode))
		return fs_op_end(-EPERM, "mknod", path);
	rc = fs_changed(fs_create(path, mode & 07777, &fi), path);
	if (rc == 0) {
		rc = fs_flush(path, &fi);
		rc2 = fs_release(path, &fi);
		if (rc == 0)
			rc = rc2;
		fs_changed(0, path);
	}
	return fs_op_end(rc, "mknod", path);
}

static int
fs_utimens_op(
    const char *path, const struct timespec tv[2], struct fuse_file_info *fi)
{
	int rc;

	fs_op_begin();
	rc = fs_utimens(path, tv, fi);
	if (rc == -ENOSYS)
		rc = -EPERM;
	return fs_op_end(rc, "utimens", path);
}

static int
fs_create_op(const char *path, mode_t mode, struct fuse_file_info *fi)
{
	fs_op_begin();
	return fs_op_end(
	    fs_changed(fs_create(path, mode, fi), path), "create", path);
}

static int
fs_open_op(const char *path, struct fuse_file_info *fi)
{
	fs_op_begin();
	return fs_op_end(fs_open(path, fi), "open", path);
}

static int
fs_flush_op(const char *path, struct fuse_file_info *fi)
{
	struct fs_file *f = fs_file_of(fi);
	int rc;

	fs_op_begin();
	rc = fs_flush(path, fi);
	if (f->flags & BO_WRITE)
		fs_changed(0, path);
	return fs_op_end(rc, "flush", path);
}

static int
fs_fsync_op(const char *path, int datasync, struct fuse_file_info *fi)
{
	fs_op_begin();
	return fs_op_end(fs_fsync(path, datasync, fi), "fsync", path);
}

static int
fs_release_op(const char *path, struct fuse_file_info *fi)
{
	bool writer = (fs_file_of(fi)->flags & BO_WRITE) != 0;
	int rc;

	fs_op_begin();
	rc = fs_release(path, fi);
	if (writer)
		fs_changed(0, path);
	return fs_op_end(rc, "release", path);
}

static int
fs_chown_op(const char *path, uid_t uid, gid_t gid, struct fuse_file_info *fi)
{
	fs_op_begin();
	return fs_op_end(fs_chown(path, uid, gid, fi), "chown", path);
}

static int
fs_statfs_op(const char *path, struct statvfs *st)
{
	fs_op_begin();
	return fs_op_end(fs_statfs(path, st), "statfs", path);
}

static const struct fuse_operations fs_ops = {
	.init = fs_init,
	.destroy = fs_destroy,
	.getattr = fs_getattr_op,
	.readlink = fs_readlink_op,
	.opendir = fs_opendir_op,
	.readdir = fs_readdir_op,
	.releasedir = fs_releasedir,
	.mknod = fs_mknod_op,
	.mkdir = fs_mkdir_op,
	.unlink = fs_unlink_op,
	.rmdir = fs_rmdir_op,
	.symlink = fs_symlink_op,
	.link = fs_link_op,
	.rename = fs_rename_op,
	.chmod = fs_chmod_op,
	.chown = fs_chown_op,
	.truncate = fs_truncate_op,
	.utimens = fs_utimens_op,
	.open = fs_open_op,
	.create = fs_create_op,
	.read = fs_read_op,
	.read_buf = fs_read_buf_op,
	.write = fs_write_op,
	.flush = fs_flush_op,
	.fsync = fs_fsync_op,
	.release = fs_release_op,
	.statfs = fs_statfs_op,
};

const struct fuse_operations *
fs_operations(void)
{
	return &fs_ops;
}
