/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ftp_backend: struct backend over FTP (contract in include/ftp_backend.h).
 *
 * Metadata operations borrow a control connection from the pool for one
 * command sequence.  Reads stream: an open file keeps one RETR running
 * while reads stay (nearly) sequential, parked in the pool between reads
 * so that the pool can take the connection back when it runs short.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ftp_backend.h"
#include "ftp_conn.h"
#include "ftp_data.h"
#include "ftp_list.h"
#include "ftp_parse.h"
#include "log.h"
#include "pool.h"

#define PATH_MAX_FTP (FTP_CMD_MAX + 1)

/* Read window: bytes kept behind the stream for out-of-order reads. */
#define WIN_CAP (8u << 20)
#define WIN_KEEP (2u << 20)
#define READ_CHUNK (256u << 10)
/* A forward jump shorter than this is read through, not restarted. */
#define SKIP_MAX (1u << 20)

struct ftp_be {
	struct backend be;
	struct ftp_server srv;
	struct pool *pool;
};

struct backend_file {
	pthread_mutex_t lock;	/* serialises reads on this handle */
	struct ftp_be *fb;
	char *path;		/* absolute server path */
	int64_t size;		/* known size, -1 if unknown */
	/* the fields below are protected by lock */
	struct ftp_conn *conn;	/* parked connection with a RETR, or NULL */
	uint64_t pos;		/* next byte the data socket delivers */
	char *win;		/* bytes [win_start, win_start + win_len) */
	size_t win_len;
	uint64_t win_start;
	bool at_eof;		/* the file ends at eof_pos */
	uint64_t eof_pos;
};

enum ftp_op {
	OP_STAT,
	OP_LIST,
	OP_READ,
	OP_CWD,
};

/*
 * The one place that turns FTP replies into errno.  550 texts differ per
 * server (guide 2.10); the words used here are the ones the four servers
 * we test against, IIS and FileZilla Server send.
 */
static int
ftp_errno(const struct ftp_reply *rep, enum ftp_op op)
{
	const char *t = rep->text ? ftp_reply_last_line(rep) : "";

	switch (rep->code) {
	case 421:
		return -ECONNRESET;
	case 425:
	case 426:
	case 451:
		return -EIO;
	case 450:
		return -EAGAIN;
	case 452:
	case 552:
		return -ENOSPC;
	case 530:
	case 532:
		return -EACCES;
	case 500:
	case 502:
		return -ENOSYS;
	case 501:
		return -EINVAL;
	case 504:
		return -ENOTSUP;
	case 553:
		return -EACCES;
	case 550:
		if (strcasestr(t, "not a directory"))
			return -ENOTDIR;
		if (strcasestr(t, "is a directory") ||
		    strcasestr(t, "not a regular file") ||
		    strcasestr(t, "not a plain file") ||
		    strcasestr(t, "only retrieve regular"))
			return -EISDIR;
		if (strcasestr(t, "permission") || strcasestr(t, "denied") ||
		    strcasestr(t, "not permitted") ||
		    strcasestr(t, "access is"))
			return -EACCES;
		if (strcasestr(t, "not empty"))
			return -ENOTEMPTY;
		if (strcasestr(t, "exists"))
			return -EEXIST;
		return -ENOENT;
	default:
		break;
	}
	(void)op;
	return -EIO;
}

static void
log_refusal(const char *what, const char *path, const struct ftp_reply *rep,
    int err)
{
	log_debug("%s %s: %d %s -> %s", what, path, rep->code,
	    ftp_reply_last_line(rep), strerror(-err));
}

/* ---- pool glue ---------------------------------------------------- */

static int
pool_connect(void *ctx, void **conn)
{
	struct ftp_be *fb = ctx;
	struct ftp_conn *c = NULL;
	char msg[256] = "";
	int rc;

	rc = ftp_conn_open(&fb->srv, &c, msg, sizeof(msg));
	if (rc < 0) {
		if (rc == -EUSERS)
			log_info("%s", msg);
		else
			log_warn("%s", msg);
		return rc;
	}
	*conn = c;
	return 0;
}

static int
pool_check(void *ctx, void *conn)
{
	(void)ctx;
	return ftp_conn_check_idle(conn);
}

