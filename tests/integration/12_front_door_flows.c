/*
 * The front door's flows from the outside, through nginx (it_api_url()), against the running
 * suite: what 08 and 09 show calling auth directly and 10 and 11 do not show through nginx.
 *
 *  - an API key with only `read`: works on a read route, 403 on a write route and on the
 *    user-only key routes; a key revoked before its first use is refused at once, one revoked
 *    after use within the gateway's cache window (GATEWAY_APIKEY_CACHE_S, 30 s by default: the
 *    check is the fifth test, so that the wait overlaps the others);
 *  - the whole flow: register, login, /me, refresh (rotation), the used refresh token presented
 *    again (401, and its whole family revoked), logout (the family revoked, the access token
 *    denylisted), PATCH /me (the name; the password only with the current one);
 *  - the lockout of one account after AUTH_LOCKOUT_MAX failures: 429 with Retry-After, while
 *    another account still logs in from the same address;
 *  - an access token verified by an independent verifier: the openssl command line, with the
 *    key rebuilt from the JWK's n and e found through the OpenID configuration;
 *  - no password, token or key of this run in the part of any log written during it.
 *
 * The tests run in order in one test case, each in its own process: what a later one needs
 * (the secrets used, the revoked key, the users to delete, the failed logins to take back)
 * goes into files of a private folder that the unchecked fixture makes and removes.
 *
 * Every request comes from 127.0.0.1 (nginx sets X-Real-IP), so failed logins also count
 * against that address's lockout counter (AUTH_LOCKOUT_ADDR_MAX, 20 an hour), shared with
 * every other test and benchmark: the lockout test refuses to start near the threshold, and
 * each test that fails logins takes its failures back off the counter at its end (the
 * teardown, for one that stopped early).
 */
#define _GNU_SOURCE
#include <check.h>
#include <cjson/cJSON.h>
#include <fcntl.h>
#include <glob.h>
#include <hiredis/hiredis.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "strata/core.h"
#include "strata/encode.h"
#include "strata/principal.h"
#include "strata/redis.h"

Suite *front_door_flows_suite(void);

#define CLIENT_ADDR  "127.0.0.1" /* what nginx puts in X-Real-IP for these tests */
#define MAX_LOGS     64
#define MAX_SECRETS  96
#define REVOKE_LIMIT 62 /* s: a revoked key works 60 s at most (the issue), plus slack */

/* ---- the run's state: set by the fixture in the runner, read by every test ---- */

struct log_mark {
	char path[512];
	off_t size;
	ino_t ino;
};

static struct {
	char dir[64]; /* mode 0700: secrets, users, failures, revoked; removed at the end */
	char run[17]; /* random hex naming this run's users and request ids */
	struct log_mark logs[MAX_LOGS];
	size_t nlogs;
} S;

static const char *
log_dir(void)
{
	static char buf[512];
	const char *d = it_env("STRATA_LOG", NULL);

	if (d != NULL)
		return d;
	snprintf(buf, sizeof(buf), "%s/.data/log", it_env("STRATA_REPO", "."));
	return buf;
}

/* The logs of the suite: every *.log of the log folder but the test runners' own output. */
static size_t
log_paths(glob_t *g)
{
	char pattern[600];

	snprintf(pattern, sizeof(pattern), "%s/*.log", log_dir());
	if (glob(pattern, 0, NULL, g) != 0) {
		g->gl_pathc = 0;
		return 0;
	}
	return g->gl_pathc;
}

static bool
runner_log(const char *path)
{
	size_t n = strlen(path);

	return n >= 10 && strcmp(path + n - 10, "-tests.log") == 0;
}

static void
logs_mark(void)
{
	glob_t g;

	S.nlogs = 0;
	log_paths(&g);
	for (size_t i = 0; i < g.gl_pathc && S.nlogs < MAX_LOGS; i++) {
		struct stat st;

		if (runner_log(g.gl_pathv[i]) || stat(g.gl_pathv[i], &st) != 0)
			continue;
		st_strlcpy(S.logs[S.nlogs].path, g.gl_pathv[i], sizeof(S.logs[0].path));
		S.logs[S.nlogs].size = st.st_size;
		S.logs[S.nlogs].ino = st.st_ino;
		S.nlogs++;
	}
	if (g.gl_pathc > 0)
		globfree(&g);
}

static void
state_path(const char *name, char *buf, size_t cap)
{
	snprintf(buf, cap, "%s/%s", S.dir, name);
}

