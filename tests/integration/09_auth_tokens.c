/*
 * The auth service's tokens half, called directly with signed principals as the gateway would:
 * the JWKS publishes the signing key (and an access token verifies with a key rebuilt from its
 * n and e alone), the OpenID configuration names it; refresh rotates, a reused refresh token
 * revokes its whole family, two concurrent refreshes with one token cannot both win; logout
 * revokes the family and denylists the access token's jti in Redis until it expires; a disabled
 * user cannot refresh; API keys are created (shown once), listed without secrets, verified by
 * services only, revoked, and never hold more scopes than their creator.
 *
 * Users are inserted with libpq (an Argon2id hash from libsodium) and deleted at the end.
 */
#include <check.h>
#include <cjson/cJSON.h>
#include <hiredis/hiredis.h>
#include <libpq-fe.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "strata/encode.h"
#include "strata/principal.h"
#include "strata/redis.h"

#define PASSWORD "Correct-Horse-Battery-9"

/* ---- fixtures ---- */

struct user {
	char id[40];
	char email[96];
};

static PGconn *
db(void)
{
	PGconn *c = PQconnectdb(it_env("DATABASE_URL", ""));

	ck_assert_msg(PQstatus(c) == CONNECTION_OK, "DATABASE_URL must reach PostgreSQL");
	return c;
}

/* Runs a statement with text parameters; returns the result (PQclear it). */
static PGresult *
sql(const char *q, int n, const char *const *params)
{
	PGconn *c = db();
	PGresult *r = PQexecParams(c, q, n, NULL, params, NULL, NULL, 0);

	ck_assert_msg(PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK,
		      "%s: %s", q, PQerrorMessage(c));
	PQfinish(c);
	return r;
}

/* Inserts a user with roles (a PostgreSQL array literal) and the password PASSWORD. */
static void
user_make(struct user *u, const char *roles)
{
	char hash[crypto_pwhash_STRBYTES];
	char suffix[9];
	const char *params[4];

	ck_assert_int_ge(sodium_init(), 0);
	ck_assert_int_eq(crypto_pwhash_str(hash, PASSWORD, strlen(PASSWORD),
					   crypto_pwhash_OPSLIMIT_INTERACTIVE,
					   crypto_pwhash_MEMLIMIT_INTERACTIVE),
			 0);
	st_uuid_v4(u->id, sizeof(u->id));
	memcpy(suffix, u->id, 8);
	suffix[8] = '\0';
	snprintf(u->email, sizeof(u->email), "it-tok-%s@example.org", suffix);
	params[0] = u->id;
	params[1] = u->email;
	params[2] = hash;
	params[3] = roles;
	PQclear(sql("INSERT INTO auth.users (id, email, password_hash, name, roles) "
		    "VALUES ($1, $2, $3, 'IT tokens', $4::text[])",
		    4, params));
}

static void
user_drop(const struct user *u)
{
	const char *params[] = { u->id };

	PQclear(sql("DELETE FROM auth.users WHERE id = $1", 1, params));
}

static const char *
url(const char *path)
{
	static _Thread_local char buf[512];

	snprintf(buf, sizeof(buf), "%s%s", it_service_url("auth"), path);
	return buf;
}

/* Sends a request to auth as (kind, sub, scopes) with a JSON body and optional extra header. */
static long
call(const char *method, const char *path, const char *kind, const char *sub, unsigned scopes,
     const char *body, const char *extra, struct it_resp *r)
{
	char principal[700];
	const char *hdrs[4] = { principal, "Content-Type: application/json", extra, NULL };

	it_principal_header(method, url(path), kind, sub, scopes, principal, sizeof(principal));
	return it_http(method, url(path), hdrs, body, r);
}

static long
anon(const char *method, const char *path, const char *body, const char *extra, struct it_resp *r)
{
	return call(method, path, "anonymous", "anonymous", 0, body, extra, r);
}

/* A parsed body; the caller deletes it. */
static cJSON *
json_of(const struct it_resp *r)
{
	cJSON *doc = cJSON_Parse(r->body);

	ck_assert_msg(doc != NULL, "not JSON: %s", r->body);
	return doc;
}

static const char *
str(const cJSON *obj, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);

	ck_assert_msg(cJSON_IsString(v), "no string %s", name);
	return v->valuestring;
}

struct pair {
	char access[4096];
	char refresh[128];
};

