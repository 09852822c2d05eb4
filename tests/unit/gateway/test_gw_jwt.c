/*
 * Unit tests for the gateway's JWT verification (jwks.c): RSA keys are generated here with
 * OpenSSL, published to the cache as a JWKS document, and tokens are signed and put together
 * by hand (jwt_fixture.c, plain OpenSSL). Every kind of forged or stale token is refused with
 * its reason: alg named twice (RS256 then HS256, HMAC keyed with the public PEM), alg none,
 * HS256 keyed with the public key's PEM, an HMAC signature under an RS256 header, a payload
 * repeating sub or exp, expired, wrong issuer or audience, a tampered payload, an unknown kid, a
 * key of the same kid that is not the published one, missing claims. The claim checks get their
 * own table.
 */
#include <check.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/authn_int.h"
#include "jwt_fixture.h"
#include "strata/encode.h"

#define NOW      1767225600LL /* 2026-01-01T00:00:00Z */
#define ISSUER   "http://127.0.0.1:8000"
#define AUDIENCE "strata"
#define KID      "0123456789abcdef"

static const struct gw_jwt_conf conf = { ISSUER, AUDIENCE, 30 };

/* Made once in the parent before the tests fork. */
static char *priv_a, *priv_b; /* PEM private keys: a is published, b is not */
static EVP_PKEY *key_a, *key_b;
static char *pub_a;    /* PEM public key of a */
static char *jwks_doc; /* {"keys":[a as KID]} */

static void
b64_bn(EVP_PKEY *pkey, const char *name, char *out, size_t cap)
{
	BIGNUM *bn = NULL;
	unsigned char bin[1024];
	int n;

	ck_assert(EVP_PKEY_get_bn_param(pkey, name, &bn) == 1);
	n = BN_bn2bin(bn, bin);
	ck_assert(st_base64url_encode(bin, (size_t)n, out, cap));
	BN_free(bn);
}

static char *
make_jwks(EVP_PKEY *pkey, const char *kid)
{
	char n[1400], e[32];
	char *doc = malloc(2048);

	b64_bn(pkey, OSSL_PKEY_PARAM_RSA_N, n, sizeof(n));
	b64_bn(pkey, OSSL_PKEY_PARAM_RSA_E, e, sizeof(e));
	snprintf(doc, 2048,
		 "{\"keys\":[{\"kty\":\"RSA\",\"use\":\"sig\",\"alg\":\"RS256\",\"kid\":\"%s\","
		 "\"n\":\"%s\",\"e\":\"%s\"}]}",
		 kid, n, e);
	return doc;
}

static void
make_keys(void)
{
	EVP_PKEY *a = ut_rsa_key(2048, &priv_a, &pub_a), *b = ut_rsa_key(2048, &priv_b, NULL);

	key_a = a;
	key_b = b;
	jwks_doc = make_jwks(a, KID);
}

static void
free_keys(void)
{
	EVP_PKEY_free(key_a);
	EVP_PKEY_free(key_b);
	free(priv_a);
	free(priv_b);
	free(pub_a);
	free(jwks_doc);
}

static struct gw_jwks *
cache(void)
{
	struct gw_jwks_conf jc = { .httpc = NULL, .refresh_s = 300, .unknown_kid_min_s = 10 };
	struct gw_jwks *ks = NULL;

	ck_assert_int_eq(gw_jwks_create(&jc, &ks), ST_OK);
	ck_assert_int_eq(gw_jwks_load(ks, jwks_doc, strlen(jwks_doc)), ST_OK);
	ck_assert_uint_eq(gw_jwks_count(ks), 1);
	return ks;
}

/* The claims of a good token, with one member replaced or removed: "name": JSON value, or
 * "name": NULL to leave it out. */
static char *
claims(const char *name, const char *value)
{
	static const char *const names[] = { "iss", "aud", "sub", "exp", "iat", "jti", "scope" };
	char defaults[7][64];
	char *out = malloc(1024);
	size_t len = 0;

	snprintf(defaults[0], 64, "\"%s\"", ISSUER);
	snprintf(defaults[1], 64, "\"%s\"", AUDIENCE);
	snprintf(defaults[2], 64, "\"5b0c3a52-9d7e-4f0e-9a51-2f3c1d0e8b11\"");
	snprintf(defaults[3], 64, "%lld", NOW + 900);
	snprintf(defaults[4], 64, "%lld", NOW - 5);
	snprintf(defaults[5], 64, "\"8a9b7c6d-1e2f-4a3b-8c4d-5e6f7a8b9c0d\"");
	snprintf(defaults[6], 64, "\"read write dashboard\"");
	out[len++] = '{';
	for (size_t i = 0; i < 7; i++) {
		const char *v = defaults[i];

		if (name != NULL && strcmp(name, names[i]) == 0) {
			if (value == NULL)
				continue;
			v = value;
		}
		len += (size_t)snprintf(out + len, 1024 - len, "%s\"%s\":%s", len > 1 ? "," : "",
					names[i], v);
	}
	snprintf(out + len, 1024 - len, "}");
	return out;
}

