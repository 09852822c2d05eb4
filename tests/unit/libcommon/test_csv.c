/*
 * Unit tests for csv.h: a table of inputs and what the reader makes of them (records with their
 * line numbers, errors with their line and field numbers), each read three ways that must agree:
 * the whole input at once, one byte a chunk, and three bytes a chunk (so that every state meets
 * the end of a chunk). Then the limits, the reader going on after an error, and the header map.
 */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "strata/csv.h"

/*
 * What a reading gives, as text: a record is "<line>[v1|v2]" (a quoted value in <>, a NUL as
 * \0, a line break as \n), an error "E<line>.<field>"; separated by spaces.
 */
static void
render(const char *in, size_t len, const struct st_csv_conf *conf, size_t chunk, char *out,
       size_t cap, char *first_err, size_t errcap)
{
	struct st_csv r;
	struct st_csv_record rec;
	size_t fed = 0, n = 0;
	char err[160];

	out[0] = '\0';
	first_err[0] = '\0';
	st_csv_init(&r, conf);
	for (;;) {
		enum st_csv_status s = st_csv_next(&r, &rec, err, sizeof(err));

		if (s == ST_CSV_END)
			break;
		if (s == ST_CSV_NEED_MORE) {
			size_t take = chunk == 0 || len - fed < chunk ? len - fed : chunk;

			ck_assert(!(fed == len && take == 0 && r.last));
			if (fed == len) {
				st_csv_finish(&r);
			} else {
				st_csv_feed(&r, in + fed, take);
				fed += take;
			}
			continue;
		}
		if (n > 0)
			n += (size_t)snprintf(out + n, cap - n, " ");
		if (s == ST_CSV_ERROR) {
			n += (size_t)snprintf(out + n, cap - n, "E%zu.%zu", st_csv_error_line(&r),
					      st_csv_error_field(&r));
			if (first_err[0] == '\0')
				snprintf(first_err, errcap, "%s", err);
			continue;
		}
		n += (size_t)snprintf(out + n, cap - n, "%zu[", rec.line);
		for (size_t i = 0; i < rec.n; i++) {
			const struct st_csv_field *f = &rec.f[i];

			ck_assert(f->s[f->len] == '\0');
			if (i > 0)
				n += (size_t)snprintf(out + n, cap - n, "|");
			if (f->quoted)
				n += (size_t)snprintf(out + n, cap - n, "<");
			for (size_t k = 0; k < f->len; k++) {
				if (f->s[k] == '\0')
					n += (size_t)snprintf(out + n, cap - n, "\\0");
				else if (f->s[k] == '\n')
					n += (size_t)snprintf(out + n, cap - n, "\\n");
				else if (f->s[k] == '\r')
					n += (size_t)snprintf(out + n, cap - n, "\\r");
				else
					n += (size_t)snprintf(out + n, cap - n, "%c", f->s[k]);
			}
			if (f->quoted)
				n += (size_t)snprintf(out + n, cap - n, ">");
		}
		n += (size_t)snprintf(out + n, cap - n, "]");
	}
	st_csv_cleanup(&r);
}

#define T  ST_CSV_TRIM
#define SB ST_CSV_SKIP_BLANK

