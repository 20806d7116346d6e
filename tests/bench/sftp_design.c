/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * sftp_design: the measurement behind the SFTP backend's design (issue 9).
 * Moves one file through
 *   api  libssh2 1.10's SFTP API (libssh2_sftp_read/write, blocking
 *        session, TCP_NODELAY), buffer of REQ bytes per call;
 *   own  ftpfs's SFTP v3 codec (sftp_proto) over a raw libssh2 "sftp"
 *        channel (sftp_conn), DEPTH requests of REQ bytes in flight;
 * and prints MB/s (10^6 bytes) and client CPU seconds per GiB.
 *
 *   sftp_design api|own read|write HOST PORT USER KEY KNOWN_HOSTS PATH
 *               BYTES [REQ [DEPTH]]
 *
 * read: PATH is read to its end (BYTES is ignored); write: BYTES of a
 * repeating pattern are written to PATH (created or truncated).
 * A measuring tool, not part of ftpfs: it links libssh2 directly for (a).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <libssh2.h>
#include <libssh2_sftp.h>

#include "net.h"
#include "sftp_conn.h"
#include "sftp_proto.h"

#define TIMEOUT_MS 30000

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double
cpu_s(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	    (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

static long long
run_api(int rd, const char *host, unsigned port, const char *user,
    const char *key, const char *path, long long bytes, size_t req)
{
	LIBSSH2_SESSION *s;
	LIBSSH2_SFTP *sftp;
	LIBSSH2_SFTP_HANDLE *h;
	long long done = 0;
	ssize_t n;
	char *buf;
	int fd, rc;

	rc = net_connect_host(host, port, 5000, &fd);
	if (rc < 0)
		return rc;
	net_tune_control(fd);
	/* net.c makes fds non-blocking; the blocking API needs them not. */
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	s = libssh2_session_init();
	libssh2_session_set_timeout(s, TIMEOUT_MS);
	if (libssh2_session_handshake(s, fd) != 0 ||
	    libssh2_userauth_publickey_fromfile(s, user, NULL, key, "") != 0)
		return -EACCES;
	sftp = libssh2_sftp_init(s);
	if (sftp == NULL)
		return -EPROTO;
	h = libssh2_sftp_open(sftp, path,
	    rd ? LIBSSH2_FXF_READ
	       : LIBSSH2_FXF_WRITE | LIBSSH2_FXF_CREAT | LIBSSH2_FXF_TRUNC,
	    0644);
	if (h == NULL)
		return -ENOENT;
	buf = malloc(req);
	memset(buf, 'x', req);
	if (rd) {
		while ((n = libssh2_sftp_read(h, buf, req)) > 0)
			done += n;
	} else {
		while (done < bytes) {
			size_t want = (size_t)(bytes - done) < req
			    ? (size_t)(bytes - done)
			    : req;
			size_t off = 0;

			while (off < want) {
				n = libssh2_sftp_write(
				    h, buf + off, want - off);
				if (n < 0)
					return (long long)n;
				off += (size_t)n;
			}
			done += (long long)want;
		}
	}
	libssh2_sftp_close(h);
	libssh2_sftp_shutdown(sftp);
	libssh2_session_disconnect(s, "bye");
	libssh2_session_free(s);
	free(buf);
	return done;
}

static long long
run_own(int rd, const struct sftp_conn_config *cfg, const char *path,
    long long bytes, size_t req, unsigned depth)
{
	struct sftp_conn *c;
	struct sftp_reply r;
	struct sftp_handle h;
	char msg[512];
	long long done = 0, sent = 0;
	unsigned inflight = 0;
	bool eof = false;
	uint32_t id;
	char *buf;
	int rc;

	rc = sftp_conn_open(cfg, &c, msg, sizeof(msg));
	if (rc < 0) {
		fprintf(stderr, "%s\n", msg);
		return rc;
	}
	if (req > (rd ? sftp_conn_max_read(c) : sftp_conn_max_write(c)))
		fprintf(stderr,
		    "note: request size above the server's limit "
		    "(%u)\n",
		    rd ? sftp_conn_max_read(c) : sftp_conn_max_write(c));
	id = sftp_conn_id(c);
	sftp_enc_open(sftp_conn_out(c), id, path,
	    rd ? SSH_FXF_READ : SSH_FXF_WRITE | SSH_FXF_CREAT | SSH_FXF_TRUNC,
	    NULL);
	rc = sftp_conn_wait(c, id, &r, TIMEOUT_MS);
	if (rc < 0 || r.type != SSH_FXP_HANDLE)
		return -ENOENT;
	h = r.u.handle;
	buf = malloc(req);
	memset(buf, 'x', req);
	for (;;) {
		while (inflight < depth && !eof && (rd || sent < bytes)) {
			size_t n = req;

			if (!rd && (long long)n > bytes - sent)
				n = (size_t)(bytes - sent);
			id = sftp_conn_id(c);
			if (rd)
				rc = sftp_enc_read(sftp_conn_out(c), id, &h,
				    (uint64_t)sent, (uint32_t)n);
			else
				rc = sftp_enc_write(sftp_conn_out(c), id, &h,
				    (uint64_t)sent, buf, n);
			if (rc < 0)
				return rc;
			sent += (long long)n;
			inflight++;
		}
		if (inflight == 0)
			break;
		rc = sftp_conn_recv(c, &r, TIMEOUT_MS);
		if (rc < 0)
			return rc;
		inflight--;
		if (r.type == SSH_FXP_DATA) {
			/* Short reads mid-file do not happen on this bench's
			   request sizes (<= the server's max). */
			done += (long long)r.u.data.len;
		} else if (r.type == SSH_FXP_STATUS &&
		    r.u.status.code == SSH_FX_EOF) {
			eof = true;
		} else if (r.type == SSH_FXP_STATUS &&
		    r.u.status.code == SSH_FX_OK && !rd) {
			done += (long long)req;
		} else {
			fprintf(stderr, "unexpected reply %s\n",
			    sftp_type_name(r.type));
			return -EPROTO;
		}
	}
	if (!rd && done > bytes)
		done = bytes;
	id = sftp_conn_id(c);
	sftp_enc_handle(sftp_conn_out(c), SSH_FXP_CLOSE, id, &h);
	sftp_conn_wait(c, id, &r, TIMEOUT_MS);
	sftp_conn_close(c);
	free(buf);
	return done;
}

int
main(int argc, char **argv)
{
	struct sftp_conn_config cfg;
	long long bytes, done;
	size_t req;
	unsigned depth;
	double t0, c0, dt, dc;
	int rd;

	if (argc < 10) {
		fprintf(stderr,
		    "usage: %s api|own read|write HOST PORT USER "
		    "KEY KNOWN_HOSTS PATH BYTES [REQ [DEPTH]]\n",
		    argv[0]);
		return 2;
	}
	rd = strcmp(argv[2], "read") == 0;
	bytes = atoll(argv[9]);
	req = argc > 10 ? (size_t)atol(argv[10]) : 65536;
	depth = argc > 11 ? (unsigned)atoi(argv[11]) : 32;
	if (sftp_conn_global_init() < 0)
		return 1;
	memset(&cfg, 0, sizeof(cfg));
	cfg.host = argv[3];
	cfg.port = (unsigned)atoi(argv[4]);
	cfg.user = argv[5];
	cfg.identity[0] = argv[6];
	cfg.n_identity = 1;
	cfg.no_default_keys = true;
	cfg.no_agent = true;
	cfg.known_hosts = argv[7];
	cfg.connect_timeout_ms = TIMEOUT_MS;
	cfg.window = 16 * 1024 * 1024;
	t0 = now_s();
	c0 = cpu_s();
	if (strcmp(argv[1], "api") == 0)
		done = run_api(rd, argv[3], cfg.port, argv[5], argv[6], argv[8],
		    bytes, req);
	else
		done = run_own(rd, &cfg, argv[8], bytes, req, depth);
	dt = now_s() - t0;
	dc = cpu_s() - c0;
	if (done <= 0) {
		fprintf(stderr, "failed: %lld\n", done);
		return 1;
	}
	printf(
	    "%s %s req=%zu depth=%u bytes=%lld MB/s=%.0f cpu_s_per_GiB=%.2f\n",
	    argv[1], argv[2], req, strcmp(argv[1], "api") ? depth : 0, done,
	    (double)done / dt / 1e6, dc / ((double)done / 1073741824.0));
	return 0;
}
