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
	"id, project_id, subject_id, device, status, metadata::text, created_by, "                 \
	INGEST_TS("created_at") ", " INGEST_TS("updated_at") ", " INGEST_TS("started_at") ", "     \
	INGEST_TS("stopped_at") ", " INGEST_MICROS("created_at")

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

enum {
	COL_ID,
	COL_PROJECT,
	COL_SUBJECT,
	COL_DEVICE,
	COL_STATUS,
	COL_META,
	COL_BY,
	COL_CREATED,
	COL_UPDATED,
	COL_STARTED,
	COL_STOPPED,
	COL_MICROS
};

static void
add_nullable(cJSON *o, const char *name, const struct st_db_result *res, int row, int col)
{
	if (st_db_is_null(res, row, col))
		cJSON_AddNullToObject(o, name);
	else
		cJSON_AddStringToObject(o, name, st_db_get(res, row, col));
}

static cJSON *
session_json(const struct st_db_result *res, int row)
{
	cJSON *o = cJSON_CreateObject();
	cJSON *meta = cJSON_Parse(st_db_get(res, row, COL_META));

	cJSON_AddStringToObject(o, "id", st_db_get(res, row, COL_ID));
	cJSON_AddStringToObject(o, "project_id", st_db_get(res, row, COL_PROJECT));
	add_nullable(o, "subject_id", res, row, COL_SUBJECT);
	add_nullable(o, "device", res, row, COL_DEVICE);
	cJSON_AddStringToObject(o, "status", st_db_get(res, row, COL_STATUS));
	cJSON_AddItemToObject(o, "metadata", meta != NULL ? meta : cJSON_CreateObject());
	cJSON_AddStringToObject(o, "created_by", st_db_get(res, row, COL_BY));
	cJSON_AddStringToObject(o, "created_at", st_db_get(res, row, COL_CREATED));
	cJSON_AddStringToObject(o, "updated_at", st_db_get(res, row, COL_UPDATED));
	add_nullable(o, "started_at", res, row, COL_STARTED);
	add_nullable(o, "stopped_at", res, row, COL_STOPPED);
	return o;
}

/* The fields of a create or patch body. set_* say the field was present (null included). */
struct session_fields {
	const char *subject_id, *device;
	char *metadata; /* owned (st_free) */
	bool set_subject, set_device, set_meta;
};

static void
session_parse(const cJSON *body, struct session_fields *f, struct st_json_errs *errs)
{
	static const char *const allowed[] = { "subject_id", "device", "metadata", NULL };
	const cJSON *meta = NULL;

	memset(f, 0, sizeof(*f));
	f->set_subject = cJSON_GetObjectItemCaseSensitive(body, "subject_id") != NULL;
	if (st_json_get_str(body, "subject_id", false, 64, &f->subject_id, errs) &&
	    f->subject_id != NULL && !st_uuid_valid(f->subject_id))
		st_json_errs_add(errs, "subject_id", "must be a subject id (a UUID)");
	f->set_device = cJSON_GetObjectItemCaseSensitive(body, "device") != NULL;
	if (st_json_get_str(body, "device", false, 0, &f->device, errs) && f->device != NULL &&
	    !ingest_device_valid(f->device))
		st_json_errs_add(errs, "device",
				 "must be 1 to 128 characters of A-Z a-z 0-9 . _ : -");
	f->set_meta = cJSON_GetObjectItemCaseSensitive(body, "metadata") != NULL;
	if (st_json_get_obj(body, "metadata", false, cJSON_Object, &meta, errs) && meta != NULL) {
		if (ingest_json_fits(meta, INGEST_METADATA_MAX))
			f->metadata = st_json_print(meta, NULL);
		else
			st_json_errs_add(errs, "metadata", "must be at most %d bytes of JSON",
					 INGEST_METADATA_MAX);
	}
	st_json_reject_unknown(body, allowed, errs);
}