static int
pool_reset(void *ctx, void *conn)
{
	struct ftp_conn *c = conn;

	(void)ctx;
	ftp_xfer_abort(c);
	c->owner = NULL;
	return c->broken ? -ECONNRESET : 0;
}

static void
pool_destroy_conn(void *ctx, void *conn, bool graceful)
{
	struct ftp_conn *c = conn;

	(void)ctx;
	if (c->xfer != NULL)
		ftp_xfer_abort(c);
	ftp_conn_close(c, graceful);
}

static const struct pool_conn_ops ftp_pool_ops = {
	.connect = pool_connect,
	.check = pool_check,
	.reset = pool_reset,
	.destroy = pool_destroy_conn,
};

static bool
is_conn_error(int rc)
{
	return rc == -ECONNRESET || rc == -EPIPE || rc == -ECONNABORTED ||
	    rc == -ENOTCONN || rc == -EPROTO;
}

typedef int (*conn_fn)(struct ftp_be *fb, struct ftp_conn *c, void *arg);

/*
 * Run fn on a pooled connection.  Idempotent operations are retried once
 * on a fresh connection when the first one turns out dead (421, EOF):
 * pooled connections die of idle timeouts all the time (guide 1.9).
 */
static int
with_conn(struct ftp_be *fb, conn_fn fn, void *arg, bool idempotent)
{
	struct ftp_conn *c;
	bool broken;
	int rc, attempt;

	for (attempt = 0;; attempt++) {
		rc = pool_checkout(fb->pool, (void **)&c);
		if (rc < 0)
			return rc;
		rc = fn(fb, c, arg);
		broken = c->broken;
		pool_checkin(fb->pool, c, !broken);
		if (!broken || !idempotent || attempt > 0 || !is_conn_error(rc))
			break;
		log_info("connection lost (%s); retrying once", strerror(-rc));
	}
	return rc;
}

/* ---- stat ----------------------------------------------------------- */

struct stat_arg {
	const char *path;	/* mount path */
	struct backend_attr *out;
};

static int
stat_mlst(struct ftp_be *fb, struct ftp_conn *c, const char *abs,
    struct backend_attr *out)
{
	struct ftp_reply rep;
	struct ftp_list_entry e;
	const char *line, *end;
	int rc;

	rc = ftp_cmd(c, &rep, "MLST", abs);
	if (rc < 0)
		return rc;
	if (rep.code == 500 || rep.code == 502) {
		pthread_mutex_lock(&fb->srv.lock);
		fb->srv.mlst_off = true;
		pthread_mutex_unlock(&fb->srv.lock);
		ftp_reply_free(&rep);
		return -ENOSYS;
	}
	if (rep.code != 250) {
		rc = ftp_errno(&rep, OP_STAT);
		log_refusal("MLST", abs, &rep, rc);
		ftp_reply_free(&rep);
		return rc;
	}
	/* The facts are on the (first) line that starts with a space. */
	rc = -EPROTO;
	for (line = rep.text; line != NULL && *line; line = end ? end + 1 : NULL) {
		end = strchr(line, '\n');
		if (*line != ' ')
			continue;
		line++;
		rc = ftp_list_parse_mlsd(line,
		    end ? (size_t)(end - line) : strlen(line), &e);
		if (rc == 1) {
			*out = e.attr;
			rc = 0;
		} else if (rc == 0) {
			/* cdir/pdir: the path names a directory itself. */
			memset(out, 0, sizeof(*out));
			out->valid = BA_MODE_TYPE;
			out->mode = S_IFDIR | 0755;
		} else {
			rc = -EPROTO;
		}
		break;
	}
	if (rc == -EPROTO)
		log_warn("MLST %s: facts not understood", abs);
	ftp_reply_free(&rep);
	return rc;
}

/* Without MLST: SIZE (file) + MDTM, else CWD (directory). */
static int
stat_probe(struct ftp_be *fb, struct ftp_conn *c, const char *abs,
    struct backend_attr *out)
{
	struct ftp_reply rep;
	int rc;

