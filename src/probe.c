/* SPDX-License-Identifier: GPL-2.0-or-later */
/* probe: pick the protocol for auto:// (contract in include/probe.h). */
#include "probe.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "net.h"

#define PROBE_LINE_MAX 1024

int
probe_parse_order(const char *list, enum url_scheme order[PROBE_MAX], size_t *n,
    char *msg, size_t msglen)
{
	static const struct {
		const char *name;
		enum url_scheme scheme;
	} names[] = {
		{ "sftp", URL_SFTP },
		{ "ftpes", URL_FTPES },
		{ "ftp", URL_FTP },
	};
	const char *p = list, *end;
	size_t len, i, j;

	*n = 0;
	if (*p == '\0') {
		snprintf(msg, msglen, "-o protocol: no protocol given");
		return -EINVAL;
	}
	for (;;) {
		end = strchr(p, ',');
		len = end != NULL ? (size_t)(end - p) : strlen(p);
		for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
			if (strlen(names[i].name) == len &&
			    strncmp(names[i].name, p, len) == 0)
				break;
		if (i == sizeof(names) / sizeof(names[0])) {
			snprintf(msg, msglen,
			    "-o protocol: '%.*s' is not one of sftp, ftpes, ftp "
			    "(ftps, implicit TLS, cannot be probed: name "
			    "ftps:// directly)",
			    (int)len, p);
			return -EINVAL;
		}
		for (j = 0; j < *n; j++)
			if (order[j] == names[i].scheme) {
				snprintf(msg, msglen,
				    "-o protocol: %s given twice",
				    names[i].name);
				return -EINVAL;
			}
		order[(*n)++] = names[i].scheme;
		if (end == NULL)
			return 0;
		p = end + 1; /* an empty item after it is refused above */
	}
}

/*
 * Read one line (without CR LF) into line within the deadline; lines
 * longer than the buffer are cut.  0, -ETIMEDOUT, -ECONNRESET (EOF).
 */
static int
probe_line(int fd, char *line, size_t size, int64_t deadline)
{
	size_t n = 0;
	char ch;
	ssize_t r;

	for (;;) {
		int left = (int)(deadline - net_now_ms());

		r = net_read(fd, &ch, 1, left > 0 ? left : 0);
		if (r < 0)
			return (int)r;
		if (r == 0)
			return -ECONNRESET;
		if (ch == '\n')
			break;
		if (ch != '\r' && n + 1 < size)
			line[n++] = ch;
	}
	line[n] = '\0';
	return 0;
}

/* An FTP reply's code (the last line of a multi-line one); < 0: error. */
static int
probe_reply(int fd, int64_t deadline)
{
	char line[PROBE_LINE_MAX];
	int rc, code = 0;

	for (;;) {
		rc = probe_line(fd, line, sizeof(line), deadline);
		if (rc < 0)
			return rc;
		if (strlen(line) >= 3 && line[0] >= '1' && line[0] <= '5' &&
		    line[1] >= '0' && line[1] <= '9' && line[2] >= '0' &&
		    line[2] <= '9') {
			int c = (line[0] - '0') * 100 + (line[1] - '0') * 10 +
			    (line[2] - '0');

			if (code == 0 && line[3] == '-')
				code = c; /* a multi-line reply opens */
			else if (line[3] != '-' && (code == 0 || c == code))
				return c;
		} else if (code == 0) {
			return -EPROTO; /* not FTP */
		}
	}
}

/* The SSH version line, within the deadline: 1 yes, 0 no, < 0 error. */
static int
probe_ssh(int fd, int64_t deadline)
{
	char line[PROBE_LINE_MAX];
	int i, rc;

	/* RFC 4253 4.2: other lines may come before the version */
	for (i = 0; i < 8; i++) {
		rc = probe_line(fd, line, sizeof(line), deadline);
		if (rc < 0)
			return rc == -ECONNRESET ? 0 : rc;
		if (strncmp(line, "SSH-", 4) == 0)
			return 1;
		if (i == 0 && strlen(line) >= 3 && line[0] >= '1' &&
		    line[0] <= '5')
			return 0; /* an FTP greeting */
	}
	return 0;
}