/* Reads and validates a JSON object body into f. Returns 0, or the status it replied. */
static int
read_fields(struct st_req *req, struct session_fields *f, cJSON **body)
{
	struct st_json_errs errs;
	int status = st_http_body_json_object(req, body);

	memset(f, 0, sizeof(*f));
	if (status != 0)
		return status;
	st_json_errs_init(&errs);
	session_parse(*body, f, &errs);
	if (errs.total > 0)
		return st_http_reply_invalid(req, 400, "the session is not valid", &errs);
	return 0;
}

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

	rc = ingest_session_publish(app, id, type, session_json(res, 0),
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
	out = session_json(res, 0);
	if (location != NULL)
		status = st_http_reply_created(req, location, out);
	else
		status = st_http_reply_json(req, 200, out);
	cJSON_Delete(out);
	return status;
}

int
sessions_create(struct st_req *req, void *ctx)
{
	struct st_app *app = ctx;
	const char *project = st_http_param(req, "id");
	const char *caller = ingest_caller_id(req);
	struct session_fields f;
	struct st_db_conn *conn = NULL;
	struct st_db_result *res = NULL;
	cJSON *body = NULL;
	char id[INGEST_UUID_LEN], loc[96];
	enum st_err rc;
	int status;

	status = ingest_project_access(req, app, project, INGEST_WRITE, NULL);
	if (status != 0)
		return status;
	status = read_fields(req, &f, &body);
	if (status != 0)
		goto out;
	rc = st_db_acquire(app->db, &conn);
	if (rc == ST_OK)
		rc = st_db_begin(conn);
	if (rc != ST_OK) {
		status = st_http_reply_db_error(req, rc, "ingest");
		goto out;
	}
	if (f.subject_id != NULL) {
		status = check_subject(req, conn, f.subject_id, project, &rc);
		if (status < 0)
			status = st_http_reply_db_error(req, rc, "ingest");
		if (status != 0)
			goto out;
	}
	st_uuid_v4(id, sizeof(id));
	{
		const char *params[] = { id,       project,    f.subject_id,
					 f.device, f.metadata, caller != NULL ? caller : NIL_UUID };

		rc = st_db_query(conn, create_sql, 6, params, &res, NULL, 0);
	}
	if (rc != ST_OK) {
		status = st_http_reply_db_error(req, rc, "ingest");
		goto out;
	}
	snprintf(loc, sizeof(loc), "/api/v1/sessions/%s", id);
	status = publish_commit_reply(req, app, conn, res, "strata.session.created", NULL, loc);
out:
	st_db_result_free(res);
	st_db_release(app->db, conn);
	st_free(f.metadata);
	cJSON_Delete(body);
	return status;
}

int
sessions_list(struct st_req *req, void *ctx)
{
	struct st_app *app = ctx;
	char micros[24], after[INGEST_UUID_LEN], lim[16], project[64], status_q[32];
	const char *params[7];
	struct st_json_errs errs;
	struct st_db_result *res = NULL;
	enum ingest_status st;
	cJSON *page, *items;
	int limit, rows, status;
	enum st_err rc;

	status = ingest_page_params(req, &limit, micros, sizeof(micros), after, sizeof(after));
	if (status != 0)
		return status;
	st_json_errs_init(&errs);
	params[2] = NULL;
	params[3] = NULL;
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
	snprintf(lim, sizeof(lim), "%d", limit + 1);
	params[0] = ingest_is_admin(st_http_principal(req)) ? "true" : "false";
	params[1] = ingest_caller_id(req);
	params[4] = micros[0] != '\0' ? micros : NULL;
	params[5] = after[0] != '\0' ? after : NULL;
	params[6] = lim;
	rc = st_db_pool_query(app->db, list_sql, 7, params, &res, NULL, 0);
	if (rc != ST_OK)
		return st_http_reply_db_error(req, rc, "ingest");
	rows = st_db_rows(res);
	page = cJSON_CreateObject();
	items = cJSON_AddArrayToObject(page, "items");
	for (int i = 0; i < rows && i < limit; i++)
		cJSON_AddItemToArray(items, session_json(res, i));
	ingest_page_next(page, res, rows, limit, COL_MICROS, COL_ID);
	status = st_http_reply_json(req, 200, page);
	cJSON_Delete(page);
	st_db_result_free(res);
	return status;
}

