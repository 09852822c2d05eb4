/*
 * The ground every libcommon module and every service stands on: the one error type, memory
 * helpers that abort on exhaustion (a service out of memory cannot answer sensibly anyway),
 * clocks, and the ST_STATIC marker that exposes internal functions to unit tests.
 */
#ifndef STRATA_CORE_H
#define STRATA_CORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* `static` in release builds, visible to the unit tests under -DST_TESTING (as curl's UNITTEST). */
#ifdef ST_TESTING
#define ST_STATIC
#else
#define ST_STATIC static
#endif

#define ST_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#if defined(__GNUC__)
#define ST_PRINTF(fmt_idx, args_idx) __attribute__((format(printf, fmt_idx, args_idx)))
#else
#define ST_PRINTF(fmt_idx, args_idx)
#endif

/* One error type across libcommon. Detail travels in a caller's buffer or is logged once. */
enum st_err {
	ST_OK = 0,
	ST_ERR_INVALID,     /* bad input or configuration */
	ST_ERR_NOT_FOUND,   /* no such thing */
	ST_ERR_CONFLICT,    /* exists already, or a state that forbids the change */
	ST_ERR_TOO_LARGE,   /* over a configured limit */
	ST_ERR_UNAVAILABLE, /* a dependency is down or unreachable: try again later */
	ST_ERR_TIMEOUT,     /* a bounded wait ran out */
	ST_ERR_IO,          /* a system call or peer failed */
	ST_ERR_AUTH,        /* missing, forged or stale credentials */
	ST_ERR_INTERNAL,    /* a bug or an unexpected answer from a library */
};

/* A short constant name for an error ("unavailable"); never NULL. */
const char *st_err_str(enum st_err err);

/* Allocation that never returns NULL: on exhaustion it logs and aborts. Free with st_free. */
void *st_malloc(size_t size);
void *st_calloc(size_t n, size_t size);
void *st_realloc(void *ptr, size_t size);
char *st_strdup(const char *s);
char *st_strndup(const char *s, size_t n);
void st_free(void *ptr);

/* Formats into a new string the caller owns (st_free). */
char *st_asprintf(const char *fmt, ...) ST_PRINTF(1, 2);

/* Formats into a caller's error buffer; does nothing when err is NULL or errcap is 0. */
void st_errf(char *err, size_t errcap, const char *fmt, ...) ST_PRINTF(3, 4);

/* Copies src into dst (always NUL-terminated when cap > 0); returns false if it was cut. */
bool st_strlcpy(char *dst, const char *src, size_t cap);

/* Milliseconds on a monotonic clock (for timeouts and durations). */
int64_t st_now_mono_ms(void);
/* Microseconds on a monotonic clock. */
int64_t st_now_mono_us(void);
/* Milliseconds since the Unix epoch, wall clock (for timestamps). */
int64_t st_now_wall_ms(void);

/*
 * RFC 3339 times: one reader and one writer for every service (the gateway's key expiries,
 * auth's API keys, CloudEvents, ingest's readings and queries).
 *
 * Accepted: full-date "T" full-time with T and Z in either case, an offset Z or +hh:mm/-hh:mm,
 * real calendar dates (leap years), seconds 00..60 (see each reader for the leap second), an
 * optional fraction of at least one digit; nothing before or after. Refused: no offset, a space
 * for T, one-digit fields, "+0900", trailing text, :61, February 30th.
 */

/* Writes an RFC 3339 UTC time with milliseconds ("2026-01-01T00:00:00.125Z") into buf (>= 25). */
void st_time_format_rfc3339(int64_t epoch_ms, char *buf, size_t cap);

/* Writes an RFC 3339 UTC time from microseconds: three fraction digits when the time is a whole
 * millisecond ("2026-01-01T00:00:00.125Z"), else six ("...00.000001Z"). Returns the length, or
 * 0 with buf "" when it does not fit (cap >= 28 always fits years 0..9999). */
size_t st_time_format_rfc3339_us(int64_t epoch_us, char *buf, size_t cap);

/*
 * Parses a NUL-terminated RFC 3339 date-time ("2026-01-01T00:00:00.125Z", "...+09:00") into
 * milliseconds since the epoch (epoch_ms may be NULL to only validate); digits below the
 * millisecond are read and dropped; a leap second :60 reads as the next second's start (Unix
 * time has none). False for anything else.
 */
bool st_time_parse_rfc3339(const char *s, int64_t *epoch_ms);

/*
 * The same over exactly len bytes (need not be NUL-terminated) into microseconds since the
 * epoch (epoch_us may be NULL). Digits below the microsecond must be zeros: a finer time is
 * refused, never rounded. A leap second is refused: it would share its microseconds with the
 * next second's, and these times identify data (a reading is keyed by its time).
 */
bool st_time_parse_rfc3339_us(const char *s, size_t len, int64_t *epoch_us);

/* Fills buf (>= 37 bytes) with a random version-4 UUID in its canonical text form. */
void st_uuid_v4(char *buf, size_t cap);
/* True for a UUID in canonical text form (36 characters, hex digits in either case, dashes at
 * 8, 13, 18 and 23); false for NULL. Any version: ids come from clients and other services. */
bool st_uuid_valid(const char *s);

/* Fills buf with n cryptographically random bytes; aborts if the system cannot supply them. */
void st_random_bytes(void *buf, size_t n);

#endif
