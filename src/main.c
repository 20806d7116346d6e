/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * main: options, URL, credentials, mount, daemonize; the only file that
 * exits.
 *
 * Order of a mount, so that it fails fast and never leaves a dead mount:
 *   parse options and URL -> check the mount point -> fuse_new() (rejects
 *   unknown options) -> credentials (may prompt) -> fork unless -f
 *   -> [child] setsid, connect and log in (backend_open), fuse_mount,
 *   tell the parent "ok" through a pipe, detach, run the loop.
 * Threads do not survive fork(), and the backend starts threads, so the
 * fork comes before it: libfuse's fuse_daemonize() is not used.  The
 * parent prints nothing; it exits with the child's status byte.
 */
#include "fs.h"

#include <errno.h>
#include <fcntl.h>
#include <fuse_lowlevel.h>
#include <limits.h>
#include <malloc.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backend.h"
#include "cache.h"
#include "creds.h"
#include "log.h"
#include "memtrim.h"
#include "mountinfo.h"
#include "net.h"
#include "options.h"
#include "probe.h"
#include "spool.h"
#include "url.h"

#define MAIN_MAX_CONNECTIONS 64
#define MAIN_MAX_EXTRA 64 /* backend-specific -o items */
#define MAIN_MAX_SECONDS (INT_MAX / 1000) /* so milliseconds fit an int */

struct options {
	const char *url_arg; /* the URL, inside the original argv */
	const char *mountpoint; /* inside the original argv */
	unsigned connections;
	unsigned cache_timeout; /* seconds, 0 disables */
	unsigned connect_timeout;
	unsigned timeout; /* -o timeout: each operation's deadline, s */
	int password_stdin; /* set by fuse_opt: int */
	char *netrc_path; /* NULL without -o netrc */
	char *credentials_path; /* NULL without -o credentials= */
	char *protocol; /* -o protocol=: auto://'s order; NULL: default */
	bool protocol_open; /* the last -o item was protocol=: a bare
	                       sftp/ftpes/ftp/ftps continues its list */
	int log_level; /* enum log_level; -1: by -d (trace) or warn */
	char *spool_dir; /* -o spool_dir, NULL = default */
	/* -o items a backend parses (backend_opt_check), in order */
	char *extra[MAIN_MAX_EXTRA];
	size_t nextra;
	bool debug;
	bool fuse_debug;
	bool foreground;
	bool single_thread;
	bool help;
	bool version;
	bool kernel_timeouts; /* user set attr_timeout= and friends */
	bool kernel_cache_mode; /* user set [no]auto_cache or kernel_cache */
	bool remote_ids; /* idmap=none */
	int strict_times; /* set by fuse_opt: int */
	bool has_fsname;
	bool has_subtype;
};

enum {
	KEY_HELP,
	KEY_VERSION,
	KEY_FOREGROUND,
	KEY_SINGLE,
	KEY_DEBUG,
	KEY_FUSE_DEBUG,
	KEY_CONNECTIONS,
	KEY_CACHE_TIMEOUT,
	KEY_CONNECT_TIMEOUT,
	KEY_TIMEOUT,
	KEY_NETRC,
	KEY_NETRC_FILE,
	KEY_IDMAP,
	KEY_KERNEL_TIMEOUT,
	KEY_KERNEL_CACHE,
	KEY_FSNAME,
	KEY_SUBTYPE,
	KEY_NEEDS_VALUE,
	KEY_SPOOL_DIR,
	KEY_SSH_CONFIG,
	KEY_CREDENTIALS,
	KEY_PROTOCOL,
	KEY_LOG_LEVEL,
};

#define MAIN_FLAG(t, field)                                                    \
	{                                                                      \
		t, offsetof(struct options, field), 1                          \
	}

static const struct fuse_opt main_opts[] = {
	FUSE_OPT_KEY("-h", KEY_HELP),
	FUSE_OPT_KEY("--help", KEY_HELP),
	FUSE_OPT_KEY("-V", KEY_VERSION),
	FUSE_OPT_KEY("--version", KEY_VERSION),
	FUSE_OPT_KEY("-f", KEY_FOREGROUND),
	FUSE_OPT_KEY("-s", KEY_SINGLE),
	FUSE_OPT_KEY("-F ", KEY_SSH_CONFIG),
	FUSE_OPT_KEY("-d", KEY_DEBUG),
	FUSE_OPT_KEY("debug", KEY_DEBUG),
	FUSE_OPT_KEY("fuse_debug", KEY_FUSE_DEBUG),
	FUSE_OPT_KEY("connections=", KEY_CONNECTIONS),
	FUSE_OPT_KEY("cache_timeout=", KEY_CACHE_TIMEOUT),
	FUSE_OPT_KEY("connect_timeout=", KEY_CONNECT_TIMEOUT),
	FUSE_OPT_KEY("timeout=", KEY_TIMEOUT),
	MAIN_FLAG("password_stdin", password_stdin),
	MAIN_FLAG("strict_times", strict_times),
	FUSE_OPT_KEY("netrc", KEY_NETRC),
	FUSE_OPT_KEY("netrc=", KEY_NETRC_FILE),
	FUSE_OPT_KEY("credentials=", KEY_CREDENTIALS),
	FUSE_OPT_KEY("protocol=", KEY_PROTOCOL),
	FUSE_OPT_KEY("log_level=", KEY_LOG_LEVEL),
	FUSE_OPT_KEY("reconnect", FUSE_OPT_KEY_DISCARD),
	FUSE_OPT_KEY("idmap=", KEY_IDMAP),
	FUSE_OPT_KEY("spool_dir=", KEY_SPOOL_DIR),
	/* libfuse's own, kept for it; noted so cache_timeout stays out. */
	FUSE_OPT_KEY("attr_timeout=", KEY_KERNEL_TIMEOUT),
	FUSE_OPT_KEY("entry_timeout=", KEY_KERNEL_TIMEOUT),
	FUSE_OPT_KEY("negative_timeout=", KEY_KERNEL_TIMEOUT),
	FUSE_OPT_KEY("auto_cache", KEY_KERNEL_CACHE),
	FUSE_OPT_KEY("noauto_cache", KEY_KERNEL_CACHE),
	FUSE_OPT_KEY("kernel_cache", KEY_KERNEL_CACHE),
	FUSE_OPT_KEY("fsname=", KEY_FSNAME),
	FUSE_OPT_KEY("subtype=", KEY_SUBTYPE),
	/* Ours without their value: say so rather than "unknown option". */
	FUSE_OPT_KEY("connections", KEY_NEEDS_VALUE),
	FUSE_OPT_KEY("cache_timeout", KEY_NEEDS_VALUE),
	FUSE_OPT_KEY("connect_timeout", KEY_NEEDS_VALUE),
	FUSE_OPT_KEY("timeout", KEY_NEEDS_VALUE),
	FUSE_OPT_KEY("idmap", KEY_NEEDS_VALUE),
	FUSE_OPT_KEY("spool_dir", KEY_NEEDS_VALUE),
	FUSE_OPT_KEY("credentials", KEY_NEEDS_VALUE),
	FUSE_OPT_KEY("protocol", KEY_NEEDS_VALUE),
	FUSE_OPT_KEY("log_level", KEY_NEEDS_VALUE),
	FUSE_OPT_END,
};

