/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * memtrim: hands the memory malloc keeps to the kernel again, every few
 * seconds, on a thread of its own.
 *
 * main.c tunes glibc's malloc for READ replies (fixed mmap and trim
 * thresholds, so that a 1 MiB reply buffer is not faulted in again for
 * each READ); the price is freed memory kept in each arena, and over
 * hours of mixed traffic (read-ahead buffers, listings, spool copies)
 * the daemon's RSS grew to the sum of its peaks (test_chaos over SFTP:
 * 67 MB after 10 minutes).  malloc_trim(0) returns every whole free page
 * of every arena (the middle of a heap too, not only its top): one
 * page fault per page reused afterwards, every MEMTRIM_PERIOD_MS, instead
 * of one per page per READ.
 */
#ifndef FTPFS_MEMTRIM_H
#define FTPFS_MEMTRIM_H

#define MEMTRIM_PERIOD_MS 5000

struct memtrim;

/* Start the thread (after any fork: main_detach).  NULL if it could not
 * start (nothing trimmed then; not an error). */
struct memtrim *memtrim_start(void);
/* Stop it and free it (NULL is fine). */
void memtrim_stop(struct memtrim *t);

#endif
