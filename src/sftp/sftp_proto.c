/* SPDX-License-Identifier: GPL-2.0-or-later */
/* sftp_proto: SFTP v3 packet codec (contract in include/sftp_proto.h). */
#include <errno.h>
#include <string.h>

#include "sftp_proto.h"

/* ---- encoding ------------------------------------------------------- */

/*
 * One packet under construction: start remembers where it began so that a
 * failure rolls out back, err is sticky so the encoders read straight.
 */
struct pkt {
	struct buf *out;
	size_t start;
	int err;
};

static void
put(struct pkt *k, const void *p, size_t n)
{
	if (k->err == 0)
		k->err = buf_append(k->out, p, n);
}

static void
put_u8(struct pkt *k, uint8_t v)
{
	put(k, &v, 1);
}

static void
put_u32(struct pkt *k, uint32_t v)
{
	uint8_t b[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16),
		(uint8_t)(v >> 8), (uint8_t)v };

	put(k, b, 4);
}

static void
put_u64(struct pkt *k, uint64_t v)
{
	put_u32(k, (uint32_t)(v >> 32));
	put_u32(k, (uint32_t)v);
}

static void
put_bytes(struct pkt *k, const void *p, size_t n)
{
	if (k->err == 0 && n > SFTP_STRING_MAX)
		k->err = -ENAMETOOLONG;
	put_u32(k, (uint32_t)n);
	put(k, p, n);
}

static void
put_str(struct pkt *k, const char *s)
{
	put_bytes(k, s, strlen(s));
}

static void
put_handle(struct pkt *k, const struct sftp_handle *h)
{
	if (k->err == 0 && h->len > SFTP_HANDLE_MAX)
		k->err = -EINVAL;
	else
		put_bytes(k, h->data, h->len);
}

static void
put_attrs(struct pkt *k, const struct sftp_attrs *a)
{
	/* Extended attributes are never sent: we have none to set. */
	uint32_t fl = a ? a->flags & ~SSH_FILEXFER_ATTR_EXTENDED : 0;

	put_u32(k, fl);
	if (fl & SSH_FILEXFER_ATTR_SIZE)
		put_u64(k, a->size);
	if (fl & SSH_FILEXFER_ATTR_UIDGID) {
		put_u32(k, a->uid);
		put_u32(k, a->gid);
	}
	if (fl & SSH_FILEXFER_ATTR_PERMISSIONS)
		put_u32(k, a->perm);
	if (fl & SSH_FILEXFER_ATTR_ACMODTIME) {
		put_u32(k, a->atime);
		put_u32(k, a->mtime);
	}
}

static void
begin(struct pkt *k, struct buf *out, uint8_t type)
{
	k->out = out;
	k->start = out->len;
	k->err = 0;
	put_u32(k, 0); /* length, patched in end() */
	put_u8(k, type);
}

static void
begin_req(struct pkt *k, struct buf *out, uint8_t type, uint32_t id)
{
	begin(k, out, type);
	put_u32(k, id);
}

static void
begin_ext(struct pkt *k, struct buf *out, uint32_t id, const char *name)
{
	begin_req(k, out, SSH_FXP_EXTENDED, id);
	put_str(k, name);
}

static int
end(struct pkt *k)
{
	size_t n;
	uint8_t *p;

	if (k->err == 0) {
		n = k->out->len - k->start - 4;
		if (n > SFTP_REQUEST_MAX) {
			k->err = -EMSGSIZE;
		} else {
			p = (uint8_t *)k->out->data + k->start;
			p[0] = (uint8_t)(n >> 24);
			p[1] = (uint8_t)(n >> 16);
			p[2] = (uint8_t)(n >> 8);
			p[3] = (uint8_t)n;
		}
	}
	if (k->err != 0 && k->out->len > k->start) {
		k->out->len = k->start;
		k->out->data[k->out->len] = '\0';
	}
	return k->err;
}

int
sftp_enc_init(struct buf *out, uint32_t version)
{
	struct pkt k;

	begin(&k, out, SSH_FXP_INIT);
	put_u32(&k, version);
	return end(&k);
}

int
sftp_enc_open(struct buf *out, uint32_t id, const char *path, uint32_t pflags,
    const struct sftp_attrs *a)
{
	struct pkt k;

	begin_req(&k, out, SSH_FXP_OPEN, id);
	put_str(&k, path);
	put_u32(&k, pflags);
	put_attrs(&k, a);
	return end(&k);
}