enum alg { RS256, HS256 };

/* Signs payload by hand: RS256 with the private key (priv_a or priv_b), or HS256 keyed with
 * the text of key (a PEM); kid in the header unless NULL. */
static char *
sign(enum alg alg, const char *key, const char *kid, const char *payload)
{
	char header[160];

	if (kid != NULL)
		snprintf(header, sizeof(header), "{\"alg\":\"%s\",\"kid\":\"%s\",\"typ\":\"JWT\"}",
			 alg == RS256 ? "RS256" : "HS256", kid);
	else
		snprintf(header, sizeof(header), "{\"alg\":\"%s\",\"typ\":\"JWT\"}",
			 alg == RS256 ? "RS256" : "HS256");
	if (alg == HS256)
		return ut_jwt_hs256(header, payload, key);
	return ut_jwt_rs256(header, payload, key == priv_a ? key_a : key_b);
}

static char *
b64(const char *text)
{
	size_t n = st_base64url_len(strlen(text)) + 1;
	char *out = malloc(n);

	ck_assert(st_base64url_encode(text, strlen(text), out, n));
	return out;
}

/* header.payload.signature put together by hand. */
static char *
by_hand(const char *header, const char *payload, const char *sig)
{
	return ut_jwt_with_sig(header, payload, sig);
}

static enum gw_jwt_result
verify(const char *token, struct gw_jwt_claims *out)
{
	struct gw_jwks *ks = cache();
	enum gw_jwt_result res = gw_jwt_verify(ks, &conf, token, NOW, out);

	gw_jwks_destroy(ks);
	return res;
}

static void
refused(const char *token, enum gw_jwt_result want)
{
	struct gw_jwt_claims out;
	enum gw_jwt_result res = verify(token, &out);

	ck_assert_msg(res == want, "got '%s', want '%s'", gw_jwt_reason(res), gw_jwt_reason(want));
	ck_assert_str_eq(out.sub, "");
}

START_TEST(valid_token)
{
	char *payload = claims(NULL, NULL);
	char *token = sign(RS256, priv_a, KID, payload);
	struct gw_jwt_claims out;

	ck_assert_int_eq(verify(token, &out), GW_JWT_OK);
	ck_assert_str_eq(out.sub, "5b0c3a52-9d7e-4f0e-9a51-2f3c1d0e8b11");
	ck_assert_str_eq(out.jti, "8a9b7c6d-1e2f-4a3b-8c4d-5e6f7a8b9c0d");
	ck_assert_uint_eq(out.scopes, ST_SCOPE_READ | ST_SCOPE_WRITE | ST_SCOPE_DASHBOARD);
	ck_assert_int_eq(out.exp, NOW + 900);
	free(token);
	free(payload);
}
END_TEST

START_TEST(alg_none)
{
	char *payload = claims(NULL, NULL);
	char *token = by_hand("{\"alg\":\"none\",\"kid\":\"" KID "\"}", payload, "");
	char *token2 = by_hand("{\"alg\":\"none\",\"kid\":\"" KID "\"}", payload, "eA");

	refused(token, GW_JWT_ALG);
	refused(token2, GW_JWT_ALG);
	free(token);
	free(token2);
	free(payload);
}
END_TEST

START_TEST(hs256_keyed_with_public_pem)
{
	char *payload = claims(NULL, NULL);
	char *token = sign(HS256, pub_a, KID, payload);

	refused(token, GW_JWT_ALG);
	free(token);
	free(payload);
}
END_TEST

START_TEST(hmac_signature_under_rs256_header)
{
	/* the HS256 token's signature with its header swapped for an RS256 one */
	char *payload = claims(NULL, NULL);
	char *hs = sign(HS256, pub_a, KID, payload);
	char *forged = by_hand("{\"alg\":\"RS256\",\"typ\":\"JWT\",\"kid\":\"" KID "\"}", payload,
			       strrchr(hs, '.') + 1);

	refused(forged, GW_JWT_SIGNATURE);
	free(forged);
	free(hs);
	free(payload);
}
END_TEST

