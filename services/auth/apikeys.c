/*
 * API keys: `stk_<prefix>_<secret>`, where the prefix is 8 random base64url characters (shown
 * in lists, so a person can tell keys apart) and the secret 32 random bytes in base64url. Only
 * the SHA-256 hex of the whole key is stored; the key itself is shown once, in the answer to
 * its creation. A key holds scopes (its permissions), never more than its creator's credentials
 * hold; a revoked key stays listed (revoked: true) but verifies no more.
 *
 * The gateway verifies a key through POST /internal/v1/api-keys/verify with a principal of
 * kind "service". The answer's scopes are the key's, cut down to what the user's roles still
 * grant, so that taking a role away from a user also takes it from their keys.
 */
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "strata/db.h"
#include "strata/encode.h"
#include "strata/log.h"
#include "strata/text.h"

#define APIKEY_NAME_MAX   100 /* characters */
#define APIKEY_PREFIX_RAW 6   /* bytes: 8 base64url characters */
#define APIKEY_SECRET_RAW 32  /* bytes: 43 base64url characters */
#define APIKEY_TEXT_MAX   200 /* longest key text accepted for verification */
#define APIKEY_LIST_DEF   50
#define APIKEY_LIST_MAX   1000

/* A timestamptz column as RFC 3339 UTC with milliseconds. */
#define TS(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"

/* clang-format off */
/* A new key, for a user who exists and is not disabled (no row otherwise). */
static const char create_sql[] =
	"INSERT INTO api_keys (id, user_id, name, prefix, key_hash, scopes, expires_at) "
	"SELECT $1, u.id, $3, $4, $5, $6::text[], $7::timestamptz "
	"FROM users u WHERE u.id = $2 AND NOT u.disabled "
	"RETURNING " TS("created_at") ", " TS("expires_at");

/* A page of the user's keys, newest first; the last column is the cursor's time. */
static const char list_sql[] =
	"SELECT id, name, prefix, array_to_string(scopes, ','), " TS("created_at") ", "
	TS("last_used_at") ", " TS("expires_at") ", revoked_at IS NOT NULL, "
	"to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') "
	"FROM api_keys WHERE user_id = $1 AND "
	"($2::timestamptz IS NULL OR (created_at, id) < ($2::timestamptz, $3::uuid)) "
	"ORDER BY created_at DESC, id DESC LIMIT $4::int";

/* A live key of an enabled user, with its user's roles and whether last_used_at is stale. */
static const char verify_sql[] =
	"SELECT k.id, k.user_id, array_to_string(k.scopes, ','), " TS("k.expires_at") ", "
	"array_to_string(u.roles, ','), "
	"k.last_used_at IS NULL OR k.last_used_at < now() - interval '1 minute' "
	"FROM api_keys k JOIN users u ON u.id = k.user_id "
	"WHERE k.key_hash = $1 AND k.revoked_at IS NULL AND NOT u.disabled AND "
	"(k.expires_at IS NULL OR k.expires_at > now())";
/* clang-format on */

ST_STATIC bool auth_apikey_time_valid(const char *s);
ST_STATIC size_t auth_apikey_name_chars(const char *s);
ST_STATIC void auth_apikey_generate(char *key, size_t cap, char *prefix, size_t pcap);

/* ---- pure parts (unit-tested) ---- */

/*
 * True for an RFC 3339 date-time from 1970 on (PostgreSQL alone would also take "tomorrow" or
 * "infinity").
 */
ST_STATIC bool
auth_apikey_time_valid(const char *s)
{
	int64_t ms;

	return st_time_parse_rfc3339(s, &ms) && ms >= 0;
}

/* The number of characters of a UTF-8 string; (size_t)-1 when it is not valid UTF-8 or holds
 * a control character (libcommon's st_text_chars). */
ST_STATIC size_t
auth_apikey_name_chars(const char *s)
{
	return st_text_chars(s, strlen(s), 0);
}

/* A new key "stk_<prefix>_<secret>" into key (cap >= 64) and its prefix (pcap >= 9). */
ST_STATIC void
auth_apikey_generate(char *key, size_t cap, char *prefix, size_t pcap)
{
	unsigned char raw[APIKEY_PREFIX_RAW + APIKEY_SECRET_RAW];
	char secret[64];

	st_random_bytes(raw, sizeof(raw));
	if (!st_base64url_encode(raw, APIKEY_PREFIX_RAW, prefix, pcap) ||
	    !st_base64url_encode(raw + APIKEY_PREFIX_RAW, APIKEY_SECRET_RAW, secret,
				 sizeof(secret))) {
		key[0] = prefix[0] = '\0';
		return;
	}
	snprintf(key, cap, "stk_%s_%s", prefix, secret);
	OPENSSL_cleanse(secret, sizeof(secret));
	OPENSSL_cleanse(raw, sizeof(raw));
}

