/*
 * Unit tests for jwt.c. A table of tokens put together by hand (jwt_fixture.c, plain OpenSSL),
 * each decoded and verified with the published RSA key: the good token; the twice-named alg
 * (RS256 then HS256, HMAC keyed with the public PEM) and every other header or payload that
 * repeats a key ("sub", "exp", "kid"); alg none, HS256 keyed with the public PEM, RS512, an
 * HS256 header over a genuine RSA signature (only the pin stops that one); bad base64url,
 * padding, wrong part counts, parts that are not objects, typ and crit; tampered, empty and
 * foreign signatures. Then signing: the header's exact text, a round trip, keys and claims
 * that are refused, PEM reading.
 */
#include <check.h>
#include <openssl/ec.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jwt_fixture.h"
#include "strata/encode.h"
#include "strata/jwt.h"

Suite *jwt_suite(void);

/* Made once in the parent before the tests fork. */
static EVP_PKEY *key_a, *key_b; /* a is "the published key"; b is another */
static char *pub_a;             /* PEM of a's public key: the HMAC secret of the forgeries */

static void
keys_make(void)
{
	key_a = ut_rsa_key(2048, NULL, &pub_a);
	key_b = ut_rsa_key(2048, NULL, NULL);
}

static void
keys_free(void)
{
	EVP_PKEY_free(key_a);
	EVP_PKEY_free(key_b);
	free(pub_a);
}

#define H_GOOD "{\"alg\":\"RS256\",\"kid\":\"k1\",\"typ\":\"JWT\"}"
#define P_GOOD "{\"sub\":\"u1\",\"exp\":1767226500,\"jti\":\"j1\"}"

enum signer {
	RS256_A,     /* signed with the published key */
	RS256_B,     /* signed with another key */
	HS256_PUB,   /* HMAC-SHA256 keyed with the published key's PEM */
	SIG_LITERAL, /* the sig text of the case as it is */
};

struct token_case {
	const char *what;
	const char *header;
	const char *payload;
	enum signer signer;
	const char *sig;                   /* SIG_LITERAL only */
	enum st_jwt_result decode, verify; /* verify: only when decode is ST_JWT_OK */
};

