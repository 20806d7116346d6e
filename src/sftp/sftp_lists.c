/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * sftp_lists: several directories listed at once over one session
 * (backend_ops.list_many, for walk.c).  A listing costs OPENDIR, READDIRs
 * and CLOSE: two round trips for a folder of a few hundred names.  One
 * folder after another that is two round trips a folder (and, for a walk
 * listed ahead in parallel, a session each); sent together it is about two
 * for all of them on one session: every OPENDIR goes out at once, each
 * folder's READDIRs as soon as its handle is back, and its CLOSE once the
 * last of them is answered.
 *
 * READDIRs go in batches (as do_list in sftp_backend.c): a batch of
 * LIST_BATCH, another twice as large while the replies come without the
 * folder's end.  The requests in flight are an sb_fifo (sftp_be.h).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "net.h"
#include "sftp_be.h"

#define LIST_BATCH 4
#define LIST_BATCH_MAX 32

enum lq_kind { LQ_OPENDIR, LQ_STATVFS, LQ_READDIR, LQ_CLOSE };

/* One folder's listing under way. */
struct ldir {
	struct sftp_handle h;
	unsigned inflight; /* READDIRs sent, not answered */
	unsigned batch; /* size of its next batch */
	bool done; /* its end (or an error) seen */
};

struct list_state {
	struct sftp_be *sb;
	struct sftp_conn *c;
	char (*abs)[SFTP_PATH_MAX];
	struct backend_dirlist *out;
	int *rc;
	struct ldir *d;
	struct sb_fifo q; /* requests in flight */
	unsigned svfs_gen; /* sb_svfs_gen before the first request */
	int64_t t_ms; /* ... and when */
};

/* Queue one request; on failure nothing is left counted in flight. */
static int
send_req(struct list_state *s, enum lq_kind kind, size_t item)
{
	uint32_t id = sftp_conn_id(s->c);
	int rc;

	if (kind == LQ_OPENDIR)
		rc = sftp_enc_path(
		    sftp_conn_out(s->c), SSH_FXP_OPENDIR, id, s->abs[item]);
	else if (kind == LQ_STATVFS)
		rc = sftp_enc_statvfs(sftp_conn_out(s->c), id, s->abs[item]);
	else
		rc = sftp_enc_handle(sftp_conn_out(s->c),
		    kind == LQ_READDIR ? SSH_FXP_READDIR : SSH_FXP_CLOSE, id,
		    &s->d[item].h);
	return sb_fifo_push(&s->q, s->c, rc, id, kind, item, 0, 0);
}

/* Folder i's next step once nothing of it is in flight: more, or CLOSE. */
static int
next_step(struct list_state *s, size_t i)
{
	struct ldir *d = &s->d[i];
	unsigned k;
	int rc;

	if (d->inflight > 0)
		return 0;
	if (d->done)
		return send_req(s, LQ_CLOSE, i);
	for (k = 0; k < d->batch; k++) {
		rc = send_req(s, LQ_READDIR, i);
		if (rc < 0)
			return rc;
		d->inflight++;
	}
	if (d->batch < LIST_BATCH_MAX)
		d->batch *= 2;
	return 0;
}

/* A READDIR's reply for folder i (r: NAME, or STATUS). */
static void
take_names(struct list_state *s, size_t i, struct sftp_reply *r)
{
	struct ldir *d = &s->d[i];
	struct sftp_name_ent e;
	struct backend_attr at;
	size_t pos = 0;

	if (d->done)
		return; /* a READDIR past the end */
	if (r->type == SSH_FXP_STATUS && r->u.status.code == SSH_FX_EOF) {
		d->done = true;
		return;
	}
	if (r->type != SSH_FXP_NAME) {
		s->rc[i] = sb_reply_errno(r, "READDIR", s->abs[i]);
		if (s->rc[i] == 0)
			s->rc[i] = -EPROTO;
		d->done = true;
		return;
	}
	while (sftp_name_next(r, &pos, &e)) {
		if (!sftp_name_listable(&e.filename))
			continue;
		sb_attr(&e.attrs, &at);
		s->rc[i] = backend_dirlist_add(
		    &s->out[i], e.filename.p, e.filename.len, NULL, &at);
		if (s->rc[i] < 0) {
			d->done = true;
			return;
		}
	}
}