static void
pair_from(const struct it_resp *r, struct pair *p)
{
	cJSON *doc = json_of(r);

	ck_assert_str_eq(str(doc, "token_type"), "Bearer");
	ck_assert_int_eq(cJSON_GetObjectItem(doc, "expires_in")->valueint, 900);
	ck_assert(st_strlcpy(p->access, str(doc, "access_token"), sizeof(p->access)));
	ck_assert(st_strlcpy(p->refresh, str(doc, "refresh_token"), sizeof(p->refresh)));
	cJSON_Delete(doc);
}

static void
login(const struct user *u, struct pair *p)
{
	struct it_resp r;
	char body[256];

	snprintf(body, sizeof(body), "{\"email\":\"%s\",\"password\":\"%s\"}", u->email, PASSWORD);
	ck_assert_int_eq(anon("POST", "/api/v1/auth/login", body, NULL, &r), 200);
	pair_from(&r, p);
	it_resp_cleanup(&r);
}

static long
refresh(const char *token, struct pair *p)
{
	struct it_resp r;
	char body[256];
	long status;

	snprintf(body, sizeof(body), "{\"refresh_token\":\"%s\"}", token);
	status = anon("POST", "/api/v1/auth/refresh", body, NULL, &r);
	if (status == 200 && p != NULL)
		pair_from(&r, p);
	it_resp_cleanup(&r);
	return status;
}

/* The JSON payload (or header, part 0) of a compact token. */
static cJSON *
token_part(const char *token, int part)
{
	const char *start = token, *end;
	unsigned char raw[4096];
	size_t n = 0;

	for (int i = 0; i < part; i++)
		start = strchr(start, '.') + 1;
	end = strchr(start, '.');
	ck_assert(st_base64url_decode(start, (size_t)(end - start), raw, sizeof(raw) - 1, &n));
	raw[n] = '\0';
	return cJSON_Parse((const char *)raw);
}

/* ---- keys ---- */

/* A public key PEM rebuilt from a JWK's n and e only (an independent verifier's view). */
static char *
pem_from_jwk(const cJSON *jwk)
{
	unsigned char nb[1024], eb[16];
	size_t nn = 0, en = 0;
	BIGNUM *n, *e;
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	OSSL_PARAM *params;
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
	EVP_PKEY *pkey = NULL;
	BIO *bio = BIO_new(BIO_s_mem());
	char *data = NULL, *out;
	long len;

	ck_assert(st_base64url_decode(str(jwk, "n"), strlen(str(jwk, "n")), nb, sizeof(nb), &nn));
	ck_assert(st_base64url_decode(str(jwk, "e"), strlen(str(jwk, "e")), eb, sizeof(eb), &en));
	n = BN_bin2bn(nb, (int)nn, NULL);
	e = BN_bin2bn(eb, (int)en, NULL);
	OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n);
	OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e);
	params = OSSL_PARAM_BLD_to_param(bld);
	ck_assert_int_eq(EVP_PKEY_fromdata_init(ctx), 1);
	ck_assert_int_eq(EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params), 1);
	ck_assert_int_eq(PEM_write_bio_PUBKEY(bio, pkey), 1);
	len = BIO_get_mem_data(bio, &data);
	out = st_strndup(data, (size_t)len);
	BIO_free(bio);
	EVP_PKEY_free(pkey);
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_free(n);
	BN_free(e);
	return out;
}

