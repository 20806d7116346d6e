/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ftp_list tests.  The fixtures in fixtures/list/ are raw listings captured
 * from vsftpd, ProFTPD, Pure-FTPd and pyftpdlib on loopback (see the README
 * there; mktree.sh builds the tree they list), plus the IIS samples from
 * FileZilla's parser tests.  Each is parsed whole and in chunks of many sizes,
 * and every entry is checked byte for byte against what is on disk.
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
#include <time.h>

#include <cmocka.h>

#include "ftp_list.h"
#include "ftp_reply.h"

/* The fixtures were captured at 2026-11-24 12:27 UTC. */
#define S_AND_LEN(lit) lit, sizeof(lit) - 1

#define NOW_CAPTURE ((time_t)1795523400) /* 2026-11-24 12:30:00 UTC */

/* ---- collecting entries ------------------------------------------------ */

struct got {
	char *name;
	size_t name_len;
	char *target;
	struct backend_attr attr;
};

struct result {
	struct got *v;
	size_t n;
	size_t cap;
	unsigned bad;
	unsigned entries;
	enum ftp_list_fmt fmt;
	int stop_after; /* callback fails with -EIO after this many */
};

static char *
memdup0(const char *p, size_t n)
{
	char *s = malloc(n + 1);

	assert_non_null(s);
	memcpy(s, p, n);
	s[n] = '\0';
	return s;
}

static int
collect(const struct ftp_list_entry *e, void *arg)
{
	struct result *r = arg;
	struct got *g;

	if (r->stop_after >= 0 && r->n >= (size_t)r->stop_after)
		return -EIO;
	if (r->n == r->cap) {
		r->cap = r->cap ? r->cap * 2 : 16;
		r->v = realloc(r->v, r->cap * sizeof(*r->v));
		assert_non_null(r->v);
	}
	g = &r->v[r->n++];
	g->name = memdup0(e->name, e->name_len);
	g->name_len = e->name_len;
	g->target = e->target ? memdup0(e->target, e->target_len) : NULL;
	g->attr = e->attr;
	return 0;
}

static void
result_free(struct result *r)
{
	size_t i;

	for (i = 0; i < r->n; i++) {
		free(r->v[i].name);
		free(r->v[i].target);
	}
	free(r->v);
	memset(r, 0, sizeof(*r));
}

/* Parse data with the incremental parser, chunk bytes at a time (0: all). */
static void
run(const char *data, size_t len, enum ftp_list_fmt fmt, time_t now,
    size_t chunk, struct result *r)
{
	struct ftp_list_parser p;
	size_t off, n;

	memset(r, 0, sizeof(*r));
	r->stop_after = -1;
	ftp_list_parser_init(&p, fmt, now, collect, r);
	for (off = 0; off < len; off += n) {
		n = chunk == 0 || chunk > len - off ? len - off : chunk;
		assert_int_equal(ftp_list_feed(&p, data + off, n), 0);
	}
	assert_int_equal(ftp_list_finish(&p), 0);
	r->bad = p.bad_lines;
	r->entries = p.entries;
	r->fmt = p.fmt;
	ftp_list_parser_free(&p);
}

static void
run_str(const char *s, enum ftp_list_fmt fmt, struct result *r)
{
	run(s, strlen(s), fmt, NOW_CAPTURE, 0, r);
}

static const struct got *
find(const struct result *r, const char *name)
{
	size_t i, len = strlen(name);

	for (i = 0; i < r->n; i++)
		if (r->v[i].name_len == len &&
		    memcmp(r->v[i].name, name, len) == 0)
			return &r->v[i];
	return NULL;
}

static char *
read_fixture(const char *name, size_t *len)
{
	char path[512];
	FILE *f;
	char *d;
	long sz;

	snprintf(path, sizeof(path), "%s/list/%s", FIXTURES, name);
	f = fopen(path, "rb");
	if (f == NULL)
		fail_msg("cannot open %s", path);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	sz = ftell(f);
	assert_true(sz > 0);
	rewind(f);
	d = malloc((size_t)sz);
	assert_non_null(d);
	assert_int_equal(fread(d, 1, (size_t)sz, f), (size_t)sz);
	fclose(f);
	*len = (size_t)sz;
	return d;
}

/* "YYYY-MM-DD[ HH:MM[:SS]]" UTC; the form gives the precision. */
static time_t
utc(const char *s, enum ba_time_prec *prec)
{
	struct tm tm;
	int n, y, mo, d, h = 0, mi = 0, sec = 0;

	n = sscanf(s, "%d-%d-%d %d:%d:%d", &y, &mo, &d, &h, &mi, &sec);
	assert_true(n == 3 || n == 5 || n == 6);
	if (prec != NULL)
		*prec = n == 3 ? BA_PREC_DAY
		    : n == 5   ? BA_PREC_MINUTE
		               : BA_PREC_SECOND;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	return timegm(&tm);
}

/* ---- expected entries -------------------------------------------------- */

struct want {
	const char *name;
	mode_t type;
	int perm; /* -1: not reported */
	int64_t size; /* -1: not reported */
	const char *mtime; /* see utc() */
	int64_t uid, gid; /* -1: not reported */
	int64_t nlink; /* -1: not reported */
	const char *target; /* NULL: not shown */
};

/* Unix LIST row, and a Unix LIST symlink row (mode 0777, one link). */
#define U(name, type, perm, size, mtime, uid, gid, nlink)                      \
	{                                                                      \
		name, type, perm, size, mtime, uid, gid, nlink, NULL           \
	}
#define UL(name, target, size, mtime, uid, gid)                                \
	{                                                                      \
		name, S_IFLNK, 0777, size, mtime, uid, gid, 1, target          \
	}
/* MLSD row: no link count. */
#define M(name, type, perm, size, mtime, uid, gid)                             \
	{                                                                      \
		name, type, perm, size, mtime, uid, gid, -1, NULL              \
	}
/* DOS row: type only, no permissions or owners. */
#define D(name, type, size, mtime)                                             \
	{                                                                      \
		name, type, -1, size, mtime, -1, -1, -1, NULL                  \
	}

/* UTF-8 name, split so that no \x escape swallows a hex letter. */
#define UNI                                                                    \
	"\xc3\xbc"                                                             \
	"n\xc3\xaf"                                                            \
	"c\xc3\xb8"                                                            \
	"d\xc3\xa9"                                                            \
	"-\xe5\x90\x8d\xe5\x89\x8d.txt"

/* The common mtime of the tree: 2026-11-20 10:11:12 UTC. */
#define T20 "2026-11-20 10:11"
#define T20S "2026-11-20 10:11:12"

/*
 * vsftpd LIST -a: numeric ids, zero-padded days, the year for dates in the
 * future or older than 182 days, size 0 for the device.  "new\nline.txt"
 * arrives as two lines and is skipped whole; so are "." and "..".
 */
static const struct want vsftpd_list[] = {
	U("  leading spaces.txt", S_IFREG, 0644, 5, T20, 0, 0, 1),
	U("-dash-leading", S_IFREG, 0644, 4, T20, 0, 0, 1),
	U(".hidden", S_IFREG, 0644, 3, T20, 0, 0, 1),
	U("Jan 01  2000 trap.txt", S_IFREG, 0644, 4, T20, 0, 0, 1),
	U("arrow -> name.txt", S_IFREG, 0644, 2, T20, 0, 0, 1),
	U("big.bin", S_IFREG, 0644, 5368709120, T20, 0, 0, 1),
	U("chardev", S_IFCHR, 0644, 0, T20, 0, 0, 1),
	UL("dangling", "nonexistent", 11, T20, 0, 0),
	U("empty_dir", S_IFDIR, 01770, 4096, T20, 0, 0, 2),
	U("farfuture.txt", S_IFREG, 0644, 0, "2027-06-01", 0, 0, 1),
	U("fifo", S_IFIFO, 0644, 0, T20, 0, 0, 1),
	U("future.txt", S_IFREG, 0644, 0, "2026-11-26", 0, 0, 1),
	UL("link_to_dir", "subdir", 6, T20, 0, 0),
	UL("link_to_file", "plain.txt", 9, T20, 1234, 2345),
	U("old.txt", S_IFREG, 0644, 0, "2001-02-03", 0, 0, 1),
	U("plain.txt", S_IFREG, 0644, 5, T20, 1234, 2345, 1),
	U("semi;colon=x.txt", S_IFREG, 0644, 4, T20, 0, 0, 1),
	U("setgid_dir", S_IFDIR, 02750, 4096, T20, 0, 0, 2),
	U("setuid.sh", S_IFREG, 04755, 10, T20, 1234, 2345, 1),
	U("setuid_noexec", S_IFREG, 04644, 1, T20, 0, 0, 1),
	U("spring.txt", S_IFREG, 0644, 0, "2026-03-15", 0, 0, 1),
	U("sticky_dir", S_IFDIR, 01777, 4096, T20, 0, 0, 2),
	U("subdir", S_IFDIR, 0755, 4096, T20, 65534, 65534, 2),
	U("trailing space.txt ", S_IFREG, 0644, 6, T20, 0, 0, 1),
	U("with space.txt", S_IFREG, 0600, 3, T20, 65534, 65534, 1),
	U(UNI, S_IFREG, 0644, 1, T20, 0, 0, 1),
};

/*
 * ProFTPD LIST -a and pyftpdlib LIST: owner and group names (only the ids
 * without a passwd entry are numbers), a time for near-future dates.
 * farfuture.txt (2027-06-01 08:30) is printed "Jun  1 08:30" by both, which
 * no reader can tell from June 2026: the 30-day rule gives 2026.
 */
