/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test_sftp_proto: the SFTP v3 codec, byte for byte. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sftp_proto.h"

/* Expected bytes, written as a C string with \x escapes (n given). */
#define assert_bytes(b, lit)                                                   \
	do {                                                                   \
		assert_int_equal((b)->len, sizeof(lit) - 1);                   \
		assert_memory_equal((b)->data, lit, sizeof(lit) - 1);          \
	} while (0)

static struct sftp_handle
handle(const char *s)
{
	struct sftp_handle h;

	h.len = (uint32_t)strlen(s);
	memcpy(h.data, s, h.len);
	return h;
}

/* ---- building replies for the decoder ------------------------------- */

struct w {
	uint8_t b[4096];
	size_t n;
};

static void
w_u8(struct w *w, uint8_t v)
{
	w->b[w->n++] = v;
}

static void
w_u32(struct w *w, uint32_t v)
{
	w_u8(w, (uint8_t)(v >> 24));
	w_u8(w, (uint8_t)(v >> 16));
	w_u8(w, (uint8_t)(v >> 8));
	w_u8(w, (uint8_t)v);
}

static void
w_u64(struct w *w, uint64_t v)
{
	w_u32(w, (uint32_t)(v >> 32));
	w_u32(w, (uint32_t)v);
}

static void
w_str(struct w *w, const char *s)
{
	w_u32(w, (uint32_t)strlen(s));
	memcpy(w->b + w->n, s, strlen(s));
	w->n += strlen(s);
}

static void
w_begin(struct w *w, uint8_t type)
{
	w->n = 0;
	w_u32(w, 0);
	w_u8(w, type);
}

static void
w_end(struct w *w)
{
	uint32_t n = (uint32_t)w->n - 4;

	w->b[0] = (uint8_t)(n >> 24);
	w->b[1] = (uint8_t)(n >> 16);
	w->b[2] = (uint8_t)(n >> 8);
	w->b[3] = (uint8_t)n;
}

/*
 * Every strict prefix of a valid packet must fail to parse, cleanly, but
 * for the cuts ok1 and ok2 that are complete packets themselves (0: none).
 */
static void
assert_prefixes_fail_but(const struct w *w, size_t ok1, size_t ok2)
{
	struct sftp_reply r;
	uint8_t *copy;
	size_t cut;

	for (cut = 0; cut < w->n; cut++) {
		copy = malloc(cut + 1);
		memcpy(copy, w->b, cut);
		/* keep the length field consistent with the cut */
		if (cut >= 4) {
			copy[0] = (uint8_t)((cut - 4) >> 24);
			copy[1] = (uint8_t)((cut - 4) >> 16);
			copy[2] = (uint8_t)((cut - 4) >> 8);
			copy[3] = (uint8_t)(cut - 4);
		}
		if (cut != ok1 && cut != ok2)
			assert_int_equal(
			    sftp_parse_reply(copy, cut, &r), -EPROTO);
		free(copy);
	}
}

static void
assert_prefixes_fail(const struct w *w)
{
	assert_prefixes_fail_but(w, 0, 0);
}

/* ---- encoding ------------------------------------------------------- */

static void
test_enc_init_open(void **state)
{
	struct buf b;
	struct sftp_attrs a = { .flags = SSH_FILEXFER_ATTR_PERMISSIONS,
		.perm = 0644 };

	(void)state;
	buf_init(&b, SFTP_REQUEST_MAX + 64);
	assert_int_equal(sftp_enc_init(&b, 3), 0);
	assert_bytes(&b, "\0\0\0\x05\x01\0\0\0\x03");
	buf_reset(&b);
	assert_int_equal(sftp_enc_open(&b, 7, "/a",
	                     SSH_FXF_WRITE | SSH_FXF_CREAT | SSH_FXF_EXCL, &a),
	    0);
	assert_bytes(&b,
	    "\0\0\0\x17\x03\0\0\0\x07\0\0\0\x02/a"
	    "\0\0\0\x2a\0\0\0\x04\0\0\x01\xa4");
	buf_reset(&b);
	/* no attributes: flags 0 */
	assert_int_equal(sftp_enc_open(&b, 1, "x", SSH_FXF_READ, NULL), 0);
	assert_bytes(&b,
	    "\0\0\0\x12\x03\0\0\0\x01\0\0\0\x01x"
	    "\0\0\0\x01\0\0\0\0");
	buf_free(&b);
}

