/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ftp_file: open remote files.  A reader keeps one RETR streaming while
 * reads stay (nearly) sequential; between reads its connection is parked
 * in the pool, which may take it back when it runs short.  A window of
 * recent bytes absorbs the small reorderings of parallel FUSE reads.
 *
 * A writer streams sequential writes into one STOR (or APPE); flush ends
 * the transfer and reports success only on a 2xx final reply whose size
 * SIZE confirms.  A write at any other offset is -ESPIPE: fs.c spools.
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
#include "write_plan.h"

/* Read window: bytes kept behind the stream for out-of-order reads. */
#define WIN_CAP (8u << 20)
#define WIN_KEEP (2u << 20)
#define READ_CHUNK (256u << 10)
/* A forward jump shorter than this is read through, not restarted. */
#define SKIP_MAX (1u << 20)
/* An EOF seen this recently stands; later, a read past it asks again. */
#define EOF_FRESH_MS 1000

struct backend_file {
	pthread_mutex_t lock; /* serialises reads on this handle */
	struct ftp_be *fb;
	char *path; /* absolute server path */
	int64_t size; /* known size, -1 if unknown */
	/* the fields below are protected by lock */
	struct ftp_conn *conn; /* connection carrying our RETR, or NULL */
	bool parked; /* conn is parked in the pool between reads */
	uint64_t pos; /* next byte the data socket delivers */
	char *win; /* bytes [win_start, win_start + win_len) */
	size_t win_len;
	uint64_t win_start;
	bool at_eof; /* the file ends at eof_pos, seen at eof_ms */
	uint64_t eof_pos;
	int64_t eof_ms;
	int64_t data_ms; /* the stream's start or last bytes: its EOF's age */
	unsigned slot; /* fb->gen's for path */
	unsigned gen_seen; /* fb->gen[slot] when what we hold was read */
	/* writers: */
	bool writer; /* a write stream (STOR/APPE) */
	struct ftp_conn *wconn; /* held for the upload in progress */
	uint64_t wpos; /* bytes the server has or is receiving */
	bool wstarted; /* a STOR has created the file */
	bool append; /* BO_APPEND: every transfer is an APPE */
	bool created; /* BO_NEW: our STOR creates the file */
	bool xfer_appe; /* the transfer in progress is an APPE */
	bool have_before; /* before: the size measured before that APPE */
	uint64_t before;
	uint64_t xfer_start; /* wpos when the transfer in progress began */
	int werr; /* sticky upload failure (-errno) */
};

/* ---- reads ----------------------------------------------------------- */

/* Take a parked stream's connection back; false if the pool took it. */
static bool
stream_hold(struct backend_file *f)
{
	if (f->conn != NULL && f->parked) {
		f->parked = false;
		if (!pool_unpark_owner(f->fb->pool, f->conn, f))
			f->conn = NULL; /* reclaimed while we were idle */
	}
	return f->conn != NULL;
}

/* Stop the handle's stream (if any) and give its connection back. */
static void
stream_stop(struct backend_file *f)
{
	struct ftp_conn *c;

	if (!stream_hold(f))
		return;
	c = f->conn;
	f->conn = NULL;
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
	/* From the start: no REST (a round trip per file saved; a REST
	   is consumed by the transfer that follows it, never left over) */
	rc = ftp_xfer_open(
	    c, "RETR", f->path, off > 0 ? (int64_t)off : -1, false, &ref);
	if (rc == -ERANGE) {
		/* REST past the end: the file is shorter than we thought. */
		ftp_reply_free(&ref);
		f->at_eof = true;
		f->eof_pos = off;
		f->eof_ms = net_now_ms();
		rc = 0;
		goto release;
	}
	if (rc == -EREMOTEIO) {
		rc = ftp_errno(&ref, OP_READ);
		ftp_log_refusal("RETR", f->path, &ref, rc);
		ftp_reply_free(&ref);
		goto release;
	}
	if (rc < 0)
		goto release;
	f->conn = c;
	f->data_ms = net_now_ms();
	return 0;
release:
	pool_checkin(fb->pool, c, !c->broken);
	return rc;
}

/*
 * Make room for READ_CHUNK more bytes at the end of the window, which
 * must end where the stream is (reads served straight from the socket
 * leave it behind: then it starts over at the stream's position).
 */
