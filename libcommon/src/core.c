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

void
st_time_format_rfc3339(int64_t epoch_ms, char *buf, size_t cap)
{
	time_t secs = (time_t)(epoch_ms / 1000);
	int ms = (int)(epoch_ms % 1000);
	struct tm tm;

	if (ms < 0) {
		ms += 1000;
		secs -= 1;
	}
	gmtime_r(&secs, &tm);
	snprintf(buf, cap, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
		 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
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
