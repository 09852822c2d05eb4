/*
 * Unit tests for json.c: parsing bounded input (empty, malformed with its offset, trailing
 * garbage, trailing white space, input that is not NUL-terminated), objects that repeat a key
 * at any depth (refused, small objects and large ones alike; crafted large objects stay linear),
 * every typed getter on
 * required, optional, missing, null, wrong-typed and out-of-range fields, unknown-field
 * rejection, and the error list that keeps at most ST_JSON_ERRS_MAX while counting them all.
 */
#include <check.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strata/json.h"

Suite *json_suite(void);

/* ---- st_json_parse ---- */

static const struct {
	const char *text;
	size_t len;      /* 0: strlen(text) */
	const char *err; /* NULL: must parse; else a piece of the error */
} docs[] = {
	/* good */
	{ "{}", 0, NULL },
	{ "[]", 0, NULL },
	{ "{\"a\":1,\"b\":[true,null,\"x\"]}", 0, NULL },
	{ "1", 0, NULL },
	{ "\"text\"", 0, NULL },
	{ "null", 0, NULL },
	{ "  {\"a\":1}", 0, NULL },
	{ "{\"a\":1}  \n\t\r\n", 0, NULL },
	{ "{\"a\":1}GARBAGE", 7, NULL }, /* only len bytes are read */
	/* empty */
	{ "", 0, "empty body" },
	/* malformed, with the offset of the problem */
	{ "{\"a\":}", 0, "malformed JSON near byte 5" },
	{ "[1,2,]", 0, "malformed JSON near byte 5" },
	{ "{\"a\":tru}", 0, "malformed JSON near byte 5" },
	{ "{\"a\":1", 0, "malformed JSON near byte" },
	{ "{\"a\" 1}", 0, "malformed JSON near byte" },
	{ "\"unterminated", 0, "malformed JSON near byte" },
	{ "   ", 0, "malformed JSON near byte" },
	{ "nul", 0, "malformed JSON near byte 0" },
	{ "]", 0, "malformed JSON near byte 0" },
	{ "{\"a\":1}", 5, "malformed JSON near byte" }, /* cut by len */
	/* trailing garbage */
	{ "{\"a\":1} x", 0, "unexpected data after the JSON document at byte 8" },
	{ "{}{}", 0, "unexpected data after the JSON document at byte 2" },
	{ "[1] ,", 0, "at byte 4" },
	{ "{}\0", 3, "at byte 2" }, /* a NUL inside len is data */
	/* repeated keys, at any depth: cJSON would keep the first, jansson the last */
	{ "{\"a\":1,\"a\":2}", 0, "repeats the key \"a\"" },
	{ "{\"alg\":\"RS256\",\"kid\":\"k\",\"alg\":\"HS256\"}", 0, "repeats the key \"alg\"" },
	{ "{\"a\":{\"b\":1,\"c\":2,\"b\":3}}", 0, "repeats the key \"b\"" },
	{ "[{\"x\":1},{\"y\":1,\"y\":1}]", 0, "repeats the key \"y\"" },
	{ "{\"a\":[1,{\"deep\":[{\"z\":0,\"z\":0}]}]}", 0, "repeats the key \"z\"" },
	{ "{\"\":1,\"\":2}", 0, "repeats a key" },                 /* not named: empty */
	{ "{\"a\\\"b\":1,\"a\\\"b\":2}", 0, "repeats a key" },     /* not named: a quote */
	{ "{\"\\u0061\":1,\"a\":2}", 0, "repeats the key \"a\"" }, /* the same name escaped */
	/* not repeats: case, nesting, siblings, arrays */
	{ "{\"a\":1,\"A\":2}", 0, NULL },
	{ "{\"a\":{\"a\":{\"a\":1}}}", 0, NULL },
	{ "[{\"a\":1},{\"a\":2}]", 0, NULL },
	{ "{\"a\":[\"a\",\"a\"]}", 0, NULL },
	{ "{\"ab\":1,\"a\":2,\"b\":3,\"ba\":4}", 0, NULL },
};