static const struct token_case cases[] = {
	{ "good", H_GOOD, P_GOOD, RS256_A, NULL, ST_JWT_OK, ST_JWT_OK },
	{ "typ lowercase", "{\"alg\":\"RS256\",\"typ\":\"jwt\"}", P_GOOD, RS256_A, NULL, ST_JWT_OK,
	  ST_JWT_OK },
	{ "no typ, no kid", "{\"alg\":\"RS256\"}", P_GOOD, RS256_A, NULL, ST_JWT_OK, ST_JWT_OK },
	/* repeated keys: two parsers would read two tokens */
	{ "alg twice, RS256 then HS256",
	  "{\"alg\":\"RS256\",\"typ\":\"JWT\",\"kid\":\"k1\",\"alg\":\"HS256\"}", P_GOOD, HS256_PUB,
	  NULL, ST_JWT_MALFORMED, ST_JWT_OK },
	{ "alg twice, HS256 then RS256",
	  "{\"alg\":\"HS256\",\"typ\":\"JWT\",\"kid\":\"k1\",\"alg\":\"RS256\"}", P_GOOD, RS256_A,
	  NULL, ST_JWT_MALFORMED, ST_JWT_OK },
	{ "kid twice", "{\"alg\":\"RS256\",\"kid\":\"k1\",\"kid\":\"k2\"}", P_GOOD, RS256_A, NULL,
	  ST_JWT_MALFORMED, ST_JWT_OK },
	{ "sub twice", H_GOOD, "{\"sub\":\"u1\",\"exp\":1767226500,\"sub\":\"admin\"}", RS256_A,
	  NULL, ST_JWT_MALFORMED, ST_JWT_OK },
	{ "exp twice", H_GOOD, "{\"sub\":\"u1\",\"exp\":1767226500,\"exp\":4102444800}", RS256_A,
	  NULL, ST_JWT_MALFORMED, ST_JWT_OK },
	{ "nested repeat", H_GOOD, "{\"sub\":\"u1\",\"x\":{\"a\":1,\"a\":2}}", RS256_A, NULL,
	  ST_JWT_MALFORMED, ST_JWT_OK },
	/* the algorithm is the key's */
	{ "alg none, no signature", "{\"alg\":\"none\",\"typ\":\"JWT\"}", P_GOOD, SIG_LITERAL, "",
	  ST_JWT_OK, ST_JWT_ALG },
	{ "alg none, a signature", "{\"alg\":\"none\"}", P_GOOD, SIG_LITERAL, "c2ln", ST_JWT_OK,
	  ST_JWT_ALG },
	{ "HS256 keyed with the public PEM", "{\"alg\":\"HS256\",\"typ\":\"JWT\",\"kid\":\"k1\"}",
	  P_GOOD, HS256_PUB, NULL, ST_JWT_OK, ST_JWT_ALG },
	{ "HS256 header, genuine RSA signature", "{\"alg\":\"HS256\",\"kid\":\"k1\"}", P_GOOD,
	  RS256_A, NULL, ST_JWT_OK, ST_JWT_ALG },
	{ "RS512", "{\"alg\":\"RS512\"}", P_GOOD, RS256_A, NULL, ST_JWT_OK, ST_JWT_ALG },
	{ "rs256 lowercase", "{\"alg\":\"rs256\"}", P_GOOD, RS256_A, NULL, ST_JWT_OK, ST_JWT_ALG },
	{ "no alg", "{\"kid\":\"k1\"}", P_GOOD, RS256_A, NULL, ST_JWT_OK, ST_JWT_ALG },
	{ "alg a number", "{\"alg\":256}", P_GOOD, RS256_A, NULL, ST_JWT_OK, ST_JWT_ALG },
	/* signatures */
	{ "HMAC signature under an RS256 header", H_GOOD, P_GOOD, HS256_PUB, NULL, ST_JWT_OK,
	  ST_JWT_SIGNATURE },
	{ "another key", H_GOOD, P_GOOD, RS256_B, NULL, ST_JWT_OK, ST_JWT_SIGNATURE },
	{ "empty signature", H_GOOD, P_GOOD, SIG_LITERAL, "", ST_JWT_OK, ST_JWT_SIGNATURE },
	{ "short signature", H_GOOD, P_GOOD, SIG_LITERAL, "c2ln", ST_JWT_OK, ST_JWT_SIGNATURE },
	/* form */
	{ "signature not base64url", H_GOOD, P_GOOD, SIG_LITERAL, "c2l+", ST_JWT_MALFORMED,
	  ST_JWT_OK },
	{ "signature padded", H_GOOD, P_GOOD, SIG_LITERAL, "c2lnbg==", ST_JWT_MALFORMED,
	  ST_JWT_OK },
	{ "signature too long", H_GOOD, P_GOOD, SIG_LITERAL,
	  "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	  "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	  "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	  "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	  "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	  "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	  "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	  "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	  "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	  "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	  "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	  "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	  "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	  "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	  "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	  "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	  "A",
	  ST_JWT_MALFORMED, ST_JWT_OK },
	{ "header an array", "[\"RS256\"]", P_GOOD, RS256_A, NULL, ST_JWT_MALFORMED, ST_JWT_OK },
	{ "header not JSON", "{alg:RS256}", P_GOOD, RS256_A, NULL, ST_JWT_MALFORMED, ST_JWT_OK },
	{ "header empty", "", P_GOOD, RS256_A, NULL, ST_JWT_MALFORMED, ST_JWT_OK },
	{ "payload an array", H_GOOD, "[1,2]", RS256_A, NULL, ST_JWT_MALFORMED, ST_JWT_OK },
	{ "payload a string", H_GOOD, "\"sub\"", RS256_A, NULL, ST_JWT_MALFORMED, ST_JWT_OK },
	{ "payload empty", H_GOOD, "", RS256_A, NULL, ST_JWT_MALFORMED, ST_JWT_OK },
	{ "payload trailing data", H_GOOD, "{\"sub\":\"u1\"} x", RS256_A, NULL, ST_JWT_MALFORMED,
	  ST_JWT_OK },
	{ "typ JOSE", "{\"alg\":\"RS256\",\"typ\":\"JOSE\"}", P_GOOD, RS256_A, NULL,
	  ST_JWT_MALFORMED, ST_JWT_OK },
	{ "typ a number", "{\"alg\":\"RS256\",\"typ\":1}", P_GOOD, RS256_A, NULL, ST_JWT_MALFORMED,
	  ST_JWT_OK },
	{ "crit", "{\"alg\":\"RS256\",\"crit\":[\"exp\"],\"exp\":1}", P_GOOD, RS256_A, NULL,
	  ST_JWT_MALFORMED, ST_JWT_OK },
	{ "kid a number", "{\"alg\":\"RS256\",\"kid\":7}", P_GOOD, RS256_A, NULL, ST_JWT_MALFORMED,
	  ST_JWT_OK },
};