START_TEST(jwks_publishes_the_key_that_signs)
{
	struct user u;
	struct pair p;
	struct it_resp r;
	char cc[128];
	cJSON *doc, *hdr, *keys, *jwk, *found = NULL;
	char *pem;
	cJSON *claims;
	const char *dot2;
	unsigned char sig[1024];
	size_t siglen = 0;
	BIO *bio;
	EVP_PKEY *pub;
	EVP_MD_CTX *ctx;

	user_make(&u, "{researcher}");
	login(&u, &p);
	ck_assert_int_eq(anon("GET", "/api/v1/auth/jwks", NULL, NULL, &r), 200);
	ck_assert(it_resp_header(&r, "Cache-Control", cc, sizeof(cc)));
	ck_assert_str_eq(cc, "public, max-age=300");
	doc = json_of(&r);
	hdr = token_part(p.access, 0);
	ck_assert_str_eq(str(hdr, "alg"), "RS256");
	keys = cJSON_GetObjectItem(doc, "keys");
	ck_assert(cJSON_IsArray(keys));
	cJSON_ArrayForEach(jwk, keys)
	{
		ck_assert_str_eq(str(jwk, "kty"), "RSA");
		ck_assert_str_eq(str(jwk, "use"), "sig");
		ck_assert_str_eq(str(jwk, "alg"), "RS256");
		ck_assert_uint_eq(strlen(str(jwk, "kid")), 16);
		ck_assert_ptr_null(cJSON_GetObjectItem(jwk, "d")); /* never private parts */
		if (strcmp(str(jwk, "kid"), str(hdr, "kid")) == 0)
			found = jwk;
	}
	ck_assert_msg(found != NULL, "the token's kid is not in the JWKS");
	ck_assert_str_eq(str(found, "e"), "AQAB");

	/* An independent verifier (plain OpenSSL): the key from n and e, RS256. */
	pem = pem_from_jwk(found);
	bio = BIO_new_mem_buf(pem, -1);
	pub = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
	ck_assert_ptr_nonnull(pub);
	dot2 = strrchr(p.access, '.');
	ck_assert(st_base64url_decode(dot2 + 1, strlen(dot2 + 1), sig, sizeof(sig), &siglen));
	ctx = EVP_MD_CTX_new();
	ck_assert_int_eq(EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, pub), 1);
	ck_assert_int_eq(EVP_DigestVerify(ctx, sig, siglen, (const unsigned char *)p.access,
					  (size_t)(dot2 - p.access)),
			 1);
	EVP_MD_CTX_free(ctx);
	EVP_PKEY_free(pub);
	BIO_free(bio);
	claims = token_part(p.access, 1);
	ck_assert_str_eq(str(claims, "sub"), u.id);
	ck_assert_str_eq(str(claims, "aud"), "strata");
	ck_assert_str_eq(str(claims, "scope"), "read write dashboard ingest");
	ck_assert_int_eq(cJSON_GetObjectItem(claims, "exp")->valuedouble -
				 cJSON_GetObjectItem(claims, "iat")->valuedouble,
			 900);
	cJSON_Delete(claims);
	st_free(pem);
	cJSON_Delete(hdr);
	cJSON_Delete(doc);
	it_resp_cleanup(&r);
	user_drop(&u);
}
END_TEST

START_TEST(openid_configuration_names_the_jwks)
{
	struct it_resp r;
	cJSON *doc, *algs;
	char want[300];

	ck_assert_int_eq(anon("GET", "/.well-known/openid-configuration", NULL, NULL, &r), 200);
	doc = json_of(&r);
	snprintf(want, sizeof(want), "%s/api/v1/auth/jwks", str(doc, "issuer"));
	ck_assert_str_eq(str(doc, "jwks_uri"), want);
	algs = cJSON_GetObjectItem(doc, "id_token_signing_alg_values_supported");
	ck_assert_int_eq(cJSON_GetArraySize(algs), 1);
	ck_assert_str_eq(cJSON_GetArrayItem(algs, 0)->valuestring, "RS256");
	cJSON_Delete(doc);
	it_resp_cleanup(&r);
}
END_TEST

/* ---- refresh ---- */

/* How many of the user's refresh tokens are usable (neither used nor revoked), or with
 * unrevoked, not revoked. */
static int
count_tokens(const struct user *u, bool unrevoked)
{
	const char *params[] = { u->id };
	PGresult *r =
		sql(unrevoked ? "SELECT count(*) FROM auth.refresh_tokens "
				"WHERE user_id = $1 AND revoked_at IS NULL"
			      : "SELECT count(*) FROM auth.refresh_tokens "
				"WHERE user_id = $1 AND revoked_at IS NULL AND used_at IS NULL",
		    1, params);
	int n = (int)strtol(PQgetvalue(r, 0, 0), NULL, 10);

	PQclear(r);
	return n;
}

static int
live_tokens(const struct user *u)
{
	return count_tokens(u, false);
}