static void
main_usage(const char *prog)
{
	/* clang-format off */
	printf(
"usage: %s ftp://[user[:password]@]host[:port][/path] MOUNTPOINT [options]\n"
"       %s sftp://[user@]host[:port][/path] MOUNTPOINT [options]\n"
"       %s [user@]host:[path] MOUNTPOINT [options]     (SFTP, as sshfs)\n"
"       %s auto://[user@]host[:port][/path] MOUNTPOINT [options]\n"
"\n"
"Mount a directory of an FTP, FTPS or SFTP server.  The FTP path is\n"
"relative to the login directory; start it with %%2F (ftp://host/%%2Fsrv)\n"
"for an absolute one.  ftpes:// (explicit TLS) and ftps:// (implicit TLS)\n"
"mount over FTPS.  The sftp:// path is absolute (/~/ = the login\n"
"directory); in host:path it is relative to the login directory unless it\n"
"starts with /.  SFTP hosts may be Host aliases of ~/.ssh/config (-F FILE).\n"
"auto:// asks the server: SFTP (an SSH banner), then FTPS (AUTH TLS\n"
"accepted), then plain FTP, and says what it chose and why; the path is\n"
"read as in ftp://.\n"
"\n"
"General options:\n"
"    -h, --help             print this help and exit\n"
"    -V, --version          print the versions and exit\n"
"    -f                     stay in the foreground\n"
"    -s                     single-threaded operation\n"
"    -F FILE                ssh client configuration for SFTP (default\n"
"                           ~/.ssh/config; also -o ssh_config=FILE)\n"
"    -d, -o debug           trace the FTP protocol on stderr (implies -f)\n"
"    -o fuse_debug          also trace every FUSE request (implies -f)\n"
"\n"
"Connection options:\n"
"    -o connections=N       at most N connections to the server (default 8)\n"
"    -o cache_timeout=S     cache listings and attributes for S seconds\n"
"                           (default 20; 0 disables)\n"
"    -o connect_timeout=S   give up connecting or logging in after S seconds\n"
"                           (default 10)\n"
"    -o timeout=S           an operation that gets nothing through for S\n"
"                           seconds (a frozen server) fails with EIO\n"
"                           (default 30); the mount stays and recovers\n"
"    -o spool_dir=DIR       local copies of files being rewritten in place\n"
"                           (default /var/tmp/ftpfs-UID); kept there, and\n"
"                           logged, when an upload fails\n"
"    -o password_stdin      read the password from the first line of stdin\n"
"    -o netrc[=FILE]        take login, password and account from FILE\n"
"                           (default ~/.netrc)\n"
"    -o credentials=FILE    username=, password= and account= lines, as\n"
"                           mount.cifs reads them; the file must not be\n"
"                           readable by others (chmod 600)\n"
"    -o protocol=LIST       what auto:// tries, in order (default\n"
"                           sftp,ftpes,ftp)\n"
"    -o log_level=LEVEL     error, warn (default), info or debug; to\n"
"                           stderr with -f, else to syslog as ftpfs[PID]\n"
"    -o idmap=user|none     user (default): every file belongs to you;\n"
"                           none: the server's numeric ids when it has any\n"
"    -o reconnect           accepted for sshfs compatibility (always on)\n"
"    -o strict_times        fail utimensat on a directory whose time the\n"
"                           server cannot set (vsftpd, pyftpdlib); by\n"
"                           default that is accepted and logged once, so\n"
"                           rsync -a and tar x finish cleanly\n"
"\n",
	    prog, prog, prog, prog);
	/* clang-format on */
	backend_print_help();
	/* clang-format off */
	printf(
"Without a password in the URL, a credentials file, -o password_stdin or\n"
"a netrc entry, the password is asked for on the terminal (anonymous\n"
"logins use \"ftpfs@\").\n"
"\n"
"fstab options for mount(8) and systemd are accepted and ignored: _netdev,\n"
"auto, noauto, nofail, user, nouser, users, owner, group, defaults,\n"
"comment=..., x-* and X-* (x-systemd.automount, x-gvfs-show, ...).\n"
"\n"
"Examples:\n"
"    ftpfs ftp://ftp.example.org/pub ~/pub -o ro          anonymous, read-only\n"
"    ftpfs ftpes://alice@ftp.example.org/ ~/ftp           FTPS, asks the password\n"
"    ftpfs -o credentials=/etc/ftpfs/ex.cred ftp://ftp.example.org/ /mnt/ftp\n"
"    ftpfs alice@nas:projects ~/nas                       SFTP, as sshfs\n"
"    ftpfs auto://alice@files.example.org/ ~/files        SFTP, else FTPS, else FTP\n"
"    fusermount3 -u ~/ftp                                 unmount\n"
"  /etc/fstab:\n"
"    ftp://ftp.example.org/ /mnt/ftp fuse.ftpfs credentials=/etc/ftpfs/ex.cred,_netdev,nofail 0 0\n"
"\n"
"FUSE options (allow_other, ro, uid=, gid=, umask=, ...).  ftpfs turns\n"
"auto_cache on and sets entry_timeout and negative_timeout to\n"
"cache_timeout and attr_timeout to 0 (its own cache answers every stat)\n"
"unless they are given:\n");
	/* clang-format on */
}

