/* SPDX-License-Identifier: GPL-2.0-or-later */
/* url: mount source parser (contract in include/url.h). */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "secret.h"
#include "url.h"

static const struct {
	const char *name;
	enum url_scheme scheme;
	unsigned port;
} schemes[] = {
	{ "ftp", URL_FTP, 21 },
	{ "ftps", URL_FTPS, 990 },
	{ "ftpes", URL_FTPES, 21 },
	{ "sftp", URL_SFTP, 22 },
	{ "auto", URL_AUTO, 0 },
};

#define NSCHEMES (sizeof(schemes) / sizeof(schemes[0]))

/* The pieces of a URL as byte ranges of the original text. */
struct url_split {
	size_t scheme_len;
	size_t auth, auth_end; /* authority; auth_end at '/' or len */
	/* The last '@' in the authority and the first ':' before it. */
	size_t at, colon; /* SIZE_MAX when absent */
};

static bool
url_split(const char *s, size_t len, struct url_split *sp)
{
	const char *p;
	size_t i;

	p = len >= 3 ? memchr(s, ':', len - 2) : NULL;
	if (p == NULL || p == s || p[1] != '/' || p[2] != '/')
		return false;
	sp->scheme_len = (size_t)(p - s);
	sp->auth = sp->scheme_len + 3;
	p = memchr(s + sp->auth, '/', len - sp->auth);
	sp->auth_end = p != NULL ? (size_t)(p - s) : len;
	sp->at = SIZE_MAX;
	sp->colon = SIZE_MAX;
	/* The last '@': a user or password may hold an unencoded one. */
	for (i = sp->auth_end; i > sp->auth; i--) {
		if (s[i - 1] == '@') {
			sp->at = i - 1;
			break;
		}
	}
	if (sp->at == SIZE_MAX)
		return true;
	p = memchr(s + sp->auth, ':', sp->at - sp->auth);
	if (p != NULL)
		sp->colon = (size_t)(p - s);
	return true;
}

static int
hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * Percent-decode s[0..n) into a new string.  CR, LF and NUL (raw or
 * encoded) are refused: they would end an FTP command line.
 */
static int
decode(const char *s, size_t n, char **out)
{
	char *p;
	size_t i, k = 0;
	int hi, lo;
	char c;

	*out = NULL;
	p = malloc(n + 1);
	if (p == NULL)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		c = s[i];
		if (c == '%') {
			if (n - i < 3)
				goto bad;
			hi = hex_value(s[i + 1]);
			lo = hex_value(s[i + 2]);
			if (hi < 0 || lo < 0)
				goto bad;
			c = (char)(hi * 16 + lo);
			i += 2;
		}
		if (c == '\0' || c == '\r' || c == '\n')
			goto bad;
		p[k++] = c;
	}
	p[k] = '\0';
	*out = p;
	return 0;
bad:
	explicit_bzero(p, n + 1);
	free(p);
	return -EINVAL;
}

static bool
is_alnum(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
	    (c >= 'A' && c <= 'Z');
}

static bool
host_char(char c)
{
	return is_alnum(c) || c == '-' || c == '.' || c == '_';
}

/* "[v6]" contents: hex, ':' and '.' then an optional "%25zone". */
static int
ipv6_host(const char *s, size_t n, char **out)
{
	size_t i, k;
	bool colon = false;
	char *p;

	for (i = 0; i < n && s[i] != '%'; i++) {
		if (s[i] == ':')
			colon = true;
		else if (hex_value(s[i]) < 0 && s[i] != '.')
			return -EINVAL;
	}
	if (!colon)
		return -EINVAL;
	if (i < n) {
		/* RFC 6874: the '%' of a zone id is written "%25". */
		if (n - i < 4 || s[i + 1] != '2' || s[i + 2] != '5')
			return -EINVAL;
		for (k = i + 3; k < n; k++) {
			if (!host_char(s[k]))
				return -EINVAL;
		}
	}
	p = malloc(n + 1);
	if (p == NULL)
		return -ENOMEM;
	memcpy(p, s, i);
	k = i;
	if (i < n) {
		p[k++] = '%';
		memcpy(p + k, s + i + 3, n - i - 3);
		k += n - i - 3;
	}
	p[k] = '\0';
	*out = p;
	return 0;
}

static int
parse_port(const char *s, size_t n, struct url *u)
{
	unsigned v = 0;
	size_t i;

	if (n == 0)
		return 0; /* "host:" keeps the default, as curl does */
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		v = v * 10 + (unsigned)(s[i] - '0');
		if (v > 65535)
			return -EINVAL;
	}
	if (v == 0)
		return -EINVAL;
	u->port = v;
	u->port_given = true;
	return 0;
}

