/*
 * Unit tests for cloudevents.c: an envelope built by st_cloudevent_build parses back with the
 * same attributes and data; st_cloudevent_parse refuses each kind of bad envelope (table
 * below) and accepts the RFC 3339 variants the spec allows. No server.
 */
#include <check.h>
#include <regex.h>
#include <string.h>

#include "strata/core.h"
#include "strata/kafka.h"

Suite *cloudevents_suite(void);

static const char *
str_attr(const cJSON *ev, const char *name)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(ev, name);

	return cJSON_IsString(item) ? item->valuestring : NULL;
}

static bool
matches(const char *pattern, const char *s)
{
	regex_t re;
	bool ok;

	ck_assert_int_eq(regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB), 0);
	ok = regexec(&re, s, 0, NULL, 0) == 0;
	regfree(&re);
	return ok;
}

START_TEST(build_parse_round_trip)
{
	cJSON *data = cJSON_CreateObject();
	const cJSON *got = NULL;
	char err[128];
	char *text;
	cJSON *ev;

	cJSON_AddStringToObject(data, "session_id", "6d1f0a52-3b1e-4f7a-9d55-0c6b2b7a9e10");
	cJSON_AddNumberToObject(data, "value", 72.5);
	text = st_cloudevent_build("/strata/ingest", "strata.session.started",
				   "6d1f0a52-3b1e-4f7a-9d55-0c6b2b7a9e10", data);
	ck_assert_ptr_nonnull(text);
	ev = st_cloudevent_parse(text, strlen(text), &got, err, sizeof(err));
	ck_assert_msg(ev != NULL, "parse: %s", err);
	ck_assert_str_eq(str_attr(ev, "specversion"), "1.0");
	ck_assert_str_eq(str_attr(ev, "source"), "/strata/ingest");
	ck_assert_str_eq(str_attr(ev, "type"), "strata.session.started");
	ck_assert_str_eq(str_attr(ev, "subject"), "6d1f0a52-3b1e-4f7a-9d55-0c6b2b7a9e10");
	ck_assert_str_eq(str_attr(ev, "datacontenttype"), "application/json");
	ck_assert(matches("^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$",
			  str_attr(ev, "id")));
	ck_assert_ptr_nonnull(got);
	ck_assert_str_eq(str_attr(got, "session_id"), "6d1f0a52-3b1e-4f7a-9d55-0c6b2b7a9e10");
	ck_assert(cJSON_GetObjectItemCaseSensitive(got, "value")->valuedouble == 72.5);
	cJSON_Delete(ev);
	st_free(text);
}
END_TEST

/* The time attribute is UTC with milliseconds, as every Strata timestamp. */
START_TEST(build_time_format)
{
	const cJSON *got = NULL;
	char *text = st_cloudevent_build("/strata/auth", "strata.audit.login", NULL, NULL);
	cJSON *ev;

	ck_assert_ptr_nonnull(text);
	ev = st_cloudevent_parse(text, strlen(text), &got, NULL, 0);
	ck_assert_ptr_nonnull(ev);
	ck_assert(matches("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z$",
			  str_attr(ev, "time")));
	ck_assert_ptr_null(got); /* no data */
	ck_assert_ptr_null(cJSON_GetObjectItemCaseSensitive(ev, "subject"));
	cJSON_Delete(ev);
	st_free(text);
}
END_TEST

/* Two envelopes never share an id. */
START_TEST(build_ids_differ)
{
	char *a = st_cloudevent_build("/strata/x", "t", NULL, NULL);
	char *b = st_cloudevent_build("/strata/x", "t", NULL, NULL);
	cJSON *ea = st_cloudevent_parse(a, strlen(a), &(const cJSON *){ NULL }, NULL, 0);
	cJSON *eb = st_cloudevent_parse(b, strlen(b), &(const cJSON *){ NULL }, NULL, 0);

	ck_assert_str_ne(str_attr(ea, "id"), str_attr(eb, "id"));
	cJSON_Delete(ea);
	cJSON_Delete(eb);
	st_free(a);
	st_free(b);
}
END_TEST

/* Source and type are required; the data handed over is freed even then (no leak under ASan). */
START_TEST(build_refuses_missing_attributes)
{
	ck_assert_ptr_null(st_cloudevent_build(NULL, "t", NULL, cJSON_CreateObject()));
	ck_assert_ptr_null(st_cloudevent_build("", "t", NULL, cJSON_CreateObject()));
	ck_assert_ptr_null(st_cloudevent_build("/s", NULL, NULL, cJSON_CreateArray()));
	ck_assert_ptr_null(st_cloudevent_build("/s", "", NULL, NULL));
}
END_TEST

