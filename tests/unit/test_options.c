/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_options: ftpfs's own -o values as the README and the man page give
 * them, as fstab lines and systemd units hand them over, and the values
 * main.c refuses.
 */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "log.h"
#include "options.h"

static void
test_number(void **state)
{
	static const char *const bad[] = { "connections=", "connections=0",
		"connections=65", "connections=-1", "connections=+3",
		"connections= 3", "connections=3 ", "connections=3x",
		"connections=0x10", "connections",
		"connections=99999999999999999999" };
	unsigned v = 7;
	size_t i;

	(void)state;
	assert_int_equal(options_number("connections=8", 1, 64, &v), 0);
	assert_int_equal(v, 8);
	assert_int_equal(options_number("connections=64", 1, 64, &v), 0);
	assert_int_equal(v, 64);
	assert_int_equal(options_number("connections=01", 1, 64, &v), 0);
	assert_int_equal(v, 1);
	assert_int_equal(options_number("cache_timeout=0", 0, 100, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(
	    options_number("timeout=2147483", 1, INT_MAX / 1000, &v), 0);
	assert_int_equal(v, INT_MAX / 1000);
	assert_int_equal(
	    options_number("timeout=2147484", 1, INT_MAX / 1000, &v), -EINVAL);
	assert_int_equal(options_number("n=4294967295", 0, UINT_MAX, &v), 0);
	assert_int_equal(v, UINT_MAX);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		v = 7;
		assert_int_equal(options_number(bad[i], 1, 64, &v), -EINVAL);
		assert_int_equal(v, 7);
	}
}

static void
test_fstab_only(void **state)
{
	static const char *const fstab[] = { "_netdev", "auto", "noauto",
		"nofail", "user", "nouser", "users", "owner", "group",
		"defaults", "x-systemd.automount", "x-systemd.idle-timeout=60",
		"X-mount.mkdir", "comment=systemd.automount", "x-" };
	static const char *const ours[] = { "allow_other", "ro", "users=1",
		"nofail2", "Auto", "x", "X", "comment", "commentx=1",
		"tls=require", "" };
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(fstab) / sizeof(fstab[0]); i++)
		assert_true(options_fstab_only(fstab[i]));
	for (i = 0; i < sizeof(ours) / sizeof(ours[0]); i++)
		assert_false(options_fstab_only(ours[i]));
}

static void
test_log_level(void **state)
{
	static const struct {
		const char *name;
		int level;
	} ok[] = {
		{ "error", LOG_LVL_ERR },
		{ "err", LOG_LVL_ERR },
		{ "warn", LOG_LVL_WARN },
		{ "warning", LOG_LVL_WARN },
		{ "info", LOG_LVL_INFO },
		{ "debug", LOG_LVL_DEBUG },
		{ "trace", LOG_LVL_TRACE },
	};
	static const char *const bad[] = { "", "Debug", "INFO", "warn ", "3",
		"errors", "debug,info" };
	size_t i;
	int l;

	(void)state;
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		l = -1;
		assert_int_equal(options_log_level(ok[i].name, &l), 0);
		assert_int_equal(l, ok[i].level);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		l = -7;
		assert_int_equal(options_log_level(bad[i], &l), -EINVAL);
		assert_int_equal(l, -7);
	}
}

static void
test_protocol_more(void **state)
{
	char *list = strdup("sftp");

	(void)state;
	assert_non_null(list);
	/* "-o protocol=sftp,ftpes,ftp,ftps" as fuse_opt splits it */
	assert_int_equal(options_protocol_more(&list, "ftpes"), 0);
	assert_int_equal(options_protocol_more(&list, "ftp"), 0);
	assert_int_equal(options_protocol_more(&list, "ftps"), 0);
	assert_string_equal(list, "sftp,ftpes,ftp,ftps");
	/* the next option ends the list: untouched */
	assert_int_equal(options_protocol_more(&list, "allow_other"), 1);
	assert_int_equal(options_protocol_more(&list, "FTP"), 1);
	assert_int_equal(options_protocol_more(&list, "ftp "), 1);
	assert_int_equal(options_protocol_more(&list, ""), 1);
	assert_int_equal(options_protocol_more(&list, "protocol=ftp"), 1);
	assert_string_equal(list, "sftp,ftpes,ftp,ftps");
	/* repeated names are kept: main_probe judges the list */
	assert_int_equal(options_protocol_more(&list, "sftp"), 0);
	assert_string_equal(list, "sftp,ftpes,ftp,ftps,sftp");
	free(list);
}

static void
test_idmap(void **state)
{
	bool remote = true;

	(void)state;
	assert_int_equal(options_idmap("idmap=user", &remote), 0);
	assert_false(remote);
	assert_int_equal(options_idmap("idmap=none", &remote), 0);
	assert_true(remote);
	assert_int_equal(options_idmap("idmap=file", &remote), -EINVAL);
	assert_int_equal(options_idmap("idmap=", &remote), -EINVAL);
	assert_int_equal(options_idmap("idmap=User", &remote), -EINVAL);
	assert_int_equal(options_idmap("idmap=user,", &remote), -EINVAL);
	assert_true(remote);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_number),
		cmocka_unit_test(test_fstab_only),
		cmocka_unit_test(test_log_level),
		cmocka_unit_test(test_protocol_more),
		cmocka_unit_test(test_idmap),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
