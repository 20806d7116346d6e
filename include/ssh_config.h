/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ssh_config: what an OpenSSH client configuration (~/.ssh/config, ssh -F
 * FILE) says about one host, for the SFTP backend.
 *
 * Read as ssh_config(5) describes it: "keyword value" or "keyword=value"
 * lines, keywords case-insensitive, '#' comments (a line's or a token's
 * start), double-quoted arguments.  Lines before the first Host apply to
 * every host.  "Host p1 p2 ..." starts a block that applies when the name
 * looked up (as typed: an alias) matches one pattern ('*', '?',
 * case-insensitive) and no "!pattern".  "Match" blocks are not evaluated:
 * they are skipped (logged at debug level).  The first value found for a
 * keyword wins; IdentityFile accumulates.  Other keywords are ignored.
 *
 * Kept (unexpanded; see ssh_config_expand): HostName, Port, User,
 * IdentityFile, UserKnownHostsFile (its first file), StrictHostKeyChecking,
 * HostKeyAlias, ServerAliveInterval.  Include is handed to the caller
 * (ssh_config_load reads the files; relative names are under ~/.ssh).
 *
 * The parser (ssh_config_parse, ssh_config_host_match, ssh_config_expand)
 * is pure: no I/O but the debug log.  ssh_config_load reads files.
 */
#ifndef FTPFS_SSH_CONFIG_H
#define FTPFS_SSH_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#define SSH_CONFIG_MAX_IDENTITIES 8
#define SSH_CONFIG_MAX_DEPTH 16 /* nested Includes, as OpenSSH */
#define SSH_CONFIG_FILE_MAX (1024 * 1024)

struct ssh_config {
	char *hostname; /* NULL: not set (and so for the strings below) */
	unsigned port; /* 0: not set */
	char *user;
	char *identity[SSH_CONFIG_MAX_IDENTITIES];
	unsigned n_identity;
	char *known_hosts; /* UserKnownHostsFile's first file */
	char *strict; /* StrictHostKeyChecking as written */
	char *host_key_alias;
	int alive_interval; /* ServerAliveInterval; -1: not set */
};

/* Empty (nothing set). */
void ssh_config_init(struct ssh_config *c);
/* Free the strings and make c empty again.  NULL is accepted. */
void ssh_config_free(struct ssh_config *c);

struct ssh_config_parser {
	const char *host; /* the name looked up, as typed */
	struct ssh_config *out;
	/*
	 * An Include argument in an applying block (unexpanded): read the
	 * files and feed each to ssh_config_parse at depth + 1.  0 or
	 * -errno with msg set.  NULL: Include lines are ignored.
	 */
	int (*include)(struct ssh_config_parser *p, const char *arg, int depth);
	void *arg; /* the include callback's */
	char *msg; /* one line for the user on failure */
	size_t msglen;
};

/*
 * Parse text[0..len) (name for messages) at include depth depth into
 * p->out, keeping values already there.  0, or -EINVAL (a malformed line:
 * a bad Port, an unterminated quote, a keyword without its argument, a
 * NUL) / -ELOOP (too deep) / -ENOMEM, with "name line N: ..." in p->msg.
 */
int ssh_config_parse(struct ssh_config_parser *p, const char *text, size_t len,
    const char *name, int depth);

/* Does host match one pattern ('*' any run, '?' one byte; no '!')? */
bool ssh_config_host_match(const char *host, const char *pattern);

/* What the %-tokens and '~' stand for. */
struct ssh_config_env {
	const char *home; /* ~ and %d */
	const char *local_user; /* %u */
	const char *host; /* %h: the remote host name after HostName */
	const char *remote_user; /* %r */
	unsigned port; /* %p */
};

/*
 * Expand in: a leading "~" or "~/" into env->home, then %% %d %u %h %r %p
 * where they are listed in tokens (e.g. "dhur p%"; HostName takes only
 * "h%").  0 and a malloc'ed *out, or -EINVAL for an unknown or
 * unallowed token, "~user", or a missing value; -ENOMEM.
 */
int ssh_config_expand(const char *in, const struct ssh_config_env *env,
    const char *tokens, char **out);

/*
 * Read path (and what it includes; relative Include names are taken
 * under home/.ssh) for host into out (emptied first).  A missing path is
 * 0 with nothing set unless must_exist (then -ENOENT).  0 or -errno with
 * a one-line message.
 */
int ssh_config_load(const char *path, bool must_exist, const char *host,
    const char *home, struct ssh_config *out, char *msg, size_t msglen);

#endif