/*
 * The forgery of the issue: alg named twice, RS256 for our check and HS256 for a parser that
 * keeps the last member, the HMAC keyed with the public PEM. Refused as malformed (a repeated
 * key); and what that other parser would have read, an HS256 header, is refused by the
 * algorithm pin even over a genuine RSA signature.
 */
START_TEST(twice_named_alg)
{
	char *payload = claims(NULL, NULL);
	char *forged = ut_jwt_hs256("{\"alg\":\"RS256\",\"typ\":\"JWT\",\"kid\":\"" KID
				    "\",\"alg\":\"HS256\"}",
				    payload, pub_a);
	char *relabelled = ut_jwt_rs256("{\"alg\":\"HS256\",\"typ\":\"JWT\",\"kid\":\"" KID "\"}",
					payload, key_a);

	refused(forged, GW_JWT_MALFORMED);
	refused(relabelled, GW_JWT_ALG);
	free(forged);
	free(relabelled);
	free(payload);
}
END_TEST

START_TEST(payload_repeats_a_claim)
{
	static const char *const twice[] = { "sub", "exp" };

	for (size_t i = 0; i < ST_ARRAY_LEN(twice); i++) {
		char *payload = claims(NULL, NULL), *token;
		size_t n = strlen(payload);

		/* the claim again, last: a parser keeping the last member would read this one */
		snprintf(payload + n - 1, 1024 - n + 1, ",\"%s\":%s}", twice[i],
			 i == 0 ? "\"admin\"" : "4102444800");
		token = sign(RS256, priv_a, KID, payload);
		refused(token, GW_JWT_MALFORMED);
		free(token);
		free(payload);
	}
}
END_TEST

START_TEST(expired)
{
	char exp[32];
	char *payload, *token;

	snprintf(exp, sizeof(exp), "%lld", NOW - 31); /* beyond the 30 s leeway */
	payload = claims("exp", exp);
	token = sign(RS256, priv_a, KID, payload);
	refused(token, GW_JWT_EXPIRED);
	free(token);
	free(payload);
}
END_TEST

START_TEST(wrong_issuer)
{
	char *payload = claims("iss", "\"http://evil.example\"");
	char *token = sign(RS256, priv_a, KID, payload);

	refused(token, GW_JWT_ISSUER);
	free(token);
	free(payload);
}
END_TEST

START_TEST(wrong_audience)
{
	char *payload = claims("aud", "\"other\"");
	char *token = sign(RS256, priv_a, KID, payload);

	refused(token, GW_JWT_AUDIENCE);
	free(token);
	free(payload);
}
END_TEST

START_TEST(tampered_payload)
{
	/* the original's signature over a payload granting admin */
	char *payload = claims(NULL, NULL);
	char *more = claims("scope", "\"read write admin dashboard\"");
	char *token = sign(RS256, priv_a, KID, payload);
	char *p2 = b64(more);
	const char *dot1 = strchr(token, '.'), *dot2 = strrchr(token, '.');
	size_t n = strlen(token) + strlen(p2) + 1;
	char *forged = malloc(n);

	snprintf(forged, n, "%.*s.%s%s", (int)(dot1 - token), token, p2, dot2);
	refused(forged, GW_JWT_SIGNATURE);
	free(forged);
	free(p2);
	free(token);
	free(more);
	free(payload);
}
END_TEST

START_TEST(unknown_kid)
{
	char *payload = claims(NULL, NULL);
	char *token = sign(RS256, priv_a, "fedcba9876543210", payload);
	char *nokid = sign(RS256, priv_a, NULL, payload);

	refused(token, GW_JWT_UNKNOWN_KID);
	refused(nokid, GW_JWT_UNKNOWN_KID);
	free(nokid);
	free(token);
	free(payload);
}
END_TEST

START_TEST(same_kid_other_key)
{
	char *payload = claims(NULL, NULL);
	char *token = sign(RS256, priv_b, KID, payload);

	refused(token, GW_JWT_SIGNATURE);
	free(token);
	free(payload);
}
END_TEST

START_TEST(missing_claims)
{
	static const char *const names[] = { "jti", "sub", "exp", "iat" };

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		char *payload = claims(names[i], NULL);
		char *token = sign(RS256, priv_a, KID, payload);

		refused(token, GW_JWT_CLAIMS);
		free(token);
		free(payload);
	}
}
END_TEST

