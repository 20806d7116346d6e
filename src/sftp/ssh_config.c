/* SPDX-License-Identifier: GPL-2.0-or-later */
/* ssh_config: OpenSSH client configuration (contract in ssh_config.h). */
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "ssh_config.h"

#define ARGS_MAX 256 /* arguments on one line */

void
ssh_config_init(struct ssh_config *c)
{
	memset(c, 0, sizeof(*c));
	c->alive_interval = -1;
}

void
ssh_config_free(struct ssh_config *c)
{
	unsigned i;

	if (c == NULL)
		return;
	free(c->hostname);
	free(c->user);
	for (i = 0; i < c->n_identity; i++)
		free(c->identity[i]);
	free(c->known_hosts);
	free(c->strict);
	free(c->host_key_alias);
	ssh_config_init(c);
}

/* ---- the parser (pure) ---------------------------------------------- */

static char
lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* Glob match, iterative (one backtrack point: linear in practice). */
bool
ssh_config_host_match(const char *host, const char *pattern)
{
	const char *star = NULL, *resume = NULL;

	while (*host != '\0') {
		if (*pattern == '*') {
			star = pattern++;
			resume = host;
		} else if (*pattern != '\0' &&
		    (*pattern == '?' || lower(*pattern) == lower(*host))) {
			pattern++;
			host++;
		} else if (star != NULL) {
			pattern = star + 1;
			host = ++resume;
		} else {
			return false;
		}
	}
	while (*pattern == '*')
		pattern++;
	return *pattern == '\0';
}

static int fail(struct ssh_config_parser *p, int rc, const char *name,
    unsigned line, const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static int
fail(struct ssh_config_parser *p, int rc, const char *name, unsigned line,
    const char *fmt, ...)
{
	char what[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (p->msg != NULL && p->msglen > 0)
		snprintf(p->msg, p->msglen, "%s line %u: %s", name, line, what);
	return rc;
}

static bool
is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v';
}

/*
 * Split b[0..n) (NUL-terminated at n) into its keyword and arguments,
 * unquoting in place.  0 and *nargs (0 for an empty or comment line), or
 * -EINVAL (unterminated quote) / -E2BIG.
 */
static int
split_line(char *b, size_t n, char **kw, char **args, size_t *nargs)
{
	size_t r = 0, w, k;
	char q;

	*nargs = 0;
	*kw = NULL;
	while (r < n && is_space(b[r]))
		r++;
	if (r == n || b[r] == '#')
		return 0;
	*kw = b + r;
	while (r < n && !is_space(b[r]) && b[r] != '=')
		r++;
	k = r;
	while (r < n && is_space(b[r]))
		r++;
	if (r < n && b[r] == '=')
		r++;
	b[k] = '\0';
	for (;;) {
		while (r < n && is_space(b[r]))
			r++;
		if (r == n || b[r] == '#')
			return 0;
		if (*nargs == ARGS_MAX)
			return -E2BIG;
		w = r;
		args[(*nargs)++] = b + w;
		q = '\0';
		while (r < n && (q != '\0' || !is_space(b[r]))) {
			if (q == '\0' && (b[r] == '"' || b[r] == '\'')) {
				q = b[r++];
			} else if (q != '\0' && b[r] == q) {
				q = '\0';
				r++;
			} else if (b[r] == '\\' && r + 1 < n &&
			    (b[r + 1] == '\\' || b[r + 1] == '"' ||
			        b[r + 1] == '\'' || b[r + 1] == ' ')) {
				b[w++] = b[r + 1];
				r += 2;
			} else {
				b[w++] = b[r++];
			}
		}
		if (q != '\0')
			return -EINVAL;
		/* r > w or r == n: the terminator never overwrites input
		   not read yet (b has room for b[n]) */
		if (r < n)
			r++;
		b[w] = '\0';
	}
}

/* The first value wins: set *dst unless it is set. */
static int
keep_first(char **dst, const char *v)
{
	if (*dst != NULL)
		return 0;
	*dst = strdup(v);
	return *dst == NULL ? -ENOMEM : 0;
}

static bool
parse_port(const char *s, unsigned *out)
{
	unsigned long v = 0;

	if (*s == '\0')
		return false;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return false;
		v = v * 10 + (unsigned long)(*s - '0');
		if (v > 65535)
			return false;
	}
	if (v == 0)
		return false;
	*out = (unsigned)v;
	return true;
}

