/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fahead (small files read ahead) and walk (listings ahead of tree walks)
 * against a mock backend that serves a fixed tree and counts calls:
 *
 *   /           d0 .. d4 (directories), big (FAHEAD_FILE_MAX + 1 bytes)
 *   /dN         f00 .. f19, file i of i + 100 bytes, mtime 1000 + i;
 *               the byte at offset o of /dN/fII is (N * 31 + II + o) & 255
 */
#include <errno.h>
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

#include <pthread.h>

#include "backend.h"
#include "fahead.h"
#include "walk.h"

struct mock {
	atomic_int n_list, n_open;
	atomic_int opened[5][20]; /* per file */
	atomic_int listed[6]; /* "/", d0..d4 */
};

struct backend_file {
	int d, i; /* /d<d>/f<i>, or d = -1: /big */
};

static void
sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) != 0)
		;
}

static void
attr_of(int i, struct backend_attr *a)
{
	memset(a, 0, sizeof(*a));
	a->valid = BA_MODE_TYPE | BA_MODE_PERM | BA_SIZE | BA_MTIME;
	a->mode = S_IFREG | 0644;
	a->size = (uint64_t)i + 100;
	a->mtime.tv_sec = 1000 + i;
}

static int
mock_list(struct backend *b, const char *path, struct backend_dirlist *out)
{
	struct mock *m = b->priv;
	struct backend_attr a;
	char name[16];
	int i, d;

	atomic_fetch_add(&m->n_list, 1);
	if (strcmp(path, "/") == 0) {
		atomic_fetch_add(&m->listed[0], 1);
		for (d = 0; d < 5; d++) {
			memset(&a, 0, sizeof(a));
			a.valid = BA_MODE_TYPE | BA_SIZE;
			a.mode = S_IFDIR | 0755;
			/* d4: a folder of many entries */
			a.size = d == 4 ? 1024 * 1024 : 4096;
			snprintf(name, sizeof(name), "d%d", d);
			backend_dirlist_add(out, name, strlen(name), NULL, &a);
		}
		attr_of(0, &a);
		a.size = FAHEAD_FILE_MAX + 1;
		backend_dirlist_add(out, "big", 3, NULL, &a);
		return 0;
	}
	if (sscanf(path, "/d%d", &d) != 1 || d < 0 || d > 4)
		return -ENOENT;
	atomic_fetch_add(&m->listed[d + 1], 1);
	for (i = 0; i < 20; i++) {
		attr_of(i, &a);
		snprintf(name, sizeof(name), "f%02d", i);
		backend_dirlist_add(out, name, strlen(name), NULL, &a);
	}
	return 0;
}

static int
mock_open(struct backend *b, const char *path, unsigned flags, mode_t mode,
    int64_t known_size, struct backend_file **out)
{
	struct mock *m = b->priv;
	struct backend_file *f;
	int d, i;

	(void)mode;
	(void)known_size;
	assert_int_equal(flags, BO_READ);
	f = calloc(1, sizeof(*f));
	assert_non_null(f);
	if (strcmp(path, "/big") == 0) {
		f->d = -1;
	} else if (sscanf(path, "/d%d/f%d", &d, &i) == 2) {
		f->d = d;
		f->i = i;
		atomic_fetch_add(&m->opened[d][i], 1);
	} else {
		free(f);
		return -ENOENT;
	}
	atomic_fetch_add(&m->n_open, 1);
	*out = f;
	return 0;
}

static uint8_t
byte_at(int d, int i, uint64_t o)
{
	return (uint8_t)((d * 31 + i + (int)o) & 255);
}

static ssize_t
mock_read(struct backend *b, struct backend_file *f, char *buf, size_t size,
    off_t off)
{
	uint64_t len = f->d < 0 ? FAHEAD_FILE_MAX + 1 : (uint64_t)f->i + 100;
	size_t n, k;

	(void)b;
	if ((uint64_t)off >= len)
		return 0;
	n = len - (uint64_t)off < size ? (size_t)(len - (uint64_t)off) : size;
	for (k = 0; k < n; k++)
		buf[k] = (char)byte_at(f->d, f->i, (uint64_t)off + k);
	return (ssize_t)n;
}