static const struct want named_list[] = {
	U("  leading spaces.txt", S_IFREG, 0644, 5, T20, -1, -1, 1),
	U("-dash-leading", S_IFREG, 0644, 4, T20, -1, -1, 1),
	U(".hidden", S_IFREG, 0644, 3, T20, -1, -1, 1),
	U("Jan 01  2000 trap.txt", S_IFREG, 0644, 4, T20, -1, -1, 1),
	U("arrow -> name.txt", S_IFREG, 0644, 2, T20, -1, -1, 1),
	U("big.bin", S_IFREG, 0644, 5368709120, T20, -1, -1, 1),
	U("chardev", S_IFCHR, 0644, 0, T20, -1, -1, 1),
	UL("dangling", "nonexistent", 11, T20, -1, -1),
	U("empty_dir", S_IFDIR, 01770, 4096, T20, -1, -1, 2),
	U("farfuture.txt", S_IFREG, 0644, 0, "2026-06-01 08:30", -1, -1, 1),
	U("fifo", S_IFIFO, 0644, 0, T20, -1, -1, 1),
	U("future.txt", S_IFREG, 0644, 0, "2026-11-26 12:00", -1, -1, 1),
	UL("link_to_dir", "subdir", 6, T20, -1, -1),
	UL("link_to_file", "plain.txt", 9, T20, 1234, 2345),
	U("old.txt", S_IFREG, 0644, 0, "2001-02-03", -1, -1, 1),
	U("plain.txt", S_IFREG, 0644, 5, T20, 1234, 2345, 1),
	U("semi;colon=x.txt", S_IFREG, 0644, 4, T20, -1, -1, 1),
	U("setgid_dir", S_IFDIR, 02750, 4096, T20, -1, -1, 2),
	U("setuid.sh", S_IFREG, 04755, 10, T20, 1234, 2345, 1),
	U("setuid_noexec", S_IFREG, 04644, 1, T20, -1, -1, 1),
	U("spring.txt", S_IFREG, 0644, 0, "2026-03-15", -1, -1, 1),
	U("sticky_dir", S_IFDIR, 01777, 4096, T20, -1, -1, 2),
	U("subdir", S_IFDIR, 0755, 4096, T20, -1, -1, 2),
	U("trailing space.txt ", S_IFREG, 0644, 6, T20, -1, -1, 1),
	U("with space.txt", S_IFREG, 0600, 3, T20, -1, -1, 1),
	U(UNI, S_IFREG, 0644, 1, T20, -1, -1, 1),
};

/*
 * Pure-FTPd LIST -a: numeric owners, group names where they resolve
 * ("nogroup"), no fifo, device or LF name at all.
 */
static const struct want pureftpd_list[] = {
	U("  leading spaces.txt", S_IFREG, 0644, 5, T20, 0, 0, 1),
	U("-dash-leading", S_IFREG, 0644, 4, T20, 0, 0, 1),
	U(".hidden", S_IFREG, 0644, 3, T20, 0, 0, 1),
	U("Jan 01  2000 trap.txt", S_IFREG, 0644, 4, T20, 0, 0, 1),
	U("arrow -> name.txt", S_IFREG, 0644, 2, T20, 0, 0, 1),
	U("big.bin", S_IFREG, 0644, 5368709120, T20, 0, 0, 1),
	UL("dangling", "nonexistent", 11, T20, 0, 0),
	U("empty_dir", S_IFDIR, 01770, 4096, T20, 0, 0, 2),
	U("farfuture.txt", S_IFREG, 0644, 0, "2026-06-01 08:30", 0, 0, 1),
	U("future.txt", S_IFREG, 0644, 0, "2026-11-26 12:00", 0, 0, 1),
	UL("link_to_dir", "subdir", 6, T20, 0, 0),
	UL("link_to_file", "plain.txt", 9, T20, 1234, 2345),
	U("old.txt", S_IFREG, 0644, 0, "2001-02-03", 0, 0, 1),
	U("plain.txt", S_IFREG, 0644, 5, T20, 1234, 2345, 1),
	U("semi;colon=x.txt", S_IFREG, 0644, 4, T20, 0, 0, 1),
	U("setgid_dir", S_IFDIR, 02750, 4096, T20, 0, 0, 2),
	U("setuid.sh", S_IFREG, 04755, 10, T20, 1234, 2345, 1),
	U("setuid_noexec", S_IFREG, 04644, 1, T20, 0, 0, 1),
	U("spring.txt", S_IFREG, 0644, 0, "2026-03-15", 0, 0, 1),
	U("sticky_dir", S_IFDIR, 01777, 4096, T20, 0, 0, 2),
	U("subdir", S_IFDIR, 0755, 4096, T20, 65534, -1, 2),
	U("trailing space.txt ", S_IFREG, 0644, 6, T20, 0, 0, 1),
	U("with space.txt", S_IFREG, 0600, 3, T20, 65534, -1, 1),
	U(UNI, S_IFREG, 0644, 1, T20, 0, 0, 1),
};

/*
 * ProFTPD MLSD (default facts): OS.unix=symlink with the link's own size
 * and mode, no size for directories, numeric UNIX.owner/UNIX.group, fifo
 * and device as type=file.  The dangling link is missing from MLSD.
 */
static const struct want proftpd_mlsd[] = {
	M("  leading spaces.txt", S_IFREG, 0644, 5, T20S, 0, 0),
	M("-dash-leading", S_IFREG, 0644, 4, T20S, 0, 0),
	M(".hidden", S_IFREG, 0644, 3, T20S, 0, 0),
	M("Jan 01  2000 trap.txt", S_IFREG, 0644, 4, T20S, 0, 0),
	M("arrow -> name.txt", S_IFREG, 0644, 2, T20S, 0, 0),
	M("big.bin", S_IFREG, 0644, 5368709120, T20S, 0, 0),
	M("chardev", S_IFREG, 0644, 0, T20S, 0, 0),
	M("empty_dir", S_IFDIR, 01770, -1, T20S, 0, 0),
	M("farfuture.txt", S_IFREG, 0644, 0, "2027-06-01 08:30:00", 0, 0),
	M("fifo", S_IFREG, 0644, 0, T20S, 0, 0),
	M("future.txt", S_IFREG, 0644, 0, "2026-11-26 12:00:00", 0, 0),
	M("link_to_dir", S_IFLNK, 0777, 6, T20S, 0, 0),
	M("link_to_file", S_IFLNK, 0777, 9, T20S, 1234, 2345),
	M("old.txt", S_IFREG, 0644, 0, "2001-02-03 04:05:06", 0, 0),
	M("plain.txt", S_IFREG, 0644, 5, T20S, 1234, 2345),
	M("semi;colon=x.txt", S_IFREG, 0644, 4, T20S, 0, 0),
	M("setgid_dir", S_IFDIR, 02750, -1, T20S, 0, 0),
	M("setuid.sh", S_IFREG, 04755, 10, T20S, 1234, 2345),
	M("setuid_noexec", S_IFREG, 04644, 1, T20S, 0, 0),
	M("spring.txt", S_IFREG, 0644, 0, "2026-03-15 09:10:11", 0, 0),
	M("sticky_dir", S_IFDIR, 01777, -1, T20S, 0, 0),
	M("subdir", S_IFDIR, 0755, -1, T20S, 65534, 65534),
	M("trailing space.txt ", S_IFREG, 0644, 6, T20S, 0, 0),
	M("with space.txt", S_IFREG, 0600, 3, T20S, 65534, 65534),
	M(UNI, S_IFREG, 0644, 1, T20S, 0, 0),
};

/*
 * Pure-FTPd MLSD: OS.unix=slink: with an empty target (dangling link
 * included), type=unknown for fifo and device, sizd for directories
 * (ignored), no LF name.
 */
static const struct want pureftpd_mlsd[] = {
	M("  leading spaces.txt", S_IFREG, 0644, 5, T20S, 0, 0),
	M("-dash-leading", S_IFREG, 0644, 4, T20S, 0, 0),
	M(".hidden", S_IFREG, 0644, 3, T20S, 0, 0),
	M("Jan 01  2000 trap.txt", S_IFREG, 0644, 4, T20S, 0, 0),
	M("arrow -> name.txt", S_IFREG, 0644, 2, T20S, 0, 0),
	M("big.bin", S_IFREG, 0644, 5368709120, T20S, 0, 0),
	M("chardev", S_IFREG, 0644, 0, T20S, 0, 0),
	M("dangling", S_IFLNK, 0777, 11, T20S, 0, 0),
	M("empty_dir", S_IFDIR, 01770, -1, T20S, 0, 0),
	M("farfuture.txt", S_IFREG, 0644, 0, "2027-06-01 08:30:00", 0, 0),
	M("fifo", S_IFREG, 0644, 0, T20S, 0, 0),
	M("future.txt", S_IFREG, 0644, 0, "2026-11-26 12:00:00", 0, 0),
	M("link_to_dir", S_IFLNK, 0777, 6, T20S, 0, 0),
	M("link_to_file", S_IFLNK, 0777, 9, T20S, 1234, 2345),
	M("old.txt", S_IFREG, 0644, 0, "2001-02-03 04:05:06", 0, 0),
	M("plain.txt", S_IFREG, 0644, 5, T20S, 1234, 2345),
	M("semi;colon=x.txt", S_IFREG, 0644, 4, T20S, 0, 0),
	M("setgid_dir", S_IFDIR, 02750, -1, T20S, 0, 0),
	M("setuid.sh", S_IFREG, 04755, 10, T20S, 1234, 2345),
	M("setuid_noexec", S_IFREG, 04644, 1, T20S, 0, 0),
	M("spring.txt", S_IFREG, 0644, 0, "2026-03-15 09:10:11", 0, 0),
	M("sticky_dir", S_IFDIR, 01777, -1, T20S, 0, 0),
	M("subdir", S_IFDIR, 0755, -1, T20S, 65534, 65534),
	M("trailing space.txt ", S_IFREG, 0644, 6, T20S, 0, 0),
	M("with space.txt", S_IFREG, 0600, 3, T20S, 65534, 65534),
	M(UNI, S_IFREG, 0644, 1, T20S, 0, 0),
};

/*
 * pyftpdlib MLSD after OPTS MLST: links followed (the dangling one is
 * dropped), "0o" modes without setuid/setgid/sticky bits, directories with
 * a size, no cdir/pdir.
 */
