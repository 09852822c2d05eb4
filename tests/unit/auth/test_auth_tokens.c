/*
 * Unit tests for the auth service's tokens half: access-token claims survive signing and
 * decoding with the public key (every claim and the kid header), in the exact text libjwt
 * wrote before auth signed with libcommon's jwt.c; the header check refuses every algorithm
 * but RS256, tokens without a kid and headers that repeat a key; the JWK's n and e are OpenSSL's
 * own modulus and exponent in base64url and the kid is the SHA-256 of the public key's DER; weak or
 * non-RSA keys are refused for import; refresh tokens are 32 random bytes in base64url stored as
 * their SHA-256 hex; API-key texts, names and expiry times are checked as documented.
 */
#include <check.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/auth.h"
#include "strata/encode.h"
#include "strata/jwt.h"

/* The ST_STATIC functions under test (keys.c, tokens.c, refresh.c, apikeys.c). */
enum st_err auth_key_kid(EVP_PKEY *pkey, char *kid);
enum st_err auth_key_from_pem(const char *pem, char **priv, size_t *priv_len, char **pub, char *kid,
			      char *err, size_t errcap);
enum st_err auth_key_generate(unsigned bits, char **priv, size_t *priv_len);
cJSON *auth_key_jwk(const char *kid, const char *public_pem);
void auth_token_scope_string(unsigned scopes, char *buf, size_t cap);
char *auth_token_sign(const struct auth_token_claims *c, const char *kid, const char *pem,
		      size_t len);
enum st_err auth_token_decode(const char *token, struct st_jwt *jwt);
void auth_refresh_token_new(char *token, size_t cap, char hash[65]);
void auth_refresh_token_hash(const char *token, char hash[65]);
bool auth_apikey_time_valid(const char *s);
size_t auth_apikey_name_chars(const char *s);
void auth_apikey_generate(char *key, size_t cap, char *prefix, size_t pcap);

/* One RSA-2048 key for the whole suite (generation takes a while): private PEM, public PEM,
 * kid. Made in each forked test's process on first use. */
static char *priv_pem, *pub_pem;
static size_t priv_len;
static char kid[AUTH_KID_LEN + 1];

static void
key_setup(void)
{
	char *gen = NULL;
	size_t gen_len = 0;
	char err[128];

	if (priv_pem != NULL)
		return;
	ck_assert_int_eq(auth_key_generate(2048, &gen, &gen_len), ST_OK);
	ck_assert_int_eq(
		auth_key_from_pem(gen, &priv_pem, &priv_len, &pub_pem, kid, err, sizeof(err)),
		ST_OK);
	ck_assert_ptr_nonnull(strstr(priv_pem, "-----BEGIN PRIVATE KEY-----"));
	ck_assert_ptr_nonnull(strstr(pub_pem, "-----BEGIN PUBLIC KEY-----"));
	st_free(gen);
}

static EVP_PKEY *
read_pub(const char *pem)
{
	BIO *bio = BIO_new_mem_buf(pem, -1);
	EVP_PKEY *pkey = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);

	BIO_free(bio);
	ck_assert_ptr_nonnull(pkey);
	return pkey;
}

static char *
sign_sample(int64_t iat, const char *const *roles, size_t nroles, unsigned scopes)
{
	struct auth_token_claims c = {
		.iss = "http://127.0.0.1:8000",
		.aud = "strata",
		.sub = "2b7c1a9e-4d6f-4e0a-9b1c-3f5e7d9a1b2c",
		.jti = "5f0e8d7c-6b5a-4e3d-8c2b-1a0f9e8d7c6b",
		.iat = iat,
		.exp = iat + 900,
		.scopes = scopes,
		.roles = roles,
		.nroles = nroles,
	};

	key_setup();
	return auth_token_sign(&c, kid, priv_pem, priv_len);
}

/* Decodes part (0: header, 1: payload) of token into buf as text. */
static void
part_text(const char *token, int part, char *buf, size_t cap)
{
	const char *start = token, *end;
	size_t n = 0;

	if (part == 1)
		start = strchr(token, '.') + 1;
	end = strchr(start, '.');
	ck_assert(st_base64url_decode(start, (size_t)(end - start), buf, cap - 1, &n));
	buf[n] = '\0';
}

