/*
 * Users, the administrator's side (scope admin, checked by the route table): the list with
 * keyset paging, changing roles, the disabled flag and the name, and deletion.
 *
 * An administrator cannot delete, disable or demote themself: the last administrator would
 * otherwise be one click from a system nobody can administer. Another administrator can.
 * Roles changes reach tokens at their next refresh: an access token keeps the scopes it was
 * issued with until it expires (AUTH_ACCESS_TTL_S). Disabling revokes the refresh tokens.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "identity.h"
#include "strata/db.h"
#include "strata/encode.h"
#include "strata/log.h"

#define LIST_LIMIT_DEFAULT 50
#define LIST_LIMIT_MAX     1000
#define NAME_MAX_BYTES     200

/* The list is keyset-paged on (created_at, id), with libcommon's opaque cursor: paging stays
 * correct while users are added or removed between pages. */
int
users_list(struct st_req *req, void *ctx)
{
	static const char sql[] =
		"SELECT " AUTH_USER_COLS ", (extract(epoch FROM created_at) * 1000000)::bigint "
		"FROM users WHERE $1::bigint IS NULL OR (created_at, id) > ('epoch'::timestamptz "
		"+ $1::bigint * interval '1 microsecond', $2::uuid) "
		"ORDER BY created_at, id LIMIT $3";
	struct st_app *app = ctx;
	struct st_json_errs errs;
	char buf[256], micros[24], after[40], limit_text[24], next[160];
	const char *params[3] = { NULL, NULL, limit_text };
	struct st_db_result *res = NULL;
	cJSON *page = NULL, *items;
	long limit = LIST_LIMIT_DEFAULT;
	int status, rows;
	enum st_err rc;

	st_json_errs_init(&errs);
	if (st_http_query(req, "limit", buf, sizeof(buf))) {
		char *end = NULL;

		limit = strtol(buf, &end, 10);
		if (end == buf || *end != '\0' || limit < 1 || limit > LIST_LIMIT_MAX)
			st_json_errs_add(&errs, "limit", "must be an integer from 1 to %d",
					 LIST_LIMIT_MAX);
	}
	if (st_http_query(req, "cursor", buf, sizeof(buf)) && buf[0] != '\0') {
		if (st_cursor_decode(buf, micros, sizeof(micros), after, sizeof(after))) {
			params[0] = micros;
			params[1] = after;
		} else {
			st_json_errs_add(&errs, "cursor", "is not a cursor from a previous page");
		}
	}
	if (errs.total > 0) {
		status = st_http_reply_invalid(req, 400, "invalid query parameters", &errs);
		goto out;
	}
	snprintf(limit_text, sizeof(limit_text), "%ld", limit + 1); /* one more: is there a next? */
	rc = st_db_pool_query(app->db, sql, 3, params, &res, NULL, 0);
	if (rc != ST_OK) {
		status = st_http_reply_db_error(req, rc, "auth");
		goto out;
	}
	rows = st_db_rows(res);
	page = cJSON_CreateObject();
	items = cJSON_AddArrayToObject(page, "items");
	for (int i = 0; i < rows && i < limit; i++)
		cJSON_AddItemToArray(items, auth_user_json(res, i));
	if (rows > limit) {
		st_cursor_encode(st_db_get(res, (int)limit - 1, 7),
				 st_db_get(res, (int)limit - 1, 0), next, sizeof(next));
		cJSON_AddStringToObject(page, "next_cursor", next);
	} else {
		cJSON_AddNullToObject(page, "next_cursor");
	}
	status = st_http_reply_json(req, 200, page);
out:
	cJSON_Delete(page);
	st_db_result_free(res);
	return status;
}

/* The fields of a PATCH /users/{id}, validated. */
struct user_change {
	char roles[AUTH_ROLES_MAX * 16]; /* comma-separated; meaningful when has_roles */
	bool has_roles, has_admin;
	const char *disabled; /* "true", "false" or NULL: unchanged */
	const char *name;     /* NULL: unchanged */
};

/* Validates roles: an array of distinct known role names. Fills c. */
static void
parse_roles(const cJSON *arr, struct user_change *c, struct st_json_errs *errs)
{
	const char *names[AUTH_ROLES_MAX];
	size_t n = 0, len = 0;

	c->has_roles = true;
	c->roles[0] = '\0';
	if (!auth_roles_parse_json(arr, "roles", names, &n, errs))
		return;
	for (size_t i = 0; i < n; i++) {
		len += (size_t)snprintf(c->roles + len, sizeof(c->roles) - len, "%s%s",
					i > 0 ? "," : "", names[i]);
		c->has_admin = c->has_admin || strcmp(names[i], "admin") == 0;
	}
}

