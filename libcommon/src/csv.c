/*
 * The CSV reader of csv.h: a state machine over bytes that survives the end of a chunk
 * anywhere (inside a quote, between CR and LF, inside a byte order mark), with runs of plain
 * bytes copied at once. Values are unquoted into one buffer a record, which the limits bound:
 * a value stops growing at field_max bytes (an error), a record at fields_max fields.
 */
#include "strata/csv.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "strata/text.h"

enum state {
	S_BOM,    /* at the very start: a byte order mark may come */
	S_FIELD,  /* at the start of a value */
	S_PLAIN,  /* inside an unquoted value */
	S_QUOTED, /* inside a quoted value */
	S_QUOTE,  /* a quote inside a quoted value: doubled, or the end of the quotes */
	S_AFTER,  /* after the closing quote */
	S_CR,     /* a CR outside quotes: LF must follow */
	S_SKIP,   /* after an error: on to the next line */
};

static const unsigned char bom[3] = { 0xef, 0xbb, 0xbf };

void
st_csv_init(struct st_csv *r, const struct st_csv_conf *conf)
{
	memset(r, 0, sizeof(*r));
	r->conf = *conf;
	if (r->conf.field_max == 0)
		r->conf.field_max = 1;
	if (r->conf.fields_max == 0)
		r->conf.fields_max = 1;
	r->state = S_BOM;
	r->line = 1;
}

void
st_csv_cleanup(struct st_csv *r)
{
	st_free(r->buf);
	st_free(r->f);
	st_free(r->off);
	memset(r, 0, sizeof(*r));
}

void
st_csv_feed(struct st_csv *r, const char *data, size_t len)
{
	r->in = data;
	r->in_len = len;
	r->in_pos = 0;
}

void
st_csv_finish(struct st_csv *r)
{
	r->last = true;
}

size_t
st_csv_error_line(const struct st_csv *r)
{
	return r->err_line;
}

size_t
st_csv_error_field(const struct st_csv *r)
{
	return r->err_field;
}

static bool
blank(char c)
{
	return c == ' ' || c == '\t';
}

/* Reports an error about field (1-based; 0 the record) of the current record and moves on to
 * the next line. */
static enum st_csv_status
fail(struct st_csv *r, size_t field, const char *why, char *err, size_t errcap)
{
	r->err_line = r->in_record ? r->rec_line : r->line;
	r->err_field = field;
	if (field > 0)
		st_errf(err, errcap, "line %zu, field %zu: %s", r->err_line, field, why);
	else
		st_errf(err, errcap, "line %zu: %s", r->err_line, why);
	r->state = S_SKIP;
	r->in_record = false;
	return ST_CSV_ERROR;
}

static void
begin_record(struct st_csv *r)
{
	r->in_record = true;
	r->rec_line = r->line;
	r->n = 0;
	r->len = 0;
	r->field_start = 0;
	r->quoted = false;
}

static void
reserve(struct st_csv *r, size_t more)
{
	if (r->len + more <= r->cap)
		return;
	r->cap = r->cap == 0 ? 256 : r->cap;
	while (r->cap < r->len + more)
		r->cap *= 2;
	r->buf = st_realloc(r->buf, r->cap);
}

/* Appends n bytes to the current value; false (nothing kept) when it would grow past
 * field_max. */
static bool
append(struct st_csv *r, const char *s, size_t n)
{
	if (r->len - r->field_start + n > r->conf.field_max)
		return false;
	if (n == 0)
		return true;
	reserve(r, n);
	memcpy(r->buf + r->len, s, n);
	r->len += n;
	return true;
}

/* Appends a run that run_limit bounded (it fits). */
static void
keep(struct st_csv *r, const char *s, size_t n)
{
	if (n == 0)
		return; /* buf may not exist yet */
	reserve(r, n);
	memcpy(r->buf + r->len, s, n);
	r->len += n;
}

/* How far a run of value bytes from p may go before the value is over field_max: a byte of
 * the value found at the limit is one too many. Per byte, so that the error falls on the same
 * byte whatever the chunks. */
static const char *
run_limit(const struct st_csv *r, const char *p, const char *end)
{
	size_t room = r->conf.field_max - (r->len - r->field_start);

	return (size_t)(end - p) > room ? p + room : end;
}

static enum st_csv_status
too_long(struct st_csv *r, char *err, size_t errcap)
{
	char why[64];

	snprintf(why, sizeof(why), "longer than %zu bytes", r->conf.field_max);
	return fail(r, r->n + 1, why, err, errcap);
}

