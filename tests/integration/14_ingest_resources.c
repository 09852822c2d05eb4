/*
 * Ingest's projects, members, subjects and sessions through the public API (it_api_url()):
 * isolation between users (another user's project, subject and session answer 404, also for
 * changes), roles (a viewer reads and gets 403 on writes, a member creates sessions, the last
 * owner stays), validation (400 with errors[], unknown fields refused, 422 for a subject of
 * another project, 409 for a second external_id), keyset pagination, the session state
 * machine (illegal moves 409 naming the state; two concurrent starts: one 200, one 409), and
 * the events it leaves on strata.sessions and strata.session-commands, read back from Kafka
 * from the partitions' ends as they were before the test acted.
 *
 * Every test registers fresh users (random emails) and deletes the projects it made.
 */
#include <check.h>
#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <librdkafka/rdkafka.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "strata/core.h"
#include "strata/principal.h"

#define PASSWORD   "Correct-horse-9"
#define MAX_PARTS  64
#define FIND_MS    15000
#define CONCURRENT 5

Suite *ingest_resources_suite(void);

/* ---- HTTP helpers ---- */

struct user {
	char id[40];
	char auth[1200]; /* "Authorization: Bearer ..." */
};

/* One call through the API as user u (NULL: anonymous), waiting out a 429. */
static long
api(const struct user *u, const char *method, const char *path, const char *body, struct it_resp *r)
{
	char url[512];
	const char *hdrs[4];
	size_t n = 0;

	if (u != NULL)
		hdrs[n++] = u->auth;
	if (body != NULL)
		hdrs[n++] = "Content-Type: application/json";
	hdrs[n] = NULL;
	snprintf(url, sizeof(url), "%s%s", it_api_url(), path);
	for (int i = 0;; i++) {
		char wait[16];

		it_http(method, url, hdrs, body, r);
		if (r->status != 429 || i == 5)
			return r->status;
		long secs;

		if (!it_resp_header(r, "Retry-After", wait, sizeof(wait)))
			snprintf(wait, sizeof(wait), "1");
		it_resp_cleanup(r);
		secs = strtol(wait, NULL, 10);
		sleep((unsigned)(secs > 0 && secs < 10 ? secs : 1));
	}
}

/* The status of a call whose body does not matter. */
static long
status_of(const struct user *u, const char *method, const char *path, const char *body)
{
	struct it_resp r;
	long st = api(u, method, path, body, &r);

	it_resp_cleanup(&r);
	return st;
}

/* A call straight to ingest as an administrator (scope admin), as the gateway would sign it. */
static long
as_admin(const char *method, const char *path, struct it_resp *r)
{
	char principal[700], url[512];
	const char *hdrs[] = { principal, NULL };

	snprintf(url, sizeof(url), "%s%s", it_service_url("ingest"), path);
	it_principal_header(method, url, "user", "it-admin", ST_SCOPE_ALL, principal,
			    sizeof(principal));
	return it_http(method, url, hdrs, NULL, r);
}

static const char *
jstr(const cJSON *doc, const char *name)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(doc, name);

	return cJSON_IsString(it) ? it->valuestring : "";
}

/* Parses a response body (must be JSON). The caller deletes it. */
static cJSON *
body_json(const struct it_resp *r)
{
	cJSON *doc = cJSON_Parse(r->body != NULL ? r->body : "");

	ck_assert_msg(doc != NULL, "not JSON: %s", r->body != NULL ? r->body : "(none)");
	return doc;
}

/* Checks a problem+json answer of status carrying errors[] naming field. */
static void
assert_invalid(const struct it_resp *r, long status, const char *field)
{
	char ctype[128];
	cJSON *doc = body_json(r);
	const cJSON *errs = cJSON_GetObjectItemCaseSensitive(doc, "errors"), *e;
	bool seen = false;

	ck_assert_int_eq(r->status, status);
	ck_assert(it_resp_header(r, "Content-Type", ctype, sizeof(ctype)));
	ck_assert_msg(strncmp(ctype, "application/problem+json", 24) == 0, "%s", ctype);
	ck_assert_msg(cJSON_IsArray(errs), "no errors[]: %s", r->body);
	cJSON_ArrayForEach(e, errs) seen = seen || strcmp(jstr(e, "field"), field) == 0;
	ck_assert_msg(seen, "no error for %s in %s", field, r->body);
	cJSON_Delete(doc);
}

/* Registers and logs in a fresh user. */
static void
new_user(struct user *u)
{
	char email[128], body[512];
	struct it_resp r;
	cJSON *doc;

	snprintf(email, sizeof(email), "it-res-%d-%08x%04x@example.test", (int)getpid(),
		 (unsigned)rand(), (unsigned)rand() & 0xffff);
	snprintf(body, sizeof(body), "{\"email\":\"%s\",\"password\":\"%s\",\"name\":\"It\"}",
		 email, PASSWORD);
	ck_assert_int_eq(api(NULL, "POST", "/api/v1/auth/register", body, &r), 201);
	doc = body_json(&r);
	st_strlcpy(u->id, jstr(doc, "id"), sizeof(u->id));
	cJSON_Delete(doc);
	it_resp_cleanup(&r);
	snprintf(body, sizeof(body), "{\"email\":\"%s\",\"password\":\"%s\"}", email, PASSWORD);
	ck_assert_int_eq(api(NULL, "POST", "/api/v1/auth/login", body, &r), 200);
	doc = body_json(&r);
	ck_assert(strlen(jstr(doc, "access_token")) > 0);
	snprintf(u->auth, sizeof(u->auth), "Authorization: Bearer %s", jstr(doc, "access_token"));
	cJSON_Delete(doc);
	it_resp_cleanup(&r);
}

/* POSTs body to path as u expecting 201; copies the new id into id (>= 40 bytes) and checks
 * Location = loc_prefix + id. */