/* auth_token_decode's verdict and the kid it found. */
static enum st_err
auth_token_header_check(const char *token, char *got)
{
	struct st_jwt jwt;
	enum st_err rc = auth_token_decode(token, &jwt);

	if (rc == ST_OK)
		memcpy(got, jwt.kid, AUTH_KID_LEN + 1);
	st_jwt_cleanup(&jwt);
	return rc;
}

START_TEST(claims_survive_signing_and_decoding)
{
	static const char *const roles[] = { "researcher", "viewer" };
	char *token = sign_sample(1767225600, roles, 2,
				  ST_SCOPE_READ | ST_SCOPE_WRITE | ST_SCOPE_DASHBOARD);
	EVP_PKEY *pub;
	struct st_jwt jwt;
	char text[1024], want[1024];

	ck_assert_ptr_nonnull(token);
	pub = read_pub(pub_pem);
	ck_assert_int_eq(st_jwt_decode(token, strlen(token), &jwt), ST_JWT_OK);
	ck_assert_int_eq(st_jwt_verify(&jwt, token, pub), ST_JWT_OK);
	ck_assert_str_eq(jwt.kid, kid);
	ck_assert_str_eq(jwt.alg, "RS256");
	st_jwt_cleanup(&jwt);
	/* the exact texts libjwt 1.10 wrote (members sorted, compact): tokens did not change */
	part_text(token, 0, text, sizeof(text));
	snprintf(want, sizeof(want), "{\"alg\":\"RS256\",\"kid\":\"%s\",\"typ\":\"JWT\"}", kid);
	ck_assert_str_eq(text, want);
	part_text(token, 1, text, sizeof(text));
	ck_assert_str_eq(text,
			 "{\"aud\":\"strata\",\"exp\":1767226500,\"iat\":1767225600,"
			 "\"iss\":\"http://127.0.0.1:8000\","
			 "\"jti\":\"5f0e8d7c-6b5a-4e3d-8c2b-1a0f9e8d7c6b\","
			 "\"roles\":[\"researcher\",\"viewer\"],\"scope\":\"read write dashboard\","
			 "\"sub\":\"2b7c1a9e-4d6f-4e0a-9b1c-3f5e7d9a1b2c\"}");
	EVP_PKEY_free(pub);
	st_free(token);
}
END_TEST

START_TEST(header_names_rs256_and_the_kid)
{
	static const char *const roles[] = { "admin" };
	char *token = sign_sample(1767225600, roles, 1, ST_SCOPE_ALL);
	char got[AUTH_KID_LEN + 1];

	ck_assert_int_eq(auth_token_header_check(token, got), ST_OK);
	ck_assert_str_eq(got, kid);
	st_free(token);
}
END_TEST

START_TEST(tampered_payload_fails_verification)
{
	static const char *const roles[] = { "viewer" };
	char *token = sign_sample(1767225600, roles, 1, ST_SCOPE_READ);
	char *dot = strchr(token, '.');
	EVP_PKEY *pub = read_pub(pub_pem);
	struct st_jwt jwt;

	/* flip one character of the payload */
	dot[5] = dot[5] == 'A' ? 'B' : 'A';
	if (st_jwt_decode(token, strlen(token), &jwt) == ST_JWT_OK)
		ck_assert_int_eq(st_jwt_verify(&jwt, token, pub), ST_JWT_SIGNATURE);
	st_jwt_cleanup(&jwt);
	EVP_PKEY_free(pub);
	st_free(token);
}
END_TEST

/* A header for the check: base64url of json, then a dummy payload and signature. */
static void
token_with_header(const char *json, char *out, size_t cap)
{
	char enc[256];

	ck_assert(st_base64url_encode(json, strlen(json), enc, sizeof(enc)));
	snprintf(out, cap, "%s.eyJzdWIiOiJ4In0.c2ln", enc);
}

