/*
 * The gateway's front door against the running suite (it_api_url()): Bearer tokens forged here
 * and refused with their reason (alg none, HS256 keyed with the public key's PEM, expired,
 * wrong issuer or audience, a tampered payload, an unknown kid, another key under the published
 * kid, missing claims, a denylisted jti, alg named twice, a payload naming sub twice), an
 * unknown API key, both credentials at once, a JSON body repeating a key; a
 * burst answered 429 with RateLimit-* and Retry-After; and the API still answering while Redis
 * is stopped (fail-open), Redis started again even when that test fails.
 *
 * Tokens are signed with auth's real signing key, read from auth.signing_keys (DATABASE_URL)
 * and opened with auth's KEK, so that only the property under test is wrong; the kid is checked
 * against the published JWKS. Each test that passes uses its own random subject, so its rate-limit
 * bucket is its own and other suites' anonymous budget is left alone. GET /api/v1/auth/jwks is the
 * cheap public route every request goes to.
 */
#include <check.h>
#include <cjson/cJSON.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "strata/core.h"
#include "strata/encode.h"
#include "strata/redis.h"

Suite *gateway_auth_suite(void);

#define ROUTE "/api/v1/auth/jwks"

struct key {
	char kid[64];
	char *priv; /* PEM */
	char *pub;  /* PEM, as the gateway renders it from the JWKS */
};

/* auth's current signing key: the newest unretired row of auth.signing_keys, opened with
 * auth's KEK. */
static void
signing_key(struct key *k)
{
	BIO *in, *out;
	EVP_PKEY *pkey;
	char *data = NULL;
	long n;

	k->priv = it_auth_signing_key(k->kid, sizeof(k->kid));
	in = BIO_new_mem_buf(k->priv, -1);
	pkey = PEM_read_bio_PrivateKey(in, NULL, NULL, NULL);
	ck_assert_ptr_nonnull(pkey);
	out = BIO_new(BIO_s_mem());
	ck_assert_int_eq(PEM_write_bio_PUBKEY(out, pkey), 1);
	n = BIO_get_mem_data(out, &data);
	k->pub = strndup(data, (size_t)n);
	BIO_free(out);
	BIO_free(in);
	EVP_PKEY_free(pkey);
}

static void
key_cleanup(struct key *k)
{
	free(k->priv);
	free(k->pub);
}

/* A fresh key that auth never published. */
static char *
other_private_key(void)
{
	EVP_PKEY *pkey = EVP_RSA_gen(2048);
	BIO *out = BIO_new(BIO_s_mem());
	char *data = NULL, *pem;
	long n;

	ck_assert_ptr_nonnull(pkey);
	PEM_write_bio_PrivateKey(out, pkey, NULL, NULL, 0, NULL, NULL);
	n = BIO_get_mem_data(out, &data);
	pem = strndup(data, (size_t)n);
	BIO_free(out);
	EVP_PKEY_free(pkey);
	return pem;
}

static void
random_id(const char *prefix, char *out, size_t cap)
{
	unsigned char b[8];
	char hex[17];

	st_random_bytes(b, sizeof(b));
	st_hex_encode(b, sizeof(b), hex, sizeof(hex));
	snprintf(out, cap, "%s%s", prefix, hex);
}

/* The claims of a good token for sub, with one member replaced (value: JSON) or removed
 * (value NULL). */
static char *
claims(const char *sub, const char *jti, const char *name, const char *value)
{
	const char *names[] = { "iss", "aud", "sub", "exp", "iat", "jti", "scope" };
	char vals[7][160];
	char *out = malloc(2048);
	size_t len = 1;
	long long now = (long long)time(NULL);

	snprintf(vals[0], 160, "\"%s\"", it_env("GATEWAY_JWT_ISSUER", "http://127.0.0.1:8000"));
	snprintf(vals[1], 160, "\"%s\"", it_env("GATEWAY_JWT_AUDIENCE", "strata"));
	snprintf(vals[2], 160, "\"%s\"", sub);
	snprintf(vals[3], 160, "%lld", now + 600);
	snprintf(vals[4], 160, "%lld", now - 1);
	snprintf(vals[5], 160, "\"%s\"", jti);
	snprintf(vals[6], 160, "\"read\"");
	out[0] = '{';
	for (size_t i = 0; i < 7; i++) {
		const char *v = vals[i];

		if (name != NULL && strcmp(name, names[i]) == 0) {
			if (value == NULL)
				continue;
			v = value;
		}
		len += (size_t)snprintf(out + len, 2048 - len, "%s\"%s\":%s", len > 1 ? "," : "",
					names[i], v);
	}
	snprintf(out + len, 2048 - len, "}");
	return out;
}

