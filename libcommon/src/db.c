/*
 * The PostgreSQL connection pool (see db.h). A fixed array of slots guarded by one mutex and
 * one condition variable: a slot is either free or checked out by one thread, and holds an open
 * libpq connection or none. Connections are opened lazily, outside the lock, up to the pool
 * size. At checkout a connection is checked without a round trip: if its socket is readable
 * while it is idle, the server has said something (usually "terminating connection" and then
 * EOF), so the input is consumed and a connection libpq now reports as bad is replaced by a
 * fresh one before the caller sees it. That is what makes a pooled query survive a server
 * restart. The checkout itself (the mutex, the wait, the in-use flags) is slot_pool.c's,
 * shared with the Redis pool.
 *
 * Queries use text parameters. A connection prepares each distinct SELECT, INSERT, UPDATE,
 * DELETE or WITH statement once (a named server-side statement, up to DB_STMT_CACHE per
 * connection) and then only executes it: parsing and planning were a visible share of a short
 * query's cost (docs/performance.md). Other statements (BEGIN, COPY, DDL) and those past the cache
 * go through PQexecParams. The cache belongs to the connection and goes with it; it assumes a
 * direct connection to PostgreSQL (a pooler in transaction mode would need it off).
 */
#define _GNU_SOURCE
#include "strata/db.h"

#include <ctype.h>
#include <errno.h>
#include <libpq-fe.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "slot_pool.h"
#include "strata/log.h"

#define DB_OPTIONS_MAX                512
#define DB_DEFAULT_CONNECT_TIMEOUT_MS 5000
/* An idle socket that stays readable this many rounds is not behaving: drop it. */
#define DB_HEALTH_ROUNDS 8

/* After a failed connect, how long checkouts needing a new connection fail at once instead of
 * each waiting out a connect attempt of its own (callers with a stale answer at hand, like
 * ingest's session cache, then answer in microseconds while the server is away). */
#define DB_QUIET_MS 1000

#define DB_STMT_CACHE 64

/* A statement prepared on one connection, named "st<index>". */
struct db_stmt {
	uint64_t hash; /* FNV-1a of the text */
	char *sql;
	int nparams;
};

struct st_db_conn {
	struct st_db_pool *pool;
	struct db_stmt stmts[DB_STMT_CACHE]; /* prepared on pg; cleared when pg closes */
	int nstmts;
	PGconn *pg;    /* NULL when this slot has no open connection; only its taker touches it */
	bool bad;      /* lost or unusable: closed at release, reopened at the next checkout */
	bool was_open; /* opened before: the next open counts as a reconnect */
};

struct st_db_pool {
	char *url;
	char *application;
	char options[DB_OPTIONS_MAX];
	char connect_timeout[16];
	int checkout_timeout_ms;

	struct slot_pool slots;   /* also counts busy slots and checkout timeouts */
	struct st_db_conn *conns; /* slots.size of them */
	/* Under slots.mu: */
	int open;
	uint64_t reconnects;
	bool down; /* the last attempt to connect failed: log the outage once, and its end */
	int64_t quiet_until_ms; /* monotonic: while down, no new attempt before then */
};

struct st_db_result {
	PGresult *res;
};

ST_STATIC enum st_err db_build_options(const char *schema, int statement_timeout_ms, char *buf,
				       size_t cap);
ST_STATIC int db_connect_timeout_secs(int connect_timeout_ms);
#ifdef ST_TESTING
struct st_db_result *db_result_wrap(PGresult *res);
#endif
ST_STATIC bool db_time_rfc3339(const char *pg, bool utc, char *buf, size_t cap);

