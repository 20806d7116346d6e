/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * walk: listing a directory tree ahead of a process that walks it
 * (ls -lR, find, du, rsync, tar c).  A walk is recognised when a directory
 * is listed shortly after its parent: then the parent's other
 * subdirectories and the directory's own are listed in the background on
 * a few worker threads, each taking a pooled connection like any request,
 * so that the walker finds them in the cache (cache.c) instead of waiting
 * a round trip or three for each.  A walker arriving at a directory being
 * fetched joins that fetch (cache.c shares fetches in flight).
 *
 * Where the backend lists many folders at once on one connection
 * (->list_many, SFTP), two workers take up to WALK_BATCH (64) queued
 * folders each per request; such a batch may take the last free connection (it
 * holds it for about two round trips, as long as one listing of the
 * walker's own, and saves it a dozen).
 *
 * Budget: at most `workers` listings in flight (main.c: connections - 1,
 * at most WALK_WORKERS_MAX; two batches with ->list_many), none of them
 * one at a time on the last free connection (pool_background: a process
 * never waits for a guess; a listing that finds none is queued again), at
 * most WALK_QUEUE_MAX directories queued (more are dropped: the walker
 * lists them itself), nothing fetched twice within the cache's lifetime.
 * Memory: the listings live in the cache, bounded there.  Nothing here
 * runs unless a walk is seen.
 */
#ifndef FTPFS_WALK_H
#define FTPFS_WALK_H

#include "backend.h"

#define WALK_WORKERS_MAX 7
#define WALK_QUEUE_MAX 256

struct walk;

/*
 * A walker over be (the cached backend); workers 0 gives NULL, and every
 * function below accepts NULL and does nothing.  Each listing ahead has
 * the deadline a request has (op_timeout_ms, net_op_begin).  0 or -ENOMEM.
 */
int walk_new(
    struct backend *be, unsigned workers, int op_timeout_ms, struct walk **out);
/*
 * A process is about to list path (opendir): where path's parent was just
 * listed (a walk), path and its siblings are listed at once, together
 * (->list_many backends), into the cache the caller's listing reads.
 */
void walk_opening(struct walk *w, const char *path);
/* A process listed path (opendir), with its entries l. */
void walk_listed(
    struct walk *w, const char *path, const struct backend_dirlist *l);
/* Stop the workers (their listings finish first) and free w. */
void walk_free(struct walk *w);

#endif
