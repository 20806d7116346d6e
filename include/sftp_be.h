/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * sftp_be: internals shared by the files of the SFTP backend
 * (sftp_backend.c: life cycle, pool glue, errno, names and metadata;
 * sftp_file.c: open files, pipelined reads and writes; sftp_fetch.c:
 * small files read whole, many at once).
 * Nothing outside src/sftp/ includes this.
 */
#ifndef FTPFS_SFTP_BE_H
#define FTPFS_SFTP_BE_H

#include <pthread.h>
#include <stdatomic.h>
#include <sys/statvfs.h>

#include "backend.h"
#include "pool.h"
#include "sftp_backend.h"
#include "sftp_conn.h"
#include "sftp_proto.h"

#define SFTP_PATH_MAX 4096

struct backend_file;

/* What the pool holds: a session and, while parked, its owner's handle. */
struct sb_conn {
	struct sftp_conn *c;
	/* set by the owner before pool_park_owner, read by reset() */
	struct backend_file *owner;
};

/* Slots of path hashes for the open-file bookkeeping below. */
#define SB_PATH_SLOTS 64

/* statvfs answers kept (sftp_statvfs.c) */
#define SB_SVFS_SLOTS 32
#define SB_SVFS_FRESH_MS 1000

struct sb_svfs {
	char *abs; /* NULL: free */
	struct statvfs st;
	unsigned gen; /* svfs_gen when it was asked */
	int64_t t_ms; /* when it was asked */
};

struct sftp_be {
	struct backend be;
	/*
	 * Per path-hash slot: open files, and a generation bumped by every
	 * write or size change, so a reader drops read-ahead another handle
	 * made stale (POSIX: a read sees every write that returned before).
	 */
	atomic_uint open_files[SB_PATH_SLOTS];
	atomic_uint gen[SB_PATH_SLOTS];
	struct sftp_config cfg; /* strings owned (copied) */
	struct sftp_conn_memo memo; /* cfg.conn.memo: what logins reuse */
	char *root; /* absolute server path of the mount root */
	struct pool *pool;
	int tmo; /* cfg.cmd_timeout_ms */
	/*
	 * Files open for writing, for sb_wb_settle, and how many of them
	 * have a write-behind queue (wbq.h).  wb_lock is never held while
	 * waiting for a queue or a server: sb_wb_settle counts itself in
	 * a file's settlers and waits without it; release waits on wb_cond
	 * for the settlers to end.
	 */
	pthread_mutex_t wb_lock;
	pthread_cond_t wb_cond;
	struct backend_file *wb_files;
	uint64_t settle_seq; /* numbers sb_wb_settle calls (wb_lock) */
	unsigned wb_count;
	/* statvfs answers, and a count of changes made through the mount */
	pthread_mutex_t svfs_lock;
	struct sb_svfs svfs[SB_SVFS_SLOTS];
	unsigned svfs_next;
	atomic_uint svfs_gen;
};

/*
 * statvfs answers asked along with listings (sftp_statvfs.c).  A kept
 * answer is for its own path only, younger than SB_SVFS_FRESH_MS and
 * asked after the last change made through the mount (sb_svfs_changed).
 */
void sb_svfs_init(struct sftp_be *sb);
void sb_svfs_fini(struct sftp_be *sb);
/* Something was written, resized, created or removed through the mount. */
void sb_svfs_changed(struct sftp_be *sb);
/* The change count to pass to sb_svfs_put/take: read before asking. */
unsigned sb_svfs_gen(struct sftp_be *sb);
/* A kept answer for abs: true and *st, or false. */
bool sb_svfs_get(struct sftp_be *sb, const char *abs, struct statvfs *st);
/* Keep st for abs, asked at t_ms when the change count was gen. */
void sb_svfs_put(struct sftp_be *sb, const char *abs, const struct statvfs *st,
    unsigned gen, int64_t t_ms);
/* A STATVFS reply into st: 0, or -errno (logged). */
int sb_svfs_parse(
    const struct sftp_reply *r, const char *abs, struct statvfs *st);
/* Queue a statvfs@openssh.com of abs: 0 and *id, or -ENOSYS when the
   server does not offer it, or the encoder's -errno (nothing queued). */
int sb_svfs_ask(struct sftp_conn *c, const char *abs, uint32_t *id);
/* Its reply: kept when it is one (sb_svfs_put), else dropped. */
void sb_svfs_take(struct sftp_be *sb, const char *abs,
    const struct sftp_reply *r, unsigned gen, int64_t t_ms);

/*
 * Wait until the writes of the files open for writing at abs (every file
 * of its path slot) are on the server, queued ones and sent ones alike:
 * before another handle opens the path and before a SETSTAT of it (a
 * truncate, or times that a later WRITE would move again), which go on
 * other sessions.  Errors stay with the writing file.
 */
void sb_wb_settle(struct sftp_be *sb, const char *abs);

/* Server path of a mount path ("/" -> root). 0 or -ENAMETOOLONG. */
int sb_abs(const struct sftp_be *sb, const char *path, char *out, size_t size);

/* Check out a session: 0 or -errno.  sb_put: back (broken ones closed). */
int sb_get(struct sftp_be *sb, struct sb_conn **out);
/* Without waiting, leaving spare sessions (pool_try_checkout): -EAGAIN. */
int sb_try_get(struct sftp_be *sb, unsigned spare, struct sb_conn **out);
void sb_put(struct sftp_be *sb, struct sb_conn *sc);
/*
 * rc says the session failed (reset, closed, garbled, timed out), not the
 * request: an idempotent request may go again on another session.
 */