/*
 * libfuse's option help with ftpfs's defaults where they differ: it says
 * auto_cache is off and the kernel timeouts 1 s or 0 s, and would
 * contradict the lines above it.  Its text goes through a pipe (it is a
 * few KiB, far below a pipe's capacity) and each such line is corrected.
 */
static void
main_fuse_help(struct fuse_args *args)
{
	static const struct {
		const char *opt, *was, *now;
	} fixes[] = {
		{ "[no]auto_cache", "(off)", "(on in ftpfs)" },
		{ "entry_timeout=", "(1.0s)", "(cache_timeout in ftpfs)" },
		{ "negative_timeout=", "(0.0s)", "(cache_timeout in ftpfs)" },
		{ "attr_timeout=", "(1.0s)", "(0 in ftpfs)" },
	};
	char *line = NULL, *at;
	size_t cap = 0, i;
	FILE *in;
	int fds[2], saved;

	fflush(stdout);
	saved = dup(STDOUT_FILENO);
	if (saved < 0 || pipe(fds) < 0) {
		if (saved >= 0)
			close(saved);
		fuse_lib_help(args);
		return;
	}
	dup2(fds[1], STDOUT_FILENO);
	close(fds[1]);
	fuse_lib_help(args);
	fflush(stdout);
	dup2(saved, STDOUT_FILENO);
	close(saved);
	in = fdopen(fds[0], "r");
	if (in == NULL) {
		close(fds[0]);
		return;
	}
	while (getline(&line, &cap, in) >= 0) {
		for (i = 0; i < sizeof(fixes) / sizeof(fixes[0]); i++) {
			at = strstr(line, fixes[i].was);
			if (strstr(line, fixes[i].opt) != NULL && at != NULL) {
				printf("%.*s%s%s", (int)(at - line), line,
				    fixes[i].now, at + strlen(fixes[i].was));
				break;
			}
		}
		if (i == sizeof(fixes) / sizeof(fixes[0]))
			fputs(line, stdout);
	}
	free(line);
	fclose(in);
}

static int
main_parse_seconds(const char *arg, unsigned min, unsigned max, unsigned *out)
{
	if (options_number(arg, min, max, out) < 0) {
		fprintf(stderr,
		    "ftpfs: invalid -o %s: expected a whole number from %u to "
		    "%u\n",
		    arg, min, max);
		return -1;
	}
	return 0;
}

/* A -o item some backend may own: keep it for backend_open(). */
static int
main_backend_opt(struct options *o, const char *arg)
{
	char msg[256] = "";
	int rc = backend_opt_check(arg, msg, sizeof(msg));

	if (rc == 0)
		return 1; /* libfuse's: it rejects what nobody knows */
	if (rc < 0) {
		fprintf(stderr, "ftpfs: %s\n", msg);
		return -1;
	}
	if (o->nextra == MAIN_MAX_EXTRA) {
		fprintf(stderr, "ftpfs: too many -o options\n");
		return -1;
	}
	o->extra[o->nextra] = strdup(arg);
	if (o->extra[o->nextra] == NULL) {
		fprintf(stderr, "ftpfs: out of memory\n");
		return -1;
	}
	o->nextra++;
	return 0;
}

/* A bare protocol name after protocol= continues its list (options.h). */
static int
main_protocol_more(struct options *o, const char *arg)
{
	int rc = options_protocol_more(&o->protocol, arg);

	if (rc == -ENOMEM) {
		fprintf(stderr, "ftpfs: out of memory\n");
		return -1;
	}
	return rc;
}

