/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fuzz_credfile: credfile_parse on arbitrary text. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "credfile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct credfile c;
	unsigned line;
	char *text = malloc(size > 0 ? size : 1);
	int rc;

	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	rc = credfile_parse(text, size, &c, &line);
	if (rc != 0 &&
	    (c.user != NULL || c.password != NULL || c.account != NULL))
		abort();
	if (rc == 0 && line != 0)
		abort();
	if (rc != 0 && line == 0)
		abort();
	/* a value never holds a line break */
	if (rc == 0 && c.password != NULL && strchr(c.password, '\n') != NULL)
		abort();
	credfile_free(&c);
	free(text);
	return 0;
}
