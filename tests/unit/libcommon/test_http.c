/*
 * Unit tests for the pure parts of the HTTP module (http_route.c, http_problem.c, http_req.c):
 * route matching and the values of path parameters, pattern validation, RFC 9457 problem
 * documents, reason phrases, and what an answer does with a request
 * body it leaves unread (close or keep the connection, how long to read and drop the rest).
 * No server is started.
 */
#include <check.h>
#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

#include "strata/http.h"

Suite *http_suite(void);

/* ---- route matching ---- */

static const struct {
	const char *pattern;
	const char *path;
	bool match;
	const char *params; /* "name=value|name=value" when it matches, NULL for none */
} routes[] = {
	/* root */
	{ "/", "/", true, NULL },
	{ "/", "", false, NULL },
	{ "/", "/a", false, NULL },
	{ "/", "//", false, NULL },
	/* literals */
	{ "/healthz", "/healthz", true, NULL },
	{ "/api/v1/projects", "/api/v1/projects", true, NULL },
	{ "/healthz", "/healthz/", false, NULL }, /* trailing slash */
	{ "/healthz", "/health", false, NULL },   /* a prefix of the pattern */
	{ "/healthz", "/healthzz", false, NULL }, /* the pattern is a prefix */
	{ "/healthz", "/Healthz", false, NULL },
	{ "/healthz", "healthz", false, NULL },
	{ "/healthz", "", false, NULL },
	{ "/api/v1/projects", "/api/v1/projects/1", false, NULL }, /* longer */
	{ "/api/v1/projects", "/api/v1", false, NULL },            /* shorter */
	{ "/api/v1/projects", "/api/v1/", false, NULL },
	{ "/api/v1/projects", "/api//v1/projects", false, NULL }, /* empty segment */
	{ "/a/b", "/a//b", false, NULL },
	{ "/a/b", "/a/b//", false, NULL },
	/* one parameter */
	{ "/api/v1/projects/{id}", "/api/v1/projects/42", true, "id=42" },
	{ "/api/v1/projects/{id}", "/api/v1/projects/a-b_c.d", true, "id=a-b_c.d" },
	{ "/api/v1/projects/{id}", "/api/v1/projects/", false, NULL },
	{ "/api/v1/projects/{id}", "/api/v1/projects", false, NULL },
	{ "/api/v1/projects/{id}", "/api/v1/projects/42/", false, NULL },
	{ "/api/v1/projects/{id}", "/api/v1/projects/42/x", false, NULL },
	{ "/api/v1/projects/{id}", "/api/v1/projects//", false, NULL },
	{ "/api/v1/projects/{id}", "/api/v1/project/42", false, NULL },
	{ "/{id}", "/x", true, "id=x" },
	{ "/{id}", "/", false, NULL },
	/* several parameters */
	{ "/api/v1/projects/{id}/sensors/{sensor}", "/api/v1/projects/p1/sensors/s-2", true,
	  "id=p1|sensor=s-2" },
	{ "/api/v1/projects/{id}/sensors/{sensor}", "/api/v1/projects/p1/sensors/", false, NULL },
	{ "/api/v1/projects/{id}/sensors/{sensor}", "/api/v1/projects/p1/devices/s", false, NULL },
	{ "/a/{x}/b/{y}/c/{z}", "/a/1/b/2/c/3", true, "x=1|y=2|z=3" },
	{ "/{a}/{b}", "/1/2", true, "a=1|b=2" },
	{ "/{a}/{b}", "/1/2/3", false, NULL },
	{ "/{a}/{b}", "/1", false, NULL },
	/* the rest of the path */
	{ "/files/{rest*}", "/files/a/b/c.txt", true, "rest=a/b/c.txt" },
	{ "/files/{rest*}", "/files/a", true, "rest=a" },
	{ "/files/{rest*}", "/files/a/", true, "rest=a/" },
	{ "/files/{rest*}", "/files/a//b", true, "rest=a//b" },
	{ "/files/{rest*}", "/files/", false, NULL },
	{ "/files/{rest*}", "/files", false, NULL },
	{ "/files/{rest*}", "/filesx/a", false, NULL },
	{ "/files/{rest*}", "/file/a", false, NULL },
	{ "/{rest*}", "/anything/at/all", true, "rest=anything/at/all" },
	{ "/api/{id}/raw/{path*}", "/api/7/raw/x/y", true, "id=7|path=x/y" },
};