/* OpenSSH's time format for one unit: N, Ns, Nm, Nh. */
static bool
parse_seconds(const char *s, int *out)
{
	long v = 0, mult = 1;

	if (*s < '0' || *s > '9')
		return false;
	for (; *s >= '0' && *s <= '9'; s++) {
		v = v * 10 + (*s - '0');
		if (v > 86400)
			return false;
	}
	if (*s != '\0') {
		if (lower(*s) == 's')
			mult = 1;
		else if (lower(*s) == 'm')
			mult = 60;
		else if (lower(*s) == 'h')
			mult = 3600;
		else
			return false;
		if (s[1] != '\0')
			return false;
	}
	if (v * mult > 86400)
		return false;
	*out = (int)(v * mult);
	return true;
}

/* Does a Host line's pattern list apply to host? */
static bool
host_applies(const char *host, char **pats, size_t n)
{
	bool yes = false;
	size_t i;

	for (i = 0; i < n; i++) {
		if (pats[i][0] == '!') {
			if (ssh_config_host_match(host, pats[i] + 1))
				return false; /* a negation vetoes the line */
		} else if (ssh_config_host_match(host, pats[i])) {
			yes = true;
		}
	}
	return yes;
}

/* One keyword line (args[0..n)), while the block applies or not. */
static int
apply(struct ssh_config_parser *p, const char *kw, char **args, size_t n,
    bool active, const char *name, unsigned line, int depth)
{
	struct ssh_config *c = p->out;
	unsigned port;
	int secs, rc = 0;
	size_t i;

	if (strcasecmp(kw, "Include") == 0) {
		if (n == 0)
			return fail(p, -EINVAL, name, line,
			    "Include needs a file name");
		for (i = 0; active && p->include != NULL && i < n; i++) {
			rc = p->include(p, args[i], depth);
			if (rc < 0)
				return rc;
		}
		return 0;
	}
	if (strcasecmp(kw, "Port") == 0) {
		if (n == 0 || !parse_port(args[0], &port))
			return fail(p, -EINVAL, name, line,
			    "Port: a number from 1 to 65535, not \"%s\"",
			    n > 0 ? args[0] : "");
		if (active && c->port == 0)
			c->port = port;
		return 0;
	}
	if (strcasecmp(kw, "ServerAliveInterval") == 0) {
		if (n == 0 || !parse_seconds(args[0], &secs))
			return fail(p, -EINVAL, name, line,
			    "ServerAliveInterval: seconds, not \"%s\"",
			    n > 0 ? args[0] : "");
		if (active && c->alive_interval < 0)
			c->alive_interval = secs;
		return 0;
	}
	if (strcasecmp(kw, "HostName") != 0 && strcasecmp(kw, "User") != 0 &&
	    strcasecmp(kw, "IdentityFile") != 0 &&
	    strcasecmp(kw, "UserKnownHostsFile") != 0 &&
	    strcasecmp(kw, "StrictHostKeyChecking") != 0 &&
	    strcasecmp(kw, "HostKeyAlias") != 0)
		return 0; /* not ours: ssh's business */
	if (n == 0 || args[0][0] == '\0')
		return fail(p, -EINVAL, name, line, "%s needs a value", kw);
	if (!active)
		return 0;
	if (strcasecmp(kw, "HostName") == 0)
		rc = keep_first(&c->hostname, args[0]);
	else if (strcasecmp(kw, "User") == 0)
		rc = keep_first(&c->user, args[0]);
	else if (strcasecmp(kw, "UserKnownHostsFile") == 0)
		rc = keep_first(&c->known_hosts, args[0]);
	else if (strcasecmp(kw, "StrictHostKeyChecking") == 0)
		rc = keep_first(&c->strict, args[0]);
	else if (strcasecmp(kw, "HostKeyAlias") == 0)
		rc = keep_first(&c->host_key_alias, args[0]);
	else if (strcasecmp(args[0], "none") == 0)
		rc = 0; /* IdentityFile none: no file */
	else if (c->n_identity == SSH_CONFIG_MAX_IDENTITIES)
		log_debug("%s line %u: more than %d IdentityFiles, \"%s\" "
		          "ignored",
		    name, line, SSH_CONFIG_MAX_IDENTITIES, args[0]);
	else if ((c->identity[c->n_identity] = strdup(args[0])) == NULL)
		rc = -ENOMEM;
	else
		c->n_identity++;
	return rc;
}

