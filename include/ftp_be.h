/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ftp_be: internals shared by the files that make up the FTP backend
 * (ftp_backend.c: life cycle, pool glue, errno mapping; ftp_meta.c: stat,
 * listings, readlink; ftp_file.c: open files, streaming reads and writes).
 * Nothing outside src/ftp_*.c includes this.
 */
#ifndef FTPFS_FTP_BE_H
#define FTPFS_FTP_BE_H

#include "backend.h"
#include "ftp_conn.h"
#include "ftp_reply.h"
#include "pool.h"

#define FTP_PATH_MAX (FTP_CMD_MAX + 1)

struct ftp_be {
	struct backend be;
	struct ftp_server srv;
	struct pool *pool;
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

/* Is this error the connection's fault (worth one retry)? */
bool ftp_is_conn_error(int rc);

/* ftp_meta.c */
/* Attributes of an absolute server path on connection c. */
int ftp_stat_abs(struct ftp_be *fb, struct ftp_conn *c, const char *abs,
    struct backend_attr *out);
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
int ftp_be_rename(
    struct backend *b, const char *from, const char *to, unsigned flags);
int ftp_be_chmod(struct backend *b, const char *path, mode_t mode);
/*
 * SITE CHMOD on connection c.  0; -ENOTSUP when the server has no SITE
 * CHMOD (remembered for the mount); -EREMOTEIO with the reply in
 * *refusal (caller frees) when it refused; -errno on I/O.
 */
int ftp_chmod_abs(struct ftp_be *fb, struct ftp_conn *c, const char *abs,
    mode_t mode, struct ftp_reply *refusal);
int ftp_be_set_mtime(
    struct backend *b, const char *path, const struct timespec *mtime);
int ftp_be_truncate(struct backend *b, const char *path, off_t size);
int ftp_be_symlink(struct backend *b, const char *target, const char *linkpath);

#endif
