/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * buf: one bounded, growable byte buffer for protocol lines, listings and
 * replies.  Every buffer has a hard maximum chosen by its user; growing past
 * it fails with -EMSGSIZE instead of truncating.  All size arithmetic that
 * could overflow lives in buf.c.
 *
 * The contents are always NUL-terminated (data[len] == '\0') so callers may
 * treat them as C strings when they know no NUL is inside.
 * A struct buf is not thread-safe; its owner serialises access.
 */
#ifndef FTPFS_BUF_H
#define FTPFS_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct buf {
	char *data; /* NULL until the first append; NUL-terminated */
	size_t len; /* bytes used, excluding the terminating NUL */
	size_t cap; /* bytes allocated */
	size_t max; /* hard limit on len */
};

/* Initialise an empty buffer that may grow to at most max bytes. */
void buf_init(struct buf *b, size_t max);

/* Free the storage; b stays usable (empty) afterwards.  NULL is accepted. */
void buf_free(struct buf *b);

/* Make room for extra more bytes. 0, -EMSGSIZE past max, -ENOMEM. */
int buf_reserve(struct buf *b, size_t extra);

/* Append n bytes. 0, -EMSGSIZE, -ENOMEM; on error b is unchanged. */
int buf_append(struct buf *b, const void *p, size_t n);

/* Append a NUL-terminated string. */
int buf_puts(struct buf *b, const char *s);

/* Append formatted text. 0, -EMSGSIZE, -ENOMEM, -EINVAL. */
int buf_printf(struct buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Drop the first n bytes (n > len drops everything). */
void buf_consume(struct buf *b, size_t n);

/* Set len to 0, keeping the allocation. */
void buf_reset(struct buf *b);

/*
 * Hand the storage to the caller as a NUL-terminated malloc'ed string
 * (an empty string for an empty buffer) and reset b.  NULL on ENOMEM.
 */
char *buf_steal(struct buf *b);

#endif