START_TEST(refresh_rotates_and_reuse_revokes_the_family)
{
	struct user u;
	struct pair p1, p2, p3;
	cJSON *a, *b;

	user_make(&u, "{researcher}");
	login(&u, &p1);
	ck_assert_int_eq(refresh(p1.refresh, &p2), 200);
	ck_assert_str_ne(p1.refresh, p2.refresh);
	a = token_part(p1.access, 1);
	b = token_part(p2.access, 1);
	ck_assert_str_ne(str(a, "jti"), str(b, "jti"));
	ck_assert_str_eq(str(b, "sub"), u.id);
	cJSON_Delete(a);
	cJSON_Delete(b);
	ck_assert_int_eq(refresh(p2.refresh, &p3), 200);
	ck_assert_int_eq(live_tokens(&u), 1);

	/* p2's token was used: presenting it again kills the family, p3's successor included */
	ck_assert_int_eq(refresh(p2.refresh, NULL), 401);
	ck_assert_int_eq(count_tokens(&u, true), 0);
	ck_assert_int_eq(refresh(p3.refresh, NULL), 401);
	ck_assert_int_eq(refresh("not-a-token", NULL), 401);
	user_drop(&u);
}
END_TEST

struct racer {
	pthread_barrier_t *start;
	const char *token;
	long status;
	struct pair out;
};

static void *
race(void *arg)
{
	struct racer *r = arg;

	pthread_barrier_wait(r->start);
	r->status = refresh(r->token, &r->out);
	return NULL;
}

START_TEST(concurrent_refreshes_with_one_token_cannot_both_win)
{
	struct user u;
	struct pair p;
	pthread_barrier_t start;
	struct racer r[2];
	pthread_t t[2];
	int wins = 0;

	user_make(&u, "{viewer}");
	for (int round = 0; round < 3; round++) {
		login(&u, &p);
		pthread_barrier_init(&start, NULL, 2);
		for (int i = 0; i < 2; i++) {
			memset(&r[i], 0, sizeof(r[i]));
			r[i].start = &start;
			r[i].token = p.refresh;
			ck_assert_int_eq(pthread_create(&t[i], NULL, race, &r[i]), 0);
		}
		for (int i = 0; i < 2; i++)
			pthread_join(t[i], NULL);
		pthread_barrier_destroy(&start);
		wins = (r[0].status == 200) + (r[1].status == 200);
		ck_assert_msg(wins == 1, "round %d: statuses %ld and %ld", round, r[0].status,
			      r[1].status);
		ck_assert_int_eq(r[0].status + r[1].status, 200 + 401);
		/* the loser saw a used token: the winner's successor is revoked too */
		ck_assert_int_eq(refresh(r[r[0].status == 200 ? 0 : 1].out.refresh, NULL), 401);
	}
	ck_assert_int_eq(count_tokens(&u, true), 0);
	user_drop(&u);
}
END_TEST

START_TEST(logout_revokes_the_family_and_denylists_the_jti)
{
	struct user u;
	struct pair p1, p2;
	struct it_resp r;
	char body[256], auth[4200], key[128];
	struct st_redis_conf rc = { it_env("REDIS_URL", "redis://127.0.0.1:16379/0"), 1, 2000 };
	struct st_redis *redis = NULL;
	struct redisReply *reply = NULL;
	cJSON *claims;

	user_make(&u, "{researcher}");
	login(&u, &p1);
	ck_assert_int_eq(refresh(p1.refresh, &p2), 200);
	claims = token_part(p2.access, 1);
	snprintf(body, sizeof(body), "{\"refresh_token\":\"%s\"}", p2.refresh);
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", p2.access);
	ck_assert_int_eq(anon("POST", "/api/v1/auth/logout", body, auth, &r), 204);
	it_resp_cleanup(&r);
	ck_assert_int_eq(count_tokens(&u, true), 0);
	ck_assert_int_eq(refresh(p2.refresh, NULL), 401);

	ck_assert_int_eq(st_redis_create(&rc, &redis), ST_OK);
	snprintf(key, sizeof(key), "auth:deny:%s", str(claims, "jti"));
	ck_assert_int_eq(st_redis_cmd(redis, &reply, "TTL %s", key), ST_OK);
	ck_assert_int_eq(reply->type, REDIS_REPLY_INTEGER);
	ck_assert_msg(reply->integer > 0 && reply->integer <= 900, "TTL %lld",
		      (long long)reply->integer);
	freeReplyObject(reply);

	/* logging out again is harmless; a forged bearer is ignored, not denylisted */
	ck_assert_int_eq(anon("POST", "/api/v1/auth/logout", body,
			      "Authorization: Bearer eyJhbGciOiJub25lIn0.e30.", &r),
			 204);
	it_resp_cleanup(&r);
	ck_assert_int_eq(anon("POST", "/api/v1/auth/logout", "{}", NULL, &r), 400);
	it_resp_cleanup(&r);
	st_redis_destroy(redis);
	cJSON_Delete(claims);
	user_drop(&u);
}
END_TEST