/* ---- helpers ---- */

/* The scope bits as a PostgreSQL array literal ("{read,write}"), from libcommon's names. */
static void
scopes_pg(unsigned scopes, char *buf, size_t cap)
{
	char list[48]; /* every name: 35 bytes */

	if (!st_scopes_format(scopes, list, sizeof(list)))
		list[0] = '\0';
	snprintf(buf, cap, "{%s}", list);
}

/* The scopes granted by a stored comma-separated list of roles ("admin,viewer"). */
static unsigned
scopes_of_role_list(const char *list)
{
	const char *names[AUTH_ROLES_MAX];
	size_t n = 0;

	(void)auth_roles_parse(list, names, &n); /* checked when written: its good names count */
	return auth_scopes_of_roles(names, n);
}

/*
 * The calling user, for the key routes: a principal of kind user (or apikey, where allow_key)
 * whose subject is a user id. NULL after replying 401 (no credentials) or 403 (credentials of
 * another kind) with the status in *status.
 */
static const struct st_principal *
caller(struct st_req *req, bool allow_key, int *status)
{
	const struct st_principal *p = st_http_principal(req);

	if (!st_principal_authenticated(p)) {
		*status = st_http_reply_problem(req, 401, "API keys need a signed-in user");
		return NULL;
	}
	if ((strcmp(p->kind, "user") != 0 && !(allow_key && strcmp(p->kind, "apikey") == 0)) ||
	    !st_uuid_valid(p->sub)) {
		*status = st_http_reply_problem(
			req, 403,
			allow_key ? "API keys belong to users"
				  : "API keys are created by a signed-in user");
		return NULL;
	}
	return p;
}

/* Logs a failed database call (what: "listing keys") with the server's message, and answers
 * it as st_http_reply_db_error does. Returns the status. */
static int
db_failed(struct st_req *req, enum st_err rc, const char *what, const char *err)
{
	st_log(ST_LOG_ERROR, "apikeys", "%s failed: %s (%s)", what, st_err_str(rc), err);
	return st_http_reply_db_error(req, rc, "auth");
}

/* Adds a nullable time column of row 0 to obj. */
static void
add_time(cJSON *obj, const char *name, const struct st_db_result *res, int row, int col)
{
	if (st_db_is_null(res, row, col))
		cJSON_AddNullToObject(obj, name);
	else
		cJSON_AddStringToObject(obj, name, st_db_get(res, row, col));
}

/* ---- create ---- */

/* 403 naming the first scope in want that have lacks. */
static int
reply_scope_refused(struct st_req *req, unsigned want, unsigned have)
{
	char missing[96];

	if (st_scopes_format(want & ~have, missing, sizeof(missing)) && missing[0] != '\0') {
		missing[strcspn(missing, ",")] = '\0';
		return st_http_reply_problem(
			req, 403,
			"a key cannot hold the scope '%s': your credentials do not have it",
			missing);
	}
	return st_http_reply_problem(req, 403, "a key cannot hold more than your scopes");
}