static void
test_enc_read_write(void **state)
{
	struct buf b;
	struct sftp_handle h = handle("H1");

	(void)state;
	buf_init(&b, SFTP_REQUEST_MAX + 64);
	assert_int_equal(
	    sftp_enc_read(&b, 0x01020304, &h, 0x0000000100000002ull, 65536), 0);
	assert_bytes(&b,
	    "\0\0\0\x17\x05\x01\x02\x03\x04\0\0\0\x02H1"
	    "\0\0\0\x01\0\0\0\x02\0\x01\0\0");
	buf_reset(&b);
	assert_int_equal(sftp_enc_write(&b, 9, &h, 5, "abc", 3), 0);
	assert_bytes(&b,
	    "\0\0\0\x1a\x06\0\0\0\x09\0\0\0\x02H1"
	    "\0\0\0\0\0\0\0\x05\0\0\0\x03"
	    "abc");
	assert_int_equal(sftp_write_overhead(&h) + 3, b.len);
	buf_free(&b);
}

static void
test_enc_limits_enforced(void **state)
{
	struct buf b;
	struct sftp_handle h = handle("H");
	char *big;
	size_t room;

	(void)state;
	big = calloc(1, SFTP_REQUEST_MAX + 1);
	buf_init(&b, 2 * SFTP_REQUEST_MAX);
	assert_int_equal(sftp_enc_path(&b, SSH_FXP_STAT, 1, "keep"), 0);
	/* The largest WRITE whose length field is SFTP_REQUEST_MAX fits. */
	room = SFTP_REQUEST_MAX + 4 - sftp_write_overhead(&h);
	assert_int_equal(sftp_enc_write(&b, 2, &h, 0, big, room), 0);
	buf_reset(&b);
	assert_int_equal(sftp_enc_path(&b, SSH_FXP_STAT, 1, "keep"), 0);
	/* One byte more is refused and leaves the buffer as it was. */
	assert_int_equal(
	    sftp_enc_write(&b, 2, &h, 0, big, room + 1), -EMSGSIZE);
	assert_int_equal(b.len, 17);
	/* A path longer than SFTP_STRING_MAX. */
	memset(big, 'a', SFTP_STRING_MAX + 1);
	big[SFTP_STRING_MAX + 1] = '\0';
	assert_int_equal(
	    sftp_enc_path(&b, SSH_FXP_STAT, 3, big), -ENAMETOOLONG);
	assert_int_equal(b.len, 17);
	/* The buffer's own maximum. */
	buf_free(&b);
	buf_init(&b, 20);
	assert_int_equal(
	    sftp_enc_path(&b, SSH_FXP_STAT, 1, "long enough"), -EMSGSIZE);
	assert_int_equal(b.len, 0);
	/* A handle longer than SFTP_HANDLE_MAX cannot be sent. */
	h.len = SFTP_HANDLE_MAX + 1;
	assert_int_equal(sftp_enc_handle(&b, SSH_FXP_CLOSE, 1, &h), -EINVAL);
	buf_free(&b);
	free(big);
}

static void
test_enc_symlink_openssh_order(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 1024);
	/* target first, link path second (PROTOCOL 4.1) */
	assert_int_equal(sftp_enc_symlink(&b, 1, "tgt", "/d/lnk"), 0);
	assert_bytes(&b,
	    "\0\0\0\x16\x14\0\0\0\x01\0\0\0\x03tgt"
	    "\0\0\0\x06/d/lnk");
	buf_free(&b);
}

