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

/* Reads exactly n digits at *p into *v and advances; false when they are not there. */
static bool
digits(const char **p, int n, int *v)
{
	*v = 0;
	for (int i = 0; i < n; i++) {
		char c = (*p)[i];

		if (c < '0' || c > '9')
			return false;
		*v = *v * 10 + (c - '0');
	}
	*p += n;
	return true;
}

static bool
expect(const char **p, char c)
{
	if (**p != c)
		return false;
	(*p)++;
	return true;
}

static int
days_in_month(int year, int month)
{
	static const int days[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;

	return month == 2 && leap ? 29 : days[month - 1];
}

/* An RFC 3339 date-time: 2026-01-01T00:00:00(.125)?(Z|+09:00), T and Z in either case. */
static bool
rfc3339_valid(const char *s)
{
	const char *p = s;
	int year, month, day, hour, min, sec, oh, om;

	if (!digits(&p, 4, &year) || !expect(&p, '-') || !digits(&p, 2, &month) ||
	    !expect(&p, '-') || !digits(&p, 2, &day))
		return false;
	if (month < 1 || month > 12 || day < 1 || day > days_in_month(year, month))
		return false;
	if (*p != 'T' && *p != 't')
		return false;
	p++;
	if (!digits(&p, 2, &hour) || !expect(&p, ':') || !digits(&p, 2, &min) || !expect(&p, ':') ||
	    !digits(&p, 2, &sec))
		return false;
	if (hour > 23 || min > 59 || sec > 60)
		return false;
	if (*p == '.') {
		p++;
		if (*p < '0' || *p > '9')
			return false;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	if (*p == 'Z' || *p == 'z')
		return p[1] == '\0';
	if (*p != '+' && *p != '-')
		return false;
	p++;
	if (!digits(&p, 2, &oh) || !expect(&p, ':') || !digits(&p, 2, &om))
		return false;
	return oh <= 23 && om <= 59 && *p == '\0';
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
	if (item != NULL && !rfc3339_valid(item->valuestring)) {
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
