/* SPDX-License-Identifier: GPL-2.0-or-later */
/* spool: local copies of files being rewritten (contract in spool.h). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "spool.h"

#define UPLOAD_CHUNK (1u << 20)

struct spool {
	/* Serialises every call: the handles sharing it run in parallel. */
	pthread_mutex_t lock;
	unsigned refs; /* spool_open and spool_ref; spool_close drops one */
	struct backend *be;
	char *path; /* remote (mount) path */
	char *local; /* spool file */
	int fd;
	uint64_t size; /* current logical size */
	uint64_t remote_size; /* remote bytes that may still need fetching */
	uint8_t *fetched; /* one bit per block below remote_size */
	size_t nblocks;
	struct backend_file *reader; /* lazily opened remote reader */
	mode_t mode;
	bool dirty;
	bool keep; /* an upload failed: keep the local file */
	/*
	 * The last upload failed and nothing was written since: the close
	 * that follows (the release, after close(2) has already reported
	 * the failure) does not try again behind the caller's back (a
	 * second temporary file on the server, an upload nobody waits for).
	 */
	bool failed;
	bool detached; /* no name on the server any more: never upload */
	bool refused; /* uploads refused (spool_refuse): keep the copy */
	bool has_base; /* base_*: the server's file as the copy began */
	bool base_has_mtime;
	uint64_t base_size;
	struct timespec base_mtime;
};

static atomic_uint spool_seq;

static bool
is_fetched(const struct spool *s, size_t b)
{
	return b >= s->nblocks || (s->fetched[b / 8] & (1u << (b % 8)));
}

static void
mark_fetched(struct spool *s, size_t b)
{
	if (b < s->nblocks)
		s->fetched[b / 8] |= (uint8_t)(1u << (b % 8));
}

static int
make_dir(const char *dir)
{
	struct stat st;

	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return -errno;
	if (stat(dir, &st) < 0)
		return -errno;
	if (!S_ISDIR(st.st_mode))
		return -ENOTDIR;
	return 0;
}

int
spool_dir_check(const char *dir)
{
	int rc = make_dir(dir);

	if (rc == 0 && access(dir, W_OK | X_OK) < 0)
		rc = -errno;
	return rc;
}