static const struct want pyftpdlib_mlsd[] = {
	M("  leading spaces.txt", S_IFREG, 0644, 5, T20S, 0, 0),
	M("-dash-leading", S_IFREG, 0644, 4, T20S, 0, 0),
	M(".hidden", S_IFREG, 0644, 3, T20S, 0, 0),
	M("Jan 01  2000 trap.txt", S_IFREG, 0644, 4, T20S, 0, 0),
	M("arrow -> name.txt", S_IFREG, 0644, 2, T20S, 0, 0),
	M("big.bin", S_IFREG, 0644, 5368709120, T20S, 0, 0),
	M("chardev", S_IFREG, 0644, 0, T20S, 0, 0),
	M("empty_dir", S_IFDIR, 0770, 4096, T20S, 0, 0),
	M("farfuture.txt", S_IFREG, 0644, 0, "2027-06-01 08:30:00", 0, 0),
	M("fifo", S_IFREG, 0644, 0, T20S, 0, 0),
	M("future.txt", S_IFREG, 0644, 0, "2026-11-26 12:00:00", 0, 0),
	M("link_to_dir", S_IFDIR, 0755, 4096, T20S, 65534, 65534),
	M("link_to_file", S_IFREG, 0644, 5, T20S, 1234, 2345),
	M("old.txt", S_IFREG, 0644, 0, "2001-02-03 04:05:06", 0, 0),
	M("plain.txt", S_IFREG, 0644, 5, T20S, 1234, 2345),
	M("semi;colon=x.txt", S_IFREG, 0644, 4, T20S, 0, 0),
	M("setgid_dir", S_IFDIR, 0750, 4096, T20S, 0, 0),
	M("setuid.sh", S_IFREG, 0755, 10, T20S, 1234, 2345),
	M("setuid_noexec", S_IFREG, 0644, 1, T20S, 0, 0),
	M("spring.txt", S_IFREG, 0644, 0, "2026-03-15 09:10:11", 0, 0),
	M("sticky_dir", S_IFDIR, 0777, 4096, T20S, 0, 0),
	M("subdir", S_IFDIR, 0755, 4096, T20S, 65534, 65534),
	M("trailing space.txt ", S_IFREG, 0644, 6, T20S, 0, 0),
	M("with space.txt", S_IFREG, 0600, 3, T20S, 65534, 65534),
	M(UNI, S_IFREG, 0644, 1, T20S, 0, 0),
};

/* From FileZilla's parser tests: IIS / MS-DOS style. */
static const struct want guide_iis[] = {
	D("16-dos-dateambiguous dir", S_IFDIR, -1, "2000-04-27 12:09"),
	D("17-dos-dateambiguous file", S_IFREG, 589, "2000-04-06 15:47"),
	D("18-dos-longyear dir", S_IFDIR, -1, "2002-09-02 18:48"),
	D("19-dos-longyear file", S_IFREG, 9730, "2002-09-02 19:06"),
};

struct fixture {
	const char *file;
	enum ftp_list_fmt fmt;
	const struct want *want;
	size_t nwant;
	unsigned missing; /* valid bits this capture does not carry */
	bool no_dotfiles; /* plain LIST: dotfiles hidden */
};

#define FX(file, fmt, tab, missing, nodot)                                     \
	{                                                                      \
		file, fmt, tab, sizeof(tab) / sizeof(tab[0]), missing, nodot   \
	}

static const struct fixture fixtures[] = {
	FX("vsftpd.list-a", FTP_LIST_AUTO, vsftpd_list, 0, false),
	FX("vsftpd.list", FTP_LIST_AUTO, vsftpd_list, 0, true),
	FX("proftpd.list-a", FTP_LIST_AUTO, named_list, 0, false),
	FX("proftpd.list", FTP_LIST_AUTO, named_list, 0, true),
	FX("pyftpdlib.list", FTP_LIST_AUTO, named_list, 0, false),
	FX("pureftpd.list-a", FTP_LIST_AUTO, pureftpd_list, 0, false),
	FX("pureftpd.list", FTP_LIST_AUTO, pureftpd_list, 0, true),
	FX("proftpd.mlsd-default", FTP_LIST_MLSD, proftpd_mlsd, 0, false),
	/* After OPTS MLST ProFTPD drops the unix.uid/unix.gid it does not
	 * know (it calls them UNIX.owner/UNIX.group). */
	FX("proftpd.mlsd", FTP_LIST_MLSD, proftpd_mlsd, BA_UID | BA_GID, false),
	FX("pureftpd.mlsd", FTP_LIST_MLSD, pureftpd_mlsd, 0, false),
	FX("pyftpdlib.mlsd", FTP_LIST_MLSD, pyftpdlib_mlsd, 0, false),
	FX("pyftpdlib.mlsd-default", FTP_LIST_MLSD, pyftpdlib_mlsd,
	    BA_MODE_PERM | BA_UID | BA_GID, false),
	FX("guide-iis.list", FTP_LIST_AUTO, guide_iis, 0, false),
};

static unsigned
want_valid(const struct want *w, unsigned missing)
{
	unsigned v = BA_MODE_TYPE | BA_MTIME;

	if (w->perm >= 0)
		v |= BA_MODE_PERM;
	if (w->size >= 0)
		v |= BA_SIZE;
	if (w->uid >= 0)
		v |= BA_UID;
	if (w->gid >= 0)
		v |= BA_GID;
	if (w->nlink >= 0)
		v |= BA_NLINK;
	return v & ~missing;
}

#define EXPECT(cond, what)                                                     \
	do {                                                                   \
		if (!(cond))                                                   \
			fail_msg("%s (chunk %zu): \"%s\": %s", fx->file,       \
			    chunk, w->name, what);                             \
	} while (0)

static void
check_entry(const struct fixture *fx, size_t chunk, const struct want *w,
    const struct got *g)
{
	const struct backend_attr *a = &g->attr;
	unsigned valid = want_valid(w, fx->missing);
	enum ba_time_prec prec;
	time_t t = utc(w->mtime, &prec);

	EXPECT(a->valid == valid, "valid bits");
	EXPECT((a->mode & S_IFMT) == w->type, "type");
	if (valid & BA_MODE_PERM)
		EXPECT((a->mode & 07777) == (mode_t)w->perm, "permissions");
	if (valid & BA_SIZE)
		EXPECT(a->size == (uint64_t)w->size, "size");
	EXPECT(a->mtime.tv_sec == t && a->mtime.tv_nsec == 0, "mtime");
	EXPECT(a->mtime_prec == prec, "mtime precision");
	if (valid & BA_UID)
		EXPECT(a->uid == (uid_t)w->uid, "uid");
	if (valid & BA_GID)
		EXPECT(a->gid == (gid_t)w->gid, "gid");
	if (valid & BA_NLINK)
		EXPECT(a->nlink == (unsigned)w->nlink, "nlink");
	if (w->target == NULL)
		EXPECT(g->target == NULL, "unexpected target");
	else
		EXPECT(g->target != NULL && strcmp(g->target, w->target) == 0,
		    "target");
}

static void
check_fixture(const struct fixture *fx, const char *data, size_t len,
    enum ftp_list_fmt fmt, size_t chunk)
{
	struct result r;
	const struct want *w;
	size_t i, j, expect = 0;

	run(data, len, fmt, NOW_CAPTURE, chunk, &r);
	if (r.bad != 0)
		fail_msg(
		    "%s (chunk %zu): %u bad lines", fx->file, chunk, r.bad);
	for (i = 0; i < fx->nwant; i++) {
		w = &fx->want[i];
		const struct got *g = find(&r, w->name);

		if (fx->no_dotfiles && w->name[0] == '.') {
			EXPECT(g == NULL, "dotfile listed");
			continue;
		}
		EXPECT(g != NULL, "missing");
		check_entry(fx, chunk, w, g);
		expect++;
	}
	if (r.n != expect) {
		for (j = 0; j < r.n; j++)
			print_message("got \"%s\"\n", r.v[j].name);
		fail_msg("%s (chunk %zu): %zu entries, want %zu", fx->file,
		    chunk, r.n, expect);
	}
	assert_int_equal(r.entries, r.n);
	result_free(&r);
}

static void
test_fixtures(void **state)
{
	static const size_t chunks[] = { 0, 1, 2, 3, 5, 7, 13, 64, 509, 4096 };
	const struct fixture *fx;
	size_t i, c, len;
	char *data;

	(void)state;
	for (i = 0; i < sizeof(fixtures) / sizeof(fixtures[0]); i++) {
		fx = &fixtures[i];
		data = read_fixture(fx->file, &len);
		for (c = 0; c < sizeof(chunks) / sizeof(chunks[0]); c++) {
			check_fixture(fx, data, len, fx->fmt, chunks[c]);
			/* Unix listings parse the same without detection. */
			if (fx->fmt == FTP_LIST_AUTO && fx->want != guide_iis)
				check_fixture(
				    fx, data, len, FTP_LIST_UNIX, chunks[c]);
			if (fx->want == guide_iis)
				check_fixture(
				    fx, data, len, FTP_LIST_DOS, chunks[c]);
		}
		free(data);
	}
}

/* Format detection sticks to what the first entry was. */
static void
test_fixture_detection(void **state)
{
	struct result r;
	size_t len;
	char *data;

	(void)state;
	data = read_fixture("vsftpd.list-a", &len);
	run(data, len, FTP_LIST_AUTO, NOW_CAPTURE, 0, &r);
	assert_int_equal(r.fmt, FTP_LIST_UNIX);
	result_free(&r);
	free(data);
	data = read_fixture("guide-iis.list", &len);
	run(data, len, FTP_LIST_AUTO, NOW_CAPTURE, 0, &r);
	assert_int_equal(r.fmt, FTP_LIST_DOS);
	/* DOS entries are not Unix lines, and vice versa. */
	result_free(&r);
	run(data, len, FTP_LIST_UNIX, NOW_CAPTURE, 0, &r);
	assert_int_equal(r.n, 0);
	assert_int_equal(r.bad, 4);
	result_free(&r);
	free(data);
}

/*
 * With bare-LF line ends the LF inside "new\nline.txt" cannot be told
 * from a line end: the first half is a plausible entry "new" (what every
 * client shows), the second half a bad line.
 */