static void
create(const struct user *u, const char *path, const char *body, const char *loc_prefix, char *id)
{
	char loc[256], want[256];
	struct it_resp r;
	cJSON *doc;

	ck_assert_msg(api(u, "POST", path, body, &r) == 201, "POST %s: %ld %s", path, r.status,
		      r.body);
	doc = body_json(&r);
	st_strlcpy(id, jstr(doc, "id"), 40);
	ck_assert_int_eq((int)strlen(id), 36);
	ck_assert(it_resp_header(&r, "Location", loc, sizeof(loc)));
	snprintf(want, sizeof(want), "%s%s", loc_prefix, id);
	ck_assert_str_eq(loc, want);
	cJSON_Delete(doc);
	it_resp_cleanup(&r);
}

static void
new_project(const struct user *u, const char *name, char *id)
{
	char body[256];

	snprintf(body, sizeof(body), "{\"name\":\"%s\"}", name);
	create(u, "/api/v1/projects", body, "/api/v1/projects/", id);
}

static void
new_session(const struct user *u, const char *project, const char *body, char *id)
{
	char path[128];

	snprintf(path, sizeof(path), "/api/v1/projects/%s/sessions", project);
	create(u, path, body, "/api/v1/sessions/", id);
}

static void
drop_project(const struct user *u, const char *id)
{
	char path[128];

	snprintf(path, sizeof(path), "/api/v1/projects/%s", id);
	ck_assert_int_eq(status_of(u, "DELETE", path, NULL), 204);
}

/* POSTs /api/v1/sessions/{id}/<action>; returns the status, the body's status field in st. */
static long
move(const struct user *u, const char *id, const char *action, char *st, size_t cap, char *detail,
     size_t dcap)
{
	char path[160];
	struct it_resp r;
	long status;
	cJSON *doc;

	snprintf(path, sizeof(path), "/api/v1/sessions/%s/%s", id, action);
	status = api(u, "POST", path, NULL, &r);
	doc = cJSON_Parse(r.body != NULL ? r.body : "");
	if (st != NULL)
		st_strlcpy(st, doc != NULL ? jstr(doc, "status") : "", cap);
	if (detail != NULL)
		st_strlcpy(detail, doc != NULL ? jstr(doc, "detail") : "", dcap);
	cJSON_Delete(doc);
	it_resp_cleanup(&r);
	return status;
}

static void
seed(void)
{
	srand((unsigned)getpid() ^ (unsigned)st_now_wall_ms());
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* ---- Kafka: the partitions' ends before acting, then a search from there ---- */

struct marks {
	const char *topic;
	int n;
	int64_t hi[MAX_PARTS];
};

static rd_kafka_t *
kafka_consumer(void)
{
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	char errstr[256], group[96];
	rd_kafka_t *rk;

	snprintf(group, sizeof(group), "it-ingest-resources-%d-%08x", (int)getpid(),
		 (unsigned)rand());
	ck_assert(rd_kafka_conf_set(conf, "bootstrap.servers", it_env("KAFKA_BROKERS", ""), errstr,
				    sizeof(errstr)) == RD_KAFKA_CONF_OK);
	ck_assert(rd_kafka_conf_set(conf, "group.id", group, errstr, sizeof(errstr)) ==
		  RD_KAFKA_CONF_OK);
	ck_assert(rd_kafka_conf_set(conf, "enable.auto.commit", "false", errstr, sizeof(errstr)) ==
		  RD_KAFKA_CONF_OK);
	rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr));
	ck_assert_msg(rk != NULL, "rd_kafka_new: %s", errstr);
	return rk;
}

/* Records the high watermark of every partition of topic. */
static void
marks_take(struct marks *m, const char *topic)
{
	rd_kafka_t *rk = kafka_consumer();
	const struct rd_kafka_metadata *md = NULL;
	rd_kafka_topic_t *t = rd_kafka_topic_new(rk, topic, NULL);
	rd_kafka_resp_err_t err;

	ck_assert_msg(it_env("KAFKA_BROKERS", NULL) != NULL, "KAFKA_BROKERS is not set");
	err = rd_kafka_metadata(rk, 0, t, &md, 10000);
	ck_assert_msg(err == RD_KAFKA_RESP_ERR_NO_ERROR, "metadata: %s", rd_kafka_err2str(err));
	ck_assert_int_eq(md->topic_cnt, 1);
	m->topic = topic;
	m->n = md->topics[0].partition_cnt;
	ck_assert(m->n > 0 && m->n <= MAX_PARTS);
	for (int p = 0; p < m->n; p++) {
		int64_t lo = 0, hi = 0;

		err = rd_kafka_query_watermark_offsets(rk, topic, p, &lo, &hi, 10000);
		ck_assert_msg(err == RD_KAFKA_RESP_ERR_NO_ERROR, "watermarks: %s",
			      rd_kafka_err2str(err));
		m->hi[p] = hi;
	}
	rd_kafka_metadata_destroy(md);
	rd_kafka_topic_destroy(t);
	rd_kafka_destroy(rk);
}

/*
 * Reads topic from the marks on, collecting the CloudEvents keyed by key, until one of type
 * appears; returns it (the caller deletes it) with the message key checked. NULL after FIND_MS.
 */
static cJSON *
find_event(const struct marks *m, const char *key, const char *type)
{
	rd_kafka_t *rk = kafka_consumer();
	rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new(m->n);
	int64_t deadline = st_now_mono_ms() + FIND_MS;
	cJSON *found = NULL;

	for (int p = 0; p < m->n; p++)
		rd_kafka_topic_partition_list_add(list, m->topic, p)->offset = m->hi[p];
	ck_assert(rd_kafka_assign(rk, list) == RD_KAFKA_RESP_ERR_NO_ERROR);
	while (found == NULL && st_now_mono_ms() < deadline) {
		rd_kafka_message_t *msg = rd_kafka_consumer_poll(rk, 200);

		if (msg == NULL)
			continue;
		if (msg->err == RD_KAFKA_RESP_ERR_NO_ERROR && msg->key_len == strlen(key) &&
		    memcmp(msg->key, key, msg->key_len) == 0) {
			cJSON *doc = cJSON_ParseWithLength(msg->payload, msg->len);

			if (doc != NULL && strcmp(jstr(doc, "type"), type) == 0)
				found = doc;
			else
				cJSON_Delete(doc);
		}
		rd_kafka_message_destroy(msg);
	}
	rd_kafka_topic_partition_list_destroy(list);
	rd_kafka_consumer_close(rk);
	rd_kafka_destroy(rk);
	return found;
}