/* Appends one line to the state file name. */
static void state_add(const char *name, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
state_add(const char *name, const char *fmt, ...)
{
	char path[128];
	va_list ap;
	FILE *f;

	ck_assert_msg(S.dir[0] != '\0', "no state folder");
	state_path(name, path, sizeof(path));
	f = fopen(path, "a");
	ck_assert_msg(f != NULL, "cannot write %s", path);
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	ck_assert_int_eq(fclose(f), 0);
}

/* A secret this run sent or received, for the last test to look for in the logs. */
static void
keep_secret(const char *kind, const char *value)
{
	ck_assert_msg(strlen(value) >= 12 && strpbrk(value, " \n") == NULL, "odd %s", kind);
	state_add("secrets", "%s %s\n", kind, value);
}

/* ---- requests ---- */

static bool
is_problem(const struct it_resp *r)
{
	char ctype[128];

	return it_resp_header(r, "Content-Type", ctype, sizeof(ctype)) &&
	       strncmp(ctype, "application/problem+json", 24) == 0;
}

/* The gateway's own 429 (rate limit), as opposed to auth's lockout. */
static bool
rate_limited(const struct it_resp *r)
{
	return r->status == 429 && strstr(r->body, "rate limit exceeded") != NULL;
}

/*
 * One request through the public API with this run's request id, a Bearer token or an API key
 * (either may be NULL) and a JSON body (may be NULL). All anonymous calls from 127.0.0.1 share
 * one rate-limit bucket with the other suites: a 429 of the gateway is waited out.
 */
static long
api(const char *method, const char *path, const char *bearer, const char *apikey, const char *body,
    struct it_resp *r)
{
	static int seq;
	char url[1024], rid[96], authz[4200], key[256];
	const char *headers[5];
	size_t n = 0;

	snprintf(url, sizeof(url), "%s%s", it_api_url(), path);
	snprintf(rid, sizeof(rid), "X-Request-Id: it-flows-%s-%d-%d", S.run, (int)getpid(), ++seq);
	headers[n++] = rid;
	if (body != NULL)
		headers[n++] = "Content-Type: application/json";
	if (bearer != NULL) {
		ck_assert_uint_lt(strlen(bearer), sizeof(authz) - 32);
		snprintf(authz, sizeof(authz), "Authorization: Bearer %s", bearer);
		headers[n++] = authz;
	}
	if (apikey != NULL) {
		snprintf(key, sizeof(key), "X-API-Key: %s", apikey);
		headers[n++] = key;
	}
	headers[n] = NULL;
	for (int i = 0;; i++) {
		char wait[16];
		long secs;

		it_http(method, url, headers, body, r);
		if (!rate_limited(r) || i == 5)
			return r->status;
		secs = it_resp_header(r, "Retry-After", wait, sizeof(wait)) ? strtol(wait, NULL, 10)
									    : 1;
		it_resp_cleanup(r);
		sleep((unsigned)(secs > 0 && secs < 10 ? secs : 1));
	}
}

/* Expects status and a problem+json body containing want (may be NULL); cleans r. */
static void
expect_problem(const char *what, long status, struct it_resp *r, long want_status, const char *want)
{
	ck_assert_msg(status == want_status, "%s: HTTP %ld, wanted %ld: %s", what, status,
		      want_status, r->body);
	ck_assert_msg(is_problem(r), "%s: not application/problem+json", what);
	ck_assert_msg(want == NULL || strstr(r->body, want) != NULL, "%s: '%s' does not say '%s'",
		      what, r->body, want);
	it_resp_cleanup(r);
}

static cJSON *
json_of(const struct it_resp *r)
{
	cJSON *doc = cJSON_Parse(r->body);

	ck_assert_msg(doc != NULL, "not JSON: %s", r->body);
	return doc;
}

/* A string member, or "" (never NULL). */
static const char *
jstr(const cJSON *obj, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);

	return cJSON_IsString(v) ? v->valuestring : "";
}

static bool
jarray_has(const cJSON *obj, const char *name, const char *value)
{
	const cJSON *item;

	cJSON_ArrayForEach(item, cJSON_GetObjectItemCaseSensitive(obj, name))
	{
		if (cJSON_IsString(item) && strcmp(item->valuestring, value) == 0)
			return true;
	}
	return false;
}

static void
random_hex(char *out, size_t cap)
{
	unsigned char b[8];

	st_random_bytes(b, sizeof(b));
	ck_assert(st_hex_encode(b, sizeof(b), out, cap));
}

/* A password of this run only (so that finding it in a log means this run logged it). */
static void
new_password(char *out, size_t cap)
{
	char hex[17];

	random_hex(hex, sizeof(hex));
	snprintf(out, cap, "Fl0ws-%s-Pw", hex);
	keep_secret("password", out);
}

/* ---- accounts and tokens ---- */

struct account {
	char id[40];
	char email[128];
	char password[64];
};

struct pair {
	char access[4096];
	char refresh[256];
	long expires_in;
};

/* Registers a fresh account through the API; the teardown deletes it. */
static void
account_make(struct account *a, const char *tag)
{
	char body[512], loc[128], want[128];
	struct it_resp r;
	cJSON *doc;
	long status;

	snprintf(a->email, sizeof(a->email), "it-flows-%s-%s-%d@example.test", S.run, tag,
		 (int)getpid());
	new_password(a->password, sizeof(a->password));
	snprintf(body, sizeof(body), "{\"email\":\"%s\",\"password\":\"%s\",\"name\":\"It flows\"}",
		 a->email, a->password);
	status = api("POST", "/api/v1/auth/register", NULL, NULL, body, &r);
	ck_assert_msg(status == 201, "register: HTTP %ld %s", status, r.body);
	doc = json_of(&r);
	ck_assert(st_strlcpy(a->id, jstr(doc, "id"), sizeof(a->id)));
	ck_assert_uint_eq(strlen(a->id), 36);
	state_add("users", "%s\n", a->id);
	ck_assert(jarray_has(doc, "roles", "researcher"));
	ck_assert_ptr_null(cJSON_GetObjectItem(doc, "password_hash"));
	ck_assert(it_resp_header(&r, "Location", loc, sizeof(loc)));
	snprintf(want, sizeof(want), "/api/v1/users/%s", a->id);
	ck_assert_str_eq(loc, want);
	cJSON_Delete(doc);
	it_resp_cleanup(&r);
}

/* A login or a current-password check that failed counts at auth:fail:ip:<address>:
 * failures_take_back takes these back. */
static void
failed_login_counted(void)
{
	state_add("failures", "1\n");
}

static struct st_redis *
redis_open(void)
{
	struct st_redis_conf conf = { .url = it_env("REDIS_URL", NULL),
				      .size = 1,
				      .timeout_ms = 2000 };
	struct st_redis *r = NULL;

	if (conf.url == NULL || st_redis_create(&conf, &r) != ST_OK)
		return NULL;
	return r;
}

