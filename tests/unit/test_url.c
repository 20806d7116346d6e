/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test_url: mount source URLs, as users type them into fstab and argv. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "url.h"

struct want {
	enum url_scheme scheme;
	const char *user;
	const char *password;
	const char *host;
	unsigned port;
	const char *path;
	bool absolute;
};

static void
assert_str_or_null(const char *got, const char *want)
{
	if (want == NULL)
		assert_null(got);
	else
		assert_string_equal(got, want);
}

static void
expect_url(const char *s, const struct want *w)
{
	struct url u;

	assert_int_equal(url_parse(s, strlen(s), &u), 0);
	assert_int_equal(u.scheme, w->scheme);
	assert_str_or_null(u.user, w->user);
	assert_str_or_null(u.password, w->password);
	assert_non_null(u.host);
	assert_string_equal(u.host, w->host);
	assert_int_equal(u.port, w->port);
	assert_string_equal(u.path, w->path);
	assert_int_equal(u.path_absolute, w->absolute);
	url_free(&u);
	assert_null(u.host);
	assert_null(u.password);
	url_free(&u); /* twice is harmless */
}

static void
expect_bad(const char *s, size_t len)
{
	struct url u;

	assert_int_equal(url_parse(s, len, &u), -EINVAL);
	/* On failure nothing is left to free. */
	assert_null(u.user);
	assert_null(u.password);
	assert_null(u.host);
	assert_null(u.path);
}

#define BAD(lit) expect_bad(lit, sizeof(lit) - 1)
#define S_(lit) lit, sizeof(lit) - 1

static void
test_schemes(void **state)
{
	(void)state;
	expect_url("ftp://example.org",
	    &(struct want){
	        URL_FTP, NULL, NULL, "example.org", 21, "/", false });
	expect_url("ftps://example.org/",
	    &(struct want){
	        URL_FTPS, NULL, NULL, "example.org", 990, "/", false });
	expect_url("ftpes://example.org",
	    &(struct want){
	        URL_FTPES, NULL, NULL, "example.org", 21, "/", false });
	expect_url("sftp://example.org",
	    &(struct want){
	        URL_SFTP, NULL, NULL, "example.org", 22, "/", false });
	expect_url("FTP://Example.ORG",
	    &(struct want){
	        URL_FTP, NULL, NULL, "Example.ORG", 21, "/", false });
	assert_string_equal(url_scheme_name(URL_FTP), "ftp");
	assert_string_equal(url_scheme_name(URL_FTPS), "ftps");
	assert_string_equal(url_scheme_name(URL_FTPES), "ftpes");
	assert_string_equal(url_scheme_name(URL_SFTP), "sftp");
	assert_string_equal(url_scheme_name(URL_AUTO), "auto");
	assert_string_equal(url_scheme_name((enum url_scheme)42), "?");
	/* auto://: port 0 (each protocol's default) unless one is given */
	expect_url("auto://u@example.org/pub",
	    &(struct want){
	        URL_AUTO, "u", NULL, "example.org", 0, "/pub", false });
	expect_url("auto://example.org:2121//srv",
	    &(struct want){
	        URL_AUTO, NULL, NULL, "example.org", 2121, "/srv", true });

	BAD("http://example.org/");
	BAD("ftpx://example.org/");
	BAD("ft://example.org/");
	BAD("example.org");
	BAD("ftp:/example.org");
	BAD("ftp:example.org");
	BAD("://example.org");
	BAD("");
}