/* One table for every caller, db.c's queries and ingest's COPY alike (db.h). */
enum st_err
st_db_err_of_sqlstate(const char *sqlstate)
{
	if (sqlstate == NULL || strlen(sqlstate) != 5)
		return ST_ERR_INTERNAL;
	if (strcmp(sqlstate, "23505") == 0 || strcmp(sqlstate, "23P01") == 0)
		return ST_ERR_CONFLICT; /* unique_violation, exclusion_violation */
	if (strncmp(sqlstate, "22", 2) == 0 || strncmp(sqlstate, "23", 2) == 0)
		return ST_ERR_INVALID; /* data exception, other integrity violations */
	if (strcmp(sqlstate, "57014") == 0)
		return ST_ERR_TIMEOUT; /* query_canceled: statement_timeout */
	if (strncmp(sqlstate, "08", 2) == 0)
		return ST_ERR_UNAVAILABLE; /* connection exception */
	/* admin_shutdown, crash_shutdown, cannot_connect_now: the server is going away. */
	if (strcmp(sqlstate, "57P01") == 0 || strcmp(sqlstate, "57P02") == 0 ||
	    strcmp(sqlstate, "57P03") == 0)
		return ST_ERR_UNAVAILABLE;
	return ST_ERR_INTERNAL;
}

static bool
schema_list_valid(const char *s)
{
	bool at_start = true;
	size_t len = 0;

	if (s == NULL || *s == '\0')
		return false;
	for (; *s != '\0'; s++) {
		char c = *s;

		if (c == ',') {
			if (at_start)
				return false;
			at_start = true;
			len = 0;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || c == '_' || (!at_start && c >= '0' && c <= '9')))
			return false;
		at_start = false;
		if (++len > 63)
			return false;
	}
	return !at_start;
}

/*
 * Writes the libpq `options` value (server settings for every connection) into buf:
 * "-c DateStyle=ISO -c search_path=<schema> -c statement_timeout=<ms>", the last two only when
 * set. DateStyle ISO fixes how times come back as text ("2026-01-01 00:00:00.125+00"), which
 * st_db_row_json rewrites as RFC 3339 whatever the server's postgresql.conf says (the order of
 * day and month, for input, stays the server's).
 * The schema is a comma-separated list of lowercase identifiers and nothing else, so that it
 * needs no quoting inside the options string. ST_ERR_INVALID for a bad schema or timeout.
 */
ST_STATIC enum st_err
db_build_options(const char *schema, int statement_timeout_ms, char *buf, size_t cap)
{
	enum st_err rc = ST_ERR_INVALID;
	size_t used = 0;
	int n;

	if (cap == 0)
		return ST_ERR_INVALID;
	if (statement_timeout_ms < 0 || (schema != NULL && !schema_list_valid(schema)))
		goto out;
	n = snprintf(buf, cap, "-c DateStyle=ISO");
	if (n < 0 || (size_t)n >= cap)
		goto out;
	used = (size_t)n;
	if (schema != NULL) {
		n = snprintf(buf + used, cap - used, " -c search_path=%s", schema);
		if (n < 0 || (size_t)n >= cap - used)
			goto out;
		used += (size_t)n;
	}
	if (statement_timeout_ms > 0) {
		n = snprintf(buf + used, cap - used, " -c statement_timeout=%d",
			     statement_timeout_ms);
		if (n < 0 || (size_t)n >= cap - used)
			goto out;
	}
	rc = ST_OK;
out:
	if (rc != ST_OK)
		buf[0] = '\0';
	return rc;
}

/* libpq counts connect_timeout in whole seconds and treats anything under 2 as 2. */
ST_STATIC int
db_connect_timeout_secs(int connect_timeout_ms)
{
	int secs;

	if (connect_timeout_ms <= 0)
		connect_timeout_ms = DB_DEFAULT_CONNECT_TIMEOUT_MS;
	secs = connect_timeout_ms / 1000 + (connect_timeout_ms % 1000 != 0);
	return secs < 2 ? 2 : secs;
}

/* Copies a libpq message into err without its trailing newline. */
static void
copy_message(char *err, size_t errcap, const char *msg)
{
	size_t len;

	if (err == NULL || errcap == 0)
		return;
	st_strlcpy(err, msg != NULL ? msg : "", errcap);
	len = strlen(err);
	while (len > 0 && (err[len - 1] == '\n' || err[len - 1] == ' '))
		err[--len] = '\0';
}