static void
test_enc_extensions(void **state)
{
	struct buf b;
	struct sftp_handle h = handle("hh");
	struct sftp_attrs a = { .flags = SSH_FILEXFER_ATTR_ACMODTIME |
		    SSH_FILEXFER_ATTR_SIZE | SSH_FILEXFER_ATTR_UIDGID |
		    SSH_FILEXFER_ATTR_EXTENDED,
		.size = 5,
		.uid = 1,
		.gid = 2,
		.atime = 3,
		.mtime = 4 };

	(void)state;
	buf_init(&b, 4096);
	assert_int_equal(sftp_enc_posix_rename(&b, 1, "/a", "/b"), 0);
	assert_bytes(&b,
	    "\0\0\0\x2d\xc8\0\0\0\x01"
	    "\0\0\0\x18posix-rename@openssh.com"
	    "\0\0\0\x02/a\0\0\0\x02/b");
	buf_reset(&b);
	assert_int_equal(sftp_enc_hardlink(&b, 2, "/old", "/new"), 0);
	assert_bytes(&b,
	    "\0\0\0\x2d\xc8\0\0\0\x02"
	    "\0\0\0\x14hardlink@openssh.com"
	    "\0\0\0\x04/old\0\0\0\x04/new");
	buf_reset(&b);
	assert_int_equal(sftp_enc_fsync(&b, 3, &h), 0);
	assert_bytes(&b,
	    "\0\0\0\x20\xc8\0\0\0\x03"
	    "\0\0\0\x11"
	    "fsync@openssh.com"
	    "\0\0\0\x02hh");
	buf_reset(&b);
	assert_int_equal(sftp_enc_statvfs(&b, 4, "/"), 0);
	assert_bytes(&b,
	    "\0\0\0\x21\xc8\0\0\0\x04"
	    "\0\0\0\x13statvfs@openssh.com"
	    "\0\0\0\x01/");
	buf_reset(&b);
	assert_int_equal(sftp_enc_fstatvfs(&b, 4, &h), 0);
	assert_int_equal(b.len, 4 + 1 + 4 + 4 + 20 + 4 + 2);
	buf_reset(&b);
	assert_int_equal(sftp_enc_limits(&b, 5), 0);
	assert_bytes(&b,
	    "\0\0\0\x1b\xc8\0\0\0\x05"
	    "\0\0\0\x12limits@openssh.com");
	buf_reset(&b);
	/* extended attributes are never put on the wire */
	assert_int_equal(sftp_enc_lsetstat(&b, 6, "/l", &a), 0);
	assert_bytes(&b,
	    "\0\0\0\x3f\xc8\0\0\0\x06"
	    "\0\0\0\x14lsetstat@openssh.com"
	    "\0\0\0\x02/l"
	    "\0\0\0\x0b"
	    "\0\0\0\0\0\0\0\x05"
	    "\0\0\0\x01\0\0\0\x02"
	    "\0\0\0\x03\0\0\0\x04");
	buf_reset(&b);
	assert_int_equal(sftp_enc_expand_path(&b, 7, "~/x"), 0);
	assert_bytes(&b,
	    "\0\0\0\x27\xc8\0\0\0\x07"
	    "\0\0\0\x17"
	    "expand-path@openssh.com"
	    "\0\0\0\x03~/x");
	buf_reset(&b);
	assert_int_equal(sftp_enc_rename(&b, 8, "a", "b"), 0);
	assert_bytes(&b,
	    "\0\0\0\x0f\x12\0\0\0\x08\0\0\0\x01"
	    "a\0\0\0\x01"
	    "b");
	buf_reset(&b);
	assert_int_equal(
	    sftp_enc_path_attrs(&b, SSH_FXP_MKDIR, 9, "d", NULL), 0);
	assert_bytes(&b,
	    "\0\0\0\x0e\x0e\0\0\0\x09\0\0\0\x01"
	    "d\0\0\0\0");
	buf_reset(&b);
	assert_int_equal(sftp_enc_fsetstat(&b, 10, &h, NULL), 0);
	assert_bytes(&b, "\0\0\0\x0f\x0a\0\0\0\x0a\0\0\0\x02hh\0\0\0\0");
	buf_free(&b);
}

