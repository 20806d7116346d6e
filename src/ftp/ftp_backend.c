/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ftp_backend: struct backend over FTP (contract in include/ftp_backend.h).
 *
 * This file: life cycle, the pool glue, errno mapping.  Listings and stat
 * live in ftp_meta.c, open files in ftp_file.c.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ftp_backend.h"
#include "ftp_be.h"
#include "ftp_conn.h"
#include "ftp_data.h"
#include "ftp_list.h"
#include "ftp_parse.h"
#include "log.h"
#include "pool.h"
#include "tls.h"
#include "url.h"

/* Largest number of seconds an option takes (milliseconds fit an int). */
#define FTP_OPT_MAX_SECONDS (INT_MAX / 1000)

/*
 * The one place that turns FTP replies into errno.  550 texts differ per
 * server; the words used here are the ones the four servers
 * we test against, IIS and FileZilla Server send.
 */
int
ftp_errno(const struct ftp_reply *rep, enum ftp_op op)
{
	const char *t = rep->text ? ftp_reply_last_line(rep) : "";

	switch (rep->code) {
	case 421:
		return -ECONNRESET;
	case 425:
	case 426:
		return -EIO;
	case 451:
		/* Pure-FTPd: "451 Rename/move failure: Permission denied" */
		if (strcasestr(t, "permission denied"))
			return -EACCES;
		if (strcasestr(t, "not empty"))
			return -ENOTEMPTY;
		if (strcasestr(t, "is a directory"))
			return -EISDIR;
		return -EIO;
	case 450:
		return -EAGAIN;
	case 452:
	case 552:
		return -ENOSPC;
	case 530:
	case 532:
		return -EACCES;
	case 500:
	case 502:
		return -ENOSYS;
	case 501:
		/* ProFTPD MFMT: "501 x: Operation not permitted" */
		if (strcasestr(t, "not permitted"))
			return -EPERM;
		return -EINVAL;
	case 504:
		return -ENOTSUP;
	case 553:
		return -EACCES;
	case 550:
		if (strcasestr(t, "not a directory"))
			return -ENOTDIR;
		if (strcasestr(t, "is a directory") ||
		    strcasestr(t, "not a regular file") ||
		    strcasestr(t, "not a plain file") ||
		    strcasestr(t, "only retrieve regular"))
			return -EISDIR;
		if (strcasestr(t, "permission") || strcasestr(t, "denied") ||
		    strcasestr(t, "not permitted") ||
		    strcasestr(t, "access is"))
			return -EACCES;
		if (strcasestr(t, "not empty"))
			return -ENOTEMPTY;
		if (strcasestr(t, "exists"))
			return -EEXIST;
		return -ENOENT;
	default:
		break;
	}
	(void)op;
	return -EIO;
}

void
ftp_log_refusal(
    const char *what, const char *path, const struct ftp_reply *rep, int err)
{
	log_debug("%s %s: %d %s -> %s", what, path, rep->code,
	    ftp_reply_last_line(rep), strerror(-err));
}

/* ---- pool glue ---------------------------------------------------- */

static int
pool_connect(void *ctx, void **conn)
{
	struct ftp_be *fb = ctx;
	struct ftp_conn *c = NULL;
	char msg[256] = "";
	int rc;

	rc = ftp_conn_open(&fb->srv, &c, msg, sizeof(msg));
	if (rc < 0) {
		if (rc == -EUSERS || rc == -EINTR || pool_server_lost(fb->pool))
			log_msg(rc == -EUSERS ? LOG_LVL_INFO : LOG_LVL_DEBUG,
			    __func__, "%s", msg);
		else
			log_warn("%s", msg);
		return rc;
	}
	/* The server answers: what a failed upload left goes first. */
	ftp_orphans_sweep(fb, c);
	*conn = c;
	return 0;
}

static int
pool_check(void *ctx, void *conn)
{
	(void)ctx;
	return ftp_conn_check_idle(conn);
}