int
sftp_enc_handle(
    struct buf *out, uint8_t type, uint32_t id, const struct sftp_handle *h)
{
	struct pkt k;

	begin_req(&k, out, type, id);
	put_handle(&k, h);
	return end(&k);
}

int
sftp_enc_read(struct buf *out, uint32_t id, const struct sftp_handle *h,
    uint64_t off, uint32_t len)
{
	struct pkt k;

	begin_req(&k, out, SSH_FXP_READ, id);
	put_handle(&k, h);
	put_u64(&k, off);
	put_u32(&k, len);
	return end(&k);
}

size_t
sftp_write_overhead(const struct sftp_handle *h)
{
	/* length, type, id, handle string, offset, data length */
	return 4 + 1 + 4 + 4 + h->len + 8 + 4;
}

int
sftp_enc_write(struct buf *out, uint32_t id, const struct sftp_handle *h,
    uint64_t off, const void *data, size_t len)
{
	struct pkt k;

	if (len > SFTP_REQUEST_MAX)
		return -EMSGSIZE;
	begin_req(&k, out, SSH_FXP_WRITE, id);
	put_handle(&k, h);
	put_u64(&k, off);
	put_u32(&k, (uint32_t)len);
	put(&k, data, len);
	return end(&k);
}

int
sftp_enc_path(struct buf *out, uint8_t type, uint32_t id, const char *path)
{
	struct pkt k;

	begin_req(&k, out, type, id);
	put_str(&k, path);
	return end(&k);
}

int
sftp_enc_path_attrs(struct buf *out, uint8_t type, uint32_t id,
    const char *path, const struct sftp_attrs *a)
{
	struct pkt k;

	begin_req(&k, out, type, id);
	put_str(&k, path);
	put_attrs(&k, a);
	return end(&k);
}

int
sftp_enc_fsetstat(struct buf *out, uint32_t id, const struct sftp_handle *h,
    const struct sftp_attrs *a)
{
	struct pkt k;

	begin_req(&k, out, SSH_FXP_FSETSTAT, id);
	put_handle(&k, h);
	put_attrs(&k, a);
	return end(&k);
}

static int
enc_two_paths(struct buf *out, uint8_t type, uint32_t id, const char *ext,
    const char *a, const char *b)
{
	struct pkt k;

	if (ext != NULL)
		begin_ext(&k, out, id, ext);
	else
		begin_req(&k, out, type, id);
	put_str(&k, a);
	put_str(&k, b);
	return end(&k);
}

int
sftp_enc_rename(struct buf *out, uint32_t id, const char *from, const char *to)
{
	return enc_two_paths(out, SSH_FXP_RENAME, id, NULL, from, to);
}

int
sftp_enc_symlink(
    struct buf *out, uint32_t id, const char *target, const char *linkpath)
{
	return enc_two_paths(out, SSH_FXP_SYMLINK, id, NULL, target, linkpath);
}

int
sftp_enc_posix_rename(
    struct buf *out, uint32_t id, const char *from, const char *to)
{
	return enc_two_paths(out, 0, id, SFTP_EXT_POSIX_RENAME, from, to);
}

int
sftp_enc_hardlink(
    struct buf *out, uint32_t id, const char *oldpath, const char *newpath)
{
	return enc_two_paths(out, 0, id, SFTP_EXT_HARDLINK, oldpath, newpath);
}

static int
enc_ext_handle(
    struct buf *out, uint32_t id, const char *ext, const struct sftp_handle *h)
{
	struct pkt k;

	begin_ext(&k, out, id, ext);
	put_handle(&k, h);
	return end(&k);
}

static int
enc_ext_path(struct buf *out, uint32_t id, const char *ext, const char *path)
{
	struct pkt k;

	begin_ext(&k, out, id, ext);
	put_str(&k, path);
	return end(&k);
}

int
sftp_enc_fsync(struct buf *out, uint32_t id, const struct sftp_handle *h)
{
	return enc_ext_handle(out, id, SFTP_EXT_FSYNC, h);
}

int
sftp_enc_statvfs(struct buf *out, uint32_t id, const char *path)
{
	return enc_ext_path(out, id, SFTP_EXT_STATVFS, path);
}

