/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cache: directory and attribute cache decorator (contract in
 * include/cache.h).
 *
 * Two tables keyed by path, each a fixed-size hash table with an LRU list:
 * dirs holds listings (or the fact that a directory is unlistable), attrs
 * holds single ->stat answers, positive or -ENOENT.  Entries carry an
 * expiry on the monotonic clock and are dropped when found expired.
 *
 * Inner calls in flight are kept on c->fetches.  A miss that finds one
 * for the same path joins it instead of asking again (single-flight).  An
 * invalidation that races with a fetch marks it stale: the result then
 * answers only the caller that started it and is neither cached nor
 * shared, since it may predate the change.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cache.h"
#include "log.h"

enum cache_kind {
	CK_DIR,
	CK_ATTR,
};

struct centry {
	struct centry *hnext; /* hash chain */
	struct centry *lprev, *lnext; /* LRU list, most recent first */
	char *path;
	uint32_t hash;
	uint64_t expires_ms;
	int err; /* dirs: 0 or -EACCES; attrs: 0 or -ENOENT */
	struct backend_dirlist list; /* dirs */
	const struct backend_dirent **index; /* dirs: by name, or NULL */
	struct backend_attr attr; /* attrs */
};

struct ctable {
	struct centry **buckets;
	size_t nbuckets; /* a power of two */
	size_t count, max;
	struct centry *lru_head, *lru_tail;
};

struct cfetch {
	struct cfetch *next;
	enum cache_kind kind;
	const char *path; /* the leader's string, valid while listed */
	uint64_t start_ms;
	unsigned refs; /* the leader and each waiter */
	bool done, stale;
	int rc;
	struct backend_attr attr; /* CK_ATTR result */
};

/* A handle opened for writing, and the path it changes. */
struct wfile {
	struct wfile *next;
	const struct backend_file *f;
	char *path;
};

struct cache {
	struct backend be; /* what cache_backend_new hands out */
	struct backend_ops ops; /* cache_ops minus what inner lacks */
	struct backend *inner;
	int ttl_ms;

	/* A leaf lock: never held across an inner call. */
	pthread_mutex_t lock;
	pthread_cond_t fetch_cond; /* some fetch is done */
	struct ctable dirs; /* protected by c->lock */
	struct ctable attrs; /* protected by c->lock */
	struct cfetch *fetches; /* protected by c->lock */
	struct wfile *wfiles; /* protected by c->lock */
	struct cache_stats stats; /* protected by c->lock */
};

/* A listing and its optional name index, as cached or as just fetched. */
struct dirview {
	const struct backend_dirlist *list;
	const struct backend_dirent *const *index;
};

typedef int (*dir_fn)(const struct dirview *v, void *arg);

static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static uint32_t
path_hash(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s != '\0'; s++) {
		h ^= (unsigned char)*s;
		h *= 16777619u;
	}
	return h;
}

/* --- name index over a listing ---------------------------------------- */

static int
dirent_cmp(const void *a, const void *b)
{
	const struct backend_dirent *const *x = a, *const *y = b;

	return strcmp((*x)->name, (*y)->name);
}

/* NULL when there is nothing to index or no memory (lookups go linear). */
static const struct backend_dirent **
index_build(const struct backend_dirlist *l)
{
	const struct backend_dirent **ix;
	size_t i;

	if (l->count < 8)
		return NULL;
	ix = calloc(l->count, sizeof(*ix));
	if (ix == NULL)
		return NULL;
	for (i = 0; i < l->count; i++)
		ix[i] = &l->ents[i];
	qsort(ix, l->count, sizeof(*ix), dirent_cmp);
	return ix;
}

static const struct backend_dirent *
dirview_find(const struct dirview *v, const char *name)
{
	struct backend_dirent key = { .name = (char *)name };
	const struct backend_dirent *kp = &key;
	const struct backend_dirent *const *hit;

	if (v->index == NULL)
		return backend_dirlist_find(v->list, name);
	hit = bsearch(
	    &kp, v->index, v->list->count, sizeof(*v->index), dirent_cmp);
	return hit != NULL ? *hit : NULL;
}

/* --- tables ------------------------------------------------------------ */

static int
ctable_init(struct ctable *t, size_t max)
{
	size_t n = 64;

	while (n < max)
		n *= 2;
	t->buckets = calloc(n, sizeof(*t->buckets));
	if (t->buckets == NULL)
		return -ENOMEM;
	t->nbuckets = n;
	t->max = max;
	return 0;
}

static void
centry_free(struct centry *e)
{
	backend_dirlist_free(&e->list);
	free(e->index);
	free(e->path);
	free(e);
}

