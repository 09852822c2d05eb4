/*
 * The readings' wire encoding, one side of the codec whose other side is readings_parse.c: the
 * strata.readings event (proto/topics/strata.readings.schema.json) built from a parsed batch,
 * and values printed so that they read back exactly (also for the CSV export).
 *
 * The event is the hot path's only output: one buffer sized up front for the readings that fit,
 * the CloudEvents envelope written into it by libcommon (st_cloudevent_head), then the data as
 * text. Channel names need no escaping (readings_channel_valid allows none of '"', '\\' or
 * control characters).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingest.h"
#include "strata/kafka.h"

#define READINGS_EVENT_TYPE "strata.readings.batch"

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

/* Upper bound of one reading's encoded size "[ts,ch,value],": 20 + 10 + 24 and punctuation. */
#define READING_ENC_MAX 64
/* The data's own text around the readings: ids, names of members, brackets. */
#define DATA_OVERHEAD 192

struct out {
	char *p;
	size_t len, cap;
};

/* Appends n bytes; the buffer was sized for the whole event, growing is only a safety net. */
static void
put(struct out *o, const char *s, size_t n)
{
	if (o->len + n + 1 > o->cap) {
		o->cap = (o->len + n + 1) * 2;
		o->p = st_realloc(o->p, o->cap);
	}
	memcpy(o->p + o->len, s, n);
	o->len += n;
	o->p[o->len] = '\0';
}

static void
put_str(struct out *o, const char *s)
{
	put(o, s, strlen(s));
}

char *
readings_encode_event(const struct readings_batch *b, size_t *from, const char *session_id,
		      const char *project_id, size_t max_bytes, size_t *len)
{
	uint32_t *local = st_calloc(b->nchans + 1, sizeof(*local));    /* global -> local + 1 */
	uint32_t *order = st_malloc((b->nchans + 1) * sizeof(*order)); /* local -> global */
	size_t start = *from, end = start, nlocal = 0;
	size_t est = ST_CLOUDEVENT_HEAD_MAX + DATA_OVERHEAD;
	struct out o;
	char num[48];
	size_t n;

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
	o.cap = est + 1;
	o.p = st_malloc(o.cap);
	n = st_cloudevent_head(INGEST_EVENT_SOURCE, READINGS_EVENT_TYPE, session_id, true, o.p,
			       o.cap);
	/* A session id is a UUID: the head always fits in ST_CLOUDEVENT_HEAD_MAX. */
	o.len = n;
	put_str(&o, "{\"session_id\":\"");
	put_str(&o, session_id);
	put_str(&o, "\",\"project_id\":\"");
	put_str(&o, project_id);
	put_str(&o, "\",\"channels\":[");
	for (size_t k = 0; k < nlocal; k++) {
		const struct readings_chan *c = &b->chans[order[k]];

		if (k > 0)
			put(&o, ",", 1);
		put(&o, "\"", 1);
		put(&o, b->names + c->off, c->len);
		put(&o, "\"", 1);
	}
	put_str(&o, "],\"readings\":[");
	for (size_t i = start; i < end; i++) {
		const struct reading *r = &b->items[i];
		int k = snprintf(num, sizeof(num), "%s[%lld,%u,", i > start ? "," : "",
				 (long long)r->ts_us, local[r->ch] - 1);

		put(&o, num, (size_t)k);
		k = (int)readings_format_value(r->value, num, sizeof(num));
		put(&o, num, (size_t)k);
		put(&o, "]", 1);
	}
	put_str(&o, "]}}");
	st_free(local);
	st_free(order);
	*from = end;
	*len = o.len;
	return o.p;
}