	(void)fb;
	memset(out, 0, sizeof(*out));
	rc = ftp_cmd(c, &rep, "SIZE", abs);
	if (rc < 0)
		return rc;
	if (rep.code == 213 &&
	    ftp_parse_size(rep.text, rep.text_len, &out->size) == 0) {
		ftp_reply_free(&rep);
		out->valid = BA_MODE_TYPE | BA_SIZE;
		out->mode = S_IFREG | 0644;
		rc = ftp_cmd(c, &rep, "MDTM", abs);
		if (rc < 0)
			return rc;
		if (rep.code == 213 &&
		    ftp_parse_mdtm(rep.text, rep.text_len, &out->mtime) == 0) {
			out->valid |= BA_MTIME;
			out->mtime_prec = BA_PREC_SECOND;
		}
		ftp_reply_free(&rep);
		return 0;
	}
	ftp_reply_free(&rep);
	rc = ftp_cmd(c, &rep, "CWD", abs);
	if (rc < 0)
		return rc;
	if (rep.code == 250) {
		out->valid = BA_MODE_TYPE;
		out->mode = S_IFDIR | 0755;
		rc = 0;
	} else {
		rc = ftp_errno(&rep, OP_CWD);
		if (rc == -ENOTDIR)
			rc = -ENOENT;
	}
	ftp_reply_free(&rep);
	return rc;
}

static int
do_stat(struct ftp_be *fb, struct ftp_conn *c, void *arg)
{
	struct stat_arg *a = arg;
	char abs[PATH_MAX_FTP];
	bool mlst;
	int rc;

	rc = ftp_server_path(&fb->srv, a->path, abs, sizeof(abs));
	if (rc < 0)
		return rc;
	pthread_mutex_lock(&fb->srv.lock);
	mlst = (fb->srv.feat & FTP_FEAT_MLST) && !fb->srv.mlst_off;
	pthread_mutex_unlock(&fb->srv.lock);
	if (mlst) {
		rc = stat_mlst(fb, c, abs, a->out);
		if (rc != -ENOSYS)
			return rc;
	}
	return stat_probe(fb, c, abs, a->out);
}

static int
ftpb_stat(struct backend *b, const char *path, struct backend_attr *out)
{
	struct stat_arg a = { .path = path, .out = out };

	if (strcmp(path, "/") == 0) {
		memset(out, 0, sizeof(*out));
		out->valid = BA_MODE_TYPE;
		out->mode = S_IFDIR | 0755;
		return 0;
	}
	return with_conn(b->priv, do_stat, &a, true);
}

/* ---- listings ------------------------------------------------------ */

struct list_arg {
	const char *path;	/* mount path */
	bool force_list;	/* LIST even on MLSD servers (link targets) */
	struct backend_dirlist *out;
};

struct list_ctx {
	struct backend_dirlist *out;
	bool saw_dot;		/* "." or ".." appeared (LIST -a honoured) */
	char tail[4];		/* last bytes of the previous chunk */
};

static int
add_entry(const struct ftp_list_entry *e, void *arg)
{
	struct list_ctx *lc = arg;
	char *target = NULL;
	int rc;

	if (e->target != NULL) {
		target = strndup(e->target, e->target_len);
		if (target == NULL)
			return -ENOMEM;
	}
	rc = backend_dirlist_add(lc->out, e->name, e->name_len, target,
	    &e->attr);
	free(target);
	return rc;
}

/* Spot " ." / " .." line ends: proof that "LIST -a" was honoured. */
static void
scan_dots(struct list_ctx *lc, const char *d, size_t n)
{
	size_t i;

	for (i = 0; i < n && !lc->saw_dot; i++) {
		if (d[i] != '\n')
			continue;
		size_t j = i;
		const char *p = d;

		/* Only look within this chunk; a split line is re-probed. */
		if (j > 0 && p[j - 1] == '\r')
			j--;
		if (j >= 2 && p[j - 1] == '.' && p[j - 2] == ' ')
			lc->saw_dot = true;
		else if (j >= 3 && p[j - 1] == '.' && p[j - 2] == '.' &&
		    p[j - 3] == ' ')
			lc->saw_dot = true;
	}
}

/* Run one listing transfer and parse it into lc->out. */
static int
list_transfer(struct ftp_conn *c, const char *verb, const char *arg,
    enum ftp_list_fmt fmt, struct list_ctx *lc, struct ftp_reply *refusal)
{
	struct ftp_list_parser p;
	char buf[64 * 1024];
	ssize_t r;
	int rc;

