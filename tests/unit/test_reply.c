/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_reply: the FTP reply codec against real server transcripts, fed
 * whole, byte by byte, split at every position and in pseudo-random chunks;
 * every way must agree.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ftp_reply.h"

#define MAX_REPLIES 32

struct got {
	int code;
	char *text;
	size_t len;
	unsigned nlines;
};

struct run {
	struct got rep[MAX_REPLIES];
	size_t n;
	unsigned skipped;
	int err;
	bool busy; /* reader state after the last byte */
};

/* Chunk sizes: returns how many bytes to hand over next (>= 1). */
typedef size_t (*chunker)(void *arg, size_t left);

static size_t
chunk_all(void *arg, size_t left)
{
	(void)arg;
	return left;
}

static size_t
chunk_one(void *arg, size_t left)
{
	(void)arg;
	(void)left;
	return 1;
}

struct split_at {
	size_t first; /* size of the first chunk, then everything */
	bool done;
};

static size_t
chunk_split(void *arg, size_t left)
{
	struct split_at *s = arg;

	if (!s->done) {
		s->done = true;
		if (s->first > 0 && s->first < left)
			return s->first;
	}
	return left;
}

static size_t
chunk_random(void *arg, size_t left)
{
	uint32_t *seed = arg;
	size_t n;

	*seed = *seed * 1103515245u + 12345u;
	n = 1 + (*seed >> 16) % 17;
	return n < left ? n : left;
}

static void
run_free(struct run *r)
{
	size_t i;

	for (i = 0; i < r->n; i++)
		free(r->rep[i].text);
	r->n = 0;
}

/* Feed data in chunks and collect every reply, re-feeding remainders. */
static void
run_feed(const char *data, size_t len, chunker next, void *arg, struct run *out)
{
	struct ftp_reply_reader rd;
	struct ftp_reply rep;
	size_t off = 0, n, used;
	const char *p;
	int rc;

	memset(out, 0, sizeof(*out));
	ftp_reply_reader_init(&rd);
	while (off < len && out->err == 0) {
		n = next(arg, len - off);
		assert_true(n >= 1 && n <= len - off);
		p = data + off;
		off += n;
		while (n > 0) {
			rc = ftp_reply_feed(&rd, p, n, &used, &rep);
			assert_true(used <= n);
			if (rc < 0) {
				out->err = rc;
				break;
			}
			if (rc == 0) {
				/* Without a reply, everything is consumed. */
				assert_int_equal(used, n);
				break;
			}
			assert_int_equal(rc, 1);
			assert_true(used > 0);
			assert_non_null(rep.text);
			assert_int_equal(rep.text[rep.text_len], '\0');
			assert_true(out->n < MAX_REPLIES);
			out->rep[out->n].code = rep.code;
			out->rep[out->n].text = rep.text; /* take ownership */
			out->rep[out->n].len = rep.text_len;
			out->rep[out->n].nlines = rep.nlines;
			out->n++;
			p += used;
			n -= used;
		}
	}
	out->skipped = rd.skipped;
	out->busy = ftp_reply_reader_busy(&rd);
	ftp_reply_reader_free(&rd);
}

static void
assert_same_run(const struct run *a, const struct run *b)
{
	size_t i;

	assert_int_equal(a->err, b->err);
	assert_int_equal(a->n, b->n);
	assert_int_equal(a->skipped, b->skipped);
	assert_int_equal(a->busy, b->busy);
	for (i = 0; i < a->n; i++) {
		assert_int_equal(a->rep[i].code, b->rep[i].code);
		assert_int_equal(a->rep[i].nlines, b->rep[i].nlines);
		assert_int_equal(a->rep[i].len, b->rep[i].len);
		assert_memory_equal(
		    a->rep[i].text, b->rep[i].text, a->rep[i].len);
	}
}

/*
 * Feed whole and then in every other way; all must equal the whole run,
 * which is left in *whole for the caller's own checks.
 */
static void
check_all_splits(const char *data, size_t len, struct run *whole)
{
	struct run other;
	struct split_at sp;
	uint32_t seed;
	size_t k;

	run_feed(data, len, chunk_all, NULL, whole);

	run_feed(data, len, chunk_one, NULL, &other);
	assert_same_run(whole, &other);
	run_free(&other);

	for (k = 1; k < len; k++) {
		sp.first = k;
		sp.done = false;
		run_feed(data, len, chunk_split, &sp, &other);
		assert_same_run(whole, &other);
		run_free(&other);
	}
	for (seed = 1; seed <= 50; seed++) {
		uint32_t s = seed;

		run_feed(data, len, chunk_random, &s, &other);
		assert_same_run(whole, &other);
		run_free(&other);
	}
}