static int
mock_release(struct backend *b, struct backend_file *f)
{
	(void)b;
	free(f);
	return 0;
}

static const struct backend_ops mock_ops = {
	.list = mock_list,
	.open = mock_open,
	.read = mock_read,
	.release = mock_release,
};

/* ->fetch_many as SFTP has it: the files of one call counted as a batch
   (reader_batch: the largest of the pump's, for readers) */
static atomic_int n_batches, max_batch, reader_batch;
/* while set, the workers' calls (no done: not the pump's) wait
   in fetch_many; blocked counts them */
static atomic_int gate, blocked;
static pthread_t test_thread;
/* the one connection: a call holds it while it reads (the test takes it
   to keep every caller waiting); fail_get: no connection to be had */
static pthread_mutex_t conn_lock = PTHREAD_MUTEX_INITIALIZER;
static atomic_int fail_get, conn_waiting;

static int
mock_fetch_many(struct backend *b, struct backend_fetch_batch *bt)
{
	struct mock *m = b->priv;
	struct backend_fetch *v = bt->v;
	size_t n;
	uint64_t k;
	size_t j;
	int d, i;

	if (bt->done == NULL && !pthread_equal(pthread_self(), test_thread) &&
	    atomic_load(&gate)) {
		atomic_fetch_add(&blocked, 1);
		while (atomic_load(&gate))
			sleep_ms(5);
	}
	if (atomic_load(&fail_get))
		return -ETIMEDOUT; /* (fill is not called) */
	atomic_fetch_add(&conn_waiting, 1);
	pthread_mutex_lock(&conn_lock);
	atomic_fetch_sub(&conn_waiting, 1);
	if (bt->fill != NULL)
		bt->fill(bt);
	n = bt->n;
	atomic_fetch_add(&n_batches, 1);
	if ((int)n > atomic_load(&max_batch))
		atomic_store(&max_batch, (int)n);
	/* (the pump's calls: for readers) */
	if (bt->done != NULL && (int)n > atomic_load(&reader_batch))
		atomic_store(&reader_batch, (int)n);
	for (j = 0; j < n; j++) {
		v[j].data = NULL;
		if (sscanf(v[j].path, "/d%d/f%d", &d, &i) != 2) {
			v[j].rc = -ENOENT;
			continue;
		}
		atomic_fetch_add(&m->opened[d][i], 1);
		atomic_fetch_add(&m->n_open, 1);
		if (v[j].want != (uint64_t)i + 100) {
			v[j].rc = -ESTALE;
			continue;
		}
		v[j].data = malloc(v[j].want);
		assert_non_null(v[j].data);
		for (k = 0; k < v[j].want; k++)
			v[j].data[k] = (char)byte_at(d, i, k);
		v[j].rc = 0;
	}
	pthread_mutex_unlock(&conn_lock);
	for (j = 0; j < n && bt->done != NULL; j++) {
		bt->done(bt, j);
		v[j].data = NULL;
	}
	return 0;
}

/* ->list_many: calls, and the largest call's size and first folder */
static atomic_int n_list_many, list_many_n;
static char list_many_first[32];
static pthread_mutex_t list_many_lock = PTHREAD_MUTEX_INITIALIZER;

static int
mock_list_many(struct backend *b, const char *const *paths, size_t n,
    struct backend_dirlist *out, int *rc)
{
	size_t i;

	atomic_fetch_add(&n_list_many, 1);
	pthread_mutex_lock(&list_many_lock);
	if ((int)n > atomic_load(&list_many_n)) {
		atomic_store(&list_many_n, (int)n);
		snprintf(
		    list_many_first, sizeof(list_many_first), "%s", paths[0]);
	}
	pthread_mutex_unlock(&list_many_lock);
	for (i = 0; i < n; i++)
		rc[i] = mock_list(b, paths[i], &out[i]);
	return 0;
}

static const struct backend_ops mock_list_many_ops = {
	.list = mock_list,
	.list_many = mock_list_many,
};

