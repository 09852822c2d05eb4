/*
 * Unit tests for fields.c's field tables: one table with a field of every type, and a table of
 * bodies, each with the errors it must give (field and detail, in order) and the SQL parameters
 * it must lay out. Then the patch parameters and cleanup. No server.
 */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "strata/fields.h"

/* Internal to fields.c, visible under ST_TESTING. */

static const char *const colours[] = { "red", "green", "blue", NULL };

/* A check of its own that records nothing: the table's words speak. */
static bool
even(const cJSON *v, const char *field, struct st_json_errs *errs)
{
	(void)field;
	(void)errs;
	return (long long)v->valuedouble % 2 == 0;
}

/* A check that records its own error below the field for "bad", and none for "worse". */
static bool
own_words(const cJSON *v, const char *field, struct st_json_errs *errs)
{
	if (strcmp(v->valuestring, "bad") == 0) {
		char name[64];

		snprintf(name, sizeof(name), "%s.part", field);
		st_json_errs_add(errs, name, "is bad");
		return false;
	}
	return strcmp(v->valuestring, "worse") != 0;
}

static const struct st_field table[] = {
	{ "name", ST_FIELD_TEXT, ST_FIELD_REQUIRED, .min = 1, .max = 5 },
	{ "note", ST_FIELD_TEXT, ST_FIELD_NULLABLE | ST_FIELD_MULTILINE, .max = 10 },
	{ "id", ST_FIELD_UUID, .flags = 0 },
	{ "count", ST_FIELD_INT, ST_FIELD_NULLABLE, .min = 0, .max = 10, .check = even },
	{ "ratio", ST_FIELD_NUMBER, 0, .min = 0, .max = 1 },
	{ "on", ST_FIELD_BOOL, .flags = 0 },
	{ "colour", ST_FIELD_ENUM, 0, .values = colours },
	{ "at", ST_FIELD_TIME, .flags = 0 },
	{ "meta", ST_FIELD_OBJECT, ST_FIELD_NULLABLE, .max = 20 },
	{ "tags", ST_FIELD_STRINGS, 0, .max = 3 },
	{ "code", ST_FIELD_TEXT, 0, .detail = "must be a code", .check = own_words },
};
enum { NAME, NOTE, ID, COUNT, RATIO, ON, COLOUR, AT, META, TAGS, CODE };

#define UUID "0b5c7a9e-2f4d-4d7e-9a1c-3e6f8b2d1c40"

