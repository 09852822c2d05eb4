/*
 * GET /api/v1/sessions/{id}/data?from=&to=&channel=&limit=&cursor=: a session's readings as JSON
 * pages, in time order (ts, then channel), keyset-paginated on (ts, channel) with an opaque
 * cursor, straight from the primary key's index. Access: INGEST_READ, checked against the
 * database every time (reads are not on the hot path).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingest.h"
#include "strata/db.h"
#include "strata/encode.h"

#define LIMIT_DEFAULT 50
#define LIMIT_MAX     1000

/* clang-format off */
static const char page_sql[] =
	"SELECT (extract(epoch FROM ts) * 1000000)::int8, channel, value FROM readings "
	"WHERE " READINGS_FILTER_SQL
	"AND ($5::int8 IS NULL OR (ts, channel) > (" READINGS_TS_OF(5) ", $6::text)) "
	"ORDER BY ts, channel LIMIT $7::int";
/* clang-format on */

/* A query parameter into buf: true when given; a value too long for buf is an error, never a
 * filter silently dropped. */
static bool
query_param(struct st_req *req, const char *name, char *buf, size_t cap, struct st_json_errs *errs)
{
	enum st_err rc = st_http_query_get(req, name, buf, cap);

	if (rc == ST_ERR_TOO_LARGE)
		st_json_errs_add(errs, name, "is too long");
	return rc == ST_OK;
}

int
readings_reply_bad_query(struct st_req *req, const char *param, const char *detail)
{
	struct st_json_errs errs;

	st_json_errs_init(&errs);
	st_json_errs_add(&errs, param, "%s", detail);
	return st_http_reply_invalid(req, 400, "bad query parameters", &errs);
}

void
readings_filter_params(const struct ingest_session_ref *s, const struct readings_filter *f,
		       const char *params[4])
{
	params[0] = s->id;
	params[1] = f->from[0] != '\0' ? f->from : NULL;
	params[2] = f->to[0] != '\0' ? f->to : NULL;
	params[3] = f->channel[0] != '\0' ? f->channel : NULL;
}

int
readings_filter_parse(struct st_req *req, struct st_app *app, struct ingest_session_ref *s,
		      struct readings_filter *f)
{
	struct st_json_errs errs;
	char buf[256];
	int64_t us;
	int status;

	memset(f, 0, sizeof(*f));
	status = ingest_session_access(req, app, st_http_param(req, "id"), INGEST_READ, s);
	if (status != 0)
		return status;
	st_json_errs_init(&errs);
	if (query_param(req, "from", buf, sizeof(buf), &errs)) {
		if (readings_parse_time(buf, strlen(buf), &us))
			snprintf(f->from, sizeof(f->from), "%lld", (long long)us);
		else
			st_json_errs_add(&errs, "from", "must be an RFC 3339 time");
	}
	if (query_param(req, "to", buf, sizeof(buf), &errs)) {
		if (readings_parse_time(buf, strlen(buf), &us))
			snprintf(f->to, sizeof(f->to), "%lld", (long long)us);
		else
			st_json_errs_add(&errs, "to", "must be an RFC 3339 time");
	}
	if (query_param(req, "channel", buf, sizeof(buf), &errs)) {
		if (readings_channel_valid(buf, strlen(buf)))
			st_strlcpy(f->channel, buf, sizeof(f->channel));
		else
			st_json_errs_add(&errs, "channel", "must be a channel name");
	}
	if (errs.total > 0)
		return st_http_reply_invalid(req, 400, "bad query parameters", &errs);
	return 0;
}

