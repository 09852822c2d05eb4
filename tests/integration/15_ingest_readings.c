/*
 * Readings through the public API (it_api_url()): the real hourly weather normals of Seattle
 * (vega-datasets, data/seattle-weather-hourly-normals.csv: pressure, temperature and wind for
 * each hour of 2010) replayed in batches of JSON, NDJSON and CSV, persisted by the writers,
 * exported as CSV and compared value for value; the same batch posted twice stored once;
 * pages of GET .../data walked to the end; bad input refused whole (400, 413, 415 as
 * problem+json) with nothing stored; another project's sessions invisible (404).
 *
 * Users register and log in through the API; their projects and sessions are inserted with SQL
 * on $DATABASE_URL (the database ingest uses), the caller added as owner.
 *
 * The dataset comes from npm like Swagger UI (compose/local/deps.sh) into
 * $STRATA_DATA/web/vega-datasets; STRATA_VEGA_DATASETS may point at another copy's data/.
 * Its times carry no zone: they are read as UTC.
 */
#define _GNU_SOURCE
#include <check.h>
#include <cjson/cJSON.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "strata/core.h"

#define PASSWORD     "Readings-It-Pass-2026!"
#define WEATHER_FILE "seattle-weather-hourly-normals.csv"

/* ---- the caller and its session ---- */

struct who {
	char id[40];
	char token[4096];
	char auth[4200]; /* "Authorization: Bearer ..." */
	char project[40];
	char session[40];
};

/* Readings stored for a session; -1 when the database cannot be asked. */
static long
stored(const char *session)
{
	const char *params[] = { session };

	return it_sql_number("SELECT count(*) FROM ingest.readings WHERE session_id = $1", 1,
			     params);
}

/* Waits until the session holds want readings (or timeout_s passed); returns the last count. */
static long
wait_stored(const char *session, long want, int timeout_s)
{
	long n = -1;

	for (int i = 0; i < timeout_s * 10; i++) {
		n = stored(session);
		if (n == want)
			break;
		usleep(100000);
	}
	return n;
}

static long
api(const char *method, const char *path, const struct who *w, const char *ctype, const char *body,
    struct it_resp *r)
{
	char url[1024], ct[128];
	const char *headers[3] = { NULL, NULL, NULL };
	int k = 0;

	snprintf(url, sizeof(url), "%s%s", it_api_url(), path);
	if (w != NULL)
		headers[k++] = w->auth;
	if (ctype != NULL) {
		snprintf(ct, sizeof(ct), "Content-Type: %s", ctype);
		headers[k++] = ct;
	}
	return it_http(method, url, headers, body, r);
}

static cJSON *
json_of(const struct it_resp *r)
{
	cJSON *doc = cJSON_Parse(r->body);

	ck_assert_msg(doc != NULL, "not JSON: %.200s", r->body);
	return doc;
}

/* Registers and logs in a fresh user, then gives them a project (as owner) and a session. */
static void
who_make(struct who *w, const char *status)
{
	char email[96], body[512], rnd[40];
	struct it_resp r;
	cJSON *doc;

	memset(w, 0, sizeof(*w));
	st_uuid_v4(rnd, sizeof(rnd));
	snprintf(email, sizeof(email), "readings-%.8s@example.com", rnd);
	snprintf(body, sizeof(body), "{\"email\":\"%s\",\"password\":\"%s\",\"name\":\"It\"}",
		 email, PASSWORD);
	ck_assert_int_eq(api("POST", "/api/v1/auth/register", NULL, "application/json", body, &r),
			 201);
	doc = json_of(&r);
	st_strlcpy(w->id, cJSON_GetStringValue(cJSON_GetObjectItem(doc, "id")), sizeof(w->id));
	cJSON_Delete(doc);
	it_resp_cleanup(&r);
	snprintf(body, sizeof(body), "{\"email\":\"%s\",\"password\":\"%s\"}", email, PASSWORD);
	ck_assert_int_eq(api("POST", "/api/v1/auth/login", NULL, "application/json", body, &r),
			 200);
	doc = json_of(&r);
	ck_assert(st_strlcpy(w->token,
			     cJSON_GetStringValue(cJSON_GetObjectItem(doc, "access_token")),
			     sizeof(w->token)));
	snprintf(w->auth, sizeof(w->auth), "Authorization: Bearer %s", w->token);
	cJSON_Delete(doc);
	it_resp_cleanup(&r);
	st_uuid_v4(w->project, sizeof(w->project));
	st_uuid_v4(w->session, sizeof(w->session));
	{
		const char *p1[] = { w->project, w->id };
		const char *p3[] = { w->session, w->project, w->id, status };

		it_sql("INSERT INTO ingest.projects (id, name, created_by) VALUES ($1, 'readings "
		       "it', "
		       "$2)",
		       2, p1, NULL, 0);
		it_sql("INSERT INTO ingest.project_members (project_id, user_id, role) "
		       "VALUES ($1, $2, 'owner')",
		       2, p1, NULL, 0);
		it_sql("INSERT INTO ingest.sessions (id, project_id, created_by, status) "
		       "VALUES ($1, $2, $3, $4)",
		       4, p3, NULL, 0);
	}
}