static int
pool_reset(void *ctx, void *conn)
{
	struct ftp_conn *c = conn;

	(void)ctx;
	ftp_xfer_abort(c);
	return c->broken ? -ECONNRESET : 0;
}

/*
 * -o keepalive: NOOP on an idle connection.  Anything but a 2xx (a 421
 * "timeout" the server sent meanwhile, no answer within cmd_timeout) ends
 * it.  (ProFTPD's TimeoutNoTransfer does not count NOOP: there the session
 * still ends after that long without a transfer, and the pool logs in
 * again when needed.)
 */
static int
pool_keepalive(void *ctx, void *conn)
{
	struct ftp_conn *c = conn;
	int rc, code = 0;

	(void)ctx;
	rc = ftp_conn_check_idle(c);
	if (rc == 0)
		rc = ftp_cmd_code(c, &code, "NOOP", NULL);
	if (rc == 0 && !ftp_reply_is_ok(code))
		rc = -ECONNRESET;
	if (rc < 0)
		c->broken = true;
	log_debug("[%u] keepalive: %s", c->id, rc == 0 ? "ok" : strerror(-rc));
	return rc;
}

static void
pool_destroy_conn(void *ctx, void *conn, bool graceful)
{
	struct ftp_conn *c = conn;

	(void)ctx;
	if (c->xfer != NULL)
		ftp_xfer_abort(c);
	ftp_conn_close(c, graceful);
}

static const struct pool_conn_ops ftp_pool_ops = {
	.connect = pool_connect,
	.check = pool_check,
	.reset = pool_reset,
	.destroy = pool_destroy_conn,
	.keepalive = pool_keepalive,
};

bool
ftp_is_conn_error(int rc)
{
	return rc == -ECONNRESET || rc == -EPIPE || rc == -ECONNABORTED ||
	    rc == -ENOTCONN || rc == -EPROTO;
}

int
ftp_checkout_settled(struct ftp_be *fb, struct ftp_conn **out)
{
	struct ftp_conn *c;
	int rc, attempt;

	for (attempt = 0; attempt < 2; attempt++) {
		rc = pool_checkout(fb->pool, (void **)&c);
		if (rc < 0)
			return rc;
		rc = ftp_conn_settle(c);
		if (rc == 0) {
			*out = c;
			return 0;
		}
		log_info("[%u] the session ended after a download (%s)%s",
		    c->id, strerror(-rc), attempt == 0 ? ": another one" : "");
		pool_checkin(fb->pool, c, false);
	}
	return rc;
}

/*
 * Run fn on a pooled connection.  Idempotent operations are retried once
 * on a fresh connection when the first one turns out dead (421, EOF):
 * pooled connections die of idle timeouts all the time.
 */
int
ftp_with_conn(struct ftp_be *fb, ftp_conn_fn fn, void *arg, bool idempotent)
{
	struct ftp_conn *c;
	bool broken;
	int rc, attempt;

	for (attempt = 0;; attempt++) {
		/* a change is not retried: it goes on a live session */
		rc = idempotent ? pool_checkout(fb->pool, (void **)&c)
		                : ftp_checkout_settled(fb, &c);
		if (rc < 0)
			return rc;
		ftp_orphans_sweep(fb, c);
		rc = fn(fb, c, arg);
		broken = c->broken;
		pool_checkin(fb->pool, c, !broken);
		if (broken && rc == -ETIMEDOUT)
			pool_timed_out(fb->pool, rc);
		if (!broken || !idempotent || attempt > 0 ||
		    !ftp_is_conn_error(rc))
			break;
		log_info("connection lost (%s); retrying once", strerror(-rc));
	}
	return rc;
}
/* ---- life cycle ------------------------------------------------------ */

static void
ftpb_destroy(struct backend *b)
{
	struct ftp_be *fb = b->priv;

	pool_destroy(fb->pool);
	ftp_orphans_free(fb);
	pthread_mutex_destroy(&fb->orphan_lock);
	ftp_server_free(&fb->srv);
	free(fb);
}

