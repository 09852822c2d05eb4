/*
 * The JWKS cache and JWT verification. The gateway verifies every Bearer token locally against
 * the keys auth publishes at /api/v1/auth/jwks: a thread fetches them at start (auth may come
 * up later: it retries every few seconds until it has keys) and every GATEWAY_JWKS_REFRESH_S;
 * a token naming an unknown kid triggers one refetch, at most once every unknown_kid_min_s, so
 * that random kids cannot make the gateway hammer auth.
 *
 * Tokens are decoded and verified by libcommon's jwt.c, with OpenSSL and our own JSON parser: the
 * algorithm is fixed by the key (every key of the set is RSA, so RS256), never taken from the
 * token, and a header or payload that repeats a key is refused. The keys are held as OpenSSL
 * keys, made once when the JWKS is loaded, so that a request pays for the RSA verification
 * only (and only once per token: authn.c caches verified tokens).
 */
#include <errno.h>
#include <math.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "authn_int.h"
#include "strata/encode.h"
#include "strata/httpc.h"
#include "strata/json.h"
#include "strata/jwt.h"
#include "strata/log.h"
#include "strata/ticker.h"

#define JWKS_KEYS_MAX   16
#define JWKS_RETRY_S    5 /* refetch period while no key is loaded */
#define KID_MAX         64
#define RSA_BITS_MIN    2048
#define RSA_N_BYTES_MAX 1024 /* 8192-bit moduli */

struct jwks_key {
	char kid[KID_MAX];
	EVP_PKEY *pkey; /* owned (one reference): an RSA public key */
};

struct gw_jwks {
	struct gw_jwks_conf conf;
	pthread_rwlock_t lock; /* guards keys and nkeys; verifiers take a reference to a key */
	struct jwks_key keys[JWKS_KEYS_MAX];
	size_t nkeys;
	pthread_mutex_t fetch_lock;  /* one fetch at a time; guards last_kid_fetch_ms */
	int64_t last_kid_fetch_ms;   /* monotonic; the last refetch for an unknown kid */
	struct st_ticker *refresher; /* NULL without an HTTP client */
};

const char *
gw_jwt_reason(enum gw_jwt_result r)
{
	switch (r) {
	case GW_JWT_OK:
		return "ok";
	case GW_JWT_MALFORMED:
		return "malformed token";
	case GW_JWT_ALG:
		return "unsupported token algorithm";
	case GW_JWT_UNKNOWN_KID:
		return "unknown signing key";
	case GW_JWT_SIGNATURE:
		return "token signature invalid";
	case GW_JWT_EXPIRED:
		return "token expired";
	case GW_JWT_NOT_YET:
		return "token not yet valid";
	case GW_JWT_ISSUER:
		return "token issuer not accepted";
	case GW_JWT_AUDIENCE:
		return "token audience not accepted";
	case GW_JWT_CLAIMS:
		return "token claims invalid";
	}
	return "invalid token";
}

/* ---- key set ---- */

static void
keys_free(struct jwks_key *keys, size_t n)
{
	for (size_t i = 0; i < n; i++)
		EVP_PKEY_free(keys[i].pkey);
}

/* The RSA public key (n, e), or NULL when OpenSSL refuses it or it is shorter than
 * RSA_BITS_MIN. The caller owns the key. */
static EVP_PKEY *
rsa_public_key(const unsigned char *n, size_t nlen, const unsigned char *e, size_t elen)
{
	BIGNUM *bn_n = BN_bin2bn(n, (int)nlen, NULL);
	BIGNUM *bn_e = BN_bin2bn(e, (int)elen, NULL);
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *pkey = NULL, *out = NULL;

	if (bn_n == NULL || bn_e == NULL || bld == NULL ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn_n) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, bn_e))
		goto out;
	params = OSSL_PARAM_BLD_to_param(bld);
	ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
	if (params == NULL || ctx == NULL || EVP_PKEY_fromdata_init(ctx) <= 0 ||
	    EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) <= 0)
		goto out;
	if (EVP_PKEY_get_bits(pkey) < RSA_BITS_MIN)
		goto out;
	out = pkey;
	pkey = NULL; /* ownership moved to the caller */
out:
	EVP_PKEY_free(pkey);
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_free(bn_n);
	BN_free(bn_e);
	return out;
}

/* A string member, or NULL when absent or not a string. Borrowed. */
static const char *
member_str(const cJSON *obj, const char *name)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, name);

	return cJSON_IsString(item) ? item->valuestring : NULL;
}

