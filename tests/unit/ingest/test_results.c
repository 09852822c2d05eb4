/*
 * Unit tests for diagnosis result files (services/ingest/results_parse.c): the CSV rules (header
 * by name, quoting, line ends, BOM, blank lines), every kind of bad line with its line number,
 * the row limit, and the scoring arithmetic against figures computed by hand.
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flood.h"
#include "ingest/ingest.h"

const char *results_text_problem(const char *s, size_t len, size_t max, bool allow_empty);
bool results_parse_bool(const char *s, bool *out);
const char *results_parse_ms(const char *s, double *out);
void results_rt_stats(double *x, size_t n, struct ingest_rt_stats *out);
double results_round(double x, int places);

#define HEADER "item,category,response,correct,reaction_ms\n"

/* Memory: 3 of 4 correct, times 400 600 500 1000. Attention: 1 of 3, times 200 300 250. */
static const char sample[] = HEADER "m1,memory,A,true,400\n"
				    "m2,memory,B,false,600\n"
				    "m3,memory,C,1,500\n"
				    "m4,memory,D,yes,1000\n"
				    "a1,attention,x,0,200\n"
				    "a2,attention,y,no,300\n"
				    "a3,attention,z,TRUE,250\n";

static enum st_err
parse(const char *csv, struct ingest_results *r, struct st_json_errs *errs)
{
	st_json_errs_init(errs);
	return ingest_results_parse(csv, strlen(csv), 1000, r, errs);
}

/* True when errs holds an entry for field whose detail contains part. */
static bool
has_err(const struct st_json_errs *errs, const char *field, const char *part)
{
	for (size_t i = 0; i < errs->n; i++)
		if (strcmp(errs->items[i].field, field) == 0 &&
		    strstr(errs->items[i].detail, part) != NULL)
			return true;
	return false;
}

static void
dump(const struct st_json_errs *errs)
{
	for (size_t i = 0; i < errs->n; i++)
		fprintf(stderr, "  %s: %s\n", errs->items[i].field, errs->items[i].detail);
}

#define ck_assert_near(x, y) ck_assert_msg(fabs((x) - (y)) < 1e-9, "%.12g != %.12g", (x), (y))

/* ---- parsing: good files ---- */

START_TEST(parses_a_plain_file)
{
	struct ingest_results r;
	struct st_json_errs errs;

	ck_assert_int_eq(parse(sample, &r, &errs), ST_OK);
	ck_assert_uint_eq(r.n, 7);
	ck_assert_str_eq(r.rows[0].item, "m1");
	ck_assert_str_eq(r.rows[0].category, "memory");
	ck_assert_str_eq(r.rows[0].response, "A");
	ck_assert(r.rows[0].correct);
	ck_assert(!r.rows[1].correct);
	ck_assert(r.rows[3].correct);
	ck_assert(r.rows[6].correct);
	ck_assert_near(r.rows[3].reaction_ms, 1000.0);
	ck_assert_int_eq(r.rows[0].line, 2);
	ck_assert_int_eq(r.rows[6].line, 8);
	ingest_results_cleanup(&r);
}
END_TEST

START_TEST(header_by_name_in_any_order_extra_columns_ignored)
{
	static const char csv[] = "\xef\xbb\xbf"
				  "Reaction_MS, correct ,device_ts,ITEM,response,category\r\n"
				  "512.5,no,2026-01-01T00:00:00Z,q1,,speed\r\n"
				  "\r\n"
				  "  7 ,  Yes ,x, q2 , \"a, \"\"b\"\"\" ,speed\r\n";
	struct ingest_results r;
	struct st_json_errs errs;

	ck_assert_int_eq(parse(csv, &r, &errs), ST_OK);
	ck_assert_uint_eq(r.n, 2);
	ck_assert_str_eq(r.rows[0].item, "q1");
	ck_assert_str_eq(r.rows[0].response, "");
	ck_assert(!r.rows[0].correct);
	ck_assert_near(r.rows[0].reaction_ms, 512.5);
	ck_assert_str_eq(r.rows[1].item, "q2");
	ck_assert_str_eq(r.rows[1].response, "a, \"b\"");
	ck_assert(r.rows[1].correct);
	ck_assert_near(r.rows[1].reaction_ms, 7.0);
	ck_assert_int_eq(r.rows[1].line, 4); /* the blank line 3 counts */
	ingest_results_cleanup(&r);
}
END_TEST

