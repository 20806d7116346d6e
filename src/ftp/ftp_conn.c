/* SPDX-License-Identifier: GPL-2.0-or-later */
/* ftp_conn: FTP control connection (contract in include/ftp_conn.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ftp_conn.h"
#include "ftp_parse.h"
#include "log.h"
#include "secret.h"
#include "tls.h"

/* How long QUIT may take before we just close. */
#define QUIT_TIMEOUT_MS 500

static char *
dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

int
ftp_server_init(struct ftp_server *srv, const struct ftp_config *cfg)
{
	memset(srv, 0, sizeof(*srv));
	srv->cfg = *cfg;
	srv->cfg.host = dup_or_null(cfg->host);
	srv->cfg.user = dup_or_null(cfg->user ? cfg->user : "anonymous");
	srv->cfg.password = dup_or_null(cfg->password ? cfg->password : "");
	srv->cfg.account = dup_or_null(cfg->account);
	srv->cfg.root = dup_or_null(cfg->root ? cfg->root : "/");
	srv->cfg.cafile = dup_or_null(cfg->cafile);
	srv->cfg.fingerprint = dup_or_null(cfg->fingerprint);
	if (srv->cfg.host == NULL || srv->cfg.user == NULL ||
	    srv->cfg.password == NULL || srv->cfg.root == NULL ||
	    (cfg->account != NULL && srv->cfg.account == NULL) ||
	    (cfg->cafile != NULL && srv->cfg.cafile == NULL) ||
	    (cfg->fingerprint != NULL && srv->cfg.fingerprint == NULL)) {
		ftp_server_free(srv);
		return -ENOMEM;
	}
	srv->list_a = -1;
	atomic_init(&srv->time_offset, cfg->time_offset);
	atomic_init(&srv->time_offset_learn, cfg->time_offset_auto);
	pthread_mutex_init(&srv->lock, NULL);
	return 0;
}

void
ftp_server_free(struct ftp_server *srv)
{
	free((char *)srv->cfg.host);
	free((char *)srv->cfg.user);
	secret_free(srv->cfg.password);
	secret_free(srv->cfg.account);
	free((char *)srv->cfg.root);
	free((char *)srv->cfg.cafile);
	free((char *)srv->cfg.fingerprint);
	tls_ctx_free(srv->tls);
	free(srv->home);
	free(srv->root);
	pthread_mutex_destroy(&srv->lock);
	memset(srv, 0, sizeof(*srv));
}