static char *
load_fixture(const char *name, size_t *len)
{
	char path[512];
	FILE *f;
	char *data;
	long n;

	snprintf(path, sizeof(path), "%s/reply/%s", FIXTURES, name);
	f = fopen(path, "rb");
	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n > 0);
	rewind(f);
	data = malloc((size_t)n + 1);
	assert_non_null(data);
	assert_int_equal(fread(data, 1, (size_t)n, f), (size_t)n);
	data[n] = '\0';
	fclose(f);
	*len = (size_t)n;
	return data;
}

static void
test_pureftpd_session(void **state)
{
	static const int codes[] = { 220, 331, 230, 200, 229, 150, 226, 221 };
	struct run r;
	struct ftp_reply rep;
	size_t len, i;
	char *data;

	(void)state;
	data = load_fixture("pureftpd_session.txt", &len);
	check_all_splits(data, len, &r);
	assert_int_equal(r.err, 0);
	assert_int_equal(r.n, sizeof(codes) / sizeof(codes[0]));
	for (i = 0; i < r.n; i++)
		assert_int_equal(r.rep[i].code, codes[i]);
	assert_int_equal(r.skipped, 0);
	assert_false(r.busy);

	/* The banner: "220-" + dashes, six lines, codes kept, '\n'-joined. */
	assert_int_equal(r.rep[0].nlines, 6);
	assert_string_equal(r.rep[0].text,
	    "220---------- Welcome to Pure-FTPd [privsep] [TLS] ----------\n"
	    "220-You are user number 1 of 50 allowed.\n"
	    "220-Local time is now 18:32. Server port: 2141.\n"
	    "220-This is a private system - No anonymous login\n"
	    "220-IPv6 connections are also welcome on this server.\n"
	    "220 You will be disconnected after 15 minutes of inactivity.");
	rep.text = r.rep[0].text;
	rep.text_len = r.rep[0].len;
	assert_string_equal(ftp_reply_last_line(&rep),
	    "You will be disconnected after 15 minutes of inactivity.");

	/* Multi-line preliminary and final replies around a transfer. */
	assert_int_equal(r.rep[5].nlines, 2);
	assert_string_equal(r.rep[5].text,
	    "150-Accepted data connection\n150 1024.0 kbytes to download");
	assert_int_equal(r.rep[6].nlines, 2);
	assert_string_equal(r.rep[6].text,
	    "226-File successfully transferred\n"
	    "226 0.002 seconds (measured here), 499.50 Mbytes per second");
	assert_string_equal(
	    r.rep[4].text, "229 Extended Passive mode OK (|||32009|)");
	assert_int_equal(r.rep[4].nlines, 1);
	run_free(&r);
	free(data);
}

static void
test_feat_fixtures(void **state)
{
	static const struct {
		const char *file;
		unsigned nlines;
		const char *second;
	} fx[] = {
		{ "vsftpd_feat.txt", 9, "211-Features:\n EPRT\n" },
		{ "vsftpd_tls_feat.txt", 12, "211-Features:\n AUTH TLS\n" },
		{ "proftpd_feat.txt", 26, "211-Features:\n AUTH TLS\n" },
		{ "pureftpd_feat.txt", 20,
		    "211-Extensions supported:\n UTF8\n" },
		{ "pyftpdlib_feat.txt", 11,
		    "211-Features supported:\n EPRT\n" },
		{ "iis_feat.txt", 12, "211-Extended features supported:\n" },
	};
	struct run r;
	size_t len, i;
	char *data;

	(void)state;
	for (i = 0; i < sizeof(fx) / sizeof(fx[0]); i++) {
		data = load_fixture(fx[i].file, &len);
		check_all_splits(data, len, &r);
		assert_int_equal(r.err, 0);
		assert_int_equal(r.n, 1);
		assert_int_equal(r.rep[0].code, 211);
		assert_int_equal(r.rep[0].nlines, fx[i].nlines);
		assert_true(strncmp(r.rep[0].text, fx[i].second,
		                strlen(fx[i].second)) == 0);
		/* No CR survives, the text length matches the input. */
		assert_null(strchr(r.rep[0].text, '\r'));
		/* CRLF dropped per line, '\n' between lines. */
		assert_int_equal(r.rep[0].len, len - fx[i].nlines - 1);
		run_free(&r);
		free(data);
	}
}

