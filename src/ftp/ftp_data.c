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
#include "tls.h"

/* How long to wait for the final reply after aborting a transfer. */
#define ABORT_REPLY_MS 2000
/* How long to wait for a refusal after the server closed a TLS data channel. */
#define REFUSAL_REPLY_MS 2000
/* Largest SO_RCVLOWAT a download asks for. */
#define RCVLOWAT_MAX (256 * 1024)
/* How long a download may wait for that much before it stops asking. */
#define RCVLOWAT_WAIT_MS 250
/* How often a mount that fell back re-tries its first choice. */
#define RETRY_FIRST_MS (10 * 60 * 1000)
/* After every mode failed, data operations fail at once for this long. */
#define BLOCKED_MS (30 * 1000)

static const char *const mode_names[FTP_DM_COUNT] = {
	[FTP_DM_EPSV] = "EPSV",
	[FTP_DM_PASV] = "PASV",
	[FTP_DM_EPRT] = "EPRT",
	[FTP_DM_PORT] = "PORT",
};

/*
 * Outcomes of one attempt, besides 0 and ordinary -errno:
 *  -ENOTSUP       the server rejects this mode's command: skip the mode
 *                 for the rest of the mount (control connection fine);
 *  -ECONNABORTED  the data connection could not be made (refused, timed
 *                 out, 425/426): the channel is blocked in this mode; the
 *                 control connection must be replaced before the next.
 */
#define DM_BLOCKED (-ECONNABORTED)
/*
 * The data connection's TLS session was not resumed and control
 * connections now use TLS 1.2 (tls_resume_refused): go again on a new
 * control connection, in the same mode.
 */
#define DM_AGAIN (-ESTALE)

static bool
is_mode_refusal(int code)
{
	return code == 500 || code == 501 || code == 502 || code == 504 ||
	    code == 522;
}

static bool
is_passive(int mode)
{
	return mode == FTP_DM_EPSV || mode == FTP_DM_PASV;
}

/* Why a data connection failed, for the one log line per switch. */
static const char *
blocked_why(int err)
{
	switch (err) {
	case -ETIMEDOUT:
		return "timed out (blocked by a firewall?)";
	case -ECONNREFUSED:
		return "refused";
	case -EHOSTUNREACH:
	case -ENETUNREACH:
		return "unreachable";
	default:
		return strerror(-err);
	}
}

/* REST (when asked) and the transfer command; the 1xx is read later. */
static int
send_rest(struct ftp_conn *c, int64_t rest, struct ftp_reply *rep)
{
	char num[32];
	int rc;

	if (rest < 0)
		return 0;
	snprintf(num, sizeof(num), "%" PRId64, rest);
	rc = ftp_cmd(c, rep, "REST", num);
	if (rc < 0)
		return rc;
	if (rep->code != 350)
		return rep->code == 554 ? -ERANGE : -EREMOTEIO;
	ftp_reply_free(rep);
	return 0;
}

/*
 * The answer to the transfer command.  0 (1xx, or a 2xx from a server
 * that skips the 1xx: *done set), DM_BLOCKED for 425/426, or -EREMOTEIO
 * with the refusal in *rep.
 */
static int
classify_prelim(
    struct ftp_conn *c, struct ftp_reply *rep, bool *done, int *final_code)
{
	if (ftp_reply_is_prelim(rep->code)) {
		ftp_reply_free(rep);
		return 0;
	}
	if (ftp_reply_is_ok(rep->code)) {
		*done = true;
		*final_code = rep->code;
		ftp_reply_free(rep);
		return 0;
	}
	if (rep->code == 425 || rep->code == 426) {
		log_debug("[%u] data connection failed: %d %s", c->id,
		    rep->code, ftp_reply_last_line(rep));
		ftp_reply_free(rep);
		return DM_BLOCKED;
	}
	return -EREMOTEIO;
}

/* Read the answer to the transfer command (classify_prelim). */
static int
read_prelim(struct ftp_conn *c, struct ftp_reply *rep, int timeout_ms,
    bool *done, int *final_code)
{
	int rc = ftp_read_reply(c, rep, timeout_ms);

	return rc < 0 ? rc : classify_prelim(c, rep, done, final_code);
}

