/*
 * Subjects (patients, participants) of a project: create and list under the project, read,
 * change and delete by id. Access follows the subject's project (ingest.h's table): an
 * outsider gets 404 for the subject itself, without learning which project it belongs to.
 *
 * external_id is the research team's own identifier, unique within the project (409 on a
 * second one). In PATCH, null clears display_name, birth_year, sex and metadata; an absent
 * field stays as it is; external_id cannot be null. Deleting a subject keeps its sessions (their
 * subject_id becomes null).
 */
#include <stdio.h>
#include <time.h>

#include "ingest.h"
#include "strata/db.h"

#define EXTERNAL_ID_MAX 200
#define DISPLAY_MAX     200
#define BIRTH_YEAR_MIN  1850

/* clang-format off */
#define SUBJECT_COLS                                                                               \
	"id, project_id, external_id, display_name, birth_year, sex, metadata, created_at, "       \
	"updated_at, " INGEST_CURSOR("created_at", "id")

static const char access_sql[] =
	"SELECT s.project_id, m.role FROM subjects s LEFT JOIN project_members m "
	"ON m.project_id = s.project_id AND m.user_id = $2::uuid WHERE s.id = $1::uuid";

static const char create_sql[] =
	"INSERT INTO subjects (id, project_id, external_id, display_name, birth_year, sex, "
	"metadata) VALUES ($1::uuid, $2::uuid, $3, coalesce($4, ''), $5::int, $6, "
	"coalesce($7::jsonb, '{}'::jsonb)) RETURNING " SUBJECT_COLS;

static const char get_sql[] = "SELECT " SUBJECT_COLS " FROM subjects WHERE id = $1::uuid";

static const char list_sql[] =
	"SELECT " SUBJECT_COLS " FROM subjects WHERE project_id = $1::uuid "
	"AND ($2::bigint IS NULL OR (created_at, id) > ('epoch'::timestamptz "
	"+ $2::bigint * interval '1 microsecond', $3::uuid)) "
	"ORDER BY created_at, id LIMIT $4::int";

/* $2..$11: present and value of each field. */
static const char patch_sql[] =
	"UPDATE subjects SET "
	"external_id = CASE WHEN $2::boolean THEN $3::text ELSE external_id END, "
	"display_name = CASE WHEN $4::boolean THEN coalesce($5::text, '') ELSE display_name END, "
	"birth_year = CASE WHEN $6::boolean THEN $7::int ELSE birth_year END, "
	"sex = CASE WHEN $8::boolean THEN $9::text ELSE sex END, "
	"metadata = CASE WHEN $10::boolean THEN coalesce($11::jsonb, '{}'::jsonb) "
	"ELSE metadata END, updated_at = now() WHERE id = $1::uuid RETURNING " SUBJECT_COLS;
/* clang-format on */

/* No one is born in the future: the table's bound is 9999, this one moves with the clock. */
static bool
birth_year_ok(const cJSON *v, const char *field, struct st_json_errs *errs)
{
	time_t now = time(NULL);
	struct tm tm;
	long long year = gmtime_r(&now, &tm) != NULL ? (long long)tm.tm_year + 1900 : 2200;

	if (v->valuedouble <= (double)year)
		return true;
	st_json_errs_add(errs, field, "must be an integer from %d to %lld", BIRTH_YEAR_MIN, year);
	return false;
}

static const char *const sexes[] = { "female", "male", "other", "unknown", NULL };

static const struct st_field fields[] = {
	{ "external_id", ST_FIELD_TEXT, ST_FIELD_REQUIRED, .min = 1, .max = EXTERNAL_ID_MAX },
	{ "display_name", ST_FIELD_TEXT, ST_FIELD_NULLABLE, .max = DISPLAY_MAX },
	{ "birth_year", ST_FIELD_INT, ST_FIELD_NULLABLE, .min = BIRTH_YEAR_MIN, .max = 9999,
	  .check = birth_year_ok },
	{ "sex", ST_FIELD_ENUM, ST_FIELD_NULLABLE, .values = sexes },
	{ "metadata", ST_FIELD_OBJECT, ST_FIELD_NULLABLE, .max = INGEST_METADATA_MAX },
};

