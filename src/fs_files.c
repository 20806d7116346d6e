/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fs_files: the registry of open handles (contract in fs_file.h).
 *
 * Walks that must call into a handle (its io lock, the backend) collect
 * the handles under ctx->lock with a reference each, drop the lock, and
 * work on them one by one: nothing is called with ctx->lock held, and a
 * handle is freed only after fs_files_remove() saw its references gone.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fs_file.h"
#include "log.h"
#include "spool.h"

#define HIDDEN_PREFIX ".fuse_hidden"

/*
 * How long the old file of a name hidden on FTP stays on the server under
 * its keep name: the rename that may follow on the same thread (libfuse
 * calls it at once) restores it from there if that rename fails.  This
 * only covers a preempted thread on a busy machine.
 */
#define HIDE_GRACE_NS (20 * 1000 * 1000)

/*
 * A name libfuse hid.  The name itself is gone on the server before the
 * unlink (or the hiding rename) returns: other clients never see it
 * afterwards, and nothing at that name is removed later (it may be
 * someone else's file by then).  The old file sits under `server`, a
 * name of ours, until it is no longer needed.
 */
struct fs_hide {
	char *orig; /* the name that was hidden */
	char *hidden; /* libfuse's name for the open file */
	char *server; /* where the old file is on the server; NULL: removed */
	bool remove; /* server is ours to remove when due (FTP) */
	pthread_t thread; /* the FUSE thread that hid it */
	struct timespec due; /* CLOCK_MONOTONIC: settled then at the latest */
	struct fs_hide *next;
};

/* Does handle f answer for path (ctx->lock held)? */
static bool
fs_file_is(const struct fs_file *f, const char *path)
{
	return f->path != NULL && path != NULL && strcmp(f->path, path) == 0;
}

static bool
fs_writer_is(const struct fs_file *f, const char *path)
{
	return (f->flags & BO_WRITE) && !f->gone && fs_file_is(f, path);
}

void
fs_files_add(struct fs_ctx *ctx, struct fs_file *f)
{
	pthread_mutex_lock(&ctx->lock);
	f->next = ctx->files;
	ctx->files = f;
	pthread_mutex_unlock(&ctx->lock);
}

void
fs_files_remove(struct fs_ctx *ctx, struct fs_file *f)
{
	struct fs_file **pp;

	pthread_mutex_lock(&ctx->lock);
	for (pp = &ctx->files; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == f) {
			*pp = f->next;
			break;
		}
	}
	while (f->refs > 0)
		pthread_cond_wait(&ctx->unref, &ctx->lock);
	if (f->gate) {
		f->gate = false;
		pthread_cond_broadcast(&ctx->unref);
	}
	pthread_mutex_unlock(&ctx->lock);
}

bool
fs_file_conflict(struct fs_ctx *ctx, struct fs_file *f)
{
	bool c;

	pthread_mutex_lock(&ctx->lock);
	c = f->conflict;
	pthread_mutex_unlock(&ctx->lock);
	return c;
}

bool
fs_file_detached(struct fs_ctx *ctx, struct fs_file *f)
{
	bool d;

	pthread_mutex_lock(&ctx->lock);
	d = f->detached;
	pthread_mutex_unlock(&ctx->lock);
	return d;
}

char *
fs_file_path(struct fs_ctx *ctx, const struct fs_file *f)
{
	char *p = NULL;

	pthread_mutex_lock(&ctx->lock);
	if (!f->gone && f->path != NULL)
		p = strdup(f->path);
	pthread_mutex_unlock(&ctx->lock);
	return p;
}

/*
 * The handles match() picks, each with a reference, in a malloc'd array
 * (NULL with *n = 0 when none; a failed allocation is logged and treated
 * as none).  ctx->lock held.
 */
