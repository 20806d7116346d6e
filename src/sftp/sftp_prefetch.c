/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * sftp_prefetch: parallel read-ahead for one sequential reader of a large
 * file (contract in include/sftp_be.h).
 *
 * libssh2 1.10 decrypts in 16-byte calls, ~3 CPU-s/GiB, so one session
 * in the reader's thread tops out near one core, with decryption, parsing
 * and FUSE's copies one after the other.  Here worker
 * threads, each with a pooled session and a handle of its own, fetch
 * slots of PF_SLOT bytes ahead of the reader; FUSE threads only copy out.
 * The server runs one process per session, so its side spreads over the
 * cores too (measured: two sessions +14-31 % on two cores).
 *
 * Slots cover [lowest slot, pf->next) contiguously.  A slot is
 *   FREE    unused;
 *   QUEUED  to fetch (off, len set), taken by the first idle worker;
 *   BUSY    its worker's READs are in flight; only that worker writes
 *           data, got, eof and err, and nobody reads them;
 *   DONE    filled (or failed: err); data is read-only until recycled.
 * The reader recycles DONE slots it has left PF_BEHIND behind (and that
 * no FUSE thread is copying from) to the next offset: that, and the
 * workers' idle exit, is the only flow control.
 *
 * Lock order: the file's lock (sftp_file.c), then pf->lock; workers take
 * pf->lock only, never while waiting on the network.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "net.h"
#include "sftp_be.h"

#define PF_SLOT (1024 * 1024)
#define PF_SLOTS 10 /* ~8 MiB ahead of the reader, as the ring (RA_MAX) */
/* Slots one worker has in flight: 2 x 1 MiB keeps 16 READs of 128 KiB
   outstanding on its session (8-32 per stream). */
#define PF_PER_WORKER 2
/* READs one worker may have outstanding (slots x chunks, small max_read) */
#define PF_REQS 512
/* Left behind the furthest read for the kernel's out-of-order reads. */
#define PF_BEHIND (2 * PF_SLOT) /* as KEEP_BEHIND in sftp_file.c */
/* A worker with nothing to fetch this long gives its session back. */
#define PF_IDLE_MS 2000
/* Sessions left in the pool for everything else (metadata, writes). */
#define PF_SPARE 1

enum pf_state { PF_FREE, PF_QUEUED, PF_BUSY, PF_DONE };

struct pf_slot {
	enum pf_state state;
	uint64_t off;
	uint32_t len; /* asked for */
	uint32_t got; /* DONE: valid bytes from off */
	uint32_t pending; /* BUSY: its READs in flight (worker only) */
	uint64_t eof_at; /* BUSY: lowest EOF seen; UINT64_MAX none */
	bool eof; /* DONE: the file ends at off + got */
	int err; /* DONE: the fetch failed (-errno) */
	unsigned readers; /* FUSE threads copying out of data */
	char *data;
};

struct pf_worker {
	struct sb_prefetch *pf;
	pthread_t tid;
	bool started; /* tid is joinable */
	bool done; /* protected by pf->lock: the thread has ended */
};

struct sb_prefetch {
	pthread_mutex_t lock;
	pthread_cond_t cond; /* slot done, slot queued, worker ended, stop */
	struct sftp_be *sb;
	char *abs;
	uint64_t end; /* nothing is queued from here on */
	/* the fields below: protected by lock */
	struct pf_slot slot[PF_SLOTS];
	uint64_t next; /* offset of the next slot to queue */
	uint64_t hi; /* furthest byte read + 1 */
	unsigned live; /* workers running */
	bool stop;
	bool no_session; /* a worker found no session to spare */
	struct pf_worker w[SB_PF_WORKERS];
};

static int64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* pf->cond runs on CLOCK_MONOTONIC (sb_pf_start). */
static void
abs_deadline(struct timespec *ts, int ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (long)(ms % 1000) * 1000000;
	if (ts->tv_nsec >= 1000000000) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000;
	}
}