	rc = ftp_xfer_open(c, verb, arg, -1, false, refusal);
	if (rc < 0)
		return rc;
	ftp_list_parser_init(&p, fmt, time(NULL), add_entry, lc);
	for (;;) {
		r = ftp_xfer_read(c, buf, sizeof(buf));
		if (r <= 0)
			break;
		if (fmt != FTP_LIST_MLSD)
			scan_dots(lc, buf, (size_t)r);
		rc = ftp_list_feed(&p, buf, (size_t)r);
		if (rc < 0)
			break;
	}
	if (r < 0 || rc < 0) {
		ftp_xfer_abort(c);
		ftp_list_parser_free(&p);
		return r < 0 ? (int)r : rc;
	}
	rc = ftp_list_finish(&p);
	if (p.bad_lines > 0)
		log_debug("[%u] %s: %u unparsable line(s) skipped", c->id,
		    verb, p.bad_lines);
	ftp_list_parser_free(&p);
	if (rc < 0) {
		ftp_xfer_abort(c);
		return rc;
	}
	return ftp_xfer_finish(c, refusal);
}

static int
list_mlsd(struct ftp_be *fb, struct ftp_conn *c, const char *abs,
    struct list_ctx *lc)
{
	struct ftp_reply ref;
	int rc;

	rc = list_transfer(c, "MLSD", abs, FTP_LIST_MLSD, lc, &ref);
	if (rc == -EREMOTEIO) {
		if (ref.code == 500 || ref.code == 502) {
			log_info("server refuses MLSD (%d); using LIST",
			    ref.code);
			pthread_mutex_lock(&fb->srv.lock);
			fb->srv.mlsd_off = true;
			pthread_mutex_unlock(&fb->srv.lock);
			rc = -ENOSYS;
		} else {
			rc = ftp_errno(&ref, OP_LIST);
			log_refusal("MLSD", abs, &ref, rc);
		}
		ftp_reply_free(&ref);
	}
	return rc;
}

static int
list_unix(struct ftp_be *fb, struct ftp_conn *c, const char *abs,
    struct list_ctx *lc)
{
	struct ftp_reply ref;
	int rc, list_a;

	/* LIST takes options and globs: CWD, then list "." (guide 1.8). */
	rc = ftp_cmd(c, &ref, "CWD", abs);
	if (rc < 0)
		return rc;
	if (ref.code != 250) {
		rc = ftp_errno(&ref, OP_CWD);
		log_refusal("CWD", abs, &ref, rc);
		ftp_reply_free(&ref);
		return rc;
	}
	ftp_reply_free(&ref);
	pthread_mutex_lock(&fb->srv.lock);
	list_a = fb->srv.list_a;
	pthread_mutex_unlock(&fb->srv.lock);

	rc = list_transfer(c, "LIST", list_a != 0 ? "-a" : NULL, FTP_LIST_AUTO,
	    lc, &ref);
	if (rc == 0 && list_a < 0) {
		/*
		 * Probe: a server that honours -a shows "." and "..".  If not,
		 * "-a" may have been taken as a name: list again plainly.
		 */
		pthread_mutex_lock(&fb->srv.lock);
		fb->srv.list_a = lc->saw_dot ? 1 : 0;
		pthread_mutex_unlock(&fb->srv.lock);
		log_debug("LIST -a %s", lc->saw_dot ? "works" : "ignored");
		if (!lc->saw_dot) {
			backend_dirlist_free(lc->out);
			rc = list_transfer(c, "LIST", NULL, FTP_LIST_AUTO, lc,
			    &ref);
		}
	}
	if (rc == -EREMOTEIO) {
		rc = ftp_errno(&ref, OP_LIST);
		log_refusal("LIST", abs, &ref, rc);
		ftp_reply_free(&ref);
	}
	return rc;
}

