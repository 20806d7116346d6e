/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fuzz_sftp: the SFTP reply decoder on a byte stream from a hostile
 * server.  The stream is framed with sftp_frame as the backend does and
 * every packet decoded; every pointer the decoder returns must lie inside
 * the packet, iterators must visit exactly the counted entries, and the
 * EXTENDED_REPLY payload decoders must stay inside their input; each
 * name goes through sftp_name_listable (the READDIR filter).  The
 * packet is copied to an exact-size allocation so ASan sees over-reads.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sftp_proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
inside(const uint8_t *pkt, size_t len, const void *p, size_t n)
{
	const uint8_t *q = p;

	if (n == 0)
		return;
	if (q < pkt || q > pkt + len || n > (size_t)(pkt + len - q))
		abort();
}

/* sftp_name_listable: exactly the names that are one component. */
static void
listable(const struct sftp_str *s)
{
	bool one = s->len > 0 && !(s->len == 1 && s->p[0] == '.') &&
	    !(s->len == 2 && s->p[0] == '.' && s->p[1] == '.');
	size_t i;

	for (i = 0; one && i < s->len; i++)
		one = s->p[i] != '/' && s->p[i] != '\0';
	if (sftp_name_listable(s) != one)
		abort();
}

static void
check(const uint8_t *pkt, size_t len, const struct sftp_reply *r)
{
	struct sftp_name_ent e;
	struct sftp_str name, val;
	struct sftp_statvfs sv;
	struct sftp_limits lim;
	size_t pos = 0;
	uint32_t n = 0;

	switch (r->type) {
	case SSH_FXP_STATUS:
		inside(pkt, len, r->u.status.msg.p, r->u.status.msg.len);
		inside(pkt, len, r->u.status.lang.p, r->u.status.lang.len);
		(void)sftp_status_errno(r->u.status.code);
		(void)sftp_status_name(r->u.status.code);
		break;
	case SSH_FXP_HANDLE:
		if (r->u.handle.len == 0 || r->u.handle.len > SFTP_HANDLE_MAX)
			abort();
		break;
	case SSH_FXP_DATA:
		inside(pkt, len, r->u.data.p, r->u.data.len);
		break;
	case SSH_FXP_NAME:
		if (r->u.name.count > SFTP_NAME_MAX)
			abort();
		while (sftp_name_next(r, &pos, &e)) {
			inside(pkt, len, e.filename.p, e.filename.len);
			inside(pkt, len, e.longname.p, e.longname.len);
			listable(&e.filename);
			n++;
		}
		if (n != r->u.name.count || pos != r->u.name.len)
			abort();
		break;
	case SSH_FXP_VERSION:
		while (sftp_ext_next(r, &pos, &name, &val)) {
			inside(pkt, len, name.p, name.len);
			inside(pkt, len, val.p, val.len);
			n++;
		}
		if (n != r->u.version.count || n > SFTP_EXT_MAX)
			abort();
		break;
	case SSH_FXP_EXTENDED_REPLY:
		inside(pkt, len, r->u.extended.p, r->u.extended.len);
		(void)sftp_parse_statvfs(
		    r->u.extended.p, r->u.extended.len, &sv);
		(void)sftp_parse_limits(
		    r->u.extended.p, r->u.extended.len, &lim);
		break;
	case SSH_FXP_ATTRS:
		break;
	default:
		abort(); /* the decoder returned 0 for another type */
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sftp_reply r;
	size_t off = 0, n;
	uint8_t *pkt;
	int rc;

	while (off < size) {
		rc = sftp_frame(data + off, size - off, SFTP_REPLY_MAX, &n);
		if (rc <= 0)
			break;
		if (n < 5 || n > size - off)
			abort();
		pkt = malloc(n);
		if (pkt == NULL)
			return 0;
		memcpy(pkt, data + off, n);
		if (sftp_parse_reply(pkt, n, &r) == 0)
			check(pkt, n, &r);
		free(pkt);
		off += n;
	}
	return 0;
}
