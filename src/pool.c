/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * pool: bounded connection pool (contract in include/pool.h).
 *
 * Every connection the pool holds is one struct pool_ent on p->ents, most
 * recently checked in first: the first idle entry is the warmest one and
 * the extras drift to the tail, where the idle timer closes them.  A
 * connection being opened or closed has no entry but is counted
 * (p->connecting, p->closing), so the server never sees more than max
 * sessions from us, not even while a QUIT is on its way.
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "net.h"
#include "pool.h"

/* The maintenance thread looks at the timers at least this often. */
#define POOL_TICK_MS 500
/* How often a checkout waiting for a connection looks for an interrupt. */
#define POOL_INTR_SLICE_MS 100
/*
 * A keepalive's answer must come within this (a waiting checkout passes
 * the connection by meanwhile, but with one connection it waits for it).
 */
#define POOL_KEEPALIVE_WAIT_MS 5000

enum pool_ent_state {
	PE_IDLE, /* in the pool, free */
	PE_BUSY, /* checked out (or being checked for a checkout) */
	PE_PARKED, /* kept by its owner, reclaimable */
	PE_RECLAIMING, /* ops->reset running; the owner lost it */
};

struct pool_ent {
	struct pool_ent *prev, *next;
	void *conn;
	enum pool_ent_state state;
	const void *owner; /* PE_PARKED, PE_RECLAIMING: who parked it */
	uint64_t stamp_ms; /* last checkin, park or reclaim */
	uint64_t alive_ms; /* PE_IDLE: last checkin or keepalive */
};

/* After a failed connect to a lost server, others fail at once this long
   (pool.h: POOL_HOLDOFF_MS, the same value for callers that wait it out). */
#define POOL_LOST_HOLDOFF_MS POOL_HOLDOFF_MS

struct pool {
	/*
	 * Lock order: p->lock is a leaf; it is never held while calling ops
	 * and nothing else is taken under it.
	 */
	pthread_mutex_t lock;
	pthread_cond_t cond; /* checkout waiters: something changed */
	pthread_cond_t maint_cond; /* maintenance thread: stop, earlier timer */
	pthread_cond_t quiet_cond; /* pool_destroy: users dropped to 0 */
	pthread_t maint;

	struct pool_conn_ops ops;
	void *ctx;
	struct pool_config cfg;

	struct pool_ent *ents; /* protected by p->lock; MRU first */
	unsigned nents; /* protected by p->lock */
	unsigned connecting; /* protected by p->lock */
	unsigned growing; /* protected by p->lock; of connecting: pool_grow */
	uint64_t grow_done; /* protected by p->lock; pool_grow's that ended */
	unsigned closing; /* protected by p->lock */
	unsigned max; /* protected by p->lock; only shrinks */
	unsigned users; /* protected by p->lock; in pool_checkout */
	uint64_t maint_wake_ms; /* protected by p->lock; its next wakeup */
	bool stopping; /* protected by p->lock */
	bool shrink_logged; /* protected by p->lock */
	/* a connect failed for the network's or the server's sake and none
	   has worked since: said once, and once more when one works */
	bool server_lost; /* protected by p->lock */
	bool ever_connected; /* protected by p->lock */
	/* while lost: connects before this fail at once with lost_rc, so
	   that the requests of one syscall do not each wait for a frozen
	   server (POOL_LOST_HOLDOFF_MS after each try that had to wait) */
	uint64_t lost_retry_ms; /* protected by p->lock */
	bool probing; /* protected by p->lock; pool_probe's login */
	bool probe_again; /* protected by p->lock; one more after it */
	int lost_rc; /* protected by p->lock */
	bool shrink_pending; /* protected by p->lock; max fell, not told yet */
};

static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static struct timespec
ms_to_ts(uint64_t ms)
{
	struct timespec ts;

	ts.tv_sec = (time_t)(ms / 1000);
	ts.tv_nsec = (long)(ms % 1000) * 1000000;
	return ts;
}

/* Wait on cond until deadline_ms (CLOCK_MONOTONIC); 0 waits forever. */
static int
pool_wait(pthread_cond_t *cond, pthread_mutex_t *lock, uint64_t deadline_ms)
{
	struct timespec ts;

	if (deadline_ms == 0)
		return pthread_cond_wait(cond, lock);
	ts = ms_to_ts(deadline_ms);
	return pthread_cond_timedwait(cond, lock, &ts);
}

