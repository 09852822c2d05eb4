/*
 * The body of the three readings targets (fuzz_readings_json.c, _ndjson.c, _csv.c): one call
 * of readings_parse (services/ingest/readings_parse.c) in the given format, and for a good
 * batch its strata.readings events, which must be JSON and must cover every reading.
 */
#ifndef STRATA_FUZZ_READINGS_H
#define STRATA_FUZZ_READINGS_H

#include "fuzz.h"
#include "ingest/ingest.h"

#define FUZZ_READINGS_MAX     1000
#define FUZZ_READINGS_EVENT_B 4096 /* small, so that batches are split into several events */

static inline void
fuzz_readings(enum readings_format fmt, const uint8_t *data, size_t size)
{
	struct readings_batch b;
	size_t from = 0, len = 0;

	readings_batch_init(&b);
	if (readings_parse(fmt, (const char *)data, size, FUZZ_READINGS_MAX, &b) != ST_OK) {
		FUZZ_ASSERT(b.n == 0);
		readings_batch_cleanup(&b);
		return;
	}
	FUZZ_ASSERT(b.n > 0 && b.n <= FUZZ_READINGS_MAX && b.errs.total == 0);
	while (from < b.n) {
		size_t before = from;
		char *ev = readings_encode_event(&b, &from, "s", "p", FUZZ_READINGS_EVENT_B, &len);
		cJSON *doc = cJSON_ParseWithLength(ev, len);

		FUZZ_ASSERT(doc != NULL && from > before);
		FUZZ_ASSERT(len <= FUZZ_READINGS_EVENT_B || from == before + 1);
		cJSON_Delete(doc);
		st_free(ev);
	}
	readings_batch_cleanup(&b);
}

#endif