/* An integer command's answer (GET of a counter: 0 when absent; TTL: -2 when absent). */
static long long
redis_int(struct st_redis *r, const char *cmd, const char *key)
{
	redisReply *reply = NULL;
	long long v = 0;

	ck_assert_int_eq(st_redis_cmd(r, &reply, "%s %s", cmd, key), ST_OK);
	if (reply->type == REDIS_REPLY_INTEGER)
		v = reply->integer;
	else if (reply->type == REDIS_REPLY_STRING)
		v = strtoll(reply->str, NULL, 10);
	freeReplyObject(reply);
	return v;
}

/* Counts the lines of a state file. */
static long long
state_lines(const char *name)
{
	char path[128], line[128];
	long long n = 0;
	FILE *f;

	state_path(name, path, sizeof(path));
	f = fopen(path, "r");
	if (f == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL)
		n++;
	fclose(f);
	return n;
}

/* Takes the failed logins counted so far back off the address counter (never below zero,
 * never making a counter that was not there; its expiry left alone), and forgets them. The
 * tests that fail logins call it at their end, the teardown for those that stopped early. */
static void
failures_take_back(void)
{
	static const char script[] = "local v = tonumber(redis.call('GET', KEYS[1])) "
				     "if v == nil then return 0 end "
				     "if v > tonumber(ARGV[1]) then "
				     "return redis.call('DECRBY', KEYS[1], ARGV[1]) end "
				     "redis.call('DEL', KEYS[1]) return 0";
	long long n = state_lines("failures");
	struct st_redis *redis;
	redisReply *reply = NULL;

	if (n == 0 || (redis = redis_open()) == NULL)
		return;
	if (st_redis_cmd(redis, &reply, "EVAL %s 1 %s %lld", script, "auth:fail:ip:" CLIENT_ADDR,
			 n) == ST_OK) {
		char path[128];

		state_path("failures", path, sizeof(path));
		unlink(path);
	}
	if (reply != NULL)
		freeReplyObject(reply);
	st_redis_destroy(redis);
}

static void
pair_from(const struct it_resp *r, struct pair *p)
{
	cJSON *doc = json_of(r);
	const cJSON *exp = cJSON_GetObjectItemCaseSensitive(doc, "expires_in");

	ck_assert_str_eq(jstr(doc, "token_type"), "Bearer");
	ck_assert_msg(cJSON_IsNumber(exp) && exp->valueint > 0, "expires_in: %s", r->body);
	p->expires_in = exp->valueint;
	ck_assert(st_strlcpy(p->access, jstr(doc, "access_token"), sizeof(p->access)));
	ck_assert(st_strlcpy(p->refresh, jstr(doc, "refresh_token"), sizeof(p->refresh)));
	ck_assert(strchr(p->access, '.') != NULL);
	ck_assert_uint_ge(strlen(p->refresh), 20);
	keep_secret("access", p->access);
	keep_secret("refresh", p->refresh);
	cJSON_Delete(doc);
}

/* Logs in; returns the status, with the pair filled on 200 (p may be NULL). */
static long
login(const char *email, const char *password, struct pair *p)
{
	char body[512];
	struct it_resp r;
	long status;

	snprintf(body, sizeof(body), "{\"email\":\"%s\",\"password\":\"%s\"}", email, password);
	status = api("POST", "/api/v1/auth/login", NULL, NULL, body, &r);
	if (status == 200 && p != NULL)
		pair_from(&r, p);
	if (status == 401) {
		failed_login_counted();
		ck_assert(is_problem(&r));
		ck_assert_ptr_nonnull(strstr(r.body, "invalid email or password"));
	}
	it_resp_cleanup(&r);
	return status;
}

static void
login_ok(const struct account *a, struct pair *p)
{
	long status = login(a->email, a->password, p);

	ck_assert_msg(status == 200, "login %s: HTTP %ld", a->email, status);
}

/* Refreshes; returns the status, with the new pair on 200 (p may be NULL). A refusal must be a
 * problem. */
static long
refresh(const char *token, struct pair *p)
{
	char body[512];
	struct it_resp r;
	long status;

	snprintf(body, sizeof(body), "{\"refresh_token\":\"%s\"}", token);
	status = api("POST", "/api/v1/auth/refresh", NULL, NULL, body, &r);
	if (status == 200 && p != NULL)
		pair_from(&r, p);
	if (status != 200)
		ck_assert_msg(is_problem(&r), "refresh: HTTP %ld without a problem", status);
	it_resp_cleanup(&r);
	return status;
}

/* GET /api/v1/auth/me with a token or a key: the status, with the account in *out (may be
 * NULL; the caller deletes it). */
static long
me(const char *bearer, const char *apikey, cJSON **out)
{
	struct it_resp r;
	long status = api("GET", "/api/v1/auth/me", bearer, apikey, NULL, &r);

	if (out != NULL)
		*out = status == 200 ? json_of(&r) : NULL;
	it_resp_cleanup(&r);
	return status;
}

/* ---- 1. API keys and scopes ---- */

struct apikey {
	char id[40];
	char key[128];
};

static void
apikey_make(const struct pair *owner, const char *permissions, struct apikey *k)
{
	char body[256], prefix[32];
	struct it_resp r;
	cJSON *doc;
	long status;

	snprintf(body, sizeof(body), "{\"name\":\"it flows\",\"permissions\":%s}", permissions);
	status = api("POST", "/api/v1/api-keys", owner->access, NULL, body, &r);
	ck_assert_msg(status == 201, "create key: HTTP %ld %s", status, r.body);
	doc = json_of(&r);
	ck_assert(st_strlcpy(k->id, jstr(doc, "id"), sizeof(k->id)));
	ck_assert(st_strlcpy(k->key, jstr(doc, "key"), sizeof(k->key)));
	ck_assert(st_strlcpy(prefix, jstr(doc, "prefix"), sizeof(prefix)));
	ck_assert_int_eq(strncmp(k->key, "stk_", 4), 0);
	keep_secret("apikey", k->key);
	/* the secret part alone, should a log cut the key after its prefix */
	ck_assert_uint_gt(strlen(k->key), 4 + strlen(prefix) + 1 + 12);
	keep_secret("apikey-secret", k->key + 4 + strlen(prefix) + 1);
	cJSON_Delete(doc);
	it_resp_cleanup(&r);
}

