/*
 * Users, their own side: registration, password login (with the lockout in front of it), and
 * the caller's own account (GET and PATCH /api/v1/auth/me). Also what users_admin.c and the
 * tokens half share about users: loading one, its public JSON form, the email check, and
 * revoking a user's refresh tokens.
 *
 * Login answers the same 401 "invalid email or password" for an unknown email, a wrong
 * password and a disabled account, and spends the same Argon2id time on each, so that neither
 * the answer nor its timing tells which emails have accounts. Registration cannot hide that
 * (a taken email must be refused), which is why it can be turned off (AUTH_ALLOW_REGISTER).
 */
#include <string.h>

#include "identity.h"
#include "strata/db.h"
#include "strata/log.h"

#define NAME_MAX_BYTES     200
#define LOGIN_PASSWORD_MAX 1024 /* a login is checked against the hash, not the policy */
#define INVALID_LOGIN      "invalid email or password"

/* ---- shared helpers ---- */

bool
auth_email_ok(const char *email)
{
	const char *at = strchr(email, '@');
	size_t len = strlen(email);

	if (at == NULL || at == email || at - email > 64 || len > AUTH_EMAIL_MAX ||
	    strchr(at + 1, '@') != NULL)
		return false;
	for (const unsigned char *p = (const unsigned char *)email; *p != '\0'; p++)
		if (*p <= 0x20 || *p == 0x7f || strchr("<>()[],;:\"\\", *p) != NULL)
			return false;
	/* the domain: labels separated by single dots, at least two of them */
	at++;
	if (*at == '.' || at[strlen(at) - 1] == '.' || strstr(at, "..") != NULL ||
	    strchr(at, '.') == NULL)
		return false;
	return true;
}

enum st_err
auth_revoke_refresh_tokens(struct st_db_conn *conn, const char *user_id)
{
	const char *params[] = { user_id };
	char err[200];
	enum st_err rc;

	rc = st_db_query(conn,
			 "UPDATE refresh_tokens SET revoked_at = now() "
			 "WHERE user_id = $1 AND revoked_at IS NULL",
			 1, params, NULL, err, sizeof(err));
	if (rc != ST_OK)
		st_log(ST_LOG_ERROR, "users", "cannot revoke refresh tokens: %s", err);
	return rc;
}

/*
 * The roles of a stored list (array_to_string). Every list was checked when it was written; one
 * that no longer parses (a role this version does not know) keeps its good names, with a
 * warning: an unknown name grants nothing.
 */
static void
stored_roles(const char *csv, const char **names, size_t *n)
{
	if (auth_roles_parse(csv, names, n) != ST_OK)
		st_log(ST_LOG_WARN, "users", "a stored role list holds unknown or repeated names");
}

/* Adds roles, a stored comma-separated list, to obj as an array named "roles". */
static void
add_roles(cJSON *obj, const char *csv)
{
	const char *names[AUTH_ROLES_MAX];
	size_t n = 0;

	stored_roles(csv, names, &n);
	cJSON_AddItemToObject(obj, "roles", cJSON_CreateStringArray(names, (int)n));
}

cJSON *
auth_user_json(const struct st_db_result *res, int row)
{
	cJSON *u = cJSON_CreateObject();

	cJSON_AddStringToObject(u, "id", st_db_get(res, row, 0));
	cJSON_AddStringToObject(u, "email", st_db_get(res, row, 1));
	cJSON_AddStringToObject(u, "name", st_db_get(res, row, 2));
	add_roles(u, st_db_get(res, row, 3));
	cJSON_AddBoolToObject(u, "disabled", strcmp(st_db_get(res, row, 4), "t") == 0);
	cJSON_AddStringToObject(u, "created_at", st_db_get(res, row, 5));
	cJSON_AddStringToObject(u, "updated_at", st_db_get(res, row, 6));
	return u;
}

