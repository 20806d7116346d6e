/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fs_read: FUSE READ.  Sequential reads of a plain reader go from the data
 * socket through a pipe into /dev/fuse (splice), without a copy through
 * our memory; everything else is read into memory (fs_read).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <unistd.h>

#include "fahead.h"
#include "fs_file.h"
#include "log.h"
#include "net.h"
#include "spool.h"

/*
 * Each FUSE thread's pipe (fs_read_buf): 1 MiB, 256 slots, the default
 * /proc/sys/fs/pipe-max-size, which anyone may ask for.  libfuse's own
 * pipe, which every spliced reply goes through, cannot grow past that
 * size either (not without CAP_SYS_RESOURCE, which root lacks in
 * containers), and must hold the reply's header too.  READs up to the
 * readahead size are spliced, bigger ones (direct_io) come from memory.
 */
#define FS_PIPE_SIZE (1024 * 1024)
#define FS_PIPE_DATA FS_READAHEAD_MAX
/* Pipe overflows in a row after which a handle stops splicing its socket. */
#define FS_PIPE_MISSES 4

/*
 * Reads through a pipe (fs_read_buf): each FUSE thread has its own, made
 * on its first read, big enough for the largest READ.  Both ends are
 * O_NONBLOCK: nobody ever waits on it.
 */
struct fs_pipe {
	int rd, wr; /* -1: this thread could not get one, use memory */
	/* FS_PIPE_DATA page-aligned bytes for fs_pipe_gift, or NULL */
	char *scratch;
};

static void
fs_pipe_free(void *arg)
{
	struct fs_pipe *p = arg;

	if (p == NULL)
		return;
	if (p->rd >= 0)
		close(p->rd);
	if (p->wr >= 0)
		close(p->wr);
	free(p->scratch);
	free(p);
}

/* A pipe of FS_PIPE_SIZE in fds; 0 or -errno (-EPERM: over a limit). */
static int
fs_pipe_open(int fds[2])
{
	int rc;

	if (pipe2(fds, O_NONBLOCK | O_CLOEXEC) < 0)
		return -errno;
	if (fcntl(fds[1], F_SETPIPE_SZ, FS_PIPE_SIZE) < 0) {
		rc = -errno;
		close(fds[0]);
		close(fds[1]);
		return rc;
	}
	return 0;
}

/* The calling thread's pipe, NULL when it has none (use memory then). */
static struct fs_pipe *
fs_pipe_get(struct fs_ctx *ctx)
{
	struct fs_pipe *p = pthread_getspecific(ctx->pipe_key);
	int fds[2], rc;

	if (p != NULL)
		return p->rd >= 0 ? p : NULL;
	p = malloc(sizeof(*p));
	if (p == NULL)
		return NULL;
	p->rd = p->wr = -1;
	p->scratch = NULL;
	rc = fs_pipe_open(fds);
	if (rc == 0) {
		p->rd = fds[0];
		p->wr = fds[1];
	} else {
		log_warn("no pipe for reads on this thread: %s", strerror(-rc));
	}
	if (pthread_setspecific(ctx->pipe_key, p) != 0) {
		fs_pipe_free(p);
		return NULL;
	}
	return p->rd >= 0 ? p : NULL;
}

/*
 * Throw away what the last reply left in the pipe: libfuse gives up on a
 * reply it cannot send (the request was interrupted, say) without reading
 * it.  Our next reply must not start with those bytes.
 */
static void
fs_pipe_drain(struct fs_pipe *p)
{
	char junk[16384];
	int queued = 0;

	if (ioctl(p->rd, FIONREAD, &queued) < 0 || queued == 0)
		return;
	log_debug("dropping %d stale bytes from the read pipe", queued);
	while (read(p->rd, junk, sizeof(junk)) > 0)
		;
}

void
fs_splice_fini(struct fs_ctx *ctx)
{
	if (!ctx->splice_read)
		return;
	/* Threads that ended freed theirs; this one may have one. */
	fs_pipe_free(pthread_getspecific(ctx->pipe_key));
	pthread_setspecific(ctx->pipe_key, NULL);
	pthread_key_delete(ctx->pipe_key);
	ctx->splice_read = false;
}