static int
main_opt_proc(void *data, const char *arg, int key, struct fuse_args *outargs)
{
	struct options *o = data;

	if (o->protocol_open) {
		int rc =
		    key == FUSE_OPT_KEY_OPT ? main_protocol_more(o, arg) : 1;

		if (rc <= 0)
			return rc;
		o->protocol_open = false;
	}
	switch (key) {
	case FUSE_OPT_KEY_NONOPT:
		if (o->url_arg == NULL) {
			o->url_arg = arg;
			return 0;
		}
		if (o->mountpoint == NULL) {
			o->mountpoint = arg;
			return 0;
		}
		fprintf(stderr, "ftpfs: unexpected argument '%s'\n", arg);
		return -1;
	case KEY_HELP:
		o->help = true;
		return 0;
	case KEY_VERSION:
		o->version = true;
		return 0;
	case KEY_FOREGROUND:
		o->foreground = true;
		return 0;
	case KEY_SINGLE:
		o->single_thread = true;
		return 0;
	case KEY_DEBUG:
		o->debug = true;
		o->foreground = true;
		return 0;
	case KEY_FUSE_DEBUG:
		o->fuse_debug = true;
		o->foreground = true;
		return fuse_opt_add_arg(outargs, "-odebug");
	case KEY_CONNECTIONS:
		return main_parse_seconds(
		    arg, 1, MAIN_MAX_CONNECTIONS, &o->connections);
	case KEY_CACHE_TIMEOUT:
		return main_parse_seconds(
		    arg, 0, MAIN_MAX_SECONDS, &o->cache_timeout);
	case KEY_CONNECT_TIMEOUT:
		return main_parse_seconds(
		    arg, 1, MAIN_MAX_SECONDS, &o->connect_timeout);
	case KEY_TIMEOUT:
		return main_parse_seconds(
		    arg, 1, MAIN_MAX_SECONDS, &o->timeout);
	case KEY_NETRC:
		free(o->netrc_path);
		o->netrc_path = creds_default_netrc();
		if (o->netrc_path == NULL) {
			fprintf(stderr,
			    "ftpfs: -o netrc: cannot find the home directory\n");
			return -1;
		}
		return 0;
	case KEY_NETRC_FILE:
		free(o->netrc_path);
		o->netrc_path = strdup(arg + strlen("netrc="));
		if (o->netrc_path == NULL || o->netrc_path[0] == '\0') {
			fprintf(stderr, "ftpfs: -o netrc= needs a file name\n");
			return -1;
		}
		return 0;
	case KEY_CREDENTIALS:
		free(o->credentials_path);
		o->credentials_path = strdup(arg + strlen("credentials="));
		if (o->credentials_path == NULL ||
		    o->credentials_path[0] == '\0') {
			fprintf(stderr,
			    "ftpfs: -o credentials= needs a file name\n");
			return -1;
		}
		return 0;
	case KEY_PROTOCOL:
		/* checked by main_probe once the whole list is in */
		free(o->protocol);
		o->protocol = strdup(arg + strlen("protocol="));
		if (o->protocol == NULL) {
			fprintf(stderr, "ftpfs: out of memory\n");
			return -1;
		}
		o->protocol_open = true;
		return 0;
	case KEY_LOG_LEVEL:
		if (options_log_level(
		        arg + strlen("log_level="), &o->log_level) < 0) {
			fprintf(stderr,
			    "ftpfs: -o %s: expected error, warn, info or "
			    "debug\n",
			    arg);
			return -1;
		}
		return 0;
	case KEY_IDMAP:
		if (options_idmap(arg, &o->remote_ids) < 0) {
			fprintf(stderr,
			    "ftpfs: -o %s is not supported "
			    "(idmap=user or idmap=none)\n",
			    arg);
			return -1;
		}
		return 0;
	case KEY_SPOOL_DIR:
		free(o->spool_dir);
		o->spool_dir = strdup(arg + strlen("spool_dir="));
		if (o->spool_dir == NULL || o->spool_dir[0] != '/') {
			fprintf(stderr,
			    "ftpfs: -o spool_dir= needs an absolute path\n");
			return -1;
		}
		return 0;
	case KEY_KERNEL_TIMEOUT:
		o->kernel_timeouts = true;
		return 1;
	case KEY_KERNEL_CACHE:
		o->kernel_cache_mode = true;
		return 1;
	case KEY_FSNAME:
		o->has_fsname = true;
		return 1;
	case KEY_SUBTYPE:
		o->has_subtype = true;
		return 1;
	case KEY_SSH_CONFIG: {
		/* ssh's -F FILE: the same as -o ssh_config=FILE */
		char *item;
		int rc;

		if (asprintf(&item, "ssh_config=%s", arg + 2) < 0) {
			fprintf(stderr, "ftpfs: out of memory\n");
			return -1;
		}
		rc = main_backend_opt(o, item);
		free(item);
		return rc;
	}
	case KEY_NEEDS_VALUE:
		fprintf(stderr, "ftpfs: -o %s needs a value (-o %s=...)\n", arg,
		    arg);
		return -1;
	case FUSE_OPT_KEY_OPT:
		if (options_fstab_only(arg))
			return 0;
		return main_backend_opt(o, arg);
	default:
		return 1; /* libfuse's: it rejects what nobody knows */
	}
}

/*
 * Remove the password from the URL in the original argv, so that ps(1)
 * never shows it.  fuse_opt hands NONOPT arguments over as pointers into
 * argv; the string comparison covers a libfuse that would copy them.
 */
static void
main_scrub_argv(
    int argc, char *argv[], const char *url_arg, const char *url_copy)
{
	int i;

	for (i = 1; i < argc; i++)
		if (argv[i] == url_arg)
			break;
	if (i < argc) {
		creds_scrub_url(argv[i]);
		return;
	}
	for (i = 1; i < argc; i++)
		if (strcmp(argv[i], url_copy) == 0)
			creds_scrub_url(argv[i]);
}

