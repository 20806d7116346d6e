/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fuzz_options: -o items as fuse_opt hands them to main.c's callback
 * (the input split at NUL bytes, each item NUL-terminated in an
 * exact-size copy so that over-reads are caught), through every value
 * reader of options.h and backend_opt_check(), the backends' own.  A
 * number read must be the item's digits and inside its range; a protocol
 * list only ever grows by ",item"; a refusal leaves the output untouched.
 */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "log.h"
#include "options.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define LIST_MAX 4096 /* a protocol list is started again past this */

static void
check(bool ok)
{
	if (!ok)
		abort();
}

static void
number(const char *item)
{
	/* main.c's ranges, and the extremes */
	static const unsigned ranges[][2] = { { 1, 64 }, { 0, INT_MAX / 1000 },
		{ 1, INT_MAX / 1000 }, { 0, UINT_MAX }, { 5, 5 } };
	const char *eq = strchr(item, '='), *p;
	char digits[32];
	unsigned v;
	size_t i;

	for (i = 0; i < sizeof(ranges) / sizeof(ranges[0]); i++) {
		v = 12345;
		if (options_number(item, ranges[i][0], ranges[i][1], &v) != 0) {
			check(v == 12345);
			continue;
		}
		check(v >= ranges[i][0] && v <= ranges[i][1]);
		/* the value is the digits after '=', leading zeros aside */
		check(eq != NULL);
		for (p = eq + 1; p[0] == '0' && p[1] != '\0'; p++)
			;
		snprintf(digits, sizeof(digits), "%u", v);
		check(strcmp(p, digits) == 0);
	}
}

static void
item(const char *s, char **list)
{
	char msg[256] = "";
	bool remote = false;
	size_t before;
	int rc, level = -7;

	number(s);
	(void)options_fstab_only(s);
	rc = options_log_level(s, &level);
	check(rc == 0 ? level >= LOG_LVL_ERR && level <= LOG_LVL_TRACE
	              : rc == -EINVAL && level == -7);
	rc = options_idmap(s, &remote);
	check(rc == -EINVAL ||
	    (rc == 0 && remote == (strcmp(s, "idmap=none") == 0)));
	before = strlen(*list);
	rc = options_protocol_more(list, s);
	if (rc == 0) {
		check(strlen(*list) == before + 1 + strlen(s));
		check((*list)[before] == ',' &&
		    strcmp(*list + before + 1, s) == 0);
	} else {
		check((rc == 1 || rc == -ENOMEM) && strlen(*list) == before);
	}
	rc = backend_opt_check(s, msg, sizeof(msg));
	check(rc == -1 || rc == 0 || rc == 1);
	check(memchr(msg, '\0', sizeof(msg)) != NULL);
	if (rc == -1)
		check(msg[0] != '\0');
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *list = strdup("sftp"), *s;
	size_t off = 0, n;
	const uint8_t *nul;

	if (list == NULL)
		return 0;
	while (off <= size) {
		nul = memchr(data + off, '\0', size - off);
		n = nul != NULL ? (size_t)(nul - data) - off : size - off;
		s = malloc(n + 1);
		if (s == NULL)
			break;
		memcpy(s, data + off, n);
		s[n] = '\0';
		item(s, &list);
		free(s);
		if (strlen(list) > LIST_MAX) {
			free(list);
			list = strdup("sftp");
			if (list == NULL)
				return 0;
		}
		off += n + 1;
	}
	free(list);
	return 0;
}