static void
lru_unlink(struct ctable *t, struct centry *e)
{
	if (e->lprev != NULL)
		e->lprev->lnext = e->lnext;
	else
		t->lru_head = e->lnext;
	if (e->lnext != NULL)
		e->lnext->lprev = e->lprev;
	else
		t->lru_tail = e->lprev;
	e->lprev = e->lnext = NULL;
}

static void
lru_push_head(struct ctable *t, struct centry *e)
{
	e->lprev = NULL;
	e->lnext = t->lru_head;
	if (t->lru_head != NULL)
		t->lru_head->lprev = e;
	else
		t->lru_tail = e;
	t->lru_head = e;
}

static struct centry *
ctable_find(const struct ctable *t, const char *path)
{
	uint32_t h = path_hash(path);
	struct centry *e;

	for (e = t->buckets[h & (t->nbuckets - 1)]; e != NULL; e = e->hnext)
		if (e->hash == h && strcmp(e->path, path) == 0)
			return e;
	return NULL;
}

static void
ctable_remove(struct ctable *t, struct centry *e)
{
	struct centry **pp = &t->buckets[e->hash & (t->nbuckets - 1)];

	while (*pp != e)
		pp = &(*pp)->hnext;
	*pp = e->hnext;
	lru_unlink(t, e);
	t->count--;
	centry_free(e);
}

/* A fresh entry (now the most recently used), or NULL. */
static struct centry *
ctable_get(struct ctable *t, const char *path, uint64_t now)
{
	struct centry *e = ctable_find(t, path);

	if (e == NULL)
		return NULL;
	if (e->expires_ms <= now) {
		ctable_remove(t, e);
		return NULL;
	}
	lru_unlink(t, e);
	lru_push_head(t, e);
	return e;
}

/*
 * The entry for path, emptied for the caller to fill, evicting the least
 * recently used one when full.  NULL without memory.
 */
static struct centry *
ctable_put(struct ctable *t, const char *path, uint64_t expires_ms)
{
	struct centry *e = ctable_find(t, path);
	size_t b;

	if (e != NULL) {
		backend_dirlist_free(&e->list);
		free(e->index);
		e->index = NULL;
		lru_unlink(t, e);
		goto out;
	}
	if (t->count >= t->max && t->lru_tail != NULL)
		ctable_remove(t, t->lru_tail);
	e = calloc(1, sizeof(*e));
	if (e == NULL)
		return NULL;
	e->path = strdup(path);
	if (e->path == NULL) {
		free(e);
		return NULL;
	}
	e->hash = path_hash(path);
	b = e->hash & (t->nbuckets - 1);
	e->hnext = t->buckets[b];
	t->buckets[b] = e;
	t->count++;
out:
	lru_push_head(t, e);
	e->expires_ms = expires_ms;
	e->err = 0;
	memset(&e->attr, 0, sizeof(e->attr));
	return e;
}

static void
ctable_del(struct ctable *t, const char *path)
{
	struct centry *e = ctable_find(t, path);

	if (e != NULL)
		ctable_remove(t, e);
}

static void
ctable_del_below(struct ctable *t, const char *dir)
{
	struct centry *e, *next;

	for (e = t->lru_head; e != NULL; e = next) {
		next = e->lnext;
		if (backend_path_in(e->path, dir))
			ctable_remove(t, e);
	}
}

static void
ctable_free(struct ctable *t)
{
	struct centry *e, *next;

	for (e = t->lru_head; e != NULL; e = next) {
		next = e->lnext;
		centry_free(e);
	}
	free(t->buckets);
	memset(t, 0, sizeof(*t));
}

/* --- fetches in flight -------------------------------------------------- */

/* A fetch new callers may join, NULL if none.  Lock held. */
static struct cfetch *
fetch_find(const struct cache *c, enum cache_kind kind, const char *path)
{
	struct cfetch *f;

	for (f = c->fetches; f != NULL; f = f->next)
		if (f->kind == kind && !f->stale && strcmp(f->path, path) == 0)
			return f;
	return NULL;
}

/*
 * Announce a fetch; NULL without memory (then it is neither shared nor
 * cached).  Lock held.
 */
static struct cfetch *
fetch_begin(struct cache *c, enum cache_kind kind, const char *path)
{
	struct cfetch *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return NULL;
	f->kind = kind;
	f->path = path;
	f->start_ms = now_ms();
	f->refs = 1;
	f->next = c->fetches;
	c->fetches = f;
	return f;
}

static void
fetch_put(struct cfetch *f)
{
	if (--f->refs == 0)
		free(f);
}

/*
 * Publish f's result (already stored in it) and drop the leader's
 * reference.  Lock held.
 */
static void
fetch_end(struct cache *c, struct cfetch *f)
{
	struct cfetch **pp = &c->fetches;

	while (*pp != f)
		pp = &(*pp)->next;
	*pp = f->next;
	f->done = true;
	pthread_cond_broadcast(&c->fetch_cond);
	fetch_put(f);
}

