/*
 * A streaming RFC 4180 CSV reader for uploads (ingest's readings and diagnosis results, and the
 * statistics imports to come): fed its input in chunks of any size (or one buffer), it hands out
 * one record at a time and keeps nothing but the current record, so its memory is bounded by
 * the limits its caller sets, whatever the size of the input.
 *
 * The dialect: fields separated by commas; records end in LF or CRLF (a CR without LF is
 * refused); a field may be quoted, and then holds commas, line breaks and doubled quotes ("")
 * standing for one; a quote inside an unquoted field is refused, and so is text after a
 * closing quote and a quote still open at the end of the input. A UTF-8 byte order mark at the
 * very start is skipped. A field longer than field_max bytes is an error, never a cut value;
 * so is a record of more than fields_max fields. Every error names the physical line the record
 * starts on (the first line is 1) and, where it is about one field, the field's number (the
 * first is 1). Bytes are not otherwise checked: UTF-8 validation belongs to the caller
 * (strata/text.h), which knows what each column may hold.
 *
 *     struct st_csv csv;
 *     struct st_csv_record rec;
 *     st_csv_init(&csv, &(struct st_csv_conf){ .field_max = 256, .fields_max = 8 });
 *     st_csv_feed(&csv, body, len);     (or chunk by chunk, after each ST_CSV_NEED_MORE)
 *     st_csv_finish(&csv);
 *     for (;;) {
 *             enum st_csv_status s = st_csv_next(&csv, &rec, err, sizeof(err));
 *             if (s == ST_CSV_END)
 *                     break;
 *             ... ST_CSV_RECORD: rec.f[0 .. rec.n - 1]; ST_CSV_ERROR: err, and read on
 *     }
 *     st_csv_cleanup(&csv);
 *
 * Every entry point is pure over the bytes it is given (no I/O, no global state): a fuzz
 * target feeds it any buffer.
 */
#ifndef STRATA_CSV_H
#define STRATA_CSV_H

#include "strata/core.h"
#include "strata/json.h"

/* Options of st_csv_conf.flags. ST_CSV_TRIM: spaces and tabs around a value are dropped, around
 * its quotes and inside them. ST_CSV_SKIP_BLANK: an empty line (or, with TRIM, one of blanks)
 * is no record. */
#define ST_CSV_TRIM       0x1u
#define ST_CSV_SKIP_BLANK 0x2u

struct st_csv_conf {
	size_t field_max;  /* bytes of one value once unquoted (>= 1) */
	size_t fields_max; /* fields of one record (>= 1) */
	unsigned flags;    /* ST_CSV_* */
};

/* One value of a record: NUL-terminated (a NUL inside shows as len > strlen(s)). */
struct st_csv_field {
	const char *s;
	size_t len;
	bool quoted;
};

/* A record, borrowed from the reader until its next st_csv_next or st_csv_cleanup. */
struct st_csv_record {
	const struct st_csv_field *f;
	size_t n;    /* fields, >= 1 */
	size_t line; /* the physical line it starts on */
};

enum st_csv_status {
	ST_CSV_RECORD,    /* *rec holds the next record */
	ST_CSV_NEED_MORE, /* the input fed so far is used up: feed more, or finish */
	ST_CSV_END,       /* finished and nothing is left */
	ST_CSV_ERROR,     /* a record breaks the rules: err says why; the reader goes on at the
			   * next line, so that a caller may collect several errors */
};

/* The reader: caller's storage; its members are private. */
struct st_csv {
	struct st_csv_conf conf;
	const char *in; /* the chunk fed last (borrowed) */
	size_t in_len, in_pos;
	bool last;                  /* st_csv_finish was called */
	bool done;                  /* the end was reported */
	int state;                  /* where in the grammar the next byte falls */
	unsigned bom;               /* bytes of a byte order mark seen at the start */
	size_t line;                /* the physical line of the next byte */
	bool in_record;             /* a record has begun */
	size_t rec_line;            /* the line it began on */
	char *buf;                  /* the record's values, each NUL-terminated */
	size_t len, cap;            /* of buf */
	size_t field_start;         /* where the current value begins in buf */
	bool quoted;                /* the current value was quoted */
	struct st_csv_field *f;     /* the record's fields */
	size_t *off;                /* where each value begins in buf */
	size_t n, fcap;             /* of f */
	size_t err_line, err_field; /* of the last error; err_field 0 for the whole record */
};

/* Prepares r for input read under conf (copied). */
void st_csv_init(struct st_csv *r, const struct st_csv_conf *conf);
/* Frees what r holds; r may then be st_csv_init'ed again. */
void st_csv_cleanup(struct st_csv *r);

/*
 * Gives r the next len bytes of input, borrowed until st_csv_next returns ST_CSV_NEED_MORE (or
 * the end). Call only after NEED_MORE (or before the first st_csv_next); not after finish.
 */
void st_csv_feed(struct st_csv *r, const char *data, size_t len);
/* Says that no more input comes: what is left makes the last record (or an error). */
void st_csv_finish(struct st_csv *r);

/*
 * Reads on to the next record. On ST_CSV_ERROR err (may be NULL) gets "line 3, field 2: ..." or
 * "line 3: ..." and st_csv_error_line / st_csv_error_field the numbers alone.
 */
enum st_csv_status st_csv_next(struct st_csv *r, struct st_csv_record *rec, char *err,
			       size_t errcap);

/* The line and field number (0: the whole record) of the last ST_CSV_ERROR. */
size_t st_csv_error_line(const struct st_csv *r);
size_t st_csv_error_field(const struct st_csv *r);

/* ---- a header row ---- */

/* A column a file may (or must) have. */
struct st_csv_column {
	const char *name; /* compared ASCII-case-insensitively with the header's (trimmed) names */
	bool required;
};

/* Options of st_csv_header_map. */
#define ST_CSV_HEADER_EXTRA_OK 0x1u /* columns not in the table are ignored, not refused */

/*
 * Maps a header record onto cols: idx[c] gets the field index of cols[c] (-1 when absent).
 * Each problem goes into errs under field errfield ("line 1: header"): a column missing that
 * is required, a known column named twice, and (without ST_CSV_HEADER_EXTRA_OK) a column
 * not in cols. True when there was none.
 */
bool st_csv_header_map(const struct st_csv_record *hdr, const struct st_csv_column *cols,
		       size_t ncols, unsigned flags, int *idx, struct st_json_errs *errs,
		       const char *errfield);

#endif
