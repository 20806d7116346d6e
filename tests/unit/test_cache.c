/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cache tests against a mock inner backend that serves a fixed tree and
 * counts every call:
 *
 *   /          d/ dd/ e/ file link -> d/f0
 *   /d         f0..f9 (size i) sub/
 *   /d/sub     x/
 *   /d/sub/x   (empty)
 *   /dd        y
 *   /e         unlistable (-EACCES); /e/y can be stat'ed
 *   /p         lnk: what ProFTPD shows of a symlink, listed (MLSD) as a
 *              link, stat'ed (MLST) as a 0777 file; gone: stat'ed, not
 *              listed (not in the listing of /)
 *   /many/N    (empty, any N)
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "backend.h"
#include "cache.h"
#include "log.h"

struct mock {
	atomic_int n_stat, n_list, n_readlink, n_open, n_read, n_write;
	atomic_int n_flush, n_release, n_mod, n_invalidate, n_destroy;
	atomic_int n_statfs, n_list_many;
	atomic_int many_rc; /* what mock_list_many returns */
	atomic_int list_delay_ms;
	atomic_int mod_rc; /* what modifying ops return */
};

struct backend_file {
	int dummy;
};

static void
sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) != 0)
		;
}

static void
add(struct backend_dirlist *l, const char *name, mode_t mode, uint64_t size,
    const char *target)
{
	struct backend_attr a = {
		.valid = BA_MODE_TYPE | BA_MODE_PERM | BA_SIZE,
		.mode = mode,
		.size = size,
	};

	assert_int_equal(
	    backend_dirlist_add(l, name, strlen(name), target, &a), 0);
}

/* The tree, uncounted. */
static int
tree_list(const char *path, struct backend_dirlist *out)
{
	char name[16];
	int i;

	if (strcmp(path, "/") == 0) {
		add(out, "d", S_IFDIR | 0755, 0, NULL);
		add(out, "dd", S_IFDIR | 0755, 0, NULL);
		add(out, "e", S_IFDIR | 0711, 0, NULL);
		add(out, "file", S_IFREG | 0644, 5, NULL);
		add(out, "link", S_IFLNK | 0777, 4, "d/f0");
	} else if (strcmp(path, "/d") == 0) {
		for (i = 0; i < 10; i++) {
			snprintf(name, sizeof(name), "f%d", i);
			add(out, name, S_IFREG | 0644, (uint64_t)i, NULL);
		}
		add(out, "sub", S_IFDIR | 0755, 0, NULL);
	} else if (strcmp(path, "/d/sub") == 0) {
		add(out, "x", S_IFDIR | 0755, 0, NULL);
	} else if (strcmp(path, "/dd") == 0) {
		add(out, "y", S_IFREG | 0644, 1, NULL);
	} else if (strcmp(path, "/e") == 0) {
		return -EACCES;
	} else if (strcmp(path, "/p") == 0) {
		add(out, "lnk", S_IFLNK | 0777, 7, NULL);
	} else if (strcmp(path, "/d/sub/x") != 0 &&
	    strncmp(path, "/many/", 6) != 0) {
		return -ENOENT;
	}
	return 0;
}

static int
mock_stat(struct backend *b, const char *path, struct backend_attr *out)
{
	struct mock *m = b->priv;
	struct backend_dirlist l = { 0 };
	const struct backend_dirent *d;
	char parent[256];
	const char *name;
	int rc;

	atomic_fetch_add(&m->n_stat, 1);
	memset(out, 0, sizeof(*out));
	if (strcmp(path, "/") == 0 || strcmp(path, "/e") == 0) {
		out->valid = BA_MODE_TYPE;
		out->mode = S_IFDIR | 0755;
		return 0;
	}
	if (strcmp(path, "/p/lnk") == 0 || strcmp(path, "/p/gone") == 0) {
		/* ProFTPD's MLST: the target's type, the link's size, mode */
		out->valid = BA_MODE_TYPE | BA_MODE_PERM | BA_SIZE;
		out->mode = S_IFREG | 0777;
		out->size = 7;
		return 0;
	}
	if (strcmp(path, "/e/y") == 0) {
		out->valid = BA_MODE_TYPE | BA_SIZE;
		out->mode = S_IFREG | 0600;
		out->size = 42;
		return 0;
	}
	rc = backend_path_split(path, parent, sizeof(parent), &name);
	if (rc != 0)
		return rc;
	rc = tree_list(parent, &l);
	if (rc == 0) {
		d = backend_dirlist_find(&l, name);
		if (d != NULL)
			*out = d->attr;
		else
			rc = -ENOENT;
	} else {
		rc = -ENOENT;
	}
	backend_dirlist_free(&l);
	return rc;
}

static int
mock_list(struct backend *b, const char *path, struct backend_dirlist *out)
{
	struct mock *m = b->priv;
	int delay = atomic_load(&m->list_delay_ms);

	atomic_fetch_add(&m->n_list, 1);
	if (delay > 0)
		sleep_ms(delay);
	return tree_list(path, out);
}

/* Each path through mock_list (counted there too), in one call. */
static int
mock_list_many(struct backend *b, const char *const *paths, size_t n,
    struct backend_dirlist *out, int *rc)
{
	struct mock *m = b->priv;
	size_t i;

	atomic_fetch_add(&m->n_list_many, 1);
	if (atomic_load(&m->many_rc) < 0)
		return atomic_load(&m->many_rc);
	for (i = 0; i < n; i++)
		rc[i] = mock_list(b, paths[i], &out[i]);
	return 0;
}

