/*
 * Diagnosis results of a session: POST /api/v1/sessions/{id}/results takes the device's CSV file
 * (results_parse.c says what it must hold), scores it with the project's category weights and
 * stores the summary with the rows; GET answers the stored summary.
 *
 * A session has at most one result: a new upload replaces the earlier one (its rows too) and
 * answers 200 instead of 201; created_at stays, updated_at moves. Uploading needs INGEST_POST
 * (a device key with scope ingest, or a member with write), reading INGEST_READ.
 *
 * Durability: the result is stored and its event ("strata.session.results" on strata.sessions,
 * keyed by session id, data: the answer's document) is published inside one transaction, the
 * publish acknowledged by Kafka before COMMIT. If Kafka refuses, the transaction rolls back and
 * the caller gets 503 with Retry-After, so a stored result always has its event. If the COMMIT
 * itself fails after the publish, the event is out without a stored result; the caller got an
 * error and uploads again, which publishes again: consumers must treat the event as "the latest
 * result of this session", replaceable, never as a count.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "ingest.h"
#include "strata/db.h"
#include "strata/kafka.h"
#include "strata/log.h"

#define RESULTS_EVENT_TYPE "strata.session.results"
#define RETRY_AFTER_S      2

/* A timestamptz column as RFC 3339 UTC with milliseconds. */
#define TS(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"

/* clang-format off */
static const char weights_sql[] =
	"SELECT coalesce(settings -> 'category_weights', 'null'::jsonb)::text "
	"FROM projects WHERE id = $1::uuid";

/* The first column tells an insert (true) from a replacement (false). */
static const char upsert_sql[] =
	"INSERT INTO session_results (session_id, rows, score, summary) "
	"VALUES ($1::uuid, $2::int, $3::float8, $4::jsonb) "
	"ON CONFLICT (session_id) DO UPDATE SET rows = EXCLUDED.rows, score = EXCLUDED.score, "
	"summary = EXCLUDED.summary, updated_at = now() "
	"RETURNING xmax = 0, " TS("created_at") ", " TS("updated_at");

static const char delete_items_sql[] = "DELETE FROM result_items WHERE session_id = $1::uuid";

static const char insert_items_sql[] =
	"INSERT INTO result_items (session_id, line, item, category, response, correct, "
	"reaction_ms) "
	"SELECT $1::uuid, x.line, x.item, x.category, x.response, x.correct, x.reaction_ms "
	"FROM jsonb_to_recordset($2::jsonb) AS x(line int, item text, category text, "
	"response text, correct boolean, reaction_ms float8)";

static const char get_sql[] =
	"SELECT summary::text, " TS("created_at") ", " TS("updated_at") " "
	"FROM session_results WHERE session_id = $1::uuid";
/* clang-format on */

/* True for Content-Type text/csv, with or without parameters (charset=utf-8, header=present). */
static bool
is_csv(const char *ctype)
{
	size_t n = strlen("text/csv");

	if (ctype == NULL || strncasecmp(ctype, "text/csv", n) != 0)
		return false;
	return ctype[n] == '\0' || ctype[n] == ';' || ctype[n] == ' ';
}

/* The rows as a JSON array for jsonb_to_recordset. The caller owns the string. */
static char *
rows_json(const struct ingest_results *r)
{
	cJSON *arr = cJSON_CreateArray();
	char *text;

	for (size_t i = 0; i < r->n; i++) {
		const struct ingest_result_row *row = &r->rows[i];
		cJSON *o = cJSON_CreateObject();

		cJSON_AddNumberToObject(o, "line", row->line);
		cJSON_AddStringToObject(o, "item", row->item);
		cJSON_AddStringToObject(o, "category", row->category);
		cJSON_AddStringToObject(o, "response", row->response);
		cJSON_AddBoolToObject(o, "correct", row->correct);
		cJSON_AddNumberToObject(o, "reaction_ms", row->reaction_ms);
		cJSON_AddItemToArray(arr, o);
	}
	text = st_json_print(arr, NULL);
	cJSON_Delete(arr);
	return text;
}

