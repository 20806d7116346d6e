/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ftp_meta: stat, listings (MLSD, else CWD + LIST with format detection)
 * and readlink for the FTP backend.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "ftp_be.h"
#include "ftp_data.h"
#include "ftp_list.h"
#include "ftp_parse.h"
#include "log.h"

/* ---- stat ----------------------------------------------------------- */

struct stat_arg {
	const char *path; /* mount path */
	struct backend_attr *out;
};

/*
 * MLST of abs into *out; perm (when not NULL) receives the "perm" fact,
 * "" when the server sent none, "?" when there was none to be had.
 */
static int
stat_mlst(struct ftp_be *fb, struct ftp_conn *c, const char *abs,
    struct backend_attr *out, char *perm, size_t perm_size)
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
		ftp_log_refusal("MLST", abs, &rep, rc);
		ftp_reply_free(&rep);
		return rc;
	}
	/* The facts are on the (first) line that starts with a space. */
	if (perm != NULL && perm_size > 0)
		snprintf(perm, perm_size, "?");
	rc = -EPROTO;
	for (line = rep.text; line != NULL && *line;
	     line = end ? end + 1 : NULL) {
		end = strchr(line, '\n');
		if (*line != ' ')
			continue;
		line++;
		rc = ftp_list_parse_mlsd(
		    line, end ? (size_t)(end - line) : strlen(line), &e);
		if (rc == 1) {
			*out = e.attr;
			if (perm != NULL && e.perm != NULL)
				snprintf(perm, perm_size, "%.*s",
				    (int)e.perm_len, e.perm);
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

int
ftp_size_abs(struct ftp_conn *c, const char *abs, uint64_t *size)
{
	struct ftp_reply rep;
	int rc;

	rc = ftp_cmd(c, &rep, "SIZE", abs);
	if (rc < 0)
		return rc;
	if (rep.code != 213)
		rc = -EREMOTEIO;
	else if (ftp_parse_size(rep.text, rep.text_len, size) < 0)
		rc = -EBADMSG;
	if (rc == -EBADMSG)
		log_warn("SIZE %s: \"%s\" is not a size", abs,
		    ftp_reply_last_line(&rep));
	ftp_reply_free(&rep);
	return rc;
}

int
ftp_mdtm_abs(struct ftp_conn *c, const char *abs, struct timespec *mtime)
{
	struct ftp_reply rep;
	int rc;

	rc = ftp_cmd(c, &rep, "MDTM", abs);
	if (rc < 0)
		return rc;
	if (rep.code != 213)
		rc = -EREMOTEIO;
	else if (ftp_parse_mdtm(rep.text, rep.text_len, mtime) < 0)
		rc = -EBADMSG;
	ftp_reply_free(&rep);
	if (rc == 0) /* the server's local time, when it says so */
		mtime->tv_sec -= atomic_load(&c->srv->time_offset);
	return rc;
}

/*
 * The entry of abs in its parent's listing: 0 and *out, -ENOENT when it
 * is not listed, -errno when the listing cannot be had.
 */
static int
stat_listed(struct ftp_be *fb, struct ftp_conn *c, const char *abs,
    struct backend_attr *out)
{
	struct backend_dirlist l = { 0 };
	const struct backend_dirent *e;
	char parent[FTP_PATH_MAX];
	const char *name;
	int rc;

	if (backend_path_split(abs, parent, sizeof(parent), &name) < 0)
		return -ENAMETOOLONG;
	rc = ftp_list_abs(fb, c, parent, false, &l);
	if (rc == 0) {
		e = backend_dirlist_find(&l, name);
		if (e != NULL)
			*out = e->attr;
		else
			rc = -ENOENT;
	}
	backend_dirlist_free(&l);
	return rc;
}

/* Without MLST: SIZE (file) + MDTM, else CWD (directory). */
static int
stat_probe(struct ftp_be *fb, struct ftp_conn *c, const char *abs,
    struct backend_attr *out)
{
	struct ftp_reply rep;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = ftp_size_abs(c, abs, &out->size);
	if (rc == -EBADMSG) {
		/* A file, of a size the reply does not say: as listed. */
		rc = stat_listed(fb, c, abs, out);
		if (rc < 0 && rc != -ENOENT && !ftp_is_conn_error(rc))
			rc = -EIO;
		return rc;
	}
	if (rc == 0) {
		out->valid = BA_MODE_TYPE | BA_SIZE;
		out->mode = S_IFREG | 0644;
		rc = ftp_mdtm_abs(c, abs, &out->mtime);
		if (rc == 0) {
			out->valid |= BA_MTIME;
			out->mtime_prec = BA_PREC_SECOND;
		}
		return rc == -EREMOTEIO || rc == -EBADMSG ? 0 : rc;
	}
	if (rc != -EREMOTEIO)
		return rc;
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

/*
 * A stat must agree with the listing of the folder (issue 8).  ProFTPD's
 * MLST types a symlink by its target ("type=file", the link's size and
 * UNIX.mode=0777) where its MLSD says "type=OS.unix=symlink": when *out
 * may be such an answer (ftp_mlst_may_hide_link), the listing of the
 * parent decides, and *out becomes that entry (-ENOENT when it is not
 * listed).  A server whose MLST typed a link once is trusted from then on.
 * When the listing cannot be had, the MLST facts stand.
 */
static int
stat_check_link(struct ftp_be *fb, struct ftp_conn *c, const char *abs,
    struct backend_attr *out)
{
	struct backend_attr listed;
	bool trust, first = false;
	int rc;

	pthread_mutex_lock(&fb->srv.lock);
	if ((out->valid & BA_MODE_TYPE) && S_ISLNK(out->mode))
		fb->srv.mlst_marks_links = true;
	trust = fb->srv.mlst_marks_links;
	pthread_mutex_unlock(&fb->srv.lock);
	if (trust || !ftp_mlst_may_hide_link(out))
		return 0;
	rc = stat_listed(fb, c, abs, &listed);
	if (rc == -ENOENT) {
		log_debug(
		    "MLST %s: found, but not in its folder's listing", abs);
		return rc;
	}
	if (rc < 0) {
		log_debug("MLST %s: mode 0777, maybe a symlink, but its folder "
		          "is not listable (%s): MLST facts kept",
		    abs, strerror(-rc));
		return ftp_is_conn_error(rc) ? rc : 0;
	}
	if ((listed.valid & BA_MODE_TYPE) && S_ISLNK(listed.mode)) {
		pthread_mutex_lock(&fb->srv.lock);
		first = !fb->srv.mlst_hides_links;
		fb->srv.mlst_hides_links = true;
		pthread_mutex_unlock(&fb->srv.lock);
	}
	if (first)
		log_info("server's MLST types symlinks by their target (%s); "
		         "their attributes come from listings",
		    abs);
	*out = listed;
	return 0;
}

int
ftp_stat_abs(struct ftp_be *fb, struct ftp_conn *c, const char *abs,
    struct backend_attr *out)
{
	bool mlst;
	int rc;

	pthread_mutex_lock(&fb->srv.lock);
	mlst = (fb->srv.feat & FTP_FEAT_MLST) && !fb->srv.mlst_off;
	pthread_mutex_unlock(&fb->srv.lock);
	if (mlst) {
		rc = stat_mlst(fb, c, abs, out, NULL, 0);
		if (rc == 0)
			rc = stat_check_link(fb, c, abs, out);
		if (rc != -ENOSYS)
			return rc;
	}
	return stat_probe(fb, c, abs, out);
}

int
ftp_mlst_perm(struct ftp_be *fb, struct ftp_conn *c, const char *abs,
    char *perm, size_t size)
{
	struct backend_attr a;
	bool mlst;
	int rc;

	pthread_mutex_lock(&fb->srv.lock);
	mlst = (fb->srv.feat & FTP_FEAT_MLST) && !fb->srv.mlst_off;
	pthread_mutex_unlock(&fb->srv.lock);
	if (!mlst)
		return -ENOSYS;
	rc = stat_mlst(fb, c, abs, &a, perm, size);
	if (rc == 0 && strcmp(perm, "?") == 0)
		rc = -ENODATA;
	return rc;
}

static int
do_stat(struct ftp_be *fb, struct ftp_conn *c, void *arg)
{
	struct stat_arg *a = arg;
	char abs[FTP_PATH_MAX];
	int rc;

	rc = ftp_server_path(&fb->srv, a->path, abs, sizeof(abs));
	if (rc < 0)
		return rc;
	return ftp_stat_abs(fb, c, abs, a->out);
}

int
ftp_be_stat(struct backend *b, const char *path, struct backend_attr *out)
{
	struct stat_arg a = { .path = path, .out = out };

	if (strcmp(path, "/") == 0) {
		memset(out, 0, sizeof(*out));
		out->valid = BA_MODE_TYPE;
		out->mode = S_IFDIR | 0755;
		return 0;
	}
	return ftp_with_conn(b->priv, do_stat, &a, true);
}

/* ---- listings ------------------------------------------------------ */

struct list_arg {
	const char *path; /* mount path */
	bool force_list; /* LIST even on MLSD servers (link targets) */
	struct backend_dirlist *out;
};

struct list_ctx {
	struct backend_dirlist *out;
	long time_offset; /* LIST times: seconds ahead of UTC */
	struct ftp_list_dots dots; /* "." or ".." seen: LIST -a honoured */
};

static int
add_entry(const struct ftp_list_entry *e, void *arg)
{
	struct list_ctx *lc = arg;
	struct backend_attr a = e->attr;
	char *target = NULL;
	int rc;

	if (a.valid & BA_MTIME)
		a.mtime.tv_sec -= lc->time_offset;
	if (e->target != NULL) {
		target = strndup(e->target, e->target_len);
		if (target == NULL)
			return -ENOMEM;
	}
	rc = backend_dirlist_add(lc->out, e->name, e->name_len, target, &a);
	free(target);
	return rc;
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
			ftp_list_dots_feed(&lc->dots, buf, (size_t)r);
		rc = ftp_list_feed(&p, buf, (size_t)r);
		if (rc < 0)
			break;
	}
	if (r < 0 || rc < 0) {
		if (rc == -EFBIG)
			log_warn("%s %s: more than %d entries: the listing is "
			         "refused",
			    verb, arg != NULL ? arg : ".", BACKEND_DIRLIST_MAX);
		ftp_xfer_abort(c);
		ftp_list_parser_free(&p);
		return r < 0 ? (int)r : rc;
	}
	rc = ftp_list_finish(&p);
	if (p.bad_lines > 0)
		log_debug("[%u] %s: %u unparsable line(s) skipped", c->id, verb,
		    p.bad_lines);
	ftp_list_parser_free(&p);
	if (rc < 0) {
		ftp_xfer_abort(c);
		return rc;
	}
	return ftp_xfer_finish(c, refusal);
}

static int
list_mlsd(
    struct ftp_be *fb, struct ftp_conn *c, const char *abs, struct list_ctx *lc)
{
	struct ftp_reply ref;
	int rc;

	lc->time_offset = 0; /* MLSD times are UTC (RFC 3659) */
	rc = list_transfer(c, "MLSD", abs, FTP_LIST_MLSD, lc, &ref);
	if (rc == -EREMOTEIO) {
		if (ref.code == 500 || ref.code == 502) {
			log_info(
			    "server refuses MLSD (%d); using LIST", ref.code);
			pthread_mutex_lock(&fb->srv.lock);
			fb->srv.mlsd_off = true;
			pthread_mutex_unlock(&fb->srv.lock);
			rc = -ENOSYS;
		} else {
			rc = ftp_errno(&ref, OP_LIST);
			ftp_log_refusal("MLSD", abs, &ref, rc);
		}
		ftp_reply_free(&ref);
	}
	return rc;
}

static int
list_unix(
    struct ftp_be *fb, struct ftp_conn *c, const char *abs, struct list_ctx *lc)
{
	struct ftp_reply ref;
	int rc, list_a;

	lc->time_offset = atomic_load(&fb->srv.time_offset);
	pthread_mutex_lock(&fb->srv.lock);
	list_a = fb->srv.list_a;
	pthread_mutex_unlock(&fb->srv.lock);

	/*
	 * LIST takes options and globs: CWD, then list ".".  The CWD goes
	 * out with the data channel's EPSV (or PASV, EPRT, PORT), in one
	 * round trip; refused, it fails the listing with its own errno.
	 */
	c->xfer_cwd = abs;
	c->cwd_refused = false;
	rc = list_transfer(
	    c, "LIST", list_a != 0 ? "-a" : NULL, FTP_LIST_AUTO, lc, &ref);
	c->xfer_cwd = NULL;
	if (rc == -EREMOTEIO && c->cwd_refused) {
		c->cwd_refused = false;
		rc = ftp_errno(&ref, OP_CWD);
		ftp_log_refusal("CWD", abs, &ref, rc);
		ftp_reply_free(&ref);
		return rc;
	}
	if (rc == 0 && list_a < 0) {
		/*
		 * Probe: a server that honours -a shows "." and "..".  If not,
		 * "-a" may have been taken as a name: list again plainly.
		 */
		pthread_mutex_lock(&fb->srv.lock);
		fb->srv.list_a = lc->dots.seen ? 1 : 0;
		pthread_mutex_unlock(&fb->srv.lock);
		log_debug("LIST -a %s", lc->dots.seen ? "works" : "ignored");
		if (!lc->dots.seen) {
			backend_dirlist_free(lc->out);
			rc = list_transfer(
			    c, "LIST", NULL, FTP_LIST_AUTO, lc, &ref);
		}
	}
	if (rc == -EREMOTEIO) {
		rc = ftp_errno(&ref, OP_LIST);
		ftp_log_refusal("LIST", abs, &ref, rc);
		ftp_reply_free(&ref);
	}
	return rc;
}

/*
 * A listing over the control connection, for when no data
 * connection gets through: "STAT -a ." after CWD, else "STAT .".  The
 * middle lines of the 211/212/213 reply are LIST lines (ProFTPD indents
 * them by one space).
 */
static int
list_stat(
    struct ftp_be *fb, struct ftp_conn *c, const char *abs, struct list_ctx *lc)
{
	static const char *const args[] = { "-a .", "." };
	struct ftp_list_parser p;
	struct ftp_reply rep;
	size_t i;
	int rc;

	/* LIST lines: in the server's time */
	lc->time_offset = atomic_load(&fb->srv.time_offset);
	if (c->broken && (rc = ftp_conn_reopen(c)) < 0)
		return rc;
	rc = ftp_cmd(c, &rep, "CWD", abs);
	if (rc < 0)
		return rc;
	if (rep.code != 250) {
		rc = ftp_errno(&rep, OP_CWD);
		ftp_reply_free(&rep);
		return rc;
	}
	ftp_reply_free(&rep);
	for (i = 0; i < sizeof(args) / sizeof(args[0]); i++) {
		rc = ftp_cmd(c, &rep, "STAT", args[i]);
		if (rc < 0)
			return rc;
		if (rep.code >= 211 && rep.code <= 213 && rep.nlines > 2)
			break;
		ftp_reply_free(&rep);
	}
	if (i == sizeof(args) / sizeof(args[0]))
		return -EIO;
	backend_dirlist_free(lc->out);
	ftp_list_parser_init(&p, FTP_LIST_AUTO, time(NULL), add_entry, lc);
	rc = ftp_list_feed_stat(&p, rep.text, rep.text_len);
	if (rc == 0)
		rc = ftp_list_finish(&p);
	ftp_list_parser_free(&p);
	ftp_reply_free(&rep);
	if (rc == 0)
		log_debug("listed %s over the control connection (STAT)", abs);
	return rc;
}

int
ftp_list_abs(struct ftp_be *fb, struct ftp_conn *c, const char *abs,
    bool force_list, struct backend_dirlist *out)
{
	struct list_ctx lc = { .out = out };
	bool mlsd;
	int rc;

	backend_dirlist_free(out); /* a retry starts from scratch */
	pthread_mutex_lock(&fb->srv.lock);
	mlsd = (fb->srv.feat & (FTP_FEAT_MLST | FTP_FEAT_MLSD)) &&
	    !fb->srv.mlsd_off && !fb->srv.cfg.disable_mlsd;
	pthread_mutex_unlock(&fb->srv.lock);
	if (mlsd && !force_list) {
		rc = list_mlsd(fb, c, abs, &lc);
		if (rc != -ENOSYS)
			goto out;
		backend_dirlist_free(out);
	}
	rc = list_unix(fb, c, abs, &lc);
out:
	if ((rc == -EIO || rc == -ETIMEDOUT) && ftp_data_blocked(&fb->srv)) {
		int src = list_stat(fb, c, abs, &lc);

		if (src == 0)
			return 0;
		backend_dirlist_free(out);
	}
	return rc;
}

static int
do_list(struct ftp_be *fb, struct ftp_conn *c, void *arg)
{
	struct list_arg *a = arg;
	char abs[FTP_PATH_MAX];
	int rc;

	rc = ftp_server_path(&fb->srv, a->path, abs, sizeof(abs));
	if (rc < 0)
		return rc;
	return ftp_list_abs(fb, c, abs, a->force_list, a->out);
}

int
ftp_be_list(struct backend *b, const char *path, struct backend_dirlist *out)
{
	struct list_arg a = { .path = path, .out = out };
	int rc = ftp_with_conn(b->priv, do_list, &a, true);

	if (rc < 0)
		backend_dirlist_free(out);
	return rc;
}

int
ftp_be_readlink(struct backend *b, const char *path, char *buf, size_t size)
{
	struct backend_dirlist l = { 0 };
	struct list_arg a = { .force_list = true, .out = &l };
	const struct backend_dirent *e;
	char parent[FTP_PATH_MAX];
	const char *name;
	int rc;

	rc = backend_path_split(path, parent, sizeof(parent), &name);
	if (rc < 0)
		return rc;
	a.path = parent;
	/* MLSD shows that a link exists but not where it points. */
	rc = ftp_with_conn(b->priv, do_list, &a, true);
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
