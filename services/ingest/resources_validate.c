/*
 * Validation and paging helpers shared by projects.c, members.c, subjects.c and sessions.c.
 * The pure ones (text length, device names, settings, cursors) are unit-tested; the two that
 * touch a request only read the query string or shape a page.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingest.h"
#include "strata/db.h"
#include "strata/encode.h"

#define CATEGORY_MAX 100 /* characters of a category name */

size_t
ingest_text_chars(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = 0;

	while (*p != '\0') {
		size_t len;

		if (*p < 0x20 || *p == 0x7f)
			return (size_t)-1;
		if (*p < 0x80)
			len = 1;
		else if ((*p & 0xe0) == 0xc0 && *p >= 0xc2)
			len = 2;
		else if ((*p & 0xf0) == 0xe0)
			len = 3;
		else if ((*p & 0xf8) == 0xf0 && *p <= 0xf4)
			len = 4;
		else
			return (size_t)-1;
		for (size_t i = 1; i < len; i++)
			if ((p[i] & 0xc0) != 0x80)
				return (size_t)-1;
		p += len;
		n++;
	}
	return n;
}

bool
ingest_device_valid(const char *s)
{
	size_t n = 0;

	if (s == NULL)
		return false;
	for (; s[n] != '\0'; n++) {
		char c = s[n];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == ':' || c == '-'))
			return false;
		if (n >= 128)
			return false;
	}
	return n >= 1;
}

void
ingest_settings_check(const cJSON *settings, const char *field, struct st_json_errs *errs)
{
	const cJSON *weights, *w;
	char name[128];

	if (!cJSON_IsObject(settings)) {
		st_json_errs_add(errs, field, "must be an object");
		return;
	}
	if (!ingest_json_fits(settings, INGEST_METADATA_MAX))
		st_json_errs_add(errs, field, "must be at most %d bytes of JSON",
				 INGEST_METADATA_MAX);
	weights = cJSON_GetObjectItemCaseSensitive(settings, "category_weights");
	if (weights == NULL)
		return;
	snprintf(name, sizeof(name), "%s.category_weights", field);
	if (!cJSON_IsObject(weights)) {
		st_json_errs_add(errs, name, "must be an object of category name to weight");
		return;
	}
	cJSON_ArrayForEach(w, weights)
	{
		size_t chars = ingest_text_chars(w->string);

		if (chars < 1 || chars > CATEGORY_MAX) {
			st_json_errs_add(errs, name,
					 "category names must be 1 to %d characters, without "
					 "control characters",
					 CATEGORY_MAX);
			continue;
		}
		if (!cJSON_IsNumber(w) ||
		    !(w->valuedouble >= 0 && w->valuedouble <= INGEST_WEIGHT_MAX)) {
			char f[96];

			snprintf(f, sizeof(f), "%s.category_weights.%.40s", field, w->string);
			st_json_errs_add(errs, f, "must be a number from 0 to 1000000");
		}
	}
}

bool
ingest_json_fits(const cJSON *obj, size_t max)
{
	size_t len = 0;
	char *text = st_json_print(obj, &len);

	st_free(text);
	return len <= max;
}

int
ingest_page_params(struct st_req *req, int *limit, char *micros, size_t mcap, char *id,
		   size_t idcap)
{
	struct st_json_errs errs;
	char buf[256];
	enum st_err rc;

	st_json_errs_init(&errs);
	*limit = INGEST_LIST_DEFAULT;
	micros[0] = id[0] = '\0';
	if (st_http_query(req, "limit", buf, sizeof(buf))) {
		char *end = NULL;
		long v = strtol(buf, &end, 10);

		if (end == buf || *end != '\0' || v < 1 || v > INGEST_LIST_MAX)
			st_json_errs_add(&errs, "limit", "must be an integer from 1 to %d",
					 INGEST_LIST_MAX);
		else
			*limit = (int)v;
	}
	rc = st_http_query_get(req, "cursor", buf, sizeof(buf));
	if (rc == ST_ERR_TOO_LARGE ||
	    (rc == ST_OK && buf[0] != '\0' && !st_cursor_decode(buf, micros, mcap, id, idcap))) {
		micros[0] = id[0] = '\0';
		st_json_errs_add(&errs, "cursor", "is not a cursor from a previous page");
	}
	if (errs.total > 0)
		return st_http_reply_invalid(req, 400, "invalid query parameters", &errs);
	return 0;
}

void
ingest_page_next(cJSON *page, const struct st_db_result *res, int rows, int limit, int micros_col,
		 int id_col)
{
	char next[INGEST_CURSOR_MAX];

	if (rows <= limit) {
		cJSON_AddNullToObject(page, "next_cursor");
		return;
	}
	st_cursor_encode(st_db_get(res, limit - 1, micros_col), st_db_get(res, limit - 1, id_col),
			 next, sizeof(next));
	cJSON_AddStringToObject(page, "next_cursor", next);
}

int
ingest_reply_kafka_error(struct st_req *req, enum st_err rc)
{
	(void)rc; /* every failure to publish is the event stream being unavailable for now */
	return st_http_reply_unavailable(req, 2, "the event stream (Kafka)");
}

const char *
ingest_caller_id(struct st_req *req)
{
	const struct st_principal *p = st_http_principal(req);

	return p != NULL && st_uuid_valid(p->sub) ? p->sub : NULL;
}