/* Routes libpq's notices (NOTICE, WARNING from the server) to the log at debug level. */
static void
notice_to_log(void *arg, const char *message)
{
	char line[512];

	(void)arg;
	copy_message(line, sizeof(line), message);
	st_log(ST_LOG_DEBUG, "db", "notice: %s", line);
}

static void
add_param(const char **keys, const char **vals, int *n, const char *key, const char *val)
{
	keys[*n] = key;
	vals[*n] = val;
	(*n)++;
}

/* Opens the slot's connection (the caller owns the slot). ST_ERR_UNAVAILABLE on failure. */
static enum st_err
conn_open(struct st_db_pool *pool, struct st_db_conn *conn)
{
	const char *keys[8], *vals[8];
	PGconn *pg;
	char why[256] = "";
	enum st_err rc = ST_OK;
	bool was_down, reconnect;
	int n = 0;

	/* The URL first, expanded into its parts; what follows overrides the URL's own. */
	add_param(keys, vals, &n, "dbname", pool->url);
	add_param(keys, vals, &n, "connect_timeout", pool->connect_timeout);
	add_param(keys, vals, &n, "client_encoding", "UTF8");
	if (pool->application != NULL)
		add_param(keys, vals, &n, "application_name", pool->application);
	if (pool->options[0] != '\0')
		add_param(keys, vals, &n, "options", pool->options);
	keys[n] = NULL;
	vals[n] = NULL;

	pg = PQconnectdbParams(keys, vals, 1);
	if (pg == NULL || PQstatus(pg) != CONNECTION_OK) {
		copy_message(why, sizeof(why), pg != NULL ? PQerrorMessage(pg) : "out of memory");
		PQfinish(pg);
		pg = NULL;
		rc = ST_ERR_UNAVAILABLE;
	} else {
		PQsetNoticeProcessor(pg, notice_to_log, NULL);
	}

	pthread_mutex_lock(&pool->slots.mu);
	was_down = pool->down;
	pool->down = (rc != ST_OK);
	if (rc != ST_OK)
		pool->quiet_until_ms = st_now_mono_ms() + DB_QUIET_MS;
	reconnect = conn->was_open;
	if (rc == ST_OK) {
		pool->open++;
		if (reconnect)
			pool->reconnects++;
	}
	pthread_mutex_unlock(&pool->slots.mu);

	if (rc != ST_OK) {
		/* libpq's message names host, port, user and database, never the password. */
		if (!was_down)
			st_log(ST_LOG_WARN, "db", "connect failed error=unavailable detail=%s",
			       why);
		goto out;
	}
	if (was_down)
		st_log(ST_LOG_INFO, "db", "connected again after an outage");
	conn->pg = pg;
	conn->bad = false;
	conn->was_open = true;
out:
	return rc;
}

/* Forgets the statements prepared on the connection (they die with it). */
static void
stmts_clear(struct st_db_conn *conn)
{
	for (int i = 0; i < conn->nstmts; i++)
		st_free(conn->stmts[i].sql);
	conn->nstmts = 0;
}

/* Closes the slot's connection (the caller owns the slot). */
static void
conn_close(struct st_db_pool *pool, struct st_db_conn *conn)
{
	if (conn->pg == NULL)
		return;
	stmts_clear(conn);
	PQfinish(conn->pg);
	conn->pg = NULL;
	conn->bad = false;
	pthread_mutex_lock(&pool->slots.mu);
	pool->open--;
	pthread_mutex_unlock(&pool->slots.mu);
}

/*
 * Decides, without a round trip, whether an idle connection still works. A readable socket on
 * an idle connection means the server spoke first: consume it (a notice, a notification, or
 * the "terminating connection" error followed by EOF when the server stops). Returns false when
 * libpq now reports the connection as bad.
 */
