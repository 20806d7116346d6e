/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * backend: the factory (URL scheme -> backend) and helpers shared by every
 * backend (contract in backend.h).
 */
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend.h"
#include "ftp_backend.h"
#include "net.h"
#include "sftp_backend.h"
#include "sftp_conn.h"
#include "tls.h"
#include "url.h"

/* One line per scheme; open == NULL: not implemented yet. */
struct backend_kind {
	enum url_scheme scheme;
	int (*open)(const struct url *u, const struct backend_opts *opts,
	    struct backend **out, char *msg, size_t msglen);
	bool local_user; /* no user in the URL: the local one (ssh's way) */
	bool keys; /* logs in with keys too: a password is optional */
	/* the client configuration, before credentials; NULL: none */
	int (*prepare)(struct url *u, char **extra, size_t *nextra,
	    size_t max_extra, char *msg, size_t msglen);
};

static const struct backend_kind kinds[] = {
	{ .scheme = URL_FTP, .open = ftp_backend_open },
	{ .scheme = URL_FTPS, .open = ftp_backend_open },
	{ .scheme = URL_FTPES, .open = ftp_backend_open },
	{ .scheme = URL_SFTP,
	    .open = sftp_backend_open,
	    .local_user = true,
	    .keys = true,
	    .prepare = sftp_backend_prepare },
};

static const struct backend_kind *
kind_of(const struct url *u)
{
	size_t i;

	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (kinds[i].scheme == u->scheme)
			return &kinds[i];
	return NULL;
}

int
backend_opt_check(const char *arg, char *msg, size_t msglen)
{
	int rc = ftp_backend_opt(NULL, arg, msg, msglen);
	char m[256] = "";

	if (rc != 0)
		return rc;
	rc = sftp_backend_opt(NULL, arg, m, sizeof(m));
	if (rc < 0)
		snprintf(msg, msglen, "-o %s", m); /* as FTP's messages read */
	return rc;
}

int
backend_supported(const struct url *u, char *msg, size_t msglen)
{
	const struct backend_kind *k = kind_of(u);

	if (k == NULL || k->open == NULL) {
		snprintf(msg, msglen, "%s is not supported yet",
		    url_scheme_name(u->scheme));
		return -EPROTONOSUPPORT;
	}
	return 0;
}

int
backend_open(const struct url *u, const struct backend_opts *opts,
    struct backend **out, char *msg, size_t msglen)
{
	int rc = backend_supported(u, msg, msglen);

	if (rc < 0)
		return rc;
	/*
	 * The mount's first connection, start to end (connect, greeting,
	 * TLS, login, the commands that set the session up, the remote
	 * directory): each wait within connect_timeout of the last byte
	 * that moved, so that a server that stops answering after the login
	 * fails the mount in that time too, not in the command timeout.
	 */
	net_op_begin(
	    opts->connect_timeout_ms > 0 ? opts->connect_timeout_ms : 0, NULL);
	rc = kind_of(u)->open(u, opts, out, msg, msglen);
	net_op_end();
	return rc;
}

int
backend_prepare(struct url *u, char **extra, size_t *nextra, size_t max_extra,
    char *msg, size_t msglen)
{
	const struct backend_kind *k = kind_of(u);

	if (k == NULL || k->prepare == NULL)
		return 0;
	return k->prepare(u, extra, nextra, max_extra, msg, msglen);
}

void
backend_print_help(void)
{
	ftp_backend_print_help();
	sftp_backend_print_help();
	printf("\n");
}

int
backend_global_init(char *msg, size_t msglen)
{
	if (sftp_conn_global_init() < 0) {
		snprintf(msg, msglen, "cannot initialise libssh2");
		return -1;
	}
	return 0;
}

bool
backend_password_optional(const struct url *u)
{
	const struct backend_kind *k = kind_of(u);

	return k != NULL && k->keys;
}

void
backend_print_versions(void)
{
	printf("OpenSSL library version %s\n", tls_lib_version());
	printf("libssh2 library version %s\n", sftp_conn_lib_version());
}

