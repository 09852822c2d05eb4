/*
 * GET /api/v1/sessions/{id}/data/export?format=csv|ndjson&from=&to=&channel=: every reading of
 * a session (within the filters) streamed as chunked CSV (header ts,channel,value, the shape
 * the API takes) or NDJSON, in time order, in constant memory whatever the session's size: a
 * server-side cursor inside a read-only transaction is fetched FETCH_ROWS at a time in binary
 * (exact times and values, no text parsing), formatted into one buffer, and written out as it
 * fills. A client that goes away stops the export and frees the connection at once.
 *
 * An export holds a pooled connection (and a snapshot) for as long as it runs, so at most
 * INGEST_EXPORTS_MAX run at once in a replica; more answer 503 with Retry-After rather than
 * take the connections that posts and the writers need.
 */
#include <arpa/inet.h>
#include <libpq-fe.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "ingest.h"
#include "strata/db.h"
#include "strata/log.h"

#define FETCH_ROWS  5000
#define OUT_CHUNK   (64 * 1024)
#define PG_EPOCH_US INT64_C(946684800000000)

static atomic_int exports_running;

static const char declare_sql[] = "DECLARE readings_export NO SCROLL CURSOR FOR "
				  "SELECT ts, channel, value FROM readings "
				  "WHERE " READINGS_FILTER_SQL "ORDER BY ts, channel";

struct out {
	char buf[OUT_CHUNK + 256];
	size_t len;
	bool csv;
};

static uint64_t
get64(const char *p)
{
	uint32_t hi, lo;

	memcpy(&hi, p, 4);
	memcpy(&lo, p + 4, 4);
	return (uint64_t)ntohl(hi) << 32 | ntohl(lo);
}

/* Appends one row; the caller flushes when the buffer passes OUT_CHUNK. */
static void
format_row(struct out *o, int64_t ts_us, const char *ch, int ch_len, double v)
{
	char ts[40], val[40];
	size_t tl = st_time_format_rfc3339_us(ts_us, ts, sizeof(ts));
	size_t vl = readings_format_value(v, val, sizeof(val));
	int n;

	if (o->csv)
		n = snprintf(o->buf + o->len, sizeof(o->buf) - o->len, "%.*s,%.*s,%.*s\n", (int)tl,
			     ts, ch_len, ch, (int)vl, val);
	else
		n = snprintf(o->buf + o->len, sizeof(o->buf) - o->len,
			     "{\"ts\":\"%.*s\",\"channel\":\"%.*s\",\"value\":%.*s}\n", (int)tl, ts,
			     ch_len, ch, (int)vl, val);
	if (n > 0) /* a cut row (it cannot be: channels are at most 64 bytes) is not counted over */
		o->len += (size_t)n < sizeof(o->buf) - o->len ? (size_t)n
							      : sizeof(o->buf) - o->len - 1;
}

/* FETCHes the next rows in binary. NULL with *rc set on failure. */
static PGresult *
fetch(PGconn *pg, enum st_err *rc)
{
	PGresult *res = PQexecParams(pg, "FETCH 5000 FROM readings_export" /* FETCH_ROWS */, 0,
				     NULL, NULL, NULL, NULL, 1);

	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		*rc = PQstatus(pg) != CONNECTION_OK ? ST_ERR_UNAVAILABLE : ST_ERR_INTERNAL;
		st_log(ST_LOG_WARN, "readings", "export FETCH failed: %s",
		       PQresultErrorMessage(res));
		PQclear(res);
		return NULL;
	}
	*rc = ST_OK;
	return res;
}

/* Streams rows until the cursor is exhausted. Returns ST_ERR_IO when the client left. */
static enum st_err
stream_rows(struct st_req *req, PGconn *pg, PGresult *res, struct out *o)
{
	enum st_err rc = ST_OK;

	while (res != NULL) {
		int rows = PQntuples(res);

		for (int i = 0; i < rows; i++) {
			int64_t ts = (int64_t)get64(PQgetvalue(res, i, 0)) + PG_EPOCH_US;
			uint64_t bits = get64(PQgetvalue(res, i, 2));
			double v;

			memcpy(&v, &bits, 8);
			format_row(o, ts, PQgetvalue(res, i, 1), PQgetlength(res, i, 1), v);
			if (o->len >= OUT_CHUNK) {
				rc = st_http_stream_write(req, o->buf, o->len);
				o->len = 0;
				if (rc != ST_OK)
					break;
			}
		}
		PQclear(res);
		res = NULL;
		if (rc != ST_OK || rows < FETCH_ROWS)
			break;
		res = fetch(pg, &rc);
	}
	if (rc == ST_OK && o->len > 0)
		rc = st_http_stream_write(req, o->buf, o->len);
	return rc;
}

int
readings_export(struct st_req *req, void *ctx)
{
	struct st_app *app = ctx;
	struct ingest_session_ref s;
	struct readings_filter f;
	struct st_db_conn *conn = NULL;
	struct out *o = NULL;
	PGresult *first = NULL;
	char fmt[16] = "csv", disp[128];
	enum st_err rc;
	int status;

	status = readings_filter_parse(req, app, &s, &f);
	if (status != 0)
		return status;
	if (st_http_query(req, "format", fmt, sizeof(fmt)) && strcmp(fmt, "csv") != 0 &&
	    strcmp(fmt, "ndjson") != 0)
		return readings_reply_bad_query(req, "format", "must be csv or ndjson");
	if (atomic_fetch_add(&exports_running, 1) >=
	    (int)st_config_int(app->config, "INGEST_EXPORTS_MAX")) {
		atomic_fetch_sub(&exports_running, 1);
		st_http_add_header(req, "Retry-After", "5");
		return st_http_reply_problem(req, 503, "too many exports at once; retry later");
	}
	rc = st_db_acquire(app->db, &conn);
	if (rc == ST_OK)
		rc = st_db_query(conn, "BEGIN READ ONLY", 0, NULL, NULL, NULL, 0);
	if (rc == ST_OK) {
		const char *params[4];

		readings_filter_params(&s, &f, params);
		rc = st_db_query(conn, declare_sql, 4, params, NULL, NULL, 0);
	}
	if (rc == ST_OK)
		first = fetch(st_db_conn_pg(conn), &rc);
	if (rc != ST_OK) {
		st_db_release(app->db, conn);
		atomic_fetch_sub(&exports_running, 1);
		return st_http_reply_db_error(req, rc, "ingest");
	}
	o = st_malloc(sizeof(*o));
	o->len = 0;
	o->csv = strcmp(fmt, "csv") == 0;
	snprintf(disp, sizeof(disp), "attachment; filename=\"session-%s.%s\"", s.id, fmt);
	st_http_add_header(req, "Content-Disposition", disp);
	status = st_http_stream_begin(req, 200,
				      o->csv ? "text/csv; charset=utf-8" : "application/x-ndjson");
	if (o->csv) {
		memcpy(o->buf, "ts,channel,value\n", 17);
		o->len = 17;
	}
	rc = stream_rows(req, st_db_conn_pg(conn), first, o);
	if (rc == ST_OK) {
		st_http_stream_end(req);
	} else {
		st_log(ST_LOG_INFO, "readings", "export stopped err=%s", st_err_str(rc));
		st_http_stream_abort(req);
	}
	st_free(o);
	st_db_release(app->db, conn); /* rolls the read-only transaction back, closing the cursor */
	atomic_fetch_sub(&exports_running, 1);
	return status;
}