static int
mock_readlink(struct backend *b, const char *path, char *buf, size_t size)
{
	struct mock *m = b->priv;

	atomic_fetch_add(&m->n_readlink, 1);
	if (strcmp(path, "/link") != 0)
		return -EINVAL;
	snprintf(buf, size, "%s", "d/f0");
	return 0;
}

static int
mock_open(struct backend *b, const char *path, unsigned flags, mode_t mode,
    int64_t known_size, struct backend_file **out)
{
	struct mock *m = b->priv;
	int rc = atomic_load(&m->mod_rc);

	atomic_fetch_add(&m->n_open, 1);
	if ((flags & BO_WRITE) && rc != 0)
		return rc;
	*out = calloc(1, sizeof(**out));
	return *out != NULL ? 0 : -ENOMEM;
}

static ssize_t
mock_read(struct backend *b, struct backend_file *f, char *buf, size_t size,
    off_t off)
{
	struct mock *m = b->priv;

	atomic_fetch_add(&m->n_read, 1);
	return 0;
}

static ssize_t
mock_write(struct backend *b, struct backend_file *f, const char *buf,
    size_t size, off_t off)
{
	struct mock *m = b->priv;

	atomic_fetch_add(&m->n_write, 1);
	return (ssize_t)size;
}

static int
mock_flush(struct backend *b, struct backend_file *f)
{
	struct mock *m = b->priv;

	atomic_fetch_add(&m->n_flush, 1);
	return 0;
}

static int
mock_release(struct backend *b, struct backend_file *f)
{
	struct mock *m = b->priv;

	atomic_fetch_add(&m->n_release, 1);
	free(f);
	return 0;
}

static int
mock_mod(struct backend *b)
{
	struct mock *m = b->priv;

	atomic_fetch_add(&m->n_mod, 1);
	return atomic_load(&m->mod_rc);
}

static int
mock_mkdir(struct backend *b, const char *path, mode_t mode)
{
	return mock_mod(b);
}

static int
mock_rmdir(struct backend *b, const char *path)
{
	return mock_mod(b);
}

static int
mock_unlink(struct backend *b, const char *path)
{
	return mock_mod(b);
}

static int
mock_rename(struct backend *b, const char *from, const char *to, unsigned flags)
{
	return mock_mod(b);
}

static int
mock_chmod(struct backend *b, const char *path, mode_t mode)
{
	return mock_mod(b);
}

static int
mock_set_mtime(
    struct backend *b, const char *path, const struct timespec *mtime)
{
	return mock_mod(b);
}

static int
mock_truncate(struct backend *b, const char *path, off_t size)
{
	return mock_mod(b);
}

static int
mock_symlink(struct backend *b, const char *target, const char *linkpath)
{
	return mock_mod(b);
}

static int
mock_statfs(struct backend *b, const char *path, struct statvfs *out)
{
	struct mock *m = b->priv;

	(void)path;
	atomic_fetch_add(&m->n_statfs, 1);
	memset(out, 0, sizeof(*out));
	out->f_bsize = 4096;
	out->f_bfree = (fsblkcnt_t)atomic_load(&m->n_statfs);
	return 0;
}

static void
mock_invalidate(struct backend *b, const char *path)
{
	struct mock *m = b->priv;

	atomic_fetch_add(&m->n_invalidate, 1);
}

static void
mock_destroy(struct backend *b)
{
	struct mock *m = b->priv;

	atomic_fetch_add(&m->n_destroy, 1);
}

static const struct backend_ops mock_ops = {
	.name = "mock",
	.stat = mock_stat,
	.list = mock_list,
	.readlink = mock_readlink,
	.open = mock_open,
	.read = mock_read,
	.write = mock_write,
	.flush = mock_flush,
	.release = mock_release,
	.mkdir = mock_mkdir,
	.rmdir = mock_rmdir,
	.unlink = mock_unlink,
	.rename = mock_rename,
	.chmod = mock_chmod,
	.set_mtime = mock_set_mtime,
	.truncate = mock_truncate,
	.symlink = mock_symlink,
	.statfs = mock_statfs,
	.list_many = mock_list_many,
	.invalidate = mock_invalidate,
	.destroy = mock_destroy,
};

struct fixture {
	struct mock m;
	struct backend inner;
	struct backend *c;
};

static struct fixture *
fixture_new(int ttl_ms, unsigned caps)
{
	struct fixture *fx = calloc(1, sizeof(*fx));

	assert_non_null(fx);
	fx->inner.ops = &mock_ops;
	fx->inner.caps = caps;
	fx->inner.priv = &fx->m;
	assert_int_equal(cache_backend_new(&fx->inner, ttl_ms, &fx->c), 0);
	assert_int_equal(fx->c->caps, caps);
	return fx;
}

static void
fixture_free(struct fixture *fx)
{
	fx->c->ops->destroy(fx->c);
	assert_int_equal(atomic_load(&fx->m.n_destroy), 1);
	free(fx);
}

#define N_LIST(fx) atomic_load(&(fx)->m.n_list)
#define N_STAT(fx) atomic_load(&(fx)->m.n_stat)

static int
c_stat(struct fixture *fx, const char *path, struct backend_attr *a)
{
	struct backend_attr tmp;

	return fx->c->ops->stat(fx->c, path, a != NULL ? a : &tmp);
}

