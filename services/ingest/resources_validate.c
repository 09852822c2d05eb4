/*
 * Validation helpers shared by the field tables of projects.c, members.c, subjects.c and
 * sessions.c (libcommon's fields.h does the rest): device names and project settings, both
 * unit-tested, and the caller's id and Kafka's answer.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingest.h"
#include "strata/db.h"
#include "strata/text.h"

#define CATEGORY_MAX 100 /* characters of a category name */

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
		size_t chars = st_text_chars(w->string, strlen(w->string), 0);

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

bool
ingest_settings_ok(const cJSON *settings, const char *field, struct st_json_errs *errs)
{
	size_t before = errs->total;

	ingest_settings_check(settings, field, errs);
	return errs->total == before;
}

bool
ingest_device_ok(const cJSON *device, const char *field, struct st_json_errs *errs)
{
	(void)field;
	(void)errs; /* the field's detail says what a device name is */
	return cJSON_IsString(device) && ingest_device_valid(device->valuestring);
}

int
ingest_project_list(struct st_req *req, struct st_app *app, const char *sql)
{
	const char *project = st_http_param(req, "id");
	struct st_page pg;
	int status;

	status = ingest_project_access(req, app, project, INGEST_READ, NULL);
	if (status == 0)
		status = st_page_read(req, INGEST_LIST_DEFAULT, INGEST_LIST_MAX, &pg);
	if (status == 0) {
		const char *params[] = { project, pg.after_micros, pg.after_id, pg.fetch };

		status = st_http_reply_page(req, app->db, sql, 4, params, &pg);
	}
	return status;
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