/* Wait for f; its rc, *stale and (for CK_ATTR) *attr.  Lock held. */
static int
fetch_join(
    struct cache *c, struct cfetch *f, bool *stale, struct backend_attr *attr)
{
	int rc;

	f->refs++;
	while (!f->done)
		pthread_cond_wait(&c->fetch_cond, &c->lock);
	rc = f->rc;
	*stale = f->stale;
	if (attr != NULL)
		*attr = f->attr;
	fetch_put(f);
	return rc;
}

static void
fetch_mark(struct cache *c, enum cache_kind kind, const char *path, bool below)
{
	struct cfetch *f;

	for (f = c->fetches; f != NULL; f = f->next)
		if (f->kind == kind &&
		    (below ? backend_path_in(f->path, path)
		           : strcmp(f->path, path) == 0))
			f->stale = true;
}

/* --- invalidation -------------------------------------------------------- */

/*
 * Forget path (attributes and own listing), its parent's listing and
 * attributes (its mtime moved) with the listing that holds them, and with
 * subtree everything below path.  Lock held.
 */
static void
cache_drop_locked(struct cache *c, const char *path, bool subtree)
{
	char parent[PATH_MAX];
	const char *name;

	if (subtree) {
		ctable_del_below(&c->attrs, path);
		ctable_del_below(&c->dirs, path);
		fetch_mark(c, CK_ATTR, path, true);
		fetch_mark(c, CK_DIR, path, true);
	} else {
		ctable_del(&c->attrs, path);
		ctable_del(&c->dirs, path);
		fetch_mark(c, CK_ATTR, path, false);
		fetch_mark(c, CK_DIR, path, false);
	}
	if (backend_path_split(path, parent, sizeof(parent), &name) == 0) {
		char grand[PATH_MAX];

		ctable_del(&c->dirs, parent);
		fetch_mark(c, CK_DIR, parent, false);
		/* The parent's own mtime changed too (rsync compares it). */
		ctable_del(&c->attrs, parent);
		fetch_mark(c, CK_ATTR, parent, false);
		if (backend_path_split(parent, grand, sizeof(grand), &name) ==
		    0) {
			ctable_del(&c->dirs, grand);
			fetch_mark(c, CK_DIR, grand, false);
		}
	}
}

static void
cache_changed(struct cache *c, const char *path, bool subtree)
{
	if (c->ttl_ms <= 0)
		return;
	pthread_mutex_lock(&c->lock);
	cache_drop_locked(c, path, subtree);
	pthread_mutex_unlock(&c->lock);
}

/* --- lookups ------------------------------------------------------------- */

static struct dirview
centry_view(const struct centry *e)
{
	struct dirview v = { .list = &e->list, .index = e->index };

	return v;
}

static void dir_keep(struct cache *c, struct cfetch *f, const char *path,
    int rc, struct backend_dirlist *tmp, const struct backend_dirent ***index);

/*
 * Run fn on the listing of path: cached, joined or fetched.  Lock held on
 * entry and exit, dropped around the inner call; fn runs with it held.
 * Returns fn's result or the listing's error; *hit when it was cached.
 */
static int
cache_with_dir(
    struct cache *c, const char *path, dir_fn fn, void *arg, bool *hit)
{
	struct backend_dirlist tmp = { 0 };
	const struct backend_dirent **index = NULL;
	struct dirview v;
	struct centry *e;
	struct cfetch *f;
	bool stale;
	int rc, ret;

	*hit = false;
	for (;;) {
		e = ctable_get(&c->dirs, path, now_ms());
		if (e != NULL) {
			*hit = true;
			if (e->err != 0)
				return e->err;
			v = centry_view(e);
			return fn(&v, arg);
		}
		f = fetch_find(c, CK_DIR, path);
		if (f == NULL)
			break;
		rc = fetch_join(c, f, &stale, NULL);
		if (stale || rc == -EAGAIN) /* (see cache_fetch_attr) */
			continue;
		if (rc != 0)
			return rc;
		/* Just fetched for us: good even if ttl already ran out. */
		e = ctable_find(&c->dirs, path);
		if (e != NULL && e->err == 0) {
			v = centry_view(e);
			return fn(&v, arg);
		}
		/* Evicted meanwhile: ask again. */
	}

	f = fetch_begin(c, CK_DIR, path);
	pthread_mutex_unlock(&c->lock);
	rc = c->inner->ops->list(c->inner, path, &tmp);
	if (rc == 0)
		index = index_build(&tmp);
	pthread_mutex_lock(&c->lock);

	if (rc == 0) {
		v.list = &tmp;
		v.index = index;
		ret = fn(&v, arg);
	} else {
		ret = rc;
	}
	dir_keep(c, f, path, rc, &tmp, &index);
	backend_dirlist_free(&tmp);
	free(index);
	return ret;
}

