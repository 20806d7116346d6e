/* SPDX-License-Identifier: GPL-2.0-or-later */
/* ftp_data: data channels (contract in include/ftp_data.h). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ftp_data.h"
#include "ftp_parse.h"
#include "log.h"

/* How long to wait for the final reply after aborting a transfer. */
#define ABORT_REPLY_MS 2000

enum data_mode {
	DM_EPSV,
	DM_PASV,
	DM_COUNT,
};

static const char *const mode_names[DM_COUNT] = {
	[DM_EPSV] = "EPSV",
	[DM_PASV] = "PASV",
};

/* Is a 5xx the server saying it does not have the command at all? */
static bool
is_unsupported(int code)
{
	return code == 500 || code == 501 || code == 502 || code == 504 ||
	    code == 522;
}

/*
 * Passive setup: ask for a port, then connect to it (at the control
 * peer's address unless trust_pasv_address).  0 and *fd; -ENOTSUP when the
 * server refuses the command (try the next mode); other -errno.
 */
static int
passive_connect(struct ftp_conn *c, enum data_mode mode, int *fd)
{
	struct ftp_server *srv = c->srv;
	struct ftp_reply rep;
	struct net_addr addr = c->peer;
	unsigned port = 0;
	uint8_t ip[4];
	char want[64], got[64];
	int rc;

	rc = ftp_cmd(c, &rep, mode_names[mode], NULL);
	if (rc < 0)
		return rc;
	if (mode == DM_EPSV && rep.code == 229) {
		rc = ftp_parse_epsv(rep.text, rep.text_len, &port);
	} else if (mode == DM_PASV && rep.code == 227) {
		rc = ftp_parse_pasv(rep.text, rep.text_len, ip, &port);
		if (rc == 0) {
			struct net_addr announced;

			net_addr_from_v4(&announced, ip, port);
			if (srv->cfg.trust_pasv_address) {
				addr = announced;
			} else if (!net_addr_same_host(&announced, &c->peer)) {
				log_once(&srv->pasv_addr_warned, LOG_LVL_WARN,
				    __func__,
				    "server announces data address %s in "
				    "PASV; using %s, the control connection's "
				    "peer (-o trust_pasv_address to change)",
				    net_addr_str(&announced, got, sizeof(got)),
				    net_addr_str(&c->peer, want, sizeof(want)));
			}
		}
	} else if (rep.code >= 500 && is_unsupported(rep.code)) {
		log_debug("[%u] %s refused: %d %s", c->id, mode_names[mode],
		    rep.code, ftp_reply_last_line(&rep));
		ftp_reply_free(&rep);
		return -ENOTSUP;
	} else {
		log_warn("[%u] %s failed: %d %s", c->id, mode_names[mode],
		    rep.code, ftp_reply_last_line(&rep));
		rc = rep.code == 421 ? -ECONNRESET : -EIO;
		ftp_reply_free(&rep);
		return rc;
	}
	if (rc < 0) {
		log_warn("[%u] cannot parse %s reply: %s", c->id,
		    mode_names[mode], ftp_reply_last_line(&rep));
		ftp_reply_free(&rep);
		return -EPROTO;
	}
	ftp_reply_free(&rep);
	net_addr_set_port(&addr, port);
	rc = net_connect_addr(&addr, &c->local, srv->cfg.data_timeout_ms, fd);
	if (rc < 0) {
		log_warn("[%u] data connection (%s) to %s port %u failed: %s",
		    c->id, mode_names[mode],
		    net_addr_str(&addr, got, sizeof(got)), port, strerror(-rc));
		/*
		 * The server keeps a listener open for us and may later send
		 * an unsolicited reply about it (guide 1.9): don't reuse.
		 */
		c->broken = true;
	}
	return rc;
}

static int
open_channel(struct ftp_conn *c, int *fd)
{
	struct ftp_server *srv = c->srv;
	bool epsv_off;
	int rc;

	pthread_mutex_lock(&srv->lock);
	epsv_off = srv->epsv_off;
	pthread_mutex_unlock(&srv->lock);
	if (!epsv_off) {
		rc = passive_connect(c, DM_EPSV, fd);
		if (rc != -ENOTSUP)
			return rc;
		pthread_mutex_lock(&srv->lock);
		srv->epsv_off = true;
		pthread_mutex_unlock(&srv->lock);
		log_once(&srv->epsv_warned, LOG_LVL_INFO, __func__,
		    "server refuses EPSV, using PASV");
	}
	rc = passive_connect(c, DM_PASV, fd);
	if (rc == -ENOTSUP) {
		log_err("server refuses both EPSV and PASV");
		rc = -EIO;
	}
	return rc;
}

