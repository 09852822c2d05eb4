/*
 * auth's signing keys at rest, read straight from auth.signing_keys: no row holds a private
 * key in clear (nowhere in any column), each is sealed under a named KEK; a row an older auth
 * left in clear is sealed when an auth starts; an auth started now (a restart, a new replica)
 * opens the stored key, signs tokens that the gateway and the other auth accept, and verifies
 * theirs; a rotation to a new KEK (the old one as AUTH_KEK_PREVIOUS) reseals every key and back;
 * without a KEK, with both forms of one, or with a KEK that opens nothing, auth refuses to start
 * with one line naming the setting.
 *
 * The extra auth processes run from $STRATA_BIN on a spare port beside the running suite, with
 * its environment (env.sh), and are stopped by their pid. The rotation test case puts the keys
 * back under the suite's KEK in its teardown, even when a test failed.
 */
#define _GNU_SOURCE
#include <check.h>
#include <cjson/cJSON.h>
#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "strata/encode.h"
#include "strata/redis.h"

#define SPARE_PORT "18181"
#define PASSWORD   "Correct-Horse-Battery-9"

/* ---- a spare auth ---- */

struct spare {
	pid_t pid;
	char log[64];
};

/*
 * Starts $STRATA_BIN/strata-auth on SPARE_PORT with extra "K=V" settings (NULL-terminated) on
 * top of the suite's environment; its output goes to a log of its own.
 */
static void
spare_spawn(struct spare *s, const char *const *settings)
{
	char path[512];
	int fd;

	snprintf(path, sizeof(path), "%s/strata-auth", it_env("STRATA_BIN", "bin"));
	st_strlcpy(s->log, "/tmp/strata-it-auth-keys-XXXXXX", sizeof(s->log));
	fd = mkstemp(s->log);
	ck_assert_int_ge(fd, 0);
	s->pid = fork();
	ck_assert_int_ge(s->pid, 0);
	if (s->pid == 0) {
		dup2(fd, STDERR_FILENO);
		dup2(fd, STDOUT_FILENO);
		putenv((char *)"HTTP_PORT=" SPARE_PORT);
		setenv("PRINCIPAL_KEYS", it_principal_keys("auth"), 1);
		for (size_t i = 0; settings[i] != NULL; i++)
			putenv((char *)settings[i]);
		execl(path, path, (char *)NULL);
		_exit(127);
	}
	close(fd);
}

/* Waits up to ms for the spare to exit; its exit code, or -1 while it still runs. */
static int
spare_wait_exit(struct spare *s, int ms)
{
	for (int waited = 0; waited <= ms; waited += 50) {
		int status;

		if (waitpid(s->pid, &status, WNOHANG) == s->pid) {
			s->pid = 0;
			return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
		}
		usleep(50 * 1000);
	}
	return -1;
}

static long
spare_get(const char *path)
{
	struct it_resp r;
	char url[128];
	long status;

	snprintf(url, sizeof(url), "http://127.0.0.1:%s%s", SPARE_PORT, path);
	status = it_http("GET", url, NULL, NULL, &r);
	it_resp_cleanup(&r);
	return status;
}

/* True once the spare answers /readyz with 200 (within 30 s); false when it exited. */
static bool
spare_ready(struct spare *s)
{
	for (int i = 0; i < 300; i++) {
		int status;

		if (spare_get("/readyz") == 200)
			return true;
		if (waitpid(s->pid, &status, WNOHANG) == s->pid) {
			s->pid = 0;
			return false;
		}
		usleep(100 * 1000);
	}
	return false;
}

static bool file_contains(const char *path, const char *needle);

/*
 * Stops the spare (SIGTERM, then SIGKILL after 15 s) and removes its log. True when it had
 * exited by itself or stopped cleanly (exit 0) with no sanitizer report in its log.
 */
static bool
spare_stop(struct spare *s)
{
	int code = 0;

	if (s->pid > 0) {
		kill(s->pid, SIGTERM);
		code = spare_wait_exit(s, 15000);
		if (code < 0) {
			kill(s->pid, SIGKILL);
			waitpid(s->pid, NULL, 0);
			s->pid = 0;
		}
	}
	if (file_contains(s->log, "Sanitizer") || file_contains(s->log, "runtime error:"))
		code = -1;
	unlink(s->log);
	return code == 0;
}

