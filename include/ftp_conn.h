/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ftp_conn: one FTP control connection, and the per-server state that all
 * connections of a mount share.
 *
 * A connection is used by one thread at a time (the pool guarantees it).
 * Every command has a deadline (cfg.cmd_timeout_ms); a connection that saw
 * an I/O error, a timeout, a 421 or a reply it could not account for is
 * marked broken and must not be reused.  Arguments containing CR, LF, NUL
 * or 0xFF are refused with -EINVAL before anything is sent, and
 * command lines are kept under FTP_CMD_MAX bytes (-ENAMETOOLONG).
 * PASS and ACCT arguments never reach the log.
 */
#ifndef FTPFS_FTP_CONN_H
#define FTPFS_FTP_CONN_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "ftp_backend.h"
#include "ftp_list.h"
#include "ftp_reply.h"
#include "net.h"

#define FTP_CMD_MAX 2000

/* Data channel modes, in the order auto mode tries them. */
enum {
	FTP_DM_EPSV,
	FTP_DM_PASV,
	FTP_DM_EPRT,
	FTP_DM_PORT,
	FTP_DM_COUNT,
};

/* The command that sets modification times on this server. */
enum {
	FTP_UTIME_UNKNOWN,
	FTP_UTIME_MFMT, /* MFMT time path (draft-somers-ftp-mfxx) */
	FTP_UTIME_MFF, /* MFF modify=time; path (ProFTPD) */
	FTP_UTIME_SITE, /* SITE UTIME time path (ProFTPD, Pure-FTPd) */
	FTP_UTIME_MDTM, /* MDTM time path (vsftpd mdtm_write) */
	FTP_UTIME_NONE,
};

/* Shared by every connection of one mount. */
struct ftp_server {
	struct ftp_config cfg; /* strings owned (copied at creation) */
	pthread_mutex_t lock; /* protects the fields below */
	/* FTP_FEAT_* from the first FEAT: written once, read everywhere
	   without the lock, hence atomic */
	_Atomic unsigned feat;
	bool feat_known;
	char *home; /* PWD after the first login */
	char *root; /* absolute remote path of the mount root */
	bool logged_in_once; /* a login succeeded: a later 530 may be a
	                        connection limit, not a bad password */
	bool mlsd_off; /* MLSD refused once: use LIST */
	bool mlst_off; /* MLST refused once */
	bool mlst_marks_links; /* an MLST answer was typed a symlink */
	bool mlst_hides_links; /* MLST typed a listed symlink file/dir */
	/* data channel verdict (ftp_data.c) */
	int dm_current; /* mode that worked last: FTP_DM_* */
	int64_t dm_retry_ms; /* when to try the first mode again */
	int64_t dm_blocked_ms; /* every mode failed: fail fast until then */
	bool dm_refused[4]; /* the server rejects this mode's command */
	int list_a; /* LIST -a honoured: -1 unknown, 0, 1 */
	int utime_cmd; /* how set_mtime works: FTP_UTIME_* */
	bool chmod_off; /* SITE CHMOD refused once */
	struct tls_ctx *tls; /* NULL without TLS; set before connecting */
	int pasv_addr_warned; /* log_once flags */
	int tls_refused_warned;
	/*
	 * Seconds the server's LIST and MDTM times are ahead of UTC
	 * (-o time_offset, or learnt: time_offset_auto); read without the
	 * lock.  MLSD/MLST/MFMT times are UTC by RFC 3659 and never shifted.
	 */
	_Atomic long time_offset;
	atomic_bool time_offset_learn; /* auto: not learnt yet */
	unsigned next_id; /* connection ids for the log */
};

struct ftp_xfer;