START_TEST(parse_table)
{
	size_t len = docs[_i].len ? docs[_i].len : strlen(docs[_i].text);
	char err[128] = "";
	cJSON *json = st_json_parse(docs[_i].text, len, err, sizeof(err));

	if (docs[_i].err == NULL) {
		ck_assert_msg(json != NULL, "'%s' refused: %s", docs[_i].text, err);
	} else {
		ck_assert_msg(json == NULL, "'%s' accepted", docs[_i].text);
		ck_assert_msg(strstr(err, docs[_i].err) != NULL, "'%s': '%s' lacks '%s'",
			      docs[_i].text, err, docs[_i].err);
	}
	cJSON_Delete(json);
}
END_TEST

/* The input lives in a heap block of exactly len bytes: the sanitizer build catches a read past
 * it, as a parser that wants a NUL terminator would make. */
static cJSON *
parse_exact(const char *text, char *err, size_t errcap)
{
	size_t len = strlen(text);
	char *copy = malloc(len);
	cJSON *json;

	ck_assert_ptr_nonnull(copy);
	memcpy(copy, text, len);
	json = st_json_parse(copy, len, err, errcap);
	free(copy);
	return json;
}

/* An object of n members "k0".."k<n-1>", plus one repeating member `dup` when dup >= 0. */
static char *
big_object(size_t n, long dup)
{
	size_t cap = n * 24 + 64, len = 0;
	char *out = malloc(cap);

	ck_assert_ptr_nonnull(out);
	out[len++] = '{';
	for (size_t i = 0; i < n; i++)
		len += (size_t)snprintf(out + len, cap - len, "%s\"k%zu\":%zu", i ? "," : "", i, i);
	if (dup >= 0)
		len += (size_t)snprintf(out + len, cap - len, ",\"k%ld\":0", dup);
	snprintf(out + len, cap - len, "}");
	return out;
}

START_TEST(repeats_in_large_objects)
{
	/* sizes on both sides of the pairwise limit; the repeat first, in the middle, last */
	static const size_t sizes[] = { 2, 8, 9, 17, 1000, 50000 };

	for (size_t s = 0; s < ST_ARRAY_LEN(sizes); s++) {
		size_t n = sizes[s];
		long where[] = { -1, 0, (long)(n / 2), (long)n - 1 };

		for (size_t w = 0; w < ST_ARRAY_LEN(where); w++) {
			char *text = big_object(n, where[w]);
			char err[128] = "", want[64];
			cJSON *json = st_json_parse(text, strlen(text), err, sizeof(err));

			if (where[w] < 0) {
				ck_assert_msg(json != NULL, "n=%zu refused: %s", n, err);
				ck_assert_ptr_null(st_json_repeated_key(json));
			} else {
				snprintf(want, sizeof(want), "repeats the key \"k%ld\"", where[w]);
				ck_assert_msg(json == NULL, "n=%zu dup=%ld accepted", n, where[w]);
				ck_assert_msg(strstr(err, want) != NULL, "n=%zu: %s", n, err);
			}
			cJSON_Delete(json);
			free(text);
		}
	}
}
END_TEST

START_TEST(repeated_key_on_trees_built_by_hand)
{
	cJSON *obj = cJSON_CreateObject(), *inner = cJSON_CreateObject();

	ck_assert_ptr_null(st_json_repeated_key(NULL));
	ck_assert_ptr_null(st_json_repeated_key(obj));
	cJSON_AddNumberToObject(inner, "x", 1);
	cJSON_AddItemToObject(obj, "inner", inner);
	ck_assert_ptr_null(st_json_repeated_key(obj));
	cJSON_AddNumberToObject(inner, "x", 2); /* cJSON lets a builder repeat a name */
	ck_assert_str_eq(st_json_repeated_key(obj), "x");
	cJSON_Delete(obj);
}
END_TEST

