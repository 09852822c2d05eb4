/*
 * Unit tests for readings_parse.c: times to microseconds and back, values that read back
 * exactly, channel names, the three body formats (good batches, each kind of bad reading named
 * by index, the batch limit), and the strata.readings event encoding (splitting included).
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flood.h"
#include "ingest/ingest.h"
#include "strata/kafka.h"

/* ---- times ---- */

/* The grammar is libcommon's (tests/unit/libcommon/test_core.c); readings add the range and
 * a bound on the text. */
static const struct {
	const char *text;
	bool ok;
	int64_t us;
} times[] = {
	{ "1970-01-01T00:00:00Z", true, 0 },
	{ "2026-01-01T09:00:00.000001+09:00", true, INT64_C(1767225600000001) },
	{ "2199-12-31T23:59:59.999999Z", true, INT64_C(7258118399999999) },
	{ "1969-12-31T23:59:59.999999Z", false, 0 }, /* before the accepted range */
	{ "1970-01-01T00:59:59+01:00", false, 0 },   /* the same, by its offset */
	{ "2200-01-01T00:00:00Z", false, 0 },
	{ "2026-01-01T00:00:00.1234567Z", false, 0 },               /* below a microsecond */
	{ "2026-01-01T00:00:00.000000000000000000001Z", false, 0 }, /* over 40 bytes */
	{ "2026-01-01T00:00:00.000000000000000000Z", true, INT64_C(1767225600000000) },
	{ "2016-12-31T23:59:60Z", false, 0 }, /* a leap second would alias the next */
	{ "", false, 0 },
};

START_TEST(time_parse)
{
	int64_t us = -1;
	bool ok = readings_parse_time(times[_i].text, strlen(times[_i].text), &us);

	ck_assert_msg(ok == times[_i].ok, "%s", times[_i].text);
	if (ok)
		ck_assert_msg(us == times[_i].us, "%s: %lld", times[_i].text, (long long)us);
}
END_TEST

START_TEST(time_format_round_trip)
{
	char buf[40];
	int64_t back;

	st_time_format_rfc3339_us(INT64_C(1767225600125000), buf, sizeof(buf));
	ck_assert_str_eq(buf, "2026-01-01T00:00:00.125Z");
	st_time_format_rfc3339_us(INT64_C(1767225600000001), buf, sizeof(buf));
	ck_assert_str_eq(buf, "2026-01-01T00:00:00.000001Z");
	st_time_format_rfc3339_us(0, buf, sizeof(buf));
	ck_assert_str_eq(buf, "1970-01-01T00:00:00.000Z");
	for (int64_t t = 0; t < READINGS_TS_MAX_US; t += INT64_C(86399999997) * 7) {
		st_time_format_rfc3339_us(t, buf, sizeof(buf));
		ck_assert(readings_parse_time(buf, strlen(buf), &back));
		ck_assert_msg(back == t, "%s", buf);
	}
}
END_TEST

START_TEST(value_round_trip)
{
	static const double vals[] = { 0.0,
				       -0.0,
				       1.0,
				       0.1,
				       1016.6,
				       -3.8,
				       1e-300,
				       1.7976931348623157e308,
				       123456789.123456789,
				       2.0 / 3.0,
				       5e-324 };
	char buf[40];

	for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
		readings_format_value(vals[i], buf, sizeof(buf));
		ck_assert_msg(strtod(buf, NULL) == vals[i], "%s", buf);
	}
	readings_format_value(1016.6, buf, sizeof(buf));
	ck_assert_str_eq(buf, "1016.6");
	readings_format_value(0.1, buf, sizeof(buf));
	ck_assert_str_eq(buf, "0.1");
}
END_TEST

START_TEST(channels)
{
	ck_assert(readings_channel_valid("temperature", 11));
	ck_assert(readings_channel_valid("ecg/lead-II:raw_1.x", 19));
	ck_assert(!readings_channel_valid("", 0));
	ck_assert(!readings_channel_valid("with space", 10));
	ck_assert(!readings_channel_valid("quote\"", 6));
	ck_assert(!readings_channel_valid("é", 2));
	{
		char longname[66];

		memset(longname, 'a', sizeof(longname));
		ck_assert(readings_channel_valid(longname, 64));
		ck_assert(!readings_channel_valid(longname, 65));
	}
}
END_TEST