START_TEST(header_check_refuses_other_algorithms)
{
	static const char *const bad[] = {
		"{\"alg\":\"none\",\"kid\":\"0123456789abcdef\"}",
		"{\"alg\":\"HS256\",\"kid\":\"0123456789abcdef\"}",
		"{\"alg\":\"RS512\",\"kid\":\"0123456789abcdef\"}",
		"{\"alg\":\"rs256\",\"kid\":\"0123456789abcdef\"}",
		"{\"alg\":\"RS256\"}",
		"{\"alg\":\"RS256\",\"kid\":\"short\"}",
		"{\"alg\":\"RS256\",\"kid\":17}",
		"{\"kid\":\"0123456789abcdef\"}",
		"{\"alg\":\"RS256\",\"kid\":\"0123456789abcdef\",\"alg\":\"HS256\"}",
		"{\"alg\":\"RS256\",\"kid\":\"0123456789abcdef\",\"kid\":\"fedcba9876543210\"}",
		"not json",
	};
	char token[512], got[AUTH_KID_LEN + 1];

	for (size_t i = 0; i < ST_ARRAY_LEN(bad); i++) {
		token_with_header(bad[i], token, sizeof(token));
		ck_assert_msg(auth_token_header_check(token, got) == ST_ERR_AUTH, "accepted %s",
			      bad[i]);
	}
	ck_assert_int_eq(auth_token_header_check("no-dots-at-all", got), ST_ERR_AUTH);
	ck_assert_int_eq(auth_token_header_check("!!!.e30.sig", got), ST_ERR_AUTH);
	token_with_header("{\"alg\":\"RS256\",\"kid\":\"0123456789abcdef\",\"typ\":\"JWT\"}", token,
			  sizeof(token));
	ck_assert_int_eq(auth_token_header_check(token, got), ST_OK);
	ck_assert_str_eq(got, "0123456789abcdef");
}
END_TEST

START_TEST(scope_string_is_space_separated)
{
	char buf[96];

	auth_token_scope_string(ST_SCOPE_READ | ST_SCOPE_WRITE | ST_SCOPE_ADMIN |
					ST_SCOPE_DASHBOARD,
				buf, sizeof(buf));
	ck_assert_str_eq(buf, "read write admin dashboard");
	auth_token_scope_string(ST_SCOPE_INGEST, buf, sizeof(buf));
	ck_assert_str_eq(buf, "ingest");
	auth_token_scope_string(ST_SCOPE_NONE, buf, sizeof(buf));
	ck_assert_str_eq(buf, "");
}
END_TEST

START_TEST(jwk_n_and_e_are_openssls_values)
{
	EVP_PKEY *pkey;
	BIGNUM *n = NULL, *e = NULL, *jn, *je;
	unsigned char raw[1024], *der = NULL;
	size_t rawlen = 0;
	char hex[65], want_kid[AUTH_KID_LEN + 1];
	cJSON *jwk;
	int derlen;

	key_setup();
	pkey = read_pub(pub_pem);
	jwk = auth_key_jwk(kid, pub_pem);
	ck_assert_ptr_nonnull(jwk);
	ck_assert_str_eq(cJSON_GetObjectItem(jwk, "kty")->valuestring, "RSA");
	ck_assert_str_eq(cJSON_GetObjectItem(jwk, "use")->valuestring, "sig");
	ck_assert_str_eq(cJSON_GetObjectItem(jwk, "alg")->valuestring, "RS256");
	ck_assert_str_eq(cJSON_GetObjectItem(jwk, "kid")->valuestring, kid);
	ck_assert_int_eq(EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_N, &n), 1);
	ck_assert_int_eq(EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_E, &e), 1);

	/* n: 256 bytes, no leading zero, equal to OpenSSL's modulus */
	const char *ntext = cJSON_GetObjectItem(jwk, "n")->valuestring;
	ck_assert_ptr_null(strchr(ntext, '='));
	ck_assert(st_base64url_decode(ntext, strlen(ntext), raw, sizeof(raw), &rawlen));
	ck_assert_uint_eq(rawlen, 256);
	ck_assert_uint_ne(raw[0], 0);
	jn = BN_bin2bn(raw, (int)rawlen, NULL);
	ck_assert_int_eq(BN_cmp(jn, n), 0);

	/* e: 65537 is "AQAB" */
	ck_assert_str_eq(cJSON_GetObjectItem(jwk, "e")->valuestring, "AQAB");
	ck_assert(st_base64url_decode("AQAB", 4, raw, sizeof(raw), &rawlen));
	je = BN_bin2bn(raw, (int)rawlen, NULL);
	ck_assert_int_eq(BN_cmp(je, e), 0);

	/* kid: first 16 hex digits of SHA-256 of the SubjectPublicKeyInfo DER */
	derlen = i2d_PUBKEY(pkey, &der);
	ck_assert_int_gt(derlen, 0);
	st_sha256_hex(der, (size_t)derlen, hex);
	memcpy(want_kid, hex, AUTH_KID_LEN);
	want_kid[AUTH_KID_LEN] = '\0';
	ck_assert_str_eq(kid, want_kid);

	OPENSSL_free(der);
	BN_free(jn);
	BN_free(je);
	BN_free(n);
	BN_free(e);
	EVP_PKEY_free(pkey);
	cJSON_Delete(jwk);
}
END_TEST