static void
test_fixture_lf_only(void **state)
{
	struct result r;
	size_t len, i, j;
	char *data;

	(void)state;
	data = read_fixture("vsftpd.list-a", &len);
	for (i = j = 0; i < len; i++)
		if (data[i] != '\r')
			data[j++] = data[i];
	run(data, j, FTP_LIST_AUTO, NOW_CAPTURE, 3, &r);
	assert_int_equal(r.n, 27);
	assert_int_equal(r.bad, 1);
	assert_non_null(find(&r, "new"));
	assert_non_null(find(&r, "trailing space.txt "));
	assert_non_null(find(&r, "  leading spaces.txt"));
	result_free(&r);
	free(data);

	data = read_fixture("proftpd.mlsd", &len);
	for (i = j = 0; i < len; i++)
		if (data[i] != '\r')
			data[j++] = data[i];
	run(data, j, FTP_LIST_MLSD, NOW_CAPTURE, 0, &r);
	assert_int_equal(r.n, 26);
	assert_int_equal(r.bad, 1);
	assert_non_null(find(&r, "new"));
	result_free(&r);
	free(data);
}

/* ---- MLSD lines -------------------------------------------------------- */

static int
mlsd(const char *s, struct ftp_list_entry *e)
{
	return ftp_list_parse_mlsd(s, strlen(s), e);
}

static void
assert_name(const struct ftp_list_entry *e, const char *name)
{
	assert_int_equal(e->name_len, strlen(name));
	assert_memory_equal(e->name, name, e->name_len);
}

static void
assert_target(const struct ftp_list_entry *e, const char *target)
{
	if (target == NULL) {
		assert_null(e->target);
		return;
	}
	assert_non_null(e->target);
	assert_int_equal(e->target_len, strlen(target));
	assert_memory_equal(e->target, target, e->target_len);
}

/* The perm fact is passed through as is (any case of the fact name). */
static void
test_mlsd_perm(void **state)
{
	struct ftp_list_entry e;

	(void)state;
	/* ProFTPD on a file the user may not write. */
	assert_int_equal(mlsd("modify=20261123183113;perm=adfr;size=3;"
	                      "type=file;unique=fd01U1;UNIX.mode=0644; ro.txt",
	                     &e),
	    1);
	assert_non_null(e.perm);
	assert_int_equal(e.perm_len, 4);
	assert_memory_equal(e.perm, "adfr", 4);
	/* Pure-FTPd spelling, last fact without ';'. */
	assert_int_equal(mlsd("type=file;size=3;Perm=rawfd x", &e), 1);
	assert_int_equal(e.perm_len, 5);
	assert_memory_equal(e.perm, "rawfd", 5);
	/* Empty value: known, and grants nothing. */
	assert_int_equal(mlsd("type=file;perm=; y", &e), 1);
	assert_non_null(e.perm);
	assert_int_equal(e.perm_len, 0);
	/* Absent. */
	assert_int_equal(mlsd("type=file;size=1; z", &e), 1);
	assert_null(e.perm);
}

static void
test_mlsd_basic(void **state)
{
	struct ftp_list_entry e;

	(void)state;
	assert_int_equal(mlsd("type=file;size=10;modify=20261123183113;"
	                      "UNIX.mode=0644;UNIX.uid=1002;UNIX.gid=1003;"
	                      " a b.txt\r",
	                     &e),
	    1);
	assert_name(&e, "a b.txt");
	assert_int_equal(e.attr.valid,
	    BA_MODE_TYPE | BA_MODE_PERM | BA_SIZE | BA_MTIME | BA_UID | BA_GID);
	assert_int_equal(e.attr.mode, S_IFREG | 0644);
	assert_int_equal(e.attr.size, 10);
	assert_int_equal(e.attr.mtime.tv_sec, utc("2026-11-23 18:31:13", NULL));
	assert_int_equal(e.attr.mtime_prec, BA_PREC_SECOND);
	assert_int_equal(e.attr.uid, 1002);
	assert_int_equal(e.attr.gid, 1003);
	assert_null(e.target);

	/* Name keeps leading/trailing spaces, ';' and '='. */
	assert_int_equal(mlsd("type=file;   x;y=z  ", &e), 1);
	assert_name(&e, "  x;y=z  ");
	/* TAB separator; the name keeps its own leading TAB and space. */
	assert_int_equal(
	    mlsd("Type=file;\t\t 75-MLSD-whitespace leading", &e), 1);
	assert_name(&e, "\t 75-MLSD-whitespace leading");
	/* No trailing semicolon (FileZilla test). */
	assert_int_equal(
	    mlsd("type=file 77 MLSD file no trailing semicolon", &e), 1);
	assert_name(&e, "77 MLSD file no trailing semicolon");
	assert_int_equal(e.attr.valid, BA_MODE_TYPE);
	/* Case-insensitive fact names and values. */
	assert_int_equal(
	    mlsd("TYPE=DIR;mOdIfY=20020211090000;SiZe=1; d", &e), 1);
	assert_int_equal(e.attr.mode, S_IFDIR);
	assert_int_equal(e.attr.valid, BA_MODE_TYPE | BA_MTIME | BA_SIZE);
	/* unix.owner / unix.group as ProFTPD sends them. */
	assert_int_equal(mlsd("type=file;UNIX.owner=7;UNIX.group=8;"
	                      "UNIX.ownername=bob; f",
	                     &e),
	    1);
	assert_int_equal(e.attr.valid, BA_MODE_TYPE | BA_UID | BA_GID);
	assert_int_equal(e.attr.uid, 7);
	assert_int_equal(e.attr.gid, 8);
	/* Names as owners are not ids. */
	assert_int_equal(
	    mlsd("type=file;unix.owner=bob;unix.group=staff; f", &e), 1);
	assert_int_equal(e.attr.valid, BA_MODE_TYPE);
	/* A 64-bit size. */
	assert_int_equal(mlsd("type=file;size=18446744073709551615; f", &e), 1);
	assert_int_equal(e.attr.size, UINT64_MAX);
	assert_int_equal(mlsd("type=file;size=18446744073709551616; f", &e), 1);
	assert_int_equal(e.attr.valid, BA_MODE_TYPE);
}

static void
test_mlsd_types(void **state)
{
	struct ftp_list_entry e;

	(void)state;
	assert_int_equal(mlsd("type=OS.unix=symlink;size=10; l", &e), 1);
	assert_int_equal(e.attr.mode & S_IFMT, S_IFLNK);
	assert_target(&e, NULL);
	assert_int_equal(mlsd("type=OS.UNIX=SYMLINK; l", &e), 1);
	assert_int_equal(e.attr.mode & S_IFMT, S_IFLNK);
	assert_int_equal(mlsd("type=OS.unix=slink:; l", &e), 1);
	assert_int_equal(e.attr.mode & S_IFMT, S_IFLNK);
	assert_target(&e, NULL);
	assert_int_equal(mlsd("type=os.unix=SLINK:/some/target; l", &e), 1);
	assert_int_equal(e.attr.mode & S_IFMT, S_IFLNK);
	assert_target(&e, "/some/target");
	assert_int_equal(mlsd("type=OS.unix=slink; l", &e), 1);
	assert_int_equal(e.attr.mode & S_IFMT, S_IFLNK);
	/* Special files and unknown vendor types look like files. */
	assert_int_equal(mlsd("type=unknown;size=0; fifo", &e), 1);
	assert_int_equal(e.attr.mode, S_IFREG);
	assert_int_equal(e.attr.valid, BA_MODE_TYPE | BA_SIZE);
	assert_int_equal(mlsd("type=OS.unix=chr-1/3; dev", &e), 1);
	assert_int_equal(e.attr.mode, S_IFREG);
	/* cdir and pdir are not entries, whatever their names. */
	assert_int_equal(mlsd("type=cdir;sizd=4096; .", &e), 0);
	assert_int_equal(mlsd("type=pdir; ..", &e), 0);
	assert_int_equal(mlsd("type=CDir; /home/x", &e), 0);
	/* "." and ".." as plain dirs, and control characters: skipped. */
	assert_int_equal(mlsd("type=dir; .", &e), 0);
	assert_int_equal(mlsd("type=dir; ..", &e), 0);
	assert_int_equal(ftp_list_parse_mlsd("type=file; a\0b", 14, &e), 0);
	assert_int_equal(mlsd("type=file; a\rb", &e), 0);
	assert_int_equal(mlsd("type=file; a\nb", &e), 0);
	/* "..." is a fine name; MLST's absolute path is kept by this API. */
	assert_int_equal(mlsd("type=dir; ...", &e), 1);
	assert_int_equal(mlsd("type=dir;modify=20261123183113; /a/b", &e), 1);
	assert_name(&e, "/a/b");
}

/*
 * MLST answers that may describe a symlink's target (issue 8), as the
 * servers sent them for "data/odd names/link-to-big -> big.bin" (100000
 * bytes), "link-to-dir -> sub" and big.bin itself, after
 * "OPTS MLST type;size;modify;perm;unix.mode;unix.uid;unix.gid;".
 */
static void
test_mlst_hidden_link(void **state)
{
	static const struct {
		const char *line; /* facts and name, no leading space */
		mode_t type;
		uint64_t size;
		bool may_hide;
	} cases[] = {
		/* ProFTPD 1.3.8 MLST: the target's type, the link's size and
		 * mode; its MLSD of the folder says OS.unix=symlink. */
		{ "modify=20261202004929;perm=adfrw;size=7;type=file;"
		  "UNIX.mode=0777; /data/odd names/link-to-big",
		    S_IFREG, 7, true },
		{ "modify=20261202004929;perm=adfrw;size=3;type=dir;"
		  "UNIX.mode=0777; /data/odd names/link-to-dir",
		    S_IFDIR, 3, true },
		{ "modify=20261202004929;perm=adfrw;size=100000;type=file;"
		  "UNIX.mode=0644; /data/odd names/big.bin",
		    S_IFREG, 100000, false },
		{ "modify=20261202004929;perm=flcdmpe;type=dir;"
		  "UNIX.mode=0755; /data/odd names",
		    S_IFDIR, 0, false },
		{ "modify=20261202004929;perm=adfrw;size=7;"
		  "type=OS.unix=symlink;UNIX.mode=0777; link-to-big",
		    S_IFLNK, 7, false },
		/* Pure-FTPd 1.0.50: MLST and MLSD both mark the link. */
		{ "type=OS.unix=slink:;size=7;modify=20261202004929;"
		  "UNIX.mode=0777;UNIX.uid=999;UNIX.gid=995;"
		  "unique=fe00ga72137; /data/odd names/link-to-big",
		    S_IFLNK, 7, false },
		/* pyftpdlib: MLST and MLSD both follow the link. */
		{ "modify=20261202004929;perm=radfwMT;size=100000;type=file;"
		  "unix.gid=995;unix.mode=0o644;unix.uid=999; "
		  "/data/odd names/link-to-big",
		    S_IFREG, 100000, false },
		/* No mode: nothing to go by (and nothing is checked). */
		{ "type=file;size=7; /x", S_IFREG, 7, false },
	};
	struct ftp_list_entry e;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(mlsd(cases[i].line, &e), 1);
		assert_int_equal(e.attr.mode & S_IFMT, cases[i].type);
		if (cases[i].size > 0)
			assert_int_equal(e.attr.size, cases[i].size);
		if (ftp_mlst_may_hide_link(&e.attr) != cases[i].may_hide)
			fail_msg("case %zu: %s", i, cases[i].line);
	}
}