static const struct backend_ops ftp_ops = {
	.name = "ftp",
	.stat = ftp_be_stat,
	.list = ftp_be_list,
	.readlink = ftp_be_readlink,
	.open = ftp_be_open,
	.read = ftp_be_read,
	.read_pipe = ftp_be_read_pipe,
	.write = ftp_be_write,
	.flush = ftp_be_flush,
	.release = ftp_be_release,
	.abandon = ftp_be_abandon,
	.mkdir = ftp_be_mkdir,
	.rmdir = ftp_be_rmdir,
	.unlink = ftp_be_unlink,
	.unlink_later = ftp_be_unlink_later,
	.rename = ftp_be_rename,
	.chmod = ftp_be_chmod,
	.set_mtime = ftp_be_set_mtime,
	.truncate = ftp_be_truncate,
	.access = ftp_be_access,
	.symlink = ftp_be_symlink,
	.destroy = ftpb_destroy,
};

void
ftp_config_defaults(struct ftp_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->port = 21;
	cfg->root = "/";
	cfg->connections = 4;
	cfg->connect_timeout_ms = 10000;
	cfg->cmd_timeout_ms = 30000;
	cfg->data_timeout_ms = 10000;
	cfg->idle_timeout_ms = 60000;
	cfg->data_mode = FTP_DATA_AUTO;
}

/* Check the mount root on the first connection: fail the mount early. */
static int
check_root(struct ftp_be *fb, struct ftp_conn *c, char *msg, size_t msglen)
{
	struct ftp_reply rep;
	char abs[FTP_PATH_MAX];
	int rc, code;

	rc = ftp_server_path(&fb->srv, "/", abs, sizeof(abs));
	if (rc < 0) {
		snprintf(msg, msglen, "remote path too long");
		return rc;
	}
	rc = ftp_cmd(c, &rep, "CWD", abs);
	if (rc < 0) {
		snprintf(msg, msglen, "connection lost: %s", strerror(-rc));
		return rc;
	}
	if (rep.code != 250) {
		rc = ftp_errno(&rep, OP_CWD);
		if (rc != -EACCES && rc != -ENOTDIR)
			rc = -ENOENT;
		snprintf(msg, msglen, "remote directory %s: %s (%d %s)", abs,
		    strerror(-rc), rep.code, ftp_reply_last_line(&rep));
		/* CWD says 550 for a file too: MDTM answers only for files */
		if (rc == -ENOTDIR ||
		    (rc == -ENOENT &&
		        ftp_cmd_code(c, &code, "MDTM", abs) == 0 &&
		        code == 213)) {
			rc = -ENOTDIR;
			snprintf(msg, msglen,
			    "remote path %s is a file, not a directory: mount "
			    "the directory it is in",
			    abs);
		}
	}
	ftp_reply_free(&rep);
	return rc;
}

