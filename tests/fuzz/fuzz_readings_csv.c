/* Readings posted as text/csv (ts,channel,value): readings_parse with READINGS_CSV
 * (fuzz_readings.h). */
#include "fuzz_readings.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_readings(READINGS_CSV, data, size);
	return 0;
}