static const struct backend_ops mock_many_ops = {
	.list = mock_list,
	.open = mock_open,
	.read = mock_read,
	.release = mock_release,
	.fetch_many = mock_fetch_many,
};

struct fx {
	struct mock m;
	struct backend be;
	struct fahead *fa;
};

static int
setup_many(void **state)
{
	struct fx *x = calloc(1, sizeof(*x));

	assert_non_null(x);
	x->be.ops = &mock_many_ops;
	x->be.priv = &x->m;
	atomic_store(&n_batches, 0);
	atomic_store(&max_batch, 0);
	atomic_store(&reader_batch, 0);
	atomic_store(&gate, 0);
	atomic_store(&blocked, 0);
	atomic_store(&fail_get, 0);
	atomic_store(&conn_waiting, 0);
	test_thread = pthread_self();
	assert_int_equal(fahead_new(&x->be, 3, 5000, 20000, &x->fa), 0);
	*state = x;
	return 0;
}

static int
setup(void **state)
{
	struct fx *x = calloc(1, sizeof(*x));

	assert_non_null(x);
	x->be.ops = &mock_ops;
	x->be.priv = &x->m;
	assert_int_equal(fahead_new(&x->be, 3, 5000, 20000, &x->fa), 0);
	assert_non_null(x->fa);
	*state = x;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *x = *state;

	atomic_store(&gate, 0); /* (a failed check left workers waiting) */
	fahead_free(x->fa);
	free(x);
	return 0;
}

/* Wait (up to 5 s) until /d<d>/f<i> was opened by the backend. */
static void
wait_opened(struct fx *x, int d, int i)
{
	int t;

	for (t = 0; t < 500 && atomic_load(&x->m.opened[d][i]) == 0; t++)
		sleep_ms(10);
	assert_true(atomic_load(&x->m.opened[d][i]) > 0);
	sleep_ms(20); /* and read to the end */
}

static void
list_dir(struct fx *x, const char *dir)
{
	struct backend_dirlist l = { 0 };

	assert_int_equal(mock_list(&x->be, dir, &l), 0);
	fahead_listed(x->fa, dir, &l);
	backend_dirlist_free(&l);
}

/* Open /d<d>/f<i> as pid would: the buffer, or NULL. */
static struct fahead_buf *
open_file(struct fx *x, int d, int i, pid_t pid)
{
	struct backend_attr a;
	char path[32];

	attr_of(i, &a);
	snprintf(path, sizeof(path), "/d%d/f%02d", d, i);
	return fahead_open(x->fa, path, &a, pid);
}

static void
check_content(struct fx *x, const struct fahead_buf *b, int d, int i)
{
	char buf[512];
	ssize_t n;
	int k;

	n = fahead_read(x->fa, b, buf, sizeof(buf), 0);
	assert_int_equal(n, i + 100);
	for (k = 0; k < n; k++)
		assert_int_equal((uint8_t)buf[k], byte_at(d, i, (uint64_t)k));
	/* at an offset, and past the end */
	n = fahead_read(x->fa, b, buf, 10, 50);
	assert_int_equal(n, 10);
	assert_int_equal((uint8_t)buf[0], byte_at(d, i, 50));
	assert_int_equal(fahead_read(x->fa, b, buf, 10, i + 100), 0);
}

static void
test_sequential_reader_is_served(void **state)
{
	struct fx *x = *state;
	struct fahead_buf *b;
	int i;

	list_dir(x, "/d0");
	/* the first two opens are the reader's own */
	assert_null(open_file(x, 0, 0, 7));
	assert_null(open_file(x, 0, 1, 7));
	/* f02..f17 ahead: 8, twice as many for the step it made */
	wait_opened(x, 0, 17);
	assert_int_equal(atomic_load(&x->m.opened[0][18]), 0);
	for (i = 2; i < 10; i++) {
		b = open_file(x, 0, i, 7);
		assert_non_null(b);
		check_content(x, b, 0, i);
		fahead_put(x->fa, b);
		assert_int_equal(atomic_load(&x->m.opened[0][i]), 1);
		if (i == 2)
			/* going on, further ahead: 32, to the folder's end */
			wait_opened(x, 0, 19);
	}
}

