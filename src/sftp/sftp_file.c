/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * sftp_file: open files of the SFTP backend (contract in
 * include/sftp_backend.h, internals in include/sftp_be.h).
 *
 * A file owns a parked session (pool_park_owner) and an SFTP handle on it.
 * Its requests in flight form one FIFO ring (replies arrive in request
 * order): READs ahead of a sequential reader, covering the contiguous
 * range [ring_off, next_off), or WRITEs not yet acknowledged.  Received
 * bytes wait in ahead, which always ends where the first outstanding READ
 * starts and keeps KEEP_BEHIND bytes below the furthest read, so that the
 * kernel's parallel reads may arrive in any order.  f->lock serialises the FUSE
 * threads that use one file (the kernel sends concurrent reads).
 *
 * A read-only handle that has read a large file sequentially for a while
 * hands the rest to the parallel read-ahead (sftp_prefetch.c) from
 * pf_start on: its own ring then stops there.  Whatever the prefetcher
 * cannot serve (a jump, EOF, an error) ends it, and the ring starts
 * again where the reader is.
 *
 * Large writes go behind the writer (wbq.h): write(2) returns once its
 * bytes are copied into the file's queue, whose thread sends them (the
 * libssh2 encryption, one core's worth at 200 MB/s) while the kernel
 * copies the next request in.  Everything that must see those bytes on
 * the server waits for the queue first: reads, flush, fsync and close of
 * the file (which report a failed write), and, through sb_wb_settle,
 * another handle's open of the path and a SETSTAT of it.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "net.h"
#include "sftp_be.h"
#include "wbq.h"

#define RING_MAX 64
#define RA_MIN (256 * 1024) /* first read-ahead window */
#define RA_MAX (8 * 1024 * 1024) /* largest (32 x 256K) */
/* An EOF seen this recently stands; later, a read past it asks again. */
#define SB_EOF_FRESH_MS 1000
/*
 * Bytes of WRITEs in flight behind a writer: half the 2 MiB window
 * OpenSSH grants a session channel.  With more (32 x
 * 128 KiB was 4 MiB) the sender stalls on the window with the
 * acknowledgements unread: 56 -> 118 MB/s for a 256 MiB upload when cut
 * to 1 MiB (4-6 requests of 128 KiB did the same).
 */
#define WB_BYTES (1024 * 1024)
#define WB_MAX 32 /* and at most this many WRITEs (small max_write) */
/* kept below the reader: the kernel's parallel reads come in any order */
#define KEEP_BEHIND (2 * 1024 * 1024)
#define AHEAD_MAX (4 * RA_MAX)
/* Parallel read-ahead: files this large, once the window is at RA_MAX,
   with this much left; after it failed, not again for PF_RETRY bytes. */
#define PF_MIN_FILE (32 * 1024 * 1024)
#define PF_MIN_LEFT (16 * 1024 * 1024)
#define PF_RETRY (64 * 1024 * 1024)
/*
 * Write-behind: a queue for a writer's first write of at least WBQ_MIN
 * bytes (cp writes 128 KiB, dd bs=1M 1 MiB; a small write costs less to
 * send than to hand over), WBQ_BYTES queued at most, WBQ_FILES queues in
 * a mount (beyond, writes go as they come): 16 MiB at most in all.
 */
#define WBQ_MIN (32 * 1024)
#define WBQ_BYTES (2 * 1024 * 1024)
#define WBQ_FILES 8

struct req {
	uint32_t id;
	uint64_t off;
	uint32_t len;
	bool write;
	int64_t sent_ms; /* a READ's EOF is as old as the READ */
};

struct backend_file {
	pthread_mutex_t lock;
	struct sftp_be *sb;
	char *abs;
	unsigned flags; /* BO_* */
	struct sb_conn *sc; /* parked between calls; NULL: none */
	struct sftp_handle h; /* valid while sc != NULL */
	struct req ring[RING_MAX];
	unsigned head, count;
	uint64_t next_off; /* next READ offset to request */
	uint64_t hi_off; /* the furthest byte read + 1 */
	uint32_t window; /* read-ahead bytes */
	struct buf ahead; /* received bytes; data[0] is at ahead_off */
	uint64_t ahead_off;
	int64_t eof_off; /* EOF seen there (at eof_ms); -1: not seen */
	int64_t eof_ms;
	int64_t known_size; /* hint from fs.c; -1 unknown */
	int werr; /* first failed WRITE, reported once */
	unsigned slot; /* sb_path_slot(abs) */
	unsigned gen_seen; /* sb->gen[slot] when ahead was valid */
	atomic_int reclaim_err; /* set by sb_file_reclaim */
	struct sb_prefetch *pf; /* parallel read-ahead from pf_start; NULL */
	uint64_t pf_start; /* the ring requests nothing from here on */
	uint64_t pf_retry; /* no new pf before this offset */
	/* write-behind; wb is set once, by the writer, under wb_lock */
	struct wbq *wb;
	/* the fields below: under wb_lock */
	struct backend_file *wb_next; /* sb->wb_files (BO_WRITE files) */
	unsigned wb_slot; /* f->slot as sb_wb_settle sees it */
	unsigned settlers; /* sb_wb_settle calls using f */
	uint64_t settled_by; /* the last sb_wb_settle call that took f */
};

static int wb_drain(struct backend_file *f);

static void
ring_clear(struct backend_file *f)
{
	f->head = 0;
	f->count = 0;
}

