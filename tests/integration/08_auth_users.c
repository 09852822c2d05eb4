/*
 * The auth service's identity half, called directly with signed principals as the gateway
 * would: registration (a taken email in any case is 409, a weak password 400 naming the
 * field), login (one 401 message for an unknown email and a wrong password; a disabled
 * account too), the lockout (429 with Retry-After after AUTH_LOCKOUT_MAX failures, for that
 * (account, address) pair only, and for an address guessing at many accounts), the caller's
 * own account, the administrator's list, changes and deletion, the audit rows the logins
 * leave in auth.audit_log, and the one answer to a failed database call (503, Retry-After 2).
 *
 * Every test makes its own accounts (random emails) and sends its own made-up client address
 * in X-Real-IP, so that runs and other suites sharing the database and Redis do not meet.
 * Assumes the service's defaults: AUTH_LOCKOUT_MAX 5, AUTH_LOCKOUT_ADDR_MAX 20,
 * AUTH_ALLOW_REGISTER true.
 */
#include <check.h>
#include <cjson/cJSON.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "strata/db.h"
#include "strata/principal.h"

#define PASSWORD      "Correct-horse-9"
#define INVALID_LOGIN "invalid email or password"

/* One call to the auth service: principal (kind, sub, scopes), client address (may be NULL),
 * a JSON body (may be NULL). Fills r; returns the status. */
static long
call(const char *method, const char *path, const char *kind, const char *sub, unsigned scopes,
     const char *addr, const char *body, struct it_resp *r)
{
	char principal[700], real_ip[80], url[512];
	const char *hdrs[4];
	size_t n = 0;

	snprintf(url, sizeof(url), "%s%s", it_service_url("auth"), path);
	it_principal_header(method, url, kind, sub, scopes, principal, sizeof(principal));
	hdrs[n++] = principal;
	if (addr != NULL) {
		snprintf(real_ip, sizeof(real_ip), "X-Real-IP: %s", addr);
		hdrs[n++] = real_ip;
	}
	if (body != NULL)
		hdrs[n++] = "Content-Type: application/json";
	hdrs[n] = NULL;
	return it_http(method, url, hdrs, body, r);
}

static long
anon(const char *method, const char *path, const char *addr, const char *body, struct it_resp *r)
{
	return call(method, path, "anonymous", "anonymous", 0, addr, body, r);
}

static void
random_addr(char *buf, size_t cap)
{
	snprintf(buf, cap, "10.%d.%d.%d", rand() % 250 + 1, rand() % 250 + 1, rand() % 250 + 1);
}

static void
random_email(char *buf, size_t cap)
{
	snprintf(buf, cap, "it-users-%d-%08x@example.test", (int)getpid(), (unsigned)rand());
}

static void
seed(void)
{
	srand((unsigned)getpid() ^ (unsigned)st_now_wall_ms());
}

/* A string member of a parsed body, or "" (never NULL). */
static const char *
jstr(const cJSON *doc, const char *name)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(doc, name);

	return cJSON_IsString(it) ? it->valuestring : "";
}

/* Registers email with password; returns the new id in id (>= 40 bytes). */
static void
register_user(const char *email, const char *password, char *id, size_t cap)
{
	char body[512], location[128], want[128];
	struct it_resp r;
	cJSON *doc;

	snprintf(body, sizeof(body), "{\"email\":\"%s\",\"password\":\"%s\",\"name\":\"It\"}",
		 email, password);
	ck_assert_int_eq(anon("POST", "/api/v1/auth/register", NULL, body, &r), 201);
	doc = cJSON_Parse(r.body);
	ck_assert_ptr_nonnull(doc);
	st_strlcpy(id, jstr(doc, "id"), cap);
	ck_assert_int_eq((int)strlen(id), 36);
	ck_assert(it_resp_header(&r, "Location", location, sizeof(location)));
	snprintf(want, sizeof(want), "/api/v1/users/%s", id);
	ck_assert_str_eq(location, want);
	cJSON_Delete(doc);
	it_resp_cleanup(&r);
}

/* Logs in from addr; returns the status and, when wanted, the body in r (else cleaned). */
static long
login(const char *email, const char *password, const char *addr, struct it_resp *out)
{
	char body[512];
	struct it_resp r;
	long status;

	snprintf(body, sizeof(body), "{\"email\":\"%s\",\"password\":\"%s\"}", email, password);
	status = anon("POST", "/api/v1/auth/login", addr, body, &r);
	if (out != NULL)
		*out = r;
	else
		it_resp_cleanup(&r);
	return status;
}

