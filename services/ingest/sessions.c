/*
 * Sessions: create under a project, list across the caller's projects, read, change (while
 * not closed), and move through the state machine of session_state.c (start, stop, complete,
 * fail).
 *
 * Every change is made in a transaction that holds the session's row lock (the INSERT's new
 * row, or SELECT ... FOR UPDATE), publishes its event (events.c) and commits only after Kafka
 * acknowledged it; when Kafka fails, the change is rolled back and the answer is 503 with
 * Retry-After. Two concurrent moves of one session queue on the row lock: the second sees the
 * first one's state and answers 409 if its move is no longer legal. The UPDATE also carries
 * the legal source states in its WHERE clause, so that the guard holds even without the lock.
 *
 * A session's subject must belong to the session's project (422 otherwise); device names are
 * 1 to 128 characters of [A-Za-z0-9._:-], as they travel in the device commands.
 */
#include <stdio.h>
#include <string.h>

#include "ingest.h"
#include "strata/db.h"
#include "strata/log.h"

/* created_by for a caller whose subject is not a user id (a service): the nil UUID. */
#define NIL_UUID "00000000-0000-0000-0000-000000000000"

/* clang-format off */
#define SESSION_COLS                                                                               \
	"id, project_id, subject_id, device, status, metadata, created_by, created_at, "           \
	"updated_at, started_at, stopped_at, " INGEST_CURSOR("created_at", "id")

static const char create_sql[] =
	"INSERT INTO sessions (id, project_id, subject_id, device, metadata, created_by) "
	"VALUES ($1::uuid, $2::uuid, $3::uuid, $4, coalesce($5::jsonb, '{}'::jsonb), $6::uuid) "
	"RETURNING " SESSION_COLS;

/* $1 admin, $2 caller, $3 project, $4 status, $5/$6 cursor, $7 limit. */
static const char list_sql[] =
	"SELECT " SESSION_COLS " FROM sessions s "
	"WHERE ($1::boolean OR EXISTS (SELECT 1 FROM project_members m "
	"WHERE m.project_id = s.project_id AND m.user_id = $2::uuid)) "
	"AND ($3::uuid IS NULL OR s.project_id = $3::uuid) "
	"AND ($4::text IS NULL OR s.status = $4::text) "
	"AND ($5::bigint IS NULL OR (s.created_at, s.id) > ('epoch'::timestamptz "
	"+ $5::bigint * interval '1 microsecond', $6::uuid)) "
	"ORDER BY s.created_at, s.id LIMIT $7::int";

static const char get_sql[] = "SELECT " SESSION_COLS " FROM sessions WHERE id = $1::uuid";

static const char patch_sql[] =
	"UPDATE sessions SET "
	"subject_id = CASE WHEN $2::boolean THEN $3::uuid ELSE subject_id END, "
	"device = CASE WHEN $4::boolean THEN $5 ELSE device END, "
	"metadata = CASE WHEN $6::boolean THEN coalesce($7::jsonb, '{}'::jsonb) ELSE metadata END, "
	"updated_at = now() "
	"WHERE id = $1::uuid AND status NOT IN ('completed', 'failed') RETURNING " SESSION_COLS;

/* $2 the new status, $3 the states the move is legal from. */
static const char move_sql[] =
	"UPDATE sessions SET status = $2, updated_at = now(), "
	"started_at = CASE WHEN $2 = 'running' THEN now() ELSE started_at END, "
	"stopped_at = CASE WHEN $2 = 'stopped' OR ($2 = 'failed' AND status = 'running') "
	"THEN now() ELSE stopped_at END "
	"WHERE id = $1::uuid AND status = ANY ($3::text[]) RETURNING " SESSION_COLS;
/* clang-format on */

enum { COL_ID = 0, COL_DEVICE = 3 }; /* in SESSION_COLS */

