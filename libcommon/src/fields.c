/*
 * Field tables for JSON bodies, keyset pages and answers straight from a statement (see
 * fields.h). Validation is table-driven: one checker a type, each of which either lays the
 * value out as SQL text or records why not, with the type's own words unless the field brings
 * its own detail. Nothing here knows a resource: the tables and the SQL are the handlers'.
 */
#include "strata/fields.h"

#include <assert.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strata/db.h"
#include "strata/encode.h"
#include "strata/log.h"
#include "strata/text.h"

/* Records why field f's value is bad: its own detail when it has one, else the type's words. */
static bool ST_PRINTF(3, 4)
	bad(struct st_json_errs *errs, const struct st_field *f, const char *fmt, ...)
{
	char detail[160];
	va_list ap;

	if (f->detail != NULL) {
		st_json_errs_add(errs, f->name, "%s", f->detail);
		return false;
	}
	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	st_json_errs_add(errs, f->name, "%s", detail);
	return false;
}

/* The bound of a TEXT field in words: "must be 1 to 200 characters, without ...". */
static bool
bad_text(struct st_json_errs *errs, const struct st_field *f)
{
	const char *controls =
		(f->flags & ST_FIELD_MULTILINE) != 0
			? "without control characters other than tabs and line breaks"
			: "without control characters";

	if (f->min > 0 && f->max > 0)
		return bad(errs, f, "must be %lld to %lld characters, %s", f->min, f->max,
			   controls);
	if (f->max > 0)
		return bad(errs, f, "must be at most %lld characters, %s", f->max, controls);
	if (f->min > 0)
		return bad(errs, f, "must be at least %lld characters, %s", f->min, controls);
	return bad(errs, f, "must be text %s", controls);
}

static bool
check_text(const struct st_field *f, const cJSON *v, struct st_fields *out, size_t i,
	   struct st_json_errs *errs)
{
	unsigned allow = (f->flags & ST_FIELD_MULTILINE) != 0
				 ? ST_TEXT_ALLOW_TAB | ST_TEXT_ALLOW_NEWLINE
				 : 0;
	size_t chars;

	if (!cJSON_IsString(v))
		return bad(errs, f, "must be a string");
	chars = st_text_chars(v->valuestring, strlen(v->valuestring), allow);
	if (chars == (size_t)-1 || (long long)chars < f->min ||
	    (f->max > 0 && (long long)chars > f->max))
		return bad_text(errs, f);
	out->params[i] = v->valuestring;
	return true;
}

static bool
check_uuid(const struct st_field *f, const cJSON *v, struct st_fields *out, size_t i,
	   struct st_json_errs *errs)
{
	if (!cJSON_IsString(v) || !st_uuid_valid(v->valuestring))
		return bad(errs, f, "must be a UUID");
	out->params[i] = v->valuestring;
	return true;
}

static bool
check_int(const struct st_field *f, const cJSON *v, struct st_fields *out, size_t i,
	  struct st_json_errs *errs)
{
	double d;

	if (!cJSON_IsNumber(v))
		return bad(errs, f, "must be an integer");
	d = v->valuedouble;
	/* The range on the integer, not the double (see st_json_get_int). */
	if (!isfinite(d) || d != floor(d) || d < -0x1p63 || d >= 0x1p63 || (long long)d < f->min ||
	    (long long)d > f->max)
		return bad(errs, f, "must be an integer from %lld to %lld", f->min, f->max);
	snprintf(out->scratch[i], sizeof(out->scratch[i]), "%lld", (long long)d);
	out->params[i] = out->scratch[i];
	return true;
}

static bool
check_number(const struct st_field *f, const cJSON *v, struct st_fields *out, size_t i,
	     struct st_json_errs *errs)
{
	bool bounded = f->min != 0 || f->max != 0;

	if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble))
		return bad(errs, f, "must be a finite number");
	if (bounded && !(v->valuedouble >= (double)f->min && v->valuedouble <= (double)f->max))
		return bad(errs, f, "must be a number from %lld to %lld", f->min, f->max);
	snprintf(out->scratch[i], sizeof(out->scratch[i]), "%.17g", v->valuedouble);
	out->params[i] = out->scratch[i];
	return true;
}

static bool
check_bool(const struct st_field *f, const cJSON *v, struct st_fields *out, size_t i,
	   struct st_json_errs *errs)
{
	if (!cJSON_IsBool(v))
		return bad(errs, f, "must be true or false");
	out->params[i] = cJSON_IsTrue(v) ? "true" : "false";
	return true;
}

