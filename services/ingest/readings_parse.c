/*
 * Readings batches, pure: the three body formats (JSON, NDJSON, CSV) parsed and validated into
 * one compact array (readings point at a table of distinct channel names, so a batch of ten
 * thousand readings costs a handful of allocations), times read by libcommon's RFC 3339 reader
 * to microseconds. The decoding side of the readings codec; readings_codec.c is the encoding.
 *
 * The channel table is keyed by names the client chose: it hashes them with the keyed hash
 * (strata/hash.h), so that no batch can make its names collide. CSV bodies are read by
 * libcommon's CSV reader (strata/csv.h): a value longer than READINGS_CSV_FIELD_MAX is an error
 * with its line, as is any other break of RFC 4180.
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
#include "strata/csv.h"
#include "strata/hash.h"

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

/* Which slot of the channel table a name starts probing at. */
static size_t
name_slot(const char *s, size_t len, size_t mask)
{
	return (size_t)st_hash_keyed(s, len) & mask;
}

static void
hash_insert(struct readings_batch *b, uint32_t idx)
{
	const struct readings_chan *c = &b->chans[idx];
	size_t mask = b->hash_cap - 1;
	size_t i = name_slot(b->names + c->off, c->len, mask);

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
	i = name_slot(s, len, mask);
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

bool
readings_parse_time(const char *s, size_t len, int64_t *us)
{
	int64_t t;

	if (s == NULL || len > TS_TEXT_MAX || !st_time_parse_rfc3339_us(s, len, &t))
		return false;
	if (t < READINGS_TS_MIN_US || t >= READINGS_TS_MAX_US)
		return false;
	if (us != NULL)
		*us = t;
	return true;
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

/* True when the n bytes at p are only spaces and tabs (or none). Bounded by n: the body need
 * not end in a NUL, so strspn could read past it. */
static bool
blank(const char *p, size_t n)
{
	for (size_t k = 0; k < n; k++)
		if (p[k] != ' ' && p[k] != '\t')
			return false;
	return true;
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
		if (blank(p, n)) { /* blank lines separate nothing */
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

/* ---- CSV (RFC 4180, through strata/csv.h) ---- */

static const struct st_csv_column csv_cols[] = {
	{ "ts", true },
	{ "channel", true },
	{ "value", true },
};

static enum st_err
parse_csv(const char *body, size_t len, size_t max, struct readings_batch *b)
{
	const struct st_csv_conf conf = { READINGS_CSV_FIELD_MAX, ST_ARRAY_LEN(csv_cols),
					  ST_CSV_SKIP_BLANK };
	struct st_csv csv;
	struct st_csv_record rec;
	struct st_json_errs herrs;
	enum st_csv_status s;
	enum st_err rc = ST_OK;
	int idx[ST_ARRAY_LEN(csv_cols)];
	size_t i = 0;
	char err[160];

	st_csv_init(&csv, &conf);
	st_csv_feed(&csv, body, len);
	st_csv_finish(&csv);
	st_json_errs_init(&herrs);
	s = st_csv_next(&csv, &rec, err, sizeof(err));
	if (s != ST_CSV_RECORD || rec.line != 1 ||
	    !st_csv_header_map(&rec, csv_cols, ST_ARRAY_LEN(csv_cols), 0, idx, &herrs, "")) {
		const char *why = herrs.n > 0         ? herrs.items[0].detail
				  : s == ST_CSV_ERROR ? err
						      : "";

		st_json_errs_add(&b->errs, "",
				 "line 1: the header must be ts,channel,value (in any order)%s%s",
				 why[0] != '\0' ? ": " : "", why);
		rc = ST_ERR_INVALID;
		goto out;
	}
	for (;;) {
		struct where w;
		double v = 0;
		bool v_ok;

		s = st_csv_next(&csv, &rec, err, sizeof(err));
		if (s == ST_CSV_END)
			break;
		if (i == max) {
			rc = ST_ERR_TOO_LARGE;
			goto out;
		}
		w.index = i++;
		if (s == ST_CSV_ERROR) {
			char name[48];

			snprintf(name, sizeof(name), "readings[%zu]", w.index);
			st_json_errs_add(&b->errs, name, "%s", err); /* "line 3, field 2: ..." */
			continue;
		}
		w.line = rec.line;
		if (rec.n != ST_ARRAY_LEN(csv_cols)) {
			bad(b, &w, "", "must have 3 fields: ts,channel,value");
			continue;
		}
		{
			const struct st_csv_field *ts = &rec.f[idx[0]], *ch = &rec.f[idx[1]],
						  *val = &rec.f[idx[2]];

			v_ok = parse_number(val->s, val->len, &v);
			take(b, &w, ts->s, ts->len, ch->s, ch->len, v, v_ok);
		}
	}
out:
	st_csv_cleanup(&csv);
	return rc;
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
