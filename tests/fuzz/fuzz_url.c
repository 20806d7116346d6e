/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fuzz_url: url_parse and url_password_span on arbitrary bytes; a parsed
 * URL must satisfy the contract in url.h, and the two must agree on
 * whether there is a password.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "url.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_clean(const char *s)
{
	if (s != NULL && strpbrk(s, "\r\n") != NULL)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct url u;
	size_t off, n, plen;
	bool span;
	char *s;

	s = malloc(size > 0 ? size : 1);
	if (s == NULL)
		return 0;
	memcpy(s, data, size);
	span = url_password_span(s, size, &off, &n);
	if (span && (off > size || n > size - off))
		abort();
	if (url_parse(s, size, &u) == 0) {
		if (u.host == NULL || u.path == NULL || u.path[0] != '/')
			abort();
		plen = strlen(u.path);
		if (plen > 1 && u.path[plen - 1] == '/')
			abort();
		/* auto:// without a port: 0, each protocol's default */
		if ((u.port == 0 && (u.scheme != URL_AUTO || u.port_given)) ||
		    u.port > 65535)
			abort();
		check_clean(u.user);
		check_clean(u.password);
		check_clean(u.path);
		if ((u.password != NULL) != span)
			abort();
		if (url_scheme_name(u.scheme)[0] == '?')
			abort();
	} else if (u.user != NULL || u.password != NULL || u.host != NULL ||
	    u.path != NULL) {
		abort();
	}
	url_free(&u);
	free(s);
	return 0;
}