/* Why the mount source was refused, in the form the user meant. */
static void
main_bad_source(const char *arg)
{
	static const char *const known[] = { "ftp://", "ftps://", "ftpes://",
		"sftp://", "auto://" };
	size_t i, n = strcspn(arg, ":");
	bool scheme_ok = false;

	for (i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (strncasecmp(arg, known[i], strlen(known[i])) == 0)
			scheme_ok = true;
	if (url_has_scheme(arg, strlen(arg)) && !scheme_ok)
		fprintf(stderr,
		    "ftpfs: %.*s:// is not a protocol ftpfs speaks: use "
		    "ftp://, ftpes://, ftps://, sftp:// or auto://\n",
		    (int)n, arg);
	else if (url_has_scheme(arg, strlen(arg)))
		fprintf(stderr,
		    "ftpfs: invalid URL: %s (expected "
		    "ftp://[user[:password]@]host[:port][/path] or "
		    "sftp://[user@]host[:port][/path])\n",
		    arg);
	else if (strchr(arg, ':') == NULL)
		fprintf(stderr,
		    "ftpfs: %s: not a URL (ftp://host/path, sftp://host/path) "
		    "nor an SFTP [user@]host:[path]; a local directory cannot "
		    "be mounted (the order is: SOURCE MOUNTPOINT)\n",
		    arg);
	else
		fprintf(stderr,
		    "ftpfs: invalid source: %s (expected [user@]host:[path], "
		    "host a name, an IPv4 address or [an:ip:v6::address], or "
		    "a URL such as sftp://host:port/path)\n",
		    arg);
}

/*
 * host:2222 is the directory 2222 (as scp reads it): say so, in case a
 * port was meant.
 */
static void
main_sshfs_port_hint(const struct url *u)
{
	const char *p = u->path + 3;

	if (!u->sshfs_form || strncmp(u->path, "/~/", 3) != 0 || *p == '\0' ||
	    strspn(p, "0123456789") != strlen(p))
		return;
	fprintf(stderr,
	    "ftpfs: note: %s:%s is the directory %s in the login directory; "
	    "for port %s write sftp://%s:%s/~ (or Port in ~/.ssh/config)\n",
	    u->host, p, p, p, u->host, p);
}

/* "ftp://user@host:port/path" for the mount table: no password. */
static int
main_add_fsname(
    struct fuse_args *args, const struct options *o, const struct url *u)
{
	bool v6 = strchr(u->host, ':') != NULL;
	char *name = NULL, *opt = NULL;
	int rc = -1;

	if (!o->has_fsname) {
		if (asprintf(&name, "%s://%s%s%s%s%s:%u%s",
		        url_scheme_name(u->scheme), u->user ? u->user : "",
		        u->user ? "@" : "", v6 ? "[" : "", u->host,
		        v6 ? "]" : "", u->port, u->path) < 0) {
			name = NULL;
			goto out;
		}
		if (fuse_opt_add_opt_escaped(&opt, name) < 0)
			goto out;
		free(name);
		if (asprintf(&name, "-ofsname=%s", opt) < 0) {
			name = NULL;
			goto out;
		}
		if (fuse_opt_add_arg(args, name) < 0)
			goto out;
	}
	if (!o->has_subtype && fuse_opt_add_arg(args, "-osubtype=ftpfs") < 0)
		goto out;
	rc = 0;
out:
	free(name);
	free(opt);
	return rc;
}

/*
 * The mount on mnt, from /proc/self/mountinfo (the last one listed is on
 * top): its device "major:minor" and filesystem type.  false: none.
 */
static bool
main_mount_of(
    const char *mnt, char *devid, size_t devlen, char *type, size_t typelen)
{
	struct mountinfo_entry m;
	char *line = NULL;
	size_t cap = 0;
	bool found = false;
	FILE *fp;

	fp = fopen("/proc/self/mountinfo", "re");
	if (fp == NULL)
		return false;
	while (getline(&line, &cap, fp) > 0) {
		if (mountinfo_parse_line(line, &m) < 0 ||
		    strcmp(m.mount_point, mnt) != 0)
			continue;
		found = true;
		snprintf(devid, devlen, "%s", m.devid);
		snprintf(type, typelen, "%s", m.fstype);
	}
	free(line);
	fclose(fp);
	return found;
}

/* The mount point, made absolute (the daemon leaves the cwd). */
static char *
main_check_mountpoint(const char *path)
{
	char devid[32], type[64];
	struct stat st;
	char *abs;

	abs = realpath(path, NULL);
	if (abs == NULL) {
		if (errno == ENOTCONN)
			fprintf(stderr,
			    "ftpfs: mountpoint %s: %s (a dead "
			    "mount? try: fusermount3 -u %s)\n",
			    path, strerror(errno), path);
		else
			fprintf(stderr, "ftpfs: mountpoint %s: %s\n", path,
			    strerror(errno));
		return NULL;
	}
	if (stat(abs, &st) < 0) {
		fprintf(stderr, "ftpfs: mountpoint %s: %s\n", path,
		    strerror(errno));
		free(abs);
		return NULL;
	}
	if (!S_ISDIR(st.st_mode)) {
		fprintf(stderr, "ftpfs: mountpoint %s: %s\n", path,
		    strerror(ENOTDIR));
		free(abs);
		return NULL;
	}
	/* a second ftpfs on the same directory would hide the first */
	if (main_mount_of(abs, devid, sizeof(devid), type, sizeof(type)) &&
	    strcmp(type, "fuse.ftpfs") == 0) {
		fprintf(stderr,
		    "ftpfs: mountpoint %s is already an ftpfs mount: unmount "
		    "it first (fusermount3 -u %s)\n",
		    path, path);
		free(abs);
		return NULL;
	}
	return abs;
}

/*
 * Sequential reads reach the backend in readahead-sized requests, and a
 * FUSE mount's readahead starts at 128 KiB; only root may raise it
 * (sysfs).  We do so when we can, to FS_READAHEAD_KB (see fs_init() for
 * the numbers).  This runs after fuse_mount() and before the loop answers
 * INIT, when the kernel takes min(this, our max_readahead).  The mount is
 * found in mountinfo: stat(2) of the mount point would wait for our own
 * loop.
 */
static void
main_raise_readahead(const char *mnt)
{
	char devid[32] = "", type[64], path[96], kb[16];
	int fd, n;

	if (geteuid() != 0 ||
	    !main_mount_of(mnt, devid, sizeof(devid), type, sizeof(type)))
		return;
	snprintf(path, sizeof(path), "/sys/class/bdi/%s/read_ahead_kb", devid);
	n = snprintf(kb, sizeof(kb), "%d", FS_READAHEAD_KB);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, kb, (size_t)n) != n)
		log_debug("%s: %s", path, strerror(errno));
	if (fd >= 0)
		close(fd);
}