static struct req *
ring_push(struct backend_file *f)
{
	struct req *r = &f->ring[(f->head + f->count) % RING_MAX];

	f->count++;
	return r;
}

static void
ahead_drop(struct backend_file *f)
{
	buf_reset(&f->ahead);
	f->ahead_off = f->next_off;
}

/*
 * Append received bytes.  What lies more than KEEP_BEHIND below the
 * furthest read is dropped once it is at least as long as what stays (so
 * each byte is moved at most once), or when the buffer would overflow.
 */
static int
ahead_append(struct backend_file *f, const uint8_t *p, size_t n)
{
	uint64_t drop = 0;

	if (f->hi_off > f->ahead_off + KEEP_BEHIND)
		drop = f->hi_off - KEEP_BEHIND - f->ahead_off;
	if (drop > f->ahead.len)
		drop = f->ahead.len;
	if (drop > 0 &&
	    (drop >= f->ahead.len - drop || f->ahead.len + n > AHEAD_MAX / 2)) {
		buf_consume(&f->ahead, (size_t)drop);
		f->ahead_off += drop;
	}
	return buf_append(&f->ahead, p, n);
}

/* OPEN abs on sc with pflags; 0 and f->h, or -errno. */
static int
open_handle(
    struct backend_file *f, struct sftp_conn *c, uint32_t pflags, mode_t mode)
{
	struct sftp_be *sb = f->sb;
	struct sftp_attrs at = { 0 };
	struct sftp_reply r;
	uint32_t id = sftp_conn_id(c);
	int rc;

	if (pflags & SSH_FXF_CREAT) {
		at.flags = SSH_FILEXFER_ATTR_PERMISSIONS;
		at.perm = mode & 07777;
	}
	rc = sftp_enc_open(sftp_conn_out(c), id, f->abs, pflags, &at);
	if (rc < 0) {
		sftp_conn_unqueue(c);
		return rc;
	}
	rc = sftp_conn_wait(c, id, &r, sb->tmo);
	if (rc < 0)
		return rc;
	if (r.type == SSH_FXP_HANDLE) {
		f->h = r.u.handle;
		return 0;
	}
	rc = sb_reply_errno(&r, "OPEN", f->abs);
	if (rc == -EIO) {
		/* FAILURE: EEXIST (O_EXCL) or EISDIR */
		struct sftp_attrs cur;

		if (sb_lstat(sb, c, f->abs, &cur) == 0)
			rc = (cur.flags & SSH_FILEXFER_ATTR_PERMISSIONS) &&
			        S_ISDIR(cur.perm)
			    ? -EISDIR
			    : (pflags & SSH_FXF_EXCL) ? -EEXIST
			                              : -EIO;
	}
	return rc == 0 ? -EPROTO : rc;
}

static uint32_t
pflags_of(unsigned flags)
{
	uint32_t p = 0;

	if (flags & BO_READ)
		p |= SSH_FXF_READ;
	if (flags & BO_WRITE)
		p |= SSH_FXF_WRITE;
	if (flags & BO_CREATE)
		p |= SSH_FXF_CREAT;
	if (flags & BO_TRUNC)
		p |= SSH_FXF_TRUNC;
	if (flags & BO_EXCL)
		p |= SSH_FXF_EXCL;
	if (flags & BO_APPEND)
		p |= SSH_FXF_APPEND;
	return p;
}

/*
 * OPEN for sb_open.  A file created here gets its mode set once more (the
 * server's umask masked it: sb_perm_again), but only one this OPEN is
 * sure to have made: POSIX leaves an existing file's mode alone, and a
 * name the mount saw missing (BO_NEW) may be another client's file by
 * now.  So a creating OPEN without O_EXCL goes with SSH_FXF_EXCL first,
 * and again without it only if the file turned out to exist.
 */
static int
open_create(
    struct backend_file *f, struct sftp_conn *c, unsigned flags, mode_t mode)
{
	uint32_t p = pflags_of(flags);
	bool made = false;
	int rc;

	if (!(p & SSH_FXF_CREAT) || !(flags & BO_NEW))
		return open_handle(f, c, p, mode);
	rc = open_handle(f, c, p | SSH_FXF_EXCL, mode);
	if (rc == 0)
		made = true;
	else if (rc == -EEXIST && !(p & SSH_FXF_EXCL))
		rc = open_handle(f, c, p, mode);
	if (made)
		sb_perm_again(f->sb, c, f->abs, &f->h, mode);
	return rc;
}

/*
 * Get the file's session back (f->lock held): unpark it, or, when the
 * pool reclaimed it, check out another and open the file again (without
 * CREAT/TRUNC/EXCL: it exists now and keeps what was written).
 */
/*
 * Take the parked session back (f->lock held): true when f holds it now;
 * false when it has none (never had, or it was reclaimed: then the handle
 * is closed and the ring drained).  Either way no reclaim of f's session
 * is under way afterwards.
 */
static bool
file_take(struct backend_file *f)
{
	int rc;

	if (f->sc == NULL)
		return false;
	if (pool_unpark_owner(f->sb->pool, f->sc, f))
		return true;
	f->sc = NULL;
	ring_clear(f);
	ahead_drop(f);
	rc = atomic_exchange(&f->reclaim_err, 0);
	if (rc < 0 && f->werr == 0)
		f->werr = rc;
	return false;
}

