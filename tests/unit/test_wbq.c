/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * wbq: writes behind the writer.  Order kept, errors sticky and never
 * lost, the queue bounded, waits interruptible, the item's deadline set
 * on the queue's thread.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "net.h"
#include "wbq.h"

#define LOG_MAX 256

/* The write function's record: offsets in order, a gate to hold it. */
struct sink {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	uint64_t offs[LOG_MAX];
	size_t lens[LOG_MAX];
	char first[LOG_MAX];
	int n;
	bool hold; /* writes wait while set */
	int fail_at; /* the write of this index fails (-1: none) */
	int op_timeout_seen;
	int active, max_active;
	int delay_ms; /* each write takes this long */
};

static void
sink_init(struct sink *s)
{
	memset(s, 0, sizeof(*s));
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->cond, NULL);
	s->fail_at = -1;
}

static void
sink_fini(struct sink *s)
{
	pthread_cond_destroy(&s->cond);
	pthread_mutex_destroy(&s->lock);
}

static void
sink_release(struct sink *s)
{
	pthread_mutex_lock(&s->lock);
	s->hold = false;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
}

static int
sink_write(void *arg, const char *buf, size_t len, uint64_t off)
{
	struct sink *s = arg;
	int rc = 0;

	pthread_mutex_lock(&s->lock);
	if (++s->active > s->max_active)
		s->max_active = s->active;
	while (s->hold)
		pthread_cond_wait(&s->cond, &s->lock);
	s->op_timeout_seen = net_op_timeout();
	if (s->n < LOG_MAX) {
		s->offs[s->n] = off;
		s->lens[s->n] = len;
		s->first[s->n] = buf[0];
	}
	if (s->delay_ms > 0) {
		struct timespec ts = { 0, s->delay_ms * 1000000L };

		pthread_mutex_unlock(&s->lock);
		nanosleep(&ts, NULL);
		pthread_mutex_lock(&s->lock);
	}
	if (s->n == s->fail_at)
		rc = -ENOSPC;
	s->n++;
	s->active--;
	pthread_mutex_unlock(&s->lock);
	return rc;
}

static int
sink_count(struct sink *s)
{
	int n;

	pthread_mutex_lock(&s->lock);
	n = s->n;
	pthread_mutex_unlock(&s->lock);
	return n;
}

static atomic_int interrupt_flag;

static int
interrupted(void)
{
	return atomic_load(&interrupt_flag);
}

static int64_t
ms_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)(t.tv_sec - t0->tv_sec) * 1000 +
	    (t.tv_nsec - t0->tv_nsec) / 1000000;
}

/* 100 writes come out in order, each a copy of what was pushed. */
static void
test_order_and_copy(void **state)
{
	struct sink s;
	struct wbq *q;
	char buf[100];
	int i;

	(void)state;
	sink_init(&s);
	assert_int_equal(wbq_new(sink_write, &s, 1000, 0, NULL, &q), 0);
	for (i = 0; i < 100; i++) {
		memset(buf, 'a' + i % 26, sizeof(buf));
		assert_int_equal(wbq_push(q, buf, sizeof(buf), 100u * i), 0);
		memset(
		    buf, '#', sizeof(buf)); /* the caller reuses its buffer */
	}
	assert_int_equal(wbq_drain(q), 0);
	assert_int_equal(sink_count(&s), 100);
	for (i = 0; i < 100; i++) {
		assert_int_equal(s.offs[i], 100u * i);
		assert_int_equal(s.lens[i], 100);
		assert_int_equal(s.first[i], 'a' + i % 26);
	}
	assert_int_equal(s.max_active, 1);
	assert_int_equal(wbq_free(q), 0);
	sink_fini(&s);
}

/* A failed write is reported by every later call; the rest is dropped. */
static void
test_sticky_error(void **state)
{
	struct sink s;
	struct wbq *q;
	char buf[10] = { 0 };
	int i, rc = 0;

	(void)state;
	sink_init(&s);
	s.fail_at = 2;
	s.hold = true;
	assert_int_equal(wbq_new(sink_write, &s, 1000, 0, NULL, &q), 0);
	for (i = 0; i < 6; i++)
		assert_int_equal(wbq_push(q, buf, sizeof(buf), 10u * i), 0);
	sink_release(&s);
	assert_int_equal(wbq_drain(q), -ENOSPC);
	/* items 3..5 were dropped, unwritten */
	assert_int_equal(sink_count(&s), 3);
	for (i = 0; i < 3 && rc == 0; i++)
		rc = wbq_push(q, buf, sizeof(buf), 1000);
	assert_int_equal(rc, -ENOSPC);
	assert_int_equal(wbq_settle(q), -ENOSPC);
	assert_int_equal(sink_count(&s), 3);
	assert_int_equal(wbq_free(q), -ENOSPC);
	sink_fini(&s);
}

struct pusher {
	struct wbq *q;
	int rc;
	atomic_int done;
};

static void *
push_thread(void *arg)
{
	struct pusher *p = arg;
	char buf[600] = { 0 };

	p->rc = wbq_push(p->q, buf, sizeof(buf), 0);
	atomic_store(&p->done, 1);
	return NULL;
}