START_TEST(formats)
{
	ck_assert_int_eq(readings_format_of("application/json"), READINGS_JSON);
	ck_assert_int_eq(readings_format_of("application/json; charset=utf-8"), READINGS_JSON);
	ck_assert_int_eq(readings_format_of("Application/X-NDJSON"), READINGS_NDJSON);
	ck_assert_int_eq(readings_format_of("text/csv;header=present"), READINGS_CSV);
	ck_assert_int_eq(readings_format_of("text/plain"), READINGS_UNSUPPORTED);
	ck_assert_int_eq(readings_format_of("application/jsonx"), READINGS_UNSUPPORTED);
	ck_assert_int_eq(readings_format_of(NULL), READINGS_UNSUPPORTED);
}
END_TEST

/* ---- batches ---- */

static enum st_err
parse(enum readings_format f, const char *body, size_t max, struct readings_batch *b)
{
	readings_batch_init(b);
	return readings_parse(f, body, strlen(body), max, b);
}

static const char *
chan(const struct readings_batch *b, size_t i, char *buf)
{
	const struct readings_chan *c = &b->chans[b->items[i].ch];

	memcpy(buf, b->names + c->off, c->len);
	buf[c->len] = '\0';
	return buf;
}

START_TEST(good_batches)
{
	static const struct {
		enum readings_format f;
		const char *body;
	} cases[] = {
		{ READINGS_JSON,
		  "{\"readings\":[{\"ts\":\"2026-01-01T00:00:00.125Z\",\"channel\":"
		  "\"temperature\",\"value\":4.0},{\"value\":-1e2,\"channel\":\"wind\","
		  "\"ts\":\"2026-01-01T00:00:01Z\"},{\"ts\":\"2026-01-01T00:00:02Z\","
		  "\"channel\":\"temperature\",\"value\":0.1}]}" },
		{ READINGS_NDJSON,
		  "{\"ts\":\"2026-01-01T00:00:00.125Z\",\"channel\":\"temperature\","
		  "\"value\":4}\r\n\n{\"ts\":\"2026-01-01T00:00:01Z\",\"channel\":"
		  "\"wind\",\"value\":-100}\n{\"ts\":\"2026-01-01T00:00:02Z\","
		  "\"channel\":\"temperature\",\"value\":0.1}" },
		{ READINGS_CSV, "ts,channel,value\r\n2026-01-01T00:00:00.125Z,temperature,4.0\r\n"
				"\"2026-01-01T00:00:01Z\",\"wind\",-1e2\n2026-01-01T00:00:02Z,"
				"\"temp\"\"erature\",0.1\n" },
	};
	struct readings_batch b;
	char buf[80];

	ck_assert_int_eq(parse(cases[_i].f, cases[_i].body, 100, &b),
			 cases[_i].f == READINGS_CSV ? ST_ERR_INVALID : ST_OK);
	readings_batch_cleanup(&b);
	if (cases[_i].f == READINGS_CSV) {
		/* the same without the quote inside the channel (a quote is not a channel char) */
		const char *csv = "ts,channel,value\r\n2026-01-01T00:00:00.125Z,temperature,4.0\r\n"
				  "\"2026-01-01T00:00:01Z\",\"wind\",-1e2\n2026-01-01T00:00:02Z,"
				  "\"temperature\",0.1\n";

		ck_assert_int_eq(parse(READINGS_CSV, csv, 100, &b), ST_OK);
	} else {
		ck_assert_int_eq(parse(cases[_i].f, cases[_i].body, 100, &b), ST_OK);
	}
	ck_assert_uint_eq(b.n, 3);
	ck_assert_uint_eq(b.nchans, 2);
	ck_assert(b.items[0].ts_us == INT64_C(1767225600125000));
	ck_assert_str_eq(chan(&b, 0, buf), "temperature");
	ck_assert(b.items[0].value == 4.0);
	ck_assert_str_eq(chan(&b, 1, buf), "wind");
	ck_assert(b.items[1].value == -100.0);
	ck_assert_uint_eq(b.items[2].ch, b.items[0].ch);
	ck_assert(b.items[2].value == 0.1);
	readings_batch_cleanup(&b);
}
END_TEST