/* ---- tests ---- */

START_TEST(another_users_project_is_not_there)
{
	struct user a, b;
	char project[40], subject[40], session[40], path[200];
	struct it_resp r;
	cJSON *doc;

	seed();
	new_user(&a);
	new_user(&b);
	new_project(&a, "isolation", project);
	snprintf(path, sizeof(path), "/api/v1/projects/%s/subjects", project);
	create(&a, path, "{\"external_id\":\"s-1\"}", "/api/v1/subjects/", subject);
	new_session(&a, project, "{\"device\":\"dev-iso\"}", session);

	snprintf(path, sizeof(path), "/api/v1/projects/%s", project);
	ck_assert_int_eq(status_of(&a, "GET", path, NULL), 200);
	ck_assert_int_eq(status_of(&b, "GET", path, NULL), 404);
	ck_assert_int_eq(status_of(&b, "PATCH", path, "{\"name\":\"mine\"}"), 404);
	ck_assert_int_eq(status_of(&b, "DELETE", path, NULL), 404);
	snprintf(path, sizeof(path), "/api/v1/projects/%s/subjects", project);
	ck_assert_int_eq(status_of(&b, "GET", path, NULL), 404);
	ck_assert_int_eq(status_of(&b, "POST", path, "{\"external_id\":\"x\"}"), 404);
	snprintf(path, sizeof(path), "/api/v1/projects/%s/members", project);
	ck_assert_int_eq(status_of(&b, "GET", path, NULL), 404);
	snprintf(path, sizeof(path), "/api/v1/projects/%s/sessions", project);
	ck_assert_int_eq(status_of(&b, "POST", path, "{}"), 404);
	snprintf(path, sizeof(path), "/api/v1/subjects/%s", subject);
	ck_assert_int_eq(status_of(&b, "GET", path, NULL), 404);
	ck_assert_int_eq(status_of(&b, "PATCH", path, "{\"display_name\":\"x\"}"), 404);
	ck_assert_int_eq(status_of(&b, "DELETE", path, NULL), 404);
	snprintf(path, sizeof(path), "/api/v1/sessions/%s", session);
	ck_assert_int_eq(status_of(&b, "GET", path, NULL), 404);
	ck_assert_int_eq(status_of(&b, "PATCH", path, "{\"device\":\"x\"}"), 404);
	ck_assert_int_eq(move(&b, session, "start", NULL, 0, NULL, 0), 404);

	/* B's lists do not show A's things; A's do */
	ck_assert_int_eq(api(&b, "GET", "/api/v1/projects", NULL, &r), 200);
	ck_assert_ptr_null(strstr(r.body, project));
	it_resp_cleanup(&r);
	snprintf(path, sizeof(path), "/api/v1/sessions?project=%s", project);
	ck_assert_int_eq(api(&b, "GET", path, NULL, &r), 200);
	ck_assert_ptr_null(strstr(r.body, session));
	it_resp_cleanup(&r);
	ck_assert_int_eq(api(&a, "GET", path, NULL, &r), 200);
	ck_assert_ptr_nonnull(strstr(r.body, session));
	it_resp_cleanup(&r);

	/* an administrator sees everything */
	snprintf(path, sizeof(path), "/api/v1/projects/%s", project);
	ck_assert_int_eq(as_admin("GET", path, &r), 200);
	doc = body_json(&r);
	ck_assert_str_eq(jstr(doc, "id"), project);
	ck_assert(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(doc, "role")));
	cJSON_Delete(doc);
	it_resp_cleanup(&r);

	/* malformed and unknown ids */
	ck_assert_int_eq(status_of(&a, "GET", "/api/v1/projects/not-a-uuid", NULL), 404);
	ck_assert_int_eq(status_of(&a, "GET", "/api/v1/subjects/12345", NULL), 404);
	ck_assert_int_eq(status_of(&a, "GET", "/api/v1/sessions/zz", NULL), 404);
	ck_assert_int_eq(status_of(&a, "POST", "/api/v1/sessions/zz/start", NULL), 404);
	ck_assert_int_eq(
		status_of(&a, "GET", "/api/v1/projects/00000000-0000-4000-8000-000000000000", NULL),
		404);

	drop_project(&a, project);
	snprintf(path, sizeof(path), "/api/v1/sessions/%s", session);
	ck_assert_int_eq(status_of(&a, "GET", path, NULL), 404);
}
END_TEST

