/*
 * Refresh tokens: opaque values (32 random bytes, base64url) stored only as SHA-256 hex in
 * auth.refresh_tokens, one row per token, the tokens of one login sharing a family. Every
 * refresh uses its token up and issues a successor in the same family. Presenting a token that
 * was already used means two parties hold it (a thief, or a client replaying): the whole family
 * is revoked. The decision is taken in one transaction with the token's row locked
 * (SELECT ... FOR UPDATE), so two concurrent refreshes with one token serialize and the second
 * sees the first's used_at: exactly one wins, and then the family dies.
 *
 * Logout revokes the family and puts the caller's access token (when it sent one) on the Redis
 * denylist `auth:deny:<jti>` until the token expires, and appends {jti, exp} to the stream
 * `auth:revocations`, from which every gateway keeps the revocations in memory.
 */
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "auth.h"
#include "strata/db.h"
#include "strata/encode.h"
#include "strata/log.h"
#include "strata/redis.h"

#define REFRESH_TOKEN_BYTES 32
#define REFRESH_TOKEN_MAX   128 /* longest value accepted from a client */

ST_STATIC void auth_refresh_token_new(char *token, size_t cap, char hash[65]);
ST_STATIC void auth_refresh_token_hash(const char *token, char hash[65]);

/* Writes a new random token (base64url, cap >= 44) and its hash. */
ST_STATIC void
auth_refresh_token_new(char *token, size_t cap, char hash[65])
{
	unsigned char raw[REFRESH_TOKEN_BYTES];

	st_random_bytes(raw, sizeof(raw));
	if (!st_base64url_encode(raw, sizeof(raw), token, cap))
		token[0] = '\0';
	st_sha256_hex(token, strlen(token), hash);
}

/* The stored form of a token: SHA-256 hex of its text. */
ST_STATIC void
auth_refresh_token_hash(const char *token, char hash[65])
{
	st_sha256_hex(token, strlen(token), hash);
}

enum st_err
auth_refresh_create(struct st_app *app, struct st_db_conn *conn, const char *user_id,
		    const char *family_id, char *token, size_t cap)
{
	static const char sql[] =
		"INSERT INTO refresh_tokens (id, family_id, user_id, token_hash, expires_at) "
		"VALUES ($1, $2, $3, $4, now() + make_interval(secs => $5::int))";
	struct auth *auth = app->state;
	char id[40], family[40], hash[65], ttl[16], err[256];
	const char *params[] = { id, family, user_id, hash, ttl };
	enum st_err rc;

	st_uuid_v4(id, sizeof(id));
	if (family_id != NULL)
		st_strlcpy(family, family_id, sizeof(family));
	else
		st_uuid_v4(family, sizeof(family));
	snprintf(ttl, sizeof(ttl), "%d", auth->refresh_ttl_s);
	auth_refresh_token_new(token, cap, hash);
	if (token[0] == '\0')
		return ST_ERR_INTERNAL;
	if (conn != NULL)
		rc = st_db_query(conn, sql, 5, params, NULL, err, sizeof(err));
	else
		rc = st_db_pool_query(app->db, sql, 5, params, NULL, err, sizeof(err));
	if (rc != ST_OK) {
		st_log(ST_LOG_ERROR, "refresh", "storing a refresh token failed: %s (%s)",
		       st_err_str(rc), err);
		token[0] = '\0';
	}
	return rc;
}

/* Fills out with the answer of a login or a refresh: {access_token, token_type "Bearer",
 * expires_in, refresh_token}. */
static void
pair_json(cJSON *out, const struct auth *auth, const char *access, const char *refresh)
{
	cJSON_AddStringToObject(out, "access_token", access);
	cJSON_AddStringToObject(out, "token_type", "Bearer");
	cJSON_AddNumberToObject(out, "expires_in", auth->access_ttl_s);
	cJSON_AddStringToObject(out, "refresh_token", refresh);
}

enum st_err
auth_refresh_issue_login(struct st_app *app, const struct auth_user *user, cJSON *out)
{
	char *access = NULL;
	char refresh[64];
	enum st_err rc;

	rc = auth_tokens_issue_access(app, user, &access);
	if (rc != ST_OK)
		goto out;
	rc = auth_refresh_create(app, NULL, user->id, NULL, refresh, sizeof(refresh));
	if (rc != ST_OK)
		goto out;
	pair_json(out, app->state, access, refresh);
out:
	st_free(access);
	return rc;
}

/* Reads {"refresh_token": "..."} into the token's hash (auth_refresh_token_hash); replies
 * itself and returns the status when the body is bad, else 0. */
