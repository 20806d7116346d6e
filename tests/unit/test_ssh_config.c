/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test_ssh_config: ~/.ssh/config Host blocks, as people write them. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "ssh_config.h"

/* A config in the style of real ones: globals, wildcards, aliases. */
static const char real[] =
    "# ~/.ssh/config\n"
    "AddKeysToAgent yes\n"
    "\n"
    "Host work-jump\n"
    "    HostName jump.corp.example.com\n"
    "    User alice.smith\n"
    "    Port 2222\n"
    "    IdentityFile ~/.ssh/id_ed25519_work\n"
    "    ForwardAgent yes\n"
    "\n"
    "Host nas nas.local\n"
    "\tHostName 192.168.1.20\n"
    "\tUser admin\n"
    "\tIdentityFile %d/.ssh/nas_%h\n"
    "\n"
    "Match host *.corp.example.com exec \"test -f /tmp/x\"\n"
    "    User matched\n"
    "    ProxyJump work-jump\n"
    "\n"
    "Host *.corp.example.com !jump.corp.example.com\n"
    "    User alice\n"
    "    ProxyJump work-jump\n"
    "\n"
    "Host *\n"
    "    User fallback\n"
    "    IdentityFile ~/.ssh/id_ed25519\n"
    "    ServerAliveInterval 60\n"
    "    SendEnv LANG LC_*\n";

static int
parse(const char *text, size_t len, const char *host, struct ssh_config *c,
    char *msg, size_t msglen)
{
	struct ssh_config_parser p = {
		.host = host, .out = c, .msg = msg, .msglen = msglen
	};

	ssh_config_init(c);
	return ssh_config_parse(&p, text, len, "config", 0);
}

#define PARSE(lit, host, c)                                                    \
	parse(lit, sizeof(lit) - 1, host, c, msg, sizeof(msg))

static void
test_real_config(void **state)
{
	struct ssh_config c;
	char msg[256] = "";

	(void)state;
	assert_int_equal(PARSE(real, "work-jump", &c), 0);
	assert_string_equal(c.hostname, "jump.corp.example.com");
	assert_string_equal(c.user, "alice.smith");
	assert_int_equal(c.port, 2222);
	assert_int_equal(c.n_identity, 2);
	assert_string_equal(c.identity[0], "~/.ssh/id_ed25519_work");
	assert_string_equal(c.identity[1], "~/.ssh/id_ed25519");
	assert_int_equal(c.alive_interval, 60);
	ssh_config_free(&c);

	/* second name on the Host line; host names match case-insensitively */
	assert_int_equal(PARSE(real, "NAS.local", &c), 0);
	assert_string_equal(c.hostname, "192.168.1.20");
	assert_string_equal(c.user, "admin");
	assert_int_equal(c.port, 0);
	assert_string_equal(c.identity[0], "%d/.ssh/nas_%h");
	ssh_config_free(&c);

	/* Match is skipped, the negation vetoes, Host * fills the rest */
	assert_int_equal(PARSE(real, "db.corp.example.com", &c), 0);
	assert_null(c.hostname);
	assert_string_equal(c.user, "alice");
	ssh_config_free(&c);
	assert_int_equal(PARSE(real, "jump.corp.example.com", &c), 0);
	assert_string_equal(c.user, "fallback");
	ssh_config_free(&c);

	assert_int_equal(PARSE(real, "other", &c), 0);
	assert_null(c.hostname);
	assert_string_equal(c.user, "fallback");
	assert_int_equal(c.n_identity, 1);
	ssh_config_free(&c);
	ssh_config_free(&c); /* twice is harmless */
	ssh_config_free(NULL);
}

static void
test_first_value_wins(void **state)
{
	struct ssh_config c;
	char msg[256] = "";

	(void)state;
	/* lines before any Host apply to all, and win over later blocks */
	assert_int_equal(PARSE("User global\n"
	                       "Host h\n"
	                       "  User local\n"
	                       "  Port 1\n"
	                       "Host h\n"
	                       "  Port 2\n"
	                       "  HostName first\n"
	                       "  HostName second\n",
	                     "h", &c),
	    0);
	assert_string_equal(c.user, "global");
	assert_int_equal(c.port, 1);
	assert_string_equal(c.hostname, "first");
	ssh_config_free(&c);
	/* values already there (the command line's) are kept */
	ssh_config_init(&c);
	c.user = strdup("cli");
	{
		struct ssh_config_parser p = { .host = "h", .out = &c };

		assert_int_equal(
		    ssh_config_parse(&p, "User cfg\n", 9, "x", 0), 0);
	}
	assert_string_equal(c.user, "cli");
	ssh_config_free(&c);
}