/* The project's settings.category_weights into *weights (NULL when none; the caller deletes). */
static enum st_err
read_weights(struct st_app *app, const char *project_id, cJSON **weights)
{
	const char *params[] = { project_id };
	struct st_db_result *res = NULL;
	enum st_err rc;

	*weights = NULL;
	rc = st_db_pool_query(app->db, weights_sql, 1, params, &res, NULL, 0);
	if (rc != ST_OK)
		return rc;
	if (st_db_rows(res) == 0) {
		rc = ST_ERR_NOT_FOUND; /* the project went away since the access check */
	} else {
		*weights = cJSON_Parse(st_db_get(res, 0, 0));
		if (*weights == NULL)
			rc = ST_ERR_INTERNAL;
	}
	st_db_result_free(res);
	return rc;
}

/*
 * Stores the result of session ref with its rows and publishes doc (the answer without its
 * times, which this adds from the database) in one transaction. *created tells an insert from
 * a replacement.
 */
static enum st_err
store(struct st_app *app, const struct ingest_session_ref *ref, const struct ingest_results *r,
      double score, cJSON *doc, bool *created)
{
	struct st_db_conn *conn = NULL;
	struct st_db_result *res = NULL;
	char *summary = st_json_print(doc, NULL), *rows = NULL;
	char nrows[24], score_s[40];
	enum st_err rc;

	snprintf(nrows, sizeof(nrows), "%zu", r->n);
	snprintf(score_s, sizeof(score_s), "%.17g", score);
	rc = st_db_acquire_begin(app->db, &conn);
	if (rc != ST_OK)
		goto out;
	{
		const char *params[] = { ref->id, nrows, score_s, summary };

		rc = st_db_query(conn, upsert_sql, 4, params, &res, NULL, 0);
	}
	if (rc == ST_OK) {
		*created = strcmp(st_db_get(res, 0, 0), "t") == 0;
		cJSON_AddStringToObject(doc, "created_at", st_db_get(res, 0, 1));
		cJSON_AddStringToObject(doc, "updated_at", st_db_get(res, 0, 2));
	}
	if (rc == ST_OK && !*created) {
		const char *params[] = { ref->id };

		rc = st_db_query(conn, delete_items_sql, 1, params, NULL, NULL, 0);
	}
	if (rc == ST_OK) {
		const char *params[2];

		rows = rows_json(r);
		params[0] = ref->id;
		params[1] = rows;
		rc = st_db_query(conn, insert_items_sql, 2, params, NULL, NULL, 0);
	}
	if (rc == ST_OK) {
		rc = ingest_session_event(app, ref->id, RESULTS_EVENT_TYPE,
					  cJSON_Duplicate(doc, true));
		if (rc != ST_OK) {
			st_log(ST_LOG_WARN, "results",
			       "cannot publish the result event (%s) session=%s", st_err_str(rc),
			       ref->id);
			rc = ST_ERR_UNAVAILABLE; /* Kafka's reason is logged; the caller retries */
		}
	}
	if (rc == ST_OK)
		rc = st_db_commit(conn);
	else
		st_db_rollback(conn);
out:
	st_db_result_free(res);
	st_db_release(app->db, conn);
	st_free(summary);
	st_free(rows);
	return rc;
}

