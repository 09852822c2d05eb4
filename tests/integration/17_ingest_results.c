/*
 * Diagnosis results against the running suite, through the public API (it_api_url()): a CSV
 * file scored with the project's category weights and checked against figures computed by
 * hand; a replacement upload; bad lines answered 400 with their line numbers and nothing
 * stored; a wrong content type 415 and an oversized file 413; unusable project weights 422,
 * all-zero weights a plain mean; an outsider answered 404; a
 * device (scope ingest) uploading straight to ingest; and the result's event on
 * strata.sessions, found by session id.
 *
 * Users register and log in through the API. The project, its membership and the session are
 * made with SQL (DATABASE_URL) in make_session() alone, until the projects and sessions API is
 * on the same branch: then only that function changes.
 */
#include <check.h>
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "strata/core.h"
#include "strata/kafka.h"
#include "strata/log.h"
#include "strata/principal.h"

#define PASSWORD "Correct-horse-9"

/* Memory: 3 of 4 correct, times 400 600 500 1000. Attention: 1 of 3, times 200 300 250.
 * Quoting, CRLF and a reordered header on purpose. */
static const char sample[] = "category,item,correct,reaction_ms,response\r\n"
			     "memory,m1,true,400,A\r\n"
			     "memory,m2,false,600,\"B, or C\"\r\n"
			     "memory,m3,1,500,C\r\n"
			     "memory,m4,yes,1000,D\r\n"
			     "attention,a1,0,200,x\r\n"
			     "attention,a2,no,300,y\r\n"
			     "attention,a3,TRUE,250,z\r\n";

struct user {
	char id[40];
	char auth[2200]; /* "Authorization: Bearer ..." */
};

struct fixture {
	struct user owner, outsider;
	char project[40], session[40];
};

/* ---- helpers ---- */

static const char *
jstr(const cJSON *doc, const char *name)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(doc, name);

	return cJSON_IsString(it) ? it->valuestring : "";
}

static double
jnum(const cJSON *doc, const char *name)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(doc, name);

	ck_assert_msg(cJSON_IsNumber(it), "%s is not a number", name);
	return it->valuedouble;
}

#define ck_assert_num(doc, name, want)                                                             \
	ck_assert_msg(fabs(jnum((doc), (name)) - (want)) < 1e-9, "%s: %.10g != %.10g", (name),     \
		      jnum((doc), (name)), (double)(want))

/* A call through the API, waiting out a 429 (anonymous calls of the whole suite share the
 * rate limit of 127.0.0.1). */
static long
api(const char *method, const char *path, const char *const *headers, const char *body,
    struct it_resp *r)
{
	char url[512];

	snprintf(url, sizeof(url), "%s%s", it_api_url(), path);
	for (int i = 0;; i++) {
		char wait[16];
		long secs;

		it_http(method, url, headers, body, r);
		if (r->status != 429 || i == 5)
			return r->status;
		secs = it_resp_header(r, "Retry-After", wait, sizeof(wait)) ? strtol(wait, NULL, 10)
									    : 1;
		it_resp_cleanup(r);
		sleep((unsigned)(secs > 0 && secs < 10 ? secs : 1));
	}
}

static void
random_email(char *buf, size_t cap)
{
	unsigned char b[6];

	st_random_bytes(b, sizeof(b));
	snprintf(buf, cap, "it-results-%02x%02x%02x%02x%02x%02x@example.test", b[0], b[1], b[2],
		 b[3], b[4], b[5]);
}

