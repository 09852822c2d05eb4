/*
 * Projects: create (the creator becomes its owner), list (the caller's projects; an
 * administrator sees all), read, change (owner), delete (owner or administrator; subjects and
 * sessions go with it, by the foreign keys' cascade).
 *
 * settings is a free JSON object with one known member: category_weights, an object of
 * category name -> non-negative weight, read by the results scoring. PATCH replaces settings
 * as a whole (no merge), so that a client can also remove a key.
 *
 * Every answer carries "role": the caller's role in the project, or null for an administrator
 * who is not a member.
 */
#include <stdio.h>
#include <string.h>

#include "ingest.h"
#include "strata/db.h"
#include "strata/log.h"

#define NAME_MAX_CHARS        200
#define DESCRIPTION_MAX_CHARS 4000

/* The project columns, then the caller's role ($n is the caller's id), then the sort key. */
#define PROJECT_COLS(p, caller)                                                                    \
	p "id, " p "name, " p "description, " p "settings::text, " p                               \
	  "created_by, " INGEST_TS(p "created_at") ", " INGEST_TS(                                 \
		  p "updated_at") ", "                                                             \
				  "(SELECT role FROM project_members WHERE project_id = " p        \
				  "id AND user_id = " caller                                       \
				  "::uuid), " INGEST_MICROS(p "created_at")

enum {
	COL_ID,
	COL_NAME,
	COL_DESC,
	COL_SETTINGS,
	COL_BY,
	COL_CREATED,
	COL_UPDATED,
	COL_ROLE,
	COL_MICROS
};

/* clang-format off */
/* One statement: the project and its first owner, or neither. */
static const char create_sql[] =
	"WITH p AS (INSERT INTO projects (id, name, description, settings, created_by) "
	"VALUES ($1, $2, coalesce($3, ''), coalesce($4::jsonb, '{}'::jsonb), $5::uuid) "
	"RETURNING *), "
	"m AS (INSERT INTO project_members (project_id, user_id, role) "
	"SELECT id, created_by, 'owner' FROM p) "
	"SELECT p.id, p.name, p.description, p.settings::text, p.created_by, "
	INGEST_TS("p.created_at") ", " INGEST_TS("p.updated_at") ", 'owner', "
	INGEST_MICROS("p.created_at") " FROM p";

static const char get_sql[] =
	"SELECT " PROJECT_COLS("p.", "$2") " FROM projects p WHERE p.id = $1::uuid";

/* $1 caller, $2 admin (sees all), $3/$4 cursor, $5 limit. */
static const char list_sql[] =
	"SELECT " PROJECT_COLS("p.", "$1") " FROM projects p "
	"WHERE ($2::boolean OR EXISTS (SELECT 1 FROM project_members m "
	"WHERE m.project_id = p.id AND m.user_id = $1::uuid)) "
	"AND ($3::bigint IS NULL OR (p.created_at, p.id) > ('epoch'::timestamptz "
	"+ $3::bigint * interval '1 microsecond', $4::uuid)) "
	"ORDER BY p.created_at, p.id LIMIT $5::int";

static const char patch_sql[] =
	"UPDATE projects SET name = coalesce($2, name), "
	"description = coalesce($3, description), settings = coalesce($4::jsonb, settings), "
	"updated_at = now() WHERE id = $1::uuid RETURNING " PROJECT_COLS("", "$5");
/* clang-format on */

static cJSON *
project_json(const struct st_db_result *res, int row)
{
	cJSON *o = cJSON_CreateObject();
	cJSON *settings = cJSON_Parse(st_db_get(res, row, COL_SETTINGS));

	cJSON_AddStringToObject(o, "id", st_db_get(res, row, COL_ID));
	cJSON_AddStringToObject(o, "name", st_db_get(res, row, COL_NAME));
	cJSON_AddStringToObject(o, "description", st_db_get(res, row, COL_DESC));
	cJSON_AddItemToObject(o, "settings", settings != NULL ? settings : cJSON_CreateObject());
	cJSON_AddStringToObject(o, "created_by", st_db_get(res, row, COL_BY));
	cJSON_AddStringToObject(o, "created_at", st_db_get(res, row, COL_CREATED));
	cJSON_AddStringToObject(o, "updated_at", st_db_get(res, row, COL_UPDATED));
	if (st_db_is_null(res, row, COL_ROLE))
		cJSON_AddNullToObject(o, "role");
	else
		cJSON_AddStringToObject(o, "role", st_db_get(res, row, COL_ROLE));
	return o;
}

