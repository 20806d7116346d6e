/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * sftp_proto: the SFTP version 3 packet codec (draft-ietf-secsh-filexfer-02
 * plus OpenSSH's extensions, openssh PROTOCOL section 4).  Pure: no I/O, no
 * libssh2, no allocation besides the caller's struct buf.
 *
 * Encoding: every sftp_enc_* appends one whole packet (uint32 length, type,
 * request id, fields) to out and returns 0, or -EMSGSIZE when the packet's
 * length field would exceed SFTP_REQUEST_MAX (OpenSSH's sftp-server exits
 * on a longer one, dropping every handle) or out's
 * own maximum, -ENAMETOOLONG for a string longer than SFTP_STRING_MAX,
 * -ENOMEM.  On error out is unchanged.  Paths are NUL-terminated.
 *
 * Decoding: sftp_frame() finds one complete packet at the start of a byte
 * stream (incremental: 0 means "need more bytes"); sftp_parse_reply()
 * decodes a complete packet.  The decoded reply points into the packet
 * bytes (no copies) and is valid while they are.  Every length and count
 * is checked against the bytes present and the named maxima below before
 * anything is used; NAME and VERSION payloads are validated completely at
 * parse time, so their iterators cannot fail.
 */
#ifndef FTPFS_SFTP_PROTO_H
#define FTPFS_SFTP_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define SFTP_VERSION 3
/* Longest request length field we send: OpenSSH's SFTP_MAX_MSG_LENGTH. */
#define SFTP_REQUEST_MAX (256 * 1024)
/*
 * Longest reply we accept.  DATA is at most 256 KiB + header from OpenSSH;
 * a NAME reply of 100 entries with long names and long "ls -l" lines can
 * reach ~850 KiB; anything past this is a broken or hostile server.
 */
#define SFTP_REPLY_MAX (1024 * 1024)
#define SFTP_STRING_MAX 65536 /* one path, name, message or longname */
#define SFTP_HANDLE_MAX 256 /* draft-02 section 3: at most 256 bytes */
#define SFTP_NAME_MAX 4096 /* entries in one NAME reply */
#define SFTP_EXT_MAX 64 /* extension pairs in VERSION or ATTRS */

/* Packet types. */
enum sftp_type {
	SSH_FXP_INIT = 1,
	SSH_FXP_VERSION = 2,
	SSH_FXP_OPEN = 3,
	SSH_FXP_CLOSE = 4,
	SSH_FXP_READ = 5,
	SSH_FXP_WRITE = 6,
	SSH_FXP_LSTAT = 7,
	SSH_FXP_FSTAT = 8,
	SSH_FXP_SETSTAT = 9,
	SSH_FXP_FSETSTAT = 10,
	SSH_FXP_OPENDIR = 11,
	SSH_FXP_READDIR = 12,
	SSH_FXP_REMOVE = 13,
	SSH_FXP_MKDIR = 14,
	SSH_FXP_RMDIR = 15,
	SSH_FXP_REALPATH = 16,
	SSH_FXP_STAT = 17,
	SSH_FXP_RENAME = 18,
	SSH_FXP_READLINK = 19,
	SSH_FXP_SYMLINK = 20,
	SSH_FXP_STATUS = 101,
	SSH_FXP_HANDLE = 102,
	SSH_FXP_DATA = 103,
	SSH_FXP_NAME = 104,
	SSH_FXP_ATTRS = 105,
	SSH_FXP_EXTENDED = 200,
	SSH_FXP_EXTENDED_REPLY = 201,
};

/* Status codes (v3 defines 0-8; later drafts' codes are mapped too). */
enum sftp_status {
	SSH_FX_OK = 0,
	SSH_FX_EOF = 1,
	SSH_FX_NO_SUCH_FILE = 2,
	SSH_FX_PERMISSION_DENIED = 3,
	SSH_FX_FAILURE = 4,
	SSH_FX_BAD_MESSAGE = 5,
	SSH_FX_NO_CONNECTION = 6,
	SSH_FX_CONNECTION_LOST = 7,
	SSH_FX_OP_UNSUPPORTED = 8,
};

/* OPEN pflags. */
enum {
	SSH_FXF_READ = 0x01,
	SSH_FXF_WRITE = 0x02,
	SSH_FXF_APPEND = 0x04,
	SSH_FXF_CREAT = 0x08,
	SSH_FXF_TRUNC = 0x10,
	SSH_FXF_EXCL = 0x20,
};

/* ATTRS flags. */
enum {
	SSH_FILEXFER_ATTR_SIZE = 0x01,
	SSH_FILEXFER_ATTR_UIDGID = 0x02,
	SSH_FILEXFER_ATTR_PERMISSIONS = 0x04,
	SSH_FILEXFER_ATTR_ACMODTIME = 0x08,
};
#define SSH_FILEXFER_ATTR_EXTENDED 0x80000000u

struct sftp_attrs {
	uint32_t flags; /* SSH_FILEXFER_ATTR_*; only flagged fields are set */
	uint64_t size;
	uint32_t uid, gid;
	uint32_t perm; /* st_mode bits, S_IFMT included (OpenSSH sends it) */
	uint32_t atime, mtime; /* v3: 32-bit seconds */
};

struct sftp_handle {
	uint32_t len;
	uint8_t data[SFTP_HANDLE_MAX];
};

/* A string inside a packet: not NUL-terminated. */
struct sftp_str {
	const char *p;
	size_t len;
};

struct sftp_reply {
	uint8_t type; /* SSH_FXP_* */
	uint32_t id; /* request id; 0 for VERSION */
	union {
		struct {
			uint32_t code;
			struct sftp_str msg; /* may be empty */
			struct sftp_str lang;
		} status;
		struct sftp_handle handle;
		struct {
			const uint8_t *p;
			size_t len;
		} data;
		struct {
			uint32_t count; /* validated entries at p */
			const uint8_t *p;
			size_t len;
		} name;
		struct sftp_attrs attrs;
		struct {
			const uint8_t *p; /* extension-specific payload */
			size_t len;
		} extended;
		struct {
			uint32_t version;
			uint32_t count; /* validated name/data pairs at p */
			const uint8_t *p;
			size_t len;
		} version;
	} u;
};

/* ---- encoding ------------------------------------------------------- */

int sftp_enc_init(struct buf *out, uint32_t version);
int sftp_enc_open(struct buf *out, uint32_t id, const char *path,
    uint32_t pflags, const struct sftp_attrs *a);
/* CLOSE, FSTAT, READDIR, and fsync@openssh.com / fstatvfs on a handle. */
int sftp_enc_handle(
    struct buf *out, uint8_t type, uint32_t id, const struct sftp_handle *h);
int sftp_enc_read(struct buf *out, uint32_t id, const struct sftp_handle *h,
    uint64_t off, uint32_t len);
int sftp_enc_write(struct buf *out, uint32_t id, const struct sftp_handle *h,
    uint64_t off, const void *data, size_t len);
/* Bytes a WRITE packet of len data bytes occupies on the wire. */
size_t sftp_write_overhead(const struct sftp_handle *h);
/* LSTAT, STAT, OPENDIR, REMOVE, RMDIR, REALPATH, READLINK. */
int sftp_enc_path(struct buf *out, uint8_t type, uint32_t id, const char *path);
/* SETSTAT and MKDIR (a may be NULL: no attributes). */
int sftp_enc_path_attrs(struct buf *out, uint8_t type, uint32_t id,
    const char *path, const struct sftp_attrs *a);
int sftp_enc_fsetstat(struct buf *out, uint32_t id, const struct sftp_handle *h,
    const struct sftp_attrs *a);
int sftp_enc_rename(
    struct buf *out, uint32_t id, const char *from, const char *to);
/*
 * SYMLINK in OpenSSH's order: the link's contents (target) first, then
 * the link's own path (PROTOCOL 4.1; the draft has them reversed, every
 * deployed server follows OpenSSH).
 */
int sftp_enc_symlink(
    struct buf *out, uint32_t id, const char *target, const char *linkpath);

/* OpenSSH extensions (SSH_FXP_EXTENDED). */
#define SFTP_EXT_POSIX_RENAME "posix-rename@openssh.com"
#define SFTP_EXT_HARDLINK "hardlink@openssh.com"
#define SFTP_EXT_FSYNC "fsync@openssh.com"
#define SFTP_EXT_STATVFS "statvfs@openssh.com"
#define SFTP_EXT_FSTATVFS "fstatvfs@openssh.com"
#define SFTP_EXT_LIMITS "limits@openssh.com"
#define SFTP_EXT_LSETSTAT "lsetstat@openssh.com"
#define SFTP_EXT_EXPAND_PATH "expand-path@openssh.com"

int sftp_enc_posix_rename(
    struct buf *out, uint32_t id, const char *from, const char *to);
/* hardlink@openssh.com: existing path first, new link second. */
int sftp_enc_hardlink(
    struct buf *out, uint32_t id, const char *oldpath, const char *newpath);
int sftp_enc_fsync(struct buf *out, uint32_t id, const struct sftp_handle *h);
int sftp_enc_statvfs(struct buf *out, uint32_t id, const char *path);
int sftp_enc_fstatvfs(
    struct buf *out, uint32_t id, const struct sftp_handle *h);
int sftp_enc_limits(struct buf *out, uint32_t id);
int sftp_enc_lsetstat(
    struct buf *out, uint32_t id, const char *path, const struct sftp_attrs *a);
int sftp_enc_expand_path(struct buf *out, uint32_t id, const char *path);

/* ---- decoding ------------------------------------------------------- */

/*
 * Is a whole packet at p (avail bytes)?  1 and *pkt_len (length field + 4)
 * when it is; 0 when more bytes are needed; -EMSGSIZE when the length
 * field exceeds max (use SFTP_REPLY_MAX) and -EPROTO when it is 0.
 */
int sftp_frame(const uint8_t *p, size_t avail, size_t max, size_t *pkt_len);

/*
 * Decode one complete packet (as framed by sftp_frame, length included).
 * 0, or -EPROTO for a malformed or truncated packet, an unknown type, or
 * one that breaks a maximum.  A request type (a server echoing requests)
 * is -EPROTO too.
 */
int sftp_parse_reply(const uint8_t *pkt, size_t len, struct sftp_reply *out);

struct sftp_name_ent {
	struct sftp_str filename;
	struct sftp_str longname;
	struct sftp_attrs attrs;
};

/* Iterate a NAME reply: set *pos = 0 first; false after the last entry. */
bool sftp_name_next(
    const struct sftp_reply *r, size_t *pos, struct sftp_name_ent *out);

/*
 * May a READDIR name be listed?  Not "", "." or ".." (the kernel adds
 * those itself), and nothing with a '/' (a path, not one component: the
 * kernel would fail the readdir) or a NUL (a name that cannot be
 * addressed).  Any other byte is fine: SFTP paths are counted strings.
 */
bool sftp_name_listable(const struct sftp_str *name);

/* Iterate VERSION's extension pairs the same way. */
bool sftp_ext_next(const struct sftp_reply *r, size_t *pos,
    struct sftp_str *name, struct sftp_str *data);

/* statvfs@openssh.com / fstatvfs reply payload. */
struct sftp_statvfs {
	uint64_t bsize, frsize, blocks, bfree, bavail, files, ffree, favail;
	uint64_t fsid, flag, namemax;
};
#define SFTP_SVFS_RDONLY 0x1
#define SFTP_SVFS_NOSUID 0x2

/* limits@openssh.com reply payload. */
struct sftp_limits {
	uint64_t packet_len, read_len, write_len, open_handles;
};

/* Decode an EXTENDED_REPLY payload; 0 or -EPROTO. */
int sftp_parse_statvfs(const uint8_t *p, size_t len, struct sftp_statvfs *out);
int sftp_parse_limits(const uint8_t *p, size_t len, struct sftp_limits *out);

/* ---- errors and names ----------------------------------------------- */

/*
 * The one mapping of SFTP status codes to negative errno (0 for OK).
 * EOF is -ENODATA (callers that expect it test the code first).
 * FAILURE is -EIO: OpenSSH folds EEXIST, ENOTEMPTY, EISDIR and EXDEV into
 * it, the backend tells them apart by asking.
 */
int sftp_status_errno(uint32_t code);
/* "NO_SUCH_FILE", ... or "UNKNOWN" (for logs). */
const char *sftp_status_name(uint32_t code);
/* "OPEN", "STATUS", ... or "UNKNOWN". */
const char *sftp_type_name(uint8_t type);

#endif
