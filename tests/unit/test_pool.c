/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * pool tests with a fake connector: connections are small heap objects,
 * every op is counted, and each connection counts its concurrent users so
 * that two threads holding the same one at once is caught.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include <cmocka.h>

#include "log.h"
#include "pool.h"

struct fake {
	pthread_mutex_t lock;
	int live; /* protected by lock */
	int peak; /* protected by lock */
	int eusers_at; /* -EUSERS once live reaches it; 0: never */
	int connect_err; /* returned by connect when set */
	atomic_int connects, destroys, graceful, checks, resets, keepalives;
	atomic_int resets_done; /* resets that returned */
	atomic_bool fail_check, fail_reset, fail_keepalive;
	atomic_int reset_delay_ms;
	atomic_int connect_delay_ms;
	/* A conn used by two at once, or reset while its owner had it. */
	atomic_int violations;
	atomic_int next_id;
};

struct fake_conn {
	int id;
	atomic_int users;
};

static void
sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) != 0)
		;
}

static uint64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int
fake_connect(void *ctx, void **conn)
{
	struct fake *f = ctx;
	struct fake_conn *fc;
	int rc = 0;

	if (atomic_load(&f->connect_delay_ms) > 0)
		sleep_ms(atomic_load(&f->connect_delay_ms));
	pthread_mutex_lock(&f->lock);
	if (f->connect_err != 0)
		rc = f->connect_err;
	else if (f->eusers_at > 0 && f->live >= f->eusers_at)
		rc = -EUSERS;
	if (rc == 0) {
		f->live++;
		if (f->live > f->peak)
			f->peak = f->live;
	}
	pthread_mutex_unlock(&f->lock);
	if (rc != 0)
		return rc;
	fc = calloc(1, sizeof(*fc));
	if (fc == NULL)
		return -ENOMEM;
	fc->id = atomic_fetch_add(&f->next_id, 1);
	atomic_fetch_add(&f->connects, 1);
	*conn = fc;
	return 0;
}

static int
fake_check(void *ctx, void *conn)
{
	struct fake *f = ctx;
	struct fake_conn *fc = conn;

	(void)fc;
	atomic_fetch_add(&f->checks, 1);
	return atomic_load(&f->fail_check) ? -EPIPE : 0;
}

static int
fake_reset(void *ctx, void *conn)
{
	struct fake *f = ctx;
	struct fake_conn *fc = conn;
	int delay = atomic_load(&f->reset_delay_ms);

	atomic_fetch_add(&f->resets, 1);
	if (atomic_load(&fc->users) != 0)
		atomic_fetch_add(&f->violations, 1);
	if (delay > 0)
		sleep_ms(delay);
	atomic_fetch_add(&f->resets_done, 1);
	return atomic_load(&f->fail_reset) ? -EIO : 0;
}

static int
fake_keepalive(void *ctx, void *conn)
{
	struct fake *f = ctx;
	struct fake_conn *fc = conn;

	atomic_fetch_add(&f->keepalives, 1);
	if (atomic_load(&fc->users) != 0)
		atomic_fetch_add(&f->violations, 1);
	return atomic_load(&f->fail_keepalive) ? -ETIMEDOUT : 0;
}

static void
fake_destroy(void *ctx, void *conn, bool graceful)
{
	struct fake *f = ctx;

	pthread_mutex_lock(&f->lock);
	f->live--;
	pthread_mutex_unlock(&f->lock);
	atomic_fetch_add(&f->destroys, 1);
	if (graceful)
		atomic_fetch_add(&f->graceful, 1);
	free(conn);
}

static const struct pool_conn_ops fake_ops = {
	.connect = fake_connect,
	.check = fake_check,
	.reset = fake_reset,
	.destroy = fake_destroy,
	.keepalive = fake_keepalive,
};

static int
fake_live(struct fake *f)
{
	int n;

	pthread_mutex_lock(&f->lock);
	n = f->live;
	pthread_mutex_unlock(&f->lock);
	return n;
}

/* Start using / stop using a connection; counts double use. */
static void
conn_acquire(struct fake *f, void *conn)
{
	struct fake_conn *fc = conn;

	if (atomic_fetch_add(&fc->users, 1) != 0)
		atomic_fetch_add(&f->violations, 1);
}

static void
conn_release(void *conn)
{
	struct fake_conn *fc = conn;

	atomic_fetch_sub(&fc->users, 1);
}

struct fixture {
	struct fake fake;
	struct pool *pool;
};

static struct fixture *
fixture_new_ka(
    unsigned max, int idle_ms, int park_ms, int wait_ms, int keepalive_ms)
{
	struct pool_config cfg = {
		.max = max,
		.idle_timeout_ms = idle_ms,
		.park_timeout_ms = park_ms,
		.wait_timeout_ms = wait_ms,
		.keepalive_ms = keepalive_ms,
	};
	struct fixture *fx = calloc(1, sizeof(*fx));

	assert_non_null(fx);
	pthread_mutex_init(&fx->fake.lock, NULL);
	assert_int_equal(pool_new(&cfg, &fake_ops, &fx->fake, &fx->pool), 0);
	return fx;
}