/* Registers and logs in a fresh user through the API. */
static void
new_user(struct user *u)
{
	const char *json[] = { "Content-Type: application/json", NULL };
	char email[96], body[256];
	struct it_resp r;
	cJSON *doc;

	random_email(email, sizeof(email));
	snprintf(body, sizeof(body), "{\"email\":\"%s\",\"password\":\"%s\",\"name\":\"It\"}",
		 email, PASSWORD);
	ck_assert_int_eq(api("POST", "/api/v1/auth/register", json, body, &r), 201);
	doc = cJSON_Parse(r.body);
	st_strlcpy(u->id, jstr(doc, "id"), sizeof(u->id));
	cJSON_Delete(doc);
	it_resp_cleanup(&r);
	snprintf(body, sizeof(body), "{\"email\":\"%s\",\"password\":\"%s\"}", email, PASSWORD);
	ck_assert_int_eq(api("POST", "/api/v1/auth/login", json, body, &r), 200);
	doc = cJSON_Parse(r.body);
	snprintf(u->auth, sizeof(u->auth), "Authorization: Bearer %s", jstr(doc, "access_token"));
	ck_assert_int_gt((int)strlen(u->auth), 40);
	cJSON_Delete(doc);
	it_resp_cleanup(&r);
}

/*
 * A project owned by owner with settings (JSON) and one session in it.
 * merge: switch to POST /api/v1/projects (with settings) and POST /api/v1/projects/{id}/sessions.
 */
static void
make_session(const struct user *owner, const char *settings, char *project, char *session)
{
	st_uuid_v4(project, 40);
	st_uuid_v4(session, 40);
	{
		const char *p[] = { project, owner->id, settings };

		it_sql("INSERT INTO ingest.projects (id, name, settings, created_by) "
		       "VALUES ($1, 'it-results', $3::jsonb, $2)",
		       3, p, NULL, 0);
		it_sql("INSERT INTO ingest.project_members (project_id, user_id, role) "
		       "VALUES ($1, $2, 'owner')",
		       2, p, NULL, 0);
	}
	{
		const char *p[] = { session, project, owner->id };

		it_sql("INSERT INTO ingest.sessions (id, project_id, device, created_by) "
		       "VALUES ($1, $2, 'it-device', $3)",
		       3, p, NULL, 0);
	}
}

static void
drop_project(const char *project)
{
	const char *p[] = { project };

	it_sql("DELETE FROM ingest.projects WHERE id = $1", 1, p, NULL, 0);
}

/* Deletes a user as an administrator, straight to auth (cleanup). */
static void
drop_user(const struct user *u)
{
	char principal[700], url[256];
	const char *h[] = { principal, NULL };
	struct it_resp r;

	if (u->id[0] == '\0')
		return;
	snprintf(url, sizeof(url), "%s/api/v1/users/%s", it_service_url("auth"), u->id);
	it_principal_header("DELETE", url, "user", "it-admin", ST_SCOPE_ALL, principal,
			    sizeof(principal));
	it_http("DELETE", url, h, NULL, &r);
	it_resp_cleanup(&r);
}

static struct fixture fx;

static void
setup(void)
{
	st_log_init("it-results", ST_LOG_WARN);
	memset(&fx, 0, sizeof(fx));
	new_user(&fx.owner);
	new_user(&fx.outsider);
	make_session(&fx.owner, "{\"category_weights\": {\"memory\": 2, \"unused\": 9}}",
		     fx.project, fx.session);
}

static void
teardown(void)
{
	if (fx.project[0] != '\0')
		drop_project(fx.project);
	drop_user(&fx.owner);
	drop_user(&fx.outsider);
}

/* POSTs csv as results of the fixture's session with the user's token. */
static long
post_results(const struct user *u, const char *ctype, const char *csv, struct it_resp *r)
{
	char path[128], ct[96];
	const char *h[] = { u->auth, ct, NULL };

	snprintf(path, sizeof(path), "/api/v1/sessions/%s/results", fx.session);
	snprintf(ct, sizeof(ct), "Content-Type: %s", ctype);
	return api("POST", path, h, csv, r);
}

static long
get_results(const struct user *u, struct it_resp *r)
{
	char path[128];
	const char *h[] = { u->auth, NULL };

	snprintf(path, sizeof(path), "/api/v1/sessions/%s/results", fx.session);
	return api("GET", path, h, NULL, r);
}