int
apikeys_create(struct st_req *req, void *ctx)
{
	static const char *const allowed[] = { "name", "permissions", "expires_at", NULL };
	struct st_app *app = ctx;
	const struct st_principal *p;
	struct st_db_result *res = NULL;
	struct st_json_errs errs;
	cJSON *body = NULL, *out = NULL;
	const cJSON *perms = NULL;
	const char *name = NULL, *expires = NULL;
	char id[40], key[96], prefix[16], hash[65], pgscopes[64], err[256], loc[96];
	unsigned scopes = 0;
	enum st_err rc = ST_OK;
	int status;

	p = caller(req, false, &status);
	if (p == NULL)
		return status;
	status = st_http_body_json(req, &body);
	if (status != 0)
		return status;
	st_json_errs_init(&errs);
	if (st_json_get_str(body, "name", true, 0, &name, &errs)) {
		size_t n = auth_apikey_name_chars(name);

		if (n < 1 || n > APIKEY_NAME_MAX)
			st_json_errs_add(&errs, "name",
					 "must be 1 to %d characters, without control characters",
					 APIKEY_NAME_MAX);
	}
	if (st_json_get_obj(body, "permissions", true, cJSON_Array, &perms, &errs))
		auth_scopes_parse_json(perms, "permissions", &scopes, &errs);
	if (st_json_get_str(body, "expires_at", false, 64, &expires, &errs) && expires != NULL &&
	    !auth_apikey_time_valid(expires))
		st_json_errs_add(&errs, "expires_at",
				 "must be an RFC 3339 time (2026-01-01T00:00:00Z)");
	st_json_reject_unknown(body, allowed, &errs);
	if (errs.total > 0) {
		status = st_http_reply_invalid(req, 400, "the API key is not valid", &errs);
		goto out;
	}
	if (!st_scopes_allow(p->scopes, scopes)) {
		status = reply_scope_refused(req, scopes, p->scopes);
		goto out;
	}
	if (expires != NULL) {
		const char *params[] = { expires };

		rc = st_db_pool_query(app->db, "SELECT $1::timestamptz > now()", 1, params, &res,
				      err, sizeof(err));
		if (rc == ST_OK && strcmp(st_db_get(res, 0, 0), "t") != 0) {
			st_json_errs_add(&errs, "expires_at", "must be in the future");
			status = st_http_reply_invalid(req, 400, "the API key is not valid", &errs);
			goto out;
		}
		if (rc == ST_ERR_INVALID) {
			st_json_errs_add(&errs, "expires_at", "is not a valid time");
			status = st_http_reply_invalid(req, 400, "the API key is not valid", &errs);
			goto out;
		}
		st_db_result_free(res);
		res = NULL;
	}
	scopes_pg(scopes, pgscopes, sizeof(pgscopes));
	/* A prefix collision (one in 2^48) is a unique violation: draw again. */
	for (int attempt = 0; rc == ST_OK && attempt < 3; attempt++) {
		const char *params[] = { id, p->sub, name, prefix, hash, pgscopes, expires };

		st_uuid_v4(id, sizeof(id));
		auth_apikey_generate(key, sizeof(key), prefix, sizeof(prefix));
		st_sha256_hex(key, strlen(key), hash);
		rc = st_db_pool_query(app->db, create_sql, 7, params, &res, err, sizeof(err));
		if (rc != ST_ERR_CONFLICT)
			break;
		rc = ST_OK;
	}
	if (rc != ST_OK) {
		status = db_failed(req, rc, "storing a key", err);
		goto out;
	}
	if (res == NULL || st_db_rows(res) == 0) {
		status = st_http_reply_problem(req, 403, "the account is disabled or gone");
		goto out;
	}
	out = cJSON_CreateObject();
	cJSON_AddStringToObject(out, "id", id);
	cJSON_AddStringToObject(out, "name", name);
	cJSON_AddStringToObject(out, "key", key);
	cJSON_AddStringToObject(out, "prefix", prefix);
	cJSON_AddItemToObject(out, "permissions", auth_scopes_json(scopes));
	cJSON_AddStringToObject(out, "created_at", st_db_get(res, 0, 0));
	add_time(out, "expires_at", res, 0, 1);
	{
		cJSON *data = cJSON_CreateObject();

		cJSON_AddStringToObject(data, "id", id);
		cJSON_AddStringToObject(data, "prefix", prefix);
		cJSON_AddItemToObject(data, "permissions", auth_scopes_json(scopes));
		auth_audit(app, req, "apikey.created", p->sub, data);
	}
	snprintf(loc, sizeof(loc), "/api/v1/api-keys/%s", id);
	st_http_add_header(req, "Cache-Control", "no-store");
	status = st_http_reply_created(req, loc, out);
out:
	OPENSSL_cleanse(key, sizeof(key));
	if (out != NULL) {
		cJSON *k = cJSON_GetObjectItemCaseSensitive(out, "key");

		if (cJSON_IsString(k))
			OPENSSL_cleanse(k->valuestring, strlen(k->valuestring));
	}
	st_db_result_free(res);
	cJSON_Delete(body);
	cJSON_Delete(out);
	return status;
}

/* ---- list ---- */

