/*
 * The request-facing parts of fields.h and the database-error policy, through a real HTTP
 * server of our own in the test process (on a port the kernel picks, so that parallel runs do
 * not collide) and libcurl: st_http_reply_db_error's table (status, Retry-After, detail),
 * st_fields_read's answers (415, 400 for JSON that is not an object, 400 with errors[]), and
 * st_page_read's ?limit= and ?cursor=. Needs no database.
 */
#include <check.h>
#include <civetweb.h>
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http_int.h"
#include "strata/encode.h"
#include "strata/fields.h"
#include "strata/metrics.h"

/* ---- the server's routes ---- */

/* GET /db/{rc}: answers as a handler whose database call failed with rc. */
static int
db_error(struct st_req *req, void *ctx)
{
	(void)ctx;
	return st_http_reply_db_error(req, (enum st_err)strtol(st_http_param(req, "rc"), NULL, 10),
				      "test");
}

static const char *const sizes[] = { "small", "large", NULL };
static const struct st_field table[] = {
	{ "name", ST_FIELD_TEXT, ST_FIELD_REQUIRED, .min = 1, .max = 10 },
	{ "size", ST_FIELD_ENUM, ST_FIELD_NULLABLE, .values = sizes },
};

/* POST /body: the parameters of a valid body, as JSON (null for SQL NULL). */
static int
body(struct st_req *req, void *ctx)
{
	struct st_fields v;
	int status = st_fields_read(req, table, ST_ARRAY_LEN(table), ST_FIELDS_WHOLE, &v,
				    "the thing is not valid");

	(void)ctx;
	if (status == 0) {
		cJSON *out = cJSON_CreateArray();

		for (size_t i = 0; i < v.n; i++)
			cJSON_AddItemToArray(out, v.params[i] != NULL
							  ? cJSON_CreateString(v.params[i])
							  : cJSON_CreateNull());
		status = st_http_reply_json(req, 200, out);
		cJSON_Delete(out);
	}
	st_fields_cleanup(&v);
	return status;
}

/* GET /page: what st_page_read made of the query. */
static int
page(struct st_req *req, void *ctx)
{
	struct st_page pg;
	int status = st_page_read(req, 50, 1000, &pg);
	cJSON *out;

	(void)ctx;
	if (status != 0)
		return status;
	out = cJSON_CreateObject();
	cJSON_AddNumberToObject(out, "limit", pg.limit);
	cJSON_AddStringToObject(out, "fetch", pg.fetch);
	cJSON_AddStringToObject(out, "micros", pg.after_micros != NULL ? pg.after_micros : "-");
	cJSON_AddStringToObject(out, "id", pg.after_id != NULL ? pg.after_id : "-");
	status = st_http_reply_json(req, 200, out);
	cJSON_Delete(out);
	return status;
}

static const struct st_route routes[] = {
	{ "GET", "/db/{rc}", db_error, ST_SCOPE_NONE },
	{ "POST", "/body", body, ST_SCOPE_NONE },
	{ "GET", "/page", page, ST_SCOPE_NONE },
};

static struct st_metrics *metrics;
static struct st_http_server *server;
static int port;

static void
setup(void)
{
	struct st_http_conf conf = {
		.service = "test-fields",
		.bind = "127.0.0.1",
		.port = 0, /* the kernel's choice */
		.threads = 2,
		.body_max = 4096,
		.keep_alive_ms = 1000,
		.request_timeout_ms = 5000,
		.routes = routes,
		.nroutes = ST_ARRAY_LEN(routes),
	};
	struct mg_server_port ports[2];

	metrics = st_metrics_create();
	conf.metrics = metrics;
	ck_assert_int_eq(st_http_server_create(&conf, &server), ST_OK);
	ck_assert_int_ge(mg_get_server_ports(server->mg, 2, ports), 1);
	port = ports[0].port;
	ck_assert_int_gt(port, 0);
}

static void
teardown(void)
{
	st_http_server_destroy(server);
	st_metrics_destroy(metrics);
}

/* ---- the client ---- */

struct answer {
	long status;
	char body[4096];
	size_t len;
	char retry_after[16];
};

static size_t
on_body(char *data, size_t size, size_t n, void *arg)
{
	struct answer *a = arg;
	size_t len = size * n;

	if (len > sizeof(a->body) - 1 - a->len)
		len = sizeof(a->body) - 1 - a->len;
	memcpy(a->body + a->len, data, len);
	a->len += len;
	a->body[a->len] = '\0';
	return size * n;
}