START_TEST(a_disabled_user_cannot_refresh)
{
	struct user u;
	struct pair p;
	const char *params[1];

	user_make(&u, "{researcher}");
	login(&u, &p);
	params[0] = u.id;
	PQclear(sql("UPDATE auth.users SET disabled = true WHERE id = $1", 1, params));
	ck_assert_int_eq(refresh(p.refresh, NULL), 401);
	user_drop(&u);
}
END_TEST

/* ---- API keys ---- */

#define RESEARCHER (ST_SCOPE_READ | ST_SCOPE_WRITE | ST_SCOPE_DASHBOARD | ST_SCOPE_INGEST)

static long
verify_key(const char *kind, const char *key, struct it_resp *r)
{
	char body[256];

	snprintf(body, sizeof(body), "{\"key\":\"%s\"}", key);
	return call("POST", "/internal/v1/api-keys/verify", kind,
		    strcmp(kind, "service") == 0 ? "gateway" : "someone", 0, body, NULL, r);
}

START_TEST(api_key_lifecycle)
{
	struct user u, other;
	struct it_resp r;
	char loc[200], path[200], key[128], id[40], prefix[16];
	cJSON *doc, *items, *item, *mine = NULL;

	user_make(&u, "{researcher}");
	user_make(&other, "{researcher}");
	ck_assert_int_eq(call("POST", "/api/v1/api-keys", "user", u.id, RESEARCHER,
			      "{\"name\":\"ci uploader\",\"permissions\":[\"read\",\"write\"],"
			      "\"expires_at\":\"2099-01-01T00:00:00Z\"}",
			      NULL, &r),
			 201);
	doc = json_of(&r);
	st_strlcpy(key, str(doc, "key"), sizeof(key));
	st_strlcpy(id, str(doc, "id"), sizeof(id));
	st_strlcpy(prefix, str(doc, "prefix"), sizeof(prefix));
	ck_assert_int_eq(strncmp(key, "stk_", 4), 0);
	ck_assert_int_eq(strncmp(key + 4, prefix, strlen(prefix)), 0);
	ck_assert_str_eq(str(doc, "name"), "ci uploader");
	ck_assert_str_eq(str(doc, "expires_at"), "2099-01-01T00:00:00.000Z");
	ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(doc, "permissions")), 2);
	ck_assert(it_resp_header(&r, "Location", loc, sizeof(loc)));
	snprintf(path, sizeof(path), "/api/v1/api-keys/%s", id);
	ck_assert_str_eq(loc, path);
	cJSON_Delete(doc);
	it_resp_cleanup(&r);

	/* listed without the secret */
	ck_assert_int_eq(call("GET", "/api/v1/api-keys", "user", u.id, RESEARCHER, NULL, NULL, &r),
			 200);
	ck_assert_ptr_null(strstr(r.body, key + 13)); /* the secret part */
	doc = json_of(&r);
	items = cJSON_GetObjectItem(doc, "items");
	cJSON_ArrayForEach(item, items)
	{
		ck_assert_ptr_null(cJSON_GetObjectItem(item, "key"));
		if (strcmp(str(item, "id"), id) == 0)
			mine = item;
	}
	ck_assert_ptr_nonnull(mine);
	ck_assert_str_eq(str(mine, "prefix"), prefix);
	ck_assert(cJSON_IsNull(cJSON_GetObjectItem(mine, "last_used_at")));
	ck_assert(cJSON_IsFalse(cJSON_GetObjectItem(mine, "revoked")));
	cJSON_Delete(doc);
	it_resp_cleanup(&r);

	/* verified by services only */
	ck_assert_int_eq(verify_key("user", key, &r), 403);
	it_resp_cleanup(&r);
	ck_assert_int_eq(verify_key("service", key, &r), 200);
	doc = json_of(&r);
	ck_assert_str_eq(str(doc, "id"), id);
	ck_assert_str_eq(str(doc, "user_id"), u.id);
	ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(doc, "scopes")), 2);
	ck_assert_str_eq(cJSON_GetArrayItem(cJSON_GetObjectItem(doc, "scopes"), 0)->valuestring,
			 "read");
	cJSON_Delete(doc);
	it_resp_cleanup(&r);
	ck_assert_int_eq(verify_key("service", "stk_nope_nope", &r), 404);
	it_resp_cleanup(&r);

	/* last use is recorded */
	ck_assert_int_eq(call("GET", "/api/v1/api-keys", "user", u.id, RESEARCHER, NULL, NULL, &r),
			 200);
	ck_assert_ptr_null(strstr(r.body, "\"last_used_at\":null"));
	it_resp_cleanup(&r);

	/* another user's key is not found; the owner's delete revokes it */
	ck_assert_int_eq(call("DELETE", path, "user", other.id, RESEARCHER, NULL, NULL, &r), 404);
	it_resp_cleanup(&r);
	ck_assert_int_eq(verify_key("service", key, &r), 200);
	it_resp_cleanup(&r);
	ck_assert_int_eq(call("DELETE", path, "user", u.id, RESEARCHER, NULL, NULL, &r), 204);
	it_resp_cleanup(&r);
	ck_assert_int_eq(verify_key("service", key, &r), 404);
	it_resp_cleanup(&r);
	ck_assert_int_eq(call("GET", "/api/v1/api-keys", "user", u.id, RESEARCHER, NULL, NULL, &r),
			 200);
	ck_assert_ptr_nonnull(strstr(r.body, "\"revoked\":true"));
	it_resp_cleanup(&r);
	user_drop(&u);
	user_drop(&other);
}
END_TEST

