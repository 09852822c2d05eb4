/*
 * Access tokens: JWTs signed RS256 with the current signing key (libjwt 1.10), carrying iss,
 * sub, aud, iat, exp, jti, scope (space-separated, OAuth style) and roles, with the key's kid
 * in the header. Also the verification of this service's own tokens (for logout), which pins
 * RS256 itself: libjwt 1.10 verifies with whatever algorithm the token's header names, so an
 * HS256 token keyed with the public PEM would otherwise pass.
 */
#include <jwt.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "strata/encode.h"
#include "strata/log.h"

ST_STATIC void auth_token_scope_string(unsigned scopes, char *buf, size_t cap);
ST_STATIC char *auth_token_sign(const struct auth_token_claims *c, const char *kid, const char *pem,
				size_t len);
ST_STATIC enum st_err auth_token_header_check(const char *token, char *kid);

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
 * into the header. Returns the compact token (st_free), or NULL when libjwt refuses.
 */
ST_STATIC char *
auth_token_sign(const struct auth_token_claims *c, const char *kid, const char *pem, size_t len)
{
	jwt_t *jwt = NULL;
	cJSON *extra = cJSON_CreateObject();
	cJSON *roles = cJSON_AddArrayToObject(extra, "roles");
	char scope[96];
	char *json = NULL, *enc = NULL, *out = NULL;

	for (size_t i = 0; i < c->nroles; i++)
		cJSON_AddItemToArray(roles, cJSON_CreateString(c->roles[i]));
	json = st_json_print(extra, NULL);
	auth_token_scope_string(c->scopes, scope, sizeof(scope));
	if (jwt_new(&jwt) != 0 ||
	    jwt_set_alg(jwt, JWT_ALG_RS256, (const unsigned char *)pem, (int)len) != 0 ||
	    jwt_add_header(jwt, "kid", kid) != 0 || jwt_add_grant(jwt, "iss", c->iss) != 0 ||
	    jwt_add_grant(jwt, "sub", c->sub) != 0 || jwt_add_grant(jwt, "aud", c->aud) != 0 ||
	    jwt_add_grant_int(jwt, "iat", (long)c->iat) != 0 ||
	    jwt_add_grant_int(jwt, "exp", (long)c->exp) != 0 ||
	    jwt_add_grant(jwt, "jti", c->jti) != 0 || jwt_add_grant(jwt, "scope", scope) != 0 ||
	    jwt_add_grants_json(jwt, json) != 0)
		goto out;
	enc = jwt_encode_str(jwt);
	if (enc != NULL)
		out = st_strdup(enc);
out:
	free(enc);     /* libjwt allocates with malloc */
	jwt_free(jwt); /* frees its copy of the key */
	st_free(json);
	cJSON_Delete(extra);
	return out;
}

/*
 * The header of a compact token, checked before any signature work: it must name RS256 and a
 * kid of the right shape. Fills kid (AUTH_KID_LEN + 1 bytes). ST_ERR_AUTH otherwise.
 */
ST_STATIC enum st_err
auth_token_header_check(const char *token, char *kid)
{
	const char *dot = strchr(token, '.');
	unsigned char raw[512];
	size_t rawlen = 0;
	cJSON *hdr = NULL;
	const cJSON *alg, *k;
	enum st_err rc = ST_ERR_AUTH;

	if (dot == NULL ||
	    !st_base64url_decode(token, (size_t)(dot - token), raw, sizeof(raw) - 1, &rawlen))
		goto out;
	hdr = cJSON_ParseWithLength((const char *)raw, rawlen);
	alg = cJSON_GetObjectItemCaseSensitive(hdr, "alg");
	k = cJSON_GetObjectItemCaseSensitive(hdr, "kid");
	if (!cJSON_IsString(alg) || strcmp(alg->valuestring, "RS256") != 0 || !cJSON_IsString(k) ||
	    strlen(k->valuestring) != AUTH_KID_LEN)
		goto out;
	memcpy(kid, k->valuestring, AUTH_KID_LEN + 1);
	rc = ST_OK;
out:
	cJSON_Delete(hdr);
	return rc;
}

enum st_err
auth_tokens_verify(struct auth *auth, const char *token, char *jti, size_t jticap, int64_t *exp)
{
	char kid[AUTH_KID_LEN + 1];
	char *pem = NULL;
	jwt_t *jwt = NULL;
	const char *iss, *aud, *id;
	enum st_err rc = auth_token_header_check(token, kid);

	if (rc != ST_OK)
		goto out;
	rc = ST_ERR_AUTH;
	pem = auth_keys_public(auth->keys, kid);
	if (pem == NULL)
		goto out;
	if (jwt_decode(&jwt, token, (const unsigned char *)pem, (int)strlen(pem)) != 0 ||
	    jwt_get_alg(jwt) != JWT_ALG_RS256)
		goto out;
	iss = jwt_get_grant(jwt, "iss");
	aud = jwt_get_grant(jwt, "aud");
	id = jwt_get_grant(jwt, "jti");
	*exp = jwt_get_grant_int(jwt, "exp");
	if (iss == NULL || strcmp(iss, auth->issuer) != 0 || aud == NULL ||
	    strcmp(aud, auth->audience) != 0 || id == NULL || *exp <= 0 ||
	    !st_strlcpy(jti, id, jticap))
		goto out;
	rc = ST_OK;
out:
	jwt_free(jwt);
	st_free(pem);
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