START_TEST(quoted_line_breaks_and_no_final_newline)
{
	static const char csv[] = HEADER "\"i1\",c,\"two\r\nlines\",1,5\n"
					 "i2,c,\"\",0,6e1";
	struct ingest_results r;
	struct st_json_errs errs;

	ck_assert_int_eq(parse(csv, &r, &errs), ST_OK);
	ck_assert_uint_eq(r.n, 2);
	ck_assert_str_eq(r.rows[0].response, "two\r\nlines");
	ck_assert_str_eq(r.rows[1].response, "");
	ck_assert_near(r.rows[1].reaction_ms, 60.0);
	ck_assert_int_eq(r.rows[1].line, 4);
	ingest_results_cleanup(&r);
}
END_TEST

START_TEST(line_numbers_follow_quoted_line_breaks)
{
	static const char csv[] = HEADER "i1,c,\"two\nlines\",1,5\n"
					 "i2,c,x,maybe,6\n";
	struct ingest_results r;
	struct st_json_errs errs;

	ck_assert_int_eq(parse(csv, &r, &errs), ST_ERR_INVALID);
	ck_assert_uint_eq(errs.total, 1);
	ck_assert(has_err(&errs, "line 4: correct", "true, false"));
}
END_TEST

/* ---- parsing: bad files ---- */

static const struct {
	const char *csv;
	const char *field;
	const char *part;
} bad[] = {
	{ "", "line 1: header", "empty" },
	{ "\xef\xbb\xbf", "line 1: header", "empty" },
	{ "item,category,response,correct\nq,c,r,1\n", "line 1: header",
	  "missing column reaction_ms" },
	{ "item,category,response,correct,reaction_ms,Item\n", "line 1: header",
	  "item appears twice" },
	{ HEADER, "line 2", "no result lines" },
	{ HEADER "\n\n", "line 2", "no result lines" },
	{ HEADER "q,c,r,1\n", "line 2", "has 4 fields, the header has 5" },
	{ HEADER "q,c,r,1,2,3\n", "line 2", "has 6 fields" },
	{ HEADER ",c,r,1,2\n", "line 2: item", "must not be empty" },
	{ HEADER "q, ,r,1,2\n", "line 2: category", "must not be empty" },
	{ HEADER "q,ccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc,r,1,2\n",
	  "line 2: category", "at most 64 characters" },
	{ HEADER "q,c,r,maybe,2\n", "line 2: correct", "true, false, 1, 0, yes or no" },
	{ HEADER "q,c,r,,2\n", "line 2: correct", "true, false" },
	{ HEADER "q,c,r,1,\n", "line 2: reaction_ms", "number of milliseconds" },
	{ HEADER "q,c,r,1,-5\n", "line 2: reaction_ms", "not be negative" },
	{ HEADER "q,c,r,1,nan\n", "line 2: reaction_ms", "number of milliseconds" },
	{ HEADER "q,c,r,1,inf\n", "line 2: reaction_ms", "number of milliseconds" },
	{ HEADER "q,c,r,1,0x10\n", "line 2: reaction_ms", "number of milliseconds" },
	{ HEADER "q,c,r,1,1e400\n", "line 2: reaction_ms", "finite" },
	{ HEADER "q,c,r,1,12ms\n", "line 2: reaction_ms", "number of milliseconds" },
	{ HEADER "q,c,r,1,3600000.5\n", "line 2: reaction_ms", "at most 3600000" },
	{ HEADER "q,c,r,1,1\nx,c,r,1,1\nq,c,r,0,2\n", "line 4: item",
	  "\"q\" appears already on line 2" },
	{ HEADER "q,c,\"open,1,2\n", "line 2", "not closed" },
	{ HEADER "q,c,\"r\"x,1,2\n", "line 2", "after a closing quote" },
	{ HEADER "q,c,r\"r,1,2\n", "line 2", "quote inside an unquoted field" },
	{ HEADER "q,c\xff,r,1,2\n", "line 2: category", "UTF-8" },
	{ HEADER "q,c\xed\xa0\x80,r,1,2\n", "line 2: category", "UTF-8" }, /* a surrogate */
	{ HEADER "q,c,r\x01,1,2\n", "line 2: response", "control characters" },
	{ HEADER "q\tz,c,r,1,2\n", "line 2: item", "control characters" },
	{ HEADER "\"q\nz\",c,r,1,2\n", "line 2: item", "control characters" },
};