static size_t
on_header(char *data, size_t size, size_t n, void *arg)
{
	struct answer *a = arg;
	size_t len = size * n;

	if (len > 13 && strncasecmp(data, "Retry-After: ", 13) == 0) {
		size_t v = len - 13;

		while (v > 0 && (data[13 + v - 1] == '\r' || data[13 + v - 1] == '\n'))
			v--;
		if (v < sizeof(a->retry_after)) {
			memcpy(a->retry_after, data + 13, v);
			a->retry_after[v] = '\0';
		}
	}
	return len;
}

/* One call; content_type NULL sends none. */
static void
call(const char *method, const char *path, const char *content_type, const char *data,
     struct answer *a)
{
	CURL *c = curl_easy_init();
	struct curl_slist *hdrs = NULL;
	char url[256], ct[128];

	memset(a, 0, sizeof(*a));
	snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", port, path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, a);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, a);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 5000L);
	if (data != NULL)
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, data);
	if (content_type != NULL) {
		snprintf(ct, sizeof(ct), "Content-Type: %s", content_type);
		hdrs = curl_slist_append(hdrs, ct);
	} else {
		hdrs = curl_slist_append(hdrs, "Content-Type:");
	}
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	ck_assert_int_eq(curl_easy_perform(c), CURLE_OK);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &a->status);
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(c);
}

/* The string member name of a JSON body, "" when none. */
static const char *
member(const struct answer *a, const char *name, char *buf, size_t cap)
{
	cJSON *doc = cJSON_Parse(a->body);
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(doc, name);

	buf[0] = '\0';
	if (cJSON_IsString(it))
		st_strlcpy(buf, it->valuestring, cap);
	else if (cJSON_IsNumber(it))
		snprintf(buf, cap, "%d", it->valueint);
	cJSON_Delete(doc);
	return buf;
}

/* ---- the database-error policy, one row per error ---- */

static const struct {
	enum st_err rc;
	long status;
	const char *retry_after; /* "" for none */
	const char *detail;
} db_errors[] = {
	{ ST_ERR_UNAVAILABLE, 503, "2", NULL },
	{ ST_ERR_TIMEOUT, 503, "2", NULL },
	{ ST_ERR_CONFLICT, 409, "", "conflicts with an existing resource" },
	{ ST_ERR_INVALID, 400, "", "the database refused the values" },
	{ ST_ERR_NOT_FOUND, 404, "", "not found" },
	{ ST_ERR_INTERNAL, 500, "", "internal error" },
	{ ST_ERR_IO, 500, "", "internal error" },
	{ ST_ERR_TOO_LARGE, 500, "", "internal error" },
	{ ST_ERR_AUTH, 500, "", "internal error" },
};

static void db_error_row(size_t row);

/* One server for all rows: starting and stopping one takes CivetWeb about two seconds. */
START_TEST(db_error_table)
{
	for (size_t i = 0; i < ST_ARRAY_LEN(db_errors); i++)
		db_error_row(i);
}
END_TEST

static void
db_error_row(size_t row)
{
	struct answer a;
	char path[32], buf[256], want[8];

	snprintf(path, sizeof(path), "/db/%d", (int)db_errors[row].rc);
	call("GET", path, NULL, NULL, &a);
	ck_assert_int_eq(a.status, db_errors[row].status);
	ck_assert_str_eq(a.retry_after, db_errors[row].retry_after);
	snprintf(want, sizeof(want), "%ld", db_errors[row].status);
	ck_assert_str_eq(member(&a, "status", buf, sizeof(buf)), want); /* the body says it too */
	if (db_errors[row].detail != NULL)
		ck_assert_str_eq(member(&a, "detail", buf, sizeof(buf)), db_errors[row].detail);
}

/* ---- st_fields_read ---- */

