/*
 * Diagnosis result files: parsing and validation, pure (no I/O; ingest_results_parse is a fuzz
 * target's entry point), unit-tested in tests/unit/ingest/test_results.c. Scoring is in
 * results_score.c.
 *
 * The format is CSV after RFC 4180, read by libcommon's reader (strata/csv.h): a header line,
 * then one line per answered item. The header must name the columns item, category, response,
 * correct and reaction_ms, in any order and in any letter case; other columns are allowed and
 * ignored (devices add their own, such as a timestamp), a known column named twice is refused.
 * Fields may be quoted ("a, b", "say ""hi""", line breaks inside quotes); lines end in LF or
 * CRLF; a UTF-8 byte order mark at the start is skipped; blank lines are skipped; every value
 * is trimmed of surrounding spaces and tabs. A value longer than RESULTS_FIELD_MAX bytes or a
 * line of more than RESULTS_FIELDS_MAX fields is an error.
 *
 *   item         non-empty, at most 128 characters, unique within the file
 *   category     non-empty, at most 64 characters
 *   response     what the subject answered, may be empty, at most 1000 characters
 *   correct      true/false, 1/0 or yes/no (any letter case)
 *   reaction_ms  a decimal number from 0 to 3600000 (one hour)
 *
 * Text must be UTF-8 without control characters (the response may hold tabs and line breaks).
 * Errors name the physical line a record starts on ("line 7: reaction_ms"; the header is line 1);
 * parsing goes on after an error so that one answer lists the first ST_JSON_ERRS_MAX of them.
 *
 * Item names are the client's: the duplicate set hashes them with the keyed hash, so that a
 * file of crafted names costs what any other does.
 */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ingest.h"
#include "strata/csv.h"
#include "strata/hash.h"
#include "strata/text.h"

#define ITEM_MAX           128 /* characters */
#define CATEGORY_MAX       64
#define RESPONSE_MAX       1000
#define REACTION_MAX_MS    3600000.0
#define RESULTS_FIELDS_MAX 256  /* fields of one record */
#define RESULTS_FIELD_MAX  8192 /* bytes of one value: a response of 1000 characters fits */

enum col { COL_ITEM, COL_CATEGORY, COL_RESPONSE, COL_CORRECT, COL_REACTION, NCOLS };

ST_STATIC const char *results_text_problem(const char *s, size_t len, size_t max, bool free_text);
ST_STATIC bool results_parse_bool(const char *s, bool *out);
ST_STATIC const char *results_parse_ms(const char *s, double *out);

static const struct st_csv_column columns[NCOLS] = {
	{ "item", true },    { "category", true },    { "response", true },
	{ "correct", true }, { "reaction_ms", true },
};

/* ---- values ---- */

static const char too_long[] = "is too long";

/* NULL when s (len bytes) is acceptable text of at most max characters, else the reason
 * (too_long when it only has too many characters). free_text (the response) may be empty and
 * may hold tabs and line breaks. */
ST_STATIC const char *
results_text_problem(const char *s, size_t len, size_t max, bool free_text)
{
	size_t chars;

	if (len == 0 && !free_text)
		return "must not be empty";
	chars = st_text_chars(s, len, free_text ? ST_TEXT_ALLOW_TAB | ST_TEXT_ALLOW_NEWLINE : 0);
	if (chars == (size_t)-1)
		return st_utf8_valid(s, len) ? "must not hold control characters"
					     : "must be UTF-8 text";
	return chars > max ? too_long : NULL;
}

/* true/false, 1/0, yes/no in any letter case. */
ST_STATIC bool
results_parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = { "true", "1", "yes" };
	static const char *const no[] = { "false", "0", "no" };

	for (size_t i = 0; i < ST_ARRAY_LEN(yes); i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*out = true;
			return true;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*out = false;
			return true;
		}
	}
	return false;
}

/*
 * A reaction time: a plain decimal number ("512", "512.25", "5.1e2"; no hex, inf or nan) from 0
 * to REACTION_MAX_MS. NULL when good, else the reason.
 */
