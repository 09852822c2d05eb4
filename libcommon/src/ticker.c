/*
 * Tickers (strata/ticker.h): one thread, a mutex and a condition variable on CLOCK_MONOTONIC;
 * st_ticker_destroy sets stopping and signals the condition, so that a wait of minutes ends at
 * once.
 */
#include <errno.h>
#include <pthread.h>
#include <time.h>

#include "strata/ticker.h"

struct st_ticker {
	st_ticker_fn *fn;
	void *ctx;
	pthread_mutex_t lock; /* guards stopping */
	pthread_cond_t cond;  /* on CLOCK_MONOTONIC */
	bool stopping;
	pthread_t thread;
};

static void *
ticker_main(void *arg)
{
	struct st_ticker *t = arg;
	struct timespec until;

	pthread_mutex_lock(&t->lock);
	while (!t->stopping) {
		int wait_ms;

		pthread_mutex_unlock(&t->lock);
		wait_ms = t->fn(t->ctx);
		pthread_mutex_lock(&t->lock);
		if (wait_ms <= 0)
			continue;
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_sec += wait_ms / 1000;
		until.tv_nsec += (long)(wait_ms % 1000) * 1000000L;
		until.tv_sec += until.tv_nsec / 1000000000L;
		until.tv_nsec %= 1000000000L;
		while (!t->stopping &&
		       pthread_cond_timedwait(&t->cond, &t->lock, &until) != ETIMEDOUT)
			;
	}
	pthread_mutex_unlock(&t->lock);
	return NULL;
}

enum st_err
st_ticker_create(st_ticker_fn *fn, void *ctx, struct st_ticker **out)
{
	struct st_ticker *t = st_calloc(1, sizeof(*t));
	pthread_condattr_t attr;

	t->fn = fn;
	t->ctx = ctx;
	pthread_mutex_init(&t->lock, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&t->cond, &attr);
	pthread_condattr_destroy(&attr);
	*out = NULL;
	if (pthread_create(&t->thread, NULL, ticker_main, t) != 0) {
		pthread_cond_destroy(&t->cond);
		pthread_mutex_destroy(&t->lock);
		st_free(t);
		return ST_ERR_INTERNAL;
	}
	*out = t;
	return ST_OK;
}

void
st_ticker_destroy(struct st_ticker *t)
{
	if (t == NULL)
		return;
	pthread_mutex_lock(&t->lock);
	t->stopping = true;
	pthread_cond_signal(&t->cond);
	pthread_mutex_unlock(&t->lock);
	pthread_join(t->thread, NULL);
	pthread_cond_destroy(&t->cond);
	pthread_mutex_destroy(&t->lock);
	st_free(t);
}
