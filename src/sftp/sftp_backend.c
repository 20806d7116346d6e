/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * sftp_backend: struct backend over SFTP (contract in
 * include/sftp_backend.h).  This file: life cycle, pool glue, the errno
 * mapping, names and metadata.  Open files live in sftp_file.c.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "net.h"
#include "secret.h"
#include "sftp_be.h"
#include "url.h"

/* ---- errno ------------------------------------------------------------ */

int
sb_reply_errno(const struct sftp_reply *r, const char *what, const char *abs)
{
	int err;

	if (r->type != SSH_FXP_STATUS) {
		log_warn("%s %s: unexpected %s reply", what, abs,
		    sftp_type_name(r->type));
		return -EPROTO;
	}
	err = sftp_status_errno(r->u.status.code);
	if (err != 0)
		log_debug("%s %s: %s (%.*s) -> %s", what, abs,
		    sftp_status_name(r->u.status.code),
		    (int)r->u.status.msg.len, r->u.status.msg.p,
		    strerror(-err));
	return err;
}

int
sb_status(struct sftp_be *sb, struct sftp_conn *c, uint32_t id,
    const char *what, const char *abs, uint32_t *code)
{
	struct sftp_reply r;
	int rc = sftp_conn_wait(c, id, &r, sb->tmo);

	if (rc < 0) {
		log_warn("%s %s: %s", what, abs, strerror(-rc));
		return rc;
	}
	if (code != NULL)
		*code = r.type == SSH_FXP_STATUS ? r.u.status.code
		                                 : SSH_FX_BAD_MESSAGE;
	return sb_reply_errno(&r, what, abs);
}

void
sb_attr(const struct sftp_attrs *a, struct backend_attr *out)
{
	memset(out, 0, sizeof(*out));
	if (a->flags & SSH_FILEXFER_ATTR_PERMISSIONS) {
		out->mode = (mode_t)a->perm;
		out->valid |= BA_MODE_PERM;
		if (a->perm & S_IFMT)
			out->valid |= BA_MODE_TYPE;
	}
	if (a->flags & SSH_FILEXFER_ATTR_SIZE) {
		out->size = a->size;
		out->valid |= BA_SIZE;
	}
	if (a->flags & SSH_FILEXFER_ATTR_ACMODTIME) {
		out->mtime.tv_sec = (time_t)a->mtime;
		out->mtime_prec = BA_PREC_SECOND;
		out->atime.tv_sec = (time_t)a->atime;
		out->valid |= BA_MTIME | BA_ATIME;
	}
	if (a->flags & SSH_FILEXFER_ATTR_UIDGID) {
		out->uid = (uid_t)a->uid;
		out->gid = (gid_t)a->gid;
		out->valid |= BA_UID | BA_GID;
	}
}