/* Queue free slots from pf->next on, up to pf->end (lock held). */
static void
pf_fill(struct sb_prefetch *pf)
{
	unsigned i;

	for (i = 0; i < PF_SLOTS && pf->next < pf->end; i++) {
		struct pf_slot *s = &pf->slot[i];

		if (s->state != PF_FREE)
			continue;
		s->state = PF_QUEUED;
		s->off = pf->next;
		s->len = pf->end - pf->next < PF_SLOT
		    ? (uint32_t)(pf->end - pf->next)
		    : PF_SLOT;
		s->got = 0;
		s->eof = false;
		s->err = 0;
		pf->next += s->len;
	}
}

/* The lowest QUEUED slot, or NULL (lock held). */
static struct pf_slot *
pf_queued(struct sb_prefetch *pf)
{
	struct pf_slot *best = NULL;
	unsigned i;

	for (i = 0; i < PF_SLOTS; i++)
		if (pf->slot[i].state == PF_QUEUED &&
		    (best == NULL || pf->slot[i].off < best->off))
			best = &pf->slot[i];
	return best;
}

/* ---- workers ------------------------------------------------------------ */

struct pf_req {
	uint32_t id;
	uint64_t off;
	uint32_t len;
	struct pf_slot *s;
};

struct pf_run {
	struct sb_prefetch *pf;
	struct sftp_conn *c;
	struct sftp_handle h;
	struct pf_req q[PF_REQS]; /* FIFO: replies come in request order */
	unsigned head, count;
	struct pf_slot *mine[PF_PER_WORKER];
	unsigned nmine;
};

static int
pf_send(struct pf_run *r, struct pf_slot *s, uint64_t off, uint32_t len)
{
	struct pf_req *q = &r->q[(r->head + r->count) % PF_REQS];
	int rc;

	q->id = sftp_conn_id(r->c);
	q->off = off;
	q->len = len;
	q->s = s;
	rc = sftp_enc_read(sftp_conn_out(r->c), q->id, &r->h, off, len);
	if (rc < 0) {
		sftp_conn_unqueue(r->c);
		return rc;
	}
	r->count++;
	s->pending++;
	return 0;
}

/* Claimed slot s (BUSY): its READs into out. */
static int
pf_request(struct pf_run *r, struct pf_slot *s)
{
	uint32_t chunk = sftp_conn_max_read(r->c), len, done = 0;
	int rc;

	s->pending = 0;
	s->eof_at = UINT64_MAX;
	while (done < s->len) {
		len = s->len - done < chunk ? s->len - done : chunk;
		rc = pf_send(r, s, s->off + done, len);
		if (rc < 0)
			return rc;
		done += len;
	}
	return 0;
}

static void
pf_finish(struct pf_run *r, struct pf_slot *s, int err)
{
	struct sb_prefetch *pf = r->pf;
	unsigned i;

	pthread_mutex_lock(&pf->lock);
	s->err = err;
	if (err == 0 && s->eof_at != UINT64_MAX) {
		s->eof = true;
		s->got =
		    s->eof_at > s->off ? (uint32_t)(s->eof_at - s->off) : 0;
	} else {
		s->got = err == 0 ? s->len : 0;
	}
	s->state = PF_DONE;
	pthread_cond_broadcast(&pf->cond);
	pthread_mutex_unlock(&pf->lock);
	for (i = 0; i < r->nmine; i++)
		if (r->mine[i] == s) {
			r->mine[i] = r->mine[--r->nmine];
			break;
		}
}

/*
 * The reply to the oldest READ: data into its slot.  A short DATA (a
 * server that caps READs, or the end of the file) asks again for the rest;
 * EOF marks where the file ends.  0, or -errno for the session.
 */