/* Turns one JWK into a key; false when it is not a usable RS256 signature key. */
static bool
key_from_jwk(const cJSON *jwk, struct jwks_key *out)
{
	const char *kty = member_str(jwk, "kty"), *use = member_str(jwk, "use");
	const char *alg = member_str(jwk, "alg"), *kid = member_str(jwk, "kid");
	const char *n64 = member_str(jwk, "n"), *e64 = member_str(jwk, "e");
	unsigned char n[RSA_N_BYTES_MAX], e[16];
	size_t nlen, elen;

	if (kty == NULL || strcmp(kty, "RSA") != 0 || (use != NULL && strcmp(use, "sig") != 0) ||
	    (alg != NULL && strcmp(alg, "RS256") != 0) || kid == NULL || kid[0] == '\0' ||
	    n64 == NULL || e64 == NULL)
		return false;
	if (!st_strlcpy(out->kid, kid, sizeof(out->kid)))
		return false;
	if (!st_base64url_decode(n64, strlen(n64), n, sizeof(n), &nlen) ||
	    !st_base64url_decode(e64, strlen(e64), e, sizeof(e), &elen) || nlen == 0 || elen == 0)
		return false;
	out->pkey = rsa_public_key(n, nlen, e, elen);
	return out->pkey != NULL;
}

enum st_err
gw_jwks_load(struct gw_jwks *ks, const char *json, size_t len)
{
	char err[128];
	cJSON *doc = st_json_parse(json, len, err, sizeof(err));
	const cJSON *list = cJSON_GetObjectItemCaseSensitive(doc, "keys");
	const cJSON *jwk;
	struct jwks_key fresh[JWKS_KEYS_MAX], old[JWKS_KEYS_MAX];
	size_t nfresh = 0, nold, skipped = 0;
	enum st_err rc = ST_ERR_INVALID;

	memset(fresh, 0, sizeof(fresh));
	if (!cJSON_IsArray(list))
		goto out;
	cJSON_ArrayForEach(jwk, list)
	{
		struct jwks_key key;

		memset(&key, 0, sizeof(key));
		if (nfresh < JWKS_KEYS_MAX && key_from_jwk(jwk, &key))
			fresh[nfresh++] = key;
		else
			skipped++; /* key_from_jwk keeps no key when it fails */
	}
	if (skipped > 0)
		st_log(ST_LOG_WARN, "jwks", "keys skipped=%zu (not RS256 signature keys)", skipped);
	if (nfresh == 0)
		goto out;
	pthread_rwlock_wrlock(&ks->lock);
	nold = ks->nkeys;
	memcpy(old, ks->keys, sizeof(old));
	memcpy(ks->keys, fresh, sizeof(fresh));
	ks->nkeys = nfresh;
	pthread_rwlock_unlock(&ks->lock);
	keys_free(old, nold);
	nfresh = 0; /* ownership moved to the key set */
	rc = ST_OK;
out:
	keys_free(fresh, nfresh);
	cJSON_Delete(doc);
	return rc;
}

size_t
gw_jwks_count(struct gw_jwks *ks)
{
	size_t n;

	pthread_rwlock_rdlock(&ks->lock);
	n = ks->nkeys;
	pthread_rwlock_unlock(&ks->lock);
	return n;
}

/* Fetches the JWKS from auth and loads it. The caller holds fetch_lock. */
static enum st_err
fetch(struct gw_jwks *ks)
{
	static const struct st_principal_bind bind = { "GET", "/api/v1/auth/jwks", NULL };
	struct st_principal p;
	char url[512], line[600], principal[ST_PRINCIPAL_WIRE_MAX];
	const char *headers[] = { line, NULL };
	struct st_httpc_req req = {
		.method = "GET", .url = url, .headers = headers, .timeout_ms = ks->conf.timeout_ms
	};
	struct st_httpc_resp resp;
	enum st_err rc;

	memset(&p, 0, sizeof(p));
	st_strlcpy(p.sub, "gateway", sizeof(p.sub));
	st_strlcpy(p.kind, "service", sizeof(p.kind));
	p.issued_ms = st_now_wall_ms();
	snprintf(url, sizeof(url), "%s%s", ks->conf.auth_url, bind.path);
	rc = st_principal_sign(&p, ks->conf.principal_keys, "auth", &bind, principal,
			       sizeof(principal));
	if (rc != ST_OK)
		return rc;
	snprintf(line, sizeof(line), "%s: %s", ST_PRINCIPAL_HEADER, principal);
	rc = st_httpc_do(ks->conf.httpc, &req, &resp);
	if (rc != ST_OK) {
		st_log(ST_LOG_WARN, "jwks", "fetch failed url=%s err=%s", url, st_err_str(rc));
	} else if (resp.status != 200) {
		st_log(ST_LOG_WARN, "jwks", "fetch failed url=%s status=%ld", url, resp.status);
		rc = ST_ERR_UNAVAILABLE;
	} else {
		rc = gw_jwks_load(ks, resp.body, resp.len);
		if (rc != ST_OK)
			st_log(ST_LOG_ERROR, "jwks", "fetched document holds no usable key url=%s",
			       url);
		else
			st_log(ST_LOG_INFO, "jwks", "keys loaded count=%zu", gw_jwks_count(ks));
	}
	st_httpc_resp_cleanup(&resp);
	return rc;
}