/* A body's fields, in the order of the statements' parameters; null clears each. */
static const struct st_field fields[] = {
	{ "subject_id", ST_FIELD_UUID, ST_FIELD_NULLABLE,
	  .detail = "must be a subject id (a UUID)" },
	{ "device", ST_FIELD_TEXT, ST_FIELD_NULLABLE,
	  .detail = "must be 1 to 128 characters of A-Z a-z 0-9 . _ : -",
	  .check = ingest_device_ok },
	{ "metadata", ST_FIELD_OBJECT, ST_FIELD_NULLABLE, .max = INGEST_METADATA_MAX },
};
enum { F_SUBJECT, F_DEVICE, F_META };

/* Checks inside the transaction that subject belongs to project (and keeps it from being
 * deleted until commit). Returns 0, 422 after replying, or -1 with *rc for a database error. */
static int
check_subject(struct st_req *req, struct st_db_conn *conn, const char *subject, const char *project,
	      enum st_err *rc)
{
	const char *params[] = { subject, project };
	struct st_db_result *res = NULL;
	struct st_json_errs errs;
	int rows;

	*rc = st_db_query(conn,
			  "SELECT 1 FROM subjects WHERE id = $1::uuid AND project_id = $2::uuid "
			  "FOR KEY SHARE",
			  2, params, &res, NULL, 0);
	if (*rc != ST_OK)
		return -1;
	rows = st_db_rows(res);
	st_db_result_free(res);
	if (rows > 0)
		return 0;
	st_json_errs_init(&errs);
	st_json_errs_add(&errs, "subject_id", "names no subject of this project");
	return st_http_reply_invalid(req, 422, "the session is not valid", &errs);
}

/*
 * Publishes the change in res (row 0) with event type and command, then commits, then
 * answers ok_status (201 with location when location is non-NULL). Returns the status. On a
 * failure the caller's release of conn rolls the change back.
 */
static int
publish_commit_reply(struct st_req *req, struct st_app *app, struct st_db_conn *conn,
		     const struct st_db_result *res, const char *type, const char *command,
		     const char *location)
{
	const char *id = st_db_get(res, 0, COL_ID);
	cJSON *out;
	enum st_err rc;
	int status;

	rc = ingest_session_publish(app, id, type, st_db_row_json(res, 0),
				    st_db_get(res, 0, COL_DEVICE), command);
	if (rc != ST_OK)
		return ingest_reply_kafka_error(req, rc);
	rc = st_db_commit(conn);
	if (rc != ST_OK) {
		/* The event is out and the change is not: consumers tolerate it (events.c). */
		st_log(ST_LOG_WARN, "sessions", "%s published but the commit failed: %s", type,
		       st_err_str(rc));
		return st_http_reply_db_error(req, rc, "ingest");
	}
	out = st_db_row_json(res, 0);
	if (location != NULL)
		status = st_http_reply_created(req, location, out);
	else
		status = st_http_reply_json(req, 200, out);
	cJSON_Delete(out);
	return status;
}

/* Checks out a connection and begins a transaction on it. Returns 0, or the status replied. */
static int
begin(struct st_req *req, struct st_app *app, struct st_db_conn **conn)
{
	enum st_err rc = st_db_acquire_begin(app->db, conn);

	return rc == ST_OK ? 0 : st_http_reply_db_error(req, rc, "ingest");
}