/*
 * The listing of path fetched under f (NULL: not shared) ended with rc:
 * keep it (also -EACCES, an unlistable folder), then publish f.  *tmp and
 * *index are taken when kept.  Lock held.
 */
static void
dir_keep(struct cache *c, struct cfetch *f, const char *path, int rc,
    struct backend_dirlist *tmp, const struct backend_dirent ***index)
{
	struct centry *e;

	if (f != NULL && !f->stale && (rc == 0 || rc == -EACCES)) {
		e = ctable_put(
		    &c->dirs, path, f->start_ms + (uint64_t)c->ttl_ms);
		if (e != NULL) {
			e->err = rc;
			if (rc == 0) {
				e->list = *tmp;
				e->index = *index;
				memset(tmp, 0, sizeof(*tmp));
				*index = NULL;
			}
		}
	}
	if (f != NULL) {
		f->rc = rc;
		fetch_end(c, f);
	}
}

/*
 * ->stat of the inner backend, shared by concurrent callers, caching 0 and
 * -ENOENT.  Lock held on entry and exit.
 */
static int
cache_fetch_attr(struct cache *c, const char *path, struct backend_attr *out)
{
	struct backend_attr attr;
	struct centry *e;
	struct cfetch *f;
	bool stale;
	int rc;

	for (;;) {
		e = ctable_get(&c->attrs, path, now_ms());
		if (e != NULL) {
			if (e->err == 0)
				*out = e->attr;
			return e->err;
		}
		f = fetch_find(c, CK_ATTR, path);
		if (f == NULL)
			break;
		rc = fetch_join(c, f, &stale, &attr);
		/* -EAGAIN: a fetch ahead found no connection to spare
		   (pool_background); ask ourselves */
		if (!stale && rc != -EAGAIN) {
			if (rc == 0)
				*out = attr;
			return rc;
		}
	}
	if (c->inner->ops->stat == NULL)
		return -ENOSYS;

	memset(&attr, 0, sizeof(attr));
	f = fetch_begin(c, CK_ATTR, path);
	pthread_mutex_unlock(&c->lock);
	rc = c->inner->ops->stat(c->inner, path, &attr);
	pthread_mutex_lock(&c->lock);
	if (f != NULL && !f->stale && (rc == 0 || rc == -ENOENT)) {
		e = ctable_put(
		    &c->attrs, path, f->start_ms + (uint64_t)c->ttl_ms);
		if (e != NULL) {
			e->err = rc;
			e->attr = attr;
		}
	}
	if (f != NULL) {
		f->rc = rc;
		f->attr = attr;
		fetch_end(c, f);
	}
	if (rc == 0)
		*out = attr;
	return rc;
}

struct stat_arg {
	const char *name;
	struct backend_attr *out;
};

static int
stat_fn(const struct dirview *v, void *arg)
{
	struct stat_arg *sa = arg;
	const struct backend_dirent *d = dirview_find(v, sa->name);

	if (d == NULL)
		return -ENOENT;
	*sa->out = d->attr;
	return 0;
}

static int
copy_fn(const struct dirview *v, void *arg)
{
	struct backend_dirlist *out = arg;
	const struct backend_dirent *d;
	size_t i;
	int rc;

	for (i = 0; i < v->list->count; i++) {
		d = &v->list->ents[i];
		rc = backend_dirlist_add(
		    out, d->name, strlen(d->name), d->link_target, &d->attr);
		if (rc != 0) {
			backend_dirlist_free(out);
			return rc;
		}
	}
	return 0;
}

/* --- backend ops ------------------------------------------------------- */

static int
cache_stat(struct backend *b, const char *path, struct backend_attr *out)
{
	struct cache *c = b->priv;
	struct backend *in = c->inner;
	char parent[PATH_MAX];
	struct stat_arg sa = { .out = out };
	struct dirview v;
	struct centry *e, *d;
	uint64_t now;
	bool hit;
	int rc;

	if (c->ttl_ms <= 0)
		return in->ops->stat != NULL ? in->ops->stat(in, path, out)
		                             : -ENOSYS;
	if (strcmp(path, "/") == 0) {
		/* FTP cannot stat the root cheaply; it is a directory. */
		memset(out, 0, sizeof(*out));
		out->valid = BA_MODE_TYPE | BA_MODE_PERM;
		out->mode = S_IFDIR | 0755;
		return 0;
	}
	rc = backend_path_split(path, parent, sizeof(parent), &sa.name);
	if (rc != 0)
		return rc;

	pthread_mutex_lock(&c->lock);
	now = now_ms();
	/*
	 * The parent's listing first: a single ->stat answer cached before
	 * it must not contradict what readdir just showed (the kernel turns
	 * a type that changes under a name into EIO).  Single answers are
	 * only ever fetched while no listing is cached, so one that coexists
	 * with a listing is the older of the two.
	 */
	d = ctable_get(&c->dirs, parent, now);
	if (d != NULL && d->err == 0) {
		c->stats.stat_hits++;
		v = centry_view(d);
		rc = stat_fn(&v, &sa);
		goto out;
	}
	e = ctable_get(&c->attrs, path, now);
	if (e != NULL) {
		c->stats.stat_hits++;
		rc = e->err;
		if (rc == 0)
			*out = e->attr;
		goto out;
	}
	c->stats.stat_misses++;
	rc = -EACCES;
	if (d == NULL && !(in->caps & BCAP_CHEAP_STAT) && in->ops->list != NULL)
		rc = cache_with_dir(c, parent, stat_fn, &sa, &hit);
	if (rc == -EACCES) /* unlistable parent, or stat is cheap */
		rc = cache_fetch_attr(c, path, out);
out:
	pthread_mutex_unlock(&c->lock);
	return rc;
}