static int
do_list(struct ftp_be *fb, struct ftp_conn *c, void *arg)
{
	struct list_arg *a = arg;
	struct list_ctx lc = { .out = a->out };
	char abs[PATH_MAX_FTP];
	bool mlsd;
	int rc;

	backend_dirlist_free(a->out); /* a retry starts from scratch */
	rc = ftp_server_path(&fb->srv, a->path, abs, sizeof(abs));
	if (rc < 0)
		return rc;
	pthread_mutex_lock(&fb->srv.lock);
	mlsd = (fb->srv.feat & (FTP_FEAT_MLST | FTP_FEAT_MLSD)) &&
	    !fb->srv.mlsd_off && !fb->srv.cfg.disable_mlsd;
	pthread_mutex_unlock(&fb->srv.lock);
	if (mlsd && !a->force_list) {
		rc = list_mlsd(fb, c, abs, &lc);
		if (rc != -ENOSYS)
			return rc;
		backend_dirlist_free(a->out);
	}
	return list_unix(fb, c, abs, &lc);
}

static int
ftpb_list(struct backend *b, const char *path, struct backend_dirlist *out)
{
	struct list_arg a = { .path = path, .out = out };
	int rc = with_conn(b->priv, do_list, &a, true);

	if (rc < 0)
		backend_dirlist_free(out);
	return rc;
}

static int
ftpb_readlink(struct backend *b, const char *path, char *buf, size_t size)
{
	struct backend_dirlist l = { 0 };
	struct list_arg a = { .force_list = true, .out = &l };
	const struct backend_dirent *e;
	char parent[PATH_MAX_FTP];
	const char *name;
	int rc;

	rc = backend_path_split(path, parent, sizeof(parent), &name);
	if (rc < 0)
		return rc;
	a.path = parent;
	/* MLSD shows that a link exists but not where it points. */
	rc = with_conn(b->priv, do_list, &a, true);
	if (rc < 0)
		goto out;
	e = backend_dirlist_find(&l, name);
	if (e == NULL) {
		rc = -ENOENT;
	} else if (e->link_target == NULL || size == 0) {
		rc = -EINVAL;
	} else {
		snprintf(buf, size, "%s", e->link_target);
		rc = 0;
	}
out:
	backend_dirlist_free(&l);
	return rc;
}

/* ---- reads ----------------------------------------------------------- */

/* Stop the handle's stream (if any) and give its connection back. */
static void
stream_stop(struct backend_file *f)
{
	struct ftp_conn *c = f->conn;

	if (c == NULL)
		return;
	f->conn = NULL;
	if (!pool_unpark(f->fb->pool, c))
		return; /* the pool already took it back */
	c->owner = NULL;
	if (c->xfer != NULL)
		ftp_xfer_abort(c);
	pool_checkin(f->fb->pool, c, !c->broken);
}

/* Start a RETR at off on a pooled connection. */
static int
stream_start(struct backend_file *f, uint64_t off)
{
	struct ftp_be *fb = f->fb;
	struct ftp_conn *c;
	struct ftp_reply ref;
	int rc;

	stream_stop(f);
	f->win_len = 0;
	f->win_start = off;
	f->pos = off;
	rc = pool_checkout(fb->pool, (void **)&c);
	if (rc < 0)
		return rc;
	rc = ftp_xfer_open(c, "RETR", f->path, (int64_t)off, false, &ref);
	if (rc == -ERANGE) {
		/* REST past the end: the file is shorter than we thought. */
		ftp_reply_free(&ref);
		f->at_eof = true;
		f->eof_pos = off;
		rc = 0;
		goto release;
	}
	if (rc == -EREMOTEIO) {
		rc = ftp_errno(&ref, OP_READ);
		log_refusal("RETR", f->path, &ref, rc);
		ftp_reply_free(&ref);
		goto release;
	}
	if (rc < 0)
		goto release;
	c->owner = f;
	f->conn = c;
	return 0;
release:
	pool_checkin(fb->pool, c, !c->broken);
	return rc;
}

/* Make room for READ_CHUNK more bytes at the end of the window. */
static int
win_room(struct backend_file *f)
{
	if (f->win == NULL) {
		f->win = malloc(WIN_CAP);
		if (f->win == NULL)
			return -ENOMEM;
	}
	if (f->win_len + READ_CHUNK > WIN_CAP) {
		size_t drop = f->win_len - WIN_KEEP;

		memmove(f->win, f->win + drop, WIN_KEEP);
		f->win_len = WIN_KEEP;
		f->win_start += drop;
	}
	return 0;
}