static bool
conn_healthy(PGconn *pg)
{
	PGnotify *note;

	if (PQstatus(pg) != CONNECTION_OK || PQsocket(pg) < 0)
		return false;
	for (int round = 0; round < DB_HEALTH_ROUNDS; round++) {
		struct pollfd p = { .fd = PQsocket(pg), .events = POLLIN };
		int n = poll(&p, 1, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return false;
		if (n == 0)
			return PQtransactionStatus(pg) == PQTRANS_IDLE;
		if (!PQconsumeInput(pg))
			return false;
		/* Parse what arrived: an error sent in idle state goes to the notice processor. */
		(void)PQisBusy(pg);
		for (note = PQnotifies(pg); note != NULL; note = PQnotifies(pg))
			PQfreemem(note);
		if (PQstatus(pg) != CONNECTION_OK)
			return false;
	}
	return false;
}

/* For slot_pool_take, under slots.mu: whether free slot i holds an open connection. */
static bool
conn_is_open(void *ctx, int i)
{
	struct st_db_pool *pool = ctx;

	return pool->conns[i].pg != NULL;
}

/* Gives a slot back (the caller owns it and has closed or kept its connection). */
static void
slot_free(struct st_db_pool *pool, struct st_db_conn *conn)
{
	slot_pool_give(&pool->slots, (int)(conn - pool->conns));
}

/*
 * Takes a free slot, preferring one with an open connection, waiting up to the checkout
 * timeout. ST_ERR_TIMEOUT when none became free.
 */
static enum st_err
slot_take(struct st_db_pool *pool, struct st_db_conn **out)
{
	enum st_err rc;
	int i;

	rc = slot_pool_take(&pool->slots, pool->checkout_timeout_ms, conn_is_open, pool, &i);
	*out = rc == ST_OK ? &pool->conns[i] : NULL;
	return rc;
}

enum st_err
st_db_pool_create(const struct st_db_conf *conf, struct st_db_pool **out)
{
	struct st_db_pool *pool = NULL;
	struct st_db_conn *conn = NULL;
	PQconninfoOption *parsed = NULL;
	char *parse_err = NULL;
	enum st_err rc = ST_ERR_INVALID;

	*out = NULL;
	if (conf == NULL || conf->url == NULL || conf->url[0] == '\0' || conf->size < 1 ||
	    conf->checkout_timeout_ms < 0 || conf->connect_timeout_ms < 0) {
		st_log(ST_LOG_ERROR, "db",
		       "invalid pool settings: url, size >= 1 and timeouts >= 0 "
		       "are required");
		goto out;
	}
	/* Parse the URL now so that a typo fails at start-up, not at the first query. libpq's
	 * message may quote part of the URL, password included: it is not logged. */
	parsed = PQconninfoParse(conf->url, &parse_err);
	if (parsed == NULL) {
		st_log(ST_LOG_ERROR, "db", "database url does not parse (check its syntax)");
		goto out;
	}

	pool = st_calloc(1, sizeof(*pool));
	if (db_build_options(conf->schema, conf->statement_timeout_ms, pool->options,
			     sizeof(pool->options)) != ST_OK) {
		st_log(ST_LOG_ERROR, "db",
		       "invalid pool settings: schema must be lowercase identifiers, "
		       "statement timeout >= 0");
		goto out;
	}
	pool->url = st_strdup(conf->url);
	pool->application = conf->application != NULL ? st_strdup(conf->application) : NULL;
	snprintf(pool->connect_timeout, sizeof(pool->connect_timeout), "%d",
		 db_connect_timeout_secs(conf->connect_timeout_ms));
	pool->checkout_timeout_ms = conf->checkout_timeout_ms;
	pool->conns = st_calloc((size_t)conf->size, sizeof(*pool->conns));
	for (int i = 0; i < conf->size; i++)
		pool->conns[i].pool = pool;
	slot_pool_init(&pool->slots, conf->size);

	/* One connection proves the settings; without it the pool still works, lazily. */
	rc = st_db_acquire(pool, &conn);
	if (rc == ST_OK)
		st_db_release(pool, conn);
	*out = pool;
	pool = NULL; /* the caller owns it, even when the server was unreachable */
out:
	PQconninfoFree(parsed);
	PQfreemem(parse_err);
	st_db_pool_destroy(pool);
	return rc;
}

void
st_db_pool_destroy(struct st_db_pool *pool)
{
	if (pool == NULL)
		return;
	if (pool->conns != NULL) {
		if (pool->slots.busy > 0)
			st_log(ST_LOG_ERROR, "db", "pool destroyed with busy=%d connections out",
			       pool->slots.busy);
		for (int i = 0; i < pool->slots.size; i++) {
			stmts_clear(&pool->conns[i]);
			PQfinish(pool->conns[i].pg);
		}
		slot_pool_cleanup(&pool->slots);
	}
	st_free(pool->conns);
	st_free(pool->url);
	st_free(pool->application);
	st_free(pool);
}

/* True while the server is down and was tried less than DB_QUIET_MS ago. */
static bool
server_quiet(struct st_db_pool *pool)
{
	bool quiet;

	pthread_mutex_lock(&pool->slots.mu);
	quiet = pool->down && st_now_mono_ms() < pool->quiet_until_ms;
	pthread_mutex_unlock(&pool->slots.mu);
	return quiet;
}

/* A connection for one caller; a probe tries the server even in its quiet second. */
static enum st_err
acquire(struct st_db_pool *pool, struct st_db_conn **out, bool probe)
{
	struct st_db_conn *conn = NULL;
	enum st_err rc;

	*out = NULL;
	rc = slot_take(pool, &conn);
	if (rc != ST_OK)
		goto out;
	if (conn->pg != NULL && !conn_healthy(conn->pg)) {
		st_log(ST_LOG_INFO, "db", "pooled connection lost, reconnecting");
		conn_close(pool, conn);
	}
	if (conn->pg == NULL && !probe && server_quiet(pool)) {
		rc = ST_ERR_UNAVAILABLE; /* it just refused: fail now, a later call tries again */
		slot_free(pool, conn);
		goto out;
	}
	if (conn->pg == NULL) {
		rc = conn_open(pool, conn);
		if (rc != ST_OK) {
			slot_free(pool, conn);
			goto out;
		}
	}
	*out = conn;
out:
	return rc;
}

enum st_err
st_db_acquire(struct st_db_pool *pool, struct st_db_conn **out)
{
	return acquire(pool, out, false);
}

void
st_db_release(struct st_db_pool *pool, struct st_db_conn *conn)
{
	PGresult *res;

	if (conn == NULL)
		return;
	if (conn->pg != NULL && !conn->bad && PQstatus(conn->pg) == CONNECTION_OK) {
		switch (PQtransactionStatus(conn->pg)) {
		case PQTRANS_IDLE:
			break;
		case PQTRANS_INTRANS:
		case PQTRANS_INERROR:
			/* Left inside a transaction: undo it, or drop the connection. */
			res = PQexec(conn->pg, "ROLLBACK");
			if (PQresultStatus(res) != PGRES_COMMAND_OK ||
			    PQtransactionStatus(conn->pg) != PQTRANS_IDLE)
				conn->bad = true;
			PQclear(res);
			break;
		default:
			/* A command still active (COPY, async use) or unknown: drop it. */
			conn->bad = true;
			break;
		}
	} else {
		conn->bad = true;
	}
	if (conn->bad)
		conn_close(pool, conn);
	slot_free(pool, conn);
}

static uint64_t
fnv1a(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *s != '\0'; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return h;
}

/* Worth preparing: a plannable statement (PREPARE takes no utility command). */
static bool
preparable(const char *sql)
{
	static const char *const verbs[] = { "SELECT", "INSERT", "UPDATE", "DELETE", "WITH" };

	while (*sql == ' ' || *sql == '\t' || *sql == '\n' || *sql == '(')
		sql++;
	for (size_t i = 0; i < ST_ARRAY_LEN(verbs); i++) {
		size_t n = strlen(verbs[i]);

		if (strncasecmp(sql, verbs[i], n) == 0 && !isalnum((unsigned char)sql[n]))
			return true;
	}
	return false;
}

/*
 * Runs sql on conn: through its prepared statement (preparing it first when new and there is
 * room), else with PQexecParams. A failed prepare's result stands for the statement's: it
 * carries the same error the execution would have.
 */
static PGresult *
run_statement(struct st_db_conn *conn, const char *sql, int nparams, const char *const *params)
{
	char name[16];
	uint64_t h;
	int i;

	if (!preparable(sql))
		return PQexecParams(conn->pg, sql, nparams, NULL, params, NULL, NULL, 0);
	h = fnv1a(sql);
	for (i = 0; i < conn->nstmts; i++)
		if (conn->stmts[i].hash == h && conn->stmts[i].nparams == nparams &&
		    strcmp(conn->stmts[i].sql, sql) == 0)
			break;
	if (i == conn->nstmts) {
		PGresult *prep;

		if (conn->nstmts == DB_STMT_CACHE)
			return PQexecParams(conn->pg, sql, nparams, NULL, params, NULL, NULL, 0);
		snprintf(name, sizeof(name), "st%d", i);
		prep = PQprepare(conn->pg, name, sql, nparams, NULL);
		if (PQresultStatus(prep) != PGRES_COMMAND_OK)
			return prep;
		PQclear(prep);
		conn->stmts[i].hash = h;
		conn->stmts[i].sql = st_strdup(sql);
		conn->stmts[i].nparams = nparams;
		conn->nstmts++;
	}
	snprintf(name, sizeof(name), "st%d", i);
	return PQexecPrepared(conn->pg, name, nparams, params, NULL, NULL, 0);
}

/*
 * After a schema change a prepared statement can fail for good: "cached plan must not change
 * result type" (0A000), a column whose type changed under its fixed parameter types (class 42),
 * or a statement gone from the server (26000). The connection is then replaced at release, and
 * its statements with it: the next checkout prepares them afresh.
 */
static void
forget_stale_statements(struct st_db_conn *conn, PGresult *res)
{
	const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);

	if (state == NULL || conn->nstmts == 0)
		return;
	if (strcmp(state, "0A000") == 0 || strcmp(state, "26000") == 0 ||
	    strncmp(state, "42", 2) == 0)
		conn->bad = true;
}