/* Deletes a user as an administrator (cleanup). */
static void
delete_user(const char *id)
{
	char path[128];
	struct it_resp r;

	snprintf(path, sizeof(path), "/api/v1/users/%s", id);
	call("DELETE", path, "user", "it-admin", ST_SCOPE_ALL, NULL, NULL, &r);
	it_resp_cleanup(&r);
}

START_TEST(register_answers_the_user_without_its_hash)
{
	char email[128], upper[128], id[40], body[512];
	struct it_resp r;
	cJSON *doc, *roles;

	seed();
	random_email(email, sizeof(email));
	snprintf(body, sizeof(body), "{\"email\":\"%s\",\"password\":\"%s\",\"name\":\"Ada\"}",
		 email, PASSWORD);
	ck_assert_int_eq(anon("POST", "/api/v1/auth/register", NULL, body, &r), 201);
	doc = cJSON_Parse(r.body);
	ck_assert_ptr_nonnull(doc);
	st_strlcpy(id, jstr(doc, "id"), sizeof(id));
	ck_assert_str_eq(jstr(doc, "email"), email);
	ck_assert_str_eq(jstr(doc, "name"), "Ada");
	roles = cJSON_GetObjectItem(doc, "roles");
	ck_assert_int_eq(cJSON_GetArraySize(roles), 1);
	ck_assert_str_eq(cJSON_GetArrayItem(roles, 0)->valuestring, "researcher");
	ck_assert(cJSON_IsFalse(cJSON_GetObjectItem(doc, "disabled")));
	ck_assert_ptr_null(strstr(r.body, "argon2"));
	ck_assert_ptr_null(strstr(r.body, "password"));
	ck_assert_int_eq((int)strlen(jstr(doc, "created_at")), 24);
	cJSON_Delete(doc);
	it_resp_cleanup(&r);

	/* the same address in another case is taken */
	for (size_t i = 0; email[i] != '\0'; i++)
		upper[i] = (email[i] >= 'a' && email[i] <= 'z') ? (char)(email[i] - 32) : email[i];
	upper[strlen(email)] = '\0';
	snprintf(body, sizeof(body), "{\"email\":\"%s\",\"password\":\"%s\"}", upper, PASSWORD);
	ck_assert_int_eq(anon("POST", "/api/v1/auth/register", NULL, body, &r), 409);
	ck_assert_ptr_nonnull(strstr(r.body, "/problems/conflict"));
	it_resp_cleanup(&r);
	delete_user(id);
}
END_TEST

START_TEST(register_refuses_a_weak_password_and_a_bad_email)
{
	static const char *const weak[] = { "short1A", "alllowercaseletters", "1234567890123" };
	char email[128], body[512];
	struct it_resp r;
	cJSON *doc, *errs;

	seed();
	random_email(email, sizeof(email));
	for (size_t i = 0; i < 3; i++) {
		snprintf(body, sizeof(body), "{\"email\":\"%s\",\"password\":\"%s\"}", email,
			 weak[i]);
		ck_assert_int_eq(anon("POST", "/api/v1/auth/register", NULL, body, &r), 400);
		doc = cJSON_Parse(r.body);
		ck_assert_ptr_nonnull(doc);
		ck_assert_str_eq(jstr(doc, "type"), "/problems/validation-error");
		errs = cJSON_GetObjectItem(doc, "errors");
		ck_assert_int_ge(cJSON_GetArraySize(errs), 1);
		ck_assert_str_eq(jstr(cJSON_GetArrayItem(errs, 0), "field"), "password");
		ck_assert_ptr_nonnull(strstr(jstr(cJSON_GetArrayItem(errs, 0), "detail"), "must"));
		cJSON_Delete(doc);
		it_resp_cleanup(&r);
	}
	snprintf(body, sizeof(body), "{\"email\":\"not-an-email\",\"password\":\"%s\"}", PASSWORD);
	ck_assert_int_eq(anon("POST", "/api/v1/auth/register", NULL, body, &r), 400);
	ck_assert_ptr_nonnull(strstr(r.body, "\"field\":\"email\""));
	it_resp_cleanup(&r);
	snprintf(body, sizeof(body), "{\"email\":\"%s\",\"password\":\"%s\",\"roles\":[\"admin\"]}",
		 email, PASSWORD);
	ck_assert_int_eq(anon("POST", "/api/v1/auth/register", NULL, body, &r), 400);
	ck_assert_ptr_nonnull(strstr(r.body, "\"field\":\"roles\""));
	it_resp_cleanup(&r);
}
END_TEST

