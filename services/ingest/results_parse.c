/*
 * Diagnosis result files: parsing, validation and scoring, pure (no I/O), so that every rule
 * here is unit-tested (tests/unit/ingest/test_results.c).
 *
 * The format is CSV after RFC 4180: a header line, then one line per answered item. The header
 * must name the columns item, category, response, correct and reaction_ms, in any order and in
 * any letter case; other columns are allowed and ignored (devices add their own, such as a
 * timestamp), a known column named twice is refused. Fields may be quoted ("a, b", "say ""hi""",
 * line breaks inside quotes); lines end in LF or CRLF; a UTF-8 byte order mark at the start is
 * skipped; blank lines are skipped; every value is trimmed of surrounding spaces and tabs.
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
 * Scoring: per category and over the whole file, the count, the correct count, accuracy
 * (correct / n) and reaction-time statistics (mean, median, p90 by linear interpolation between
 * closest ranks, sample standard deviation, min, max); and an overall score from 0 to 100: the
 * weighted mean of the categories' accuracies times 100, weights from the project's
 * settings.category_weights (a category without one weighs 1). When every category present
 * weighs 0 the score is the plain mean instead (equal_weights: true).
 */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ingest.h"

#define ITEM_MAX        128 /* characters */
#define CATEGORY_MAX    64
#define RESPONSE_MAX    1000
#define REACTION_MAX_MS 3600000.0
#define FIELDS_MAX      256 /* fields of one record */

enum col { COL_ITEM, COL_CATEGORY, COL_RESPONSE, COL_CORRECT, COL_REACTION, NCOLS };

ST_STATIC const char *results_text_problem(const char *s, size_t len, size_t max, bool free_text);
ST_STATIC bool results_parse_bool(const char *s, bool *out);
ST_STATIC const char *results_parse_ms(const char *s, double *out);
ST_STATIC void results_rt_stats(double *x, size_t n, struct ingest_rt_stats *out);
ST_STATIC double results_round(double x, int places);

static const char *const col_names[NCOLS] = { "item", "category", "response", "correct",
					      "reaction_ms" };

/* ---- reading records ---- */

/* A cursor over the file; line is the physical line the cursor is on. */
struct csv {
	const char *p, *end;
	int line;
};

/* The fields of one record, each NUL-terminated in buf (quoted fields need unescaping). */
struct fields {
	char *buf;
	size_t len, cap;
	size_t n;
	size_t off[FIELDS_MAX];
	size_t flen[FIELDS_MAX];
};

static void
push(struct fields *f, char ch)
{
	if (f->len == f->cap) {
		f->cap = f->cap == 0 ? 256 : f->cap * 2;
		f->buf = st_realloc(f->buf, f->cap);
	}
	f->buf[f->len++] = ch;
}

static bool
blank(char ch)
{
	return ch == ' ' || ch == '\t';
}

/* True at the end of a record: the end of the file, LF or CRLF. */
static bool
at_eol(const struct csv *c)
{
	return c->p == c->end || *c->p == '\n' ||
	       (*c->p == '\r' && c->p + 1 < c->end && c->p[1] == '\n');
}

/* Consumes the line end at the cursor (nothing at the end of the file). */
static void
eat_eol(struct csv *c)
{
	if (c->p == c->end)
		return;
	c->p += *c->p == '\r' ? 2 : 1;
	c->line++;
}

/* After a broken record: on to the start of the next physical line. */
static void
skip_line(struct csv *c)
{
	while (c->p < c->end && *c->p != '\n')
		c->p++;
	if (c->p < c->end) {
		c->p++;
		c->line++;
	}
}

/* Ends the field that began at begin in f->buf: trims it, NUL-terminates it, records it. */
static void
end_field(struct fields *f, size_t begin)
{
	size_t end = f->len;

	while (begin < end && blank(f->buf[begin]))
		begin++;
	while (end > begin && blank(f->buf[end - 1]))
		end--;
	f->len = end;
	push(f, '\0');
	f->off[f->n] = begin;
	f->flen[f->n] = end - begin;
	f->n++;
}