static void
who_drop(const struct who *w)
{
	const char *p[] = { w->project };
	const char *s[] = { w->session };

	it_sql("DELETE FROM ingest.readings WHERE session_id = $1", 1, s, NULL, 0);
	it_sql("DELETE FROM ingest.projects WHERE id = $1", 1, p, NULL, 0);
}

static char *
data_path(const char *sid, const char *suffix)
{
	return st_asprintf("/api/v1/sessions/%s/data%s", sid, suffix);
}

/* Posts a body; returns the status, and the accepted count through *accepted on 202. */
static long
post(const struct who *w, const char *sid, const char *ctype, const char *body, long *accepted,
     struct it_resp *keep)
{
	struct it_resp r;
	char *path = data_path(sid, "");
	long status = api("POST", path, w, ctype, body, &r);

	if (status == 202 && accepted != NULL) {
		cJSON *doc = json_of(&r);

		*accepted = (long)cJSON_GetNumberValue(cJSON_GetObjectItem(doc, "accepted"));
		cJSON_Delete(doc);
	}
	if (keep != NULL)
		*keep = r;
	else
		it_resp_cleanup(&r);
	st_free(path);
	return status;
}

static bool
is_problem(const struct it_resp *r)
{
	char ctype[128];

	return it_resp_header(r, "Content-Type", ctype, sizeof(ctype)) &&
	       strncmp(ctype, "application/problem+json", 24) == 0;
}

/*
 * Posts one reading on the channel "sentinel" after everything the test sent, waits until it
 * is stored, and returns the session's other readings then (-1 when the sentinel never came).
 * A session's readings travel in one Kafka partition (keyed by the session) and the writers
 * store them in order, so once the sentinel is in, every batch posted before it has been
 * written, a late duplicate included: the count is final, without a fixed wait.
 */
static long
stored_after_sentinel(const struct who *w, int timeout_s)
{
	static const char body[] =
		"{\"readings\":[{\"ts\":\"2010-06-15T00:00:00Z\",\"channel\":\"sentinel\","
		"\"value\":1}]}";
	const char *params[] = { w->session };

	ck_assert_int_eq(post(w, w->session, "application/json", body, NULL, NULL), 202);
	for (int i = 0; i < timeout_s * 10; i++) {
		if (it_sql_number("SELECT count(*) FROM ingest.readings WHERE session_id = $1 "
				  "AND channel = 'sentinel'",
				  1, params) == 1)
			return it_sql_number("SELECT count(*) FROM ingest.readings WHERE "
					     "session_id = $1 AND channel <> 'sentinel'",
					     1, params);
		usleep(100000);
	}
	return -1;
}

/* ---- the weather series ---- */

struct reading {
	char ts[32]; /* as the API exports it: 2010-01-01T01:00:00.000Z */
	const char *channel;
	char value[24]; /* as in the file */
};

static struct reading *weather;
static size_t nweather;

static void
weather_load(void)
{
	static const char *const chans[] = { "pressure", "temperature", "wind" };
	char *path, line[256];
	const char *dir = it_env("STRATA_VEGA_DATASETS", NULL);
	FILE *f;
	size_t cap = 32768;

	if (weather != NULL)
		return;
	path = dir != NULL ? st_asprintf("%s/%s", dir, WEATHER_FILE)
			   : st_asprintf("%s/web/vega-datasets/node_modules/vega-datasets/data/%s",
					 it_env("STRATA_DATA", ".data"), WEATHER_FILE);
	f = fopen(path, "r");
	ck_assert_msg(f != NULL, "%s is missing: run compose/local/deps.sh (npm vega-datasets)",
		      path);
	ck_assert(fgets(line, sizeof(line), f) != NULL);
	ck_assert_msg(strncmp(line, "date,pressure,temperature,wind", 30) == 0, "header: %s", line);
	weather = malloc(cap * sizeof(*weather));
	while (fgets(line, sizeof(line), f) != NULL) {
		char *fields[4], *save = NULL, *tok = strtok_r(line, ",\r\n", &save);
		int k = 0;

		while (tok != NULL && k < 4) {
			fields[k++] = tok;
			tok = strtok_r(NULL, ",\r\n", &save);
		}
		if (k < 4)
			continue; /* a value missing: the hour is left out whole */
		for (int c = 0; c < 3; c++) {
			struct reading *r;

			if (nweather == cap) {
				cap *= 2;
				weather = realloc(weather, cap * sizeof(*weather));
			}
			r = &weather[nweather++];
			snprintf(r->ts, sizeof(r->ts), "%.19s.000Z", fields[0]);
			r->channel = chans[c];
			snprintf(r->value, sizeof(r->value), "%s", fields[c + 1]);
		}
	}
	fclose(f);
	st_free(path);
	ck_assert_uint_gt(nweather, 8000 * 3);
}