static int
c_list(struct fixture *fx, const char *path, size_t *count)
{
	struct backend_dirlist l = { 0 };
	int rc;

	rc = fx->c->ops->list(fx->c, path, &l);
	if (count != NULL)
		*count = l.count;
	backend_dirlist_free(&l);
	return rc;
}

/* --- lookups ------------------------------------------------------------ */

static void
test_ls_l(void **state)
{
	struct fixture *fx = fixture_new(10000, 0);
	struct backend_dirlist l = { 0 };
	struct backend_attr a;
	struct cache_stats st;
	char path[64];
	size_t i;

	(void)state;
	assert_int_equal(fx->c->ops->list(fx->c, "/d", &l), 0);
	assert_int_equal(l.count, 11);
	for (i = 0; i < l.count; i++) {
		snprintf(path, sizeof(path), "/d/%s", l.ents[i].name);
		assert_int_equal(c_stat(fx, path, &a), 0);
		assert_int_equal(a.mode, l.ents[i].attr.mode);
		assert_int_equal(a.size, l.ents[i].attr.size);
	}
	backend_dirlist_free(&l);
	assert_int_equal(N_LIST(fx), 1);
	assert_int_equal(N_STAT(fx), 0);
	assert_int_equal(c_list(fx, "/d", NULL), 0);
	assert_int_equal(N_LIST(fx), 1);

	cache_get_stats(fx->c, &st);
	assert_int_equal(st.list_misses, 1);
	assert_int_equal(st.list_hits, 1);
	assert_int_equal(st.stat_hits, 11);
	assert_int_equal(st.stat_misses, 0);
	fixture_free(fx);
}

static void
test_stat_miss_lists_parent(void **state)
{
	struct fixture *fx = fixture_new(10000, 0);
	struct backend_attr a;
	struct cache_stats st;

	(void)state;
	assert_int_equal(c_stat(fx, "/d/f3", &a), 0);
	assert_int_equal(a.size, 3);
	assert_true(S_ISREG(a.mode));
	assert_int_equal(N_LIST(fx), 1);
	assert_int_equal(c_stat(fx, "/d/sub", &a), 0);
	assert_true(S_ISDIR(a.mode));
	/* Negative answers come from the same listing. */
	assert_int_equal(c_stat(fx, "/d/nope", &a), -ENOENT);
	assert_int_equal(c_stat(fx, "/d/nope", &a), -ENOENT);
	assert_int_equal(N_LIST(fx), 1);
	assert_int_equal(N_STAT(fx), 0);
	/* A parent that does not exist. */
	assert_int_equal(c_stat(fx, "/nodir/x", &a), -ENOENT);
	assert_int_equal(N_LIST(fx), 2);

	cache_get_stats(fx->c, &st);
	assert_int_equal(st.stat_misses, 2);
	assert_int_equal(st.stat_hits, 3);
	fixture_free(fx);
}

static void
test_root(void **state)
{
	struct fixture *fx = fixture_new(10000, 0);
	struct backend_attr a;

	(void)state;
	assert_int_equal(c_stat(fx, "/", &a), 0);
	assert_true(S_ISDIR(a.mode));
	assert_int_equal(a.mode & 07777, 0755);
	assert_int_equal(N_LIST(fx) + N_STAT(fx), 0);
	/* Top-level names come from the listing of "/". */
	assert_int_equal(c_stat(fx, "/file", &a), 0);
	assert_int_equal(a.size, 5);
	assert_int_equal(c_stat(fx, "/d", &a), 0);
	assert_int_equal(N_LIST(fx), 1);
	fixture_free(fx);
}