static struct fs_file **
fs_files_collect(struct fs_ctx *ctx, const char *path,
    bool (*match)(const struct fs_file *, const char *), size_t *n)
{
	struct fs_file *f, **v;
	size_t count = 0, i = 0;

	*n = 0;
	for (f = ctx->files; f != NULL; f = f->next)
		if (match(f, path))
			count++;
	if (count == 0)
		return NULL;
	v = malloc(count * sizeof(*v));
	if (v == NULL) {
		log_err(
		    "%s: out of memory walking %zu open handles", path, count);
		return NULL;
	}
	for (f = ctx->files; f != NULL; f = f->next) {
		if (match(f, path)) {
			f->refs++;
			v[i++] = f;
		}
	}
	*n = count;
	return v;
}

static void
fs_files_unref(struct fs_ctx *ctx, struct fs_file **v, size_t n)
{
	size_t i;

	pthread_mutex_lock(&ctx->lock);
	for (i = 0; i < n; i++)
		v[i]->refs--;
	pthread_cond_broadcast(&ctx->unref);
	pthread_mutex_unlock(&ctx->lock);
	free(v);
}

bool
fs_writer_find(struct fs_ctx *ctx, const char *path, struct fs_wview *v)
{
	struct fs_file *f;
	bool found = false;

	memset(v, 0, sizeof(*v));
	pthread_mutex_lock(&ctx->lock);
	for (f = ctx->files; f != NULL; f = f->next) {
		if (!fs_writer_is(f, path))
			continue;
		/*
		 * Only a writer the server lags behind knows the size better:
		 * one that is uploading, or has writes not flushed yet.  One
		 * whose close(2) has flushed everything (its release comes
		 * later, asynchronously) or that fsync'ed must not hide what
		 * happened to the file since (a truncate, an append through
		 * another descriptor): the server's size is the truth then.
		 */
		if ((f->dirty || f->uploading) &&
		    (!v->size_known || f->size > v->size)) {
			v->size = f->size;
			v->size_known = true;
		}
		v->mode = f->pend_mode_set ? S_IFREG | f->pend_mode : f->mode;
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

/*
 * chmod or utimens of a file that is open for writing: the upload at
 * close replaces the file (spool) or touches it last (stream), so the
 * attribute is applied again after it.  True when an upload of path is in
 * progress on a stream: then the attribute waits for its end instead of
 * being set now, as setting it needs a second connection, which a server
 * allowing one per user never gives while the upload holds the first
 * (touch, cp -p on such a server would hang).
 */
bool
fs_writers_note(struct fs_ctx *ctx, const char *path, const mode_t *mode,
    const struct timespec *mtime)
{
	struct fs_file *f;
	bool deferred = false;

	pthread_mutex_lock(&ctx->lock);
	for (f = ctx->files; f != NULL; f = f->next) {
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

void
fs_set_uploading(struct fs_ctx *ctx, struct fs_file *f, bool on)
{
	pthread_mutex_lock(&ctx->lock);
	f->uploading = on;
	pthread_mutex_unlock(&ctx->lock);
}

/*
 * Each note is applied once: a stale one re-applied later (at release,
 * say) would race with, and undo, a chmod the application makes after
 * close() - rsync's final chmod of its temp file.
 */
void
fs_apply_pending(struct fs_ctx *ctx, struct fs_file *f)
{
	struct backend *be = ctx->be;
	struct timespec mtime;
	bool has_mode, has_mtime;
	char *path = NULL;
	mode_t mode;
	int rc;

	/*
	 * One at a time with fs_chmod/fs_utimens: a chmod made meanwhile
	 * then either comes before (and is what is noted here) or after
	 * (and lands last); a stale mode never overtakes it (rsync's final
	 * chmod of a file it just closed).
	 */
	pthread_mutex_lock(&ctx->attr_lock);
	pthread_mutex_lock(&ctx->lock);
	has_mode = f->pend_mode_set;
	mode = f->pend_mode;
	has_mtime = f->pend_mtime_set;
	mtime = f->pend_mtime;
	f->pend_mode_set = false;
	f->pend_mtime_set = false;
	if (has_mode) /* what stat shows until the release */
		f->mode = S_IFREG | (mode & 07777);
	if ((has_mode || has_mtime) && !f->gone && f->path != NULL)
		path = strdup(f->path);
	pthread_mutex_unlock(&ctx->lock);
	if (path == NULL) {
		pthread_mutex_unlock(&ctx->attr_lock);
		return; /* nothing noted, or no name left to set it on */
	}
	if (has_mode && be->ops->chmod != NULL &&
	    (rc = be->ops->chmod(be, path, mode)) < 0)
		log_warn("%s: chmod %o after the upload: %s", path,
		    (unsigned)mode, strerror(-rc));
	if (has_mtime && be->ops->set_mtime != NULL &&
	    (rc = be->ops->set_mtime(be, path, &mtime)) < 0)
		log_warn("%s: setting the time after the upload: %s", path,
		    strerror(-rc));
	pthread_mutex_unlock(&ctx->attr_lock);
	free(path);
}

static bool
fs_written_writer_is(const struct fs_file *f, const char *path)
{
	return fs_writer_is(f, path) && f->written;
}

void
fs_writers_sync(struct fs_ctx *ctx, const char *path)
{
	struct fs_file **v;
	size_t n, i;

	pthread_mutex_lock(&ctx->lock);
	v = fs_files_collect(ctx, path, fs_written_writer_is, &n);
	pthread_mutex_unlock(&ctx->lock);
	for (i = 0; i < n; i++) {
		pthread_mutex_lock(&v[i]->io);
		if (fs_file_flush(ctx, v[i]) < 0)
			log_warn("%s: could not push pending writes for a "
			         "reader",
			    path);
		pthread_mutex_unlock(&v[i]->io);
	}
	if (n > 0)
		fs_files_unref(ctx, v, n);
}

static bool
fs_attached_is(const struct fs_file *f, const char *path)
{
	return !f->gone && fs_file_is(f, path);
}

/* Detach the collected handles (refs held, ctx->lock not). */
static void
fs_files_detach_all(struct fs_ctx *ctx, struct fs_file **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		pthread_mutex_lock(&v[i]->io);
		fs_file_detach_locked(ctx, v[i]);
		pthread_mutex_unlock(&v[i]->io);
	}
	if (n > 0)
		fs_files_unref(ctx, v, n);
}

void
fs_files_unlinked(struct fs_ctx *ctx, const char *path)
{
	struct fs_file **v;
	size_t n, i;

	pthread_mutex_lock(&ctx->lock);
	v = fs_files_collect(ctx, path, fs_attached_is, &n);
	for (i = 0; i < n; i++)
		v[i]->gone = true;
	pthread_mutex_unlock(&ctx->lock);
	fs_files_detach_all(ctx, v, n);
}

/* f's name is from, or lies below the directory from (ctx->lock held). */
static bool
fs_moved_is(const struct fs_file *f, const char *from)
{
	size_t n = strlen(from);

	return !f->gone && f->path != NULL && strncmp(f->path, from, n) == 0 &&
	    (f->path[n] == '\0' || f->path[n] == '/');
}

/*
 * A rename on the server succeeded: handles of from, and of files below
 * it when from is a directory, follow it.  Their spools upload under the
 * new name; a backend handle is told its new name where the backend
 * wants it (->renamed: SFTP reopens by name), else keeps the name it was
 * opened with (an FTP transfer then fails with an error, never writes
 * elsewhere).
 */
void
fs_files_renamed(struct fs_ctx *ctx, const char *from, const char *to)
{
	struct fs_file **v;
	char **names = NULL;
	size_t n, i;

	if (strcmp(from, to) == 0)
		return;
	fs_files_unlinked(ctx, to); /* replaced by from */
	pthread_mutex_lock(&ctx->lock);
	v = fs_files_collect(ctx, from, fs_moved_is, &n);
	if (n > 0)
		names = calloc(n, sizeof(*names));
	for (i = 0; i < n; i++) {
		char *dup = NULL;

		if (names == NULL ||
		    asprintf(&dup, "%s%s", to, v[i]->path + strlen(from)) < 0)
			dup = NULL;
		if (dup == NULL) {
			/* it can no longer tell its name: treat it as gone */
			log_err("%s: out of memory following a rename", to);
			v[i]->gone = true;
			continue;
		}
		free(v[i]->path);
		v[i]->path = dup;
		names[i] = strdup(dup);
	}
	pthread_mutex_unlock(&ctx->lock);
	/* A spool uploads under the file's name: follow the rename. */
	for (i = 0; i < n; i++) {
		bool gone;

		pthread_mutex_lock(&v[i]->io);
		pthread_mutex_lock(&ctx->lock);
		gone = v[i]->gone;
		pthread_mutex_unlock(&ctx->lock);
		if (gone)
			fs_file_detach_locked(ctx, v[i]);
		else if (v[i]->sp != NULL &&
		    (names[i] == NULL || spool_rename(v[i]->sp, names[i]) < 0))
			fs_file_detach_locked(ctx, v[i]);
		else if (v[i]->bf != NULL && names[i] != NULL &&
		    ctx->be->ops->renamed != NULL)
			ctx->be->ops->renamed(ctx->be, v[i]->bf, names[i]);
		pthread_mutex_unlock(&v[i]->io);
		if (names != NULL)
			free(names[i]);
	}
	free(names);
	if (n > 0)
		fs_files_unref(ctx, v, n);
}

static bool
fs_spool_is(const struct fs_file *f, const char *path)
{
	return !f->gone && (f->flags & BO_WRITE) && fs_file_is(f, path);
}

void
fs_files_mtime_set(
    struct fs_ctx *ctx, const char *path, const struct timespec *mtime)
{
	struct fs_file **v;
	size_t n, i;

	pthread_mutex_lock(&ctx->lock);
	v = fs_files_collect(ctx, path, fs_spool_is, &n);
	pthread_mutex_unlock(&ctx->lock);
	for (i = 0; i < n; i++) {
		pthread_mutex_lock(&v[i]->io);
		if (v[i]->sp != NULL)
			spool_base_mtime(v[i]->sp, *mtime);
		pthread_mutex_unlock(&v[i]->io);
	}
	if (n > 0)
		fs_files_unref(ctx, v, n);
}

void
fs_files_truncated(struct fs_ctx *ctx, const char *path, off_t size)
{
	struct fs_file *f;

	pthread_mutex_lock(&ctx->lock);
	for (f = ctx->files; f != NULL; f = f->next)
		if (fs_spool_is(f, path) && f->how == WH_PWRITE)
			f->size = size;
	pthread_mutex_unlock(&ctx->lock);
}

struct spool *
fs_files_spool_of(struct fs_ctx *ctx, const char *path)
{
	struct spool *sp = NULL;
	struct fs_file *g;

	pthread_mutex_lock(&ctx->lock);
	for (g = ctx->files; g != NULL && sp == NULL; g = g->next)
		if (g->sp != NULL && g->how == WH_SPOOL && !g->conflict &&
		    fs_attached_is(g, path))
			sp = spool_ref(g->sp);
	pthread_mutex_unlock(&ctx->lock);
	return sp;
}

void
fs_files_uploaded(struct fs_ctx *ctx, struct fs_file *f)
{
	struct fs_file *g;

	pthread_mutex_lock(&ctx->lock);
	for (g = ctx->files; g != NULL; g = g->next)
		if (g != f && g->sp != NULL && g->sp != f->sp &&
		    fs_attached_is(g, f->path))
			g->conflict = true;
	pthread_mutex_unlock(&ctx->lock);
}

/* The handle holding path's gate, other than f (ctx->lock held). */
static struct fs_file *
fs_gate_holder(struct fs_ctx *ctx, const struct fs_file *f)
{
	struct fs_file *g;

	for (g = ctx->files; g != NULL; g = g->next)
		if (g != f && g->gate && fs_file_is(g, f->path))
			return g;
	return NULL;
}

/*
 * A holder keeps the gate between its writes (its APPE stays open, for
 * speed), so a second appender does not wait for it to close: it makes
 * the holder end its append (fs_file_flush: the APPE is finished and
 * checked, or its local copy uploaded) and takes over.
 */
void
fs_gate_enter(struct fs_ctx *ctx, struct fs_file *f)
{
	struct fs_file *h;
	int rc;

	pthread_mutex_lock(&ctx->lock);
	while (!f->gate && !f->gone && (h = fs_gate_holder(ctx, f)) != NULL) {
		h->refs++;
		pthread_mutex_unlock(&ctx->lock);
		pthread_mutex_lock(&h->io);
		rc = fs_file_flush(ctx, h);
		if (rc < 0 && h->werr == 0)
			h->werr = rc; /* its writer learns of it at close */
		/* Before h->io goes: h's next write must enter again. */
		pthread_mutex_lock(&ctx->lock);
		h->gate = false; /* even after a failure: it ended */
		h->refs--;
		pthread_cond_broadcast(&ctx->unref);
		pthread_mutex_unlock(&h->io);
	}
	f->gate = true;
	pthread_mutex_unlock(&ctx->lock);
}

void
fs_gate_leave(struct fs_ctx *ctx, struct fs_file *f)
{
	pthread_mutex_lock(&ctx->lock);
	f->gate = false;
	pthread_cond_broadcast(&ctx->unref);
	pthread_mutex_unlock(&ctx->lock);
}

/* ---- names hidden by libfuse ------------------------------------------ */

bool
fs_is_hidden_name(const char *path)
{
	const char *base;

	if (path == NULL)
		return false;
	base = strrchr(path, '/');
	base = base != NULL ? base + 1 : path;
	return strncmp(base, HIDDEN_PREFIX, strlen(HIDDEN_PREFIX)) == 0;
}

static void
fs_hide_free(struct fs_hide *h)
{
	free(h->orig);
	free(h->hidden);
	free(h->server);
	free(h);
}

/*
 * libfuse hides a file in two cases it does not tell apart: unlink(b)
 * while b is open, and rename(a, b) while b is open.  In the first the
 * unlink must have removed b from the server when it returns (another
 * client may create b the next moment, and a removal after that would
 * delete their file); in the second b must survive a failure of the
 * rename that follows, which libfuse makes at once on the same thread
 * (fs_hide_claim).  So hiding moves b's file aside to a name of ours on
 * the server, at once: the unlink is done, and a failed rename moves it
 * back (fs_hide_claimed).  A rename over an open file is therefore not
 * atomic for other clients (b is missing for a moment, as with sshfs).
 */
static bool
fs_ts_before(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec < b->tv_sec ||
	    (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

static void fs_hide_remove(struct fs_ctx *ctx, struct fs_hide *h);

/*
 * Removes the kept file of a hidden name once its grace is over, so that
 * it does not stay on the server while the mount is otherwise idle.
 */
static void *
fs_settler(void *arg)
{
	struct fs_ctx *ctx = arg;
	struct fs_hide **pp, *h, *due;
	struct timespec now, next;
	bool have_next;

	pthread_mutex_lock(&ctx->lock);
	while (!ctx->settler_stop) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		due = NULL;
		have_next = false;
		for (pp = &ctx->hides; *pp != NULL;) {
			h = *pp;
			if (!fs_ts_before(&now, &h->due)) {
				*pp = h->next;
				h->next = due;
				due = h;
				ctx->hides_busy++;
				continue;
			}
			if (!have_next || fs_ts_before(&h->due, &next))
				next = h->due;
			have_next = true;
			pp = &h->next;
		}
		if (due != NULL) {
			pthread_mutex_unlock(&ctx->lock);
			for (; due != NULL; due = h) {
				h = due->next;
				fs_hide_remove(ctx, due);
			}
			pthread_mutex_lock(&ctx->lock);
			continue;
		}
		if (have_next)
			pthread_cond_timedwait(
			    &ctx->hide_cond, &ctx->lock, &next);
		else
			pthread_cond_wait(&ctx->hide_cond, &ctx->lock);
	}
	pthread_mutex_unlock(&ctx->lock);
	return NULL;
}

/* ctx->lock held.  Without the thread, the next operation settles. */
static void
fs_settler_start_locked(struct fs_ctx *ctx)
{
	if (ctx->settler_running || ctx->settler_stop)
		return;
	if (pthread_create(&ctx->settler, NULL, fs_settler, ctx) == 0)
		ctx->settler_running = true;
	else
		log_warn("no thread for removals of files unlinked while "
		         "open; the next operation does them");
}

void
fs_settler_stop(struct fs_ctx *ctx)
{
	bool running;

	pthread_mutex_lock(&ctx->lock);
	ctx->settler_stop = true;
	running = ctx->settler_running;
	ctx->settler_running = false;
	pthread_cond_broadcast(&ctx->hide_cond);
	pthread_mutex_unlock(&ctx->lock);
	if (running)
		pthread_join(ctx->settler, NULL);
}

/* A hide of from (kept on the server as server), due after
 * HIDE_GRACE_NS; NULL: no memory. */
static struct fs_hide *
fs_hide_new(const char *from, const char *hidden, const char *server)
{
	struct fs_hide *h = calloc(1, sizeof(*h));

	if (h == NULL || (h->orig = strdup(from)) == NULL ||
	    (h->hidden = strdup(hidden)) == NULL ||
	    (h->server = strdup(server)) == NULL) {
		if (h != NULL)
			fs_hide_free(h);
		return NULL;
	}
	h->thread = pthread_self();
	clock_gettime(CLOCK_MONOTONIC, &h->due);
	h->due.tv_nsec += HIDE_GRACE_NS;
	if (h->due.tv_nsec >= 1000000000L) {
		h->due.tv_sec++;
		h->due.tv_nsec -= 1000000000L;
	}
	return h;
}

/* ctx->lock held: h joins the pending hides. */
static void
fs_hide_add_locked(struct fs_ctx *ctx, struct fs_hide *h)
{
	fs_settler_start_locked(ctx);
	h->next = ctx->hides;
	ctx->hides = h;
	atomic_fetch_add(&ctx->hides_pending, 1);
	pthread_cond_broadcast(&ctx->hide_cond);
}

/* ".NAME.ftpfs-gone-XXXXXX" beside path: where a hidden file waits (NAME
   cut to BACKEND_TEMP_NAME_MAX bytes, so that it fits in 255). */
static int
fs_keep_name(const char *path, char *out, size_t size)
{
	static atomic_uint seq;
	const char *base = strrchr(path, '/');
	size_t dl = base != NULL ? (size_t)(base - path) : 0;
	struct timespec ts;
	unsigned r;

	clock_gettime(CLOCK_REALTIME, &ts);
	r = (unsigned)getpid() ^ (unsigned)ts.tv_nsec ^
	    (atomic_fetch_add(&seq, 1) * 2654435761u);
	if ((size_t)snprintf(out, size, "%.*s/.%.*s.ftpfs-gone-%06x", (int)dl,
	        path, BACKEND_TEMP_NAME_MAX, base != NULL ? base + 1 : path,
	        r & 0xffffff) >= size)
		return -ENAMETOOLONG;
	return 0;
}

int
fs_hide(struct fs_ctx *ctx, const char *from, const char *hidden)
{
	struct backend *be = ctx->be;
	struct fs_hide *h = NULL;
	struct fs_file **v;
	char keep[PATH_MAX];
	size_t n, i;
	char *dup;
	int rc;

	/*
	 * The handles first: an upload still running to from is abandoned
	 * before its file moves, so that nothing judges or removes it under
	 * a name that is no longer its own.
	 */
	pthread_mutex_lock(&ctx->lock);
	v = fs_files_collect(ctx, from, fs_attached_is, &n);
	for (i = 0; i < n; i++) {
		v[i]->gone = true;
		v[i]->ghost = true;
		dup = strdup(hidden);
		if (dup != NULL) {
			free(v[i]->path);
			v[i]->path = dup;
		}
	}
	pthread_mutex_unlock(&ctx->lock);
	fs_files_detach_all(ctx, v, n);

	rc = fs_keep_name(from, keep, sizeof(keep));
	if (rc == 0)
		rc = be->ops->rename(be, from, keep, 0);
	if (rc == 0) {
		h = fs_hide_new(from, hidden, keep);
		if (h == NULL) {
			rc = be->ops->unlink(be, keep);
			if (rc < 0 && rc != -ENOENT)
				log_err("%s: unlinked while open, its file "
				        "stays on the server as %s: %s",
				    from, keep, strerror(-rc));
			return 0;
		}
		h->remove = true;
		pthread_mutex_lock(&ctx->lock);
		fs_hide_add_locked(ctx, h);
		pthread_mutex_unlock(&ctx->lock);
		log_debug("%s: open while its name goes; now %s, kept as %s",
		    from, hidden, keep);
		return 0;
	}
	if (rc == -ENOENT)
		return 0; /* nothing on the server to hide */
	/*
	 * Refused (a server that allows deleting but not renaming): remove
	 * it.  Not after an I/O error: the rename may have happened, and the
	 * name may be another client's file by now.
	 */
	if (rc != -EPERM && rc != -EACCES && rc != -ENOSYS && rc != -EROFS &&
	    rc != -ENAMETOOLONG)
		return rc;
	log_debug("%s: not moved aside (%s); removing it", from, strerror(-rc));
	rc = be->ops->unlink(be, from);
	return rc == -ENOENT ? 0 : rc;
}

/*
 * fs_hide for a backend whose handles outlive their names (BCAP_HANDLES,
 * SFTP): the file moves to the hidden name on the server, so the open
 * handles keep reading and writing it (and can open it again under that
 * name after a lost session); libfuse's unlink of the hidden name at the
 * last release removes it there.
 */
int
fs_hide_on_server(struct fs_ctx *ctx, const char *from, const char *hidden)
{
	struct backend *be = ctx->be;
	struct fs_hide *h;
	int rc;

	rc = be->ops->rename(be, from, hidden, RENAME_NOREPLACE);
	if (rc < 0)
		return rc;
	fs_files_renamed(ctx, from, hidden);
	h = fs_hide_new(from, hidden, hidden);
	if (h != NULL) {
		pthread_mutex_lock(&ctx->lock);
		fs_hide_add_locked(ctx, h);
		pthread_mutex_unlock(&ctx->lock);
	}
	log_debug(
	    "%s: open while its name goes; now %s on the server", from, hidden);
	return 0;
}

struct fs_hide *
fs_hide_claim(struct fs_ctx *ctx, const char *path)
{
	struct fs_hide **pp, *h = NULL;

	if (atomic_load(&ctx->hides_pending) == 0)
		return NULL;
	pthread_mutex_lock(&ctx->lock);
	for (pp = &ctx->hides; *pp != NULL; pp = &(*pp)->next) {
		if (strcmp((*pp)->orig, path) == 0 &&
		    pthread_equal((*pp)->thread, pthread_self())) {
			h = *pp;
			*pp = h->next;
			atomic_fetch_sub(&ctx->hides_pending, 1);
			break;
		}
	}
	pthread_mutex_unlock(&ctx->lock);
	return h;
}

void
fs_hide_claimed(struct fs_ctx *ctx, struct fs_hide *h, int rc)
{
	struct backend *be = ctx->be;
	int rrc;

	if (rc == 0) {
		if (!h->remove) {
			fs_hide_free(h);
			return;
		}
		/* replaced: the old file goes when the settler comes */
		clock_gettime(CLOCK_MONOTONIC, &h->due);
		pthread_mutex_lock(&ctx->lock);
		fs_hide_add_locked(ctx, h);
		pthread_mutex_unlock(&ctx->lock);
		return;
	}
	/* The rename over it failed: the old file takes its name back. */
	rrc = be->ops->rename(be, h->server, h->orig, RENAME_NOREPLACE);
	if (rrc == 0) {
		if (!h->remove)
			fs_files_renamed(ctx, h->server, h->orig);
		log_info("%s: the rename over it failed (%s); the file is "
		         "back",
		    h->orig, strerror(-rc));
	} else {
		log_err("%s: the rename over it failed (%s) and its file "
		        "could not be put back (%s); it is on the server as %s",
		    h->orig, strerror(-rc), strerror(-rrc), h->server);
	}
	fs_hide_free(h);
}

/* h was taken off ctx->hides and counted in ctx->hides_busy. */
static void
fs_hide_remove(struct fs_ctx *ctx, struct fs_hide *h)
{
	struct backend *be = ctx->be;
	int rc = 0;

	/* Only our own name is removed: never the name that was hidden. */
	if (h->remove && h->server != NULL)
		rc = be->ops->unlink(be, h->server);
	if (rc < 0 && rc != -ENOENT)
		log_err("%s: unlinked while open, its file stays on the "
		        "server as %s: %s",
		    h->orig, h->server, strerror(-rc));
	fs_hide_free(h);
	pthread_mutex_lock(&ctx->lock);
	ctx->hides_busy--;
	atomic_fetch_sub(&ctx->hides_pending, 1);
	pthread_cond_broadcast(&ctx->hide_cond);
	pthread_mutex_unlock(&ctx->lock);
}

/*
 * Also waits for removals another thread (the settler, say) has begun:
 * a kept file must be gone before its folder is removed or renamed, or
 * listed.
 */
void
fs_hides_settle(struct fs_ctx *ctx)
{
	struct fs_hide *h, *next;

	if (atomic_load(&ctx->hides_pending) == 0)
		return;
	pthread_mutex_lock(&ctx->lock);
	for (;;) {
		h = ctx->hides;
		ctx->hides = NULL;
		if (h != NULL) {
			for (next = h; next != NULL; next = next->next)
				ctx->hides_busy++;
			pthread_mutex_unlock(&ctx->lock);
			for (; h != NULL; h = next) {
				next = h->next;
				fs_hide_remove(ctx, h);
			}
			pthread_mutex_lock(&ctx->lock);
			continue;
		}
		if (ctx->hides_busy == 0)
			break;
		pthread_cond_wait(&ctx->hide_cond, &ctx->lock);
	}
	pthread_mutex_unlock(&ctx->lock);
}

static bool
fs_ghost_is(const struct fs_file *f, const char *path)
{
	return f->ghost && fs_file_is(f, path);
}

bool
fs_hidden_attr(struct fs_ctx *ctx, const char *path, struct stat *st)
{
	struct backend_attr a;
	struct fs_file *f;
	bool found = false;

	pthread_mutex_lock(&ctx->lock);
	for (f = ctx->files; f != NULL; f = f->next) {
		if (!fs_ghost_is(f, path))
			continue;
		a = f->attr;
		if (f->flags & BO_WRITE) {
			a.size = (uint64_t)f->size;
			a.valid |= BA_SIZE;
			a.mode = (a.mode & S_IFMT) | (f->mode & 07777);
		}
		found = true;
		break;
	}
	pthread_mutex_unlock(&ctx->lock);
	if (found) {
		fs_fill_stat(ctx, &a, st);
		st->st_nlink = 0; /* as fstat(2) of an unlinked file */
	}
	return found;
}

int
fs_hidden_unlink(struct fs_ctx *ctx, const char *path)
{
	struct fs_hide **pp, *h = NULL;

	pthread_mutex_lock(&ctx->lock);
	for (pp = &ctx->hides; *pp != NULL; pp = &(*pp)->next) {
		if (strcmp((*pp)->hidden, path) == 0) {
			h = *pp;
			*pp = h->next;
			ctx->hides_busy++;
			break;
		}
	}
	pthread_mutex_unlock(&ctx->lock);
	if (h != NULL)
		fs_hide_remove(ctx, h);
	return 0; /* a hidden name never exists on the server */
}
