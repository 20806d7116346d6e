/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fuzz_ssh_config: ssh_config_parse on arbitrary text (Include lines fed
 * back to the parser from the same text, one level deep), then
 * ssh_config_expand of every value kept.  The first byte chooses the host
 * looked up.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ssh_config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct text {
	const char *p;
	size_t len;
};

static int
include_self(struct ssh_config_parser *p, const char *arg, int depth)
{
	const struct text *t = p->arg;

	(void)arg;
	if (depth >= 1) /* keeps each input quick; the limit has a unit test */
		return 0;
	return ssh_config_parse(p, t->p, t->len, arg, depth + 1);
}

static void
expand(const char *s)
{
	static const struct ssh_config_env env = { .home = "/home/u",
		.local_user = "u",
		.host = "h.example.org",
		.remote_user = "r",
		.port = 22 };
	char *out;

	if (s == NULL)
		return;
	if (ssh_config_expand(s, &env, "dhur%p", &out) == 0) {
		if (out == NULL)
			abort();
		free(out);
	} else if (out != NULL) {
		abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const hosts[] = { "h", "alias", "a.example.org",
		"" };
	struct ssh_config c;
	struct text t;
	char msg[256];
	struct ssh_config_parser p = {
		.out = &c,
		.include = include_self,
		.arg = &t,
		.msg = msg,
		.msglen = sizeof(msg),
	};
	char *text;
	unsigned i;
	int rc;

	if (size == 0)
		return 0;
	text = malloc(size - 1 > 0 ? size - 1 : 1);
	if (text == NULL)
		return 0;
	memcpy(text, data + 1, size - 1);
	t.p = text;
	t.len = size - 1;
	p.host = hosts[data[0] & 3];
	ssh_config_init(&c);
	rc = ssh_config_parse(&p, text, size - 1, "fuzz", 0);
	if (rc == 0) {
		if (c.port > 65535 || c.n_identity > SSH_CONFIG_MAX_IDENTITIES)
			abort();
		expand(c.hostname);
		expand(c.user);
		expand(c.known_hosts);
		for (i = 0; i < c.n_identity; i++)
			expand(c.identity[i]);
	}
	(void)ssh_config_host_match(p.host, c.hostname ? c.hostname : "*");
	ssh_config_free(&c);
	free(text);
	return 0;
}
