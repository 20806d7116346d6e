/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * backend: one interface for a remote filesystem.  FTP, FTPS and SFTP are
 * instances of it; the cache is a decorator implementing it around another
 * backend; the FUSE layer (fs.c) sees nothing else.
 *
 * Conventions for every operation:
 *  - paths are absolute within the mount ("/" is the mount root), already
 *    free of "." and ".." components, never with a trailing slash (except
 *    "/" itself);
 *  - return 0 (or a byte count) on success, a negative errno on failure;
 *    the protocol detail behind an error goes to the log, not to the caller;
 *  - operations are thread-safe: fs.c calls them from many FUSE threads;
 *  - a NULL op means "not supported" and fs.c answers -ENOSYS/-ENOTSUP.
 */
#ifndef FTPFS_BACKEND_H
#define FTPFS_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/types.h>
#include <time.h>

/* Which fields of a backend_attr the server actually told us. */
enum {
	BA_MODE_TYPE = 1 << 0, /* S_IFMT bits of mode */
	BA_MODE_PERM = 1 << 1, /* permission bits of mode */
	BA_SIZE = 1 << 2,
	BA_MTIME = 1 << 3,
	BA_UID = 1 << 4,
	BA_GID = 1 << 5,
	BA_NLINK = 1 << 6,
	BA_ATIME = 1 << 7, /* else the atime shown is the mtime */
};

/* Precision of mtime, so tools can be told how far to trust it. */
enum ba_time_prec {
	BA_PREC_SECOND = 0, /* MLSD, MDTM, SFTP */
	BA_PREC_MINUTE, /* Unix LIST "Mon DD HH:MM", DOS LIST */
	BA_PREC_DAY, /* Unix LIST "Mon DD YYYY" */
};

struct backend_attr {
	unsigned valid; /* BA_* bits */
	mode_t mode; /* S_IFREG/S_IFDIR/S_IFLNK/... | perms */
	uint64_t size;
	struct timespec mtime; /* UTC */
	struct timespec atime; /* UTC; with BA_ATIME */
	enum ba_time_prec mtime_prec;
	uid_t uid;
	gid_t gid;
	unsigned nlink;
};

struct backend_dirent {
	char *name; /* one path component, never "." or ".." */
	char *link_target; /* symlink target when the listing shows it */
	struct backend_attr attr;
};

struct backend_dirlist {
	struct backend_dirent *ents;
	size_t count;
	size_t cap;
};

/*
 * Entries one listing may hold: a server that lists forever (or a folder
 * larger than anyone can use through a mount) is cut off with -EFBIG
 * instead of growing until memory runs out (some 150 MiB at the limit).
 */
#define BACKEND_DIRLIST_MAX 1000000

/* Append a copy of name/target/attr. 0, -EFBIG (the limit) or -ENOMEM. */
int backend_dirlist_add(struct backend_dirlist *l, const char *name,
    size_t name_len, const char *link_target, const struct backend_attr *attr);
/* Free the entries and reset l to empty. NULL is accepted. */
void backend_dirlist_free(struct backend_dirlist *l);
/* Linear lookup by name, NULL when absent. */
const struct backend_dirent *backend_dirlist_find(
    const struct backend_dirlist *l, const char *name);

/* Open flags passed to ->open (a subset of what fs.c got). */
enum {
	BO_READ = 1 << 0,
	BO_WRITE = 1 << 1,
	BO_CREATE = 1 << 2, /* create if missing */
	BO_TRUNC = 1 << 3, /* start from an empty file */
	BO_APPEND = 1 << 4, /* writes go to the server's end (FTP APPE) */
	BO_EXCL = 1 << 5,
	/*
	 * fs.c found no such file: this upload creates it, so a failed one
	 * may be removed (only then: see write_plan.h).
	 */
	BO_NEW = 1 << 6,
};

/* Backend capabilities (backend->caps). */
enum {
	BCAP_PWRITE = 1 << 0, /* ->pwrite at any offset (SFTP) */
	BCAP_CHEAP_STAT = 1 << 1, /* ->stat is one round trip (MLST, SFTP):
	                             the cache may stat instead of listing
	                             the parent on a miss */
	BCAP_SYMLINK = 1 << 2, /* ->symlink works */
	BCAP_CREATE_MODE = 1 << 3, /* ->open gives a file it creates its
	                              mode (SFTP); without it fs.c chmods
	                              the file after its upload */
	BCAP_HANDLES = 1 << 4, /* an open file's handle outlives its name
	                          on the server (SFTP on a POSIX server):
	                          libfuse's hidden name for a file unlinked
	                          while open is made on the server too */
};