START_TEST(members_and_roles)
{
	struct user a, b;
	char project[40], session[40], path[200], body[256], loc[256];
	struct it_resp r;
	cJSON *doc;

	seed();
	new_user(&a);
	new_user(&b);
	new_project(&a, "roles", project);
	snprintf(path, sizeof(path), "/api/v1/projects/%s/members", project);

	/* bad bodies */
	ck_assert_int_eq(api(&a, "POST", path, "{\"user_id\":\"nope\",\"role\":\"boss\"}", &r),
			 400);
	assert_invalid(&r, 400, "user_id");
	assert_invalid(&r, 400, "role");
	it_resp_cleanup(&r);

	snprintf(body, sizeof(body), "{\"user_id\":\"%s\",\"role\":\"viewer\"}", b.id);
	ck_assert_int_eq(api(&a, "POST", path, body, &r), 201);
	ck_assert(it_resp_header(&r, "Location", loc, sizeof(loc)));
	ck_assert_ptr_nonnull(strstr(loc, b.id));
	it_resp_cleanup(&r);
	ck_assert_int_eq(status_of(&a, "POST", path, body), 409);

	/* a viewer reads and writes nothing */
	ck_assert_int_eq(status_of(&b, "GET", path, NULL), 200);
	snprintf(path, sizeof(path), "/api/v1/projects/%s", project);
	ck_assert_int_eq(api(&b, "GET", path, NULL, &r), 200);
	doc = body_json(&r);
	ck_assert_str_eq(jstr(doc, "role"), "viewer");
	cJSON_Delete(doc);
	it_resp_cleanup(&r);
	ck_assert_int_eq(status_of(&b, "PATCH", path, "{\"name\":\"x\"}"), 403);
	ck_assert_int_eq(status_of(&b, "DELETE", path, NULL), 403);
	snprintf(path, sizeof(path), "/api/v1/projects/%s/subjects", project);
	ck_assert_int_eq(status_of(&b, "GET", path, NULL), 200);
	ck_assert_int_eq(status_of(&b, "POST", path, "{\"external_id\":\"v\"}"), 403);
	snprintf(path, sizeof(path), "/api/v1/projects/%s/sessions", project);
	ck_assert_int_eq(status_of(&b, "POST", path, "{}"), 403);
	snprintf(path, sizeof(path), "/api/v1/projects/%s/members", project);
	snprintf(body, sizeof(body), "{\"user_id\":\"%s\",\"role\":\"viewer\"}", a.id);
	ck_assert_int_eq(status_of(&b, "POST", path, body), 403);

	/* promoted to member: creates and runs sessions, still manages nothing */
	snprintf(path, sizeof(path), "/api/v1/projects/%s/members/%s", project, b.id);
	ck_assert_int_eq(api(&a, "PATCH", path, "{\"role\":\"member\"}", &r), 200);
	doc = body_json(&r);
	ck_assert_str_eq(jstr(doc, "role"), "member");
	cJSON_Delete(doc);
	it_resp_cleanup(&r);
	new_session(&b, project, "{\"device\":\"dev-b\"}", session);
	ck_assert_int_eq(move(&b, session, "start", NULL, 0, NULL, 0), 200);
	snprintf(path, sizeof(path), "/api/v1/projects/%s", project);
	ck_assert_int_eq(status_of(&b, "PATCH", path, "{\"name\":\"x\"}"), 403);

	/* the last owner can neither leave nor step down */
	snprintf(path, sizeof(path), "/api/v1/projects/%s/members/%s", project, a.id);
	ck_assert_int_eq(status_of(&a, "PATCH", path, "{\"role\":\"member\"}"), 409);
	ck_assert_int_eq(status_of(&a, "DELETE", path, NULL), 409);
	/* with a second owner, A may step down */
	snprintf(path, sizeof(path), "/api/v1/projects/%s/members/%s", project, b.id);
	ck_assert_int_eq(status_of(&a, "PATCH", path, "{\"role\":\"owner\"}"), 200);
	snprintf(path, sizeof(path), "/api/v1/projects/%s/members/%s", project, a.id);
	ck_assert_int_eq(status_of(&a, "PATCH", path, "{\"role\":\"member\"}"), 200);
	ck_assert_int_eq(status_of(&a, "PATCH", path, "{\"role\":\"owner\"}"), 403);
	ck_assert_int_eq(status_of(&b, "PATCH", path, "{\"role\":\"owner\"}"), 200);

	/* removed, B sees nothing any more */
	snprintf(path, sizeof(path), "/api/v1/projects/%s/members/%s", project, b.id);
	ck_assert_int_eq(status_of(&a, "DELETE", path, NULL), 204);
	ck_assert_int_eq(status_of(&a, "DELETE", path, NULL), 404);
	snprintf(path, sizeof(path), "/api/v1/projects/%s", project);
	ck_assert_int_eq(status_of(&b, "GET", path, NULL), 404);
	snprintf(path, sizeof(path), "/api/v1/sessions/%s", session);
	ck_assert_int_eq(status_of(&b, "GET", path, NULL), 404);
	drop_project(&a, project);
}
END_TEST