/*
 * Replies to READ come from a pipe (fs_read_buf) when the backend can fill
 * one and the kernel takes spliced replies, FUSE_CAP_SPLICE_WRITE, which
 * we then ask for.  libfuse moves such a reply from our pipe into a pipe
 * of its own and from there into /dev/fuse; the only copy left is the
 * kernel's, from the socket's pages into the page cache.  No pipe of
 * FS_PIPE_SIZE (a lowered /proc/sys/fs/pipe-max-size): reads go through
 * memory, as before.  Only as root: an ordinary user's pipes count against
 * his pipe quota (/proc/sys/fs/pipe-user-pages-soft, 64 MiB), and ours, a
 * few MiB with libfuse's, would make his other pipes small once it is
 * spent; his READs are 128 KiB anyway (main_raise_readahead).
 */
void
fs_splice_init(struct fs_ctx *ctx, struct fuse_conn_info *conn)
{
	int fds[2], rc;

	if (ctx->be->ops->read_pipe == NULL ||
	    !(conn->capable & FUSE_CAP_SPLICE_WRITE) || geteuid() != 0)
		return;
	rc = fs_pipe_open(fds);
	if (rc < 0) {
		log_info("reads are copied: no %d-byte pipe (%s)", FS_PIPE_SIZE,
		    strerror(-rc));
		return;
	}
	close(fds[0]);
	close(fds[1]);
	if (pthread_key_create(&ctx->pipe_key, fs_pipe_free) != 0)
		return;
	ctx->splice_read = true;
	conn->want |= FUSE_CAP_SPLICE_WRITE;
	log_debug("reads are spliced");
}

/*
 * A reader whose whole-file buffer went stale (fahead_read: written
 * through the mount since): from the server, on a handle opened now by
 * name (f->rbf, under f->io, which serialises these reads;
 * fs_read_by_name_locked reads there with it held).
 */
static int
fs_read_by_name_locked(
    struct fs_file *f, const char *path, char *buf, size_t size, off_t off)
{
	struct backend *be = fs_be();
	size_t done = 0;
	ssize_t n = 0;
	int rc = 0;

	if (f->rbf == NULL)
		rc = be->ops->open(be, path, BO_READ, 0, -1, &f->rbf);
	while (rc == 0 && done < size) {
		n = be->ops->read(
		    be, f->rbf, buf + done, size - done, off + (off_t)done);
		if (n < 0)
			rc = (int)n;
		if (n <= 0)
			break;
		done += (size_t)n;
	}
	return rc < 0 ? rc : (int)done;
}

static int
fs_read_stale_ahead(
    struct fs_file *f, const char *path, char *buf, size_t size, off_t off)
{
	int rc;

	if (path == NULL)
		return -EIO; /* nameless: no way back to the server's file */
	pthread_mutex_lock(&f->io);
	rc = fs_read_by_name_locked(f, path, buf, size, off);
	pthread_mutex_unlock(&f->io);
	return rc;
}

/*
 * A reader's bytes against where its file ends as far as the handle knows
 * (at first the size at open, which is what the kernel was told: the
 * cached listing).  Another client may have replaced or changed the file
 * since: the kernel cuts reads at the size it has, so a file that grew
 * would read as its new content cut where the old one ended.  When the
 * bytes go past that end, or end before it, the cached attributes are
 * dropped: the kernel, asked to read past its size, first asks getattr
 * (attr_timeout is 0, fs_init), which now asks the server, and the reader
 * gets the rest.  A read that ends exactly at that end (a size the kernel
 * reads in whole pages never shows more) is followed by a read of one
 * byte past it, which the backends have at hand (FTP's stream has read
 * on, SFTP's read-ahead asks one byte past the size).  got < asked: the
 * file ends at off + got.
 */
static void
fs_read_saw(struct fs_ctx *ctx, struct fs_file *f, const char *path, off_t off,
    size_t asked, size_t got)
{
	int64_t known = atomic_load(&f->known_end);
	int64_t end = (int64_t)off + (int64_t)got;
	bool eof = got < asked;
	ssize_t n;
	char c;

	if ((f->flags & (BO_READ | BO_WRITE)) != BO_READ || known < 0 ||
	    path == NULL)
		return;
	if (!eof && end == known && f->bf != NULL) {
		n = ctx->be->ops->read(ctx->be, f->bf, &c, 1, (off_t)end);
		if (n <= 0)
			return; /* it ends there (or the probe failed) */
		end++;
	}
	if (end <= known && !(eof && end < known))
		return;
	atomic_store(&f->known_end, end);
	log_debug("%s: %s than the %jd bytes it had: changed on the server",
	    path, end > known ? "longer" : "shorter", (intmax_t)known);
	if (ctx->be->ops->invalidate != NULL)
		ctx->be->ops->invalidate(ctx->be, path);
	fahead_forget(ctx->fahead, path);
}