static struct fixture *
fixture_new(unsigned max, int idle_ms, int park_ms, int wait_ms)
{
	return fixture_new_ka(max, idle_ms, park_ms, wait_ms, 0);
}

/* Destroy the pool and check that every connection was closed. */
static void
fixture_free(struct fixture *fx)
{
	pool_destroy(fx->pool);
	assert_int_equal(fake_live(&fx->fake), 0);
	assert_int_equal(
	    atomic_load(&fx->fake.connects), atomic_load(&fx->fake.destroys));
	assert_int_equal(atomic_load(&fx->fake.violations), 0);
	pthread_mutex_destroy(&fx->fake.lock);
	free(fx);
}

static void
test_new_invalid(void **state)
{
	struct pool_config cfg = { .max = 0 };
	struct pool_conn_ops ops = fake_ops;
	struct pool *p = (struct pool *)&cfg;

	(void)state;
	assert_int_equal(pool_new(&cfg, &fake_ops, NULL, &p), -EINVAL);
	assert_null(p);
	cfg.max = 1;
	ops.connect = NULL;
	assert_int_equal(pool_new(&cfg, &ops, NULL, &p), -EINVAL);
	pool_destroy(NULL);
}

static void
test_reuse(void **state)
{
	struct fixture *fx = fixture_new(2, 0, 0, 1000);
	void *a, *b;

	(void)state;
	assert_int_equal(pool_checkout(fx->pool, &a), 0);
	assert_int_equal(atomic_load(&fx->fake.checks), 0); /* fresh */
	pool_checkin(fx->pool, a, true);
	assert_int_equal(pool_checkout(fx->pool, &b), 0);
	assert_ptr_equal(a, b);
	assert_int_equal(atomic_load(&fx->fake.connects), 1);
	assert_int_equal(atomic_load(&fx->fake.checks), 1);
	assert_int_equal(pool_live(fx->pool), 1);
	pool_checkin(fx->pool, b, true);
	fixture_free(fx);
}

/*
 * Work ahead of the processes (pool_background) never logs in itself and
 * never takes the last idle connection: it gets -EAGAIN, and the pool
 * opens more in the background, idle for the next checkout.
 */
static void
test_background_grows(void **state)
{
	struct fixture *fx = fixture_new(4, 0, 0, 1000);
	void *a, *b, *c;
	int i, peak;

	(void)state;
	pool_background(true);
	assert_int_equal(pool_checkout(fx->pool, &a), -EAGAIN);
	/* one more opened meanwhile, idle; it is the last idle one */
	for (i = 0; i < 200 && atomic_load(&fx->fake.connects) < 1; i++)
		sleep_ms(5);
	sleep_ms(200); /* (and in the pool) */
	assert_int_equal(pool_live(fx->pool), 1);
	assert_int_equal(pool_checkout(fx->pool, &a), -EAGAIN);
	for (i = 0; i < 200 && atomic_load(&fx->fake.connects) < 2; i++)
		sleep_ms(5);
	sleep_ms(200);
	assert_int_equal(atomic_load(&fx->fake.connects), 2);
	/* two idle: one may go ahead, the other stays for a process */
	assert_int_equal(pool_checkout(fx->pool, &a), 0);
	assert_int_equal(pool_checkout(fx->pool, &b), -EAGAIN);
	pool_background(false);
	assert_int_equal(pool_checkout(fx->pool, &b), 0);
	/* never past max: 4 in all, whatever was grown */
	for (i = 0; i < 200 && pool_live(fx->pool) < 4; i++)
		sleep_ms(5);
	assert_true(pool_live(fx->pool) <= 4);
	assert_int_equal(pool_checkout(fx->pool, &c), 0);
	pthread_mutex_lock(&fx->fake.lock); /* (a login may be under way) */
	peak = fx->fake.peak;
	pthread_mutex_unlock(&fx->fake.lock);
	assert_true(peak <= 4);
	pool_checkin(fx->pool, a, true);
	pool_checkin(fx->pool, b, true);
	pool_checkin(fx->pool, c, true);
	fixture_free(fx);
}

/* A connection opened ahead that fails says nothing to the processes
 * until they connect themselves; pool_destroy waits for one under way. */
static void
test_background_grow_fails(void **state)
{
	struct fixture *fx = fixture_new(2, 0, 0, 1000);
	void *a;
	int i;

	(void)state;
	fx->fake.connect_err = -ECONNREFUSED;
	pool_background(true);
	assert_int_equal(pool_checkout(fx->pool, &a), -EAGAIN);
	pool_background(false);
	for (i = 0; i < 20; i++)
		sleep_ms(5);
	assert_int_equal(pool_live(fx->pool), 0);
	assert_int_equal(pool_checkout(fx->pool, &a), -ECONNREFUSED);
	fx->fake.connect_err = 0;
	pool_background(true);
	(void)pool_checkout(fx->pool, &a); /* a grow under way at destroy */
	pool_background(false);
	fixture_free(fx);
}

struct hedge_arg {
	struct pool *pool;
	void *conn;
	int rc;
	uint64_t ms;
};

