/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ftp_list: directory listing parsers (pure, incremental).
 *
 *  - MLSD (RFC 3659 7): facts case-insensitive; name = everything after the
 *    first space (or TAB) following the facts, never trimmed; type=file,
 *    dir, cdir/pdir (skipped), OS.unix=symlink / OS.unix=slink[:target]
 *    (symlink, any case), unknown (special file); unix.mode in 0644, 644
 *    or 0o644 form; modify in UTC.
 *  - LIST, Unix "ls -l": with/without link count and group, devices with
 *    "maj, min", "Mon DD HH:MM" (year inferred: current year unless that is
 *    more than 30 days in the future, then the year before) or
 *    "Mon DD YYYY"; the name is the rest of the line after exactly one
 *    space; "name -> target" split only for 'l' entries; "total N" skipped.
 *  - LIST, Windows/IIS DOS: "MM-DD-YY  HH:MMAM  <DIR>|size  name", also
 *    four-digit years and YYYY-MM-DD, sizes with ',' or '.' separators.
 *  - Format detection for LIST: each line is tried against Unix then DOS;
 *    the format that parsed the first line sticks for the listing.
 *
 * Entries named "." or "..", and names containing CR, LF or NUL (which can
 * never be addressed safely) are skipped.  Unparseable lines are
 * skipped and counted, never fatal.
 *
 * The incremental parser also skips names containing '/' (the per-line
 * parsers keep them: MLST answers with a path).  When a listing's lines
 * end in CRLF, a bare LF is taken as part of a name, so an entry whose
 * name contains LF is skipped whole instead of turning into two bogus
 * lines; listings with bare-LF line ends are split at every LF.
 */
#ifndef FTPFS_FTP_LIST_H
#define FTPFS_FTP_LIST_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "backend.h"
#include "buf.h"

#define FTP_LIST_LINE_MAX 8192

enum ftp_list_fmt {
	FTP_LIST_AUTO, /* LIST output, format not known yet */
	FTP_LIST_MLSD,
	FTP_LIST_UNIX,
	FTP_LIST_DOS,
};

/* One parsed entry; name/target point into the caller's line buffer. */
struct ftp_list_entry {
	const char *name;
	size_t name_len;
	const char *target; /* symlink target, NULL if not shown */
	size_t target_len;
	const char *perm; /* MLSx "perm" fact (RFC 3659 7.5.5), or NULL */
	size_t perm_len;
	struct backend_attr attr;
};

/*
 * Parse one line (no line terminator; a trailing CR is tolerated).
 * now is the current UTC time, used to infer LIST years.
 * Returns 1 and fills *out, 0 when the line carries no entry to report
 * (blank, "total", ".", "..", cdir/pdir, control characters in the name),
 * -EINVAL when the line does not parse in this format.
 */
int ftp_list_parse_mlsd(
    const char *line, size_t len, struct ftp_list_entry *out);
int ftp_list_parse_unix(
    const char *line, size_t len, time_t now, struct ftp_list_entry *out);
int ftp_list_parse_dos(
    const char *line, size_t len, struct ftp_list_entry *out);

/*
 * Might this MLST answer describe a symlink's target instead of the link?
 * ProFTPD's MLST (mod_facts without "FactsOptions ShowSymlinks" in MLST)
 * lstat()s the path but types a link by what it points to: "type=file" or
 * "type=dir", with the link's own size and UNIX.mode, 0777 on Linux, while
 * its MLSD of the folder says "type=OS.unix=symlink".  True for a file or
 * directory whose permission bits are exactly 0777 (the caller then asks
 * the folder's listing); false for anything typed a link, or without mode.
 */
bool ftp_mlst_may_hide_link(const struct backend_attr *a);

/* Called for each entry; a negative return stops the parse with it. */
typedef int (*ftp_list_cb)(const struct ftp_list_entry *e, void *arg);

struct ftp_list_parser {
	enum ftp_list_fmt fmt; /* becomes UNIX or DOS once detected */
	time_t now;
	struct buf line;
	unsigned entries; /* entries reported */
	unsigned bad_lines; /* lines that did not parse */
	ftp_list_cb cb;
	void *arg;
	/* Private to ftp_list.c: */
	int eol; /* line ends seen: unknown, LF or CRLF */
	bool discard; /* dropping the rest of an overlong line */
};

void ftp_list_parser_init(struct ftp_list_parser *p, enum ftp_list_fmt fmt,
    time_t now, ftp_list_cb cb, void *arg);
/* Feed a chunk of the data connection; 0, the callback's error or
 * -ENOMEM.  A line longer than FTP_LIST_LINE_MAX is skipped and counted
 * in bad_lines, like any other line that does not parse. */
int ftp_list_feed(struct ftp_list_parser *p, const char *data, size_t len);
/* Parse a last unterminated line, then release buffers. */
int ftp_list_finish(struct ftp_list_parser *p);
void ftp_list_parser_free(struct ftp_list_parser *p);

/*
 * The listing inside the text of a STAT reply, as ftp_reply
 * assembles it: lines joined by '\n', each with its code.  Its middle
 * lines (all but the first, "213-Status follows:", and the last, "213 End
 * of status") are LIST lines; ProFTPD indents them by one space, which is
 * dropped (one only: a name may start with blanks).  They are fed to p
 * one by one, each with its '\n'; the caller then calls ftp_list_finish.
 * A text of fewer than three lines feeds nothing.  0, or what
 * ftp_list_feed returns.
 */
int ftp_list_feed_stat(struct ftp_list_parser *p, const char *text, size_t len);

/*
 * Does a LIST listing show "." or ".."?  The proof that "LIST -a" was
 * honoured: a line whose last word, before LF or CR LF, is "." or ".."
 * (preceded by a space).  Incremental over the data connection's chunks;
 * the last bytes of one chunk are kept, so the answer does not depend on
 * where the chunks split.  Zero-initialise, feed, read .seen.
 */
struct ftp_list_dots {
	bool seen;
	/* Private to ftp_list.c: the stream's last bytes, oldest first */
	char tail[4];
	unsigned char tail_len;
};

void ftp_list_dots_feed(struct ftp_list_dots *d, const char *data, size_t len);

#endif
