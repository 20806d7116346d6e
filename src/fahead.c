/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fahead: small files read ahead of a process that reads a directory's
 * files one after another.  Contract in fahead.h.
 *
 * Lock order: a->lock only; nothing calls into the backend with it held.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "fahead.h"
#include "log.h"
#include "net.h"
#include "pool.h"

#define FA_DIRS 8 /* directories whose order is remembered */
#define FA_STREAMS 32 /* readers followed (one per process) */
#define FA_DIR_FILES_MAX 100000 /* bigger directories are not followed */
#define FA_WAIT_SLICE_MS 100 /* a wait for a fetch looks for Ctrl-C */
#define FA_RETRY_MS 20 /* no connection to spare: the next try */
#define FA_RETRIES 100 /* ... of a listing, in a row, before it is dropped */
#define FA_SEEN 8 /* directories read from without a listing */
#define FA_SEEN_MS 10000 /* a second file this soon: ask for the order */
#define FA_WGEN_SLOTS 64 /* fahead_written's counters */
/* files fetched together where the backend can (->fetch_many: SFTP) */
#define FA_BATCH 16
/* a reader fetching its own file takes along queued ones up to this much */
#define FA_ALONG_BYTES (1024 * 1024)
/* files in one ->fetch_many of the pump: those readers wait for, then
   queued ones (FA_ALONG_BYTES at a time), added while it goes on */
#define FA_PUMP_BATCH 1024
#define FA_PUMP_FILL 128 /* ... added at a time */
#define FA_SERVED_MAX 4096 /* FA_SERVED marks kept (the oldest go) */
/* ... and for this long: parallel readers pass one another within it; a
   later pass over the folder (its pages dropped) is read ahead again */
#define FA_SERVED_MS 3000

struct fa_file {
	char *name;
	uint64_t size;
	struct timespec mtime;
	bool has_mtime;
};

struct fa_dir {
	char *path; /* NULL: free */
	struct fa_file *files; /* regular files, in the listing's order */
	size_t n;
	size_t *by_name; /* indices into files, sorted by name */
	size_t *name_pos; /* position of files[i] in by_name */
	/* the last file any process opened here (a shell loop of cats) */
	bool has_last;
	size_t last_l, last_s;
};

/* A directory with files opened but no order known yet (not listed). */
struct fa_seen {
	char *dir; /* NULL: free */
	char *name; /* the last file opened there */
	uint64_t t_ms;
};

struct fa_stream {
	pid_t pid; /* 0: free */
	struct fa_dir *dir;
	size_t last_l, last_s; /* positions of its last file */
	unsigned depth; /* files queued ahead of it: grows while it goes on */
	uint64_t t_ms;
};

/* FA_SERVED: no data, a mark that path was given to a reader (or read
   whole by one) not long ago: not queued again for another reader that
   passes it (readers of one folder overlap; each would fetch it again). */
enum fa_state { FA_QUEUED, FA_LOADING, FA_READY, FA_SERVED };

struct fahead_buf {
	struct fahead_buf *next;
	char *path;
	uint64_t size; /* as listed: the fetch must find exactly this */
	struct timespec mtime;
	bool has_mtime;
	enum fa_state state;
	bool listed; /* in a->bufs (else freed with the last ref) */
	bool stale; /* forgotten while loading: dropped when done */
	unsigned refs;
	/* readers waiting for it in fahead_fetch_now (each holds a ref):
	   it goes in the next flight, not to the workers */
	unsigned waiters;
	char *data;
	size_t len;
	uint64_t t_ms; /* ready since */
	unsigned wgen; /* a->wgen[slot of path] when it was queued */
};

struct fahead {
	struct backend *be;
	int op_timeout_ms;
	int ttl_ms;
	unsigned workers;
	pthread_mutex_t lock;
	pthread_cond_t work; /* a fetch queued, or stop */
	pthread_cond_t done; /* a fetch ended */
	struct fa_dir dirs[FA_DIRS];
	size_t dnext;
	struct fa_stream streams[FA_STREAMS];
	struct fa_seen seen[FA_SEEN];
	size_t snext;
	char *lists[FA_SEEN]; /* directories to list for their order */
	size_t nlists;
	struct fahead_buf *bufs; /* oldest first */
	size_t mem; /* bytes of bufs, queued ones counted at their size */
	pthread_t threads[FAHEAD_WORKERS_MAX];
	unsigned nthreads;
	bool stop;
	size_t nserved; /* FA_SERVED marks in bufs */
	/* the pump: one thread fetching what readers wait for (and queued
	   files along) on one session, back to back (fahead_fetch_now) */
	pthread_t pump;
	bool has_pump;
	pthread_cond_t wanted; /* a reader waits for a file, or stop */
	unsigned long hits, fetched;
	/* bumped by fahead_written, per slot of a path's hash */
	atomic_uint wgen[FA_WGEN_SLOTS];
};

static void *fahead_worker_fn(void *arg);