/* Access to subject id follows its project. */
static int
subject_access(struct st_req *req, struct st_app *app, const char *id, enum ingest_need need)
{
	return ingest_access_check(req, app, access_sql, "subject", id, need, NULL, NULL);
}

/* A second external_id in a project is a conflict worth naming. */
static void
conflict_detail(char *buf, size_t cap, const struct st_fields *v)
{
	snprintf(buf, cap, "the project has a subject with external_id '%.200s'",
		 v->params[0] != NULL ? v->params[0] : "");
}

int
subjects_create(struct st_req *req, void *ctx)
{
	struct st_app *app = ctx;
	const char *project = st_http_param(req, "id");
	struct st_fields v;
	char id[INGEST_UUID_LEN], loc[96], conflict[320];
	int status;

	status = ingest_project_access(req, app, project, INGEST_WRITE, NULL);
	if (status != 0)
		return status;
	status = st_fields_read(req, fields, ST_ARRAY_LEN(fields), ST_FIELDS_WHOLE, &v,
				"the subject is not valid");
	if (status == 0) {
		const char *params[] = { id,          project,     v.params[0], v.params[1],
					 v.params[2], v.params[3], v.params[4] };
		struct st_http_row_opts opts = { .location = loc, .conflict = conflict };

		st_uuid_v4(id, sizeof(id));
		snprintf(loc, sizeof(loc), "/api/v1/subjects/%s", id);
		conflict_detail(conflict, sizeof(conflict), &v);
		status = st_http_reply_row(req, app->db, create_sql, 7, params, &opts);
	}
	st_fields_cleanup(&v);
	return status;
}

int
subjects_list(struct st_req *req, void *ctx)
{
	return ingest_project_list(req, ctx, list_sql);
}

int
subjects_get(struct st_req *req, void *ctx)
{
	struct st_app *app = ctx;
	const char *id = st_http_param(req, "id");
	const char *params[] = { id };
	char missing[96];
	struct st_http_row_opts opts = { .missing = missing };
	int status;

	status = subject_access(req, app, id, INGEST_READ);
	if (status != 0)
		return status;
	snprintf(missing, sizeof(missing), "no subject %s", id);
	return st_http_reply_row(req, app->db, get_sql, 1, params, &opts);
}

int
subjects_patch(struct st_req *req, void *ctx)
{
	struct st_app *app = ctx;
	const char *id = st_http_param(req, "id");
	const char *params[1 + 2 * ST_ARRAY_LEN(fields)] = { id };
	char missing[96], conflict[320];
	struct st_http_row_opts opts = { .missing = missing, .conflict = conflict };
	struct st_fields v;
	size_t n;
	int status;

	status = subject_access(req, app, id, INGEST_WRITE);
	if (status != 0)
		return status;
	status = st_fields_read(req, fields, ST_ARRAY_LEN(fields), ST_FIELDS_PATCH, &v,
				"the change is not valid");
	if (status == 0) {
		n = 1 + st_fields_patch_params(&v, params + 1, ST_ARRAY_LEN(params) - 1);
		snprintf(missing, sizeof(missing), "no subject %s", id);
		conflict_detail(conflict, sizeof(conflict), &v);
		status = st_http_reply_row(req, app->db, patch_sql, (int)n, params, &opts);
	}
	st_fields_cleanup(&v);
	return status;
}

int
subjects_delete(struct st_req *req, void *ctx)
{
	struct st_app *app = ctx;
	const char *id = st_http_param(req, "id");
	const char *params[] = { id };
	char missing[96];
	int status;

	status = subject_access(req, app, id, INGEST_WRITE);
	if (status != 0)
		return status;
	snprintf(missing, sizeof(missing), "no subject %s", id);
	return st_http_reply_done(req, app->db, "DELETE FROM subjects WHERE id = $1::uuid", 1,
				  params, missing);
}
