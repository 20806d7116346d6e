/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ftp_be: internals shared by the files that make up the FTP backend
 * (ftp_backend.c: life cycle, pool glue, errno mapping; ftp_meta.c: stat,
 * listings, readlink; ftp_file.c: open files, streaming reads and writes;
 * ftp_modify.c: changes to names, modes and times; ftp_orphan.c: partial
 * uploads to clean up).
 * Nothing outside src/ftp/ includes this.
 */
#ifndef FTPFS_FTP_BE_H
#define FTPFS_FTP_BE_H

#include <pthread.h>
#include <stdatomic.h>

#include "backend.h"
#include "ftp_conn.h"
#include "ftp_reply.h"
#include "pool.h"

#define FTP_PATH_MAX (FTP_CMD_MAX + 1)

struct ftp_orphan;

#define FTP_PATH_SLOTS 256

struct ftp_be {
	struct backend be;
	struct ftp_server srv;
	struct pool *pool;
	/* partial uploads to remove when the server is back (ftp_orphan.c) */
	pthread_mutex_t orphan_lock;
	struct ftp_orphan *orphans;
	atomic_bool has_orphans;
	/* APPE refused by configuration once: appends use local copies */
	atomic_bool appe_refused;
	/*
	 * Uploads through the mount that ended, per path slot (a hash of the
	 * server path): a reader whose slot moved forgets the end of file
	 * and the bytes it holds (ftp_file.c read_locked).
	 */
	atomic_uint gen[FTP_PATH_SLOTS];
};

/* What was being attempted, for ftp_errno's reading of a vague 550. */
enum ftp_op {
	OP_STAT,
	OP_LIST,
	OP_READ,
	OP_CWD,
	OP_WRITE,
};

/* The one place that turns an FTP reply into a negative errno. */
int ftp_errno(const struct ftp_reply *rep, enum ftp_op op);

/* Log a refused command with its reply and the errno it became. */
void ftp_log_refusal(
    const char *what, const char *path, const struct ftp_reply *rep, int err);

typedef int (*ftp_conn_fn)(struct ftp_be *fb, struct ftp_conn *c, void *arg);

/*
 * Run fn on a pooled connection; idempotent operations are retried once
 * on a fresh connection when the first turns out to be dead.
 */
int ftp_with_conn(
    struct ftp_be *fb, ftp_conn_fn fn, void *arg, bool idempotent);
/*
 * Check out a connection known to be alive for a command that changes
 * something (not retried): a final reply it still owed is read first
 * (ftp_conn_settle), and a session that ended meanwhile is replaced once.
 */
int ftp_checkout_settled(struct ftp_be *fb, struct ftp_conn **out);

/* Is this error the connection's fault (worth one retry)? */
bool ftp_is_conn_error(int rc);

/* ftp_orphan.c: partial uploads left by a server that went away */
void ftp_orphan_add(struct ftp_be *fb, const char *abs, uint64_t max_size);
/* This mount uploads abs again: what is there is not an orphan any more. */
void ftp_orphan_forget(struct ftp_be *fb, const char *abs);
/* Remove the orphans that are still ours, using c (a pooled connection). */
void ftp_orphans_sweep(struct ftp_be *fb, struct ftp_conn *c);
void ftp_orphans_free(struct ftp_be *fb);

/* ftp_meta.c */
/* Attributes of an absolute server path on connection c. */
int ftp_stat_abs(struct ftp_be *fb, struct ftp_conn *c, const char *abs,
    struct backend_attr *out);
/*
 * The MLST "perm" fact of abs into perm (RFC 3659 7.5.5: "" grants
 * nothing).  -ENOSYS without MLST, -ENODATA when the facts carry none.
 */
int ftp_mlst_perm(struct ftp_be *fb, struct ftp_conn *c, const char *abs,
    char *perm, size_t size);
/*
 * SIZE / MDTM of abs: 0 with the value; -EREMOTEIO when the server gave
 * none (not 213); -EBADMSG for a 213 whose value does not parse (a file
 * that exists, of a size or time we cannot know); -errno on I/O.
 */
int ftp_size_abs(struct ftp_conn *c, const char *abs, uint64_t *size);
int ftp_mdtm_abs(struct ftp_conn *c, const char *abs, struct timespec *mtime);
/* Listing of an absolute server path (force_list: LIST even if MLSD). */
int ftp_list_abs(struct ftp_be *fb, struct ftp_conn *c, const char *abs,
    bool force_list, struct backend_dirlist *out);
int ftp_be_stat(struct backend *b, const char *path, struct backend_attr *out);
int ftp_be_list(
    struct backend *b, const char *path, struct backend_dirlist *out);
int ftp_be_readlink(
    struct backend *b, const char *path, char *buf, size_t size);

/* ftp_file.c */
int ftp_be_open(struct backend *b, const char *path, unsigned flags,
    mode_t mode, int64_t known_size, struct backend_file **out);
ssize_t ftp_be_read(struct backend *b, struct backend_file *f, char *buf,
    size_t size, off_t off);
ssize_t ftp_be_read_pipe(struct backend *b, struct backend_file *f, int pipe_wr,
    size_t size, off_t off);
ssize_t ftp_be_write(struct backend *b, struct backend_file *f, const char *buf,
    size_t size, off_t off);
int ftp_be_flush(struct backend *b, struct backend_file *f);
int ftp_be_release(struct backend *b, struct backend_file *f);
void ftp_be_abandon(struct backend *b, struct backend_file *f);

/* ftp_modify.c */
/*
 * Errno for a refused verb on abs, asking the server what is true when
 * the reply is vague (exists? directory? empty?).  Logs the refusal.
 */
int ftp_clarify(struct ftp_be *fb, struct ftp_conn *c,
    const struct ftp_reply *rep, const char *verb, const char *abs);
int ftp_be_mkdir(struct backend *b, const char *path, mode_t mode);
int ftp_be_rmdir(struct backend *b, const char *path);
int ftp_be_unlink(struct backend *b, const char *path);
void ftp_be_unlink_later(
    struct backend *b, const char *path, uint64_t max_size);
int ftp_be_rename(
    struct backend *b, const char *from, const char *to, unsigned flags);
int ftp_be_chmod(struct backend *b, const char *path, mode_t mode);
int ftp_be_set_mtime(
    struct backend *b, const char *path, const struct timespec *mtime);
int ftp_be_truncate(struct backend *b, const char *path, off_t size);
int ftp_be_access(struct backend *b, const char *path, int mode);
int ftp_be_symlink(struct backend *b, const char *target, const char *linkpath);

#endif