/* The validated fields of a create or patch body. Strings borrowed from the body. */
struct project_fields {
	const char *name;
	const char *description;
	char *settings; /* printed JSON, owned (st_free), NULL when absent */
};

/* Validates body into f; required: name must be present (create). */
static void
project_parse(const cJSON *body, bool create, struct project_fields *f, struct st_json_errs *errs)
{
	static const char *const allowed[] = { "name", "description", "settings", NULL };
	const cJSON *settings = NULL;

	memset(f, 0, sizeof(*f));
	if (st_json_get_str(body, "name", create, 0, &f->name, errs) && f->name != NULL) {
		size_t n = ingest_text_chars(f->name);

		if (n < 1 || n > NAME_MAX_CHARS)
			st_json_errs_add(errs, "name",
					 "must be 1 to %d characters, without control characters",
					 NAME_MAX_CHARS);
	}
	if (st_json_get_str(body, "description", false, 0, &f->description, errs) &&
	    f->description != NULL) {
		const char *s = f->description;
		size_t n = 0;

		/* Line breaks and tabs are fine in a description; other controls are not. */
		for (; *s != '\0'; s++)
			if (((unsigned char)*s < 0x20 && *s != '\n' && *s != '\t' && *s != '\r') ||
			    *s == 0x7f)
				n = (size_t)-1;
			else if (((unsigned char)*s & 0xc0) != 0x80 && n != (size_t)-1)
				n++;
		if (n > DESCRIPTION_MAX_CHARS)
			st_json_errs_add(errs, "description",
					 "must be at most %d characters, without control "
					 "characters",
					 DESCRIPTION_MAX_CHARS);
	}
	settings = cJSON_GetObjectItemCaseSensitive(body, "settings");
	if (settings != NULL && !cJSON_IsNull(settings)) {
		size_t before = errs->total;

		ingest_settings_check(settings, "settings", errs);
		if (errs->total == before)
			f->settings = st_json_print(settings, NULL);
	}
	st_json_reject_unknown(body, allowed, errs);
}

int
projects_create(struct st_req *req, void *ctx)
{
	struct st_app *app = ctx;
	const char *caller = ingest_caller_id(req);
	struct project_fields f = { 0 };
	struct st_json_errs errs;
	struct st_db_result *res = NULL;
	cJSON *body = NULL, *out = NULL;
	char id[INGEST_UUID_LEN], loc[96];
	enum st_err rc;
	int status;

	if (caller == NULL)
		return st_http_reply_problem(req, 403, "projects are created by users");
	status = st_http_body_json_object(req, &body);
	if (status != 0)
		return status;
	st_json_errs_init(&errs);
	project_parse(body, true, &f, &errs);
	if (errs.total > 0) {
		status = st_http_reply_invalid(req, 400, "the project is not valid", &errs);
		goto out;
	}
	st_uuid_v4(id, sizeof(id));
	{
		const char *params[] = { id, f.name, f.description, f.settings, caller };

		rc = st_db_pool_query(app->db, create_sql, 5, params, &res, NULL, 0);
	}
	if (rc != ST_OK) {
		status = st_http_reply_db_error(req, rc, "ingest");
		goto out;
	}
	out = project_json(res, 0);
	snprintf(loc, sizeof(loc), "/api/v1/projects/%s", id);
	status = st_http_reply_created(req, loc, out);
out:
	st_free(f.settings);
	st_db_result_free(res);
	cJSON_Delete(body);
	cJSON_Delete(out);
	return status;
}

