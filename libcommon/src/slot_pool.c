/*
 * A fixed set of slots checked out under one mutex (see slot_pool.h), as the db and redis pools
 * use it. Waits are bounded by a deadline on the monotonic clock, so that a change of the wall
 * clock neither cuts a checkout short nor stretches it.
 */
#include "slot_pool.h"

#include <errno.h>
#include <time.h>

/* The monotonic time ms milliseconds from now, for pthread_cond_timedwait. */
static void
deadline_after(struct timespec *ts, int ms)
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
	pthread_condattr_t attr;

	pthread_mutex_init(&pool->mu, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&pool->cv, &attr);
	pthread_condattr_destroy(&attr);
	pool->size = size;
	pool->in_use = st_calloc((size_t)size, sizeof(*pool->in_use));
	pool->busy = 0;
	pool->waiters = 0;
	pool->timeouts = 0;
}

void
slot_pool_cleanup(struct slot_pool *pool)
{
	pthread_cond_destroy(&pool->cv);
	pthread_mutex_destroy(&pool->mu);
	st_free(pool->in_use);
	pool->in_use = NULL;
}

enum st_err
slot_pool_take(struct slot_pool *pool, int timeout_ms, slot_pool_connected_fn *connected, void *ctx,
	       int *index)
{
	struct timespec deadline;
	enum st_err rc = ST_OK;
	int pick = -1, wait_rc;

	deadline_after(&deadline, timeout_ms);
	pthread_mutex_lock(&pool->mu);
	for (;;) {
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
		if (pick >= 0)
			break;
		pool->waiters++;
		wait_rc = pthread_cond_timedwait(&pool->cv, &pool->mu, &deadline);
		pool->waiters--;
		if (wait_rc == ETIMEDOUT) {
			/* One last look: a give may have raced with the timeout. */
			for (int i = 0; i < pool->size && pick < 0; i++)
				if (!pool->in_use[i])
					pick = i;
			if (pick < 0) {
				pool->timeouts++;
				rc = ST_ERR_TIMEOUT;
			}
			break;
		}
	}
	if (pick >= 0) {
		pool->in_use[pick] = true;
		pool->busy++;
	}
	pthread_mutex_unlock(&pool->mu);
	*index = pick;
	return rc;
}

void
slot_pool_give(struct slot_pool *pool, int index)
{
	bool wake;

	pthread_mutex_lock(&pool->mu);
	pool->in_use[index] = false;
	pool->busy--;
	wake = pool->waiters > 0;
	pthread_mutex_unlock(&pool->mu);
	/* Signalled outside the lock, and only when someone waits: at the gateway's rates the
	 * wake-ups of an idle condition variable were most of the process's futex calls. */
	if (wake)
		pthread_cond_signal(&pool->cv);
}