START_TEST(api_key_cannot_exceed_the_users_scopes)
{
	struct user u;
	struct it_resp r;

	user_make(&u, "{viewer}");
	ck_assert_int_eq(
		call("POST", "/api/v1/api-keys", "user", u.id, ST_SCOPE_READ | ST_SCOPE_DASHBOARD,
		     "{\"name\":\"too much\",\"permissions\":[\"read\",\"write\"]}", NULL, &r),
		403);
	ck_assert_ptr_nonnull(strstr(r.body, "'write'"));
	it_resp_cleanup(&r);
	ck_assert_int_eq(call("POST", "/api/v1/api-keys", "anonymous", "anonymous", 0,
			      "{\"name\":\"x\",\"permissions\":[\"read\"]}", NULL, &r),
			 401);
	it_resp_cleanup(&r);
	ck_assert_int_eq(call("POST", "/api/v1/api-keys", "device", "dev-1", ST_SCOPE_INGEST,
			      "{\"name\":\"x\",\"permissions\":[\"ingest\"]}", NULL, &r),
			 403);
	it_resp_cleanup(&r);
	user_drop(&u);
}
END_TEST

START_TEST(api_key_requests_are_validated)
{
	static const char *const bad[] = {
		"{\"name\":\"\",\"permissions\":[\"read\"]}",
		"{\"name\":\"x\",\"permissions\":[]}",
		"{\"name\":\"x\",\"permissions\":[\"root\"]}",
		"{\"name\":\"x\",\"permissions\":\"read\"}",
		"{\"name\":\"x\",\"permissions\":[\"read\"],\"expires_at\":\"2001-01-01T00:00:"
		"00Z\"}",
		"{\"name\":\"x\",\"permissions\":[\"read\"],\"expires_at\":\"tomorrow\"}",
		"{\"name\":\"x\",\"permissions\":[\"read\"],\"owner\":\"me\"}",
	};
	struct user u;
	struct it_resp r;

	user_make(&u, "{researcher}");
	for (size_t i = 0; i < ST_ARRAY_LEN(bad); i++) {
		long status = call("POST", "/api/v1/api-keys", "user", u.id, RESEARCHER, bad[i],
				   NULL, &r);

		ck_assert_msg(status == 400, "%s: %ld %s", bad[i], status, r.body);
		ck_assert_ptr_nonnull(strstr(r.body, "/problems/validation-error"));
		it_resp_cleanup(&r);
	}
	user_drop(&u);
}
END_TEST

