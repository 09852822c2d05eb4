/*
 * The checkout half that the PostgreSQL (db.c), Redis (redis.c) and libcurl (httpc.c) pools share:
 * a fixed number of slots, each free or checked out by one thread, handed out under one mutex.
 * Takers that find none free queue up; once the oldest has waited SLOT_POOL_STARVE_US, slots given
 * back go to the queue in order, so that no checkout waits much longer than its turn (slot_pool.c).
 * What a slot holds (a libpq connection, a hiredis context) stays the owner's business, in its own
 * array indexed like the slots; the pool only asks, through a callback, whether a free slot is
 * connected, so that an open connection is reused before a closed one is opened. Private to
 * libcommon.
 */
#ifndef STRATA_SLOT_POOL_H
#define STRATA_SLOT_POOL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "strata/core.h"

/* Whether free slot `index` holds an open connection. Called with mu held: must not block. */
typedef bool slot_pool_connected_fn(void *ctx, int index);

/* How long the oldest waiter may be overtaken by newcomers before slots go to it alone. */
#define SLOT_POOL_STARVE_US 1000

struct slot_waiter;

/*
 * Lives inside its owner, made with slot_pool_init and ended with slot_pool_cleanup. The owner
 * may guard its own counters with mu as well; the functions below take mu themselves, so never
 * call them with it held.
 */
struct slot_pool {
	pthread_mutex_t mu;
	int size;
	int64_t starve_us; /* SLOT_POOL_STARVE_US; a test may change it before use */
	/* Under mu: */
	bool *in_use;      /* checked out; only the taker touches that slot's contents meanwhile */
	int busy;          /* slots checked out */
	int waiters;       /* takers queued for a slot */
	uint64_t timeouts; /* takes that found no slot free in time */
	struct slot_waiter *head, *tail; /* the queue, oldest first */
};

/* Sets up size (>= 1) free slots. */
void slot_pool_init(struct slot_pool *pool, int size);

/* Frees what slot_pool_init set up. The slots should all have been given back. */
void slot_pool_cleanup(struct slot_pool *pool);

/*
 * Checks out a free slot into *index, preferring one for which connected(ctx, i) is true, unless
 * the oldest waiter starves. Else queues up to timeout_ms (0: no wait), on the monotonic clock.
 * ST_OK, or ST_ERR_TIMEOUT (counted in timeouts, *index -1) when none came in time.
 */
enum st_err slot_pool_take(struct slot_pool *pool, int timeout_ms,
			   slot_pool_connected_fn *connected, void *ctx, int *index);

/* Gives back a slot that slot_pool_take handed out: to the oldest waiter if it starves, else to
 * the pool, waking the oldest waiter not yet woken. */
void slot_pool_give(struct slot_pool *pool, int index);

/* The monotonic time ms milliseconds from now, for pthread_cond_timedwait on a condition
 * variable made with CLOCK_MONOTONIC (the HTTP client's own pool uses it too). */
void slot_pool_deadline(struct timespec *ts, int ms);

#endif