START_TEST(route_match_table)
{
	struct st_http_params params;
	char want[128];
	size_t n = 0;
	bool got;

	memset(&params, 0xab, sizeof(params)); /* match must reset it */
	got = st_http_route_match(routes[_i].pattern, routes[_i].path, &params);
	ck_assert_msg(got == routes[_i].match, "%s vs %s: %d", routes[_i].pattern, routes[_i].path,
		      got);
	if (routes[_i].params != NULL) {
		snprintf(want, sizeof(want), "%s", routes[_i].params);
		for (char *pair = strtok(want, "|"); pair != NULL; pair = strtok(NULL, "|"), n++) {
			char *eq = strchr(pair, '=');

			*eq = '\0';
			ck_assert_uint_lt(n, params.n);
			ck_assert_uint_eq(params.name_lens[n], strlen(pair));
			ck_assert(strncmp(params.names[n], pair, params.name_lens[n]) == 0);
			ck_assert_str_eq(params.values[n], eq + 1);
		}
	}
	ck_assert_uint_eq(params.n, n);
	/* without params it gives the same answer */
	ck_assert(st_http_route_match(routes[_i].pattern, routes[_i].path, NULL) == got);
	st_http_params_cleanup(&params);
	ck_assert_uint_eq(params.n, 0);
}
END_TEST

START_TEST(route_match_every_pattern_is_valid)
{
	for (size_t i = 0; i < ST_ARRAY_LEN(routes); i++)
		ck_assert_msg(st_http_pattern_valid(routes[i].pattern), "%s", routes[i].pattern);
}
END_TEST

START_TEST(route_match_many_params_capped)
{
	const char *pattern = "/{a}/{b}/{c}/{d}/{e}/{f}/{g}/{h}/{i}/{j}";
	struct st_http_params params;

	/* more parameters than ST_HTTP_MAX_PARAMS: still a match, the first ones are kept */
	ck_assert(st_http_route_match(pattern, "/1/2/3/4/5/6/7/8/9/10", &params));
	ck_assert_uint_eq(params.n, ST_HTTP_MAX_PARAMS);
	ck_assert_str_eq(params.values[0], "1");
	ck_assert_str_eq(params.values[ST_HTTP_MAX_PARAMS - 1], "8");
	st_http_params_cleanup(&params);
}
END_TEST

/* ---- pattern validation ---- */

static const struct {
	const char *pattern;
	bool ok;
} patterns[] = {
	{ "/", true },
	{ "/a", true },
	{ "/healthz", true },
	{ "/api/v1/projects", true },
	{ "/api/v1/projects/{id}", true },
	{ "/api/v1/projects/{id}/sensors/{sensor_id}", true },
	{ "/{a}/{b}", true },
	{ "/files/{rest*}", true },
	{ "/{rest*}", true },
	{ "/a/{x}", true },
	{ "/api/v1/x-y_z.json", true },
	/* not absolute */
	{ "", false },
	{ "a", false },
	{ "a/b", false },
	{ "{id}", false },
	/* empty segments, trailing slash */
	{ "//", false },
	{ "/a/", false },
	{ "/a//b", false },
	{ "//a", false },
	/* malformed parameters */
	{ "/{}", false },
	{ "/{*}", false },
	{ "/{", false },
	{ "/}", false },
	{ "/{id", false },
	{ "/id}", false },
	{ "/a{id}", false },
	{ "/{id}a", false },
	{ "/{a{b}", false },
	{ "/{a}}", false },
	{ "/{{a}}", false },
	{ "/{a*b}", false },
	{ "/{a**}", false },
	/* the rest only last */
	{ "/{rest*}/x", false },
	{ "/files/{rest*}/", false },
	{ "/{a*}/{b*}", false },
};

START_TEST(pattern_valid_table)
{
	ck_assert_msg(st_http_pattern_valid(patterns[_i].pattern) == patterns[_i].ok, "'%s'",
		      patterns[_i].pattern);
}
END_TEST

/* ---- problem documents ---- */