static void
apikey_delete(const struct pair *owner, const struct apikey *k)
{
	char path[128];
	struct it_resp r;
	long status;

	snprintf(path, sizeof(path), "/api/v1/api-keys/%s", k->id);
	status = api("DELETE", path, owner->access, NULL, NULL, &r);
	ck_assert_msg(status == 204, "delete key: HTTP %ld %s", status, r.body);
	it_resp_cleanup(&r);
}

START_TEST(read_key_is_refused_on_write_and_revoked_keys_stop)
{
	struct account u;
	struct pair p;
	struct apikey k, early;
	struct it_resp r;
	cJSON *doc;
	long status;

	account_make(&u, "key");
	login_ok(&u, &p);
	apikey_make(&p, "[\"read\"]", &k);

	/* works on read routes: the caller's account (as the key's owner) ... */
	ck_assert_int_eq(me(NULL, k.key, &doc), 200);
	ck_assert_str_eq(jstr(doc, "id"), u.id);
	cJSON_Delete(doc);
	/* ... and a route that needs `read` passes the gateway (ingest answers what it has) */
	status = api("GET", "/api/v1/projects", NULL, k.key, NULL, &r);
	ck_assert_msg(status != 0 && status != 401 && status != 403 && status < 500,
		      "GET /api/v1/projects with a read key: HTTP %ld %s", status, r.body);
	it_resp_cleanup(&r);

	/* refused where `write` is needed, with a problem naming the scope */
	status = api("POST", "/api/v1/projects", NULL, k.key, "{\"name\":\"it-flows\"}", &r);
	expect_problem("POST with a read key", status, &r, 403, "missing scope: write");
	status = api("DELETE", "/api/v1/projects/it-flows", NULL, k.key, NULL, &r);
	expect_problem("DELETE with a read key", status, &r, 403, "write");
	/* and keys are managed with a user's token only */
	status = api("POST", "/api/v1/api-keys", NULL, k.key,
		     "{\"name\":\"x\",\"permissions\":[\"read\"]}", &r);
	expect_problem("a key making keys", status, &r, 403, "user's access token");

	/* a key revoked before its first use is refused at once */
	apikey_make(&p, "[\"read\"]", &early);
	apikey_delete(&p, &early);
	status = api("GET", "/api/v1/auth/me", NULL, early.key, NULL, &r);
	expect_problem("a revoked key", status, &r, 401, "unknown API key");

	/* the used one: revoked now, refused once the gateway's cached answer runs out (the
	 * fifth test waits for it) */
	apikey_delete(&p, &k);
	state_add("revoked", "%s %lld\n", k.key, (long long)st_now_wall_ms());
}
END_TEST

/* ---- 2. the whole flow ---- */

START_TEST(login_refresh_reuse_logout_and_account_changes)
{
	struct account u;
	struct pair p1, p2, p3, p4, p5;
	char body[512], new_pw[64], wrong_pw[64];
	struct it_resp r;
	cJSON *doc;
	long status;

	account_make(&u, "flow");
	login_ok(&u, &p1);
	ck_assert_int_eq(me(p1.access, NULL, &doc), 200);
	ck_assert_str_eq(jstr(doc, "id"), u.id);
	ck_assert_str_eq(jstr(doc, "email"), u.email);
	ck_assert(jarray_has(doc, "scopes", "read") && jarray_has(doc, "scopes", "write"));
	cJSON_Delete(doc);

	/* rotation: a new pair, and the new access token works */
	ck_assert_int_eq(refresh(p1.refresh, &p2), 200);
	ck_assert_str_ne(p1.refresh, p2.refresh);
	ck_assert_str_ne(p1.access, p2.access);
	ck_assert_int_eq(me(p2.access, NULL, NULL), 200);

	/* reuse: the used token again is refused and kills its family, the newest one included */
	ck_assert_int_eq(refresh(p1.refresh, NULL), 401);
	ck_assert_int_eq(refresh(p2.refresh, NULL), 401);
	ck_assert_int_eq(refresh("not-a-refresh-token-at-all", NULL), 401);

	/* logout: the family revoked, the access token denylisted at the gateway */
	login_ok(&u, &p3);
	ck_assert_int_eq(refresh(p3.refresh, &p4), 200);
	ck_assert_int_eq(me(p4.access, NULL, NULL), 200); /* now in the gateway's token cache */
	snprintf(body, sizeof(body), "{\"refresh_token\":\"%s\"}", p4.refresh);
	status = api("POST", "/api/v1/auth/logout", p4.access, NULL, body, &r);
	ck_assert_msg(status == 204, "logout: HTTP %ld %s", status, r.body);
	it_resp_cleanup(&r);
	status = api("GET", "/api/v1/auth/me", p4.access, NULL, NULL, &r);
	expect_problem("the access token after logout", status, &r, 401, "token revoked");
	ck_assert_int_eq(refresh(p4.refresh, NULL), 401);
	ck_assert_int_eq(refresh(p3.refresh, NULL), 401);

	/* the account: the name, then the password, which needs the current one */
	login_ok(&u, &p5);
	status = api("PATCH", "/api/v1/auth/me", p5.access, NULL, "{\"name\":\"Flows Renamed\"}",
		     &r);
	ck_assert_msg(status == 200, "PATCH name: HTTP %ld %s", status, r.body);
	it_resp_cleanup(&r);
	ck_assert_int_eq(me(p5.access, NULL, &doc), 200);
	ck_assert_str_eq(jstr(doc, "name"), "Flows Renamed");
	cJSON_Delete(doc);

	new_password(new_pw, sizeof(new_pw));
	new_password(wrong_pw, sizeof(wrong_pw));
	snprintf(body, sizeof(body), "{\"password\":\"%s\"}", new_pw);
	status = api("PATCH", "/api/v1/auth/me", p5.access, NULL, body, &r);
	expect_problem("no current password", status, &r, 400, "\"field\":\"current_password\"");
	snprintf(body, sizeof(body), "{\"password\":\"%s\",\"current_password\":\"%s\"}", new_pw,
		 wrong_pw);
	status = api("PATCH", "/api/v1/auth/me", p5.access, NULL, body, &r);
	if (status == 400)
		failed_login_counted();
	expect_problem("a wrong current password", status, &r, 400,
		       "\"field\":\"current_password\"");
	snprintf(body, sizeof(body), "{\"password\":\"%s\",\"current_password\":\"%s\"}", new_pw,
		 u.password);
	status = api("PATCH", "/api/v1/auth/me", p5.access, NULL, body, &r);
	ck_assert_msg(status == 200, "password change: HTTP %ld %s", status, r.body);
	ck_assert_ptr_null(strstr(r.body, new_pw));
	it_resp_cleanup(&r);
	ck_assert_int_eq(login(u.email, u.password, NULL), 401);
	ck_assert_int_eq(login(u.email, new_pw, NULL), 200);
	failures_take_back();
}
END_TEST

