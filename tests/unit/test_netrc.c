/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test_netrc: ~/.netrc lookups as ftp(1) and curl understand them. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "netrc.h"

static void
assert_str_or_null(const char *got, const char *want)
{
	if (want == NULL)
		assert_null(got);
	else
		assert_string_equal(got, want);
}

static void
expect_file(const char *file, const char *host, const char *user,
    const char *login, const char *password, const char *account)
{
	char path[512];
	struct netrc_entry e;

	snprintf(path, sizeof(path), "%s/netrc/%s", FIXTURES, file);
	assert_int_equal(netrc_lookup_file(path, host, user, &e), 0);
	assert_str_or_null(e.login, login);
	assert_str_or_null(e.password, password);
	assert_str_or_null(e.account, account);
	netrc_entry_free(&e);
	assert_null(e.password);
}

static void
expect_text(const char *text, const char *host, const char *user,
    const char *login, const char *password)
{
	struct netrc_entry e;

	assert_int_equal(netrc_lookup(text, strlen(text), host, user, &e), 0);
	assert_str_or_null(e.login, login);
	assert_str_or_null(e.password, password);
	netrc_entry_free(&e);
}

static void
expect_text_rc(
    const char *text, size_t len, const char *host, const char *user, int rc)
{
	struct netrc_entry e;

	assert_int_equal(netrc_lookup(text, len, host, user, &e), rc);
	assert_null(e.login);
	assert_null(e.password);
	assert_null(e.account);
}

static void
test_sample_file(void **state)
{
	(void)state;
	expect_file(
	    "sample.netrc", "ftp.example.org", NULL, "alice", "s3cret", NULL);
	/* Host names compare case-insensitively. */
	expect_file(
	    "sample.netrc", "FTP.Example.ORG", NULL, "alice", "s3cret", NULL);
	/* Quoted password with escapes; account. */
	expect_file("sample.netrc", "files.example.net", NULL, "bob",
	    "pass word with \"quotes\" and \\", "acct1");
	/* A given user selects among entries for the same host. */
	expect_file("sample.netrc", "files.example.net", "carol", "carol",
	    "carolpw", NULL);
	expect_file("sample.netrc", "files.example.net", "bob", "bob",
	    "pass word with \"quotes\" and \\", "acct1");
	/* No machine entry: default. */
	expect_file("sample.netrc", "unknown.example", NULL, "anonymous",
	    "me@example.org", NULL);
	/* A user that no machine entry has: default (anonymous) won't fit. */
	{
		char path[512];
		struct netrc_entry e;

		snprintf(path, sizeof(path), "%s/netrc/sample.netrc", FIXTURES);
		assert_int_equal(
		    netrc_lookup_file(path, "files.example.net", "zoe", &e),
		    -ENOENT);
		assert_int_equal(
		    netrc_lookup_file(path, "unknown.example", "anonymous", &e),
		    0);
		netrc_entry_free(&e);
	}
	/* Inside a macdef body: not an entry; default applies. */
	expect_file("sample.netrc", "evil.example.com", NULL, "anonymous",
	    "me@example.org", NULL);
	/* After the macro's blank line, entries resume. */
	expect_file("sample.netrc", "mirror.example.com", NULL, "anonymous",
	    "guest@", NULL);
	/* A machine after "default" still wins over default. */
	expect_file("sample.netrc", "after.default.example", NULL, "dave",
	    "davepw", NULL);
}

static void
test_crlf_and_oneline(void **state)
{
	(void)state;
	expect_file("crlf.netrc", "crlf.example", NULL, "win", "winpw", NULL);
	/* The macro (ending at a CRLF blank line) hides the first entry. */
	expect_file("crlf.netrc", "inside.macro", NULL, "real", "realpw", NULL);
	expect_file("oneline.netrc", "one.example", NULL, "u", "p", NULL);
}

static void
test_file_errors(void **state)
{
	char path[] = "/tmp/test_netrc_XXXXXX";
	struct netrc_entry e;
	char *big;
	size_t n = 1024 * 1024;
	FILE *f;
	int fd;

	(void)state;
	assert_int_equal(
	    netrc_lookup_file("/nonexistent/netrc", "h", NULL, &e), -ENOENT);
	assert_int_equal(netrc_lookup_file(FIXTURES, "h", NULL, &e), -EISDIR);
	assert_int_equal(netrc_lookup_file(FIXTURES "/netrc/sample.netrc",
	                     "ftp.example.org", NULL, &e),
	    0);
	netrc_entry_free(&e);

	/* Exactly 1 MiB is read; one byte more is refused. */
	fd = mkstemp(path);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	assert_non_null(f);
	big = malloc(n);
	assert_non_null(big);
	memset(big, ' ', n);
	memcpy(big, "machine h login u password p\n", 29);
	assert_int_equal(fwrite(big, 1, n, f), n);
	assert_int_equal(fflush(f), 0);
	assert_int_equal(netrc_lookup_file(path, "h", NULL, &e), 0);
	assert_string_equal(e.password, "p");
	netrc_entry_free(&e);
	assert_int_equal(fputc(' ', f), ' ');
	assert_int_equal(fflush(f), 0);
	assert_int_equal(netrc_lookup_file(path, "h", NULL, &e), -EFBIG);
	assert_null(e.login);
	fclose(f);
	unlink(path);
	free(big);
}

