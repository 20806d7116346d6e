/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ftp_modify: namespace and attribute changes for the FTP backend: mkdir,
 * rmdir, unlink, rename, chmod, set_mtime, truncate-to-zero, symlink.
 *
 * Servers answer most failures with a bare "550 ... failed." (vsftpd), so
 * when the reply does not say why, ftp_clarify() asks the server what is
 * actually true (does the path exist, is it a directory, is it empty) and
 * picks the errno from that.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ftp_be.h"
#include "ftp_data.h"
#include "ftp_parse.h"
#include "log.h"

enum kind {
	KIND_MISSING,
	KIND_FILE,
	KIND_DIR,
	KIND_UNKNOWN,
};

static enum kind
probe_kind(struct ftp_be *fb, struct ftp_conn *c, const char *abs)
{
	struct backend_attr a;
	int rc = ftp_stat_abs(fb, c, abs, &a);

	if (rc == -ENOENT || rc == -ENOTDIR)
		return KIND_MISSING;
	if (rc < 0)
		return KIND_UNKNOWN;
	return S_ISDIR(a.mode) ? KIND_DIR : KIND_FILE;
}

/* Parent directory of an absolute server path, into out. */
static void
parent_of(const char *abs, char *out, size_t size)
{
	const char *slash = strrchr(abs, '/');
	size_t n = slash ? (size_t)(slash - abs) : 0;

	if (n == 0)
		n = 1;
	snprintf(out, size, "%.*s", (int)n, slash ? abs : "/");
}

/*
 * Turn a refusal into the errno that describes the server's real state.
 * Only consulted when the reply text itself was vague (ftp_errno gave
 * ENOENT or EIO for a 550/450/451/553).
 */
int
ftp_clarify(struct ftp_be *fb, struct ftp_conn *c, const struct ftp_reply *rep,
    const char *verb, const char *abs)
{
	char parent[FTP_PATH_MAX];
	struct backend_dirlist l = { 0 };
	int rc = ftp_errno(rep, OP_WRITE);
	enum kind k;

	ftp_log_refusal(verb, abs, rep, rc);
	if (rc != -ENOENT && rc != -EIO && rc != -EACCES)
		return rc;
	if (c->broken)
		return rc;
	k = probe_kind(fb, c, abs);
	if (strcmp(verb, "MKD") == 0) {
		if (k == KIND_FILE || k == KIND_DIR)
			return -EEXIST;
		parent_of(abs, parent, sizeof(parent));
		k = probe_kind(fb, c, parent);
		if (k == KIND_MISSING)
			return -ENOENT;
		if (k == KIND_FILE)
			return -ENOTDIR;
		return rc == -ENOENT ? -EACCES : rc;
	}
	if (k == KIND_MISSING) {
		enum kind pk;

		parent_of(abs, parent, sizeof(parent));
		pk = probe_kind(fb, c, parent);
		if (pk == KIND_FILE)
			return -ENOTDIR;
		/* Creating in a directory that exists: the server said no. */
		if (pk == KIND_DIR && rc == -EACCES &&
		    (strcmp(verb, "STOR") == 0 || strcmp(verb, "APPE") == 0))
			return -EACCES;
		return -ENOENT;
	}
	if (strcmp(verb, "DELE") == 0 && k == KIND_DIR)
		return -EISDIR;
	if (strcmp(verb, "RMD") == 0) {
		if (k == KIND_FILE)
			return -ENOTDIR;
		if (k == KIND_DIR && ftp_list_abs(fb, c, abs, false, &l) == 0) {
			bool empty = l.count == 0;

			backend_dirlist_free(&l);
			if (!empty)
				return -ENOTEMPTY;
		}
	}
	/* It exists and the server still said no: a permission problem. */
	return rc == -ENOENT ? -EACCES : rc;
}

/* One command on one path, success on any 2xx. */
struct simple_arg {
	const char *verb;
	const char *path; /* mount path */
};

