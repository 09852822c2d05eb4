/*
 * Subjects (patients, participants) of a project: create and list under the project, read,
 * change and delete by id. Access follows the subject's project (ingest.h's table): an
 * outsider gets 404 for the subject itself, without learning which project it belongs to.
 *
 * external_id is the research team's own identifier, unique within the project (409 on a
 * second one). In PATCH, null clears display_name, birth_year, sex and metadata; an absent
 * field stays as it is. Deleting a subject keeps its sessions (their subject_id becomes null).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ingest.h"
#include "strata/db.h"

#define EXTERNAL_ID_MAX 200
#define DISPLAY_MAX     200
#define BIRTH_YEAR_MIN  1850

/* clang-format off */
#define SUBJECT_COLS                                                                               \
	"id, project_id, external_id, display_name, birth_year, sex, metadata::text, "             \
	INGEST_TS("created_at") ", " INGEST_TS("updated_at") ", " INGEST_MICROS("created_at")

static const char access_sql[] =
	"SELECT s.project_id, m.role FROM subjects s LEFT JOIN project_members m "
	"ON m.project_id = s.project_id AND m.user_id = $2::uuid WHERE s.id = $1::uuid";

static const char create_sql[] =
	"INSERT INTO subjects (id, project_id, external_id, display_name, birth_year, sex, "
	"metadata) VALUES ($1::uuid, $2::uuid, $3, coalesce($4, ''), $5::int, $6, "
	"coalesce($7::jsonb, '{}'::jsonb)) RETURNING " SUBJECT_COLS;

static const char list_sql[] =
	"SELECT " SUBJECT_COLS " FROM subjects WHERE project_id = $1::uuid "
	"AND ($2::bigint IS NULL OR (created_at, id) > ('epoch'::timestamptz "
	"+ $2::bigint * interval '1 microsecond', $3::uuid)) "
	"ORDER BY created_at, id LIMIT $4::int";

static const char patch_sql[] =
	"UPDATE subjects SET external_id = coalesce($2, external_id), "
	"display_name = CASE WHEN $3::boolean THEN coalesce($4, '') ELSE display_name END, "
	"birth_year = CASE WHEN $5::boolean THEN $6::int ELSE birth_year END, "
	"sex = CASE WHEN $7::boolean THEN $8 ELSE sex END, "
	"metadata = CASE WHEN $9::boolean THEN coalesce($10::jsonb, '{}'::jsonb) "
	"ELSE metadata END, updated_at = now() WHERE id = $1::uuid RETURNING " SUBJECT_COLS;
/* clang-format on */

enum {
	COL_ID,
	COL_PROJECT,
	COL_EXT,
	COL_NAME,
	COL_YEAR,
	COL_SEX,
	COL_META,
	COL_CREATED,
	COL_UPDATED,
	COL_MICROS
};

static cJSON *
subject_json(const struct st_db_result *res, int row)
{
	cJSON *o = cJSON_CreateObject();
	cJSON *meta = cJSON_Parse(st_db_get(res, row, COL_META));

	cJSON_AddStringToObject(o, "id", st_db_get(res, row, COL_ID));
	cJSON_AddStringToObject(o, "project_id", st_db_get(res, row, COL_PROJECT));
	cJSON_AddStringToObject(o, "external_id", st_db_get(res, row, COL_EXT));
	cJSON_AddStringToObject(o, "display_name", st_db_get(res, row, COL_NAME));
	if (st_db_is_null(res, row, COL_YEAR))
		cJSON_AddNullToObject(o, "birth_year");
	else
		cJSON_AddNumberToObject(o, "birth_year",
					(double)strtol(st_db_get(res, row, COL_YEAR), NULL, 10));
	if (st_db_is_null(res, row, COL_SEX))
		cJSON_AddNullToObject(o, "sex");
	else
		cJSON_AddStringToObject(o, "sex", st_db_get(res, row, COL_SEX));
	cJSON_AddItemToObject(o, "metadata", meta != NULL ? meta : cJSON_CreateObject());
	cJSON_AddStringToObject(o, "created_at", st_db_get(res, row, COL_CREATED));
	cJSON_AddStringToObject(o, "updated_at", st_db_get(res, row, COL_UPDATED));
	return o;
}