/* Parsing needs no NUL terminator: the length bounds it. */
START_TEST(parse_honours_length)
{
	const char *text = "{\"specversion\":\"1.0\",\"id\":\"1\",\"source\":\"/s\",\"type\":\"t\"}"
			   "GARBAGE";
	size_t len = strlen(text) - strlen("GARBAGE");
	const cJSON *data = NULL;
	cJSON *ev = st_cloudevent_parse(text, len, &data, NULL, 0);

	ck_assert_ptr_nonnull(ev);
	ck_assert_ptr_null(data);
	cJSON_Delete(ev);
	ck_assert_ptr_null(st_cloudevent_parse(text, strlen(text), &data, NULL, 0));
}
END_TEST

#define BASE "\"specversion\":\"1.0\",\"id\":\"a1\",\"source\":\"/strata/ingest\",\"type\":\"t\""

static const struct {
	const char *json;
	const char *reason; /* a word the error must contain; NULL: must parse */
} cases[] = {
	/* good */
	{ "{" BASE "}", NULL },
	{ "{" BASE ",\"data\":{\"a\":1}}", NULL },
	{ "{" BASE ",\"data\":[1,2]}", NULL },
	{ "{" BASE ",\"data\":null}", NULL },
	{ "{" BASE ",\"subject\":\"s\",\"dataschema\":\"x\",\"ext1\":5}", NULL },
	{ " {" BASE "} \n", NULL },
	{ "{" BASE ",\"time\":\"2026-01-01T00:00:00.125Z\"}", NULL },
	{ "{" BASE ",\"time\":\"2026-01-01T00:00:00Z\"}", NULL },
	{ "{" BASE ",\"time\":\"2026-01-01t23:59:60.5z\"}", NULL },
	{ "{" BASE ",\"time\":\"2024-02-29T12:00:00+09:00\"}", NULL },
	{ "{" BASE ",\"time\":\"2026-12-31T12:00:00.123456-05:30\"}", NULL },
	/* not JSON, or not one object */
	{ "", "empty" },
	{ "{", "JSON" },
	{ "not json", "JSON" },
	{ "{" BASE "", "JSON" },
	{ "{" BASE "} {}", "after" },
	{ "[1,2]", "object" },
	{ "\"1.0\"", "object" },
	{ "null", "object" },
	/* specversion */
	{ "{\"id\":\"a\",\"source\":\"/s\",\"type\":\"t\"}", "specversion" },
	{ "{\"specversion\":\"0.3\",\"id\":\"a\",\"source\":\"/s\",\"type\":\"t\"}",
	  "specversion" },
	{ "{\"specversion\":1.0,\"id\":\"a\",\"source\":\"/s\",\"type\":\"t\"}", "specversion" },
	{ "{\"specversion\":\"1.0 \",\"id\":\"a\",\"source\":\"/s\",\"type\":\"t\"}",
	  "specversion" },
	/* required attributes: missing, empty, wrong type */
	{ "{\"specversion\":\"1.0\",\"source\":\"/s\",\"type\":\"t\"}", "id" },
	{ "{\"specversion\":\"1.0\",\"id\":\"\",\"source\":\"/s\",\"type\":\"t\"}", "id" },
	{ "{\"specversion\":\"1.0\",\"id\":7,\"source\":\"/s\",\"type\":\"t\"}", "id" },
	{ "{\"specversion\":\"1.0\",\"id\":\"a\",\"type\":\"t\"}", "source" },
	{ "{\"specversion\":\"1.0\",\"id\":\"a\",\"source\":\"\",\"type\":\"t\"}", "source" },
	{ "{\"specversion\":\"1.0\",\"id\":\"a\",\"source\":null,\"type\":\"t\"}", "source" },
	{ "{\"specversion\":\"1.0\",\"id\":\"a\",\"source\":\"/s\"}", "type" },
	{ "{\"specversion\":\"1.0\",\"id\":\"a\",\"source\":\"/s\",\"type\":[\"t\"]}", "type" },
	{ "{\"specversion\":\"1.0\",\"id\":\"a\",\"source\":\"/s\",\"type\":\"\"}", "type" },
	/* optional attributes of the wrong type */
	{ "{" BASE ",\"subject\":1}", "subject" },
	{ "{" BASE ",\"datacontenttype\":true}", "datacontenttype" },
	{ "{" BASE ",\"dataschema\":{}}", "dataschema" },
	{ "{" BASE ",\"time\":1767225600000}", "time" },
	/* time format */
	{ "{" BASE ",\"time\":\"\"}", "time" },
	{ "{" BASE ",\"time\":\"2026-01-01\"}", "time" },
	{ "{" BASE ",\"time\":\"2026-01-01 00:00:00Z\"}", "time" },
	{ "{" BASE ",\"time\":\"2026-01-01T00:00:00\"}", "time" },
	{ "{" BASE ",\"time\":\"2026-13-01T00:00:00Z\"}", "time" },
	{ "{" BASE ",\"time\":\"2026-02-29T00:00:00Z\"}", "time" },
	{ "{" BASE ",\"time\":\"2026-01-01T24:00:00Z\"}", "time" },
	{ "{" BASE ",\"time\":\"2026-01-01T00:00:00.Z\"}", "time" },
	{ "{" BASE ",\"time\":\"2026-01-01T00:00:00+0900\"}", "time" },
	{ "{" BASE ",\"time\":\"2026-01-01T00:00:00Zjunk\"}", "time" },
	{ "{" BASE ",\"time\":\"26-01-01T00:00:00Z\"}", "time" },
	/* binary data is not part of Strata's contract */
	{ "{" BASE ",\"data_base64\":\"AAEC\"}", "data_base64" },
};

