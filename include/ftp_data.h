/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ftp_data: data channels for one transfer (RETR, STOR, APPE, LIST, MLSD).
 *
 * Order of events: choose a mode, set up the channel (EPSV,
 * falling back to PASV on a 5xx; the 227 address is replaced by the control
 * peer unless trust_pasv_address), connect with the data deadline, send
 * REST when asked, send the transfer command, read its 1xx.  Then the
 * caller reads or writes, and either finishes (close the data socket at
 * once, then read the final reply: success only on 2xx) or aborts (close
 * with RST, collect the final reply, resynchronise with NOOP; any doubt
 * marks the control connection broken).
 *
 * Modes (-o data_mode): auto tries EPSV, PASV, EPRT, PORT, starting with
 * the one that worked last for this mount, and re-tries the first one
 * every 10 minutes.  A data connection that is refused, answered 425/426
 * or not made within data_timeout moves on to the next mode on a freshly
 * logged-in control connection (ftp_conn_reopen); a mode whose command the
 * server rejects (5xx) is skipped for good.  When every mode fails, the
 * transfer fails (-ETIMEDOUT or -EIO) and so does every transfer for the
 * next 30 s, instantly.  Active mode listens on the control connection's
 * local address (within port_lo..port_hi) and accepts only connections
 * from the server's address.
 */
#ifndef FTPFS_FTP_DATA_H
#define FTPFS_FTP_DATA_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "ftp_conn.h"
#include "ftp_reply.h"

struct ftp_xfer {
	struct net_stream *data; /* data channel, NULL once closed */
	bool upload;
	bool eof; /* download: EOF seen on the data socket */
	bool done; /* final reply read */
	int final_code;
	uint64_t bytes; /* moved so far */
	uint64_t start; /* REST offset it started at */
	int why; /* -errno of a failed data connect */
	int lowat; /* SO_RCVLOWAT in force (0 = default) */
	bool slow; /* the link could not fill a big read soon */
};

/*
 * Open a transfer on c (which must have none in progress).  rest >= 0
 * sends "REST rest" first.  On success c->xfer is set.
 * If the server refuses the transfer command or the REST (4xx/5xx), the
 * reply is moved to *refusal (caller frees) and -EREMOTEIO is returned;
 * a 554 to REST (offset past EOF) gives -ERANGE.  Other failures are
 * -errno with c->broken set when the control connection cannot be trusted.
 */
int ftp_xfer_open(struct ftp_conn *c, const char *verb, const char *arg,
    int64_t rest, bool upload, struct ftp_reply *refusal);

/* Read up to n bytes; 0 at EOF; -ETIMEDOUT when the server stalls. */
ssize_t ftp_xfer_read(struct ftp_conn *c, void *buf, size_t n);

/*
 * ftp_xfer_read's twin that moves the bytes into the pipe pipe_wr without
 * copying them (same waits, same byte count).  Also -ENOBUFS when the pipe
 * is full and -EINVAL when the data channel cannot be spliced (a TLS
 * stream, whose socket carries ciphertext); then nothing was consumed and
 * the transfer goes on.
 */
ssize_t ftp_xfer_splice(struct ftp_conn *c, int pipe_wr, size_t n);

/* Write all n bytes. */
int ftp_xfer_write(struct ftp_conn *c, const void *buf, size_t n);

/*
 * Close the data channel normally and read the final reply.
 * 0 on 2xx; -EREMOTEIO with *refusal filled (may be NULL) otherwise.
 */
int ftp_xfer_finish(struct ftp_conn *c, struct ftp_reply *refusal);
/*
 * The same for a download that has every byte it expected (the size the
 * listing gave): close the data channel, and leave the final reply to
 * the connection's next reply read (c->owed), so that the next command
 * goes out without waiting for it: a round trip less per small file.
 * A final reply already read (or an upload) is ftp_xfer_finish's.
 */
int ftp_xfer_finish_later(struct ftp_conn *c, struct ftp_reply *refusal);

/* True while every data channel mode is known to fail (fail-fast). */
bool ftp_data_blocked(struct ftp_server *srv);

/* Abort: the connection is idle afterwards, or marked broken. */
void ftp_xfer_abort(struct ftp_conn *c);

#endif