static void
test_tokens(void **state)
{
	(void)state;
	/* Any whitespace separates tokens; keywords are case-insensitive. */
	expect_text("machine h login u password p", "h", NULL, "u", "p");
	expect_text(
	    "MACHINE h\n\tLOGIN u\r\n PASSWORD p\n", "h", NULL, "u", "p");
	expect_text("machine\th\vlogin\fu password p", "h", NULL, "u", "p");
	/* Comments at token start run to the end of the line. */
	expect_text("# all comment\nmachine h # trailing\nlogin u\n"
	            "#password wrong\npassword p\n",
	    "h", NULL, "u", "p");
	expect_text("# machine h login evil password evil\n"
	            "machine h login u password p # machine h login x\n",
	    "h", NULL, "u", "p");
	/* '#' inside a token is data; a quoted "#..." too. */
	expect_text(
	    "machine h login u#1 password \"#p\"", "h", NULL, "u#1", "#p");
	/* Quotes: spaces, escapes \n \r \t \" \\ and others literal. */
	expect_text("machine h login \"a b\" password \"x\\ty\\\\z\\\"\\q\"",
	    "h", NULL, "a b", "x\ty\\z\"q");
	expect_text("machine h login u password \"\"", "h", NULL, "u", "");
	expect_text("machine \"h\" login u password p", "h", NULL, "u", "p");
	/* Entry with no login or no password. */
	expect_text("machine h password only", "h", NULL, NULL, "only");
	expect_text("machine h login only", "h", NULL, "only", NULL);
	expect_text("machine h", "h", NULL, NULL, NULL);
	/* An entry without login fits any user. */
	expect_text("machine h password p", "h", "someone", NULL, "p");
	/* Later values of the same key replace earlier ones. */
	expect_text(
	    "machine h login a login b password p", "h", NULL, "b", "p");
	/* Unknown words (lftp/others' "port") are skipped. */
	expect_text(
	    "machine h port 2121 login u password p", "h", NULL, "u", "p");
	/* Keywords before any machine are ignored. */
	expect_text("login x password y\nmachine h login u password p", "h",
	    NULL, "u", "p");
	/* The first matching machine wins. */
	expect_text("machine h login first password 1\n"
	            "machine h login second password 2\n",
	    "h", NULL, "first", "1");
	/* The first fitting default wins, machines still preferred. */
	expect_text(
	    "default login d1 password 1\ndefault login d2 password 2\n", "x",
	    NULL, "d1", "1");
	expect_text(
	    "default login d1 password 1\ndefault login d2 password 2\n", "x",
	    "d2", "d2", "2");
	/* Other hosts' values do not leak into ours. */
	expect_text("machine a login la password pa\nmachine h\n", "h", NULL,
	    NULL, NULL);
	/* macdef at the end of the file, without a blank line. */
	expect_text("machine h login u password p\nmacdef m\ncd /\n", "h", NULL,
	    "u", "p");
	/* An error after the matched entry is never reached. */
	expect_text("machine h login u password p\nmachine x login \"bad", "h",
	    NULL, "u", "p");
}

#define T(lit) lit, sizeof(lit) - 1

static void
test_errors(void **state)
{
	struct netrc_entry e;

	(void)state;
	expect_text_rc(T(""), "h", NULL, -ENOENT);
	expect_text_rc(T("# only a comment\n"), "h", NULL, -ENOENT);
	expect_text_rc(T("machine a login u password p"), "h", NULL, -ENOENT);
	expect_text_rc(T("machine h login u password p"), "h", "v", -ENOENT);
	/* Malformed: missing values, unterminated quotes, NUL bytes. */
	expect_text_rc(T("machine"), "h", NULL, -EINVAL);
	expect_text_rc(T("machine h login"), "h", NULL, -EINVAL);
	expect_text_rc(T("machine h login u password"), "h", NULL, -EINVAL);
	expect_text_rc(T("machine h password \"abc"), "h", NULL, -EINVAL);
	expect_text_rc(T("machine h password \"abc\\"), "h", NULL, -EINVAL);
	expect_text_rc(T("machine h password \"ab\nc\""), "h", NULL, -EINVAL);
	expect_text_rc(T("machine h password a\0b"), "h", NULL, -EINVAL);
	/* A malformed entry before ours fails the lookup. */
	expect_text_rc(T("machine x password \"open\nmachine h login u"), "h",
	    NULL, -EINVAL);
	assert_int_equal(netrc_lookup("machine h", 9, NULL, NULL, &e), -EINVAL);
	/* len bounds the text. */
	expect_text_rc(
	    T("machine h login u password p") - 2, "h", NULL, -EINVAL);
	netrc_entry_free(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sample_file),
		cmocka_unit_test(test_crlf_and_oneline),
		cmocka_unit_test(test_file_errors),
		cmocka_unit_test(test_tokens),
		cmocka_unit_test(test_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