/* Renders, checks the length and parses the document. */
static cJSON *
render(int status, const char *detail, const char *rid, const struct st_json_errs *errs)
{
	size_t len = 0;
	char *text = st_http_problem_render(status, detail, rid, errs, &len);
	cJSON *doc;

	ck_assert_ptr_nonnull(text);
	ck_assert_uint_eq(len, strlen(text));
	doc = cJSON_Parse(text);
	ck_assert_msg(cJSON_IsObject(doc), "%s", text);
	st_free(text);
	return doc;
}

static const char *
str_of(const cJSON *obj, const char *name)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, name);

	return cJSON_IsString(item) ? item->valuestring : NULL;
}

START_TEST(problem_members)
{
	cJSON *doc = render(404, "no project \"p1\"", "req-7", NULL);
	const cJSON *status = cJSON_GetObjectItemCaseSensitive(doc, "status");

	ck_assert_str_eq(str_of(doc, "type"), "/problems/not-found");
	ck_assert_str_eq(str_of(doc, "title"), "Not Found");
	ck_assert(cJSON_IsNumber(status));
	ck_assert_int_eq(status->valueint, 404);
	ck_assert_str_eq(str_of(doc, "detail"), "no project \"p1\"");
	ck_assert_str_eq(str_of(doc, "request_id"), "req-7");
	ck_assert_ptr_null(cJSON_GetObjectItemCaseSensitive(doc, "errors"));
	ck_assert_ptr_null(cJSON_GetObjectItemCaseSensitive(doc, "errors_total"));
	cJSON_Delete(doc);

	/* no detail, no request id: the members are left out */
	doc = render(500, NULL, NULL, NULL);
	ck_assert_ptr_null(cJSON_GetObjectItemCaseSensitive(doc, "detail"));
	ck_assert_ptr_null(cJSON_GetObjectItemCaseSensitive(doc, "request_id"));
	ck_assert_str_eq(str_of(doc, "type"), "/problems/internal-error");
	cJSON_Delete(doc);
	doc = render(500, "", "", NULL);
	ck_assert_ptr_null(cJSON_GetObjectItemCaseSensitive(doc, "detail"));
	ck_assert_ptr_null(cJSON_GetObjectItemCaseSensitive(doc, "request_id"));
	cJSON_Delete(doc);
}
END_TEST

static const struct {
	int status;
	const char *type;
	const char *title;
} problems[] = {
	{ 400, "/problems/bad-request", "Bad Request" },
	{ 401, "/problems/unauthorized", "Unauthorized" },
	{ 403, "/problems/forbidden", "Forbidden" },
	{ 404, "/problems/not-found", "Not Found" },
	{ 405, "/problems/method-not-allowed", "Method Not Allowed" },
	{ 409, "/problems/conflict", "Conflict" },
	{ 413, "/problems/content-too-large", "Content Too Large" },
	{ 415, "/problems/unsupported-media-type", "Unsupported Media Type" },
	{ 422, "/problems/validation-error", "Unprocessable Content" },
	{ 429, "/problems/too-many-requests", "Too Many Requests" },
	{ 500, "/problems/internal-error", "Internal Server Error" },
	{ 502, "/problems/bad-gateway", "Bad Gateway" },
	{ 503, "/problems/service-unavailable", "Service Unavailable" },
	{ 504, "/problems/gateway-timeout", "Gateway Timeout" },
	/* unknown statuses */
	{ 418, "/problems/error", "Unknown" },
	{ 599, "/problems/error", "Unknown" },
	{ 0, "/problems/error", "Unknown" },
};

START_TEST(problem_type_and_title_table)
{
	cJSON *doc = render(problems[_i].status, "d", "r", NULL);

	ck_assert_str_eq(str_of(doc, "type"), problems[_i].type);
	ck_assert_str_eq(str_of(doc, "title"), problems[_i].title);
	ck_assert_int_eq(cJSON_GetObjectItemCaseSensitive(doc, "status")->valueint,
			 problems[_i].status);
	cJSON_Delete(doc);
}
END_TEST