int
projects_list(struct st_req *req, void *ctx)
{
	struct st_app *app = ctx;
	char micros[24], after[INGEST_UUID_LEN], lim[16];
	const char *params[5];
	struct st_db_result *res = NULL;
	cJSON *page = NULL, *items;
	int limit, rows, status;
	enum st_err rc;

	status = ingest_page_params(req, &limit, micros, sizeof(micros), after, sizeof(after));
	if (status != 0)
		return status;
	snprintf(lim, sizeof(lim), "%d", limit + 1); /* one more: is there a next page? */
	params[0] = ingest_caller_id(req);
	params[1] = ingest_is_admin(st_http_principal(req)) ? "true" : "false";
	params[2] = micros[0] != '\0' ? micros : NULL;
	params[3] = after[0] != '\0' ? after : NULL;
	params[4] = lim;
	rc = st_db_pool_query(app->db, list_sql, 5, params, &res, NULL, 0);
	if (rc != ST_OK)
		return st_http_reply_db_error(req, rc, "ingest");
	rows = st_db_rows(res);
	page = cJSON_CreateObject();
	items = cJSON_AddArrayToObject(page, "items");
	for (int i = 0; i < rows && i < limit; i++)
		cJSON_AddItemToArray(items, project_json(res, i));
	ingest_page_next(page, res, rows, limit, COL_MICROS, COL_ID);
	status = st_http_reply_json(req, 200, page);
	cJSON_Delete(page);
	st_db_result_free(res);
	return status;
}

int
projects_get(struct st_req *req, void *ctx)
{
	struct st_app *app = ctx;
	const char *id = st_http_param(req, "id");
	struct st_db_result *res = NULL;
	cJSON *out;
	enum st_err rc;
	int status;

	status = ingest_project_access(req, app, id, INGEST_READ, NULL);
	if (status != 0)
		return status;
	{
		const char *params[] = { id, ingest_caller_id(req) };

		rc = st_db_pool_query(app->db, get_sql, 2, params, &res, NULL, 0);
	}
	if (rc != ST_OK)
		return st_http_reply_db_error(req, rc, "ingest");
	if (st_db_rows(res) == 0) {
		st_db_result_free(res);
		return st_http_reply_problem(req, 404, "no project %s", id); /* deleted meanwhile */
	}
	out = project_json(res, 0);
	status = st_http_reply_json(req, 200, out);
	cJSON_Delete(out);
	st_db_result_free(res);
	return status;
}

int
projects_patch(struct st_req *req, void *ctx)
{
	struct st_app *app = ctx;
	const char *id = st_http_param(req, "id");
	struct project_fields f = { 0 };
	struct st_json_errs errs;
	struct st_db_result *res = NULL;
	cJSON *body = NULL, *out = NULL;
	enum st_err rc;
	int status;

	status = ingest_project_access(req, app, id, INGEST_MANAGE, NULL);
	if (status != 0)
		return status;
	status = st_http_body_json_object(req, &body);
	if (status != 0)
		return status;
	st_json_errs_init(&errs);
	project_parse(body, false, &f, &errs);
	if (errs.total > 0) {
		status = st_http_reply_invalid(req, 400, "the change is not valid", &errs);
		goto out;
	}
	{
		const char *params[] = { id, f.name, f.description, f.settings,
					 ingest_caller_id(req) };

		rc = st_db_pool_query(app->db, patch_sql, 5, params, &res, NULL, 0);
	}
	if (rc != ST_OK) {
		status = st_http_reply_db_error(req, rc, "ingest");
		goto out;
	}
	if (st_db_rows(res) == 0) {
		status = st_http_reply_problem(req, 404, "no project %s", id);
		goto out;
	}
	out = project_json(res, 0);
	status = st_http_reply_json(req, 200, out);
out:
	st_free(f.settings);
	st_db_result_free(res);
	cJSON_Delete(body);
	cJSON_Delete(out);
	return status;
}

int
projects_delete(struct st_req *req, void *ctx)
{
	struct st_app *app = ctx;
	const char *id = st_http_param(req, "id");
	struct st_db_result *res = NULL;
	enum st_err rc;
	int status;

	status = ingest_project_access(req, app, id, INGEST_MANAGE, NULL);
	if (status != 0)
		return status;
	{
		const char *params[] = { id };

		/* its sessions' readings go in the background (purge.c) */
		rc = st_db_pool_query(app->db,
				      "WITH queued AS (INSERT INTO purged_sessions (session_id) "
				      "SELECT id FROM sessions WHERE project_id = $1::uuid "
				      "ON CONFLICT DO NOTHING) "
				      "DELETE FROM projects WHERE id = $1::uuid",
				      1, params, &res, NULL, 0);
	}
	if (rc != ST_OK)
		return st_http_reply_db_error(req, rc, "ingest");
	if (st_db_affected(res) == 0)
		status = st_http_reply_problem(req, 404, "no project %s", id);
	else
		status = st_http_reply_no_content(req);
	st_log(ST_LOG_INFO, "projects", "project deleted id=%s", id);
	st_db_result_free(res);
	return status;
}
