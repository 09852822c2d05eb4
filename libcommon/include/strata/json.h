/*
 * JSON helpers on cJSON: parsing with a size limit, typed field access that collects
 * validation errors (field name and reason) for a problem+json `errors[]`, and printing.
 * Field getters never abort on bad input: they record an error and return false.
 */
#ifndef STRATA_JSON_H
#define STRATA_JSON_H

#include <cjson/cJSON.h>

#include "strata/core.h"

#define ST_JSON_ERRS_MAX 16

struct st_json_err {
	char field[96];   /* a JSON pointer-ish path: "readings[3].value" */
	char detail[160]; /* what is wrong, for a person: "must be a finite number" */
};

/* Validation errors collected on the caller's stack; init with st_json_errs_init. */
struct st_json_errs {
	size_t n;     /* how many are kept (at most ST_JSON_ERRS_MAX) */
	size_t total; /* how many were found */
	struct st_json_err items[ST_JSON_ERRS_MAX];
};

void st_json_errs_init(struct st_json_errs *errs);
/* Records one error (kept if there is room; always counted). */
void st_json_errs_add(struct st_json_errs *errs, const char *field, const char *fmt, ...)
	ST_PRINTF(3, 4);

/*
 * Parses len bytes (need not be NUL-terminated). NULL on bad JSON, with the byte offset of the
 * problem in err, and NULL for a document in which any object, at any depth, repeats a key
 * ("a JSON object repeats the key \"alg\""): parsers disagree on which member such a document
 * means; and NULL for one holding the escape \u0000, which cJSON would cut its string at. The
 * caller owns the tree (cJSON_Delete).
 */
cJSON *st_json_parse(const char *buf, size_t len, char *err, size_t errcap);

/* True when the JSON text buf (len bytes) holds a \u0000 escape (an odd run of backslashes
 * before "u0000"). Linear, no parsing. */
bool st_json_nul_escape(const char *buf, size_t len);

/*
 * The first member name that repeats within one object of the tree (any depth), or NULL when
 * no object repeats a key. Borrowed from the tree. Linear time in the size of the tree: large
 * objects go through a table keyed by a secret SipHash key, so crafted names cannot collide.
 */
const char *st_json_repeated_key(const cJSON *json);

/*
 * Typed field access on an object. `required` false: a missing or null field leaves *out
 * untouched and returns true. Wrong types, ranges or lengths record an error and return false.
 */
bool st_json_get_str(const cJSON *obj, const char *field, bool required, size_t max_len,
		     const char **out, struct st_json_errs *errs);
bool st_json_get_int(const cJSON *obj, const char *field, bool required, long long min,
		     long long max, long long *out, struct st_json_errs *errs);
bool st_json_get_num(const cJSON *obj, const char *field, bool required, double *out,
		     struct st_json_errs *errs); /* finite numbers only */
bool st_json_get_bool(const cJSON *obj, const char *field, bool required, bool *out,
		      struct st_json_errs *errs);
/* An object or array field (type cJSON_Object or cJSON_Array), borrowed from obj. */
bool st_json_get_obj(const cJSON *obj, const char *field, bool required, int type,
		     const cJSON **out, struct st_json_errs *errs);

/* Records an error for every member of obj whose name is not in allowed (NULL-terminated). */
void st_json_reject_unknown(const cJSON *obj, const char *const *allowed,
			    struct st_json_errs *errs);

/* Compact text of a tree; the caller owns it (st_free). Never NULL (aborts on exhaustion). */
char *st_json_print(const cJSON *json, size_t *len);

#endif