/* Everything that occupies a server session slot. Lock held. */
static unsigned
pool_count(const struct pool *p)
{
	return p->nents + p->connecting + p->closing;
}

static void
ent_unlink(struct pool *p, struct pool_ent *e)
{
	if (e->prev != NULL)
		e->prev->next = e->next;
	else
		p->ents = e->next;
	if (e->next != NULL)
		e->next->prev = e->prev;
	e->prev = e->next = NULL;
}

static void
ent_push_head(struct pool *p, struct pool_ent *e)
{
	e->prev = NULL;
	e->next = p->ents;
	if (p->ents != NULL)
		p->ents->prev = e;
	p->ents = e;
}

static void
ent_push_tail(struct pool *p, struct pool_ent *e)
{
	struct pool_ent *t = p->ents;

	if (t == NULL) {
		ent_push_head(p, e);
		return;
	}
	while (t->next != NULL)
		t = t->next;
	t->next = e;
	e->prev = t;
	e->next = NULL;
}

static struct pool_ent *
ent_find(const struct pool *p, const void *conn)
{
	struct pool_ent *e;

	for (e = p->ents; e != NULL; e = e->next)
		if (e->conn == conn)
			return e;
	return NULL;
}

/* The least recently parked connection, NULL if none. Lock held. */
static struct pool_ent *
ent_oldest_parked(const struct pool *p)
{
	struct pool_ent *e, *best = NULL;

	for (e = p->ents; e != NULL; e = e->next)
		if (e->state == PE_PARKED &&
		    (best == NULL || e->stamp_ms < best->stamp_ms))
			best = e;
	return best;
}

/*
 * A timer starts now: wake the maintenance thread if it is due before the
 * thread's next planned wakeup.  Lock held.
 */
static void
pool_timer_started(struct pool *p, int timeout_ms)
{
	if (timeout_ms > 0 &&
	    now_ms() + (uint64_t)timeout_ms < p->maint_wake_ms)
		pthread_cond_signal(&p->maint_cond);
}

/*
 * Forget e and close its connection.  Called with p->lock held, returns
 * with it held; drops it around ops->destroy.  The slot stays counted
 * (p->closing) until the connection is really gone.
 */
static void
pool_discard_locked(struct pool *p, struct pool_ent *e, bool graceful)
{
	void *conn = e->conn;

	ent_unlink(p, e);
	p->nents--;
	p->closing++;
	pthread_mutex_unlock(&p->lock);
	free(e);
	p->ops.destroy(p->ctx, conn, graceful);
	pthread_mutex_lock(&p->lock);
	p->closing--;
	pthread_cond_broadcast(&p->cond);
}

/*
 * Take a parked connection away from its owner and reset it.  Lock held
 * on entry and exit.  0: e survived and is PE_RECLAIMING, the caller sets
 * its new state.  -errno: it was destroyed (e is freed).
 */
static int
pool_reclaim_locked(struct pool *p, struct pool_ent *e)
{
	int rc;

	/* e->owner stays while reset runs: reset may read the owner's state,
	   and pool_unpark_owner() holds the owner back until it is done. */
	e->state = PE_RECLAIMING;
	pthread_mutex_unlock(&p->lock);
	rc = p->ops.reset != NULL ? p->ops.reset(p->ctx, e->conn) : -ENOTSUP;
	pthread_mutex_lock(&p->lock);
	e->owner = NULL;
	pthread_cond_broadcast(&p->cond); /* an owner waits in unpark */
	if (rc == 0)
		return 0;
	log_debug("parked connection could not be reset (%s), closing it",
	    strerror(-rc));
	pool_discard_locked(p, e, false);
	return rc;
}

/*
 * Tell of a shrink once no connect is in flight: a connect still under
 * way may be refused too (and shrink further) or succeed, so until they
 * have all settled the number is not final.  Warned once per mount; later
 * shrinks are no news.  Lock held.
 */
