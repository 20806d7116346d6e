/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * spool: lazily fetched local copies uploaded through a temporary name.
 * The backend is an in-memory mock that only streams (no BCAP_PWRITE),
 * counts what it is asked, and can fail uploads on demand.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "spool.h"

#define MAXF 8

struct mfile {
	char name[256];
	char *data;
	size_t len;
	mode_t mode;
	struct timespec mtime;
};

struct mock {
	struct mfile files[MAXF];
	unsigned reads, read_bytes, opens_w, renames, chmods, unlinks, stats;
	bool fail_write; /* uploads fail after the first write */
};

struct backend_file {
	struct mfile *f; /* reader */
	struct mfile tmp; /* writer: bytes so far */
	char path[256];
	bool writer;
	bool failed;
};

static struct mock M;
static struct backend BE;
static char spooldir[128];

static struct mfile *
find(const char *path)
{
	for (int i = 0; i < MAXF; i++)
		if (M.files[i].data != NULL &&
		    strcmp(M.files[i].name, path) == 0)
			return &M.files[i];
	return NULL;
}

static struct mfile *
put(const char *path, const char *data, size_t len)
{
	struct mfile *f = find(path);

	for (int i = 0; f == NULL && i < MAXF; i++)
		if (M.files[i].data == NULL)
			f = &M.files[i];
	assert_non_null(f);
	free(f->data);
	snprintf(f->name, sizeof(f->name), "%s", path);
	f->data = malloc(len + 1);
	memcpy(f->data, data, len);
	f->len = len;
	return f;
}

static int
m_open(struct backend *b, const char *path, unsigned flags, mode_t mode,
    int64_t known, struct backend_file **out)
{
	struct backend_file *h = calloc(1, sizeof(*h));

	(void)b;
	(void)mode;
	(void)known;
	snprintf(h->path, sizeof(h->path), "%s", path);
	if (flags & BO_WRITE) {
		h->writer = true;
		M.opens_w++;
	} else {
		h->f = find(path);
		if (h->f == NULL) {
			free(h);
			return -ENOENT;
		}
	}
	*out = h;
	return 0;
}

static ssize_t
m_read(struct backend *b, struct backend_file *h, char *buf, size_t size,
    off_t off)
{
	(void)b;
	M.reads++;
	if ((size_t)off >= h->f->len)
		return 0;
	if (size > h->f->len - (size_t)off)
		size = h->f->len - (size_t)off;
	memcpy(buf, h->f->data + off, size);
	M.read_bytes += (unsigned)size;
	return (ssize_t)size;
}

static ssize_t
m_write(struct backend *b, struct backend_file *h, const char *buf, size_t size,
    off_t off)
{
	(void)b;
	if ((size_t)off != h->tmp.len)
		return -ESPIPE;
	if (M.fail_write && h->tmp.len > 0) {
		h->failed = true;
		return -EIO;
	}
	h->tmp.data = realloc(h->tmp.data, h->tmp.len + size + 1);
	memcpy(h->tmp.data + h->tmp.len, buf, size);
	h->tmp.len += size;
	return (ssize_t)size;
}

static int
m_release(struct backend *b, struct backend_file *h)
{
	int rc = 0;

	(void)b;
	if (h->writer && !h->failed)
		put(h->path, h->tmp.data ? h->tmp.data : "", h->tmp.len);
	else if (h->writer)
		rc = -EIO;
	free(h->tmp.data);
	free(h);
	return rc;
}

static int
m_rename(struct backend *b, const char *from, const char *to, unsigned fl)
{
	struct mfile *f = find(from), *t = find(to);

	(void)b;
	(void)fl;
	if (f == NULL)
		return -ENOENT;
	if (t != NULL && t != f) {
		free(t->data);
		t->data = NULL;
	}
	snprintf(f->name, sizeof(f->name), "%s", to);
	M.renames++;
	return 0;
}

static int
m_unlink(struct backend *b, const char *path)
{
	struct mfile *f = find(path);

	(void)b;
	M.unlinks++;
	if (f == NULL)
		return -ENOENT;
	free(f->data);
	f->data = NULL;
	return 0;
}

static int
m_chmod(struct backend *b, const char *path, mode_t mode)
{
	struct mfile *f = find(path);

	(void)b;
	M.chmods++;
	if (f != NULL)
		f->mode = mode;
	return 0;
}