static void
test_mlsd_modes(void **state)
{
	static const struct {
		const char *fact;
		int mode; /* -1: rejected */
	} cases[] = {
		{ "unix.mode=0644", 0644 },
		{ "unix.mode=644", 0644 },
		{ "UNIX.mode=0o640", 0640 },
		{ "unix.mode=0O755", 0755 },
		{ "unix.mode=00", 0 },
		{ "unix.mode=04755", 04755 },
		{ "unix.mode=01777", 01777 },
		{ "unix.mode=0000644", 0644 },
		{ "unix.mode=0o", -1 },
		{ "unix.mode=", -1 },
		{ "unix.mode=0648", -1 },
		{ "unix.mode=17777", -1 },
		{ "unix.mode=-644", -1 },
		{ "unix.mode=0x1ff", -1 },
	};
	struct ftp_list_entry e;
	char line[128];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(line, sizeof(line), "type=file;%s; f", cases[i].fact);
		assert_int_equal(mlsd(line, &e), 1);
		if (cases[i].mode < 0) {
			assert_int_equal(e.attr.valid, BA_MODE_TYPE);
			assert_int_equal(e.attr.mode, S_IFREG);
		} else {
			assert_int_equal(
			    e.attr.valid, BA_MODE_TYPE | BA_MODE_PERM);
			assert_int_equal(
			    e.attr.mode, S_IFREG | (mode_t)cases[i].mode);
		}
	}
}

static void
test_mlsd_times(void **state)
{
	struct ftp_list_entry e;

	(void)state;
	assert_int_equal(mlsd("type=file;modify=20261123183113.5; f", &e), 1);
	assert_int_equal(e.attr.mtime.tv_sec, utc("2026-11-23 18:31:13", NULL));
	assert_int_equal(e.attr.mtime.tv_nsec, 500000000);
	assert_int_equal(mlsd("type=file;modify=19700101000000.123456789123;"
	                      " f",
	                     &e),
	    1);
	assert_int_equal(e.attr.mtime.tv_sec, 0);
	assert_int_equal(e.attr.mtime.tv_nsec, 123456789);
	assert_int_equal(mlsd("type=file;modify=20240229235959; f", &e), 1);
	assert_int_equal(e.attr.valid, BA_MODE_TYPE | BA_MTIME);
	/* Out of range or malformed: the fact is ignored, not the entry. */
	static const char *const bad[] = {
		"type=file;modify=20230229000000; f",
		"type=file;modify=20261323000000; f",
		"type=file;modify=20261100000000; f",
		"type=file;modify=20261123240000; f",
		"type=file;modify=20261123236000; f",
		"type=file;modify=2026112318311; f",
		"type=file;modify=20261123183113.; f",
		"type=file;modify=20261123183113Z; f",
		"type=file;modify=18991231235959; f",
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(mlsd(bad[i], &e), 1);
		assert_int_equal(e.attr.valid, BA_MODE_TYPE);
	}
}

static void
test_mlsd_invalid(void **state)
{
	static const char *const bad[] = {
		"line.txt", /* second half of an LF name */
		"line two.txt", /* the same, with a space */
		" type=file; x", /* no facts */
		"type=file;", /* no name */
		"type=file; ", /* empty name */
		"size=1;modify=20261123183113; x", /* no type */
		"type=file;junk; x", /* a fact without '=' */
		"type=file;=x; x", /* empty fact name */
	};
	struct ftp_list_entry e;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(mlsd(bad[i], &e), -EINVAL);
	assert_int_equal(mlsd("", &e), 0);
	assert_int_equal(mlsd("\r", &e), 0);
	/* Empty facts between ';' are tolerated. */
	assert_int_equal(mlsd(";;type=file;;; x", &e), 1);
}

/* ---- Unix LIST lines --------------------------------------------------- */

static int
unix_at(const char *s, time_t now, struct ftp_list_entry *e)
{
	return ftp_list_parse_unix(s, strlen(s), now, e);
}

static int
unix_l(const char *s, struct ftp_list_entry *e)
{
	return unix_at(s, NOW_CAPTURE, e);
}

static void
test_unix_fields(void **state)
{
	struct ftp_list_entry e;

	(void)state;
	/* Full form. */
	assert_int_equal(unix_l("-rw-r--r--    1 1002     1003            5 "
	                        "Nov 23 18:31   leading spaces.txt\r",
	                     &e),
	    1);
	assert_name(&e, "  leading spaces.txt");
	assert_int_equal(e.attr.valid,
	    BA_MODE_TYPE | BA_MODE_PERM | BA_SIZE | BA_MTIME | BA_UID | BA_GID |
	        BA_NLINK);
	assert_int_equal(e.attr.mode, S_IFREG | 0644);
	assert_int_equal(e.attr.uid, 1002);
	assert_int_equal(e.attr.gid, 1003);
	assert_int_equal(e.attr.nlink, 1);
	assert_int_equal(e.attr.mtime.tv_sec, utc("2026-11-23 18:31", NULL));
	assert_int_equal(e.attr.mtime_prec, BA_PREC_MINUTE);

	/* No group (guide 4.3). */
	assert_int_equal(
	    unix_l("dr-xr-xr-x 2 root 512 Apr 8 1994 name", &e), 1);
	assert_name(&e, "name");
	assert_int_equal(e.attr.mode, S_IFDIR | 0555);
	assert_int_equal(e.attr.size, 512);
	assert_int_equal(e.attr.nlink, 2);
	assert_int_equal(e.attr.valid,
	    BA_MODE_TYPE | BA_MODE_PERM | BA_SIZE | BA_MTIME | BA_NLINK);
	assert_int_equal(e.attr.mtime.tv_sec, utc("1994-04-08", NULL));
	assert_int_equal(e.attr.mtime_prec, BA_PREC_DAY);

	/* No link count. */
	assert_int_equal(unix_l("-rw-r--r-- ftp ftp 3 Feb  3  2001 x", &e), 1);
	assert_int_equal(
	    e.attr.valid, BA_MODE_TYPE | BA_MODE_PERM | BA_SIZE | BA_MTIME);
	assert_int_equal(e.attr.size, 3);
	/* Neither link count nor owner nor group. */
	assert_int_equal(unix_l("-rw-r--r-- 3 Feb  3  2001 x", &e), 1);
	assert_int_equal(e.attr.size, 3);
	/* ACL / extended attribute markers after the permissions. */
	assert_int_equal(
	    unix_l("drwxr-xr-x+ 2 a b 4096 Feb  3  2001 acl", &e), 1);
	assert_int_equal(e.attr.mode, S_IFDIR | 0755);
	assert_int_equal(unix_l("-rw-r--r--@ 1 a b 1 Feb  3  2001 mac", &e), 1);
	assert_int_equal(unix_l("-rw-r--r--. 1 a b 1 Feb  3  2001 se", &e), 1);
	/* Devices: "major, minor" or "major,minor" instead of the size. */
	assert_int_equal(unix_l("crw-rw-rw-   1 root  root   1,   3 Nov 20 "
	                        "10:11 null",
	                     &e),
	    1);
	assert_name(&e, "null");
	assert_int_equal(e.attr.mode, S_IFCHR | 0666);
	assert_int_equal(e.attr.valid & BA_SIZE, 0);
	assert_int_equal(e.attr.nlink, 1);
	assert_int_equal(
	    unix_l("brw-rw----   1 0 6 8,0 Nov 20 10:11 sda", &e), 1);
	assert_int_equal(e.attr.mode, S_IFBLK | 0660);
	assert_int_equal(e.attr.gid, 6);
	assert_int_equal(unix_l("srwxrwxrwx 1 0 0 0 Nov 20 10:11 sock", &e), 1);
	assert_int_equal(e.attr.mode, S_IFSOCK | 0777);
	assert_int_equal(unix_l("prw------- 1 0 0 0 Nov 20 10:11 p", &e), 1);
	assert_int_equal(e.attr.mode, S_IFIFO | 0600);
	/* 64-bit size; past 64 bits is no size at all. */
	assert_int_equal(unix_l("-rw-r--r-- 1 0 0 18446744073709551615 Nov 20 "
	                        "10:11 huge",
	                     &e),
	    1);
	assert_int_equal(e.attr.size, UINT64_MAX);
	assert_int_equal(unix_l("-rw-r--r-- 1 0 0 18446744073709551616 Nov 20 "
	                        "10:11 huge",
	                     &e),
	    -EINVAL);
	/* Month names in any case. */
	assert_int_equal(unix_l("-rw-r--r-- 1 0 0 1 NOV 20 10:11 up", &e), 1);
	assert_int_equal(unix_l("-rw-r--r-- 1 0 0 1 dec 1 2020 low", &e), 1);
	assert_int_equal(e.attr.mtime.tv_sec, utc("2020-12-01", NULL));
	/* An owner called like a month does not confuse the date. */
	assert_int_equal(
	    unix_l("-rw-r--r-- 1 may jun 7 Nov 20 10:11 m", &e), 1);
	assert_name(&e, "m");
	assert_int_equal(e.attr.size, 7);
	assert_int_equal(
	    unix_l("-rw-r--r-- 1 jan 12 2020 Nov 20 10:11 j", &e), 1);
	assert_name(&e, "j");
	assert_int_equal(e.attr.size, 2020);
	assert_int_equal(e.attr.gid, 12);
	/* Nor does a date in the name. */
	assert_int_equal(unix_l("-rw-r--r-- 1 0 0 4 Nov 20 10:11 Jan 01  2000 "
	                        "trap",
	                     &e),
	    1);
	assert_name(&e, "Jan 01  2000 trap");
	assert_int_equal(e.attr.size, 4);
}