static void
pool_report_shrink_locked(struct pool *p)
{
	if (!p->shrink_pending || p->connecting > 0)
		return;
	log_msg(p->shrink_logged ? LOG_LVL_INFO : LOG_LVL_WARN, __func__,
	    "server limits connections: pool shrunk to %u", p->max);
	p->shrink_pending = false;
	p->shrink_logged = true;
}

/*
 * A connect failed, or a request timed out on a connection (p->lock
 * held).  waited: it took its time (a frozen or black-holed server): then
 * the next connects fail at once for a moment; a quick refusal is cheap
 * to try again, and the first try after a restart must not be refused.
 */
static void
pool_lost_locked(struct pool *p, int rc, bool waited)
{
	if (!p->ever_connected)
		return;
	if (!p->server_lost) {
		p->server_lost = true;
		log_warn("lost the server: %s (operations fail until it "
		         "answers again; said once)",
		    strerror(-rc));
	}
	p->lost_rc = rc;
	if (waited)
		p->lost_retry_ms = now_ms() + POOL_LOST_HOLDOFF_MS;
}

/* A connect or a whole request worked (p->lock held). */
static void
pool_back_locked(struct pool *p)
{
	if (!p->server_lost)
		return;
	p->server_lost = false;
	log_warn("the server answers again");
}

static bool pool_spawn_locked(struct pool *p, bool probe);

/*
 * A request timed out: the server is frozen or gone, or it left one
 * command unanswered (pyftpdlib does when closing an upload's file fails)
 * and answers everything else.  New connects fail at once for a moment
 * (pool_lost_locked), and one login tries meanwhile in the background: if
 * it gets in, the server is back for everyone at once (a frozen server
 * keeps it waiting, not a caller).
 */
void
pool_timed_out(struct pool *p, int rc)
{
	pthread_mutex_lock(&p->lock);
	pool_lost_locked(p, rc, true);
	if (p->ever_connected)
		pool_spawn_locked(p, true);
	pthread_mutex_unlock(&p->lock);
}

void
pool_probe(struct pool *p)
{
	pthread_mutex_lock(&p->lock);
	pool_spawn_locked(p, true);
	pthread_mutex_unlock(&p->lock);
}

/*
 * Open a connection and put it in the pool in state st (PE_BUSY: the
 * caller's, *conn; PE_IDLE: for the first checkout).  p->connecting
 * counts it already; lock held on entry and exit, not while connecting.
 * *retry is set when a checkout should go round its loop again (the
 * server limit was hit while we have others, or we are shutting down).
 */
static int
pool_open_locked(
    struct pool *p, enum pool_ent_state st, void **conn, bool *retry)
{
	struct pool_ent *e;
	void *c = NULL;
	unsigned alive;
	uint64_t t0;
	int rc;

	*retry = false;
	pthread_mutex_unlock(&p->lock);
	t0 = now_ms();
	e = calloc(1, sizeof(*e));
	rc = e == NULL ? -ENOMEM : p->ops.connect(p->ctx, &c);
	pthread_mutex_lock(&p->lock);
	p->connecting--;
	if (rc == 0)
		pool_back_locked(p);
	if (rc == 0)
		p->ever_connected = true;
	/* refused, timed out, reset, unreachable, login lost ... */
	/* (an interrupted caller says nothing about the server) */
	if (rc < 0 && rc != -EUSERS && rc != -ENOMEM && rc != -ESHUTDOWN &&
	    rc != -EINTR)
		pool_lost_locked(p, rc, now_ms() - t0 >= POOL_LOST_HOLDOFF_MS);
	if (rc == 0 && !p->stopping) {
		e->conn = c;
		e->state = st;
		e->stamp_ms = e->alive_ms = now_ms();
		ent_push_head(p, e);
		p->nents++;
		*conn = c;
		pool_report_shrink_locked(p);
		return 0;
	}
	free(e);
	pthread_cond_broadcast(&p->cond); /* our slot is free again */
	if (rc == 0) {
		/* pool_destroy started meanwhile: nowhere to put it. */
		p->closing++;
		pthread_mutex_unlock(&p->lock);
		p->ops.destroy(p->ctx, c, true);
		pthread_mutex_lock(&p->lock);
		p->closing--;
		*retry = true;
		return -ESHUTDOWN;
	}
	alive = pool_count(p);
	if (rc == -EUSERS && alive > 0) {
		if (alive < p->max) {
			p->max = alive;
			p->shrink_pending = true;
		}
		*retry = true;
	}
	pool_report_shrink_locked(p);
	return rc;
}