static const struct {
	enum readings_format f;
	const char *body;
	enum st_err rc;
	const char *field;  /* the first error's field */
	const char *detail; /* a part of its detail, or NULL */
} bad_cases[] = {
	{ READINGS_JSON, "{\"readings\":[", ST_ERR_INVALID, "", "malformed" },
	/* the same channel at the same time twice (the same instant written two ways) */
	{ READINGS_JSON,
	  "{\"readings\":[{\"ts\":\"2026-01-01T00:00:00Z\",\"channel\":\"a\",\"value\":1},"
	  "{\"ts\":\"2026-01-01T00:00:00Z\",\"channel\":\"b\",\"value\":1},"
	  "{\"ts\":\"2026-01-01T01:00:00+01:00\",\"channel\":\"a\",\"value\":2}]}",
	  ST_ERR_INVALID, "readings[2]", "repeats readings[0]" },
	{ READINGS_CSV,
	  "ts,channel,value\n2026-01-01T00:00:00.5Z,a,1\n2026-01-01T00:00:00.500Z,a,1\n",
	  ST_ERR_INVALID, "readings[1]", "repeats" },
	{ READINGS_JSON, "[]", ST_ERR_INVALID, "", NULL },
	{ READINGS_JSON, "{\"readings\":[]}", ST_ERR_INVALID, "readings", "at least one" },
	{ READINGS_JSON, "{\"readings\":{}}", ST_ERR_INVALID, "readings", NULL },
	{ READINGS_JSON, "{\"readings\":[],\"extra\":1}", ST_ERR_INVALID, "extra", "unknown" },
	{ READINGS_JSON,
	  "{\"readings\":[{\"ts\":\"2026-01-01T00:00:00Z\",\"channel\":\"a\",\"value\":1},"
	  "{\"ts\":\"2026-01-01T00:00:00\",\"channel\":\"a\",\"value\":1}]}",
	  ST_ERR_INVALID, "readings[1].ts", "RFC 3339" },
	{ READINGS_JSON,
	  "{\"readings\":[{\"ts\":\"2026-01-01T00:00:00Z\",\"channel\":\"a\","
	  "\"value\":\"1\"}]}",
	  ST_ERR_INVALID, "readings[0].value", "finite" },
	{ READINGS_JSON,
	  "{\"readings\":[{\"ts\":\"2026-01-01T00:00:00Z\",\"channel\":\"a\","
	  "\"value\":1e999}]}",
	  ST_ERR_INVALID, "readings[0].value", NULL },
	{ READINGS_JSON,
	  "{\"readings\":[{\"ts\":\"2026-01-01T00:00:00Z\",\"channel\":\"a\","
	  "\"value\":NaN}]}",
	  ST_ERR_INVALID, "", "malformed" },
	{ READINGS_JSON, "{\"readings\":[{\"ts\":1,\"channel\":\"a\",\"value\":1}]}",
	  ST_ERR_INVALID, "readings[0].ts", NULL },
	{ READINGS_JSON,
	  "{\"readings\":[{\"ts\":\"2026-01-01T00:00:00Z\",\"channel\":\"a b\","
	  "\"value\":1}]}",
	  ST_ERR_INVALID, "readings[0].channel", NULL },
	{ READINGS_JSON,
	  "{\"readings\":[{\"ts\":\"2026-01-01T00:00:00Z\",\"channel\":\"a\","
	  "\"value\":1,\"unit\":\"C\"}]}",
	  ST_ERR_INVALID, "readings[0].unit", "unknown" },
	{ READINGS_JSON, "{\"readings\":[1]}", ST_ERR_INVALID, "readings[0]", "object" },
	{ READINGS_JSON,
	  "{\"readings\":[{\"ts\":\"2026-01-01T00:00:00Z\",\"channel\":\"a\",\"value\":1},"
	  "{\"ts\":\"2026-01-01T00:00:00Z\",\"channel\":\"a\",\"value\":1},"
	  "{\"ts\":\"2026-01-01T00:00:00Z\",\"channel\":\"a\",\"value\":1}]}",
	  ST_ERR_TOO_LARGE, NULL, NULL },
	{ READINGS_NDJSON,
	  "{\"ts\":\"2026-01-01T00:00:00Z\",\"channel\":\"a\",\"value\":1}\n{oops\n",
	  ST_ERR_INVALID, "readings[1]", "line 2: malformed" },
	{ READINGS_NDJSON, "\n\n", ST_ERR_INVALID, "readings", NULL },
	{ READINGS_CSV, "time,channel,value\n", ST_ERR_INVALID, "", "header" },
	{ READINGS_CSV, "", ST_ERR_INVALID, "", "header" },
	{ READINGS_CSV, "ts,channel,value\n", ST_ERR_INVALID, "readings", NULL },
	{ READINGS_CSV, "ts,channel,value\n2026-01-01T00:00:00Z,a,1\n2026-01-01T00:00:00Z,a,nan\n",
	  ST_ERR_INVALID, "readings[1].value", "line 3" },
	{ READINGS_CSV, "ts,channel,value\n2026-01-01T00:00:00Z,a,Infinity\n", ST_ERR_INVALID,
	  "readings[0].value", NULL },
	{ READINGS_CSV, "ts,channel,value\n2026-01-01T00:00:00Z,a,0x10\n", ST_ERR_INVALID,
	  "readings[0].value", NULL },
	{ READINGS_CSV, "ts,channel,value\n2026-01-01T00:00:00Z,a,\n", ST_ERR_INVALID,
	  "readings[0].value", NULL },
	{ READINGS_CSV, "ts,channel,value\n2026-01-01T00:00:00Z,a\n", ST_ERR_INVALID, "readings[0]",
	  "3 fields" },
	{ READINGS_CSV, "ts,channel,value\n2026-01-01T00:00:00Z,a,1,2\n", ST_ERR_INVALID,
	  "readings[0]", "3 fields" },
	{ READINGS_CSV, "ts,channel,value\n2026-01-01T00:00:00Z,\"a,1\n", ST_ERR_INVALID,
	  "readings[0]", "line 2, field 2: a quoted field is not closed" },
	{ READINGS_CSV, "ts,channel,value\n2026-01-01T00:00:00Z,a\"b,1\n", ST_ERR_INVALID,
	  "readings[0]", "line 2, field 2: a quote inside an unquoted field" },
	{ READINGS_CSV, "ts,channel,value\n2026-01-01T00:00:00Z,a,1\n2026-01-01T00:00:00Z,a,1\n",
	  ST_ERR_TOO_LARGE, NULL, NULL },
	{ READINGS_UNSUPPORTED, "x", ST_ERR_INVALID, "", NULL },
};