static void
test_unix_modes(void **state)
{
	static const struct {
		const char *perms;
		mode_t mode;
	} cases[] = {
		{ "-rwsr-xr-x", S_IFREG | 04755 },
		{ "-rwSr--r--", S_IFREG | 04644 },
		{ "-rwxr-sr-x", S_IFREG | 02755 },
		{ "-rw-r-Sr--", S_IFREG | 02644 },
		{ "drwxrwxrwt", S_IFDIR | 01777 },
		{ "drwxrwx--T", S_IFDIR | 01770 },
		{ "----------", S_IFREG | 0 },
		{ "lrwxrwxrwx", S_IFLNK | 0777 },
		{ "-rw-r-lr--", S_IFREG | 02644 },
		{ "-rwsrwsrwt", S_IFREG | 07777 },
	};
	static const char *const bad[] = {
		"xrw-r--r--",
		"-rw-r--r-",
		"-rw-r--r--x",
		"-rw-r--r--++",
		"-rt-r--r--",
		"-rwsr-xr-s",
		"-wr-r--r--",
		"-rwtr-xr-x",
		"-rw-r--r-s",
		"d [R----F--]",
	};
	struct ftp_list_entry e;
	char line[128];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(line, sizeof(line), "%s 1 0 0 1 Nov 20 10:11 f",
		    cases[i].perms);
		assert_int_equal(unix_l(line, &e), 1);
		assert_int_equal(e.attr.mode, cases[i].mode);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(
		    line, sizeof(line), "%s 1 0 0 1 Nov 20 10:11 f", bad[i]);
		assert_int_equal(unix_l(line, &e), -EINVAL);
	}
}

static void
test_unix_names(void **state)
{
	struct ftp_list_entry e;

	(void)state;
	/* Trailing spaces are part of the name; one trailing CR is not. */
	assert_int_equal(
	    unix_l("-rw-r--r-- 1 0 0 6 Nov 23 18:31 t  \r", &e), 1);
	assert_name(&e, "t  ");
	assert_int_equal(
	    unix_l("-rw-r--r-- 1 0 0 6 Nov 23 18:31 t\r\r", &e), 0);
	/* "->" splits only symlinks, at the first " -> ". */
	assert_int_equal(unix_l("-rw-r--r-- 1 0 0 2 Nov 23 18:31 arrow -> "
	                        "name.txt",
	                     &e),
	    1);
	assert_name(&e, "arrow -> name.txt");
	assert_null(e.target);
	assert_int_equal(unix_l("lrwxrwxrwx 1 0 0 11 Nov 23 18:31 a b -> c -> "
	                        "d ",
	                     &e),
	    1);
	assert_name(&e, "a b");
	assert_target(&e, "c -> d ");
	assert_int_equal(
	    unix_l("lrwxrwxrwx 1 0 0 11 Nov 23 18:31 nolink", &e), 1);
	assert_name(&e, "nolink");
	assert_null(e.target);
	assert_int_equal(
	    unix_l("lrwxrwxrwx 1 0 0 11 Nov 23 18:31 x -> ", &e), 1);
	assert_name(&e, "x");
	assert_null(e.target);
	assert_int_equal(
	    unix_l("lrwxrwxrwx 1 0 0 1 Nov 23 18:31  -> t", &e), -EINVAL);
	/* Skipped names. */
	assert_int_equal(unix_l("drwxr-xr-x 6 0 0 4096 Nov 20 10:11 .", &e), 0);
	assert_int_equal(
	    unix_l("drwxr-xr-x 6 0 0 4096 Nov 20 10:11 ..", &e), 0);
	assert_int_equal(unix_l("-rw-r--r-- 1 0 0 2 Nov 23 18:31 a\nb", &e), 0);
	assert_int_equal(
	    ftp_list_parse_unix(
	        "-rw-r--r-- 1 0 0 2 Nov 23 18:31 a\0b", 35, NOW_CAPTURE, &e),
	    0);
	/* Nothing after the date, or no single space before the name. */
	assert_int_equal(
	    unix_l("-rw-r--r-- 1 0 0 2 Nov 23 18:31", &e), -EINVAL);
	assert_int_equal(
	    unix_l("-rw-r--r-- 1 0 0 2 Nov 23 18:31 ", &e), -EINVAL);
	/* Noise. */
	assert_int_equal(unix_l("total 48", &e), 0);
	assert_int_equal(unix_l("", &e), 0);
	assert_int_equal(unix_l("  \r", &e), 0);
}

static void
test_unix_invalid(void **state)
{
	static const char *const bad[] = {
		"-rw-r--r-- 1 0 0 2 Nov 23", /* no time */
		"-rw-r--r-- 1 0 0 2 Foo 23 18:31 x", /* no month */
		"-rw-r--r-- 1 0 0 2 Nov 32 18:31 x", /* day */
		"-rw-r--r-- 1 0 0 2 Nov 0 18:31 x",
		"-rw-r--r-- 1 0 0 2 Feb 30 2001 x",
		"-rw-r--r-- 1 0 0 2 Nov 23 24:00 x", /* time */
		"-rw-r--r-- 1 0 0 2 Nov 23 18:60 x",
		"-rw-r--r-- 1 0 0 2 Nov 23 18:3 x",
		"-rw-r--r-- 1 0 0 2 Nov 23 123:30 x",
		"-rw-r--r-- 1 0 0 2 Nov 23 201 x", /* year */
		"-rw-r--r-- 1 0 0 2 Nov 23 1899 x",
		"-rw-r--r-- 1 0 0 x2 Nov 23 18:31 x", /* size */
		"-rw-r--r-- 1 0 0 1, 3 Nov 23 18:31 x", /* not a device */
		"crw-r--r-- 1 0 0 a, 3 Nov 23 18:31 x",
		"crw-r--r-- 1 0 0 1,x Nov 23 18:31 x",
		"-rw-r--r-- a b c d 2 Nov 23 18:31 x", /* too many fields */
		"-rw-r--r-- x 0 0 2 Nov 23 18:31 x", /* links not numeric */
		"-rw-r--r-- Nov 23 18:31 x", /* no size */
		"04-27-00  12:09PM       <DIR>          dos",
		"modify=20261123183113;type=file; x",
	};
	struct ftp_list_entry e;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (unix_l(bad[i], &e) != -EINVAL)
			fail_msg("accepted: %s", bad[i]);
}

static void
test_unix_year(void **state)
{
	static const struct {
		const char *now;
		const char *date; /* "Mon DD HH:MM" */
		const char *want;
	} cases[] = {
		{ "2026-11-24 12:30", "Nov 20 10:11", "2026-11-20 10:11" },
		{ "2026-11-24 12:30", "Nov 26 12:00", "2026-11-26 12:00" },
		/* 30 days ahead is still this year, a minute more is not */
		{ "2026-11-24 12:30", "Dec 24 12:30", "2026-12-24 12:30" },
		{ "2026-11-24 12:30", "Dec 24 12:31", "2025-12-24 12:31" },
		{ "2026-11-24 12:30", "Jun  1 08:30", "2026-06-01 08:30" },
		/* around New Year */
		{ "2027-01-05 00:00", "Dec 31 23:59", "2026-12-31 23:59" },
		{ "2026-12-20 00:00", "Jan 10 10:00", "2026-01-10 10:00" },
		{ "2026-12-31 23:00", "Jan  2 10:00", "2026-01-02 10:00" },
		/* Feb 29 goes back to a leap year */
		{ "2027-03-10 00:00", "Feb 29 10:00", "2024-02-29 10:00" },
		{ "2028-03-10 00:00", "Feb 29 10:00", "2028-02-29 10:00" },
		{ "2028-01-10 00:00", "Feb 29 10:00", "2024-02-29 10:00" },
		{ "2027-01-10 00:00", "Feb 29 10:00", "2024-02-29 10:00" },
	};
	struct ftp_list_entry e;
	char line[128];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(line, sizeof(line), "-rw-r--r-- 1 0 0 0 %s f",
		    cases[i].date);
		assert_int_equal(unix_at(line, utc(cases[i].now, NULL), &e), 1);
		if (e.attr.mtime.tv_sec != utc(cases[i].want, NULL))
			fail_msg("now %s, %s: got %lld", cases[i].now,
			    cases[i].date, (long long)e.attr.mtime.tv_sec);
		assert_int_equal(e.attr.mtime_prec, BA_PREC_MINUTE);
	}
	/* A clock that cannot be read: the time form is not guessable,
	 * the year form still is. */
	assert_int_equal(
	    unix_at("-rw-r--r-- 1 0 0 0 Nov 20 10:11 f", (time_t)INT64_MAX, &e),
	    -EINVAL);
	assert_int_equal(
	    unix_at("-rw-r--r-- 1 0 0 0 Nov 20  2001 f", (time_t)INT64_MAX, &e),
	    1);
}

/* ---- DOS LIST lines ---------------------------------------------------- */

static int
dos(const char *s, struct ftp_list_entry *e)
{
	return ftp_list_parse_dos(s, strlen(s), e);
}