/* Pull the next chunk of the stream into the window. */
static int
stream_fill(struct backend_file *f)
{
	struct ftp_conn *c = f->conn;
	struct ftp_reply ref;
	ssize_t r;
	int rc;

	rc = win_room(f);
	if (rc < 0)
		return rc;
	r = ftp_xfer_read(c, f->win + f->win_len, READ_CHUNK);
	if (r > 0) {
		f->win_len += (size_t)r;
		f->pos += (uint64_t)r;
		return 0;
	}
	if (r < 0) {
		stream_stop(f);
		return (int)r;
	}
	/* EOF: the transfer must end with a 2xx or the data is suspect. */
	rc = ftp_xfer_finish(c, &ref);
	f->conn = NULL;
	c->owner = NULL;
	pool_unpark(f->fb->pool, c);
	pool_checkin(f->fb->pool, c, !c->broken);
	if (rc == -EREMOTEIO) {
		log_warn("RETR %s ended with %d %s", f->path, ref.code,
		    ftp_reply_last_line(&ref));
		ftp_reply_free(&ref);
		return -EIO;
	}
	if (rc < 0)
		return rc;
	f->at_eof = true;
	f->eof_pos = f->pos;
	return 0;
}

static ssize_t
read_locked(struct backend_file *f, char *buf, size_t size, off_t off)
{
	uint64_t cur;
	size_t total = 0, n;
	int rc, restarts = 0;

	if (f->size >= 0 && (uint64_t)off >= (uint64_t)f->size)
		return 0;
	if (f->conn != NULL && !pool_unpark(f->fb->pool, f->conn))
		f->conn = NULL; /* reclaimed while we were idle */
	while (total < size) {
		cur = (uint64_t)off + total;
		if (cur >= f->win_start && cur < f->win_start + f->win_len) {
			n = (size_t)(f->win_start + f->win_len - cur);
			if (n > size - total)
				n = size - total;
			memcpy(buf + total, f->win + (cur - f->win_start), n);
			total += n;
			continue;
		}
		if (f->at_eof && cur >= f->eof_pos)
			break;
		if (f->conn == NULL || cur < f->win_start ||
		    cur > f->pos + SKIP_MAX) {
			f->at_eof = false;
			rc = stream_start(f, cur);
			if (rc < 0)
				goto fail;
			continue;
		}
		rc = stream_fill(f);
		if (rc < 0) {
			if (rc == -ENOMEM || rc == -EIO || ++restarts > 1)
				goto fail;
			log_info("read of %s interrupted (%s); restarting at "
			    "%" PRIu64, f->path, strerror(-rc), cur);
			rc = stream_start(f, cur);
			if (rc < 0)
				goto fail;
		}
	}
	if (f->conn != NULL)
		pool_park(f->fb->pool, f->conn);
	return (ssize_t)total;
fail:
	stream_stop(f);
	return total > 0 ? (ssize_t)total : rc;
}

static ssize_t
ftpb_read(struct backend *b, struct backend_file *f, char *buf, size_t size,
    off_t off)
{
	ssize_t r;

	(void)b;
	if (off < 0)
		return -EINVAL;
	pthread_mutex_lock(&f->lock);
	r = read_locked(f, buf, size, off);
	pthread_mutex_unlock(&f->lock);
	return r;
}

static int
ftpb_open(struct backend *b, const char *path, unsigned flags, mode_t mode,
    int64_t known_size, struct backend_file **out)
{
	struct ftp_be *fb = b->priv;
	struct backend_file *f;
	char abs[PATH_MAX_FTP];
	int rc;

	(void)mode;
	if (flags & (BO_WRITE | BO_CREATE | BO_TRUNC | BO_APPEND))
		return -EROFS;
	rc = ftp_server_path(&fb->srv, path, abs, sizeof(abs));
	if (rc < 0)
		return rc;
	f = calloc(1, sizeof(*f));
	if (f == NULL)
		return -ENOMEM;
	f->path = strdup(abs);
	if (f->path == NULL) {
		free(f);
		return -ENOMEM;
	}
	pthread_mutex_init(&f->lock, NULL);
	f->fb = fb;
	f->size = known_size;
	*out = f;
	return 0;
}