int
ssh_config_parse(struct ssh_config_parser *p, const char *text, size_t len,
    const char *name, int depth)
{
	char *b = NULL, *kw, **args = NULL;
	const char *nl;
	bool active = true;
	size_t pos = 0, n, nargs;
	unsigned line = 0;
	int rc = 0;

	if (depth > SSH_CONFIG_MAX_DEPTH)
		return fail(p, -ELOOP, name, 0, "Includes nested too deeply");
	args = calloc(ARGS_MAX, sizeof(*args));
	if (args == NULL)
		return -ENOMEM;
	while (pos < len && rc == 0) {
		line++;
		nl = memchr(text + pos, '\n', len - pos);
		n = nl != NULL ? (size_t)(nl - text) - pos : len - pos;
		if (memchr(text + pos, '\0', n) != NULL) {
			rc = fail(p, -EINVAL, name, line, "a NUL byte");
			break;
		}
		free(b);
		b = malloc(n + 1);
		if (b == NULL) {
			rc = -ENOMEM;
			break;
		}
		memcpy(b, text + pos, n);
		b[n] = '\0';
		pos += n + 1;
		rc = split_line(b, n, &kw, args, &nargs);
		if (rc < 0) {
			rc = fail(p, rc, name, line,
			    rc == -E2BIG ? "too many arguments"
			                 : "unterminated quote");
			break;
		}
		if (kw == NULL || kw[0] == '\0')
			continue;
		if (strcasecmp(kw, "Host") == 0) {
			if (nargs == 0)
				rc = fail(p, -EINVAL, name, line,
				    "Host needs a pattern");
			active = host_applies(p->host, args, nargs);
		} else if (strcasecmp(kw, "Match") == 0) {
			log_debug("%s line %u: Match blocks are not supported; "
			          "skipping this one",
			    name, line);
			active = false;
		} else {
			rc = apply(
			    p, kw, args, nargs, active, name, line, depth);
		}
	}
	free(b);
	free(args);
	return rc;
}

struct sbuf {
	char *p;
	size_t len, cap;
};

static int
sbuf_put(struct sbuf *b, const char *v, size_t n)
{
	char *np;

	if (b->len + n + 1 > b->cap) {
		b->cap = (b->len + n + 1) * 2;
		np = realloc(b->p, b->cap);
		if (np == NULL)
			return -ENOMEM;
		b->p = np;
	}
	memcpy(b->p + b->len, v, n);
	b->len += n;
	b->p[b->len] = '\0';
	return 0;
}

/* The value of %c, NULL when unknown or missing. */
static const char *
token_value(char c, const struct ssh_config_env *env, char *port, size_t size)
{
	switch (c) {
	case '%':
		return "%";
	case 'd':
		return env->home;
	case 'u':
		return env->local_user;
	case 'h':
		return env->host;
	case 'r':
		return env->remote_user;
	case 'p':
		if (env->port == 0 || env->port > 65535)
			return NULL;
		snprintf(port, size, "%u", env->port);
		return port;
	default:
		return NULL;
	}
}

int
ssh_config_expand(const char *in, const struct ssh_config_env *env,
    const char *tokens, char **out)
{
	struct sbuf b = { NULL, 0, 0 };
	const char *v;
	char port[8];
	int rc = sbuf_put(&b, "", 0);

	*out = NULL;
	if (rc == 0 && in[0] == '~') {
		/* "~user" would need the password database: not here */
		if ((in[1] != '\0' && in[1] != '/') || env->home == NULL)
			rc = -EINVAL;
		else
			rc = sbuf_put(&b, env->home, strlen(env->home));
		in++;
	}
	while (rc == 0 && *in != '\0') {
		if (*in != '%') {
			v = strchr(in, '%');
			v = v != NULL ? v : in + strlen(in);
			rc = sbuf_put(&b, in, (size_t)(v - in));
			in = v;
			continue;
		}
		v = NULL;
		if (in[1] != '\0' && strchr(tokens, in[1]) != NULL)
			v = token_value(in[1], env, port, sizeof(port));
		if (v == NULL) {
			rc = -EINVAL;
			break;
		}
		rc = sbuf_put(&b, v, strlen(v));
		in += 2;
	}
	if (rc < 0) {
		free(b.p);
		return rc;
	}
	*out = b.p;
	return 0;
}