static bool
file_contains(const char *path, const char *needle)
{
	FILE *f = fopen(path, "r");
	char line[4096];
	bool found = false;

	if (f == NULL)
		return false;
	while (!found && fgets(line, sizeof(line), f) != NULL)
		found = strstr(line, needle) != NULL;
	fclose(f);
	return found;
}

/* Starts a spare with settings and requires it to become ready. */
static void
spare_start(struct spare *s, const char *const *settings)
{
	spare_spawn(s, settings);
	if (!spare_ready(s)) {
		char tail[512] = "";
		FILE *f = fopen(s->log, "r");

		if (f != NULL) {
			fseek(f, -(long)(sizeof(tail) - 1), SEEK_END);
			tail[fread(tail, 1, sizeof(tail) - 1, f)] = '\0';
			fclose(f);
		}
		spare_stop(s);
		ck_abort_msg("the spare auth did not become ready: %s", tail);
	}
}

/* Starts a spare that must refuse to start, and requires its log to say needle. */
static void
spare_refused(const char *const *settings, const char *needle)
{
	struct spare s;
	int code;

	spare_spawn(&s, settings);
	code = spare_wait_exit(&s, 20000);
	if (code < 0)
		spare_stop(&s);
	ck_assert_msg(code > 0, "auth started (or hung) with %s", settings[0]);
	ck_assert_msg(file_contains(s.log, needle), "the log does not say \"%s\"", needle);
	ck_assert_msg(code == 1 && !file_contains(s.log, "Sanitizer"),
		      "auth exited %d (1: a failed start), or a sanitizer reported", code);
	unlink(s.log);
}

/* ---- users and tokens ---- */

struct user {
	char id[40];
	char email[96];
};

static void
user_drop(const struct user *u)
{
	const char *params[] = { u->id };

	it_sql("DELETE FROM auth.users WHERE id = $1", 1, params, NULL, 0);
}

/* POST to an auth at base (a service URL) as the gateway would, anonymous, with a body and an
 * optional extra header line. */
static long
auth_post(const char *base, const char *path, const char *body, const char *extra,
	  struct it_resp *r)
{
	char principal[700], url[256];
	const char *hdrs[4] = { principal, "Content-Type: application/json", extra, NULL };

	it_principal_header_at("auth", "POST", path, "anonymous", "anonymous", 0, principal,
			       sizeof(principal));
	snprintf(url, sizeof(url), "%s%s", base, path);
	return it_http("POST", url, hdrs, body, r);
}

/* Registers a researcher at the suite's auth; it goes with user_drop. */
static void
user_make(struct user *u)
{
	char body[256];
	struct it_resp r;
	cJSON *doc;

	st_uuid_v4(u->id, sizeof(u->id));
	snprintf(u->email, sizeof(u->email), "it-keys-%.8s@example.org", u->id);
	snprintf(body, sizeof(body), "{\"email\":\"%s\",\"password\":\"%s\"}", u->email, PASSWORD);
	ck_assert_int_eq(auth_post(it_service_url("auth"), "/api/v1/auth/register", body, NULL, &r),
			 201);
	doc = cJSON_Parse(r.body);
	ck_assert(st_strlcpy(u->id, cJSON_GetObjectItem(doc, "id")->valuestring, sizeof(u->id)));
	cJSON_Delete(doc);
	it_resp_cleanup(&r);
}

/* Logs u in at the auth at base; the access token into access. */
static void
login_at(const char *base, const struct user *u, char *access, size_t cap)
{
	struct it_resp r;
	char body[256];
	cJSON *doc;

	snprintf(body, sizeof(body), "{\"email\":\"%s\",\"password\":\"%s\"}", u->email, PASSWORD);
	ck_assert_int_eq(auth_post(base, "/api/v1/auth/login", body, NULL, &r), 200);
	doc = cJSON_Parse(r.body);
	ck_assert(st_strlcpy(access, cJSON_GetObjectItem(doc, "access_token")->valuestring, cap));
	cJSON_Delete(doc);
	it_resp_cleanup(&r);
}

/* One member of a token's header (part 0) or payload (part 1) as a string into out. */
static void
token_field(const char *token, int part, const char *name, char *out, size_t cap)
{
	const char *start = token, *end;
	unsigned char raw[4096];
	size_t n = 0;
	cJSON *doc;

	for (int i = 0; i < part; i++)
		start = strchr(start, '.') + 1;
	end = strchr(start, '.');
	ck_assert(st_base64url_decode(start, (size_t)(end - start), raw, sizeof(raw) - 1, &n));
	raw[n] = '\0';
	doc = cJSON_Parse((const char *)raw);
	ck_assert(cJSON_IsString(cJSON_GetObjectItem(doc, name)));
	st_strlcpy(out, cJSON_GetObjectItem(doc, name)->valuestring, cap);
	cJSON_Delete(doc);
}