static bool
is_problem(const struct it_resp *r)
{
	char ctype[128];

	return it_resp_header(r, "Content-Type", ctype, sizeof(ctype)) &&
	       strncmp(ctype, "application/problem+json", 24) == 0;
}

/* The category object of name in a result document. */
static const cJSON *
category(const cJSON *doc, const char *name)
{
	const cJSON *c;

	cJSON_ArrayForEach(c, cJSON_GetObjectItem(doc, "categories"))
	{
		if (strcmp(jstr(c, "category"), name) == 0)
			return c;
	}
	ck_abort_msg("no category %s", name);
	return NULL;
}

/* The scored sample, as computed by hand (weights: memory 2, attention none so 1). */
static void
check_sample_scores(const cJSON *doc)
{
	const cJSON *mem = category(doc, "memory"), *att = category(doc, "attention");
	const cJSON *rt = cJSON_GetObjectItem(doc, "reaction_ms");

	ck_assert_str_eq(jstr(doc, "session_id"), fx.session);
	ck_assert_str_eq(jstr(doc, "project_id"), fx.project);
	/* 100 * (2 * 3/4 + 1 * 1/3) / 3 = 61.111... */
	ck_assert_num(doc, "score", 61.11);
	ck_assert_num(doc, "n", 7);
	ck_assert_num(doc, "correct", 4);
	ck_assert_num(doc, "accuracy", 0.5714);
	ck_assert_num(rt, "mean", 464.29); /* 3250 / 7 */
	ck_assert_num(rt, "median", 400);
	ck_assert_num(rt, "p90", 760); /* rank 5.4: 600 + 0.4 * 400 */
	ck_assert_num(mem, "n", 4);
	ck_assert_num(mem, "correct", 3);
	ck_assert_num(mem, "accuracy", 0.75);
	ck_assert_num(mem, "weight", 2);
	ck_assert_num(cJSON_GetObjectItem(mem, "reaction_ms"), "mean", 625);
	ck_assert_num(cJSON_GetObjectItem(mem, "reaction_ms"), "median", 550);
	ck_assert_num(cJSON_GetObjectItem(mem, "reaction_ms"), "p90", 880);
	ck_assert_num(cJSON_GetObjectItem(mem, "reaction_ms"), "sd", 263); /* 262.9956 */
	ck_assert_num(att, "n", 3);
	ck_assert_num(att, "correct", 1);
	ck_assert_num(att, "accuracy", 0.3333);
	ck_assert_num(att, "weight", 1);
	ck_assert_num(cJSON_GetObjectItem(att, "reaction_ms"), "p90", 290);
	ck_assert_num(cJSON_GetObjectItem(att, "reaction_ms"), "sd", 50);
	ck_assert(cJSON_IsFalse(cJSON_GetObjectItem(doc, "equal_weights")));
}

static int
stored_items(void)
{
	const char *p[] = { fx.session };
	char n[32];

	it_sql("SELECT count(*) FROM ingest.result_items WHERE session_id = $1", 1, p, n,
	       sizeof(n));
	return (int)strtol(n, NULL, 10);
}

/* ---- tests ---- */