START_TEST(validation_and_unknown_fields)
{
	struct user a;
	char project[40], other[40], foreign[40], path[200], body[256];
	struct it_resp r;
	cJSON *doc;

	seed();
	new_user(&a);
	ck_assert_int_eq(api(&a, "POST", "/api/v1/projects",
			     "{\"name\":\"\",\"colour\":1,\"settings\":{\"category_weights\":"
			     "{\"memory\":-1}}}",
			     &r),
			 400);
	assert_invalid(&r, 400, "name");
	assert_invalid(&r, 400, "colour");
	assert_invalid(&r, 400, "settings.category_weights.memory");
	it_resp_cleanup(&r);
	/* a body that is JSON but not an object */
	ck_assert_int_eq(api(&a, "POST", "/api/v1/projects", "[\"name\"]", &r), 400);
	ck_assert_ptr_nonnull(strstr(r.body, "must be a JSON object"));
	it_resp_cleanup(&r);
	ck_assert_int_eq(status_of(&a, "POST", "/api/v1/projects", "[1]"), 400);
	ck_assert_int_eq(status_of(&a, "POST", "/api/v1/projects", "{\"name\":"), 400);

	new_project(&a, "validation", project);
	new_project(&a, "validation-2", other);
	snprintf(path, sizeof(path), "/api/v1/projects/%s", project);
	ck_assert_int_eq(api(&a, "PATCH", path,
			     "{\"settings\":{\"category_weights\":{\"memory\":2,\"speed\":0.5}}}",
			     &r),
			 200);
	doc = body_json(&r);
	ck_assert_double_eq(cJSON_GetObjectItemCaseSensitive(
				    cJSON_GetObjectItemCaseSensitive(
					    cJSON_GetObjectItemCaseSensitive(doc, "settings"),
					    "category_weights"),
				    "speed")
				    ->valuedouble,
			    0.5);
	cJSON_Delete(doc);
	it_resp_cleanup(&r);
	ck_assert_int_eq(status_of(&a, "PATCH", path, "{\"settings\":[]}"), 400);

	/* subjects */
	snprintf(path, sizeof(path), "/api/v1/projects/%s/subjects", project);
	ck_assert_int_eq(api(&a, "POST", path,
			     "{\"external_id\":\"\",\"birth_year\":1800,\"sex\":\"x\","
			     "\"metadata\":[],\"height\":2}",
			     &r),
			 400);
	assert_invalid(&r, 400, "external_id");
	assert_invalid(&r, 400, "birth_year");
	assert_invalid(&r, 400, "sex");
	assert_invalid(&r, 400, "metadata");
	assert_invalid(&r, 400, "height");
	it_resp_cleanup(&r);
	ck_assert_int_eq(status_of(&a, "POST", path, "{\"external_id\":\"p\",\"birth_year\":3000}"),
			 400);
	ck_assert_int_eq(
		status_of(&a, "POST", path,
			  "{\"external_id\":\"p-1\",\"birth_year\":1990,\"sex\":\"male\"}"),
		201);
	ck_assert_int_eq(status_of(&a, "POST", path, "{\"external_id\":\"p-1\"}"), 409);
	snprintf(path, sizeof(path), "/api/v1/projects/%s/subjects", other);
	create(&a, path, "{\"external_id\":\"p-1\"}", "/api/v1/subjects/", foreign);

	/* sessions: a subject of another project, bad devices, unknown fields */
	snprintf(path, sizeof(path), "/api/v1/projects/%s/sessions", project);
	snprintf(body, sizeof(body), "{\"subject_id\":\"%s\"}", foreign);
	ck_assert_int_eq(api(&a, "POST", path, body, &r), 422);
	assert_invalid(&r, 422, "subject_id");
	it_resp_cleanup(&r);
	ck_assert_int_eq(api(&a, "POST", path,
			     "{\"device\":\"a b\",\"subject_id\":\"x\",\"metadata\":1,\"z\":0}",
			     &r),
			 400);
	assert_invalid(&r, 400, "device");
	assert_invalid(&r, 400, "subject_id");
	assert_invalid(&r, 400, "metadata");
	assert_invalid(&r, 400, "z");
	it_resp_cleanup(&r);
	ck_assert_int_eq(api(&a, "GET", "/api/v1/sessions?status=sleeping&project=x", NULL, &r),
			 400);
	assert_invalid(&r, 400, "status");
	assert_invalid(&r, 400, "project");
	it_resp_cleanup(&r);
	ck_assert_int_eq(api(&a, "GET", "/api/v1/projects?limit=0&cursor=zzz", NULL, &r), 400);
	assert_invalid(&r, 400, "limit");
	assert_invalid(&r, 400, "cursor");
	it_resp_cleanup(&r);

	drop_project(&a, project);
	drop_project(&a, other);
}
END_TEST

/* Walks a list with limit=2 and checks that it returns exactly the ids in want, in order. */
static void
walk_pages(const struct user *u, const char *base, char ids[][40], int n)
{
	char path[512], cursor[256] = "";
	int seen = 0, pages = 0;

	for (;;) {
		struct it_resp r;
		const cJSON *items, *it, *next;
		cJSON *doc;

		snprintf(path, sizeof(path), "%s%slimit=2%s%s", base, strchr(base, '?') ? "&" : "?",
			 cursor[0] ? "&cursor=" : "", cursor);
		ck_assert_int_eq(api(u, "GET", path, NULL, &r), 200);
		doc = body_json(&r);
		items = cJSON_GetObjectItemCaseSensitive(doc, "items");
		ck_assert(cJSON_GetArraySize(items) <= 2);
		cJSON_ArrayForEach(it, items)
		{
			ck_assert_int_lt(seen, n);
			ck_assert_str_eq(jstr(it, "id"), ids[seen]);
			seen++;
		}
		next = cJSON_GetObjectItemCaseSensitive(doc, "next_cursor");
		pages++;
		if (cJSON_IsNull(next)) {
			cJSON_Delete(doc);
			it_resp_cleanup(&r);
			break;
		}
		ck_assert(cJSON_IsString(next));
		st_strlcpy(cursor, next->valuestring, sizeof(cursor));
		cJSON_Delete(doc);
		it_resp_cleanup(&r);
		ck_assert_int_lt(pages, n + 2);
	}
	ck_assert_int_eq(seen, n);
	ck_assert_int_eq(pages, (n + 1) / 2); /* no empty last page */
}

START_TEST(pagination_with_cursors)
{
	struct user a;
	char project[40], subjects[5][40], sessions[5][40], projects[3][40], path[200], body[64];

	seed();
	new_user(&a);
	for (int i = 0; i < 3; i++)
		new_project(&a, "paging", projects[i]);
	walk_pages(&a, "/api/v1/projects", projects, 3);
	st_strlcpy(project, projects[0], sizeof(project));
	snprintf(path, sizeof(path), "/api/v1/projects/%s/subjects", project);
	for (int i = 0; i < 5; i++) {
		snprintf(body, sizeof(body), "{\"external_id\":\"page-%d\"}", i);
		create(&a, path, body, "/api/v1/subjects/", subjects[i]);
	}
	walk_pages(&a, path, subjects, 5);
	for (int i = 0; i < 5; i++)
		new_session(&a, project, "{}", sessions[i]);
	snprintf(path, sizeof(path), "/api/v1/sessions?project=%s&status=created", project);
	walk_pages(&a, path, sessions, 5);
	/* a status filter: only the started one */
	ck_assert_int_eq(move(&a, sessions[2], "start", NULL, 0, NULL, 0), 200);
	snprintf(path, sizeof(path), "/api/v1/sessions?project=%s&status=running", project);
	walk_pages(&a, path, &sessions[2], 1);
	for (int i = 0; i < 3; i++)
		drop_project(&a, projects[i]);
}
END_TEST