/*
 * A new connection for pool_checkout (pool_open_locked, PE_BUSY).  The
 * login is part of getting a connection, which the request's deadline
 * does not count (pool_checkout): it starts again here, so that the
 * cleanup after a request that timed out (removing an upload's temporary
 * copy) is not refused by an expired deadline, taken for the server's
 * silence.
 */
static int
pool_connect_locked(struct pool *p, void **conn, bool *retry)
{
	*retry = false;
	if (p->server_lost && now_ms() < p->lost_retry_ms)
		return p->lost_rc;
	net_op_progress();
	p->connecting++;
	return pool_open_locked(p, PE_BUSY, conn, retry);
}

/* Connections in state st (p->lock held). */
static unsigned
pool_in_state_locked(const struct pool *p, enum pool_ent_state st)
{
	const struct pool_ent *e;
	unsigned n = 0;

	for (e = p->ents; e != NULL; e = e->next)
		if (e->state == st)
			n++;
	return n;
}

/*
 * Connections in the pool that a checkout could still get without waiting
 * or reclaiming: the idle ones and the room below max (p->lock held).
 */
static unsigned
pool_free_locked(const struct pool *p)
{
	unsigned n = pool_in_state_locked(p, PE_IDLE);

	if (pool_count(p) < p->max)
		n += p->max - pool_count(p);
	return n;
}

/*
 * Work done ahead of the processes (walk.c, fahead.c) runs on threads
 * marked by pool_background(): they take an idle connection only while
 * another one stays idle for a process (which would otherwise wait for a
 * login: 0.4 s to an SSH server 20 ms away), and never log in themselves.
 * They fail with -EAGAIN instead, and the pool grows meanwhile: a
 * connection is opened on a thread of its own (pool_grow) and put in the
 * pool idle, for whoever comes first.
 */
#define POOL_BG_SPARE 1
/* connections opened at once by pool_grow (pool_config.grow_at_once 0) */
#define POOL_GROW_AT_ONCE 8
/* pool_grow's login: the deadline of a request */
#define POOL_GROW_WAIT_MS 30000
static _Thread_local bool pool_bg;

void
pool_background(bool on)
{
	pool_bg = on;
}

static void
pool_grow_run(struct pool *p, bool probe)
{
	void *c;
	bool retry;
	int rc;

	net_op_begin(POOL_GROW_WAIT_MS, NULL);
	pthread_mutex_lock(&p->lock);
	rc = pool_open_locked(p, PE_IDLE, &c, &retry);
	if (rc < 0)
		log_debug("opening a connection %s: %s",
		    probe ? "to see if the server answers" : "ahead",
		    strerror(-rc));
	p->growing--;
	if (probe) {
		p->probing = false;
		if (p->probe_again) {
			p->probe_again = false;
			pool_spawn_locked(p, true);
		}
	}
	p->grow_done++;
	pthread_cond_broadcast(&p->cond);
	if (p->stopping)
		pthread_cond_broadcast(&p->quiet_cond);
	pthread_mutex_unlock(&p->lock);
	net_op_end();
}

static void *
pool_grow_fn(void *arg)
{
	pool_grow_run(arg, false);
	return NULL;
}

static void *
pool_probe_fn(void *arg)
{
	pool_grow_run(arg, true);
	return NULL;
}

/*
 * One more connection, opened in the background, if there is room.
 * probe: the one login that may go while the server counts as lost
 * (pool_timed_out), one at a time.  true: it is being opened.
 */
static bool
pool_spawn_locked(struct pool *p, bool probe)
{
	pthread_attr_t at;
	pthread_t t;
	int rc;

	if (p->stopping || pool_count(p) >= p->max ||
	    p->growing >= (p->cfg.grow_at_once > 0 ? p->cfg.grow_at_once
	                                           : POOL_GROW_AT_ONCE))
		return false;
	if (probe && p->probing)
		p->probe_again = true;
	if (probe ? p->probing : p->server_lost && now_ms() < p->lost_retry_ms)
		return false;
	p->connecting++;
	p->growing++;
	if (probe)
		p->probing = true;
	pthread_attr_init(&at);
	pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
	rc = pthread_create(&t, &at, probe ? pool_probe_fn : pool_grow_fn, p);
	pthread_attr_destroy(&at);
	if (rc != 0) {
		p->connecting--;
		p->growing--;
		if (probe)
			p->probing = false;
	}
	return rc == 0;
}