static bool
check_enum(const struct st_field *f, const cJSON *v, struct st_fields *out, size_t i,
	   struct st_json_errs *errs)
{
	char list[128] = "";
	size_t n = 0, used = 0;

	for (n = 0; f->values != NULL && f->values[n] != NULL; n++)
		if (cJSON_IsString(v) && strcmp(v->valuestring, f->values[n]) == 0) {
			out->params[i] = f->values[n];
			return true;
		}
	/* "must be owner, member or viewer" */
	for (size_t k = 0; k < n && used < sizeof(list); k++) {
		int w = snprintf(list + used, sizeof(list) - used, "%s%s",
				 k == 0 ? "" : (k + 1 == n ? " or " : ", "), f->values[k]);

		if (w < 0)
			break;
		used += (size_t)w;
	}
	return bad(errs, f, "must be %s", list);
}

static bool
check_time(const struct st_field *f, const cJSON *v, struct st_fields *out, size_t i,
	   struct st_json_errs *errs)
{
	int64_t ms;

	if (!cJSON_IsString(v) || !st_time_parse_rfc3339(v->valuestring, &ms))
		return bad(errs, f, "must be an RFC 3339 date-time (2026-01-01T00:00:00Z)");
	st_time_format_rfc3339(ms, out->scratch[i], sizeof(out->scratch[i]));
	out->params[i] = out->scratch[i];
	return true;
}

static bool
check_object(const struct st_field *f, const cJSON *v, struct st_fields *out, size_t i,
	     struct st_json_errs *errs)
{
	size_t len = 0;
	char *text;

	if (!cJSON_IsObject(v))
		return bad(errs, f, "must be an object");
	text = st_json_print(v, &len);
	if (f->max > 0 && len > (size_t)f->max) {
		st_free(text);
		return bad(errs, f, "must be at most %lld bytes of JSON", f->max);
	}
	out->owned[i] = text;
	out->params[i] = text;
	return true;
}

/* Appends s to a PostgreSQL array literal, quoted, with " and \ escaped. */
static void
array_append(char **buf, size_t *len, size_t *cap, const char *s, bool first)
{
	size_t need = *len + 2 * strlen(s) + 5;

	if (need > *cap) {
		*cap = need * 2;
		*buf = st_realloc(*buf, *cap);
	}
	if (!first)
		(*buf)[(*len)++] = ',';
	(*buf)[(*len)++] = '"';
	for (; *s != '\0'; s++) {
		if (*s == '"' || *s == '\\')
			(*buf)[(*len)++] = '\\';
		(*buf)[(*len)++] = *s;
	}
	(*buf)[(*len)++] = '"';
	(*buf)[*len] = '\0';
}

static bool
check_strings(const struct st_field *f, const cJSON *v, struct st_fields *out, size_t i,
	      struct st_json_errs *errs)
{
	const cJSON *item;
	size_t len = 1, cap = 64, before = errs->total;
	long long count;
	char *lit;
	int k = 0;

	if (!cJSON_IsArray(v))
		return bad(errs, f, "must be an array of strings");
	count = cJSON_GetArraySize(v);
	if (count < f->min || (f->max > 0 && count > f->max)) {
		if (f->max > 0)
			return bad(errs, f, "must be an array of %lld to %lld strings", f->min,
				   f->max);
		return bad(errs, f, "must be an array of at least %lld strings", f->min);
	}
	lit = st_malloc(cap);
	lit[0] = '{';
	lit[1] = '\0';
	cJSON_ArrayForEach(item, v)
	{
		size_t chars = cJSON_IsString(item) ? st_text_chars(item->valuestring,
								    strlen(item->valuestring), 0)
						    : (size_t)-1;

		if (chars < 1 || chars > ST_FIELD_ITEM_CHARS) {
			char name[96];

			snprintf(name, sizeof(name), "%.80s[%d]", f->name, k);
			st_json_errs_add(errs, name,
					 "must be a string of 1 to %d characters, without control "
					 "characters",
					 ST_FIELD_ITEM_CHARS);
		} else {
			array_append(&lit, &len, &cap, item->valuestring, k == 0);
		}
		k++;
	}
	if (errs->total != before) {
		st_free(lit);
		return false;
	}
	if (len + 2 > cap)
		lit = st_realloc(lit, len + 2);
	lit[len++] = '}';
	lit[len] = '\0';
	out->owned[i] = lit;
	out->params[i] = lit;
	return true;
}

