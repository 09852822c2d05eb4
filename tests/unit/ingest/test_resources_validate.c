/*
 * Unit tests for the ingest resources' pure validators (resources_validate.c): device names,
 * project settings (category_weights), and the field-table checks made of them; list cursors.
 */
#include <check.h>

#include "strata/encode.h"
#include <string.h>

#include "ingest/ingest.h"

START_TEST(device_names)
{
	char long_name[200];

	ck_assert(ingest_device_valid("dev-1"));
	ck_assert(ingest_device_valid("A.b_c:D-9"));
	ck_assert(!ingest_device_valid(""));
	ck_assert(!ingest_device_valid(NULL));
	ck_assert(!ingest_device_valid("a b"));
	ck_assert(!ingest_device_valid("a/b"));
	ck_assert(!ingest_device_valid("caf\xc3\xa9"));
	memset(long_name, 'x', 128);
	long_name[128] = '\0';
	ck_assert(ingest_device_valid(long_name));
	long_name[128] = 'x';
	long_name[129] = '\0';
	ck_assert(!ingest_device_valid(long_name));
}
END_TEST

/* The number of errors ingest_settings_check records for a JSON text. */
static size_t
settings_errors(const char *json)
{
	struct st_json_errs errs;
	cJSON *doc = cJSON_Parse(json);

	ck_assert_ptr_nonnull(doc);
	st_json_errs_init(&errs);
	ingest_settings_check(doc, "settings", &errs);
	cJSON_Delete(doc);
	return errs.total;
}

START_TEST(settings)
{
	static const struct {
		const char *json;
		size_t errors;
	} cases[] = {
		{ "{}", 0 },
		{ "{\"other\":[1,2]}", 0 },
		{ "{\"category_weights\":{}}", 0 },
		{ "{\"category_weights\":{\"memory\":1,\"attention\":0.5,\"speed\":0}}", 0 },
		{ "[]", 1 },
		{ "3", 1 },
		{ "{\"category_weights\":[1]}", 1 },
		{ "{\"category_weights\":{\"memory\":-1}}", 1 },
		{ "{\"category_weights\":{\"memory\":\"1\"}}", 1 },
		{ "{\"category_weights\":{\"memory\":null,\"x\":true}}", 2 },
		{ "{\"category_weights\":{\"\":1}}", 1 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		ck_assert_msg(settings_errors(cases[i].json) == cases[i].errors, "%s",
			      cases[i].json);
}
END_TEST

START_TEST(settings_bounded)
{
	struct st_json_errs errs;
	cJSON *doc = cJSON_CreateObject();
	char *big = st_malloc(INGEST_METADATA_MAX + 10);

	memset(big, 'a', INGEST_METADATA_MAX + 9);
	big[INGEST_METADATA_MAX + 9] = '\0';
	cJSON_AddStringToObject(doc, "note", big);
	st_json_errs_init(&errs);
	ingest_settings_check(doc, "settings", &errs);
	ck_assert_uint_eq(errs.total, 1);
	ck_assert(!ingest_json_fits(doc, INGEST_METADATA_MAX));
	ck_assert(ingest_json_fits(doc, INGEST_METADATA_MAX + 100));
	cJSON_Delete(doc);
	st_free(big);
}
END_TEST

/* The checks the field tables use say the same as the validators they wrap. */
START_TEST(field_checks)
{
	struct st_json_errs errs;
	cJSON *good = cJSON_CreateString("dev-1"), *bad = cJSON_CreateString("a b");
	cJSON *num = cJSON_CreateNumber(1);
	cJSON *weights = cJSON_Parse("{\"category_weights\":{\"memory\":-1}}");

	st_json_errs_init(&errs);
	ck_assert(ingest_device_ok(good, "device", &errs));
	ck_assert(!ingest_device_ok(bad, "device", &errs));
	ck_assert(!ingest_device_ok(num, "device", &errs));
	ck_assert_uint_eq(errs.total, 0); /* the field's detail speaks for it */
	ck_assert(!ingest_settings_ok(weights, "settings", &errs));
	ck_assert_uint_eq(errs.total, 1);
	ck_assert_str_eq(errs.items[0].field, "settings.category_weights.memory");
	cJSON_Delete(good);
	cJSON_Delete(bad);
	cJSON_Delete(num);
	cJSON_Delete(weights);
}
END_TEST

START_TEST(cursor_round_trip)
{
	const char *id = "0b5c7a9e-2f4d-4d7e-9a1c-3e6f8b2d1c40";
	char cur[128], micros[24], out[INGEST_UUID_LEN];

	st_cursor_encode("1767225600125000", id, cur, sizeof(cur));
	ck_assert(cur[0] != '\0');
	ck_assert(st_cursor_decode(cur, micros, sizeof(micros), out, sizeof(out)));
	ck_assert_str_eq(micros, "1767225600125000");
	ck_assert_str_eq(out, id);
	ck_assert(!st_cursor_decode("", micros, sizeof(micros), out, sizeof(out)));
	ck_assert(!st_cursor_decode("not a cursor!", micros, sizeof(micros), out, sizeof(out)));
	st_cursor_encode("12x", id, cur, sizeof(cur));
	ck_assert(!st_cursor_decode(cur, micros, sizeof(micros), out, sizeof(out)));
	st_cursor_encode("12", "not-a-uuid", cur, sizeof(cur));
	ck_assert(!st_cursor_decode(cur, micros, sizeof(micros), out, sizeof(out)));
}
END_TEST

Suite *
resources_validate_suite(void)
{
	Suite *s = suite_create("resources_validate");
	TCase *tc = tcase_create("pure");

	tcase_add_test(tc, device_names);
	tcase_add_test(tc, settings);
	tcase_add_test(tc, settings_bounded);
	tcase_add_test(tc, field_checks);
	tcase_add_test(tc, cursor_round_trip);
	suite_add_tcase(s, tc);
	return s;
}
