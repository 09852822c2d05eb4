/* Readings posted as application/x-ndjson (one reading a line): readings_parse with READINGS_NDJSON
 * (fuzz_readings.h). */
#include "fuzz_readings.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_readings(READINGS_NDJSON, data, size);
	return 0;
}
