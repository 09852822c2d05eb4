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

#include "ingest.h"
#include "strata/db.h"
#include "strata/log.h"

#define NAME_MAX_CHARS        200
#define DESCRIPTION_MAX_CHARS 4000

/* A body's fields, in the order of the statements' parameters. null clears description and
 * settings (to "" and {}); PATCH changes only what is present. */
static const struct st_field fields[] = {
	{ "name", ST_FIELD_TEXT, ST_FIELD_REQUIRED, .min = 1, .max = NAME_MAX_CHARS },
	{ "description", ST_FIELD_TEXT, ST_FIELD_NULLABLE | ST_FIELD_MULTILINE,
	  .max = DESCRIPTION_MAX_CHARS },
	{ "settings", ST_FIELD_OBJECT, ST_FIELD_NULLABLE, .max = INGEST_METADATA_MAX,
	  .check = ingest_settings_ok },
};

/* The project columns, then the caller's role ($n is the caller's id), then the sort key. */
#define PROJECT_COLS(p, caller)                                                                    \
	p "id, " p "name, " p "description, " p "settings, " p "created_by, " p "created_at, " p   \
	  "updated_at, (SELECT role FROM project_members WHERE project_id = " p                    \
	  "id AND user_id = " caller "::uuid) AS role, " INGEST_CURSOR(p "created_at", p "id")

/* clang-format off */
/* One statement: the project and its first owner, or neither. */
static const char create_sql[] =
	"WITH p AS (INSERT INTO projects (id, name, description, settings, created_by) "
	"VALUES ($1, $2, coalesce($3, ''), coalesce($4::jsonb, '{}'::jsonb), $5::uuid) "
	"RETURNING *), "
	"m AS (INSERT INTO project_members (project_id, user_id, role) "
	"SELECT id, created_by, 'owner' FROM p) "
	"SELECT p.id, p.name, p.description, p.settings, p.created_by, p.created_at, "
	"p.updated_at, 'owner' AS role FROM p";

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

/* $2..$7: present and value of each field; $8 the caller. */
static const char patch_sql[] =
	"UPDATE projects SET name = CASE WHEN $2::boolean THEN $3::text ELSE name END, "
	"description = CASE WHEN $4::boolean THEN coalesce($5::text, '') ELSE description END, "
	"settings = CASE WHEN $6::boolean THEN coalesce($7::jsonb, '{}'::jsonb) ELSE settings END, "
	"updated_at = now() WHERE id = $1::uuid RETURNING " PROJECT_COLS("", "$8");

/* Its sessions' readings go in the background (purge.c). */
static const char delete_sql[] =
	"WITH queued AS (INSERT INTO purged_sessions (session_id) "
	"SELECT id FROM sessions WHERE project_id = $1::uuid ON CONFLICT DO NOTHING) "
	"DELETE FROM projects WHERE id = $1::uuid";
/* clang-format on */

int
projects_create(struct st_req *req, void *ctx)
{
	struct st_app *app = ctx;
	const char *caller = ingest_caller_id(req);
	struct st_fields v;
	char id[INGEST_UUID_LEN], loc[96];
	int status;

	if (caller == NULL)
		return st_http_reply_problem(req, 403, "projects are created by users");
	status = st_fields_read(req, fields, ST_ARRAY_LEN(fields), ST_FIELDS_WHOLE, &v,
				"the project is not valid");
	if (status == 0) {
		const char *params[] = { id, v.params[0], v.params[1], v.params[2], caller };
		struct st_http_row_opts opts = { .location = loc };

		st_uuid_v4(id, sizeof(id));
		snprintf(loc, sizeof(loc), "/api/v1/projects/%s", id);
		status = st_http_reply_row(req, app->db, create_sql, 5, params, &opts);
	}
	st_fields_cleanup(&v);
	return status;
}

int
projects_list(struct st_req *req, void *ctx)
{
	struct st_app *app = ctx;
	struct st_page pg;
	int status = st_page_read(req, INGEST_LIST_DEFAULT, INGEST_LIST_MAX, &pg);
	const char *params[] = { ingest_caller_id(req),
				 ingest_is_admin(st_http_principal(req)) ? "true" : "false",
				 pg.after_micros, pg.after_id, pg.fetch };

	if (status != 0)
		return status;
	return st_http_reply_page(req, app->db, list_sql, 5, params, &pg);
}

int
projects_get(struct st_req *req, void *ctx)
{
	struct st_app *app = ctx;
	const char *id = st_http_param(req, "id");
	const char *params[] = { id, ingest_caller_id(req) };
	char missing[96];
	struct st_http_row_opts opts = { .missing = missing };
	int status;

	status = ingest_project_access(req, app, id, INGEST_READ, NULL);
	if (status != 0)
		return status;
	snprintf(missing, sizeof(missing), "no project %s", id); /* deleted meanwhile */
	return st_http_reply_row(req, app->db, get_sql, 2, params, &opts);
}

int
projects_patch(struct st_req *req, void *ctx)
{
	struct st_app *app = ctx;
	const char *id = st_http_param(req, "id");
	const char *params[2 + 2 * ST_ARRAY_LEN(fields)] = { id };
	char missing[96];
	struct st_http_row_opts opts = { .missing = missing };
	struct st_fields v;
	size_t n;
	int status;

	status = ingest_project_access(req, app, id, INGEST_MANAGE, NULL);
	if (status != 0)
		return status;
	status = st_fields_read(req, fields, ST_ARRAY_LEN(fields), ST_FIELDS_PATCH, &v,
				"the change is not valid");
	if (status == 0) {
		n = 1 + st_fields_patch_params(&v, params + 1, ST_ARRAY_LEN(params) - 2);
		params[n++] = ingest_caller_id(req);
		snprintf(missing, sizeof(missing), "no project %s", id);
		status = st_http_reply_row(req, app->db, patch_sql, (int)n, params, &opts);
	}
	st_fields_cleanup(&v);
	return status;
}

int
projects_delete(struct st_req *req, void *ctx)
{
	struct st_app *app = ctx;
	const char *id = st_http_param(req, "id");
	const char *params[] = { id };
	char missing[96];
	int status;

	status = ingest_project_access(req, app, id, INGEST_MANAGE, NULL);
	if (status != 0)
		return status;
	snprintf(missing, sizeof(missing), "no project %s", id);
	status = st_http_reply_done(req, app->db, delete_sql, 1, params, missing);
	if (status == 204)
		st_log(ST_LOG_INFO, "projects", "project deleted id=%s", id);
	return status;
}