static const struct {
	enum st_fields_mode mode;
	const char *body;
	const char *errors; /* "field: detail" joined by " | ", "" for none */
	int param;          /* a field whose parameter is checked, -1 for none */
	const char *want;   /* its parameter, NULL for SQL NULL */
} cases[] = {
	/* presence, null, required */
	{ ST_FIELDS_WHOLE, "{\"name\":\"abc\"}", "", NAME, "abc" },
	{ ST_FIELDS_WHOLE, "{\"name\":\"abc\"}", "", NOTE, NULL },
	{ ST_FIELDS_WHOLE, "{}", "name: is required", -1, NULL },
	{ ST_FIELDS_WHOLE, "{\"name\":null}", "name: is required", -1, NULL },
	{ ST_FIELDS_PATCH, "{}", "", NAME, NULL },
	{ ST_FIELDS_PATCH, "{\"name\":null}", "name: cannot be null", -1, NULL },
	{ ST_FIELDS_PATCH, "{\"note\":null}", "", NOTE, NULL },
	{ ST_FIELDS_PATCH, "{\"id\":null}", "id: cannot be null", -1, NULL },
	/* text: characters, not bytes; controls */
	{ ST_FIELDS_WHOLE, "{\"name\":\"\"}",
	  "name: must be 1 to 5 characters, without control characters", -1, NULL },
	{ ST_FIELDS_WHOLE, "{\"name\":\"abcdef\"}",
	  "name: must be 1 to 5 characters, without control characters", -1, NULL },
	{ ST_FIELDS_WHOLE, "{\"name\":\"h\xc3\xa9llo\"}", "", NAME, "h\xc3\xa9llo" },
	{ ST_FIELDS_WHOLE, "{\"name\":\"a\\tb\"}",
	  "name: must be 1 to 5 characters, without control characters", -1, NULL },
	{ ST_FIELDS_WHOLE, "{\"name\":\"\xc3\"}",
	  "name: must be 1 to 5 characters, without control characters", -1, NULL },
	{ ST_FIELDS_WHOLE, "{\"name\":\"\xc2\x85\"}", /* U+0085, a C1 control */
	  "name: must be 1 to 5 characters, without control characters", -1, NULL },
	{ ST_FIELDS_WHOLE, "{\"name\":1}", "name: must be a string", -1, NULL },
	{ ST_FIELDS_PATCH, "{\"note\":\"a\\tb\\r\\nc\"}", "", NOTE, "a\tb\r\nc" },
	{ ST_FIELDS_PATCH, "{\"note\":\"a\\u0001\"}",
	  "note: must be at most 10 characters, without control characters other than tabs and "
	  "line breaks",
	  -1, NULL },
	/* uuid */
	{ ST_FIELDS_PATCH, "{\"id\":\"" UUID "\"}", "", ID, UUID },
	{ ST_FIELDS_PATCH, "{\"id\":\"x\"}", "id: must be a UUID", -1, NULL },
	{ ST_FIELDS_PATCH, "{\"id\":7}", "id: must be a UUID", -1, NULL },
	/* int, with a check of its own */
	{ ST_FIELDS_PATCH, "{\"count\":4}", "", COUNT, "4" },
	{ ST_FIELDS_PATCH, "{\"count\":0}", "", COUNT, "0" },
	{ ST_FIELDS_PATCH, "{\"count\":null}", "", COUNT, NULL },
	{ ST_FIELDS_PATCH, "{\"count\":3}", "count: is not valid", COUNT, NULL },
	{ ST_FIELDS_PATCH, "{\"count\":12}", "count: must be an integer from 0 to 10", -1, NULL },
	{ ST_FIELDS_PATCH, "{\"count\":-1}", "count: must be an integer from 0 to 10", -1, NULL },
	{ ST_FIELDS_PATCH, "{\"count\":2.5}", "count: must be an integer from 0 to 10", -1, NULL },
	{ ST_FIELDS_PATCH, "{\"count\":1e300}", "count: must be an integer from 0 to 10", -1,
	  NULL },
	{ ST_FIELDS_PATCH, "{\"count\":\"2\"}", "count: must be an integer", -1, NULL },
	/* number */
	{ ST_FIELDS_PATCH, "{\"ratio\":0.25}", "", RATIO, "0.25" },
	{ ST_FIELDS_PATCH, "{\"ratio\":1}", "", RATIO, "1" },
	{ ST_FIELDS_PATCH, "{\"ratio\":1.5}", "ratio: must be a number from 0 to 1", -1, NULL },
	{ ST_FIELDS_PATCH, "{\"ratio\":true}", "ratio: must be a finite number", -1, NULL },
	/* bool */
	{ ST_FIELDS_PATCH, "{\"on\":true}", "", ON, "true" },
	{ ST_FIELDS_PATCH, "{\"on\":false}", "", ON, "false" },
	{ ST_FIELDS_PATCH, "{\"on\":1}", "on: must be true or false", -1, NULL },
	/* enum: the list in words */
	{ ST_FIELDS_PATCH, "{\"colour\":\"green\"}", "", COLOUR, "green" },
	{ ST_FIELDS_PATCH, "{\"colour\":\"Green\"}", "colour: must be red, green or blue", -1,
	  NULL },
	{ ST_FIELDS_PATCH, "{\"colour\":2}", "colour: must be red, green or blue", -1, NULL },
	/* time: RFC 3339 in, UTC with milliseconds out */
	{ ST_FIELDS_PATCH, "{\"at\":\"2026-01-01T01:00:00+01:00\"}", "", AT,
	  "2026-01-01T00:00:00.000Z" },
	{ ST_FIELDS_PATCH, "{\"at\":\"2026-01-01T00:00:00.1256Z\"}", "", AT,
	  "2026-01-01T00:00:00.125Z" },
	{ ST_FIELDS_PATCH, "{\"at\":\"2026-02-30T00:00:00Z\"}",
	  "at: must be an RFC 3339 date-time (2026-01-01T00:00:00Z)", -1, NULL },
	{ ST_FIELDS_PATCH, "{\"at\":\"2026-01-01 00:00:00\"}",
	  "at: must be an RFC 3339 date-time (2026-01-01T00:00:00Z)", -1, NULL },
	/* object: compact text, bounded */
	{ ST_FIELDS_PATCH, "{\"meta\":{ \"a\" : [1, 2] }}", "", META, "{\"a\":[1,2]}" },
	{ ST_FIELDS_PATCH, "{\"meta\":{}}", "", META, "{}" },
	{ ST_FIELDS_PATCH, "{\"meta\":null}", "", META, NULL },
	{ ST_FIELDS_PATCH, "{\"meta\":[]}", "meta: must be an object", -1, NULL },
	{ ST_FIELDS_PATCH, "{\"meta\":{\"a\":\"0123456789abcdef\"}}",
	  "meta: must be at most 20 bytes of JSON", -1, NULL },
	/* strings: a PostgreSQL array literal, quoted and escaped */
	{ ST_FIELDS_PATCH, "{\"tags\":[\"a\",\"b\\\"c\",\"d\\\\e\"]}", "", TAGS,
	  "{\"a\",\"b\\\"c\",\"d\\\\e\"}" },
	{ ST_FIELDS_PATCH, "{\"tags\":[]}", "", TAGS, "{}" },
	{ ST_FIELDS_PATCH, "{\"tags\":[\"a\",1,\"\"]}",
	  "tags[1]: must be a string of 1 to 200 characters, without control characters | "
	  "tags[2]: must be a string of 1 to 200 characters, without control characters",
	  TAGS, NULL },
	{ ST_FIELDS_PATCH, "{\"tags\":[\"a\",\"b\",\"c\",\"d\"]}",
	  "tags: must be an array of 0 to 3 strings", -1, NULL },
	{ ST_FIELDS_PATCH, "{\"tags\":\"a\"}", "tags: must be an array of strings", -1, NULL },
	/* a field's own detail and its own check */
	{ ST_FIELDS_PATCH, "{\"code\":\"fine\"}", "", CODE, "fine" },
	{ ST_FIELDS_PATCH, "{\"code\":\"bad\"}", "code.part: is bad", CODE, NULL },
	{ ST_FIELDS_PATCH, "{\"code\":\"worse\"}", "code: must be a code", CODE, NULL },
	{ ST_FIELDS_PATCH, "{\"code\":5}", "code: must be a code", -1, NULL },
	/* unknown members are refused, after the table's own errors */
	{ ST_FIELDS_WHOLE, "{\"name\":\"a\",\"zzz\":1}", "zzz: is not a known field", -1, NULL },
	{ ST_FIELDS_PATCH, "{\"Name\":\"a\"}", "Name: is not a known field", -1, NULL },
	{ ST_FIELDS_WHOLE, "{\"x\":1,\"name\":\"\",\"count\":\"x\",\"colour\":\"pink\"}",
	  "name: must be 1 to 5 characters, without control characters | count: must be an "
	  "integer | colour: must be red, green or blue | x: is not a known field",
	  -1, NULL },
};