static int
file_conn(struct backend_file *f)
{
	struct sftp_be *sb = f->sb;
	int rc;

	if (file_take(f))
		return 0;
	rc = sb_get(sb, &f->sc);
	if (rc < 0) {
		f->sc = NULL;
		return rc;
	}
	rc = open_handle(f, f->sc->c,
	    pflags_of(f->flags & ~(unsigned)(BO_CREATE | BO_TRUNC | BO_EXCL)),
	    0);
	if (rc < 0) {
		sb_put(sb, f->sc);
		f->sc = NULL;
	}
	return rc;
}

/* Done with the session for now (f->lock held). */
static void
file_park(struct backend_file *f)
{
	if (f->sc == NULL)
		return;
	if (sftp_conn_broken(f->sc->c)) {
		/* WRITEs not acknowledged are lost with the session. */
		if (f->count > 0 && f->ring[f->head].write && f->werr == 0)
			f->werr = -EIO;
		sb_put(f->sb, f->sc);
		f->sc = NULL;
		ring_clear(f);
		ahead_drop(f);
		return;
	}
	f->sc->owner = f;
	pool_park_owner(f->sb->pool, f->sc, f);
}

/*
 * Take the reply to the oldest request in the ring.  READ: DATA is
 * appended to ahead; a short DATA or EOF ends the run of READs (the rest
 * of the ring is drained and dropped, the next READ asks again from where
 * the data ended).  WRITE: a failed status is latched in f->werr.
 * 0, or -errno for the session (broken) or a failed READ.
 */
static int
ring_pop(struct backend_file *f, struct sftp_conn *c)
{
	struct req q = f->ring[f->head];
	struct sftp_reply r;
	int rc;

	rc = sftp_conn_wait(c, q.id, &r, f->sb->tmo);
	if (rc < 0)
		return rc;
	f->head = (f->head + 1) % RING_MAX;
	f->count--;
	if (q.write) {
		rc = sb_reply_errno(&r, "WRITE", f->abs);
		if (rc < 0 && f->werr == 0)
			f->werr = rc;
		return 0;
	}
	if (r.type == SSH_FXP_DATA && r.u.data.len > 0 &&
	    r.u.data.len <= q.len) {
		rc = ahead_append(f, r.u.data.p, r.u.data.len);
		if (rc < 0)
			return rc;
		/* past the size fs.c gave: it grew, its size is unknown */
		if (f->known_size >= 0 &&
		    q.off + r.u.data.len > (uint64_t)f->known_size)
			f->known_size = -1;
		if (r.u.data.len == q.len)
			return 0;
		/* short read: not EOF (the server caps READs, 1.2) */
		f->next_off = q.off + r.u.data.len;
	} else if (r.type == SSH_FXP_STATUS && r.u.status.code == SSH_FX_EOF) {
		f->eof_off = (int64_t)q.off;
		f->eof_ms = q.sent_ms; /* the server's answer then, not now */
		f->next_off = q.off;
	} else {
		rc = sb_reply_errno(&r, "READ", f->abs);
		f->next_off = q.off;
		if (rc == 0)
			rc = -EPROTO;
	}
	/* Drop the READs behind it: they no longer join up. */
	while (f->count > 0 && rc <= 0) {
		struct sftp_reply skip;
		int rc2 =
		    sftp_conn_wait(c, f->ring[f->head].id, &skip, f->sb->tmo);

		if (rc2 < 0)
			return rc2;
		f->head = (f->head + 1) % RING_MAX;
		f->count--;
	}
	return rc < 0 ? rc : 0;
}

/* Wait for every request in the ring (f->lock held). */
static int
ring_drain(struct backend_file *f, struct sftp_conn *c)
{
	int rc;

	while (f->count > 0) {
		rc = ring_pop(f, c);
		if (rc < 0 && sftp_conn_broken(c))
			return rc;
	}
	return 0;
}

int
sb_file_reclaim(struct sftp_be *sb, struct sb_conn *sc)
{
	struct backend_file *f = sc->owner;
	struct sftp_reply r;
	uint32_t id;
	int rc, err = 0;

	/* The owner waits in pool_unpark_owner, or has not come back:
	   its fields other than reclaim_err are not touched here. */
	while (sftp_conn_pending(sc->c) > 0) {
		rc = sftp_conn_recv(sc->c, &r, sb->tmo);
		if (rc < 0)
			goto lost;
		if (r.type == SSH_FXP_STATUS && r.u.status.code != SSH_FX_OK &&
		    r.u.status.code != SSH_FX_EOF && err == 0)
			err = sftp_status_errno(r.u.status.code);
	}
	if (f != NULL) {
		id = sftp_conn_id(sc->c);
		rc = sftp_enc_handle(
		    sftp_conn_out(sc->c), SSH_FXP_CLOSE, id, &f->h);
		if (rc < 0)
			goto lost;
		rc = sftp_conn_wait(sc->c, id, &r, sb->tmo);
		if (rc < 0)
			goto lost;
		rc = sb_reply_errno(&r, "CLOSE", f->abs);
		if (err == 0)
			err = rc;
		if (err < 0 && (f->flags & BO_WRITE))
			atomic_store(&f->reclaim_err, err);
		sc->owner = NULL;
	}
	return 0;
lost:
	/* The session goes (the pool drops it) with WRITEs that may not
	   have arrived: the writer's next flush or close says so. */
	if (f != NULL && (f->flags & BO_WRITE))
		atomic_store(&f->reclaim_err, err < 0 ? err : -EIO);
	return rc;
}