int
spool_open(struct backend *be, const char *path, uint64_t remote_size,
    mode_t mode, const char *dir, struct spool **out)
{
	struct spool *s;
	const char *base = strrchr(path, '/');
	int rc;

	rc = make_dir(dir);
	if (rc < 0) {
		log_err("spool directory %s: %s", dir, strerror(-rc));
		return rc;
	}
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return -ENOMEM;
	s->fd = -1;
	s->refs = 1;
	pthread_mutex_init(&s->lock, NULL);
	s->be = be;
	s->mode = mode;
	s->size = s->remote_size = remote_size;
	s->nblocks = (size_t)((remote_size + SPOOL_BLOCK - 1) / SPOOL_BLOCK);
	s->fetched = calloc(s->nblocks / 8 + 1, 1);
	s->path = strdup(path);
	/* (the name's start only, for a person looking at the spool: the
	   whole of a 250-byte name would not fit in a local name) */
	if (asprintf(&s->local, "%s/%ld-%u-%.64s", dir, (long)getpid(),
	        atomic_fetch_add(&spool_seq, 1), base ? base + 1 : path) < 0)
		s->local = NULL;
	if (s->fetched == NULL || s->path == NULL || s->local == NULL) {
		rc = -ENOMEM;
		goto fail;
	}
	s->fd = open(s->local, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (s->fd < 0 || ftruncate(s->fd, (off_t)remote_size) < 0) {
		rc = -errno;
		log_err("spool file %s: %s", s->local, strerror(-rc));
		goto fail;
	}
	log_debug("spooling %s in %s", path, s->local);
	*out = s;
	return 0;
fail:
	if (s->fd >= 0) {
		close(s->fd);
		unlink(s->local);
	}
	pthread_mutex_destroy(&s->lock);
	free(s->fetched);
	free(s->path);
	free(s->local);
	free(s);
	return rc;
}

/* Copy remote block b into the spool file. */
static int
fetch_block(struct spool *s, size_t b)
{
	uint64_t off = (uint64_t)b * SPOOL_BLOCK, end;
	char *buf;
	size_t got = 0, want;
	ssize_t r;
	int rc = 0;

	if (is_fetched(s, b))
		return 0;
	if (s->detached)
		return -EIO; /* what was not fetched is gone with the name */
	end = off + SPOOL_BLOCK;
	if (end > s->remote_size)
		end = s->remote_size;
	want = (size_t)(end - off);
	if (s->reader == NULL) {
		rc = s->be->ops->open(s->be, s->path, BO_READ, 0,
		    (int64_t)s->remote_size, &s->reader);
		if (rc < 0)
			return rc;
	}
	buf = malloc(want ? want : 1);
	if (buf == NULL)
		return -ENOMEM;
	while (got < want) {
		r = s->be->ops->read(s->be, s->reader, buf + got, want - got,
		    (off_t)(off + got));
		if (r < 0) {
			rc = (int)r;
			goto out;
		}
		if (r == 0)
			break; /* the remote file shrank: the rest reads as 0 */
		got += (size_t)r;
	}
	if (got > 0 && pwrite(s->fd, buf, got, (off_t)off) != (ssize_t)got) {
		rc = errno ? -errno : -EIO;
		goto out;
	}
	mark_fetched(s, b);
out:
	free(buf);
	return rc;
}

/*
 * After a local write of [off, off + len): every block it touches is now
 * complete locally (the partial ones at its edges were fetched first), so
 * none may be fetched later over the new bytes.
 */
static void
mark_written(struct spool *s, uint64_t off, uint64_t len)
{
	uint64_t end = off + len;
	size_t b;

	if (end > s->remote_size)
		end = s->remote_size;
	if (len == 0 || off >= end)
		return;
	for (b = (size_t)(off / SPOOL_BLOCK); (uint64_t)b * SPOOL_BLOCK < end;
	     b++)
		mark_fetched(s, b);
}

/* Fetch every unfetched block overlapping [off, off + len). */
static int
fetch_range(struct spool *s, uint64_t off, uint64_t len)
{
	uint64_t end = off + len;
	size_t b;
	int rc;

	if (end > s->remote_size)
		end = s->remote_size;
	if (len == 0 || off >= end)
		return 0;
	for (b = (size_t)(off / SPOOL_BLOCK); (uint64_t)b * SPOOL_BLOCK < end;
	     b++) {
		rc = fetch_block(s, b);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static ssize_t
spool_read_locked(struct spool *s, char *buf, size_t size, off_t off)
{
	ssize_t r;
	int rc;

	if (off < 0)
		return -EINVAL;
	if ((uint64_t)off >= s->size)
		return 0;
	if (size > s->size - (uint64_t)off)
		size = (size_t)(s->size - (uint64_t)off);
	rc = fetch_range(s, (uint64_t)off, size);
	if (rc < 0)
		return rc;
	r = pread(s->fd, buf, size, off);
	return r < 0 ? -errno : r;
}

static ssize_t
spool_write_locked(struct spool *s, const char *buf, size_t size, off_t off)
{
	ssize_t w;
	int rc;

	if (off < 0)
		return -EINVAL;
	/* Partial blocks keep their remote bytes around the write. */
	rc = fetch_range(s, (uint64_t)off, 1);
	if (rc == 0 && size > 0)
		rc = fetch_range(s, (uint64_t)off + size - 1, 1);
	if (rc < 0)
		return rc;
	w = pwrite(s->fd, buf, size, off);
	if (w < 0)
		return -errno;
	mark_written(s, (uint64_t)off, (uint64_t)w);
	if ((uint64_t)off + (uint64_t)w > s->size)
		s->size = (uint64_t)off + (uint64_t)w;
	s->dirty = true;
	s->failed = false;
	return w;
}

static int
spool_truncate_locked(struct spool *s, off_t size)
{
	int rc;

	if (size < 0)
		return -EINVAL;
	if ((uint64_t)size < s->remote_size) {
		/* Keep the remote bytes of the block the new end falls in. */
		if (size > 0) {
			rc = fetch_range(s, (uint64_t)size - 1, 1);
			if (rc < 0)
				return rc;
		}
		s->remote_size = (uint64_t)size;
	}
	if (ftruncate(s->fd, size) < 0)
		return -errno;
	s->size = (uint64_t)size;
	s->dirty = true;
	s->failed = false;
	return 0;
}

uint64_t
spool_size(struct spool *s)
{
	uint64_t n;

	pthread_mutex_lock(&s->lock);
	n = s->size;
	pthread_mutex_unlock(&s->lock);
	return n;
}

bool
spool_dirty(struct spool *s)
{
	bool d;

	pthread_mutex_lock(&s->lock);
	d = s->dirty;
	pthread_mutex_unlock(&s->lock);
	return d;
}

const char *
spool_local_path(const struct spool *s)
{
	return s->local;
}

/* Write the whole spool file into an open remote write stream. */
static int
upload_body(struct spool *s, struct backend_file *w)
{
	char *buf = malloc(UPLOAD_CHUNK);
	uint64_t off = 0;
	ssize_t r, n;
	int rc = 0;

	if (buf == NULL)
		return -ENOMEM;
	while (off < s->size) {
		size_t want = UPLOAD_CHUNK;

		if (want > s->size - off)
			want = (size_t)(s->size - off);
		r = pread(s->fd, buf, want, (off_t)off);
		if (r <= 0) {
			rc = r < 0 ? -errno : -EIO;
			break;
		}
		n = s->be->ops->write(s->be, w, buf, (size_t)r, (off_t)off);
		if (n < 0) {
			rc = (int)n;
			break;
		}
		off += (uint64_t)n;
	}
	free(buf);
	return rc;
}

/*
 * Has the server's file changed since the copy began?  Asked of the
 * backend itself, past the cache: another client may have written it.
 * A file that is gone is a change too (the copy would bring it back).
 */
static int
check_base(struct spool *s)
{
	struct backend_attr a;
	int rc;

	if (!s->has_base)
		return 0;
	memset(&a, 0, sizeof(a));
	if (s->be->ops->stat_now != NULL)
		rc = s->be->ops->stat_now(s->be, s->path, &a);
	else
		rc = s->be->ops->stat(s->be, s->path, &a);
	if (rc == -ENOENT && s->base_size == 0 && !s->base_has_mtime)
		return 0; /* created empty by us and not there yet */
	if (rc < 0) {
		log_err("%s: cannot tell whether it changed on the server "
		        "(%s); not overwriting it",
		    s->path, strerror(-rc));
		return -EIO;
	}
	if ((a.valid & BA_SIZE) && a.size != s->base_size) {
		log_err("%s changed on the server since it was opened (%" PRIu64
		        " bytes, was %" PRIu64 "); not overwriting it",
		    s->path, a.size, s->base_size);
		return -EIO;
	}
	if (s->base_has_mtime && (a.valid & BA_MTIME) &&
	    a.mtime.tv_sec != s->base_mtime.tv_sec) {
		log_err("%s changed on the server since it was opened (its "
		        "time moved by %lld s); not overwriting it",
		    s->path,
		    (long long)(a.mtime.tv_sec - s->base_mtime.tv_sec));
		return -EIO;
	}
	return 0;
}

static void
spool_set_base_locked(
    struct spool *s, uint64_t size, bool have_mtime, struct timespec mtime)
{
	s->has_base = true;
	s->base_size = size;
	s->base_has_mtime = have_mtime;
	s->base_mtime = mtime;
}

static void
spool_base_mtime_locked(struct spool *s, struct timespec mtime)
{
	if (s->has_base && s->base_has_mtime)
		s->base_mtime = mtime;
}

static void
spool_detach_locked(struct spool *s)
{
	s->detached = true;
	if (s->reader != NULL) {
		s->be->ops->release(s->be, s->reader);
		s->reader = NULL;
	}
}

static int
spool_refuse_locked(struct spool *s, const char *why)
{
	if (!s->refused && s->dirty)
		log_err("%s: %s; not uploading it, its data is kept in %s",
		    s->path, why, s->local);
	s->refused = true;
	s->keep = s->dirty;
	return -EIO;
}

/*
 * ".NAME.ftpfs-XXXXXX" beside path, NAME cut to BACKEND_TEMP_NAME_MAX
 * bytes: a name near the servers' 255-byte limit must still fit.
 */
static int
temp_name(const char *path, char *out, size_t size)
{
	const char *base = strrchr(path, '/');
	size_t dl = base ? (size_t)(base - path) : 0;
	unsigned r = (unsigned)getpid() ^ (unsigned)time(NULL) ^
	    (atomic_fetch_add(&spool_seq, 1) * 2654435761u);

	if ((size_t)snprintf(out, size, "%.*s/.%.*s.ftpfs-%06x", (int)dl, path,
	        BACKEND_TEMP_NAME_MAX, base ? base + 1 : path,
	        r & 0xffffff) >= size)
		return -ENAMETOOLONG;
	return 0;
}

/* The server could not be asked (as opposed to: it refused). */
static bool
unreached(int rc)
{
	switch (rc) {
	case -EIO:
	case -ETIMEDOUT:
	case -EPROTO:
	case -ECONNREFUSED:
	case -ECONNRESET:
	case -ECONNABORTED:
	case -EPIPE:
	case -ENOTCONN:
	case -EHOSTUNREACH:
	case -ENETUNREACH:
	case -ENETDOWN:
	case -EUSERS:
	case -EAGAIN:
	case -ESHUTDOWN:
		return true;
	default:
		return false;
	}
}

/*
 * Remove our temporary copy after a failed upload.  Tried twice: a DELE is
 * not retried by the backend (a lost reply may hide a success), but for a
 * name only we use a second try is safe, and -ENOENT then means done.
 * When the server could not be asked (the upload timed out and the server
 * counts as lost for a moment), the backend removes it once it answers
 * again; a refusal, or a backend that cannot, is named in the log.
 */
static void
remove_temp(struct spool *s, const char *tmp)
{
	const struct backend_ops *ops = s->be->ops;
	int rc = ops->unlink(s->be, tmp);

	if (rc < 0 && rc != -ENOENT)
		rc = ops->unlink(s->be, tmp);
	if (rc == 0 || rc == -ENOENT)
		return;
	if (unreached(rc) && ops->unlink_later != NULL) {
		ops->unlink_later(s->be, tmp, (uint64_t)s->size);
		return;
	}
	log_warn("%s: the temporary copy %s could not be removed (%s)", s->path,
	    tmp, strerror(-rc));
}

static int
spool_flush_locked(struct spool *s)
{
	const struct backend_ops *ops = s->be->ops;
	struct backend_file *w = NULL;
	char tmp[4096];
	bool in_place = false;
	int rc, rc2;

	if (s->refused)
		return -EIO;
	if (!s->dirty || s->detached)
		return 0;
	if (ops->write == NULL || ops->rename == NULL)
		return -EROFS;
	/* Everything not yet local must be: the upload sends the whole file. */
	rc = fetch_range(s, 0, s->remote_size);
	if (rc < 0)
		goto fail;
	if (s->reader != NULL) {
		ops->release(s->be, s->reader);
		s->reader = NULL;
	}
	rc = temp_name(s->path, tmp, sizeof(tmp));
	if (rc < 0)
		goto fail;
	rc =
	    ops->open(s->be, tmp, BO_WRITE | BO_CREATE | BO_TRUNC, 0600, 0, &w);
	if (rc < 0 && rc != -EACCES) {
		/*
		 * The server may have created it before the open failed (FTP:
		 * the connection reset after the STOR, its 150 lost): the
		 * name is ours.  (EACCES: refused, nothing was made.)
		 */
		remove_temp(s, tmp);
		goto fail;
	}
	if (rc == -EACCES) {
		/*
		 * The directory takes no new files, yet the file itself was
		 * found writable: overwrite it in place.  Not atomic: should
		 * this upload fail, the file is removed and the local copy
		 * kept, as for any failed upload.
		 */
		log_info("%s: no temporary file allowed beside it; uploading "
		         "in place",
		    s->path);
		in_place = true;
		rc = check_base(s);
		if (rc < 0) {
			s->refused = true;
			goto fail;
		}
		rc = ops->open(s->be, s->path, BO_WRITE | BO_TRUNC, 0, 0, &w);
	}
	if (rc < 0)
		goto fail;
	rc = upload_body(s, w);
	rc2 = ops->release(s->be, w);
	if (rc == 0)
		rc = rc2;
	if (rc < 0) {
		if (!in_place)
			remove_temp(s, tmp);
		goto fail;
	}
	/* As late as FTP allows: just before the new content replaces it. */
	if (!in_place && (rc = check_base(s)) < 0) {
		remove_temp(s, tmp);
		s->refused = true;
		goto fail;
	}
	if (!in_place) {
		/*
		 * The new content takes the mode the file had (in place, it
		 * keeps it) before it gets the file's name: a 0600 file is
		 * never readable by others under its name for a moment.
		 */
		if (s->mode != 0 && ops->chmod != NULL)
			ops->chmod(s->be, tmp, s->mode & 07777);
		rc = ops->rename(s->be, tmp, s->path, 0);
		if (rc < 0) {
			remove_temp(s, tmp);
			goto fail;
		}
	}
	s->dirty = false;
	s->keep = false;
	/* The server now has exactly the local copy (its time: unknown). */
	s->has_base = true;
	s->base_size = s->size;
	s->base_has_mtime = false;
	s->remote_size = s->size;
	free(s->fetched);
	s->nblocks = 0;
	s->fetched = calloc(1, 1);
	return s->fetched ? 0 : -ENOMEM;
fail:
	s->keep = true;
	s->failed = true;
	log_err("upload of %s failed (%s); its data is kept in %s", s->path,
	    strerror(-rc), s->local);
	return rc == -ENOSPC || rc == -EDQUOT ? rc : -EIO;
}

static int
spool_rename_locked(struct spool *s, const char *newpath)
{
	char *p = strdup(newpath);

	if (p == NULL)
		return -ENOMEM;
	free(s->path);
	s->path = p;
	return 0;
}

struct spool *
spool_ref(struct spool *s)
{
	pthread_mutex_lock(&s->lock);
	s->refs++;
	pthread_mutex_unlock(&s->lock);
	return s;
}

int
spool_close(struct spool *s)
{
	bool last;
	int rc;

	if (s == NULL)
		return 0;
	pthread_mutex_lock(&s->lock);
	rc = s->failed && s->dirty ? -EIO : spool_flush_locked(s);
	last = --s->refs == 0;
	pthread_mutex_unlock(&s->lock);
	if (!last)
		return rc;
	if (s->reader != NULL)
		s->be->ops->release(s->be, s->reader);
	close(s->fd);
	if (!s->keep)
		unlink(s->local);
	pthread_mutex_destroy(&s->lock);
	free(s->fetched);
	free(s->path);
	free(s->local);
	free(s);
	return rc;
}

/* ---- the public calls: each under the spool's lock ---------------------- */

ssize_t
spool_read(struct spool *s, char *buf, size_t size, off_t off)
{
	ssize_t r;

	pthread_mutex_lock(&s->lock);
	r = spool_read_locked(s, buf, size, off);
	pthread_mutex_unlock(&s->lock);
	return r;
}

ssize_t
spool_write(struct spool *s, const char *buf, size_t size, off_t off)
{
	ssize_t r;

	pthread_mutex_lock(&s->lock);
	r = spool_write_locked(s, buf, size, off);
	pthread_mutex_unlock(&s->lock);
	return r;
}

int
spool_truncate(struct spool *s, off_t size)
{
	int r;

	pthread_mutex_lock(&s->lock);
	r = spool_truncate_locked(s, size);
	pthread_mutex_unlock(&s->lock);
	return r;
}

int
spool_flush(struct spool *s)
{
	int r;

	pthread_mutex_lock(&s->lock);
	r = spool_flush_locked(s);
	pthread_mutex_unlock(&s->lock);
	return r;
}

int
spool_rename(struct spool *s, const char *newpath)
{
	int r;

	pthread_mutex_lock(&s->lock);
	r = spool_rename_locked(s, newpath);
	pthread_mutex_unlock(&s->lock);
	return r;
}

int
spool_refuse(struct spool *s, const char *why)
{
	int r;

	pthread_mutex_lock(&s->lock);
	r = spool_refuse_locked(s, why);
	pthread_mutex_unlock(&s->lock);
	return r;
}

void
spool_set_base(
    struct spool *s, uint64_t size, bool have_mtime, struct timespec mtime)
{
	pthread_mutex_lock(&s->lock);
	spool_set_base_locked(s, size, have_mtime, mtime);
	pthread_mutex_unlock(&s->lock);
}

void
spool_base_mtime(struct spool *s, struct timespec mtime)
{
	pthread_mutex_lock(&s->lock);
	spool_base_mtime_locked(s, mtime);
	pthread_mutex_unlock(&s->lock);
}

void
spool_detach(struct spool *s)
{
	pthread_mutex_lock(&s->lock);
	spool_detach_locked(s);
	pthread_mutex_unlock(&s->lock);
}
