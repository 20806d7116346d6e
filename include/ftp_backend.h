/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ftp_backend: the FTP (and later FTPS) instance of struct backend.
 * It owns the pool of control connections and the per-server state
 * (capabilities, data-channel verdict, listing format).
 */
#ifndef FTPFS_FTP_BACKEND_H
#define FTPFS_FTP_BACKEND_H

#include <stdbool.h>

#include "backend.h"

enum ftp_data_mode {
	FTP_DATA_AUTO, /* EPSV -> PASV -> EPRT/PORT, remembered */
	FTP_DATA_PASSIVE, /* EPSV -> PASV only */
	FTP_DATA_ACTIVE, /* EPRT/PORT only */
};

enum ftp_tls_mode {
	FTP_TLS_OFF, /* ftp:// */
	FTP_TLS_TRY, /* ftp:// -o tls=try: AUTH TLS, clear text if refused */
	FTP_TLS_REQUIRE, /* ftpes://, -o tls=require: AUTH TLS or fail */
	FTP_TLS_IMPLICIT, /* ftps://: TLS from the first byte */
};

struct ftp_config {
	const char *host;
	unsigned port;
	const char *user; /* "anonymous" when none was given */
	const char *password; /* never logged */
	const char *account; /* ACCT, NULL if none */
	const char *root; /* remote directory mounted, as in the URL */
	bool root_absolute; /* root is absolute on the server */
	unsigned connections; /* pool size (-o connections=N), >= 1 */
	int connect_timeout_ms; /* TCP connect + greeting + login steps */
	int cmd_timeout_ms; /* each command's reply */
	int data_timeout_ms; /* data connection setup (-o data_timeout) */
	int idle_timeout_ms; /* pooled connection idle expiry */
	int keepalive_ms; /* -o keepalive: NOOP on an idle one, 0 = off */
	enum ftp_data_mode data_mode;
	bool trust_pasv_address; /* connect to the 227 address as given */
	unsigned port_lo, port_hi; /* active-mode port range, 0 = any */
	bool disable_mlsd; /* force LIST even when MLST is offered */
	enum ftp_tls_mode tls;
	const char *cafile; /* -o cafile, NULL: the system store */
	const char *fingerprint; /* -o fingerprint=sha256:HEX, or NULL */
	bool insecure; /* -o insecure: no certificate check */
	/* -o time_offset: seconds the server's LIST and MDTM times are
	   ahead of UTC (servers that report local time); time_offset_auto:
	   learnt from the first upload instead */
	long time_offset;
	bool time_offset_auto;
};

/* Fill cfg with defaults (cfg->host etc. stay NULL). */
void ftp_config_defaults(struct ftp_config *cfg);

/*
 * Create the backend and open the first connection now, so a mount fails
 * fast: -ECONNREFUSED/-EHOSTUNREACH/-ETIMEDOUT/-ENOENT(host) for the
 * network, -EACCES for a refused login or certificate, -ENOENT/-ENOTDIR
 * for the remote directory, -EPROTO for a server that does not speak FTP
 * (or refuses the TLS that was asked for).  A one-line
 * human explanation is written to msg (size msglen) on failure.
 * The strings in cfg are copied.
 */
int ftp_backend_new(const struct ftp_config *cfg, struct backend **out,
    char *msg, size_t msglen);

/*
 * One FTP-specific -o item ("data_mode=active", "no_mlsd", ...) into cfg
 * (NULL: only check it).  1 when it is an FTP option and well-formed, 0
 * when it is not an FTP option, -1 when malformed (msg says why).
 */
int ftp_backend_opt(
    struct ftp_config *cfg, const char *arg, char *msg, size_t msglen);

struct url;

/*
 * The factory's entry (backend.c): cfg from u, opts and opts->extra,
 * then ftp_backend_new().
 */
int ftp_backend_open(const struct url *u, const struct backend_opts *opts,
    struct backend **out, char *msg, size_t msglen);

/* The "FTP options" section of --help. */
void ftp_backend_print_help(void);

#endif