int
sessions_create(struct st_req *req, void *ctx)
{
	struct st_app *app = ctx;
	const char *project = st_http_param(req, "id");
	const char *caller = ingest_caller_id(req);
	struct st_fields v = { 0 };
	struct st_db_conn *conn = NULL;
	struct st_db_result *res = NULL;
	char id[INGEST_UUID_LEN], loc[96];
	enum st_err rc = ST_OK;
	int status;

	status = ingest_project_access(req, app, project, INGEST_WRITE, NULL);
	if (status == 0)
		status = st_fields_read(req, fields, ST_ARRAY_LEN(fields), ST_FIELDS_WHOLE, &v,
					"the session is not valid");
	if (status == 0)
		status = begin(req, app, &conn);
	if (status == 0 && v.params[F_SUBJECT] != NULL)
		status = check_subject(req, conn, v.params[F_SUBJECT], project, &rc);
	if (status != 0)
		goto out;
	st_uuid_v4(id, sizeof(id));
	{
		const char *params[] = { id,
					 project,
					 v.params[F_SUBJECT],
					 v.params[F_DEVICE],
					 v.params[F_META],
					 caller != NULL ? caller : NIL_UUID };

		rc = st_db_query(conn, create_sql, 6, params, &res, NULL, 0);
	}
	if (rc != ST_OK) {
		status = -1;
		goto out;
	}
	snprintf(loc, sizeof(loc), "/api/v1/sessions/%s", id);
	status = publish_commit_reply(req, app, conn, res, "strata.session.created", NULL, loc);
out:
	if (status < 0)
		status = st_http_reply_db_error(req, rc, "ingest");
	st_db_result_free(res);
	st_db_release(app->db, conn);
	st_fields_cleanup(&v);
	return status;
}

int
sessions_list(struct st_req *req, void *ctx)
{
	struct st_app *app = ctx;
	char project[64], status_q[32];
	const char *params[7] = { NULL };
	struct st_json_errs errs;
	struct st_page pg;
	enum ingest_status st;
	int status;

	status = st_page_read(req, INGEST_LIST_DEFAULT, INGEST_LIST_MAX, &pg);
	if (status != 0)
		return status;
	st_json_errs_init(&errs);
	if (st_http_query(req, "project", project, sizeof(project))) {
		if (st_uuid_valid(project))
			params[2] = project;
		else
			st_json_errs_add(&errs, "project", "must be a project id (a UUID)");
	}
	if (st_http_query(req, "status", status_q, sizeof(status_q))) {
		if (ingest_status_parse(status_q, &st))
			params[3] = status_q;
		else
			st_json_errs_add(&errs, "status",
					 "must be created, running, stopped, completed or failed");
	}
	if (errs.total > 0)
		return st_http_reply_invalid(req, 400, "invalid query parameters", &errs);
	params[0] = ingest_is_admin(st_http_principal(req)) ? "true" : "false";
	params[1] = ingest_caller_id(req);
	params[4] = pg.after_micros;
	params[5] = pg.after_id;
	params[6] = pg.fetch;
	return st_http_reply_page(req, app->db, list_sql, 7, params, &pg);
}

int
sessions_get(struct st_req *req, void *ctx)
{
	struct st_app *app = ctx;
	const char *id = st_http_param(req, "id");
	const char *params[] = { id };
	struct ingest_session_ref ref;
	char missing[96];
	struct st_http_row_opts opts = { .missing = missing };
	int status;

	status = ingest_session_access(req, app, id, INGEST_READ, &ref);
	if (status != 0)
		return status;
	snprintf(missing, sizeof(missing), "no session %s", id);
	return st_http_reply_row(req, app->db, get_sql, 1, params, &opts);
}

/* Locks session id's row inside conn's transaction and reads its state. Returns 0 with *st
 * set, 404 after replying when it is gone, or -1 with *rc for a database error. */
static int
lock_session(struct st_req *req, struct st_db_conn *conn, const char *id, enum ingest_status *st,
	     enum st_err *rc)
{
	const char *params[] = { id };
	struct st_db_result *res = NULL;
	bool known;

	*rc = st_db_query(conn, "SELECT status FROM sessions WHERE id = $1::uuid FOR UPDATE", 1,
			  params, &res, NULL, 0);
	if (*rc != ST_OK)
		return -1;
	if (st_db_rows(res) == 0) {
		st_db_result_free(res);
		return st_http_reply_problem(req, 404, "no session %s", id);
	}
	known = ingest_status_parse(st_db_get(res, 0, 0), st);
	st_db_result_free(res);
	if (!known) {
		*rc = ST_ERR_INTERNAL;
		return -1;
	}
	return 0;
}