/* Applies c to user id in one transaction (revoking refresh tokens when disabling); *res
 * receives the updated user. ST_ERR_NOT_FOUND when there is no such user. */
static enum st_err
user_update(struct st_app *app, const char *id, const struct user_change *c,
	    struct st_db_result **res)
{
	static const char sql[] =
		"UPDATE users SET roles = COALESCE(string_to_array($2, ','), roles), "
		"disabled = COALESCE($3::boolean, disabled), name = COALESCE($4, name), "
		"updated_at = now() WHERE id = $1 RETURNING " AUTH_USER_COLS;
	const char *params[] = { id, c->has_roles ? c->roles : NULL, c->disabled, c->name };
	bool disabling = c->disabled != NULL && strcmp(c->disabled, "true") == 0;

	return auth_user_update(app, sql, 4, params, disabling, res);
}

/* True when the caller is the user id (a user, or an API key of that user). */
static bool
is_self(struct st_req *req, const char *id)
{
	const struct st_principal *p = st_http_principal(req);

	return p != NULL && strcasecmp(p->sub, id) == 0;
}

int
users_patch(struct st_req *req, void *ctx)
{
	static const char *const allowed[] = { "roles", "disabled", "name", NULL };
	struct st_app *app = ctx;
	const char *id = st_http_param(req, "id");
	struct st_json_errs errs;
	struct user_change c;
	const cJSON *roles = NULL;
	bool disabled = false, has_disabled;
	struct st_db_result *res = NULL;
	cJSON *body = NULL, *user = NULL, *data;
	int status;
	enum st_err rc;

	memset(&c, 0, sizeof(c));
	if (id == NULL || !st_uuid_valid(id))
		return st_http_reply_problem(req, 404, "no such user");
	status = st_http_body_json_object(req, &body);
	if (status != 0)
		return status;
	st_json_errs_init(&errs);
	st_json_reject_unknown(body, allowed, &errs);
	if (st_json_get_obj(body, "roles", false, cJSON_Array, &roles, &errs) && roles != NULL)
		parse_roles(roles, &c, &errs);
	has_disabled = cJSON_GetObjectItemCaseSensitive(body, "disabled") != NULL &&
		       !cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(body, "disabled"));
	if (st_json_get_bool(body, "disabled", false, &disabled, &errs) && has_disabled)
		c.disabled = disabled ? "true" : "false";
	st_json_get_str(body, "name", false, NAME_MAX_BYTES, &c.name, &errs);
	if (errs.total > 0) {
		status = st_http_reply_invalid(req, 400, "the request has invalid fields", &errs);
		goto out;
	}
	if (is_self(req, id) && ((c.has_roles && !c.has_admin) || disabled)) {
		status = st_http_reply_problem(req, 409,
					       "you cannot disable yourself or drop your own "
					       "admin role: ask another administrator");
		goto out;
	}
	rc = user_update(app, id, &c, &res);
	if (rc == ST_ERR_NOT_FOUND) {
		status = st_http_reply_problem(req, 404, "no such user");
		goto out;
	}
	if (rc != ST_OK) {
		status = st_http_reply_db_error(req, rc, "auth");
		goto out;
	}
	user = auth_user_json(res, 0);
	data = cJSON_CreateObject();
	if (c.has_roles)
		cJSON_AddItemToObject(data, "roles",
				      cJSON_Duplicate(cJSON_GetObjectItem(user, "roles"), true));
	if (c.disabled != NULL)
		cJSON_AddBoolToObject(data, "disabled", disabled);
	if (c.name != NULL)
		cJSON_AddBoolToObject(data, "name_changed", true);
	auth_audit(app, req, "user.updated", id, data);
	status = st_http_reply_json(req, 200, user);
out:
	cJSON_Delete(user);
	cJSON_Delete(body);
	st_db_result_free(res);
	return status;
}

int
users_delete(struct st_req *req, void *ctx)
{
	struct st_app *app = ctx;
	const char *id = st_http_param(req, "id");
	struct st_db_result *res = NULL;
	enum st_err rc;
	int status;

	if (id == NULL || !st_uuid_valid(id))
		return st_http_reply_problem(req, 404, "no such user");
	if (is_self(req, id))
		return st_http_reply_problem(req, 409,
					     "you cannot delete your own account: ask another "
					     "administrator");
	{
		const char *params[] = { id };

		rc = st_db_pool_query(app->db, "DELETE FROM users WHERE id = $1", 1, params, &res,
				      NULL, 0);
	}
	if (rc != ST_OK)
		status = st_http_reply_db_error(req, rc, "auth");
	else if (st_db_affected(res) == 0)
		status = st_http_reply_problem(req, 404, "no such user");
	else {
		auth_audit(app, req, "user.deleted", id, NULL);
		status = st_http_reply_no_content(req);
	}
	st_db_result_free(res);
	return status;
}