START_TEST(parse_table)
{
	const char *json = cases[_i].json;
	const cJSON *data = (const cJSON *)1;
	char err[160] = "unset";
	cJSON *ev = st_cloudevent_parse(json, strlen(json), &data, err, sizeof(err));

	if (cases[_i].reason == NULL) {
		ck_assert_msg(ev != NULL, "%s refused: %s", json, err);
		ck_assert_str_eq(err, "");
	} else {
		ck_assert_msg(ev == NULL, "%s accepted", json);
		ck_assert_ptr_null(data);
		ck_assert_msg(strstr(err, cases[_i].reason) != NULL, "%s: \"%s\" lacks \"%s\"",
			      json, err, cases[_i].reason);
	}
	cJSON_Delete(ev);
}
END_TEST

/* A too small error buffer is cut, never overrun. */
START_TEST(parse_small_error_buffer)
{
	const cJSON *data;
	char err[8];

	memset(err, 'x', sizeof(err));
	ck_assert_ptr_null(st_cloudevent_parse("[]", 2, &data, err, 4));
	ck_assert_int_eq(err[3], '\0');
	ck_assert_int_eq(err[4], 'x');
}
END_TEST

/* The head for callers that write their own data: it parses back whole once the data and the
 * closing brace follow, attributes escaped; too small a buffer gives 0, never a cut head. */
START_TEST(head_with_own_data)
{
	const char *subject = "a \"quoted\"\nsubject\\";
	const cJSON *got = NULL;
	char buf[ST_CLOUDEVENT_HEAD_MAX + 64], err[128];
	size_t n = st_cloudevent_head("/strata/ingest", "strata.readings.batch", subject, true, buf,
				      sizeof(buf));
	cJSON *ev;

	ck_assert_uint_gt(n, 0);
	ck_assert_uint_eq(strlen(buf), n);
	ck_assert(n + 10 < sizeof(buf));
	memcpy(buf + n, "{\"x\":[1]}}", 10);
	ev = st_cloudevent_parse(buf, n + 10, &got, err, sizeof(err));
	ck_assert_msg(ev != NULL, "%s", err);
	ck_assert_str_eq(str_attr(ev, "subject"), subject);
	ck_assert_str_eq(str_attr(ev, "type"), "strata.readings.batch");
	ck_assert_int_eq(cJSON_GetArrayItem(cJSON_GetObjectItem(got, "x"), 0)->valueint, 1);
	cJSON_Delete(ev);
	n = st_cloudevent_head("/s", "t", NULL, false, buf, sizeof(buf));
	ev = st_cloudevent_parse(buf, n, &got, err, sizeof(err));
	ck_assert_msg(ev != NULL, "%s", err);
	ck_assert_ptr_null(got);
	cJSON_Delete(ev);
	ck_assert_uint_eq(st_cloudevent_head("/s", "t", NULL, true, buf, 60), 0);
	ck_assert_uint_eq(st_cloudevent_head("", "t", NULL, true, buf, sizeof(buf)), 0);
}
END_TEST

Suite *
cloudevents_suite(void)
{
	Suite *s = suite_create("cloudevents");
	TCase *tc = tcase_create("envelope");

	tcase_add_test(tc, build_parse_round_trip);
	tcase_add_test(tc, build_time_format);
	tcase_add_test(tc, build_ids_differ);
	tcase_add_test(tc, build_refuses_missing_attributes);
	tcase_add_test(tc, parse_honours_length);
	tcase_add_loop_test(tc, parse_table, 0, (int)ST_ARRAY_LEN(cases));
	tcase_add_test(tc, parse_small_error_buffer);
	tcase_add_test(tc, head_with_own_data);
	suite_add_tcase(s, tc);
	return s;
}
