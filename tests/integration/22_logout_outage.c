/*
 * A logout holds while Redis is away. A user logs in through the front door, the token works,
 * the user logs out (auth writes the Redis denylist and the stream auth:revocations); once the
 * gateway has read the revocation (its gateway_revocations_learned_total counter moved), Redis
 * is stopped: the revoked token is still refused (401 "token revoked") from the gateway's memory,
 * while a second, live token of the same user still works (the rate limit and denylist fail
 * open). Redis is started again after the test, whatever became of it.
 */
#include <check.h>
#include <cjson/cJSON.h>
#include <libpq-fe.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "strata/core.h"

Suite *logout_outage_suite(void);

#define PASSWORD "Correct-Horse-Battery-9"
#define ROUTE    "/api/v1/auth/jwks" /* public and cheap; a token sent is still verified */

struct user {
	char id[40];
	char email[96];
};

static void
user_make(struct user *u)
{
	char hash[crypto_pwhash_STRBYTES], suffix[9];
	const char *params[3];

	ck_assert_int_ge(sodium_init(), 0);
	ck_assert_int_eq(crypto_pwhash_str(hash, PASSWORD, strlen(PASSWORD),
					   crypto_pwhash_OPSLIMIT_INTERACTIVE,
					   crypto_pwhash_MEMLIMIT_INTERACTIVE),
			 0);
	st_uuid_v4(u->id, sizeof(u->id));
	memcpy(suffix, u->id, 8);
	suffix[8] = '\0';
	snprintf(u->email, sizeof(u->email), "it-outage-%s@example.org", suffix);
	params[0] = u->id;
	params[1] = u->email;
	params[2] = hash;
	it_sql("INSERT INTO auth.users (id, email, password_hash, name, roles) "
	       "VALUES ($1, $2, $3, 'IT outage', '{researcher}')",
	       3, params, NULL, 0);
}

static void
user_drop(const struct user *u)
{
	const char *params[] = { u->id };

	it_sql("DELETE FROM auth.users WHERE id = $1", 1, params, NULL, 0);
}

struct pair {
	char access[4096];
	char refresh[128];
};

static void
login(const struct user *u, struct pair *p)
{
	const char *headers[] = { "Content-Type: application/json", NULL };
	char url[512], body[256];
	struct it_resp r;
	cJSON *doc;

	snprintf(url, sizeof(url), "%s/api/v1/auth/login", it_api_url());
	snprintf(body, sizeof(body), "{\"email\":\"%s\",\"password\":\"%s\"}", u->email, PASSWORD);
	ck_assert_int_eq(it_http("POST", url, headers, body, &r), 200);
	doc = cJSON_Parse(r.body);
	ck_assert(st_strlcpy(p->access, cJSON_GetObjectItem(doc, "access_token")->valuestring,
			     sizeof(p->access)));
	ck_assert(st_strlcpy(p->refresh, cJSON_GetObjectItem(doc, "refresh_token")->valuestring,
			     sizeof(p->refresh)));
	cJSON_Delete(doc);
	it_resp_cleanup(&r);
}

/* GET ROUTE with the token; fills resp. */
static long
call(const char *token, struct it_resp *resp)
{
	char url[512], authz[4200];
	const char *headers[] = { authz, NULL };

	snprintf(url, sizeof(url), "%s%s", it_api_url(), ROUTE);
	snprintf(authz, sizeof(authz), "Authorization: Bearer %s", token);
	return it_http("GET", url, headers, NULL, resp);
}

static void
expect(const char *what, const char *token, long want, const char *phrase)
{
	struct it_resp r;
	long status = call(token, &r);

	ck_assert_msg(status == want, "%s: HTTP %ld, want %ld: %s", what, status, want,
		      r.body ? r.body : "");
	if (phrase != NULL)
		ck_assert_msg(strstr(r.body, phrase) != NULL, "%s: %s", what, r.body);
	it_resp_cleanup(&r);
}

/* The gateway's gateway_revocations_learned_total, or -1 when /metrics does not say. */
static double
learned(void)
{
	char url[512];
	struct it_resp r;
	const char *at;
	double v = -1;

	snprintf(url, sizeof(url), "%s/metrics", it_service_url("gateway"));
	if (it_http("GET", url, NULL, NULL, &r) == 200) {
		at = strstr(r.body, "\ngateway_revocations_learned_total ");
		if (at != NULL)
			v = strtod(at + strlen("\ngateway_revocations_learned_total "), NULL);
	}
	it_resp_cleanup(&r);
	return v;
}

static void
redis_stop(void)
{
	const char *cmd = it_env("STRATA_REDIS_STOP_CMD", NULL);

	if (cmd != NULL)
		ck_assert_int_eq(it_sh("%s", cmd), 0);
	else
		ck_assert_int_eq(it_sh("\"%s/compose/local/infra.sh\" down redis",
				       it_env("STRATA_REPO", ".")),
				 0);
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

START_TEST(logout_holds_while_redis_is_down)
{
	const char *headers[3];
	char url[512], body[256], authz[4200];
	struct user u;
	struct pair revoked, live;
	struct it_resp r;
	double before;

	user_make(&u);
	login(&u, &revoked);
	login(&u, &live);
	expect("before logout", revoked.access, 200, NULL);
	/* quiet first: a revocation of an earlier suite still on its way would count as ours */
	before = learned();
	ck_assert_msg(before >= 0,
		      "the gateway's /metrics has no gateway_revocations_learned_total");
	for (int i = 0;; i++) {
		struct timespec ts = { 1, 200000000 }; /* more than the gateway's poll period */
		double again;

		nanosleep(&ts, NULL);
		again = learned();
		if (again == before)
			break;
		ck_assert_msg(i < 10, "the gateway keeps learning revocations");
		before = again;
	}

	snprintf(url, sizeof(url), "%s/api/v1/auth/logout", it_api_url());
	snprintf(body, sizeof(body), "{\"refresh_token\":\"%s\"}", revoked.refresh);
	snprintf(authz, sizeof(authz), "Authorization: Bearer %s", revoked.access);
	headers[0] = authz;
	headers[1] = "Content-Type: application/json";
	headers[2] = NULL;
	ck_assert_int_eq(it_http("POST", url, headers, body, &r), 204);
	it_resp_cleanup(&r);
	expect("after logout, Redis up", revoked.access, 401, "token revoked");

	/* the gateway reads the stream every second */
	for (int i = 0; learned() <= before; i++) {
		struct timespec ts = { 0, 100000000 };

		ck_assert_msg(i < 100, "the gateway did not learn the revocation in 10 s");
		nanosleep(&ts, NULL);
	}

	redis_stop();
	expect("after logout, Redis down", revoked.access, 401, "token revoked");
	expect("another token, Redis down", live.access, 200, NULL);
	redis_start();
	user_drop(&u);
}
END_TEST

Suite *
logout_outage_suite(void)
{
	Suite *s = suite_create("logout_outage");
	TCase *tc = tcase_create("redis_down");

	tcase_set_timeout(tc, 90);
	tcase_add_unchecked_fixture(tc, NULL, redis_start);
	tcase_add_test(tc, logout_holds_while_redis_is_down);
	suite_add_tcase(s, tc);
	return s;
}