static void
test_changed_file_not_served(void **state)
{
	struct fx *x = *state;
	struct backend_attr a;
	struct fahead_buf *b;

	list_dir(x, "/d1");
	assert_null(open_file(x, 1, 0, 8));
	assert_null(open_file(x, 1, 1, 8));
	wait_opened(x, 1, 9);
	/* another size or mtime now: not what was read ahead */
	attr_of(4, &a);
	a.size++;
	assert_null(fahead_open(x->fa, "/d1/f04", &a, 9));
	attr_of(5, &a);
	a.mtime.tv_sec++;
	assert_null(fahead_open(x->fa, "/d1/f05", &a, 9));
	/* the rest is still there */
	b = open_file(x, 1, 3, 10);
	assert_non_null(b);
	check_content(x, b, 1, 3);
	fahead_put(x->fa, b);
	/* changed through the mount: forgotten */
	fahead_forget(x->fa, "/d1/f06");
	assert_null(open_file(x, 1, 6, 10));
	fahead_forget(x->fa, "/d1"); /* a folder: everything below */
	assert_null(open_file(x, 1, 8, 10));
	assert_null(open_file(x, 1, 7, 10)); /* (backwards: not queued) */
}

static void
test_random_reader_fetches_nothing(void **state)
{
	struct fx *x = *state;
	int i, n = 0;

	list_dir(x, "/d2");
	assert_null(open_file(x, 2, 15, 5));
	assert_null(open_file(x, 2, 3, 5));
	assert_null(open_file(x, 2, 14, 5)); /* 11 ahead: too far */
	assert_null(open_file(x, 2, 0, 5));
	sleep_ms(100);
	for (i = 0; i < 20; i++)
		n += atomic_load(&x->m.opened[2][i]);
	assert_int_equal(n, 0);
}

static void
test_unlisted_folder_and_one_process_per_file(void **state)
{
	struct fx *x = *state;
	struct fahead_buf *b;

	/* names from a command line: the folder is listed after the second;
	   each file by another process (a shell loop) */
	assert_null(open_file(x, 3, 0, 100));
	assert_null(open_file(x, 3, 1, 101));
	for (int t = 0; t < 500 && atomic_load(&x->m.listed[4]) == 0; t++)
		sleep_ms(10);
	assert_int_equal(atomic_load(&x->m.listed[4]), 1);
	sleep_ms(20);
	assert_null(open_file(x, 3, 2, 102));
	assert_null(open_file(x, 3, 3, 103));
	wait_opened(x, 3, 11);
	b = open_file(x, 3, 4, 104);
	assert_non_null(b);
	check_content(x, b, 3, 4);
	fahead_put(x->fa, b);
}

static void
test_big_files_are_not_read_ahead(void **state)
{
	struct fx *x = *state;
	struct backend_attr a;

	list_dir(x, "/");
	attr_of(0, &a);
	a.size = FAHEAD_FILE_MAX + 1;
	assert_null(fahead_open(x->fa, "/big", &a, 3));
	sleep_ms(50);
	assert_int_equal(atomic_load(&x->m.n_open), 0);
}

static void
test_walk_lists_siblings_and_children(void **state)
{
	struct fx *x = *state;
	struct backend_dirlist l = { 0 };
	struct walk *w = NULL;
	int t, d;

	(void)state;
	assert_int_equal(walk_new(&x->be, 2, 5000, &w), 0);
	assert_non_null(w);
	assert_int_equal(mock_list(&x->be, "/", &l), 0);
	walk_listed(w, "/", &l);
	backend_dirlist_free(&l);
	sleep_ms(50);
	/* one listing is not a walk */
	assert_int_equal(atomic_load(&x->m.n_list), 1);
	assert_int_equal(mock_list(&x->be, "/d0", &l), 0);
	walk_listed(w, "/d0", &l);
	backend_dirlist_free(&l);
	for (t = 0; t < 500; t++) {
		for (d = 1; d < 5; d++)
			if (atomic_load(&x->m.listed[d + 1]) == 0)
				break;
		if (d == 5)
			break;
		sleep_ms(10);
	}
	for (d = 1; d < 5; d++)
		assert_int_equal(atomic_load(&x->m.listed[d + 1]), 1);
	/* d0 (the walker's own) and / were not listed again */
	assert_int_equal(atomic_load(&x->m.listed[1]), 1);
	assert_int_equal(atomic_load(&x->m.listed[0]), 1);
	walk_free(w);
	walk_free(NULL);
}