static atomic_uint *
wgen_of(struct fahead *a, const char *path)
{
	uint32_t h = 2166136261u; /* FNV-1a */

	for (; *path != '\0'; path++)
		h = (h ^ (uint8_t)*path) * 16777619u;
	return &a->wgen[h % FA_WGEN_SLOTS];
}

/* The CLOCK_MONOTONIC time ms from now, for a->work's and a->done's
   waits. */
static struct timespec
mono_in(uint64_t ms)
{
	uint64_t t = (uint64_t)net_now_ms() + ms;
	struct timespec ts = { (time_t)(t / 1000), (long)(t % 1000) * 1000000 };

	return ts;
}

static void
sleep_ms(int ms)
{
	struct timespec ts = { 0, (long)ms * 1000000 };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}
/* --- buffers (lock held) ------------------------------------------------- */

static void
buf_free(struct fahead_buf *b)
{
	free(b->path);
	free(b->data);
	free(b);
}

static struct fahead_buf *
buf_find(struct fahead *a, const char *path)
{
	struct fahead_buf *b;

	for (b = a->bufs; b != NULL; b = b->next)
		if (!b->stale && strcmp(b->path, path) == 0)
			return b;
	return NULL;
}

/* Take b off the list; freed now or by its last holder. */
static void
buf_unlist(struct fahead *a, struct fahead_buf *b)
{
	struct fahead_buf **pp = &a->bufs;

	while (*pp != b)
		pp = &(*pp)->next;
	*pp = b->next;
	b->listed = false;
	a->mem -= b->size;
	if (b->state == FA_SERVED)
		a->nserved--;
	if (b->refs == 0)
		buf_free(b);
}

/* Put b last in a->bufs (the newest). */
static void
buf_append(struct fahead *a, struct fahead_buf *b)
{
	struct fahead_buf **pp;

	for (pp = &a->bufs; *pp != NULL; pp = &(*pp)->next)
		;
	*pp = b;
	b->listed = true;
}

static bool
buf_expired(const struct fahead *a, const struct fahead_buf *b, uint64_t now)
{
	if (b->state == FA_SERVED)
		return now - b->t_ms > FA_SERVED_MS;
	return b->state == FA_READY && now - b->t_ms > (uint64_t)a->ttl_ms;
}

/* Mark path as given to a reader just now (FA_SERVED). */
static void
buf_mark_served(struct fahead *a, const char *path)
{
	struct fahead_buf *b;

	if (a->nserved >= FA_SERVED_MAX)
		for (b = a->bufs; b != NULL; b = b->next)
			if (b->state == FA_SERVED) {
				buf_unlist(a, b);
				break;
			}
	b = calloc(1, sizeof(*b));
	if (b == NULL || (b->path = strdup(path)) == NULL) {
		free(b);
		return;
	}
	b->state = FA_SERVED;
	b->t_ms = (uint64_t)net_now_ms();
	buf_append(a, b);
	a->nserved++;
}

/* Room for n more bytes: drop expired, then the oldest idle ready ones. */
static bool
buf_room(struct fahead *a, uint64_t n)
{
	struct fahead_buf *b, *next;
	uint64_t now = (uint64_t)net_now_ms();

	for (b = a->bufs; b != NULL; b = next) {
		next = b->next;
		if (buf_expired(a, b, now))
			buf_unlist(a, b);
	}
	for (b = a->bufs; b != NULL && a->mem + n > FAHEAD_MEM_MAX; b = next) {
		next = b->next;
		if (b->state == FA_READY && b->refs == 0)
			buf_unlist(a, b);
	}
	return a->mem + n <= FAHEAD_MEM_MAX;
}

/* The workers start with the first reader seen going on.  Lock held. */
static void
fahead_start_workers(struct fahead *a)
{
	while (a->nthreads < a->workers &&
	    pthread_create(
	        &a->threads[a->nthreads], NULL, fahead_worker_fn, a) == 0)
		a->nthreads++;
}

static void
buf_queue(struct fahead *a, const char *dir, const struct fa_file *ff)
{
	struct fahead_buf *b;
	bool root = strcmp(dir, "/") == 0;
	size_t n;

	if (ff->size > FAHEAD_FILE_MAX || !buf_room(a, ff->size))
		return;
	b = calloc(1, sizeof(*b));
	if (b == NULL)
		return;
	n = strlen(dir) + strlen(ff->name) + 2;
	b->path = malloc(n);
	if (b->path == NULL) {
		free(b);
		return;
	}
	snprintf(b->path, n, "%s/%s", root ? "" : dir, ff->name);
	if (buf_find(a, b->path) != NULL) {
		buf_free(b);
		return;
	}
	b->size = ff->size;
	b->mtime = ff->mtime;
	b->has_mtime = ff->has_mtime;
	b->wgen = atomic_load(wgen_of(a, b->path));
	b->state = FA_QUEUED;
	buf_append(a, b);
	a->mem += b->size;
	fahead_start_workers(a);
	pthread_cond_signal(&a->work);
}

/* --- the workers -----------------------------------------------------------
 */