static void
test_userinfo(void **state)
{
	(void)state;
	expect_url("ftp://alice@h",
	    &(struct want){ URL_FTP, "alice", NULL, "h", 21, "/", false });
	expect_url("ftp://alice:s3cret@h/",
	    &(struct want){ URL_FTP, "alice", "s3cret", "h", 21, "/", false });
	/* An explicitly empty password is not an absent one. */
	expect_url("ftp://alice:@h",
	    &(struct want){ URL_FTP, "alice", "", "h", 21, "/", false });
	expect_url("ftp://:pw@h",
	    &(struct want){ URL_FTP, NULL, "pw", "h", 21, "/", false });
	expect_url("ftp://@h",
	    &(struct want){ URL_FTP, NULL, NULL, "h", 21, "/", false });
	/* Percent-encoded '@', ':' and '/' in user and password. */
	expect_url("ftp://a%40b:p%3Aw%2Fd@h",
	    &(struct want){ URL_FTP, "a@b", "p:w/d", "h", 21, "/", false });
	/* The last '@' separates: unencoded '@' in user or password. */
	expect_url("ftp://a@b:p@ss@h:2121/x",
	    &(struct want){ URL_FTP, "a@b", "p@ss", "h", 2121, "/x", false });
	/* The first ':' separates: a password may hold ':'. */
	expect_url("ftp://u:a:b:c@h",
	    &(struct want){ URL_FTP, "u", "a:b:c", "h", 21, "/", false });
	/* UTF-8 and other raw bytes in a password. */
	expect_url("ftp://j%C3%B6rg:p%C3%A4ss%20word@h",
	    &(struct want){ URL_FTP, "j\xc3\xb6rg", "p\xc3\xa4ss word", "h", 21,
	        "/", false });
	expect_url("ftp://u:p#ss?x@h",
	    &(struct want){ URL_FTP, "u", "p#ss?x", "h", 21, "/", false });
	/* An '@' in the path is not userinfo. */
	expect_url("ftp://h/mail@box",
	    &(struct want){ URL_FTP, NULL, NULL, "h", 21, "/mail@box", false });

	/* CR, LF or NUL would end the USER/PASS line: refused. */
	BAD("ftp://a%0d%0aDELE%20x@h/");
	BAD("ftp://u:p%0Aw@h/");
	BAD("ftp://u:p%00w@h/");
	BAD("ftp://u%0D@h/");
	/* Malformed escapes. */
	BAD("ftp://u:p%@h/");
	BAD("ftp://u:p%4@h/");
	BAD("ftp://u:p%zz@h/");
	/* Userinfo without a host. */
	BAD("ftp://u:p@/");
	BAD("ftp://u:p@");
	/* A raw '/' in a password ends the authority early. */
	BAD("ftp://u:pa/ss@h/");
}

static void
test_hosts_ports(void **state)
{
	(void)state;
	expect_url("ftp://127.0.0.1:2121",
	    &(struct want){
	        URL_FTP, NULL, NULL, "127.0.0.1", 2121, "/", false });
	expect_url("ftps://h:1",
	    &(struct want){ URL_FTPS, NULL, NULL, "h", 1, "/", false });
	expect_url("ftp://h:65535/",
	    &(struct want){ URL_FTP, NULL, NULL, "h", 65535, "/", false });
	expect_url("ftp://h:00021/",
	    &(struct want){ URL_FTP, NULL, NULL, "h", 21, "/", false });
	/* An empty port keeps the default, as curl does. */
	expect_url("sftp://h:/",
	    &(struct want){ URL_SFTP, NULL, NULL, "h", 22, "/", false });
	expect_url("ftp://my_host-1.example.org",
	    &(struct want){
	        URL_FTP, NULL, NULL, "my_host-1.example.org", 21, "/", false });
	/* IPv6 in brackets, with and without port, zone id (RFC 6874). */
	expect_url("ftp://[::1]",
	    &(struct want){ URL_FTP, NULL, NULL, "::1", 21, "/", false });
	expect_url("ftp://u:p@[2001:db8::7]:2121/pub",
	    &(struct want){
	        URL_FTP, "u", "p", "2001:db8::7", 2121, "/pub", false });
	expect_url("ftp://[::ffff:127.0.0.1]:21/",
	    &(struct want){
	        URL_FTP, NULL, NULL, "::ffff:127.0.0.1", 21, "/", false });
	expect_url("ftp://[fe80::1%25eth0]:2121",
	    &(struct want){
	        URL_FTP, NULL, NULL, "fe80::1%eth0", 2121, "/", false });

	BAD("ftp://h:0/");
	BAD("ftp://h:65536/");
	BAD("ftp://h:99999999999999999999/");
	BAD("ftp://h:-1/");
	BAD("ftp://h:2x/");
	BAD("ftp://h:21:22/");
	BAD("ftp://:21/");
	BAD("ftp:///srv");
	BAD("ftp://");
	BAD("ftp://::1/");
	BAD("ftp://[::1/");
	BAD("ftp://[::1]x/");
	BAD("ftp://[::1]:0/");
	BAD("ftp://[]/");
	BAD("ftp://[example.org]/");
	BAD("ftp://[fe80::1%eth0]/");
	BAD("ftp://[fe80::1%25]/");
	BAD("ftp://ho st/");
	BAD("ftp://h%41/");
	BAD("ftp://h\r\n/");
}