int
ftp_backend_new(const struct ftp_config *cfg, struct backend **out, char *msg,
    size_t msglen)
{
	struct pool_config pc;
	struct ftp_be *fb;
	struct ftp_conn *c = NULL;
	bool prot_p;
	int rc;

	fb = calloc(1, sizeof(*fb));
	if (fb == NULL)
		return -ENOMEM;
	rc = ftp_server_init(&fb->srv, cfg);
	if (rc < 0) {
		free(fb);
		return rc;
	}
	pthread_mutex_init(&fb->orphan_lock, NULL);
	if (cfg->tls != FTP_TLS_OFF) {
		struct tls_config tc = {
			.host = cfg->host,
			.cafile = cfg->cafile,
			.fingerprint = cfg->fingerprint,
			.insecure = cfg->insecure,
		};

		rc = tls_ctx_new(&tc, &fb->srv.tls, msg, msglen);
		if (rc < 0)
			goto fail;
		if (cfg->insecure)
			log_warn("-o insecure: the certificate of %s is not "
			         "checked; anyone on the way can read and "
			         "change this mount's traffic",
			    cfg->host);
	} else if (cfg->cafile || cfg->fingerprint || cfg->insecure) {
		log_warn("-o cafile, fingerprint and insecure apply to TLS "
		         "only (ftps://, ftpes:// or -o tls=): ignored");
	}
	/* The first connection is opened here so its errors reach the user. */
	rc = ftp_conn_open(&fb->srv, &c, msg, msglen);
	if (rc < 0)
		goto fail;
	rc = check_root(fb, c, msg, msglen);
	if (rc < 0)
		goto fail;
	pc = (struct pool_config){
		.max = cfg->connections ? cfg->connections : 1,
		.idle_timeout_ms = cfg->idle_timeout_ms,
		.keepalive_ms = cfg->keepalive_ms,
		.park_timeout_ms = 20000,
		.wait_timeout_ms = cfg->cmd_timeout_ms * 2,
	};
	rc = pool_new(&pc, &ftp_pool_ops, fb, &fb->pool);
	if (rc < 0) {
		snprintf(msg, msglen, "cannot create the connection pool");
		goto fail;
	}
	/* Hand the checked connection to the pool as its first member. */
	prot_p = c->prot_p;
	pool_adopt(fb->pool, c);
	c = NULL;
	fb->be.ops = &ftp_ops;
	fb->be.priv = fb;
	if (fb->srv.feat & FTP_FEAT_MLST)
		fb->be.caps |= BCAP_CHEAP_STAT;
	log_info("mounted %s port %u, remote directory %s (%s%s)",
	    fb->srv.cfg.host, fb->srv.cfg.port, fb->srv.root,
	    fb->srv.feat & FTP_FEAT_MLST ? "MLSD" : "LIST",
	    fb->srv.tls == NULL ? ""
	        : prot_p        ? ", TLS"
	                        : ", TLS control only");
	*out = &fb->be;
	return 0;
fail:
	ftp_conn_close(c, rc != -EACCES);
	pthread_mutex_destroy(&fb->orphan_lock);
	ftp_server_free(&fb->srv);
	free(fb);
	return rc;
}

/* ---- options and the factory's entry ------------------------------- */

/* "key=N" with min <= N <= max, into *out: 1, or -1 with msg. */
static int
opt_number(const char *arg, unsigned long min, unsigned long max,
    unsigned long *out, char *msg, size_t msglen)
{
	if (backend_opt_number(arg, min, max, out) == 0)
		return 1;
	snprintf(msg, msglen,
	    "invalid -o %s: expected a whole number from %lu to %lu", arg, min,
	    max);
	return -1;
}

static int
opt_data_mode(struct ftp_config *cfg, const char *arg, char *msg, size_t msglen)
{
	enum ftp_data_mode m;

	if (strcmp(arg, "data_mode=auto") == 0) {
		m = FTP_DATA_AUTO;
	} else if (strcmp(arg, "data_mode=passive") == 0 ||
	    strcmp(arg, "passive") == 0) {
		m = FTP_DATA_PASSIVE;
	} else if (strcmp(arg, "data_mode=active") == 0 ||
	    strcmp(arg, "active") == 0 || strcmp(arg, "ftp_port") == 0) {
		m = FTP_DATA_ACTIVE;
	} else {
		snprintf(msg, msglen,
		    "-o %s: expected data_mode=auto, passive or active", arg);
		return -1;
	}
	if (cfg != NULL)
		cfg->data_mode = m;
	return 1;
}

static int
opt_port_range(
    struct ftp_config *cfg, const char *arg, char *msg, size_t msglen)
{
	unsigned long lo, hi;
	char *end;

