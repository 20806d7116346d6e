/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ftp_reply: the FTP reply codec (RFC 959 4.2), an incremental pure parser.
 *
 * Framing rules (as real servers frame replies, RFC 959 4.2 and beyond):
 *  - lines end at LF; a CR before the LF is dropped; "CR NUL" becomes CR;
 *  - while waiting for the first line of a reply, lines that do not start
 *    with three digits followed by ' ' or '-' are skipped (and counted);
 *  - "DDD-" opens a multi-line reply for any code (1xx included); it ends
 *    only at a line starting with the same "DDD ";
 *  - a bare "DDD" line (no text at all) is a one-line reply, not garbage;
 *  - a line longer than FTP_REPLY_LINE_MAX or a reply longer than
 *    FTP_REPLY_TEXT_MAX is an error (-EMSGSIZE), never truncated.
 */
#ifndef FTPFS_FTP_REPLY_H
#define FTPFS_FTP_REPLY_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

#define FTP_REPLY_LINE_MAX 8192
#define FTP_REPLY_TEXT_MAX (256 * 1024) /* STAT listings travel in replies */

struct ftp_reply {
	int code; /* 100..599 */
	char *text; /* every line of the reply, '\n'-joined, with
	               codes, NUL-terminated; malloc'ed */
	size_t text_len;
	unsigned nlines;
};

struct ftp_reply_reader {
	struct buf line; /* the current incomplete line */
	struct buf text; /* lines of the reply being assembled */
	int code; /* code of an open multi-line reply, or 0 */
	unsigned nlines;
	unsigned skipped; /* garbage lines skipped, for the log */
	bool last_cr; /* a CR ended the previous chunk */
};

void ftp_reply_reader_init(struct ftp_reply_reader *r);
void ftp_reply_reader_free(struct ftp_reply_reader *r);
/* Forget any partial reply (after the connection is resynchronised). */
void ftp_reply_reader_reset(struct ftp_reply_reader *r);

/*
 * Feed bytes.  Consumes input up to and including the end of the first
 * complete reply, sets *used to the bytes consumed, and returns 1 with
 * *out filled (caller frees with ftp_reply_free), 0 when all input was
 * consumed without completing a reply, or -EMSGSIZE / -ENOMEM.
 */
int ftp_reply_feed(struct ftp_reply_reader *r, const char *data, size_t len,
    size_t *used, struct ftp_reply *out);

/* True while a reply has been started but not finished. */
bool ftp_reply_reader_busy(const struct ftp_reply_reader *r);

void ftp_reply_free(struct ftp_reply *rep);

/* Class helpers. */
static inline bool
ftp_reply_is_prelim(int code)
{
	return code >= 100 && code < 200;
}
static inline bool
ftp_reply_is_ok(int code)
{
	return code >= 200 && code < 300;
}
static inline bool
ftp_reply_is_intermediate(int code)
{
	return code >= 300 && code < 400;
}

/*
 * The text of the last line without its "DDD " prefix (for log messages).
 * Points into rep->text.
 */
const char *ftp_reply_last_line(const struct ftp_reply *rep);

#endif