static int
win_room(struct backend_file *f)
{
	if (f->win == NULL) {
		f->win = malloc(WIN_CAP);
		if (f->win == NULL)
			return -ENOMEM;
	}
	if (f->win_start + f->win_len != f->pos) {
		f->win_start = f->pos;
		f->win_len = 0;
	}
	if (f->win_len + READ_CHUNK > WIN_CAP) {
		size_t drop = f->win_len - WIN_KEEP;

		memmove(f->win, f->win + drop, WIN_KEEP);
		f->win_len = WIN_KEEP;
		f->win_start += drop;
	}
	return 0;
}

/*
 * The stream hit EOF: the transfer must end with a 2xx.  Any other reply
 * (vsftpd's "500 OOPS: child died", a 426 or 451 when the server lost the
 * session or the file) is -ECONNABORTED: the bytes so far are good, and the
 * read starts again where the stream stopped (read_locked's one restart;
 * a file really gone then fails the RETR with its own errno).
 */
static int
stream_eof(struct backend_file *f)
{
	struct ftp_conn *c = f->conn;
	struct ftp_reply ref;
	int rc;

	/* Every byte the listing announced: the 226 is read by the
	   connection's next command (the stream ended exactly at the size;
	   a transfer cut short ends elsewhere and is checked now). */
	if (f->size >= 0 && f->pos == (uint64_t)f->size)
		rc = ftp_xfer_finish_later(c, &ref);
	else
		rc = ftp_xfer_finish(c, &ref);
	f->conn = NULL;
	pool_checkin(f->fb->pool, c, !c->broken);
	if (rc == -EREMOTEIO) {
		log_warn("RETR %s ended with %d %s at %" PRIu64, f->path,
		    ref.code, ftp_reply_last_line(&ref), f->pos);
		ftp_reply_free(&ref);
		return -ECONNABORTED;
	}
	if (rc < 0)
		return rc;
	/* The server ended the stream right after its last bytes: a stream
	   parked since then tells of the file as it was then. */
	f->at_eof = true;
	f->eof_pos = f->pos;
	f->eof_ms = f->data_ms;
	return 0;
}

/*
 * n more bytes came from the stream.  Past the size the file was listed
 * with, it grew (or was replaced) since: the size is no longer known, and
 * nothing may stop reads there (fs_read.c tells the kernel).
 */
static void
stream_advance(struct backend_file *f, size_t n)
{
	f->pos += (uint64_t)n;
	f->data_ms = net_now_ms();
	if (f->size >= 0 && f->pos > (uint64_t)f->size)
		f->size = -1;
}

/*
 * Read the next bytes of the stream into dst (the window, or the caller's
 * buffer when the request is exactly where the stream is: one copy fewer
 * on the hot path).  Returns bytes read, 0 at EOF (stream closed), -errno.
 */
static ssize_t
stream_pull(struct backend_file *f, char *dst, size_t n)
{
	ssize_t r = ftp_xfer_read(f->conn, dst, n);
	int rc;

	if (r > 0) {
		stream_advance(f, (size_t)r);
		return r;
	}
	if (r < 0) {
		stream_stop(f);
		return r;
	}
	rc = stream_eof(f);
	return rc < 0 ? rc : 0;
}

/* Pull the next chunk of the stream into the window. */
static int
stream_fill(struct backend_file *f)
{
	ssize_t r;
	int rc;

	rc = win_room(f);
	if (rc < 0)
		return rc;
	r = stream_pull(f, f->win + f->win_len, READ_CHUNK);
	if (r > 0)
		f->win_len += (size_t)r;
	return r < 0 ? (int)r : 0;
}

/*
 * End of a read: once everything the file holds has arrived, collect the
 * EOF and the 226 now so the connection goes back clean instead of being
 * aborted; park a stream that goes on.
 */
static void
stream_settle(struct backend_file *f)
{
	ssize_t r;
	int rc;

	if (f->conn != NULL && f->size >= 0 && f->pos >= (uint64_t)f->size) {
		char extra;

		/* Into the window only if that keeps what it holds. */
		if (f->win != NULL && f->win_start + f->win_len == f->pos) {
			rc = stream_fill(f);
		} else {
			r = stream_pull(f, &extra, 1);
			if (r > 0 && win_room(f) == 0) {
				f->win[0] = extra; /* the file grew meanwhile */
				f->win_start = f->pos - 1;
				f->win_len = 1;
			}
			rc = r < 0 ? (int)r : 0;
		}
		if (rc < 0)
			log_debug("closing %s at its end: %s", f->path,
			    strerror(-rc));
	}
	if (f->conn != NULL) {
		pool_park_owner(f->fb->pool, f->conn, f);
		f->parked = true;
	}
}