enum alg { RS256, HS256 };

static char *b64(const char *text);

/* header.payload.signature put together by hand (plain OpenSSL, independent of the code under
 * test): the header text as given, signed RS256 with a private key PEM, or HMAC-SHA256 keyed
 * with the text of key. */
static char *
sign_header(enum alg alg, const char *key, const char *header, const char *payload)
{
	char *h = b64(header), *p = b64(payload), *out;
	size_t n = strlen(h) + strlen(p) + 2, siglen = 1024, cap;
	char *input = malloc(n), sigtext[1400];
	unsigned char sig[1024];

	snprintf(input, n, "%s.%s", h, p);
	if (alg == HS256) {
		unsigned int maclen = 0;

		ck_assert_ptr_nonnull(HMAC(EVP_sha256(), key, (int)strlen(key),
					   (const unsigned char *)input, strlen(input), sig,
					   &maclen));
		siglen = maclen;
	} else {
		BIO *bio = BIO_new_mem_buf(key, -1);
		EVP_PKEY *pkey = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
		EVP_MD_CTX *ctx = EVP_MD_CTX_new();

		ck_assert_ptr_nonnull(pkey);
		ck_assert_int_eq(EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, pkey), 1);
		ck_assert_int_eq(EVP_DigestSign(ctx, sig, &siglen, (const unsigned char *)input,
						strlen(input)),
				 1);
		EVP_MD_CTX_free(ctx);
		EVP_PKEY_free(pkey);
		BIO_free(bio);
	}
	ck_assert(st_base64url_encode(sig, siglen, sigtext, sizeof(sigtext)));
	cap = strlen(input) + strlen(sigtext) + 2;
	out = malloc(cap);
	snprintf(out, cap, "%s.%s", input, sigtext);
	free(input);
	free(h);
	free(p);
	return out;
}

/* A token with the usual header ({"alg":...,"kid":kid,"typ":"JWT"}) signed with key. */
static char *
sign(enum alg alg, const char *key, const char *kid, const char *payload)
{
	char header[160];

	snprintf(header, sizeof(header), "{\"alg\":\"%s\",\"kid\":\"%s\",\"typ\":\"JWT\"}",
		 alg == RS256 ? "RS256" : "HS256", kid);
	return sign_header(alg, key, header, payload);
}

static char *
b64(const char *text)
{
	size_t n = st_base64url_len(strlen(text)) + 1;
	char *out = malloc(n);

	ck_assert(st_base64url_encode(text, strlen(text), out, n));
	return out;
}

/* GET ROUTE with "Authorization: Bearer <token>" (token NULL: none) and extra (may be NULL). */
static long
call(const char *token, const char *extra, struct it_resp *resp)
{
	char url[512];
	char *authz = NULL;
	const char *headers[3] = { NULL, NULL, NULL };
	size_t n = 0;
	long status;

	snprintf(url, sizeof(url), "%s%s", it_api_url(), ROUTE);
	if (token != NULL) {
		size_t len = strlen(token) + 32;

		authz = malloc(len);
		snprintf(authz, len, "Authorization: Bearer %s", token);
		headers[n++] = authz;
	}
	if (extra != NULL)
		headers[n++] = extra;
	status = it_http("GET", url, headers, NULL, resp);
	free(authz);
	return status;
}

/* Expects a 401 problem naming reason, with the Bearer challenge and without the token. */
static void
expect_401(const char *what, const char *token, const char *extra, const char *reason)
{
	struct it_resp resp;
	char challenge[256] = "";
	long status = call(token, extra, &resp);

	ck_assert_msg(status == 401, "%s: HTTP %ld: %s", what, status, resp.body ? resp.body : "");
	ck_assert_msg(strstr(resp.body, reason) != NULL, "%s: '%s' does not name '%s'", what,
		      resp.body, reason);
	ck_assert_msg(strstr(resp.headers, "application/problem+json") != NULL, "%s: not a problem",
		      what);
	ck_assert_msg(it_resp_header(&resp, "WWW-Authenticate", challenge, sizeof(challenge)),
		      "%s: no WWW-Authenticate", what);
	ck_assert_msg(strstr(challenge, "Bearer") != NULL, "%s: %s", what, challenge);
	if (token != NULL && strlen(token) > 20) {
		const char *sig = strrchr(token, '.');

		/* neither the token nor its signature comes back */
		ck_assert(strstr(resp.body, token) == NULL);
		ck_assert(sig == NULL || sig[1] == '\0' || strstr(resp.body, sig + 1) == NULL);
	}
	it_resp_cleanup(&resp);
}