static int
pf_recv(struct pf_run *r)
{
	struct pf_req q = r->q[r->head];
	struct sftp_reply rep;
	struct pf_slot *s = q.s;
	char *dst = s->data + (q.off - s->off);
	int rc;

	/* DATA straight into the slot (no copy through the session's
	   buffer: ~5 % of a worker's samples). */
	rc = sftp_conn_recv_data(r->c, q.id, dst, q.len, &rep, r->pf->sb->tmo);
	if (rc < 0)
		return rc;
	r->head = (r->head + 1) % PF_REQS;
	r->count--;
	s->pending--;
	if (rep.type == SSH_FXP_DATA && rep.u.data.len > 0 &&
	    rep.u.data.len <= q.len) {
		if (rep.u.data.p != (const uint8_t *)dst)
			memcpy(dst, rep.u.data.p, rep.u.data.len);
		if (rep.u.data.len < q.len && s->err == 0) {
			rc = pf_send(r, s, q.off + rep.u.data.len,
			    q.len - rep.u.data.len);
			if (rc < 0)
				return rc;
		}
	} else if (rep.type == SSH_FXP_STATUS &&
	    rep.u.status.code == SSH_FX_EOF) {
		if (q.off < s->eof_at)
			s->eof_at = q.off;
	} else if (s->err == 0) {
		s->err = sb_reply_errno(&rep, "READ", r->pf->abs);
		if (s->err == 0)
			s->err = -EPROTO;
	}
	if (s->pending == 0)
		pf_finish(r, s, s->err);
	return 0;
}

static int
pf_open(struct pf_run *r)
{
	struct sftp_attrs at = { 0 };
	struct sftp_reply rep;
	uint32_t id = sftp_conn_id(r->c);
	int rc;

	rc = sftp_enc_open(
	    sftp_conn_out(r->c), id, r->pf->abs, SSH_FXF_READ, &at);
	if (rc < 0) {
		sftp_conn_unqueue(r->c);
		return rc;
	}
	rc = sftp_conn_wait(r->c, id, &rep, r->pf->sb->tmo);
	if (rc < 0)
		return rc;
	if (rep.type == SSH_FXP_HANDLE) {
		r->h = rep.u.handle;
		return 0;
	}
	rc = sb_reply_errno(&rep, "OPEN", r->pf->abs);
	return rc < 0 ? rc : -EPROTO;
}

/* CLOSE the worker's handle (its session is drained). */
static void
pf_close(struct pf_run *r, struct sftp_conn *c)
{
	uint32_t id = sftp_conn_id(c);

	if (sftp_enc_handle(sftp_conn_out(c), SSH_FXP_CLOSE, id, &r->h) < 0) {
		sftp_conn_unqueue(c);
		return;
	}
	(void)sftp_conn_forget(c, id, r->pf->sb->tmo);
}

/* Claim queued slots while this worker has room (lock held). */
static unsigned
pf_claim(struct pf_run *r, struct pf_slot **out)
{
	struct sb_prefetch *pf = r->pf;
	unsigned chunks = PF_SLOT / sftp_conn_max_read(r->c) + 2, n = 0;
	struct pf_slot *s;

	while (!pf->stop && r->nmine < PF_PER_WORKER &&
	    r->count + (n + 1) * chunks <= PF_REQS &&
	    (s = pf_queued(pf)) != NULL) {
		s->state = PF_BUSY;
		r->mine[r->nmine++] = s;
		out[n++] = s;
	}
	return n;
}

