/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ftp_orphan: partial uploads left on a server that could not be asked to
 * remove them when the upload failed (the server itself went away).  A
 * partial file under the real name looks complete to everyone else, so
 * it is removed as soon as the server answers again: the next operation
 * that gets a connection sweeps the list first.
 *
 * Never remove what is no longer ours: an entry is dropped without a DELE
 * when the file is gone, has grown past what we sent, carries a newer
 * time than the failure, or when this mount starts a new upload of it.
 * After ORPHAN_TTL_S it is dropped with a log line naming the file.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ftp_be.h"
#include "ftp_parse.h"
#include "log.h"

#define ORPHAN_TTL_S (10 * 60)
/* MDTM has one-second precision and server clocks drift a little. */
#define ORPHAN_CLOCK_SLACK_S 2

struct ftp_orphan {
	char *abs; /* server path */
	uint64_t max_size; /* bytes we sent: the partial copy has at most */
	time_t failed_at;
	struct ftp_orphan *next;
};

void
ftp_orphan_add(struct ftp_be *fb, const char *abs, uint64_t max_size)
{
	struct ftp_orphan *o = calloc(1, sizeof(*o));

	if (o == NULL || (o->abs = strdup(abs)) == NULL) {
		free(o);
		log_err("%s: out of memory; its partial copy stays on the "
		        "server",
		    abs);
		return;
	}
	o->max_size = max_size;
	o->failed_at = time(NULL);
	pthread_mutex_lock(&fb->orphan_lock);
	o->next = fb->orphans;
	fb->orphans = o;
	atomic_store(&fb->has_orphans, true);
	pthread_mutex_unlock(&fb->orphan_lock);
	log_err("%s: a partial copy this mount left on the server (the "
	        "server did not answer); removed when it answers again",
	    abs);
	if (fb->pool != NULL)
		pool_probe(fb->pool); /* its login removes it (pool_connect) */
}

static void
orphan_free(struct ftp_orphan *o)
{
	free(o->abs);
	free(o);
}

void
ftp_orphan_forget(struct ftp_be *fb, const char *abs)
{
	struct ftp_orphan **pp, *o;

	if (!atomic_load(&fb->has_orphans))
		return;
	pthread_mutex_lock(&fb->orphan_lock);
	for (pp = &fb->orphans; (o = *pp) != NULL;) {
		if (strcmp(o->abs, abs) == 0) {
			*pp = o->next;
			orphan_free(o);
		} else {
			pp = &o->next;
		}
	}
	atomic_store(&fb->has_orphans, fb->orphans != NULL);
	pthread_mutex_unlock(&fb->orphan_lock);
}

/* One entry: true when it is settled (removed, or not ours any more). */
static bool
orphan_settle(struct ftp_be *fb, struct ftp_conn *c, struct ftp_orphan *o)
{
	struct ftp_reply rep;
	struct timespec mt;
	uint64_t size = 0;
	int rc;

	if (time(NULL) - o->failed_at > ORPHAN_TTL_S) {
		log_err("%s: gave up removing the partial copy a failed upload "
		        "left",
		    o->abs);
		return true;
	}
	rc = ftp_size_abs(c, o->abs, &size);
	if (rc == -EREMOTEIO || rc == -EBADMSG)
		return true; /* gone (550), a server without SIZE, or a size
		                we cannot read: never removed unmeasured */
	if (rc < 0)
		return false;
	if (size > o->max_size) {
		log_info("%s: written again since the failed upload; left "
		         "alone",
		    o->abs);
		return true;
	}
	if (fb->srv.feat & FTP_FEAT_MDTM) {
		rc = ftp_mdtm_abs(c, o->abs, &mt);
		if (rc == -EBADMSG)
			return true; /* a time we cannot read: left alone */
		if (rc < 0 && rc != -EREMOTEIO)
			return false;
		if (rc == 0 &&
		    mt.tv_sec > o->failed_at + ORPHAN_CLOCK_SLACK_S) {
			log_info("%s: changed since the failed upload; left "
			         "alone",
			    o->abs);
			return true;
		}
	}
	if (ftp_cmd(c, &rep, "DELE", o->abs) < 0)
		return false;
	if (ftp_reply_is_ok(rep.code))
		log_err("%s: removed the partial copy (%" PRIu64 " bytes) a "
		        "failed upload left",
		    o->abs, size);
	else
		log_err("%s: could not remove the partial copy a failed "
		        "upload left: %d %s",
		    o->abs, rep.code, ftp_reply_last_line(&rep));
	ftp_reply_free(&rep);
	return true;
}

void
ftp_orphans_sweep(struct ftp_be *fb, struct ftp_conn *c)
{
	struct ftp_orphan *list, *o, *keep = NULL;

	if (!atomic_load(&fb->has_orphans))
		return;
	/* Take the list: one sweeper at a time, the others go on. */
	pthread_mutex_lock(&fb->orphan_lock);
	list = fb->orphans;
	fb->orphans = NULL;
	atomic_store(&fb->has_orphans, false);
	pthread_mutex_unlock(&fb->orphan_lock);
	while ((o = list) != NULL) {
		list = o->next;
		if (!c->broken && orphan_settle(fb, c, o)) {
			orphan_free(o);
		} else {
			o->next = keep;
			keep = o;
		}
	}
	if (keep == NULL)
		return;
	pthread_mutex_lock(&fb->orphan_lock);
	while ((o = keep) != NULL) {
		keep = o->next;
		o->next = fb->orphans;
		fb->orphans = o;
	}
	atomic_store(&fb->has_orphans, true);
	pthread_mutex_unlock(&fb->orphan_lock);
}

void
ftp_orphans_free(struct ftp_be *fb)
{
	struct ftp_orphan *o;

	while ((o = fb->orphans) != NULL) {
		fb->orphans = o->next;
		log_err("%s: unmounting with the partial copy of a failed "
		        "upload still on the server",
		    o->abs);
		orphan_free(o);
	}
}