static void set_msg(char *msg, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
set_msg(char *msg, size_t len, const char *fmt, ...)
{
	va_list ap;

	if (msg == NULL || len == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, len, fmt, ap);
	va_end(ap);
}

static bool
arg_ok(const char *arg)
{
	const unsigned char *p;

	for (p = (const unsigned char *)arg; *p; p++)
		if (*p == '\r' || *p == '\n' || *p == 0xff)
			return false;
	return true;
}

int
ftp_send(struct ftp_conn *c, const char *verb, const char *arg)
{
	char line[FTP_CMD_MAX + 3];
	int n, rc;

	if (c->broken)
		return -ECONNRESET;
	if (arg != NULL && !arg_ok(arg)) {
		log_warn("refusing %s: argument contains CR, LF or 0xFF", verb);
		return -EINVAL;
	}
	if (arg != NULL)
		n = snprintf(line, sizeof(line), "%s %s\r\n", verb, arg);
	else
		n = snprintf(line, sizeof(line), "%s\r\n", verb);
	if (n < 0 || (size_t)n > FTP_CMD_MAX + 2)
		return -ENAMETOOLONG;
	if (strcasecmp(verb, "PASS") == 0 || strcasecmp(verb, "ACCT") == 0)
		log_trace("[%u] > %s ****", c->id, verb);
	else
		log_trace("[%u] > %.*s", c->id, n - 2, line);
	rc = net_stream_write(
	    c->ctl, line, (size_t)n, c->srv->cfg.cmd_timeout_ms);
	if (rc < 0) {
		log_debug("[%u] send %s: %s", c->id, verb, strerror(-rc));
		c->broken = true;
	}
	return rc;
}

static void
trace_reply(struct ftp_conn *c, const struct ftp_reply *rep)
{
	const char *p = rep->text, *nl;

	if (!log_enabled(LOG_LVL_TRACE))
		return;
	while (p != NULL && *p) {
		nl = strchr(p, '\n');
		log_trace("[%u] < %.*s", c->id,
		    (int)(nl ? (size_t)(nl - p) : strlen(p)), p);
		p = nl ? nl + 1 : NULL;
	}
}

static int take_owed(struct ftp_conn *c, int timeout_ms);

int
ftp_read_reply(struct ftp_conn *c, struct ftp_reply *rep, int timeout_ms)
{
	int64_t deadline;
	size_t used;
	ssize_t r;
	int rc;

	if (c->broken)
		return -ECONNRESET;
	if (c->owed) {
		rc = take_owed(c, timeout_ms);
		if (rc < 0)
			return rc;
	}
	deadline = net_now_ms() + timeout_ms;
	for (;;) {
		if (c->in_len > c->in_off) {
			rc = ftp_reply_feed(&c->rd, c->in + c->in_off,
			    c->in_len - c->in_off, &used, rep);
			if (rc < 0) {
				log_warn("[%u] unreadable reply: %s", c->id,
				    strerror(-rc));
				c->broken = true;
				return -EPROTO;
			}
			c->in_off += used;
			if (rc == 1) {
				trace_reply(c, rep);
				if (rep->code == 421) {
					/* Service closing: never reuse. */
					log_info("[%u] server closes: %s",
					    c->id, ftp_reply_last_line(rep));
					c->broken = true;
				}
				return 0;
			}
		}
		c->in_off = c->in_len = 0;
		timeout_ms = (int)(deadline - net_now_ms());
		if (timeout_ms < 0)
			timeout_ms = 0;
		r = net_stream_read(c->ctl, c->in, sizeof(c->in), timeout_ms);
		if (r <= 0) {
			rc = r == 0 ? -ECONNRESET : (int)r;
			log_debug("[%u] reading reply: %s", c->id,
			    r == 0 ? "connection closed" : strerror(-rc));
			c->broken = true;
			return rc;
		}
		c->in_len = (size_t)r;
	}
}

/*
 * The final reply of a transfer ended by ftp_xfer_finish_later(), which
 * had every byte it expected: a failure here is the server's afterthought
 * on bytes already delivered, so it is logged, not returned, and the
 * connection is not reused.  Only an I/O error (no reply at all) is
 * returned.
 */
static int
take_owed(struct ftp_conn *c, int timeout_ms)
{
	struct ftp_reply rep = { 0 };
	int rc;

	/* as long as ftp_xfer_finish would have waited for it, at least */
	if (timeout_ms < c->srv->cfg.cmd_timeout_ms)
		timeout_ms = c->srv->cfg.cmd_timeout_ms;
	c->owed = false;
	do {
		ftp_reply_free(&rep);
		rc = ftp_read_reply(c, &rep, timeout_ms);
		if (rc < 0)
			return rc;
	} while (ftp_reply_is_prelim(rep.code));
	if (!ftp_reply_is_ok(rep.code)) {
		/* The bytes were all there; the session may not be (vsftpd's
		   "500 OOPS: child died" comes just before the close): the
		   command under way finishes, then the connection goes. */
		log_warn("[%u] a transfer whose bytes all arrived ended with "
		         "%d %s (the connection is not used again)",
		    c->id, rep.code, ftp_reply_last_line(&rep));
		c->broken = true;
	}
	ftp_reply_free(&rep);
	return 0;
}

int
ftp_conn_settle(struct ftp_conn *c)
{
	int rc = 0;

	if (c->owed)
		rc = take_owed(c, 0);
	if (rc == 0 && c->broken)
		rc = -ECONNRESET; /* a 421 in its place */
	if (rc < 0)
		c->broken = true;
	return rc;
}

int
ftp_cmd(struct ftp_conn *c, struct ftp_reply *rep, const char *verb,
    const char *arg)
{
	int rc = ftp_send(c, verb, arg);

	if (rc < 0)
		return rc;
	rc = ftp_read_reply(c, rep, c->srv->cfg.cmd_timeout_ms);
	if (rc == 0 && rep->code == 250 && arg != NULL &&
	    strcasecmp(verb, "CWD") == 0)
		ftp_conn_entered(c, arg);
	return rc;
}

void
ftp_conn_entered(struct ftp_conn *c, const char *arg)
{
	/* Kept for ftp_conn_reopen; out of memory just forgets it. */
	free(c->cwd);
	c->cwd = strdup(arg);
}

int
ftp_cmd_code(struct ftp_conn *c, int *code, const char *verb, const char *arg)
{
	struct ftp_reply rep;
	int rc = ftp_cmd(c, &rep, verb, arg);

	if (rc < 0)
		return rc;
	*code = rep.code;
	ftp_reply_free(&rep);
	return 0;
}

int
ftp_conn_check_idle(struct ftp_conn *c)
{
	struct ftp_reply rep;
	int rc;

	if (c->broken)
		return -ECONNRESET;
	if (c->owed) {
		/* Not here yet: the next command's reply read takes it. */
		if (c->in_len == c->in_off && !net_stream_readable_now(c->ctl))
			return 0;
		/* here: a 421 or the end of the session is seen now
		   (a failed settle leaves c broken) */
		if (ftp_conn_settle(c) < 0)
			return -ECONNRESET;
	}
	if (c->in_len == c->in_off && !net_stream_readable_now(c->ctl))
		return 0;
	/* Something arrived unasked: an idle-timeout 421, or EOF. */
	rc = ftp_read_reply(c, &rep, 100);
	if (rc == 0) {
		log_info("[%u] unsolicited reply on idle connection: %d %s",
		    c->id, rep.code, ftp_reply_last_line(&rep));
		ftp_reply_free(&rep);
	}
	c->broken = true;
	return -ECONNRESET;
}

int
ftp_conn_resync(struct ftp_conn *c)
{
	struct ftp_reply rep;
	int64_t deadline;
	int rc, i;

	rc = ftp_send(c, "NOOP", NULL);
	if (rc < 0)
		goto fail;
	deadline = net_now_ms() + 2000;
	for (i = 0; i < 6; i++) {
		int left = (int)(deadline - net_now_ms());

		rc = ftp_read_reply(c, &rep, left > 0 ? left : 0);
		if (rc < 0)
			goto fail;
		if (rep.code == 200) {
			ftp_reply_free(&rep);
			return 0;
		}
		log_debug("[%u] resync: discarding %d", c->id, rep.code);
		ftp_reply_free(&rep);
	}
	rc = -EPROTO;
fail:
	c->broken = true;
	return rc;
}

static int
do_feat(struct ftp_conn *c)
{
	struct ftp_reply rep;
	unsigned feat;
	int rc;

	rc = ftp_cmd(c, &rep, "FEAT", NULL);
	if (rc < 0)
		return rc;
	if (rep.code == 211) {
		feat = ftp_parse_feat(rep.text, rep.text_len);
		pthread_mutex_lock(&c->srv->lock);
		c->srv->feat = feat;
		c->srv->feat_known = true;
		pthread_mutex_unlock(&c->srv->lock);
	}
	ftp_reply_free(&rep);
	return 0;
}

/* USER/PASS/ACCT; secured: the control connection is TLS already. */
static int
login(struct ftp_conn *c, bool secured, char *msg, size_t msglen)
{
	struct ftp_server *srv = c->srv;
	struct ftp_reply rep = { 0 };
	bool once;
	int rc;

	rc = ftp_cmd(c, &rep, "USER", srv->cfg.user);
	if (rc < 0)
		goto io;
	if (rep.code == 331) {
		ftp_reply_free(&rep);
		rc = ftp_cmd(c, &rep, "PASS", srv->cfg.password);
		if (rc < 0)
			goto io;
	}
	if (rep.code == 332) {
		ftp_reply_free(&rep);
		if (srv->cfg.account == NULL) {
			set_msg(msg, msglen,
			    "login refused: the server asks for an account "
			    "(ACCT) and none is configured");
			return -EACCES;
		}
		rc = ftp_cmd(c, &rep, "ACCT", srv->cfg.account);
		if (rc < 0)
			goto io;
	}
	if (rep.code == 230 || rep.code == 202) {
		ftp_reply_free(&rep);
		return 0;
	}
	pthread_mutex_lock(&srv->lock);
	once = srv->logged_in_once;
	pthread_mutex_unlock(&srv->lock);
	switch (ftp_parse_login_refusal(
	    rep.code, rep.text, rep.text_len, secured, once)) {
	case FTP_LOGIN_TLS_FIRST:
		set_msg(msg, msglen,
		    "the server requires TLS (%d %s): mount it with "
		    "ftpes://%s:%u/ (or ftps:// for an implicit-TLS port)",
		    rep.code, ftp_reply_last_line(&rep), srv->cfg.host,
		    srv->cfg.port);
		rc = -EACCES;
		break;
	case FTP_LOGIN_LIMIT:
		set_msg(msg, msglen, "server connection limit: %s",
		    ftp_reply_last_line(&rep));
		rc = -EUSERS;
		break;
	case FTP_LOGIN_DENIED:
		set_msg(msg, msglen, "login incorrect for user %s: %d %s",
		    srv->cfg.user, rep.code, ftp_reply_last_line(&rep));
		rc = -EACCES;
		break;
	default:
		set_msg(msg, msglen, "login failed: %d %s", rep.code,
		    ftp_reply_last_line(&rep));
		rc = -EPROTO;
		break;
	}
	ftp_reply_free(&rep);
	return rc;
io:
	set_msg(msg, msglen, "connection lost during login: %s", strerror(-rc));
	return rc;
}

/* Learn the home directory and the absolute mount root (first login). */
static int
learn_root(struct ftp_conn *c, char *msg, size_t msglen)
{
	struct ftp_server *srv = c->srv;
	struct ftp_reply rep;
	char *home = NULL, *root = NULL;
	const char *r = srv->cfg.root;
	int rc;

	rc = ftp_cmd(c, &rep, "PWD", NULL);
	if (rc < 0)
		return rc;
	if (rep.code != 257 ||
	    ftp_parse_pwd(rep.text, rep.text_len, &home) < 0) {
		log_warn("PWD answer not understood (%d %s): assuming /",
		    rep.code, ftp_reply_last_line(&rep));
		home = strdup("/");
	}
	ftp_reply_free(&rep);
	if (home == NULL)
		return -ENOMEM;
	if (srv->cfg.root_absolute || strcmp(home, "/") == 0) {
		root = strdup(r);
	} else if (strcmp(r, "/") == 0) {
		root = strdup(home);
	} else {
		size_t hl = strlen(home);

		while (hl > 1 && home[hl - 1] == '/')
			hl--;
		if (asprintf(&root, "%.*s%s", (int)hl, home, r) < 0)
			root = NULL;
	}
	if (root == NULL) {
		free(home);
		return -ENOMEM;
	}
	pthread_mutex_lock(&srv->lock);
	if (srv->root == NULL) {
		srv->home = home;
		srv->root = root;
		home = root = NULL;
	}
	pthread_mutex_unlock(&srv->lock);
	free(home);
	free(root);
	(void)msg;
	(void)msglen;
	return 0;
}

/* TLS on the control connection, from here on (AUTH TLS or implicit). */
static int
start_tls(struct ftp_conn *c, char *msg, size_t msglen)
{
	struct ftp_server *srv = c->srv;
	char desc[128];
	int rc;

	rc = tls_wrap(srv->tls, &c->ctl, NULL);
	if (rc < 0)
		return rc;
	rc = tls_handshake(
	    c->ctl, NULL, srv->cfg.connect_timeout_ms, msg, msglen);
	if (rc == -EPROTO && srv->cfg.tls == FTP_TLS_IMPLICIT && msg != NULL) {
		/* a plain FTP port answers our ClientHello with "220 ..." */
		size_t n = strlen(msg);

		snprintf(msg + n, msglen > n ? msglen - n : 0,
		    " (not an implicit-TLS port? ftpes://%s:%u/ uses AUTH TLS "
		    "on a plain FTP port)",
		    srv->cfg.host, srv->cfg.port);
	}
	if (rc < 0)
		return rc;
	log_debug("[%u] control connection: %s", c->id,
	    tls_describe(c->ctl, desc, sizeof(desc)));
	return 0;
}

/*
 * Explicit TLS (RFC 4217) before USER, so that the password never goes
 * in clear.  Refused: an error when TLS is required, a warning and clear
 * text with -o tls=try.
 */
static int
auth_tls(struct ftp_conn *c, bool *secured, char *msg, size_t msglen)
{
	struct ftp_server *srv = c->srv;
	struct ftp_reply rep;
	int rc;

	*secured = false;
	rc = ftp_cmd(c, &rep, "AUTH", "TLS");
	if (rc < 0) {
		set_msg(msg, msglen, "connection lost at AUTH TLS: %s",
		    strerror(-rc));
		return rc;
	}
	if (rep.code != 234) {
		if (srv->cfg.tls == FTP_TLS_REQUIRE) {
			set_msg(msg, msglen,
			    "server refuses TLS (AUTH TLS: %d %s); not "
			    "sending the password in clear text",
			    rep.code, ftp_reply_last_line(&rep));
			ftp_reply_free(&rep);
			return -EPROTO;
		}
		log_once(&srv->tls_refused_warned, LOG_LVL_WARN, __func__,
		    "server refuses TLS (AUTH TLS: %d %s); continuing in "
		    "clear text as -o tls=try allows",
		    rep.code, ftp_reply_last_line(&rep));
		ftp_reply_free(&rep);
		return 0;
	}
	ftp_reply_free(&rep);
	if (c->in_len > c->in_off) {
		/* Clear text after 234 would be read as if it were secured. */
		set_msg(msg, msglen, "unexpected data after AUTH TLS");
		return -EPROTO;
	}
	rc = start_tls(c, msg, msglen);
	if (rc == 0)
		*secured = true;
	return rc;
}

/*
 * PBSZ 0 and PROT P after login: data channels in TLS too.  An implicit
 * server may refuse them (its data is protected anyway, MS-FTPS); an
 * explicit one that refuses PROT P fails the mount unless -o tls=try.
 */
static int
prot_private(struct ftp_conn *c, char *msg, size_t msglen)
{
	struct ftp_server *srv = c->srv;
	struct ftp_reply rep;
	int rc;

	rc = ftp_cmd(c, &rep, "PBSZ", "0");
	if (rc < 0)
		return rc;
	ftp_reply_free(&rep);
	rc = ftp_cmd(c, &rep, "PROT", "P");
	if (rc < 0)
		return rc;
	if (rep.code == 200 || srv->cfg.tls == FTP_TLS_IMPLICIT) {
		c->prot_p = true;
	} else if (srv->cfg.tls == FTP_TLS_REQUIRE) {
		set_msg(msg, msglen,
		    "server refuses to protect data connections (PROT P: %d "
		    "%s)",
		    rep.code, ftp_reply_last_line(&rep));
		ftp_reply_free(&rep);
		return -EPROTO;
	} else {
		log_once(&srv->tls_refused_warned, LOG_LVL_WARN, __func__,
		    "server refuses PROT P (%d %s): file data goes in clear "
		    "text",
		    rep.code, ftp_reply_last_line(&rep));
	}
	ftp_reply_free(&rep);
	return 0;
}

/*
 * The first bytes of a plain connection, before the greeting is parsed:
 * an SSH server speaks first with "SSH-2.0-...", which the FTP reply
 * reader would skip as garbage and then wait out the whole greeting
 * timeout.  Whatever was read stays in c->in for ftp_read_reply.
 * 0, or -EPROTO with the message.
 */
static int
greeting_peek(struct ftp_conn *c, char *msg, size_t msglen)
{
	struct ftp_server *srv = c->srv;
	ssize_t r;
	size_t n;

	if (c->in_len > c->in_off)
		return 0;
	r = net_stream_read(
	    c->ctl, c->in, sizeof(c->in), srv->cfg.connect_timeout_ms);
	if (r == -EINTR)
		return (int)r; /* the caller was interrupted: no second wait */
	if (r <= 0)
		return 0; /* ftp_read_reply reports it */
	c->in_off = 0;
	c->in_len = (size_t)r;
	if (c->in_len < 4 || memcmp(c->in, "SSH-", 4) != 0)
		return 0;
	/* the banner's first line, printable, at most 60 bytes */
	for (n = 0; n < c->in_len && n < 60; n++)
		if (c->in[n] < 0x20 || c->in[n] > 0x7e)
			break;
	set_msg(msg, msglen,
	    "%s port %u is an SSH server (\"%.*s\"), not FTP: mount it "
	    "with sftp://%s:%u/",
	    srv->cfg.host, srv->cfg.port, (int)n, c->in, srv->cfg.host,
	    srv->cfg.port);
	c->in_off = c->in_len = 0;
	return -EPROTO;
}

/* Connect and log in on c (fresh, or reset by ftp_conn_reopen). */
static int
conn_setup(struct ftp_conn *c, char *msg, size_t msglen)
{
	struct ftp_server *srv = c->srv;
	struct ftp_reply rep = { 0 };
	bool need_root, feat_known, secured = false;
	int64_t greet_deadline;
	int rc, fd = -1;

	rc = net_connect_host(
	    srv->cfg.host, srv->cfg.port, srv->cfg.connect_timeout_ms, &fd);
	if (rc < 0) {
		net_connect_msg(rc, srv->cfg.host, srv->cfg.port, msg, msglen);
		goto fail;
	}
	net_tune_control(fd);
	net_peer_addr(fd, &c->peer);
	net_local_addr(fd, &c->local);
	rc = net_stream_plain(fd, &c->ctl);
	if (rc < 0)
		goto fail;
	c->prot_p = false;
	if (srv->cfg.tls == FTP_TLS_IMPLICIT) {
		rc = start_tls(c, msg, msglen);
		if (rc < 0)
			goto fail;
		secured = true;
	}
	log_debug("[%u] connected to %s port %u", c->id, srv->cfg.host,
	    srv->cfg.port);

	/* Greeting: 220, possibly after 120 "ready in n minutes". */
	greet_deadline = net_now_ms() + srv->cfg.connect_timeout_ms;
	if (!secured) {
		rc = greeting_peek(c, msg, msglen);
		if (rc < 0)
			goto fail;
	}
	do {
		int64_t left = greet_deadline - net_now_ms();
		bool greeted;

		ftp_reply_free(&rep);
		rc = ftp_read_reply(c, &rep, left > 0 ? (int)left : 0);
		if (rc < 0) {
			/* an implicit-TLS port waits for our ClientHello (a
			   server we logged in to before is only slow) */
			pthread_mutex_lock(&srv->lock);
			greeted = srv->logged_in_once;
			pthread_mutex_unlock(&srv->lock);
			set_msg(msg, msglen,
			    "no FTP greeting from %s port %u: %s%s",
			    srv->cfg.host, srv->cfg.port,
			    rc == -ETIMEDOUT ? "timed out" : strerror(-rc),
			    rc == -ETIMEDOUT && !secured && !greeted
			        ? " (an implicit-TLS FTPS port says nothing "
			          "first: try ftps://)"
			        : "");
			if (rc == -ETIMEDOUT)
				rc = -EPROTO;
			goto fail;
		}
	} while (rep.code == 120);
	if (rep.code == 421) {
		set_msg(msg, msglen, "server refuses the connection: %s",
		    ftp_reply_last_line(&rep));
		rc = -EUSERS;
		goto fail;
	}
	if (rep.code != 220) {
		set_msg(msg, msglen, "unexpected greeting: %d %s", rep.code,
		    ftp_reply_last_line(&rep));
		rc = -EPROTO;
		goto fail;
	}
	ftp_reply_free(&rep);
	if (srv->cfg.tls == FTP_TLS_TRY || srv->cfg.tls == FTP_TLS_REQUIRE) {
		rc = auth_tls(c, &secured, msg, msglen);
		if (rc < 0)
			goto fail;
	}

	pthread_mutex_lock(&srv->lock);
	feat_known = srv->feat_known;
	pthread_mutex_unlock(&srv->lock);
	if (!feat_known) {
		rc = do_feat(c);
		if (rc < 0)
			goto io;
	}
	rc = login(c, secured, msg, msglen);
	if (rc < 0)
		goto fail;
	if (secured) {
		rc = prot_private(c, msg, msglen);
		if (rc == -EPROTO)
			goto fail;
		if (rc < 0)
			goto io;
	}
	pthread_mutex_lock(&srv->lock);
	srv->logged_in_once = true;
	feat_known = srv->feat_known;
	need_root = srv->root == NULL;
	pthread_mutex_unlock(&srv->lock);
	if (!feat_known) {
		/* Some servers only answer FEAT after login. */
		rc = do_feat(c);
		if (rc < 0)
			goto io;
	}
	/*
	 * RFC 2640: ask for UTF-8; servers disagree, the answer is moot.
	 * Ask for the mode fact too: pyftpdlib offers unix.mode but leaves
	 * it out of MLSD unless asked.  Then binary mode.  Sent at once and
	 * answered in order (a round trip or two fewer per connection);
	 * only TYPE's answer matters.
	 */
	{
		bool mlst = (srv->feat & FTP_FEAT_MLST) != 0;
		int n = mlst ? 3 : 2, i;

		rc = ftp_send(c, "OPTS", "UTF8 ON");
		if (rc == 0 && mlst)
			rc = ftp_send(c, "OPTS",
			    "MLST type;size;modify;perm;unix.mode;unix.uid;"
			    "unix.gid;");
		if (rc == 0)
			rc = ftp_send(c, "TYPE", "I");
		for (i = 0; rc == 0 && i < n; i++) {
			ftp_reply_free(&rep);
			rc = ftp_read_reply(c, &rep, srv->cfg.cmd_timeout_ms);
		}
		if (rc < 0)
			goto io;
		if (rep.code != 200) {
			set_msg(msg, msglen,
			    "server refuses binary mode "
			    "(TYPE I): %d",
			    rep.code);
			rc = -EPROTO;
			goto fail;
		}
		ftp_reply_free(&rep);
	}
	if (need_root) {
		rc = learn_root(c, msg, msglen);
		if (rc < 0)
			goto io;
	}
	return 0;
io:
	set_msg(msg, msglen, "connection to %s lost during setup: %s",
	    srv->cfg.host, strerror(-rc));
fail:
	ftp_reply_free(&rep);
	return rc;
}

int
ftp_conn_open(
    struct ftp_server *srv, struct ftp_conn **out, char *msg, size_t msglen)
{
	struct ftp_conn *c;
	int rc;

	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return -ENOMEM;
	c->srv = srv;
	ftp_reply_reader_init(&c->rd);
	pthread_mutex_lock(&srv->lock);
	c->id = ++srv->next_id;
	pthread_mutex_unlock(&srv->lock);
	rc = conn_setup(c, msg, msglen);
	if (rc < 0) {
		ftp_conn_close(c, false);
		return rc;
	}
	*out = c;
	return 0;
}

int
ftp_conn_reopen(struct ftp_conn *c)
{
	char msg[256] = "";
	int rc;

	net_stream_close(c->ctl);
	c->ctl = NULL;
	c->in_off = c->in_len = 0;
	c->owed = false;
	c->broken = false;
	ftp_reply_reader_reset(&c->rd);
	log_debug("[%u] reconnecting for a clean control connection", c->id);
	rc = conn_setup(c, msg, sizeof(msg));
	if (rc == 0 && c->cwd != NULL) {
		struct ftp_reply rep;
		char *cwd = c->cwd;

		c->cwd = NULL;
		rc = ftp_cmd(c, &rep, "CWD", cwd);
		if (rc == 0 && rep.code != 250) {
			snprintf(msg, sizeof(msg),
			    "cannot enter %s again: %d %s", cwd, rep.code,
			    ftp_reply_last_line(&rep));
			rc = -EIO;
		} else if (rc < 0) {
			snprintf(
			    msg, sizeof(msg), "CWD %s: %s", cwd, strerror(-rc));
		}
		if (rc == 0 || rc == -EIO)
			ftp_reply_free(&rep);
		free(cwd);
	}
	if (rc < 0) {
		log_warn("[%u] %s", c->id, msg);
		net_stream_close(c->ctl);
		c->ctl = NULL;
		c->broken = true;
	}
	return rc;
}

void
ftp_conn_close(struct ftp_conn *c, bool graceful)
{
	if (c == NULL)
		return;
	if (graceful && !c->broken && c->ctl != NULL && c->xfer == NULL) {
		struct ftp_reply rep;

		c->owed = false; /* QUIT's brief wait reads whatever comes */
		if (ftp_send(c, "QUIT", NULL) == 0 &&
		    ftp_read_reply(c, &rep, QUIT_TIMEOUT_MS) == 0)
			ftp_reply_free(&rep);
	}
	net_stream_close(c->ctl);
	free(c->cwd);
	ftp_reply_reader_free(&c->rd);
	log_debug("[%u] closed", c->id);
	free(c);
}

int
ftp_server_path(
    struct ftp_server *srv, const char *path, char *out, size_t size)
{
	const char *root;
	size_t rl;
	int n;

	pthread_mutex_lock(&srv->lock);
	root = srv->root ? srv->root : "/";
	rl = strlen(root);
	while (rl > 1 && root[rl - 1] == '/')
		rl--;
	if (strcmp(path, "/") == 0)
		n = snprintf(out, size, "%.*s", (int)rl, root);
	else if (rl == 1)
		n = snprintf(out, size, "%s", path);
	else
		n = snprintf(out, size, "%.*s%s", (int)rl, root, path);
	pthread_mutex_unlock(&srv->lock);
	if (n < 0 || (size_t)n >= size || n > FTP_CMD_MAX - 16)
		return -ENAMETOOLONG;
	return 0;
}
