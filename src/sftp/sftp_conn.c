/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * sftp_conn: SSH transport, host key check, user authentication and the
 * raw "sftp" channel (contract in include/sftp_conn.h).  The only file
 * that talks to libssh2 for the SFTP backend.
 */
#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libssh2.h>

#include "log.h"
#include "net.h"
#include "sftp_conn.h"

#define IN_MAX (SFTP_REPLY_MAX + 256 * 1024)
#define OUT_MAX (8 * 1024 * 1024)
#define MAX_IO_CAP (128 * 1024) /* 255 KiB requests gained nothing */
#define MAX_EXTS 16

struct sftp_conn {
	LIBSSH2_SESSION *ssh;
	LIBSSH2_CHANNEL *ch;
	int fd;
	bool broken;
	struct buf out; /* queued requests */
	size_t out_sent; /* bytes of out already written */
	struct buf in; /* received bytes */
	size_t in_pos; /* start of the unparsed part of in */
	size_t in_last; /* length of the reply handed out last */
	uint32_t next_id;
	unsigned pending; /* requests whose replies are unread */
	/* ids of requests whose replies nobody waits for (oldest first),
	   among pending; read and dropped before the next reply */
	uint32_t forgot[SFTP_FORGOT_MAX];
	unsigned nforgot;
	char exts[MAX_EXTS][40]; /* extensions we know, as announced */
	unsigned n_exts;
	uint32_t max_read, max_write;
	const char *password; /* the config's, for keyboard-interactive */
	int keepalive_s;
};

/* ---- small helpers --------------------------------------------------- */

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

static const char *
ssh_err(LIBSSH2_SESSION *s)
{
	char *m = NULL;

	libssh2_session_last_error(s, &m, NULL, 0);
	return m ? m : "unknown error";
}

static void
b64(const uint8_t *in, size_t n, bool pad, char *out, size_t size)
{
	static const char tab[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t i, o = 0;
	uint32_t v;

	for (i = 0; i < n && o + 4 < size; i += 3) {
		v = (uint32_t)in[i] << 16;
		if (i + 1 < n)
			v |= (uint32_t)in[i + 1] << 8;
		if (i + 2 < n)
			v |= in[i + 2];
		out[o++] = tab[v >> 18 & 63];
		out[o++] = tab[v >> 12 & 63];
		if (i + 1 < n)
			out[o++] = tab[v >> 6 & 63];
		else if (pad)
			out[o++] = '=';
		if (i + 2 < n)
			out[o++] = tab[v & 63];
		else if (pad)
			out[o++] = '=';
	}
	if (size > 0)
		out[o < size ? o : size - 1] = '\0';
}

void
sftp_fingerprint_sha256(const uint8_t digest[32], char *out, size_t size)
{
	char enc[48];

	b64(digest, 32, false, enc, sizeof(enc));
	snprintf(out, size, "SHA256:%s", enc);
}

int
sftp_conn_global_init(void)
{
	return libssh2_init(0) == 0 ? 0 : -EIO;
}

void
sftp_conn_global_exit(void)
{
	libssh2_exit();
}

const char *
sftp_conn_lib_version(void)
{
	const char *v = libssh2_version(0);

	return v != NULL ? v : "unknown";
}

/*
 * Wait until libssh2 can make progress, at most until deadline (ms on the
 * monotonic clock).  -ETIMEDOUT when it passes.
 */
static int
wait_io(struct sftp_conn *c, int64_t deadline)
{
	struct pollfd p = { .fd = c->fd, .events = 0 };
	int dirs = libssh2_session_block_directions(c->ssh);
	int64_t left = deadline - net_now_ms();
	int rc;

	if (dirs & LIBSSH2_SESSION_BLOCK_INBOUND)
		p.events |= POLLIN;
	if (dirs & LIBSSH2_SESSION_BLOCK_OUTBOUND)
		p.events |= POLLOUT;
	if (p.events == 0)
		p.events = POLLIN;
	/* the FUSE request's deadline (net_op_begin) comes first */
	if (left > INT_MAX)
		left = INT_MAX;
	if (net_op_clamp((int)left) < left) {
		left = net_op_clamp((int)left);
		deadline = net_now_ms() + left;
	}
	if (left <= 0)
		return -ETIMEDOUT;
	if (c->keepalive_s > 0 && left > c->keepalive_s * 1000)
		left = c->keepalive_s * 1000;
	rc = poll(&p, 1, (int)left);
	if (rc < 0 && errno != EINTR)
		return -errno;
	if (rc < 0 && net_op_interrupted())
		return -EINTR; /* Ctrl-C on the process that asked */
	if (rc == 0 && net_now_ms() >= deadline)
		return -ETIMEDOUT;
	if (c->keepalive_s > 0)
		(void)sftp_conn_keepalive(c);
	return 0;
}

/* Repeat a libssh2 call while it says EAGAIN, within deadline. */
#define SSH_RETRY(c, deadline, rc, call)                                       \
	do {                                                                   \
		int w_;                                                        \
		while (((rc) = (call)) == LIBSSH2_ERROR_EAGAIN) {              \
			w_ = wait_io((c), (deadline));                         \
			if (w_ < 0) {                                          \
				(rc) = w_;                                     \
				break;                                         \
			}                                                      \
		}                                                              \
	} while (0)

/* libssh2 error -> errno (the detail goes to the log by the caller). */
static int
ssh_errno(int rc)
{
	if (rc == -ETIMEDOUT)
		return rc;
	switch (rc) {
	case LIBSSH2_ERROR_TIMEOUT:
		return -ETIMEDOUT;
	case LIBSSH2_ERROR_SOCKET_DISCONNECT:
	case LIBSSH2_ERROR_SOCKET_RECV:
	case LIBSSH2_ERROR_SOCKET_SEND:
	case LIBSSH2_ERROR_CHANNEL_CLOSED:
	case LIBSSH2_ERROR_CHANNEL_EOF_SENT:
		return -ECONNRESET;
	case LIBSSH2_ERROR_ALLOC:
		return -ENOMEM;
	default:
		return -EPROTO;
	}
}

/* ---- host keys -------------------------------------------------------- */

struct hk_type {
	int hostkey_type; /* LIBSSH2_HOSTKEY_TYPE_* */
	int kh_bit; /* LIBSSH2_KNOWNHOST_KEY_* */
	const char *method; /* algorithm name for method_pref */
	const char *label; /* as OpenSSH prints it */
};

/* OpenSSH's preference order: ed25519 first. */
static const struct hk_type hk_types[] = {
	{ LIBSSH2_HOSTKEY_TYPE_ED25519, LIBSSH2_KNOWNHOST_KEY_ED25519,
	    "ssh-ed25519", "ED25519" },
	{ LIBSSH2_HOSTKEY_TYPE_ECDSA_256, LIBSSH2_KNOWNHOST_KEY_ECDSA_256,
	    "ecdsa-sha2-nistp256", "ECDSA" },
	{ LIBSSH2_HOSTKEY_TYPE_ECDSA_384, LIBSSH2_KNOWNHOST_KEY_ECDSA_384,
	    "ecdsa-sha2-nistp384", "ECDSA" },
	{ LIBSSH2_HOSTKEY_TYPE_ECDSA_521, LIBSSH2_KNOWNHOST_KEY_ECDSA_521,
	    "ecdsa-sha2-nistp521", "ECDSA" },
	{ LIBSSH2_HOSTKEY_TYPE_RSA, LIBSSH2_KNOWNHOST_KEY_SSHRSA, "ssh-rsa",
	    "RSA" },
};
#define N_HK (sizeof(hk_types) / sizeof(hk_types[0]))

static void
kh_name(const struct sftp_conn_config *cfg, char *out, size_t size)
{
	if (cfg->host_key_alias != NULL)
		snprintf(out, size, "%s", cfg->host_key_alias);
	else if (cfg->port == 22)
		snprintf(out, size, "%s", cfg->host);
	else
		snprintf(out, size, "[%s]:%u", cfg->host, cfg->port);
}

static char *
default_known_hosts(void)
{
	const char *home = getenv("HOME");
	char *p;

	if (home == NULL || *home == '\0')
		return NULL;
	if (asprintf(&p, "%s/.ssh/known_hosts", home) < 0)
		return NULL;
	return p;
}

/*
 * Which key types known_hosts records for this host: a check with a
 * one-byte dummy key of each type answers MISMATCH exactly when an entry
 * of that type exists for the name (hashed entries included).  (Not an
 * empty key: libssh2 1.10 then leaks its base64 buffer.)
 */
static void
hk_recorded(LIBSSH2_KNOWNHOSTS *kh, const char *name, bool rec[N_HK])
{
	size_t i;
	struct libssh2_knownhost *e;

	for (i = 0; i < N_HK; i++)
		rec[i] =
		    libssh2_knownhost_check(kh, name, "x", 1,
		        LIBSSH2_KNOWNHOST_TYPE_PLAIN |
		            LIBSSH2_KNOWNHOST_KEYENC_RAW | hk_types[i].kh_bit,
		        &e) == LIBSSH2_KNOWNHOST_CHECK_MISMATCH;
}

static int
hk_append(const char *path, const char *name, const char *method,
    const char *key, size_t keylen)
{
	char *enc = NULL;
	size_t encsize = (keylen + 2) / 3 * 4 + 1;
	FILE *f = NULL;
	int fd, rc = 0;

	enc = malloc(encsize);
	if (enc == NULL)
		return -ENOMEM;
	b64((const uint8_t *)key, keylen, true, enc, encsize);
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0 || (f = fdopen(fd, "a")) == NULL) {
		rc = -errno;
		if (fd >= 0)
			close(fd);
		goto out;
	}
	if (fprintf(f, "%s %s %s\n", name, method, enc) < 0)
		rc = -EIO;
	if (fclose(f) != 0 && rc == 0)
		rc = -errno;
out:
	free(enc);
	return rc;
}

