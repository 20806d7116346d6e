/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cache: directory and attribute cache, a backend decorator.
 *
 *  - ->list results are kept per directory for ttl; one listing answers
 *    ->stat for every entry in it, and for names not in it (negative).
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

struct cache_stats {
	unsigned long list_hits, list_misses;
	unsigned long stat_hits, stat_misses;
};

/*
 * Wrap inner (ownership passes to the cache: destroy destroys it too).
 * ttl_ms <= 0 disables caching (every call passes through).
 */
int cache_backend_new(struct backend *inner, int ttl_ms,
    struct backend **out);

void cache_get_stats(struct backend *cache, struct cache_stats *out);

#endif