/* Waits (at most 12 s) until the gateway accepts tokens of k: when auth has just rotated its
 * key, the gateway refetches the JWKS for an unknown kid at most every 10 s. */
static void
gateway_knows(const struct key *k)
{
	char sub[40];
	char *payload, *token;

	random_id("it-gw-", sub, sizeof(sub));
	payload = claims(sub, sub, NULL, NULL);
	token = sign(RS256, k->priv, k->kid, payload);
	for (int i = 0; i < 13; i++) {
		struct it_resp resp;
		long status = call(token, NULL, &resp);
		bool unknown = status == 401 && strstr(resp.body, "unknown signing key") != NULL;

		it_resp_cleanup(&resp);
		if (!unknown)
			break;
		ck_assert_msg(i < 12, "the gateway never learned kid %s", k->kid);
		sleep(1);
	}
	free(token);
	free(payload);
}

/* The published JWKS holds the key these tests sign with. */
static void
jwks_names(const char *kid)
{
	struct it_resp resp;
	cJSON *doc, *keys, *k;
	bool found = false;

	ck_assert_int_eq(call(NULL, NULL, &resp), 200);
	doc = cJSON_Parse(resp.body);
	keys = cJSON_GetObjectItemCaseSensitive(doc, "keys");
	ck_assert(cJSON_IsArray(keys));
	cJSON_ArrayForEach(k, keys)
	{
		cJSON *id = cJSON_GetObjectItemCaseSensitive(k, "kid");

		if (cJSON_IsString(id) && strcmp(id->valuestring, kid) == 0)
			found = true;
	}
	ck_assert_msg(found, "kid %s is not in the published JWKS", kid);
	cJSON_Delete(doc);
	it_resp_cleanup(&resp);
}

START_TEST(valid_token_passes)
{
	struct key k;
	char sub[40], jti[40], limit[16];
	char *payload, *token;
	struct it_resp resp;

	signing_key(&k);
	gateway_knows(&k);
	jwks_names(k.kid);
	random_id("it-gw-", sub, sizeof(sub));
	random_id("jti-", jti, sizeof(jti));
	payload = claims(sub, jti, NULL, NULL);
	token = sign(RS256, k.priv, k.kid, payload);
	ck_assert_int_eq(call(token, NULL, &resp), 200);
	ck_assert(it_resp_header(&resp, "RateLimit-Limit", limit, sizeof(limit)));
	it_resp_cleanup(&resp);
	/* again: now from the gateway's cache of verified tokens */
	ck_assert_int_eq(call(token, NULL, &resp), 200);
	it_resp_cleanup(&resp);
	free(token);
	free(payload);
	key_cleanup(&k);
}
END_TEST