int
sftp_enc_fstatvfs(struct buf *out, uint32_t id, const struct sftp_handle *h)
{
	return enc_ext_handle(out, id, SFTP_EXT_FSTATVFS, h);
}

int
sftp_enc_limits(struct buf *out, uint32_t id)
{
	struct pkt k;

	begin_ext(&k, out, id, SFTP_EXT_LIMITS);
	return end(&k);
}

int
sftp_enc_lsetstat(
    struct buf *out, uint32_t id, const char *path, const struct sftp_attrs *a)
{
	struct pkt k;

	begin_ext(&k, out, id, SFTP_EXT_LSETSTAT);
	put_str(&k, path);
	put_attrs(&k, a);
	return end(&k);
}

int
sftp_enc_expand_path(struct buf *out, uint32_t id, const char *path)
{
	return enc_ext_path(out, id, SFTP_EXT_EXPAND_PATH, path);
}

/* ---- decoding ------------------------------------------------------- */

/* A bounded cursor; ok turns false at the first short read and stays. */
struct cur {
	const uint8_t *p;
	size_t left;
	bool ok;
};

static const uint8_t *
take(struct cur *c, size_t n)
{
	const uint8_t *p;

	if (!c->ok || n > c->left) {
		c->ok = false;
		return NULL;
	}
	p = c->p;
	c->p += n;
	c->left -= n;
	return p;
}

static uint32_t
get_u32(struct cur *c)
{
	const uint8_t *b = take(c, 4);

	if (b == NULL)
		return 0;
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 |
	    (uint32_t)b[2] << 8 | b[3];
}

static uint64_t
get_u64(struct cur *c)
{
	uint64_t hi = get_u32(c);

	return hi << 32 | get_u32(c);
}

static uint8_t
get_u8(struct cur *c)
{
	const uint8_t *b = take(c, 1);

	return b ? b[0] : 0;
}

static struct sftp_str
get_str(struct cur *c, size_t max)
{
	struct sftp_str s = { "", 0 };
	uint32_t n = get_u32(c);
	const uint8_t *p;

	if (n > max) {
		c->ok = false;
		return s;
	}
	p = take(c, n);
	if (p != NULL) {
		s.p = (const char *)p;
		s.len = n;
	}
	return s;
}

static void
get_attrs(struct cur *c, struct sftp_attrs *a)
{
	uint32_t i, n;

	memset(a, 0, sizeof(*a));
	a->flags = get_u32(c);
	if (a->flags & SSH_FILEXFER_ATTR_SIZE)
		a->size = get_u64(c);
	if (a->flags & SSH_FILEXFER_ATTR_UIDGID) {
		a->uid = get_u32(c);
		a->gid = get_u32(c);
	}
	if (a->flags & SSH_FILEXFER_ATTR_PERMISSIONS)
		a->perm = get_u32(c);
	if (a->flags & SSH_FILEXFER_ATTR_ACMODTIME) {
		a->atime = get_u32(c);
		a->mtime = get_u32(c);
	}
	if (a->flags & SSH_FILEXFER_ATTR_EXTENDED) {
		n = get_u32(c);
		if (n > SFTP_EXT_MAX)
			c->ok = false;
		for (i = 0; c->ok && i < n; i++) {
			get_str(c, SFTP_STRING_MAX);
			get_str(c, SFTP_STRING_MAX);
		}
	}
}

int
sftp_frame(const uint8_t *p, size_t avail, size_t max, size_t *pkt_len)
{
	uint32_t n;

	if (avail < 4)
		return 0;
	n = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
	    p[3];
	if (n == 0)
		return -EPROTO;
	if (n > max)
		return -EMSGSIZE;
	if (avail - 4 < n)
		return 0;
	*pkt_len = (size_t)n + 4;
	return 1;
}

static void
get_name_ent(struct cur *c, struct sftp_name_ent *e)
{
	e->filename = get_str(c, SFTP_STRING_MAX);
	e->longname = get_str(c, SFTP_STRING_MAX);
	get_attrs(c, &e->attrs);
}