static void
test_paths(void **state)
{
	(void)state;
	expect_url("ftp://h/pub",
	    &(struct want){ URL_FTP, NULL, NULL, "h", 21, "/pub", false });
	/* Trailing slashes are stripped. */
	expect_url("ftp://h/dir/",
	    &(struct want){ URL_FTP, NULL, NULL, "h", 21, "/dir", false });
	expect_url("ftp://h/a/b///",
	    &(struct want){ URL_FTP, NULL, NULL, "h", 21, "/a/b", false });
	/* RFC 1738: "%2F" or "//" makes the path absolute on the server. */
	expect_url("ftp://h/%2Fsrv",
	    &(struct want){ URL_FTP, NULL, NULL, "h", 21, "/srv", true });
	expect_url("ftp://h/%2fsrv/ftp/",
	    &(struct want){ URL_FTP, NULL, NULL, "h", 21, "/srv/ftp", true });
	expect_url("ftp://h//srv",
	    &(struct want){ URL_FTP, NULL, NULL, "h", 21, "/srv", true });
	expect_url("ftp://h//",
	    &(struct want){ URL_FTP, NULL, NULL, "h", 21, "/", true });
	expect_url("ftp://h/%2F",
	    &(struct want){ URL_FTP, NULL, NULL, "h", 21, "/", true });
	/* Decoding: spaces, '%', UTF-8, '?' and '#' are plain bytes here. */
	expect_url("ftp://h/my%20dir/100%25",
	    &(struct want){
	        URL_FTP, NULL, NULL, "h", 21, "/my dir/100%", false });
	expect_url("ftp://h/caf%C3%A9",
	    &(struct want){
	        URL_FTP, NULL, NULL, "h", 21, "/caf\xc3\xa9", false });
	expect_url("ftp://h/a?b#c",
	    &(struct want){ URL_FTP, NULL, NULL, "h", 21, "/a?b#c", false });
	expect_url("ftp://h/a%2Fb",
	    &(struct want){ URL_FTP, NULL, NULL, "h", 21, "/a/b", false });
	expect_url("sftp://u@h:2222/home/u/",
	    &(struct want){ URL_SFTP, "u", NULL, "h", 2222, "/home/u", false });

	BAD("ftp://h/a%0Ab");
	BAD("ftp://h/a%0db");
	BAD("ftp://h/a%00b");
	BAD("ftp://h/a%");
	BAD("ftp://h/a%g0");
	BAD("ftp://h/a\tb");
	expect_bad("ftp://h/a\0b", 11); /* a NUL inside len */
}

static void
expect_sshfs(const char *s, const char *user, const char *host,
    const char *path, bool absolute)
{
	struct url u;

	assert_int_equal(url_parse(s, strlen(s), &u), 0);
	assert_int_equal(u.scheme, URL_SFTP);
	assert_true(u.sshfs_form);
	assert_false(u.port_given);
	assert_int_equal(u.port, 22);
	assert_null(u.password);
	assert_str_or_null(u.user, user);
	assert_string_equal(u.host, host);
	assert_string_equal(u.path, path);
	assert_int_equal(u.path_absolute, absolute);
	url_free(&u);
}

