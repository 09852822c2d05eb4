/*
 * Compact JWS tokens with OpenSSL (see jwt.h): decoding with our own JSON rules, RS256
 * verification with the algorithm pinned by the key, and RS256 signing in the form auth has
 * always issued (header {"alg":"RS256","kid":...,"typ":"JWT"}, compact JSON, base64url without
 * padding).
 */
#include "strata/jwt.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <string.h>
#include <strings.h>

#include "strata/encode.h"
#include "strata/json.h"

/* The largest decoded payload: a token of ST_JWT_MAX bytes holds at most this much. */
#define PAYLOAD_MAX (ST_JWT_MAX / 4 * 3 + 3)

const char *
st_jwt_result_str(enum st_jwt_result r)
{
	switch (r) {
	case ST_JWT_OK:
		return "ok";
	case ST_JWT_MALFORMED:
		return "malformed token";
	case ST_JWT_ALG:
		return "unsupported token algorithm";
	case ST_JWT_SIGNATURE:
		return "token signature invalid";
	}
	return "invalid token";
}

/* Decodes one part: base64url without padding (RFC 7515 section 2). */
static bool
part_decode(const char *text, size_t len, void *out, size_t cap, size_t *outlen)
{
	if (memchr(text, '=', len) != NULL)
		return false;
	return st_base64url_decode(text, len, out, cap, outlen);
}

/* One part holding a JSON object without repeated keys; NULL when it is not one. */
static cJSON *
part_object(const char *text, size_t len, char *buf, size_t cap)
{
	char err[128];
	size_t n = 0;
	cJSON *doc;

	if (len == 0 || !part_decode(text, len, buf, cap, &n))
		return NULL;
	doc = st_json_parse(buf, n, err, sizeof(err));
	if (doc != NULL && !cJSON_IsObject(doc)) {
		cJSON_Delete(doc);
		doc = NULL;
	}
	return doc;
}

/* The header's rules beyond alg: typ absent or "JWT", no crit, kid absent or a string. */
static bool
header_ok(const cJSON *header, const char **alg, const char **kid)
{
	const cJSON *a = cJSON_GetObjectItemCaseSensitive(header, "alg");
	const cJSON *k = cJSON_GetObjectItemCaseSensitive(header, "kid");
	const cJSON *typ = cJSON_GetObjectItemCaseSensitive(header, "typ");

	*alg = cJSON_IsString(a) ? a->valuestring : NULL;
	*kid = NULL;
	if (typ != NULL && (!cJSON_IsString(typ) || strcasecmp(typ->valuestring, "JWT") != 0))
		return false;
	/* crit names extensions the recipient must understand: we understand none. */
	if (cJSON_GetObjectItemCaseSensitive(header, "crit") != NULL)
		return false;
	if (k != NULL && !cJSON_IsString(k))
		return false;
	if (k != NULL)
		*kid = k->valuestring;
	return true;
}

enum st_jwt_result
st_jwt_decode(const char *token, size_t len, struct st_jwt *out)
{
	char hbuf[ST_JWT_HEADER_MAX], pbuf[PAYLOAD_MAX];
	const char *dot1, *dot2;
	enum st_jwt_result res = ST_JWT_MALFORMED;

	memset(out, 0, sizeof(*out));
	if (token == NULL || len > ST_JWT_MAX)
		goto out;
	dot1 = memchr(token, '.', len);
	if (dot1 == NULL)
		goto out;
	dot2 = memchr(dot1 + 1, '.', len - (size_t)(dot1 + 1 - token));
	if (dot2 == NULL || memchr(dot2 + 1, '.', len - (size_t)(dot2 + 1 - token)) != NULL)
		goto out;
	out->header = part_object(token, (size_t)(dot1 - token), hbuf, sizeof(hbuf));
	if (out->header == NULL || !header_ok(out->header, &out->alg, &out->kid))
		goto out;
	out->payload = part_object(dot1 + 1, (size_t)(dot2 - dot1 - 1), pbuf, sizeof(pbuf));
	if (out->payload == NULL)
		goto out;
	/* An empty signature decodes (alg "none" tokens have one): st_jwt_verify refuses it after
	 * the algorithm, so that such a token is named for its algorithm. */
	if (!part_decode(dot2 + 1, len - (size_t)(dot2 + 1 - token), out->sig, sizeof(out->sig),
			 &out->sig_len))
		goto out;
	out->signed_len = (size_t)(dot2 - token);
	res = ST_JWT_OK;
out:
	explicit_bzero(pbuf, sizeof(pbuf)); /* claims may name a person */
	return res;
}