START_TEST(forged_tokens_refused)
{
	struct key k;
	char sub[40], jti[40], past[32];
	char *good, *payload, *token, *other, *h, *p, *forged;
	size_t n;

	signing_key(&k);
	gateway_knows(&k);
	random_id("it-gw-", sub, sizeof(sub));
	random_id("jti-", jti, sizeof(jti));
	good = claims(sub, jti, NULL, NULL);

	/* alg none, no signature */
	h = b64("{\"alg\":\"none\",\"typ\":\"JWT\"}");
	p = b64(good);
	n = strlen(h) + strlen(p) + 3;
	forged = malloc(n);
	snprintf(forged, n, "%s.%s.", h, p);
	expect_401("alg none", forged, NULL, "unsupported token algorithm");
	free(forged);
	free(h);

	/* HS256 keyed with the public key's PEM */
	token = sign(HS256, k.pub, k.kid, good);
	expect_401("HS256 with the public PEM", token, NULL, "unsupported token algorithm");
	free(token);

	/* alg named twice: RS256 first (our old check), HS256 last (libjwt's jansson), the HMAC
	 * keyed with the public PEM; and the header that reading meant, over a real signature */
	{
		char twice[200], relabelled[200];

		snprintf(twice, sizeof(twice),
			 "{\"alg\":\"RS256\",\"typ\":\"JWT\",\"kid\":\"%s\",\"alg\":\"HS256\"}",
			 k.kid);
		token = sign_header(HS256, k.pub, twice, good);
		expect_401("alg named twice", token, NULL, "malformed token");
		free(token);
		snprintf(relabelled, sizeof(relabelled),
			 "{\"alg\":\"HS256\",\"typ\":\"JWT\",\"kid\":\"%s\"}", k.kid);
		token = sign_header(RS256, k.priv, relabelled, good);
		expect_401("HS256 header, RSA signature", token, NULL,
			   "unsupported token algorithm");
		free(token);
	}

	/* a payload repeating sub: a parser keeping the last would read "admin" */
	{
		size_t gl = strlen(good);
		char *twice = malloc(gl + 32);

		snprintf(twice, gl + 32, "%.*s,\"sub\":\"admin\"}", (int)(gl - 1), good);
		token = sign(RS256, k.priv, k.kid, twice);
		expect_401("sub named twice", token, NULL, "malformed token");
		free(token);
		free(twice);
	}

	/* expired (beyond any leeway) */
	snprintf(past, sizeof(past), "%lld", (long long)time(NULL) - 120);
	payload = claims(sub, jti, "exp", past);
	token = sign(RS256, k.priv, k.kid, payload);
	expect_401("expired", token, NULL, "token expired");
	free(token);
	free(payload);

	/* wrong issuer, wrong audience */
	payload = claims(sub, jti, "iss", "\"https://issuer.example\"");
	token = sign(RS256, k.priv, k.kid, payload);
	expect_401("wrong iss", token, NULL, "issuer");
	free(token);
	free(payload);
	payload = claims(sub, jti, "aud", "\"someone-else\"");
	token = sign(RS256, k.priv, k.kid, payload);
	expect_401("wrong aud", token, NULL, "audience");
	free(token);
	free(payload);

	/* tampered payload: more scopes under the original signature */
	token = sign(RS256, k.priv, k.kid, good);
	payload = claims(sub, jti, "scope", "\"read write admin dashboard\"");
	free(p);
	p = b64(payload);
	n = strlen(token) + strlen(p) + 1;
	forged = malloc(n);
	snprintf(forged, n, "%.*s.%s%s", (int)(strchr(token, '.') - token), token, p,
		 strrchr(token, '.'));
	expect_401("tampered payload", forged, NULL, "token signature invalid");
	free(forged);
	free(payload);
	free(token);

	/* unknown kid; another key under the published kid */
	token = sign(RS256, k.priv, "ffffffffffffffff", good);
	expect_401("unknown kid", token, NULL, "unknown signing key");
	free(token);
	other = other_private_key();
	token = sign(RS256, other, k.kid, good);
	expect_401("other key, same kid", token, NULL, "token signature invalid");
	free(token);
	free(other);

	/* claims the gateway needs */
	payload = claims(sub, jti, "jti", NULL);
	token = sign(RS256, k.priv, k.kid, payload);
	expect_401("no jti", token, NULL, "token claims invalid");
	free(token);
	free(payload);
	payload = claims(sub, jti, "sub", NULL);
	token = sign(RS256, k.priv, k.kid, payload);
	expect_401("no sub", token, NULL, "token claims invalid");
	free(token);
	free(payload);

	/* garbage */
	expect_401("not a JWT", "not-a-token", NULL, "malformed token");
	free(p);
	free(good);
	key_cleanup(&k);
}
END_TEST