/* GET /api/v1/auth/me through the front door with a Bearer token: the gateway verifies it. */
static long
me_through_gateway(const char *token)
{
	struct it_resp r;
	char url[256], authz[4200];
	const char *hdrs[] = { authz, NULL };
	long status;

	snprintf(url, sizeof(url), "%s/api/v1/auth/me", it_api_url());
	snprintf(authz, sizeof(authz), "Authorization: Bearer %s", token);
	status = it_http("GET", url, hdrs, NULL, &r);
	it_resp_cleanup(&r);
	return status;
}

static long
count_of(const char *stmt)
{
	return it_sql_number(stmt, 0, NULL);
}

/* ---- at rest ---- */

START_TEST(no_private_key_is_stored_in_clear)
{
	char kid[64];
	char *pem;

	ck_assert_int_gt(count_of("SELECT count(*) FROM auth.signing_keys"), 0);
	/* every column of every row, as text: no PEM private key anywhere */
	ck_assert_int_eq(count_of("SELECT count(*) FROM auth.signing_keys s "
				  "WHERE row_to_json(s)::text LIKE '%PRIVATE KEY%'"),
			 0);
	ck_assert_int_eq(count_of("SELECT count(*) FROM auth.signing_keys "
				  "WHERE private_pem IS NOT NULL OR private_box IS NULL "
				  "OR kek_id !~ '^[0-9a-f]{16}$'"),
			 0);
	/* and what is sealed is the key that signs: it opens with the suite's KEK */
	pem = it_auth_signing_key(kid, sizeof(kid));
	ck_assert_ptr_nonnull(strstr(pem, "-----BEGIN PRIVATE KEY-----"));
	sodium_memzero(pem, strlen(pem));
	free(pem);
}
END_TEST

/* A retired RSA key of its own, as an older auth stored it: private_pem in clear. */
static void
legacy_row(const char *kid)
{
	EVP_PKEY *pkey = EVP_RSA_gen(2048);
	BIO *priv = BIO_new(BIO_s_mem()), *pub = BIO_new(BIO_s_mem());
	char *priv_pem = NULL, *pub_pem = NULL;
	const char *params[] = { kid };

	ck_assert_ptr_nonnull(pkey);
	ck_assert_int_eq(PEM_write_bio_PrivateKey(priv, pkey, NULL, NULL, 0, NULL, NULL), 1);
	ck_assert_int_eq(PEM_write_bio_PUBKEY(pub, pkey), 1);
	ck_assert_int_eq(BIO_write(priv, "", 1), 1); /* NUL-terminate both */
	ck_assert_int_eq(BIO_write(pub, "", 1), 1);
	BIO_get_mem_data(priv, &priv_pem);
	BIO_get_mem_data(pub, &pub_pem);
	{
		const char *ins[] = { kid, priv_pem, pub_pem };

		it_sql("INSERT INTO auth.signing_keys (kid, alg, private_pem, public_pem, "
		       "created_at, "
		       "retired_at) VALUES ($1, 'RS256', $2, $3, now() - interval '30 days', "
		       "now() - interval '29 days')",
		       3, ins, NULL, 0);
	}
	BIO_free(priv);
	BIO_free(pub);
	EVP_PKEY_free(pkey);
	ck_assert_int_eq(it_sql_number("SELECT count(*) FROM auth.signing_keys WHERE kid = $1 "
				       "AND private_pem LIKE '%BEGIN PRIVATE KEY%'",
				       1, params),
			 1);
}

