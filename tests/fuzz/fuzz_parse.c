/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fuzz_parse: the first byte picks the parser (PASV, EPSV, PWD, FEAT,
 * SIZE, time, MDTM, a -o time_offset value, a reply turned into an errno
 * by ftp_errno); the rest is the reply text, in an exact-size buffer
 * without a terminating NUL so that over-reads are caught (the last two
 * take NUL-terminated text, as they get it).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ftp_be.h"
#include "ftp_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

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
	switch (data[0] % 9) {
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