START_TEST(bad_lines_are_named)
{
	struct ingest_results r;
	struct st_json_errs errs;
	enum st_err rc = parse(bad[_i].csv, &r, &errs);

	ck_assert_msg(rc == ST_ERR_INVALID, "case %d accepted", _i);
	if (!has_err(&errs, bad[_i].field, bad[_i].part)) {
		dump(&errs);
		ck_abort_msg("case %d: no \"%s\" error with \"%s\"", _i, bad[_i].field,
			     bad[_i].part);
	}
	ck_assert_uint_eq(r.n, 0);
	ck_assert_ptr_null(r.rows);
}
END_TEST

START_TEST(an_embedded_nul_is_refused)
{
	static const char csv[] = HEADER "q,c,r,1,2\0"
					 "0\n";
	struct ingest_results r;
	struct st_json_errs errs;

	st_json_errs_init(&errs);
	ck_assert_int_eq(ingest_results_parse(csv, sizeof(csv) - 1, 10, &r, &errs), ST_ERR_INVALID);
	ck_assert(has_err(&errs, "line 2: reaction_ms", "number"));
}
END_TEST

START_TEST(parsing_goes_on_and_the_list_is_capped)
{
	char csv[4096];
	size_t n = (size_t)snprintf(csv, sizeof(csv), HEADER);
	struct ingest_results r;
	struct st_json_errs errs;

	n += (size_t)snprintf(csv + n, sizeof(csv) - n, "ok,c,r,1,1\n");
	for (int i = 0; i < 20; i++)
		n += (size_t)snprintf(csv + n, sizeof(csv) - n, "q%d,c,r,1,-%d\n", i, i + 1);
	ck_assert_int_eq(parse(csv, &r, &errs), ST_ERR_INVALID);
	ck_assert_uint_eq(errs.total, 20);
	ck_assert_uint_eq(errs.n, ST_JSON_ERRS_MAX);
	ck_assert_str_eq(errs.items[0].field, "line 3: reaction_ms");
	ck_assert_str_eq(errs.items[15].field, "line 18: reaction_ms");
}
END_TEST

START_TEST(several_errors_on_one_line)
{
	struct ingest_results r;
	struct st_json_errs errs;

	ck_assert_int_eq(parse(HEADER "q,,r,perhaps,-1\n", &r, &errs), ST_ERR_INVALID);
	ck_assert_uint_eq(errs.total, 3);
	ck_assert(has_err(&errs, "line 2: category", "empty"));
	ck_assert(has_err(&errs, "line 2: correct", "yes or no"));
	ck_assert(has_err(&errs, "line 2: reaction_ms", "negative"));
}
END_TEST

START_TEST(the_row_limit)
{
	static const char csv[] = HEADER "a,c,r,1,1\nb,c,r,1,1\n\nc,c,r,1,1\n";
	struct ingest_results r;
	struct st_json_errs errs;

	st_json_errs_init(&errs);
	ck_assert_int_eq(ingest_results_parse(csv, strlen(csv), 3, &r, &errs), ST_OK);
	ck_assert_uint_eq(r.n, 3);
	ingest_results_cleanup(&r);
	ck_assert_int_eq(ingest_results_parse(csv, strlen(csv), 2, &r, &errs), ST_ERR_TOO_LARGE);
	ck_assert_uint_eq(r.n, 0);
	ck_assert_uint_eq(errs.total, 0);
}
END_TEST