static void *
hedge_checkout(void *arg)
{
	struct hedge_arg *h = arg;
	uint64_t t0 = mono_ms();

	h->rc = pool_checkout(h->pool, &h->conn);
	h->ms = mono_ms() - t0;
	return NULL;
}

/*
 * A checkout that finds none idle while others are checked out opens one
 * in the background and takes whichever is free first: here the one
 * checked in after 50 ms, not the login that takes 400 ms.
 */
static void
test_hedged_checkout(void **state)
{
	struct fixture *fx = fixture_new(2, 0, 0, 5000);
	struct hedge_arg h = { 0 };
	pthread_t t;
	void *a;
	int i;

	(void)state;
	assert_int_equal(pool_checkout(fx->pool, &a), 0);
	atomic_store(&fx->fake.connect_delay_ms, 400);
	h.pool = fx->pool;
	assert_int_equal(pthread_create(&t, NULL, hedge_checkout, &h), 0);
	sleep_ms(50);
	pool_checkin(fx->pool, a, true);
	pthread_join(t, NULL);
	assert_int_equal(h.rc, 0);
	assert_ptr_equal(h.conn, a);
	assert_true(h.ms < 300);
	/* the other arrives, idle, for the next checkout */
	for (i = 0; i < 200 && atomic_load(&fx->fake.connects) < 2; i++)
		sleep_ms(5);
	sleep_ms(200);
	assert_int_equal(pool_live(fx->pool), 2);
	pool_checkin(fx->pool, h.conn, true);
	fixture_free(fx);
}

static void
test_lifo(void **state)
{
	struct fixture *fx = fixture_new(3, 0, 0, 1000);
	void *a, *b, *c;

	(void)state;
	assert_int_equal(pool_checkout(fx->pool, &a), 0);
	assert_int_equal(pool_checkout(fx->pool, &b), 0);
	pool_checkin(fx->pool, a, true);
	pool_checkin(fx->pool, b, true);
	assert_int_equal(pool_checkout(fx->pool, &c), 0);
	assert_ptr_equal(c, b);
	pool_checkin(fx->pool, c, true);
	assert_int_equal(pool_checkout(fx->pool, &c), 0);
	assert_ptr_equal(c, b);
	pool_checkin(fx->pool, c, true);
	fixture_free(fx);
}

static void
test_destroy_closes_all(void **state)
{
	struct fixture *fx = fixture_new(3, 0, 0, 1000);
	struct fake *f = &fx->fake;
	void *a, *b, *c;

	(void)state;
	assert_int_equal(pool_checkout(fx->pool, &a), 0);
	assert_int_equal(pool_checkout(fx->pool, &b), 0);
	assert_int_equal(pool_checkout(fx->pool, &c), 0);
	pool_checkin(fx->pool, a, true);
	pool_checkin(fx->pool, b, true);
	pool_park(fx->pool, c);
	pool_destroy(fx->pool);
	assert_int_equal(atomic_load(&f->destroys), 3);
	assert_int_equal(atomic_load(&f->graceful), 2); /* parked: no QUIT */
	assert_int_equal(fake_live(f), 0);
	pthread_mutex_destroy(&f->lock);
	free(fx);
}

/* --- concurrency ------------------------------------------------------- */

struct worker {
	struct fixture *fx;
	atomic_int *out, *peak_out, *errors;
	int iterations;
	unsigned seed;
	bool park;
};

static void
note_peak(atomic_int *peak, int v)
{
	int cur = atomic_load(peak);

	while (v > cur && !atomic_compare_exchange_weak(peak, &cur, v))
		;
}

static void *
worker_run(void *arg)
{
	struct worker *w = arg;
	struct pool *p = w->fx->pool;
	struct fake *f = &w->fx->fake;
	void *conn;
	int i, owner;

	for (i = 0; i < w->iterations; i++) {
		if (pool_checkout(p, &conn) != 0) {
			atomic_fetch_add(w->errors, 1);
			continue;
		}
		conn_acquire(f, conn);
		note_peak(w->peak_out, atomic_fetch_add(w->out, 1) + 1);
		if (rand_r(&w->seed) % 4 == 0)
			sleep_ms(1);
		atomic_fetch_sub(w->out, 1);
		conn_release(conn);
		if (!w->park || rand_r(&w->seed) % 2 == 0) {
			pool_checkin(p, conn, rand_r(&w->seed) % 16 != 0);
			continue;
		}
		/* A reader between two reads: park, maybe lose it. */
		pool_park_owner(p, conn, &owner);
		if (rand_r(&w->seed) % 2 == 0)
			sleep_ms(1);
		if (!pool_unpark_owner(p, conn, &owner))
			continue; /* reclaimed: not ours any more */
		conn_acquire(f, conn);
		conn_release(conn);
		pool_checkin(p, conn, true);
	}
	return NULL;
}