static void
test_stat_fixtures(void **state)
{
	struct run r;
	size_t len;
	char *data;

	(void)state;
	data = load_fixture("proftpd_stat.txt", &len);
	check_all_splits(data, len, &r);
	assert_int_equal(r.err, 0);
	assert_int_equal(r.n, 1);
	assert_int_equal(r.rep[0].code, 212);
	assert_int_equal(r.rep[0].nlines, 8);
	assert_non_null(strstr(r.rep[0].text,
	    "\n -rw-r--r--   1 fguide   fguide          5 Nov 23 18:31   "
	    "leading spaces.txt\n"));
	run_free(&r);
	free(data);

	/* Unindented lines; a trailing space in a name is kept. */
	data = load_fixture("vsftpd_stat.txt", &len);
	check_all_splits(data, len, &r);
	assert_int_equal(r.err, 0);
	assert_int_equal(r.n, 2);
	assert_int_equal(r.rep[0].code, 213);
	assert_int_equal(r.rep[0].nlines, 6);
	assert_non_null(strstr(r.rep[0].text, "trailing space.txt \n213 End"));
	assert_int_equal(r.rep[1].code, 211);
	assert_int_equal(r.rep[1].nlines, 8);
	assert_non_null(
	    strstr(r.rep[1].text, "\n     Connected to 127.0.0.1\n"));
	run_free(&r);
	free(data);
}

static void
test_pyftpdlib_unsolicited(void **state)
{
	struct run r;
	size_t len;
	char *data;

	(void)state;
	data = load_fixture("pyftpdlib_421.txt", &len);
	check_all_splits(data, len, &r);
	assert_int_equal(r.n, 3);
	assert_int_equal(r.rep[0].code, 229);
	assert_int_equal(r.rep[1].code, 421);
	assert_string_equal(
	    r.rep[1].text, "421 Passive data channel timed out.");
	assert_int_equal(r.rep[2].code, 200);
	run_free(&r);
	free(data);
}

static void
test_proftpd_mkd_lf(void **state)
{
	struct run r;
	size_t len;
	char *data;

	(void)state;
	/*
	 * The LF in the echoed name ends the 257 early; the remainder has no
	 * code and is skipped while waiting for the next reply.
	 */
	data = load_fixture("proftpd_mkd_lf.txt", &len);
	check_all_splits(data, len, &r);
	assert_int_equal(r.n, 2);
	assert_int_equal(r.rep[0].code, 257);
	assert_string_equal(r.rep[0].text, "257 \"/a");
	assert_int_equal(r.rep[1].code, 250);
	assert_string_equal(r.rep[1].text, "250 CWD command successful");
	assert_int_equal(r.skipped, 1);
	run_free(&r);
	free(data);
}

/* Feed one string, expect exactly one reply with this text. */
static void
expect_one(const char *in, size_t len, int code, const char *text, size_t tlen,
    unsigned nlines)
{
	struct run r;

	check_all_splits(in, len, &r);
	assert_int_equal(r.err, 0);
	assert_int_equal(r.n, 1);
	assert_int_equal(r.rep[0].code, code);
	assert_int_equal(r.rep[0].nlines, nlines);
	assert_int_equal(r.rep[0].len, tlen);
	assert_memory_equal(r.rep[0].text, text, tlen);
	run_free(&r);
}

#define S(lit) lit, sizeof(lit) - 1