START_TEST(denylisted_jti_refused)
{
	struct st_redis_conf conf = { .url = it_env("REDIS_URL", NULL),
				      .size = 1,
				      .timeout_ms = 2000 };
	struct st_redis *r = NULL;
	struct key k;
	char sub[40], jti[40], rkey[80];
	char *payload, *token;
	struct it_resp resp;

	ck_assert_msg(conf.url != NULL, "REDIS_URL is not set");
	ck_assert_int_eq(st_redis_create(&conf, &r), ST_OK);
	signing_key(&k);
	gateway_knows(&k);
	random_id("it-gw-", sub, sizeof(sub));
	random_id("jti-", jti, sizeof(jti));
	payload = claims(sub, jti, NULL, NULL);
	token = sign(RS256, k.priv, k.kid, payload);
	/* accepted, and so cached as verified ... */
	ck_assert_int_eq(call(token, NULL, &resp), 200);
	it_resp_cleanup(&resp);
	/* ... yet refused as soon as its jti is on the denylist, as logout puts it there */
	snprintf(rkey, sizeof(rkey), "auth:deny:%s", jti);
	ck_assert_int_eq(st_redis_cmd(r, NULL, "SET %s 1 EX 600", rkey), ST_OK);
	expect_401("denylisted", token, NULL, "token revoked");
	st_redis_cmd(r, NULL, "DEL %s", rkey);
	st_redis_destroy(r);
	free(token);
	free(payload);
	key_cleanup(&k);
}
END_TEST

START_TEST(api_key_and_header_errors)
{
	char key[80], line[128];
	struct it_resp resp;

	/* a key of the right shape that auth does not know: asked, refused, not echoed */
	random_id("stk_ab12cd34_", key, sizeof(key));
	snprintf(line, sizeof(line), "X-API-Key: %s", key);
	expect_401("unknown API key", NULL, line, "unknown API key");
	/* the same again, from the gateway's short negative cache */
	expect_401("unknown API key (cached)", NULL, line, "unknown API key");
	/* not even the shape of a key */
	expect_401("garbage API key", NULL, "X-API-Key: hello", "unknown API key");
	/* both credentials at once */
	ck_assert_int_eq(call("a.b.c", line, &resp), 400);
	it_resp_cleanup(&resp);
	/* another scheme */
	{
		char url[512];
		const char *headers[] = { "Authorization: Basic dXNlcjpwYXNz", NULL };

		snprintf(url, sizeof(url), "%s%s", it_api_url(), ROUTE);
		ck_assert_int_eq(it_http("GET", url, headers, NULL, &resp), 401);
		it_resp_cleanup(&resp);
	}
}
END_TEST

/* A JSON body whose object repeats a key is refused at the service's edge, 400 problem+json
 * naming the key: parsers disagree on which of the two members such a body means. */
START_TEST(repeated_key_in_a_body_refused)
{
	char url[512];
	const char *headers[] = { "Content-Type: application/json", NULL };
	struct it_resp resp;
	long status;

	snprintf(url, sizeof(url), "%s/api/v1/auth/login", it_api_url());
	status = it_http("POST", url, headers,
			 "{\"email\":\"nobody@example.com\",\"password\":\"x\","
			 "\"email\":\"admin@example.com\"}",
			 &resp);
	ck_assert_msg(status == 400, "HTTP %ld: %s", status, resp.body ? resp.body : "");
	ck_assert(strstr(resp.headers, "application/problem+json") != NULL);
	ck_assert_msg(strstr(resp.body, "repeats the key \\\"email\\\"") != NULL, "%s", resp.body);
	it_resp_cleanup(&resp);
}
END_TEST

START_TEST(burst_gets_429)
{
	struct key k;
	char sub[40], jti[40], buf[32];
	char *payload, *token;
	struct it_resp resp;
	long limit = 0, first_remaining = -1;
	int sent = 0, ok = 0;
	bool limited = false;

	signing_key(&k);
	gateway_knows(&k);
	random_id("it-gw-rl-", sub, sizeof(sub));
	random_id("jti-", jti, sizeof(jti));
	payload = claims(sub, jti, NULL, NULL);
	token = sign(RS256, k.priv, k.kid, payload);
	/* the limit is learned from the first answer; then at most a quarter more gets through */
	while (!limited && (limit == 0 || sent < limit + limit / 4 + 10)) {
		long status = call(token, NULL, &resp);

		sent++;
		ck_assert_msg(status == 200 || status == 429, "HTTP %ld after %d", status, sent);
		ck_assert(it_resp_header(&resp, "RateLimit-Limit", buf, sizeof(buf)));
		limit = strtol(buf, NULL, 10);
		ck_assert_msg(limit > 0 && limit <= 2000, "RateLimit-Limit %ld: too many to burst",
			      limit);
		ck_assert(it_resp_header(&resp, "RateLimit-Remaining", buf, sizeof(buf)));
		if (first_remaining < 0)
			first_remaining = strtol(buf, NULL, 10);
		ck_assert(it_resp_header(&resp, "RateLimit-Reset", buf, sizeof(buf)));
		if (status == 200) {
			ok++;
		} else {
			limited = true;
			ck_assert(it_resp_header(&resp, "Retry-After", buf, sizeof(buf)));
			ck_assert_int_ge(strtol(buf, NULL, 10), 1);
			ck_assert(it_resp_header(&resp, "RateLimit-Remaining", buf, sizeof(buf)));
			ck_assert_str_eq(buf, "0");
			ck_assert(strstr(resp.body, "rate limit exceeded") != NULL);
			ck_assert(strstr(resp.headers, "application/problem+json") != NULL);
		}
		it_resp_cleanup(&resp);
	}
	ck_assert_msg(limited, "no 429 after %d requests", sent);
	ck_assert_int_eq(first_remaining, limit - 1);
	/* the burst is the limit, plus what refilled while the requests were sent */
	ck_assert_msg(ok >= limit && ok <= limit + limit / 4, "%d allowed of a limit of %ld", ok,
		      limit);
	free(token);
	free(payload);
	key_cleanup(&k);
}
END_TEST