/* The errors as "field: detail | ...". */
static void
errors_text(const struct st_json_errs *errs, char *buf, size_t cap)
{
	size_t used = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < errs->n && used < cap; i++)
		used += (size_t)snprintf(buf + used, cap - used, "%s%s: %s", i == 0 ? "" : " | ",
					 errs->items[i].field, errs->items[i].detail);
}

START_TEST(field_table)
{
	struct st_json_errs errs;
	struct st_fields v;
	cJSON *body = cJSON_Parse(cases[_i].body);
	char got[1024];
	bool ok;

	ck_assert_msg(body != NULL, "case %d does not parse", _i);
	st_json_errs_init(&errs);
	ok = st_fields_parse(table, ST_ARRAY_LEN(table), body, cases[_i].mode, &v, &errs);
	errors_text(&errs, got, sizeof(got));
	ck_assert_msg(strcmp(got, cases[_i].errors) == 0, "%s: got \"%s\", want \"%s\"",
		      cases[_i].body, got, cases[_i].errors);
	ck_assert(ok == (cases[_i].errors[0] == '\0'));
	if (cases[_i].param >= 0) {
		const char *p = v.params[cases[_i].param];

		if (cases[_i].want == NULL)
			ck_assert_msg(p == NULL, "%s: parameter %s", cases[_i].body, p);
		else
			ck_assert_msg(p != NULL && strcmp(p, cases[_i].want) == 0,
				      "%s: parameter %s, want %s", cases[_i].body,
				      p != NULL ? p : "NULL", cases[_i].want);
	}
	st_fields_cleanup(&v);
	cJSON_Delete(body);
}
END_TEST