START_TEST(bad_batches)
{
	struct readings_batch b;
	enum st_err rc = parse(bad_cases[_i].f, bad_cases[_i].body,
			       bad_cases[_i].rc == ST_ERR_TOO_LARGE ? 1 : 100, &b);

	if (bad_cases[_i].rc == ST_ERR_TOO_LARGE) {
		ck_assert_int_eq(rc, ST_ERR_TOO_LARGE);
	} else {
		ck_assert_msg(rc == ST_ERR_INVALID, "case %d: rc %d", _i, rc);
		ck_assert_uint_eq(b.n, 0);
		ck_assert_msg(b.errs.n > 0, "case %d", _i);
		ck_assert_msg(strcmp(b.errs.items[0].field, bad_cases[_i].field) == 0,
			      "case %d: field %s", _i, b.errs.items[0].field);
		if (bad_cases[_i].detail != NULL)
			ck_assert_msg(strstr(b.errs.items[0].detail, bad_cases[_i].detail) != NULL,
				      "case %d: detail %s", _i, b.errs.items[0].detail);
	}
	readings_batch_cleanup(&b);
}
END_TEST

START_TEST(errors_counted_beyond_kept)
{
	size_t cap = 100 * 64 + 64;
	char *body = malloc(cap);
	size_t len;
	struct readings_batch b;

	len = (size_t)snprintf(body, cap, "ts,channel,value\n");
	for (int i = 0; i < 100; i++)
		len += (size_t)snprintf(body + len, cap - len,
					"2026-01-01T00:00:00Z,bad channel,%d\n", i);
	readings_batch_init(&b);
	ck_assert_int_eq(readings_parse(READINGS_CSV, body, len, 1000, &b), ST_ERR_INVALID);
	ck_assert_uint_eq(b.errs.total, 100);
	ck_assert_uint_eq(b.errs.n, ST_JSON_ERRS_MAX);
	ck_assert_str_eq(b.errs.items[3].field, "readings[3].channel");
	ck_assert(strstr(b.errs.items[3].detail, "line 5") != NULL);
	readings_batch_cleanup(&b);
	free(body);
}
END_TEST