START_TEST(login_issues_tokens)
{
	char email[128], id[40], addr[32];
	struct it_resp r;
	cJSON *doc;

	seed();
	random_email(email, sizeof(email));
	random_addr(addr, sizeof(addr));
	register_user(email, PASSWORD, id, sizeof(id));
	ck_assert_int_eq(login(email, PASSWORD, addr, &r), 200);
	doc = cJSON_Parse(r.body);
	ck_assert_ptr_nonnull(doc);
	ck_assert_str_eq(jstr(doc, "token_type"), "Bearer");
	ck_assert_int_gt((int)strlen(jstr(doc, "access_token")), 100);
	ck_assert_int_gt((int)strlen(jstr(doc, "refresh_token")), 20);
	ck_assert_int_eq(cJSON_GetObjectItem(doc, "expires_in")->valueint, 900);
	cJSON_Delete(doc);
	it_resp_cleanup(&r);
	delete_user(id);
}
END_TEST

START_TEST(wrong_password_and_unknown_email_get_the_same_answer)
{
	char email[128], other[128], id[40], addr[32];
	struct it_resp a, b;
	cJSON *da, *db;

	seed();
	random_email(email, sizeof(email));
	random_email(other, sizeof(other));
	random_addr(addr, sizeof(addr));
	register_user(email, PASSWORD, id, sizeof(id));
	ck_assert_int_eq(login(email, "Wrong-password-1", addr, &a), 401);
	ck_assert_int_eq(login(other, "Wrong-password-1", addr, &b), 401);
	da = cJSON_Parse(a.body);
	db = cJSON_Parse(b.body);
	ck_assert_str_eq(jstr(da, "detail"), INVALID_LOGIN);
	ck_assert_str_eq(jstr(db, "detail"), INVALID_LOGIN);
	ck_assert_str_eq(jstr(da, "type"), jstr(db, "type"));
	cJSON_Delete(da);
	cJSON_Delete(db);
	it_resp_cleanup(&a);
	it_resp_cleanup(&b);
	delete_user(id);
}
END_TEST

START_TEST(lockout_blocks_the_pair_not_the_account)
{
	char email[128], id[40], addr[32], other[32], retry[16];
	struct it_resp r;

	seed();
	random_email(email, sizeof(email));
	random_addr(addr, sizeof(addr));
	random_addr(other, sizeof(other));
	register_user(email, PASSWORD, id, sizeof(id));
	for (int i = 0; i < 5; i++)
		ck_assert_int_eq(login(email, "Wrong-password-1", addr, NULL), 401);
	/* blocked now, even with the right password, without looking at it */
	ck_assert_int_eq(login(email, PASSWORD, addr, &r), 429);
	ck_assert(it_resp_header(&r, "Retry-After", retry, sizeof(retry)));
	ck_assert_int_gt(strtol(retry, NULL, 10), 0);
	ck_assert_int_le(strtol(retry, NULL, 10), 60);
	ck_assert_ptr_nonnull(strstr(r.body, "/problems/too-many-requests"));
	it_resp_cleanup(&r);
	/* the owner, elsewhere, is not locked out */
	ck_assert_int_eq(login(email, "Wrong-password-1", other, NULL), 401);
	ck_assert_int_eq(login(email, PASSWORD, other, NULL), 200);
	delete_user(id);
}
END_TEST

START_TEST(lockout_blocks_an_address_guessing_at_many_accounts)
{
	char email[128], id[40], addr[32], other[32], guess[128], retry[16];
	struct it_resp r;

	seed();
	random_email(email, sizeof(email));
	random_addr(addr, sizeof(addr));
	random_addr(other, sizeof(other));
	register_user(email, PASSWORD, id, sizeof(id));
	/* AUTH_LOCKOUT_ADDR_MAX (20) failures, each at another account */
	for (int i = 0; i < 20; i++) {
		random_email(guess, sizeof(guess));
		ck_assert_int_eq(login(guess, "Wrong-password-1", addr, NULL), 401);
	}
	ck_assert_int_eq(login(email, PASSWORD, addr, &r), 429);
	ck_assert(it_resp_header(&r, "Retry-After", retry, sizeof(retry)));
	ck_assert_int_gt(strtol(retry, NULL, 10), 0);
	it_resp_cleanup(&r);
	ck_assert_int_eq(login(email, PASSWORD, other, NULL), 200);
	delete_user(id);
}
END_TEST

