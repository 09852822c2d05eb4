/*
 * The checkout queue shared by the db, redis and httpc pools: a free connected slot first, no
 * wait with timeout 0, a bounded wait; once waiters starve, given slots go to the queue in order
 * and a newcomer cannot take one meanwhile; under churn in either mode no take is lost. Each
 * test fixes the mode with starve_us.
 */
#include <check.h>
#include <pthread.h>
#include <stdint.h>
#include <time.h>

#include "slot_pool.h"
#include "strata/core.h"

static bool
none_connected(void *ctx, int i)
{
	(void)ctx;
	(void)i;
	return false;
}

static bool
only_connected(void *ctx, int i)
{
	return i == *(int *)ctx;
}

static int
waiters(struct slot_pool *pool)
{
	int n;

	pthread_mutex_lock(&pool->mu);
	n = pool->waiters;
	pthread_mutex_unlock(&pool->mu);
	return n;
}

/* Polls until the pool has n takers queued (at most 5 s). */
static void
await_waiters(struct slot_pool *pool, int n)
{
	for (int i = 0; i < 5000 && waiters(pool) != n; i++) {
		struct timespec ts = { 0, 1000000 };

		nanosleep(&ts, NULL);
	}
	ck_assert_int_eq(waiters(pool), n);
}

START_TEST(prefers_a_connected_free_slot)
{
	struct slot_pool pool;
	int connected = 2, i = -1;

	slot_pool_init(&pool, 4);
	ck_assert_int_eq(slot_pool_take(&pool, 0, only_connected, &connected, &i), ST_OK);
	ck_assert_int_eq(i, 2);
	ck_assert_int_eq(slot_pool_take(&pool, 0, only_connected, &connected, &i), ST_OK);
	ck_assert_int_eq(i, 0); /* none connected left: the first free */
	ck_assert_int_eq(pool.busy, 2);
	slot_pool_give(&pool, 2);
	slot_pool_give(&pool, 0);
	ck_assert_int_eq(pool.busy, 0);
	slot_pool_cleanup(&pool);
}
END_TEST

START_TEST(full_pool_times_out)
{
	struct slot_pool pool;
	int a, b = 7;
	int64_t t0;

	slot_pool_init(&pool, 1);
	ck_assert_int_eq(slot_pool_take(&pool, 0, none_connected, NULL, &a), ST_OK);
	ck_assert_int_eq(slot_pool_take(&pool, 0, none_connected, NULL, &b), ST_ERR_TIMEOUT);
	ck_assert_int_eq(b, -1);
	t0 = st_now_mono_ms();
	ck_assert_int_eq(slot_pool_take(&pool, 60, none_connected, NULL, &b), ST_ERR_TIMEOUT);
	ck_assert_int_ge(st_now_mono_ms() - t0, 55);
	ck_assert_int_eq(pool.timeouts, 2);
	ck_assert_int_eq(waiters(&pool), 0);
	ck_assert_ptr_null(pool.head);
	slot_pool_give(&pool, a);
	ck_assert_int_eq(slot_pool_take(&pool, 0, none_connected, NULL, &b), ST_OK);
	slot_pool_give(&pool, b);
	slot_pool_cleanup(&pool);
}
END_TEST

/* A taker on its own thread: waits up to timeout_ms, notes the order it was served in, and
 * returns holding the slot, for the test to give back. */
struct taker {
	struct slot_pool *pool;
	int timeout_ms;
	pthread_mutex_t *mu;
	int *served; /* a counter shared by the takers */
	int order;   /* 1 for the first served, -1 when timed out */
	int slot;
};

static void *
take_thread(void *arg)
{
	struct taker *t = arg;

	if (slot_pool_take(t->pool, t->timeout_ms, none_connected, NULL, &t->slot) != ST_OK) {
		t->order = -1;
		return NULL;
	}
	pthread_mutex_lock(t->mu);
	t->order = ++*t->served;
	pthread_mutex_unlock(t->mu);
	return NULL;
}

START_TEST(first_come_first_served)
{
	struct slot_pool pool;
	pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
	struct taker t[3];
	pthread_t th[3];
	int served = 0, mine, late;

	slot_pool_init(&pool, 1);
	pool.starve_us = 0; /* every waiter starves at once */
	ck_assert_int_eq(slot_pool_take(&pool, 0, none_connected, NULL, &mine), ST_OK);
	for (int i = 0; i < 3; i++) {
		t[i] = (struct taker){
			.pool = &pool, .timeout_ms = 5000, .mu = &mu, .served = &served
		};
		ck_assert_int_eq(pthread_create(&th[i], NULL, take_thread, &t[i]), 0);
		await_waiters(&pool, i + 1); /* queued in the order 0, 1, 2 */
	}
	slot_pool_give(&pool, mine);
	/* Handed to taker 0 already: a newcomer finds it taken even before taker 0 runs. */
	ck_assert_int_eq(slot_pool_take(&pool, 0, none_connected, NULL, &late), ST_ERR_TIMEOUT);
	/* Each holds its slot until given back here, for the next in the queue. */
	for (int i = 0; i < 3; i++) {
		pthread_join(th[i], NULL);
		ck_assert_int_eq(t[i].order, i + 1);
		slot_pool_give(&pool, t[i].slot);
	}
	ck_assert_int_eq(pool.busy, 0);
	ck_assert_int_eq(waiters(&pool), 0);
	slot_pool_cleanup(&pool);
}
END_TEST