START_TEST(a_file_is_scored_stored_and_replaced)
{
	struct it_resp r;
	char location[160], want[160];
	cJSON *doc;

	ck_assert_int_eq(get_results(&fx.owner, &r), 404);
	it_resp_cleanup(&r);

	ck_assert_int_eq(post_results(&fx.owner, "text/csv; charset=utf-8", sample, &r), 201);
	ck_assert(it_resp_header(&r, "Location", location, sizeof(location)));
	snprintf(want, sizeof(want), "/api/v1/sessions/%s/results", fx.session);
	ck_assert_str_eq(location, want);
	doc = cJSON_Parse(r.body);
	ck_assert_ptr_nonnull(doc);
	check_sample_scores(doc);
	ck_assert(st_time_parse_rfc3339(jstr(doc, "created_at"), NULL));
	cJSON_Delete(doc);
	it_resp_cleanup(&r);
	ck_assert_int_eq(stored_items(), 7);

	ck_assert_int_eq(get_results(&fx.owner, &r), 200);
	doc = cJSON_Parse(r.body);
	check_sample_scores(doc);
	cJSON_Delete(doc);
	it_resp_cleanup(&r);

	/* a second upload replaces the first: 200, its own figures, its own rows */
	ck_assert_int_eq(post_results(&fx.owner, "text/csv",
				      "item,category,response,correct,reaction_ms\n"
				      "x1,attention,,1,100\nx2,attention,,0,300\n",
				      &r),
			 200);
	doc = cJSON_Parse(r.body);
	ck_assert_num(doc, "score", 50);
	ck_assert_num(doc, "n", 2);
	ck_assert_num(cJSON_GetObjectItem(doc, "reaction_ms"), "median", 200);
	ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(doc, "categories")), 1);
	cJSON_Delete(doc);
	it_resp_cleanup(&r);
	ck_assert_int_eq(stored_items(), 2);
	ck_assert_int_eq(get_results(&fx.owner, &r), 200);
	doc = cJSON_Parse(r.body);
	ck_assert_num(doc, "score", 50);
	cJSON_Delete(doc);
	it_resp_cleanup(&r);
}
END_TEST

START_TEST(bad_lines_get_400_with_their_numbers)
{
	static const char csv[] = "item,category,response,correct,reaction_ms\n"
				  "q1,memory,a,true,400\n"
				  "q2,memory,b,perhaps,400\n"
				  "q3,,c,false,400\n"
				  "q4,memory,d,true,-3\n"
				  "q1,memory,e,true,1\n";
	struct it_resp r;
	const cJSON *e;
	cJSON *doc;
	bool seen[4] = { false };

	ck_assert_int_eq(post_results(&fx.owner, "text/csv", csv, &r), 400);
	ck_assert(is_problem(&r));
	doc = cJSON_Parse(r.body);
	ck_assert_ptr_nonnull(doc);
	ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(doc, "errors")), 4);
	cJSON_ArrayForEach(e, cJSON_GetObjectItem(doc, "errors"))
	{
		const char *f = jstr(e, "field");

		seen[0] |= strcmp(f, "line 3: correct") == 0;
		seen[1] |= strcmp(f, "line 4: category") == 0;
		seen[2] |= strcmp(f, "line 5: reaction_ms") == 0;
		seen[3] |= strcmp(f, "line 6: item") == 0;
	}
	ck_assert(seen[0] && seen[1] && seen[2] && seen[3]);
	cJSON_Delete(doc);
	it_resp_cleanup(&r);

	ck_assert_int_eq(post_results(&fx.owner, "text/csv", "item,category\nq,c\n", &r), 400);
	ck_assert_ptr_nonnull(strstr(r.body, "line 1: header"));
	it_resp_cleanup(&r);

	ck_assert_int_eq(get_results(&fx.owner, &r), 404); /* nothing stored */
	it_resp_cleanup(&r);
	ck_assert_int_eq(stored_items(), 0);
}
END_TEST

/* 100001 short lines: over INGEST_RESULTS_MAX_ROWS (100000) and, at about 1.3 MB, over the
 * default HTTP_BODY_MAX (1 MiB) too: 413 whichever limit the suite runs with. */
START_TEST(wrong_type_and_oversized_files)
{
	size_t cap = 2 * 1024 * 1024, n;
	char *big = malloc(cap);
	struct it_resp r;

	ck_assert_int_eq(post_results(&fx.owner, "application/json", "{}", &r), 415);
	ck_assert(is_problem(&r));
	it_resp_cleanup(&r);

	n = (size_t)snprintf(big, cap, "item,category,response,correct,reaction_ms\n");
	for (int i = 0; i <= 100000; i++)
		n += (size_t)snprintf(big + n, cap - n, "i%d,c,,1,1\n", i);
	ck_assert_uint_lt(n, cap - 1);
	ck_assert_int_eq(post_results(&fx.owner, "text/csv", big, &r), 413);
	ck_assert(is_problem(&r));
	it_resp_cleanup(&r);
	free(big);
	ck_assert_int_eq(get_results(&fx.owner, &r), 404);
	it_resp_cleanup(&r);
}
END_TEST