/* Ends the current value: trims it when asked, NUL-terminates it, records it. */
static void
end_field(struct st_csv *r)
{
	size_t begin = r->field_start, end = r->len;

	if (r->conf.flags & ST_CSV_TRIM) {
		while (begin < end && blank(r->buf[begin]))
			begin++;
		while (end > begin && blank(r->buf[end - 1]))
			end--;
	}
	if (r->n == r->fcap) {
		/* never more than fields_max: next_field refuses the one after */
		r->fcap = r->fcap == 0 ? 8 : r->fcap * 2;
		if (r->fcap > r->conf.fields_max)
			r->fcap = r->conf.fields_max;
		r->f = st_realloc(r->f, r->fcap * sizeof(*r->f));
		r->off = st_realloc(r->off, r->fcap * sizeof(*r->off));
	}
	r->len = end;
	reserve(r, 1);
	r->buf[r->len++] = '\0';
	r->off[r->n] = begin; /* pointers only once the record is done: buf may still move */
	r->f[r->n].len = end - begin;
	r->f[r->n].quoted = r->quoted;
	r->n++;
	r->field_start = r->len;
	r->quoted = false;
}

/* After a comma: another value follows, if the record may hold one. */
static bool
next_field(struct st_csv *r)
{
	end_field(r);
	r->state = S_FIELD;
	return r->n < r->conf.fields_max;
}

static enum st_csv_status
too_many(struct st_csv *r, char *err, size_t errcap)
{
	char why[64];

	snprintf(why, sizeof(why), "has more than %zu fields", r->conf.fields_max);
	return fail(r, 0, why, err, errcap);
}

/* Ends the record; ST_CSV_RECORD with rec filled, or ST_CSV_NEED_MORE for a blank line that
 * is skipped (the caller reads on). */
static enum st_csv_status
end_record(struct st_csv *r, struct st_csv_record *rec)
{
	end_field(r);
	r->in_record = false;
	r->state = S_FIELD;
	if ((r->conf.flags & ST_CSV_SKIP_BLANK) && r->n == 1 && r->f[0].len == 0 && !r->f[0].quoted)
		return ST_CSV_NEED_MORE;
	for (size_t i = 0; i < r->n; i++)
		r->f[i].s = r->buf + r->off[i];
	rec->f = r->f;
	rec->n = r->n;
	rec->line = r->rec_line;
	return ST_CSV_RECORD;
}

/* A byte order mark began but did not go on: its bytes were data after all. */
static bool
bom_was_data(struct st_csv *r)
{
	unsigned n = r->bom;

	r->bom = 0;
	r->state = S_FIELD;
	if (n == 0)
		return true;
	begin_record(r);
	r->state = S_PLAIN;
	return append(r, (const char *)bom, n);
}

/* The input is used up and finished: the last record, an error or the end. */
static enum st_csv_status
at_end(struct st_csv *r, struct st_csv_record *rec, char *err, size_t errcap)
{
	enum st_csv_status s;

	if (r->done)
		return ST_CSV_END;
	if (r->state == S_BOM && !bom_was_data(r))
		return too_long(r, err, errcap);
	r->done = true;
	switch (r->state) {
	case S_QUOTED:
		return fail(r, r->n + 1, "a quoted field is not closed (the input ends inside it)",
			    err, errcap);
	case S_CR:
		return fail(r, 0, "a line ends in CR without LF", err, errcap);
	case S_SKIP:
		return ST_CSV_END;
	case S_FIELD:
		if (!r->in_record)
			return ST_CSV_END;
		break;
	default:
		break;
	}
	s = end_record(r, rec);
	return s == ST_CSV_RECORD ? s : ST_CSV_END;
}