static bool
pool_grow_locked(struct pool *p)
{
	return pool_spawn_locked(p, false);
}

/* try: only while more than spare are free (pool_try_checkout). */
static int
pool_checkout_ex(struct pool *p, void **conn, bool try, unsigned spare)
{
	struct pool_ent *e;
	uint64_t deadline = 0, slice, grown = 0;
	bool retry, hedged = false, opening;
	int rc;

	*conn = NULL;
	if (p->cfg.wait_timeout_ms > 0)
		deadline = now_ms() + (uint64_t)p->cfg.wait_timeout_ms;
	pthread_mutex_lock(&p->lock);
	p->users++;
	for (;;) {
		if (p->stopping) {
			rc = -ESHUTDOWN;
			break;
		}
		if (try && pool_free_locked(p) <= spare) {
			rc = -EAGAIN;
			break;
		}
		if (pool_bg && !try &&
		    pool_in_state_locked(p, PE_IDLE) <= POOL_BG_SPARE) {
			pool_grow_locked(p);
			rc = -EAGAIN;
			break;
		}
		/* 1. The most recently used idle connection, if healthy. */
		for (e = p->ents; e != NULL; e = e->next)
			if (e->state == PE_IDLE)
				break;
		if (e != NULL) {
			e->state = PE_BUSY;
			rc = 0;
			if (p->ops.check != NULL) {
				pthread_mutex_unlock(&p->lock);
				rc = p->ops.check(p->ctx, e->conn);
				pthread_mutex_lock(&p->lock);
			}
			if (rc == 0) {
				*conn = e->conn;
				break;
			}
			log_debug("pooled connection failed its check (%s)",
			    strerror(-rc));
			pool_discard_locked(p, e, false);
			continue;
		}
		/*
		 * 2. A new one while below the limit.  With others checked
		 * out, one that comes back may be sooner than a login (a
		 * small file's request: one round trip; a login to an SSH
		 * server: ten): the new one is opened in the background and
		 * whichever is free first is ours.  Once that open ended
		 * with nothing free for us (it failed, or another took it),
		 * we open one ourselves, whose error is ours to return.
		 */
		opening = !try && hedged && p->grow_done == grown;
		if (opening) {
			/* ours is still being opened: wait (step 4) */
		} else if (pool_count(p) < p->max) {
			if (!try && !hedged &&
			    pool_in_state_locked(p, PE_BUSY) > 0) {
				grown = p->grow_done;
				hedged = pool_grow_locked(p);
				if (hedged)
					continue;
			}
			rc = pool_connect_locked(p, conn, &retry);
			if (rc == 0 || !retry)
				break;
			continue;
		}
		/* 3. Take a parked one away from its owner. */
		if (try) {
			rc = -EAGAIN;
			break;
		}
		e = opening ? NULL : ent_oldest_parked(p);
		if (e != NULL) {
			if (pool_reclaim_locked(p, e) == 0) {
				e->state = PE_BUSY;
				*conn = e->conn;
				rc = 0;
				break;
			}
			continue;
		}
		/*
		 * 4. Wait for a checkin, a park or a closed slot; in slices,
		 * as a condition wait does not end on a signal: the caller
		 * interrupted (Ctrl-C, net_op_interrupted) stops waiting.
		 */
		slice = now_ms() + POOL_INTR_SLICE_MS;
		if (deadline != 0 && deadline < slice)
			slice = deadline;
		if (pool_wait(&p->cond, &p->lock, slice) == ETIMEDOUT &&
		    slice == deadline) {
			rc = -ETIMEDOUT;
			break;
		}
		if (net_op_interrupted()) {
			rc = -EINTR;
			break;
		}
	}
	if (rc == 0 && p->stopping) {
		/* pool_destroy began while we checked or reset it. */
		e = ent_find(p, *conn);
		if (e != NULL)
			pool_discard_locked(p, e, true);
		*conn = NULL;
		rc = -ESHUTDOWN;
	}
	p->users--;
	if (p->stopping && p->users == 0)
		pthread_cond_broadcast(&p->quiet_cond);
	pthread_mutex_unlock(&p->lock);
	return rc;
}