/*
 * A READ that failed after waiting (a frozen server, a dead link) is sent
 * again by the kernel at once: its readahead failed, and it then reads
 * the page itself.  Waiting out the deadline a second time would double
 * what the caller waits for one error (cat under a frozen server: 2 x
 * timeout), so the same READ within FS_REFAIL_MS of the failure fails
 * the same way at once.  A failure that came quickly is not repeated.
 */
#define FS_REFAIL_WAITED_MS 1000
#define FS_REFAIL_MS 1000

static int
fs_read_refail(struct fs_file *f, off_t off)
{
	int64_t at = atomic_load(&f->fail_ms);

	if (at == 0 || atomic_load(&f->fail_off) != (int64_t)off ||
	    net_now_ms() - at > FS_REFAIL_MS)
		return 0;
	atomic_store(&f->fail_ms, 0); /* once */
	return atomic_load(&f->fail_rc);
}

static void
fs_read_failed(struct fs_file *f, off_t off, int rc, int64_t t0)
{
	int64_t now = net_now_ms();

	if (rc >= 0 || rc == -EINTR || now - t0 < FS_REFAIL_WAITED_MS)
		return;
	atomic_store(&f->fail_off, (int64_t)off);
	atomic_store(&f->fail_rc, rc);
	atomic_store(&f->fail_ms, now);
}

/*
 * A reader's whole-file buffer (fahead) ends at end: is the file longer
 * now, as the kernel was told (it asks getattr before reading past the
 * size it has, attr_timeout 0)?  The cached stat says.
 */
static bool
fs_read_grown(const char *path, off_t end)
{
	struct backend *be = fs_be();
	struct backend_attr a;

	return path != NULL && be->ops->stat(be, path, &a) == 0 &&
	    (a.valid & BA_SIZE) && (off_t)a.size > end;
}

/*
 * A whole-file buffer's file grew (fs_read_grown): does the name still
 * hold that file, i.e. does what is there now start with the len bytes
 * the buffer holds?  Then its new bytes are this descriptor's (a log that
 * grows); another file renamed over it is not (a local file's descriptor
 * keeps the file it opened, and SFTP's would too): the descriptor's file
 * ends where its buffer does.  Asked once per descriptor, under f->io.
 */
static bool
fs_read_same_grown(struct fs_file *f, const char *path, off_t len)
{
	char *mine, *theirs;
	ssize_t n;
	int rc = 0;

	pthread_mutex_lock(&f->io);
	if (f->ab_grown != 0) {
		rc = f->ab_grown;
		pthread_mutex_unlock(&f->io);
		return rc > 0;
	}
	mine = malloc(len > 0 ? (size_t)len : 1);
	theirs = malloc(len > 0 ? (size_t)len : 1);
	if (mine == NULL || theirs == NULL)
		goto out;
	n = fahead_read(fs_ctx()->fahead, f->ab, mine, (size_t)len, 0);
	if (n != (ssize_t)len)
		goto out;
	n = fs_read_by_name_locked(f, path, theirs, (size_t)len, 0);
	if (n < 0)
		goto out;
	f->ab_grown =
	    n == (ssize_t)len && memcmp(mine, theirs, (size_t)len) == 0 ? 1
	                                                                : -1;
	if (f->ab_grown < 0)
		log_debug("%s: another file under the name: the descriptor's "
		          "ends at %jd",
		    path, (intmax_t)len);
	rc = f->ab_grown;
out:
	pthread_mutex_unlock(&f->io);
	free(mine);
	free(theirs);
	return rc > 0;
}

/* Loop over the backend's short reads: a short reply means EOF to FUSE. */
int
fs_read(const char *path, char *buf, size_t size, off_t off,
    struct fuse_file_info *fi)
{
	struct backend *be = fs_be();
	struct fs_file *f = fs_file_of(fi);
	size_t done = 0;
	ssize_t n = 0;
	int64_t t0;
	int rc;