ST_STATIC const char *
results_parse_ms(const char *s, double *out)
{
	const char *p = s;
	char *end = NULL;
	size_t digits = 0;
	double v;

	if (*p == '+' || *p == '-')
		p++;
	for (; isdigit((unsigned char)*p); p++)
		digits++;
	if (*p == '.')
		for (p++; isdigit((unsigned char)*p); p++)
			digits++;
	if (digits > 0 && (*p == 'e' || *p == 'E')) {
		p++;
		if (*p == '+' || *p == '-')
			p++;
		if (!isdigit((unsigned char)*p))
			return "must be a number of milliseconds";
		while (isdigit((unsigned char)*p))
			p++;
	}
	if (digits == 0 || *p != '\0')
		return "must be a number of milliseconds";
	v = strtod(s, &end);
	if (end != p || !isfinite(v))
		return "must be a finite number";
	if (v < 0)
		return "must not be negative";
	if (v > REACTION_MAX_MS)
		return "must be at most 3600000 (one hour)";
	*out = v == 0 ? 0 : v; /* no -0 */
	return NULL;
}

/* ---- duplicate items: an open-addressing set of row indexes ---- */

struct item_set {
	size_t *slots; /* row index + 1; 0 is empty */
	size_t cap, n;
};

/* Where an item starts probing: the keyed hash, so that no file can make its item names
 * collide (strata/hash.h). */
static size_t
item_slot(const char *item, size_t mask)
{
	return (size_t)st_hash_keyed(item, strlen(item)) & mask;
}

/* The row index + 1 holding item, or 0. */
static size_t
set_find(const struct item_set *set, const struct ingest_result_row *rows, const char *item)
{
	if (set->cap == 0)
		return 0;
	for (size_t i = item_slot(item, set->cap - 1);; i = (i + 1) & (set->cap - 1)) {
		size_t v = set->slots[i];

		if (v == 0 || strcmp(rows[v - 1].item, item) == 0)
			return v;
	}
}

static void
set_put_raw(struct item_set *set, const struct ingest_result_row *rows, size_t idx)
{
	size_t i = item_slot(rows[idx].item, set->cap - 1);

	while (set->slots[i] != 0)
		i = (i + 1) & (set->cap - 1);
	set->slots[i] = idx + 1;
}

static void
set_put(struct item_set *set, const struct ingest_result_row *rows, size_t idx)
{
	if ((set->n + 1) * 2 > set->cap) {
		size_t *old = set->slots, oldcap = set->cap;

		set->cap = oldcap == 0 ? 64 : oldcap * 2;
		set->slots = st_calloc(set->cap, sizeof(*set->slots));
		for (size_t i = 0; i < oldcap; i++)
			if (old[i] != 0)
				set_put_raw(set, rows, old[i] - 1);
		st_free(old);
	}
	set_put_raw(set, rows, idx);
	set->n++;
}

/* ---- parsing ---- */

void
ingest_results_cleanup(struct ingest_results *r)
{
	for (size_t i = 0; i < r->n; i++) {
		st_free(r->rows[i].item);
		st_free(r->rows[i].category);
		st_free(r->rows[i].response);
	}
	st_free(r->rows);
	memset(r, 0, sizeof(*r));
}

/* Checks one record against the columns; appends it to out when it is good. */
static void
take_record(const struct st_csv_record *rec, const int idx[NCOLS], int line,
	    struct ingest_results *out, struct item_set *set, struct st_json_errs *errs)
{
	static const size_t max[] = { ITEM_MAX, CATEGORY_MAX, RESPONSE_MAX };
	const char *v[NCOLS];
	size_t vlen[NCOLS];
	size_t before = errs->total, dup = 0;
	char field[64];
	bool correct = false, item_ok = false;
	double ms = 0;

