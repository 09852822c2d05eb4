/*
 * JSON helpers on cJSON: parsing bounded input, typed getters that explain what is wrong with
 * a field, and printing through libcommon's allocator.
 *
 * A document whose objects repeat a key is refused. cJSON keeps the first of two members of one
 * name and other parsers (jansson, most JavaScript engines) the last, so a document with a
 * repeated key means two things at once; see STYLE.md. The check walks the parsed tree: small
 * objects compare their names pairwise, larger ones go through an open-addressing table on
 * the keyed hash (hash.h), so that names a client chose cannot all land in one bucket. Each object
 * costs time linear in its size either way.
 */
#include "strata/json.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strata/hash.h"

/* Objects of at most this many members compare names pairwise (at most 28 comparisons). */
#define PAIRWISE_MAX 8

void
st_json_errs_init(struct st_json_errs *errs)
{
	errs->n = 0;
	errs->total = 0;
}

void
st_json_errs_add(struct st_json_errs *errs, const char *field, const char *fmt, ...)
{
	va_list ap;

	errs->total++;
	if (errs->n == ST_JSON_ERRS_MAX)
		return;
	st_strlcpy(errs->items[errs->n].field, field, sizeof(errs->items[errs->n].field));
	va_start(ap, fmt);
	vsnprintf(errs->items[errs->n].detail, sizeof(errs->items[errs->n].detail), fmt, ap);
	va_end(ap);
	errs->n++;
}

/* ---- repeated keys ---- */

/* Scratch slots for the large objects of one walk, grown to the largest. */
struct name_table {
	const char **slots;
	size_t cap; /* a power of two, or 0 */
};

/* The first name of obj (n members) that an earlier member already has, or NULL. */
static const char *
object_repeat(const cJSON *obj, size_t n, struct name_table *t)
{
	const cJSON *a, *b;
	size_t cap = 16, mask;

	if (n <= PAIRWISE_MAX) {
		for (a = obj->child; a != NULL; a = a->next)
			for (b = obj->child; b != a; b = b->next)
				if (strcmp(a->string, b->string) == 0)
					return a->string;
		return NULL;
	}
	while (cap < 2 * n)
		cap <<= 1;
	if (cap > t->cap) {
		st_free(t->slots);
		t->slots = st_calloc(cap, sizeof(*t->slots));
		t->cap = cap;
	}
	mask = cap - 1;
	memset(t->slots, 0, cap * sizeof(*t->slots));
	for (a = obj->child; a != NULL; a = a->next) {
		size_t i = (size_t)st_hash_keyed(a->string, strlen(a->string)) & mask;

		while (t->slots[i] != NULL) {
			if (strcmp(t->slots[i], a->string) == 0)
				return a->string;
			i = (i + 1) & mask;
		}
		t->slots[i] = a->string;
	}
	return NULL;
}

/* Depth-first over the tree; cJSON's nesting limit (1000) bounds the recursion. */
static const char *
tree_repeat(const cJSON *item, struct name_table *t)
{
	const cJSON *c;
	const char *name;
	size_t n = 0;

	if (!cJSON_IsObject(item) && !cJSON_IsArray(item))
		return NULL;
	for (c = item->child; c != NULL; c = c->next) {
		if (cJSON_IsObject(item) && c->string == NULL)
			return ""; /* cannot come from the parser; refused rather than trusted */
		n++;
	}
	if (cJSON_IsObject(item) && n > 1) {
		name = object_repeat(item, n, t);
		if (name != NULL)
			return name;
	}
	for (c = item->child; c != NULL; c = c->next) {
		name = tree_repeat(c, t);
		if (name != NULL)
			return name;
	}
	return NULL;
}

const char *
st_json_repeated_key(const cJSON *json)
{
	struct name_table t = { NULL, 0 };
	const char *name;

	name = tree_repeat(json, &t);
	st_free(t.slots);
	return name;
}

/* Writes the refusal of a repeated key: the name when it is short printable ASCII. */
static void
repeat_error(const char *name, char *err, size_t errcap)
{
	size_t len = strlen(name);
	bool plain = len > 0 && len <= 64;

	for (size_t i = 0; i < len && plain; i++)
		plain = name[i] >= 0x20 && name[i] < 0x7f && name[i] != '"' && name[i] != '\\';
	if (plain)
		st_errf(err, errcap, "a JSON object repeats the key \"%s\"", name);
	else
		st_errf(err, errcap, "a JSON object repeats a key");
}

/*
 * True when JSON text holds a \u0000 escape. cJSON ends its strings at the NUL, so "a\u0000b"
 * would arrive as "a" and pass every check: st_json_parse refuses such a document whole.
 * Backslashes come in runs; an odd run's last one escapes what follows.
 */
bool
st_json_nul_escape(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		size_t k = 0;

		if (s[i] != '\\')
			continue;
		while (i + k < n && s[i + k] == '\\')
			k++;
		if (k % 2 == 1 && i + k + 5 <= n && s[i + k] == 'u' &&
		    memcmp(s + i + k + 1, "0000", 4) == 0)
			return true;
		i += k - 1;
	}
	return false;
}

