/*
 * Access tokens: JWTs signed RS256 with the current signing key (libcommon's jwt.c), carrying
 * aud, exp, iat, iss, jti, roles, scope (space-separated, OAuth style) and sub, in that order,
 * with the key's kid in the header. Also the verification of this service's own tokens (for
 * logout), through the same module: the algorithm is pinned by the key (RS256), and a header or
 * payload that repeats a key is refused.
 */
#include <string.h>

#include "auth.h"
#include "strata/jwt.h"
#include "strata/log.h"

ST_STATIC void auth_token_scope_string(unsigned scopes, char *buf, size_t cap);
ST_STATIC char *auth_token_sign(const struct auth_token_claims *c, const char *kid, const char *pem,
				size_t len);
ST_STATIC enum st_err auth_token_decode(const char *token, struct st_jwt *jwt);

/* The scopes as an OAuth scope string ("read write") into buf. */
ST_STATIC void
auth_token_scope_string(unsigned scopes, char *buf, size_t cap)
{
	if (!st_scopes_format(scopes, buf, cap))
		buf[0] = '\0';
	for (char *p = buf; *p != '\0'; p++)
		if (*p == ',')
			*p = ' ';
}

/*
 * Builds and signs a token with claims c under the private key pem (len bytes) whose kid goes
 * into the header. Returns the compact token (st_free), or NULL when the key is refused. The
 * claims go in sorted order, as libjwt wrote them before: the tokens stay byte for byte what
 * they were.
 */
ST_STATIC char *
auth_token_sign(const struct auth_token_claims *c, const char *kid, const char *pem, size_t len)
{
	EVP_PKEY *key = st_jwt_key_from_pem(pem, len, true);
	cJSON *claims = cJSON_CreateObject();
	cJSON *roles;
	char scope[96];
	char *out = NULL;

	auth_token_scope_string(c->scopes, scope, sizeof(scope));
	cJSON_AddStringToObject(claims, "aud", c->aud);
	cJSON_AddNumberToObject(claims, "exp", (double)c->exp);
	cJSON_AddNumberToObject(claims, "iat", (double)c->iat);
	cJSON_AddStringToObject(claims, "iss", c->iss);
	cJSON_AddStringToObject(claims, "jti", c->jti);
	roles = cJSON_AddArrayToObject(claims, "roles");
	for (size_t i = 0; i < c->nroles; i++)
		cJSON_AddItemToArray(roles, cJSON_CreateString(c->roles[i]));
	cJSON_AddStringToObject(claims, "scope", scope);
	cJSON_AddStringToObject(claims, "sub", c->sub);
	if (key != NULL && st_jwt_sign(key, kid, claims, &out) != ST_OK)
		out = NULL;
	EVP_PKEY_free(key);
	cJSON_Delete(claims);
	return out;
}

/* A decoded header names RS256 (the algorithm of every key auth holds) and a kid of our shape
 * (AUTH_KID_LEN characters). st_jwt_verify pins the algorithm again against the key itself. */
static bool
header_usable(const struct st_jwt *jwt)
{
	return jwt->alg != NULL && strcmp(jwt->alg, ST_JWT_RS256) == 0 && jwt->kid != NULL &&
	       strlen(jwt->kid) == AUTH_KID_LEN;
}

/*
 * Decodes a compact token into jwt (st_jwt_cleanup it whatever the result) and checks its
 * header before any signature work: RS256 and a kid of the right shape; no part may repeat a
 * key. ST_ERR_AUTH otherwise.
 */
ST_STATIC enum st_err
auth_token_decode(const char *token, struct st_jwt *jwt)
{
	if (st_jwt_decode(token, strlen(token), jwt) != ST_JWT_OK || !header_usable(jwt))
		return ST_ERR_AUTH;
	return ST_OK;
}

/* A NumericDate claim in whole seconds; 0 when absent or not a positive number in range. */
static int64_t
claim_seconds(const cJSON *claims, const char *name)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(claims, name);

	if (!cJSON_IsNumber(item) || !(item->valuedouble > 0 && item->valuedouble < 253402300800.0))
		return 0;
	return (int64_t)item->valuedouble;
}

static const char *
claim_str(const cJSON *claims, const char *name)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(claims, name);

	return cJSON_IsString(item) ? item->valuestring : NULL;
}

enum st_err
auth_tokens_verify(struct auth *auth, const char *token, char *jti, size_t jticap, int64_t *exp)
{
	struct st_jwt jwt;
	char *pem = NULL;
	EVP_PKEY *key = NULL;
	const char *iss, *aud, *id;
	enum st_err rc = ST_ERR_AUTH;

	if (auth_token_decode(token, &jwt) != ST_OK)
		goto out;
	pem = auth_keys_public(auth->keys, jwt.kid);
	if (pem != NULL)
		key = st_jwt_key_from_pem(pem, strlen(pem), false);
	if (key == NULL || st_jwt_verify(&jwt, token, key) != ST_JWT_OK)
		goto out;
	iss = claim_str(jwt.payload, "iss");
	aud = claim_str(jwt.payload, "aud");
	id = claim_str(jwt.payload, "jti");
	*exp = claim_seconds(jwt.payload, "exp");
	if (iss == NULL || strcmp(iss, auth->issuer) != 0 || aud == NULL ||
	    strcmp(aud, auth->audience) != 0 || id == NULL || *exp <= 0 ||
	    !st_strlcpy(jti, id, jticap))
		goto out;
	rc = ST_OK;
out:
	EVP_PKEY_free(key);
	st_free(pem);
	st_jwt_cleanup(&jwt);
	return rc;
}

enum st_err
auth_tokens_issue_access(struct st_app *app, const struct auth_user *user, char **token)
{
	struct auth *auth = app->state;
	const char *roles[AUTH_ROLES_MAX];
	char kid[AUTH_KID_LEN + 1], jti[40];
	char *pem = NULL;
	size_t len = 0;
	struct auth_token_claims c;
	enum st_err rc;

	*token = NULL;
	rc = auth_keys_signer(auth->keys, kid, &pem, &len);
	if (rc != ST_OK)
		return rc;
	for (size_t i = 0; i < user->nroles && i < AUTH_ROLES_MAX; i++)
		roles[i] = user->roles[i];
	st_uuid_v4(jti, sizeof(jti));
	memset(&c, 0, sizeof(c));
	c.iss = auth->issuer;
	c.aud = auth->audience;
	c.sub = user->id;
	c.jti = jti;
	c.iat = st_now_wall_ms() / 1000;
	c.exp = c.iat + auth->access_ttl_s;
	c.nroles = user->nroles < AUTH_ROLES_MAX ? user->nroles : AUTH_ROLES_MAX;
	c.roles = roles;
	c.scopes = auth_scopes_of_roles(roles, c.nroles);
	*token = auth_token_sign(&c, kid, pem, len);
	auth_keys_secret_free(pem, len);
	if (*token == NULL) {
		st_log(ST_LOG_ERROR, "tokens", "signing an access token failed kid=%s", kid);
		return ST_ERR_INTERNAL;
	}
	return ST_OK;
}