static int
do_simple(struct ftp_be *fb, struct ftp_conn *c, void *arg)
{
	struct simple_arg *a = arg;
	struct ftp_reply rep;
	char abs[FTP_PATH_MAX];
	int rc;

	rc = ftp_server_path(&fb->srv, a->path, abs, sizeof(abs));
	if (rc < 0)
		return rc;
	rc = ftp_cmd(c, &rep, a->verb, abs);
	if (rc < 0)
		return rc;
	if (ftp_reply_is_ok(rep.code))
		rc = 0;
	else
		rc = ftp_clarify(fb, c, &rep, a->verb, abs);
	ftp_reply_free(&rep);
	return rc;
}

static int
simple(struct backend *b, const char *verb, const char *path)
{
	struct simple_arg a = { .verb = verb, .path = path };

	if (strcmp(path, "/") == 0)
		return strcmp(verb, "MKD") == 0 ? -EEXIST : -EBUSY;
	/* Not idempotent: a lost reply may hide a success. */
	return ftp_with_conn(b->priv, do_simple, &a, false);
}

int
ftp_be_mkdir(struct backend *b, const char *path, mode_t mode)
{
	int rc = simple(b, "MKD", path);

	if (rc == 0 && (mode & 07777) != 0755)
		ftp_be_chmod(b, path, mode); /* best effort, like sshfs */
	return rc;
}

int
ftp_be_rmdir(struct backend *b, const char *path)
{
	return simple(b, "RMD", path);
}

int
ftp_be_unlink(struct backend *b, const char *path)
{
	return simple(b, "DELE", path);
}

void
ftp_be_unlink_later(struct backend *b, const char *path, uint64_t max_size)
{
	struct ftp_be *fb = b->priv;
	char abs[FTP_PATH_MAX];

	if (ftp_server_path(&fb->srv, path, abs, sizeof(abs)) < 0) {
		log_err(
		    "%s: left on the server (name too long to remove)", path);
		return;
	}
	ftp_orphan_add(fb, abs, max_size);
}

/* ---- rename -------------------------------------------------------- */

struct rename_arg {
	const char *from, *to; /* mount paths */
	unsigned flags;
};

static int
rnfr_rnto(struct ftp_conn *c, const char *from, const char *to,
    struct ftp_reply *rep, const char **failed)
{
	int rc;

	*failed = "RNFR";
	rc = ftp_cmd(c, rep, "RNFR", from);
	if (rc < 0)
		return rc;
	if (rep->code != 350)
		return -EREMOTEIO;
	ftp_reply_free(rep);
	*failed = "RNTO";
	rc = ftp_cmd(c, rep, "RNTO", to);
	if (rc < 0)
		return rc;
	return ftp_reply_is_ok(rep->code) ? 0 : -EREMOTEIO;
}