/*
 * The wait for a free connection is not the server's silence: the
 * request's deadline (net_op_begin) starts again once it has one.
 */
int
pool_checkout(struct pool *p, void **conn)
{
	int rc = pool_checkout_ex(p, conn, false, 0);

	if (rc == 0)
		net_op_progress();
	return rc;
}

int
pool_try_checkout(struct pool *p, unsigned spare, void **conn)
{
	return pool_checkout_ex(p, conn, true, spare);
}

void
pool_checkin(struct pool *p, void *conn, bool reusable)
{
	struct pool_ent *e;

	pthread_mutex_lock(&p->lock);
	e = ent_find(p, conn);
	if (e == NULL || e->state != PE_BUSY) {
		log_err("connection %p is not checked out", conn);
		goto out;
	}
	if (!reusable) {
		pool_discard_locked(p, e, false);
		goto out;
	}
	e->state = PE_IDLE;
	e->stamp_ms = now_ms();
	e->alive_ms = e->stamp_ms;
	ent_unlink(p, e);
	ent_push_head(p, e);
	pool_back_locked(p); /* it came back whole: the server answered */
	pthread_cond_broadcast(&p->cond);
	pool_timer_started(p, p->cfg.idle_timeout_ms);
	if (p->ops.keepalive != NULL)
		pool_timer_started(p, p->cfg.keepalive_ms);
out:
	pthread_mutex_unlock(&p->lock);
}

bool
pool_server_lost(struct pool *p)
{
	bool lost;

	pthread_mutex_lock(&p->lock);
	lost = p->server_lost;
	pthread_mutex_unlock(&p->lock);
	return lost;
}

void
pool_adopt(struct pool *p, void *conn)
{
	struct pool_ent *e = calloc(1, sizeof(*e));

	pthread_mutex_lock(&p->lock);
	if (e == NULL || p->stopping || pool_count(p) >= p->max) {
		pthread_mutex_unlock(&p->lock);
		free(e);
		p->ops.destroy(p->ctx, conn, true);
		return;
	}
	e->conn = conn;
	e->state = PE_IDLE;
	e->stamp_ms = now_ms();
	e->alive_ms = e->stamp_ms;
	ent_push_head(p, e);
	p->nents++;
	p->ever_connected = true;
	pthread_cond_broadcast(&p->cond);
	pool_timer_started(p, p->cfg.idle_timeout_ms);
	pthread_mutex_unlock(&p->lock);
}

void
pool_park_owner(struct pool *p, void *conn, const void *owner)
{
	struct pool_ent *e;

	pthread_mutex_lock(&p->lock);
	e = ent_find(p, conn);
	if (e == NULL || e->state != PE_BUSY) {
		log_err("connection %p is not checked out", conn);
		goto out;
	}
	e->state = PE_PARKED;
	e->owner = owner;
	e->stamp_ms = now_ms();
	pthread_cond_broadcast(&p->cond); /* waiters may reclaim it */
	pool_timer_started(p, p->cfg.park_timeout_ms);
out:
	pthread_mutex_unlock(&p->lock);
}

bool
pool_unpark_owner(struct pool *p, void *conn, const void *owner)
{
	struct pool_ent *e;
	bool ok = false;

	pthread_mutex_lock(&p->lock);
	/* A reclaim of the owner's connection under way may still read the
	   owner's state (ops->reset): wait for it, so that the owner may
	   free or reuse that state once this returns.  reset is bounded by
	   the request timeout. */
	while ((e = ent_find(p, conn)) != NULL && e->state == PE_RECLAIMING &&
	    e->owner == owner)
		pthread_cond_wait(&p->cond, &p->lock);
	if (e != NULL && e->state == PE_PARKED && e->owner == owner) {
		e->state = PE_BUSY;
		e->owner = NULL;
		ok = true;
	}
	pthread_mutex_unlock(&p->lock);
	return ok;
}

void
pool_park(struct pool *p, void *conn)
{
	pool_park_owner(p, conn, NULL);
}