/* Fills out from a row whose first five columns are those of AUTH_USER_COLS. */
static void
user_from_row(const struct st_db_result *res, int row, struct auth_user *out)
{
	memset(out, 0, sizeof(*out));
	st_strlcpy(out->id, st_db_get(res, row, 0), sizeof(out->id));
	st_strlcpy(out->email, st_db_get(res, row, 1), sizeof(out->email));
	st_strlcpy(out->name, st_db_get(res, row, 2), sizeof(out->name));
	out->disabled = strcmp(st_db_get(res, row, 4), "t") == 0;
	stored_roles(st_db_get(res, row, 3), out->roles, &out->nroles);
}

enum st_err
auth_user_load(struct st_app *app, const char *id, struct auth_user *out)
{
	const char *params[] = { id };
	struct st_db_result *res = NULL;
	enum st_err rc;

	if (!st_uuid_valid(id))
		return ST_ERR_NOT_FOUND;
	rc = st_db_pool_query(app->db, "SELECT " AUTH_USER_COLS " FROM users WHERE id = $1", 1,
			      params, &res, NULL, 0);
	if (rc == ST_OK && st_db_rows(res) == 0)
		rc = ST_ERR_NOT_FOUND;
	if (rc == ST_OK)
		user_from_row(res, 0, out);
	st_db_result_free(res);
	return rc;
}

static int
reply_invalid(struct st_req *req, const struct st_json_errs *errs)
{
	return st_http_reply_invalid(req, 400, "the request has invalid fields", errs);
}

/* ---- register ---- */

int
users_register(struct st_req *req, void *ctx)
{
	static const char *const allowed[] = { "email", "password", "name", NULL };
	struct st_app *app = ctx;
	const struct auth *auth = app->state;
	const struct st_principal *p = st_http_principal(req);
	struct st_json_errs errs;
	const char *email = NULL, *password = NULL, *name = "";
	char id[40], hash[AUTH_PASSWORD_HASH_CAP], location[80], err[200];
	struct st_db_result *res = NULL;
	cJSON *body = NULL, *user = NULL;
	enum st_err rc;
	int status;

	/* An administrator may create accounts even when self-registration is off. */
	if (!auth->allow_register && !(p != NULL && st_principal_authenticated(p) &&
				       st_scopes_allow(p->scopes, ST_SCOPE_ADMIN))) {
		status = st_http_reply_problem(req, 403,
					       "self-registration is turned off: ask an "
					       "administrator for an account");
		goto out;
	}
	status = st_http_body_json_object(req, &body);
	if (status != 0)
		goto out;
	st_json_errs_init(&errs);
	st_json_reject_unknown(body, allowed, &errs);
	if (st_json_get_str(body, "email", true, AUTH_EMAIL_MAX, &email, &errs) &&
	    !auth_email_ok(email))
		st_json_errs_add(&errs, "email", "must be an email address");
	if (st_json_get_str(body, "password", true, 0, &password, &errs))
		auth_password_policy(password, "password", &errs);
	st_json_get_str(body, "name", false, NAME_MAX_BYTES, &name, &errs);
	if (errs.total > 0) {
		status = reply_invalid(req, &errs);
		goto out;
	}
	if (auth_password_hash(password, hash) != ST_OK) {
		status = st_http_reply_problem(req, 500, "cannot hash the password");
		goto out;
	}
	st_uuid_v4(id, sizeof(id));
	{
		const char *params[] = { id, email, hash, name };

		rc = st_db_pool_query(app->db,
				      "INSERT INTO users (id, email, password_hash, name) "
				      "VALUES ($1, $2, $3, $4) RETURNING " AUTH_USER_COLS,
				      4, params, &res, err, sizeof(err));
	}
	sodium_memzero(hash, sizeof(hash));
	if (rc == ST_ERR_CONFLICT) {
		status = st_http_reply_problem(req, 409, "an account with this email exists");
		goto out;
	}
	if (rc != ST_OK) {
		status = st_http_reply_db_error(req, rc, "auth");
		goto out;
	}
	user = auth_user_json(res, 0);
	auth_audit(app, req, "user.registered", id, NULL);
	snprintf(location, sizeof(location), "/api/v1/users/%s", id);
	status = st_http_reply_created(req, location, user);
out:
	cJSON_Delete(user);
	cJSON_Delete(body);
	st_db_result_free(res);
	return status;
}