static const struct {
	const char *in;
	size_t len; /* 0: strlen(in) */
	size_t field_max, fields_max;
	unsigned flags;
	const char *want;
	const char *err; /* part of the first error's text, or NULL */
} cases[] = {
	/* plain records, LF and CRLF, with and without a final line end */
	{ "a,b\nc,d\n", 0, 16, 4, 0, "1[a|b] 2[c|d]", NULL },
	{ "a,b\r\nc,d\r\n", 0, 16, 4, 0, "1[a|b] 2[c|d]", NULL },
	{ "a,b\nc,d", 0, 16, 4, 0, "1[a|b] 2[c|d]", NULL },
	{ "", 0, 16, 4, 0, "", NULL },
	{ "\n", 0, 16, 4, 0, "1[]", NULL },
	{ "\n", 0, 16, 4, SB, "", NULL },
	{ "a\n\n\nb\n", 0, 16, 4, SB, "1[a] 4[b]", NULL },
	{ "a\r\n\r\nb", 0, 16, 4, SB, "1[a] 3[b]", NULL },
	{ ",\n,,", 0, 16, 4, 0, "1[|] 2[||]", NULL },
	{ "a,", 0, 16, 4, 0, "1[a|]", NULL },
	/* quotes: commas, doubled quotes, line breaks inside; empty quoted values */
	{ "\"a,b\",\"say \"\"hi\"\"\"\n", 0, 16, 4, 0, "1[<a,b>|<say \"hi\">]", NULL },
	{ "\"two\nlines\",x\ny,z\n", 0, 16, 4, 0, "1[<two\\nlines>|x] 3[y|z]", NULL },
	{ "\"cr\r\nlf\"\r\nnext\r\n", 0, 16, 4, 0, "1[<cr\\r\\nlf>] 3[next]", NULL },
	{ "\"\",\"\"\"\"\n", 0, 16, 4, 0, "1[<>|<\">]", NULL },
	{ "\"\"\n", 0, 16, 4, SB, "1[<>]", NULL }, /* a quoted empty value is a record */
	{ "\"a\"", 0, 16, 4, 0, "1[<a>]", NULL },
	/* a byte order mark at the start only, also cut between chunks; one begun is data */
	{ "\xef\xbb\xbf"
	  "a,b\n",
	  0, 16, 4, 0, "1[a|b]", NULL },
	{ "\xef\xbb\xbf", 0, 16, 4, 0, "", NULL },
	{ "\xef\xbb"
	  "a\n",
	  0, 16, 4, 0,
	  "1[\xef\xbb"
	  "a]",
	  NULL },
	{ "\xef", 0, 16, 4, 0, "1[\xef]", NULL },
	{ "a\n\xef\xbb\xbf\n", 0, 16, 4, 0, "1[a] 2[\xef\xbb\xbf]", NULL },
	/* NUL bytes are data (the caller decides) */
	{ "a\0b,c\n", 6, 16, 4, 0, "1[a\\0b|c]", NULL },
	/* trimming: around values, around quotes, inside quotes; blank lines of blanks */
	{ "  a , b\t\n", 0, 16, 4, T, "1[a|b]", NULL },
	{ "  a , b\t\n", 0, 16, 4, 0, "1[  a | b\t]", NULL },
	{ " \"a, b\" , \" c \"\n", 0, 16, 4, T, "1[<a, b>|<c>]", NULL },
	{ "a\n  \t \nb\n", 0, 16, 4, T | SB, "1[a] 3[b]", NULL },
	/* bad quoting, each with its line and field */
	{ "a,b\"c\n", 0, 16, 4, 0, "E1.2", "line 1, field 2: a quote inside an unquoted field" },
	{ "ok\n\"a\"x,b\n", 0, 16, 4, 0, "1[ok] E2.1",
	  "line 2, field 1: text after a closing quote" },
	{ "ok\nx,\"open\n", 0, 16, 4, 0, "1[ok] E2.2",
	  "line 2, field 2: a quoted field is not closed" },
	{ "x,\"open\nmore\nlines", 0, 16, 4, 0, "E1.2", "not closed" },
	{ " \"a\"\n", 0, 16, 4, 0, "E1.1", "quote inside an unquoted field" },
	{ "\"a\" \n", 0, 16, 4, 0, "E1.1", "text after a closing quote" },
	/* a CR alone is no line end */
	{ "a\rb\nc\n", 0, 16, 4, 0, "E1.0 2[c]", "line 1: a line ends in CR without LF" },
	{ "a\r", 0, 16, 4, 0, "E1.0", "CR without LF" },
	{ "\"a\"\r", 0, 16, 4, 0, "E1.0", "CR without LF" },
	/* limits: an over-long value is an error naming its line and field, never a cut value */
	{ "abcd,ef\n", 0, 4, 4, 0, "1[abcd|ef]", NULL },
	{ "ab,abcde\nok\n", 0, 4, 4, 0, "E1.2 2[ok]", "line 1, field 2: longer than 4 bytes" },
	{ "ok\n\"ab\"\"cd\"\n", 0, 4, 4, 0, "1[ok] E2.1", "field 1: longer than 4 bytes" },
	{ "ok\n\"a\nbcde\"\n", 0, 4, 4, 0, "1[ok] E2.1", "line 2, field 1: longer than" },
	{ "a,b,c\n", 0, 4, 3, 0, "1[a|b|c]", NULL },
	{ "a,b,c,d\ne\n", 0, 4, 3, 0, "E1.0 2[e]", "line 1: has more than 3 fields" },
	{ "a,b,c,\n", 0, 4, 3, 0, "E1.0", "more than 3 fields" },
	/* errors do not stop the reading: each bad line is named */
	{ "h\na\"\nok\nb\"\n\"c\n", 0, 16, 4, 0, "1[h] E2.1 3[ok] E4.1 E5.1", "line 2, field 1" },
};

START_TEST(table)
{
	const char *in = cases[_i].in;
	size_t len = cases[_i].len != 0 ? cases[_i].len : strlen(in);
	struct st_csv_conf conf = { cases[_i].field_max, cases[_i].fields_max, cases[_i].flags };
	static const size_t chunks[] = { 0, 1, 2, 3 };
	char out[512], err[160];

	for (size_t c = 0; c < ST_ARRAY_LEN(chunks); c++) {
		render(in, len, &conf, chunks[c], out, sizeof(out), err, sizeof(err));
		ck_assert_msg(strcmp(out, cases[_i].want) == 0,
			      "case %d, chunks of %zu: got \"%s\", want \"%s\"", _i, chunks[c], out,
			      cases[_i].want);
		if (cases[_i].err != NULL)
			ck_assert_msg(strstr(err, cases[_i].err) != NULL, "case %d: error \"%s\"",
				      _i, err);
		else
			ck_assert_msg(err[0] == '\0', "case %d: error \"%s\"", _i, err);
	}
}
END_TEST