/* Ten thousand readings parse in a few milliseconds (a generous bound for loaded machines). */
START_TEST(large_batch_fast)
{
	size_t cap = 10000 * 80 + 64, len = 0;
	char *body = malloc(cap);
	struct readings_batch b;
	int64_t t0;

	len = (size_t)snprintf(body, cap, "{\"readings\":[");
	for (int i = 0; i < 10000; i++)
		len += (size_t)snprintf(body + len, cap - len,
					"%s{\"ts\":\"2026-01-01T%02d:%02d:%02d.250Z\",\"channel\":"
					"\"ch%d\",\"value\":%d.5}",
					i > 0 ? "," : "", i / 3600 % 24, i / 60 % 60, i % 60, i % 3,
					i);
	len += (size_t)snprintf(body + len, cap - len, "]}");
	readings_batch_init(&b);
	t0 = st_now_mono_us();
	ck_assert_int_eq(readings_parse(READINGS_JSON, body, len, 10000, &b), ST_OK);
	ck_assert_uint_eq(b.n, 10000);
	ck_assert_uint_eq(b.nchans, 3);
	ck_assert_msg(st_now_mono_us() - t0 < 500000, "took %lld us",
		      (long long)(st_now_mono_us() - t0));
	readings_batch_cleanup(&b);
	free(body);
}
END_TEST

/* ---- the event ---- */

START_TEST(event_encoding_and_split)
{
	const char *sid = "0b5c7a9e-2f4d-4d7e-9a1c-3e6f8b2d1c40";
	const char *pid = "1b5c7a9e-2f4d-4d7e-9a1c-3e6f8b2d1c41";
	struct readings_batch b;
	size_t from = 0, total = 0, msgs = 0;
	char body[4096];
	size_t len = (size_t)snprintf(body, sizeof(body), "ts,channel,value\n");

	for (int i = 0; i < 40; i++)
		len += (size_t)snprintf(body + len, sizeof(body) - len,
					"2026-01-01T00:00:%02d.000001Z,c%d,%d.25\n", i, i % 4, i);
	readings_batch_init(&b);
	ck_assert_int_eq(readings_parse(READINGS_CSV, body, len, 100, &b), ST_OK);
	while (from < b.n) {
		size_t elen;
		char *ev = readings_encode_event(&b, &from, sid, pid, 1200, &elen);
		const cJSON *data = NULL, *rows, *chans;
		char err[128];
		cJSON *doc = st_cloudevent_parse(ev, elen, &data, err, sizeof(err));

		ck_assert_msg(doc != NULL, "%s", err);
		ck_assert_uint_le(elen, 1200);
		ck_assert_str_eq(cJSON_GetObjectItem(doc, "type")->valuestring,
				 "strata.readings.batch");
		ck_assert_str_eq(cJSON_GetObjectItem(data, "session_id")->valuestring, sid);
		ck_assert_str_eq(cJSON_GetObjectItem(data, "project_id")->valuestring, pid);
		rows = cJSON_GetObjectItem(data, "readings");
		chans = cJSON_GetObjectItem(data, "channels");
		for (const cJSON *r = rows->child; r != NULL; r = r->next, total++) {
			int ci = (int)cJSON_GetArrayItem(r, 1)->valuedouble;
			char want[8];

			ck_assert(cJSON_GetArrayItem(r, 0)->valuedouble ==
				  (double)b.items[total].ts_us);
			ck_assert(cJSON_GetArrayItem(r, 2)->valuedouble == b.items[total].value);
			snprintf(want, sizeof(want), "c%zu", total % 4);
			ck_assert_str_eq(cJSON_GetArrayItem(chans, ci)->valuestring, want);
		}
		cJSON_Delete(doc);
		st_free(ev);
		msgs++;
	}
	ck_assert_uint_eq(total, 40);
	ck_assert_uint_gt(msgs, 1);
	readings_batch_cleanup(&b);
}
END_TEST

/* A CSV value over READINGS_CSV_FIELD_MAX is refused with its line and field; it used to be
 * cut to 128 bytes without a word. */
START_TEST(csv_overlong_field_is_an_error)
{
	char body[512], name[201];
	struct readings_batch b;
	size_t len;

	memset(name, 'a', 200);
	name[200] = '\0';
	len = (size_t)snprintf(body, sizeof(body),
			       "ts,channel,value\n2026-01-01T00:00:00Z,a,1\n"
			       "2026-01-01T00:00:01Z,\"%s\",2\n",
			       name);
	readings_batch_init(&b);
	ck_assert_int_eq(readings_parse(READINGS_CSV, body, len, 100, &b), ST_ERR_INVALID);
	ck_assert_uint_eq(b.errs.total, 1);
	ck_assert_str_eq(b.errs.items[0].field, "readings[1]");
	ck_assert_str_eq(b.errs.items[0].detail, "line 3, field 2: longer than 128 bytes");
	readings_batch_cleanup(&b);
}
END_TEST