cJSON *
st_json_parse(const char *buf, size_t len, char *err, size_t errcap)
{
	const char *end = NULL;
	cJSON *json;

	if (len == 0) {
		st_errf(err, errcap, "empty body: expected a JSON document");
		return NULL;
	}
	if (st_json_nul_escape(buf, len)) {
		st_errf(err, errcap, "a JSON string holds \\u0000, which is not accepted");
		return NULL;
	}
	json = cJSON_ParseWithLengthOpts(buf, len, &end, false);
	if (json == NULL) {
		size_t at = (end != NULL && end >= buf) ? (size_t)(end - buf) : 0;
		st_errf(err, errcap, "malformed JSON near byte %zu", at);
		return NULL;
	}
	/* Allow trailing white space only. */
	for (const char *p = end; p != NULL && p < buf + len; p++) {
		if (*p != ' ' && *p != '\n' && *p != '\r' && *p != '\t') {
			st_errf(err, errcap, "unexpected data after the JSON document at byte %zu",
				(size_t)(p - buf));
			cJSON_Delete(json);
			return NULL;
		}
	}
	{
		const char *name = st_json_repeated_key(json);

		if (name != NULL) {
			repeat_error(name, err, errcap);
			cJSON_Delete(json);
			return NULL;
		}
	}
	return json;
}

/* The field, or NULL when absent or JSON null; records "required" when it must be there. */
static const cJSON *
field_of(const cJSON *obj, const char *field, bool required, struct st_json_errs *errs)
{
	const cJSON *item =
		cJSON_IsObject(obj) ? cJSON_GetObjectItemCaseSensitive(obj, field) : NULL;

	if (item == NULL || cJSON_IsNull(item)) {
		if (required)
			st_json_errs_add(errs, field, "is required");
		return NULL;
	}
	return item;
}

bool
st_json_get_str(const cJSON *obj, const char *field, bool required, size_t max_len,
		const char **out, struct st_json_errs *errs)
{
	const cJSON *item = field_of(obj, field, required, errs);

	if (item == NULL)
		return !required;
	if (!cJSON_IsString(item)) {
		st_json_errs_add(errs, field, "must be a string");
		return false;
	}
	if (max_len > 0 && strlen(item->valuestring) > max_len) {
		st_json_errs_add(errs, field, "must be at most %zu characters", max_len);
		return false;
	}
	*out = item->valuestring;
	return true;
}

bool
st_json_get_int(const cJSON *obj, const char *field, bool required, long long min, long long max,
		long long *out, struct st_json_errs *errs)
{
	const cJSON *item = field_of(obj, field, required, errs);
	double d;

	if (item == NULL)
		return !required;
	if (!cJSON_IsNumber(item)) {
		st_json_errs_add(errs, field, "must be an integer");
		return false;
	}
	d = item->valuedouble;
	/* Range-check the integer, not the double: (double)max may round up past max, and a
	 * double at or past 2^63 has no long long to convert to. */
	if (!isfinite(d) || d != floor(d) || d < -0x1p63 || d >= 0x1p63 || (long long)d < min ||
	    (long long)d > max) {
		st_json_errs_add(errs, field, "must be an integer from %lld to %lld", min, max);
		return false;
	}
	*out = (long long)d;
	return true;
}

bool
st_json_get_num(const cJSON *obj, const char *field, bool required, double *out,
		struct st_json_errs *errs)
{
	const cJSON *item = field_of(obj, field, required, errs);

	if (item == NULL)
		return !required;
	if (!cJSON_IsNumber(item) || !isfinite(item->valuedouble)) {
		st_json_errs_add(errs, field, "must be a finite number");
		return false;
	}
	*out = item->valuedouble;
	return true;
}

bool
st_json_get_bool(const cJSON *obj, const char *field, bool required, bool *out,
		 struct st_json_errs *errs)
{
	const cJSON *item = field_of(obj, field, required, errs);

	if (item == NULL)
		return !required;
	if (!cJSON_IsBool(item)) {
		st_json_errs_add(errs, field, "must be true or false");
		return false;
	}
	*out = cJSON_IsTrue(item);
	return true;
}

bool
st_json_get_obj(const cJSON *obj, const char *field, bool required, int type, const cJSON **out,
		struct st_json_errs *errs)
{
	const cJSON *item = field_of(obj, field, required, errs);

	if (item == NULL)
		return !required;
	if ((item->type & 0xff) != type) {
		st_json_errs_add(errs, field, "must be %s",
				 type == cJSON_Array ? "an array" : "an object");
		return false;
	}
	*out = item;
	return true;
}

void
st_json_reject_unknown(const cJSON *obj, const char *const *allowed, struct st_json_errs *errs)
{
	const cJSON *item;

	cJSON_ArrayForEach(item, obj)
	{
		bool known = false;

		for (size_t i = 0; allowed[i] != NULL && !known; i++)
			known = item->string != NULL && strcmp(item->string, allowed[i]) == 0;
		if (!known)
			st_json_errs_add(errs, item->string ? item->string : "",
					 "is not a known field");
	}
}

char *
st_json_print(const cJSON *json, size_t *len)
{
	/* cJSON allocates with malloc (libcommon installs no hooks) and st_free is free: the
	 * string can be handed over as it is, without a copy. */
	char *text = cJSON_PrintUnformatted(json);

	if (text == NULL)
		abort(); /* cJSON returns NULL only when allocation failed */
	if (len != NULL)
		*len = strlen(text);
	return text;
}
