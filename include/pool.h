/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * pool: a bounded set of protocol connections shared by FUSE threads.
 * Protocol-agnostic: connections are opaque pointers created, checked,
 * reset and destroyed through struct pool_conn_ops.
 *
 *  - pool_checkout() hands out an idle connection (health-checked first),
 *    or opens a new one while fewer than max exist, or waits.
 *  - A connect that fails with -EUSERS ("too many connections": 421 at
 *    greeting, limit-530 at login) while other connections are alive
 *    lowers max to the number alive and waits for one of them instead of
 *    failing; with nothing alive it is returned to the caller.
 *  - Parking: a connection that carries an open stream between reads (a
 *    sequential RETR) is parked, not checked in.  Its owner gets it back
 *    with pool_unpark().  When a checkout would otherwise wait, or a parked
 *    connection stays untouched for park_timeout, the pool reclaims it:
 *    ops->reset() aborts the stream and the connection becomes idle, and
 *    the owner's next pool_unpark() returns false (it must reopen).
 *  - A maintenance thread closes idle connections after idle_timeout and,
 *    with keepalive_ms, keeps the last one alive (ops->keepalive).
 *
 * Locking: one mutex per pool (pool->lock) protects all bookkeeping; it is
 * never held while calling ops (connect/reset/check/destroy may block on
 * the network).  A connection is used by exactly one thread at a time.
 */
#ifndef FTPFS_POOL_H
#define FTPFS_POOL_H

#include <stdbool.h>

struct pool_conn_ops {
	/* Open a connection. 0, -EUSERS (server limit), other -errno. */
	int (*connect)(void *ctx, void **conn);
	/* Still usable before reuse (no pending bytes, no EOF)? 0 or -errno */
	int (*check)(void *ctx, void *conn);
	/* Abort whatever a parked connection carries; 0 when it is idle and
	 * reusable afterwards, -errno when it must be destroyed. */
	int (*reset)(void *ctx, void *conn);
	/* Close; graceful = say goodbye (QUIT) first. */
	void (*destroy)(void *ctx, void *conn, bool graceful);
	/*
	 * Keep an idle connection alive: one exchange with the server (FTP:
	 * NOOP) within the protocol's command timeout.  0, or -errno when it
	 * must be destroyed.  Runs on the maintenance thread.
	 */
	int (*keepalive)(void *ctx, void *conn);
	/*
	 * connect and destroy are required.  check NULL: every idle
	 * connection is taken as healthy.  reset NULL: a reclaimed
	 * connection is destroyed (graceful=false) instead of reused.
	 * keepalive NULL: keepalive_ms is ignored.
	 */
};

struct pool_config {
	unsigned max; /* connections, >= 1 */
	int idle_timeout_ms; /* close idle connections after this */
	int park_timeout_ms; /* reclaim parked connections after this */
	int wait_timeout_ms; /* pool_checkout gives up (-ETIMEDOUT) */
	/*
	 * ops->keepalive on a connection idle this long, and again every
	 * keepalive_ms; the last connection is then kept past idle_timeout
	 * (one login stays ready, and a dead link is found between
	 * requests, not by the next one).  0: off.
	 */
	int keepalive_ms;
	/*
	 * Connections opened at once in the background (pool_background's
	 * growth); 0: 8.  A login that costs CPU on both ends (SSH's key
	 * exchange) goes better a few at a time: many at once slow down the
	 * sessions already at work on the same cores.
	 */
	unsigned grow_at_once;
	/* A timeout <= 0 means "never": no expiry, no reclaim by timer,
	 * or pool_checkout waits without limit. */
};

struct pool;

/*
 * After a connect that failed having waited, new connects fail at once for
 * this long (pool_server_lost): a caller retrying an idempotent request on
 * a new connection waits this out before its last try.
 */
#define POOL_HOLDOFF_MS 1000

/* 0 or -errno. The maintenance thread starts here. */
int pool_new(const struct pool_config *cfg, const struct pool_conn_ops *ops,
    void *ctx, struct pool **out);
