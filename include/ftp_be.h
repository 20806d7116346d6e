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
void ftp_log_refusal(const char *what, const char *path,
    const struct ftp_reply *rep, int err);

typedef int (*ftp_conn_fn)(struct ftp_be *fb, struct ftp_conn *c, void *arg);

/*
 * Run fn on a pooled connection; idempotent operations are retried once
 * on a fresh connection when the first turns out to be dead.
 */
int ftp_with_conn(struct ftp_be *fb, ftp_conn_fn fn, void *arg,
    bool idempotent);

/* Is this error the connection's fault (worth one retry)? */
bool ftp_is_conn_error(int rc);

/* ftp_meta.c */
int ftp_be_stat(struct backend *b, const char *path,
    struct backend_attr *out);
int ftp_be_list(struct backend *b, const char *path,
    struct backend_dirlist *out);
int ftp_be_readlink(struct backend *b, const char *path, char *buf,
    size_t size);

/* ftp_file.c */
int ftp_be_open(struct backend *b, const char *path, unsigned flags,
    mode_t mode, int64_t known_size, struct backend_file **out);
ssize_t ftp_be_read(struct backend *b, struct backend_file *f, char *buf,
    size_t size, off_t off);
int ftp_be_release(struct backend *b, struct backend_file *f);

#endif
