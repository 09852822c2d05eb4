/*
 * The PostgreSQL pool against a real server (DATABASE_URL): parameters round-trip unharmed,
 * SQLSTATEs map to the promised errors, checkout is bounded, a connection released inside a
 * transaction comes back clean, a query that loses its connection reports it and the next
 * checkout reconnects, and, the point of the pool, pooled queries keep working across a
 * PostgreSQL restart (STRATA_PG_RESTART_CMD) with no reconnecting by the caller.
 */
#include <check.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "strata/db.h"

Suite *db_suite(void);

static const char *
db_url(void)
{
	const char *url = it_env("DATABASE_URL", NULL);

	ck_assert_msg(url != NULL, "DATABASE_URL is not set");
	return url;
}

static struct st_db_pool *
make_pool(int size, int checkout_timeout_ms, int statement_timeout_ms, const char *schema)
{
	struct st_db_conf conf = {
		.url = db_url(),
		.schema = schema,
		.application = "strata-it-db",
		.size = size,
		.checkout_timeout_ms = checkout_timeout_ms,
		.connect_timeout_ms = 5000,
		.statement_timeout_ms = statement_timeout_ms,
	};
	struct st_db_pool *pool = NULL;

	ck_assert_int_eq(st_db_pool_create(&conf, &pool), ST_OK);
	ck_assert_ptr_nonnull(pool);
	return pool;
}

START_TEST(create_settings_and_stats)
{
	struct st_db_pool *pool = make_pool(3, 1000, 1500, "it_nowhere,public");
	struct st_db_result *res = NULL;
	struct st_db_stats stats;
	char err[256];

	st_db_pool_stats(pool, &stats);
	ck_assert_int_eq(stats.open, 1); /* one connection proved the settings */
	ck_assert_int_eq(stats.busy, 0);
	ck_assert_int_eq(st_db_pool_query(pool,
					  "SELECT current_setting('search_path'), "
					  "current_setting('statement_timeout'), "
					  "current_setting('application_name')",
					  0, NULL, &res, err, sizeof(err)),
			 ST_OK);
	ck_assert_str_eq(st_db_get(res, 0, 0), "it_nowhere,public");
	ck_assert_str_eq(st_db_get(res, 0, 1), "1500ms");
	ck_assert_str_eq(st_db_get(res, 0, 2), "strata-it-db");
	st_db_result_free(res);
	ck_assert_int_eq(st_db_ping(pool), ST_OK);
	st_db_pool_destroy(pool);
	st_db_pool_destroy(NULL);
}
END_TEST

START_TEST(create_refuses_bad_settings)
{
	struct st_db_conf conf = { .url = db_url(), .size = 1, .schema = "auth; DROP" };
	struct st_db_pool *pool = (struct st_db_pool *)&conf; /* must be reset to NULL */

	ck_assert_int_eq(st_db_pool_create(&conf, &pool), ST_ERR_INVALID);
	ck_assert_ptr_null(pool);
	conf.schema = NULL;
	conf.size = 0;
	ck_assert_int_eq(st_db_pool_create(&conf, &pool), ST_ERR_INVALID);
	conf.size = 1;
	conf.url = "postgresql://h/x?no_such_option=1";
	ck_assert_int_eq(st_db_pool_create(&conf, &pool), ST_ERR_INVALID);
	ck_assert_ptr_null(pool);
}
END_TEST

START_TEST(unreachable_server_still_creates)
{
	struct st_db_conf conf = { .url = "postgresql://strata@127.0.0.1:1/strata",
				   .size = 2,
				   .checkout_timeout_ms = 500,
				   .connect_timeout_ms = 2000 };
	struct st_db_pool *pool = NULL;
	struct st_db_stats stats;
	char err[128];

	ck_assert_int_eq(st_db_pool_create(&conf, &pool), ST_ERR_UNAVAILABLE);
	ck_assert_ptr_nonnull(pool); /* connects lazily later */
	ck_assert_int_eq(st_db_pool_query(pool, "SELECT 1", 0, NULL, NULL, err, sizeof(err)),
			 ST_ERR_UNAVAILABLE);
	ck_assert_int_eq(st_db_ping(pool), ST_ERR_UNAVAILABLE);
	st_db_pool_stats(pool, &stats);
	ck_assert_int_eq(stats.open, 0);
	ck_assert_int_eq(stats.busy, 0); /* failed checkouts gave their slots back */
	st_db_pool_destroy(pool);
}
END_TEST