/* sshfs and scp's [user@]host:[path]: relative to the login directory. */
static void
test_sshfs_form(void **state)
{
	size_t off, n;
	struct url u;

	(void)state;
	expect_sshfs("me@example.org:", "me", "example.org", "/~", false);
	expect_sshfs("example.org:", NULL, "example.org", "/~", false);
	expect_sshfs("h:projects/x/", NULL, "h", "/~/projects/x", false);
	expect_sshfs("h:/srv/data", NULL, "h", "/srv/data", true);
	expect_sshfs("h:/", NULL, "h", "/", true);
	expect_sshfs("h:/srv//a/", NULL, "h", "/srv/a", true);
	expect_sshfs("h:~", NULL, "h", "/~", false);
	expect_sshfs("h:~/", NULL, "h", "/~", false);
	expect_sshfs("h:~/a", NULL, "h", "/~/a", false);
	expect_sshfs("h:.", NULL, "h", "/~", false);
	expect_sshfs("h:./a/./b", NULL, "h", "/~/a/b", false);
	expect_sshfs("h:~other", NULL, "h", "/~/~other", false);
	/* digits are a directory, as scp reads them, not a port */
	expect_sshfs("h:2222", NULL, "h", "/~/2222", false);
	/* the last '@' before the ':' ends the user; '@' and ':' in the path */
	expect_sshfs("a@b@h:x@y:z", "a@b", "h", "/~/x@y:z", false);
	/* no percent-decoding in this form */
	expect_sshfs("h:my%20dir", NULL, "h", "/~/my%20dir", false);
	/* IPv6 in brackets */
	expect_sshfs("u@[::1]:data", "u", "::1", "/~/data", false);
	expect_sshfs("[fe80::1%25eth0]:/x", NULL, "fe80::1%eth0", "/x", true);
	/* an ssh_config alias is a host name like any other */
	expect_sshfs("my_alias-1:", NULL, "my_alias-1", "/~", false);
	/* the sftp:// URL keeps its own meaning: absolute, /~ = home */
	assert_int_equal(url_parse(S_("sftp://h/srv"), &u), 0);
	assert_false(u.sshfs_form);
	assert_false(u.port_given);
	assert_string_equal(u.path, "/srv");
	url_free(&u);
	assert_int_equal(url_parse(S_("sftp://h:2222/~/x"), &u), 0);
	assert_true(u.port_given);
	assert_string_equal(u.path, "/~/x");
	url_free(&u);
	assert_false(url_password_span(S_("u:pw@h:x"), &off, &n));
	assert_true(url_has_scheme(S_("sftp://h/")));
	assert_false(url_has_scheme(S_("h:/x")));

	/* a local path has no colon */
	BAD("/tmp/dir");
	BAD("dir");
	BAD("me@host");
	/* a local path with a colon is no host */
	BAD("./a:b");
	BAD("/mnt/a:b");
	BAD("ho st:x");
	/* bare IPv6 is ambiguous: brackets needed */
	BAD("::1:x");
	BAD("[::1:x");
	BAD("[::1]x:y");
	BAD("[::1]");
	BAD("[]:x");
	BAD("[h]:x");
	BAD(":x");
	BAD("@h:x");
	BAD("u@:x");
	/* "h://x" reads as a URL of the unknown scheme "h" */
	BAD("h://srv");
	/* a mistyped URL is not a host called "sftp" */
	BAD("sftp:h/x");
	BAD("ftp:/h/x");
	BAD("SFTP:h");
	BAD("h:a\nb");
	expect_bad("h:a\0b", 5);
}

static void
test_len_bounds(void **state)
{
	struct url u;
	const char s[] = "ftp://u:p@host:21/dirXXXX";

	(void)state;
	/* Only len bytes are read. */
	assert_int_equal(url_parse(s, sizeof(s) - 5, &u), 0);
	assert_string_equal(u.path, "/dir");
	url_free(&u);
	assert_int_equal(url_parse(s, 14, &u), 0);
	assert_string_equal(u.host, "host");
	url_free(&u);
	url_free(NULL);
}

static void
expect_span(const char *s, const char *pw)
{
	size_t off = 999, n = 999;

	assert_true(url_password_span(s, strlen(s), &off, &n));
	assert_int_equal(n, strlen(pw));
	assert_memory_equal(s + off, pw, n);
}

static void
test_password_span(void **state)
{
	size_t off, n;
	char argv1[] = "ftp://alice:s3cr%40t@h:21/pub";
	struct url u;

	(void)state;
	expect_span("ftp://alice:s3cret@h/", "s3cret");
	expect_span("ftp://alice:s3cr%40t@h/", "s3cr%40t"); /* still encoded */
	expect_span("ftp://a@b:p@ss@h:2121/x", "p@ss");
	expect_span("ftp://u:a:b@[::1]:21/", "a:b");
	expect_span("ftp://u:@h/", "");
	expect_span("sftp://:pw@h", "pw");
	/* An '@' in the path is not userinfo. */
	assert_false(url_password_span(S_("ftp://h/a:b@c"), &off, &n));
	assert_false(url_password_span(S_("ftp://alice@h/"), &off, &n));
	assert_false(url_password_span(S_("ftp://h/"), &off, &n));
	assert_false(url_password_span(S_("not a url"), &off, &n));
	assert_false(url_password_span(S_(""), &off, &n));

	/* What main does: scrub argv, the parse result is unaffected. */
	assert_int_equal(url_parse(argv1, strlen(argv1), &u), 0);
	assert_true(url_password_span(argv1, strlen(argv1), &off, &n));
	memset(argv1 + off, 'x', n);
	assert_string_equal(argv1, "ftp://alice:xxxxxxxx@h:21/pub");
	assert_string_equal(u.password, "s3cr@t");
	url_free(&u);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_schemes),
		cmocka_unit_test(test_userinfo),
		cmocka_unit_test(test_hosts_ports),
		cmocka_unit_test(test_paths),
		cmocka_unit_test(test_sshfs_form),
		cmocka_unit_test(test_len_bounds),
		cmocka_unit_test(test_password_span),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
