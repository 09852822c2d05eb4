/*
 * A bounded pool of PostgreSQL connections on libpq. Checkout waits at most a timeout; a
 * connection that the server dropped (a restart, an idle kill) is noticed at checkout without
 * sending anything and reconnected transparently, so a pooled query survives a server restart.
 * Queries are parameterized only: there is no entry point that splices values into SQL.
 * Thread-safe: any thread may check out; one connection serves one thread at a time.
 */
#ifndef STRATA_DB_H
#define STRATA_DB_H

#include <cjson/cJSON.h>

#include "strata/core.h"

struct pg_conn;

struct st_db_conf {
	const char *url;          /* libpq connection URI or key=value string; required */
	const char *schema;       /* search_path for every connection (the service's schema), or
				     NULL: lowercase identifiers, comma-separated ("stats,public") */
	const char *application;  /* application_name, e.g. "strata-ingest", or NULL */
	int size;                 /* maximum connections, >= 1; opened lazily, as needed */
	int checkout_timeout_ms;  /* how long st_db_acquire waits for a free connection; 0: no wait
				   */
	int connect_timeout_ms;   /* per connection attempt; libpq counts whole seconds, at least 2;
				     0 means 5000 */
	int statement_timeout_ms; /* server-side statement_timeout, 0 for none */
};

struct st_db_pool;
struct st_db_conn;
struct st_db_result;

/* Creates the pool and opens one connection to prove the settings. ST_ERR_UNAVAILABLE when
 * the server cannot be reached or refuses the login (the pool is still created then and connects
 * lazily later, so that a service can start before its database); ST_ERR_INVALID for bad
 * settings, a URL that does not parse included (*out NULL). Logs the reason, never the URL. */
enum st_err st_db_pool_create(const struct st_db_conf *conf, struct st_db_pool **out);
/* Closes every connection. Accepts NULL. All connections must have been released. */
void st_db_pool_destroy(struct st_db_pool *pool);

/* Checks out a healthy connection, reconnecting a dead one. ST_ERR_TIMEOUT when none became
 * free in time, ST_ERR_UNAVAILABLE when the server cannot be reached (*out NULL then); within
 * a second of a failed connect, a checkout that would need a new connection fails at once.
 * Release it always (st_db_release accepts NULL). May block for the checkout timeout plus one
 * connection attempt. */
enum st_err st_db_acquire(struct st_db_pool *pool, struct st_db_conn **out);
/* Returns a connection to the pool. A connection left inside a transaction is rolled back;
 * one that is lost, in COPY, or whose ROLLBACK failed is closed instead. Accepts NULL. */
void st_db_release(struct st_db_pool *pool, struct st_db_conn *conn);

/*
 * Runs one parameterized statement ($1..$n, text parameters; a NULL entry is SQL NULL). *out
 * (may be NULL when the caller wants no rows) receives the result, which the caller frees with
 * st_db_result_free. Errors: ST_ERR_CONFLICT for a unique or exclusion violation, ST_ERR_INVALID
 * for other data errors (class 22, 23), ST_ERR_UNAVAILABLE when the connection was lost (or the
 * server is shutting down: class 08, 57P01-57P03; the connection is then replaced at release,
 * and the statement is not retried), ST_ERR_TIMEOUT for a statement timeout (57014),
 * ST_ERR_INTERNAL otherwise (a syntax error is a bug). The server's message is copied into err
 * (may be NULL) without its trailing newline, and is never logged here.
 */
enum st_err st_db_query(struct st_db_conn *conn, const char *sql, int nparams,
			const char *const *params, struct st_db_result **out, char *err,
			size_t errcap);

/*
 * The error a SQLSTATE stands for, the one table behind st_db_query's errors, for callers that
 * talk to libpq themselves (COPY): 23505 and 23P01 ST_ERR_CONFLICT; other class 22 and 23
 * ST_ERR_INVALID; 57014 ST_ERR_TIMEOUT; class 08 and 57P01-57P03 ST_ERR_UNAVAILABLE; anything
 * else, and NULL or a string that is not five characters (libpq failed without a SQLSTATE),
 * ST_ERR_INTERNAL. A connection that is no longer CONNECTION_OK is the caller's to notice: it
 * is ST_ERR_UNAVAILABLE whatever the SQLSTATE.
 */
enum st_err st_db_err_of_sqlstate(const char *sqlstate);

/* Acquire, st_db_query, release: for a single statement outside a transaction. */
enum st_err st_db_pool_query(struct st_db_pool *pool, const char *sql, int nparams,
			     const char *const *params, struct st_db_result **out, char *err,
			     size_t errcap);

/* BEGIN, COMMIT and ROLLBACK on a checked-out connection. */
enum st_err st_db_begin(struct st_db_conn *conn);
/* st_db_acquire, then BEGIN on the connection. *out is the connection whenever the checkout
 * succeeded, BEGIN's failure included: release it always (a transaction left open is rolled
 * back there). */
enum st_err st_db_acquire_begin(struct st_db_pool *pool, struct st_db_conn **out);
enum st_err st_db_commit(struct st_db_conn *conn);
enum st_err st_db_rollback(struct st_db_conn *conn);

/* Runs SELECT 1 on a pooled connection within the checkout timeout: for /readyz. Unlike
 * other calls, it tries to connect even within the second after a failed connect. */
enum st_err st_db_ping(struct st_db_pool *pool);

/* The libpq handle, for COPY and other protocol-level work. Borrowed while checked out. */
struct pg_conn *st_db_conn_pg(struct st_db_conn *conn);

/* Rows and columns of a result, and affected rows of a command (INSERT/UPDATE/DELETE). */
int st_db_rows(const struct st_db_result *res);
int st_db_cols(const struct st_db_result *res);
long long st_db_affected(const struct st_db_result *res);
/* Borrowed: valid until st_db_result_free(res). "" for SQL NULL, never NULL. */
const char *st_db_get(const struct st_db_result *res, int row, int col);
bool st_db_is_null(const struct st_db_result *res, int row, int col);
void st_db_result_free(struct st_db_result *res);
/* The index of the column named name, -1 when there is none. */
int st_db_col(const struct st_db_result *res, const char *name);

/*
 * Row row of res as a JSON object, for answering straight from a SELECT or RETURNING: one
 * member per column, named as the statement names it (alias expressions: `... AS role`), in
 * column order. Columns whose name starts with '_' are left out (sort keys, `_cursor_id`).
 * Values follow the column's PostgreSQL type: bool true/false; int2, int4, int8, oid, float4,
 * float8 and numeric a number (NaN a null; int8 past 2^53 loses precision); json and jsonb
 * embedded as JSON; timestamptz and timestamp (taken as UTC) RFC 3339 UTC with milliseconds
 * (st_time_format_rfc3339; the pool's connections set DateStyle ISO for it), with 'infinity'
 * and times outside years 0000-9999 as PostgreSQL writes them; everything
 * else (text, uuid, varchar, date...) a string. SQL NULL is JSON null. The caller owns the
 * object (cJSON_Delete).
 */
cJSON *st_db_row_json(const struct st_db_result *res, int row);

/* Pool figures for /metrics: connections open, checked out, waits that timed out, and
 * connections reopened after being found dead or dropped. */
struct st_db_stats {
	int open;
	int busy;
	uint64_t checkout_timeouts;
	uint64_t reconnects;
};
void st_db_pool_stats(struct st_db_pool *pool, struct st_db_stats *out);

#endif