START_TEST(present_and_patch_params)
{
	struct st_json_errs errs;
	struct st_fields v;
	cJSON *body = cJSON_Parse("{\"name\":\"a\",\"count\":null,\"meta\":{\"k\":1}}");
	const char *params[2 * ST_ARRAY_LEN(table)];
	size_t n;

	st_json_errs_init(&errs);
	ck_assert(st_fields_parse(table, ST_ARRAY_LEN(table), body, ST_FIELDS_PATCH, &v, &errs));
	ck_assert_uint_eq(v.n, ST_ARRAY_LEN(table));
	ck_assert(v.present[NAME] && v.present[COUNT] && v.present[META]);
	ck_assert(!v.present[NOTE] && !v.present[TAGS]);
	ck_assert_ptr_nonnull(v.json[COUNT]);
	ck_assert_ptr_null(v.json[NOTE]);
	n = st_fields_patch_params(&v, params, ST_ARRAY_LEN(params));
	ck_assert_uint_eq(n, 2 * ST_ARRAY_LEN(table));
	ck_assert_str_eq(params[2 * NAME], "true");
	ck_assert_str_eq(params[2 * NAME + 1], "a");
	ck_assert_str_eq(params[2 * NOTE], "false");
	ck_assert_ptr_null(params[2 * NOTE + 1]);
	ck_assert_str_eq(params[2 * COUNT], "true"); /* null: present, and SQL NULL */
	ck_assert_ptr_null(params[2 * COUNT + 1]);
	ck_assert_str_eq(params[2 * META + 1], "{\"k\":1}");
	/* a short array takes whole pairs only */
	ck_assert_uint_eq(st_fields_patch_params(&v, params, 3), 2);
	st_fields_cleanup(&v);
	st_fields_cleanup(&v); /* twice is harmless */
	cJSON_Delete(body);
}
END_TEST

START_TEST(cleanup_of_nothing)
{
	struct st_fields v;

	memset(&v, 0, sizeof(v));
	st_fields_cleanup(&v);
}
END_TEST

START_TEST(errors_past_the_cap_are_counted)
{
	struct st_json_errs errs;
	struct st_fields v;
	char json[512];
	size_t used = 0;

	for (int i = 0; i < 20; i++)
		used += (size_t)snprintf(json + used, sizeof(json) - used, "%s\"u%d\":1",
					 i == 0 ? "{" : ",", i);
	snprintf(json + used, sizeof(json) - used, "}");
	{
		cJSON *body = cJSON_Parse(json);

		st_json_errs_init(&errs);
		ck_assert(!st_fields_parse(table, ST_ARRAY_LEN(table), body, ST_FIELDS_PATCH, &v,
					   &errs));
		ck_assert_uint_eq(errs.total, 20);
		ck_assert_uint_eq(errs.n, ST_JSON_ERRS_MAX);
		st_fields_cleanup(&v);
		cJSON_Delete(body);
	}
}
END_TEST

/* \u0000 escapes, which cJSON would turn into a cut string. */
Suite *
fields_suite(void)
{
	Suite *s = suite_create("fields");
	TCase *tc = tcase_create("table");

	tcase_add_loop_test(tc, field_table, 0, (int)ST_ARRAY_LEN(cases));
	tcase_add_test(tc, present_and_patch_params);
	tcase_add_test(tc, cleanup_of_nothing);
	tcase_add_test(tc, errors_past_the_cap_are_counted);
	suite_add_tcase(s, tc);
	return s;
}