/*
 * The server closed the data connection during the handshake, before any
 * 1xx: it may have refused the command and dropped the connection it had
 * accepted for it (ProFTPD: "451 Append/Restart not permitted" to APPE,
 * a 550 to RETR), with the refusal still on its way.  Then that reply is
 * the answer (the control connection is in step); 1 when none came.
 */
static int
refused_data(struct ftp_conn *c, struct ftp_reply *rep, struct ftp_xfer *x,
    const char *msg)
{
	int rc = ftp_read_reply(c, rep, REFUSAL_REPLY_MS);

	if (rc < 0)
		return 1;
	if (ftp_reply_is_prelim(rep->code) || ftp_reply_is_ok(rep->code)) {
		ftp_reply_free(rep); /* a transfer under way, without us */
		return 1;
	}
	log_debug("[%u] data channel: %s; the server refused the transfer: "
	          "%d %s",
	    c->id, msg, rep->code, ftp_reply_last_line(rep));
	return classify_prelim(c, rep, &x->done, &x->final_code);
}

/*
 * PROT P: the TLS handshake on the data channel, after the transfer
 * command (before it, vsftpd, ProFTPD and pure-ftpd all time out) and in
 * whichever order the server wants it relative to its 1xx: vsftpd sends
 * 150 first, ProFTPD only after the handshake.  *prelim says whether the
 * 1xx was read; it is read here when it comes first.  The handshake
 * resumes the control connection's session (vsftpd require_ssl_reuse).
 */
static int
data_tls(
    struct ftp_conn *c, struct ftp_reply *rep, struct ftp_xfer *x, bool *prelim)
{
	int64_t deadline = net_now_ms() + c->srv->cfg.cmd_timeout_ms;
	char msg[512] = "", desc[128];
	int rc, left;

	rc = tls_wrap(c->srv->tls, &x->data, c->ctl);
	if (rc < 0)
		return rc;
	for (;;) {
		left = (int)(deadline - net_now_ms());
		if (!*prelim && c->in_len > c->in_off)
			rc = 1;
		else
			rc = tls_handshake(x->data, *prelim ? NULL : c->ctl,
			    left > 0 ? left : 0, msg, sizeof(msg));
		if (rc == 0)
			break;
		if (rc == 1) {
			rc = read_prelim(c, rep, c->srv->cfg.cmd_timeout_ms,
			    &x->done, &x->final_code);
			if (rc < 0)
				return rc;
			*prelim = true;
			continue;
		}
		if ((rc == -ECONNRESET || rc == -EPROTO) && !*prelim) {
			rc = refused_data(c, rep, x, msg);
			if (rc != 1)
				return rc;
		}
		log_warn("[%u] data channel: %s", c->id, msg);
		c->broken = true; /* the server's side is in an unknown state */
		return rc == -EACCES ? rc : -EPROTO;
	}
	log_debug("[%u] data channel: %s", c->id,
	    tls_describe(x->data, desc, sizeof(desc)));
	if (tls_resume_refused(c->srv->tls, x->data)) {
		log_info("[%u] the server did not resume its TLS 1.3 session "
		         "on a data connection (single-use tickets); control "
		         "connections use TLS 1.2 from now on",
		    c->id);
		c->broken = true;
		return DM_AGAIN;
	}
	return 0;
}

/*
 * A data-setup command (EPSV, PASV, EPRT, PORT): its reply is due within
 * data_timeout, not the longer command deadline.  A server that is still
 * trying to reach us (pyftpdlib connects while handling EPRT, and answers
 * only when its own 30 s are up) is a blocked channel, not a slow one.
 */
static int
setup_cmd(struct ftp_conn *c, const char *verb, const char *arg,
    struct ftp_reply *rep, struct ftp_xfer *x)
{
	const char *cwd = c->xfer_cwd;
	struct ftp_reply skip;
	int rc = 0;