int
sftp_parse_reply(const uint8_t *pkt, size_t len, struct sftp_reply *out)
{
	struct cur c = { pkt, len, true };
	struct sftp_name_ent ent;
	const uint8_t *p;
	uint32_t n, i;

	memset(out, 0, sizeof(*out));
	if (get_u32(&c) != len - 4 || !c.ok)
		return -EPROTO;
	out->type = get_u8(&c);
	if (out->type != SSH_FXP_VERSION)
		out->id = get_u32(&c);
	switch (out->type) {
	case SSH_FXP_VERSION:
		out->u.version.version = get_u32(&c);
		out->u.version.p = c.p;
		out->u.version.len = c.left;
		for (n = 0; c.ok && c.left > 0; n++) {
			if (n == SFTP_EXT_MAX)
				return -EPROTO;
			get_str(&c, SFTP_STRING_MAX);
			get_str(&c, SFTP_STRING_MAX);
		}
		out->u.version.count = n;
		break;
	case SSH_FXP_STATUS:
		out->u.status.code = get_u32(&c);
		/* v3 servers may end the packet after the code (draft-02). */
		if (c.ok && c.left > 0)
			out->u.status.msg = get_str(&c, SFTP_STRING_MAX);
		if (c.ok && c.left > 0)
			out->u.status.lang = get_str(&c, SFTP_STRING_MAX);
		break;
	case SSH_FXP_HANDLE:
		n = get_u32(&c);
		if (n == 0 || n > SFTP_HANDLE_MAX)
			return -EPROTO;
		p = take(&c, n);
		if (p != NULL) {
			out->u.handle.len = n;
			memcpy(out->u.handle.data, p, n);
		}
		break;
	case SSH_FXP_DATA:
		n = get_u32(&c);
		p = take(&c, n);
		out->u.data.p = p;
		out->u.data.len = p ? n : 0;
		break;
	case SSH_FXP_NAME:
		n = get_u32(&c);
		if (n > SFTP_NAME_MAX)
			return -EPROTO;
		out->u.name.count = n;
		out->u.name.p = c.p;
		for (i = 0; c.ok && i < n; i++)
			get_name_ent(&c, &ent);
		out->u.name.len = (size_t)(c.p - out->u.name.p);
		break;
	case SSH_FXP_ATTRS:
		get_attrs(&c, &out->u.attrs);
		break;
	case SSH_FXP_EXTENDED_REPLY:
		out->u.extended.p = c.p;
		out->u.extended.len = c.left;
		take(&c, c.left);
		break;
	default:
		return -EPROTO;
	}
	/* Trailing bytes are tolerated (later drafts append fields). */
	return c.ok ? 0 : -EPROTO;
}

bool
sftp_name_next(
    const struct sftp_reply *r, size_t *pos, struct sftp_name_ent *out)
{
	struct cur c;

	if (r->type != SSH_FXP_NAME || *pos >= r->u.name.len)
		return false;
	c.p = r->u.name.p + *pos;
	c.left = r->u.name.len - *pos;
	c.ok = true;
	get_name_ent(&c, out);
	if (!c.ok)
		return false; /* cannot happen: validated in parse */
	*pos = (size_t)(c.p - r->u.name.p);
	return true;
}

bool
sftp_name_listable(const struct sftp_str *name)
{
	const char *p = name->p;
	size_t n = name->len;

	if (n == 0 || (n == 1 && p[0] == '.') ||
	    (n == 2 && p[0] == '.' && p[1] == '.'))
		return false;
	return memchr(p, '/', n) == NULL && memchr(p, '\0', n) == NULL;
}

bool
sftp_ext_next(const struct sftp_reply *r, size_t *pos, struct sftp_str *name,
    struct sftp_str *data)
{
	struct cur c;

	if (r->type != SSH_FXP_VERSION || *pos >= r->u.version.len)
		return false;
	c.p = r->u.version.p + *pos;
	c.left = r->u.version.len - *pos;
	c.ok = true;
	*name = get_str(&c, SFTP_STRING_MAX);
	*data = get_str(&c, SFTP_STRING_MAX);
	if (!c.ok)
		return false;
	*pos = (size_t)(c.p - r->u.version.p);
	return true;
}

int
sftp_parse_statvfs(const uint8_t *p, size_t len, struct sftp_statvfs *out)
{
	struct cur c = { p, len, true };

	out->bsize = get_u64(&c);
	out->frsize = get_u64(&c);
	out->blocks = get_u64(&c);
	out->bfree = get_u64(&c);
	out->bavail = get_u64(&c);
	out->files = get_u64(&c);
	out->ffree = get_u64(&c);
	out->favail = get_u64(&c);
	out->fsid = get_u64(&c);
	out->flag = get_u64(&c);
	out->namemax = get_u64(&c);
	return c.ok ? 0 : -EPROTO;
}

