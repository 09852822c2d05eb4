/*
 * The shape of a resource handler, written once: a declared table of the fields a JSON body
 * may carry, which parses and validates the body and lays its values out as SQL parameters in
 * table order; keyset paging from ?limit= and ?cursor=; and answers straight from a statement
 * (one row as a JSON object, a page of rows, or 204). A handler is its access check, its table,
 * its SQL and a few calls:
 *
 *	static const struct st_field fields[] = {
 *		{ "name", ST_FIELD_TEXT, ST_FIELD_REQUIRED, .min = 1, .max = 200 },
 *		{ "settings", ST_FIELD_OBJECT, ST_FIELD_NULLABLE, .max = 16384 },
 *	};
 *	struct st_fields v;
 *	int status = st_fields_read(req, fields, ST_ARRAY_LEN(fields), ST_FIELDS_WHOLE, &v,
 *				    "the project is not valid");
 *	if (status == 0) {
 *		const char *params[] = { id, v.params[0], v.params[1] };
 *		struct st_http_row_opts opts = { .location = loc };
 *
 *		status = st_http_reply_row(req, app->db, create_sql, 3, params, &opts);
 *	}
 *	st_fields_cleanup(&v);
 *
 * What every table does with a body (docs/api.md, "Request bodies"):
 * - Members the table does not name are refused ("is not a known field"): a misspelt field
 *   must not pass as a field the service then silently ignores.
 * - ST_FIELDS_WHOLE (a create): a REQUIRED field that is absent or null "is required".
 *   ST_FIELDS_PATCH: only the members present count; absent ones leave the resource as it is
 *   (st_fields_patch_params gives the statement "present?" beside each value).
 * - null is a value only for NULLABLE fields (SQL NULL; the statement decides whether that
 *   clears or takes a default); elsewhere it "cannot be null".
 * - Every error is collected (field and detail) for one 400 with errors[].
 * The JSON types are strict: "12" is not an integer and 1 is not true.
 */
#ifndef STRATA_FIELDS_H
#define STRATA_FIELDS_H

#include "strata/http.h"
#include "strata/json.h"

struct st_db_pool;

enum st_field_type {
	ST_FIELD_TEXT,    /* a string of min..max characters (max 0: unbounded), no controls */
	ST_FIELD_UUID,    /* a UUID in canonical text form */
	ST_FIELD_INT,     /* an integer from min to max */
	ST_FIELD_NUMBER,  /* a finite number; from min to max unless both are 0 */
	ST_FIELD_BOOL,    /* true or false; the parameter is "true" or "false" */
	ST_FIELD_ENUM,    /* a string among values */
	ST_FIELD_TIME,    /* an RFC 3339 date-time; the parameter is its UTC form, milliseconds */
	ST_FIELD_OBJECT,  /* a JSON object of at most max bytes of compact JSON (0: unbounded);
			     the parameter is that compact text, for `$n::jsonb` */
	ST_FIELD_STRINGS, /* an array of min..max strings (max 0: unbounded), each of 1..
			     ST_FIELD_ITEM_CHARS characters without controls; the parameter is a
			     PostgreSQL array literal, for `$n::text[]` */
};

#define ST_FIELD_REQUIRED  0x1u /* a whole body must carry it, not null */
#define ST_FIELD_NULLABLE  0x2u /* null is a value: its parameter is SQL NULL */
#define ST_FIELD_MULTILINE 0x4u /* TEXT: tabs and line breaks are allowed */

#define ST_FIELD_ITEM_CHARS 200 /* characters of one ST_FIELD_STRINGS item */
#define ST_FIELDS_MAX       16  /* fields in one table */

/*
 * A check of its own for a field, run on a non-null value after the type's checks passed.
 * Returns false when the value is bad; it may record its own errors (under field or below it,
 * "settings.category_weights"), else the field's detail (or "is not valid") is recorded.
 */
typedef bool st_field_check(const cJSON *value, const char *field, struct st_json_errs *errs);

struct st_field {
	const char *name;
	enum st_field_type type;
	unsigned flags;            /* ST_FIELD_* */
	long long min, max;        /* per type, above */
	const char *const *values; /* ENUM: the accepted strings, NULL-terminated */
	const char *detail;        /* said of a bad value instead of the type's own words (not of
				      a missing or null one): "must be a user id (a UUID)" */
	st_field_check *check;     /* may be NULL */
};

enum st_fields_mode {
	ST_FIELDS_WHOLE, /* the body is the whole resource or change: REQUIRED fields must be there
			  */
	ST_FIELDS_PATCH, /* only the members present: nothing is required */
};