static int
m_stat(struct backend *b, const char *path, struct backend_attr *out)
{
	struct mfile *f = find(path);

	(void)b;
	M.stats++;
	if (f == NULL)
		return -ENOENT;
	memset(out, 0, sizeof(*out));
	out->valid = BA_MODE_TYPE | BA_SIZE | BA_MTIME;
	out->mode = S_IFREG | 0644;
	out->size = f->len;
	out->mtime = f->mtime;
	return 0;
}

static const struct backend_ops mops = {
	.name = "mock",
	.stat = m_stat,
	.open = m_open,
	.read = m_read,
	.write = m_write,
	.release = m_release,
	.rename = m_rename,
	.unlink = m_unlink,
	.chmod = m_chmod,
};

static int
setup(void **state)
{
	(void)state;
	for (int i = 0; i < MAXF; i++)
		free(M.files[i].data);
	memset(&M, 0, sizeof(M));
	BE.ops = &mops;
	snprintf(spooldir, sizeof(spooldir), "/tmp/ftpfs-test-spool-%d",
	    (int)getpid());
	return 0;
}

static int
teardown(void **state)
{
	char cmd[256];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", spooldir);
	assert_int_equal(system(cmd), 0);
	return 0;
}

static char *
pattern(size_t n, unsigned seed)
{
	char *p = malloc(n);

	for (size_t i = 0; i < n; i++)
		p[i] = (char)((i * 131 + seed) & 0xff);
	return p;
}

/* A one-byte change in a 3.5-block file fetches only the block it is in. */
static void
test_lazy_fetch(void **state)
{
	size_t n = SPOOL_BLOCK * 3 + SPOOL_BLOCK / 2;
	char *orig = pattern(n, 1), *want = pattern(n, 1);
	struct spool *s;

	(void)state;
	put("/d/f", orig, n);
	assert_int_equal(spool_open(&BE, "/d/f", n, 0640, spooldir, &s), 0);
	assert_int_equal(spool_write(s, "X", 1, SPOOL_BLOCK + 5), 1);
	want[SPOOL_BLOCK + 5] = 'X';
	assert_true(M.read_bytes <= SPOOL_BLOCK);
	assert_true(spool_dirty(s));
	assert_int_equal(spool_close(s), 0);
	/* Uploaded whole, through a temporary name, mode restored. */
	assert_non_null(find("/d/f"));
	assert_int_equal(find("/d/f")->len, n);
	assert_memory_equal(find("/d/f")->data, want, n);
	assert_int_equal(M.renames, 1);
	assert_int_equal(find("/d/f")->mode, 0640);
	free(orig);
	free(want);
}

/*
 * A write that starts inside the remote content and ends past its end
 * covers a block whose remote bytes must never be fetched over it.
 */
static void
test_write_past_remote_end(void **state)
{
	size_t n = SPOOL_BLOCK + 5000, wl = 200000;
	uint64_t off = SPOOL_BLOCK - 48576;
	char *orig = pattern(n, 5), *w = pattern(wl, 9), *want;
	struct spool *s;

	(void)state;
	want = malloc(off + wl);
	memcpy(want, orig, off);
	memcpy(want + off, w, wl);
	put("/e", orig, n);
	assert_int_equal(spool_open(&BE, "/e", n, 0, spooldir, &s), 0);
	assert_int_equal(spool_write(s, w, wl, (off_t)off), (ssize_t)wl);
	assert_int_equal(spool_close(s), 0);
	assert_int_equal(find("/e")->len, off + wl);
	assert_memory_equal(find("/e")->data, want, off + wl);
	free(orig);
	free(w);
	free(want);
}

/* Reads see local writes; untouched regions come from the server. */
static void
test_read_your_writes(void **state)
{
	char buf[64];
	struct spool *s;

	(void)state;
	put("/f", "0123456789", 10);
	assert_int_equal(spool_open(&BE, "/f", 10, 0, spooldir, &s), 0);
	assert_int_equal(spool_write(s, "ab", 2, 3), 2);
	assert_int_equal(spool_read(s, buf, sizeof(buf), 0), 10);
	assert_memory_equal(buf, "012ab56789", 10);
	/* Extending past the end leaves a hole of zeros. */
	assert_int_equal(spool_write(s, "Z", 1, 12), 1);
	assert_int_equal(spool_size(s), 13);
	assert_int_equal(spool_read(s, buf, sizeof(buf), 8), 5);
	assert_memory_equal(buf, "89\0\0Z", 5);
	assert_int_equal(spool_close(s), 0);
	assert_int_equal(find("/f")->len, 13);
}