/* ---- login ---- */

/* Audit data naming why a login failed and which account was tried (by its hash). */
static cJSON *
login_data(const struct auth_attempt *a, const char *reason)
{
	cJSON *d = cJSON_CreateObject();

	cJSON_AddStringToObject(d, "account", a->account);
	if (reason != NULL)
		cJSON_AddStringToObject(d, "reason", reason);
	return d;
}

/* Counts a failed login, audits it (and the blocks it caused), and answers 401. */
static int
login_failed(struct st_app *app, struct st_req *req, const struct auth_attempt *a,
	     const char *subject, const char *reason)
{
	struct auth_lock lock;

	auth_lockout_failed(app, a, &lock);
	auth_audit(app, req, "login.failed", subject, login_data(a, reason));
	if (lock.account_s > 0 || lock.addr_s > 0) {
		cJSON *d = login_data(a, NULL);

		cJSON_AddStringToObject(d, "scope", lock.addr_s > 0 ? "address" : "account");
		cJSON_AddNumberToObject(
			d, "seconds", lock.addr_s > lock.account_s ? lock.addr_s : lock.account_s);
		auth_audit(app, req, "login.locked", subject, d);
	}
	return st_http_reply_problem(req, 401, INVALID_LOGIN);
}

int
users_login(struct st_req *req, void *ctx)
{
	static const char *const allowed[] = { "email", "password", NULL };
	static const char sql[] = "SELECT " AUTH_USER_COLS ", password_hash FROM users "
				  "WHERE lower(email) = lower($1)";
	struct st_app *app = ctx;
	struct st_json_errs errs;
	const char *email = NULL, *password = NULL;
	struct auth_attempt attempt;
	struct auth_user user;
	struct st_db_result *res = NULL;
	cJSON *body = NULL, *tokens = NULL;
	char secs[16];
	int status, retry_after;
	bool known, ok;
	enum st_err rc;

	status = st_http_body_json_object(req, &body);
	if (status != 0)
		goto out;
	st_json_errs_init(&errs);
	st_json_reject_unknown(body, allowed, &errs);
	st_json_get_str(body, "email", true, AUTH_EMAIL_MAX, &email, &errs);
	st_json_get_str(body, "password", true, LOGIN_PASSWORD_MAX, &password, &errs);
	if (errs.total > 0) {
		status = reply_invalid(req, &errs);
		goto out;
	}
	auth_attempt_init(&attempt, email, auth_client_addr(req));
	if (auth_lockout_blocked(app, &attempt, &retry_after)) {
		snprintf(secs, sizeof(secs), "%d", retry_after);
		st_http_add_header(req, "Retry-After", secs);
		status = st_http_reply_problem(
			req, 429, "too many failed logins: try again in %d s", retry_after);
		goto out;
	}
	{
		const char *params[] = { email };

		rc = st_db_pool_query(app->db, sql, 1, params, &res, NULL, 0);
	}
	if (rc != ST_OK) {
		status = st_http_reply_db_error(req, rc, "auth");
		goto out;
	}
	known = st_db_rows(res) > 0;
	/* An unknown account costs the same Argon2id time as a known one. */
	ok = auth_password_verify(known ? st_db_get(res, 0, 7) : NULL, password);
	if (!known) {
		status = login_failed(app, req, &attempt, attempt.account, "unknown account");
		goto out;
	}
	user_from_row(res, 0, &user);
	if (!ok || user.disabled) {
		status = login_failed(app, req, &attempt, user.id,
				      ok ? "disabled" : "wrong password");
		goto out;
	}
	tokens = cJSON_CreateObject();
	rc = auth_refresh_issue_login(app, &user, tokens);
	if (rc != ST_OK) {
		status = st_http_reply_db_error(req, rc, "auth");
		goto out;
	}
	auth_lockout_succeeded(app, &attempt);
	auth_audit(app, req, "login.succeeded", user.id, NULL);
	st_http_add_header(req, "Cache-Control", "no-store");
	status = st_http_reply_json(req, 200, tokens);
out:
	cJSON_Delete(tokens);
	cJSON_Delete(body);
	st_db_result_free(res);
	return status;
}