static const struct {
	const char *content_type;
	const char *data;
	long status;
	const char *want; /* a piece of the body */
} bodies[] = {
	{ "application/json", "{\"name\":\"box\",\"size\":\"large\"}", 200, "[\"box\",\"large\"]" },
	{ "application/json", "{\"name\":\"box\"}", 200, "[\"box\",null]" },
	{ "application/json", "{\"name\":\"box\",\"size\":null}", 200, "[\"box\",null]" },
	{ "application/json", "{}", 400, "\"field\":\"name\",\"detail\":\"is required\"" },
	{ "application/json", "{\"name\":\"\",\"size\":\"huge\",\"colour\":1}", 400,
	  "\"detail\":\"the thing is not valid\"" },
	{ "application/json", "{\"name\":\"\",\"size\":\"huge\",\"colour\":1}", 400,
	  "\"field\":\"size\",\"detail\":\"must be small or large\"" },
	{ "application/json", "{\"name\":\"\",\"size\":\"huge\",\"colour\":1}", 400,
	  "\"field\":\"colour\",\"detail\":\"is not a known field\"" },
	{ "application/json", "[\"name\"]", 400, "must be a JSON object" },
	/* cJSON would keep "a" of "a\u0000b": the body is refused, not cut */
	{ "application/json", "{\"name\":\"a\\u0000b\"}", 400, "u0000, which is not accepted" },
	{ "application/json", "{\"name\":\"a\\\\u0000b\"}", 200, "[\"a\\\\u0000b\",null]" },
	{ "application/json", "{\"name\":", 400, "/problems/bad-request" },
	{ "text/plain", "{\"name\":\"box\"}", 415, "/problems/unsupported-media-type" },
};

static void
fields_read_row(size_t row)
{
	struct answer a;

	call("POST", "/body", bodies[row].content_type, bodies[row].data, &a);
	ck_assert_msg(a.status == bodies[row].status, "%s: %ld %s", bodies[row].data, a.status,
		      a.body);
	ck_assert_msg(strstr(a.body, bodies[row].want) != NULL, "%s: %s", bodies[row].data, a.body);
}

START_TEST(fields_read_table)
{
	for (size_t i = 0; i < ST_ARRAY_LEN(bodies); i++)
		fields_read_row(i);
}
END_TEST

/* ---- st_page_read ---- */

START_TEST(page_read)
{
	static const char id[] = "0b5c7a9e-2f4d-4d7e-9a1c-3e6f8b2d1c40";
	struct answer a;
	char cursor[128], path[256], buf[64];

	call("GET", "/page", NULL, NULL, &a);
	ck_assert_int_eq(a.status, 200);
	ck_assert_str_eq(member(&a, "limit", buf, sizeof(buf)), "50");
	ck_assert_str_eq(member(&a, "fetch", buf, sizeof(buf)), "51");
	ck_assert_str_eq(member(&a, "micros", buf, sizeof(buf)), "-");

	st_cursor_encode("1767225600125000", id, cursor, sizeof(cursor));
	snprintf(path, sizeof(path), "/page?limit=2&cursor=%s", cursor);
	call("GET", path, NULL, NULL, &a);
	ck_assert_int_eq(a.status, 200);
	ck_assert_str_eq(member(&a, "limit", buf, sizeof(buf)), "2");
	ck_assert_str_eq(member(&a, "fetch", buf, sizeof(buf)), "3");
	ck_assert_str_eq(member(&a, "micros", buf, sizeof(buf)), "1767225600125000");
	ck_assert_str_eq(member(&a, "id", buf, sizeof(buf)), id);

	call("GET", "/page?limit=1000", NULL, NULL, &a);
	ck_assert_int_eq(a.status, 200);
	call("GET", "/page?limit=0&cursor=zzz", NULL, NULL, &a);
	ck_assert_int_eq(a.status, 400);
	ck_assert_ptr_nonnull(strstr(a.body, "\"field\":\"limit\""));
	ck_assert_ptr_nonnull(strstr(a.body, "\"field\":\"cursor\""));
	call("GET", "/page?limit=1001", NULL, NULL, &a);
	ck_assert_int_eq(a.status, 400);
	call("GET", "/page?limit=5x", NULL, NULL, &a);
	ck_assert_int_eq(a.status, 400);
	call("GET", "/page?cursor=", NULL, NULL, &a); /* empty: the first page */
	ck_assert_int_eq(a.status, 200);
}
END_TEST

Suite *
fields_http_suite(void)
{
	Suite *s = suite_create("fields_http");
	TCase *tc = tcase_create("served");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, db_error_table);
	tcase_add_test(tc, fields_read_table);
	tcase_add_test(tc, page_read);
	suite_add_tcase(s, tc);
	return s;
}