	for (int c = 0; c < NCOLS; c++) {
		v[c] = rec->f[idx[c]].s;
		vlen[c] = rec->f[idx[c]].len;
	}
	for (int c = COL_ITEM; c <= COL_RESPONSE; c++) {
		const char *why = results_text_problem(v[c], vlen[c], max[c], c == COL_RESPONSE);

		snprintf(field, sizeof(field), "line %d: %s", line, columns[c].name);
		if (why == too_long)
			st_json_errs_add(errs, field, "must be at most %zu characters", max[c]);
		else if (why != NULL)
			st_json_errs_add(errs, field, "%s", why);
		else if (c == COL_ITEM)
			item_ok = true;
	}
	if (item_ok) {
		dup = set_find(set, out->rows, v[COL_ITEM]);
		if (dup != 0) {
			snprintf(field, sizeof(field), "line %d: item", line);
			st_json_errs_add(errs, field, "item \"%.60s\" appears already on line %d",
					 v[COL_ITEM], out->rows[dup - 1].line);
		}
	}
	if (strlen(v[COL_CORRECT]) != vlen[COL_CORRECT] ||
	    !results_parse_bool(v[COL_CORRECT], &correct)) {
		snprintf(field, sizeof(field), "line %d: correct", line);
		st_json_errs_add(errs, field, "must be true, false, 1, 0, yes or no");
	}
	{
		const char *why = strlen(v[COL_REACTION]) != vlen[COL_REACTION]
					  ? "must be a number of milliseconds"
					  : results_parse_ms(v[COL_REACTION], &ms);

		if (why != NULL) {
			snprintf(field, sizeof(field), "line %d: reaction_ms", line);
			st_json_errs_add(errs, field, "%s", why);
		}
	}
	if (errs->total != before)
		return;
	if (out->n == out->cap) {
		out->cap = out->cap == 0 ? 64 : out->cap * 2;
		out->rows = st_realloc(out->rows, out->cap * sizeof(*out->rows));
	}
	out->rows[out->n] = (struct ingest_result_row){
		.item = st_strndup(v[COL_ITEM], vlen[COL_ITEM]),
		.category = st_strndup(v[COL_CATEGORY], vlen[COL_CATEGORY]),
		.response = st_strndup(v[COL_RESPONSE], vlen[COL_RESPONSE]),
		.correct = correct,
		.reaction_ms = ms,
		.line = line,
	};
	set_put(set, out->rows, out->n);
	out->n++;
}

enum st_err
ingest_results_parse(const char *csv, size_t len, size_t max_rows, struct ingest_results *out,
		     struct st_json_errs *errs)
{
	static const struct st_csv_conf conf = { RESULTS_FIELD_MAX, RESULTS_FIELDS_MAX,
						 ST_CSV_TRIM | ST_CSV_SKIP_BLANK };
	struct st_csv reader;
	struct st_csv_record rec;
	struct item_set set = { 0 };
	size_t before = errs->total, records = 0, ncols;
	int idx[NCOLS];
	char err[160];
	enum st_csv_status got;
	enum st_err rc = ST_ERR_INVALID;

	memset(out, 0, sizeof(*out));
	st_csv_init(&reader, &conf);
	st_csv_feed(&reader, csv, len);
	st_csv_finish(&reader);
	got = st_csv_next(&reader, &rec, err, sizeof(err));
	if (got == ST_CSV_END) {
		st_json_errs_add(errs, "line 1: header",
				 "the file is empty: expected the header "
				 "item,category,response,correct,reaction_ms");
		goto out;
	}
	if (got == ST_CSV_ERROR) {
		st_json_errs_add(errs, "line 1: header", "%s", err);
		goto out;
	}
	if (!st_csv_header_map(&rec, columns, NCOLS, ST_CSV_HEADER_EXTRA_OK, idx, errs,
			       "line 1: header"))
		goto out;
	ncols = rec.n;
	for (;;) {
		char field[32];
		int line;

		got = st_csv_next(&reader, &rec, err, sizeof(err));
		if (got == ST_CSV_END)
			break;
		if (++records > max_rows) {
			rc = ST_ERR_TOO_LARGE;
			goto out;
		}
		line = (int)(got == ST_CSV_ERROR ? st_csv_error_line(&reader) : rec.line);
		snprintf(field, sizeof(field), "line %d", line);
		if (got == ST_CSV_ERROR)
			st_json_errs_add(errs, field, "%s", err);
		else if (rec.n != ncols)
			st_json_errs_add(errs, field, "has %zu fields, the header has %zu", rec.n,
					 ncols);
		else
			take_record(&rec, idx, line, out, &set, errs);
	}
	if (records == 0)
		st_json_errs_add(errs, "line 2", "the file has no result lines after the header");
	if (errs->total == before)
		rc = ST_OK;
out:
	if (rc != ST_OK)
		ingest_results_cleanup(out);
	st_csv_cleanup(&reader);
	st_free(set.slots);
	return rc;
}
