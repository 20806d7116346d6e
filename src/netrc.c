/* SPDX-License-Identifier: GPL-2.0-or-later */
/* netrc: ~/.netrc lookup (contract in include/netrc.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "netrc.h"
#include "secret.h"

#define NETRC_FILE_MAX (1024 * 1024)
#define NETRC_TOKEN_MAX 4096

struct lexer {
	const char *s;
	size_t len;
	size_t pos;
	struct buf tok; /* the current token, unquoted */
};

static bool
is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
	    c == '\v';
}

/* The byte for "\\c" in a quoted token, as curl reads it. */
static char
unescape(char c)
{
	switch (c) {
	case 'n':
		return '\n';
	case 'r':
		return '\r';
	case 't':
		return '\t';
	default:
		return c;
	}
}

static void
skip_line(struct lexer *lx)
{
	const char *nl = memchr(lx->s + lx->pos, '\n', lx->len - lx->pos);

	lx->pos = nl != NULL ? (size_t)(nl - lx->s) + 1 : lx->len;
}

/*
 * The next token into lx->tok.  1 when there is one, 0 at the end,
 * -EINVAL for an unterminated quote or a NUL, -EMSGSIZE / -ENOMEM.
 * A '#' at the start of a token comments out the rest of the line.
 */
static int
next_token(struct lexer *lx)
{
	const char *s = lx->s;
	bool quoted, escape = false;
	char c;
	int rc;

	buf_reset(&lx->tok);
	for (;;) {
		while (lx->pos < lx->len && is_space(s[lx->pos]))
			lx->pos++;
		if (lx->pos == lx->len)
			return 0;
		if (s[lx->pos] != '#')
			break;
		skip_line(lx);
	}
	quoted = s[lx->pos] == '"';
	if (quoted)
		lx->pos++;
	for (; lx->pos < lx->len; lx->pos++) {
		c = s[lx->pos];
		if (c == '\0')
			return -EINVAL;
		if (!quoted) {
			if (is_space(c))
				break;
		} else if (escape) {
			escape = false;
			c = unescape(c);
		} else if (c == '\\') {
			escape = true;
			continue;
		} else if (c == '"') {
			quoted = false;
			lx->pos++;
			break;
		} else if (c == '\n') {
			return -EINVAL; /* quotes do not span lines */
		}
		rc = buf_append(&lx->tok, &c, 1);
		if (rc < 0)
			return rc;
	}
	if (quoted)
		return -EINVAL;
	if (lx->tok.data == NULL) {
		/* "" is an empty token, not the end */
		rc = buf_append(&lx->tok, "", 0);
		if (rc < 0)
			return rc;
	}
	return 1;
}

/* macdef NAME, then the body up to an empty line. */
static void
skip_macdef(struct lexer *lx)
{
	const char *s = lx->s;
	bool empty;

	skip_line(lx);
	while (lx->pos < lx->len) {
		empty = s[lx->pos] == '\n';
		if (s[lx->pos] == '\r' && lx->pos + 1 < lx->len)
			empty = s[lx->pos + 1] == '\n';
		skip_line(lx);
		if (empty)
			return;
	}
}

void
netrc_entry_free(struct netrc_entry *e)
{
	if (e == NULL)
		return;
	free(e->login);
	secret_free(e->password);
	secret_free(e->account);
	e->login = NULL;
	e->password = NULL;
	e->account = NULL;
}

enum entry_kind {
	ENTRY_NONE, /* before the first machine/default */
	ENTRY_OTHER, /* a machine for another host */
	ENTRY_MACHINE, /* a machine for our host */
	ENTRY_DEFAULT,
};

/* Does a finished entry satisfy the lookup? */
static bool
entry_fits(const struct netrc_entry *e, const char *user)
{
	return user == NULL || e->login == NULL || strcmp(e->login, user) == 0;
}

int
netrc_lookup(const char *text, size_t len, const char *host, const char *user,
    struct netrc_entry *out)
{
	struct lexer lx = { .s = text, .len = len, .pos = 0 };
	struct netrc_entry cur = { 0 }, dflt = { 0 };
	enum entry_kind kind = ENTRY_NONE;
	bool have_default = false, found = false;
	char **field;
	int rc;