/* Truncating inside an unfetched block keeps its remote head. */
static void
test_truncate(void **state)
{
	size_t n = SPOOL_BLOCK * 2;
	char *orig = pattern(n, 7);
	struct spool *s;

	(void)state;
	put("/t", orig, n);
	assert_int_equal(spool_open(&BE, "/t", n, 0, spooldir, &s), 0);
	assert_int_equal(spool_truncate(s, SPOOL_BLOCK + 10), 0);
	assert_int_equal(spool_truncate(s, SPOOL_BLOCK + 20), 0);
	assert_int_equal(spool_close(s), 0);
	assert_int_equal(find("/t")->len, SPOOL_BLOCK + 20);
	assert_memory_equal(find("/t")->data, orig, SPOOL_BLOCK + 10);
	for (size_t i = SPOOL_BLOCK + 10; i < SPOOL_BLOCK + 20; i++)
		assert_int_equal(find("/t")->data[i], 0);
	free(orig);
}

/* Nothing changed: nothing uploaded. */
static void
test_clean_close(void **state)
{
	char buf[4];
	struct spool *s;

	(void)state;
	put("/c", "abcd", 4);
	assert_int_equal(spool_open(&BE, "/c", 4, 0, spooldir, &s), 0);
	assert_int_equal(spool_read(s, buf, 4, 0), 4);
	assert_int_equal(spool_close(s), 0);
	assert_int_equal(M.opens_w, 0);
	assert_int_equal(M.renames, 0);
}

/* A failed upload: EIO, original untouched, local copy kept. */
static void
test_failed_upload_keeps_data(void **state)
{
	size_t n = SPOOL_BLOCK * 2 + 3;
	char *data = pattern(n, 3);
	char local[512];
	struct spool *s;
	struct stat st;

	(void)state;
	put("/k", "old", 3);
	assert_int_equal(spool_open(&BE, "/k", 3, 0, spooldir, &s), 0);
	assert_int_equal(spool_write(s, data, n, 0), (ssize_t)n);
	snprintf(local, sizeof(local), "%s", spool_local_path(s));
	M.fail_write = true;
	assert_int_equal(spool_flush(s), -EIO);
	assert_int_equal(spool_close(s), -EIO);
	/* The server still has the old file; the temp upload was removed. */
	assert_int_equal(find("/k")->len, 3);
	assert_memory_equal(find("/k")->data, "old", 3);
	assert_true(M.unlinks >= 1);
	assert_int_equal(stat(local, &st), 0);
	assert_int_equal((size_t)st.st_size, n);
	unlink(local);
	free(data);
}

/* Renaming the open file moves the upload target. */
static void
test_rename(void **state)
{
	struct spool *s;

	(void)state;
	put("/a", "aaaa", 4);
	assert_int_equal(spool_open(&BE, "/a", 4, 0, spooldir, &s), 0);
	assert_int_equal(spool_write(s, "b", 1, 0), 1);
	m_rename(&BE, "/a", "/b", 0);
	assert_int_equal(spool_rename(s, "/b"), 0);
	assert_int_equal(spool_close(s), 0);
	assert_null(find("/a"));
	assert_memory_equal(find("/b")->data, "baaa", 4);
}

/*
 * Another client rewrote the file after the copy began: the upload must
 * not replace it; the flush fails and the local copy stays.
 */
static void
test_base_changed_refused(void **state)
{
	struct timespec t0 = { 1000, 0 };
	struct spool *s;
	char local[512];

	(void)state;
	put("/d/b", "0123456789", 10)->mtime = t0;
	assert_int_equal(spool_open(&BE, "/d/b", 10, 0, spooldir, &s), 0);
	spool_set_base(s, 10, true, t0);
	assert_int_equal(spool_write(s, "AB", 2, 3), 2);
	put("/d/b", "other client's text", 19); /* size changed */
	assert_int_equal(spool_flush(s), -EIO);
	assert_memory_equal(find("/d/b")->data, "other client's text", 19);
	assert_int_equal(M.renames, 0);
	/* a second try refuses as well: no overwrite later either */
	assert_int_equal(spool_flush(s), -EIO);
	snprintf(local, sizeof(local), "%s", spool_local_path(s));
	assert_int_equal(spool_close(s), -EIO);
	assert_int_equal(access(local, F_OK), 0); /* kept for the user */
	unlink(local);
	/* the temporary upload is gone from the server */
	for (int i = 0; i < MAXF; i++)
		if (M.files[i].data != NULL)
			assert_null(strstr(M.files[i].name, ".ftpfs-"));
}

