/* Readings posted as application/json ({"readings": [...]}): readings_parse with READINGS_JSON
 * (fuzz_readings.h). */
#include "fuzz_readings.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_readings(READINGS_JSON, data, size);
	return 0;
}