/* Where the backend reads many files at once, the files ahead go in
 * batches, and each is served as before. */
static void
test_batched_reader_is_served(void **state)
{
	struct fx *x = *state;
	struct fahead_buf *b;
	int i;

	list_dir(x, "/d0");
	assert_null(open_file(x, 0, 0, 7));
	assert_null(open_file(x, 0, 1, 7));
	wait_opened(x, 0, 9);
	for (i = 2; i < 10; i++) {
		b = open_file(x, 0, i, 7);
		assert_non_null(b);
		check_content(x, b, 0, i);
		fahead_put(x->fa, b);
		assert_int_equal(atomic_load(&x->m.opened[0][i]), 1);
	}
	assert_true(atomic_load(&max_batch) > 1);
}

/* A file served to one reader is not fetched again for another that
 * passes it soon after (readers of one folder overlap). */
static void
test_served_not_fetched_again(void **state)
{
	struct fx *x = *state;
	struct fahead_buf *b;
	int i;

	list_dir(x, "/d0");
	assert_null(open_file(x, 0, 0, 7));
	assert_null(open_file(x, 0, 1, 7));
	wait_opened(x, 0, 10);
	for (i = 2; i < 6; i++) {
		b = open_file(x, 0, i, 7);
		assert_non_null(b);
		fahead_put(x->fa, b);
	}
	/* another reader from f00: f02..f05 are not queued again */
	assert_null(open_file(x, 0, 0, 8));
	assert_null(open_file(x, 0, 1, 8));
	b = open_file(x, 0, 6, 8); /* (read ahead for the first) */
	assert_non_null(b);
	fahead_put(x->fa, b);
	sleep_ms(100);
	for (i = 2; i < 6; i++)
		assert_int_equal(atomic_load(&x->m.opened[0][i]), 1);
	/* opened again, it is read again (by the opener) */
	assert_null(open_file(x, 0, 3, 8));
}

/*
 * A reader that finds its next file queued (every worker busy) fetches
 * it itself, and takes the queued files after it along in the same
 * request: served from memory next.
 */
static void
test_reader_takes_queued_along(void **state)
{
	struct fx *x = *state;
	struct backend_attr a;
	struct fahead_buf *b;
	int d, want = 1, i;

	atomic_store(&gate, 1);
	/* three other readers keep the three workers busy */
	for (d = 0; d < 3; d++, want++) {
		list_dir(x, d == 2 ? "/d4" : d == 1 ? "/d1" : "/d0");
		assert_null(open_file(x, d == 2 ? 4 : d, 0, 20 + d));
		assert_null(open_file(x, d == 2 ? 4 : d, 1, 20 + d));
		for (i = 0; i < 500 && atomic_load(&blocked) < want; i++)
			sleep_ms(10);
		assert_int_equal(atomic_load(&blocked), want);
	}
	list_dir(x, "/d3");
	assert_null(open_file(x, 3, 0, 7));
	assert_null(open_file(x, 3, 1, 7)); /* f02..f10 queued */
	assert_null(open_file(x, 3, 2, 7)); /* queued: its own to read */
	attr_of(2, &a);
	b = fahead_fetch_now(x->fa, "/d3/f02", &a);
	assert_non_null(b);
	check_content(x, b, 3, 2);
	fahead_put(x->fa, b);
	/* f02 and the queued f03..f19 (f18, f19: queued by the open of f02,
	   32 ahead of it now), one request */
	assert_int_equal(atomic_load(&reader_batch), 18);
	for (i = 3; i < 20; i++) {
		b = open_file(x, 3, i, 7);
		assert_non_null(b);
		check_content(x, b, 3, i);
		fahead_put(x->fa, b);
		assert_int_equal(atomic_load(&x->m.opened[3][i]), 1);
	}
	atomic_store(&gate, 0);
}

