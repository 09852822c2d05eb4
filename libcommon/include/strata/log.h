/*
 * Structured logging: one JSON line per event on stderr, with the time, level, service,
 * component, request id, message, and `fields`. Levels below the threshold cost one
 * comparison: their arguments are not evaluated. Never log a password, token, key or personal
 * field.
 *
 * Fields are named by the format string, never read back out of the formatted message: each
 * word `key=` of the format ([a-z_][a-z0-9_.]*, at the start or after a space) is a field, and
 * its value is what the format produces from there to its next space (or between the quotes
 * of `key="%s"`), trailing ':', ';' and ',' left out. So in
 *     st_log(ST_LOG_INFO, "access", "method=%s path=%s status=%d", m, path, status);
 * path is one field whatever the client put in it, spaces and `sub=x` included. A key named
 * twice keeps its first value; at most 16 fields a line. Every string is escaped as JSON:
 * control characters as \u escapes, each byte that is not valid UTF-8 as \ufffd.
 */
#ifndef STRATA_LOG_H
#define STRATA_LOG_H

#include <stdarg.h>

#include "strata/core.h"

enum st_log_level {
	ST_LOG_DEBUG = 0,
	ST_LOG_INFO = 1,
	ST_LOG_WARN = 2,
	ST_LOG_ERROR = 3,
};

/* The current threshold; read by the st_log macro. Set with st_log_init or st_log_set_level. */
extern volatile int st_log_threshold;

/* Names the service in every line and sets the threshold. Call once, early; safe to skip. */
void st_log_init(const char *service, enum st_log_level level);
void st_log_set_level(enum st_log_level level);

/* Parses "debug", "info", "warn" or "error"; returns false for anything else. */
bool st_log_level_parse(const char *s, enum st_log_level *out);

/*
 * The request id logged with this thread's lines until changed (NULL or "" clears it). The HTTP
 * server sets it for each request and the Kafka consumer for each message. Copied.
 */
void st_log_set_request_id(const char *request_id);
/* Borrowed: this thread's current request id, "" when none. */
const char *st_log_request_id(void);

/* Writes one line. Use the st_log macro instead, so that filtered levels cost nothing. */
void st_log_write(enum st_log_level level, const char *component, const char *fmt, ...)
	ST_PRINTF(3, 4);

#define st_log(level, component, ...)                                                              \
	do {                                                                                       \
		if ((int)(level) >= st_log_threshold)                                              \
			st_log_write((level), (component), __VA_ARGS__);                           \
	} while (0)

/* One member of `fields`. Borrowed: key and val point into the caller's strings, val_len bytes
 * (not NUL-terminated, any bytes: they are escaped). */
struct st_log_field {
	const char *key; /* [a-z_][a-z0-9_.]*: written as is */
	size_t key_len;
	const char *val;
	size_t val_len;
};

/*
 * Formats one line into buf (NUL-terminated, cut at cap with the JSON kept valid) and returns
 * its length without the newline: msg as the message, then the nfields fields (all dropped
 * when they do not fit). Exposed for unit tests.
 */
size_t st_log_format(char *buf, size_t cap, int64_t epoch_ms, enum st_log_level level,
		     const char *service, const char *component, const char *request_id,
		     const char *msg, const struct st_log_field *fields, size_t nfields);

/* As st_log_format, with the message formatted from fmt and ap and the fields named by fmt
 * (above). What st_log_write does; exposed for unit tests. */
size_t st_log_vformat(char *buf, size_t cap, int64_t epoch_ms, enum st_log_level level,
		      const char *service, const char *component, const char *request_id,
		      const char *fmt, va_list ap) ST_PRINTF(8, 0);

#endif