/* ---- files ------------------------------------------------------------ */

struct load_ctx {
	const char *home;
};

static int
read_file(const char *path, char **text, size_t *len)
{
	struct stat st;
	size_t got = 0;
	ssize_t n;
	char *b;
	int fd, rc = 0;

	*text = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		rc = -errno;
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = -EISDIR;
		goto out;
	}
	if (st.st_size > SSH_CONFIG_FILE_MAX) {
		rc = -EFBIG;
		goto out;
	}
	b = malloc((size_t)st.st_size + 1);
	if (b == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	while (got < (size_t)st.st_size) {
		n = read(fd, b + got, (size_t)st.st_size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	*text = b;
	*len = got;
out:
	close(fd);
	return rc;
}

static int parse_file(
    struct ssh_config_parser *p, const char *path, int depth, bool must);

/* Include: '~' expanded, relative names under ~/.ssh, globbed, sorted. */
static int
load_include(struct ssh_config_parser *p, const char *arg, int depth)
{
	const struct load_ctx *lc = p->arg;
	struct ssh_config_env env = { .home = lc->home };
	char *exp = NULL, *path = NULL;
	glob_t g;
	size_t i;
	int rc;

	rc = ssh_config_expand(arg, &env, "%", &exp);
	if (rc < 0) {
		if (p->msg != NULL)
			snprintf(p->msg, p->msglen,
			    "Include %s: cannot expand it", arg);
		return rc;
	}
	if (exp[0] != '/') {
		if (lc->home == NULL ||
		    asprintf(&path, "%s/.ssh/%s", lc->home, exp) < 0) {
			free(exp);
			return -ENOMEM;
		}
		free(exp);
	} else {
		path = exp;
	}
	rc = glob(path, 0, NULL, &g);
	if (rc == GLOB_NOMATCH) {
		log_debug("Include %s: no such file", path);
		free(path);
		return 0;
	}
	free(path);
	if (rc != 0)
		return rc == GLOB_NOSPACE ? -ENOMEM : -EIO;
	for (i = 0; i < g.gl_pathc && rc == 0; i++)
		rc = parse_file(p, g.gl_pathv[i], depth + 1, false);
	globfree(&g);
	return rc;
}

static int
parse_file(struct ssh_config_parser *p, const char *path, int depth, bool must)
{
	char *text;
	size_t len = 0;
	int rc;

	if (depth > SSH_CONFIG_MAX_DEPTH) {
		snprintf(
		    p->msg, p->msglen, "%s: Includes nested too deeply", path);
		return -ELOOP;
	}
	rc = read_file(path, &text, &len);
	if (rc == -ENOENT && !must) {
		log_debug("ssh config %s: none", path);
		return 0;
	}
	if (rc < 0) {
		snprintf(p->msg, p->msglen, "ssh config %s: %s", path,
		    strerror(-rc));
		return rc;
	}
	log_debug("reading ssh config %s for %s", path, p->host);
	rc = ssh_config_parse(p, text, len, path, depth);
	free(text);
	return rc;
}

int
ssh_config_load(const char *path, bool must_exist, const char *host,
    const char *home, struct ssh_config *out, char *msg, size_t msglen)
{
	struct load_ctx lc = { .home = home };
	struct ssh_config_parser p = {
		.host = host,
		.out = out,
		.include = load_include,
		.arg = &lc,
		.msg = msg,
		.msglen = msglen,
	};
	int rc;

	ssh_config_init(out);
	rc = parse_file(&p, path, 0, must_exist);
	if (rc < 0)
		ssh_config_free(out);
	return rc;
}