struct ftp_conn {
	struct ftp_server *srv;
	unsigned id;
	struct net_stream *ctl; /* control stream, NULL when closed */
	struct net_addr peer; /* control connection's peer */
	struct net_addr local; /* control connection's local address */
	struct ftp_reply_reader rd;
	char in[4096]; /* bytes received, not yet fed */
	size_t in_off, in_len;
	bool broken; /* never reuse */
	bool prot_p; /* PROT P in force: data channels in TLS */
	char *cwd; /* the directory the last successful CWD entered, or NULL:
	              ftp_conn_reopen enters it again */
	struct ftp_xfer *xfer; /* transfer in progress, or NULL */
	/* The final reply of the last transfer is still to come
	   (ftp_xfer_finish_later): the next reply read takes it first, as
	   the server answers in order. */
	bool owed;
	/*
	 * A directory to enter (CWD) in the same flight as the next data
	 * channel's first command (ftp_xfer_open: one round trip fewer per
	 * listing); cleared once sent.  cwd_refused: that CWD was refused,
	 * and the refusal ftp_xfer_open gave back is its reply.
	 */
	const char *xfer_cwd;
	bool cwd_refused;
};

/* Server state: init copies cfg's strings; free releases them. */
int ftp_server_init(struct ftp_server *srv, const struct ftp_config *cfg);
void ftp_server_free(struct ftp_server *srv);

/*
 * Connect, read the greeting, FEAT, log in (USER/PASS/ACCT), OPTS UTF8 ON,
 * TYPE I, and on the first connection PWD.  Returns 0, -EUSERS when the
 * server refuses for a connection limit (421 greeting, limit-530), -EACCES
 * for refused credentials, -EPROTO for a non-FTP peer, or a network errno.
 * msg (may be NULL) receives a one-line explanation on failure.
 */
int ftp_conn_open(
    struct ftp_server *srv, struct ftp_conn **out, char *msg, size_t msglen);
/*
 * Drop c's TCP connection and log in again on a new one, keeping the
 * struct (and its place in the pool) and its working directory (CWD
 * again).  For a control connection left in an unknown state, e.g. after
 * a data channel timed out, or out of TLS sessions for data connections.
 * 0 or -errno (then c is broken).
 */
int ftp_conn_reopen(struct ftp_conn *c);
/* Close; graceful sends QUIT and waits briefly for 221. NULL is fine. */
void ftp_conn_close(struct ftp_conn *c, bool graceful);

/* Send "verb[ arg]\r\n".  -EINVAL for a bad argument, -errno on I/O. */
int ftp_send(struct ftp_conn *c, const char *verb, const char *arg);
/* Read one reply within timeout_ms.  0 and *rep, or -errno (broken). */
int ftp_read_reply(struct ftp_conn *c, struct ftp_reply *rep, int timeout_ms);
/* ftp_send + ftp_read_reply with the command deadline. */
int ftp_cmd(struct ftp_conn *c, struct ftp_reply *rep, const char *verb,
    const char *arg);
/* Same, keeping only the code in *code. */
/* CWD arg answered 250 on c: remember it for ftp_conn_reopen. */
void ftp_conn_entered(struct ftp_conn *c, const char *arg);
int ftp_cmd_code(
    struct ftp_conn *c, int *code, const char *verb, const char *arg);

/* Pending bytes or EOF on an idle connection? 0 when clean. */
int ftp_conn_check_idle(struct ftp_conn *c);
/*
 * Read the final reply the last download left owed (c->owed), waiting up
 * to cmd_timeout: 0 when none was owed or it came (a failure in it is
 * logged: its bytes were all there), -errno (c broken) when the session
 * ended instead.  Before a command that must not be lost or sent twice.
 */
int ftp_conn_settle(struct ftp_conn *c);

/*
 * Resynchronise after an aborted transfer: NOOP and read replies until
 * its 200, discarding leftovers (226/225/426/stray 150).  0 or -errno
 * (then the connection is marked broken).
 */
int ftp_conn_resync(struct ftp_conn *c);

/* Mount path ("/a/b") -> absolute server path. -ENAMETOOLONG. */
int ftp_server_path(
    struct ftp_server *srv, const char *path, char *out, size_t size);

#endif