static void
test_dos(void **state)
{
	struct ftp_list_entry e;

	(void)state;
	assert_int_equal(
	    dos("04-27-00  12:09PM       <DIR>          16 dir\r", &e), 1);
	assert_name(&e, "16 dir");
	assert_int_equal(e.attr.mode, S_IFDIR | 0755);
	assert_int_equal(e.attr.valid, BA_MODE_TYPE | BA_MTIME);
	assert_int_equal(e.attr.mtime.tv_sec, utc("2000-04-27 12:09", NULL));
	assert_int_equal(e.attr.mtime_prec, BA_PREC_MINUTE);
	assert_int_equal(
	    dos("04-06-00  03:47PM                  589 f", &e), 1);
	assert_int_equal(e.attr.mode, S_IFREG | 0644);
	assert_int_equal(e.attr.valid, BA_MODE_TYPE | BA_MTIME | BA_SIZE);
	assert_int_equal(e.attr.size, 589);
	assert_int_equal(e.attr.mtime.tv_sec, utc("2000-04-06 15:47", NULL));
	/* 12 AM is midnight, 12 PM noon; AM/PM may stand apart. */
	assert_int_equal(dos("01-02-99  12:05AM  1 f", &e), 1);
	assert_int_equal(e.attr.mtime.tv_sec, utc("1999-01-02 00:05", NULL));
	assert_int_equal(dos("01-02-69  12:05 pm  1 f", &e), 1);
	assert_int_equal(e.attr.mtime.tv_sec, utc("2069-01-02 12:05", NULL));
	assert_int_equal(dos("01-02-70  11:05pm  1 f", &e), 1);
	assert_int_equal(e.attr.mtime.tv_sec, utc("1970-01-02 23:05", NULL));
	/* Four-digit years, ISO order, 24-hour clock, separators. */
	assert_int_equal(dos("04-27-2000  13:09  1.234.567 f", &e), 1);
	assert_int_equal(e.attr.size, 1234567);
	assert_int_equal(e.attr.mtime.tv_sec, utc("2000-04-27 13:09", NULL));
	assert_int_equal(
	    dos("2002-09-02  19:06  9,730 19-dos-longyear file", &e), 1);
	assert_int_equal(e.attr.size, 9730);
	assert_name(&e, "19-dos-longyear file");
	assert_int_equal(dos("2002/09/02  19:06  <dir> d", &e), 1);
	assert_int_equal(e.attr.mode, S_IFDIR | 0755);
	/* Day-first locales, when the numbers say so. */
	assert_int_equal(dos("27-04-00  12:09  1 f", &e), 1);
	assert_int_equal(e.attr.mtime.tv_sec, utc("2000-04-27 12:09", NULL));
	/* 64-bit sizes and trailing spaces. */
	assert_int_equal(
	    dos("2026-11-20  10:11  5,368,709,120 big.bin ", &e), 1);
	assert_int_equal(e.attr.size, 5368709120ULL);
	assert_name(&e, "big.bin ");
	/* Skipped and noise. */
	assert_int_equal(dos("2002-09-02  19:06  <DIR>  .", &e), 0);
	assert_int_equal(dos("2002-09-02  19:06  <DIR>  ..", &e), 0);
	assert_int_equal(dos("", &e), 0);

	static const char *const bad[] = {
		"2002-09-02  19:06  <DIR>  ", /* no name */
		"2002-09-02  19:06  <DIR>",
		"2002-09-02  19:06",
		"2002-09-02",
		"13-13-00  12:09PM  1 f", /* date */
		"02-30-00  12:09PM  1 f",
		"02-03-1899  12:09  1 f",
		"2002-09-2002  12:09  1 f",
		"123-09-02  12:09  1 f",
		"02-03  12:09  1 f",
		"02-03-004  12:09  1 f",
		"02/03-04  12:09  1 f",
		"04-27-00  13:09PM  1 f", /* time */
		"04-27-00  00:09AM  1 f",
		"04-27-00  24:00  1 f",
		"04-27-00  12:60  1 f",
		"04-27-00  1209  1 f",
		"04-27-00  12:09XM  1 f",
		"04-27-00  12:09  ,1 f", /* size */
		"04-27-00  12:09  1, f",
		"04-27-00  12:09  1,,2 f",
		"04-27-00  12:09  <DIRX> f",
		"04-27-00  12:09  99999999999999999999 f",
		"-rw-r--r-- 1 0 0 2 Nov 23 18:31 x",
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (dos(bad[i], &e) != -EINVAL)
			fail_msg("accepted: %s", bad[i]);
}

/* ---- the incremental parser ------------------------------------------- */

static void
test_parser_detect(void **state)
{
	struct result r;

	(void)state;
	/* "total" and blank lines do not decide; the first entry does. */
	run_str("total 8\r\n\r\n"
	        "04-27-00  12:09PM       <DIR>          d\r\n"
	        "-rw-r--r-- 1 0 0 2 Nov 23 18:31 unix\r\n"
	        "04-06-00  03:47PM                  589 f\r\n",
	    FTP_LIST_AUTO, &r);
	assert_int_equal(r.fmt, FTP_LIST_DOS);
	assert_int_equal(r.n, 2);
	assert_int_equal(r.bad, 1); /* the Unix line; "total" is noise */
	result_free(&r);
	/* A hidden entry ("." here) is evidence too. */
	run_str("garbage\r\n"
	        "drwxr-xr-x 6 0 0 4096 Nov 20 10:11 .\r\n"
	        "04-27-00  12:09PM       <DIR>          d\r\n",
	    FTP_LIST_AUTO, &r);
	assert_int_equal(r.fmt, FTP_LIST_UNIX);
	assert_int_equal(r.n, 0);
	assert_int_equal(r.bad, 2);
	result_free(&r);
	/* Nothing parsed: still undecided. */
	run_str("hello\r\n", FTP_LIST_AUTO, &r);
	assert_int_equal(r.fmt, FTP_LIST_AUTO);
	assert_int_equal(r.bad, 1);
	result_free(&r);
}

static void
test_parser_lines(void **state)
{
	struct result r;

	(void)state;
	/* Last line without terminator; empty input. */
	run_str("type=file; a\r\ntype=file; b", FTP_LIST_MLSD, &r);
	assert_int_equal(r.n, 2);
	assert_non_null(find(&r, "b"));
	result_free(&r);
	run_str("", FTP_LIST_MLSD, &r);
	assert_int_equal(r.n, 0);
	assert_int_equal(r.bad, 0);
	result_free(&r);
	/* LF-only listings. */
	run_str(
	    "type=file; a\ntype=file; b\n\ntype=file; c", FTP_LIST_MLSD, &r);
	assert_int_equal(r.n, 3);
	assert_int_equal(r.bad, 0);
	result_free(&r);
	/* A name ending in CR is skipped; a last line may end in a bare LF
	 * even in a CRLF listing. */
	run_str("type=file; a\r\r\ntype=file; b\n", FTP_LIST_MLSD, &r);
	assert_int_equal(r.n, 1);
	assert_non_null(find(&r, "b"));
	result_free(&r);
	/* CRLF listing: a name with LF is skipped whole, wherever it is. */
	run_str("type=file; new\nline.txt\r\ntype=file; b\r\n"
	        "type=file; x\ntype=dir; forged\r\n",
	    FTP_LIST_MLSD, &r);
	assert_int_equal(r.n, 1);
	assert_non_null(find(&r, "b"));
	assert_int_equal(r.bad, 0);
	result_free(&r);
	/* Names with '/' cannot be one path component. */
	run_str("type=file; a/b\r\ntype=file; c\r\n", FTP_LIST_MLSD, &r);
	assert_int_equal(r.n, 1);
	assert_int_equal(r.entries, 1);
	result_free(&r);
	/* Bad lines are counted and skipped. */
	run_str("type=file; a\r\nbogus\r\n\r\ntype=cdir; .\r\ntype=file; b\r\n",
	    FTP_LIST_MLSD, &r);
	assert_int_equal(r.n, 2);
	assert_int_equal(r.bad, 1);
	result_free(&r);
}

static void
fill(char *p, size_t n)
{
	memset(p, 'x', n);
}

static void
test_parser_overlong(void **state)
{
	size_t sizes[] = { FTP_LIST_LINE_MAX - 12, FTP_LIST_LINE_MAX - 11,
		FTP_LIST_LINE_MAX, 3 * FTP_LIST_LINE_MAX };
	static const char *const ends[] = { "\r\n", "\n" };
	static const size_t chunks[] = { 0, 1, 100, 4095, 8193 };
	size_t s, c, k, len, namelen;
	struct result r;
	char *d;

	(void)state;
	for (k = 0; k < 2; k++) {
		for (s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
			namelen = sizes[s];
			d = malloc(namelen + 64);
			assert_non_null(d);
			len = 0;
			len +=
			    (size_t)sprintf(d + len, "type=file; a%s", ends[k]);
			len += (size_t)sprintf(d + len, "type=file; ");
			fill(d + len, namelen);
			len += namelen;
			len += (size_t)sprintf(
			    d + len, "%stype=file; b%s", ends[k], ends[k]);
			for (c = 0; c < sizeof(chunks) / sizeof(chunks[0]);
			     c++) {
				run(d, len, FTP_LIST_MLSD, NOW_CAPTURE,
				    chunks[c], &r);
				assert_non_null(find(&r, "a"));
				assert_non_null(find(&r, "b"));
				/* "type=file; " is 11 bytes */
				if (namelen + 11 <= FTP_LIST_LINE_MAX) {
					assert_int_equal(r.n, 3);
					assert_int_equal(r.bad, 0);
				} else {
					assert_int_equal(r.n, 2);
					assert_int_equal(r.bad, 1);
				}
				result_free(&r);
			}
			free(d);
		}
	}
	/* An overlong first and last line, without terminator. */
	d = malloc(2 * FTP_LIST_LINE_MAX + 64);
	assert_non_null(d);
	fill(d, FTP_LIST_LINE_MAX + 1);
	len = FTP_LIST_LINE_MAX + 1;
	len += (size_t)sprintf(d + len, "\r\ntype=file; a\r\n");
	fill(d + len, FTP_LIST_LINE_MAX + 5);
	len += FTP_LIST_LINE_MAX + 5;
	for (c = 0; c < sizeof(chunks) / sizeof(chunks[0]); c++) {
		run(d, len, FTP_LIST_MLSD, NOW_CAPTURE, chunks[c], &r);
		assert_int_equal(r.n, 1);
		assert_int_equal(r.bad, 2);
		result_free(&r);
	}
	/* A line of exactly FTP_LIST_LINE_MAX plus CR is fine. */
	memcpy(d, "type=file; ", 11);
	fill(d + 11, FTP_LIST_LINE_MAX - 11);
	memcpy(d + FTP_LIST_LINE_MAX, "\r\n", 2);
	run(d, FTP_LIST_LINE_MAX + 2, FTP_LIST_MLSD, NOW_CAPTURE, 1, &r);
	assert_int_equal(r.n, 1);
	assert_int_equal(r.bad, 0);
	result_free(&r);
	free(d);
}

/*
 * An LF listing whose first name ends in CR looks like CRLF at first;
 * the overlong joined "line" that follows gives it away.
 */
static void
test_parser_eol_recovery(void **state)
{
	struct result r;
	struct buf b;
	size_t i;

	(void)state;
	buf_init(&b, 1 << 20);
	assert_int_equal(buf_puts(&b, "type=file; cr\r\n"), 0);
	for (i = 0; i < 1000; i++)
		assert_int_equal(buf_printf(&b, "type=file; f%zu\n", i), 0);
	run(b.data, b.len, FTP_LIST_MLSD, NOW_CAPTURE, 0, &r);
	assert_int_equal(r.bad, 0);
	assert_non_null(find(&r, "cr"));
	assert_non_null(find(&r, "f0"));
	assert_non_null(find(&r, "f999"));
	/* Nothing is lost: the joined record was re-split. */
	assert_int_equal(r.n, 1001);
	result_free(&r);
	run(b.data, b.len, FTP_LIST_MLSD, NOW_CAPTURE, 7, &r);
	assert_int_equal(r.bad, 0);
	assert_non_null(find(&r, "f999"));
	result_free(&r);
	buf_free(&b);
}

static void
test_parser_callback_error(void **state)
{
	struct ftp_list_parser p;
	struct result r;
	const char *s = "type=file; a\r\ntype=file; b\r\ntype=file; c";

	(void)state;
	memset(&r, 0, sizeof(r));
	r.stop_after = 1;
	ftp_list_parser_init(&p, FTP_LIST_MLSD, NOW_CAPTURE, collect, &r);
	assert_int_equal(ftp_list_feed(&p, s, strlen(s)), -EIO);
	ftp_list_parser_free(&p);
	assert_int_equal(r.n, 1);
	result_free(&r);

	memset(&r, 0, sizeof(r));
	r.stop_after = 2;
	ftp_list_parser_init(&p, FTP_LIST_MLSD, NOW_CAPTURE, collect, &r);
	assert_int_equal(ftp_list_feed(&p, s, strlen(s)), 0);
	assert_int_equal(ftp_list_finish(&p), -EIO);
	ftp_list_parser_free(&p);
	assert_int_equal(r.n, 2);
	result_free(&r);
	/* Freeing twice, or a NULL parser, is harmless. */
	ftp_list_parser_free(NULL);
}

/* ---- STAT listings and the "LIST -a" probe ----------------------------- */

/* The first reply of fixtures/reply/NAME, assembled by the reply codec. */
static void
stat_reply(const char *name, struct ftp_reply *rep)
{
	struct ftp_reply_reader rd;
	char path[512];
	size_t len, used;
	char *d;
	FILE *f;
	long sz;

	snprintf(path, sizeof(path), "%s/reply/%s", FIXTURES, name);
	f = fopen(path, "rb");
	if (f == NULL)
		fail_msg("cannot open %s", path);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	sz = ftell(f);
	assert_true(sz > 0);
	rewind(f);
	len = (size_t)sz;
	d = malloc(len);
	assert_non_null(d);
	assert_int_equal(fread(d, 1, len, f), len);
	fclose(f);
	ftp_reply_reader_init(&rd);
	assert_int_equal(ftp_reply_feed(&rd, d, len, &used, rep), 1);
	ftp_reply_reader_free(&rd);
	free(d);
}

static void
run_stat(const char *text, size_t len, struct result *r)
{
	struct ftp_list_parser p;

	memset(r, 0, sizeof(*r));
	r->stop_after = -1;
	ftp_list_parser_init(&p, FTP_LIST_AUTO, NOW_CAPTURE, collect, r);
	assert_int_equal(ftp_list_feed_stat(&p, text, len), 0);
	assert_int_equal(ftp_list_finish(&p), 0);
	r->bad = p.bad_lines;
	r->entries = p.entries;
	r->fmt = p.fmt;
	ftp_list_parser_free(&p);
}

static void
test_stat_listing(void **state)
{
	struct ftp_reply rep;
	const struct got *g;
	struct result r;

	(void)state;
	/* vsftpd: "213-Status follows:", lines not indented, . and .. */
	stat_reply("vsftpd_stat.txt", &rep);
	assert_int_equal(rep.code, 213);
	run_stat(rep.text, rep.text_len, &r);
	assert_int_equal(r.fmt, FTP_LIST_UNIX);
	assert_int_equal(r.bad, 0);
	assert_int_equal(r.n, 2);
	assert_non_null(find(&r, "big.bin"));
	g = find(&r, "trailing space.txt "); /* the blank is the name's */
	assert_non_null(g);
	assert_int_equal(g->attr.size, 6);
	result_free(&r);
	ftp_reply_free(&rep);

	/* ProFTPD: each line indented by one space; only that one goes */
	stat_reply("proftpd_stat.txt", &rep);
	assert_int_equal(rep.code, 212);
	run_stat(rep.text, rep.text_len, &r);
	assert_int_equal(r.bad, 0);
	assert_int_equal(r.n, 4);
	assert_non_null(find(&r, "  leading spaces.txt"));
	g = find(&r, "link_to_deeper");
	assert_non_null(g);
	assert_string_equal(g->target, "sub/deeper");
	assert_true(S_ISDIR(find(&r, "sub")->attr.mode));
	result_free(&r);
	ftp_reply_free(&rep);
}

static void
test_stat_framing(void **state)
{
	static const char *const none[] = {
		"",
		"213 End of status",
		"213-Status follows:\n213 End of status",
		"213-Status follows:",
		"\n",
	};
	static const char two[] =
	    "213-Status follows:\n"
	    "-rw-r--r--    1 0 0 6 Nov 23 18:31 a\n"
	    "-rw-r--r--    1 0 0 6 Nov 23 18:31 b\n"
	    "-rw-r--r--    1 0 0 6 Nov 23 18:31 not-a-middle-line";
	struct result r;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(none) / sizeof(none[0]); i++) {
		run_stat(none[i], strlen(none[i]), &r);
		assert_int_equal(r.n, 0);
		assert_int_equal(r.bad, 0);
		result_free(&r);
	}
	/* The last line is the closing one, whatever it says. */
	run_stat(two, strlen(two), &r);
	assert_int_equal(r.n, 2);
	assert_non_null(find(&r, "a"));
	assert_non_null(find(&r, "b"));
	result_free(&r);
	/* An empty middle line: no entry, no error. */
	run_stat(S_AND_LEN("213-x\n\n213 End"), &r);
	assert_int_equal(r.n, 0);
	result_free(&r);
	/* A text ending in LF: the closing line is empty; nothing past len
	   is read. */
	run_stat("213-x\n-rw-r--r-- 1 0 0 6 Nov 23 18:31 c\n-rw-r--r-- 1 0 0 "
	         "6 Nov 23 18:31 d\n",
	    strlen("213-x\n-rw-r--r-- 1 0 0 6 Nov 23 18:31 c\n"), &r);
	assert_int_equal(r.n, 1);
	assert_non_null(find(&r, "c"));
	result_free(&r);
}