START_TEST(disabled_user_cannot_log_in)
{
	char email[128], id[40], addr[32], path[128];
	struct it_resp r;

	seed();
	random_email(email, sizeof(email));
	random_addr(addr, sizeof(addr));
	register_user(email, PASSWORD, id, sizeof(id));
	snprintf(path, sizeof(path), "/api/v1/users/%s", id);
	ck_assert_int_eq(call("PATCH", path, "user", "it-admin", ST_SCOPE_ALL, NULL,
			      "{\"disabled\":true}", &r),
			 200);
	ck_assert_ptr_nonnull(strstr(r.body, "\"disabled\":true"));
	it_resp_cleanup(&r);
	ck_assert_int_eq(login(email, PASSWORD, addr, &r), 401);
	ck_assert_ptr_nonnull(strstr(r.body, INVALID_LOGIN));
	it_resp_cleanup(&r);
	ck_assert_int_eq(call("PATCH", path, "user", "it-admin", ST_SCOPE_ALL, NULL,
			      "{\"disabled\":false}", &r),
			 200);
	it_resp_cleanup(&r);
	ck_assert_int_eq(login(email, PASSWORD, addr, NULL), 200);
	delete_user(id);
}
END_TEST

START_TEST(me_reads_and_changes_the_callers_account)
{
	char email[128], id[40], addr[32], body[512], refresh[256];
	struct it_resp r;
	cJSON *doc;

	seed();
	random_email(email, sizeof(email));
	random_addr(addr, sizeof(addr));
	register_user(email, PASSWORD, id, sizeof(id));
	ck_assert_int_eq(anon("GET", "/api/v1/auth/me", addr, NULL, &r), 401);
	it_resp_cleanup(&r);

	ck_assert_int_eq(call("GET", "/api/v1/auth/me", "user", id, ST_SCOPE_READ, addr, NULL, &r),
			 200);
	doc = cJSON_Parse(r.body);
	ck_assert_str_eq(jstr(doc, "id"), id);
	ck_assert_str_eq(jstr(doc, "email"), email);
	ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(doc, "scopes")),
			 4); /* read, write, dashboard, ingest */
	cJSON_Delete(doc);
	it_resp_cleanup(&r);

	ck_assert_int_eq(call("PATCH", "/api/v1/auth/me", "user", id, ST_SCOPE_READ, addr,
			      "{\"name\":\"Grace\"}", &r),
			 200);
	ck_assert_ptr_nonnull(strstr(r.body, "\"name\":\"Grace\""));
	it_resp_cleanup(&r);

	/* a password change needs the current one, right */
	ck_assert_int_eq(call("PATCH", "/api/v1/auth/me", "user", id, ST_SCOPE_READ, addr,
			      "{\"password\":\"New-password-42\"}", &r),
			 400);
	ck_assert_ptr_nonnull(strstr(r.body, "\"field\":\"current_password\""));
	it_resp_cleanup(&r);
	ck_assert_int_eq(call("PATCH", "/api/v1/auth/me", "user", id, ST_SCOPE_READ, addr,
			      "{\"password\":\"New-password-42\",\"current_password\":\"nope-"
			      "nope-1\"}",
			      &r),
			 400);
	ck_assert_ptr_nonnull(strstr(r.body, "\"field\":\"current_password\""));
	it_resp_cleanup(&r);

	/* a refresh token from before the change stops working after it */
	ck_assert_int_eq(login(email, PASSWORD, addr, &r), 200);
	doc = cJSON_Parse(r.body);
	st_strlcpy(refresh, jstr(doc, "refresh_token"), sizeof(refresh));
	cJSON_Delete(doc);
	it_resp_cleanup(&r);
	snprintf(body, sizeof(body),
		 "{\"password\":\"New-password-42\",\"current_password\":\"%s\"}", PASSWORD);
	ck_assert_int_eq(
		call("PATCH", "/api/v1/auth/me", "user", id, ST_SCOPE_READ, addr, body, &r), 200);
	it_resp_cleanup(&r);
	snprintf(body, sizeof(body), "{\"refresh_token\":\"%s\"}", refresh);
	ck_assert_int_eq(anon("POST", "/api/v1/auth/refresh", addr, body, &r), 401);
	it_resp_cleanup(&r);
	ck_assert_int_eq(login(email, PASSWORD, addr, NULL), 401);
	ck_assert_int_eq(login(email, "New-password-42", addr, NULL), 200);
	delete_user(id);
}
END_TEST