static void
fetch_locked(struct gw_jwks *ks)
{
	pthread_mutex_lock(&ks->fetch_lock);
	fetch(ks);
	pthread_mutex_unlock(&ks->fetch_lock);
}

/* The refresher: at once, then every refresh_s (every JWKS_RETRY_S while no key is held). */
static int
refresher_tick(void *arg)
{
	struct gw_jwks *ks = arg;

	fetch_locked(ks);
	return (gw_jwks_count(ks) == 0 ? JWKS_RETRY_S : ks->conf.refresh_s) * 1000;
}

enum st_err
gw_jwks_create(const struct gw_jwks_conf *conf, struct gw_jwks **out)
{
	struct gw_jwks *ks = st_calloc(1, sizeof(*ks));

	ks->conf = *conf;
	pthread_rwlock_init(&ks->lock, NULL);
	pthread_mutex_init(&ks->fetch_lock, NULL);
	ks->last_kid_fetch_ms = st_now_mono_ms() - (int64_t)conf->unknown_kid_min_s * 1000;
	if (conf->httpc != NULL && st_ticker_create(refresher_tick, ks, &ks->refresher) != ST_OK) {
		st_log(ST_LOG_ERROR, "jwks", "cannot start the refresher thread");
		gw_jwks_destroy(ks);
		*out = NULL;
		return ST_ERR_INTERNAL;
	}
	*out = ks;
	return ST_OK;
}

void
gw_jwks_destroy(struct gw_jwks *ks)
{
	if (ks == NULL)
		return;
	st_ticker_destroy(ks->refresher);
	keys_free(ks->keys, ks->nkeys);
	pthread_mutex_destroy(&ks->fetch_lock);
	pthread_rwlock_destroy(&ks->lock);
	st_free(ks);
}

/* ---- verification ---- */

/* A reference to the key named kid (EVP_PKEY_free it), or NULL. A concurrent refresh may drop
 * the key from the set meanwhile: the reference keeps it alive for this verification. */
static EVP_PKEY *
key_get(struct gw_jwks *ks, const char *kid)
{
	EVP_PKEY *pkey = NULL;

	pthread_rwlock_rdlock(&ks->lock);
	for (size_t i = 0; i < ks->nkeys && pkey == NULL; i++)
		if (strcmp(ks->keys[i].kid, kid) == 0 && EVP_PKEY_up_ref(ks->keys[i].pkey) == 1)
			pkey = ks->keys[i].pkey;
	pthread_rwlock_unlock(&ks->lock);
	return pkey;
}

static bool
kid_known(struct gw_jwks *ks, const char *kid)
{
	bool known = false;

	pthread_rwlock_rdlock(&ks->lock);
	for (size_t i = 0; i < ks->nkeys && !known; i++)
		known = strcmp(ks->keys[i].kid, kid) == 0;
	pthread_rwlock_unlock(&ks->lock);
	return known;
}

/* An unknown kid: refetch once, unless a refetch for an unknown kid happened within
 * unknown_kid_min_s. Waits for a fetch in progress, which may have brought the key. */
static void
refresh_for_kid(struct gw_jwks *ks, const char *kid)
{
	int64_t now;

	if (ks->conf.httpc == NULL)
		return;
	pthread_mutex_lock(&ks->fetch_lock);
	now = st_now_mono_ms();
	if (!kid_known(ks, kid) &&
	    now - ks->last_kid_fetch_ms >= (int64_t)ks->conf.unknown_kid_min_s * 1000) {
		ks->last_kid_fetch_ms = now;
		st_log(ST_LOG_INFO, "jwks", "unknown kid: refetching the key set");
		fetch(ks);
	}
	pthread_mutex_unlock(&ks->fetch_lock);
}

/* A NumericDate claim as whole seconds; false when absent or not a finite number in range. */
static bool
numeric_date(const cJSON *claims, const char *name, int64_t *out)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(claims, name);
	double v;

	if (!cJSON_IsNumber(item))
		return false;
	v = item->valuedouble;
	if (!isfinite(v) || v < 0 || v > 253402300799.0) /* 9999-12-31 */
		return false;
	*out = (int64_t)v;
	return true;
}