/* ---- decoding ------------------------------------------------------- */

static void
test_frame(void **state)
{
	const uint8_t p[] = { 0, 0, 0, 5, 101, 0, 0, 0, 1, 0xff };
	const uint8_t zero[] = { 0, 0, 0, 0 };
	const uint8_t huge[] = { 0, 0x10, 0, 1 };
	size_t n = 0, i;

	(void)state;
	for (i = 0; i < 9; i++)
		assert_int_equal(sftp_frame(p, i, SFTP_REPLY_MAX, &n), 0);
	assert_int_equal(sftp_frame(p, 9, SFTP_REPLY_MAX, &n), 1);
	assert_int_equal(n, 9);
	assert_int_equal(sftp_frame(p, sizeof(p), SFTP_REPLY_MAX, &n), 1);
	assert_int_equal(n, 9);
	assert_int_equal(sftp_frame(zero, 4, SFTP_REPLY_MAX, &n), -EPROTO);
	/* 1 MiB + 1 is past SFTP_REPLY_MAX, refused before it arrives */
	assert_int_equal(sftp_frame(huge, 4, SFTP_REPLY_MAX, &n), -EMSGSIZE);
}

/* The VERSION reply of OpenSSH 9.2. */
static void
build_openssh_version(struct w *w)
{
	static const char *const ext[][2] = {
		{ "posix-rename@openssh.com", "1" },
		{ "statvfs@openssh.com", "2" },
		{ "fstatvfs@openssh.com", "2" },
		{ "hardlink@openssh.com", "1" },
		{ "fsync@openssh.com", "1" },
		{ "lsetstat@openssh.com", "1" },
		{ "limits@openssh.com", "1" },
		{ "expand-path@openssh.com", "1" },
		{ "copy-data", "1" },
		{ "home-directory", "1" },
		{ "users-groups-by-id@openssh.com", "1" },
	};
	size_t i;

	w_begin(w, SSH_FXP_VERSION);
	w_u32(w, 3);
	for (i = 0; i < sizeof(ext) / sizeof(ext[0]); i++) {
		w_str(w, ext[i][0]);
		w_str(w, ext[i][1]);
	}
	w_end(w);
}

static void
test_version(void **state)
{
	struct w w;
	struct sftp_reply r;
	struct sftp_str name, data;
	size_t pos = 0;
	unsigned n = 0;
	bool saw_hardlink = false;

	(void)state;
	build_openssh_version(&w);
	assert_int_equal(sftp_parse_reply(w.b, w.n, &r), 0);
	assert_int_equal(r.type, SSH_FXP_VERSION);
	assert_int_equal(r.u.version.version, 3);
	assert_int_equal(r.u.version.count, 11);
	while (sftp_ext_next(&r, &pos, &name, &data)) {
		n++;
		if (name.len == strlen(SFTP_EXT_HARDLINK) &&
		    memcmp(name.p, SFTP_EXT_HARDLINK, name.len) == 0) {
			assert_int_equal(data.len, 1);
			assert_int_equal(data.p[0], '1');
			saw_hardlink = true;
		}
	}
	assert_int_equal(n, 11);
	assert_true(saw_hardlink);
	/* No extensions at all. */
	w_begin(&w, SSH_FXP_VERSION);
	w_u32(&w, 3);
	w_end(&w);
	assert_int_equal(sftp_parse_reply(w.b, w.n, &r), 0);
	assert_int_equal(r.u.version.count, 0);
	pos = 0;
	assert_false(sftp_ext_next(&r, &pos, &name, &data));
	/* More than SFTP_EXT_MAX pairs is hostile. */
	w_begin(&w, SSH_FXP_VERSION);
	w_u32(&w, 3);
	for (n = 0; n <= SFTP_EXT_MAX; n++) {
		w_str(&w, "x");
		w_str(&w, "");
	}
	w_end(&w);
	assert_int_equal(sftp_parse_reply(w.b, w.n, &r), -EPROTO);
	/* A dangling half pair. */
	w_begin(&w, SSH_FXP_VERSION);
	w_u32(&w, 3);
	w_str(&w, "only-a-name");
	w_end(&w);
	assert_int_equal(sftp_parse_reply(w.b, w.n, &r), -EPROTO);
}