static void
test_syntax(void **state)
{
	struct ssh_config c;
	char msg[256] = "";

	(void)state;
	/* '=', spaces around it, keyword case, tabs, CRLF, quotes, comments */
	assert_int_equal(PARSE("host=h\r\n"
	                       "HOSTNAME = 127.0.0.1\r\n"
	                       "\tport\t=\t2022   # the test port\r\n"
	                       "  IdentityFile \"/keys/my key\"\r\n"
	                       "  IdentityFile '/keys/other key' # c\r\n"
	                       "  IdentityFile /keys/a\\ b\n"
	                       "  # User nobody\n"
	                       "  User=me\n"
	                       "  UnknownKeyword whatever \"x y\"\n"
	                       "  IdentityFile none\n",
	                     "h", &c),
	    0);
	assert_string_equal(c.hostname, "127.0.0.1");
	assert_int_equal(c.port, 2022);
	assert_string_equal(c.user, "me");
	assert_int_equal(c.n_identity, 3);
	assert_string_equal(c.identity[0], "/keys/my key");
	assert_string_equal(c.identity[1], "/keys/other key");
	assert_string_equal(c.identity[2], "/keys/a b");
	ssh_config_free(&c);

	/* a file without a final newline */
	assert_int_equal(PARSE("Host h\nUser last", "h", &c), 0);
	assert_string_equal(c.user, "last");
	ssh_config_free(&c);

	/* the rest of the options kept for the backend */
	assert_int_equal(PARSE("UserKnownHostsFile ~/kh ~/kh2\n"
	                       "StrictHostKeyChecking accept-new\n"
	                       "HostKeyAlias myhost\n"
	                       "ServerAliveInterval 2m\n",
	                     "h", &c),
	    0);
	assert_string_equal(c.known_hosts, "~/kh");
	assert_string_equal(c.strict, "accept-new");
	assert_string_equal(c.host_key_alias, "myhost");
	assert_int_equal(c.alive_interval, 120);
	ssh_config_free(&c);
}

static void
test_errors(void **state)
{
	struct ssh_config c;
	char msg[256] = "";

	(void)state;
	assert_int_equal(PARSE("Host h\n  Port 0\n", "h", &c), -EINVAL);
	assert_string_equal(msg,
	    "config line 2: Port: a number from 1 to "
	    "65535, not \"0\"");
	ssh_config_free(&c);
	/* checked in blocks that do not apply too, as ssh does */
	assert_int_equal(PARSE("Host other\n Port 65536\n", "h", &c), -EINVAL);
	ssh_config_free(&c);
	assert_int_equal(PARSE("Port ssh\n", "h", &c), -EINVAL);
	ssh_config_free(&c);
	assert_int_equal(PARSE("Host h\n User \"open\n", "h", &c), -EINVAL);
	assert_non_null(strstr(msg, "line 2: unterminated quote"));
	ssh_config_free(&c);
	assert_int_equal(PARSE("Host\n", "h", &c), -EINVAL);
	ssh_config_free(&c);
	assert_int_equal(PARSE("HostName\n", "h", &c), -EINVAL);
	ssh_config_free(&c);
	assert_int_equal(PARSE("User \"\"\n", "h", &c), -EINVAL);
	ssh_config_free(&c);
	assert_int_equal(PARSE("ServerAliveInterval 5x\n", "h", &c), -EINVAL);
	ssh_config_free(&c);
	assert_int_equal(
	    parse("User a\0b\n", 9, "h", &c, msg, sizeof(msg)), -EINVAL);
	assert_null(c.user);
	ssh_config_free(&c);
	/* the keywords ftpfs does not use are ssh's business */
	assert_int_equal(PARSE("ProxyJump\nForwardAgent\n", "h", &c), 0);
	ssh_config_free(&c);
}