/* readings [from, to) in the given format, as a new string. */
static char *
body_of(int fmt, size_t from, size_t to)
{
	size_t cap = (to - from) * 96 + 64, len = 0;
	char *b = malloc(cap);

	if (fmt == 0)
		len += (size_t)snprintf(b + len, cap - len, "{\"readings\":[");
	else if (fmt == 2)
		len += (size_t)snprintf(b + len, cap - len, "ts,channel,value\r\n");
	for (size_t i = from; i < to; i++) {
		const struct reading *r = &weather[i];

		if (fmt == 0)
			len += (size_t)snprintf(b + len, cap - len,
						"%s{\"ts\":\"%s\",\"channel\":\"%s\",\"value\":%s}",
						i > from ? "," : "", r->ts, r->channel, r->value);
		else if (fmt == 1)
			len += (size_t)snprintf(b + len, cap - len,
						"{\"ts\":\"%s\",\"channel\":\"%s\",\"value\":%s}\n",
						r->ts, r->channel, r->value);
		else /* CSV, the channel quoted on odd readings (RFC 4180) */
			len += (size_t)snprintf(b + len, cap - len,
						i % 2 ? "%s,\"%s\",%s\r\n" : "%s,%s,%s\r\n", r->ts,
						r->channel, r->value);
	}
	if (fmt == 0)
		snprintf(b + len, cap - len, "]}");
	return b;
}

static const char *const ctypes[] = { "application/json", "application/x-ndjson",
				      "text/csv; charset=utf-8" };

static int
cmp_reading(const void *a, const void *b)
{
	const struct reading *x = a, *y = b;
	int c = strcmp(x->ts, y->ts);

	return c != 0 ? c : strcmp(x->channel, y->channel);
}

START_TEST(weather_replayed_and_exported_value_for_value)
{
	struct who w;
	long total = 0;
	struct it_resp r;
	char *path, *line, *save = NULL;
	struct reading *want;
	size_t i = 0, batch = 1500;

	weather_load();
	who_make(&w, "running");
	for (size_t from = 0, k = 0; from < nweather; from += batch, k++) {
		size_t to = from + batch < nweather ? from + batch : nweather;
		char *body = body_of((int)(k % 3), from, to);
		long acc = 0;

		ck_assert_int_eq(post(&w, w.session, ctypes[k % 3], body, &acc, NULL), 202);
		ck_assert_int_eq(acc, (long)(to - from));
		total += acc;
		free(body);
	}
	ck_assert_int_eq(total, (long)nweather);
	ck_assert_int_eq(wait_stored(w.session, total, 60), total);

	path = data_path(w.session, "/export?format=csv");
	ck_assert_int_eq(api("GET", path, &w, NULL, NULL, &r), 200);
	st_free(path);
	want = malloc(nweather * sizeof(*want));
	memcpy(want, weather, nweather * sizeof(*want));
	qsort(want, nweather, sizeof(*want), cmp_reading);
	line = strtok_r(r.body, "\n", &save);
	ck_assert_str_eq(line, "ts,channel,value");
	while ((line = strtok_r(NULL, "\n", &save)) != NULL) {
		char ts[40], ch[40], val[40];

		ck_assert_msg(sscanf(line, "%39[^,],%39[^,],%39s", ts, ch, val) == 3, "%s", line);
		ck_assert_msg(i < nweather, "more rows than sent");
		ck_assert_str_eq(ts, want[i].ts);
		ck_assert_str_eq(ch, want[i].channel);
		ck_assert_msg(strtod(val, NULL) == strtod(want[i].value, NULL), "%s: %s vs %s", ts,
			      val, want[i].value);
		i++;
	}
	ck_assert_uint_eq(i, nweather);
	free(want);
	it_resp_cleanup(&r);

	/* NDJSON export carries the same count */
	path = data_path(w.session, "/export?format=ndjson&channel=wind");
	ck_assert_int_eq(api("GET", path, &w, NULL, NULL, &r), 200);
	{
		size_t lines = 0;

		for (const char *p = r.body; *p != '\0'; p++)
			lines += *p == '\n';
		ck_assert_uint_eq(lines, nweather / 3);
	}
	it_resp_cleanup(&r);
	st_free(path);
	who_drop(&w);
}
END_TEST

