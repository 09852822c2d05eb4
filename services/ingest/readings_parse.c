/*
 * Readings batches, pure: the three body formats (JSON, NDJSON, CSV) parsed and validated into
 * one compact array (readings point at a table of distinct channel names, so a batch of ten
 * thousand readings costs a handful of allocations), times parsed to microseconds, values
 * printed so they read back exactly, and the strata.readings event encoding.
 *
 * A batch is all or nothing: every reading is checked, the first bad ones are named by index
 * ("readings[3].ts"; for NDJSON and CSV the detail also gives the line), and any error refuses
 * the whole batch.
 */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ingest.h"

#define TS_TEXT_MAX  40 /* longest time text looked at */
#define NUM_TEXT_MAX 64 /* longest number text looked at */

/* ---- the batch ---- */

void
readings_batch_init(struct readings_batch *b)
{
	memset(b, 0, sizeof(*b));
	st_json_errs_init(&b->errs);
}

void
readings_batch_cleanup(struct readings_batch *b)
{
	st_free(b->items);
	st_free(b->chans);
	st_free(b->names);
	st_free(b->hash);
	memset(b, 0, sizeof(*b));
}

static uint32_t
name_hash(const char *s, size_t len)
{
	uint32_t h = 2166136261u; /* FNV-1a */

	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)s[i]) * 16777619u;
	return h;
}

static void
hash_insert(struct readings_batch *b, uint32_t idx)
{
	const struct readings_chan *c = &b->chans[idx];
	size_t mask = b->hash_cap - 1;
	size_t i = name_hash(b->names + c->off, c->len) & mask;

	while (b->hash[i] != 0)
		i = (i + 1) & mask;
	b->hash[i] = idx + 1;
}

/* The index of channel name in b's table, adding it when new. */
static uint32_t
chan_intern(struct readings_batch *b, const char *s, size_t len)
{
	size_t mask, i;
	struct readings_chan *c;

	if (b->hash_cap == 0 || (b->nchans + 1) * 2 > b->hash_cap) {
		size_t cap = b->hash_cap == 0 ? 16 : b->hash_cap * 2;

		st_free(b->hash);
		b->hash = st_calloc(cap, sizeof(*b->hash));
		b->hash_cap = cap;
		for (uint32_t k = 0; k < b->nchans; k++)
			hash_insert(b, k);
	}
	mask = b->hash_cap - 1;
	i = name_hash(s, len) & mask;
	while (b->hash[i] != 0) {
		c = &b->chans[b->hash[i] - 1];
		if (c->len == len && memcmp(b->names + c->off, s, len) == 0)
			return b->hash[i] - 1;
		i = (i + 1) & mask;
	}
	if (b->nchans == b->chans_cap) {
		b->chans_cap = b->chans_cap == 0 ? 8 : b->chans_cap * 2;
		b->chans = st_realloc(b->chans, b->chans_cap * sizeof(*b->chans));
	}
	if (b->names_len + len > b->names_cap) {
		b->names_cap = (b->names_cap + len) * 2;
		b->names = st_realloc(b->names, b->names_cap);
	}
	memcpy(b->names + b->names_len, s, len);
	c = &b->chans[b->nchans];
	c->off = (uint32_t)b->names_len;
	c->len = (uint32_t)len;
	b->names_len += len;
	b->hash[i] = (uint32_t)b->nchans + 1;
	return (uint32_t)b->nchans++;
}

static void
push(struct readings_batch *b, int64_t ts, const char *ch, size_t ch_len, double value)
{
	struct reading *r;

	if (b->n == b->cap) {
		b->cap = b->cap == 0 ? 256 : b->cap * 2;
		b->items = st_realloc(b->items, b->cap * sizeof(*b->items));
	}
	r = &b->items[b->n++];
	r->ts_us = ts;
	r->value = value;
	r->ch = chan_intern(b, ch, ch_len);
}

/* ---- fields ---- */

bool
readings_channel_valid(const char *s, size_t len)
{
	if (s == NULL || len == 0 || len > READINGS_CHANNEL_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (!isalnum(c) && c != '_' && c != '.' && c != ':' && c != '/' && c != '-')
			return false;
	}
	return true;
}