int
sb_open(struct backend *b, const char *path, unsigned flags, mode_t mode,
    int64_t known_size, struct backend_file **out)
{
	struct sftp_be *sb = b->priv;
	struct backend_file *f;
	char abs[SFTP_PATH_MAX];
	int rc;

	rc = sb_abs(sb, path, abs, sizeof(abs));
	if (rc < 0)
		return rc;
	/* This handle sees what another queued for the path (POSIX: a
	   read sees every write that returned before it). */
	sb_wb_settle(sb, abs);
	if (flags & (BO_CREATE | BO_TRUNC))
		sb_svfs_changed(sb);
	f = calloc(1, sizeof(*f));
	if (f == NULL)
		return -ENOMEM;
	f->abs = strdup(abs);
	if (f->abs == NULL) {
		free(f);
		return -ENOMEM;
	}
	pthread_mutex_init(&f->lock, NULL);
	f->sb = sb;
	f->flags = flags;
	f->known_size = known_size;
	f->eof_off = -1;
	f->window = RA_MIN;
	f->pf_start = UINT64_MAX;
	f->slot = sb_path_slot(abs);
	f->wb_slot = f->slot;
	f->gen_seen = atomic_load(&sb->gen[f->slot]);
	atomic_init(&f->reclaim_err, 0);
	buf_init(&f->ahead, AHEAD_MAX);
	rc = sb_get(sb, &f->sc);
	if (rc == 0) {
		rc = open_create(f, f->sc->c, flags, mode);
		if (rc < 0)
			sb_put(sb, f->sc);
	}
	if (flags & (BO_CREATE | BO_TRUNC))
		sb_svfs_changed(sb); /* (before and after: sftp_statvfs.c) */
	if (rc < 0) {
		pthread_mutex_destroy(&f->lock);
		buf_free(&f->ahead);
		free(f->abs);
		free(f);
		return rc;
	}
	file_park(f);
	atomic_fetch_add(&sb->open_files[f->slot], 1);
	if (flags & BO_WRITE) {
		pthread_mutex_lock(&sb->wb_lock);
		f->wb_next = sb->wb_files;
		sb->wb_files = f;
		pthread_mutex_unlock(&sb->wb_lock);
	}
	*out = f;
	return 0;
}

/*
 * The EOF this handle saw is older than SB_EOF_FRESH_MS: the file may
 * have grown since (another client appends), so a read at or past it
 * asks the server again rather than answering 0.
 */
static bool
eof_stale(const struct backend_file *f)
{
	return net_now_ms() - f->eof_ms > SB_EOF_FRESH_MS;
}

/* Copy what ahead holds at off into buf; the count (0: nothing there). */
static size_t
from_ahead(struct backend_file *f, char *buf, size_t size, uint64_t off)
{
	uint64_t end = f->ahead_off + f->ahead.len;
	size_t n;

	if (off < f->ahead_off || off >= end)
		return 0;
	n = (size_t)(end - off) < size ? (size_t)(end - off) : size;
	memcpy(buf, f->ahead.data + (off - f->ahead_off), n);
	if (off + n > f->hi_off)
		f->hi_off = off + n;
	return n;
}

/*
 * Send READs up to need (the caller's range) and, as read-ahead, up to
 * want but not past the size fs.c believes the file has (+1 byte, to see
 * EOF); at most RING_MAX in flight.
 */
static int
request_upto(
    struct backend_file *f, struct sftp_conn *c, uint64_t need, uint64_t want)
{
	uint32_t chunk = sftp_conn_max_read(c), len;
	uint64_t limit = want;
	struct req *q;
	int rc;

	if (f->known_size >= 0 && limit > (uint64_t)f->known_size + 1)
		limit = (uint64_t)f->known_size + 1;
	if (limit < need)
		limit = need;
	if (limit > f->pf_start)
		limit = f->pf_start; /* the prefetcher's part */
	while (f->next_off < limit && f->count < RING_MAX) {
		if (f->eof_off >= 0 && f->next_off >= (uint64_t)f->eof_off)
			break;
		len = limit - f->next_off < chunk
		    ? (uint32_t)(limit - f->next_off)
		    : chunk;
		q = ring_push(f);
		q->id = sftp_conn_id(c);
		q->off = f->next_off;
		q->len = len;
		q->write = false;
		q->sent_ms = net_now_ms();
		rc = sftp_enc_read(sftp_conn_out(c), q->id, &f->h, q->off, len);
		if (rc < 0) {
			sftp_conn_unqueue(c);
			f->count--;
			return rc;
		}
		f->next_off += len;
	}
	return sftp_conn_flush(c, f->sb->tmo);
}

/* End the parallel read-ahead (f->lock held): the ring takes over. */
static void
pf_end(struct backend_file *f)
{
	sb_pf_stop(f->pf);
	f->pf = NULL;
	f->pf_start = UINT64_MAX;
}

/*
 * After the ring (f->lock held): a read-only handle of a large file whose
 * reader stayed sequential until the window reached RA_MAX.  Read-write
 * handles never: their own writes would have to stop it.
 */
static void
pf_maybe_start(struct backend_file *f, uint64_t o)
{
	if (f->pf != NULL || (f->flags & BO_WRITE) ||
	    f->known_size < PF_MIN_FILE || f->window < RA_MAX ||
	    o < f->pf_retry || f->eof_off >= 0 ||
	    f->next_off + PF_MIN_LEFT > (uint64_t)f->known_size)
		return;
	if (sb_pf_start(f->sb, f->abs, f->next_off, (uint64_t)f->known_size,
	        &f->pf) == 0) {
		f->pf_start = f->next_off;
		log_debug("%s: parallel read-ahead from %llu", f->abs,
		    (unsigned long long)f->pf_start);
	}
}