enum st_csv_status
st_csv_next(struct st_csv *r, struct st_csv_record *rec, char *err, size_t errcap)
{
	for (;;) {
		const char *in = r->in, *p, *end, *lim;
		char c;

		if (r->in_pos >= r->in_len) {
			if (!r->last)
				return ST_CSV_NEED_MORE;
			return at_end(r, rec, err, errcap);
		}
		c = in[r->in_pos];
		switch (r->state) {
		case S_BOM:
			if ((unsigned char)c == bom[r->bom]) {
				r->in_pos++;
				if (++r->bom == sizeof(bom)) {
					r->bom = 0;
					r->state = S_FIELD;
				}
			} else if (!bom_was_data(r)) {
				return too_long(r, err, errcap);
			}
			break;
		case S_FIELD:
			if (!r->in_record)
				begin_record(r);
			if (c == '"') {
				r->quoted = true;
				r->state = S_QUOTED;
				r->in_pos++;
			} else if (blank(c) && (r->conf.flags & ST_CSV_TRIM)) {
				r->in_pos++;
			} else {
				r->state = S_PLAIN; /* an empty value ends at once there */
			}
			break;
		case S_PLAIN:
			p = in + r->in_pos;
			end = in + r->in_len;
			lim = run_limit(r, p, end);
			while (p < lim && *p != ',' && *p != '\n' && *p != '\r' && *p != '"')
				p++;
			keep(r, in + r->in_pos, (size_t)(p - (in + r->in_pos)));
			r->in_pos = (size_t)(p - in);
			if (p == end)
				break;
			if (p == lim && *p != ',' && *p != '\n' && *p != '\r' && *p != '"')
				return too_long(r, err, errcap);
			r->in_pos++;
			if (*p == '"')
				return fail(r, r->n + 1,
					    "a quote inside an unquoted field (quote the whole "
					    "field and double the quote)",
					    err, errcap);
			if (*p == '\r') {
				r->state = S_CR;
			} else if (*p == '\n') {
				r->line++;
				if (end_record(r, rec) == ST_CSV_RECORD)
					return ST_CSV_RECORD;
			} else if (!next_field(r)) {
				return too_many(r, err, errcap);
			}
			break;
		case S_QUOTED:
			p = in + r->in_pos;
			end = in + r->in_len;
			lim = run_limit(r, p, end);
			while (p < lim && *p != '"') {
				if (*p == '\n')
					r->line++;
				p++;
			}
			keep(r, in + r->in_pos, (size_t)(p - (in + r->in_pos)));
			r->in_pos = (size_t)(p - in);
			if (p == end)
				break;
			if (p == lim && *p != '"')
				return too_long(r, err, errcap);
			r->in_pos++;
			r->state = S_QUOTE;
			break;
		case S_QUOTE:
			if (c == '"') {
				if (!append(r, "\"", 1))
					return too_long(r, err, errcap);
				r->in_pos++;
				r->state = S_QUOTED;
			} else {
				r->state = S_AFTER;
			}
			break;
		case S_AFTER:
			r->in_pos++;
			if (blank(c) && (r->conf.flags & ST_CSV_TRIM))
				break;
			if (c == ',') {
				if (!next_field(r))
					return too_many(r, err, errcap);
			} else if (c == '\r') {
				r->state = S_CR;
			} else if (c == '\n') {
				r->line++;
				if (end_record(r, rec) == ST_CSV_RECORD)
					return ST_CSV_RECORD;
			} else {
				r->in_pos--; /* the skip starts at it: it may be the LF */
				return fail(r, r->n + 1, "text after a closing quote", err, errcap);
			}
			break;
		case S_CR:
			if (c != '\n')
				return fail(r, 0, "a line ends in CR without LF", err, errcap);
			r->in_pos++;
			r->line++;
			if (end_record(r, rec) == ST_CSV_RECORD)
				return ST_CSV_RECORD;
			break;
		case S_SKIP:
			p = memchr(in + r->in_pos, '\n', r->in_len - r->in_pos);
			if (p == NULL) {
				r->in_pos = r->in_len;
			} else {
				r->in_pos = (size_t)(p - in) + 1;
				r->line++;
				r->state = S_FIELD;
			}
			break;
		}
	}
}

/* ---- a header row ---- */

/* The header's name of field i as text fit for a message: itself when short, printable UTF-8,
 * else its number. */
static void
column_label(const struct st_csv_field *f, size_t i, char *buf, size_t cap)
{
	if (f->len > 0 && f->len <= 40 && st_text_chars(f->s, f->len, 0) != (size_t)-1)
		snprintf(buf, cap, "\"%s\"", f->s);
	else
		snprintf(buf, cap, "number %zu", i + 1);
}

bool
st_csv_header_map(const struct st_csv_record *hdr, const struct st_csv_column *cols, size_t ncols,
		  unsigned flags, int *idx, struct st_json_errs *errs, const char *errfield)
{
	size_t before = errs->total;

	for (size_t c = 0; c < ncols; c++)
		idx[c] = -1;
	for (size_t i = 0; i < hdr->n; i++) {
		const struct st_csv_field *f = &hdr->f[i];
		bool known = false;

		for (size_t c = 0; c < ncols; c++) {
			if (strlen(cols[c].name) != f->len || strcasecmp(f->s, cols[c].name) != 0)
				continue;
			known = true;
			if (idx[c] >= 0)
				st_json_errs_add(errs, errfield, "column %s appears twice",
						 cols[c].name);
			else
				idx[c] = (int)i;
		}
		if (!known && !(flags & ST_CSV_HEADER_EXTRA_OK)) {
			char label[64];

			column_label(f, i, label, sizeof(label));
			st_json_errs_add(errs, errfield, "unknown column %s", label);
		}
	}
	for (size_t c = 0; c < ncols; c++) {
		char names[256];
		size_t n = 0;

		if (idx[c] >= 0 || !cols[c].required)
			continue;
		names[0] = '\0';
		for (size_t k = 0; k < ncols && n < sizeof(names); k++) {
			int w;

			if (!cols[k].required)
				continue;
			w = snprintf(names + n, sizeof(names) - n, "%s%s", n > 0 ? ", " : "",
				     cols[k].name);
			if (w < 0)
				break;
			n += (size_t)w;
		}
		st_json_errs_add(errs, errfield, "missing column %s (the header must name %s)",
				 cols[c].name, names);
	}
	return errs->total == before;
}