static bool
audience_ok(const cJSON *claims, const char *audience)
{
	const cJSON *aud = cJSON_GetObjectItemCaseSensitive(claims, "aud"), *item;

	if (cJSON_IsString(aud))
		return strcmp(aud->valuestring, audience) == 0;
	if (!cJSON_IsArray(aud))
		return false;
	cJSON_ArrayForEach(item, aud)
	{
		if (cJSON_IsString(item) && strcmp(item->valuestring, audience) == 0)
			return true;
	}
	return false;
}

ST_STATIC enum gw_jwt_result
gw_jwt_check_claims(const cJSON *claims, const struct gw_jwt_conf *conf, int64_t now_s,
		    struct gw_jwt_claims *out)
{
	const char *iss = member_str(claims, "iss"), *sub = member_str(claims, "sub");
	const char *jti = member_str(claims, "jti");
	const cJSON *scope = cJSON_GetObjectItemCaseSensitive(claims, "scope");
	int64_t exp, iat, nbf;

	memset(out, 0, sizeof(*out));
	if (iss == NULL || strcmp(iss, conf->issuer) != 0)
		return GW_JWT_ISSUER;
	if (!audience_ok(claims, conf->audience))
		return GW_JWT_AUDIENCE;
	if (!numeric_date(claims, "exp", &exp) || !numeric_date(claims, "iat", &iat))
		return GW_JWT_CLAIMS;
	if (now_s >= exp + conf->leeway_s)
		return GW_JWT_EXPIRED;
	if (iat > now_s + conf->leeway_s)
		return GW_JWT_NOT_YET;
	if (cJSON_GetObjectItemCaseSensitive(claims, "nbf") != NULL &&
	    (!numeric_date(claims, "nbf", &nbf) || nbf > now_s + conf->leeway_s))
		return GW_JWT_NOT_YET;
	if (sub == NULL || !st_principal_field_ok(sub, sizeof(out->sub)) || jti == NULL ||
	    !st_principal_field_ok(jti, sizeof(out->jti)))
		return GW_JWT_CLAIMS;
	if (scope != NULL && !cJSON_IsNull(scope) &&
	    (!cJSON_IsString(scope) || !st_scopes_parse(scope->valuestring, &out->scopes)))
		return GW_JWT_CLAIMS;
	st_strlcpy(out->sub, sub, sizeof(out->sub));
	st_strlcpy(out->jti, jti, sizeof(out->jti));
	out->exp = exp;
	return GW_JWT_OK;
}

enum gw_jwt_result
gw_jwt_verify(struct gw_jwks *ks, const struct gw_jwt_conf *conf, const char *token, int64_t now_s,
	      struct gw_jwt_claims *out)
{
	struct st_jwt jwt;
	EVP_PKEY *pkey = NULL;
	enum gw_jwt_result res;

	memset(out, 0, sizeof(*out));
	if (st_jwt_decode(token, strnlen(token, ST_JWT_MAX + 1), &jwt) != ST_JWT_OK) {
		res = GW_JWT_MALFORMED;
		goto out;
	}
	/* Every key of the set is RSA: before looking for one, the header must name RS256. */
	if (jwt.alg == NULL || strcmp(jwt.alg, ST_JWT_RS256) != 0) {
		res = GW_JWT_ALG;
		goto out;
	}
	res = GW_JWT_UNKNOWN_KID;
	if (jwt.kid == NULL || jwt.kid[0] == '\0' || strlen(jwt.kid) >= KID_MAX)
		goto out;
	pkey = key_get(ks, jwt.kid);
	if (pkey == NULL) {
		refresh_for_kid(ks, jwt.kid);
		pkey = key_get(ks, jwt.kid);
	}
	if (pkey == NULL)
		goto out;
	switch (st_jwt_verify(&jwt, token, pkey)) { /* pins the algorithm to the key's */
	case ST_JWT_OK:
		res = gw_jwt_check_claims(jwt.payload, conf, now_s, out);
		break;
	case ST_JWT_ALG:
		res = GW_JWT_ALG;
		break;
	case ST_JWT_MALFORMED:
		res = GW_JWT_MALFORMED;
		break;
	case ST_JWT_SIGNATURE:
	default:
		res = GW_JWT_SIGNATURE;
		break;
	}
out:
	EVP_PKEY_free(pkey);
	st_jwt_cleanup(&jwt);
	return res;
}