bool
pool_unpark(struct pool *p, void *conn)
{
	return pool_unpark_owner(p, conn, NULL);
}

unsigned
pool_max(struct pool *p)
{
	unsigned n;

	pthread_mutex_lock(&p->lock);
	n = p->max;
	pthread_mutex_unlock(&p->lock);
	return n;
}

unsigned
pool_live(struct pool *p)
{
	unsigned n;

	pthread_mutex_lock(&p->lock);
	n = pool_count(p);
	pthread_mutex_unlock(&p->lock);
	return n;
}

/* What the maintenance thread does to a connection whose timer is due. */
enum pool_chore {
	CHORE_CLOSE, /* idle for idle_timeout: close it */
	CHORE_RECLAIM, /* parked for park_timeout: take it back */
	CHORE_KEEPALIVE, /* idle for keepalive: ask the server something */
};

/*
 * With keepalive on, the last connection is never closed for idleness:
 * keeping one login alive is the point (the others still go).  Lock held.
 */
static bool
pool_keeps(const struct pool *p)
{
	return p->cfg.keepalive_ms > 0 && p->ops.keepalive != NULL &&
	    pool_count(p) <= 1;
}

/*
 * One due timer and its chore, or NULL; *next_ms is lowered to the
 * earliest deadline still pending.  Lock held.
 */
static struct pool_ent *
pool_due(const struct pool *p, uint64_t now, uint64_t *next_ms,
    enum pool_chore *chore)
{
	struct pool_ent *e;
	uint64_t due;
	bool ka = p->cfg.keepalive_ms > 0 && p->ops.keepalive != NULL;

	for (e = p->ents; e != NULL; e = e->next) {
		if (e->state == PE_IDLE && p->cfg.idle_timeout_ms > 0 &&
		    !pool_keeps(p)) {
			due = e->stamp_ms + (uint64_t)p->cfg.idle_timeout_ms;
			*chore = CHORE_CLOSE;
			if (ka &&
			    e->alive_ms + (uint64_t)p->cfg.keepalive_ms < due) {
				due =
				    e->alive_ms + (uint64_t)p->cfg.keepalive_ms;
				*chore = CHORE_KEEPALIVE;
			}
		} else if (e->state == PE_IDLE && ka) {
			due = e->alive_ms + (uint64_t)p->cfg.keepalive_ms;
			*chore = CHORE_KEEPALIVE;
		} else if (e->state == PE_PARKED &&
		    p->cfg.park_timeout_ms > 0) {
			due = e->stamp_ms + (uint64_t)p->cfg.park_timeout_ms;
			*chore = CHORE_RECLAIM;
		} else {
			continue;
		}
		if (due <= now)
			return e;
		if (due < *next_ms)
			*next_ms = due;
	}
	return NULL;
}

/*
 * Keepalive of an idle connection: it is PE_BUSY meanwhile (a checkout
 * passes it by), the lock is dropped around ops->keepalive.  One that
 * does not answer is closed: the next request opens a new one instead of
 * finding a dead link.  Lock held on entry and exit.
 */
static void
pool_keepalive_locked(struct pool *p, struct pool_ent *e)
{
	int rc;

	e->state = PE_BUSY;
	pthread_mutex_unlock(&p->lock);
	net_op_begin(POOL_KEEPALIVE_WAIT_MS, NULL);
	rc = p->ops.keepalive(p->ctx, e->conn);
	net_op_end();
	pthread_mutex_lock(&p->lock);
	if (rc < 0) {
		log_info("keepalive: an idle connection did not answer (%s); "
		         "closed",
		    strerror(-rc));
		pool_discard_locked(p, e, false);
		return;
	}
	e->state = PE_IDLE;
	e->alive_ms = now_ms();
	pthread_cond_broadcast(&p->cond);
}