/*
 * Before the handshake: read known_hosts and prefer the key types it has
 * for this host, so that libssh2 does not negotiate ECDSA when
 * only the ed25519 key is recorded.
 */
static int
hk_prepare(struct sftp_conn *c, const struct sftp_conn_config *cfg,
    LIBSSH2_KNOWNHOSTS **khp, char **pathp)
{
	LIBSSH2_KNOWNHOSTS *kh;
	char name[300], pref[256] = "";
	bool rec[N_HK];
	size_t i;
	int n;

	*pathp =
	    cfg->known_hosts ? strdup(cfg->known_hosts) : default_known_hosts();
	kh = libssh2_knownhost_init(c->ssh);
	if (kh == NULL)
		return -ENOMEM;
	*khp = kh;
	if (*pathp != NULL && access(*pathp, F_OK) == 0) {
		n = libssh2_knownhost_readfile(
		    kh, *pathp, LIBSSH2_KNOWNHOST_FILE_OPENSSH);
		if (n < 0)
			log_warn("known_hosts %s: %s", *pathp, ssh_err(c->ssh));
	}
	kh_name(cfg, name, sizeof(name));
	hk_recorded(kh, name, rec);
	for (i = 0; i < N_HK; i++) {
		if (!rec[i])
			continue;
		if (pref[0] != '\0')
			strcat(pref, ",");
		strcat(pref, hk_types[i].method);
	}
	if (pref[0] == '\0')
		for (i = 0; i < N_HK; i++) {
			if (i > 0)
				strcat(pref, ",");
			strcat(pref, hk_types[i].method);
		}
	log_debug("host key algorithms for %s: %s", name, pref);
	if (libssh2_session_method_pref(c->ssh, LIBSSH2_METHOD_HOSTKEY, pref))
		log_warn("host key preference %s refused: %s", pref,
		    ssh_err(c->ssh));
	return 0;
}