static int
do_rename(struct ftp_be *fb, struct ftp_conn *c, void *arg)
{
	struct rename_arg *a = arg;
	struct ftp_reply rep = { 0 };
	char from[FTP_PATH_MAX], to[FTP_PATH_MAX];
	const char *failed;
	enum kind ks, kt;
	int rc;

	rc = ftp_server_path(&fb->srv, a->from, from, sizeof(from));
	if (rc == 0)
		rc = ftp_server_path(&fb->srv, a->to, to, sizeof(to));
	if (rc < 0)
		return rc;
	if (a->flags & RENAME_NOREPLACE) {
		kt = probe_kind(fb, c, to);
		if (kt != KIND_MISSING)
			return kt == KIND_UNKNOWN ? -EIO : -EEXIST;
	}
	rc = rnfr_rnto(c, from, to, &rep, &failed);
	if (rc != -EREMOTEIO)
		goto out;
	if (strcmp(failed, "RNFR") == 0) {
		rc = ftp_clarify(fb, c, &rep, "RNFR", from);
		goto out;
	}
	/* RNTO refused: find out why, and replace a file target (IIS). */
	ftp_log_refusal("RNTO", to, &rep, ftp_errno(&rep, OP_WRITE));
	ks = probe_kind(fb, c, from);
	kt = probe_kind(fb, c, to);
	if (ks == KIND_MISSING) {
		rc = -ENOENT;
	} else if (kt == KIND_DIR && ks == KIND_FILE) {
		rc = -EISDIR;
	} else if (kt == KIND_FILE && ks == KIND_DIR) {
		rc = -ENOTDIR;
	} else if (kt == KIND_DIR) {
		rc = -ENOTEMPTY; /* POSIX allows replacing only empty dirs */
	} else if (kt == KIND_FILE && !(a->flags & RENAME_NOREPLACE)) {
		/*
		 * Windows servers refuse to rename onto an existing file.
		 * Delete the target and retry: not atomic (a crash between
		 * the two leaves no file at the target), see README.
		 */
		int code;

		ftp_reply_free(&rep);
		log_info("server will not replace %s on rename; deleting it "
		         "first",
		    to);
		rc = ftp_cmd_code(c, &code, "DELE", to);
		if (rc < 0)
			goto out;
		if (!ftp_reply_is_ok(code)) {
			rc = -EACCES;
			goto out;
		}
		rc = rnfr_rnto(c, from, to, &rep, &failed);
		if (rc == -EREMOTEIO)
			rc = ftp_errno(&rep, OP_WRITE) == -ENOENT
			    ? -EACCES
			    : ftp_errno(&rep, OP_WRITE);
	} else {
		rc = ftp_errno(&rep, OP_WRITE);
		if (rc == -ENOENT) /* the source exists: it is the target */
			rc = kt == KIND_MISSING ? -EACCES : -EEXIST;
	}
out:
	ftp_reply_free(&rep);
	return rc;
}

int
ftp_be_rename(
    struct backend *b, const char *from, const char *to, unsigned flags)
{
	struct rename_arg a = { .from = from, .to = to, .flags = flags };

	if (flags & ~RENAME_NOREPLACE)
		return -EINVAL;
	if (strcmp(from, to) == 0)
		return 0;
	return ftp_with_conn(b->priv, do_rename, &a, false);
}

/* ---- chmod --------------------------------------------------------- */

struct chmod_arg {
	const char *path;
	mode_t mode;
};

/*
 * SITE CHMOD on connection c.  0; -ENOTSUP when the server has no SITE
 * CHMOD (remembered for the mount); -EREMOTEIO with the reply in
 * *refusal (caller frees) when it refused; -errno on I/O.
 */
static int
ftp_chmod_abs(struct ftp_be *fb, struct ftp_conn *c, const char *abs,
    mode_t mode, struct ftp_reply *refusal)
{
	struct ftp_reply rep;
	char cmd[FTP_PATH_MAX + 32];
	bool off;
	int rc;

	memset(refusal, 0, sizeof(*refusal));
	pthread_mutex_lock(&fb->srv.lock);
	off = fb->srv.chmod_off;
	pthread_mutex_unlock(&fb->srv.lock);
	if (off)
		return -ENOTSUP;
	/* three digits at least ("000", "644", "4755"): pyftpdlib refuses
	   "SITE CHMOD 0" as an invalid format */
	snprintf(
	    cmd, sizeof(cmd), "CHMOD %03o %s", (unsigned)(mode & 07777), abs);
	rc = ftp_cmd(c, &rep, "SITE", cmd);
	if (rc < 0)
		return rc;
	if (ftp_reply_is_ok(rep.code)) {
		rc = 0;
	} else if (rep.code == 500 || rep.code == 502 || rep.code == 504) {
		pthread_mutex_lock(&fb->srv.lock);
		fb->srv.chmod_off = true;
		pthread_mutex_unlock(&fb->srv.lock);
		log_info("server has no SITE CHMOD (%d): chmod unsupported",
		    rep.code);
		rc = -ENOTSUP;
	} else {
		*refusal = rep;
		return -EREMOTEIO;
	}
	ftp_reply_free(&rep);
	return rc;
}