static int
parse_host(const char *s, size_t n, struct url *u)
{
	const char *colon, *close;
	size_t hn, i;
	char *p;
	int rc;

	if (n > 0 && s[0] == '[') {
		close = memchr(s, ']', n);
		if (close == NULL)
			return -EINVAL;
		hn = (size_t)(close - s);
		rc = ipv6_host(s + 1, hn - 1, &u->host);
		if (rc < 0)
			return rc;
		hn++;
		if (hn == n)
			return 0;
		if (s[hn] != ':')
			return -EINVAL;
		return parse_port(s + hn + 1, n - hn - 1, u);
	}
	colon = memchr(s, ':', n);
	hn = colon != NULL ? (size_t)(colon - s) : n;
	if (hn == 0)
		return -EINVAL;
	for (i = 0; i < hn; i++) {
		if (!host_char(s[i]))
			return -EINVAL;
	}
	if (colon != NULL) {
		rc = parse_port(colon + 1, n - hn - 1, u);
		if (rc < 0)
			return rc;
	}
	p = malloc(hn + 1);
	if (p == NULL)
		return -ENOMEM;
	memcpy(p, s, hn);
	p[hn] = '\0';
	u->host = p;
	return 0;
}

/* Collapse repeated '/', drop trailing ones, keep a leading one. */
static void
normalise_path(char *p)
{
	size_t i, k = 0;

	for (i = 0; p[i] != '\0'; i++) {
		if (p[i] == '/' && k > 0 && p[k - 1] == '/')
			continue;
		p[k++] = p[i];
	}
	while (k > 1 && p[k - 1] == '/')
		k--;
	p[k] = '\0';
}

static int
parse_path(const char *s, size_t n, struct url *u)
{
	char *dec, *p;
	size_t dn;
	int rc;

	/* s[0..n) follows the '/' that ended the authority. */
	u->path_absolute = n > 0 && s[0] == '/';
	if (n >= 3 && s[0] == '%' && s[1] == '2' && (s[2] | 0x20) == 'f')
		u->path_absolute = true;
	rc = decode(s, n, &dec);
	if (rc < 0)
		return rc;
	dn = strlen(dec);
	p = malloc(dn + 2);
	if (p == NULL) {
		free(dec);
		return -ENOMEM;
	}
	p[0] = '/';
	memcpy(p + 1, dec, dn + 1);
	free(dec);
	normalise_path(p);
	u->path = p;
	return 0;
}

/*
 * The sshfs/scp form's path: "" and "~" are the login directory, "~/x"
 * and "x" below it ("/~/x", as an sftp:// URL writes it), "/x" is
 * absolute.  Not percent-decoded; "." components are dropped.
 */
static int
sshfs_path(const char *s, size_t n, struct url *u)
{
	const char *prefix = "/~/";
	size_t i = 0, k, c;
	char *p;

	if (n > 0 && s[0] == '/') {
		prefix = "/";
		u->path_absolute = true;
	} else if (n > 0 && s[0] == '~' && (n == 1 || s[1] == '/')) {
		i = 1;
	}
	p = malloc(strlen(prefix) + n + 2);
	if (p == NULL)
		return -ENOMEM;
	k = strlen(prefix);
	memcpy(p, prefix, k);
	while (i < n) {
		for (c = i; c < n && s[c] != '/'; c++)
			;
		if (!(c - i == 1 && s[i] == '.') && c > i) {
			memcpy(p + k, s + i, c - i);
			k += c - i;
			p[k++] = '/';
		}
		i = c + 1;
	}
	p[k] = '\0';
	normalise_path(p);
	u->path = p;
	return 0;
}

/*
 * [user@]host:[path], as sshfs and scp take it: SFTP, port 22 (the
 * ssh_config's Port or the default: url->port_given stays false).  The
 * separating ':' is the first one outside "[v6]" brackets, so "h:2222"
 * is the directory 2222, not a port (as scp reads it).
 */
