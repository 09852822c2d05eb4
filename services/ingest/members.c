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
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "ingest.h"
#include "strata/db.h"

/* clang-format off */
#define MEMBER_COLS "user_id, role, added_at, " INGEST_CURSOR("added_at", "user_id")
/* clang-format on */

static const char *const roles[] = { "owner", "member", "viewer", NULL };

static const struct st_field add_fields[] = {
	{ "user_id", ST_FIELD_UUID, ST_FIELD_REQUIRED, .detail = "must be a user id (a UUID)" },
	{ "role", ST_FIELD_ENUM, ST_FIELD_REQUIRED, .values = roles },
};

static const struct st_field patch_fields[] = {
	{ "role", ST_FIELD_ENUM, ST_FIELD_REQUIRED, .values = roles },
};

int
members_list(struct st_req *req, void *ctx)
{
	static const char sql[] =
		"SELECT " MEMBER_COLS " FROM project_members WHERE project_id = $1::uuid "
		"AND ($2::bigint IS NULL OR (added_at, user_id) > ('epoch'::timestamptz "
		"+ $2::bigint * interval '1 microsecond', $3::uuid)) "
		"ORDER BY added_at, user_id LIMIT $4::int";

	return ingest_project_list(req, ctx, sql);
}

int
members_add(struct st_req *req, void *ctx)
{
	static const char sql[] = "INSERT INTO project_members (project_id, user_id, role) "
				  "VALUES ($1::uuid, $2::uuid, $3) RETURNING " MEMBER_COLS;
	struct st_app *app = ctx;
	const char *id = st_http_param(req, "id");
	struct st_fields v;
	char user[INGEST_UUID_LEN], loc[160], conflict[96];
	int status;

	status = ingest_project_access(req, app, id, INGEST_MANAGE, NULL);
	if (status != 0)
		return status;
	status = st_fields_read(req, add_fields, ST_ARRAY_LEN(add_fields), ST_FIELDS_WHOLE, &v,
				"the member is not valid");
	if (status == 0) {
		const char *params[] = { id, v.params[0], v.params[1] };
		struct st_http_row_opts opts = { .location = loc, .conflict = conflict };

		/* As PostgreSQL writes it back: lowercase. */
		for (size_t i = 0; i < sizeof(user); i++)
			user[i] = (char)tolower((unsigned char)v.params[0][i]);
		snprintf(loc, sizeof(loc), "/api/v1/projects/%s/members/%s", id, user);
		snprintf(conflict, sizeof(conflict), "user %s is already a member of the project",
			 v.params[0]);
		status = st_http_reply_row(req, app->db, sql, 3, params, &opts);
	}
	st_fields_cleanup(&v);
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
	*rc = st_db_acquire_begin(app->db, &conn);
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
	struct st_app *app = ctx;
	const char *id = st_http_param(req, "id");
	const char *user = st_http_param(req, "user_id");
	struct st_fields v;
	struct st_db_result *res = NULL;
	cJSON *out;
	char msg[200];
	enum st_err rc = ST_OK;
	int status;

	status = ingest_project_access(req, app, id, INGEST_MANAGE, NULL);
	if (status != 0)
		return status;
	if (!st_uuid_valid(user))
		return st_http_reply_problem(req, 404, "no member %.64s", user != NULL ? user : "");
	status = st_fields_read(req, patch_fields, ST_ARRAY_LEN(patch_fields), ST_FIELDS_WHOLE, &v,
				"the change is not valid");
	if (status != 0)
		goto out;
	status = member_change(app, id, user, v.params[0], &res, &rc, msg, sizeof(msg));
	if (status < 0) {
		status = st_http_reply_db_error(req, rc, "ingest");
	} else if (status > 0) {
		status = st_http_reply_problem(req, status, "%s", msg);
	} else {
		out = st_db_row_json(res, 0);
		status = st_http_reply_json(req, 200, out);
		cJSON_Delete(out);
	}
out:
	st_db_result_free(res);
	st_fields_cleanup(&v);
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