static void
run_workers(struct fixture *fx, int nthreads, int iterations, bool park,
    int *peak_out, int *errors)
{
	pthread_t th[16];
	struct worker w[16];
	atomic_int out = 0, peak = 0, errs = 0;
	int i;

	assert_true(nthreads <= 16);
	for (i = 0; i < nthreads; i++) {
		w[i] = (struct worker){
			.fx = fx,
			.out = &out,
			.peak_out = &peak,
			.errors = &errs,
			.iterations = iterations,
			.seed = (unsigned)i * 7919u + 1,
			.park = park,
		};
		assert_int_equal(
		    pthread_create(&th[i], NULL, worker_run, &w[i]), 0);
	}
	for (i = 0; i < nthreads; i++)
		pthread_join(th[i], NULL);
	*peak_out = atomic_load(&peak);
	*errors = atomic_load(&errs);
}

static void
test_concurrent_bounded(void **state)
{
	struct fixture *fx = fixture_new(3, 0, 0, 5000);
	int peak, errors;

	(void)state;
	run_workers(fx, 8, 300, false, &peak, &errors);
	assert_int_equal(errors, 0);
	assert_true(peak <= 3);
	assert_true(peak >= 2); /* 8 threads did overlap */
	assert_true(fx->fake.peak <= 3);
	assert_true(pool_live(fx->pool) <= 3);
	assert_int_equal(atomic_load(&fx->fake.violations), 0);
	fixture_free(fx);
}

static void
test_concurrent_park(void **state)
{
	/* Parks are reclaimed both on demand and by a 2 ms timer. */
	struct fixture *fx = fixture_new(3, 0, 2, 5000);
	int peak, errors;

	(void)state;
	run_workers(fx, 8, 300, true, &peak, &errors);
	assert_int_equal(errors, 0);
	assert_true(peak <= 3);
	assert_true(fx->fake.peak <= 3);
	assert_true(atomic_load(&fx->fake.resets) > 0);
	assert_int_equal(atomic_load(&fx->fake.violations), 0);
	fixture_free(fx);
}

/* --- limits ------------------------------------------------------------- */

struct bg_checkout {
	struct pool *pool;
	pthread_t th;
	void *conn;
	int rc;
	uint64_t took_ms;
};

static void *
bg_checkout_run(void *arg)
{
	struct bg_checkout *bg = arg;
	uint64_t t0 = mono_ms();

	bg->rc = pool_checkout(bg->pool, &bg->conn);
	bg->took_ms = mono_ms() - t0;
	return NULL;
}

static void
bg_start(struct bg_checkout *bg, struct pool *p)
{
	bg->pool = p;
	bg->conn = NULL;
	bg->rc = 1;
	assert_int_equal(pthread_create(&bg->th, NULL, bg_checkout_run, bg), 0);
}

static void
test_wait_timeout(void **state)
{
	struct fixture *fx = fixture_new(1, 0, 0, 150);
	uint64_t t0;
	void *a, *b;

	(void)state;
	assert_int_equal(pool_checkout(fx->pool, &a), 0);
	t0 = mono_ms();
	assert_int_equal(pool_checkout(fx->pool, &b), -ETIMEDOUT);
	assert_true(mono_ms() - t0 >= 140);
	assert_true(mono_ms() - t0 < 2000);
	pool_checkin(fx->pool, a, true);
	fixture_free(fx);
}

static void
test_waiter_gets_checkin(void **state)
{
	struct fixture *fx = fixture_new(1, 0, 0, 5000);
	struct bg_checkout bg;
	void *a;

	(void)state;
	assert_int_equal(pool_checkout(fx->pool, &a), 0);
	bg_start(&bg, fx->pool);
	sleep_ms(50);
	pool_checkin(fx->pool, a, true);
	pthread_join(bg.th, NULL);
	assert_int_equal(bg.rc, 0);
	assert_ptr_equal(bg.conn, a);
	assert_int_equal(atomic_load(&fx->fake.connects), 1);
	pool_checkin(fx->pool, bg.conn, true);
	fixture_free(fx);
}

static void
test_checkin_unreusable(void **state)
{
	struct fixture *fx = fixture_new(1, 0, 0, 5000);
	struct bg_checkout bg;
	void *a;

	(void)state;
	assert_int_equal(pool_checkout(fx->pool, &a), 0);
	bg_start(&bg, fx->pool);
	sleep_ms(50);
	pool_checkin(fx->pool, a, false);
	assert_int_equal(atomic_load(&fx->fake.destroys), 1);
	assert_int_equal(atomic_load(&fx->fake.graceful), 0);
	pthread_join(bg.th, NULL);
	assert_int_equal(bg.rc, 0); /* woken, connected anew */
	assert_int_equal(atomic_load(&fx->fake.connects), 2);
	pool_checkin(fx->pool, bg.conn, true);
	fixture_free(fx);
}

static void
test_check_failure(void **state)
{
	struct fixture *fx = fixture_new(2, 0, 0, 1000);
	void *a, *b;

	(void)state;
	assert_int_equal(pool_checkout(fx->pool, &a), 0);
	pool_checkin(fx->pool, a, true);
	atomic_store(&fx->fake.fail_check, true);
	assert_int_equal(pool_checkout(fx->pool, &b), 0);
	assert_int_equal(atomic_load(&fx->fake.checks), 1);
	assert_int_equal(atomic_load(&fx->fake.destroys), 1);
	assert_int_equal(atomic_load(&fx->fake.graceful), 0);
	assert_int_equal(atomic_load(&fx->fake.connects), 2);
	assert_int_equal(pool_live(fx->pool), 1);
	pool_checkin(fx->pool, b, true);
	fixture_free(fx);
}

