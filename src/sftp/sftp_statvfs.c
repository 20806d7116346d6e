/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * sftp_statvfs: statfs answers (statvfs@openssh.com) asked along with
 * listings and kept a moment.
 *
 * find, du, rm -r and chmod -R (gnulib's fts) ask statfs of every folder
 * they read; over SFTP each was a round trip of its own, and one that
 * waits for a session while a walk's listings hold the last one.  A
 * listing therefore asks its folder's statvfs in the same flight as its
 * OPENDIR (the reply comes right behind the handle), and sftpb_statfs
 * answers a path asked that way, or by itself, less than SB_SVFS_FRESH_MS
 * ago from memory.  An answer is kept for its own path only: a folder may
 * be on another filesystem of the server than its parent.  Every change
 * made through the mount (sb_svfs_changed: writes, sizes, creations,
 * removals) makes what is kept unusable, so df after a write asks again:
 * the count moves before a change is sent and again once it is answered,
 * so an answer asked while it was under way is not kept either.  Changes
 * by other clients show after SB_SVFS_FRESH_MS at the latest.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>

#include "log.h"
#include "net.h"
#include "sftp_be.h"

int
sb_svfs_parse(const struct sftp_reply *r, const char *abs, struct statvfs *st)
{
	struct sftp_statvfs sv;
	int rc;

	if (r->type != SSH_FXP_EXTENDED_REPLY) {
		rc = sb_reply_errno(r, "statvfs", abs);
		return rc == 0 ? -EPROTO : rc;
	}
	if (sftp_parse_statvfs(r->u.extended.p, r->u.extended.len, &sv) < 0)
		return -EPROTO;
	memset(st, 0, sizeof(*st));
	st->f_bsize = (unsigned long)sv.bsize;
	st->f_frsize = (unsigned long)sv.frsize;
	st->f_blocks = (fsblkcnt_t)sv.blocks;
	st->f_bfree = (fsblkcnt_t)sv.bfree;
	st->f_bavail = (fsblkcnt_t)sv.bavail;
	st->f_files = (fsfilcnt_t)sv.files;
	st->f_ffree = (fsfilcnt_t)sv.ffree;
	st->f_favail = (fsfilcnt_t)sv.favail;
	st->f_fsid = (unsigned long)sv.fsid;
	st->f_namemax = (unsigned long)sv.namemax;
	if (sv.flag & SFTP_SVFS_RDONLY)
		st->f_flag |= ST_RDONLY;
	if (sv.flag & SFTP_SVFS_NOSUID)
		st->f_flag |= ST_NOSUID;
	return 0;
}

void
sb_svfs_init(struct sftp_be *sb)
{
	pthread_mutex_init(&sb->svfs_lock, NULL);
}

void
sb_svfs_fini(struct sftp_be *sb)
{
	unsigned i;

	for (i = 0; i < SB_SVFS_SLOTS; i++)
		free(sb->svfs[i].abs);
	pthread_mutex_destroy(&sb->svfs_lock);
}

void
sb_svfs_changed(struct sftp_be *sb)
{
	atomic_fetch_add(&sb->svfs_gen, 1);
}

unsigned
sb_svfs_gen(struct sftp_be *sb)
{
	return atomic_load(&sb->svfs_gen);
}

bool
sb_svfs_get(struct sftp_be *sb, const char *abs, struct statvfs *st)
{
	unsigned gen = atomic_load(&sb->svfs_gen), i;
	int64_t now = net_now_ms();
	bool hit = false;

	pthread_mutex_lock(&sb->svfs_lock);
	for (i = 0; i < SB_SVFS_SLOTS && !hit; i++) {
		struct sb_svfs *e = &sb->svfs[i];

		if (e->abs != NULL && e->gen == gen &&
		    now - e->t_ms < SB_SVFS_FRESH_MS &&
		    strcmp(e->abs, abs) == 0) {
			*st = e->st;
			hit = true;
		}
	}
	pthread_mutex_unlock(&sb->svfs_lock);
	return hit;
}

void
sb_svfs_put(struct sftp_be *sb, const char *abs, const struct statvfs *st,
    unsigned gen, int64_t t_ms)
{
	struct sb_svfs *e = NULL;
	char *copy;
	unsigned i;

	if (gen != atomic_load(&sb->svfs_gen))
		return; /* something changed since it was asked */
	pthread_mutex_lock(&sb->svfs_lock);
	for (i = 0; i < SB_SVFS_SLOTS && e == NULL; i++)
		if (sb->svfs[i].abs != NULL &&
		    strcmp(sb->svfs[i].abs, abs) == 0)
			e = &sb->svfs[i];
	if (e == NULL) {
		copy = strdup(abs);
		if (copy == NULL) {
			pthread_mutex_unlock(&sb->svfs_lock);
			return;
		}
		e = &sb->svfs[sb->svfs_next];
		sb->svfs_next = (sb->svfs_next + 1) % SB_SVFS_SLOTS;
		free(e->abs);
		e->abs = copy;
	}
	e->st = *st;
	e->gen = gen;
	e->t_ms = t_ms;
	pthread_mutex_unlock(&sb->svfs_lock);
}

int
sb_svfs_ask(struct sftp_conn *c, const char *abs, uint32_t *id)
{
	int rc;

	if (!sftp_conn_has_ext(c, SFTP_EXT_STATVFS))
		return -ENOSYS;
	*id = sftp_conn_id(c);
	rc = sftp_enc_statvfs(sftp_conn_out(c), *id, abs);
	if (rc < 0)
		sftp_conn_unqueue(c);
	return rc;
}

void
sb_svfs_take(struct sftp_be *sb, const char *abs, const struct sftp_reply *r,
    unsigned gen, int64_t t_ms)
{
	struct statvfs st;

	if (sb_svfs_parse(r, abs, &st) == 0)
		sb_svfs_put(sb, abs, &st, gen, t_ms);
	else
		log_debug("%s: statvfs along with its listing failed", abs);
}