	/* A CWD asked for (a listing's folder) goes out in the same flight:
	   servers read and answer commands in order. */
	c->xfer_cwd = NULL;
	if (cwd != NULL)
		rc = ftp_send(c, "CWD", cwd);
	if (rc == 0)
		rc = ftp_send(c, verb, arg);
	/* The last download's final reply comes first (the command went
	   out behind it); its wait is not this channel's: a late one or a
	   session that ended is not a blocked channel. */
	if (rc == 0 && c->owed) {
		rc = ftp_conn_settle(c);
		if (rc < 0)
			return rc;
	}
	if (rc == 0 && cwd != NULL) {
		rc = ftp_read_reply(c, rep, c->srv->cfg.cmd_timeout_ms);
		if (rc < 0)
			return rc;
		if (rep->code == 250) {
			ftp_conn_entered(c, cwd);
			ftp_reply_free(rep);
		} else {
			/* Refused: its reply is the refusal; the mode
			   command's answer is read and dropped (nothing
			   connects to a port it opened). */
			c->cwd_refused = true;
			rc = ftp_read_reply(
			    c, &skip, c->srv->cfg.data_timeout_ms);
			if (rc < 0) {
				c->broken = true;
				return rc;
			}
			ftp_reply_free(&skip);
			return -EREMOTEIO;
		}
	}
	if (rc == 0)
		rc = ftp_read_reply(c, rep, c->srv->cfg.data_timeout_ms);
	if (rc == -ETIMEDOUT) {
		log_debug("[%u] no answer to %s within the data timeout", c->id,
		    verb);
		c->broken = true;
		x->why = rc;
		return DM_BLOCKED;
	}
	return rc;
}

/* EPSV/PASV: ask for a port, connect, then REST and the command. */
static int
try_passive(struct ftp_conn *c, int mode, const char *verb, const char *arg,
    int64_t rest, struct ftp_reply *rep, struct ftp_xfer *x)
{
	struct ftp_server *srv = c->srv;
	struct net_addr addr = c->peer;
	unsigned port = 0;
	uint8_t ip[4];
	char want[64], got[64];
	bool prelim = false;
	int rc, fd = -1;

	rc = setup_cmd(c, mode_names[mode], NULL, rep, x);
	if (rc < 0)
		return rc;
	if (mode == FTP_DM_EPSV && rep->code == 229) {
		rc = ftp_parse_epsv(rep->text, rep->text_len, &port);
	} else if (mode == FTP_DM_PASV && rep->code == 227) {
		rc = ftp_parse_pasv(rep->text, rep->text_len, ip, &port);
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
	} else if (is_mode_refusal(rep->code)) {
		log_debug("[%u] %s refused: %d %s", c->id, mode_names[mode],
		    rep->code, ftp_reply_last_line(rep));
		ftp_reply_free(rep);
		return -ENOTSUP;
	} else {
		log_warn("[%u] %s failed: %d %s", c->id, mode_names[mode],
		    rep->code, ftp_reply_last_line(rep));
		if (rep->code == 421)
			c->broken = true;
		ftp_reply_free(rep);
		return DM_BLOCKED;
	}
	if (rc < 0) {
		/* Garbled: try the next mode now, this one again next time. */
		log_warn("[%u] cannot parse %s reply: %s", c->id,
		    mode_names[mode], ftp_reply_last_line(rep));
		ftp_reply_free(rep);
		return DM_BLOCKED;
	}
	ftp_reply_free(rep);
	net_addr_set_port(&addr, port);
	rc = net_connect_addr(&addr, &c->local, srv->cfg.data_timeout_ms, &fd);
	if (rc < 0) {
		log_debug("[%u] %s data connection to %s port %u: %s", c->id,
		    mode_names[mode], net_addr_str(&addr, got, sizeof(got)),
		    port, strerror(-rc));
		/*
		 * The server keeps a listener open for us and may later send
		 * an unsolicited reply about it: don't reuse.
		 */
		c->broken = true;
		x->why = rc;
		return DM_BLOCKED;
	}
	net_tune_data(fd);
	rc = net_stream_plain(fd, &x->data);
	if (rc < 0) {
		c->broken = true; /* the server waits on its listener */
		return rc;
	}
	rc = send_rest(c, rest, rep);
	if (rc == 0)
		rc = ftp_send(c, verb, arg);
	if (rc == 0 && c->prot_p)
		rc = data_tls(c, rep, x, &prelim);
	if (rc == 0 && !prelim)
		rc = read_prelim(c, rep, c->srv->cfg.cmd_timeout_ms, &x->done,
		    &x->final_code);
	if (rc == DM_BLOCKED)
		x->why = -ECONNREFUSED; /* 425 although we connected */
	if (rc < 0) {
		net_stream_close(x->data);
		x->data = NULL;
	}
	return rc;
}