START_TEST(problem_with_errors)
{
	struct st_json_errs errs;
	const cJSON *list, *e;
	cJSON *doc;

	st_json_errs_init(&errs);
	st_json_errs_add(&errs, "name", "is required");
	st_json_errs_add(&errs, "readings[3].value", "must be a \"finite\" number");
	doc = render(400, "the body is invalid", "rid", &errs);
	/* validation errors have their own type whatever the status; the title follows it */
	ck_assert_str_eq(str_of(doc, "type"), "/problems/validation-error");
	ck_assert_str_eq(str_of(doc, "title"), "Bad Request");
	ck_assert_int_eq(cJSON_GetObjectItemCaseSensitive(doc, "status")->valueint, 400);
	list = cJSON_GetObjectItemCaseSensitive(doc, "errors");
	ck_assert(cJSON_IsArray(list));
	ck_assert_int_eq(cJSON_GetArraySize(list), 2);
	e = cJSON_GetArrayItem(list, 0);
	ck_assert_str_eq(str_of(e, "field"), "name");
	ck_assert_str_eq(str_of(e, "detail"), "is required");
	e = cJSON_GetArrayItem(list, 1);
	ck_assert_str_eq(str_of(e, "field"), "readings[3].value");
	ck_assert_str_eq(str_of(e, "detail"), "must be a \"finite\" number");
	ck_assert_ptr_null(cJSON_GetObjectItemCaseSensitive(doc, "errors_total"));
	cJSON_Delete(doc);

	doc = render(422, NULL, NULL, &errs);
	ck_assert_str_eq(str_of(doc, "type"), "/problems/validation-error");
	ck_assert_str_eq(str_of(doc, "title"), "Unprocessable Content");
	cJSON_Delete(doc);

	/* an empty list is no list */
	st_json_errs_init(&errs);
	doc = render(400, "bad", NULL, &errs);
	ck_assert_str_eq(str_of(doc, "type"), "/problems/bad-request");
	ck_assert_ptr_null(cJSON_GetObjectItemCaseSensitive(doc, "errors"));
	cJSON_Delete(doc);
}
END_TEST

START_TEST(problem_errors_total_when_capped)
{
	struct st_json_errs errs;
	cJSON *doc;

	st_json_errs_init(&errs);
	for (int i = 0; i < ST_JSON_ERRS_MAX + 5; i++)
		st_json_errs_add(&errs, "f", "bad %d", i);
	doc = render(400, NULL, NULL, &errs);
	ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(doc, "errors")),
			 ST_JSON_ERRS_MAX);
	ck_assert_int_eq(cJSON_GetObjectItemCaseSensitive(doc, "errors_total")->valueint,
			 ST_JSON_ERRS_MAX + 5);
	cJSON_Delete(doc);
}
END_TEST

START_TEST(problem_len_may_be_null)
{
	char *text = st_http_problem_render(404, NULL, NULL, NULL, NULL);

	ck_assert_str_eq(text, "{\"type\":\"/problems/not-found\",\"title\":\"Not Found\","
			       "\"status\":404}");
	st_free(text);
}
END_TEST

/* ---- reason phrases ---- */

static const struct {
	int status;
	const char *reason;
} reasons[] = {
	{ 200, "OK" },
	{ 201, "Created" },
	{ 204, "No Content" },
	{ 304, "Not Modified" },
	{ 400, "Bad Request" },
	{ 404, "Not Found" },
	{ 413, "Content Too Large" },
	{ 422, "Unprocessable Content" },
	{ 429, "Too Many Requests" },
	{ 503, "Service Unavailable" },
	{ 0, "Unknown" },
	{ -1, "Unknown" },
	{ 99, "Unknown" },
	{ 418, "Unknown" },
	{ 600, "Unknown" },
};

START_TEST(reason_table)
{
	ck_assert_str_eq(st_http_reason(reasons[_i].status), reasons[_i].reason);
}
END_TEST

/* ---- an unread request body (http_req.c) ---- */

bool http_answer_closes(bool held, int64_t left);
bool http_linger_more(size_t dropped, int64_t elapsed_ms);
bool http_head_lines_ok(const char *lines);

/* Header lines a caller composed for st_http_stream_begin_head: each a name, a colon and a
 * value ended by CRLF; no bare CR or LF, no empty line, no framing of their own. */