	memset(out, 0, sizeof(*out));
	if (host == NULL)
		return -EINVAL;
	buf_init(&lx.tok, NETRC_TOKEN_MAX);
	/* Allocate once: a realloc would leave copies of secrets behind. */
	rc = buf_reserve(&lx.tok, NETRC_TOKEN_MAX);
	if (rc < 0)
		goto out;
	for (;;) {
		rc = next_token(&lx);
		if (rc < 0)
			goto out;
		if (rc == 0 || strcasecmp(lx.tok.data, "machine") == 0 ||
		    strcasecmp(lx.tok.data, "default") == 0) {
			/* The current entry is complete. */
			if (kind == ENTRY_MACHINE && entry_fits(&cur, user)) {
				found = true;
				break;
			}
			if (kind == ENTRY_DEFAULT && !have_default &&
			    entry_fits(&cur, user)) {
				dflt = cur;
				memset(&cur, 0, sizeof(cur));
				have_default = true;
			}
			netrc_entry_free(&cur);
			if (rc == 0)
				break;
			if (strcasecmp(lx.tok.data, "default") == 0) {
				kind = ENTRY_DEFAULT;
				continue;
			}
			rc = next_token(&lx);
			if (rc <= 0) {
				rc = rc == 0 ? -EINVAL : rc;
				goto out;
			}
			kind = strcasecmp(lx.tok.data, host) == 0
			    ? ENTRY_MACHINE
			    : ENTRY_OTHER;
			continue;
		}
		if (strcasecmp(lx.tok.data, "macdef") == 0) {
			skip_macdef(&lx);
			continue;
		}
		if (strcasecmp(lx.tok.data, "login") == 0)
			field = &cur.login;
		else if (strcasecmp(lx.tok.data, "password") == 0)
			field = &cur.password;
		else if (strcasecmp(lx.tok.data, "account") == 0)
			field = &cur.account;
		else
			continue; /* unknown words (e.g. "port") are ignored */
		rc = next_token(&lx);
		if (rc <= 0) {
			rc = rc == 0 ? -EINVAL : rc;
			goto out;
		}
		if (kind == ENTRY_MACHINE || kind == ENTRY_DEFAULT) {
			secret_free(*field);
			*field = strdup(lx.tok.data);
			if (*field == NULL) {
				rc = -ENOMEM;
				goto out;
			}
		}
	}
	if (found) {
		*out = cur;
		memset(&cur, 0, sizeof(cur));
		rc = 0;
	} else if (have_default) {
		*out = dflt;
		memset(&dflt, 0, sizeof(dflt));
		rc = 0;
	} else {
		rc = -ENOENT;
	}
out:
	netrc_entry_free(&cur);
	netrc_entry_free(&dflt);
	if (lx.tok.data != NULL)
		explicit_bzero(lx.tok.data, lx.tok.cap);
	buf_free(&lx.tok);
	return rc;
}

int
netrc_lookup_file(const char *path, const char *host, const char *user,
    struct netrc_entry *out)
{
	struct buf text;
	struct stat st;
	char chunk[4096];
	ssize_t n;
	int fd, rc;

	memset(out, 0, sizeof(*out));
	buf_init(&text, NETRC_FILE_MAX);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		rc = -errno;
		goto out;
	}
	/* A pipe (--netrc <(gpg -d ...)) is fine: the cap below holds. */
	if (S_ISREG(st.st_mode) && st.st_size > NETRC_FILE_MAX) {
		rc = -EFBIG;
		goto out;
	}
	/* Allocate once when we can: a realloc leaves copies of secrets. */
	rc = buf_reserve(
	    &text, S_ISREG(st.st_mode) ? (size_t)st.st_size : (size_t)4096);
	if (rc < 0)
		goto out;
	for (;;) {
		n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = -errno;
			goto out;
		}
		if (n == 0)
			break;
		rc = buf_append(&text, chunk, (size_t)n);
		if (rc == -EMSGSIZE)
			rc = -EFBIG;
		if (rc < 0)
			goto out;
	}
	rc = netrc_lookup(
	    text.data != NULL ? text.data : "", text.len, host, user, out);
out:
	explicit_bzero(chunk, sizeof(chunk));
	if (text.data != NULL)
		explicit_bzero(text.data, text.cap);
	buf_free(&text);
	close(fd);
	return rc;
}