START_TEST(parameters_round_trip)
{
	static const char hostile[] =
		"O'Brien \"quoted\" \\ back; DROP TABLE x; -- $1 \xe2\x82\xac";
	const char *params[] = { hostile, NULL, "" };
	struct st_db_pool *pool = make_pool(1, 1000, 0, NULL);
	struct st_db_result *res = NULL;
	char err[256];

	ck_assert_int_eq(st_db_pool_query(pool,
					  "SELECT $1::text, $2::text, $3::text, length($1), "
					  "$2::text IS NULL",
					  3, params, &res, err, sizeof(err)),
			 ST_OK);
	ck_assert_int_eq(st_db_rows(res), 1);
	ck_assert_int_eq(st_db_cols(res), 5);
	ck_assert_str_eq(st_db_get(res, 0, 0), hostile);
	ck_assert(!st_db_is_null(res, 0, 0));
	ck_assert(st_db_is_null(res, 0, 1));
	ck_assert_str_eq(st_db_get(res, 0, 1), ""); /* SQL NULL reads as "", never NULL */
	ck_assert(!st_db_is_null(res, 0, 2));       /* the empty string is not NULL */
	ck_assert_str_eq(st_db_get(res, 0, 2), "");
	ck_assert_str_eq(st_db_get(res, 0, 3), "46"); /* characters: the euro sign counts once */
	ck_assert_str_eq(st_db_get(res, 0, 4), "t");
	ck_assert_str_eq(st_db_get(res, 5, 9), ""); /* out of range: still not NULL */
	st_db_result_free(res);
	st_db_result_free(NULL);
	st_db_pool_destroy(pool);
}
END_TEST

START_TEST(errors_map_to_st_err)
{
	struct st_db_pool *pool = make_pool(1, 1000, 300, NULL);
	struct st_db_conn *conn = NULL;
	struct st_db_result *res = NULL;
	const char *one[] = { "1" };
	const char *two[] = { "2" };
	char err[256];

	ck_assert_int_eq(st_db_acquire(pool, &conn), ST_OK);
	ck_assert_int_eq(st_db_query(conn,
				     "CREATE TEMP TABLE it_u (id int PRIMARY KEY, n int "
				     "NOT NULL CHECK (n > 0))",
				     0, NULL, NULL, err, sizeof(err)),
			 ST_OK);
	ck_assert_int_eq(st_db_query(conn, "INSERT INTO it_u VALUES ($1::int, 1)", 1, one, &res,
				     err, sizeof(err)),
			 ST_OK);
	ck_assert_int_eq(st_db_affected(res), 1);
	st_db_result_free(res);
	/* unique violation */
	ck_assert_int_eq(st_db_query(conn, "INSERT INTO it_u VALUES ($1::int, 1)", 1, one, &res,
				     err, sizeof(err)),
			 ST_ERR_CONFLICT);
	ck_assert_ptr_null(res);
	ck_assert_msg(strstr(err, "duplicate key") != NULL, "%s", err);
	ck_assert(err[strlen(err) - 1] != '\n');
	/* check violation and not-null violation: class 23, not a conflict */
	ck_assert_int_eq(st_db_query(conn, "INSERT INTO it_u VALUES ($1::int, 0)", 1, two, NULL,
				     err, sizeof(err)),
			 ST_ERR_INVALID);
	ck_assert_int_eq(st_db_query(conn, "INSERT INTO it_u VALUES ($1::int, NULL)", 1, two, NULL,
				     err, sizeof(err)),
			 ST_ERR_INVALID);
	/* data exception, class 22 */
	ck_assert_int_eq(st_db_query(conn, "SELECT 'abc'::int", 0, NULL, NULL, err, sizeof(err)),
			 ST_ERR_INVALID);
	/* statement timeout (300 ms) */
	ck_assert_int_eq(st_db_query(conn, "SELECT pg_sleep(2)", 0, NULL, NULL, err, sizeof(err)),
			 ST_ERR_TIMEOUT);
	/* a bug in our SQL */
	ck_assert_int_eq(st_db_query(conn, "SELEC 1", 0, NULL, NULL, err, sizeof(err)),
			 ST_ERR_INTERNAL);
	ck_assert_int_eq(st_db_query(conn, "SELECT 1", 0, NULL, NULL, NULL, 0), ST_OK);
	st_db_release(pool, conn);
	st_db_pool_destroy(pool);
}
END_TEST

struct waiter {
	struct st_db_pool *pool;
	enum st_err rc;
	int64_t waited_ms;
};