struct backend;
/* An open remote file: owned by the backend, opaque to everyone else. */
struct backend_file;

/* One file of ->fetch_many. */
struct backend_fetch {
	const char *path;
	uint64_t want; /* bytes: the size it was listed with */
	char *data; /* out: want bytes, or NULL */
	int rc; /* out */
};

/*
 * The files of one ->fetch_many: v[0..n), room for cap.
 *  - fill, when not NULL, is called once the connection is held, before
 *    anything is sent, and again while the requests are under way (after
 *    each reply, while n < cap): it may append files at v[n..cap) (raising
 *    n), which go out at once on the same connection.  Files that other
 *    threads asked for while this one waited for a connection, or while
 *    its requests were under way, share its round trips (fahead.c: many
 *    readers, one session).  Not called when no connection could be had.
 *  - done, when not NULL, is called for each v[i] as soon as it is final
 *    (while the others are still under way, or at the end), exactly once;
 *    v[i].data is the callee's from then on (the backend sets it NULL).
 */
struct backend_fetch_batch {
	struct backend_fetch *v;
	size_t n, cap;
	void (*fill)(struct backend_fetch_batch *bt);
	void (*done)(struct backend_fetch_batch *bt, size_t i);
	void *arg; /* fill's and done's */
};

struct backend_ops {
	const char *name; /* "ftp", "ftps", "sftp", "cache" */

	/* Attributes of one path, not following a final symlink. */
	int (*stat)(
	    struct backend *b, const char *path, struct backend_attr *out);
	/*
	 * ->stat answered by the server now, past any cache (a decorator
	 * passes it through and refreshes itself): asked before content is
	 * replaced, to see whether someone else changed it.  NULL: ->stat.
	 */
	int (*stat_now)(
	    struct backend *b, const char *path, struct backend_attr *out);
	/* The entries of a directory (not "." or ".."); out starts empty. */
	int (*list)(
	    struct backend *b, const char *path, struct backend_dirlist *out);
	/* Target of a symlink into buf (NUL-terminated, truncated to size). */
	int (*readlink)(
	    struct backend *b, const char *path, char *buf, size_t size);

	/*
	 * Open a file.  BO_READ: reads at any offset via ->read.
	 * BO_WRITE: a write stream; with BO_TRUNC|BO_CREATE it replaces the
	 * file, with BO_APPEND every write goes to the server's end of the
	 * file, whatever its offset (a missing file is created).  Otherwise
	 * writes must be sequential from offset 0 unless the backend has
	 * BCAP_PWRITE; -ESPIPE from ->open or ->write asks fs.c to use a
	 * local copy instead.  known_size is the size fs.c believes the file
	 * has (-1 when unknown); it lets readers stop at EOF without asking.
	 * mode is the permission bits for a file it creates, honoured only by
	 * backends with BCAP_CREATE_MODE.
	 */
	int (*open)(struct backend *b, const char *path, unsigned flags,
	    mode_t mode, int64_t known_size, struct backend_file **out);
	/* Read up to size bytes at off. Returns bytes read, 0 at EOF. */
	ssize_t (*read)(struct backend *b, struct backend_file *f, char *buf,
	    size_t size, off_t off);
	/*
	 * Optional fast path of ->read: move up to size bytes at off into
	 * the pipe pipe_wr (the write end of an O_NONBLOCK pipe) without
	 * copying them through user space.  Returns the bytes moved, 0 at
	 * EOF, -errno on failure, or -EAGAIN (nothing moved) when it cannot
	 * serve this request that way: the caller then uses ->read.  Fewer
	 * bytes than asked is not EOF (the pipe may be full, the stream may
	 * have stopped): ->read continues at off + the count.  What was moved
	 * is in the pipe and consumed from the handle, whatever the caller
	 * does with it.  NULL: not supported.
	 */
	ssize_t (*read_pipe)(struct backend *b, struct backend_file *f,
	    int pipe_wr, size_t size, off_t off);
	/*
	 * Write at off.  Without BCAP_PWRITE, off must equal the stream's
	 * current end (-ESPIPE otherwise; fs.c spools such writes locally).
	 */
	ssize_t (*write)(struct backend *b, struct backend_file *f,
	    const char *buf, size_t size, off_t off);
	/*
	 * Finish pending writes and report whether the server has every
	 * byte: 0 only after the server confirmed it.  The handle stays open.
	 * 1: nothing was written since the transfer began, and it stays open
	 * (it ends, and is confirmed, at ->release).
	 */
	int (*flush)(struct backend *b, struct backend_file *f);
	/*
	 * fsync(2): after a successful ->flush, ask the server to put the
	 * file's bytes on its stable storage (SFTP fsync@openssh.com).  0
	 * when done or when the server has no way to (then ->flush was all
	 * there is), -errno when the server failed it.  NULL: ->flush only.
	 */
	int (*fsync)(struct backend *b, struct backend_file *f);
	/*
	 * Optional: set the size of the file through its open write handle
	 * (ftruncate(2)), after the writes before it; what that handle reads
	 * next sees the new size.  On the handle, not the name: a file made
	 * 0444 through this very handle can still be cut, as on a local
	 * disk.  NULL: fs.c sets it by name (->truncate).
	 */
	int (*ftruncate)(struct backend *b, struct backend_file *f, off_t size);
	/* Close the handle (flushing first); the result of the flush. */
	int (*release)(struct backend *b, struct backend_file *f);
	/*
	 * Close the handle without finishing it: its name is gone (unlinked
	 * or replaced while open).  Any transfer is aborted; nothing is
	 * created, verified or removed on the server.  NULL: ->release.
	 */
	void (*abandon)(struct backend *b, struct backend_file *f);
	/*
	 * Optional: the open file f was renamed on the server (itself, or a
	 * directory above it) and is now path.  A backend that may reopen a
	 * handle by name (SFTP, after its session was lent to another
	 * operation) uses the new name from now on.  NULL: the handle keeps
	 * the name it was opened with.
	 */
	void (*renamed)(
	    struct backend *b, struct backend_file *f, const char *path);