static int
do_chmod(struct ftp_be *fb, struct ftp_conn *c, void *arg)
{
	struct chmod_arg *a = arg;
	struct ftp_reply ref;
	char abs[FTP_PATH_MAX];
	int rc;

	rc = ftp_server_path(&fb->srv, a->path, abs, sizeof(abs));
	if (rc < 0)
		return rc;
	rc = ftp_chmod_abs(fb, c, abs, a->mode, &ref);
	if (rc == -EREMOTEIO) {
		rc = ftp_clarify(fb, c, &ref, "SITE CHMOD", abs);
		ftp_reply_free(&ref);
	}
	return rc;
}

int
ftp_be_chmod(struct backend *b, const char *path, mode_t mode)
{
	struct ftp_be *fb = b->priv;
	struct chmod_arg a = { .path = path, .mode = mode };

	return ftp_with_conn(fb, do_chmod, &a, true);
}

/* ---- modification times -------------------------------------------- */

struct mtime_arg {
	const char *path;
	time_t t;
};

/* Try one way of setting the time: 0, -ENOSYS (not this way), -errno. */
/*
 * MFMT and MFF take UTC (RFC 3659 facts); SITE UTIME and vsftpd's
 * two-argument MDTM the server's own time, as its listings show it
 * (-o time_offset).
 */
static int
try_utime(
    struct ftp_be *fb, struct ftp_conn *c, int how, const char *abs, time_t t)
{
	struct ftp_reply rep;
	char arg[FTP_PATH_MAX + 64], stamp[32];
	const char *verb;
	struct tm tm;
	int rc;

	if (how != FTP_UTIME_MFMT && how != FTP_UTIME_MFF)
		t += atomic_load(&fb->srv.time_offset);
	if (gmtime_r(&t, &tm) == NULL)
		return -EINVAL;
	strftime(stamp, sizeof(stamp), "%Y%m%d%H%M%S", &tm);

	switch (how) {
	case FTP_UTIME_MFMT:
		verb = "MFMT";
		snprintf(arg, sizeof(arg), "%s %s", stamp, abs);
		break;
	case FTP_UTIME_MFF:
		verb = "MFF";
		snprintf(arg, sizeof(arg), "modify=%s; %s", stamp, abs);
		break;
	case FTP_UTIME_SITE:
		verb = "SITE";
		snprintf(arg, sizeof(arg), "UTIME %s %s", stamp, abs);
		break;
	default:
		verb = "MDTM";
		snprintf(arg, sizeof(arg), "%s %s", stamp, abs);
		break;
	}
	rc = ftp_cmd(c, &rep, verb, arg);
	if (rc < 0)
		return rc;
	if (ftp_reply_is_ok(rep.code)) {
		/*
		 * A server that reads "MDTM <stamp> <path>" as a query for a
		 * file of that name would answer 550, not 2xx; but a 213 with
		 * a bare time would mean it queried: treat as not supported.
		 */
		rc = 0;
		if (how == FTP_UTIME_MDTM) {
			struct timespec ts;

			if (ftp_parse_mdtm(rep.text, rep.text_len, &ts) == 0)
				rc = -ENOSYS;
		}
	} else if (rep.code == 500 || rep.code == 502 || rep.code == 504 ||
	    (rep.code == 501 && how != FTP_UTIME_MFMT) ||
	    (how == FTP_UTIME_MDTM && rep.code == 550)) {
		rc = -ENOSYS;
	} else {
		rc = ftp_clarify(fb, c, &rep, verb, abs);
		/* Servers that set file times only (pyftpdlib's MFMT). */
		if (rc == -EACCES || rc == -EISDIR) {
			struct backend_attr st;

			if (!c->broken && ftp_stat_abs(fb, c, abs, &st) == 0 &&
			    S_ISDIR(st.mode))
				rc = -EPERM;
		}
	}
	ftp_reply_free(&rep);
	return rc;
}

