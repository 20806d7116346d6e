/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fuzz_mountinfo: mountinfo_parse_line on arbitrary lines, each in an
 * exact-size NUL-terminated copy so that over-reads are caught.  A parsed
 * line's fields lie inside the copy, hold no blank but what an escape
 * gave, and the unescaped fields are no longer than the raw ones; a
 * refused line sets nothing.  mountinfo_unescape alone must never grow
 * its input, and unescaping twice what has no backslash changes nothing.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mountinfo.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check(bool ok)
{
	if (!ok)
		abort();
}

static void
inside(const char *line, size_t cap, const char *p)
{
	check(p != NULL && p >= line && p < line + cap);
	check(strlen(p) < cap - (size_t)(p - line));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mountinfo_entry m = { 0 };
	char *line, *copy;
	size_t len;

	line = malloc(size + 1);
	copy = malloc(size + 1);
	if (line == NULL || copy == NULL)
		goto out;
	memcpy(line, data, size);
	line[size] = '\0';
	len = strlen(line); /* the line ends at its first NUL, as getline's */
	memcpy(copy, line, len + 1);

	if (mountinfo_parse_line(line, &m) == 0) {
		inside(line, size + 1, m.devid);
		inside(line, size + 1, m.mount_point);
		inside(line, size + 1, m.fstype);
		inside(line, size + 1, m.source);
		/* raw fields never hold a blank: they were split there */
		check(strchr(m.devid, ' ') == NULL &&
		    strchr(m.fstype, ' ') == NULL);
		check(m.devid < m.mount_point && m.mount_point < m.fstype &&
		    m.fstype < m.source);
	} else {
		check(m.devid == NULL && m.mount_point == NULL &&
		    m.fstype == NULL && m.source == NULL);
	}

	mountinfo_unescape(copy);
	check(strlen(copy) <= len);
	if (strchr(copy, '\\') == NULL) {
		size_t n = strlen(copy);

		mountinfo_unescape(copy);
		check(strlen(copy) == n);
	}
out:
	free(line);
	free(copy);
	return 0;
}