static int
ftpb_release(struct backend *b, struct backend_file *f)
{
	(void)b;
	pthread_mutex_lock(&f->lock);
	stream_stop(f);
	pthread_mutex_unlock(&f->lock);
	pthread_mutex_destroy(&f->lock);
	free(f->win);
	free(f->path);
	free(f);
	return 0;
}

/* ---- life cycle ------------------------------------------------------ */

static void
ftpb_destroy(struct backend *b)
{
	struct ftp_be *fb = b->priv;

	pool_destroy(fb->pool);
	ftp_server_free(&fb->srv);
	free(fb);
}

static const struct backend_ops ftp_ops = {
	.name = "ftp",
	.stat = ftpb_stat,
	.list = ftpb_list,
	.readlink = ftpb_readlink,
	.open = ftpb_open,
	.read = ftpb_read,
	.release = ftpb_release,
	.destroy = ftpb_destroy,
};

void
ftp_config_defaults(struct ftp_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->port = 21;
	cfg->root = "/";
	cfg->connections = 4;
	cfg->connect_timeout_ms = 10000;
	cfg->cmd_timeout_ms = 30000;
	cfg->data_timeout_ms = 10000;
	cfg->idle_timeout_ms = 60000;
	cfg->data_mode = FTP_DATA_AUTO;
}

/* Check the mount root on the first connection: fail the mount early. */
static int
check_root(struct ftp_be *fb, struct ftp_conn *c, char *msg, size_t msglen)
{
	struct ftp_reply rep;
	char abs[PATH_MAX_FTP];
	int rc;

	rc = ftp_server_path(&fb->srv, "/", abs, sizeof(abs));
	if (rc < 0) {
		snprintf(msg, msglen, "remote path too long");
		return rc;
	}
	rc = ftp_cmd(c, &rep, "CWD", abs);
	if (rc < 0) {
		snprintf(msg, msglen, "connection lost: %s", strerror(-rc));
		return rc;
	}
	if (rep.code != 250) {
		rc = ftp_errno(&rep, OP_CWD);
		if (rc != -EACCES && rc != -ENOTDIR)
			rc = -ENOENT;
		snprintf(msg, msglen, "remote directory %s: %s (%d %s)", abs,
		    strerror(-rc), rep.code, ftp_reply_last_line(&rep));
	}
	ftp_reply_free(&rep);
	return rc;
}

int
ftp_backend_new(const struct ftp_config *cfg, struct backend **out,
    char *msg, size_t msglen)
{
	struct pool_config pc;
	struct ftp_be *fb;
	struct ftp_conn *c = NULL;
	int rc;

	fb = calloc(1, sizeof(*fb));
	if (fb == NULL)
		return -ENOMEM;
	rc = ftp_server_init(&fb->srv, cfg);
	if (rc < 0) {
		free(fb);
		return rc;
	}
	/* The first connection is opened here so its errors reach the user. */
	rc = ftp_conn_open(&fb->srv, &c, msg, msglen);
	if (rc < 0)
		goto fail;
	rc = check_root(fb, c, msg, msglen);
	if (rc < 0)
		goto fail;
	pc = (struct pool_config){
		.max = cfg->connections ? cfg->connections : 1,
		.idle_timeout_ms = cfg->idle_timeout_ms,
		.park_timeout_ms = 20000,
		.wait_timeout_ms = cfg->cmd_timeout_ms * 2,
	};
	rc = pool_new(&pc, &ftp_pool_ops, fb, &fb->pool);
	if (rc < 0) {
		snprintf(msg, msglen, "cannot create the connection pool");
		goto fail;
	}
	/* Hand the checked connection to the pool as its first member. */
	pool_adopt(fb->pool, c);
	c = NULL;
	fb->be.ops = &ftp_ops;
	fb->be.priv = fb;
	if (fb->srv.feat & FTP_FEAT_MLST)
		fb->be.caps |= BCAP_CHEAP_STAT;
	log_info("mounted %s port %u, remote directory %s (%s)",
	    fb->srv.cfg.host, fb->srv.cfg.port, fb->srv.root,
	    fb->srv.feat & FTP_FEAT_MLST ? "MLSD" : "LIST");
	*out = &fb->be;
	return 0;
fail:
	ftp_conn_close(c, rc != -EACCES);
	ftp_server_free(&fb->srv);
	free(fb);
	return rc;
}