static void
test_status(void **state)
{
	struct w w;
	struct sftp_reply r;

	(void)state;
	w_begin(&w, SSH_FXP_STATUS);
	w_u32(&w, 42);
	w_u32(&w, SSH_FX_NO_SUCH_FILE);
	w_str(&w, "No such file");
	w_str(&w, "");
	w_end(&w);
	assert_int_equal(sftp_parse_reply(w.b, w.n, &r), 0);
	assert_int_equal(r.type, SSH_FXP_STATUS);
	assert_int_equal(r.id, 42);
	assert_int_equal(r.u.status.code, 2);
	assert_int_equal(r.u.status.msg.len, 12);
	assert_memory_equal(r.u.status.msg.p, "No such file", 12);
	/* v3 STATUS may end after the code or after the message. */
	assert_prefixes_fail_but(&w, 13, 29);
	/* v3 lets a server stop after the code. */
	w_begin(&w, SSH_FXP_STATUS);
	w_u32(&w, 1);
	w_u32(&w, SSH_FX_EOF);
	w_end(&w);
	assert_int_equal(sftp_parse_reply(w.b, w.n, &r), 0);
	assert_int_equal(r.u.status.code, 1);
	assert_int_equal(r.u.status.msg.len, 0);
}

static void
test_handle_data(void **state)
{
	struct w w;
	struct sftp_reply r;
	uint32_t i;

	(void)state;
	w_begin(&w, SSH_FXP_HANDLE);
	w_u32(&w, 3);
	w_str(&w, "\x01\x02\x03\x04");
	w_end(&w);
	assert_int_equal(sftp_parse_reply(w.b, w.n, &r), 0);
	assert_int_equal(r.u.handle.len, 4);
	assert_memory_equal(r.u.handle.data, "\x01\x02\x03\x04", 4);
	assert_prefixes_fail(&w);
	/* Empty handle and a handle over 256 bytes are refused. */
	w_begin(&w, SSH_FXP_HANDLE);
	w_u32(&w, 3);
	w_str(&w, "");
	w_end(&w);
	assert_int_equal(sftp_parse_reply(w.b, w.n, &r), -EPROTO);
	w_begin(&w, SSH_FXP_HANDLE);
	w_u32(&w, 3);
	w_u32(&w, SFTP_HANDLE_MAX + 1);
	for (i = 0; i <= SFTP_HANDLE_MAX; i++)
		w_u8(&w, 'h');
	w_end(&w);
	assert_int_equal(sftp_parse_reply(w.b, w.n, &r), -EPROTO);

	w_begin(&w, SSH_FXP_DATA);
	w_u32(&w, 4);
	w_str(&w, "payload");
	w_end(&w);
	assert_int_equal(sftp_parse_reply(w.b, w.n, &r), 0);
	assert_int_equal(r.id, 4);
	assert_int_equal(r.u.data.len, 7);
	assert_ptr_equal(r.u.data.p, w.b + 13);
	assert_prefixes_fail(&w);
	/* A data length that runs past the packet. */
	w_begin(&w, SSH_FXP_DATA);
	w_u32(&w, 4);
	w_u32(&w, 100);
	w_str(&w, "short");
	w_end(&w);
	assert_int_equal(sftp_parse_reply(w.b, w.n, &r), -EPROTO);
	/* A length field that disagrees with the packet size. */
	w_begin(&w, SSH_FXP_DATA);
	w_u32(&w, 4);
	w_str(&w, "x");
	w_end(&w);
	assert_int_equal(sftp_parse_reply(w.b, w.n - 1, &r), -EPROTO);
}