static void
test_list_is_a_copy(void **state)
{
	struct fixture *fx = fixture_new(10000, 0);
	struct backend_dirlist l = { 0 };
	size_t n;

	(void)state;
	assert_int_equal(fx->c->ops->list(fx->c, "/", &l), 0);
	assert_int_equal(l.count, 5);
	l.ents[0].name[0] = 'X';
	backend_dirlist_free(&l);
	assert_int_equal(fx->c->ops->list(fx->c, "/", &l), 0);
	assert_string_equal(l.ents[0].name, "d");
	assert_string_equal(l.ents[4].link_target, "d/f0");
	backend_dirlist_free(&l);
	assert_int_equal(c_list(fx, "/d/sub/x", &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(c_list(fx, "/nodir", NULL), -ENOENT);
	assert_int_equal(c_list(fx, "/nodir", NULL), -ENOENT); /* not cached */
	assert_int_equal(N_LIST(fx), 4);
	fixture_free(fx);
}

static void
test_ttl_expiry(void **state)
{
	struct fixture *fx = fixture_new(100, 0);

	(void)state;
	assert_int_equal(c_list(fx, "/d", NULL), 0);
	assert_int_equal(c_stat(fx, "/d/f0", NULL), 0);
	assert_int_equal(N_LIST(fx), 1);
	sleep_ms(150);
	assert_int_equal(c_stat(fx, "/d/f0", NULL), 0);
	assert_int_equal(N_LIST(fx), 2);
	assert_int_equal(c_list(fx, "/d", NULL), 0);
	assert_int_equal(N_LIST(fx), 2);
	sleep_ms(150);
	assert_int_equal(c_list(fx, "/d", NULL), 0);
	assert_int_equal(N_LIST(fx), 3);
	fixture_free(fx);
}

static void
test_cheap_stat(void **state)
{
	struct fixture *fx = fixture_new(10000, BCAP_CHEAP_STAT);
	struct backend_attr a;

	(void)state;
	assert_int_equal(c_stat(fx, "/d/f2", &a), 0);
	assert_int_equal(a.size, 2);
	assert_int_equal(c_stat(fx, "/d/f2", &a), 0);
	assert_int_equal(N_STAT(fx), 1);
	assert_int_equal(N_LIST(fx), 0);
	assert_int_equal(c_stat(fx, "/d/nope", &a), -ENOENT);
	assert_int_equal(c_stat(fx, "/d/nope", &a), -ENOENT);
	assert_int_equal(N_STAT(fx), 2);
	/* Once listed, the listing answers. */
	assert_int_equal(c_list(fx, "/d", NULL), 0);
	assert_int_equal(c_stat(fx, "/d/f5", &a), 0);
	assert_int_equal(a.size, 5);
	assert_int_equal(N_STAT(fx), 2);
	assert_int_equal(N_LIST(fx), 1);
	fixture_free(fx);
}

/*
 * A stat answer cached before the folder's listing must not contradict it
 * (issue 8: ProFTPD's MLST says "type=file" where its MLSD says
 * "type=OS.unix=symlink"; the kernel then sees the type of one name
 * change and answers EIO).  Once listed, the listing answers.
 */
static void
test_listing_wins_over_stat(void **state)
{
	struct fixture *fx = fixture_new(10000, BCAP_CHEAP_STAT);
	struct backend_attr a;

	(void)state;
	assert_int_equal(c_stat(fx, "/p/lnk", &a), 0);
	assert_true(S_ISREG(a.mode));
	assert_int_equal(c_stat(fx, "/p/gone", &a), 0);
	assert_int_equal(N_STAT(fx), 2);
	assert_int_equal(c_list(fx, "/p", NULL), 0);
	assert_int_equal(c_stat(fx, "/p/lnk", &a), 0);
	assert_true(S_ISLNK(a.mode));
	assert_int_equal(a.mode & 07777, 0777);
	assert_int_equal(a.size, 7);
	assert_int_equal(c_stat(fx, "/p/gone", &a), -ENOENT);
	assert_int_equal(N_STAT(fx), 2);
	assert_int_equal(N_LIST(fx), 1);
	fixture_free(fx);
}

static void
test_cheap_stat_ttl(void **state)
{
	struct fixture *fx = fixture_new(80, BCAP_CHEAP_STAT);

	(void)state;
	assert_int_equal(c_stat(fx, "/d/nope", NULL), -ENOENT);
	assert_int_equal(c_stat(fx, "/d/nope", NULL), -ENOENT);
	assert_int_equal(N_STAT(fx), 1);
	sleep_ms(120);
	assert_int_equal(c_stat(fx, "/d/nope", NULL), -ENOENT);
	assert_int_equal(N_STAT(fx), 2);
	fixture_free(fx);
}

static void
test_unlistable_parent(void **state)
{
	struct fixture *fx = fixture_new(10000, 0);
	struct backend_attr a;

	(void)state;
	assert_int_equal(c_stat(fx, "/e/y", &a), 0);
	assert_int_equal(a.size, 42);
	assert_int_equal(N_LIST(fx), 1);
	assert_int_equal(N_STAT(fx), 1);
	assert_int_equal(c_stat(fx, "/e/y", &a), 0);
	assert_int_equal(N_STAT(fx), 1);
	/* Known unlistable: straight to ->stat, and negatives are cached. */
	assert_int_equal(c_stat(fx, "/e/z", &a), -ENOENT);
	assert_int_equal(c_stat(fx, "/e/z", &a), -ENOENT);
	assert_int_equal(N_LIST(fx), 1);
	assert_int_equal(N_STAT(fx), 2);
	assert_int_equal(c_list(fx, "/e", NULL), -EACCES);
	assert_int_equal(N_LIST(fx), 1);
	fixture_free(fx);
}

static void
test_readlink(void **state)
{
	struct fixture *fx = fixture_new(10000, 0);
	char buf[64];

	(void)state;
	/* Not listed yet: asks the inner backend. */
	assert_int_equal(fx->c->ops->readlink(fx->c, "/link", buf, 64), 0);
	assert_string_equal(buf, "d/f0");
	assert_int_equal(atomic_load(&fx->m.n_readlink), 1);
	assert_int_equal(c_list(fx, "/", NULL), 0);
	memset(buf, 0, sizeof(buf));
	assert_int_equal(fx->c->ops->readlink(fx->c, "/link", buf, 64), 0);
	assert_string_equal(buf, "d/f0");
	assert_int_equal(fx->c->ops->readlink(fx->c, "/link", buf, 3), 0);
	assert_string_equal(buf, "d/");
	assert_int_equal(atomic_load(&fx->m.n_readlink), 1);
	/* No target in the listing: inner. */
	assert_int_equal(
	    fx->c->ops->readlink(fx->c, "/file", buf, 64), -EINVAL);
	assert_int_equal(atomic_load(&fx->m.n_readlink), 2);
	fixture_free(fx);
}

/*
 * list_many (a walk listed ahead): what is cached is left alone, the rest
 * is listed in one call and kept as cache_list keeps a listing (an
 * unlistable folder too); a missing one is not kept; -EAGAIN keeps
 * nothing.
 */
static void
test_list_many(void **state)
{
	struct fixture *fx = fixture_new(20000, 0);
	const char *paths[] = { "/d", "/dd", "/e", "/nope", "/d/sub" };
	struct backend_dirlist out[5];
	int rc[5];

	(void)state;
	assert_int_equal(c_list(fx, "/d", NULL), 0);
	assert_int_equal(N_LIST(fx), 1);
	/* -EAGAIN: nothing kept, the next asks again */
	atomic_store(&fx->m.many_rc, -EAGAIN);
	memset(out, 0, sizeof(out));
	assert_int_equal(
	    fx->c->ops->list_many(fx->c, paths, 5, out, rc), -EAGAIN);
	atomic_store(&fx->m.many_rc, 0);
	assert_int_equal(fx->c->ops->list_many(fx->c, paths, 5, out, rc), 0);
	assert_int_equal(atomic_load(&fx->m.n_list_many), 2);
	assert_int_equal(N_LIST(fx), 1 + 4); /* "/d" was cached */
	assert_int_equal(out[0].count + out[1].count + out[4].count, 0);
	/* kept: no more listings for these */
	assert_int_equal(c_list(fx, "/dd", NULL), 0);
	assert_int_equal(c_list(fx, "/d/sub", NULL), 0);
	assert_int_equal(c_list(fx, "/e", NULL), -EACCES);
	assert_int_equal(N_LIST(fx), 5);
	/* a missing folder is asked again */
	assert_int_equal(c_list(fx, "/nope", NULL), -ENOENT);
	assert_int_equal(N_LIST(fx), 6);
	fixture_free(fx);
}

static void
test_ttl_zero_passthrough(void **state)
{
	struct fixture *fx = fixture_new(0, 0);
	struct backend_attr a;
	struct cache_stats st;
	char buf[16];

	(void)state;
	assert_int_equal(c_list(fx, "/d", NULL), 0);
	assert_int_equal(c_list(fx, "/d", NULL), 0);
	assert_int_equal(N_LIST(fx), 2);
	assert_int_equal(c_stat(fx, "/d/f1", &a), 0);
	assert_int_equal(c_stat(fx, "/d/f1", &a), 0);
	assert_int_equal(c_stat(fx, "/", &a), 0);
	assert_int_equal(N_STAT(fx), 3);
	assert_int_equal(fx->c->ops->readlink(fx->c, "/link", buf, 16), 0);
	assert_int_equal(atomic_load(&fx->m.n_readlink), 1);
	cache_get_stats(fx->c, &st);
	assert_int_equal(st.list_hits + st.stat_hits, 0);
	fixture_free(fx);
}

static void
test_ops_table(void **state)
{
	struct backend_ops ops = mock_ops;
	struct fixture *fx = calloc(1, sizeof(*fx));
	struct statvfs sv;
	struct cache_stats st;

	(void)state;
	ops.symlink = NULL;
	ops.truncate = NULL;
	ops.invalidate = NULL;
	fx->inner.ops = &ops;
	fx->inner.caps = BCAP_PWRITE | BCAP_SYMLINK;
	fx->inner.priv = &fx->m;
	assert_int_equal(cache_backend_new(&fx->inner, 1000, &fx->c), 0);
	assert_string_equal(fx->c->ops->name, "cache");
	assert_int_equal(fx->c->caps, BCAP_PWRITE | BCAP_SYMLINK);
	assert_null(fx->c->ops->symlink);
	assert_null(fx->c->ops->truncate);
	assert_non_null(fx->c->ops->invalidate); /* always ours */
	assert_non_null(fx->c->ops->mkdir);
	assert_int_equal(fx->c->ops->statfs(fx->c, "/", &sv), 0);
	assert_int_equal(sv.f_bsize, 4096);
	fx->c->ops->invalidate(fx->c, "/d");
	/* Not a cache: zero stats, no crash. */
	cache_get_stats(&fx->inner, &st);
	assert_int_equal(st.list_misses, 0);
	fixture_free(fx);
}

/* --- invalidation -------------------------------------------------------- */

enum op {
	OP_MKDIR,
	OP_RMDIR,
	OP_UNLINK,
	OP_RENAME_FROM,
	OP_RENAME_TO,
	OP_CHMOD,
	OP_SET_MTIME,
	OP_TRUNCATE,
	OP_SYMLINK,
	OP_OPEN_WRITE,
	OP_OPEN_CREATE,
	OP_OPEN_TRUNC,
	OP_COUNT,
};

static void
run_op(struct fixture *fx, enum op op)
{
	struct backend *c = fx->c;
	struct timespec ts = { 0, 0 };
	struct backend_file *f = NULL;
	int rc = atomic_load(&fx->m.mod_rc);
	int got = 1;

	switch (op) {
	case OP_MKDIR:
		got = c->ops->mkdir(c, "/d/new", 0755);
		break;
	case OP_RMDIR:
		got = c->ops->rmdir(c, "/d/f0");
		break;
	case OP_UNLINK:
		got = c->ops->unlink(c, "/d/f0");
		break;
	case OP_RENAME_FROM:
		got = c->ops->rename(c, "/d/f0", "/dd/z", 0);
		break;
	case OP_RENAME_TO:
		got = c->ops->rename(c, "/dd/y", "/d/f0", 0);
		break;
	case OP_CHMOD:
		got = c->ops->chmod(c, "/d/f0", 0600);
		break;
	case OP_SET_MTIME:
		got = c->ops->set_mtime(c, "/d/f0", &ts);
		break;
	case OP_TRUNCATE:
		got = c->ops->truncate(c, "/d/f0", 0);
		break;
	case OP_SYMLINK:
		got = c->ops->symlink(c, "f1", "/d/f0");
		break;
	case OP_OPEN_WRITE:
		got = c->ops->open(c, "/d/f0", BO_WRITE, 0644, -1, &f);
		break;
	case OP_OPEN_CREATE:
		got = c->ops->open(
		    c, "/d/f0", BO_WRITE | BO_CREATE, 0644, -1, &f);
		break;
	case OP_OPEN_TRUNC:
		got = c->ops->open(
		    c, "/d/f0", BO_WRITE | BO_CREATE | BO_TRUNC, 0644, -1, &f);
		break;
	default:
		fail();
	}
	assert_int_equal(got, rc);
	if (f != NULL) {
		/* Released after the check below would re-invalidate. */
		assert_int_equal(c->ops->release(c, f), 0);
	}
}

static void
check_op_invalidates(enum op op, int rc)
{
	struct fixture *fx = fixture_new(10000, 0);
	int lists, stats;

	atomic_store(&fx->m.mod_rc, rc);
	/* Prime: listing of /d, listing of an unrelated directory. */
	assert_int_equal(c_stat(fx, "/d/f1", NULL), 0);
	assert_int_equal(c_list(fx, "/d/sub", NULL), 0);
	assert_int_equal(N_LIST(fx), 2);
	run_op(fx, op);
	lists = N_LIST(fx);
	stats = N_STAT(fx);
	/* The parent's listing is gone, even if the op failed. */
	assert_int_equal(c_stat(fx, "/d/f1", NULL), 0);
	assert_int_equal(N_LIST(fx), lists + 1);
	/* Others stay (rmdir of /d/f0 has no subtree here). */
	assert_int_equal(c_list(fx, "/d/sub", NULL), 0);
	assert_int_equal(N_LIST(fx), lists + 1);
	assert_int_equal(N_STAT(fx), stats);
	fixture_free(fx);
}

static void
test_invalidate_each_op(void **state)
{
	int op;

	(void)state;
	for (op = 0; op < OP_COUNT; op++) {
		check_op_invalidates((enum op)op, 0);
		check_op_invalidates((enum op)op, -EIO);
	}
}

static void
test_invalidate_cheap_entry(void **state)
{
	/* The single-stat entry goes too, not only the listing. */
	struct fixture *fx = fixture_new(10000, BCAP_CHEAP_STAT);

	(void)state;
	assert_int_equal(c_stat(fx, "/d/new", NULL), -ENOENT);
	assert_int_equal(N_STAT(fx), 1);
	assert_int_equal(fx->c->ops->mkdir(fx->c, "/d/new", 0755), 0);
	assert_int_equal(c_stat(fx, "/d/new", NULL), -ENOENT); /* mock */
	assert_int_equal(N_STAT(fx), 2);
	/* The rename source and target entries. */
	assert_int_equal(c_stat(fx, "/d/f1", NULL), 0);
	assert_int_equal(c_stat(fx, "/dd/q", NULL), -ENOENT);
	assert_int_equal(N_STAT(fx), 4);
	assert_int_equal(fx->c->ops->rename(fx->c, "/d/f1", "/dd/q", 0), 0);
	assert_int_equal(c_stat(fx, "/d/f1", NULL), 0);
	assert_int_equal(c_stat(fx, "/dd/q", NULL), -ENOENT);
	assert_int_equal(N_STAT(fx), 6);
	fixture_free(fx);
}

static void
test_rename_dir_subtree(void **state)
{
	struct fixture *fx = fixture_new(10000, BCAP_CHEAP_STAT);
	int lists, stats;

	(void)state;
	/* A single negative entry deep down, then the listings. */
	assert_int_equal(c_stat(fx, "/d/sub/x/deep", NULL), -ENOENT);
	assert_int_equal(c_list(fx, "/d", NULL), 0);
	assert_int_equal(c_list(fx, "/d/sub", NULL), 0);
	assert_int_equal(c_list(fx, "/d/sub/x", NULL), 0);
	assert_int_equal(c_list(fx, "/dd", NULL), 0);
	assert_int_equal(c_list(fx, "/", NULL), 0);
	lists = N_LIST(fx);
	stats = N_STAT(fx);
	assert_int_equal(lists, 5);
	assert_int_equal(stats, 1);

	assert_int_equal(fx->c->ops->rename(fx->c, "/d", "/z", 0), 0);
	/* "/dd" only shares a prefix with "/d": kept. */
	assert_int_equal(c_list(fx, "/dd", NULL), 0);
	assert_int_equal(N_LIST(fx), lists);
	/* Everything below /d, and the parent "/", is gone. */
	assert_int_equal(c_stat(fx, "/d/sub/x/deep", NULL), -ENOENT);
	assert_int_equal(N_STAT(fx), stats + 1);
	assert_int_equal(c_list(fx, "/d/sub/x", NULL), 0);
	assert_int_equal(c_list(fx, "/d/sub", NULL), 0);
	assert_int_equal(c_list(fx, "/d", NULL), 0);
	assert_int_equal(c_list(fx, "/", NULL), 0);
	assert_int_equal(N_LIST(fx), lists + 4);

	/* The target's subtree too: it may have been replaced. */
	lists = N_LIST(fx);
	assert_int_equal(fx->c->ops->rename(fx->c, "/file", "/d/sub", 0), 0);
	assert_int_equal(c_list(fx, "/d/sub/x", NULL), 0);
	assert_int_equal(c_list(fx, "/dd", NULL), 0);
	assert_int_equal(N_LIST(fx), lists + 1);
	fixture_free(fx);
}

static void
test_rmdir_subtree(void **state)
{
	struct fixture *fx = fixture_new(10000, 0);

	(void)state;
	assert_int_equal(c_list(fx, "/d/sub/x", NULL), 0);
	assert_int_equal(c_list(fx, "/d/sub", NULL), 0);
	assert_int_equal(c_list(fx, "/d", NULL), 0);
	assert_int_equal(c_list(fx, "/dd", NULL), 0);
	assert_int_equal(fx->c->ops->rmdir(fx->c, "/d/sub"), 0);
	assert_int_equal(N_LIST(fx), 4);
	assert_int_equal(c_list(fx, "/d/sub/x", NULL), 0);
	assert_int_equal(c_list(fx, "/d/sub", NULL), 0);
	assert_int_equal(c_list(fx, "/d", NULL), 0);
	assert_int_equal(N_LIST(fx), 7);
	assert_int_equal(c_list(fx, "/dd", NULL), 0);
	assert_int_equal(N_LIST(fx), 7);
	fixture_free(fx);
}

static void
test_invalidate_api(void **state)
{
	struct fixture *fx = fixture_new(10000, 0);

	(void)state;
	assert_int_equal(c_list(fx, "/d/sub", NULL), 0);
	assert_int_equal(c_list(fx, "/dd", NULL), 0);
	fx->c->ops->invalidate(fx->c, "/d");
	assert_int_equal(atomic_load(&fx->m.n_invalidate), 1);
	assert_int_equal(c_list(fx, "/d/sub", NULL), 0);
	assert_int_equal(c_list(fx, "/dd", NULL), 0);
	assert_int_equal(N_LIST(fx), 3);
	fx->c->ops->invalidate(fx->c, "/");
	assert_int_equal(c_list(fx, "/d/sub", NULL), 0);
	assert_int_equal(c_list(fx, "/dd", NULL), 0);
	assert_int_equal(N_LIST(fx), 5);
	fixture_free(fx);
}

static void
test_write_handle(void **state)
{
	struct fixture *fx = fixture_new(10000, 0);
	struct backend *c = fx->c;
	struct backend_file *f;
	char buf[4];
	int lists;

	(void)state;
	assert_int_equal(
	    c->ops->open(c, "/d/f9", BO_WRITE | BO_APPEND, 0, -1, &f), 0);
	assert_int_equal(c_stat(fx, "/d/f9", NULL), 0);
	lists = N_LIST(fx);
	assert_int_equal(c->ops->write(c, f, "abc", 3, 9), 3);
	assert_int_equal(c_stat(fx, "/d/f9", NULL), 0);
	assert_int_equal(N_LIST(fx), lists + 1);
	assert_int_equal(c->ops->flush(c, f), 0);
	assert_int_equal(c_stat(fx, "/d/f9", NULL), 0);
	assert_int_equal(N_LIST(fx), lists + 2);
	assert_int_equal(c->ops->release(c, f), 0);
	assert_int_equal(c_stat(fx, "/d/f9", NULL), 0);
	assert_int_equal(N_LIST(fx), lists + 3);

	/* A reader changes nothing. */
	lists = N_LIST(fx);
	assert_int_equal(c->ops->open(c, "/d/f9", BO_READ, 0, 9, &f), 0);
	assert_int_equal(c->ops->read(c, f, buf, sizeof(buf), 0), 0);
	assert_int_equal(c->ops->flush(c, f), 0);
	assert_int_equal(c->ops->release(c, f), 0);
	assert_int_equal(c_stat(fx, "/d/f9", NULL), 0);
	assert_int_equal(N_LIST(fx), lists);
	assert_int_equal(atomic_load(&fx->m.n_read), 1);
	assert_int_equal(atomic_load(&fx->m.n_release), 2);
	fixture_free(fx);
}

/* --- concurrency --------------------------------------------------------- */

struct racer {
	struct fixture *fx;
	pthread_t th;
	const char *path;
	bool list;
	int rc;
};

static void *
racer_run(void *arg)
{
	struct racer *r = arg;

	if (r->list)
		r->rc = c_list(r->fx, r->path, NULL);
	else
		r->rc = c_stat(r->fx, r->path, NULL);
	return NULL;
}

static void
test_single_flight(void **state)
{
	static const char *const paths[] = { "/d/f0", "/d/f1", "/d/f2",
		"/d/nope", "/d/f4", "/d/sub", "/d/f0", "/d/f9" };
	struct fixture *fx = fixture_new(10000, 0);
	struct racer r[10];
	int i;

	(void)state;
	atomic_store(&fx->m.list_delay_ms, 200);
	for (i = 0; i < 10; i++) {
		r[i].fx = fx;
		r[i].list = i >= 8;
		r[i].path = i >= 8 ? "/d" : paths[i];
		assert_int_equal(
		    pthread_create(&r[i].th, NULL, racer_run, &r[i]), 0);
	}
	for (i = 0; i < 10; i++) {
		pthread_join(r[i].th, NULL);
		assert_int_equal(
		    r[i].rc, strcmp(r[i].path, "/d/nope") == 0 ? -ENOENT : 0);
	}
	assert_int_equal(N_LIST(fx), 1);
	assert_int_equal(N_STAT(fx), 0);
	fixture_free(fx);
}

static void
test_single_flight_cheap_stat(void **state)
{
	struct fixture *fx = fixture_new(10000, BCAP_CHEAP_STAT);
	struct racer r[6];
	int i;

	(void)state;
	for (i = 0; i < 6; i++) {
		r[i].fx = fx;
		r[i].list = false;
		r[i].path = "/d/f3";
		assert_int_equal(
		    pthread_create(&r[i].th, NULL, racer_run, &r[i]), 0);
	}
	for (i = 0; i < 6; i++) {
		pthread_join(r[i].th, NULL);
		assert_int_equal(r[i].rc, 0);
	}
	/* Timing-dependent how many overlap; never more than one each. */
	assert_true(N_STAT(fx) >= 1 && N_STAT(fx) <= 6);
	assert_int_equal(N_LIST(fx), 0);
	fixture_free(fx);
}

static void
test_stale_fetch_not_shared(void **state)
{
	struct fixture *fx = fixture_new(10000, 0);
	struct racer a, b;

	(void)state;
	atomic_store(&fx->m.list_delay_ms, 200);
	a = (struct racer){ .fx = fx, .path = "/d", .list = true };
	assert_int_equal(pthread_create(&a.th, NULL, racer_run, &a), 0);
	sleep_ms(50);
	/* A change while /d is being listed: that listing may predate it. */
	assert_int_equal(fx->c->ops->unlink(fx->c, "/d/f0"), 0);
	b = (struct racer){ .fx = fx, .path = "/d/f1", .list = false };
	assert_int_equal(pthread_create(&b.th, NULL, racer_run, &b), 0);
	pthread_join(a.th, NULL);
	pthread_join(b.th, NULL);
	assert_int_equal(a.rc, 0);
	assert_int_equal(b.rc, 0);
	assert_int_equal(N_LIST(fx), 2); /* b did not join a's listing */
	/* b's listing is the one cached. */
	atomic_store(&fx->m.list_delay_ms, 0);
	assert_int_equal(c_stat(fx, "/d/f2", NULL), 0);
	assert_int_equal(N_LIST(fx), 2);
	fixture_free(fx);
}

/* --- bounds -------------------------------------------------------------- */

static void
test_lru_bound(void **state)
{
	struct fixture *fx = fixture_new(100000, 0);
	char path[32];
	int i;

	(void)state;
	for (i = 0; i < CACHE_MAX_DIRS; i++) {
		snprintf(path, sizeof(path), "/many/%d", i);
		assert_int_equal(c_list(fx, path, NULL), 0);
	}
	assert_int_equal(N_LIST(fx), CACHE_MAX_DIRS);
	assert_int_equal(c_list(fx, "/many/0", NULL), 0); /* hit, now MRU */
	assert_int_equal(N_LIST(fx), CACHE_MAX_DIRS);
	snprintf(path, sizeof(path), "/many/%d", CACHE_MAX_DIRS);
	assert_int_equal(c_list(fx, path, NULL), 0); /* evicts /many/1 */
	assert_int_equal(N_LIST(fx), CACHE_MAX_DIRS + 1);
	assert_int_equal(c_list(fx, "/many/0", NULL), 0);
	assert_int_equal(c_list(fx, path, NULL), 0);
	assert_int_equal(N_LIST(fx), CACHE_MAX_DIRS + 1);
	assert_int_equal(c_list(fx, "/many/1", NULL), 0);
	assert_int_equal(N_LIST(fx), CACHE_MAX_DIRS + 2);
	fixture_free(fx);
}

static void
test_big_directory_index(void **state)
{
	/* Entries are found through the sorted index as well. */
	struct fixture *fx = fixture_new(10000, 0);
	struct backend_attr a;

	(void)state;
	assert_int_equal(c_stat(fx, "/d/f7", &a), 0);
	assert_int_equal(a.size, 7);
	assert_int_equal(c_stat(fx, "/d/sub", &a), 0);
	assert_true(S_ISDIR(a.mode));
	assert_int_equal(c_stat(fx, "/d/f", &a), -ENOENT);
	assert_int_equal(c_stat(fx, "/d/zzz", &a), -ENOENT);
	assert_int_equal(c_stat(fx, "/d/a", &a), -ENOENT);
	assert_int_equal(N_LIST(fx), 1);
	fixture_free(fx);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ls_l),
		cmocka_unit_test(test_stat_miss_lists_parent),
		cmocka_unit_test(test_root),
		cmocka_unit_test(test_list_is_a_copy),
		cmocka_unit_test(test_ttl_expiry),
		cmocka_unit_test(test_cheap_stat),
		cmocka_unit_test(test_listing_wins_over_stat),
		cmocka_unit_test(test_cheap_stat_ttl),
		cmocka_unit_test(test_unlistable_parent),
		cmocka_unit_test(test_readlink),
		cmocka_unit_test(test_ttl_zero_passthrough),
		cmocka_unit_test(test_list_many),
		cmocka_unit_test(test_ops_table),
		cmocka_unit_test(test_invalidate_each_op),
		cmocka_unit_test(test_invalidate_cheap_entry),
		cmocka_unit_test(test_rename_dir_subtree),
		cmocka_unit_test(test_rmdir_subtree),
		cmocka_unit_test(test_invalidate_api),
		cmocka_unit_test(test_write_handle),
		cmocka_unit_test(test_single_flight),
		cmocka_unit_test(test_single_flight_cheap_stat),
		cmocka_unit_test(test_stale_fetch_not_shared),
		cmocka_unit_test(test_lru_bound),
		cmocka_unit_test(test_big_directory_index),
	};

	log_init(LOG_LVL_ERR, false);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