static void *
pool_maint(void *arg)
{
	struct pool *p = arg;
	struct pool_ent *e;
	enum pool_chore chore = CHORE_CLOSE;
	uint64_t now, next;

	pthread_mutex_lock(&p->lock);
	while (!p->stopping) {
		now = now_ms();
		next = now + POOL_TICK_MS;
		e = pool_due(p, now, &next, &chore);
		if (e == NULL) {
			p->maint_wake_ms = next;
			pool_wait(&p->maint_cond, &p->lock, next);
			p->maint_wake_ms = 0;
			continue;
		}
		if (chore == CHORE_KEEPALIVE) {
			pool_keepalive_locked(p, e);
			continue;
		}
		if (chore == CHORE_CLOSE) {
			log_debug("closing connection idle for %d ms",
			    p->cfg.idle_timeout_ms);
			pool_discard_locked(p, e, true);
			continue;
		}
		log_debug("reclaiming connection parked for %d ms",
		    p->cfg.park_timeout_ms);
		if (pool_reclaim_locked(p, e) == 0) {
			/* Least preferred from now on: it expires first. */
			e->state = PE_IDLE;
			e->stamp_ms = now_ms();
			e->alive_ms = e->stamp_ms;
			ent_unlink(p, e);
			ent_push_tail(p, e);
			pthread_cond_broadcast(&p->cond);
		}
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

int
pool_new(const struct pool_config *cfg, const struct pool_conn_ops *ops,
    void *ctx, struct pool **out)
{
	pthread_condattr_t ca;
	struct pool *p;
	int rc, ncond = 0;
	bool ca_ok = false, lock_ok = false;

	*out = NULL;
	if (cfg == NULL || ops == NULL || cfg->max < 1 ||
	    ops->connect == NULL || ops->destroy == NULL)
		return -EINVAL;
	p = calloc(1, sizeof(*p));
	if (p == NULL)
		return -ENOMEM;
	p->ops = *ops;
	p->ctx = ctx;
	p->cfg = *cfg;
	p->max = cfg->max;

	rc = -pthread_condattr_init(&ca);
	if (rc != 0)
		goto out;
	ca_ok = true;
	rc = -pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	if (rc != 0)
		goto out;
	rc = -pthread_mutex_init(&p->lock, NULL);
	if (rc != 0)
		goto out;
	lock_ok = true;
	rc = -pthread_cond_init(&p->cond, &ca);
	if (rc != 0)
		goto out;
	ncond++;
	rc = -pthread_cond_init(&p->maint_cond, &ca);
	if (rc != 0)
		goto out;
	ncond++;
	rc = -pthread_cond_init(&p->quiet_cond, &ca);
	if (rc != 0)
		goto out;
	ncond++;
	rc = -pthread_create(&p->maint, NULL, pool_maint, p);
out:
	if (ca_ok)
		pthread_condattr_destroy(&ca);
	if (rc == 0) {
		*out = p;
		return 0;
	}
	if (ncond > 2)
		pthread_cond_destroy(&p->quiet_cond);
	if (ncond > 1)
		pthread_cond_destroy(&p->maint_cond);
	if (ncond > 0)
		pthread_cond_destroy(&p->cond);
	if (lock_ok)
		pthread_mutex_destroy(&p->lock);
	free(p);
	return rc;
}

void
pool_destroy(struct pool *p)
{
	struct pool_ent *e, *next;
	unsigned busy = 0;

	if (p == NULL)
		return;
	pthread_mutex_lock(&p->lock);
	p->stopping = true;
	pthread_cond_broadcast(&p->cond);
	pthread_cond_signal(&p->maint_cond);
	pthread_mutex_unlock(&p->lock);
	pthread_join(p->maint, NULL);

	pthread_mutex_lock(&p->lock);
	while (p->users > 0 || p->growing > 0)
		pthread_cond_wait(&p->quiet_cond, &p->lock);
	e = p->ents;
	p->ents = NULL;
	pthread_mutex_unlock(&p->lock);

	/* Nobody else can reach the pool now. */
	for (; e != NULL; e = next) {
		next = e->next;
		if (e->state == PE_IDLE)
			p->ops.destroy(p->ctx, e->conn, true);
		else if (e->state == PE_PARKED)
			p->ops.destroy(p->ctx, e->conn, false);
		else
			busy++;
		free(e);
	}
	if (busy > 0)
		log_err(
		    "%u connection(s) still checked out at pool_destroy", busy);
	pthread_cond_destroy(&p->quiet_cond);
	pthread_cond_destroy(&p->maint_cond);
	pthread_cond_destroy(&p->cond);
	pthread_mutex_destroy(&p->lock);
	free(p);
}
