/*
 * Project members: list (any member), add, change a role, remove (owners; a member may also
 * remove themself, i.e. leave). A project always keeps at least one owner: removing or
 * demoting the last one answers 409. Changes of roles take the project's row lock first, so
 * that two owners demoting each other at once cannot both succeed.
 *
 * Users belong to auth's schema, which ingest does not read: any UUID is accepted as a user
 * id. A member added under an id that no user has simply never signs in; when auth deletes a
 * user, their memberships stay until an owner removes them.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "ingest.h"
#include "strata/db.h"

/* clang-format off */
#define MEMBER_COLS "user_id, role, " INGEST_TS("added_at") ", " INGEST_MICROS("added_at")
/* clang-format on */

enum { COL_USER, COL_ROLE, COL_ADDED, COL_MICROS };

static cJSON *
member_json(const struct st_db_result *res, int row)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "user_id", st_db_get(res, row, COL_USER));
	cJSON_AddStringToObject(o, "role", st_db_get(res, row, COL_ROLE));
	cJSON_AddStringToObject(o, "added_at", st_db_get(res, row, COL_ADDED));
	return o;
}

/* Validates the role field (required when required). */
static bool
parse_role(const cJSON *body, bool required, const char **role, struct st_json_errs *errs)
{
	if (!st_json_get_str(body, "role", required, 16, role, errs))
		return false;
	if (*role != NULL && ingest_role_parse(*role) == INGEST_ROLE_NONE) {
		st_json_errs_add(errs, "role", "must be owner, member or viewer");
		return false;
	}
	return true;
}

int
members_list(struct st_req *req, void *ctx)
{
	static const char sql[] =
		"SELECT " MEMBER_COLS " FROM project_members WHERE project_id = $1::uuid "
		"AND ($2::bigint IS NULL OR (added_at, user_id) > ('epoch'::timestamptz "
		"+ $2::bigint * interval '1 microsecond', $3::uuid)) "
		"ORDER BY added_at, user_id LIMIT $4::int";
	struct st_app *app = ctx;
	const char *id = st_http_param(req, "id");
	char micros[24], after[INGEST_UUID_LEN], lim[16];
	struct st_db_result *res = NULL;
	cJSON *page, *items;
	int limit, rows, status;
	enum st_err rc;

	status = ingest_project_access(req, app, id, INGEST_READ, NULL);
	if (status != 0)
		return status;
	status = ingest_page_params(req, &limit, micros, sizeof(micros), after, sizeof(after));
	if (status != 0)
		return status;
	snprintf(lim, sizeof(lim), "%d", limit + 1);
	{
		const char *params[] = { id, micros[0] != '\0' ? micros : NULL,
					 after[0] != '\0' ? after : NULL, lim };

		rc = st_db_pool_query(app->db, sql, 4, params, &res, NULL, 0);
	}
	if (rc != ST_OK)
		return st_http_reply_db_error(req, rc, "ingest");
	rows = st_db_rows(res);
	page = cJSON_CreateObject();
	items = cJSON_AddArrayToObject(page, "items");
	for (int i = 0; i < rows && i < limit; i++)
		cJSON_AddItemToArray(items, member_json(res, i));
	ingest_page_next(page, res, rows, limit, COL_MICROS, COL_USER);
	status = st_http_reply_json(req, 200, page);
	cJSON_Delete(page);
	st_db_result_free(res);
	return status;
}

int
members_add(struct st_req *req, void *ctx)
{
	static const char *const allowed[] = { "user_id", "role", NULL };
	static const char sql[] =
		"INSERT INTO project_members (project_id, user_id, role) "
		"VALUES ($1::uuid, $2::uuid, $3) "
		"ON CONFLICT (project_id, user_id) DO NOTHING RETURNING " MEMBER_COLS;
	struct st_app *app = ctx;
	const char *id = st_http_param(req, "id");
	const char *user = NULL, *role = NULL;
	struct st_json_errs errs;
	struct st_db_result *res = NULL;
	cJSON *body = NULL, *out = NULL;
	char loc[160];
	enum st_err rc;
	int status;

	status = ingest_project_access(req, app, id, INGEST_MANAGE, NULL);
	if (status != 0)
		return status;
	status = st_http_body_json_object(req, &body);
	if (status != 0)
		return status;
	st_json_errs_init(&errs);
	if (st_json_get_str(body, "user_id", true, 64, &user, &errs) && !st_uuid_valid(user))
		st_json_errs_add(&errs, "user_id", "must be a user id (a UUID)");
	parse_role(body, true, &role, &errs);
	st_json_reject_unknown(body, allowed, &errs);
	if (errs.total > 0) {
		status = st_http_reply_invalid(req, 400, "the member is not valid", &errs);
		goto out;
	}
	{
		const char *params[] = { id, user, role };

		rc = st_db_pool_query(app->db, sql, 3, params, &res, NULL, 0);
	}
	if (rc != ST_OK) {
		status = st_http_reply_db_error(req, rc, "ingest");
		goto out;
	}
	if (st_db_rows(res) == 0) {
		status = st_http_reply_problem(req, 409,
					       "user %s is already a member of the project", user);
		goto out;
	}
	out = member_json(res, 0);
	snprintf(loc, sizeof(loc), "/api/v1/projects/%s/members/%s", id,
		 st_db_get(res, 0, COL_USER));
	status = st_http_reply_created(req, loc, out);
out:
	st_db_result_free(res);
	cJSON_Delete(body);
	cJSON_Delete(out);
	return status;
}