	if (!(f->flags & BO_READ))
		return -EBADF;
	if (size > INT_MAX)
		size = INT_MAX;
	log_trace("%s: %zu bytes at %jd", path ? path : "(unlinked)", size,
	    (intmax_t)off);
	if ((f->flags & BO_WRITE) && f->how != WH_PWRITE) {
		/* read-write handles are spools; detached, the spool stays */
		pthread_mutex_lock(&f->io);
		n = f->sp != NULL ? spool_read(f->sp, buf, size, off) : -EIO;
		pthread_mutex_unlock(&f->io);
		return (int)n;
	}
	/* a whole file read ahead: what it was at open, unlinked or not,
	   until it is written through the mount */
	if (f->ab != NULL) {
		n = fahead_read(fs_ctx()->fahead, f->ab, buf, size, off);
		if (n == -ESTALE)
			return fs_read_stale_ahead(f, path, buf, size, off);
		if (n >= 0 && (size_t)n < size &&
		    fs_read_grown(path, off + (off_t)n) &&
		    fs_read_same_grown(f, path, off + (off_t)n)) {
			/* the rest of a file that grew since (tail -f) */
			rc = fs_read_stale_ahead(
			    f, path, buf + n, size - (size_t)n, off + (off_t)n);
			if (rc > 0)
				n += rc;
		}
		return (int)n;
	}
	/* (read-write handles of a pwrite backend read from the server) */
	if (fs_file_detached(fs_ctx(), f))
		return -EIO; /* the name now leads to another file, or none */
	if ((rc = fs_read_refail(f, off)) < 0)
		return rc;
	t0 = net_now_ms();
	while (done < size) {
		n = be->ops->read(
		    be, f->bf, buf + done, size - done, off + (off_t)done);
		/*
		 * An error after partial data still fails the request: a
		 * short reply would make the kernel shrink the file.
		 */
		if (n < 0) {
			fs_read_failed(f, off, (int)n, t0);
			return (int)n;
		}
		if (n == 0)
			break;
		done += (size_t)n;
	}
	fs_read_saw(fs_ctx(), f, path, off, size, done);
	return (int)done;
}

/*
 * A memory reply on a splicing mount: libfuse would copy it into its pipe
 * (it does that with every reply once FUSE_CAP_SPLICE_WRITE is on, one
 * copy more than a plain write to /dev/fuse).  Put its pages into our
 * pipe instead (vmsplice, no copy): the kernel then copies them once, as
 * before.  The pages must stay as they are until libfuse has sent the
 * reply: they are the thread's scratch buffer, used again only by the
 * thread's next READ, after the pipe was drained (a fresh malloc'd buffer
 * would be faulted in page by page on every READ: measured slower than
 * the copy it saves).  The pipe is empty and
 * the buffer page-aligned, so it always fits (len <= FS_PIPE_DATA); if
 * not, the reply stays in memory.
 */
static bool
fs_pipe_gift(struct fs_pipe *p, char *mem, size_t len)
{
	struct iovec iov = { .iov_base = mem, .iov_len = len };
	ssize_t n;

	n = vmsplice(p->wr, &iov, 1, SPLICE_F_NONBLOCK);
	if (n == (ssize_t)len)
		return true;
	if (n > 0)
		fs_pipe_drain(p);
	return false;
}

/*
 * fs_read for the kernel's READ, answered from the thread's pipe: where
 * the backend can fill it (->read_pipe, a plain reader's in-order READ)
 * the bytes go from the data socket to /dev/fuse without a trip through
 * our memory, which is what limits a sequential read.  What the pipe did
 * not get (a request out of order, a full pipe, a stream that broke) is
 * read by fs_read into memory and follows it in the reply; a reply that
 * is all memory (any handle) goes into the pipe by fs_pipe_gift.  A reply
 * shorter than asked means EOF to the kernel, so there is one only at EOF, as
 * with fs_read.  Whatever libfuse does with the reply, the backend's
 * stream position is right: it counted exactly the bytes it put into the
 * pipe.
 *
 * A pipe that fills before the READ is complete (a link whose packets
 * fill a slot with far less than a page) costs more than it saves: the
 * pipe part and libfuse's header no longer fit libfuse's pipe, which
 * then falls back to copying everything.  After FS_PIPE_MISSES such
 * READs in a row the handle reads into memory instead.
 */