/* More than max_bytes queued: the push waits until the thread catches up. */
static void
test_bounded(void **state)
{
	struct sink s;
	struct pusher p = { 0 };
	pthread_t t;
	char buf[600] = { 0 }, big[1001] = { 0 };
	struct timespec ts = { 0, 50 * 1000000L };

	(void)state;
	sink_init(&s);
	s.hold = true;
	assert_int_equal(wbq_new(sink_write, &s, 1000, 0, NULL, &p.q), 0);
	assert_int_equal(wbq_push(p.q, buf, sizeof(buf), 0), 0);
	assert_int_equal(wbq_push(p.q, big, sizeof(big), 0), -EINVAL);
	pthread_create(&t, NULL, push_thread, &p);
	nanosleep(&ts, NULL);
	assert_int_equal(atomic_load(&p.done), 0); /* 600 + 600 > 1000 */
	assert_true(wbq_busy(p.q));
	sink_release(&s);
	pthread_join(t, NULL);
	assert_int_equal(p.rc, 0);
	assert_int_equal(wbq_drain(p.q), 0);
	assert_false(wbq_busy(p.q));
	assert_int_equal(sink_count(&s), 2);
	assert_int_equal(wbq_free(p.q), 0);
	sink_fini(&s);
}

/* A push or drain waiting on a stuck write gives up on an interrupt
   within about a slice; settle does not, and free writes the rest. */
static void
test_interrupt(void **state)
{
	struct sink s;
	struct wbq *q;
	char buf[600] = { 0 };
	struct timespec t0;
	int64_t ms;

	(void)state;
	sink_init(&s);
	s.hold = true;
	assert_int_equal(wbq_new(sink_write, &s, 1000, 0, interrupted, &q), 0);
	assert_int_equal(wbq_push(q, buf, sizeof(buf), 0), 0);
	atomic_store(&interrupt_flag, 1);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(wbq_push(q, buf, sizeof(buf), 600), -EINTR);
	assert_int_equal(wbq_drain(q), -EINTR);
	ms = ms_since(&t0);
	assert_true(ms < 1000);
	atomic_store(&interrupt_flag, 0);
	sink_release(&s);
	assert_int_equal(wbq_free(q), 0);
	assert_int_equal(sink_count(&s), 1); /* the interrupted push: none */
	sink_fini(&s);
}

/* The queue's thread writes under the deadline it was given. */
static void
test_deadline(void **state)
{
	struct sink s;
	struct wbq *q;
	char buf[8] = { 0 };

	(void)state;
	sink_init(&s);
	assert_int_equal(wbq_new(sink_write, &s, 100, 7000, NULL, &q), 0);
	assert_int_equal(wbq_push(q, buf, sizeof(buf), 0), 0);
	assert_int_equal(wbq_drain(q), 0);
	assert_int_equal(s.op_timeout_seen, 7000);
	assert_int_equal(wbq_free(q), 0);
	sink_fini(&s);
	/* and the caller's own: net_op_timeout reads it back */
	net_op_begin(1234, NULL);
	assert_int_equal(net_op_timeout(), 1234);
	net_op_end();
	assert_int_equal(net_op_timeout(), 0);
}

/* free writes what is still queued before it returns. */
static void
test_free_settles(void **state)
{
	struct sink s;
	struct wbq *q;
	char buf[10] = { 0 };
	int i;

	(void)state;
	sink_init(&s);
	assert_int_equal(wbq_new(sink_write, &s, 1000, 0, NULL, &q), 0);
	for (i = 0; i < 50; i++)
		assert_int_equal(wbq_push(q, buf, sizeof(buf), 0), 0);
	assert_int_equal(wbq_free(q), 0);
	assert_int_equal(sink_count(&s), 50);
	assert_int_equal(wbq_free(NULL), 0);
	sink_fini(&s);
}

struct flood {
	struct wbq *q;
	atomic_bool stop;
	int pushed;
};

static void *
flood_main(void *arg)
{
	struct flood *p = arg;
	char buf[10] = { 'l' };

	while (!atomic_load(&p->stop) && p->pushed < 200)
		if (wbq_push(p->q, buf, sizeof(buf), 0) == 0)
			p->pushed++;
	return NULL;
}

/* A settle waits for what was queued before it, not for what a writer
   that never stops adds meanwhile (another handle's open would wait for
   the whole copy). */
static void
test_settle_not_starved(void **state)
{
	struct sink s;
	struct flood p = { 0 };
	pthread_t th;
	char buf[10] = { 'e' };
	int i, n;

	(void)state;
	sink_init(&s);
	s.hold = true;
	s.delay_ms = 2; /* slower than the writer: never empty while it goes */
	assert_int_equal(wbq_new(sink_write, &s, 40, 0, NULL, &p.q), 0);
	for (i = 0; i < 3; i++)
		assert_int_equal(wbq_push(p.q, buf, sizeof(buf), 0), 0);
	assert_int_equal(pthread_create(&th, NULL, flood_main, &p), 0);
	sink_release(&s);
	assert_int_equal(wbq_settle(p.q), 0);
	n = sink_count(&s);
	atomic_store(&p.stop, true);
	pthread_join(th, NULL);
	assert_true(n >= 3);
	assert_true(n < 200);
	assert_int_equal(wbq_free(p.q), 0);
	assert_int_equal(sink_count(&s), 3 + p.pushed);
	sink_fini(&s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_order_and_copy),
		cmocka_unit_test(test_sticky_error),
		cmocka_unit_test(test_bounded),
		cmocka_unit_test(test_interrupt),
		cmocka_unit_test(test_deadline),
		cmocka_unit_test(test_free_settles),
		cmocka_unit_test(test_settle_not_starved),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
