/*
 * Error names, allocation that aborts on exhaustion, clocks, RFC 3339 formatting, UUIDs and
 * random bytes: the few things every other module needs and none should write again.
 */
#define _GNU_SOURCE
#include "strata/core.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

const char *
st_err_str(enum st_err err)
{
	switch (err) {
	case ST_OK:
		return "ok";
	case ST_ERR_INVALID:
		return "invalid";
	case ST_ERR_NOT_FOUND:
		return "not_found";
	case ST_ERR_CONFLICT:
		return "conflict";
	case ST_ERR_TOO_LARGE:
		return "too_large";
	case ST_ERR_UNAVAILABLE:
		return "unavailable";
	case ST_ERR_TIMEOUT:
		return "timeout";
	case ST_ERR_IO:
		return "io";
	case ST_ERR_AUTH:
		return "auth";
	case ST_ERR_INTERNAL:
		return "internal";
	}
	return "unknown";
}

static void
out_of_memory(size_t size)
{
	/* No allocation here: write straight to stderr, then stop. */
	char line[128];
	int n = snprintf(line, sizeof(line),
			 "{\"level\":\"error\",\"msg\":\"out of memory size=%zu\"}\n", size);
	if (n > 0)
		fwrite(line, 1, (size_t)n, stderr);
	abort();
}

void *
st_malloc(size_t size)
{
	void *p = malloc(size ? size : 1);
	if (p == NULL)
		out_of_memory(size);
	return p;
}

void *
st_calloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (p == NULL)
		out_of_memory(n * size);
	return p;
}

void *
st_realloc(void *ptr, size_t size)
{
	void *p = realloc(ptr, size ? size : 1);
	if (p == NULL)
		out_of_memory(size);
	return p;
}

char *
st_strdup(const char *s)
{
	return st_strndup(s, strlen(s));
}