static int
hk_verify(struct sftp_conn *c, const struct sftp_conn_config *cfg,
    LIBSSH2_KNOWNHOSTS *kh, const char *path, char *msg, size_t msglen)
{
	const char *key, *hash;
	size_t keylen, i;
	int type, rc;
	const struct hk_type *t = NULL;
	struct libssh2_knownhost *e;
	char name[300], fpr[64];

	key = libssh2_session_hostkey(c->ssh, &keylen, &type);
	hash = libssh2_hostkey_hash(c->ssh, LIBSSH2_HOSTKEY_HASH_SHA256);
	if (key == NULL || hash == NULL) {
		set_msg(
		    msg, msglen, "%s: no host key from the server", cfg->host);
		return -EPROTO;
	}
	for (i = 0; i < N_HK; i++)
		if (hk_types[i].hostkey_type == type)
			t = &hk_types[i];
	if (t == NULL) {
		set_msg(msg, msglen, "%s: unsupported host key type %d",
		    cfg->host, type);
		return -EKEYREJECTED;
	}
	sftp_fingerprint_sha256((const uint8_t *)hash, fpr, sizeof(fpr));
	kh_name(cfg, name, sizeof(name));
	rc = libssh2_knownhost_check(kh, name, key, keylen,
	    LIBSSH2_KNOWNHOST_TYPE_PLAIN | LIBSSH2_KNOWNHOST_KEYENC_RAW |
	        t->kh_bit,
	    &e);
	log_debug("host key %s %s for %s: check %d", t->label, fpr, name, rc);
	switch (rc) {
	case LIBSSH2_KNOWNHOST_CHECK_MATCH:
		return 0;
	case LIBSSH2_KNOWNHOST_CHECK_MISMATCH:
		if (cfg->hostkey_policy == HK_NO)
			break;
		set_msg(msg, msglen,
		    "WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED! "
		    "The %s key sent by %s is %s, which does not match "
		    "the one recorded in %s; refusing to connect",
		    t->label, name, fpr, path ? path : "known_hosts");
		return -EKEYREJECTED;
	default:
		if (cfg->hostkey_policy == HK_ACCEPT_NEW && path != NULL) {
			rc = hk_append(path, name, t->method, key, keylen);
			if (rc < 0) {
				set_msg(msg, msglen,
				    "cannot add the host key of %s to %s: %s",
				    name, path, strerror(-rc));
				return rc;
			}
			log_warn("Permanently added '%s' (%s, %s) to the "
			         "list of known hosts %s",
			    name, t->label, fpr, path);
			return 0;
		}
		if (cfg->hostkey_policy == HK_NO)
			break;
		set_msg(msg, msglen,
		    "the authenticity of host '%s' can't be established: "
		    "%s key fingerprint is %s, not in %s; refusing to connect "
		    "(check the fingerprint, then add the key with ssh or "
		    "-o StrictHostKeyChecking=accept-new)",
		    name, t->label, fpr, path ? path : "known_hosts");
		return -EKEYREJECTED;
	}
	log_warn("StrictHostKeyChecking=no: accepting the %s key %s of %s "
	         "without checking it",
	    t->label, fpr, name);
	return 0;
}

/* ---- user authentication ------------------------------------------ */

static LIBSSH2_USERAUTH_KBDINT_RESPONSE_FUNC(kbd_cb)
{
	struct sftp_conn *c = *abstract;
	int i;

	(void)name;
	(void)name_len;
	(void)instruction;
	(void)instruction_len;
	for (i = 0; i < num_prompts; i++) {
		/* Answer hidden prompts ("Password: ") with the password. */
		if (c->password != NULL && !prompts[i].echo) {
			responses[i].text = strdup(c->password);
			responses[i].length = responses[i].text
			    ? (unsigned)strlen(c->password)
			    : 0;
		} else {
			responses[i].text = NULL;
			responses[i].length = 0;
		}
	}
}

struct auth_log {
	char tried[512];
};