START_TEST(pages_walk_to_the_end)
{
	struct who w;
	char cursor[256] = "", prev[80] = "";
	size_t seen = 0, pages = 0, from = 0, to = 4000;
	char *body;

	weather_load();
	who_make(&w, "created");
	body = body_of(0, from, to);
	ck_assert_int_eq(post(&w, w.session, "application/json", body, NULL, NULL), 202);
	free(body);
	ck_assert_int_eq(wait_stored(w.session, (long)(to - from), 30), (long)(to - from));
	for (;;) {
		struct it_resp r;
		char *path = cursor[0] != '\0' ? data_path(w.session, "?limit=700&cursor=")
					       : data_path(w.session, "?limit=700");
		char *full = st_asprintf("%s%s", path, cursor);
		cJSON *doc, *items, *next;

		ck_assert_int_eq(api("GET", full, &w, NULL, NULL, &r), 200);
		doc = json_of(&r);
		items = cJSON_GetObjectItem(doc, "readings");
		ck_assert(cJSON_IsArray(items));
		for (cJSON *it = items->child; it != NULL; it = it->next) {
			char key[80];

			snprintf(key, sizeof(key), "%s %s",
				 cJSON_GetStringValue(cJSON_GetObjectItem(it, "ts")),
				 cJSON_GetStringValue(cJSON_GetObjectItem(it, "channel")));
			ck_assert_msg(strcmp(prev, key) < 0, "order: %s then %s", prev, key);
			st_strlcpy(prev, key, sizeof(prev));
			seen++;
		}
		pages++;
		next = cJSON_GetObjectItem(doc, "next_cursor");
		if (cJSON_IsNull(next)) {
			cJSON_Delete(doc);
			it_resp_cleanup(&r);
			st_free(path);
			st_free(full);
			break;
		}
		ck_assert_int_eq(cJSON_GetArraySize(items), 700);
		st_strlcpy(cursor, cJSON_GetStringValue(next), sizeof(cursor));
		cJSON_Delete(doc);
		it_resp_cleanup(&r);
		st_free(path);
		st_free(full);
	}
	ck_assert_uint_eq(seen, to - from);
	ck_assert_uint_eq(pages, (to - from + 699) / 700);
	{
		/* a time window and one channel: the first 24 hours of wind */
		struct it_resp r;
		char *path = data_path(w.session, "?channel=wind&from=2010-01-01T00:00:00Z&to="
						  "2010-01-02T00:00:00%2B00:00&limit=1000");
		cJSON *doc;

		ck_assert_int_eq(api("GET", path, &w, NULL, NULL, &r), 200);
		doc = json_of(&r);
		ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(doc, "readings")), 23);
		ck_assert(cJSON_IsNull(cJSON_GetObjectItem(doc, "next_cursor")));
		cJSON_Delete(doc);
		it_resp_cleanup(&r);
		st_free(path);
		path = data_path(w.session, "?limit=1001");
		ck_assert_int_eq(api("GET", path, &w, NULL, NULL, &r), 400);
		it_resp_cleanup(&r);
		st_free(path);
		path = data_path(w.session, "?cursor=garbage");
		ck_assert_int_eq(api("GET", path, &w, NULL, NULL, &r), 400);
		it_resp_cleanup(&r);
		st_free(path);
	}
	who_drop(&w);
}
END_TEST

START_TEST(same_batch_twice_stored_once)
{
	struct who w;
	char *a, *b;
	long acc = 0;

	weather_load();
	who_make(&w, "running");
	a = body_of(2, 0, 600);
	b = body_of(1, 600, 660);
	ck_assert_int_eq(post(&w, w.session, "text/csv", a, &acc, NULL), 202);
	ck_assert_int_eq(post(&w, w.session, "text/csv", a, &acc, NULL), 202);
	ck_assert_int_eq(acc, 600);
	/* the same readings in another format, another batch shape: still the same readings */
	free(a);
	a = body_of(0, 300, 600);
	ck_assert_int_eq(post(&w, w.session, "application/json", a, &acc, NULL), 202);
	/* more readings after them, then the sentinel: once it is stored, so is all before it */
	ck_assert_int_eq(post(&w, w.session, "application/x-ndjson", b, &acc, NULL), 202);
	ck_assert_int_eq(stored_after_sentinel(&w, 30), 660);
	free(a);
	free(b);
	who_drop(&w);
}
END_TEST

/* ---- bad input ---- */