/* A reader's own small file, read whole at open; stale once written. */
static void
test_fetch_now_and_written(void **state)
{
	struct fx *x = *state;
	struct backend_attr a;
	struct fahead_buf *b;
	char buf[16];

	attr_of(5, &a);
	b = fahead_fetch_now(x->fa, "/d2/f05", &a);
	assert_non_null(b);
	check_content(x, b, 2, 5);
	/* written through the mount: the holder must read the server's */
	fahead_written(x->fa, "/d2/f05");
	assert_int_equal(fahead_read(x->fa, b, buf, sizeof(buf), 0), -ESTALE);
	fahead_put(x->fa, b);
	/* the listed size is wrong: nothing */
	attr_of(6, &a);
	a.size++;
	assert_null(fahead_fetch_now(x->fa, "/d2/f06", &a));
	/* too big to hold */
	a.size = FAHEAD_FILE_MAX + 1;
	assert_null(fahead_fetch_now(x->fa, "/big", &a));
}

struct now_reader {
	struct fx *x;
	int i;
	pthread_t t;
	struct fahead_buf *b;
};

static void *
now_reader_fn(void *arg)
{
	struct now_reader *r = arg;
	struct backend_attr a;
	char path[32];

	attr_of(r->i, &a);
	snprintf(path, sizeof(path), "/d1/f%02d", r->i);
	r->b = fahead_fetch_now(r->x->fa, path, &a);
	return NULL;
}

/*
 * Readers whose files are asked for while the connection is busy (one
 * session; the others still logging in) do not wait a flight each: the
 * one that waits for the connection takes the others' files along once
 * it has it, all in one request.  Two readers of one file share it.
 */
static void
test_readers_share_a_flight(void **state)
{
	struct fx *x = *state;
	struct now_reader r[7];
	int i, k;

	pthread_mutex_lock(&conn_lock); /* busy */
	for (i = 0; i < 7; i++) {
		r[i].x = x;
		r[i].i = i < 6 ? i : 3; /* the last: f03 again */
		assert_int_equal(
		    pthread_create(&r[i].t, NULL, now_reader_fn, &r[i]), 0);
	}
	/* one waits for the connection, the others for it */
	for (k = 0; k < 500 && atomic_load(&conn_waiting) < 1; k++)
		sleep_ms(10);
	sleep_ms(200);
	assert_int_equal(atomic_load(&conn_waiting), 1);
	assert_int_equal(atomic_load(&n_batches), 0);
	pthread_mutex_unlock(&conn_lock);
	for (i = 0; i < 7; i++) {
		pthread_join(r[i].t, NULL);
		assert_non_null(r[i].b);
		check_content(x, r[i].b, 1, r[i].i);
	}
	assert_int_equal(atomic_load(&n_batches), 1);
	assert_int_equal(atomic_load(&max_batch), 6);
	for (i = 0; i < 6; i++)
		assert_int_equal(atomic_load(&x->m.opened[1][i]), 1);
	for (i = 0; i < 7; i++)
		fahead_put(x->fa, r[i].b);
}

/*
 * A process that went through one folder's files and opens the first of
 * another's goes on there at once (a tree read folder after folder); one
 * that opened a single file before does not.
 */
static void
test_reader_goes_on_in_next_folder(void **state)
{
	struct fx *x = *state;
	struct fahead_buf *b;

	list_dir(x, "/d0");
	list_dir(x, "/d1");
	list_dir(x, "/d2");
	assert_null(open_file(x, 0, 0, 7));
	assert_null(open_file(x, 0, 1, 7));
	wait_opened(x, 0, 17);
	b = open_file(x, 0, 2, 7); /* going on: 32 ahead now */
	assert_non_null(b);
	fahead_put(x->fa, b);
	assert_null(open_file(x, 1, 0, 7));
	wait_opened(x, 1, 19); /* f01..f19 of /d1, without a second open */
	assert_int_equal(atomic_load(&x->m.opened[1][1]), 1);
	/* a process that opened one file of /d2 starts cold in /d3 */
	list_dir(x, "/d3");
	assert_null(open_file(x, 2, 5, 8));
	assert_null(open_file(x, 3, 0, 8));
	sleep_ms(100);
	assert_int_equal(atomic_load(&x->m.opened[3][1]), 0);
}