static void tried(struct auth_log *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
tried(struct auth_log *a, const char *fmt, ...)
{
	size_t n = strlen(a->tried);
	va_list ap;

	if (n > 0 && n + 2 < sizeof(a->tried)) {
		strcpy(a->tried + n, ", ");
		n += 2;
	}
	va_start(ap, fmt);
	vsnprintf(a->tried + n, sizeof(a->tried) - n, fmt, ap);
	va_end(ap);
}

static bool
offers(const char *methods, const char *m)
{
	size_t n = strlen(m);
	const char *p = methods;

	while (p != NULL && *p) {
		if (strncmp(p, m, n) == 0 && (p[n] == ',' || p[n] == '\0'))
			return true;
		p = strchr(p, ',');
		if (p)
			p++;
	}
	return false;
}

/*
 * The peer closed or reset the connection (its process killed, say): a
 * login that then "failed" was never refused.  Only looks, never reads.
 */
static bool
transport_gone(const struct sftp_conn *c)
{
	struct pollfd p = { .fd = c->fd, .events = POLLIN | POLLRDHUP };
	char b;
	ssize_t n;

	if (poll(&p, 1, 0) <= 0)
		return false;
	if (p.revents & (POLLHUP | POLLERR | POLLRDHUP))
		return true;
	n = recv(c->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
	return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
}

/*
 * An authentication attempt that ended without the server's answer: the
 * deadline (-ETIMEDOUT), an interrupt (-EINTR), or the connection lost
 * under it (-ECONNRESET: the pool and the callers' retries take it for
 * a dead session, never for a refused login).  0: an answer (refusal).
 */
static int
auth_abort(int rc)
{
	if (rc == -ETIMEDOUT || rc == -EINTR)
		return rc;
	if (rc == LIBSSH2_ERROR_SOCKET_SEND ||
	    rc == LIBSSH2_ERROR_SOCKET_RECV ||
	    rc == LIBSSH2_ERROR_SOCKET_DISCONNECT ||
	    rc == LIBSSH2_ERROR_SOCKET_TIMEOUT || rc == LIBSSH2_ERROR_TIMEOUT)
		return -ECONNRESET;
	return 0;
}

static int
auth_agent(struct sftp_conn *c, const struct sftp_conn_config *cfg,
    struct auth_log *al, int64_t deadline)
{
	LIBSSH2_AGENT *ag;
	struct libssh2_agent_publickey *id = NULL, *prev = NULL;
	unsigned n = 0, skipped = 0;
	int rc, result = -EACCES;

	if (cfg->no_agent || getenv("SSH_AUTH_SOCK") == NULL)
		return -EACCES;
	ag = libssh2_agent_init(c->ssh);
	if (ag == NULL)
		return -EACCES;
	if (libssh2_agent_connect(ag) != 0 ||
	    libssh2_agent_list_identities(ag) != 0) {
		log_info("ssh-agent: %s", ssh_err(c->ssh));
		tried(al, "agent (unreachable)");
		goto out;
	}
	while (libssh2_agent_get_identity(ag, &id, prev) == 0) {
		prev = id;
		/* libssh2 1.10 signs RSA with SHA-1 only, which OpenSSH
		   refuses: trying would burn MaxAuthTries. */
		if (id->blob_len > 11 &&
		    memcmp(id->blob, "\0\0\0\7ssh-rsa", 11) == 0) {
			skipped++;
			continue;
		}
		n++;
		SSH_RETRY(
		    c, deadline, rc, libssh2_agent_userauth(ag, cfg->user, id));
		if (rc == 0) {
			log_info("authenticated with the agent key %s",
			    id->comment ? id->comment : "");
			result = 0;
			goto out;
		}
		if (auth_abort(rc) != 0) {
			result = auth_abort(rc);
			goto out;
		}
	}
	tried(al, "agent (%u keys%s)", n,
	    skipped ? ", RSA keys skipped: libssh2 1.10 cannot sign them "
	              "with SHA-2"
	            : "");
out:
	libssh2_agent_disconnect(ag);
	libssh2_agent_free(ag);
	return result;
}

static int
auth_keyfile(struct sftp_conn *c, const struct sftp_conn_config *cfg,
    const char *path, bool explicit, struct auth_log *al, int64_t deadline)
{
	int rc;

	if (access(path, R_OK) != 0) {
		if (explicit)
			tried(al, "%s (%s)", path, strerror(errno));
		return -EACCES;
	}
	SSH_RETRY(c, deadline, rc,
	    libssh2_userauth_publickey_fromfile_ex(c->ssh, cfg->user,
	        (unsigned)strlen(cfg->user), NULL, path,
	        cfg->password ? cfg->password : ""));
	if (rc == 0) {
		log_info("authenticated with the key %s", path);
		return 0;
	}
	if (auth_abort(rc) != 0)
		return auth_abort(rc);
	if (rc == LIBSSH2_ERROR_FILE)
		tried(al, "%s (%s)", path,
		    cfg->password ? "cannot load it: wrong passphrase?"
		                  : "cannot load it: needs a passphrase "
		                    "(password_stdin)?");
	else if (rc == LIBSSH2_ERROR_AUTHENTICATION_FAILED ||
	    rc == LIBSSH2_ERROR_PUBLICKEY_UNVERIFIED)
		tried(al, "%s (refused%s)", path,
		    strstr(path, "rsa") ? "; libssh2 1.10 signs RSA with "
		                          "SHA-1 only"
		                        : "");
	else
		tried(al, "%s (%s)", path, ssh_err(c->ssh));
	log_debug("key %s: %d %s", path, rc, ssh_err(c->ssh));
	return -EACCES;
}

/*
 * Public keys in OpenSSH's order: the agent's, -o identity_file, the
 * default ones.  0, -EACCES when none was accepted, or the -errno that
 * ended the login (a lost connection, the deadline).
 */
static int
auth_pubkey(struct sftp_conn *c, const struct sftp_conn_config *cfg,
    struct auth_log *al, int64_t deadline)
{
	static const char *const defaults[] = { "id_ed25519", "id_ecdsa",
		"id_rsa" };
	const char *home = getenv("HOME");
	char path[4096];
	unsigned i;
	int rc;

	rc = auth_agent(c, cfg, al, deadline);
	if (rc != -EACCES)
		return rc;
	for (i = 0; i < cfg->n_identity; i++) {
		rc = auth_keyfile(c, cfg, cfg->identity[i], true, al, deadline);
		if (rc != -EACCES)
			return rc;
	}
	for (i = 0; !cfg->no_default_keys && home != NULL && i < 3; i++) {
		snprintf(path, sizeof(path), "%s/.ssh/%s", home, defaults[i]);
		rc = auth_keyfile(c, cfg, path, false, al, deadline);
		if (rc != -EACCES)
			return rc;
	}
	return -EACCES;
}

/* Did an earlier login of this mount get in with a public key? */
static bool
memo_pubkey(const struct sftp_conn_config *cfg)
{
	bool ok = false;

	if (cfg->memo != NULL) {
		pthread_mutex_lock(&cfg->memo->lock);
		ok = cfg->memo->pubkey_ok;
		pthread_mutex_unlock(&cfg->memo->lock);
	}
	return ok;
}

static void
memo_pubkey_set(const struct sftp_conn_config *cfg)
{
	if (cfg->memo != NULL) {
		pthread_mutex_lock(&cfg->memo->lock);
		cfg->memo->pubkey_ok = true;
		pthread_mutex_unlock(&cfg->memo->lock);
	}
}

static int
authenticate(struct sftp_conn *c, const struct sftp_conn_config *cfg,
    int64_t deadline, char *msg, size_t msglen)
{
	struct auth_log al = { "" };
	char *methods, meth[256] = "";
	bool keys_first = memo_pubkey(cfg);
	int rc;

	/* A key got an earlier session in: offered before asking for the
	   methods (the "none" request is a round trip of its own). */
	if (keys_first) {
		rc = auth_pubkey(c, cfg, &al, deadline);
		if (rc == 0)
			return 0;
		if (rc != -EACCES)
			goto aborted;
	}
	for (;;) {
		methods = libssh2_userauth_list(
		    c->ssh, cfg->user, (unsigned)strlen(cfg->user));
		if (methods != NULL || libssh2_userauth_authenticated(c->ssh))
			break;
		if (libssh2_session_last_errno(c->ssh) !=
		    LIBSSH2_ERROR_EAGAIN) {
			set_msg(
			    msg, msglen, "%s: %s", cfg->host, ssh_err(c->ssh));
			return -EPROTO;
		}
		rc = wait_io(c, deadline);
		if (rc < 0)
			goto timeout;
	}
	if (methods == NULL)
		return 0; /* "none" was accepted */
	snprintf(meth, sizeof(meth), "%s", methods);
	log_debug("server offers: %s", meth);
	if (!keys_first && offers(meth, "publickey")) {
		rc = auth_pubkey(c, cfg, &al, deadline);
		if (rc == 0) {
			memo_pubkey_set(cfg);
			return 0;
		}
		if (rc != -EACCES)
			goto aborted;
	}
	if (cfg->password != NULL && offers(meth, "password")) {
		SSH_RETRY(c, deadline, rc,
		    libssh2_userauth_password_ex(c->ssh, cfg->user,
		        (unsigned)strlen(cfg->user), cfg->password,
		        (unsigned)strlen(cfg->password), NULL));
		if (rc == 0) {
			log_info("authenticated with a password");
			return 0;
		}
		if (auth_abort(rc) != 0) {
			rc = auth_abort(rc);
			goto aborted;
		}
		tried(&al, "password (refused)");
	}
	if (cfg->password != NULL && offers(meth, "keyboard-interactive")) {
		SSH_RETRY(c, deadline, rc,
		    libssh2_userauth_keyboard_interactive_ex(c->ssh, cfg->user,
		        (unsigned)strlen(cfg->user), kbd_cb));
		if (rc == 0) {
			log_info("authenticated with keyboard-interactive");
			return 0;
		}
		if (auth_abort(rc) != 0) {
			rc = auth_abort(rc);
			goto aborted;
		}
		tried(&al, "keyboard-interactive (refused)");
	}
	if (cfg->password == NULL &&
	    (offers(meth, "password") || offers(meth, "keyboard-interactive")))
		tried(&al, "no password given (password_stdin)");
	if (transport_gone(c)) {
		rc = -ECONNRESET;
		goto aborted;
	}
	set_msg(msg, msglen,
	    "login as %s on %s refused; tried: %s; the server offers: %s",
	    cfg->user, cfg->host, al.tried[0] ? al.tried : "nothing", meth);
	return -EACCES;
aborted:
	if (rc != -ETIMEDOUT) {
		set_msg(msg, msglen, "%s: %s during authentication", cfg->host,
		    rc == -EINTR ? "interrupted" : "connection lost");
		return rc;
	}
timeout:
	set_msg(msg, msglen, "%s: timed out during authentication", cfg->host);
	return -ETIMEDOUT;
}

/* ---- the SFTP channel ------------------------------------------------- */

static uint32_t
be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

/*
 * Read up to want bytes from the channel into dst, within deadline: the
 * count (> 0) or -errno (the connection is then broken).
 */
static ssize_t
chan_read(struct sftp_conn *c, char *dst, size_t want, int64_t deadline)
{
	ssize_t n;
	int w;

	for (;;) {
		n = libssh2_channel_read(c->ch, dst, want);
		if (n > 0)
			net_op_progress();
		if (n == LIBSSH2_ERROR_EAGAIN) {
			w = wait_io(c, deadline);
			if (w < 0) {
				c->broken = true;
				log_warn("sftp: waiting for a reply: %s",
				    strerror(-w));
				return w;
			}
			continue;
		}
		if (n < 0) {
			c->broken = true;
			log_warn("sftp: reading: %s", ssh_err(c->ssh));
			return ssh_errno((int)n);
		}
		if (n == 0 && libssh2_channel_eof(c->ch)) {
			c->broken = true;
			log_warn("sftp: the server closed the channel");
			return -ECONNRESET;
		}
		if (n > 0)
			return n;
	}
}

/*
 * -d: one line per request queued in out from off on: type, id and its
 * first string (a path, or an extension's name: neither is secret; data
 * and attributes are not shown).
 */
static void
trace_requests(const struct sftp_conn *c, size_t off)
{
	const uint8_t *p = (const uint8_t *)c->out.data;
	size_t n, slen;

	while (off + 9 <= c->out.len) {
		n = (size_t)be32(p + off) + 4;
		if (n < 9 || n > c->out.len - off)
			break;
		slen = n >= 13 ? be32(p + off + 9) : 0;
		if (p[off + 4] == SSH_FXP_INIT || slen > n - 13 ||
		    p[off + 4] == SSH_FXP_READ || p[off + 4] == SSH_FXP_WRITE ||
		    p[off + 4] == SSH_FXP_CLOSE ||
		    p[off + 4] == SSH_FXP_READDIR ||
		    p[off + 4] == SSH_FXP_FSTAT ||
		    p[off + 4] == SSH_FXP_FSETSTAT)
			log_trace("-> %s %u", sftp_type_name(p[off + 4]),
			    be32(p + off + 5));
		else
			log_trace("-> %s %u %.*s", sftp_type_name(p[off + 4]),
			    be32(p + off + 5), (int)slen,
			    (const char *)p + off + 13);
		off += n;
	}
}

int
sftp_conn_flush(struct sftp_conn *c, int timeout_ms)
{
	int64_t deadline = net_now_ms() + timeout_ms;
	ssize_t n;
	int w;

	if (c->broken)
		return -ECONNRESET;
	if (log_enabled(LOG_LVL_TRACE))
		trace_requests(c, c->out_sent);
	while (c->out_sent < c->out.len) {
		n = libssh2_channel_write(
		    c->ch, c->out.data + c->out_sent, c->out.len - c->out_sent);
		if (n == LIBSSH2_ERROR_EAGAIN) {
			w = wait_io(c, deadline);
			if (w < 0) {
				c->broken = true;
				log_warn(
				    "sftp: sending requests: %s", strerror(-w));
				return w;
			}
			continue;
		}
		if (n < 0) {
			c->broken = true;
			log_warn("sftp: sending requests: %s", ssh_err(c->ssh));
			return ssh_errno((int)n);
		}
		c->out_sent += (size_t)n;
	}
	buf_reset(&c->out);
	c->out_sent = 0;
	return 0;
}

static int recv_frame(
    struct sftp_conn *c, struct sftp_reply *r, int64_t deadline);

/*
 * Read and drop the replies to forgotten requests.  They come before any
 * other outstanding reply: they were sent first, and servers answer in
 * order.  A failed one is only logged (its request did not matter).
 */
static int
skip_forgotten(struct sftp_conn *c, int64_t deadline)
{
	struct sftp_reply r;
	int rc;

	while (c->nforgot > 0) {
		rc = recv_frame(c, &r, deadline);
		if (rc < 0)
			return rc;
		c->in_pos += c->in_last;
		c->in_last = 0;
		if (r.id != c->forgot[0]) {
			log_warn("sftp: reply %s to request %u, expected %u",
			    sftp_type_name(r.type), r.id, c->forgot[0]);
			c->broken = true;
			return -EPROTO;
		}
		if (r.type == SSH_FXP_STATUS && r.u.status.code != SSH_FX_OK)
			log_debug("sftp: request %u (not waited for): "
			          "status %u",
			    r.id, r.u.status.code);
		c->nforgot--;
		memmove(c->forgot, c->forgot + 1,
		    c->nforgot * sizeof(c->forgot[0]));
	}
	return 0;
}

/*
 * Before reading a reply: send what is queued, refuse a broken session,
 * drop the reply handed out last time and those nobody waits for.
 */
static int
recv_begin(struct sftp_conn *c, int timeout_ms)
{
	int rc;

	if (c->out.len > c->out_sent) {
		rc = sftp_conn_flush(c, timeout_ms);
		if (rc < 0)
			return rc;
	}
	if (c->broken)
		return -ECONNRESET;
	c->in_pos += c->in_last;
	c->in_last = 0;
	return skip_forgotten(c, net_now_ms() + timeout_ms);
}

int
sftp_conn_recv(struct sftp_conn *c, struct sftp_reply *r, int timeout_ms)
{
	int rc = recv_begin(c, timeout_ms);

	if (rc < 0)
		return rc;
	return recv_frame(c, r, net_now_ms() + timeout_ms);
}

/* Read the next reply into r (in_last: its length); pending counts it. */
static int
recv_frame(struct sftp_conn *c, struct sftp_reply *r, int64_t deadline)
{
	size_t plen;
	ssize_t n;
	int rc;

	for (;;) {
		rc = sftp_frame((const uint8_t *)c->in.data + c->in_pos,
		    c->in.len - c->in_pos, SFTP_REPLY_MAX, &plen);
		if (rc < 0) {
			log_warn("sftp: bad packet length from the server");
			c->broken = true;
			return -EPROTO;
		}
		if (rc == 1)
			break;
		/* Read more; move the unparsed tail to the front only when
		   the room behind it runs short (not on every read: that
		   moved each byte several times). */
		if (c->in_pos > 0 &&
		    (c->in_pos >= c->in.len ||
		        c->in.cap - 1 - c->in.len < 64 * 1024)) {
			buf_consume(&c->in, c->in_pos);
			c->in_pos = 0;
		}
		rc = buf_reserve(&c->in, 64 * 1024);
		if (rc < 0) {
			c->broken = true;
			return rc;
		}
		n = chan_read(c, c->in.data + c->in.len,
		    c->in.cap - 1 - c->in.len, deadline);
		if (n < 0)
			return (int)n;
		c->in.len += (size_t)n;
		c->in.data[c->in.len] = '\0';
	}
	rc = sftp_parse_reply((const uint8_t *)c->in.data + c->in_pos, plen, r);
	c->in_last = plen;
	if (rc < 0) {
		log_warn("sftp: malformed %s reply from the server",
		    sftp_type_name((uint8_t)c->in.data[c->in_pos + 4]));
		c->broken = true;
		return rc;
	}
	if (c->pending > 0)
		c->pending--;
	return 0;
}

/* DATA header: length, type, id, data length. */
#define DATA_HDR 13

int
sftp_conn_recv_data(struct sftp_conn *c, uint32_t id, char *dst, size_t cap,
    struct sftp_reply *r, int timeout_ms)
{
	int64_t deadline = net_now_ms() + timeout_ms;
	const uint8_t *p;
	size_t have, n;
	ssize_t k;
	int rc;

	rc = recv_begin(c, timeout_ms);
	if (rc < 0)
		return rc;
	/* The header only: what follows it is read into dst directly. */
	while (c->in.len - c->in_pos < DATA_HDR) {
		if (c->in_pos > 0 && c->in.cap - 1 - c->in.len < DATA_HDR) {
			buf_consume(&c->in, c->in_pos);
			c->in_pos = 0;
		}
		k = chan_read(c, c->in.data + c->in.len,
		    DATA_HDR - (c->in.len - c->in_pos), deadline);
		if (k < 0)
			return (int)k;
		c->in.len += (size_t)k;
		c->in.data[c->in.len] = '\0';
	}
	p = (const uint8_t *)c->in.data + c->in_pos;
	n = be32(p + 9);
	if (p[4] != SSH_FXP_DATA || be32(p + 5) != id || n > cap ||
	    be32(p) != n + DATA_HDR - 4) {
		/* Anything else (STATUS, a bad reply) the usual way. */
		return sftp_conn_wait(c, id, r, timeout_ms);
	}
	have = c->in.len - c->in_pos - DATA_HDR;
	if (have > n)
		have = n;
	memcpy(dst, p + DATA_HDR, have);
	c->in_pos += DATA_HDR + have;
	if (c->in_pos >= c->in.len) {
		buf_reset(&c->in);
		c->in_pos = 0;
	}
	while (have < n) {
		k = chan_read(c, dst + have, n - have, deadline);
		if (k < 0)
			return (int)k;
		have += (size_t)k;
	}
	if (c->pending > 0)
		c->pending--;
	memset(r, 0, sizeof(*r));
	r->type = SSH_FXP_DATA;
	r->id = id;
	r->u.data.p = (const uint8_t *)dst;
	r->u.data.len = (uint32_t)n;
	return 0;
}

int
sftp_conn_wait(
    struct sftp_conn *c, uint32_t id, struct sftp_reply *r, int timeout_ms)
{
	int rc = sftp_conn_recv(c, r, timeout_ms);

	if (rc < 0)
		return rc;
	if (r->id != id || r->type == SSH_FXP_VERSION) {
		log_warn("sftp: reply %s to request %u, expected %u",
		    sftp_type_name(r->type), r->id, id);
		c->broken = true;
		return -EPROTO;
	}
	return 0;
}

uint32_t
sftp_conn_id(struct sftp_conn *c)
{
	c->pending++;
	return c->next_id++;
}

void
sftp_conn_unqueue(struct sftp_conn *c)
{
	if (c->pending > 0)
		c->pending--;
}

struct buf *
sftp_conn_out(struct sftp_conn *c)
{
	return &c->out;
}

unsigned
sftp_conn_pending(const struct sftp_conn *c)
{
	return c->pending - c->nforgot;
}

int
sftp_conn_forget(struct sftp_conn *c, uint32_t id, int timeout_ms)
{
	struct sftp_reply r;

	if (c->nforgot < SFTP_FORGOT_MAX && c->pending > c->nforgot) {
		c->forgot[c->nforgot++] = id;
		return sftp_conn_flush(c, timeout_ms);
	}
	return sftp_conn_wait(c, id, &r, timeout_ms);
}

int
sftp_conn_drain(struct sftp_conn *c, int timeout_ms)
{
	struct sftp_reply r;
	int rc;

	while (c->pending > c->nforgot) {
		rc = sftp_conn_recv(c, &r, timeout_ms);
		if (rc < 0)
			return rc;
	}
	rc = recv_begin(c, timeout_ms);
	return rc < 0 ? rc : 0;
}

bool
sftp_conn_has_ext(const struct sftp_conn *c, const char *name)
{
	unsigned i;

	for (i = 0; i < c->n_exts; i++)
		if (strcmp(c->exts[i], name) == 0)
			return true;
	return false;
}

uint32_t
sftp_conn_max_read(const struct sftp_conn *c)
{
	return c->max_read;
}

uint32_t
sftp_conn_max_write(const struct sftp_conn *c)
{
	return c->max_write;
}

bool
sftp_conn_broken(const struct sftp_conn *c)
{
	return c->broken;
}

int
sftp_conn_keepalive(struct sftp_conn *c)
{
	int next = 0;

	if (c->keepalive_s <= 0)
		return 0;
	if (libssh2_keepalive_send(c->ssh, &next) < 0)
		return -ECONNRESET;
	return 0;
}

int
sftp_conn_check_idle(struct sftp_conn *c)
{
	if (c->broken || c->pending > c->nforgot || libssh2_channel_eof(c->ch))
		return -ECONNRESET;
	if (net_readable_now(c->fd)) {
		/* Nothing is expected: drain transport messages (keepalive
		   replies, window adjusts) and look again. */
		char b;
		ssize_t n = libssh2_channel_read(c->ch, &b, 0);

		if ((n < 0 && n != LIBSSH2_ERROR_EAGAIN) ||
		    libssh2_channel_eof(c->ch))
			return -ECONNRESET;
	}
	return 0;
}

/* Known extensions and the version strings we speak. */
static bool
ext_wanted(const struct sftp_str *n, const struct sftp_str *v)
{
	static const char *const want[][2] = {
		{ SFTP_EXT_POSIX_RENAME, "1" },
		{ SFTP_EXT_STATVFS, "2" },
		{ SFTP_EXT_FSTATVFS, "2" },
		{ SFTP_EXT_HARDLINK, "1" },
		{ SFTP_EXT_FSYNC, "1" },
		{ SFTP_EXT_LSETSTAT, "1" },
		{ SFTP_EXT_LIMITS, "1" },
		{ SFTP_EXT_EXPAND_PATH, "1" },
	};
	size_t i;

	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		if (n->len == strlen(want[i][0]) &&
		    memcmp(n->p, want[i][0], n->len) == 0 &&
		    v->len == strlen(want[i][1]) &&
		    memcmp(v->p, want[i][1], v->len) == 0)
			return true;
	return false;
}

/*
 * The READ and WRITE sizes an earlier session of this mount got from
 * limits@openssh.com: true and set in c (no request), or false.
 */
static bool
memo_limits(const struct sftp_conn_config *cfg, struct sftp_conn *c)
{
	bool have = false;

	if (cfg->memo == NULL)
		return false;
	pthread_mutex_lock(&cfg->memo->lock);
	if (cfg->memo->have_limits) {
		c->max_read = cfg->memo->max_read;
		c->max_write = cfg->memo->max_write;
		have = true;
	}
	pthread_mutex_unlock(&cfg->memo->lock);
	return have;
}

static void
memo_limits_set(const struct sftp_conn_config *cfg, const struct sftp_conn *c)
{
	if (cfg->memo == NULL)
		return;
	pthread_mutex_lock(&cfg->memo->lock);
	cfg->memo->max_read = c->max_read;
	cfg->memo->max_write = c->max_write;
	cfg->memo->have_limits = true;
	pthread_mutex_unlock(&cfg->memo->lock);
}

static int
sftp_start(struct sftp_conn *c, const struct sftp_conn_config *cfg,
    int64_t deadline, char *msg, size_t msglen)
{
	struct sftp_reply r;
	struct sftp_str n, v;
	struct sftp_limits lim;
	size_t pos = 0;
	uint32_t id;
	int rc, left;

	do {
		c->ch = libssh2_channel_open_ex(c->ssh, "session", 7,
		    cfg->window, LIBSSH2_CHANNEL_PACKET_DEFAULT, NULL, 0);
		if (c->ch != NULL)
			break;
		if (libssh2_session_last_errno(c->ssh) != LIBSSH2_ERROR_EAGAIN)
			goto fail;
		rc = wait_io(c, deadline);
		if (rc < 0)
			goto timeout;
	} while (c->ch == NULL);
	SSH_RETRY(c, deadline, rc,
	    libssh2_channel_process_startup(c->ch, "subsystem", 9, "sftp", 4));
	if (rc == -ETIMEDOUT)
		goto timeout;
	if (rc < 0)
		goto fail;
	rc = sftp_enc_init(&c->out, SFTP_VERSION);
	if (rc < 0)
		return rc;
	c->pending = 1;
	left = (int)(deadline - net_now_ms());
	rc = sftp_conn_recv(c, &r, left > 0 ? left : 1);
	if (rc < 0 || r.type != SSH_FXP_VERSION) {
		set_msg(msg, msglen,
		    "%s: the sftp subsystem did not answer "
		    "INIT%s",
		    cfg->host, rc == -ETIMEDOUT ? " in time" : "");
		return rc < 0 ? rc : -EPROTO;
	}
	if (r.u.version.version != SFTP_VERSION)
		log_info("server speaks SFTP version %u; using 3",
		    r.u.version.version);
	while (sftp_ext_next(&r, &pos, &n, &v)) {
		log_debug("extension %.*s version %.*s", (int)n.len, n.p,
		    (int)v.len, v.p);
		if (ext_wanted(&n, &v) && c->n_exts < MAX_EXTS) {
			memcpy(c->exts[c->n_exts], n.p, n.len);
			c->exts[c->n_exts][n.len] = '\0';
			c->n_exts++;
		}
	}
	c->max_read = 64 * 1024;
	c->max_write = 64 * 1024;
	if (sftp_conn_has_ext(c, SFTP_EXT_LIMITS) && memo_limits(cfg, c))
		return 0;
	if (sftp_conn_has_ext(c, SFTP_EXT_LIMITS)) {
		id = sftp_conn_id(c);
		rc = sftp_enc_limits(&c->out, id);
		if (rc < 0)
			return rc;
		left = (int)(deadline - net_now_ms());
		rc = sftp_conn_wait(c, id, &r, left > 0 ? left : 1);
		if (rc < 0)
			return rc;
		if (r.type == SSH_FXP_EXTENDED_REPLY &&
		    sftp_parse_limits(r.u.extended.p, r.u.extended.len, &lim) ==
		        0) {
			log_debug("limits: packet %llu read %llu write %llu "
			          "handles %llu",
			    (unsigned long long)lim.packet_len,
			    (unsigned long long)lim.read_len,
			    (unsigned long long)lim.write_len,
			    (unsigned long long)lim.open_handles);
			if (lim.read_len > 0 && lim.read_len < c->max_read)
				c->max_read = (uint32_t)lim.read_len;
			if (lim.write_len > 0 && lim.write_len < c->max_write)
				c->max_write = (uint32_t)lim.write_len;
			if (lim.read_len >= MAX_IO_CAP)
				c->max_read = MAX_IO_CAP;
			if (lim.write_len >= MAX_IO_CAP &&
			    lim.packet_len >= MAX_IO_CAP + 1024)
				c->max_write = MAX_IO_CAP;
		}
		memo_limits_set(cfg, c);
	}
	return 0;
fail:
	set_msg(msg, msglen, "%s: cannot start the sftp subsystem: %s",
	    cfg->host, ssh_err(c->ssh));
	return -EPROTO;
timeout:
	set_msg(msg, msglen, "%s: timed out starting the sftp subsystem",
	    cfg->host);
	return -ETIMEDOUT;
}

int
sftp_conn_open(const struct sftp_conn_config *cfg, struct sftp_conn **out,
    char *msg, size_t msglen)
{
	struct sftp_conn *c;
	LIBSSH2_KNOWNHOSTS *kh = NULL;
	char *khpath = NULL;
	int64_t deadline = net_now_ms() + cfg->connect_timeout_ms;
	int rc;

	*out = NULL;
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return -ENOMEM;
	c->fd = -1;
	c->next_id = 1;
	c->password = cfg->password;
	buf_init(&c->out, OUT_MAX);
	buf_init(&c->in, IN_MAX);
	/* Full size at once: no realloc (and page faults) while reading. */
	if (buf_reserve(&c->in, IN_MAX - 1) < 0) {
		rc = -ENOMEM;
		goto fail;
	}
	rc = net_connect_host(
	    cfg->host, cfg->port, cfg->connect_timeout_ms, &c->fd);
	if (rc < 0) {
		net_connect_msg(rc, cfg->host, cfg->port, msg, msglen);
		goto fail;
	}
	/* TCP_NODELAY: libssh2 never sets it, and without it a small
	   request waits for a delayed ACK (44 MB/s reads, 1 MB/s writes) */
	net_tune_control(c->fd);
	c->ssh = libssh2_session_init_ex(NULL, NULL, NULL, c);
	if (c->ssh == NULL) {
		rc = -ENOMEM;
		goto fail;
	}
	libssh2_session_set_blocking(c->ssh, 0);
	rc = hk_prepare(c, cfg, &kh, &khpath);
	if (rc < 0)
		goto fail;
	SSH_RETRY(c, deadline, rc, libssh2_session_handshake(c->ssh, c->fd));
	if (rc < 0) {
		set_msg(msg, msglen, "SSH handshake with %s port %u failed: %s",
		    cfg->host, cfg->port,
		    rc == -ETIMEDOUT ? "timed out" : ssh_err(c->ssh));
		rc = rc == -ETIMEDOUT ? rc : -EPROTO;
		goto fail;
	}
	log_debug("ssh: %s, %s/%s",
	    libssh2_session_methods(c->ssh, LIBSSH2_METHOD_KEX),
	    libssh2_session_methods(c->ssh, LIBSSH2_METHOD_CRYPT_CS),
	    libssh2_session_methods(c->ssh, LIBSSH2_METHOD_MAC_CS));
	rc = hk_verify(c, cfg, kh, khpath, msg, msglen);
	if (rc < 0)
		goto fail;
	rc = authenticate(c, cfg, deadline, msg, msglen);
	if (rc < 0)
		goto fail;
	c->keepalive_s = cfg->keepalive_s;
	if (c->keepalive_s > 0)
		libssh2_keepalive_config(c->ssh, 1, (unsigned)c->keepalive_s);
	rc = sftp_start(c, cfg, deadline, msg, msglen);
	if (rc < 0)
		goto fail;
	libssh2_knownhost_free(kh);
	free(khpath);
	*out = c;
	return 0;
fail:
	if (kh != NULL)
		libssh2_knownhost_free(kh);
	free(khpath);
	c->broken = true;
	sftp_conn_close(c);
	return rc;
}

void
sftp_conn_close(struct sftp_conn *c)
{
	if (c == NULL)
		return;
	if (c->ssh != NULL) {
		/*
		 * Bounded goodbye: blocking with a 1 s timeout, because in
		 * non-blocking mode libssh2_session_free() may answer EAGAIN
		 * and free nothing (LeakSanitizer saw whole sessions left).
		 */
		libssh2_session_set_timeout(c->ssh, 1000);
		libssh2_session_set_blocking(c->ssh, 1);
		/*
		 * A broken session gets no goodbye: with the socket shut,
		 * libssh2 sees a send failure at once and frees all.  Waited
		 * for instead (a frozen server), the channel's close timed
		 * out and libssh2_session_free() gave up on the session.
		 */
		if (c->broken)
			net_shutdown_both(c->fd);
		if (c->ch != NULL) {
			if (!c->broken)
				(void)libssh2_channel_close(c->ch);
			libssh2_channel_free(c->ch);
		}
		if (!c->broken)
			(void)libssh2_session_disconnect(c->ssh, "bye");
		libssh2_session_free(c->ssh);
	}
	net_close(c->fd);
	buf_free(&c->in);
	buf_free(&c->out);
	free(c);
}