static int
digits(const char *s, int n)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian; H. Hinnant's days_from_civil). */
static int64_t
days_from_civil(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static int
month_days(int y, int m)
{
	static const int days[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	return m == 2 && leap ? 29 : days[m - 1];
}

bool
readings_parse_time(const char *s, size_t len, int64_t *us)
{
	int y, mo, d, h, mi, sec, off = 0;
	int64_t frac = 0, t;
	size_t i = 19;

	if (s == NULL || len < 20 || len > TS_TEXT_MAX)
		return false;
	y = digits(s, 4);
	mo = digits(s + 5, 2);
	d = digits(s + 8, 2);
	h = digits(s + 11, 2);
	mi = digits(s + 14, 2);
	sec = digits(s + 17, 2);
	if (y < 0 || mo < 1 || mo > 12 || d < 1 || h < 0 || h > 23 || mi < 0 || mi > 59 ||
	    sec < 0 || sec > 59 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') ||
	    s[13] != ':' || s[16] != ':' || d > month_days(y, mo))
		return false;
	if (s[i] == '.') {
		int nd = 0;

		i++;
		while (i < len && s[i] >= '0' && s[i] <= '9') {
			if (nd < 6)
				frac = frac * 10 + (s[i] - '0');
			else if (s[i] != '0')
				return false; /* below a microsecond: refused, never rounded */
			nd++;
			i++;
		}
		if (nd == 0)
			return false;
		for (; nd < 6; nd++)
			frac *= 10;
	}
	if (i == len - 1 && (s[i] == 'Z' || s[i] == 'z')) {
		off = 0;
	} else if (i + 6 == len && (s[i] == '+' || s[i] == '-') && s[i + 3] == ':') {
		int oh = digits(s + i + 1, 2), om = digits(s + i + 4, 2);

		if (oh < 0 || oh > 23 || om < 0 || om > 59)
			return false;
		off = (oh * 60 + om) * (s[i] == '-' ? -1 : 1);
	} else {
		return false;
	}
	t = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - (int64_t)off * 60;
	t = t * 1000000 + frac;
	if (t < READINGS_TS_MIN_US || t >= READINGS_TS_MAX_US)
		return false;
	if (us != NULL)
		*us = t;
	return true;
}

size_t
readings_format_time(int64_t us, char *buf, size_t cap)
{
	int64_t secs = us / 1000000, sub = us % 1000000, days, z, era, doe, yoe, doy, mp;
	int y, m, d, sod;
	int n;

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
	/* civil_from_days */
	z = days + 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	d = (int)(doy - (153 * mp + 2) / 5 + 1);
	m = (int)(mp < 10 ? mp + 3 : mp - 9);
	y = (int)(yoe + era * 400 + (m <= 2));
	if (sub % 1000 == 0)
		n = snprintf(buf, cap, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", y, m, d, sod / 3600,
			     sod / 60 % 60, sod % 60, (int)(sub / 1000));
	else
		n = snprintf(buf, cap, "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", y, m, d, sod / 3600,
			     sod / 60 % 60, sod % 60, (int)sub);
	return n < 0 ? 0 : (size_t)n >= cap ? cap - 1 : (size_t)n;
}

size_t
readings_format_value(double v, char *buf, size_t cap)
{
	int n = 0;

	/* The shortest of 15, 16 or 17 significant digits that reads back as v. */
	for (int prec = 15; prec <= 17; prec++) {
		n = snprintf(buf, cap, "%.*g", prec, v);
		if (n > 0 && (size_t)n < cap && strtod(buf, NULL) == v)
			break;
	}
	return n < 0 ? 0 : (size_t)n >= cap ? cap - 1 : (size_t)n;
}

/* A number as text: JSON's grammar (a leading + also accepted), finite. */
static bool
parse_number(const char *s, size_t len, double *out)
{
	char tmp[NUM_TEXT_MAX];
	size_t i = 0;
	char *end;

	if (len == 0 || len >= sizeof(tmp))
		return false;
	if (s[i] == '-' || s[i] == '+')
		i++;
	if (i == len || !isdigit((unsigned char)s[i]))
		return false;
	while (i < len && isdigit((unsigned char)s[i]))
		i++;
	if (i < len && s[i] == '.') {
		i++;
		if (i == len || !isdigit((unsigned char)s[i]))
			return false;
		while (i < len && isdigit((unsigned char)s[i]))
			i++;
	}
	if (i < len && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		if (i < len && (s[i] == '+' || s[i] == '-'))
			i++;
		if (i == len || !isdigit((unsigned char)s[i]))
			return false;
		while (i < len && isdigit((unsigned char)s[i]))
			i++;
	}
	if (i != len)
		return false;
	memcpy(tmp, s, len);
	tmp[len] = '\0';
	*out = strtod(tmp, &end);
	return isfinite(*out);
}

/* ---- one reading, whatever the format ---- */

/* Where a reading came from, for error details. */
struct where {
	size_t index;
	size_t line; /* 0 for JSON */
};

static void
bad(struct readings_batch *b, const struct where *w, const char *field, const char *why)
{
	char name[64];

	snprintf(name, sizeof(name), "readings[%zu]%s%s", w->index, field[0] != '\0' ? "." : "",
		 field);
	if (w->line > 0)
		st_json_errs_add(&b->errs, name, "line %zu: %s", w->line, why);
	else
		st_json_errs_add(&b->errs, name, "%s", why);
}

/* Checks one reading's three texts (value already a number when from JSON) and keeps it. */
static void
take(struct readings_batch *b, const struct where *w, const char *ts, size_t ts_len, const char *ch,
     size_t ch_len, double value, bool value_ok)
{
	int64_t t = 0;
	bool ok = true;

	if (!readings_parse_time(ts, ts_len, &t)) {
		bad(b, w, "ts",
		    "must be an RFC 3339 time with Z or an offset, at most microseconds, "
		    "from 1970 to 2199");
		ok = false;
	}
	if (!readings_channel_valid(ch, ch_len)) {
		bad(b, w, "channel", "must be 1 to 64 characters of A-Z a-z 0-9 _ . : / -");
		ok = false;
	}
	if (!value_ok) {
		bad(b, w, "value", "must be a finite number");
		ok = false;
	}
	if (ok && b->errs.total == 0)
		push(b, t, ch, ch_len, value);
}

/* ---- JSON and NDJSON ---- */

static const char *const reading_fields[] = { "ts", "channel", "value", NULL };

static void
take_json(struct readings_batch *b, const struct where *w, const cJSON *o)
{
	const cJSON *ts, *ch, *val;
	bool value_ok;

	if (!cJSON_IsObject(o)) {
		bad(b, w, "", "must be an object with ts, channel and value");
		return;
	}
	for (const cJSON *f = o->child; f != NULL; f = f->next) {
		if (f->string != NULL && strcmp(f->string, "ts") != 0 &&
		    strcmp(f->string, "channel") != 0 && strcmp(f->string, "value") != 0) {
			char field[32];

			snprintf(field, sizeof(field), "%.24s", f->string);
			bad(b, w, field, "unknown field");
		}
	}
	(void)reading_fields;
	ts = cJSON_GetObjectItemCaseSensitive(o, "ts");
	ch = cJSON_GetObjectItemCaseSensitive(o, "channel");
	val = cJSON_GetObjectItemCaseSensitive(o, "value");
	value_ok = cJSON_IsNumber(val) && isfinite(val->valuedouble);
	take(b, w, cJSON_IsString(ts) ? ts->valuestring : NULL,
	     cJSON_IsString(ts) ? strlen(ts->valuestring) : 0,
	     cJSON_IsString(ch) ? ch->valuestring : NULL,
	     cJSON_IsString(ch) ? strlen(ch->valuestring) : 0, value_ok ? val->valuedouble : 0,
	     value_ok);
}

static enum st_err
parse_json(const char *body, size_t len, size_t max, struct readings_batch *b)
{
	char err[96];
	cJSON *doc = st_json_parse(body, len, err, sizeof(err));
	const cJSON *arr;
	enum st_err rc = ST_ERR_INVALID;
	size_t i = 0;

	if (doc == NULL) {
		st_json_errs_add(&b->errs, "", "malformed JSON: %s", err);
		return ST_ERR_INVALID;
	}
	if (!cJSON_IsObject(doc)) {
		st_json_errs_add(&b->errs, "", "must be an object {\"readings\": [...]}");
		goto out;
	}
	for (const cJSON *f = doc->child; f != NULL; f = f->next)
		if (f->string != NULL && strcmp(f->string, "readings") != 0)
			st_json_errs_add(&b->errs, f->string, "unknown field");
	arr = cJSON_GetObjectItemCaseSensitive(doc, "readings");
	if (!cJSON_IsArray(arr)) {
		st_json_errs_add(&b->errs, "readings", "required: an array of readings");
		goto out;
	}
	if ((size_t)cJSON_GetArraySize(arr) > max) {
		rc = ST_ERR_TOO_LARGE;
		goto out;
	}
	b->items = st_malloc(((size_t)cJSON_GetArraySize(arr) + 1) * sizeof(*b->items));
	b->cap = (size_t)cJSON_GetArraySize(arr) + 1;
	for (const cJSON *o = arr->child; o != NULL; o = o->next, i++) {
		struct where w = { i, 0 };

		take_json(b, &w, o);
	}
	rc = ST_OK;
out:
	cJSON_Delete(doc);
	return rc;
}

static enum st_err
parse_ndjson(const char *body, size_t len, size_t max, struct readings_batch *b)
{
	const char *p = body, *end = body + len;
	size_t line = 0, i = 0;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *e = nl != NULL ? nl : end;
		size_t n = (size_t)(e - p);
		struct where w;
		cJSON *o;
		char err[96];

		line++;
		if (n > 0 && p[n - 1] == '\r')
			n--;
		if (n == 0 || strspn(p, " \t") >= n) { /* blank lines separate nothing */
			p = e + 1;
			continue;
		}
		if (i == max)
			return ST_ERR_TOO_LARGE;
		w.index = i++;
		w.line = line;
		o = st_json_parse(p, n, err, sizeof(err));
		if (o == NULL) {
			char why[128];

			snprintf(why, sizeof(why), "malformed JSON: %s", err);
			bad(b, &w, "", why);
		} else {
			take_json(b, &w, o);
			cJSON_Delete(o);
		}
		p = e + 1;
	}
	return ST_OK;
}

/* ---- CSV (RFC 4180) ---- */

/* One field of a record: its text (unquoted into scratch when it was quoted). */
struct csv_field {
	const char *s;
	size_t len;
};

/*
 * Reads one record from *p (up to end): at most 3 fields kept (more are counted). Returns
 * false at a malformed quote. *nf gets the field count; *p moves past the record's line end;
 * *lines counts the lines it spans (a quoted field may hold a line break).
 */
static bool
csv_record(const char **p, const char *end, struct csv_field f[3], char scratch[3][128], size_t *nf,
	   size_t *lines)
{
	const char *s = *p;
	size_t k = 0;

	*lines = 1;
	for (;;) {
		struct csv_field cur = { s, 0 };

		if (s < end && *s == '"') {
			size_t o = 0;

			s++;
			for (;;) {
				if (s >= end)
					return false;
				if (*s == '"') {
					if (s + 1 < end && s[1] == '"') {
						s++;
					} else {
						s++;
						break;
					}
				}
				if (*s == '\n')
					(*lines)++;
				if (k < 3 && o < sizeof(scratch[0]))
					scratch[k][o++] = *s;
				s++;
			}
			if (s < end && *s != ',' && *s != '\n' && *s != '\r')
				return false; /* text after a closing quote */
			cur.s = k < 3 ? scratch[k] : NULL;
			cur.len = o;
		} else {
			while (s < end && *s != ',' && *s != '\n' && *s != '\r') {
				if (*s == '"')
					return false; /* a quote inside an unquoted field */
				s++;
			}
			cur.len = (size_t)(s - cur.s);
		}
		if (k < 3)
			f[k] = cur;
		k++;
		if (s < end && *s == ',') {
			s++;
			continue;
		}
		break;
	}
	if (s < end && *s == '\r')
		s++;
	if (s < end && *s == '\n')
		s++;
	*p = s;
	*nf = k;
	return true;
}

static bool
field_is(const struct csv_field *f, const char *name)
{
	return f->len == strlen(name) && strncasecmp(f->s, name, f->len) == 0;
}

static enum st_err
parse_csv(const char *body, size_t len, size_t max, struct readings_batch *b)
{
	const char *p = body, *end = body + len;
	struct csv_field f[3];
	char scratch[3][128];
	size_t nf, lines, line = 1, i = 0;

	if (len >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0)
		p += 3; /* a UTF-8 byte order mark */
	if (!csv_record(&p, end, f, scratch, &nf, &lines) || nf != 3 || !field_is(&f[0], "ts") ||
	    !field_is(&f[1], "channel") || !field_is(&f[2], "value")) {
		st_json_errs_add(&b->errs, "", "line 1: the header must be ts,channel,value");
		return ST_ERR_INVALID;
	}
	line += lines;
	while (p < end) {
		struct where w;
		double v = 0;
		bool v_ok;
		const char *start = p;

		if (*p == '\n' || (*p == '\r' && p + 1 < end && p[1] == '\n')) {
			p += *p == '\r' ? 2 : 1; /* blank line */
			line++;
			continue;
		}
		if (i == max)
			return ST_ERR_TOO_LARGE;
		w.index = i++;
		w.line = line;
		if (!csv_record(&p, end, f, scratch, &nf, &lines)) {
			bad(b, &w, "", "malformed CSV quoting");
			/* resynchronize at the next line */
			p = memchr(start, '\n', (size_t)(end - start));
			p = p == NULL ? end : p + 1;
			line++;
			continue;
		}
		line += lines;
		if (nf != 3) {
			bad(b, &w, "", "must have 3 fields: ts,channel,value");
			continue;
		}
		v_ok = parse_number(f[2].s, f[2].len, &v);
		take(b, &w, f[0].s, f[0].len, f[1].s, f[1].len, v, v_ok);
	}
	return ST_OK;
}

/* ---- entry points ---- */

enum readings_format
readings_format_of(const char *content_type)
{
	size_t n;

	if (content_type == NULL)
		return READINGS_UNSUPPORTED;
	while (*content_type == ' ')
		content_type++;
	n = strcspn(content_type, "; ");
	if (n == 16 && strncasecmp(content_type, "application/json", n) == 0)
		return READINGS_JSON;
	if (n == 20 && strncasecmp(content_type, "application/x-ndjson", n) == 0)
		return READINGS_NDJSON;
	if (n == 8 && strncasecmp(content_type, "text/csv", n) == 0)
		return READINGS_CSV;
	return READINGS_UNSUPPORTED;
}

/* A reading's key and its place in the batch, for finding repeats. */
struct key {
	uint32_t ch;
	int64_t ts_us;
	size_t index;
};

static int
key_order(const void *a, const void *b)
{
	const struct key *x = a, *y = b;

	if (x->ch != y->ch)
		return x->ch < y->ch ? -1 : 1;
	if (x->ts_us != y->ts_us)
		return x->ts_us < y->ts_us ? -1 : 1;
	return x->index < y->index ? -1 : x->index > y->index;
}

/*
 * A reading is identified by (session, channel, time): two in one batch with the same channel
 * and time would be acknowledged as two and stored as one, with no saying which value won.
 * They are refused, the later one named.
 */
static void
refuse_repeats(struct readings_batch *b)
{
	struct key *keys = st_malloc(b->n * sizeof(*keys));

	for (size_t i = 0; i < b->n; i++)
		keys[i] = (struct key){ b->items[i].ch, b->items[i].ts_us, i };
	qsort(keys, b->n, sizeof(*keys), key_order);
	for (size_t i = 1; i < b->n; i++) {
		if (keys[i].ch == keys[i - 1].ch && keys[i].ts_us == keys[i - 1].ts_us) {
			char name[48];

			snprintf(name, sizeof(name), "readings[%zu]", keys[i].index);
			st_json_errs_add(&b->errs, name,
					 "repeats readings[%zu]: the same channel at the same time",
					 keys[i - 1].index);
		}
	}
	st_free(keys);
}

enum st_err
readings_parse(enum readings_format fmt, const char *body, size_t len, size_t max,
	       struct readings_batch *b)
{
	enum st_err rc;

	switch (fmt) {
	case READINGS_JSON:
		rc = parse_json(body, len, max, b);
		break;
	case READINGS_NDJSON:
		rc = parse_ndjson(body, len, max, b);
		break;
	case READINGS_CSV:
		rc = parse_csv(body, len, max, b);
		break;
	default:
		st_json_errs_add(&b->errs, "", "unsupported format");
		return ST_ERR_INVALID;
	}
	if (rc == ST_OK && b->errs.total == 0 && b->n > 1)
		refuse_repeats(b);
	if (rc == ST_OK && b->errs.total > 0)
		rc = ST_ERR_INVALID;
	if (rc == ST_OK && b->n == 0) {
		st_json_errs_add(&b->errs, "readings", "must hold at least one reading");
		rc = ST_ERR_INVALID;
	}
	if (rc != ST_OK)
		b->n = 0;
	return rc;
}

/* ---- the strata.readings event ---- */

struct buf {
	char *p;
	size_t len, cap;
};

static void
put(struct buf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		b->cap = (b->len + n + 1) * 2;
		b->p = st_realloc(b->p, b->cap);
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void
puts_(struct buf *b, const char *s)
{
	put(b, s, strlen(s));
}

/* Upper bound of one reading's encoded size "[ts,ch,value]," */
#define READING_ENC_MAX 64
#define EVENT_OVERHEAD  512

char *
readings_encode_event(const struct readings_batch *b, size_t *from, const char *session_id,
		      const char *project_id, size_t max_bytes, size_t *len)
{
	uint32_t *local = st_malloc((b->nchans + 1) * sizeof(*local)); /* global -> local + 1 */
	uint32_t *order = st_malloc((b->nchans + 1) * sizeof(*order)); /* local -> global */
	size_t start = *from, end = start, est = EVENT_OVERHEAD, nlocal = 0;
	struct buf o = { NULL, 0, 0 };
	char id[40], now[40], num[48];

	memset(local, 0, (b->nchans + 1) * sizeof(*local));
	/* How many readings fit, counting each channel name once. */
	while (end < b->n) {
		const struct reading *r = &b->items[end];
		size_t add = READING_ENC_MAX;

		if (local[r->ch] == 0)
			add += b->chans[r->ch].len + 4;
		if (end > start && est + add > max_bytes)
			break;
		if (local[r->ch] == 0) {
			order[nlocal] = r->ch;
			local[r->ch] = (uint32_t)++nlocal;
		}
		est += add;
		end++;
	}
	st_uuid_v4(id, sizeof(id));
	st_time_format_rfc3339(st_now_wall_ms(), now, sizeof(now));
	puts_(&o, "{\"specversion\":\"1.0\",\"id\":\"");
	puts_(&o, id);
	puts_(&o, "\",\"source\":\"/strata/ingest\",\"type\":\"strata.readings.batch\","
		  "\"subject\":\"");
	puts_(&o, session_id);
	puts_(&o, "\",\"time\":\"");
	puts_(&o, now);
	puts_(&o, "\",\"datacontenttype\":\"application/json\",\"data\":{\"session_id\":\"");
	puts_(&o, session_id);
	puts_(&o, "\",\"project_id\":\"");
	puts_(&o, project_id);
	puts_(&o, "\",\"channels\":[");
	for (size_t k = 0; k < nlocal; k++) {
		const struct readings_chan *c = &b->chans[order[k]];

		if (k > 0)
			put(&o, ",", 1);
		put(&o, "\"", 1);
		put(&o, b->names + c->off, c->len); /* channel names need no escaping */
		put(&o, "\"", 1);
	}
	puts_(&o, "],\"readings\":[");
	for (size_t i = start; i < end; i++) {
		const struct reading *r = &b->items[i];
		int n = snprintf(num, sizeof(num), "%s[%lld,%u,", i > start ? "," : "",
				 (long long)r->ts_us, local[r->ch] - 1);

		put(&o, num, (size_t)n);
		n = (int)readings_format_value(r->value, num, sizeof(num));
		put(&o, num, (size_t)n);
		put(&o, "]", 1);
	}
	puts_(&o, "]}}");
	st_free(local);
	st_free(order);
	*from = end;
	*len = o.len;
	return o.p;
}