START_TEST(many_items_all_distinct)
{
	/* enough rows to grow the duplicate set several times; one duplicate at the end */
	size_t cap = 64 + 3000 * 24, n;
	char *csv = malloc(cap);
	struct ingest_results r;
	struct st_json_errs errs;

	n = (size_t)snprintf(csv, cap, HEADER);
	for (int i = 0; i < 3000; i++)
		n += (size_t)snprintf(csv + n, cap - n, "item-%d,c%d,,1,%d\n", i, i % 7, i);
	st_json_errs_init(&errs);
	ck_assert_int_eq(ingest_results_parse(csv, n, 100000, &r, &errs), ST_OK);
	ck_assert_uint_eq(r.n, 3000);
	ingest_results_cleanup(&r);
	n += (size_t)snprintf(csv + n, cap - n, "item-1234,c,,1,1\n");
	ck_assert_int_eq(ingest_results_parse(csv, n, 100000, &r, &errs), ST_ERR_INVALID);
	ck_assert(has_err(&errs, "line 3002: item", "appears already on line 1236"));
	free(csv);
}
END_TEST

/* A value longer than the reader's limit is an error on its line, never a cut value. */
START_TEST(an_overlong_value_is_named)
{
	size_t cap = 10000 + 128, n;
	char *csv = malloc(cap);
	struct ingest_results r;
	struct st_json_errs errs;

	n = (size_t)snprintf(csv, cap, HEADER "ok,c,r,1,1\nq,c,\"");
	memset(csv + n, 'x', 9000);
	n += 9000;
	n += (size_t)snprintf(csv + n, cap - n, "\",1,2\nz,c,r,1,1\n");
	st_json_errs_init(&errs);
	ck_assert_int_eq(ingest_results_parse(csv, n, 100, &r, &errs), ST_ERR_INVALID);
	ck_assert_uint_eq(errs.total, 1);
	ck_assert(has_err(&errs, "line 3", "line 3, field 3: longer than 8192 bytes"));
	free(csv);
}
END_TEST

#define FLOOD_ROWS 20000

/* FLOOD_ROWS result lines with distinct items: crafted to share one bucket of the old FNV-1a
 * set, or ordinary names of the same length. */
static char *
items_file(bool crafted, size_t *len)
{
	size_t cap = (size_t)FLOOD_ROWS * 80 + 64, n;
	char *csv = malloc(cap);
	struct flood f;

	if (crafted)
		flood_init(&f, 'q', FLOOD_FNV64);
	n = (size_t)snprintf(csv, cap, HEADER);
	for (unsigned i = 0; i < FLOOD_ROWS; i++) {
		char name[FLOOD_LEN + 1];

		if (crafted)
			flood_name(&f, 'q', i, name);
		else
			snprintf(name, sizeof(name), "q%0*u", FLOOD_LEN - 1, i * 7919u);
		n += (size_t)snprintf(csv + n, cap - n, "%s,c%u,,1,%u\n", name, i % 5, i % 900);
	}
	*len = n;
	return csv;
}

/* One parse of a flood file: every row kept. */
static void
parse_items(const char *csv, size_t len)
{
	struct ingest_results r;
	struct st_json_errs errs;

	st_json_errs_init(&errs);
	ck_assert_int_eq(ingest_results_parse(csv, len, FLOOD_ROWS, &r, &errs), ST_OK);
	ck_assert_uint_eq(r.n, FLOOD_ROWS);
	ingest_results_cleanup(&r);
}

/*
 * Hash flooding (issue 10): 20,000 item names that all share one bucket under the duplicate
 * set's old FNV-1a (checked here) took some 80 times as long as ordinary names. With the keyed
 * hash they cost the same, within a small factor.
 */