START_TEST(parse_not_nul_terminated)
{
	static const char *const ok[] = { "12345", "{\"a\":12345}", "\"abc\"",
					  "true",  "[1,2.5e3]",     "{\"a\":1}  " };
	static const char *const bad[] = { "12345x", "{\"a\":123", "\"abc", "tru", "[1,2.5e" };
	char err[128];
	cJSON *json;

	for (size_t i = 0; i < ST_ARRAY_LEN(ok); i++) {
		json = parse_exact(ok[i], err, sizeof(err));
		ck_assert_msg(json != NULL, "'%s' refused: %s", ok[i], err);
		cJSON_Delete(json);
	}
	json = parse_exact("{\"a\":12345}", err, sizeof(err));
	ck_assert_int_eq(cJSON_GetObjectItem(json, "a")->valueint, 12345);
	cJSON_Delete(json);
	for (size_t i = 0; i < ST_ARRAY_LEN(bad); i++) {
		json = parse_exact(bad[i], err, sizeof(err));
		ck_assert_msg(json == NULL, "'%s' accepted", bad[i]);
	}
}
END_TEST

START_TEST(parse_error_buffer_small)
{
	char err[8];

	ck_assert_ptr_null(st_json_parse("{", 1, err, sizeof(err)));
	ck_assert_uint_eq(strlen(err), sizeof(err) - 1);
}
END_TEST

/* ---- typed getters ---- */

static const char *doc_text = "{"
			      "\"s\":\"hello\","
			      "\"empty\":\"\","
			      "\"n\":42,"
			      "\"neg\":-7,"
			      "\"f\":1.5,"
			      "\"two\":2.0,"
			      "\"huge\":1e300,"
			      "\"inf\":1e999,"
			      "\"imax\":9223372036854775807,"
			      "\"imin\":-9223372036854775808,"
			      "\"p62\":4611686018427387904,"
			      "\"t\":true,"
			      "\"fa\":false,"
			      "\"nul\":null,"
			      "\"o\":{\"x\":1},"
			      "\"a\":[1,2],"
			      "\"ns\":\"42\""
			      "}";

static cJSON *doc;
static struct st_json_errs errs;

static void
doc_setup(void)
{
	char err[128];

	doc = st_json_parse(doc_text, strlen(doc_text), err, sizeof(err));
	ck_assert_msg(doc != NULL, "%s", err);
	st_json_errs_init(&errs);
}

static void
doc_teardown(void)
{
	cJSON_Delete(doc);
	doc = NULL;
}

/* Asserts that the last call recorded exactly one error, on field, containing detail. */
static void
one_error(const char *field, const char *detail)
{
	ck_assert_uint_eq(errs.n, 1);
	ck_assert_uint_eq(errs.total, 1);
	ck_assert_str_eq(errs.items[0].field, field);
	ck_assert_msg(strstr(errs.items[0].detail, detail) != NULL, "'%s' lacks '%s'",
		      errs.items[0].detail, detail);
	st_json_errs_init(&errs);
}

static void
no_error(void)
{
	ck_assert_msg(errs.total == 0, "unexpected error: %s %s", errs.items[0].field,
		      errs.items[0].detail);
}

START_TEST(get_str)
{
	const char *out = "untouched";

	ck_assert(st_json_get_str(doc, "s", true, 0, &out, &errs));
	ck_assert_str_eq(out, "hello");
	ck_assert(st_json_get_str(doc, "empty", true, 10, &out, &errs));
	ck_assert_str_eq(out, "");
	no_error();

	/* optional: missing or null leaves out alone and succeeds */
	out = "untouched";
	ck_assert(st_json_get_str(doc, "missing", false, 0, &out, &errs));
	ck_assert(st_json_get_str(doc, "nul", false, 0, &out, &errs));
	ck_assert_str_eq(out, "untouched");
	no_error();

	/* required: missing or null is an error */
	ck_assert(!st_json_get_str(doc, "missing", true, 0, &out, &errs));
	one_error("missing", "is required");
	ck_assert(!st_json_get_str(doc, "nul", true, 0, &out, &errs));
	one_error("nul", "is required");

	/* wrong type, required or not */
	ck_assert(!st_json_get_str(doc, "n", false, 0, &out, &errs));
	one_error("n", "must be a string");
	ck_assert(!st_json_get_str(doc, "o", true, 0, &out, &errs));
	one_error("o", "must be a string");
	ck_assert(!st_json_get_str(doc, "t", true, 0, &out, &errs));
	one_error("t", "must be a string");

	/* length: max_len is inclusive, 0 means no limit */
	ck_assert(st_json_get_str(doc, "s", true, 5, &out, &errs));
	no_error();
	ck_assert(!st_json_get_str(doc, "s", true, 4, &out, &errs));
	one_error("s", "at most 4 characters");
	ck_assert_str_eq(out, "hello"); /* from the last success */
}
END_TEST