static int
do_set_mtime(struct ftp_be *fb, struct ftp_conn *c, void *arg)
{
	struct mtime_arg *a = arg;
	char abs[FTP_PATH_MAX];
	int how, rc;

	rc = ftp_server_path(&fb->srv, a->path, abs, sizeof(abs));
	if (rc < 0)
		return rc;
	pthread_mutex_lock(&fb->srv.lock);
	how = fb->srv.utime_cmd;
	pthread_mutex_unlock(&fb->srv.lock);
	if (how == FTP_UTIME_NONE)
		return -ENOTSUP;
	if (how != FTP_UTIME_UNKNOWN) {
		rc = try_utime(fb, c, how, abs, a->t);
		return rc == -ENOSYS ? -ENOTSUP : rc;
	}
	/* Learn which command works: MFMT, MFF, SITE UTIME, MDTM. */
	for (how = FTP_UTIME_MFMT; how <= FTP_UTIME_MDTM; how++) {
		rc = try_utime(fb, c, how, abs, a->t);
		if (rc != -ENOSYS)
			break;
	}
	if (rc == -ENOSYS) {
		struct backend_attr st;

		/*
		 * Only a regular file proves the server cannot: directories
		 * (vsftpd's MDTM) and odd files may fail where files work.
		 */
		rc = -ENOTSUP;
		if (ftp_stat_abs(fb, c, abs, &st) == 0 && S_ISREG(st.mode)) {
			how = FTP_UTIME_NONE;
			log_info("server cannot set modification times");
		} else {
			how = FTP_UTIME_UNKNOWN;
		}
	}
	if (rc == 0 || how == FTP_UTIME_NONE) {
		pthread_mutex_lock(&fb->srv.lock);
		fb->srv.utime_cmd = how;
		pthread_mutex_unlock(&fb->srv.lock);
	}
	return rc;
}

int
ftp_be_set_mtime(
    struct backend *b, const char *path, const struct timespec *mtime)
{
	struct mtime_arg a = { .path = path, .t = mtime->tv_sec };

	return ftp_with_conn(b->priv, do_set_mtime, &a, true);
}

/* ---- truncate, symlink --------------------------------------------- */

/*
 * verb (STOR, APPE) on abs with no data: 0 on a 2xx; -EREMOTEIO with the
 * refusal in *ref (caller frees); -errno on I/O.
 */
static int
upload_nothing(struct ftp_conn *c, const char *verb, const char *abs,
    struct ftp_reply *ref)
{
	int rc = ftp_xfer_open(c, verb, abs, -1, true, ref);

	return rc == 0 ? ftp_xfer_finish(c, ref) : rc;
}

static int
do_truncate0(struct ftp_be *fb, struct ftp_conn *c, void *arg)
{
	const char *path = arg;
	struct ftp_reply ref;
	char abs[FTP_PATH_MAX];
	int rc;

	rc = ftp_server_path(&fb->srv, path, abs, sizeof(abs));
	if (rc < 0)
		return rc;
	rc = upload_nothing(c, "STOR", abs, &ref);
	if (rc == -EREMOTEIO) {
		rc = ftp_clarify(fb, c, &ref, "STOR", abs);
		ftp_reply_free(&ref);
	}
	return rc;
}

int
ftp_be_truncate(struct backend *b, const char *path, off_t size)
{
	/* Only emptying is a single FTP operation; fs.c spools the rest. */
	if (size != 0)
		return -ENOTSUP;
	return ftp_with_conn(b->priv, do_truncate0, (void *)path, false);
}

struct symlink_arg {
	const char *target; /* as given: stored verbatim */
	const char *path;
};