/* ---- 3. the lockout ---- */

START_TEST(lockout_after_repeated_failures)
{
	long max = strtol(it_env("AUTH_LOCKOUT_MAX", "5"), NULL, 10);
	long addr_max = strtol(it_env("AUTH_LOCKOUT_ADDR_MAX", "20"), NULL, 10);
	struct st_redis *redis = redis_open();
	struct account victim, bystander;
	char body[512], retry[16], wrong[64];
	struct it_resp r;
	long long before, after;
	long status, secs;

	ck_assert_msg(redis != NULL, "REDIS_URL must reach Redis");
	account_make(&victim, "lock");
	account_make(&bystander, "bystander");
	/* this test must not be the one that locks 127.0.0.1 out for everybody */
	ck_assert_msg(redis_int(redis, "TTL", "auth:lock:ip:" CLIENT_ADDR) == -2,
		      CLIENT_ADDR " is locked out already (by another run)");
	before = redis_int(redis, "GET", "auth:fail:ip:" CLIENT_ADDR);
	ck_assert_msg(before + max < addr_max,
		      "%lld failed logins from " CLIENT_ADDR " this hour: %ld more would block the "
		      "address (AUTH_LOCKOUT_ADDR_MAX %ld)",
		      before, max, addr_max);

	for (long i = 0; i < max; i++) {
		new_password(wrong, sizeof(wrong));
		ck_assert_int_eq(login(victim.email, wrong, NULL), 401);
	}
	/* blocked now, even with the right password */
	snprintf(body, sizeof(body), "{\"email\":\"%s\",\"password\":\"%s\"}", victim.email,
		 victim.password);
	status = api("POST", "/api/v1/auth/login", NULL, NULL, body, &r);
	ck_assert_msg(status == 429 && !rate_limited(&r), "locked login: HTTP %ld %s", status,
		      r.body);
	ck_assert(it_resp_header(&r, "Retry-After", retry, sizeof(retry)));
	secs = strtol(retry, NULL, 10);
	ck_assert_msg(secs >= 1 && secs <= 60, "Retry-After %s", retry);
	ck_assert_ptr_nonnull(strstr(r.body, "/problems/too-many-requests"));
	expect_problem("locked login", status, &r, 429, "too many failed logins");

	/* the failures counted against the real client's address, which nginx passed on ... */
	after = redis_int(redis, "GET", "auth:fail:ip:" CLIENT_ADDR);
	ck_assert_msg(after >= before + max, "the address counter went from %lld to %lld", before,
		      after);
	/* ... and the account is locked for this address, not the address for every account */
	login_ok(&bystander, NULL);
	st_redis_destroy(redis);
	failures_take_back();
}
END_TEST

/* ---- 4. an independent verifier ---- */

/*
 * verify.sh DIR: decodes DIR/token (a compact JWS) into header.json and payload.json; then,
 * when DIR/n and DIR/e (a JWK's base64url members) are there, rebuilds the RSA public key from
 * them and checks the RS256 signature, all with the openssl command line. Exit 0: verified.
 */