START_TEST(admin_lists_pages_with_a_cursor)
{
	char e1[128], e2[128], id1[40], id2[40], path[512], cursor[256];
	struct it_resp r;
	cJSON *doc, *items;

	seed();
	random_email(e1, sizeof(e1));
	random_email(e2, sizeof(e2));
	register_user(e1, PASSWORD, id1, sizeof(id1));
	register_user(e2, PASSWORD, id2, sizeof(id2));

	ck_assert_int_eq(
		call("GET", "/api/v1/users", "user", "it-viewer", ST_SCOPE_READ, NULL, NULL, &r),
		403);
	it_resp_cleanup(&r);
	ck_assert_int_eq(call("GET", "/api/v1/users?limit=0", "user", "it-admin", ST_SCOPE_ALL,
			      NULL, NULL, &r),
			 400);
	ck_assert_ptr_nonnull(strstr(r.body, "\"field\":\"limit\""));
	it_resp_cleanup(&r);
	ck_assert_int_eq(call("GET", "/api/v1/users?cursor=bm9wZQ", "user", "it-admin",
			      ST_SCOPE_ALL, NULL, NULL, &r),
			 400);
	it_resp_cleanup(&r);

	/* two pages of one follow each other without overlap */
	ck_assert_int_eq(call("GET", "/api/v1/users?limit=1", "user", "it-admin", ST_SCOPE_ALL,
			      NULL, NULL, &r),
			 200);
	doc = cJSON_Parse(r.body);
	items = cJSON_GetObjectItem(doc, "items");
	ck_assert_int_eq(cJSON_GetArraySize(items), 1);
	ck_assert_ptr_null(strstr(r.body, "password"));
	st_strlcpy(cursor, jstr(doc, "next_cursor"), sizeof(cursor));
	ck_assert_int_gt((int)strlen(cursor), 0);
	snprintf(path, sizeof(path), "/api/v1/users?limit=1000&cursor=%s", cursor);
	st_strlcpy(e1, jstr(cJSON_GetArrayItem(items, 0), "id"), sizeof(e1));
	cJSON_Delete(doc);
	it_resp_cleanup(&r);
	ck_assert_int_eq(call("GET", path, "user", "it-admin", ST_SCOPE_ALL, NULL, NULL, &r), 200);
	ck_assert_ptr_null(strstr(r.body, e1));
	ck_assert_ptr_nonnull(strstr(r.body, id2)); /* the newest is on a later page */
	it_resp_cleanup(&r);
	delete_user(id1);
	delete_user(id2);
}
END_TEST

