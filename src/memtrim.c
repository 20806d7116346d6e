/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * memtrim: malloc's free memory given back periodically.  Contract in
 * memtrim.h.  Lock order: t->lock only.
 */
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

#include "memtrim.h"

struct memtrim {
	pthread_mutex_t lock;
	pthread_cond_t cond; /* on CLOCK_MONOTONIC */
	bool stop;
	pthread_t thread;
};

static void *
memtrim_fn(void *arg)
{
	struct memtrim *t = arg;
	struct timespec ts;

	pthread_mutex_lock(&t->lock);
	while (!t->stop) {
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_sec += MEMTRIM_PERIOD_MS / 1000;
		ts.tv_nsec += (long)(MEMTRIM_PERIOD_MS % 1000) * 1000000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		if (pthread_cond_timedwait(&t->cond, &t->lock, &ts) !=
		        ETIMEDOUT ||
		    t->stop)
			continue;
		pthread_mutex_unlock(&t->lock);
#ifdef __GLIBC__
		(void)malloc_trim(0);
#endif
		pthread_mutex_lock(&t->lock);
	}
	pthread_mutex_unlock(&t->lock);
	return NULL;
}

struct memtrim *
memtrim_start(void)
{
	struct memtrim *t = calloc(1, sizeof(*t));
	pthread_condattr_t ca;

	if (t == NULL)
		return NULL;
	pthread_mutex_init(&t->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&t->cond, &ca);
	pthread_condattr_destroy(&ca);
	if (pthread_create(&t->thread, NULL, memtrim_fn, t) != 0) {
		pthread_cond_destroy(&t->cond);
		pthread_mutex_destroy(&t->lock);
		free(t);
		return NULL;
	}
	return t;
}

void
memtrim_stop(struct memtrim *t)
{
	if (t == NULL)
		return;
	pthread_mutex_lock(&t->lock);
	t->stop = true;
	pthread_cond_signal(&t->cond);
	pthread_mutex_unlock(&t->lock);
	pthread_join(t->thread, NULL);
	pthread_cond_destroy(&t->cond);
	pthread_mutex_destroy(&t->lock);
	free(t);
}