/*
 * Where folders are listed many at once, the walker's listing of a
 * folder whose parent it just listed carries the folder's siblings: one
 * batch, the walker's own first, on the walker's thread; a big sibling
 * is left to the workers (the walker does not wait for it).
 */
static void
test_walk_lists_siblings_with_the_first(void **state)
{
	struct fx *x = *state;
	struct backend be = { .ops = &mock_list_many_ops, .priv = &x->m };
	struct backend_dirlist l = { 0 };
	struct walk *w = NULL;
	int d, t;

	atomic_store(&n_list_many, 0);
	atomic_store(&list_many_n, 0);
	assert_int_equal(walk_new(&be, 2, 5000, &w), 0);
	walk_opening(w, "/"); /* no parent listed: nothing */
	assert_int_equal(mock_list(&be, "/", &l), 0);
	walk_listed(w, "/", &l);
	backend_dirlist_free(&l);
	assert_int_equal(atomic_load(&n_list_many), 0);
	walk_opening(w, "/d2");
	assert_int_equal(atomic_load(&list_many_n), 4);
	pthread_mutex_lock(&list_many_lock);
	assert_string_equal(list_many_first, "/d2");
	pthread_mutex_unlock(&list_many_lock);
	for (d = 0; d < 4; d++)
		assert_int_equal(atomic_load(&x->m.listed[d + 1]), 1);
	/* /d4 by a worker, after */
	for (t = 0; t < 500 && atomic_load(&x->m.listed[5]) == 0; t++)
		sleep_ms(10);
	assert_int_equal(atomic_load(&x->m.listed[5]), 1);
	assert_int_equal(atomic_load(&n_list_many), 2);
	/* once per walk */
	walk_opening(w, "/d3");
	assert_int_equal(atomic_load(&n_list_many), 2);
	walk_free(w);
}

/* No connection to be had: the reader reads the usual way, at once. */
static void
test_fetch_now_without_connection(void **state)
{
	struct fx *x = *state;
	struct backend_attr a;
	struct fahead_buf *b;

	attr_of(4, &a);
	atomic_store(&fail_get, 1);
	assert_null(fahead_fetch_now(x->fa, "/d2/f04", &a));
	atomic_store(&fail_get, 0);
	b = fahead_fetch_now(x->fa, "/d2/f04", &a);
	assert_non_null(b);
	check_content(x, b, 2, 4);
	fahead_put(x->fa, b);
	assert_int_equal(atomic_load(&n_batches), 1);
}

/* Without ->fetch_many nothing is read whole at open. */
static void
test_fetch_now_needs_fetch_many(void **state)
{
	struct fx *x = *state;
	struct backend_attr a;

	attr_of(5, &a);
	assert_null(fahead_fetch_now(x->fa, "/d2/f05", &a));
	assert_int_equal(atomic_load(&x->m.n_open), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_sequential_reader_is_served, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_changed_file_not_served, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_random_reader_fetches_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_unlisted_folder_and_one_process_per_file, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_big_files_are_not_read_ahead, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_walk_lists_siblings_and_children, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_batched_reader_is_served, setup_many, teardown),
		cmocka_unit_test_setup_teardown(
		    test_served_not_fetched_again, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_reader_takes_queued_along, setup_many, teardown),
		cmocka_unit_test_setup_teardown(
		    test_fetch_now_and_written, setup_many, teardown),
		cmocka_unit_test_setup_teardown(
		    test_fetch_now_needs_fetch_many, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_readers_share_a_flight, setup_many, teardown),
		cmocka_unit_test_setup_teardown(
		    test_fetch_now_without_connection, setup_many, teardown),
		cmocka_unit_test_setup_teardown(
		    test_reader_goes_on_in_next_folder, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_walk_lists_siblings_with_the_first, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