/* "EPRT |1|a.b.c.d|port|" / "|2|v6|port|" or "PORT h1,h2,h3,h4,p1,p2". */
static int
active_arg(int mode, const struct net_addr *l, char *out, size_t size)
{
	char host[64];
	unsigned port = net_addr_port(l);

	net_addr_str(l, host, sizeof(host));
	if (mode == FTP_DM_EPRT) {
		snprintf(out, size, "|%d|%s|%u|", net_addr_is_v6(l) ? 2 : 1,
		    host, port);
		return 0;
	}
	if (net_addr_is_v6(l))
		return -ENOTSUP;
	for (char *p = host; *p; p++)
		if (*p == '.')
			*p = ',';
	snprintf(out, size, "%s,%u,%u", host, port >> 8, port & 0xff);
	return 0;
}

/*
 * EPRT/PORT: listen before the command (pyftpdlib connects while handling
 * PORT), then wait for whichever comes first: the server's connection
 * (accepted only from the control peer's address) or a reply saying it
 * could not connect.  Our own deadline, not the server's 30-120 s.
 */
static int
try_active(struct ftp_conn *c, int mode, const char *verb, const char *arg,
    int64_t rest, struct ftp_reply *rep, struct ftp_xfer *x)
{
	struct ftp_server *srv = c->srv;
	struct net_addr l, from;
	char parg[128], host[64];
	int64_t deadline;
	bool prelim = false;
	int rc, lfd = -1, fd = -1;

	rc = net_listen(&c->local, srv->cfg.port_lo, srv->cfg.port_hi, &lfd);
	if (rc < 0) {
		log_warn("[%u] cannot listen for an active data connection: %s",
		    c->id, strerror(-rc));
		return rc;
	}
	net_local_addr(lfd, &l);
	rc = active_arg(mode, &l, parg, sizeof(parg));
	if (rc < 0)
		goto out;
	rc = setup_cmd(c, mode_names[mode], parg, rep, x);
	if (rc < 0)
		goto out;
	if (rep->code != 200) {
		log_debug("[%u] %s refused: %d %s", c->id, mode_names[mode],
		    rep->code, ftp_reply_last_line(rep));
		/* 425/421: the server could not reach us (pyftpdlib). */
		if (is_mode_refusal(rep->code)) {
			rc = -ENOTSUP;
		} else {
			rc = DM_BLOCKED;
			x->why = rep->code == 421 ? -ETIMEDOUT : -ECONNREFUSED;
			if (rep->code == 421)
				c->broken = true;
		}
		ftp_reply_free(rep);
		goto out;
	}
	ftp_reply_free(rep);
	rc = send_rest(c, rest, rep);
	if (rc == 0)
		rc = ftp_send(c, verb, arg);
	if (rc < 0)
		goto out;
	deadline = net_now_ms() + srv->cfg.data_timeout_ms;
	/* Under TLS the 1xx may wait for the handshake: see data_tls(). */
	while (fd < 0 || (!prelim && !c->prot_p)) {
		int left = (int)(deadline - net_now_ms());
		unsigned ready = 0;

		if (fd >= 0) /* connected: the 1xx may take a moment */
			left = srv->cfg.cmd_timeout_ms;
		if (left <= 0) {
			x->why = -ETIMEDOUT;
			c->broken = true; /* its late 425 would follow us */
			rc = DM_BLOCKED;
			goto out;
		}
		if (prelim && fd < 0) {
			/*
			 * The 1xx is in; only the server's connection is
			 * missing.  Wait on the listener alone: what follows
			 * on the control connection (the 2xx, often read in
			 * one chunk with the 1xx when a relay or a busy
			 * machine delays the connection) is ftp_xfer_finish's,
			 * and taken for readiness it kept this loop from ever
			 * accepting until the deadline.
			 */
			int nfd;

			rc = net_accept(lfd, left, &nfd, &from);
			if (rc == -ETIMEDOUT)
				continue; /* the deadline check above decides */
			if (rc < 0)
				goto out;
			if (!net_addr_same_host(&from, &c->peer)) {
				log_warn("[%u] data connection from %s "
				         "refused: not the server",
				    c->id,
				    net_addr_str(&from, host, sizeof(host)));
				net_close(nfd);
				continue;
			}
			fd = nfd;
			continue;
		}
		if (c->in_len > c->in_off) {
			ready = NET_READY_STREAM;
		} else {
			rc = net_stream_wait_either(c->ctl, lfd, left, &ready);
			if (rc == -ETIMEDOUT)
				continue; /* the deadline check above decides */
			if (rc < 0)
				goto out;
		}
		if (fd < 0 && (ready & NET_READY_FD)) {
			int nfd;

			rc = net_accept(lfd, 0, &nfd, &from);
			if (rc == 0 && !net_addr_same_host(&from, &c->peer)) {
				log_warn("[%u] data connection from %s "
				         "refused: not the server",
				    c->id,
				    net_addr_str(&from, host, sizeof(host)));
				net_close(nfd);
			} else if (rc == 0) {
				fd = nfd;
			}
		}
		if (!prelim && (ready & NET_READY_STREAM)) {
			rc = read_prelim(c, rep, srv->cfg.cmd_timeout_ms,
			    &x->done, &x->final_code);
			if (rc == DM_BLOCKED)
				x->why =
				    -ECONNREFUSED; /* it could not reach us */
			if (rc < 0)
				goto out;
			prelim = true;
			if (x->done && fd < 0) {
				/* 2xx before we accepted: it is queued. */
				rc = net_accept(lfd, 1000, &fd, &from);
				if (rc < 0)
					goto out;
			}
		}
	}
	net_tune_data(fd);
	rc = net_stream_plain(fd, &x->data);
	fd = -1;
	if (rc == 0 && c->prot_p)
		rc = data_tls(c, rep, x, &prelim);
	if (rc == 0 && !prelim) {
		rc = read_prelim(
		    c, rep, srv->cfg.cmd_timeout_ms, &x->done, &x->final_code);
		if (rc == DM_BLOCKED)
			x->why = -ECONNREFUSED;
	}
	if (rc < 0 && rc != -EREMOTEIO && rc != DM_BLOCKED)
		c->broken = true; /* the transfer is under way */
	if (rc < 0) {
		net_stream_close(x->data);
		x->data = NULL;
	}
out:
	net_close(fd);
	net_close(lfd);
	return rc;
}