static void
test_connect_error(void **state)
{
	struct fixture *fx = fixture_new(2, 0, 0, 1000);
	void *a;

	(void)state;
	fx->fake.connect_err = -ECONNREFUSED;
	assert_int_equal(pool_checkout(fx->pool, &a), -ECONNREFUSED);
	assert_null(a);
	assert_int_equal(pool_live(fx->pool), 0);
	assert_int_equal(pool_max(fx->pool), 2);
	fx->fake.connect_err = 0;
	assert_int_equal(pool_checkout(fx->pool, &a), 0);
	pool_checkin(fx->pool, a, true);
	fixture_free(fx);
}

/*
 * A request that timed out makes the server count as lost: new connects
 * fail at once, and one login goes in the background (pool_probe); once
 * it gets in, the server is back and its connection waits idle.
 */
static void
test_timed_out_probes(void **state)
{
	struct fixture *fx = fixture_new(4, 0, 0, 1000);
	uint64_t t0;
	void *a, *b;

	(void)state;
	assert_int_equal(pool_checkout(fx->pool, &a), 0);
	atomic_store(&fx->fake.connect_delay_ms, 150);
	pool_checkin(fx->pool, a, false);
	pool_timed_out(fx->pool, -ETIMEDOUT);
	assert_true(pool_server_lost(fx->pool));
	/* The probe's login is under way: a checkout fails at once. */
	t0 = mono_ms();
	assert_int_equal(pool_checkout(fx->pool, &b), -ETIMEDOUT);
	assert_true(mono_ms() - t0 < 100);
	/* Asked again meanwhile: one more login follows, never two at once. */
	pool_probe(fx->pool);
	pool_probe(fx->pool);
	t0 = mono_ms();
	while (atomic_load(&fx->fake.connects) < 3 && mono_ms() - t0 < 3000)
		sleep_ms(10);
	sleep_ms(50); /* filed idle after its connect returned */
	assert_false(pool_server_lost(fx->pool));
	assert_int_equal(pool_live(fx->pool), 2);
	assert_int_equal(atomic_load(&fx->fake.connects), 3);
	pthread_mutex_lock(&fx->fake.lock);
	assert_int_equal(fx->fake.peak, 2);
	pthread_mutex_unlock(&fx->fake.lock);
	atomic_store(&fx->fake.connect_delay_ms, 0);
	assert_int_equal(pool_checkout(fx->pool, &b), 0); /* an idle one */
	assert_int_equal(atomic_load(&fx->fake.connects), 3);
	pool_checkin(fx->pool, b, true);
	fixture_free(fx);
}

static void
test_eusers_nothing_alive(void **state)
{
	struct fixture *fx = fixture_new(4, 0, 0, 1000);
	void *a;

	(void)state;
	fx->fake.connect_err = -EUSERS;
	assert_int_equal(pool_checkout(fx->pool, &a), -EUSERS);
	assert_int_equal(pool_max(fx->pool), 4);
	assert_int_equal(pool_live(fx->pool), 0);
	fixture_free(fx);
}

static void
test_eusers_shrinks(void **state)
{
	struct fixture *fx = fixture_new(4, 0, 0, 200);
	struct bg_checkout bg;
	void *a, *b, *c;

	(void)state;
	fx->fake.eusers_at = 2;
	assert_int_equal(pool_checkout(fx->pool, &a), 0);
	assert_int_equal(pool_checkout(fx->pool, &b), 0);
	/* Third: the server says no, the pool shrinks and waits. */
	assert_int_equal(pool_checkout(fx->pool, &c), -ETIMEDOUT);
	assert_int_equal(pool_max(fx->pool), 2);
	assert_int_equal(pool_live(fx->pool), 2);
	assert_int_equal(atomic_load(&fx->fake.connects), 2);

	/* Now a waiter gets a checked-in one without trying to connect. */
	bg_start(&bg, fx->pool);
	sleep_ms(50);
	pool_checkin(fx->pool, a, true);
	pthread_join(bg.th, NULL);
	assert_int_equal(bg.rc, 0);
	assert_ptr_equal(bg.conn, a);
	assert_int_equal(atomic_load(&fx->fake.connects), 2);
	pool_checkin(fx->pool, bg.conn, true);
	pool_checkin(fx->pool, b, true);
	fixture_free(fx);
}