static long long
current_year(void)
{
	time_t now = time(NULL);
	struct tm tm;

	if (gmtime_r(&now, &tm) == NULL)
		return 2200;
	return (long long)tm.tm_year + 1900;
}

/* A subject's fields. set_* say the field was present (null included) in a PATCH. */
struct subject_fields {
	const char *external_id, *display_name, *sex;
	char year[16];
	char *metadata; /* owned (st_free) */
	bool set_name, set_year, set_sex, set_meta;
};

static bool
present(const cJSON *body, const char *name)
{
	return cJSON_GetObjectItemCaseSensitive(body, name) != NULL;
}

static void
subject_parse(const cJSON *body, bool create, struct subject_fields *f, struct st_json_errs *errs)
{
	static const char *const allowed[] = { "external_id", "display_name", "birth_year",
					       "sex",         "metadata",     NULL };
	const cJSON *meta = NULL;
	long long year = 0;

	memset(f, 0, sizeof(*f));
	if (st_json_get_str(body, "external_id", create, 0, &f->external_id, errs) &&
	    f->external_id != NULL) {
		size_t n = ingest_text_chars(f->external_id);

		if (n < 1 || n > EXTERNAL_ID_MAX)
			st_json_errs_add(errs, "external_id",
					 "must be 1 to %d characters, without control characters",
					 EXTERNAL_ID_MAX);
	} else if (!create && present(body, "external_id") &&
		   cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(body, "external_id"))) {
		st_json_errs_add(errs, "external_id", "cannot be removed");
	}
	f->set_name = present(body, "display_name");
	if (st_json_get_str(body, "display_name", false, 0, &f->display_name, errs) &&
	    f->display_name != NULL && ingest_text_chars(f->display_name) > DISPLAY_MAX)
		st_json_errs_add(errs, "display_name",
				 "must be at most %d characters, without control characters",
				 DISPLAY_MAX);
	f->set_year = present(body, "birth_year");
	if (st_json_get_int(body, "birth_year", false, BIRTH_YEAR_MIN, current_year(), &year,
			    errs) &&
	    year != 0)
		snprintf(f->year, sizeof(f->year), "%lld", year);
	f->set_sex = present(body, "sex");
	if (st_json_get_str(body, "sex", false, 16, &f->sex, errs) && f->sex != NULL &&
	    strcmp(f->sex, "female") != 0 && strcmp(f->sex, "male") != 0 &&
	    strcmp(f->sex, "other") != 0 && strcmp(f->sex, "unknown") != 0)
		st_json_errs_add(errs, "sex", "must be female, male, other or unknown");
	f->set_meta = present(body, "metadata");
	if (st_json_get_obj(body, "metadata", false, cJSON_Object, &meta, errs) && meta != NULL) {
		if (ingest_json_fits(meta, INGEST_METADATA_MAX))
			f->metadata = st_json_print(meta, NULL);
		else
			st_json_errs_add(errs, "metadata", "must be at most %d bytes of JSON",
					 INGEST_METADATA_MAX);
	}
	st_json_reject_unknown(body, allowed, errs);
}

/*
 * Checks that the caller may act on subject id as need says; fills project (>= INGEST_UUID_LEN).
 * Returns 0, or replies (404, 403, 503) and returns that status.
 */