START_TEST(session_lifecycle_and_events)
{
	struct user a;
	char project[40], subject[40], session[40], path[200], body[256], st[32], detail[256];
	struct marks ev, cmd;
	static const char *const types[] = { "strata.session.created", "strata.session.started",
					     "strata.session.stopped", "strata.session.completed" };
	static const char *const statuses[] = { "created", "running", "stopped", "completed" };

	seed();
	new_user(&a);
	new_project(&a, "lifecycle", project);
	snprintf(path, sizeof(path), "/api/v1/projects/%s/subjects", project);
	create(&a, path, "{\"external_id\":\"life-1\"}", "/api/v1/subjects/", subject);
	marks_take(&ev, "strata.sessions");
	marks_take(&cmd, "strata.session-commands");

	snprintf(body, sizeof(body),
		 "{\"subject_id\":\"%s\",\"device\":\"dev-life.1\",\"metadata\":{\"room\":3}}",
		 subject);
	new_session(&a, project, body, session);
	ck_assert_int_eq(move(&a, session, "stop", st, sizeof(st), detail, sizeof(detail)), 409);
	ck_assert_msg(strstr(detail, "created") != NULL, "%s", detail);
	ck_assert_int_eq(move(&a, session, "start", st, sizeof(st), NULL, 0), 200);
	ck_assert_str_eq(st, "running");
	ck_assert_int_eq(move(&a, session, "complete", NULL, 0, detail, sizeof(detail)), 409);
	ck_assert_msg(strstr(detail, "running") != NULL, "%s", detail);
	ck_assert_int_eq(move(&a, session, "stop", st, sizeof(st), NULL, 0), 200);
	ck_assert_str_eq(st, "stopped");
	ck_assert_int_eq(move(&a, session, "start", NULL, 0, detail, sizeof(detail)), 409);
	ck_assert_msg(strstr(detail, "stopped") != NULL, "%s", detail);
	ck_assert_int_eq(move(&a, session, "complete", st, sizeof(st), NULL, 0), 200);
	ck_assert_str_eq(st, "completed");
	ck_assert_int_eq(move(&a, session, "fail", NULL, 0, detail, sizeof(detail)), 409);
	ck_assert_msg(strstr(detail, "completed") != NULL, "%s", detail);
	snprintf(path, sizeof(path), "/api/v1/sessions/%s", session);
	ck_assert_int_eq(status_of(&a, "PATCH", path, "{\"device\":\"other\"}"), 409);

	/* every change on strata.sessions, keyed by the session, with the session as data */
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		cJSON *e = find_event(&ev, session, types[i]);
		const cJSON *data;

		ck_assert_msg(e != NULL, "no %s for session %s", types[i], session);
		ck_assert_str_eq(jstr(e, "specversion"), "1.0");
		ck_assert_str_eq(jstr(e, "source"), "/strata/ingest");
		ck_assert_str_eq(jstr(e, "subject"), session);
		data = cJSON_GetObjectItemCaseSensitive(e, "data");
		ck_assert_str_eq(jstr(data, "id"), session);
		ck_assert_str_eq(jstr(data, "status"), statuses[i]);
		ck_assert_str_eq(jstr(data, "device"), "dev-life.1");
		ck_assert_str_eq(jstr(data, "project_id"), project);
		cJSON_Delete(e);
	}
	/* start and stop also as commands for the device */
	{
		cJSON *e = find_event(&cmd, session, "strata.session.command");
		const cJSON *data;
		bool start = false, stop = false;

		ck_assert_msg(e != NULL, "no command for session %s", session);
		data = cJSON_GetObjectItemCaseSensitive(e, "data");
		ck_assert_str_eq(jstr(data, "session_id"), session);
		ck_assert_str_eq(jstr(data, "device"), "dev-life.1");
		ck_assert_str_eq(jstr(data, "command"), "start");
		cJSON_Delete(e);
		/* read both from the marks: start first, then stop (one key, one partition) */
		{
			rd_kafka_t *rk = kafka_consumer();
			rd_kafka_topic_partition_list_t *list =
				rd_kafka_topic_partition_list_new(cmd.n);
			int64_t deadline = st_now_mono_ms() + FIND_MS;

			for (int p = 0; p < cmd.n; p++)
				rd_kafka_topic_partition_list_add(list, cmd.topic, p)->offset =
					cmd.hi[p];
			ck_assert(rd_kafka_assign(rk, list) == RD_KAFKA_RESP_ERR_NO_ERROR);
			while (!stop && st_now_mono_ms() < deadline) {
				rd_kafka_message_t *msg = rd_kafka_consumer_poll(rk, 200);
				cJSON *doc;

				if (msg == NULL)
					continue;
				if (msg->err == RD_KAFKA_RESP_ERR_NO_ERROR &&
				    msg->key_len == strlen(session) &&
				    memcmp(msg->key, session, msg->key_len) == 0) {
					doc = cJSON_ParseWithLength(msg->payload, msg->len);
					data = cJSON_GetObjectItemCaseSensitive(doc, "data");
					if (strcmp(jstr(data, "command"), "start") == 0)
						start = true;
					else if (strcmp(jstr(data, "command"), "stop") == 0)
						stop = start; /* in that order */
					cJSON_Delete(doc);
				}
				rd_kafka_message_destroy(msg);
			}
			rd_kafka_topic_partition_list_destroy(list);
			rd_kafka_consumer_close(rk);
			rd_kafka_destroy(rk);
		}
		ck_assert(start);
		ck_assert(stop);
	}
	drop_project(&a, project);
}
END_TEST

