/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * write_plan: the decisions of the write path, as pure functions (no I/O,
 * no locks) so every case can be unit-tested.
 *
 *  - write_plan_open(): how an open() for writing is carried out on a
 *    backend: a stream that starts the file from empty (FTP STOR), an
 *    append at the server's end of the file (FTP APPE), a local copy
 *    uploaded at close (the spool), or in place (SFTP, BCAP_PWRITE).
 *  - upload_verdict(): what the size the server shows after an upload
 *    says about it, and whether anything may be deleted.
 *
 * The rule they encode: ftpfs deletes only what it created itself in the
 * same operation and can show is still its own (a new file whose upload
 * failed, no larger than what was sent).  A file that existed before is
 * never deleted by a failed or unverifiable write.
 */
#ifndef FTPFS_WRITE_PLAN_H
#define FTPFS_WRITE_PLAN_H

#include <stdbool.h>
#include <stdint.h>

enum write_how {
	WH_READ = 0, /* not a write handle */
	WH_PWRITE, /* the backend writes at any offset (BCAP_PWRITE) */
	WH_STREAM, /* sequential from 0 into a file that starts empty */
	WH_APPEND, /* every write goes to the server's end of the file */
	WH_SPOOL, /* a local copy, uploaded under a temporary name */
};

struct write_plan_in {
	unsigned flags; /* BO_* of the open (backend.h) */
	bool exists; /* the file was found */
	bool is_dir; /* ... and is a directory */
	unsigned caps; /* BCAP_* of the backend */
};

struct write_plan {
	enum write_how how;
	unsigned flags; /* BO_* to open with (stream: BO_TRUNC added) */
	/* spool of a file that must show empty at once (O_TRUNC, O_CREAT) */
	bool truncate_first;
	/* the content is changed through a copy: is the file writable? */
	bool check_writable;
	/* this open creates the file: only then may a failed upload be
	 * removed */
	bool creates;
	/* the spool starts from the server's content (fetched lazily) */
	bool spool_fetch;
};

/* 0, or -EISDIR / -ENOENT / -EEXIST as open(2) would say. */
int write_plan_open(const struct write_plan_in *in, struct write_plan *out);

/* What is known after a transfer ended with a 2xx (or not). */
struct upload_facts {
	bool transfer_ok; /* 2xx final reply, every byte sent */
	bool created; /* the upload created the file (WH_STREAM, new) */
	bool append; /* APPE: the bytes went after `before` */
	bool have_before; /* append: the size measured before the APPE */
	uint64_t before;
	bool have_after; /* the size measured after it (SIZE) */
	uint64_t after;
	uint64_t sent; /* bytes sent in this transfer */
};

enum upload_result {
	UV_OK, /* the server has every byte */
	UV_OK_UNVERIFIED, /* 2xx, but the size could not be checked */
	UV_OK_FOREIGN, /* ours are there, and someone else's: warn */
	UV_FAIL_KEEP, /* -EIO; leave the server's file alone */
	UV_FAIL_DISCARD, /* -EIO; the partial file is ours: delete it */
};

enum upload_result upload_verdict(const struct upload_facts *f);

/* Name of a result, for logs. */
const char *upload_result_name(enum upload_result r);

#endif