static const char verify_sh[] =
	"set -eu\n"
	"d=\"$1\"\n"
	"dec() {\n"
	"\ts=$(tr -d '\\n' <\"$1\" | tr '_-' '/+')\n"
	"\tcase $((${#s} % 4)) in 2) s=\"$s==\" ;; 3) s=\"$s=\" ;; esac\n"
	"\tprintf '%s' \"$s\" | openssl base64 -d -A\n"
	"}\n"
	"cut -d. -f1 <\"$d/token\" >\"$d/h.b64\"\n"
	"cut -d. -f2 <\"$d/token\" >\"$d/p.b64\"\n"
	"cut -d. -f3 <\"$d/token\" >\"$d/s.b64\"\n"
	"dec \"$d/h.b64\" >\"$d/header.json\"\n"
	"dec \"$d/p.b64\" >\"$d/payload.json\"\n"
	"[ -s \"$d/n\" ] || exit 0\n"
	"dec \"$d/s.b64\" >\"$d/sig.bin\"\n"
	"cut -d. -f1,2 <\"$d/token\" | tr -d '\\n' >\"$d/signed\"\n"
	"n=$(dec \"$d/n\" | od -An -v -tx1 | tr -d ' \\n')\n"
	"e=$(dec \"$d/e\" | od -An -v -tx1 | tr -d ' \\n')\n"
	"printf 'asn1=SEQUENCE:k\\n[k]\\nn=INTEGER:0x%s\\ne=INTEGER:0x%s\\n' \"$n\" \"$e\" "
	">\"$d/key.conf\"\n"
	"openssl asn1parse -genconf \"$d/key.conf\" -out \"$d/key.der\" -noout\n"
	"openssl rsa -RSAPublicKey_in -inform DER -in \"$d/key.der\" -pubout -out "
	"\"$d/key.pem\" 2>/dev/null\n"
	"openssl dgst -sha256 -verify \"$d/key.pem\" -signature \"$d/sig.bin\" \"$d/signed\"\n";

static void
write_file(const char *dir, const char *name, const char *text)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	ck_assert_msg(f != NULL, "cannot write %s", path);
	ck_assert_int_eq(fputs(text, f) >= 0, 1);
	ck_assert_int_eq(fclose(f), 0);
}

static cJSON *
read_json(const char *dir, const char *name)
{
	char path[256], buf[8192];
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "r");
	ck_assert_msg(f != NULL, "no %s", path);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	return cJSON_Parse(buf);
}

static int
openssl_verify(const char *dir, const char *token)
{
	write_file(dir, "token", token);
	return it_sh("sh '%s/verify.sh' '%s' >'%s/out' 2>&1", dir, dir, dir);
}

START_TEST(token_verifies_with_the_published_jwks_independently)
{
	struct account u;
	struct pair p;
	struct it_resp r;
	char dir[128], issuer[256], jwks_uri[512], tampered[4096];
	cJSON *conf, *jwks, *header, *payload, *jwk, *found = NULL;
	const char *kid, *dot;
	long long now = (long long)time(NULL);
	double exp, iat;

	ck_assert_int_eq(it_sh("command -v openssl >/dev/null"), 0);
	/* discovery through nginx, and the JWKS where it points */
	ck_assert_int_eq(api("GET", "/.well-known/openid-configuration", NULL, NULL, NULL, &r),
			 200);
	conf = json_of(&r);
	ck_assert(st_strlcpy(issuer, jstr(conf, "issuer"), sizeof(issuer)));
	ck_assert(st_strlcpy(jwks_uri, jstr(conf, "jwks_uri"), sizeof(jwks_uri)));
	ck_assert_msg(strncmp(jwks_uri, issuer, strlen(issuer)) == 0, "%s is not under %s",
		      jwks_uri, issuer);
	cJSON_Delete(conf);
	it_resp_cleanup(&r);
	ck_assert_int_eq(it_http("GET", jwks_uri, NULL, NULL, &r), 200);
	jwks = json_of(&r);
	it_resp_cleanup(&r);

	account_make(&u, "jwks");
	login_ok(&u, &p);

	/* the header, decoded by the shell: the kid names a published key */
	snprintf(dir, sizeof(dir), "%s/jws", S.dir);
	ck_assert_int_eq(mkdir(dir, 0700), 0);
	write_file(dir, "verify.sh", verify_sh);
	ck_assert_int_eq(openssl_verify(dir, p.access), 0);
	header = read_json(dir, "header.json");
	ck_assert_ptr_nonnull(header);
	ck_assert_str_eq(jstr(header, "alg"), "RS256");
	kid = jstr(header, "kid");
	cJSON_ArrayForEach(jwk, cJSON_GetObjectItem(jwks, "keys"))
	{
		if (strcmp(jstr(jwk, "kid"), kid) == 0)
			found = jwk;
	}
	ck_assert_msg(found != NULL, "kid %s is not in %s", kid, jwks_uri);
	ck_assert_str_eq(jstr(found, "kty"), "RSA");

	/* the signature, with the key from n and e */
	write_file(dir, "n", jstr(found, "n"));
	write_file(dir, "e", jstr(found, "e"));
	ck_assert_msg(openssl_verify(dir, p.access) == 0,
		      "openssl did not verify the token (%s/out)", dir);
	/* and the verifier can say no: one character of the payload changed */
	ck_assert(st_strlcpy(tampered, p.access, sizeof(tampered)));
	dot = strchr(tampered, '.');
	tampered[dot - tampered + 5] = tampered[dot - tampered + 5] == 'A' ? 'B' : 'A';
	ck_assert_int_ne(openssl_verify(dir, tampered), 0);

	/* the claims a stock verifier checks, against the discovery document */
	ck_assert_int_eq(openssl_verify(dir, p.access), 0);
	payload = read_json(dir, "payload.json");
	ck_assert_ptr_nonnull(payload);
	ck_assert_str_eq(jstr(payload, "iss"), issuer);
	ck_assert_str_eq(jstr(payload, "aud"), it_env("GATEWAY_JWT_AUDIENCE", "strata"));
	ck_assert_str_eq(jstr(payload, "sub"), u.id);
	ck_assert_uint_gt(strlen(jstr(payload, "jti")), 8);
	ck_assert_ptr_nonnull(strstr(jstr(payload, "scope"), "read"));
	exp = cJSON_GetNumberValue(cJSON_GetObjectItem(payload, "exp"));
	iat = cJSON_GetNumberValue(cJSON_GetObjectItem(payload, "iat"));
	ck_assert_msg((long long)(exp - iat) == p.expires_in, "exp - iat %.0f, expires_in %ld",
		      exp - iat, p.expires_in);
	ck_assert_msg(iat <= (double)now + 5 && exp > (double)now, "iat %.0f exp %.0f now %lld",
		      iat, exp, now);
	cJSON_Delete(payload);
	cJSON_Delete(header);
	cJSON_Delete(jwks);
	it_sh("rm -rf '%s'", dir); /* a token in files */
}
END_TEST

