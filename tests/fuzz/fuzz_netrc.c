/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fuzz_netrc: netrc_lookup on arbitrary text.  The first byte chooses the
 * host and whether a user is given.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "netrc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const hosts[] = { "h", "example.org", "default",
		"machine" };
	static const char *const users[] = { NULL, "u", "login", "" };
	struct netrc_entry e;
	char *text;
	int rc;

	if (size == 0)
		return 0;
	text = malloc(size - 1 > 0 ? size - 1 : 1);
	if (text == NULL)
		return 0;
	memcpy(text, data + 1, size - 1);
	rc = netrc_lookup(
	    text, size - 1, hosts[data[0] & 3], users[(data[0] >> 2) & 3], &e);
	if (rc != 0 &&
	    (e.login != NULL || e.password != NULL || e.account != NULL))
		abort();
	if (rc == 0 && users[(data[0] >> 2) & 3] != NULL && e.login != NULL &&
	    strcmp(e.login, users[(data[0] >> 2) & 3]) != 0)
		abort();
	netrc_entry_free(&e);
	free(text);
	return 0;
}