static void
test_eusers_shrinks_while_waiting(void **state)
{
	/* The limit is hit by a thread that then waits for a checkin. */
	struct fixture *fx = fixture_new(3, 0, 0, 5000);
	struct bg_checkout bg;
	void *a;

	(void)state;
	fx->fake.eusers_at = 1;
	assert_int_equal(pool_checkout(fx->pool, &a), 0);
	bg_start(&bg, fx->pool);
	sleep_ms(100);
	assert_int_equal(pool_max(fx->pool), 1);
	assert_int_equal(bg.rc, 1); /* still waiting */
	pool_checkin(fx->pool, a, true);
	pthread_join(bg.th, NULL);
	assert_int_equal(bg.rc, 0);
	assert_ptr_equal(bg.conn, a);
	pool_checkin(fx->pool, bg.conn, true);
	fixture_free(fx);
}

/* --- parking ------------------------------------------------------------ */

static void
test_park_unpark(void **state)
{
	struct fixture *fx = fixture_new(2, 0, 0, 1000);
	void *a;

	(void)state;
	assert_int_equal(pool_checkout(fx->pool, &a), 0);
	pool_park(fx->pool, a);
	assert_true(pool_unpark(fx->pool, a));
	assert_false(pool_unpark(fx->pool, a)); /* not parked any more */
	pool_park(fx->pool, a);
	assert_true(pool_unpark(fx->pool, a));
	assert_int_equal(atomic_load(&fx->fake.resets), 0);
	pool_checkin(fx->pool, a, true);
	fixture_free(fx);
}

static void
test_reclaim_on_demand(void **state)
{
	struct fixture *fx = fixture_new(1, 0, 0, 1000);
	int owner_a, owner_b;
	void *a, *b;

	(void)state;
	assert_int_equal(pool_checkout(fx->pool, &a), 0);
	pool_park_owner(fx->pool, a, &owner_a);
	/* No idle one, no room: the parked one is taken back and reset. */
	assert_int_equal(pool_checkout(fx->pool, &b), 0);
	assert_ptr_equal(a, b);
	assert_int_equal(atomic_load(&fx->fake.resets), 1);
	assert_int_equal(atomic_load(&fx->fake.connects), 1);
	/* The new holder parks it too before the first owner comes back. */
	pool_park_owner(fx->pool, b, &owner_b);
	assert_false(pool_unpark_owner(fx->pool, a, &owner_a));
	assert_true(pool_unpark_owner(fx->pool, b, &owner_b));
	pool_checkin(fx->pool, b, true);
	fixture_free(fx);
}

static void
test_try_checkout(void **state)
{
	struct fixture *fx = fixture_new(3, 0, 0, 1000);
	int owner;
	void *a, *b, *c, *d;

	(void)state;
	/* max 3, one to spare: a new one while 3 and then 2 are free */
	assert_int_equal(pool_try_checkout(fx->pool, 1, &a), 0);
	assert_int_equal(pool_try_checkout(fx->pool, 1, &b), 0);
	assert_int_equal(pool_try_checkout(fx->pool, 1, &c), -EAGAIN);
	/* an idle one counts as free */
	pool_checkin(fx->pool, b, true);
	assert_int_equal(pool_try_checkout(fx->pool, 1, &c), 0);
	assert_ptr_equal(c, b);
	/* nothing to spare left: never waits, never reclaims a parked one */
	pool_park_owner(fx->pool, a, &owner);
	assert_int_equal(pool_try_checkout(fx->pool, 0, &b), 0);
	assert_int_equal(pool_try_checkout(fx->pool, 0, &d), -EAGAIN);
	assert_null(d);
	assert_int_equal(atomic_load(&fx->fake.resets), 0);
	assert_true(pool_unpark_owner(fx->pool, a, &owner));
	pool_checkin(fx->pool, a, true);
	pool_checkin(fx->pool, b, true);
	pool_checkin(fx->pool, c, true);
	fixture_free(fx);
}

static void
test_reclaim_prefers_idle(void **state)
{
	struct fixture *fx = fixture_new(2, 0, 0, 1000);
	void *a, *b, *c;

	(void)state;
	assert_int_equal(pool_checkout(fx->pool, &a), 0);
	assert_int_equal(pool_checkout(fx->pool, &b), 0);
	pool_park(fx->pool, a);
	pool_checkin(fx->pool, b, true);
	assert_int_equal(pool_checkout(fx->pool, &c), 0);
	assert_ptr_equal(c, b);
	assert_true(pool_unpark(fx->pool, a));
	assert_int_equal(atomic_load(&fx->fake.resets), 0);
	pool_checkin(fx->pool, a, true);
	pool_checkin(fx->pool, c, true);
	fixture_free(fx);
}

static void
test_reclaim_reset_fails(void **state)
{
	struct fixture *fx = fixture_new(1, 0, 0, 1000);
	void *a, *b;

	(void)state;
	assert_int_equal(pool_checkout(fx->pool, &a), 0);
	pool_park(fx->pool, a);
	atomic_store(&fx->fake.fail_reset, true);
	assert_int_equal(pool_checkout(fx->pool, &b), 0);
	assert_int_equal(atomic_load(&fx->fake.resets), 1);
	assert_int_equal(atomic_load(&fx->fake.destroys), 1);
	assert_int_equal(atomic_load(&fx->fake.graceful), 0);
	assert_int_equal(atomic_load(&fx->fake.connects), 2);
	assert_false(pool_unpark(fx->pool, a)); /* a is gone */
	pool_checkin(fx->pool, b, true);
	fixture_free(fx);
}