/* The list cursor: base64url of "<created_at with microseconds>,<id>" of the last row. */
static bool
cursor_decode(const char *text, char *ts, size_t tscap, char *id)
{
	char raw[128];
	size_t n = 0;
	const char *comma;

	if (!st_base64url_decode(text, strlen(text), raw, sizeof(raw) - 1, &n))
		return false;
	raw[n] = '\0';
	comma = strchr(raw, ',');
	if (comma == NULL || (size_t)(comma - raw) >= tscap || !st_uuid_valid(comma + 1))
		return false;
	memcpy(ts, raw, (size_t)(comma - raw));
	ts[comma - raw] = '\0';
	memcpy(id, comma + 1, 37);
	return auth_apikey_time_valid(ts);
}

/* Parses ?limit= (default 50, 1 to 1000); false when it is not such a number. */
static bool
parse_limit(struct st_req *req, int *limit)
{
	char buf[16], *end = NULL;
	long v;

	*limit = APIKEY_LIST_DEF;
	if (!st_http_query(req, "limit", buf, sizeof(buf)))
		return true;
	v = strtol(buf, &end, 10);
	if (end == buf || *end != '\0' || v < 1 || v > APIKEY_LIST_MAX)
		return false;
	*limit = (int)v;
	return true;
}

int
apikeys_list(struct st_req *req, void *ctx)
{
	struct st_app *app = ctx;
	int status = 0;
	const struct st_principal *p = caller(req, true, &status);
	struct st_db_result *res = NULL;
	cJSON *out = NULL, *items;
	char cur[200], ts[64], cid[40], lim[16], err[256];
	const char *params[4];
	int limit, rows;
	enum st_err rc;

	if (p == NULL)
		return status;
	if (!parse_limit(req, &limit))
		return st_http_reply_problem(req, 400, "limit must be an integer from 1 to %d",
					     APIKEY_LIST_MAX);
	params[0] = p->sub;
	params[1] = NULL;
	params[2] = NULL;
	if (st_http_query(req, "cursor", cur, sizeof(cur))) {
		if (!cursor_decode(cur, ts, sizeof(ts), cid))
			return st_http_reply_problem(req, 400, "the cursor is not valid");
		params[1] = ts;
		params[2] = cid;
	}
	snprintf(lim, sizeof(lim), "%d", limit + 1);
	params[3] = lim;
	rc = st_db_pool_query(app->db, list_sql, 4, params, &res, err, sizeof(err));
	if (rc == ST_ERR_INVALID) {
		status = st_http_reply_problem(req, 400, "the cursor is not valid");
		goto out;
	}
	if (rc != ST_OK) {
		status = db_failed(req, rc, "listing keys", err);
		goto out;
	}
	rows = st_db_rows(res);
	out = cJSON_CreateObject();
	items = cJSON_AddArrayToObject(out, "items");
	for (int i = 0; i < rows && i < limit; i++) {
		cJSON *k = cJSON_CreateObject();
		unsigned scopes = 0;

		st_scopes_parse(st_db_get(res, i, 3), &scopes);
		cJSON_AddStringToObject(k, "id", st_db_get(res, i, 0));
		cJSON_AddStringToObject(k, "name", st_db_get(res, i, 1));
		cJSON_AddStringToObject(k, "prefix", st_db_get(res, i, 2));
		cJSON_AddItemToObject(k, "permissions", auth_scopes_json(scopes));
		add_time(k, "created_at", res, i, 4);
		add_time(k, "last_used_at", res, i, 5);
		add_time(k, "expires_at", res, i, 6);
		cJSON_AddBoolToObject(k, "revoked", strcmp(st_db_get(res, i, 7), "t") == 0);
		cJSON_AddItemToArray(items, k);
	}
	if (rows > limit) {
		char raw[128], enc[200];
		int n = snprintf(raw, sizeof(raw), "%s,%s", st_db_get(res, limit - 1, 8),
				 st_db_get(res, limit - 1, 0));

		if (n > 0 && (size_t)n < sizeof(raw) &&
		    st_base64url_encode(raw, (size_t)n, enc, sizeof(enc)))
			cJSON_AddStringToObject(out, "next_cursor", enc);
		else
			cJSON_AddNullToObject(out, "next_cursor");
	} else {
		cJSON_AddNullToObject(out, "next_cursor");
	}
	status = st_http_reply_json(req, 200, out);
out:
	st_db_result_free(res);
	cJSON_Delete(out);
	return status;
}

/* ---- delete ---- */