/* ---- 5. the revoked key, once the cache window ran out ---- */

START_TEST(revoked_key_is_refused_within_the_cache_window)
{
	char path[128], key[128];
	long long revoked_ms = 0, waited_ms;
	FILE *f;
	struct it_resp r;
	long status = 0;

	state_path("revoked", path, sizeof(path));
	f = fopen(path, "r");
	ck_assert_msg(f != NULL, "no revoked key: the first test did not get that far");
	ck_assert_int_eq(fscanf(f, "%127s %lld", key, &revoked_ms), 2);
	fclose(f);
	for (;;) {
		status = api("GET", "/api/v1/auth/me", NULL, key, NULL, &r);
		waited_ms = st_now_wall_ms() - revoked_ms;
		/* 0, 502, 503: the gateway restarting (someone's benchmark), not an answer */
		if ((status != 200 && status != 0 && status != 502 && status != 503) ||
		    waited_ms > REVOKE_LIMIT * 1000)
			break;
		it_resp_cleanup(&r);
		usleep(500 * 1000);
	}
	ck_assert_msg(status == 401, "the revoked key after %lld ms: HTTP %ld %s", waited_ms,
		      status, r.body);
	expect_problem("the revoked key", status, &r, 401, "unknown API key");
	ck_assert_int_le(waited_ms, REVOKE_LIMIT * 1000);
}
END_TEST

/* ---- 6. no secret in any log ---- */

struct needle {
	char kind[24];
	char *value;
	size_t len;
	bool found;
	char where[256];
};

/* Reads path from offset from, looking for every needle (hits[i] set for needle i). */
static void
scan_file(const char *path, off_t from, struct needle *nd, size_t n, bool *hits, long long *scanned)
{
	enum { CHUNK = 1 << 20 };
	size_t longest = 1, keep = 0;
	char *buf;
	int fd = open(path, O_RDONLY);

	if (fd < 0)
		return; /* e.g. PostgreSQL's own log, when not ours to read */
	for (size_t i = 0; i < n; i++)
		longest = nd[i].len > longest ? nd[i].len : longest;
	buf = malloc(CHUNK + longest);
	ck_assert_ptr_nonnull(buf);
	if (lseek(fd, from, SEEK_SET) == from) {
		for (;;) {
			ssize_t got = read(fd, buf + keep, CHUNK);
			size_t have;

			if (got <= 0)
				break;
			have = keep + (size_t)got;
			*scanned += got;
			for (size_t i = 0; i < n; i++)
				if (!hits[i] && memmem(buf, have, nd[i].value, nd[i].len) != NULL)
					hits[i] = true;
			/* a needle may straddle two chunks */
			keep = have < longest - 1 ? have : longest - 1;
			memmove(buf, buf + have - keep, keep);
		}
	}
	free(buf);
	close(fd);
}

/* Scans this run's part of every log; *marker_in gets the logs in which needle 0 appears. */
static long long
scan_logs(struct needle *nd, size_t n, char *marker_in, size_t cap)
{
	long long scanned = 0;
	glob_t g;

	marker_in[0] = '\0';
	log_paths(&g);
	for (size_t i = 0; i < g.gl_pathc; i++) {
		const char *path = g.gl_pathv[i];
		const struct log_mark *m = NULL;
		bool hits[MAX_SECRETS + 1] = { false };
		struct stat st;
		off_t from = 0;

		if (runner_log(path) || stat(path, &st) != 0)
			continue;
		for (size_t j = 0; j < S.nlogs; j++)
			if (strcmp(S.logs[j].path, path) == 0)
				m = &S.logs[j];
		if (m != NULL && m->ino == st.st_ino) {
			from = m->size <= st.st_size ? m->size : 0;
		} else if (m != NULL) {
			/* rotated during the run (a service restarted): the rest of the old one
			 * is in <path>.1 */
			char old[600];
			struct stat ost;

			snprintf(old, sizeof(old), "%s.1", path);
			if (stat(old, &ost) == 0 && ost.st_ino == m->ino)
				scan_file(old, m->size, nd, n, hits, &scanned);
		}
		scan_file(path, from, nd, n, hits, &scanned);
		for (size_t j = 0; j < n; j++) {
			if (!hits[j])
				continue;
			nd[j].found = true;
			st_strlcpy(nd[j].where, strrchr(path, '/') + 1, sizeof(nd[j].where));
		}
		if (hits[0]) {
			size_t len = strlen(marker_in);

			snprintf(marker_in + len, cap - len, "%s%s", len > 0 ? " " : "",
				 strrchr(path, '/') + 1);
		}
	}
	if (g.gl_pathc > 0)
		globfree(&g);
	return scanned;
}

/* The needles: 0 is this run's request-id prefix (which must be found), then the secrets, and
 * the signature of each access token on its own. */