static const struct {
	const char *ctype;
	const char *body;
	long status;
	const char *field;  /* errors[0].field, or NULL */
	const char *detail; /* part of errors[0].detail or of detail, or NULL */
} bad[] = {
	{ "application/json", "{\"readings\": [{\"ts\": ", 400, "", "malformed" },
	{ "application/json", "{\"readings\": []}", 400, "readings", NULL },
	{ "application/json",
	  "{\"readings\": [{\"ts\": \"2026-01-01T00:00:00Z\", \"channel\": "
	  "\"a\", \"value\": \"4\"}]}",
	  400, "readings[0].value", NULL },
	{ "application/json",
	  "{\"readings\": [{\"ts\": 1767225600, \"channel\": \"a\", "
	  "\"value\": 4}]}",
	  400, "readings[0].ts", NULL },
	{ "application/json",
	  "{\"readings\": [{\"ts\": \"2026-01-01T00:00:00Z\", \"channel\": "
	  "\"a\", \"value\": NaN}]}",
	  400, "", "malformed" },
	{ "application/json",
	  "{\"readings\": [{\"ts\": \"2026-01-01T00:00:00Z\", \"channel\": "
	  "\"a\", \"value\": 1}, {\"ts\": \"2026-01-01T00:00:01Z\", "
	  "\"channel\": \"a\", \"value\": 1e400}]}",
	  400, "readings[1].value", NULL },
	{ "application/json",
	  "{\"readings\": [{\"ts\": \"2026-01-01T00:00:00Z\", \"channel\": "
	  "\"not ok\", \"value\": 1, \"unit\": \"C\"}]}",
	  400, "readings[0].unit", "unknown" },
	{ "application/x-ndjson",
	  "{\"ts\": \"2026-01-01T00:00:00Z\", \"channel\": \"a\", "
	  "\"value\": 1}\n[1, 2]\n",
	  400, "readings[1]", "line 2" },
	{ "text/csv",
	  "ts,channel,value\n2026-01-01T00:00:00Z,a,1\n2026-01-01T00:00:01Z,a,nan\n"
	  "2026-01-01T00:00:02Z,a,Infinity\n2026-01-01T00:00:03,a,1\n",
	  400, "readings[1].value", "line 3" },
	{ "text/csv", "time,channel,value\n2026-01-01T00:00:00Z,a,1\n", 400, "", "header" },
	{ "text/plain", "hello", 415, NULL, NULL },
};

START_TEST(bad_input_refused_whole)
{
	struct who w;
	char *marker;

	weather_load();
	who_make(&w, "running");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct it_resp r;
		cJSON *doc, *errs;

		ck_assert_int_eq(post(&w, w.session, bad[i].ctype, bad[i].body, NULL, &r),
				 bad[i].status);
		ck_assert_msg(is_problem(&r), "case %zu", i);
		doc = json_of(&r);
		ck_assert_int_eq(cJSON_GetNumberValue(cJSON_GetObjectItem(doc, "status")),
				 bad[i].status);
		errs = cJSON_GetObjectItem(doc, "errors");
		if (bad[i].field != NULL) {
			cJSON *e0 = cJSON_GetArrayItem(errs, 0);

			ck_assert_msg(e0 != NULL, "case %zu: no errors[]: %s", i, r.body);
			ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(e0, "field")),
					 bad[i].field);
			if (bad[i].detail != NULL)
				ck_assert_msg(strstr(cJSON_GetStringValue(
							     cJSON_GetObjectItem(e0, "detail")),
						     bad[i].detail) != NULL,
					      "case %zu: %s", i, r.body);
		}
		cJSON_Delete(doc);
		it_resp_cleanup(&r);
	}
	{
		/* the CSV case names every bad line */
		struct it_resp r;

		ck_assert_int_eq(post(&w, w.session, bad[8].ctype, bad[8].body, NULL, &r), 400);
		ck_assert_ptr_nonnull(strstr(r.body, "line 4"));
		ck_assert_ptr_nonnull(strstr(r.body, "readings[3].ts"));
		ck_assert_ptr_nonnull(strstr(r.body, "line 5"));
		it_resp_cleanup(&r);
	}
	{
		/* 10,001 readings: over INGEST_BATCH_MAX (10,000) */
		size_t cap = 10001 * 48 + 64, len = 0;
		char *big = malloc(cap);
		struct it_resp r;

		len += (size_t)snprintf(big, cap, "ts,channel,value\n");
		for (int i = 0; i < 10001; i++)
			len += (size_t)snprintf(big + len, cap - len,
						"2026-01-01T00:%02d:%02d.%03dZ,c,%d\n",
						i / 600 % 60, i / 10 % 60, i % 10 * 100, i);
		ck_assert_int_eq(post(&w, w.session, "text/csv", big, NULL, &r), 413);
		ck_assert(is_problem(&r));
		it_resp_cleanup(&r);
		free(big);
	}
	{
		/* a body over the 1 MiB limit */
		size_t n = 2 * 1024 * 1024;
		char *huge = malloc(n + 1);
		struct it_resp r;

		memset(huge, ' ', n);
		memcpy(huge, "{\"readings\":[", 13);
		huge[n] = '\0';
		ck_assert_int_eq(post(&w, w.session, "application/json", huge, NULL, &r), 413);
		it_resp_cleanup(&r);
		free(huge);
	}
	/* nothing of the above was stored: a good marker batch arrives alone */
	marker = body_of(0, 0, 30);
	ck_assert_int_eq(post(&w, w.session, "application/json", marker, NULL, NULL), 202);
	ck_assert_int_eq(stored_after_sentinel(&w, 30), 30);
	free(marker);
	who_drop(&w);
}
END_TEST