void
sb_renamed(struct backend *b, struct backend_file *f, const char *path)
{
	struct sftp_be *sb = b->priv;
	char abs[SFTP_PATH_MAX];
	char *dup = NULL;
	unsigned slot;

	if (sb_abs(sb, path, abs, sizeof(abs)) == 0)
		dup = strdup(abs);
	if (dup == NULL) {
		log_err(
		    "%s: cannot follow the rename (a reopen will fail)", path);
		return;
	}
	pthread_mutex_lock(&f->lock);
	/* A reclaim reads f->abs: none may be under way while it changes. */
	file_take(f);
	if (f->pf != NULL)
		pf_end(f); /* its workers would reopen under the old name */
	free(f->abs);
	f->abs = dup;
	slot = sb_path_slot(abs);
	if (slot != f->slot) {
		atomic_fetch_sub(&sb->open_files[f->slot], 1);
		atomic_fetch_add(&sb->open_files[slot], 1);
		f->slot = slot;
		/* what ahead holds is still this file's */
		f->gen_seen = atomic_load(&sb->gen[slot]);
	}
	file_park(f);
	pthread_mutex_unlock(&f->lock);
	pthread_mutex_lock(&sb->wb_lock);
	f->wb_slot = slot;
	pthread_mutex_unlock(&sb->wb_lock);
}

ssize_t
sb_read(struct backend *b, struct backend_file *f, char *buf, size_t size,
    off_t off)
{
	uint64_t o = (uint64_t)off;
	struct sftp_conn *c;
	bool restart = false, lost, asked = false;
	int retries = 0;
	unsigned gen;
	ssize_t got;
	size_t n;
	int rc;

	(void)b;
	if (off < 0)
		return -EINVAL;
	if (size == 0)
		return 0;
	rc = wb_drain(f); /* a read sees the writes before it */
	if (rc < 0)
		return rc;
	pthread_mutex_lock(&f->lock);
	gen = atomic_load(&f->sb->gen[f->slot]);
	if (gen != f->gen_seen) {
		/* Written through another handle: what we hold is stale. */
		f->gen_seen = gen;
		if (f->pf != NULL)
			pf_end(f);
		if (f->count > 0 && !f->ring[f->head].write && f->sc != NULL) {
			rc = file_conn(f);
			if (rc == 0)
				rc = ring_drain(f, f->sc->c);
			file_park(f);
			if (rc < 0) {
				pthread_mutex_unlock(&f->lock);
				return rc;
			}
		}
		f->next_off = f->hi_off = 0;
		ahead_drop(f);
		f->eof_off = -1;
	}
	/*
	 * A request reaching past an EOF seen a while ago: the file may have
	 * grown since (a log, tail -f; the kernel asks past it only when told
	 * the file is longer).  What is held up to there stays; the READs go
	 * on from where the data ended.
	 */
	if (f->eof_off >= 0 && o + size > (uint64_t)f->eof_off &&
	    f->count == 0 && f->next_off == (uint64_t)f->eof_off &&
	    eof_stale(f))
		f->eof_off = -1;
again:
	if (f->pf != NULL && o >= f->pf_start) {
		got = sb_pf_read(f->pf, buf, size, o);
		if (got > 0) {
			pthread_mutex_unlock(&f->lock);
			return got;
		}
		/* It cannot serve o (see sb_pf_read): the ring restarts. */
		log_debug("%s: parallel read-ahead ends at %llu", f->abs,
		    (unsigned long long)o);
		pf_end(f);
		f->pf_retry = o + PF_RETRY;
		restart = true;
	}
	/* Moving forward within reach: the window grows (a restart below
	   sets it back). */
	if (o + size > f->hi_off && o <= f->next_off + f->window &&
	    f->window < RA_MAX)
		f->window *= 2;
	n = from_ahead(f, buf, size, o);
	if (n > 0 &&
	    ((f->count > 0 && f->next_off > f->hi_off + f->window / 2) ||
	        (f->count == 0 && f->eof_off >= 0) || f->pf != NULL)) {
		/* enough in flight: answer from memory, no session needed */
		pthread_mutex_unlock(&f->lock);
		return (ssize_t)n;
	}
	rc = file_conn(f);
	if (rc < 0)
		goto out;
	c = f->sc->c;
	if (f->count > 0 && f->ring[f->head].write) {
		rc = ring_drain(f, c); /* writes first (read after write) */
		if (rc < 0)
			goto out;
	}
	if (n == 0) {
		if (restart || o < f->ahead_off ||
		    o > f->next_off + f->window) {
			/* Out of reach: drop the stream and start at o. */
			rc = ring_drain(f, c);
			if (rc < 0)
				goto out;
			f->next_off = o;
			f->hi_off = o;
			f->window = RA_MIN;
			ahead_drop(f);
			f->eof_off = -1;
		}
		if (f->eof_off >= 0 && o >= (uint64_t)f->eof_off &&
		    f->count == 0 && eof_stale(f)) {
			/* EOF seen here a while ago; ask again (it may have
			   grown).  A fresh one stands: fs.c reads a byte past
			   a read that ended at the file's size. */
			f->eof_off = -1;
			f->next_off = o;
			ahead_drop(f);
		}
	}
	rc = request_upto(f, c, o + size, o + size + f->window);
	if (rc < 0)
		goto out;
	while (n == 0) {
		n = from_ahead(f, buf, size, o);
		if (n > 0)
			break;
		if (f->count == 0) {
			if (f->eof_off >= 0 && o >= (uint64_t)f->eof_off) {
				/* an EOF answered to a READ sent a while ago
				   (read-ahead): ask once more, now */
				if (asked || !eof_stale(f))
					break; /* EOF */
				asked = true;
				f->eof_off = -1;
				f->next_off = o;
				ahead_drop(f);
			}
			/* a short read: ask for the rest */
			rc = request_upto(f, c, o + size, o + size + f->window);
			if (rc < 0)
				goto out;
			if (f->count == 0)
				break;
		}
		rc = ring_pop(f, c);
		if (rc < 0)
			goto out;
	}
	pf_maybe_start(f, o);
	/* Keep the pipeline full for the next call. */
	rc = request_upto(f, c, 0, f->hi_off + f->window);
	if (rc < 0 && n == 0)
		goto out;
	rc = 0;
out:
	/* (a session that failed to open the handle is gone already) */
	lost =
	    (f->sc != NULL && sftp_conn_broken(f->sc->c)) || sb_conn_error(rc);
	file_park(f); /* a lost session: dropped, with what was in flight */
	if (rc < 0 && lost && rc != -ETIMEDOUT && sb_may_retry(++retries)) {
		/*
		 * The session died under the read (a reset, the server's
		 * process killed): reading is idempotent, so again on a new
		 * session, from o (the handle is opened again by name).  Not
		 * after a timeout: the request's deadline is spent.
		 */
		log_info("read of %s interrupted (%s); restarting at %llu",
		    f->abs, strerror(-rc), (unsigned long long)o);
		if (f->pf != NULL)
			pf_end(f);
		restart = true;
		goto again;
	}
	pthread_mutex_unlock(&f->lock);
	return rc < 0 ? rc : (ssize_t)n;
}

