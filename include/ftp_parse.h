/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ftp_parse: pure parsers for the contents of individual replies:
 * 227 (PASV), 229 (EPSV), 257 (PWD/MKD), 211 (FEAT), 213 (SIZE, MDTM),
 * and what a refused login means.
 * No I/O; each has a cmocka test with real server texts and a fuzz target.
 */
#ifndef FTPFS_FTP_PARSE_H
#define FTPFS_FTP_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/*
 * 227 text -> IPv4 address and port.  Scans for six comma-separated
 * numbers (with or without parentheses, leading zeros allowed), each
 * <= 255; port 0 is refused.  0 or -EPROTO.
 */
int ftp_parse_pasv(const char *text, size_t len, uint8_t ip[4], unsigned *port);

/*
 * 229 text -> port: "(<d><d><d>port<d>)" with any delimiter d in 33..126.
 * 0 or -EPROTO.
 */
int ftp_parse_epsv(const char *text, size_t len, unsigned *port);

/*
 * 257 text -> the quoted path, with "" undoubled; tolerates servers that
 * do not double quotes (Pure-FTPd) by ending at the last '"' before
 * " is"/" :"/end of line.  The result must start with '/'.
 * 0 and *path malloc'ed, -EPROTO, -ENOMEM.
 */
int ftp_parse_pwd(const char *text, size_t len, char **path);

/* Feature flags learned from FEAT (case-insensitive names). */
enum {
	FTP_FEAT_MLST = 1 << 0,
	FTP_FEAT_EPSV = 1 << 1,
	FTP_FEAT_EPRT = 1 << 2,
	FTP_FEAT_SIZE = 1 << 3,
	FTP_FEAT_MDTM = 1 << 4,
	FTP_FEAT_REST_STREAM = 1 << 5,
	FTP_FEAT_MFMT = 1 << 6,
	FTP_FEAT_MFF = 1 << 7,
	FTP_FEAT_UTF8 = 1 << 8,
	FTP_FEAT_AUTH_TLS = 1 << 9,
	FTP_FEAT_RANG = 1 << 10,
	FTP_FEAT_TVFS = 1 << 11,
	FTP_FEAT_SITE_UTIME = 1 << 12,
	FTP_FEAT_SITE_SYMLINK = 1 << 13,
	FTP_FEAT_PBSZ = 1 << 14,
	FTP_FEAT_MLSD = 1 << 15, /* listed explicitly (MLST implies it too) */
};

/*
 * 211 FEAT reply text -> FTP_FEAT_* bits.  Feature lines are the middle
 * lines (RFC 2389 says they start with a space; tolerate none).  Also
 * understands "SITE UTIME"/"SITE SYMLINK" lines and ProFTPD's separate
 * SITE lines.  Never fails: unknown lines are ignored.
 */
unsigned ftp_parse_feat(const char *text, size_t len);

/* "213 <digits>" -> size (unsigned 64-bit). 0 or -EPROTO. */
int ftp_parse_size(const char *text, size_t len, uint64_t *size);

/*
 * "YYYYMMDDHHMMSS[.fff]" (MDTM 213 reply text or MLSD modify fact), year
 * 1900 or later ->
 * UTC time.  Validates ranges.  0 or -EPROTO.
 */
int ftp_parse_time(const char *s, size_t len, struct timespec *out);

/* Same for a full "213 YYYYMMDDHHMMSS" MDTM reply text. */
int ftp_parse_mdtm(const char *text, size_t len, struct timespec *out);

/*
 * A -o time_offset= value: "[+|-]H[:MM]" (H 0..14, MM 0..59), the hours
 * the server's clock is ahead of UTC ("+5:30", "-8", "0").  0 and the
 * offset in seconds, or -EINVAL.
 */
int ftp_parse_time_offset(const char *s, long *secs);

/*
 * Does a 530 text say "too many sessions" rather than "wrong password"?
 * ProFTPD refuses a login over its MaxClients* limits with 530 "Sorry,
 * the maximum number of clients (2) for this user are already connected."
 *.  The words follow lftp's ftp:retry-530 list, plus
 * "max clients" and "maximum" (case-insensitive, anywhere in the text).
 * text[0..len) need not be NUL-terminated.
 */
bool ftp_parse_is_limit(const char *text, size_t len);

/*
 * Does a refused login ask for TLS first?  vsftpd 530 "Non-anonymous
 * sessions must use encryption.", ProFTPD and pyftpdlib 550 "SSL/TLS
 * required on the control channel", Pure-FTPd 421 "... Please reconnect
 * using TLS security mechanisms.", and any 534 (RFC 4217: "policy
 * requires TLS").  Codes 421, 530 and 550 need the word SSL, TLS or
 * encryption (whole words, any case) in the text.
 */
bool ftp_parse_wants_tls(int code, const char *text, size_t len);

/* What a reply to USER, PASS or ACCT other than 230/202 means. */
enum ftp_login_refusal {
	FTP_LOGIN_TLS_FIRST, /* log in over TLS (ftpes://): -EACCES */
	FTP_LOGIN_LIMIT, /* the server's connection limit: -EUSERS */
	FTP_LOGIN_DENIED, /* login incorrect: -EACCES */
	FTP_LOGIN_FAILED, /* anything else: -EPROTO */
};

/*
 * Classify a refused login.  secured: the control connection is in TLS
 * already (then a TLS refusal is not one).  logged_in_once: a login with
 * the same credentials succeeded before, so a 530 with a limit text is a
 * limit; on the first login it is a refusal (never retried: servers ban
 * after three failures).  A 421 is always a limit.  331 or
 * 332 after the password (a server that asks again) counts as denied.
 */
enum ftp_login_refusal ftp_parse_login_refusal(
    int code, const char *text, size_t len, bool secured, bool logged_in_once);

#endif