static char *
make_token(const struct token_case *c)
{
	switch (c->signer) {
	case RS256_A:
		return ut_jwt_rs256(c->header, c->payload, key_a);
	case RS256_B:
		return ut_jwt_rs256(c->header, c->payload, key_b);
	case HS256_PUB:
		return ut_jwt_hs256(c->header, c->payload, pub_a);
	case SIG_LITERAL:
		break;
	}
	return ut_jwt_with_sig(c->header, c->payload, c->sig);
}

static enum st_jwt_result
check_token(const char *token, enum st_jwt_result *decoded)
{
	struct st_jwt jwt;
	enum st_jwt_result res = st_jwt_decode(token, strlen(token), &jwt);

	*decoded = res;
	if (res == ST_JWT_OK)
		res = st_jwt_verify(&jwt, token, key_a);
	st_jwt_cleanup(&jwt);
	return res;
}

START_TEST(token_table)
{
	const struct token_case *c = &cases[_i];
	char *token = make_token(c);
	enum st_jwt_result decoded, res = check_token(token, &decoded);

	ck_assert_msg(decoded == c->decode, "%s: decode '%s', want '%s'", c->what,
		      st_jwt_result_str(decoded), st_jwt_result_str(c->decode));
	if (decoded == ST_JWT_OK)
		ck_assert_msg(res == c->verify, "%s: verify '%s', want '%s'", c->what,
			      st_jwt_result_str(res), st_jwt_result_str(c->verify));
	free(token);
}
END_TEST

/*
 * The forgery of the issue: libjwt (jansson) read the last alg, HS256, and checked the HMAC
 * keyed with the public PEM, while our check read the first. Refused as malformed; and the
 * header the other parser would have read (HS256), even over a signature that verifies, is
 * refused by the pin alone.
 */
START_TEST(twice_named_alg)
{
	const char *twice = "{\"alg\":\"RS256\",\"typ\":\"JWT\",\"kid\":\"k1\",\"alg\":\"HS256\"}";
	char *forged = ut_jwt_hs256(twice, P_GOOD, pub_a);
	char *relabelled =
		ut_jwt_rs256("{\"typ\":\"JWT\",\"kid\":\"k1\",\"alg\":\"HS256\"}", P_GOOD, key_a);
	enum st_jwt_result decoded;

	ck_assert_int_eq(check_token(forged, &decoded), ST_JWT_MALFORMED);
	ck_assert_int_eq(check_token(relabelled, &decoded), ST_JWT_ALG);
	ck_assert_int_eq(decoded, ST_JWT_OK);
	free(forged);
	free(relabelled);
}
END_TEST