START_TEST(admin_changes_roles_and_deletes)
{
	char email[128], id[40], path[128];
	struct it_resp r;

	seed();
	random_email(email, sizeof(email));
	register_user(email, PASSWORD, id, sizeof(id));
	snprintf(path, sizeof(path), "/api/v1/users/%s", id);

	ck_assert_int_eq(call("PATCH", path, "user", "it-researcher",
			      ST_SCOPE_READ | ST_SCOPE_WRITE, NULL, "{\"roles\":[\"admin\"]}", &r),
			 403);
	it_resp_cleanup(&r);
	ck_assert_int_eq(call("PATCH", path, "user", "it-admin", ST_SCOPE_ALL, NULL,
			      "{\"roles\":[\"root\"]}", &r),
			 400);
	ck_assert_ptr_nonnull(strstr(r.body, "\"field\":\"roles\""));
	it_resp_cleanup(&r);
	ck_assert_int_eq(call("PATCH", path, "user", "it-admin", ST_SCOPE_ALL, NULL,
			      "{\"roles\":[\"viewer\",\"device\"]}", &r),
			 200);
	ck_assert_ptr_nonnull(strstr(r.body, "\"roles\":[\"viewer\",\"device\"]"));
	it_resp_cleanup(&r);
	ck_assert_int_eq(call("GET", "/api/v1/auth/me", "user", id, ST_SCOPE_READ, NULL, NULL, &r),
			 200);
	ck_assert_ptr_nonnull(strstr(r.body, "\"scopes\":[\"read\",\"dashboard\",\"ingest\"]"));
	it_resp_cleanup(&r);

	/* an administrator cannot delete or demote themself */
	ck_assert_int_eq(call("DELETE", path, "user", id, ST_SCOPE_ALL, NULL, NULL, &r), 409);
	it_resp_cleanup(&r);
	ck_assert_int_eq(
		call("PATCH", path, "user", id, ST_SCOPE_ALL, NULL, "{\"roles\":[\"viewer\"]}", &r),
		409);
	it_resp_cleanup(&r);

	ck_assert_int_eq(call("DELETE", path, "user", "it-viewer", ST_SCOPE_READ, NULL, NULL, &r),
			 403);
	it_resp_cleanup(&r);
	ck_assert_int_eq(call("DELETE", path, "user", "it-admin", ST_SCOPE_ALL, NULL, NULL, &r),
			 204);
	it_resp_cleanup(&r);
	ck_assert_int_eq(call("DELETE", path, "user", "it-admin", ST_SCOPE_ALL, NULL, NULL, &r),
			 404);
	it_resp_cleanup(&r);
	ck_assert_int_eq(call("PATCH", "/api/v1/users/not-a-uuid", "user", "it-admin", ST_SCOPE_ALL,
			      NULL, "{}", &r),
			 404);
	it_resp_cleanup(&r);
}
END_TEST

/* The types recorded in auth.audit_log for subject, comma-separated, polled for up to 10 s
 * until every one of want appears. Returns true when they did. */
static bool
audit_has(const char *subject, const char *const *want, size_t n)
{
	struct st_db_conf conf = {
		.url = it_env("DATABASE_URL", ""),
		.application = "strata-it-auth-users",
		.size = 1,
		.checkout_timeout_ms = 2000,
		.connect_timeout_ms = 5000,
	};
	struct st_db_pool *pool = NULL;
	bool all = false;

	ck_assert_int_eq(st_db_pool_create(&conf, &pool), ST_OK);
	for (int tries = 0; tries < 100 && !all; tries++) {
		const char *params[] = { subject };
		struct st_db_result *res = NULL;

		ck_assert_int_eq(st_db_pool_query(pool,
						  "SELECT string_agg(type || '|' || remote, ',') "
						  "FROM auth.audit_log WHERE subject = $1",
						  1, params, &res, NULL, 0),
				 ST_OK);
		all = true;
		for (size_t i = 0; i < n; i++)
			all = all && strstr(st_db_get(res, 0, 0), want[i]) != NULL;
		st_db_result_free(res);
		if (!all)
			usleep(100 * 1000);
	}
	st_db_pool_destroy(pool);
	return all;
}

START_TEST(logins_leave_audit_rows)
{
	char email[128], id[40], addr[32], failed[64], succeeded[64], locked[64];
	const char *want[3] = { failed, succeeded, locked };

	seed();
	random_email(email, sizeof(email));
	random_addr(addr, sizeof(addr));
	register_user(email, PASSWORD, id, sizeof(id));
	ck_assert_int_eq(login(email, PASSWORD, addr, NULL), 200);
	for (int i = 0; i < 5; i++)
		ck_assert_int_eq(login(email, "Wrong-password-1", addr, NULL), 401);
	snprintf(failed, sizeof(failed), "login.failed|%s", addr);
	snprintf(succeeded, sizeof(succeeded), "login.succeeded|%s", addr);
	snprintf(locked, sizeof(locked), "login.locked|%s", addr);
	ck_assert_msg(audit_has(id, want, 3), "audit rows for %s did not appear", id);
	delete_user(id);
}
END_TEST

/* ---- a failed database call ---- */

struct db_call {
	const char *method, *path, *kind, *body;
	long status;
	char retry_after[16], type[128];
};

static void *
db_call_run(void *arg)
{
	struct db_call *c = arg;
	char sub[40];
	struct it_resp r;

	st_uuid_v4(sub, sizeof(sub));
	c->status = call(c->method, c->path, c->kind, strcmp(c->kind, "user") == 0 ? sub : c->kind,
			 ST_SCOPE_ALL, NULL, c->body, &r);
	if (!it_resp_header(&r, "Retry-After", c->retry_after, sizeof(c->retry_after)))
		c->retry_after[0] = '\0';
	if (!it_resp_header(&r, "Content-Type", c->type, sizeof(c->type)))
		c->type[0] = '\0';
	it_resp_cleanup(&r);
	return NULL;
}

