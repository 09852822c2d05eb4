/*
 * The CloudEvents 1.0 JSON envelope of every Strata Kafka message (proto/topics/README.md):
 * building one with a fresh id and the current time, and parsing one back with the checks a
 * consumer needs before it trusts the attributes. The data itself is validated by whoever
 * owns the event type. One writer of the envelope (st_cloudevent_head): st_cloudevent_build
 * puts a cJSON tree after it, the high-volume readings path its own data text.
 */
#include "strata/kafka.h"

#include <string.h>

#include "strata/core.h"

/* Appends s as a JSON string ("..." with what JSON requires escaped) at buf[*n]; false when
 * it does not fit in cap. */
static bool
put_string(char *buf, size_t cap, size_t *n, const char *s)
{
	static const char hex[] = "0123456789abcdef";

	if (*n >= cap)
		return false;
	buf[(*n)++] = '"';
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;
		char esc[6] = { '\\', (char)c, 0, 0, 0, 0 };
		size_t k = 2;

		if (c < 0x20) {
			memcpy(esc, "\\u00", 4);
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 15];
			k = 6;
		} else if (c != '"' && c != '\\') {
			esc[0] = (char)c;
			k = 1;
		}
		if (cap - *n < k)
			return false;
		memcpy(buf + *n, esc, k);
		*n += k;
	}
	if (*n >= cap)
		return false;
	buf[(*n)++] = '"';
	return true;
}

static bool
put_raw(char *buf, size_t cap, size_t *n, const char *s)
{
	size_t k = strlen(s);

	if (cap - *n < k)
		return false;
	memcpy(buf + *n, s, k);
	*n += k;
	return true;
}

size_t
st_cloudevent_head(const char *source, const char *type, const char *subject, bool data, char *buf,
		   size_t cap)
{
	char id[40], now[32];
	size_t n = 0;

	if (source == NULL || source[0] == '\0' || type == NULL || type[0] == '\0')
		return 0;
	st_uuid_v4(id, sizeof(id));
	st_time_format_rfc3339(st_now_wall_ms(), now, sizeof(now));
	if (!put_raw(buf, cap, &n, "{\"specversion\":\"1.0\",\"id\":") ||
	    !put_string(buf, cap, &n, id) || !put_raw(buf, cap, &n, ",\"source\":") ||
	    !put_string(buf, cap, &n, source) || !put_raw(buf, cap, &n, ",\"type\":") ||
	    !put_string(buf, cap, &n, type))
		return 0;
	if (subject != NULL &&
	    (!put_raw(buf, cap, &n, ",\"subject\":") || !put_string(buf, cap, &n, subject)))
		return 0;
	if (!put_raw(buf, cap, &n, ",\"time\":") || !put_string(buf, cap, &n, now) ||
	    !put_raw(buf, cap, &n, ",\"datacontenttype\":\"application/json\"") ||
	    !put_raw(buf, cap, &n, data ? ",\"data\":" : "}"))
		return 0;
	if (n >= cap)
		return 0;
	buf[n] = '\0';
	return n;
}

char *
st_cloudevent_build(const char *source, const char *type, const char *subject, cJSON *data)
{
	char *text = NULL, *out = NULL;
	size_t cap = ST_CLOUDEVENT_HEAD_MAX + (subject != NULL ? 6 * strlen(subject) : 0) +
		     6 * (source != NULL ? strlen(source) : 0) +
		     6 * (type != NULL ? strlen(type) : 0);
	size_t n, dlen = 0;

	if (data != NULL) {
		text = cJSON_PrintUnformatted(data);
		if (text == NULL)
			goto out;
		dlen = strlen(text);
	}
	out = st_malloc(cap + dlen + 2);
	n = st_cloudevent_head(source, type, subject, data != NULL, out, cap);
	if (n == 0) {
		st_free(out);
		out = NULL;
		goto out;
	}
	if (data != NULL) {
		memcpy(out + n, text, dlen);
		out[n + dlen] = '}';
		out[n + dlen + 1] = '\0';
	}
out:
	if (text != NULL)
		cJSON_free(text);
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
