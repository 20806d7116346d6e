/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test_probe: -o protocol= lists for auto:// (the probing itself is
   exercised against real servers in test_tls.sh and test_sftp.sh). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "probe.h"

static void
test_order(void **state)
{
	enum url_scheme o[PROBE_MAX];
	char msg[256];
	size_t n;

	(void)state;
	assert_int_equal(
	    probe_parse_order("sftp,ftpes,ftp", o, &n, msg, sizeof(msg)), 0);
	assert_int_equal(n, 3);
	assert_int_equal(o[0], URL_SFTP);
	assert_int_equal(o[1], URL_FTPES);
	assert_int_equal(o[2], URL_FTP);
	assert_int_equal(probe_parse_order("ftp", o, &n, msg, sizeof(msg)), 0);
	assert_int_equal(n, 1);
	assert_int_equal(o[0], URL_FTP);
	assert_int_equal(
	    probe_parse_order("ftpes,sftp", o, &n, msg, sizeof(msg)), 0);
	assert_int_equal(n, 2);
	assert_int_equal(o[0], URL_FTPES);
	assert_int_equal(o[1], URL_SFTP);
}

static void
test_refused(void **state)
{
	static const char *const bad[] = { "", ",", "sftp,", "sftp,,ftp",
		"ftps", "sftp,ftps", "SFTP", "ftp,ftp", "sftp,ftpes,ftp,sftp",
		"scp", "ftpe", "ftpess" };
	enum url_scheme o[PROBE_MAX];
	char msg[256];
	size_t n, i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		msg[0] = '\0';
		assert_int_equal(
		    probe_parse_order(bad[i], o, &n, msg, sizeof(msg)),
		    -EINVAL);
		assert_true(strncmp(msg, "-o protocol", 11) == 0);
	}
	/* implicit FTPS is named, with what to do instead */
	probe_parse_order("ftps", o, &n, msg, sizeof(msg));
	assert_non_null(strstr(msg, "ftps://"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_order),
		cmocka_unit_test(test_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
