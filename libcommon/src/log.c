/*
 * JSON-lines logging to stderr. Each line is built in a stack buffer and written with one
 * write(2), so lines from many threads never interleave. Words of the form key=value in the
 * message are repeated in a "fields" object, so that `st_log(..., "batch rows=%zu", n)` is both
 * readable and queryable.
 */
#define _GNU_SOURCE
#include "strata/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define LINE_MAX_BYTES 4096
#define MSG_MAX_BYTES  2048
#define MAX_FIELDS     16

volatile int st_log_threshold = ST_LOG_INFO;
static char service_name[64] = "strata";
static _Thread_local char thread_request_id[80];

static const char *const level_names[] = { "debug", "info", "warn", "error" };

void
st_log_init(const char *service, enum st_log_level level)
{
	if (service != NULL)
		st_strlcpy(service_name, service, sizeof(service_name));
	st_log_threshold = (int)level;
}

void
st_log_set_level(enum st_log_level level)
{
	st_log_threshold = (int)level;
}

bool
st_log_level_parse(const char *s, enum st_log_level *out)
{
	for (size_t i = 0; i < ST_ARRAY_LEN(level_names); i++) {
		if (strcmp(s, level_names[i]) == 0) {
			*out = (enum st_log_level)i;
			return true;
		}
	}
	if (strcmp(s, "warning") == 0) {
		*out = ST_LOG_WARN;
		return true;
	}
	return false;
}

void
st_log_set_request_id(const char *request_id)
{
	if (request_id == NULL)
		request_id = "";
	st_strlcpy(thread_request_id, request_id, sizeof(thread_request_id));
}

const char *
st_log_request_id(void)
{
	return thread_request_id;
}

/* A bounded writer: appends while there is room and remembers whether anything was cut. */
struct out {
	char *buf;
	size_t cap, len;
	bool cut;
};

static void
put_raw(struct out *o, const char *s, size_t n)
{
	/* Keep 3 bytes for the closing `"}` of a cut line and the NUL. Once a piece has been cut,
	 * nothing more goes in: a shorter piece after it would end the line in the wrong place. */
	if (o->cut || o->len + n + 3 > o->cap) {
		o->cut = true;
		return;
	}
	memcpy(o->buf + o->len, s, n);
	o->len += n;
}

static void
put_str(struct out *o, const char *s)
{
	put_raw(o, s, strlen(s));
}

/* Appends s (n bytes) as the inside of a JSON string. */
static void
put_escaped(struct out *o, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";

	for (size_t i = 0; i < n && !o->cut; i++) {
		unsigned char c = (unsigned char)s[i];
		char esc[6];

		switch (c) {
		case '"':
			put_raw(o, "\\\"", 2);
			break;
		case '\\':
			put_raw(o, "\\\\", 2);
			break;
		case '\n':
			put_raw(o, "\\n", 2);
			break;
		case '\r':
			put_raw(o, "\\r", 2);
			break;
		case '\t':
			put_raw(o, "\\t", 2);
			break;
		default:
			if (c < 0x20 || c == 0x7f) {
				memcpy(esc, "\\u00", 4);
				esc[4] = hex[c >> 4];
				esc[5] = hex[c & 15];
				put_raw(o, esc, 6);
			} else {
				put_raw(o, (const char *)&c, 1);
			}
		}
	}
}

static void
put_kv(struct out *o, const char *key, const char *val)
{
	put_str(o, ",\"");
	put_str(o, key);
	put_str(o, "\":\"");
	put_escaped(o, val, strlen(val));
	put_str(o, "\"");
}

static bool
is_key_start(char c)
{
	return (c >= 'a' && c <= 'z') || c == '_';
}

static bool
is_key_char(char c)
{
	return is_key_start(c) || (c >= '0' && c <= '9') || c == '.';
}

/* Appends `"fields":{...}` for the key=value words of msg, if any. */
static void
put_fields(struct out *o, const char *msg)
{
	const char *p = msg;
	int nfields = 0;

	while (*p != '\0' && nfields < MAX_FIELDS) {
		const char *word = p, *eq, *end;

		while (*word == ' ')
			word++;
		end = word;
		while (*end != '\0' && *end != ' ')
			end++;
		p = end;
		if (word == end || !is_key_start(*word))
			continue;
		eq = word;
		while (eq < end && is_key_char(*eq))
			eq++;
		if (eq >= end || *eq != '=' || eq + 1 == end)
			continue;
		put_str(o, nfields == 0 ? ",\"fields\":{\"" : ",\"");
		put_raw(o, word, (size_t)(eq - word));
		put_str(o, "\":\"");
		put_escaped(o, eq + 1, (size_t)(end - eq - 1));
		put_str(o, "\"");
		nfields++;
	}
	if (nfields > 0)
		put_str(o, "}");
}

/* Ends a line whose message string was cut: put_raw kept room for these three bytes. */
static void
put_closing(struct out *o)
{
	memcpy(o->buf + o->len, "\"}", 3);
	o->len += 2;
}

size_t
st_log_format(char *buf, size_t cap, int64_t epoch_ms, enum st_log_level level, const char *service,
	      const char *component, const char *request_id, const char *msg)
{
	struct out o = { buf, cap, 0, false };
	char when[32];
	int lvl = (int)level;
	size_t before_fields;
	bool in_msg;

	if (cap < 8) {
		if (cap > 0)
			buf[0] = '\0';
		return 0;
	}
	if (lvl < 0 || lvl > ST_LOG_ERROR)
		lvl = ST_LOG_ERROR;
	st_time_format_rfc3339(epoch_ms, when, sizeof(when));
	put_str(&o, "{\"time\":\"");
	put_str(&o, when);
	put_str(&o, "\",\"level\":\"");
	put_str(&o, level_names[lvl]);
	put_str(&o, "\"");
	put_kv(&o, "service", service ? service : "");
	put_kv(&o, "component", component ? component : "");
	if (request_id != NULL && request_id[0] != '\0')
		put_kv(&o, "request_id", request_id);
	put_str(&o, ",\"msg\":\"");
	in_msg = !o.cut;
	put_escaped(&o, msg, strlen(msg));
	put_str(&o, "\"");
	if (o.cut && !in_msg) {
		/* Not even the members before the message fit: an empty object is still JSON. */
		memcpy(buf, "{}", 3);
		return 2;
	}
	if (o.cut) {
		/* The message was cut inside its string: close the string and the object. */
		put_closing(&o);
		return o.len;
	}
	before_fields = o.len;
	put_fields(&o, msg);
	if (o.cut) {
		/* No room for every field: drop them, the message still carries them. */
		o.len = before_fields;
		o.cut = false;
	}
	/* Not put_str: the brace and the NUL go into the room put_raw kept. */
	memcpy(o.buf + o.len, "}", 2);
	return o.len + 1;
}

void
st_log_write(enum st_log_level level, const char *component, const char *fmt, ...)
{
	char msg[MSG_MAX_BYTES];
	char line[LINE_MAX_BYTES];
	va_list ap;
	size_t n;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	n = st_log_format(line, sizeof(line) - 1, st_now_wall_ms(), level, service_name, component,
			  thread_request_id, msg);
	line[n++] = '\n';
	/* One write per line; a short write to stderr is not worth retrying here. */
	if (write(STDERR_FILENO, line, n) < 0)
		return;
}
