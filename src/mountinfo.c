/* SPDX-License-Identifier: GPL-2.0-or-later */
/* mountinfo: /proc/self/mountinfo lines (contract in include/mountinfo.h). */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "mountinfo.h"

void
mountinfo_unescape(char *s)
{
	char *w = s;

	for (; *s != '\0'; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' &&
		    s[2] <= '7' && s[3] >= '0' && s[3] <= '7') {
			*w++ = (char)((s[1] - '0') << 6 | (s[2] - '0') << 3 |
			    (s[3] - '0'));
			s += 3;
		} else {
			*w++ = *s;
		}
	}
	*w = '\0';
}

/* The next ' '-separated field of *rest, NUL-terminated; NULL at the end. */
static char *
next_field(char **rest)
{
	return strsep(rest, " ");
}

int
mountinfo_parse_line(char *line, struct mountinfo_entry *out)
{
	char *f[6], *rest = line, *sep, *fstype, *source;
	size_t n = strlen(line);
	int i;

	if (n > 0 && line[n - 1] == '\n')
		line[n - 1] = '\0';
	for (i = 0; i < 6; i++)
		if ((f[i] = next_field(&rest)) == NULL)
			return -EINVAL;
	/* optional fields up to the separator: none of them is "-" */
	do {
		sep = next_field(&rest);
	} while (sep != NULL && strcmp(sep, "-") != 0);
	if (sep == NULL || (fstype = next_field(&rest)) == NULL ||
	    (source = next_field(&rest)) == NULL)
		return -EINVAL;
	mountinfo_unescape(f[4]);
	mountinfo_unescape(source);
	out->devid = f[2];
	out->mount_point = f[4];
	out->fstype = fstype;
	out->source = source;
	return 0;
}
