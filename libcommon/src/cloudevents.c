/*
 * The CloudEvents 1.0 JSON envelope of every Strata Kafka message (proto/topics/README.md):
 * building one with a fresh id and the current time, and parsing one back with the checks a
 * consumer needs before it trusts the attributes. The data itself is validated by whoever
 * owns the event type.
 */
#include "strata/kafka.h"

#include <string.h>

#include "strata/core.h"

char *
st_cloudevent_build(const char *source, const char *type, const char *subject, cJSON *data)
{
	cJSON *ev = NULL;
	char id[40], now[32];
	char *text = NULL, *out = NULL;

	if (source == NULL || source[0] == '\0' || type == NULL || type[0] == '\0')
		goto out;
	st_uuid_v4(id, sizeof(id));
	st_time_format_rfc3339(st_now_wall_ms(), now, sizeof(now));
	ev = cJSON_CreateObject();
	if (ev == NULL || cJSON_AddStringToObject(ev, "specversion", "1.0") == NULL ||
	    cJSON_AddStringToObject(ev, "id", id) == NULL ||
	    cJSON_AddStringToObject(ev, "source", source) == NULL ||
	    cJSON_AddStringToObject(ev, "type", type) == NULL ||
	    (subject != NULL && cJSON_AddStringToObject(ev, "subject", subject) == NULL) ||
	    cJSON_AddStringToObject(ev, "time", now) == NULL ||
	    cJSON_AddStringToObject(ev, "datacontenttype", "application/json") == NULL)
		goto out;
	if (data != NULL) {
		if (!cJSON_AddItemToObject(ev, "data", data))
			goto out;
		data = NULL; /* the envelope owns it now */
	}
	text = cJSON_PrintUnformatted(ev);
	if (text == NULL)
		goto out;
	out = st_strdup(text); /* the caller frees with st_free, whatever cJSON's allocator is */
out:
	if (text != NULL)
		cJSON_free(text);
	cJSON_Delete(ev);
	cJSON_Delete(data);
	return out;
}

/* A required attribute: a non-empty string. */
static bool
require_string(const cJSON *ev, const char *name, char *err, size_t errcap)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(ev, name);

	if (item == NULL) {
		st_errf(err, errcap, "%s is missing", name);
		return false;
	}
	if (!cJSON_IsString(item) || item->valuestring[0] == '\0') {
		st_errf(err, errcap, "%s must be a non-empty string", name);
		return false;
	}
	return true;
}

/* An optional attribute: absent, or a string. */
static bool
optional_string(const cJSON *ev, const char *name, char *err, size_t errcap)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(ev, name);

	if (item != NULL && !cJSON_IsString(item)) {
		st_errf(err, errcap, "%s must be a string", name);
		return false;
	}
	return true;
}

cJSON *
st_cloudevent_parse(const void *json, size_t len, const cJSON **data, char *err, size_t errcap)
{
	const char *text = json, *end = NULL;
	cJSON *ev = NULL;
	const cJSON *item;
	cJSON *out = NULL;

	*data = NULL;
	st_errf(err, errcap, "%s", "");
	if (text == NULL || len == 0) {
		st_errf(err, errcap, "empty message");
		goto out;
	}
	ev = cJSON_ParseWithLengthOpts(text, len, &end, false);
	if (ev == NULL) {
		st_errf(err, errcap, "not JSON");
		goto out;
	}
	while (end < text + len && (*end == ' ' || *end == '\t' || *end == '\r' || *end == '\n'))
		end++;
	if (end != text + len) {
		st_errf(err, errcap, "text after the JSON document");
		goto out;
	}
	if (!cJSON_IsObject(ev)) {
		st_errf(err, errcap, "not a JSON object");
		goto out;
	}
	item = cJSON_GetObjectItemCaseSensitive(ev, "specversion");
	if (!cJSON_IsString(item) || strcmp(item->valuestring, "1.0") != 0) {
		st_errf(err, errcap, "specversion must be \"1.0\"");
		goto out;
	}
	if (!require_string(ev, "id", err, errcap) || !require_string(ev, "source", err, errcap) ||
	    !require_string(ev, "type", err, errcap) ||
	    !optional_string(ev, "subject", err, errcap) ||
	    !optional_string(ev, "datacontenttype", err, errcap) ||
	    !optional_string(ev, "dataschema", err, errcap) ||
	    !optional_string(ev, "time", err, errcap))
		goto out;
	item = cJSON_GetObjectItemCaseSensitive(ev, "time");
	if (item != NULL && !st_time_parse_rfc3339(item->valuestring, NULL)) {
		st_errf(err, errcap, "time must be an RFC 3339 timestamp");
		goto out;
	}
	if (cJSON_GetObjectItemCaseSensitive(ev, "data_base64") != NULL) {
		st_errf(err, errcap, "data_base64 is not supported: data must be JSON");
		goto out;
	}
	*data = cJSON_GetObjectItemCaseSensitive(ev, "data");
	out = ev;
	ev = NULL;
out:
	cJSON_Delete(ev);
	return out;
}