START_TEST(decode_fills_the_parts)
{
	char *token = ut_jwt_rs256(H_GOOD, P_GOOD, key_a);
	struct st_jwt jwt;

	ck_assert_int_eq(st_jwt_decode(token, strlen(token), &jwt), ST_JWT_OK);
	ck_assert_str_eq(jwt.alg, "RS256");
	ck_assert_str_eq(jwt.kid, "k1");
	ck_assert_str_eq(cJSON_GetObjectItem(jwt.payload, "sub")->valuestring, "u1");
	ck_assert_uint_eq(jwt.sig_len, 256);
	ck_assert_uint_eq(jwt.signed_len, (size_t)(strrchr(token, '.') - token));
	st_jwt_cleanup(&jwt);
	st_jwt_cleanup(&jwt); /* twice is harmless */
	ck_assert_ptr_null(jwt.header);
	free(token);
}
END_TEST

START_TEST(decode_form)
{
	static const char *const bad[] = {
		"",
		".",
		"..",
		"...",
		"abc",
		"a.b",
		"a.b.c.d",
		"e30.e30",
		"e30.e30.c2ln.",
		"!!!.e30.c2ln",
		"e30.!!!.c2ln",
		"e30=.e30.c2ln",
		"e30.e30=.c2ln",
	};
	struct st_jwt jwt;
	char *huge = malloc(ST_JWT_MAX + 2);
	char *good = ut_jwt_rs256(H_GOOD, P_GOOD, key_a);

	for (size_t i = 0; i < ST_ARRAY_LEN(bad); i++) {
		ck_assert_msg(st_jwt_decode(bad[i], strlen(bad[i]), &jwt) == ST_JWT_MALFORMED,
			      "'%s' decoded", bad[i]);
		st_jwt_cleanup(&jwt);
	}
	ck_assert_int_eq(st_jwt_decode(NULL, 0, &jwt), ST_JWT_MALFORMED);
	memset(huge, 'A', ST_JWT_MAX + 1);
	huge[ST_JWT_MAX + 1] = '\0';
	ck_assert_int_eq(st_jwt_decode(huge, strlen(huge), &jwt), ST_JWT_MALFORMED);
	/* only len bytes are read: a good token cut short is not the good token */
	ck_assert_int_eq(st_jwt_decode(good, strlen(good), &jwt), ST_JWT_OK);
	st_jwt_cleanup(&jwt);
	ck_assert_int_eq(st_jwt_decode(good, (size_t)(strchr(good, '.') - good), &jwt),
			 ST_JWT_MALFORMED);
	st_jwt_cleanup(&jwt);
	free(good);
	free(huge);
}
END_TEST

START_TEST(tampered_signature)
{
	char *token = ut_jwt_rs256(H_GOOD, P_GOOD, key_a);
	char *last = token + strlen(token) - 5;
	enum st_jwt_result decoded;

	*last = *last == 'A' ? 'B' : 'A';
	ck_assert_int_eq(check_token(token, &decoded), ST_JWT_SIGNATURE);
	free(token);
}
END_TEST

START_TEST(sign_round_trip)
{
	cJSON *claims = cJSON_Parse(P_GOOD);
	char *token = NULL, *h;
	struct st_jwt jwt;
	size_t hlen;
	char head[128];

	ck_assert_int_eq(st_jwt_sign(key_a, "k1", claims, &token), ST_OK);
	/* the header, exactly as auth has always issued it */
	h = strchr(token, '.');
	ck_assert(st_base64url_decode(token, (size_t)(h - token), head, sizeof(head) - 1, &hlen));
	head[hlen] = '\0';
	ck_assert_str_eq(head, H_GOOD);
	ck_assert_int_eq(st_jwt_decode(token, strlen(token), &jwt), ST_JWT_OK);
	ck_assert_int_eq(st_jwt_verify(&jwt, token, key_a), ST_JWT_OK);
	ck_assert_int_eq(st_jwt_verify(&jwt, token, key_b), ST_JWT_SIGNATURE);
	ck_assert_int_eq(cJSON_GetObjectItem(jwt.payload, "exp")->valuedouble, 1767226500);
	st_jwt_cleanup(&jwt);
	st_free(token);
	/* without a kid */
	ck_assert_int_eq(st_jwt_sign(key_a, NULL, claims, &token), ST_OK);
	ck_assert_int_eq(st_jwt_decode(token, strlen(token), &jwt), ST_JWT_OK);
	ck_assert_ptr_null(jwt.kid);
	st_jwt_cleanup(&jwt);
	st_free(token);
	cJSON_Delete(claims);
}
END_TEST