static void
test_unpark_during_reclaim(void **state)
{
	struct fixture *fx = fixture_new(1, 0, 0, 5000);
	struct bg_checkout bg;
	void *a;

	(void)state;
	assert_int_equal(pool_checkout(fx->pool, &a), 0);
	pool_park(fx->pool, a);
	atomic_store(&fx->fake.reset_delay_ms, 200);
	bg_start(&bg, fx->pool);
	sleep_ms(50);
	assert_int_equal(atomic_load(&fx->fake.resets), 1); /* in reset */
	assert_int_equal(atomic_load(&fx->fake.resets_done), 0);
	/* The reset may read what the owner parked with: unpark waits for it
	   to end, so the owner may free that state when unpark returns. */
	assert_false(pool_unpark(fx->pool, a));
	assert_int_equal(atomic_load(&fx->fake.resets_done), 1);
	pthread_join(bg.th, NULL);
	assert_int_equal(bg.rc, 0);
	assert_ptr_equal(bg.conn, a);
	pool_checkin(fx->pool, bg.conn, true);
	fixture_free(fx);
}

static void
test_reclaim_by_timer(void **state)
{
	struct fixture *fx = fixture_new(2, 0, 100, 1000);
	void *a, *b;

	(void)state;
	assert_int_equal(pool_checkout(fx->pool, &a), 0);
	pool_park(fx->pool, a);
	sleep_ms(50);
	assert_int_equal(atomic_load(&fx->fake.resets), 0);
	sleep_ms(400);
	assert_int_equal(atomic_load(&fx->fake.resets), 1);
	assert_false(pool_unpark(fx->pool, a));
	/* It became idle: the next checkout reuses it. */
	assert_int_equal(pool_checkout(fx->pool, &b), 0);
	assert_ptr_equal(a, b);
	assert_int_equal(atomic_load(&fx->fake.connects), 1);
	pool_checkin(fx->pool, b, true);
	fixture_free(fx);
}

static void
test_reclaim_by_timer_reset_fails(void **state)
{
	struct fixture *fx = fixture_new(2, 0, 50, 1000);
	void *a;

	(void)state;
	atomic_store(&fx->fake.fail_reset, true);
	assert_int_equal(pool_checkout(fx->pool, &a), 0);
	pool_park(fx->pool, a);
	sleep_ms(400);
	assert_int_equal(atomic_load(&fx->fake.resets), 1);
	assert_int_equal(atomic_load(&fx->fake.destroys), 1);
	assert_int_equal(pool_live(fx->pool), 0);
	assert_false(pool_unpark(fx->pool, a));
	fixture_free(fx);
}

/* --- timers and shutdown ----------------------------------------------- */

static void
test_idle_expiry(void **state)
{
	struct fixture *fx = fixture_new(3, 300, 0, 1000);
	void *a, *b;

	(void)state;
	assert_int_equal(pool_checkout(fx->pool, &a), 0);
	assert_int_equal(pool_checkout(fx->pool, &b), 0);
	pool_checkin(fx->pool, a, true);
	sleep_ms(200);
	pool_checkin(fx->pool, b, true);
	sleep_ms(180); /* a is past 300 ms, b is not */
	assert_int_equal(pool_live(fx->pool), 1);
	sleep_ms(400);
	assert_int_equal(pool_live(fx->pool), 0);
	assert_int_equal(atomic_load(&fx->fake.destroys), 2);
	assert_int_equal(atomic_load(&fx->fake.graceful), 2);
	/* And it reconnects on demand. */
	assert_int_equal(pool_checkout(fx->pool, &a), 0);
	assert_int_equal(atomic_load(&fx->fake.connects), 3);
	pool_checkin(fx->pool, a, true);
	fixture_free(fx);
}

/*
 * keepalive: idle connections are kept alive; the others still close at
 * idle_timeout, the last one stays; a connection in use is never touched.
 */
static void
test_keepalive_keeps_last(void **state)
{
	struct fixture *fx = fixture_new_ka(3, 400, 0, 1000, 150);
	void *a, *b, *c;
	int n;

	(void)state;
	assert_int_equal(pool_checkout(fx->pool, &a), 0);
	assert_int_equal(pool_checkout(fx->pool, &b), 0);
	pool_checkin(fx->pool, a, true);
	pool_checkin(fx->pool, b, true);
	sleep_ms(1200); /* one closes at 400 ms, the last one stays */
	assert_int_equal(pool_live(fx->pool), 1);
	assert_int_equal(atomic_load(&fx->fake.destroys), 1);
	assert_int_equal(atomic_load(&fx->fake.graceful), 1);
	n = atomic_load(&fx->fake.keepalives);
	assert_in_range(n, 4, 16);
	/*
	 * Just after a keepalive (they come every 150 ms): a checkout while
	 * one runs would find no idle connection and open one (a slow
	 * machine under ThreadSanitizer hit that window).
	 */
	while (atomic_load(&fx->fake.keepalives) == n)
		sleep_ms(2);
	sleep_ms(40);
	n = atomic_load(&fx->fake.keepalives);
	/* the kept one is handed out: no new login; in use, it is left
	   alone (a keepalive on it would count a violation) */
	assert_int_equal(pool_checkout(fx->pool, &c), 0);
	conn_acquire(&fx->fake, c);
	assert_int_equal(atomic_load(&fx->fake.connects), 2);
	sleep_ms(500);
	conn_release(c);
	pool_checkin(fx->pool, c, true);
	sleep_ms(400);
	assert_true(atomic_load(&fx->fake.keepalives) > n);
	assert_int_equal(pool_live(fx->pool), 1);
	fixture_free(fx);
}