START_TEST(get_int)
{
	long long out = -1;

	ck_assert(st_json_get_int(doc, "n", true, 0, 100, &out, &errs));
	ck_assert_int_eq(out, 42);
	ck_assert(st_json_get_int(doc, "neg", true, -10, 0, &out, &errs));
	ck_assert_int_eq(out, -7);
	/* bounds are inclusive */
	ck_assert(st_json_get_int(doc, "n", true, 42, 42, &out, &errs));
	ck_assert_int_eq(out, 42);
	/* 2.0 is an integer */
	ck_assert(st_json_get_int(doc, "two", true, 0, 10, &out, &errs));
	ck_assert_int_eq(out, 2);
	no_error();

	out = -1;
	ck_assert(st_json_get_int(doc, "missing", false, 0, 10, &out, &errs));
	ck_assert(st_json_get_int(doc, "nul", false, 0, 10, &out, &errs));
	ck_assert_int_eq(out, -1);
	no_error();
	ck_assert(!st_json_get_int(doc, "missing", true, 0, 10, &out, &errs));
	one_error("missing", "is required");
	ck_assert(!st_json_get_int(doc, "nul", true, 0, 10, &out, &errs));
	one_error("nul", "is required");

	/* out of range, either side */
	ck_assert(!st_json_get_int(doc, "n", true, 0, 41, &out, &errs));
	one_error("n", "from 0 to 41");
	ck_assert(!st_json_get_int(doc, "n", true, 43, 100, &out, &errs));
	one_error("n", "from 43 to 100");
	ck_assert(!st_json_get_int(doc, "neg", true, 0, 10, &out, &errs));
	one_error("neg", "from 0 to 10");
	ck_assert(!st_json_get_int(doc, "huge", true, LLONG_MIN, LLONG_MAX, &out, &errs));
	one_error("huge", "must be an integer");

	/* not an integer */
	ck_assert(!st_json_get_int(doc, "f", true, 0, 10, &out, &errs));
	one_error("f", "must be an integer");
	ck_assert(!st_json_get_int(doc, "inf", true, LLONG_MIN, LLONG_MAX, &out, &errs));
	one_error("inf", "must be an integer");
	ck_assert(!st_json_get_int(doc, "ns", true, 0, 100, &out, &errs));
	one_error("ns", "must be an integer");
	ck_assert(!st_json_get_int(doc, "t", false, 0, 100, &out, &errs));
	one_error("t", "must be an integer");
	ck_assert(!st_json_get_int(doc, "a", false, 0, 100, &out, &errs));
	one_error("a", "must be an integer");
	ck_assert_int_eq(out, -1);
}
END_TEST

START_TEST(get_int_extremes)
{
	long long out = 0;

	/* -2^63 is exact in a double and in range */
	ck_assert(st_json_get_int(doc, "imin", true, LLONG_MIN, LLONG_MAX, &out, &errs));
	ck_assert(out == LLONG_MIN);
	no_error();
	/* 2^63 - 1 reads as the double 2^63, which no long long holds: refused, not wrapped */
	out = 0;
	ck_assert(!st_json_get_int(doc, "imax", true, LLONG_MIN, LLONG_MAX, &out, &errs));
	one_error("imax", "must be an integer");
	ck_assert_int_eq(out, 0);
	/* 2^62 against a maximum of 2^62 - 1, which rounds up to 2^62 as a double */
	ck_assert(!st_json_get_int(doc, "p62", true, 0, 4611686018427387903LL, &out, &errs));
	one_error("p62", "must be an integer from 0 to 4611686018427387903");
	ck_assert(st_json_get_int(doc, "p62", true, 0, 4611686018427387904LL, &out, &errs));
	ck_assert(out == 4611686018427387904LL);
}
END_TEST