/* ---- Redis stopped ---- */

static void
redis_stop(void)
{
	const char *cmd = it_env("STRATA_REDIS_STOP_CMD", NULL);

	if (cmd != NULL)
		it_sh("%s", cmd);
	else
		it_sh("\"%s/compose/local/infra.sh\" down redis", it_env("STRATA_REPO", "."));
}

/* Runs in the parent after the test, whatever became of it. */
static void
redis_start(void)
{
	const char *cmd = it_env("STRATA_REDIS_START_CMD", NULL);

	if (cmd != NULL)
		it_sh("%s", cmd);
	else
		it_sh("\"%s/compose/local/infra.sh\" up redis", it_env("STRATA_REPO", "."));
}

START_TEST(redis_stopped_still_answers)
{
	struct key k;
	char sub[40], jti[40];
	char *payload, *token;
	struct it_resp resp;
	long status;

	signing_key(&k);
	gateway_knows(&k);
	random_id("it-gw-", sub, sizeof(sub));
	random_id("jti-", jti, sizeof(jti));
	payload = claims(sub, jti, NULL, NULL);
	token = sign(RS256, k.priv, k.kid, payload);
	redis_stop();
	/* anonymous and with a token: no rate limit and no denylist, but answers (fail-open) */
	status = call(NULL, NULL, &resp);
	ck_assert_msg(status == 200, "anonymous: HTTP %ld %s", status, resp.body);
	it_resp_cleanup(&resp);
	status = call(token, NULL, &resp);
	ck_assert_msg(status == 200, "with a token: HTTP %ld %s", status, resp.body);
	it_resp_cleanup(&resp);
	redis_start();
	/* and limits again once it is back */
	for (int i = 0; i < 50; i++) {
		struct timespec ts = { 0, 100000000 };
		char limit[16];
		bool has;

		call(token, NULL, &resp);
		has = it_resp_header(&resp, "RateLimit-Limit", limit, sizeof(limit));
		it_resp_cleanup(&resp);
		if (has)
			break;
		ck_assert_msg(i < 49, "no RateLimit-Limit after Redis came back");
		nanosleep(&ts, NULL);
	}
	free(token);
	free(payload);
	key_cleanup(&k);
}
END_TEST

Suite *
gateway_auth_suite(void)
{
	Suite *s = suite_create("gateway_auth");
	TCase *tokens = tcase_create("tokens");
	TCase *limits = tcase_create("limits");
	TCase *redis = tcase_create("redis_down");

	tcase_set_timeout(tokens, 60);
	tcase_add_test(tokens, valid_token_passes);
	tcase_add_test(tokens, forged_tokens_refused);
	tcase_add_test(tokens, denylisted_jti_refused);
	tcase_add_test(tokens, api_key_and_header_errors);
	tcase_add_test(tokens, repeated_key_in_a_body_refused);
	suite_add_tcase(s, tokens);
	tcase_set_timeout(limits, 60);
	tcase_add_test(limits, burst_gets_429);
	suite_add_tcase(s, limits);
	tcase_set_timeout(redis, 90);
	tcase_add_unchecked_fixture(redis, NULL, redis_start);
	tcase_add_test(redis, redis_stopped_still_answers);
	suite_add_tcase(s, redis);
	return s;
}