/*
 * Fork; the parent waits for the child's status byte and returns it (>= 0).
 * The child returns -1 with *status_fd set, in a new session.
 */
static int
main_fork(int *status_fd)
{
	unsigned char st;
	int fds[2];
	ssize_t n;
	pid_t pid;

	if (pipe2(fds, O_CLOEXEC) < 0) {
		fprintf(stderr, "ftpfs: pipe: %s\n", strerror(errno));
		return 1;
	}
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0) {
		fprintf(stderr, "ftpfs: fork: %s\n", strerror(errno));
		close(fds[0]);
		close(fds[1]);
		return 1;
	}
	if (pid == 0) {
		close(fds[0]);
		setsid();
		*status_fd = fds[1];
		return -1;
	}
	close(fds[1]);
	do {
		n = read(fds[0], &st, 1);
	} while (n < 0 && errno == EINTR);
	close(fds[0]);
	if (n != 1) {
		fprintf(stderr, "ftpfs: the mount process died\n");
		return 1;
	}
	return st;
}

/* Tell the waiting parent; false when it is gone (then do not stay). */
static bool
main_report(int *status_fd, unsigned char status)
{
	ssize_t n;

	if (*status_fd < 0)
		return true;
	do {
		n = write(*status_fd, &status, 1);
	} while (n < 0 && errno == EINTR);
	close(*status_fd);
	*status_fd = -1;
	return n == 1;
}

static void
main_detach(void)
{
	int fd;

	if (chdir("/") < 0)
		log_warn("chdir /: %s", strerror(errno));
	fd = open("/dev/null", O_RDWR);
	if (fd >= 0) {
		dup2(fd, STDIN_FILENO);
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
		if (fd > STDERR_FILENO)
			close(fd);
	}
	log_use_syslog(true);
}

/*
 * Connect, mount and serve (in the child, or in-process with -f).
 * Consumes the credentials: they are wiped once the backend has them.
 * Returns the exit status.
 */
static int
main_serve(const struct options *o, struct url *u, struct creds *cr,
    struct fuse *fuse, struct fs_ctx *ctx, const char *mnt, int status_fd)
{
	struct fuse_session *se = fuse_get_session(fuse);
	struct backend *remote = NULL, *be = NULL;
	struct walk *walk = NULL;
	struct fahead *fahead = NULL;
	struct memtrim *trim = NULL;
	struct backend_opts bo = {
		.user = cr->user,
		.password = cr->password,
		.account = cr->account,
		.connections = o->connections,
		.connect_timeout_ms = (int)o->connect_timeout * 1000,
		.extra = (const char *const *)o->extra,
		.nextra = o->nextra,
	};
	bool mounted = false, handlers = false;
	char msg[512] = "";
	int rc, status = 1;

	rc = backend_open(u, &bo, &remote, msg, sizeof(msg));
	explicit_bzero(&bo, sizeof(bo));
	creds_free(cr); /* the backend keeps its own copy */
	if (rc < 0) {
		fprintf(stderr, "ftpfs: %s\n", msg[0] ? msg : strerror(-rc));
		goto out;
	}
	rc = cache_backend_new(remote, (int)o->cache_timeout * 1000, &be);
	if (rc < 0) {
		remote->ops->destroy(remote);
		fprintf(stderr, "ftpfs: cache: %s\n", strerror(-rc));
		goto out;
	}
	ctx->be = be;
	/*
	 * Tree walks listed and small files read ahead: on connections - 1
	 * workers each (one is always left to the processes), and only
	 * where listings are kept.
	 */
	if (o->cache_timeout > 0 && o->connections > 1 &&
	    (walk_new(be, o->connections - 1, ctx->op_timeout_ms, &walk) < 0 ||
	        fahead_new(be, o->connections - 1, ctx->op_timeout_ms,
	            (int)o->cache_timeout * 1000, &fahead) < 0)) {
		fprintf(stderr, "ftpfs: out of memory\n");
		goto out;
	}
	ctx->walk = walk;
	ctx->fahead = fahead;

	if (fuse_mount(fuse, mnt) != 0) {
		fprintf(stderr, "ftpfs: cannot mount on %s\n", mnt);
		goto out;
	}
	mounted = true;
	main_raise_readahead(mnt);
	if (fuse_set_signal_handlers(se) != 0) {
		fprintf(stderr, "ftpfs: cannot install signal handlers\n");
		goto out;
	}
	handlers = true;
	if (!main_report(&status_fd, 0))
		goto out; /* the parent was interrupted: undo the mount */
	if (!o->foreground)
		main_detach();
	log_info("mounted %s://%s:%u%s on %s", url_scheme_name(u->scheme),
	    u->host, u->port, u->path, mnt);
	trim = memtrim_start(); /* (after the fork of main_detach) */

	if (o->single_thread)
		rc = fuse_loop(fuse);
	else
		rc = fuse_loop_mt(fuse, 0);
	/* > 0: the signal that ended the loop; 0: unmounted. */
	if (rc < 0) {
		log_err("FUSE loop: %s", strerror(-rc));
		goto out;
	}
	status = 0;
out:
	memtrim_stop(trim);
	if (handlers)
		fuse_remove_signal_handlers(se);
	if (mounted)
		fuse_unmount(fuse);
	main_report(&status_fd, (unsigned char)status);
	/* The backend outlives every FUSE callback and walker: last. */
	fuse_destroy(fuse);
	walk_free(walk);
	ctx->walk = NULL;
	fahead_free(fahead);
	ctx->fahead = NULL;
	if (be != NULL)
		be->ops->destroy(be);
	ctx->be = NULL;
	return status;
}

/*
 * auto://: ask the server which protocol it speaks (probe.h) and go on as
 * if that scheme had been written.  The path keeps ftp://'s meaning
 * (relative to the login directory unless "//"): for SFTP it becomes
 * "/~/path", or the absolute path.  Says what it chose and why.
 */