	int (*mkdir)(struct backend *b, const char *path, mode_t mode);
	int (*rmdir)(struct backend *b, const char *path);
	int (*unlink)(struct backend *b, const char *path);
	/*
	 * Optional: remove path, a file this mount made (a temporary copy of
	 * at most max_size bytes), once the server answers again: ->unlink
	 * just failed for the connection's sake.  The backend removes it
	 * only while it still is what we left (not grown, not changed since)
	 * and logs what it did.  NULL: the caller names it in the log.
	 */
	void (*unlink_later)(
	    struct backend *b, const char *path, uint64_t max_size);
	/* POSIX rename: replaces an existing target (flags: RENAME_NOREPLACE).
	 */
	int (*rename)(struct backend *b, const char *from, const char *to,
	    unsigned flags);
	int (*chmod)(struct backend *b, const char *path, mode_t mode);
	int (*set_mtime)(
	    struct backend *b, const char *path, const struct timespec *mtime);
	/*
	 * Optional: the access and modification times at once (utimensat);
	 * NULL keeps that time as it is on the server.  Without it, the
	 * atime is dropped and set_mtime sets the mtime.
	 */
	int (*set_times)(struct backend *b, const char *path,
	    const struct timespec *atime, const struct timespec *mtime);
	/* Set the size of a closed file (an open one goes through ->write). */
	int (*truncate)(struct backend *b, const char *path, off_t size);
	/*
	 * May the server's user do what mode (W_OK) asks to the existing
	 * file path?  0 when it may, or when that cannot be told; -EACCES
	 * (or another -errno) when not.  Costs round trips: fs.c asks before
	 * changing a file through a local copy, whose upload (a temporary
	 * file renamed over it) would not meet the file's own permissions.
	 */
	int (*access)(struct backend *b, const char *path, int mode);
	int (*symlink)(
	    struct backend *b, const char *target, const char *linkpath);
	/* Hard link: the file from gets the new name to (link(2)). */
	int (*link)(struct backend *b, const char *from, const char *to);
	int (*statfs)(struct backend *b, const char *path, struct statvfs *out);

	/*
	 * Optional: read the small files of bt whole at once, where one
	 * connection can carry the requests of many (SFTP), for fahead.c.
	 * Each bt->v[i].path is read up to .want bytes (the listed size);
	 * .rc is 0 with .data (malloc'ed, the caller frees) holding exactly
	 * that many, or -errno (-ESTALE: not the listed size).  Returns
	 * -EAGAIN when no connection was free (pool_background), else 0.
	 * NULL: fahead reads them one by one (->open, ->read).
	 */
	int (*fetch_many)(struct backend *b, struct backend_fetch_batch *bt);
	/*
	 * Optional: list the directories paths[0..n) at once, where one
	 * connection can carry the requests of many (SFTP), for walk.c.
	 * rc[i] is 0 with out[i] (empty on entry) holding the entries of
	 * paths[i], or -errno (out[i] empty).  Returns -EAGAIN when no
	 * connection was free (pool_background), else 0.  The cache
	 * decorator keeps the listings and leaves out[] empty.
	 */
	int (*list_many)(struct backend *b, const char *const *paths, size_t n,
	    struct backend_dirlist *out, int *rc);