static void
test_consumes_one_reply(void **state)
{
	struct ftp_reply_reader rd;
	struct ftp_reply rep;
	const char in[] = "220 a\r\n331 b\r\n230-c\r\n";
	size_t used;

	(void)state;
	ftp_reply_reader_init(&rd);
	assert_int_equal(
	    ftp_reply_feed(&rd, in, sizeof(in) - 1, &used, &rep), 1);
	assert_int_equal(used, 7);
	assert_int_equal(rep.code, 220);
	assert_string_equal(rep.text, "220 a");
	assert_false(ftp_reply_reader_busy(&rd));
	ftp_reply_free(&rep);
	assert_null(rep.text);

	assert_int_equal(
	    ftp_reply_feed(&rd, in + 7, sizeof(in) - 8, &used, &rep), 1);
	assert_int_equal(used, 7);
	assert_int_equal(rep.code, 331);
	ftp_reply_free(&rep);

	assert_int_equal(
	    ftp_reply_feed(&rd, in + 14, sizeof(in) - 15, &used, &rep), 0);
	assert_int_equal(used, sizeof(in) - 15);
	assert_null(rep.text);
	assert_true(ftp_reply_reader_busy(&rd));
	assert_int_equal(ftp_reply_feed(&rd, "230 d\r\n", 7, &used, &rep), 1);
	assert_string_equal(rep.text, "230-c\n230 d");
	assert_int_equal(rep.nlines, 2);
	ftp_reply_free(&rep);
	ftp_reply_reader_free(&rd);
	ftp_reply_reader_free(&rd); /* twice is fine */
	ftp_reply_free(NULL);
	ftp_reply_reader_free(NULL);
}

static void
test_empty_feed(void **state)
{
	struct ftp_reply_reader rd;
	struct ftp_reply rep;
	size_t used = 99;

	(void)state;
	ftp_reply_reader_init(&rd);
	assert_int_equal(ftp_reply_feed(&rd, NULL, 0, &used, &rep), 0);
	assert_int_equal(used, 0);
	assert_false(ftp_reply_reader_busy(&rd));
	ftp_reply_reader_free(&rd);
}

static void
test_line_endings(void **state)
{
	(void)state;
	/* Bare LF ends a line. */
	expect_one(S("200 ok\n"), 200, S("200 ok"), 1);
	/* A bare CR stays inside the line; only CR before LF goes. */
	expect_one(S("200 a\rb\r\n"), 200, S("200 a\rb"), 1);
	/* CR CR LF: the first CR is data. */
	expect_one(S("200 a\r\r\n"), 200, S("200 a\r"), 1);
	/* RFC 2640: CR NUL is a CR inside a name. */
	expect_one(S("257 \"/a\r\0b\" created\r\n"), 257,
	    S("257 \"/a\rb\" created"), 1);
	/* A NUL elsewhere is kept as a byte. */
	expect_one(S("250 a\0b\r\n"), 250, S("250 a\0b"), 1);
	/* Mixed endings in one multi-line reply. */
	expect_one(
	    S("211-a\n b\r\n c\n211 d\r\n"), 211, S("211-a\n b\n c\n211 d"), 4);
	/* Empty middle lines are lines too. */
	expect_one(S("220-x\r\n\r\n220 y\r\n"), 220, S("220-x\n\n220 y"), 3);
}

static void
test_cr_at_chunk_boundary(void **state)
{
	struct ftp_reply_reader rd;
	struct ftp_reply rep;
	size_t used;

	(void)state;
	ftp_reply_reader_init(&rd);
	assert_int_equal(ftp_reply_feed(&rd, "220 x\r", 6, &used, &rep), 0);
	assert_int_equal(used, 6);
	assert_true(ftp_reply_reader_busy(&rd));
	assert_int_equal(ftp_reply_feed(&rd, "\n", 1, &used, &rep), 1);
	assert_int_equal(used, 1);
	assert_string_equal(rep.text, "220 x");
	ftp_reply_free(&rep);

	/* CR | NUL across chunks */
	assert_int_equal(ftp_reply_feed(&rd, "257 a\r", 6, &used, &rep), 0);
	assert_int_equal(ftp_reply_feed(&rd, "\0b\r", 3, &used, &rep), 0);
	assert_int_equal(ftp_reply_feed(&rd, "\n", 1, &used, &rep), 1);
	assert_int_equal(rep.text_len, 7);
	assert_memory_equal(rep.text, "257 a\rb", 7);
	ftp_reply_free(&rep);

	/* CR | other byte across chunks keeps the CR */
	assert_int_equal(ftp_reply_feed(&rd, "200 a\r", 6, &used, &rep), 0);
	assert_int_equal(ftp_reply_feed(&rd, "b\r\n", 3, &used, &rep), 1);
	assert_string_equal(rep.text, "200 a\rb");
	ftp_reply_free(&rep);
	ftp_reply_reader_free(&rd);
}

