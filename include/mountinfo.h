/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * mountinfo: one line of /proc/self/mountinfo (proc(5)), read by a pure
 * function:
 *
 *   36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw
 *   (1)(2)(3)  (4)   (5)   (6)       (7)      (8)(9) (10)     (11)
 *
 * Fields are separated by single spaces; (7) is zero or more optional
 * fields, ended by the separator field "-".  The kernel writes space,
 * TAB, LF and backslash inside the path fields as octal escapes
 * ("\040"), so a field never holds a blank.
 */
#ifndef FTPFS_MOUNTINFO_H
#define FTPFS_MOUNTINFO_H

/* Pointers into the line that was parsed. */
struct mountinfo_entry {
	const char *devid; /* (3) "major:minor", as the kernel wrote it */
	const char *mount_point; /* (5), unescaped */
	const char *fstype; /* (9), "fuse.ftpfs" for us; may be "" */
	const char *source; /* (10), unescaped; may be "" */
};

/*
 * Split line (NUL-terminated; one trailing LF is dropped) in place: the
 * separators become NULs and the mount point and source are unescaped, so
 * out points into line.  Needs fields (1) to (6), then a "-" field after
 * them, then (9) and (10).  0, or -EINVAL (line changed, out not set).
 */
int mountinfo_parse_line(char *line, struct mountinfo_entry *out);

/*
 * Undo the kernel's octal escapes ("\040" for a space: a backslash and
 * three octal digits, the first 0-3) in place; other bytes, and a
 * backslash not followed so, are kept.  "\000" would end the string there.
 */
void mountinfo_unescape(char *s);

#endif