	/* Tell a decorator that path (or everything below it) changed. */
	void (*invalidate)(struct backend *b, const char *path);
	/* Free everything: connections closed, handles must be released. */
	void (*destroy)(struct backend *b);
};

struct backend {
	const struct backend_ops *ops;
	unsigned caps; /* BCAP_* */
	void *priv; /* the instance's own state */
};

/* ---- the factory: URL scheme -> backend (backend.c) ---------------- */

struct url;

/* What main hands to whichever backend the URL names. */
struct backend_opts {
	const char *user; /* NULL: the backend's default (anonymous) */
	const char *password; /* never logged; NULL when none */
	const char *account; /* FTP ACCT and the like, NULL if none */
	unsigned connections; /* at most this many at once, >= 1 */
	int connect_timeout_ms; /* connect + handshake + login */
	/*
	 * Backend-specific -o options ("key" or "key=value"), in the order
	 * given; each was accepted by backend_opt_check() while parsing.
	 */
	const char *const *extra;
	size_t nextra;
};

/*
 * Is arg ("key" or "key=value", one -o item) an option of some backend?
 * 1: yes and well-formed; 0: nobody's (libfuse may know it); -1: ours
 * but malformed, with a one-line explanation in msg.
 */
int backend_opt_check(const char *arg, char *msg, size_t msglen);

/*
 * Can this URL's scheme be mounted?  0, or -EPROTONOSUPPORT with a
 * one-line explanation in msg.  Cheap: main asks before any prompt.
 */
int backend_supported(const struct url *u, char *msg, size_t msglen);

/*
 * Create the backend for u's scheme and connect now, so a mount fails
 * fast (errno and msg as the backend's own constructor documents, e.g.
 * ftp_backend.h).  The strings of u and opts are copied.
 */
int backend_open(const struct url *u, const struct backend_opts *opts,
    struct backend **out, char *msg, size_t msglen);

/*
 * Settle the mount source with the backend's own client configuration,
 * before credentials are resolved (SFTP: ~/.ssh/config, see
 * sftp_backend_prepare: host alias, port, user; may append -o items to
 * extra, malloc'ed, up to max_extra).  0 or -errno with msg.
 */
int backend_prepare(struct url *u, char **extra, size_t *nextra,
    size_t max_extra, char *msg, size_t msglen);

/* The -o options of every backend, for --help. */
void backend_print_help(void);

/*
 * Process-wide state of the backends' libraries (libssh2): set up once in
 * main before any thread exists (0, or -1 with a one-line reason in msg),
 * torn down at exit after every backend is destroyed.
 */
int backend_global_init(char *msg, size_t msglen);
void backend_global_exit(void);
/* Can a login to u go without a password (SFTP: keys, the agent)? */
bool backend_password_optional(const struct url *u);

/* The backends' libraries and the versions we run with, for --version. */
void backend_print_versions(void);

/*
 * The login name for a URL that names none, or NULL to leave it to the
 * netrc entry and then the anonymous login (FTP).  SFTP answers the local
 * user's name, as ssh does.  Static storage; called before any thread.
 */
const char *backend_default_user(const struct url *u);

/* Join a directory path and a name into out ("/" + "a" = "/a"). */
int backend_path_join(
    const char *dir, const char *name, char *out, size_t size);
/*
 * The value of a "key=N" option: N a whole number, min <= N <= max.
 * 0, or -EINVAL (the caller says what was expected).
 */
int backend_opt_number(
    const char *arg, unsigned long min, unsigned long max, unsigned long *out);
/*
 * Split path into its parent (written to parent, "/" for top-level names)
 * and a pointer to the last component inside path.  -EINVAL for "/".
 */
int backend_path_split(
    const char *path, char *parent, size_t size, const char **name);
/* path is dir itself or lies below it (both absolute). */
bool backend_path_in(const char *path, const char *dir);
/*
 * path's slot among nslots (FNV-1a): the backends' per-path generations
 * (a reader whose slot moved knows the path was written through the
 * mount since).
 */
unsigned backend_path_slot(const char *path, unsigned nslots);

/*
 * Names ftpfs makes beside a file on the server (".NAME.ftpfs-XXXXXX" for
 * an upload, ".NAME.ftpfs-gone-XXXXXX" for an unlinked open file) carry
 * at most this much of NAME: with the 23 bytes around it they stay under
 * the 255 bytes servers allow in a name, whatever NAME's length.
 */
#define BACKEND_TEMP_NAME_MAX 200

#endif