/* The reply to the oldest request in flight. */
static int
take_reply(struct list_state *s)
{
	struct sb_req e = sb_fifo_oldest(&s->q);
	struct ldir *d = &s->d[e.item];
	struct sftp_reply r;
	int rc;

	rc = sftp_conn_wait(s->c, e.id, &r, s->sb->tmo);
	if (rc < 0)
		return rc;
	sb_fifo_pop(&s->q);
	switch (e.kind) {
	case LQ_OPENDIR:
		if (r.type == SSH_FXP_HANDLE) {
			d->h = r.u.handle;
			return next_step(s, e.item);
		}
		s->rc[e.item] = sb_reply_errno(&r, "OPENDIR", s->abs[e.item]);
		if (s->rc[e.item] == 0)
			s->rc[e.item] = -EPROTO;
		return 0;
	case LQ_STATVFS:
		sb_svfs_take(s->sb, s->abs[e.item], &r, s->svfs_gen, s->t_ms);
		return 0;
	case LQ_READDIR:
		d->inflight--;
		take_names(s, e.item, &r);
		return next_step(s, e.item);
	case LQ_CLOSE:
		if (r.type == SSH_FXP_STATUS && r.u.status.code != SSH_FX_OK)
			log_debug("%s: CLOSE after listing ahead: %s",
			    s->abs[e.item], sftp_status_name(r.u.status.code));
		return 0;
	}
	return -EPROTO;
}

int
sb_list_many(struct backend *b, const char *const *paths, size_t n,
    struct backend_dirlist *out, int *rcv)
{
	struct sftp_be *sb = b->priv;
	struct list_state s = { .sb = sb, .out = out, .rc = rcv };
	struct sb_conn *sc;
	size_t i;
	int rc;

	if (n == 0)
		return 0;
	s.abs = calloc(n, sizeof(*s.abs));
	s.d = calloc(n, sizeof(*s.d));
	/* per folder at most: OPENDIR or a batch of READDIRs, or CLOSE */
	rc = sb_fifo_init(&s.q, n * LIST_BATCH_MAX);
	if (s.abs == NULL || s.d == NULL || rc < 0) {
		rc = -ENOMEM;
		goto out;
	}
	for (i = 0; i < n; i++) {
		rcv[i] = sb_abs(sb, paths[i], s.abs[i], sizeof(s.abs[i]));
		s.d[i].batch = LIST_BATCH;
	}
	rc = sb_get(sb, &sc);
	if (rc < 0)
		goto out;
	s.c = sc->c;
	s.svfs_gen = sb_svfs_gen(sb);
	s.t_ms = net_now_ms();
	/* each folder's statvfs along with its OPENDIR (sftp_statvfs.c) */
	for (i = 0; i < n && rc == 0; i++)
		if (rcv[i] == 0) {
			rc = send_req(&s, LQ_OPENDIR, i);
			if (rc == 0 && sftp_conn_has_ext(s.c, SFTP_EXT_STATVFS))
				rc = send_req(&s, LQ_STATVFS, i);
		}
	while (rc == 0 && s.q.count > 0)
		rc = take_reply(&s);
	sb_fifo_settle(&s.q, sb, s.c, rc, "listing ahead");
	sb_put(sb, sc);
out:
	for (i = 0; i < n; i++) {
		/* (a folder whose end came is whole, CLOSE answered or not) */
		if (rc < 0 && rcv[i] == 0 && (s.d == NULL || !s.d[i].done))
			rcv[i] = rc;
		if (rcv[i] < 0)
			backend_dirlist_free(&out[i]);
	}
	free(s.abs);
	free(s.d);
	sb_fifo_free(&s.q);
	return rc == -EAGAIN ? rc : 0;
}