START_TEST(closed_sessions_take_no_data)
{
	struct who w;
	struct it_resp r;
	char *body;

	weather_load();
	who_make(&w, "completed");
	body = body_of(0, 0, 3);
	ck_assert_int_eq(post(&w, w.session, "application/json", body, NULL, &r), 409);
	ck_assert(is_problem(&r));
	it_resp_cleanup(&r);
	free(body);
	who_drop(&w);
}
END_TEST

/* ---- authorization ---- */

START_TEST(other_projects_are_invisible)
{
	struct who a, b;
	struct it_resp r;
	char *body, *path;
	const char *unknown = "00000000-0000-4000-8000-000000000000";

	weather_load();
	who_make(&a, "running");
	who_make(&b, "running");
	body = body_of(0, 0, 3);
	ck_assert_int_eq(post(&b, b.session, "application/json", body, NULL, NULL), 202);
	/* a posts to, reads and exports b's session: 404, as for a session that does not exist */
	ck_assert_int_eq(post(&a, b.session, "application/json", body, NULL, &r), 404);
	ck_assert(is_problem(&r));
	it_resp_cleanup(&r);
	ck_assert_int_eq(post(&a, unknown, "application/json", body, NULL, NULL), 404);
	ck_assert_int_eq(post(&a, "not-a-uuid", "application/json", body, NULL, NULL), 404);
	path = data_path(b.session, "");
	ck_assert_int_eq(api("GET", path, &a, NULL, NULL, &r), 404);
	it_resp_cleanup(&r);
	st_free(path);
	path = data_path(b.session, "/export");
	ck_assert_int_eq(api("GET", path, &a, NULL, NULL, &r), 404);
	it_resp_cleanup(&r);
	st_free(path);
	/* without a token at all */
	ck_assert_int_eq(post(NULL, b.session, "application/json", body, NULL, NULL), 401);
	ck_assert_int_eq(wait_stored(b.session, 3, 30), 3);
	free(body);
	who_drop(&a);
	who_drop(&b);
}
END_TEST

/* A key made with api-keys for a device: scope ingest posts readings to its owner's sessions
 * through the gateway and does nothing else; a read-only key cannot post. */
static void
key_make(const struct who *owner, const char *permissions, struct who *key)
{
	char body[256];
	struct it_resp r;
	cJSON *doc;

	*key = *owner;
	snprintf(body, sizeof(body), "{\"name\":\"device\",\"permissions\":%s}", permissions);
	ck_assert_int_eq(api("POST", "/api/v1/api-keys", owner, "application/json", body, &r), 201);
	doc = json_of(&r);
	snprintf(key->auth, sizeof(key->auth), "X-API-Key: %s",
		 cJSON_GetStringValue(cJSON_GetObjectItem(doc, "key")));
	cJSON_Delete(doc);
	it_resp_cleanup(&r);
}

