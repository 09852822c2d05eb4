/*
 * JSON request bodies: st_json_parse (libcommon json.c) on the raw bytes, then the typed
 * getters a handler uses on the fields of the document, and printing it back.
 */
#include "fuzz.h"
#include "strata/json.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const allowed[] = { "name", "n", "x", "on", "tags", NULL };
	struct st_json_errs errs;
	const char *s = NULL;
	long long n = 0;
	double x = 0;
	bool on = false;
	const cJSON *tags = NULL;
	char err[128];
	cJSON *doc = st_json_parse((const char *)data, size, err, sizeof(err));

	if (doc == NULL)
		return 0;
	st_json_errs_init(&errs);
	st_json_get_str(doc, "name", true, 64, &s, &errs);
	st_json_get_int(doc, "n", false, -1000, 1000, &n, &errs);
	st_json_get_num(doc, "x", false, &x, &errs);
	st_json_get_bool(doc, "on", false, &on, &errs);
	st_json_get_obj(doc, "tags", false, cJSON_Array, &tags, &errs);
	st_json_reject_unknown(doc, allowed, &errs);
	FUZZ_ASSERT(errs.n <= ST_JSON_ERRS_MAX && errs.n <= errs.total);
	st_free(st_json_print(doc, NULL));
	cJSON_Delete(doc);
	return 0;
}