	errno = 0;
	lo = strtoul(arg + strlen("port_range="), &end, 10);
	if (errno == 0 && *end == '-')
		hi = strtoul(end + 1, &end, 10);
	else
		hi = 0;
	if (errno != 0 || *end != '\0' || lo < 1024 || hi > 65535 || lo > hi) {
		snprintf(msg, msglen,
		    "-o %s: expected port_range=LOW-HIGH with "
		    "1024 <= LOW <= HIGH <= 65535",
		    arg);
		return -1;
	}
	if (cfg != NULL) {
		cfg->port_lo = (unsigned)lo;
		cfg->port_hi = (unsigned)hi;
	}
	return 1;
}

/* -o tls=, cafile=, fingerprint=, insecure. */
static int
opt_tls(struct ftp_config *cfg, const char *arg, char *msg, size_t msglen)
{
	const char *v = strchr(arg, '=');

	if (strcmp(arg, "insecure") == 0) {
		if (cfg != NULL)
			cfg->insecure = true;
		return 1;
	}
	if (v == NULL)
		return 0;
	v++;
	if (strncmp(arg, "tls=", 4) == 0) {
		enum ftp_tls_mode m;

		if (strcmp(v, "try") == 0) {
			m = FTP_TLS_TRY;
		} else if (strcmp(v, "require") == 0) {
			m = FTP_TLS_REQUIRE;
		} else if (strcmp(v, "no") == 0 || strcmp(v, "off") == 0) {
			m = FTP_TLS_OFF;
		} else {
			snprintf(msg, msglen,
			    "-o %s: expected tls=try, tls=require or tls=no",
			    arg);
			return -1;
		}
		if (cfg != NULL)
			cfg->tls = m;
		return 1;
	}
	if (strncmp(arg, "cafile=", 7) == 0) {
		if (*v == '\0') {
			snprintf(msg, msglen, "-o cafile= needs a file name");
			return -1;
		}
		if (cfg != NULL)
			cfg->cafile = v;
		return 1;
	}
	if (strncmp(arg, "fingerprint=", 12) == 0) {
		if (!tls_fingerprint_ok(v)) {
			snprintf(msg, msglen,
			    "-o %s: expected fingerprint=sha256: and 64 "
			    "hexadecimal digits (colons allowed)",
			    arg);
			return -1;
		}
		if (cfg != NULL)
			cfg->fingerprint = v;
		return 1;
	}
	return 0;
}

int
ftp_backend_opt(
    struct ftp_config *cfg, const char *arg, char *msg, size_t msglen)
{
	static const char *const need_value[] = { "data_timeout", "data_mode",
		"port_range", "tls", "cafile", "fingerprint", "time_offset",
		"keepalive" };
	unsigned long v;
	size_t i;
	int rc;

	for (i = 0; i < sizeof(need_value) / sizeof(need_value[0]); i++)
		if (strcmp(arg, need_value[i]) == 0) {
			snprintf(msg, msglen, "-o %s needs a value (-o %s=...)",
			    arg, arg);
			return -1;
		}
	if (strncmp(arg, "data_timeout=", 13) == 0) {
		rc = opt_number(arg, 1, FTP_OPT_MAX_SECONDS, &v, msg, msglen);
		if (rc > 0 && cfg != NULL)
			cfg->data_timeout_ms = (int)v * 1000;
		return rc;
	}
	if (strncmp(arg, "keepalive=", 10) == 0) {
		rc = opt_number(arg, 0, FTP_OPT_MAX_SECONDS, &v, msg, msglen);
		if (rc > 0 && cfg != NULL)
			cfg->keepalive_ms = (int)v * 1000;
		return rc;
	}
	if (strncmp(arg, "data_mode=", 10) == 0 ||
	    strcmp(arg, "passive") == 0 || strcmp(arg, "active") == 0 ||
	    strcmp(arg, "ftp_port") == 0)
		return opt_data_mode(cfg, arg, msg, msglen);
	if (strncmp(arg, "port_range=", 11) == 0)
		return opt_port_range(cfg, arg, msg, msglen);
	if (strcmp(arg, "trust_pasv_address") == 0) {
		if (cfg != NULL)
			cfg->trust_pasv_address = true;
		return 1;
	}
	if (strcmp(arg, "no_mlsd") == 0) {
		if (cfg != NULL)
			cfg->disable_mlsd = true;
		return 1;
	}
	if (strncmp(arg, "time_offset=", 12) == 0) {
		long secs = 0;

		if (strcmp(arg + 12, "auto") != 0 &&
		    ftp_parse_time_offset(arg + 12, &secs) < 0) {
			snprintf(msg, msglen,
			    "-o %s: expected auto or hours ahead of UTC, "
			    "[+|-]H[:MM] (time_offset=+5:30, time_offset=-8)",
			    arg);
			return -1;
		}
		if (cfg != NULL) {
			cfg->time_offset = secs;
			cfg->time_offset_auto = strcmp(arg + 12, "auto") == 0;
		}
		return 1;
	}
	return opt_tls(cfg, arg, msg, msglen);
}