/* A connection whose keepalive fails is closed; the next checkout
   opens a new one. */
static void
test_keepalive_failure_closes(void **state)
{
	struct fixture *fx = fixture_new_ka(2, 60000, 0, 1000, 100);
	void *a;

	(void)state;
	assert_int_equal(pool_checkout(fx->pool, &a), 0);
	atomic_store(&fx->fake.fail_keepalive, true);
	pool_checkin(fx->pool, a, true);
	sleep_ms(700);
	assert_int_equal(pool_live(fx->pool), 0);
	assert_int_equal(atomic_load(&fx->fake.keepalives), 1);
	assert_int_equal(atomic_load(&fx->fake.graceful), 0);
	atomic_store(&fx->fake.fail_keepalive, false);
	assert_int_equal(pool_checkout(fx->pool, &a), 0);
	assert_int_equal(atomic_load(&fx->fake.connects), 2);
	pool_checkin(fx->pool, a, true);
	fixture_free(fx);
}

/* Without keepalive_ms, keepalive is never called. */
static void
test_keepalive_off(void **state)
{
	struct fixture *fx = fixture_new(2, 300, 0, 1000);
	void *a;

	(void)state;
	assert_int_equal(pool_checkout(fx->pool, &a), 0);
	pool_checkin(fx->pool, a, true);
	sleep_ms(900);
	assert_int_equal(atomic_load(&fx->fake.keepalives), 0);
	assert_int_equal(pool_live(fx->pool), 0);
	fixture_free(fx);
}

static void *
destroy_run(void *arg)
{
	pool_destroy(arg);
	return NULL;
}

static void
test_destroy_wakes_waiters(void **state)
{
	struct fixture *fx = fixture_new(1, 0, 0, 10000);
	struct bg_checkout bg;
	pthread_t th;
	void *a;

	(void)state;
	assert_int_equal(pool_checkout(fx->pool, &a), 0);
	bg_start(&bg, fx->pool);
	sleep_ms(50);
	assert_int_equal(pthread_create(&th, NULL, destroy_run, fx->pool), 0);
	pthread_join(bg.th, NULL);
	assert_int_equal(bg.rc, -ESHUTDOWN);
	assert_true(bg.took_ms < 5000);
	pthread_join(th, NULL);
	/* a was still checked out: forgotten by the pool, ours to close. */
	assert_int_equal(atomic_load(&fx->fake.destroys), 0);
	fake_destroy(&fx->fake, a, false);
	assert_int_equal(fake_live(&fx->fake), 0);
	pthread_mutex_destroy(&fx->fake.lock);
	free(fx);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_new_invalid),
		cmocka_unit_test(test_reuse),
		cmocka_unit_test(test_lifo),
		cmocka_unit_test(test_destroy_closes_all),
		cmocka_unit_test(test_concurrent_bounded),
		cmocka_unit_test(test_concurrent_park),
		cmocka_unit_test(test_wait_timeout),
		cmocka_unit_test(test_waiter_gets_checkin),
		cmocka_unit_test(test_checkin_unreusable),
		cmocka_unit_test(test_check_failure),
		cmocka_unit_test(test_connect_error),
		cmocka_unit_test(test_timed_out_probes),
		cmocka_unit_test(test_eusers_nothing_alive),
		cmocka_unit_test(test_eusers_shrinks),
		cmocka_unit_test(test_eusers_shrinks_while_waiting),
		cmocka_unit_test(test_park_unpark),
		cmocka_unit_test(test_keepalive_keeps_last),
		cmocka_unit_test(test_keepalive_failure_closes),
		cmocka_unit_test(test_keepalive_off),
		cmocka_unit_test(test_reclaim_on_demand),
		cmocka_unit_test(test_try_checkout),
		cmocka_unit_test(test_reclaim_prefers_idle),
		cmocka_unit_test(test_reclaim_reset_fails),
		cmocka_unit_test(test_unpark_during_reclaim),
		cmocka_unit_test(test_reclaim_by_timer),
		cmocka_unit_test(test_reclaim_by_timer_reset_fails),
		cmocka_unit_test(test_idle_expiry),
		cmocka_unit_test(test_destroy_wakes_waiters),
		cmocka_unit_test(test_background_grows),
		cmocka_unit_test(test_background_grow_fails),
		cmocka_unit_test(test_hedged_checkout),
	};

	log_init(LOG_LVL_ERR, false);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