START_TEST(device_keys_post_and_nothing_else)
{
	struct who a, device, reader;
	struct it_resp r;
	char *body, *path;
	long accepted = 0;

	weather_load();
	who_make(&a, "running");
	key_make(&a, "[\"ingest\"]", &device);
	key_make(&a, "[\"read\"]", &reader);
	body = body_of(0, 0, 3);
	ck_assert_int_eq(post(&device, a.session, "application/json", body, &accepted, NULL), 202);
	ck_assert_int_eq(accepted, 3);
	ck_assert_int_eq(post(&reader, a.session, "application/json", body, NULL, &r), 403);
	ck_assert(is_problem(&r));
	it_resp_cleanup(&r);
	path = data_path(a.session, "");
	ck_assert_int_eq(api("GET", path, &device, NULL, NULL, &r), 403);
	it_resp_cleanup(&r);
	ck_assert_int_eq(api("GET", path, &reader, NULL, NULL, &r), 200);
	it_resp_cleanup(&r);
	st_free(path);
	ck_assert_int_eq(api("POST", "/api/v1/projects", &device, "application/json",
			     "{\"name\":\"not mine\"}", &r),
			 403);
	it_resp_cleanup(&r);
	/* a viewer of the project reads, and never posts, though a researcher's token holds
	 * scope ingest (for the keys it makes) */
	{
		struct who v;
		const char *pv[] = { a.project, NULL };

		who_make(&v, "running");
		pv[1] = v.id;
		it_sql("INSERT INTO ingest.project_members (project_id, user_id, role) "
		       "VALUES ($1, $2, 'viewer')",
		       2, pv, NULL, 0);
		ck_assert_int_eq(post(&v, a.session, "application/json", body, NULL, &r), 403);
		ck_assert(is_problem(&r));
		it_resp_cleanup(&r);
		path = data_path(a.session, "");
		ck_assert_int_eq(api("GET", path, &v, NULL, NULL, &r), 200);
		it_resp_cleanup(&r);
		st_free(path);
		who_drop(&v);
	}
	ck_assert_int_eq(wait_stored(a.session, 3, 30), 3);
	free(body);
	who_drop(&a);
}
END_TEST

/* Starts a slow download of url (curl at 4 KB/s) in the background; returns its pid, which
 * alone the test ends (never a pattern: other processes may match one). */
static pid_t
slow_download(const char *auth, const char *url)
{
	pid_t pid = fork();

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		int fd = open("/dev/null", O_WRONLY);

		if (fd >= 0) {
			dup2(fd, STDOUT_FILENO);
			dup2(fd, STDERR_FILENO);
		}
		execlp("curl", "curl", "-s", "-o", "/dev/null", "--limit-rate", "4k", "-H", auth,
		       url, (char *)NULL);
		_exit(127);
	}
	return pid;
}

/* At most INGEST_EXPORTS_MAX (4) exports at once: four slow downloads of a large session hold
 * them, a fifth gets 503 with Retry-After, and once they are gone exports work again. */
START_TEST(exports_are_capped)
{
	struct who a;
	struct it_resp r;
	char *path, *small, url[1024], retry[16];
	const size_t batches = 40, per = 10000;
	long accepted, fifth;
	bool has_retry;
	pid_t slow[4];

	who_make(&a, "running");
	for (size_t k = 0; k < batches; k++) {
		size_t cap = per * 48 + 32, len = 0;
		char *body = malloc(cap);

		len += (size_t)snprintf(body, cap, "ts,channel,value\n");
		for (size_t i = 0; i < per; i++) {
			size_t n = k * per + i;

			len += (size_t)snprintf(body + len, cap - len,
						"2001-01-%02zuT%02zu:%02zu:%02zu.%03zuZ,c%zu,%zu\n",
						1 + n / 86400000, n / 3600000 % 24, n / 60000 % 60,
						n / 1000 % 60, n % 1000, k % 4, i);
		}
		ck_assert_int_eq(post(&a, a.session, "text/csv", body, &accepted, NULL), 202);
		free(body);
	}
	ck_assert_int_eq(wait_stored(a.session, (long)(batches * per), 90), (long)(batches * per));
	path = data_path(a.session, "/export?format=csv");
	/* the first second only: quick to export whatever the build (sanitizers are slow) */
	small = data_path(a.session, "/export?format=csv&to=2001-01-01T00:00:01Z");
	/* straight to the gateway: nginx would buffer the whole export for a slow client */
	snprintf(url, sizeof(url), "%s%s", it_service_url("gateway"), path);
	for (int i = 0; i < 4; i++)
		slow[i] = slow_download(a.auth, url);
	sleep(2);
	fifth = api("GET", small, &a, NULL, NULL, &r);
	has_retry = it_resp_header(&r, "Retry-After", retry, sizeof(retry));
	/* the four downloads end here, by pid, before anything can fail */
	for (int i = 0; i < 4; i++) {
		kill(slow[i], SIGTERM);
		waitpid(slow[i], NULL, 0);
	}
	ck_assert_int_eq(fifth, 503);
	ck_assert(is_problem(&r));
	ck_assert(has_retry);
	it_resp_cleanup(&r);
	for (int i = 0; i < 50; i++) {
		long st = api("GET", small, &a, NULL, NULL, &r);

		it_resp_cleanup(&r);
		if (st == 200)
			break;
		ck_assert_int_eq(st, 503);
		usleep(200000);
	}
	ck_assert_int_eq(api("GET", small, &a, NULL, NULL, &r), 200);
	ck_assert_uint_gt(r.len, 1000 * 20); /* a reading a millisecond */
	it_resp_cleanup(&r);
	st_free(path);
	st_free(small);
	who_drop(&a);
}
END_TEST