static int
read_token_hash(struct st_req *req, char hash[65])
{
	static const char *const allowed[] = { "refresh_token", NULL };
	struct st_json_errs errs;
	cJSON *body = NULL;
	const char *token = NULL;
	int status;

	status = st_http_body_json(req, &body);
	if (status != 0)
		return status;
	st_json_errs_init(&errs);
	st_json_get_str(body, "refresh_token", true, REFRESH_TOKEN_MAX, &token, &errs);
	st_json_reject_unknown(body, allowed, &errs);
	if (errs.total > 0)
		status =
			st_http_reply_invalid(req, 400, "the body is not a refresh request", &errs);
	else
		auth_refresh_token_hash(token, hash);
	cJSON_Delete(body);
	return status;
}

/* Revokes every live token of family on conn. */
static enum st_err
family_revoke(struct st_db_conn *conn, const char *family)
{
	const char *params[] = { family };
	char err[256];
	enum st_err rc = st_db_query(conn,
				     "UPDATE refresh_tokens SET revoked_at = now() "
				     "WHERE family_id = $1 AND revoked_at IS NULL",
				     1, params, NULL, err, sizeof(err));

	if (rc != ST_OK)
		st_log(ST_LOG_ERROR, "refresh", "family revoke failed: %s (%s)", st_err_str(rc),
		       err);
	return rc;
}

int
refresh_post(struct st_req *req, void *ctx)
{
	struct st_app *app = ctx;
	struct auth *auth = app->state;
	struct st_db_conn *conn = NULL;
	struct st_db_result *res = NULL;
	struct auth_user user;
	cJSON *out = NULL;
	char hash[65], family[40], row_id[40], next[64], err[256];
	char *access = NULL;
	const char *p_hash[] = { hash };
	const char *p_id[] = { row_id };
	enum st_err rc;
	int status;

	status = read_token_hash(req, hash);
	if (status != 0)
		return status;
	rc = st_db_acquire_begin(app->db, &conn);
	if (rc == ST_OK)
		rc = st_db_query(conn,
				 "SELECT r.id, r.family_id, r.user_id, r.revoked_at IS NOT NULL, "
				 "r.used_at IS NOT NULL, r.expires_at <= now(), u.disabled, "
				 "array_to_string(u.roles, ','), u.email, u.name "
				 "FROM refresh_tokens r JOIN users u ON u.id = r.user_id "
				 "WHERE r.token_hash = $1 FOR UPDATE OF r",
				 1, p_hash, &res, err, sizeof(err));
	if (rc != ST_OK) {
		st_log(ST_LOG_ERROR, "refresh", "refresh lookup failed: %s (%s)", st_err_str(rc),
		       err);
		status = st_http_reply_db_error(req, rc, "auth");
		goto out;
	}
	if (st_db_rows(res) == 0 || strcmp(st_db_get(res, 0, 3), "t") == 0) {
		status = st_http_reply_problem(req, 401, "the refresh token is not valid");
		goto out;
	}
	st_strlcpy(row_id, st_db_get(res, 0, 0), sizeof(row_id));
	st_strlcpy(family, st_db_get(res, 0, 1), sizeof(family));
	memset(&user, 0, sizeof(user));
	st_strlcpy(user.id, st_db_get(res, 0, 2), sizeof(user.id));
	if (strcmp(st_db_get(res, 0, 4), "t") == 0) {
		/* Reuse: whoever holds the successor may be a thief, or the thief is here. */
		rc = family_revoke(conn, family);
		if (rc == ST_OK)
			rc = st_db_commit(conn);
		if (rc != ST_OK) {
			status = st_http_reply_db_error(req, rc, "auth");
			goto out;
		}
		st_log(ST_LOG_WARN, "refresh", "refresh token reuse: family revoked user=%s",
		       user.id);
		{
			cJSON *data = cJSON_CreateObject();

			cJSON_AddStringToObject(data, "family_id", family);
			auth_audit(app, req, "token.reuse_detected", user.id, data);
		}
		status = st_http_reply_problem(req, 401, "the refresh token is not valid");
		goto out;
	}
	if (strcmp(st_db_get(res, 0, 5), "t") == 0) {
		status = st_http_reply_problem(req, 401, "the refresh token is not valid");
		goto out;
	}
	if (strcmp(st_db_get(res, 0, 6), "t") == 0) {
		status = st_http_reply_problem(req, 401, "the account is disabled");
		goto out;
	}
	/* the stored list was checked when written; its good names are what counts */
	(void)auth_roles_parse(st_db_get(res, 0, 7), user.roles, &user.nroles);
	st_strlcpy(user.email, st_db_get(res, 0, 8), sizeof(user.email));
	st_strlcpy(user.name, st_db_get(res, 0, 9), sizeof(user.name));

	rc = st_db_query(conn, "UPDATE refresh_tokens SET used_at = now() WHERE id = $1", 1, p_id,
			 NULL, err, sizeof(err));
	if (rc == ST_OK)
		rc = auth_refresh_create(app, conn, user.id, family, next, sizeof(next));
	if (rc == ST_OK)
		rc = auth_tokens_issue_access(app, &user, &access);
	if (rc == ST_OK)
		rc = st_db_commit(conn);
	if (rc != ST_OK) {
		st_log(ST_LOG_ERROR, "refresh", "refresh failed: %s", st_err_str(rc));
		status = st_http_reply_db_error(req, rc, "auth");
		goto out;
	}
	out = cJSON_CreateObject();
	pair_json(out, auth, access, next);
	st_http_add_header(req, "Cache-Control", "no-store");
	status = st_http_reply_json(req, 200, out);
out:
	st_db_result_free(res);
	st_db_release(app->db, conn); /* rolls back what was not committed */
	cJSON_Delete(out);
	st_free(access);
	return status;
}