static int
main_probe(const struct options *o, struct url *u)
{
	enum url_scheme order[PROBE_MAX];
	unsigned port = 0;
	char why[512], msg[256];
	size_t n;
	int rc;

	rc = probe_parse_order(
	    o->protocol != NULL ? o->protocol : "sftp,ftpes,ftp", order, &n,
	    msg, sizeof(msg));
	if (rc < 0) {
		fprintf(stderr, "ftpfs: %s\n", msg);
		return rc;
	}
	rc = probe_choose(u->host, u->port_given ? u->port : 0, order, n,
	    (int)o->connect_timeout * 1000, &u->scheme, &port, why,
	    sizeof(why));
	if (rc < 0) {
		char cm[256];

		net_connect_msg(rc, u->host, 0, cm, sizeof(cm));
		fprintf(stderr, "ftpfs: auto://%s: %s (%s)\n", u->host,
		    rc == -EADDRNOTAVAIL || rc == -EAGAIN ? cm
		        : rc == -EPROTONOSUPPORT
		        ? "no protocol of -o protocol answers"
		        : strerror(-rc),
		    why);
		return rc;
	}
	u->port = port;
	u->port_given = true;
	if (u->scheme == URL_SFTP) {
		char *p = NULL;

		if (u->path_absolute)
			p = strdup(u->path);
		else if (asprintf(&p, "/~%s",
		             strcmp(u->path, "/") == 0 ? "" : u->path) < 0)
			p = NULL;
		if (p == NULL) {
			fprintf(stderr, "ftpfs: out of memory\n");
			return -ENOMEM;
		}
		free(u->path);
		u->path = p;
		u->path_absolute = false;
	}
	fprintf(stderr, "ftpfs: auto://%s: %s://%s:%u/ (%s)\n", u->host,
	    url_scheme_name(u->scheme), u->host, u->port, why);
	return 0;
}

/*
 * FUSE interrupts (fs_init sets libfuse's intr): when the process behind
 * a request gets a signal (Ctrl-C), the kernel says so, libfuse sends the
 * worker thread SIGUSR1, and the wait it is in returns EINTR
 * (net_op_interrupted), so the request ends at once instead of at its
 * deadline.  libfuse 3.14 has no option that installs the handler: this
 * one does nothing but interrupt (no SA_RESTART).
 */
static void
main_on_intr(int sig)
{
	(void)sig;
}

static void
main_intr_signal(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = main_on_intr;
	sigemptyset(&sa.sa_mask);
	(void)sigaction(SIGUSR1, &sa, NULL);
}

/*
 * glibc's malloc, tuned for READ replies: each is a fresh buffer of up to
 * 1 MiB (libfuse frees it after the reply) unless it is spliced.  With the
 * defaults such buffers were mmap'd, or carved from a heap top that free()
 * then trimmed, so every READ faulted its pages in again: 22 % of the
 * daemon's CPU on an SFTP download (7.4 -> 5.8 CPU-s/GiB with these
 * settings).  Fixed thresholds also stop glibc's dynamic adjustment; the
 * price is up to M_TRIM_THRESHOLD of freed memory kept per arena, at the
 * top of its heap, where malloc_trim (memtrim.c) does not reach in any
 * arena but the main one.  64 MiB there let an SFTP mount under test_chaos
 * sit at 49-55 MB of RSS (23.6 MB in use); 4 MiB: 37-44 MB, for 10 % more
 * CPU per byte read than 64 MiB (4.0 -> 4.4 CPU-s/GiB over SFTP on
 * loopback, still far from the defaults' 7.4).
 */
static void
main_tune_malloc(void)
{
#if defined(M_MMAP_THRESHOLD) && defined(M_TRIM_THRESHOLD)
	(void)mallopt(M_MMAP_THRESHOLD, 4 * 1024 * 1024);
	(void)mallopt(M_TRIM_THRESHOLD, 4 * 1024 * 1024);
#endif
#ifdef M_ARENA_MAX
	/*
	 * glibc gives each busy thread an arena of its own (up to 8 per
	 * core), and each keeps the 1 MiB read buffers it freed: with the
	 * FUSE threads and the read-ahead workers that was 65 MB of RSS after
	 * a few minutes of SFTP traffic (test_chaos).  Four arenas keep it
	 * bounded; the threads mostly wait on the network, not on malloc.
	 */
	(void)mallopt(M_ARENA_MAX, 4);
#endif
}