static const struct {
	const char *lines;
	bool ok;
} head_lines[] = {
	{ "", true },
	{ "X-A: 1\r\n", true },
	{ "X-A: 1\r\nX-B:\r\nSet-Cookie: a=b; Path=/\r\n", true },
	{ "X-A: 1", false },
	{ "X-A: 1\n", false },
	{ "X-A: 1\nX-B: 2\r\n", false },
	{ "X-A: 1\rX-B: 2\r\n", false },
	{ "X-A: 1\r\n\r\nX-B: 2\r\n", false },
	{ "\r\n", false },
	{ ": 1\r\n", false },
	{ "X A: 1\r\n", false },
	{ "X-A\r\n", false },
	{ "Content-Length: 5\r\n", false },
	{ "X-A: 1\r\ncontent-length: 5\r\n", false },
	{ "Transfer-Encoding: chunked\r\n", false },
	{ "Content-Length-X: 5\r\n", true },
};

START_TEST(head_lines_table)
{
	ck_assert_msg(http_head_lines_ok(head_lines[_i].lines) == head_lines[_i].ok, "case %d", _i);
}
END_TEST

#define MIB (1024 * 1024)

static const struct {
	bool held;    /* the client waits for 100 Continue and was not invited */
	int64_t left; /* body bytes still to come; -1 unknown (chunked) */
	bool closes;
} unread[] = {
	{ false, 0, false },      /* read to its end, or none */
	{ true, 0, false },       /* Expect without a body: nothing held */
	{ false, 1, false },      /* a small known rest is read after the answer */
	{ false, 65536, false },  /* LINGER_KEEP_MAX */
	{ false, 65537, true },   /* above it */
	{ false, 3 * MIB, true }, /* a refused upload */
	{ false, -1, true },      /* chunked: of unknown length */
	{ true, 1, true },        /* held back: it may come later and be read as a request */
	{ true, 3 * MIB, true },  { true, -1, true },
};

START_TEST(answer_closes_table)
{
	ck_assert_msg(http_answer_closes(unread[_i].held, unread[_i].left) == unread[_i].closes,
		      "held=%d left=%lld", unread[_i].held, (long long)unread[_i].left);
}
END_TEST

static const struct {
	size_t dropped;
	int64_t ms;
	bool more;
} lingering[] = {
	{ 0, 0, true },
	{ 3 * MIB, 10, true },
	{ 16 * MIB - 1, 1999, true }, /* just inside both bounds */
	{ 16 * MIB, 0, false },       /* LINGER_BYTES_MAX */
	{ 0, 2000, false },           /* LINGER_MS */
	{ 64 * MIB, 30000, false },
};

START_TEST(linger_bounds_table)
{
	ck_assert_msg(http_linger_more(lingering[_i].dropped, lingering[_i].ms) ==
			      lingering[_i].more,
		      "dropped=%zu ms=%lld", lingering[_i].dropped, (long long)lingering[_i].ms);
}
END_TEST

Suite *
http_suite(void)
{
	Suite *s = suite_create("http");
	TCase *route = tcase_create("route");
	TCase *problem = tcase_create("problem");
	TCase *misc = tcase_create("misc");
	TCase *body = tcase_create("unread_body");

	tcase_add_loop_test(route, route_match_table, 0, (int)ST_ARRAY_LEN(routes));
	tcase_add_test(route, route_match_every_pattern_is_valid);
	tcase_add_test(route, route_match_many_params_capped);
	tcase_add_loop_test(route, pattern_valid_table, 0, (int)ST_ARRAY_LEN(patterns));
	suite_add_tcase(s, route);

	tcase_add_test(problem, problem_members);
	tcase_add_loop_test(problem, problem_type_and_title_table, 0, (int)ST_ARRAY_LEN(problems));
	tcase_add_test(problem, problem_with_errors);
	tcase_add_test(problem, problem_errors_total_when_capped);
	tcase_add_test(problem, problem_len_may_be_null);
	suite_add_tcase(s, problem);

	tcase_add_loop_test(misc, reason_table, 0, (int)ST_ARRAY_LEN(reasons));
	suite_add_tcase(s, misc);

	tcase_add_loop_test(body, answer_closes_table, 0, (int)ST_ARRAY_LEN(unread));
	tcase_add_loop_test(body, linger_bounds_table, 0, (int)ST_ARRAY_LEN(lingering));
	tcase_add_loop_test(body, head_lines_table, 0, (int)ST_ARRAY_LEN(head_lines));
	suite_add_tcase(s, body);
	return s;
}
