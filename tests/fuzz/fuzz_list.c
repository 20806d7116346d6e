/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target for ftp_list: the input goes through the incremental
 * parser in every format, split into chunks whose sizes come from the
 * input, with clocks from the input too; each line parser also gets the
 * whole input as one line.  Every reported entry is checked against the
 * contract (non-empty name inside the input's copy, no CR/LF/NUL/'/', not
 * "." or "..", sane mode) and read byte by byte so ASan sees overreads.
 *
 * The same bytes are also the text of a STAT reply (ftp_list_feed_stat,
 * checked against the loop it replaced in ftp_meta.c) and a LIST -a
 * listing scanned for "." and ".." (ftp_list_dots_feed: split into chunks
 * or not, and against the scan it replaced, the same answer).
 *
 * Input: byte 0 chooses the clock, byte 1 seeds the chunk sizes, the rest
 * is the listing, in which each 0x01 byte stands for 3000 'x' so that short
 * inputs reach lines longer than FTP_LIST_LINE_MAX.
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "ftp_list.h"

#define EXPAND_BYTE 0x01
#define EXPAND_LEN 3000
#define EXPAND_MAX (256 * 1024)

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);

struct ctx {
	const char *base; /* NULL: do not check where names point */
	size_t len;
	bool incremental;
	unsigned seen;
	unsigned sum;
};

static void
check(bool ok)
{
	if (!ok)
		__builtin_trap();
}

static bool
inside(const struct ctx *c, const char *p, size_t n)
{
	return c->base == NULL ||
	    (p >= c->base && n <= c->len &&
	        p - c->base <= (ptrdiff_t)(c->len - n));
}

static void
check_entry(struct ctx *c, const struct ftp_list_entry *e)
{
	mode_t t = e->attr.mode & S_IFMT;
	size_t i;

	check(e->name != NULL && e->name_len > 0);
	check(inside(c, e->name, e->name_len));
	check(!(e->name_len == 1 && e->name[0] == '.'));
	check(!(e->name_len == 2 && e->name[0] == '.' && e->name[1] == '.'));
	for (i = 0; i < e->name_len; i++) {
		check(e->name[i] != '\r' && e->name[i] != '\n' &&
		    e->name[i] != '\0');
		if (c->incremental)
			check(e->name[i] != '/');
		c->sum += (unsigned char)e->name[i];
	}
	if (e->target != NULL) {
		check(e->target_len > 0 && t == S_IFLNK);
		check(inside(c, e->target, e->target_len));
		for (i = 0; i < e->target_len; i++) {
			check(e->target[i] != '\r' && e->target[i] != '\n' &&
			    e->target[i] != '\0');
			c->sum += (unsigned char)e->target[i];
		}
	}
	check(e->attr.valid & BA_MODE_TYPE);
	check(t == S_IFREG || t == S_IFDIR || t == S_IFLNK || t == S_IFCHR ||
	    t == S_IFBLK || t == S_IFIFO || t == S_IFSOCK);
	check((e->attr.mode & ~(mode_t)(S_IFMT | 07777)) == 0);
	check(e->attr.mtime.tv_nsec >= 0 && e->attr.mtime.tv_nsec < 1000000000);
	check(e->attr.mtime_prec <= BA_PREC_DAY);
	check((e->attr.valid & ~0x7fu) == 0);
}

static int
cb(const struct ftp_list_entry *e, void *arg)
{
	struct ctx *c = arg;

	/* name and target point into the parser's buffer: base unknown */
	check_entry(c, e);
	c->seen++;
	return 0;
}

/*
 * Clocks: the fixtures' capture time, the epoch and just before it, the
 * years 1 and 9999, the ends of time_t, and a Feb 29.
 */
static const time_t clocks[] = { 1795523400, 0, -1, (time_t)-62135596800LL,
	(time_t)253402300799LL, (time_t)INT64_MAX, (time_t)INT64_MIN,
	951782400 };

static void
run_parser(enum ftp_list_fmt fmt, time_t now, const char *data, size_t len,
    uint8_t seed)
{
	struct ftp_list_parser p;
	struct ctx c = { .incremental = true };
	size_t off = 0, chunk;
	unsigned state = seed;
	int rc;

	ftp_list_parser_init(&p, fmt, now, cb, &c);
	while (off < len) {
		/* Chunk sizes 1..64 or everything, from a tiny LCG. */
		state = state * 1103515245u + 12345u;
		chunk = seed == 0 ? len - off : 1 + ((state >> 16) % 64);
		if (chunk > len - off)
			chunk = len - off;
		rc = ftp_list_feed(&p, data + off, chunk);
		check(rc == 0);
		off += chunk;
	}
	rc = ftp_list_finish(&p);
	check(rc == 0);
	check(p.entries == c.seen);
	if (fmt != FTP_LIST_AUTO)
		check(p.fmt == fmt);
	ftp_list_parser_free(&p);
}

