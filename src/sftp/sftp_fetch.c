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
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "sftp_be.h"

enum fq_kind { FQ_OPEN, FQ_READ, FQ_CLOSE };

struct fetch_state {
	struct sftp_be *sb;
	struct sftp_conn *c;
	struct backend_fetch *v;
	char (*abs)[SFTP_PATH_MAX];
	uint64_t *got;
	struct sb_fifo q; /* requests in flight */
};

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

int
sb_fifo_push(struct sb_fifo *f, struct sftp_conn *c, int enc_rc, uint32_t id,
    int kind, size_t item, uint64_t off, uint32_t len)
{
	struct sb_req *e;

	if (enc_rc == 0 && f->count == f->cap)
		enc_rc = -ENOMEM; /* sized for the worst case: cannot happen */
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
		return 0;
	}
	return -EPROTO;
}

static int
fetch_on(struct fetch_state *s, size_t n)
{
	size_t i;
	int rc;

	for (i = 0; i < n; i++) {
		if (s->v[i].rc < 0)
			continue;
		rc = send_req(s, FQ_OPEN, i, 0, 0, NULL);
		if (rc < 0)
			return rc;
	}
	while (s->q.count > 0) {
		rc = take_reply(s);
		if (rc < 0)
			return rc;
	}
	return 0;
}

int
sb_fetch_many(struct backend *b, struct backend_fetch *v, size_t n)
{
	struct sftp_be *sb = b->priv;
	struct fetch_state s = { .sb = sb, .v = v };
	struct sb_conn *sc;
	uint32_t chunk;
	size_t i, cap;
	int rc;

	if (n == 0)
		return 0;
	s.abs = calloc(n, sizeof(*s.abs));
	s.got = calloc(n, sizeof(*s.got));
	if (s.abs == NULL || s.got == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	for (i = 0; i < n; i++) {
		v[i].rc = sb_abs(sb, v[i].path, s.abs[i], sizeof(s.abs[i]));
		v[i].data = NULL;
		if (v[i].rc == 0) {
			v[i].data = malloc(v[i].want + 1); /* and a byte past */
			if (v[i].data == NULL)
				v[i].rc = -ENOMEM;
		}
	}
	rc = sb_get(sb, &sc);
	if (rc < 0)
		goto out;
	s.c = sc->c;
	/* OPEN, READs and CLOSE of every file at once, at most */
	chunk = sftp_conn_max_read(s.c);
	cap = 0;
	for (i = 0; i < n; i++) /* OPEN, CLOSE, READs of want + 1 bytes */
		cap += 2 + (size_t)(v[i].want / chunk) + 1;
	rc = sb_fifo_init(&s.q, cap);
	if (rc == 0)
		rc = fetch_on(&s, n);
	sb_fifo_settle(&s.q, sb, s.c, rc, "reading ahead");
	sb_put(sb, sc);
	sb_fifo_free(&s.q);
out:
	for (i = 0; i < n; i++) {
		if (rc < 0 && v[i].rc == 0)
			v[i].rc = rc;
		if (v[i].rc == 0 && s.got != NULL && s.got[i] != v[i].want)
			v[i].rc = -ESTALE;
		if (v[i].rc < 0) {
			free(v[i].data);
			v[i].data = NULL;
		}
	}
	free(s.abs);
	free(s.got);
	return rc == -EAGAIN ? rc : 0;
}
