/*
 * Scoring of parsed diagnosis results, pure (no I/O), unit-tested in
 * tests/unit/ingest/test_results.c; results_parse.c reads the file.
 *
 * Per category and over the whole file: the count, the correct count, accuracy (correct / n)
 * and reaction-time statistics (mean, median, p90 by linear interpolation between closest
 * ranks, sample standard deviation, min, max); and an overall score from 0 to 100: the
 * weighted mean of the categories' accuracies times 100, weights from the project's
 * settings.category_weights (a category without one weighs 1). When every category present
 * weighs 0 the score is the plain mean instead (equal_weights: true).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingest.h"

ST_STATIC void results_rt_stats(double *x, size_t n, struct ingest_rt_stats *out);
ST_STATIC double results_round(double x, int places);

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