static int
subject_access(struct st_req *req, struct st_app *app, const char *id, enum ingest_need need,
	       char *project)
{
	struct st_db_result *res = NULL;
	enum st_err rc;
	int decision;

	if (!st_uuid_valid(id))
		return st_http_reply_problem(req, 404, "no subject %.64s", id != NULL ? id : "");
	{
		const char *params[] = { id, ingest_caller_id(req) };

		rc = st_db_pool_query(app->db, access_sql, 2, params, &res, NULL, 0);
	}
	if (rc != ST_OK)
		return st_http_reply_db_error(req, rc, "ingest");
	if (st_db_rows(res) == 0) {
		st_db_result_free(res);
		return st_http_reply_problem(req, 404, "no subject %s", id);
	}
	st_strlcpy(project, st_db_get(res, 0, 0), INGEST_UUID_LEN);
	decision = ingest_access_decide(st_http_principal(req),
					ingest_role_parse(st_db_get(res, 0, 1)), need);
	st_db_result_free(res);
	if (decision == 404)
		return st_http_reply_problem(req, 404, "no subject %s", id);
	if (decision != 0)
		return st_http_reply_problem(
			req, 403, "your role or scopes do not allow you to %s this subject",
			need == INGEST_READ ? "read" : "change");
	return 0;
}

/* 409 for a second external_id in a project, else the usual database answers. */
static int
reply_write_error(struct st_req *req, enum st_err rc, const char *external_id)
{
	if (rc == ST_ERR_CONFLICT)
		return st_http_reply_problem(req, 409,
					     "the project has a subject with external_id '%.200s'",
					     external_id != NULL ? external_id : "");
	return st_http_reply_db_error(req, rc, "ingest");
}

int
subjects_create(struct st_req *req, void *ctx)
{
	struct st_app *app = ctx;
	const char *project = st_http_param(req, "id");
	struct subject_fields f = { 0 };
	struct st_json_errs errs;
	struct st_db_result *res = NULL;
	cJSON *body = NULL, *out = NULL;
	char id[INGEST_UUID_LEN], loc[96];
	enum st_err rc;
	int status;

	status = ingest_project_access(req, app, project, INGEST_WRITE, NULL);
	if (status != 0)
		return status;
	status = st_http_body_json_object(req, &body);
	if (status != 0)
		return status;
	st_json_errs_init(&errs);
	subject_parse(body, true, &f, &errs);
	if (errs.total > 0) {
		status = st_http_reply_invalid(req, 400, "the subject is not valid", &errs);
		goto out;
	}
	st_uuid_v4(id, sizeof(id));
	{
		const char *params[] = { id,
					 project,
					 f.external_id,
					 f.display_name,
					 f.year[0] != '\0' ? f.year : NULL,
					 f.sex,
					 f.metadata };

		rc = st_db_pool_query(app->db, create_sql, 7, params, &res, NULL, 0);
	}
	if (rc != ST_OK) {
		status = reply_write_error(req, rc, f.external_id);
		goto out;
	}
	out = subject_json(res, 0);
	snprintf(loc, sizeof(loc), "/api/v1/subjects/%s", id);
	status = st_http_reply_created(req, loc, out);
out:
	st_free(f.metadata);
	st_db_result_free(res);
	cJSON_Delete(body);
	cJSON_Delete(out);
	return status;
}

int
subjects_list(struct st_req *req, void *ctx)
{
	struct st_app *app = ctx;
	const char *project = st_http_param(req, "id");
	char micros[24], after[INGEST_UUID_LEN], lim[16];
	struct st_db_result *res = NULL;
	cJSON *page, *items;
	int limit, rows, status;
	enum st_err rc;

	status = ingest_project_access(req, app, project, INGEST_READ, NULL);
	if (status != 0)
		return status;
	status = ingest_page_params(req, &limit, micros, sizeof(micros), after, sizeof(after));
	if (status != 0)
		return status;
	snprintf(lim, sizeof(lim), "%d", limit + 1);
	{
		const char *params[] = { project, micros[0] != '\0' ? micros : NULL,
					 after[0] != '\0' ? after : NULL, lim };

		rc = st_db_pool_query(app->db, list_sql, 4, params, &res, NULL, 0);
	}
	if (rc != ST_OK)
		return st_http_reply_db_error(req, rc, "ingest");
	rows = st_db_rows(res);
	page = cJSON_CreateObject();
	items = cJSON_AddArrayToObject(page, "items");
	for (int i = 0; i < rows && i < limit; i++)
		cJSON_AddItemToArray(items, subject_json(res, i));
	ingest_page_next(page, res, rows, limit, COL_MICROS, COL_ID);
	status = st_http_reply_json(req, 200, page);
	cJSON_Delete(page);
	st_db_result_free(res);
	return status;
}