bool sb_conn_error(int rc);
/*
 * An idempotent request whose session died (sb_conn_error) goes again:
 * true when try number `tries` (1 for the first retry) may start, after
 * waiting out the pool's refusal of new connects (POOL_HOLDOFF_MS) from
 * the second retry on, as the sessions made meanwhile may have died too.
 * At most SB_RETRIES, and never past the request's deadline.
 */
#define SB_RETRIES 4
bool sb_may_retry(int tries);

/*
 * Wait for the STATUS answering id.  0 for OK, else the errno of the
 * status (its code in *code when not NULL) with the detail logged as
 * "what abs: CODE message".  Non-STATUS replies are -EPROTO.
 */
int sb_status(struct sftp_be *sb, struct sftp_conn *c, uint32_t id,
    const char *what, const char *abs, uint32_t *code);

/* Log a status reply (or a bad reply) for what/abs; returns its errno. */
int sb_reply_errno(
    const struct sftp_reply *r, const char *what, const char *abs);

/* sftp_attrs -> backend_attr. */
void sb_attr(const struct sftp_attrs *a, struct backend_attr *out);

/*
 * LSTAT abs on c: 0 and *out, or -errno.  The errno FAILURE folds
 * (EEXIST, EISDIR, ...) is found with it.
 */
int sb_lstat(struct sftp_be *sb, struct sftp_conn *c, const char *abs,
    struct sftp_attrs *out);

/*
 * Requests sent ahead of their replies on one session (sftp_fetch.c,
 * sftp_lists.c).  Servers answer in the order asked, so the requests in
 * flight are a FIFO and each reply is the oldest's.
 */
struct sb_req {
	uint32_t id;
	int kind; /* the caller's */
	size_t item; /* the caller's: which file or folder */
	uint64_t off;
	uint32_t len;
};
struct sb_fifo {
	struct sb_req *q;
	size_t cap, head, count;
};
int sb_fifo_init(struct sb_fifo *f, size_t cap);
void sb_fifo_free(struct sb_fifo *f);
/*
 * The request just encoded on c (enc_rc: its encoder's result) joins f,
 * which grows when full.  A failed encoding (or no memory to grow) takes
 * it back out of c's output: then nothing is left counted in flight and
 * the error is returned.
 */
int sb_fifo_push(struct sb_fifo *f, struct sftp_conn *c, int enc_rc,
    uint32_t id, int kind, size_t item, uint64_t off, uint32_t len);
/* The oldest request in flight (f not empty); pop it once answered. */
struct sb_req sb_fifo_oldest(const struct sb_fifo *f);
void sb_fifo_pop(struct sb_fifo *f);
/*
 * The session's use by a batch ended with rc: after a failure with
 * requests still in flight, their replies are read and dropped (a session
 * that cannot is dropped).  what: for the log.
 */
void sb_fifo_settle(struct sb_fifo *f, struct sftp_be *sb, struct sftp_conn *c,
    int rc, const char *what);

/* backend_ops.fetch_many (sftp_fetch.c). */
int sb_fetch_many(struct backend *b, struct backend_fetch_batch *bt);
/* backend_ops.list_many (sftp_lists.c). */
int sb_list_many(struct backend *b, const char *const *paths, size_t n,
    struct backend_dirlist *out, int *rc);

/* The slot of a server path. */
unsigned sb_path_slot(const char *abs);

/* sftp_file.c */
int sb_open(struct backend *b, const char *path, unsigned flags, mode_t mode,
    int64_t known_size, struct backend_file **out);
ssize_t sb_read(struct backend *b, struct backend_file *f, char *buf,
    size_t size, off_t off);
ssize_t sb_write(struct backend *b, struct backend_file *f, const char *buf,
    size_t size, off_t off);
int sb_flush(struct backend *b, struct backend_file *f);
/* fsync@openssh.com after the flush, where the server offers it. */
int sb_fsync(struct backend *b, struct backend_file *f);
int sb_ftruncate(struct backend *b, struct backend_file *f, off_t size);

/*
 * The server's umask (OpenSSH's sftp-server keeps sshd's, 022) masks the
 * mode a MKDIR or OPEN asks for again: mkdir -m 775 made 755.  The
 * caller's own umask is applied already (by the kernel), so right after a
 * creation the mode is set once more, exactly: by handle h, or by name
 * abs when h is NULL.  Its answer is not waited for (read before the next
 * reply; a failure is logged): no round trip more.
 */
void sb_perm_again(struct sftp_be *sb, struct sftp_conn *c, const char *abs,
    const struct sftp_handle *h, uint32_t perm);
int sb_release(struct backend *b, struct backend_file *f);
/* The open file f is now path (backend.h ->renamed). */
void sb_renamed(struct backend *b, struct backend_file *f, const char *path);
/* pool reset() of a parked session: drain, close the owner's handle. */
int sb_file_reclaim(struct sftp_be *sb, struct sb_conn *sc);

/*
 * sftp_prefetch.c: parallel read-ahead of [off, end) of abs for one
 * sequential reader, by up to SB_PF_WORKERS threads with a pooled session
 * each (taken only when spare, given back when idle).  The caller
 * serialises calls for one pf (the file's lock).
 */
#define SB_PF_WORKERS 2
struct sb_prefetch;
/* 0 and *out, or -ENOMEM. */
int sb_pf_start(struct sftp_be *sb, const char *abs, uint64_t off, uint64_t end,
    struct sb_prefetch **out);
/*
 * Copy what is fetched at off (waiting for it): the count, or -EAGAIN
 * when the prefetcher cannot serve off (outside its window, at EOF, a
 * failed fetch, no session to spare, a hung worker); then stop it and
 * read from the server directly.
 */
ssize_t sb_pf_read(
    struct sb_prefetch *pf, char *buf, size_t size, uint64_t off);
/* Stop the workers (they finish their READs in flight), free. NULL ok. */
void sb_pf_stop(struct sb_prefetch *pf);

#endif