START_TEST(a_timed_out_waiter_leaves_the_queue)
{
	struct slot_pool pool;
	pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
	struct taker quick, patient, last;
	pthread_t tq, tp, tl;
	int served = 0, mine;

	slot_pool_init(&pool, 1);
	pool.starve_us = 0;
	ck_assert_int_eq(slot_pool_take(&pool, 0, none_connected, NULL, &mine), ST_OK);
	quick = (struct taker){ .pool = &pool, .timeout_ms = 40, .mu = &mu, .served = &served };
	patient = (struct taker){ .pool = &pool, .timeout_ms = 5000, .mu = &mu, .served = &served };
	last = patient;
	ck_assert_int_eq(pthread_create(&tq, NULL, take_thread, &quick), 0);
	await_waiters(&pool, 1);
	ck_assert_int_eq(pthread_create(&tp, NULL, take_thread, &patient), 0);
	await_waiters(&pool, 2);
	ck_assert_int_eq(pthread_create(&tl, NULL, take_thread, &last), 0);
	await_waiters(&pool, 3);
	pthread_join(tq, NULL); /* the head of the queue times out: the others keep their turn */
	ck_assert_int_eq(quick.order, -1);
	ck_assert_int_eq(waiters(&pool), 2);
	slot_pool_give(&pool, mine);
	pthread_join(tp, NULL);
	ck_assert_int_eq(patient.order, 1);
	ck_assert_int_eq(waiters(&pool), 1); /* last still waits: patient holds the slot */
	slot_pool_give(&pool, patient.slot);
	pthread_join(tl, NULL);
	ck_assert_int_eq(last.order, 2);
	slot_pool_give(&pool, last.slot);
	ck_assert_int_eq(pool.busy, 0);
	ck_assert_ptr_null(pool.head);
	ck_assert_ptr_null(pool.tail);
	ck_assert_int_eq(pool.timeouts, 1);
	slot_pool_cleanup(&pool);
}
END_TEST

/* Many threads, a small pool, both modes in turn: every take is served, nothing is lost. */
struct churn {
	struct slot_pool *pool;
	int rounds;
	int failures;
};

static void *
churn_thread(void *arg)
{
	struct churn *c = arg;

	for (int r = 0; r < c->rounds; r++) {
		int i;

		if (slot_pool_take(c->pool, 5000, none_connected, NULL, &i) != ST_OK) {
			c->failures++;
			continue;
		}
		ck_assert(c->pool->in_use[i]);
		slot_pool_give(c->pool, i);
	}
	return NULL;
}

START_TEST(many_takers_all_served)
{
	struct slot_pool pool;
	struct churn c[16];
	pthread_t th[16];

	slot_pool_init(&pool, 3);
	pool.starve_us = _i == 0 ? SLOT_POOL_STARVE_US : 0;
	for (int i = 0; i < 16; i++) {
		c[i] = (struct churn){ .pool = &pool, .rounds = 2000 };
		ck_assert_int_eq(pthread_create(&th[i], NULL, churn_thread, &c[i]), 0);
	}
	for (int i = 0; i < 16; i++) {
		pthread_join(th[i], NULL);
		ck_assert_int_eq(c[i].failures, 0);
	}
	ck_assert_int_eq(pool.busy, 0);
	ck_assert_int_eq(pool.waiters, 0);
	ck_assert_ptr_null(pool.head);
	for (int i = 0; i < 3; i++)
		ck_assert(!pool.in_use[i]);
	slot_pool_cleanup(&pool);
}
END_TEST

Suite *
slot_pool_suite(void)
{
	Suite *s = suite_create("slot_pool");
	TCase *tc = tcase_create("checkout");

	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, prefers_a_connected_free_slot);
	tcase_add_test(tc, full_pool_times_out);
	tcase_add_test(tc, first_come_first_served);
	tcase_add_test(tc, a_timed_out_waiter_leaves_the_queue);
	tcase_add_loop_test(tc, many_takers_all_served, 0, 2);
	suite_add_tcase(s, tc);
	return s;
}