START_TEST(get_num)
{
	double out = -1;

	ck_assert(st_json_get_num(doc, "f", true, &out, &errs));
	ck_assert(out == 1.5);
	ck_assert(st_json_get_num(doc, "n", true, &out, &errs));
	ck_assert(out == 42.0);
	ck_assert(st_json_get_num(doc, "huge", true, &out, &errs));
	ck_assert(out == 1e300);
	no_error();

	out = -1;
	ck_assert(st_json_get_num(doc, "missing", false, &out, &errs));
	ck_assert(st_json_get_num(doc, "nul", false, &out, &errs));
	ck_assert(out == -1);
	no_error();
	ck_assert(!st_json_get_num(doc, "missing", true, &out, &errs));
	one_error("missing", "is required");
	ck_assert(!st_json_get_num(doc, "nul", true, &out, &errs));
	one_error("nul", "is required");
	/* 1e999 overflows to infinity: not finite */
	ck_assert(!st_json_get_num(doc, "inf", true, &out, &errs));
	one_error("inf", "must be a finite number");
	ck_assert(!st_json_get_num(doc, "ns", true, &out, &errs));
	one_error("ns", "must be a finite number");
	ck_assert(!st_json_get_num(doc, "fa", false, &out, &errs));
	one_error("fa", "must be a finite number");
	ck_assert(out == -1);
}
END_TEST

START_TEST(get_bool)
{
	bool out = false;

	ck_assert(st_json_get_bool(doc, "t", true, &out, &errs));
	ck_assert(out);
	ck_assert(st_json_get_bool(doc, "fa", true, &out, &errs));
	ck_assert(!out);
	no_error();

	out = true;
	ck_assert(st_json_get_bool(doc, "missing", false, &out, &errs));
	ck_assert(st_json_get_bool(doc, "nul", false, &out, &errs));
	ck_assert(out);
	no_error();
	ck_assert(!st_json_get_bool(doc, "missing", true, &out, &errs));
	one_error("missing", "is required");
	ck_assert(!st_json_get_bool(doc, "nul", true, &out, &errs));
	one_error("nul", "is required");
	ck_assert(!st_json_get_bool(doc, "n", true, &out, &errs));
	one_error("n", "must be true or false");
	ck_assert(!st_json_get_bool(doc, "s", false, &out, &errs));
	one_error("s", "must be true or false");
}
END_TEST

START_TEST(get_obj)
{
	const cJSON *out = NULL;

	ck_assert(st_json_get_obj(doc, "o", true, cJSON_Object, &out, &errs));
	ck_assert_ptr_eq(out, cJSON_GetObjectItem(doc, "o"));
	ck_assert(st_json_get_obj(doc, "a", true, cJSON_Array, &out, &errs));
	ck_assert_int_eq(cJSON_GetArraySize(out), 2);
	no_error();

	out = NULL;
	ck_assert(st_json_get_obj(doc, "missing", false, cJSON_Object, &out, &errs));
	ck_assert(st_json_get_obj(doc, "nul", false, cJSON_Array, &out, &errs));
	ck_assert_ptr_null(out);
	no_error();
	ck_assert(!st_json_get_obj(doc, "missing", true, cJSON_Object, &out, &errs));
	one_error("missing", "is required");
	ck_assert(!st_json_get_obj(doc, "a", true, cJSON_Object, &out, &errs));
	one_error("a", "must be an object");
	ck_assert(!st_json_get_obj(doc, "o", true, cJSON_Array, &out, &errs));
	one_error("o", "must be an array");
	ck_assert(!st_json_get_obj(doc, "s", false, cJSON_Object, &out, &errs));
	one_error("s", "must be an object");
	ck_assert_ptr_null(out);
}
END_TEST

START_TEST(getters_on_a_non_object)
{
	cJSON *arr = cJSON_Parse("[1,2]");
	const char *s = NULL;
	long long i = 0;

	/* not an object: every field is missing */
	ck_assert(!st_json_get_str(arr, "x", true, 0, &s, &errs));
	one_error("x", "is required");
	ck_assert(st_json_get_int(arr, "x", false, 0, 1, &i, &errs));
	ck_assert(!st_json_get_int(NULL, "x", true, 0, 1, &i, &errs));
	one_error("x", "is required");
	cJSON_Delete(arr);
}
END_TEST