int
ftp_xfer_open(struct ftp_conn *c, const char *verb, const char *arg,
    int64_t rest, bool upload, struct ftp_reply *refusal)
{
	struct ftp_xfer *x;
	struct ftp_reply rep = { 0 };
	char num[32];
	int fd = -1, rc;

	if (refusal != NULL)
		memset(refusal, 0, sizeof(*refusal));
	if (c->xfer != NULL)
		return -EBUSY;
	x = calloc(1, sizeof(*x));
	if (x == NULL)
		return -ENOMEM;
	x->fd = -1;
	x->upload = upload;
	x->start = rest > 0 ? (uint64_t)rest : 0;

	rc = open_channel(c, &fd);
	if (rc < 0)
		goto fail;
	if (rest >= 0) {
		snprintf(num, sizeof(num), "%" PRId64, rest);
		rc = ftp_cmd(c, &rep, "REST", num);
		if (rc < 0)
			goto fail;
		if (rep.code != 350) {
			/* A lingering REST would poison the next transfer. */
			rc = rep.code == 554 ? -ERANGE : -EREMOTEIO;
			goto refused;
		}
		ftp_reply_free(&rep);
	}
	rc = ftp_cmd(c, &rep, verb, arg);
	if (rc < 0)
		goto fail;
	if (ftp_reply_is_prelim(rep.code)) {
		ftp_reply_free(&rep);
	} else if (ftp_reply_is_ok(rep.code)) {
		/* Broken servers skip the 1xx; the data is still coming. */
		x->done = true;
		x->final_code = rep.code;
		ftp_reply_free(&rep);
	} else {
		rc = -EREMOTEIO;
		goto refused;
	}
	x->fd = fd;
	net_tune_data(fd);
	c->xfer = x;
	return 0;
refused:
	log_debug("[%u] %s %s refused: %d %s", c->id, verb, arg ? arg : "",
	    rep.code, ftp_reply_last_line(&rep));
	if (rep.code == 421)
		c->broken = true;
	if (refusal != NULL)
		*refusal = rep;
	else
		ftp_reply_free(&rep);
	/*
	 * After a refused REST or transfer command the passive listener on
	 * the server just goes unused; the connection stays in sync.  But
	 * a refused REST must not leave an offset behind for the next RETR,
	 * and every RETR sends its own REST, so nothing lingers.
	 */
	net_close(fd);
	free(x);
	return rc;
fail:
	ftp_reply_free(&rep);
	net_close(fd);
	free(x);
	return rc;
}

ssize_t
ftp_xfer_read(struct ftp_conn *c, void *buf, size_t n)
{
	struct ftp_xfer *x = c->xfer;
	ssize_t r;

	if (x == NULL || x->upload)
		return -EBADF;
	if (x->eof)
		return 0;
	r = net_read(x->fd, buf, n, c->srv->cfg.cmd_timeout_ms);
	if (r > 0)
		x->bytes += (uint64_t)r;
	else if (r == 0)
		x->eof = true;
	else
		log_warn("[%u] data channel: %s after %" PRIu64 " bytes",
		    c->id, r == -ETIMEDOUT ? "server stalled" : strerror(-r),
		    x->bytes);
	return r;
}

int
ftp_xfer_write(struct ftp_conn *c, const void *buf, size_t n)
{
	struct ftp_xfer *x = c->xfer;
	int rc;

	if (x == NULL || !x->upload)
		return -EBADF;
	rc = net_write_all(x->fd, buf, n, c->srv->cfg.cmd_timeout_ms);
	if (rc == 0)
		x->bytes += n;
	else
		log_warn("[%u] data channel: %s after %" PRIu64 " bytes",
		    c->id, strerror(-rc), x->bytes);
	return rc;
}

static void
xfer_free(struct ftp_conn *c)
{
	free(c->xfer);
	c->xfer = NULL;
}

int
ftp_xfer_finish(struct ftp_conn *c, struct ftp_reply *refusal)
{
	struct ftp_xfer *x = c->xfer;
	struct ftp_reply rep = { 0 };
	int rc;

	if (refusal != NULL)
		memset(refusal, 0, sizeof(*refusal));
	if (x == NULL)
		return -EBADF;
	/* Close first: ProFTPD holds its 226 while the socket is open. */
	if (x->upload)
		net_shutdown_write(x->fd);
	net_close(x->fd);
	x->fd = -1;
	if (x->done) {
		rc = ftp_reply_is_ok(x->final_code) ? 0 : -EREMOTEIO;
		goto out;
	}
	do {
		ftp_reply_free(&rep);
		rc = ftp_read_reply(c, &rep, c->srv->cfg.cmd_timeout_ms);
		if (rc < 0) {
			log_warn("[%u] no final reply after transfer: %s",
			    c->id, strerror(-rc));
			goto out;
		}
	} while (ftp_reply_is_prelim(rep.code));
	if (ftp_reply_is_ok(rep.code)) {
		rc = 0;
	} else {
		log_warn("[%u] transfer failed: %d %s", c->id, rep.code,
		    ftp_reply_last_line(&rep));
		rc = -EREMOTEIO;
	}
out:
	if (rc == -EREMOTEIO && refusal != NULL)
		*refusal = rep;
	else
		ftp_reply_free(&rep);
	xfer_free(c);
	return rc;
}

void
ftp_xfer_abort(struct ftp_conn *c)
{
	struct ftp_xfer *x = c->xfer;
	struct ftp_reply rep;
	int rc;

	if (x == NULL)
		return;
	/* RST: the server's write fails at once (guide 2.7). */
	net_close_reset(x->fd);
	x->fd = -1;
	if (!x->done && !c->broken) {
		/*
		 * Expect 426/451, or 226 when the transfer had already
		 * completed; Pure-FTPd may end with a bare 150 instead.
		 */
		rc = ftp_read_reply(c, &rep, ABORT_REPLY_MS);
		if (rc == 0)
			ftp_reply_free(&rep);
		else
			c->broken = true;
	}
	if (!c->broken)
		ftp_conn_resync(c);
	log_debug("[%u] transfer aborted after %" PRIu64 " bytes%s", c->id,
	    x->bytes, c->broken ? " (connection dropped)" : "");
	xfer_free(c);
}
