/*
 * RFC 3339 times: st_time_parse_rfc3339 (libcommon core.c). A time it accepts must print back
 * (st_time_format_rfc3339) to one it reads as the same instant, and where readings_parse_time
 * (services/ingest/readings_parse.c), the other copy, accepts it too, both must agree.
 */
#include "fuzz.h"
#include "ingest/ingest.h"

#define YEAR_1_MS    INT64_C(-62135596800000) /* 0001-01-01T00:00:00Z */
#define YEAR_9999_MS INT64_C(253402300799999) /* 9999-12-31T23:59:59.999Z */

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_cstr(data, size), text[64];
	int64_t ms = 0, again = 0, us = 0;

	if (st_time_parse_rfc3339(s, &ms)) {
		if (ms >= YEAR_1_MS && ms <= YEAR_9999_MS) {
			st_time_format_rfc3339(ms, text, sizeof(text));
			FUZZ_ASSERT(st_time_parse_rfc3339(text, &again) && again == ms);
		}
		if (readings_parse_time(s, strlen(s), &us))
			FUZZ_ASSERT(us / 1000 == ms);
	}
	free(s);
	return 0;
}