typedef bool type_check(const struct st_field *f, const cJSON *v, struct st_fields *out, size_t i,
			struct st_json_errs *errs);

/* By enum st_field_type. */
static type_check *const checks[] = {
	[ST_FIELD_TEXT] = check_text,       [ST_FIELD_UUID] = check_uuid,
	[ST_FIELD_INT] = check_int,         [ST_FIELD_NUMBER] = check_number,
	[ST_FIELD_BOOL] = check_bool,       [ST_FIELD_ENUM] = check_enum,
	[ST_FIELD_TIME] = check_time,       [ST_FIELD_OBJECT] = check_object,
	[ST_FIELD_STRINGS] = check_strings,
};

/* One field of the table: present or not, null or not, its type, its own check. */
static void
parse_field(const struct st_field *f, size_t i, const cJSON *body, enum st_fields_mode mode,
	    struct st_fields *out, struct st_json_errs *errs)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(body, f->name);
	size_t before = errs->total;

	out->json[i] = v;
	out->present[i] = v != NULL;
	if (v == NULL || cJSON_IsNull(v)) {
		if ((f->flags & ST_FIELD_REQUIRED) != 0 && mode == ST_FIELDS_WHOLE)
			st_json_errs_add(errs, f->name, "is required");
		else if (v != NULL && (f->flags & ST_FIELD_NULLABLE) == 0)
			st_json_errs_add(errs, f->name, "cannot be null");
		return;
	}
	if ((size_t)f->type >= ST_ARRAY_LEN(checks) || checks[f->type] == NULL) {
		st_json_errs_add(errs, f->name, "has a type this service does not know");
		return;
	}
	if (!checks[f->type](f, v, out, i, errs))
		return;
	if (f->check != NULL && !f->check(v, f->name, errs)) {
		if (errs->total == before)
			st_json_errs_add(errs, f->name, "%s",
					 f->detail != NULL ? f->detail : "is not valid");
		out->params[i] = NULL;
	}
}

bool
st_fields_parse(const struct st_field *table, size_t n, const cJSON *body, enum st_fields_mode mode,
		struct st_fields *out, struct st_json_errs *errs)
{
	size_t before = errs->total;
	const cJSON *member;

	memset(out, 0, sizeof(*out));
	assert(n <= ST_FIELDS_MAX); /* a table is the service's own: a longer one is a bug */
	if (n > ST_FIELDS_MAX)
		n = ST_FIELDS_MAX;
	out->n = n;
	for (size_t i = 0; i < n; i++)
		parse_field(&table[i], i, body, mode, out, errs);
	cJSON_ArrayForEach(member, body)
	{
		bool known = false;

		for (size_t i = 0; i < n && !known; i++)
			known = member->string != NULL &&
				strcmp(member->string, table[i].name) == 0;
		if (!known)
			st_json_errs_add(errs, member->string != NULL ? member->string : "",
					 "is not a known field");
	}
	return errs->total == before;
}

int
st_fields_read(struct st_req *req, const struct st_field *table, size_t n, enum st_fields_mode mode,
	       struct st_fields *out, const char *detail)
{
	struct st_json_errs errs;
	cJSON *body = NULL;
	int status;

	memset(out, 0, sizeof(*out));
	status = st_http_body_json_object(req, &body);
	if (status != 0)
		return status;
	st_json_errs_init(&errs);
	if (!st_fields_parse(table, n, body, mode, out, &errs))
		status = st_http_reply_invalid(req, 400, detail, &errs);
	out->body = body;
	return status;
}

void
st_fields_cleanup(struct st_fields *out)
{
	for (size_t i = 0; i < ST_FIELDS_MAX; i++) {
		st_free(out->owned[i]);
		out->owned[i] = NULL;
	}
	cJSON_Delete(out->body);
	out->body = NULL;
}

size_t
st_fields_patch_params(const struct st_fields *f, const char **out, size_t cap)
{
	size_t k = 0;

	for (size_t i = 0; i < f->n && k + 2 <= cap; i++) {
		out[k++] = f->present[i] ? "true" : "false";
		out[k++] = f->params[i];
	}
	return k;
}

/* ---- lists ---- */

