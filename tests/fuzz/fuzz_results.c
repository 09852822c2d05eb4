/*
 * Diagnosis results files: ingest_results_parse (services/ingest/results_parse.c) on the raw
 * CSV, and for a good file its score (ingest_results_score, ingest_score_json).
 */
#include <math.h>

#include "fuzz.h"
#include "ingest/ingest.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ingest_results r;
	struct ingest_score score;
	struct st_json_errs errs;
	cJSON *weights = cJSON_Parse("{\"memory\": 2, \"speed\": 0}");

	st_json_errs_init(&errs);
	if (ingest_results_parse((const char *)data, size, 500, &r, &errs) == ST_OK) {
		FUZZ_ASSERT(r.n > 0 && r.n <= 500 && errs.total == 0);
		if (ingest_results_score(&r, weights, &score, &errs) == ST_OK) {
			FUZZ_ASSERT(isfinite(score.score) && score.score >= 0 &&
				    score.score <= 100 + 1e-9 && score.n == r.n);
			cJSON_Delete(ingest_score_json(&score));
			ingest_score_cleanup(&score);
		}
		ingest_results_cleanup(&r);
	} else {
		FUZZ_ASSERT(r.n == 0);
	}
	cJSON_Delete(weights);
	return 0;
}