START_TEST(malformed)
{
	static const char *const tokens[] = {
		"", "abc", "a.b", "a.b.c.d", "!!!.e30.sig", "e30.e30.sig", /* {} header: no alg */
	};
	char *payload = claims(NULL, NULL);
	char *nosig = by_hand("{\"alg\":\"RS256\",\"kid\":\"" KID "\"}", payload, "");
	char *notjson = by_hand("{\"alg\":\"RS256\",\"kid\":\"" KID "\"}", "[1,2]", "c2ln");
	char *huge = malloc(9000);

	for (size_t i = 0; i < sizeof(tokens) / sizeof(tokens[0]); i++) {
		struct gw_jwt_claims out;
		enum gw_jwt_result res = verify(tokens[i], &out);

		ck_assert_msg(res == GW_JWT_MALFORMED || res == GW_JWT_ALG, "'%s': %s", tokens[i],
			      gw_jwt_reason(res));
	}
	refused(nosig, GW_JWT_SIGNATURE); /* decodes; no signature verifies */
	refused(notjson, GW_JWT_MALFORMED);
	memset(huge, 'a', 8999);
	huge[8999] = '\0';
	refused(huge, GW_JWT_MALFORMED);
	free(huge);
	free(notjson);
	free(nosig);
	free(payload);
}
END_TEST

START_TEST(jwks_documents)
{
	struct gw_jwks_conf jc = { .httpc = NULL, .refresh_s = 300, .unknown_kid_min_s = 10 };
	struct gw_jwks *ks = NULL;
	EVP_PKEY *small = EVP_RSA_gen(1024);
	char *weak = make_jwks(small, "weak");
	static const char *const bad[] = {
		"not json",
		"{}",
		"{\"keys\":{}}",
		"{\"keys\":[]}",
		"{\"keys\":[{\"kty\":\"EC\",\"kid\":\"x\",\"crv\":\"P-256\"}]}",
		"{\"keys\":[{\"kty\":\"RSA\",\"kid\":\"x\",\"n\":\"***\",\"e\":\"AQAB\"}]}",
	};

	ck_assert_int_eq(gw_jwks_create(&jc, &ks), ST_OK);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_int_eq(gw_jwks_load(ks, bad[i], strlen(bad[i])), ST_ERR_INVALID);
	/* keys shorter than 2048 bits are not trusted */
	ck_assert_int_eq(gw_jwks_load(ks, weak, strlen(weak)), ST_ERR_INVALID);
	ck_assert_uint_eq(gw_jwks_count(ks), 0);
	ck_assert_int_eq(gw_jwks_load(ks, jwks_doc, strlen(jwks_doc)), ST_OK);
	ck_assert_uint_eq(gw_jwks_count(ks), 1);
	/* a bad document leaves the keys as they were */
	ck_assert_int_eq(gw_jwks_load(ks, "{}", 2), ST_ERR_INVALID);
	ck_assert_uint_eq(gw_jwks_count(ks), 1);
	gw_jwks_destroy(ks);
	gw_jwks_destroy(NULL);
	free(weak);
	EVP_PKEY_free(small);
}
END_TEST

/* ---- the claim checks alone ---- */

struct claims_case {
	const char *name;  /* the member replaced, or NULL */
	const char *value; /* its JSON, or NULL to remove it */
	enum gw_jwt_result want;
};

static const struct claims_case claims_cases[] = {
	{ NULL, NULL, GW_JWT_OK },
	{ "aud", "[\"other\",\"strata\"]", GW_JWT_OK },
	{ "aud", "[\"other\"]", GW_JWT_AUDIENCE },
	{ "aud", "[]", GW_JWT_AUDIENCE },
	{ "aud", NULL, GW_JWT_AUDIENCE },
	{ "aud", "\"Strata\"", GW_JWT_AUDIENCE },
	{ "iss", NULL, GW_JWT_ISSUER },
	{ "iss", "\"http://127.0.0.1:8000/\"", GW_JWT_ISSUER },
	{ "exp", "1767225570", GW_JWT_EXPIRED },    /* NOW - 30: the leeway's edge */
	{ "exp", "1767225571", GW_JWT_OK },         /* NOW - 29: within the leeway */
	{ "exp", "\"1767229200\"", GW_JWT_CLAIMS }, /* a string */
	{ "exp", "-1", GW_JWT_CLAIMS },
	{ "iat", "1767225630", GW_JWT_OK },      /* NOW + 30: within the leeway */
	{ "iat", "1767225631", GW_JWT_NOT_YET }, /* beyond */
	{ "iat", "null", GW_JWT_CLAIMS },
	{ "sub", NULL, GW_JWT_CLAIMS },
	{ "sub", "\"\"", GW_JWT_CLAIMS },
	{ "sub", "\"u;kind=service\"", GW_JWT_CLAIMS }, /* could smuggle a principal field */
	{ "sub", "42", GW_JWT_CLAIMS },
	{ "jti", NULL, GW_JWT_CLAIMS },
	{ "jti", "\"a b\"", GW_JWT_CLAIMS },
	{ "scope", NULL, GW_JWT_OK },
	{ "scope", "\"\"", GW_JWT_OK },
	{ "scope", "\"read superuser\"", GW_JWT_CLAIMS },
	{ "scope", "[\"read\"]", GW_JWT_CLAIMS },
};