enum st_err
st_db_query(struct st_db_conn *conn, const char *sql, int nparams, const char *const *params,
	    struct st_db_result **out, char *err, size_t errcap)
{
	PGresult *res = NULL;
	enum st_err rc = ST_OK;

	if (out != NULL)
		*out = NULL;
	if (err != NULL && errcap > 0)
		err[0] = '\0';
	if (conn == NULL || conn->pg == NULL || sql == NULL || nparams < 0 ||
	    (nparams > 0 && params == NULL)) {
		copy_message(err, errcap, "invalid query arguments");
		rc = ST_ERR_INVALID;
		goto out;
	}
	res = run_statement(conn, sql, nparams, params);
	switch (PQresultStatus(res)) {
	case PGRES_COMMAND_OK:
	case PGRES_TUPLES_OK:
	case PGRES_COPY_IN:
	case PGRES_COPY_OUT:
		break;
	default:
		copy_message(err, errcap,
			     res != NULL ? PQresultErrorMessage(res) : PQerrorMessage(conn->pg));
		if (PQstatus(conn->pg) != CONNECTION_OK) {
			conn->bad = true;
			rc = ST_ERR_UNAVAILABLE;
			st_log(ST_LOG_WARN, "db", "connection lost during a query");
		} else if (res == NULL) {
			rc = ST_ERR_INTERNAL; /* out of memory inside libpq */
		} else {
			rc = st_db_err_of_sqlstate(PQresultErrorField(res, PG_DIAG_SQLSTATE));
			if (rc == ST_ERR_UNAVAILABLE)
				conn->bad = true;
			else
				forget_stale_statements(conn, res);
		}
		goto out;
	}
	if (out != NULL) {
		*out = st_malloc(sizeof(**out));
		(*out)->res = res;
		res = NULL; /* the caller owns it now */
	}
out:
	PQclear(res);
	return rc;
}