static int
cache_list(struct backend *b, const char *path, struct backend_dirlist *out)
{
	struct cache *c = b->priv;
	bool hit;
	int rc;

	if (c->ttl_ms <= 0)
		return c->inner->ops->list(c->inner, path, out);
	pthread_mutex_lock(&c->lock);
	rc = cache_with_dir(c, path, copy_fn, out, &hit);
	if (hit)
		c->stats.list_hits++;
	else
		c->stats.list_misses++;
	pthread_mutex_unlock(&c->lock);
	return rc;
}

/*
 * Listings ahead of a walk, many at once where the backend can: the paths
 * neither cached nor being fetched are fetched together, each announced
 * as a fetch (a process that comes to one meanwhile joins it) and kept as
 * cache_list keeps one.  rc[i] is 0 for a path left alone; out[] is not
 * filled (the listings are in the cache).
 */
#define CACHE_LIST_MANY_MAX 64

static int
cache_list_many(struct backend *b, const char *const *paths, size_t n,
    struct backend_dirlist *out, int *rc)
{
	struct cache *c = b->priv;
	const char *todo[CACHE_LIST_MANY_MAX];
	struct cfetch *f[CACHE_LIST_MANY_MAX];
	struct backend_dirlist tmp[CACHE_LIST_MANY_MAX];
	int trc[CACHE_LIST_MANY_MAX];
	const struct backend_dirent **index;
	size_t i, m = 0;
	int ret;

	(void)out;
	if (n > CACHE_LIST_MANY_MAX)
		n = CACHE_LIST_MANY_MAX;
	pthread_mutex_lock(&c->lock);
	for (i = 0; i < n; i++) {
		rc[i] = 0;
		if (c->ttl_ms <= 0 ||
		    ctable_get(&c->dirs, paths[i], now_ms()) != NULL ||
		    fetch_find(c, CK_DIR, paths[i]) != NULL)
			continue;
		f[m] = fetch_begin(c, CK_DIR, paths[i]);
		todo[m++] = paths[i];
	}
	pthread_mutex_unlock(&c->lock);
	if (m == 0)
		return 0;
	memset(tmp, 0, sizeof(tmp));
	ret = c->inner->ops->list_many(c->inner, todo, m, tmp, trc);
	for (i = 0; i < m; i++) {
		int r = ret < 0 ? ret : trc[i];

		index = r == 0 ? index_build(&tmp[i]) : NULL;
		pthread_mutex_lock(&c->lock);
		c->stats.list_misses++;
		dir_keep(c, f[i], todo[i], r, &tmp[i], &index);
		pthread_mutex_unlock(&c->lock);
		backend_dirlist_free(&tmp[i]);
		free(index);
	}
	return ret;
}

static int
cache_readlink(struct backend *b, const char *path, char *buf, size_t size)
{
	struct cache *c = b->priv;
	struct backend *in = c->inner;
	char parent[PATH_MAX];
	const struct backend_dirent *d;
	const char *name;
	struct dirview v;
	struct centry *e;
	size_t n;
	int rc = -ENOSYS;

	if (size == 0)
		return -EINVAL;
	if (c->ttl_ms > 0 &&
	    backend_path_split(path, parent, sizeof(parent), &name) == 0) {
		pthread_mutex_lock(&c->lock);
		e = ctable_get(&c->dirs, parent, now_ms());
		if (e != NULL && e->err == 0) {
			v = centry_view(e);
			d = dirview_find(&v, name);
			if (d != NULL && d->link_target != NULL) {
				n = strlen(d->link_target);
				if (n >= size)
					n = size - 1;
				memcpy(buf, d->link_target, n);
				buf[n] = '\0';
				rc = 0;
			}
		}
		pthread_mutex_unlock(&c->lock);
		if (rc == 0)
			return 0;
	}
	if (in->ops->readlink == NULL)
		return -ENOSYS;
	return in->ops->readlink(in, path, buf, size);
}