START_TEST(claims_table)
{
	const struct claims_case *c = &claims_cases[_i];
	char *text = claims(c->name, c->value);
	cJSON *doc = cJSON_Parse(text);
	struct gw_jwt_claims out;
	enum gw_jwt_result res;

	ck_assert_ptr_nonnull(doc);
	res = gw_jwt_check_claims(doc, &conf, NOW, &out);
	ck_assert_msg(res == c->want, "%s=%s: '%s', want '%s'", c->name ? c->name : "-",
		      c->value ? c->value : "(none)", gw_jwt_reason(res), gw_jwt_reason(c->want));
	cJSON_Delete(doc);
	free(text);
}
END_TEST

START_TEST(nbf_and_scopes)
{
	const char *future = "{\"iss\":\"" ISSUER "\",\"aud\":\"strata\",\"sub\":\"u1\","
			     "\"jti\":\"j1\",\"exp\":1767226500,\"iat\":1767225600,"
			     "\"nbf\":1767225700}";
	const char *fine = "{\"iss\":\"" ISSUER "\",\"aud\":\"strata\",\"sub\":\"u1\","
			   "\"jti\":\"j1\",\"exp\":1767226500,\"iat\":1767225600,"
			   "\"nbf\":1767225600,\"scope\":\"ingest\"}";
	cJSON *a = cJSON_Parse(future), *b = cJSON_Parse(fine);
	struct gw_jwt_claims out;

	ck_assert_int_eq(gw_jwt_check_claims(a, &conf, NOW, &out), GW_JWT_NOT_YET);
	ck_assert_int_eq(gw_jwt_check_claims(b, &conf, NOW, &out), GW_JWT_OK);
	ck_assert_uint_eq(out.scopes, ST_SCOPE_INGEST);
	ck_assert_str_eq(out.sub, "u1");
	cJSON_Delete(a);
	cJSON_Delete(b);
}
END_TEST

START_TEST(reasons_are_constant_phrases)
{
	for (int r = GW_JWT_OK; r <= GW_JWT_CLAIMS; r++) {
		const char *why = gw_jwt_reason((enum gw_jwt_result)r);

		ck_assert_ptr_nonnull(why);
		ck_assert(strlen(why) > 0 && strchr(why, '"') == NULL);
	}
	ck_assert_str_eq(gw_jwt_reason(GW_JWT_EXPIRED), "token expired");
	ck_assert_str_eq(gw_jwt_reason(GW_JWT_SIGNATURE), "token signature invalid");
}
END_TEST

Suite *
gw_jwt_suite(void)
{
	Suite *s = suite_create("gw_jwt");
	TCase *tokens = tcase_create("tokens");
	TCase *checks = tcase_create("claims");

	tcase_add_unchecked_fixture(tokens, make_keys, free_keys);
	tcase_set_timeout(tokens, 30);
	tcase_add_test(tokens, valid_token);
	tcase_add_test(tokens, twice_named_alg);
	tcase_add_test(tokens, payload_repeats_a_claim);
	tcase_add_test(tokens, alg_none);
	tcase_add_test(tokens, hs256_keyed_with_public_pem);
	tcase_add_test(tokens, hmac_signature_under_rs256_header);
	tcase_add_test(tokens, expired);
	tcase_add_test(tokens, wrong_issuer);
	tcase_add_test(tokens, wrong_audience);
	tcase_add_test(tokens, tampered_payload);
	tcase_add_test(tokens, unknown_kid);
	tcase_add_test(tokens, same_kid_other_key);
	tcase_add_test(tokens, missing_claims);
	tcase_add_test(tokens, malformed);
	tcase_add_test(tokens, jwks_documents);
	suite_add_tcase(s, tokens);
	tcase_add_loop_test(checks, claims_table, 0,
			    (int)(sizeof(claims_cases) / sizeof(claims_cases[0])));
	tcase_add_test(checks, nbf_and_scopes);
	tcase_add_test(checks, reasons_are_constant_phrases);
	suite_add_tcase(s, checks);
	return s;
}
