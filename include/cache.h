/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cache: directory and attribute cache, a backend decorator.
 *
 *  - ->list results are kept per directory for ttl; one listing answers
 *    ->stat for every entry in it, and for names not in it (negative),
 *    also over a single ->stat answer cached before it.
 *  - ->stat on a miss: when the inner backend has BCAP_CHEAP_STAT, its
 *    ->stat is called and the answer (positive or -ENOENT) cached alone;
 *    otherwise the parent directory is listed once and that listing
 *    answers (so a LIST-only FTP server costs one listing per directory).
 *  - symlink targets seen in listings answer ->readlink.
 *  - every modifying op passes through and then invalidates exactly what
 *    it changed: the entry, its parent's listing, and for rmdir/rename of
 *    directories everything below.
 *  - concurrent misses for the same directory wait for one listing.
 *
 * Thread-safe; one mutex (cache->lock) protects the tables and is never
 * held across a call into the inner backend.
 */
#ifndef FTPFS_CACHE_H
#define FTPFS_CACHE_H

#include "backend.h"

/*
 * Details:
 *  - "/" is always a directory: ->stat("/") is answered S_IFDIR|0755
 *    without asking the server (FTP has no cheap way to stat the root);
 *    with caching disabled it goes to the inner backend like the rest.
 *  - a listing that fails with -EACCES is remembered ("unlistable") for
 *    ttl; entries below it are then stat'ed one by one and cached alone.
 *  - an inner op that is NULL stays NULL in the cache's ops table.
 *  - modifying ops also drop the listing of the path itself; the parent
 *    directory's own attributes (mtime, nlink) may stay stale up to ttl.
 *  - a handle opened with BO_WRITE invalidates its path again on every
 *    ->write, ->flush and ->release; handles are passed through as is.
 */

/* Bounds: at most this many listings / single attributes, LRU dropped. */
#define CACHE_MAX_DIRS 4096
#define CACHE_MAX_ATTRS 16384

/* list_*: ->list calls; stat_*: ->stat calls (a hit needs no inner call) */
struct cache_stats {
	unsigned long list_hits, list_misses;
	unsigned long stat_hits, stat_misses;
};

/*
 * Wrap inner (ownership passes to the cache: destroy destroys it too).
 * ttl_ms <= 0 disables caching (every call passes through).
 * On failure (-EINVAL, -ENOMEM, ...) inner still belongs to the caller.
 */
int cache_backend_new(struct backend *inner, int ttl_ms, struct backend **out);

void cache_get_stats(struct backend *cache, struct cache_stats *out);

#endif
