/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fuzz_reply: the reply codec must never crash, must honour its contract
 * on every reply, and must give the same replies however the bytes are
 * split into chunks.  The first input byte seeds the chunk sizes.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "ftp_reply.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Everything the caller can observe, serialised for comparison. */
struct transcript {
	struct buf log;
	int err;
	unsigned skipped;
};

static void
record(struct transcript *t, const struct ftp_reply *rep)
{
	char hdr[32];
	size_t n;

	if (rep->code < 100 || rep->code > 599 || rep->nlines == 0 ||
	    rep->text == NULL || rep->text[rep->text_len] != '\0' ||
	    rep->text_len < 3 || rep->text_len > FTP_REPLY_TEXT_MAX)
		abort();
	if (ftp_reply_last_line(rep) < rep->text ||
	    ftp_reply_last_line(rep) > rep->text + rep->text_len)
		abort();
	n = (size_t)snprintf(hdr, sizeof(hdr), "%d/%u/%zu:", rep->code,
	    rep->nlines, rep->text_len);
	if (buf_append(&t->log, hdr, n) < 0 ||
	    buf_append(&t->log, rep->text, rep->text_len) < 0)
		abort();
}

static void
run(const char *p, size_t len, uint32_t seed, struct transcript *t)
{
	struct ftp_reply_reader rd;
	struct ftp_reply rep;
	size_t off = 0, n, used;
	int rc;

	buf_init(&t->log, 64 * 1024 * 1024);
	t->err = 0;
	ftp_reply_reader_init(&rd);
	while (off < len && t->err == 0) {
		if (seed == 0) {
			n = len - off;
		} else {
			seed = seed * 1103515245u + 12345u;
			n = 1 + (seed >> 16) % 64;
			if (n > len - off)
				n = len - off;
		}
		while (n > 0) {
			rc = ftp_reply_feed(&rd, p + off, n, &used, &rep);
			if (used > n)
				abort();
			off += used;
			n -= used;
			if (rc < 0) {
				t->err = rc;
				if (rep.text != NULL ||
				    ftp_reply_reader_busy(&rd))
					abort();
				break;
			}
			if (rc == 0) {
				if (n != 0)
					abort();
				break;
			}
			if (used == 0)
				abort();
			record(t, &rep);
			ftp_reply_free(&rep);
		}
	}
	t->skipped = rd.skipped;
	ftp_reply_reader_free(&rd);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct transcript whole, split;
	char *p;

	if (size == 0)
		return 0;
	/* An exact-size copy so that any over-read is caught by ASan. */
	p = malloc(size - 1 + 1);
	if (p == NULL)
		return 0;
	memcpy(p, data + 1, size - 1);
	run(p, size - 1, 0, &whole);
	run(p, size - 1, 1u + data[0], &split);
	if (whole.err != split.err || whole.skipped != split.skipped ||
	    whole.log.len != split.log.len ||
	    (whole.log.len > 0 &&
	        memcmp(whole.log.data, split.log.data, whole.log.len) != 0))
		abort();
	buf_free(&whole.log);
	buf_free(&split.log);
	free(p);
	return 0;
}