static size_t
needles_load(struct needle *nd, size_t cap)
{
	char path[128], line[4400], marker[64];
	size_t n = 1;
	FILE *f;

	snprintf(marker, sizeof(marker), "it-flows-%s-", S.run);
	st_strlcpy(nd[0].kind, "request id", sizeof(nd[0].kind));
	nd[0].value = strdup(marker);
	state_path("secrets", path, sizeof(path));
	f = fopen(path, "r");
	ck_assert_msg(f != NULL, "no secrets recorded: run the whole suite");
	while (fgets(line, sizeof(line), f) != NULL) {
		char *sp = strchr(line, ' '), *nl = strchr(line, '\n');

		ck_assert_msg(n + 2 <= cap, "more than %zu secrets: raise MAX_SECRETS", cap);
		ck_assert(sp != NULL && nl != NULL);
		*sp = *nl = '\0';
		st_strlcpy(nd[n].kind, line, sizeof(nd[n].kind));
		nd[n++].value = strdup(sp + 1);
		if (strcmp(line, "access") == 0) {
			st_strlcpy(nd[n].kind, "access signature", sizeof(nd[n].kind));
			nd[n++].value = strdup(strrchr(sp + 1, '.') + 1);
		}
	}
	fclose(f);
	for (size_t i = 0; i < n; i++)
		nd[i].len = strlen(nd[i].value);
	return n;
}

static size_t
count_kind(const struct needle *nd, size_t n, const char *kind)
{
	size_t c = 0;

	for (size_t i = 0; i < n; i++)
		c += strcmp(nd[i].kind, kind) == 0;
	return c;
}

START_TEST(no_secret_in_any_log)
{
	struct needle nd[MAX_SECRETS + 1];
	char marker_in[1024];
	const char *level = it_env("LOG_LEVEL", "info");
	long long scanned = 0;
	size_t n;

	memset(nd, 0, sizeof(nd));
	n = needles_load(nd, ST_ARRAY_LEN(nd));
	ck_assert_uint_ge(count_kind(nd, n, "password"), 5);
	ck_assert_uint_ge(count_kind(nd, n, "access"), 5);
	ck_assert_uint_ge(count_kind(nd, n, "refresh"), 5);
	ck_assert_uint_ge(count_kind(nd, n, "apikey"), 2);

	/* nginx writes its access log buffered, flushed every second */
	sleep(2);
	scanned = scan_logs(nd, n, marker_in, sizeof(marker_in));
	/* the run was logged at all, where it must have been: by nginx (when the API is nginx),
	 * and by the gateway or auth (their access lines, or the gateway's refusals at info) */
	ck_assert_msg(scanned > 0, "no log under %s grew during the run", log_dir());
	ck_assert_msg(marker_in[0] != '\0', "this run's request ids are in no log under %s",
		      log_dir());
	if (strcmp(it_api_url(), it_nginx_url()) == 0)
		ck_assert_msg(strstr(marker_in, "nginx-access.log") != NULL,
			      "this run's requests are not in nginx's access log (seen in: %s)",
			      marker_in);
	if (strcmp(level, "debug") == 0 || strcmp(level, "info") == 0)
		ck_assert_msg(
			strstr(marker_in, "gateway.log") != NULL ||
				strstr(marker_in, "auth.log") != NULL,
			"this run's requests are in neither gateway.log nor auth.log (seen in: "
			"%s)",
			marker_in);
	/* and none of its secrets (named by kind and log, never printed) */
	for (size_t i = 1; i < n; i++)
		ck_assert_msg(!nd[i].found, "a %s of this run is in %s", nd[i].kind, nd[i].where);
	for (size_t i = 0; i < n; i++)
		free(nd[i].value);
}
END_TEST

/* ---- the fixture, run by the runner itself around the test case ---- */

static void
flows_setup(void)
{
	unsigned char b[8];

	memset(&S, 0, sizeof(S));
	st_random_bytes(b, sizeof(b));
	st_hex_encode(b, sizeof(b), S.run, sizeof(S.run));
	snprintf(S.dir, sizeof(S.dir), "/tmp/strata-it-flows-XXXXXX");
	if (mkdtemp(S.dir) == NULL)
		S.dir[0] = '\0';
	logs_mark();
}

/* Deletes the run's accounts, as an administrator, at auth itself (their keys and tokens go
 * with them). */
static void
users_delete(void)
{
	char path[128], id[64], principal[700], url[512];
	const char *headers[] = { principal, NULL };
	FILE *f;

	state_path("users", path, sizeof(path));
	f = fopen(path, "r");
	if (f == NULL)
		return;
	while (fscanf(f, "%63s", id) == 1) {
		struct it_resp r;

		snprintf(url, sizeof(url), "%s/api/v1/users/%s", it_service_url("auth"), id);
		it_principal_header("DELETE", url, "user", "it-flows-admin", ST_SCOPE_ALL,
				    principal, sizeof(principal));
		it_http("DELETE", url, headers, NULL, &r);
		it_resp_cleanup(&r);
	}
	fclose(f);
}

static void
flows_teardown(void)
{
	if (S.dir[0] == '\0')
		return;
	failures_take_back();
	users_delete();
	it_sh("rm -rf '%s'", S.dir);
}

Suite *
front_door_flows_suite(void)
{
	Suite *s = suite_create("front_door_flows");
	TCase *tc = tcase_create("flows");

	/* mostly the wait for the revoked key's cache window */
	tcase_set_timeout(tc, 120);
	tcase_add_unchecked_fixture(tc, flows_setup, flows_teardown);
	/* in this order: the first starts the key's cache window, the last reads the logs */
	tcase_add_test(tc, read_key_is_refused_on_write_and_revoked_keys_stop);
	tcase_add_test(tc, login_refresh_reuse_logout_and_account_changes);
	tcase_add_test(tc, lockout_after_repeated_failures);
	tcase_add_test(tc, token_verifies_with_the_published_jwks_independently);
	tcase_add_test(tc, revoked_key_is_refused_within_the_cache_window);
	tcase_add_test(tc, no_secret_in_any_log);
	suite_add_tcase(s, tc);
	return s;
}