static void *
pf_worker(void *arg)
{
	struct pf_worker *w = arg;
	struct sb_prefetch *pf = w->pf;
	struct pf_run *r;
	struct pf_slot *fresh[PF_PER_WORKER];
	struct sb_conn *sc = NULL;
	bool opened = false;
	int64_t idle_since = mono_ms();
	unsigned i, n;
	int rc;

	r = calloc(1, sizeof(*r));
	rc = r == NULL ? -ENOMEM : sb_try_get(pf->sb, PF_SPARE, &sc);
	if (rc < 0) {
		pthread_mutex_lock(&pf->lock);
		pf->no_session = true;
		pthread_mutex_unlock(&pf->lock);
		goto out;
	}
	r->pf = pf;
	r->c = sc->c;
	rc = pf_open(r);
	if (rc < 0)
		goto out;
	opened = true;
	for (;;) {
		pthread_mutex_lock(&pf->lock);
		n = pf_claim(r, fresh);
		if (n == 0 && r->count == 0) {
			struct timespec ts;

			if (pf->stop || mono_ms() - idle_since >= PF_IDLE_MS) {
				pthread_mutex_unlock(&pf->lock);
				break;
			}
			abs_deadline(&ts, PF_IDLE_MS / 4);
			pthread_cond_timedwait(&pf->cond, &pf->lock, &ts);
			pthread_mutex_unlock(&pf->lock);
			continue;
		}
		pthread_mutex_unlock(&pf->lock);
		idle_since = mono_ms();
		for (i = 0; i < n; i++) {
			rc = pf_request(r, fresh[i]);
			if (rc < 0)
				goto out;
		}
		if (r->count > 0) {
			rc = pf_recv(r);
			if (rc < 0)
				goto out;
		}
	}
	rc = 0;
out:
	if (rc < 0 && rc != -EAGAIN)
		log_debug("%s: read-ahead session: %s", pf->abs, strerror(-rc));
	/* Slots it could not fill fail; the reader then reads them itself. */
	while (r != NULL && r->nmine > 0)
		pf_finish(r, r->mine[0], rc < 0 ? rc : -EIO);
	if (sc != NULL) {
		if (opened && sftp_conn_drain(sc->c, pf->sb->tmo) == 0)
			pf_close(r, sc->c);
		sb_put(pf->sb, sc);
	}
	free(r);
	pthread_mutex_lock(&pf->lock);
	pf->live--;
	w->done = true;
	pthread_cond_broadcast(&pf->cond);
	pthread_mutex_unlock(&pf->lock);
	return NULL;
}

/*
 * Start workers while slots wait and fewer than SB_PF_WORKERS run (lock
 * held); after one found no session to spare, only when none runs.
 * Ended ones are joined first (quick: they have returned).
 */
static void
pf_spawn(struct sb_prefetch *pf)
{
	unsigned i;

	if (pf->stop || (pf->no_session && pf->live > 0) ||
	    pf_queued(pf) == NULL)
		return;
	for (i = 0; i < SB_PF_WORKERS; i++) {
		struct pf_worker *w = &pf->w[i];

		if (w->started && !w->done)
			continue;
		if (w->started) {
			pthread_join(w->tid, NULL);
			w->started = false;
		}
		w->pf = pf;
		w->done = false;
		if (pthread_create(&w->tid, NULL, pf_worker, w) != 0)
			break;
		w->started = true;
		pf->live++;
	}
}

/* ---- the reader's side -------------------------------------------------- */

static void
pf_free(struct sb_prefetch *pf)
{
	unsigned i;

	for (i = 0; i < PF_SLOTS; i++)
		free(pf->slot[i].data);
	free(pf->abs);
	free(pf);
}

int
sb_pf_start(struct sftp_be *sb, const char *abs, uint64_t off, uint64_t end,
    struct sb_prefetch **out)
{
	struct sb_prefetch *pf;
	pthread_condattr_t ca;
	unsigned i;

	*out = NULL;
	pf = calloc(1, sizeof(*pf));
	if (pf == NULL)
		return -ENOMEM;
	pf->abs = strdup(abs);
	/* Slot by slot: below M_MMAP_THRESHOLD (main.c), so the heap's
	   pages are used again instead of faulting fresh ones in per file. */
	for (i = 0; i < PF_SLOTS && pf->abs != NULL; i++) {
		pf->slot[i].data = malloc(PF_SLOT);
		if (pf->slot[i].data == NULL)
			break;
	}
	if (pf->abs == NULL || i < PF_SLOTS) {
		pf_free(pf);
		return -ENOMEM;
	}
	pthread_mutex_init(&pf->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&pf->cond, &ca);
	pthread_condattr_destroy(&ca);
	pf->sb = sb;
	pf->next = pf->hi = off;
	pf->end = end;
	pthread_mutex_lock(&pf->lock);
	pf_fill(pf);
	pf_spawn(pf);
	pthread_mutex_unlock(&pf->lock);
	*out = pf;
	return 0;
}

