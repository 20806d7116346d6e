/* SPDX-License-Identifier: GPL-2.0-or-later */
/* credfile: -o credentials=FILE text (contract in include/credfile.h). */
#include "credfile.h"

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "secret.h"

void
credfile_free(struct credfile *c)
{
	if (c == NULL)
		return;
	secret_free(c->user);
	secret_free(c->password);
	secret_free(c->account);
	memset(c, 0, sizeof(*c));
}

static bool
credfile_blank(char ch)
{
	return ch == ' ' || ch == '\t';
}

/* The field a key names, or NULL for an unknown key. */
static char **
credfile_field(struct credfile *c, const char *key, size_t n)
{
	static const struct {
		const char *name;
		size_t off;
	} keys[] = {
		{ "username", offsetof(struct credfile, user) },
		{ "user", offsetof(struct credfile, user) },
		{ "password", offsetof(struct credfile, password) },
		{ "pass", offsetof(struct credfile, password) },
		{ "account", offsetof(struct credfile, account) },
		{ "acct", offsetof(struct credfile, account) },
	};
	size_t i;

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (strlen(keys[i].name) == n &&
		    strncmp(keys[i].name, key, n) == 0)
			return (char **)(void *)((char *)c + keys[i].off);
	return NULL;
}

/* One line (no '\n'); 0, -EINVAL or -ENOMEM. */
static int
credfile_line(struct credfile *c, const char *p, size_t n)
{
	const char *eq, *key, *val;
	size_t klen, vlen;
	char **field;

	if (n > 0 && p[n - 1] == '\r')
		n--;
	while (n > 0 && credfile_blank(*p)) {
		p++;
		n--;
	}
	if (n == 0 || *p == '#')
		return 0;
	if (memchr(p, '\0', n) != NULL)
		return -EINVAL;
	eq = memchr(p, '=', n);
	if (eq == NULL)
		return -EINVAL;
	key = p;
	klen = (size_t)(eq - p);
	while (klen > 0 && credfile_blank(key[klen - 1]))
		klen--;
	val = eq + 1;
	vlen = n - (size_t)(val - p);
	field = credfile_field(c, key, klen);
	if (field == NULL || *field != NULL)
		return -EINVAL;
	if (field != &c->password) {
		/* names never begin or end with blanks; passwords may */
		while (vlen > 0 && credfile_blank(*val)) {
			val++;
			vlen--;
		}
		while (vlen > 0 && credfile_blank(val[vlen - 1]))
			vlen--;
	}
	*field = strndup(val, vlen);
	return *field != NULL ? 0 : -ENOMEM;
}

int
credfile_parse(
    const char *text, size_t len, struct credfile *out, unsigned *line)
{
	const char *p = text, *end = text + len, *nl;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	*line = 0;
	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL)
			nl = end;
		++*line;
		rc = credfile_line(out, p, (size_t)(nl - p));
		if (rc < 0)
			break;
		p = nl + 1;
	}
	if (rc < 0)
		credfile_free(out);
	else
		*line = 0;
	return rc;
}
