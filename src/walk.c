/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * walk: listing a directory tree ahead of a process that walks it.
 * Contract in walk.h.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "log.h"
#include "net.h"
#include "pool.h"
#include "walk.h"

/* A directory listed this soon after its parent: a walk goes on. */
#define WALK_WINDOW_MS 10000
/* no connection to spare (pool_background: the pool is growing): the
   listing goes back in the queue and is tried again this much later, up
   to WALK_RETRIES times in a row before the queue is let go */
#define WALK_RETRY_MS 20
#define WALK_RETRIES 100
/* Directories listed by processes that are remembered (with subdirs). */
#define WALK_RECENT 16
/* Subdirectories remembered per directory (more are not read ahead). */
#define WALK_SUBDIRS_MAX 1024

struct walk_recent {
	char *path; /* NULL: free slot */
	uint64_t t_ms;
	bool expanded; /* its subdirectories were queued */
	char **subs;
	uint64_t *sub_size; /* their sizes as listed (UINT64_MAX: none) */
	size_t nsub;
};

struct walk {
	struct backend *be;
	int op_timeout_ms;
	unsigned workers;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	char *queue[WALK_QUEUE_MAX];
	size_t qhead, qlen;
	pthread_t threads[WALK_WORKERS_MAX];
	unsigned nthreads;
	bool stop;
	struct walk_recent recent[WALK_RECENT];
	size_t rnext;
	unsigned long fetched, dropped;
};

static void
subs_free(char **subs, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(subs[i]);
	free(subs);
}

/* The full paths of l's subdirectories (symlinks are not followed), and
   their sizes as listed into *size. */
static char **
subs_of(const char *path, const struct backend_dirlist *l, size_t *n,
    uint64_t **size)
{
	bool root = strcmp(path, "/") == 0;
	char **v = NULL;
	size_t i, k = 0;

	*n = 0;
	*size = NULL;
	for (i = 0; i < l->count && k < WALK_SUBDIRS_MAX; i++) {
		const struct backend_dirent *e = &l->ents[i];
		char *p;

		if (!(e->attr.valid & BA_MODE_TYPE) || !S_ISDIR(e->attr.mode))
			continue;
		if (v == NULL) {
			v = calloc(WALK_SUBDIRS_MAX, sizeof(*v));
			*size = calloc(WALK_SUBDIRS_MAX, sizeof(**size));
			if (v == NULL || *size == NULL) {
				free(v);
				free(*size);
				*size = NULL;
				return NULL;
			}
		}
		if (asprintf(&p, "%s/%s", root ? "" : path, e->name) < 0)
			break;
		(*size)[k] =
		    (e->attr.valid & BA_SIZE) ? e->attr.size : UINT64_MAX;
		v[k++] = p;
	}
	*n = k;
	return v;
}

static struct walk_recent *
recent_find(struct walk *w, const char *path)
{
	size_t i;

	for (i = 0; i < WALK_RECENT; i++)
		if (w->recent[i].path != NULL &&
		    strcmp(w->recent[i].path, path) == 0)
			return &w->recent[i];
	return NULL;
}

/*
 * Where the backend lists many folders at once on one connection
 * (->list_many, SFTP), a worker takes up to WALK_BATCH queued folders at
 * a time: two round trips for all of them, on one session, instead of
 * a session and two round trips for each.  As many as cache_list_many
 * takes (CACHE_LIST_MANY_MAX, 64): the folders a walk queues at once (a
 * parent's subfolders) go in one batch.  With smaller ones the two
 * workers split them, the second batch waited for the session the first
 * held, and a walker that came to one of its folders waited for both
 * (find of 3 folders of a 21-folder tree at 20 ms: 0.26-0.32 s with 16,
 * 0.20 s with 64).
 */
#define WALK_BATCH 64

/* Folders whose listing found no connection back in the queue (lock held;
   a full queue drops them: the walker lists them itself). */
static void
walk_requeue(struct walk *w, char **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (w->qlen < WALK_QUEUE_MAX) {
			w->queue[(w->qhead + w->qlen) % WALK_QUEUE_MAX] = v[i];
			w->qlen++;
		} else {
			free(v[i]);
			w->dropped++;
		}
	}
}

/* Up to max queued folders, taken from the queue (lock held). */
static size_t
walk_take(struct walk *w, char **v, size_t max)
{
	size_t n = 0;

	while (w->qlen > 0 && n < max) {
		v[n++] = w->queue[w->qhead];
		w->qhead = (w->qhead + 1) % WALK_QUEUE_MAX;
		w->qlen--;
	}
	return n;
}

/*
 * A worker lists one queued folder at a time (->list), or up to
 * WALK_BATCH where the backend lists many at once (->list_many).  One at
 * a time it never takes the last free connection (pool_background: a
 * process never waits for a guess).  A batch may: it holds it about as
 * long as one listing of the walker's own (two round trips), which then
 * finds a dozen folders listed; waiting for a login of its own would
 * leave the walker to list them one by one meanwhile.
 */