/* Memory stays with the record: a long input of short records grows nothing. */
START_TEST(constant_memory)
{
	struct st_csv r;
	struct st_csv_record rec;
	struct st_csv_conf conf = { 64, 4, 0 };
	size_t records = 0, cap = 0;

	st_csv_init(&r, &conf);
	for (int i = 0; i < 100000; i++) {
		char line[64];
		int n = snprintf(line, sizeof(line), "%d,\"quoted %d\",x\n", i, i);

		st_csv_feed(&r, line, (size_t)n);
		while (st_csv_next(&r, &rec, NULL, 0) == ST_CSV_RECORD) {
			ck_assert_uint_eq(rec.n, 3);
			ck_assert_uint_eq(rec.line, records + 1);
			records++;
		}
		if (i == 10)
			cap = r.cap;
	}
	st_csv_finish(&r);
	ck_assert_int_eq(st_csv_next(&r, &rec, NULL, 0), ST_CSV_END);
	ck_assert_int_eq(st_csv_next(&r, &rec, NULL, 0), ST_CSV_END);
	ck_assert_uint_eq(records, 100000);
	ck_assert_uint_eq(r.cap, cap);
	ck_assert_uint_le(r.cap, 4 * 65);
	st_csv_cleanup(&r);
}
END_TEST

/* An over-long value stops growing at the limit: memory is bounded by the limits. */
START_TEST(huge_value_is_bounded)
{
	static char big[1 << 20];
	struct st_csv r;
	struct st_csv_record rec;
	struct st_csv_conf conf = { 100, 4, 0 };
	char err[128];

	memset(big, 'x', sizeof(big));
	big[sizeof(big) - 1] = '\n';
	st_csv_init(&r, &conf);
	st_csv_feed(&r, big, sizeof(big));
	st_csv_finish(&r);
	ck_assert_int_eq(st_csv_next(&r, &rec, err, sizeof(err)), ST_CSV_ERROR);
	ck_assert_str_eq(err, "line 1, field 1: longer than 100 bytes");
	ck_assert_uint_le(r.cap, 256);
	ck_assert_int_eq(st_csv_next(&r, &rec, err, sizeof(err)), ST_CSV_END);
	st_csv_cleanup(&r);
}
END_TEST

/* ---- the header map ---- */

static const struct st_csv_column cols[] = {
	{ "item", true },
	{ "category", true },
	{ "note", false },
};

static bool
map(const char *header, unsigned flags, int idx[3], struct st_json_errs *errs)
{
	struct st_csv r;
	struct st_csv_record rec;
	struct st_csv_conf conf = { 64, 16, ST_CSV_TRIM };
	bool ok;

	st_json_errs_init(errs);
	st_csv_init(&r, &conf);
	st_csv_feed(&r, header, strlen(header));
	st_csv_finish(&r);
	ck_assert_int_eq(st_csv_next(&r, &rec, NULL, 0), ST_CSV_RECORD);
	ok = st_csv_header_map(&rec, cols, ST_ARRAY_LEN(cols), flags, idx, errs, "line 1: header");
	st_csv_cleanup(&r);
	return ok;
}

static bool
has(const struct st_json_errs *errs, const char *part)
{
	for (size_t i = 0; i < errs->n; i++)
		if (strcmp(errs->items[i].field, "line 1: header") == 0 &&
		    strstr(errs->items[i].detail, part) != NULL)
			return true;
	return false;
}

START_TEST(header_map)
{
	struct st_json_errs errs;
	int idx[3];

	ck_assert(map("Category, ITEM\n", 0, idx, &errs));
	ck_assert_int_eq(idx[0], 1);
	ck_assert_int_eq(idx[1], 0);
	ck_assert_int_eq(idx[2], -1);
	ck_assert(map("item,extra,category,note\n", ST_CSV_HEADER_EXTRA_OK, idx, &errs));
	ck_assert_int_eq(idx[2], 3);
	ck_assert(!map("item,extra,category\n", 0, idx, &errs));
	ck_assert(has(&errs, "unknown column \"extra\""));
	ck_assert(!map("item,\xff\xfe,category\n", 0, idx, &errs));
	ck_assert(has(&errs, "unknown column number 2"));
	ck_assert(!map("item,note\n", 0, idx, &errs));
	ck_assert(has(&errs, "missing column category (the header must name item, category)"));
	ck_assert_uint_eq(errs.total, 1);
	ck_assert(!map("item,category,Item,x\n", ST_CSV_HEADER_EXTRA_OK, idx, &errs));
	ck_assert(has(&errs, "column item appears twice"));
	ck_assert_int_eq(idx[0], 0);
	ck_assert(!map("x,y\n", 0, idx, &errs));
	ck_assert_uint_eq(errs.total, 4); /* two unknown, two missing */
}
END_TEST

Suite *
csv_suite(void)
{
	Suite *s = suite_create("csv");
	TCase *tc = tcase_create("csv");

	tcase_add_loop_test(tc, table, 0, (int)ST_ARRAY_LEN(cases));
	tcase_add_test(tc, constant_memory);
	tcase_add_test(tc, huge_value_is_bounded);
	tcase_add_test(tc, header_map);
	suite_add_tcase(s, tc);
	return s;
}