/* The cursor: base64url of "<ts microseconds>,<channel>". */
static bool
cursor_decode(const char *text, char *ts, size_t ts_cap, char *ch, size_t ch_cap)
{
	char raw[128];
	size_t n = 0;
	char *comma, *end;
	long long v;

	if (!st_base64url_decode(text, strlen(text), raw, sizeof(raw) - 1, &n))
		return false;
	raw[n] = '\0';
	comma = strchr(raw, ',');
	if (comma == NULL)
		return false;
	*comma = '\0';
	v = strtoll(raw, &end, 10);
	if (end == raw || *end != '\0' || v < READINGS_TS_MIN_US || v >= READINGS_TS_MAX_US ||
	    !readings_channel_valid(comma + 1, strlen(comma + 1)))
		return false;
	snprintf(ts, ts_cap, "%lld", v);
	return st_strlcpy(ch, comma + 1, ch_cap);
}

static void
cursor_encode(const char *ts, const char *ch, char *out, size_t cap)
{
	char raw[128];
	int n = snprintf(raw, sizeof(raw), "%s,%s", ts, ch);

	st_base64url_encode(raw, (size_t)n, out, cap);
}

int
readings_get(struct st_req *req, void *ctx)
{
	struct st_app *app = ctx;
	struct ingest_session_ref s;
	struct readings_filter f;
	struct st_db_result *res = NULL;
	char buf[256], cur_ts[24] = "", cur_ch[READINGS_CHANNEL_MAX + 1] = "", limit_s[16];
	long limit = LIMIT_DEFAULT;
	cJSON *out, *items;
	enum st_err rc;
	int status, rows;

	status = readings_filter_parse(req, app, &s, &f);
	if (status != 0)
		return status;
	if (st_http_query(req, "limit", buf, sizeof(buf))) {
		char *end;

		limit = strtol(buf, &end, 10);
		if (end == buf || *end != '\0' || limit < 1 || limit > LIMIT_MAX) {
			char detail[48];

			snprintf(detail, sizeof(detail), "must be an integer from 1 to %d",
				 LIMIT_MAX);
			return readings_reply_bad_query(req, "limit", detail);
		}
	}
	rc = st_http_query_get(req, "cursor", buf, sizeof(buf));
	if (rc == ST_ERR_TOO_LARGE ||
	    (rc == ST_OK && !cursor_decode(buf, cur_ts, sizeof(cur_ts), cur_ch, sizeof(cur_ch))))
		return readings_reply_bad_query(req, "cursor", "is not a cursor this API gave");
	snprintf(limit_s, sizeof(limit_s), "%ld", limit + 1);
	{
		const char *params[7];

		readings_filter_params(&s, &f, params);
		params[4] = cur_ts[0] != '\0' ? cur_ts : NULL;
		params[5] = cur_ts[0] != '\0' ? cur_ch : NULL;
		params[6] = limit_s;
		rc = st_db_pool_query(app->db, page_sql, 7, params, &res, NULL, 0);
	}
	if (rc != ST_OK)
		return st_http_reply_db_error(req, rc, "ingest");
	rows = st_db_rows(res);
	out = cJSON_CreateObject();
	items = cJSON_AddArrayToObject(out, "readings");
	for (int i = 0; i < rows && i < limit; i++) {
		cJSON *o = cJSON_CreateObject();
		char ts[40];

		st_time_format_rfc3339_us(strtoll(st_db_get(res, i, 0), NULL, 10), ts, sizeof(ts));
		cJSON_AddStringToObject(o, "ts", ts);
		cJSON_AddStringToObject(o, "channel", st_db_get(res, i, 1));
		cJSON_AddNumberToObject(o, "value", strtod(st_db_get(res, i, 2), NULL));
		cJSON_AddItemToArray(items, o);
	}
	if (rows > limit) {
		char next[200];

		cursor_encode(st_db_get(res, (int)limit - 1, 0), st_db_get(res, (int)limit - 1, 1),
			      next, sizeof(next));
		cJSON_AddStringToObject(out, "next_cursor", next);
	} else {
		cJSON_AddNullToObject(out, "next_cursor");
	}
	st_db_result_free(res);
	status = st_http_reply_json(req, 200, out);
	cJSON_Delete(out);
	return status;
}