/*
 * Each route's failed query gets libcommon's one answer: 503 with Retry-After 2 (users.c and
 * users_admin.c said 5, refresh.c and apikeys.c 2). The test holds an exclusive lock on the
 * tables the route reads, waits for the route's query to queue behind it, and cancels that
 * query (what a statement timeout does: SQLSTATE 57014).
 */
START_TEST(a_failed_database_call_answers_503_with_retry_after_2)
{
	static const struct {
		const char *method, *path, *kind, *body;
	} routes[] = {
		{ "GET", "/api/v1/users", "user", NULL },    /* users_admin.c */
		{ "GET", "/api/v1/auth/me", "user", NULL },  /* users.c */
		{ "POST", "/api/v1/auth/login", "anonymous", /* users.c */
		  "{\"email\":\"it-db@example.test\",\"password\":\"x\"}" },
		{ "POST", "/api/v1/auth/refresh", "anonymous", /* refresh.c */
		  "{\"refresh_token\":\"it-db-error\"}" },
		{ "GET", "/api/v1/api-keys", "user", NULL }, /* apikeys.c */
	};
	static const char waiting[] =
		"SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND "
		"pid <> pg_backend_pid() AND (query LIKE '%users%' OR query LIKE '%api_keys%') "
		"AND query NOT LIKE 'LOCK%' LIMIT 1";
	PGconn *lock = PQconnectdb(it_env("DATABASE_URL", ""));

	ck_assert_int_eq(PQstatus(lock), CONNECTION_OK);
	for (size_t i = 0; i < ST_ARRAY_LEN(routes); i++) {
		struct db_call c = {
			routes[i].method, routes[i].path, routes[i].kind, routes[i].body, 0, "", ""
		};
		char pid[16] = "";
		pthread_t t;
		PGresult *res;

		res = PQexec(lock, "BEGIN; LOCK TABLE auth.users, auth.api_keys IN ACCESS "
				   "EXCLUSIVE MODE");
		ck_assert_int_eq(PQresultStatus(res), PGRES_COMMAND_OK);
		PQclear(res);
		ck_assert_int_eq(pthread_create(&t, NULL, db_call_run, &c), 0);
		for (int tries = 0; tries < 100 && pid[0] == '\0'; tries++) {
			usleep(50 * 1000);
			it_sql(waiting, 0, NULL, pid, sizeof(pid));
		}
		if (pid[0] != '\0') {
			const char *params[] = { pid };

			it_sql("SELECT pg_cancel_backend($1::int)", 1, params, NULL, 0);
		}
		pthread_join(t, NULL);
		res = PQexec(lock, "ROLLBACK");
		PQclear(res);
		ck_assert_msg(pid[0] != '\0', "%s %s: no query waited on the lock", c.method,
			      c.path);
		ck_assert_msg(c.status == 503, "%s %s: %ld", c.method, c.path, c.status);
		ck_assert_msg(strcmp(c.retry_after, "2") == 0, "%s %s: Retry-After %s", c.method,
			      c.path, c.retry_after);
		ck_assert_str_eq(c.type, "application/problem+json");
	}
	PQfinish(lock);
}
END_TEST

Suite *
auth_users_suite(void)
{
	Suite *s = suite_create("auth_users");
	TCase *tc = tcase_create("identity");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, register_answers_the_user_without_its_hash);
	tcase_add_test(tc, register_refuses_a_weak_password_and_a_bad_email);
	tcase_add_test(tc, login_issues_tokens);
	tcase_add_test(tc, wrong_password_and_unknown_email_get_the_same_answer);
	tcase_add_test(tc, lockout_blocks_the_pair_not_the_account);
	tcase_add_test(tc, lockout_blocks_an_address_guessing_at_many_accounts);
	tcase_add_test(tc, disabled_user_cannot_log_in);
	tcase_add_test(tc, me_reads_and_changes_the_callers_account);
	tcase_add_test(tc, admin_lists_pages_with_a_cursor);
	tcase_add_test(tc, admin_changes_roles_and_deletes);
	tcase_add_test(tc, logins_leave_audit_rows);
	tcase_add_test(tc, a_failed_database_call_answers_503_with_retry_after_2);
	suite_add_tcase(s, tc);
	return s;
}