static void
w_attrs_full(struct w *w)
{
	w_u32(w,
	    SSH_FILEXFER_ATTR_SIZE | SSH_FILEXFER_ATTR_UIDGID |
	        SSH_FILEXFER_ATTR_PERMISSIONS | SSH_FILEXFER_ATTR_ACMODTIME);
	w_u64(w, 0x100000007ull);
	w_u32(w, 1001);
	w_u32(w, 1002);
	w_u32(w, 0100644);
	w_u32(w, 1700000000);
	w_u32(w, 981173106);
}

static void
test_name(void **state)
{
	struct w w;
	struct sftp_reply r;
	struct sftp_name_ent e;
	size_t pos = 0;

	(void)state;
	w_begin(&w, SSH_FXP_NAME);
	w_u32(&w, 77);
	w_u32(&w, 2);
	w_str(&w, "café.txt");
	w_str(&w, "-rw-r--r--    1 lab  lab  4294967303 Feb  3  2001 café.txt");
	w_attrs_full(&w);
	w_str(&w, "link");
	w_str(&w, "");
	w_u32(&w, SSH_FILEXFER_ATTR_PERMISSIONS | SSH_FILEXFER_ATTR_EXTENDED);
	w_u32(&w, 0120777);
	w_u32(&w, 1); /* one extended pair, skipped */
	w_str(&w, "vendor@x");
	w_str(&w, "data");
	w_end(&w);
	assert_int_equal(sftp_parse_reply(w.b, w.n, &r), 0);
	assert_int_equal(r.type, SSH_FXP_NAME);
	assert_int_equal(r.id, 77);
	assert_int_equal(r.u.name.count, 2);
	assert_true(sftp_name_next(&r, &pos, &e));
	assert_int_equal(e.filename.len, strlen("café.txt"));
	assert_memory_equal(e.filename.p, "café.txt", e.filename.len);
	assert_int_equal(e.attrs.size, 0x100000007ull);
	assert_int_equal(e.attrs.uid, 1001);
	assert_int_equal(e.attrs.gid, 1002);
	assert_int_equal(e.attrs.perm, 0100644);
	assert_int_equal(e.attrs.atime, 1700000000);
	assert_int_equal(e.attrs.mtime, 981173106);
	assert_true(sftp_name_next(&r, &pos, &e));
	assert_int_equal(e.filename.len, 4);
	assert_int_equal(e.attrs.perm, 0120777);
	assert_int_equal(e.attrs.flags & SSH_FILEXFER_ATTR_SIZE, 0);
	assert_false(sftp_name_next(&r, &pos, &e));
	assert_prefixes_fail(&w);
	/* A count that promises more entries than there are. */
	w.b[12] = 3;
	assert_int_equal(sftp_parse_reply(w.b, w.n, &r), -EPROTO);
	/* A count past SFTP_NAME_MAX is refused before looking. */
	w_begin(&w, SSH_FXP_NAME);
	w_u32(&w, 1);
	w_u32(&w, SFTP_NAME_MAX + 1);
	w_end(&w);
	assert_int_equal(sftp_parse_reply(w.b, w.n, &r), -EPROTO);
	/* Too many extended attribute pairs. */
	w_begin(&w, SSH_FXP_ATTRS);
	w_u32(&w, 1);
	w_u32(&w, SSH_FILEXFER_ATTR_EXTENDED);
	w_u32(&w, SFTP_EXT_MAX + 1);
	w_end(&w);
	assert_int_equal(sftp_parse_reply(w.b, w.n, &r), -EPROTO);
}