void
backend_global_exit(void)
{
	sftp_conn_global_exit();
}

const char *
backend_default_user(const struct url *u)
{
	const struct backend_kind *k = kind_of(u);
	struct passwd *pw;

	if (k == NULL || !k->local_user)
		return NULL;
	pw = getpwuid(getuid());
	return pw != NULL ? pw->pw_name : NULL;
}

int
backend_dirlist_add(struct backend_dirlist *l, const char *name,
    size_t name_len, const char *link_target, const struct backend_attr *attr)
{
	struct backend_dirent *e;

	/* a server that lists forever must not take all our memory */
	if (l->count >= BACKEND_DIRLIST_MAX)
		return -EFBIG;
	if (l->count == l->cap) {
		size_t ncap = l->cap ? l->cap * 2 : 32;
		struct backend_dirent *n;

		if (ncap > SIZE_MAX / sizeof(*n))
			return -ENOMEM;
		n = realloc(l->ents, ncap * sizeof(*n));
		if (n == NULL)
			return -ENOMEM;
		l->ents = n;
		l->cap = ncap;
	}
	e = &l->ents[l->count];
	memset(e, 0, sizeof(*e));
	e->name = strndup(name, name_len);
	if (e->name == NULL)
		return -ENOMEM;
	if (link_target != NULL) {
		e->link_target = strdup(link_target);
		if (e->link_target == NULL) {
			free(e->name);
			return -ENOMEM;
		}
	}
	e->attr = *attr;
	l->count++;
	return 0;
}

void
backend_dirlist_free(struct backend_dirlist *l)
{
	size_t i;

	if (l == NULL)
		return;
	for (i = 0; i < l->count; i++) {
		free(l->ents[i].name);
		free(l->ents[i].link_target);
	}
	free(l->ents);
	l->ents = NULL;
	l->count = 0;
	l->cap = 0;
}

const struct backend_dirent *
backend_dirlist_find(const struct backend_dirlist *l, const char *name)
{
	size_t i;

	for (i = 0; i < l->count; i++)
		if (strcmp(l->ents[i].name, name) == 0)
			return &l->ents[i];
	return NULL;
}

int
backend_path_join(const char *dir, const char *name, char *out, size_t size)
{
	size_t dl = strlen(dir), nl = strlen(name);
	bool slash = dl > 0 && dir[dl - 1] == '/';

	if (dl + nl + 2 > size)
		return -ENAMETOOLONG;
	memcpy(out, dir, dl);
	if (!slash)
		out[dl++] = '/';
	memcpy(out + dl, name, nl + 1);
	return 0;
}

int
backend_path_split(
    const char *path, char *parent, size_t size, const char **name)
{
	const char *slash = strrchr(path, '/');
	size_t pl;

	if (slash == NULL || slash[1] == '\0')
		return -EINVAL;
	pl = (size_t)(slash - path);
	if (pl == 0)
		pl = 1; /* parent is "/" */
	if (pl + 1 > size)
		return -ENAMETOOLONG;
	memcpy(parent, path, pl);
	parent[pl] = '\0';
	*name = slash + 1;
	return 0;
}

bool
backend_path_in(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	if (strcmp(dir, "/") == 0)
		return path[0] == '/';
	return strncmp(path, dir, n) == 0 &&
	    (path[n] == '\0' || path[n] == '/');
}

unsigned
backend_path_slot(const char *path, unsigned nslots)
{
	uint32_t h = 2166136261u;

	for (; *path; path++)
		h = (h ^ (uint8_t)*path) * 16777619u;
	return h % nslots;
}

int
backend_opt_number(
    const char *arg, unsigned long min, unsigned long max, unsigned long *out)
{
	const char *eq = strchr(arg, '=');
	unsigned long v;
	char *end;

	if (eq == NULL || eq[1] < '0' || eq[1] > '9')
		return -EINVAL;
	errno = 0;
	v = strtoul(eq + 1, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}