int
st_page_read(struct st_req *req, int def, int max, struct st_page *page)
{
	struct st_json_errs errs;
	char buf[256];
	enum st_err rc;

	memset(page, 0, sizeof(*page));
	st_json_errs_init(&errs);
	page->limit = def;
	if (st_http_query(req, "limit", buf, sizeof(buf))) {
		char *end = NULL;
		long v = strtol(buf, &end, 10);

		if (end == buf || *end != '\0' || v < 1 || v > max)
			st_json_errs_add(&errs, "limit", "must be an integer from 1 to %d", max);
		else
			page->limit = (int)v;
	}
	rc = st_http_query_get(req, "cursor", buf, sizeof(buf));
	if (rc == ST_ERR_TOO_LARGE || (rc == ST_OK && buf[0] != '\0' &&
				       !st_cursor_decode(buf, page->micros, sizeof(page->micros),
							 page->id, sizeof(page->id))))
		st_json_errs_add(&errs, "cursor", "is not a cursor from a previous page");
	else if (rc == ST_OK && buf[0] != '\0') {
		page->after_micros = page->micros;
		page->after_id = page->id;
	}
	snprintf(page->fetch, sizeof(page->fetch), "%d", page->limit + 1);
	if (errs.total > 0)
		return st_http_reply_invalid(req, 400, "invalid query parameters", &errs);
	return 0;
}

/* ---- answers from a statement ---- */

int
st_http_reply_row(struct st_req *req, struct st_db_pool *pool, const char *sql, int nparams,
		  const char *const *params, const struct st_http_row_opts *opts)
{
	static const struct st_http_row_opts none = { 0 };
	struct st_db_result *res = NULL;
	enum st_err rc = st_db_pool_query(pool, sql, nparams, params, &res, NULL, 0);
	cJSON *row;
	int status;

	if (opts == NULL)
		opts = &none;
	if (rc == ST_ERR_CONFLICT && opts->conflict != NULL) {
		status = st_http_reply_problem(req, 409, "%s", opts->conflict);
	} else if (rc != ST_OK) {
		status = st_http_reply_db_error(req, rc, "db");
	} else if (st_db_rows(res) == 0) {
		status = st_http_reply_problem(req, 404, "%s",
					       opts->missing != NULL ? opts->missing : "not found");
	} else {
		row = st_db_row_json(res, 0);
		status = opts->location != NULL ? st_http_reply_created(req, opts->location, row)
						: st_http_reply_json(req, 200, row);
		cJSON_Delete(row);
	}
	st_db_result_free(res);
	return status;
}

int
st_http_reply_page(struct st_req *req, struct st_db_pool *pool, const char *sql, int nparams,
		   const char *const *params, const struct st_page *page)
{
	struct st_db_result *res = NULL;
	enum st_err rc = st_db_pool_query(pool, sql, nparams, params, &res, NULL, 0);
	cJSON *doc, *items;
	int rows, status;

	if (rc != ST_OK)
		return st_http_reply_db_error(req, rc, "db");
	rows = st_db_rows(res);
	doc = cJSON_CreateObject();
	items = cJSON_AddArrayToObject(doc, "items");
	for (int i = 0; i < rows && i < page->limit; i++)
		cJSON_AddItemToArray(items, st_db_row_json(res, i));
	if (rows > page->limit) {
		int mc = st_db_col(res, "_cursor_micros"), ic = st_db_col(res, "_cursor_id");
		char next[128];

		if (mc < 0 || ic < 0) {
			st_log(ST_LOG_ERROR, "db",
			       "list statement without _cursor_micros, _cursor_id");
			cJSON_AddNullToObject(doc, "next_cursor");
		} else {
			st_cursor_encode(st_db_get(res, page->limit - 1, mc),
					 st_db_get(res, page->limit - 1, ic), next, sizeof(next));
			cJSON_AddStringToObject(doc, "next_cursor", next);
		}
	} else {
		cJSON_AddNullToObject(doc, "next_cursor");
	}
	status = st_http_reply_json(req, 200, doc);
	cJSON_Delete(doc);
	st_db_result_free(res);
	return status;
}

int
st_http_reply_done(struct st_req *req, struct st_db_pool *pool, const char *sql, int nparams,
		   const char *const *params, const char *missing)
{
	struct st_db_result *res = NULL;
	enum st_err rc = st_db_pool_query(pool, sql, nparams, params, &res, NULL, 0);
	int status;

	if (rc != ST_OK)
		return st_http_reply_db_error(req, rc, "db");
	if (st_db_affected(res) == 0)
		status = st_http_reply_problem(req, 404, "%s",
					       missing != NULL ? missing : "not found");
	else
		status = st_http_reply_no_content(req);
	st_db_result_free(res);
	return status;
}