START_TEST(getters_are_case_sensitive)
{
	long long out = 0;

	ck_assert(!st_json_get_int(doc, "N", true, 0, 100, &out, &errs));
	one_error("N", "is required");
}
END_TEST

START_TEST(errors_accumulate)
{
	const char *s;
	long long i;
	bool b;

	/* a handler checks every field, then answers once with the whole list */
	st_json_get_str(doc, "n", true, 0, &s, &errs);
	st_json_get_int(doc, "f", true, 0, 9, &i, &errs);
	st_json_get_bool(doc, "missing", true, &b, &errs);
	ck_assert_uint_eq(errs.n, 3);
	ck_assert_uint_eq(errs.total, 3);
	ck_assert_str_eq(errs.items[0].field, "n");
	ck_assert_str_eq(errs.items[1].field, "f");
	ck_assert_str_eq(errs.items[2].field, "missing");
}
END_TEST

/* ---- unknown fields and the error cap ---- */

START_TEST(reject_unknown)
{
	static const char *const allowed[] = { "s",    "n",   "neg",  "f",    "two",
					       "huge", "inf", "imax", "imin", "p62",
					       "t",    "fa",  "nul",  "o",    NULL };
	static const char *const all[] = { "s",    "empty", "n",    "neg",  "f",   "two",
					   "huge", "inf",   "imax", "imin", "p62", "t",
					   "fa",   "nul",   "o",    "a",    "ns",  NULL };
	static const char *const none[] = { NULL };
	cJSON *empty = cJSON_CreateObject();

	st_json_reject_unknown(doc, all, &errs);
	no_error();
	st_json_reject_unknown(doc, allowed, &errs);
	ck_assert_uint_eq(errs.n, 3);
	ck_assert_str_eq(errs.items[0].field, "empty");
	ck_assert_str_eq(errs.items[1].field, "a");
	ck_assert_str_eq(errs.items[2].field, "ns");
	ck_assert_str_eq(errs.items[0].detail, "is not a known field");

	/* nothing allowed: every member is unknown; an empty object has none */
	st_json_errs_init(&errs);
	st_json_reject_unknown(doc, none, &errs);
	ck_assert_uint_eq(errs.total, 17);
	ck_assert_uint_eq(errs.n, ST_JSON_ERRS_MAX);
	st_json_errs_init(&errs);
	st_json_reject_unknown(empty, none, &errs);
	no_error();
	cJSON_Delete(empty);
}
END_TEST

START_TEST(errors_capped_total_counted)
{
	cJSON *obj = cJSON_CreateObject();
	static const char *const allowed[] = { "keep", NULL };
	char name[16];

	cJSON_AddNumberToObject(obj, "keep", 1);
	for (int i = 0; i < ST_JSON_ERRS_MAX + 9; i++) {
		snprintf(name, sizeof(name), "f%d", i);
		cJSON_AddNumberToObject(obj, name, i);
	}
	st_json_errs_init(&errs);
	st_json_reject_unknown(obj, allowed, &errs);
	ck_assert_uint_eq(errs.n, ST_JSON_ERRS_MAX);
	ck_assert_uint_eq(errs.total, ST_JSON_ERRS_MAX + 9);
	ck_assert_str_eq(errs.items[0].field, "f0");
	snprintf(name, sizeof(name), "f%d", ST_JSON_ERRS_MAX - 1);
	ck_assert_str_eq(errs.items[ST_JSON_ERRS_MAX - 1].field, name);

	/* adding by hand past the cap keeps counting and keeps what it has */
	for (int i = 0; i < 100; i++)
		st_json_errs_add(&errs, "extra", "n=%d", i);
	ck_assert_uint_eq(errs.n, ST_JSON_ERRS_MAX);
	ck_assert_uint_eq(errs.total, ST_JSON_ERRS_MAX + 109);
	ck_assert_str_eq(errs.items[0].field, "f0");
	cJSON_Delete(obj);
}
END_TEST