/*
 * Changes (role non-NULL) or removes (role NULL) the membership of user in project id, in one
 * transaction under the project's row lock. Fills *res with the changed member on a change.
 * Returns 0, or the HTTP status of the refusal with a detail in msg: 404 not a member, 409 the
 * last owner would go; or -1 with *rc set for a database error.
 */
static int
member_change(struct st_app *app, const char *id, const char *user, const char *role,
	      struct st_db_result **out, enum st_err *rc, char *msg, size_t cap)
{
	const char *p2[] = { id, user };
	struct st_db_conn *conn = NULL;
	struct st_db_result *res = NULL;
	int result = -1;

	*out = NULL;
	*rc = st_db_acquire(app->db, &conn);
	if (*rc != ST_OK)
		goto out;
	*rc = st_db_begin(conn);
	if (*rc == ST_OK)
		*rc = st_db_query(conn, "SELECT 1 FROM projects WHERE id = $1::uuid FOR UPDATE", 1,
				  p2, NULL, NULL, 0);
	if (*rc == ST_OK)
		*rc = st_db_query(conn,
				  "SELECT role, (SELECT count(*) FROM project_members "
				  "WHERE project_id = $1::uuid AND role = 'owner') "
				  "FROM project_members WHERE project_id = $1::uuid "
				  "AND user_id = $2::uuid",
				  2, p2, &res, NULL, 0);
	if (*rc != ST_OK)
		goto out;
	if (st_db_rows(res) == 0) {
		snprintf(msg, cap, "user %s is not a member of the project", user);
		result = 404;
		goto out;
	}
	if (strcmp(st_db_get(res, 0, 0), "owner") == 0 && strcmp(st_db_get(res, 0, 1), "1") == 0 &&
	    (role == NULL || strcmp(role, "owner") != 0)) {
		snprintf(msg, cap,
			 "user %s is the project's last owner: make another member owner first",
			 user);
		result = 409;
		goto out;
	}
	st_db_result_free(res);
	res = NULL;
	if (role != NULL) {
		const char *p3[] = { id, user, role };

		*rc = st_db_query(
			conn,
			"UPDATE project_members SET role = $3 WHERE project_id = $1::uuid "
			"AND user_id = $2::uuid RETURNING " MEMBER_COLS,
			3, p3, &res, NULL, 0);
	} else {
		*rc = st_db_query(conn,
				  "DELETE FROM project_members WHERE project_id = $1::uuid "
				  "AND user_id = $2::uuid",
				  2, p2, NULL, NULL, 0);
	}
	if (*rc == ST_OK)
		*rc = st_db_commit(conn);
	if (*rc != ST_OK)
		goto out;
	*out = res;
	res = NULL;
	result = 0;
out:
	st_db_result_free(res);
	st_db_release(app->db, conn); /* rolls back what was not committed */
	return result;
}

int
members_patch(struct st_req *req, void *ctx)
{
	static const char *const allowed[] = { "role", NULL };
	struct st_app *app = ctx;
	const char *id = st_http_param(req, "id");
	const char *user = st_http_param(req, "user_id");
	const char *role = NULL;
	struct st_json_errs errs;
	struct st_db_result *res = NULL;
	cJSON *body = NULL, *out = NULL;
	char msg[200];
	enum st_err rc = ST_OK;
	int status;

	status = ingest_project_access(req, app, id, INGEST_MANAGE, NULL);
	if (status != 0)
		return status;
	if (!st_uuid_valid(user))
		return st_http_reply_problem(req, 404, "no member %.64s", user != NULL ? user : "");
	status = st_http_body_json_object(req, &body);
	if (status != 0)
		return status;
	st_json_errs_init(&errs);
	parse_role(body, true, &role, &errs);
	st_json_reject_unknown(body, allowed, &errs);
	if (errs.total > 0) {
		status = st_http_reply_invalid(req, 400, "the change is not valid", &errs);
		goto out;
	}
	status = member_change(app, id, user, role, &res, &rc, msg, sizeof(msg));
	if (status < 0) {
		status = st_http_reply_db_error(req, rc, "ingest");
		goto out;
	}
	if (status > 0) {
		status = st_http_reply_problem(req, status, "%s", msg);
		goto out;
	}
	out = member_json(res, 0);
	status = st_http_reply_json(req, 200, out);
out:
	st_db_result_free(res);
	cJSON_Delete(body);
	cJSON_Delete(out);
	return status;
}

int
members_delete(struct st_req *req, void *ctx)
{
	struct st_app *app = ctx;
	const char *id = st_http_param(req, "id");
	const char *user = st_http_param(req, "user_id");
	const char *self = ingest_caller_id(req);
	struct st_db_result *res = NULL;
	char msg[200];
	enum st_err rc = ST_OK;
	int status;

	/* Leaving a project needs only to be in it; removing someone else needs an owner. */
	status = ingest_project_access(req, app, id,
				       self != NULL && user != NULL && strcasecmp(self, user) == 0
					       ? INGEST_READ
					       : INGEST_MANAGE,
				       NULL);
	if (status != 0)
		return status;
	if (!st_uuid_valid(user))
		return st_http_reply_problem(req, 404, "no member %.64s", user != NULL ? user : "");
	status = member_change(app, id, user, NULL, &res, &rc, msg, sizeof(msg));
	st_db_result_free(res);
	if (status < 0)
		return st_http_reply_db_error(req, rc, "ingest");
	if (status > 0)
		return st_http_reply_problem(req, status, "%s", msg);
	return st_http_reply_no_content(req);
}