static bool
dots_in(const char *s, size_t chunk)
{
	struct ftp_list_dots d = { 0 };
	size_t off, n, len = strlen(s);

	for (off = 0; off < len; off += n) {
		n = chunk == 0 || chunk > len - off ? len - off : chunk;
		ftp_list_dots_feed(&d, s + off, n);
	}
	return d.seen;
}

static void
test_dots(void **state)
{
	static const struct {
		const char *listing;
		bool seen;
	} cases[] = {
		/* vsftpd and Pure-FTPd LIST -a (fixtures/list/ *.list-a) */
		{ "drwxr-xr-x    3 1002     1002         4096 Nov 23 18:35 .\r\n"
		  "-rw-r--r--    1 1002     1002            6 Nov 23 18:31 a\r\n",
		    true },
		{ "-rw-r--r--    1 1002     1002            6 Nov 23 18:31 a\r\n"
		  "drwxr-xr-x    5 0        0            4096 Nov 23 18:30 ..\r\n",
		    true },
		/* bare LF line ends */
		{ "drwxr-xr-x 2 u g 4096 Nov 23 18:35 ..\n", true },
		/* a server that ignored -a */
		{ "-rw-r--r--    1 1002     1002            6 Nov 23 18:31 a\r\n",
		    false },
		{ "-rw-r--r-- 1 u g 6 Nov 23 18:31 .hidden\r\n", false },
		{ "-rw-r--r-- 1 u g 6 Nov 23 18:31 x...\r\n", false },
		/* the line end must follow: a last line without it is not seen
		 */
		{ "drwxr-xr-x 2 u g 4096 Nov 23 18:35 .", false },
		{ " .\n", true },
		{ ".\n", false },
		{ "", false },
	};
	size_t i, chunk;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		for (chunk = 0; chunk <= 5; chunk++)
			assert_int_equal(
			    dots_in(cases[i].listing, chunk), cases[i].seen);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fixtures),
		cmocka_unit_test(test_fixture_detection),
		cmocka_unit_test(test_fixture_lf_only),
		cmocka_unit_test(test_mlsd_basic),
		cmocka_unit_test(test_mlsd_perm),
		cmocka_unit_test(test_mlsd_types),
		cmocka_unit_test(test_mlst_hidden_link),
		cmocka_unit_test(test_mlsd_modes),
		cmocka_unit_test(test_mlsd_times),
		cmocka_unit_test(test_mlsd_invalid),
		cmocka_unit_test(test_unix_fields),
		cmocka_unit_test(test_unix_modes),
		cmocka_unit_test(test_unix_names),
		cmocka_unit_test(test_unix_invalid),
		cmocka_unit_test(test_unix_year),
		cmocka_unit_test(test_dos),
		cmocka_unit_test(test_parser_detect),
		cmocka_unit_test(test_parser_lines),
		cmocka_unit_test(test_parser_overlong),
		cmocka_unit_test(test_parser_eol_recovery),
		cmocka_unit_test(test_parser_callback_error),
		cmocka_unit_test(test_stat_listing),
		cmocka_unit_test(test_stat_framing),
		cmocka_unit_test(test_dots),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