START_TEST(session_patch_and_fail)
{
	struct user a;
	char project[40], subject[40], session[40], path[200], body[256], st[32];
	struct it_resp r;
	struct marks ev;
	cJSON *doc, *e;

	seed();
	new_user(&a);
	new_project(&a, "patching", project);
	snprintf(path, sizeof(path), "/api/v1/projects/%s/subjects", project);
	create(&a, path, "{\"external_id\":\"pt-1\"}", "/api/v1/subjects/", subject);
	new_session(&a, project, "{}", session);
	marks_take(&ev, "strata.sessions");

	snprintf(path, sizeof(path), "/api/v1/sessions/%s", session);
	snprintf(body, sizeof(body),
		 "{\"subject_id\":\"%s\",\"device\":\"dev-p\",\"metadata\":{\"a\":1}}", subject);
	ck_assert_int_eq(api(&a, "PATCH", path, body, &r), 200);
	doc = body_json(&r);
	ck_assert_str_eq(jstr(doc, "subject_id"), subject);
	ck_assert_str_eq(jstr(doc, "device"), "dev-p");
	cJSON_Delete(doc);
	it_resp_cleanup(&r);
	e = find_event(&ev, session, "strata.session.updated");
	ck_assert_ptr_nonnull(e);
	ck_assert_str_eq(jstr(cJSON_GetObjectItemCaseSensitive(e, "data"), "device"), "dev-p");
	cJSON_Delete(e);

	/* null clears */
	ck_assert_int_eq(api(&a, "PATCH", path, "{\"device\":null,\"subject_id\":null}", &r), 200);
	doc = body_json(&r);
	ck_assert(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(doc, "device")));
	ck_assert(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(doc, "subject_id")));
	cJSON_Delete(doc);
	it_resp_cleanup(&r);

	ck_assert_int_eq(move(&a, session, "start", st, sizeof(st), NULL, 0), 200);
	ck_assert_int_eq(move(&a, session, "fail", st, sizeof(st), NULL, 0), 200);
	ck_assert_str_eq(st, "failed");
	e = find_event(&ev, session, "strata.session.failed");
	ck_assert_ptr_nonnull(e);
	cJSON_Delete(e);
	ck_assert_int_eq(status_of(&a, "PATCH", path, "{\"metadata\":{}}"), 409);
	ck_assert_int_eq(move(&a, session, "start", NULL, 0, NULL, 0), 409);
	drop_project(&a, project);
}
END_TEST

struct racer {
	const struct user *u;
	const char *session;
	pthread_barrier_t *barrier;
	long status;
};

static void *
race(void *arg)
{
	struct racer *rc = arg;

	pthread_barrier_wait(rc->barrier);
	rc->status = move(rc->u, rc->session, "start", NULL, 0, NULL, 0);
	return NULL;
}

START_TEST(concurrent_starts_one_wins)
{
	struct user a;
	char project[40], sessions[CONCURRENT][40];

	seed();
	new_user(&a);
	new_project(&a, "race", project);
	for (int i = 0; i < CONCURRENT; i++)
		new_session(&a, project, "{\"device\":\"dev-race\"}", sessions[i]);
	for (int i = 0; i < CONCURRENT; i++) {
		pthread_barrier_t barrier;
		struct racer r[2];
		pthread_t t[2];
		int ok = 0, conflict = 0;

		pthread_barrier_init(&barrier, NULL, 2);
		for (int k = 0; k < 2; k++) {
			r[k] = (struct racer){ &a, sessions[i], &barrier, 0 };
			ck_assert_int_eq(pthread_create(&t[k], NULL, race, &r[k]), 0);
		}
		for (int k = 0; k < 2; k++) {
			pthread_join(t[k], NULL);
			ok += r[k].status == 200;
			conflict += r[k].status == 409;
		}
		pthread_barrier_destroy(&barrier);
		ck_assert_msg(ok == 1 && conflict == 1, "session %d: %ld and %ld", i, r[0].status,
			      r[1].status);
	}
	drop_project(&a, project);
}
END_TEST

/* True for RFC 3339 UTC with milliseconds, as every answer writes times. */
static bool
is_rfc3339_ms(const char *s)
{
	static const char shape[] = "dddd-dd-ddTdd:dd:dd.dddZ";

	if (strlen(s) != sizeof(shape) - 1)
		return false;
	for (size_t i = 0; shape[i] != '\0'; i++)
		if (shape[i] == 'd' ? (s[i] < '0' || s[i] > '9') : s[i] != shape[i])
			return false;
	return true;
}