/* Recycle the slots the reader has left behind (lock held). */
static void
pf_recycle(struct sb_prefetch *pf)
{
	unsigned i;

	for (i = 0; i < PF_SLOTS; i++) {
		struct pf_slot *s = &pf->slot[i];

		if (s->state == PF_DONE && s->readers == 0 &&
		    s->off + s->len + PF_BEHIND <= pf->hi)
			s->state = PF_FREE;
	}
	pf_fill(pf);
	pthread_cond_broadcast(&pf->cond);
	pf_spawn(pf);
}

ssize_t
sb_pf_read(struct sb_prefetch *pf, char *buf, size_t size, uint64_t off)
{
	struct pf_slot *s = NULL;
	struct timespec ts;
	bool waited = false, spawned = false;
	size_t n;
	unsigned i;

	pthread_mutex_lock(&pf->lock);
	for (;;) {
		s = NULL;
		for (i = 0; i < PF_SLOTS; i++)
			if (pf->slot[i].state != PF_FREE &&
			    off >= pf->slot[i].off &&
			    off < pf->slot[i].off + pf->slot[i].len)
				s = &pf->slot[i];
		if (s == NULL)
			goto miss; /* out of the window */
		if (s->state == PF_DONE)
			break;
		if (s->state == PF_QUEUED && pf->live == 0) {
			if (spawned)
				goto miss; /* no session to spare */
			spawned = true;
			pf->no_session = false;
			pf_spawn(pf);
			if (pf->live == 0)
				goto miss;
		}
		if (waited)
			goto miss; /* a worker that hangs: ask ourselves */
		/* Each of the worker's steps has a deadline of tmo, a new
		   session the connect timeout: both fit; the request's own
		   deadline (-o timeout) comes first. */
		abs_deadline(&ts,
		    net_op_clamp(
		        pf->sb->tmo * 2 + pf->sb->cfg.conn.connect_timeout_ms));
		while (s->state != PF_DONE &&
		    !(s->state == PF_QUEUED && pf->live == 0))
			if (pthread_cond_timedwait(&pf->cond, &pf->lock, &ts) ==
			    ETIMEDOUT) {
				waited = true;
				break;
			}
	}
	if (s->err < 0 || off >= s->off + s->got)
		goto miss; /* failed, or at EOF: the caller asks the server */
	n = s->off + s->got - off < size ? (size_t)(s->off + s->got - off)
	                                 : size;
	s->readers++;
	pthread_mutex_unlock(&pf->lock);
	memcpy(buf, s->data + (off - s->off), n);
	pthread_mutex_lock(&pf->lock);
	s->readers--;
	if (off + n > pf->hi)
		pf->hi = off + n;
	pf_recycle(pf);
	pthread_mutex_unlock(&pf->lock);
	return (ssize_t)n;
miss:
	pthread_mutex_unlock(&pf->lock);
	return -EAGAIN;
}

void
sb_pf_stop(struct sb_prefetch *pf)
{
	unsigned i;

	if (pf == NULL)
		return;
	pthread_mutex_lock(&pf->lock);
	pf->stop = true;
	pthread_cond_broadcast(&pf->cond);
	pthread_mutex_unlock(&pf->lock);
	/* Each worker finishes the READs it has in flight (deadlines). */
	for (i = 0; i < SB_PF_WORKERS; i++)
		if (pf->w[i].started)
			pthread_join(pf->w[i].tid, NULL);
	pthread_cond_destroy(&pf->cond);
	pthread_mutex_destroy(&pf->lock);
	pf_free(pf);
}
