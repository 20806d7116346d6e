/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * wbq: writes done behind the writer (contract in include/wbq.h).
 *
 * One mutex guards the list, the byte count and the sticky error; the
 * thread takes the head item, drops the lock while it writes, and frees
 * the item afterwards, so that "queued" counts the item being written too.
 * Waiters use CLOCK_MONOTONIC condition variables with 100 ms slices: a
 * push or drain notices an interrupt within that.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "net.h"
#include "wbq.h"

#define WBQ_SLICE_MS 100

struct wbq_item {
	struct wbq_item *next;
	uint64_t off;
	size_t len;
	char data[];
};

struct wbq {
	pthread_mutex_t lock;
	pthread_cond_t more; /* to the thread: an item, or stop */
	pthread_cond_t less; /* to waiters: an item done */
	pthread_t thread;
	wbq_write_fn fn;
	void *arg;
	size_t max_bytes;
	int op_timeout_ms;
	int (*interrupted)(void);
	struct wbq_item *head, *tail;
	size_t queued; /* bytes in the list, the item being written too */
	/* items pushed, and items written or dropped: a wait is for the
	   items pushed before it, not for those a busy writer adds after */
	uint64_t pushed, ended;
	int err; /* sticky: the first failed write */
	bool stop;
};

static void
wbq_cond_init(pthread_cond_t *c)
{
	pthread_condattr_t ca;

	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(c, &ca);
	pthread_condattr_destroy(&ca);
}

/* Wait on c for at most one slice (lock held). */
static void
wbq_wait_slice(struct wbq *q, pthread_cond_t *c)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_nsec += WBQ_SLICE_MS * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_cond_timedwait(c, &q->lock, &ts);
}

/* Drop every queued item, unwritten (lock held, none being written). */
static void
wbq_drop_queued(struct wbq *q)
{
	struct wbq_item *it, *next;

	for (it = q->head; it != NULL; it = next) {
		next = it->next;
		q->queued -= it->len;
		q->ended++;
		free(it);
	}
	q->head = NULL;
	q->tail = NULL;
}

static void *
wbq_main(void *p)
{
	struct wbq *q = p;
	struct wbq_item *it;
	int rc;

	pthread_mutex_lock(&q->lock);
	for (;;) {
		while (q->head == NULL && !q->stop)
			pthread_cond_wait(&q->more, &q->lock);
		if (q->head == NULL)
			break;
		it = q->head;
		pthread_mutex_unlock(&q->lock);
		net_op_begin(q->op_timeout_ms, NULL);
		rc = q->fn(q->arg, it->data, it->len, it->off);
		net_op_end();
		pthread_mutex_lock(&q->lock);
		q->head = it->next;
		if (q->head == NULL)
			q->tail = NULL;
		q->queued -= it->len;
		q->ended++;
		free(it);
		if (rc < 0 && q->err == 0) {
			q->err = rc;
			wbq_drop_queued(q);
		}
		pthread_cond_broadcast(&q->less);
	}
	pthread_mutex_unlock(&q->lock);
	return NULL;
}

int
wbq_new(wbq_write_fn fn, void *arg, size_t max_bytes, int op_timeout_ms,
    int (*interrupted)(void), struct wbq **out)
{
	struct wbq *q;
	int rc;

	if (fn == NULL || max_bytes == 0)
		return -EINVAL;
	q = calloc(1, sizeof(*q));
	if (q == NULL)
		return -ENOMEM;
	pthread_mutex_init(&q->lock, NULL);
	wbq_cond_init(&q->more);
	wbq_cond_init(&q->less);
	q->fn = fn;
	q->arg = arg;
	q->max_bytes = max_bytes;
	q->op_timeout_ms = op_timeout_ms;
	q->interrupted = interrupted;
	rc = pthread_create(&q->thread, NULL, wbq_main, q);
	if (rc != 0) {
		pthread_cond_destroy(&q->less);
		pthread_cond_destroy(&q->more);
		pthread_mutex_destroy(&q->lock);
		free(q);
		return -rc;
	}
	*out = q;
	return 0;
}

static bool
wbq_interrupted(const struct wbq *q)
{
	return q->interrupted != NULL && q->interrupted();
}

int
wbq_push(struct wbq *q, const char *buf, size_t len, uint64_t off)
{
	struct wbq_item *it;
	int rc;

	if (len > q->max_bytes)
		return -EINVAL;
	it = malloc(sizeof(*it) + len);
	if (it == NULL)
		return -ENOMEM;
	memcpy(it->data, buf, len);
	it->off = off;
	it->len = len;
	it->next = NULL;
	pthread_mutex_lock(&q->lock);
	while (q->err == 0 && q->queued + len > q->max_bytes) {
		if (wbq_interrupted(q)) {
			pthread_mutex_unlock(&q->lock);
			free(it);
			return -EINTR;
		}
		wbq_wait_slice(q, &q->less);
	}
	rc = q->err;
	if (rc == 0) {
		if (q->tail != NULL)
			q->tail->next = it;
		else
			q->head = it;
		q->tail = it;
		q->queued += len;
		q->pushed++;
		it = NULL;
		pthread_cond_signal(&q->more);
	}
	pthread_mutex_unlock(&q->lock);
	free(it);
	return rc;
}

static int
wbq_wait_empty(struct wbq *q, bool interruptible)
{
	uint64_t target;
	int rc;

	pthread_mutex_lock(&q->lock);
	target = q->pushed;
	while (q->ended < target) {
		if (interruptible && wbq_interrupted(q)) {
			pthread_mutex_unlock(&q->lock);
			return -EINTR;
		}
		wbq_wait_slice(q, &q->less);
	}
	rc = q->err;
	pthread_mutex_unlock(&q->lock);
	return rc;
}

int
wbq_drain(struct wbq *q)
{
	return wbq_wait_empty(q, true);
}

int
wbq_settle(struct wbq *q)
{
	return wbq_wait_empty(q, false);
}

int
wbq_busy(struct wbq *q)
{
	int busy;

	pthread_mutex_lock(&q->lock);
	busy = q->head != NULL;
	pthread_mutex_unlock(&q->lock);
	return busy;
}

int
wbq_free(struct wbq *q)
{
	int rc;

	if (q == NULL)
		return 0;
	rc = wbq_settle(q);
	pthread_mutex_lock(&q->lock);
	q->stop = true;
	pthread_cond_signal(&q->more);
	pthread_mutex_unlock(&q->lock);
	pthread_join(q->thread, NULL);
	pthread_cond_destroy(&q->less);
	pthread_cond_destroy(&q->more);
	pthread_mutex_destroy(&q->lock);
	free(q);
	return rc;
}