int
fs_read_buf(const char *path, struct fuse_bufvec **bufp, size_t size, off_t off,
    struct fuse_file_info *fi)
{
	struct fs_ctx *ctx = fs_ctx();
	struct fs_file *f = fs_file_of(fi);
	struct fs_pipe *p = NULL;
	struct fuse_bufvec *bv = NULL;
	char *mem = NULL;
	ssize_t piped = -EAGAIN;
	size_t want, asked;
	int rest = 0, rc;
	bool gifted = false;

	*bufp = NULL;
	if (size > INT_MAX)
		size = INT_MAX;
	asked = size;
	if (ctx->splice_read && size > 0 && size <= FS_PIPE_DATA)
		p = fs_pipe_get(ctx);
	if (p != NULL) {
		fs_pipe_drain(p);
		if (f->bf != NULL &&
		    (f->flags & (BO_READ | BO_WRITE)) == BO_READ &&
		    !fs_file_detached(ctx, f) &&
		    atomic_load(&f->pipe_misses) < FS_PIPE_MISSES) {
			int64_t t0 = net_now_ms();

			if ((rc = fs_read_refail(f, off)) < 0)
				return rc;
			piped = ctx->be->ops->read_pipe(
			    ctx->be, f->bf, p->wr, size, off);
			if (piped < 0 && piped != -EAGAIN)
				fs_read_failed(f, off, (int)piped, t0);
		}
		if (piped < 0 && piped != -EAGAIN)
			return (int)piped;
	}
	if (piped < 0)
		piped = 0; /* all of it through memory */
	else if (piped == 0)
		size = 0; /* EOF */
	want = size - (size_t)piped;
	bv = malloc(sizeof(*bv) + sizeof(bv->buf[0]));
	if (bv == NULL) {
		rc = -ENOMEM;
		goto fail;
	}
	/*
	 * All of it from memory: into the thread's scratch buffer and from
	 * there into the pipe.  Smaller replies libfuse sends from memory as
	 * they are.
	 */
	if (p != NULL && piped == 0 && want >= 2 * 4096 &&
	    (p->scratch != NULL ||
	        posix_memalign((void **)&p->scratch, 4096, FS_PIPE_DATA) ==
	            0)) {
		rest = fs_read(path, p->scratch, want, off, fi);
		if (rest < 0) {
			rc = rest;
			goto fail;
		}
		if (rest >= 2 * 4096)
			gifted = fs_pipe_gift(p, p->scratch, (size_t)rest);
		if (!gifted && rest > 0) {
			mem = malloc((size_t)rest);
			if (mem == NULL) {
				rc = -ENOMEM;
				goto fail;
			}
			memcpy(mem, p->scratch, (size_t)rest);
		}
	} else if (want > 0) {
		mem = malloc(want);
		if (mem == NULL) {
			rc = -ENOMEM;
			goto fail;
		}
		rest = fs_read(path, mem, want, off + (off_t)piped, fi);
		if (rest < 0) {
			rc = rest;
			goto fail;
		}
	}
	if (want == 0) /* else fs_read saw the rest */
		fs_read_saw(ctx, f, path, off, asked, (size_t)piped);
	if (piped > 0 && rest > 0)
		atomic_fetch_add(&f->pipe_misses, 1);
	else if (piped > 0)
		atomic_store(&f->pipe_misses, 0);
	memset(bv, 0, sizeof(*bv) + sizeof(bv->buf[0]));
	if (piped > 0 || gifted) {
		bv->buf[bv->count++] = (struct fuse_buf){
			.size = gifted ? (size_t)rest : (size_t)piped,
			/* RETRY: libfuse reads all of it, not one read's */
			.flags = FUSE_BUF_IS_FD | FUSE_BUF_FD_RETRY,
			.fd = p->rd,
		};
	}
	if (!gifted) { /* libfuse frees mem after the reply */
		bv->buf[bv->count++] = (struct fuse_buf){
			.size = (size_t)rest,
			.mem = mem,
		};
	}
	*bufp = bv;
	return 0;
fail:
	if (piped > 0)
		fs_pipe_drain(p);
	free(mem);
	free(bv);
	return rc;
}