enum st_err
st_db_pool_query(struct st_db_pool *pool, const char *sql, int nparams, const char *const *params,
		 struct st_db_result **out, char *err, size_t errcap)
{
	struct st_db_conn *conn = NULL;
	enum st_err rc;

	if (out != NULL)
		*out = NULL;
	rc = st_db_acquire(pool, &conn);
	if (rc != ST_OK) {
		copy_message(err, errcap,
			     rc == ST_ERR_TIMEOUT ? "no database connection free in time"
						  : "database unavailable");
		goto out;
	}
	rc = st_db_query(conn, sql, nparams, params, out, err, errcap);
out:
	st_db_release(pool, conn);
	return rc;
}

enum st_err
st_db_begin(struct st_db_conn *conn)
{
	return st_db_query(conn, "BEGIN", 0, NULL, NULL, NULL, 0);
}

enum st_err
st_db_acquire_begin(struct st_db_pool *pool, struct st_db_conn **out)
{
	enum st_err rc = st_db_acquire(pool, out);

	if (rc == ST_OK)
		rc = st_db_begin(*out);
	return rc;
}

enum st_err
st_db_commit(struct st_db_conn *conn)
{
	return st_db_query(conn, "COMMIT", 0, NULL, NULL, NULL, 0);
}

enum st_err
st_db_rollback(struct st_db_conn *conn)
{
	return st_db_query(conn, "ROLLBACK", 0, NULL, NULL, NULL, 0);
}