static void *
wait_for_conn(void *arg)
{
	struct waiter *w = arg;
	struct st_db_conn *conn = NULL;
	int64_t t0 = st_now_mono_ms();

	w->rc = st_db_acquire(w->pool, &conn);
	w->waited_ms = st_now_mono_ms() - t0;
	st_db_release(w->pool, conn);
	return NULL;
}

START_TEST(checkout_timeout_when_exhausted)
{
	struct st_db_pool *pool = make_pool(2, 300, 0, NULL);
	struct st_db_conn *a = NULL, *b = NULL, *c = NULL;
	struct st_db_stats stats;
	struct waiter w = { pool, ST_ERR_INTERNAL, 0 };
	pthread_t tid;
	int64_t t0;
	enum st_err rc;

	ck_assert_int_eq(st_db_acquire(pool, &a), ST_OK);
	ck_assert_int_eq(st_db_acquire(pool, &b), ST_OK);
	ck_assert_ptr_ne(a, b);
	st_db_pool_stats(pool, &stats);
	ck_assert_int_eq(stats.open, 2);
	ck_assert_int_eq(stats.busy, 2);

	t0 = st_now_mono_ms();
	rc = st_db_acquire(pool, &c);
	ck_assert_int_eq(rc, ST_ERR_TIMEOUT);
	ck_assert_ptr_null(c);
	ck_assert_int_ge(st_now_mono_ms() - t0, 280);
	ck_assert_int_lt(st_now_mono_ms() - t0, 2000);
	st_db_pool_stats(pool, &stats);
	ck_assert_uint_eq(stats.checkout_timeouts, 1);

	/* A waiter is woken by a release well before its timeout. */
	ck_assert_int_eq(pthread_create(&tid, NULL, wait_for_conn, &w), 0);
	usleep(100 * 1000);
	st_db_release(pool, a);
	pthread_join(tid, NULL);
	ck_assert_int_eq(w.rc, ST_OK);
	ck_assert_int_lt(w.waited_ms, 280);
	st_db_release(pool, b);
	st_db_pool_stats(pool, &stats);
	ck_assert_int_eq(stats.busy, 0);
	ck_assert_uint_eq(stats.checkout_timeouts, 1);
	st_db_pool_destroy(pool);
}
END_TEST

/* Statements are prepared once per connection and then only executed; a schema change that
 * alters a prepared statement's result fails it at most once, and the connection comes back
 * with a fresh cache. */
START_TEST(statements_prepared_once)
{
	struct st_db_pool *pool = make_pool(1, 1000, 0, NULL);
	struct st_db_conn *conn = NULL;
	struct st_db_result *res = NULL;
	const char *params[] = { "41" };
	const char *count_sql = "SELECT count(*) FROM pg_prepared_statements "
				"WHERE statement LIKE '%it_prep' || '_marker%'"; /* not itself */
	char err[256];
	enum st_err rc;

	ck_assert_int_eq(st_db_acquire(pool, &conn), ST_OK);
	for (int i = 0; i < 3; i++) {
		ck_assert_int_eq(st_db_query(conn, "SELECT $1::int + 1 AS it_prep_marker", 1,
					     params, &res, err, sizeof(err)),
				 ST_OK);
		ck_assert_str_eq(st_db_get(res, 0, 0), "42");
		st_db_result_free(res);
	}
	ck_assert_int_eq(st_db_query(conn, count_sql, 0, NULL, &res, err, sizeof(err)), ST_OK);
	ck_assert_str_eq(st_db_get(res, 0, 0), "1"); /* prepared once, run three times */
	st_db_result_free(res);
	/* A statement with an error is not kept, and reports its error as before. */
	ck_assert_int_eq(st_db_query(conn, "SELECT no_such_column FROM pg_class", 0, NULL, NULL,
				     err, sizeof(err)),
			 ST_ERR_INTERNAL);
	ck_assert_msg(strstr(err, "no_such_column") != NULL, "%s", err);

	ck_assert_int_eq(st_db_query(conn, "CREATE TEMP TABLE it_prep (a int)", 0, NULL, NULL, err,
				     sizeof(err)),
			 ST_OK);
	ck_assert_int_eq(st_db_query(conn, "INSERT INTO it_prep VALUES (1)", 0, NULL, NULL, err,
				     sizeof(err)),
			 ST_OK);
	ck_assert_int_eq(
		st_db_query(conn, "SELECT * FROM it_prep", 0, NULL, &res, err, sizeof(err)), ST_OK);
	ck_assert_int_eq(st_db_cols(res), 1);
	st_db_result_free(res);
	ck_assert_int_eq(st_db_query(conn, "ALTER TABLE it_prep ADD COLUMN b int", 0, NULL, NULL,
				     err, sizeof(err)),
			 ST_OK);
	rc = st_db_query(conn, "SELECT * FROM it_prep", 0, NULL, &res, err, sizeof(err));
	if (rc == ST_OK) { /* the server re-planned it by itself */
		ck_assert_int_eq(st_db_cols(res), 2);
		st_db_result_free(res);
	}
	st_db_release(pool, conn);
	conn = NULL;
	ck_assert_int_eq(st_db_acquire(pool, &conn), ST_OK);
	if (rc != ST_OK) { /* replaced: a fresh connection, with no temp table and no cache */
		ck_assert_int_eq(st_db_query(conn, count_sql, 0, NULL, &res, err, sizeof(err)),
				 ST_OK);
		ck_assert_str_eq(st_db_get(res, 0, 0), "0");
		st_db_result_free(res);
	}
	st_db_release(pool, conn);
	st_db_pool_destroy(pool);
}
END_TEST