/* KEYS[1]: the denylist key, KEYS[2]: the revocation stream; ARGV: seconds left, jti, exp, the
 * stream's rough length. One script, so that the denylist and the stream the gateways read
 * (to hold the logout while Redis is away) never disagree. */
static const char deny_script[] =
	"redis.call('SET', KEYS[1], '1', 'EX', ARGV[1])\n"
	"redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[4], '*', 'jti', ARGV[2], 'exp', ARGV[3])\n"
	"return 1\n";

/*
 * Puts the access token in `Authorization: Bearer ...` (if any, and if it is one of ours) on
 * the denylist until it expires, and on the stream auth:revocations that every gateway reads.
 * A token that does not verify is ignored: it grants nothing.
 */
static enum st_err
deny_access_token(struct st_app *app, struct st_req *req)
{
	struct auth *auth = app->state;
	const char *h = st_http_header(req, "Authorization");
	char jti[64], key[96], ttl[24], exps[24];
	int64_t exp = 0, left;
	const char *argv[10];
	enum st_err rc;

	if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0)
		return ST_OK;
	h += 7;
	while (*h == ' ')
		h++;
	if (auth_tokens_verify(auth, h, jti, sizeof(jti), &exp) != ST_OK)
		return ST_OK;
	left = exp - st_now_wall_ms() / 1000;
	if (left <= 0)
		return ST_OK;
	snprintf(key, sizeof(key), "auth:deny:%s", jti);
	snprintf(ttl, sizeof(ttl), "%lld", (long long)left);
	snprintf(exps, sizeof(exps), "%lld", (long long)exp);
	argv[0] = "EVAL";
	argv[1] = deny_script;
	argv[2] = "2";
	argv[3] = key;
	argv[4] = "auth:revocations";
	argv[5] = ttl;
	argv[6] = jti;
	argv[7] = exps;
	argv[8] = "100000"; /* the gateways keep as many (GW_REVOKED_MAX) */
	rc = st_redis_argv(app->redis, 9, argv, NULL, NULL);
	if (rc != ST_OK)
		st_log(ST_LOG_ERROR, "refresh", "denylisting jti=%s failed: %s", jti,
		       st_err_str(rc));
	return rc;
}

int
refresh_logout(struct st_req *req, void *ctx)
{
	struct st_app *app = ctx;
	struct st_db_result *res = NULL;
	char hash[65], err[256];
	const char *p_hash[] = { hash };
	enum st_err rc;
	int status;

	status = read_token_hash(req, hash);
	if (status != 0)
		return status;
	rc = st_db_pool_query(app->db,
			      "UPDATE refresh_tokens SET revoked_at = now() WHERE family_id = "
			      "(SELECT family_id FROM refresh_tokens WHERE token_hash = $1) "
			      "AND revoked_at IS NULL RETURNING user_id",
			      1, p_hash, &res, err, sizeof(err));
	if (rc != ST_OK) {
		st_log(ST_LOG_ERROR, "refresh", "logout failed: %s (%s)", st_err_str(rc), err);
		status = st_http_reply_db_error(req, rc, "auth");
		goto out;
	}
	if (st_db_rows(res) > 0)
		auth_audit(app, req, "logout", st_db_get(res, 0, 0), NULL);
	rc = deny_access_token(app, req);
	if (rc != ST_OK) {
		status = st_http_reply_unavailable(req, 2, "the denylist (Redis)");
		goto out;
	}
	status = st_http_reply_no_content(req);
out:
	st_db_result_free(res);
	return status;
}