int
ftp_backend_open(const struct url *u, const struct backend_opts *opts,
    struct backend **out, char *msg, size_t msglen)
{
	struct ftp_config cfg;
	size_t i;

	ftp_config_defaults(&cfg);
	cfg.host = u->host;
	cfg.port = u->port;
	cfg.root = u->path;
	cfg.root_absolute = u->path_absolute;
	cfg.user = opts->user;
	cfg.password = opts->password;
	cfg.account = opts->account;
	if (opts->connections > 0)
		cfg.connections = opts->connections;
	if (opts->connect_timeout_ms > 0)
		cfg.connect_timeout_ms = opts->connect_timeout_ms;
	for (i = 0; i < opts->nextra; i++)
		if (ftp_backend_opt(&cfg, opts->extra[i], msg, msglen) < 0)
			return -EINVAL;
	/* The scheme's promise wins over -o tls=: never a silent downgrade. */
	if (u->scheme == URL_FTPES)
		cfg.tls = FTP_TLS_REQUIRE;
	else if (u->scheme == URL_FTPS)
		cfg.tls = FTP_TLS_IMPLICIT;
	return ftp_backend_new(&cfg, out, msg, msglen);
}

void
ftp_backend_print_help(void)
{
	/* clang-format off */
	printf(
"FTP options:\n"
"    -o data_timeout=S      give up opening a data connection after S\n"
"                           seconds (default 10) and try the next mode\n"
"    -o data_mode=MODE      auto (default): EPSV, PASV, EPRT, PORT, switching\n"
"                           on its own and remembering what works;\n"
"                           passive: EPSV/PASV only; active: EPRT/PORT only\n"
"                           (-o passive and -o active are short forms)\n"
"    -o port_range=LO-HI    listen on these ports in active mode\n"
"    -o trust_pasv_address  connect to the address a PASV reply names, not\n"
"                           to the server's own address\n"
"    -o no_mlsd             list directories with LIST even when the server\n"
"                           offers MLSD\n"
"    -o keepalive=S         NOOP every S seconds on the last idle connection,\n"
"                           which then stays logged in (default 0: off; idle\n"
"                           connections close after 60 s and the next request\n"
"                           logs in again); below the server's idle timeout\n"
"                           (vsftpd, pyftpdlib: 300 s)\n"
"    -o time_offset=H[:MM]|auto\n"
"                           the server lists local time this far ahead of\n"
"                           UTC (+5:30, -8); auto: learnt at the first upload\n"
"\n"
"FTPS (ftpes:// explicit TLS, port 21; ftps:// implicit TLS, port 990):\n"
"    -o tls=try|require     ftp:// with AUTH TLS: try (clear text, with a\n"
"                           warning, when the server refuses) or require\n"
"    -o cafile=FILE         trust the CA certificates in FILE (PEM) instead\n"
"                           of the system's\n"
"    -o fingerprint=sha256:HEX\n"
"                           trust exactly the certificate with this SHA-256\n"
"                           fingerprint (a refused mount prints it)\n"
"    -o insecure            check no certificate (warns on every mount)\n"
"\n");
	/* clang-format on */
}