void
st_jwt_cleanup(struct st_jwt *jwt)
{
	if (jwt == NULL)
		return;
	cJSON_Delete(jwt->header);
	cJSON_Delete(jwt->payload);
	memset(jwt, 0, sizeof(*jwt));
}

const char *
st_jwt_key_alg(const EVP_PKEY *key)
{
	if (key != NULL && EVP_PKEY_is_a(key, "RSA"))
		return ST_JWT_RS256;
	return NULL;
}

enum st_jwt_result
st_jwt_verify(const struct st_jwt *jwt, const char *token, EVP_PKEY *key)
{
	const char *want = st_jwt_key_alg(key);
	EVP_MD_CTX *ctx;
	bool ok;

	/* The pin: the key decides the algorithm, and the header must agree with it. */
	if (want == NULL || jwt->alg == NULL || strcmp(jwt->alg, want) != 0)
		return ST_JWT_ALG;
	if (jwt->sig_len == 0 || jwt->signed_len == 0)
		return ST_JWT_SIGNATURE;
	ctx = EVP_MD_CTX_new();
	ok = ctx != NULL && EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, key) == 1 &&
	     EVP_DigestVerify(ctx, jwt->sig, jwt->sig_len, (const unsigned char *)token,
			      jwt->signed_len) == 1;
	EVP_MD_CTX_free(ctx);
	if (!ok)
		ERR_clear_error(); /* leave no forged token's trace in this thread's error queue */
	return ok ? ST_JWT_OK : ST_JWT_SIGNATURE;
}

/* Appends the base64url of the compact text of json to buf at *len (cap bytes). */
static bool
append_part(const cJSON *json, char *buf, size_t cap, size_t *len)
{
	size_t n;
	char *text = st_json_print(json, &n);
	bool ok = st_base64url_encode(text, n, buf + *len, cap - *len);

	st_free(text);
	if (ok)
		*len += strlen(buf + *len);
	return ok;
}

enum st_err
st_jwt_sign(EVP_PKEY *key, const char *kid, const cJSON *claims, char **out)
{
	cJSON *header = cJSON_CreateObject();
	EVP_MD_CTX *ctx = NULL;
	unsigned char *sig = NULL;
	size_t cap = ST_JWT_MAX + 1, len = 0, siglen = 0;
	char *token = st_malloc(cap);
	enum st_err rc = ST_ERR_INVALID;

	*out = NULL;
	if (st_jwt_key_alg(key) == NULL || !cJSON_IsObject(claims))
		goto out;
	/* The members in libjwt's (sorted) order, so tokens look as they always have. */
	cJSON_AddStringToObject(header, "alg", ST_JWT_RS256);
	if (kid != NULL)
		cJSON_AddStringToObject(header, "kid", kid);
	cJSON_AddStringToObject(header, "typ", "JWT");
	rc = ST_ERR_TOO_LARGE;
	if (!append_part(header, token, cap, &len) || len + 1 >= cap)
		goto out;
	token[len++] = '.';
	if (!append_part(claims, token, cap, &len))
		goto out;
	rc = ST_ERR_INTERNAL;
	ctx = EVP_MD_CTX_new();
	if (ctx == NULL || EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, key) != 1 ||
	    EVP_DigestSign(ctx, NULL, &siglen, (const unsigned char *)token, len) != 1)
		goto out;
	sig = st_malloc(siglen);
	if (EVP_DigestSign(ctx, sig, &siglen, (const unsigned char *)token, len) != 1)
		goto out;
	rc = ST_ERR_TOO_LARGE;
	if (len + 1 >= cap)
		goto out;
	token[len++] = '.';
	if (!st_base64url_encode(sig, siglen, token + len, cap - len))
		goto out;
	*out = token;
	token = NULL; /* ownership moved to the caller */
	rc = ST_OK;
out:
	if (rc != ST_OK)
		ERR_clear_error();
	EVP_MD_CTX_free(ctx);
	st_free(sig);
	st_free(token);
	cJSON_Delete(header);
	return rc;
}

EVP_PKEY *
st_jwt_key_from_pem(const char *pem, size_t len, bool private_key)
{
	BIO *bio;
	EVP_PKEY *key;

	if (pem == NULL || len == 0 || len > (size_t)INT32_MAX)
		return NULL;
	bio = BIO_new_mem_buf(pem, (int)len);
	if (bio == NULL)
		return NULL;
	key = private_key ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL)
			  : PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
	BIO_free(bio);
	if (key == NULL)
		ERR_clear_error();
	return key;
}
