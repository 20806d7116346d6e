/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_mountinfo: /proc/self/mountinfo lines as Linux writes them (this
 * machine's, with ftpfs mounts of the integration suites, and proc(5)'s
 * example), escaped names, and lines that are cut or malformed.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mountinfo.h"

static void
expect_line(const char *text, const char *devid, const char *mnt,
    const char *fstype, const char *source)
{
	struct mountinfo_entry m;
	char *line = strdup(text);

	assert_non_null(line);
	assert_int_equal(mountinfo_parse_line(line, &m), 0);
	assert_string_equal(m.devid, devid);
	assert_string_equal(m.mount_point, mnt);
	assert_string_equal(m.fstype, fstype);
	assert_string_equal(m.source, source);
	free(line);
}

static void
expect_bad(const char *text)
{
	struct mountinfo_entry m = { 0 };
	char *line = strdup(text);

	assert_non_null(line);
	assert_int_equal(mountinfo_parse_line(line, &m), -EINVAL);
	assert_null(m.mount_point);
	free(line);
}

static void
test_lines(void **state)
{
	(void)state;
	expect_line("21 26 0:20 / /proc rw,relatime - proc proc rw\n", "0:20",
	    "/proc", "proc", "proc");
	/* an ftpfs mount, with an optional field (shared:10) */
	expect_line("59 56 0:48 / /tmp/ftpfs-test.I07y1I/vsftpd-mnt "
	            "rw,nosuid,nodev,relatime shared:10 - fuse.ftpfs "
	            "ftp://ftpfs-test@127.0.0.1:21237/ "
	            "rw,user_id=0,group_id=0\n",
	    "0:48", "/tmp/ftpfs-test.I07y1I/vsftpd-mnt", "fuse.ftpfs",
	    "ftp://ftpfs-test@127.0.0.1:21237/");
	/* proc(5): two optional fields, no final LF */
	expect_line("36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 shared:2 - "
	            "ext3 /dev/root rw,errors=continue",
	    "98:0", "/mnt2", "ext3", "/dev/root");
	/* an empty source (mount -t tmpfs "" /x) and no super options */
	expect_line(
	    "40 26 0:50 / /x rw - tmpfs  rw\n", "0:50", "/x", "tmpfs", "");
	expect_line(
	    "40 26 0:50 / /x rw - tmpfs src", "0:50", "/x", "tmpfs", "src");
}

static void
test_escapes(void **state)
{
	char s[64];

	(void)state;
	/* space, TAB, LF and backslash in a mount point and a source */
	expect_line("62 26 0:51 / /mnt/my\\040dir\\011x\\012y\\134z rw - "
	            "fuse.ftpfs ftp://h/a\\040b rw\n",
	    "0:51", "/mnt/my dir\tx\ny\\z", "fuse.ftpfs", "ftp://h/a b");
	/* an unescaped " - " would end the optional fields: escaped, not */
	expect_line("63 26 0:52 / /a\\040-\\040b rw - fuse.ftpfs s rw", "0:52",
	    "/a - b", "fuse.ftpfs", "s");

	strcpy(s, "a\\040b\\04c\\400d\\08e\\");
	mountinfo_unescape(s);
	assert_string_equal(
	    s, "a b\\04c\\400d\\08e\\"); /* only \\[0-3][0-7]{2} */
	strcpy(s, "\\101\\102\\377");
	mountinfo_unescape(s);
	assert_string_equal(s, "AB\377");
	strcpy(s, "x\\000y");
	mountinfo_unescape(s);
	assert_string_equal(s, "x"); /* the string ends at the NUL */
	strcpy(s, "");
	mountinfo_unescape(s);
	assert_string_equal(s, "");
}

static void
test_bad(void **state)
{
	(void)state;
	expect_bad("");
	expect_bad("\n");
	expect_bad("21 26 0:20 / /proc\n");
	/* no separator, or nothing after it */
	expect_bad("21 26 0:20 / /proc rw,relatime proc proc rw\n");
	expect_bad("21 26 0:20 / /proc rw,relatime -\n");
	expect_bad("21 26 0:20 / /proc rw,relatime - proc\n");
	/* the mount options are missing: the separator is field 6 */
	expect_bad("21 26 0:20 / /proc - proc proc rw\n");
	/* blanks other than single spaces make other fields */
	expect_bad("21\t26 0:20 / /proc rw - proc\n");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lines),
		cmocka_unit_test(test_escapes),
		cmocka_unit_test(test_bad),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
