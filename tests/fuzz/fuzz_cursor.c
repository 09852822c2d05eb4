/*
 * Keyset cursors (?cursor=): st_cursor_decode (libcommon encode.c). A cursor it accepts must
 * be the one st_cursor_encode makes of what it decoded (padding aside): one page, one cursor.
 */
#include "fuzz.h"
#include "strata/encode.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *cursor = fuzz_cstr(data, size), micros[21], id[37], again[160];
	size_t n = strlen(cursor);

	if (st_cursor_decode(cursor, micros, sizeof(micros), id, sizeof(id))) {
		st_cursor_encode(micros, id, again, sizeof(again));
		while (n > 0 && cursor[n - 1] == '=')
			n--;
		FUZZ_ASSERT(strlen(again) == n && memcmp(again, cursor, n) == 0);
	}
	free(cursor);
	return 0;
}
