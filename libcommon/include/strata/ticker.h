/*
 * Tickers: a background thread that does one job now and again until it is told to stop, and
 * stops at once even in the middle of a long wait (a service's loops, the JWKS refresher, the
 * revocation reader).
 * The wait is on the monotonic clock, so a change of the wall clock moves no tick.
 */
#ifndef STRATA_TICKER_H
#define STRATA_TICKER_H

#include "strata/core.h"

struct st_ticker;

/* One tick: does the job, and returns how many milliseconds to wait before the next (0 or
 * less: the next at once). Runs on the ticker's thread. */
typedef int st_ticker_fn(void *ctx);

/*
 * Starts a thread that calls fn(ctx) at once, then again after each wait fn asks for, until
 * st_ticker_destroy. ctx is borrowed: it must outlive the ticker. ST_ERR_INTERNAL when the
 * thread cannot start (*out NULL then; nothing is logged here).
 */
enum st_err st_ticker_create(st_ticker_fn *fn, void *ctx, struct st_ticker **out);

/* Wakes the ticker from its wait, lets a tick in progress finish, joins the thread and frees
 * the ticker; fn is not called again. Accepts NULL. */
void st_ticker_destroy(struct st_ticker *t);

#endif