/* What an FTP port offers: *ftp (greeting 220), *tls (AUTH TLS 234). */
static int
probe_ftp(int fd, int64_t deadline, bool *ftp, bool *tls)
{
	static const char auth[] = "AUTH TLS\r\n", quit[] = "QUIT\r\n";
	int code, left;

	*ftp = *tls = false;
	do /* "120 ready in n minutes", then 220 */
		code = probe_reply(fd, deadline);
	while (code == 120);
	if (code < 0)
		return code == -EPROTO ? 0 : code;
	if (code != 220)
		return 0;
	*ftp = true;
	left = (int)(deadline - net_now_ms());
	if (net_write_all(fd, auth, sizeof(auth) - 1, left > 0 ? left : 0) < 0)
		return 0;
	code = probe_reply(fd, deadline);
	*tls = code == 234;
	if (!*tls) {
		left = (int)(deadline - net_now_ms());
		(void)net_write_all(
		    fd, quit, sizeof(quit) - 1, left > 0 ? left : 0);
	}
	return 0;
}

static unsigned
probe_port(enum url_scheme s, unsigned port)
{
	if (port != 0)
		return port;
	return s == URL_SFTP ? 22 : 21;
}

/* Append one finding to why, "; " between findings. */
static void __attribute__((format(printf, 3, 4)))
probe_note(char *why, size_t whylen, const char *fmt, ...)
{
	size_t used = strlen(why);
	va_list ap;

	if (used > 0 && used + 2 < whylen) {
		memcpy(why + used, "; ", 3);
		used += 2;
	}
	if (used + 1 >= whylen)
		return;
	va_start(ap, fmt);
	vsnprintf(why + used, whylen - used, fmt, ap);
	va_end(ap);
}

int
probe_choose(const char *host, unsigned port, const enum url_scheme *order,
    size_t n, int timeout_ms, enum url_scheme *chosen, unsigned *chosen_port,
    char *why, size_t whylen)
{
	bool ftp_done = false, ftp_ok = false, tls_ok = false;
	unsigned ftp_port = 0, p;
	int64_t deadline;
	size_t i;
	int fd, rc, last = -EPROTONOSUPPORT;

	why[0] = '\0';
	for (i = 0; i < n; i++) {
		p = probe_port(order[i], port);
		if (order[i] != URL_SFTP && ftp_done && ftp_port == p) {
			/* answered by the probe of the other FTP variant */
		} else {
			deadline = net_now_ms() + timeout_ms;
			rc = net_connect_host(host, p, timeout_ms, &fd);
			if (rc < 0) {
				probe_note(why, whylen, "%s: port %u: %s",
				    url_scheme_name(order[i]), p,
				    strerror(-rc));
				last = rc;
				if (rc == -EADDRNOTAVAIL || rc == -EAGAIN)
					return rc; /* the name itself */
				continue;
			}
			if (order[i] == URL_SFTP) {
				rc = probe_ssh(fd, deadline);
				close(fd);
				if (rc == 1) {
					*chosen = URL_SFTP;
					*chosen_port = p;
					snprintf(why, whylen,
					    "an SSH banner on port %u", p);
					return 0;
				}
				probe_note(why, whylen, "sftp: port %u: %s", p,
				    rc < 0 ? strerror(-rc) : "no SSH banner");
				continue;
			}
			rc = probe_ftp(fd, deadline, &ftp_ok, &tls_ok);
			close(fd);
			ftp_done = true;
			ftp_port = p;
			if (rc < 0 || !ftp_ok) {
				probe_note(why, whylen, "%s: port %u: %s",
				    url_scheme_name(order[i]), p,
				    rc < 0 ? strerror(-rc) : "no FTP greeting");
				continue;
			}
		}
		if (order[i] == URL_FTPES && tls_ok) {
			*chosen = URL_FTPES;
			*chosen_port = p;
			snprintf(
			    why, whylen, "AUTH TLS accepted on port %u", p);
			return 0;
		}
		if (order[i] == URL_FTPES) {
			probe_note(why, whylen, "ftpes: port %u: %s", p,
			    ftp_ok ? "AUTH TLS refused" : "no FTP greeting");
			continue;
		}
		if (order[i] == URL_FTP && ftp_ok) {
			*chosen = URL_FTP;
			*chosen_port = p;
			if (tls_ok)
				snprintf(why, whylen,
				    "an FTP greeting on port %u (ftp asked for "
				    "before ftpes)",
				    p);
			else
				snprintf(why, whylen,
				    "an FTP greeting on port %u, no SSH and no "
				    "TLS offered",
				    p);
			return 0;
		}
	}
	return last == -EPROTONOSUPPORT || last == -ECONNREFUSED ||
	        last == -ETIMEDOUT
	    ? -EPROTONOSUPPORT
	    : last;
}