static void
test_attrs_and_extended(void **state)
{
	struct w w;
	struct sftp_reply r;
	struct sftp_statvfs sv;
	struct sftp_limits lim;
	int i;

	(void)state;
	w_begin(&w, SSH_FXP_ATTRS);
	w_u32(&w, 5);
	w_attrs_full(&w);
	w_end(&w);
	assert_int_equal(sftp_parse_reply(w.b, w.n, &r), 0);
	assert_int_equal(r.u.attrs.perm, 0100644);
	assert_int_equal(r.u.attrs.size, 0x100000007ull);
	assert_prefixes_fail(&w);

	/* statvfs: 11 x u64 */
	w_begin(&w, SSH_FXP_EXTENDED_REPLY);
	w_u32(&w, 6);
	for (i = 1; i <= 11; i++)
		w_u64(&w, (uint64_t)i << 33 | (uint64_t)i);
	w_end(&w);
	assert_int_equal(sftp_parse_reply(w.b, w.n, &r), 0);
	assert_int_equal(r.u.extended.len, 88);
	assert_int_equal(
	    sftp_parse_statvfs(r.u.extended.p, r.u.extended.len, &sv), 0);
	assert_int_equal(sv.bsize, (1ull << 33) | 1);
	assert_int_equal(sv.namemax, (11ull << 33) | 11);
	assert_int_equal(sftp_parse_statvfs(r.u.extended.p, 87, &sv), -EPROTO);

	/* limits: OpenSSH 9.2's values */
	w_begin(&w, SSH_FXP_EXTENDED_REPLY);
	w_u32(&w, 7);
	w_u64(&w, 262144);
	w_u64(&w, 261120);
	w_u64(&w, 261120);
	w_u64(&w, 19995);
	w_end(&w);
	assert_int_equal(sftp_parse_reply(w.b, w.n, &r), 0);
	assert_int_equal(
	    sftp_parse_limits(r.u.extended.p, r.u.extended.len, &lim), 0);
	assert_int_equal(lim.packet_len, 262144);
	assert_int_equal(lim.read_len, 261120);
	assert_int_equal(lim.write_len, 261120);
	assert_int_equal(lim.open_handles, 19995);
	assert_int_equal(sftp_parse_limits(r.u.extended.p, 31, &lim), -EPROTO);
}

static void
test_bad_types(void **state)
{
	struct w w;
	struct sftp_reply r;

	(void)state;
	/* A request type coming back is not a reply. */
	w_begin(&w, SSH_FXP_OPEN);
	w_u32(&w, 1);
	w_end(&w);
	assert_int_equal(sftp_parse_reply(w.b, w.n, &r), -EPROTO);
	w_begin(&w, 0);
	w_u32(&w, 1);
	w_end(&w);
	assert_int_equal(sftp_parse_reply(w.b, w.n, &r), -EPROTO);
	w_begin(&w, 255);
	w_u32(&w, 1);
	w_end(&w);
	assert_int_equal(sftp_parse_reply(w.b, w.n, &r), -EPROTO);
}

