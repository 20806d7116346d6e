/* SPDX-License-Identifier: GPL-2.0-or-later */
/* ftp_reply: incremental FTP reply codec (contract in include/ftp_reply.h). */
#include <errno.h>
#include <stdlib.h>

#include "ftp_reply.h"

void
ftp_reply_reader_init(struct ftp_reply_reader *r)
{
	buf_init(&r->line, FTP_REPLY_LINE_MAX);
	buf_init(&r->text, FTP_REPLY_TEXT_MAX);
	r->code = 0;
	r->nlines = 0;
	r->skipped = 0;
	r->last_cr = false;
}

void
ftp_reply_reader_free(struct ftp_reply_reader *r)
{
	if (r == NULL)
		return;
	buf_free(&r->line);
	buf_free(&r->text);
	r->code = 0;
	r->nlines = 0;
	r->last_cr = false;
}

void
ftp_reply_reader_reset(struct ftp_reply_reader *r)
{
	buf_reset(&r->line);
	buf_reset(&r->text);
	r->code = 0;
	r->nlines = 0;
	r->last_cr = false;
}

bool
ftp_reply_reader_busy(const struct ftp_reply_reader *r)
{
	return r->code != 0 || r->line.len > 0 || r->last_cr;
}

void
ftp_reply_free(struct ftp_reply *rep)
{
	if (rep == NULL)
		return;
	free(rep->text);
	rep->text = NULL;
	rep->text_len = 0;
	rep->code = 0;
	rep->nlines = 0;
}

const char *
ftp_reply_last_line(const struct ftp_reply *rep)
{
	const char *start;
	size_t i, n;

	if (rep == NULL || rep->text == NULL)
		return "";
	start = rep->text;
	for (i = rep->text_len; i > 0; i--) {
		if (rep->text[i - 1] == '\n') {
			start = rep->text + i;
			break;
		}
	}
	n = rep->text_len - (size_t)(start - rep->text);
	/* Every last line is "DDD " + text; be safe with odd callers. */
	return n >= 4 ? start + 4 : start + n;
}

/* The reply code of a line starting with "DDD" and a valid first digit. */
static int
line_code(const char *s, size_t n)
{
	if (n < 3)
		return 0;
	if (s[0] < '1' || s[0] > '5' || s[1] < '0' || s[1] > '9' ||
	    s[2] < '0' || s[2] > '9')
		return 0;
	return (s[0] - '0') * 100 + (s[1] - '0') * 10 + (s[2] - '0');
}

/*
 * One complete line (CR already handled) sits in r->line.
 * Returns 1 when it completed a reply, 0 when more lines are needed.
 */
static int
finish_line(struct ftp_reply_reader *r, struct ftp_reply *out)
{
	const char *s = r->line.data != NULL ? r->line.data : "";
	size_t n = r->line.len;
	int code, rc;
	char sep;

	code = line_code(s, n);
	/*
	 * A bare "DDD" (no text at all) is taken as a complete one-line
	 * reply; it never ends a multi-line one (strict termination).
	 */
	sep = n > 3 ? s[3] : r->code == 0 ? ' ' : '\0';
	if (r->code == 0) {
		if (code == 0 || (sep != ' ' && sep != '-')) {
			/* Garbage: e.g. the rest of a name with a LF in it. */
			r->skipped++;
			buf_reset(&r->line);
			return 0;
		}
		rc = buf_append(&r->text, s, n);
		if (rc < 0)
			return rc;
		r->nlines = 1;
		buf_reset(&r->line);
		if (sep == '-') {
			r->code = code;
			return 0;
		}
	} else {
		rc = buf_reserve(&r->text, n + 1);
		if (rc < 0)
			return rc;
		buf_append(&r->text, "\n", 1);
		buf_append(&r->text, s, n);
		r->nlines++;
		buf_reset(&r->line);
		if (code != r->code || sep != ' ')
			return 0;
	}

	out->code = code;
	out->nlines = r->nlines;
	out->text_len = r->text.len;
	out->text = buf_steal(&r->text); /* leaves r->text empty, same max */
	r->code = 0;
	r->nlines = 0;
	if (out->text == NULL) {
		out->text_len = 0;
		return -ENOMEM;
	}
	return 1;
}

int
ftp_reply_feed(struct ftp_reply_reader *r, const char *data, size_t len,
    size_t *used, struct ftp_reply *out)
{
	size_t i = 0, j;
	int rc = 0;

	out->code = 0;
	out->text = NULL;
	out->text_len = 0;
	out->nlines = 0;

	while (i < len) {
		if (r->last_cr) {
			/* A CR waits for its successor, maybe across chunks. */
			r->last_cr = false;
			if (data[i] == '\n') {
				i++;
				rc = finish_line(r, out);
				if (rc != 0)
					goto out;
				continue;
			}
			rc = buf_append(&r->line, "\r", 1);
			if (rc < 0)
				goto out;
			if (data[i] == '\0') {
				i++; /* RFC 2640: CR NUL is a CR in a name */
				continue;
			}
		}
		for (j = i; j < len && data[j] != '\r' && data[j] != '\n'; j++)
			;
		rc = buf_append(&r->line, data + i, j - i);
		if (rc < 0)
			goto out;
		i = j;
		if (i == len)
			break;
		if (data[i++] == '\r') {
			r->last_cr = true;
			continue;
		}
		rc = finish_line(r, out);
		if (rc != 0)
			goto out;
	}
	rc = 0;
out:
	if (rc < 0) {
		/* The stream is out of sync now; the caller drops or resets. */
		ftp_reply_reader_reset(r);
		ftp_reply_free(out);
	}
	*used = i;
	return rc;
}
