/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * sftp_prepare: the ssh client configuration applied to a mount source
 * before credentials are settled (sftp_backend_prepare in
 * include/sftp_backend.h; the parser is ssh_config.c).
 */
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "log.h"
#include "sftp_backend.h"
#include "ssh_config.h"
#include "url.h"

/* The %-tokens IdentityFile and UserKnownHostsFile may use here. */
#define FILE_TOKENS "%dhurp"

struct extras {
	char **v;
	size_t *n;
	size_t max;
	char *msg;
	size_t msglen;
};

/* The value of the last "key=..." item (key case-insensitive), or NULL. */
static const char *
extra_value(const struct extras *x, const char *key)
{
	size_t i, kl = strlen(key);
	const char *v = NULL;

	for (i = 0; i < *x->n; i++)
		if (strncasecmp(x->v[i], key, kl) == 0 && x->v[i][kl] == '=')
			v = x->v[i] + kl + 1;
	return v;
}

/* Append "key=val", checked as the -o option it becomes. */
static int
extra_add(struct extras *x, const char *key, const char *val, const char *from)
{
	char m[256] = "", *s;

	if (*x->n == x->max) {
		snprintf(
		    x->msg, x->msglen, "too many -o options with %s", from);
		return -E2BIG;
	}
	if (asprintf(&s, "%s=%s", key, val) < 0)
		return -ENOMEM;
	if (sftp_backend_opt(NULL, s, m, sizeof(m)) != 1) {
		snprintf(x->msg, x->msglen, "%s: %s", from, m);
		free(s);
		return -EINVAL;
	}
	x->v[(*x->n)++] = s;
	log_debug("from %s: -o %s", from, s);
	return 0;
}

/* Expand a file name of the config (tokens, '~') and add it as key=. */
static int
add_file(struct extras *x, const char *key, const char *name,
    const struct ssh_config_env *env, const char *from)
{
	char *exp = NULL;
	int rc = ssh_config_expand(name, env, FILE_TOKENS, &exp);

	if (rc < 0) {
		snprintf(x->msg, x->msglen,
		    "%s: cannot expand \"%s\" (ftpfs knows ~, %%d, %%u, %%h, "
		    "%%r, %%p and %%%%)",
		    from, name);
		return rc;
	}
	rc = extra_add(x, key, exp, from);
	free(exp);
	return rc;
}

static int
apply_host(struct url *u, const struct ssh_config *sc,
    const struct ssh_config_env *env0, struct extras *x, const char *from)
{
	struct ssh_config_env env = *env0;
	char *s = NULL;
	int rc;

	if (sc->hostname != NULL) {
		env.host = u->host; /* %h in HostName: the name typed */
		rc = ssh_config_expand(sc->hostname, &env, "h%", &s);
		if (rc < 0 || s[0] == '\0') {
			free(s);
			snprintf(x->msg, x->msglen,
			    "%s: HostName \"%s\": only %%h and %%%% are "
			    "understood there",
			    from, sc->hostname);
			return -EINVAL;
		}
		log_debug("%s: HostName %s for %s", from, s, u->host);
		free(u->host);
		u->host = s;
	}
	if (!u->port_given && sc->port != 0)
		u->port = sc->port;
	if (u->user == NULL && sc->user != NULL) {
		u->user = strdup(sc->user);
		if (u->user == NULL)
			return -ENOMEM;
	}
	return 0;
}

int
sftp_backend_prepare(struct url *u, char **extra, size_t *nextra,
    size_t max_extra, char *msg, size_t msglen)
{
	struct extras x = { extra, nextra, max_extra, msg, msglen };
	const char *file = extra_value(&x, "ssh_config"), *home, *strict;
	struct ssh_config_env env = { 0 };
	struct ssh_config sc;
	struct passwd *pw = getpwuid(getuid());
	char *path = NULL;
	unsigned i;
	int rc;

	if (file != NULL && strcmp(file, "none") == 0)
		return 0;
	/* HOME first, as for known_hosts and the default keys */
	home = getenv("HOME");
	if ((home == NULL || home[0] == '\0') && pw != NULL)
		home = pw->pw_dir;
	env.home = home;
	env.local_user = pw != NULL ? pw->pw_name : NULL;
	if (file != NULL)
		rc = ssh_config_expand(file, &env, "%d", &path);
	else if (home != NULL)
		rc = asprintf(&path, "%s/.ssh/config", home) < 0 ? -ENOMEM : 0;
	else
		return 0;
	if (rc < 0) {
		snprintf(msg, msglen, "ssh_config=%s: cannot expand it", file);
		return rc;
	}
	rc = ssh_config_load(
	    path, file != NULL, u->host, home, &sc, msg, msglen);
	if (rc < 0)
		goto out;
	rc = apply_host(u, &sc, &env, &x, path);
	if (rc < 0)
		goto out;
	env.host = u->host;
	env.remote_user = u->user != NULL ? u->user : env.local_user;
	env.port = u->port;
	/* after the -o identity_file ones, as ssh tries -i first */
	for (i = 0; rc == 0 && i < sc.n_identity; i++)
		rc = add_file(&x, "identity_file", sc.identity[i], &env, path);
	if (rc == 0 && sc.known_hosts != NULL &&
	    extra_value(&x, "known_hosts") == NULL &&
	    extra_value(&x, "UserKnownHostsFile") == NULL)
		rc = strcmp(sc.known_hosts, "none") == 0
		    ? extra_add(&x, "known_hosts", "/dev/null", path)
		    : add_file(&x, "known_hosts", sc.known_hosts, &env, path);
	strict = sc.strict;
	if (strict != NULL &&
	    (strcasecmp(strict, "ask") == 0 || strcasecmp(strict, "true") == 0))
		strict = "yes"; /* nobody to ask: unknown keys are refused */
	else if (strict != NULL && strcasecmp(strict, "false") == 0)
		strict = "no";
	if (rc == 0 && strict != NULL &&
	    extra_value(&x, "StrictHostKeyChecking") == NULL)
		rc = extra_add(&x, "StrictHostKeyChecking", strict, path);
	if (rc == 0 && sc.host_key_alias != NULL &&
	    extra_value(&x, "HostKeyAlias") == NULL)
		rc = extra_add(&x, "HostKeyAlias", sc.host_key_alias, path);
	if (rc == 0 && sc.alive_interval >= 0 &&
	    extra_value(&x, "ServerAliveInterval") == NULL) {
		char n[16];

		snprintf(n, sizeof(n), "%d", sc.alive_interval);
		rc = extra_add(&x, "ServerAliveInterval", n, path);
	}
out:
	ssh_config_free(&sc);
	free(path);
	return rc;
}