/* Answers made from rows: types, times, hidden sort keys; null and absence in bodies. */
START_TEST(answers_and_nulls)
{
	struct user a, b;
	char project[40], subject[40], second[40], path[200], body[512], loc[256], upper[40];
	struct it_resp r;
	cJSON *doc;

	seed();
	new_user(&a);
	new_user(&b);
	ck_assert_int_eq(api(&a, "POST", "/api/v1/projects",
			     "{\"name\":\"answers\",\"description\":\"one\\ntwo\\tthree\","
			     "\"settings\":{\"k\":[1,true]}}",
			     &r),
			 201);
	doc = body_json(&r);
	st_strlcpy(project, jstr(doc, "id"), sizeof(project));
	ck_assert_str_eq(jstr(doc, "description"), "one\ntwo\tthree");
	ck_assert(is_rfc3339_ms(jstr(doc, "created_at")));
	ck_assert(is_rfc3339_ms(jstr(doc, "updated_at")));
	ck_assert_str_eq(jstr(doc, "role"), "owner");
	ck_assert(cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(doc, "settings"), "k")));
	ck_assert_ptr_null(cJSON_GetObjectItemCaseSensitive(doc, "_cursor_micros"));
	ck_assert_ptr_null(cJSON_GetObjectItemCaseSensitive(doc, "_cursor_id"));
	cJSON_Delete(doc);
	it_resp_cleanup(&r);
	ck_assert_int_eq(status_of(&a, "POST", "/api/v1/projects", "{\"name\":\"x\\u0001\"}"), 400);

	/* projects: name cannot be null; null clears description and settings; {} changes nothing
	 */
	snprintf(path, sizeof(path), "/api/v1/projects/%s", project);
	ck_assert_int_eq(api(&a, "PATCH", path, "{\"name\":null}", &r), 400);
	assert_invalid(&r, 400, "name");
	it_resp_cleanup(&r);
	ck_assert_int_eq(api(&a, "PATCH", path, "{}", &r), 200);
	doc = body_json(&r);
	ck_assert_str_eq(jstr(doc, "name"), "answers");
	ck_assert_str_eq(jstr(doc, "description"), "one\ntwo\tthree");
	cJSON_Delete(doc);
	it_resp_cleanup(&r);
	ck_assert_int_eq(api(&a, "PATCH", path, "{\"description\":null,\"settings\":null}", &r),
			 200);
	doc = body_json(&r);
	ck_assert_str_eq(jstr(doc, "name"), "answers");
	ck_assert_str_eq(jstr(doc, "description"), "");
	ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(doc, "settings")), 0);
	cJSON_Delete(doc);
	it_resp_cleanup(&r);

	/* subjects: numbers stay numbers, null clears, external_id cannot be null or repeat */
	snprintf(path, sizeof(path), "/api/v1/projects/%s/subjects", project);
	create(&a, path, "{\"external_id\":\"s-1\",\"display_name\":\"S\",\"birth_year\":1990}",
	       "/api/v1/subjects/", subject);
	create(&a, path, "{\"external_id\":\"s-2\"}", "/api/v1/subjects/", second);
	ck_assert_int_eq(api(&a, "POST", path, "{\"external_id\":\"s-1\"}", &r), 409);
	ck_assert_msg(strstr(r.body, "external_id 's-1'") != NULL, "%s", r.body);
	it_resp_cleanup(&r);
	snprintf(path, sizeof(path), "/api/v1/subjects/%s", second);
	ck_assert_int_eq(api(&a, "PATCH", path, "{\"external_id\":\"s-1\"}", &r), 409);
	ck_assert_msg(strstr(r.body, "external_id 's-1'") != NULL, "%s", r.body);
	it_resp_cleanup(&r);
	snprintf(path, sizeof(path), "/api/v1/subjects/%s", subject);
	ck_assert_int_eq(api(&a, "GET", path, NULL, &r), 200);
	doc = body_json(&r);
	ck_assert(cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(doc, "birth_year")));
	ck_assert_int_eq(cJSON_GetObjectItemCaseSensitive(doc, "birth_year")->valueint, 1990);
	ck_assert(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(doc, "sex")));
	cJSON_Delete(doc);
	it_resp_cleanup(&r);
	ck_assert_int_eq(api(&a, "PATCH", path, "{\"external_id\":null}", &r), 400);
	assert_invalid(&r, 400, "external_id");
	it_resp_cleanup(&r);
	ck_assert_int_eq(api(&a, "PATCH", path, "{\"birth_year\":null,\"display_name\":null}", &r),
			 200);
	doc = body_json(&r);
	ck_assert(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(doc, "birth_year")));
	ck_assert_str_eq(jstr(doc, "display_name"), "");
	ck_assert_str_eq(jstr(doc, "external_id"), "s-1");
	cJSON_Delete(doc);
	it_resp_cleanup(&r);

	/* members: a user id in capitals is the same user; a second add is a conflict */
	for (size_t i = 0; i < sizeof(upper); i++)
		upper[i] = (char)((b.id[i] >= 'a' && b.id[i] <= 'f') ? b.id[i] - 32 : b.id[i]);
	snprintf(path, sizeof(path), "/api/v1/projects/%s/members", project);
	snprintf(body, sizeof(body), "{\"user_id\":\"%s\",\"role\":\"viewer\"}", upper);
	ck_assert_int_eq(api(&a, "POST", path, body, &r), 201);
	ck_assert(it_resp_header(&r, "Location", loc, sizeof(loc)));
	ck_assert_msg(strstr(loc, b.id) != NULL, "%s", loc);
	doc = body_json(&r);
	ck_assert_str_eq(jstr(doc, "user_id"), b.id);
	ck_assert(is_rfc3339_ms(jstr(doc, "added_at")));
	cJSON_Delete(doc);
	it_resp_cleanup(&r);
	snprintf(body, sizeof(body), "{\"user_id\":\"%s\",\"role\":\"member\"}", b.id);
	ck_assert_int_eq(api(&a, "POST", path, body, &r), 409);
	ck_assert_msg(strstr(r.body, "already a member") != NULL, "%s", r.body);
	it_resp_cleanup(&r);

	/* sessions: null where nothing is set, times null until they happen */
	snprintf(path, sizeof(path), "/api/v1/projects/%s/sessions", project);
	ck_assert_int_eq(api(&a, "POST", path, "{\"device\":null,\"metadata\":{\"m\":1}}", &r),
			 201);
	doc = body_json(&r);
	ck_assert(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(doc, "device")));
	ck_assert(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(doc, "subject_id")));
	ck_assert(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(doc, "started_at")));
	ck_assert(is_rfc3339_ms(jstr(doc, "created_at")));
	ck_assert_str_eq(jstr(doc, "status"), "created");
	cJSON_Delete(doc);
	it_resp_cleanup(&r);

	drop_project(&a, project);
}
END_TEST

Suite *
ingest_resources_suite(void)
{
	Suite *s = suite_create("ingest_resources");
	TCase *tc = tcase_create("api");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, another_users_project_is_not_there);
	tcase_add_test(tc, members_and_roles);
	tcase_add_test(tc, validation_and_unknown_fields);
	tcase_add_test(tc, pagination_with_cursors);
	tcase_add_test(tc, session_lifecycle_and_events);
	tcase_add_test(tc, session_patch_and_fail);
	tcase_add_test(tc, concurrent_starts_one_wins);
	tcase_add_test(tc, answers_and_nulls);
	suite_add_tcase(s, tc);
	return s;
}