/*
 * The STAT loop as ftp_meta.c had it, over a NUL-terminated text: the
 * reference ftp_list_feed_stat must agree with.
 */
static void
stat_reference(struct ftp_list_parser *p, const char *text)
{
	const char *line, *end, *last;
	int rc = 0;

	last = strrchr(text, '\n');
	line = strchr(text, '\n');
	while (rc == 0 && line != NULL && line != last) {
		line++;
		end = strchr(line, '\n');
		if (end == NULL)
			break;
		if (*line == ' ')
			line++;
		rc = ftp_list_feed(p, line, (size_t)(end - line) + 1);
		line = end;
	}
	check(rc == 0);
}

static void
run_stat(time_t now, const char *data, size_t len)
{
	struct ftp_list_parser p, q;
	struct ctx c = { .incremental = true }, r = { .incremental = true };
	char *z;

	ftp_list_parser_init(&p, FTP_LIST_AUTO, now, cb, &c);
	check(ftp_list_feed_stat(&p, data, len) == 0);
	check(ftp_list_finish(&p) == 0);
	check(p.entries == c.seen);
	/* a reply's text holds no NUL (ftp_reply), nor does the reference */
	if (memchr(data, '\0', len) == NULL && (z = strndup(data, len))) {
		ftp_list_parser_init(&q, FTP_LIST_AUTO, now, cb, &r);
		stat_reference(&q, z);
		check(ftp_list_finish(&q) == 0);
		check(q.entries == p.entries && q.bad_lines == p.bad_lines &&
		    q.fmt == p.fmt && r.sum == c.sum);
		ftp_list_parser_free(&q);
		free(z);
	}
	ftp_list_parser_free(&p);
}

/* The " ." / " .." scan as ftp_meta.c had it, over one chunk. */
static bool
dots_reference(const char *p, size_t n)
{
	size_t i, j;

	for (i = 0; i < n; i++) {
		if (p[i] != '\n')
			continue;
		j = i;
		if (j > 0 && p[j - 1] == '\r')
			j--;
		if (j >= 2 && p[j - 1] == '.' && p[j - 2] == ' ')
			return true;
		if (j >= 3 && p[j - 1] == '.' && p[j - 2] == '.' &&
		    p[j - 3] == ' ')
			return true;
	}
	return false;
}

static void
run_dots(const char *data, size_t len, uint8_t seed)
{
	struct ftp_list_dots whole = { 0 }, split = { 0 };
	unsigned state = seed;
	size_t off = 0, chunk;

	ftp_list_dots_feed(&whole, data, len);
	check(whole.seen == dots_reference(data, len));
	while (off < len) {
		state = state * 1103515245u + 12345u;
		chunk = 1 + ((state >> 16) % 8);
		if (chunk > len - off)
			chunk = len - off;
		ftp_list_dots_feed(&split, data + off, chunk);
		off += chunk;
	}
	check(split.seen == whole.seen);
}

int
LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	struct ftp_list_entry e;
	struct ctx c = { 0 };
	const char *data;
	size_t len;
	time_t now;
	char *copy;
	size_t i;
	int rc;

	if (n < 2)
		return 0;
	now = clocks[d[0] % (sizeof(clocks) / sizeof(clocks[0]))];
	/* An exact-size heap copy so that ASan catches any overread. */
	for (len = 0, i = 2; i < n; i++)
		len += d[i] == EXPAND_BYTE ? EXPAND_LEN : 1;
	if (len > EXPAND_MAX)
		return 0;
	copy = malloc(len ? len : 1);
	if (copy == NULL)
		return 0;
	for (len = 0, i = 2; i < n; i++) {
		if (d[i] != EXPAND_BYTE) {
			copy[len++] = (char)d[i];
			continue;
		}
		memset(copy + len, 'x', EXPAND_LEN);
		len += EXPAND_LEN;
	}
	data = copy;

	run_parser(FTP_LIST_AUTO, now, data, len, d[1]);
	run_parser(FTP_LIST_MLSD, now, data, len, d[1]);
	run_parser(FTP_LIST_UNIX, now, data, len, d[1]);
	run_parser(FTP_LIST_DOS, now, data, len, d[1]);
	run_stat(now, data, len);
	run_dots(data, len, d[1]);

	c.base = data;
	c.len = len;
	rc = ftp_list_parse_mlsd(data, len, &e);
	check(rc == 1 || rc == 0 || rc == -EINVAL);
	if (rc == 1)
		check_entry(&c, &e);
	rc = ftp_list_parse_unix(data, len, now, &e);
	check(rc == 1 || rc == 0 || rc == -EINVAL);
	if (rc == 1)
		check_entry(&c, &e);
	rc = ftp_list_parse_dos(data, len, &e);
	check(rc == 1 || rc == 0 || rc == -EINVAL);
	if (rc == 1)
		check_entry(&c, &e);
	free(copy);
	return 0;
}