/*
 * The quiet second after a failed connect spares hot paths a wait on a server that just
 * refused; a readiness probe must say how the server is now, so it always tries.
 */
enum st_err
st_db_ping(struct st_db_pool *pool)
{
	struct st_db_conn *conn = NULL;
	enum st_err rc = acquire(pool, &conn, true);

	if (rc != ST_OK)
		return rc;
	rc = st_db_query(conn, "SELECT 1", 0, NULL, NULL, NULL, 0);
	st_db_release(pool, conn);
	return rc;
}

struct pg_conn *
st_db_conn_pg(struct st_db_conn *conn)
{
	return conn != NULL ? conn->pg : NULL;
}

int
st_db_rows(const struct st_db_result *res)
{
	return res != NULL ? PQntuples(res->res) : 0;
}

int
st_db_cols(const struct st_db_result *res)
{
	return res != NULL ? PQnfields(res->res) : 0;
}

long long
st_db_affected(const struct st_db_result *res)
{
	const char *n;

	if (res == NULL)
		return 0;
	n = PQcmdTuples(res->res);
	return (n != NULL && n[0] != '\0') ? strtoll(n, NULL, 10) : 0;
}

const char *
st_db_get(const struct st_db_result *res, int row, int col)
{
	const char *v;

	if (res == NULL)
		return "";
	v = PQgetvalue(res->res, row, col);
	return v != NULL ? v : "";
}

bool
st_db_is_null(const struct st_db_result *res, int row, int col)
{
	return res == NULL || PQgetisnull(res->res, row, col) != 0;
}

void
st_db_result_free(struct st_db_result *res)
{
	if (res == NULL)
		return;
	PQclear(res->res);
	st_free(res);
}

int
st_db_col(const struct st_db_result *res, const char *name)
{
	return res != NULL ? PQfnumber(res->res, name) : -1;
}

#ifdef ST_TESTING
/* Takes over a PGresult made elsewhere (the unit tests build them with PQsetvalue). */
struct st_db_result *
db_result_wrap(PGresult *res)
{
	struct st_db_result *r = st_malloc(sizeof(*r));

	r->res = res;
	return r;
}
#endif

