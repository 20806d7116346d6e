/* SPDX-License-Identifier: GPL-2.0-or-later */
/* creds: login user, password and account (contract in include/creds.h). */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "credfile.h"
#include "creds.h"
#include "log.h"
#include "netrc.h"
#include "secret.h"
#include "url.h"

#define CREDS_LINE_MAX 1024 /* longest password line accepted */
#define CREDS_ANON_PASSWORD "ftpfs@"

/*
 * Set by the handler while the prompt runs with echo off, so the terminal
 * is restored before we give up.  The only way a handler can say anything.
 */
static volatile sig_atomic_t creds_signo;

static const int creds_prompt_signals[] = {
	SIGINT,
	SIGTERM,
	SIGHUP,
	SIGQUIT,
	SIGTSTP,
};
#define CREDS_NSIG (sizeof(creds_prompt_signals) / sizeof(int))

static void
creds_on_signal(int sig)
{
	creds_signo = sig;
}

void
creds_free(struct creds *c)
{
	if (c == NULL)
		return;
	secret_free(c->user);
	secret_free(c->password);
	secret_free(c->account);
	memset(c, 0, sizeof(*c));
}

bool
creds_is_anonymous(const char *user)
{
	return strcasecmp(user, "anonymous") == 0 ||
	    strcasecmp(user, "ftp") == 0;
}

bool
creds_scrub_url(char *s)
{
	size_t len = strlen(s), off, n;

	if (!url_password_span(s, len, &off, &n) || n == 0 || off + n > len)
		return false;
	/* "user:secret@" becomes "user@", not "user:@". */
	if (off > 0 && s[off - 1] == ':') {
		off--;
		n++;
	}
	memmove(s + off, s + off + n, len - off - n);
	memset(s + len - n, 0, n);
	return true;
}

char *
creds_default_netrc(void)
{
	const char *home = getenv("HOME");
	struct passwd *pw;
	char *path;

	if (home == NULL || home[0] == '\0') {
		pw = getpwuid(getuid());
		if (pw == NULL || pw->pw_dir == NULL)
			return NULL;
		home = pw->pw_dir;
	}
	if (asprintf(&path, "%s/.netrc", home) < 0)
		return NULL;
	return path;
}

/*
 * One line from fd, byte by byte so nothing past the newline is consumed.
 * A trailing "\r\n" or "\n" is dropped.
 */
static int
creds_read_line(int fd, char **out)
{
	char line[CREDS_LINE_MAX + 1];
	size_t len = 0;
	ssize_t n;
	char c = 0;
	int rc = 0;

	for (;;) {
		n = read(fd, &c, 1);
		if (n < 0) {
			if (errno == EINTR && creds_signo == 0)
				continue;
			rc = -errno;
			goto out;
		}
		if (n == 0) {
			if (len == 0)
				rc = -ENODATA;
			break;
		}
		if (c == '\n')
			break;
		if (len == CREDS_LINE_MAX) {
			rc = -EMSGSIZE;
			goto out;
		}
		line[len++] = c;
	}
	if (rc < 0)
		goto out;
	if (len > 0 && line[len - 1] == '\r')
		len--;
	line[len] = '\0';
	*out = strdup(line);
	if (*out == NULL)
		rc = -ENOMEM;
out:
	explicit_bzero(line, sizeof(line));
	explicit_bzero(&c, sizeof(c));
	return rc;
}