START_TEST(crafted_items_do_not_flood)
{
	size_t clen, olen;
	char *crafted = items_file(true, &clen), *ordinary = items_file(false, &olen);

	{
		struct flood f;

		flood_init(&f, 'q', FLOOD_FNV64);
		flood_assert_collide(&f, 'q', FLOOD_ROWS, flood_fnv64);
	}
	flood_assert_alike(parse_items, crafted, clen, ordinary, olen);
	free(crafted);
	free(ordinary);
}
END_TEST

/* ---- values ---- */

START_TEST(values)
{
	bool b = false;
	double ms = -1;

	ck_assert(results_parse_bool("Yes", &b) && b);
	ck_assert(results_parse_bool("FALSE", &b) && !b);
	ck_assert(!results_parse_bool("y", &b));
	ck_assert(!results_parse_bool("2", &b));
	ck_assert_ptr_null(results_parse_ms("0", &ms));
	ck_assert_near(ms, 0.0);
	ck_assert(!signbit(ms));
	ck_assert_ptr_null(results_parse_ms("-0", &ms));
	ck_assert(!signbit(ms));
	ck_assert_ptr_null(results_parse_ms(".5", &ms));
	ck_assert_near(ms, 0.5);
	ck_assert_ptr_null(results_parse_ms("+1.5E3", &ms));
	ck_assert_near(ms, 1500.0);
	ck_assert_ptr_null(results_parse_ms("3600000", &ms));
	ck_assert_ptr_nonnull(results_parse_ms(".", &ms));
	ck_assert_ptr_nonnull(results_parse_ms("1e", &ms));
	ck_assert_ptr_nonnull(results_parse_ms("1 2", &ms));
	ck_assert_ptr_null(results_text_problem("caf\xc3\xa9", 5, 4, false)); /* 4 characters */
	ck_assert_ptr_nonnull(results_text_problem("cafe!", 5, 4, false));
	ck_assert_ptr_null(results_text_problem("", 0, 4, true));
	ck_assert_ptr_nonnull(results_text_problem("\xc0\x80", 2, 4, false)); /* overlong NUL */
	ck_assert_ptr_nonnull(results_text_problem("\xe2\x82", 2, 4, false)); /* cut short */
	ck_assert_ptr_null(results_text_problem("\xf0\x9f\x98\x80", 4, 1, false)); /* emoji */
	ck_assert_ptr_nonnull(results_text_problem("a\xc2\x85", 3, 4, false));     /* C1 control */
	ck_assert_ptr_null(results_text_problem("a\tb\r\nc", 6, 9, true));
	ck_assert_near(results_round(61.111111, 2), 61.11);
	ck_assert_near(results_round(0.66666666, 4), 0.6667);
	ck_assert_near(results_round(2.5, 0), 3.0);
}
END_TEST

/* ---- scoring, against figures computed by hand ---- */

START_TEST(statistics_by_hand)
{
	double a[] = { 1000, 400, 600, 500 }, b[] = { 7 },
	       c[] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11 };
	struct ingest_rt_stats s;

	results_rt_stats(a, 4, &s);
	ck_assert_near(s.mean, 625.0);
	ck_assert_near(s.median, 550.0);
	ck_assert_near(s.p90, 880.0); /* h = 0.9 * 3 = 2.7: 600 + 0.7 * (1000 - 600) */
	ck_assert_near(s.sd, sqrt(207500.0 / 3.0));
	ck_assert_near(s.min, 400.0);
	ck_assert_near(s.max, 1000.0);
	results_rt_stats(b, 1, &s);
	ck_assert_near(s.mean, 7.0);
	ck_assert_near(s.median, 7.0);
	ck_assert_near(s.p90, 7.0);
	ck_assert_near(s.sd, 0.0);
	results_rt_stats(c, 11, &s);
	ck_assert_near(s.median, 6.0);
	ck_assert_near(s.p90, 10.0); /* h = 9 exactly */
}
END_TEST