int
sessions_get(struct st_req *req, void *ctx)
{
	struct st_app *app = ctx;
	const char *id = st_http_param(req, "id");
	struct ingest_session_ref ref;
	struct st_db_result *res = NULL;
	cJSON *out;
	enum st_err rc;
	int status;

	status = ingest_session_access(req, app, id, INGEST_READ, &ref);
	if (status != 0)
		return status;
	{
		const char *params[] = { id };

		rc = st_db_pool_query(app->db,
				      "SELECT " SESSION_COLS " FROM sessions WHERE id = $1::uuid",
				      1, params, &res, NULL, 0);
	}
	if (rc != ST_OK)
		return st_http_reply_db_error(req, rc, "ingest");
	if (st_db_rows(res) == 0) {
		st_db_result_free(res);
		return st_http_reply_problem(req, 404, "no session %s", id);
	}
	out = session_json(res, 0);
	status = st_http_reply_json(req, 200, out);
	cJSON_Delete(out);
	st_db_result_free(res);
	return status;
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
	struct ingest_session_ref ref;
	struct session_fields f = { 0 };
	struct st_db_conn *conn = NULL;
	struct st_db_result *res = NULL;
	enum ingest_status st;
	cJSON *body = NULL;
	enum st_err rc = ST_OK;
	int status;

	status = ingest_session_access(req, app, id, INGEST_WRITE, &ref);
	if (status != 0)
		return status;
	status = read_fields(req, &f, &body);
	if (status != 0)
		goto out;
	rc = st_db_acquire(app->db, &conn);
	if (rc == ST_OK)
		rc = st_db_begin(conn);
	if (rc != ST_OK) {
		status = st_http_reply_db_error(req, rc, "ingest");
		goto out;
	}
	status = lock_session(req, conn, id, &st, &rc);
	if (status == 0 && ingest_status_closed(st))
		status = st_http_reply_problem(
			req, 409, "the session is %s: a closed session does not change",
			ingest_status_name(st));
	if (status == 0 && f.subject_id != NULL)
		status = check_subject(req, conn, f.subject_id, ref.project_id, &rc);
	if (status < 0)
		status = st_http_reply_db_error(req, rc, "ingest");
	if (status != 0)
		goto out;
	{
		const char *params[] = { id,           f.set_subject ? "true" : "false",
					 f.subject_id, f.set_device ? "true" : "false",
					 f.device,     f.set_meta ? "true" : "false",
					 f.metadata };

		rc = st_db_query(conn, patch_sql, 7, params, &res, NULL, 0);
	}
	if (rc != ST_OK) {
		status = st_http_reply_db_error(req, rc, "ingest");
		goto out;
	}
	if (st_db_rows(res) == 0) { /* the lock makes this unreachable; the guard stays */
		status = st_http_reply_problem(req, 409, "the session is closed");
		goto out;
	}
	status = publish_commit_reply(req, app, conn, res, "strata.session.updated", NULL, NULL);
out:
	st_db_result_free(res);
	st_db_release(app->db, conn);
	st_free(f.metadata);
	cJSON_Delete(body);
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
	rc = st_db_acquire(app->db, &conn);
	if (rc == ST_OK)
		rc = st_db_begin(conn);
	if (rc != ST_OK) {
		status = st_http_reply_db_error(req, rc, "ingest");
		goto out;
	}
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
sessions_start(struct st_req *req, void *ctx)
{
	return session_move(req, ctx, INGEST_ACTION_START);
}

int
sessions_stop(struct st_req *req, void *ctx)
{
	return session_move(req, ctx, INGEST_ACTION_STOP);
}

int
sessions_complete(struct st_req *req, void *ctx)
{
	return session_move(req, ctx, INGEST_ACTION_COMPLETE);
}

int
sessions_fail(struct st_req *req, void *ctx)
{
	return session_move(req, ctx, INGEST_ACTION_FAIL);
}
