/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fuzz_parse: the first byte picks the parser (PASV, EPSV, PWD, FEAT,
 * SIZE, time, MDTM); the rest is the reply text, in an exact-size buffer
 * without a terminating NUL so that over-reads are caught.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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
	switch (data[0] % 7) {
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
	default:
		if (ftp_parse_mdtm(text, len, &ts) == 0 &&
		    (ts.tv_nsec < 0 || ts.tv_nsec >= 1000000000))
			abort();
		break;
	}
	free(text);
	return 0;
}