static struct wfile *
wfile_find(struct cache *c, const struct backend_file *f, bool unlink)
{
	struct wfile **pp, *w;

	for (pp = &c->wfiles; *pp != NULL; pp = &(*pp)->next) {
		w = *pp;
		if (w->f != f)
			continue;
		if (unlink)
			*pp = w->next;
		return w;
	}
	return NULL;
}

static int
cache_open(struct backend *b, const char *path, unsigned flags, mode_t mode,
    int64_t known_size, struct backend_file **out)
{
	struct cache *c = b->priv;
	struct backend *in = c->inner;
	struct wfile *w = NULL;
	int rc;

	if (c->ttl_ms <= 0 || !(flags & (BO_WRITE | BO_CREATE | BO_TRUNC)))
		return in->ops->open(in, path, flags, mode, known_size, out);
	if (flags & BO_WRITE) {
		/* Allocated first: a writer we cannot track must not run. */
		w = calloc(1, sizeof(*w));
		if (w == NULL)
			return -ENOMEM;
		w->path = strdup(path);
		if (w->path == NULL) {
			free(w);
			return -ENOMEM;
		}
	}
	rc = in->ops->open(in, path, flags, mode, known_size, out);
	pthread_mutex_lock(&c->lock);
	cache_drop_locked(c, path, false);
	if (rc == 0 && w != NULL) {
		w->f = *out;
		w->next = c->wfiles;
		c->wfiles = w;
		w = NULL;
	}
	pthread_mutex_unlock(&c->lock);
	if (w != NULL) {
		free(w->path);
		free(w);
	}
	return rc;
}

static ssize_t
cache_read(struct backend *b, struct backend_file *f, char *buf, size_t size,
    off_t off)
{
	struct cache *c = b->priv;

	return c->inner->ops->read(c->inner, f, buf, size, off);
}

static int
cache_fetch_many(struct backend *b, struct backend_fetch_batch *bt)
{
	struct cache *c = b->priv;

	return c->inner->ops->fetch_many(c->inner, bt);
}

static ssize_t
cache_read_pipe(struct backend *b, struct backend_file *f, int pipe_wr,
    size_t size, off_t off)
{
	struct cache *c = b->priv;

	return c->inner->ops->read_pipe(c->inner, f, pipe_wr, size, off);
}

/* After an op on a handle: a written file changed on the server. */
static void
cache_handle_changed(struct cache *c, const struct backend_file *f)
{
	struct wfile *w;

	if (c->ttl_ms <= 0)
		return;
	pthread_mutex_lock(&c->lock);
	w = wfile_find(c, f, false);
	if (w != NULL)
		cache_drop_locked(c, w->path, false);
	pthread_mutex_unlock(&c->lock);
}

static ssize_t
cache_write(struct backend *b, struct backend_file *f, const char *buf,
    size_t size, off_t off)
{
	struct cache *c = b->priv;
	ssize_t n;

	n = c->inner->ops->write(c->inner, f, buf, size, off);
	cache_handle_changed(c, f);
	return n;
}

static int
cache_flush(struct backend *b, struct backend_file *f)
{
	struct cache *c = b->priv;
	int rc;

	rc = c->inner->ops->flush(c->inner, f);
	cache_handle_changed(c, f);
	return rc;
}

static int
cache_fsync(struct backend *b, struct backend_file *f)
{
	struct cache *c = b->priv;

	return c->inner->ops->fsync(c->inner, f);
}

static int
cache_ftruncate(struct backend *b, struct backend_file *f, off_t size)
{
	struct cache *c = b->priv;
	int rc;

	rc = c->inner->ops->ftruncate(c->inner, f, size);
	cache_handle_changed(c, f);
	return rc;
}

static int cache_close(struct backend *b, struct backend_file *f, bool abandon);

static int
cache_release(struct backend *b, struct backend_file *f)
{
	return cache_close(b, f, false);
}

static void
cache_abandon(struct backend *b, struct backend_file *f)
{
	cache_close(b, f, true);
}

static void
cache_renamed(struct backend *b, struct backend_file *f, const char *path)
{
	struct cache *c = b->priv;
	struct wfile *w;
	char *dup = strdup(path);

	/* The listing to refresh at close is the new name's. */
	pthread_mutex_lock(&c->lock);
	w = wfile_find(c, f, false);
	if (w != NULL && dup != NULL) {
		free(w->path);
		w->path = dup;
		dup = NULL;
	}
	pthread_mutex_unlock(&c->lock);
	free(dup);
	c->inner->ops->renamed(c->inner, f, path);
}