START_TEST(csv_header_in_any_order)
{
	static const char ok[] = "\xef\xbb\xbfValue,TS,channel\r\n4.5,2026-01-01T00:00:00Z,a\r\n";
	static const char dup[] = "ts,channel,value,ts\n";
	struct readings_batch b;

	readings_batch_init(&b);
	ck_assert_int_eq(readings_parse(READINGS_CSV, ok, strlen(ok), 10, &b), ST_OK);
	ck_assert_uint_eq(b.n, 1);
	ck_assert(b.items[0].value == 4.5);
	ck_assert(b.items[0].ts_us == INT64_C(1767225600000000));
	readings_batch_cleanup(&b);
	readings_batch_init(&b);
	ck_assert_int_eq(readings_parse(READINGS_CSV, dup, strlen(dup), 10, &b), ST_ERR_INVALID);
	ck_assert_ptr_nonnull(strstr(b.errs.items[0].detail, "line 1: the header"));
	readings_batch_cleanup(&b);
}
END_TEST

#define FLOOD_ROWS 20000

/* A CSV batch of FLOOD_ROWS readings, each on its own channel: crafted to collide under the
 * old FNV-1a, or ordinary names of the same length. */
static char *
channel_body(bool crafted, size_t *len)
{
	size_t cap = (size_t)FLOOD_ROWS * 96 + 64, n;
	char *body = malloc(cap);
	struct flood f;

	if (crafted)
		flood_init(&f, 'c', FLOOD_FNV32);
	n = (size_t)snprintf(body, cap, "ts,channel,value\n");
	for (unsigned i = 0; i < FLOOD_ROWS; i++) {
		char name[FLOOD_LEN + 1];

		if (crafted)
			flood_name(&f, 'c', i, name);
		else
			snprintf(name, sizeof(name), "c%0*u", FLOOD_LEN - 1, i * 7919u);
		n += (size_t)snprintf(body + n, cap - n, "2026-01-01T00:00:00Z,%s,%u\n", name, i);
	}
	*len = n;
	return body;
}

/* One parse of a flood batch: every row kept, each on its own channel. */
static void
parse_channels(const char *body, size_t len)
{
	struct readings_batch b;

	readings_batch_init(&b);
	ck_assert_int_eq(readings_parse(READINGS_CSV, body, len, FLOOD_ROWS, &b), ST_OK);
	ck_assert_uint_eq(b.nchans, FLOOD_ROWS);
	readings_batch_cleanup(&b);
}

/*
 * Hash flooding: channel names chosen to share one bucket under the channel table's old
 * FNV-1a (checked below) cost no more than ordinary ones. With the old hash the crafted batch
 * took a quadratic probe; with the keyed hash both are alike.
 */
START_TEST(crafted_channels_do_not_flood)
{
	size_t clen, olen;
	char *crafted = channel_body(true, &clen), *ordinary = channel_body(false, &olen);

	{
		struct flood f;

		flood_init(&f, 'c', FLOOD_FNV32);
		flood_assert_collide(&f, 'c', FLOOD_ROWS, flood_fnv32_wide);
	}
	flood_assert_alike(parse_channels, crafted, clen, ordinary, olen);
	free(crafted);
	free(ordinary);
}
END_TEST

Suite *
readings_parse_suite(void)
{
	Suite *s = suite_create("readings_parse");
	TCase *t = tcase_create("fields");
	TCase *batches = tcase_create("batches");

	tcase_add_loop_test(t, time_parse, 0, (int)(sizeof(times) / sizeof(times[0])));
	tcase_add_test(t, time_format_round_trip);
	tcase_add_test(t, value_round_trip);
	tcase_add_test(t, channels);
	tcase_add_test(t, formats);
	suite_add_tcase(s, t);
	tcase_add_loop_test(batches, good_batches, 0, 3);
	tcase_add_loop_test(batches, bad_batches, 0,
			    (int)(sizeof(bad_cases) / sizeof(bad_cases[0])));
	tcase_add_test(batches, errors_counted_beyond_kept);
	tcase_add_test(batches, large_batch_fast);
	tcase_add_test(batches, event_encoding_and_split);
	tcase_add_test(batches, csv_overlong_field_is_an_error);
	tcase_add_test(batches, csv_header_in_any_order);
	tcase_add_test(batches, crafted_channels_do_not_flood);
	suite_add_tcase(s, batches);
	return s;
}