/* A parsed body: per field, in table order. Caller's storage; st_fields_cleanup always. */
struct st_fields {
	size_t n;
	const char *params[ST_FIELDS_MAX]; /* SQL text; NULL when absent or null. Borrowed from
					      body or this struct */
	bool present[ST_FIELDS_MAX];       /* the member was in the body, null included */
	const cJSON *json[ST_FIELDS_MAX];  /* the member as sent, NULL when absent */
	cJSON *body;                       /* owned when st_fields_read read it */
	char scratch[ST_FIELDS_MAX][32];   /* the text of ints, numbers, bools and times */
	char *owned[ST_FIELDS_MAX];        /* printed objects and array literals */
};

/*
 * Checks body (a JSON object, borrowed: it must outlive out) against the n fields of table as
 * mode says, and fills out. Returns true when every field is good; false with the errors added
 * to errs (out is filled as far as it went). Call st_fields_cleanup(out) in either case.
 */
bool st_fields_parse(const struct st_field *table, size_t n, const cJSON *body,
		     enum st_fields_mode mode, struct st_fields *out, struct st_json_errs *errs);

/*
 * Reads req's body as a JSON object and parses it into out, which then owns the body. Returns
 * 0, or replies itself and returns the status: st_http_body_json_object's 415, 413 and 400; 400
 * for a body holding \u0000 (cJSON would cut the string there); or 400 with detail and
 * errors[] for bad fields. Call st_fields_cleanup(out) in either case.
 */
int st_fields_read(struct st_req *req, const struct st_field *table, size_t n,
		   enum st_fields_mode mode, struct st_fields *out, const char *detail);

/* Frees what out holds (the body when read, printed values). Accepts a zeroed struct. */
void st_fields_cleanup(struct st_fields *out);

/*
 * The parameters of a patch: for each field in table order "true" or "false" (present) and
 * then its value, 2 * f->n entries into out (cap at least that; fewer are written when it is
 * smaller). Returns how many were written. For a statement of
 * `col = CASE WHEN $k::boolean THEN $k+1 ELSE col END` per field.
 */
size_t st_fields_patch_params(const struct st_fields *f, const char **out, size_t cap);

/* ---- lists ---- */

/* ?limit= and ?cursor= of a keyset-paged list (the cursor is st_cursor_encode's). */
struct st_page {
	int limit;
	const char *after_micros; /* the cursor's sort key, NULL on the first page */
	const char *after_id;     /* NULL on the first page */
	char fetch[16];           /* limit + 1 as text, the statement's LIMIT: one row more
				     tells that there is a next page */
	char micros[24], id[40];
};

/*
 * Reads ?limit= (def when absent, 1..max) and ?cursor= into page. Returns 0, or replies 400
 * with errors[] ("limit", "cursor") and returns 400.
 */
int st_page_read(struct st_req *req, int def, int max, struct st_page *page);

/* ---- answers from a statement ---- */

/* What st_http_reply_row answers besides the row itself. All may be NULL. */
struct st_http_row_opts {
	const char *location; /* 201 Created with this Location; NULL: 200 */
	const char *missing;  /* the 404's detail when the statement gave no row */
	const char *conflict; /* the 409's detail on a conflict, in place of the generic one */
};

/*
 * Runs one parameterized statement on pool and answers its first row as a JSON object
 * (st_db_row_json): 201 with Location or 200 as opts says; 404 when there is no row; a
 * failure through st_http_reply_db_error. Returns the status sent. May block for a checkout.
 */
int st_http_reply_row(struct st_req *req, struct st_db_pool *pool, const char *sql, int nparams,
		      const char *const *params, const struct st_http_row_opts *opts);

/*
 * Runs a list statement whose LIMIT is page->fetch and answers 200 with {"items": [...],
 * "next_cursor"}: the first page->limit rows as st_db_row_json objects, and the cursor made of
 * the columns _cursor_micros and _cursor_id of the last of them when there are more rows,
 * else null. A failure answers through st_http_reply_db_error.
 */
int st_http_reply_page(struct st_req *req, struct st_db_pool *pool, const char *sql, int nparams,
		       const char *const *params, const struct st_page *page);

/* Runs a command (DELETE, UPDATE): 204 when it touched a row, else 404 with missing. */
int st_http_reply_done(struct st_req *req, struct st_db_pool *pool, const char *sql, int nparams,
		       const char *const *params, const char *missing);

#endif