static void *
walk_worker(void *arg)
{
	struct walk *w = arg;
	bool many = w->be->ops->list_many != NULL;
	struct backend_dirlist tmp[WALK_BATCH];
	int rcs[WALK_BATCH];
	char *v[WALK_BATCH];
	unsigned again = 0; /* -EAGAIN in a row */
	size_t n, i;
	int rc;

	pool_background(!many);
	pthread_mutex_lock(&w->lock);
	while (!w->stop) {
		if (w->qlen == 0) {
			pthread_cond_wait(&w->cond, &w->lock);
			continue;
		}
		n = walk_take(w, v, many ? WALK_BATCH : 1);
		pthread_mutex_unlock(&w->lock);
		memset(tmp, 0, sizeof(tmp));
		/* the same deadline as a request of a process would have */
		net_op_begin(w->op_timeout_ms, NULL);
		if (many)
			rc = w->be->ops->list_many(
			    w->be, (const char *const *)v, n, tmp, rcs);
		else
			rc = w->be->ops->list(w->be, v[0], &tmp[0]);
		net_op_end();
		for (i = 0; i < n; i++)
			backend_dirlist_free(&tmp[i]);
		if (rc == -EAGAIN && ++again <= WALK_RETRIES) {
			struct timespec ts = { 0, WALK_RETRY_MS * 1000000L };

			nanosleep(&ts, NULL);
			pthread_mutex_lock(&w->lock);
			walk_requeue(w, v, n);
			continue;
		}
		if (rc != -EAGAIN)
			again = 0;
		for (i = 0; i < n; i++) {
			if (rc < 0 || !many)
				rcs[i] = rc;
			if (rcs[i] < 0)
				log_debug("%s: listing ahead of a walk: %s",
				    v[i], strerror(-rcs[i]));
			free(v[i]);
		}
		pthread_mutex_lock(&w->lock);
		w->fetched += n;
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

/* Queue path unless it is queued already or the queue is full.  Lock held. */
static void
walk_enqueue(struct walk *w, const char *path)
{
	size_t i;
	char *dup;

	for (i = 0; i < w->qlen; i++)
		if (strcmp(w->queue[(w->qhead + i) % WALK_QUEUE_MAX], path) ==
		    0)
			return;
	if (w->qlen == WALK_QUEUE_MAX || (dup = strdup(path)) == NULL) {
		w->dropped++;
		return;
	}
	w->queue[(w->qhead + w->qlen) % WALK_QUEUE_MAX] = dup;
	w->qlen++;
	/* the workers start with the first walk seen; where a worker lists
	   WALK_BATCH folders at once, two are enough (and ask the server for
	   two sessions, not seven) */
	while (w->nthreads < w->workers &&
	    (w->be->ops->list_many == NULL || w->nthreads < 2) &&
	    pthread_create(&w->threads[w->nthreads], NULL, walk_worker, w) == 0)
		w->nthreads++;
}

int
walk_new(
    struct backend *be, unsigned workers, int op_timeout_ms, struct walk **out)
{
	struct walk *w;

	*out = NULL;
	if (workers == 0)
		return 0;
	w = calloc(1, sizeof(*w));
	if (w == NULL)
		return -ENOMEM;
	w->be = be;
	w->op_timeout_ms = op_timeout_ms;
	w->workers = workers > WALK_WORKERS_MAX ? WALK_WORKERS_MAX : workers;
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->cond, NULL);
	*out = w;
	return 0;
}

void
walk_listed(struct walk *w, const char *path, const struct backend_dirlist *l)
{
	struct walk_recent *p = NULL, *r;
	const char *name;
	char parent[4096];
	uint64_t now;
	size_t i, nsub;
	uint64_t *sizes;
	char **subs;

	if (w == NULL)
		return;
	subs = subs_of(path, l, &nsub, &sizes);
	now = (uint64_t)net_now_ms();
	pthread_mutex_lock(&w->lock);
	if (backend_path_split(path, parent, sizeof(parent), &name) == 0) {
		p = recent_find(w, parent);
		if (p != NULL && now - p->t_ms > WALK_WINDOW_MS)
			p = NULL;
	}
	r = recent_find(w, path);
	if (r == NULL) {
		r = &w->recent[w->rnext];
		w->rnext = (w->rnext + 1) % WALK_RECENT;
		if (r == p) { /* never evict the parent we just found */
			r = &w->recent[w->rnext];
			w->rnext = (w->rnext + 1) % WALK_RECENT;
		}
		free(r->path);
		subs_free(r->subs, r->nsub);
		free(r->sub_size);
		memset(r, 0, sizeof(*r));
		r->path = strdup(path);
	} else if (now - r->t_ms > WALK_WINDOW_MS) {
		r->expanded = false; /* a walk again, later */
	}
	if (r->path == NULL) {
		subs_free(subs, nsub);
		free(sizes);
		pthread_mutex_unlock(&w->lock);
		return;
	}
	r->t_ms = now;
	subs_free(r->subs, r->nsub);
	free(r->sub_size);
	r->subs = subs;
	r->sub_size = sizes;
	r->nsub = nsub;
	if (p != NULL) {
		/* A walk: the parent's other subdirectories, and ours. */
		if (!p->expanded) {
			for (i = 0; i < p->nsub; i++)
				if (strcmp(p->subs[i], path) != 0)
					walk_enqueue(w, p->subs[i]);
			p->expanded = true;
		}
		if (!r->expanded) {
			for (i = 0; i < r->nsub; i++)
				walk_enqueue(w, r->subs[i]);
			r->expanded = true;
		}
		pthread_cond_broadcast(&w->cond);
	}
	pthread_mutex_unlock(&w->lock);
}

/*
 * A process is about to list path (opendir).  Where the backend lists
 * many folders at once (->list_many) and path's parent was listed by a
 * process just before (a walk, as walk_listed sees it afterwards), path
 * and its siblings are listed now, on the caller's thread, in one batch:
 * the walker's own listing carries the folders it comes to next, where
 * seen after it, they would cost a second flight (find of 3 folders of a
 * 21-folder tree at 20 ms: a listing of 19 folders instead of one of 1
 * and then one of 18).  The listings go to the cache, where the caller's
 * own ->list finds path's.  The caller waits for the whole batch, so only
 * siblings small as listed go with it (a folder's size grows with its
 * entries on every filesystem we know: ext4 ~4 KiB per 150 names); big
 * or unsized ones are left to the workers, and `ls A/B` after `ls A`
 * does not wait for A's other big folders.
 */
#define WALK_ALONG_DIR_MAX (16 * 1024)
#define WALK_ALONG_MAX (256 * 1024)
void
walk_opening(struct walk *w, const char *path)
{
	struct backend_dirlist tmp[WALK_BATCH];
	int rcs[WALK_BATCH];
	char *v[WALK_BATCH];
	char parent[4096];
	struct walk_recent *p;
	const char *name;
	size_t n = 0, i;
	uint64_t now, along = 0;

	if (w == NULL || w->be->ops->list_many == NULL ||
	    backend_path_split(path, parent, sizeof(parent), &name) != 0)
		return;
	now = (uint64_t)net_now_ms();
	pthread_mutex_lock(&w->lock);
	p = recent_find(w, parent);
	if (p == NULL || p->expanded || now - p->t_ms > WALK_WINDOW_MS ||
	    (v[n] = strdup(path)) == NULL) {
		pthread_mutex_unlock(&w->lock);
		return;
	}
	n++;
	for (i = 0; i < p->nsub; i++) {
		uint64_t sz = p->sub_size[i];

		if (strcmp(p->subs[i], path) == 0)
			continue;
		if (n < WALK_BATCH && sz <= WALK_ALONG_DIR_MAX &&
		    along + sz <= WALK_ALONG_MAX &&
		    (v[n] = strdup(p->subs[i])) != NULL) {
			along += sz;
			n++;
		} else {
			walk_enqueue(w, p->subs[i]); /* the rest: the workers */
		}
	}
	p->expanded = true;
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->lock);
	memset(tmp, 0, sizeof(tmp));
	(void)w->be->ops->list_many(w->be, (const char *const *)v, n, tmp, rcs);
	for (i = 0; i < n; i++) {
		backend_dirlist_free(&tmp[i]);
		free(v[i]);
	}
	pthread_mutex_lock(&w->lock);
	w->fetched += n - 1;
	pthread_mutex_unlock(&w->lock);
}

void
walk_free(struct walk *w)
{
	unsigned i;
	size_t k;

	if (w == NULL)
		return;
	pthread_mutex_lock(&w->lock);
	w->stop = true;
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->lock);
	for (i = 0; i < w->nthreads; i++)
		pthread_join(w->threads[i], NULL);
	if (w->fetched > 0 || w->dropped > 0)
		log_debug("walks: %lu directories listed ahead, %lu dropped",
		    w->fetched, w->dropped);
	for (k = 0; k < w->qlen; k++)
		free(w->queue[(w->qhead + k) % WALK_QUEUE_MAX]);
	for (k = 0; k < WALK_RECENT; k++) {
		free(w->recent[k].path);
		subs_free(w->recent[k].subs, w->recent[k].nsub);
		free(w->recent[k].sub_size);
	}
	pthread_cond_destroy(&w->cond);
	pthread_mutex_destroy(&w->lock);
	free(w);
}