int
results_post(struct st_req *req, void *ctx)
{
	struct st_app *app = ctx;
	struct ingest_session_ref ref;
	struct ingest_results rows = { 0 };
	struct ingest_score score = { 0 };
	struct st_json_errs errs;
	cJSON *weights = NULL, *doc = NULL;
	const char *body = NULL;
	size_t len = 0;
	bool created = false;
	char location[128];
	enum st_err rc;
	int status;

	st_json_errs_init(&errs);
	status = ingest_session_access(req, app, st_http_param(req, "id"), INGEST_POST, &ref);
	if (status != 0)
		return status;
	if (!is_csv(st_http_header(req, "Content-Type")))
		return st_http_reply_problem(req, 415, "send the results as text/csv");
	rc = st_http_body(req, &body, &len);
	if (rc == ST_ERR_TOO_LARGE)
		return st_http_reply_problem(req, 413, "the file is over %lld bytes",
					     st_config_int(app->config, "HTTP_BODY_MAX"));
	if (rc != ST_OK)
		return st_http_reply_problem(req, 400, "the body could not be read");
	rc = ingest_results_parse(body, len,
				  (size_t)st_config_int(app->config, "INGEST_RESULTS_MAX_ROWS"),
				  &rows, &errs);
	if (rc == ST_ERR_TOO_LARGE) {
		status = st_http_reply_problem(
			req, 413, "the file has more than %lld result lines",
			st_config_int(app->config, "INGEST_RESULTS_MAX_ROWS"));
		goto out;
	}
	if (rc != ST_OK) {
		char detail[96];

		snprintf(detail, sizeof(detail), "the results file has %zu error%s", errs.total,
			 errs.total == 1 ? "" : "s");
		status = st_http_reply_invalid(req, 400, detail, &errs);
		goto out;
	}
	rc = read_weights(app, ref.project_id, &weights);
	if (rc == ST_ERR_NOT_FOUND) {
		status = st_http_reply_problem(req, 404, "no session %s", ref.id);
		goto out;
	}
	if (rc != ST_OK) {
		status = st_http_reply_db_error(req, rc, "ingest");
		goto out;
	}
	if (ingest_results_score(&rows, weights, &score, &errs) != ST_OK) {
		status = st_http_reply_invalid(
			req, 422, "the project's category weights cannot be used: fix its settings",
			&errs);
		goto out;
	}
	doc = ingest_score_json(&score);
	cJSON_AddStringToObject(doc, "session_id", ref.id);
	cJSON_AddStringToObject(doc, "project_id", ref.project_id);
	rc = store(app, &ref, &rows, score.score, doc, &created);
	if (rc == ST_ERR_UNAVAILABLE || rc == ST_ERR_TIMEOUT) {
		status = st_http_reply_unavailable(req, RETRY_AFTER_S, "the database or Kafka");
		goto out;
	}
	if (rc != ST_OK) {
		status = st_http_reply_db_error(req, rc, "ingest");
		goto out;
	}
	st_log(ST_LOG_INFO, "results", "results stored session=%s rows=%zu score=%.2f replaced=%d",
	       ref.id, rows.n, score.score, !created);
	snprintf(location, sizeof(location), "/api/v1/sessions/%s/results", ref.id);
	status = created ? st_http_reply_created(req, location, doc)
			 : st_http_reply_json(req, 200, doc);
out:
	cJSON_Delete(doc);
	cJSON_Delete(weights);
	ingest_score_cleanup(&score);
	ingest_results_cleanup(&rows);
	return status;
}

int
results_get(struct st_req *req, void *ctx)
{
	struct st_app *app = ctx;
	struct ingest_session_ref ref;
	struct st_db_result *res = NULL;
	cJSON *doc = NULL;
	enum st_err rc;
	int status;

	status = ingest_session_access(req, app, st_http_param(req, "id"), INGEST_READ, &ref);
	if (status != 0)
		return status;
	{
		const char *params[] = { ref.id };

		rc = st_db_pool_query(app->db, get_sql, 1, params, &res, NULL, 0);
	}
	if (rc != ST_OK)
		return st_http_reply_db_error(req, rc, "ingest");
	if (st_db_rows(res) == 0) {
		st_db_result_free(res);
		return st_http_reply_problem(req, 404, "session %s has no results yet", ref.id);
	}
	doc = cJSON_Parse(st_db_get(res, 0, 0));
	if (!cJSON_IsObject(doc)) {
		st_log(ST_LOG_ERROR, "results", "stored summary does not parse session=%s", ref.id);
		status = st_http_reply_problem(req, 500, "internal error");
		goto out;
	}
	cJSON_AddStringToObject(doc, "created_at", st_db_get(res, 0, 1));
	cJSON_AddStringToObject(doc, "updated_at", st_db_get(res, 0, 2));
	status = st_http_reply_json(req, 200, doc);
out:
	cJSON_Delete(doc);
	st_db_result_free(res);
	return status;
}