static int
parse_sshfs(const char *s, size_t len, struct url *out)
{
	const char *close;
	size_t i, colon = SIZE_MAX, host_start = 0, hn;
	int rc;

	for (i = 0; i < len && colon == SIZE_MAX; i++) {
		if (s[i] == '[') {
			close = memchr(s + i, ']', len - i);
			if (close == NULL)
				return -EINVAL;
			i = (size_t)(close - s);
		} else if (s[i] == ':') {
			colon = i;
		}
	}
	if (colon == SIZE_MAX)
		return -EINVAL;
	for (i = colon; i > 0; i--) {
		if (s[i - 1] == '@') {
			host_start = i;
			break;
		}
	}
	if (host_start == 1)
		return -EINVAL; /* "@host:" */
	/* "ftp:/h", "sftp:h": a URL mistyped, not a host named "sftp" */
	for (i = 0; host_start == 0 && i < NSCHEMES; i++)
		if (strlen(schemes[i].name) == colon &&
		    strncasecmp(s, schemes[i].name, colon) == 0)
			return -EINVAL;
	out->scheme = URL_SFTP;
	out->port = 22;
	out->sshfs_form = true;
	if (host_start > 0) {
		out->user = strndup(s, host_start - 1);
		if (out->user == NULL)
			return -ENOMEM;
	}
	hn = colon - host_start;
	if (hn > 0 && s[host_start] == '[') {
		/* exactly "[v6]" before the colon, no port inside */
		if (hn < 3 || s[colon - 1] != ']')
			return -EINVAL;
		rc = ipv6_host(s + host_start + 1, hn - 2, &out->host);
	} else {
		rc = hn == 0 ? -EINVAL : 0;
		for (i = host_start; rc == 0 && i < colon; i++)
			if (!host_char(s[i]))
				rc = -EINVAL;
		if (rc == 0) {
			out->host = strndup(s + host_start, hn);
			rc = out->host == NULL ? -ENOMEM : 0;
		}
	}
	if (rc == 0)
		rc = sshfs_path(s + colon + 1, len - colon - 1, out);
	return rc;
}

bool
url_has_scheme(const char *s, size_t len)
{
	struct url_split sp;

	return url_split(s, len, &sp);
}

int
url_parse(const char *s, size_t len, struct url *out)
{
	struct url_split sp;
	size_t i, user_end, host_start, n;
	int rc = -EINVAL;

	memset(out, 0, sizeof(*out));
	for (i = 0; i < len; i++) {
		/* Raw controls (incl. NUL) never belong in a mount source. */
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return -EINVAL;
	}
	if (!url_split(s, len, &sp)) {
		rc = parse_sshfs(s, len, out);
		if (rc < 0)
			url_free(out);
		return rc;
	}
	for (i = 0; i < NSCHEMES; i++) {
		if (strlen(schemes[i].name) == sp.scheme_len &&
		    strncasecmp(s, schemes[i].name, sp.scheme_len) == 0)
			break;
	}
	if (i == NSCHEMES)
		return -EINVAL;
	out->scheme = schemes[i].scheme;
	out->port = schemes[i].port;

	host_start = sp.auth;
	if (sp.at != SIZE_MAX) {
		user_end = sp.colon != SIZE_MAX ? sp.colon : sp.at;
		n = user_end - sp.auth;
		if (n > 0) {
			rc = decode(s + sp.auth, n, &out->user);
			if (rc < 0)
				goto out;
		}
		if (sp.colon != SIZE_MAX) {
			rc = decode(s + sp.colon + 1, sp.at - sp.colon - 1,
			    &out->password);
			if (rc < 0)
				goto out;
		}
		host_start = sp.at + 1;
	}
	rc = parse_host(s + host_start, sp.auth_end - host_start, out);
	if (rc < 0)
		goto out;
	if (sp.auth_end < len)
		rc =
		    parse_path(s + sp.auth_end + 1, len - sp.auth_end - 1, out);
	else
		rc = parse_path("", 0, out);
out:
	if (rc < 0)
		url_free(out);
	return rc;
}

void
url_free(struct url *u)
{
	if (u == NULL)
		return;
	secret_free(u->password);
	free(u->user);
	free(u->host);
	free(u->path);
	u->user = NULL;
	u->password = NULL;
	u->host = NULL;
	u->path = NULL;
}

const char *
url_scheme_name(enum url_scheme s)
{
	size_t i;

	for (i = 0; i < NSCHEMES; i++) {
		if (schemes[i].scheme == s)
			return schemes[i].name;
	}
	return "?";
}

bool
url_password_span(const char *s, size_t len, size_t *off, size_t *n)
{
	struct url_split sp;

	if (!url_split(s, len, &sp) || sp.at == SIZE_MAX ||
	    sp.colon == SIZE_MAX)
		return false;
	*off = sp.colon + 1;
	*n = sp.at - sp.colon - 1;
	return true;
}
