/* SPDX-License-Identifier: GPL-2.0-or-later */
/* options: ftpfs's own -o values (contract in include/options.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "log.h"
#include "options.h"

int
options_number(const char *arg, unsigned min, unsigned max, unsigned *out)
{
	unsigned long v;

	if (backend_opt_number(arg, min, max, &v) < 0)
		return -EINVAL;
	*out = (unsigned)v; /* v <= max, an unsigned */
	return 0;
}

bool
options_fstab_only(const char *arg)
{
	static const char *const names[] = { "_netdev", "auto", "noauto",
		"nofail", "user", "nouser", "users", "owner", "group",
		"defaults" };
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(arg, names[i]) == 0)
			return true;
	return strncmp(arg, "x-", 2) == 0 || strncmp(arg, "X-", 2) == 0 ||
	    strncmp(arg, "comment=", 8) == 0;
}

int
options_log_level(const char *name, int *level)
{
	static const struct {
		const char *name;
		enum log_level level;
	} levels[] = {
		{ "error", LOG_LVL_ERR },
		{ "err", LOG_LVL_ERR },
		{ "warn", LOG_LVL_WARN },
		{ "warning", LOG_LVL_WARN },
		{ "info", LOG_LVL_INFO },
		{ "debug", LOG_LVL_DEBUG },
		{ "trace", LOG_LVL_TRACE },
	};
	size_t i;

	for (i = 0; i < sizeof(levels) / sizeof(levels[0]); i++)
		if (strcmp(name, levels[i].name) == 0) {
			*level = (int)levels[i].level;
			return 0;
		}
	return -EINVAL;
}

int
options_protocol_more(char **list, const char *arg)
{
	static const char *const names[] = { "sftp", "ftpes", "ftp", "ftps" };
	char *more;
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(arg, names[i]) == 0)
			break;
	if (i == sizeof(names) / sizeof(names[0]))
		return 1;
	if (asprintf(&more, "%s,%s", *list, arg) < 0)
		return -ENOMEM;
	free(*list);
	*list = more;
	return 0;
}

int
options_idmap(const char *arg, bool *remote_ids)
{
	if (strcmp(arg, "idmap=user") == 0)
		*remote_ids = false;
	else if (strcmp(arg, "idmap=none") == 0)
		*remote_ids = true;
	else
		return -EINVAL;
	return 0;
}