/* ---- the caller's own account ---- */

/*
 * The user id of the caller: a user's or an API key's subject. Answers 401 for an anonymous
 * caller, 403 for a device or service, and returns NULL then (the status in *status).
 */
static const char *
caller_user(struct st_req *req, int *status)
{
	const struct st_principal *p = st_http_principal(req);

	if (!st_principal_authenticated(p)) {
		*status = st_http_reply_problem(req, 401, "sign in first");
		return NULL;
	}
	if (strcmp(p->kind, "user") != 0 && strcmp(p->kind, "apikey") != 0) {
		*status = st_http_reply_problem(req, 403, "only users have an account here");
		return NULL;
	}
	return p->sub;
}

/* Answers 200 with the user of res row 0 and the scopes its roles grant. */
static int
reply_me(struct st_req *req, const struct st_db_result *res)
{
	struct auth_user u;
	cJSON *me = auth_user_json(res, 0);
	int status;

	user_from_row(res, 0, &u);
	cJSON_AddItemToObject(me, "scopes",
			      auth_scopes_json(auth_scopes_of_roles(u.roles, u.nroles)));
	status = st_http_reply_json(req, 200, me);
	cJSON_Delete(me);
	return status;
}

int
users_me_get(struct st_req *req, void *ctx)
{
	struct st_app *app = ctx;
	struct st_db_result *res = NULL;
	int status = 0;
	const char *id = caller_user(req, &status);
	enum st_err rc;

	if (id == NULL)
		return status;
	if (!st_uuid_valid(id))
		return st_http_reply_problem(req, 404, "no such account");
	{
		const char *params[] = { id };

		rc = st_db_pool_query(app->db, "SELECT " AUTH_USER_COLS " FROM users WHERE id = $1",
				      1, params, &res, NULL, 0);
	}
	if (rc != ST_OK)
		status = st_http_reply_db_error(req, rc, "auth");
	else if (st_db_rows(res) == 0)
		status = st_http_reply_problem(req, 404, "no such account");
	else
		status = reply_me(req, res);
	st_db_result_free(res);
	return status;
}

/* The fields of a PATCH /me, validated. */
struct me_change {
	const char *name;     /* NULL: unchanged */
	const char *password; /* NULL: unchanged */
	const char *current;
};

/* Checks the caller's current password with the lockout in front of it. Returns 0 when it
 * matches, else the status of the answer it gave. */
static int
check_current_password(struct st_app *app, struct st_req *req, const char *id, const char *current)
{
	const char *params[] = { id };
	struct st_db_result *res = NULL;
	struct auth_attempt attempt;
	struct st_json_errs errs;
	struct auth_lock lock;
	char secs[16];
	int status = 0, retry_after;
	enum st_err rc;

	rc = st_db_pool_query(app->db, "SELECT email, password_hash FROM users WHERE id = $1", 1,
			      params, &res, NULL, 0);
	if (rc != ST_OK) {
		status = st_http_reply_db_error(req, rc, "auth");
		goto out;
	}
	if (st_db_rows(res) == 0) {
		status = st_http_reply_problem(req, 404, "no such account");
		goto out;
	}
	auth_attempt_init(&attempt, st_db_get(res, 0, 0), auth_client_addr(req));
	if (auth_lockout_blocked(app, &attempt, &retry_after)) {
		snprintf(secs, sizeof(secs), "%d", retry_after);
		st_http_add_header(req, "Retry-After", secs);
		status = st_http_reply_problem(req, 429,
					       "too many wrong passwords: try again in "
					       "%d s",
					       retry_after);
		goto out;
	}
	if (!auth_password_verify(st_db_get(res, 0, 1), current)) {
		auth_lockout_failed(app, &attempt, &lock);
		auth_audit(app, req, "password.change_failed", id, NULL);
		st_json_errs_init(&errs);
		st_json_errs_add(&errs, "current_password", "does not match the current password");
		status = reply_invalid(req, &errs);
		goto out;
	}
	auth_lockout_succeeded(app, &attempt);
out:
	st_db_result_free(res);
	return status;
}