static int
cache_close(struct backend *b, struct backend_file *f, bool abandon)
{
	struct cache *c = b->priv;
	struct wfile *w = NULL;
	int rc = 0;

	/* Unlink first: once released, f may be reused by another open. */
	if (c->ttl_ms > 0) {
		pthread_mutex_lock(&c->lock);
		w = wfile_find(c, f, true);
		pthread_mutex_unlock(&c->lock);
	}
	if (!abandon)
		rc = c->inner->ops->release(c->inner, f);
	else if (c->inner->ops->abandon != NULL)
		c->inner->ops->abandon(c->inner, f);
	else
		c->inner->ops->release(c->inner, f);
	if (w != NULL) {
		cache_changed(c, w->path, false);
		free(w->path);
		free(w);
	}
	return rc;
}

static int
cache_mkdir(struct backend *b, const char *path, mode_t mode)
{
	struct cache *c = b->priv;
	int rc;

	rc = c->inner->ops->mkdir(c->inner, path, mode);
	cache_changed(c, path, false);
	return rc;
}

static int
cache_rmdir(struct backend *b, const char *path)
{
	struct cache *c = b->priv;
	int rc;

	rc = c->inner->ops->rmdir(c->inner, path);
	cache_changed(c, path, true);
	return rc;
}

static int
cache_unlink(struct backend *b, const char *path)
{
	struct cache *c = b->priv;
	int rc;

	rc = c->inner->ops->unlink(c->inner, path);
	cache_changed(c, path, false);
	return rc;
}

static void
cache_unlink_later(struct backend *b, const char *path, uint64_t max_size)
{
	struct cache *c = b->priv;

	c->inner->ops->unlink_later(c->inner, path, max_size);
	cache_changed(c, path, false);
}

static int
cache_rename(
    struct backend *b, const char *from, const char *to, unsigned flags)
{
	struct cache *c = b->priv;
	int rc;

	rc = c->inner->ops->rename(c->inner, from, to, flags);
	if (c->ttl_ms > 0) {
		/* Either may be a directory; to may have been replaced. */
		pthread_mutex_lock(&c->lock);
		cache_drop_locked(c, from, true);
		cache_drop_locked(c, to, true);
		pthread_mutex_unlock(&c->lock);
	}
	return rc;
}

static int
cache_chmod(struct backend *b, const char *path, mode_t mode)
{
	struct cache *c = b->priv;
	int rc;

	rc = c->inner->ops->chmod(c->inner, path, mode);
	cache_changed(c, path, false);
	return rc;
}

static int
cache_set_times(struct backend *b, const char *path,
    const struct timespec *atime, const struct timespec *mtime)
{
	struct cache *c = b->priv;
	int rc;

	rc = c->inner->ops->set_times(c->inner, path, atime, mtime);
	cache_changed(c, path, false);
	return rc;
}

static int
cache_set_mtime(
    struct backend *b, const char *path, const struct timespec *mtime)
{
	struct cache *c = b->priv;
	int rc;

	rc = c->inner->ops->set_mtime(c->inner, path, mtime);
	cache_changed(c, path, false);
	return rc;
}

static int
cache_truncate(struct backend *b, const char *path, off_t size)
{
	struct cache *c = b->priv;
	int rc;

	rc = c->inner->ops->truncate(c->inner, path, size);
	cache_changed(c, path, false);
	return rc;
}

static int
cache_access(struct backend *b, const char *path, int mode)
{
	struct cache *c = b->priv;

	/* Never cached: asked right before a change, it must be current. */
	if (c->inner->ops->access == NULL)
		return 0;
	return c->inner->ops->access(c->inner, path, mode);
}

static int
cache_symlink(struct backend *b, const char *target, const char *linkpath)
{
	struct cache *c = b->priv;
	int rc;

	rc = c->inner->ops->symlink(c->inner, target, linkpath);
	cache_changed(c, linkpath, false);
	return rc;
}

static int
cache_link(struct backend *b, const char *from, const char *to)
{
	struct cache *c = b->priv;
	int rc;

	if (c->inner->ops->link == NULL)
		return -EPERM;
	rc = c->inner->ops->link(c->inner, from, to);
	cache_changed(c, from, false); /* its link count */
	cache_changed(c, to, false);
	return rc;
}

static int
cache_statfs(struct backend *b, const char *path, struct statvfs *out)
{
	struct cache *c = b->priv;

	return c->inner->ops->statfs(c->inner, path, out);
}

static int
cache_stat_now(struct backend *b, const char *path, struct backend_attr *out)
{
	struct cache *c = b->priv;
	struct backend *in = c->inner;

	cache_changed(c, path, true);
	if (in->ops->stat_now != NULL)
		return in->ops->stat_now(in, path, out);
	return in->ops->stat != NULL ? in->ops->stat(in, path, out) : -ENOSYS;
}

static void
cache_invalidate(struct backend *b, const char *path)
{
	struct cache *c = b->priv;

	cache_changed(c, path, true);
	if (c->inner->ops->invalidate != NULL)
		c->inner->ops->invalidate(c->inner, path);
}