/* path's content, exactly want bytes, into *out (0 or -errno). */
static int
fetch_whole(
    struct fahead *a, const char *path, uint64_t want, char **out, size_t *len)
{
	struct backend *be = a->be;
	struct backend_file *bf;
	size_t cap = (size_t)want + 1, got = 0;
	/*
	 * Where reads are requests at offsets (BCAP_PWRITE: SFTP), the file
	 * is read as far as listed and no further: asking past it to see
	 * the end costs a round trip, and a reader is shown that much anyway
	 * (the kernel cuts reads at the size it was told).  A stream (FTP)
	 * is read to its end, which costs nothing more and catches growth.
	 */
	bool exact = (be->caps & BCAP_PWRITE) != 0;
	char *data;
	ssize_t n;
	int rc;

	data = malloc(cap);
	if (data == NULL)
		return -ENOMEM;
	rc = be->ops->open(be, path, BO_READ, 0, (int64_t)want, &bf);
	if (rc < 0) {
		free(data);
		return rc;
	}
	/* (a stream: one byte more than listed, a file that grew is not
	   taken) */
	while (got < cap && !(exact && got == want)) {
		n = be->ops->read(be, bf, data + got,
		    (exact ? (size_t)want : cap) - got, (off_t)got);
		if (n < 0) {
			rc = (int)n;
			break;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	be->ops->release(be, bf);
	if (rc == 0 && got != want)
		rc = -ESTALE; /* changed since it was listed */
	if (rc < 0) {
		free(data);
		return rc;
	}
	*out = data;
	*len = got;
	return 0;
}

/*
 * A fetch of b ended with rc (data: len bytes, ours now).  Lock held.
 * false: no connection was free; b is queued again for a later try.
 */
static bool
fetch_done(
    struct fahead *a, struct fahead_buf *b, int rc, char *data, size_t len)
{
	b->refs--;
	if (rc == -EAGAIN && b->listed && !b->stale) {
		/* no connection to spare now (pool_background): again
		   later, unless a reader takes it over meanwhile (one that
		   waits for it: the pump's) */
		b->state = FA_QUEUED;
		if (b->waiters > 0)
			pthread_cond_signal(&a->wanted);
		return false;
	}
	if (rc == 0 && b->listed && !b->stale) {
		b->data = data;
		b->len = len;
		b->state = FA_READY;
		b->t_ms = (uint64_t)net_now_ms();
		a->fetched++;
		return true;
	}
	if (rc < 0)
		log_debug("%s: reading ahead: %s", b->path, strerror(-rc));
	free(data);
	b->state = FA_READY; /* nothing: len 0, never served */
	b->stale = true;
	if (b->listed)
		buf_unlist(a, b);
	else if (b->refs == 0)
		buf_free(b);
	return true;
}

/*
 * Fetch the n buffers of v (loading, a reference each): together where
 * the backend reads many files at once, else one by one.  Lock not held;
 * it is on return.  false: a fetch found no connection to spare.
 */
static bool
fetch_batch(struct fahead *a, struct fahead_buf **v, size_t n)
{
	struct backend_fetch fv[FA_BATCH];
	struct backend_fetch_batch bt = { .v = fv, .n = n, .cap = FA_BATCH };
	char *data = NULL;
	size_t len = 0, i;
	bool all = true;
	int rc;

	net_op_begin(a->op_timeout_ms, NULL);
	if (a->be->ops->fetch_many == NULL) {
		rc = fetch_whole(a, v[0]->path, v[0]->size, &data, &len);
		net_op_end();
		pthread_mutex_lock(&a->lock);
		return fetch_done(a, v[0], rc, data, len);
	}
	for (i = 0; i < n; i++) {
		fv[i].path = v[i]->path;
		fv[i].want = v[i]->size;
		fv[i].data = NULL;
		fv[i].rc = 0;
	}
	rc = a->be->ops->fetch_many(a->be, &bt);
	net_op_end();
	pthread_mutex_lock(&a->lock);
	for (i = 0; i < n; i++)
		all &= fetch_done(a, v[i], rc < 0 ? rc : fv[i].rc,
		    rc < 0 ? NULL : fv[i].data, (size_t)v[i]->size);
	return all;
}

static void *
fahead_worker_fn(void *arg)
{
	struct fahead *a = arg;
	struct fahead_buf *b, *v[FA_BATCH];
	size_t n, max = a->be->ops->fetch_many != NULL ? FA_BATCH : 1;
	unsigned again = 0; /* listings that found no connection, in a row */
	int rc;

	pool_background(true); /* never the last free connection */
	pthread_mutex_lock(&a->lock);
	while (!a->stop) {
		if (a->nlists > 0) {
			char *dir = a->lists[--a->nlists];
			struct backend_dirlist l = { 0 };

			pthread_mutex_unlock(&a->lock);
			net_op_begin(a->op_timeout_ms, NULL);
			rc = a->be->ops->list(a->be, dir, &l);
			net_op_end();
			if (rc == 0)
				fahead_listed(a, dir, &l);
			backend_dirlist_free(&l);
			if (rc == -EAGAIN && ++again <= FA_RETRIES) {
				/* no connection to spare yet: again */
				sleep_ms(FA_RETRY_MS);
				pthread_mutex_lock(&a->lock);
				if (a->nlists < FA_SEEN)
					a->lists[a->nlists++] = dir;
				else
					free(dir);
				continue;
			}
			if (rc != -EAGAIN)
				again = 0;
			free(dir);
			pthread_mutex_lock(&a->lock);
			continue;
		}
		n = 0;
		for (b = a->bufs; b != NULL && n < max; b = b->next) {
			/* (one a reader waits for goes in its flight) */
			if (b->state != FA_QUEUED || b->waiters > 0)
				continue;
			b->state = FA_LOADING;
			b->refs++; /* ours while loading */
			v[n++] = b;
		}
		if (n == 0) {
			/* idle: what expired meanwhile goes (an idle mount
			   holds no read-ahead memory after ttl) */
			struct timespec ts = mono_in((uint64_t)a->ttl_ms);

			if (pthread_cond_timedwait(&a->work, &a->lock, &ts) ==
			    ETIMEDOUT)
				(void)buf_room(a, 0);
			continue;
		}
		pthread_mutex_unlock(&a->lock);
		if (!fetch_batch(a, v, n)) {
			pthread_cond_broadcast(&a->done);
			pthread_mutex_unlock(&a->lock);
			sleep_ms(FA_RETRY_MS);
			pthread_mutex_lock(&a->lock);
			continue;
		}
		pthread_cond_broadcast(&a->done);
	}
	pthread_mutex_unlock(&a->lock);
	return NULL;
}

/* --- directories and readers (lock held) -----------------------------------
 */

static void
dir_clear(struct fa_dir *d)
{
	size_t i;

	for (i = 0; i < d->n; i++)
		free(d->files[i].name);
	free(d->files);
	free(d->by_name);
	free(d->name_pos);
	free(d->path);
	memset(d, 0, sizeof(*d));
}

static struct fa_dir *
dir_find(struct fahead *a, const char *path)
{
	size_t i;

	for (i = 0; i < FA_DIRS; i++)
		if (a->dirs[i].path != NULL &&
		    strcmp(a->dirs[i].path, path) == 0)
			return &a->dirs[i];
	return NULL;
}

static const struct fa_file *sort_files; /* qsort's context, lock held */

static int
by_name_cmp(const void *x, const void *y)
{
	size_t i = *(const size_t *)x, j = *(const size_t *)y;

	return strcmp(sort_files[i].name, sort_files[j].name);
}

/* Position of name in d (listing order), or d->n. */
static size_t
dir_pos(const struct fa_dir *d, const char *name)
{
	size_t lo = 0, hi = d->n, mid;
	int c;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		c = strcmp(d->files[d->by_name[mid]].name, name);
		if (c == 0)
			return d->by_name[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return d->n;
}

static void
dir_forget_streams(struct fahead *a, const struct fa_dir *d)
{
	size_t i;

	for (i = 0; i < FA_STREAMS; i++)
		if (a->streams[i].dir == d)
			memset(&a->streams[i], 0, sizeof(a->streams[i]));
}

void
fahead_listed(
    struct fahead *a, const char *dir, const struct backend_dirlist *l)
{
	struct fa_dir nd = { 0 }, *d;
	size_t i, k = 0;

	if (a == NULL || l->count == 0 || l->count > FA_DIR_FILES_MAX)
		return;
	nd.files = calloc(l->count, sizeof(*nd.files));
	nd.by_name = calloc(l->count, sizeof(*nd.by_name));
	nd.name_pos = calloc(l->count, sizeof(*nd.name_pos));
	nd.path = strdup(dir);
	if (nd.files == NULL || nd.by_name == NULL || nd.name_pos == NULL ||
	    nd.path == NULL)
		goto fail;
	for (i = 0; i < l->count; i++) {
		const struct backend_dirent *e = &l->ents[i];

		if (!(e->attr.valid & BA_MODE_TYPE) || !S_ISREG(e->attr.mode) ||
		    !(e->attr.valid & BA_SIZE))
			continue;
		nd.files[k].name = strdup(e->name);
		if (nd.files[k].name == NULL)
			goto fail;
		nd.files[k].size = e->attr.size;
		nd.files[k].has_mtime = (e->attr.valid & BA_MTIME) != 0;
		nd.files[k].mtime = e->attr.mtime;
		nd.by_name[k] = k;
		k++;
		nd.n = k;
	}
	if (k == 0)
		goto fail;
	pthread_mutex_lock(&a->lock);
	sort_files = nd.files;
	qsort(nd.by_name, k, sizeof(*nd.by_name), by_name_cmp);
	for (i = 0; i < k; i++)
		nd.name_pos[nd.by_name[i]] = i;
	d = dir_find(a, dir);
	if (d == NULL) {
		d = &a->dirs[a->dnext];
		a->dnext = (a->dnext + 1) % FA_DIRS;
	}
	dir_forget_streams(a, d);
	dir_clear(d);
	*d = nd;
	pthread_mutex_unlock(&a->lock);
	return;
fail:
	dir_clear(&nd);
}

/*
 * pid opened the file at listing position j of d: follow it, and when it
 * went forward from its last file (by the listing's order or by name,
 * skipping at most FAHEAD_DEPTH), queue the next small files that way.
 * A process that was going through another folder's files and opens the
 * first file of this one (by either order) goes on the same way here at
 * once: a tree read folder after folder (grep -r, cp -r, tar c, find |
 * xargs cat) does not start cold, a file at a time, in each folder.
 */
static void
stream_step(struct fahead *a, struct fa_dir *d, size_t j, pid_t pid)
{
	struct fa_stream *s = NULL, *old = &a->streams[0];
	size_t i, jn = d->name_pos[j], q;
	bool by_list, by_name, went_on = false;
	unsigned depth = 0; /* pid's elsewhere, where it was going on */
	uint64_t now = (uint64_t)net_now_ms();

	for (i = 0; i < FA_STREAMS; i++) {
		struct fa_stream *e = &a->streams[i];

		if (e->pid == pid && e->dir == d) {
			s = e;
			break;
		}
		if (e->pid == pid && e->depth > FAHEAD_DEPTH &&
		    now - e->t_ms <= FA_SEEN_MS && e->depth > depth)
			depth = e->depth;
		if (e->t_ms < old->t_ms)
			old = e;
	}
	if (s == NULL) {
		s = old;
		s->pid = pid;
		s->dir = d;
		s->last_l = j;
		s->last_s = jn;
		s->depth = FAHEAD_DEPTH;
		if (depth > 0 && (j == 0 || jn == 0)) {
			s->depth = depth;
			went_on = true;
		}
	}
	by_list = (j > s->last_l && j - s->last_l <= FAHEAD_DEPTH) ||
	    (went_on && j == 0);
	by_name = (jn > s->last_s && jn - s->last_s <= FAHEAD_DEPTH) ||
	    (went_on && jn == 0);
	/* one process a file (for f in *; do cat "$f"; done): the folder's
	   own last file tells */
	if (!by_list && !by_name && d->has_last) {
		by_list = j > d->last_l && j - d->last_l <= FAHEAD_DEPTH;
		by_name = jn > d->last_s && jn - d->last_s <= FAHEAD_DEPTH;
	}
	/* the two orders agree, or name order wins: a reader going by name
	   jumps around in a listing in the server's own order, and would
	   queue files it never reads */
	if (by_name)
		by_list = false;
	s->last_l = d->last_l = j;
	s->last_s = d->last_s = jn;
	d->has_last = true;
	s->t_ms = now;
	/* a reader that keeps going gets twice as much ahead, as the kernel's
	   read-ahead window grows (many readers of one folder each find
	   their next files fetched while they read the ones before) */
	if ((by_list || by_name) && s->depth < FAHEAD_DEPTH_MAX)
		s->depth = s->depth * 2 < FAHEAD_DEPTH_MAX ? s->depth * 2
		                                           : FAHEAD_DEPTH_MAX;
	for (q = 1; q <= s->depth && (by_list || by_name); q++) {
		if (by_list && j + q < d->n)
			buf_queue(a, d->path, &d->files[j + q]);
		if (by_name && jn + q < d->n)
			buf_queue(a, d->path, &d->files[d->by_name[jn + q]]);
	}
}

/*
 * A file of dir, whose order we do not know (nothing listed it: names
 * given on a command line), was opened.  A second one soon after: list
 * dir in the background (through the cache, where it usually is: the
 * lookups of the names listed it), so that the next opens find an order.
 */
static void
seen_step(struct fahead *a, const char *dir, const char *name)
{
	struct fa_seen *e = NULL;
	uint64_t now = (uint64_t)net_now_ms();
	size_t i;

	for (i = 0; i < FA_SEEN; i++)
		if (a->seen[i].dir != NULL && strcmp(a->seen[i].dir, dir) == 0)
			e = &a->seen[i];
	if (e != NULL && now - e->t_ms <= FA_SEEN_MS &&
	    strcmp(e->name, name) != 0) {
		for (i = 0; i < a->nlists; i++)
			if (strcmp(a->lists[i], dir) == 0)
				return;
		if (a->nlists < FA_SEEN &&
		    (a->lists[a->nlists] = strdup(dir)) != NULL) {
			a->nlists++;
			fahead_start_workers(a);
			pthread_cond_signal(&a->work);
		}
		return;
	}
	if (e == NULL) {
		e = &a->seen[a->snext];
		a->snext = (a->snext + 1) % FA_SEEN;
		free(e->dir);
		e->dir = strdup(dir);
		if (e->dir == NULL)
			return;
	}
	free(e->name);
	e->name = strdup(name);
	e->t_ms = now;
	if (e->name == NULL) {
		free(e->dir);
		e->dir = NULL;
	}
}

static bool
buf_matches(const struct fahead_buf *b, const struct backend_attr *attr)
{
	if (!(attr->valid & BA_SIZE) || attr->size != b->size)
		return false;
	if (((attr->valid & BA_MTIME) != 0) != b->has_mtime)
		return false;
	return !b->has_mtime ||
	    (attr->mtime.tv_sec == b->mtime.tv_sec &&
	        attr->mtime.tv_nsec == b->mtime.tv_nsec);
}

struct fahead_buf *
fahead_open(struct fahead *a, const char *path, const struct backend_attr *attr,
    pid_t pid)
{
	struct fahead_buf *b, *got = NULL;
	const char *name;
	char dir[4096];
	struct fa_dir *d;
	size_t j;

	if (a == NULL)
		return NULL;
	pthread_mutex_lock(&a->lock);
	b = buf_find(a, path);
	if (b != NULL && b->waiters > 0 && b->state != FA_READY) {
		/* another reader's fetch of it now: fahead_fetch_now joins */
		b = NULL;
	} else if (b != NULL &&
	    (b->state == FA_QUEUED || b->state == FA_SERVED)) {
		buf_unlist(a, b); /* needed now: the caller reads it itself */
		b = NULL;
	} else if (b != NULL) {
		b->refs++;
		/* being fetched: that is the quickest way to it */
		while (b->state == FA_LOADING && !a->stop) {
			struct timespec ts = mono_in(FA_WAIT_SLICE_MS);

			pthread_cond_timedwait(&a->done, &a->lock, &ts);
			if (net_op_interrupted() || net_op_clamp(1) == 0)
				break;
		}
		if (b->state == FA_QUEUED) {
			/* its fetch found no connection: the caller reads */
			b->refs--;
			if (b->listed)
				buf_unlist(a, b);
			else if (b->refs == 0)
				buf_free(b);
		} else if (b->state == FA_READY && !b->stale && b->listed &&
		    b->data != NULL &&
		    !buf_expired(a, b, (uint64_t)net_now_ms()) &&
		    buf_matches(b, attr)) {
			got = b;
			a->hits++;
			buf_unlist(a, b); /* served once: a reader keeps it */
			buf_mark_served(a, path);
		} else {
			b->refs--;
			if (b->listed && b->state == FA_READY)
				buf_unlist(a, b); /* stale: of no use */
			else if (!b->listed && b->refs == 0 &&
			    b->state != FA_LOADING)
				buf_free(b);
		}
	}
	/* Read by the caller itself: not queued for another reader that
	   passes it (parallel readers of one folder, each its own part:
	   without the mark, the one behind fetches what the one ahead read,
	   and nobody uses it). */
	if (got == NULL && buf_find(a, path) == NULL)
		buf_mark_served(a, path);
	if (backend_path_split(path, dir, sizeof(dir), &name) == 0) {
		d = dir_find(a, dir);
		if (d == NULL)
			seen_step(a, dir, name);
		else if ((j = dir_pos(d, name)) < d->n)
			stream_step(a, d, j, pid);
	}
	pthread_mutex_unlock(&a->lock);
	return got;
}

/*
 * Queued buffers for the pump (lock held): every one a reader waits for,
 * then the oldest others, these up to FA_ALONG_BYTES; at most cap, each
 * loading, a reference ours.
 */
static size_t
claim_for_pump(struct fahead *a, struct fahead_buf **v, size_t cap)
{
	uint64_t bytes = 0;
	struct fahead_buf *b;
	size_t n = 0;
	int pass;

	for (pass = 0; pass < 2; pass++)
		for (b = a->bufs; b != NULL && n < cap; b = b->next) {
			if (b->state != FA_QUEUED ||
			    (b->waiters > 0) != (pass == 0))
				continue;
			if (pass == 1) {
				if (bytes + b->size > FA_ALONG_BYTES)
					continue;
				bytes += b->size;
			}
			b->state = FA_LOADING;
			b->refs++;
			v[n++] = b;
		}
	return n;
}

struct pump_flight {
	struct fahead *a;
	struct fahead_buf *claimed[FA_PUMP_BATCH];
	bool filled;
};

/* backend_fetch_batch.fill: what readers wait for now, and more */
static void
pump_fill(struct backend_fetch_batch *bt)
{
	struct pump_flight *f = bt->arg;
	struct fahead *a = f->a;
	size_t i, n, room;

	pthread_mutex_lock(&a->lock);
	f->filled = true;
	room = bt->cap - bt->n < FA_PUMP_FILL ? bt->cap - bt->n : FA_PUMP_FILL;
	n = a->stop ? 0 : claim_for_pump(a, f->claimed + bt->n, room);
	for (i = bt->n; i < bt->n + n; i++) {
		bt->v[i].path = f->claimed[i]->path;
		bt->v[i].want = f->claimed[i]->size;
		bt->v[i].data = NULL;
		bt->v[i].rc = 0;
	}
	bt->n += n;
	pthread_mutex_unlock(&a->lock);
}

/* backend_fetch_batch.done: one file is here, its reader goes on */
static void
pump_done(struct backend_fetch_batch *bt, size_t i)
{
	struct pump_flight *f = bt->arg;
	struct fahead *a = f->a;

	pthread_mutex_lock(&a->lock);
	(void)fetch_done(a, f->claimed[i], bt->v[i].rc, bt->v[i].data,
	    (size_t)f->claimed[i]->size);
	pthread_cond_broadcast(&a->done);
	pthread_mutex_unlock(&a->lock);
}

static bool
someone_waits(const struct fahead *a)
{
	const struct fahead_buf *b;

	for (b = a->bufs; b != NULL; b = b->next)
		if (b->state == FA_QUEUED && b->waiters > 0)
			return true;
	return false;
}

/*
 * No connection could be had: the files readers wait for are given up
 * (lock held), each reader reads its own the usual way (and meets the
 * error there, or a connection freed meanwhile).
 */
static void
pump_give_up(struct fahead *a)
{
	struct fahead_buf *b, *next;

	for (b = a->bufs; b != NULL; b = next) {
		next = b->next;
		if (b->state == FA_QUEUED && b->waiters > 0) {
			b->state = FA_READY;
			b->stale = true;
			buf_unlist(a, b);
		}
	}
	pthread_cond_broadcast(&a->done);
}

/*
 * The pump: while readers wait for files, one ->fetch_many after another
 * on a session it may wait for (not a background one: a reader waits),
 * taking what they wait for and queued files along, and more as readers
 * ask while it goes on; each file handed over as soon as it is here.
 */
static void *
fahead_pump_fn(void *arg)
{
	struct fahead *a = arg;
	struct backend_fetch fv[FA_PUMP_BATCH];
	struct pump_flight f;
	struct backend_fetch_batch bt;

	pthread_mutex_lock(&a->lock);
	while (!a->stop) {
		if (!someone_waits(a)) {
			pthread_cond_wait(&a->wanted, &a->lock);
			continue;
		}
		pthread_mutex_unlock(&a->lock);
		memset(&f, 0, sizeof(f));
		f.a = a;
		bt = (struct backend_fetch_batch){ .v = fv,
			.cap = FA_PUMP_BATCH,
			.fill = pump_fill,
			.done = pump_done,
			.arg = &f };
		net_op_begin(a->op_timeout_ms, NULL);
		(void)a->be->ops->fetch_many(a->be, &bt);
		net_op_end();
		pthread_mutex_lock(&a->lock);
		if (!f.filled)
			pump_give_up(a);
	}
	pthread_mutex_unlock(&a->lock);
	return NULL;
}

/*
 * path's buffer that readers wait for (lock held): one queued or loading
 * that matches attr (another reader's, or a guess), joined, else a new
 * one, listed and queued.  NULL: no memory.
 */
static struct fahead_buf *
wanted_buf(struct fahead *a, const char *path, const struct backend_attr *attr)
{
	struct fahead_buf *b, *old;

	while ((old = buf_find(a, path)) != NULL) {
		if ((old->state == FA_QUEUED || old->state == FA_LOADING) &&
		    buf_matches(old, attr)) {
			/* another reader's, or a guess: wanted now */
			old->waiters++;
			old->refs++;
			return old;
		}
		/* a mark, or one that no longer matches (its readers, if
		   any, read it the usual way: wake them) */
		if (old->waiters > 0)
			pthread_cond_broadcast(&a->done);
		old->stale = true;
		buf_unlist(a, old);
	}
	b = calloc(1, sizeof(*b));
	if (b == NULL || (b->path = strdup(path)) == NULL) {
		free(b);
		return NULL;
	}
	b->size = attr->size;
	b->has_mtime = (attr->valid & BA_MTIME) != 0;
	if (b->has_mtime)
		b->mtime = attr->mtime;
	b->wgen = atomic_load(wgen_of(a, path));
	b->state = FA_QUEUED;
	b->waiters = 1;
	b->refs = 1;
	buf_append(a, b);
	a->mem += b->size;
	return b;
}

struct fahead_buf *
fahead_fetch_now(
    struct fahead *a, const char *path, const struct backend_attr *attr)
{
	struct fahead_buf *b;
	struct timespec ts;
	bool ok;

	if (a == NULL || a->be->ops->fetch_many == NULL ||
	    !(attr->valid & BA_SIZE) || attr->size > FAHEAD_FILE_MAX)
		return NULL;
	/*
	 * The round trips are the cost, not the bytes, and a session carries
	 * many files at once: the pump takes the caller's file with those of
	 * the other readers and queued ones, on one session, and keeps taking
	 * more as they are asked for.  Readers that come while every session
	 * is busy, or still logging in, do not each wait a round of their own
	 * behind the others.
	 */
	pthread_mutex_lock(&a->lock);
	b = wanted_buf(a, path, attr);
	if (b != NULL && !a->has_pump && !a->stop)
		a->has_pump =
		    pthread_create(&a->pump, NULL, fahead_pump_fn, a) == 0;
	if (b != NULL && !a->has_pump) {
		b->waiters--; /* no thread: read the usual way */
		b->refs--;
		buf_unlist(a, b);
		b = NULL;
	}
	if (b != NULL)
		pthread_cond_signal(&a->wanted);
	while (b != NULL && !a->stop && b->state != FA_READY &&
	    (b->listed || b->state != FA_QUEUED)) {
		ts = mono_in(FA_WAIT_SLICE_MS);
		if (pthread_cond_timedwait(&a->done, &a->lock, &ts) ==
		        ETIMEDOUT &&
		    b->state == FA_QUEUED)
			pthread_cond_signal(&a->wanted); /* (never lost) */
		if (net_op_interrupted() || net_op_clamp(1) == 0)
			break;
	}
	if (b == NULL) {
		pthread_mutex_unlock(&a->lock);
		return NULL;
	}
	b->waiters--;
	ok = b->state == FA_READY && !b->stale && b->data != NULL;
	if (ok) {
		if (b->listed) {
			buf_unlist(a, b); /* the caller's now */
			buf_mark_served(a, path);
		}
	} else {
		log_debug("%s: not read whole at open", path);
		if (--b->refs == 0 && !b->listed)
			buf_free(b);
		b = NULL;
	}
	pthread_mutex_unlock(&a->lock);
	return b;
}

ssize_t
fahead_read(struct fahead *a, const struct fahead_buf *b, char *buf,
    size_t size, off_t off)
{
	size_t n;

	if (off < 0)
		return -EINVAL;
	if (atomic_load(wgen_of(a, b->path)) != b->wgen)
		return -ESTALE;
	if ((uint64_t)off >= b->len)
		return 0;
	n = b->len - (size_t)off;
	if (n > size)
		n = size;
	memcpy(buf, b->data + off, n);
	return (ssize_t)n;
}

void
fahead_put(struct fahead *a, struct fahead_buf *b)
{
	if (b == NULL)
		return;
	pthread_mutex_lock(&a->lock);
	if (--b->refs == 0 && !b->listed)
		buf_free(b);
	pthread_mutex_unlock(&a->lock);
}

void
fahead_written(struct fahead *a, const char *path)
{
	if (a != NULL)
		atomic_fetch_add(wgen_of(a, path), 1);
}

void
fahead_forget(struct fahead *a, const char *path)
{
	struct fahead_buf *b, *next;

	if (a == NULL)
		return;
	pthread_mutex_lock(&a->lock);
	for (b = a->bufs; b != NULL; b = next) {
		next = b->next;
		if (backend_path_in(b->path, path)) {
			b->stale = true;
			buf_unlist(a, b);
		}
	}
	pthread_mutex_unlock(&a->lock);
}

int
fahead_new(struct backend *be, unsigned workers, int op_timeout_ms, int ttl_ms,
    struct fahead **out)
{
	pthread_condattr_t ca;
	struct fahead *a;

	*out = NULL;
	if (workers == 0)
		return 0;
	a = calloc(1, sizeof(*a));
	if (a == NULL)
		return -ENOMEM;
	a->be = be;
	a->op_timeout_ms = op_timeout_ms;
	a->ttl_ms = ttl_ms;
	a->workers =
	    workers > FAHEAD_WORKERS_MAX ? FAHEAD_WORKERS_MAX : workers;
	pthread_mutex_init(&a->lock, NULL);
	/* the waits on both have CLOCK_MONOTONIC deadlines */
	if (pthread_condattr_init(&ca) != 0) {
		pthread_mutex_destroy(&a->lock);
		free(a);
		return -ENOMEM;
	}
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&a->work, &ca);
	pthread_cond_init(&a->done, &ca);
	pthread_condattr_destroy(&ca);
	pthread_cond_init(&a->wanted, NULL);
	*out = a;
	return 0;
}

void
fahead_free(struct fahead *a)
{
	struct fahead_buf *b, *next;
	unsigned i;

	if (a == NULL)
		return;
	pthread_mutex_lock(&a->lock);
	a->stop = true;
	pthread_cond_broadcast(&a->work);
	pthread_cond_broadcast(&a->done);
	pthread_cond_broadcast(&a->wanted);
	pthread_mutex_unlock(&a->lock);
	for (i = 0; i < a->nthreads; i++)
		pthread_join(a->threads[i], NULL);
	if (a->has_pump)
		pthread_join(a->pump, NULL);
	if (a->hits > 0 || a->fetched > 0)
		log_debug("small files read ahead: %lu fetched, %lu served, "
		          "%lu unused",
		    a->fetched, a->hits,
		    a->fetched > a->hits ? a->fetched - a->hits : 0);
	for (b = a->bufs; b != NULL; b = next) {
		next = b->next;
		buf_free(b);
	}
	for (i = 0; i < FA_DIRS; i++)
		dir_clear(&a->dirs[i]);
	for (i = 0; i < FA_SEEN; i++) {
		free(a->seen[i].dir);
		free(a->seen[i].name);
	}
	for (i = 0; i < a->nlists; i++)
		free(a->lists[i]);
	pthread_cond_destroy(&a->wanted);
	pthread_cond_destroy(&a->done);
	pthread_cond_destroy(&a->work);
	pthread_mutex_destroy(&a->lock);
	free(a);
}