START_TEST(a_row_left_in_clear_is_sealed_when_auth_starts)
{
	static const char *const none[] = { NULL };
	const char kid[] = "itlegacy0000000a";
	const char *params[] = { kid };
	struct spare s;

	it_sql("DELETE FROM auth.signing_keys WHERE kid = $1", 1, params, NULL, 0);
	legacy_row(kid);
	spare_start(&s, none);
	ck_assert_int_eq(it_sql_number("SELECT count(*) FROM auth.signing_keys WHERE kid = $1 "
				       "AND private_pem IS NULL AND private_box IS NOT NULL "
				       "AND kek_id = (SELECT kek_id FROM auth.signing_keys "
				       "WHERE retired_at IS NULL ORDER BY created_at DESC LIMIT 1)",
				       1, params),
			 1);
	ck_assert_int_eq(count_of("SELECT count(*) FROM auth.signing_keys s "
				  "WHERE row_to_json(s)::text LIKE '%PRIVATE KEY%'"),
			 0);
	ck_assert(spare_stop(&s));
	it_sql("DELETE FROM auth.signing_keys WHERE kid = $1", 1, params, NULL, 0);
}
END_TEST

START_TEST(tokens_still_verify_after_auth_restarts)
{
	static const char *const none[] = { NULL };
	char spare_url[64], before[4096], after[4096], kid1[32], kid2[32], jti[64], body[64],
		authz[4200], key[128];
	struct st_redis_conf rc = { it_env("REDIS_URL", "redis://127.0.0.1:16379/0"), 1, 2000 };
	struct st_redis *redis = NULL;
	struct redisReply *reply = NULL;
	struct it_resp r;
	struct spare s;
	struct user u;

	snprintf(spare_url, sizeof(spare_url), "http://127.0.0.1:%s", SPARE_PORT);
	user_make(&u);
	login_at(it_service_url("auth"), &u, before, sizeof(before));
	spare_start(&s, none);

	/* the new process signs with the stored key: same kid, and the gateway accepts it */
	login_at(spare_url, &u, after, sizeof(after));
	token_field(before, 0, "kid", kid1, sizeof(kid1));
	token_field(after, 0, "kid", kid2, sizeof(kid2));
	ck_assert_str_eq(kid1, kid2);
	ck_assert_int_eq(me_through_gateway(after), 200);
	ck_assert_int_eq(me_through_gateway(before), 200);

	/* and it verifies the old process's token: logging out there denylists its jti */
	token_field(before, 1, "jti", jti, sizeof(jti));
	snprintf(body, sizeof(body), "{\"refresh_token\":\"none\"}");
	snprintf(authz, sizeof(authz), "Authorization: Bearer %s", before);
	ck_assert_int_eq(auth_post(spare_url, "/api/v1/auth/logout", body, authz, &r), 204);
	it_resp_cleanup(&r);
	ck_assert_int_eq(st_redis_create(&rc, &redis), ST_OK);
	snprintf(key, sizeof(key), "auth:deny:%s", jti);
	ck_assert_int_eq(st_redis_cmd(redis, &reply, "EXISTS %s", key), ST_OK);
	ck_assert_int_eq(reply->integer, 1);
	freeReplyObject(reply);
	st_redis_destroy(redis);
	ck_assert(spare_stop(&s));
	user_drop(&u);
}
END_TEST

/* ---- refusals ---- */

START_TEST(auth_refuses_to_start_without_one_kek)
{
	static const char *const no_kek[] = { "AUTH_KEK_FILE=", "AUTH_KEK=", NULL };
	static const char *const both[] = {
		"AUTH_KEK="
		"00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
		NULL
	};
	static const char *const short_kek[] = { "AUTH_KEK_FILE=", "AUTH_KEK=00112233", NULL };

	spare_refused(no_kek, "AUTH_KEK_FILE is not set (nor AUTH_KEK)");
	/* env.sh sets AUTH_KEK_FILE: adding AUTH_KEK makes two */
	spare_refused(both, "AUTH_KEK_FILE and AUTH_KEK are both set");
	spare_refused(short_kek, "AUTH_KEK: expected 64 hex digits");
}
END_TEST

START_TEST(auth_refuses_to_start_with_a_kek_that_opens_nothing)
{
	static const char *const wrong[] = {
		"AUTH_KEK_FILE=",
		"AUTH_KEK="
		"8899aabbccddeeff00112233445566778899aabbccddeeff0011223344556677",
		NULL
	};

	spare_refused(wrong, "which is neither AUTH_KEK's");
	/* and it changed nothing: the suite's KEK still opens every key */
	ck_assert_int_eq(count_of("SELECT count(DISTINCT kek_id) FROM auth.signing_keys"), 1);
}
END_TEST

/* ---- rotation ---- */

static char kek_new[2 * crypto_secretbox_KEYBYTES + 1]; /* made by the fixture, in the parent */
static char kek_old_id[32];