static ssize_t
read_locked(struct backend_file *f, char *buf, size_t size, off_t off)
{
	unsigned gen;
	uint64_t cur;
	size_t total = 0, n;
	ssize_t r;
	int rc = 0, restarts = 0;
	bool asked = false;

	/* Uploaded through the mount since (another handle): what we hold,
	   and where we saw the file end, may be out of date. */
	gen = atomic_load(&f->fb->gen[f->slot]);
	if (gen != f->gen_seen) {
		f->gen_seen = gen;
		stream_stop(f);
		f->win_len = 0;
		f->at_eof = false;
	}
	/*
	 * Past where the file ended when that was seen a while ago (a log
	 * that grows, tail -f), or past the size it was listed with, the
	 * server is asked (a REST past the end is EOF, stream_start): the
	 * kernel reads there only when it was told the file is longer now.
	 */
	stream_hold(f);
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
		if (f->at_eof && cur >= f->eof_pos) {
			/* An old stream's end (parked since its last bytes)
			   is the file as it was then: ask once more. */
			if (asked || net_now_ms() - f->eof_ms <= EOF_FRESH_MS)
				break;
			asked = true;
			f->at_eof = false;
			rc = stream_start(f, cur);
			if (rc < 0)
				goto fail;
			continue;
		}
		if (f->conn == NULL || cur < f->pos ||
		    cur > f->pos + SKIP_MAX) {
			f->at_eof = false;
			rc = stream_start(f, cur);
			if (rc < 0)
				goto fail;
			continue;
		}
		if (cur == f->pos) {
			/* In order: straight from the socket. */
			r = stream_pull(f, buf + total, size - total);
			if (r > 0)
				total += (size_t)r;
			rc = r < 0 ? (int)r : 0;
		} else {
			/* A gap (reads overtook each other): keep it. */
			rc = stream_fill(f);
		}
		if (rc < 0) {
			if (rc == -ENOMEM || rc == -EIO || ++restarts > 1)
				goto fail;
			log_info("read of %s interrupted (%s); restarting at "
			         "%" PRIu64,
			    f->path, strerror(-rc), cur);
			rc = stream_start(f, cur);
			if (rc < 0)
				goto fail;
		}
	}
	stream_settle(f);
	return (ssize_t)total;
fail:
	stream_stop(f);
	return total > 0 ? (ssize_t)total : rc;
}

