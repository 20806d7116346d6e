/* SPDX-License-Identifier: GPL-2.0-or-later */
/* secret: wipe-then-free (contract in include/secret.h). */
#include "secret.h"

#include <stdlib.h>
#include <string.h>

void
secret_free(const char *s)
{
	char *p = (char *)s;

	if (p == NULL)
		return;
	explicit_bzero(p, strlen(p));
	free(p);
}
