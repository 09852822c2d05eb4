/*
 * Reason phrases and RFC 9457 problem documents. A problem's `type` is a relative URI,
 * "/problems/<slug>", documented in docs/api.md; `title` is the reason phrase of its status.
 */
#include "strata/http.h"

#include <stdio.h>

#include "strata/log.h"

static const struct {
	int status;
	const char *reason;
	const char *slug;
} statuses[] = {
	{ 200, "OK", "ok" },
	{ 201, "Created", "created" },
	{ 202, "Accepted", "accepted" },
	{ 204, "No Content", "no-content" },
	{ 206, "Partial Content", "partial-content" },
	{ 301, "Moved Permanently", "moved" },
	{ 302, "Found", "found" },
	{ 304, "Not Modified", "not-modified" },
	{ 400, "Bad Request", "bad-request" },
	{ 401, "Unauthorized", "unauthorized" },
	{ 403, "Forbidden", "forbidden" },
	{ 404, "Not Found", "not-found" },
	{ 405, "Method Not Allowed", "method-not-allowed" },
	{ 406, "Not Acceptable", "not-acceptable" },
	{ 408, "Request Timeout", "request-timeout" },
	{ 409, "Conflict", "conflict" },
	{ 410, "Gone", "gone" },
	{ 411, "Length Required", "length-required" },
	{ 412, "Precondition Failed", "precondition-failed" },
	{ 413, "Content Too Large", "content-too-large" },
	{ 415, "Unsupported Media Type", "unsupported-media-type" },
	{ 416, "Range Not Satisfiable", "range-not-satisfiable" },
	{ 422, "Unprocessable Content", "validation-error" },
	{ 423, "Locked", "locked" },
	{ 428, "Precondition Required", "precondition-required" },
	{ 429, "Too Many Requests", "too-many-requests" },
	{ 500, "Internal Server Error", "internal-error" },
	{ 501, "Not Implemented", "not-implemented" },
	{ 502, "Bad Gateway", "bad-gateway" },
	{ 503, "Service Unavailable", "service-unavailable" },
	{ 504, "Gateway Timeout", "gateway-timeout" },
};

static int
find(int status)
{
	for (size_t i = 0; i < ST_ARRAY_LEN(statuses); i++)
		if (statuses[i].status == status)
			return (int)i;
	return -1;
}

const char *
st_http_reason(int status)
{
	int i = find(status);
	return i < 0 ? "Unknown" : statuses[i].reason;
}

char *
st_http_problem_render(int status, const char *detail, const char *request_id,
		       const struct st_json_errs *errs, size_t *len)
{
	cJSON *doc = cJSON_CreateObject();
	int i = find(status);
	char type[64];
	char *text;

	snprintf(type, sizeof(type), "/problems/%s", i < 0 ? "error" : statuses[i].slug);
	/* A validation failure has its own type whatever its status, so clients can branch on it.
	 */
	if (errs != NULL && errs->n > 0)
		snprintf(type, sizeof(type), "/problems/validation-error");
	cJSON_AddStringToObject(doc, "type", type);
	cJSON_AddStringToObject(doc, "title", st_http_reason(status));
	cJSON_AddNumberToObject(doc, "status", status);
	if (detail != NULL && detail[0] != '\0')
		cJSON_AddStringToObject(doc, "detail", detail);
	if (request_id != NULL && request_id[0] != '\0')
		cJSON_AddStringToObject(doc, "request_id", request_id);
	if (errs != NULL && errs->n > 0) {
		cJSON *list = cJSON_AddArrayToObject(doc, "errors");

		for (size_t k = 0; k < errs->n; k++) {
			cJSON *e = cJSON_CreateObject();

			cJSON_AddStringToObject(e, "field", errs->items[k].field);
			cJSON_AddStringToObject(e, "detail", errs->items[k].detail);
			cJSON_AddItemToArray(list, e);
		}
		if (errs->total > errs->n)
			cJSON_AddNumberToObject(doc, "errors_total", (double)errs->total);
	}
	text = st_json_print(doc, len);
	cJSON_Delete(doc);
	return text;
}

int
st_http_reply_db_error(struct st_req *req, enum st_err rc, const char *component)
{
	switch (rc) {
	case ST_ERR_UNAVAILABLE:
	case ST_ERR_TIMEOUT:
		return st_http_reply_unavailable(req, ST_HTTP_DB_RETRY_AFTER_S, "the database");
	case ST_ERR_CONFLICT:
		return st_http_reply_problem(req, 409, "conflicts with an existing resource");
	case ST_ERR_INVALID:
		return st_http_reply_problem(req, 400, "the database refused the values");
	case ST_ERR_NOT_FOUND:
		return st_http_reply_problem(req, 404, "not found");
	default:
		st_log(ST_LOG_ERROR, component, "database error err=%s", st_err_str(rc));
		return st_http_reply_problem(req, 500, "internal error");
	}
}