/* The modes this mount may use, in order. */
static int
mode_list(const struct ftp_server *srv, int *modes)
{
	int n = 0;

	if (srv->cfg.data_mode != FTP_DATA_ACTIVE) {
		modes[n++] = FTP_DM_EPSV;
		modes[n++] = FTP_DM_PASV;
	}
	if (srv->cfg.data_mode != FTP_DATA_PASSIVE) {
		modes[n++] = FTP_DM_EPRT;
		modes[n++] = FTP_DM_PORT;
	}
	return n;
}

/* Record the verdict: mode works (ok) or every mode failed (!ok). */
static void
verdict(struct ftp_conn *c, int mode, bool ok, int blocked_mode, int why)
{
	struct ftp_server *srv = c->srv;
	int64_t now = net_now_ms();
	int was;

	pthread_mutex_lock(&srv->lock);
	was = srv->dm_current;
	if (ok) {
		srv->dm_current = mode;
		srv->dm_blocked_ms = 0;
		if (was != mode)
			srv->dm_retry_ms = now + RETRY_FIRST_MS;
	} else {
		srv->dm_blocked_ms = now + BLOCKED_MS;
	}
	pthread_mutex_unlock(&srv->lock);
	if (ok && was != mode && blocked_mode >= 0)
		log_warn("data connections in %s mode %s; switched to %s mode "
		         "(%s) for this mount",
		    is_passive(blocked_mode) ? "passive" : "active",
		    blocked_why(why), is_passive(mode) ? "passive" : "active",
		    mode_names[mode]);
	else if (ok && was != mode)
		log_info("data connections: using %s", mode_names[mode]);
}

bool
ftp_data_blocked(struct ftp_server *srv)
{
	bool b;

	pthread_mutex_lock(&srv->lock);
	b = srv->dm_blocked_ms > net_now_ms();
	pthread_mutex_unlock(&srv->lock);
	return b;
}

