/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fuzz_parse: the first byte picks the parser (PASV, EPSV, PWD, FEAT,
 * SIZE, time, MDTM, a -o time_offset value, a reply turned into an errno
 * by ftp_errno, a refused login classified by ftp_parse_login_refusal);
 * the rest is the reply text, in an exact-size buffer without a
 * terminating NUL so that over-reads are caught (time_offset and ftp_errno
 * take NUL-terminated text, as they get it).  The login classification is
 * checked against the strcasestr() code it replaced in ftp_conn.c.
 */
#include <ctype.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ftp_be.h"
#include "ftp_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* ftp_conn.c's is_limit_text before it moved to ftp_parse.c. */
static bool
old_is_limit(const char *text)
{
	static const char *const pats[] = { "too many", "overloaded",
		"try again later", "try later", "try back later",
		"is restricted to", "maximum number", "number of connect",
		"more connection", "already connected", "simultaneous login",
		"max clients", "maximum" };
	size_t i;

	for (i = 0; i < sizeof(pats) / sizeof(pats[0]); i++)
		if (strcasestr(text, pats[i]) != NULL)
			return true;
	return false;
}

static bool
old_has_word(const char *text, const char *word)
{
	size_t n = strlen(word);
	const char *p;

	for (p = text; (p = strcasestr(p, word)) != NULL; p++)
		if ((p == text || !isalnum((unsigned char)p[-1])) &&
		    !isalnum((unsigned char)p[n]))
			return true;
	return false;
}

static bool
old_wants_tls(int code, const char *text)
{
	if (code == 534)
		return true;
	if (code != 421 && code != 530 && code != 550)
		return false;
	return old_has_word(text, "SSL") || old_has_word(text, "TLS") ||
	    old_has_word(text, "encryption");
}

static void
login_refusal(uint8_t sel, const char *text, size_t len)
{
	static const int codes[] = { 421, 530, 550, 534, 331, 332, 500, 220 };
	int code = codes[sel & 7];
	bool secured = sel & 8, once = sel & 16;
	enum ftp_login_refusal r, want;
	bool limit, tls;
	char *z;

	r = ftp_parse_login_refusal(code, text, len, secured, once);
	limit = ftp_parse_is_limit(text, len);
	tls = ftp_parse_wants_tls(code, text, len);
	if (!secured && tls)
		want = FTP_LOGIN_TLS_FIRST;
	else if (code == 421 || (code == 530 && once && limit))
		want = FTP_LOGIN_LIMIT;
	else if (code == 530 || code == 331 || code == 332)
		want = FTP_LOGIN_DENIED;
	else
		want = FTP_LOGIN_FAILED;
	if (r != want)
		abort();
	/* the old code saw the text up to its first NUL, and ASCII only */
	if (memchr(text, '\0', len) != NULL)
		return;
	z = strndup(text, len);
	if (z == NULL)
		return;
	if (limit != old_is_limit(z) || tls != old_wants_tls(code, z))
		abort();
	free(z);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct timespec ts;
	uint8_t ip[4];
	unsigned port;
	uint64_t sz;
	char *text, *path;
	size_t len;

	if (size == 0)
		return 0;
	len = size - 1;
	text = malloc(len > 0 ? len : 1);
	if (text == NULL)
		return 0;
	memcpy(text, data + 1, len);
	switch (data[0] % 10) {
	case 0:
		if (ftp_parse_pasv(text, len, ip, &port) == 0 &&
		    (port == 0 || port > 65535))
			abort();
		break;
	case 1:
		if (ftp_parse_epsv(text, len, &port) == 0 &&
		    (port == 0 || port > 65535))
			abort();
		break;
	case 2:
		if (ftp_parse_pwd(text, len, &path) == 0) {
			if (path == NULL || path[0] != '/' ||
			    strlen(path) > len)
				abort();
			free(path);
		} else if (path != NULL) {
			abort();
		}
		break;
	case 3:
		(void)ftp_parse_feat(text, len);
		break;
	case 4:
		(void)ftp_parse_size(text, len, &sz);
		break;
	case 5:
		if (ftp_parse_time(text, len, &ts) == 0 &&
		    (ts.tv_nsec < 0 || ts.tv_nsec >= 1000000000))
			abort();
		break;
	case 6:
		if (ftp_parse_mdtm(text, len, &ts) == 0 &&
		    (ts.tv_nsec < 0 || ts.tv_nsec >= 1000000000))
			abort();
		break;
	case 7: {
		char *z = strndup(text, len);
		long secs;

		if (z != NULL && ftp_parse_time_offset(z, &secs) == 0 &&
		    (secs > 14 * 3600 + 59 * 60 ||
		        secs < -(14 * 3600 + 59 * 60)))
			abort();
		free(z);
		break;
	}
	case 9:
		login_refusal((uint8_t)(data[0] / 10), text, len);
		break;
	default: {
		/* a reply of any code and text: an errno, never 0 for an
		   error code, always one the kernel knows */
		struct ftp_reply r = { 0 };
		int e;

		if (len < 1)
			break;
		r.code = 100 + (unsigned char)text[0] % 500;
		r.text = strndup(text + 1, len - 1);
		if (r.text == NULL)
			break;
		r.text_len = strlen(r.text);
		e = ftp_errno(
		    &r, (enum ftp_op)((unsigned char)data[0] / 9 % 5));
		if (e > 0 || e < -4095 || (r.code >= 400 && e == 0))
			abort();
		free(r.text);
		break;
	}
	}
	free(text);
	return 0;
}