START_TEST(release_rolls_back)
{
	struct st_db_pool *pool = make_pool(1, 1000, 0, NULL);
	struct st_db_conn *conn = NULL, *again = NULL;
	struct st_db_result *res = NULL;
	char err[256];

	ck_assert_int_eq(st_db_acquire(pool, &conn), ST_OK);
	ck_assert_int_eq(st_db_query(conn, "CREATE TEMP TABLE it_tx (n int)", 0, NULL, NULL, err,
				     sizeof(err)),
			 ST_OK);
	ck_assert_int_eq(st_db_begin(conn), ST_OK);
	ck_assert_int_eq(
		st_db_query(conn, "INSERT INTO it_tx VALUES (1)", 0, NULL, NULL, err, sizeof(err)),
		ST_OK);
	ck_assert_int_eq(PQtransactionStatus(st_db_conn_pg(conn)), PQTRANS_INTRANS);
	st_db_release(pool, conn); /* no COMMIT */

	ck_assert_int_eq(st_db_acquire(pool, &again), ST_OK);
	ck_assert_ptr_eq(again, conn); /* size 1: the same connection, temp table and all */
	ck_assert_int_eq(PQtransactionStatus(st_db_conn_pg(again)), PQTRANS_IDLE);
	ck_assert_int_eq(
		st_db_query(again, "SELECT count(*) FROM it_tx", 0, NULL, &res, err, sizeof(err)),
		ST_OK);
	ck_assert_str_eq(st_db_get(res, 0, 0), "0");
	st_db_result_free(res);

	/* An aborted transaction (an error inside it) is rolled back too. */
	ck_assert_int_eq(st_db_begin(again), ST_OK);
	ck_assert_int_eq(st_db_query(again, "SELECT 1/0", 0, NULL, NULL, err, sizeof(err)),
			 ST_ERR_INVALID);
	ck_assert_int_eq(PQtransactionStatus(st_db_conn_pg(again)), PQTRANS_INERROR);
	st_db_release(pool, again);
	ck_assert_int_eq(st_db_acquire(pool, &again), ST_OK);
	ck_assert_int_eq(PQtransactionStatus(st_db_conn_pg(again)), PQTRANS_IDLE);
	/* And commit works as it should. */
	ck_assert_int_eq(st_db_begin(again), ST_OK);
	ck_assert_int_eq(
		st_db_query(again, "INSERT INTO it_tx VALUES (2)", 0, NULL, NULL, err, sizeof(err)),
		ST_OK);
	ck_assert_int_eq(st_db_commit(again), ST_OK);
	ck_assert_int_eq(st_db_begin(again), ST_OK);
	ck_assert_int_eq(st_db_rollback(again), ST_OK);
	ck_assert_int_eq(
		st_db_query(again, "SELECT count(*) FROM it_tx", 0, NULL, &res, err, sizeof(err)),
		ST_OK);
	ck_assert_str_eq(st_db_get(res, 0, 0), "1");
	st_db_result_free(res);
	st_db_release(pool, again);
	st_db_pool_destroy(pool);
}
END_TEST