int
ftp_xfer_open(struct ftp_conn *c, const char *verb, const char *arg,
    int64_t rest, bool upload, struct ftp_reply *refusal)
{
	struct ftp_server *srv = c->srv;
	struct ftp_xfer *x;
	struct ftp_reply rep = { 0 };
	int modes[FTP_DM_COUNT], n, i, first, mode, rc = -EIO;
	int blocked_mode = -1, why = 0;
	bool passive_blocked = false, active_blocked = false, again = false;
	int64_t now = net_now_ms();

	if (refusal != NULL)
		memset(refusal, 0, sizeof(*refusal));
	if (c->xfer != NULL)
		return -EBUSY;
	x = calloc(1, sizeof(*x));
	if (x == NULL)
		return -ENOMEM;
	n = mode_list(srv, modes);
	pthread_mutex_lock(&srv->lock);
	if (srv->dm_blocked_ms > now) {
		pthread_mutex_unlock(&srv->lock);
		free(x);
		return -EIO;
	}
	/* Start with what worked last; now and then retry the first mode. */
	for (first = 0; first < n; first++)
		if (modes[first] == srv->dm_current)
			break;
	if (first == n || now >= srv->dm_retry_ms)
		first = 0;
	pthread_mutex_unlock(&srv->lock);

	for (i = 0; i < n; i++) {
		bool refused;

		mode = modes[(first + i) % n];
		pthread_mutex_lock(&srv->lock);
		refused = srv->dm_refused[mode];
		pthread_mutex_unlock(&srv->lock);
		if (refused || (mode == FTP_DM_PASV && passive_blocked) ||
		    (mode == FTP_DM_PORT && active_blocked) ||
		    ((mode == FTP_DM_PASV || mode == FTP_DM_PORT) &&
		        net_addr_is_v6(&c->peer)))
			continue;
		if (c->broken || c->ctl == NULL) {
			rc = ftp_conn_reopen(c);
			if (rc < 0)
				break;
		}
		memset(x, 0, sizeof(*x));
		x->upload = upload;
		x->start = rest > 0 ? (uint64_t)rest : 0;
		if (is_passive(mode))
			rc = try_passive(c, mode, verb, arg, rest, &rep, x);
		else
			rc = try_active(c, mode, verb, arg, rest, &rep, x);
		if (rc == 0) {
			verdict(c, mode, true, blocked_mode, why);
			c->xfer = x;
			return 0;
		}
		if (rc == DM_AGAIN && !again) {
			again = true;
			c->broken = true;
			i--; /* the same mode once more */
			continue;
		}
		if (rc == -ENOTSUP) {
			pthread_mutex_lock(&srv->lock);
			srv->dm_refused[mode] = true;
			pthread_mutex_unlock(&srv->lock);
			log_info("server refuses %s; not using it again",
			    mode_names[mode]);
			continue;
		}
		if (rc != DM_BLOCKED)
			goto refused;
		/* Blocked: note why, get a clean control connection, go on. */
		if (blocked_mode < 0) {
			blocked_mode = mode;
			why = x->why ? x->why : -ECONNREFUSED;
		}
		/*
		 * PASV reaches the same host and ports as EPSV, and PORT the
		 * same as EPRT: after a connection failure, skip the twin
		 * (this keeps "everything blocked" under 3 x data_timeout).
		 */
		if (mode == FTP_DM_EPSV && x->why != 0)
			passive_blocked = true;
		if (mode == FTP_DM_EPRT && x->why != 0)
			active_blocked = true;
		c->broken = true;
	}
	if (rc == DM_BLOCKED || rc == -ENOTSUP || i == n) {
		verdict(c, -1, false, blocked_mode, why);
		log_err("no data connection possible in any mode (%s); "
		        "failing transfers for %d s",
		    blocked_mode >= 0 ? blocked_why(why) : "all refused",
		    BLOCKED_MS / 1000);
		rc = blocked_mode >= 0 && why == -ETIMEDOUT ? -ETIMEDOUT : -EIO;
	}
	ftp_reply_free(&rep);
	free(x);
	return rc;
refused:
	if (rc == -EREMOTEIO || rc == -ERANGE) {
		log_debug("[%u] %s %s refused: %d %s", c->id, verb,
		    arg ? arg : "", rep.code, ftp_reply_last_line(&rep));
		if (rep.code == 421)
			c->broken = true;
		if (refusal != NULL) {
			*refusal = rep;
			memset(&rep, 0, sizeof(rep));
		}
	}
	ftp_reply_free(&rep);
	free(x);
	return rc;
}