static void
rotation_setup(void)
{
	unsigned char raw[crypto_secretbox_KEYBYTES];

	if (sodium_init() < 0)
		abort();
	randombytes_buf(raw, sizeof(raw));
	sodium_bin2hex(kek_new, sizeof(kek_new), raw, sizeof(raw));
	sodium_memzero(raw, sizeof(raw));
	it_sql("SELECT kek_id FROM auth.signing_keys WHERE retired_at IS NULL "
	       "ORDER BY created_at DESC LIMIT 1",
	       0, NULL, kek_old_id, sizeof(kek_old_id));
}

/* Puts every key back under the suite's KEK (a failed test may have left them under the new
 * one): an auth with the suite's KEK and the new one as the previous. */
static void
rotation_teardown(void)
{
	char prev[128];
	const char *params[] = { kek_old_id };
	const char *settings[] = { prev, NULL };
	struct spare s;

	if (it_sql_number("SELECT count(*) FROM auth.signing_keys WHERE kek_id <> $1", 1, params) <=
	    0)
		return;
	snprintf(prev, sizeof(prev), "AUTH_KEK_PREVIOUS=%s", kek_new);
	spare_spawn(&s, settings);
	spare_ready(&s);
	spare_stop(&s);
}

START_TEST(a_new_kek_reseals_every_key_and_back)
{
	char cur[128], prev[512], kek_id[32], token[4096];
	const char *to_new[] = { "AUTH_KEK_FILE=", cur, prev, NULL };
	const char *back[] = { NULL, NULL };
	const char *params[] = { kek_old_id };
	struct spare s;
	struct user u;

	ck_assert_uint_eq(strlen(kek_old_id), 16);
	snprintf(cur, sizeof(cur), "AUTH_KEK=%s", kek_new);
	snprintf(prev, sizeof(prev), "AUTH_KEK_PREVIOUS_FILE=%s", it_env("AUTH_KEK_FILE", ""));
	user_make(&u);

	/* rotate to the new KEK: every key resealed under it, and tokens signed as before */
	spare_start(&s, to_new);
	ck_assert_int_eq(it_sql_number("SELECT count(*) FROM auth.signing_keys WHERE kek_id = $1",
				       1, params),
			 0);
	ck_assert_int_eq(count_of("SELECT count(DISTINCT kek_id) FROM auth.signing_keys"), 1);
	it_sql("SELECT kek_id FROM auth.signing_keys LIMIT 1", 0, NULL, kek_id, sizeof(kek_id));
	ck_assert_str_ne(kek_id, kek_old_id);
	{
		char url[64];

		snprintf(url, sizeof(url), "http://127.0.0.1:%s", SPARE_PORT);
		login_at(url, &u, token, sizeof(token));
	}
	ck_assert_int_eq(me_through_gateway(token), 200);
	ck_assert(spare_stop(&s));

	/* the old KEK alone opens nothing any more */
	{
		static const char *const old_only[] = { NULL };

		spare_refused(old_only, "which is neither AUTH_KEK's");
	}

	/* and back: the suite's KEK again, the new one as the previous */
	snprintf(prev, sizeof(prev), "AUTH_KEK_PREVIOUS=%s", kek_new);
	back[0] = prev;
	spare_start(&s, back);
	ck_assert_int_eq(it_sql_number("SELECT count(*) FROM auth.signing_keys WHERE kek_id <> $1",
				       1, params),
			 0);
	ck_assert(spare_stop(&s));
	user_drop(&u);
}
END_TEST

Suite *
auth_keys_suite(void)
{
	Suite *s = suite_create("auth_keys");
	TCase *tc = tcase_create("at_rest");
	TCase *rot = tcase_create("rotation");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, no_private_key_is_stored_in_clear);
	tcase_add_test(tc, a_row_left_in_clear_is_sealed_when_auth_starts);
	tcase_add_test(tc, tokens_still_verify_after_auth_restarts);
	tcase_add_test(tc, auth_refuses_to_start_without_one_kek);
	tcase_add_test(tc, auth_refuses_to_start_with_a_kek_that_opens_nothing);
	suite_add_tcase(s, tc);
	tcase_set_timeout(rot, 180);
	tcase_add_unchecked_fixture(rot, rotation_setup, rotation_teardown);
	tcase_add_test(rot, a_new_kek_reseals_every_key_and_back);
	suite_add_tcase(s, rot);
	return s;
}
