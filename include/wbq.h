/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * wbq: writes done behind the writer.  A bounded FIFO of copied write
 * requests and one thread that hands them, in order, to a write function
 * (the backend's synchronous write).  The writer's write(2) returns once
 * its bytes are queued, so that copying the next request in the kernel and
 * sending (encrypting) this one overlap.
 *
 * Rules:
 * - Order: items are written one at a time, in the order queued; a write
 *   is never reordered with another of the same queue.
 * - Errors are sticky: after a write failed, every later push, drain and
 *   settle returns that error, and queued items are dropped unwritten
 *   (as a failed write(2) leaves the rest of a file undefined).  The file's
 *   flush/fsync/close report it: write-behind never loses an error, it
 *   reports it later, as NFS and sshfs do.
 * - Bounded: at most max_bytes are queued; a push beyond waits for the
 *   thread.  The thread writes under the deadline of the request that made
 *   the queue (net_op_begin), so a frozen server fails a write within
 *   -o timeout and the waiting push with it.
 * - Interrupts: a push or drain that waits polls interrupted() every
 *   100 ms and gives up with -EINTR (what was queued stays queued).
 * - Nothing here takes the caller's locks: drain and push may be called
 *   with any lock held that the write function does not take.
 */
#ifndef FTPFS_WBQ_H
#define FTPFS_WBQ_H

#include <stddef.h>
#include <stdint.h>

struct wbq;

/* Write len bytes at off; 0 or -errno.  Runs on the queue's thread. */
typedef int (*wbq_write_fn)(
    void *arg, const char *buf, size_t len, uint64_t off);

/*
 * A queue of at most max_bytes whose thread calls fn(arg, ...) under a
 * deadline of op_timeout_ms per item (0: none).  interrupted (may be NULL)
 * is asked while a caller waits.  0 and *out, or -errno.
 */
int wbq_new(wbq_write_fn fn, void *arg, size_t max_bytes, int op_timeout_ms,
    int (*interrupted)(void), struct wbq **out);

/*
 * Queue a copy of buf (len <= max_bytes).  0, the sticky error of an
 * earlier write, -ENOMEM, or -EINTR (nothing queued).
 */
int wbq_push(struct wbq *q, const char *buf, size_t len, uint64_t off);

/* Wait until what was queued before the call is written (not what a
   busy writer adds meanwhile); 0, the sticky error or -EINTR. */
int wbq_drain(struct wbq *q);

/* wbq_drain without giving up on interrupts: for release and for requests
   of other files that must see these bytes first. */
int wbq_settle(struct wbq *q);

/* True while items are queued or being written (a snapshot). */
int wbq_busy(struct wbq *q);

/* Settle, stop the thread, free.  Returns the sticky error or 0.  NULL: 0. */
int wbq_free(struct wbq *q);

#endif