START_TEST(sign_refuses)
{
	EVP_PKEY *ec = EVP_EC_gen("P-256");
	cJSON *claims = cJSON_Parse(P_GOOD), *array = cJSON_CreateArray();
	EVP_PKEY *pub = st_jwt_key_from_pem(pub_a, strlen(pub_a), false);
	char *token = (char *)"untouched";

	ck_assert_ptr_nonnull(ec);
	ck_assert_int_eq(st_jwt_sign(ec, "k1", claims, &token), ST_ERR_INVALID);
	ck_assert_ptr_null(token);
	ck_assert_int_eq(st_jwt_sign(key_a, "k1", array, &token), ST_ERR_INVALID);
	ck_assert_int_eq(st_jwt_sign(NULL, "k1", claims, &token), ST_ERR_INVALID);
	/* a public key cannot sign */
	ck_assert_ptr_nonnull(pub);
	ck_assert_int_ne(st_jwt_sign(pub, "k1", claims, &token), ST_OK);
	ck_assert_ptr_null(token);
	/* an EC key fixes no algorithm here: nothing verifies with it */
	ck_assert_ptr_null(st_jwt_key_alg(ec));
	ck_assert_str_eq(st_jwt_key_alg(key_a), "RS256");
	{
		char *t = ut_jwt_rs256(H_GOOD, P_GOOD, key_a);
		struct st_jwt jwt;

		ck_assert_int_eq(st_jwt_decode(t, strlen(t), &jwt), ST_JWT_OK);
		ck_assert_int_eq(st_jwt_verify(&jwt, t, ec), ST_JWT_ALG);
		ck_assert_int_eq(st_jwt_verify(&jwt, t, pub), ST_JWT_OK);
		st_jwt_cleanup(&jwt);
		free(t);
	}
	EVP_PKEY_free(pub);
	EVP_PKEY_free(ec);
	cJSON_Delete(array);
	cJSON_Delete(claims);
}
END_TEST

START_TEST(pem_reading)
{
	ck_assert_ptr_null(st_jwt_key_from_pem("not a pem", 9, false));
	ck_assert_ptr_null(st_jwt_key_from_pem("", 0, true));
	ck_assert_ptr_null(st_jwt_key_from_pem(NULL, 5, true));
	/* a public PEM is not a private key */
	ck_assert_ptr_null(st_jwt_key_from_pem(pub_a, strlen(pub_a), true));
}
END_TEST

START_TEST(result_phrases)
{
	for (int r = ST_JWT_OK; r <= ST_JWT_SIGNATURE; r++)
		ck_assert(strlen(st_jwt_result_str((enum st_jwt_result)r)) > 0);
	ck_assert_str_eq(st_jwt_result_str(ST_JWT_ALG), "unsupported token algorithm");
}
END_TEST

Suite *
jwt_suite(void)
{
	Suite *s = suite_create("jwt");
	TCase *tc = tcase_create("jwt");

	tcase_add_unchecked_fixture(tc, keys_make, keys_free);
	tcase_set_timeout(tc, 30);
	tcase_add_loop_test(tc, token_table, 0, (int)ST_ARRAY_LEN(cases));
	tcase_add_test(tc, twice_named_alg);
	tcase_add_test(tc, decode_fills_the_parts);
	tcase_add_test(tc, decode_form);
	tcase_add_test(tc, tampered_signature);
	tcase_add_test(tc, sign_round_trip);
	tcase_add_test(tc, sign_refuses);
	tcase_add_test(tc, pem_reading);
	tcase_add_test(tc, result_phrases);
	suite_add_tcase(s, tc);
	return s;
}