static void
score_with(const char *weights_json, struct ingest_score *s, struct ingest_results *r)
{
	struct st_json_errs errs;
	cJSON *w = weights_json != NULL ? cJSON_Parse(weights_json) : NULL;

	ck_assert_int_eq(parse(sample, r, &errs), ST_OK);
	ck_assert_int_eq(ingest_results_score(r, w, s, &errs), ST_OK);
	cJSON_Delete(w);
}

START_TEST(score_unweighted)
{
	struct ingest_results r;
	struct ingest_score s;

	score_with(NULL, &s, &r);
	ck_assert_uint_eq(s.ncats, 2);
	/* sorted by name: attention, then memory */
	ck_assert_str_eq(s.cats[0].category, "attention");
	ck_assert_uint_eq(s.cats[0].n, 3);
	ck_assert_uint_eq(s.cats[0].correct, 1);
	ck_assert_near(s.cats[0].accuracy, 1.0 / 3.0);
	ck_assert_near(s.cats[0].weight, 1.0);
	ck_assert_near(s.cats[0].rt.mean, 250.0);
	ck_assert_near(s.cats[0].rt.median, 250.0);
	ck_assert_near(s.cats[0].rt.p90, 290.0); /* h = 1.8: 250 + 0.8 * 50 */
	ck_assert_near(s.cats[0].rt.sd, 50.0);
	ck_assert_str_eq(s.cats[1].category, "memory");
	ck_assert_uint_eq(s.cats[1].n, 4);
	ck_assert_uint_eq(s.cats[1].correct, 3);
	ck_assert_near(s.cats[1].accuracy, 0.75);
	ck_assert_near(s.cats[1].rt.median, 550.0);
	ck_assert_near(s.cats[1].rt.p90, 880.0);
	ck_assert_uint_eq(s.n, 7);
	ck_assert_uint_eq(s.correct, 4);
	ck_assert_near(s.accuracy, 4.0 / 7.0);
	ck_assert_near(s.rt.mean, 3250.0 / 7.0);
	ck_assert_near(s.rt.median, 400.0);
	ck_assert_near(s.rt.p90, 760.0);                           /* h = 5.4: 600 + 0.4 * 400 */
	ck_assert_near(s.score, 100.0 * (0.75 + 1.0 / 3.0) / 2.0); /* 54.1666... */
	ck_assert(!s.equal_weights);
	ingest_score_cleanup(&s);
	ingest_results_cleanup(&r);
}
END_TEST

START_TEST(score_weighted)
{
	struct ingest_results r;
	struct ingest_score s;

	/* attention has no weight: 1; "other" is not in the file: no effect */
	score_with("{\"memory\": 2, \"other\": 5}", &s, &r);
	ck_assert_near(s.cats[1].weight, 2.0);
	ck_assert_near(s.cats[0].weight, 1.0);
	ck_assert_near(s.score, 100.0 * (2 * 0.75 + 1.0 / 3.0) / 3.0); /* 61.111... */
	ingest_score_cleanup(&s);
	ingest_results_cleanup(&r);

	score_with("{\"memory\": 0}", &s, &r);
	ck_assert_near(s.score, 100.0 / 3.0);
	ck_assert(!s.equal_weights);
	ingest_score_cleanup(&s);
	ingest_results_cleanup(&r);

	score_with("{\"memory\": 0, \"attention\": 0}", &s, &r);
	ck_assert(s.equal_weights);
	ck_assert_near(s.score, 100.0 * (0.75 + 1.0 / 3.0) / 2.0);
	ck_assert_near(s.cats[0].weight, 1.0);
	ingest_score_cleanup(&s);
	ingest_results_cleanup(&r);

	score_with("null", &s, &r);
	ck_assert_near(s.score, 100.0 * (0.75 + 1.0 / 3.0) / 2.0);
	ingest_score_cleanup(&s);
	ingest_results_cleanup(&r);
}
END_TEST