/* Weights the scoring cannot use are the project's fault: 422 naming them, nothing stored. */
START_TEST(bad_project_weights_get_422)
{
	const char *p[] = { fx.project };
	struct it_resp r;

	it_sql("UPDATE ingest.projects SET settings = "
	       "'{\"category_weights\": {\"memory\": -1}}'::jsonb WHERE id = $1",
	       1, p, NULL, 0);
	ck_assert_int_eq(post_results(&fx.owner, "text/csv", sample, &r), 422);
	ck_assert(is_problem(&r));
	ck_assert_ptr_nonnull(strstr(r.body, "settings.category_weights.memory"));
	it_resp_cleanup(&r);
	ck_assert_int_eq(get_results(&fx.owner, &r), 404);
	it_resp_cleanup(&r);

	/* every category weighing 0: the plain mean, 100 * (3/4 + 1/3) / 2 */
	it_sql("UPDATE ingest.projects SET settings = "
	       "'{\"category_weights\": {\"memory\": 0, \"attention\": 0}}'::jsonb WHERE id = $1",
	       1, p, NULL, 0);
	ck_assert_int_eq(post_results(&fx.owner, "text/csv", sample, &r), 201);
	{
		cJSON *doc = cJSON_Parse(r.body);

		ck_assert_num(doc, "score", 54.17);
		ck_assert(cJSON_IsTrue(cJSON_GetObjectItem(doc, "equal_weights")));
		cJSON_Delete(doc);
	}
	it_resp_cleanup(&r);
}
END_TEST

START_TEST(an_outsider_gets_404)
{
	struct it_resp r;

	ck_assert_int_eq(post_results(&fx.outsider, "text/csv", sample, &r), 404);
	ck_assert(is_problem(&r));
	it_resp_cleanup(&r);
	ck_assert_int_eq(post_results(&fx.owner, "text/csv", sample, &r), 201);
	it_resp_cleanup(&r);
	ck_assert_int_eq(get_results(&fx.outsider, &r), 404);
	ck_assert_ptr_null(strstr(r.body, "score"));
	it_resp_cleanup(&r);
}
END_TEST

/* A device key (scope ingest only) of a member posts straight to ingest, as the gateway would
 * forward it; the same principal cannot read the result (no scope read). */
START_TEST(a_device_uploads)
{
	char principal[700], url[256];
	const char *h[] = { principal, "Content-Type: text/csv", NULL };
	struct it_resp r;

	snprintf(url, sizeof(url), "%s/api/v1/sessions/%s/results", it_service_url("ingest"),
		 fx.session);
	it_principal_header("POST", url, "apikey", fx.owner.id, ST_SCOPE_INGEST, principal,
			    sizeof(principal));
	ck_assert_int_eq(it_http("POST", url, h, sample, &r), 201);
	it_resp_cleanup(&r);
	it_principal_header("GET", url, "apikey", fx.owner.id, ST_SCOPE_INGEST, principal,
			    sizeof(principal));
	ck_assert_int_eq(it_http("GET", url, h, NULL, &r), 403);
	it_resp_cleanup(&r);
}
END_TEST

/* ---- the event ---- */

struct found {
	const char *session;
	bool seen;
	double score;
	char type[64];
};

static enum st_err
look(const struct st_kafka_rec *recs, size_t n, void *ctx)
{
	struct found *f = ctx;

	for (size_t i = 0; i < n; i++) {
		const cJSON *data = NULL;
		cJSON *ev;

		if (recs[i].key == NULL || recs[i].key_len != strlen(f->session) ||
		    memcmp(recs[i].key, f->session, recs[i].key_len) != 0)
			continue;
		ev = st_cloudevent_parse(recs[i].value, recs[i].value_len, &data, NULL, 0);
		if (ev == NULL)
			continue;
		if (strcmp(jstr(ev, "type"), "strata.session.results") == 0 &&
		    strcmp(jstr(data, "session_id"), f->session) == 0) {
			f->seen = true;
			f->score = jnum(data, "score");
			st_strlcpy(f->type, jstr(ev, "type"), sizeof(f->type));
		}
		cJSON_Delete(ev);
	}
	return ST_OK;
}