/* Send size bytes at off (the WRITEs pipelined); 0 or -errno. */
static int
write_now(struct backend_file *f, const char *buf, size_t size, uint64_t off)
{
	struct sftp_conn *c;
	struct req *q;
	uint32_t chunk, depth;
	size_t done = 0, len;
	int rc;

	pthread_mutex_lock(&f->lock);
	rc = f->werr;
	if (rc < 0)
		goto out_unlocked_park;
	rc = file_conn(f);
	if (rc < 0)
		goto out;
	rc = f->werr;
	if (rc < 0)
		goto out;
	c = f->sc->c;
	if (f->count > 0 && !f->ring[f->head].write) {
		rc = ring_drain(f, c); /* read-ahead is stale now */
		if (rc < 0)
			goto out;
	}
	f->next_off = f->hi_off = 0;
	ahead_drop(f);
	f->eof_off = -1;
	/* Whole SSH packets: a WRITE plus its header in 32 KiB multiples
	   would still leave a tail; the server's max wins. */
	chunk = sftp_conn_max_write(c);
	depth = WB_BYTES / chunk;
	depth = depth < 1 ? 1 : depth > WB_MAX ? WB_MAX : depth;
	while (done < size) {
		while (f->count >= depth) {
			rc = ring_pop(f, c);
			if (rc < 0)
				goto out;
		}
		len = size - done < chunk ? size - done : chunk;
		q = ring_push(f);
		q->id = sftp_conn_id(c);
		q->off = off + done;
		q->len = (uint32_t)len;
		q->write = true;
		rc = sftp_enc_write(
		    sftp_conn_out(c), q->id, &f->h, q->off, buf + done, len);
		if (rc < 0) {
			sftp_conn_unqueue(c);
			f->count--;
			goto out;
		}
		done += len;
		/* Send as we go: out is bounded, and the server starts. */
		if (sftp_conn_out(c)->len >= 1024 * 1024) {
			rc = sftp_conn_flush(c, f->sb->tmo);
			if (rc < 0)
				goto out;
		}
	}
	rc = sftp_conn_flush(c, f->sb->tmo);
	/* Another handle may read this file next: it must see these bytes
	   on the server, so they are acknowledged before returning. */
	if (rc == 0 && atomic_load(&f->sb->open_files[f->slot]) > 1)
		rc = ring_drain(f, c);
	if (rc == 0 && f->werr < 0)
		rc = f->werr;
	atomic_fetch_add(&f->sb->gen[f->slot], 1);
	f->gen_seen = atomic_load(&f->sb->gen[f->slot]);
	sb_svfs_changed(f->sb);
out:
	file_park(f);
out_unlocked_park:
	pthread_mutex_unlock(&f->lock);
	return rc < 0 ? rc : 0;
}

/* wbq_write_fn: a queued write, on the queue's thread. */
static int
wb_write(void *arg, const char *buf, size_t len, uint64_t off)
{
	return write_now(arg, buf, len, off);
}

static int
wb_interrupted(void)
{
	return net_op_interrupted();
}

/*
 * Give f a write-behind queue for a write of size (true when it has one):
 * a writer's first large write, while the mount has fewer than WBQ_FILES.
 */
static bool
wb_start(struct backend_file *f, size_t size)
{
	struct sftp_be *sb = f->sb;
	struct wbq *q;

	if (f->wb != NULL)
		return true;
	if (size < WBQ_MIN || size > WBQ_BYTES)
		return false;
	/* Lock order: wb_lock, then f->lock; never the other way. */
	pthread_mutex_lock(&sb->wb_lock);
	if (sb->wb_count < WBQ_FILES &&
	    wbq_new(wb_write, f, WBQ_BYTES, net_op_timeout(), wb_interrupted,
	        &q) == 0) {
		f->wb = q;
		sb->wb_count++;
	}
	pthread_mutex_unlock(&sb->wb_lock);
	return f->wb != NULL;
}