START_TEST(score_refuses_bad_weights)
{
	static const char *const weights[] = { "[1, 2]", "{\"memory\": -1}", "{\"memory\": \"2\"}",
					       "3" };
	struct ingest_results r;
	struct ingest_score s;
	struct st_json_errs errs;

	ck_assert_int_eq(parse(sample, &r, &errs), ST_OK);
	for (size_t i = 0; i < sizeof(weights) / sizeof(weights[0]); i++) {
		cJSON *w = cJSON_Parse(weights[i]);

		st_json_errs_init(&errs);
		ck_assert_int_eq(ingest_results_score(&r, w, &s, &errs), ST_ERR_INVALID);
		ck_assert_uint_ge(errs.total, 1);
		ck_assert(strncmp(errs.items[0].field, "settings.category_weights", 25) == 0);
		cJSON_Delete(w);
	}
	ck_assert(has_err(&errs, "settings.category_weights", "object"));
	ingest_results_cleanup(&r);
}
END_TEST

START_TEST(summary_json_is_rounded)
{
	struct ingest_results r;
	struct ingest_score s;
	cJSON *doc, *cats, *mem;
	char *text;

	score_with("{\"memory\": 2}", &s, &r);
	doc = ingest_score_json(&s);
	text = st_json_print(doc, NULL);
	ck_assert_ptr_nonnull(strstr(text, "\"score\":61.11,"));
	ck_assert_ptr_nonnull(strstr(text, "\"accuracy\":0.5714,"));
	ck_assert_ptr_nonnull(strstr(text, "\"mean\":464.29,"));
	cats = cJSON_GetObjectItem(doc, "categories");
	ck_assert_int_eq(cJSON_GetArraySize(cats), 2);
	mem = cJSON_GetArrayItem(cats, 1);
	ck_assert_str_eq(cJSON_GetObjectItem(mem, "category")->valuestring, "memory");
	ck_assert_near(cJSON_GetObjectItem(mem, "weight")->valuedouble, 2.0);
	ck_assert_near(
		cJSON_GetObjectItem(cJSON_GetObjectItem(mem, "reaction_ms"), "sd")->valuedouble,
		263.0); /* 262.9956 */
	ck_assert_near(cJSON_GetObjectItem(cJSON_GetArrayItem(cats, 0), "accuracy")->valuedouble,
		       0.3333);
	ck_assert(cJSON_IsFalse(cJSON_GetObjectItem(doc, "equal_weights")));
	st_free(text);
	cJSON_Delete(doc);
	ingest_score_cleanup(&s);
	ingest_results_cleanup(&r);
}
END_TEST

Suite *
results_suite(void)
{
	Suite *s = suite_create("results");
	TCase *p = tcase_create("parse");
	TCase *sc = tcase_create("score");

	tcase_add_test(p, parses_a_plain_file);
	tcase_add_test(p, header_by_name_in_any_order_extra_columns_ignored);
	tcase_add_test(p, quoted_line_breaks_and_no_final_newline);
	tcase_add_test(p, line_numbers_follow_quoted_line_breaks);
	tcase_add_loop_test(p, bad_lines_are_named, 0, (int)(sizeof(bad) / sizeof(bad[0])));
	tcase_add_test(p, an_embedded_nul_is_refused);
	tcase_add_test(p, parsing_goes_on_and_the_list_is_capped);
	tcase_add_test(p, several_errors_on_one_line);
	tcase_add_test(p, the_row_limit);
	tcase_add_test(p, many_items_all_distinct);
	tcase_add_test(p, an_overlong_value_is_named);
	tcase_add_test(p, crafted_items_do_not_flood);
	tcase_add_test(p, values);
	suite_add_tcase(s, p);
	tcase_add_test(sc, statistics_by_hand);
	tcase_add_test(sc, score_unweighted);
	tcase_add_test(sc, score_weighted);
	tcase_add_test(sc, score_refuses_bad_weights);
	tcase_add_test(sc, summary_json_is_rounded);
	suite_add_tcase(s, sc);
	return s;
}