/* Each connection's backend pid, all checked out at once so that every slot is used. */
static void
backend_pids(struct st_db_pool *pool, int n, char pids[][16])
{
	struct st_db_conn *conns[8] = { NULL };
	char err[256];

	ck_assert_int_le(n, 8);
	for (int i = 0; i < n; i++) {
		struct st_db_result *res = NULL;
		enum st_err rc = st_db_acquire(pool, &conns[i]);

		ck_assert_msg(rc == ST_OK, "acquire %d: %s", i, st_err_str(rc));
		rc = st_db_query(conns[i], "SELECT pg_backend_pid()", 0, NULL, &res, err,
				 sizeof(err));
		ck_assert_msg(rc == ST_OK, "query on connection %d: %s %s", i, st_err_str(rc), err);
		st_strlcpy(pids[i], st_db_get(res, 0, 0), 16);
		st_db_result_free(res);
	}
	for (int i = 0; i < n; i++)
		st_db_release(pool, conns[i]);
}

START_TEST(lost_connection_is_reported_then_replaced)
{
	struct st_db_pool *pool = make_pool(1, 1000, 0, NULL);
	struct st_db_conn *conn = NULL;
	struct st_db_stats stats;
	char before[1][16], after[1][16], err[256];

	backend_pids(pool, 1, before);
	ck_assert_int_eq(st_db_acquire(pool, &conn), ST_OK);
	/* The server ends this very session in the middle of a query. */
	ck_assert_int_eq(st_db_query(conn, "SELECT pg_terminate_backend(pg_backend_pid())", 0, NULL,
				     NULL, err, sizeof(err)),
			 ST_ERR_UNAVAILABLE);
	st_db_release(pool, conn);
	st_db_pool_stats(pool, &stats);
	ck_assert_int_eq(stats.open, 0); /* dropped at release */
	backend_pids(pool, 1, after);
	ck_assert_str_ne(before[0], after[0]);
	st_db_pool_stats(pool, &stats);
	ck_assert_uint_eq(stats.reconnects, 1);
	st_db_pool_destroy(pool);
}
END_TEST

START_TEST(survives_server_restart)
{
	enum { N = 3 };
	const char *restart = it_env("STRATA_PG_RESTART_CMD", NULL);
	struct st_db_pool *pool;
	struct st_db_stats stats;
	char before[N][16], after[N][16], err[256];

	ck_assert_msg(restart != NULL, "STRATA_PG_RESTART_CMD is not set: cannot test a restart");
	pool = make_pool(N, 5000, 0, NULL);
	backend_pids(pool, N, before);
	st_db_pool_stats(pool, &stats);
	ck_assert_int_eq(stats.open, N);

	ck_assert_int_eq(it_sh("%s", restart), 0);
	/* Should the command return before the server accepts connections, wait for it with a
	 * probe of our own: the pool under test is not touched until then. */
	for (int i = 0; i < 300 && PQping(db_url()) != PQPING_OK; i++)
		usleep(100 * 1000);

	/* Every pooled connection was cut by the restart; each checkout must notice and
	 * reconnect before handing it out, so every query succeeds first time. */
	backend_pids(pool, N, after);
	for (int i = 0; i < N; i++)
		for (int j = 0; j < N; j++)
			ck_assert_str_ne(after[i], before[j]);
	st_db_pool_stats(pool, &stats);
	ck_assert_int_eq(stats.open, N);
	ck_assert_uint_eq(stats.reconnects, N);
	ck_assert_int_eq(st_db_pool_query(pool, "SELECT 1", 0, NULL, NULL, err, sizeof(err)),
			 ST_OK);
	ck_assert_int_eq(st_db_ping(pool), ST_OK);
	st_db_pool_destroy(pool);
}
END_TEST

Suite *
db_suite(void)
{
	Suite *s = suite_create("db");
	TCase *tc = tcase_create("pool");
	TCase *restart = tcase_create("restart");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, create_settings_and_stats);
	tcase_add_test(tc, create_refuses_bad_settings);
	tcase_add_test(tc, unreachable_server_still_creates);
	tcase_add_test(tc, parameters_round_trip);
	tcase_add_test(tc, errors_map_to_st_err);
	tcase_add_test(tc, checkout_timeout_when_exhausted);
	tcase_add_test(tc, statements_prepared_once);
	tcase_add_test(tc, release_rolls_back);
	tcase_add_test(tc, lost_connection_is_reported_then_replaced);
	suite_add_tcase(s, tc);

	tcase_set_timeout(restart, 120);
	tcase_add_test(restart, survives_server_restart);
	suite_add_tcase(s, restart);
	return s;
}