int
subjects_get(struct st_req *req, void *ctx)
{
	struct st_app *app = ctx;
	const char *id = st_http_param(req, "id");
	char project[INGEST_UUID_LEN];
	struct st_db_result *res = NULL;
	cJSON *out;
	enum st_err rc;
	int status;

	status = subject_access(req, app, id, INGEST_READ, project);
	if (status != 0)
		return status;
	{
		const char *params[] = { id };

		rc = st_db_pool_query(app->db,
				      "SELECT " SUBJECT_COLS " FROM subjects WHERE id = $1", 1,
				      params, &res, NULL, 0);
	}
	if (rc != ST_OK)
		return st_http_reply_db_error(req, rc, "ingest");
	if (st_db_rows(res) == 0) {
		st_db_result_free(res);
		return st_http_reply_problem(req, 404, "no subject %s", id);
	}
	out = subject_json(res, 0);
	status = st_http_reply_json(req, 200, out);
	cJSON_Delete(out);
	st_db_result_free(res);
	return status;
}

int
subjects_patch(struct st_req *req, void *ctx)
{
	struct st_app *app = ctx;
	const char *id = st_http_param(req, "id");
	char project[INGEST_UUID_LEN];
	struct subject_fields f = { 0 };
	struct st_json_errs errs;
	struct st_db_result *res = NULL;
	cJSON *body = NULL, *out = NULL;
	enum st_err rc;
	int status;

	status = subject_access(req, app, id, INGEST_WRITE, project);
	if (status != 0)
		return status;
	status = st_http_body_json_object(req, &body);
	if (status != 0)
		return status;
	st_json_errs_init(&errs);
	subject_parse(body, false, &f, &errs);
	if (errs.total > 0) {
		status = st_http_reply_invalid(req, 400, "the change is not valid", &errs);
		goto out;
	}
	{
		const char *params[] = { id,
					 f.external_id,
					 f.set_name ? "true" : "false",
					 f.display_name,
					 f.set_year ? "true" : "false",
					 f.year[0] != '\0' ? f.year : NULL,
					 f.set_sex ? "true" : "false",
					 f.sex,
					 f.set_meta ? "true" : "false",
					 f.metadata };

		rc = st_db_pool_query(app->db, patch_sql, 10, params, &res, NULL, 0);
	}
	if (rc != ST_OK) {
		status = reply_write_error(req, rc, f.external_id);
		goto out;
	}
	if (st_db_rows(res) == 0) {
		status = st_http_reply_problem(req, 404, "no subject %s", id);
		goto out;
	}
	out = subject_json(res, 0);
	status = st_http_reply_json(req, 200, out);
out:
	st_free(f.metadata);
	st_db_result_free(res);
	cJSON_Delete(body);
	cJSON_Delete(out);
	return status;
}

int
subjects_delete(struct st_req *req, void *ctx)
{
	struct st_app *app = ctx;
	const char *id = st_http_param(req, "id");
	char project[INGEST_UUID_LEN];
	struct st_db_result *res = NULL;
	enum st_err rc;
	int status;

	status = subject_access(req, app, id, INGEST_WRITE, project);
	if (status != 0)
		return status;
	{
		const char *params[] = { id };

		rc = st_db_pool_query(app->db, "DELETE FROM subjects WHERE id = $1::uuid", 1,
				      params, &res, NULL, 0);
	}
	if (rc != ST_OK)
		return st_http_reply_db_error(req, rc, "ingest");
	status = st_db_affected(res) == 0 ? st_http_reply_problem(req, 404, "no subject %s", id)
					  : st_http_reply_no_content(req);
	st_db_result_free(res);
	return status;
}