START_TEST(expired_keys_and_disabled_users_do_not_verify)
{
	struct user u;
	struct it_resp r;
	char key[128];
	const char *params[1];
	cJSON *doc;

	user_make(&u, "{researcher}");
	ck_assert_int_eq(call("POST", "/api/v1/api-keys", "user", u.id, RESEARCHER,
			      "{\"name\":\"short\",\"permissions\":[\"read\"]}", NULL, &r),
			 201);
	doc = json_of(&r);
	st_strlcpy(key, str(doc, "key"), sizeof(key));
	cJSON_Delete(doc);
	it_resp_cleanup(&r);
	ck_assert_int_eq(verify_key("service", key, &r), 200);
	it_resp_cleanup(&r);

	params[0] = u.id;
	PQclear(sql("UPDATE auth.users SET disabled = true WHERE id = $1", 1, params));
	ck_assert_int_eq(verify_key("service", key, &r), 404);
	it_resp_cleanup(&r);
	PQclear(sql("UPDATE auth.users SET disabled = false WHERE id = $1", 1, params));
	PQclear(sql("UPDATE auth.api_keys SET expires_at = now() - interval '1 second' "
		    "WHERE user_id = $1",
		    1, params));
	ck_assert_int_eq(verify_key("service", key, &r), 404);
	it_resp_cleanup(&r);
	user_drop(&u);
}
END_TEST

START_TEST(api_key_list_pages_with_a_cursor)
{
	struct user u;
	struct it_resp r;
	char path[400], seen[3][40];
	const char *cursor;
	cJSON *doc, *items;

	user_make(&u, "{researcher}");
	for (int i = 0; i < 3; i++) {
		ck_assert_int_eq(call("POST", "/api/v1/api-keys", "user", u.id, RESEARCHER,
				      "{\"name\":\"page\",\"permissions\":[\"read\"]}", NULL, &r),
				 201);
		it_resp_cleanup(&r);
	}
	ck_assert_int_eq(
		call("GET", "/api/v1/api-keys?limit=2", "user", u.id, RESEARCHER, NULL, NULL, &r),
		200);
	doc = json_of(&r);
	items = cJSON_GetObjectItem(doc, "items");
	ck_assert_int_eq(cJSON_GetArraySize(items), 2);
	for (int i = 0; i < 2; i++)
		st_strlcpy(seen[i], str(cJSON_GetArrayItem(items, i), "id"), sizeof(seen[i]));
	cursor = str(doc, "next_cursor");
	snprintf(path, sizeof(path), "/api/v1/api-keys?limit=2&cursor=%s", cursor);
	cJSON_Delete(doc);
	it_resp_cleanup(&r);
	ck_assert_int_eq(call("GET", path, "user", u.id, RESEARCHER, NULL, NULL, &r), 200);
	doc = json_of(&r);
	items = cJSON_GetObjectItem(doc, "items");
	ck_assert_int_eq(cJSON_GetArraySize(items), 1);
	st_strlcpy(seen[2], str(cJSON_GetArrayItem(items, 0), "id"), sizeof(seen[2]));
	ck_assert_str_ne(seen[2], seen[0]);
	ck_assert_str_ne(seen[2], seen[1]);
	ck_assert(cJSON_IsNull(cJSON_GetObjectItem(doc, "next_cursor")));
	cJSON_Delete(doc);
	it_resp_cleanup(&r);
	ck_assert_int_eq(call("GET", "/api/v1/api-keys?cursor=bm9wZQ", "user", u.id, RESEARCHER,
			      NULL, NULL, &r),
			 400);
	it_resp_cleanup(&r);
	ck_assert_int_eq(
		call("GET", "/api/v1/api-keys?limit=0", "user", u.id, RESEARCHER, NULL, NULL, &r),
		400);
	it_resp_cleanup(&r);
	user_drop(&u);
}
END_TEST

Suite *
auth_tokens_suite(void)
{
	Suite *s = suite_create("auth_tokens");
	TCase *tc = tcase_create("tokens");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, jwks_publishes_the_key_that_signs);
	tcase_add_test(tc, openid_configuration_names_the_jwks);
	tcase_add_test(tc, refresh_rotates_and_reuse_revokes_the_family);
	tcase_add_test(tc, concurrent_refreshes_with_one_token_cannot_both_win);
	tcase_add_test(tc, logout_revokes_the_family_and_denylists_the_jti);
	tcase_add_test(tc, a_disabled_user_cannot_refresh);
	tcase_add_test(tc, api_key_lifecycle);
	tcase_add_test(tc, api_key_cannot_exceed_the_users_scopes);
	tcase_add_test(tc, api_key_requests_are_validated);
	tcase_add_test(tc, api_key_list_pages_with_a_cursor);
	tcase_add_test(tc, expired_keys_and_disabled_users_do_not_verify);
	suite_add_tcase(s, tc);
	return s;
}