/* Every status code, and OpenSSH's FAILURE for EEXIST & co. */
static void
test_status_errno(void **state)
{
	(void)state;
	assert_int_equal(sftp_status_errno(SSH_FX_OK), 0);
	assert_int_equal(sftp_status_errno(SSH_FX_EOF), -ENODATA);
	assert_int_equal(sftp_status_errno(SSH_FX_NO_SUCH_FILE), -ENOENT);
	assert_int_equal(sftp_status_errno(SSH_FX_PERMISSION_DENIED), -EACCES);
	assert_int_equal(sftp_status_errno(SSH_FX_FAILURE), -EIO);
	assert_int_equal(sftp_status_errno(SSH_FX_BAD_MESSAGE), -EINVAL);
	assert_int_equal(sftp_status_errno(SSH_FX_NO_CONNECTION), -ENOTCONN);
	assert_int_equal(
	    sftp_status_errno(SSH_FX_CONNECTION_LOST), -ECONNRESET);
	assert_int_equal(sftp_status_errno(SSH_FX_OP_UNSUPPORTED), -ENOTSUP);
	assert_int_equal(sftp_status_errno(11), -EEXIST);
	assert_int_equal(sftp_status_errno(18), -ENOTEMPTY);
	assert_int_equal(sftp_status_errno(24), -EISDIR);
	assert_int_equal(sftp_status_errno(32), -EIO);
	assert_int_equal(sftp_status_errno(0xffffffffu), -EIO);
	assert_string_equal(sftp_status_name(2), "NO_SUCH_FILE");
	assert_string_equal(sftp_status_name(1000), "UNKNOWN");
	assert_string_equal(sftp_type_name(SSH_FXP_READDIR), "READDIR");
	assert_string_equal(sftp_type_name(SSH_FXP_ATTRS), "ATTRS");
	assert_string_equal(
	    sftp_type_name(SSH_FXP_EXTENDED_REPLY), "EXTENDED_REPLY");
	assert_string_equal(sftp_type_name(0), "UNKNOWN");
	assert_string_equal(sftp_type_name(106), "UNKNOWN");
}

/* Request encoders and the frame finder agree on packet boundaries. */
static void
test_stream_framing(void **state)
{
	struct buf b;
	struct sftp_handle h = handle("abcd");
	size_t off = 0, n, count = 0;

	(void)state;
	buf_init(&b, 1 << 20);
	assert_int_equal(sftp_enc_init(&b, 3), 0);
	assert_int_equal(sftp_enc_read(&b, 1, &h, 0, 32768), 0);
	assert_int_equal(sftp_enc_handle(&b, SSH_FXP_CLOSE, 2, &h), 0);
	assert_int_equal(sftp_enc_statvfs(&b, 3, "/"), 0);
	while (sftp_frame((const uint8_t *)b.data + off, b.len - off,
	           SFTP_REPLY_MAX, &n) == 1) {
		off += n;
		count++;
	}
	assert_int_equal(count, 4);
	assert_int_equal(off, b.len);
	buf_free(&b);
}

static bool
listable(const char *p, size_t n)
{
	struct sftp_str s = { p, n };

	return sftp_name_listable(&s);
}

/* The READDIR filter: OpenSSH lists "." and ".." first, then the rest. */
static void
test_name_listable(void **state)
{
	(void)state;
	assert_false(listable(".", 1));
	assert_false(listable("..", 2));
	assert_false(listable("", 0));
	assert_false(listable("a/b", 3));
	assert_false(listable("/", 1));
	assert_false(listable("../x", 4));
	assert_false(listable("a\0b", 3));
	assert_true(listable("...", 3));
	assert_true(listable(".hidden", 7));
	assert_true(listable("..x", 3));
	assert_true(listable(" leading space", 14));
	assert_true(listable("line\nbreak\r", 11)); /* fine over SFTP */
	assert_true(listable("\xc3\xa9t\xc3\xa9", 5));
	/* only len counts: "a/" cut before its '/' */
	assert_true(listable("a/", 1));
	assert_false(listable("./", 1));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_enc_init_open),
		cmocka_unit_test(test_enc_read_write),
		cmocka_unit_test(test_enc_limits_enforced),
		cmocka_unit_test(test_enc_symlink_openssh_order),
		cmocka_unit_test(test_enc_extensions),
		cmocka_unit_test(test_frame),
		cmocka_unit_test(test_version),
		cmocka_unit_test(test_status),
		cmocka_unit_test(test_handle_data),
		cmocka_unit_test(test_name),
		cmocka_unit_test(test_attrs_and_extended),
		cmocka_unit_test(test_bad_types),
		cmocka_unit_test(test_status_errno),
		cmocka_unit_test(test_stream_framing),
		cmocka_unit_test(test_name_listable),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