int
main(int argc, char *argv[])
{
	struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
	struct options o = {
		.connections = 8,
		.cache_timeout = 20,
		.connect_timeout = 10,
		.timeout = 30,
		.log_level = -1,
	};
	struct creds_request req = { 0 };
	struct creds cr = { 0 };
	struct url u = { 0 };
	struct fs_ctx ctx;
	struct fuse *fuse = NULL;
	char *url_copy = NULL, *mnt = NULL;
	char msg[512] = "";
	int status = 1, status_fd = -1, rc;
	bool probed;

	/* Sockets and the status pipe report EPIPE instead of killing us. */
	signal(SIGPIPE, SIG_IGN);
	main_intr_signal();
	main_tune_malloc();
	/* The backends' libraries, before any thread exists */
	if (backend_global_init(msg, sizeof(msg)) < 0) {
		fprintf(stderr, "ftpfs: %s\n", msg);
		return 1;
	}
	if (fs_ctx_init(&ctx) < 0) {
		fprintf(stderr, "ftpfs: out of memory\n");
		return 1;
	}
	if (fuse_opt_parse(&args, &o, main_opts, main_opt_proc) < 0)
		goto out;
	if (o.help) {
		main_usage(argv[0]);
		main_fuse_help(&args); /* mount options included */
		status = 0;
		goto out;
	}
	if (o.version) {
		printf("ftpfs version %s\n", FTPFS_VERSION);
		printf("FUSE library version %s\n", fuse_pkgversion());
		backend_print_versions();
		fflush(stdout); /* fusermount3 --version runs next */
		fuse_lowlevel_version();
		status = 0;
		goto out;
	}
	if (o.url_arg == NULL || o.mountpoint == NULL) {
		fprintf(stderr,
		    "ftpfs: missing %s\nusage: %s "
		    "ftp://[user[:password]@]host[:port][/path] MOUNTPOINT "
		    "[options]\n(%s --help lists the options)\n",
		    o.url_arg == NULL ? "URL" : "mountpoint", argv[0], argv[0]);
		goto out;
	}

	url_copy = strdup(o.url_arg);
	if (url_copy == NULL) {
		fprintf(stderr, "ftpfs: out of memory\n");
		goto out;
	}
	main_scrub_argv(argc, argv, o.url_arg, url_copy);
	rc = url_parse(url_copy, strlen(url_copy), &u);
	explicit_bzero(url_copy, strlen(url_copy));
	if (rc < 0) {
		/* o.url_arg was scrubbed above: no password in the message. */
		main_bad_source(o.url_arg);
		goto out;
	}
	main_sshfs_port_hint(&u);
	probed = u.scheme == URL_AUTO;
	if (probed && main_probe(&o, &u) < 0)
		goto out;
	if (!probed && o.protocol != NULL)
		fprintf(stderr,
		    "ftpfs: warning: -o protocol is for auto:// URLs; %s:// "
		    "is used as written\n",
		    url_scheme_name(u.scheme));
	if (backend_supported(&u, msg, sizeof(msg)) < 0) {
		fprintf(stderr, "ftpfs: %s\n", msg);
		goto out;
	}
	mnt = main_check_mountpoint(o.mountpoint);
	if (mnt == NULL)
		goto out;

	/* -d traces whatever log_level says */
	log_init(o.debug           ? LOG_LVL_TRACE
	        : o.log_level >= 0 ? (enum log_level)o.log_level
	                           : LOG_LVL_WARN,
	    false);
	/* ~/.ssh/config and the like: host, port and user for what follows */
	if (backend_prepare(
	        &u, o.extra, &o.nextra, MAIN_MAX_EXTRA, msg, sizeof(msg)) < 0) {
		fprintf(stderr, "ftpfs: %s\n", msg);
		goto out;
	}
	ctx.cache_timeout = o.cache_timeout;
	ctx.kernel_timeouts = o.kernel_timeouts;
	ctx.kernel_cache_mode = o.kernel_cache_mode;
	ctx.remote_ids = o.remote_ids;
	ctx.strict_times = o.strict_times != 0;
	ctx.op_timeout_ms = (int)o.timeout * 1000;
	if (o.spool_dir != NULL) {
		free(ctx.spool_dir);
		ctx.spool_dir = o.spool_dir;
		o.spool_dir = NULL;
		rc = spool_dir_check(ctx.spool_dir);
		if (rc < 0) {
			fprintf(stderr,
			    "ftpfs: -o spool_dir=%s: %s (local copies of files "
			    "rewritten in place go there: it must be a "
			    "directory we can write, or one we can create)\n",
			    ctx.spool_dir, strerror(-rc));
			goto out;
		}
	} else if ((rc = spool_dir_check(ctx.spool_dir)) < 0) {
		log_warn("spool directory %s: %s: writes into the middle of "
		         "files will fail (-o spool_dir=DIR)",
		    ctx.spool_dir, strerror(-rc));
	}
	if (main_add_fsname(&args, &o, &u) < 0) {
		fprintf(stderr, "ftpfs: out of memory\n");
		goto out;
	}
	/* Before any prompt: libfuse rejects options nobody knows here. */
	fuse = fuse_new(
	    &args, fs_operations(), sizeof(struct fuse_operations), &ctx);
	if (fuse == NULL) {
		/* libfuse said which option it did not like. */
		fprintf(stderr,
		    "ftpfs: cannot set up FUSE (%s --help lists "
		    "the options)\n",
		    argv[0]);
		goto out;
	}

	req.host = u.host;
	req.url_user = u.user != NULL ? u.user : backend_default_user(&u);
	req.url_password = u.password;
	req.password_stdin = o.password_stdin != 0;
	req.netrc_path = o.netrc_path;
	req.credentials_path = o.credentials_path;
	req.password_optional = backend_password_optional(&u);
	if (creds_resolve(&req, &cr, msg, sizeof(msg)) < 0) {
		fprintf(stderr, "ftpfs: %s\n", msg);
		goto out;
	}
	if (probed && u.scheme == URL_FTP && !creds_is_anonymous(cr.user))
		fprintf(stderr,
		    "ftpfs: warning: ftp:// sends the password of %s to %s "
		    "in clear text\n",
		    cr.user, u.host);

	if (!o.foreground) {
		rc = main_fork(&status_fd);
		if (rc >= 0) {
			status =
			    rc; /* the parent: the child said how it went */
			goto out;
		}
	}
	status = main_serve(&o, &u, &cr, fuse, &ctx, mnt, status_fd);
	fuse = NULL; /* destroyed by main_serve */
out:
	if (fuse != NULL)
		fuse_destroy(fuse);
	creds_free(&cr);
	url_free(&u);
	free(url_copy);
	free(mnt);
	free(o.netrc_path);
	free(o.credentials_path);
	free(o.protocol);
	free(o.spool_dir);
	for (size_t i = 0; i < o.nextra; i++)
		free(o.extra[i]);
	fuse_opt_free_args(&args);
	fs_ctx_fini(&ctx);
	backend_global_exit();
	return status;
}
