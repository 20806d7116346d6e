/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * sftp_conn: one SSH session carrying one "sftp" subsystem channel, over
 * which ftpfs speaks SFTP v3 itself (sftp_proto.h).  libssh2 is used for the
 * transport and user authentication only, in non-blocking mode: every call
 * here takes a timeout and waits with poll(2), so nothing blocks past it.
 * The socket has TCP_NODELAY (libssh2 never sets it; without it a small
 * request waits for a delayed ACK).
 *
 * Opening (sftp_conn_open), in this order:
 *  1. TCP connect, SSH handshake with the host key algorithms recorded
 *     for the host in known_hosts (all of ed25519/ECDSA/RSA when none);
 *  2. host key check against known_hosts ("[host]:port" for ports other
 *     than 22, never the bare host; host is the real name, as ssh uses
 *     HostName; HostKeyAlias replaces both), before any credential is sent:
 *     unknown and changed keys are refused with the SHA256 fingerprint in
 *     OpenSSH's form; HK_ACCEPT_NEW appends an unknown key; HK_NO accepts
 *     anything (with a warning);
 *  3. authentication in OpenSSH's order: ssh-agent (SSH_AUTH_SOCK),
 *     the identity files given, the default keys (~/.ssh/id_ed25519,
 *     id_ecdsa, id_rsa), then password and keyboard-interactive with the
 *     password.  Encrypted keys are tried with the passphrase.  A refusal
 *     names the methods tried and the ones the server offers;
 *  4. the channel, INIT/VERSION (extensions remembered), limits@openssh.com.
 *
 * A connection is used by one thread at a time (the pool hands it out).
 * Any timeout or transport error marks it broken: the caller must close it
 * (a late reply would otherwise be taken for the next request's).
 */
#ifndef FTPFS_SFTP_CONN_H
#define FTPFS_SFTP_CONN_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "sftp_proto.h"

enum sftp_hostkey_policy {
	HK_STRICT, /* StrictHostKeyChecking=yes: refuse unknown keys */
	HK_ACCEPT_NEW, /* append unknown keys, refuse changed ones */
	HK_NO, /* accept anything (warns) */
};

#define SFTP_CONN_MAX_IDENTITIES 8

/*
 * What a mount's first login learnt that its later logins reuse, each
 * saving a round trip: the server's limits@openssh.com answer (asked
 * again only of a session whose server does not offer the extension),
 * and that a public key was accepted (a later login offers its keys
 * first and asks for the server's methods, "none", only if none of them
 * is accepted this time).  Shared by the sessions of one mount: lock.
 */
struct sftp_conn_memo {
	pthread_mutex_t lock;
	bool have_limits;
	uint32_t max_read, max_write;
	bool pubkey_ok;
};

struct sftp_conn_config {
	const char *host;
	unsigned port;
	const char *user;
	const char *known_hosts; /* file; NULL: ~/.ssh/known_hosts */
	/* the name to look host keys up by (HostKeyAlias), port not added */
	const char *host_key_alias;
	enum sftp_hostkey_policy hostkey_policy;
	const char *identity[SFTP_CONN_MAX_IDENTITIES]; /* -o identity_file */
	unsigned n_identity;
	bool no_default_keys; /* skip ~/.ssh/id_* (tests) */
	bool no_agent;
	const char *password; /* password, kbd-interactive and passphrase;
	                         NULL: none */
	int connect_timeout_ms; /* connect + handshake + auth + INIT */
	int keepalive_s; /* ServerAliveInterval, 0 = off */
	unsigned window; /* channel receive window in bytes */
	struct sftp_conn_memo *memo; /* NULL: every login asks for all */
};

struct sftp_conn;

/*
 * 0 and *out, or a negative errno and one line for the user in msg:
 * -ECONNREFUSED/-ETIMEDOUT/... for the network, -EPROTO for a failed
 * handshake or SFTP start, -EKEYREJECTED for a host key that is unknown
 * or changed, -EACCES for a refused login.
 */
int sftp_conn_open(const struct sftp_conn_config *cfg, struct sftp_conn **out,
    char *msg, size_t msglen);
/* Close the channel and the session (politely when not broken). */
void sftp_conn_close(struct sftp_conn *c);

/* A fresh request id, counted as outstanding. */
uint32_t sftp_conn_id(struct sftp_conn *c);
/* The request of the last id could not be encoded: do not wait for it. */
void sftp_conn_unqueue(struct sftp_conn *c);
/* The buffer sftp_enc_* append requests to; sent by sftp_conn_flush. */
struct buf *sftp_conn_out(struct sftp_conn *c);
/* Send every queued request. 0 or -errno (-ETIMEDOUT). */
int sftp_conn_flush(struct sftp_conn *c, int timeout_ms);
/*
 * Flush, then wait for the next reply, whatever its id.  The reply points
 * into the connection's buffer and stays valid until the next call.
 */
int sftp_conn_recv(struct sftp_conn *c, struct sftp_reply *r, int timeout_ms);
/*
 * Flush and wait for the reply to id, which must be the oldest request
 * outstanding (requests are answered in order by every server we know;
 * a reply to another id is -EPROTO and breaks the connection).
 */
int sftp_conn_wait(
    struct sftp_conn *c, uint32_t id, struct sftp_reply *r, int timeout_ms);
/*
 * sftp_conn_wait for a READ whose DATA goes to dst (cap bytes): the data
 * is read from the channel into dst, without a copy through the
 * connection's buffer, and r->u.data.p == dst.  Any other reply (STATUS,
 * DATA larger than cap) is returned as sftp_conn_wait does.
 */
int sftp_conn_recv_data(struct sftp_conn *c, uint32_t id, char *dst, size_t cap,
    struct sftp_reply *r, int timeout_ms);
/*
 * Send the request of id, the newest, and do not wait for its reply: it is
 * read and dropped (a failure logged) before the next reply anyone waits
 * for.  For requests whose answer changes nothing, the CLOSE of a listing
 * or of a handle that only read: one round trip less for the caller.  At
 * most SFTP_FORGOT_MAX at a time on a session; beyond, this waits for the
 * reply as sftp_conn_wait does (its status ignored).  0 or -errno.
 */
#define SFTP_FORGOT_MAX 8
int sftp_conn_forget(struct sftp_conn *c, uint32_t id, int timeout_ms);
/* Requests sent (or queued) whose replies someone waits for and has not
   read yet (forgotten ones are not counted). */
unsigned sftp_conn_pending(const struct sftp_conn *c);
/* Read and drop every outstanding reply. 0 or -errno (then broken). */
int sftp_conn_drain(struct sftp_conn *c, int timeout_ms);

/* The server announced extension name (with a version we understand). */
bool sftp_conn_has_ext(const struct sftp_conn *c, const char *name);
/* Largest READ/WRITE payload to use (limits@openssh.com, capped). */
uint32_t sftp_conn_max_read(const struct sftp_conn *c);
uint32_t sftp_conn_max_write(const struct sftp_conn *c);

bool sftp_conn_broken(const struct sftp_conn *c);
/* Send a keepalive when due. 0 or -errno. */
int sftp_conn_keepalive(struct sftp_conn *c);
/* Does the idle connection still look alive (no EOF, nothing pending)? */
int sftp_conn_check_idle(struct sftp_conn *c);

/* Call once from main before any thread (libssh2_init). 0 or -EIO. */
int sftp_conn_global_init(void);
/* And once at the end, after every session is closed (libssh2_exit). */
void sftp_conn_global_exit(void);
/* The version of the libssh2 we run with ("1.10.0"). */
const char *sftp_conn_lib_version(void);

/*
 * "SHA256:" + unpadded base64 of a 32-byte digest into out (>= 51 bytes),
 * as OpenSSH prints fingerprints.  Pure; exposed for the unit tests.
 */
void sftp_fingerprint_sha256(const uint8_t digest[32], char *out, size_t size);

#endif