/* Read (buf) or splice (pipe_wr >= 0) up to n bytes of the download. */
static ssize_t
xfer_recv(struct ftp_conn *c, void *buf, int pipe_wr, size_t n, int wait_ms)
{
	struct ftp_xfer *x = c->xfer;
	ssize_t r;

	if (pipe_wr < 0)
		return net_stream_read(x->data, buf, n, wait_ms);
	r = net_stream_splice(x->data, pipe_wr, n, wait_ms);
	return r == -EOPNOTSUPP ? -EINVAL : r; /* the contract's word */
}

/* ftp_xfer_read and ftp_xfer_splice: one wait policy, one byte count. */
static ssize_t
xfer_pull(struct ftp_conn *c, void *buf, int pipe_wr, size_t n)
{
	struct ftp_xfer *x = c->xfer;
	ssize_t r;
	int lowat;

	if (x == NULL || x->upload)
		return -EBADF;
	if (x->eof)
		return 0;
	/*
	 * Big reads: sleep until a good part of them can be filled (fewer
	 * wakeups per megabyte).  A link too slow to fill it soon turns this
	 * off for the rest of the transfer.
	 */
	lowat = n >= RCVLOWAT_MAX ? RCVLOWAT_MAX : n >= 65536 ? (int)n : 1;
	if (x->slow)
		lowat = 1;
	if (lowat != x->lowat) {
		net_stream_set_rcvlowat(x->data, lowat);
		x->lowat = lowat;
	}
	if (lowat > 1) {
		r = xfer_recv(c, buf, pipe_wr, n, RCVLOWAT_WAIT_MS);
		if (r == -ETIMEDOUT) {
			x->slow = true;
			x->lowat = 1;
			net_stream_set_rcvlowat(x->data, 1);
			r = xfer_recv(
			    c, buf, pipe_wr, n, c->srv->cfg.cmd_timeout_ms);
		}
	} else {
		r = xfer_recv(c, buf, pipe_wr, n, c->srv->cfg.cmd_timeout_ms);
	}
	if (r > 0)
		x->bytes += (uint64_t)r;
	else if (r == 0)
		x->eof = true;
	else if (r != -ENOBUFS && r != -EINVAL)
		log_warn("[%u] data channel: %s after %" PRIu64 " bytes", c->id,
		    r == -ETIMEDOUT ? "server stalled" : strerror(-r),
		    x->bytes);
	return r;
}

ssize_t
ftp_xfer_read(struct ftp_conn *c, void *buf, size_t n)
{
	return xfer_pull(c, buf, -1, n);
}

ssize_t
ftp_xfer_splice(struct ftp_conn *c, int pipe_wr, size_t n)
{
	if (pipe_wr < 0)
		return -EBADF;
	return xfer_pull(c, NULL, pipe_wr, n);
}

int
ftp_xfer_write(struct ftp_conn *c, const void *buf, size_t n)
{
	struct ftp_xfer *x = c->xfer;
	int rc;

	if (x == NULL || !x->upload)
		return -EBADF;
	rc = net_stream_write(x->data, buf, n, c->srv->cfg.cmd_timeout_ms);
	if (rc == 0)
		x->bytes += n;
	else
		log_warn("[%u] data channel: %s after %" PRIu64 " bytes", c->id,
		    strerror(-rc), x->bytes);
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
		net_stream_shutdown(x->data, c->srv->cfg.cmd_timeout_ms);
	net_stream_close(x->data);
	x->data = NULL;
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

int
ftp_xfer_finish_later(struct ftp_conn *c, struct ftp_reply *refusal)
{
	struct ftp_xfer *x = c->xfer;

	if (x == NULL || x->upload || x->done)
		return ftp_xfer_finish(c, refusal);
	if (refusal != NULL)
		memset(refusal, 0, sizeof(*refusal));
	net_stream_close(x->data);
	x->data = NULL;
	c->owed = true;
	xfer_free(c);
	return 0;
}

void
ftp_xfer_abort(struct ftp_conn *c)
{
	struct ftp_xfer *x = c->xfer;
	struct ftp_reply rep;
	int rc;

	if (x == NULL)
		return;
	/* RST: the server's write fails at once. */
	net_stream_close_reset(x->data);
	x->data = NULL;
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