/* Close every connection (graceful) and join the thread. NULL is fine. */
void pool_destroy(struct pool *p);
/*
 * pool_destroy details: idle connections are closed graceful, parked ones
 * (a stream may be open on them) non-graceful.  Threads waiting in
 * pool_checkout get -ESHUTDOWN and pool_destroy waits for them to leave.
 * A connection still checked out is the caller's bug: it is logged and
 * forgotten (not destroyed), and pool_checkin/park/unpark after
 * pool_destroy touch freed memory.  Release every file handle first.
 */

/* 0 and *conn, or -errno from connect, -ETIMEDOUT, -ESHUTDOWN. */
int pool_checkout(struct pool *p, void **conn);
/*
 * The same without waiting and without reclaiming a parked connection,
 * for optional work (parallel read-ahead): only while more than spare
 * connections are idle or could still be opened, so that spare of them
 * stay for other callers.  0 and *conn, -EAGAIN (none to spare), or as
 * pool_checkout.
 */
int pool_try_checkout(struct pool *p, unsigned spare, void **conn);
/*
 * Mark the calling thread as working ahead of the processes (or not):
 * its checkouts then take an idle connection only while another stays
 * idle, and never open one; they fail with -EAGAIN instead, and the pool
 * opens one more in the background (up to its max, grow_at_once at a time),
 * put idle into the pool for the first checkout.  Thread-local.
 */
void pool_background(bool on);
/*
 * A connect failed (refused, timed out, reset, login lost...) after the
 * pool had connected before, and none has worked since.  The pool logs
 * the loss and the return once each; connect callbacks use this to keep
 * their own per-attempt message at debug level meanwhile.
 */
bool pool_server_lost(struct pool *p);
/*
 * A request timed out on a connection of the pool (a frozen server): as a
 * failed connect that had to wait, the server counts as lost, and for a
 * second new connects fail at once with rc instead of each waiting out
 * the deadline.  Meanwhile one login tries in the background
 * (pool_probe): a server that left one command unanswered and answers the
 * rest is back at once.
 */
void pool_timed_out(struct pool *p, int rc);
/*
 * Open a connection in the background now, even while the server counts
 * as lost, and put it in the pool idle: ops->connect runs, and with it
 * whatever waits for the server to answer (FTP: removing what a failed
 * upload left).  One at a time; asked while one is under way, one more
 * follows it.  Nothing when the pool is full.
 */
void pool_probe(struct pool *p);
/*
 * Add a connection opened outside the pool (the mount's first, checked
 * connection) as an idle member.  If the pool is full it is destroyed.
 */
void pool_adopt(struct pool *p, void *conn);

/* Return a connection; reusable=false destroys it (no QUIT). */
void pool_checkin(struct pool *p, void *conn, bool reusable);

/* Keep conn between uses of its owner; reclaimable by the pool. */
void pool_park(struct pool *p, void *conn);
/*
 * Take a parked conn back. false: it was reclaimed (do not touch it).
 * A reclaim under way (ops->reset running, which may read the owner's
 * state) is waited for: once this returns, the pool is done with the
 * owner and it may free what it parked with.
 */
bool pool_unpark(struct pool *p, void *conn);

/*
 * The same with the owner's identity, e.g. its open-file handle (any
 * pointer that stays allocated while it holds the park).  Prefer these:
 * after a reclaim the connection may be checked out and parked again by
 * another owner before the first one calls pool_unpark(), and only the
 * owner tells the two parks apart.  pool_park(p, c) is
 * pool_park_owner(p, c, NULL).  Call pool_unpark_owner() once per park.
 */
void pool_park_owner(struct pool *p, void *conn, const void *owner);
bool pool_unpark_owner(struct pool *p, void *conn, const void *owner);

/* Current limit (may have shrunk) and live connections, for logs/tests. */
unsigned pool_max(struct pool *p);
unsigned pool_live(struct pool *p);

#endif