static int
do_symlink(struct ftp_be *fb, struct ftp_conn *c, void *arg)
{
	struct symlink_arg *a = arg;
	struct ftp_reply rep;
	char abs[FTP_PATH_MAX], cmd[2 * FTP_PATH_MAX + 16];
	int rc;

	rc = ftp_server_path(&fb->srv, a->path, abs, sizeof(abs));
	if (rc < 0)
		return rc;
	if (strchr(a->target, ' ') != NULL)
		return -EINVAL; /* SITE SYMLINK splits at spaces */
	if ((size_t)snprintf(cmd, sizeof(cmd), "SYMLINK %s %s", a->target,
	        abs) >= sizeof(cmd))
		return -ENAMETOOLONG;
	rc = ftp_cmd(c, &rep, "SITE", cmd);
	if (rc < 0)
		return rc;
	if (ftp_reply_is_ok(rep.code))
		rc = 0;
	else if (rep.code >= 500 && rep.code <= 504)
		rc = -ENOTSUP;
	else
		rc = ftp_clarify(fb, c, &rep, "MKD", abs); /* EEXIST/ENOENT */
	ftp_reply_free(&rep);
	return rc;
}

int
ftp_be_symlink(struct backend *b, const char *target, const char *linkpath)
{
	struct ftp_be *fb = b->priv;
	struct symlink_arg a = { .target = target, .path = linkpath };

	if (!(fb->srv.feat & FTP_FEAT_SITE_SYMLINK))
		return -ENOTSUP;
	return ftp_with_conn(fb, do_symlink, &a, false);
}

/* ---- access -------------------------------------------------------- */

/*
 * May we write abs?  An APPE that sends nothing asks the server itself:
 * it opens the file for appending, with the user's rights, and changes
 * nothing.  A server that refuses APPE by configuration (ProFTPD: "451
 * Append/Restart not permitted") cannot answer that way; then the MLST
 * "perm" fact decides where there is one ("w": STOR allowed).  The fact
 * alone is not enough: pyftpdlib derives it from its own user table and
 * sends "w" for files the operating system will not let it write.
 */
static int
do_may_write(struct ftp_be *fb, struct ftp_conn *c, void *arg)
{
	const char *path = arg;
	struct ftp_reply ref;
	char abs[FTP_PATH_MAX], perm[64];
	int rc, err;

	rc = ftp_server_path(&fb->srv, path, abs, sizeof(abs));
	if (rc < 0)
		return rc;
	rc = upload_nothing(c, "APPE", abs, &ref);
	if (rc != -EREMOTEIO)
		return rc;
	err = ftp_errno(&ref, OP_WRITE);
	if (ref.code == 421) {
		ftp_reply_free(&ref);
		return err;
	}
	if (ref.code == 550 || ref.code == 553 || err == -EACCES ||
	    err == -EPERM) {
		rc = ftp_clarify(fb, c, &ref, "APPE", abs);
		ftp_reply_free(&ref);
		return rc;
	}
	log_debug("APPE %s: %d %s; asking MLST instead", abs, ref.code,
	    ftp_reply_last_line(&ref));
	ftp_reply_free(&ref);
	rc = ftp_mlst_perm(fb, c, abs, perm, sizeof(perm));
	if (rc == -ENOSYS || rc == -ENODATA)
		return 0; /* nothing more to ask: the upload will tell */
	if (rc < 0)
		return rc;
	if (strchr(perm, 'w') == NULL && strchr(perm, 'W') == NULL) {
		log_debug("MLST %s: perm=%s, no \"w\"", abs, perm);
		return -EACCES;
	}
	return 0;
}

int
ftp_be_access(struct backend *b, const char *path, int mode)
{
	if (!(mode & W_OK))
		return 0;
	/* The probe changes nothing: asking again is safe. */
	return ftp_with_conn(b->priv, do_may_write, (void *)path, true);
}