START_TEST(jwk_refuses_what_is_not_an_rsa_public_key)
{
	ck_assert_ptr_null(auth_key_jwk("0123456789abcdef", "not a pem"));
	ck_assert_ptr_null(auth_key_jwk("0123456789abcdef", ""));
}
END_TEST

/* A PEM private key of another kind or size, for the import checks. */
static char *
pem_of(EVP_PKEY *pkey)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *data = NULL, *out;
	long n;

	ck_assert_int_eq(PEM_write_bio_PrivateKey(bio, pkey, NULL, NULL, 0, NULL, NULL), 1);
	n = BIO_get_mem_data(bio, &data);
	out = st_strndup(data, (size_t)n);
	BIO_free(bio);
	return out;
}

START_TEST(import_refuses_weak_and_foreign_keys)
{
	EVP_PKEY *small = EVP_RSA_gen(1024);
	EVP_PKEY *ec = EVP_EC_gen("P-256");
	char *small_pem = pem_of(small), *ec_pem = pem_of(ec);
	char *priv = NULL, *pub = NULL, got[AUTH_KID_LEN + 1], err[128];
	size_t len = 0;

	ck_assert_int_eq(auth_key_from_pem(small_pem, &priv, &len, &pub, got, err, sizeof(err)),
			 ST_ERR_INVALID);
	ck_assert_ptr_nonnull(strstr(err, "1024"));
	ck_assert_int_eq(auth_key_from_pem(ec_pem, &priv, &len, &pub, got, err, sizeof(err)),
			 ST_ERR_INVALID);
	ck_assert_ptr_nonnull(strstr(err, "RSA"));
	ck_assert_int_eq(auth_key_from_pem("garbage", &priv, &len, &pub, got, err, sizeof(err)),
			 ST_ERR_INVALID);
	ck_assert_ptr_null(priv);
	ck_assert_ptr_null(pub);
	st_free(small_pem);
	st_free(ec_pem);
	EVP_PKEY_free(small);
	EVP_PKEY_free(ec);
}
END_TEST

START_TEST(import_keeps_the_kid_of_the_key)
{
	char *priv2 = NULL, *pub2 = NULL, kid2[AUTH_KID_LEN + 1], err[128];
	size_t len2 = 0;

	key_setup();
	/* Re-importing the canonical PEM gives the same key, kid and PEM. */
	ck_assert_int_eq(auth_key_from_pem(priv_pem, &priv2, &len2, &pub2, kid2, err, sizeof(err)),
			 ST_OK);
	ck_assert_str_eq(kid2, kid);
	ck_assert_str_eq(pub2, pub_pem);
	ck_assert_uint_eq(len2, priv_len);
	st_free(priv2);
	st_free(pub2);
}
END_TEST