int
apikeys_delete(struct st_req *req, void *ctx)
{
	struct st_app *app = ctx;
	int status = 0;
	const struct st_principal *p = caller(req, true, &status);
	const char *id = st_http_param(req, "id");
	struct st_db_result *res = NULL;
	char err[256];
	enum st_err rc;

	if (p == NULL)
		return status;
	if (!st_uuid_valid(id))
		return st_http_reply_problem(req, 404, "no such API key");
	{
		const char *params[] = { id, p->sub };

		rc = st_db_pool_query(
			app->db,
			"UPDATE api_keys SET revoked_at = coalesce(revoked_at, now()) "
			"WHERE id = $1 AND user_id = $2 "
			"RETURNING prefix, revoked_at = now()",
			2, params, &res, err, sizeof(err));
	}
	if (rc != ST_OK) {
		status = db_failed(req, rc, "revoking a key", err);
		goto out;
	}
	if (st_db_rows(res) == 0) {
		status = st_http_reply_problem(req, 404, "no such API key");
		goto out;
	}
	if (strcmp(st_db_get(res, 0, 1), "t") == 0) {
		cJSON *data = cJSON_CreateObject();

		cJSON_AddStringToObject(data, "id", id);
		cJSON_AddStringToObject(data, "prefix", st_db_get(res, 0, 0));
		auth_audit(app, req, "apikey.revoked", p->sub, data);
	}
	status = st_http_reply_no_content(req);
out:
	st_db_result_free(res);
	return status;
}

/* ---- the gateway's verification ---- */

int
apikeys_verify_internal(struct st_req *req, void *ctx)
{
	static const char *const allowed[] = { "key", NULL };
	struct st_app *app = ctx;
	const struct st_principal *p = st_http_principal(req);
	struct st_db_result *res = NULL;
	struct st_json_errs errs;
	cJSON *body = NULL, *out = NULL;
	const char *key = NULL;
	char hash[65], err[256];
	const char *params[] = { hash };
	unsigned scopes = 0;
	enum st_err rc;
	int status;

	if (p == NULL || strcmp(p->kind, "service") != 0)
		return st_http_reply_problem(req, 403, "only services verify API keys");
	status = st_http_body_json(req, &body);
	if (status != 0)
		return status;
	st_json_errs_init(&errs);
	st_json_get_str(body, "key", true, APIKEY_TEXT_MAX, &key, &errs);
	st_json_reject_unknown(body, allowed, &errs);
	if (errs.total > 0) {
		status = st_http_reply_invalid(req, 400, "the body is not a key", &errs);
		goto out;
	}
	if (strncmp(key, "stk_", 4) != 0) {
		status = st_http_reply_problem(req, 404, "no such API key");
		goto out;
	}
	st_sha256_hex(key, strlen(key), hash);
	rc = st_db_pool_query(app->db, verify_sql, 1, params, &res, err, sizeof(err));
	if (rc != ST_OK) {
		status = db_failed(req, rc, "verifying a key", err);
		goto out;
	}
	if (st_db_rows(res) == 0) {
		status = st_http_reply_problem(req, 404, "no such API key");
		goto out;
	}
	st_scopes_parse(st_db_get(res, 0, 2), &scopes);
	scopes &= scopes_of_role_list(st_db_get(res, 0, 4));
	if (strcmp(st_db_get(res, 0, 5), "t") == 0) {
		/* At most once a minute per key: verification is hot, the column is advisory. */
		const char *idp[] = { st_db_get(res, 0, 0) };

		rc = st_db_pool_query(app->db,
				      "UPDATE api_keys SET last_used_at = now() WHERE id = $1 AND "
				      "(last_used_at IS NULL OR "
				      "last_used_at < now() - interval '1 minute')",
				      1, idp, NULL, err, sizeof(err));
		if (rc != ST_OK)
			st_log(ST_LOG_WARN, "apikeys", "last_used_at update failed: %s",
			       st_err_str(rc));
	}
	out = cJSON_CreateObject();
	cJSON_AddStringToObject(out, "id", st_db_get(res, 0, 0));
	cJSON_AddStringToObject(out, "user_id", st_db_get(res, 0, 1));
	cJSON_AddItemToObject(out, "scopes", auth_scopes_json(scopes));
	add_time(out, "expires_at", res, 0, 3);
	status = st_http_reply_json(req, 200, out);
out:
	st_db_result_free(res);
	cJSON_Delete(body);
	cJSON_Delete(out);
	return status;
}
