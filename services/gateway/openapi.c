/*
 * GET /api/v1/openapi.json (public): the OpenAPI 3.1 description of the public API
 * (proto/openapi/strata.json), read once at start from GATEWAY_OPENAPI_FILE and served as it
 * is. A missing file is not fatal: the gateway logs a warning and the route answers 404, so
 * that a gateway started away from the repository still serves the API. A file that is there
 * but is not JSON stops the start, since that is a broken deployment.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "gateway.h"
#include "strata/json.h"
#include "strata/log.h"

#define OPENAPI_MAX (4 * 1024 * 1024)

enum st_err
openapi_load(struct gateway *gw, const char *path)
{
	FILE *f = fopen(path, "rb");
	char *text = NULL, err[128];
	size_t len = 0, cap = 65536;
	cJSON *doc = NULL;
	enum st_err rc = ST_OK;

	if (f == NULL) {
		st_log(ST_LOG_WARN, "openapi",
		       "cannot read %s (%s): /api/v1/openapi.json will answer 404", path,
		       strerror(errno));
		goto out;
	}
	text = st_malloc(cap + 1);
	for (;;) {
		size_t got = fread(text + len, 1, cap - len, f);

		len += got;
		if (got == 0)
			break;
		if (len == cap) {
			if (cap >= OPENAPI_MAX) {
				st_log(ST_LOG_ERROR, "openapi", "%s is larger than %d bytes", path,
				       OPENAPI_MAX);
				rc = ST_ERR_TOO_LARGE;
				goto out;
			}
			cap *= 2;
			text = st_realloc(text, cap + 1);
		}
	}
	if (ferror(f)) {
		st_log(ST_LOG_ERROR, "openapi", "error reading %s", path);
		rc = ST_ERR_IO;
		goto out;
	}
	text[len] = '\0';
	doc = st_json_parse(text, len, err, sizeof(err));
	if (!cJSON_IsObject(doc) ||
	    !cJSON_IsString(cJSON_GetObjectItemCaseSensitive(doc, "openapi"))) {
		st_log(ST_LOG_ERROR, "openapi", "%s is not an OpenAPI document: %s", path,
		       doc == NULL ? err : "no \"openapi\" version field");
		rc = ST_ERR_INVALID;
		goto out;
	}
	gw->openapi = text;
	gw->openapi_len = len;
	text = NULL;
	st_log(ST_LOG_INFO, "openapi", "loaded %s bytes=%zu", path, len);
out:
	cJSON_Delete(doc);
	st_free(text);
	if (f != NULL)
		fclose(f);
	return rc;
}

int
openapi_get(struct st_req *req, void *ctx)
{
	struct st_app *app = ctx;
	struct gateway *gw = app->state;

	if (gw->openapi == NULL)
		return st_http_reply_problem(req, 404, "this gateway has no OpenAPI document");
	st_http_add_header(req, "Cache-Control", "public, max-age=60");
	return st_http_reply(req, 200, "application/json", gw->openapi, gw->openapi_len);
}