START_TEST(the_result_is_an_event_on_strata_sessions)
{
	struct found f = { .session = fx.session };
	char group[80];
	struct st_kafka_consumer_conf conf = {
		.brokers = it_env("KAFKA_BROKERS", "127.0.0.1:19092"),
		.group = group,
		.topic = "strata.sessions",
		.client_id = "strata-it-results",
		.batch_max = 500,
		.batch_wait_ms = 100,
		.from_beginning = true, /* a fresh group: everything, then find the session */
		.handler = look,
		.ctx = &f,
	};
	struct st_kafka_consumer *c = NULL;
	struct it_resp r;
	int64_t deadline;

	ck_assert_int_eq(post_results(&fx.owner, "text/csv", sample, &r), 201);
	it_resp_cleanup(&r);
	snprintf(group, sizeof(group), "it-results-%s", fx.session);
	ck_assert_int_eq(st_kafka_consumer_create(&conf, &c), ST_OK);
	deadline = st_now_mono_ms() + 30000;
	while (!f.seen && st_now_mono_ms() < deadline)
		st_kafka_consumer_poll_once(c, 500);
	st_kafka_consumer_destroy(c);
	ck_assert_msg(f.seen, "no strata.session.results event keyed %s", fx.session);
	ck_assert(fabs(f.score - 61.11) < 1e-9);
}
END_TEST

/* A value over the CSV reader's limit (8192 bytes) is a 400 naming its line and field, the
 * reader's memory bounded whatever the upload holds. */
START_TEST(an_overlong_value_gets_400_with_its_line)
{
	size_t cap = 10000 + 256, n;
	char *csv = malloc(cap);
	struct it_resp r;
	const cJSON *e;
	cJSON *doc;
	bool seen = false;

	n = (size_t)snprintf(csv, cap,
			     "item,category,response,correct,reaction_ms\nq1,memory,a,true,400\n"
			     "q2,memory,\"");
	memset(csv + n, 'x', 9000);
	n += 9000;
	snprintf(csv + n, cap - n, "\",true,400\n");
	ck_assert_int_eq(post_results(&fx.owner, "text/csv", csv, &r), 400);
	ck_assert(is_problem(&r));
	doc = cJSON_Parse(r.body);
	ck_assert_ptr_nonnull(doc);
	cJSON_ArrayForEach(e, cJSON_GetObjectItem(doc, "errors"))
	{
		seen |= strcmp(jstr(e, "field"), "line 3") == 0 &&
			strcmp(jstr(e, "detail"), "line 3, field 3: longer than 8192 bytes") == 0;
	}
	ck_assert_msg(seen, "%s", r.body);
	cJSON_Delete(doc);
	it_resp_cleanup(&r);
	ck_assert_int_eq(stored_items(), 0);
	free(csv);
}
END_TEST

Suite *
ingest_results_suite(void)
{
	Suite *s = suite_create("ingest_results");
	TCase *tc = tcase_create("results");

	tcase_set_timeout(tc, 60);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, a_file_is_scored_stored_and_replaced);
	tcase_add_test(tc, bad_lines_get_400_with_their_numbers);
	tcase_add_test(tc, wrong_type_and_oversized_files);
	tcase_add_test(tc, bad_project_weights_get_422);
	tcase_add_test(tc, an_outsider_gets_404);
	tcase_add_test(tc, a_device_uploads);
	tcase_add_test(tc, the_result_is_an_event_on_strata_sessions);
	tcase_add_test(tc, an_overlong_value_gets_400_with_its_line);
	suite_add_tcase(s, tc);
	return s;
}