/*
 * Wait for f's queue (none: 0); interrupted: -EINTR.  Not under f->lock
 * (the queue's thread takes it).  f->wb is read under wb_lock: a read
 * may come while the writer starts the queue; only release ends it.
 */
static int
wb_drain(struct backend_file *f)
{
	struct wbq *q;

	if (!(f->flags & BO_WRITE))
		return 0;
	pthread_mutex_lock(&f->sb->wb_lock);
	q = f->wb;
	pthread_mutex_unlock(&f->sb->wb_lock);
	return q != NULL ? wbq_drain(q) : 0;
}

/* More than one handle of f's path is open (the slot's count). */
static bool
wb_shared(struct backend_file *f)
{
	unsigned slot;

	pthread_mutex_lock(&f->sb->wb_lock);
	slot = f->wb_slot;
	pthread_mutex_unlock(&f->sb->wb_lock);
	return atomic_load(&f->sb->open_files[slot]) > 1;
}

/*
 * f's writes so far on the server (f counted in settlers): its queue,
 * then the WRITEs its ring has not seen answered.  Errors stay with f.
 */
static void
file_settle(struct backend_file *f)
{
	struct wbq *q;

	pthread_mutex_lock(&f->sb->wb_lock);
	q = f->wb; /* kept while f has settlers (wb_end) */
	pthread_mutex_unlock(&f->sb->wb_lock);
	if (q != NULL)
		(void)wbq_settle(q);
	pthread_mutex_lock(&f->lock);
	if (file_take(f)) {
		(void)ring_drain(f, f->sc->c);
		file_park(f);
	}
	pthread_mutex_unlock(&f->lock);
}

#define SETTLE_STACK 16

void
sb_wb_settle(struct sftp_be *sb, const char *abs)
{
	unsigned slot = sb_path_slot(abs);
	struct backend_file *f, *stack[SETTLE_STACK], **v;
	size_t n, cap, i;
	uint64_t call;
	bool more;

	/* Counted in under wb_lock, waited for without it: a slow or
	   frozen session of one file holds up only those who need it.
	   Out of memory for a list of them all, they go SETTLE_STACK at
	   a time (each marked with this call's number once taken). */
	pthread_mutex_lock(&sb->wb_lock);
	call = ++sb->settle_seq;
	do {
		n = 0;
		for (f = sb->wb_files; f != NULL; f = f->wb_next)
			if (f->wb_slot == slot && f->settled_by != call)
				n++;
		v = stack;
		cap = SETTLE_STACK;
		if (n > cap && (v = malloc(n * sizeof(*v))) != NULL)
			cap = n;
		else if (n > cap)
			v = stack;
		more = n > cap;
		n = 0;
		for (f = sb->wb_files; f != NULL && n < cap; f = f->wb_next)
			if (f->wb_slot == slot && f->settled_by != call) {
				f->settled_by = call;
				f->settlers++;
				v[n++] = f;
			}
		pthread_mutex_unlock(&sb->wb_lock);
		for (i = 0; i < n; i++)
			file_settle(v[i]);
		pthread_mutex_lock(&sb->wb_lock);
		for (i = 0; i < n; i++)
			v[i]->settlers--;
		if (n > 0)
			pthread_cond_broadcast(&sb->wb_cond);
		if (v != stack)
			free(v);
	} while (more);
	pthread_mutex_unlock(&sb->wb_lock);
}

/*
 * Leave the registry once no settle uses f, then settle f's queue and
 * stop its thread; the queue's error.
 */
static int
wb_end(struct backend_file *f)
{
	struct sftp_be *sb = f->sb;
	struct backend_file **pp;
	struct wbq *q;

	if (!(f->flags & BO_WRITE))
		return 0;
	pthread_mutex_lock(&sb->wb_lock);
	for (pp = &sb->wb_files; *pp != NULL; pp = &(*pp)->wb_next)
		if (*pp == f) {
			*pp = f->wb_next;
			break;
		}
	while (f->settlers > 0)
		pthread_cond_wait(&sb->wb_cond, &sb->wb_lock);
	q = f->wb;
	f->wb = NULL;
	if (q != NULL)
		sb->wb_count--;
	pthread_mutex_unlock(&sb->wb_lock);
	return wbq_free(q);
}

ssize_t
sb_write(struct backend *b, struct backend_file *f, const char *buf,
    size_t size, off_t off)
{
	int rc;

	(void)b;
	if (off < 0)
		return -EINVAL;
	if (!wb_start(f, size)) {
		rc = write_now(f, buf, size, (uint64_t)off);
		return rc < 0 ? rc : (ssize_t)size;
	}
	/* Once queued, every write goes in the queue: their order holds.
	   One larger than the queue (FUSE sends at most max_write, 1 MiB)
	   waits for it to empty, then goes as it comes. */
	if (size > WBQ_BYTES) {
		rc = wbq_drain(f->wb);
		if (rc == 0)
			rc = write_now(f, buf, size, (uint64_t)off);
		return rc < 0 ? rc : (ssize_t)size;
	}
	rc = wbq_push(f->wb, buf, size, (uint64_t)off);
	/* Another handle may read this file next: it must see these bytes
	   on the server, so they are sent before returning.  Not given up
	   on an interrupt: queued, they are written (EINTR would have the
	   caller write them again), within the request's deadline. */
	if (rc == 0 && wb_shared(f))
		rc = wbq_settle(f->wb);
	return rc < 0 ? rc : (ssize_t)size;
}