static void
cache_destroy(struct backend *b)
{
	struct cache *c;
	struct wfile *w;

	if (b == NULL)
		return;
	c = b->priv;
	c->inner->ops->destroy(c->inner);
	while ((w = c->wfiles) != NULL) {
		c->wfiles = w->next;
		free(w->path);
		free(w);
	}
	ctable_free(&c->dirs);
	ctable_free(&c->attrs);
	pthread_cond_destroy(&c->fetch_cond);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

static const struct backend_ops cache_ops = {
	.name = "cache",
	.stat = cache_stat,
	.stat_now = cache_stat_now,
	.list = cache_list,
	.readlink = cache_readlink,
	.open = cache_open,
	.read = cache_read,
	.read_pipe = cache_read_pipe,
	.fetch_many = cache_fetch_many,
	.write = cache_write,
	.flush = cache_flush,
	.fsync = cache_fsync,
	.ftruncate = cache_ftruncate,
	.release = cache_release,
	.abandon = cache_abandon,
	.renamed = cache_renamed,
	.mkdir = cache_mkdir,
	.rmdir = cache_rmdir,
	.unlink = cache_unlink,
	.unlink_later = cache_unlink_later,
	.rename = cache_rename,
	.chmod = cache_chmod,
	.set_mtime = cache_set_mtime,
	.set_times = cache_set_times,
	.truncate = cache_truncate,
	.access = cache_access,
	.symlink = cache_symlink,
	.link = cache_link,
	.statfs = cache_statfs,
	.list_many = cache_list_many,
	.invalidate = cache_invalidate,
	.destroy = cache_destroy,
};

/* Keep our op only where the inner backend has one (NULL = unsupported). */
static void
cache_ops_mask(struct backend_ops *o, const struct backend_ops *in)
{
	if (in->stat == NULL && in->list == NULL)
		o->stat = NULL;
	if (in->list == NULL)
		o->list = NULL;
	if (in->readlink == NULL && in->list == NULL)
		o->readlink = NULL;
#define CACHE_MASK(op)                                                         \
	do {                                                                   \
		if (in->op == NULL)                                            \
			o->op = NULL;                                          \
	} while (0)
	CACHE_MASK(open);
	CACHE_MASK(read);
	CACHE_MASK(read_pipe);
	CACHE_MASK(fetch_many);
	CACHE_MASK(write);
	CACHE_MASK(flush);
	CACHE_MASK(fsync);
	CACHE_MASK(ftruncate);
	CACHE_MASK(release);
	CACHE_MASK(abandon);
	CACHE_MASK(renamed);
	CACHE_MASK(mkdir);
	CACHE_MASK(rmdir);
	CACHE_MASK(unlink);
	CACHE_MASK(unlink_later);
	CACHE_MASK(rename);
	CACHE_MASK(chmod);
	CACHE_MASK(set_mtime);
	CACHE_MASK(set_times);
	CACHE_MASK(truncate);
	CACHE_MASK(symlink);
	CACHE_MASK(statfs);
	CACHE_MASK(list_many);
#undef CACHE_MASK
}

int
cache_backend_new(struct backend *inner, int ttl_ms, struct backend **out)
{
	struct cache *c;
	int rc;

	*out = NULL;
	if (inner == NULL || inner->ops == NULL || inner->ops->destroy == NULL)
		return -EINVAL;
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return -ENOMEM;
	c->inner = inner;
	c->ttl_ms = ttl_ms;
	c->ops = cache_ops;
	cache_ops_mask(&c->ops, inner->ops);
	c->be.ops = &c->ops;
	c->be.caps = inner->caps;
	c->be.priv = c;

	rc = ctable_init(&c->dirs, CACHE_MAX_DIRS);
	if (rc == 0)
		rc = ctable_init(&c->attrs, CACHE_MAX_ATTRS);
	if (rc != 0)
		goto fail;
	rc = -pthread_mutex_init(&c->lock, NULL);
	if (rc != 0)
		goto fail;
	rc = -pthread_cond_init(&c->fetch_cond, NULL);
	if (rc != 0) {
		pthread_mutex_destroy(&c->lock);
		goto fail;
	}
	*out = &c->be;
	return 0;
fail:
	ctable_free(&c->dirs);
	ctable_free(&c->attrs);
	free(c);
	return rc;
}

void
cache_get_stats(struct backend *b, struct cache_stats *out)
{
	struct cache *c;

	memset(out, 0, sizeof(*out));
	if (b == NULL || b->ops == NULL || b->ops->destroy != cache_destroy)
		return;
	c = b->priv;
	pthread_mutex_lock(&c->lock);
	*out = c->stats;
	pthread_mutex_unlock(&c->lock);
}