/* Same size, newer time: a change too. */
static void
test_base_mtime_changed_refused(void **state)
{
	struct timespec t0 = { 1000, 0 }, t1 = { 1005, 0 };
	struct spool *s;
	char local[512];

	(void)state;
	put("/d/m", "0123456789", 10)->mtime = t0;
	assert_int_equal(spool_open(&BE, "/d/m", 10, 0, spooldir, &s), 0);
	spool_set_base(s, 10, true, t0);
	assert_int_equal(spool_write(s, "Z", 1, 0), 1);
	put("/d/m", "abcdefghij", 10)->mtime = t1;
	assert_int_equal(spool_flush(s), -EIO);
	assert_memory_equal(find("/d/m")->data, "abcdefghij", 10);
	snprintf(local, sizeof(local), "%s", spool_local_path(s));
	spool_close(s);
	unlink(local);
}

/* Our own time change (utimens) is not someone else's write. */
static void
test_base_own_mtime(void **state)
{
	struct timespec t0 = { 1000, 0 }, t1 = { 2000, 0 };
	struct spool *s;

	(void)state;
	put("/d/o", "0123456789", 10)->mtime = t0;
	assert_int_equal(spool_open(&BE, "/d/o", 10, 0, spooldir, &s), 0);
	spool_set_base(s, 10, true, t0);
	assert_int_equal(spool_write(s, "Q", 1, 9), 1);
	find("/d/o")->mtime = t1;
	spool_base_mtime(s, t1);
	assert_int_equal(spool_close(s), 0);
	assert_memory_equal(find("/d/o")->data, "012345678Q", 10);
}

/* Unchanged: the upload goes ahead, and the next one checks against it. */
static void
test_base_unchanged(void **state)
{
	struct timespec t0 = { 1000, 0 };
	struct spool *s;

	(void)state;
	put("/d/u", "0123456789", 10)->mtime = t0;
	assert_int_equal(spool_open(&BE, "/d/u", 10, 0, spooldir, &s), 0);
	spool_set_base(s, 10, true, t0);
	assert_int_equal(spool_write(s, "xyz", 3, 10), 3);
	assert_int_equal(spool_flush(s), 0);
	assert_int_equal(find("/d/u")->len, 13);
	assert_int_equal(spool_write(s, "!", 1, 13), 1);
	assert_int_equal(spool_close(s), 0);
	assert_int_equal(find("/d/u")->len, 14);
	assert_true(M.stats >= 2);
}

/* Unlinked while open: readable where local, never uploaded. */
static void
test_detached(void **state)
{
	size_t n = SPOOL_BLOCK * 2;
	char *orig = pattern(n, 7), buf[4];
	struct spool *s;

	(void)state;
	put("/d/x", orig, n);
	assert_int_equal(spool_open(&BE, "/d/x", n, 0, spooldir, &s), 0);
	assert_int_equal(spool_write(s, "abcd", 4, 10), 4);
	m_unlink(&BE, "/d/x");
	spool_detach(s);
	assert_int_equal(spool_read(s, buf, 4, 10), 4);
	assert_memory_equal(buf, "abcd", 4);
	/* the second block was never fetched: an error, never zeros */
	assert_int_equal(spool_read(s, buf, 4, SPOOL_BLOCK + 1), -EIO);
	assert_int_equal(spool_write(s, "e", 1, 14), 1);
	assert_int_equal(spool_close(s), 0);
	assert_null(find("/d/x")); /* not brought back */
	assert_int_equal(M.opens_w, 0);
	free(orig);
}

/* spool_refuse: nothing uploaded, ever, and the copy stays. */
static void
test_refuse(void **state)
{
	struct spool *s;
	char local[512];

	(void)state;
	put("/d/r", "0123", 4);
	assert_int_equal(spool_open(&BE, "/d/r", 4, 0, spooldir, &s), 0);
	assert_int_equal(spool_write(s, "zz", 2, 0), 2);
	assert_int_equal(spool_refuse(s, "test"), -EIO);
	assert_int_equal(spool_flush(s), -EIO);
	snprintf(local, sizeof(local), "%s", spool_local_path(s));
	assert_int_equal(spool_close(s), -EIO);
	assert_memory_equal(find("/d/r")->data, "0123", 4);
	assert_int_equal(M.opens_w, 0);
	assert_int_equal(access(local, F_OK), 0);
	unlink(local);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_base_changed_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_base_mtime_changed_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_base_own_mtime, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_base_unchanged, setup, teardown),
		cmocka_unit_test_setup_teardown(test_detached, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refuse, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_lazy_fetch, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_read_your_writes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_truncate, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_write_past_remote_end, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_clean_close, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_failed_upload_keeps_data, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rename, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