char *
st_strndup(const char *s, size_t n)
{
	size_t len = strnlen(s, n);
	char *p = st_malloc(len + 1);
	memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

void
st_free(void *ptr)
{
	free(ptr);
}

char *
st_asprintf(const char *fmt, ...)
{
	va_list ap;
	int n;
	char *out;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return st_strdup("");
	out = st_malloc((size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(out, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return out;
}

void
st_errf(char *err, size_t errcap, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errcap == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errcap, fmt, ap);
	va_end(ap);
}

bool
st_strlcpy(char *dst, const char *src, size_t cap)
{
	size_t len;

	if (cap == 0)
		return false;
	len = strlen(src);
	if (len >= cap) {
		memcpy(dst, src, cap - 1);
		dst[cap - 1] = '\0';
		return false;
	}
	memcpy(dst, src, len + 1);
	return true;
}

int64_t
st_now_mono_ms(void)
{
	return st_now_mono_us() / 1000;
}

int64_t
st_now_mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t
st_now_wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Days from 1970-01-01 to year-month-day in the proleptic Gregorian calendar (Howard
 * Hinnant's days_from_civil). */
static int64_t
days_from_civil(int64_t year, int month, int day)
{
	int64_t y = year - (month <= 2);
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

	return era * 146097 + doe - 719468;
}

/* The inverse: the civil date of a day count since 1970-01-01 (Hinnant's civil_from_days). */
static void
civil_from_days(int64_t days, int64_t *year, int *month, int *day)
{
	int64_t z = days + 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;

	*day = (int)(doy - (153 * mp + 2) / 5 + 1);
	*month = (int)(mp < 10 ? mp + 3 : mp - 9);
	*year = yoe + era * 400 + (*month <= 2);
}

size_t
st_time_format_rfc3339_us(int64_t epoch_us, char *buf, size_t cap)
{
	int64_t secs = epoch_us / 1000000, sub = epoch_us % 1000000, days, year;
	int month, day, sod, n;

	if (sub < 0) {
		sub += 1000000;
		secs--;
	}
	days = secs / 86400;
	sod = (int)(secs % 86400);
	if (sod < 0) {
		sod += 86400;
		days--;
	}
	civil_from_days(days, &year, &month, &day);
	if (sub % 1000 == 0)
		n = snprintf(buf, cap, "%04lld-%02d-%02dT%02d:%02d:%02d.%03dZ", (long long)year,
			     month, day, sod / 3600, sod / 60 % 60, sod % 60, (int)(sub / 1000));
	else
		n = snprintf(buf, cap, "%04lld-%02d-%02dT%02d:%02d:%02d.%06dZ", (long long)year,
			     month, day, sod / 3600, sod / 60 % 60, sod % 60, (int)sub);
	if (n < 0 || (size_t)n >= cap) {
		if (cap > 0)
			buf[0] = '\0'; /* never a cut time */
		return 0;
	}
	return (size_t)n;
}

void
st_time_format_rfc3339(int64_t epoch_ms, char *buf, size_t cap)
{
	/* Milliseconds beyond what microseconds can count (year 292277) are not times. */
	if (epoch_ms > INT64_MAX / 1000)
		epoch_ms = INT64_MAX / 1000;
	else if (epoch_ms < INT64_MIN / 1000)
		epoch_ms = INT64_MIN / 1000;
	st_time_format_rfc3339_us(epoch_ms * 1000, buf, cap);
}

/* Reads exactly n digits at s[*i] (len bytes in all) into *v and advances; false when they
 * are not there. */
static bool
digits(const char *s, size_t len, size_t *i, int n, int *v)
{
	*v = 0;
	if (len - *i < (size_t)n)
		return false;
	for (int k = 0; k < n; k++) {
		char c = s[*i + (size_t)k];

		if (c < '0' || c > '9')
			return false;
		*v = *v * 10 + (c - '0');
	}
	*i += (size_t)n;
	return true;
}

static bool
expect(const char *s, size_t len, size_t *i, char c)
{
	if (*i >= len || s[*i] != c)
		return false;
	(*i)++;
	return true;
}

static int
days_in_month(int year, int month)
{
	static const int days[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;

	return month == 2 && leap ? 29 : days[month - 1];
}

/*
 * The one RFC 3339 date-time reader (section 5.6): full-date "T" full-time, T and Z in either
 * case, an offset Z or +hh:mm / -hh:mm (hh <= 23, mm <= 59), real calendar dates, seconds
 * 00..60 (RFC 3339's leap second; Unix time has none, so :60 counts as the next second's
 * start and *leap says it was one), an optional fraction of at least one digit. Exactly len
 * bytes: anything after the offset (a NUL included) is refused. *secs gets the Unix seconds,
 * *us the fraction's first six digits as microseconds, *finer whether a non-zero digit follows.
 */
static bool
parse_rfc3339(const char *s, size_t len, int64_t *secs, int64_t *us, bool *finer, bool *leap)
{
	size_t i = 0;
	int year, month, day, hour, min, sec, oh = 0, om = 0, sign = 0;

	*us = 0;
	*finer = false;
	*leap = false;
	if (s == NULL)
		return false;
	if (!digits(s, len, &i, 4, &year) || !expect(s, len, &i, '-') ||
	    !digits(s, len, &i, 2, &month) || !expect(s, len, &i, '-') ||
	    !digits(s, len, &i, 2, &day))
		return false;
	if (month < 1 || month > 12 || day < 1 || day > days_in_month(year, month))
		return false;
	if (i >= len || (s[i] != 'T' && s[i] != 't'))
		return false;
	i++;
	if (!digits(s, len, &i, 2, &hour) || !expect(s, len, &i, ':') ||
	    !digits(s, len, &i, 2, &min) || !expect(s, len, &i, ':') ||
	    !digits(s, len, &i, 2, &sec))
		return false;
	if (hour > 23 || min > 59 || sec > 60)
		return false;
	*leap = sec == 60;
	if (i < len && s[i] == '.') {
		int nd = 0;

		i++;
		for (; i < len && s[i] >= '0' && s[i] <= '9'; i++, nd++) {
			if (nd < 6)
				*us = *us * 10 + (s[i] - '0');
			else if (s[i] != '0')
				*finer = true;
		}
		if (nd == 0)
			return false;
		for (; nd < 6; nd++)
			*us *= 10;
	}
	if (i < len && (s[i] == 'Z' || s[i] == 'z')) {
		i++;
	} else {
		if (i >= len || (s[i] != '+' && s[i] != '-'))
			return false;
		sign = s[i] == '+' ? 1 : -1;
		i++;
		if (!digits(s, len, &i, 2, &oh) || !expect(s, len, &i, ':') ||
		    !digits(s, len, &i, 2, &om))
			return false;
		if (oh > 23 || om > 59)
			return false;
	}
	if (i != len)
		return false;
	*secs = days_from_civil(year, month, day) * 86400 + hour * 3600 + min * 60 + sec -
		sign * (oh * 3600 + om * 60);
	return true;
}

bool
st_time_parse_rfc3339(const char *s, int64_t *epoch_ms)
{
	int64_t secs, us;
	bool finer, leap;

	if (s == NULL || !parse_rfc3339(s, strlen(s), &secs, &us, &finer, &leap))
		return false;
	if (epoch_ms != NULL)
		*epoch_ms = secs * 1000 + us / 1000; /* finer digits are dropped */
	return true;
}

bool
st_time_parse_rfc3339_us(const char *s, size_t len, int64_t *epoch_us)
{
	int64_t secs, us;
	bool finer, leap;

	/* Below a microsecond: refused, never rounded. A leap second would share its microseconds
	 * with the second after it: refused where times identify data. */
	if (!parse_rfc3339(s, len, &secs, &us, &finer, &leap) || finer || leap)
		return false;
	if (epoch_us != NULL)
		*epoch_us = secs * 1000000 + us;
	return true;
}

void
st_random_bytes(void *buf, size_t n)
{
	unsigned char *p = buf;

	while (n > 0) {
		ssize_t got = getrandom(p, n, 0);
		if (got < 0) {
			if (errno == EINTR)
				continue;
			abort(); /* no entropy: nothing secure can be done */
		}
		p += got;
		n -= (size_t)got;
	}
}

bool
st_uuid_valid(const char *s)
{
	size_t i = 0;

	if (s == NULL)
		return false;
	for (; s[i] != '\0'; i++) {
		char c = s[i];
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;

		if (i >= 36)
			return false;
		if (dash ? c != '-'
			 : !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
			     (c >= 'A' && c <= 'F')))
			return false;
	}
	return i == 36;
}

void
st_uuid_v4(char *buf, size_t cap)
{
	unsigned char b[16];

	st_random_bytes(b, sizeof(b));
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
	snprintf(buf, cap, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12],
		 b[13], b[14], b[15]);
}
