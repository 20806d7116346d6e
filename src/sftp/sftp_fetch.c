/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * sftp_fetch: several small files read whole over one session at once
 * (backend_ops.fetch_many, for fahead.c).  Each file costs OPEN, READs
 * and CLOSE; sent one file after another that is two round trips a
 * file, sent together it is about two for all of them: every OPEN goes
 * out at once, and each file's READs and CLOSE as soon as its HANDLE is
 * back.
 *
 * Servers answer in the order they were asked (sftp_conn_wait relies on
 * it too), so the requests in flight are a FIFO and each reply is matched
 * with the oldest.  A file is read as far as it was listed and one byte
 * more, in the same requests (fahead checks a reader's size and mtime
 * against the listing's): a short DATA or an early EOF before that end,
 * or the byte past it, means it changed since: -ESTALE, and the reader
 * reads it itself (where fs_read.c sees the new size).
 *
 * The caller may add files while the requests are under way (fill) and
 * be given each file as soon as it is complete (done): the session then
 * carries the requests of many readers back to back, as one stream.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "sftp_be.h"

enum fq_kind { FQ_OPEN, FQ_READ, FQ_CLOSE };

/* The caller's files added (fill) only while fewer requests than this are
   under way: about a hundred files open on the server at a time. */
#define FETCH_INFLIGHT_MAX 300

struct fetch_state {
	struct sftp_be *sb;
	struct sftp_conn *c;
	struct backend_fetch_batch *bt;
	struct backend_fetch *v; /* bt->v */
	char **abs; /* each file's path on the server (malloc'ed) */
	uint64_t *got;
	bool *fin; /* given to bt->done (or final, without one) */
	struct sb_fifo q; /* requests in flight */
};

/*
 * v[i] is final: rc (a failure of the whole, where it had none of its
 * own), the count checked, given to done.
 */
static void
fetch_finish(struct fetch_state *s, size_t i, int rc)
{
	struct backend_fetch *f = &s->v[i];

	if (s->fin[i])
		return;
	s->fin[i] = true;
	if (rc < 0 && f->rc == 0)
		f->rc = rc;
	if (f->rc == 0 && s->got[i] != f->want)
		f->rc = -ESTALE;
	if (f->rc < 0) {
		free(f->data);
		f->data = NULL;
	}
	if (s->bt->done != NULL) {
		s->bt->done(s->bt, i);
		f->data = NULL; /* done's */
	}
}

/* --- the FIFO of requests in flight (also sftp_lists.c) ----------------- */

int
sb_fifo_init(struct sb_fifo *f, size_t cap)
{
	memset(f, 0, sizeof(*f));
	f->q = calloc(cap > 0 ? cap : 1, sizeof(*f->q));
	if (f->q == NULL)
		return -ENOMEM;
	f->cap = cap;
	return 0;
}

void
sb_fifo_free(struct sb_fifo *f)
{
	free(f->q);
	memset(f, 0, sizeof(*f));
}

/* Twice the room, the requests kept in order (oldest first). */
static int
fifo_grow(struct sb_fifo *f)
{
	size_t cap = f->cap * 2, i;
	struct sb_req *q = calloc(cap, sizeof(*q));

	if (q == NULL)
		return -ENOMEM;
	for (i = 0; i < f->count; i++)
		q[i] = f->q[(f->head + i) % f->cap];
	free(f->q);
	f->q = q;
	f->cap = cap;
	f->head = 0;
	return 0;
}

int
sb_fifo_push(struct sb_fifo *f, struct sftp_conn *c, int enc_rc, uint32_t id,
    int kind, size_t item, uint64_t off, uint32_t len)
{
	struct sb_req *e;

	if (enc_rc == 0 && f->count == f->cap)
		enc_rc = fifo_grow(f);
	if (enc_rc < 0) {
		sftp_conn_unqueue(c);
		return enc_rc;
	}
	e = &f->q[(f->head + f->count) % f->cap];
	e->id = id;
	e->kind = kind;
	e->item = item;
	e->off = off;
	e->len = len;
	f->count++;
	return 0;
}

struct sb_req
sb_fifo_oldest(const struct sb_fifo *f)
{
	return f->q[f->head];
}

void
sb_fifo_pop(struct sb_fifo *f)
{
	f->head = (f->head + 1) % f->cap;
	f->count--;
}

void
sb_fifo_settle(struct sb_fifo *f, struct sftp_be *sb, struct sftp_conn *c,
    int rc, const char *what)
{
	if (rc < 0 && !sftp_conn_broken(c) && f->count > 0 &&
	    sftp_conn_drain(c, sb->tmo) < 0)
		log_debug("sftp: %s: the session is dropped", what);
}

/* --- small files read whole ---------------------------------------------- */

/*
 * Queue one request (its id joins the FIFO); h: the file's handle (READ,
 * CLOSE).  On failure nothing is left counted as in flight.
 */
static int
send_req(struct fetch_state *s, enum fq_kind kind, size_t item, uint64_t off,
    uint32_t len, const struct sftp_handle *h)
{
	struct sftp_attrs none = { 0 };
	uint32_t id = sftp_conn_id(s->c);
	int rc;

	if (kind == FQ_OPEN)
		rc = sftp_enc_open(
		    sftp_conn_out(s->c), id, s->abs[item], SSH_FXF_READ, &none);
	else if (kind == FQ_READ)
		rc = sftp_enc_read(sftp_conn_out(s->c), id, h, off, len);
	else
		rc = sftp_enc_handle(sftp_conn_out(s->c), SSH_FXP_CLOSE, id, h);
	return sb_fifo_push(&s->q, s->c, rc, id, kind, item, off, len);
}

/*
 * A file's HANDLE is back: its READs up to the listed size and one byte
 * past it (a file that grew shows there), then CLOSE.
 */
static int
send_reads(struct fetch_state *s, size_t i, const struct sftp_handle *h)
{
	uint64_t end = s->v[i].want + 1, off;
	uint32_t chunk = sftp_conn_max_read(s->c), len;
	int rc;

	for (off = 0; off < end; off += len) {
		len = end - off < chunk ? (uint32_t)(end - off) : chunk;
		rc = send_req(s, FQ_READ, i, off, len, h);
		if (rc < 0)
			return rc;
	}
	return send_req(s, FQ_CLOSE, i, 0, 0, h);
}

/* The reply to the oldest request in flight (servers answer in order). */
static int
take_reply(struct fetch_state *s)
{
	struct sb_req e = sb_fifo_oldest(&s->q);
	struct backend_fetch *f = &s->v[e.item];
	struct sftp_reply r;
	bool last;
	int rc;

	if (e.kind == FQ_READ && f->rc == 0)
		/* straight into the file's buffer */
		rc = sftp_conn_recv_data(
		    s->c, e.id, f->data + e.off, e.len, &r, s->sb->tmo);
	else
		rc = sftp_conn_wait(s->c, e.id, &r, s->sb->tmo);
	if (rc < 0)
		return rc;
	sb_fifo_pop(&s->q);
	switch (e.kind) {
	case FQ_OPEN:
		if (r.type == SSH_FXP_HANDLE) {
			struct sftp_handle h = r.u.handle;

			return send_reads(s, e.item, &h);
		}
		f->rc = sb_reply_errno(&r, "OPEN", s->abs[e.item]);
		if (f->rc == 0)
			f->rc = -EPROTO;
		fetch_finish(s, e.item, 0);
		return 0;
	case FQ_READ:
		if (f->rc < 0)
			return 0;
		/* The last READ ends one byte past the listed size: short
		   there is the file as listed (the count decides, below). */
		last = e.off + e.len > f->want;
		if (r.type == SSH_FXP_DATA && r.u.data.len <= e.len) {
			s->got[e.item] += r.u.data.len;
			if (r.u.data.len < e.len && !last)
				f->rc = -ESTALE; /* shorter than listed */
		} else if (r.type == SSH_FXP_STATUS &&
		    r.u.status.code == SSH_FX_EOF) {
			if (!last || e.off < f->want)
				f->rc = -ESTALE;
		} else {
			f->rc = sb_reply_errno(&r, "READ", s->abs[e.item]);
			if (f->rc == 0)
				f->rc = -EPROTO;
		}
		return 0;
	case FQ_CLOSE:
		if (r.type == SSH_FXP_STATUS && r.u.status.code != SSH_FX_OK)
			log_debug("%s: CLOSE after reading ahead: %s",
			    s->abs[e.item], sftp_status_name(r.u.status.code));
		fetch_finish(s, e.item, 0);
		return 0;
	}
	return -EPROTO;
}

/* v[from..to): their paths on the server and buffers (a byte past want) */
static void
fetch_prepare(struct fetch_state *s, size_t from, size_t to)
{
	struct backend_fetch *v = s->v;
	char abs[SFTP_PATH_MAX];
	size_t i;

	for (i = from; i < to; i++) {
		v[i].rc = sb_abs(s->sb, v[i].path, abs, sizeof(abs));
		v[i].data = NULL;
		if (v[i].rc == 0 && (s->abs[i] = strdup(abs)) == NULL)
			v[i].rc = -ENOMEM;
		if (v[i].rc == 0) {
			v[i].data = malloc(v[i].want + 1);
			if (v[i].data == NULL)
				v[i].rc = -ENOMEM;
		}
		if (v[i].rc < 0)
			fetch_finish(s, i, 0);
	}
}

/* The OPENs of v[from..to) (those that could be prepared). */
static int
send_opens(struct fetch_state *s, size_t from, size_t to)
{
	size_t i;
	int rc;

	for (i = from; i < to; i++) {
		if (s->v[i].rc < 0)
			continue;
		rc = send_req(s, FQ_OPEN, i, 0, 0, NULL);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* What the caller adds (fill): prepared and asked for at once. */
static int
fetch_more(struct fetch_state *s)
{
	size_t from = s->bt->n;

	if (s->bt->fill == NULL || from >= s->bt->cap ||
	    s->q.count >= FETCH_INFLIGHT_MAX)
		return 0;
	s->bt->fill(s->bt);
	fetch_prepare(s, from, s->bt->n);
	return send_opens(s, from, s->bt->n);
}

static int
fetch_on(struct fetch_state *s)
{
	int rc;

	rc = send_opens(s, 0, s->bt->n);
	if (rc == 0)
		rc = fetch_more(s);
	while (rc == 0 && s->q.count > 0) {
		rc = take_reply(s);
		if (rc == 0)
			rc = fetch_more(s);
	}
	return rc;
}

int
sb_fetch_many(struct backend *b, struct backend_fetch_batch *bt)
{
	struct sftp_be *sb = b->priv;
	struct backend_fetch *v = bt->v;
	struct fetch_state s = { .sb = sb, .bt = bt, .v = v };
	struct sb_conn *sc;
	size_t i;
	int rc;

	for (i = 0; i < bt->n; i++) {
		v[i].data = NULL;
		v[i].rc = 0;
	}
	if (bt->n == 0 && bt->fill == NULL)
		return 0;
	s.abs = calloc(bt->cap, sizeof(*s.abs));
	s.got = calloc(bt->cap, sizeof(*s.got));
	s.fin = calloc(bt->cap, sizeof(*s.fin));
	if (s.abs == NULL || s.got == NULL || s.fin == NULL) {
		free(s.abs);
		free(s.got);
		free(s.fin);
		for (i = 0; i < bt->n; i++)
			v[i].rc = -ENOMEM;
		if (bt->done != NULL)
			for (i = 0; i < bt->n; i++)
				bt->done(bt, i);
		return 0;
	}
	rc = sb_get(sb, &sc);
	if (rc == 0) {
		s.c = sc->c;
		fetch_prepare(&s, 0, bt->n);
		/* room for OPEN, a READ and CLOSE each: it grows if need be */
		rc = sb_fifo_init(&s.q, 3 * (bt->n > 16 ? bt->n : 16));
		if (rc == 0)
			rc = fetch_on(&s);
		sb_fifo_settle(&s.q, sb, s.c, rc, "reading ahead");
		sb_put(sb, sc);
		sb_fifo_free(&s.q);
	}
	for (i = 0; i < bt->n; i++) {
		fetch_finish(&s, i, rc < 0 ? rc : 0);
		free(s.abs[i]);
	}
	free(s.abs);
	free(s.got);
	free(s.fin);
	return rc == -EAGAIN ? rc : 0;
}