/* Ask on the terminal with echo off; the newline is still echoed. */
static int
creds_prompt(const char *user, const char *host, char **out)
{
	struct sigaction sa, old[CREDS_NSIG];
	struct termios saved, quiet;
	char prompt[512];
	size_t i;
	int fd, n, rc;

	fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (tcgetattr(fd, &saved) < 0) {
		rc = -errno;
		goto out_close;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = creds_on_signal; /* no SA_RESTART: read() returns */
	sigemptyset(&sa.sa_mask);
	creds_signo = 0;
	for (i = 0; i < CREDS_NSIG; i++)
		sigaction(creds_prompt_signals[i], &sa, &old[i]);

	quiet = saved;
	quiet.c_lflag &= ~(tcflag_t)ECHO;
	quiet.c_lflag |= ECHONL;
	if (tcsetattr(fd, TCSAFLUSH, &quiet) < 0) {
		rc = -errno;
		goto out_signals;
	}
	n = snprintf(
	    prompt, sizeof(prompt), "Password for %s@%s: ", user, host);
	if (n > 0 && write(fd, prompt, strlen(prompt)) < 0) {
		rc = -errno;
		goto out_restore;
	}
	rc = creds_read_line(fd, out);
out_restore:
	tcsetattr(fd, TCSAFLUSH, &saved);
out_signals:
	for (i = 0; i < CREDS_NSIG; i++)
		sigaction(creds_prompt_signals[i], &old[i], NULL);
	if (creds_signo != 0) {
		if (rc == 0) {
			secret_free(*out);
			*out = NULL;
		}
		rc = -EINTR;
		/* The user's ^C left the cursor after the prompt. */
		if (write(fd, "\n", 1) < 0)
			log_debug("tty: %s", strerror(errno));
	}
out_close:
	close(fd);
	return rc;
}

#define CREDS_FILE_MAX (64 * 1024)

/*
 * -o credentials=FILE: read and parse it.  Like ssh with its keys, a file
 * others may read or write is refused: it holds a password in clear.
 */
static int
creds_file(const char *path, struct credfile *cf, char *msg, size_t msglen)
{
	char *text = NULL;
	struct stat st;
	size_t len = 0;
	unsigned line = 0;
	ssize_t n;
	int fd, rc = 0;

	/* O_NONBLOCK: a FIFO named here must not hang the mount */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0 || fstat(fd, &st) < 0) {
		rc = -errno;
		snprintf(msg, msglen, "credentials file %s: %s", path,
		    strerror(-rc));
		goto out;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > CREDS_FILE_MAX) {
		rc = -EINVAL;
		snprintf(msg, msglen,
		    "credentials file %s: not a regular file of at most %d "
		    "bytes",
		    path, CREDS_FILE_MAX);
		goto out;
	}
	if (st.st_uid != geteuid() && st.st_uid != 0) {
		rc = -EACCES;
		snprintf(msg, msglen,
		    "credentials file %s belongs to another user (uid %u): "
		    "refused; it must be yours or root's",
		    path, (unsigned)st.st_uid);
		goto out;
	}
	if (st.st_mode & (S_IRWXG | S_IRWXO)) {
		rc = -EACCES;
		snprintf(msg, msglen,
		    "credentials file %s may be read or changed by others "
		    "(mode %04o): refused; chmod 600 %s",
		    path, (unsigned)(st.st_mode & 07777), path);
		goto out;
	}
	text = malloc((size_t)st.st_size + 1);
	if (text == NULL) {
		rc = -ENOMEM;
		snprintf(msg, msglen, "out of memory");
		goto out;
	}
	while (len < (size_t)st.st_size) {
		n = read(fd, text + len, (size_t)st.st_size - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = -errno;
			snprintf(msg, msglen, "credentials file %s: %s", path,
			    strerror(-rc));
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	rc = credfile_parse(text, len, cf, &line);
	if (rc == -EINVAL)
		snprintf(msg, msglen,
		    "credentials file %s, line %u: expected username=, "
		    "password= or account= (each once)",
		    path, line);
	else if (rc < 0)
		snprintf(msg, msglen, "out of memory");
out:
	if (text != NULL) {
		explicit_bzero(text, len);
		free(text);
	}
	if (fd >= 0)
		close(fd);
	return rc;
}

static int
creds_netrc(const struct creds_request *req, const char *user,
    struct netrc_entry *ne, char *msg, size_t msglen)
{
	struct stat st;
	int rc;

	/* Asked for explicitly, so a missing file is an error. */
	if (access(req->netrc_path, R_OK) < 0) {
		rc = -errno;
		snprintf(msg, msglen, "netrc file %s: %s", req->netrc_path,
		    strerror(-rc));
		return rc;
	}
	rc = netrc_lookup_file(req->netrc_path, req->host, user, ne);
	if (rc == -ENOENT) {
		/* go on without, but say so: a typo here is a silent
		   anonymous login otherwise */
		log_warn("netrc file %s has no entry for %s%s%s",
		    req->netrc_path, user != NULL ? user : "",
		    user != NULL ? " at " : "", req->host);
		return 0;
	}
	if (rc == 0 && ne->password != NULL &&
	    stat(req->netrc_path, &st) == 0 &&
	    (st.st_mode & (S_IRWXG | S_IRWXO)))
		log_warn("netrc file %s holds a password and may be read by "
		         "others (mode %04o): chmod 600 %s",
		    req->netrc_path, (unsigned)(st.st_mode & 07777),
		    req->netrc_path);
	if (rc == -EINVAL)
		snprintf(msg, msglen, "netrc file %s: syntax error",
		    req->netrc_path);
	else if (rc < 0)
		snprintf(msg, msglen, "netrc file %s: %s", req->netrc_path,
		    strerror(-rc));
	return rc;
}

int
creds_resolve(const struct creds_request *req, struct creds *out, char *msg,
    size_t msglen)
{
	struct netrc_entry ne = { 0 };
	struct credfile cf = { 0 };
	const char *user;
	bool anon;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	if (req->credentials_path != NULL) {
		rc = creds_file(req->credentials_path, &cf, msg, msglen);
		if (rc < 0)
			goto out;
	}
	if (req->netrc_path != NULL) {
		rc = creds_netrc(req,
		    req->url_user != NULL ? req->url_user : cf.user, &ne, msg,
		    msglen);
		if (rc < 0)
			goto out;
	}

	if (req->url_user != NULL)
		user = req->url_user;
	else if (cf.user != NULL)
		user = cf.user;
	else if (ne.login != NULL)
		user = ne.login;
	else
		user = "anonymous";
	anon = creds_is_anonymous(user);
	out->user = strdup(user);
	if (out->user == NULL) {
		rc = -ENOMEM;
		goto nomem;
	}
	if (cf.account != NULL || ne.account != NULL) {
		out->account =
		    strdup(cf.account != NULL ? cf.account : ne.account);
		if (out->account == NULL) {
			rc = -ENOMEM;
			goto nomem;
		}
	}

	if (req->url_password != NULL) {
		out->password = strdup(req->url_password);
	} else if (cf.password != NULL) {
		out->password = strdup(cf.password);
	} else if (req->password_stdin) {
		rc = creds_read_line(STDIN_FILENO, &out->password);
		if (rc == -ENODATA)
			snprintf(msg, msglen,
			    "password_stdin: nothing on standard input");
		else if (rc == -EMSGSIZE)
			snprintf(msg, msglen,
			    "password_stdin: line longer than %d bytes",
			    CREDS_LINE_MAX);
		else if (rc < 0)
			snprintf(msg, msglen,
			    "password_stdin: reading standard input: %s",
			    strerror(-rc));
		if (rc < 0)
			goto out;
	} else if (ne.password != NULL) {
		out->password = strdup(ne.password);
	} else if (!anon && isatty(STDIN_FILENO)) {
		rc = creds_prompt(out->user, req->host, &out->password);
		if (rc == -EINTR)
			snprintf(msg, msglen, "password prompt interrupted");
		else if (rc == -ENODATA)
			snprintf(msg, msglen, "no password entered");
		else if (rc == -EMSGSIZE)
			snprintf(msg, msglen, "password longer than %d bytes",
			    CREDS_LINE_MAX);
		else if (rc < 0)
			snprintf(msg, msglen, "cannot ask for a password: %s",
			    strerror(-rc));
		if (rc < 0)
			goto out;
	} else if (anon || req->password_optional) {
		out->password = strdup(anon ? CREDS_ANON_PASSWORD : "");
	} else {
		snprintf(msg, msglen,
		    "no password for %s at %s: give it with -o password_stdin, "
		    "-o credentials=FILE or -o netrc, or run ftpfs on a "
		    "terminal to be asked",
		    out->user, req->host);
		rc = -ENOKEY;
		goto out;
	}
	if (out->password == NULL) {
		rc = -ENOMEM;
		goto nomem;
	}
	goto out;

nomem:
	snprintf(msg, msglen, "out of memory");
out:
	netrc_entry_free(&ne);
	credfile_free(&cf);
	if (rc < 0)
		creds_free(out);
	return rc;
}