/* Deleting a project deletes its sessions' readings (in the background, within seconds). */
START_TEST(deleted_projects_lose_their_readings)
{
	struct who a;
	struct it_resp r;
	char *body, path[128];

	weather_load();
	who_make(&a, "running");
	body = body_of(2, 0, 300);
	ck_assert_int_eq(post(&a, a.session, "text/csv", body, NULL, NULL), 202);
	ck_assert_int_eq(wait_stored(a.session, 300, 30), 300);
	snprintf(path, sizeof(path), "/api/v1/projects/%s", a.project);
	ck_assert_int_eq(api("DELETE", path, &a, NULL, NULL, &r), 204);
	it_resp_cleanup(&r);
	ck_assert_int_eq(wait_stored(a.session, 0, 30), 0);
	free(body);
	who_drop(&a);
}
END_TEST

/* ---- CSV and times through libcommon (issue 10) ---- */

/* A CSV value over 128 bytes is refused with its line and field: it used to be cut to 128
 * bytes without a word (the reading was then refused for whatever the cut left). */
START_TEST(csv_overlong_field_is_a_400_with_its_line)
{
	struct who w;
	struct it_resp r;
	char body[512], name[201];
	cJSON *doc, *e0;

	who_make(&w, "running");
	memset(name, 'a', 200);
	name[200] = '\0';
	snprintf(body, sizeof(body),
		 "ts,channel,value\n2026-01-01T00:00:00Z,a,1\n2026-01-01T00:00:01Z,\"%s\",2\n",
		 name);
	ck_assert_int_eq(post(&w, w.session, "text/csv", body, NULL, &r), 400);
	ck_assert(is_problem(&r));
	doc = json_of(&r);
	e0 = cJSON_GetArrayItem(cJSON_GetObjectItem(doc, "errors"), 0);
	ck_assert_msg(e0 != NULL, "%s", r.body);
	ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(e0, "field")), "readings[1]");
	ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(e0, "detail")),
			 "line 3, field 2: longer than 128 bytes");
	cJSON_Delete(doc);
	it_resp_cleanup(&r);
	who_drop(&w);
}
END_TEST

/* Times with offsets and microseconds are stored as the instant they name, read back in UTC;
 * a header in another order is the same file. */
START_TEST(csv_offsets_and_microseconds_read_back_in_utc)
{
	struct who w;
	struct it_resp r;
	char *path;
	cJSON *doc, *items;

	who_make(&w, "running");
	ck_assert_int_eq(post(&w, w.session, "text/csv",
			      "\xef\xbb\xbfvalue,channel,ts\r\n"
			      "1.5,a,2026-01-01T09:00:00.000001+09:00\r\n"
			      "2.5,a,2025-12-31T19:30:00.25-04:30\r\n",
			      NULL, NULL),
			 202);
	ck_assert_int_eq(wait_stored(w.session, 2, 30), 2);
	path = data_path(w.session, "");
	ck_assert_int_eq(api("GET", path, &w, NULL, NULL, &r), 200);
	doc = json_of(&r);
	items = cJSON_GetObjectItem(doc, "readings");
	ck_assert_int_eq(cJSON_GetArraySize(items), 2);
	ck_assert_str_eq(
		cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetArrayItem(items, 0), "ts")),
		"2026-01-01T00:00:00.000001Z");
	ck_assert_str_eq(
		cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetArrayItem(items, 1), "ts")),
		"2026-01-01T00:00:00.250Z");
	cJSON_Delete(doc);
	it_resp_cleanup(&r);
	st_free(path);
	who_drop(&w);
}
END_TEST

Suite *
ingest_readings_suite(void)
{
	Suite *s = suite_create("ingest_readings");
	TCase *t = tcase_create("readings");

	tcase_set_timeout(t, 120);
	tcase_add_test(t, weather_replayed_and_exported_value_for_value);
	tcase_add_test(t, pages_walk_to_the_end);
	tcase_add_test(t, same_batch_twice_stored_once);
	tcase_add_test(t, bad_input_refused_whole);
	tcase_add_test(t, closed_sessions_take_no_data);
	tcase_add_test(t, other_projects_are_invisible);
	tcase_add_test(t, device_keys_post_and_nothing_else);
	tcase_add_test(t, exports_are_capped);
	tcase_add_test(t, deleted_projects_lose_their_readings);
	tcase_add_test(t, csv_overlong_field_is_a_400_with_its_line);
	tcase_add_test(t, csv_offsets_and_microseconds_read_back_in_utc);
	suite_add_tcase(s, t);
	return s;
}