/*
 * f->lock held: the file's session once every WRITE sent on it is
 * acknowledged: 0 and *c, or -errno (a write's sticky error included).
 */
static int
writes_done(struct backend_file *f, struct sftp_conn **c)
{
	int rc = file_conn(f);

	if (rc < 0)
		return rc;
	*c = f->sc->c;
	rc = ring_drain(f, *c);
	return rc < 0 ? rc : f->werr;
}

int
sb_flush(struct backend *b, struct backend_file *f)
{
	struct sftp_conn *c;
	int rc;

	(void)b;
	if (!(f->flags & BO_WRITE))
		return 0;
	rc = wb_drain(f);
	if (rc < 0)
		return rc;
	pthread_mutex_lock(&f->lock);
	rc = writes_done(f, &c);
	file_park(f);
	pthread_mutex_unlock(&f->lock);
	return rc;
}

/*
 * fsync@openssh.com on the handle, once every WRITE is acknowledged (the
 * server fsync(2)s its descriptor).  A server without the extension gets
 * nothing more than the flush, as sshfs does.
 */
int
sb_fsync(struct backend *b, struct backend_file *f)
{
	struct sftp_conn *c;
	uint32_t id;
	int rc;

	(void)b;
	if (!(f->flags & BO_WRITE))
		return 0;
	rc = wb_drain(f);
	if (rc < 0)
		return rc;
	pthread_mutex_lock(&f->lock);
	rc = writes_done(f, &c);
	if (rc < 0 || !sftp_conn_has_ext(c, SFTP_EXT_FSYNC))
		goto out;
	id = sftp_conn_id(c);
	rc = sftp_enc_fsync(sftp_conn_out(c), id, &f->h);
	if (rc < 0) {
		sftp_conn_unqueue(c);
		goto out;
	}
	rc = sb_status(f->sb, c, id, "fsync", f->abs, NULL);
out:
	file_park(f);
	pthread_mutex_unlock(&f->lock);
	return rc;
}

/*
 * ftruncate(2): FSETSTAT of the size on the handle, once its writes are
 * acknowledged.  A SETSTAT of the name would be checked against the
 * file's mode (a file created 0444 and open for writing: EACCES).  Every
 * handle of the path, this one too, drops what it read ahead (the
 * generation moves).
 */
int
sb_ftruncate(struct backend *b, struct backend_file *f, off_t size)
{
	struct sftp_attrs at = { .flags = SSH_FILEXFER_ATTR_SIZE,
		.size = (uint64_t)size };
	struct sftp_conn *c;
	uint32_t id;
	int rc;

	(void)b;
	if (size < 0)
		return -EINVAL;
	rc = wb_drain(f);
	if (rc < 0)
		return rc;
	/* other handles' writes of the path land before the cut, as before
	   a SETSTAT of the name */
	sb_wb_settle(f->sb, f->abs);
	pthread_mutex_lock(&f->lock);
	rc = writes_done(f, &c);
	if (rc < 0)
		goto out;
	id = sftp_conn_id(c);
	rc = sftp_enc_fsetstat(sftp_conn_out(c), id, &f->h, &at);
	if (rc < 0) {
		sftp_conn_unqueue(c);
		goto out;
	}
	rc = sb_status(f->sb, c, id, "FSETSTAT", f->abs, NULL);
	atomic_fetch_add(&f->sb->gen[f->slot], 1);
	sb_svfs_changed(f->sb);
	if (rc == 0)
		f->known_size = size;
out:
	file_park(f);
	pthread_mutex_unlock(&f->lock);
	return rc;
}

int
sb_release(struct backend *b, struct backend_file *f)
{
	struct sftp_be *sb = b->priv;
	struct sftp_conn *c;
	uint32_t id;
	int rc, rc2, wrc;

	wrc = wb_end(f); /* the queued writes go first, whatever comes */
	pthread_mutex_lock(&f->lock);
	if (f->pf != NULL)
		pf_end(f);
	rc = f->werr != 0 ? f->werr : wrc;
	if (f->sc != NULL && !pool_unpark_owner(sb->pool, f->sc, f)) {
		/* reclaimed: closed already */
		f->sc = NULL;
		rc2 = atomic_exchange(&f->reclaim_err, 0);
		if (rc == 0)
			rc = rc2;
	}
	if (f->sc != NULL) {
		c = f->sc->c;
		rc2 = ring_drain(f, c);
		if (rc == 0)
			rc = rc2 < 0 ? rc2 : f->werr;
		if (!sftp_conn_broken(c)) {
			id = sftp_conn_id(c);
			rc2 = sftp_enc_handle(
			    sftp_conn_out(c), SSH_FXP_CLOSE, id, &f->h);
			if (rc2 < 0)
				sftp_conn_unqueue(c);
			else if (!(f->flags & BO_WRITE))
				/* what it read is read: not waited for */
				rc2 = sftp_conn_forget(c, id, sb->tmo);
			else
				rc2 =
				    sb_status(sb, c, id, "CLOSE", f->abs, NULL);
			if (rc == 0 && (f->flags & BO_WRITE))
				rc = rc2;
		}
		sb_put(sb, f->sc);
		f->sc = NULL;
	}
	pthread_mutex_unlock(&f->lock);
	atomic_fetch_sub(&sb->open_files[f->slot], 1);
	pthread_mutex_destroy(&f->lock);
	buf_free(&f->ahead);
	free(f->abs);
	free(f);
	return rc;
}