/*
 * Rewrites a timestamp as PostgreSQL writes it under DateStyle ISO ("2026-01-01
 * 00:00:00.125+00", "... +05:30"; no zone for a timestamp, taken as UTC when utc) as RFC 3339
 * UTC with milliseconds. False for what that cannot say: 'infinity', BC, years past 9999, an
 * offset with seconds (local mean times before 1900).
 */
ST_STATIC bool
db_time_rfc3339(const char *pg, bool utc, char *buf, size_t cap)
{
	char text[48];
	size_t len = strlen(pg), zone;
	int64_t ms;

	if (len < 19 || len + 4 >= sizeof(text) || pg[10] != ' ')
		return false;
	memcpy(text, pg, len + 1);
	text[10] = 'T';
	zone = 19;
	while (zone < len && text[zone] != '+' && text[zone] != '-')
		zone++;
	if (utc) {
		if (zone != len)
			return false;
		memcpy(text + len, "Z", 2);
	} else if (len - zone == 3) {
		memcpy(text + len, ":00", 4); /* "+05" -> "+05:00" */
	} else if (len - zone != 6) {
		return false;
	}
	if (!st_time_parse_rfc3339(text, &ms))
		return false;
	st_time_format_rfc3339(ms, buf, cap);
	return true;
}

/* PostgreSQL type OIDs (pg_type.dat; stable across versions). */
enum {
	OID_BOOL = 16,
	OID_INT8 = 20,
	OID_INT2 = 21,
	OID_INT4 = 23,
	OID_OID = 26,
	OID_JSON = 114,
	OID_FLOAT4 = 700,
	OID_FLOAT8 = 701,
	OID_TIMESTAMP = 1114,
	OID_TIMESTAMPTZ = 1184,
	OID_NUMERIC = 1700,
	OID_JSONB = 3802,
};

static cJSON *
value_json(const PGresult *res, int row, int col)
{
	const char *v = PQgetvalue(res, row, col);
	char when[32];
	cJSON *doc;

	if (PQgetisnull(res, row, col))
		return cJSON_CreateNull();
	switch (PQftype(res, col)) {
	case OID_BOOL:
		return cJSON_CreateBool(v[0] == 't');
	case OID_INT2:
	case OID_INT4:
	case OID_INT8:
	case OID_OID:
	case OID_FLOAT4:
	case OID_FLOAT8:
	case OID_NUMERIC: {
		char *end = NULL;
		double d = strtod(v, &end);

		return end != v && *end == '\0' && isfinite(d) ? cJSON_CreateNumber(d)
							       : cJSON_CreateNull();
	}
	case OID_JSON:
	case OID_JSONB:
		doc = cJSON_Parse(v);
		return doc != NULL ? doc : cJSON_CreateNull();
	case OID_TIMESTAMPTZ:
	case OID_TIMESTAMP:
		if (db_time_rfc3339(v, PQftype(res, col) == OID_TIMESTAMP, when, sizeof(when)))
			return cJSON_CreateString(when);
		return cJSON_CreateString(v);
	default:
		return cJSON_CreateString(v);
	}
}

cJSON *
st_db_row_json(const struct st_db_result *res, int row)
{
	cJSON *o = cJSON_CreateObject();

	for (int col = 0; res != NULL && col < PQnfields(res->res); col++) {
		const char *name = PQfname(res->res, col);

		if (name == NULL || name[0] == '_')
			continue;
		cJSON_AddItemToObject(o, name, value_json(res->res, row, col));
	}
	return o;
}

void
st_db_pool_stats(struct st_db_pool *pool, struct st_db_stats *out)
{
	memset(out, 0, sizeof(*out));
	if (pool == NULL)
		return;
	pthread_mutex_lock(&pool->slots.mu);
	out->open = pool->open;
	out->busy = pool->slots.busy;
	out->checkout_timeouts = pool->slots.timeouts;
	out->reconnects = pool->reconnects;
	pthread_mutex_unlock(&pool->slots.mu);
}