ssize_t
ftp_be_read(struct backend *b, struct backend_file *f, char *buf, size_t size,
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

/*
 * read_locked's in-order case (the request starts exactly where the stream
 * is) with the bytes spliced into a pipe instead of copied into a buffer.
 * Anything else is -EAGAIN, untouched, for ftp_be_read: no stream, a
 * request elsewhere, EOF already seen.  A stream that fails is stopped and
 * ftp_be_read starts it again where it stopped (-EIO and -ENOMEM fail, as
 * they do there).  A full pipe ends the request short: ftp_be_read goes
 * on from where the stream now is.
 */
static ssize_t
read_pipe_locked(struct backend_file *f, int pipe_wr, size_t size, off_t off)
{
	size_t total = 0;
	ssize_t r = 0;

	if (atomic_load(&f->fb->gen[f->slot]) != f->gen_seen)
		return -EAGAIN; /* uploaded since: read_locked starts over */
	if (!stream_hold(f))
		return -EAGAIN;
	if ((uint64_t)off != f->pos || f->at_eof) {
		stream_settle(f);
		return -EAGAIN;
	}
	while (total < size) {
		r = ftp_xfer_splice(f->conn, pipe_wr, size - total);
		if (r <= 0)
			break;
		stream_advance(f, (size_t)r);
		total += (size_t)r;
	}
	if (r == 0 && total < size)
		r = stream_eof(f); /* 0 when the 226 came */
	if (r < 0 && r != -ENOBUFS && r != -EINVAL) {
		stream_stop(f);
		if (r != -ENOMEM && r != -EIO)
			log_info("read of %s interrupted (%s); restarting at "
			         "%" PRIu64,
			    f->path, strerror((int)-r), f->pos);
		if (total > 0)
			return (ssize_t)total;
		return r == -ENOMEM || r == -EIO ? r : -EAGAIN;
	}
	stream_settle(f);
	/* nothing moved: the pipe was full, the data not spliceable, or the
	   stream ended here, which read_locked judges (an old stream's end
	   is asked again) */
	if (total == 0)
		return -EAGAIN;
	return (ssize_t)total;
}

ssize_t
ftp_be_read_pipe(struct backend *b, struct backend_file *f, int pipe_wr,
    size_t size, off_t off)
{
	ssize_t r;

	(void)b;
	if (off < 0)
		return -EINVAL;
	if (size == 0)
		return 0;
	pthread_mutex_lock(&f->lock);
	r = read_pipe_locked(f, pipe_wr, size, off);
	pthread_mutex_unlock(&f->lock);
	return r;
}

/* ---- writes ----------------------------------------------------------- */

static int upload_judge(
    struct backend_file *f, struct ftp_conn **cp, bool transfer_ok);

/*
 * Start STOR (a new stream at wpos 0) or APPE (an append handle, or a
 * stream going on after a flush) on a pooled connection.  Before an APPE
 * the file's size is measured on the same connection: the check after it
 * compares against that, never against what we believed the size was.
 */
static int
upload_start(struct backend_file *f)
{
	struct ftp_be *fb = f->fb;
	struct ftp_conn *c;
	struct ftp_reply ref;
	bool appe = f->append || f->wpos > 0;
	const char *verb = appe ? "APPE" : "STOR";
	int rc;

	if (appe && f->append && atomic_load(&fb->appe_refused))
		return -ESPIPE;
	rc = ftp_checkout_settled(fb, &c); /* a STOR is never sent twice */
	if (rc < 0)
		return rc;
	f->have_before = false;
	if (appe && (fb->srv.feat & FTP_FEAT_SIZE)) {
		rc = ftp_size_abs(c, f->path, &f->before);
		if (rc == -ENOENT) {
			f->before = 0; /* APPE creates it */
			rc = 0;
		}
		f->have_before = rc == 0;
		if (c->broken) {
			pool_checkin(fb->pool, c, false);
			return -EIO;
		}
	}
	rc = ftp_xfer_open(c, verb, f->path, -1, true, &ref);
	if (rc == -EREMOTEIO && appe && ref.code != 421 &&
	    ftp_errno(&ref, OP_WRITE) != -EACCES) {
		/*
		 * APPE refused by configuration (ProFTPD without
		 * AllowStoreRestart: "451 Append/Restart not permitted"), not
		 * for lack of permission: the file is intact; let fs.c go on
		 * with a local copy instead, now and for later appends.
		 */
		log_info("%s: server refuses APPE (%d %s); appending through "
		         "a local copy instead",
		    f->path, ref.code, ftp_reply_last_line(&ref));
		ftp_reply_free(&ref);
		atomic_store(&fb->appe_refused, true);
		rc = -ESPIPE;
	} else if (rc == -EREMOTEIO) {
		rc = ftp_clarify(fb, c, &ref, verb, f->path);
		ftp_reply_free(&ref);
	}
	if (rc < 0 && !appe && f->created && c->broken) {
		/*
		 * The connection died after the STOR was sent (its reply
		 * lost): the server may have made the file already, empty,
		 * under the real name.  Ours: judged as any failed upload of
		 * a new file (removed when it is there with nothing but what
		 * we sent, or once the server answers again).
		 */
		f->xfer_start = f->wpos;
		f->xfer_appe = false;
		upload_judge(f, &c, false);
		if (c != NULL)
			pool_checkin(fb->pool, c, !c->broken);
		return rc;
	}
	if (rc < 0) {
		pool_checkin(fb->pool, c, !c->broken);
		return rc;
	}
	f->wconn = c;
	f->wstarted = true;
	f->xfer_start = f->wpos;
	f->xfer_appe = appe;
	return 0;
}

/*
 * Names some servers change when they store a file (Pure-FTPd: control
 * characters, and blanks at the end, become '_'): worth one listing after
 * the upload (name_listed) to see that the name is really there.
 */
static bool
name_may_be_changed(const char *path)
{
	const char *base = strrchr(path, '/');
	size_t n;

	base = base != NULL ? base + 1 : path;
	n = strlen(base);
	if (n > 0 && (base[n - 1] == ' ' || base[n - 1] == '\t'))
		return true;
	for (; *base != '\0'; base++)
		if ((unsigned char)*base < 0x20 || *base == 0x7f)
			return true;
	return false;
}

/*
 * -o time_offset=auto: a file just written carries the server's clock in
 * its MDTM.  Its distance from ours, if it is within two minutes of a
 * whole quarter of an hour (time zones are), is how far the server's
 * LIST and MDTM times are ahead of UTC.  Tried on the first upload only.
 */
static void
learn_time_offset(struct ftp_be *fb, struct ftp_conn *c, const char *abs)
{
	struct timespec server;
	long diff, q;
	int rc;

	if (!atomic_exchange(&fb->srv.time_offset_learn, false))
		return;
	rc = ftp_mdtm_abs(c, abs, &server);
	if (rc < 0 && c->broken) {
		/* the connection, not the answer: at the next upload */
		atomic_store(&fb->srv.time_offset_learn, true);
		return;
	}
	if (rc < 0) {
		log_warn("time_offset=auto: no MDTM for %s; times stay as the "
		         "server lists them (set -o time_offset=H[:MM])",
		    abs);
		return;
	}
	/* ftp_mdtm_abs shifted it by the offset in force (still 0) */
	diff = (long)(server.tv_sec - time(NULL)) +
	    atomic_load(&fb->srv.time_offset);
	q = (diff >= 0 ? diff + 450 : diff - 450) / 900 * 900;
	if (labs(diff - q) > 120 || labs(q) > 14 * 3600) {
		log_warn("time_offset=auto: the server's clock is %ld s from "
		         "ours, not a time zone; times stay as listed (set -o "
		         "time_offset=H[:MM])",
		    diff);
		return;
	}
	atomic_store(&fb->srv.time_offset, q);
	if (q == 0)
		log_info("time_offset=auto: the server's times are UTC");
	else
		log_warn("time_offset=auto: the server reports local time, "
		         "UTC%c%ld:%02ld (learnt from %s): its LIST and MDTM "
		         "times are corrected",
		    q < 0 ? '-' : '+', labs(q) / 3600, labs(q) % 3600 / 60,
		    abs);
}

/*
 * Does the listing of abs's folder hold its exact name?  (SIZE and MLST
 * cannot tell: Pure-FTPd changes their argument the way it changed the
 * name.)  A listing that fails answers yes: nothing is claimed then.
 */
static bool
name_listed(struct ftp_be *fb, struct ftp_conn *c, const char *abs)
{
	struct backend_dirlist dl = { 0 };
	const char *slash = strrchr(abs, '/');
	char *dir;
	bool found = true;

	if (slash == NULL)
		return true;
	dir = slash == abs ? strdup("/") : strndup(abs, (size_t)(slash - abs));
	if (dir == NULL)
		return true;
	if (ftp_list_abs(fb, c, dir, false, &dl) == 0)
		found = backend_dirlist_find(&dl, slash + 1) != NULL;
	backend_dirlist_free(&dl);
	free(dir);
	return found;
}

/*
 * The transfer in progress ended (transfer_ok: with a 2xx and every byte
 * sent) on connection c: measure what the server has and judge it by
 * upload_verdict().  Removes the file only when the verdict says it is
 * our own partial copy; when c is broken, that question waits for the
 * server to answer again (ftp_orphan.c), for files we created only.
 */
static int
upload_judge(struct backend_file *f, struct ftp_conn **cp, bool transfer_ok)
{
	struct ftp_be *fb = f->fb;
	struct ftp_conn *c = *cp;
	struct upload_facts uf = {
		.transfer_ok = transfer_ok,
		.created = f->created && !f->xfer_appe,
		.append = f->xfer_appe,
		.have_before = f->have_before,
		.before = f->before,
		.sent = f->wpos - f->xfer_start,
	};
	enum upload_result v;
	int code;

	if (c->broken && !transfer_ok && uf.created) {
		/*
		 * The upload's connection died, with our partial file under
		 * the real name: ask on a new one - never holding two, which
		 * a one-connection server or a full pool would never give -
		 * or, with the server gone, once it answers again.
		 */
		pool_checkin(fb->pool, c, false);
		*cp = c = NULL;
		if (pool_checkout(fb->pool, (void **)&c) < 0) {
			ftp_orphan_add(fb, f->path, uf.sent);
			return -EIO;
		}
		*cp = c;
	}
	if (!c->broken && (fb->srv.feat & FTP_FEAT_SIZE) &&
	    ftp_size_abs(c, f->path, &uf.after) == 0)
		uf.have_after = true;
	if (transfer_ok && uf.created && !c->broken &&
	    name_may_be_changed(f->path) && !name_listed(fb, c, f->path)) {
		/* stored, but not under this name: it would be a file that
		   cannot be found, and could replace another's */
		log_err("upload of %s: the server stored it under another "
		        "name (Pure-FTPd turns control characters and "
		        "trailing spaces into '_'): the data is there, under "
		        "that name",
		    f->path);
		return -EIO;
	}
	if (c->broken && !transfer_ok && uf.created) {
		ftp_orphan_add(fb, f->path, uf.sent);
		return -EIO;
	}
	v = upload_verdict(&uf);
	switch (v) {
	case UV_OK:
	case UV_OK_UNVERIFIED:
		if (atomic_load(&fb->srv.time_offset_learn))
			learn_time_offset(fb, c, f->path);
		return 0;
	case UV_OK_FOREIGN:
		log_warn("upload of %s: the server has %" PRIu64 " bytes where "
		         "we expected %" PRIu64 ": another client wrote it too",
		    f->path, uf.after, (uf.append ? uf.before : 0) + uf.sent);
		return 0;
	case UV_FAIL_KEEP:
		log_err("upload of %s failed (%s; %" PRIu64 " bytes sent, "
		        "server has %s%" PRIu64 ")",
		    f->path, upload_result_name(v), uf.sent,
		    uf.have_after ? "" : "unknown ", uf.after);
		return -EIO;
	case UV_FAIL_DISCARD:
		if (ftp_cmd_code(c, &code, "DELE", f->path) < 0 ||
		    !ftp_reply_is_ok(code))
			log_err("upload of %s failed; its partial copy could "
			        "not be removed",
			    f->path);
		else
			log_err("upload of %s failed; %s", f->path,
			    upload_result_name(v));
		return -EIO;
	}
	return -EIO;
}

/* End the transfer in progress and check the server has every byte. */
static int
upload_finish(struct backend_file *f)
{
	struct ftp_be *fb = f->fb;
	struct ftp_conn *c = f->wconn;
	struct ftp_reply ref;
	int rc, err;

	if (c == NULL)
		return f->werr;
	f->wconn = NULL;
	rc = ftp_xfer_finish(c, &ref);
	atomic_fetch_add(&fb->gen[f->slot], 1); /* readers: see read_locked */
	if (rc == -ETIMEDOUT && c->broken)
		pool_timed_out(
		    fb->pool, rc); /* as any request that timed out */
	if (rc == -EREMOTEIO) {
		rc = ftp_errno(&ref, OP_WRITE);
		if (rc == -ENOENT)
			rc = -EIO;
		log_err("upload of %s: %d %s", f->path, ref.code,
		    ftp_reply_last_line(&ref));
		ftp_reply_free(&ref);
	}
	err = upload_judge(f, &c, rc == 0);
	if (rc == 0)
		rc = err;
	if (rc < 0) {
		if (rc != -ENOSPC && rc != -EDQUOT)
			rc = -EIO;
		f->werr = rc;
	}
	if (c != NULL)
		pool_checkin(fb->pool, c, !c->broken);
	return rc;
}

ssize_t
ftp_be_write(struct backend *b, struct backend_file *f, const char *buf,
    size_t size, off_t off)
{
	int rc;

	(void)b;
	if (!f->writer)
		return -EBADF;
	pthread_mutex_lock(&f->lock);
	if (f->werr < 0) {
		rc = f->werr;
		goto out;
	}
	/* An append goes to the end, wherever the caller thinks that is. */
	if (!f->append && (off < 0 || (uint64_t)off != f->wpos)) {
		rc = -ESPIPE;
		goto out;
	}
	if (f->wconn == NULL) {
		rc = upload_start(f);
		if (rc < 0)
			goto out;
	}
	rc = ftp_xfer_write(f->wconn, buf, size);
	if (rc < 0) {
		struct ftp_conn *c = f->wconn;

		/* The server did not get these bytes: fail, never pretend. */
		f->werr = -EIO;
		f->wconn = NULL;
		ftp_xfer_abort(c);
		f->wpos += size; /* at most this much may have arrived */
		upload_judge(f, &c, false);
		if (c != NULL)
			pool_checkin(f->fb->pool, c, !c->broken);
		rc = -EIO;
		goto out;
	}
	f->wpos += size;
	rc = (int)size;
out:
	pthread_mutex_unlock(&f->lock);
	return rc;
}

/*
 * final: the handle is being released.  Otherwise (close of one of several
 * descriptors, fsync) a transfer that has carried no byte yet stays open
 * and this returns 1: the server already shows the empty file it created,
 * so there is nothing to confirm, and a shell's "> file" (open, dup2,
 * close) costs one STOR.
 */
static int
writer_flush(struct backend_file *f, bool final)
{
	int rc = 0;

	pthread_mutex_lock(&f->lock);
	if (!final && f->wconn != NULL && f->wpos == f->xfer_start) {
		rc = 1;
		goto out;
	}
	if (!f->wstarted && f->werr == 0)
		rc = upload_start(f); /* an empty file still gets created */
	if (rc == 0)
		rc = upload_finish(f);
out:
	pthread_mutex_unlock(&f->lock);
	return rc;
}

int
ftp_be_flush(struct backend *b, struct backend_file *f)
{
	(void)b;
	if (!f->writer)
		return 0;
	return writer_flush(f, false);
}

/* ---- open / release --------------------------------------------------- */

int
ftp_be_open(struct backend *b, const char *path, unsigned flags, mode_t mode,
    int64_t known_size, struct backend_file **out)
{
	struct ftp_be *fb = b->priv;
	struct backend_file *f;
	char abs[FTP_PATH_MAX];
	int rc;

	(void)mode; /* STOR cannot carry it: fs.c chmods after the upload */
	if ((flags & BO_WRITE) && !(flags & (BO_TRUNC | BO_APPEND)))
		return -ESPIPE; /* in-place writes: fs.c spools them */
	if ((flags & BO_WRITE) && (flags & BO_APPEND) && !(flags & BO_TRUNC) &&
	    atomic_load(&fb->appe_refused))
		return -ESPIPE; /* appends through a local copy */
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
	f->slot = backend_path_slot(abs, FTP_PATH_SLOTS);
	f->gen_seen = atomic_load(&fb->gen[f->slot]);
	if (flags & BO_WRITE) {
		f->writer = true;
		f->created = (flags & BO_NEW) != 0;
		ftp_orphan_forget(fb, abs);
		if ((flags & BO_APPEND) && !(flags & BO_TRUNC)) {
			f->append = true;
			f->wstarted = true;
			/*
			 * A missing file exists once open returns, as on a
			 * local disk: an APPE of nothing creates it, and
			 * empties nothing if another client just made it.
			 */
			if (flags & BO_NEW) {
				rc = upload_start(f);
				if (rc == 0)
					rc = upload_finish(f);
				if (rc < 0) {
					f->werr = rc;
					ftp_be_release(b, f);
					return rc;
				}
			}
		} else {
			/* STOR now: the file exists (empty) once open returns
			 */
			rc = upload_start(f);
			if (rc < 0) {
				/* refused: no second STOR from the release */
				f->werr = rc;
				ftp_be_release(b, f);
				return rc;
			}
		}
	}
	*out = f;
	return 0;
}

/* Stop what f still streams (an upload: aborted, unchecked) and free it. */
static void
file_free(struct backend_file *f)
{
	struct ftp_conn *c;

	pthread_mutex_lock(&f->lock);
	c = f->wconn;
	f->wconn = NULL;
	if (c != NULL) {
		ftp_xfer_abort(c);
		pool_checkin(f->fb->pool, c, !c->broken);
	}
	stream_stop(f);
	pthread_mutex_unlock(&f->lock);
	pthread_mutex_destroy(&f->lock);
	free(f->win);
	free(f->path);
	free(f);
}

int
ftp_be_release(struct backend *b, struct backend_file *f)
{
	int rc = 0;

	if (f->writer)
		rc = writer_flush(f, true); /* leaves no upload open */
	file_free(f);
	return rc;
}

void
ftp_be_abandon(struct backend *b, struct backend_file *f)
{
	(void)b;
	file_free(f);
}