/*
 * Reads one record into f. Returns 1 with *line set to the line it starts on, 0 at the end of
 * the file, -1 for a record that breaks the CSV rules (the reason in err; the cursor is then past
 * the broken line). Blank lines are skipped.
 */
static int
read_record(struct csv *c, struct fields *f, int *line, char *err, size_t errcap)
{
	for (;;) {
		if (c->p == c->end)
			return 0;
		*line = c->line;
		f->n = 0;
		f->len = 0;
		for (;;) {
			size_t begin = f->len;
			const char *q = c->p;

			if (f->n == FIELDS_MAX) {
				st_errf(err, errcap, "has more than %d fields", FIELDS_MAX);
				skip_line(c);
				return -1;
			}
			while (q < c->end && blank(*q))
				q++;
			if (q < c->end && *q == '"') {
				c->p = q + 1;
				for (;;) {
					if (c->p == c->end) {
						st_errf(err, errcap,
							"a quoted field is not closed");
						return -1;
					}
					if (*c->p == '"') {
						if (c->p + 1 < c->end && c->p[1] == '"') {
							push(f, '"');
							c->p += 2;
							continue;
						}
						c->p++;
						break;
					}
					if (*c->p == '\n')
						c->line++;
					push(f, *c->p++);
				}
				while (c->p < c->end && blank(*c->p))
					c->p++;
				if (!at_eol(c) && *c->p != ',') {
					st_errf(err, errcap, "text after a closing quote");
					skip_line(c);
					return -1;
				}
			} else {
				while (!at_eol(c) && *c->p != ',') {
					if (*c->p == '"') {
						st_errf(err, errcap,
							"a quote inside an unquoted field (quote "
							"the "
							"whole field and double the quote)");
						skip_line(c);
						return -1;
					}
					push(f, *c->p++);
				}
			}
			end_field(f, begin);
			if (c->p < c->end && *c->p == ',') {
				c->p++;
				continue;
			}
			eat_eol(c);
			break;
		}
		if (!(f->n == 1 && f->flen[0] == 0))
			return 1;
	}
}

/* ---- values ---- */