int
sessions_patch(struct st_req *req, void *ctx)
{
	struct st_app *app = ctx;
	const char *id = st_http_param(req, "id");
	const char *params[1 + 2 * ST_ARRAY_LEN(fields)] = { id };
	struct ingest_session_ref ref;
	struct st_fields v = { 0 };
	struct st_db_conn *conn = NULL;
	struct st_db_result *res = NULL;
	enum ingest_status st;
	enum st_err rc = ST_OK;
	size_t n;
	int status;

	status = ingest_session_access(req, app, id, INGEST_WRITE, &ref);
	if (status == 0)
		status = st_fields_read(req, fields, ST_ARRAY_LEN(fields), ST_FIELDS_PATCH, &v,
					"the session is not valid");
	if (status == 0)
		status = begin(req, app, &conn);
	if (status == 0)
		status = lock_session(req, conn, id, &st, &rc);
	if (status == 0 && ingest_status_closed(st))
		status = st_http_reply_problem(
			req, 409, "the session is %s: a closed session does not change",
			ingest_status_name(st));
	if (status == 0 && v.params[F_SUBJECT] != NULL)
		status = check_subject(req, conn, v.params[F_SUBJECT], ref.project_id, &rc);
	if (status != 0)
		goto out;
	n = 1 + st_fields_patch_params(&v, params + 1, ST_ARRAY_LEN(params) - 1);
	rc = st_db_query(conn, patch_sql, (int)n, params, &res, NULL, 0);
	if (rc != ST_OK)
		status = -1;
	else if (st_db_rows(res) == 0) /* the lock makes this unreachable; the guard stays */
		status = st_http_reply_problem(req, 409, "the session is closed");
	else
		status = publish_commit_reply(req, app, conn, res, "strata.session.updated", NULL,
					      NULL);
out:
	if (status < 0)
		status = st_http_reply_db_error(req, rc, "ingest");
	st_db_result_free(res);
	st_db_release(app->db, conn);
	st_fields_cleanup(&v);
	return status;
}

/* One move of the state machine: lock, check the table, update, publish, commit. */
static int
session_move(struct st_req *req, struct st_app *app, enum ingest_action action)
{
	const char *id = st_http_param(req, "id");
	struct ingest_session_ref ref;
	struct ingest_move mv;
	struct st_db_conn *conn = NULL;
	struct st_db_result *res = NULL;
	enum ingest_status from;
	char from_set[64];
	enum st_err rc = ST_OK;
	int status;

	status = ingest_session_access(req, app, id, INGEST_WRITE, &ref);
	if (status != 0)
		return status;
	status = begin(req, app, &conn);
	if (status == 0)
		status = lock_session(req, conn, id, &from, &rc);
	if (status < 0)
		status = st_http_reply_db_error(req, rc, "ingest");
	if (status != 0)
		goto out;
	if (!ingest_session_move(action, from, &mv)) {
		status =
			st_http_reply_problem(req, 409, "cannot %s a session that is %s",
					      ingest_action_name(action), ingest_status_name(from));
		goto out;
	}
	ingest_session_from_array(action, from_set, sizeof(from_set));
	{
		const char *params[] = { id, ingest_status_name(mv.to), from_set };

		rc = st_db_query(conn, move_sql, 3, params, &res, NULL, 0);
	}
	if (rc != ST_OK) {
		status = st_http_reply_db_error(req, rc, "ingest");
		goto out;
	}
	if (st_db_rows(res) == 0) { /* unreachable under the row lock; the guard stays */
		status = st_http_reply_problem(req, 409, "the session changed meanwhile");
		goto out;
	}
	status = publish_commit_reply(req, app, conn, res, mv.event, mv.command, NULL);
out:
	st_db_result_free(res);
	st_db_release(app->db, conn);
	return status;
}

int
sessions_act(struct st_req *req, void *ctx)
{
	const char *slash = strrchr(st_http_path(req), '/');
	enum ingest_action action;

	/* The route table only sends the four action paths here. */
	if (slash == NULL || !ingest_action_parse(slash + 1, &action))
		return st_http_reply_problem(req, 404, "no such action");
	return session_move(req, ctx, action);
}