START_TEST(refresh_tokens_are_random_and_stored_as_sha256)
{
	char a[64], b[64], ha[65], hb[65], again[65], want[65];
	unsigned char md[32], raw[64];
	unsigned int mdlen = 0;
	size_t rawlen = 0;

	auth_refresh_token_new(a, sizeof(a), ha);
	auth_refresh_token_new(b, sizeof(b), hb);
	ck_assert_uint_eq(strlen(a), 43);
	ck_assert_uint_eq(
		strspn(a, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"), 43);
	ck_assert(st_base64url_decode(a, strlen(a), raw, sizeof(raw), &rawlen));
	ck_assert_uint_eq(rawlen, 32);
	ck_assert_str_ne(a, b);
	ck_assert_str_ne(ha, hb);

	/* the stored hash is SHA-256 of the token's text, in lowercase hex */
	ck_assert_int_eq(EVP_Digest(a, strlen(a), md, &mdlen, EVP_sha256(), NULL), 1);
	ck_assert(st_hex_encode(md, mdlen, want, sizeof(want)));
	ck_assert_str_eq(ha, want);
	auth_refresh_token_hash(a, again);
	ck_assert_str_eq(again, ha);
}
END_TEST

START_TEST(api_keys_have_the_documented_shape)
{
	char key[96], prefix[16], key2[96], prefix2[16];

	auth_apikey_generate(key, sizeof(key), prefix, sizeof(prefix));
	auth_apikey_generate(key2, sizeof(key2), prefix2, sizeof(prefix2));
	ck_assert_uint_eq(strlen(prefix), 8);
	ck_assert_uint_eq(strlen(key), 4 + 8 + 1 + 43);
	ck_assert_int_eq(strncmp(key, "stk_", 4), 0);
	ck_assert_int_eq(strncmp(key + 4, prefix, 8), 0);
	ck_assert_int_eq(key[12], '_');
	ck_assert_str_ne(key, key2);
}
END_TEST

START_TEST(expiry_times_must_be_rfc3339)
{
	static const char *const good[] = {
		"2030-01-01T00:00:00Z",
		"2030-01-01t00:00:00z",
		"2030-02-28T23:59:59.125Z",
		"2032-02-29T12:00:00+09:00",
		"2030-06-30T12:00:00.123456-05:30",
	};
	static const char *const bad[] = {
		"tomorrow",
		"infinity",
		"2030-01-01",
		"2030-01-01 00:00:00Z",
		"2030-13-01T00:00:00Z",
		"2031-02-29T00:00:00Z",
		"2030-01-01T24:00:00Z",
		"2030-01-01T00:00:00",
		"2030-01-01T00:00:00.Z",
		"1969-12-31T23:59:59Z",
		"2030-01-01T00:00:00+9:00",
		"2030-01-01T00:00:00Zjunk",
		"",
	};

	for (size_t i = 0; i < ST_ARRAY_LEN(good); i++)
		ck_assert_msg(auth_apikey_time_valid(good[i]), "refused %s", good[i]);
	for (size_t i = 0; i < ST_ARRAY_LEN(bad); i++)
		ck_assert_msg(!auth_apikey_time_valid(bad[i]), "accepted %s", bad[i]);
}
END_TEST

START_TEST(key_names_count_characters)
{
	ck_assert_uint_eq(auth_apikey_name_chars("ci"), 2);
	ck_assert_uint_eq(auth_apikey_name_chars(""), 0);
	ck_assert_uint_eq(auth_apikey_name_chars("\xc3\xa9t\xc3\xa9"), 3); /* "été" */
	ck_assert_uint_eq(auth_apikey_name_chars("a\nb"), (size_t)-1);
	ck_assert_uint_eq(auth_apikey_name_chars("tab\there"), (size_t)-1);
	ck_assert_uint_eq(auth_apikey_name_chars("\xff\xfe"), (size_t)-1);     /* not UTF-8 */
	ck_assert_uint_eq(auth_apikey_name_chars("a\xc2\x85"), (size_t)-1);    /* a C1 control */
	ck_assert_uint_eq(auth_apikey_name_chars("\xed\xa0\x80"), (size_t)-1); /* a surrogate */
}
END_TEST

Suite *
auth_tokens_suite(void)
{
	Suite *s = suite_create("auth_tokens");
	TCase *tc = tcase_create("tokens");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, claims_survive_signing_and_decoding);
	tcase_add_test(tc, header_names_rs256_and_the_kid);
	tcase_add_test(tc, tampered_payload_fails_verification);
	tcase_add_test(tc, header_check_refuses_other_algorithms);
	tcase_add_test(tc, scope_string_is_space_separated);
	tcase_add_test(tc, jwk_n_and_e_are_openssls_values);
	tcase_add_test(tc, jwk_refuses_what_is_not_an_rsa_public_key);
	tcase_add_test(tc, import_refuses_weak_and_foreign_keys);
	tcase_add_test(tc, import_keeps_the_kid_of_the_key);
	tcase_add_test(tc, refresh_tokens_are_random_and_stored_as_sha256);
	tcase_add_test(tc, api_keys_have_the_documented_shape);
	tcase_add_test(tc, expiry_times_must_be_rfc3339);
	tcase_add_test(tc, key_names_count_characters);
	suite_add_tcase(s, tc);
	return s;
}