START_TEST(error_field_and_detail_are_cut)
{
	char longname[300], longdetail[400];

	memset(longname, 'n', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	memset(longdetail, 'd', sizeof(longdetail) - 1);
	longdetail[sizeof(longdetail) - 1] = '\0';
	st_json_errs_init(&errs);
	st_json_errs_add(&errs, longname, "%s", longdetail);
	ck_assert_uint_eq(errs.n, 1);
	ck_assert_uint_eq(strlen(errs.items[0].field), sizeof(errs.items[0].field) - 1);
	ck_assert_uint_eq(strlen(errs.items[0].detail), sizeof(errs.items[0].detail) - 1);
}
END_TEST

START_TEST(print_compact)
{
	cJSON *obj = cJSON_CreateObject();
	size_t len = 0;
	char *text;

	cJSON_AddStringToObject(obj, "a", "x\"y");
	cJSON_AddNumberToObject(obj, "n", 3);
	text = st_json_print(obj, &len);
	ck_assert_str_eq(text, "{\"a\":\"x\\\"y\",\"n\":3}");
	ck_assert_uint_eq(len, strlen(text));
	st_free(text);
	text = st_json_print(obj, NULL);
	st_free(text);
	cJSON_Delete(obj);
}
END_TEST

static const struct {
	const char *json;
	bool nul;
} nuls[] = {
	{ "{\"a\":\"x\\u0000y\"}", true },
	{ "{\"a\":\"\\u0000\"}", true },
	{ "{\"a\\u0000\":1}", true },           /* in a name too */
	{ "{\"a\":\"\\\\\\u0000\"}", true },    /* \\ then \u0000 */
	{ "{\"a\":\"\\\\u0000\"}", false },     /* an escaped backslash, then text */
	{ "{\"a\":\"\\\\\\\\u0000\"}", false }, /* two escaped backslashes */
	{ "{\"a\":\"\\u00000\"}", true },
	{ "{\"a\":\"\\u0001\"}", false },
	{ "{\"a\":\"\\u000\"}", false },
	{ "{\"a\":\"u0000\"}", false },
	{ "{\"a\":\"x\"}", false },
	{ "\\u000", false }, /* cut short at the end */
	{ "\\", false },
	{ "", false },
};

START_TEST(nul_escape_table)
{
	ck_assert_msg(st_json_nul_escape(nuls[_i].json, strlen(nuls[_i].json)) == nuls[_i].nul,
		      "%s", nuls[_i].json);
}
END_TEST

START_TEST(parse_refuses_nul_escape)
{
	char err[128] = "";
	static const char nul_doc[] = "{\"name\":\"a\\u0000b\"}";

	ck_assert_ptr_null(st_json_parse(nul_doc, strlen(nul_doc), err, sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "u0000"));
}
END_TEST

Suite *
json_suite(void)
{
	Suite *s = suite_create("json");
	TCase *parse = tcase_create("parse");
	TCase *get = tcase_create("get");

	tcase_add_loop_test(parse, parse_table, 0, (int)ST_ARRAY_LEN(docs));
	tcase_add_test(parse, parse_not_nul_terminated);
	tcase_add_test(parse, repeats_in_large_objects);
	tcase_add_test(parse, repeated_key_on_trees_built_by_hand);
	tcase_add_test(parse, parse_error_buffer_small);
	tcase_add_test(parse, print_compact);
	suite_add_tcase(s, parse);

	tcase_add_checked_fixture(get, doc_setup, doc_teardown);
	tcase_add_test(get, get_str);
	tcase_add_test(get, get_int);
	tcase_add_test(get, get_int_extremes);
	tcase_add_test(get, get_num);
	tcase_add_test(get, get_bool);
	tcase_add_loop_test(get, nul_escape_table, 0, (int)ST_ARRAY_LEN(nuls));
	tcase_add_test(get, parse_refuses_nul_escape);
	tcase_add_test(get, get_obj);
	tcase_add_test(get, getters_on_a_non_object);
	tcase_add_test(get, getters_are_case_sensitive);
	tcase_add_test(get, errors_accumulate);
	tcase_add_test(get, reject_unknown);
	tcase_add_test(get, errors_capped_total_counted);
	tcase_add_test(get, error_field_and_detail_are_cut);
	suite_add_tcase(s, get);
	return s;
}