static void
test_garbage_before_reply(void **state)
{
	struct run r;
	const char in[] = "hello\r\n\r\n12\r\n2200\r\n000 zero\r\n600 six\r\n"
	                  "22a bad\r\n220x\r\n 220 indented\r\n220 ok\r\n";

	(void)state;
	check_all_splits(in, sizeof(in) - 1, &r);
	assert_int_equal(r.err, 0);
	assert_int_equal(r.n, 1);
	assert_int_equal(r.rep[0].code, 220);
	assert_string_equal(r.rep[0].text, "220 ok");
	assert_int_equal(r.skipped, 9);
	run_free(&r);
}

static void
test_strict_termination(void **state)
{
	(void)state;
	/* Only the opening code with a space ends a multi-line reply. */
	expect_one(S("150-a\r\n226 b\r\n150-c\r\n150\r\n1500 d\r\n 150 e\r\n"
	             "150 f\r\n"),
	    150, S("150-a\n226 b\n150-c\n150\n1500 d\n 150 e\n150 f"), 7);
	/* Digits in the middle lines of a STAT listing. */
	expect_one(S("213-Status follows:\r\n200 x\r\n213-y\r\n2130 z\r\n"
	             "213\r\n213\t\r\n213 End of status\r\n"),
	    213,
	    S("213-Status follows:\n200 x\n213-y\n2130 z\n213\n213\t\n"
	      "213 End of status"),
	    7);
	/* "DDD " then more: a single-line reply may itself contain '-'. */
	expect_one(S("226 Transfer complete - 5 bytes\r\n"), 226,
	    S("226 Transfer complete - 5 bytes"), 1);
	/* A closing line with nothing after the space. */
	expect_one(S("230-x\r\n230 \r\n"), 230, S("230-x\n230 "), 2);
	/* A bare code is a whole reply, but never ends a multi-line one. */
	expect_one(S("229\r\n"), 229, S("229"), 1);
	expect_one(S("227\n"), 227, S("227"), 1);
}

static void
test_preliminary_then_final(void **state)
{
	struct run r;
	const char in[] = "150-Accepted data connection\r\n"
	                  "150 1024.0 kbytes to download\r\n"
	                  "226-File successfully transferred\r\n"
	                  "226 0.002 seconds\r\n";

	(void)state;
	check_all_splits(in, sizeof(in) - 1, &r);
	assert_int_equal(r.n, 2);
	assert_true(ftp_reply_is_prelim(r.rep[0].code));
	assert_true(ftp_reply_is_ok(r.rep[1].code));
	assert_false(ftp_reply_is_intermediate(r.rep[1].code));
	assert_true(ftp_reply_is_intermediate(331));
	assert_false(ftp_reply_is_ok(199));
	assert_false(ftp_reply_is_prelim(200));
	run_free(&r);
}

static void
test_line_max(void **state)
{
	struct ftp_reply_reader rd;
	struct ftp_reply rep;
	char *big;
	size_t used, i, n = FTP_REPLY_LINE_MAX;

	(void)state;
	big = malloc(n + 3);
	assert_non_null(big);
	memcpy(big, "200 ", 4);
	memset(big + 4, 'x', n - 4);
	memcpy(big + n, "\r\n", 2);

	/* Exactly the maximum, CR not counted: accepted. */
	ftp_reply_reader_init(&rd);
	assert_int_equal(ftp_reply_feed(&rd, big, n + 2, &used, &rep), 1);
	assert_int_equal(rep.text_len, n);
	ftp_reply_free(&rep);

	/* One byte more: refused, never truncated. */
	big[n] = 'x';
	assert_int_equal(
	    ftp_reply_feed(&rd, big, n + 1, &used, &rep), -EMSGSIZE);
	assert_null(rep.text);
	/* The reader was reset and works again. */
	assert_false(ftp_reply_reader_busy(&rd));
	assert_int_equal(ftp_reply_feed(&rd, "200 ok\r\n", 8, &used, &rep), 1);
	assert_string_equal(rep.text, "200 ok");
	ftp_reply_free(&rep);

	/* A garbage line is capped too. */
	memset(big, 'g', n + 1);
	assert_int_equal(
	    ftp_reply_feed(&rd, big, n + 1, &used, &rep), -EMSGSIZE);

	/* Byte by byte, the cap hits at the same byte. */
	ftp_reply_reader_reset(&rd);
	memcpy(big, "200 ", 4);
	for (i = 0; i < n; i++)
		assert_int_equal(
		    ftp_reply_feed(&rd, big + i, 1, &used, &rep), 0);
	/* A CR is held back, so it does not count yet... */
	assert_int_equal(ftp_reply_feed(&rd, "\r", 1, &used, &rep), 0);
	/* ...but as data it would overflow. */
	assert_int_equal(ftp_reply_feed(&rd, "y", 1, &used, &rep), -EMSGSIZE);
	ftp_reply_reader_free(&rd);
	free(big);
}