int
sftp_parse_limits(const uint8_t *p, size_t len, struct sftp_limits *out)
{
	struct cur c = { p, len, true };

	out->packet_len = get_u64(&c);
	out->read_len = get_u64(&c);
	out->write_len = get_u64(&c);
	out->open_handles = get_u64(&c);
	return c.ok ? 0 : -EPROTO;
}

/* ---- errors and names ----------------------------------------------- */

static const struct {
	int err;
	const char *name;
} status_tab[] = {
	/* v3 (draft-02) */
	[0] = { 0, "OK" },
	[1] = { -ENODATA, "EOF" },
	[2] = { -ENOENT, "NO_SUCH_FILE" },
	[3] = { -EACCES, "PERMISSION_DENIED" },
	[4] = { -EIO, "FAILURE" },
	[5] = { -EINVAL, "BAD_MESSAGE" },
	[6] = { -ENOTCONN, "NO_CONNECTION" },
	[7] = { -ECONNRESET, "CONNECTION_LOST" },
	[8] = { -EOPNOTSUPP, "OP_UNSUPPORTED" },
	/* later drafts, sent by some servers regardless of version */
	[9] = { -EBADF, "INVALID_HANDLE" },
	[10] = { -ENOENT, "NO_SUCH_PATH" },
	[11] = { -EEXIST, "FILE_ALREADY_EXISTS" },
	[12] = { -EROFS, "WRITE_PROTECT" },
	[13] = { -ENOMEDIUM, "NO_MEDIA" },
	[14] = { -ENOSPC, "NO_SPACE_ON_FILESYSTEM" },
	[15] = { -EDQUOT, "QUOTA_EXCEEDED" },
	[16] = { -EINVAL, "UNKNOWN_PRINCIPAL" },
	[17] = { -ENOLCK, "LOCK_CONFLICT" },
	[18] = { -ENOTEMPTY, "DIR_NOT_EMPTY" },
	[19] = { -ENOTDIR, "NOT_A_DIRECTORY" },
	[20] = { -EINVAL, "INVALID_FILENAME" },
	[21] = { -ELOOP, "LINK_LOOP" },
	[22] = { -EPERM, "CANNOT_DELETE" },
	[23] = { -EINVAL, "INVALID_PARAMETER" },
	[24] = { -EISDIR, "FILE_IS_A_DIRECTORY" },
	[25] = { -ENOLCK, "BYTE_RANGE_LOCK_CONFLICT" },
	[26] = { -ENOLCK, "BYTE_RANGE_LOCK_REFUSED" },
	[27] = { -ENOENT, "DELETE_PENDING" },
	[28] = { -EIO, "FILE_CORRUPT" },
	[29] = { -EPERM, "OWNER_INVALID" },
	[30] = { -EPERM, "GROUP_INVALID" },
	[31] = { -ENOLCK, "NO_MATCHING_BYTE_RANGE_LOCK" },
};

int
sftp_status_errno(uint32_t code)
{
	if (code < sizeof(status_tab) / sizeof(status_tab[0]))
		return status_tab[code].err;
	return -EIO;
}

const char *
sftp_status_name(uint32_t code)
{
	if (code < sizeof(status_tab) / sizeof(status_tab[0]))
		return status_tab[code].name;
	return "UNKNOWN";
}

const char *
sftp_type_name(uint8_t type)
{
	static const char *const req[] = { NULL, "INIT", "VERSION", "OPEN",
		"CLOSE", "READ", "WRITE", "LSTAT", "FSTAT", "SETSTAT",
		"FSETSTAT", "OPENDIR", "READDIR", "REMOVE", "MKDIR", "RMDIR",
		"REALPATH", "STAT", "RENAME", "READLINK", "SYMLINK" };
	static const char *const rep[] = { "STATUS", "HANDLE", "DATA", "NAME",
		"ATTRS" };

	if (type >= 1 && type <= 20)
		return req[type];
	if (type >= 101 && type <= 105)
		return rep[type - 101];
	if (type == SSH_FXP_EXTENDED)
		return "EXTENDED";
	if (type == SSH_FXP_EXTENDED_REPLY)
		return "EXTENDED_REPLY";
	return "UNKNOWN";
}
