/*
 * RFC 3339 times: libcommon's one reader, at both precisions (core.c). A time the millisecond
 * reader accepts must print back (st_time_format_rfc3339) to one it reads as the same instant;
 * a time the microsecond reader accepts must print back the same way, and must name the
 * millisecond the millisecond reader finds (the microsecond one refuses what the other takes
 * in addition: leap seconds, digits below the microsecond).
 */
#include "fuzz.h"
#include "strata/core.h"

#define YEAR_1_MS    INT64_C(-62135596800000) /* 0001-01-01T00:00:00Z */
#define YEAR_9999_MS INT64_C(253402300799999) /* 9999-12-31T23:59:59.999Z */

/* Floor division, so that a time before 1970 lands in the millisecond that holds it. */
static int64_t
floor_div(int64_t a, int64_t b)
{
	return a / b - ((a % b != 0) && ((a < 0) != (b < 0)));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_cstr(data, size), text[64];
	int64_t ms = 0, again = 0, us = 0, us_again = 0;
	bool ms_ok = st_time_parse_rfc3339(s, &ms);

	if (ms_ok && ms >= YEAR_1_MS && ms <= YEAR_9999_MS) {
		st_time_format_rfc3339(ms, text, sizeof(text));
		FUZZ_ASSERT(st_time_parse_rfc3339(text, &again) && again == ms);
	}
	if (st_time_parse_rfc3339_us(s, strlen(s), &us)) {
		FUZZ_ASSERT(ms_ok && floor_div(us, 1000) == ms);
		if (floor_div(us, 1000) >= YEAR_1_MS && floor_div(us, 1000) <= YEAR_9999_MS) {
			FUZZ_ASSERT(st_time_format_rfc3339_us(us, text, sizeof(text)) > 0);
			FUZZ_ASSERT(st_time_parse_rfc3339_us(text, strlen(text), &us_again) &&
				    us_again == us);
		}
	}
	free(s);
	return 0;
}