static void
test_text_max(void **state)
{
	struct ftp_reply_reader rd;
	struct ftp_reply rep;
	char line[1024];
	size_t used, total = 0;
	int rc = 0;

	(void)state;
	ftp_reply_reader_init(&rd);
	assert_int_equal(
	    ftp_reply_feed(&rd, "213-Status\r\n", 12, &used, &rep), 0);
	memset(line, 'l', sizeof(line));
	line[sizeof(line) - 2] = '\r';
	line[sizeof(line) - 1] = '\n';
	while (total < 2 * FTP_REPLY_TEXT_MAX) {
		rc = ftp_reply_feed(&rd, line, sizeof(line), &used, &rep);
		if (rc != 0)
			break;
		total += sizeof(line);
	}
	assert_int_equal(rc, -EMSGSIZE);
	assert_true(total <= FTP_REPLY_TEXT_MAX);
	assert_true(total >= FTP_REPLY_TEXT_MAX - 2 * sizeof(line));
	assert_false(ftp_reply_reader_busy(&rd));
	ftp_reply_reader_free(&rd);
}

static void
test_reset(void **state)
{
	struct ftp_reply_reader rd;
	struct ftp_reply rep;
	size_t used;

	(void)state;
	ftp_reply_reader_init(&rd);
	assert_false(ftp_reply_reader_busy(&rd));
	assert_int_equal(
	    ftp_reply_feed(&rd, "226-partial\r\n22", 15, &used, &rep), 0);
	assert_true(ftp_reply_reader_busy(&rd));
	ftp_reply_reader_reset(&rd);
	assert_false(ftp_reply_reader_busy(&rd));
	assert_int_equal(
	    ftp_reply_feed(&rd, "200 fresh\r\n", 11, &used, &rep), 1);
	assert_string_equal(rep.text, "200 fresh");
	assert_int_equal(rep.nlines, 1);
	ftp_reply_free(&rep);
	ftp_reply_reader_free(&rd);
}

static void
test_last_line(void **state)
{
	struct ftp_reply rep = { 0 };

	(void)state;
	assert_string_equal(ftp_reply_last_line(&rep), "");
	assert_string_equal(ftp_reply_last_line(NULL), "");
	rep.text = (char *)"550 Could not get file size.";
	rep.text_len = strlen(rep.text);
	assert_string_equal(
	    ftp_reply_last_line(&rep), "Could not get file size.");
	rep.text = (char *)"211-Features:\n EPRT\n211 End";
	rep.text_len = strlen(rep.text);
	assert_string_equal(ftp_reply_last_line(&rep), "End");
	rep.text = (char *)"230-x\n230 ";
	rep.text_len = strlen(rep.text);
	assert_string_equal(ftp_reply_last_line(&rep), "");
	rep.text = (char *)"ab\nc";
	rep.text_len = strlen(rep.text);
	assert_string_equal(ftp_reply_last_line(&rep), "");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pureftpd_session),
		cmocka_unit_test(test_feat_fixtures),
		cmocka_unit_test(test_stat_fixtures),
		cmocka_unit_test(test_pyftpdlib_unsolicited),
		cmocka_unit_test(test_proftpd_mkd_lf),
		cmocka_unit_test(test_consumes_one_reply),
		cmocka_unit_test(test_empty_feed),
		cmocka_unit_test(test_line_endings),
		cmocka_unit_test(test_cr_at_chunk_boundary),
		cmocka_unit_test(test_garbage_before_reply),
		cmocka_unit_test(test_strict_termination),
		cmocka_unit_test(test_preliminary_then_final),
		cmocka_unit_test(test_line_max),
		cmocka_unit_test(test_text_max),
		cmocka_unit_test(test_reset),
		cmocka_unit_test(test_last_line),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