static void
test_patterns(void **state)
{
	struct ssh_config c;
	char msg[256] = "";

	(void)state;
	assert_true(ssh_config_host_match("h", "h"));
	assert_true(ssh_config_host_match("h", "*"));
	assert_true(ssh_config_host_match("", "*"));
	assert_false(ssh_config_host_match("", "?"));
	assert_true(ssh_config_host_match("web01", "web??"));
	assert_false(ssh_config_host_match("web1", "web??"));
	assert_true(ssh_config_host_match("a.example.org", "*.EXAMPLE.org"));
	assert_false(ssh_config_host_match("example.org", "*.example.org"));
	assert_true(ssh_config_host_match("abcabcabd", "*abd"));
	assert_true(ssh_config_host_match("a*b", "a*b"));
	assert_false(ssh_config_host_match("hx", "h"));
	assert_false(ssh_config_host_match("h", "hx"));
	assert_true(ssh_config_host_match("10.0.0.7", "10.0.0.*"));
	/* no exponential blow-up */
	assert_false(ssh_config_host_match(
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
	    "*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b"));

	/* several patterns, negation anywhere on the line */
	assert_int_equal(
	    PARSE("Host !bad *.lan other\n User x\n", "a.lan", &c), 0);
	assert_string_equal(c.user, "x");
	ssh_config_free(&c);
	assert_int_equal(
	    PARSE("Host !bad *.lan other\n User x\n", "other", &c), 0);
	assert_string_equal(c.user, "x");
	ssh_config_free(&c);
	assert_int_equal(
	    PARSE("Host *.lan !b?d.lan\n User x\n", "bad.lan", &c), 0);
	assert_null(c.user);
	ssh_config_free(&c);
	/* a negation alone matches nothing */
	assert_int_equal(PARSE("Host !bad\n User x\n", "good", &c), 0);
	assert_null(c.user);
	ssh_config_free(&c);
	/* a Match block ends at the next Host */
	assert_int_equal(
	    PARSE("Match all\n User m\nHost h\n User x\n", "h", &c), 0);
	assert_string_equal(c.user, "x");
	ssh_config_free(&c);
}

struct inc_log {
	char seen[256];
	int depth;
};

static int
inc_cb(struct ssh_config_parser *p, const char *arg, int depth)
{
	struct inc_log *l = p->arg;

	strncat(l->seen, arg, sizeof(l->seen) - strlen(l->seen) - 2);
	strcat(l->seen, ";");
	l->depth = depth;
	if (strcmp(arg, "inner") == 0)
		return ssh_config_parse(p, "User inner\n", 11, arg, depth + 1);
	if (strcmp(arg, "loop") == 0)
		return ssh_config_parse(
		    p, "Include loop\n", 13, arg, depth + 1);
	return 0;
}

static void
test_include_callback(void **state)
{
	struct inc_log l = { "", -1 };
	struct ssh_config c;
	struct ssh_config_parser p = {
		.host = "h", .out = &c, .include = inc_cb, .arg = &l
	};
	static const char text[] = "Host other\n"
	                           "  Include not-read\n"
	                           "Host h\n"
	                           "  Include a b\n"
	                           "  Include inner\n"
	                           "  User outer\n";
	char msg[256] = "";

	(void)state;
	ssh_config_init(&c);
	assert_int_equal(
	    ssh_config_parse(&p, text, sizeof(text) - 1, "x", 0), 0);
	assert_string_equal(l.seen, "a;b;inner;");
	assert_string_equal(c.user, "inner"); /* included first */
	ssh_config_free(&c);

	p.msg = msg;
	p.msglen = sizeof(msg);
	assert_int_equal(
	    ssh_config_parse(&p, "Include loop\n", 13, "x", 0), -ELOOP);
	assert_non_null(strstr(msg, "nested too deeply"));
	ssh_config_free(&c);
}