/* Length of the UTF-8 sequence at s (n bytes left), 0 when it is not valid UTF-8. */
static size_t
utf8_len(const unsigned char *s, size_t n)
{
	unsigned char lo = 0x80, hi = 0xbf;
	size_t len;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4;
	else
		return 0;
	if (len > n)
		return 0;
	if (s[0] == 0xe0)
		lo = 0xa0; /* overlong */
	else if (s[0] == 0xed)
		hi = 0x9f; /* surrogates */
	else if (s[0] == 0xf0)
		lo = 0x90; /* overlong */
	else if (s[0] == 0xf4)
		hi = 0x8f; /* above U+10FFFF */
	if (s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < len; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return len;
}

static const char too_long[] = "is too long";

/* NULL when s (len bytes) is acceptable text of at most max characters, else the reason
 * (too_long when it only has too many characters). free_text (the response) may be empty and
 * may hold tabs and line breaks. */
ST_STATIC const char *
results_text_problem(const char *s, size_t len, size_t max, bool free_text)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t chars = 0;

	if (len == 0 && !free_text)
		return "must not be empty";
	for (size_t i = 0; i < len;) {
		size_t n = utf8_len(u + i, len - i);

		if (n == 0)
			return "must be UTF-8 text";
		if (n == 1 && (u[i] < 0x20 || u[i] == 0x7f) &&
		    !(free_text && (u[i] == '\t' || u[i] == '\n' || u[i] == '\r')))
			return "must not hold control characters";
		i += n;
		chars++;
	}
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

static uint64_t
hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ull;

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

/* The row index + 1 holding item, or 0. */
static size_t
set_find(const struct item_set *set, const struct ingest_result_row *rows, const char *item)
{
	if (set->cap == 0)
		return 0;
	for (size_t i = hash_str(item) & (set->cap - 1);; i = (i + 1) & (set->cap - 1)) {
		size_t v = set->slots[i];

		if (v == 0 || strcmp(rows[v - 1].item, item) == 0)
			return v;
	}
}

static void
set_put_raw(struct item_set *set, const struct ingest_result_row *rows, size_t idx)
{
	size_t i = hash_str(rows[idx].item) & (set->cap - 1);

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

/* Maps the header's fields to columns in idx; records what is wrong in errs. */
static void
map_header(const struct fields *f, int idx[NCOLS], struct st_json_errs *errs)
{
	for (int c = 0; c < NCOLS; c++)
		idx[c] = -1;
	for (size_t i = 0; i < f->n; i++) {
		const char *name = f->buf + f->off[i];

		for (int c = 0; c < NCOLS; c++) {
			if (strcasecmp(name, col_names[c]) != 0)
				continue;
			if (idx[c] >= 0)
				st_json_errs_add(errs, "line 1: header", "column %s appears twice",
						 col_names[c]);
			idx[c] = (int)i;
		}
	}
	for (int c = 0; c < NCOLS; c++)
		if (idx[c] < 0)
			st_json_errs_add(
				errs, "line 1: header",
				"missing column %s (the header "
				"must name item, category, response, correct, reaction_ms)",
				col_names[c]);
}

/* Checks one record against the columns; appends it to out when it is good. */
static void
take_record(const struct fields *f, const int idx[NCOLS], int line, struct ingest_results *out,
	    struct item_set *set, struct st_json_errs *errs)
{
	static const size_t max[] = { ITEM_MAX, CATEGORY_MAX, RESPONSE_MAX };
	const char *v[NCOLS];
	size_t vlen[NCOLS];
	size_t before = errs->total, dup = 0;
	char field[64];
	bool correct = false, item_ok = false;
	double ms = 0;

	for (int c = 0; c < NCOLS; c++) {
		v[c] = f->buf + f->off[idx[c]];
		vlen[c] = f->flen[idx[c]];
	}
	for (int c = COL_ITEM; c <= COL_RESPONSE; c++) {
		const char *why = results_text_problem(v[c], vlen[c], max[c], c == COL_RESPONSE);

		snprintf(field, sizeof(field), "line %d: %s", line, col_names[c]);
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
	struct csv c = { csv, csv + len, 1 };
	struct fields f = { 0 };
	struct item_set set = { 0 };
	size_t before = errs->total, records = 0;
	int idx[NCOLS];
	int line = 1, got;
	char err[128];
	enum st_err rc = ST_ERR_INVALID;

	memset(out, 0, sizeof(*out));
	if (len >= 3 && memcmp(csv, "\xef\xbb\xbf", 3) == 0)
		c.p += 3;
	got = read_record(&c, &f, &line, err, sizeof(err));
	if (got == 0) {
		st_json_errs_add(errs, "line 1: header",
				 "the file is empty: expected the header "
				 "item,category,response,correct,reaction_ms");
		goto out;
	}
	if (got < 0) {
		st_json_errs_add(errs, "line 1: header", "%s", err);
		goto out;
	}
	map_header(&f, idx, errs);
	if (errs->total != before)
		goto out;
	for (size_t ncols = f.n;;) {
		char field[32];

		got = read_record(&c, &f, &line, err, sizeof(err));
		if (got == 0)
			break;
		if (++records > max_rows) {
			rc = ST_ERR_TOO_LARGE;
			goto out;
		}
		snprintf(field, sizeof(field), "line %d", line);
		if (got < 0)
			st_json_errs_add(errs, field, "%s", err);
		else if (f.n != ncols)
			st_json_errs_add(errs, field, "has %zu fields, the header has %zu", f.n,
					 ncols);
		else
			take_record(&f, idx, line, out, &set, errs);
	}
	if (records == 0)
		st_json_errs_add(errs, "line 2", "the file has no result lines after the header");
	if (errs->total == before)
		rc = ST_OK;
out:
	if (rc != ST_OK)
		ingest_results_cleanup(out);
	st_free(f.buf);
	st_free(set.slots);
	return rc;
}

/* ---- scoring ---- */

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Statistics of n >= 1 values, which it sorts. */
ST_STATIC void
results_rt_stats(double *x, size_t n, struct ingest_rt_stats *out)
{
	double sum = 0, sq = 0, h;
	size_t lo;

	qsort(x, n, sizeof(*x), cmp_double);
	for (size_t i = 0; i < n; i++)
		sum += x[i];
	out->mean = sum / (double)n;
	for (size_t i = 0; i < n; i++)
		sq += (x[i] - out->mean) * (x[i] - out->mean);
	out->sd = n > 1 ? sqrt(sq / (double)(n - 1)) : 0;
	out->median = n % 2 == 1 ? x[n / 2] : (x[n / 2 - 1] + x[n / 2]) / 2;
	/* p90 between closest ranks (as R's type 7, spreadsheets' PERCENTILE.INC) */
	h = (double)(9 * (n - 1)) / 10.0;
	lo = (size_t)floor(h);
	out->p90 = lo + 1 < n ? x[lo] + (h - (double)lo) * (x[lo + 1] - x[lo]) : x[lo];
	out->min = x[0];
	out->max = x[n - 1];
}

static int
cmp_row_category(const void *a, const void *b)
{
	const struct ingest_result_row *x = *(const struct ingest_result_row *const *)a;
	const struct ingest_result_row *y = *(const struct ingest_result_row *const *)b;

	return strcmp(x->category, y->category);
}

/* Records what is wrong with the project's weights. */
static void
check_weights(const cJSON *weights, struct st_json_errs *errs)
{
	const cJSON *w;

	if (weights == NULL || cJSON_IsNull(weights))
		return;
	if (!cJSON_IsObject(weights)) {
		st_json_errs_add(errs, "settings.category_weights",
				 "must be an object of category names to non-negative numbers");
		return;
	}
	cJSON_ArrayForEach(w, weights)
	{
		if (!cJSON_IsNumber(w) ||
		    !(w->valuedouble >= 0 && w->valuedouble <= INGEST_WEIGHT_MAX)) {
			char field[96];

			snprintf(field, sizeof(field), "settings.category_weights.%.40s",
				 w->string != NULL ? w->string : "");
			st_json_errs_add(errs, field, "must be a number from 0 to 1000000");
		}
	}
}

void
ingest_score_cleanup(struct ingest_score *s)
{
	st_free(s->cats);
	memset(s, 0, sizeof(*s));
}

enum st_err
ingest_results_score(const struct ingest_results *r, const cJSON *weights, struct ingest_score *out,
		     struct st_json_errs *errs)
{
	const struct ingest_result_row **by_cat;
	double *rts, wsum = 0, wacc = 0;
	size_t before = errs->total;

	memset(out, 0, sizeof(*out));
	if (r->n == 0) {
		st_json_errs_add(errs, "rows", "nothing to score");
		return ST_ERR_INVALID;
	}
	check_weights(weights, errs);
	if (errs->total != before)
		return ST_ERR_INVALID;
	if (weights != NULL && !cJSON_IsObject(weights))
		weights = NULL;

	by_cat = st_malloc(r->n * sizeof(*by_cat));
	rts = st_malloc(r->n * sizeof(*rts));
	for (size_t i = 0; i < r->n; i++)
		by_cat[i] = &r->rows[i];
	qsort(by_cat, r->n, sizeof(*by_cat), cmp_row_category);
	out->cats = st_calloc(r->n, sizeof(*out->cats)); /* at most one per row */
	for (size_t i = 0; i < r->n;) {
		struct ingest_category_score *cs = &out->cats[out->ncats++];
		const cJSON *w =
			weights != NULL
				? cJSON_GetObjectItemCaseSensitive(weights, by_cat[i]->category)
				: NULL;
		size_t j = i;

		cs->category = by_cat[i]->category;
		for (; j < r->n && strcmp(by_cat[j]->category, cs->category) == 0; j++) {
			rts[j - i] = by_cat[j]->reaction_ms;
			cs->correct += by_cat[j]->correct ? 1 : 0;
		}
		cs->n = j - i;
		cs->accuracy = (double)cs->correct / (double)cs->n;
		cs->weight = cJSON_IsNumber(w) ? w->valuedouble : 1.0;
		results_rt_stats(rts, cs->n, &cs->rt);
		out->n += cs->n;
		out->correct += cs->correct;
		wsum += cs->weight;
		wacc += cs->weight * cs->accuracy;
		i = j;
	}
	if (wsum == 0) {
		out->equal_weights = true;
		wacc = 0;
		for (size_t k = 0; k < out->ncats; k++) {
			out->cats[k].weight = 1;
			wacc += out->cats[k].accuracy;
		}
		wsum = (double)out->ncats;
	}
	out->score = 100.0 * wacc / wsum;
	out->accuracy = (double)out->correct / (double)out->n;
	for (size_t i = 0; i < r->n; i++)
		rts[i] = r->rows[i].reaction_ms;
	results_rt_stats(rts, r->n, &out->rt);
	st_free(rts);
	st_free(by_cat);
	return ST_OK;
}

/* x rounded half away from zero to places decimals. */
ST_STATIC double
results_round(double x, int places)
{
	double f = pow(10, places);

	return round(x * f) / f;
}

static cJSON *
rt_json(const struct ingest_rt_stats *rt)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddNumberToObject(o, "mean", results_round(rt->mean, 2));
	cJSON_AddNumberToObject(o, "median", results_round(rt->median, 2));
	cJSON_AddNumberToObject(o, "p90", results_round(rt->p90, 2));
	cJSON_AddNumberToObject(o, "sd", results_round(rt->sd, 2));
	cJSON_AddNumberToObject(o, "min", results_round(rt->min, 2));
	cJSON_AddNumberToObject(o, "max", results_round(rt->max, 2));
	return o;
}

cJSON *
ingest_score_json(const struct ingest_score *s)
{
	cJSON *o = cJSON_CreateObject(), *cats;

	cJSON_AddNumberToObject(o, "score", results_round(s->score, 2));
	cJSON_AddBoolToObject(o, "equal_weights", s->equal_weights);
	cJSON_AddNumberToObject(o, "n", (double)s->n);
	cJSON_AddNumberToObject(o, "correct", (double)s->correct);
	cJSON_AddNumberToObject(o, "accuracy", results_round(s->accuracy, 4));
	cJSON_AddItemToObject(o, "reaction_ms", rt_json(&s->rt));
	cats = cJSON_AddArrayToObject(o, "categories");
	for (size_t i = 0; i < s->ncats; i++) {
		const struct ingest_category_score *cs = &s->cats[i];
		cJSON *c = cJSON_CreateObject();

		cJSON_AddStringToObject(c, "category", cs->category);
		cJSON_AddNumberToObject(c, "n", (double)cs->n);
		cJSON_AddNumberToObject(c, "correct", (double)cs->correct);
		cJSON_AddNumberToObject(c, "accuracy", results_round(cs->accuracy, 4));
		cJSON_AddNumberToObject(c, "weight", cs->weight);
		cJSON_AddItemToObject(c, "reaction_ms", rt_json(&cs->rt));
		cJSON_AddItemToArray(cats, c);
	}
	return o;
}
