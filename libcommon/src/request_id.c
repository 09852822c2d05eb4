/*
 * Request ids (strata/request_id.h): one check for every id that came from outside, and one
 * replacement, a new UUID, for those that fail it.
 */
#include "strata/request_id.h"

#include <string.h>

bool
st_request_id_valid(const char *id, size_t len)
{
	if (id == NULL || len == 0 || len > ST_REQUEST_ID_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = id[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == ':' || c == '-'))
			return false;
	}
	return true;
}

void
st_request_id_pick(const char *given, size_t len, char *out, size_t cap)
{
	if (cap > len && st_request_id_valid(given, len)) {
		memcpy(out, given, len);
		out[len] = '\0';
		return;
	}
	st_uuid_v4(out, cap);
}