static void
test_expand(void **state)
{
	const struct ssh_config_env env = { .home = "/home/me",
		.local_user = "me",
		.host = "10.0.0.1",
		.remote_user = "admin",
		.port = 2222 };
	const struct ssh_config_env empty = { 0 };
	char *s;

	(void)state;
#define EXPECT(in, tokens, want)                                               \
	do {                                                                   \
		assert_int_equal(ssh_config_expand(in, &env, tokens, &s), 0);  \
		assert_string_equal(s, want);                                  \
		free(s);                                                       \
	} while (0)
	EXPECT("~/.ssh/id", "dhur%p", "/home/me/.ssh/id");
	EXPECT("~", "", "/home/me");
	EXPECT("%d/.ssh/%u-%r@%h:%p", "dhur%p",
	    "/home/me/.ssh/me-admin@10.0.0.1:2222");
	EXPECT("100%%", "%", "100%");
	EXPECT("/plain/path", "", "/plain/path");
	EXPECT("%h.example.org", "h%", "10.0.0.1.example.org");
	EXPECT("a~b", "", "a~b");
	EXPECT("", "", "");
#undef EXPECT
	assert_int_equal(ssh_config_expand("%x", &env, "dhur%p", &s), -EINVAL);
	assert_null(s);
	assert_int_equal(ssh_config_expand("%d", &env, "h%", &s), -EINVAL);
	assert_int_equal(ssh_config_expand("trail%", &env, "%", &s), -EINVAL);
	assert_int_equal(ssh_config_expand("~root/x", &env, "", &s), -EINVAL);
	assert_int_equal(ssh_config_expand("~/x", &empty, "", &s), -EINVAL);
	assert_int_equal(ssh_config_expand("%p", &empty, "p", &s), -EINVAL);
}

static void
write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void
test_load_files(void **state)
{
	char dir[] = "/tmp/test_ssh_config.XXXXXX", path[512], ssh[512];
	char msg[256] = "";
	struct ssh_config c;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(ssh, sizeof(ssh), "%s/.ssh", dir);
	assert_int_equal(mkdir(ssh, 0700), 0);
	snprintf(path, sizeof(path), "%s/.ssh/conf.d", dir);
	assert_int_equal(mkdir(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/.ssh/conf.d/10-a.conf", dir);
	write_file(path, "Host alias\n  HostName 127.0.0.1\n");
	snprintf(path, sizeof(path), "%s/.ssh/conf.d/20-b.conf", dir);
	write_file(path, "Host alias\n  HostName not-first\n  Port 2022\n");
	snprintf(path, sizeof(path), "%s/.ssh/config", dir);
	write_file(path,
	    "Include conf.d/*.conf missing.conf\n"
	    "Host alias\n"
	    "  User u\n");

	assert_int_equal(
	    ssh_config_load(path, true, "alias", dir, &c, msg, sizeof(msg)), 0);
	assert_string_equal(c.hostname, "127.0.0.1");
	assert_int_equal(c.port, 2022);
	assert_string_equal(c.user, "u");
	ssh_config_free(&c);

	/* a missing default file is no error; a missing -F file is */
	snprintf(path, sizeof(path), "%s/none", dir);
	assert_int_equal(
	    ssh_config_load(path, false, "alias", dir, &c, msg, sizeof(msg)),
	    0);
	assert_null(c.hostname);
	assert_int_equal(
	    ssh_config_load(path, true, "alias", dir, &c, msg, sizeof(msg)),
	    -ENOENT);
	assert_non_null(strstr(msg, "No such file"));

	/* an error in an included file names that file */
	snprintf(path, sizeof(path), "%s/.ssh/conf.d/30-bad.conf", dir);
	write_file(path, "\nPort none\n");
	snprintf(path, sizeof(path), "%s/.ssh/config", dir);
	assert_int_equal(
	    ssh_config_load(path, true, "alias", dir, &c, msg, sizeof(msg)),
	    -EINVAL);
	assert_non_null(strstr(msg, "30-bad.conf line 2: Port"));
	assert_null(c.hostname);

	snprintf(path, sizeof(path), "rm -rf '%s'", dir);
	assert_int_equal(system(path), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_real_config),
		cmocka_unit_test(test_first_value_wins),
		cmocka_unit_test(test_syntax),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_patterns),
		cmocka_unit_test(test_include_callback),
		cmocka_unit_test(test_expand),
		cmocka_unit_test(test_load_files),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
