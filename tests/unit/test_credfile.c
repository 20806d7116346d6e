/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test_credfile: -o credentials=FILE text (mount.cifs's key=value format). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "credfile.h"

#define T(s) (s), (sizeof(s) - 1)

static void
assert_str_or_null(const char *got, const char *want)
{
	if (want == NULL)
		assert_null(got);
	else
		assert_string_equal(got, want);
}

static void
expect_ok(const char *text, size_t len, const char *user, const char *pw,
    const char *acct)
{
	struct credfile c;
	unsigned line = 99;

	assert_int_equal(credfile_parse(text, len, &c, &line), 0);
	assert_int_equal(line, 0);
	assert_str_or_null(c.user, user);
	assert_str_or_null(c.password, pw);
	assert_str_or_null(c.account, acct);
	credfile_free(&c);
	assert_null(c.user);
	assert_null(c.password);
}

static void
expect_bad(const char *text, size_t len, unsigned want_line)
{
	struct credfile c;
	unsigned line = 0;

	assert_int_equal(credfile_parse(text, len, &c, &line), -EINVAL);
	assert_int_equal(line, want_line);
	/* nothing is left behind after an error */
	assert_null(c.user);
	assert_null(c.password);
	assert_null(c.account);
}

static void
test_keys(void **state)
{
	(void)state;
	expect_ok(
	    T("username=alice\npassword=s3cret\n"), "alice", "s3cret", NULL);
	expect_ok(T("user=bob\npass=x\nacct=dept7"), "bob", "x", "dept7");
	expect_ok(T("account=a\n"), NULL, NULL, "a");
	expect_ok(T(""), NULL, NULL, NULL);
	/* comments, blank lines, CRLF, blanks before the key and '=' */
	expect_ok(T("# mount.cifs style\r\n\r\n  \t\n  username = carol\r\n"
	            "\t# password=not this\npassword=pw\r\n"),
	    "carol", "pw", NULL);
}

static void
test_values_as_written(void **state)
{
	(void)state;
	/* a password is everything after the first '=' */
	expect_ok(T("password= a=b c \n"), NULL, " a=b c ", NULL);
	/* names lose the blanks around them */
	expect_ok(T("user= u v \t\naccount=\t a \n"), "u v", NULL, "a");
	expect_ok(T("password=#not a comment\n"), NULL, "#not a comment", NULL);
	expect_ok(T("password=\n"), NULL, "", NULL);
	/* no final newline; a lone CR at the end is dropped */
	expect_ok(T("username=u\npassword=p\r"), "u", "p", NULL);
	/* the length bounds the text */
	expect_ok("password=abcdef", 12, NULL, "abc", NULL);
}

static void
test_errors(void **state)
{
	(void)state;
	expect_bad(T("username alice\n"), 1);
	expect_bad(T("username=a\npasswd=x\n"), 2); /* unknown key */
	expect_bad(T("username=a\n\nuser=b\n"), 3); /* given twice */
	expect_bad(T("=x\n"), 1);
	expect_bad(T("domain=WORKGROUP\n"), 1); /* mount.cifs's: not ours */
	expect_bad("username=a\npass\0word=x\n", 22, 2);
	expect_bad("password=a\0b\n", 13, 1);
	credfile_free(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keys),
		cmocka_unit_test(test_values_as_written),
		cmocka_unit_test(test_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