int
sb_abs(const struct sftp_be *sb, const char *path, char *out, size_t size)
{
	int n;

	if (strcmp(sb->root, "/") == 0)
		n = snprintf(out, size, "%s", path);
	else
		n = snprintf(out, size, "%s%s", sb->root,
		    strcmp(path, "/") == 0 ? "" : path);
	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

/* ---- pool glue -------------------------------------------------------- */

static int
pool_connect(void *ctx, void **conn)
{
	struct sftp_be *sb = ctx;
	struct sb_conn *sc;
	char msg[512] = "";
	int rc;

	sc = calloc(1, sizeof(*sc));
	if (sc == NULL)
		return -ENOMEM;
	rc = sftp_conn_open(&sb->cfg.conn, &sc->c, msg, sizeof(msg));
	if (rc < 0) {
		if (pool_server_lost(sb->pool))
			log_debug("%s", msg);
		else
			log_warn("%s", msg);
		free(sc);
		return rc;
	}
	*conn = sc;
	return 0;
}

static int
pool_check(void *ctx, void *conn)
{
	struct sb_conn *sc = conn;

	(void)ctx;
	return sftp_conn_check_idle(sc->c);
}

static int
pool_reset(void *ctx, void *conn)
{
	return sb_file_reclaim(ctx, conn);
}

static void
pool_destroy_conn(void *ctx, void *conn, bool graceful)
{
	struct sb_conn *sc = conn;

	(void)ctx;
	(void)graceful;
	sftp_conn_close(sc->c);
	free(sc);
}

/*
 * ServerAliveInterval (-o keepalive): an idle session is asked for the
 * attributes of the mount's root, a round trip (an SSH keepalive message
 * alone proves nothing until its answer is read).  Any answer, even an
 * error status, shows the session alive.
 */
static int
pool_keepalive(void *ctx, void *conn)
{
	struct sftp_be *sb = ctx;
	struct sb_conn *sc = conn;
	struct sftp_attrs a;
	int rc;

	rc = sftp_conn_check_idle(sc->c);
	if (rc == 0) {
		rc = sb_lstat(sb, sc->c, sb->root, &a);
		if (!sftp_conn_broken(sc->c) && rc != -ETIMEDOUT)
			rc = 0;
		else if (rc == 0)
			rc = -ECONNRESET;
	}
	log_debug("keepalive: %s", rc == 0 ? "ok" : strerror(-rc));
	return rc;
}

static const struct pool_conn_ops sftp_pool_ops = {
	.connect = pool_connect,
	.check = pool_check,
	.reset = pool_reset,
	.destroy = pool_destroy_conn,
	.keepalive = pool_keepalive,
};

int
sb_get(struct sftp_be *sb, struct sb_conn **out)
{
	return pool_checkout(sb->pool, (void **)out);
}

int
sb_try_get(struct sftp_be *sb, unsigned spare, struct sb_conn **out)
{
	return pool_try_checkout(sb->pool, spare, (void **)out);
}

void
sb_put(struct sftp_be *sb, struct sb_conn *sc)
{
	sc->owner = NULL;
	pool_checkin(sb->pool, sc, !sftp_conn_broken(sc->c));
}

typedef int (*sb_fn)(struct sftp_be *sb, struct sftp_conn *c, void *arg);

bool
sb_conn_error(int rc)
{
	return rc == -ECONNRESET || rc == -EPIPE || rc == -ENOTCONN ||
	    rc == -EPROTO || rc == -ETIMEDOUT;
}

bool
sb_may_retry(int tries)
{
	int ms = POOL_HOLDOFF_MS + 200;
	struct timespec ts;

	if (tries > SB_RETRIES)
		return false;
	if (tries < 2)
		return true;
	if (net_op_clamp(ms) < ms)
		return false; /* the deadline comes first */
	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (long)(ms % 1000) * 1000000L;
	nanosleep(&ts, NULL);
	return true;
}

/*
 * Run fn on a pooled session; idempotent operations go again on a fresh
 * session when theirs turns out to be dead (dropped, or garbled), or the
 * connect for it failed the same way (sb_may_retry).  Not after a
 * timeout: a server that let one session wait out the whole deadline is
 * frozen or unreachable, and its other sessions would only make the
 * caller wait as long again.
 */
static int
with_conn(struct sftp_be *sb, sb_fn fn, void *arg, bool idempotent)
{
	struct sb_conn *sc;
	bool broken;
	int rc, tries;

	/* A change: statvfs answers kept go, those asked meanwhile too. */
	if (!idempotent)
		sb_svfs_changed(sb);
	for (tries = 1;; tries++) {
		rc = sb_get(sb, &sc);
		broken = true; /* a failed connect: no session */
		if (rc == 0) {
			rc = fn(sb, sc->c, arg);
			broken = sftp_conn_broken(sc->c);
			sb_put(sb, sc);
			if (broken && rc == -ETIMEDOUT)
				pool_timed_out(sb->pool, rc);
		}
		if (!broken || !idempotent || !sb_conn_error(rc) ||
		    rc == -ETIMEDOUT || !sb_may_retry(tries))
			break;
		log_info("session lost (%s); trying again", strerror(-rc));
	}
	if (!idempotent)
		sb_svfs_changed(sb);
	return rc;
}

/* ---- metadata ----------------------------------------------------------- */

/* A request of type whose one argument is abs, and its reply: 0 or -errno. */
static int
path_request(struct sftp_be *sb, struct sftp_conn *c, uint8_t type,
    const char *abs, struct sftp_reply *r)
{
	uint32_t id = sftp_conn_id(c);
	int rc;

	rc = sftp_enc_path(sftp_conn_out(c), type, id, abs);
	if (rc < 0) {
		sftp_conn_unqueue(c);
		return rc;
	}
	return sftp_conn_wait(c, id, r, sb->tmo);
}

int
sb_lstat(struct sftp_be *sb, struct sftp_conn *c, const char *abs,
    struct sftp_attrs *out)
{
	struct sftp_reply r;
	int rc;

	rc = path_request(sb, c, SSH_FXP_LSTAT, abs, &r);
	if (rc < 0)
		return rc;
	if (r.type == SSH_FXP_ATTRS) {
		*out = r.u.attrs;
		return 0;
	}
	rc = sb_reply_errno(&r, "LSTAT", abs);
	return rc == 0 ? -EPROTO : rc;
}

struct path_arg {
	const char *path;
	char abs[SFTP_PATH_MAX];
	void *out;
	size_t size;
	mode_t mode;
	unsigned flags;
	const char *path2;
	char abs2[SFTP_PATH_MAX];
	off_t length;
	bool keep_atime; /* SETSTAT of times: keep the server's atime */
	bool keep_mtime; /* ... or its mtime */
};

static int
do_stat(struct sftp_be *sb, struct sftp_conn *c, void *arg)
{
	struct path_arg *a = arg;
	struct sftp_attrs at;
	int rc = sb_lstat(sb, c, a->abs, &at);

	if (rc == 0)
		sb_attr(&at, a->out);
	return rc;
}

static int
sftpb_stat(struct backend *b, const char *path, struct backend_attr *out)
{
	struct sftp_be *sb = b->priv;
	struct path_arg a = { .path = path, .out = out };
	int rc = sb_abs(sb, path, a.abs, sizeof(a.abs));

	return rc < 0 ? rc : with_conn(sb, do_stat, &a, true);
}

/*
 * READDIRs sent at once while listing (OpenSSH sends <= 100 names a
 * reply), and at most after a batch that did not reach the end (each
 * batch doubles, up to LIST_DEPTH_MAX).  A batch is sent whole and its
 * replies taken before the next: a READDIR sent as each reply comes in
 * would, at the end of a folder, be one past its EOF whose reply costs a
 * round trip more (3 for a folder of 100 names instead of 2).
 */
#define LIST_DEPTH 4
#define LIST_DEPTH_MAX 32

static int
do_list(struct sftp_be *sb, struct sftp_conn *c, void *arg)
{
	struct path_arg *a = arg;
	struct backend_dirlist *out = a->out;
	struct sftp_handle h;
	struct sftp_reply r;
	struct sftp_name_ent e;
	struct backend_attr at;
	uint32_t id, ids[LIST_DEPTH_MAX];
	unsigned head = 0, inflight = 0, depth = LIST_DEPTH;
	bool done = false;
	size_t pos;
	unsigned gen = sb_svfs_gen(sb);
	int64_t t = net_now_ms();
	uint32_t svfs_id;
	bool svfs;
	int rc, err = 0;

	id = sftp_conn_id(c);
	rc = sftp_enc_path(sftp_conn_out(c), SSH_FXP_OPENDIR, id, a->abs);
	if (rc < 0) {
		sftp_conn_unqueue(c);
		return rc;
	}
	/* The folder's statvfs in the same flight (sftp_statvfs.c). */
	svfs = sb_svfs_ask(c, a->abs, &svfs_id) == 0;
	rc = sftp_conn_wait(c, id, &r, sb->tmo);
	if (rc < 0)
		return rc;
	if (r.type != SSH_FXP_HANDLE) {
		rc = sb_reply_errno(&r, "OPENDIR", a->abs);
		if (svfs)
			(void)sftp_conn_forget(c, svfs_id, sb->tmo);
		return rc == 0 ? -EPROTO : rc;
	}
	h = r.u.handle;
	if (svfs) {
		struct sftp_reply sr;

		rc = sftp_conn_wait(c, svfs_id, &sr, sb->tmo);
		if (rc < 0)
			return rc;
		sb_svfs_take(sb, a->abs, &sr, gen, t);
	}
	/* Replies come in order: ids[] holds the batch's READDIRs. */
	for (;;) {
		if (inflight == 0 && !done && err == 0) {
			for (head = 0; inflight < depth; inflight++) {
				id = sftp_conn_id(c);
				rc = sftp_enc_handle(
				    sftp_conn_out(c), SSH_FXP_READDIR, id, &h);
				if (rc < 0) {
					sftp_conn_unqueue(c);
					err = rc;
					break;
				}
				ids[inflight] = id;
			}
			if (depth < LIST_DEPTH_MAX)
				depth *= 2;
		}
		if (inflight == 0)
			break;
		rc = sftp_conn_wait(c, ids[head], &r, sb->tmo);
		if (rc < 0)
			return rc;
		head++;
		inflight--;
		if (done || err != 0)
			continue; /* replies to READDIRs past the end */
		if (r.type == SSH_FXP_STATUS) {
			if (r.u.status.code != SSH_FX_EOF)
				err = sb_reply_errno(&r, "READDIR", a->abs);
			done = true;
			continue;
		}
		if (r.type != SSH_FXP_NAME) {
			err = sb_reply_errno(&r, "READDIR", a->abs);
			continue;
		}
		pos = 0;
		while (err == 0 && sftp_name_next(&r, &pos, &e)) {
			if (!sftp_name_listable(&e.filename))
				continue;
			sb_attr(&e.attrs, &at);
			err = backend_dirlist_add(
			    out, e.filename.p, e.filename.len, NULL, &at);
		}
	}
	id = sftp_conn_id(c);
	rc = sftp_enc_handle(sftp_conn_out(c), SSH_FXP_CLOSE, id, &h);
	if (rc < 0) {
		sftp_conn_unqueue(c);
		return err ? err : rc;
	}
	/* The listing is complete: its CLOSE need not hold the caller. */
	rc = sftp_conn_forget(c, id, sb->tmo);
	if (err == 0 && sb_conn_error(rc))
		err = rc;
	if (err != 0)
		backend_dirlist_free(out);
	return err;
}

static int
sftpb_list(struct backend *b, const char *path, struct backend_dirlist *out)
{
	struct sftp_be *sb = b->priv;
	struct path_arg a = { .path = path, .out = out };
	int rc = sb_abs(sb, path, a.abs, sizeof(a.abs));

	return rc < 0 ? rc : with_conn(sb, do_list, &a, true);
}

static int
do_readlink(struct sftp_be *sb, struct sftp_conn *c, void *arg)
{
	struct path_arg *a = arg;
	struct sftp_reply r;
	struct sftp_name_ent e;
	size_t pos = 0, n;
	int rc;

	rc = path_request(sb, c, SSH_FXP_READLINK, a->abs, &r);
	if (rc < 0)
		return rc;
	if (r.type != SSH_FXP_NAME) {
		rc = sb_reply_errno(&r, "READLINK", a->abs);
		/* OpenSSH: readlink(2) EINVAL on a non-link -> FAILURE */
		return rc == -EIO || rc == 0 ? -EINVAL : rc;
	}
	if (!sftp_name_next(&r, &pos, &e))
		return -EPROTO;
	n = e.filename.len < a->size - 1 ? e.filename.len : a->size - 1;
	memcpy(a->out, e.filename.p, n);
	((char *)a->out)[n] = '\0';
	return 0;
}

static int
sftpb_readlink(struct backend *b, const char *path, char *buf, size_t size)
{
	struct sftp_be *sb = b->priv;
	struct path_arg a = { .path = path, .out = buf, .size = size };
	int rc;

	if (size == 0)
		return -EINVAL;
	rc = sb_abs(sb, path, a.abs, sizeof(a.abs));
	return rc < 0 ? rc : with_conn(sb, do_readlink, &a, true);
}

/*
 * FAILURE hides EEXIST, ENOTEMPTY, EISDIR, ENOTDIR and EXDEV (SFTP v3 has
 * no codes for them; OpenSSH's server answers FAILURE): look at what is there.
 */
static int
clarify(struct sftp_be *sb, struct sftp_conn *c, int rc, const char *verb,
    const char *abs, const char *from)
{
	struct sftp_attrs at, fat;
	bool is_dir, from_dir = false;

	if (rc != -EIO || sftp_conn_broken(c))
		return rc;
	if (sb_lstat(sb, c, abs, &at) < 0)
		return rc; /* nothing there: keep EIO */
	is_dir = (at.flags & SSH_FILEXFER_ATTR_PERMISSIONS) && S_ISDIR(at.perm);
	if (from != NULL && sb_lstat(sb, c, from, &fat) == 0)
		from_dir = (fat.flags & SSH_FILEXFER_ATTR_PERMISSIONS) &&
		    S_ISDIR(fat.perm);
	if (strcmp(verb, "RMDIR") == 0)
		rc = is_dir ? -ENOTEMPTY : -ENOTDIR;
	else if (strcmp(verb, "REMOVE") == 0)
		rc = is_dir ? -EISDIR : -EIO;
	else if (strcmp(verb, "RENAME") == 0)
		rc = is_dir ? (from_dir ? -ENOTEMPTY : -EISDIR)
		            : (from_dir ? -ENOTDIR : -EEXIST);
	else if (strcmp(verb, "OPEN") == 0)
		rc = is_dir ? -EISDIR : -EEXIST;
	else
		rc = -EEXIST; /* MKDIR, SYMLINK, hardlink */
	log_debug("%s %s: FAILURE read as %s", verb, abs, strerror(-rc));
	return rc;
}

void
sb_perm_again(struct sftp_be *sb, struct sftp_conn *c, const char *abs,
    const struct sftp_handle *h, uint32_t perm)
{
	struct sftp_attrs at = { .flags = SSH_FILEXFER_ATTR_PERMISSIONS,
		.perm = perm & 07777 };
	uint32_t id = sftp_conn_id(c);
	int rc;

	if (h != NULL)
		rc = sftp_enc_fsetstat(sftp_conn_out(c), id, h, &at);
	else
		rc = sftp_enc_path_attrs(
		    sftp_conn_out(c), SSH_FXP_SETSTAT, id, abs, &at);
	if (rc < 0) {
		sftp_conn_unqueue(c);
		return;
	}
	(void)sftp_conn_forget(c, id, sb->tmo);
}

/*
 * The LSTAT (id) sent behind a MKDIR that ended with mkdir_rc: where the
 * server's umask took bits of perm away, they are set again; a setgid bit
 * the folder inherited from its parent stays (as mkdir(2) on a local disk
 * keeps it; a chmod without it would clear it).
 */
static void
mkdir_mode(struct sftp_be *sb, struct sftp_conn *c, uint32_t id, int mkdir_rc,
    const char *abs, uint32_t perm)
{
	struct sftp_reply r;
	uint32_t got;

	if (sftp_conn_wait(c, id, &r, sb->tmo) < 0 || mkdir_rc != 0 ||
	    r.type != SSH_FXP_ATTRS ||
	    !(r.u.attrs.flags & SSH_FILEXFER_ATTR_PERMISSIONS))
		return;
	got = r.u.attrs.perm & 07777;
	if ((got & ~S_ISGID) != (perm & ~S_ISGID))
		sb_perm_again(sb, c, abs, NULL, perm | (got & S_ISGID));
}

static int
do_simple(struct sftp_be *sb, struct sftp_conn *c, void *arg)
{
	struct path_arg *a = arg;
	struct sftp_attrs at = { 0 };
	struct buf *o = sftp_conn_out(c);
	const char *verb;
	uint32_t id = sftp_conn_id(c), lid = 0;
	bool look = false;
	int rc;

	switch (a->flags) {
	case SSH_FXP_MKDIR:
		verb = "MKDIR";
		at.flags = SSH_FILEXFER_ATTR_PERMISSIONS;
		at.perm = a->mode & 07777;
		rc = sftp_enc_path_attrs(o, SSH_FXP_MKDIR, id, a->abs, &at);
		if (rc == 0) {
			/* what the server made of the mode, in the same
			   flight (mkdir_mode) */
			lid = sftp_conn_id(c);
			look =
			    sftp_enc_path(o, SSH_FXP_LSTAT, lid, a->abs) == 0;
			if (!look)
				sftp_conn_unqueue(c);
		}
		break;
	case SSH_FXP_RMDIR:
		verb = "RMDIR";
		rc = sftp_enc_path(o, SSH_FXP_RMDIR, id, a->abs);
		break;
	case SSH_FXP_REMOVE:
		verb = "REMOVE";
		rc = sftp_enc_path(o, SSH_FXP_REMOVE, id, a->abs);
		break;
	case SSH_FXP_SYMLINK:
		verb = "SYMLINK";
		rc = sftp_enc_symlink(o, id, a->path2, a->abs);
		break;
	default:
		sftp_conn_unqueue(c);
		return -EINVAL;
	}
	if (rc < 0) {
		sftp_conn_unqueue(c);
		return rc;
	}
	rc = sb_status(sb, c, id, verb, a->abs, NULL);
	if (look)
		mkdir_mode(sb, c, lid, rc, a->abs, at.perm);
	return clarify(sb, c, rc, verb, a->abs, NULL);
}

static int
simple(struct backend *b, unsigned type, const char *path, mode_t mode,
    const char *path2)
{
	struct sftp_be *sb = b->priv;
	struct path_arg a = {
		.path = path, .flags = type, .mode = mode, .path2 = path2
	};
	int rc = sb_abs(sb, path, a.abs, sizeof(a.abs));

	return rc < 0 ? rc : with_conn(sb, do_simple, &a, false);
}

static int
sftpb_mkdir(struct backend *b, const char *path, mode_t mode)
{
	return simple(b, SSH_FXP_MKDIR, path, mode, NULL);
}

static int
sftpb_rmdir(struct backend *b, const char *path)
{
	return simple(b, SSH_FXP_RMDIR, path, 0, NULL);
}

static int
sftpb_unlink(struct backend *b, const char *path)
{
	return simple(b, SSH_FXP_REMOVE, path, 0, NULL);
}

/* OpenSSH order: the link's contents first (sftp_enc_symlink). */
static int
sftpb_symlink(struct backend *b, const char *target, const char *linkpath)
{
	return simple(b, SSH_FXP_SYMLINK, linkpath, 0, target);
}

static int
do_rename(struct sftp_be *sb, struct sftp_conn *c, void *arg)
{
	struct path_arg *a = arg;
	bool posix = !(a->flags & RENAME_NOREPLACE) &&
	    sftp_conn_has_ext(c, SFTP_EXT_POSIX_RENAME);
	struct sftp_attrs at;
	uint32_t id;
	int rc;

	/*
	 * v3 RENAME refuses an existing target (OpenSSH: link+unlink), which
	 * is RENAME_NOREPLACE; rename(2) semantics need posix-rename.  A
	 * server without it gets a remove first: not atomic, said in the log.
	 */
	if (!posix && !(a->flags & RENAME_NOREPLACE) &&
	    sb_lstat(sb, c, a->abs2, &at) == 0 &&
	    !((at.flags & SSH_FILEXFER_ATTR_PERMISSIONS) && S_ISDIR(at.perm))) {
		log_info("rename %s over %s: no posix-rename on this server, "
		         "removing the target first (not atomic)",
		    a->abs, a->abs2);
		id = sftp_conn_id(c);
		rc = sftp_enc_path(
		    sftp_conn_out(c), SSH_FXP_REMOVE, id, a->abs2);
		if (rc < 0) {
			sftp_conn_unqueue(c);
			return rc;
		}
		rc = sb_status(sb, c, id, "REMOVE", a->abs2, NULL);
		if (rc < 0)
			return rc;
	}
	id = sftp_conn_id(c);
	rc = posix
	    ? sftp_enc_posix_rename(sftp_conn_out(c), id, a->abs, a->abs2)
	    : sftp_enc_rename(sftp_conn_out(c), id, a->abs, a->abs2);
	if (rc < 0) {
		sftp_conn_unqueue(c);
		return rc;
	}
	rc = sb_status(
	    sb, c, id, posix ? "posix-rename" : "RENAME", a->abs, NULL);
	return clarify(sb, c, rc, "RENAME", a->abs2, a->abs);
}

static int
sftpb_rename(
    struct backend *b, const char *from, const char *to, unsigned flags)
{
	struct sftp_be *sb = b->priv;
	struct path_arg a = { .path = from, .flags = flags };
	int rc;

	if (flags & ~(unsigned)RENAME_NOREPLACE)
		return -EINVAL;
	rc = sb_abs(sb, from, a.abs, sizeof(a.abs));
	if (rc == 0)
		rc = sb_abs(sb, to, a.abs2, sizeof(a.abs2));
	return rc < 0 ? rc : with_conn(sb, do_rename, &a, false);
}

static int
do_link(struct sftp_be *sb, struct sftp_conn *c, void *arg)
{
	struct path_arg *a = arg;
	struct sftp_attrs at;
	uint32_t id;
	int rc;

	if (!sftp_conn_has_ext(c, SFTP_EXT_HARDLINK))
		return -EPERM; /* link(2) where the filesystem has none */
	id = sftp_conn_id(c);
	rc = sftp_enc_hardlink(sftp_conn_out(c), id, a->abs, a->abs2);
	if (rc < 0) {
		sftp_conn_unqueue(c);
		return rc;
	}
	rc = sb_status(sb, c, id, "hardlink", a->abs2, NULL);
	/* link(2) of a directory: EPERM (OpenSSH: PERMISSION_DENIED) */
	if (rc == -EACCES && sb_lstat(sb, c, a->abs, &at) == 0 &&
	    (at.flags & SSH_FILEXFER_ATTR_PERMISSIONS) && S_ISDIR(at.perm))
		return -EPERM;
	return clarify(sb, c, rc, "hardlink", a->abs2, NULL);
}

static int
sftpb_link(struct backend *b, const char *from, const char *to)
{
	struct sftp_be *sb = b->priv;
	struct path_arg a = { .path = from };
	int rc;

	rc = sb_abs(sb, from, a.abs, sizeof(a.abs));
	if (rc == 0)
		rc = sb_abs(sb, to, a.abs2, sizeof(a.abs2));
	return rc < 0 ? rc : with_conn(sb, do_link, &a, false);
}

/*
 * Is abs a symlink?  Asked with READLINK, not LSTAT: ProFTPD's mod_sftp
 * answers LSTAT of a link with its target's attributes.  true, false, or
 * -errno for the session.
 */
static int
is_link(struct sftp_be *sb, struct sftp_conn *c, const char *abs)
{
	struct sftp_reply r;
	int rc = path_request(sb, c, SSH_FXP_READLINK, abs, &r);

	return rc < 0 ? rc : r.type == SSH_FXP_NAME;
}

/*
 * SETSTAT with the attributes in a->out.  Times alone are set on the path
 * itself, never on what a symlink there points to: FUSE hands us a link's
 * own node only when the caller asked not to follow it (utimensat with
 * AT_SYMLINK_NOFOLLOW: touch -h, rsync's lutimes), and SETSTAT follows.
 * lsetstat@openssh.com does not; without it a link's times cannot be set
 * (-EOPNOTSUPP), and its target is left alone.
 */
static int
do_setstat(struct sftp_be *sb, struct sftp_conn *c, void *arg)
{
	struct path_arg *a = arg;
	struct sftp_attrs *at = a->out, cur;
	bool times = at->flags == SSH_FILEXFER_ATTR_ACMODTIME;
	bool lset = times && sftp_conn_has_ext(c, SFTP_EXT_LSETSTAT);
	uint32_t id;
	int rc;

	if (times && !lset) {
		rc = is_link(sb, c, a->abs);
		if (rc != 0)
			return rc < 0 ? rc : -EOPNOTSUPP;
	}
	/* v3 sets atime and mtime together: the one kept is read first. */
	if ((at->flags & SSH_FILEXFER_ATTR_ACMODTIME) &&
	    (a->keep_atime || a->keep_mtime)) {
		rc = sb_lstat(sb, c, a->abs, &cur);
		if (rc < 0)
			return rc;
		if (!(cur.flags & SSH_FILEXFER_ATTR_ACMODTIME))
			cur.atime = cur.mtime =
			    a->keep_atime ? at->mtime : at->atime;
		if (a->keep_atime)
			at->atime = cur.atime;
		if (a->keep_mtime)
			at->mtime = cur.mtime;
	}
	id = sftp_conn_id(c);
	if (lset)
		rc = sftp_enc_lsetstat(sftp_conn_out(c), id, a->abs, at);
	else
		rc = sftp_enc_path_attrs(
		    sftp_conn_out(c), SSH_FXP_SETSTAT, id, a->abs, at);
	if (rc < 0) {
		sftp_conn_unqueue(c);
		return rc;
	}
	return sb_status(
	    sb, c, id, lset ? "lsetstat" : "SETSTAT", a->abs, NULL);
}

/* keep: 1 keeps the server's atime, 2 its mtime (SETSTAT of times). */
static int
setstat(
    struct backend *b, const char *path, struct sftp_attrs *at, unsigned keep)
{
	struct sftp_be *sb = b->priv;
	struct path_arg a = { .path = path,
		.out = at,
		.keep_atime = (keep & 1) != 0,
		.keep_mtime = (keep & 2) != 0 };
	int rc = sb_abs(sb, path, a.abs, sizeof(a.abs));

	if (rc < 0)
		return rc;
	sb_wb_settle(sb, a.abs);
	rc = with_conn(sb, do_setstat, &a, true);
	if (at->flags & SSH_FILEXFER_ATTR_SIZE) {
		atomic_fetch_add(&sb->gen[sb_path_slot(a.abs)], 1);
		sb_svfs_changed(sb);
	}
	return rc;
}

unsigned
sb_path_slot(const char *abs)
{
	return backend_path_slot(abs, SB_PATH_SLOTS);
}

static int
sftpb_chmod(struct backend *b, const char *path, mode_t mode)
{
	struct sftp_attrs at = { .flags = SSH_FILEXFER_ATTR_PERMISSIONS,
		.perm = mode & 07777 };

	return setstat(b, path, &at, 0);
}

/* v3 times are 32-bit unsigned seconds. */
static bool
v3_time(const struct timespec *ts, uint32_t *out)
{
	if (ts->tv_sec < 0 || (uint64_t)ts->tv_sec > UINT32_MAX)
		return false;
	*out = (uint32_t)ts->tv_sec;
	return true;
}

static int
sftpb_set_times(struct backend *b, const char *path,
    const struct timespec *atime, const struct timespec *mtime)
{
	struct sftp_attrs at = { .flags = SSH_FILEXFER_ATTR_ACMODTIME };
	unsigned keep = 0;

	if (atime == NULL && mtime == NULL)
		return 0;
	if (atime == NULL)
		keep |= 1;
	else if (!v3_time(atime, &at.atime))
		return -EINVAL;
	if (mtime == NULL)
		keep |= 2;
	else if (!v3_time(mtime, &at.mtime))
		return -EINVAL;
	return setstat(b, path, &at, keep);
}

static int
sftpb_set_mtime(
    struct backend *b, const char *path, const struct timespec *mtime)
{
	return sftpb_set_times(b, path, NULL, mtime);
}

static int
sftpb_truncate(struct backend *b, const char *path, off_t size)
{
	struct sftp_attrs at = { .flags = SSH_FILEXFER_ATTR_SIZE,
		.size = (uint64_t)size };

	if (size < 0)
		return -EINVAL;
	return setstat(b, path, &at, 0);
}

/* W_OK: can the file be opened for writing?  (An exact answer.) */
static int
do_access(struct sftp_be *sb, struct sftp_conn *c, void *arg)
{
	struct path_arg *a = arg;
	struct sftp_reply r;
	struct sftp_handle h;
	uint32_t id = sftp_conn_id(c);
	int rc;

	rc = sftp_enc_open(sftp_conn_out(c), id, a->abs, SSH_FXF_WRITE, NULL);
	if (rc < 0) {
		sftp_conn_unqueue(c);
		return rc;
	}
	rc = sftp_conn_wait(c, id, &r, sb->tmo);
	if (rc < 0)
		return rc;
	if (r.type != SSH_FXP_HANDLE) {
		rc = sb_reply_errno(&r, "OPEN (access)", a->abs);
		/* a directory or the like: cannot be told this way */
		return rc == -EACCES || rc == -EPERM || rc == -EROFS ? rc : 0;
	}
	h = r.u.handle;
	id = sftp_conn_id(c);
	rc = sftp_enc_handle(sftp_conn_out(c), SSH_FXP_CLOSE, id, &h);
	if (rc < 0) {
		sftp_conn_unqueue(c);
		return 0;
	}
	rc = sftp_conn_forget(c, id, sb->tmo);
	return sb_conn_error(rc) ? rc : 0;
}

static int
sftpb_access(struct backend *b, const char *path, int mode)
{
	struct sftp_be *sb = b->priv;
	struct path_arg a = { .path = path };
	int rc;

	if (!(mode & W_OK))
		return 0;
	rc = sb_abs(sb, path, a.abs, sizeof(a.abs));
	return rc < 0 ? rc : with_conn(sb, do_access, &a, true);
}

static int
do_statfs(struct sftp_be *sb, struct sftp_conn *c, void *arg)
{
	struct path_arg *a = arg;
	struct sftp_reply r;
	unsigned gen = sb_svfs_gen(sb);
	int64_t t = net_now_ms();
	uint32_t id;
	int rc;

	rc = sb_svfs_ask(c, a->abs, &id);
	if (rc < 0)
		return rc;
	rc = sftp_conn_wait(c, id, &r, sb->tmo);
	if (rc < 0)
		return rc;
	rc = sb_svfs_parse(&r, a->abs, a->out);
	if (rc == 0)
		sb_svfs_put(sb, a->abs, a->out, gen, t);
	return rc;
}

static int
sftpb_statfs(struct backend *b, const char *path, struct statvfs *out)
{
	struct sftp_be *sb = b->priv;
	struct path_arg a = { .path = path, .out = out };
	int rc = sb_abs(sb, path, a.abs, sizeof(a.abs));

	if (rc < 0)
		return rc;
	if (sb_svfs_get(sb, a.abs, out))
		return 0; /* asked along with a listing a moment ago */
	return with_conn(sb, do_statfs, &a, true);
}

/* ---- life cycle ----------------------------------------------------- */

static void
config_free(struct sftp_config *cfg)
{
	unsigned i;

	free((char *)cfg->conn.host);
	free((char *)cfg->conn.user);
	free((char *)cfg->conn.known_hosts);
	free((char *)cfg->conn.host_key_alias);
	secret_free(cfg->conn.password);
	for (i = 0; i < cfg->conn.n_identity; i++)
		free((char *)cfg->conn.identity[i]);
	free((char *)cfg->root);
}

static int
config_copy(struct sftp_config *dst, const struct sftp_config *src)
{
	unsigned i;
	bool bad = false;

	*dst = *src;
#define DUP(f)                                                                 \
	do {                                                                   \
		if (src->f != NULL && (dst->f = strdup(src->f)) == NULL)       \
			bad = true;                                            \
	} while (0)
	DUP(conn.host);
	DUP(conn.user);
	DUP(conn.known_hosts);
	DUP(conn.host_key_alias);
	DUP(conn.password);
	DUP(root);
	for (i = 0; i < src->conn.n_identity; i++)
		DUP(conn.identity[i]);
#undef DUP
	if (bad) {
		config_free(dst);
		return -ENOMEM;
	}
	return 0;
}

static void
sftpb_destroy(struct backend *b)
{
	struct sftp_be *sb = b->priv;

	pool_destroy(sb->pool);
	pthread_mutex_destroy(&sb->wb_lock);
	pthread_cond_destroy(&sb->wb_cond);
	pthread_mutex_destroy(&sb->memo.lock);
	sb_svfs_fini(sb);
	config_free(&sb->cfg);
	free(sb->root);
	free(sb);
}

static const struct backend_ops sftp_ops = {
	.name = "sftp",
	.stat = sftpb_stat,
	.list = sftpb_list,
	.readlink = sftpb_readlink,
	.open = sb_open,
	.read = sb_read,
	.fetch_many = sb_fetch_many,
	.list_many = sb_list_many,
	.write = sb_write,
	.flush = sb_flush,
	.fsync = sb_fsync,
	.ftruncate = sb_ftruncate,
	.release = sb_release,
	.renamed = sb_renamed,
	.mkdir = sftpb_mkdir,
	.rmdir = sftpb_rmdir,
	.unlink = sftpb_unlink,
	.rename = sftpb_rename,
	.chmod = sftpb_chmod,
	.set_mtime = sftpb_set_mtime,
	.set_times = sftpb_set_times,
	.truncate = sftpb_truncate,
	.access = sftpb_access,
	.symlink = sftpb_symlink,
	.link = sftpb_link,
	.statfs = sftpb_statfs,
	.destroy = sftpb_destroy,
};

void
sftp_config_defaults(struct sftp_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->conn.port = 22;
	cfg->conn.hostkey_policy = HK_STRICT;
	cfg->conn.connect_timeout_ms = 15000;
	/* The channel window we grant: requests in flight x their size must
	   fit, as libssh2 only tops it up to this size */
	cfg->conn.window = 16 * 1024 * 1024;
	cfg->root = "~";
	cfg->connections = 4;
	cfg->cmd_timeout_ms = 30000;
	cfg->idle_timeout_ms = 300000;
}

int
sftp_backend_opt(
    struct sftp_config *cfg, const char *arg, char *msg, size_t msglen)
{
	static const char *const idf[] = { "identity_file=", "IdentityFile=" };
	static const char *const khf[] = { "known_hosts=",
		"UserKnownHostsFile=" };
	const char *v;
	char *end;
	long n;
	size_t i;

	for (i = 0; i < 2; i++) {
		if (strncmp(arg, idf[i], strlen(idf[i])) == 0) {
			v = arg + strlen(idf[i]);
			if (*v == '\0')
				goto empty;
			if (cfg == NULL)
				return 1;
			if (cfg->conn.n_identity == SFTP_CONN_MAX_IDENTITIES) {
				snprintf(msg, msglen,
				    "at most %d identity "
				    "files",
				    SFTP_CONN_MAX_IDENTITIES);
				return -1;
			}
			cfg->conn.identity[cfg->conn.n_identity++] = v;
			return 1;
		}
		if (strncmp(arg, khf[i], strlen(khf[i])) == 0) {
			v = arg + strlen(khf[i]);
			if (*v == '\0')
				goto empty;
			if (cfg != NULL)
				cfg->conn.known_hosts = v;
			return 1;
		}
	}
	if (strncmp(arg, "ssh_config=", 11) == 0) {
		/* read by sftp_backend_prepare, before the mount */
		if (arg[11] == '\0')
			goto empty;
		return 1;
	}
	if (strncasecmp(arg, "HostKeyAlias=", 13) == 0) {
		if (arg[13] == '\0')
			goto empty;
		if (cfg != NULL)
			cfg->conn.host_key_alias = arg + 13;
		return 1;
	}
	if (strncasecmp(arg, "StrictHostKeyChecking=", 22) == 0) {
		v = arg + 22;
		enum sftp_hostkey_policy p;

		if (strcasecmp(v, "yes") == 0)
			p = HK_STRICT;
		else if (strcasecmp(v, "accept-new") == 0)
			p = HK_ACCEPT_NEW;
		else if (strcasecmp(v, "no") == 0 || strcasecmp(v, "off") == 0)
			p = HK_NO;
		else {
			snprintf(msg, msglen,
			    "StrictHostKeyChecking: yes, "
			    "accept-new or no, not \"%s\"",
			    v);
			return -1;
		}
		if (cfg != NULL)
			cfg->conn.hostkey_policy = p;
		return 1;
	}
	/* keepalive= is the FTP backend's name for it (-o keepalive) */
	if (strncasecmp(arg, "ServerAliveInterval=", 20) == 0 ||
	    strncmp(arg, "keepalive=", 10) == 0) {
		v = strchr(arg, '=') + 1;
		errno = 0;
		n = strtol(v, &end, 10);
		if (errno != 0 || *v == '\0' || *end != '\0' || n < 0 ||
		    n > 86400) {
			snprintf(msg, msglen,
			    "ServerAliveInterval: seconds "
			    "(0-86400), not \"%s\"",
			    v);
			return -1;
		}
		if (cfg != NULL)
			cfg->conn.keepalive_s = (int)n;
		return 1;
	}
	return 0;
empty:
	snprintf(msg, msglen, "%s needs a value", arg);
	return -1;
}

void
sftp_backend_print_help(void)
{
	printf("SFTP options (sftp://[user@]host[:port]/path: the path is "
	       "absolute,\n/~/ starts at the login directory; "
	       "[user@]host:[path] as sshfs: relative to\nthe login "
	       "directory; connections, cache_timeout, connect_timeout and\n"
	       "password_stdin apply too):\n"
	       "    -o identity_file=PATH  a private key to offer after the "
	       "agent's\n"
	       "                           (also IdentityFile=; repeatable)\n"
	       "    -o known_hosts=PATH    host keys (also "
	       "UserKnownHostsFile=;\n"
	       "                           default ~/.ssh/known_hosts)\n"
	       "    -o StrictHostKeyChecking=yes|accept-new|no\n"
	       "                           unknown host keys: refuse "
	       "(default), add, or\n"
	       "                           accept with a warning\n"
	       "    -o ServerAliveInterval=N  keepalive every N seconds "
	       "(also keepalive=N):\n"
	       "                           during long waits and on the last "
	       "idle session,\n"
	       "                           which then stays open\n"
	       "    -o HostKeyAlias=NAME   look the host key up as NAME in "
	       "known_hosts\n"
	       "    -F FILE, -o ssh_config=FILE\n"
	       "                           ssh client configuration (default "
	       "~/.ssh/config;\n"
	       "                           none: no file): HostName, Port, "
	       "User,\n"
	       "                           IdentityFile, UserKnownHostsFile,\n"
	       "                           StrictHostKeyChecking, "
	       "HostKeyAlias,\n"
	       "                           ServerAliveInterval of the host's "
	       "Host blocks;\n"
	       "                           the URL and -o options win\n");
}

/* The remote root: "~" and "~/x" are relative to the login directory. */
static int
resolve_root(struct sftp_be *sb, struct sftp_conn *c, char *msg, size_t msglen)
{
	const char *root = sb->cfg.root;
	struct sftp_reply r;
	struct sftp_name_ent e;
	struct sftp_attrs at;
	size_t pos = 0;
	uint32_t id;
	int rc;

	if (root[0] == '~') {
		/* REALPATH "." is the login directory on every server. */
		id = sftp_conn_id(c);
		rc = sftp_enc_path(sftp_conn_out(c), SSH_FXP_REALPATH, id, ".");
		if (rc == 0)
			rc = sftp_conn_wait(c, id, &r, sb->tmo);
		if (rc < 0 || r.type != SSH_FXP_NAME ||
		    !sftp_name_next(&r, &pos, &e)) {
			snprintf(msg, msglen,
			    "cannot find the login "
			    "directory (REALPATH .)");
			return rc < 0 ? rc : -EPROTO;
		}
		root += root[1] == '/' ? 2 : 1;
		if (asprintf(&sb->root, "%.*s%s%s", (int)e.filename.len,
		        e.filename.p, *root && e.filename.len > 1 ? "/" : "",
		        root) < 0)
			return -ENOMEM;
	} else {
		sb->root = strdup(root);
		if (sb->root == NULL)
			return -ENOMEM;
	}
	/* no trailing slash, except for "/" */
	while (strlen(sb->root) > 1 && sb->root[strlen(sb->root) - 1] == '/')
		sb->root[strlen(sb->root) - 1] = '\0';
	rc = sb_lstat(sb, c, sb->root, &at);
	if (rc == 0 && (at.flags & SSH_FILEXFER_ATTR_PERMISSIONS) &&
	    S_ISLNK(at.perm)) {
		/* A link as the mount root: follow it once. */
		id = sftp_conn_id(c);
		rc =
		    sftp_enc_path(sftp_conn_out(c), SSH_FXP_STAT, id, sb->root);
		if (rc == 0)
			rc = sftp_conn_wait(c, id, &r, sb->tmo);
		if (rc == 0)
			rc = r.type == SSH_FXP_ATTRS
			    ? 0
			    : sb_reply_errno(&r, "STAT", sb->root);
		if (rc == 0)
			at = r.u.attrs;
	}
	if (rc == 0 && (at.flags & SSH_FILEXFER_ATTR_PERMISSIONS) &&
	    !S_ISDIR(at.perm))
		rc = -ENOTDIR;
	if (rc == -ENOTDIR)
		snprintf(msg, msglen,
		    "remote path %s is a file, not a directory: mount the "
		    "directory it is in",
		    sb->root);
	else if (rc < 0)
		snprintf(msg, msglen, "remote directory %s: %s", sb->root,
		    strerror(-rc));
	return rc;
}

int
sftp_backend_new(const struct sftp_config *cfg, struct backend **out, char *msg,
    size_t msglen)
{
	struct pool_config pc;
	struct sftp_be *sb;
	struct sb_conn *sc = NULL;
	int rc;

	sb = calloc(1, sizeof(*sb));
	if (sb == NULL)
		return -ENOMEM;
	rc = config_copy(&sb->cfg, cfg);
	if (rc < 0) {
		free(sb);
		return rc;
	}
	pthread_mutex_init(&sb->wb_lock, NULL);
	pthread_cond_init(&sb->wb_cond, NULL);
	pthread_mutex_init(&sb->memo.lock, NULL);
	sb->cfg.conn.memo = &sb->memo;
	sb_svfs_init(sb);
	sb->tmo = cfg->cmd_timeout_ms;
	sc = calloc(1, sizeof(*sc));
	if (sc == NULL) {
		rc = -ENOMEM;
		goto fail;
	}
	/* The first session is opened here so its errors reach the user. */
	rc = sftp_conn_open(&sb->cfg.conn, &sc->c, msg, msglen);
	if (rc < 0)
		goto fail;
	rc = resolve_root(sb, sc->c, msg, msglen);
	if (rc < 0)
		goto fail;
	pc = (struct pool_config){
		.max = cfg->connections ? cfg->connections : 1,
		.idle_timeout_ms = cfg->idle_timeout_ms,
		.park_timeout_ms = 20000,
		.wait_timeout_ms = cfg->cmd_timeout_ms * 2,
		.keepalive_ms = cfg->conn.keepalive_s * 1000,
		/* SSH logins: 0.2-0.4 s of key exchange and start-up each,
		   at both ends; two at a time left the sessions at work
		   quicker (many readers of small files at 20 ms: 0.61 s with
		   two, 0.74 with eight, fahead.c's pump on one session) */
		.grow_at_once = 2,
	};
	rc = pool_new(&pc, &sftp_pool_ops, sb, &sb->pool);
	if (rc < 0) {
		snprintf(msg, msglen, "cannot create the session pool");
		goto fail;
	}
	log_info("mounted sftp %s@%s port %u, remote directory %s%s%s%s%s",
	    cfg->conn.user, cfg->conn.host, cfg->conn.port, sb->root,
	    sftp_conn_has_ext(sc->c, SFTP_EXT_POSIX_RENAME) ? ", posix-rename"
	                                                    : "",
	    sftp_conn_has_ext(sc->c, SFTP_EXT_HARDLINK) ? ", hardlink" : "",
	    sftp_conn_has_ext(sc->c, SFTP_EXT_STATVFS) ? ", statvfs" : "",
	    sftp_conn_has_ext(sc->c, SFTP_EXT_FSYNC) ? ", fsync" : "");
	pool_adopt(sb->pool, sc);
	sc = NULL;
	sb->be.ops = &sftp_ops;
	sb->be.priv = sb;
	sb->be.caps = BCAP_PWRITE | BCAP_CHEAP_STAT | BCAP_SYMLINK |
	    BCAP_CREATE_MODE | BCAP_HANDLES;
	*out = &sb->be;
	return 0;
fail:
	if (sc != NULL) {
		sftp_conn_close(sc->c);
		free(sc);
	}
	pthread_mutex_destroy(&sb->wb_lock);
	pthread_cond_destroy(&sb->wb_cond);
	pthread_mutex_destroy(&sb->memo.lock);
	sb_svfs_fini(sb);
	config_free(&sb->cfg);
	free(sb->root);
	free(sb);
	return rc;
}

int
sftp_backend_open(const struct url *u, const struct backend_opts *opts,
    struct backend **out, char *msg, size_t msglen)
{
	struct sftp_config cfg;
	size_t i;

	if (opts->user == NULL) {
		snprintf(msg, msglen, "sftp: no user name to log in with");
		return -EINVAL;
	}
	sftp_config_defaults(&cfg);
	cfg.conn.host = u->host;
	cfg.conn.port = u->port;
	cfg.conn.user = opts->user;
	cfg.conn.password = opts->password != NULL && opts->password[0] != '\0'
	    ? opts->password
	    : NULL;
	if (opts->connect_timeout_ms > 0)
		cfg.conn.connect_timeout_ms = opts->connect_timeout_ms;
	if (opts->connections > 0)
		cfg.connections = opts->connections;
	for (i = 0; i < opts->nextra; i++)
		if (sftp_backend_opt(&cfg, opts->extra[i], msg, msglen) < 0)
			return -EINVAL;
	if (strcmp(u->path, "/~") == 0 || strncmp(u->path, "/~/", 3) == 0)
		cfg.root = u->path + 1;
	else
		cfg.root = u->path;
	return sftp_backend_new(&cfg, out, msg, msglen);
}