enum st_err
auth_user_update(struct st_app *app, const char *sql, int nparams, const char *const *params,
		 bool revoke, struct st_db_result **res)
{
	struct st_db_conn *conn = NULL;
	enum st_err rc;

	rc = st_db_acquire_begin(app->db, &conn);
	if (rc == ST_OK)
		rc = st_db_query(conn, sql, nparams, params, res, NULL, 0);
	if (rc == ST_OK && st_db_rows(*res) == 0)
		rc = ST_ERR_NOT_FOUND;
	if (rc == ST_OK && revoke)
		rc = auth_revoke_refresh_tokens(conn, params[0]);
	if (rc == ST_OK)
		rc = st_db_commit(conn);
	st_db_release(app->db, conn); /* rolls back what was not committed */
	return rc;
}

/* Writes the change (a new password also revokes the refresh tokens); *res receives the
 * updated user. */
static enum st_err
me_update(struct st_app *app, const char *id, const struct me_change *c, const char *hash,
	  struct st_db_result **res)
{
	static const char sql[] = "UPDATE users SET name = COALESCE($2, name), "
				  "password_hash = COALESCE($3, password_hash), updated_at = now() "
				  "WHERE id = $1 RETURNING " AUTH_USER_COLS;
	const char *params[] = { id, c->name, hash };

	return auth_user_update(app, sql, 3, params, hash != NULL, res);
}

int
users_me_patch(struct st_req *req, void *ctx)
{
	static const char *const allowed[] = { "name", "password", "current_password", NULL };
	struct st_app *app = ctx;
	struct st_json_errs errs;
	struct me_change c = { 0 };
	struct st_db_result *res = NULL;
	char hash[AUTH_PASSWORD_HASH_CAP];
	cJSON *body = NULL, *data;
	int status = 0;
	const char *id = caller_user(req, &status);
	enum st_err rc;

	if (id == NULL)
		return status;
	/* Only the person, logged in, changes the account: an API key (even a read-only one,
	 * which the gateway lets through to /me) may read it, never change it. */
	if (strcmp(st_http_principal(req)->kind, "user") != 0)
		return st_http_reply_problem(req, 403, "an API key cannot change the account");
	status = st_http_body_json_object(req, &body);
	if (status != 0)
		goto out;
	st_json_errs_init(&errs);
	st_json_reject_unknown(body, allowed, &errs);
	st_json_get_str(body, "name", false, NAME_MAX_BYTES, &c.name, &errs);
	if (st_json_get_str(body, "password", false, 0, &c.password, &errs) && c.password != NULL)
		auth_password_policy(c.password, "password", &errs);
	st_json_get_str(body, "current_password", false, LOGIN_PASSWORD_MAX, &c.current, &errs);
	if (c.password != NULL && c.current == NULL)
		st_json_errs_add(&errs, "current_password", "is required to change the password");
	if (errs.total > 0) {
		status = reply_invalid(req, &errs);
		goto out;
	}
	if (c.password != NULL) {
		status = check_current_password(app, req, id, c.current);
		if (status != 0)
			goto out;
		if (auth_password_hash(c.password, hash) != ST_OK) {
			status = st_http_reply_problem(req, 500, "cannot hash the password");
			goto out;
		}
	}
	rc = me_update(app, id, &c, c.password != NULL ? hash : NULL, &res);
	sodium_memzero(hash, sizeof(hash));
	if (rc == ST_ERR_NOT_FOUND) {
		status = st_http_reply_problem(req, 404, "no such account");
		goto out;
	}
	if (rc != ST_OK) {
		status = st_http_reply_db_error(req, rc, "auth");
		goto out;
	}
	if (c.name != NULL) {
		data = cJSON_CreateObject();
		cJSON_AddItemToArray(cJSON_AddArrayToObject(data, "fields"),
				     cJSON_CreateString("name"));
		auth_audit(app, req, "user.updated", id, data);
	}
	if (c.password != NULL)
		auth_audit(app, req, "password.changed", id, NULL);
	status = reply_me(req, res);
out:
	cJSON_Delete(body);
	st_db_result_free(res);
	return status;
}
