/*
 * A fixed set of slots checked out under one mutex (see slot_pool.h), as the db, redis and httpc
 * pools use it. A taker that finds no slot free waits in a queue, on a condition variable of its
 * own on its stack. Two modes, as Go's sync.Mutex has them:
 *   - normal: a give frees its slot and wakes the oldest waiter not yet woken; a taker that is
 *     running already may take the slot first;
 *   - starving: once the oldest waiter has waited starve_us (SLOT_POOL_STARVE_US), gives hand
 *     their slot straight to it and newcomers queue behind, so a taker waits about its turn.
 * Serving waiters in turn bounds the tail latency under contention at the price of a slightly
 * higher median and saturated throughput (more threads sleep and wake): docs/performance.md.
 * Waits are bounded by a deadline on the monotonic clock, so that a change of the wall clock
 * neither cuts a checkout short nor stretches it.
 */
#include "slot_pool.h"

#include <errno.h>
#include <time.h>

struct slot_waiter {
	pthread_cond_t cv;
	int64_t since_us; /* queued at, on the monotonic clock */
	int slot;         /* -1 until a give hands one over (then already checked out for it) */
	bool woken;       /* signalled and not yet back in the wait */
	struct slot_waiter *next;
};

void
slot_pool_deadline(struct timespec *ts, int ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

void
slot_pool_init(struct slot_pool *pool, int size)
{
	pthread_mutex_init(&pool->mu, NULL);
	pool->size = size;
	pool->starve_us = SLOT_POOL_STARVE_US;
	pool->in_use = st_calloc((size_t)size, sizeof(*pool->in_use));
	pool->busy = 0;
	pool->waiters = 0;
	pool->timeouts = 0;
	pool->head = pool->tail = NULL;
}

void
slot_pool_cleanup(struct slot_pool *pool)
{
	pthread_mutex_destroy(&pool->mu);
	st_free(pool->in_use);
	pool->in_use = NULL;
}

/* Whether the oldest waiter has waited long enough for gives to go to it alone. Under mu. */
static bool
starving(const struct slot_pool *pool)
{
	return pool->head != NULL && st_now_mono_us() - pool->head->since_us >= pool->starve_us;
}

/* Checks out a free slot, a connected one first; -1 when all are checked out. Under mu. */
static int
take_free(struct slot_pool *pool, slot_pool_connected_fn *connected, void *ctx)
{
	int pick = -1;

	for (int i = 0; i < pool->size; i++) {
		if (pool->in_use[i])
			continue;
		if (connected(ctx, i)) {
			pick = i;
			break;
		}
		if (pick < 0)
			pick = i;
	}
	if (pick >= 0) {
		pool->in_use[pick] = true;
		pool->busy++;
	}
	return pick;
}

/* Wakes the oldest waiter not woken yet, if any. Under mu. */
static void
wake_next(struct slot_pool *pool)
{
	for (struct slot_waiter *w = pool->head; w != NULL; w = w->next) {
		if (!w->woken) {
			w->woken = true;
			pthread_cond_signal(&w->cv);
			return;
		}
	}
}

/* Takes w out of the queue. Under mu. */
static void
unqueue(struct slot_pool *pool, struct slot_waiter *w)
{
	struct slot_waiter **at = &pool->head, *prev = NULL;

	while (*at != NULL && *at != w) {
		prev = *at;
		at = &(*at)->next;
	}
	if (*at == NULL)
		return;
	*at = w->next;
	if (pool->tail == w)
		pool->tail = prev;
	pool->waiters--;
}

/* Queues up until a slot is handed over or found free, or the deadline passes; the slot or -1.
 * Under mu. */
static int
wait_turn(struct slot_pool *pool, int timeout_ms, slot_pool_connected_fn *connected, void *ctx)
{
	struct slot_waiter w = { .since_us = st_now_mono_us(), .slot = -1 };
	struct timespec deadline;
	pthread_condattr_t attr;
	int rc = 0;

	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&w.cv, &attr);
	pthread_condattr_destroy(&attr);
	slot_pool_deadline(&deadline, timeout_ms);
	if (pool->tail != NULL)
		pool->tail->next = &w;
	else
		pool->head = &w;
	pool->tail = &w;
	pool->waiters++;
	for (;;) {
		rc = pthread_cond_timedwait(&w.cv, &pool->mu, &deadline);
		if (w.slot >= 0)
			break; /* handed over, and out of the queue already */
		w.woken = false;
		/* Normal mode: the give freed its slot, which a newcomer may have taken first. */
		w.slot = take_free(pool, connected, ctx);
		if (w.slot >= 0 || rc == ETIMEDOUT) {
			unqueue(pool, &w);
			break;
		}
	}
	/* A slot still free (two gives woke waiters that one newcomer outran): wake the next. */
	for (int i = 0; i < pool->size; i++)
		if (!pool->in_use[i]) {
			wake_next(pool);
			break;
		}
	pthread_cond_destroy(&w.cv);
	return w.slot;
}

enum st_err
slot_pool_take(struct slot_pool *pool, int timeout_ms, slot_pool_connected_fn *connected, void *ctx,
	       int *index)
{
	enum st_err rc = ST_OK;
	int pick = -1;

	pthread_mutex_lock(&pool->mu);
	/* While the oldest waiter starves, free slots are its: queue behind it. */
	if (!starving(pool))
		pick = take_free(pool, connected, ctx);
	if (pick < 0 && timeout_ms > 0)
		pick = wait_turn(pool, timeout_ms, connected, ctx);
	if (pick < 0) {
		pool->timeouts++;
		rc = ST_ERR_TIMEOUT;
	}
	pthread_mutex_unlock(&pool->mu);
	*index = pick;
	return rc;
}

void
slot_pool_give(struct slot_pool *pool, int index)
{
	struct slot_waiter *w;

	pthread_mutex_lock(&pool->mu);
	w = pool->head;
	if (w != NULL && starving(pool)) {
		/* Handed over still checked out: busy and in_use stay as they are. */
		unqueue(pool, w);
		w->slot = index;
		/* Under mu: once it is released, the waiter may return and its cv be gone. */
		pthread_cond_signal(&w->cv);
	} else {
		pool->in_use[index] = false;
		pool->busy--;
		wake_next(pool);
	}
	pthread_mutex_unlock(&pool->mu);
}
